/*
 * unitfile.c: units files (units.h): the CSV format of data/units/README.md,
 * read for the shipped provinces and for a province's import, which checks
 * every line against the file, the shipped units and the replica before one
 * transaction writes them all.
 */
#include "common/ocop/units.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>
#include <sqlite3.h>
#include <utf8proc.h>

#include "common/ocop/council.h"
#include "common/ocop/registry.h"
#include "common/ocop/scope.h"
#include "common/ocop/units_impl.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

/* ===== Text ===== */

/* Valid UTF-8 without control characters (tab and CR allowed: CSV lines). */
static bool
utf8_text(const char *s, size_t n)
{
	utf8proc_ssize_t i = 0;

	while ((size_t)i < n) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t k = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)n - i, &cp);

		if (k <= 0 || (cp < 0x20 && cp != '\t' && cp != '\r') || (cp >= 0x7f && cp < 0xa0)) {
			return false;
		}
		i += k;
	}
	return true;
}

static bool
date_ok(const char *s)
{
	int64_t d;

	return s[0] == '\0' || ocp_council_date_parse(s, &d) == OCOP_OK;
}

/* ===== Reading a units CSV ===== */

/* One line of a units file. */
typedef struct units_line {
	char *f[F_COUNT]; /* owned fields */
	size_t n;         /* fields seen */
	bool nomem;       /* a field could not be copied */
	int line;         /* line number in the file */
} units_line;

static void
line_fini(units_line *l)
{
	size_t i;

	for (i = 0; i < F_COUNT; i++) {
		com_free(l->f[i]);
		l->f[i] = NULL;
	}
}

static void
on_field(void *data, size_t len, void *arg)
{
	units_line *l = arg;

	if (l->n < F_COUNT) {
		l->f[l->n] = com_strndup(data ? data : "", data ? len : 0);
		l->nomem |= l->f[l->n] == NULL;
	}
	l->n++;
}

/* The lines of a file: comments, blanks and the header are skipped. */
typedef struct units_file {
	units_line *lines; /* owned */
	size_t n;          /* lines used */
} units_file;

static void
file_fini(units_file *uf)
{
	size_t i;

	for (i = 0; i < uf->n; i++) {
		line_fini(&uf->lines[i]);
	}
	com_free(uf->lines);
	memset(uf, 0, sizeof(*uf));
}

/*
 * Split text into lines of 7 fields: a BOM is skipped, '#' lines and blank
 * lines are comments, the first other line must be the header. Every line is
 * valid UTF-8 (a spreadsheet's Windows-1258 export is named).
 */
