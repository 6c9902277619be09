/* Unit tests for common/ocop/sheetcsv.c: CSV sheets, and errors that name their line. */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/rubric.h"
#include "common/ocop/score.h"
#include "common/ocop/sheetcsv.h"
#include "common/util/alloc.h"

static int
setup(void **state)
{
	ocp_rubric *r = NULL;
	char path[1024];
	char err[512] = "";

	tu_src(path, sizeof(path), "data/rubrics/qd26-2026/01.rubric");
	if (ocp_rubric_load_file(&r, path, err, sizeof(err)) != OCOP_OK) {
		print_error("cannot load set 1: %s\n", err);
		return -1;
	}
	*state = r;
	return 0;
}

static int
teardown(void **state)
{
	ocp_rubric_free(*state);
	return 0;
}

static ocp_sheetcsv *
load(const ocp_rubric *r, const char *name)
{
	char rel[256];
	char path[1024];
	char err[1400] = "";
	ocp_sheetcsv *s = NULL;
	int rv;

	snprintf(rel, sizeof(rel), "tests/data/sheets/%s", name);
	tu_src(path, sizeof(path), rel);
	rv = ocp_sheetcsv_load_file(&s, r, path, err, sizeof(err));
	if (rv != OCOP_OK) {
		print_error("%s\n", err);
	}
	assert_ok(rv);
	return s;
}

static ocp_score *
score_of(const ocp_rubric *r, const ocp_sheetcsv *csv)
{
	const ocp_sheet *sheets;
	ocp_score *s = NULL;
	char err[512];
	size_t n;

	sheets = ocp_sheetcsv_sheets(csv, &n);
	assert_ok(ocp_score_compute(&s, r, sheets, n, NULL, err, sizeof(err)));
	return s;
}

static void
test_a_council_csv_becomes_one_sheet_per_member_in_order(void **state)
{
	const ocp_rubric *r = *state;
	ocp_sheetcsv *csv = load(r, "potential5.csv");
	const ocp_sheet *sheets;
	ocp_score *s;
	size_t n;

	sheets = ocp_sheetcsv_sheets(csv, &n);
	assert_int_equal(n, 3);
	assert_string_equal(sheets[0].member, "Member 1");
	assert_string_equal(sheets[2].member, "Member 3");
	assert_int_equal(sheets[1].n_choices, 32);
	assert_string_equal(sheets[1].choices[0].code, "1.1");
	/* Header on line 1, Member 1 on lines 2..33, Member 2 from line 34. */
	assert_int_equal(ocp_sheetcsv_line(csv, 0, 0), 2);
	assert_int_equal(ocp_sheetcsv_line(csv, 1, 0), 34);
	s = score_of(r, csv);
	assert_int_equal(s->sum, 28900); /* 100 + 94 + 95, see test_score.c */
	assert_true(s->potential_5star);
	ocp_score_free(s);
	ocp_sheetcsv_free(csv);
}

static void
test_bom_crlf_blank_lines_and_quotes_read_the_same(void **state)
{
	const ocp_rubric *r = *state;
	ocp_sheetcsv *a = load(r, "potential5.csv");
	ocp_sheetcsv *b = load(r, "potential5-bom-crlf.csv");
	ocp_score *sa = score_of(r, a);
	ocp_score *sb = score_of(r, b);
	size_t i;

	assert_int_equal(sa->count, sb->count);
	for (i = 0; i < sa->count; i++) {
		assert_string_equal(sa->members[i].member, sb->members[i].member);
		assert_int_equal(sa->members[i].total, sb->members[i].total);
	}
	/* The blank line before Member 2 shifts its first row to line 35. */
	assert_int_equal(ocp_sheetcsv_line(b, 1, 0), 35);
	ocp_score_free(sa);
	ocp_score_free(sb);
	ocp_sheetcsv_free(a);
	ocp_sheetcsv_free(b);
}

