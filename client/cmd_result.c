/*
 * cmd_result.c: `ocop result EVALUATION_ID`: the evaluation's result, computed
 * from its members' sheets by the one scoring function (never stored): member
 * totals, mean, parts, band and minima stars, star, spread, potential 5★ and
 * knock-outs. `--json` uses the keys of `ocop score --json`.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/council.h"
#include "common/ocop/rubric.h"
#include "common/ocop/score.h"
#include "ocop_err.h"

static const char usage_text[] =
    "usage: ocop result EVALUATION_ID [--json]\n"
    "\n"
    "Computes the evaluation's result from its members' sheets with the evaluation's\n"
    "rubric: each member's total and part totals (A, B, C), the council mean (shown\n"
    "truncated to 2 decimals), the band star, the star minima, the star, the spread\n"
    "rule and whether the product is a potential 5★ candidate. Incomplete sheets are\n"
    "refused, naming each member and the missing criteria.\n";

static int
result_usage(FILE *out, int code)
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
result_row(const char *label, int width, int64_t total, const int64_t part[OCP_PART_COUNT])
{
	char b[32];
	int k;

	printf("%s%*s", label, width - text_width(label), "");
	ocp_points_format(b, sizeof(b), total);
	printf("  %7s", b);
	for (k = 0; k < OCP_PART_COUNT; k++) {
		ocp_points_format(b, sizeof(b), part[k]);
		printf("  %6s", b);
	}
	putchar('\n');
}

static void
result_print(const ocp_council_result *res)
{
	const ocp_score *s = res->score;
	const ocp_rubric *r = res->rubric;
	char a[32];
	char b[32];
	int width = 6;
	size_t i;
	int k;

	for (i = 0; i < s->count; i++) {
		int w = text_width(s->members[i].member);
		width = w > width ? w : width;
	}
	printf("Evaluation %s (%s tier) of dossier %s\n", res->evaluation_id, res->tier,
	    res->dossier_id);
	printf("Rubric %s: %s (%s)\n\n", ocp_rubric_id(r), ocp_rubric_title(r), ocp_rubric_basis(r));
	printf("%s%*s  %7s", "Member", width - 6, "", "Total");
	for (k = 0; k < OCP_PART_COUNT; k++) {
		printf("  %6c", ocp_rubric_part(r, (size_t)k)->letter);
	}
	putchar('\n');
	for (i = 0; i < s->count; i++) {
		result_row(s->members[i].member, width, s->members[i].total, s->members[i].part);
	}
	result_row("Mean", width, s->mean_display, s->part_display);
	putchar('\n');
	ocp_points_format(a, sizeof(a), s->spread);
	ocp_points_format(b, sizeof(b), s->spread_threshold);
	if (s->spread_rule) {
		printf("Spread: %s (threshold %s): %s\n", a, b,
		    s->spread_ok ? "ok" : "too wide, the council must discuss and re-score");
	} else {
		printf("Spread: %s (spread rule off)\n", a);
	}
	printf("Band: %d★   Minima: %d★", s->band_star, s->minima_star);
	if (s->minima_star < 5) {
		/* The level just above the one reached names the criterion holding it back. */
		const ocp_score_miss *m = &s->miss[s->minima_star + 1 - 3];

		ocp_points_format(a, sizeof(a), m->sum / (int64_t)s->count);
		ocp_points_format(b, sizeof(b), m->need);
		printf(" (%d★ not met on %s: mean %s < %s)", s->minima_star + 1,
		    ocp_rubric_criterion(r, m->criterion)->code, a, b);
	}
	putchar('\n');
	for (i = 0; i < s->n_ko; i++) {
		printf("Knock-out: %s chose the knock-out option of %s\n",
		    s->members[s->ko[i].member].member, ocp_rubric_criterion(r, s->ko[i].criterion)->code);
	}
	if (s->star == 0 && !s->quorum_ok && !s->knockout && !s->disqualified) {
		printf("Star: none (not valid for a star: the council has %zu member%s, the province's "
		       "minimum is %zu)\n",
		    s->count, s->count == 1 ? "" : "s", s->min_members);
	} else if (s->star == 0) {
		printf("Star: none (%s)\n", s->knockout ? "knock-out" : "dossier disqualified");
	} else {
		printf("Star: %d★\n", s->star);
	}
	printf("Potential 5★: %s\n", s->potential_5star ? "yes" : "no");
}

int
cmd_result(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	ocp_council *council = NULL;
	ocp_council_result *res = NULL;
	cli_ctx ctx;
	bool json = false;
	int opt;
	int rv;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cmd = "result";
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			return result_usage(stdout, CLI_OK);
		default:
			cli_err(&ctx, "unknown option %s", argv[optind - 1]);
			return result_usage(stderr, CLI_USAGE);
		}
	}
	if (argc - optind != 1) {
		cli_err(&ctx, "give exactly one evaluation id");
		return result_usage(stderr, CLI_USAGE);
	}
	if ((rv = cli_open(&ctx, "result", false)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	if ((rv = ocp_council_open(&council, ctx.db, ctx.data_dir)) != OCOP_OK) {
		cli_err(&ctx, "%s", ocop_strerror(rv));
		cli_close(&ctx);
		return cli_exit_code(rv);
	}
	rv = ocp_council_result_compute(council, argv[optind], &res);
	if (rv != OCOP_OK) {
		cli_err(&ctx, "%s", ocp_council_errmsg(council));
	} else if (json) {
		json_t *j = ocp_council_result_json(res);

		if (j == NULL) {
			cli_err(&ctx, "out of memory");
			rv = OCOP_ENOMEM;
		} else {
			cli_json_print(j);
		}
	} else {
		result_print(res);
	}
	ocp_council_result_free(res);
	ocp_council_close(council);
	cli_close(&ctx);
	return rv == OCOP_ENOENT ? CLI_USAGE : cli_exit_code(rv);
}
