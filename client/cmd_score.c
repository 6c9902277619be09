/*
 * cmd_score.c: `ocop score`, the standalone scorer (placeholder until the rubric
 * module lands; refuses to run rather than print a made-up result).
 */
#include <stdio.h>

#include "client/cli.h"

int
cmd_score(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	fprintf(stderr, "ocop score: the scorer is not built yet\n");
	return CLI_FAIL;
}
