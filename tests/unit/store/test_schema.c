/* Unit tests for common/store/schema.c: the value checks every node applies to every cell. */
#include "tests/lib/testutil.h"

#include <string.h>

#include "common/store/schema.h"
#include "ocop_err.h"

static bool
clean(const char *s)
{
	return sto_text_clean((const uint8_t *)s, strlen(s));
}

static void
test_vietnamese_as_typed_is_clean_text(void **state)
{
	(void)state;
	assert_true(clean(""));
	assert_true(clean("HTX Kẹo dừa Tân Phú, ấp Đồng Tiến"));
	assert_true(clean("Ủy ban nhân dân xã Thành Thới — “phiếu đăng ký” …\tđủ\nthành phần"));
	assert_true(clean("Ơ ơ Ư ư Ă ă Đ đ Ĩ ĩ Ũ ũ ỹ Ỹ ặ Ặ"));
	/* Outside the ranges every value normally stays in: the full check decides. */
	assert_true(clean("Ωμέγα, 東京, 한국어"));
}

static void
test_text_not_in_nfc_is_refused(void **state)
{
	(void)state;
	assert_false(clean("du\xcc\x9b\xcc\x80" "a"));  /* u + horn + grave: NFC composes them */
	assert_false(clean("A\xcc\x81"));                /* A + acute */
	assert_false(clean("\xc3\xaa\xcc\x80"));         /* ê + grave, which NFC writes as one letter */
	assert_false(clean("\xe2\x84\xa6"));             /* OHM SIGN, which NFC replaces by omega */
	assert_false(clean("\xe1\x84\x80\xe1\x85\xa1")); /* Hangul jamo that compose to one syllable */
}

static void
test_control_characters_and_bad_utf8_are_refused(void **state)
{
	(void)state;
	assert_false(clean("a\x01" "b"));
	assert_false(clean("a\x7f" "b"));
	assert_false(clean("\xc3\x28"));     /* a broken sequence */
	assert_false(clean("\xed\xa0\x80")); /* a surrogate */
	assert_false(sto_text_clean((const uint8_t *)"a\0b", 3));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vietnamese_as_typed_is_clean_text),
	    cmocka_unit_test(test_text_not_in_nfc_is_refused),
	    cmocka_unit_test(test_control_characters_and_bad_utf8_are_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
