/*
 * rawwrite.c: `ocop-rawwrite`, a test and demo tool that plays a tampered
 * laptop. Not installed; built with the tests.
 *
 *   ocop-rawwrite DB TABLE ID COLUMN VALUE
 *       writes one cell through the store library with no rules loaded, as an
 *       out-of-date client that checks nothing would: the write is captured
 *       and synced like any other (kinds and sizes are still checked).
 *
 *   ocop-rawwrite --raw DB TABLE ID CELL...
 *       appends a hand-made change to the site's change log, as a modified
 *       client would, without touching the row itself and without any check.
 *       Each CELL is COL=TEXT (a text value), COL:=INTEGER, COL%=HEX (bytes as
 *       a blob), COL@=N (N bytes of 'x') or COL~ (NULL). The next `ocop sync`
 *       pushes it, so the server's own checks are what decides its fate.
 *
 * Exit status: 0 written, 1 refused or failed, 2 bad usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/store/capture.h"
#include "common/store/log.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"
#include "protocol/change.h"
#include "protocol/wire.h"

#define RAW_MAX_CELLS 32

static int
hexval(int ch)
{
	return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* Parse one CELL argument into name and value; bytes owned by *owned. */
static int
raw_cell(const char *arg, char name[PROTO_NAME_MAX + 1], proto_value *v, uint8_t **owned)
{
	size_t n = strcspn(arg, ":=%@~");
	const char *rest = arg + n;
	size_t i;

	memset(v, 0, sizeof(*v));
	*owned = NULL;
	if (n == 0 || n > PROTO_NAME_MAX || *rest == 0) {
		return OCOP_EINVAL;
	}
	memcpy(name, arg, n);
	name[n] = 0;
	if (rest[0] == '~') {
		v->type = PROTO_V_NULL;
	} else if (rest[0] == '=') {
		v->type = PROTO_V_TEXT;
		v->p = (const uint8_t *)rest + 1;
		v->len = strlen(rest + 1);
	} else if (rest[0] == ':' && rest[1] == '=') {
		v->type = PROTO_V_INT;
		v->i = strtoll(rest + 2, NULL, 10);
	} else if (rest[0] == '%' && rest[1] == '=') {
		size_t len = strlen(rest + 2) / 2;
		*owned = com_malloc(len + 1);
		for (i = 0; *owned != NULL && i < len; i++) {
			(*owned)[i] = (uint8_t)(hexval(rest[2 + 2 * i]) * 16 + hexval(rest[3 + 2 * i]));
		}
		v->type = PROTO_V_BLOB;
		v->p = *owned;
		v->len = len;
	} else if (rest[0] == '@' && rest[1] == '=') {
		size_t len = strtoull(rest + 2, NULL, 10);
		*owned = com_malloc(len + 1);
		if (*owned != NULL) {
			memset(*owned, 'x', len);
		}
		v->type = PROTO_V_TEXT;
		v->p = *owned;
		v->len = len;
	} else {
		return OCOP_EINVAL;
	}
	return v->type != PROTO_V_NULL && v->p == NULL && v->type != PROTO_V_INT ? OCOP_ENOMEM : OCOP_OK;
}

/* Append a hand-made change of this site's own to its log, as a modified client would. */
static int
raw_append(sto_db *db, const char *tbl, const char *row, int ncells, char **cells)
{
	char names[RAW_MAX_CELLS][PROTO_NAME_MAX + 1];
	proto_value vals[RAW_MAX_CELLS];
	uint8_t *owned[RAW_MAX_CELLS] = {NULL};
	com_buf b;
	proto_wr w;
	uint64_t seq = 0;
	uint64_t hlc = 0;
	int rv = OCOP_OK;
	int i;

	if (ncells > RAW_MAX_CELLS) {
		return OCOP_EINVAL;
	}
	for (i = 0; i < ncells && rv == OCOP_OK; i++) {
		rv = raw_cell(cells[i], names[i], &vals[i], &owned[i]);
	}
	com_buf_init(&b);
	proto_wr_init(&w, &b);
	proto_cells_begin(&w, (uint32_t)ncells);
	for (i = 0; i < ncells && rv == OCOP_OK; i++) {
		proto_cell_put(&w, names[i], &vals[i], 0);
	}
	if (rv == OCOP_OK) {
		rv = proto_wr_error(&w);
	}
	if (rv == OCOP_OK && (rv = sto_begin(db)) == OCOP_OK) {
		rv = com_hlc_now(sto_hlc(db), &hlc);
		/* Straight into the log, values and all: nothing judges it here. */
		if (rv == OCOP_OK) {
			rv = sto_log_put_cells(db, 0, tbl, row, hlc, "tampered", b.data, b.len, &seq);
		}
		if (rv == OCOP_OK) {
			rv = sto_meta_set_hlc(db);
		}
		if (rv == OCOP_OK) {
			rv = sto_commit(db);
		} else {
			sto_rollback(db);
		}
	}
	for (i = 0; i < ncells; i++) {
		com_free(owned[i]);
	}
	com_buf_fini(&b);
	if (rv == OCOP_OK) {
		printf("%llu\n", (unsigned long long)(seq + 1));
	}
	return rv;
}

int
main(int argc, char **argv)
{
	sto_opts o = {.user = "tampered"};
	sto_db *db = NULL;
	bool raw = argc > 1 && strcmp(argv[1], "--raw") == 0;
	int rv;

	if (raw) {
		argc--;
		argv++;
	}
	if ((!raw && argc != 6) || (raw && argc < 5)) {
		fprintf(stderr, "usage: ocop-rawwrite DB TABLE ID COLUMN VALUE\n"
				"       ocop-rawwrite --raw DB TABLE ID COL=TEXT|COL:=INT|COL%%=HEX|COL@=N|COL~...\n");
		return 2;
	}
	if ((rv = sto_open(&db, argv[1], &o)) != OCOP_OK) {
		fprintf(stderr, "ocop-rawwrite: cannot open %s: %s\n", argv[1], ocop_strerror(rv));
		return 1;
	}
	if (raw) {
		rv = raw_append(db, argv[2], argv[3], argc - 4, argv + 4);
	} else {
		rv = sto_row_update(db, argv[2], argv[3], argv[4], argv[5]);
	}
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocop-rawwrite: %s\n", rv == OCOP_EINVAL ? "bad cell (COL=TEXT, COL:=INT, ...)" : sto_errmsg(db));
	}
	sto_close(db);
	return rv == OCOP_OK ? 0 : 1;
}
