/*
 * rawwrite.c: `ocop-rawwrite`, a test and demo tool that writes one cell of a
 * replica through the store library, skipping every check the `ocop` CLI
 * makes first, as an out-of-date or tampered client would. The write is
 * captured and synced like any other, so the server's own authority checks
 * are what decides its fate. Not installed; built with the tests.
 *
 *   ocop-rawwrite DB TABLE ID COLUMN VALUE
 */
#include <stdio.h>

#include "common/store/store.h"
#include "ocop_err.h"

int
main(int argc, char **argv)
{
	sto_opts o = {.user = "rawwrite"};
	sto_db *db = NULL;
	int rv;

	if (argc != 6) {
		fprintf(stderr, "usage: ocop-rawwrite DB TABLE ID COLUMN VALUE\n");
		return 2;
	}
	if ((rv = sto_open(&db, argv[1], &o)) != OCOP_OK) {
		fprintf(stderr, "ocop-rawwrite: cannot open %s: %s\n", argv[1], ocop_strerror(rv));
		return 1;
	}
	rv = sto_row_update(db, argv[2], argv[3], argv[4], argv[5]);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocop-rawwrite: %s\n", sto_errmsg(db));
	}
	sto_close(db);
	return rv == OCOP_OK ? 0 : 1;
}
