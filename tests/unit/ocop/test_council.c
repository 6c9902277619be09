/*
 * Unit tests for common/ocop/council.c on a temporary replica with the
 * repository's rules (data/): evaluations, members, sheets, results, decisions.
 *
 * The sheets use rubric qd26-2026/01 (OCOP.md 3.5). BASE is a 4★ sheet chosen
 * by hand: it meets every option marked *** and **** and misses the *****
 * marks of 1.3, 1.5 and 4.1. Its parts: A = 12 + 9 + 11 = 32, B = 8 + 10 = 18,
 * C = 10 + 14 = 24, total 74.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/council.h"
#include "common/ocop/score.h"
#include "common/ocop/sheetcsv.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "common/util/uuid.h"

typedef struct pick {
	const char *code;   /* criterion */
	const char *points; /* as typed on the sheet */
} pick;

static const pick BASE[] = {
    {"1.1", "3"}, {"1.2", "1"}, {"1.3", "2"}, {"1.4", "2"}, {"1.5", "2"}, {"1.6", "1"},
    {"1.7", "1"}, {"2.1", "3"}, {"2.2", "2"}, {"2.3", "3"}, {"2.4", "1"}, {"3.1", "3"},
    {"3.2", "1"}, {"3.3", "3"}, {"3.4", "2"}, {"3.5", "2"}, {"4.1", "3"}, {"4.2", "2"},
    {"4.3", "3"}, {"5.1", "5"}, {"5.2", "2"}, {"5.3", "3"}, {"6.1", "2"}, {"6.2", "3"},
    {"6.3", "3"}, {"6.4", "2"}, {"7", "1"}, {"8", "3"}, {"9", "4"}, {"10", "3"}, {"11", "2"},
    {"12", "1"},
};
#define NBASE (sizeof(BASE) / sizeof(BASE[0]))

typedef struct fx {
	char *dir;         /* temp dir, owned */
	char data[512];    /* the repository's data directory */
	sto_db *db;        /* open replica */
	ocp_council *c;    /* council over db */
	char dossier[37];  /* a dossier waiting for the provincial council */
} fx;

/* The points a sheet built from BASE with overrides gives criterion code. */
static const char *
sheet_points(const pick *over, size_t nover, const char *code)
{
	size_t i;

	for (i = 0; i < nover; i++) {
		if (strcmp(over[i].code, code) == 0) {
			return over[i].points;
		}
	}
	for (i = 0; i < NBASE; i++) {
		if (strcmp(BASE[i].code, code) == 0) {
			return BASE[i].points;
		}
	}
	return NULL;
}

/* Append member's CSV rows: BASE with overrides. */
static void
csv_member(com_buf *b, const char *member, const pick *over, size_t nover)
{
	size_t i;

	for (i = 0; i < NBASE; i++) {
		com_buf_printf(b, "%s,%s,%s\n", member, BASE[i].code,
		    sheet_points(over, nover, BASE[i].code));
	}
}

static int64_t
count(sto_db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return n;
}

static void
text_of(sto_db *db, const char *sql, const char *id, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;

	out[0] = 0;
	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL) {
			snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
		}
	}
	sqlite3_finalize(st);
}

/* A subject, a product of set 01 and a dossier in `status`, written directly. */
static void
make_dossier(sto_db *db, const char *status, char out[37])
{
	const char *scols[] = {"name", "kind", "unit_code"};
	const char *svals[] = {"HTX Nông nghiệp Tân Phú", "htx", "83-28882"};
	const char *pcols[] = {"subject_id", "name", "product_set", "unit_code"};
	const char *dcols[] = {"product_id", "legal_basis", "rubric_id", "eval_type", "round_year",
	    "round_no", "unit_code", "province_code", "status", "epoch"};
	const char *pvals[4];
	const char *dvals[10];
	char subject[37];
	char product[37];

	assert_ok(sto_row_insert(db, "subject", scols, svals, 3, subject));
	pvals[0] = subject;
	pvals[1] = "Bưởi da xanh";
	pvals[2] = "01";
	pvals[3] = "83-28882";
	assert_ok(sto_row_insert(db, "product", pcols, pvals, 4, product));
	dvals[0] = product;
	dvals[1] = "qd26-2026";
	dvals[2] = "qd26-2026/01";
	dvals[3] = "first";
	dvals[4] = "2026";
	dvals[5] = "1";
	dvals[6] = "83-28882";
	dvals[7] = "83";
	dvals[8] = status;
	dvals[9] = "0";
	assert_ok(sto_row_insert(db, "dossier", dcols, dvals, 10, out));
}

static int
setup_role(void **state, const char *role, const char *scope)
{
	fx *f = com_calloc(1, sizeof(*f));
	sto_opts o = {.create = true, .user = "clerk"};
	char path[600];
	int64_t today;

	f->dir = tu_mkdtemp();
	tu_src(f->data, sizeof(f->data), "data");
	snprintf(path, sizeof(path), "%s/site.db", f->dir);
	if (sto_open(&f->db, path, &o) != OCOP_OK || sto_site_init(f->db, NULL, role, scope) != OCOP_OK ||
	    ocp_council_open(&f->c, f->db, f->data) != OCOP_OK ||
	    ocp_council_date_parse("2026-07-01", &today) != OCOP_OK) {
		return -1;
	}
	ocp_council_set_today(f->c, today);
	make_dossier(f->db, "council_review", f->dossier);
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_role(state, "province", "83");
}

