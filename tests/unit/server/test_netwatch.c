/*
 * Unit tests for server/netwatch.c, the network library's watchdog: probes
 * complete while nng's reaper works; a wedged reaper (here held by a pipe
 * callback that never returns, as nng 1.5.2's own defect holds it) ends the
 * process with SRV_NETWATCH_EXIT and says why; a shutdown that does not
 * finish by its deadline ends the process too.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair0/pair.h>

#include "ocop_err.h"
#include "server/netwatch.h"

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Log lines go to stderr, which the parent reads from a pipe. */
static void
log_cb(void *arg, int level, const char *msg)
{
	(void)arg;
	(void)level;
	fprintf(stderr, "%s\n", msg);
	fflush(stderr);
}

static const com_log test_log = {log_cb, NULL, 0};

/*
 * Run fn in a child process with stderr on a pipe; return its exit status
 * (or -1) and its stderr in out (cap bytes). Every case runs in a child:
 * nng's threads do not survive a fork, so this process never starts them.
 */
static int
in_child(void (*fn)(void), char *out, size_t cap)
{
	int fds[2];
	pid_t pid;
	int st = 0;
	size_t n = 0;
	ssize_t r;

	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], 2);
		fn();
		_exit(0);
	}
	close(fds[1]);
	while (n + 1 < cap && (r = read(fds[0], out + n, cap - 1 - n)) > 0) {
		n += (size_t)r;
	}
	out[n] = 0;
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
child_probes(void)
{
	srv_netwatch *w = NULL;
	char err[256];
	int i;

	if (srv_netwatch_start(&w, &test_log, 2000, 20, err, sizeof(err)) != OCOP_OK) {
		_exit(2);
	}
	for (i = 0; i < 200 && srv_netwatch_probes(w) < 5; i++) {
		sleep_ms(20);
	}
	if (srv_netwatch_probes(w) < 5) {
		_exit(4);
	}
	srv_netwatch_stop(w);
	_exit(0);
}

static void
test_probes_complete_while_the_reaper_works(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(in_child(child_probes, out, sizeof(out)), 0);
}

/* A pipe callback that holds nng's reaper (REM_POST runs on it) for good. */
static void
hold_reaper(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	(void)p;
	(void)ev;
	(void)arg;
	for (;;) {
		sleep_ms(1000);
	}
}

static void
child_wedged_reaper(void)
{
	srv_netwatch *w = NULL;
	nng_socket a;
	nng_socket b;
	char err[256];

	if (srv_netwatch_start(&w, &test_log, 300, 20, err, sizeof(err)) != OCOP_OK ||
	    nng_pair0_open(&a) != 0 || nng_pair0_open(&b) != 0 ||
	    nng_pipe_notify(a, NNG_PIPE_EV_REM_POST, hold_reaper, NULL) != 0 ||
	    nng_listen(a, "inproc://test-netwatch-wedge", NULL, 0) != 0 ||
	    nng_dial(b, "inproc://test-netwatch-wedge", NULL, 0) != 0) {
		_exit(2);
	}
	sleep_ms(100);
	nng_close(b); /* its pipe at a goes to the reaper, which never comes back */
	sleep_ms(10000);
	_exit(3); /* the watchdog did not act */
}

static void
test_a_wedged_reaper_ends_the_process_and_says_why(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(in_child(child_wedged_reaper, out, sizeof(out)), SRV_NETWATCH_EXIT);
	assert_non_null(strstr(out, "the network library is stuck"));
	assert_non_null(strstr(out, "restarts it"));
}

static void
child_late_shutdown(void)
{
	srv_netwatch *w = NULL;
	char err[256];

	if (srv_netwatch_start(&w, &test_log, 2000, 20, err, sizeof(err)) != OCOP_OK) {
		_exit(2);
	}
	srv_netwatch_deadline(w, 200);
	sleep_ms(10000); /* a close that hangs */
	_exit(3);
}

static void
test_a_shutdown_past_its_deadline_ends_the_process(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(in_child(child_late_shutdown, out, sizeof(out)), 1);
	assert_non_null(strstr(out, "shutdown did not finish in time"));
}

static void
child_shutdown_in_time(void)
{
	srv_netwatch *w = NULL;
	char err[256];

	if (srv_netwatch_start(&w, &test_log, 2000, 20, err, sizeof(err)) != OCOP_OK) {
		_exit(2);
	}
	srv_netwatch_deadline(w, 5000);
	srv_netwatch_stop(w);
	_exit(0);
}

static void
test_a_shutdown_in_time_is_left_alone(void **state)
{
	char out[4096];

	(void)state;
	assert_int_equal(in_child(child_shutdown_in_time, out, sizeof(out)), 0);
	assert_null(strstr(out, "shutdown did not finish"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_probes_complete_while_the_reaper_works),
	    cmocka_unit_test(test_a_wedged_reaper_ends_the_process_and_says_why),
	    cmocka_unit_test(test_a_shutdown_past_its_deadline_ends_the_process),
	    cmocka_unit_test(test_a_shutdown_in_time_is_left_alone),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
