/*
 * main.c: the `ocopd` server daemon and its administration commands.
 *
 *   ocopd init --db PATH --role province|national --scope CODE
 *   ocopd site add --db PATH --role ROLE --scope CODES [--name N] [--site-id UUID]
 *   ocopd site list --db PATH [--json]
 *   ocopd status --db PATH [--json]
 *   ocopd serve [--config FILE] [--db PATH] [--listen URL] [--role R]
 *   ocopd import --db PATH --in FILE --reply FILE   (sneakernet: server/cmd_import.c)
 *
 * `serve` runs until SIGTERM or SIGINT, then stops taking requests, finishes
 * the ones in flight and closes the database cleanly. Logs go to stderr.
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
#include "server/cmd_import.h"
#include "server/config.h"
#include "server/listener.h"
#include "server/registry.h"
#include "server/service.h"

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
	    "  site add --db PATH --role ROLE --scope CODES [--name N] [--site-id UUID]\n"
	    "                      register a site; prints what the site needs to connect\n"
	    "  site list --db PATH [--json]   registered sites and their sync state\n"
	    "  status --db PATH [--json]      sites, log size, ledger entries\n"
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

static int
cmd_site_add(int argc, char **argv)
{
	opts o = {0};
	sto_db *db = NULL;
	char site[37];
	char cred[SRV_CREDENTIAL_LEN + 1];
	int rv;

	if ((rv = parse_opts(argc, argv, &o, "site add")) != 0) {
		return rv;
	}
	if (o.db == NULL || !valid_role(o.role, false) || o.scope == NULL || !*o.scope) {
		fprintf(stderr, "ocopd site add: needs --db PATH, --role commune|district|province|national|member"
				" and --scope CODES\n");
		return 2;
	}
	if (open_db(o.db, false, &db) != OCOP_OK) {
		return 1;
	}
	rv = srv_registry_add(db, o.site_id, o.role, o.scope, o.name, site, cred);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd site add: %s\n", sto_errmsg(db));
		sto_close(db);
		return rv == OCOP_EINVAL ? 2 : 1;
	}
	if (o.json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s}", "site_id", site, "credential", cred, "role",
		    o.role, "scope", o.scope);
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		puts(s);
		free(s);
		json_decref(j);
	} else {
		printf("site_id    %s\ncredential %s\nrole       %s\nscope      %s\n\n", site, cred, o.role, o.scope);
		printf("On the site, run:\n  ocop init --site-id %s --role %s --scope %s\n"
		       "  ocop remote --server %s --credential %s\n  ocop sync\n",
		    site, o.role, o.scope, o.server_url ? o.server_url : "tcp://SERVER:7450", cred);
	}
	sto_close(db);
	return 0;
}

static void
site_row(void *arg, const srv_peer *p)
{
	json_t *arr = arg;

	if (arr != NULL) {
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "site_id",
		    p->site, "name", p->name, "role", p->role, "scope", p->scope, "high_water",
		    (json_int_t)p->high_water, "cursor", (json_int_t)p->cursor, "last_seen", p->last_seen));
	} else {
		printf("%-36s  %-8s  %-12s  hw %-6llu  cursor %-6llu  %s  %s\n", p->site, p->role, p->scope,
		    (unsigned long long)p->high_water, (unsigned long long)p->cursor,
		    p->last_seen[0] ? p->last_seen : "never", p->name);
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
		printf("changes in log %lld, ledger entries %lld (rejected %lld), dossiers %lld\n\nsites:\n",
		    count_sql(db, "SELECT COUNT(*) FROM change"), count_sql(db, "SELECT COUNT(*) FROM ledger"),
		    count_sql(db, "SELECT COUNT(DISTINCT lost_site || lost_seq) FROM ledger WHERE rule = 'authority'"),
		    count_sql(db, "SELECT COUNT(*) FROM dossier WHERE deleted = 0"));
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

static int
cmd_serve(int argc, char **argv)
{
	opts o = {0};
	srv_config cfg;
	sto_db *db = NULL;
	ocp_policy *pol = NULL;
	srv_service svc;
	srv_listener *l = NULL;
	struct sigaction sa;
	char err[512];
	const char *dd;
	int rv;

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

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	rv = srv_listener_open(&l, &svc, cfg.listen, cfg.workers, cfg.max_message);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd: cannot listen on %s: %s\n", cfg.listen, ocop_strerror(rv));
		ocp_policy_free(pol);
		sto_close(db);
		return 1;
	}
	com_logf(&stderr_log, COM_LOG_INFO, "ocopd %s role=%s site=%s listening on %s (db %s)",
	    OCOP_VERSION_STRING, cfg.role, sto_site_id(db), cfg.listen, cfg.db);
	while (!stop_requested) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	com_logf(&stderr_log, COM_LOG_INFO, "shutting down: %llu requests served, %llu refused",
	    (unsigned long long)svc.requests, (unsigned long long)svc.errors);
	srv_listener_close(l);
	ocp_policy_free(pol);
	sto_close(db);
	return 0;
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
	if (strcmp(argv[1], "site") == 0 && argc >= 3 && strcmp(argv[2], "add") == 0) {
		return cmd_site_add(argc - 2, argv + 2);
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
	if (argv[1][0] == '-') {
		/* `ocopd --config FILE` and friends: serve. */
		return cmd_serve(argc, argv);
	}
	fprintf(stderr, "ocopd: '%s' is not an ocopd command. See 'ocopd --help'.\n", argv[1]);
	return 2;
}
