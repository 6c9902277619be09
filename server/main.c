/*
 * main.c: the `ocopd` server daemon and its administration commands.
 *
 *   ocopd init --db PATH --role province|national --scope CODE
 *   ocopd ca init --db PATH --dir DIR --host HOSTS [--url URL]     (server/cmd_site.c)
 *   ocopd site add --db PATH --role ROLE --scope CODES --enrol-out FILE [--name N] [--site-id UUID]
 *   ocopd site revoke|rotate|set-scope ...                         (server/cmd_site.c)
 *   ocopd site list --db PATH [--json]
 *   ocopd status --db PATH [--json]
 *   ocopd serve [--config FILE] [--db PATH] [--listen URL] [--role R]
 *   ocopd import --db PATH --in FILE --reply FILE   (sneakernet: server/cmd_import.c)
 *   ocopd candidates --db PATH [--json]
 *   ocopd handoff export --db PATH --dossier ID --out FILE [--config FILE]
 *   ocopd handoff import --db PATH --in FILE [--reply FILE] [--config FILE]
 *   ocopd handoff apply --db PATH --in REPLY [--config FILE]
 *
 * `serve` runs until SIGTERM or SIGINT, then stops taking requests, finishes
 * the ones in flight and closes the database cleanly. Logs go to stderr.
 * A province server with an `upstream` in its config also hands its 5-star
 * candidates to the national server and brings its decisions down
 * (server/upstream.c, docs/NATIONAL.md).
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/ocop/policy.h"
#include "common/ocop/rubric.h"
#include "common/store/store.h"
#include "common/util/log.h"
#include "ocop_err.h"
#include "protocol/envelope.h"
#include "common/link/dial.h"
#include "common/link/enrol.h"
#include "common/link/tls.h"
#include "common/util/alloc.h"
#include "common/util/secret.h"
#include "server/bundle.h"
#include "server/ca.h"
#include "server/cmd_import.h"
#include "server/cmd_site.h"
#include "server/guard.h"
#include "server/config.h"
#include "server/handoff.h"
#include "server/listener.h"
#include "server/pool.h"
#include "server/registry.h"
#include "server/service.h"
#include "server/upstream.h"

static volatile sig_atomic_t stop_requested = 0;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: ocopd <command> [options]\n"
	    "\n"
	    "ocopd is the OCOP provincial or national server: it receives changes from\n"
	    "sites over nng, merges them, keeps the conflict ledger and serves each site\n"
	    "what changed in its scope.\n"
	    "\n"
	    "Commands:\n"
	    "  init --db PATH --role province|national --scope CODE [--site-id UUID]\n"
	    "                      create the server's database\n"
	    "  ca init --db PATH --dir DIR --host HOSTS [--url URL]\n"
	    "                      create this server's CA and certificate (trusted links)\n"
	    "  site add --db PATH --role ROLE --scope CODES --enrol-out FILE [--name N]\n"
	    "                      register a site; its secrets go to the enrolment FILE (0600)\n"
	    "  site revoke --db PATH --site ID [--reason TEXT]   refuse a site from now on\n"
	    "  site rotate --db PATH --site ID --enrol-out FILE  new secrets for a site\n"
	    "  site set-scope --db PATH --site ID --scope CODES  change the units a site serves\n"
	    "  site list --db PATH [--json]   registered sites and their sync state\n"
	    "  status --db PATH [--json]      sites, log size, ledger entries\n"
	    "  candidates --db PATH [--json]  5-star candidates: waiting, sent, acknowledged,\n"
	    "                      decided (province); received from provinces (national)\n"
	    "  handoff export --db PATH --dossier ID --out FILE [--config FILE]\n"
	    "                      write a candidate's hand-off package for the national office\n"
	    "  handoff import --db PATH --in FILE [--reply FILE] [--config FILE]\n"
	    "                      apply a hand-off package at the national server (idempotent);\n"
	    "                      --reply writes the national changes for the province\n"
	    "  handoff apply --db PATH --in REPLY [--config FILE]\n"
	    "                      merge the national server's reply bundle (ocopd import there) at the province\n"
	    "  serve [--config FILE] [--db PATH] [--listen URL] [--role R]\n"
	    "                      serve until SIGTERM (also: ocopd --config FILE)\n"
	    "  import --db PATH --in FILE --reply FILE   serve a site's bundle from a USB stick\n"
	    "  --version, --help\n");
}

static const com_log stderr_log = {com_log_stderr, NULL, COM_LOG_INFO};

static int
open_db(const char *path, bool create, sto_db **db)
{
	sto_opts o;
	int rv;

	memset(&o, 0, sizeof(o));
	o.create = create;
	o.user = "ocopd";
	o.log = &stderr_log;
	rv = sto_open(db, path, &o);
	if (rv == OCOP_ENOENT) {
		fprintf(stderr, "ocopd: no database at %s: run 'ocopd init' first\n", path);
	} else if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd: cannot open %s: %s\n", path, ocop_strerror(rv));
	}
	return rv;
}

/* Parse --db/--role/--scope/--name/--site-id/--json/--config/--listen into these slots. */
typedef struct opts {
	const char *db;
	const char *role;
	const char *scope;
	const char *name;
	const char *site_id;
	const char *config;
	const char *listen;
	const char *server_url;
	const char *dossier;
	const char *out;
	const char *in;
	int json;
} opts;

