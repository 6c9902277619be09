/*
 * score.c: the one scoring function (OCOP.md Decision 3) and the checks of its
 * input. Pure arithmetic over centipoints: exact sums, integer comparisons for
 * bands and minima, doubles only for display. It reads no file and no clock.
 */
#include "common/ocop/score.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util/alloc.h"
#include "ocop_err.h"

/* More sheets than this for one product is not a council; refuse rather than overflow. */
#define SCORE_MAX_MEMBERS 10000

/* Band edges in centipoints, highest first; below the last edge is 1 star. */
static const struct {
	int64_t edge; /* lowest exact mean of the band, centipoints */
	int star;     /* the band's star */
} score_bands[] = {{9000, 5}, {7000, 4}, {5000, 3}, {3000, 2}};

static void
score_msg(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
score_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* Points in their shortest form for messages: 300 -> "3", 250 -> "2.5". */
static const char *
score_pts(char *buf, size_t cap, int64_t centi)
{
	size_t n;

	ocp_points_format(buf, cap, centi);
	n = strlen(buf);
	while (n > 0 && buf[n - 1] == '0') {
		buf[--n] = '\0';
	}
	if (n > 0 && buf[n - 1] == '.') {
		buf[--n] = '\0';
	}
	return buf;
}

void
ocp_score_opts_init(ocp_score_opts *opts)
{
	opts->spread_threshold = OCP_SPREAD_DEFAULT;
	opts->spread_rule = true;
	opts->disqualified = false;
	opts->min_members = 0;
}

int
ocp_score_band(int64_t sum, size_t count)
{
	size_t i;

	for (i = 0; i < sizeof(score_bands) / sizeof(score_bands[0]); i++) {
		/* sum / count >= edge, exactly: no division, no rounding. */
		if (sum >= score_bands[i].edge * (int64_t)count) {
			return score_bands[i].star;
		}
	}
	return 1;
}

int
ocp_score_check_choice(const ocp_rubric *r, const char *member, const ocp_choice *ch,
    size_t *index, char *err, size_t errlen)
{
	const ocp_criterion *c;
	char list[256];
	char pb[32];
	size_t used = 0;
	size_t i;

	if (ch->code == NULL || ch->code[0] == '\0') {
		score_msg(err, errlen, "member '%s': a choice has no criterion code", member);
		return OCOP_EINPUT;
	}
	c = ocp_rubric_find(r, ch->code, index);
	if (c == NULL) {
		score_msg(err, errlen, "member '%s', criterion '%s': no such criterion in rubric %s",
		    member, ch->code, ocp_rubric_id(r));
		return OCOP_EINPUT;
	}
	if (ocp_criterion_option(c, ch->points, ch->ko) != NULL) {
		return OCOP_OK;
	}
	if (ch->ko) {
		score_msg(err, errlen,
		    "member '%s', criterion '%s': KO is not possible here (the criterion has no "
		    "knock-out option)",
		    member, ch->code);
		return OCOP_EINPUT;
	}
	list[0] = '\0';
	for (i = 0; i < c->n_options; i++) {
		int w;
		if (c->options[i].ko) {
			continue;
		}
		w = snprintf(list + used, sizeof(list) - used, "%s%s", used ? ", " : "",
		    score_pts(pb, sizeof(pb), c->options[i].points));
		if (w < 0 || (size_t)w >= sizeof(list) - used) {
			break;
		}
		used += (size_t)w;
	}
	score_msg(err, errlen, "member '%s', criterion '%s': %s points is not one of its options (%s)",
	    member, ch->code, score_pts(pb, sizeof(pb), ch->points), list);
	return OCOP_EINPUT;
}

/* The choice for criterion code on a sheet, or OCP_NONE. */
static size_t
sheet_find(const ocp_sheet *s, const char *code)
{
	size_t j;

	for (j = 0; j < s->n_choices; j++) {
		if (s->choices[j].code != NULL && strcmp(s->choices[j].code, code) == 0) {
			return j;
		}
	}
	return OCP_NONE;
}

static void
set_fault(ocp_score_fault *where, size_t sheet, size_t choice)
{
	if (where != NULL) {
		where->sheet = sheet;
		where->choice = choice;
	}
}

/* Check one sheet; i is its index (for the fault). */
static int
check_sheet(const ocp_rubric *r, const ocp_sheet *s, size_t i, ocp_score_fault *where, char *err,
    size_t errlen)
{
	size_t nc = ocp_rubric_criterion_count(r);
	char a[32];
	char b[32];
	size_t j;
	size_t k;
	int rv;

	for (j = 0; j < s->n_choices; j++) {
		rv = ocp_score_check_choice(r, s->member, &s->choices[j], NULL, err, errlen);
		if (rv != OCOP_OK) {
			set_fault(where, i, j);
			return rv;
		}
		for (k = 0; k < j; k++) {
			if (strcmp(s->choices[k].code, s->choices[j].code) == 0) {
				score_msg(err, errlen, "member '%s', criterion '%s': given twice",
				    s->member, s->choices[j].code);
				set_fault(where, i, j);
				return OCOP_EINPUT;
			}
		}
	}
	for (k = 0; k < nc; k++) {
		const ocp_criterion *c = ocp_rubric_criterion(r, k);
		if (c->cond == OCP_NONE && sheet_find(s, c->code) == OCP_NONE) {
			score_msg(err, errlen, "member '%s', criterion '%s': missing (every criterion "
			    "needs one choice)", s->member, c->code);
			set_fault(where, i, OCP_NONE);
			return OCOP_EINPUT;
		}
	}
	for (k = 0; k < nc; k++) {
		const ocp_criterion *c = ocp_rubric_criterion(r, k);
		const ocp_criterion *d;
		const ocp_choice *dc;
		int64_t dp;
		if (c->cond == OCP_NONE || (j = sheet_find(s, c->code)) == OCP_NONE) {
			continue;
		}
		if (!s->choices[j].ko && s->choices[j].points == 0) {
			continue;
		}
		d = ocp_rubric_criterion(r, c->cond);
		dc = &s->choices[sheet_find(s, d->code)]; /* present: d is not conditional */
		dp = dc->ko ? 0 : dc->points;
		if (dp <= c->cond_above) {
			score_msg(err, errlen,
			    "member '%s', criterion '%s': applies only when %s is above %s, and this "
			    "member gave %s %s (leave %s out or give 0)",
			    s->member, c->code, d->code, score_pts(a, sizeof(a), c->cond_above),
			    d->code, dc->ko ? "KO" : score_pts(b, sizeof(b), dp), c->code);
			set_fault(where, i, j);
			return OCOP_EINPUT;
		}
	}
	return OCOP_OK;
}

int
ocp_score_check(const ocp_rubric *r, const ocp_sheet *sheets, size_t n, ocp_score_fault *where,
    char *err, size_t errlen)
{
	size_t i;
	size_t k;
	int rv;

	set_fault(where, OCP_NONE, OCP_NONE);
	if (ocp_rubric_depth(r) != OCP_DEPTH_CRITERIA) {
		score_msg(err, errlen,
		    "rubric %s stops at %s level (no criteria with options) and cannot be used for "
		    "scoring",
		    ocp_rubric_id(r), ocp_rubric_depth(r) == OCP_DEPTH_PARTS ? "part" : "group");
		return OCOP_ERUBRIC;
	}
	if (n == 0) {
		score_msg(err, errlen, "no member sheets to score");
		return OCOP_EINPUT;
	}
	if (n > SCORE_MAX_MEMBERS) {
		score_msg(err, errlen, "%zu sheets: more than %d members", n, SCORE_MAX_MEMBERS);
		return OCOP_EINPUT;
	}
	for (i = 0; i < n; i++) {
		if (sheets[i].member == NULL || sheets[i].member[0] == '\0') {
			score_msg(err, errlen, "sheet %zu has no member label", i + 1);
			set_fault(where, i, OCP_NONE);
			return OCOP_EINPUT;
		}
		for (k = 0; k < i; k++) {
			if (strcmp(sheets[k].member, sheets[i].member) == 0) {
				score_msg(err, errlen, "member '%s' has two sheets", sheets[i].member);
				set_fault(where, i, OCP_NONE);
				return OCOP_EINPUT;
			}
		}
		if (sheets[i].n_choices > 0 && sheets[i].choices == NULL) {
			score_msg(err, errlen, "member '%s': choices missing", sheets[i].member);
			set_fault(where, i, OCP_NONE);
			return OCOP_EINPUT;
		}
		rv = check_sheet(r, &sheets[i], i, where, err, errlen);
		if (rv != OCOP_OK) {
			return rv;
		}
	}
	return OCOP_OK;
}

void
ocp_score_free(ocp_score *s)
{
	size_t i;

	if (s == NULL) {
		return;
	}
	com_free(s->ko);
	com_free(s->criterion_sum);
	if (s->members != NULL) {
		for (i = 0; i < s->count; i++) {
			com_free(s->members[i].member);
		}
	}
	com_free(s->members);
	com_free(s);
}

/* Fill the minima fields from the per-criterion sums. */
static void
score_minima(ocp_score *s, const ocp_rubric *r)
{
	int level;
	size_t k;

	s->minima_star = 2;
	for (level = 3; level <= 5; level++) {
		ocp_score_miss *m = &s->miss[level - 3];
		m->criterion = OCP_NONE;
		m->need = 0;
		m->sum = 0;
		for (k = 0; k < s->n_criteria; k++) {
			int64_t need = ocp_criterion_need(ocp_rubric_criterion(r, k), level);
			/* mean >= need, exactly: sum >= need * count. */
			if (need > 0 && s->criterion_sum[k] < need * (int64_t)s->count) {
				m->criterion = k;
				m->need = need;
				m->sum = s->criterion_sum[k];
				break;
			}
		}
		/* Levels build on each other: a level counts only when every lower one is met. */
		if (m->criterion == OCP_NONE && s->minima_star == level - 1) {
			s->minima_star = level;
		}
	}
}

int
ocp_score_compute(ocp_score **out, const ocp_rubric *r, const ocp_sheet *sheets, size_t n,
    const ocp_score_opts *opts, char *err, size_t errlen)
{
	ocp_score_opts defaults;
	ocp_score *s;
	int64_t lo = 0;
	int64_t hi = 0;
	size_t nc;
	size_t i;
	size_t k;
	int rv;

	*out = NULL;
	if (opts == NULL) {
		ocp_score_opts_init(&defaults);
		opts = &defaults;
	}
	if (opts->spread_threshold <= 0) {
		score_msg(err, errlen, "the spread threshold must be above 0");
		return OCOP_EINVAL;
	}
	rv = ocp_score_check(r, sheets, n, NULL, err, errlen);
	if (rv != OCOP_OK) {
		return rv;
	}
	nc = ocp_rubric_criterion_count(r);
	s = com_calloc(1, sizeof(*s));
	if (s == NULL) {
		goto nomem;
	}
	s->members = com_calloc(n, sizeof(*s->members));
	s->criterion_sum = com_calloc(nc, sizeof(*s->criterion_sum));
	if (s->members == NULL || s->criterion_sum == NULL) {
		goto nomem;
	}
	s->count = n;
	s->n_criteria = nc;
	for (i = 0; i < n; i++) {
		ocp_score_member *m = &s->members[i];
		m->member = com_strdup(sheets[i].member);
		if (m->member == NULL) {
			goto nomem;
		}
		/* Rubric order, not sheet order: the same rows give the same result anywhere. */
		for (k = 0; k < nc; k++) {
			const ocp_criterion *c = ocp_rubric_criterion(r, k);
			size_t j = sheet_find(&sheets[i], c->code);
			int64_t pts;
			if (j == OCP_NONE) {
				continue; /* a conditional criterion left out counts 0 */
			}
			if (sheets[i].choices[j].ko) {
				ocp_score_ko *nk = com_realloc(s->ko, (s->n_ko + 1) * sizeof(*nk));
				if (nk == NULL) {
					goto nomem;
				}
				s->ko = nk;
				s->ko[s->n_ko].member = i;
				s->ko[s->n_ko].criterion = k;
				s->n_ko++;
				pts = 0;
			} else {
				pts = sheets[i].choices[j].points;
			}
			m->total += pts;
			m->part[c->part] += pts;
			s->criterion_sum[k] += pts;
		}
		s->sum += m->total;
		for (k = 0; k < OCP_PART_COUNT; k++) {
			s->part_sum[k] += m->part[k];
		}
		if (i == 0 || m->total < lo) {
			lo = m->total;
		}
		if (i == 0 || m->total > hi) {
			hi = m->total;
		}
	}
	s->mean = (double)s->sum / (double)n / 100.0;
	s->mean_display = s->sum / (int64_t)n; /* sums are >= 0: division truncates toward zero */
	for (k = 0; k < OCP_PART_COUNT; k++) {
		s->part_mean[k] = (double)s->part_sum[k] / (double)n / 100.0;
		s->part_display[k] = s->part_sum[k] / (int64_t)n;
	}
	s->band_star = ocp_score_band(s->sum, n);
	score_minima(s, r);
	s->star = s->band_star < s->minima_star ? s->band_star : s->minima_star;
	s->knockout = s->n_ko > 0;
	s->disqualified = opts->disqualified;
	s->min_members = opts->min_members;
	/* A council smaller than the province's minimum cannot give a star: the
	 * points are shown, the result is not valid for a recognition. */
	s->quorum_ok = n >= opts->min_members;
	if (s->knockout || s->disqualified || !s->quorum_ok) {
		s->star = 0;
	}
	s->spread = hi - lo;
	s->spread_threshold = opts->spread_threshold;
	s->spread_rule = opts->spread_rule;
	s->spread_ok = !opts->spread_rule || s->spread < opts->spread_threshold;
	s->potential_5star = s->star == 5 && s->spread_ok;
	*out = s;
	return OCOP_OK;

nomem:
	ocp_score_free(s);
	score_msg(err, errlen, "out of memory");
	return OCOP_ENOMEM;
}
