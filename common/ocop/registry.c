/*
 * registry.c: validated, authority-checked writes and reads of the registry
 * tables (unit, subject, product, dossier, document). The rules themselves
 * live elsewhere: the fields in the entity tables (entity.c), who may write
 * what in the authority module, which status moves exist in the workflow
 * module. This file only asks them, before it writes, inside one transaction.
 * The registry's other nouns have their own files: site.c (identity, codes,
 * scopes), dossier.c (workflow moves), search.c.
 */
#include "common/ocop/registry.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "common/ocop/authority.h"
#include "common/ocop/basis.h"
#include "common/ocop/entity.h"
#include "common/ocop/registry_impl.h"
#include "common/ocop/scope.h"
#include "common/ocop/workflow.h"
#include "common/store/fold.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "common/util/uuid.h"
#include "ocop_err.h"

/* ===== Entities ===== */

/* The tables this module writes (entity.h); the council's tables are not its business. */
static bool
reg_table_known(const char *table)
{
	return ocp_entity_find(table) != NULL;
}

/* ===== Errors ===== */

int
reg_fail(ocp_reg *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int
reg_fail(ocp_reg *r, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return code;
}

/* Keep the store's text for a failed sto_* call. */
int
reg_dberr(ocp_reg *r, int rv)
{
	if (rv == OCOP_ENOMEM) {
		return reg_fail(r, rv, "out of memory");
	}
	return reg_fail(r, rv, "%s", sto_errmsg(r->db));
}

static int
reg_sqlerr(ocp_reg *r, int rc)
{
	if (rc == SQLITE_NOMEM) {
		return reg_fail(r, OCOP_ENOMEM, "out of memory");
	}
	return reg_fail(r, OCOP_EDB, "database: %s", sqlite3_errmsg(sto_sqlite(r->db)));
}

void
reg_msg(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

void
reg_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ===== Text checks ===== */

char
reg_to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

int
reg_code_segments(const char *code)
{
	int n = 1;

	for (; *code != 0; code++) {
		n += *code == '-';
	}
	return n;
}

/* ===== Workflows ===== */

int
reg_flow(ocp_reg *r, const char *basis, const ocp_flow **out)
{
	char err[256];
	ocp_flow *f = NULL;
	size_t i;
	int rv;

	*out = NULL;
	for (i = 0; i < r->nflows; i++) {
		if (strcmp(ocp_flow_basis(r->flows[i]), basis) == 0) {
			*out = r->flows[i];
			return OCOP_OK;
		}
	}
	if (r->nflows == REG_MAX_FLOWS) {
		return reg_fail(r, OCOP_ERANGE, "too many legal bases in use at once");
	}
	rv = ocp_flow_load_basis(&f, r->data_dir, basis, err, sizeof(err));
	if (rv == OCOP_ENOENT || rv == OCOP_EINVAL) {
		return reg_fail(r, OCOP_EINPUT,
		    "unknown legal basis '%s' (no workflow for it; known: qd26-2026, qd148-2023)", basis);
	}
	if (rv != OCOP_OK) {
		return reg_fail(r, rv, "workflow of legal basis '%s': %s", basis, err);
	}
	r->flows[r->nflows++] = f;
	*out = f;
	return OCOP_OK;
}

/* ===== Value normalisation ===== */

/*
 * Check and normalise one value of field f of entity e (entity.h) into a
 * com_malloc'd string, or NULL for an empty value (the caller decides whether
 * empty is allowed). A legal basis must also have a workflow file.
 */
int
reg_norm(ocp_reg *r, const ocp_entity *e, const ocp_entity_field *f, const char *in, char **out)
{
	const ocp_flow *flow;
	int rv = ocp_entity_norm(e, f, in, out, r->err, sizeof(r->err));

	if (rv == OCOP_OK && *out != NULL && f->kind == OCP_FK_BASIS && (rv = reg_flow(r, *out, &flow)) != OCOP_OK) {
		com_free(*out);
		*out = NULL;
	}
	return rv;
}

/* ===== Row buffers ===== */


/* Set col to val, taking val in every case (freed on error). */
static int
row_put(ocp_reg *r, reg_row *w, const char *col, char *val)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (strcmp(w->cols[i], col) == 0) {
			com_free(w->vals[i]);
			w->vals[i] = val;
			return OCOP_OK;
		}
	}
	if (w->n == REG_MAX_COLS) {
		com_free(val);
		return reg_fail(r, OCOP_EINVAL, "too many columns in one write");
	}
	w->cols[w->n] = col;
	w->vals[w->n++] = val;
	return OCOP_OK;
}

/* Copy text into col. */
static int
row_put_copy(ocp_reg *r, reg_row *w, const char *col, const char *text)
{
	char *v = NULL;

	if (text != NULL && (v = com_strdup(text)) == NULL) {
		return reg_fail(r, OCOP_ENOMEM, "out of memory");
	}
	return row_put(r, w, col, v);
}

static bool
row_has(const reg_row *w, const char *col)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (strcmp(w->cols[i], col) == 0) {
			return true;
		}
	}
	return false;
}

static const char *
row_get(const reg_row *w, const char *col)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (strcmp(w->cols[i], col) == 0) {
			return w->vals[i];
		}
	}
	return NULL;
}

static void
row_fini(reg_row *w)
{
	size_t i;

	for (i = 0; i < w->n; i++) {
		com_free(w->vals[i]);
	}
	w->n = 0;
}

/* ===== Queries ===== */

