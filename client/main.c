/*
 * main.c: the `ocop` command-line client, git-style subcommands over the local
 * replica. This file only dispatches; each subcommand lives in client/cmd_*.c
 * and is listed in the table below.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "ocop_err.h"

static const cli_cmd commands[] = {
    {"init", cmd_init, "create the local replica: site id, role, unit scope"},
    {"unit", cmd_unit, "administrative units, old and new codes"},
    {"subject", cmd_subject, "subjects (chủ thể): cooperatives, enterprises, households"},
    {"product", cmd_product, "products of a subject"},
    {"dossier", cmd_dossier, "dossiers (hồ sơ): one product in one round, and their workflow"},
    {"document", cmd_document, "evidence documents of a dossier (metadata)"},
    {"search", cmd_search, "find subjects and products by name, with or without diacritics"},
    {"evaluation", cmd_evaluation, "council evaluations of a dossier"},
    {"member", cmd_member, "council members of an evaluation"},
    {"sheet", cmd_sheet, "members' score sheets: enter per criterion or import a CSV"},
    {"result", cmd_result, "an evaluation's result: totals, mean, stars, spread"},
    {"decision", cmd_decision, "recognition, approval, national result, revocation"},
    {"history", cmd_history, "import earlier rounds from a CSV (never re-scored), list them"},
    {"report", cmd_report, "the tables provinces publish (--csv for a spreadsheet)"},
    {"enrol", cmd_enrol, "take the enrolment file the server wrote for this site"},
    {"remote", cmd_remote, "where this site's server is, and its secrets (from files)"},
    {"sync", cmd_sync, "push local changes to the server and pull what changed (--watch)"},
    {"status", cmd_status, "pending changes, last sync, last error"},
    {"export", cmd_export, "write pending changes to a bundle file for the server (USB)"},
    {"import", cmd_import, "apply the reply bundle the server wrote for this site (USB)"},
    {"conflicts", cmd_conflicts, "the conflict ledger: list, show, resolve"},
    {"score", cmd_score, "score council sheets from a CSV file against a rubric (no database)"},
};

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out,
	    "usage: ocop [--version] [--help] [--db PATH] [--user NAME] <command> [<args>]\n"
	    "\n"
	    "ocop records OCOP subjects, products, dossiers, evidence and council\n"
	    "scores in a local database that works offline, and replicates them to\n"
	    "the provincial server.\n"
	    "\n"
	    "Commands:\n");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	}
	fprintf(out, "\nRun 'ocop <command> --help' for a command's options.\n");
}

/*
 * Global options come before the command and are passed to every subcommand
 * through the environment, so each one reads them the same way (cmdutil.c).
 * Both "--db PATH" and "--db=PATH" work. Returns false (with a message) for
 * an option without its value.
 */
static bool
global_options(int *argc, char ***argv)
{
	static const struct {
		const char *opt; /* the option */
		const char *env; /* where it goes */
	} globals[] = {{"--db", "OCOP_DB"}, {"--user", "OCOP_USER"}};

	while (*argc >= 2) {
		const char *a = (*argv)[1];
		bool found = false;
		size_t i;

		for (i = 0; i < sizeof(globals) / sizeof(globals[0]) && !found; i++) {
			size_t n = strlen(globals[i].opt);

			if (strncmp(a, globals[i].opt, n) != 0 || (a[n] != '\0' && a[n] != '=')) {
				continue;
			}
			found = true;
			if (a[n] == '=' && a[n + 1] != '\0') {
				setenv(globals[i].env, a + n + 1, 1);
				*argc -= 1;
				*argv += 1;
			} else if (a[n] == '\0' && *argc >= 3 && (*argv)[2][0] != '\0') {
				setenv(globals[i].env, (*argv)[2], 1);
				*argc -= 2;
				*argv += 2;
			} else {
				fprintf(stderr, "ocop: option %s needs a value (%s VALUE <command>). See 'ocop --help'.\n",
				    globals[i].opt, globals[i].opt);
				return false;
			}
		}
		if (!found) {
			break;
		}
	}
	return true;
}

int
main(int argc, char **argv)
{
	size_t i;

	if (!global_options(&argc, &argv)) {
		return CLI_USAGE;
	}
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("ocop %s\n", OCOP_VERSION_STRING);
		return CLI_OK;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[1], commands[i].name) == 0) {
			return commands[i].fn(argc - 1, argv + 1);
		}
	}
	if (argv[1][0] == '-') {
		fprintf(stderr, "ocop: unknown option '%s' (global options are --db PATH and --user NAME, before the "
				"command). See 'ocop --help'.\n",
		    argv[1]);
		return CLI_USAGE;
	}
	fprintf(stderr, "ocop: '%s' is not an ocop command. See 'ocop --help'.\n", argv[1]);
	return CLI_USAGE;
}
