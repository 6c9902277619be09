/*
 * http.h: ocopd's read-only operator view over HTTP (nng's own HTTP server):
 *
 *   GET /healthz      database reachable, listener up, upstream reachable (no token)
 *   GET /metrics      Prometheus text: request counters (server/metrics.h) and
 *                     the database's numbers (sites, ledger, hand-offs)
 *   GET /api/status   the overview (server/overview.h), as `ocopd status --json`
 *   GET /api/ledger   the open ledger entries: conflicts and refusals to look at
 *   GET /api/handoffs 5-star hand-offs (province) or candidates received (national)
 *   GET /api/report   the province's statistics (common/ocop/report.h)
 *   GET /             the province's dashboard (Vietnamese; assets compiled in)
 *
 * Everything but /healthz needs the operator token, as "Authorization: Bearer
 * TOKEN" or "?token=TOKEN". Nothing here writes to the database: the view has
 * its own connection and only reads. It does not log requests.
 */
#ifndef OCOP_SERVER_HTTP_H
#define OCOP_SERVER_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/util/log.h"
#include "server/metrics.h"

#define SRV_HTTP_TOKEN_MIN 16  /* shortest operator token accepted */
#define SRV_HTTP_TOKEN_MAX 256 /* longest */

typedef struct srv_http srv_http;

typedef struct srv_http_opts {
	const char *url;       /* http://HOST:PORT to listen on */
	const char *token;     /* operator token (copied) */
	const char *db_path;   /* the server's database, opened again for reading */
	const char *data_dir;  /* rules, for hand-offs and the report (borrowed; must outlive the view) */
	srv_metrics *metrics;  /* borrowed request counters, may be NULL */
	const com_log *log;    /* borrowed, may be NULL */
	int silent_days;       /* a site without contact this long is silent */
	struct srv_files *files; /* borrowed evidence files (server/files.h) for the metrics; NULL = none */
} srv_http_opts;

/* Upstream states for srv_http_set_state(). */
enum { SRV_UPSTREAM_NONE = 0, SRV_UPSTREAM_UP = 1, SRV_UPSTREAM_DOWN = 2 };

/*
 * Open the database and start serving. Constructor; caller stops it with
 * srv_http_close(). Returns OCOP_OK; OCOP_EINVAL (bad URL or token; err
 * says which), OCOP_ENET (cannot listen: err says why, e.g. the address is
 * in use or the port needs privileges), OCOP_EDB, OCOP_ENOMEM.
 */
int srv_http_open(srv_http **out /* OUT */, const srv_http_opts *o, char *err, size_t errlen);
/* Stop serving (requests in flight finish) and release everything. Accepts NULL. */
void srv_http_close(srv_http *h);
/* What /healthz reports besides the database. Threads: safe. Cannot fail. */
void srv_http_set_state(srv_http *h, bool listener_up, int upstream);
/* Change the silent threshold (a reload). Threads: safe. Cannot fail. */
void srv_http_set_silent_days(srv_http *h, int days);

#endif /* OCOP_SERVER_HTTP_H */
