/*
 * unit.ocop.scope: the one scope matcher (common/ocop/scope.c): codes under
 * codes, lists, the nation, ancestors, and the succession of units from the
 * shipped reference data and from a province's own unit rows.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/policy.h"
#include "common/ocop/scope.h"
#include "common/ocop/units.h"
#include "common/store/db.h"
#include "common/store/merge.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/hlc.h"
#include "protocol/change.h"

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

/* A server's replica with the shipped rules, and the rows the batch below writes under. */
typedef struct batch_fx {
	char *dir;          /* temp dir, owned */
	ocp_policy *pol;    /* the server's rules, owned */
	sto_db *db;         /* the server's replica, owned */
	char s1[37];        /* subject in commune 83-100 */
	char s2[37];        /* subject in commune 83-200 */
	char p1[37];        /* product of s1 */
	char d1[37];        /* dossier of p1 */
	uint64_t seq;       /* next number of the hand-made changes */
} batch_fx;

static void
batch_open(batch_fx *f)
{
	char data[1024];
	char err[256];
	char path[700];
	sto_opts o = {.create = true, .user = "t"};
	const char *sc[] = {"name", "kind", "unit_code"};
	const char *s1v[] = {"HTX một", "htx", "83-100"};
	const char *s2v[] = {"HTX hai", "htx", "83-200"};
	const char *pc[] = {"subject_id", "name", "product_set", "unit_code"};
	const char *dc[] = {"product_id", "legal_basis", "status", "epoch", "round_year", "round_no", "unit_code"};

	memset(f, 0, sizeof(*f));
	f->dir = tu_mkdtemp();
	tu_src(data, sizeof(data), "data");
	assert_ok(ocp_policy_open(&f->pol, data, true, err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/server.db", f->dir);
	assert_ok(sto_open(&f->db, path, &o));
	assert_ok(sto_site_init(f->db, NULL, "province", "83"));
	assert_ok(sto_row_insert(f->db, "subject", sc, s1v, 3, f->s1));
	assert_ok(sto_row_insert(f->db, "subject", sc, s2v, 3, f->s2));
	{
		const char *pv[] = {f->s1, "Kẹo dừa", "07", "83-100"};
		assert_ok(sto_row_insert(f->db, "product", pc, pv, 4, f->p1));
	}
	{
		const char *dv[] = {f->p1, "qd26-2026", "draft", "0", "2026", "1", "83-100"};
		assert_ok(sto_row_insert(f->db, "dossier", dc, dv, 7, f->d1));
	}
	f->seq = 1;
}

static void
batch_close(batch_fx *f)
{
	sto_close(f->db);
	ocp_policy_free(f->pol);
	tu_rmtree(f->dir);
}

/* Merge a change of text columns (to a new row or not) from a site of `role` and `scope`; true when applied. */
static bool
batch_merge_as(batch_fx *f, const char *role, const char *scope, const char *tbl, const char *row,
    const char *const *cols, const char *const *vals, size_t n)
{
	static const char site[] = "019bbbbb-0000-7000-8000-00000000cccc";
	sto_writer w = {site, role, scope};
	proto_change c;
	proto_value v;
	sto_verdict verdict;
	com_buf cells;
	proto_wr wr;
	size_t i;

	com_buf_init(&cells);
	proto_wr_init(&wr, &cells);
	proto_cells_begin(&wr, (uint32_t)n);
	for (i = 0; i < n; i++) {
		memset(&v, 0, sizeof(v));
		v.type = PROTO_V_TEXT;
		v.p = (const uint8_t *)vals[i];
		v.len = strlen(vals[i]);
		proto_cell_put(&wr, cols[i], &v, 0);
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.site, sizeof(c.site), "%s", site);
	c.seq = f->seq++;
	snprintf(c.tbl, sizeof(c.tbl), "%s", tbl);
	snprintf(c.row, sizeof(c.row), "%s", row);
	assert_ok(com_hlc_now(sto_hlc(f->db), &c.hlc)); /* newer than every write so far: it wins its cells */
	c.cells = cells.data;
	c.cells_len = cells.len;
	assert_ok(sto_merge_apply(f->db, ocp_policy_store(f->pol), &w, &c, false, &verdict));
	com_buf_fini(&cells);
	if (verdict.outcome != STO_APPLIED) {
		print_message("%s %s refused: %s\n", tbl, row, verdict.reason);
	}
	return verdict.outcome == STO_APPLIED;
}

/* The same from a commune. */
static bool
batch_merge(batch_fx *f, const char *scope, const char *tbl, const char *row, const char *const *cols,
    const char *const *vals, size_t n)
{
	return batch_merge_as(f, "commune", scope, tbl, row, cols, vals, n);
}

static void
test_a_batch_judges_each_change_by_where_its_row_is_now(void **state)
{
	batch_fx f;
	const char *name[] = {"status_note"};
	const char *v1[] = {"Hồ sơ 1"};
	const char *v2[] = {"Hồ sơ 2"};
	const char *v3[] = {"Hồ sơ 3"};
	const char *dc[] = {"product_id", "legal_basis", "status", "status_note"};
	const char *pc[] = {"subject_id", "name", "product_set", "unit_code"};
	char p2[37];
	uint64_t hits;

	(void)state;
	batch_open(&f);
	assert_ok(sto_begin(f.db));
	/* Two changes under the same parents: the second reads them from memory. */
	assert_true(batch_merge(&f, "83-100", "dossier", f.d1, name, v1, 1));
	hits = f.db->places.hits;
	assert_true(batch_merge(&f, "83-100", "dossier", f.d1, name, v2, 1));
	assert_true(f.db->places.hits > hits);
	/* The subject moves to commune 83-200 (a local write here, inside the
	 * same transaction): the dossier is judged where it is now. */
	assert_ok(sto_row_update(f.db, "subject", f.s1, "unit_code", "83-200"));
	assert_false(batch_merge(&f, "83-100", "dossier", f.d1, name, v3, 1));
	assert_true(batch_merge(&f, "83-200", "dossier", f.d1, name, v3, 1));
	/* A dossier naming a product not held yet is refused; once the product
	 * comes (later in the same batch), the next one is found. */
	{
		const char *pv[] = {f.s2, "Mứt dừa", "07", "83-200"};
		const char *dv[] = {"019bbbbb-0000-7000-8000-0000000000a1", "qd26-2026", "draft", "Hồ sơ mới"};
		snprintf(p2, sizeof(p2), "019bbbbb-0000-7000-8000-0000000000b2");
		dv[0] = p2;
		assert_false(batch_merge(&f, "83-200", "dossier", "019bbbbb-0000-7000-8000-0000000000d1", dc, dv, 4));
		assert_true(batch_merge(&f, "83-200", "product", p2, pc, pv, 4));
		assert_true(batch_merge(&f, "83-200", "dossier", "019bbbbb-0000-7000-8000-0000000000d2", dc, dv, 4));
		assert_false(batch_merge(&f, "83-100", "dossier", "019bbbbb-0000-7000-8000-0000000000d3", dc, dv, 4));
	}
	/* Rolled back: the move and the product are undone, and so is what was kept of them. */
	sto_rollback(f.db);
	assert_ok(sto_begin(f.db));
	assert_true(batch_merge(&f, "83-100", "dossier", f.d1, name, v3, 1));
	{
		const char *dv[] = {p2, "qd26-2026", "draft", "Hồ sơ mới"};
		assert_false(batch_merge(&f, "83-200", "dossier", "019bbbbb-0000-7000-8000-0000000000d4", dc, dv, 4));
	}
	/* The same move merged from the province: judged where the row is now. */
	{
		const char *uc[] = {"unit_code"};
		const char *uv[] = {"83-200"};
		assert_true(batch_merge(&f, "83-100", "dossier", f.d1, name, v1, 1));
		assert_true(batch_merge_as(&f, "province", "83", "subject", f.s1, uc, uv, 1));
		assert_false(batch_merge(&f, "83-100", "dossier", f.d1, name, v2, 1));
		assert_true(batch_merge(&f, "83-200", "dossier", f.d1, name, v2, 1));
	}
	assert_ok(sto_commit(f.db));
	assert_int_equal(f.db->places.count, 0); /* a commit ends what was kept */
	batch_close(&f);
}

static void
test_a_scope_resting_on_a_missing_parent_is_read_again_when_the_parent_comes(void **state)
{
	static const char s3[] = "019bbbbb-0000-7000-8000-0000000000e3";
	batch_fx f;
	const char *name[] = {"status_note"};
	const char *v1[] = {"Hồ sơ 1"};
	const char *v2[] = {"Hồ sơ 2"};
	const char *pc[] = {"subject_id", "name", "product_set", "unit_code"};
	const char *pv[] = {s3, "Bánh tráng", "01", "83-100"};
	const char *dc[] = {"product_id", "legal_basis", "status", "epoch", "round_year", "round_no", "unit_code"};
	const char *sc[] = {"name", "kind", "unit_code"};
	const char *sv[] = {"HTX ba", "htx", "83-200"};
	char p3[37];
	char d3[37];

	(void)state;
	batch_open(&f);
	/* A product filed before its subject reached this replica: placed by its own unit meanwhile. */
	assert_ok(sto_row_insert(f.db, "product", pc, pv, 4, p3));
	{
		const char *dv[] = {p3, "qd26-2026", "draft", "0", "2026", "1", "83-100"};
		assert_ok(sto_row_insert(f.db, "dossier", dc, dv, 7, d3));
	}
	assert_ok(sto_begin(f.db));
	assert_true(batch_merge(&f, "83-100", "dossier", d3, name, v1, 1));
	assert_true(batch_merge(&f, "83-100", "dossier", d3, name, v1, 1));
	/* The subject arrives (a new row: no held row is written), in commune 83-200. */
	assert_true(batch_merge_as(&f, "province", "83", "subject", s3, sc, sv, 3));
	assert_false(batch_merge(&f, "83-100", "dossier", d3, name, v2, 1));
	assert_true(batch_merge(&f, "83-200", "dossier", d3, name, v2, 1));
	assert_ok(sto_commit(f.db));
	batch_close(&f);
}

static void
test_scopes_are_kept_only_by_the_merge_and_never_after_a_savepoint(void **state)
{
	batch_fx f;
	const char *name[] = {"status_note"};
	const char *v1[] = {"Hồ sơ 1"};
	const char *v2[] = {"Hồ sơ 2"};
	const char *dc[] = {"product_id", "legal_basis", "status"};
	char id[37];

	(void)state;
	batch_open(&f);
	sto_set_policy(f.db, ocp_policy_store(f.pol));
	assert_ok(sto_begin(f.db));
	/* A local write is judged inside its statement, which may yet be
	 * undone: what its judgement read is not kept. */
	{
		const char *dv[] = {f.p1, "qd26-2026", "draft"};
		assert_ok(sto_row_insert(f.db, "dossier", dc, dv, 3, id));
	}
	assert_int_equal(f.db->places.count, 0);
	/* A merged change is judged between statements: its parents are kept. */
	assert_true(batch_merge(&f, "83-100", "dossier", f.d1, name, v1, 1));
	assert_int_equal(f.db->places.count, 2); /* the product and its subject */
	/* Writing a kept row by any column empties it (its children's scopes rest on it). */
	assert_ok(sto_row_update(f.db, "product", f.p1, "name", "Kẹo dừa sữa"));
	assert_int_equal(f.db->places.count, 0);
	assert_ok(sto_commit(f.db));
	/* ROLLBACK TO has no hook: once a savepoint is seen, nothing is kept. */
	assert_ok(sto_exec(f.db, "SAVEPOINT a; RELEASE a"));
	assert_ok(sto_begin(f.db));
	assert_true(batch_merge(&f, "83-100", "dossier", f.d1, name, v2, 1));
	assert_int_equal(f.db->places.count, 0);
	assert_ok(sto_commit(f.db));
	batch_close(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_a_scope_covers_its_codes_and_what_lies_under_them),
	    cmocka_unit_test(test_a_former_province_is_covered_by_the_province_that_succeeded_it),
	    cmocka_unit_test(test_a_batch_judges_each_change_by_where_its_row_is_now),
	    cmocka_unit_test(test_scopes_are_kept_only_by_the_merge_and_never_after_a_savepoint),
	    cmocka_unit_test(test_a_scope_resting_on_a_missing_parent_is_read_again_when_the_parent_comes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
