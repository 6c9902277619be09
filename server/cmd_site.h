/*
 * cmd_site.h: the ocopd commands that manage trusted links: the server's CA
 * (`ocopd ca init`) and its sites' lives (`ocopd site add|revoke|rotate|
 * set-scope`). server/cmd_site.c; README "Trusted links".
 */
#ifndef OCOP_SERVER_CMD_SITE_H
#define OCOP_SERVER_CMD_SITE_H

/*
 * `ocopd ca ...` with argv[0] = "ca". Prints results and errors, returns the
 * exit code: 0 done, 1 failure, 2 bad usage or input.
 */
int srv_cmd_ca(int argc, char **argv);

/*
 * `ocopd site add|revoke|rotate|set-scope ...` with argv[0] = "site" and
 * argv[1] the subcommand. Returns the exit code as srv_cmd_ca, or -1 when
 * argv[1] is not one of these (the caller handles `site list`).
 */
int srv_cmd_site(int argc, char **argv);

#endif /* OCOP_SERVER_CMD_SITE_H */
