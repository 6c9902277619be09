/*
 * cmd_evaluation.c: `ocop evaluation`: add a council evaluation of a dossier,
 * list and show evaluations, disqualify one. Option parsing and printing only;
 * the rules are in common/ocop/council.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/council.h"
#include "common/ocop/rubric.h"
#include "ocop_err.h"

static const char usage_text[] =
    "usage: ocop evaluation add --dossier ID --tier province|district|national\n"
    "                           [--rubric ID] [--held YYYY-MM-DD] [--spread POINTS]\n"
    "                           [--no-spread-rule] [--min-members N]\n"
    "       ocop evaluation list [--dossier ID] [--json]\n"
    "       ocop evaluation show ID [--json]\n"
    "       ocop evaluation disqualify ID --reason TEXT\n"
    "\n"
    "An evaluation is one council sitting on one dossier at one tier. It keeps the\n"
    "dossier's legal basis and its rubric (--rubric overrides it, e.g. qd26-2026/01).\n"
    "--spread sets the spread rule's threshold (default 10 points: members' totals may\n"
    "not differ by that much or more); --no-spread-rule turns the rule off.\n"
    "--min-members is the province's council minimum (default 3): a council with\n"
    "fewer members gives points but its result is not valid for a star.\n"
    "'add' prints the new evaluation's id.\n";

/* Unknown ids are bad input (exit 2) like malformed values. */
static int
eval_exit(int rv)
{
	return rv == OCOP_ENOENT ? CLI_USAGE : cli_exit_code(rv);
}

static int
eval_usage(FILE *out, int code)
{
	fputs(usage_text, out);
	return code;
}

/* Report a getopt failure in the shape of every other error. */
static int
eval_bad_option(cli_ctx *c, int argc, char **argv, int opt)
{
	(void)argc;
	if (opt == ':') {
		cli_err(c, "option %s needs a value", argv[optind - 1]);
	} else {
		cli_err(c, "unknown option %s", argv[optind - 1]);
	}
	return eval_usage(stderr, CLI_USAGE);
}

static int
eval_open(cli_ctx *ctx, ocp_council **council)
{
	int rv = cli_open(ctx, "evaluation", false);

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

static void
eval_print(json_t *e)
{
	static const char *const keys[] = {"id", "dossier_id", "tier", "rubric_id", "legal_basis",
	    "held_on", "spread_threshold", "spread_rule", "disqualified", "disqualify_reason",
	    "version", "members", "min_members"};
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_t *v = json_object_get(e, keys[i]);

		printf("%-18s ", keys[i]);
		if (json_is_string(v)) {
			printf("%s\n", json_string_value(v));
		} else if (json_is_integer(v)) {
			printf("%lld\n", (long long)json_integer_value(v));
		} else if (json_is_real(v)) {
			printf("%.2f\n", json_real_value(v));
		} else if (json_is_boolean(v)) {
			printf("%s\n", json_is_true(v) ? "yes" : "no");
		} else {
			printf("-\n");
		}
	}
}

