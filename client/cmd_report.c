/*
 * cmd_report.c: `ocop report` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_report(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop report: not built yet\n");
	return CLI_FAIL;
}
