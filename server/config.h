/*
 * config.h: ocopd's configuration file: "key = value" lines, '#' comments.
 *
 *   listen = tcp://127.0.0.1:7450   # nng URL
 *   role = province                 # province or national
 *   db = /var/lib/ocop/province.db  # the server's replica
 *   data_dir = /usr/share/ocop      # rubrics, workflow, authority (default: found)
 *   skew_ms = 300000                # remote clocks further ahead are clamped
 *   spread_threshold = 10           # council spread rule (points)
 *   max_message = 16777216          # bytes; larger messages are refused by nng
 *   workers = 8                     # concurrent requests in flight
 *   upstream = tcp://nation:7450    # province only: the national server (docs/NATIONAL.md)
 *   upstream_credential = ...       # this province's credential there
 *   upstream_interval_ms = 5000     # how often candidates go up and decisions come down
 *   upstream_timeout_ms = 5000      # one round trip to the national server at most
 *   http_listen = http://127.0.0.1:8450  # the read-only operator view; off when unset
 *   http_token_file = /etc/ocop/http-token  # the operator token (needed with http_listen)
 *   silent_days = 7                 # a site without contact this long stands out
 *   log_level = info                # debug, info, warn or error
 *   files_dir = /var/lib/ocop/province.db.files  # evidence files (default: the db's path + .files)
 *   max_file_bytes = 268435456      # largest evidence file taken (256 MiB)
 *   file_chunk_bytes = 1048576      # chunk size of file transfers (1 MiB)
 *   file_partial_quota = 1073741824 # bytes of unfinished uploads one site may leave (1 GiB)
 *   file_min_free = 1073741824      # uploads wait while the disk has less free space
 *   file_retention_days = 30        # a file no live document names is released after this
 *   file_partial_days = 14          # an upload not continued this long is dropped
 *
 * Registered sites live in the database (`ocopd site add`), not here, so
 * adding a site needs no restart. Unknown keys and bad values are errors
 * naming the file and line.
 */
#ifndef OCOP_SERVER_CONFIG_H
#define OCOP_SERVER_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "server/files.h"

typedef struct srv_config {
	char listen[256];        /* nng listen URL */
	char role[16];           /* province or national */
	char db[1024];           /* database path */
	char data_dir[1024];     /* data directory, "" = find it */
	uint64_t skew_ms;        /* HLC skew bound */
	int spread_threshold;    /* spread rule threshold, points */
	size_t max_message;      /* receive size cap */
	int workers;             /* nng contexts */
	char upstream[256];      /* national server URL, "" = none */
	char upstream_credential[129]; /* this province's credential there */
	uint64_t upstream_interval_ms; /* between upstream steps */
	uint64_t upstream_timeout_ms;  /* one upstream round trip at most */
	/* Operations (README "Installing the server"): the HTTP view, logging. */
	char http_listen[256];         /* http://HOST:PORT of the operator view, "" = off */
	char http_token_file[1024];    /* file holding the operator token */
	int silent_days;               /* days without contact before a site stands out */
	int log_level;                 /* COM_LOG_* below which messages are dropped */
	/* Evidence files (server/files.h). */
	char files_dir[1024];          /* where they live, "" = the database's path + ".files" */
	srv_files_opts files;          /* limits */
} srv_config;

/*
 * Defaults: loopback port 7450, province, ./province.db, 5 min skew, 10 points, 16 MiB, 8 workers,
 * no upstream, upstream steps every 5 s with 5 s round trips, no HTTP view,
 * sites silent after 7 days, log level info.
 */
void srv_config_defaults(srv_config *c);
/* Read a config file over the current values. OCOP_OK, OCOP_ENOENT, OCOP_EINPUT (err: "FILE:LINE: why"). */
int srv_config_load(srv_config *c, const char *path, char *err, size_t errlen);

#endif /* OCOP_SERVER_CONFIG_H */
