/*
 * council.c: the council object over the local replica (council.h): its
 * lifetime, calendar dates, the rubric cache, tier authority, and loading the
 * rows every council operation reads. The operations have their own files:
 * evaluation.c, sheet.c (members and score sheets), result.c, decision.c and
 * requirement.c. Each write checks input, referenced rows, tier authority and
 * the workflow before it writes, so a refusal writes nothing. Scoring, rubric,
 * workflow and authority rules are the other modules' business.
 */
#include "common/ocop/council.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/ocop/authority.h"
#include "common/ocop/council_impl.h"
#include "common/ocop/basis.h"
#include "common/ocop/sheetcsv.h"
#include "common/ocop/workflow.h"
#include "common/store/fold.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "common/util/uuid.h"
#include "ocop_err.h"

/* ===== Errors and small helpers ===== */

int
council_fail(ocp_council *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return code;
}

/* Translate a SQLite failure once, keeping SQLite's text. */
int
council_sqlerr(ocp_council *c, const char *what)
{
	sqlite3 *s = sto_sqlite(c->db);
	int rc = sqlite3_errcode(s);

	council_fail(c, OCOP_EDB, "%s: %s", what, sqlite3_errmsg(s));
	return (rc & 0xff) == SQLITE_NOMEM ? OCOP_ENOMEM : OCOP_EDB;
}

int
council_prepare(ocp_council *c, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v2(sto_sqlite(c->db), sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return council_sqlerr(c, "preparing a query");
	}
	return OCOP_OK;
}

/* Copy column i of the current row as text ("" for NULL). */
void
council_col_copy(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* Column i as text or JSON null. */
json_t *
council_col_json(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? json_string((const char *)t) : json_null();
}

/* Centipoints as a JSON number of points (85.5), a real as `ocop score --json` writes them. */
json_t *
council_points_json(int64_t centi)
{
	return json_real((double)centi / 100.0);
}

/* Centipoints as "85.50". */
json_t *
council_points_display_json(int64_t centi)
{
	char buf[32];

	ocp_points_format(buf, sizeof(buf), centi);
	return json_string(buf);
}

/* Add v to obj under key, releasing v; returns false (and drops v) on failure. */
bool
council_jset(json_t *obj, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(obj, key, v) == 0;
}

/* Like jset, but when ok is already false just release v and stay false. */
bool
council_jadd(bool ok, json_t *obj, const char *key, json_t *v)
{
	if (!ok) {
		json_decref(v);
		return false;
	}
	return council_jset(obj, key, v);
}

bool
council_jpush(json_t *arr, json_t *v)
{
	return v != NULL && json_array_append_new(arr, v) == 0;
}

bool
council_empty(const char *s)
{
	return s == NULL || s[0] == 0;
}

/* NFC copy of user text; NULL stays NULL. Returns OCOP_OK, OCOP_EINVAL (bad UTF-8) or OCOP_ENOMEM. */
int
council_nfc(ocp_council *c, const char *what, const char *in, char **out)
{
	*out = NULL;
	if (in == NULL) {
		return OCOP_OK;
	}
	*out = sto_nfc(in);
	if (*out == NULL) {
		return council_fail(c, OCOP_EINVAL, "%s is not valid UTF-8 text", what);
	}
	return OCOP_OK;
}

/* ===== Calendar dates ===== */

/* Days since 1970-01-01 of a civil date (H. Hinnant's days_from_civil). */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era;
	int64_t yoe;
	int64_t doy;
	int64_t doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void
civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
	int64_t era;
	int64_t doe;
	int64_t yoe;
	int64_t doy;
	int64_t mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t
month_days(int64_t y, int64_t m)
{
	static const int64_t n[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : n[m - 1];
}

int
ocp_council_date_parse(const char *s, int64_t *days)
{
	int64_t y;
	int64_t m;
	int64_t d;
	size_t i;

	if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
		return OCOP_EINVAL;
	}
	for (i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
			return OCOP_EINVAL;
		}
	}
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > month_days(y, m)) {
		return OCOP_EINVAL;
	}
	*days = days_from_civil(y, m, d);
	return OCOP_OK;
}

