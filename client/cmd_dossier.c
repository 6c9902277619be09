/*
 * cmd_dossier.c: `ocop dossier add|set|list|show|next|move`, one product's
 * application in one round and its workflow. add, set and show come from the
 * dossier's field table through client/record.c; list adds the round filter
 * (--round YYYY/N); next and move are the workflow's. Which moves exist and
 * who may make them is the workflow and authority configuration's business;
 * the checks and writes are common/ocop/registry.c's.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "client/record.h"
#include "common/ocop/council.h"
#include "common/ocop/registry.h"
#include "ocop_err.h"

#define DOSSIER_MAX_ARGS 64 /* arguments of a list command line */

/* list: the table's filters, and --round YYYY/N as the year and the number. */
static int
dossier_list(const cli_record *r, int argc, char **argv)
{
	char *rest[DOSSIER_MAX_ARGS];
	ocp_field extra[2];
	char year[16];
	char round[16];
	const char *val = NULL;
	int n = 0;
	int i;

	if (argc > DOSSIER_MAX_ARGS) {
		fprintf(stderr, "ocop dossier list: too many arguments\n");
		return CLI_USAGE;
	}
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--round") == 0 && i + 1 < argc) {
			val = argv[++i];
		} else if (strncmp(argv[i], "--round=", 8) == 0) {
			val = argv[i] + 8;
		} else {
			rest[n++] = argv[i];
		}
	}
	if (val == NULL) {
		return cli_record_list(r, n, rest);
	}
	{
		const char *slash = strchr(val, '/');

		if (slash == NULL || slash == val || slash[1] == 0 || (size_t)(slash - val) >= sizeof(year) ||
		    strlen(slash + 1) >= sizeof(round)) {
			fprintf(stderr, "ocop dossier list: --round must be YYYY/N (like 2026/1), not '%s'\n", val);
			return CLI_USAGE;
		}
		snprintf(year, sizeof(year), "%.*s", (int)(slash - val), val);
		snprintf(round, sizeof(round), "%s", slash + 1);
	}
	extra[0].col = "round_year";
	extra[0].val = year;
	extra[1].col = "round_no";
	extra[1].val = round;
	return cli_record_list_filtered(r, n, rest, extra, 2);
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
dossier_do_move(const cli_ctx *c, ocp_reg *reg, const char *id, const char *to, const char *note,
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

/* next and move: one dossier id and their options. */
static int
dossier_flow(const cli_record *r, int argc, char **argv)
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
	const char *to = NULL;
	const char *note = NULL;
	const char *deadline = NULL;
	const char *id = NULL;
	ocp_reg *reg = NULL;
	json_t *v = NULL;
	bool json = false;
	char err[512];
	cli_ctx c;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = move ? "dossier move" : "dossier next";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		if (opt == 'h') {
			return cli_record_usage(r, stdout, CLI_OK);
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
	if ((rv = cli_open(&c, c.cmd, false)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	if ((rv = ocp_reg_open(&reg, c.db, c.data_dir, err, sizeof(err))) != OCOP_OK) {
		cli_err(&c, "%s", err);
		cli_close(&c);
		return cli_exit_code(rv);
	}
	rv = move ? dossier_do_move(&c, reg, id, to, note, deadline) : ocp_reg_dossier_next(reg, id, &v);
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg)[0] ? ocp_reg_errmsg(reg) : ocop_strerror(rv));
	} else if (move) {
		printf("%s\n", id);
	} else if (json) {
		cli_json_print(json_incref(v));
	} else {
		dossier_print_next(v);
	}
	json_decref(v);
	ocp_reg_close(reg);
	cli_close(&c);
	return cli_exit_input(rv);
}

static const cli_verb verbs[] = {
    {"add", NULL, cli_record_add},
    {"set", NULL, cli_record_set},
    {"list", "list [--status S] [--round YYYY/N] [--product ID] [--type T]\n"
	     "                         [--basis B] [--unit CODE] [--json]",
	dossier_list},
    {"show", NULL, cli_record_show},
    {"next", "next ID [--json]", dossier_flow},
    {"move", "move ID --to STATE [--note TEXT] [--deadline DATE]", dossier_flow},
};

int
cmd_dossier(int argc, char **argv)
{
	const cli_record r = {ocp_entity_find("dossier"), verbs, sizeof(verbs) / sizeof(verbs[0]),
	    "'set' is for what a clerk corrects: the evaluation type, the rubric (it must\n"
	    "agree with the legal basis and the product's set), the unit and province codes,\n"
	    "the product code, the issuing body and the filing date. The status changes only\n"
	    "by 'move'.\n"
	    "\n"
	    "'next' lists the moves this site's role may make. 'move' makes one: a\n"
	    "reopen (return, request for update) needs --note and bumps the epoch; a\n"
	    "request for update needs --deadline. Other requirements are checked against\n"
	    "the dossier's documents (commune_report) and the council's records (scores,\n"
	    "star, decisions). A move the rules refuse exits 1 and changes nothing.\n", NULL, NULL};

	return cli_record_main(&r, argc, argv);
}