int
reg_prepare(ocp_reg *r, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(sto_sqlite(r->db), sql, -1, st, NULL);

	if (rc != SQLITE_OK) {
		*st = NULL;
		return reg_sqlerr(r, rc);
	}
	return OCOP_OK;
}

/* Bind nargs text arguments (const char *) to ?1..?n. */
static void
reg_bind(sqlite3_stmt *st, int nargs, va_list ap)
{
	int i;

	for (i = 1; i <= nargs; i++) {
		const char *a = va_arg(ap, const char *);

		if (a == NULL) {
			sqlite3_bind_null(st, i);
		} else {
			sqlite3_bind_text(st, i, a, -1, SQLITE_TRANSIENT);
		}
	}
}

/* Run a query returning one integer (COUNT, EXISTS). */
int
reg_query_int(ocp_reg *r, long long *out, const char *sql, int nargs, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	int rc;
	int rv;

	*out = 0;
	if ((rv = reg_prepare(r, sql, &st)) != OCOP_OK) {
		return rv;
	}
	va_start(ap, nargs);
	reg_bind(st, nargs, ap);
	va_end(ap);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		rv = OCOP_OK;
	} else {
		rv = rc == SQLITE_DONE ? OCOP_OK : reg_sqlerr(r, rc);
	}
	sqlite3_finalize(st);
	return rv;
}

/*
 * Run a query returning up to ncols text columns of one row into com_malloc'd
 * strings (NULL for SQL NULL). OCOP_ENOENT (message untouched) when no row.
 */
int
reg_query_row(ocp_reg *r, char **vals, int ncols, const char *sql, int nargs, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	int rc;
	int rv;
	int i;

	for (i = 0; i < ncols; i++) {
		vals[i] = NULL;
	}
	if ((rv = reg_prepare(r, sql, &st)) != OCOP_OK) {
		return rv;
	}
	va_start(ap, nargs);
	reg_bind(st, nargs, ap);
	va_end(ap);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rv = OCOP_ENOENT;
	} else if (rc != SQLITE_ROW) {
		rv = reg_sqlerr(r, rc);
	}
	for (i = 0; rv == OCOP_OK && i < ncols; i++) {
		const unsigned char *t = sqlite3_column_text(st, i);

		if (t == NULL && sqlite3_errcode(sto_sqlite(r->db)) == SQLITE_NOMEM) {
			rv = reg_fail(r, OCOP_ENOMEM, "out of memory");
		} else if (t != NULL && (vals[i] = com_strdup((const char *)t)) == NULL) {
			rv = reg_fail(r, OCOP_ENOMEM, "out of memory");
		}
	}
	sqlite3_finalize(st);
	if (rv != OCOP_OK) {
		for (i = 0; i < ncols; i++) {
			com_free(vals[i]);
			vals[i] = NULL;
		}
	}
	return rv;
}

void
vals_free(char **vals, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		com_free(vals[i]);
		vals[i] = NULL;
	}
}

/* One column of the current row as a JSON value; NULL on ENOMEM. */
static json_t *
reg_json_col(sqlite3_stmt *st, int i)
{
	json_t *v;

	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return json_integer((json_int_t)sqlite3_column_int64(st, i));
	case SQLITE_FLOAT:
		return json_real(sqlite3_column_double(st, i));
	case SQLITE_TEXT:
		v = json_stringn((const char *)sqlite3_column_text(st, i),
		    (size_t)sqlite3_column_bytes(st, i));
		/* Text that is not UTF-8 can only come from a foreign writer; show it as null
		 * rather than emit invalid JSON. */
		return v != NULL ? v : json_null();
	default:
		return json_null();
	}
}

/* Append every remaining row of st to arr as an object keyed by column name. */
int
reg_json_rows(ocp_reg *r, sqlite3_stmt *st, json_t *arr, bool one)
{
	int ncols = sqlite3_column_count(st);
	json_t *o;
	int rc;
	int i;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((o = json_object()) == NULL || json_array_append_new(arr, o) != 0) {
			return reg_fail(r, OCOP_ENOMEM, "out of memory");
		}
		for (i = 0; i < ncols; i++) {
			if (json_object_set_new(o, sqlite3_column_name(st, i), reg_json_col(st, i)) !=
			    0) {
				return reg_fail(r, OCOP_ENOMEM, "out of memory");
			}
		}
		if (one) {
			return OCOP_OK;
		}
	}
	return rc == SQLITE_DONE ? OCOP_OK : reg_sqlerr(r, rc);
}

/* ===== Opening ===== */

int
ocp_reg_open(ocp_reg **out, sto_db *db, const char *data_dir, char *err, size_t errlen)
{
	ocp_reg *r;
	ocp_role role;
	int rv;

	*out = NULL;
	if (db == NULL || data_dir == NULL) {
		reg_msg(err, errlen, "no database or data directory given");
		return OCOP_EINVAL;
	}
	if (strlen(data_dir) >= sizeof(r->data_dir)) {
		reg_msg(err, errlen, "data directory path too long");
		return OCOP_ERANGE;
	}
	if ((r = com_calloc(1, sizeof(*r))) == NULL) {
		reg_msg(err, errlen, "out of memory");
		return OCOP_ENOMEM;
	}
	r->db = db;
	snprintf(r->data_dir, sizeof(r->data_dir), "%s", data_dir);
	rv = ocp_auth_load(&r->auth, data_dir, err, errlen);
	if (rv != OCOP_OK) {
		com_free(r);
		return rv;
	}
	r->role = ocp_role_parse(sto_role(db), &role) == OCOP_OK ? (int)role : -1;
	*out = r;
	return OCOP_OK;
}

