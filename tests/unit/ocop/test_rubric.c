/* Unit tests for common/ocop/rubric.c: the shipped data, the validator's refusals, lookups. */
#include "tests/lib/testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/ocop/rubric.h"
#include "common/util/alloc.h"

/* A minimal valid rubric; the broken fixtures under tests/data/rubrics-bad each change it once. */
static const char base_rubric[] = "rubric test/base\n"
				  "basis : Test basis\n"
				  "title : Minimal rubric\n"
				  "part A 40 : Part A\n"
				  "group 1 40 : Group 1\n"
				  "criterion 1.1 40 : Criterion 1.1\n"
				  "option 0 : None\n"
				  "option 20 *** : Some\n"
				  "option 40 : All\n"
				  "part B 25 : Part B\n"
				  "group 2 25 : Group 2\n"
				  "criterion 2.1 25 : Criterion 2.1\n"
				  "option 25 : All\n"
				  "part C 35 : Part C\n"
				  "group 3 35 : Group 3\n"
				  "criterion 3.1 20 : Criterion 3.1\n"
				  "option 20 : All\n"
				  "criterion 3.2 15 : Criterion 3.2\n"
				  "option 15 : All\n";

static ocp_rubric *
load_data(const char *rel)
{
	char path[1024];
	char err[512] = "";
	ocp_rubric *r = NULL;
	int rv;

	tu_src(path, sizeof(path), rel);
	rv = ocp_rubric_load_file(&r, path, err, sizeof(err));
	if (rv != OCOP_OK) {
		print_error("%s: %s\n", path, err);
	}
	assert_ok(rv);
	return r;
}

static int64_t
criterion_sum(const ocp_rubric *r, size_t part)
{
	int64_t sum = 0;
	size_t i;

	for (i = 0; i < ocp_rubric_criterion_count(r); i++) {
		if (part == OCP_NONE || ocp_rubric_criterion(r, i)->part == part) {
			sum += ocp_rubric_criterion(r, i)->max;
		}
	}
	return sum;
}

/* ===== Shipped data ===== */

static void
test_every_shipped_rubric_loads_validates_and_matches_its_path(void **state)
{
	char data[1024];
	char root[1100];
	char sub[1400];
	char path[1800];
	char id[600];
	char err[512];
	DIR *d1;
	DIR *d2;
	struct dirent *e1;
	struct dirent *e2;
	int files = 0;

	(void)state;
	tu_src(data, sizeof(data), "data");
	snprintf(root, sizeof(root), "%s/rubrics", data);
	d1 = opendir(root);
	assert_non_null(d1);
	while ((e1 = readdir(d1)) != NULL) {
		if (e1->d_name[0] == '.') {
			continue;
		}
		snprintf(sub, sizeof(sub), "%s/%s", root, e1->d_name);
		d2 = opendir(sub);
		if (d2 == NULL) {
			continue; /* README.md and other plain files */
		}
		while ((e2 = readdir(d2)) != NULL) {
			size_t n = strlen(e2->d_name);
			ocp_rubric *r = NULL;
			if (n < 8 || strcmp(e2->d_name + n - 7, ".rubric") != 0) {
				continue;
			}
			snprintf(path, sizeof(path), "%s/%s", sub, e2->d_name);
			err[0] = '\0';
			if (ocp_rubric_load_file(&r, path, err, sizeof(err)) != OCOP_OK) {
				fail_msg("%s does not validate: %s", path, err);
			}
			/* The id is the path: <basis>/<set>.rubric. */
			snprintf(id, sizeof(id), "%s/%.*s", e1->d_name, (int)(n - 7), e2->d_name);
			assert_string_equal(ocp_rubric_id(r), id);
			assert_int_equal(ocp_rubric_part(r, 0)->max + ocp_rubric_part(r, 1)->max +
				ocp_rubric_part(r, 2)->max,
			    10000);
			ocp_rubric_free(r);
			r = NULL;
			assert_ok(ocp_rubric_load_id(&r, data, id, err, sizeof(err)));
			ocp_rubric_free(r);
			files++;
		}
		closedir(d2);
	}
	closedir(d1);
	/* QĐ 26/2026 sets 01..26, plus the part maxima of QĐ 148/2023 and QĐ 1048/2019. */
	assert_int_equal(files, 28);
}

