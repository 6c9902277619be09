/*
 * cmd_unit.c: `ocop unit add|set|import|list|map`, administrative units with
 * their old and new codes and the successor mapping of the 2025 reform (OCOP.md
 * 8): the shipped provinces (data/units/) and a province's own communes and
 * former districts. Parsing and printing only; the checks and writes are
 * common/ocop/registry.c's (one unit) and common/ocop/units.c's (a file).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "client/record.h"
#include "common/ocop/registry.h"
#include "common/ocop/scope.h"
#include "common/ocop/units.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

/* Open the replica and the units (shipped and imported). */
static int
unit_open_units(cli_ctx *c, const char *cmd, ocp_units **units)
{
	int rv = cli_open(c, cmd, false);

	if (rv == OCOP_OK && (rv = cli_units_open(c, units)) != OCOP_OK) {
		cli_close(c);
	}
	return rv;
}

static json_t *
unit_json(const ocp_unit *e)
{
	json_t *o = json_object();

	if (o == NULL) {
		return NULL;
	}
	json_object_set_new(o, "code", json_string(e->code));
	json_object_set_new(o, "level", json_string(e->level));
	json_object_set_new(o, "name", json_string(e->name));
	json_object_set_new(o, "parent_code", e->parent[0] ? json_string(e->parent) : json_null());
	json_object_set_new(o, "valid_from", e->valid_from[0] ? json_string(e->valid_from) : json_null());
	json_object_set_new(o, "valid_to", e->valid_to[0] ? json_string(e->valid_to) : json_null());
	json_object_set_new(o, "successor_code", e->successor[0] ? json_string(e->successor) : json_null());
	json_object_set_new(o, "current", json_boolean(e->valid_to[0] == '\0'));
	json_object_set_new(o, "source", json_string(e->shipped ? "shipped" : "imported"));
	return o;
}

