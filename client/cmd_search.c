/*
 * cmd_search.c: `ocop search` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_search(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop search: not built yet\n");
	return CLI_FAIL;
}
