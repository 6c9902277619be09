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
 *   workers = 16                    # requests handled at once (worker threads)
 *   upstream = tls+tcp://nation:7450 # province only: the national server (docs/NATIONAL.md);
 *                                    # default: the URL in upstream_enrolment
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
 * Trusted links (README "Trusted links"); these keys stay together:
 *   ca_dir = /var/lib/ocop/ca       # made by 'ocopd ca init': ca.crt, ca.key, server.crt, server.key
 *                                    # (default: the one 'ocopd ca init' recorded in the database)
 *   tls_ca = FILE                   # or each file on its own: the CA sites' certificates come from,
 *   tls_cert = FILE                 #   this server's certificate
 *   tls_key = FILE                  #   and its key (mode 0600)
 *   allow_plain = no                # yes: allow a plain tcp:// listener on a non-loopback address
 *   upstream_enrolment = FILE       # province: its enrolment file from the national server (0600)
 *   max_connections = 4096          # open connections at once
 *   send_timeout_ms = 10000         # a peer that does not take its reply in this time is dropped
 *   readers = 4                     # read connections: PULLs served at once (PUSHes take turns)
 *   max_batch = 2097152             # bytes: the largest PUSH taken, and a PULL_OK page at most (before deflating)
 *   batch_memory = 16777216         # bytes of batches all sites may have in flight, shared (0 = max_batch each)
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
	char upstream[256];      /* national server URL, "" = none (or the enrolment's) */
	uint64_t upstream_interval_ms; /* between upstream steps */
	uint64_t upstream_timeout_ms;  /* one upstream round trip at most */
	/* Trusted links */
	char ca_dir[1024];       /* the CA directory, "" = the database's record */
	char tls_ca[1024];       /* CA certificate file, "" = ca_dir/ca.crt */
	char tls_cert[1024];     /* this server's certificate file, "" = ca_dir/server.crt */
	char tls_key[1024];      /* its key file, "" = ca_dir/server.key */
	int allow_plain;         /* plain tcp:// allowed on a non-loopback address */
	char upstream_enrolment[1024]; /* province: its enrolment at the national server, "" = none */
	int max_connections;     /* open connections at once */
	int send_timeout_ms;     /* time a peer has to take its reply */
	int readers;             /* read connections of the pool */
	size_t max_batch;        /* PUSH and PULL_OK byte budget */
	size_t batch_memory;     /* shared among open connections (srv_service_batch), 0 = none */
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
