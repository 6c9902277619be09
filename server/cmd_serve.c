/*
 * cmd_serve.c: `ocopd serve` (also `ocopd --config FILE`): the daemon. It
 * listens for sites over nng until SIGTERM or SIGINT, then stops taking
 * requests, finishes the ones in flight and closes the database cleanly.
 * Logs go to stderr. A province server with an `upstream` in its config also
 * hands its 5-star candidates to the national server and brings its decisions
 * down (server/upstream.c, docs/NATIONAL.md).
 */
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#include "common/ocop/policy.h"
#include "common/ocop/rubric.h"
#include "ocop_err.h"
#include "server/cmd.h"
#include "server/files.h"
#include "server/http.h"
#include "server/listener.h"
#include "server/metrics.h"
#include "server/service.h"
#include "server/upfiles.h"
#include "server/upstream.h"

static const char serve_usage[] =
    "usage: ocopd serve [--config FILE] [--db PATH] [--listen URL] [--role province|national]\n"
    "   or: ocopd --config FILE\n"
    "\n"
    "Serve the sites until SIGTERM or SIGINT. The options override the config\n"
    "file's db, listen and role (every key: the example ocopd.conf). A province\n"
    "server with an upstream in its config hands its approved 5-star candidates\n"
    "to the national server and brings the national decisions down.\n"
    "With http_listen set, it also serves the read-only operator view\n"
    "(/healthz, /metrics, /api/..., the dashboard at /).\n"
    "SIGHUP (systemctl reload ocopd) re-reads the config file's log_level,\n"
    "silent_days and upstream_interval_ms without a restart; other keys take\n"
    "effect at the next start. Logs go to stderr.\n";

static volatile sig_atomic_t stop_requested = 0;
static volatile sig_atomic_t reload_requested = 0;

static void
on_signal(int sig)
{
	if (sig == SIGHUP) {
		reload_requested = 1;
	} else {
		stop_requested = 1;
	}
}

/* ===== Logging with a level that a reload can change ===== */

/* The level below which messages are dropped; threads read it while a reload writes it. */
static _Atomic int serve_level = COM_LOG_INFO;

static void
serve_log_fn(void *arg, int level, const char *msg)
{
	if (level >= atomic_load(&serve_level)) {
		com_log_stderr(arg, level, msg);
	}
}

/* Every part of the daemon logs through this hook (the filtering is in serve_log_fn). */
static const com_log serve_log = {serve_log_fn, NULL, COM_LOG_DEBUG};

#define SERVE_FILES_GC_MS (3600u * 1000u) /* how often released files are looked for */

/* ===== The upstream link of a province server ===== */

/* What serve keeps for its upstream steps. */
typedef struct upstream_run_state {
	sto_db *db;             /* a second connection to the replica, owned */
	sto_blobs *blobs;       /* the province's evidence files, its own handle, owned; NULL = none */
	const char *credential; /* this province's credential at the national server, borrowed */
	srv_upstream *u;        /* owned; NULL = no upstream */
	srv_upstream_nng link;  /* owned REQ socket */
	char last_error[600];   /* the last failure logged, to log each new one once */
} upstream_run_state;