static int
setup_commune(void **state)
{
	return setup_role(state, "commune", "83-28882");
}

static int
teardown(void **state)
{
	fx *f = *state;

	ocp_council_close(f->c);
	sto_close(f->db);
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

/* A provincial evaluation of the fixture's dossier with members named "Member 1".."Member n". */
static void
make_evaluation(fx *f, char eval[37], size_t n, char members[][37])
{
	ocp_eval_spec spec = {.dossier_id = f->dossier, .tier = "province", .spread_rule = true,
	    .min_members = 1}; /* these tests are about other rules */
	char name[32];
	size_t i;

	assert_ok(ocp_council_evaluation_add(f->c, &spec, eval));
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "Member %zu", i + 1);
		assert_ok(ocp_council_member_add(f->c, eval, name, i == 0 ? "chair" : "member", NULL,
		    members[i], NULL));
	}
}

/* ===== Score ids ===== */

static void
test_score_ids_are_deterministic_per_sheet_and_criterion(void **state)
{
	fx *f = *state;
	char a[37];
	char b[37];
	char d[37];
	char eval[37];
	char members[1][37];
	char sheet[37];
	char set1[37];
	char set2[37];
	com_uuid u;

	assert_ok(ocp_council_score_id("01a203b5-d713-7454-aa23-9c43fea534c6", "4.1", a));
	assert_ok(ocp_council_score_id("01a203b5-d713-7454-aa23-9c43fea534c6", "4.1", b));
	assert_ok(ocp_council_score_id("01a203b5-d713-7454-aa23-9c43fea534c6", "4.2", d));
	assert_string_equal(a, b);
	assert_string_not_equal(a, d);
	assert_ok(com_uuid_parse(&u, a));
	assert_int_equal(com_uuid_version(&u), 8);
	assert_int_equal(u.b[8] & 0xc0, 0x80);

	/* Entering a cell twice writes one row, whose id is the derived one. */
	make_evaluation(f, eval, 1, members);
	text_of(f->db, "SELECT id FROM score_sheet WHERE member_id = ?1", members[0], sheet,
	    sizeof(sheet));
	assert_ok(ocp_council_sheet_set(f->c, members[0], "4.1", 300, false, set1));
	assert_ok(ocp_council_sheet_set(f->c, members[0], "4.1", 500, false, set2));
	assert_string_equal(set1, set2);
	assert_ok(ocp_council_score_id(sheet, "4.1", a));
	assert_string_equal(set1, a);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM score"), 1);
	assert_int_equal(count(f->db, "SELECT points FROM score"), 500);
}

/* ===== Sheets ===== */

static void
test_setting_an_impossible_points_value_is_refused(void **state)
{
	fx *f = *state;
	char eval[37];
	char members[1][37];
	int64_t changes;

	make_evaluation(f, eval, 1, members);
	changes = count(f->db, "SELECT COUNT(*) FROM change");
	/* 1.1 offers 1, 2 or 3 points: 2.5 is no option, nor is 4. */
	assert_err(ocp_council_sheet_set(f->c, members[0], "1.1", 250, false, NULL), OCOP_EINPUT);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "1.1"));
	assert_err(ocp_council_sheet_set(f->c, members[0], "1.1", 400, false, NULL), OCOP_EINPUT);
	/* 1.1 has no knock-out option; "99" is no criterion. */
	assert_err(ocp_council_sheet_set(f->c, members[0], "1.1", 0, true, NULL), OCOP_EINPUT);
	assert_err(ocp_council_sheet_set(f->c, members[0], "99", 100, false, NULL), OCOP_EINPUT);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM score"), 0);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM change"), changes);
	/* A real option and the knock-out of 6.1 are accepted. */
	assert_ok(ocp_council_sheet_set(f->c, members[0], "1.1", 300, false, NULL));
	assert_ok(ocp_council_sheet_set(f->c, members[0], "6.1", 0, true, NULL));
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM score WHERE ko = 1"), 1);
}

