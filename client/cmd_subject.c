/*
 * cmd_subject.c: `ocop subject add|set|list|show|delete`, the subjects (chủ thể)
 * that file dossiers. The options, the usage and the output come from the
 * subject's field table (common/ocop/entity.c) through client/record.c.
 */
#include "client/cli.h"
#include "client/record.h"

static const cli_verb verbs[] = {
    {"add", NULL, cli_record_add},
    {"set", NULL, cli_record_set},
    {"list", NULL, cli_record_list},
    {"show", NULL, cli_record_show},
    {"delete", NULL, cli_record_delete},
};

int
cmd_subject(int argc, char **argv)
{
	const cli_record r = {ocp_entity_find("subject"), verbs, sizeof(verbs) / sizeof(verbs[0]),
	    "A subject with live products cannot be deleted.\n", NULL, NULL};

	return cli_record_main(&r, argc, argv);
}