static int
upstream_start(upstream_run_state *s, const srv_config *cfg, const ocp_policy *pol, const char *dd)
{
	srv_upstream_opts uo;
	char err[512];
	int rv;

	if (strcmp(cfg->role, "province") != 0) {
		fprintf(stderr, "ocopd: only a province server has an upstream (role is %s)\n", cfg->role);
		return -1;
	}
	/* Its own connection: the listener's requests and the upstream step
	 * interleave as SQLite transactions, and no lock is held across a round trip. */
	if (srv_cmd_open_db(cfg->db, false, &s->db) != OCOP_OK) {
		return -1;
	}
	sto_hlc(s->db)->max_skew_ms = cfg->skew_ms;
	sto_set_policy(s->db, ocp_policy_store(pol));
	memset(&uo, 0, sizeof(uo));
	uo.credential = cfg->upstream_credential;
	uo.pull_policy = ocp_policy_store_relay(pol, "national");
	uo.data_dir = dd;
	uo.log = &serve_log;
	if ((rv = srv_upstream_open(&s->u, s->db, &uo, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "ocopd: upstream: %s\n", rv == OCOP_ENOMEM ? ocop_strerror(rv) : err);
		sto_close(s->db);
		s->db = NULL;
		return -1;
	}
	if ((rv = srv_upstream_nng_open(&s->link, cfg->upstream, (int)cfg->upstream_timeout_ms)) != OCOP_OK) {
		fprintf(stderr, "ocopd: upstream %s: %s\n", cfg->upstream, ocop_strerror(rv));
		srv_upstream_close(s->u);
		s->u = NULL;
		sto_close(s->db);
		s->db = NULL;
		return -1;
	}
	com_logf(&serve_log, COM_LOG_INFO, "upstream: national server %s every %llu ms", cfg->upstream,
	    (unsigned long long)cfg->upstream_interval_ms);
	s->credential = cfg->upstream_credential;
	return 0;
}

#define UPSTREAM_FILE_SLICE_MS 20000 /* files go up at most this long per step, then the rows' turn */

static int64_t
serve_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* After the rows: the candidates' evidence files the national server lacks (server/upfiles.h). */
static int
upstream_files(upstream_run_state *s, const srv_link *link, char *err, size_t errlen)
{
	sto_xfer_stats st;
	int rv;

	if (s->blobs == NULL) {
		return OCOP_OK;
	}
	rv = srv_upfiles_step(s->db, s->blobs, link, s->credential, serve_mono_ms() + UPSTREAM_FILE_SLICE_MS, &st, err,
	    errlen);
	if (rv == OCOP_OK && (st.files_sent > 0 || st.files_refused > 0)) {
		com_logf(&serve_log, st.files_refused > 0 ? COM_LOG_WARN : COM_LOG_INFO,
		    "upstream: %u candidate file(s) sent (%llu bytes), %u refused%s%s", st.files_sent,
		    (unsigned long long)st.bytes_sent, st.files_refused, err[0] ? ": " : "", err);
	}
	return rv;
}

/* One upstream step; returns whether the national server answered. */
static bool
upstream_run(upstream_run_state *s)
{
	srv_link link = srv_upstream_nng_link(&s->link);
	srv_upstream_stats st;
	char err[600];
	int rv = srv_upstream_step(s->u, &link, &st, err, sizeof(err));

	if (rv == OCOP_OK) {
		rv = upstream_files(s, &link, err, sizeof(err));
	}

	if (rv != OCOP_OK) {
		if (strcmp(err, s->last_error) != 0) {
			com_logf(&serve_log, COM_LOG_WARN, "upstream: %s (%s); candidates wait for the next attempt",
			    err, ocop_errname(rv));
			snprintf(s->last_error, sizeof(s->last_error), "%s", err);
		}
		return false;
	}
	if (s->last_error[0] != 0) {
		com_logf(&serve_log, COM_LOG_INFO, "upstream: the national server answers again");
		s->last_error[0] = 0;
	}
	if (st.new_candidates || st.acknowledged || st.decided || st.relayed || st.applied) {
		com_logf(&serve_log, COM_LOG_INFO,
		    "upstream: %u new candidates, %u acknowledged, %u decided; %llu changes relayed (%llu refused),"
		    " %llu pulled (%llu new)",
		    st.new_candidates, st.acknowledged, st.decided, (unsigned long long)st.relayed,
		    (unsigned long long)st.rejected, (unsigned long long)st.pulled, (unsigned long long)st.applied);
	}
	return true;
}

static void
upstream_stop(upstream_run_state *s)
{
	srv_upstream_nng_close(&s->link);
	srv_upstream_close(s->u);
	s->u = NULL;
	sto_blobs_close(s->blobs);
	s->blobs = NULL;
	sto_close(s->db);
	s->db = NULL;
}

/* ===== Listening errors an operator can act on ===== */

/*
 * nng reports every failure to bind as one code; find the reason by binding
 * the same TCP address ourselves (with nng's SO_REUSEADDR) and reading errno.
 */
static void
serve_listen_diagnose(const char *url, char *out, size_t cap)
{
	const char *p = strstr(url, "://");
	char host[256];
	const char *port;
	struct addrinfo hints;
	struct addrinfo *ai = NULL;
	int fd;
	int one = 1;
	int e = 0;

	out[0] = 0;
	if (p == NULL || (strncmp(url, "tcp", 3) != 0 && strncmp(url, "tls+tcp", 7) != 0)) {
		return;
	}
	p += 3;
	port = strrchr(p, ':');
	if (port == NULL || (size_t)(port - p) >= sizeof(host)) {
		return;
	}
	memcpy(host, p, (size_t)(port - p));
	host[port - p] = 0;
	port++;
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = 0;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if (getaddrinfo(host[0] && strcmp(host, "*") != 0 ? host : NULL, port, &hints, &ai) != 0 || ai == NULL) {
		snprintf(out, cap, "'%s' is not a name or address this machine can resolve", host);
		return;
	}
	fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 1) != 0) {
			e = errno;
		}
		close(fd);
	}
	freeaddrinfo(ai);
	if (e == EADDRINUSE) {
		snprintf(out, cap, "address already in use: another program (or another ocopd) listens on %s:%s", host, port);
	} else if (e == EACCES || e == EPERM) {
		snprintf(out, cap, "permission denied: port %s needs privileges; use a port above 1023 (such as 7450)", port);
	} else if (e == EADDRNOTAVAIL) {
		snprintf(out, cap, "%s is not an address of this machine", host);
	} else if (e != 0) {
		snprintf(out, cap, "%s", strerror(e));
	}
}

