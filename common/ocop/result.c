/*
 * result.c: an evaluation's result (council.h), derived, never stored: members'
 * totals, the council mean, per-part means, band, minima, star and the 5-star
 * candidate flag, from the sheets and the rubric through score.h.
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
		if (council_missing_list(rub, &chs[i], &miss, NULL) == 0) {
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
		council_choices_free(&chs[i]);
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

	ok = ok && council_jset(root, "evaluation_id", json_string(r->evaluation_id));
	ok = ok && council_jset(root, "dossier_id", json_string(r->dossier_id));
	ok = ok && council_jset(root, "tier", json_string(r->tier));
	ok = ok && council_jset(root, "rubric", json_string(ocp_rubric_id(rub)));
	ok = ok && council_jset(root, "basis", json_string(ocp_rubric_basis(rub)));
	ok = ok && council_jset(root, "title", json_string(ocp_rubric_title(rub)));
	for (i = 0; ok && i < s->count; i++) {
		json_t *m = json_object();

		ok = m != NULL && council_jset(m, "member", json_string(s->members[i].member)) &&
		    council_jset(m, "member_id", json_string(r->member_ids[i])) &&
		    council_jset(m, "total", council_points_json(s->members[i].total));
		for (k = 0; ok && k < OCP_PART_COUNT; k++) {
			char key[2] = {ocp_rubric_part(rub, (size_t)k)->letter, 0};

			ok = council_jset(m, key, council_points_json(s->members[i].part[k]));
		}
		if (!ok) {
			json_decref(m);
		} else {
			ok = council_jpush(members, m);
		}
	}
	ok = council_jadd(ok, root, "members", members);
	ok = ok && council_jset(root, "mean", json_real(s->mean));
	ok = ok && council_jset(root, "mean_display", council_points_display_json(s->mean_display));
	for (k = 0; ok && k < OCP_PART_COUNT; k++) {
		char key[2] = {ocp_rubric_part(rub, (size_t)k)->letter, 0};

		ok = council_jset(parts, key, json_real(s->part_mean[k])) &&
		    council_jset(parts_display, key, council_points_display_json(s->part_display[k]));
	}
	ok = council_jadd(ok, root, "parts", parts);
	ok = council_jadd(ok, root, "parts_display", parts_display);
	ok = ok && council_jset(root, "band_star", json_integer(s->band_star));
	ok = ok && council_jset(root, "minima_star", json_integer(s->minima_star));
	for (k = 0; ok && k < 3; k++) {
		const ocp_score_miss *m = &s->miss[k];
		json_t *o;

		if (m->criterion == OCP_NONE) {
			continue;
		}
		o = json_object();
		ok = o != NULL && council_jset(o, "level", json_integer(k + 3)) &&
		    council_jset(o, "criterion", json_string(ocp_rubric_criterion(rub, m->criterion)->code)) &&
		    council_jset(o, "needed", council_points_json(m->need)) &&
		    council_jset(o, "mean", json_real((double)m->sum / (double)s->count / 100.0));
		if (!ok) {
			json_decref(o);
		} else {
			ok = council_jpush(misses, o);
		}
	}
	ok = council_jadd(ok, root, "minima_misses", misses);
	ok = ok && council_jset(root, "star", json_integer(s->star));
	ok = ok && council_jset(root, "disqualified", json_boolean(s->disqualified));
	for (i = 0; ok && i < s->n_ko; i++) {
		const ocp_criterion *cr = ocp_rubric_criterion(rub, s->ko[i].criterion);
		const ocp_option *o = ocp_criterion_option(cr, 0, true);
		json_t *e = json_object();

		ok = e != NULL && council_jset(e, "member", json_string(s->members[s->ko[i].member].member)) &&
		    council_jset(e, "criterion", json_string(cr->code)) &&
		    council_jset(e, "option", json_string(o ? o->label : ""));
		if (!ok) {
			json_decref(e);
		} else {
			ok = council_jpush(ko_list, e);
		}
	}
	ok = ok && council_jset(ko, "applies", json_boolean(s->knockout));
	ok = council_jadd(ok, ko, "choices", ko_list);
	ok = council_jadd(ok, root, "knockout", ko);
	ok = ok && council_jset(root, "spread", council_points_json(s->spread));
	ok = ok && council_jset(root, "spread_threshold", council_points_json(s->spread_threshold));
	ok = ok && council_jset(root, "spread_rule", json_boolean(s->spread_rule));
	ok = ok && council_jset(root, "spread_ok", json_boolean(s->spread_ok));
	ok = ok && council_jset(root, "potential_5star", json_boolean(s->potential_5star));
	ok = ok && council_jset(root, "min_members", json_integer((json_int_t)s->min_members));
	ok = ok && council_jset(root, "valid_for_star", json_boolean(s->quorum_ok));
	if (!ok) {
		json_decref(root);
		return NULL;
	}
	return root;
}

