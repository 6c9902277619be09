/*
 * cmd_decision.c: `ocop decision`: record a recognition, approval, national
 * result or revocation decision about a dossier, and list decisions. Option
 * parsing and printing only; the rules are in common/ocop/council.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/council.h"
#include "ocop_err.h"

static const char usage_text[] =
    "usage: ocop decision add --dossier ID --kind recognition|approval|national_result|revocation\n"
    "                         [--evaluation ID] [--star N] [--number NO] [--issued YYYY-MM-DD]\n"
    "                         [--expires YYYY-MM-DD] [--issuer TEXT] [--note TEXT]\n"
    "       ocop decision list [--dossier ID] [--json]\n"
    "\n"
    "A recognition (3★ or 4★ only: 1★ and 2★ get no decision or certificate) takes its\n"
    "star from --evaluation's result, or --star; its certificate expires 36 months\n"
    "after --issued (default today) unless --expires says otherwise. An approval\n"
    "approves a potential 5★ result (--evaluation). A revocation needs its ground in\n"
    "--note. Whether this site may make a kind of decision depends on its role.\n"
    "'add' prints the new decision's id.\n";

static int
decision_exit(int rv)
{
	return rv == OCOP_ENOENT ? CLI_USAGE : cli_exit_code(rv);
}

static int
decision_usage(FILE *out, int code)
{
	fputs(usage_text, out);
	return code;
}

static int
decision_bad_option(cli_ctx *c, char **argv, int opt)
{
	if (opt == ':') {
		cli_err(c, "option %s needs a value", argv[optind - 1]);
	} else {
		cli_err(c, "unknown option %s", argv[optind - 1]);
	}
	return decision_usage(stderr, CLI_USAGE);
}

static int
decision_open(cli_ctx *ctx, ocp_council **council)
{
	int rv = cli_open(ctx, "decision", false);

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

static int
decision_add(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dossier", required_argument, NULL, 'd'},
	    {"kind", required_argument, NULL, 'k'},
	    {"evaluation", required_argument, NULL, 'e'},
	    {"star", required_argument, NULL, 's'},
	    {"number", required_argument, NULL, 'n'},
	    {"issued", required_argument, NULL, 'i'},
	    {"expires", required_argument, NULL, 'x'},
	    {"issuer", required_argument, NULL, 'b'},
	    {"note", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	ocp_council *council = NULL;
	ocp_decision_spec spec;
	char id[37];
	char *end;
	long star;
	int opt;
	int rv;

	memset(&spec, 0, sizeof(spec));
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			spec.dossier_id = optarg;
			break;
		case 'k':
			spec.kind = optarg;
			break;
		case 'e':
			spec.evaluation_id = optarg;
			break;
		case 's':
			star = strtol(optarg, &end, 10);
			if (end == optarg || *end != 0 || star < 1 || star > 5) {
				cli_err(ctx, "--star must be 1 to 5, not '%s'", optarg);
				return CLI_USAGE;
			}
			spec.star = (int)star;
			break;
		case 'n':
			spec.number = optarg;
			break;
		case 'i':
			spec.issued_on = optarg;
			break;
		case 'x':
			spec.expires_on = optarg;
			break;
		case 'b':
			spec.issuer = optarg;
			break;
		case 'o':
			spec.note = optarg;
			break;
		case 'h':
			return decision_usage(stdout, CLI_OK);
		default:
			return decision_bad_option(ctx, argv, opt);
		}
	}
	if (optind < argc) {
		cli_err(ctx, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (spec.dossier_id == NULL || spec.kind == NULL) {
		cli_err(ctx, "needs --dossier and --kind");
		return decision_usage(stderr, CLI_USAGE);
	}
	if ((rv = decision_open(ctx, &council)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_council_decision_add(council, &spec, id);
	if (rv == OCOP_OK) {
		printf("%s\n", id);
	} else {
		cli_err(ctx, "%s", ocp_council_errmsg(council));
	}
	ocp_council_close(council);
	cli_close(ctx);
	return decision_exit(rv);
}

/* A JSON string or "-". */
static const char *
str_or_dash(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s && s[0] ? s : "-";
}

static int
decision_list(cli_ctx *ctx, int argc, char **argv)
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
			return decision_usage(stdout, CLI_OK);
		default:
			return decision_bad_option(ctx, argv, opt);
		}
	}
	if (optind < argc) {
		cli_err(ctx, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if ((rv = decision_open(ctx, &council)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_council_decision_list(council, dossier, &arr);
	if (rv != OCOP_OK) {
		cli_err(ctx, "%s", ocp_council_errmsg(council));
	} else if (json) {
		cli_json_print(arr);
		arr = NULL;
	} else {
		printf("%-36s  %-15s  %4s  %-10s  %-10s  %-36s  %s\n", "ID", "KIND", "STAR", "ISSUED",
		    "EXPIRES", "DOSSIER", "NUMBER");
		for (i = 0; i < json_array_size(arr); i++) {
			json_t *d = json_array_get(arr, i);
			json_t *star = json_object_get(d, "star");
			char sb[8] = "-";

			if (json_is_integer(star)) {
				snprintf(sb, sizeof(sb), "%lld★", (long long)json_integer_value(star));
			}
			/* "4★" is two characters wide but four bytes long: pad by hand. */
			printf("%-36s  %-15s  %*s%s  %-10s  %-10s  %-36s  %s\n", str_or_dash(d, "id"),
			    str_or_dash(d, "kind"), json_is_integer(star) ? 2 : 3, "", sb,
			    str_or_dash(d, "issued_on"),
			    str_or_dash(d, "expires_on"), str_or_dash(d, "dossier_id"),
			    str_or_dash(d, "number"));
		}
	}
	json_decref(arr);
	ocp_council_close(council);
	cli_close(ctx);
	return decision_exit(rv);
}

int
cmd_decision(int argc, char **argv)
{
	cli_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cmd = "decision";
	opterr = 0;
	if (argc < 2) {
		return decision_usage(stderr, CLI_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		return decision_usage(stdout, CLI_OK);
	}
	optind = 1;
	if (strcmp(argv[1], "add") == 0) {
		ctx.cmd = "decision add";
		return decision_add(&ctx, argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "list") == 0) {
		ctx.cmd = "decision list";
		return decision_list(&ctx, argc - 1, argv + 1);
	}
	cli_err(&ctx, "unknown subcommand '%s'", argv[1]);
	return decision_usage(stderr, CLI_USAGE);
}
