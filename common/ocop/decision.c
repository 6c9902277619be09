/*
 * decision.c: recognitions, approvals, national results and revocations
 * (council.h), each checked against the evaluation's result and the tier's
 * authority before it is written.
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
int
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
	if (strcmp(spec->kind, "revocation") == 0 && council_empty(spec->note)) {
		return council_fail(c, OCOP_EINVAL,
		    "a revocation needs its ground in --note (QĐ 26/2026 Đ8: forged dossier, criteria no longer met, ...)");
	}
	if (strcmp(spec->kind, "approval") == 0 && council_empty(spec->evaluation_id)) {
		return council_fail(c, OCOP_EINVAL, "an approval approves an evaluation's result: pass --evaluation");
	}
	if ((rv = council_dossier_load(c, spec->dossier_id, &dos)) != OCOP_OK) {
		return rv;
	}
	evaluation_id = spec->evaluation_id;
	if (council_empty(evaluation_id) && strcmp(spec->kind, "revocation") != 0) {
		/* A result rests on the dossier's latest evaluation unless told otherwise. */
		if ((rv = council_latest_eval(c, dos.id, latest)) != OCOP_OK) {
			return rv;
		}
		evaluation_id = latest[0] ? latest : NULL;
	}
	if (!council_empty(evaluation_id)) {
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
		rv = council_decision_star(c, spec, council_empty(evaluation_id) ? NULL : &e, &star,
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
	vals[1] = council_empty(evaluation_id) ? NULL : e.id;
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

	ok = ok && council_jset(o, "id", council_col_json(st, 0));
	ok = ok && council_jset(o, "dossier_id", council_col_json(st, 1));
	ok = ok && council_jset(o, "evaluation_id", council_col_json(st, 2));
	ok = ok && council_jset(o, "kind", council_col_json(st, 3));
	ok = ok && council_jset(o, "star", sqlite3_column_type(st, 4) == SQLITE_NULL
				       ? json_null()
				       : json_integer(sqlite3_column_int64(st, 4)));
	ok = ok && council_jset(o, "number", council_col_json(st, 5));
	ok = ok && council_jset(o, "issued_on", council_col_json(st, 6));
	ok = ok && council_jset(o, "expires_on", council_col_json(st, 7));
	ok = ok && council_jset(o, "issuer", council_col_json(st, 8));
	ok = ok && council_jset(o, "note", council_col_json(st, 9));
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

