/*
 * Unit tests for common/ocop/report.c on a small hand-built replica. Today is
 * 2026-07-01 throughout. The dataset and what each table must count:
 *
 *   dossier  product (set, group)          subject (type)  unit      round   type     decision
 *   D1       Kẹo dừa sáp, vị lá dứa (07,I) HTX (htx)       83-28882  2026/1  first    4★ 2026-06-20
 *   D2       Trà mãng cầu (15, II)         Công ty (dn)    83-28900  2026/1  upgrade  3★ 2026-06-20
 *   D3       Giỏ lục bình (21, IV)         HTX (htx)       83-28882  2023/2  first    3★ 2023-12-15,
 *                                                                                     expires 2026-12-15
 *   D5       Cá cảnh (23, V)               Công ty (dn)    83-28900  2023/1  first    3★, expired 2026-05-01
 *   D6       Rượu (14, II)                 HTX (htx)       83-28882  2026/1  first    4★, then revoked
 *   D4       Bưởi da xanh (01, I)          Công ty (dn)    83-28900  2026/1  first    none; council: 91 points
 *
 * Valid on 2026-07-01: D1 (4★), D2 (3★), D3 (3★). D5 has expired, D6 was revoked.
 * D4 is a potential 5★ candidate (one member, 100 - 2 - 3 - 4 = 91 points).
 * D3 expires in 167 days (Jul 31, Aug 31, Sep 30, Oct 31, Nov 30 days + 14): inside
 * the 180-day window, still open (>= 120 days), opening 2026-06-18, closing 2026-08-17.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/council.h"
#include "common/ocop/report.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "common/ocop/workbook.h"
#include "tests/lib/zipread.h"

typedef struct fx {
	char *dir;      /* temp dir, owned */
	char data[512]; /* the repository's data directory */
	sto_db *db;     /* open replica, a province site */
	ocp_council *c; /* council over db */
	int64_t today;  /* 2026-07-01 */
} fx;

/* The full marks of every criterion of qd26-2026/01 (100 points). */
static const char *const MAX[][2] = {
    {"1.1", "3"}, {"1.2", "2"}, {"1.3", "3"}, {"1.4", "3"}, {"1.5", "3"}, {"1.6", "3"},
    {"1.7", "1"}, {"2.1", "3"}, {"2.2", "3"}, {"2.3", "3"}, {"2.4", "1"}, {"3.1", "3"},
    {"3.2", "1"}, {"3.3", "3"}, {"3.4", "2"}, {"3.5", "3"}, {"4.1", "5"}, {"4.2", "3"},
    {"4.3", "5"}, {"5.1", "5"}, {"5.2", "2"}, {"5.3", "5"}, {"6.1", "2"}, {"6.2", "4"},
    {"6.3", "3"}, {"6.4", "3"}, {"7", "3"}, {"8", "5"}, {"9", "5"}, {"10", "5"}, {"11", "2"},
    {"12", "3"},
};

static void
insert(sto_db *db, const char *table, const char *const *cols, const char *const *vals, size_t n,
    char id[37])
{
	assert_ok(sto_row_insert(db, table, cols, vals, n, id));
}

static void
subject(fx *f, const char *name, const char *kind, const char *unit, char id[37])
{
	const char *cols[] = {"name", "kind", "unit_code"};
	const char *vals[] = {name, kind, unit};

	insert(f->db, "subject", cols, vals, 3, id);
}

/* A product of subject s and its dossier. */
static void
dossier(fx *f, const char *s, const char *name, const char *set, const char *unit,
    const char *year, const char *round, const char *type, const char *status, char id[37])
{
	const char *pcols[] = {"subject_id", "name", "product_set", "unit_code"};
	const char *pvals[] = {s, name, set, unit};
	const char *dcols[] = {"product_id", "legal_basis", "rubric_id", "eval_type", "round_year",
	    "round_no", "unit_code", "province_code", "status", "epoch"};
	const char *dvals[10];
	char product[37];

	insert(f->db, "product", pcols, pvals, 4, product);
	dvals[0] = product;
	dvals[1] = "qd26-2026";
	dvals[2] = "qd26-2026/01";
	dvals[3] = type;
	dvals[4] = year;
	dvals[5] = round;
	dvals[6] = unit;
	dvals[7] = "83";
	dvals[8] = status;
	dvals[9] = "0";
	insert(f->db, "dossier", dcols, dvals, 10, id);
}

