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

/* Every ocopd command and sub-command answers --help with its own usage, exit 0. */
static void
test_ocopd_commands_have_their_own_help(void **state)
{
	static const char *const cmds[][2] = {{"init", "ocopd init --db"}, {"site", "ocopd site <command>"},
	    {"site add", "ocopd site add --db"}, {"site list", "ocopd site list --db"},
	    {"status", "ocopd status --db"}, {"serve", "ocopd serve [--config"},
	    {"import", "ocopd import --db"}, {"candidates", "ocopd candidates --db"},
	    {"handoff", "ocopd handoff <command>"}, {"handoff export", "ocopd handoff export --db"},
	    {"handoff import", "ocopd handoff import --db"}, {"handoff apply", "ocopd handoff apply --db"},
	    {"backup", "ocopd backup --out FILE"}, {"restore", "ocopd restore --in BACKUP"}};
	char bin[512];
	char *out = NULL;
	size_t i;

	(void)state;
	tu_bin(bin, sizeof(bin), "ocopd");
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int rc = tu_run(&out, 0, "%s %s --help", bin, cmds[i][0]);
		if (rc != 0 || strstr(out, cmds[i][1]) == NULL || strstr(out, "is the OCOP provincial") != NULL) {
			print_error("ocopd %s --help exited %d: %s\n", cmds[i][0], rc, out);
		}
		assert_int_equal(rc, 0);
		assert_non_null(strstr(out, cmds[i][1]));
		com_free(out);
		/* `ocopd help X` says the same. */
		assert_int_equal(tu_run(&out, 0, "%s help %s", bin, cmds[i][0]), 0);
		assert_non_null(strstr(out, cmds[i][1]));
		com_free(out);
	}
	/* A group without a sub-command prints its usage on stderr and exits 2. */
	assert_int_equal(tu_run(&out, 1, "%s site", bin), 2);
	assert_non_null(strstr(out, "usage: ocopd site"));
	com_free(out);
	assert_int_equal(tu_run(&out, 1, "%s site remove --db x.db", bin), 2);
	assert_non_null(strstr(out, "'remove' is not an 'ocopd site' command"));
	com_free(out);
	/* An option another command takes is refused, named, with the command's help pointer. */
	assert_int_equal(tu_run(&out, 1, "%s status --db x.db --role province", bin), 2);
	assert_non_null(strstr(out, "unknown option '--role'"));
	assert_non_null(strstr(out, "ocopd status --help"));
	com_free(out);
	assert_int_equal(tu_run(&out, 1, "%s init --db", bin), 2);
	assert_non_null(strstr(out, "'--db' needs a value"));
	com_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ocop_prints_version_and_help),
	    cmocka_unit_test(test_ocopd_prints_version_and_help_and_refuses_bad_options),
	    cmocka_unit_test(test_ocopd_commands_have_their_own_help),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