void
ocp_reg_close(ocp_reg *r)
{
	size_t i;

	if (r == NULL) {
		return;
	}
	for (i = r->nflows; i > 0; i--) {
		ocp_flow_free(r->flows[i - 1]);
	}
	ocp_auth_free(r->auth);
	com_free(r);
}

const char *
ocp_reg_errmsg(const ocp_reg *r)
{
	return r->err;
}

void
ocp_reg_set_require(ocp_reg *r, const ocp_reg_require *req)
{
	if (req == NULL) {
		memset(&r->req, 0, sizeof(r->req));
	} else {
		r->req = *req;
	}
}

/* ===== Authority and scope ===== */

int
reg_need_role(ocp_reg *r)
{
	if (r->role < 0) {
		return reg_fail(r, OCOP_ESITE,
		    "this replica has no site identity (role and scope): run init first");
	}
	return OCOP_OK;
}

int
reg_auth(ocp_reg *r, const char *table, const char *col)
{
	char err[384];
	int rv = ocp_auth_check(r->auth, r->role, table, col, NULL, err, sizeof(err));

	if (rv != OCOP_OK) {
		return reg_fail(r, rv, "%s", err);
	}
	return OCOP_OK;
}

/*
 * Follow the successor chain of a registered unit into cur (cap bytes). Leaves
 * cur = code when the unit is not registered or has no successor.
 */
static int
reg_unit_follow(ocp_reg *r, const char *code, char *cur, size_t cap, json_t *path)
{
	char *v[1];
	int hops = 0;
	int rv;

	snprintf(cur, cap, "%s", code);
	for (;;) {
		rv = reg_query_row(r, v, 1,
		    "SELECT successor_code FROM unit WHERE code = ?1 AND deleted = 0 "
		    "ORDER BY id DESC LIMIT 1",
		    1, cur);
		if (rv == OCOP_ENOENT) {
			return OCOP_OK;
		}
		if (rv != OCOP_OK) {
			return rv;
		}
		if (v[0] == NULL || v[0][0] == 0) {
			com_free(v[0]);
			return OCOP_OK;
		}
		if (++hops > REG_MAX_HOPS || strcmp(v[0], code) == 0) {
			rv = reg_fail(r, OCOP_ECORRUPT, "unit %s: the successor codes form a cycle", code);
			com_free(v[0]);
			return rv;
		}
		snprintf(cur, cap, "%s", v[0]);
		com_free(v[0]);
		if (path != NULL && json_array_append_new(path, json_string(cur)) != 0) {
			return reg_fail(r, OCOP_ENOMEM, "out of memory");
		}
	}
}

/*
 * A unit code is within this site's scope when it, the unit it maps to, or
 * its province's current code lies under a scope entry: historical codes stay
 * as issued (OCOP.md Decision 6), so a merged province still owns its old
 * communes' records.
 */
static int
reg_scope_ok(ocp_reg *r, const char *code)
{
	const char *scope = sto_scope(r->db);
	char cur[REG_CODE_MAX];
	char prov[3];
	int rv;

	if (code == NULL || ocp_scope_covers(scope, code)) {
		return OCOP_OK;
	}
	if ((rv = reg_unit_follow(r, code, cur, sizeof(cur), NULL)) != OCOP_OK) {
		return rv;
	}
	if (ocp_scope_covers(scope, cur)) {
		return OCOP_OK;
	}
	memcpy(prov, code, 2);
	prov[2] = 0;
	if ((rv = reg_unit_follow(r, prov, cur, sizeof(cur), NULL)) != OCOP_OK) {
		return rv;
	}
	if (strcmp(cur, prov) != 0 && ocp_scope_covers(scope, cur)) {
		return OCOP_OK;
	}
	return reg_fail(r, OCOP_ESCOPE, "unit %s is outside this site's scope (%s)", code, scope);
}

/* ===== Resolving ids ===== */

/*
 * Find the live row of table named by key (a UUID; a unit code for units) and
 * write its id into id.
 */
int
reg_resolve(ocp_reg *r, const char *table, const char *key, char id[37])
{
	char sql[128];
	char *v[1];
	char lower[COM_UUID_STRLEN + 1];
	size_t i;
	int rv;

	if (key == NULL || *key == 0) {
		return reg_fail(r, OCOP_EINPUT, "no %s %s given", table,
		    strcmp(table, "unit") == 0 ? "code" : "id");
	}
	if (strcmp(table, "unit") == 0) {
		if (!ocp_reg_code_valid(key)) {
			return reg_fail(r, OCOP_EINPUT, "'%s' is not a unit code", key);
		}
		rv = reg_query_row(r, v, 1,
		    "SELECT id FROM unit WHERE code = ?1 AND deleted = 0 ORDER BY id DESC LIMIT 1", 1,
		    key);
	} else {
		if (!com_uuid_valid(key)) {
			return reg_fail(r, OCOP_EINPUT, "'%s' is not a %s id", key, table);
		}
		for (i = 0; i < COM_UUID_STRLEN; i++) {
			lower[i] = reg_to_lower(key[i]);
		}
		lower[i] = 0;
		snprintf(sql, sizeof(sql), "SELECT id FROM %s WHERE id = ?1 AND deleted = 0", table);
		rv = reg_query_row(r, v, 1, sql, 1, lower);
	}
	if (rv == OCOP_ENOENT) {
		return reg_fail(r, OCOP_ENOENT, "no %s %s (unknown or deleted)", table, key);
	}
	if (rv != OCOP_OK) {
		return rv;
	}
	snprintf(id, 37, "%s", v[0] ? v[0] : "");
	com_free(v[0]);
	return OCOP_OK;
}

