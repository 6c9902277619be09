/*
 * Unit tests for common/ocop/score.c on worked examples computed by hand from
 * QĐ 26/2026 set 1 (OCOP.md 3.5). Points are centipoints in code (300 = 3
 * points); the arithmetic in the comments is in points.
 *
 * Set 1 star marks (the minima): level 3 needs 2.2 >= 2, 2.3 >= 1, 3.5 >= 1,
 * 4.1 >= 2, 5.3 >= 1, 9 >= 2, 10 >= 1; level 4 adds 1.5 >= 2, 1.6 >= 1,
 * 2.1 >= 3, 2.3 >= 3, 3.4 >= 2, 3.5 >= 2, 4.1 >= 3, 5.1 >= 5, 6.1 >= 2,
 * 6.2 >= 3, 8 >= 3, 10 >= 3; level 5 adds 1.3 >= 3, 1.5 >= 3, 4.1 >= 5.
 * Criteria without a mark (1.2, 1.4, 4.2, 4.3, 6.3, 7, ...) never cap the star.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/rubric.h"
#include "common/ocop/score.h"
#include "common/util/alloc.h"

/* Doubles compared to well below the 2 decimals that matter (cmocka compares floats). */
#define assert_near(a, b) assert_true((a) - (b) < 1e-9 && (b) - (a) < 1e-9)

#define MAX_CHOICES 40
#define MAX_SHEETS 210

/* A sheet under construction: starts at every criterion's maximum (100 points). */
typedef struct tsheet {
	ocp_choice ch[MAX_CHOICES]; /* codes borrowed from the rubric */
	size_t n;                   /* choices in use */
} tsheet;

typedef struct fixture {
	ocp_rubric *r;                /* set 1 */
	tsheet t[MAX_SHEETS];         /* sheets being built */
	ocp_sheet sheets[MAX_SHEETS]; /* views handed to the scorer */
	char labels[MAX_SHEETS][16];  /* "Member N" */
	size_t n;                     /* sheets in use */
	ocp_score_opts opts;          /* defaults unless a test changes them */
} fixture;

static int
setup(void **state)
{
	fixture *f = com_calloc(1, sizeof(*f));
	char path[1024];
	char err[512] = "";

	tu_src(path, sizeof(path), "data/rubrics/qd26-2026/01.rubric");
	if (f == NULL || ocp_rubric_load_file(&f->r, path, err, sizeof(err)) != OCOP_OK) {
		print_error("cannot load set 1: %s\n", err);
		com_free(f);
		return -1;
	}
	ocp_score_opts_init(&f->opts);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fixture *f = *state;

	ocp_rubric_free(f->r);
	com_free(f);
	return 0;
}

/* Add a member whose sheet gives every criterion its maximum; returns its index. */
static size_t
add_max(fixture *f)
{
	size_t i = f->n++;
	size_t k;
	tsheet *t = &f->t[i];

	assert_true(f->n <= MAX_SHEETS);
	t->n = 0;
	for (k = 0; k < ocp_rubric_criterion_count(f->r); k++) {
		const ocp_criterion *c = ocp_rubric_criterion(f->r, k);
		t->ch[t->n].code = c->code;
		t->ch[t->n].points = c->max;
		t->ch[t->n].ko = false;
		t->n++;
	}
	snprintf(f->labels[i], sizeof(f->labels[i]), "Member %zu", i + 1);
	return i;
}

static ocp_choice *
find(fixture *f, size_t i, const char *code)
{
	size_t k;

	for (k = 0; k < f->t[i].n; k++) {
		if (strcmp(f->t[i].ch[k].code, code) == 0) {
			return &f->t[i].ch[k];
		}
	}
	fail_msg("no choice %s", code);
	return NULL;
}

/* Member i chooses `points` (whole points) on `code`. */
static void
set(fixture *f, size_t i, const char *code, int points)
{
	find(f, i, code)->points = (int64_t)points * 100;
}

static void
set_ko(fixture *f, size_t i, const char *code)
{
	ocp_choice *c = find(f, i, code);

	c->ko = true;
	c->points = 0;
}

