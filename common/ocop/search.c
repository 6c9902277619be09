/*
 * search.c: finding subjects and products by name without diacritics for the
 * registry (registry.h): every word of the text, folded as the names are.
 */
#include "common/ocop/registry.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/ocop/registry_impl.h"
#include "common/ocop/entity.h"
#include "common/store/fold.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"

/* ===== Search ===== */

#define REG_SEARCH_WORDS 8 /* words of a search text that must all appear */

/*
 * Split folded text into its words (any run of spaces separates), in place. Returns the number of words, at most max.
 */
static size_t
search_words(char *folded, char **words, size_t max)
{
	size_t n = 0;
	char *p = folded;

	while (*p != '\0') {
		while (*p == ' ') {
			*p++ = '\0';
		}
		if (*p == '\0') {
			break;
		}
		if (n == max) {
			return max + 1;
		}
		words[n++] = p;
		while (*p != '\0' && *p != ' ') {
			p++;
		}
	}
	return n;
}

int
ocp_reg_search(ocp_reg *r, const char *text, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL;
	char *folded = NULL;
	char *words[REG_SEARCH_WORDS];
	com_buf sql;
	size_t n;
	size_t i;
	int rv = OCOP_OK;

	*out = NULL;
	r->err[0] = 0;
	if (text == NULL) {
		return reg_fail(r, OCOP_EINPUT, "the search text is not UTF-8 text");
	}
	if ((folded = com_strdup(text)) == NULL) {
		return reg_fail(r, OCOP_ENOMEM, "out of memory");
	}
	/* A tab pasted from a spreadsheet separates words like a space. */
	for (i = 0; folded[i] != '\0'; i++) {
		folded[i] = folded[i] == '\t' ? ' ' : folded[i];
	}
	if (!ocp_entity_text_clean(folded)) {
		com_free(folded);
		return reg_fail(r, OCOP_EINPUT, "the search text is not UTF-8 text");
	}
	words[0] = folded;
	folded = sto_fold(words[0]);
	com_free(words[0]);
	if (folded == NULL) {
		return reg_fail(r, OCOP_EINPUT, "the search text is not UTF-8 text");
	}
	n = search_words(folded, words, REG_SEARCH_WORDS);
	if (n == 0) {
		com_free(folded);
		return reg_fail(r, OCOP_EINPUT, "nothing to search for");
	}
	if (n > REG_SEARCH_WORDS) {
		com_free(folded);
		return reg_fail(r, OCOP_EINPUT, "too many words to search for (at most %d)", REG_SEARCH_WORDS);
	}
	/* Every word must appear in the name, in any order: "keo   dua" and "dua keo" find "Kẹo dừa". */
	com_buf_init(&sql);
	for (i = 0; i < 2 && rv == OCOP_OK; i++) {
		size_t k;

		rv = com_buf_printf(&sql, "%sSELECT '%s' AS type, id, name, unit_code FROM %s WHERE deleted = 0",
		    i ? " UNION ALL " : "", i ? "product" : "subject", i ? "product" : "subject");
		for (k = 0; k < n && rv == OCOP_OK; k++) {
			rv = com_buf_printf(&sql, " AND instr(ocop_fold(name), ?%zu) > 0", k + 1);
		}
	}
	if (rv == OCOP_OK) {
		rv = com_buf_puts(&sql, " ORDER BY type DESC, id");
	}
	if (rv != OCOP_OK) {
		com_buf_fini(&sql);
		com_free(folded);
		return reg_fail(r, OCOP_ENOMEM, "out of memory");
	}
	rv = reg_prepare(r, (const char *)sql.data, &st);
	com_buf_fini(&sql);
	if (rv == OCOP_OK) {
		for (i = 0; i < n; i++) {
			sqlite3_bind_text(st, (int)i + 1, words[i], -1, SQLITE_STATIC);
		}
		if ((arr = json_array()) == NULL) {
			rv = reg_fail(r, OCOP_ENOMEM, "out of memory");
		} else {
			rv = reg_json_rows(r, st, arr, false);
		}
	}
	sqlite3_finalize(st);
	com_free(folded);
	if (rv == OCOP_OK) {
		*out = arr;
	} else {
		json_decref(arr);
	}
	return rv;
}
