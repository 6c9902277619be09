/*
 * Unit tests for common/ocop/workflow.c: the shipped workflows load, moves are
 * allowed for the right role only, reopens bump the epoch, concurrent statuses are
 * ordered by epoch then rank, and broken files are refused with FILE:LINE.
 */
#include "tests/lib/testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sys/stat.h>

#include "common/ocop/workflow.h"
#include "common/util/alloc.h"

/* Load a shipped workflow from the source tree's data/ directory. */
static ocp_flow *
load_basis(const char *basis)
{
	char data[512];
	char err[512];
	ocp_flow *f = NULL;
	int rv;

	tu_src(data, sizeof(data), "data");
	rv = ocp_flow_load_basis(&f, data, basis, err, sizeof(err));
	if (rv != OCOP_OK) {
		print_error("loading %s: %s\n", basis != NULL ? basis : "(default)", err);
	}
	assert_int_equal(rv, OCOP_OK);
	assert_non_null(f);
	return f;
}

/* One move, who may make it, and somebody who may not. */
typedef struct move_case {
	const char *from;
	const char *to;
	ocp_role right;
	ocp_role wrong;
} move_case;

/* Check that `right` may make every move and `wrong` is refused, naming the role. */
static void
check_moves(const ocp_flow *f, const move_case *cases, size_t n)
{
	const ocp_transition *t;
	char err[512];
	size_t i;

	for (i = 0; i < n; i++) {
		const move_case *c = &cases[i];
		int rv = ocp_flow_check(f, c->from, c->to, (int)c->right, &t, err, sizeof(err));

		if (rv != OCOP_OK) {
			print_error("%s -> %s by %s: %s\n", c->from, c->to,
			    ocp_role_name((int)c->right), err);
		}
		assert_int_equal(rv, OCOP_OK);
		assert_non_null(t);
		assert_string_equal(t->from->name, c->from);
		assert_string_equal(t->to->name, c->to);

		assert_err(ocp_flow_check(f, c->from, c->to, (int)c->wrong, &t, err, sizeof(err)),
		    OCOP_EAUTH);
		assert_null(t);
		assert_non_null(strstr(err, ocp_role_name((int)c->wrong)));
		assert_non_null(strstr(err, "allowed: "));
		assert_non_null(strstr(err, ocp_role_name((int)c->right)));
	}
}

static void
test_every_shipped_workflow_loads_and_starts_in_draft(void **state)
{
	static const char *const bases[] = {"qd26-2026", "qd148-2023"};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		ocp_flow *f = load_basis(bases[i]);

		assert_string_equal(ocp_flow_basis(f), bases[i]);
		assert_string_equal(ocp_flow_initial(f), "draft");
		assert_true(strlen(ocp_flow_title(f)) > 0);
		assert_true(ocp_flow_state_count(f) >= 10);
		assert_true(ocp_flow_transition_count(f) >= 20);
		assert_non_null(ocp_flow_state(f, "disqualified"));
		assert_true(ocp_flow_state(f, "disqualified")->terminal);
		assert_non_null(ocp_flow_state(f, "revoked"));
		ocp_flow_free(f);
	}
}

static void
test_a_missing_basis_means_qd26_2026(void **state)
{
	ocp_flow *f;

	(void)state;
	f = load_basis(NULL);
	assert_string_equal(ocp_flow_basis(f), OCP_FLOW_DEFAULT_BASIS);
	assert_string_equal(ocp_flow_basis(f), "qd26-2026");
	ocp_flow_free(f);
}

