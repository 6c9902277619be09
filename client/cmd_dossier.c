/*
 * cmd_dossier.c: `ocop dossier` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_dossier(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop dossier: not built yet\n");
	return CLI_FAIL;
}
