/*
 * cmd_init.c: `ocopd init`: create a server's database with its site id,
 * role (province or national) and scope.
 */
#include <stdio.h>
#include <string.h>

#include "ocop_err.h"
#include "server/cmd.h"

static const char init_usage[] =
    "usage: ocopd init --db PATH --role province|national --scope CODE [--site-id UUID]\n"
    "\n"
    "Create the server's database: a new replica with this server's site id\n"
    "(generated unless --site-id gives one), its role and the administrative\n"
    "unit it serves (a province code such as 83, or VN for the national server).\n"
    "Prints the server's site id. A database that already has an identity is refused.\n";

int
srv_cmd_init(int argc, char **argv)
{
	srv_opts o;
	sto_db *db = NULL;
	int rv;

	rv = srv_opts_parse(&o, argc, argv, SRV_OPT_DB | SRV_OPT_ROLE | SRV_OPT_SCOPE | SRV_OPT_SITE_ID, "init",
	    init_usage);
	if (rv != SRV_CMD_OK) {
		return rv == SRV_CMD_HELP ? SRV_CMD_OK : rv;
	}
	if (o.db == NULL || !srv_cmd_valid_role(o.role, true) || o.scope == NULL) {
		fprintf(stderr, "ocopd init: needs --db PATH, --role province|national and --scope CODE\n");
		return SRV_CMD_USAGE;
	}
	if (srv_cmd_open_db(o.db, true, &db) != OCOP_OK) {
		return SRV_CMD_FAIL;
	}
	rv = sto_site_init(db, o.site_id, o.role, o.scope);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd init: %s\n", sto_errmsg(db));
		sto_close(db);
		return rv == OCOP_EINVAL ? SRV_CMD_USAGE : SRV_CMD_FAIL;
	}
	printf("%s\n", sto_site_id(db));
	sto_close(db);
	return SRV_CMD_OK;
}
