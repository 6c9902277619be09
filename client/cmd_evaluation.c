/*
 * cmd_evaluation.c: `ocop evaluation` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_evaluation(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop evaluation: not built yet\n");
	return CLI_FAIL;
}
