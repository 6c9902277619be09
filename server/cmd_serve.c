/*
 * cmd_serve.c: `ocopd serve` (also `ocopd --config FILE`): the daemon. It
 * listens for sites over nng until SIGTERM or SIGINT, then stops taking
 * requests, finishes the ones in flight and closes the database cleanly.
 * Logs go to stderr. A province server with an `upstream` in its config also
 * hands its 5-star candidates to the national server and brings its decisions
 * down (server/upstream.c, docs/NATIONAL.md).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/ocop/policy.h"
#include "common/ocop/rubric.h"
#include "ocop_err.h"
#include "server/cmd.h"
#include "server/listener.h"
#include "server/service.h"
#include "server/upstream.h"

static const char serve_usage[] =
    "usage: ocopd serve [--config FILE] [--db PATH] [--listen URL] [--role province|national]\n"
    "   or: ocopd --config FILE\n"
    "\n"
    "Serve the sites until SIGTERM or SIGINT. The options override the config\n"
    "file's db, listen and role (every key: the example ocopd.conf). A province\n"
    "server with an upstream in its config hands its approved 5-star candidates\n"
    "to the national server and brings the national decisions down.\n"
    "Logs go to stderr.\n";

static volatile sig_atomic_t stop_requested = 0;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* ===== The upstream link of a province server ===== */

/* What serve keeps for its upstream steps. */
typedef struct upstream_run_state {
	sto_db *db;             /* a second connection to the replica, owned */
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
	uo.log = &srv_cmd_log;
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
	com_logf(&srv_cmd_log, COM_LOG_INFO, "upstream: national server %s every %llu ms", cfg->upstream,
	    (unsigned long long)cfg->upstream_interval_ms);
	return 0;
}

static void
upstream_run(upstream_run_state *s)
{
	srv_link link = srv_upstream_nng_link(&s->link);
	srv_upstream_stats st;
	char err[600];
	int rv = srv_upstream_step(s->u, &link, &st, err, sizeof(err));

	if (rv != OCOP_OK) {
		if (strcmp(err, s->last_error) != 0) {
			com_logf(&srv_cmd_log, COM_LOG_WARN, "upstream: %s (%s); candidates wait for the next attempt",
			    err, ocop_errname(rv));
			snprintf(s->last_error, sizeof(s->last_error), "%s", err);
		}
		return;
	}
	if (s->last_error[0] != 0) {
		com_logf(&srv_cmd_log, COM_LOG_INFO, "upstream: the national server answers again");
		s->last_error[0] = 0;
	}
	if (st.new_candidates || st.acknowledged || st.decided || st.relayed || st.applied) {
		com_logf(&srv_cmd_log, COM_LOG_INFO,
		    "upstream: %u new candidates, %u acknowledged, %u decided; %llu changes relayed (%llu refused),"
		    " %llu pulled (%llu new)",
		    st.new_candidates, st.acknowledged, st.decided, (unsigned long long)st.relayed,
		    (unsigned long long)st.rejected, (unsigned long long)st.pulled, (unsigned long long)st.applied);
	}
}

static void
upstream_stop(upstream_run_state *s)
{
	srv_upstream_nng_close(&s->link);
	srv_upstream_close(s->u);
	s->u = NULL;
	sto_close(s->db);
	s->db = NULL;
}

int
srv_cmd_serve(int argc, char **argv)
{
	srv_opts o;
	srv_config cfg;
	sto_db *db = NULL;
	ocp_policy *pol = NULL;
	srv_service svc;
	srv_listener *l = NULL;
	upstream_run_state up;
	uint64_t waited_ms = UINT64_MAX / 2; /* the first step runs at once */
	struct sigaction sa;
	char err[512];
	const char *dd;
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
	if (o.db) {
		snprintf(cfg.db, sizeof(cfg.db), "%s", o.db);
	}
	if (o.listen) {
		snprintf(cfg.listen, sizeof(cfg.listen), "%s", o.listen);
	}
	if (o.role) {
		if (!srv_cmd_valid_role(o.role, true)) {
			fprintf(stderr, "ocopd: --role must be province or national, not '%s'\n", o.role);
			return 2;
		}
		snprintf(cfg.role, sizeof(cfg.role), "%s", o.role);
	}
	if ((dd = srv_cmd_data_dir(&cfg, "serve")) == NULL) {
		return SRV_CMD_USAGE;
	}
	if (srv_cmd_open_db(cfg.db, false, &db) != OCOP_OK) {
		return 1;
	}
	if (strcmp(sto_role(db), cfg.role) != 0) {
		fprintf(stderr, "ocopd: %s is a %s database, not %s\n", cfg.db, sto_role(db), cfg.role);
		sto_close(db);
		return 2;
	}
	sto_hlc(db)->max_skew_ms = cfg.skew_ms;
	if (ocp_policy_open(&pol, dd, true, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", err);
		sto_close(db);
		return 2;
	}
	sto_set_policy(db, ocp_policy_store(pol));
	srv_service_init(&svc, db, ocp_policy_store(pol), &srv_cmd_log);
	if (strcmp(cfg.role, "national") == 0) {
		svc.relay_policy = ocp_policy_store_relay(pol, "province");
	}
	if (cfg.upstream[0] != 0 && upstream_start(&up, &cfg, pol, dd) != 0) {
		ocp_policy_free(pol);
		sto_close(db);
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rv = srv_listener_open(&l, &svc, cfg.listen, cfg.workers, cfg.max_message);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd: cannot listen on %s: %s\n", cfg.listen, ocop_strerror(rv));
		upstream_stop(&up);
		ocp_policy_free(pol);
		sto_close(db);
		return 1;
	}
	com_logf(&srv_cmd_log, COM_LOG_INFO, "ocopd %s role=%s site=%s listening on %s (db %s)",
	    OCOP_VERSION_STRING, cfg.role, sto_site_id(db), cfg.listen, cfg.db);
	while (!stop_requested) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		if (up.u != NULL && waited_ms >= cfg.upstream_interval_ms) {
			upstream_run(&up);
			waited_ms = 0;
		}
		nanosleep(&ts, NULL);
		waited_ms += 100;
	}
	com_logf(&srv_cmd_log, COM_LOG_INFO, "shutting down: %llu requests served, %llu refused",
	    (unsigned long long)svc.requests, (unsigned long long)svc.errors);
	srv_listener_close(l);
	upstream_stop(&up);
	ocp_policy_free(pol);
	sto_close(db);
	return 0;
}
