/*
 * cmd_util.c: what the `ocopd` commands share: option parsing with
 * per-command help, groups of sub-commands, opening the database, the
 * config and data directory, JSON output and whole-file I/O. Part of the
 * ocopd program only (it prints); the server library never does.
 */
#include "server/cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "common/ocop/rubric.h"
#include "ocop_err.h"

const com_log srv_cmd_log = {com_log_stderr, NULL, COM_LOG_INFO};

/* ===== Groups ===== */

void
srv_cmd_group_usage(FILE *out, const char *usage, const srv_cmd *table, size_t n)
{
	size_t i;

	fputs(usage, out);
	fprintf(out, "\nCommands:\n");
	for (i = 0; i < n; i++) {
		fprintf(out, "  %-12s %s\n", table[i].name, table[i].summary);
	}
}

static bool
is_help(const char *a)
{
	return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0 || strcmp(a, "help") == 0;
}

int
srv_cmd_group(const char *usage, const srv_cmd *table, size_t n, int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		srv_cmd_group_usage(stderr, usage, table, n);
		return SRV_CMD_USAGE;
	}
	if (is_help(argv[1])) {
		srv_cmd_group_usage(stdout, usage, table, n);
		return SRV_CMD_OK;
	}
	for (i = 0; i < n; i++) {
		if (strcmp(argv[1], table[i].name) == 0) {
			return table[i].fn(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "ocopd %s: '%s' is not an 'ocopd %s' command. See 'ocopd %s --help'.\n", argv[0],
	    argv[1], argv[0], argv[0]);
	return SRV_CMD_USAGE;
}

/* ===== Options ===== */

/* Every option any command takes; the bit says which commands accept it. */
static const struct {
	struct option o; /* getopt_long entry (val = index in this table + 1) */
	unsigned bit;    /* SRV_OPT_* */
} all_opts[] = {
    {{"db", required_argument, NULL, 0}, SRV_OPT_DB},
    {{"role", required_argument, NULL, 0}, SRV_OPT_ROLE},
    {{"scope", required_argument, NULL, 0}, SRV_OPT_SCOPE},
    {{"name", required_argument, NULL, 0}, SRV_OPT_NAME},
    {{"site-id", required_argument, NULL, 0}, SRV_OPT_SITE_ID},
    {{"config", required_argument, NULL, 0}, SRV_OPT_CONFIG},
    {{"listen", required_argument, NULL, 0}, SRV_OPT_LISTEN},
    {{"server-url", required_argument, NULL, 0}, SRV_OPT_SERVER_URL},
    {{"dossier", required_argument, NULL, 0}, SRV_OPT_DOSSIER},
    {{"out", required_argument, NULL, 0}, SRV_OPT_OUT},
    {{"in", required_argument, NULL, 0}, SRV_OPT_IN},
    {{"credential", required_argument, NULL, 0}, SRV_OPT_CREDENTIAL},
    {{"reply", required_argument, NULL, 0}, SRV_OPT_REPLY},
    {{"json", no_argument, NULL, 0}, SRV_OPT_JSON},
    {{"force", no_argument, NULL, 0}, SRV_OPT_FORCE},
};

#define N_OPTS (sizeof(all_opts) / sizeof(all_opts[0]))

int
srv_opts_parse(srv_opts *o, int argc, char **argv, unsigned allowed, const char *what, const char *usage)
{
	struct option longs[N_OPTS + 2];
	const char **slots[N_OPTS] = {&o->db, &o->role, &o->scope, &o->name, &o->site_id, &o->config,
	    &o->listen, &o->server_url, &o->dossier, &o->out, &o->in, &o->credential, &o->reply, NULL, NULL};
	size_t n = 0;
	size_t i;
	int ch;

	memset(o, 0, sizeof(*o));
	for (i = 0; i < N_OPTS; i++) {
		if (allowed & all_opts[i].bit) {
			longs[n] = all_opts[i].o;
			longs[n].val = (int)i + 1;
			n++;
		}
	}
	longs[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longs[n] = (struct option){NULL, 0, NULL, 0};
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longs, NULL)) != -1) {
		if (ch == 'h') {
			fputs(usage, stdout);
			return SRV_CMD_HELP;
		}
		if (ch >= 1 && (size_t)ch <= N_OPTS) {
			if (slots[ch - 1] != NULL) {
				*slots[ch - 1] = optarg;
			} else if (all_opts[ch - 1].bit == SRV_OPT_JSON) {
				o->json = true;
			} else {
				o->force = true;
			}
			continue;
		}
		if (ch == ':') {
			fprintf(stderr, "ocopd %s: option '%s' needs a value. See 'ocopd %s --help'.\n", what,
			    argv[optind - 1], what);
		} else {
			fprintf(stderr, "ocopd %s: unknown option '%s'. See 'ocopd %s --help'.\n", what,
			    argv[optind - 1], what);
		}
		return SRV_CMD_USAGE;
	}
	if (optind < argc) {
		fprintf(stderr, "ocopd %s: unexpected argument '%s'. See 'ocopd %s --help'.\n", what, argv[optind],
		    what);
		return SRV_CMD_USAGE;
	}
	return SRV_CMD_OK;
}

