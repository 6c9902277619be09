/*
 * cmd_conflicts.c: `ocop conflicts`: the conflict ledger of this replica.
 *
 *   ocop conflicts [list] [--all] [--json]   open entries (or all)
 *   ocop conflicts show ID [--json]          one entry, explained
 *   ocop conflicts resolve ID --keep current|lost [--note TEXT]
 *
 * Resolving with --keep lost writes the lost value again as a new local
 * change: it replicates like any edit and wins by being the latest. Resolving
 * with --keep current confirms the merge's choice. Either way the entry is
 * marked resolved here. A change refused for lack of authority cannot be
 * forced; resolving it only acknowledges it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/store/schema.h"
#include "ocop_err.h"

static void
conflicts_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocop conflicts [list] [--all] [--json]\n"
	    "       ocop conflicts show ID [--json]\n"
	    "       ocop conflicts resolve ID --keep current|lost\n"
	    "\nThe conflict ledger: every value that lost a merge (concurrent edit, workflow\n"
	    "order, deleted row) and every change the server refused, with both values,\n"
	    "both versions and the rule that decided.\n");
}

static json_t *
conflicts_value(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_NULL:
		return json_null();
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, i));
	default:
		return json_string((const char *)sqlite3_column_text(st, i));
	}
}

static json_t *
conflicts_row(sqlite3_stmt *st)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(sqlite3_column_int64(st, 0)));
	json_object_set_new(o, "table", conflicts_value(st, 1));
	json_object_set_new(o, "row", conflicts_value(st, 2));
	json_object_set_new(o, "column", conflicts_value(st, 3));
	json_object_set_new(o, "rule", conflicts_value(st, 4));
	json_object_set_new(o, "reason", conflicts_value(st, 5));
	json_object_set_new(o, "kept_value", conflicts_value(st, 6));
	json_object_set_new(o, "kept_hlc", conflicts_value(st, 7));
	json_object_set_new(o, "kept_site", conflicts_value(st, 8));
	json_object_set_new(o, "lost_value", conflicts_value(st, 9));
	json_object_set_new(o, "lost_hlc", conflicts_value(st, 10));
	json_object_set_new(o, "lost_site", conflicts_value(st, 11));
	json_object_set_new(o, "lost_seq", conflicts_value(st, 12));
	json_object_set_new(o, "status", conflicts_value(st, 13));
	return o;
}

#define CONFLICTS_COLS                                                                             \
	"id, tbl, row_id, col, rule, reason, kept_value, kept_hlc, kept_site, lost_value, lost_hlc,"  \
	" lost_site, lost_seq, status"

static const char *
text_or(const json_t *o, const char *key, const char *dflt)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

static void
conflicts_print(const json_t *o, bool long_form)
{
	char kept[64];
	char lost[64];
	const json_t *kv = json_object_get(o, "kept_value");
	const json_t *lv = json_object_get(o, "lost_value");

	snprintf(kept, sizeof(kept), "%s", json_is_string(kv) ? json_string_value(kv) : json_is_integer(kv) ? "" : "-");
	if (json_is_integer(kv)) {
		snprintf(kept, sizeof(kept), "%lld", (long long)json_integer_value(kv));
	}
	snprintf(lost, sizeof(lost), "%s", json_is_string(lv) ? json_string_value(lv) : "-");
	if (json_is_integer(lv)) {
		snprintf(lost, sizeof(lost), "%lld", (long long)json_integer_value(lv));
	}
	if (!long_form) {
		printf("%-5lld %-9s %-10s %s.%s  kept '%s'  lost '%s'  [%s]\n",
		    (long long)json_integer_value(json_object_get(o, "id")), text_or(o, "rule", ""),
		    text_or(o, "status", ""), text_or(o, "table", ""), text_or(o, "column", "*"), kept, lost,
		    text_or(o, "reason", ""));
		return;
	}
	printf("conflict %lld (%s)\n", (long long)json_integer_value(json_object_get(o, "id")), text_or(o, "status", ""));
	printf("  where   %s %s, column %s\n", text_or(o, "table", ""), text_or(o, "row", ""), text_or(o, "column", "(whole change)"));
	printf("  rule    %s: %s\n", text_or(o, "rule", ""), text_or(o, "reason", ""));
	printf("  kept    '%s' written by site %s\n", kept, text_or(o, "kept_site", "-"));
	printf("  lost    '%s' written by site %s", lost, text_or(o, "lost_site", "-"));
	if (json_is_integer(json_object_get(o, "lost_seq"))) {
		printf(" (its change %lld)", (long long)json_integer_value(json_object_get(o, "lost_seq")));
	}
	printf("\n");
	if (strcmp(text_or(o, "rule", ""), "authority") == 0) {
		printf("  the writer had no authority for this change; it was not applied anywhere\n");
	} else if (strcmp(text_or(o, "rule", ""), "clock") == 0) {
		printf("  the writer's clock was ahead; its change was applied with the server's bound\n");
	} else {
		printf("  to restore the lost value: ocop conflicts resolve %lld --keep lost\n",
		    (long long)json_integer_value(json_object_get(o, "id")));
	}
}

static int
conflicts_load(cli_ctx *c, long long id, json_t **out)
{
	sqlite3_stmt *st = NULL;

	*out = NULL;
	if (sqlite3_prepare_v2(sto_sqlite(c->db), "SELECT " CONFLICTS_COLS " FROM ledger WHERE id = ?1", -1, &st,
		NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*out = conflicts_row(st);
	}
	sqlite3_finalize(st);
	return *out ? OCOP_OK : OCOP_ENOENT;
}

static int
conflicts_resolve(cli_ctx *c, long long id, const char *keep)
{
	json_t *o = NULL;
	sqlite3_stmt *st = NULL;
	const char *tbl;
	const char *col;
	const char *rule;
	int rv;

	if ((rv = conflicts_load(c, id, &o)) != OCOP_OK) {
		cli_err(c, "no conflict %lld", id);
		return CLI_USAGE;
	}
	tbl = text_or(o, "table", "");
	col = text_or(o, "column", "");
	rule = text_or(o, "rule", "");
	if (strcmp(keep, "lost") == 0) {
		const sto_table *t = sto_schema_table(tbl);
		char sql[200];
		if (strcmp(rule, "authority") == 0 || strcmp(rule, "clock") == 0 || t == NULL ||
		    sto_schema_column(t, col) == NULL) {
			cli_err(c, "conflict %lld (%s) has no lost value that can be restored", id, rule);
			json_decref(o);
			return CLI_FAIL;
		}
		if ((rv = sto_begin(c->db)) != OCOP_OK) {
			json_decref(o);
			return CLI_FAIL;
		}
		/* Copy the lost value back as a new write of this site: it replicates. */
		snprintf(sql, sizeof(sql), "UPDATE %s SET %s = (SELECT lost_value FROM ledger WHERE id = ?1) WHERE id = ?2",
		    tbl, col);
		if (sqlite3_prepare_v2(sto_sqlite(c->db), sql, -1, &st, NULL) != SQLITE_OK) {
			sto_rollback(c->db);
			cli_err(c, "%s", sqlite3_errmsg(sto_sqlite(c->db)));
			json_decref(o);
			return CLI_FAIL;
		}
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, text_or(o, "row", ""), -1, SQLITE_TRANSIENT);
		if (sqlite3_step(st) != SQLITE_DONE) {
			cli_err(c, "cannot restore: %s", sqlite3_errmsg(sto_sqlite(c->db)));
			sqlite3_finalize(st);
			sto_rollback(c->db);
			json_decref(o);
			return CLI_FAIL;
		}
		sqlite3_finalize(st);
	} else if ((rv = sto_begin(c->db)) != OCOP_OK) {
		json_decref(o);
		return CLI_FAIL;
	}
	if (sqlite3_prepare_v2(sto_sqlite(c->db), "UPDATE ledger SET status = ?2 WHERE id = ?1", -1, &st, NULL) !=
	    SQLITE_OK) {
		sto_rollback(c->db);
		json_decref(o);
		return CLI_FAIL;
	}
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, strcmp(keep, "lost") == 0 ? "resolved: lost value restored" : "resolved: kept",
	    -1, SQLITE_STATIC);
	rv = sqlite3_step(st) == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
	sqlite3_finalize(st);
	if (rv != OCOP_OK || sto_commit(c->db) != OCOP_OK) {
		sto_rollback(c->db);
		json_decref(o);
		return CLI_FAIL;
	}
	printf("conflict %lld resolved (%s)\n", id, strcmp(keep, "lost") == 0 ? "lost value restored; sync to share it" : "current value kept");
	json_decref(o);
	return CLI_OK;
}

