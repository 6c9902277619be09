/*
 * cmd_search.c: `ocop search TEXT`, subjects and products by name with or
 * without diacritics ("keo dua" finds "Kẹo dừa"). The folding and the query are
 * common/ocop/registry.c's.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/registry.h"
#include "ocop_err.h"

static int
search_usage(FILE *out, int rc)
{
	fprintf(out,
	    "usage: ocop search TEXT... [--json]\n"
	    "\n"
	    "Find subjects and products whose name contains TEXT, ignoring case and\n"
	    "diacritics (đ matches d). Several words are searched as one phrase.\n"
	    "Prints type, id, unit and name per line, subjects first.\n");
	return rc;
}

int
cmd_search(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const keys[] = {"type", "id", "unit_code", "name"};
	char text[1024];
	char err[512];
	ocp_reg *reg = NULL;
	json_t *v = NULL;
	bool json = false;
	size_t used = 0;
	size_t i;
	cli_ctx c;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = "search";
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (opt == 'h') {
			return search_usage(stdout, CLI_OK);
		} else if (opt == 'j') {
			json = true;
		} else {
			return cli_bad_option(&c, opt, argv);
		}
	}
	if (optind >= argc) {
		cli_err(&c, "what should I search for? (ocop search TEXT)");
		return CLI_USAGE;
	}
	text[0] = 0;
	for (; optind < argc; optind++) {
		size_t n = strlen(argv[optind]);

		if (used + n + 2 > sizeof(text)) {
			cli_err(&c, "the search text is too long");
			return CLI_USAGE;
		}
		if (used > 0) {
			text[used++] = ' ';
		}
		memcpy(text + used, argv[optind], n + 1);
		used += n;
	}
	if ((rv = cli_open(&c, "search", false)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	if ((rv = ocp_reg_open(&reg, c.db, c.data_dir, err, sizeof(err))) != OCOP_OK) {
		cli_err(&c, "%s", err);
		cli_close(&c);
		return cli_exit_code(rv);
	}
	rv = ocp_reg_search(reg, text, &v);
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
	} else if (json) {
		cli_json_print(json_incref(v));
	} else {
		for (i = 0; i < json_array_size(v); i++) {
			cli_print_row(json_array_get(v, i), keys, sizeof(keys) / sizeof(keys[0]));
		}
	}
	json_decref(v);
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_code(rv);
}