/* ===== Per-table checks before a write ===== */

static int
reg_unit_checks(ocp_reg *r, const char *code, const char *level, const char *successor,
    const char *parent)
{
	char cur[REG_CODE_MAX];
	int segs = reg_code_segments(code);
	int rv;

	if (level != NULL && strcmp(level, "province") == 0 && segs != 1) {
		return reg_fail(r, OCOP_EINPUT, "a province code has one segment (like 83), not '%s'",
		    code);
	}
	if (level != NULL && strcmp(level, "province") != 0 && segs < 2) {
		return reg_fail(r, OCOP_EINPUT,
		    "a %s code has its province first (like 83-28882), not '%s'", level, code);
	}
	if (parent != NULL && strcmp(parent, code) == 0) {
		return reg_fail(r, OCOP_EINPUT, "unit %s cannot be its own parent", code);
	}
	if (successor != NULL) {
		if (strcmp(successor, code) == 0) {
			return reg_fail(r, OCOP_EINPUT, "unit %s cannot be its own successor", code);
		}
		/* Refuse a cycle now rather than find it at every mapping later. */
		rv = reg_unit_follow(r, successor, cur, sizeof(cur), NULL);
		if (rv == OCOP_ECORRUPT) {
			return rv;
		}
		if (rv != OCOP_OK) {
			return rv;
		}
		if (strcmp(cur, code) == 0) {
			return reg_fail(r, OCOP_EINPUT,
			    "successor %s of unit %s leads back to %s: the mapping would loop", successor,
			    code, code);
		}
	}
	return OCOP_OK;
}

static void
today(char out[11])
{
	time_t t = time(NULL);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL || strftime(out, 11, "%Y-%m-%d", &tm) != 10) {
		snprintf(out, 11, "1970-01-01");
	}
}

/* The rubric must be a scoring sheet of the dossier's legal basis and its product's set. */
static int
reg_rubric_matches(ocp_reg *r, const char *rubric, const char *basis, const char *product_set)
{
	char err[768];
	int rv = ocp_basis_check(r->data_dir, basis, product_set, rubric, true, err, sizeof(err));

	if (rv != OCOP_OK) {
		return reg_fail(r, rv, "%s", err);
	}
	return OCOP_OK;
}

/* Fill a new dossier's defaults from its product and subject and check them. */
static int
reg_dossier_prepare(ocp_reg *r, reg_row *w)
{
	enum { P_SET, P_CODE, P_UNIT, S_UNIT, P_NAME, NV };
	char *v[NV];
	char buf[128];
	char day[11];
	const ocp_flow *flow;
	const char *basis;
	const char *unit;
	long long dup = 0;
	int rv;

	rv = reg_query_row(r, v, NV,
	    "SELECT p.product_set, p.product_code, p.unit_code, s.unit_code, p.name "
	    "FROM product p JOIN subject s ON s.id = p.subject_id "
	    "WHERE p.id = ?1 AND p.deleted = 0 AND s.deleted = 0",
	    1, row_get(w, "product_id"));
	if (rv == OCOP_ENOENT) {
		return reg_fail(r, OCOP_ENOENT, "no product %s (unknown or deleted)",
		    row_get(w, "product_id"));
	}
	if (rv != OCOP_OK) {
		return rv;
	}
	if (row_get(w, "legal_basis") == NULL) {
		rv = row_put_copy(r, w, "legal_basis", OCP_FLOW_DEFAULT_BASIS);
	}
	basis = row_get(w, "legal_basis");
	if (rv == OCOP_OK) {
		rv = reg_flow(r, basis, &flow);
	}
	if (rv == OCOP_OK && row_get(w, "rubric_id") == NULL) {
		if (v[P_SET] == NULL) {
			rv = reg_fail(r, OCOP_EINPUT, "product %s has no product set: give the rubric",
			    row_get(w, "product_id"));
		} else {
			snprintf(buf, sizeof(buf), "%s/%s", basis, v[P_SET]);
			rv = row_put_copy(r, w, "rubric_id", buf);
		}
	}
	if (rv == OCOP_OK) {
		rv = reg_rubric_matches(r, row_get(w, "rubric_id"), basis, v[P_SET]);
	}
	if (rv == OCOP_OK && row_get(w, "eval_type") == NULL) {
		rv = row_put_copy(r, w, "eval_type", "first");
	}
	if (rv == OCOP_OK && row_get(w, "unit_code") == NULL) {
		rv = row_put_copy(r, w, "unit_code", v[P_UNIT] ? v[P_UNIT] : v[S_UNIT]);
	}
	unit = row_get(w, "unit_code");
	if (rv == OCOP_OK && (unit == NULL || !ocp_reg_code_valid(unit) || strcmp(unit, "VN") == 0)) {
		rv = reg_fail(r, OCOP_EINPUT,
		    "the dossier needs a unit code: neither the product nor its subject has a valid one");
	}
	if (rv == OCOP_OK) {
		rv = reg_scope_ok(r, unit);
	}
	if (rv == OCOP_OK && row_get(w, "province_code") == NULL) {
		snprintf(buf, sizeof(buf), "%.2s", unit);
		rv = row_put_copy(r, w, "province_code", buf);
	}
	if (rv == OCOP_OK && reg_code_segments(row_get(w, "province_code")) != 1) {
		rv = reg_fail(r, OCOP_EINPUT, "province_code '%s' must be a province code (like 83)",
		    row_get(w, "province_code"));
	}
	if (rv == OCOP_OK && !row_has(w, "product_code") && v[P_CODE] != NULL) {
		rv = row_put_copy(r, w, "product_code", v[P_CODE]);
	}
	if (rv == OCOP_OK && row_get(w, "filed_on") == NULL) {
		today(day);
		rv = row_put_copy(r, w, "filed_on", day);
	}
	if (rv == OCOP_OK) {
		rv = row_put_copy(r, w, "status", ocp_flow_initial(flow));
	}
	if (rv == OCOP_OK) {
		rv = row_put_copy(r, w, "epoch", "0");
	}
	if (rv == OCOP_OK) {
		rv = reg_query_int(r, &dup,
		    "SELECT COUNT(*) FROM dossier WHERE product_id = ?1 AND round_year = ?2 "
		    "AND round_no = ?3 AND deleted = 0",
		    3, row_get(w, "product_id"), row_get(w, "round_year"), row_get(w, "round_no"));
	}
	if (rv == OCOP_OK && dup > 0) {
		rv = reg_fail(r, OCOP_EEXIST, "product '%s' already has a dossier in round %s/%s",
		    v[P_NAME] ? v[P_NAME] : "", row_get(w, "round_year"), row_get(w, "round_no"));
	}
	vals_free(v, NV);
	return rv;
}