static void
drop(fixture *f, size_t i, const char *code)
{
	ocp_choice *c = find(f, i, code);
	tsheet *t = &f->t[i];

	*c = t->ch[--t->n];
}

static const ocp_sheet *
views(fixture *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		f->sheets[i].member = f->labels[i];
		f->sheets[i].choices = f->t[i].ch;
		f->sheets[i].n_choices = f->t[i].n;
	}
	return f->sheets;
}

static ocp_score *
score(fixture *f)
{
	char err[512] = "";
	ocp_score *s = NULL;
	int rv = ocp_score_compute(&s, f->r, views(f), f->n, &f->opts, err, sizeof(err));

	if (rv != OCOP_OK) {
		print_error("score: %s\n", err);
	}
	assert_ok(rv);
	return s;
}

static size_t
index_of(fixture *f, const char *code)
{
	size_t i = OCP_NONE;

	assert_non_null(ocp_rubric_find(f->r, code, &i));
	return i;
}

/* Set 1 at 90 points, every star mark met: drop 10 points on unmarked criteria. */
static size_t
add_90(fixture *f)
{
	size_t i = add_max(f);

	set(f, i, "1.2", 0); /* 2 -> 0: -2 */
	set(f, i, "1.4", 1); /* 3 -> 1: -2 */
	set(f, i, "4.2", 0); /* 3 -> 0: -3 */
	set(f, i, "4.3", 2); /* 5 -> 2: -3; 100 - 10 = 90 */
	return i;
}

/* Set 1 at 70 points with every star mark met (2.2 and 5.3 stay on their 3-star options). */
static size_t
add_70(fixture *f)
{
	size_t i = add_max(f);

	set(f, i, "1.2", 0); /* -2 */
	set(f, i, "1.4", 1); /* -2 */
	set(f, i, "1.7", 0); /* -1 */
	set(f, i, "2.2", 2); /* -1, still *** */
	set(f, i, "2.4", 0); /* -1 */
	set(f, i, "3.1", 1); /* -2 */
	set(f, i, "3.2", 0); /* -1 */
	set(f, i, "3.3", 1); /* -2 */
	set(f, i, "4.2", 0); /* -3 */
	set(f, i, "4.3", 0); /* -5 */
	set(f, i, "5.2", 0); /* -2 */
	set(f, i, "5.3", 1); /* -4, still *** */
	set(f, i, "6.3", 0); /* -3 */
	set(f, i, "6.4", 2); /* -1; total -30: 70 */
	return i;
}

/* ===== Worked examples ===== */

static void
test_three_strong_sheets_make_a_potential_five_star_product(void **state)
{
	fixture *f = *state;
	ocp_score *s;
	size_t m2;
	size_t m3;

	/*
	 * Member 1: every maximum = 100 (A 40, B 25, C 35).
	 * Member 2: 1.2 2->1 (A -1), 4.3 5->3 (B -2), 6.3 3->2 (C -1), 7 3->1 (C -2)
	 *           = 94 (A 39, B 23, C 32).
	 * Member 3: 1.4 3->2 (A -1), 3.3 3->2 (A -1), 5.3 5->3 (B -2), 12 3->2 (C -1)
	 *           = 95 (A 38, B 23, C 34).
	 * Sum 289, mean 96.333..., shown 96.33: band 5 (289 >= 3 x 90 = 270).
	 * Minima: only 5.3 of the changed criteria is marked (*** at 1); its mean is
	 * (5 + 5 + 3) / 3 = 4.33 >= 1, and 1.3, 1.5, 4.1 stay at their 5-star options:
	 * level 5 met. Star min(5, 5) = 5. Spread 100 - 94 = 6 < 10: potential 5 stars.
	 */
	add_max(f);
	m2 = add_max(f);
	set(f, m2, "1.2", 1);
	set(f, m2, "4.3", 3);
	set(f, m2, "6.3", 2);
	set(f, m2, "7", 1);
	m3 = add_max(f);
	set(f, m3, "1.4", 2);
	set(f, m3, "3.3", 2);
	set(f, m3, "5.3", 3);
	set(f, m3, "12", 2);
	s = score(f);
	assert_int_equal(s->count, 3);
	assert_int_equal(s->members[0].total, 10000);
	assert_int_equal(s->members[1].total, 9400);
	assert_int_equal(s->members[1].part[0], 3900);
	assert_int_equal(s->members[1].part[1], 2300);
	assert_int_equal(s->members[1].part[2], 3200);
	assert_int_equal(s->members[2].total, 9500);
	assert_string_equal(s->members[2].member, "Member 3");
	assert_int_equal(s->sum, 28900);
	assert_int_equal(s->mean_display, 9633);
	assert_near(s->mean, 289.0 / 3.0);
	assert_int_equal(s->band_star, 5);
	assert_int_equal(s->minima_star, 5);
	assert_int_equal(s->star, 5);
	assert_int_equal(s->spread, 600);
	assert_true(s->spread_ok);
	assert_false(s->knockout);
	assert_true(s->potential_5star);
	ocp_score_free(s);
}

