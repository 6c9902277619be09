/*
 * record.c: the record commands' common verbs and usage (record.h). Options
 * are built at run time from the entity's fields; the registry
 * (common/ocop/registry.c) checks and writes, with the same table.
 */
#include "client/record.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/registry.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

#define REC_MAX_FIELDS 32 /* fields of one entity, and values of one command line */
#define REC_WIDTH 78      /* usage lines wrap before this column */

/* ===== Usage ===== */

/* Append " WORD" to a usage line, wrapping under `indent` columns past REC_WIDTH. */
static void
usage_word(FILE *out, size_t *col, size_t indent, const char *word)
{
	size_t n = strlen(word) + 1;

	if (*col + n > REC_WIDTH) {
		fprintf(out, "\n%*s", (int)indent, "");
		*col = indent;
	}
	fprintf(out, " %s", word);
	*col += n;
}

/* The generated usage of one common verb (after "ocop ENTITY"). */
static void
usage_verb(const cli_record *r, FILE *out, const char *verb, bool first)
{
	const ocp_entity *e = r->e;
	char lead[64];
	char word[96];
	size_t col;
	size_t indent;
	size_t i;
	int pass;

	snprintf(lead, sizeof(lead), "%s ocop %s %s", first ? "usage:" : "      ", e->name, verb);
	fputs(lead, out);
	col = strlen(lead);
	indent = strlen("usage: ocop ") + strlen(e->name) + strlen(verb) + 1;
	if (strcmp(verb, "add") == 0) {
		/* Required fields first, then the optional ones in brackets. */
		for (pass = 0; pass < 2; pass++) {
			for (i = 0; i < e->nfields; i++) {
				const ocp_entity_field *f = &e->fields[i];
				bool req = (f->flags & OCP_EF_REQ) != 0;

				if ((f->flags & OCP_EF_ADD) == 0 || req != (pass == 0)) {
					continue;
				}
				snprintf(word, sizeof(word), req ? "--%s %s" : "[--%s %s]", f->opt, f->arg);
				usage_word(out, &col, indent, word);
			}
		}
	} else if (strcmp(verb, "set") == 0) {
		snprintf(word, sizeof(word), "%s", strcmp(e->key, "code") == 0 ? "CODE" : "ID");
		usage_word(out, &col, indent, word);
		for (i = 0; i < e->nfields; i++) {
			if ((e->fields[i].flags & OCP_EF_SET) != 0) {
				snprintf(word, sizeof(word), "[--%s %s]", e->fields[i].opt, e->fields[i].arg);
				usage_word(out, &col, indent, word);
			}
		}
	} else if (strcmp(verb, "list") == 0) {
		for (i = 0; i < e->nfields; i++) {
			if ((e->fields[i].flags & OCP_EF_FILTER) != 0) {
				snprintf(word, sizeof(word), "[--%s %s]", e->fields[i].opt, e->fields[i].arg);
				usage_word(out, &col, indent, word);
			}
		}
		usage_word(out, &col, indent, "[--json]");
	} else if (strcmp(verb, "show") == 0) {
		usage_word(out, &col, indent, strcmp(e->key, "code") == 0 ? "CODE" : "ID");
		usage_word(out, &col, indent, "[--json]");
	} else if (strcmp(verb, "delete") == 0) {
		usage_word(out, &col, indent, strcmp(e->key, "code") == 0 ? "CODE" : "ID");
	}
	fputc('\n', out);
}

int
cli_record_usage(const cli_record *r, FILE *out, int rc)
{
	const ocp_entity *e = r->e;
	bool has_set = false;
	size_t width = 0;
	size_t i;

	for (i = 0; i < r->nverbs; i++) {
		if (r->verbs[i].usage != NULL) {
			fprintf(out, "%s ocop %s %s\n", i == 0 ? "usage:" : "      ", e->name, r->verbs[i].usage);
		} else {
			usage_verb(r, out, r->verbs[i].name, i == 0);
		}
		has_set |= strcmp(r->verbs[i].name, "set") == 0;
	}
	fprintf(out, "\n%s\n'add' prints the new %s's id.\n\nFields:\n", e->about, e->name);
	for (i = 0; i < e->nfields; i++) {
		size_t w = strlen(e->fields[i].opt) + strlen(e->fields[i].arg) + 3;

		width = w > width ? w : width;
	}
	for (i = 0; i < e->nfields; i++) {
		const ocp_entity_field *f = &e->fields[i];
		char head[96];
		unsigned w = f->flags & (OCP_EF_REQ | OCP_EF_ADD | OCP_EF_SET);

		snprintf(head, sizeof(head), "--%s %s", f->opt, f->arg);
		fprintf(out, "  %-*s  %s%s\n", (int)width, head, f->help,
		    w == (OCP_EF_REQ | OCP_EF_ADD)	       ? " (required; never changes)"
		    : (w & OCP_EF_REQ) != 0		       ? " (required)"
		    : w == OCP_EF_ADD			       ? " (never changes)"
		    : (w & (OCP_EF_ADD | OCP_EF_SET)) == 0 ? " (list filter)"
							       : "");
	}
	if (has_set) {
		fputs("\n'set' changes the fields it is given, checked as 'add' checks them; an empty\n"
		      "value clears an optional one. A filter on a unit code also lists the units below it.\n",
		    out);
	}
	if (r->more != NULL) {
		fprintf(out, "\n%s", r->more);
	}
	return rc;
}

