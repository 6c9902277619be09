/*
 * cmd_history.c: `ocop history`: bring a province's earlier rounds in from a
 * CSV (common/ocop/history.c checks and writes them) and list what was
 * imported. Option parsing and printing only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/history.h"
#include "common/ocop/units.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

static const char usage_text[] =
    "usage: ocop history import FILE.csv\n"
    "       ocop history list [--json]\n"
    "\n"
    "Brings the results of rounds the province already held (QĐ 1048/2019, QĐ 148/2023,\n"
    "QĐ 26/2026) in from a CSV saved as \"CSV UTF-8\", one result per line, with the header\n"
    "  " OCP_HISTORY_HEADER "\n"
    "(format: data/history/README.md). Unit codes are kept as they were issued. The\n"
    "results replicate and report with the live rounds, marked as imported, and are\n"
    "never re-scored. A file with one bad line is refused whole, naming the line;\n"
    "a line already imported is refused too, so a second import changes nothing.\n";

static int
history_usage(FILE *out, int code)
{
	fputs(usage_text, out);
	return code;
}

static int
history_import(cli_ctx *c, const char *path)
{
	ocp_units *units = NULL;
	char *text = NULL;
	size_t len = 0, n = 0;
	char err[1024];
	int rv;

	if ((rv = cli_read_file(c, path, &text, &len)) != OCOP_OK) {
		return rv == OCOP_ENOENT ? CLI_USAGE : CLI_FAIL;
	}
	if ((rv = cli_open(c, "history", false)) != OCOP_OK) {
		com_free(text);
		return cli_exit_code(rv);
	}
	if ((rv = cli_units_open(c, &units)) != OCOP_OK) {
		com_free(text);
		cli_close(c);
		return cli_exit_code(rv);
	}
	rv = ocp_history_import(c->db, units, path, text, len, &n, err, sizeof(err));
	ocp_units_free(units);
	if (rv != OCOP_OK) {
		cli_err(c, "%s", err);
	} else {
		printf("imported %zu result%s from %s\n", n, n == 1 ? "" : "s", path);
	}
	com_free(text);
	cli_close(c);
	return cli_exit_code(rv);
}

static int
history_list(cli_ctx *c, bool json)
{
	static const char sql[] =
	    "SELECT id, round_year || '/' || round_no, legal_basis, subject_name, subject_kind,"
	    " product_name, product_set, unit_code, printf('%.2f', mean / 100.0), star,"
	    " decision_no, issued_on, expires_on, source FROM history WHERE deleted = 0"
	    " ORDER BY round_year, round_no, unit_code, product_name";
	static const char *const keys[] = {"id", "round", "basis", "subject", "subject_kind", "product",
	    "product_set", "unit_code", "mean", "star", "decision_no", "issued_on", "expires_on",
	    "source"};
	sqlite3_stmt *st = NULL;
	json_t *arr;
	int rc, rv;
	size_t i;

	if ((rv = cli_open(c, "history", false)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	arr = json_array();
	if (arr == NULL || sqlite3_prepare_v2(sto_sqlite(c->db), sql, -1, &st, NULL) != SQLITE_OK) {
		cli_err(c, "reading the history: %s", sqlite3_errmsg(sto_sqlite(c->db)));
		json_decref(arr);
		cli_close(c);
		return CLI_FAIL;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();

		for (i = 0; o != NULL && i < sizeof(keys) / sizeof(keys[0]); i++) {
			const unsigned char *t = sqlite3_column_text(st, (int)i);

			if (strcmp(keys[i], "star") == 0) {
				json_object_set_new(o, keys[i], json_integer(sqlite3_column_int(st, (int)i)));
			} else {
				json_object_set_new(o, keys[i], t ? json_string((const char *)t) : json_null());
			}
		}
		json_object_set_new(o, "imported", json_true());
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(st);
	if (json) {
		cli_json_print(arr);
	} else {
		for (i = 0; i < json_array_size(arr); i++) {
			cli_print_row(json_array_get(arr, i), keys + 1, sizeof(keys) / sizeof(keys[0]) - 1);
		}
		json_decref(arr);
	}
	cli_close(c);
	return rc == SQLITE_DONE ? CLI_OK : CLI_FAIL;
}

int
cmd_history(int argc, char **argv)
{
	cli_ctx c;

	memset(&c, 0, sizeof(c));
	c.cmd = "history";
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		return history_usage(argc < 2 ? stderr : stdout, argc < 2 ? CLI_USAGE : CLI_OK);
	}
	if (strcmp(argv[1], "import") == 0) {
		c.cmd = "history import";
		if (argc != 3 || argv[2][0] == '-') {
			cli_err(&c, "needs exactly one file: ocop history import FILE.csv");
			return CLI_USAGE;
		}
		return history_import(&c, argv[2]);
	}
	if (strcmp(argv[1], "list") == 0) {
		c.cmd = "history list";
		if (argc > 3 || (argc == 3 && strcmp(argv[2], "--json") != 0)) {
			cli_err(&c, "takes only --json");
			return CLI_USAGE;
		}
		return history_list(&c, argc == 3);
	}
	cli_err(&c, "'%s' is not a history command (import, list)", argv[1]);
	return CLI_USAGE;
}