static void
test_csv_import_is_all_or_nothing(void **state)
{
	fx *f = *state;
	static const pick bad[] = {{"4.1", "4"}}; /* 4.1 offers 1, 2, 3 or 5 */
	char eval[37];
	char members[2][37];
	com_buf csv;
	size_t n = 0;
	int64_t changes;

	make_evaluation(f, eval, 2, members);
	changes = count(f->db, "SELECT COUNT(*) FROM change");
	com_buf_init(&csv);
	/* Line 1 is the header, Member 1 fills lines 2..33, Member 2's 4.1 is line 33 + 17. */
	com_buf_puts(&csv, "member,criterion,points\n");
	csv_member(&csv, "Member 1", NULL, 0);
	csv_member(&csv, "Member 2", bad, 1);
	assert_err(ocp_council_sheet_import(f->c, eval, "paper.csv", (const char *)csv.data, csv.len,
		       &n),
	    OCOP_EINPUT);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "paper.csv:50"));
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM score"), 0);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM change"), changes);

	/* A member the evaluation does not have: refused naming the line, nothing written. */
	com_buf_reset(&csv);
	com_buf_puts(&csv, "member,criterion,points\n");
	csv_member(&csv, "Member 1", NULL, 0);
	csv_member(&csv, "Member 9", NULL, 0);
	assert_err(ocp_council_sheet_import(f->c, eval, "paper.csv", (const char *)csv.data, csv.len,
		       &n),
	    OCOP_EINPUT);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "paper.csv:34"));
	assert_non_null(strstr(ocp_council_errmsg(f->c), "Member 9"));
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM score"), 0);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM change"), changes);

	/* The good file goes in whole. */
	com_buf_reset(&csv);
	com_buf_puts(&csv, "member,criterion,points\n");
	csv_member(&csv, "Member 1", NULL, 0);
	csv_member(&csv, "Member 2", NULL, 0);
	assert_ok(ocp_council_sheet_import(f->c, eval, "paper.csv", (const char *)csv.data, csv.len,
	    &n));
	assert_int_equal(n, 2 * NBASE);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM score"), 2 * NBASE);
	com_buf_fini(&csv);
}

static void
test_a_sheet_owned_by_another_site_is_refused(void **state)
{
	fx *f = *state;
	ocp_eval_spec spec = {.dossier_id = f->dossier, .tier = "province", .spread_rule = true};
	char eval[37];
	char member[37];
	com_buf csv;

	assert_ok(ocp_council_evaluation_add(f->c, &spec, eval));
	/* The member scores on a laptop of their own: that site owns the sheet. */
	assert_ok(ocp_council_member_add(f->c, eval, "Member 1", NULL,
	    "01a203b5-d72d-7252-af4f-6e40e7a4c388", member, NULL));
	assert_err(ocp_council_sheet_set(f->c, member, "1.1", 300, false, NULL), OCOP_EAUTH);
	com_buf_init(&csv);
	com_buf_puts(&csv, "member,criterion,points\n");
	csv_member(&csv, "Member 1", NULL, 0);
	assert_err(ocp_council_sheet_import(f->c, eval, "p.csv", (const char *)csv.data, csv.len, NULL),
	    OCOP_EAUTH);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "p.csv:2"));
	assert_err(ocp_council_sheet_submit(f->c, member), OCOP_EAUTH);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM score"), 0);
	com_buf_fini(&csv);
}

static void
test_a_submitted_sheet_no_longer_changes(void **state)
{
	fx *f = *state;
	char eval[37];
	char members[1][37];
	com_buf csv;

	make_evaluation(f, eval, 1, members);
	assert_ok(ocp_council_sheet_set(f->c, members[0], "1.1", 300, false, NULL));
	/* Incomplete: submitting names what is missing. */
	assert_err(ocp_council_sheet_submit(f->c, members[0]), OCOP_ESTATE);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "1.2"));
	com_buf_init(&csv);
	com_buf_puts(&csv, "member,criterion,points\n");
	csv_member(&csv, "Member 1", NULL, 0);
	assert_ok(ocp_council_sheet_import(f->c, eval, "p.csv", (const char *)csv.data, csv.len, NULL));
	assert_ok(ocp_council_sheet_submit(f->c, members[0]));
	assert_err(ocp_council_sheet_set(f->c, members[0], "1.1", 200, false, NULL), OCOP_ESTATE);
	assert_err(ocp_council_sheet_submit(f->c, members[0]), OCOP_ESTATE);
	com_buf_fini(&csv);
}

static void
test_member_names_are_unique_and_there_is_one_chair(void **state)
{
	fx *f = *state;
	ocp_eval_spec spec = {.dossier_id = f->dossier, .tier = "province", .spread_rule = true};
	char eval[37];
	char m[37];

	assert_ok(ocp_council_evaluation_add(f->c, &spec, eval));
	assert_ok(ocp_council_member_add(f->c, eval, "Chủ tịch hội đồng", "chair", NULL, m, NULL));
	/* The same name typed in decomposed form (NFD) is the same name. */
	assert_err(ocp_council_member_add(f->c, eval, "Chu\xcc\x89 ti\xcc\xa3" "ch ho\xcc\xa3\xcc\x82i \xc4\x91o\xcc\x82\xcc\x80ng",
		       NULL, NULL, m, NULL),
	    OCOP_EEXIST);
	assert_err(ocp_council_member_add(f->c, eval, "Member 2", "chair", NULL, m, NULL), OCOP_EEXIST);
	assert_err(ocp_council_member_add(f->c, eval, "Member 2", "boss", NULL, m, NULL), OCOP_EINVAL);
	assert_err(ocp_council_member_add(f->c, eval, "Member 2", NULL, "not-a-uuid", m, NULL),
	    OCOP_EINVAL);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM member"), 1);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM score_sheet"), 1);
}

/* ===== Evaluations ===== */

