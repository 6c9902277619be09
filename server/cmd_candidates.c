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
		rv = srv_handoff_arrivals(db, &arr);
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
