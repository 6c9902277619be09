/*
 * Integration: what a clerk hit on the way (issue 14), each on the built `ocop`:
 * a foreign SQLite file is refused and left byte for byte as it was; --db works
 * as "--db PATH" and "--db=PATH" and says when its value is missing; a dossier
 * status filter no workflow knows is refused; a search with extra spaces still
 * finds; a missing sheet file is "no such file"; a Windows-1258 sheet is told to
 * be saved as CSV UTF-8; every error of a subcommand carries its full name.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/util/alloc.h"

typedef struct fx {
	char *dir;     /* temp dir, owned */
	char bin[512]; /* the ocop program */
} fx;

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	char *out = NULL;
	int rc;

	if (f == NULL || (f->dir = tu_mkdtemp()) == NULL) {
		return -1;
	}
	tu_bin(f->bin, sizeof(f->bin), "ocop");
	rc = tu_run(&out, 1, "cd '%s' && '%s' --db p.db init --role province --scope 86", f->dir, f->bin);
	com_free(out);
	*state = f;
	return rc == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	fx *f = *state;

	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

/* Run `ocop ARGS` in the fixture's directory, stdout and stderr into *out. */
static int ocop(fx *f, char **out, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
ocop(fx *f, char **out, const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return tu_run(out, 1, "cd '%s' && '%s' %s", f->dir, f->bin, args);
}

/* Run and check the exit code and that the output holds want. */
static void
expect(fx *f, int code, const char *want, const char *args)
{
	char *out = NULL;
	int rc = ocop(f, &out, "%s", args);

	if (rc != code || strstr(out, want) == NULL) {
		fail_msg("ocop %s: exit %d, said \"%s\"; want exit %d and \"%s\"", args, rc, out, code, want);
	}
	com_free(out);
}

static void
write_file(fx *f, const char *name, const char *text)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static void
test_a_foreign_sqlite_file_is_refused_and_left_unchanged(void **state)
{
	fx *f = *state;
	char path[1024];
	char *before = NULL;
	char *after = NULL;
	char *out = NULL;

	assert_int_equal(tu_run(&out, 1, "cd '%s' && sqlite3 other.db 'CREATE TABLE t(a); INSERT INTO t VALUES (1)'",
			     f->dir),
	    0);
	com_free(out);
	assert_int_equal(tu_run(&before, 0, "cd '%s' && cksum other.db", f->dir), 0);
	expect(f, 1, "ocop status: other.db is not an OCOP replica", "--db other.db status");
	expect(f, 1, "nothing was changed", "--db other.db subject list");
	expect(f, 1, "ocop init: other.db is not an OCOP replica", "--db other.db init --role province --scope 86");
	assert_int_equal(tu_run(&after, 0, "cd '%s' && cksum other.db", f->dir), 0);
	assert_string_equal(before, after);
	snprintf(path, sizeof(path), "%s/other.db-wal", f->dir);
	assert_int_not_equal(access(path, F_OK), 0);
	/* Not a database at all, and an empty file, are refused the same way. */
	write_file(f, "notes.db", "this is a text file\n");
	expect(f, 1, "notes.db is not an OCOP replica", "--db notes.db status");
	write_file(f, "empty.db", "");
	expect(f, 1, "empty.db is not an OCOP replica", "--db empty.db status");
	com_free(before);
	com_free(after);
}

static void
test_db_is_a_global_option_in_both_forms(void **state)
{
	fx *f = *state;

	expect(f, 0, "(province, scope 86)", "--db p.db status");
	expect(f, 0, "(province, scope 86)", "--db=p.db status");
	expect(f, 0, "(province, scope 86)", "--user clerk --db=p.db status");
	expect(f, 2, "ocop: option --db needs a value", "--db");
	expect(f, 2, "ocop: option --db needs a value", "--db= status");
	expect(f, 2, "ocop: unknown option '--json' (global options are --db PATH and --user NAME", "--json status");
}

static void
test_an_unknown_dossier_status_is_refused(void **state)
{
	fx *f = *state;

	expect(f, 2, "ocop dossier list: 'bogus' is not a dossier status (qd26-2026: draft, commune_check,",
	    "--db p.db dossier list --status bogus");
	expect(f, 0, "", "--db p.db dossier list --status draft");
	/* A status of the legacy regime is a status too. */
	expect(f, 0, "", "--db p.db dossier list --status district_review");
}

static void
test_search_ignores_extra_spaces(void **state)
{
	fx *f = *state;

	expect(f, 0, "", "--db p.db subject add --name 'HTX Kẹo dừa Thành Thới' --kind htx --unit 86-28969");
	expect(f, 0, "HTX Kẹo dừa Thành Thới", "--db p.db search 'keo   dua'");
	expect(f, 0, "HTX Kẹo dừa Thành Thới", "--db p.db search '  KEO dừa  '");
	expect(f, 0, "HTX Kẹo dừa Thành Thới", "--db p.db search 'dua keo'");
	expect(f, 2, "ocop search: nothing to search for", "--db p.db search '   '");
}

static void
test_sheet_files_get_clear_errors(void **state)
{
	fx *f = *state;
	char text[256];

	expect(f, 2, "ocop sheet import: nofile.csv: no such file",
	    "--db p.db sheet import --evaluation 01936f8e-0000-7000-8000-00000000a001 --csv nofile.csv");
	/* "Thành viên 1" as a spreadsheet saves it in Windows-1258. */
	snprintf(text, sizeof(text), "member,criterion,points\r\nTh\xe0nh vi\xean 1,1.1,3\r\n");
	write_file(f, "cp1258.csv", text);
	expect(f, 2, "cp1258.csv:2: not valid UTF-8 text",
	    "score --rubric qd26-2026/01 --sheets cp1258.csv");
	expect(f, 2, "save the file again as \"CSV UTF-8 (Comma delimited)\"",
	    "score --rubric qd26-2026/01 --sheets cp1258.csv");
}

static void
test_errors_carry_the_full_command_name(void **state)
{
	fx *f = *state;

	expect(f, 2, "ocop member add: no evaluation with id",
	    "--db p.db member add --evaluation 01a203b5-0000-7000-8000-000000000000 --name 'Member 1'");
	expect(f, 2, "ocop member list: needs --evaluation", "--db p.db member list");
	expect(f, 2, "ocop decision list: no dossier with id",
	    "--db p.db decision list --dossier 01a203b5-0000-7000-8000-000000000000");
	expect(f, 2, "ocop history import: missing.csv: no such file", "--db p.db history import missing.csv");
	expect(f, 2, "ocop unit import: missing.csv: no such file", "--db p.db unit import missing.csv");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_foreign_sqlite_file_is_refused_and_left_unchanged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_db_is_a_global_option_in_both_forms, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_an_unknown_dossier_status_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_ignores_extra_spaces, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sheet_files_get_clear_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_errors_carry_the_full_command_name, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
