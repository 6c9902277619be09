/* Integration: the built programs start, print help and version, and exit cleanly. */
#include "tests/lib/testutil.h"

#include <string.h>

#include "common/util/alloc.h"

static void
test_ocop_prints_version_and_help(void **state)
{
	char bin[512];
	char *out = NULL;

	(void)state;
	tu_bin(bin, sizeof(bin), "ocop");
	assert_int_equal(tu_run(&out, 0, "%s --version", bin), 0);
	assert_non_null(strstr(out, "ocop " OCOP_VERSION_STRING));
	com_free(out);
	assert_int_equal(tu_run(&out, 0, "%s --help", bin), 0);
	assert_non_null(strstr(out, "usage: ocop"));
	com_free(out);
	assert_int_equal(tu_run(&out, 1, "%s no-such-command", bin), 2);
	assert_non_null(strstr(out, "not an ocop command"));
	com_free(out);
}

static void
test_ocopd_prints_version_and_help_and_refuses_bad_options(void **state)
{
	char bin[512];
	char *out = NULL;

	(void)state;
	tu_bin(bin, sizeof(bin), "ocopd");
	assert_int_equal(tu_run(&out, 0, "%s --version", bin), 0);
	assert_non_null(strstr(out, "ocopd " OCOP_VERSION_STRING));
	com_free(out);
	assert_int_equal(tu_run(&out, 0, "%s --help", bin), 0);
	assert_non_null(strstr(out, "usage: ocopd"));
	com_free(out);
	assert_int_equal(tu_run(&out, 1, "%s --role county", bin), 2);
	assert_non_null(strstr(out, "--role must be"));
	com_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ocop_prints_version_and_help),
	    cmocka_unit_test(test_ocopd_prints_version_and_help_and_refuses_bad_options),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
