/*
 * cmd_subject.c: `ocop subject add|list|show|set|delete`, the subjects (chủ thể)
 * that file dossiers. Parsing and printing only; the checks and writes are
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

#define SUBJECT_MAX_FIELDS 32

/* The field options of add and set; subject_cols[i] is the column of subject_opts[i]. */
static const struct option subject_opts[] = {
    {"name", required_argument, NULL, 0},
    {"kind", required_argument, NULL, 0},
    {"reg-no", required_argument, NULL, 0},
    {"reg-date", required_argument, NULL, 0},
    {"rep-name", required_argument, NULL, 0},
    {"rep-gender", required_argument, NULL, 0},
    {"rep-ethnicity", required_argument, NULL, 0},
    {"rep-disability", required_argument, NULL, 0},
    {"address", required_argument, NULL, 0},
    {"unit", required_argument, NULL, 0},
    {"phone", required_argument, NULL, 0},
    {"email", required_argument, NULL, 0},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const subject_cols[] = {
    "name", "kind", "reg_no", "reg_date", "rep_name", "rep_gender", "rep_ethnicity",
    "rep_disability", "address", "unit_code", "phone", "email",
};

static int
subject_usage(FILE *out, int rc)
{
	fprintf(out,
	    "usage: ocop subject add --name NAME --kind KIND --unit CODE [FIELDS...]\n"
	    "       ocop subject list [--unit CODE] [--json]\n"
	    "       ocop subject show ID [--json]\n"
	    "       ocop subject set ID --FIELD VALUE...\n"
	    "       ocop subject delete ID\n"
	    "\n"
	    "Subjects (chủ thể) are the cooperatives, enterprises, farms and households\n"
	    "that file OCOP dossiers. 'add' prints the new subject's id.\n"
	    "\n"
	    "Fields:\n"
	    "  --name NAME             name as registered (stored as typed, NFC)\n"
	    "  --kind KIND             htx, tht, dn, trang_trai, ho or other\n"
	    "  --unit CODE             administrative unit code (83-28882)\n"
	    "  --reg-no NO             business registration number\n"
	    "  --reg-date DATE         registration date, YYYY-MM-DD\n"
	    "  --rep-name NAME         legal representative\n"
	    "  --rep-gender G          female or male\n"
	    "  --rep-ethnicity E       the representative's ethnicity (e.g. Kinh, Khmer)\n"
	    "  --rep-disability YN     yes or no\n"
	    "  --address, --phone, --email\n"
	    "\n"
	    "'set' takes the same fields; an empty value clears an optional one.\n"
	    "'list --unit 83' also lists the subjects of the units below 83.\n");
	return rc;
}

static int
subject_open(cli_ctx *c, const char *cmd, ocp_reg **reg)
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
subject_parse(cli_ctx *c, int argc, char **argv, bool want_id, const char **id, ocp_field *f,
    size_t *n)
{
	int li = 0;
	int opt;

	*n = 0;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", subject_opts, &li)) != -1) {
		if (opt == 'h') {
			return subject_usage(stdout, CLI_OK);
		}
		if (opt != 0) {
			return cli_bad_option(c, opt, argv);
		}
		if (*n == SUBJECT_MAX_FIELDS) {
			cli_err(c, "too many options");
			return CLI_USAGE;
		}
		f[*n].col = subject_cols[li];
		f[(*n)++].val = optarg;
	}
	if (want_id && optind < argc) {
		*id = argv[optind++];
	} else if (want_id) {
		cli_err(c, "which subject? give its id");
		return CLI_USAGE;
	}
	if (optind < argc) {
		cli_err(c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	return -1;
}

static int
subject_write(int argc, char **argv, const char *cmd, bool add)
{
	ocp_field f[SUBJECT_MAX_FIELDS];
	ocp_reg *reg = NULL;
	const char *id = NULL;
	char newid[37];
	cli_ctx c;
	size_t n;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	if ((rv = subject_parse(&c, argc, argv, !add, &id, f, &n)) >= 0) {
		return rv;
	}
	if ((rv = subject_open(&c, cmd, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = add ? ocp_reg_add(reg, "subject", f, n, newid) : ocp_reg_set(reg, "subject", id, f, n);
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
	} else {
		printf("%s\n", add ? newid : id);
	}
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_input(rv);
}

/* list, show and delete: --json, --unit and one optional id. */
static int
subject_read(int argc, char **argv, const char *cmd)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"unit", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const keys[] = {"id", "kind", "unit_code", "name"};
	bool list = strcmp(argv[0], "list") == 0;
	bool del = strcmp(argv[0], "delete") == 0;
	ocp_field filter;
	ocp_reg *reg = NULL;
	const char *unit = NULL;
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
			return subject_usage(stdout, CLI_OK);
		} else if (opt == 'j' && !del) {
			json = true;
		} else if (opt == 'u' && list) {
			unit = optarg;
		} else {
			return cli_bad_option(&c, opt == 'j' || opt == 'u' ? '?' : opt, argv);
		}
	}
	if (!list && optind < argc) {
		id = argv[optind++];
	} else if (!list) {
		cli_err(&c, "which subject? give its id");
		return CLI_USAGE;
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if ((rv = subject_open(&c, cmd, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	filter.col = "unit_code";
	filter.val = unit;
	if (del) {
		rv = ocp_reg_delete(reg, "subject", id);
		if (rv == OCOP_OK) {
			printf("%s\n", id);
		}
	} else if (list) {
		rv = ocp_reg_list(reg, "subject", &filter, unit != NULL ? 1 : 0, &v);
	} else {
		rv = ocp_reg_get(reg, "subject", id, &v);
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
cmd_subject(int argc, char **argv)
{
	cli_ctx c;

	memset(&c, 0, sizeof(c));
	c.cmd = "subject";
	if (argc < 2) {
		return subject_usage(stderr, CLI_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		return subject_usage(stdout, CLI_OK);
	}
	if (strcmp(argv[1], "add") == 0) {
		c.cmd = "subject add";
		return subject_write(argc - 1, argv + 1, "subject add", true);
	}
	if (strcmp(argv[1], "set") == 0) {
		c.cmd = "subject set";
		return subject_write(argc - 1, argv + 1, "subject set", false);
	}
	if (strcmp(argv[1], "list") == 0) {
		c.cmd = "subject list";
		return subject_read(argc - 1, argv + 1, "subject list");
	}
	if (strcmp(argv[1], "show") == 0) {
		c.cmd = "subject show";
		return subject_read(argc - 1, argv + 1, "subject show");
	}
	if (strcmp(argv[1], "delete") == 0) {
		c.cmd = "subject delete";
		return subject_read(argc - 1, argv + 1, "subject delete");
	}
	cli_err(&c, "unknown subcommand '%s' (add, list, show, set, delete)", argv[1]);
	return CLI_USAGE;
}
