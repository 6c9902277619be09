/*
 * cmdutil.h: what the `ocop` subcommands share: opening the local replica named
 * by --db / OCOP_DB, error messages in one shape, exit codes from error codes,
 * and JSON printing. Used by client/cmd_*.c only.
 */
#ifndef OCOP_CLIENT_CMDUTIL_H
#define OCOP_CLIENT_CMDUTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/store/store.h"

#define CLI_DEFAULT_DB "ocop.db"

typedef struct cli_ctx {
	const char *cmd;       /* subcommand name, for messages */
	char db_path[1024];    /* replica path in use */
	sto_db *db;            /* open replica, owned; NULL until cli_open */
	char data_dir[1024];   /* directory holding rubrics/ and workflow/ */
	com_log log;           /* stderr log hook (warnings and errors only) */
	struct ocp_policy *pol; /* the authority and workflow rules every local write obeys, owned */
} cli_ctx;

/*
 * Open the replica for subcommand cmd: the path comes from OCOP_DB (set by the
 * global --db option) or ./ocop.db; the user from OCOP_USER or $USER. With
 * create false a missing file is an error that tells the user to run
 * 'ocop init'. Also resolves the data directory and loads the rules every
 * write of this site is judged by when it is captured (the same rules its
 * server applies), so a write the server would refuse fails here at once.
 * Prints its own error.
 * Returns OCOP_OK or an ocop_err.
 */
int cli_open(cli_ctx *c, const char *cmd, bool create);
/* Close what cli_open opened. Cannot fail. */
void cli_close(cli_ctx *c);
/*
 * Initialise c without opening a database (commands that need only data files).
 * c->cmd stays when it names a subcommand of cmd ("member add" for "member"),
 * so every message of a subcommand carries its full name; c must be zeroed or
 * hold a previous context.
 */
int cli_ctx_nodb(cli_ctx *c, const char *cmd);

/* Print "ocop <cmd>: <message>\n" on stderr. */
void cli_err(const cli_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Exit code for an ocop_err: 0 OK, 2 for bad usage/input, 1 for the rest. */
int cli_exit_code(int err);
/* Print a JSON value on stdout (indented, UTF-8 as is) and release it. */
void cli_json_print(json_t *v);

/* ===== Options and plain-text output (added for the registry commands) ===== */

/*
 * Report a getopt_long() failure as "unknown option '...'" or "option '...'
 * needs a value" (opt is what getopt_long returned, with an optstring that
 * starts with ':' and opterr = 0). Returns CLI_USAGE.
 */
int cli_bad_option(const cli_ctx *c, int opt, char **argv);
/* Exit code when OCOP_ENOENT means an id or code the user typed is unknown: 2. */
int cli_exit_input(int err);
/* Print a JSON value as plain text on stdout: "-" for null, arrays joined with ", ". */
void cli_print_value(const json_t *v);
/* Print the values of keys of o on one tab-separated line on stdout. */
void cli_print_row(const json_t *o, const char *const *keys, size_t n);
/* Print the members of o as aligned "key: value" lines on stdout. */
void cli_print_object(const json_t *o);

/* ===== Files and reference data ===== */

/*
 * Read a whole file (at most 128 MiB) into *text (com_malloc'd, NUL-terminated;
 * caller frees with com_free). Prints "ocop <cmd>: PATH: no such file" (or
 * the reason) itself.
 * Returns: OCOP_OK; OCOP_ENOENT (no such file); OCOP_EIO (unreadable, too big,
 * out of memory).
 */
int cli_read_file(const cli_ctx *c, const char *path, char **text /* OUT */, size_t *len /* OUT */);

struct ocp_units;

/*
 * Load the units the program knows: the shipped provinces (data/units/) and,
 * when c has an open replica, its unit rows. Prints its own error.
 * Returns OCOP_OK or an ocop_err. Caller frees *out with ocp_units_free().
 */
int cli_units_open(const cli_ctx *c, struct ocp_units **out /* OUT */);

#endif /* OCOP_CLIENT_CMDUTIL_H */
