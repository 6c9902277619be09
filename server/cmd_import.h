/*
 * cmd_import.h: `ocopd import`, the server's side of sneakernet: a site's
 * request bundle in, the reply bundle out (server/cmd_import.c).
 */
#ifndef OCOP_SERVER_CMD_IMPORT_H
#define OCOP_SERVER_CMD_IMPORT_H

/*
 * Run `ocopd import --db PATH --in FILE --reply FILE [--config FILE] [--json]`
 * with argv[0] = "import". Prints its results and errors, and returns the
 * exit code: 0 done; 1 the server refused the site (credential, version) or a
 * database error (what committed stays; importing again finishes it); 2 bad
 * usage, or a file that is damaged, truncated, edited, not a request or for
 * another server (the database is not touched).
 */
int srv_cmd_import(int argc, char **argv);

#endif /* OCOP_SERVER_CMD_IMPORT_H */