static void
test_each_bad_file_is_refused_naming_line_and_reason(void **state)
{
	static const struct {
		const char *file;
		int line;
		const char *why;
	} cases[] = {
	    {"bad-header.csv", 1, "the header must be exactly member,criterion,points"},
	    {"bad-unknown-criterion.csv", 3, "criterion '9.9': no such criterion in rubric"},
	    {"bad-points.csv", 4, "criterion '1.3': 2.5 points is not one of its options (1, 2, 3)"},
	    {"bad-duplicate.csv", 4, "criterion '1.1': duplicate row (first on line 2)"},
	    {"bad-missing.csv", 34, "member 'Member 2', criterion '3.4': missing"},
	    {"bad-fields.csv", 3, "malformed line: expected 3 fields (member,criterion,points), found 2"},
	    {"bad-number.csv", 3, "malformed line: points 'two' is neither a number"},
	    {"bad-conditional.csv", 22, "criterion '5.2': applies only when 5.1 is above 0"},
	    {"bad-quote.csv", 3, "malformed line"},
	    {"bad-ko.csv", 2, "criterion '1.1': KO is not possible here"},
	};
	const ocp_rubric *r = *state;
	char rel[256];
	char path[1024];
	char want[1100];
	char err[1400];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ocp_sheetcsv *s = (ocp_sheetcsv *)1;
		snprintf(rel, sizeof(rel), "tests/data/sheets/%s", cases[i].file);
		tu_src(path, sizeof(path), rel);
		err[0] = '\0';
		assert_err(ocp_sheetcsv_load_file(&s, r, path, err, sizeof(err)), OCOP_EINPUT);
		assert_null(s);
		snprintf(want, sizeof(want), "%s:%d: ", path, cases[i].line);
		if (strncmp(err, want, strlen(want)) != 0 || strstr(err, cases[i].why) == NULL) {
			fail_msg("%s: got \"%s\", want \"%s...%s\"", cases[i].file, err, want,
			    cases[i].why);
		}
	}
}

static void
test_small_inputs_name_their_line(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {"", "t:1: empty file"},
	    {"member,criterion,points\n", "t:1: no score rows after the header"},
	    {"\n\nmember,criterion,points\n\nMember 1,1.1,4\n", "t:5: member 'Member 1', criterion '1.1': 4 points"},
	    {"member,criterion,points\n\"Member, 1\",1.1,3\n\"x\",1.9,3\n", "t:3: member 'x', criterion '1.9'"},
	    {"member,criterion,points\n\"Mem\nber\",1.1,3\n", "t:2: malformed line: a field is not valid UTF-8"},
	    {"member,criterion,points\n,1.1,3\n", "t:2: malformed line: the member is empty"},
	    {"member,criterion,points\nMember 1,,3\n", "t:2: malformed line: the criterion is empty"},
	    {"member,criterion,points\nMember 1,1.1,3,extra\n", "t:2: malformed line: expected 3 fields"},
	    {"Member,Criterion,Points\n", "t:1: the header must be exactly"},
	    {"member,criterion,points\nM\xC3\x28,1.1,3\n", "t:2: not valid UTF-8 text (a spreadsheet saved it in another encoding, such as Windows-1258); save the file again as \"CSV UTF-8"},
	};
	const ocp_rubric *r = *state;
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ocp_sheetcsv *s = NULL;
		err[0] = '\0';
		assert_err(ocp_sheetcsv_parse(&s, r, "t", cases[i].text, strlen(cases[i].text), err,
			       sizeof(err)),
		    OCOP_EINPUT);
		if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0) {
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
		}
	}
}