void
ocp_council_date_format(int64_t days, char out[11])
{
	int64_t y;
	int64_t m;
	int64_t d;

	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999) {
		y = y < 0 ? 0 : 9999; /* outside what a YYYY-MM-DD field can hold */
	}
	out[0] = (char)('0' + y / 1000);
	out[1] = (char)('0' + y / 100 % 10);
	out[2] = (char)('0' + y / 10 % 10);
	out[3] = (char)('0' + y % 10);
	out[4] = '-';
	out[5] = (char)('0' + m / 10);
	out[6] = (char)('0' + m % 10);
	out[7] = '-';
	out[8] = (char)('0' + d / 10);
	out[9] = (char)('0' + d % 10);
	out[10] = 0;
}

int64_t
ocp_council_date_add_months(int64_t days, int months)
{
	int64_t y;
	int64_t m;
	int64_t d;
	int64_t idx;

	civil_from_days(days, &y, &m, &d);
	idx = y * 12 + (m - 1) + months;
	y = idx >= 0 ? idx / 12 : (idx - 11) / 12;
	m = idx - y * 12 + 1;
	if (d > month_days(y, m)) {
		d = month_days(y, m);
	}
	return days_from_civil(y, m, d);
}

/* ===== Lifetime ===== */

int
ocp_council_open(ocp_council **out, sto_db *db, const char *data_dir)
{
	ocp_council *c = com_calloc(1, sizeof(*c));

	*out = NULL;
	if (c == NULL) {
		return OCOP_ENOMEM;
	}
	c->db = db;
	c->data_dir = data_dir;
	c->today = INT64_MIN;
	*out = c;
	return OCOP_OK;
}

void
ocp_council_close(ocp_council *c)
{
	size_t i;

	if (c == NULL) {
		return;
	}
	for (i = 0; i < c->n_rubrics; i++) {
		ocp_rubric_free(c->rubrics[i].r);
		com_free(c->rubrics[i].id);
	}
	com_free(c->rubrics);
	for (i = 0; i < c->n_flows; i++) {
		ocp_flow_free(c->flows[i]);
	}
	ocp_auth_free(c->auth);
	com_free(c);
}

const char *
ocp_council_errmsg(const ocp_council *c)
{
	return c->err;
}

sto_db *
ocp_council_db(ocp_council *c)
{
	return c->db;
}

void
ocp_council_set_today(ocp_council *c, int64_t days)
{
	c->today = days;
}

const char *
ocp_council_data_dir(const ocp_council *c)
{
	return c->data_dir;
}

int64_t
ocp_council_today(const ocp_council *c)
{
	time_t now;
	struct tm tm;

	if (c->today != INT64_MIN) {
		return c->today;
	}
	now = time(NULL);
	if (localtime_r(&now, &tm) == NULL) {
		return (int64_t)(now / 86400);
	}
	return days_from_civil((int64_t)tm.tm_year + 1900, (int64_t)tm.tm_mon + 1, (int64_t)tm.tm_mday);
}

int
ocp_council_rubric(ocp_council *c, const char *id, const ocp_rubric **out)
{
	char err[512] = "";
	council_rubric *grown;
	ocp_rubric *r = NULL;
	char *copy;
	size_t i;
	int rv;

	*out = NULL;
	for (i = 0; i < c->n_rubrics; i++) {
		if (strcmp(c->rubrics[i].id, id) == 0) {
			*out = c->rubrics[i].r;
			return OCOP_OK;
		}
	}
	rv = ocp_rubric_load_id(&r, c->data_dir, id, err, sizeof(err));
	if (rv == OCOP_ENOENT) {
		return council_fail(c, rv, "unknown rubric '%s'", id);
	}
	if (rv != OCOP_OK) {
		return council_fail(c, rv, "rubric '%s': %s", id, err[0] ? err : ocop_strerror(rv));
	}
	copy = com_strdup(id);
	grown = com_realloc(c->rubrics, (c->n_rubrics + 1) * sizeof(*grown));
	if (copy == NULL || grown == NULL) {
		com_free(copy);
		if (grown != NULL) {
			c->rubrics = grown;
		}
		ocp_rubric_free(r);
		return council_fail(c, OCOP_ENOMEM, "out of memory");
	}
	c->rubrics = grown;
	c->rubrics[c->n_rubrics].id = copy;
	c->rubrics[c->n_rubrics].r = r;
	c->n_rubrics++;
	*out = r;
	return OCOP_OK;
}

/* A rubric that can score: loaded and a full tree. */
int
council_scoring_rubric(ocp_council *c, const char *id, const ocp_rubric **out)
{
	int rv = ocp_council_rubric(c, id, out);

	if (rv == OCOP_OK && ocp_rubric_depth(*out) != OCP_DEPTH_CRITERIA) {
		*out = NULL;
		return council_fail(c, OCOP_ERUBRIC,
		    "rubric '%s' is an outline without criteria and options; it cannot be used for scoring",
		    id);
	}
	return rv;
}

