/*
 * units.c: administrative units (units.h): the shipped provinces and the
 * replica's unit rows in one array sorted by code, the preferred unit of a
 * code first (current, then a replica row, then a shipped former unit), so a
 * lookup is a binary search for the first entry of a code; and what a code
 * maps to through the succession. Reading and importing units files is
 * unitfile.c's.
 */
#include "common/ocop/units.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>
#include <utf8proc.h>

#include "common/ocop/units_impl.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

/* ===== Small helpers ===== */

int
units_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return OCOP_EINPUT;
}

bool
units_is_current(const ocp_unit *e)
{
	return e->valid_to[0] == '\0';
}

/* Number of '-' separated segments of a code. */
int
units_code_segments(const char *code)
{
	int n = 1;

	for (; *code; code++) {
		n += *code == '-';
	}
	return n;
}

/* The province segment of a code ("83" of "83-833-28966"). */
void
units_code_province(const char *code, char out[8])
{
	size_t n = strcspn(code, "-");

	snprintf(out, 8, "%.*s", (int)(n < 7 ? n : 7), code);
}

/* Copy src into dst[cap]; false when it does not fit. */
static bool
copy_fits(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap) {
		return false;
	}
	memcpy(dst, src, n + 1);
	return true;
}

/* ===== The sorted array ===== */

static int
unit_cmp(const void *a, const void *b)
{
	const ocp_unit *x = a;
	const ocp_unit *y = b;
	int c = strcmp(x->code, y->code);

	if (c != 0) {
		return c;
	}
	if (units_is_current(x) != units_is_current(y)) {
		return units_is_current(x) ? -1 : 1;
	}
	if (x->shipped != y->shipped) {
		return x->shipped ? 1 : -1;
	}
	return 0;
}

void
units_sort(ocp_units *u)
{
	if (u->n > 1) {
		qsort(u->v, u->n, sizeof(*u->v), unit_cmp);
	}
}

/* The index of the first unit of code, or u->n. */
static size_t
units_first(const ocp_units *u, const char *code)
{
	size_t lo = 0;
	size_t hi = u->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(u->v[mid].code, code) < 0) {
			lo = mid + 1;
		} else {
			hi = mid;
		}
	}
	return lo < u->n && strcmp(u->v[lo].code, code) == 0 ? lo : u->n;
}

/* The former unit of code that names a successor, or NULL. */
const ocp_unit *
units_former(const ocp_units *u, const char *code)
{
	size_t i = units_first(u, code);

	for (; i < u->n && strcmp(u->v[i].code, code) == 0; i++) {
		if (!units_is_current(&u->v[i]) && u->v[i].successor[0] != '\0') {
			return &u->v[i];
		}
	}
	return NULL;
}

/* Append a unit from fields (checked by the caller); takes no ownership of f. */
int
units_push(ocp_units *u, char *const f[F_COUNT], bool shipped)
{
	ocp_unit *e;
	utf8proc_uint8_t *nfc;

	if (u->n == u->cap) {
		size_t cap = u->cap ? u->cap * 2 : 128;
		ocp_unit *g = com_realloc(u->v, cap * sizeof(*g));

		if (g == NULL) {
			return OCOP_ENOMEM;
		}
		u->v = g;
		u->cap = cap;
	}
	nfc = utf8proc_NFC((const utf8proc_uint8_t *)f[F_NAME]);
	if (nfc == NULL) {
		return OCOP_ENOMEM;
	}
	e = &u->v[u->n];
	memset(e, 0, sizeof(*e));
	e->name = com_strdup((const char *)nfc);
	free(nfc);
	if (e->name == NULL) {
		return OCOP_ENOMEM;
	}
	snprintf(e->code, sizeof(e->code), "%s", f[F_CODE]);
	snprintf(e->level, sizeof(e->level), "%s", f[F_LEVEL]);
	snprintf(e->parent, sizeof(e->parent), "%s", f[F_PARENT]);
	snprintf(e->valid_from, sizeof(e->valid_from), "%s", f[F_FROM]);
	snprintf(e->valid_to, sizeof(e->valid_to), "%s", f[F_TO]);
	snprintf(e->successor, sizeof(e->successor), "%s", f[F_SUCC]);
	e->shipped = shipped;
	u->n++;
	return OCOP_OK;
}

/* ===== Lifetime ===== */

void
ocp_units_free(ocp_units *u)
{
	size_t i;

	if (u == NULL) {
		return;
	}
	for (i = 0; i < u->n; i++) {
		com_free(u->v[i].name);
	}
	com_free(u->v);
	com_free(u);
}

