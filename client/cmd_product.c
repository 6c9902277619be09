/*
 * cmd_product.c: `ocop product add|set|list|show|delete`, the products of a
 * subject. The options, the usage and the output come from the product's
 * field table (common/ocop/entity.c) through client/record.c.
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
cmd_product(int argc, char **argv)
{
	const cli_record r = {ocp_entity_find("product"), verbs, sizeof(verbs) / sizeof(verbs[0]),
	    "A product's set chooses its rubric (qd26-2026/NN); a product with live dossiers\n"
	    "cannot be deleted.\n"};

	return cli_record_main(&r, argc, argv);
}
