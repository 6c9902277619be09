/*
 * fuzz.corpus_text: replays the rubric and CSV seed corpora and any saved
 * crashing inputs (tests/fuzz/crashes/rubric, crashes/sheetcsv) through the
 * fuzz oracle in every build, so a finding stays a regression test.
 */
#include "tests/lib/testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "common/util/alloc.h"
#include "tests/fuzz/decode_text.h"

static int
replay_dir(const char *rel, int which, int *count)
{
	char dir[700];
	char path[1200];
	char rubric[700];
	DIR *d;
	struct dirent *e;
	int bad = 0;

	tu_src(dir, sizeof(dir), rel);
	tu_src(rubric, sizeof(rubric), "data/rubrics/qd26-2026/01.rubric");
	d = opendir(dir);
	if (d == NULL) {
		/* A missing folder replays nothing: a broken checkout, never a pass. */
		print_error("%s: cannot open the folder to replay\n", dir);
		return 1;
	}
	while ((e = readdir(d)) != NULL) {
		FILE *f;
		uint8_t buf[65536];
		size_t n;
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || (len > 3 && strcmp(e->d_name + len - 3, ".md") == 0)) {
			continue; /* notes, not inputs */
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		f = fopen(path, "rb");
		if (f == NULL) {
			continue;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		(*count)++;
		if ((which == 0 ? fz_text_rubric(buf, n) : fz_text_sheetcsv(rubric, buf, n)) != 0) {
			print_error("broken promise on %s\n", path);
			bad++;
		}
	}
	closedir(d);
	return bad;
}

static void
test_every_saved_rubric_and_csv_input_is_parsed_or_refused_cleanly(void **state)
{
	int count = 0;
	int bad = 0;

	(void)state;
	bad += replay_dir("tests/fuzz/corpus/rubric", 0, &count);
	bad += replay_dir("tests/fuzz/crashes/rubric", 0, &count);
	bad += replay_dir("tests/data/rubrics-bad", 0, &count);
	bad += replay_dir("tests/fuzz/corpus/sheetcsv", 1, &count);
	bad += replay_dir("tests/fuzz/crashes/sheetcsv", 1, &count);
	bad += replay_dir("tests/data/sheets", 1, &count);
	assert_true(count >= 10);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_saved_rubric_and_csv_input_is_parsed_or_refused_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
