/*
 * cmd_member.c: `ocop member` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_member(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop member: not built yet\n");
	return CLI_FAIL;
}
