/*
 * cmd_document.c: `ocop document add|list|delete`, the evidence items of a
 * dossier. Metadata only (kind, title, SHA-256, size, date received); the blobs
 * themselves travel with the sync. Checks and writes are common/ocop/registry.c's.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/registry.h"
#include "ocop_err.h"

#define DOCUMENT_MAX_FIELDS 32

/* The options of add; document_cols[i] is the column of document_opts[i]. */
static const struct option document_opts[] = {
    {"dossier", required_argument, NULL, 0},
    {"kind", required_argument, NULL, 0},
    {"title", required_argument, NULL, 0},
    {"sha256", required_argument, NULL, 0},
    {"size", required_argument, NULL, 0},
    {"received", required_argument, NULL, 0},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const document_cols[] = {
    "dossier_id", "kind", "title", "sha256", "size", "received_on",
};

static int
document_usage(FILE *out, int rc)
{
	fprintf(out,
	    "usage: ocop document add --dossier ID --kind KIND --title TITLE [--sha256 HEX]\n"
	    "                         [--size BYTES] [--received DATE]\n"
	    "       ocop document list --dossier ID [--json]\n"
	    "       ocop document delete ID\n"
	    "\n"
	    "Evidence documents of a dossier (metadata only). 'add' prints the new id.\n"
	    "\n"
	    "  --kind KIND      a short lowercase word: mau01, mau02, business_registration,\n"
	    "                   lab_test, ... ; commune_report (Mẫu 03) is the one the\n"
	    "                   commune's move to province_review requires\n"
	    "  --title TITLE    what the document is\n"
	    "  --sha256 HEX     SHA-256 of the file, 64 hexadecimal digits\n"
	    "  --size BYTES     file size\n"
	    "  --received DATE  date received, YYYY-MM-DD\n");
	return rc;
}

static int
document_open(cli_ctx *c, const char *cmd, ocp_reg **reg)
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
document_add(int argc, char **argv)
{
	ocp_field f[DOCUMENT_MAX_FIELDS];
	ocp_reg *reg = NULL;
	char newid[37];
	cli_ctx c;
	size_t n = 0;
	int li = 0;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = "document add";
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", document_opts, &li)) != -1) {
		if (opt == 'h') {
			return document_usage(stdout, CLI_OK);
		}
		if (opt != 0) {
			return cli_bad_option(&c, opt, argv);
		}
		if (n == DOCUMENT_MAX_FIELDS) {
			cli_err(&c, "too many options");
			return CLI_USAGE;
		}
		f[n].col = document_cols[li];
		f[n++].val = optarg;
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if ((rv = document_open(&c, c.cmd, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_reg_add(reg, "document", f, n, newid);
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
	} else {
		printf("%s\n", newid);
	}
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_input(rv);
}

/* list (--dossier ID, --json) and delete (one id). */
static int
document_read(int argc, char **argv, const char *cmd)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"dossier", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const keys[] = {"id", "kind", "received_on", "sha256", "title"};
	bool list = strcmp(argv[0], "list") == 0;
	ocp_field filter;
	ocp_reg *reg = NULL;
	const char *id = NULL;
	json_t *v = NULL;
	bool json = false;
	cli_ctx c;
	size_t i;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	filter.col = "dossier_id";
	filter.val = NULL;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (opt == 'h') {
			return document_usage(stdout, CLI_OK);
		} else if (opt == 'j' && list) {
			json = true;
		} else if (opt == 'd' && list) {
			filter.val = optarg;
		} else {
			return cli_bad_option(&c, opt == 'j' || opt == 'd' ? '?' : opt, argv);
		}
	}
	if (list && filter.val == NULL) {
		cli_err(&c, "--dossier ID is required");
		return CLI_USAGE;
	}
	if (!list && optind < argc) {
		id = argv[optind++];
	} else if (!list) {
		cli_err(&c, "which document? give its id");
		return CLI_USAGE;
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if ((rv = document_open(&c, cmd, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	if (list) {
		/* An unknown dossier is an error, not an empty list. */
		rv = ocp_reg_get(reg, "dossier", filter.val, &v);
		json_decref(v);
		v = NULL;
		if (rv == OCOP_OK) {
			rv = ocp_reg_list(reg, "document", &filter, 1, &v);
		}
	} else if ((rv = ocp_reg_delete(reg, "document", id)) == OCOP_OK) {
		printf("%s\n", id);
	}
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
	} else if (v != NULL && json) {
		cli_json_print(json_incref(v));
	} else if (v != NULL) {
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
cmd_document(int argc, char **argv)
{
	cli_ctx c;

	memset(&c, 0, sizeof(c));
	c.cmd = "document";
	if (argc < 2) {
		return document_usage(stderr, CLI_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		return document_usage(stdout, CLI_OK);
	}
	if (strcmp(argv[1], "add") == 0) {
		c.cmd = "document add";
		return document_add(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "list") == 0) {
		c.cmd = "document list";
		return document_read(argc - 1, argv + 1, "document list");
	}
	if (strcmp(argv[1], "delete") == 0) {
		c.cmd = "document delete";
		return document_read(argc - 1, argv + 1, "document delete");
	}
	cli_err(&c, "unknown subcommand '%s' (add, list, delete)", argv[1]);
	return CLI_USAGE;
}