/* ===== Authority ===== */

static int
council_role(ocp_council *c, ocp_role *role)
{
	if (ocp_role_parse(sto_role(c->db), role) != OCOP_OK) {
		return council_fail(c, OCOP_EAUTH, "this site has no known role ('%s'); run 'ocop init'",
		    sto_role(c->db));
	}
	return OCOP_OK;
}

static int
council_auth(ocp_council *c, const ocp_auth **out)
{
	char err[512] = "";
	int rv;

	if (c->auth == NULL) {
		rv = ocp_auth_load(&c->auth, c->data_dir, err, sizeof(err));
		if (rv == OCOP_ENOMEM) {
			return council_fail(c, rv, "out of memory");
		}
		if (rv != OCOP_OK) {
			/* A broken rules file is the installation's fault, not the user's input. */
			return council_fail(c, OCOP_EIO, "cannot load the authority rules: %s",
			    err[0] ? err : ocop_strerror(rv));
		}
	}
	*out = c->auth;
	return OCOP_OK;
}

/* May this site's role write `table` (row-level write) of a row of this kind? */
int
council_may(ocp_council *c, const char *table, const char *column, const char *kind)
{
	const ocp_auth *auth = NULL;
	char err[512] = "";
	ocp_role role;
	int rv;

	if ((rv = council_role(c, &role)) != OCOP_OK || (rv = council_auth(c, &auth)) != OCOP_OK) {
		return rv;
	}
	rv = ocp_auth_check(auth, (int)role, table, column, kind, err, sizeof(err));
	if (rv != OCOP_OK) {
		return council_fail(c, rv == OCOP_EAUTH ? OCOP_EAUTH : OCOP_EIO, "%s",
		    err[0] ? err : ocop_strerror(rv));
	}
	return OCOP_OK;
}

/* A score sheet (and its scores) is written only by its owner site. */
int
council_may_write_sheet(ocp_council *c, const council_member *m)
{
	const ocp_auth *auth = NULL;
	char err[512] = "";
	int rv;

	if ((rv = council_may(c, "score", NULL, NULL)) != OCOP_OK ||
	    (rv = council_auth(c, &auth)) != OCOP_OK) {
		return rv;
	}
	rv = ocp_auth_check_owner(auth, "score", m->owner_site, sto_site_id(c->db), err, sizeof(err));
	if (rv != OCOP_OK) {
		return council_fail(c, OCOP_EAUTH,
		    "the sheet of %s belongs to site %s; only that site may write it (%s)", m->name,
		    m->owner_site[0] ? m->owner_site : "(unknown)", err[0] ? err : ocop_strerror(rv));
	}
	return OCOP_OK;
}

/* ===== Loading rows ===== */

int
council_dossier_load(ocp_council *c, const char *id, council_dossier *d)
{
	sqlite3_stmt *st = NULL;
	int rc;
	int rv;

	if (council_empty(id)) {
		return council_fail(c, OCOP_EINVAL, "a dossier id is required");
	}
	if ((rv = council_prepare(c, &st,
		 "SELECT d.id, d.legal_basis, d.rubric_id, d.status, p.product_set FROM dossier d"
		 " LEFT JOIN product p ON p.id = d.product_id WHERE d.id = ?1 AND d.deleted = 0")) !=
	    OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		council_col_copy(st, 0, d->id, sizeof(d->id));
		council_col_copy(st, 1, d->legal_basis, sizeof(d->legal_basis));
		council_col_copy(st, 2, d->rubric_id, sizeof(d->rubric_id));
		council_col_copy(st, 3, d->status, sizeof(d->status));
		council_col_copy(st, 4, d->product_set, sizeof(d->product_set));
		rv = OCOP_OK;
	} else if (rc == SQLITE_DONE) {
		rv = council_fail(c, OCOP_ENOENT, "no dossier with id '%s'", id);
	} else {
		rv = council_sqlerr(c, "reading a dossier");
	}
	sqlite3_finalize(st);
	return rv;
}