/* ===== Reloading (SIGHUP) ===== */

/* Read the config file again and apply what can change while serving. */
static void
serve_reload(const char *path, srv_config *cfg, srv_http *http)
{
	static const char *const levels[] = {"debug", "info", "warn", "error"};
	srv_config fresh;
	char err[512];

	if (path == NULL) {
		com_logf(&serve_log, COM_LOG_INFO, "reload: no config file (started without --config); nothing to read");
		return;
	}
	srv_config_defaults(&fresh);
	if (srv_config_load(&fresh, path, err, sizeof(err)) != OCOP_OK) {
		com_logf(&serve_log, COM_LOG_ERROR, "reload refused, the running settings stay: %s", err);
		return;
	}
	atomic_store(&serve_level, fresh.log_level);
	cfg->log_level = fresh.log_level;
	cfg->silent_days = fresh.silent_days;
	cfg->upstream_interval_ms = fresh.upstream_interval_ms;
	if (http != NULL) {
		srv_http_set_silent_days(http, fresh.silent_days);
	}
	if (strcmp(fresh.listen, cfg->listen) != 0 || strcmp(fresh.http_listen, cfg->http_listen) != 0 ||
	    strcmp(fresh.upstream, cfg->upstream) != 0 || fresh.workers != cfg->workers ||
	    fresh.max_message != cfg->max_message || fresh.skew_ms != cfg->skew_ms ||
	    strcmp(fresh.http_token_file, cfg->http_token_file) != 0 || strcmp(fresh.db, cfg->db) != 0) {
		com_logf(&serve_log, COM_LOG_WARN,
		    "reload: addresses, database, workers, max_message, skew_ms and the token take effect at the next"
		    " start (systemctl restart ocopd)");
	}
	com_logf(&serve_log, COM_LOG_WARN, "reloaded %s: log_level %s, silent_days %d, upstream_interval_ms %llu",
	    path, levels[cfg->log_level], cfg->silent_days, (unsigned long long)cfg->upstream_interval_ms);
}

/* ===== The operator token ===== */

/* Read the token file's first line into out. Prints why not; returns 0 or -1. */
static int
serve_read_token(const char *path, char *out, size_t cap)
{
	FILE *f;
	size_t n;

	if (path[0] == 0) {
		fprintf(stderr, "ocopd serve: http_listen needs http_token_file (a file holding the operator token)\n");
		return -1;
	}
	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "ocopd serve: cannot read the token file %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fgets(out, (int)cap, f) == NULL) {
		out[0] = 0;
	}
	fclose(f);
	n = strcspn(out, "\r\n");
	out[n] = 0;
	return 0;
}

