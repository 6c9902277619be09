/*
 * cmd_document.c: `ocop document` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_document(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop document: not built yet\n");
	return CLI_FAIL;
}
