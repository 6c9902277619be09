/* Unit tests for common/store/store.c: open, migrate, identity, meta, row writes. */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/store/store.h"
#include "common/util/alloc.h"

typedef struct fx {
	char *dir;       /* temp dir, owned */
	char path[512];  /* database path */
	sto_db *db;      /* open replica */
} fx;

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	sto_opts o = {.create = true, .user = "clerk"};

	f->dir = tu_mkdtemp();
	snprintf(f->path, sizeof(f->path), "%s/site.db", f->dir);
	if (sto_open(&f->db, f->path, &o) != OCOP_OK) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	sto_close(f->db);
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

static void
test_open_refuses_a_missing_file_unless_asked_to_create(void **state)
{
	fx *f = *state;
	sto_db *db = NULL;
	sto_opts o = {.create = false};
	char path[600];

	snprintf(path, sizeof(path), "%s/none.db", f->dir);
	assert_err(sto_open(&db, path, &o), OCOP_ENOENT);
	assert_null(db);
}

static void
test_site_identity_persists_across_reopen(void **state)
{
	fx *f = *state;
	sto_opts o = {.create = false};
	char id[64];

	assert_string_equal(sto_site_id(f->db), "");
	assert_ok(sto_site_init(f->db, NULL, "commune", "83-28882"));
	snprintf(id, sizeof(id), "%s", sto_site_id(f->db));
	assert_int_equal(strlen(id), 36);
	assert_err(sto_site_init(f->db, NULL, "commune", "x"), OCOP_EEXIST);
	sto_close(f->db);
	assert_ok(sto_open(&f->db, f->path, &o));
	assert_string_equal(sto_site_id(f->db), id);
	assert_string_equal(sto_role(f->db), "commune");
	assert_string_equal(sto_scope(f->db), "83-28882");
}

static void
test_rows_survive_reopen_and_tombstones_hide_nothing(void **state)
{
	fx *f = *state;
	sto_opts o = {.create = false};
	const char *cols[] = {"name", "kind"};
	const char *vals[] = {"HTX Kẹo dừa", "htx"};
	char id[37];
	sqlite3_stmt *st;

	assert_ok(sto_site_init(f->db, NULL, "commune", "83"));
	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 2, id));
	assert_ok(sto_row_delete(f->db, "subject", id));
	assert_err(sto_row_delete(f->db, "subject", id), OCOP_ENOENT);
	assert_err(sto_row_update(f->db, "subject", id, "name", "x"), OCOP_ENOENT);
	sto_close(f->db);
	assert_ok(sto_open(&f->db, f->path, &o));
	assert_int_equal(sqlite3_prepare_v2(sto_sqlite(f->db),
			     "SELECT name, deleted FROM subject WHERE id = ?1", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "HTX Kẹo dừa");
	assert_int_equal(sqlite3_column_int(st, 1), 1);
	sqlite3_finalize(st);
}

static void
test_unknown_table_or_column_is_refused_with_a_message(void **state)
{
	fx *f = *state;
	const char *cols[] = {"colour"};
	const char *vals[] = {"red"};
	char id[37];

	assert_ok(sto_site_init(f->db, NULL, "commune", "83"));
	assert_err(sto_row_insert(f->db, "subject", cols, vals, 1, id), OCOP_EINVAL);
	assert_non_null(strstr(sto_errmsg(f->db), "colour"));
	assert_err(sto_row_insert(f->db, "nosuch", cols, vals, 1, id), OCOP_EINVAL);
}

static void
test_database_from_a_newer_schema_is_refused(void **state)
{
	fx *f = *state;
	sto_opts o = {.create = false};
	sto_db *db = NULL;

	assert_ok(sto_exec(f->db, "PRAGMA user_version = 999"));
	assert_err(sto_open(&db, f->path, &o), OCOP_EVERSION);
	assert_null(db);
}

static void
test_meta_values_round_trip(void **state)
{
	fx *f = *state;
	char *v = NULL;

	assert_err(sto_meta_get(f->db, "last_sync", &v), OCOP_ENOENT);
	assert_ok(sto_meta_set(f->db, "last_sync", "2026-11-22T10:00:00Z"));
	assert_ok(sto_meta_get(f->db, "last_sync", &v));
	assert_string_equal(v, "2026-11-22T10:00:00Z");
	com_free(v);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_open_refuses_a_missing_file_unless_asked_to_create, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_site_identity_persists_across_reopen, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rows_survive_reopen_and_tombstones_hide_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unknown_table_or_column_is_refused_with_a_message, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_database_from_a_newer_schema_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_meta_values_round_trip, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
