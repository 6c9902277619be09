/*
 * Integration: `ocop score` run as a program on the shipped rubrics and the CSV
 * fixtures of tests/data/sheets, checking its JSON, its table and its exit codes.
 */
#include "tests/lib/testutil.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/util/alloc.h"

/* Doubles compared to well below the 2 decimals that matter (cmocka compares floats). */
#define assert_near(a, b) assert_true((a) - (b) < 1e-9 && (b) - (a) < 1e-9)

/* Run `ocop score ARGS` with OCOP_DATA_DIR at the source tree's data/; returns the exit code. */
static int
run_score(char **out, int merge, const char *args)
{
	char bin[1024];
	char data[1024];

	tu_bin(bin, sizeof(bin), "ocop");
	tu_src(data, sizeof(data), "data");
	return tu_run(out, merge, "OCOP_DATA_DIR='%s' '%s' score %s", data, bin, args);
}

/* "--rubric qd26-2026/01 --sheets <fixture>" plus extra options. */
static int
run_set1(char **out, int merge, const char *sheet, const char *extra)
{
	char rel[256];
	char path[1024];
	char args[4096];

	snprintf(rel, sizeof(rel), "tests/data/sheets/%s", sheet);
	tu_src(path, sizeof(path), rel);
	snprintf(args, sizeof(args), "--rubric qd26-2026/01 --sheets '%s' %s", path, extra);
	return run_score(out, merge, args);
}

static json_t *
run_json(const char *sheet, const char *extra)
{
	char opts[256];
	char *out = NULL;
	json_error_t jerr;
	json_t *j;

	snprintf(opts, sizeof(opts), "--json %s", extra);
	assert_int_equal(run_set1(&out, 0, sheet, opts), 0);
	j = json_loads(out, 0, &jerr);
	if (j == NULL) {
		fail_msg("not JSON (%s): %s", jerr.text, out);
	}
	com_free(out);
	return j;
}

static double
num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_non_null(v);
	assert_true(json_is_number(v));
	return json_number_value(v);
}

static long long
integer(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_non_null(v);
	assert_true(json_is_integer(v));
	return json_integer_value(v);
}

static bool
boolean(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_non_null(v);
	assert_true(json_is_boolean(v));
	return json_is_true(v);
}

static void
test_json_output_of_a_potential_five_star_council(void **state)
{
	json_t *j = run_json("potential5.csv", "");
	json_t *members = json_object_get(j, "members");
	json_t *m2;
	json_t *parts;

	(void)state;
	/* Worked example of test_score.c: totals 100, 94, 95; mean 96.33. */
	assert_true(json_is_array(members));
	assert_int_equal(json_array_size(members), 3);
	m2 = json_array_get(members, 1);
	assert_string_equal(json_string_value(json_object_get(m2, "member")), "Member 2");
	assert_near(num(m2, "total"), 94.0);
	assert_near(num(m2, "A"), 39.0);
	assert_near(num(m2, "B"), 23.0);
	assert_near(num(m2, "C"), 32.0);
	assert_near(num(j, "mean"), 289.0 / 3.0);
	assert_string_equal(json_string_value(json_object_get(j, "mean_display")), "96.33");
	parts = json_object_get(j, "parts");
	assert_near(num(parts, "A"), 39.0);
	assert_near(num(parts, "B"), 71.0 / 3.0);
	assert_near(num(parts, "C"), 101.0 / 3.0);
	assert_int_equal(integer(j, "band_star"), 5);
	assert_int_equal(integer(j, "minima_star"), 5);
	assert_int_equal(integer(j, "star"), 5);
	assert_near(num(j, "spread"), 6.0);
	assert_true(boolean(j, "spread_ok"));
	assert_true(boolean(j, "potential_5star"));
	assert_false(boolean(json_object_get(j, "knockout"), "applies"));
	assert_string_equal(json_string_value(json_object_get(j, "rubric")), "qd26-2026/01");
	json_decref(j);
}

static void
test_json_reports_knock_out_minima_and_spread(void **state)
{
	json_t *j;
	json_t *ko;
	json_t *c;

	(void)state;
	j = run_json("knockout.csv", "");
	assert_int_equal(integer(j, "star"), 0);
	ko = json_object_get(j, "knockout");
	assert_true(boolean(ko, "applies"));
	c = json_array_get(json_object_get(ko, "choices"), 0);
	assert_non_null(c);
	assert_string_equal(json_string_value(json_object_get(c, "member")), "Member 2");
	assert_string_equal(json_string_value(json_object_get(c, "criterion")), "6.1");
	assert_false(boolean(j, "potential_5star"));
	json_decref(j);

	j = run_json("capped.csv", "");
	assert_int_equal(integer(j, "band_star"), 5);
	assert_int_equal(integer(j, "minima_star"), 2);
	assert_int_equal(integer(j, "star"), 2);
	c = json_array_get(json_object_get(j, "minima_misses"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "criterion")), "4.1");
	assert_int_equal(integer(c, "level"), 3);
	json_decref(j);

	j = run_json("spread10.csv", "");
	assert_near(num(j, "spread"), 10.0);
	assert_false(boolean(j, "spread_ok"));
	assert_false(boolean(j, "potential_5star"));
	json_decref(j);
	j = run_json("spread10.csv", "--no-spread-rule");
	assert_true(boolean(j, "spread_ok"));
	assert_true(boolean(j, "potential_5star"));
	json_decref(j);
	j = run_json("spread10.csv", "--spread 10.5");
	assert_true(boolean(j, "spread_ok"));
	json_decref(j);
	j = run_json("potential5.csv", "--disqualified");
	assert_int_equal(integer(j, "star"), 0);
	assert_true(boolean(j, "disqualified"));
	json_decref(j);
}

