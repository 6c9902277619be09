/*
 * cmd_trust.c: the trusted links' commands: `ocopd ca init`, and `ocopd site
 * add|revoke|rotate|set-scope` (listed in cmd_site.c's table).
 *
 * A site's secrets (credential, certificate key) leave the server in one
 * place only: the enrolment file written with mode 0600 (or to standard
 * output with --enrol-out -, for a pipe). They are never printed, logged or
 * taken on a command line. Every change to the registry takes effect at the
 * site's next request: the running server reads the registry on each one.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/link/enrol.h"
#include "common/link/pki.h"
#include "common/store/siteauth.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/log.h"
#include "common/util/secret.h"
#include "common/util/uuid.h"
#include "ocop_err.h"
#include "server/ca.h"
#include "server/cmd.h"
#include "server/config.h"
#include "server/registry.h"

static const com_log site_log = {com_log_stderr, NULL, COM_LOG_WARN};

/* The options of these commands; each command reads the ones it takes. */
typedef struct site_opts {
	const char *db;
	const char *config;
	const char *role;
	const char *scope;
	const char *name;
	const char *site;
	const char *enrol_out;
	const char *server_url;
	const char *reason;
	const char *dir;
	const char *hosts;
	const char *url;
	long days;
	int json;
	int help;
} site_opts;

static int
site_parse(int argc, char **argv, site_opts *o, const char *what)
{
	static const struct option longs[] = {{"db", required_argument, NULL, 'd'},
	    {"config", required_argument, NULL, 'c'}, {"role", required_argument, NULL, 'r'},
	    {"scope", required_argument, NULL, 's'}, {"name", required_argument, NULL, 'n'},
	    {"site-id", required_argument, NULL, 'i'}, {"site", required_argument, NULL, 'i'},
	    {"enrol-out", required_argument, NULL, 'e'}, {"server-url", required_argument, NULL, 'u'},
	    {"reason", required_argument, NULL, 'R'}, {"dir", required_argument, NULL, 'D'},
	    {"host", required_argument, NULL, 'H'}, {"url", required_argument, NULL, 'U'},
	    {"days", required_argument, NULL, 'y'}, {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'}, {"credential", required_argument, NULL, 'C'}, {NULL, 0, NULL, 0}};
	char *end;
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'd': o->db = optarg; break;
		case 'c': o->config = optarg; break;
		case 'r': o->role = optarg; break;
		case 's': o->scope = optarg; break;
		case 'n': o->name = optarg; break;
		case 'i': o->site = optarg; break;
		case 'e': o->enrol_out = optarg; break;
		case 'u': o->server_url = optarg; break;
		case 'R': o->reason = optarg; break;
		case 'D': o->dir = optarg; break;
		case 'H': o->hosts = optarg; break;
		case 'U': o->url = optarg; break;
		case 'y':
			o->days = strtol(optarg, &end, 10);
			if (*end != 0 || o->days <= 0 || o->days > 36500) {
				fprintf(stderr, "ocopd %s: --days takes a number of days from 1 to 36500\n", what);
				return 2;
			}
			break;
		case 'j': o->json = 1; break;
		case 'h': o->help = 1; break;
		case 'C':
			fprintf(stderr, "ocopd %s: secrets are never taken on the command line (they show in 'ps' and "
					"shell history)\n", what);
			return 2;
		default:
			fprintf(stderr, "ocopd %s: unknown or incomplete option '%s'. See 'ocopd %s --help'.\n", what,
			    argv[optind - 1], what);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ocopd %s: unexpected argument '%s'\n", what, argv[optind]);
		return 2;
	}
	return 0;
}

static int
site_open(const char *path, sto_db **db, const char *what)
{
	sto_opts so;
	int rv;

	memset(&so, 0, sizeof(so));
	so.user = "ocopd";
	so.log = &site_log;
	if (path == NULL) {
		fprintf(stderr, "ocopd %s: needs --db PATH\n", what);
		return 2;
	}
	rv = sto_open(db, path, &so);
	if (rv == OCOP_ENOENT) {
		fprintf(stderr, "ocopd %s: no database at %s: run 'ocopd init' first\n", what, path);
		return 1;
	}
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd %s: cannot open %s: %s\n", what, path, ocop_strerror(rv));
		return 1;
	}
	if (sto_site_id(*db)[0] == 0 || (strcmp(sto_role(*db), "province") != 0 && strcmp(sto_role(*db), "national") != 0)) {
		fprintf(stderr, "ocopd %s: %s is not a server database (run 'ocopd init')\n", what, path);
		sto_close(*db);
		*db = NULL;
		return 2;
	}
	return 0;
}

