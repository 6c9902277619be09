/*
 * main.c: the `ocop` command-line client, git-style subcommands over the local
 * replica. This file only dispatches; each subcommand lives in client/cmd_*.c
 * and is listed in the table below.
 */
#include <stdio.h>
#include <string.h>

#include "client/cli.h"
#include "ocop_err.h"

static const cli_cmd commands[] = {
    {"score", cmd_score, "score council sheets from a CSV file against a rubric (no database)"},
};

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out,
	    "usage: ocop [--version] [--help] <command> [<args>]\n"
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

int
main(int argc, char **argv)
{
	size_t i;

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
	fprintf(stderr, "ocop: '%s' is not an ocop command. See 'ocop --help'.\n", argv[1]);
	return CLI_USAGE;
}