static int
reg_add_prepare(ocp_reg *r, const char *table, reg_row *w)
{
	long long n = 0;
	char id[37];
	int rv;

	if (strcmp(table, "unit") == 0) {
		rv = reg_query_int(r, &n, "SELECT COUNT(*) FROM unit WHERE code = ?1 AND deleted = 0", 1,
		    row_get(w, "code"));
		if (rv == OCOP_OK && n > 0) {
			rv = reg_fail(r, OCOP_EEXIST, "unit %s is already registered", row_get(w, "code"));
		}
		if (rv == OCOP_OK) {
			rv = reg_unit_checks(r, row_get(w, "code"), row_get(w, "level"),
			    row_get(w, "successor_code"), row_get(w, "parent_code"));
		}
		return rv;
	}
	if (strcmp(table, "subject") == 0) {
		return reg_scope_ok(r, row_get(w, "unit_code"));
	}
	if (strcmp(table, "product") == 0) {
		rv = reg_resolve(r, "subject", row_get(w, "subject_id"), id);
		return rv == OCOP_OK ? reg_scope_ok(r, row_get(w, "unit_code")) : rv;
	}
	if (strcmp(table, "dossier") == 0) {
		return reg_dossier_prepare(r, w);
	}
	return reg_resolve(r, "dossier", row_get(w, "dossier_id"), id);
}

/* ===== Adding, changing, deleting ===== */

/* Normalise the caller's fields into w, checking each is known and allowed. */
static int
reg_fields(ocp_reg *r, const char *table, const ocp_field *f, size_t n, unsigned need, reg_row *w)
{
	const ocp_entity *e = ocp_entity_find(table);
	const ocp_entity_field *s;
	char *v;
	size_t i;
	int rv;

	for (i = 0; i < n; i++) {
		if (f[i].col == NULL || (s = ocp_entity_column(e, f[i].col)) == NULL) {
			return reg_fail(r, OCOP_EINVAL, "%s has no field '%s'", table,
			    f[i].col ? f[i].col : "(null)");
		}
		if ((s->flags & need) == 0) {
			return reg_fail(r, OCOP_EINVAL, "%s.%s cannot be %s", table, s->col,
			    need == OCP_EF_ADD ? "given here" : "changed");
		}
		if ((rv = reg_norm(r, e, s, f[i].val, &v)) != OCOP_OK) {
			return rv;
		}
		if (v == NULL && (s->flags & OCP_EF_REQ) != 0) {
			return reg_fail(r, OCOP_EINPUT, "%s cannot be empty", s->col);
		}
		if ((rv = row_put(r, w, s->col, v)) != OCOP_OK) {
			return rv;
		}
	}
	return OCOP_OK;
}

int
ocp_reg_add(ocp_reg *r, const char *table, const ocp_field *f, size_t n, char id_out[37])
{
	reg_row w = {.n = 0};
	size_t i;
	int rv;

	id_out[0] = 0;
	r->err[0] = 0;
	if (!reg_table_known(table)) {
		return reg_fail(r, OCOP_EINVAL, "the registry does not write table '%s'",
		    table ? table : "(null)");
	}
	if ((rv = reg_need_role(r)) != OCOP_OK || (rv = reg_auth(r, table, NULL)) != OCOP_OK) {
		return rv;
	}
	if ((rv = reg_fields(r, table, f, n, OCP_EF_ADD, &w)) != OCOP_OK) {
		goto done;
	}
	for (i = 0; i < ocp_entity_find(table)->nfields; i++) {
		const ocp_entity_field *s = &ocp_entity_find(table)->fields[i];

		if ((s->flags & OCP_EF_REQ) != 0 && row_get(&w, s->col) == NULL) {
			rv = reg_fail(r, OCOP_EINPUT, "%s is required (--%s)", s->col, s->opt);
			goto done;
		}
	}
	if ((rv = sto_begin(r->db)) != OCOP_OK) {
		rv = reg_dberr(r, rv);
		goto done;
	}
	rv = reg_add_prepare(r, table, &w);
	if (rv == OCOP_OK) {
		rv = sto_row_insert(r->db, table, w.cols, (const char *const *)w.vals, w.n, id_out);
		if (rv != OCOP_OK) {
			rv = reg_dberr(r, rv);
		}
	}
	if (rv == OCOP_OK && (rv = sto_commit(r->db)) != OCOP_OK) {
		rv = reg_dberr(r, rv);
	}
	if (rv != OCOP_OK) {
		sto_rollback(r->db);
		id_out[0] = 0;
	}
done:
	row_fini(&w);
	return rv;
}

