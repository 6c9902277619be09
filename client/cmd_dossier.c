/*
 * cmd_dossier.c: `ocop dossier add|list|show|next|move`, one product's
 * application in one round and its workflow. Which moves exist and who may make
 * them is the workflow and authority configuration's business; the checks and
 * writes are common/ocop/registry.c's. This file parses and prints.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/council.h"
#include "common/ocop/registry.h"
#include "ocop_err.h"

#define DOSSIER_MAX_FIELDS 32

/* The options of add; dossier_cols[i] is the column of dossier_opts[i]. */
static const struct option dossier_opts[] = {
    {"product", required_argument, NULL, 0},
    {"year", required_argument, NULL, 0},
    {"round", required_argument, NULL, 0},
    {"type", required_argument, NULL, 0},
    {"basis", required_argument, NULL, 0},
    {"rubric", required_argument, NULL, 0},
    {"unit", required_argument, NULL, 0},
    {"province", required_argument, NULL, 0},
    {"code", required_argument, NULL, 0},
    {"issuer", required_argument, NULL, 0},
    {"filed", required_argument, NULL, 0},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static const char *const dossier_cols[] = {
    "product_id", "round_year", "round_no", "eval_type", "legal_basis", "rubric_id",
    "unit_code", "province_code", "product_code", "issuing_body", "filed_on",
};

static int
dossier_usage(FILE *out, int rc)
{
	fprintf(out,
	    "usage: ocop dossier add --product ID --year YYYY --round N [--type T] [--basis B]\n"
	    "                        [--rubric ID] [--unit CODE] [--province CODE]\n"
	    "                        [--code PRODUCT_CODE] [--issuer BODY] [--filed DATE]\n"
	    "       ocop dossier list [--status S] [--round YYYY/N] [--product ID] [--json]\n"
	    "       ocop dossier show ID [--json]\n"
	    "       ocop dossier next ID [--json]\n"
	    "       ocop dossier move ID --to STATE [--note TEXT] [--deadline DATE]\n"
	    "\n"
	    "A dossier is one product's application in one round. 'add' prints its id;\n"
	    "it starts in the workflow's first state with epoch 0.\n"
	    "\n"
	    "  --type T         first (default), upgrade or reeval\n"
	    "  --basis B        legal basis: qd26-2026 (default) or qd148-2023\n"
	    "  --rubric ID      default <basis>/<product set>, e.g. qd26-2026/01\n"
	    "  --unit CODE      default the product's unit, else its subject's\n"
	    "  --province CODE  default the first segment of the unit code\n"
	    "  --code CODE      product code as issued (default the product's)\n"
	    "  --issuer BODY    issuing body as it was named at the time\n"
	    "  --filed DATE     filing date, YYYY-MM-DD (default today)\n"
	    "\n"
	    "'next' lists the moves this site's role may make. 'move' makes one: a\n"
	    "reopen (return, request for update) needs --note and bumps the epoch; a\n"
	    "request for update needs --deadline. Other requirements are checked against\n"
	    "the dossier's documents (commune_report) and the council's records (scores,\n"
	    "star, decisions). A move the rules refuse exits 1 and changes nothing.\n");
	return rc;
}

static int
dossier_open(cli_ctx *c, const char *cmd, ocp_reg **reg)
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
dossier_add(int argc, char **argv)
{
	ocp_field f[DOSSIER_MAX_FIELDS];
	ocp_reg *reg = NULL;
	char newid[37];
	cli_ctx c;
	size_t n = 0;
	int li = 0;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = "dossier add";
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", dossier_opts, &li)) != -1) {
		if (opt == 'h') {
			return dossier_usage(stdout, CLI_OK);
		}
		if (opt != 0) {
			return cli_bad_option(&c, opt, argv);
		}
		if (n == DOSSIER_MAX_FIELDS) {
			cli_err(&c, "too many options");
			return CLI_USAGE;
		}
		f[n].col = dossier_cols[li];
		f[n++].val = optarg;
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if ((rv = dossier_open(&c, c.cmd, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_reg_add(reg, "dossier", f, n, newid);
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
	} else {
		printf("%s\n", newid);
	}
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_input(rv);
}

static int
dossier_list(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"status", required_argument, NULL, 's'},
	    {"round", required_argument, NULL, 'r'},
	    {"product", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char *const keys[] = {"id", "round_year", "round_no", "status", "epoch",
	    "product_name"};
	ocp_field filter[8];
	char year[16];
	char round[16];
	ocp_reg *reg = NULL;
	const char *slash;
	json_t *v = NULL;
	bool json = false;
	size_t n = 0;
	size_t i;
	cli_ctx c;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = "dossier list";
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			return dossier_usage(stdout, CLI_OK);
		case 'j':
			json = true;
			break;
		case 's':
			filter[n].col = "status";
			filter[n++].val = optarg;
			break;
		case 'p':
			filter[n].col = "product_id";
			filter[n++].val = optarg;
			break;
		case 'r':
			slash = strchr(optarg, '/');
			if (slash == NULL || slash == optarg || slash[1] == 0 ||
			    (size_t)(slash - optarg) >= sizeof(year) || strlen(slash + 1) >= sizeof(round)) {
				cli_err(&c, "--round must be YYYY/N (like 2026/1), not '%s'", optarg);
				return CLI_USAGE;
			}
			snprintf(year, sizeof(year), "%.*s", (int)(slash - optarg), optarg);
			snprintf(round, sizeof(round), "%s", slash + 1);
			filter[n].col = "round_year";
			filter[n++].val = year;
			filter[n].col = "round_no";
			filter[n++].val = round;
			break;
		default:
			return cli_bad_option(&c, opt, argv);
		}
		/* Leaves room for the two entries of the next --round. */
		if (n > sizeof(filter) / sizeof(filter[0]) - 2) {
			cli_err(&c, "give each filter once");
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if ((rv = dossier_open(&c, c.cmd, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_reg_list(reg, "dossier", filter, n, &v);
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
	return cli_exit_input(rv);
}

static void
dossier_print_next(const json_t *v)
{
	const json_t *next = json_object_get(v, "next");
	static const char *const keys[] = {"to", "kind", "requires", "label"};
	size_t i;

	if (json_array_size(next) == 0) {
		fprintf(stderr, "ocop dossier next: no move from '%s' for this site's role\n",
		    json_string_value(json_object_get(v, "status")));
	}
	for (i = 0; i < json_array_size(next); i++) {
		cli_print_row(json_array_get(next, i), keys, sizeof(keys) / sizeof(keys[0]));
	}
}

/*
 * Make a move with the council's records behind the requirement flags the
 * registry cannot check itself (scores complete, star, decision...).
 */
static int
dossier_move(const cli_ctx *c, ocp_reg *reg, const char *id, const char *to, const char *note,
    const char *deadline)
{
	ocp_council *council = NULL;
	ocp_reg_require req;
	int rv;

	if ((rv = ocp_council_open(&council, c->db, c->data_dir)) != OCOP_OK) {
		return rv;
	}
	req.fn = ocp_council_require;
	req.arg = council;
	ocp_reg_set_require(reg, &req);
	rv = ocp_reg_dossier_move(reg, id, to, note, deadline);
	ocp_reg_set_require(reg, NULL);
	ocp_council_close(council);
	return rv;
}

/* show, next and move: one dossier id and their options. */
static int
dossier_one(int argc, char **argv, const char *cmd)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"to", required_argument, NULL, 't'},
	    {"note", required_argument, NULL, 'n'},
	    {"deadline", required_argument, NULL, 'd'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool move = strcmp(argv[0], "move") == 0;
	bool next = strcmp(argv[0], "next") == 0;
	const char *to = NULL;
	const char *note = NULL;
	const char *deadline = NULL;
	const char *id = NULL;
	ocp_reg *reg = NULL;
	json_t *v = NULL;
	bool json = false;
	cli_ctx c;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = cmd;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (opt == 'h') {
			return dossier_usage(stdout, CLI_OK);
		} else if (opt == 'j' && !move) {
			json = true;
		} else if (opt == 't' && move) {
			to = optarg;
		} else if (opt == 'n' && move) {
			note = optarg;
		} else if (opt == 'd' && move) {
			deadline = optarg;
		} else {
			return cli_bad_option(&c, opt == ':' ? ':' : '?', argv);
		}
	}
	if (optind < argc) {
		id = argv[optind++];
	} else {
		cli_err(&c, "which dossier? give its id");
		return CLI_USAGE;
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (move && to == NULL) {
		cli_err(&c, "--to STATE is required (see 'ocop dossier next %s')", id);
		return CLI_USAGE;
	}
	if ((rv = dossier_open(&c, cmd, &reg)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	if (move) {
		rv = dossier_move(&c, reg, id, to, note, deadline);
	} else if (next) {
		rv = ocp_reg_dossier_next(reg, id, &v);
	} else {
		rv = ocp_reg_get(reg, "dossier", id, &v);
	}
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg)[0] ? ocp_reg_errmsg(reg) : ocop_strerror(rv));
	} else if (move) {
		printf("%s\n", id);
	} else if (json) {
		cli_json_print(json_incref(v));
	} else if (next) {
		dossier_print_next(v);
	} else {
		cli_print_object(v);
	}
	json_decref(v);
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_input(rv);
}

int
cmd_dossier(int argc, char **argv)
{
	cli_ctx c;

	memset(&c, 0, sizeof(c));
	c.cmd = "dossier";
	if (argc < 2) {
		return dossier_usage(stderr, CLI_USAGE);
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		return dossier_usage(stdout, CLI_OK);
	}
	if (strcmp(argv[1], "add") == 0) {
		c.cmd = "dossier add";
		return dossier_add(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "list") == 0) {
		c.cmd = "dossier list";
		return dossier_list(argc - 1, argv + 1);
	}
	if (strcmp(argv[1], "show") == 0) {
		c.cmd = "dossier show";
		return dossier_one(argc - 1, argv + 1, "dossier show");
	}
	if (strcmp(argv[1], "next") == 0) {
		c.cmd = "dossier next";
		return dossier_one(argc - 1, argv + 1, "dossier next");
	}
	if (strcmp(argv[1], "move") == 0) {
		c.cmd = "dossier move";
		return dossier_one(argc - 1, argv + 1, "dossier move");
	}
	cli_err(&c, "unknown subcommand '%s' (add, list, show, next, move)", argv[1]);
	return CLI_USAGE;
}
