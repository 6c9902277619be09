/*
 * cmd_status.c: `ocopd status`: the server's identity, the size of its change
 * log and ledger, its 5-star hand-offs (province) or candidates received
 * (national), and every site with its sync state.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "ocop_err.h"
#include "server/cmd.h"

static const char status_usage[] =
    "usage: ocopd status --db PATH [--json]\n"
    "\n"
    "The server's site id, role and scope; changes in its log; conflict ledger\n"
    "entries and refused changes; dossiers; 5-star hand-offs by state (province)\n"
    "or candidates received (national); and every registered site with its\n"
    "high-water mark, cursor and last contact. Works while 'ocopd serve' runs.\n";

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

int
srv_cmd_status(int argc, char **argv)
{
	srv_opts o;
	sto_db *db = NULL;
	json_t *arr = NULL;
	int rv;

	rv = srv_opts_parse(&o, argc, argv, SRV_OPT_DB | SRV_OPT_JSON, "status", status_usage);
	if (rv != SRV_CMD_OK) {
		return rv == SRV_CMD_HELP ? SRV_CMD_OK : rv;
	}
	if (o.db == NULL) {
		fprintf(stderr, "ocopd status: needs --db PATH\n");
		return SRV_CMD_USAGE;
	}
	if (srv_cmd_open_db(o.db, false, &db) != OCOP_OK) {
		return SRV_CMD_FAIL;
	}
	if (o.json) {
		arr = json_array();
	} else {
		printf("server %s (%s, scope %s)\n", sto_site_id(db), sto_role(db), sto_scope(db));
		printf("changes in log %lld, ledger entries %lld (rejected %lld), dossiers %lld\n",
		    count_sql(db, "SELECT COUNT(*) FROM change"), count_sql(db, "SELECT COUNT(*) FROM ledger"),
		    count_sql(db, "SELECT COUNT(DISTINCT lost_site || lost_seq) FROM ledger WHERE rule = 'authority'"),
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
	srv_cmd_sites(db, arr);
	if (arr != NULL) {
		srv_cmd_json_print(json_pack("{s:s, s:s, s:s, s:I, s:I, s:o}", "site_id", sto_site_id(db), "role",
		    sto_role(db), "scope", sto_scope(db), "changes",
		    (json_int_t)count_sql(db, "SELECT COUNT(*) FROM change"), "ledger",
		    (json_int_t)count_sql(db, "SELECT COUNT(*) FROM ledger"), "sites", arr));
	}
	sto_close(db);
	return SRV_CMD_OK;
}