/* Checks of a change that depend on the row's other columns. */
static int
reg_set_prepare(ocp_reg *r, const char *table, const char *id, reg_row *w)
{
	char *v[2];
	int rv = OCOP_OK;

	if (strcmp(table, "unit") == 0) {
		rv = reg_query_row(r, v, 2, "SELECT code, level FROM unit WHERE id = ?1", 1, id);
		if (rv == OCOP_OK) {
			rv = reg_unit_checks(r, v[0] ? v[0] : "",
			    row_has(w, "level") ? row_get(w, "level") : v[1], row_get(w, "successor_code"),
			    row_get(w, "parent_code"));
		}
		vals_free(v, 2);
		return rv;
	}
	if (row_get(w, "unit_code") != NULL) {
		rv = reg_scope_ok(r, row_get(w, "unit_code"));
	}
	if (rv == OCOP_OK && strcmp(table, "dossier") == 0) {
		if (row_get(w, "province_code") != NULL &&
		    reg_code_segments(row_get(w, "province_code")) != 1) {
			return reg_fail(r, OCOP_EINPUT,
			    "province_code '%s' must be a province code (like 83)",
			    row_get(w, "province_code"));
		}
		if (row_get(w, "rubric_id") != NULL) {
			rv = reg_query_row(r, v, 2,
			    "SELECT d.legal_basis, p.product_set FROM dossier d "
			    "LEFT JOIN product p ON p.id = d.product_id WHERE d.id = ?1",
			    1, id);
			if (rv == OCOP_OK) {
				rv = reg_rubric_matches(r, row_get(w, "rubric_id"), v[0] ? v[0] : "", v[1]);
			}
			vals_free(v, 2);
		}
	}
	return rv;
}

int
ocp_reg_set(ocp_reg *r, const char *table, const char *key, const ocp_field *f, size_t n)
{
	reg_row w = {.n = 0};
	char id[37];
	size_t i;
	int rv;

	r->err[0] = 0;
	if (!reg_table_known(table)) {
		return reg_fail(r, OCOP_EINVAL, "the registry does not write table '%s'",
		    table ? table : "(null)");
	}
	if ((rv = reg_need_role(r)) != OCOP_OK) {
		return rv;
	}
	if (n == 0) {
		return reg_fail(r, OCOP_EINPUT, "nothing to change");
	}
	if ((rv = reg_fields(r, table, f, n, OCP_EF_SET, &w)) != OCOP_OK) {
		goto done;
	}
	for (i = 0; i < w.n; i++) {
		if ((rv = reg_auth(r, table, w.cols[i])) != OCOP_OK) {
			goto done;
		}
	}
	if ((rv = sto_begin(r->db)) != OCOP_OK) {
		rv = reg_dberr(r, rv);
		goto done;
	}
	rv = reg_resolve(r, table, key, id);
	if (rv == OCOP_OK) {
		rv = reg_set_prepare(r, table, id, &w);
	}
	for (i = 0; rv == OCOP_OK && i < w.n; i++) {
		if ((rv = sto_row_update(r->db, table, id, w.cols[i], w.vals[i])) != OCOP_OK) {
			rv = reg_dberr(r, rv);
		}
	}
	if (rv == OCOP_OK && (rv = sto_commit(r->db)) != OCOP_OK) {
		rv = reg_dberr(r, rv);
	}
	if (rv != OCOP_OK) {
		sto_rollback(r->db);
	}
done:
	row_fini(&w);
	return rv;
}

int
ocp_reg_delete(ocp_reg *r, const char *table, const char *key)
{
	const sto_table *t;
	char sql[160];
	char id[37];
	size_t count;
	size_t i;
	long long kids = 0;
	int rv;

	r->err[0] = 0;
	if (!reg_table_known(table)) {
		return reg_fail(r, OCOP_EINVAL, "the registry does not write table '%s'",
		    table ? table : "(null)");
	}
	if ((rv = reg_need_role(r)) != OCOP_OK || (rv = reg_auth(r, table, NULL)) != OCOP_OK) {
		return rv;
	}
	if ((rv = sto_begin(r->db)) != OCOP_OK) {
		return reg_dberr(r, rv);
	}
	rv = reg_resolve(r, table, key, id);
	t = sto_schema_tables(&count);
	for (i = 0; rv == OCOP_OK && i < count; i++) {
		if (t[i].parent_table == NULL || strcmp(t[i].parent_table, table) != 0) {
			continue;
		}
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE %s = ?1 AND deleted = 0",
		    t[i].name, t[i].parent_col);
		rv = reg_query_int(r, &kids, sql, 1, id);
		if (rv == OCOP_OK && kids > 0) {
			rv = reg_fail(r, OCOP_ESTATE,
			    "%s %s still has %lld live %s row(s): delete them first", table, key, kids,
			    t[i].name);
		}
	}
	if (rv == OCOP_OK && (rv = sto_row_delete(r->db, table, id)) != OCOP_OK) {
		rv = reg_dberr(r, rv);
	}
	if (rv == OCOP_OK && (rv = sto_commit(r->db)) != OCOP_OK) {
		rv = reg_dberr(r, rv);
	}
	if (rv != OCOP_OK) {
		sto_rollback(r->db);
	}
	return rv;
}

/* ===== Reading ===== */

