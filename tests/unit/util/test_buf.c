/* Unit tests for common/util/buf.c and the allocation seam. */
#include "tests/lib/testutil.h"

#include <string.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"

static void
test_buf_appends_and_stays_terminated(void **state)
{
	com_buf b;
	char *s;
	size_t len;
	int i;

	(void)state;
	com_buf_init(&b);
	for (i = 0; i < 1000; i++) {
		assert_ok(com_buf_printf(&b, "%d,", i));
	}
	assert_int_equal(strlen((char *)b.data), b.len);
	assert_memory_equal(b.data, "0,1,2,", 6);
	s = com_buf_detach(&b, &len);
	assert_non_null(s);
	assert_int_equal(strlen(s), len);
	assert_null(b.data);
	com_free(s);
	com_buf_fini(&b);
}

static void
test_buf_failed_growth_leaves_contents_unchanged(void **state)
{
	com_buf b;
	char big[4096];

	(void)state;
	memset(big, 'x', sizeof(big));
	com_buf_init(&b);
	assert_ok(com_buf_puts(&b, "keep"));
	com_alloc_fail_after(0);
	assert_err(com_buf_append(&b, big, sizeof(big)), OCOP_ENOMEM);
	com_alloc_fail_after(-1);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "keep", 4);
	com_buf_fini(&b);
}

static void
test_strerror_names_every_code_and_survives_unknown_ones(void **state)
{
	int c;

	(void)state;
	for (c = 0; c < (int)OCOP_ERR_COUNT_; c++) {
		assert_non_null(ocop_strerror(c));
		assert_true(strlen(ocop_strerror(c)) > 0);
		assert_string_not_equal(ocop_errname(c), "EUNKNOWN");
	}
	assert_string_equal(ocop_strerror(-5), "unknown error");
	assert_string_equal(ocop_strerror(100000), "unknown error");
	assert_string_equal(ocop_errname(OCOP_EPROTO), "EPROTO");
	assert_string_equal(ocop_strerror(OCOP_ENOMEM), "out of memory");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_buf_appends_and_stays_terminated),
	    cmocka_unit_test(test_buf_failed_growth_leaves_contents_unchanged),
	    cmocka_unit_test(test_strerror_names_every_code_and_survives_unknown_ones),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
