/*
 * history.c: importing earlier rounds (history.h). Each line is checked on its
 * own and against the lines before it and the rows already imported; only a
 * file with no bad line is written, in one transaction.
 */
#include "common/ocop/history.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <sqlite3.h>

#include "common/ocop/council.h"
#include "common/ocop/registry.h"
#include "common/ocop/rubric.h"
#include "common/ocop/scope.h"
#include "common/ocop/score.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

enum {
	H_SUBJECT,
	H_KIND,
	H_PRODUCT,
	H_SET,
	H_CODE,
	H_UNIT,
	H_BASIS,
	H_YEAR,
	H_ROUND,
	H_TYPE,
	H_MEAN,
	H_STAR,
	H_DECISION,
	H_ISSUED,
	H_EXPIRES,
	H_ISSUER,
	H_COUNT
};

/* The columns of the history table, in the order of the fields above (mean as centipoints). */
static const char *const history_cols[] = {"subject_name", "subject_kind", "product_name",
    "product_set", "product_code", "unit_code", "legal_basis", "round_year", "round_no", "eval_type",
    "mean", "star", "decision_no", "issued_on", "expires_on", "issuer"};

static const char *const bases[] = {"qd1048-2019", "qd148-2023", "qd26-2026"};
static const char *const kinds[] = {"htx", "tht", "dn", "trang_trai", "ho", "other"};
static const char *const types[] = {"first", "upgrade", "reeval"};

/* One parsed line. */
typedef struct hist_line {
	char *f[H_COUNT]; /* owned fields */
	size_t n;         /* fields seen */
	bool overflow;    /* more than H_COUNT fields */
	int line;         /* line in the file */
} hist_line;

static void
line_fini(hist_line *l)
{
	size_t i;

	for (i = 0; i < H_COUNT; i++) {
		com_free(l->f[i]);
		l->f[i] = NULL;
	}
	l->n = 0;
	l->overflow = false;
}

static void
on_field(void *data, size_t len, void *arg)
{
	hist_line *l = arg;
	char *s;

	if (l->n >= H_COUNT) {
		l->overflow = true;
		l->n++;
		return;
	}
	s = com_malloc(len + 1);
	if (s != NULL) {
		memcpy(s, data, len);
		s[len] = '\0';
	}
	l->f[l->n++] = s;
}

static int
hist_fail(char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
hist_fail(char *err, size_t errlen, const char *name, int line, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d: %s; nothing was imported", name, line, reason);
	return OCOP_EINPUT;
}

static bool
one_of(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(s, list[i]) == 0) {
			return true;
		}
	}
	return false;
}

/* Is s an integer in [lo, hi]? */
static bool
int_in(const char *s, long lo, long hi, long *out)
{
	char *end = NULL;
	long v;

	if (s[0] == '\0') {
		return false;
	}
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < lo || v > hi) {
		return false;
	}
	*out = v;
	return true;
}

/* Valid UTF-8 without control characters other than tab? */
static bool
utf8_text(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t k, len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;

		if (len == 0 || i + len > n || (c < 0x20 && c != '\t' && c != '\r') || c == 0x7F) {
			return false;
		}
		for (k = 1; k < len; k++) {
			if (((unsigned char)s[i + k] & 0xC0) != 0x80) {
				return false;
			}
		}
		i += len;
	}
	return true;
}

/*
 * Is a unit code in the site's scope, as it is or through the succession? A
 * merged province keeps the records its predecessors issued, with their codes
 * as they were (83 Bến Tre under 86 Vĩnh Long, NQ 202/2025/QH15).
 */
static bool
code_in_scope(sto_db *db, const ocp_units *units, const char *code)
{
	char succ[8];

	return ocp_scope_covers(sto_scope(db), code) ||
	    (ocp_units_successor(units, code, succ, sizeof(succ)) && ocp_scope_covers(sto_scope(db), succ));
}