static void
test_an_evaluation_keeps_basis_and_rubric_and_needs_the_council_status(void **state)
{
	fx *f = *state;
	ocp_eval_spec spec = {.dossier_id = f->dossier, .tier = "province", .spread_rule = true,
	    .held_on = "2026-06-20", .spread_threshold = 750};
	char other[37];
	char eval[37];
	char text[64];

	assert_ok(ocp_council_evaluation_add(f->c, &spec, eval));
	text_of(f->db, "SELECT legal_basis FROM evaluation WHERE id = ?1", eval, text, sizeof(text));
	assert_string_equal(text, "qd26-2026");
	text_of(f->db, "SELECT rubric_id FROM evaluation WHERE id = ?1", eval, text, sizeof(text));
	assert_string_equal(text, "qd26-2026/01");
	text_of(f->db, "SELECT spread_threshold FROM evaluation WHERE id = ?1", eval, text,
	    sizeof(text));
	assert_string_equal(text, "750");

	/* A dossier still at the commune: no council yet. */
	make_dossier(f->db, "commune_check", other);
	spec.dossier_id = other;
	assert_err(ocp_council_evaluation_add(f->c, &spec, eval), OCOP_ESTATE);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "council_review"));
	/* A province holds no national council; an outline rubric cannot score. */
	spec.dossier_id = f->dossier;
	spec.tier = "national";
	assert_err(ocp_council_evaluation_add(f->c, &spec, eval), OCOP_EAUTH);
	spec.tier = "province";
	/* The rubric must be the sheet of the dossier's basis and its product's set (01). */
	spec.rubric_id = "qd148-2023/parts";
	assert_err(ocp_council_evaluation_add(f->c, &spec, eval), OCOP_EINPUT);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "belongs to legal basis qd148-2023"));
	spec.rubric_id = "qd26-2026/07";
	assert_err(ocp_council_evaluation_add(f->c, &spec, eval), OCOP_EINPUT);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "sheet of product set 07, but the product is in set 01"));
	spec.rubric_id = "qd26-2026/99";
	assert_err(ocp_council_evaluation_add(f->c, &spec, eval), OCOP_EINPUT);
	spec.rubric_id = NULL;
	spec.held_on = "2026-02-30";
	assert_err(ocp_council_evaluation_add(f->c, &spec, eval), OCOP_EINVAL);
	spec.held_on = NULL;
	spec.dossier_id = "01a203b5-0000-7000-8000-000000000000";
	assert_err(ocp_council_evaluation_add(f->c, &spec, eval), OCOP_ENOENT);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM evaluation"), 1);
}

static void
test_a_commune_site_cannot_hold_a_provincial_council(void **state)
{
	fx *f = *state;
	ocp_eval_spec spec = {.dossier_id = f->dossier, .tier = "province", .spread_rule = true};
	char eval[37];

	assert_err(ocp_council_evaluation_add(f->c, &spec, eval), OCOP_EAUTH);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "commune"));
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM evaluation"), 0);
}

/* ===== Results ===== */

static void
test_result_equals_the_scoring_module_on_the_same_sheets(void **state)
{
	fx *f = *state;
	/* Member 2: 1.2 -> 2 (+1), 4.3 -> 5 (+2), 7 -> 3 (+2): 79 (A 33, B 20, C 26).
	 * Member 3: 1.4 -> 3, 4.2 -> 3, 6.4 -> 3, 12 -> 2 (+1 each): 78 (A 33, B 19, C 26). */
	static const pick m2[] = {{"1.2", "2"}, {"4.3", "5"}, {"7", "3"}};
	static const pick m3[] = {{"1.4", "3"}, {"4.2", "3"}, {"6.4", "3"}, {"12", "2"}};
	const ocp_rubric *r = NULL;
	ocp_council_result *res = NULL;
	ocp_sheetcsv *sheets = NULL;
	ocp_score *ref = NULL;
	ocp_score_opts opts;
	const ocp_sheet *sv;
	char eval[37];
	char members[3][37];
	char err[512];
	com_buf csv;
	size_t n;
	size_t i;
	int k;

	make_evaluation(f, eval, 3, members);
	com_buf_init(&csv);
	com_buf_puts(&csv, "member,criterion,points\n");
	csv_member(&csv, "Member 1", NULL, 0);
	csv_member(&csv, "Member 2", m2, 3);
	assert_ok(ocp_council_sheet_import(f->c, eval, "p.csv", (const char *)csv.data, csv.len, NULL));
	/* Member 3 is entered criterion by criterion. */
	for (i = 0; i < NBASE; i++) {
		int64_t p = 0;
		const char *t = sheet_points(m3, 4, BASE[i].code);

		assert_ok(ocp_points_parse(t, strlen(t), &p));
		assert_ok(ocp_council_sheet_set(f->c, members[2], BASE[i].code, p, false, NULL));
	}
	csv_member(&csv, "Member 3", m3, 4);

	assert_ok(ocp_council_result_compute(f->c, eval, &res));
	assert_ok(ocp_council_rubric(f->c, "qd26-2026/01", &r));
	assert_ok(ocp_sheetcsv_parse(&sheets, r, "p.csv", (const char *)csv.data, csv.len, err,
	    sizeof(err)));
	sv = ocp_sheetcsv_sheets(sheets, &n);
	ocp_score_opts_init(&opts);
	assert_ok(ocp_score_compute(&ref, r, sv, n, &opts, err, sizeof(err)));

	assert_int_equal(res->score->count, ref->count);
	assert_int_equal(res->score->sum, ref->sum);
	assert_int_equal(res->score->mean_display, ref->mean_display);
	for (k = 0; k < OCP_PART_COUNT; k++) {
		assert_int_equal(res->score->part_sum[k], ref->part_sum[k]);
	}
	for (i = 0; i < ref->count; i++) {
		assert_string_equal(res->score->members[i].member, ref->members[i].member);
		assert_int_equal(res->score->members[i].total, ref->members[i].total);
	}
	assert_int_equal(res->score->band_star, ref->band_star);
	assert_int_equal(res->score->minima_star, ref->minima_star);
	assert_int_equal(res->score->star, ref->star);
	assert_int_equal(res->score->spread, ref->spread);
	assert_int_equal(res->score->potential_5star, ref->potential_5star);
	/* And both match the arithmetic done by hand: (74 + 79 + 78) / 3 = 77, 4★. */
	assert_int_equal(res->score->sum, 23100);
	assert_int_equal(res->score->mean_display, 7700);
	assert_int_equal(res->score->members[0].total, 7400);
	assert_int_equal(res->score->members[1].total, 7900);
	assert_int_equal(res->score->members[2].total, 7800);
	assert_int_equal(res->score->band_star, 4);
	assert_int_equal(res->score->minima_star, 4);
	assert_int_equal(res->score->star, 4);
	assert_int_equal(res->score->spread, 500);
	assert_true(res->score->spread_ok);
	assert_false(res->score->potential_5star);
	assert_string_equal(res->member_ids[2], members[2]);

	ocp_score_free(ref);
	ocp_sheetcsv_free(sheets);
	ocp_council_result_free(res);
	com_buf_fini(&csv);
}

