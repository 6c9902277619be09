/*
 * cmd_report.c: `ocop report`: the tables provincial OCOP offices publish, as
 * text, JSON or CSV for a spreadsheet. Option parsing and printing only; the
 * tables are built by common/ocop/report.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/council.h"
#include "common/ocop/report.h"
#include "common/ocop/rubric.h"
#include "ocop_err.h"

static const char usage_text[] =
    "usage: ocop report [--json] [--csv FILE|-] [--round YYYY/N] [--today YYYY-MM-DD]\n"
    "\n"
    "Prints the published OCOP tables: products by star (and potential 5★ as a status,\n"
    "not a star), by subject type, by product group (the 6 ngành), by unit, by round,\n"
    "by evaluation type (new, upgrade, re-evaluation); candidates scoring 90 or more\n"
    "with their scores; certificates expiring within 180 days (re-evaluation window).\n"
    "Without --round the counts are of products holding a valid certificate on\n"
    "--today (default: today); with --round, of the recognitions of that round.\n"
    "--csv writes UTF-8 with a byte-order mark and CRLF line ends, for spreadsheets\n"
    "('-' for standard output).\n";

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

int
cmd_report(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"csv", required_argument, NULL, 'c'},
	    {"round", required_argument, NULL, 'r'},
	    {"today", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	ocp_council *council = NULL;
	ocp_report *rep = NULL;
	ocp_report_opts ro;
	const char *csv = NULL;
	const char *today = NULL;
	bool json = false;
	cli_ctx ctx;
	size_t i;
	int opt;
	int rv;

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
		case 'r':
			if (!parse_round(optarg, &ro.round_year, &ro.round_no)) {
				cli_err(&ctx, "--round must look like 2026/1 (year/round), not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case 't':
			today = optarg;
			if (ocp_council_date_parse(optarg, &ro.today) != OCOP_OK) {
				cli_err(&ctx, "--today must be a date (YYYY-MM-DD), not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case 'h':
			return report_usage(stdout, CLI_OK);
		case ':':
			cli_err(&ctx, "option %s needs a value", argv[optind - 1]);
			return report_usage(stderr, CLI_USAGE);
		default:
			cli_err(&ctx, "unknown option %s", argv[optind - 1]);
			return report_usage(stderr, CLI_USAGE);
		}
	}
	if (optind < argc) {
		cli_err(&ctx, "unexpected argument '%s'", argv[optind]);
		return report_usage(stderr, CLI_USAGE);
	}
	if (json && csv != NULL && strcmp(csv, "-") == 0) {
		cli_err(&ctx, "--json and --csv - would both write to standard output; choose one");
		return CLI_USAGE;
	}
	if ((rv = cli_open(&ctx, "report", false)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	if ((rv = ocp_council_open(&council, ctx.db, ctx.data_dir)) != OCOP_OK) {
		cli_err(&ctx, "%s", ocop_strerror(rv));
		cli_close(&ctx);
		return cli_exit_code(rv);
	}
	if (today == NULL) {
		ro.today = ocp_council_today(council);
	}
	rv = ocp_report_build(&rep, council, &ro);
	if (rv != OCOP_OK) {
		cli_err(&ctx, "cannot build the report: %s", ocop_strerror(rv));
		goto out;
	}
	if (csv != NULL) {
		FILE *f = strcmp(csv, "-") == 0 ? stdout : fopen(csv, "wb");

		if (f == NULL) {
			cli_err(&ctx, "cannot write %s", csv);
			rv = OCOP_EIO;
			goto out;
		}
		rv = ocp_report_write_csv(rep, f);
		if (f != stdout && fclose(f) != 0 && rv == OCOP_OK) {
			rv = OCOP_EIO;
		}
		if (rv != OCOP_OK) {
			cli_err(&ctx, "cannot write %s: %s", csv, ocop_strerror(rv));
			goto out;
		}
	}
	if (json) {
		json_t *j = ocp_report_json(rep);

		if (j == NULL) {
			cli_err(&ctx, "out of memory");
			rv = OCOP_ENOMEM;
			goto out;
		}
		cli_json_print(j);
	} else if (csv == NULL) {
		for (i = 0; i < ocp_report_table_count(rep); i++) {
			report_print_table(ocp_report_table_at(rep, i));
		}
	}
out:
	ocp_report_free(rep);
	ocp_council_close(council);
	cli_close(&ctx);
	return cli_exit_code(rv);
}