int
ocp_units_load_db(ocp_units *u, sto_db *db)
{
	static const char sql[] = "SELECT code, name, level, COALESCE(parent_code, ''), COALESCE(valid_from, ''),"
				  " COALESCE(valid_to, ''), COALESCE(successor_code, '') FROM unit"
				  " WHERE deleted = 0 AND code IS NOT NULL AND name IS NOT NULL AND level IS NOT NULL"
				  " ORDER BY code, id";
	sqlite3_stmt *st = NULL;
	size_t before = u->n;
	int rc;
	int rv = OCOP_OK;

	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && rv == OCOP_OK) {
		char *f[F_COUNT];
		size_t i;

		for (i = 0; i < F_COUNT; i++) {
			f[i] = (char *)sqlite3_column_text(st, (int)i);
		}
		if (f[F_CODE] == NULL || f[F_NAME] == NULL || f[F_LEVEL] == NULL) {
			continue;
		}
		rv = units_push(u, f, false);
	}
	sqlite3_finalize(st);
	if (rv == OCOP_OK && rc != SQLITE_DONE) {
		rv = rc == SQLITE_NOMEM ? OCOP_ENOMEM : OCOP_EDB;
	}
	if (rv != OCOP_OK) {
		while (u->n > before) {
			com_free(u->v[--u->n].name);
		}
		return rv;
	}
	units_sort(u);
	return OCOP_OK;
}

/* ===== Lookups ===== */

size_t
ocp_units_count(const ocp_units *u)
{
	return u->n;
}

const ocp_unit *
ocp_units_at(const ocp_units *u, size_t i)
{
	return &u->v[i];
}

const ocp_unit *
ocp_units_find(const ocp_units *u, const char *code)
{
	size_t i;

	if (u == NULL || code == NULL) {
		return NULL;
	}
	i = units_first(u, code);
	return i < u->n ? &u->v[i] : NULL;
}

const char *
ocp_units_name(const ocp_units *u, const char *code)
{
	const ocp_unit *e = ocp_units_find(u, code);

	return e ? e->name : NULL;
}

const char *
ocp_units_level(const ocp_units *u, const char *code)
{
	const ocp_unit *e = ocp_units_find(u, code);

	return e ? e->level : NULL;
}

bool
ocp_units_current(const ocp_units *u, const char *code)
{
	const ocp_unit *e = ocp_units_find(u, code);

	return e != NULL && units_is_current(e);
}

bool
ocp_units_successor(const ocp_units *u, const char *code, char *out, size_t cap)
{
	char cur[8];
	int hops;

	if (u == NULL || code == NULL || code[0] == '\0') {
		return false;
	}
	units_code_province(code, cur);
	for (hops = 0; hops < UNITS_MAX_HOPS; hops++) {
		const ocp_unit *f;

		if (ocp_units_current(u, cur)) {
			if (hops == 0) {
				return false; /* the code's own province is in force */
			}
			return copy_fits(out, cap, cur);
		}
		f = units_former(u, cur);
		if (f == NULL || strcmp(f->successor, cur) == 0) {
			return false;
		}
		snprintf(cur, sizeof(cur), "%.7s", f->successor);
	}
	return false;
}

bool
ocp_units_level_parse(const char *s, ocp_unit_level *out)
{
	static const char *const names[] = {"commune", "district", "province"};
	int i;

	for (i = 0; s != NULL && i < 3; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (ocp_unit_level)i;
			return true;
		}
	}
	return false;
}

/* Follow a unit's successor_code chain to the last unit known (the code itself when none). */
static void
units_follow(const ocp_units *u, const char *code, char out[32])
{
	int hops;

	snprintf(out, 32, "%s", code);
	for (hops = 0; hops < UNITS_MAX_HOPS; hops++) {
		const ocp_unit *f = units_former(u, out);

		if (f == NULL || strcmp(f->successor, out) == 0) {
			return;
		}
		snprintf(out, 32, "%s", f->successor);
	}
}

size_t
ocp_units_path(const ocp_units *u, const char *code, char (*path)[32], size_t max)
{
	char succ[8];
	size_t n = 0;

	if (max == 0) {
		return 0;
	}
	snprintf(path[n++], 32, "%s", code);
	while (n < max && n <= UNITS_MAX_HOPS) {
		const ocp_unit *f = units_former(u, path[n - 1]);

		if (f == NULL || strcmp(f->successor, path[n - 1]) == 0) {
			break;
		}
		snprintf(path[n++], 32, "%s", f->successor);
	}
	if (n < max && !ocp_units_current(u, path[n - 1]) && ocp_units_successor(u, path[n - 1], succ, sizeof(succ))) {
		snprintf(path[n++], 32, "%s", succ);
	}
	return n;
}