/* The CA directory: the config's, else the one recorded by `ca init`. */
static int
site_ca_dir(sto_db *db, const site_opts *o, char *dir, size_t cap, const char *what)
{
	srv_config cfg;
	char err[512];

	srv_config_defaults(&cfg);
	if (o->config != NULL && srv_config_load(&cfg, o->config, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd %s: %s\n", what, err);
		return 2;
	}
	srv_ca_dir(db, &cfg, dir, cap);
	return 0;
}

/* Write the enrolment e to path (0600, or standard output for "-"). */
static int
site_write_enrolment(const lnk_enrolment *e, const char *path, char *err, size_t errlen)
{
	com_buf b;
	int rv;

	com_buf_init(&b);
	rv = lnk_enrol_encode(e, &b);
	if (rv == OCOP_OK) {
		rv = com_secret_write(path, b.data, b.len, err, errlen);
	} else {
		snprintf(err, errlen, "cannot encode the enrolment: %s", ocop_strerror(rv));
	}
	if (b.data != NULL) {
		memset(b.data, 0, b.len);
	}
	com_buf_fini(&b);
	return rv;
}

/* ===== ocopd ca init ===== */

static void
ca_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocopd ca init --db PATH --dir DIR --host HOSTS [--url URL] [--name NAME] [--days N]\n"
	    "\n"
	    "Create the server's own small CA in DIR: ca.crt and ca.key (the CA that issues its\n"
	    "sites' certificates), server.crt and server.key (this server's certificate for\n"
	    "HOSTS, comma-separated host names and addresses, e.g. ocop.bentre.gov.vn,127.0.0.1).\n"
	    "Keys are written with mode 0600. The directory is recorded in the database, so\n"
	    "'ocopd site add', 'ocopd site rotate' and 'ocopd serve' use it. --url is the\n"
	    "address sites reach this server by (tls+tcp://HOST:PORT); it goes into every\n"
	    "enrolment file. An existing CA is never replaced.\n");
}

static int
ca_init(int argc, char **argv)
{
	site_opts o;
	srv_ca_init_opts io;
	sto_db *db = NULL;
	char err[512];
	int rv;

	if ((rv = site_parse(argc, argv, &o, "ca init")) != 0) {
		return rv;
	}
	if (o.help) {
		ca_usage(stdout);
		return 0;
	}
	if (o.dir == NULL || o.hosts == NULL) {
		fprintf(stderr, "ocopd ca init: needs --dir DIR and --host HOSTS (see --help)\n");
		return 2;
	}
	if ((rv = site_open(o.db, &db, "ca init")) != 0) {
		return rv;
	}
	memset(&io, 0, sizeof(io));
	io.dir = o.dir;
	io.name = o.name;
	io.hosts = o.hosts;
	io.public_url = o.url;
	io.days = o.days;
	rv = srv_ca_init(db, &io, err, sizeof(err));
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd ca init: %s\n", err);
		sto_close(db);
		return rv == OCOP_EINVAL || rv == OCOP_EEXIST ? 2 : 1;
	}
	printf("CA created in %s (ca.crt, ca.key, server.crt, server.key)\n", o.dir);
	printf("server certificate for %s; serve with: ocopd serve --db %s --listen tls+tcp://HOST:PORT\n", o.hosts,
	    o.db);
	sto_close(db);
	return 0;
}

static const char ca_group_usage[] =
    "usage: ocopd ca <command> [options]\n"
    "\n"
    "The small CA this server runs for its links: it issues each site's\n"
    "certificate at 'ocopd site add' and this server's own (README \"Trusted links\").\n";

static const srv_cmd ca_cmds[] = {
    {"init", ca_init, "create this server's CA and its server certificate"},
};

int
srv_cmd_ca(int argc, char **argv)
{
	return srv_cmd_group(ca_group_usage, ca_cmds, sizeof(ca_cmds) / sizeof(ca_cmds[0]), argc, argv);
}

/* ===== ocopd site add ===== */

