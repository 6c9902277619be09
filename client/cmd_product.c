/*
 * cmd_product.c: `ocop product add|set|list|show|delete|qr`, the products of a
 * subject. The options, the usage and the output come from the product's
 * field table (common/ocop/entity.c) through client/record.c; the label's QR
 * code is client/cmd_product_qr.c's.
 */
#include "client/cli.h"
#include "client/record.h"

/* qr: the label's QR code (client/cmd_product_qr.c). */
static int
product_qr(const cli_record *r, int argc, char **argv)
{
	(void)r;
	return cli_product_qr(argc, argv);
}

static const cli_verb verbs[] = {
    {"add", NULL, cli_record_add},
    {"set", NULL, cli_record_set},
    {"list", NULL, cli_record_list},
    {"show", NULL, cli_record_show},
    {"delete", NULL, cli_record_delete},
    {"qr", "qr ID --out FILE.png|FILE.svg [--url TEMPLATE]   (the label's QR code)", product_qr},
};

int
cmd_product(int argc, char **argv)
{
	const cli_record r = {ocp_entity_find("product"), verbs, sizeof(verbs) / sizeof(verbs[0]),
	    "A product's set chooses its rubric (qd26-2026/NN); a product with live dossiers\n"
	    "cannot be deleted. 'qr' writes the QR code for the product's label ('ocop product\n"
	    "qr --help').\n", NULL, NULL};

	return cli_record_main(&r, argc, argv);
}
