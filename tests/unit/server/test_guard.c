/*
 * Unit tests for server/guard.c: per-address counting of failed
 * authentication, blocks that double and end, bounded log lines, and a
 * bounded table of addresses.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "server/guard.h"

typedef struct clk {
	uint64_t now; /* ms */
} clk;

static uint64_t
clk_now(void *arg)
{
	return ((clk *)arg)->now;
}

typedef struct logbook {
	int lines;       /* lines logged */
	char last[512];  /* the last one */
} logbook;

static void
log_cb(void *arg, int level, const char *msg)
{
	logbook *b = arg;

	(void)level;
	b->lines++;
	snprintf(b->last, sizeof(b->last), "%s", msg);
}

static void
test_an_address_is_blocked_after_ten_failures_and_released_later(void **state)
{
	clk c = {1000000};
	logbook lb = {0, ""};
	com_log log = {log_cb, &lb, COM_LOG_DEBUG};
	srv_guard *g = NULL;
	uint64_t retry = 0;
	int i;

	(void)state;
	assert_ok(srv_guard_open(&g, &log, clk_now, &c));
	for (i = 0; i < SRV_GUARD_FAILURES - 1; i++) {
		srv_guard_fail(g, "10.0.0.1", "wrong credential");
		assert_false(srv_guard_blocked(g, "10.0.0.1", NULL));
	}
	srv_guard_fail(g, "10.0.0.1", "wrong credential");
	assert_true(srv_guard_blocked(g, "10.0.0.1", &retry));
	assert_int_equal(retry, SRV_GUARD_BLOCK_MS / 1000);
	/* Another address is not affected; in-process callers are never blocked. */
	assert_false(srv_guard_blocked(g, "10.0.0.2", NULL));
	assert_false(srv_guard_blocked(g, "", NULL));
	/* Three lines one by one, then the block; the rest counted, not logged. */
	assert_int_equal(lb.lines, SRV_GUARD_LOG_EACH + 1);
	assert_non_null(strstr(lb.last, "blocked"));
	c.now += SRV_GUARD_BLOCK_MS + 1;
	assert_false(srv_guard_blocked(g, "10.0.0.1", NULL));
	/* A second block lasts twice as long. */
	for (i = 0; i < SRV_GUARD_FAILURES; i++) {
		srv_guard_fail(g, "10.0.0.1", "wrong credential");
	}
	assert_true(srv_guard_blocked(g, "10.0.0.1", &retry));
	assert_int_equal(retry, 2 * SRV_GUARD_BLOCK_MS / 1000);
	assert_int_equal(srv_guard_failures(g), 2 * SRV_GUARD_FAILURES);
	srv_guard_close(g);
}

static void
test_a_flood_from_many_addresses_keeps_the_log_and_the_table_bounded(void **state)
{
	clk c = {5000000};
	logbook lb = {0, ""};
	com_log log = {log_cb, &lb, COM_LOG_DEBUG};
	srv_guard *g = NULL;
	char addr[32];
	int i;

	(void)state;
	assert_ok(srv_guard_open(&g, &log, clk_now, &c));
	/* 10,000 addresses in the same second: at most a burst of lines. */
	for (i = 0; i < 10000; i++) {
		snprintf(addr, sizeof(addr), "10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
		srv_guard_fail(g, addr, "unknown site");
	}
	assert_int_equal(lb.lines, SRV_GUARD_LOG_BURST);
	/* The next second reports how many were dropped, in one line. */
	c.now += 1000;
	srv_guard_fail(g, "192.168.0.1", "unknown site");
	assert_int_equal(lb.lines, SRV_GUARD_LOG_BURST + 2);
	/* A persistent attacker among them is still blocked: its slot is recent. */
	for (i = 0; i < SRV_GUARD_FAILURES; i++) {
		srv_guard_fail(g, "172.16.0.9", "wrong credential");
	}
	assert_true(srv_guard_blocked(g, "172.16.0.9", NULL));
	srv_guard_close(g);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_an_address_is_blocked_after_ten_failures_and_released_later),
	    cmocka_unit_test(test_a_flood_from_many_addresses_keeps_the_log_and_the_table_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