static void
add_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocopd site add --db PATH --role ROLE --scope CODES --enrol-out FILE\n"
	    "                      [--name NAME] [--site-id UUID] [--server-url URL] [--days N]\n"
	    "                      [--config FILE] [--json]\n"
	    "\n"
	    "Register a site and write its enrolment file (mode 0600; '-' for standard\n"
	    "output): its id, role, scope, this server's URL, its credential and, when the\n"
	    "server has a CA ('ocopd ca init'), a certificate naming the site, its key and the\n"
	    "CA. Carry the file to the site and run 'ocop enrol --file FILE' there; then\n"
	    "delete it. Nothing secret is printed.\n"
	    "The role and scope must be ones this server serves: a province server registers\n"
	    "communes and districts of its province, its province office and council members;\n"
	    "a national server registers provinces, the national office and national members.\n");
}

int
srv_cmd_site_add(int argc, char **argv)
{
	site_opts o;
	sto_db *db = NULL;
	lnk_enrolment e;
	lnk_tls_peer info;
	char site[37];
	char cred[SRV_CREDENTIAL_LEN + 1];
	char dir[1024];
	char err[512];
	int dup = 0;
	int rv;

	memset(&e, 0, sizeof(e));
	if ((rv = site_parse(argc, argv, &o, "site add")) != 0) {
		return rv;
	}
	if (o.help) {
		add_usage(stdout);
		return 0;
	}
	if (o.role == NULL || o.scope == NULL || o.enrol_out == NULL) {
		fprintf(stderr, "ocopd site add: needs --db PATH, --role ROLE, --scope CODES and --enrol-out FILE "
				"(where the site's secrets go; see --help)\n");
		return 2;
	}
	if (o.site != NULL && !com_uuid_valid(o.site)) {
		fprintf(stderr, "ocopd site add: --site-id '%s' is not a UUID\n", o.site);
		return 2;
	}
	if ((rv = site_open(o.db, &db, "site add")) != 0) {
		return rv;
	}
	if (srv_registry_check(db, o.role, o.scope, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd site add: %s\n", err);
		sto_close(db);
		return 2;
	}
	if ((rv = site_ca_dir(db, &o, dir, sizeof(dir), "site add")) != 0) {
		sto_close(db);
		return rv;
	}
	if (sto_siteauth_same_name(db, o.name, o.scope, NULL, &dup) == OCOP_OK && dup > 0) {
		fprintf(stderr, "ocopd site add: warning: %d other site(s) named '%s' serve the same units\n", dup,
		    o.name);
	}
	if ((rv = sto_begin(db)) != OCOP_OK) {
		fprintf(stderr, "ocopd site add: %s\n", sto_errmsg(db));
		sto_close(db);
		return 1;
	}
	rv = srv_registry_add(db, o.site, o.role, o.scope, o.name, site, cred);
	if (rv != OCOP_OK) {
		snprintf(err, sizeof(err), "%s", sto_errmsg(db));
	} else {
		rv = srv_ca_enrol(db, dir, site, o.role, o.scope, o.name, o.server_url, cred, o.days, &e, &info, err,
		    sizeof(err));
	}
	memset(cred, 0, sizeof(cred));
	if (rv == OCOP_OK && info.sha256[0] != 0 && (rv = sto_siteauth_set_cert(db, site, info.sha256, info.not_after)) != OCOP_OK) {
		snprintf(err, sizeof(err), "%s", sto_errmsg(db));
	}
	if (rv == OCOP_OK) {
		rv = site_write_enrolment(&e, o.enrol_out, err, sizeof(err));
	}
	if (rv == OCOP_OK && (rv = sto_commit(db)) != OCOP_OK) {
		snprintf(err, sizeof(err), "%s", sto_errmsg(db));
		if (strcmp(o.enrol_out, "-") != 0) {
			remove(o.enrol_out);
		}
	}
	if (rv != OCOP_OK) {
		sto_rollback(db);
		fprintf(stderr, "ocopd site add: %s\n", err);
		lnk_enrol_fini(&e);
		sto_close(db);
		return rv == OCOP_EEXIST || rv == OCOP_EINVAL ? 2 : 1;
	}
	/* The file may have gone to standard output: the summary goes to stderr then. */
	{
		FILE *out = strcmp(o.enrol_out, "-") == 0 ? stderr : stdout;
		if (o.json && out == stdout) {
			json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "site_id", site, "role", o.role,
			    "scope", o.scope, "name", o.name ? o.name : "", "enrolment", o.enrol_out, "certificate_sha256",
			    info.sha256, "certificate_expires", info.not_after);
			char *t = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			puts(t);
			free(t);
			json_decref(j);
		} else {
			fprintf(out, "site_id    %s\nrole       %s\nscope      %s\nenrolment  %s%s\n", site, o.role, o.scope,
			    o.enrol_out, strcmp(o.enrol_out, "-") == 0 ? " (standard output)" : " (mode 0600)");
			if (info.sha256[0] != 0) {
				fprintf(out, "certificate sha256 %s, valid until %s\n", info.sha256, info.not_after);
			} else {
				fprintf(out, "no CA on this server: the site can sync over loopback tcp:// only "
					     "(run 'ocopd ca init' for TLS)\n");
			}
			fprintf(out, "\nOn the site: ocop enrol --file %s   (then delete the file)\n",
			    strcmp(o.enrol_out, "-") == 0 ? "FILE" : o.enrol_out);
		}
	}
	lnk_enrol_fini(&e);
	sto_close(db);
	return 0;
}