static int
file_parse(units_file *uf, const char *name, const char *text, size_t len, char *err, size_t errlen)
{
	const char *p = text;
	const char *end = text + len;
	size_t cap = 0;
	int line = 0;
	bool header = false;

	memset(uf, 0, sizeof(*uf));
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) {
		p += 3;
	}
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *next = nl ? nl + 1 : end;
		struct csv_parser cp;
		units_line cur;

		line++;
		if (ll > 0 && p[ll - 1] == '\r') {
			ll--;
		}
		if (!utf8_text(p, ll)) {
			file_fini(uf);
			return units_fail(err, errlen,
			    "%s:%d: not valid UTF-8 text (a spreadsheet saved it in another encoding, such as "
			    "Windows-1258); save the file again as \"CSV UTF-8 (Comma delimited)\"; nothing was "
			    "imported",
			    name, line);
		}
		if (ll == 0 || p[0] == '#') {
			p = next;
			continue;
		}
		if (!header) {
			if (ll != strlen(OCP_UNITS_HEADER) || memcmp(p, OCP_UNITS_HEADER, ll) != 0) {
				file_fini(uf);
				return units_fail(err, errlen, "%s:%d: the header must be exactly: %s; nothing was imported",
				    name, line, OCP_UNITS_HEADER);
			}
			header = true;
			p = next;
			continue;
		}
		memset(&cur, 0, sizeof(cur));
		cur.line = line;
		if (csv_init(&cp, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
			file_fini(uf);
			return OCOP_ENOMEM;
		}
		if (csv_parse(&cp, p, ll, on_field, NULL, &cur) != ll || csv_fini(&cp, on_field, NULL, &cur) != 0) {
			csv_free(&cp);
			line_fini(&cur);
			file_fini(uf);
			return units_fail(err, errlen,
			    "%s:%d: malformed CSV (an unterminated or stray quote); nothing was imported", name, line);
		}
		csv_free(&cp);
		if (cur.nomem) {
			line_fini(&cur);
			file_fini(uf);
			return OCOP_ENOMEM;
		}
		if (cur.n != F_COUNT) {
			line_fini(&cur);
			file_fini(uf);
			return units_fail(err, errlen, "%s:%d: expected %d fields (%s), found %zu; nothing was imported",
			    name, line, F_COUNT, OCP_UNITS_HEADER, cur.n);
		}
		if (uf->n == cap) {
			size_t ncap = cap ? cap * 2 : 64;
			units_line *g = com_realloc(uf->lines, ncap * sizeof(*g));

			if (g == NULL) {
				line_fini(&cur);
				file_fini(uf);
				return OCOP_ENOMEM;
			}
			uf->lines = g;
			cap = ncap;
		}
		uf->lines[uf->n++] = cur;
		p = next;
	}
	if (!header) {
		file_fini(uf);
		return units_fail(err, errlen, "%s:1: the file has no header; it must be: %s; nothing was imported",
		    name, OCP_UNITS_HEADER);
	}
	return OCOP_OK;
}

/* Checks every line needs on its own: code, name, level, codes and dates well formed. */
static int
line_check(const char *name, const units_line *l, char *err, size_t errlen)
{
	char *const *f = l->f;

	if (!ocp_reg_code_valid(f[F_CODE]) || strcmp(f[F_CODE], "VN") == 0) {
		return units_fail(err, errlen,
		    "%s:%d: code '%s' is not a unit code as issued (like 86, 83-833 or 86-28969); nothing was "
		    "imported",
		    name, l->line, f[F_CODE]);
	}
	if (f[F_NAME][0] == '\0' || strlen(f[F_NAME]) > UNITS_NAME_MAX) {
		return units_fail(err, errlen, "%s:%d: unit %s needs a name (at most %d bytes); nothing was imported",
		    name, l->line, f[F_CODE], UNITS_NAME_MAX);
	}
	if (strcmp(f[F_LEVEL], "province") != 0 && strcmp(f[F_LEVEL], "district") != 0 &&
	    strcmp(f[F_LEVEL], "commune") != 0) {
		return units_fail(err, errlen,
		    "%s:%d: level '%s' is not province, district or commune; nothing was imported", name, l->line,
		    f[F_LEVEL]);
	}
	if ((strcmp(f[F_LEVEL], "province") == 0) != (units_code_segments(f[F_CODE]) == 1) ||
	    (strcmp(f[F_LEVEL], "district") == 0 && units_code_segments(f[F_CODE]) != 2)) {
		return units_fail(err, errlen,
		    "%s:%d: a %s's code does not look like '%s' (province 86, district 83-833, commune "
		    "86-28969 or 83-833-28966); nothing was imported",
		    name, l->line, f[F_LEVEL], f[F_CODE]);
	}
	if ((f[F_PARENT][0] && !ocp_reg_code_valid(f[F_PARENT])) ||
	    (f[F_SUCC][0] && !ocp_reg_code_valid(f[F_SUCC]))) {
		return units_fail(err, errlen,
		    "%s:%d: parent_code '%s' or successor_code '%s' is not a unit code; nothing was imported", name,
		    l->line, f[F_PARENT], f[F_SUCC]);
	}
	if (!date_ok(f[F_FROM]) || !date_ok(f[F_TO])) {
		return units_fail(err, errlen,
		    "%s:%d: valid_from '%s' and valid_to '%s' must be dates (YYYY-MM-DD) or empty; nothing was "
		    "imported",
		    name, l->line, f[F_FROM], f[F_TO]);
	}
	if (f[F_FROM][0] && f[F_TO][0] && strcmp(f[F_TO], f[F_FROM]) < 0) {
		return units_fail(err, errlen, "%s:%d: valid_to %s is before valid_from %s; nothing was imported",
		    name, l->line, f[F_TO], f[F_FROM]);
	}
	if (f[F_SUCC][0] && strcmp(f[F_SUCC], f[F_CODE]) == 0 && strcmp(f[F_LEVEL], "province") != 0) {
		return units_fail(err, errlen, "%s:%d: unit %s cannot be its own successor; nothing was imported", name,
		    l->line, f[F_CODE]);
	}
	if (f[F_SUCC][0] && !f[F_TO][0]) {
		return units_fail(err, errlen,
		    "%s:%d: unit %s names a successor but no valid_to (a unit that was taken over ended); "
		    "nothing was imported",
		    name, l->line, f[F_CODE]);
	}
	return OCOP_OK;
}

