/* Unit tests for common/store/fold.c: search without diacritics. */
#include "tests/lib/testutil.h"

#include <string.h>

#include "common/store/fold.h"
#include "common/util/alloc.h"

static void
check_fold(const char *in, const char *want)
{
	char *f = sto_fold(in);

	assert_non_null(f);
	assert_string_equal(f, want);
	com_free(f);
}

static void
test_fold_strips_vietnamese_diacritics_and_case(void **state)
{
	(void)state;
	check_fold("Kẹo dừa", "keo dua");
	check_fold("KẸO DỪA BẾN TRE", "keo dua ben tre");
	check_fold("Đặc sản Đà Lạt", "dac san da lat");
	check_fold("Nước mắm Phú Quốc", "nuoc mam phu quoc");
	check_fold("plain ascii", "plain ascii");
}

static void
test_fold_of_decomposed_input_equals_fold_of_composed(void **state)
{
	/* "ừ" typed as u + combining horn + combining grave (NFD). */
	(void)state;
	check_fold("d\xc6\xb0\xcc\x80" "a", "dua");
	check_fold("du\xcc\x9b\xcc\x80" "a", "dua");
}

static void
test_nfc_composes_decomposed_text(void **state)
{
	char *n;

	(void)state;
	n = sto_nfc("du\xcc\x9b\xcc\x80" "a");
	assert_non_null(n);
	assert_string_equal(n, "dừa");
	com_free(n);
}

static void
test_fold_refuses_invalid_utf8(void **state)
{
	(void)state;
	assert_null(sto_fold("\xff\xfe bad"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fold_strips_vietnamese_diacritics_and_case),
	    cmocka_unit_test(test_fold_of_decomposed_input_equals_fold_of_composed),
	    cmocka_unit_test(test_nfc_composes_decomposed_text),
	    cmocka_unit_test(test_fold_refuses_invalid_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
