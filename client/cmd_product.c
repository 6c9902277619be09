/*
 * cmd_product.c: `ocop product` (placeholder: being written; refuses to run rather than pretend).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_product(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop product: not built yet\n");
	return CLI_FAIL;
}
