/*
 * cmd_sheet.c: `ocop sheet`: members' score sheets, entered per criterion or
 * imported from the `member,criterion,points` CSV a clerk typed from the paper
 * sheets; shown; submitted. Option parsing and printing only; the rules are in
 * common/ocop/council.c (and the CSV format in common/ocop/sheetcsv.h).
 */
#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/council.h"
#include "common/ocop/rubric.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"

/* A CSV of paper sheets is small; refuse anything absurd before reading it. */
#define SHEET_CSV_MAX (16u * 1024u * 1024u)

static const char usage_text[] =
    "usage: ocop sheet set --member ID --criterion CODE --points P|KO\n"
    "       ocop sheet show --member ID [--json]\n"
    "       ocop sheet import --evaluation ID --csv FILE\n"
    "       ocop sheet submit --member ID\n"
    "\n"
    "'set' enters one member's choice on one criterion of the evaluation's rubric: P\n"
    "must be the points of one of the criterion's options (e.g. 3 or 2.5), KO its\n"
    "knock-out option; setting again replaces. It prints the score row's id.\n"
    "'import' reads a CSV with the header member,criterion,points (one row per member\n"
    "and criterion, members named as added): the whole file is checked first and any\n"
    "bad line refuses it with nothing written. 'submit' closes a complete sheet.\n"
    "Only the site that owns a sheet may write it.\n";

static int
sheet_exit(int rv)
{
	return rv == OCOP_ENOENT ? CLI_USAGE : cli_exit_code(rv);
}

static int
sheet_usage(FILE *out, int code)
{
	fputs(usage_text, out);
	return code;
}

static int
sheet_bad_option(cli_ctx *c, char **argv, int opt)
{
	if (opt == ':') {
		cli_err(c, "option %s needs a value", argv[optind - 1]);
	} else {
		cli_err(c, "unknown option %s", argv[optind - 1]);
	}
	return sheet_usage(stderr, CLI_USAGE);
}

static int
sheet_open(cli_ctx *ctx, ocp_council **council)
{
	int rv = cli_open(ctx, "sheet", false);

	if (rv != OCOP_OK) {
		return rv;
	}
	rv = ocp_council_open(council, ctx->db, ctx->data_dir);
	if (rv != OCOP_OK) {
		cli_err(ctx, "%s", ocop_strerror(rv));
		cli_close(ctx);
	}
	return rv;
}

/* Options shared by the subcommands; each uses some of them. */
typedef struct sheet_args {
	const char *member;     /* --member */
	const char *criterion;  /* --criterion */
	const char *points;     /* --points */
	const char *evaluation; /* --evaluation */
	const char *csv;        /* --csv */
	bool json;              /* --json */
} sheet_args;