/* Check one line's fields; on success *mean holds the centipoints. */
static int
check_line(sto_db *db, const ocp_units *units, const char *name, const hist_line *l, int64_t *mean, char *err, size_t errlen)
{
	long year, round, star, y;
	int64_t d_issued = 0, d_expires = 0;
	const char *const *f = (const char *const *)l->f;
	size_t i;

	if (l->overflow || l->n != H_COUNT) {
		return hist_fail(err, errlen, name, l->line, "expected %d fields (%s), found %zu", H_COUNT,
		    OCP_HISTORY_HEADER, l->n);
	}
	for (i = 0; i < H_COUNT; i++) {
		if (f[i] == NULL) {
			return OCOP_ENOMEM;
		}
	}
	if (f[H_SUBJECT][0] == '\0' || f[H_PRODUCT][0] == '\0') {
		return hist_fail(err, errlen, name, l->line, "the subject and the product are required");
	}
	if (!one_of(f[H_KIND], kinds, sizeof(kinds) / sizeof(kinds[0]))) {
		return hist_fail(err, errlen, name, l->line,
		    "subject_kind '%s' is not one of htx, tht, dn, trang_trai, ho, other", f[H_KIND]);
	}
	if (!int_in(f[H_SET], 1, 26, &y) || strlen(f[H_SET]) != 2) {
		return hist_fail(err, errlen, name, l->line, "product_set '%s' is not a set 01..26", f[H_SET]);
	}
	if (!ocp_reg_code_valid(f[H_UNIT])) {
		return hist_fail(err, errlen, name, l->line,
		    "unit_code '%s' is not a unit code as issued (like 83, 83-28882 or 83-832-28882)", f[H_UNIT]);
	}
	if (!code_in_scope(db, units, f[H_UNIT])) {
		return hist_fail(err, errlen, name, l->line, "unit_code '%s' is outside this site's scope (%s)",
		    f[H_UNIT], sto_scope(db));
	}
	if (!one_of(f[H_BASIS], bases, sizeof(bases) / sizeof(bases[0]))) {
		return hist_fail(err, errlen, name, l->line,
		    "basis '%s' is not one of qd1048-2019, qd148-2023, qd26-2026", f[H_BASIS]);
	}
	if (!int_in(f[H_YEAR], 2018, 2100, &year) || !int_in(f[H_ROUND], 1, 9, &round)) {
		return hist_fail(err, errlen, name, l->line,
		    "round '%s/%s' is not a year from 2018 and a round number 1..9", f[H_YEAR], f[H_ROUND]);
	}
	if (!one_of(f[H_TYPE], types, sizeof(types) / sizeof(types[0]))) {
		return hist_fail(err, errlen, name, l->line, "eval_type '%s' is not first, upgrade or reeval",
		    f[H_TYPE]);
	}
	if (ocp_points_parse(f[H_MEAN], strlen(f[H_MEAN]), mean) != OCOP_OK || *mean > 10000) {
		return hist_fail(err, errlen, name, l->line,
		    "mean '%s' is not a council mean from 0 to 100 (up to 2 decimals)", f[H_MEAN]);
	}
	if (!int_in(f[H_STAR], 1, 5, &star)) {
		return hist_fail(err, errlen, name, l->line, "star '%s' is not 1..5", f[H_STAR]);
	}
	if (star > ocp_score_band(*mean, 1)) {
		return hist_fail(err, errlen, name, l->line,
		    "star %ld is above the band of mean %s (%d★); a star can be lower than its band "
		    "(minimum requirements), never higher",
		    star, f[H_MEAN], ocp_score_band(*mean, 1));
	}
	if (star >= 3 && f[H_DECISION][0] == '\0') {
		return hist_fail(err, errlen, name, l->line, "a %ld★ result needs its decision_no", star);
	}
	if ((f[H_ISSUED][0] && ocp_council_date_parse(f[H_ISSUED], &d_issued) != OCOP_OK) ||
	    (f[H_EXPIRES][0] && ocp_council_date_parse(f[H_EXPIRES], &d_expires) != OCOP_OK)) {
		return hist_fail(err, errlen, name, l->line, "issued_on and expires_on must be dates (YYYY-MM-DD)");
	}
	if (f[H_DECISION][0] && f[H_ISSUED][0] == '\0') {
		return hist_fail(err, errlen, name, l->line, "decision %s needs its issued_on date", f[H_DECISION]);
	}
	if (f[H_EXPIRES][0] && d_expires <= d_issued) {
		return hist_fail(err, errlen, name, l->line, "expires_on %s is not after issued_on %s",
		    f[H_EXPIRES], f[H_ISSUED]);
	}
	return OCOP_OK;
}

