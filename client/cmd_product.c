/*
 * cmd_product.c: `ocop product add|list|show|set|delete`, the products of a
 * subject. Parsing and printing only; the checks and writes are
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

#define PRODUCT_MAX_FIELDS 32

/* The field options of add and set; product_cols[i] is the column of product_opts[i]. */
static const struct option product_opts[] = {
    {"subject", required_argument, NULL, 0},
    {"name", required_argument, NULL, 0},
    {"set", required_argument, NULL, 0},
    {"code", required_argument, NULL, 0},
    {"unit", required_argument, NULL, 0},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const product_cols[] = {
    "subject_id", "name", "product_set", "product_code", "unit_code",
};

static int
product_usage(FILE *out, int rc)
{
	fprintf(out,
	    "usage: ocop product add --subject ID --name NAME --set NN [--code CODE] [--unit CODE]\n"
	    "       ocop product list [--subject ID] [--json]\n"
	    "       ocop product show ID [--json]\n"
	    "       ocop product set ID [--name NAME] [--set NN] [--code CODE] [--unit CODE]\n"
	    "       ocop product delete ID\n"
	    "\n"
	    "Products of a subject. 'add' prints the new product's id.\n"
	    "\n"
	    "  --subject ID   the subject that makes it\n"
	    "  --name NAME    product name (stored as typed, NFC)\n"
	    "  --set NN       product set of the rubric, 01 to 26 (QĐ 26/2026 Phụ lục II)\n"
	    "  --code CODE    product code as issued, e.g. 83-832-28882-2-2022 (never rewritten)\n"
	    "  --unit CODE    unit code when it differs from the subject's\n");
	return rc;
}

static int
product_open(cli_ctx *c, const char *cmd, ocp_reg **reg)
{
	char err[512];
	int rv = cli_open(c, cmd, false);

	if (rv == OCOP_OK && (rv = ocp_reg_open(reg, c->db, c->data_dir, err, sizeof(err))) != OCOP_OK) {
		cli_err(c, "%s", err);
		cli_close(c);
	}
	return rv;
}

/*
 * Parse the field options into f; *id receives the one positional argument
 * when want_id. Returns -1 to go on, or the exit code.
 */
static int
product_parse(cli_ctx *c, int argc, char **argv, bool want_id, const char **id, ocp_field *f,
    size_t *n)
{
	int li = 0;
	int opt;

	*n = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", product_opts, &li)) != -1) {
		if (opt == 'h') {
			return product_usage(stdout, CLI_OK);
		}
		if (opt != 0) {
			return cli_bad_option(c, opt, argv);
		}
		if (*n == PRODUCT_MAX_FIELDS) {
			cli_err(c, "too many options");
			return CLI_USAGE;
		}
		f[*n].col = product_cols[li];
		f[(*n)++].val = optarg;
	}
	if (want_id && optind < argc) {
		*id = argv[optind++];
	} else if (want_id) {
		cli_err(c, "which product? give its id");
		return CLI_USAGE;
	}
	if (optind < argc) {
		cli_err(c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	return -1;
}

static int
product_write(int argc, char **argv, const char *cmd, bool add)
{
	ocp_field f[PRODUCT_MAX_FIELDS];
	ocp_reg *reg = NULL;
	const char *id = NULL;
	char newid[37];
	cli_ctx c;
	size_t n;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	if ((rv = product_parse(&c, argc, argv, !add, &id, f, &n)) >= 0) {
		return rv;
	}
	if ((rv = product_open(&c, cmd, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = add ? ocp_reg_add(reg, "product", f, n, newid) : ocp_reg_set(reg, "product", id, f, n);
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
	} else {
		printf("%s\n", add ? newid : id);
	}
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_input(rv);
}

/* list, show and delete: --json, --subject and one optional id. */
static int
product_read(int argc, char **argv, const char *cmd)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"subject", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const keys[] = {"id", "product_set", "subject_name", "name"};
	bool list = strcmp(argv[0], "list") == 0;
	bool del = strcmp(argv[0], "delete") == 0;
	ocp_field filter;
	ocp_reg *reg = NULL;
	const char *subject = NULL;
	const char *id = NULL;
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
			return product_usage(stdout, CLI_OK);
		} else if (opt == 'j' && !del) {
			json = true;
		} else if (opt == 'u' && list) {
			subject = optarg;
		} else {
			return cli_bad_option(&c, opt == 'j' || opt == 'u' ? '?' : opt, argv);
		}
	}
	if (!list && optind < argc) {
		id = argv[optind++];
	} else if (!list) {
		cli_err(&c, "which product? give its id");
		return CLI_USAGE;
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if ((rv = product_open(&c, cmd, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	filter.col = "subject_id";
	filter.val = subject;
	if (del) {
		rv = ocp_reg_delete(reg, "product", id);
		if (rv == OCOP_OK) {
			printf("%s\n", id);
		}
	} else if (list) {
		rv = ocp_reg_list(reg, "product", &filter, subject != NULL ? 1 : 0, &v);
	} else {
		rv = ocp_reg_get(reg, "product", id, &v);
	}
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
	} else if (v != NULL && json) {
		cli_json_print(json_incref(v));
	} else if (v != NULL && list) {
		for (i = 0; i < json_array_size(v); i++) {
			cli_print_row(json_array_get(v, i), keys, sizeof(keys) / sizeof(keys[0]));
		}
	} else if (v != NULL) {
		cli_print_object(v);
	}
	json_decref(v);
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_input(rv);
}

int
cmd_product(int argc, char **argv)
{
	cli_ctx c;

	memset(&c, 0, sizeof(c));
	c.cmd = "product";
	if (argc < 2) {
		return product_usage(stderr, CLI_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		return product_usage(stdout, CLI_OK);
	}
	if (strcmp(argv[1], "add") == 0) {
		c.cmd = "product add";
		return product_write(argc - 1, argv + 1, "product add", true);
	}
	if (strcmp(argv[1], "set") == 0) {
		c.cmd = "product set";
		return product_write(argc - 1, argv + 1, "product set", false);
	}
	if (strcmp(argv[1], "list") == 0) {
		c.cmd = "product list";
		return product_read(argc - 1, argv + 1, "product list");
	}
	if (strcmp(argv[1], "show") == 0) {
		c.cmd = "product show";
		return product_read(argc - 1, argv + 1, "product show");
	}
	if (strcmp(argv[1], "delete") == 0) {
		c.cmd = "product delete";
		return product_read(argc - 1, argv + 1, "product delete");
	}
	cli_err(&c, "unknown subcommand '%s' (add, list, show, set, delete)", argv[1]);
	return CLI_USAGE;
}