static void
test_shipped_rubrics_have_the_depth_their_sources_allow(void **state)
{
	static const struct {
		const char *rel;
		ocp_depth depth;
	} cases[] = {
	    {"data/rubrics/qd26-2026/01.rubric", OCP_DEPTH_CRITERIA},
	    {"data/rubrics/qd26-2026/07.rubric", OCP_DEPTH_CRITERIA},
	    {"data/rubrics/qd26-2026/02.rubric", OCP_DEPTH_CRITERIA},
	    {"data/rubrics/qd26-2026/18.rubric", OCP_DEPTH_CRITERIA},
	    {"data/rubrics/qd26-2026/26.rubric", OCP_DEPTH_CRITERIA},
	    {"tests/data/rubrics/outline.rubric", OCP_DEPTH_GROUPS},
	    {"data/rubrics/qd148-2023/parts.rubric", OCP_DEPTH_PARTS},
	    {"data/rubrics/qd1048-2019/parts.rubric", OCP_DEPTH_PARTS},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ocp_rubric *r = load_data(cases[i].rel);
		assert_int_equal(ocp_rubric_depth(r), cases[i].depth);
		ocp_rubric_free(r);
	}
}

static void
test_set1_is_the_tree_of_ocop_md_3_5(void **state)
{
	ocp_rubric *r = load_data("data/rubrics/qd26-2026/01.rubric");
	const ocp_criterion *c;
	size_t i51;
	size_t i;

	(void)state;
	assert_string_equal(ocp_rubric_title(r), "Rau, củ, quả, hạt tươi");
	assert_non_null(ocp_rubric_disqualify(r));
	assert_int_equal(ocp_rubric_part(r, 0)->max, 4000);
	assert_int_equal(ocp_rubric_part(r, 1)->max, 2500);
	assert_int_equal(ocp_rubric_part(r, 2)->max, 3500);
	assert_int_equal(ocp_rubric_group_count(r), 12);
	assert_int_equal(ocp_rubric_criterion_count(r), 32);
	assert_int_equal(criterion_sum(r, OCP_NONE), 10000);
	assert_int_equal(criterion_sum(r, 2), 3500);
	/* 4.1: 1, 2***, 3****, 5*****. */
	c = ocp_rubric_find(r, "4.1", NULL);
	assert_non_null(c);
	assert_int_equal(c->max, 500);
	assert_int_equal(ocp_criterion_need(c, 3), 200);
	assert_int_equal(ocp_criterion_need(c, 4), 300);
	assert_int_equal(ocp_criterion_need(c, 5), 500);
	/* 1.6 carries only a 4-star mark on its lowest option. */
	c = ocp_rubric_find(r, "1.6", NULL);
	assert_int_equal(ocp_criterion_need(c, 3), 0);
	assert_int_equal(ocp_criterion_need(c, 5), 100);
	/* 5.2 applies only when 5.1 is above 0. */
	assert_non_null(ocp_rubric_find(r, "5.1", &i51));
	c = ocp_rubric_find(r, "5.2", NULL);
	assert_int_equal(c->cond, i51);
	assert_int_equal(c->cond_above, 0);
	/* Knock-outs on 2.1 and 6.1 only. */
	for (i = 0; i < ocp_rubric_criterion_count(r); i++) {
		const ocp_criterion *k = ocp_rubric_criterion(r, i);
		bool has_ko = ocp_criterion_option(k, 0, true) != NULL;
		bool want = strcmp(k->code, "2.1") == 0 || strcmp(k->code, "6.1") == 0;
		assert_int_equal(has_ko, want);
	}
	/* Group 7 (nutrition) is a leaf criterion with the group's own code. */
	c = ocp_rubric_find(r, "7", NULL);
	assert_non_null(c);
	assert_string_equal(ocp_rubric_group(r, c->group)->code, "7");
	assert_null(ocp_rubric_find(r, "13", NULL));
	ocp_rubric_free(r);
}