static void
test_text_output_is_a_table_with_stars(void **state)
{
	char *out = NULL;

	(void)state;
	assert_int_equal(run_set1(&out, 0, "potential5.csv", ""), 0);
	assert_non_null(strstr(out, "Member 2    94.00   39.00   23.00   32.00"));
	assert_non_null(strstr(out, "Mean        96.33   39.00   23.66   33.66"));
	assert_non_null(strstr(out, "Star: 5★"));
	assert_non_null(strstr(out, "Potential 5★: yes"));
	com_free(out);
	assert_int_equal(run_set1(&out, 0, "capped.csv", ""), 0);
	assert_non_null(strstr(out, "3★ not met on 4.1"));
	com_free(out);
}

static void
test_each_class_of_bad_input_exits_2_naming_the_line(void **state)
{
	static const struct {
		const char *file;
		const char *want; /* after "<file>:" */
	} cases[] = {
	    {"bad-header.csv", "1: the header must be exactly"},
	    {"bad-unknown-criterion.csv", "3: member 'Member 1', criterion '9.9': no such criterion"},
	    {"bad-points.csv", "4: member 'Member 1', criterion '1.3': 2.5 points is not one"},
	    {"bad-duplicate.csv", "4: member 'Member 1', criterion '1.1': duplicate row"},
	    {"bad-missing.csv", "34: member 'Member 2', criterion '3.4': missing"},
	    {"bad-fields.csv", "3: malformed line"},
	    {"bad-number.csv", "3: malformed line"},
	    {"bad-quote.csv", "3: malformed line"},
	    {"bad-conditional.csv", "22: member 'Member 1', criterion '5.2': applies only when"},
	    {"bad-ko.csv", "2: member 'Member 1', criterion '1.1': KO is not possible"},
	};
	char want[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		int rc = run_set1(&out, 1, cases[i].file, "--json");
		snprintf(want, sizeof(want), "%s:%s", cases[i].file, cases[i].want);
		if (rc != 2 || strstr(out, want) == NULL) {
			fail_msg("%s: exit %d, output \"%s\", want \"%s\"", cases[i].file, rc, out,
			    want);
		}
		com_free(out);
	}
}

static void
test_bad_usage_and_unknown_rubrics_exit_2(void **state)
{
	static const struct {
		const char *args;
		const char *want;
	} cases[] = {
	    {"--rubric qd26-2026/99 --sheets x.csv", "unknown rubric 'qd26-2026/99'"},
	    {"--rubric ../../etc --sheets x.csv", "malformed rubric id"},
	    {"--rubric-file outline --sheets x.csv", "not-used"},
	    {"--rubric qd26-2026/01", "--sheets FILE.csv is required"},
	    {"--sheets x.csv", "give exactly one of --rubric"},
	    {"--rubric qd26-2026/01 --sheets /nonexistent/x.csv", "/nonexistent/x.csv: cannot open"},
	    {"--rubric qd26-2026/01 --sheets x.csv --spread 0", "--spread needs a number"},
	    {"--rubric qd26-2026/01 --sheets x.csv --frobnicate", "unknown option '--frobnicate'"},
	    {"--rubric", "--rubric needs a value"},
	};
	char path[1024];
	char args[4096];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *out = NULL;
		const char *want = cases[i].want;
		int rc;
		if (strcmp(want, "not-used") == 0) {
			/* An outline rubric exists but cannot score: refused before the CSV is read. */
			char rubric[1024];

			tu_src(path, sizeof(path), "tests/data/sheets/potential5.csv");
			tu_src(rubric, sizeof(rubric), "tests/data/rubrics/outline.rubric");
			snprintf(args, sizeof(args), "--rubric-file '%s' --sheets '%s'", rubric, path);
			rc = run_score(&out, 1, args);
			want = "stops at group level";
		} else {
			rc = run_score(&out, 1, cases[i].args);
		}
		if (rc != 2 || strstr(out, want) == NULL) {
			fail_msg("'%s': exit %d, output \"%s\", want \"%s\"", cases[i].args, rc, out,
			    want);
		}
		com_free(out);
	}
}

static void
test_help_and_the_data_directory_above_the_program(void **state)
{
	char bin[1024];
	char path[1024];
	char *out = NULL;

	(void)state;
	assert_int_equal(run_score(&out, 0, "--help"), 0);
	assert_non_null(strstr(out, "usage: ocop score --rubric ID --sheets FILE.csv"));
	com_free(out);
	/* Without OCOP_DATA_DIR the program finds share/ocop beside its bin/ (cmake/OcopInstall.cmake). */
	tu_bin(bin, sizeof(bin), "ocop");
	tu_src(path, sizeof(path), "tests/data/sheets/potential5.csv");
	assert_int_equal(tu_run(&out, 1, "env -u OCOP_DATA_DIR '%s' score --rubric qd26-2026/01 "
					 "--sheets '%s' --json",
			     bin, path),
	    0);
	assert_non_null(strstr(out, "\"potential_5star\": true"));
	com_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_json_output_of_a_potential_five_star_council),
	    cmocka_unit_test(test_json_reports_knock_out_minima_and_spread),
	    cmocka_unit_test(test_text_output_is_a_table_with_stars),
	    cmocka_unit_test(test_each_class_of_bad_input_exits_2_naming_the_line),
	    cmocka_unit_test(test_bad_usage_and_unknown_rubrics_exit_2),
	    cmocka_unit_test(test_help_and_the_data_directory_above_the_program),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
