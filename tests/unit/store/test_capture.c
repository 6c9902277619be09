/* Unit tests for common/store/capture.c: every local write is logged, densely, with its base. */
#include "tests/lib/replica.h"
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/store/capture.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "protocol/change.h"

typedef struct fx {
	char *dir;      /* temp dir, owned */
	char path[512]; /* database path */
	sto_db *db;     /* open, initialised replica */
} fx;

static uint64_t fake_ms = 1763800000000ULL;

static uint64_t
fake_clock(void *arg)
{
	(void)arg;
	return fake_ms;
}

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	sto_opts o = {.create = true, .user = "clerk", .clock = fake_clock};

	f->dir = tu_mkdtemp();
	snprintf(f->path, sizeof(f->path), "%s/site.db", f->dir);
	if (sto_open(&f->db, f->path, &o) != OCOP_OK ||
	    sto_site_init(f->db, NULL, "commune", "83") != OCOP_OK) {
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

/* Load change number seq of this site: its hlc and its cells as "col=value@base;" text. */
static void
load_change(sto_db *db, uint64_t seq, uint64_t *hlc, char *cells, size_t cap)
{
	proto_change ch;
	proto_cells_it it;
	proto_cell c;
	com_buf buf;
	size_t used = 0;

	com_buf_init(&buf);
	assert_ok(tr_log_get(db, sto_site_id(db), seq, &ch, &buf));
	*hlc = ch.hlc;
	assert_string_equal(ch.user, "clerk");
	assert_ok(proto_cells_open(&it, ch.cells, ch.cells_len, NULL));
	cells[0] = 0;
	while (proto_cells_next(&it, &c) == OCOP_OK) {
		if (c.v.type == PROTO_V_TEXT) {
			used += (size_t)snprintf(cells + used, cap - used, "%s=%.*s@%llu;", c.col,
			    (int)c.v.len, (const char *)c.v.p, (unsigned long long)c.base_hlc);
		} else {
			used += (size_t)snprintf(cells + used, cap - used, "%s=%lld@%llu;", c.col,
			    (long long)c.v.i, (unsigned long long)c.base_hlc);
		}
	}
	com_buf_fini(&buf);
}

static void
test_insert_logs_every_set_column_with_no_base(void **state)
{
	fx *f = *state;
	const char *cols[] = {"name", "kind"};
	const char *vals[] = {"Kẹo dừa", "htx"};
	char id[37];
	char cells[512];
	uint64_t hlc;
	uint64_t seq;

	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 2, id));
	assert_ok(sto_capture_last_seq(f->db, &seq));
	assert_int_equal(seq, 1);
	load_change(f->db, 1, &hlc, cells, sizeof(cells));
	assert_string_equal(cells, "name=Kẹo dừa@0;kind=htx@0;deleted=0@0;");
	assert_true(hlc >> 16 == fake_ms);
}

static void
test_update_logs_only_changed_columns_with_their_base_version(void **state)
{
	fx *f = *state;
	const char *cols[] = {"name", "kind"};
	const char *vals[] = {"Kẹo dừa", "htx"};
	char id[37];
	char cells[512];
	char want[512];
	uint64_t h1;
	uint64_t h2;
	uint64_t seq;

	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 2, id));
	load_change(f->db, 1, &h1, cells, sizeof(cells));
	assert_ok(sto_row_update(f->db, "subject", id, "name", "Kẹo dừa Bến Tre"));
	/* Writing the same value again is not a change. */
	assert_ok(sto_row_update(f->db, "subject", id, "kind", "htx"));
	assert_ok(sto_capture_last_seq(f->db, &seq));
	assert_int_equal(seq, 2);
	load_change(f->db, 2, &h2, cells, sizeof(cells));
	snprintf(want, sizeof(want), "name=Kẹo dừa Bến Tre@%llu;", (unsigned long long)h1);
	assert_string_equal(cells, want);
	assert_true(h2 > h1);
}

