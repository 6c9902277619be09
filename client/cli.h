/*
 * cli.h: what every `ocop` subcommand (client/cmd_*.c) provides to main.c.
 *
 * A subcommand receives argv with argv[0] = its own name, prints its results on
 * stdout and its errors on stderr (prefixed "ocop <name>: "), and returns the
 * process exit code: 0 success, 1 runtime failure (database, network, refused
 * by the rules), 2 bad usage or bad input data.
 */
#ifndef OCOP_CLIENT_CLI_H
#define OCOP_CLIENT_CLI_H

typedef int (*cli_cmd_fn)(int argc, char **argv);

typedef struct cli_cmd {
	const char *name;    /* subcommand word */
	cli_cmd_fn fn;       /* entry point */
	const char *summary; /* one line for `ocop --help` */
} cli_cmd;

/* Exit codes shared by all subcommands. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

/* Entry points, one per client/cmd_<name>.c. */
int cmd_init(int argc, char **argv);
int cmd_unit(int argc, char **argv);
int cmd_subject(int argc, char **argv);
int cmd_product(int argc, char **argv);
int cmd_dossier(int argc, char **argv);
int cmd_document(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_evaluation(int argc, char **argv);
int cmd_member(int argc, char **argv);
int cmd_sheet(int argc, char **argv);
int cmd_result(int argc, char **argv);
int cmd_decision(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_enrol(int argc, char **argv);
int cmd_remote(int argc, char **argv);
int cmd_sync(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_import(int argc, char **argv);
int cmd_conflicts(int argc, char **argv);
int cmd_score(int argc, char **argv);
int cmd_history(int argc, char **argv);
/* `ocop product qr` (client/cmd_product_qr.c), reached through cmd_product. */
int cli_product_qr(int argc, char **argv);

#endif /* OCOP_CLIENT_CLI_H */