/* ===== ocopd site revoke ===== */

static void
revoke_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocopd site revoke --db PATH --site ID [--reason TEXT]\n"
	    "\n"
	    "Revoke a site (a stolen or retired laptop): from its next request on, the\n"
	    "server refuses it with a message saying it was revoked, whatever credential or\n"
	    "certificate it holds. A revoked site stays revoked; a replacement laptop is\n"
	    "registered as a new site ('ocopd site add') and receives the data in its scope.\n");
}

int
srv_cmd_site_revoke(int argc, char **argv)
{
	site_opts o;
	sto_db *db = NULL;
	srv_peer p;
	int rv;

	if ((rv = site_parse(argc, argv, &o, "site revoke")) != 0) {
		return rv;
	}
	if (o.help) {
		revoke_usage(stdout);
		return 0;
	}
	if (o.site == NULL) {
		fprintf(stderr, "ocopd site revoke: needs --db PATH and --site ID\n");
		return 2;
	}
	if (o.reason != NULL && strlen(o.reason) > 120) {
		fprintf(stderr, "ocopd site revoke: --reason is at most 120 bytes\n");
		return 2;
	}
	if ((rv = site_open(o.db, &db, "site revoke")) != 0) {
		return rv;
	}
	if ((rv = srv_registry_get(db, o.site, &p)) != OCOP_OK ||
	    (rv = sto_siteauth_revoke(db, o.site, o.reason)) != OCOP_OK) {
		fprintf(stderr, "ocopd site revoke: %s\n", sto_errmsg(db));
		sto_close(db);
		return rv == OCOP_ESITE ? 2 : 1;
	}
	srv_registry_get(db, o.site, &p);
	printf("site %s (%s, %s) revoked at %s: its next request is refused\n", o.site, p.role, p.name,
	    p.auth.revoked);
	sto_close(db);
	return 0;
}

/* ===== ocopd site rotate ===== */

static void
rotate_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocopd site rotate --db PATH --site ID --enrol-out FILE [--server-url URL] [--days N]\n"
	    "                         [--config FILE]\n"
	    "\n"
	    "Give a site new secrets: a new credential and, with a CA, a new certificate and\n"
	    "key, in a new enrolment file (mode 0600). The old credential and certificate stop\n"
	    "working at the site's next request; run 'ocop enrol --file FILE' on the same\n"
	    "laptop (its data stays). A revoked site cannot be rotated.\n");
}

