/*
 * cmd_site.c: `ocopd site`: the sites a server serves. `site list` shows
 * every site with its sync state; `site add`, `revoke`, `rotate` and
 * `set-scope` (server/cmd_trust.c) manage a site's identity and secrets.
 * Registered sites live in the database, not the config, so every change
 * takes effect at the site's next request, without a restart.
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

static const char site_list_usage[] =
    "usage: ocopd site list --db PATH [--json]\n"
    "\n"
    "Every registered site with its role, scope, the highest change applied from\n"
    "it (hw), the cursor it acknowledged and when it was last seen.\n";

static void
site_row(void *arg, const srv_peer *p)
{
	json_t *arr = arg;

	if (arr != NULL) {
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:s, s:s, s:s}", "site_id",
		    p->site, "name", p->name, "role", p->role, "scope", p->scope, "high_water",
		    (json_int_t)p->high_water, "cursor", (json_int_t)p->cursor, "last_seen", p->last_seen,
		    "revoked", p->auth.revoked, "certificate_expires", p->auth.cert_not_after, "rotated",
		    p->auth.rotated));
	} else {
		printf("%-36s  %-8s  %-12s  hw %-6llu  cursor %-6llu  %s  %s%s%s\n", p->site, p->role, p->scope,
		    (unsigned long long)p->high_water, (unsigned long long)p->cursor,
		    p->last_seen[0] ? p->last_seen : "never", p->name, p->auth.revoked[0] ? "  REVOKED " : "",
		    p->auth.revoked);
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
    {"add", srv_cmd_site_add, "register a site; its secrets go to an enrolment file (0600)"},
    {"list", site_list, "registered sites and their sync state"},
    {"revoke", srv_cmd_site_revoke, "refuse a site (a stolen laptop) from its next request on"},
    {"rotate", srv_cmd_site_rotate, "give a site new secrets in a new enrolment file"},
    {"set-scope", srv_cmd_site_set_scope, "change the units a site serves"},
};

int
srv_cmd_site(int argc, char **argv)
{
	return srv_cmd_group(site_usage, site_cmds, sizeof(site_cmds) / sizeof(site_cmds[0]), argc, argv);
}
