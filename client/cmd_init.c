/*
 * cmd_init.c: `ocop init` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_init(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop init: not built yet\n");
	return CLI_FAIL;
}