static void
decide(fx *f, const char *dossier_id, const char *kind, int star, const char *issued,
    const char *expires, const char *note)
{
	ocp_decision_spec d = {.dossier_id = dossier_id, .kind = kind, .star = star,
	    .issued_on = issued, .expires_on = expires, .note = note, .number = "99/QĐ-UBND"};
	char id[37];

	assert_ok(ocp_council_decision_add(f->c, &d, id));
}

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	sto_opts o = {.create = true, .user = "clerk"};
	ocp_eval_spec spec = {.tier = "province", .spread_rule = true, .min_members = 1};
	char path[600];
	char htx[37];
	char dn[37];
	char d[37];
	char eval[37];
	char member[37];
	com_buf csv;
	size_t i;

	f->dir = tu_mkdtemp();
	tu_src(f->data, sizeof(f->data), "data");
	snprintf(path, sizeof(path), "%s/province.db", f->dir);
	if (sto_open(&f->db, path, &o) != OCOP_OK || sto_site_init(f->db, NULL, "province", "83") ||
	    ocp_council_open(&f->c, f->db, f->data) != OCOP_OK ||
	    ocp_council_date_parse("2026-07-01", &f->today) != OCOP_OK) {
		return -1;
	}
	ocp_council_set_today(f->c, f->today);
	subject(f, "HTX Kẹo dừa Thành Thới", "htx", "83-28882", htx);
	subject(f, "Công ty TNHH Nông sản Xanh", "dn", "83-28900", dn);

	dossier(f, htx, "Kẹo dừa sáp, vị lá dứa", "07", "83-28882", "2026", "1", "first", "recognised", d);
	decide(f, d, "recognition", 4, "2026-06-20", NULL, NULL);
	dossier(f, dn, "Trà mãng cầu", "15", "83-28900", "2026", "1", "upgrade", "recognised", d);
	decide(f, d, "recognition", 3, "2026-06-20", NULL, NULL);
	dossier(f, htx, "Giỏ lục bình", "21", "83-28882", "2023", "2", "first", "recognised", d);
	decide(f, d, "recognition", 3, "2023-12-15", NULL, NULL);
	dossier(f, dn, "Cá cảnh", "23", "83-28900", "2023", "1", "first", "recognised", d);
	decide(f, d, "recognition", 3, "2023-05-01", "2026-05-01", NULL);
	dossier(f, htx, "Rượu", "14", "83-28882", "2026", "1", "first", "revoked", d);
	decide(f, d, "recognition", 4, "2026-06-20", NULL, NULL);
	decide(f, d, "revocation", 0, "2026-06-25", NULL, "Đ8.1(c)");

	/* D4: one member's sheet at full marks but 1.2 = 0, 4.2 = 0, 4.3 = 1 (91 points). */
	dossier(f, dn, "Bưởi da xanh", "01", "83-28900", "2026", "1", "first", "council_review", d);
	spec.dossier_id = d;
	assert_ok(ocp_council_evaluation_add(f->c, &spec, eval));
	assert_ok(ocp_council_member_add(f->c, eval, "Member 1", "chair", NULL, member, NULL));
	com_buf_init(&csv);
	com_buf_puts(&csv, "member,criterion,points\r\n");
	for (i = 0; i < sizeof(MAX) / sizeof(MAX[0]); i++) {
		const char *p = MAX[i][1];

		if (strcmp(MAX[i][0], "1.2") == 0 || strcmp(MAX[i][0], "4.2") == 0) {
			p = "0";
		} else if (strcmp(MAX[i][0], "4.3") == 0) {
			p = "1";
		}
		com_buf_printf(&csv, "Member 1,%s,%s\r\n", MAX[i][0], p);
	}
	assert_ok(ocp_council_sheet_import(f->c, eval, "d4.csv", (const char *)csv.data, csv.len, NULL));
	com_buf_fini(&csv);
	*state = f;
	return 0;
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

/* The integer in column col of the row whose first column is key; -1 when absent. */
static int64_t
cell_n(const ocp_report *r, const char *table, const char *key, const char *col)
{
	const ocp_report_table *t = ocp_report_table_find(r, table);
	size_t row;
	size_t c;

	assert_non_null(t);
	for (c = 0; c < t->ncols && strcmp(t->cols[c], col) != 0; c++) {
	}
	assert_true(c < t->ncols);
	for (row = 0; row < t->nrows; row++) {
		const ocp_report_cell *k = ocp_report_cell_at(t, row, 0);

		if (k->kind == OCP_CELL_TEXT && strcmp(k->s, key) == 0) {
			return ocp_report_cell_at(t, row, c)->i;
		}
	}
	return -1;
}