static void
test_incomplete_sheets_name_the_member_and_the_missing_criteria(void **state)
{
	fx *f = *state;
	ocp_council_result *res = NULL;
	char eval[37];
	char members[2][37];
	com_buf csv;
	size_t i;

	make_evaluation(f, eval, 2, members);
	com_buf_init(&csv);
	com_buf_puts(&csv, "member,criterion,points\n");
	csv_member(&csv, "Member 1", NULL, 0);
	assert_ok(ocp_council_sheet_import(f->c, eval, "p.csv", (const char *)csv.data, csv.len, NULL));
	/* Member 2 typed in by hand, leaving 4.1 and 9 out. */
	for (i = 0; i < NBASE; i++) {
		int64_t p = 0;
		const char *t = BASE[i].points;

		if (strcmp(BASE[i].code, "4.1") == 0 || strcmp(BASE[i].code, "9") == 0) {
			continue;
		}
		assert_ok(ocp_points_parse(t, strlen(t), &p));
		assert_ok(ocp_council_sheet_set(f->c, members[1], BASE[i].code, p, false, NULL));
	}
	assert_err(ocp_council_result_compute(f->c, eval, &res), OCOP_ESTATE);
	assert_null(res);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "Member 2 misses 4.1, 9"));
	assert_null(strstr(ocp_council_errmsg(f->c), "Member 1"));
	com_buf_fini(&csv);
}

/* ===== Decisions ===== */

/* Import BASE for every member: a 74-point, 4★ result. */
static void
score_base(fx *f, const char *eval, size_t n)
{
	char name[32];
	com_buf csv;
	size_t i;

	com_buf_init(&csv);
	com_buf_puts(&csv, "member,criterion,points\n");
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "Member %zu", i + 1);
		csv_member(&csv, name, NULL, 0);
	}
	assert_ok(ocp_council_sheet_import(f->c, eval, "p.csv", (const char *)csv.data, csv.len, NULL));
	com_buf_fini(&csv);
}

static void
test_a_recognition_below_three_stars_is_refused_and_expires_after_36_months(void **state)
{
	fx *f = *state;
	ocp_decision_spec d = {.dossier_id = f->dossier, .kind = "recognition", .star = 2,
	    .issued_on = "2024-02-29", .number = "12/QĐ-UBND"};
	char eval[37];
	char members[1][37];
	char id[37];
	char text[64];

	assert_err(ocp_council_decision_add(f->c, &d, id), OCOP_ESTATE);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "no recognition"));
	d.star = 5; /* the national tier's */
	assert_err(ocp_council_decision_add(f->c, &d, id), OCOP_ESTATE);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM decision"), 0);
	/* 3★ is recognised; 36 months after a leap day ends on the 28th. */
	d.star = 3;
	assert_ok(ocp_council_decision_add(f->c, &d, id));
	text_of(f->db, "SELECT expires_on FROM decision WHERE id = ?1", id, text, sizeof(text));
	assert_string_equal(text, "2027-02-28");

	/* With an evaluation the star is its result's (74 points: 4★), checked when given. */
	make_evaluation(f, eval, 1, members);
	d.evaluation_id = eval;
	d.star = 3;
	d.issued_on = NULL; /* today: 2026-07-01 */
	assert_err(ocp_council_decision_add(f->c, &d, id), OCOP_ESTATE); /* no sheets yet */
	score_base(f, eval, 1);
	assert_err(ocp_council_decision_add(f->c, &d, id), OCOP_ESTATE);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "gives 4★"));
	d.star = 0;
	assert_ok(ocp_council_decision_add(f->c, &d, id));
	text_of(f->db, "SELECT star || ' ' || issued_on || ' ' || expires_on FROM decision WHERE id = ?1",
	    id, text, sizeof(text));
	assert_string_equal(text, "4 2026-07-01 2029-07-01");
	/* An approval needs a potential 5★ result; 74 points is not one. */
	d.kind = "approval";
	assert_err(ocp_council_decision_add(f->c, &d, id), OCOP_ESTATE);
	/* A revocation needs its ground. */
	d.kind = "revocation";
	d.evaluation_id = NULL;
	assert_err(ocp_council_decision_add(f->c, &d, id), OCOP_EINVAL);
	d.note = "Đ8.1(đ): chủ thể ngừng sản xuất";
	assert_ok(ocp_council_decision_add(f->c, &d, id));
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM decision"), 3);
}