/* "SELECT t.id AS id, t.<col> AS <col>, ... [extra] FROM <table> t [join] WHERE t.deleted = 0". */
static int
reg_select_sql(com_buf *b, const char *table)
{
	const sto_table *t = sto_schema_table(table);
	size_t i;
	int rv = com_buf_puts(b, "SELECT t.id AS id");

	for (i = 0; rv == OCOP_OK && i < t->ncols; i++) {
		if (strcmp(t->cols[i].name, "deleted") != 0) {
			rv = com_buf_printf(b, ", t.%s AS %s", t->cols[i].name, t->cols[i].name);
		}
	}
	if (rv != OCOP_OK) {
		return rv;
	}
	if (strcmp(table, "product") == 0) {
		rv = com_buf_puts(b, ", s.name AS subject_name FROM product t "
				     "LEFT JOIN subject s ON s.id = t.subject_id");
	} else if (strcmp(table, "dossier") == 0) {
		rv = com_buf_puts(b, ", p.name AS product_name FROM dossier t "
				     "LEFT JOIN product p ON p.id = t.product_id");
	} else {
		rv = com_buf_printf(b, " FROM %s t", table);
	}
	if (rv == OCOP_OK) {
		rv = com_buf_puts(b, " WHERE t.deleted = 0");
	}
	return rv;
}

/* Add "<child>s": [ids of live children] to o, for every child table of table. */
static int
reg_children(ocp_reg *r, const char *table, const char *id, json_t *o)
{
	const sto_table *t;
	sqlite3_stmt *st = NULL;
	char sql[160];
	char key[64];
	json_t *arr;
	size_t count;
	size_t i;
	int rc;
	int rv = OCOP_OK;

	t = sto_schema_tables(&count);
	for (i = 0; rv == OCOP_OK && i < count; i++) {
		if (t[i].parent_table == NULL || strcmp(t[i].parent_table, table) != 0) {
			continue;
		}
		snprintf(sql, sizeof(sql),
		    "SELECT id FROM %s WHERE %s = ?1 AND deleted = 0 ORDER BY id", t[i].name,
		    t[i].parent_col);
		snprintf(key, sizeof(key), "%ss", t[i].name);
		if ((arr = json_array()) == NULL || json_object_set_new(o, key, arr) != 0) {
			return reg_fail(r, OCOP_ENOMEM, "out of memory");
		}
		if ((rv = reg_prepare(r, sql, &st)) != OCOP_OK) {
			return rv;
		}
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (json_array_append_new(arr,
				json_string((const char *)sqlite3_column_text(st, 0))) != 0) {
				rc = SQLITE_NOMEM;
				break;
			}
		}
		if (rc != SQLITE_DONE) {
			rv = reg_sqlerr(r, rc);
		}
		sqlite3_finalize(st);
		st = NULL;
	}
	return rv;
}

int
ocp_reg_get(ocp_reg *r, const char *table, const char *key, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL;
	json_t *o;
	com_buf sql;
	char id[37];
	int rv;

	*out = NULL;
	r->err[0] = 0;
	if (!reg_table_known(table)) {
		return reg_fail(r, OCOP_EINVAL, "the registry does not read table '%s'",
		    table ? table : "(null)");
	}
	if ((rv = reg_resolve(r, table, key, id)) != OCOP_OK) {
		return rv;
	}
	com_buf_init(&sql);
	rv = reg_select_sql(&sql, table);
	if (rv == OCOP_OK) {
		rv = com_buf_puts(&sql, " AND t.id = ?1");
	}
	if (rv != OCOP_OK) {
		com_buf_fini(&sql);
		return reg_fail(r, rv, "out of memory");
	}
	rv = reg_prepare(r, (const char *)sql.data, &st);
	com_buf_fini(&sql);
	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if ((arr = json_array()) == NULL) {
		rv = reg_fail(r, OCOP_ENOMEM, "out of memory");
	} else {
		rv = reg_json_rows(r, st, arr, true);
	}
	sqlite3_finalize(st);
	if (rv == OCOP_OK && json_array_size(arr) != 1) {
		rv = reg_fail(r, OCOP_ENOENT, "no %s %s (unknown or deleted)", table, key);
	}
	if (rv == OCOP_OK) {
		o = json_incref(json_array_get(arr, 0));
		rv = reg_children(r, table, id, o);
		if (rv == OCOP_OK) {
			*out = o;
		} else {
			json_decref(o);
		}
	}
	json_decref(arr);
	return rv;
}

/*
 * Is name a dossier status of some legal basis's workflow? A filter on a
 * status no workflow has would silently match nothing.
 */
static int
reg_status_known(ocp_reg *r, const char *name)
{
	static const char *const bases[] = {OCP_FLOW_DEFAULT_BASIS, "qd148-2023"};
	const ocp_flow *flow = NULL;
	com_buf list;
	size_t i;
	size_t k;
	int rv;

	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		if (reg_flow(r, bases[i], &flow) == OCOP_OK && ocp_flow_state(flow, name) != NULL) {
			return OCOP_OK;
		}
	}
	if ((rv = reg_flow(r, OCP_FLOW_DEFAULT_BASIS, &flow)) != OCOP_OK) {
		return rv;
	}
	com_buf_init(&list);
	for (k = 0; k < ocp_flow_state_count(flow); k++) {
		com_buf_printf(&list, "%s%s", k ? ", " : "", ocp_flow_state_at(flow, k)->name);
	}
	rv = reg_fail(r, OCOP_EINPUT, "'%s' is not a dossier status (%s: %s)", name, OCP_FLOW_DEFAULT_BASIS,
	    list.data ? (const char *)list.data : "");
	com_buf_fini(&list);
	return rv;
}

