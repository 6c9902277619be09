/*
 * cmd_site.c: `ocopd site`: the sites a server serves. `site add` registers
 * one and prints what it needs to connect; `site list` shows every site with
 * its sync state. Registered sites live in the database, not the config, so
 * adding one needs no restart. More sub-commands join the table below.
 */
#include <stdio.h>
#include <string.h>

#include "ocop_err.h"
#include "server/cmd.h"
#include "server/registry.h"

static const char site_usage[] =
    "usage: ocopd site <command> --db PATH [options]\n"
    "\n"
    "The sites (commune and district offices, the provincial office, council\n"
    "members' laptops, provinces at a national server) this server serves.\n"
    "Run 'ocopd site <command> --help' for a command's options.\n";

static const char site_add_usage[] =
    "usage: ocopd site add --db PATH --role ROLE --scope CODES [--name TEXT] [--site-id UUID]\n"
    "                      [--server-url URL] [--json]\n"
    "\n"
    "Register a site and print its site id and a fresh credential, with the\n"
    "commands to run on the site. ROLE is commune, district, province, national\n"
    "or member; CODES are the unit codes it serves, comma-separated (83-28882).\n"
    "--server-url is the address the site will reach this server at, for the\n"
    "printed commands. The credential is shown once and stored only as a digest.\n";

static const char site_list_usage[] =
    "usage: ocopd site list --db PATH [--json]\n"
    "\n"
    "Every registered site with its role, scope, the highest change applied from\n"
    "it (hw), the cursor it acknowledged and when it was last seen.\n";

static int
site_add(int argc, char **argv)
{
	srv_opts o;
	sto_db *db = NULL;
	char site[37];
	char cred[SRV_CREDENTIAL_LEN + 1];
	int rv;

	rv = srv_opts_parse(&o, argc, argv,
	    SRV_OPT_DB | SRV_OPT_ROLE | SRV_OPT_SCOPE | SRV_OPT_NAME | SRV_OPT_SITE_ID | SRV_OPT_SERVER_URL |
		SRV_OPT_JSON,
	    "site add", site_add_usage);
	if (rv != SRV_CMD_OK) {
		return rv == SRV_CMD_HELP ? SRV_CMD_OK : rv;
	}
	if (o.db == NULL || !srv_cmd_valid_role(o.role, false) || o.scope == NULL || !*o.scope) {
		fprintf(stderr, "ocopd site add: needs --db PATH, --role commune|district|province|national|member"
				" and --scope CODES\n");
		return SRV_CMD_USAGE;
	}
	if (srv_cmd_open_db(o.db, false, &db) != OCOP_OK) {
		return SRV_CMD_FAIL;
	}
	rv = srv_registry_add(db, o.site_id, o.role, o.scope, o.name, site, cred);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd site add: %s\n", sto_errmsg(db));
		sto_close(db);
		return rv == OCOP_EINVAL ? SRV_CMD_USAGE : SRV_CMD_FAIL;
	}
	if (o.json) {
		srv_cmd_json_print(json_pack("{s:s, s:s, s:s, s:s}", "site_id", site, "credential", cred, "role",
		    o.role, "scope", o.scope));
	} else {
		printf("site_id    %s\ncredential %s\nrole       %s\nscope      %s\n\n", site, cred, o.role, o.scope);
		printf("On the site, run:\n  ocop init --site-id %s --role %s --scope %s\n"
		       "  ocop remote --server %s --credential %s\n  ocop sync\n",
		    site, o.role, o.scope, o.server_url ? o.server_url : "tcp://SERVER:7450", cred);
	}
	sto_close(db);
	return SRV_CMD_OK;
}

static void
site_row(void *arg, const srv_peer *p)
{
	json_t *arr = arg;

	if (arr != NULL) {
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s}", "site_id",
		    p->site, "name", p->name, "role", p->role, "scope", p->scope, "high_water",
		    (json_int_t)p->high_water, "cursor", (json_int_t)p->cursor, "last_seen", p->last_seen));
	} else {
		printf("%-36s  %-8s  %-12s  hw %-6llu  cursor %-6llu  %s  %s\n", p->site, p->role, p->scope,
		    (unsigned long long)p->high_water, (unsigned long long)p->cursor,
		    p->last_seen[0] ? p->last_seen : "never", p->name);
	}
}

int
srv_cmd_sites(sto_db *db, json_t *arr)
{
	return srv_registry_each(db, site_row, arr);
}

static int
site_list(int argc, char **argv)
{
	srv_opts o;
	sto_db *db = NULL;
	json_t *arr = NULL;
	int rv;

	rv = srv_opts_parse(&o, argc, argv, SRV_OPT_DB | SRV_OPT_JSON, "site list", site_list_usage);
	if (rv != SRV_CMD_OK) {
		return rv == SRV_CMD_HELP ? SRV_CMD_OK : rv;
	}
	if (o.db == NULL) {
		fprintf(stderr, "ocopd site list: needs --db PATH\n");
		return SRV_CMD_USAGE;
	}
	if (srv_cmd_open_db(o.db, false, &db) != OCOP_OK) {
		return SRV_CMD_FAIL;
	}
	if (o.json) {
		arr = json_array();
	}
	rv = srv_cmd_sites(db, arr);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd site list: %s\n", ocop_strerror(rv));
		json_decref(arr);
		sto_close(db);
		return SRV_CMD_FAIL;
	}
	if (arr != NULL) {
		srv_cmd_json_print(arr);
	}
	sto_close(db);
	return SRV_CMD_OK;
}

static const srv_cmd site_cmds[] = {
    {"add", site_add, "register a site; prints what the site needs to connect"},
    {"list", site_list, "registered sites and their sync state"},
};

int
srv_cmd_site(int argc, char **argv)
{
	return srv_cmd_group(site_usage, site_cmds, sizeof(site_cmds) / sizeof(site_cmds[0]), argc, argv);
}
