/*
 * cmd.h: what every `ocopd` command (server/cmd_*.c) provides to main.c, and
 * the helpers they share (server/cmd_util.c).
 *
 * A command receives argv with argv[0] = its own word ("init", or "add" for
 * `ocopd site add`), prints its results on stdout and its errors on stderr
 * (prefixed "ocopd <command>: "), and returns the process exit code: 0 done,
 * 1 runtime failure (database, network, refused), 2 bad usage or bad input.
 * Every command and every group answers --help with its own usage on stdout.
 * These files make up the ocopd program only; library code never prints.
 */
#ifndef OCOP_SERVER_CMD_H
#define OCOP_SERVER_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/link/enrol.h"
#include "common/store/store.h"
#include "common/util/log.h"
#include "server/config.h"

typedef int (*srv_cmd_fn)(int argc, char **argv);

typedef struct srv_cmd {
	const char *name;    /* command word */
	srv_cmd_fn fn;       /* entry point */
	const char *summary; /* one line for the group's help */
} srv_cmd;

/* Exit codes shared by all commands. */
enum { SRV_CMD_OK = 0, SRV_CMD_FAIL = 1, SRV_CMD_USAGE = 2 };

/* ===== Entry points, one per server/cmd_<name>.c ===== */

int srv_cmd_init(int argc, char **argv);       /* cmd_init.c */
int srv_cmd_site(int argc, char **argv);       /* cmd_site.c: the `site` group */
int srv_cmd_status(int argc, char **argv);     /* cmd_status.c */
int srv_cmd_serve(int argc, char **argv);      /* cmd_serve.c */
int srv_cmd_candidates(int argc, char **argv); /* cmd_candidates.c */
int srv_cmd_handoff(int argc, char **argv);    /* cmd_handoff.c: the `handoff` group */
int srv_cmd_backup(int argc, char **argv);     /* cmd_backup.c */
int srv_cmd_ca(int argc, char **argv);         /* cmd_trust.c: the `ca` group */
/* `site add|revoke|rotate|set-scope`, listed in cmd_site.c's table (cmd_trust.c). */
int srv_cmd_site_add(int argc, char **argv);
int srv_cmd_site_revoke(int argc, char **argv);
int srv_cmd_site_rotate(int argc, char **argv);
int srv_cmd_site_set_scope(int argc, char **argv);
int srv_cmd_restore(int argc, char **argv);    /* cmd_backup.c */

/*
 * Print every registered site as a line on stdout, or append it as an object
 * to arr when arr is not NULL (cmd_site.c; `site list` and `status`).
 * Returns OCOP_OK or OCOP_EDB.
 */
int srv_cmd_sites(sto_db *db, json_t *arr);

/* ===== Groups of commands (`ocopd site add`, `ocopd handoff export`) ===== */

/*
 * Run the sub-command argv[1] of group argv[0] from table (n entries); with
 * no sub-command print the group's usage on stderr and return 2; with
 * --help, -h or help print it on stdout and return 0. usage is the text
 * above the list of sub-commands ("usage: ocopd site <command> ...\n\n...").
 */
int srv_cmd_group(const char *usage, const srv_cmd *table, size_t n, int argc, char **argv);
/* Print a group's usage (its text, then each sub-command with its summary) on out. Cannot fail. */
void srv_cmd_group_usage(FILE *out, const char *usage, const srv_cmd *table, size_t n);

/* ===== Options ===== */