static void
test_ko_is_read_in_either_case_and_a_missing_conditional_is_fine(void **state)
{
	const ocp_rubric *r = *state;
	ocp_sheetcsv *csv = load(r, "no-story.csv");
	const ocp_sheet *sheets;
	ocp_score *s;
	char path[1024];
	char err[512];
	char *text;
	char *ko;
	size_t n;

	sheets = ocp_sheetcsv_sheets(csv, &n);
	assert_int_equal(n, 2);
	assert_int_equal(sheets[0].n_choices, 31); /* 5.2 left out */
	s = score_of(r, csv);
	assert_int_equal(s->members[0].total, 9300);
	ocp_score_free(s);
	ocp_sheetcsv_free(csv);

	csv = load(r, "knockout.csv");
	sheets = ocp_sheetcsv_sheets(csv, &n);
	assert_true(sheets[1].choices[22].ko); /* 6.1 of Member 2 */
	ocp_sheetcsv_free(csv);

	/* The same file with "ko" in lower case. */
	tu_src(path, sizeof(path), "tests/data/sheets/knockout.csv");
	text = tu_slurp(path);
	assert_non_null(text);
	ko = strstr(text, ",KO");
	assert_non_null(ko);
	memcpy(ko, ",ko", 3);
	assert_ok(ocp_sheetcsv_parse(&csv, r, "k", text, strlen(text), err, sizeof(err)));
	sheets = ocp_sheetcsv_sheets(csv, &n);
	assert_true(sheets[1].choices[22].ko);
	ocp_sheetcsv_free(csv);
	com_free(text);
}

static void
test_an_outline_rubric_is_refused_before_reading(void **state)
{
	ocp_rubric *outline = NULL;
	ocp_sheetcsv *s = NULL;
	char path[1024];
	char err[512];
	const char text[] = "member,criterion,points\nMember 1,1,3\n";

	(void)state;
	tu_src(path, sizeof(path), "tests/data/rubrics/outline.rubric");
	assert_ok(ocp_rubric_load_file(&outline, path, err, sizeof(err)));
	assert_err(ocp_sheetcsv_parse(&s, outline, "t", text, strlen(text), err, sizeof(err)),
	    OCOP_ERUBRIC);
	assert_non_null(strstr(err, "cannot be used for scoring"));
	ocp_rubric_free(outline);
}

static void
test_a_missing_file_is_not_found(void **state)
{
	ocp_sheetcsv *s = NULL;
	char err[512];

	assert_err(ocp_sheetcsv_load_file(&s, *state, "/nonexistent/sheets.csv", err, sizeof(err)),
	    OCOP_ENOENT);
	assert_non_null(strstr(err, "/nonexistent/sheets.csv"));
}

static void
test_parse_fails_cleanly_at_every_allocation(void **state)
{
	const ocp_rubric *r = *state;
	char path[1024];
	char err[512];
	char *text;
	long k;
	int rv = OCOP_ENOMEM;

	tu_src(path, sizeof(path), "tests/data/sheets/knockout.csv");
	text = tu_slurp(path);
	assert_non_null(text);
	for (k = 0; rv == OCOP_ENOMEM; k++) {
		ocp_sheetcsv *s = (ocp_sheetcsv *)1;
		com_alloc_fail_after(k);
		rv = ocp_sheetcsv_parse(&s, r, "k", text, strlen(text), err, sizeof(err));
		com_alloc_fail_after(-1);
		if (rv == OCOP_ENOMEM) {
			assert_null(s);
		} else {
			assert_ok(rv);
			ocp_sheetcsv_free(s);
		}
	}
	assert_true(k > 100);
	com_free(text);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_a_council_csv_becomes_one_sheet_per_member_in_order),
	    T(test_bom_crlf_blank_lines_and_quotes_read_the_same),
	    T(test_each_bad_file_is_refused_naming_line_and_reason),
	    T(test_small_inputs_name_their_line),
	    T(test_ko_is_read_in_either_case_and_a_missing_conditional_is_fine),
	    T(test_an_outline_rubric_is_refused_before_reading),
	    T(test_a_missing_file_is_not_found),
	    T(test_parse_fails_cleanly_at_every_allocation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