int
council_eval_load(ocp_council *c, const char *id, council_eval *e)
{
	sqlite3_stmt *st = NULL;
	int rc;
	int rv;

	if (council_empty(id)) {
		return council_fail(c, OCOP_EINVAL, "an evaluation id is required");
	}
	if ((rv = council_prepare(c, &st,
		 "SELECT id, dossier_id, tier, rubric_id, legal_basis, spread_threshold,"
		 " spread_rule, disqualified, min_members FROM evaluation WHERE id = ?1 AND deleted = 0")) !=
	    OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		council_col_copy(st, 0, e->id, sizeof(e->id));
		council_col_copy(st, 1, e->dossier_id, sizeof(e->dossier_id));
		council_col_copy(st, 2, e->tier, sizeof(e->tier));
		council_col_copy(st, 3, e->rubric_id, sizeof(e->rubric_id));
		council_col_copy(st, 4, e->legal_basis, sizeof(e->legal_basis));
		e->spread_threshold = sqlite3_column_type(st, 5) == SQLITE_NULL
		    ? OCP_SPREAD_DEFAULT
		    : sqlite3_column_int64(st, 5);
		e->spread_rule = sqlite3_column_type(st, 6) == SQLITE_NULL || sqlite3_column_int(st, 6) != 0;
		e->disqualified = sqlite3_column_int(st, 7) != 0;
		e->min_members = sqlite3_column_int(st, 8) > 0 ? (size_t)sqlite3_column_int(st, 8) : 0;
		rv = OCOP_OK;
	} else if (rc == SQLITE_DONE) {
		rv = council_fail(c, OCOP_ENOENT, "no evaluation with id '%s'", id);
	} else {
		rv = council_sqlerr(c, "reading an evaluation");
	}
	sqlite3_finalize(st);
	return rv;
}

/* Fill m from a row of (id, evaluation_id, name, sheet id, owner_site, submitted). */
static void
member_from_row(sqlite3_stmt *st, council_member *m)
{
	council_col_copy(st, 0, m->id, sizeof(m->id));
	council_col_copy(st, 1, m->evaluation_id, sizeof(m->evaluation_id));
	council_col_copy(st, 2, m->name, sizeof(m->name));
	council_col_copy(st, 3, m->sheet_id, sizeof(m->sheet_id));
	council_col_copy(st, 4, m->owner_site, sizeof(m->owner_site));
	m->submitted = sqlite3_column_int(st, 5) != 0;
}

#define MEMBER_SELECT                                                          \
	"SELECT m.id, m.evaluation_id, m.name, s.id, s.owner_site, s.submitted"  \
	" FROM member m LEFT JOIN score_sheet s ON s.member_id = m.id"           \
	" AND s.evaluation_id = m.evaluation_id AND s.deleted = 0 WHERE m.deleted = 0"

int
council_member_load(ocp_council *c, const char *id, council_member *m)
{
	sqlite3_stmt *st = NULL;
	int rc;
	int rv;

	if (council_empty(id)) {
		return council_fail(c, OCOP_EINVAL, "a member id is required");
	}
	if ((rv = council_prepare(c, &st, MEMBER_SELECT " AND m.id = ?1 ORDER BY s.id LIMIT 1")) !=
	    OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		member_from_row(st, m);
		rv = m->sheet_id[0] ? OCOP_OK
				    : council_fail(c, OCOP_ESTATE, "member %s (%s) has no score sheet",
					  m->name, m->id);
	} else if (rc == SQLITE_DONE) {
		rv = council_fail(c, OCOP_ENOENT, "no member with id '%s'", id);
	} else {
		rv = council_sqlerr(c, "reading a member");
	}
	sqlite3_finalize(st);
	return rv;
}

/*
 * The members of an evaluation with their sheets, chair first then by name.
 * Caller frees *out.
 */
int
council_members_load(ocp_council *c, const char *evaluation_id, council_member **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	council_member *arr = NULL;
	council_member *grown;
	size_t cnt = 0;
	int rc;
	int rv;

	*out = NULL;
	*n = 0;
	/* Chair first, then by name: the same order on every replica (ids made in
	 * one millisecond are not ordered among themselves). */
	if ((rv = council_prepare(c, &st,
		 MEMBER_SELECT " AND m.evaluation_id = ?1 ORDER BY m.role = 'chair' DESC, m.name, m.id,"
			       " s.id")) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, evaluation_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* A member may show up twice if two sheets were created for it
		 * concurrently; the lowest sheet id (the first row) is the one used. */
		if (cnt > 0 && sqlite3_column_text(st, 0) != NULL &&
		    strcmp(arr[cnt - 1].id, (const char *)sqlite3_column_text(st, 0)) == 0) {
			continue;
		}
		grown = com_realloc(arr, (cnt + 1) * sizeof(*arr));
		if (grown == NULL) {
			rv = council_fail(c, OCOP_ENOMEM, "out of memory");
			goto fail;
		}
		arr = grown;
		member_from_row(st, &arr[cnt++]);
	}
	if (rc != SQLITE_DONE) {
		rv = council_sqlerr(c, "reading members");
		goto fail;
	}
	sqlite3_finalize(st);
	*out = arr;
	*n = cnt;
	return OCOP_OK;
fail:
	sqlite3_finalize(st);
	com_free(arr);
	return rv;
}