static void
test_a_five_star_band_is_capped_at_two_when_a_three_star_mark_is_missed(void **state)
{
	fixture *f = *state;
	ocp_score *s;
	size_t i;

	/*
	 * All three members put 4.1 on "within the commune" (1 point; the 3-star mark
	 * is the 2-point option).
	 * Member 1: 4.1 5->1 = 96.  Member 2: also 1.2 2->0 = 94.  Member 3: also 7 3->0 = 93.
	 * Sum 283, mean 94.33: band 5. 4.1 mean = 3 / 3 = 1 < 2, so level 3 is not met:
	 * minima 2, star min(5, 2) = 2, not a 5-star candidate.
	 */
	for (i = 0; i < 3; i++) {
		add_max(f);
		set(f, i, "4.1", 1);
	}
	set(f, 1, "1.2", 0);
	set(f, 2, "7", 0);
	s = score(f);
	assert_int_equal(s->sum, 28300);
	assert_int_equal(s->band_star, 5);
	assert_int_equal(s->minima_star, 2);
	assert_int_equal(s->star, 2);
	assert_int_equal(s->miss[0].criterion, index_of(f, "4.1"));
	assert_int_equal(s->miss[0].need, 200);
	assert_int_equal(s->miss[0].sum, 300);
	assert_false(s->potential_5star);
	ocp_score_free(s);
}

static void
test_minima_compare_the_council_mean_not_single_members(void **state)
{
	fixture *f = *state;
	ocp_score *s;

	/*
	 * 4.1 chosen 2, 2 and 5: totals 97, 97, 100, sum 294, mean 98, band 5.
	 * 4.1 mean = 9 / 3 = 3: meets 3 stars (2) and, exactly, 4 stars (3 x 3 = 9 >= 9),
	 * but not 5 stars (9 < 3 x 5 = 15) although one member chose the 5-star option.
	 * Minima 4, star 4.
	 */
	add_max(f);
	add_max(f);
	add_max(f);
	set(f, 0, "4.1", 2);
	set(f, 1, "4.1", 2);
	s = score(f);
	assert_int_equal(s->sum, 29400);
	assert_int_equal(s->band_star, 5);
	assert_int_equal(s->minima_star, 4);
	assert_int_equal(s->miss[0].criterion, OCP_NONE);
	assert_int_equal(s->miss[1].criterion, OCP_NONE);
	assert_int_equal(s->miss[2].criterion, index_of(f, "4.1"));
	assert_int_equal(s->star, 4);
	ocp_score_free(s);
}

