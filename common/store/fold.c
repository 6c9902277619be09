/*
 * fold.c: diacritic- and case-insensitive folding with utf8proc.
 */
#include "common/store/fold.h"

#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "common/util/alloc.h"
#include "ocop_err.h"

/* utf8proc allocates with malloc; hand the result over to the project's allocator. */
static char *
fold_adopt(utf8proc_uint8_t *p)
{
	char *out;

	if (p == NULL) {
		return NULL;
	}
	out = com_strdup((const char *)p);
	free(p);
	return out;
}

char *
sto_fold(const char *s)
{
	utf8proc_uint8_t *p = NULL;
	utf8proc_ssize_t n;
	char *out;
	char *r;
	char *w;

	n = utf8proc_map((const utf8proc_uint8_t *)s, 0, &p,
	    UTF8PROC_NULLTERM | UTF8PROC_STABLE | UTF8PROC_STRIPMARK |
		UTF8PROC_CASEFOLD | UTF8PROC_COMPOSE);
	if (n < 0) {
		return NULL;
	}
	out = fold_adopt(p);
	if (out == NULL) {
		return NULL;
	}
	/* đ (U+0111, C4 91) has no decomposition: map it to d by hand. Case
	 * folding already turned Đ into đ. The result only shrinks. */
	for (r = w = out; *r; r++) {
		if ((unsigned char)r[0] == 0xc4 && (unsigned char)r[1] == 0x91) {
			*w++ = 'd';
			r++;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
	return out;
}

char *
sto_nfc(const char *s)
{
	return fold_adopt(utf8proc_NFC((const utf8proc_uint8_t *)s));
}

static void
fold_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	const char *s;
	char *f;

	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	s = (const char *)sqlite3_value_text(argv[0]);
	f = s ? sto_fold(s) : NULL;
	if (f == NULL) {
		/* Invalid UTF-8 matches nothing rather than failing the whole query. */
		sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
		return;
	}
	sqlite3_result_text(ctx, f, -1, SQLITE_TRANSIENT);
	com_free(f);
}

int
sto_fold_register(sqlite3 *db)
{
	int rc = sqlite3_create_function(db, "ocop_fold", 1,
	    SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL, fold_sql, NULL, NULL);

	return rc == SQLITE_OK ? OCOP_OK : OCOP_EDB;
}