static void
test_decision_kinds_follow_the_site_role(void **state)
{
	fx *f = *state;
	ocp_decision_spec d = {.dossier_id = f->dossier, .kind = "national_result", .star = 5,
	    .issued_on = "2026-09-30"};
	char id[37];
	char text[64];

	/* A province cannot set the national result... */
	assert_err(ocp_council_decision_add(f->c, &d, id), OCOP_EAUTH);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "national"));
	/* ...but recognises 3★/4★. */
	d.kind = "recognition";
	d.star = 4;
	assert_ok(ocp_council_decision_add(f->c, &d, id));
	text_of(f->db, "SELECT kind FROM decision WHERE id = ?1", id, text, sizeof(text));
	assert_string_equal(text, "recognition");
	d.kind = "certificate";
	assert_err(ocp_council_decision_add(f->c, &d, id), OCOP_EINVAL);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM decision"), 1);
}

static void
test_a_commune_site_cannot_recognise(void **state)
{
	fx *f = *state;
	ocp_decision_spec d = {.dossier_id = f->dossier, .kind = "recognition", .star = 4,
	    .issued_on = "2026-07-01"};
	char id[37];
	int64_t changes = count(f->db, "SELECT COUNT(*) FROM change");

	assert_err(ocp_council_decision_add(f->c, &d, id), OCOP_EAUTH);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "commune"));
	d.kind = "revocation";
	d.note = "Đ8.1(a)";
	assert_err(ocp_council_decision_add(f->c, &d, id), OCOP_EAUTH);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM decision"), 0);
	assert_int_equal(count(f->db, "SELECT COUNT(*) FROM change"), changes);
}

static void
test_workflow_requirements_read_the_latest_result(void **state)
{
	fx *f = *state;
	ocp_decision_spec d = {.dossier_id = f->dossier, .kind = "recognition"};
	char eval[37];
	char members[2][37];
	char id[37];
	char err[256];

	assert_err(ocp_council_require(f->c, f->db, f->dossier, "scores_complete", err, sizeof(err)),
	    OCOP_ESTATE);
	make_evaluation(f, eval, 2, members);
	assert_err(ocp_council_require(f->c, f->db, f->dossier, "scores_complete", err, sizeof(err)),
	    OCOP_ESTATE);
	assert_non_null(strstr(err, "Member 1"));
	score_base(f, eval, 2);
	assert_ok(ocp_council_require(f->c, f->db, f->dossier, "scores_complete", err, sizeof(err)));
	assert_ok(ocp_council_require(f->c, f->db, f->dossier, "spread_ok", err, sizeof(err)));
	assert_ok(ocp_council_require(f->c, f->db, f->dossier, "star>=3", err, sizeof(err)));
	assert_ok(ocp_council_require(f->c, f->db, f->dossier, "star<=4", err, sizeof(err)));
	assert_ok(ocp_council_require(f->c, f->db, f->dossier, "score<90", err, sizeof(err)));
	assert_err(ocp_council_require(f->c, f->db, f->dossier, "star<=2", err, sizeof(err)),
	    OCOP_ESTATE);
	assert_err(ocp_council_require(f->c, f->db, f->dossier, "score>=90", err, sizeof(err)),
	    OCOP_ESTATE);
	assert_err(ocp_council_require(f->c, f->db, f->dossier, "minima5", err, sizeof(err)),
	    OCOP_ESTATE);
	assert_err(ocp_council_require(f->c, f->db, f->dossier, "decision", err, sizeof(err)),
	    OCOP_ESTATE);
	d.evaluation_id = eval;
	assert_ok(ocp_council_decision_add(f->c, &d, id));
	assert_ok(ocp_council_require(f->c, f->db, f->dossier, "decision", err, sizeof(err)));
	assert_err(ocp_council_require(f->c, f->db, f->dossier, "approved", err, sizeof(err)),
	    OCOP_ESTATE);
	assert_err(ocp_council_require(f->c, f->db, f->dossier, "no_such_flag", err, sizeof(err)),
	    OCOP_ESTATE);
}

