/*
 * unit.ocop.scope: the one scope matcher (common/ocop/scope.c): codes under
 * codes, lists, the nation, ancestors, and the succession of units from the
 * shipped reference data and from a province's own unit rows.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/scope.h"
#include "common/ocop/units.h"
#include "common/store/store.h"
#include "common/util/alloc.h"

static void
test_a_scope_covers_its_codes_and_what_lies_under_them(void **state)
{
	(void)state;
	assert_true(ocp_scope_covers("83", "83"));
	assert_true(ocp_scope_covers("83", "83-28882"));
	assert_true(ocp_scope_covers("83-100, 83-200", "83-200-7"));
	assert_true(ocp_scope_covers("VN", "01-00004"));
	assert_false(ocp_scope_covers("83", "830-1"));      /* a prefix is not a parent */
	assert_false(ocp_scope_covers("83-100", "83"));     /* a parent is not under its child */
	assert_false(ocp_scope_covers("83-100", "83-1000"));
	assert_false(ocp_scope_covers("83", ""));           /* a row of no unit belongs to nobody's scope */
	assert_true(ocp_scope_touches("83-100", "83"));     /* a commune names its province */
	assert_false(ocp_scope_touches("83-100", "84"));
}

static void
test_a_former_province_is_covered_by_the_province_that_succeeded_it(void **state)
{
	char data[1024];
	char err[256];
	char path[700];
	char *dir = tu_mkdtemp();
	sto_opts o = {.create = true, .user = "t"};
	ocp_units *u = NULL;
	sto_db *db = NULL;
	const char *cols[] = {"code", "name", "level", "successor_code"};
	const char *vals[] = {"86-900", "Xã cũ", "commune", "86-28969"};
	char id[37];

	(void)state;
	tu_src(data, sizeof(data), "data");
	assert_ok(ocp_units_open(&u, data, err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/r.db", dir);
	assert_ok(sto_open(&db, path, &o));
	assert_ok(sto_site_init(db, NULL, "province", "86"));
	/* Bến Tre (83) merged into Vĩnh Long (86): the shipped succession, no unit row needed. */
	assert_true(ocp_scope_covers_at(db, u, "86", "83-28882"));
	assert_false(ocp_scope_covers_at(db, NULL, "86", "83-28882"));
	assert_false(ocp_scope_covers_at(db, u, "87", "83-28882"));
	/* A commune merged into another, from the province's own unit rows. */
	assert_false(ocp_scope_covers_at(db, u, "86-28969", "86-900"));
	assert_ok(sto_row_insert(db, "unit", cols, vals, 4, id));
	assert_true(ocp_scope_covers_at(db, u, "86-28969", "86-900"));
	assert_true(ocp_scope_covers_at(db, u, "86-28969", "86-900-3"));
	sto_close(db);
	ocp_units_free(u);
	tu_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_scope_covers_its_codes_and_what_lies_under_them),
	    cmocka_unit_test(test_a_former_province_is_covered_by_the_province_that_succeeded_it),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
