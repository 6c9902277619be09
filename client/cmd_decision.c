/*
 * cmd_decision.c: `ocop decision` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_decision(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop decision: not built yet\n");
	return CLI_FAIL;
}