static void
test_counts_are_of_products_holding_a_valid_certificate_today(void **state)
{
	fx *f = *state;
	ocp_report_opts o = {.today = f->today};
	ocp_report *r = NULL;

	assert_ok(ocp_report_build(&r, f->c, &o));
	assert_int_equal(cell_n(r, "by_star", "3", "products"), 2);
	assert_int_equal(cell_n(r, "by_star", "4", "products"), 1);
	assert_int_equal(cell_n(r, "by_star", "5", "products"), 0);
	assert_int_equal(cell_n(r, "by_star", "potential_5star", "products"), 1);
	assert_int_equal(cell_n(r, "by_star", "total", "products"), 3);

	assert_int_equal(cell_n(r, "by_subject_type", "htx", "star3"), 1);
	assert_int_equal(cell_n(r, "by_subject_type", "htx", "star4"), 1);
	assert_int_equal(cell_n(r, "by_subject_type", "htx", "total"), 2);
	assert_int_equal(cell_n(r, "by_subject_type", "dn", "total"), 1);
	assert_int_equal(cell_n(r, "by_subject_type", "tht", "total"), 0);

	assert_int_equal(cell_n(r, "by_product_group", "I", "star4"), 1);
	assert_int_equal(cell_n(r, "by_product_group", "II", "star3"), 1);
	assert_int_equal(cell_n(r, "by_product_group", "IV", "star3"), 1);
	assert_int_equal(cell_n(r, "by_product_group", "V", "total"), 0);
	assert_int_equal(ocp_report_table_find(r, "by_product_group")->nrows, 6);

	assert_int_equal(cell_n(r, "by_unit", "83-28882", "total"), 2);
	assert_int_equal(cell_n(r, "by_unit", "83-28900", "star3"), 1);
	assert_int_equal(ocp_report_table_find(r, "by_unit")->nrows, 2);

	assert_int_equal(cell_n(r, "by_round", "2026/1", "total"), 2);
	assert_int_equal(cell_n(r, "by_round", "2023/2", "star3"), 1);
	assert_int_equal(cell_n(r, "by_round", "2023/1", "total"), -1);

	assert_int_equal(cell_n(r, "by_evaluation_type", "first", "total"), 2);
	assert_int_equal(cell_n(r, "by_evaluation_type", "upgrade", "star3"), 1);
	assert_int_equal(cell_n(r, "by_evaluation_type", "reeval", "total"), 0);
	ocp_report_free(r);
}

static void
test_a_round_counts_that_rounds_recognitions(void **state)
{
	fx *f = *state;
	ocp_report_opts o = {.today = f->today, .round_year = 2026, .round_no = 1};
	ocp_report *r = NULL;

	assert_ok(ocp_report_build(&r, f->c, &o));
	assert_int_equal(cell_n(r, "by_star", "3", "products"), 1);
	assert_int_equal(cell_n(r, "by_star", "4", "products"), 1); /* the revoked one is out */
	assert_int_equal(cell_n(r, "by_round", "2026/1", "total"), 2);
	assert_int_equal(ocp_report_table_find(r, "by_round")->nrows, 1);
	assert_int_equal(ocp_report_table_find(r, "candidates")->nrows, 1);
	ocp_report_free(r);
	o.round_no = 2;
	assert_ok(ocp_report_build(&r, f->c, &o));
	assert_int_equal(cell_n(r, "by_star", "total", "products"), 0);
	assert_int_equal(ocp_report_table_find(r, "candidates")->nrows, 0);
	ocp_report_free(r);
	o.round_year = 0;
	assert_err(ocp_report_build(&r, f->c, &o), OCOP_EINVAL);
	assert_null(r);
}