/* The former district a code counts under, or "" when it has none that is known. */
static void
units_district(const ocp_units *u, const char *code, char out[32])
{
	const ocp_unit *e = ocp_units_find(u, code);
	size_t dash1 = strcspn(code, "-");
	int segs = units_code_segments(code);

	out[0] = '\0';
	if (segs == 3) {
		size_t dash2 = dash1 + 1 + strcspn(code + dash1 + 1, "-");

		snprintf(out, 32, "%.*s", (int)dash2, code);
	} else if (segs == 2 && e != NULL && strcmp(e->level, "district") == 0) {
		snprintf(out, 32, "%s", code);
	} else if (segs == 2 && e != NULL && e->parent[0] != '\0' &&
	    ocp_units_level(u, e->parent) != NULL && strcmp(ocp_units_level(u, e->parent), "district") == 0) {
		snprintf(out, 32, "%s", e->parent);
	} else if (segs == 2 && e == NULL && strlen(code + dash1 + 1) <= 3) {
		/* District codes have 3 digits, commune codes 5 (QĐ 124/2004). */
		snprintf(out, 32, "%s", code);
	}
}

/*
 * A name for a code no unit row names: where it lies, from the units above it
 * ("mã 83-832-28882, Huyện Chợ Lách, Tỉnh Bến Tre"), or "" when nothing is known.
 */
static void
units_describe(const ocp_units *u, const char *code, char *name, size_t namecap)
{
	char district[32];
	char prov[8];
	const char *dn;
	const char *pn;

	units_district(u, code, district);
	units_code_province(code, prov);
	dn = district[0] && strcmp(district, code) != 0 ? ocp_units_name(u, district) : NULL;
	pn = ocp_units_name(u, prov);
	if (pn == NULL || strcmp(prov, code) == 0) {
		name[0] = '\0';
	} else if (dn != NULL) {
		snprintf(name, namecap, "mã %s, %s, %s", code, dn, pn);
	} else {
		snprintf(name, namecap, "mã %s, %s", code, pn);
	}
}

int
ocp_units_rollup(const ocp_units *u, const char *code, ocp_unit_level level, bool current, char *key,
    size_t keycap, char *name, size_t namecap)
{
	char prov[8];
	char buf[32];
	char succ[8];
	const char *nm;

	if (level == OCP_LEVEL_DISTRICT && current) {
		return OCOP_EINVAL;
	}
	if (keycap == 0 || namecap == 0) {
		return OCOP_EINVAL;
	}
	key[0] = '\0';
	name[0] = '\0';
	units_code_province(code, prov);
	switch (level) {
	case OCP_LEVEL_PROVINCE:
		if (current && ocp_units_successor(u, prov, succ, sizeof(succ))) {
			snprintf(prov, sizeof(prov), "%s", succ);
		}
		nm = ocp_units_name(u, prov);
		if (!copy_fits(key, keycap, prov)) {
			return OCOP_EINVAL;
		}
		snprintf(name, namecap, "%s", nm ? nm : "");
		return OCOP_OK;
	case OCP_LEVEL_DISTRICT:
		units_district(u, code, buf);
		if (buf[0] == '\0') {
			nm = ocp_units_name(u, prov);
			if (!copy_fits(key, keycap, prov)) {
				return OCOP_EINVAL;
			}
			snprintf(name, namecap, "%s: không thuộc huyện nào (xã, phường từ 1/7/2025) hoặc chưa rõ huyện",
			    nm ? nm : prov);
			return OCOP_OK;
		}
		nm = ocp_units_name(u, buf);
		if (!copy_fits(key, keycap, buf)) {
			return OCOP_EINVAL;
		}
		snprintf(name, namecap, "%s", nm ? nm : "");
		return OCOP_OK;
	default:
		if (current) {
			units_follow(u, code, buf);
		} else {
			snprintf(buf, sizeof(buf), "%s", code);
		}
		if (!copy_fits(key, keycap, buf)) {
			return OCOP_EINVAL;
		}
		nm = ocp_units_name(u, buf);
		if (current && !ocp_units_current(u, buf) && ocp_units_successor(u, buf, succ, sizeof(succ))) {
			/* A former unit whose own successor is not known: say which province holds it now. */
			const char *pn = ocp_units_name(u, succ);

			snprintf(name, namecap, "%s (đơn vị cũ; nay thuộc %s)", nm ? nm : buf, pn ? pn : succ);
		} else if (nm != NULL) {
			snprintf(name, namecap, "%s", nm);
		} else {
			units_describe(u, buf, name, namecap);
		}
		return OCOP_OK;
	}
}

