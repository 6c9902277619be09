/*
 * cmd_result.c: `ocop result` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_result(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop result: not built yet\n");
	return CLI_FAIL;
}
