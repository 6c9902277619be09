/* Unit tests for common/store/merge.c: the merge rules, ledger and order independence. */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/store/merge.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "tests/lib/replica.h"

#define NREP 3

typedef struct fx {
	char *dir;          /* temp dir, owned */
	sto_db *r[NREP];    /* replicas, each its own site */
	uint64_t now[NREP]; /* each replica's physical clock, ms */
} fx;

static uint64_t
fx_clock(void *arg)
{
	return *(uint64_t *)arg;
}

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	char path[600];
	int i;

	f->dir = tu_mkdtemp();
	for (i = 0; i < NREP; i++) {
		sto_opts o = {.create = true, .user = "u", .clock = fx_clock};
		f->now[i] = 1763800000000ULL;
		o.clock_arg = &f->now[i];
		snprintf(path, sizeof(path), "%s/r%d.db", f->dir, i);
		if (sto_open(&f->r[i], path, &o) != OCOP_OK ||
		    sto_site_init(f->r[i], NULL, "province", "83") != OCOP_OK) {
			return -1;
		}
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;
	int i;

	for (i = 0; i < NREP; i++) {
		sto_close(f->r[i]);
	}
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

static char *
dump(sto_db *db)
{
	com_buf b;

	com_buf_init(&b);
	tr_dump(db, &b, true);
	return com_buf_detach(&b, NULL);
}

static void
assert_same(sto_db *a, sto_db *b)
{
	char *da = dump(a);
	char *db = dump(b);

	if (strcmp(da, db) != 0) {
		/* Print the first lines that differ (whole dumps are too long). */
		char *pa = da;
		char *pb = db;
		while (*pa && *pb) {
			char *ea = strchr(pa, '\n');
			char *eb = strchr(pb, '\n');
			size_t la = ea ? (size_t)(ea - pa) : strlen(pa);
			size_t lb = eb ? (size_t)(eb - pb) : strlen(pb);
			if (la != lb || memcmp(pa, pb, la) != 0) {
				print_error("A: %.*s\nB: %.*s\n", (int)la, pa, (int)lb, pb);
				break;
			}
			pa += la + (ea != NULL);
			pb += lb + (eb != NULL);
		}
	}
	assert_string_equal(da, db);
	com_free(da);
	com_free(db);
}

/* Copy a row created on r[0] to the others (full exchange from r[0]). */
static void
spread_from(fx *f, int from, const sto_policy *pol)
{
	int i;

	for (i = 0; i < NREP; i++) {
		uint64_t cur = 0;
		if (i != from) {
			assert_ok(tr_exchange(f->r[i], f->r[from], pol, &cur, false, NULL));
		}
	}
}

static char *
cell(sto_db *db, const char *sql, const char *id)
{
	sqlite3_stmt *st;
	char *out = NULL;

	assert_int_equal(sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		out = com_strdup(sqlite3_column_type(st, 0) == SQLITE_NULL ? "NULL"
									 : (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
	return out;
}

static void
test_concurrent_edits_of_one_field_converge_and_the_loser_is_in_the_ledger(void **state)
{
	fx *f = *state;
	const char *cols[] = {"name"};
	const char *vals[] = {"Kẹo dừa"};
	char id[37];
	uint64_t c01 = 0;
	uint64_t c10 = 0;
	char *a;
	char *b;

	assert_ok(sto_row_insert(f->r[0], "subject", cols, vals, 1, id));
	spread_from(f, 0, NULL);
	/* Both edit offline; replica 1's clock is later. */
	f->now[0] += 1000;
	f->now[1] += 2000;
	assert_ok(sto_row_update(f->r[0], "subject", id, "name", "Kẹo dừa Bến Tre"));
	assert_ok(sto_row_update(f->r[1], "subject", id, "name", "Kẹo dừa Mỏ Cày"));
	assert_ok(tr_exchange(f->r[0], f->r[1], NULL, &c01, false, NULL));
	assert_ok(tr_exchange(f->r[1], f->r[0], NULL, &c10, false, NULL));
	a = cell(f->r[0], "SELECT name FROM subject WHERE id = ?1", id);
	b = cell(f->r[1], "SELECT name FROM subject WHERE id = ?1", id);
	assert_string_equal(a, "Kẹo dừa Mỏ Cày");
	assert_string_equal(b, "Kẹo dừa Mỏ Cày");
	com_free(a);
	com_free(b);
	assert_int_equal(tr_ledger_count(f->r[0], "lww"), 1);
	assert_int_equal(tr_ledger_count(f->r[1], "lww"), 1);
	a = cell(f->r[0], "SELECT lost_value FROM ledger WHERE row_id = ?1", id);
	assert_string_equal(a, "Kẹo dừa Bến Tre");
	com_free(a);
}

static void
test_a_replayed_change_changes_nothing(void **state)
{
	fx *f = *state;
	const char *cols[] = {"name", "kind"};
	const char *vals[] = {"HTX", "htx"};
	char id[37];
	uint64_t cur = 0;
	tr_counts n = {0};
	char *before;
	char *after;

	assert_ok(sto_row_insert(f->r[0], "subject", cols, vals, 2, id));
	assert_ok(sto_row_update(f->r[0], "subject", id, "name", "HTX 2"));
	assert_ok(tr_exchange(f->r[1], f->r[0], NULL, &cur, false, &n));
	assert_int_equal(n.applied, 2);
	before = dump(f->r[1]);
	cur = 0;
	memset(&n, 0, sizeof(n));
	assert_ok(tr_exchange(f->r[1], f->r[0], NULL, &cur, true, &n));
	assert_int_equal(n.duplicates, 2);
	assert_int_equal(n.applied, 0);
	after = dump(f->r[1]);
	assert_string_equal(before, after);
	com_free(before);
	com_free(after);
}

static void
test_a_deleted_row_stays_deleted_after_a_late_update(void **state)
{
	fx *f = *state;
	const char *cols[] = {"name"};
	const char *vals[] = {"A"};
	char id[37];
	uint64_t c01 = 0;
	uint64_t c10 = 0;
	char *a;

	assert_ok(sto_row_insert(f->r[0], "dossier", cols + 0, vals, 0, id));
	spread_from(f, 0, NULL);
	f->now[0] += 10;
	assert_ok(sto_row_delete(f->r[0], "dossier", id));
	/* The other site edits later (by its clock) without having seen the delete. */
	f->now[1] += 50000;
	assert_ok(sto_row_update(f->r[1], "dossier", id, "status_note", "late note"));
	assert_ok(tr_exchange(f->r[1], f->r[0], NULL, &c10, false, NULL));
	assert_ok(tr_exchange(f->r[0], f->r[1], NULL, &c01, false, NULL));
	a = cell(f->r[1], "SELECT deleted FROM dossier WHERE id = ?1", id);
	assert_string_equal(a, "1");
	com_free(a);
	a = cell(f->r[0], "SELECT deleted FROM dossier WHERE id = ?1", id);
	assert_string_equal(a, "1");
	com_free(a);
	/* An undelete is refused where it is written, so it cannot diverge. */
	assert_err(sto_exec(f->r[1], "UPDATE dossier SET deleted = 0"), OCOP_EDB);
	assert_non_null(strstr(sto_errmsg(f->r[1]), "stays deleted"));
	(void)cols;
}

/* Rank table for the status tests: a toy workflow. */
static int
rank_of(const char *s)
{
	static const char *const order[] = {"draft", "submitted", "review", "update_requested",
	    "council", "recognised"};
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (strcmp(order[i], s) == 0) {
			return strcmp(s, "update_requested") == 0 ? 2 : (int)i * 10;
		}
	}
	return -1;
}

static int
toy_status_cmp(void *arg, sto_db *db, const char *row, const char *a, const char *b)
{
	(void)arg;
	(void)db;
	(void)row;
	return rank_of(a) - rank_of(b);
}

static int
set_status(sto_db *db, const char *id, const char *status, int epoch)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "UPDATE dossier SET status = '%s', epoch = MAX(epoch, %d) WHERE id = '%s'",
	    status, epoch, id);
	return sto_exec(db, sql);
}

static void
test_concurrent_statuses_converge_to_the_higher_rank_and_a_reopen_outranks_by_epoch(void **state)
{
	fx *f = *state;
	sto_policy pol = {NULL, toy_status_cmp, NULL, NULL};
	const char *cols[] = {"status", "epoch"};
	const char *vals[] = {"submitted", "0"};
	char id[37];
	uint64_t c[NREP][NREP] = {{0}};
	char *s;
	int i;
	int j;

	assert_ok(sto_row_insert(f->r[0], "dossier", cols, vals, 2, id));
	spread_from(f, 0, &pol);
	/* r0 moves forward to council; r1 (later clock!) to review; r2 reopens (epoch 1). */
	f->now[1] += 5000;
	assert_ok(set_status(f->r[0], id, "council", 0));
	assert_ok(set_status(f->r[1], id, "review", 0));
	assert_ok(set_status(f->r[2], id, "update_requested", 1));
	/* Deliver in different orders to each replica. */
	for (j = NREP - 1; j >= 0; j--) {
		for (i = 0; i < NREP; i++) {
			if (i != j) {
				assert_ok(tr_exchange(f->r[i], f->r[j], &pol, &c[i][j], (i + j) % 2, NULL));
			}
		}
	}
	for (i = 0; i < NREP; i++) {
		s = cell(f->r[i], "SELECT status || '/' || epoch FROM dossier WHERE id = ?1", id);
		assert_string_equal(s, "update_requested/1");
		com_free(s);
	}
	assert_same(f->r[0], f->r[1]);
	assert_same(f->r[0], f->r[2]);
	assert_true(tr_ledger_count(f->r[0], "workflow") >= 1);
}

static int
deny_decisions(void *arg, sto_db *db, const sto_writer *w, const sto_row *before, const proto_change *c,
    char *reason, size_t cap)
{
	(void)arg;
	(void)db;
	(void)w;
	(void)before;
	if (strcmp(c->tbl, "decision") == 0) {
		snprintf(reason, cap, "a commune office cannot write decision rows");
		return OCOP_EAUTH;
	}
	return OCOP_OK;
}

static void
test_a_change_without_authority_is_rejected_recorded_and_rejected_again_on_resend(void **state)
{
	fx *f = *state;
	sto_policy pol = {deny_decisions, NULL, NULL, NULL};
	const char *cols[] = {"kind", "star"};
	const char *vals[] = {"recognition", "4"};
	char id[37];
	uint64_t cur = 0;
	tr_counts n = {0};
	char *s;

	assert_ok(sto_row_insert(f->r[0], "decision", cols, vals, 2, id));
	assert_ok(tr_exchange(f->r[1], f->r[0], &pol, &cur, false, &n));
	assert_int_equal(n.rejected, 1);
	s = cell(f->r[1], "SELECT COUNT(*) FROM decision WHERE id = ?1", id);
	assert_string_equal(s, "0");
	com_free(s);
	assert_int_equal(tr_ledger_count(f->r[1], "authority"), 3);
	s = cell(f->r[1], "SELECT reason FROM ledger WHERE row_id = ?1 LIMIT 1", id);
	assert_non_null(strstr(s, "cannot write decision"));
	com_free(s);
	cur = 0;
	memset(&n, 0, sizeof(n));
	assert_ok(tr_exchange(f->r[1], f->r[0], &pol, &cur, false, &n));
	assert_int_equal(n.rejected, 1);
	assert_int_equal(tr_ledger_count(f->r[1], "authority"), 3);
}

static void
test_a_clock_far_ahead_is_clamped_and_recorded(void **state)
{
	fx *f = *state;
	const char *cols[] = {"name"};
	const char *vals[] = {"X"};
	char id[37];
	com_buf cells;
	sto_verdict v;
	proto_change c;

	f->now[0] += 3600 * 1000; /* an hour ahead of replica 1 */
	assert_ok(sto_row_insert(f->r[0], "subject", cols, vals, 1, id));
	com_buf_init(&cells);
	assert_ok(tr_log_get(f->r[0], sto_site_id(f->r[0]), 1, &c, &cells));
	assert_string_equal(c.row, id);
	assert_ok(sto_begin(f->r[1]));
	assert_ok(sto_merge_apply(f->r[1], NULL, NULL, &c, true, &v));
	assert_ok(sto_commit(f->r[1]));
	com_buf_fini(&cells);
	assert_int_equal(v.outcome, STO_APPLIED);
	assert_true(v.clamped);
	assert_true(v.hlc < c.hlc);
	assert_int_equal(tr_ledger_count(f->r[1], "clock"), 1);
}

/* A seeded mini-simulation: random writes on 3 replicas, delivered in two different orders. */
static void
test_merge_result_does_not_depend_on_delivery_order(void **state)
{
	fx *f = *state;
	sto_policy pol = {NULL, toy_status_cmp, NULL, NULL};
	static const char *const statuses[] = {"draft", "submitted", "review", "council", "recognised"};
	char ids[8][37];
	int nids = 0;
	unsigned seed = 12345;
	int step;
	int i;
	int j;
	uint64_t c[NREP][NREP] = {{0}};

	for (i = 0; i < NREP; i++) {
		sto_set_policy(f->r[i], &pol);
	}
	for (step = 0; step < 300; step++) {
		int r = (int)(rand_r(&seed) % NREP);
		int op = (int)(rand_r(&seed) % 10);
		char val[32];
		f->now[r] += rand_r(&seed) % 50;
		if (nids == 0 || (op == 0 && nids < 8)) {
			const char *cols[] = {"status", "epoch", "round_year"};
			const char *vals[] = {"draft", "0", "2026"};
			assert_ok(sto_row_insert(f->r[r], "dossier", cols, vals, 3, ids[nids]));
			nids++;
			continue;
		}
		j = (int)(rand_r(&seed) % (unsigned)nids);
		/* A row another replica created may not have arrived yet: skip then. */
		{
			char *have = cell(f->r[r], "SELECT COUNT(*) FROM dossier WHERE deleted = 0 AND id = ?1", ids[j]);
			int present = strcmp(have, "1") == 0;
			com_free(have);
			if (!present) {
				continue;
			}
		}
		if (op < 5) {
			snprintf(val, sizeof(val), "note %d", step);
			assert_ok(sto_row_update(f->r[r], "dossier", ids[j], "status_note", val));
		} else if (op < 8) {
			/* A backward move without a reopen is refused locally: fine. */
			(void)set_status(f->r[r], ids[j], statuses[rand_r(&seed) % 5], (int)(rand_r(&seed) % 3));
		} else if (op == 8) {
			assert_ok(sto_exec(f->r[r], "UPDATE dossier SET deleted = 1 WHERE rowid = 1"));
		} else {
			/* Random partial exchange between two replicas. */
			int k = (int)(rand_r(&seed) % NREP);
			if (k != r) {
				assert_ok(tr_exchange(f->r[r], f->r[k], &pol, &c[r][k], rand_r(&seed) % 2, NULL));
			}
		}
	}
	/* Heal: everyone receives everything. */
	for (step = 0; step < 2; step++) {
		for (i = 0; i < NREP; i++) {
			for (j = 0; j < NREP; j++) {
				if (i != j) {
					assert_ok(tr_exchange(f->r[i], f->r[j], &pol, &c[i][j], (i + j + step) % 2, NULL));
				}
			}
		}
	}
	assert_same(f->r[0], f->r[1]);
	assert_same(f->r[0], f->r[2]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_concurrent_edits_of_one_field_converge_and_the_loser_is_in_the_ledger, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_replayed_change_changes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_deleted_row_stays_deleted_after_a_late_update, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_concurrent_statuses_converge_to_the_higher_rank_and_a_reopen_outranks_by_epoch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_change_without_authority_is_rejected_recorded_and_rejected_again_on_resend, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_clock_far_ahead_is_clamped_and_recorded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_merge_result_does_not_depend_on_delivery_order, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