static void
test_a_knock_out_choice_leaves_no_star_and_names_member_and_criterion(void **state)
{
	fixture *f = *state;
	ocp_score *s;

	/*
	 * Member 2 finds impurities on 6.1 (knock-out, 0 points): totals 100, 98, 100,
	 * mean 99.33, band 5, but the knock-out means no star at all.
	 */
	add_max(f);
	add_max(f);
	add_max(f);
	set_ko(f, 1, "6.1");
	s = score(f);
	assert_int_equal(s->members[1].total, 9800);
	assert_int_equal(s->band_star, 5);
	assert_true(s->knockout);
	assert_int_equal(s->n_ko, 1);
	assert_int_equal(s->ko[0].member, 1);
	assert_int_equal(s->ko[0].criterion, index_of(f, "6.1"));
	assert_int_equal(s->star, 0);
	assert_false(s->potential_5star);
	ocp_score_free(s);
}

static void
test_a_disqualified_dossier_gets_no_star(void **state)
{
	fixture *f = *state;
	ocp_score *s;

	/* Two perfect sheets (mean 100, band 5, minima 5), but the dossier is disqualified. */
	add_max(f);
	add_max(f);
	f->opts.disqualified = true;
	s = score(f);
	assert_int_equal(s->band_star, 5);
	assert_int_equal(s->minima_star, 5);
	assert_true(s->disqualified);
	assert_int_equal(s->star, 0);
	assert_false(s->potential_5star);
	ocp_score_free(s);
}

static void
test_totals_ten_points_apart_fail_the_spread_rule(void **state)
{
	fixture *f = *state;
	ocp_score *s;

	/*
	 * Member 1: 100. Member 2: 90 (1.2 -2, 1.4 -2, 4.2 -3, 4.3 -3, all unmarked).
	 * Mean 95, band 5, minima 5, star 5; spread 100 - 90 = 10, and the rule fails
	 * at 10 or more: not a 5-star candidate until the council re-scores.
	 */
	add_max(f);
	add_90(f);
	s = score(f);
	assert_int_equal(s->star, 5);
	assert_int_equal(s->spread, 1000);
	assert_false(s->spread_ok);
	assert_false(s->potential_5star);
	ocp_score_free(s);
}

static void
test_the_spread_threshold_is_a_setting_and_the_rule_can_be_off(void **state)
{
	fixture *f = *state;
	ocp_score *s;

	add_max(f);
	add_90(f); /* spread 10, as above */
	f->opts.spread_rule = false;
	s = score(f);
	assert_true(s->spread_ok);
	assert_true(s->potential_5star);
	ocp_score_free(s);
	f->opts.spread_rule = true;
	f->opts.spread_threshold = 1050; /* 10.5 points: 10 < 10.5 */
	s = score(f);
	assert_true(s->spread_ok);
	ocp_score_free(s);
	/* 9 points apart passes the default threshold: 4.3 back to 3 gives 91. */
	ocp_score_opts_init(&f->opts);
	set(f, 1, "4.3", 3);
	s = score(f);
	assert_int_equal(s->spread, 900);
	assert_true(s->spread_ok);
	ocp_score_free(s);
}

static void
test_an_exact_mean_of_89_995_is_four_stars_and_shows_as_89_99(void **state)
{
	fixture *f = *state;
	ocp_score *s;
	size_t i;

	/*
	 * 199 members at 90 and one at 89 (the 90-sheet with 6.3 3->2):
	 * sum = 199 x 90 + 89 = 17999, mean = 17999 / 200 = 89.995.
	 * Band: 17999 < 90 x 200 = 18000, so 4 stars (a rounded 90.00 would wrongly say 5).
	 * Shown truncated: 89.99. Minima 5 (only unmarked criteria changed): star 4.
	 */
	for (i = 0; i < 199; i++) {
		add_90(f);
	}
	i = add_90(f);
	set(f, i, "6.3", 2);
	s = score(f);
	assert_int_equal(s->count, 200);
	assert_int_equal(s->sum, 1799900);
	assert_near(s->mean, 89.995);
	assert_int_equal(s->mean_display, 8999);
	assert_int_equal(s->band_star, 4);
	assert_int_equal(s->minima_star, 5);
	assert_int_equal(s->star, 4);
	ocp_score_free(s);
	/* The edge itself belongs to the higher band: 200 members at exactly 90 are 5 stars. */
	set(f, i, "6.3", 3);
	s = score(f);
	assert_int_equal(s->sum, 1800000);
	assert_int_equal(s->band_star, 5);
	ocp_score_free(s);
}

