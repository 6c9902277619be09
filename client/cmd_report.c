/*
 * cmd_report.c: `ocop report`: the tables provincial OCOP offices publish, as
 * text, JSON, CSV or XLSX for a spreadsheet. Option parsing and printing only;
 * the tables are built by common/ocop/report.c, the workbook written by
 * common/ocop/workbook.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/council.h"
#include "common/ocop/report.h"
#include "common/ocop/rubric.h"
#include "common/ocop/units.h"
#include "common/ocop/workbook.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

#define REPORT_MAX_TABLES 32 /* --table keys on one command line */

static const char usage_text[] =
    "usage: ocop report [--json] [--csv FILE|-] [--xlsx FILE] [--table KEY]...\n"
    "                   [--round YYYY/N] [--today YYYY-MM-DD]\n"
    "                   [--level commune|district|province] [--current]\n"
    "\n"
    "Prints the published OCOP tables: the summary paragraph (in Vietnamese, as\n"
    "provinces publish it), products evaluated by star including 1★ and 2★, products\n"
    "recognised by star (potential 5★ is a status, not a star), distinct subjects by\n"
    "kind and their products, by subject type, by unit, by product group (the 6 ngành)\n"
    "and by product set (26), by round, by evaluation type (new, upgrade,\n"
    "re-evaluation), the list of recognised products (the national-database export),\n"
    "candidates scoring 90 or more, certificates expiring within 180 days.\n"
    "Without --round the counts are of products holding a valid certificate on\n"
    "--today (default: today); with --round, of the recognitions of that round.\n"
    "\n"
    "--level groups the by-unit table (and the summary's list): commune (default) is\n"
    "each unit as recorded in the dossier, district the former district (before\n"
    "2025-07-01), province the province; --current maps units to today's units\n"
    "through the 2025 succession (83 Bến Tre -> 86 Vĩnh Long; not with district).\n"
    "The table's title and the JSON's unit_view say which view it is.\n"
    "--table KEY (repeat, or KEY,KEY) keeps only those tables: summary,\n"
    "evaluated_by_star, by_star, subjects_by_type, by_subject_type, by_unit,\n"
    "by_product_group, by_product_set, by_round, by_evaluation_type, recognised,\n"
    "candidates, expiring.\n"
    "--csv writes UTF-8 with a byte-order mark and CRLF line ends ('-' for standard\n"
    "output); --xlsx writes a workbook with one sheet per table.\n"
    "The national-database export: ocop report --table recognised --csv FILE (or --json).\n";

static int
report_usage(FILE *out, int code)
{
	fputs(usage_text, out);
	return code;
}

/* Width of UTF-8 text in code points (good enough to line up a table). */
static int
text_width(const char *s)
{
	int w = 0;

	for (; *s; s++) {
		w += ((unsigned char)*s & 0xC0) != 0x80;
	}
	return w;
}

static void
cell_text(const ocp_report_cell *x, char *buf, size_t cap)
{
	switch (x->kind) {
	case OCP_CELL_TEXT:
		snprintf(buf, cap, "%s", x->s);
		break;
	case OCP_CELL_INT:
		snprintf(buf, cap, "%lld", (long long)x->i);
		break;
	case OCP_CELL_POINTS:
		ocp_points_format(buf, cap, x->i);
		break;
	case OCP_CELL_BOOL:
		snprintf(buf, cap, "%s", x->i ? "yes" : "no");
		break;
	default:
		snprintf(buf, cap, "-");
		break;
	}
}

static void
report_print_table(const ocp_report_table *t)
{
	int width[16];
	char buf[512];
	size_t ncols = t->ncols < 16 ? t->ncols : 16;
	size_t r;
	size_t c;

	printf("%s\n", t->title);
	for (c = 0; c < ncols; c++) {
		width[c] = text_width(t->cols[c]);
		for (r = 0; r < t->nrows; r++) {
			int w;

			cell_text(ocp_report_cell_at(t, r, c), buf, sizeof(buf));
			w = text_width(buf);
			width[c] = w > width[c] ? w : width[c];
		}
	}
	for (c = 0; c < ncols; c++) {
		printf("%s%s%*s", c ? "  " : "  ", t->cols[c], width[c] - text_width(t->cols[c]), "");
	}
	putchar('\n');
	if (t->nrows == 0) {
		printf("  (none)\n");
	}
	for (r = 0; r < t->nrows; r++) {
		for (c = 0; c < ncols; c++) {
			cell_text(ocp_report_cell_at(t, r, c), buf, sizeof(buf));
			printf("  %s%*s", buf, width[c] - text_width(buf), "");
		}
		putchar('\n');
	}
	putchar('\n');
}

