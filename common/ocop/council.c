/*
 * council.c: evaluations, members, score sheets, results and decisions over the
 * local replica (council.h). Each write checks input, referenced rows, tier
 * authority and the workflow before it writes, so a refusal writes nothing.
 * Scoring, rubric, workflow and authority rules are the other modules' business.
 */
#include "common/ocop/council.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "common/ocop/authority.h"
#include "common/ocop/basis.h"
#include "common/ocop/sheetcsv.h"
#include "common/ocop/workflow.h"
#include "common/store/fold.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "common/util/uuid.h"
#include "ocop_err.h"

/* A loaded rubric kept for the object's lifetime. */
typedef struct council_rubric {
	char *id;       /* owned rubric id */
	ocp_rubric *r;  /* owned rubric */
} council_rubric;

struct ocp_council {
	sto_db *db;               /* borrowed replica */
	const char *data_dir;     /* borrowed rules directory */
	ocp_auth *auth;           /* owned authority rules, loaded on first use */
	council_rubric *rubrics;  /* owned cache of loaded rubrics */
	size_t n_rubrics;         /* entries in rubrics */
	int64_t today;            /* pinned date (days), or INT64_MIN for the local date */
	char err[1024];           /* last error text */
};

/* An evaluation row. */
typedef struct council_eval {
	char id[37];              /* evaluation id */
	char dossier_id[37];      /* dossier evaluated */
	char tier[16];            /* district, province, national */
	char rubric_id[64];       /* rubric used */
	char legal_basis[64];     /* legal basis kept from the dossier */
	int64_t spread_threshold; /* centipoints */
	bool spread_rule;         /* spread rule applies */
	bool disqualified;        /* hồ sơ bị loại */
	size_t min_members;       /* council minimum size; 0 for evaluations kept before it existed */
} council_eval;

/* A dossier row (the columns this module needs). */
typedef struct council_dossier {
	char id[37];          /* dossier id */
	char legal_basis[64]; /* e.g. qd26-2026 */
	char rubric_id[64];   /* e.g. qd26-2026/01 */
	char status[64];      /* workflow status */
	char product_set[16]; /* its product's set ("07"), "" when unknown */
} council_dossier;

/* A member row with its score sheet. */
typedef struct council_member {
	char id[37];            /* member id */
	char evaluation_id[37]; /* its evaluation */
	char name[256];         /* name as entered (NFC) */
	char sheet_id[37];      /* its score sheet */
	char owner_site[37];    /* the site that may write the sheet */
	bool submitted;         /* sheet submitted */
} council_member;

/* ===== Errors and small helpers ===== */

static int council_latest_eval(ocp_council *c, const char *dossier_id, char out[37]);