static void
test_qd26_happy_path_is_allowed_for_the_right_role_and_refused_for_a_wrong_one(void **state)
{
	static const move_case cases[] = {
	    {"draft", "commune_check", OCP_ROLE_COMMUNE, OCP_ROLE_PROVINCE},
	    {"commune_check", "province_review", OCP_ROLE_COMMUNE, OCP_ROLE_MEMBER},
	    {"province_review", "update_requested", OCP_ROLE_PROVINCE, OCP_ROLE_COMMUNE},
	    {"update_requested", "province_review", OCP_ROLE_COMMUNE, OCP_ROLE_NATIONAL},
	    {"province_review", "council_review", OCP_ROLE_PROVINCE, OCP_ROLE_COMMUNE},
	    {"council_review", "scored", OCP_ROLE_PROVINCE, OCP_ROLE_MEMBER},
	    {"scored", "recognised", OCP_ROLE_PROVINCE, OCP_ROLE_COMMUNE},
	    {"scored", "not_recognised", OCP_ROLE_PROVINCE, OCP_ROLE_NATIONAL},
	    {"recognised", "revoked", OCP_ROLE_PROVINCE, OCP_ROLE_NATIONAL},
	    {"scored", "potential_5star", OCP_ROLE_PROVINCE, OCP_ROLE_COMMUNE},
	    {"potential_5star", "sent_national", OCP_ROLE_PROVINCE, OCP_ROLE_NATIONAL},
	    {"sent_national", "national_review", OCP_ROLE_NATIONAL, OCP_ROLE_PROVINCE},
	    {"national_review", "national_recognised", OCP_ROLE_NATIONAL, OCP_ROLE_PROVINCE},
	    {"national_recognised", "revoked", OCP_ROLE_NATIONAL, OCP_ROLE_PROVINCE},
	    {"national_review", "national_below_90", OCP_ROLE_NATIONAL, OCP_ROLE_PROVINCE},
	    {"national_below_90", "recognised", OCP_ROLE_PROVINCE, OCP_ROLE_NATIONAL},
	    {"council_review", "disqualified", OCP_ROLE_PROVINCE, OCP_ROLE_COMMUNE},
	};
	ocp_flow *f;

	(void)state;
	f = load_basis("qd26-2026");
	check_moves(f, cases, sizeof(cases) / sizeof(cases[0]));
	ocp_flow_free(f);
}

static void
test_a_commune_cannot_recognise_a_product(void **state)
{
	char err[512];
	ocp_flow *f;

	(void)state;
	f = load_basis("qd26-2026");
	assert_err(ocp_flow_check(f, "scored", "recognised", OCP_ROLE_COMMUNE, NULL, err,
		       sizeof(err)),
	    OCOP_EAUTH);
	assert_non_null(strstr(err, "a commune office cannot make 'scored -> recognised'"));
	assert_non_null(strstr(err, "allowed: province"));
	ocp_flow_free(f);
}

static void
test_a_province_cannot_set_a_national_result(void **state)
{
	char err[512];
	ocp_flow *f;

	(void)state;
	f = load_basis("qd26-2026");
	assert_err(ocp_flow_check(f, "national_review", "national_recognised", OCP_ROLE_PROVINCE,
		       NULL, err, sizeof(err)),
	    OCOP_EAUTH);
	assert_non_null(strstr(err, "province"));
	assert_non_null(strstr(err, "allowed: national"));
	assert_err(ocp_flow_check(f, "national_review", "national_below_90", OCP_ROLE_PROVINCE,
		       NULL, err, sizeof(err)),
	    OCOP_EAUTH);
	ocp_flow_free(f);
}

static void
test_a_member_cannot_make_any_move_in_any_shipped_workflow(void **state)
{
	static const char *const bases[] = {"qd26-2026", "qd148-2023"};
	char err[512];
	size_t i;
	size_t k;

	(void)state;
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		ocp_flow *f = load_basis(bases[i]);

		for (k = 0; k < ocp_flow_transition_count(f); k++) {
			const ocp_transition *t = ocp_flow_transition_at(f, k);

			assert_err(ocp_flow_check(f, t->from->name, t->to->name, OCP_ROLE_MEMBER,
				       NULL, err, sizeof(err)),
			    OCOP_EAUTH);
			assert_non_null(strstr(err, "member"));
		}
		ocp_flow_free(f);
	}
}

static void
test_a_move_from_the_wrong_state_lists_the_allowed_next_states(void **state)
{
	const ocp_transition *t;
	char err[512];
	ocp_flow *f;

	(void)state;
	f = load_basis("qd26-2026");
	t = ocp_flow_transition_at(f, 0); /* must be cleared on error */
	assert_err(ocp_flow_check(f, "province_review", "recognised", OCP_ROLE_PROVINCE, &t, err,
		       sizeof(err)),
	    OCOP_ESTATE);
	assert_null(t);
	assert_non_null(strstr(err,
	    "cannot move a dossier from 'province_review' to 'recognised': allowed next states are "));
	assert_non_null(strstr(err, "'update_requested'"));
	assert_non_null(strstr(err, "'council_review'"));
	assert_non_null(strstr(err, "'disqualified'"));

	/* Skipping the commune's pre-check is a state error, not an authority one. */
	assert_err(ocp_flow_check(f, "draft", "province_review", OCP_ROLE_COMMUNE, NULL, err,
		       sizeof(err)),
	    OCOP_ESTATE);
	assert_non_null(strstr(err, "'commune_check'"));

	assert_err(ocp_flow_check(f, "revoked", "recognised", OCP_ROLE_PROVINCE, NULL, err,
		       sizeof(err)),
	    OCOP_ESTATE);
	assert_non_null(strstr(err, "terminal"));
	ocp_flow_free(f);
}