static void
test_a_mean_just_below_70_is_three_stars(void **state)
{
	fixture *f = *state;
	ocp_score *s;
	size_t i;

	/*
	 * 100 members at 70 and one at 69 (the 70-sheet with 11 2->1):
	 * sum 7069, mean 7069 / 101 = 69.990099..., shown 69.99: band 3, minima 5, star 3.
	 */
	for (i = 0; i < 100; i++) {
		add_70(f);
	}
	i = add_70(f);
	set(f, i, "11", 1);
	s = score(f);
	assert_int_equal(s->members[0].total, 7000);
	assert_int_equal(s->sum, 706900);
	assert_int_equal(s->mean_display, 6999);
	assert_int_equal(s->band_star, 3);
	assert_int_equal(s->minima_star, 5);
	assert_int_equal(s->star, 3);
	ocp_score_free(s);
}

static void
test_per_part_means_are_exact_and_add_up(void **state)
{
	fixture *f = *state;
	ocp_score *s;

	/*
	 * Member 1: 100 (A 40, B 25, C 35). Member 2: 1.2 2->1 (A), 4.2 3->2 (B),
	 * 6.3 3->2 (C) = 97 (A 39, B 24, C 34).
	 * Part means: A 79 / 2 = 39.5, B 49 / 2 = 24.5, C 69 / 2 = 34.5; total 98.5.
	 */
	add_max(f);
	add_max(f);
	set(f, 1, "1.2", 1);
	set(f, 1, "4.2", 2);
	set(f, 1, "6.3", 2);
	s = score(f);
	assert_int_equal(s->part_sum[0], 7900);
	assert_int_equal(s->part_sum[1], 4900);
	assert_int_equal(s->part_sum[2], 6900);
	assert_int_equal(s->part_display[0], 3950);
	assert_int_equal(s->part_display[1], 2450);
	assert_int_equal(s->part_display[2], 3450);
	assert_near(s->part_mean[0], 39.5);
	assert_near(s->part_mean[1], 24.5);
	assert_near(s->part_mean[2], 34.5);
	assert_int_equal(s->part_sum[0] + s->part_sum[1] + s->part_sum[2], s->sum);
	assert_int_equal(s->mean_display, 9850);
	ocp_score_free(s);
}

static void
test_a_conditional_criterion_left_out_counts_zero(void **state)
{
	fixture *f = *state;
	ocp_score *s;

	/* No product story (5.1 = 0): 5.2 is left out on one sheet and 0 on the other. 100 - 5 - 2 = 93. */
	add_max(f);
	add_max(f);
	set(f, 0, "5.1", 0);
	drop(f, 0, "5.2");
	set(f, 1, "5.1", 0);
	set(f, 1, "5.2", 0);
	s = score(f);
	assert_int_equal(s->members[0].total, 9300);
	assert_int_equal(s->members[1].total, 9300);
	assert_int_equal(s->minima_star, 3); /* 5.1 carries the 4-star mark at 5 */
	ocp_score_free(s);
}

static void
test_the_result_does_not_depend_on_choice_or_sheet_order(void **state)
{
	fixture *f = *state;
	ocp_score *a;
	ocp_score *b;
	ocp_choice tmp;
	tsheet t0;

	add_max(f);
	add_70(f);
	set_ko(f, 1, "2.1");
	a = score(f);
	/* Reverse member 1's choices and swap the two sheets. */
	for (size_t k = 0; k < f->t[0].n / 2; k++) {
		tmp = f->t[0].ch[k];
		f->t[0].ch[k] = f->t[0].ch[f->t[0].n - 1 - k];
		f->t[0].ch[f->t[0].n - 1 - k] = tmp;
	}
	t0 = f->t[0];
	f->t[0] = f->t[1];
	f->t[1] = t0;
	b = score(f);
	assert_int_equal(a->sum, b->sum);
	assert_memory_equal(a->criterion_sum, b->criterion_sum, a->n_criteria * sizeof(int64_t));
	assert_int_equal(a->star, b->star);
	assert_int_equal(a->minima_star, b->minima_star);
	assert_int_equal(a->spread, b->spread);
	assert_int_equal(a->ko[0].criterion, b->ko[0].criterion);
	ocp_score_free(a);
	ocp_score_free(b);
}

