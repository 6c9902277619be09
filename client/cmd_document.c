/*
 * cmd_document.c: `ocop document add|set|list|show|delete`, the evidence items
 * of a dossier: metadata only (kind, title, SHA-256, size, date received); the
 * blobs themselves travel with the sync. The options, the usage and the output
 * come from the document's field table (common/ocop/entity.c) through
 * client/record.c.
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
cmd_document(int argc, char **argv)
{
	const cli_record r = {ocp_entity_find("document"), verbs, sizeof(verbs) / sizeof(verbs[0]),
	    "commune_report (Mẫu 03) is the kind the commune's move to province_review\n"
	    "requires.\n"};

	return cli_record_main(&r, argc, argv);
}