/* Parse "YYYY/N". */
static bool
parse_round(const char *s, int *year, int *no)
{
	char *end;
	long y = strtol(s, &end, 10);
	long n;

	if (end == s || *end != '/' || y < 1900 || y > 9999) {
		return false;
	}
	s = end + 1;
	n = strtol(s, &end, 10);
	if (end == s || *end != 0 || n < 1 || n > 99) {
		return false;
	}
	*year = (int)y;
	*no = (int)n;
	return true;
}

/*
 * Add the comma-separated table keys of arg to *tables (a com_malloc'd
 * comma list). Prints its own error.
 */
static bool
report_add_tables(const cli_ctx *c, char **tables, const char *arg)
{
	size_t old = *tables ? strlen(*tables) : 0;
	char *g;

	if (arg[0] == '\0' || arg[0] == ',' || arg[strlen(arg) - 1] == ',' || strstr(arg, ",,") != NULL) {
		cli_err(c, "--table needs table keys (like recognised or by_star,by_unit), not '%s'", arg);
		return false;
	}
	g = com_realloc(*tables, old + strlen(arg) + 2);
	if (g == NULL) {
		cli_err(c, "out of memory");
		return false;
	}
	if (old > 0) {
		g[old++] = ',';
	}
	memcpy(g + old, arg, strlen(arg) + 1);
	*tables = g;
	return true;
}

/* Split the comma list in place into keys; false when there are too many. */
static bool
report_split_tables(char *tables, const char **keys, size_t cap, size_t *n)
{
	char *p = tables;

	*n = 0;
	while (p != NULL && *p != '\0') {
		char *comma = strchr(p, ',');

		if (*n == cap) {
			return false;
		}
		keys[(*n)++] = p;
		if (comma != NULL) {
			*comma = '\0';
		}
		p = comma ? comma + 1 : NULL;
	}
	return true;
}

/* Write the CSV file (or standard output for "-"). */
static int
report_csv(const cli_ctx *c, const ocp_report *rep, const char *csv, const char *const *keys, size_t nkeys)
{
	FILE *f = strcmp(csv, "-") == 0 ? stdout : fopen(csv, "wb");
	int rv;

	if (f == NULL) {
		cli_err(c, "cannot write %s: %s", csv, strerror(errno));
		return OCOP_EIO;
	}
	rv = ocp_report_write_csv_tables(rep, f, keys, nkeys);
	if (f != stdout && fclose(f) != 0 && rv == OCOP_OK) {
		rv = OCOP_EIO;
	}
	if (rv != OCOP_OK) {
		cli_err(c, "cannot write %s: %s", csv, ocop_strerror(rv));
	}
	return rv;
}