static int council_fail(ocp_council *c, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
council_fail(ocp_council *c, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return code;
}

/* Translate a SQLite failure once, keeping SQLite's text. */
static int
council_sqlerr(ocp_council *c, const char *what)
{
	sqlite3 *s = sto_sqlite(c->db);
	int rc = sqlite3_errcode(s);

	council_fail(c, OCOP_EDB, "%s: %s", what, sqlite3_errmsg(s));
	return (rc & 0xff) == SQLITE_NOMEM ? OCOP_ENOMEM : OCOP_EDB;
}

static int
council_prepare(ocp_council *c, sqlite3_stmt **st, const char *sql)
{
	if (sqlite3_prepare_v2(sto_sqlite(c->db), sql, -1, st, NULL) != SQLITE_OK) {
		*st = NULL;
		return council_sqlerr(c, "preparing a query");
	}
	return OCOP_OK;
}

/* Copy column i of the current row as text ("" for NULL). */
static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

/* Column i as text or JSON null. */
static json_t *
col_json_text(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return t ? json_string((const char *)t) : json_null();
}

/* Centipoints as a JSON number of points (85.5), a real as `ocop score --json` writes them. */
static json_t *
points_json(int64_t centi)
{
	return json_real((double)centi / 100.0);
}

/* Centipoints as "85.50". */
static json_t *
points_display_json(int64_t centi)
{
	char buf[32];

	ocp_points_format(buf, sizeof(buf), centi);
	return json_string(buf);
}

/* Add v to obj under key, releasing v; returns false (and drops v) on failure. */
static bool
jset(json_t *obj, const char *key, json_t *v)
{
	return v != NULL && json_object_set_new(obj, key, v) == 0;
}

/* Like jset, but when ok is already false just release v and stay false. */
static bool
jadd(bool ok, json_t *obj, const char *key, json_t *v)
{
	if (!ok) {
		json_decref(v);
		return false;
	}
	return jset(obj, key, v);
}

static bool
jpush(json_t *arr, json_t *v)
{
	return v != NULL && json_array_append_new(arr, v) == 0;
}

static bool
is_empty(const char *s)
{
	return s == NULL || s[0] == 0;
}

/* NFC copy of user text; NULL stays NULL. Returns OCOP_OK, OCOP_EINVAL (bad UTF-8) or OCOP_ENOMEM. */
static int
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
static int
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
static int
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
static int
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

static int
council_dossier_load(ocp_council *c, const char *id, council_dossier *d)
{
	sqlite3_stmt *st = NULL;
	int rc;
	int rv;

	if (is_empty(id)) {
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
		col_copy(st, 0, d->id, sizeof(d->id));
		col_copy(st, 1, d->legal_basis, sizeof(d->legal_basis));
		col_copy(st, 2, d->rubric_id, sizeof(d->rubric_id));
		col_copy(st, 3, d->status, sizeof(d->status));
		col_copy(st, 4, d->product_set, sizeof(d->product_set));
		rv = OCOP_OK;
	} else if (rc == SQLITE_DONE) {
		rv = council_fail(c, OCOP_ENOENT, "no dossier with id '%s'", id);
	} else {
		rv = council_sqlerr(c, "reading a dossier");
	}
	sqlite3_finalize(st);
	return rv;
}

static int
council_eval_load(ocp_council *c, const char *id, council_eval *e)
{
	sqlite3_stmt *st = NULL;
	int rc;
	int rv;

	if (is_empty(id)) {
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
		col_copy(st, 0, e->id, sizeof(e->id));
		col_copy(st, 1, e->dossier_id, sizeof(e->dossier_id));
		col_copy(st, 2, e->tier, sizeof(e->tier));
		col_copy(st, 3, e->rubric_id, sizeof(e->rubric_id));
		col_copy(st, 4, e->legal_basis, sizeof(e->legal_basis));
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
	col_copy(st, 0, m->id, sizeof(m->id));
	col_copy(st, 1, m->evaluation_id, sizeof(m->evaluation_id));
	col_copy(st, 2, m->name, sizeof(m->name));
	col_copy(st, 3, m->sheet_id, sizeof(m->sheet_id));
	col_copy(st, 4, m->owner_site, sizeof(m->owner_site));
	m->submitted = sqlite3_column_int(st, 5) != 0;
}

#define MEMBER_SELECT                                                          \
	"SELECT m.id, m.evaluation_id, m.name, s.id, s.owner_site, s.submitted"  \
	" FROM member m LEFT JOIN score_sheet s ON s.member_id = m.id"           \
	" AND s.evaluation_id = m.evaluation_id AND s.deleted = 0 WHERE m.deleted = 0"

static int
council_member_load(ocp_council *c, const char *id, council_member *m)
{
	sqlite3_stmt *st = NULL;
	int rc;
	int rv;

	if (is_empty(id)) {
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
static int
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
static int
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

/* The scores entered on a sheet; codes are copied. Caller frees with choices_free(). */
typedef struct council_choices {
	ocp_choice *v; /* owned array; each code owned */
	size_t n;      /* entries */
} council_choices;

static void
choices_free(council_choices *ch)
{
	size_t i;

	for (i = 0; i < ch->n; i++) {
		com_free((char *)ch->v[i].code);
	}
	com_free(ch->v);
	ch->v = NULL;
	ch->n = 0;
}

static int
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
			choices_free(ch);
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
		choices_free(ch);
		return council_sqlerr(c, "reading scores");
	}
	return OCOP_OK;
}

/* True when the sheet has a choice for criterion code. */
static const ocp_choice *
choices_find(const council_choices *ch, const char *code)
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
static size_t
missing_list(const ocp_rubric *r, const council_choices *ch, com_buf *b, json_t *arr)
{
	size_t n = 0;
	size_t i;

	for (i = 0; i < ocp_rubric_criterion_count(r); i++) {
		const ocp_criterion *cr = ocp_rubric_criterion(r, i);

		if (cr->cond != OCP_NONE || choices_find(ch, cr->code) != NULL) {
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

/* ===== Evaluations ===== */

static bool
tier_valid(const char *tier)
{
	return tier != NULL &&
	    (strcmp(tier, "district") == 0 || strcmp(tier, "province") == 0 ||
		strcmp(tier, "national") == 0);
}

/* True when the transition waits on a council's scores. */
static bool
transition_needs_council(const ocp_transition *t)
{
	size_t k;

	for (k = 0; k < t->nrequires; k++) {
		if (strcmp(t->requires[k], "scores_complete") == 0 ||
		    strncmp(t->requires[k], "score<", 6) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * A council sits while the dossier is in a status whose next move, for the
 * council's tier, needs the council's scores: a move requiring
 * `scores_complete` (provincial and district councils) or a `score<...` result
 * (the national council decides between >= 90 and < 90). The workflow file
 * says which statuses those are; nothing here names a status.
 */
static int
council_check_status(ocp_council *c, const council_dossier *d, const char *tier)
{
	const ocp_transition *next[64];
	ocp_flow *flow = NULL;
	char err[512] = "";
	com_buf states;
	ocp_role role;
	size_t n;
	size_t i;
	int rv;

	(void)ocp_role_parse(tier, &role);
	rv = ocp_flow_load_basis(&flow, c->data_dir, d->legal_basis[0] ? d->legal_basis : NULL, err,
	    sizeof(err));
	if (rv == OCOP_ENOMEM) {
		return council_fail(c, rv, "out of memory");
	}
	if (rv != OCOP_OK) {
		return council_fail(c, rv == OCOP_EINVAL || rv == OCOP_ENOENT ? OCOP_ESTATE : OCOP_EIO,
		    "dossier %s: no workflow for legal basis '%s': %s", d->id, d->legal_basis,
		    err[0] ? err : ocop_strerror(rv));
	}
	n = ocp_flow_next(flow, d->status, OCP_ROLE_BIT(role), next, sizeof(next) / sizeof(next[0]));
	if (n > sizeof(next) / sizeof(next[0])) {
		n = sizeof(next) / sizeof(next[0]);
	}
	for (i = 0; i < n; i++) {
		if (transition_needs_council(next[i])) {
			ocp_flow_free(flow);
			return OCOP_OK;
		}
	}
	/* Name the statuses where such a council sits, to say what to do. */
	com_buf_init(&states);
	for (i = 0; i < ocp_flow_transition_count(flow); i++) {
		const ocp_transition *t = ocp_flow_transition_at(flow, i);

		if ((t->roles & OCP_ROLE_BIT(role)) != 0 && transition_needs_council(t) &&
		    (states.len == 0 || strstr((const char *)states.data, t->from->name) == NULL)) {
			com_buf_printf(&states, "%s'%s'", states.len ? ", " : "", t->from->name);
		}
	}
	rv = council_fail(c, OCOP_ESTATE,
	    "dossier %s is in status '%s'; a %s council evaluates it only in status %s (move it there with 'ocop dossier move')",
	    d->id, d->status, tier, states.len ? (const char *)states.data : "(none in this workflow)");
	com_buf_fini(&states);
	ocp_flow_free(flow);
	return rv;
}

int
ocp_council_evaluation_add(ocp_council *c, const ocp_eval_spec *spec, char id_out[37])
{
	const char *cols[] = {"dossier_id", "tier", "rubric_id", "legal_basis", "held_on",
	    "spread_threshold", "spread_rule", "disqualified", "version", "min_members"};
	const char *vals[10];
	char minimum[16];
	const ocp_rubric *r = NULL;
	council_dossier d;
	const char *rubric_id;
	char spread[32];
	int64_t days;
	int rv;

	c->err[0] = 0;
	if (!tier_valid(spec->tier)) {
		return council_fail(c, OCOP_EINVAL, "the tier must be district, province or national");
	}
	if (spec->held_on != NULL && ocp_council_date_parse(spec->held_on, &days) != OCOP_OK) {
		return council_fail(c, OCOP_EINVAL, "held date '%s' is not a date (YYYY-MM-DD)",
		    spec->held_on);
	}
	if (spec->min_members < 0 || spec->min_members > 99) {
		return council_fail(c, OCOP_EINVAL, "the council minimum must be between 1 and 99 members");
	}
	if (spec->spread_threshold < 0 || spec->spread_threshold > 100 * 100) {
		return council_fail(c, OCOP_EINVAL, "the spread threshold must be between 0 and 100 points");
	}
	if ((rv = council_dossier_load(c, spec->dossier_id, &d)) != OCOP_OK) {
		return rv;
	}
	rubric_id = !is_empty(spec->rubric_id) ? spec->rubric_id : d.rubric_id;
	if (is_empty(rubric_id)) {
		return council_fail(c, OCOP_EINVAL, "dossier %s names no rubric; pass --rubric", d.id);
	}
	{
		/* The same rule as the dossier's: the basis's sheet for the product's set. */
		char berr[768];

		rv = ocp_basis_check(c->data_dir, d.legal_basis[0] ? d.legal_basis : OCP_FLOW_DEFAULT_BASIS,
		    d.product_set, rubric_id, true, berr, sizeof(berr));
		if (rv != OCOP_OK) {
			return council_fail(c, rv, "dossier %s: %s", d.id, berr);
		}
	}
	if ((rv = council_scoring_rubric(c, rubric_id, &r)) != OCOP_OK ||
	    (rv = council_may(c, "evaluation", NULL, spec->tier)) != OCOP_OK ||
	    (rv = council_check_status(c, &d, spec->tier)) != OCOP_OK) {
		return rv;
	}
	snprintf(spread, sizeof(spread), "%lld",
	    (long long)(spec->spread_threshold ? spec->spread_threshold : OCP_SPREAD_DEFAULT));
	vals[0] = d.id;
	vals[1] = spec->tier;
	vals[2] = rubric_id;
	vals[3] = d.legal_basis[0] ? d.legal_basis : OCP_FLOW_DEFAULT_BASIS;
	vals[4] = spec->held_on;
	vals[5] = spread;
	vals[6] = spec->spread_rule ? "1" : "0";
	vals[7] = "0";
	vals[8] = "1";
	snprintf(minimum, sizeof(minimum), "%d", spec->min_members ? spec->min_members : OCP_COUNCIL_MIN_DEFAULT);
	vals[9] = minimum;
	rv = sto_row_insert(c->db, "evaluation", cols, vals, 10, id_out);
	if (rv != OCOP_OK) {
		return council_fail(c, rv, "%s", sto_errmsg(c->db));
	}
	return OCOP_OK;
}

int
ocp_council_evaluation_disqualify(ocp_council *c, const char *id, const char *reason)
{
	council_eval e;
	char *text = NULL;
	int rv;

	c->err[0] = 0;
	if (is_empty(reason)) {
		return council_fail(c, OCOP_EINVAL, "a disqualification needs a reason (--reason)");
	}
	if ((rv = council_eval_load(c, id, &e)) != OCOP_OK ||
	    (rv = council_may(c, "evaluation", "disqualified", e.tier)) != OCOP_OK) {
		return rv;
	}
	if (e.disqualified) {
		return council_fail(c, OCOP_ESTATE, "evaluation %s is already disqualified", e.id);
	}
	if ((rv = council_nfc(c, "the reason", reason, &text)) != OCOP_OK) {
		return rv;
	}
	if ((rv = sto_begin(c->db)) != OCOP_OK) {
		com_free(text);
		return council_fail(c, rv, "%s", sto_errmsg(c->db));
	}
	if ((rv = sto_row_update(c->db, "evaluation", e.id, "disqualified", "1")) != OCOP_OK ||
	    (rv = sto_row_update(c->db, "evaluation", e.id, "disqualify_reason", text)) != OCOP_OK ||
	    (rv = sto_commit(c->db)) != OCOP_OK) {
		sto_rollback(c->db);
		council_fail(c, rv, "%s", sto_errmsg(c->db));
	}
	com_free(text);
	return rv;
}

#define EVAL_SELECT                                                            \
	"SELECT e.id, e.dossier_id, e.tier, e.rubric_id, e.legal_basis, e.held_on,"  \
	" e.spread_threshold, e.spread_rule, e.disqualified, e.disqualify_reason,"   \
	" e.version, (SELECT COUNT(*) FROM member m WHERE m.evaluation_id = e.id"    \
	" AND m.deleted = 0), e.min_members FROM evaluation e WHERE e.deleted = 0"

static json_t *
eval_json(sqlite3_stmt *st)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	ok = ok && jset(o, "id", col_json_text(st, 0));
	ok = ok && jset(o, "dossier_id", col_json_text(st, 1));
	ok = ok && jset(o, "tier", col_json_text(st, 2));
	ok = ok && jset(o, "rubric_id", col_json_text(st, 3));
	ok = ok && jset(o, "legal_basis", col_json_text(st, 4));
	ok = ok && jset(o, "held_on", col_json_text(st, 5));
	ok = ok && jset(o, "spread_threshold",
	    points_json(sqlite3_column_type(st, 6) == SQLITE_NULL ? OCP_SPREAD_DEFAULT
								 : sqlite3_column_int64(st, 6)));
	ok = ok && jset(o, "spread_rule",
	    json_boolean(sqlite3_column_type(st, 7) == SQLITE_NULL || sqlite3_column_int(st, 7) != 0));
	ok = ok && jset(o, "disqualified", json_boolean(sqlite3_column_int(st, 8) != 0));
	ok = ok && jset(o, "disqualify_reason", col_json_text(st, 9));
	ok = ok && jset(o, "version", json_integer(sqlite3_column_int64(st, 10)));
	ok = ok && jset(o, "members", json_integer(sqlite3_column_int64(st, 11)));
	ok = ok && jset(o, "min_members", json_integer(sqlite3_column_int64(st, 12)));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
ocp_council_evaluation_get(ocp_council *c, const char *id, json_t **out)
{
	sqlite3_stmt *st = NULL;
	int rc;
	int rv;

	*out = NULL;
	c->err[0] = 0;
	if (is_empty(id)) {
		return council_fail(c, OCOP_EINVAL, "an evaluation id is required");
	}
	if ((rv = council_prepare(c, &st, EVAL_SELECT " AND e.id = ?1")) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = eval_json(st);
		rv = *out ? OCOP_OK : council_fail(c, OCOP_ENOMEM, "out of memory");
	} else if (rc == SQLITE_DONE) {
		rv = council_fail(c, OCOP_ENOENT, "no evaluation with id '%s'", id);
	} else {
		rv = council_sqlerr(c, "reading an evaluation");
	}
	sqlite3_finalize(st);
	return rv;
}

/* Run a list query (bound to arg, or unbound when arg is NULL) into a JSON array. */
static int
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
		if (!jpush(arr, row(st))) {
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
ocp_council_evaluation_list(ocp_council *c, const char *dossier_id, json_t **out)
{
	council_dossier d;
	int rv;

	c->err[0] = 0;
	*out = NULL;
	if (dossier_id != NULL && (rv = council_dossier_load(c, dossier_id, &d)) != OCOP_OK) {
		return rv;
	}
	return council_list(c,
	    dossier_id ? EVAL_SELECT " AND e.dossier_id = ?1 ORDER BY e.id" : EVAL_SELECT " ORDER BY e.id",
	    dossier_id, eval_json, out);
}

/* ===== Members and score sheets ===== */

/* How many live members of the evaluation match `where` (a name or the chair role). */
static int
council_member_count(ocp_council *c, const char *evaluation_id, const char *col, const char *value,
    int64_t *n)
{
	sqlite3_stmt *st = NULL;
	char sql[160];
	int rv;

	snprintf(sql, sizeof(sql),
	    "SELECT COUNT(*) FROM member WHERE evaluation_id = ?1 AND deleted = 0 AND %s = ?2", col);
	if ((rv = council_prepare(c, &st, sql)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, evaluation_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rv = council_sqlerr(c, "counting members");
	} else {
		*n = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return rv;
}

int
ocp_council_member_add(ocp_council *c, const char *evaluation_id, const char *name,
    const char *role, const char *site_id, char member_out[37], char sheet_out[37])
{
	const char *mcols[] = {"evaluation_id", "name", "role", "site_id"};
	const char *scols[] = {"evaluation_id", "member_id", "owner_site", "submitted"};
	const char *vals[4];
	char sheet[37];
	council_eval e;
	char *text = NULL;
	int64_t n = 0;
	int rv;

	c->err[0] = 0;
	if (role == NULL) {
		role = "member";
	}
	if (is_empty(name)) {
		return council_fail(c, OCOP_EINVAL, "a member needs a name (--name)");
	}
	if (strcmp(role, "chair") != 0 && strcmp(role, "member") != 0) {
		return council_fail(c, OCOP_EINVAL, "the role must be chair or member, not '%s'", role);
	}
	if (site_id == NULL) {
		site_id = sto_site_id(c->db);
	} else if (!com_uuid_valid(site_id)) {
		return council_fail(c, OCOP_EINVAL, "site '%s' is not a site id (UUID)", site_id);
	}
	if ((rv = council_eval_load(c, evaluation_id, &e)) != OCOP_OK ||
	    (rv = council_may(c, "member", NULL, e.tier)) != OCOP_OK ||
	    (rv = council_may(c, "score_sheet", NULL, NULL)) != OCOP_OK ||
	    (rv = council_nfc(c, "the name", name, &text)) != OCOP_OK) {
		return rv;
	}
	if ((rv = council_member_count(c, e.id, "name", text, &n)) != OCOP_OK) {
		goto out;
	}
	if (n > 0) {
		rv = council_fail(c, OCOP_EEXIST,
		    "evaluation %s already has a member named '%s' (score sheets name members by name)",
		    e.id, text);
		goto out;
	}
	if (strcmp(role, "chair") == 0) {
		if ((rv = council_member_count(c, e.id, "role", "chair", &n)) != OCOP_OK) {
			goto out;
		}
		if (n > 0) {
			rv = council_fail(c, OCOP_EEXIST, "evaluation %s already has a chair", e.id);
			goto out;
		}
	}
	if ((rv = sto_begin(c->db)) != OCOP_OK) {
		council_fail(c, rv, "%s", sto_errmsg(c->db));
		goto out;
	}
	vals[0] = e.id;
	vals[1] = text;
	vals[2] = role;
	vals[3] = site_id;
	rv = sto_row_insert(c->db, "member", mcols, vals, 4, member_out);
	if (rv == OCOP_OK) {
		vals[1] = member_out;
		vals[2] = site_id;
		vals[3] = "0";
		rv = sto_row_insert(c->db, "score_sheet", scols, vals, 4, sheet);
	}
	if (rv == OCOP_OK) {
		rv = sto_commit(c->db);
	}
	if (rv != OCOP_OK) {
		council_fail(c, rv, "%s", sto_errmsg(c->db));
		sto_rollback(c->db);
		member_out[0] = 0;
		goto out;
	}
	if (sheet_out != NULL) {
		memcpy(sheet_out, sheet, sizeof(sheet));
	}
out:
	com_free(text);
	return rv;
}

int
ocp_council_member_list(ocp_council *c, const char *evaluation_id, json_t **out)
{
	const ocp_rubric *r = NULL;
	council_member *ms = NULL;
	council_choices ch = {NULL, 0};
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL;
	council_eval e;
	size_t n = 0;
	size_t i;
	int rv;

	*out = NULL;
	c->err[0] = 0;
	if ((rv = council_eval_load(c, evaluation_id, &e)) != OCOP_OK ||
	    (rv = council_scoring_rubric(c, e.rubric_id, &r)) != OCOP_OK ||
	    (rv = council_members_load(c, e.id, &ms, &n)) != OCOP_OK ||
	    (rv = council_prepare(c, &st, "SELECT role, site_id FROM member WHERE id = ?1")) != OCOP_OK) {
		goto out;
	}
	arr = json_array();
	if (arr == NULL) {
		rv = council_fail(c, OCOP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < n; i++) {
		json_t *o = json_object();
		json_t *missing = json_array();
		bool ok;

		if ((rv = council_choices_load(c, ms[i].sheet_id, &ch)) != OCOP_OK) {
			json_decref(o);
			json_decref(missing);
			goto out;
		}
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, ms[i].id, -1, SQLITE_STATIC);
		ok = o != NULL && missing != NULL && sqlite3_step(st) == SQLITE_ROW;
		ok = ok && jset(o, "id", json_string(ms[i].id));
		ok = ok && jset(o, "name", json_string(ms[i].name));
		ok = ok && jset(o, "role", col_json_text(st, 0));
		ok = ok && jset(o, "site_id", col_json_text(st, 1));
		ok = ok && jset(o, "sheet_id", ms[i].sheet_id[0] ? json_string(ms[i].sheet_id) : json_null());
		ok = ok && jset(o, "submitted", json_boolean(ms[i].submitted));
		ok = ok && jset(o, "scored", json_integer((json_int_t)ch.n));
		if (ok) {
			missing_list(r, &ch, NULL, missing);
			ok = jset(o, "missing", missing);
			missing = NULL;
		}
		choices_free(&ch);
		json_decref(missing);
		if (!ok || !jpush(arr, o)) {
			if (!ok) {
				json_decref(o);
			}
			rv = council_fail(c, OCOP_ENOMEM, "out of memory or unreadable member %s", ms[i].id);
			goto out;
		}
	}
	*out = arr;
	arr = NULL;
out:
	sqlite3_finalize(st);
	json_decref(arr);
	com_free(ms);
	return rv;
}

/* Load a member, its evaluation and rubric, and check this site may write the sheet. */
static int
council_sheet_open(ocp_council *c, const char *member_id, council_member *m, council_eval *e,
    const ocp_rubric **r)
{
	int rv;

	if ((rv = council_member_load(c, member_id, m)) != OCOP_OK ||
	    (rv = council_eval_load(c, m->evaluation_id, e)) != OCOP_OK ||
	    (rv = council_scoring_rubric(c, e->rubric_id, r)) != OCOP_OK) {
		return rv;
	}
	return OCOP_OK;
}

int
ocp_council_sheet_set(ocp_council *c, const char *member_id, const char *criterion,
    int64_t points, bool ko, char score_out[37])
{
	const ocp_rubric *r = NULL;
	council_member m;
	council_eval e;
	ocp_choice ch;
	char err[512] = "";
	int rv;

	c->err[0] = 0;
	if (is_empty(criterion)) {
		return council_fail(c, OCOP_EINVAL, "a criterion code is required (--criterion)");
	}
	if ((rv = council_sheet_open(c, member_id, &m, &e, &r)) != OCOP_OK) {
		return rv;
	}
	ch.code = criterion;
	ch.points = ko ? 0 : points;
	ch.ko = ko;
	rv = ocp_score_check_choice(r, m.name, &ch, NULL, err, sizeof(err));
	if (rv != OCOP_OK) {
		return council_fail(c, rv == OCOP_ENOMEM ? rv : OCOP_EINPUT, "%s (rubric %s)",
		    err[0] ? err : ocop_strerror(rv), e.rubric_id);
	}
	if ((rv = council_may_write_sheet(c, &m)) != OCOP_OK) {
		return rv;
	}
	if (m.submitted) {
		return council_fail(c, OCOP_ESTATE, "the sheet of %s was submitted and can no longer change",
		    m.name);
	}
	return council_score_put(c, m.sheet_id, criterion, points, ko, score_out);
}

int
ocp_council_sheet_import(ocp_council *c, const char *evaluation_id, const char *name,
    const char *text, size_t len, size_t *n_out)
{
	const ocp_rubric *r = NULL;
	ocp_sheetcsv *csv = NULL;
	council_member *ms = NULL;
	council_member **which = NULL;
	const ocp_sheet *sheets;
	council_eval e;
	char err[512] = "";
	size_t nsheets = 0;
	size_t nm = 0;
	size_t written = 0;
	size_t i;
	size_t k;
	int rv;

	c->err[0] = 0;
	if (n_out != NULL) {
		*n_out = 0;
	}
	if ((rv = council_eval_load(c, evaluation_id, &e)) != OCOP_OK ||
	    (rv = council_scoring_rubric(c, e.rubric_id, &r)) != OCOP_OK) {
		return rv;
	}
	rv = ocp_sheetcsv_parse(&csv, r, name, text, len, err, sizeof(err));
	if (rv != OCOP_OK) {
		return council_fail(c, rv, "%s", err[0] ? err : ocop_strerror(rv));
	}
	sheets = ocp_sheetcsv_sheets(csv, &nsheets);
	if ((rv = council_members_load(c, e.id, &ms, &nm)) != OCOP_OK) {
		goto out;
	}
	which = com_calloc(nsheets ? nsheets : 1, sizeof(*which));
	if (which == NULL) {
		rv = council_fail(c, OCOP_ENOMEM, "out of memory");
		goto out;
	}
	/* Check every sheet before writing anything. */
	for (i = 0; i < nsheets; i++) {
		char *want = sto_nfc(sheets[i].member);
		int line = ocp_sheetcsv_line(csv, i, 0);

		if (want == NULL) {
			rv = council_fail(c, OCOP_EINPUT, "%s:%d: member name is not valid UTF-8", name, line);
			goto out;
		}
		for (k = 0; k < nm && strcmp(ms[k].name, want) != 0; k++) {
		}
		com_free(want);
		if (k == nm) {
			rv = council_fail(c, OCOP_EINPUT,
			    "%s:%d: evaluation %s has no member named '%s' (add it with 'ocop member add')",
			    name, line, e.id, sheets[i].member);
			goto out;
		}
		which[i] = &ms[k];
		if ((rv = council_may_write_sheet(c, which[i])) != OCOP_OK) {
			char why[sizeof(c->err)];

			snprintf(why, sizeof(why), "%s", c->err);
			rv = council_fail(c, rv, "%s:%d: %s", name, line, why);
			goto out;
		}
		if (which[i]->submitted) {
			rv = council_fail(c, OCOP_ESTATE,
			    "%s:%d: the sheet of %s was submitted and can no longer change", name, line,
			    which[i]->name);
			goto out;
		}
	}
	if ((rv = sto_begin(c->db)) != OCOP_OK) {
		council_fail(c, rv, "%s", sto_errmsg(c->db));
		goto out;
	}
	for (i = 0; i < nsheets && rv == OCOP_OK; i++) {
		for (k = 0; k < sheets[i].n_choices && rv == OCOP_OK; k++) {
			const ocp_choice *ch = &sheets[i].choices[k];

			rv = council_score_put(c, which[i]->sheet_id, ch->code, ch->points, ch->ko, NULL);
			written++;
		}
	}
	if (rv == OCOP_OK && (rv = sto_commit(c->db)) != OCOP_OK) {
		council_fail(c, rv, "%s", sto_errmsg(c->db));
	}
	if (rv != OCOP_OK) {
		sto_rollback(c->db);
		goto out;
	}
	if (n_out != NULL) {
		*n_out = written;
	}
out:
	com_free(which);
	com_free(ms);
	ocp_sheetcsv_free(csv);
	return rv;
}

int
ocp_council_sheet_submit(ocp_council *c, const char *member_id)
{
	const ocp_rubric *r = NULL;
	council_choices ch = {NULL, 0};
	council_member m;
	council_eval e;
	ocp_sheet sheet;
	char err[512] = "";
	com_buf miss;
	int rv;

	c->err[0] = 0;
	if ((rv = council_sheet_open(c, member_id, &m, &e, &r)) != OCOP_OK ||
	    (rv = council_may_write_sheet(c, &m)) != OCOP_OK) {
		return rv;
	}
	if (m.submitted) {
		return council_fail(c, OCOP_ESTATE, "the sheet of %s is already submitted", m.name);
	}
	if ((rv = council_choices_load(c, m.sheet_id, &ch)) != OCOP_OK) {
		return rv;
	}
	com_buf_init(&miss);
	if (missing_list(r, &ch, &miss, NULL) > 0) {
		rv = council_fail(c, OCOP_ESTATE, "the sheet of %s is incomplete: missing %s", m.name,
		    miss.data ? (const char *)miss.data : "?");
		goto out;
	}
	sheet.member = m.name;
	sheet.choices = ch.v;
	sheet.n_choices = ch.n;
	rv = ocp_score_check(r, &sheet, 1, NULL, err, sizeof(err));
	if (rv != OCOP_OK) {
		rv = council_fail(c, rv == OCOP_ENOMEM ? rv : OCOP_ESTATE, "cannot submit: %s",
		    err[0] ? err : ocop_strerror(rv));
		goto out;
	}
	rv = sto_row_update(c->db, "score_sheet", m.sheet_id, "submitted", "1");
	if (rv != OCOP_OK) {
		council_fail(c, rv, "%s", sto_errmsg(c->db));
	}
out:
	com_buf_fini(&miss);
	choices_free(&ch);
	return rv;
}

static json_t *
score_json(const ocp_choice *ch)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	ok = ok && jset(o, "criterion", json_string(ch->code));
	ok = ok && jset(o, "points", ch->ko ? json_null() : points_json(ch->points));
	ok = ok && jset(o, "ko", json_boolean(ch->ko));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
ocp_council_sheet_get(ocp_council *c, const char *member_id, json_t **out)
{
	const ocp_rubric *r = NULL;
	council_choices ch = {NULL, 0};
	council_member m;
	council_eval e;
	json_t *o = NULL;
	json_t *scores = NULL;
	json_t *missing = NULL;
	int64_t total = 0;
	size_t i;
	bool ok;
	int rv;

	*out = NULL;
	c->err[0] = 0;
	if ((rv = council_sheet_open(c, member_id, &m, &e, &r)) != OCOP_OK ||
	    (rv = council_choices_load(c, m.sheet_id, &ch)) != OCOP_OK) {
		return rv;
	}
	o = json_object();
	scores = json_array();
	missing = json_array();
	ok = o != NULL && scores != NULL && missing != NULL;
	/* Rubric order first, then anything stored that the rubric does not know. */
	for (i = 0; ok && i < ocp_rubric_criterion_count(r); i++) {
		const ocp_choice *x = choices_find(&ch, ocp_rubric_criterion(r, i)->code);

		if (x != NULL) {
			ok = jpush(scores, score_json(x));
			total += x->ko ? 0 : x->points;
		}
	}
	for (i = 0; ok && i < ch.n; i++) {
		if (ocp_rubric_find(r, ch.v[i].code, NULL) == NULL) {
			ok = jpush(scores, score_json(&ch.v[i]));
		}
	}
	if (ok) {
		missing_list(r, &ch, NULL, missing);
	}
	ok = ok && jset(o, "member_id", json_string(m.id));
	ok = ok && jset(o, "member", json_string(m.name));
	ok = ok && jset(o, "evaluation_id", json_string(e.id));
	ok = ok && jset(o, "rubric_id", json_string(e.rubric_id));
	ok = ok && jset(o, "sheet_id", json_string(m.sheet_id));
	ok = ok && jset(o, "owner_site", json_string(m.owner_site));
	ok = ok && jset(o, "submitted", json_boolean(m.submitted));
	ok = ok && jset(o, "total", points_json(total));
	ok = jadd(ok, o, "scores", scores);
	ok = jadd(ok, o, "missing", missing);
	choices_free(&ch);
	if (!ok) {
		json_decref(o);
		return council_fail(c, OCOP_ENOMEM, "out of memory");
	}
	*out = o;
	return OCOP_OK;
}

/* ===== Results ===== */

void
ocp_council_result_free(ocp_council_result *r)
{
	if (r == NULL) {
		return;
	}
	ocp_score_free(r->score);
	com_free(r->member_ids);
	com_free(r);
}

int
ocp_council_result_compute(ocp_council *c, const char *evaluation_id, ocp_council_result **out)
{
	const ocp_rubric *rub = NULL;
	council_member *ms = NULL;
	council_choices *chs = NULL;
	ocp_sheet *sheets = NULL;
	ocp_council_result *res = NULL;
	ocp_score_opts opts;
	council_eval e;
	char err[512] = "";
	com_buf miss;
	size_t nm = 0;
	size_t i;
	int rv;

	*out = NULL;
	c->err[0] = 0;
	com_buf_init(&miss);
	if ((rv = council_eval_load(c, evaluation_id, &e)) != OCOP_OK ||
	    (rv = council_scoring_rubric(c, e.rubric_id, &rub)) != OCOP_OK ||
	    (rv = council_members_load(c, e.id, &ms, &nm)) != OCOP_OK) {
		goto out;
	}
	if (nm == 0) {
		rv = council_fail(c, OCOP_ESTATE, "evaluation %s has no members yet (ocop member add)", e.id);
		goto out;
	}
	chs = com_calloc(nm, sizeof(*chs));
	sheets = com_calloc(nm, sizeof(*sheets));
	res = com_calloc(1, sizeof(*res));
	if (chs == NULL || sheets == NULL || res == NULL ||
	    (res->member_ids = com_calloc(nm, sizeof(*res->member_ids))) == NULL) {
		rv = council_fail(c, OCOP_ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < nm; i++) {
		size_t before = miss.len;

		if (ms[i].sheet_id[0] == 0) {
			com_buf_printf(&miss, "%s%s has no score sheet", miss.len ? "; " : "", ms[i].name);
			continue;
		}
		if ((rv = council_choices_load(c, ms[i].sheet_id, &chs[i])) != OCOP_OK) {
			goto out;
		}
		sheets[i].member = ms[i].name;
		sheets[i].choices = chs[i].v;
		sheets[i].n_choices = chs[i].n;
		if (chs[i].n == 0) {
			com_buf_printf(&miss, "%s%s has entered nothing", miss.len ? "; " : "", ms[i].name);
			continue;
		}
		com_buf_printf(&miss, "%s%s misses ", miss.len ? "; " : "", ms[i].name);
		if (missing_list(rub, &chs[i], &miss, NULL) == 0) {
			miss.len = before; /* complete: take the prefix back */
			if (miss.data != NULL) {
				miss.data[before] = 0;
			}
		}
	}
	if (miss.len > 0) {
		rv = council_fail(c, OCOP_ESTATE, "the sheets of evaluation %s are incomplete: %s", e.id,
		    (const char *)miss.data);
		goto out;
	}
	ocp_score_opts_init(&opts);
	opts.spread_threshold = e.spread_threshold > 0 ? e.spread_threshold : OCP_SPREAD_DEFAULT;
	opts.spread_rule = e.spread_rule;
	opts.disqualified = e.disqualified;
	opts.min_members = e.min_members;
	rv = ocp_score_compute(&res->score, rub, sheets, nm, &opts, err, sizeof(err));
	if (rv == OCOP_EINPUT) {
		/* The rows are stored already: this is the replica's state, not the user's input. */
		rv = council_fail(c, OCOP_ESTATE, "the sheets of evaluation %s cannot be scored: %s", e.id,
		    err);
		goto out;
	}
	if (rv != OCOP_OK) {
		council_fail(c, rv, "%s", err[0] ? err : ocop_strerror(rv));
		goto out;
	}
	for (i = 0; i < nm; i++) {
		memcpy(res->member_ids[i], ms[i].id, sizeof(res->member_ids[i]));
	}
	memcpy(res->evaluation_id, e.id, sizeof(res->evaluation_id));
	memcpy(res->dossier_id, e.dossier_id, sizeof(res->dossier_id));
	memcpy(res->tier, e.tier, sizeof(res->tier));
	memcpy(res->rubric_id, e.rubric_id, sizeof(res->rubric_id));
	res->rubric = rub;
	*out = res;
	res = NULL;
out:
	for (i = 0; chs != NULL && i < nm; i++) {
		choices_free(&chs[i]);
	}
	com_free(chs);
	com_free(sheets);
	com_free(ms);
	com_buf_fini(&miss);
	ocp_council_result_free(res);
	return rv;
}

json_t *
ocp_council_result_json(const ocp_council_result *r)
{
	const ocp_score *s = r->score;
	const ocp_rubric *rub = r->rubric;
	json_t *root = json_object();
	json_t *members = json_array();
	json_t *parts = json_object();
	json_t *parts_display = json_object();
	json_t *misses = json_array();
	json_t *ko = json_object();
	json_t *ko_list = json_array();
	bool ok = root && members && parts && parts_display && misses && ko && ko_list;
	size_t i;
	int k;

	ok = ok && jset(root, "evaluation_id", json_string(r->evaluation_id));
	ok = ok && jset(root, "dossier_id", json_string(r->dossier_id));
	ok = ok && jset(root, "tier", json_string(r->tier));
	ok = ok && jset(root, "rubric", json_string(ocp_rubric_id(rub)));
	ok = ok && jset(root, "basis", json_string(ocp_rubric_basis(rub)));
	ok = ok && jset(root, "title", json_string(ocp_rubric_title(rub)));
	for (i = 0; ok && i < s->count; i++) {
		json_t *m = json_object();

		ok = m != NULL && jset(m, "member", json_string(s->members[i].member)) &&
		    jset(m, "member_id", json_string(r->member_ids[i])) &&
		    jset(m, "total", points_json(s->members[i].total));
		for (k = 0; ok && k < OCP_PART_COUNT; k++) {
			char key[2] = {ocp_rubric_part(rub, (size_t)k)->letter, 0};

			ok = jset(m, key, points_json(s->members[i].part[k]));
		}
		if (!ok) {
			json_decref(m);
		} else {
			ok = jpush(members, m);
		}
	}
	ok = jadd(ok, root, "members", members);
	ok = ok && jset(root, "mean", json_real(s->mean));
	ok = ok && jset(root, "mean_display", points_display_json(s->mean_display));
	for (k = 0; ok && k < OCP_PART_COUNT; k++) {
		char key[2] = {ocp_rubric_part(rub, (size_t)k)->letter, 0};

		ok = jset(parts, key, json_real(s->part_mean[k])) &&
		    jset(parts_display, key, points_display_json(s->part_display[k]));
	}
	ok = jadd(ok, root, "parts", parts);
	ok = jadd(ok, root, "parts_display", parts_display);
	ok = ok && jset(root, "band_star", json_integer(s->band_star));
	ok = ok && jset(root, "minima_star", json_integer(s->minima_star));
	for (k = 0; ok && k < 3; k++) {
		const ocp_score_miss *m = &s->miss[k];
		json_t *o;

		if (m->criterion == OCP_NONE) {
			continue;
		}
		o = json_object();
		ok = o != NULL && jset(o, "level", json_integer(k + 3)) &&
		    jset(o, "criterion", json_string(ocp_rubric_criterion(rub, m->criterion)->code)) &&
		    jset(o, "needed", points_json(m->need)) &&
		    jset(o, "mean", json_real((double)m->sum / (double)s->count / 100.0));
		if (!ok) {
			json_decref(o);
		} else {
			ok = jpush(misses, o);
		}
	}
	ok = jadd(ok, root, "minima_misses", misses);
	ok = ok && jset(root, "star", json_integer(s->star));
	ok = ok && jset(root, "disqualified", json_boolean(s->disqualified));
	for (i = 0; ok && i < s->n_ko; i++) {
		const ocp_criterion *cr = ocp_rubric_criterion(rub, s->ko[i].criterion);
		const ocp_option *o = ocp_criterion_option(cr, 0, true);
		json_t *e = json_object();

		ok = e != NULL && jset(e, "member", json_string(s->members[s->ko[i].member].member)) &&
		    jset(e, "criterion", json_string(cr->code)) &&
		    jset(e, "option", json_string(o ? o->label : ""));
		if (!ok) {
			json_decref(e);
		} else {
			ok = jpush(ko_list, e);
		}
	}
	ok = ok && jset(ko, "applies", json_boolean(s->knockout));
	ok = jadd(ok, ko, "choices", ko_list);
	ok = jadd(ok, root, "knockout", ko);
	ok = ok && jset(root, "spread", points_json(s->spread));
	ok = ok && jset(root, "spread_threshold", points_json(s->spread_threshold));
	ok = ok && jset(root, "spread_rule", json_boolean(s->spread_rule));
	ok = ok && jset(root, "spread_ok", json_boolean(s->spread_ok));
	ok = ok && jset(root, "potential_5star", json_boolean(s->potential_5star));
	ok = ok && jset(root, "min_members", json_integer((json_int_t)s->min_members));
	ok = ok && jset(root, "valid_for_star", json_boolean(s->quorum_ok));
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ===== Decisions ===== */

static bool
kind_valid(const char *kind)
{
	static const char *const kinds[] = {"recognition", "approval", "national_result", "revocation"};
	size_t i;

	for (i = 0; kind != NULL && i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (strcmp(kind, kinds[i]) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * Whether the dossier holds a standing recognition: a recognition, or a 5★
 * national result, with no revocation after it.
 */
static int
council_recognised(ocp_council *c, const char *dossier_id, bool *yes)
{
	sqlite3_stmt *st = NULL;
	int rv;

	if ((rv = council_prepare(c, &st,
		 "SELECT COUNT(*) FROM decision d WHERE d.dossier_id = ?1 AND d.deleted = 0"
		 " AND " OCP_SQL_RECOGNITION("d") " AND NOT EXISTS (SELECT 1 FROM decision r"
		 " WHERE r.dossier_id = d.dossier_id AND r.deleted = 0 AND " OCP_SQL_REVOCATION("r")
		 " AND " OCP_SQL_DECISION_AFTER("r", "d") ")")) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, dossier_id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_ROW) {
		rv = council_sqlerr(c, "reading decisions");
	} else {
		*yes = sqlite3_column_int64(st, 0) > 0;
	}
	sqlite3_finalize(st);
	return rv;
}

/* The star the decision carries, checked against the evaluation's result. */
static int
council_decision_star(ocp_council *c, const ocp_decision_spec *d, const council_eval *e, int *star,
    bool *potential)
{
	ocp_council_result *res = NULL;
	char why[sizeof(c->err)];
	int rv;

	*star = d->star;
	*potential = false;
	if (e == NULL) {
		return OCOP_OK;
	}
	rv = ocp_council_result_compute(c, e->id, &res);
	if (rv != OCOP_OK) {
		snprintf(why, sizeof(why), "%s", c->err);
		return council_fail(c, rv, "no result to decide on yet: %s", why);
	}
	if (!res->score->quorum_ok) {
		rv = council_fail(c, OCOP_ESTATE,
		    "evaluation %s is not valid for a star: its council has %zu member(s), the "
		    "province's minimum is %zu",
		    e->id, res->score->count, res->score->min_members);
	} else if (d->star != 0 && d->star != res->score->star) {
		rv = council_fail(c, OCOP_ESTATE, "evaluation %s gives %d★ (mean %.2f), not %d★", e->id,
		    res->score->star, (double)res->score->mean_display / 100.0, d->star);
	}
	*star = res->score->star;
	*potential = res->score->potential_5star;
	ocp_council_result_free(res);
	return rv;
}

/* A recognition carries 3★ or 4★ (Decision 3; 5★ is the national tier's). */
static int
recognition_star_ok(ocp_council *c, int star)
{
	if (star < 3) {
		return council_fail(c, OCOP_ESTATE,
		    "a %d★ product gets no recognition decision or certificate (QĐ 26/2026 Đ4.1a: only 3★ and above)",
		    star);
	}
	if (star > 4) {
		return council_fail(c, OCOP_ESTATE,
		    "5★ is recognised by the national tier (a national_result decision); the province approves the potential 5★ result (approval)");
	}
	return OCOP_OK;
}

int
ocp_council_decision_add(ocp_council *c, const ocp_decision_spec *spec, char id_out[37])
{
	const char *cols[] = {"dossier_id", "evaluation_id", "kind", "star", "number", "issued_on",
	    "expires_on", "issuer", "note"};
	const char *vals[9];
	char *text[3] = {NULL, NULL, NULL};
	const char *evaluation_id;
	char latest[37];
	council_dossier dos;
	council_eval e;
	char issued[11];
	char expires[11];
	char starbuf[8];
	int64_t issued_days;
	int64_t expires_days = 0;
	bool potential = false;
	bool recognised = false;
	bool has_expiry = false;
	int star = 0;
	int rv;
	size_t i;

	c->err[0] = 0;
	memset(&e, 0, sizeof(e));
	if (!kind_valid(spec->kind)) {
		return council_fail(c, OCOP_EINVAL,
		    "the kind must be recognition, approval, national_result or revocation");
	}
	if (spec->star != 0 && (spec->star < 1 || spec->star > 5)) {
		return council_fail(c, OCOP_EINVAL, "a star must be 1 to 5");
	}
	if (spec->issued_on != NULL) {
		if (ocp_council_date_parse(spec->issued_on, &issued_days) != OCOP_OK) {
			return council_fail(c, OCOP_EINVAL, "issue date '%s' is not a date (YYYY-MM-DD)",
			    spec->issued_on);
		}
	} else {
		issued_days = ocp_council_today(c);
	}
	if (spec->expires_on != NULL) {
		if (ocp_council_date_parse(spec->expires_on, &expires_days) != OCOP_OK) {
			return council_fail(c, OCOP_EINVAL, "expiry date '%s' is not a date (YYYY-MM-DD)",
			    spec->expires_on);
		}
		if (expires_days <= issued_days) {
			return council_fail(c, OCOP_EINVAL, "the expiry date must be after the issue date");
		}
		has_expiry = true;
	}
	if (strcmp(spec->kind, "revocation") == 0 && is_empty(spec->note)) {
		return council_fail(c, OCOP_EINVAL,
		    "a revocation needs its ground in --note (QĐ 26/2026 Đ8: forged dossier, criteria no longer met, ...)");
	}
	if (strcmp(spec->kind, "approval") == 0 && is_empty(spec->evaluation_id)) {
		return council_fail(c, OCOP_EINVAL, "an approval approves an evaluation's result: pass --evaluation");
	}
	if ((rv = council_dossier_load(c, spec->dossier_id, &dos)) != OCOP_OK) {
		return rv;
	}
	evaluation_id = spec->evaluation_id;
	if (is_empty(evaluation_id) && strcmp(spec->kind, "revocation") != 0) {
		/* A result rests on the dossier's latest evaluation unless told otherwise. */
		if ((rv = council_latest_eval(c, dos.id, latest)) != OCOP_OK) {
			return rv;
		}
		evaluation_id = latest[0] ? latest : NULL;
	}
	if (!is_empty(evaluation_id)) {
		if ((rv = council_eval_load(c, evaluation_id, &e)) != OCOP_OK) {
			return rv;
		}
		if (strcmp(e.dossier_id, dos.id) != 0) {
			return council_fail(c, OCOP_EINVAL, "evaluation %s is not an evaluation of dossier %s",
			    e.id, dos.id);
		}
	}
	if ((rv = council_may(c, "decision", NULL, spec->kind)) != OCOP_OK) {
		return rv;
	}
	/* The rules of each kind (OCOP.md 1.3-1.4, Decisions 3-5); a star the kind
	 * can never carry is refused before looking at any result. */
	if (strcmp(spec->kind, "recognition") == 0 && spec->star != 0 &&
	    (rv = recognition_star_ok(c, spec->star)) != OCOP_OK) {
		return rv;
	}
	if (strcmp(spec->kind, "revocation") == 0) {
		if ((rv = council_recognised(c, dos.id, &recognised)) != OCOP_OK) {
			return rv;
		}
		if (!recognised) {
			return council_fail(c, OCOP_ESTATE, "dossier %s holds no recognition to revoke", dos.id);
		}
		star = spec->star;
	} else {
		rv = council_decision_star(c, spec, is_empty(evaluation_id) ? NULL : &e, &star,
		    &potential);
		if (rv != OCOP_OK) {
			return rv;
		}
	}
	if (strcmp(spec->kind, "recognition") == 0) {
		if (star == 0) {
			return council_fail(c, OCOP_EINVAL,
			    "a recognition needs --star, or --evaluation to take the star from its result");
		}
		if ((rv = recognition_star_ok(c, star)) != OCOP_OK) {
			return rv;
		}
	} else if (strcmp(spec->kind, "approval") == 0) {
		if (!potential) {
			return council_fail(c, OCOP_ESTATE,
			    "evaluation %s is not a potential 5★ result (needs ≥ 90 points, the 5★ minima and the spread rule)",
			    e.id);
		}
	} else if (strcmp(spec->kind, "national_result") == 0 && star == 0) {
		return council_fail(c, OCOP_EINVAL,
		    "a national result needs --star, or --evaluation (the national council's)");
	}
	/* Certificates (3★+ recognitions, 5★ national recognitions) last 36 months. */
	if (!has_expiry && (strcmp(spec->kind, "recognition") == 0 ||
			       (strcmp(spec->kind, "national_result") == 0 && star == 5))) {
		expires_days = ocp_council_date_add_months(issued_days, OCP_CERT_MONTHS);
		has_expiry = true;
	}
	ocp_council_date_format(issued_days, issued);
	if (has_expiry) {
		ocp_council_date_format(expires_days, expires);
	}
	snprintf(starbuf, sizeof(starbuf), "%d", star);
	if ((rv = council_nfc(c, "the number", spec->number, &text[0])) != OCOP_OK ||
	    (rv = council_nfc(c, "the issuer", spec->issuer, &text[1])) != OCOP_OK ||
	    (rv = council_nfc(c, "the note", spec->note, &text[2])) != OCOP_OK) {
		goto out;
	}
	vals[0] = dos.id;
	vals[1] = is_empty(evaluation_id) ? NULL : e.id;
	vals[2] = spec->kind;
	vals[3] = star ? starbuf : NULL;
	vals[4] = text[0];
	vals[5] = issued;
	vals[6] = has_expiry ? expires : NULL;
	vals[7] = text[1];
	vals[8] = text[2];
	rv = sto_row_insert(c->db, "decision", cols, vals, 9, id_out);
	if (rv != OCOP_OK) {
		council_fail(c, rv, "%s", sto_errmsg(c->db));
	}
out:
	for (i = 0; i < 3; i++) {
		com_free(text[i]);
	}
	return rv;
}

#define DECISION_SELECT                                                        \
	"SELECT id, dossier_id, evaluation_id, kind, star, number, issued_on,"   \
	" expires_on, issuer, note FROM decision WHERE deleted = 0"

static json_t *
decision_json(sqlite3_stmt *st)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	ok = ok && jset(o, "id", col_json_text(st, 0));
	ok = ok && jset(o, "dossier_id", col_json_text(st, 1));
	ok = ok && jset(o, "evaluation_id", col_json_text(st, 2));
	ok = ok && jset(o, "kind", col_json_text(st, 3));
	ok = ok && jset(o, "star", sqlite3_column_type(st, 4) == SQLITE_NULL
				       ? json_null()
				       : json_integer(sqlite3_column_int64(st, 4)));
	ok = ok && jset(o, "number", col_json_text(st, 5));
	ok = ok && jset(o, "issued_on", col_json_text(st, 6));
	ok = ok && jset(o, "expires_on", col_json_text(st, 7));
	ok = ok && jset(o, "issuer", col_json_text(st, 8));
	ok = ok && jset(o, "note", col_json_text(st, 9));
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}

int
ocp_council_decision_list(ocp_council *c, const char *dossier_id, json_t **out)
{
	council_dossier d;
	int rv;

	c->err[0] = 0;
	*out = NULL;
	if (dossier_id != NULL && (rv = council_dossier_load(c, dossier_id, &d)) != OCOP_OK) {
		return rv;
	}
	return council_list(c,
	    dossier_id ? DECISION_SELECT " AND dossier_id = ?1 ORDER BY issued_on, id"
		       : DECISION_SELECT " ORDER BY issued_on, id",
	    dossier_id, decision_json, out);
}

/* ===== Workflow requirements ===== */

/* The id of the dossier's latest live evaluation (by sitting date, then id), or "". */
static int
council_latest_eval(ocp_council *c, const char *dossier_id, char out[37])
{
	sqlite3_stmt *st = NULL;
	int rc;
	int rv;

	out[0] = 0;
	if ((rv = council_prepare(c, &st,
		 "SELECT id FROM evaluation WHERE dossier_id = ?1 AND deleted = 0"
		 " ORDER BY COALESCE(held_on, '') DESC, id DESC LIMIT 1")) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, dossier_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		col_copy(st, 0, out, 37);
	} else if (rc != SQLITE_DONE) {
		rv = council_sqlerr(c, "reading evaluations");
	}
	sqlite3_finalize(st);
	return rv;
}

/* Count rows of a query bound to (a, b). */
static int
council_count(ocp_council *c, const char *sql, const char *a, const char *b, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int rv;

	*n = 0;
	if ((rv = council_prepare(c, &st, sql)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b ? b : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
	} else {
		rv = council_sqlerr(c, "counting");
	}
	sqlite3_finalize(st);
	return rv;
}

/* Compare a with b by op ("<", "<=", "=", ">=", ">"). */
static bool
cmp_op(const char *op, int64_t a, int64_t b)
{
	if (strcmp(op, ">=") == 0) {
		return a >= b;
	}
	if (strcmp(op, "<=") == 0) {
		return a <= b;
	}
	if (strcmp(op, "=") == 0) {
		return a == b;
	}
	if (strcmp(op, ">") == 0) {
		return a > b;
	}
	return strcmp(op, "<") == 0 && a < b;
}

/* Split "star>=3" into name "star", op ">=" and value 3. */
static bool
flag_split(const char *flag, char *name, size_t cap, char *op, int64_t *value)
{
	size_t n = strcspn(flag, "<>=");
	size_t k = n;
	char *end;

	if (n == 0 || n >= cap || flag[n] == 0) {
		return false;
	}
	memcpy(name, flag, n);
	name[n] = 0;
	while (flag[k] == '<' || flag[k] == '>' || flag[k] == '=') {
		k++;
	}
	if (k - n > 2) {
		return false;
	}
	memcpy(op, flag + n, k - n);
	op[k - n] = 0;
	*value = strtoll(flag + k, &end, 10);
	return end != flag + k && *end == 0;
}

int
ocp_council_require(void *arg, sto_db *db, const char *dossier_id, const char *flag, char *err,
    size_t errlen)
{
	ocp_council *c = arg;
	ocp_council_result *res = NULL;
	char eval[37];
	char name[16] = "";
	char op[3];
	int64_t value = 0;
	int64_t n = 0;
	bool met = false;
	bool scored;
	int rv;

	(void)db; /* the council's own replica: the one the registry was opened on */
	c->err[0] = 0;
	if ((rv = council_latest_eval(c, dossier_id, eval)) != OCOP_OK) {
		goto out;
	}
	/* Flags about the result need the latest evaluation's result. */
	scored = strcmp(flag, "scores_complete") == 0 || strcmp(flag, "spread_ok") == 0 ||
	    strcmp(flag, "minima5") == 0 ||
	    (flag_split(flag, name, sizeof(name), op, &value) &&
		(strcmp(name, "star") == 0 || strcmp(name, "score") == 0));
	if (scored) {
		if (eval[0] == 0) {
			rv = council_fail(c, OCOP_ESTATE, "dossier %s has no evaluation yet", dossier_id);
			goto out;
		}
		if ((rv = ocp_council_result_compute(c, eval, &res)) != OCOP_OK) {
			goto out; /* incomplete sheets: the message names who misses what */
		}
	}
	if (strcmp(flag, "scores_complete") == 0) {
		met = true;
	} else if (strcmp(flag, "spread_ok") == 0) {
		met = res->score->spread_ok;
		if (!met) {
			rv = council_fail(c, OCOP_ESTATE,
			    "members' totals differ by %.2f points (threshold %.2f): the council must discuss and re-score",
			    (double)res->score->spread / 100.0, (double)res->score->spread_threshold / 100.0);
			goto out;
		}
	} else if (strcmp(flag, "minima5") == 0) {
		met = res->score->minima_star >= 5 && res->score->star == 5;
	} else if (scored && strcmp(name, "star") == 0) {
		met = cmp_op(op, res->score->star, value);
	} else if (scored && strcmp(name, "score") == 0) {
		/* Exact: mean (sum / count centipoints) against value points, in integers. */
		int64_t lhs = res->score->sum;
		int64_t rhs = value * 100 * (int64_t)res->score->count;

		met = cmp_op(op, lhs > rhs ? 1 : lhs < rhs ? -1 : 0, 0);
	} else if (strcmp(flag, "approved") == 0) {
		rv = council_count(c,
		    "SELECT COUNT(*) FROM decision WHERE dossier_id = ?1 AND deleted = 0"
		    " AND kind = 'approval' AND evaluation_id = ?2",
		    dossier_id, eval, &n);
		met = n > 0;
	} else if (strcmp(flag, "decision") == 0 || strcmp(flag, "ground") == 0) {
		/* A decision on the latest evaluation, or a revocation (with its ground) of
		 * the dossier's recognition. */
		bool recognised = false;

		if (strcmp(flag, "decision") == 0) {
			rv = council_count(c,
			    "SELECT COUNT(*) FROM decision WHERE dossier_id = ?1 AND deleted = 0"
			    " AND evaluation_id = ?2",
			    dossier_id, eval, &n);
			met = n > 0;
		}
		if (rv == OCOP_OK && !met &&
		    (rv = council_recognised(c, dossier_id, &recognised)) == OCOP_OK && !recognised) {
			rv = council_count(c,
			    "SELECT COUNT(*) FROM decision r WHERE r.dossier_id = ?1 AND r.deleted = 0"
			    " AND " OCP_SQL_REVOCATION("r") " AND r.note IS NOT NULL AND r.note != ''",
			    dossier_id, eval, &n);
			met = n > 0;
		}
	} else if (strcmp(flag, "national_dossier") == 0) {
		rv = council_count(c,
		    "SELECT COUNT(*) FROM document WHERE dossier_id = ?1 AND deleted = 0"
		    " AND kind = 'national_dossier'",
		    dossier_id, NULL, &n);
		met = n > 0;
	} else {
		rv = council_fail(c, OCOP_ESTATE, "the council rules do not know the requirement '%s'",
		    flag);
		goto out;
	}
	if (rv == OCOP_OK && !met) {
		rv = council_fail(c, OCOP_ESTATE, "dossier %s does not meet '%s'", dossier_id, flag);
		if (res != NULL) {
			snprintf(c->err + strlen(c->err), sizeof(c->err) - strlen(c->err),
			    " (evaluation %s: mean %.2f, %d★)", eval,
			    (double)res->score->mean_display / 100.0, res->score->star);
		}
	}
out:
	ocp_council_result_free(res);
	if (rv != OCOP_OK && err != NULL && errlen > 0) {
		snprintf(err, errlen, "%s", c->err);
	}
	return rv;
}
