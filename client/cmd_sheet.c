/*
 * cmd_sheet.c: `ocop sheet` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_sheet(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop sheet: not built yet\n");
	return CLI_FAIL;
}
