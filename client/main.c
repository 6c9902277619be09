/*
 * main.c: the `ocop` command-line client, git-style subcommands over the local
 * replica. This file only dispatches; each subcommand lives in client/cmd_*.c
 * and is listed in the table below.
 */
#include <stdio.h>
#include <string.h>

#include "ocop_err.h"

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: ocop [--version] [--help] <command> [<args>]\n"
	    "\n"
	    "ocop records OCOP subjects, products, dossiers, evidence and council\n"
	    "scores in a local database that works offline, and replicates them to\n"
	    "the provincial server.\n"
	    "\n"
	    "Run 'ocop <command> --help' for a command's options.\n");
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("ocop %s\n", OCOP_VERSION_STRING);
		return 0;
	}
	fprintf(stderr, "ocop: '%s' is not an ocop command. See 'ocop --help'.\n", argv[1]);
	return 2;
}