static int
parse_opts(int argc, char **argv, opts *o, const char *what)
{
	static const struct option longs[] = {
	    {"db", required_argument, NULL, 'd'}, {"role", required_argument, NULL, 'r'},
	    {"scope", required_argument, NULL, 's'}, {"name", required_argument, NULL, 'n'},
	    {"site-id", required_argument, NULL, 'i'}, {"config", required_argument, NULL, 'c'},
	    {"listen", required_argument, NULL, 'l'}, {"server-url", required_argument, NULL, 'u'},
	    {"dossier", required_argument, NULL, 'D'}, {"out", required_argument, NULL, 'o'},
	    {"in", required_argument, NULL, 'I'}, {"credential", required_argument, NULL, 'C'},
	    {"reply", required_argument, NULL, 'o'},
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int ch;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'd': o->db = optarg; break;
		case 'r': o->role = optarg; break;
		case 's': o->scope = optarg; break;
		case 'n': o->name = optarg; break;
		case 'i': o->site_id = optarg; break;
		case 'c': o->config = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'u': o->server_url = optarg; break;
		case 'D': o->dossier = optarg; break;
		case 'o': o->out = optarg; break;
		case 'I': o->in = optarg; break;
		case 'C':
			fprintf(stderr, "ocopd %s: secrets are never taken on the command line; the province's credential "
					"comes from upstream_enrolment in --config FILE\n", what);
			return 2;
		case 'j': o->json = 1; break;
		case 'h': usage(stdout); exit(0);
		default:
			fprintf(stderr, "ocopd %s: unknown or incomplete option '%s'. See 'ocopd --help'.\n",
			    what, argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ocopd %s: unexpected argument '%s'\n", what, argv[optind]);
		return 2;
	}
	return 0;
}

static int
valid_role(const char *r, bool server)
{
	static const char *const site_roles[] = {"commune", "district", "province", "national", "member"};
	size_t i;

	if (r == NULL) {
		return 0;
	}
	if (server) {
		return strcmp(r, "province") == 0 || strcmp(r, "national") == 0;
	}
	for (i = 0; i < sizeof(site_roles) / sizeof(site_roles[0]); i++) {
		if (strcmp(r, site_roles[i]) == 0) {
			return 1;
		}
	}
	return 0;
}

static int
cmd_init(int argc, char **argv)
{
	opts o = {0};
	sto_db *db = NULL;
	int rv;

	if ((rv = parse_opts(argc, argv, &o, "init")) != 0) {
		return rv;
	}
	if (o.db == NULL || !valid_role(o.role, true) || o.scope == NULL) {
		fprintf(stderr, "ocopd init: needs --db PATH, --role province|national and --scope CODE\n");
		return 2;
	}
	if (open_db(o.db, true, &db) != OCOP_OK) {
		return 1;
	}
	rv = sto_site_init(db, o.site_id, o.role, o.scope);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd init: %s\n", sto_errmsg(db));
		sto_close(db);
		return rv == OCOP_EINVAL ? 2 : 1;
	}
	printf("%s\n", sto_site_id(db));
	sto_close(db);
	return 0;
}

static void
site_row(void *arg, const srv_peer *p)
{
	json_t *arr = arg;

	if (arr != NULL) {
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "site_id",
		    p->site, "name", p->name, "role", p->role, "scope", p->scope, "high_water",
		    (json_int_t)p->high_water, "cursor", (json_int_t)p->cursor, "last_seen", p->last_seen,
		    "revoked", p->auth.revoked, "certificate_expires", p->auth.cert_not_after, "rotated",
		    p->auth.rotated));
	} else {
		printf("%-36s  %-8s  %-12s  hw %-6llu  cursor %-6llu  %s  %s%s%s\n", p->site, p->role, p->scope,
		    (unsigned long long)p->high_water, (unsigned long long)p->cursor,
		    p->last_seen[0] ? p->last_seen : "never", p->name, p->auth.revoked[0] ? "  REVOKED " : "",
		    p->auth.revoked);
	}
}

static long long
count_sql(sto_db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;

	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return n;
}

