/*
 * cmd_member.c: `ocop member`: add a council member (and the member's score
 * sheet) to an evaluation, list an evaluation's members. Option parsing and
 * printing only; the rules are in common/ocop/council.c.
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
    "usage: ocop member add --evaluation ID --name NAME [--role chair|member]\n"
    "                       [--site SITE_UUID]\n"
    "       ocop member list --evaluation ID [--json]\n"
    "\n"
    "'add' creates the member and the member's score sheet and prints the member id.\n"
    "The sheet belongs to --site (default: this site): only that site may enter its\n"
    "scores. Names must be distinct within an evaluation: 'ocop sheet import' finds\n"
    "members by name. An evaluation has one chair.\n";

static int
member_exit(int rv)
{
	return rv == OCOP_ENOENT ? CLI_USAGE : cli_exit_code(rv);
}

static int
member_usage(FILE *out, int code)
{
	fputs(usage_text, out);
	return code;
}

static int
member_bad_option(cli_ctx *c, char **argv, int opt)
{
	if (opt == ':') {
		cli_err(c, "option %s needs a value", argv[optind - 1]);
	} else {
		cli_err(c, "unknown option %s", argv[optind - 1]);
	}
	return member_usage(stderr, CLI_USAGE);
}

static int
member_open(cli_ctx *ctx, ocp_council **council)
{
	int rv = cli_open(ctx, "member", false);

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
member_add(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"evaluation", required_argument, NULL, 'e'},
	    {"name", required_argument, NULL, 'n'},
	    {"role", required_argument, NULL, 'r'},
	    {"site", required_argument, NULL, 's'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	ocp_council *council = NULL;
	const char *evaluation = NULL;
	const char *name = NULL;
	const char *role = NULL;
	const char *site = NULL;
	char id[37];
	int opt;
	int rv;

	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			evaluation = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'r':
			role = optarg;
			break;
		case 's':
			site = optarg;
			break;
		case 'h':
			return member_usage(stdout, CLI_OK);
		default:
			return member_bad_option(ctx, argv, opt);
		}
	}
	if (optind < argc) {
		cli_err(ctx, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (evaluation == NULL || name == NULL) {
		cli_err(ctx, "needs --evaluation and --name");
		return member_usage(stderr, CLI_USAGE);
	}
	if ((rv = member_open(ctx, &council)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_council_member_add(council, evaluation, name, role, site, id, NULL);
	if (rv == OCOP_OK) {
		printf("%s\n", id);
	} else {
		cli_err(ctx, "%s", ocp_council_errmsg(council));
	}
	ocp_council_close(council);
	cli_close(ctx);
	return member_exit(rv);
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

static int
member_list(cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"evaluation", required_argument, NULL, 'e'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	ocp_council *council = NULL;
	const char *evaluation = NULL;
	json_t *arr = NULL;
	bool json = false;
	int width = 4;
	size_t i;
	size_t k;
	int opt;
	int rv;

	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'e':
			evaluation = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			return member_usage(stdout, CLI_OK);
		default:
			return member_bad_option(ctx, argv, opt);
		}
	}
	if (optind < argc || evaluation == NULL) {
		cli_err(ctx, "needs --evaluation");
		return member_usage(stderr, CLI_USAGE);
	}
	if ((rv = member_open(ctx, &council)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_council_member_list(council, evaluation, &arr);
	if (rv != OCOP_OK) {
		cli_err(ctx, "%s", ocp_council_errmsg(council));
	} else if (json) {
		cli_json_print(arr);
		arr = NULL;
	} else {
		for (i = 0; i < json_array_size(arr); i++) {
			int w = text_width(json_string_value(json_object_get(json_array_get(arr, i), "name")));
			width = w > width ? w : width;
		}
		printf("%-36s  %s%*s  %-6s  %-9s  %6s  %s\n", "ID", "NAME", width - 4, "", "ROLE",
		    "SUBMITTED", "SCORED", "MISSING");
		for (i = 0; i < json_array_size(arr); i++) {
			json_t *m = json_array_get(arr, i);
			const char *name = json_string_value(json_object_get(m, "name"));
			json_t *missing = json_object_get(m, "missing");

			printf("%-36s  %s%*s  %-6s  %-9s  %6lld  ", json_string_value(json_object_get(m, "id")),
			    name, width - text_width(name), "", json_string_value(json_object_get(m, "role")),
			    json_is_true(json_object_get(m, "submitted")) ? "yes" : "no",
			    (long long)json_integer_value(json_object_get(m, "scored")));
			for (k = 0; k < json_array_size(missing); k++) {
				printf("%s%s", k ? "," : "", json_string_value(json_array_get(missing, k)));
			}
			printf("%s\n", json_array_size(missing) ? "" : "-");
		}
	}
	json_decref(arr);
	ocp_council_close(council);
	cli_close(ctx);
	return member_exit(rv);
}

int
cmd_member(int argc, char **argv)
{
	cli_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.cmd = "member";
	opterr = 0;
	if (argc < 2) {
		return member_usage(stderr, CLI_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		return member_usage(stdout, CLI_OK);
	}
	optind = 1;
	if (strcmp(argv[1], "add") == 0) {
		ctx.cmd = "member add";
		return member_add(&ctx, argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "list") == 0) {
		ctx.cmd = "member list";
		return member_list(&ctx, argc - 1, argv + 1);
	}
	cli_err(&ctx, "unknown subcommand '%s'", argv[1]);
	return member_usage(stderr, CLI_USAGE);
}