/* ===== Refused input ===== */

static void
expect_input_error(fixture *f, size_t sheet, size_t choice, const char *want)
{
	ocp_score_fault where;
	ocp_score *s = (ocp_score *)1;
	char err[512] = "";

	assert_err(ocp_score_check(f->r, views(f), f->n, &where, err, sizeof(err)), OCOP_EINPUT);
	if (strstr(err, want) == NULL) {
		fail_msg("got \"%s\", want \"%s\"", err, want);
	}
	assert_int_equal(where.sheet, sheet);
	assert_int_equal(where.choice, choice);
	assert_err(ocp_score_compute(&s, f->r, views(f), f->n, NULL, err, sizeof(err)), OCOP_EINPUT);
	assert_null(s);
}

static void
test_a_missing_criterion_is_refused_naming_member_and_criterion(void **state)
{
	fixture *f = *state;

	add_max(f);
	add_max(f);
	drop(f, 1, "3.4");
	expect_input_error(f, 1, OCP_NONE, "member 'Member 2', criterion '3.4': missing");
}

static void
test_points_that_match_no_option_are_refused(void **state)
{
	fixture *f = *state;

	add_max(f);
	find(f, 0, "1.1")->points = 250;
	expect_input_error(f, 0, 0,
	    "member 'Member 1', criterion '1.1': 2.5 points is not one of its options (1, 2, 3)");
}

static void
test_unknown_and_duplicate_criteria_are_refused(void **state)
{
	fixture *f = *state;
	size_t last;

	add_max(f);
	last = f->t[0].n - 1;
	f->t[0].ch[last].code = "9.9";
	expect_input_error(f, 0, last, "member 'Member 1', criterion '9.9': no such criterion");
	f->t[0].ch[last].code = "1.1";
	f->t[0].ch[last].points = 300;
	expect_input_error(f, 0, last, "member 'Member 1', criterion '1.1': given twice");
}

static void
test_ko_is_refused_on_a_criterion_without_a_knock_out_option(void **state)
{
	fixture *f = *state;

	add_max(f);
	set_ko(f, 0, "4.1");
	expect_input_error(f, 0, 16, "criterion '4.1': KO is not possible here");
}

static void
test_a_conditional_criterion_scored_without_its_condition_is_refused(void **state)
{
	fixture *f = *state;

	/* 5.1 = 0 (no story) but 5.2 = 1. */
	add_max(f);
	add_max(f);
	set(f, 1, "5.1", 0);
	set(f, 1, "5.2", 1);
	expect_input_error(f, 1, 20,
	    "member 'Member 2', criterion '5.2': applies only when 5.1 is above 0");
}

static void
test_duplicate_members_and_empty_councils_are_refused(void **state)
{
	fixture *f = *state;
	char err[256];

	add_max(f);
	add_max(f);
	strcpy(f->labels[1], "Member 1");
	expect_input_error(f, 1, OCP_NONE, "member 'Member 1' has two sheets");
	assert_err(ocp_score_check(f->r, views(f), 0, NULL, err, sizeof(err)), OCOP_EINPUT);
	assert_non_null(strstr(err, "no member sheets"));
}

static void
test_an_outline_rubric_cannot_be_scored(void **state)
{
	fixture *f = *state;
	ocp_rubric *outline = NULL;
	ocp_score *s = NULL;
	char path[1024];
	char err[512];

	tu_src(path, sizeof(path), "tests/data/rubrics/outline.rubric");
	assert_ok(ocp_rubric_load_file(&outline, path, err, sizeof(err)));
	add_max(f);
	assert_err(ocp_score_compute(&s, outline, views(f), f->n, NULL, err, sizeof(err)),
	    OCOP_ERUBRIC);
	assert_non_null(strstr(err, "rubric test/outline stops at group level"));
	assert_null(s);
	ocp_rubric_free(outline);
}