static void
test_candidates_and_expiring_certificates_are_listed(void **state)
{
	fx *f = *state;
	ocp_report_opts o = {.today = f->today};
	ocp_report *r = NULL;
	const ocp_report_table *t;
	json_t *j;
	json_t *row;

	assert_ok(ocp_report_build(&r, f->c, &o));
	j = ocp_report_json(r);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "today")), "2026-07-01");
	assert_true(json_is_null(json_object_get(j, "round")));

	assert_int_equal(json_array_size(json_object_get(j, "candidates")), 1);
	row = json_array_get(json_object_get(j, "candidates"), 0);
	assert_string_equal(json_string_value(json_object_get(row, "product")), "Bưởi da xanh");
	assert_true(json_number_value(json_object_get(row, "mean")) == 91.0);
	assert_int_equal(json_integer_value(json_object_get(row, "star")), 5);
	assert_true(json_is_true(json_object_get(row, "potential_5star")));
	assert_true(json_is_false(json_object_get(row, "approved")));
	assert_true(json_is_null(json_object_get(row, "national_star")));

	assert_int_equal(json_array_size(json_object_get(j, "expiring")), 1);
	row = json_array_get(json_object_get(j, "expiring"), 0);
	assert_string_equal(json_string_value(json_object_get(row, "product")), "Giỏ lục bình");
	assert_string_equal(json_string_value(json_object_get(row, "expires_on")), "2026-12-15");
	assert_int_equal(json_integer_value(json_object_get(row, "days_left")), 167);
	assert_string_equal(json_string_value(json_object_get(row, "window_opens")), "2026-06-18");
	assert_string_equal(json_string_value(json_object_get(row, "window_closes")), "2026-08-17");
	assert_string_equal(json_string_value(json_object_get(row, "window")), "open");
	json_decref(j);
	ocp_report_free(r);

	/* Fifty days later fewer than 120 days are left: the filing window has closed. */
	o.today += 50;
	assert_ok(ocp_report_build(&r, f->c, &o));
	t = ocp_report_table_find(r, "expiring");
	assert_int_equal(t->nrows, 1);
	assert_string_equal(ocp_report_cell_at(t, 0, 10)->s, "closed");
	ocp_report_free(r);
}

static void
test_product_sets_map_to_the_six_groups(void **state)
{
	const char *key;

	(void)state;
	assert_non_null(ocp_report_product_group("01", &key));
	assert_string_equal(key, "I");
	ocp_report_product_group("13", &key);
	assert_string_equal(key, "I");
	ocp_report_product_group("14", &key);
	assert_string_equal(key, "II");
	ocp_report_product_group("20", &key);
	assert_string_equal(key, "III");
	ocp_report_product_group("22", &key);
	assert_string_equal(key, "IV");
	ocp_report_product_group("25", &key);
	assert_string_equal(key, "V");
	ocp_report_product_group("26", &key);
	assert_string_equal(key, "VI");
	assert_null(ocp_report_product_group("27", &key));
	assert_string_equal(key, "?");
	assert_null(ocp_report_product_group("x", &key));
}

static void
test_csv_starts_with_a_bom_and_quotes_a_field_with_a_comma(void **state)
{
	fx *f = *state;
	ocp_report_opts o = {.today = f->today, .round_year = 2026, .round_no = 1};
	ocp_report *r = NULL;
	char path[600];
	char *text;
	FILE *out;
	size_t i;

	assert_ok(ocp_report_build(&r, f->c, &o));
	snprintf(path, sizeof(path), "%s/report.csv", f->dir);
	out = fopen(path, "wb");
	assert_non_null(out);
	assert_ok(ocp_report_write_csv(r, out));
	fclose(out);
	ocp_report_free(r);
	text = tu_slurp(path);
	assert_non_null(text);
	assert_memory_equal(text, "\xEF\xBB\xBF", 3);
	/* A header row, a label with commas (quoted whole), a candidate's row. */
	assert_non_null(strstr(text, "\"star\",\"label\",\"products\"\r\n"));
	assert_non_null(strstr(text, "\"Dịch vụ du lịch cộng đồng, du lịch sinh thái và điểm du lịch\""));
	assert_non_null(strstr(text, "\"Bưởi da xanh\""));
	assert_non_null(strstr(text, ",91.00,5,yes,no,\r\n"));
	/* Every line ends in CRLF. */
	for (i = 0; text[i] != 0; i++) {
		if (text[i] == '\n') {
			assert_true(i > 0 && text[i - 1] == '\r');
		}
	}
	com_free(text);
}

static void
test_csv_quotes_a_product_name_with_a_comma(void **state)
{
	fx *f = *state;
	ocp_report_opts o = {.today = f->today};
	ocp_report *r = NULL;
	char path[600];
	char *text;
	FILE *out;

	/* Make D1's certificate expire soon so its name appears in the expiring table. */
	o.today += 3 * 365 - 20;
	assert_ok(ocp_report_build(&r, f->c, &o));
	snprintf(path, sizeof(path), "%s/expiring.csv", f->dir);
	out = fopen(path, "wb");
	assert_non_null(out);
	assert_ok(ocp_report_write_csv(r, out));
	fclose(out);
	ocp_report_free(r);
	text = tu_slurp(path);
	assert_non_null(text);
	assert_non_null(strstr(text, "\r\n\"Kẹo dừa sáp, vị lá dứa\",\"HTX Kẹo dừa Thành Thới\","));
	com_free(text);
}