static void
test_unknown_state_or_role_is_an_invalid_argument_with_text(void **state)
{
	char err[512];
	ocp_flow *f;

	(void)state;
	f = load_basis("qd26-2026");
	assert_err(ocp_flow_check(f, "draft", "approved_by_magic", OCP_ROLE_COMMUNE, NULL, err,
		       sizeof(err)),
	    OCOP_EINVAL);
	assert_non_null(strstr(err, "unknown state 'approved_by_magic'"));
	assert_err(ocp_flow_check(f, "PREPARING", "draft", OCP_ROLE_COMMUNE, NULL, err,
		       sizeof(err)),
	    OCOP_EINVAL);
	assert_non_null(strstr(err, "'PREPARING'"));
	assert_err(ocp_flow_check(f, "draft", "commune_check", 99, NULL, err, sizeof(err)),
	    OCOP_EINVAL);
	assert_int_equal(ocp_flow_rank(f, "approved_by_magic"), -1);
	assert_null(ocp_flow_state(f, "approved_by_magic"));
	/* err may be omitted. */
	assert_err(ocp_flow_check(f, "draft", "nowhere", OCP_ROLE_COMMUNE, NULL, NULL, 0),
	    OCOP_EINVAL);
	ocp_flow_free(f);
}

static void
test_reopen_transitions_bump_the_epoch_and_need_a_reason(void **state)
{
	static const struct {
		const char *from;
		const char *to;
		ocp_role role;
		bool deadline;
	} reopens[] = {
	    {"province_review", "update_requested", OCP_ROLE_PROVINCE, true},
	    {"council_review", "update_requested", OCP_ROLE_PROVINCE, true},
	    {"commune_check", "draft", OCP_ROLE_COMMUNE, true},
	    {"scored", "council_review", OCP_ROLE_PROVINCE, false},
	    {"national_below_90", "council_review", OCP_ROLE_PROVINCE, false},
	    {"national_review", "potential_5star", OCP_ROLE_NATIONAL, true},
	};
	const ocp_transition *t;
	char err[512];
	ocp_flow *f;
	size_t i;

	(void)state;
	f = load_basis("qd26-2026");
	for (i = 0; i < sizeof(reopens) / sizeof(reopens[0]); i++) {
		assert_ok(ocp_flow_check(f, reopens[i].from, reopens[i].to, (int)reopens[i].role, &t,
		    err, sizeof(err)));
		assert_int_equal(t->kind, OCP_FLOW_REOPEN);
		assert_true(ocp_transition_bumps_epoch(t));
		assert_true(ocp_transition_needs_reason(t));
		assert_int_equal(ocp_transition_requires(t, "deadline"), reopens[i].deadline);
		assert_true(t->to->rank < t->from->rank);
	}
	/* A forward move keeps the epoch. */
	assert_ok(ocp_flow_check(f, "update_requested", "province_review", OCP_ROLE_COMMUNE, &t,
	    err, sizeof(err)));
	assert_int_equal(t->kind, OCP_FLOW_FORWARD);
	assert_false(ocp_transition_bumps_epoch(t));
	assert_false(ocp_transition_needs_reason(t));
	ocp_flow_free(f);
}

static void
test_transitions_report_their_requirement_flags_without_checking_them(void **state)
{
	const ocp_transition *t;
	char err[512];
	ocp_flow *f;

	(void)state;
	f = load_basis("qd26-2026");
	assert_ok(ocp_flow_check(f, "scored", "potential_5star", OCP_ROLE_PROVINCE, &t, err,
	    sizeof(err)));
	assert_true(ocp_transition_requires(t, "score>=90"));
	assert_true(ocp_transition_requires(t, "approved"));
	assert_false(ocp_transition_requires(t, "deadline"));
	assert_false(ocp_transition_requires(t, NULL));

	assert_ok(ocp_flow_check(f, "scored", "disqualified", OCP_ROLE_PROVINCE, &t, err,
	    sizeof(err)));
	assert_int_equal(t->kind, OCP_FLOW_FORWARD);
	assert_true(ocp_transition_needs_reason(t)); /* via `requires reason` */
	assert_false(ocp_transition_bumps_epoch(t));

	assert_ok(ocp_flow_check(f, "recognised", "revoked", OCP_ROLE_PROVINCE, &t, err,
	    sizeof(err)));
	assert_true(ocp_transition_requires(t, "ground"));
	ocp_flow_free(f);
}

