/*
 * cmd_serve.c: `ocopd serve` (also `ocopd --config FILE`): the daemon. It
 * listens for sites over nng until SIGTERM or SIGINT, then stops taking
 * requests, finishes the ones in flight and closes the database cleanly.
 * Logs go to stderr. A province server with an `upstream_enrolment` in its
 * config also hands its 5-star candidates to the national server and brings
 * its decisions down (server/upstream.c, docs/NATIONAL.md). Every link runs
 * over mutual TLS when its URL is tls+tcp:// (README "Trusted links").
 */
#include <errno.h>
#include <malloc.h>
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sys/socket.h>

#include "common/link/dial.h"
#include "common/link/enrol.h"
#include "common/link/session.h"
#include "common/link/tls.h"
#include "common/ocop/policy.h"
#include "common/ocop/rubric.h"
#include "common/util/alloc.h"
#include "common/util/secret.h"
#include "ocop_err.h"
#include "server/ca.h"
#include "server/cmd.h"
#include "server/files.h"
#include "server/guard.h"
#include "server/http.h"
#include "server/listener.h"
#include "server/metrics.h"
#include "server/netwatch.h"
#include "server/pool.h"
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
	lnk_enrolment enrol;    /* this province's enrolment at the national server, owned */
	char url[256];          /* the national server's URL */
	int timeout_ms;         /* one round trip, and the connection, at most */
	lnk_dialer *dialer;     /* owned; NULL until a connection succeeds */
	char last_error[600];   /* the last failure logged, to log each new one once */
} upstream_run_state;