/* Is this result already recorded (same subject, product, basis and round)? */
static int
already(sto_db *db, const hist_line *l, char *source, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc;

	source[0] = '\0';
	if (sqlite3_prepare_v2(sto_sqlite(db),
		"SELECT COALESCE(source, '') FROM history WHERE deleted = 0 AND subject_name = ?1"
		" AND product_name = ?2 AND legal_basis = ?3 AND round_year = ?4 AND round_no = ?5",
		-1, &st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, l->f[H_SUBJECT], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, l->f[H_PRODUCT], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, l->f[H_BASIS], -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, atoi(l->f[H_YEAR]));
	sqlite3_bind_int(st, 5, atoi(l->f[H_ROUND]));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(source, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? OCOP_EEXIST : rc == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
}

int
ocp_history_import(sto_db *db, const ocp_units *units, const char *name, const char *text, size_t len,
    size_t *imported, char *err, size_t errlen)
{
	hist_line *lines = NULL;
	size_t n = 0, cap = 0, i, k;
	const char *p = text, *end = text + len;
	int line = 0, rv = OCOP_OK;
	bool header = false, in_tx = false;

	*imported = 0;
	err[0] = '\0';
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
		p += 3;
	}
	while (p < end && rv == OCOP_OK) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct csv_parser cp;
		hist_line cur;

		line++;
		if (ll > 0 && p[ll - 1] == '\r') {
			ll--;
		}
		if (!utf8_text(p, ll)) {
			rv = hist_fail(err, errlen, name, line,
			    "not valid UTF-8 text (a spreadsheet saved it in another encoding, such as "
			    "Windows-1258); save the file again as \"CSV UTF-8 (Comma delimited)\"");
			break;
		}
		if (!header) {
			if (ll != strlen(OCP_HISTORY_HEADER) || memcmp(p, OCP_HISTORY_HEADER, ll) != 0) {
				rv = hist_fail(err, errlen, name, line, "the header must be exactly: %s",
				    OCP_HISTORY_HEADER);
				break;
			}
			header = true;
			p = nl ? nl + 1 : end;
			continue;
		}
		if (ll == 0) {
			p = nl ? nl + 1 : end;
			continue;
		}
		memset(&cur, 0, sizeof(cur));
		cur.line = line;
		if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
			rv = OCOP_ENOMEM;
			break;
		}
		if (csv_parse(&cp, p, ll, on_field, NULL, &cur) != ll || csv_fini(&cp, on_field, NULL, &cur) != 0) {
			csv_free(&cp);
			line_fini(&cur);
			rv = hist_fail(err, errlen, name, line, "malformed CSV (an unterminated or stray quote)");
			break;
		}
		csv_free(&cp);
		if (n == cap) {
			hist_line *g = com_realloc(lines, (cap ? cap * 2 : 32) * sizeof(*lines));

			if (g == NULL) {
				line_fini(&cur);
				rv = OCOP_ENOMEM;
				break;
			}
			lines = g;
			cap = cap ? cap * 2 : 32;
		}
		lines[n++] = cur;
		p = nl ? nl + 1 : end;
	}
	if (rv == OCOP_OK && !header) {
		rv = hist_fail(err, errlen, name, 1, "the file is empty; the header must be: %s", OCP_HISTORY_HEADER);
	}
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		int64_t mean;
		char source[256];

		rv = check_line(db, units, name, &lines[i], &mean, err, errlen);
		for (k = 0; k < i && rv == OCOP_OK; k++) {
			const char *const *a = (const char *const *)lines[k].f, *const *b = (const char *const *)lines[i].f;

			if (strcmp(a[H_SUBJECT], b[H_SUBJECT]) == 0 && strcmp(a[H_PRODUCT], b[H_PRODUCT]) == 0 &&
			    strcmp(a[H_BASIS], b[H_BASIS]) == 0 && strcmp(a[H_YEAR], b[H_YEAR]) == 0 &&
			    strcmp(a[H_ROUND], b[H_ROUND]) == 0) {
				rv = hist_fail(err, errlen, name, lines[i].line,
				    "the same product and round as line %d", lines[k].line);
			}
		}
		if (rv == OCOP_OK && (rv = already(db, &lines[i], source, sizeof(source))) == OCOP_EEXIST) {
			rv = hist_fail(err, errlen, name, lines[i].line, "already imported (from %s)", source);
		}
		if (rv == OCOP_EDB) {
			snprintf(err, errlen, "%s: reading the history: %s", name, sqlite3_errmsg(sto_sqlite(db)));
		}
	}
	if (rv == OCOP_OK && n > 0) {
		if ((rv = sto_begin(db)) != OCOP_OK) {
			snprintf(err, errlen, "%s: %s", name, sto_errmsg(db));
		} else {
			in_tx = true;
		}
	}
	if (rv == OCOP_OK && in_tx && units != NULL) {
		char why[512];

		/* Old codes are judged through the succession: every replica needs its rows. */
		if ((rv = ocp_units_record_succession(db, units, NULL, why, sizeof(why))) != OCOP_OK) {
			snprintf(err, errlen, "%s: %s; nothing was imported", name, why);
		}
	}
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		const char *cols[H_COUNT + 1];
		const char *vals[H_COUNT + 1];
		char centi[32], source[600], id[37];
		int64_t mean = 0;

		ocp_points_parse(lines[i].f[H_MEAN], strlen(lines[i].f[H_MEAN]), &mean);
		snprintf(centi, sizeof(centi), "%lld", (long long)mean);
		snprintf(source, sizeof(source), "%s:%d", name, lines[i].line);
		for (k = 0; k < H_COUNT; k++) {
			cols[k] = history_cols[k];
			vals[k] = lines[i].f[k][0] ? lines[i].f[k] : NULL;
		}
		vals[H_MEAN] = centi;
		cols[H_COUNT] = "source";
		vals[H_COUNT] = source;
		rv = sto_row_insert(db, "history", cols, vals, H_COUNT + 1, id);
		if (rv != OCOP_OK) {
			snprintf(err, errlen, "%s:%d: %s", name, lines[i].line, sto_errmsg(db));
		}
	}
	if (in_tx && rv == OCOP_OK) {
		rv = sto_commit(db);
		if (rv != OCOP_OK) {
			snprintf(err, errlen, "%s: %s", name, sto_errmsg(db));
			sto_rollback(db);
		}
	} else if (in_tx) {
		sto_rollback(db);
	}
	if (rv == OCOP_OK) {
		*imported = n;
	}
	for (i = 0; i < n; i++) {
		line_fini(&lines[i]);
	}
	com_free(lines);
	return rv;
}