static void
test_concurrent_statuses_are_ordered_by_epoch_then_rank(void **state)
{
	ocp_flow *f;

	(void)state;
	f = load_basis("qd26-2026");
	/* Same epoch: further along wins, from either side. */
	assert_true(ocp_flow_wins(f, "council_review", 0, "province_review", 0) > 0);
	assert_true(ocp_flow_wins(f, "province_review", 0, "council_review", 0) < 0);
	assert_true(ocp_flow_wins(f, "revoked", 2, "recognised", 2) > 0);
	/* A reopen bumped the epoch: the returned dossier wins over the old epoch's progress. */
	assert_true(ocp_flow_wins(f, "update_requested", 1, "scored", 0) > 0);
	assert_true(ocp_flow_wins(f, "recognised", 0, "council_review", 1) < 0);
	/* An unknown status loses to any known one. */
	assert_true(ocp_flow_wins(f, "draft", 0, "no_such_state", 0) > 0);
	ocp_flow_free(f);
}

static void
test_equal_ranks_tie_so_the_caller_falls_back_to_last_writer_wins(void **state)
{
	ocp_flow *f;

	(void)state;
	f = load_basis("qd26-2026");
	assert_int_equal(ocp_flow_rank(f, "recognised"), ocp_flow_rank(f, "not_recognised"));
	assert_int_equal(ocp_flow_wins(f, "recognised", 3, "not_recognised", 3), 0);
	assert_int_equal(ocp_flow_wins(f, "scored", 1, "scored", 1), 0);
	assert_int_equal(ocp_flow_wins(f, "nope", 0, "nada", 0), 0);
	ocp_flow_free(f);
}

static void
test_legacy_qd148_district_path_works(void **state)
{
	static const move_case cases[] = {
	    {"draft", "district_review", OCP_ROLE_COMMUNE, OCP_ROLE_PROVINCE},
	    {"draft", "district_review", OCP_ROLE_DISTRICT, OCP_ROLE_MEMBER},
	    {"district_review", "district_council", OCP_ROLE_DISTRICT, OCP_ROLE_COMMUNE},
	    {"district_council", "district_scored", OCP_ROLE_DISTRICT, OCP_ROLE_PROVINCE},
	    {"district_scored", "recognised_district", OCP_ROLE_DISTRICT, OCP_ROLE_COMMUNE},
	    {"district_scored", "forwarded_province", OCP_ROLE_DISTRICT, OCP_ROLE_PROVINCE},
	    {"forwarded_province", "province_council", OCP_ROLE_PROVINCE, OCP_ROLE_DISTRICT},
	    {"province_council", "province_scored", OCP_ROLE_PROVINCE, OCP_ROLE_DISTRICT},
	    {"province_scored", "recognised_province", OCP_ROLE_PROVINCE, OCP_ROLE_DISTRICT},
	    {"province_scored", "potential_5star", OCP_ROLE_PROVINCE, OCP_ROLE_DISTRICT},
	    {"potential_5star", "sent_national", OCP_ROLE_PROVINCE, OCP_ROLE_NATIONAL},
	    {"sent_national", "national_review", OCP_ROLE_NATIONAL, OCP_ROLE_PROVINCE},
	    {"national_review", "national_recognised", OCP_ROLE_NATIONAL, OCP_ROLE_PROVINCE},
	};
	const ocp_transition *t;
	char err[512];
	ocp_flow *f;
	ocp_flow *f26;

	(void)state;
	f = load_basis("qd148-2023");
	check_moves(f, cases, sizeof(cases) / sizeof(cases[0]));
	/* Below 4★ at the province, the dossier goes back to the district (a reopen). */
	assert_ok(ocp_flow_check(f, "province_scored", "district_scored", OCP_ROLE_PROVINCE, &t,
	    err, sizeof(err)));
	assert_true(ocp_transition_bumps_epoch(t));
	assert_false(ocp_transition_requires(t, "deadline"));
	ocp_flow_free(f);

	/* The district tier has no part in a QĐ 26/2026 dossier. */
	f26 = load_basis("qd26-2026");
	assert_null(ocp_flow_state(f26, "district_review"));
	assert_err(ocp_flow_check(f26, "scored", "recognised", OCP_ROLE_DISTRICT, NULL, err,
		       sizeof(err)),
	    OCOP_EAUTH);
	assert_non_null(strstr(err, "district"));
	ocp_flow_free(f26);
}

