/*
 * Unit tests for common/ocop/units.c: the shipped provinces (34 current, 63
 * former, each former one with a current successor), what a code names, the
 * successor of former codes, roll-ups at each level, and importing a
 * province's communes and former districts: a good file once, bad files
 * refused whole with the line named and nothing written.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "common/ocop/units.h"
#include "common/store/store.h"
#include "common/util/alloc.h"

#define HEADER "code,name,level,parent_code,valid_from,valid_to,successor_code\n"

typedef struct fx {
	char *dir;      /* temp dir, owned */
	char data[512]; /* the repository's data directory */
	sto_db *db;     /* a province site of Vĩnh Long (86) */
	ocp_units *u;   /* shipped units, owned */
} fx;

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	sto_opts o = {.create = true, .user = "clerk"};
	char path[600];
	char err[512];

	f->dir = tu_mkdtemp();
	tu_src(f->data, sizeof(f->data), "data");
	snprintf(path, sizeof(path), "%s/p.db", f->dir);
	if (sto_open(&f->db, path, &o) != OCOP_OK || sto_site_init(f->db, NULL, "province", "86") != OCOP_OK) {
		return -1;
	}
	if (ocp_units_open(&f->u, f->data, err, sizeof(err)) != OCOP_OK) {
		print_error("%s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	ocp_units_free(f->u);
	sto_close(f->db);
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

static int
count_rows(sto_db *db)
{
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_prepare_v2(sto_sqlite(db), "SELECT COUNT(*) FROM unit", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	return n;
}

/* Live unit rows with this code and successor. */
static int
count_code(sto_db *db, const char *code, const char *successor)
{
	sqlite3_stmt *st = NULL;
	int n = -1;

	if (sqlite3_prepare_v2(sto_sqlite(db),
		"SELECT COUNT(*) FROM unit WHERE deleted = 0 AND code = ?1 AND successor_code = ?2", -1, &st,
		NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, code, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, successor, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			n = sqlite3_column_int(st, 0);
		}
	}
	sqlite3_finalize(st);
	return n;
}

static void
test_the_shipped_provinces_are_34_current_and_63_former(void **state)
{
	fx *f = *state;
	size_t i;
	int current = 0;
	int former = 0;

	for (i = 0; i < ocp_units_count(f->u); i++) {
		const ocp_unit *e = ocp_units_at(f->u, i);

		assert_string_equal(e->level, "province");
		assert_true(e->shipped);
		if (e->valid_to[0] == '\0') {
			current++;
		} else {
			former++;
			assert_true(ocp_units_current(f->u, e->successor));
		}
	}
	assert_int_equal(current, 34);
	assert_int_equal(former, 63);
	assert_string_equal(ocp_units_name(f->u, "86"), "Tỉnh Vĩnh Long");
	assert_string_equal(ocp_units_name(f->u, "83"), "Tỉnh Bến Tre");
	/* A code that names a former and a current unit shows the current one. */
	assert_string_equal(ocp_units_name(f->u, "15"), "Tỉnh Lào Cai");
	assert_string_equal(ocp_units_level(f->u, "91"), "province");
	assert_null(ocp_units_name(f->u, "99"));
	assert_false(ocp_units_current(f->u, "83"));
	assert_true(ocp_units_current(f->u, "86"));
}

static void
test_a_former_code_maps_to_the_province_that_took_it_over(void **state)
{
	static const char *const cases[][2] = {
	    {"83", "86"}, {"84", "86"}, {"83-28882", "86"}, {"83-832-28882", "86"}, {"83-833", "86"},
	    {"10", "15"}, {"27-9999", "24"}, {"89", "91"}, {"93-31000", "92"}, {"77", "79"}, {"72", "80"},
	};
	fx *f = *state;
	char out[8];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(out, "x");
		if (!ocp_units_successor(f->u, cases[i][0], out, sizeof(out)) || strcmp(out, cases[i][1]) != 0) {
			fail_msg("%s: got '%s', want %s", cases[i][0], out, cases[i][1]);
		}
	}
	/* Current codes, codes under them, unknown codes: no successor. */
	strcpy(out, "x");
	assert_false(ocp_units_successor(f->u, "86", out, sizeof(out)));
	assert_false(ocp_units_successor(f->u, "86-28969", out, sizeof(out)));
	assert_false(ocp_units_successor(f->u, "15-4000", out, sizeof(out)));
	assert_false(ocp_units_successor(f->u, "99-1", out, sizeof(out)));
	assert_false(ocp_units_successor(f->u, "", out, sizeof(out)));
	assert_string_equal(out, "x");
	/* Too small a buffer is a no, never a truncated code. */
	assert_false(ocp_units_successor(f->u, "83", out, 2));
}

static void
import_text(fx *f, const char *text, int want, const char *want_msg)
{
	char err[1024] = "";
	size_t n = 99;
	int rv = ocp_units_import(f->db, f->u, "u.csv", text, strlen(text), &n, err, sizeof(err));

	if (rv != want || (want_msg != NULL && strstr(err, want_msg) == NULL)) {
		fail_msg("got %s \"%s\", want %s \"%s\"", ocop_errname(rv), err, ocop_errname(want),
		    want_msg ? want_msg : "");
	}
	if (want != OCOP_OK) {
		assert_int_equal(n, 0);
		assert_non_null(strstr(err, "nothing was imported"));
	}
}

static const char good[] =
    "# Vĩnh Long's former districts and two communes, as a test.\n" HEADER
    "83-833,Huyện Mỏ Cày Nam,district,83,,2025-06-30,\n"
    "83-28966,Xã Thành Thới B,commune,83-833,,2025-06-30,86-28969\n"
    "86-28969,Xã Thành Thới,commune,86,2025-07-01,,\n"
    "86-28903,Xã Mỏ Cày,commune,86,2025-07-01,,\n";

static void
test_a_good_units_file_is_imported_once_and_rolls_up(void **state)
{
	fx *f = *state;
	char key[32];
	char name[256];
	char path[8][32];

	import_text(f, good, OCOP_OK, NULL);
	/* The four lines, and the succession of the two former provinces Vĩnh Long holds. */
	assert_int_equal(count_rows(f->db), 6);
	assert_int_equal(count_code(f->db, "83", "86"), 1);
	assert_int_equal(count_code(f->db, "84", "86"), 1);
	/* Again: every code is already registered; nothing changes. */
	import_text(f, good, OCOP_EINPUT, "u.csv:3: unit 83-833 is already registered");
	assert_int_equal(count_rows(f->db), 6);
	assert_ok(ocp_units_load_db(f->u, f->db));
	assert_string_equal(ocp_units_name(f->u, "86-28969"), "Xã Thành Thới");

	/* As recorded, by former district, by province, and through the succession. */
	assert_ok(ocp_units_rollup(f->u, "83-28966", OCP_LEVEL_COMMUNE, false, key, sizeof(key), name, sizeof(name)));
	assert_string_equal(key, "83-28966");
	assert_string_equal(name, "Xã Thành Thới B");
	assert_ok(ocp_units_rollup(f->u, "83-28966", OCP_LEVEL_COMMUNE, true, key, sizeof(key), name, sizeof(name)));
	assert_string_equal(key, "86-28969");
	assert_string_equal(name, "Xã Thành Thới");
	assert_ok(ocp_units_rollup(f->u, "83-28966", OCP_LEVEL_DISTRICT, false, key, sizeof(key), name, sizeof(name)));
	assert_string_equal(key, "83-833");
	assert_string_equal(name, "Huyện Mỏ Cày Nam");
	assert_ok(ocp_units_rollup(f->u, "83-832-28882", OCP_LEVEL_DISTRICT, false, key, sizeof(key), name,
	    sizeof(name)));
	assert_string_equal(key, "83-832");
	assert_ok(ocp_units_rollup(f->u, "86-28969", OCP_LEVEL_DISTRICT, false, key, sizeof(key), name, sizeof(name)));
	assert_string_equal(key, "86");
	assert_non_null(strstr(name, "không thuộc huyện"));
	assert_ok(ocp_units_rollup(f->u, "83-28966", OCP_LEVEL_PROVINCE, false, key, sizeof(key), name, sizeof(name)));
	assert_string_equal(key, "83");
	assert_string_equal(name, "Tỉnh Bến Tre");
	assert_ok(ocp_units_rollup(f->u, "83-28966", OCP_LEVEL_PROVINCE, true, key, sizeof(key), name, sizeof(name)));
	assert_string_equal(key, "86");
	assert_string_equal(name, "Tỉnh Vĩnh Long");
	/* A former commune whose own successor is unknown says which province holds it. */
	assert_ok(ocp_units_rollup(f->u, "84-29300", OCP_LEVEL_COMMUNE, true, key, sizeof(key), name, sizeof(name)));
	assert_string_equal(key, "84-29300");
	assert_non_null(strstr(name, "nay thuộc Tỉnh Vĩnh Long"));
	assert_err(ocp_units_rollup(f->u, "83-28966", OCP_LEVEL_DISTRICT, true, key, sizeof(key), name, sizeof(name)),
	    OCOP_EINVAL);

	assert_int_equal(ocp_units_path(f->u, "83-28966", path, 8), 2);
	assert_string_equal(path[1], "86-28969");
	assert_int_equal(ocp_units_path(f->u, "83-28882", path, 8), 2);
	assert_string_equal(path[1], "86");
}

static void
test_bad_units_files_are_refused_whole_naming_the_line(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {HEADER "86-28969,Xã Thành Thới,commune,86,2025-07-01,,\n86-x,Xã,commune,86,,,\n",
		"u.csv:3: code '86-x' is not a unit code"},
	    {HEADER "86,Tỉnh Vĩnh Long,province,,2025-07-01,,\n", "u.csv:2: unit 86 is a province"},
	    {HEADER "86-28969,Xã Thành Thới,ward,86,,,\n", "u.csv:2: level 'ward'"},
	    {HEADER "86-28969,,commune,86,,,\n", "u.csv:2: unit 86-28969 needs a name"},
	    {HEADER "79-26734,Phường Bến Thành,commune,79,,,\n", "u.csv:2: unit 79-26734 is outside this site's scope"},
	    {HEADER "99-100,Huyện X,district,99,,,\n", "u.csv:2: 99 of unit 99-100 is not a province code"},
	    {HEADER "86-28969,A,commune,86,,,\n86-28903,B,commune,86,,,\n86-28969,C,commune,86,,,\n",
		"u.csv:4: unit 86-28969 is also on line 2"},
	    {HEADER "83-28966,Xã Thành Thới B,commune,83-999,,2025-06-30,\n",
		"u.csv:2: parent_code 83-999 of unit 83-28966 is neither in the file nor a known unit"},
	    {HEADER "83-28966,Xã Thành Thới B,commune,86,,2025-06-30,\n", "u.csv:2: parent_code 86 (a province)"},
	    {HEADER "83-28966,Xã B,commune,83,,2025-06-30,86-1\n",
		"u.csv:2: successor_code 86-1 of unit 83-28966 is neither in the file nor a known unit"},
	    {HEADER "83-1,A,commune,83,,2025-06-30,83-2\n83-2,B,commune,83,,2025-06-30,83-1\n",
		"u.csv:2: the successors of unit 83-1 lead back to it"},
	    {HEADER "86-28969,Xã Thành Thới,commune,86,2025-07-32,,\n", "u.csv:2: valid_from '2025-07-32'"},
	    {HEADER "83-1,A,commune,83,,,86\n", "u.csv:2: unit 83-1 names a successor but no valid_to"},
	    {HEADER "86-28969,\"Xã Thành Thới,commune,86,,,\n", "u.csv:2: malformed CSV"},
	    {HEADER "86-28969,Xã Thành Thới,commune\n", "u.csv:2: expected 7 fields"},
	    {HEADER "86-28969,X\xe3 Th\xe0nh Th\xf4i,commune,86,,,\n", "u.csv:2: not valid UTF-8 text"},
	    {"code,name,level\n86-1,A,commune\n", "u.csv:1: the header must be exactly"},
	    {"# only a comment\n", "u.csv:1: the file has no header"},
	};
	fx *f = *state;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char err[1024] = "";
		size_t n = 99;
		int rv = ocp_units_import(f->db, f->u, "u.csv", cases[i].text, strlen(cases[i].text), &n, err, sizeof(err));

		if (rv != OCOP_EINPUT || strstr(err, cases[i].want) == NULL || n != 0 ||
		    strstr(err, "nothing was imported") == NULL) {
			fail_msg("case %zu: got %s \"%s\", want \"%s\"", i, ocop_errname(rv), err, cases[i].want);
		}
		assert_int_equal(count_rows(f->db), 0);
	}
}

