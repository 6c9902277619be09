/*
 * cmd_subject.c: `ocop subject` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_subject(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop subject: not built yet\n");
	return CLI_FAIL;
}
