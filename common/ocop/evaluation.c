/*
 * evaluation.c: evaluations of a dossier (council.h): one council sitting at one tier,
 * with the legal basis and rubric it keeps, the province's council minimum and
 * the spread rule; disqualification.
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
	rubric_id = !council_empty(spec->rubric_id) ? spec->rubric_id : d.rubric_id;
	if (council_empty(rubric_id)) {
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
	if (council_empty(reason)) {
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

	ok = ok && council_jset(o, "id", council_col_json(st, 0));
	ok = ok && council_jset(o, "dossier_id", council_col_json(st, 1));
	ok = ok && council_jset(o, "tier", council_col_json(st, 2));
	ok = ok && council_jset(o, "rubric_id", council_col_json(st, 3));
	ok = ok && council_jset(o, "legal_basis", council_col_json(st, 4));
	ok = ok && council_jset(o, "held_on", council_col_json(st, 5));
	ok = ok && council_jset(o, "spread_threshold",
	    council_points_json(sqlite3_column_type(st, 6) == SQLITE_NULL ? OCP_SPREAD_DEFAULT
								 : sqlite3_column_int64(st, 6)));
	ok = ok && council_jset(o, "spread_rule",
	    json_boolean(sqlite3_column_type(st, 7) == SQLITE_NULL || sqlite3_column_int(st, 7) != 0));
	ok = ok && council_jset(o, "disqualified", json_boolean(sqlite3_column_int(st, 8) != 0));
	ok = ok && council_jset(o, "disqualify_reason", council_col_json(st, 9));
	ok = ok && council_jset(o, "version", json_integer(sqlite3_column_int64(st, 10)));
	ok = ok && council_jset(o, "members", json_integer(sqlite3_column_int64(st, 11)));
	ok = ok && council_jset(o, "min_members", json_integer(sqlite3_column_int64(st, 12)));
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
	if (council_empty(id)) {
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