/* ===== Score rows ===== */

int
ocp_council_score_id(const char *sheet_id, const char *criterion, char out[37])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	com_uuid u;
	bool ok;

	/* "\n" separates the parts: neither a UUID nor a criterion code contains one. */
	ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(ctx, sheet_id, strlen(sheet_id)) == 1 &&
	    EVP_DigestUpdate(ctx, "\n", 1) == 1 &&
	    EVP_DigestUpdate(ctx, criterion, strlen(criterion)) == 1 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= sizeof(u.b);
	EVP_MD_CTX_free(ctx);
	if (!ok) {
		out[0] = 0;
		return OCOP_ENOMEM;
	}
	memcpy(u.b, md, sizeof(u.b));
	u.b[6] = (uint8_t)((u.b[6] & 0x0f) | 0x80); /* version 8: custom (RFC 9562 5.8) */
	u.b[8] = (uint8_t)((u.b[8] & 0x3f) | 0x80); /* RFC 9562 variant */
	com_uuid_format(&u, out);
	return OCOP_OK;
}

/* Write one cell of a sheet: insert its row, or update it (reviving a tombstone). */
int
council_score_put(ocp_council *c, const char *sheet_id, const char *criterion, int64_t points,
    bool ko, char id_out[37])
{
	sqlite3_stmt *st = NULL;
	char id[37];
	int rc;
	int rv;

	if (ocp_council_score_id(sheet_id, criterion, id) != OCOP_OK) {
		return council_fail(c, OCOP_ENOMEM, "out of memory");
	}
	if (ko) {
		points = 0; /* a knock-out option is worth nothing */
	}
	if ((rv = council_prepare(c, &st,
		 "SELECT points, ko, deleted FROM score WHERE id = ?1")) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		bool same = sqlite3_column_int64(st, 0) == points && (sqlite3_column_int(st, 1) != 0) == ko &&
		    sqlite3_column_int(st, 2) == 0 && sqlite3_column_type(st, 0) == SQLITE_INTEGER;
		sqlite3_finalize(st);
		st = NULL;
		if (same) {
			goto done; /* nothing changes: capture nothing */
		}
		rv = council_prepare(c, &st,
		    "UPDATE score SET points = ?2, ko = ?3, deleted = 0 WHERE id = ?1");
	} else if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		st = NULL;
		rv = council_prepare(c, &st,
		    "INSERT INTO score (id, points, ko, sheet_id, criterion) VALUES (?1, ?2, ?3, ?4, ?5)");
	} else {
		rv = council_sqlerr(c, "reading a score");
		sqlite3_finalize(st);
		return rv;
	}
	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, points);
	sqlite3_bind_int(st, 3, ko ? 1 : 0);
	if (sqlite3_bind_parameter_count(st) >= 5) {
		sqlite3_bind_text(st, 4, sheet_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, criterion, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	rv = rc == SQLITE_DONE ? OCOP_OK : council_sqlerr(c, "writing a score");
	sqlite3_finalize(st);
	if (rv != OCOP_OK) {
		return rv;
	}
done:
	if (id_out != NULL) {
		memcpy(id_out, id, sizeof(id));
	}
	return OCOP_OK;
}


void
council_choices_free(council_choices *ch)
{
	size_t i;

	for (i = 0; i < ch->n; i++) {
		com_free((char *)ch->v[i].code);
	}
	com_free(ch->v);
	ch->v = NULL;
	ch->n = 0;
}

int
council_choices_load(ocp_council *c, const char *sheet_id, council_choices *ch)
{
	sqlite3_stmt *st = NULL;
	ocp_choice *grown;
	int rc;
	int rv;

	ch->v = NULL;
	ch->n = 0;
	if ((rv = council_prepare(c, &st,
		 "SELECT criterion, points, ko FROM score WHERE sheet_id = ?1 AND deleted = 0"
		 " AND criterion IS NOT NULL ORDER BY criterion")) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, sheet_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char *code = com_strdup((const char *)sqlite3_column_text(st, 0));

		grown = code ? com_realloc(ch->v, (ch->n + 1) * sizeof(*grown)) : NULL;
		if (grown == NULL) {
			com_free(code);
			sqlite3_finalize(st);
			council_choices_free(ch);
			return council_fail(c, OCOP_ENOMEM, "out of memory");
		}
		ch->v = grown;
		ch->v[ch->n].code = code;
		ch->v[ch->n].points = sqlite3_column_int64(st, 1);
		ch->v[ch->n].ko = sqlite3_column_int(st, 2) != 0;
		ch->n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		council_choices_free(ch);
		return council_sqlerr(c, "reading scores");
	}
	return OCOP_OK;
}

/* True when the sheet has a choice for criterion code. */
const ocp_choice *
council_choices_find(const council_choices *ch, const char *code)
{
	size_t i;

	for (i = 0; i < ch->n; i++) {
		if (strcmp(ch->v[i].code, code) == 0) {
			return &ch->v[i];
		}
	}
	return NULL;
}

/*
 * Append to b the criteria a sheet still lacks: every criterion that is not
 * conditional ("applies only when ...": those may be left out). Returns the count.
 */
size_t
council_missing_list(const ocp_rubric *r, const council_choices *ch, com_buf *b, json_t *arr)
{
	size_t n = 0;
	size_t i;

	for (i = 0; i < ocp_rubric_criterion_count(r); i++) {
		const ocp_criterion *cr = ocp_rubric_criterion(r, i);

		if (cr->cond != OCP_NONE || council_choices_find(ch, cr->code) != NULL) {
			continue;
		}
		if (b != NULL) {
			com_buf_printf(b, "%s%s", n ? ", " : "", cr->code);
		}
		if (arr != NULL) {
			json_array_append_new(arr, json_string(cr->code));
		}
		n++;
	}
	return n;
}

/* ===== Lists ===== */

/* Run a list query (bound to arg, or unbound when arg is NULL) into a JSON array. */
int
council_list(ocp_council *c, const char *sql, const char *arg, json_t *(*row)(sqlite3_stmt *),
    json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int rc;
	int rv;

	*out = NULL;
	if (arr == NULL) {
		return council_fail(c, OCOP_ENOMEM, "out of memory");
	}
	if ((rv = council_prepare(c, &st, sql)) != OCOP_OK) {
		json_decref(arr);
		return rv;
	}
	if (arg != NULL) {
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (!council_jpush(arr, row(st))) {
			sqlite3_finalize(st);
			json_decref(arr);
			return council_fail(c, OCOP_ENOMEM, "out of memory");
		}
	}
	if (rc != SQLITE_DONE) {
		rv = council_sqlerr(c, "listing");
		sqlite3_finalize(st);
		json_decref(arr);
		return rv;
	}
	sqlite3_finalize(st);
	*out = arr;
	return OCOP_OK;
}


int
ocp_council_candidate(ocp_council *c, const char *basis, const char *status, bool *candidate,
    const char **send_to)
{
	const ocp_flow *flow = NULL;
	const ocp_state *to;
	char err[256];
	size_t i;
	int rv;

	*candidate = false;
	if (send_to != NULL) {
		*send_to = NULL;
	}
	if (basis == NULL || basis[0] == 0) {
		basis = OCP_FLOW_DEFAULT_BASIS;
	}
	for (i = 0; i < c->n_flows && flow == NULL; i++) {
		if (strcmp(ocp_flow_basis(c->flows[i]), basis) == 0) {
			flow = c->flows[i];
		}
	}
	if (flow == NULL) {
		ocp_flow *f = NULL;

		if (c->n_flows == sizeof(c->flows) / sizeof(c->flows[0])) {
			return council_fail(c, OCOP_ERANGE, "too many legal bases in use at once");
		}
		if ((rv = ocp_flow_load_basis(&f, c->data_dir, basis, err, sizeof(err))) != OCOP_OK) {
			return council_fail(c, rv, "workflow of legal basis '%s': %s", basis, err);
		}
		c->flows[c->n_flows++] = f;
		flow = f;
	}
	*candidate = ocp_flow_candidate(flow, status);
	if (send_to != NULL && (to = ocp_flow_handoff(flow, status)) != NULL) {
		*send_to = to->name;
	}
	return OCOP_OK;
}