/* The text in column col of the row whose first column is key; NULL when absent. */
static const char *
cell_s(const ocp_report *r, const char *table, const char *key, const char *col)
{
	const ocp_report_table *t = ocp_report_table_find(r, table);
	size_t row;
	size_t c;

	assert_non_null(t);
	for (c = 0; c < t->ncols && strcmp(t->cols[c], col) != 0; c++) {
	}
	assert_true(c < t->ncols);
	for (row = 0; row < t->nrows; row++) {
		const ocp_report_cell *k = ocp_report_cell_at(t, row, 0);

		if (k->kind == OCP_CELL_TEXT && strcmp(k->s, key) == 0) {
			return ocp_report_cell_at(t, row, c)->kind == OCP_CELL_TEXT ? ocp_report_cell_at(t, row, c)->s : NULL;
		}
	}
	return NULL;
}

static void
test_product_sets_are_counted_with_their_titles(void **state)
{
	fx *f = *state;
	ocp_report_opts o = {.today = f->today};
	ocp_report *r = NULL;

	assert_ok(ocp_report_build(&r, f->c, &o));
	assert_int_equal(ocp_report_table_find(r, "by_product_set")->nrows, 26);
	assert_int_equal(cell_n(r, "by_product_set", "07", "star4"), 1);
	assert_int_equal(cell_n(r, "by_product_set", "15", "star3"), 1);
	assert_int_equal(cell_n(r, "by_product_set", "21", "total"), 1);
	assert_int_equal(cell_n(r, "by_product_set", "01", "total"), 0);
	assert_string_equal(cell_s(r, "by_product_set", "13", "label"), "Cà phê, cacao");
	ocp_report_free(r);
}

static void
test_units_roll_up_to_the_level_asked_and_say_which(void **state)
{
	fx *f = *state;
	ocp_report_opts o = {.today = f->today, .unit_level = OCP_LEVEL_PROVINCE};
	ocp_report *r = NULL;
	const ocp_report_table *t;
	json_t *j;

	/* Province as recorded: Bến Tre, the province the dossiers were filed in. */
	assert_ok(ocp_report_build(&r, f->c, &o));
	assert_int_equal(cell_n(r, "by_unit", "83", "total"), 3);
	assert_string_equal(cell_s(r, "by_unit", "83", "unit_name"), "Tỉnh Bến Tre");
	assert_non_null(strstr(ocp_report_view(r), "by province, as recorded"));
	ocp_report_free(r);
	/* Through the succession: Vĩnh Long holds them today. */
	o.unit_current = true;
	assert_ok(ocp_report_build(&r, f->c, &o));
	t = ocp_report_table_find(r, "by_unit");
	assert_int_equal(t->nrows, 1);
	assert_int_equal(cell_n(r, "by_unit", "86", "total"), 3);
	assert_string_equal(cell_s(r, "by_unit", "86", "unit_name"), "Tỉnh Vĩnh Long");
	assert_non_null(strstr(t->title, "by current province"));
	j = ocp_report_json(r);
	assert_string_equal(json_string_value(json_object_get(json_object_get(j, "unit_view"), "level")), "province");
	assert_true(json_is_true(json_object_get(json_object_get(j, "unit_view"), "current")));
	json_decref(j);
	/* The recognised list names the province that holds each product now. */
	assert_string_equal(cell_s(r, "recognised", "Giỏ lục bình", "province_now"), "86");
	ocp_report_free(r);
	/* Former districts: these communes were recorded without one. */
	o.unit_level = OCP_LEVEL_DISTRICT;
	o.unit_current = false;
	assert_ok(ocp_report_build(&r, f->c, &o));
	assert_int_equal(cell_n(r, "by_unit", "83", "total"), 3);
	assert_non_null(strstr(cell_s(r, "by_unit", "83", "unit_name"), "chưa rõ huyện"));
	ocp_report_free(r);
	/* Districts have no current units. */
	o.unit_current = true;
	assert_err(ocp_report_build(&r, f->c, &o), OCOP_EINVAL);
	assert_null(r);
}