int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"csv", required_argument, NULL, 'c'},
	    {"round", required_argument, NULL, 'r'},
	    {"today", required_argument, NULL, 't'},
	    {"xlsx", required_argument, NULL, 'x'},
	    {"table", required_argument, NULL, 'T'},
	    {"level", required_argument, NULL, 'l'},
	    {"current", no_argument, NULL, 'C'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *keys[REPORT_MAX_TABLES];
	ocp_council *council = NULL;
	ocp_units *units = NULL;
	ocp_report *rep = NULL;
	ocp_report_opts ro;
	char *tables = NULL;
	const char *csv = NULL;
	const char *xlsx = NULL;
	const char *today = NULL;
	bool json = false;
	size_t nkeys = 0;
	size_t bad = 0;
	cli_ctx ctx;
	size_t i;
	int opt;
	int rv = OCOP_OK;
	int code = CLI_USAGE;

	memset(&ctx, 0, sizeof(ctx));
	memset(&ro, 0, sizeof(ro));
	ctx.cmd = "report";
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'c':
			csv = optarg;
			break;
		case 'x':
			xlsx = optarg;
			break;
		case 'T':
			if (!report_add_tables(&ctx, &tables, optarg)) {
				goto usage;
			}
			break;
		case 'l':
			if (!ocp_units_level_parse(optarg, &ro.unit_level)) {
				cli_err(&ctx, "--level must be commune, district or province, not '%s'", optarg);
				goto usage;
			}
			break;
		case 'C':
			ro.unit_current = true;
			break;
		case 'r':
			if (!parse_round(optarg, &ro.round_year, &ro.round_no)) {
				cli_err(&ctx, "--round must look like 2026/1 (year/round), not '%s'", optarg);
				goto usage;
			}
			break;
		case 't':
			today = optarg;
			if (ocp_council_date_parse(optarg, &ro.today) != OCOP_OK) {
				cli_err(&ctx, "--today must be a date (YYYY-MM-DD), not '%s'", optarg);
				goto usage;
			}
			break;
		case 'h':
			com_free(tables);
			return report_usage(stdout, CLI_OK);
		default:
			cli_bad_option(&ctx, opt, argv);
			goto usage;
		}
	}
	if (optind < argc) {
		cli_err(&ctx, "unexpected argument '%s'", argv[optind]);
		goto usage;
	}
	if (json && csv != NULL && strcmp(csv, "-") == 0) {
		cli_err(&ctx, "--json and --csv - would both write to standard output; choose one");
		goto usage;
	}
	if (ro.unit_level == OCP_LEVEL_DISTRICT && ro.unit_current) {
		cli_err(&ctx, "districts were abolished on 2025-07-01: --level district shows the former "
			      "districts only; drop --current, or use --level commune or province with it");
		goto usage;
	}
	if (!report_split_tables(tables, keys, REPORT_MAX_TABLES, &nkeys)) {
		cli_err(&ctx, "too many --table keys (at most %d)", REPORT_MAX_TABLES);
		goto usage;
	}
	if ((rv = cli_open(&ctx, "report", false)) != OCOP_OK) {
		com_free(tables);
		return cli_exit_code(rv);
	}
	if ((rv = cli_units_open(&ctx, &units)) != OCOP_OK) {
		goto out;
	}
	ro.units = units;
	if ((rv = ocp_council_open(&council, ctx.db, ctx.data_dir)) != OCOP_OK) {
		cli_err(&ctx, "%s", ocop_strerror(rv));
		goto out;
	}
	if (today == NULL) {
		ro.today = ocp_council_today(council);
	}
	rv = ocp_report_build(&rep, council, &ro);
	if (rv != OCOP_OK) {
		cli_err(&ctx, "cannot build the report: %s", ocop_strerror(rv));
		goto out;
	}
	if (!ocp_report_keys_valid(rep, keys, nkeys, &bad)) {
		cli_err(&ctx, "'%s' is not a table of the report (see ocop report --help)", keys[bad]);
		rv = OCOP_EINPUT;
		goto out;
	}
	if (csv != NULL && (rv = report_csv(&ctx, rep, csv, keys, nkeys)) != OCOP_OK) {
		goto out;
	}
	if (xlsx != NULL) {
		char err[1200];

		if ((rv = ocp_workbook_write(rep, xlsx, keys, nkeys, err, sizeof(err))) != OCOP_OK) {
			cli_err(&ctx, "cannot write the workbook: %s", err);
			goto out;
		}
	}
	if (json) {
		json_t *j = ocp_report_json_tables(rep, keys, nkeys);

		if (j == NULL) {
			cli_err(&ctx, "out of memory");
			rv = OCOP_ENOMEM;
			goto out;
		}
		cli_json_print(j);
	} else if (csv == NULL && xlsx == NULL) {
		for (i = 0; i < ocp_report_table_count(rep); i++) {
			const ocp_report_table *t = ocp_report_table_at(rep, i);

			for (bad = 0; bad < nkeys && strcmp(keys[bad], t->key) != 0; bad++) {
			}
			if (nkeys == 0 || bad < nkeys) {
				report_print_table(t);
			}
		}
	}
out:
	ocp_report_free(rep);
	ocp_council_close(council);
	ocp_units_free(units);
	cli_close(&ctx);
	com_free(tables);
	return cli_exit_code(rv);
usage:
	com_free(tables);
	fputs("Run 'ocop report --help' for the options.\n", stderr);
	return code;
}
