/*
 * cmd_candidates.c: `ocopd candidates`: the 5-star candidates. At a province:
 * each approved candidate's hand-off to the national server (waiting, sent,
 * acknowledged, decided); at the national server: the candidates received
 * from provinces and whether the central council has decided.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "common/ocop/council.h"
#include "common/ocop/rubric.h"
#include "ocop_err.h"
#include "server/cmd.h"
#include "server/handoff.h"

static const char candidates_usage[] =
    "usage: ocopd candidates --db PATH [--json]\n"
    "\n"
    "At a province server: every 5-star candidate (a potential-5-star result the\n"
    "provincial chair approved) with its hand-off state: waiting, sent,\n"
    "acknowledged by the national server, or decided by the central council.\n"
    "At a national server: the candidates received from provinces.\n";

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

int
srv_cmd_candidates(int argc, char **argv)
{
	srv_opts o;
	sto_db *db = NULL;
	ocp_council *c = NULL;
	json_t *arr = NULL;
	const char *dd;
	srv_config cfg;
	bool national;
	size_t i;
	int rv;

	rv = srv_opts_parse(&o, argc, argv, SRV_OPT_DB | SRV_OPT_JSON, "candidates", candidates_usage);
	if (rv != SRV_CMD_OK) {
		return rv == SRV_CMD_HELP ? SRV_CMD_OK : rv;
	}
	if (o.db == NULL) {
		fprintf(stderr, "ocopd candidates: needs --db PATH\n");
		return 2;
	}
	srv_config_defaults(&cfg);
	if ((dd = srv_cmd_data_dir(&cfg, "candidates")) == NULL) {
		return SRV_CMD_USAGE;
	}
	if (srv_cmd_open_db(o.db, false, &db) != OCOP_OK) {
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
		srv_cmd_json_print(arr);
		arr = NULL;
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