/* ===== Loading ===== */

static int
read_file(const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0;
	size_t got;

	*text = NULL;
	*len = 0;
	if (f == NULL) {
		return OCOP_ENOENT;
	}
	buf = com_malloc(UNITS_FILE_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return OCOP_ENOMEM;
	}
	while ((got = fread(buf + n, 1, UNITS_FILE_MAX + 1 - n, f)) > 0) {
		n += got;
		if (n > UNITS_FILE_MAX) {
			break;
		}
	}
	if (ferror(f) || n > UNITS_FILE_MAX) {
		fclose(f);
		com_free(buf);
		return OCOP_EIO;
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return OCOP_OK;
}

/* Load one shipped file; current says whether its units must all be current or all former. */
static int
units_load_file(ocp_units *u, const char *data_dir, const char *file, bool current, char *err,
    size_t errlen)
{
	char path[1200];
	char *text = NULL;
	units_file uf;
	size_t len = 0;
	size_t i;
	int rv;

	snprintf(path, sizeof(path), "%s/units/%s", data_dir, file);
	if ((rv = read_file(path, &text, &len)) != OCOP_OK) {
		units_fail(err, errlen, "cannot read %s: %s", path, ocop_strerror(rv));
		return rv == OCOP_ENOMEM ? rv : OCOP_ENOENT;
	}
	rv = file_parse(&uf, path, text, len, err, errlen);
	com_free(text);
	if (rv != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < uf.n && rv == OCOP_OK; i++) {
		const units_line *l = &uf.lines[i];

		if ((rv = line_check(path, l, err, errlen)) != OCOP_OK) {
			break;
		}
		if (strcmp(l->f[F_LEVEL], "province") != 0 || (l->f[F_TO][0] == '\0') != current ||
		    (current == (l->f[F_SUCC][0] != '\0'))) {
			rv = units_fail(err, errlen, "%s:%d: this file holds %s provinces only", path, l->line,
			    current ? "current (no valid_to, no successor)" : "former (valid_to and successor)");
			break;
		}
		rv = units_push(u, l->f, true);
	}
	file_fini(&uf);
	return rv;
}

/* Every successor is a current province, and every current province succeeds a former one. */
static int
units_check_shipped(const ocp_units *u, char *err, size_t errlen)
{
	size_t i;
	size_t k;

	for (i = 0; i < u->n; i++) {
		const ocp_unit *e = &u->v[i];
		bool found = false;

		if (!units_is_current(e)) {
			if (!ocp_units_current(u, e->successor)) {
				return units_fail(err, errlen, "data/units: the successor %s of former province %s is not a current province",
				    e->successor, e->code);
			}
			continue;
		}
		for (k = 0; k < u->n && !found; k++) {
			found = !units_is_current(&u->v[k]) && strcmp(u->v[k].successor, e->code) == 0;
		}
		if (!found) {
			return units_fail(err, errlen, "data/units: current province %s succeeds no former province", e->code);
		}
	}
	return OCOP_OK;
}

int
ocp_units_open(ocp_units **out, const char *data_dir, char *err, size_t errlen)
{
	ocp_units *u;
	int rv;

	*out = NULL;
	u = com_calloc(1, sizeof(*u));
	if (u == NULL) {
		return OCOP_ENOMEM;
	}
	if ((rv = units_load_file(u, data_dir, "provinces-2025.csv", true, err, errlen)) != OCOP_OK ||
	    (rv = units_load_file(u, data_dir, "provinces-2004.csv", false, err, errlen)) != OCOP_OK) {
		ocp_units_free(u);
		return rv;
	}
	units_sort(u);
	if ((rv = units_check_shipped(u, err, errlen)) != OCOP_OK) {
		ocp_units_free(u);
		return rv;
	}
	*out = u;
	return OCOP_OK;
}

/* ===== Import ===== */

/* Is code the code of a line of the file before `upto` (or any line when upto is n)? Returns its index or -1. */
static long
file_find(const units_file *uf, const char *code, size_t upto)
{
	size_t i;

	for (i = 0; i < upto && i < uf->n; i++) {
		if (strcmp(uf->lines[i].f[F_CODE], code) == 0) {
			return (long)i;
		}
	}
	return -1;
}

/* The level of a code known to the file or to u, or NULL. */
static const char *
known_level(const ocp_units *u, const units_file *uf, const char *code)
{
	long k = file_find(uf, code, uf->n);

	if (k >= 0) {
		return uf->lines[k].f[F_LEVEL];
	}
	return ocp_units_level(u, code);
}

/* The successor of a code in the file or in u ("" when none). */
static const char *
known_successor(const ocp_units *u, const units_file *uf, const char *code)
{
	long k = file_find(uf, code, uf->n);
	const ocp_unit *f;

	if (k >= 0) {
		return uf->lines[k].f[F_SUCC];
	}
	f = units_former(u, code);
	return f ? f->successor : "";
}

/* Is a live unit row with this code already in the replica? */
static int
row_exists(sto_db *db, const char *code, bool *yes)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*yes = false;
	if (sqlite3_prepare_v2(sto_sqlite(db), "SELECT 1 FROM unit WHERE code = ?1 AND deleted = 0", -1, &st,
		NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		return OCOP_EDB;
	}
	*yes = rc == SQLITE_ROW;
	return OCOP_OK;
}

/* The checks of one import line against the shipped units, the scope, the file and the replica. */
static int
import_check(sto_db *db, const ocp_units *u, const units_file *uf, size_t i, const char *name, char *err,
    size_t errlen)
{
	const units_line *l = &uf->lines[i];
	char *const *f = l->f;
	const char *scope = sto_scope(db);
	char prov[8];
	char succ[8];
	char cur[32];
	const char *plevel;
	bool exists = false;
	long dup;
	int hops;
	int rv;

	if ((rv = line_check(name, l, err, errlen)) != OCOP_OK) {
		return rv;
	}
	if (strcmp(f[F_LEVEL], "province") == 0) {
		return units_fail(err, errlen,
		    "%s:%d: unit %s is a province: provinces ship with the program (data/units); import communes "
		    "and former districts; nothing was imported",
		    name, l->line, f[F_CODE]);
	}
	units_code_province(f[F_CODE], prov);
	if (ocp_units_find(u, prov) == NULL) {
		return units_fail(err, errlen,
		    "%s:%d: %s of unit %s is not a province code (QĐ 124/2004 or QĐ 19/2025); nothing was imported",
		    name, l->line, prov, f[F_CODE]);
	}
	if (!ocp_scope_covers(scope, f[F_CODE]) &&
	    !(ocp_units_successor(u, f[F_CODE], succ, sizeof(succ)) && ocp_scope_covers(scope, succ))) {
		return units_fail(err, errlen, "%s:%d: unit %s is outside this site's scope (%s); nothing was imported",
		    name, l->line, f[F_CODE], scope);
	}
	if ((dup = file_find(uf, f[F_CODE], i)) >= 0) {
		return units_fail(err, errlen, "%s:%d: unit %s is also on line %d; nothing was imported", name, l->line,
		    f[F_CODE], uf->lines[dup].line);
	}
	if ((rv = row_exists(db, f[F_CODE], &exists)) != OCOP_OK) {
		snprintf(err, errlen, "%s: reading the units: %s", name, sqlite3_errmsg(sto_sqlite(db)));
		return rv;
	}
	if (exists) {
		return units_fail(err, errlen,
		    "%s:%d: unit %s is already registered (change it with 'ocop unit set'); nothing was imported",
		    name, l->line, f[F_CODE]);
	}
	if (f[F_PARENT][0] != '\0') {
		char pprov[8];

		plevel = known_level(u, uf, f[F_PARENT]);
		units_code_province(f[F_PARENT], pprov);
		if (plevel == NULL) {
			return units_fail(err, errlen,
			    "%s:%d: parent_code %s of unit %s is neither in the file nor a known unit; nothing was "
			    "imported",
			    name, l->line, f[F_PARENT], f[F_CODE]);
		}
		if (strcmp(pprov, prov) != 0 || strcmp(plevel, "commune") == 0 ||
		    (strcmp(f[F_LEVEL], "district") == 0 && strcmp(plevel, "province") != 0)) {
			return units_fail(err, errlen,
			    "%s:%d: parent_code %s (a %s) cannot be the parent of %s %s (a district's parent is its "
			    "province, a commune's its district or province); nothing was imported",
			    name, l->line, f[F_PARENT], plevel, f[F_LEVEL], f[F_CODE]);
		}
	}
	if (f[F_SUCC][0] != '\0') {
		if (known_level(u, uf, f[F_SUCC]) == NULL) {
			return units_fail(err, errlen,
			    "%s:%d: successor_code %s of unit %s is neither in the file nor a known unit; nothing was "
			    "imported",
			    name, l->line, f[F_SUCC], f[F_CODE]);
		}
		snprintf(cur, sizeof(cur), "%s", f[F_SUCC]);
		for (hops = 0; hops < UNITS_MAX_HOPS; hops++) {
			const char *next = known_successor(u, uf, cur);

			if (strcmp(cur, f[F_CODE]) == 0) {
				return units_fail(err, errlen,
				    "%s:%d: the successors of unit %s lead back to it: the mapping would loop; nothing was "
				    "imported",
				    name, l->line, f[F_CODE]);
			}
			if (next[0] == '\0' || strcmp(next, cur) == 0) {
				break;
			}
			snprintf(cur, sizeof(cur), "%s", next);
		}
	}
	return OCOP_OK;
}

int
ocp_units_record_succession(sto_db *db, const ocp_units *u, size_t *added, char *err, size_t errlen)
{
	static const char *const cols[F_COUNT] = {"code", "name", "level", "parent_code", "valid_from",
	    "valid_to", "successor_code"};
	const char *scope = sto_scope(db);
	size_t i;
	int rv;

	if (added != NULL) {
		*added = 0;
	}
	for (i = 0; i < u->n; i++) {
		const ocp_unit *e = &u->v[i];
		const char *vals[F_COUNT];
		bool exists = false;
		char id[37];

		if (!e->shipped || units_is_current(e) || strcmp(e->level, "province") != 0 || e->successor[0] == '\0' ||
		    strcmp(e->successor, e->code) == 0 || ocp_scope_covers(scope, e->code) ||
		    !ocp_scope_covers(scope, e->successor)) {
			continue;
		}
		if ((rv = row_exists(db, e->code, &exists)) != OCOP_OK) {
			snprintf(err, errlen, "reading the units: %s", sqlite3_errmsg(sto_sqlite(db)));
			return rv;
		}
		if (exists) {
			continue;
		}
		vals[F_CODE] = e->code;
		vals[F_NAME] = e->name;
		vals[F_LEVEL] = e->level;
		vals[F_PARENT] = NULL;
		vals[F_FROM] = e->valid_from[0] ? e->valid_from : NULL;
		vals[F_TO] = e->valid_to;
		vals[F_SUCC] = e->successor;
		if ((rv = sto_row_insert(db, "unit", cols, vals, F_COUNT, id)) != OCOP_OK) {
			snprintf(err, errlen, "recording that %s became %s: %s", e->code, e->successor, sto_errmsg(db));
			return rv;
		}
		if (added != NULL) {
			(*added)++;
		}
	}
	return OCOP_OK;
}

static bool
role_writes_units(const char *role)
{
	return role != NULL && (strcmp(role, "province") == 0 || strcmp(role, "national") == 0);
}

int
ocp_units_import(sto_db *db, const ocp_units *u, const char *name, const char *text, size_t len,
    size_t *imported, char *err, size_t errlen)
{
	static const char *const cols[F_COUNT] = {"code", "name", "level", "parent_code", "valid_from",
	    "valid_to", "successor_code"};
	units_file uf;
	size_t i;
	int rv;

	*imported = 0;
	if (errlen > 0) {
		err[0] = '\0';
	}
	if (!role_writes_units(sto_role(db))) {
		snprintf(err, errlen,
		    "units are reference data kept by province and national sites; a %s site cannot import them",
		    sto_role(db) ? sto_role(db) : "(uninitialised)");
		return OCOP_EAUTH;
	}
	if ((rv = file_parse(&uf, name, text, len, err, errlen)) != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < uf.n && rv == OCOP_OK; i++) {
		rv = import_check(db, u, &uf, i, name, err, errlen);
	}
	if (rv == OCOP_OK && uf.n > 0 && (rv = sto_begin(db)) != OCOP_OK) {
		snprintf(err, errlen, "%s: %s", name, sto_errmsg(db));
	} else if (rv == OCOP_OK && uf.n > 0) {
		char why[512];

		if ((rv = ocp_units_record_succession(db, u, NULL, why, sizeof(why))) != OCOP_OK) {
			snprintf(err, errlen, "%s: %s; nothing was imported", name, why);
		}
		for (i = 0; i < uf.n && rv == OCOP_OK; i++) {
			const char *vals[F_COUNT];
			utf8proc_uint8_t *nfc = utf8proc_NFC((const utf8proc_uint8_t *)uf.lines[i].f[F_NAME]);
			char id[37];
			size_t k;

			if (nfc == NULL) {
				rv = OCOP_ENOMEM;
				break;
			}
			for (k = 0; k < F_COUNT; k++) {
				vals[k] = uf.lines[i].f[k][0] ? uf.lines[i].f[k] : NULL;
			}
			vals[F_NAME] = (const char *)nfc;
			rv = sto_row_insert(db, "unit", cols, vals, F_COUNT, id);
			free(nfc);
			if (rv != OCOP_OK) {
				snprintf(err, errlen, "%s:%d: %s; nothing was imported", name, uf.lines[i].line, sto_errmsg(db));
			}
		}
		if (rv == OCOP_OK && (rv = sto_commit(db)) != OCOP_OK) {
			snprintf(err, errlen, "%s: %s; nothing was imported", name, sto_errmsg(db));
		}
		if (rv != OCOP_OK) {
			sto_rollback(db);
		}
	}
	if (rv == OCOP_OK) {
		*imported = uf.n;
	}
	file_fini(&uf);
	return rv;
}