static void
test_next_states_are_listed_per_role_for_a_cli(void **state)
{
	const ocp_transition *next[16];
	const ocp_transition *one[1];
	ocp_flow *f;
	size_t n;
	size_t i;
	bool saw_potential = false;

	(void)state;
	f = load_basis("qd26-2026");
	n = ocp_flow_next(f, "scored", OCP_ROLE_BIT(OCP_ROLE_PROVINCE), next, 16);
	assert_int_equal(n, 5); /* recognised, not_recognised, potential_5star, disqualified, reopen */
	for (i = 0; i < n; i++) {
		assert_string_equal(next[i]->from->name, "scored");
		if (strcmp(next[i]->to->name, "potential_5star") == 0) {
			saw_potential = true;
		}
	}
	assert_true(saw_potential);
	assert_int_equal(ocp_flow_next(f, "scored", OCP_ROLE_BIT(OCP_ROLE_COMMUNE), next, 16), 0);
	assert_int_equal(ocp_flow_next(f, "scored", OCP_ROLE_ALL, one, 1), 5);
	assert_int_equal(ocp_flow_next(f, "revoked", OCP_ROLE_ALL, next, 16), 0);
	assert_int_equal(ocp_flow_next(f, "no_such_state", OCP_ROLE_ALL, next, 16), 0);
	ocp_flow_free(f);
}

static void
test_shipped_labels_are_vietnamese_and_ranks_follow_the_move_kind(void **state)
{
	static const char *const bases[] = {"qd26-2026", "qd148-2023"};
	size_t i;
	size_t k;

	(void)state;
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		ocp_flow *f = load_basis(bases[i]);

		for (k = 0; k < ocp_flow_state_count(f); k++) {
			assert_true(strlen(ocp_flow_state_at(f, k)->label) > 0);
		}
		assert_null(ocp_flow_state_at(f, ocp_flow_state_count(f)));
		assert_null(ocp_flow_transition_at(f, ocp_flow_transition_count(f)));
		assert_string_equal(ocp_flow_state(f, "disqualified")->label, "Hồ sơ bị loại");
		for (k = 0; k < ocp_flow_transition_count(f); k++) {
			const ocp_transition *t = ocp_flow_transition_at(f, k);

			if (t->kind == OCP_FLOW_FORWARD) {
				assert_true(t->to->rank > t->from->rank);
			} else {
				assert_true(t->to->rank < t->from->rank);
			}
			assert_true((t->roles & OCP_ROLE_BIT(OCP_ROLE_MEMBER)) == 0);
		}
		ocp_flow_free(f);
	}
}

/* A broken fixture, the line its error must name and a piece of the reason. */
typedef struct bad_case {
	const char *file;
	int line;
	const char *reason;
} bad_case;

static void
test_broken_workflow_files_are_refused_with_file_and_line(void **state)
{
	static const bad_case cases[] = {
	    {"unknown-state.flow", 8, "unknown state 'finished'"},
	    {"duplicate-state.flow", 7, "duplicate state 'review' (first declared at line 5)"},
	    {"forward-rank-not-increasing.flow", 9, "must go to a higher rank"},
	    {"unknown-role.flow", 8, "unknown role 'ministry'"},
	    {"unknown-keyword.flow", 8, "unknown keyword 'transition'"},
	    {"reopen-rank-not-decreasing.flow", 8, "must go to a lower rank"},
	    {"unreachable-state.flow", 7, "'orphan' cannot be reached"},
	    {"terminal-with-exit.flow", 10, "leaves terminal state 'done'"},
	    {"dead-end-state.flow", 7, "'stuck' is not terminal but no transition leaves it"},
	    {"missing-initial.flow", 7, "no 'initial STATE' line"},
	    {"unterminated-label.flow", 5, "unterminated quoted text"},
	    {"bad-rank.flow", 5, "bad rank 'ten'"},
	};
	char path[512];
	char rel[256];
	char where[600];
	char err[1024];
	ocp_flow *f;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(rel, sizeof(rel), "tests/data/workflow-bad/%s", cases[i].file);
		tu_src(path, sizeof(path), rel);
		f = NULL;
		assert_err(ocp_flow_load_file(&f, path, err, sizeof(err)), OCOP_EINPUT);
		assert_null(f);
		snprintf(where, sizeof(where), "%s:%d: ", path, cases[i].line);
		if (strncmp(err, where, strlen(where)) != 0 || strstr(err, cases[i].reason) == NULL) {
			print_error("%s: got \"%s\", want \"%s...%s\"\n", cases[i].file, err, where,
			    cases[i].reason);
		}
		assert_memory_equal(err, where, strlen(where));
		assert_non_null(strstr(err, cases[i].reason));
	}
}