/* ===== Database, config, data ===== */

int
srv_cmd_open_db(const char *path, bool create, sto_db **db)
{
	sto_opts o;
	int rv;

	memset(&o, 0, sizeof(o));
	o.create = create;
	o.user = "ocopd";
	o.log = &srv_cmd_log;
	rv = sto_open(db, path, &o);
	if (rv == OCOP_ENOENT) {
		fprintf(stderr, "ocopd: no database at %s: run 'ocopd init' first\n", path);
	} else if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd: cannot open %s: %s\n", path, ocop_strerror(rv));
	}
	return rv;
}

bool
srv_cmd_valid_role(const char *r, bool server)
{
	static const char *const site_roles[] = {"commune", "district", "province", "national", "member"};
	size_t i;

	if (r == NULL) {
		return false;
	}
	if (server) {
		return strcmp(r, "province") == 0 || strcmp(r, "national") == 0;
	}
	for (i = 0; i < sizeof(site_roles) / sizeof(site_roles[0]); i++) {
		if (strcmp(r, site_roles[i]) == 0) {
			return true;
		}
	}
	return false;
}

int
srv_cmd_config(srv_config *cfg, const char *path, const char *what)
{
	char err[512];
	int rv;

	srv_config_defaults(cfg);
	if (path == NULL) {
		return OCOP_OK;
	}
	if ((rv = srv_config_load(cfg, path, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "ocopd %s: %s\n", what, err);
	}
	return rv;
}

const char *
srv_cmd_data_dir(const srv_config *cfg, const char *what)
{
	const char *dd = cfg->data_dir[0] ? cfg->data_dir : ocp_data_dir();

	if (dd == NULL) {
		fprintf(stderr, "ocopd %s: cannot find the data directory: set data_dir or OCOP_DATA_DIR\n", what);
	}
	return dd;
}

/* ===== Output and files ===== */

void
srv_cmd_json_print(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(v);
}

int
srv_cmd_write_file(const char *path, const uint8_t *p, size_t n)
{
	char tmp[1100];
	FILE *f;
	int ok;
	int e;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	f = fopen(tmp, "wb");
	if (f == NULL) {
		return -1;
	}
	ok = fwrite(p, 1, n, f) == n;
	ok = (fflush(f) == 0) && ok;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		e = errno;
		remove(tmp);
		errno = e;
		return -1;
	}
	return 0;
}

uint8_t *
srv_cmd_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p = NULL;
	size_t cap = 0;
	size_t n = 0;

	if (f == NULL) {
		return NULL;
	}
	for (;;) {
		size_t got;
		if (n == cap) {
			uint8_t *np;
			cap = cap ? cap * 2 : 65536;
			if (cap > ((size_t)1 << 31) || (np = realloc(p, cap)) == NULL) {
				free(p);
				fclose(f);
				return NULL;
			}
			p = np;
		}
		got = fread(p + n, 1, cap - n, f);
		n += got;
		if (got == 0) {
			break;
		}
	}
	fclose(f);
	*len = n;
	return p;
}