static int
cmd_site_list_or_status(int argc, char **argv, bool status)
{
	opts o = {0};
	sto_db *db = NULL;
	json_t *arr = NULL;
	int rv;

	if ((rv = parse_opts(argc, argv, &o, status ? "status" : "site list")) != 0) {
		return rv;
	}
	if (o.db == NULL) {
		fprintf(stderr, "ocopd: needs --db PATH\n");
		return 2;
	}
	if (open_db(o.db, false, &db) != OCOP_OK) {
		return 1;
	}
	if (o.json) {
		arr = json_array();
	} else if (status) {
		printf("server %s (%s, scope %s)\n", sto_site_id(db), sto_role(db), sto_scope(db));
		printf("changes in log %lld, ledger entries %lld (rejected %lld), dossiers %lld\n",
		    count_sql(db, "SELECT COUNT(*) FROM change"), count_sql(db, "SELECT COUNT(*) FROM ledger"),
		    count_sql(db, "SELECT COUNT(DISTINCT lost_site || lost_seq) FROM ledger WHERE refused = 1"),
		    count_sql(db, "SELECT COUNT(*) FROM dossier WHERE deleted = 0"));
		/* The national tier (docs/NATIONAL.md; details: ocopd candidates). */
		if (strcmp(sto_role(db), "national") == 0) {
			printf("5-star candidates received from provinces %lld\n", count_sql(db, "SELECT COUNT(*) FROM arrival"));
		} else {
			printf("5-star hand-offs: %lld waiting, %lld sent, %lld acknowledged, %lld decided\n",
			    count_sql(db, "SELECT COUNT(*) FROM handoff WHERE state = 'waiting'"),
			    count_sql(db, "SELECT COUNT(*) FROM handoff WHERE state = 'sent'"),
			    count_sql(db, "SELECT COUNT(*) FROM handoff WHERE state = 'acknowledged'"),
			    count_sql(db, "SELECT COUNT(*) FROM handoff WHERE state = 'decided'"));
		}
		printf("\nsites:\n");
	}
	srv_registry_each(db, site_row, arr);
	if (arr != NULL) {
		json_t *top = status ? json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "site_id", sto_site_id(db),
					   "role", sto_role(db), "scope", sto_scope(db), "changes",
					   (json_int_t)count_sql(db, "SELECT COUNT(*) FROM change"), "ledger",
					   (json_int_t)count_sql(db, "SELECT COUNT(*) FROM ledger"), "sites", arr)
				     : arr;
		char *s = json_dumps(top, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
		json_decref(top);
	}
	sto_close(db);
	return 0;
}

/* ===== The upstream link of a province server ===== */

/* What serve keeps for its upstream steps. */
typedef struct upstream_run_state {
	sto_db *db;             /* a second connection to the replica, owned */
	srv_upstream *u;        /* owned; NULL = no upstream */
	lnk_enrolment enrol;    /* this province's enrolment at the national server, owned */
	char url[256];          /* the national server's URL */
	int timeout_ms;         /* one round trip, and the connection, at most */
	lnk_dialer *dialer;     /* owned; NULL until a connection succeeds */
	char last_error[600];   /* the last failure logged, to log each new one once */
} upstream_run_state;

/*
 * Read a province's enrolment at the national server (0600 file) into e.
 * Returns 0, or -1 with the reason printed.
 */
