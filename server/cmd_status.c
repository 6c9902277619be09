/*
 * cmd_status.c: `ocopd status`: the server's identity, the size of its change
 * log and ledger, its 5-star hand-offs (province) or candidates received
 * (national), and every site with its sync state. The numbers come from
 * server/overview.c, as the HTTP API's and the dashboard's do.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ocop_err.h"
#include "server/cmd.h"
#include "server/overview.h"

static const char status_usage[] =
    "usage: ocopd status --db PATH [--config FILE] [--json]\n"
    "\n"
    "The server's site id, role and scope; changes in its log; conflict ledger\n"
    "entries (open ones need someone) and refused changes; dossiers; 5-star\n"
    "hand-offs by state (province) or candidates received (national); and every\n"
    "registered site with its last contact, how many server changes it has not\n"
    "pulled yet (pending) and the age of the oldest (lag), and its refused\n"
    "changes. Sites silent for silent_days (config; default 7) are marked.\n"
    "Works while 'ocopd serve' runs; --config supplies db and silent_days.\n";

static long long
num(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

static const char *
str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static void
status_print(const json_t *j, int64_t now_ms)
{
	const json_t *sites = json_object_get(j, "sites");
	const json_t *h = json_object_get(j, "handoffs");
	size_t i;

	printf("server %s (%s, scope %s)\n", str(j, "site_id"), str(j, "role"), str(j, "scope"));
	printf("changes in log %lld, ledger entries %lld (open %lld, rejected %lld), dossiers %lld\n",
	    num(j, "changes"), num(j, "ledger"), num(j, "ledger_open"), num(j, "refused"), num(j, "dossiers"));
	/* The national tier (docs/NATIONAL.md; details: ocopd candidates). */
	if (h == NULL) {
		printf("5-star candidates received from provinces %lld\n", num(j, "candidates_received"));
	} else {
		printf("5-star hand-offs: %lld waiting, %lld sent, %lld acknowledged, %lld decided\n", num(h, "waiting"),
		    num(h, "sent"), num(h, "acknowledged"), num(h, "decided"));
	}
	printf("\nsites (%zu, %lld silent for %lld days or more):\n", json_array_size(sites), num(j, "silent_sites"),
	    num(j, "silent_days"));
	for (i = 0; i < json_array_size(sites); i++) {
		const json_t *p = json_array_get(sites, i);
		printf("%-36s  %-8s  %-12s  hw %-6lld  cursor %-6lld  %-20s  pending %-5lld lag %-7llds refused %-3lld"
		       "%s  %s\n",
		    str(p, "site_id"), str(p, "role"), str(p, "scope"), num(p, "high_water"), num(p, "cursor"),
		    str(p, "last_seen")[0] ? str(p, "last_seen") : "never", num(p, "pending"), (long long)srv_overview_lag(p, now_ms),
		    num(p, "refused"), json_is_true(json_object_get(p, "silent")) ? "  SILENT" : "", str(p, "name"));
	}
}

int
srv_cmd_status(int argc, char **argv)
{
	srv_opts o;
	srv_config cfg;
	srv_overview_opts vo;
	sto_db *db = NULL;
	json_t *j = NULL;
	struct timespec ts;
	int rv;

	rv = srv_opts_parse(&o, argc, argv, SRV_OPT_DB | SRV_OPT_CONFIG | SRV_OPT_JSON, "status", status_usage);
	if (rv != SRV_CMD_OK) {
		return rv == SRV_CMD_HELP ? SRV_CMD_OK : rv;
	}
	if (srv_cmd_config(&cfg, o.config, "status") != OCOP_OK) {
		return SRV_CMD_USAGE;
	}
	if (o.db == NULL && o.config == NULL) {
		fprintf(stderr, "ocopd status: needs --db PATH (or --config FILE)\n");
		return SRV_CMD_USAGE;
	}
	if (srv_cmd_open_db(o.db != NULL ? o.db : cfg.db, false, &db) != OCOP_OK) {
		return SRV_CMD_FAIL;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	vo.now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	vo.silent_days = cfg.silent_days;
	if ((rv = srv_overview_status(db, &vo, &j)) != OCOP_OK) {
		fprintf(stderr, "ocopd status: %s\n", ocop_strerror(rv));
		sto_close(db);
		return SRV_CMD_FAIL;
	}
	if (o.json) {
		srv_cmd_json_print(j);
	} else {
		status_print(j, vo.now_ms);
		json_decref(j);
	}
	sto_close(db);
	return SRV_CMD_OK;
}