static void
test_set7_differs_from_set1_where_ocop_md_says(void **state)
{
	ocp_rubric *r = load_data("data/rubrics/qd26-2026/07.rubric");
	const ocp_criterion *c;
	const ocp_group *g6 = NULL;
	size_t i;
	size_t plain = 0;

	(void)state;
	for (i = 0; i < ocp_rubric_group_count(r); i++) {
		if (strcmp(ocp_rubric_group(r, i)->code, "6") == 0) {
			g6 = ocp_rubric_group(r, i);
		}
	}
	assert_non_null(g6);
	assert_int_equal(g6->max, 1500);
	assert_int_equal(g6->n_criteria, 5);
	assert_int_equal(criterion_sum(r, 2), 3500);
	assert_null(ocp_rubric_find(r, "12", NULL)); /* no nutrition: C ends at 11 */
	assert_int_equal(ocp_rubric_find(r, "11", NULL)->max, 300);
	assert_int_equal(ocp_rubric_find(r, "7", NULL)->max, 500);
	/* 1.1: <50% is 1 point with the 3-star mark, and a knock-out. */
	c = ocp_rubric_find(r, "1.1", NULL);
	assert_int_equal(ocp_criterion_need(c, 3), 100);
	assert_non_null(ocp_criterion_option(c, 0, true));
	/* 2.1 has four levels besides its knock-out. */
	c = ocp_rubric_find(r, "2.1", NULL);
	for (i = 0; i < c->n_options; i++) {
		plain += !c->options[i].ko;
	}
	assert_int_equal(plain, 4);
	assert_int_equal(ocp_criterion_need(c, 4), 300);
	/* 6.5 taste: 3**** and 5*****. */
	c = ocp_rubric_find(r, "6.5", NULL);
	assert_int_equal(ocp_criterion_need(c, 4), 300);
	assert_int_equal(ocp_criterion_need(c, 5), 500);
	ocp_rubric_free(r);
}

static void
test_legacy_rubrics_carry_their_part_maxima(void **state)
{
	ocp_rubric *r148 = load_data("data/rubrics/qd148-2023/parts.rubric");
	ocp_rubric *r1048 = load_data("data/rubrics/qd1048-2019/parts.rubric");

	(void)state;
	assert_int_equal(ocp_rubric_part(r148, 0)->max, 4000);
	assert_int_equal(ocp_rubric_part(r148, 1)->max, 2500);
	assert_int_equal(ocp_rubric_part(r148, 2)->max, 3500);
	assert_int_equal(ocp_rubric_part(r1048, 0)->max, 3500);
	assert_int_equal(ocp_rubric_part(r1048, 1)->max, 2500);
	assert_int_equal(ocp_rubric_part(r1048, 2)->max, 4000);
	assert_int_equal(ocp_rubric_group_count(r1048), 0);
	ocp_rubric_free(r148);
	ocp_rubric_free(r1048);
}

/* ===== Refusals ===== */

static void
test_each_broken_rubric_is_refused_naming_file_and_line(void **state)
{
	static const struct {
		const char *file; /* under tests/data/rubrics-bad */
		int line;         /* expected line in the message */
		const char *why;  /* expected part of the reason */
	} cases[] = {
	    {"criteria-sum", 6, "group 1 has maximum 40.00 but its criteria sum to 39.00"},
	    {"groups-sum", 5, "part A has maximum 40.00 but its groups sum to 38.00"},
	    {"parts-sum", 15, "parts A + B + C sum to 95.00, must be 100"},
	    {"option-above-max", 10, "option points 45.00 exceed the maximum 40.00"},
	    {"bad-star", 9, "bad star mark '**'"},
	    {"duplicate-code", 19, "duplicate criterion code '3.1' (first on line 17)"},
	    {"unknown-keyword", 14, "unknown keyword 'optoin'"},
	    {"malformed-number", 13, "malformed number '25.005'"},
	    {"no-option-at-max", 13, "no option of criterion 2.1 reaches its maximum"},
	    {"ko-with-points", 14, "knock-out option must give 0 points"},
	    {"condition-unknown", 19, "depends on unknown criterion 9.9"},
	    {"missing-title", 2, "missing 'title"},
	    {"option-outside", 6, "option outside a criterion"},
	};
	char rel[256];
	char path[1024];
	char want[1100];
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ocp_rubric *r = (ocp_rubric *)1;
		snprintf(rel, sizeof(rel), "tests/data/rubrics-bad/%s.rubric", cases[i].file);
		tu_src(path, sizeof(path), rel);
		err[0] = '\0';
		assert_err(ocp_rubric_load_file(&r, path, err, sizeof(err)), OCOP_ERUBRIC);
		assert_null(r);
		snprintf(want, sizeof(want), "%s:%d: ", path, cases[i].line);
		if (strncmp(err, want, strlen(want)) != 0 || strstr(err, cases[i].why) == NULL) {
			fail_msg("%s: got \"%s\", want \"%s...%s\"", cases[i].file, err, want,
			    cases[i].why);
		}
	}
}

