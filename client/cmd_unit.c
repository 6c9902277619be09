/*
 * cmd_unit.c: `ocop unit add|set|list|map`, administrative units with their old
 * and new codes and the successor mapping of the 2025 reform (OCOP.md 8).
 * Parsing and printing only; the checks and writes are common/ocop/registry.c's.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/registry.h"
#include "ocop_err.h"

#define UNIT_MAX_FIELDS 32

/* The field options of add and set; unit_cols[i] is the column of unit_opts[i]. */
static const struct option unit_opts[] = {
    {"code", required_argument, NULL, 0},
    {"name", required_argument, NULL, 0},
    {"level", required_argument, NULL, 0},
    {"parent", required_argument, NULL, 0},
    {"valid-from", required_argument, NULL, 0},
    {"valid-to", required_argument, NULL, 0},
    {"successor", required_argument, NULL, 0},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const unit_cols[] = {
    "code", "name", "level", "parent_code", "valid_from", "valid_to", "successor_code",
};

static int
unit_usage(FILE *out, int rc)
{
	fprintf(out,
	    "usage: ocop unit add --code C --name N --level L [--parent CODE]\n"
	    "                     [--valid-from DATE] [--valid-to DATE] [--successor CODE]\n"
	    "       ocop unit set CODE [--name N] [--level L] [--parent CODE]\n"
	    "                     [--valid-from DATE] [--valid-to DATE] [--successor CODE]\n"
	    "       ocop unit list [--json]\n"
	    "       ocop unit map CODE [--json]\n"
	    "\n"
	    "Administrative units, old and new. Codes are kept as issued: a province is\n"
	    "83, a commune 83-28882 (an old district 83-832). --level is province,\n"
	    "district or commune; dates are YYYY-MM-DD. --successor names the unit that\n"
	    "replaced this one (63 -> 34 provinces and the end of districts on 2025-07-01).\n"
	    "'map' follows successors to the current unit and prints its code and name.\n"
	    "Units are reference data: only province and national sites write them.\n");
	return rc;
}

static int
unit_open(cli_ctx *c, const char *cmd, ocp_reg **reg)
{
	char err[512];
	int rv = cli_open(c, cmd, false);

	if (rv == OCOP_OK && (rv = ocp_reg_open(reg, c->db, c->data_dir, err, sizeof(err))) != OCOP_OK) {
		cli_err(c, "%s", err);
		cli_close(c);
	}
	return rv;
}

static int
unit_write(int argc, char **argv, const char *cmd, bool add)
{
	ocp_field f[UNIT_MAX_FIELDS];
	ocp_reg *reg = NULL;
	const char *code = NULL;
	char newid[37];
	cli_ctx c;
	size_t n = 0;
	int li = 0;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", unit_opts, &li)) != -1) {
		if (opt == 'h') {
			return unit_usage(stdout, CLI_OK);
		}
		if (opt != 0) {
			return cli_bad_option(&c, opt, argv);
		}
		if (n == UNIT_MAX_FIELDS) {
			cli_err(&c, "too many options");
			return CLI_USAGE;
		}
		f[n].col = unit_cols[li];
		f[n++].val = optarg;
	}
	if (!add && optind < argc) {
		code = argv[optind++];
	} else if (!add) {
		cli_err(&c, "which unit? give its code");
		return CLI_USAGE;
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if ((rv = unit_open(&c, cmd, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = add ? ocp_reg_add(reg, "unit", f, n, newid) : ocp_reg_set(reg, "unit", code, f, n);
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
	} else {
		printf("%s\n", add ? newid : code);
	}
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_input(rv);
}

/* list and map: --json and, for map, one code. */
static int
unit_read(int argc, char **argv, const char *cmd)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const keys[] = {"code", "level", "name", "valid_from", "valid_to",
	    "successor_code"};
	bool map = strcmp(argv[0], "map") == 0;
	ocp_reg *reg = NULL;
	const char *code = NULL;
	json_t *v = NULL;
	bool json = false;
	cli_ctx c;
	size_t i;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (opt == 'h') {
			return unit_usage(stdout, CLI_OK);
		} else if (opt == 'j') {
			json = true;
		} else {
			return cli_bad_option(&c, opt, argv);
		}
	}
	if (map && optind < argc) {
		code = argv[optind++];
	} else if (map) {
		cli_err(&c, "which unit? give its code");
		return CLI_USAGE;
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if ((rv = unit_open(&c, cmd, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = map ? ocp_reg_unit_map(reg, code, &v) : ocp_reg_list(reg, "unit", NULL, 0, &v);
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
	} else if (json) {
		cli_json_print(json_incref(v));
	} else if (map) {
		static const char *const mkeys[] = {"current", "name", "path"};

		cli_print_row(v, mkeys, sizeof(mkeys) / sizeof(mkeys[0]));
	} else {
		for (i = 0; i < json_array_size(v); i++) {
			cli_print_row(json_array_get(v, i), keys, sizeof(keys) / sizeof(keys[0]));
		}
	}
	json_decref(v);
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_input(rv);
}

int
cmd_unit(int argc, char **argv)
{
	cli_ctx c;

	memset(&c, 0, sizeof(c));
	c.cmd = "unit";
	if (argc < 2) {
		return unit_usage(stderr, CLI_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		return unit_usage(stdout, CLI_OK);
	}
	if (strcmp(argv[1], "add") == 0) {
		return unit_write(argc - 1, argv + 1, "unit add", true);
	}
	if (strcmp(argv[1], "set") == 0) {
		return unit_write(argc - 1, argv + 1, "unit set", false);
	}
	if (strcmp(argv[1], "list") == 0) {
		return unit_read(argc - 1, argv + 1, "unit list");
	}
	if (strcmp(argv[1], "map") == 0) {
		return unit_read(argc - 1, argv + 1, "unit map");
	}
	cli_err(&c, "unknown subcommand '%s' (add, set, list, map)", argv[1]);
	return CLI_USAGE;
}