/* A council smaller than the minimum gives points but no star, and no recognition rests on it. */
static void
test_a_council_below_the_minimum_is_not_valid_for_a_star(void **state)
{
	fx *f = *state;
	ocp_eval_spec spec = {.dossier_id = f->dossier, .tier = "province", .spread_rule = true};
	ocp_decision_spec d = {.dossier_id = f->dossier, .kind = "recognition", .number = "12/QĐ-UBND",
	    .issued_on = "2026-06-20"};
	ocp_council_result *res = NULL;
	char eval[37];
	char member[37];
	char id[37];
	char text[64];

	/* The default minimum is the province's: three members. */
	assert_ok(ocp_council_evaluation_add(f->c, &spec, eval));
	text_of(f->db, "SELECT min_members FROM evaluation WHERE id = ?1", eval, text, sizeof(text));
	assert_string_equal(text, "3");
	assert_ok(ocp_council_member_add(f->c, eval, "Member 1", "chair", NULL, member, NULL));
	score_base(f, eval, 1);
	assert_ok(ocp_council_result_compute(f->c, eval, &res));
	assert_int_equal(res->score->band_star, 4);
	assert_false(res->score->quorum_ok);
	assert_int_equal(res->score->min_members, 3);
	assert_int_equal(res->score->star, 0);
	assert_false(res->score->potential_5star);
	ocp_council_result_free(res);
	d.evaluation_id = eval;
	assert_err(ocp_council_decision_add(f->c, &d, id), OCOP_ESTATE);
	assert_non_null(strstr(ocp_council_errmsg(f->c), "not valid for a star"));
	assert_non_null(strstr(ocp_council_errmsg(f->c), "the province's minimum is 3"));
	/* A minimum outside 1..99 is refused. */
	spec.min_members = 100;
	assert_err(ocp_council_evaluation_add(f->c, &spec, id), OCOP_EINVAL);
}

static void
test_a_disqualified_evaluation_has_no_star_and_keeps_its_reason(void **state)
{
	fx *f = *state;
	ocp_council_result *res = NULL;
	char eval[37];
	char members[2][37];
	char text[128];

	make_evaluation(f, eval, 2, members);
	score_base(f, eval, 2);
	assert_ok(ocp_council_result_compute(f->c, eval, &res));
	assert_int_equal(res->score->star, 4);
	ocp_council_result_free(res);
	assert_err(ocp_council_evaluation_disqualify(f->c, eval, ""), OCOP_EINVAL);
	assert_ok(ocp_council_evaluation_disqualify(f->c, eval, "Giả mạo hồ sơ"));
	assert_err(ocp_council_evaluation_disqualify(f->c, eval, "again"), OCOP_ESTATE);
	text_of(f->db, "SELECT disqualify_reason FROM evaluation WHERE id = ?1", eval, text,
	    sizeof(text));
	assert_string_equal(text, "Giả mạo hồ sơ");
	assert_ok(ocp_council_result_compute(f->c, eval, &res));
	assert_int_equal(res->score->band_star, 4);
	assert_int_equal(res->score->star, 0);
	assert_true(res->score->disqualified);
	ocp_council_result_free(res);
	assert_err(ocp_council_evaluation_disqualify(f->c, "01a203b5-0000-7000-8000-000000000000", "x"),
	    OCOP_ENOENT);
}