/* list: every unit known, shipped and imported, filtered. */
static int
unit_list(const cli_record *r, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"level", required_argument, NULL, 'l'},
	    {"under", required_argument, NULL, 'u'},
	    {"current", no_argument, NULL, 'c'},
	    {"former", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const keys[] = {"code", "level", "name", "valid_from", "valid_to",
	    "successor_code", "source"};
	ocp_units *units = NULL;
	const char *level = NULL;
	const char *under = NULL;
	int era = 0; /* 1 current only, 2 former only */
	json_t *arr;
	bool json = false;
	cli_ctx c;
	size_t i;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = "unit list";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return cli_record_usage(r, stdout, CLI_OK);
		case 'j':
			json = true;
			break;
		case 'l':
			level = optarg;
			break;
		case 'u':
			under = optarg;
			break;
		case 'c':
			era = 1;
			break;
		case 'f':
			era = 2;
			break;
		default:
			return cli_bad_option(&c, opt, argv);
		}
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (level != NULL && strcmp(level, "province") != 0 && strcmp(level, "district") != 0 &&
	    strcmp(level, "commune") != 0) {
		cli_err(&c, "--level must be province, district or commune, not '%s'", level);
		return CLI_USAGE;
	}
	if (under != NULL && !ocp_reg_code_valid(under)) {
		cli_err(&c, "--under needs a unit code (like 86 or 83-833), not '%s'", under);
		return CLI_USAGE;
	}
	if ((rv = unit_open_units(&c, c.cmd, &units)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	arr = json_array();
	for (i = 0; arr != NULL && i < ocp_units_count(units); i++) {
		const ocp_unit *e = ocp_units_at(units, i);

		const ocp_unit *prev = i > 0 ? ocp_units_at(units, i - 1) : NULL;

		if ((level && strcmp(e->level, level) != 0) || (under && !ocp_scope_covers(under, e->code)) ||
		    (era == 1 && e->valid_to[0]) || (era == 2 && !e->valid_to[0])) {
			continue;
		}
		/* A shipped unit the replica also records the same way is listed once, as the row. */
		if (e->shipped && prev != NULL && !prev->shipped && strcmp(prev->code, e->code) == 0 &&
		    strcmp(prev->valid_to, e->valid_to) == 0 && strcmp(prev->successor, e->successor) == 0) {
			continue;
		}
		json_array_append_new(arr, unit_json(e));
	}
	if (arr == NULL) {
		cli_err(&c, "out of memory");
		rv = OCOP_ENOMEM;
	} else if (json) {
		cli_json_print(arr);
	} else {
		for (i = 0; i < json_array_size(arr); i++) {
			cli_print_row(json_array_get(arr, i), keys, sizeof(keys) / sizeof(keys[0]));
		}
		json_decref(arr);
	}
	ocp_units_free(units);
	cli_close(&c);
	return cli_exit_code(rv);
}

/* map: the way from a code to the unit that holds it today. */
static int
unit_map(const cli_record *r, int argc, char **argv)
{
	char path[24][32];
	ocp_units *units = NULL;
	const char *code = NULL;
	json_t *o = NULL;
	json_t *arr = NULL;
	bool json = false;
	cli_ctx c;
	size_t n;
	size_t i;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = "unit map";
	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0) {
			json = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			return cli_record_usage(r, stdout, CLI_OK);
		} else if (argv[i][0] == '-' || code != NULL) {
			cli_err(&c, "unexpected argument '%s' (ocop unit map CODE [--json])", argv[i]);
			return CLI_USAGE;
		} else {
			code = argv[i];
		}
	}
	if (code == NULL) {
		cli_err(&c, "which unit? give its code");
		return CLI_USAGE;
	}
	if (!ocp_reg_code_valid(code) || strcmp(code, "VN") == 0) {
		cli_err(&c, "'%s' is not a unit code (like 86, 83-833 or 86-28969)", code);
		return CLI_USAGE;
	}
	if ((rv = unit_open_units(&c, c.cmd, &units)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	n = ocp_units_path(units, code, path, sizeof(path) / sizeof(path[0]));
	if (ocp_units_find(units, code) == NULL && n == 1) {
		cli_err(&c, "unit %s is not known: neither shipped (data/units) nor imported", code);
		ocp_units_free(units);
		cli_close(&c);
		return CLI_USAGE;
	}
	o = json_object();
	arr = json_array();
	for (i = 0; arr != NULL && i < n; i++) {
		json_array_append_new(arr, json_string(path[i]));
	}
	if (o != NULL && arr != NULL) {
		const char *nm = ocp_units_name(units, path[n - 1]);

		json_object_set_new(o, "code", json_string(code));
		json_object_set_new(o, "current", json_string(path[n - 1]));
		json_object_set_new(o, "name", nm ? json_string(nm) : json_null());
		json_object_set_new(o, "path", json_incref(arr));
	}
	json_decref(arr);
	if (o == NULL || arr == NULL) {
		cli_err(&c, "out of memory");
		rv = OCOP_ENOMEM;
	} else if (json) {
		cli_json_print(json_incref(o));
	} else {
		static const char *const mkeys[] = {"current", "name", "path"};

		cli_print_row(o, mkeys, sizeof(mkeys) / sizeof(mkeys[0]));
	}
	json_decref(o);
	ocp_units_free(units);
	cli_close(&c);
	return cli_exit_code(rv);
}

/* import: a province's communes and former districts from a CSV, all or nothing. */
static int
unit_import(const cli_record *r, int argc, char **argv)
{
	ocp_units *units = NULL;
	char *text = NULL;
	char err[1024];
	size_t len = 0;
	size_t n = 0;
	cli_ctx c;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = "unit import";
	if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		return cli_record_usage(r, stdout, CLI_OK);
	}
	if (argc != 2 || argv[1][0] == '-') {
		cli_err(&c, "needs exactly one file: ocop unit import FILE.csv");
		return CLI_USAGE;
	}
	if ((rv = cli_read_file(&c, argv[1], &text, &len)) != OCOP_OK) {
		return rv == OCOP_ENOENT ? CLI_USAGE : CLI_FAIL;
	}
	if ((rv = unit_open_units(&c, c.cmd, &units)) != OCOP_OK) {
		com_free(text);
		return cli_exit_code(rv);
	}
	rv = ocp_units_import(c.db, units, argv[1], text, len, &n, err, sizeof(err));
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", err);
	} else {
		printf("imported %zu unit%s from %s\n", n, n == 1 ? "" : "s", argv[1]);
	}
	com_free(text);
	ocp_units_free(units);
	cli_close(&c);
	return cli_exit_code(rv);
}

static const cli_verb verbs[] = {
    {"add", NULL, cli_record_add},
    {"set", NULL, cli_record_set},
    {"import", "import FILE.csv", unit_import},
    {"list", "list [--level L] [--under CODE] [--current|--former] [--json]", unit_list},
    {"map", "map CODE [--json]", unit_map},
};

int
cmd_unit(int argc, char **argv)
{
	const cli_record r = {ocp_entity_find("unit"), verbs, sizeof(verbs) / sizeof(verbs[0]),
	    "The 34 current provinces and the 63 former ones with their successors ship with\n"
	    "the program (data/units/); a province imports its communes and former districts\n"
	    "from a CSV saved as \"CSV UTF-8\" with the header\n"
	    "  " OCP_UNITS_HEADER "\n"
	    "(format: data/units/README.md; a file with one bad line is refused whole,\n"
	    "naming the line). 'list' shows shipped and imported units ('source'); 'map'\n"
	    "follows successors to the unit that holds a code today. Units are addressed by\n"
	    "code. Only province and national sites write units.\n", NULL, NULL};

	return cli_record_main(&r, argc, argv);
}