/* Parse options; returns -1 to go on, or the exit code. */
static int
sheet_parse(cli_ctx *ctx, int argc, char **argv, sheet_args *a)
{
	static const struct option opts[] = {
	    {"member", required_argument, NULL, 'm'},
	    {"criterion", required_argument, NULL, 'c'},
	    {"points", required_argument, NULL, 'p'},
	    {"evaluation", required_argument, NULL, 'e'},
	    {"csv", required_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int opt;

	memset(a, 0, sizeof(*a));
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			a->member = optarg;
			break;
		case 'c':
			a->criterion = optarg;
			break;
		case 'p':
			a->points = optarg;
			break;
		case 'e':
			a->evaluation = optarg;
			break;
		case 'f':
			a->csv = optarg;
			break;
		case 'j':
			a->json = true;
			break;
		case 'h':
			return sheet_usage(stdout, CLI_OK);
		default:
			return sheet_bad_option(ctx, argv, opt);
		}
	}
	if (optind < argc) {
		cli_err(ctx, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	return -1;
}

/* True when s spells KO (any case). */
static bool
is_ko(const char *s)
{
	return strlen(s) == 2 && toupper((unsigned char)s[0]) == 'K' &&
	    toupper((unsigned char)s[1]) == 'O';
}

static int
sheet_set(cli_ctx *ctx, const sheet_args *a)
{
	ocp_council *council = NULL;
	int64_t points = 0;
	bool ko = false;
	char id[37];
	int rv;

	if (a->member == NULL || a->criterion == NULL || a->points == NULL) {
		cli_err(ctx, "needs --member, --criterion and --points");
		return sheet_usage(stderr, CLI_USAGE);
	}
	if (is_ko(a->points)) {
		ko = true;
	} else if (ocp_points_parse(a->points, strlen(a->points), &points) != OCOP_OK) {
		cli_err(ctx, "--points must be a number with up to 2 decimals, or KO, not '%s'", a->points);
		return CLI_USAGE;
	}
	if ((rv = sheet_open(ctx, &council)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_council_sheet_set(council, a->member, a->criterion, points, ko, id);
	if (rv == OCOP_OK) {
		printf("%s\n", id);
	} else {
		cli_err(ctx, "%s", ocp_council_errmsg(council));
	}
	ocp_council_close(council);
	cli_close(ctx);
	return sheet_exit(rv);
}

static void
sheet_print(json_t *s)
{
	json_t *scores = json_object_get(s, "scores");
	json_t *missing = json_object_get(s, "missing");
	size_t i;

	printf("Member:    %s (%s)\n", json_string_value(json_object_get(s, "member")),
	    json_string_value(json_object_get(s, "member_id")));
	printf("Sheet:     %s, owned by site %s\n", json_string_value(json_object_get(s, "sheet_id")),
	    json_string_value(json_object_get(s, "owner_site")));
	printf("Rubric:    %s\n", json_string_value(json_object_get(s, "rubric_id")));
	printf("Submitted: %s\n\n", json_is_true(json_object_get(s, "submitted")) ? "yes" : "no");
	printf("%-10s  %6s\n", "CRITERION", "POINTS");
	for (i = 0; i < json_array_size(scores); i++) {
		json_t *x = json_array_get(scores, i);

		if (json_is_true(json_object_get(x, "ko"))) {
			printf("%-10s  %6s\n", json_string_value(json_object_get(x, "criterion")), "KO");
		} else {
			printf("%-10s  %6.2f\n", json_string_value(json_object_get(x, "criterion")),
			    json_number_value(json_object_get(x, "points")));
		}
	}
	printf("%-10s  %6.2f\n", "Total", json_number_value(json_object_get(s, "total")));
	if (json_array_size(missing) > 0) {
		printf("\nMissing:   ");
		for (i = 0; i < json_array_size(missing); i++) {
			printf("%s%s", i ? ", " : "", json_string_value(json_array_get(missing, i)));
		}
		putchar('\n');
	}
}

static int
sheet_show(cli_ctx *ctx, const sheet_args *a)
{
	ocp_council *council = NULL;
	json_t *s = NULL;
	int rv;

	if (a->member == NULL) {
		cli_err(ctx, "needs --member");
		return sheet_usage(stderr, CLI_USAGE);
	}
	if ((rv = sheet_open(ctx, &council)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_council_sheet_get(council, a->member, &s);
	if (rv != OCOP_OK) {
		cli_err(ctx, "%s", ocp_council_errmsg(council));
	} else if (a->json) {
		cli_json_print(s);
		s = NULL;
	} else {
		sheet_print(s);
	}
	json_decref(s);
	ocp_council_close(council);
	cli_close(ctx);
	return sheet_exit(rv);
}

static int
sheet_import(cli_ctx *ctx, const sheet_args *a)
{
	ocp_council *council = NULL;
	size_t written = 0;
	char *text = NULL;
	size_t len = 0;
	int rv;

	if (a->evaluation == NULL || a->csv == NULL) {
		cli_err(ctx, "needs --evaluation and --csv");
		return sheet_usage(stderr, CLI_USAGE);
	}
	if ((rv = cli_read_file(ctx, a->csv, &text, &len)) != OCOP_OK) {
		return rv == OCOP_ENOENT ? CLI_USAGE : CLI_FAIL;
	}
	if (len > SHEET_CSV_MAX) {
		cli_err(ctx, "%s: too big for a score sheet file (over %u MiB)", a->csv, SHEET_CSV_MAX >> 20);
		com_free(text);
		return CLI_USAGE;
	}
	if ((rv = sheet_open(ctx, &council)) != OCOP_OK) {
		com_free(text);
		return cli_exit_code(rv);
	}
	rv = ocp_council_sheet_import(council, a->evaluation, a->csv, text, len, &written);
	if (rv == OCOP_OK) {
		printf("%zu scores imported into evaluation %s\n", written, a->evaluation);
	} else {
		cli_err(ctx, "%s", ocp_council_errmsg(council));
	}
	com_free(text);
	ocp_council_close(council);
	cli_close(ctx);
	return sheet_exit(rv);
}

static int
sheet_submit(cli_ctx *ctx, const sheet_args *a)
{
	ocp_council *council = NULL;
	int rv;

	if (a->member == NULL) {
		cli_err(ctx, "needs --member");
		return sheet_usage(stderr, CLI_USAGE);
	}
	if ((rv = sheet_open(ctx, &council)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_council_sheet_submit(council, a->member);
	if (rv == OCOP_OK) {
		printf("%s\n", a->member);
	} else {
		cli_err(ctx, "%s", ocp_council_errmsg(council));
	}
	ocp_council_close(council);
	cli_close(ctx);
	return sheet_exit(rv);
}

int
cmd_sheet(int argc, char **argv)
{
	static const struct {
		const char *name;                             /* subcommand */
		const char *cmd;                              /* its name in messages */
		int (*fn)(cli_ctx *ctx, const sheet_args *a); /* its action */
	} subs[] = {
	    {"set", "sheet set", sheet_set},
	    {"show", "sheet show", sheet_show},
	    {"import", "sheet import", sheet_import},
	    {"submit", "sheet submit", sheet_submit},
	};
	sheet_args a;
	cli_ctx ctx;
	size_t i;
	int code;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cmd = "sheet";
	opterr = 0;
	if (argc < 2) {
		return sheet_usage(stderr, CLI_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		return sheet_usage(stdout, CLI_OK);
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		if (strcmp(argv[1], subs[i].name) == 0) {
			ctx.cmd = subs[i].cmd;
			optind = 1;
			if ((code = sheet_parse(&ctx, argc - 1, argv + 1, &a)) >= 0) {
				return code;
			}
			return subs[i].fn(&ctx, &a);
		}
	}
	cli_err(&ctx, "unknown subcommand '%s'", argv[1]);
	return sheet_usage(stderr, CLI_USAGE);
}
