/* Unit tests for common/util/hlc.c: monotonicity, receive merge, overflow, skew. */
#include "tests/lib/testutil.h"

#include "common/util/hlc.h"

/* A settable physical clock for the seam. */
static uint64_t fake_ms;

static uint64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_ms;
}

static void
test_hlc_is_strictly_monotonic_even_when_wall_clock_stalls_or_steps_back(void **state)
{
	com_hlc h;
	uint64_t prev = 0;
	uint64_t t;
	int i;

	(void)state;
	fake_ms = 1000000;
	com_hlc_init(&h, 0, 60000, fake_clock, NULL);
	for (i = 0; i < 5000; i++) {
		if (i % 100 == 0) {
			fake_ms -= 3; /* the wall clock steps backwards */
		} else if (i % 7 == 0) {
			fake_ms += 1;
		}
		assert_ok(com_hlc_now(&h, &t));
		assert_true(t > prev);
		prev = t;
	}
}

static void
test_hlc_follows_physical_time_when_it_advances(void **state)
{
	com_hlc h;
	uint64_t t;

	(void)state;
	fake_ms = 5000;
	com_hlc_init(&h, 0, 60000, fake_clock, NULL);
	assert_ok(com_hlc_now(&h, &t));
	assert_true(t == com_hlc_make(5000, 0));
	assert_ok(com_hlc_now(&h, &t));
	assert_true(t == com_hlc_make(5000, 1));
	fake_ms = 6000;
	assert_ok(com_hlc_now(&h, &t));
	assert_true(t == com_hlc_make(6000, 0));
}

static void
test_hlc_update_moves_past_a_remote_clock_ahead_of_ours(void **state)
{
	com_hlc h;
	uint64_t t;
	uint64_t remote = com_hlc_make(10500, 7);

	(void)state;
	fake_ms = 10000;
	com_hlc_init(&h, 0, 60000, fake_clock, NULL);
	assert_ok(com_hlc_update(&h, remote, &t));
	assert_true(t == com_hlc_make(10500, 8));
	/* A later local event is still after the remote one. */
	assert_ok(com_hlc_now(&h, &t));
	assert_true(t == com_hlc_make(10500, 9));
}

static void
test_hlc_update_with_an_older_remote_keeps_local_order(void **state)
{
	com_hlc h;
	uint64_t t;
	uint64_t before;

	(void)state;
	fake_ms = 20000;
	com_hlc_init(&h, 0, 60000, fake_clock, NULL);
	assert_ok(com_hlc_now(&h, &before));
	assert_ok(com_hlc_update(&h, com_hlc_make(100, 3), &t));
	assert_true(t > before);
	assert_true(t == com_hlc_make(20000, 1));
	/* Physical time moved on: the merge takes it, counter reset. */
	fake_ms = 30000;
	assert_ok(com_hlc_update(&h, com_hlc_make(29999, 9), &t));
	assert_true(t == com_hlc_make(30000, 0));
}

static void
test_hlc_counter_overflow_carries_into_milliseconds(void **state)
{
	com_hlc h;
	uint64_t t;

	(void)state;
	fake_ms = 7000;
	com_hlc_init(&h, com_hlc_make(7000, COM_HLC_COUNTER_MAX - 1), 60000, fake_clock, NULL);
	assert_ok(com_hlc_now(&h, &t));
	assert_true(t == com_hlc_make(7000, COM_HLC_COUNTER_MAX));
	assert_ok(com_hlc_now(&h, &t));
	assert_true(t == com_hlc_make(7001, 0));
	/* A remote at the counter's end carries the same way. */
	assert_ok(com_hlc_update(&h, com_hlc_make(7002, COM_HLC_COUNTER_MAX), &t));
	assert_true(t == com_hlc_make(7003, 0));
}

static void
test_hlc_refuses_a_remote_clock_beyond_the_skew_bound(void **state)
{
	com_hlc h;
	uint64_t t;
	uint64_t before;
	bool clamped;

	(void)state;
	fake_ms = 100000;
	com_hlc_init(&h, 0, 5000, fake_clock, NULL);
	assert_ok(com_hlc_now(&h, &before));
	assert_err(com_hlc_update(&h, com_hlc_make(105001, 0), &t), OCOP_ECLOCK);
	assert_true(h.last == before); /* untouched */
	assert_ok(com_hlc_update(&h, com_hlc_make(105000, 0), &t));
	assert_true(com_hlc_clamp(&h, com_hlc_make(900000, 4), &clamped) ==
	    com_hlc_make(105000, 0));
	assert_true(clamped);
	assert_true(com_hlc_clamp(&h, com_hlc_make(104000, 4), &clamped) ==
	    com_hlc_make(104000, 4));
	assert_false(clamped);
}

static void
test_hlc_restart_from_persisted_value_never_goes_back(void **state)
{
	com_hlc h;
	uint64_t t;

	(void)state;
	fake_ms = 1000; /* the wall clock is behind what was persisted */
	com_hlc_init(&h, com_hlc_make(50000, 2), 60000, fake_clock, NULL);
	assert_ok(com_hlc_now(&h, &t));
	assert_true(t == com_hlc_make(50000, 3));
}

static void
test_hlc_pack_round_trips_big_endian(void **state)
{
	uint8_t b[8];
	uint64_t v = com_hlc_make(UINT64_C(0xa1b2c3d4e5f6), 0x0789);

	(void)state;
	com_hlc_pack(v, b);
	assert_int_equal(b[0], 0xa1);
	assert_int_equal(b[5], 0xf6);
	assert_int_equal(b[6], 0x07);
	assert_int_equal(b[7], 0x89);
	assert_true(com_hlc_unpack(b) == v);
	assert_true(com_hlc_ms(v) == UINT64_C(0xa1b2c3d4e5f6));
	assert_true(com_hlc_counter(v) == 0x0789);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hlc_is_strictly_monotonic_even_when_wall_clock_stalls_or_steps_back),
	    cmocka_unit_test(test_hlc_follows_physical_time_when_it_advances),
	    cmocka_unit_test(test_hlc_update_moves_past_a_remote_clock_ahead_of_ours),
	    cmocka_unit_test(test_hlc_update_with_an_older_remote_keeps_local_order),
	    cmocka_unit_test(test_hlc_counter_overflow_carries_into_milliseconds),
	    cmocka_unit_test(test_hlc_refuses_a_remote_clock_beyond_the_skew_bound),
	    cmocka_unit_test(test_hlc_restart_from_persisted_value_never_goes_back),
	    cmocka_unit_test(test_hlc_pack_round_trips_big_endian),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
