/*
 * cmd_unit.c: `ocop unit` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_unit(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop unit: not built yet\n");
	return CLI_FAIL;
}