/* ===== serve ===== */

int
srv_cmd_serve(int argc, char **argv)
{
	srv_opts o;
	srv_config cfg;
	sto_db *db = NULL;
	ocp_policy *pol = NULL;
	srv_service svc;
	srv_listener *l = NULL;
	srv_metrics *metrics = NULL;
	srv_http *http = NULL;
	srv_files *files = NULL;
	sto_files_gc_stats gs;
	uint64_t gc_waited_ms = 0;
	upstream_run_state up;
	uint64_t waited_ms = UINT64_MAX / 2; /* the first step runs at once */
	struct sigaction sa;
	char err[512];
	char token[SRV_HTTP_TOKEN_MAX + 2];
	const char *dd;
	int code = SRV_CMD_FAIL;
	int rv;

	memset(&up, 0, sizeof(up));
	rv = srv_opts_parse(&o, argc, argv, SRV_OPT_CONFIG | SRV_OPT_DB | SRV_OPT_LISTEN | SRV_OPT_ROLE, "serve",
	    serve_usage);
	if (rv != SRV_CMD_OK) {
		return rv == SRV_CMD_HELP ? SRV_CMD_OK : rv;
	}
	if (srv_cmd_config(&cfg, o.config, "serve") != OCOP_OK) {
		return SRV_CMD_USAGE;
	}
	atomic_store(&serve_level, cfg.log_level);
	if (o.db) {
		snprintf(cfg.db, sizeof(cfg.db), "%s", o.db);
	}
	if (o.listen) {
		snprintf(cfg.listen, sizeof(cfg.listen), "%s", o.listen);
	}
	if (o.role) {
		if (!srv_cmd_valid_role(o.role, true)) {
			fprintf(stderr, "ocopd: --role must be province or national, not '%s'\n", o.role);
			return SRV_CMD_USAGE;
		}
		snprintf(cfg.role, sizeof(cfg.role), "%s", o.role);
	}
	if ((dd = srv_cmd_data_dir(&cfg, "serve")) == NULL) {
		return SRV_CMD_USAGE;
	}
	if (cfg.http_listen[0] != 0 && serve_read_token(cfg.http_token_file, token, sizeof(token)) != 0) {
		return SRV_CMD_USAGE;
	}
	if (srv_cmd_open_db(cfg.db, false, &db) != OCOP_OK) {
		return SRV_CMD_FAIL;
	}
	if (strcmp(sto_role(db), cfg.role) != 0) {
		fprintf(stderr, "ocopd: %s is a %s database, not %s\n", cfg.db, sto_role(db), cfg.role);
		sto_close(db);
		return SRV_CMD_USAGE;
	}
	sto_hlc(db)->max_skew_ms = cfg.skew_ms;
	if (ocp_policy_open(&pol, dd, true, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", err);
		sto_close(db);
		return SRV_CMD_USAGE;
	}
	sto_set_policy(db, ocp_policy_store(pol));
	srv_service_init(&svc, db, ocp_policy_store(pol), &serve_log);
	if (strcmp(cfg.role, "national") == 0) {
		svc.relay_policy = ocp_policy_store_relay(pol, "province");
	}
	if (srv_metrics_alloc(&metrics) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", ocop_strerror(OCOP_ENOMEM));
		goto out;
	}
	svc.metrics = metrics;
	if ((rv = srv_files_open(&files, db, cfg.files_dir, &cfg.files, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "ocopd: evidence files: %s\n", err);
		goto out;
	}
	svc.files = files;
	if (cfg.upstream[0] != 0 && upstream_start(&up, &cfg, pol, dd) != 0) {
		code = SRV_CMD_USAGE;
		goto out;
	}
	if (up.u != NULL && sto_blobs_open(&up.blobs, sto_blobs_dir(srv_files_blobs(files))) != OCOP_OK) {
		fprintf(stderr, "ocopd: evidence files: cannot open %s\n", sto_blobs_dir(srv_files_blobs(files)));
		goto out;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (cfg.http_listen[0] != 0) {
		srv_http_opts ho;
		memset(&ho, 0, sizeof(ho));
		ho.url = cfg.http_listen;
		ho.token = token;
		ho.db_path = cfg.db;
		ho.data_dir = dd;
		ho.metrics = metrics;
		ho.log = &serve_log;
		ho.silent_days = cfg.silent_days;
		ho.files = files;
		if ((rv = srv_http_open(&http, &ho, err, sizeof(err))) != OCOP_OK) {
			fprintf(stderr, "ocopd: operator view: %s\n", err);
			code = rv == OCOP_EINVAL ? SRV_CMD_USAGE : SRV_CMD_FAIL;
			goto out;
		}
		srv_http_set_state(http, false, up.u != NULL ? SRV_UPSTREAM_DOWN : SRV_UPSTREAM_NONE);
	}
	rv = srv_listener_open(&l, &svc, cfg.listen, cfg.workers, cfg.max_message);
	if (rv != OCOP_OK) {
		serve_listen_diagnose(cfg.listen, err, sizeof(err));
		fprintf(stderr, "ocopd: cannot listen on %s: %s\n", cfg.listen, err[0] ? err : ocop_strerror(rv));
		goto out;
	}
	if (http != NULL) {
		srv_http_set_state(http, true, up.u != NULL ? SRV_UPSTREAM_DOWN : SRV_UPSTREAM_NONE);
	}
	com_logf(&serve_log, COM_LOG_INFO, "ocopd %s role=%s site=%s listening on %s (db %s)%s%s",
	    OCOP_VERSION_STRING, cfg.role, sto_site_id(db), cfg.listen, cfg.db, http ? "; operator view on " : "",
	    http ? cfg.http_listen : "");
	while (!stop_requested) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		if (reload_requested) {
			reload_requested = 0;
			serve_reload(o.config, &cfg, http);
		}
		if (up.u != NULL && waited_ms >= cfg.upstream_interval_ms) {
			bool answered = upstream_run(&up);
			if (http != NULL) {
				srv_http_set_state(http, true, answered ? SRV_UPSTREAM_UP : SRV_UPSTREAM_DOWN);
			}
			waited_ms = 0;
		}
		if (gc_waited_ms >= SERVE_FILES_GC_MS || gc_waited_ms == 0) {
			/* Release the files nothing names any more, and stale unfinished uploads,
			 * on a connection of its own (the listener's is busy with requests). */
			sto_db *gdb = NULL;
			if (srv_cmd_open_db(cfg.db, false, &gdb) != OCOP_OK || srv_files_gc(files, gdb, &gs) != OCOP_OK) {
				com_logf(&serve_log, COM_LOG_WARN, "evidence files: release failed: %s",
				    gdb ? sto_errmsg(gdb) : "cannot open the database");
			} else if (gs.released > 0 || gs.partials > 0) {
				com_logf(&serve_log, COM_LOG_INFO,
				    "evidence files: released %llu (%llu bytes) no document names since %u days, dropped %llu "
				    "unfinished upload(s)",
				    (unsigned long long)gs.released, (unsigned long long)gs.bytes, cfg.files.retention_days,
				    (unsigned long long)gs.partials);
			}
			sto_close(gdb);
			gc_waited_ms = 0;
		}
		nanosleep(&ts, NULL);
		waited_ms += 100;
		gc_waited_ms += 100;
	}
	com_logf(&serve_log, COM_LOG_INFO, "shutting down: %llu requests served, %llu refused",
	    (unsigned long long)svc.requests, (unsigned long long)svc.errors);
	code = SRV_CMD_OK;
out:
	/* The view first (it reads the database), then the sites' listener. */
	srv_http_close(http);
	srv_listener_close(l);
	upstream_stop(&up);
	srv_metrics_free(metrics);
	srv_files_close(files);
	ocp_policy_free(pol);
	sto_close(db);
	return code;
}