int
cmd_conflicts(int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {"json", no_argument, NULL, 'j'},
	    {"keep", required_argument, NULL, 'k'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *verb = "list";
	const char *keep = NULL;
	long long id = -1;
	int all = 0;
	int json = 0;
	cli_ctx c;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = "conflicts";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'a': all = 1; break;
		case 'j': json = 1; break;
		case 'k': keep = optarg; break;
		case 'h': conflicts_usage(stdout); return CLI_OK;
		default: return cli_bad_option(&c, opt, argv);
		}
	}
	if (optind < argc) {
		verb = argv[optind++];
	}
	if (strcmp(verb, "show") == 0 || strcmp(verb, "resolve") == 0) {
		char *end;
		if (optind >= argc || (id = strtoll(argv[optind], &end, 10)) <= 0 || *end) {
			cli_err(&c, "%s needs a conflict ID (a number from 'ocop conflicts')", verb);
			return CLI_USAGE;
		}
		optind++;
	} else if (strcmp(verb, "list") != 0) {
		cli_err(&c, "unknown action '%s' (list, show, resolve)", verb);
		return CLI_USAGE;
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (strcmp(verb, "resolve") == 0 && (keep == NULL || (strcmp(keep, "current") && strcmp(keep, "lost")))) {
		cli_err(&c, "resolve needs --keep current or --keep lost");
		return CLI_USAGE;
	}
	if ((rv = cli_open(&c, "conflicts", false)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	if (strcmp(verb, "resolve") == 0) {
		rv = conflicts_resolve(&c, id, keep);
	} else if (strcmp(verb, "show") == 0) {
		json_t *o = NULL;
		if (conflicts_load(&c, id, &o) != OCOP_OK) {
			cli_err(&c, "no conflict %lld", id);
			rv = CLI_USAGE;
		} else {
			if (json) {
				cli_json_print(o);
			} else {
				conflicts_print(o, true);
				json_decref(o);
			}
			rv = CLI_OK;
		}
	} else {
		sqlite3_stmt *st = NULL;
		json_t *arr = json_array();
		size_t i;
		sqlite3_prepare_v2(sto_sqlite(c.db),
		    all ? "SELECT " CONFLICTS_COLS " FROM ledger ORDER BY id"
			: "SELECT " CONFLICTS_COLS " FROM ledger WHERE status = 'open' ORDER BY id",
		    -1, &st, NULL);
		while (sqlite3_step(st) == SQLITE_ROW) {
			json_array_append_new(arr, conflicts_row(st));
		}
		sqlite3_finalize(st);
		if (json) {
			cli_json_print(arr);
		} else {
			if (json_array_size(arr) == 0) {
				printf("no %sconflicts\n", all ? "" : "open ");
			}
			for (i = 0; i < json_array_size(arr); i++) {
				conflicts_print(json_array_get(arr, i), false);
			}
			json_decref(arr);
		}
		rv = CLI_OK;
	}
	cli_close(&c);
	return rv;
}