static void
test_site_seq_stays_dense_across_rollbacks_and_failed_statements(void **state)
{
	fx *f = *state;
	const char *cols[] = {"name"};
	const char *vals[] = {"A"};
	char id[37];
	uint64_t seq;

	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 1, id));
	assert_ok(sto_begin(f->db));
	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 1, id));
	sto_rollback(f->db);
	/* A statement that fails half-way (second row hits the primary key). */
	assert_err(sto_exec(f->db, "INSERT INTO subject (id, name) VALUES "
				   "('0190f0f0-0000-7000-8000-0000000000aa', 'x'),"
				   "('0190f0f0-0000-7000-8000-0000000000aa', 'y')"),
	    OCOP_EDB);
	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 1, id));
	assert_ok(sto_capture_last_seq(f->db, &seq));
	assert_int_equal(seq, 2);
}

/* The own site's log numbers: how many, how many distinct, the lowest and the highest. */
static void
own_seqs(sto_db *db, int *count, int *distinct, int *lo, int *hi)
{
	sqlite3_stmt *st;

	assert_int_equal(sqlite3_prepare_v2(sto_sqlite(db),
			     "SELECT COUNT(*), COUNT(DISTINCT seq), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0)"
			     " FROM change WHERE site = (SELECT no FROM site_ref WHERE uuid = ?1)",
			     -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(st, 1, sto_site_id(db), -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	*count = sqlite3_column_int(st, 0);
	*distinct = sqlite3_column_int(st, 1);
	*lo = sqlite3_column_int(st, 2);
	*hi = sqlite3_column_int(st, 3);
	sqlite3_finalize(st);
}

static void
test_two_connections_capturing_alternately_get_dense_distinct_seqs(void **state)
{
	fx *f = *state;
	sto_opts o = {.user = "clerk", .clock = fake_clock};
	sto_db *other;
	const char *cols[] = {"name"};
	const char *vals[] = {"A"};
	char id[37];
	int count;
	int distinct;
	int lo;
	int hi;
	int i;

	/* Another process on the same replica file: `ocop sync` beside the CLI. */
	assert_ok(sto_open(&other, f->path, &o));
	for (i = 0; i < 6; i++) {
		sto_db *db = i % 2 ? other : f->db;
		/* Each writes twice in a row, so each keeps a number in memory that
		 * the other's next write makes stale. */
		assert_ok(sto_begin(db));
		assert_ok(sto_row_insert(db, "subject", cols, vals, 1, id));
		assert_ok(sto_row_insert(db, "subject", cols, vals, 1, id));
		assert_ok(sto_commit(db));
	}
	/* One rolls back a transaction after the other wrote: neither leaves a gap. */
	assert_ok(sto_begin(f->db));
	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 1, id));
	sto_rollback(f->db);
	assert_ok(sto_row_insert(other, "subject", cols, vals, 1, id));
	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 1, id));
	own_seqs(f->db, &count, &distinct, &lo, &hi);
	assert_int_equal(count, 14);
	assert_int_equal(distinct, 14);
	assert_int_equal(lo, 1);
	assert_int_equal(hi, 14);
	sto_close(other);
}

static void
test_a_statement_failing_inside_a_transaction_leaves_no_gap(void **state)
{
	fx *f = *state;
	const char *cols[] = {"name"};
	const char *vals[] = {"A"};
	char id[37];
	int count;
	int distinct;
	int lo;
	int hi;
	uint64_t seq;

	assert_ok(sto_begin(f->db));
	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 1, id));
	/* Its first row is captured (number 2), then the second hits the primary
	 * key and SQLite undoes the statement, but not the transaction: no
	 * rollback hook runs. */
	assert_err(sto_exec(f->db, "INSERT INTO subject (id, name) VALUES "
				   "('0190f0f0-0000-7000-8000-0000000000aa', 'x'),"
				   "('0190f0f0-0000-7000-8000-0000000000aa', 'y')"),
	    OCOP_EDB);
	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 1, id));
	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 1, id));
	assert_ok(sto_commit(f->db));
	assert_ok(sto_capture_last_seq(f->db, &seq));
	assert_int_equal(seq, 3);
	own_seqs(f->db, &count, &distinct, &lo, &hi);
	assert_int_equal(count, 3);
	assert_int_equal(distinct, 3);
	assert_int_equal(hi, 3);
}

