/*
 * cmd_init.c: `ocop init`, which creates the local replica and gives it its
 * identity (site id, role, unit scope). Checks come from common/ocop/registry.c;
 * an initialised replica is never re-initialised.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "common/ocop/registry.h"
#include "common/util/uuid.h"
#include "ocop_err.h"

static int
init_usage(FILE *out, int rc)
{
	fprintf(out,
	    "usage: ocop init --role ROLE --scope CODES [--name SITE_NAME] [--site-id UUID]\n"
	    "\n"
	    "Create the local replica and give it its identity. Prints the site id.\n"
	    "\n"
	    "  --role ROLE      commune, district, province, national or member\n"
	    "  --scope CODES    the units this site serves, comma-separated: commune codes\n"
	    "                   (83-28882) for a commune or district office, a province\n"
	    "                   code (83) for a province, VN for the national office\n"
	    "  --name NAME      a name for this site (e.g. \"UBND xã Long Thới\")\n"
	    "  --site-id UUID   use this site id instead of a new one\n"
	    "\n"
	    "The database is --db PATH (before the command), $OCOP_DB or ./ocop.db.\n");
	return rc;
}

int
cmd_init(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"role", required_argument, NULL, 'r'},
	    {"scope", required_argument, NULL, 's'},
	    {"name", required_argument, NULL, 'n'},
	    {"site-id", required_argument, NULL, 'i'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *role = NULL;
	const char *scope = NULL;
	const char *name = NULL;
	const char *site = NULL;
	cli_ctx c;
	char err[512];
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = "init";
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'r':
			role = optarg;
			break;
		case 's':
			scope = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'i':
			site = optarg;
			break;
		case 'h':
			return init_usage(stdout, CLI_OK);
		case ':':
			cli_err(&c, "option '%s' needs a value", argv[optind - 1]);
			return CLI_USAGE;
		default:
			cli_err(&c, "unknown option '%s'", argv[optind - 1]);
			return CLI_USAGE;
		}
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (role == NULL || scope == NULL) {
		cli_err(&c, "--role and --scope are required (see 'ocop init --help')");
		return CLI_USAGE;
	}
	/* Check everything we can before the database file is created. */
	if (ocp_reg_scope_check(role, scope, err, sizeof(err)) != OCOP_OK) {
		cli_err(&c, "%s", err);
		return CLI_USAGE;
	}
	if (site != NULL && !com_uuid_valid(site)) {
		cli_err(&c, "--site-id '%s' is not a UUID", site);
		return CLI_USAGE;
	}
	if ((rv = cli_open(&c, "init", true)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	rv = ocp_reg_site_init(c.db, site, role, scope, name, err, sizeof(err));
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", err);
	} else {
		printf("%s\n", sto_site_id(c.db));
	}
	cli_close(&c);
	return cli_exit_code(rv);
}