static void
test_the_summary_names_subjects_stars_and_units(void **state)
{
	fx *f = *state;
	ocp_report_opts o = {.today = f->today};
	ocp_report *r = NULL;
	const ocp_report_table *t;

	assert_ok(ocp_report_build(&r, f->c, &o));
	t = ocp_report_table_find(r, "summary");
	assert_int_equal(t->nrows, 1);
	/* The site serves 83 (a former province), so the paragraph speaks for Bến Tre. */
	assert_string_equal(ocp_report_cell_at(t, 0, 0)->s,
	    "Tỉnh Bến Tre có 3 sản phẩm OCOP của 2 chủ thể (1 hợp tác xã và 1 doanh nghiệp), trong đó 2 sản phẩm 3 sao,"
	    " 1 sản phẩm 4 sao (theo đơn vị như ghi nhận: mã 83-28882, Tỉnh Bến Tre 02 sản phẩm; mã 83-28900, Tỉnh"
	    " Bến Tre 01 sản phẩm). Kết quả đánh giá: đạt 5 sao có 1 sản phẩm.");
	/* Publishing order: the summary first. */
	assert_string_equal(ocp_report_table_at(r, 0)->key, "summary");
	ocp_report_free(r);
}

static void
test_the_workbook_has_one_sheet_per_table(void **state)
{
	fx *f = *state;
	ocp_report_opts o = {.today = f->today};
	static const char *const only[] = {"recognised", "by_star"};
	ocp_report *r = NULL;
	char path[600];
	char err[512];
	char *xml;
	size_t len = 0;
	size_t i;

	assert_ok(ocp_report_build(&r, f->c, &o));
	snprintf(path, sizeof(path), "%s/report.xlsx", f->dir);
	assert_ok(ocp_workbook_write(r, path, NULL, 0, err, sizeof(err)));
	xml = tu_zip_member(path, "xl/workbook.xml", &len);
	assert_non_null(xml);
	for (i = 0; i < ocp_report_table_count(r); i++) {
		char want[64];

		snprintf(want, sizeof(want), "<sheet name=\"%s\"", ocp_report_table_at(r, i)->key);
		if (strstr(xml, want) == NULL) {
			fail_msg("no sheet %s in %s", ocp_report_table_at(r, i)->key, xml);
		}
	}
	com_free(xml);
	xml = tu_zip_member(path, "xl/sharedStrings.xml", &len);
	assert_non_null(xml);
	assert_non_null(strstr(xml, "Kẹo dừa sáp, vị lá dứa"));
	assert_non_null(strstr(xml, "Tỉnh Bến Tre có 3 sản phẩm OCOP"));
	com_free(xml);
	/* Only the tables asked for; an unknown table is refused and writes nothing. */
	assert_ok(ocp_workbook_write(r, path, only, 2, err, sizeof(err)));
	xml = tu_zip_member(path, "xl/workbook.xml", &len);
	assert_non_null(xml);
	assert_non_null(strstr(xml, "<sheet name=\"by_star\""));
	assert_null(strstr(xml, "<sheet name=\"summary\""));
	com_free(xml);
	{
		static const char *const bad[] = {"by_colour"};

		snprintf(path, sizeof(path), "%s/bad.xlsx", f->dir);
		assert_err(ocp_workbook_write(r, path, bad, 1, err, sizeof(err)), OCOP_EINVAL);
		assert_non_null(strstr(err, "'by_colour' is not a table"));
		assert_null(tu_slurp(path));
		snprintf(path, sizeof(path), "%s/no/such/dir/r.xlsx", f->dir);
		assert_err(ocp_workbook_write(r, path, NULL, 0, err, sizeof(err)), OCOP_EIO);
		assert_non_null(strstr(err, "No such file or directory"));
	}
	ocp_report_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_counts_are_of_products_holding_a_valid_certificate_today, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_round_counts_that_rounds_recognitions, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_candidates_and_expiring_certificates_are_listed, setup,
		teardown),
	    cmocka_unit_test(test_product_sets_map_to_the_six_groups),
	    cmocka_unit_test_setup_teardown(test_csv_starts_with_a_bom_and_quotes_a_field_with_a_comma,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_csv_quotes_a_product_name_with_a_comma, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_product_sets_are_counted_with_their_titles, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_units_roll_up_to_the_level_asked_and_say_which, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_summary_names_subjects_stars_and_units, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_workbook_has_one_sheet_per_table, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