/* ===== Options from the table ===== */

/*
 * Parse argv's options into fields f (those of e whose flags have `want`),
 * with --json and --help; positional arguments go to pos (at most npos).
 * Returns -1 to go on, or the exit code to return.
 */
static int
rec_parse(const cli_record *r, cli_ctx *c, int argc, char **argv, unsigned want, bool json_ok, bool *json,
    ocp_field *f, size_t *n, const char **pos, size_t npos, size_t *got)
{
	const ocp_entity *e = r->e;
	struct option opts[REC_MAX_FIELDS + 3];
	const char *cols[REC_MAX_FIELDS];
	size_t k = 0;
	size_t i;
	int li = 0;
	int opt;

	for (i = 0; i < e->nfields && k < REC_MAX_FIELDS; i++) {
		if ((e->fields[i].flags & want) != 0) {
			opts[k].name = e->fields[i].opt;
			opts[k].has_arg = required_argument;
			opts[k].flag = NULL;
			opts[k].val = 0;
			cols[k++] = e->fields[i].col;
		}
	}
	opts[k].name = "json";
	opts[k].has_arg = no_argument;
	opts[k].flag = NULL;
	opts[k++].val = 'j';
	opts[k].name = "help";
	opts[k].has_arg = no_argument;
	opts[k].flag = NULL;
	opts[k++].val = 'h';
	memset(&opts[k], 0, sizeof(opts[k]));
	*n = 0;
	*got = 0;
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, &li)) != -1) {
		if (opt == 'h') {
			return cli_record_usage(r, stdout, CLI_OK);
		}
		if (opt == 'j' && json_ok) {
			*json = true;
			continue;
		}
		if (opt != 0) {
			return cli_bad_option(c, opt == 'j' ? '?' : opt, argv);
		}
		for (i = 0; i < *n; i++) {
			if (strcmp(f[i].col, cols[li]) == 0) {
				cli_err(c, "--%s is given twice", opts[li].name);
				return CLI_USAGE;
			}
		}
		f[*n].col = cols[li];
		f[(*n)++].val = optarg;
	}
	while (optind < argc && *got < npos) {
		pos[(*got)++] = argv[optind++];
	}
	if (optind < argc) {
		cli_err(c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	return -1;
}

/* Open the replica and the registry; prints its own error. */
static int
rec_open(cli_ctx *c, ocp_reg **reg)
{
	char err[512];
	int rv = cli_open(c, c->cmd, false);

	if (rv == OCOP_OK && (rv = ocp_reg_open(reg, c->db, c->data_dir, err, sizeof(err))) != OCOP_OK) {
		cli_err(c, "%s", err);
		cli_close(c);
	}
	return rv;
}

/* The context of verb argv[0] of r's command, its name in the buffer cmd. */
static void
rec_ctx(const cli_record *r, cli_ctx *c, char *cmd, size_t cap, const char *verb)
{
	memset(c, 0, sizeof(*c));
	snprintf(cmd, cap, "%s %s", r->e->name, verb);
	c->cmd = cmd;
}

/* The one id (or code) a verb needs. Prints its own error. */
static bool
rec_key(const cli_record *r, cli_ctx *c, size_t got)
{
	if (got == 0) {
		cli_err(c, "which %s? give its %s", r->e->name, r->e->key);
		return false;
	}
	return true;
}

/* ===== The common verbs ===== */

/* add and set: the fields given, written by the registry. */
static int
rec_write(const cli_record *r, int argc, char **argv, bool add)
{
	ocp_field f[REC_MAX_FIELDS];
	ocp_reg *reg = NULL;
	const char *key = NULL;
	char newid[37];
	char cmd[64];
	bool json = false;
	cli_ctx c;
	size_t n = 0;
	size_t got = 0;
	int rv;

	rec_ctx(r, &c, cmd, sizeof(cmd), argv[0]);
	if ((rv = rec_parse(r, &c, argc, argv, add ? OCP_EF_ADD : OCP_EF_SET, false, &json, f, &n, &key,
		 add ? 0 : 1, &got)) >= 0) {
		return rv;
	}
	if (!add && !rec_key(r, &c, got)) {
		return CLI_USAGE;
	}
	if (!add && n == 0) {
		cli_err(&c, "nothing to change: give the fields to set (see 'ocop %s --help')", r->e->name);
		return CLI_USAGE;
	}
	if ((rv = rec_open(&c, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = add ? ocp_reg_add(reg, r->e->name, f, n, newid) : ocp_reg_set(reg, r->e->name, key, f, n);
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
	} else {
		printf("%s\n", add ? newid : key);
	}
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_input(rv);
}

int
cli_record_add(const cli_record *r, int argc, char **argv)
{
	return rec_write(r, argc, argv, true);
}

int
cli_record_set(const cli_record *r, int argc, char **argv)
{
	return rec_write(r, argc, argv, false);
}

int
cli_record_list(const cli_record *r, int argc, char **argv)
{
	return cli_record_list_filtered(r, argc, argv, NULL, 0);
}

int
cli_record_list_filtered(const cli_record *r, int argc, char **argv, const ocp_field *extra, size_t nextra)
{
	ocp_field f[REC_MAX_FIELDS];
	ocp_reg *reg = NULL;
	json_t *v = NULL;
	const char *none = NULL;
	char cmd[64];
	bool json = false;
	cli_ctx c;
	size_t n = 0;
	size_t got = 0;
	size_t i;
	int rv;

	rec_ctx(r, &c, cmd, sizeof(cmd), argv[0]);
	if ((rv = rec_parse(r, &c, argc, argv, OCP_EF_FILTER, true, &json, f, &n, &none, 0, &got)) >= 0) {
		return rv;
	}
	for (i = 0; i < nextra; i++) {
		if (n == REC_MAX_FIELDS) {
			cli_err(&c, "too many filters");
			return CLI_USAGE;
		}
		f[n++] = extra[i];
	}
	if ((rv = rec_open(&c, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_reg_list(reg, r->e->name, f, n, &v);
	for (i = 0; rv == OCOP_OK && r->annotate != NULL && i < json_array_size(v); i++) {
		r->annotate(&c, json_array_get(v, i));
	}
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
	} else if (json) {
		cli_json_print(json_incref(v));
	} else {
		const char *cols[REC_MAX_FIELDS + 1];
		size_t ncols = 0;

		for (ncols = 0; ncols < r->e->nlist_cols && ncols < REC_MAX_FIELDS; ncols++) {
			cols[ncols] = r->e->list_cols[ncols];
		}
		if (r->extra_col != NULL) {
			cols[ncols++] = r->extra_col;
		}
		for (i = 0; i < json_array_size(v); i++) {
			cli_print_row(json_array_get(v, i), cols, ncols);
		}
	}
	json_decref(v);
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_input(rv);
}

/* show and delete: one id (or code). */
static int
rec_one(const cli_record *r, int argc, char **argv, bool del)
{
	ocp_reg *reg = NULL;
	const char *key = NULL;
	json_t *v = NULL;
	char cmd[64];
	bool json = false;
	cli_ctx c;
	size_t n = 0;
	size_t got = 0;
	int rv;

	rec_ctx(r, &c, cmd, sizeof(cmd), argv[0]);
	if ((rv = rec_parse(r, &c, argc, argv, 0, !del, &json, NULL, &n, &key, 1, &got)) >= 0) {
		return rv;
	}
	if (!rec_key(r, &c, got)) {
		return CLI_USAGE;
	}
	if ((rv = rec_open(&c, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = del ? ocp_reg_delete(reg, r->e->name, key) : ocp_reg_get(reg, r->e->name, key, &v);
	if (rv == OCOP_OK && !del && r->annotate != NULL) {
		r->annotate(&c, v);
	}
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
	} else if (del) {
		printf("%s\n", key);
	} else if (json) {
		cli_json_print(json_incref(v));
	} else {
		cli_print_object(v);
	}
	json_decref(v);
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_input(rv);
}

int
cli_record_show(const cli_record *r, int argc, char **argv)
{
	return rec_one(r, argc, argv, false);
}

int
cli_record_delete(const cli_record *r, int argc, char **argv)
{
	return rec_one(r, argc, argv, true);
}

/* ===== Dispatch ===== */

int
cli_record_main(const cli_record *r, int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		return cli_record_usage(r, stderr, CLI_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
		return cli_record_usage(r, stdout, CLI_OK);
	}
	for (i = 0; i < r->nverbs; i++) {
		if (strcmp(argv[1], r->verbs[i].name) == 0) {
			return r->verbs[i].fn(r, argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "ocop %s: '%s' is not a %s command (", r->e->name, argv[1], r->e->name);
	for (i = 0; i < r->nverbs; i++) {
		fprintf(stderr, "%s%s", i ? ", " : "", r->verbs[i].name);
	}
	fputs(")\n", stderr);
	return CLI_USAGE;
}
