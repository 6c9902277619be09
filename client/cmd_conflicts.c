/*
 * cmd_conflicts.c: `ocop conflicts`: the conflict ledger of this replica.
 *
 *   ocop conflicts [list] [--all] [--json]   open entries (or all)
 *   ocop conflicts show ID [--json]          one entry, explained
 *   ocop conflicts resolve ID --keep current|lost [--note TEXT]
 *
 * Each line names the row as a clerk knows it (which subject, which
 * dossier), not only its table. Resolving writes a replicated settlement, so
 * the same entry shows settled on every replica that holds it. With --keep
 * lost the lost value is written again as a new change of this site, judged
 * by the same rules as any write: a value this site may not write is refused
 * here at once. A change the server refused has no value that may stand; it
 * can only be acknowledged (--keep current).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/label.h"
#include "common/store/ledger.h"
#include "ocop_err.h"

static void
conflicts_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocop conflicts [list] [--all] [--json]\n"
	    "       ocop conflicts show ID [--json]\n"
	    "       ocop conflicts resolve ID --keep current|lost [--note TEXT]\n"
	    "\nThe conflict ledger: every value that lost a merge (concurrent edit, workflow\n"
	    "order, deleted row) and every change the server refused, with both values,\n"
	    "both versions and the rule that decided (lww, tombstone, workflow, clock; a\n"
	    "refusal's rule: authority, scope, workflow, immutable, type, identity).\n"
	    "Resolving is shared with every replica at the next sync.\n");
}

static json_t *
conflicts_value(const proto_value *v)
{
	switch (v->type) {
	case PROTO_V_INT:
		return json_integer(v->i);
	case PROTO_V_REAL:
		return json_real(v->d);
	case PROTO_V_TEXT:
		return json_stringn((const char *)v->p, v->len);
	case PROTO_V_BLOB:
		return json_string("(binary)");
	default:
		return json_null();
	}
}

typedef struct conflicts_walk {
	cli_ctx *c;    /* the command */
	json_t *arr;   /* OUT: entries as JSON */
} conflicts_walk;

static int
conflicts_collect(void *arg, const sto_ledger_entry *e)
{
	conflicts_walk *w = arg;
	char label[512];
	json_t *o = json_object();

	ocp_row_label(w->c->db, e->tbl, e->row, label, sizeof(label));
	json_object_set_new(o, "id", json_integer(e->id));
	json_object_set_new(o, "table", json_string(e->tbl));
	json_object_set_new(o, "row", json_string(e->row));
	json_object_set_new(o, "label", json_string(label));
	json_object_set_new(o, "column", e->col[0] ? json_string(e->col) : json_null());
	json_object_set_new(o, "rule", json_string(e->rule));
	json_object_set_new(o, "refused", json_boolean(e->refused));
	json_object_set_new(o, "reason", json_string(e->reason));
	json_object_set_new(o, "kept_value", conflicts_value(&e->kept));
	json_object_set_new(o, "kept_hlc", e->kept_hlc ? json_integer((json_int_t)e->kept_hlc) : json_null());
	json_object_set_new(o, "kept_site", e->kept_site[0] ? json_string(e->kept_site) : json_null());
	json_object_set_new(o, "lost_value", conflicts_value(&e->lost));
	json_object_set_new(o, "lost_hlc", e->lost_hlc ? json_integer((json_int_t)e->lost_hlc) : json_null());
	json_object_set_new(o, "lost_site", e->lost_site[0] ? json_string(e->lost_site) : json_null());
	json_object_set_new(o, "lost_seq", e->lost_seq ? json_integer((json_int_t)e->lost_seq) : json_null());
	json_object_set_new(o, "status", json_string(e->status));
	json_array_append_new(w->arr, o);
	return 0;
}

static const char *
text_or(const json_t *o, const char *key, const char *dflt)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : dflt;
}

static void
value_text(const json_t *v, char *out, size_t cap)
{
	if (json_is_string(v)) {
		snprintf(out, cap, "%s", json_string_value(v));
	} else if (json_is_integer(v)) {
		snprintf(out, cap, "%lld", (long long)json_integer_value(v));
	} else {
		snprintf(out, cap, "-");
	}
}