static void
test_the_base_of_the_broken_fixtures_is_valid(void **state)
{
	char err[256] = "";
	ocp_rubric *r = NULL;
	size_t idx = 99;

	(void)state;
	assert_ok(ocp_rubric_parse(&r, "base", base_rubric, strlen(base_rubric), err, sizeof(err)));
	assert_int_equal(ocp_rubric_depth(r), OCP_DEPTH_CRITERIA);
	assert_non_null(ocp_rubric_find(r, "3.2", &idx));
	assert_int_equal(idx, 3);
	assert_null(ocp_rubric_find(r, "3", NULL));
	assert_int_equal(ocp_rubric_group(r, 2)->n_criteria, 2);
	assert_int_equal(ocp_rubric_part(r, 2)->first_group, 2);
	ocp_rubric_free(r);
}

static void
test_a_bom_and_crlf_line_ends_are_tolerated(void **state)
{
	char *text = com_malloc(3 + 2 * sizeof(base_rubric));
	char err[256] = "";
	ocp_rubric *r = NULL;
	size_t n = 3;
	size_t i;

	(void)state;
	memcpy(text, "\xEF\xBB\xBF", 3);
	for (i = 0; base_rubric[i] != '\0'; i++) {
		if (base_rubric[i] == '\n') {
			text[n++] = '\r';
		}
		text[n++] = base_rubric[i];
	}
	assert_ok(ocp_rubric_parse(&r, "crlf", text, n, err, sizeof(err)));
	assert_string_equal(ocp_rubric_title(r), "Minimal rubric"); /* no stray \r */
	ocp_rubric_free(r);
	com_free(text);
}

static void
test_invalid_utf8_and_stray_text_name_their_line(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {"rubric test/x\ntitle : Bad \xC3\x28 byte\n", "t:2: invalid UTF-8"},
	    {"basis : before the rubric line\n", "t:1: a rubric file starts with"},
	    {"rubric test/x\nrubric test/y\n", "t:2: second 'rubric' line"},
	    {"rubric Test/X\n", "t:1: malformed rubric id"},
	    {"rubric test/x\nbasis :\n", "t:2: expected 'basis : <text>'"},
	    {"rubric test/x\nbasis : b\ntitle : t\npart B 25 : B\n", "t:4: expected part A here"},
	    {"", "t:1: no 'rubric <basis>/<set>' line"},
	};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ocp_rubric *r = NULL;
		err[0] = '\0';
		assert_err(ocp_rubric_parse(&r, "t", cases[i].text, strlen(cases[i].text), err,
			       sizeof(err)),
		    OCOP_ERUBRIC);
		if (strncmp(err, cases[i].want, strlen(cases[i].want)) != 0) {
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err, cases[i].want);
		}
	}
}

static void
test_parse_fails_cleanly_at_every_allocation(void **state)
{
	char path[1024];
	char *text;
	char err[256];
	long k;
	int rv = OCOP_ENOMEM;

	(void)state;
	tu_src(path, sizeof(path), "data/rubrics/qd26-2026/01.rubric");
	text = tu_slurp(path);
	assert_non_null(text);
	for (k = 0; rv == OCOP_ENOMEM; k++) {
		ocp_rubric *r = (ocp_rubric *)1;
		com_alloc_fail_after(k);
		rv = ocp_rubric_parse(&r, "set1", text, strlen(text), err, sizeof(err));
		com_alloc_fail_after(-1);
		if (rv == OCOP_ENOMEM) {
			assert_null(r);
		} else {
			assert_ok(rv);
			assert_int_equal(ocp_rubric_criterion_count(r), 32);
		}
		ocp_rubric_free(r == (ocp_rubric *)1 ? NULL : r);
	}
	assert_true(k > 100); /* the walk really went through the allocations */
	com_free(text);
}

/* ===== Ids and the data directory ===== */

static void
test_load_id_refuses_malformed_and_unknown_ids(void **state)
{
	char data[1024];
	char err[1400];
	ocp_rubric *r = NULL;

	(void)state;
	tu_src(data, sizeof(data), "data");
	assert_err(ocp_rubric_load_id(&r, data, "../../etc/passwd", err, sizeof(err)), OCOP_EINVAL);
	assert_err(ocp_rubric_load_id(&r, data, "qd26-2026", err, sizeof(err)), OCOP_EINVAL);
	assert_err(ocp_rubric_load_id(&r, data, "qd26-2026/99", err, sizeof(err)), OCOP_ENOENT);
	assert_non_null(strstr(err, "unknown rubric 'qd26-2026/99'"));
	assert_err(ocp_rubric_load_id(&r, NULL, "qd26-2026/01", err, sizeof(err)), OCOP_EINVAL);
	assert_null(r);
}