static int
upstream_read_enrolment(const char *path, lnk_enrolment *e)
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
	if (upstream_read_enrolment(cfg->upstream_enrolment, &s->enrol) != 0) {
		return -1;
	}
	snprintf(s->url, sizeof(s->url), "%s", cfg->upstream[0] ? cfg->upstream : s->enrol.server_url);
	s->timeout_ms = (int)cfg->upstream_timeout_ms;
	/* Its own connection: the listener's requests and the upstream step
	 * interleave as SQLite transactions, and no lock is held across a round trip. */
	if (open_db(cfg->db, false, &s->db) != OCOP_OK) {
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
	uo.log = &stderr_log;
	if ((rv = srv_upstream_open(&s->u, s->db, &uo, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "ocopd: upstream: %s\n", rv == OCOP_ENOMEM ? ocop_strerror(rv) : err);
		sto_close(s->db);
		s->db = NULL;
		lnk_enrol_fini(&s->enrol);
		return -1;
	}
	com_logf(&stderr_log, COM_LOG_INFO, "upstream: national server %s every %llu ms", s->url,
	    (unsigned long long)cfg->upstream_interval_ms);
	return 0;
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

static void
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
	if (rv != OCOP_OK) {
		const char *why = s->dialer == NULL ? dial_err : err;
		if (strcmp(why, s->last_error) != 0) {
			com_logf(&stderr_log, COM_LOG_WARN, "upstream: %s (%s); candidates wait for the next attempt",
			    why, ocop_errname(rv));
			snprintf(s->last_error, sizeof(s->last_error), "%s", why);
		}
		return;
	}
	if (s->last_error[0] != 0) {
		com_logf(&stderr_log, COM_LOG_INFO, "upstream: the national server answers again");
		s->last_error[0] = 0;
	}
	if (st.new_candidates || st.acknowledged || st.decided || st.relayed || st.applied) {
		com_logf(&stderr_log, COM_LOG_INFO,
		    "upstream: %u new candidates, %u acknowledged, %u decided; %llu changes relayed (%llu refused),"
		    " %llu pulled (%llu new)",
		    st.new_candidates, st.acknowledged, st.decided, (unsigned long long)st.relayed,
		    (unsigned long long)st.rejected, (unsigned long long)st.pulled, (unsigned long long)st.applied);
	}
}

static void
upstream_stop(upstream_run_state *s)
{
	lnk_dialer_close(s->dialer);
	s->dialer = NULL;
	srv_upstream_close(s->u);
	s->u = NULL;
	sto_close(s->db);
	s->db = NULL;
	lnk_enrol_fini(&s->enrol);
}

static int
cmd_serve(int argc, char **argv)
{
	opts o = {0};
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
	upstream_run_state up;
	uint64_t waited_ms = UINT64_MAX / 2; /* the first step runs at once */
	struct sigaction sa;
	char err[512];
	const char *dd;
	int rv;

	memset(&up, 0, sizeof(up));
	if ((rv = parse_opts(argc, argv, &o, "serve")) != 0) {
		return rv;
	}
	srv_config_defaults(&cfg);
	if (o.config != NULL && srv_config_load(&cfg, o.config, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", err);
		return 2;
	}
	if (o.db) {
		snprintf(cfg.db, sizeof(cfg.db), "%s", o.db);
	}
	if (o.listen) {
		snprintf(cfg.listen, sizeof(cfg.listen), "%s", o.listen);
	}
	if (o.role) {
		if (!valid_role(o.role, true)) {
			fprintf(stderr, "ocopd: --role must be province or national, not '%s'\n", o.role);
			return 2;
		}
		snprintf(cfg.role, sizeof(cfg.role), "%s", o.role);
	}
	dd = cfg.data_dir[0] ? cfg.data_dir : ocp_data_dir();
	if (dd == NULL) {
		fprintf(stderr, "ocopd: cannot find the data directory: set data_dir or OCOP_DATA_DIR\n");
		return 2;
	}
	if (open_db(cfg.db, false, &db) != OCOP_OK) {
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
	srv_service_init(&svc, db, ocp_policy_store(pol), &stderr_log);
	svc.max_batch = cfg.max_batch;
	if (strcmp(cfg.role, "national") == 0) {
		svc.relay_policy = ocp_policy_store_relay(pol, "province");
	}
	/* Every TLS link of this process (listener and upstream) logs why a handshake failed. */
	if (lnk_tls_install(&stderr_log) != OCOP_OK) {
		fprintf(stderr, "ocopd: cannot install the TLS engine\n");
		ocp_policy_free(pol);
		sto_close(db);
		return 1;
	}
	if (lnk_url_tls(cfg.listen) && srv_ca_listener_tls(db, &cfg, &tls, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd: cannot serve %s: %s\n", cfg.listen, err);
		ocp_policy_free(pol);
		sto_close(db);
		return 2;
	}
	if (srv_guard_open(&guard, &stderr_log, NULL, NULL) != OCOP_OK) {
		fprintf(stderr, "ocopd: out of memory\n");
		nng_tls_config_free(tls);
		ocp_policy_free(pol);
		sto_close(db);
		return 1;
	}
	svc.guard = guard;
	/* PULLs on read connections of their own, PUSHes in turn on db. */
	if (srv_pool_open(&pool, cfg.db, cfg.readers, &stderr_log) != OCOP_OK) {
		fprintf(stderr, "ocopd: cannot open read connections on %s\n", cfg.db);
		srv_guard_close(guard);
		if (tls != NULL) {
			nng_tls_config_free(tls);
		}
		ocp_policy_free(pol);
		sto_close(db);
		return 1;
	}
	svc.pool = pool;
	if ((cfg.upstream[0] != 0 || cfg.upstream_enrolment[0] != 0) && upstream_start(&up, &cfg, pol, dd) != 0) {
		srv_pool_close(pool);
		srv_guard_close(guard);
		if (tls != NULL) {
			nng_tls_config_free(tls);
		}
		ocp_policy_free(pol);
		sto_close(db);
		return 2;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&lo, 0, sizeof(lo));
	lo.url = cfg.listen;
	lo.workers = cfg.workers;
	lo.max_message = cfg.max_message;
	lo.tls = tls;
	lo.allow_plain_remote = cfg.allow_plain != 0;
	lo.send_timeout_ms = cfg.send_timeout_ms;
	lo.max_connections = cfg.max_connections;
	lo.log = &stderr_log;
	rv = srv_listener_open(&l, &svc, &lo, err, sizeof(err));
	if (tls != NULL) {
		nng_tls_config_free(tls); /* the listener holds its own reference */
	}
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", err);
		upstream_stop(&up);
		srv_pool_close(pool);
		srv_guard_close(guard);
		ocp_policy_free(pol);
		sto_close(db);
		return rv == OCOP_EINVAL ? 2 : 1;
	}
	com_logf(&stderr_log, COM_LOG_INFO, "ocopd %s role=%s site=%s listening on %s%s (db %s)",
	    OCOP_VERSION_STRING, cfg.role, sto_site_id(db), cfg.listen,
	    lnk_url_tls(cfg.listen) ? " with mutual TLS" : "", cfg.db);
	while (!stop_requested) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		if (up.u != NULL && waited_ms >= cfg.upstream_interval_ms) {
			upstream_run(&up);
			waited_ms = 0;
		}
		nanosleep(&ts, NULL);
		waited_ms += 100;
	}
	srv_listener_stats(l, &ls);
	com_logf(&stderr_log, COM_LOG_INFO,
	    "shutting down: %llu requests served, %llu refused (%llu for their identity, %llu too big); %llu "
	    "connections, %llu refused, %llu closed for pipelining, %llu for unread replies",
	    (unsigned long long)svc.requests, (unsigned long long)svc.errors, (unsigned long long)svc.auth_failures,
	    (unsigned long long)svc.too_big,
	    (unsigned long long)ls.connections, (unsigned long long)ls.refused, (unsigned long long)ls.pipelined,
	    (unsigned long long)ls.unread);
	srv_listener_close(l);
	upstream_stop(&up);
	srv_pool_close(pool);
	srv_guard_close(guard);
	ocp_policy_free(pol);
	sto_close(db);
	return 0;
}

/* ===== Candidates and hand-off packages ===== */

static const char *
jtext(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "";
}

/* The candidates received from provinces, on a national server. */
static json_t *
arrivals_json(sto_db *db)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();

	if (sqlite3_prepare_v2(sto_sqlite(db),
		"SELECT a.dossier_id, a.evaluation_id, a.version, a.province_site, a.arrived, d.status,"
		" (SELECT p.name FROM product p WHERE p.id = d.product_id), d.unit_code,"
		" (SELECT x.star FROM decision x WHERE x.dossier_id = a.dossier_id AND x.kind = 'national_result'"
		"  AND x.deleted = 0 ORDER BY x.id DESC LIMIT 1)"
		" FROM arrival a LEFT JOIN dossier d ON d.id = a.dossier_id ORDER BY a.arrived, a.dossier_id",
		-1, &st, NULL) != SQLITE_OK) {
		json_decref(arr);
		return NULL;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_object();
		static const char *const keys[] = {"dossier_id", "evaluation_id", NULL, "province_site", "arrived",
		    "status", "product", "unit_code"};
		int i;
		for (i = 0; i < 8; i++) {
			if (keys[i] != NULL) {
				const unsigned char *t = sqlite3_column_text(st, i);
				json_object_set_new(o, keys[i], json_string(t ? (const char *)t : ""));
			}
		}
		json_object_set_new(o, "version", json_integer(sqlite3_column_int64(st, 2)));
		json_object_set_new(o, "state", json_string(sqlite3_column_type(st, 8) == SQLITE_NULL ? "received"
												: "decided"));
		json_object_set_new(o, "national_star", sqlite3_column_type(st, 8) == SQLITE_NULL
							    ? json_null()
							    : json_integer(sqlite3_column_int64(st, 8)));
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(st);
	return arr;
}

static int
cmd_candidates(int argc, char **argv)
{
	opts o = {0};
	sto_db *db = NULL;
	ocp_council *c = NULL;
	json_t *arr = NULL;
	const char *dd = ocp_data_dir();
	bool national;
	size_t i;
	int rv;

	if ((rv = parse_opts(argc, argv, &o, "candidates")) != 0) {
		return rv;
	}
	if (o.db == NULL) {
		fprintf(stderr, "ocopd candidates: needs --db PATH\n");
		return 2;
	}
	if (dd == NULL) {
		fprintf(stderr, "ocopd: cannot find the data directory: set OCOP_DATA_DIR\n");
		return 2;
	}
	if (open_db(o.db, false, &db) != OCOP_OK) {
		return 1;
	}
	national = strcmp(sto_role(db), "national") == 0;
	if (national) {
		arr = arrivals_json(db);
		rv = arr ? OCOP_OK : OCOP_EDB;
	} else if ((rv = ocp_council_open(&c, db, dd)) == OCOP_OK) {
		rv = srv_handoff_list(db, c, &arr);
	}
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd candidates: %s\n", ocop_strerror(rv));
		ocp_council_close(c);
		sto_close(db);
		return 1;
	}
	if (o.json) {
		char *t = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(t);
		free(t);
	} else if (json_array_size(arr) == 0) {
		printf(national ? "no candidates received\n" : "no 5-star candidates\n");
	} else {
		for (i = 0; i < json_array_size(arr); i++) {
			json_t *e = json_array_get(arr, i);
			if (national) {
				printf("%-12s %s  %-30s %-10s from %s  status %s\n", jtext(e, "state"), jtext(e, "dossier_id"),
				    jtext(e, "product"), jtext(e, "unit_code"), jtext(e, "province_site"), jtext(e, "status"));
			} else {
				printf("%-12s %s  %-30s %-10s %6.2f %d★  v%lld  %-18s %lld changes%s%s\n", jtext(e, "state"),
				    jtext(e, "dossier_id"), jtext(e, "product"), jtext(e, "unit_code"),
				    json_real_value(json_object_get(e, "mean")),
				    (int)json_integer_value(json_object_get(e, "star")),
				    (long long)json_integer_value(json_object_get(e, "version")), jtext(e, "status"),
				    (long long)json_integer_value(json_object_get(e, "changes")),
				    jtext(e, "last_error")[0] ? "  last error: " : "", jtext(e, "last_error"));
			}
		}
	}
	json_decref(arr);
	ocp_council_close(c);
	sto_close(db);
	return 0;
}

static int
write_file(const char *path, const uint8_t *p, size_t n)
{
	char tmp[1100];
	FILE *f;
	int ok;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "wb");
	if (f == NULL) {
		return -1;
	}
	ok = fwrite(p, 1, n, f) == n;
	ok = (fflush(f) == 0) && ok;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		remove(tmp);
		return -1;
	}
	return 0;
}

