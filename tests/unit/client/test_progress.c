/*
 * unit.client.progress: the progress line of file transfers (client/progress.c)
 * draws on a terminal once a transfer has lasted a couple of seconds, with
 * bytes, rate and time left, ends with a newline, and writes nothing at all
 * when its stream is not a terminal.
 */
#define _XOPEN_SOURCE 700 /* posix_openpt and friends: a terminal to draw on */

#include "tests/lib/testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/progress.h"

/* Everything the terminal received so far. */
static void
drain(int master, char *out, size_t cap)
{
	size_t n = 0;
	ssize_t r;

	while (n + 1 < cap && (r = read(master, out + n, cap - 1 - n)) > 0) {
		n += (size_t)r;
	}
	out[n] = 0;
}

static void
test_a_long_transfer_draws_one_line_on_a_terminal(void **state)
{
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	sto_xfer_progress x;
	cli_progress p;
	char seen[2048];
	FILE *tty;

	(void)state;
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	tty = fopen(ptsname(master), "w");
	assert_non_null(tty);
	fcntl(master, F_SETFL, O_NONBLOCK);
	cli_progress_init(&p, tty, "ocop sync: files");
	assert_true(p.tty);
	memset(&x, 0, sizeof(x));
	x.total = 2000000;
	x.done = 500000;
	x.files_total = 2;
	x.up = true;
	/* A transfer of a moment shows nothing. */
	cli_progress_update(&p, &x);
	drain(master, seen, sizeof(seen));
	assert_string_equal(seen, "");
	/* Past two seconds it does: bytes, rate, time left, on one line redrawn in place. */
	p.start_ms -= 3000;
	cli_progress_update(&p, &x);
	drain(master, seen, sizeof(seen));
	assert_non_null(strstr(seen, "ocop sync: files up 500.0 kB of 2.0 MB (0 of 2 files)"));
	assert_non_null(strstr(seen, "/s"));
	assert_non_null(strstr(seen, "s left"));
	assert_null(strchr(seen, '\n'));
	x.done = x.total;
	x.files_done = 2;
	cli_progress_update(&p, &x);
	cli_progress_end(&p);
	drain(master, seen, sizeof(seen));
	assert_non_null(strstr(seen, "2.0 MB of 2.0 MB (2 of 2 files)"));
	assert_non_null(strchr(seen, '\n'));
	fclose(tty);
	close(master);
}

static void
test_nothing_is_written_when_not_a_terminal(void **state)
{
	sto_xfer_progress x;
	cli_progress p;
	char buf[64];
	FILE *f = tmpfile();

	(void)state;
	assert_non_null(f);
	cli_progress_init(&p, f, "ocop sync: files");
	assert_false(p.tty);
	p.start_ms -= 10000;
	memset(&x, 0, sizeof(x));
	x.total = 10;
	x.done = 5;
	cli_progress_update(&p, &x);
	cli_progress_end(&p);
	rewind(f);
	assert_int_equal(fread(buf, 1, sizeof(buf), f), 0);
	fclose(f);
}

static void
test_sizes_read_as_people_count_them(void **state)
{
	char s[32];

	(void)state;
	cli_progress_bytes(999, s, sizeof(s));
	assert_string_equal(s, "999 B");
	cli_progress_bytes(20000000, s, sizeof(s));
	assert_string_equal(s, "20.0 MB");
	cli_progress_bytes(UINT64_C(3500000000), s, sizeof(s));
	assert_string_equal(s, "3.50 GB");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_long_transfer_draws_one_line_on_a_terminal),
	    cmocka_unit_test(test_nothing_is_written_when_not_a_terminal),
	    cmocka_unit_test(test_sizes_read_as_people_count_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