static void
test_only_province_and_national_sites_import_units(void **state)
{
	fx *f = *state;
	sto_opts o = {.create = true, .user = "clerk"};
	sto_db *commune = NULL;
	char path[600];
	char err[512];
	size_t n = 0;

	snprintf(path, sizeof(path), "%s/c.db", f->dir);
	assert_ok(sto_open(&commune, path, &o));
	assert_ok(sto_site_init(commune, NULL, "commune", "86-28969"));
	assert_err(ocp_units_import(commune, f->u, "u.csv", good, strlen(good), &n, err, sizeof(err)), OCOP_EAUTH);
	assert_non_null(strstr(err, "a commune site cannot import them"));
	assert_int_equal(count_rows(commune), 0);
	sto_close(commune);
}

static void
test_broken_shipped_files_are_named(void **state)
{
	fx *f = *state;
	ocp_units *u = NULL;
	char dir[600];
	char path[700];
	char err[512];
	FILE *fp;

	snprintf(dir, sizeof(dir), "%s/data", f->dir);
	snprintf(path, sizeof(path), "%s/units", dir);
	assert_int_equal(tu_run(NULL, 0, "mkdir -p '%s'", path), 0);
	assert_err(ocp_units_open(&u, dir, err, sizeof(err)), OCOP_ENOENT);
	assert_null(u);
	assert_non_null(strstr(err, "provinces-2025.csv"));
	snprintf(path, sizeof(path), "%s/units/provinces-2025.csv", dir);
	fp = fopen(path, "w");
	fputs(HEADER "86,Tỉnh Vĩnh Long,province,,2025-07-01,,\n", fp);
	fclose(fp);
	snprintf(path, sizeof(path), "%s/units/provinces-2004.csv", dir);
	fp = fopen(path, "w");
	fputs(HEADER "83,Tỉnh Bến Tre,province,,,2025-06-30,87\n", fp);
	fclose(fp);
	assert_err(ocp_units_open(&u, dir, err, sizeof(err)), OCOP_EINPUT);
	assert_non_null(strstr(err, "the successor 87 of former province 83 is not a current province"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_the_shipped_provinces_are_34_current_and_63_former, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_former_code_maps_to_the_province_that_took_it_over, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_good_units_file_is_imported_once_and_rolls_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_units_files_are_refused_whole_naming_the_line, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_province_and_national_sites_import_units, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_broken_shipped_files_are_named, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