static void
test_write_from_a_foreign_connection_fails_loudly(void **state)
{
	fx *f = *state;
	sqlite3 *raw;
	char *msg = NULL;
	int rc;

	assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
	rc = sqlite3_exec(raw, "INSERT INTO subject (id, name) VALUES "
			       "('0190f0f0-0000-7000-8000-0000000000bb', 'sneaky')",
	    NULL, NULL, &msg);
	assert_int_not_equal(rc, SQLITE_OK);
	assert_non_null(strstr(msg, "no such function: ocop_"));
	sqlite3_free(msg);
	sqlite3_close(raw);
}

static void
test_hard_delete_and_id_change_are_refused(void **state)
{
	fx *f = *state;
	const char *cols[] = {"name"};
	const char *vals[] = {"A"};
	char id[37];
	char sql[200];

	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 1, id));
	snprintf(sql, sizeof(sql), "DELETE FROM subject WHERE id = '%s'", id);
	assert_err(sto_exec(f->db, sql), OCOP_EDB);
	assert_non_null(strstr(sto_errmsg(f->db), "never deleted"));
	snprintf(sql, sizeof(sql),
	    "UPDATE subject SET id = '0190f0f0-0000-7000-8000-0000000000cc' WHERE id = '%s'", id);
	assert_err(sto_exec(f->db, sql), OCOP_EDB);
	assert_non_null(strstr(sto_errmsg(f->db), "never change"));
}

static void
test_capture_before_init_is_refused(void **state)
{
	fx *f = *state;
	sto_opts o = {.create = true};
	sto_db *db;
	char path[600];
	const char *cols[] = {"name"};
	const char *vals[] = {"A"};
	char id[37];

	(void)f;
	snprintf(path, sizeof(path), "%s/fresh.db", f->dir);
	assert_ok(sto_open(&db, path, &o));
	assert_err(sto_row_insert(db, "subject", cols, vals, 1, id), OCOP_EDB);
	assert_non_null(strstr(sto_errmsg(db), "ocop init"));
	sto_close(db);
}

static void
test_a_later_write_beats_a_cell_version_from_a_clock_ahead_of_ours(void **state)
{
	fx *f = *state;
	const char *cols[] = {"name"};
	const char *vals[] = {"A"};
	char id[37];
	char cells[256];
	uint64_t hlc;
	uint64_t ahead = ((fake_ms + 60000) << 16) | 5;

	assert_ok(sto_row_insert(f->db, "subject", cols, vals, 1, id));
	/* As if a merge had installed a version from a site a minute ahead. */
	assert_ok(tr_clock_set(f->db, "subject", id, "name", ahead, "0190f0f0-0000-7000-8000-0000000000aa"));
	assert_ok(sto_row_update(f->db, "subject", id, "name", "B"));
	load_change(f->db, 2, &hlc, cells, sizeof(cells));
	assert_true(hlc > ahead);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_insert_logs_every_set_column_with_no_base, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_update_logs_only_changed_columns_with_their_base_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_site_seq_stays_dense_across_rollbacks_and_failed_statements, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_connections_capturing_alternately_get_dense_distinct_seqs, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_statement_failing_inside_a_transaction_leaves_no_gap, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_write_from_a_foreign_connection_fails_loudly, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_hard_delete_and_id_change_are_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_capture_before_init_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_later_write_beats_a_cell_version_from_a_clock_ahead_of_ours, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
