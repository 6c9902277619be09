/*
 * main.c: `ocopd`, the OCOP provincial or national server and its
 * administration commands. This file only dispatches; each command lives in
 * server/cmd_*.c and is listed in the table below. `ocopd <command> --help`
 * shows a command's options; `ocopd --config FILE` serves.
 */
#include <stdio.h>
#include <string.h>

#include "ocop_err.h"
#include "protocol/envelope.h"
#include "server/cmd.h"
#include "server/cmd_import.h"

static const srv_cmd commands[] = {
    {"init", srv_cmd_init, "create the server's database: role, scope, site id"},
    {"ca", srv_cmd_ca, "this server's CA for its trusted links: init"},
    {"site", srv_cmd_site, "the sites this server serves: add, list, revoke, rotate, set-scope"},
    {"status", srv_cmd_status, "sites, log size, ledger entries, hand-offs"},
    {"serve", srv_cmd_serve, "serve the sites until SIGTERM (also: ocopd --config FILE)"},
    {"import", srv_cmd_import, "serve a site's bundle from a USB stick and write the reply"},
    {"candidates", srv_cmd_candidates, "5-star candidates and their hand-off to the national tier"},
    {"handoff", srv_cmd_handoff, "carry a candidate to the national server by file, and back"},
    {"backup", srv_cmd_backup, "a consistent copy of the database while it serves"},
    {"restore", srv_cmd_restore, "put a backup in place of the database (ocopd stopped)"},
};

static const char main_usage[] =
    "usage: ocopd [--version] [--help] <command> [<options>]\n"
    "   or: ocopd --config FILE\n"
    "\n"
    "ocopd is the OCOP provincial or national server: it receives changes from\n"
    "sites over nng, merges them, keeps the conflict ledger and serves each site\n"
    "what changed in its scope.\n";

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
	srv_cmd_group_usage(out, main_usage, commands, N_COMMANDS);
	fprintf(out, "\nRun 'ocopd <command> --help' for a command's options.\n");
}

/* Run the command argv[0] with its arguments; -1 when there is no such command. */
static int
dispatch(int argc, char **argv)
{
	size_t i;

	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[0], commands[i].name) == 0) {
			return commands[i].fn(argc, argv);
		}
	}
	return -1;
}

int
main(int argc, char **argv)
{
	int rv;

	if (argc < 2) {
		usage(stderr);
		return SRV_CMD_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    (strcmp(argv[1], "help") == 0 && argc == 2)) {
		usage(stdout);
		return SRV_CMD_OK;
	}
	if (strcmp(argv[1], "help") == 0 && argc <= 4) {
		/* `ocopd help site add` is `ocopd site add --help`. */
		char *hv[4] = {argv[2], argc == 4 ? argv[3] : (char *)"--help", (char *)"--help", NULL};
		if (argc == 3) {
			hv[2] = NULL;
		}
		if ((rv = dispatch(argc - 1, hv)) >= 0) {
			return rv;
		}
		fprintf(stderr, "ocopd: '%s' is not an ocopd command. See 'ocopd --help'.\n", argv[2]);
		return SRV_CMD_USAGE;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
		printf("ocopd %s (protocol %d)\n", OCOP_VERSION_STRING, PROTO_VERSION);
		return SRV_CMD_OK;
	}
	if ((rv = dispatch(argc - 1, argv + 1)) >= 0) {
		return rv;
	}
	if (argv[1][0] == '-') {
		/* `ocopd --config FILE` and friends: serve. */
		return srv_cmd_serve(argc, argv);
	}
	fprintf(stderr, "ocopd: '%s' is not an ocopd command. See 'ocopd --help'.\n", argv[1]);
	return SRV_CMD_USAGE;
}
