/* Unit tests for common/util/uuid.c: UUIDv7 layout, uniqueness and order. */
#include "tests/lib/testutil.h"

#include <stdlib.h>
#include <string.h>

#include "common/util/alloc.h"
#include "common/util/uuid.h"

static void
test_uuid7_has_version_7_and_rfc_variant(void **state)
{
	com_uuid u;
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		com_uuid7(&u);
		assert_int_equal(com_uuid_version(&u), 7);
		assert_int_equal(u.b[8] & 0xc0, 0x80);
	}
}

static void
test_uuid7_carries_its_millisecond_time(void **state)
{
	com_uuid u;

	(void)state;
	com_uuid7_at(&u, UINT64_C(0x0123456789ab));
	assert_true(com_uuid7_ms(&u) == UINT64_C(0x0123456789ab));
	com_uuid7_at(&u, UINT64_C(1763800000000));
	assert_true(com_uuid7_ms(&u) == UINT64_C(1763800000000));
}

static int
cmp_uuid(const void *a, const void *b)
{
	return com_uuid_cmp(a, b);
}

static void
test_uuid7_is_unique_over_a_million_draws(void **state)
{
	const size_t n = 1000000;
	com_uuid *all = com_calloc(n, sizeof(*all));
	size_t i;

	(void)state;
	assert_non_null(all);
	for (i = 0; i < n; i++) {
		com_uuid7(&all[i]);
	}
	qsort(all, n, sizeof(*all), cmp_uuid);
	for (i = 1; i < n; i++) {
		assert_true(com_uuid_cmp(&all[i - 1], &all[i]) < 0);
	}
	com_free(all);
}

static void
test_uuid7_orders_by_time_across_milliseconds(void **state)
{
	com_uuid prev;
	com_uuid next;
	uint64_t ms;

	(void)state;
	com_uuid7_at(&prev, 1000);
	for (ms = 1001; ms < 200000; ms += 7) {
		com_uuid7_at(&next, ms);
		assert_true(com_uuid_cmp(&prev, &next) < 0);
		prev = next;
	}
}

static void
test_uuid_text_round_trips_and_rejects_garbage(void **state)
{
	com_uuid u;
	com_uuid v;
	char text[COM_UUID_STRLEN + 1];

	(void)state;
	com_uuid7(&u);
	com_uuid_format(&u, text);
	assert_int_equal(strlen(text), 36);
	assert_ok(com_uuid_parse(&v, text));
	assert_int_equal(com_uuid_cmp(&u, &v), 0);
	assert_err(com_uuid_parse(&v, "not-a-uuid"), OCOP_EINVAL);
	assert_err(com_uuid_parse(&v, "0190f0f0-0000-7000-8000-00000000000"), OCOP_EINVAL);
	assert_err(com_uuid_parse(&v, "0190f0f0-0000-7000-8000-00000000000zz"), OCOP_EINVAL);
	assert_false(com_uuid_valid(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_uuid7_has_version_7_and_rfc_variant),
	    cmocka_unit_test(test_uuid7_carries_its_millisecond_time),
	    cmocka_unit_test(test_uuid7_is_unique_over_a_million_draws),
	    cmocka_unit_test(test_uuid7_orders_by_time_across_milliseconds),
	    cmocka_unit_test(test_uuid_text_round_trips_and_rejects_garbage),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