static void
test_reads_return_stable_json_keys(void **state)
{
	fx *f = *state;
	ocp_council_result *res = NULL;
	char eval[37];
	char members[2][37];
	json_t *j = NULL;
	json_t *x;
	com_buf csv;

	make_evaluation(f, eval, 2, members);
	com_buf_init(&csv);
	com_buf_puts(&csv, "member,criterion,points\n");
	csv_member(&csv, "Member 1", NULL, 0);
	assert_ok(ocp_council_sheet_import(f->c, eval, "p.csv", (const char *)csv.data, csv.len, NULL));
	com_buf_fini(&csv);
	assert_ok(ocp_council_sheet_set(f->c, members[1], "6.1", 0, true, NULL));

	assert_ok(ocp_council_evaluation_get(f->c, eval, &j));
	assert_string_equal(json_string_value(json_object_get(j, "dossier_id")), f->dossier);
	assert_string_equal(json_string_value(json_object_get(j, "tier")), "province");
	assert_true(json_real_value(json_object_get(j, "spread_threshold")) == 10.0);
	assert_true(json_is_true(json_object_get(j, "spread_rule")));
	assert_int_equal(json_integer_value(json_object_get(j, "members")), 2);
	json_decref(j);
	assert_ok(ocp_council_evaluation_list(f->c, f->dossier, &j));
	assert_int_equal(json_array_size(j), 1);
	json_decref(j);
	assert_err(ocp_council_evaluation_list(f->c, "01a203b5-0000-7000-8000-000000000000", &j),
	    OCOP_ENOENT);

	assert_ok(ocp_council_member_list(f->c, eval, &j));
	assert_int_equal(json_array_size(j), 2);
	x = json_array_get(j, 0);
	assert_string_equal(json_string_value(json_object_get(x, "name")), "Member 1");
	assert_string_equal(json_string_value(json_object_get(x, "role")), "chair");
	assert_string_equal(json_string_value(json_object_get(x, "site_id")), sto_site_id(f->db));
	assert_int_equal(json_integer_value(json_object_get(x, "scored")), NBASE);
	assert_int_equal(json_array_size(json_object_get(x, "missing")), 0);
	x = json_array_get(j, 1);
	assert_int_equal(json_integer_value(json_object_get(x, "scored")), 1);
	/* 32 criteria, 6.1 entered, 5.2 conditional: 30 still to enter. */
	assert_int_equal(json_array_size(json_object_get(x, "missing")), 30);
	json_decref(j);

	assert_ok(ocp_council_sheet_get(f->c, members[0], &j));
	assert_string_equal(json_string_value(json_object_get(j, "member")), "Member 1");
	assert_true(json_real_value(json_object_get(j, "total")) == 74.0);
	x = json_array_get(json_object_get(j, "scores"), 0);
	assert_string_equal(json_string_value(json_object_get(x, "criterion")), "1.1");
	assert_true(json_real_value(json_object_get(x, "points")) == 3.0);
	json_decref(j);
	assert_ok(ocp_council_sheet_get(f->c, members[1], &j));
	x = json_array_get(json_object_get(j, "scores"), 0);
	assert_true(json_is_true(json_object_get(x, "ko")));
	assert_true(json_is_null(json_object_get(x, "points")));
	json_decref(j);

	/* Both sheets complete, one with a knock-out: no star, and the JSON says why. */
	for (size_t i = 0; i < NBASE; i++) {
		int64_t p = 0;

		if (strcmp(BASE[i].code, "6.1") == 0) {
			continue;
		}
		assert_ok(ocp_points_parse(BASE[i].points, strlen(BASE[i].points), &p));
		assert_ok(ocp_council_sheet_set(f->c, members[1], BASE[i].code, p, false, NULL));
	}
	assert_ok(ocp_council_result_compute(f->c, eval, &res));
	j = ocp_council_result_json(res);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "star")), 0);
	x = json_object_get(j, "knockout");
	assert_true(json_is_true(json_object_get(x, "applies")));
	x = json_array_get(json_object_get(x, "choices"), 0);
	assert_string_equal(json_string_value(json_object_get(x, "member")), "Member 2");
	assert_string_equal(json_string_value(json_object_get(x, "criterion")), "6.1");
	x = json_array_get(json_object_get(j, "members"), 1);
	assert_string_equal(json_string_value(json_object_get(x, "member_id")), members[1]);
	assert_string_equal(json_string_value(json_object_get(j, "evaluation_id")), eval);
	json_decref(j);
	ocp_council_result_free(res);
}

/* ===== Dates ===== */

static void
test_dates_parse_format_and_add_months(void **state)
{
	int64_t d;
	char out[11];

	(void)state;
	assert_ok(ocp_council_date_parse("1970-01-01", &d));
	assert_int_equal(d, 0);
	assert_ok(ocp_council_date_parse("2026-07-01", &d));
	ocp_council_date_format(d, out);
	assert_string_equal(out, "2026-07-01");
	ocp_council_date_format(ocp_council_date_add_months(d, 36), out);
	assert_string_equal(out, "2029-07-01");
	assert_ok(ocp_council_date_parse("2025-01-31", &d));
	ocp_council_date_format(ocp_council_date_add_months(d, 1), out);
	assert_string_equal(out, "2025-02-28");
	assert_err(ocp_council_date_parse("2025-02-29", &d), OCOP_EINVAL);
	assert_err(ocp_council_date_parse("2025-13-01", &d), OCOP_EINVAL);
	assert_err(ocp_council_date_parse("2025-1-01", &d), OCOP_EINVAL);
	assert_err(ocp_council_date_parse(NULL, &d), OCOP_EINVAL);
	assert_ok(ocp_council_date_parse("2024-02-29", &d));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_score_ids_are_deterministic_per_sheet_and_criterion,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_setting_an_impossible_points_value_is_refused, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_csv_import_is_all_or_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_sheet_owned_by_another_site_is_refused, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_a_submitted_sheet_no_longer_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_member_names_are_unique_and_there_is_one_chair, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_an_evaluation_keeps_basis_and_rubric_and_needs_the_council_status, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_commune_site_cannot_hold_a_provincial_council,
		setup_commune, teardown),
	    cmocka_unit_test_setup_teardown(test_result_equals_the_scoring_module_on_the_same_sheets,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_incomplete_sheets_name_the_member_and_the_missing_criteria, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_a_recognition_below_three_stars_is_refused_and_expires_after_36_months, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_decision_kinds_follow_the_site_role, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_commune_site_cannot_recognise, setup_commune,
		teardown),
	    cmocka_unit_test_setup_teardown(test_workflow_requirements_read_the_latest_result, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_a_disqualified_evaluation_has_no_star_and_keeps_its_reason, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_council_below_the_minimum_is_not_valid_for_a_star,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reads_return_stable_json_keys, setup, teardown),
	    cmocka_unit_test(test_dates_parse_format_and_add_months),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