int
ocp_reg_list(ocp_reg *r, const char *table, const ocp_field *filter, size_t n, json_t **out)
{
	const sto_table *t;
	const ocp_entity_field *s;
	sqlite3_stmt *st = NULL;
	char *vals[REG_MAX_COLS] = {NULL};
	json_t *arr = NULL;
	com_buf sql;
	size_t i;
	int rv;

	*out = NULL;
	r->err[0] = 0;
	if (!reg_table_known(table)) {
		return reg_fail(r, OCOP_EINVAL, "the registry does not read table '%s'",
		    table ? table : "(null)");
	}
	if (n > REG_MAX_COLS) {
		return reg_fail(r, OCOP_EINVAL, "too many filters");
	}
	t = sto_schema_table(table);
	com_buf_init(&sql);
	rv = reg_select_sql(&sql, table);
	for (i = 0; rv == OCOP_OK && i < n; i++) {
		const char *col = filter[i].col;

		if (col == NULL || (strcmp(col, "id") != 0 && (sto_schema_column(t, col) == NULL ||
								  strcmp(col, "deleted") == 0))) {
			rv = reg_fail(r, OCOP_EINVAL, "%s has no field '%s'", table, col ? col : "(null)");
			break;
		}
		s = ocp_entity_column(ocp_entity_find(table), col);
		if (strcmp(table, "dossier") == 0 && strcmp(col, "status") == 0 && filter[i].val != NULL &&
		    (rv = reg_status_known(r, filter[i].val)) != OCOP_OK) {
			break;
		}
		if (s != NULL) {
			rv = reg_norm(r, ocp_entity_find(table), s, filter[i].val, &vals[i]);
		} else if (filter[i].val != NULL && (vals[i] = com_strdup(filter[i].val)) == NULL) {
			rv = reg_fail(r, OCOP_ENOMEM, "out of memory");
		}
		if (rv != OCOP_OK) {
			break;
		}
		if (strcmp(col, "unit_code") == 0) {
			/* A code also selects the units below it (83 -> 83-28882). */
			rv = com_buf_printf(&sql, " AND (t.unit_code = ?%zu OR t.unit_code LIKE ?%zu || '-%%')",
			    i + 1, i + 1);
		} else {
			rv = com_buf_printf(&sql, " AND t.%s IS ?%zu", col, i + 1);
		}
	}
	if (rv == OCOP_OK) {
		rv = com_buf_puts(&sql,
		    strcmp(table, "unit") == 0 ? " ORDER BY t.code, t.id" : " ORDER BY t.id");
	}
	if (rv == OCOP_OK) {
		rv = reg_prepare(r, (const char *)sql.data, &st);
	} else if (r->err[0] == 0) {
		rv = reg_fail(r, rv, "out of memory");
	}
	com_buf_fini(&sql);
	for (i = 0; rv == OCOP_OK && i < n; i++) {
		if (vals[i] == NULL) {
			sqlite3_bind_null(st, (int)i + 1);
		} else {
			sqlite3_bind_text(st, (int)i + 1, vals[i], -1, SQLITE_STATIC);
		}
	}
	if (rv == OCOP_OK && (arr = json_array()) == NULL) {
		rv = reg_fail(r, OCOP_ENOMEM, "out of memory");
	}
	if (rv == OCOP_OK) {
		rv = reg_json_rows(r, st, arr, false);
	}
	sqlite3_finalize(st);
	for (i = 0; i < n; i++) {
		com_free(vals[i]);
	}
	if (rv == OCOP_OK) {
		*out = arr;
	} else {
		json_decref(arr);
	}
	return rv;
}

int
ocp_reg_unit_map(ocp_reg *r, const char *code, json_t **out)
{
	char cur[REG_CODE_MAX];
	char id[37];
	char *v[1] = {NULL};
	json_t *o = NULL;
	json_t *path = NULL;
	int rv;

	*out = NULL;
	r->err[0] = 0;
	if (code == NULL || !ocp_reg_code_valid(code) || strlen(code) >= REG_CODE_MAX) {
		return reg_fail(r, OCOP_EINPUT, "'%s' is not a unit code", code ? code : "");
	}
	if ((rv = reg_resolve(r, "unit", code, id)) != OCOP_OK) {
		return rv;
	}
	o = json_object();
	path = json_array();
	if (o == NULL || path == NULL || json_array_append_new(path, json_string(code)) != 0) {
		rv = reg_fail(r, OCOP_ENOMEM, "out of memory");
		goto fail;
	}
	if ((rv = reg_unit_follow(r, code, cur, sizeof(cur), path)) != OCOP_OK) {
		goto fail;
	}
	rv = reg_query_row(r, v, 1,
	    "SELECT name FROM unit WHERE code = ?1 AND deleted = 0 ORDER BY id DESC LIMIT 1", 1, cur);
	if (rv != OCOP_OK && rv != OCOP_ENOENT) {
		goto fail;
	}
	if (json_object_set_new(o, "code", json_string(code)) != 0 ||
	    json_object_set_new(o, "current", json_string(cur)) != 0 ||
	    json_object_set_new(o, "name", v[0] ? json_string(v[0]) : json_null()) != 0 ||
	    json_object_set(o, "path", path) != 0) {
		rv = reg_fail(r, OCOP_ENOMEM, "out of memory");
		goto fail;
	}
	com_free(v[0]);
	json_decref(path);
	*out = o;
	return OCOP_OK;
fail:
	com_free(v[0]);
	json_decref(path);
	json_decref(o);
	return rv;
}