/* The options a command may accept: pass the ones it takes to srv_opts_parse. */
enum {
	SRV_OPT_DB = 1u << 0,         /* --db PATH */
	SRV_OPT_ROLE = 1u << 1,       /* --role ROLE */
	SRV_OPT_SCOPE = 1u << 2,      /* --scope CODES */
	SRV_OPT_NAME = 1u << 3,       /* --name TEXT */
	SRV_OPT_SITE_ID = 1u << 4,    /* --site-id UUID */
	SRV_OPT_CONFIG = 1u << 5,     /* --config FILE */
	SRV_OPT_LISTEN = 1u << 6,     /* --listen URL */
	SRV_OPT_SERVER_URL = 1u << 7, /* --server-url URL */
	SRV_OPT_DOSSIER = 1u << 8,    /* --dossier ID */
	SRV_OPT_OUT = 1u << 9,        /* --out FILE */
	SRV_OPT_IN = 1u << 10,        /* --in FILE */
	SRV_OPT_CREDENTIAL = 1u << 11, /* --credential C */
	SRV_OPT_REPLY = 1u << 12,     /* --reply FILE */
	SRV_OPT_JSON = 1u << 13,      /* --json */
	SRV_OPT_FORCE = 1u << 14,     /* --force */
};

/* Parsed options; NULL / 0 when not given. Strings are borrowed from argv. */
typedef struct srv_opts {
	const char *db;         /* --db */
	const char *role;       /* --role */
	const char *scope;      /* --scope */
	const char *name;       /* --name */
	const char *site_id;    /* --site-id */
	const char *config;     /* --config */
	const char *listen;     /* --listen */
	const char *server_url; /* --server-url */
	const char *dossier;    /* --dossier */
	const char *out;        /* --out */
	const char *in;         /* --in */
	const char *credential; /* --credential */
	const char *reply;      /* --reply */
	bool json;              /* --json */
	bool force;             /* --force */
} srv_opts;

/* srv_opts_parse's answer when --help was given: its usage is printed; exit 0. */
#define SRV_CMD_HELP (-1)

/*
 * Parse argv (argv[0] = the command's word) into o, accepting only the
 * options in allowed (SRV_OPT_* bits) and --help. what names the command in
 * messages ("site add") and usage is its help text. Returns SRV_CMD_OK,
 * SRV_CMD_HELP (usage printed on stdout; the command returns 0) or
 * SRV_CMD_USAGE (an unknown, incomplete or extra argument, named on stderr).
 */
int srv_opts_parse(srv_opts *o, int argc, char **argv, unsigned allowed, const char *what, const char *usage);

/* ===== Shared helpers ===== */

/* The log hook of every command: INFO and above to stderr. */
extern const com_log srv_cmd_log;

/*
 * Open the server database at path (create it when create is set). Prints
 * "no database at PATH: run 'ocopd init' first" or the open error itself.
 * Returns OCOP_OK or an ocop_err.
 */
int srv_cmd_open_db(const char *path, bool create, sto_db **db /* OUT */);
/* Whether r is a server role (province, national) or, with server false, a site role. */
bool srv_cmd_valid_role(const char *r, bool server);
/*
 * Load --config (when given) over the defaults into cfg. Prints the error
 * naming the file and line. Returns OCOP_OK or OCOP_EINPUT/OCOP_ENOENT.
 */
int srv_cmd_config(srv_config *cfg, const char *path, const char *what);
/*
 * The data directory: the config's data_dir when set, else ocp_data_dir().
 * Prints why when there is none and returns NULL. Borrowed: valid while cfg lives
 * (or until the thread's next ocp_data_dir call).
 */
const char *srv_cmd_data_dir(const srv_config *cfg, const char *what);
/*
 * Read a province's enrolment at the national server (the config's
 * upstream_enrolment, a 0600 file) into e (caller finishes it with
 * lnk_enrol_fini). Prints why not. Returns 0 or -1. (cmd_serve.c)
 */
int srv_cmd_upstream_enrolment(const char *path, lnk_enrolment *e);
/* Print v as indented JSON on stdout and release it. Cannot fail. */
void srv_cmd_json_print(json_t *v);
/* Write a whole file atomically (FILE.tmp then rename). Returns 0 or -1 (errno set). */
int srv_cmd_write_file(const char *path, const uint8_t *p, size_t n);
/* Read a whole file (at most 2 GiB) into a malloc'd block (caller frees with free()). NULL on error. */
uint8_t *srv_cmd_read_file(const char *path, size_t *len /* OUT */);

#endif /* OCOP_SERVER_CMD_H */