static void
test_a_threshold_of_zero_is_refused(void **state)
{
	fixture *f = *state;
	ocp_score *s = NULL;
	char err[256];

	add_max(f);
	f->opts.spread_threshold = 0;
	assert_err(ocp_score_compute(&s, f->r, views(f), f->n, &f->opts, err, sizeof(err)),
	    OCOP_EINVAL);
}

/* ===== Bands and memory ===== */

static void
test_bands_are_half_open_at_30_50_70_90(void **state)
{
	(void)state;
	assert_int_equal(ocp_score_band(10000, 1), 5);
	assert_int_equal(ocp_score_band(9000, 1), 5);
	assert_int_equal(ocp_score_band(8999, 1), 4);
	assert_int_equal(ocp_score_band(7000, 1), 4);
	assert_int_equal(ocp_score_band(6999, 1), 3);
	assert_int_equal(ocp_score_band(5000, 1), 3);
	assert_int_equal(ocp_score_band(4999, 1), 2);
	assert_int_equal(ocp_score_band(3000, 1), 2);
	assert_int_equal(ocp_score_band(2999, 1), 1);
	assert_int_equal(ocp_score_band(0, 1), 1);
	assert_int_equal(ocp_score_band(17999, 2), 4); /* 89.995 */
}

static void
test_compute_fails_cleanly_at_every_allocation(void **state)
{
	fixture *f = *state;
	char err[256];
	long k;
	int rv = OCOP_ENOMEM;

	add_max(f);
	add_max(f);
	set_ko(f, 1, "6.1");
	for (k = 0; rv == OCOP_ENOMEM; k++) {
		ocp_score *s = (ocp_score *)1;
		com_alloc_fail_after(k);
		rv = ocp_score_compute(&s, f->r, views(f), f->n, NULL, err, sizeof(err));
		com_alloc_fail_after(-1);
		if (rv == OCOP_ENOMEM) {
			assert_null(s);
		} else {
			assert_ok(rv);
			assert_int_equal(s->n_ko, 1);
			ocp_score_free(s);
		}
	}
	assert_true(k > 4);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_three_strong_sheets_make_a_potential_five_star_product),
	    T(test_a_five_star_band_is_capped_at_two_when_a_three_star_mark_is_missed),
	    T(test_minima_compare_the_council_mean_not_single_members),
	    T(test_a_knock_out_choice_leaves_no_star_and_names_member_and_criterion),
	    T(test_a_disqualified_dossier_gets_no_star),
	    T(test_totals_ten_points_apart_fail_the_spread_rule),
	    T(test_the_spread_threshold_is_a_setting_and_the_rule_can_be_off),
	    T(test_an_exact_mean_of_89_995_is_four_stars_and_shows_as_89_99),
	    T(test_a_mean_just_below_70_is_three_stars),
	    T(test_per_part_means_are_exact_and_add_up),
	    T(test_a_conditional_criterion_left_out_counts_zero),
	    T(test_the_result_does_not_depend_on_choice_or_sheet_order),
	    T(test_a_missing_criterion_is_refused_naming_member_and_criterion),
	    T(test_points_that_match_no_option_are_refused),
	    T(test_unknown_and_duplicate_criteria_are_refused),
	    T(test_ko_is_refused_on_a_criterion_without_a_knock_out_option),
	    T(test_a_conditional_criterion_scored_without_its_condition_is_refused),
	    T(test_duplicate_members_and_empty_councils_are_refused),
	    T(test_an_outline_rubric_cannot_be_scored),
	    T(test_a_threshold_of_zero_is_refused),
	    T(test_bands_are_half_open_at_30_50_70_90),
	    T(test_compute_fails_cleanly_at_every_allocation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
