/*
 * test_corpus.c: replays every fuzzing seed (tests/fuzz/corpus/<target>/) and
 * every saved crash (tests/fuzz/crashes/) through the same oracle as the
 * libFuzzer targets, in the normal build, so every input that once crashed
 * stays a regression test. Asserts no crash and a documented return code.
 */
#include "tests/lib/testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util/alloc.h"
#include "tests/fuzz/decode.h"

typedef int (*fz_fn)(const uint8_t *p, size_t len);

/* Read a whole file into an exact-size com_malloc'd block (so over-reads are caught). */
static uint8_t *
read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *p;

	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &st), 0);
	*len = (size_t)st.st_size;
	p = com_malloc(*len);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, *len, f), *len);
	fclose(f);
	return p;
}

/* True for files that are inputs (not notes such as README.md or dot files). */
static int
is_input(const char *name)
{
	size_t n = strlen(name);

	return name[0] != '.' && !(n > 3 && strcmp(name + n - 3, ".md") == 0);
}

/*
 * Feed every input file in the source-tree directory rel to each of fns.
 * Returns the number of inputs; *ok counts those the first function accepted.
 */
static size_t
replay(const char *rel, const fz_fn *fns, size_t nfns, size_t *ok)
{
	char dir[1024];
	char path[2048];
	DIR *d;
	struct dirent *e;
	size_t count = 0;
	size_t len;
	size_t k;
	uint8_t *p;
	int rv;

	tu_src(dir, sizeof(dir), rel);
	*ok = 0;
	d = opendir(dir);
	if (d == NULL) {
		/* A folder that is not there replays nothing: that is a broken
		 * checkout or a wrong path, never a pass. */
		print_error("%s: cannot open the folder to replay\n", dir);
	}
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		if (!is_input(e->d_name)) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		{
			struct stat sb;
			if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
				continue; /* the text parsers' crash folders live below */
			}
		}
		p = read_file(path, &len);
		for (k = 0; k < nfns; k++) {
			rv = fns[k](p, len);
			if (rv == FZ_BROKEN) {
				print_error("%s: a decoder broke its promises\n", path);
			}
			assert_true(rv == OCOP_OK || rv == OCOP_EPROTO || rv == OCOP_EVERSION);
			if (k == 0 && rv == OCOP_OK) {
				(*ok)++;
			}
		}
		com_free(p);
		count++;
	}
	closedir(d);
	return count;
}

static void
test_every_message_seed_decodes_without_a_broken_promise(void **state)
{
	const fz_fn fns[] = {fz_decode_message};
	size_t ok;
	size_t n;

	(void)state;
	n = replay("tests/fuzz/corpus/message", fns, 1, &ok);
	/* One seed per message type at least, and the seeds are valid messages. */
	assert_true(n >= 9);
	assert_true(ok >= 9);
}

static void
test_every_file_message_seed_decodes_without_a_broken_promise(void **state)
{
	const fz_fn fns[] = {fz_decode_message};
	size_t ok;
	size_t n;

	(void)state;
	n = replay("tests/fuzz/corpus/files", fns, 1, &ok);
	/* One seed per file message type at least (PROTOCOL.md 4.10-4.15). */
	assert_true(n >= 6);
	assert_true(ok >= 6);
}

static void
test_every_change_seed_decodes_without_a_broken_promise(void **state)
{
	const fz_fn fns[] = {fz_decode_change};
	size_t ok;
	size_t n;

	(void)state;
	n = replay("tests/fuzz/corpus/change", fns, 1, &ok);
	assert_true(n >= 2);
	assert_true(ok >= 2);
}

static void
test_every_saved_crash_is_now_refused_cleanly(void **state)
{
	const fz_fn fns[] = {fz_decode_message, fz_decode_change};
	size_t ok;

	(void)state;
	/* Every input that ever crashed a decoder is kept there (one so far, see
	 * its README): an empty or missing folder means the replay lost them. */
	assert_true(replay("tests/fuzz/crashes", fns, 2, &ok) >= 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_message_seed_decodes_without_a_broken_promise),
	    cmocka_unit_test(test_every_change_seed_decodes_without_a_broken_promise),
	    cmocka_unit_test(test_every_file_message_seed_decodes_without_a_broken_promise),
	    cmocka_unit_test(test_every_saved_crash_is_now_refused_cleanly),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
