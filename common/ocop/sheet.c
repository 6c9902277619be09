/*
 * sheet.c: council members and their score sheets (council.h): a member and its
 * sheet are added together; scores are set one by one or imported from the
 * secretariat's CSV (checked whole before anything is written); a sheet is
 * submitted once.
 */
#include "common/ocop/council.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ocop/council_impl.h"
#include "common/ocop/authority.h"
#include "common/ocop/basis.h"
#include "common/ocop/sheetcsv.h"
#include "common/ocop/workflow.h"
#include "common/store/fold.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "common/util/uuid.h"
#include "ocop_err.h"

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
	if (council_empty(name)) {
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
		ok = ok && council_jset(o, "id", json_string(ms[i].id));
		ok = ok && council_jset(o, "name", json_string(ms[i].name));
		ok = ok && council_jset(o, "role", council_col_json(st, 0));
		ok = ok && council_jset(o, "site_id", council_col_json(st, 1));
		ok = ok && council_jset(o, "sheet_id", ms[i].sheet_id[0] ? json_string(ms[i].sheet_id) : json_null());
		ok = ok && council_jset(o, "submitted", json_boolean(ms[i].submitted));
		ok = ok && council_jset(o, "scored", json_integer((json_int_t)ch.n));
		if (ok) {
			council_missing_list(r, &ch, NULL, missing);
			ok = council_jset(o, "missing", missing);
			missing = NULL;
		}
		council_choices_free(&ch);
		json_decref(missing);
		if (!ok || !council_jpush(arr, o)) {
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
	if (council_empty(criterion)) {
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
	if (council_missing_list(r, &ch, &miss, NULL) > 0) {
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
	council_choices_free(&ch);
	return rv;
}

static json_t *
score_json(const ocp_choice *ch)
{
	json_t *o = json_object();
	bool ok = o != NULL;

	ok = ok && council_jset(o, "criterion", json_string(ch->code));
	ok = ok && council_jset(o, "points", ch->ko ? json_null() : council_points_json(ch->points));
	ok = ok && council_jset(o, "ko", json_boolean(ch->ko));
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
		const ocp_choice *x = council_choices_find(&ch, ocp_rubric_criterion(r, i)->code);

		if (x != NULL) {
			ok = council_jpush(scores, score_json(x));
			total += x->ko ? 0 : x->points;
		}
	}
	for (i = 0; ok && i < ch.n; i++) {
		if (ocp_rubric_find(r, ch.v[i].code, NULL) == NULL) {
			ok = council_jpush(scores, score_json(&ch.v[i]));
		}
	}
	if (ok) {
		council_missing_list(r, &ch, NULL, missing);
	}
	ok = ok && council_jset(o, "member_id", json_string(m.id));
	ok = ok && council_jset(o, "member", json_string(m.name));
	ok = ok && council_jset(o, "evaluation_id", json_string(e.id));
	ok = ok && council_jset(o, "rubric_id", json_string(e.rubric_id));
	ok = ok && council_jset(o, "sheet_id", json_string(m.sheet_id));
	ok = ok && council_jset(o, "owner_site", json_string(m.owner_site));
	ok = ok && council_jset(o, "submitted", json_boolean(m.submitted));
	ok = ok && council_jset(o, "total", council_points_json(total));
	ok = council_jadd(ok, o, "scores", scores);
	ok = council_jadd(ok, o, "missing", missing);
	council_choices_free(&ch);
	if (!ok) {
		json_decref(o);
		return council_fail(c, OCOP_ENOMEM, "out of memory");
	}
	*out = o;
	return OCOP_OK;
}