static void
test_load_id_refuses_a_file_that_declares_another_id(void **state)
{
	char *dir = tu_mkdtemp();
	char path[1024];
	char err[1400];
	ocp_rubric *r = NULL;
	FILE *f;

	(void)state;
	assert_non_null(dir);
	snprintf(path, sizeof(path), "%s/rubrics", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/rubrics/test", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/rubrics/test/other.rubric", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(base_rubric, f); /* declares test/base */
	fclose(f);
	assert_err(ocp_rubric_load_id(&r, dir, "test/other", err, sizeof(err)), OCOP_ERUBRIC);
	assert_non_null(strstr(err, ":1: the file declares rubric 'test/base', expected 'test/other'"));
	assert_null(r);
	tu_rmtree(dir);
}

static void
test_data_dir_comes_from_the_environment_or_beside_the_program(void **state)
{
	const char *old = getenv("OCOP_DATA_DIR");
	char *saved = old ? com_strdup(old) : NULL;
	const char *d;
	char probe[4200];
	struct stat st;

	(void)state;
	assert_int_equal(setenv("OCOP_DATA_DIR", "/somewhere/data", 1), 0);
	d = ocp_data_dir();
	assert_non_null(d);
	assert_string_equal(d, "/somewhere/data");
	/* Without the variable: share/ocop beside the program's directory, which the
	 * build directory links to the source tree's data/ (cmake/OcopInstall.cmake). */
	assert_int_equal(unsetenv("OCOP_DATA_DIR"), 0);
	d = ocp_data_dir();
	assert_non_null(d);
	assert_true(strlen(d) > 11 && strcmp(d + strlen(d) - 11, "/share/ocop") == 0);
	snprintf(probe, sizeof(probe), "%s/rubrics/qd26-2026/01.rubric", d);
	assert_int_equal(stat(probe, &st), 0);
	if (saved != NULL) {
		setenv("OCOP_DATA_DIR", saved, 1);
		com_free(saved);
	}
}

/* ===== Points ===== */

static void
test_points_parse_takes_up_to_two_decimals_and_nothing_else(void **state)
{
	static const struct {
		const char *s;
		int64_t want; /* -1: refused */
	} cases[] = {
	    {"3", 300}, {"2.5", 250}, {"0.25", 25}, {"0", 0}, {"100", 10000}, {"007", 700},
	    {"100000", 10000000}, {"2.555", -1}, {"", -1}, {"-1", -1}, {"1e2", -1}, {"2.", -1},
	    {".5", -1}, {"100001", -1}, {"3,5", -1}, {" 3", -1}, {"KO", -1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int64_t v = -7;
		int rv = ocp_points_parse(cases[i].s, strlen(cases[i].s), &v);
		if (cases[i].want < 0) {
			assert_err(rv, OCOP_EINPUT);
		} else {
			assert_ok(rv);
			assert_int_equal(v, cases[i].want);
		}
	}
}

static void
test_points_format_always_shows_two_decimals(void **state)
{
	char b[32];

	(void)state;
	ocp_points_format(b, sizeof(b), 8999);
	assert_string_equal(b, "89.99");
	ocp_points_format(b, sizeof(b), 0);
	assert_string_equal(b, "0.00");
	ocp_points_format(b, sizeof(b), 10000);
	assert_string_equal(b, "100.00");
	ocp_points_format(b, sizeof(b), -150);
	assert_string_equal(b, "-1.50");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_shipped_rubric_loads_validates_and_matches_its_path),
	    cmocka_unit_test(test_shipped_rubrics_have_the_depth_their_sources_allow),
	    cmocka_unit_test(test_set1_is_the_tree_of_ocop_md_3_5),
	    cmocka_unit_test(test_set7_differs_from_set1_where_ocop_md_says),
	    cmocka_unit_test(test_legacy_rubrics_carry_their_part_maxima),
	    cmocka_unit_test(test_each_broken_rubric_is_refused_naming_file_and_line),
	    cmocka_unit_test(test_the_base_of_the_broken_fixtures_is_valid),
	    cmocka_unit_test(test_a_bom_and_crlf_line_ends_are_tolerated),
	    cmocka_unit_test(test_invalid_utf8_and_stray_text_name_their_line),
	    cmocka_unit_test(test_parse_fails_cleanly_at_every_allocation),
	    cmocka_unit_test(test_load_id_refuses_malformed_and_unknown_ids),
	    cmocka_unit_test(test_load_id_refuses_a_file_that_declares_another_id),
	    cmocka_unit_test(test_data_dir_comes_from_the_environment_or_beside_the_program),
	    cmocka_unit_test(test_points_parse_takes_up_to_two_decimals_and_nothing_else),
	    cmocka_unit_test(test_points_format_always_shows_two_decimals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