static void
conflicts_print(const json_t *o, bool long_form)
{
	char kept[64];
	char lost[64];
	long long id = (long long)json_integer_value(json_object_get(o, "id"));
	const char *rule = text_or(o, "rule", "");
	bool refused = json_is_true(json_object_get(o, "refused"));

	value_text(json_object_get(o, "kept_value"), kept, sizeof(kept));
	value_text(json_object_get(o, "lost_value"), lost, sizeof(lost));
	if (!long_form) {
		printf("%-5lld %-9s %-18s %s%s%s: ", id, rule, text_or(o, "status", ""), text_or(o, "label", ""),
		    json_is_string(json_object_get(o, "column")) ? ", " : "", text_or(o, "column", ""));
		if (refused) {
			printf("refused  [%s]\n", text_or(o, "reason", ""));
		} else {
			printf("kept '%s'  lost '%s'  [%s]\n", kept, lost, text_or(o, "reason", ""));
		}
		return;
	}
	printf("conflict %lld (%s)\n", id, text_or(o, "status", ""));
	printf("  where   %s, column %s\n", text_or(o, "label", ""), text_or(o, "column", "(whole change)"));
	printf("  row     %s %s\n", text_or(o, "table", ""), text_or(o, "row", ""));
	printf("  rule    %s%s: %s\n", rule, refused ? " (refused)" : "", text_or(o, "reason", ""));
	if (!refused) {
		printf("  kept    '%s' written by site %s\n", kept, text_or(o, "kept_site", "-"));
	}
	printf("  %s    '%s' written by site %s", refused ? "sent" : "lost", lost, text_or(o, "lost_site", "-"));
	if (json_is_integer(json_object_get(o, "lost_seq"))) {
		printf(" (its change %lld)", (long long)json_integer_value(json_object_get(o, "lost_seq")));
	}
	printf("\n");
	if (refused) {
		printf("  the change was not applied anywhere; acknowledge it with: ocop conflicts resolve %lld --keep current\n",
		    id);
	} else if (strcmp(rule, "clock") == 0) {
		printf("  the writer's clock was ahead; its change was applied with the server's bound\n");
	} else if (strcmp(text_or(o, "status", ""), "open") == 0) {
		printf("  to restore the lost value: ocop conflicts resolve %lld --keep lost\n", id);
	}
}

static int
conflicts_resolve(cli_ctx *c, long long id, const char *keep, const char *note)
{
	int rv = sto_ledger_resolve(c->db, id, strcmp(keep, "lost") == 0, note);

	if (rv == OCOP_ENOENT) {
		cli_err(c, "no conflict %lld", id);
		return CLI_USAGE;
	}
	if (rv != OCOP_OK) {
		cli_err(c, "conflict %lld: %s", id, sto_errmsg(c->db));
		return CLI_FAIL;
	}
	printf("conflict %lld resolved (%s); sync to share it\n", id,
	    strcmp(keep, "lost") == 0 ? "lost value restored" : "current value kept");
	return CLI_OK;
}

int
cmd_conflicts(int argc, char **argv)
{
	static const struct option opts[] = {{"all", no_argument, NULL, 'a'}, {"json", no_argument, NULL, 'j'},
	    {"keep", required_argument, NULL, 'k'}, {"note", required_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *verb = "list";
	const char *keep = NULL;
	const char *note = NULL;
	long long id = -1;
	int all = 0;
	int json = 0;
	conflicts_walk w;
	cli_ctx c;
	size_t i;
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
		case 'n': note = optarg; break;
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
		rv = conflicts_resolve(&c, id, keep, note);
		cli_close(&c);
		return rv;
	}
	w.c = &c;
	w.arr = json_array();
	rv = sto_ledger_each(c.db, strcmp(verb, "show") == 0 ? id : 0, !all, conflicts_collect, &w);
	if (rv == OCOP_ENOENT) {
		cli_err(&c, "no conflict %lld", id);
		json_decref(w.arr);
		cli_close(&c);
		return CLI_USAGE;
	}
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", sto_errmsg(c.db));
		json_decref(w.arr);
		cli_close(&c);
		return CLI_FAIL;
	}
	if (json) {
		cli_json_print(strcmp(verb, "show") == 0 ? json_incref(json_array_get(w.arr, 0)) : json_incref(w.arr));
	} else if (strcmp(verb, "show") == 0) {
		conflicts_print(json_array_get(w.arr, 0), true);
	} else {
		if (json_array_size(w.arr) == 0) {
			printf("no %sconflicts\n", all ? "" : "open ");
		}
		for (i = 0; i < json_array_size(w.arr); i++) {
			conflicts_print(json_array_get(w.arr, i), false);
		}
	}
	json_decref(w.arr);
	cli_close(&c);
	return CLI_OK;
}