static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	size_t cap = 0;
	size_t n = 0;

	if (f == NULL) {
		return NULL;
	}
	for (;;) {
		size_t got;
		if (n == cap) {
			uint8_t *np;
			cap = cap ? cap * 2 : 65536;
			if (cap > ((size_t)1 << 31) || (np = realloc(p, cap)) == NULL) {
				free(p);
				fclose(f);
				return NULL;
			}
			p = np;
		}
		got = fread(p + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			break;
		}
	}
	fclose(f);
	*len = n;
	return p;
}

static int
cmd_handoff_export(int argc, char **argv)
{
	opts o = {0};
	srv_config cfg;
	sto_db *db = NULL;
	ocp_council *c = NULL;
	ocp_reg *reg = NULL;
	ocp_reg_require req;
	srv_handoff_key k;
	sqlite3_stmt *st = NULL;
	com_buf out;
	char sha[SRV_HANDOFF_SHA_HEX];
	char err[512];
	lnk_enrolment enrol;
	uint64_t changes = 0;
	const char *dd = ocp_data_dir();
	int found = 0;
	int rv;

	if ((rv = parse_opts(argc, argv, &o, "handoff export")) != 0) {
		return rv;
	}
	srv_config_defaults(&cfg);
	if (o.config != NULL && srv_config_load(&cfg, o.config, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", err);
		return 2;
	}
	if (o.db == NULL || o.dossier == NULL || o.out == NULL) {
		fprintf(stderr, "ocopd handoff export: needs --db PATH, --dossier ID and --out FILE\n");
		return 2;
	}
	if (cfg.data_dir[0]) {
		dd = cfg.data_dir;
	}
	if (dd == NULL) {
		fprintf(stderr, "ocopd: cannot find the data directory: set OCOP_DATA_DIR\n");
		return 2;
	}
	if (open_db(o.db, false, &db) != OCOP_OK) {
		return 1;
	}
	if (strcmp(sto_role(db), "province") != 0) {
		fprintf(stderr, "ocopd handoff export: %s is a %s database; candidates leave from a province\n", o.db,
		    sto_role(db));
		sto_close(db);
		return 2;
	}
	/* Record the candidate first (as the upstream loop would), then write its package. */
	if (ocp_council_open(&c, db, dd) != OCOP_OK || ocp_reg_open(&reg, db, dd, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd handoff export: cannot load the rules from %s\n", dd);
		ocp_council_close(c);
		sto_close(db);
		return 1;
	}
	req.fn = ocp_council_require;
	req.arg = c;
	ocp_reg_set_require(reg, &req);
	rv = srv_handoff_scan(db, c, reg, true, NULL, err, sizeof(err));
	if (rv == OCOP_OK && sqlite3_prepare_v2(sto_sqlite(db),
				 "SELECT dossier_id, evaluation_id, version FROM handoff WHERE dossier_id = ?1"
				 " ORDER BY created DESC, version DESC LIMIT 1",
				 -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, o.dossier, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(k.dossier_id, sizeof(k.dossier_id), "%s", (const char *)sqlite3_column_text(st, 0));
			snprintf(k.evaluation_id, sizeof(k.evaluation_id), "%s", (const char *)sqlite3_column_text(st, 1));
			k.version = sqlite3_column_int64(st, 2);
			found = 1;
		}
		sqlite3_finalize(st);
	}
	if (!found) {
		fprintf(stderr, "ocopd handoff export: dossier %s is not a 5-star candidate (potential 5★ result,"
				" the chair's approval, status potential_5star or later)\n", o.dossier);
		ocp_reg_close(reg);
		ocp_council_close(c);
		sto_close(db);
		return 1;
	}
	com_buf_init(&out);
	if (upstream_read_enrolment(cfg.upstream_enrolment, &enrol) != 0) {
		ocp_reg_close(reg);
		ocp_council_close(c);
		sto_close(db);
		return 2;
	}
	rv = srv_handoff_export(db, &k, enrol.credential, &out, sha, &changes);
	lnk_enrol_fini(&enrol);
	if (rv == OCOP_OK && write_file(o.out, out.data, out.len) != 0) {
		fprintf(stderr, "ocopd handoff export: cannot write %s\n", o.out);
		rv = OCOP_EIO;
	} else if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd handoff export: %s\n", ocop_strerror(rv));
	}
	if (rv == OCOP_OK) {
		printf("dossier %s evaluation %s v%lld: %llu changes, content sha256 %s\nwrote %s (%zu bytes)\n",
		    k.dossier_id, k.evaluation_id, (long long)k.version, (unsigned long long)changes, sha, o.out, out.len);
	}
	com_buf_fini(&out);
	ocp_reg_close(reg);
	ocp_council_close(c);
	sto_close(db);
	return rv == OCOP_OK ? 0 : 1;
}

static int
cmd_handoff_import(int argc, char **argv)
{
	opts o = {0};
	srv_config cfg;
	sto_db *db = NULL;
	ocp_policy *pol = NULL;
	srv_service svc;
	srv_handoff_import_stats st;
	com_buf reply;
	static const com_log quiet = {com_log_stderr, NULL, COM_LOG_WARN};
	char err[600];
	const char *dd = ocp_data_dir();
	uint8_t *pkg;
	size_t len = 0;
	int rv;

	if ((rv = parse_opts(argc, argv, &o, "handoff import")) != 0) {
		return rv;
	}
	srv_config_defaults(&cfg);
	if (o.config != NULL && srv_config_load(&cfg, o.config, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", err);
		return 2;
	}
	if (o.db == NULL || o.in == NULL) {
		fprintf(stderr, "ocopd handoff import: needs --db PATH and --in FILE\n");
		return 2;
	}
	if (cfg.data_dir[0]) {
		dd = cfg.data_dir;
	}
	if (dd == NULL) {
		fprintf(stderr, "ocopd: cannot find the data directory: set OCOP_DATA_DIR\n");
		return 2;
	}
	if ((pkg = read_file(o.in, &len)) == NULL) {
		fprintf(stderr, "ocopd handoff import: cannot read %s\n", o.in);
		return 1;
	}
	if (open_db(o.db, false, &db) != OCOP_OK) {
		free(pkg);
		return 1;
	}
	if (strcmp(sto_role(db), "national") != 0) {
		fprintf(stderr, "ocopd handoff import: %s is a %s database; packages go to the national server\n", o.db,
		    sto_role(db));
		free(pkg);
		sto_close(db);
		return 2;
	}
	sto_hlc(db)->max_skew_ms = cfg.skew_ms;
	if (ocp_policy_open(&pol, dd, true, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", err);
		free(pkg);
		sto_close(db);
		return 2;
	}
	sto_set_policy(db, ocp_policy_store(pol));
	srv_service_init(&svc, db, ocp_policy_store(pol), &quiet);
	svc.relay_policy = ocp_policy_store_relay(pol, "province");
	com_buf_init(&reply);
	rv = srv_handoff_import(&svc, pkg, len, o.out ? &reply : NULL, &st, err, sizeof(err));
	free(pkg);
	if (rv == OCOP_OK && o.out != NULL && write_file(o.out, reply.data, reply.len) != 0) {
		snprintf(err, sizeof(err), "cannot write the reply %s (the package is applied; import it again to "
					 "write the reply)", o.out);
		rv = OCOP_EIO;
	}
	/* Taken once its reply is out: the same package is refused from now on. */
	if (rv == OCOP_OK && srv_bundle_taken(db, st.province, st.seq) != OCOP_OK) {
		snprintf(err, sizeof(err), "cannot record the package as taken: %s", sto_errmsg(db));
		rv = OCOP_EDB;
	}
	com_buf_fini(&reply);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd handoff import: %s: %s\n", o.in, err[0] ? err : ocop_strerror(rv));
	} else {
		printf("dossier %s from province %s: %u messages, %llu changes applied, %llu already held, %llu refused\n",
		    st.dossier_id, st.province, st.messages, (unsigned long long)st.applied,
		    (unsigned long long)st.duplicates, (unsigned long long)st.rejected);
	}
	ocp_policy_free(pol);
	sto_close(db);
	return rv == OCOP_OK ? 0 : rv == OCOP_EPROTO || rv == OCOP_EVERSION || rv == OCOP_ECORRUPT || rv == OCOP_ESTATE ||
		    rv == OCOP_EINVAL || rv == OCOP_ESITE
	    ? 2
	    : 1;
}

static int
cmd_handoff_apply(int argc, char **argv)
{
	opts o = {0};
	srv_config cfg;
	sto_db *db = NULL;
	ocp_policy *pol = NULL;
	srv_upstream *u = NULL;
	srv_upstream_opts uo;
	srv_upstream_stats st;
	lnk_enrolment enrol;
	char err[600];
	const char *dd = ocp_data_dir();
	uint8_t *reply;
	size_t len = 0;
	int rv;

	if ((rv = parse_opts(argc, argv, &o, "handoff apply")) != 0) {
		return rv;
	}
	srv_config_defaults(&cfg);
	if (o.config != NULL && srv_config_load(&cfg, o.config, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", err);
		return 2;
	}
	if (o.db == NULL || o.in == NULL) {
		fprintf(stderr, "ocopd handoff apply: needs --db PATH and --in FILE\n");
		return 2;
	}
	if (cfg.data_dir[0]) {
		dd = cfg.data_dir;
	}
	if (dd == NULL) {
		fprintf(stderr, "ocopd: cannot find the data directory: set OCOP_DATA_DIR\n");
		return 2;
	}
	if ((reply = read_file(o.in, &len)) == NULL) {
		fprintf(stderr, "ocopd handoff apply: cannot read %s\n", o.in);
		return 1;
	}
	if (open_db(o.db, false, &db) != OCOP_OK) {
		free(reply);
		return 1;
	}
	sto_hlc(db)->max_skew_ms = cfg.skew_ms;
	if (ocp_policy_open(&pol, dd, true, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd: %s\n", err);
		free(reply);
		sto_close(db);
		return 2;
	}
	sto_set_policy(db, ocp_policy_store(pol));
	if (upstream_read_enrolment(cfg.upstream_enrolment, &enrol) != 0) {
		free(reply);
		ocp_policy_free(pol);
		sto_close(db);
		return 2;
	}
	memset(&uo, 0, sizeof(uo));
	uo.credential = enrol.credential; /* its key authenticates the reply */
	uo.pull_policy = ocp_policy_store_relay(pol, "national");
	uo.data_dir = dd;
	uo.log = &stderr_log;
	if ((rv = srv_upstream_open(&u, db, &uo, err, sizeof(err))) == OCOP_OK) {
		rv = srv_upstream_apply_reply(u, reply, len, &st, err, sizeof(err));
	}
	free(reply);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd handoff apply: %s: %s\n", o.in, err[0] ? err : ocop_strerror(rv));
	} else {
		printf("%llu national changes (%llu new); %u hand-offs decided\n", (unsigned long long)st.pulled,
		    (unsigned long long)st.applied, st.decided);
	}
	srv_upstream_close(u);
	lnk_enrol_fini(&enrol);
	ocp_policy_free(pol);
	sto_close(db);
	return rv == OCOP_OK ? 0 : rv == OCOP_EPROTO || rv == OCOP_EVERSION || rv == OCOP_ECORRUPT || rv == OCOP_ESTATE ? 2 : 1;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("ocopd %s (protocol %d)\n", OCOP_VERSION_STRING, PROTO_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "init") == 0) {
		return cmd_init(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "ca") == 0) {
		return srv_cmd_ca(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "site") == 0) {
		int rc = srv_cmd_site(argc - 1, argv + 1);
		if (rc >= 0) {
			return rc;
		}
	}
	if (strcmp(argv[1], "site") == 0 && argc >= 3 && strcmp(argv[2], "list") == 0) {
		return cmd_site_list_or_status(argc - 2, argv + 2, false);
	}
	if (strcmp(argv[1], "status") == 0) {
		return cmd_site_list_or_status(argc - 1, argv + 1, true);
	}
	if (strcmp(argv[1], "import") == 0) {
		return srv_cmd_import(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "serve") == 0) {
		return cmd_serve(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "candidates") == 0) {
		return cmd_candidates(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "handoff") == 0 && argc >= 3 && strcmp(argv[2], "export") == 0) {
		return cmd_handoff_export(argc - 2, argv + 2);
	}
	if (strcmp(argv[1], "handoff") == 0 && argc >= 3 && strcmp(argv[2], "import") == 0) {
		return cmd_handoff_import(argc - 2, argv + 2);
	}
	if (strcmp(argv[1], "handoff") == 0 && argc >= 3 && strcmp(argv[2], "apply") == 0) {
		return cmd_handoff_apply(argc - 2, argv + 2);
	}
	if (argv[1][0] == '-') {
		/* `ocopd --config FILE` and friends: serve. */
		return cmd_serve(argc, argv);
	}
	fprintf(stderr, "ocopd: '%s' is not an ocopd command. See 'ocopd --help'.\n", argv[1]);
	return 2;
}
