/*
 * enrol.h: registering a site the way an operator does, for tests that run
 * real programs: `ocopd site add --enrol-out FILE` at the server, then
 * `ocop enrol --file FILE` at the site.
 */
#ifndef OCOP_TESTS_LIB_ENROL_H
#define OCOP_TESTS_LIB_ENROL_H

#include <stddef.h>

/* A site to register. Strings are borrowed. */
typedef struct te_site {
	const char *dir;       /* working directory for the enrolment file */
	const char *server_db; /* the server's database */
	const char *site_db;   /* the site's database to create (NULL: register only) */
	const char *role;      /* its role */
	const char *scope;     /* its scope */
	const char *name;      /* its name (quoted for the shell here) */
	const char *url;       /* the server URL written into the enrolment (NULL: the CA's public URL) */
	const char *extra;     /* more `site add` options, e.g. "--site-id X" (may be NULL) */
} te_site;

/*
 * Register s and enrol its replica. id receives the site id, cred (credcap
 * bytes, may be NULL) its credential read back from the enrolment file, and
 * enrol_path (may be NULL, 600 bytes) the file's path, which is kept.
 * Returns 0, or -1 with the programs' output printed.
 */
int te_site_add(const te_site *s, char id[37], char *cred, size_t credcap, char *enrol_path);

#endif /* OCOP_TESTS_LIB_ENROL_H */