static int
eval_add(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dossier", required_argument, NULL, 'd'},
	    {"tier", required_argument, NULL, 't'},
	    {"rubric", required_argument, NULL, 'r'},
	    {"held", required_argument, NULL, 'H'},
	    {"spread", required_argument, NULL, 's'},
	    {"no-spread-rule", no_argument, NULL, 'n'},
	    {"min-members", required_argument, NULL, 'm'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	ocp_eval_spec spec;
	ocp_council *council = NULL;
	char id[37];
	int opt;
	int rv;

	memset(&spec, 0, sizeof(spec));
	spec.spread_rule = true;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			spec.dossier_id = optarg;
			break;
		case 't':
			spec.tier = optarg;
			break;
		case 'r':
			spec.rubric_id = optarg;
			break;
		case 'H':
			spec.held_on = optarg;
			break;
		case 's':
			if (ocp_points_parse(optarg, strlen(optarg), &spec.spread_threshold) != OCOP_OK ||
			    spec.spread_threshold <= 0) {
				cli_err(ctx, "--spread must be a positive number of points, not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case 'n':
			spec.spread_rule = false;
			break;
		case 'm': {
			char *end = NULL;
			long n = strtol(optarg, &end, 10);

			if (end == optarg || *end != '\0' || n < 1 || n > 99) {
				cli_err(ctx, "--min-members must be a number of members from 1 to 99, not '%s'", optarg);
				return CLI_USAGE;
			}
			spec.min_members = (int)n;
			break;
		}
		case 'h':
			return eval_usage(stdout, CLI_OK);
		default:
			return eval_bad_option(ctx, argc, argv, opt);
		}
	}
	if (optind < argc) {
		cli_err(ctx, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (spec.dossier_id == NULL || spec.tier == NULL) {
		cli_err(ctx, "needs --dossier and --tier");
		return eval_usage(stderr, CLI_USAGE);
	}
	if ((rv = eval_open(ctx, &council)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_council_evaluation_add(council, &spec, id);
	if (rv == OCOP_OK) {
		printf("%s\n", id);
	} else {
		cli_err(ctx, "%s", ocp_council_errmsg(council));
	}
	ocp_council_close(council);
	cli_close(ctx);
	return eval_exit(rv);
}

static int
eval_list(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dossier", required_argument, NULL, 'd'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	ocp_council *council = NULL;
	const char *dossier = NULL;
	json_t *arr = NULL;
	bool json = false;
	size_t i;
	int opt;
	int rv;

	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			dossier = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			return eval_usage(stdout, CLI_OK);
		default:
			return eval_bad_option(ctx, argc, argv, opt);
		}
	}
	if (optind < argc) {
		cli_err(ctx, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if ((rv = eval_open(ctx, &council)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_council_evaluation_list(council, dossier, &arr);
	if (rv != OCOP_OK) {
		cli_err(ctx, "%s", ocp_council_errmsg(council));
	} else if (json) {
		cli_json_print(arr);
		arr = NULL;
	} else {
		printf("%-36s  %-8s  %-14s  %-10s  %7s  %s\n", "ID", "TIER", "RUBRIC", "HELD", "MEMBERS",
		    "DISQUALIFIED");
		for (i = 0; i < json_array_size(arr); i++) {
			json_t *e = json_array_get(arr, i);
			const char *held = json_string_value(json_object_get(e, "held_on"));

			printf("%-36s  %-8s  %-14s  %-10s  %7lld  %s\n",
			    json_string_value(json_object_get(e, "id")),
			    json_string_value(json_object_get(e, "tier")),
			    json_string_value(json_object_get(e, "rubric_id")), held ? held : "-",
			    (long long)json_integer_value(json_object_get(e, "members")),
			    json_is_true(json_object_get(e, "disqualified")) ? "yes" : "no");
		}
	}
	json_decref(arr);
	ocp_council_close(council);
	cli_close(ctx);
	return eval_exit(rv);
}

static int
eval_show(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	ocp_council *council = NULL;
	json_t *e = NULL;
	bool json = false;
	int opt;
	int rv;

	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j':
			json = true;
			break;
		case 'h':
			return eval_usage(stdout, CLI_OK);
		default:
			return eval_bad_option(ctx, argc, argv, opt);
		}
	}
	if (argc - optind != 1) {
		cli_err(ctx, "needs exactly one evaluation id");
		return eval_usage(stderr, CLI_USAGE);
	}
	if ((rv = eval_open(ctx, &council)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_council_evaluation_get(council, argv[optind], &e);
	if (rv != OCOP_OK) {
		cli_err(ctx, "%s", ocp_council_errmsg(council));
	} else if (json) {
		cli_json_print(e);
		e = NULL;
	} else {
		eval_print(e);
	}
	json_decref(e);
	ocp_council_close(council);
	cli_close(ctx);
	return eval_exit(rv);
}

static int
eval_disqualify(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"reason", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	ocp_council *council = NULL;
	const char *reason = NULL;
	int opt;
	int rv;

	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			reason = optarg;
			break;
		case 'h':
			return eval_usage(stdout, CLI_OK);
		default:
			return eval_bad_option(ctx, argc, argv, opt);
		}
	}
	if (argc - optind != 1 || reason == NULL || reason[0] == 0) {
		cli_err(ctx, "needs one evaluation id and --reason");
		return eval_usage(stderr, CLI_USAGE);
	}
	if ((rv = eval_open(ctx, &council)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_council_evaluation_disqualify(council, argv[optind], reason);
	if (rv == OCOP_OK) {
		printf("%s\n", argv[optind]);
	} else {
		cli_err(ctx, "%s", ocp_council_errmsg(council));
	}
	ocp_council_close(council);
	cli_close(ctx);
	return eval_exit(rv);
}

int
cmd_evaluation(int argc, char **argv)
{
	cli_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cmd = "evaluation";
	opterr = 0;
	if (argc < 2) {
		return eval_usage(stderr, CLI_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		return eval_usage(stdout, CLI_OK);
	}
	optind = 1;
	if (strcmp(argv[1], "add") == 0) {
		ctx.cmd = "evaluation add";
		return eval_add(&ctx, argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "list") == 0) {
		ctx.cmd = "evaluation list";
		return eval_list(&ctx, argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "show") == 0) {
		ctx.cmd = "evaluation show";
		return eval_show(&ctx, argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "disqualify") == 0) {
		ctx.cmd = "evaluation disqualify";
		return eval_disqualify(&ctx, argc - 1, argv + 1);
	}
	cli_err(&ctx, "unknown subcommand '%s'", argv[1]);
	return eval_usage(stderr, CLI_USAGE);
}