int
srv_cmd_upstream_enrolment(const char *path, lnk_enrolment *e)
{
	char err[512];
	char *text = NULL;
	int rv;

	memset(e, 0, sizeof(*e));
	if (path == NULL || path[0] == 0) {
		fprintf(stderr, "ocopd: the upstream link needs upstream_enrolment: the province's enrolment file from "
				"'ocopd site add --role province' at the national server\n");
		return -1;
	}
	if ((rv = com_secret_read(path, &text, NULL, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "ocopd: upstream_enrolment: %s\n", err);
		return -1;
	}
	rv = lnk_enrol_decode(e, text, err, sizeof(err));
	memset(text, 0, strlen(text));
	com_free(text);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd: upstream_enrolment %s: %s\n", path, err);
		return -1;
	}
	return 0;
}

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
	if (srv_cmd_upstream_enrolment(cfg->upstream_enrolment, &s->enrol) != 0) {
		return -1;
	}
	snprintf(s->url, sizeof(s->url), "%s", cfg->upstream[0] ? cfg->upstream : s->enrol.server_url);
	s->timeout_ms = (int)cfg->upstream_timeout_ms;
	/* Its own connection: the listener's requests and the upstream step
	 * interleave as SQLite transactions, and no lock is held across a round trip. */
	if (srv_cmd_open_db(cfg->db, false, &s->db) != OCOP_OK) {
		lnk_enrol_fini(&s->enrol);
		return -1;
	}
	if (strcmp(s->enrol.site_id, sto_site_id(s->db)) != 0) {
		fprintf(stderr, "ocopd: upstream_enrolment is for site %s, but this server is %s\n", s->enrol.site_id,
		    sto_site_id(s->db));
		sto_close(s->db);
		s->db = NULL;
		lnk_enrol_fini(&s->enrol);
		return -1;
	}
	sto_hlc(s->db)->max_skew_ms = cfg->skew_ms;
	sto_set_policy(s->db, ocp_policy_store(pol));
	memset(&uo, 0, sizeof(uo));
	uo.credential = s->enrol.credential;
	uo.pull_policy = ocp_policy_store_relay(pol, "national");
	uo.data_dir = dd;
	uo.log = &serve_log;
	if ((rv = srv_upstream_open(&s->u, s->db, &uo, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "ocopd: upstream: %s\n", rv == OCOP_ENOMEM ? ocop_strerror(rv) : err);
		sto_close(s->db);
		s->db = NULL;
		lnk_enrol_fini(&s->enrol);
		return -1;
	}
	com_logf(&serve_log, COM_LOG_INFO, "upstream: national server %s every %llu ms", s->url,
	    (unsigned long long)cfg->upstream_interval_ms);
	s->credential = s->enrol.credential;
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

/* A link that is down: every round trip fails with the code the dial failed with. */
static int
upstream_down(void *arg, const uint8_t *req, size_t len, com_buf *reply)
{
	(void)req;
	(void)len;
	(void)reply;
	return *(int *)arg;
}

/* One upstream step; returns whether the national server answered. */
static bool
upstream_run(upstream_run_state *s)
{
	srv_link link;
	srv_upstream_stats st;
	lnk_dial_opts o;
	char err[600];
	char dial_err[512] = "";
	int dial_rv = OCOP_OK;
	int rv;

	if (s->dialer == NULL) {
		memset(&o, 0, sizeof(o));
		o.url = s->url;
		o.timeout_ms = s->timeout_ms;
		o.ca_pem = s->enrol.ca_pem;
		o.cert_pem = s->enrol.cert_pem;
		o.key_pem = s->enrol.key_pem;
		dial_rv = lnk_dialer_open(&s->dialer, &o, dial_err, sizeof(dial_err));
	}
	if (s->dialer != NULL) {
		link = lnk_dialer_transport(s->dialer);
	} else {
		/* New candidates are still recorded while the national server is away. */
		link.roundtrip = upstream_down;
		link.arg = &dial_rv;
	}
	rv = srv_upstream_step(s->u, &link, &st, err, sizeof(err));
	if (rv == OCOP_OK && s->dialer != NULL) {
		/* The rows are up; then the candidates' files over the same link. */
		rv = upstream_files(s, &link, err, sizeof(err));
	}
	if (rv != OCOP_OK) {
		const char *why = s->dialer == NULL ? dial_err : err;
		if (strcmp(why, s->last_error) != 0) {
			com_logf(&serve_log, COM_LOG_WARN, "upstream: %s (%s); candidates wait for the next attempt",
			    why, ocop_errname(rv));
			snprintf(s->last_error, sizeof(s->last_error), "%s", why);
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
	lnk_dialer_close(s->dialer);
	s->dialer = NULL;
	srv_upstream_close(s->u);
	s->u = NULL;
	sto_blobs_close(s->blobs);
	s->blobs = NULL;
	sto_close(s->db);
	s->db = NULL;
	lnk_enrol_fini(&s->enrol);
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
serve_reload(const char *path, srv_config *cfg, srv_http *http, srv_service *svc, srv_listener *l)
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
	/* The limits: a site told a budget at HELLO keeps it until its next session. */
	cfg->max_batch = fresh.max_batch;
	cfg->batch_memory = fresh.batch_memory;
	cfg->send_timeout_ms = fresh.send_timeout_ms;
	cfg->max_connections = fresh.max_connections;
	atomic_store(&svc->max_batch, fresh.max_batch);
	atomic_store(&svc->batch_memory, fresh.batch_memory);
	if (l != NULL) {
		srv_listener_set_limits(l, fresh.send_timeout_ms, fresh.max_connections);
	}
	if (strcmp(fresh.listen, cfg->listen) != 0 || strcmp(fresh.http_listen, cfg->http_listen) != 0 ||
	    strcmp(fresh.upstream, cfg->upstream) != 0 || fresh.workers != cfg->workers ||
	    fresh.readers != cfg->readers || fresh.max_message != cfg->max_message || fresh.skew_ms != cfg->skew_ms ||
	    strcmp(fresh.http_token_file, cfg->http_token_file) != 0 || strcmp(fresh.db, cfg->db) != 0) {
		com_logf(&serve_log, COM_LOG_WARN,
		    "reload: addresses, database, workers, readers, max_message, skew_ms and the token take effect at"
		    " the next start (systemctl restart ocopd)");
	}
	com_logf(&serve_log, COM_LOG_WARN,
	    "reloaded %s: log_level %s, silent_days %d, upstream_interval_ms %llu, max_batch %zu, batch_memory %zu,"
	    " send_timeout_ms %d, max_connections %d",
	    path, levels[cfg->log_level], cfg->silent_days, (unsigned long long)cfg->upstream_interval_ms,
	    cfg->max_batch, cfg->batch_memory, cfg->send_timeout_ms, cfg->max_connections);
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
	srv_listen_opts lo;
	srv_listen_stats ls;
	nng_tls_config *tls = NULL;
	srv_guard *guard = NULL;
	srv_pool *pool = NULL;
	srv_metrics *metrics = NULL;
	srv_http *http = NULL;
	srv_files *files = NULL;
	sto_files_gc_stats gs;
	uint64_t gc_waited_ms = 0;
	srv_netwatch *watch = NULL;
	upstream_run_state up;
	uint64_t waited_ms = UINT64_MAX / 2; /* the first step runs at once */
	uint64_t next_ms = 0;                /* when the next upstream step is due */
	int up_failures = 0;                 /* upstream steps failed in a row */
	unsigned up_seed = (unsigned)time(NULL);
	struct sigaction sa;
	char err[512];
	char token[SRV_HTTP_TOKEN_MAX + 2];
	const char *dd;
	int code = SRV_CMD_FAIL;
	int rv;

	memset(&up, 0, sizeof(up));
#ifdef M_ARENA_MAX
	/* Many threads (workers, readers, nng's) each get a malloc arena of their
	 * own by default, and freed memory stays scattered over them: two arenas
	 * keep a server with hundreds of connections within its memory goal
	 * (BENCHMARKS.md section 6). */
	mallopt(M_ARENA_MAX, 2);
#endif
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
	svc.max_batch = cfg.max_batch;
	svc.batch_memory = cfg.batch_memory;
	if (strcmp(cfg.role, "national") == 0) {
		svc.relay_policy = ocp_policy_store_relay(pol, "province");
	}
	if (srv_metrics_alloc(&metrics) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", ocop_strerror(OCOP_ENOMEM));
		goto out;
	}
	svc.metrics = metrics;
	/* Every TLS link of this process (listener and upstream) logs why a handshake failed. */
	if (lnk_tls_install(&serve_log) != OCOP_OK) {
		fprintf(stderr, "ocopd: cannot install the TLS engine\n");
		goto out;
	}
	if (lnk_url_tls(cfg.listen) && srv_ca_listener_tls(db, &cfg, &tls, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd: cannot serve %s: %s\n", cfg.listen, err);
		code = SRV_CMD_USAGE;
		goto out;
	}
	if (srv_guard_open(&guard, &serve_log, NULL, NULL) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", ocop_strerror(OCOP_ENOMEM));
		goto out;
	}
	svc.guard = guard;
	/* PULLs on read connections of their own, PUSHes in turn on db. */
	if (srv_pool_open(&pool, cfg.db, cfg.readers, &serve_log) != OCOP_OK) {
		fprintf(stderr, "ocopd: cannot open read connections on %s\n", cfg.db);
		goto out;
	}
	svc.pool = pool;
	if ((rv = srv_files_open(&files, db, cfg.files_dir, &cfg.files, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "ocopd: evidence files: %s\n", err);
		goto out;
	}
	svc.files = files;
	if ((cfg.upstream[0] != 0 || cfg.upstream_enrolment[0] != 0) && upstream_start(&up, &cfg, pol, dd) != 0) {
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
	memset(&lo, 0, sizeof(lo));
	lo.url = cfg.listen;
	lo.workers = cfg.workers;
	lo.max_message = cfg.max_message;
	lo.tls = tls;
	lo.allow_plain_remote = cfg.allow_plain != 0;
	lo.send_timeout_ms = cfg.send_timeout_ms;
	lo.max_connections = cfg.max_connections;
	lo.log = &serve_log;
	rv = srv_listener_open(&l, &svc, &lo, err, sizeof(err));
	if (rv != OCOP_OK) {
		char why[512];
		serve_listen_diagnose(cfg.listen, why, sizeof(why));
		fprintf(stderr, "ocopd: %s\n", rv == OCOP_ENET && why[0] ? why : err);
		code = rv == OCOP_EINVAL ? SRV_CMD_USAGE : SRV_CMD_FAIL;
		goto out;
	}
	if (http != NULL) {
		srv_http_set_state(http, true, up.u != NULL ? SRV_UPSTREAM_DOWN : SRV_UPSTREAM_NONE);
	}
	/* Should the network library wedge (netwatch.h), end rather than stay up deaf. */
	if ((rv = srv_netwatch_start(&watch, &serve_log, 0, 0, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", err);
		goto out;
	}
	com_logf(&serve_log, COM_LOG_INFO, "ocopd %s role=%s site=%s listening on %s%s (db %s)%s%s",
	    OCOP_VERSION_STRING, cfg.role, sto_site_id(db), cfg.listen, tls != NULL ? " with mutual TLS" : "", cfg.db,
	    http ? "; operator view on " : "", http ? cfg.http_listen : "");
	while (!stop_requested) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		if (reload_requested) {
			reload_requested = 0;
			serve_reload(o.config, &cfg, http, &svc, l);
		}
		if (up.u != NULL && waited_ms >= next_ms) {
			bool answered = upstream_run(&up);
			if (http != NULL) {
				srv_http_set_state(http, true, answered ? SRV_UPSTREAM_UP : SRV_UPSTREAM_DOWN);
			}
			/* While the national server is away, back off (with jitter, up to
			 * eight intervals) instead of knocking every interval. */
			up_failures = answered ? 0 : up_failures + 1;
			next_ms = answered ? cfg.upstream_interval_ms
					   : (uint64_t)lnk_backoff_ms(up_failures, (long)cfg.upstream_interval_ms,
						 (long)cfg.upstream_interval_ms * 8, &up_seed);
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
	srv_listener_stats(l, &ls);
	com_logf(&serve_log, COM_LOG_INFO,
	    "shutting down: %llu requests served, %llu refused (%llu for their identity, %llu too big); %llu "
	    "connections, %llu refused, %llu requests dropped for pipelining, %llu connections closed for unread replies",
	    (unsigned long long)svc.requests, (unsigned long long)svc.errors, (unsigned long long)svc.auth_failures,
	    (unsigned long long)svc.too_big, (unsigned long long)ls.connections, (unsigned long long)ls.refused,
	    (unsigned long long)ls.pipelined, (unsigned long long)ls.unread);
	code = SRV_CMD_OK;
out:
	/* Closing waits for the network library: bounded, in case it is stuck. */
	srv_netwatch_deadline(watch, 15000);
	/* The view first (it reads the database), then the sites' listener. */
	srv_http_close(http);
	srv_listener_close(l);
	upstream_stop(&up);
	srv_pool_close(pool);
	srv_guard_close(guard);
	if (tls != NULL) {
		nng_tls_config_free(tls);
	}
	srv_metrics_free(metrics);
	srv_files_close(files);
	ocp_policy_free(pol);
	sto_close(db);
	srv_netwatch_stop(watch);
	return code;
}