/* Write text to dir/workflow/<name>.flow. */
static void
write_flow(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/workflow", dir);
	assert_true(mkdir(path, 0700) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/workflow/%s.flow", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
test_loading_by_basis_refuses_a_wrong_basis_line_a_bad_name_and_a_missing_file(void **state)
{
	char err[1024];
	ocp_flow *f;
	char *dir;

	(void)state;
	dir = tu_mkdtemp();
	assert_non_null(dir);
	write_flow(dir, "qd1-2000",
	    "flow qd2-2000 \"Khác\"\ninitial a\nstate a 0 \"A\"\nstate b 1 terminal \"B\"\n"
	    "forward a -> b by province\n");
	assert_err(ocp_flow_load_basis(&f, dir, "qd1-2000", err, sizeof(err)), OCOP_EINPUT);
	assert_null(f);
	assert_non_null(strstr(err, "qd1-2000.flow:1: "));
	assert_non_null(strstr(err, "declares basis 'qd2-2000'"));

	write_flow(dir, "qd2-2000",
	    "flow qd2-2000 \"Khác\"\ninitial a\nstate a 0 \"A\"\nstate b 1 terminal \"B\"\n"
	    "forward a -> b by province\n");
	assert_ok(ocp_flow_load_basis(&f, dir, "qd2-2000", err, sizeof(err)));
	assert_string_equal(ocp_flow_initial(f), "a");
	ocp_flow_free(f);

	assert_err(ocp_flow_load_basis(&f, dir, "../qd2-2000", err, sizeof(err)), OCOP_EINVAL);
	assert_null(f);
	assert_err(ocp_flow_load_basis(&f, dir, "qd9-2099", err, sizeof(err)), OCOP_ENOENT);
	assert_null(f);
	assert_non_null(strstr(err, "qd9-2099.flow"));
	tu_rmtree(dir);
}

/*
 * The national candidates are data: the states a flow marks `candidate`, and
 * the province's hand-off is the move out of one that requires the national
 * dossier. Both shipped flows agree on which states those are.
 */
static void
test_candidate_states_and_the_handoff_move_come_from_the_flow(void **state)
{
	static const char *const bases[] = {"qd26-2026", "qd148-2023"};
	static const char *const yes[] = {"potential_5star", "sent_national", "national_review", "national_below_90",
	    "national_recognised"};
	char err[1024];
	ocp_flow *f;
	char *dir;
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		f = load_basis(bases[i]);
		for (j = 0; j < sizeof(yes) / sizeof(yes[0]); j++) {
			assert_true(ocp_flow_candidate(f, yes[j]));
		}
		for (j = 0, n = 0; j < ocp_flow_state_count(f); j++) {
			n += ocp_flow_state_at(f, j)->candidate ? 1 : 0;
		}
		assert_int_equal(n, sizeof(yes) / sizeof(yes[0]));
		assert_false(ocp_flow_candidate(f, "draft"));
		assert_false(ocp_flow_candidate(f, "revoked"));
		assert_false(ocp_flow_candidate(f, "no_such_state"));
		assert_string_equal(ocp_flow_handoff(f, "potential_5star")->name, "sent_national");
		assert_null(ocp_flow_handoff(f, "sent_national"));
		assert_null(ocp_flow_handoff(f, "draft"));
		ocp_flow_free(f);
	}

	/* Another flow names its own: the hand-off follows the data, not names in code. */
	dir = tu_mkdtemp();
	assert_non_null(dir);
	write_flow(dir, "qd3-2000",
	    "flow qd3-2000 \"Khác\"\ninitial a\nstate a 0 \"A\"\nstate b 1 candidate \"B\"\n"
	    "state c 2 terminal candidate \"C\"\nforward a -> b by province\n"
	    "forward b -> c by province requires national_dossier\n");
	assert_ok(ocp_flow_load_basis(&f, dir, "qd3-2000", err, sizeof(err)));
	assert_false(ocp_flow_candidate(f, "a"));
	assert_true(ocp_flow_candidate(f, "c"));
	assert_true(ocp_flow_state(f, "c")->terminal);
	assert_string_equal(ocp_flow_handoff(f, "b")->name, "c");
	ocp_flow_free(f);

	/* A flag twice, or an unknown one, names the line. */
	write_flow(dir, "qd4-2000",
	    "flow qd4-2000 \"Khác\"\ninitial a\nstate a 0 \"A\"\nstate b 1 candidate candidate \"B\"\n"
	    "forward a -> b by province\n");
	assert_err(ocp_flow_load_basis(&f, dir, "qd4-2000", err, sizeof(err)), OCOP_EINPUT);
	assert_non_null(strstr(err, "qd4-2000.flow:4: "));
	write_flow(dir, "qd5-2000",
	    "flow qd5-2000 \"Khác\"\ninitial a\nstate a 0 \"A\"\nstate b 1 final \"B\"\n"
	    "forward a -> b by province\n");
	assert_err(ocp_flow_load_basis(&f, dir, "qd5-2000", err, sizeof(err)), OCOP_EINPUT);
	assert_non_null(strstr(err, "not 'final'"));
	tu_rmtree(dir);
}

static void
test_running_out_of_memory_while_loading_fails_cleanly(void **state)
{
	char data[512];
	char err[512];
	ocp_flow *f = NULL;
	long k;
	int rv = OCOP_ENOMEM;

	(void)state;
	tu_src(data, sizeof(data), "data");
	for (k = 0; rv == OCOP_ENOMEM; k++) {
		com_alloc_fail_after(k);
		rv = ocp_flow_load_basis(&f, data, "qd26-2026", err, sizeof(err));
		com_alloc_fail_after(-1);
		if (rv == OCOP_ENOMEM) {
			assert_null(f);
		}
		assert_true(k < 100000);
	}
	assert_ok(rv);
	assert_true(k > 1); /* some allocation did fail on the way */
	assert_string_equal(ocp_flow_initial(f), "draft");
	ocp_flow_free(f);
	ocp_flow_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_shipped_workflow_loads_and_starts_in_draft),
	    cmocka_unit_test(test_a_missing_basis_means_qd26_2026),
	    cmocka_unit_test(test_qd26_happy_path_is_allowed_for_the_right_role_and_refused_for_a_wrong_one),
	    cmocka_unit_test(test_a_commune_cannot_recognise_a_product),
	    cmocka_unit_test(test_a_province_cannot_set_a_national_result),
	    cmocka_unit_test(test_a_member_cannot_make_any_move_in_any_shipped_workflow),
	    cmocka_unit_test(test_a_move_from_the_wrong_state_lists_the_allowed_next_states),
	    cmocka_unit_test(test_unknown_state_or_role_is_an_invalid_argument_with_text),
	    cmocka_unit_test(test_reopen_transitions_bump_the_epoch_and_need_a_reason),
	    cmocka_unit_test(test_transitions_report_their_requirement_flags_without_checking_them),
	    cmocka_unit_test(test_concurrent_statuses_are_ordered_by_epoch_then_rank),
	    cmocka_unit_test(test_equal_ranks_tie_so_the_caller_falls_back_to_last_writer_wins),
	    cmocka_unit_test(test_legacy_qd148_district_path_works),
	    cmocka_unit_test(test_next_states_are_listed_per_role_for_a_cli),
	    cmocka_unit_test(test_shipped_labels_are_vietnamese_and_ranks_follow_the_move_kind),
	    cmocka_unit_test(test_broken_workflow_files_are_refused_with_file_and_line),
	    cmocka_unit_test(test_loading_by_basis_refuses_a_wrong_basis_line_a_bad_name_and_a_missing_file),
	    cmocka_unit_test(test_candidate_states_and_the_handoff_move_come_from_the_flow),
	    cmocka_unit_test(test_running_out_of_memory_while_loading_fails_cleanly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