int
srv_cmd_site_rotate(int argc, char **argv)
{
	site_opts o;
	sto_db *db = NULL;
	srv_peer p;
	lnk_enrolment e;
	lnk_tls_peer info;
	char cred[SRV_CREDENTIAL_LEN + 1];
	char dir[1024];
	char err[512];
	int rv;

	memset(&e, 0, sizeof(e));
	memset(&info, 0, sizeof(info));
	if ((rv = site_parse(argc, argv, &o, "site rotate")) != 0) {
		return rv;
	}
	if (o.help) {
		rotate_usage(stdout);
		return 0;
	}
	if (o.site == NULL || o.enrol_out == NULL) {
		fprintf(stderr, "ocopd site rotate: needs --db PATH, --site ID and --enrol-out FILE\n");
		return 2;
	}
	if ((rv = site_open(o.db, &db, "site rotate")) != 0) {
		return rv;
	}
	if ((rv = site_ca_dir(db, &o, dir, sizeof(dir), "site rotate")) != 0) {
		sto_close(db);
		return rv;
	}
	if (srv_registry_get(db, o.site, &p) != OCOP_OK) {
		fprintf(stderr, "ocopd site rotate: %s\n", sto_errmsg(db));
		sto_close(db);
		return 2;
	}
	if (p.auth.revoked[0] != 0) {
		fprintf(stderr, "ocopd site rotate: site %s was revoked on %s; a revoked site stays revoked "
				"(register the replacement as a new site)\n", o.site, p.auth.revoked);
		sto_close(db);
		return 2;
	}
	if ((rv = sto_begin(db)) != OCOP_OK) {
		fprintf(stderr, "ocopd site rotate: %s\n", sto_errmsg(db));
		sto_close(db);
		return 1;
	}
	if ((rv = srv_registry_new_secrets(db, o.site, NULL, NULL, true, cred)) != OCOP_OK) {
		snprintf(err, sizeof(err), "%s", sto_errmsg(db));
		goto fail;
	}
	rv = srv_ca_enrol(db, dir, o.site, p.role, p.scope, p.name, o.server_url, cred, o.days, &e, &info, err,
	    sizeof(err));
	memset(cred, 0, sizeof(cred));
	if (rv != OCOP_OK) {
		goto fail;
	}
	if ((rv = sto_siteauth_set_cert(db, o.site, info.sha256, info.not_after)) != OCOP_OK) {
		snprintf(err, sizeof(err), "%s", sto_errmsg(db));
		goto fail;
	}
	if ((rv = site_write_enrolment(&e, o.enrol_out, err, sizeof(err))) != OCOP_OK) {
		goto fail;
	}
	if ((rv = sto_commit(db)) != OCOP_OK) {
		snprintf(err, sizeof(err), "%s", sto_errmsg(db));
		if (strcmp(o.enrol_out, "-") != 0) {
			remove(o.enrol_out);
		}
		goto fail;
	}
	fprintf(strcmp(o.enrol_out, "-") == 0 ? stderr : stdout,
	    "site %s has new secrets in %s; the old credential%s stop%s working now\n", o.site, o.enrol_out,
	    info.sha256[0] ? " and certificate" : "", info.sha256[0] ? "" : "s");
	lnk_enrol_fini(&e);
	sto_close(db);
	return 0;
fail:
	sto_rollback(db);
	fprintf(stderr, "ocopd site rotate: %s\n", err);
	lnk_enrol_fini(&e);
	sto_close(db);
	return 1;
}

/* ===== ocopd site set-scope ===== */

static void
scope_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocopd site set-scope --db PATH --site ID --scope CODES\n"
	    "\n"
	    "Change the units a site serves (after a commune merger, say). The scope must\n"
	    "fit the site's role and lie within this server's. It takes effect at the\n"
	    "site's next request: what it may write and what it receives follow the new scope.\n");
}

int
srv_cmd_site_set_scope(int argc, char **argv)
{
	site_opts o;
	sto_db *db = NULL;
	srv_peer p;
	char err[512];
	int rv;

	if ((rv = site_parse(argc, argv, &o, "site set-scope")) != 0) {
		return rv;
	}
	if (o.help) {
		scope_usage(stdout);
		return 0;
	}
	if (o.site == NULL || o.scope == NULL) {
		fprintf(stderr, "ocopd site set-scope: needs --db PATH, --site ID and --scope CODES\n");
		return 2;
	}
	if ((rv = site_open(o.db, &db, "site set-scope")) != 0) {
		return rv;
	}
	if (srv_registry_get(db, o.site, &p) != OCOP_OK) {
		fprintf(stderr, "ocopd site set-scope: %s\n", sto_errmsg(db));
		sto_close(db);
		return 2;
	}
	if (srv_registry_check(db, p.role, o.scope, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "ocopd site set-scope: %s\n", err);
		sto_close(db);
		return 2;
	}
	if ((rv = sto_siteauth_set_scope(db, o.site, o.scope)) != OCOP_OK) {
		fprintf(stderr, "ocopd site set-scope: %s\n", sto_errmsg(db));
		sto_close(db);
		return 1;
	}
	printf("site %s (%s): scope %s -> %s\n", o.site, p.role, p.scope, o.scope);
	sto_close(db);
	return 0;
}
