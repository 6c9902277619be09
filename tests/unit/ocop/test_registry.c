/*
 * Unit tests for common/ocop/registry.c: site init, validated writes, dossier
 * defaults, workflow moves checked for state and role with nothing written on a
 * refusal, epochs, the requirement seam, search, unit mapping and tombstones.
 * Each test has its own temporary replica and uses the repository's data/.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/registry.h"
#include "common/store/store.h"
#include "common/util/alloc.h"

typedef struct fx {
	char *dir;       /* temp dir, owned */
	char path[512];  /* database path */
	char data[512];  /* the repository's data directory */
	sto_db *db;      /* open replica, owned */
	ocp_reg *reg;    /* registry over db, owned; NULL until fx_site */
} fx;

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	sto_opts o = {.create = true, .user = "clerk"};

	if (f == NULL || (f->dir = tu_mkdtemp()) == NULL) {
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/site.db", f->dir);
	tu_src(f->data, sizeof(f->data), "data");
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

	ocp_reg_close(f->reg);
	sto_close(f->db);
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

/* Give the replica a role and scope and open the registry over it. */
static void
fx_site(fx *f, const char *role, const char *scope)
{
	char err[256];

	assert_ok(ocp_reg_site_init(f->db, NULL, role, scope, NULL, err, sizeof(err)));
	assert_ok(ocp_reg_open(&f->reg, f->db, f->data, err, sizeof(err)));
}

/* Number of captured changes: what a refused write must leave alone. */
static long long
changes(fx *f)
{
	sqlite3_stmt *st = NULL;
	long long n = -1;

	assert_int_equal(sqlite3_prepare_v2(sto_sqlite(f->db), "SELECT COUNT(*) FROM change", -1,
			     &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return n;
}

static void
add_subject(fx *f, const char *name, const char *unit, char id[37])
{
	ocp_field s[] = {{"name", name}, {"kind", "htx"}, {"unit_code", unit}};

	assert_ok(ocp_reg_add(f->reg, "subject", s, 3, id));
}

static void
add_product(fx *f, const char *subject, const char *name, const char *set, char id[37])
{
	ocp_field p[] = {{"subject_id", subject}, {"name", name}, {"product_set", set}};

	assert_ok(ocp_reg_add(f->reg, "product", p, 3, id));
}

/* A subject, a product of set 01 and a dossier in round 2026/1 in unit 83-28882. */
static void
add_dossier(fx *f, char id[37])
{
	char s[37];
	char p[37];
	ocp_field d[] = {{"product_id", p}, {"round_year", "2026"}, {"round_no", "1"}};

	add_subject(f, "HTX Kẹo dừa Thanh Long", "83-28882", s);
	add_product(f, s, "Kẹo dừa sữa", "1", p);
	assert_ok(ocp_reg_add(f->reg, "dossier", d, 3, id));
}

/* The string member key of a row (json_t), "" for null. */
static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

static void
assert_dossier(fx *f, const char *id, const char *status, long long epoch)
{
	json_t *o = NULL;

	assert_ok(ocp_reg_get(f->reg, "dossier", id, &o));
	assert_string_equal(str(o, "status"), status);
	assert_int_equal(json_integer_value(json_object_get(o, "epoch")), epoch);
	json_decref(o);
}

/* ===== Site identity ===== */

static void
test_init_twice_is_refused_and_names_the_site(void **state)
{
	fx *f = *state;
	char err[256];
	char first[37];

	assert_ok(ocp_reg_site_init(f->db, NULL, "commune", "83-28882", "UBND xã", err, sizeof(err)));
	snprintf(first, sizeof(first), "%s", sto_site_id(f->db));
	assert_err(ocp_reg_site_init(f->db, NULL, "province", "83", NULL, err, sizeof(err)),
	    OCOP_EEXIST);
	assert_non_null(strstr(err, first));
	assert_string_equal(sto_site_id(f->db), first);
	assert_string_equal(sto_role(f->db), "commune");
}

static void
test_init_checks_the_scope_against_the_role(void **state)
{
	fx *f = *state;
	char err[256];

	assert_err(ocp_reg_scope_check("province", "83-28882", err, sizeof(err)), OCOP_EINVAL);
	assert_err(ocp_reg_scope_check("commune", "83", err, sizeof(err)), OCOP_EINVAL);
	assert_err(ocp_reg_scope_check("national", "83", err, sizeof(err)), OCOP_EINVAL);
	assert_err(ocp_reg_scope_check("county", "83", err, sizeof(err)), OCOP_EINVAL);
	assert_err(ocp_reg_scope_check("commune", "83-28882,,83-28883", err, sizeof(err)),
	    OCOP_EINVAL);
	assert_err(ocp_reg_scope_check("commune", "83-x", err, sizeof(err)), OCOP_EINVAL);
	assert_ok(ocp_reg_scope_check("national", "VN", err, sizeof(err)));
	assert_ok(ocp_reg_scope_check("province", "83, 86", err, sizeof(err)));
	assert_ok(ocp_reg_site_init(f->db, NULL, "commune", " 83-28882 , 83-28883", NULL, err,
	    sizeof(err)));
	assert_string_equal(sto_scope(f->db), "83-28882,83-28883");
}

static void
test_unit_codes_have_a_province_first_and_at_most_three_segments(void **state)
{
	(void)state;
	assert_true(ocp_reg_code_valid("83"));
	assert_true(ocp_reg_code_valid("83-28882"));
	assert_true(ocp_reg_code_valid("83-832-28882"));
	assert_true(ocp_reg_code_valid("VN"));
	assert_false(ocp_reg_code_valid("8"));
	assert_false(ocp_reg_code_valid("833-28882"));
	assert_false(ocp_reg_code_valid("83-"));
	assert_false(ocp_reg_code_valid("83-832-28882-2"));
	assert_false(ocp_reg_code_valid("83 28882"));
	assert_false(ocp_reg_code_valid(""));
}

/* ===== Validated writes ===== */

static void
test_bad_values_are_refused_with_the_field_named(void **state)
{
	fx *f = *state;
	char s[37];
	char id[37];
	ocp_field kind[] = {{"name", "X"}, {"kind", "coop"}, {"unit_code", "83-28882"}};
	ocp_field date[] = {{"name", "X"}, {"kind", "ho"}, {"unit_code", "83-28882"},
	    {"reg_date", "2026-02-30"}};
	ocp_field missing[] = {{"name", "X"}, {"kind", "ho"}};
	ocp_field set[] = {{"subject_id", s}, {"name", "Y"}, {"product_set", "27"}};
	ocp_field ctrl[] = {{"name", "a\x01b"}, {"kind", "ho"}, {"unit_code", "83-28882"}};
	long long before;

	fx_site(f, "commune", "83-28882");
	add_subject(f, "Tổ hợp tác Mây tre", "83-28882", s);
	before = changes(f);
	assert_err(ocp_reg_add(f->reg, "subject", kind, 3, id), OCOP_EINPUT);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "kind"));
	assert_err(ocp_reg_add(f->reg, "subject", date, 4, id), OCOP_EINPUT);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "reg_date"));
	assert_err(ocp_reg_add(f->reg, "subject", missing, 2, id), OCOP_EINPUT);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "unit_code"));
	assert_err(ocp_reg_add(f->reg, "product", set, 3, id), OCOP_EINPUT);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "product_set"));
	assert_err(ocp_reg_add(f->reg, "subject", ctrl, 3, id), OCOP_EINPUT);
	assert_int_equal(changes(f), before);
}

static void
test_documents_keep_metadata_and_check_the_hash_format(void **state)
{
	fx *f = *state;
	char d[37];
	char id[37];
	const char *hash = "2D711642B726B04401627CA9FBAC32F5C8530FB1903CC4DB02258717921A4881";
	ocp_field bad[] = {{"dossier_id", d}, {"kind", "lab_test"}, {"title", "Phiếu kiểm nghiệm"},
	    {"sha256", "abc"}};
	ocp_field good[] = {{"dossier_id", d}, {"kind", "lab_test"},
	    {"title", "Phiếu kiểm nghiệm"}, {"sha256", hash}, {"size", "1024"},
	    {"received_on", "2026-03-01"}};
	ocp_field filter = {"dossier_id", d};
	json_t *list = NULL;

	fx_site(f, "commune", "83-28882");
	add_dossier(f, d);
	assert_err(ocp_reg_add(f->reg, "document", bad, 4, id), OCOP_EINPUT);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "sha256"));
	assert_ok(ocp_reg_add(f->reg, "document", good, 6, id));
	assert_ok(ocp_reg_list(f->reg, "document", &filter, 1, &list));
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(str(json_array_get(list, 0), "sha256"),
	    "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 0), "size")), 1024);
	json_decref(list);
}

static void
test_a_product_needs_a_live_subject(void **state)
{
	fx *f = *state;
	char id[37];

	fx_site(f, "commune", "83-28882");
	assert_err(ocp_reg_add(f->reg, "product",
		       (ocp_field[]){{"subject_id", "01a20000-0000-7000-8000-000000000000"},
			   {"name", "Y"}, {"product_set", "01"}},
		       3, id),
	    OCOP_ENOENT);
}

static void
test_subjects_outside_the_scope_are_refused(void **state)
{
	fx *f = *state;
	char id[37];
	ocp_field s[] = {{"name", "X"}, {"kind", "dn"}, {"unit_code", "84-00001"}};
	long long before;

	fx_site(f, "commune", "83-28882");
	before = changes(f);
	assert_err(ocp_reg_add(f->reg, "subject", s, 3, id), OCOP_ESCOPE);
	assert_int_equal(changes(f), before);
}

/* ===== Dossier defaults ===== */

static void
test_dossier_defaults_come_from_the_product_set_and_the_unit(void **state)
{
	fx *f = *state;
	char s[37];
	char p[37];
	char d[37];
	json_t *o = NULL;
	ocp_field pf[] = {{"subject_id", s}, {"name", "Bánh phồng tôm"}, {"product_set", "7"},
	    {"product_code", "83-832-28882-2-2022"}, {"unit_code", "83-28890"}};
	ocp_field df[] = {{"product_id", p}, {"round_year", "2026"}, {"round_no", "2"},
	    {"issuing_body", "UBND huyện Chợ Lách"}};

	fx_site(f, "province", "83");
	add_subject(f, "HTX Bánh phồng", "83-28882", s);
	assert_ok(ocp_reg_add(f->reg, "product", pf, 5, p));
	assert_ok(ocp_reg_add(f->reg, "dossier", df, 4, d));
	assert_ok(ocp_reg_get(f->reg, "dossier", d, &o));
	assert_string_equal(str(o, "legal_basis"), "qd26-2026");
	assert_string_equal(str(o, "rubric_id"), "qd26-2026/07");
	assert_string_equal(str(o, "unit_code"), "83-28890");
	assert_string_equal(str(o, "province_code"), "83");
	assert_string_equal(str(o, "eval_type"), "first");
	assert_string_equal(str(o, "status"), "draft");
	assert_int_equal(json_integer_value(json_object_get(o, "epoch")), 0);
	assert_string_equal(str(o, "product_code"), "83-832-28882-2-2022");
	assert_string_equal(str(o, "issuing_body"), "UBND huyện Chợ Lách");
	assert_int_equal(strlen(str(o, "filed_on")), 10);
	assert_int_equal(json_array_size(json_object_get(o, "documents")), 0);
	assert_true(json_is_array(json_object_get(o, "evaluations")));
	json_decref(o);
}

static void
test_dossier_unit_falls_back_to_the_subject_and_the_basis_picks_the_workflow(void **state)
{
	fx *f = *state;
	char s[37];
	char p[37];
	char d[37];
	json_t *o = NULL;
	ocp_field legacy[] = {{"product_id", p}, {"round_year", "2024"}, {"round_no", "1"},
	    {"legal_basis", "qd148-2023"}};
	ocp_field mismatch[] = {{"product_id", p}, {"round_year", "2024"}, {"round_no", "2"},
	    {"legal_basis", "qd148-2023"}, {"rubric_id", "qd26-2026/01"}};
	ocp_field other_set[] = {{"product_id", p}, {"round_year", "2026"}, {"round_no", "1"},
	    {"rubric_id", "qd26-2026/07"}};
	ocp_field current[] = {{"product_id", p}, {"round_year", "2026"}, {"round_no", "1"}};
	ocp_field unknown[] = {{"product_id", p}, {"round_year", "2024"}, {"round_no", "3"},
	    {"legal_basis", "qd999-2030"}};

	fx_site(f, "commune", "83-28882");
	add_subject(f, "Hộ kinh doanh Mật ong", "83-28882", s);
	add_product(f, s, "Mật ong hoa nhãn", "03", p);
	/* QĐ 148/2023 ships no criteria sheet: the dossier would record a rubric that does not exist. */
	assert_err(ocp_reg_add(f->reg, "dossier", legacy, 4, d), OCOP_EINPUT);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "there is no rubric qd148-2023/03"));
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "ocop history import"));
	assert_err(ocp_reg_add(f->reg, "dossier", mismatch, 5, d), OCOP_EINPUT);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "belongs to legal basis qd26-2026, but the dossier is filed under qd148-2023"));
	assert_err(ocp_reg_add(f->reg, "dossier", other_set, 4, d), OCOP_EINPUT);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "product set 07, but the product is in set 03"));
	assert_err(ocp_reg_add(f->reg, "dossier", unknown, 4, d), OCOP_EINPUT);
	assert_ok(ocp_reg_add(f->reg, "dossier", current, 3, d));
	assert_ok(ocp_reg_get(f->reg, "dossier", d, &o));
	assert_string_equal(str(o, "unit_code"), "83-28882");
	assert_string_equal(str(o, "rubric_id"), "qd26-2026/03");
	assert_string_equal(str(o, "legal_basis"), "qd26-2026");
	assert_string_equal(str(o, "status"), "draft");
	json_decref(o);
	assert_err(ocp_reg_add(f->reg, "dossier", current, 3, d), OCOP_EEXIST);
}

/* ===== Workflow moves ===== */

static void
test_commune_moves_along_the_qd26_path_once_the_commune_report_is_attached(void **state)
{
	fx *f = *state;
	char d[37];
	char doc[37];
	ocp_field report[] = {{"dossier_id", d}, {"kind", "commune_report"},
	    {"title", "Mẫu 03 báo cáo của UBND xã"}};
	long long before;

	fx_site(f, "commune", "83-28882");
	add_dossier(f, d);
	assert_ok(ocp_reg_dossier_move(f->reg, d, "commune_check", NULL, NULL));
	assert_dossier(f, d, "commune_check", 0);
	before = changes(f);
	assert_err(ocp_reg_dossier_move(f->reg, d, "province_review", NULL, NULL), OCOP_ESTATE);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "commune_report"));
	assert_int_equal(changes(f), before);
	assert_ok(ocp_reg_add(f->reg, "document", report, 3, doc));
	assert_ok(ocp_reg_dossier_move(f->reg, d, "province_review", NULL, NULL));
	assert_dossier(f, d, "province_review", 0);
}

static void
test_a_move_from_the_wrong_state_is_refused_and_writes_nothing(void **state)
{
	fx *f = *state;
	char d[37];
	long long before;

	fx_site(f, "commune", "83-28882");
	add_dossier(f, d);
	before = changes(f);
	assert_err(ocp_reg_dossier_move(f->reg, d, "scored", NULL, NULL), OCOP_ESTATE);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "commune_check"));
	assert_err(ocp_reg_dossier_move(f->reg, d, "no_such_state", NULL, NULL), OCOP_EINVAL);
	assert_int_equal(changes(f), before);
	assert_dossier(f, d, "draft", 0);
}

static void
test_a_move_by_the_wrong_role_is_refused_and_writes_nothing(void **state)
{
	fx *f = *state;
	char d[37];
	long long before;

	fx_site(f, "commune", "83-28882");
	add_dossier(f, d);
	/* As if the province's review had arrived by sync. */
	assert_ok(sto_row_update(f->db, "dossier", d, "status", "province_review"));
	before = changes(f);
	assert_err(ocp_reg_dossier_move(f->reg, d, "council_review", NULL, NULL), OCOP_EAUTH);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "province"));
	assert_int_equal(changes(f), before);
	assert_dossier(f, d, "province_review", 0);
}

static void
test_a_province_request_for_update_needs_note_and_deadline_and_bumps_the_epoch(void **state)
{
	fx *f = *state;
	char d[37];
	json_t *o = NULL;
	long long before;

	fx_site(f, "province", "83");
	add_dossier(f, d);
	assert_ok(sto_row_update(f->db, "dossier", d, "status", "province_review"));
	before = changes(f);
	assert_err(ocp_reg_dossier_move(f->reg, d, "update_requested", NULL, "2026-05-15"),
	    OCOP_EINPUT);
	assert_err(ocp_reg_dossier_move(f->reg, d, "update_requested", "Thiếu phiếu kiểm nghiệm",
		       NULL),
	    OCOP_EINPUT);
	assert_err(ocp_reg_dossier_move(f->reg, d, "update_requested", "Thiếu phiếu kiểm nghiệm",
		       "2026-05-32"),
	    OCOP_EINPUT);
	assert_int_equal(changes(f), before);
	assert_ok(ocp_reg_dossier_move(f->reg, d, "update_requested", "Thiếu phiếu kiểm nghiệm",
	    "2026-05-15"));
	assert_ok(ocp_reg_get(f->reg, "dossier", d, &o));
	assert_string_equal(str(o, "status"), "update_requested");
	assert_int_equal(json_integer_value(json_object_get(o, "epoch")), 1);
	assert_string_equal(str(o, "update_deadline"), "2026-05-15");
	assert_string_equal(str(o, "status_note"), "Thiếu phiếu kiểm nghiệm");
	json_decref(o);
	/* Completing the update is the commune's move, not the province's. */
	assert_err(ocp_reg_dossier_move(f->reg, d, "province_review", NULL, NULL), OCOP_EAUTH);
	/* A forward move keeps the epoch. */
	assert_ok(sto_row_update(f->db, "dossier", d, "status", "province_review"));
	assert_ok(ocp_reg_dossier_move(f->reg, d, "council_review", NULL, NULL));
	assert_dossier(f, d, "council_review", 1);
}

static void
test_next_lists_only_the_moves_of_this_role(void **state)
{
	fx *f = *state;
	char d[37];
	json_t *o = NULL;
	json_t *next;

	fx_site(f, "commune", "83-28882");
	add_dossier(f, d);
	assert_ok(ocp_reg_dossier_move(f->reg, d, "commune_check", NULL, NULL));
	assert_ok(ocp_reg_dossier_next(f->reg, d, &o));
	assert_string_equal(str(o, "status"), "commune_check");
	next = json_object_get(o, "next");
	assert_int_equal(json_array_size(next), 3);
	assert_string_equal(str(json_array_get(next, 0), "to"), "draft");
	assert_string_equal(str(json_array_get(next, 0), "kind"), "reopen");
	assert_true(json_is_true(json_object_get(json_array_get(next, 0), "needs_note")));
	assert_string_equal(str(json_array_get(next, 1), "to"), "province_review");
	json_decref(o);
}

/* A stand-in for the council's checks: says yes to everything, or no. */
static int
require_stub(void *arg, sto_db *db, const char *dossier_id, const char *flag, char *err,
    size_t errlen)
{
	int *calls = arg;

	(void)db;
	(void)dossier_id;
	calls[0]++;
	if (calls[1] != 0) {
		snprintf(err, errlen, "requirement %s is not met", flag);
		return OCOP_ESTATE;
	}
	return OCOP_OK;
}

static void
test_the_requirement_seam_decides_flags_the_registry_cannot_check(void **state)
{
	fx *f = *state;
	char d[37];
	int calls[2] = {0, 1};
	ocp_reg_require req = {require_stub, calls};
	long long before;

	fx_site(f, "province", "83");
	add_dossier(f, d);
	assert_ok(sto_row_update(f->db, "dossier", d, "status", "council_review"));
	before = changes(f);
	/* Without a seam a flag like scores_complete refuses the move. */
	assert_err(ocp_reg_dossier_move(f->reg, d, "scored", NULL, NULL), OCOP_ESTATE);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "scores_complete"));
	ocp_reg_set_require(f->reg, &req);
	assert_err(ocp_reg_dossier_move(f->reg, d, "scored", NULL, NULL), OCOP_ESTATE);
	assert_non_null(strstr(ocp_reg_errmsg(f->reg), "is not met"));
	assert_int_equal(changes(f), before);
	calls[1] = 0;
	calls[0] = 0;
	assert_ok(ocp_reg_dossier_move(f->reg, d, "scored", NULL, NULL));
	assert_int_equal(calls[0], 2); /* scores_complete and spread_ok */
	assert_dossier(f, d, "scored", 0);
}

/* ===== Search ===== */

static void
test_search_finds_names_without_diacritics_or_case(void **state)
{
	fx *f = *state;
	char s[37];
	char p[37];
	char q[37];
	json_t *hits = NULL;

	fx_site(f, "commune", "83-28882");
	add_subject(f, "HTX Kẹo dừa Thanh Long", "83-28882", s);
	add_product(f, s, "Kẹo dừa sữa", "01", p);
	add_product(f, s, "Đậu phộng rang", "01", q);
	assert_ok(ocp_reg_search(f->reg, "keo dua", &hits));
	assert_int_equal(json_array_size(hits), 2);
	assert_string_equal(str(json_array_get(hits, 0), "type"), "subject");
	assert_string_equal(str(json_array_get(hits, 0), "id"), s);
	assert_string_equal(str(json_array_get(hits, 1), "id"), p);
	json_decref(hits);
	assert_ok(ocp_reg_search(f->reg, "KẸO", &hits));
	assert_int_equal(json_array_size(hits), 2);
	json_decref(hits);
	assert_ok(ocp_reg_search(f->reg, "dau phong", &hits));
	assert_int_equal(json_array_size(hits), 1);
	assert_string_equal(str(json_array_get(hits, 0), "name"), "Đậu phộng rang");
	json_decref(hits);
	assert_ok(ocp_reg_search(f->reg, "cà phê", &hits));
	assert_int_equal(json_array_size(hits), 0);
	json_decref(hits);
	assert_err(ocp_reg_search(f->reg, "  ", &hits), OCOP_EINPUT);
}

/* ===== Units ===== */

static void
add_unit(fx *f, const char *code, const char *name, const char *level, const char *successor)
{
	char id[37];
	ocp_field u[] = {{"code", code}, {"name", name}, {"level", level},
	    {"successor_code", successor}};

	assert_ok(ocp_reg_add(f->reg, "unit", u, successor ? 4 : 3, id));
}

static void
test_unit_map_follows_successors_to_the_current_unit(void **state)
{
	fx *f = *state;
	json_t *o = NULL;
	json_t *path;

	fx_site(f, "province", "86");
	add_unit(f, "86", "Vĩnh Long", "province", NULL);
	add_unit(f, "83", "Bến Tre", "province", "86");
	add_unit(f, "83-832", "Chợ Lách", "district", "86");
	add_unit(f, "83-28882", "Long Thới", "commune", "86-29001");
	add_unit(f, "86-29001", "Chợ Lách (xã mới)", "commune", NULL);
	assert_ok(ocp_reg_unit_map(f->reg, "83", &o));
	assert_string_equal(str(o, "current"), "86");
	assert_string_equal(str(o, "name"), "Vĩnh Long");
	json_decref(o);
	assert_ok(ocp_reg_unit_map(f->reg, "83-28882", &o));
	assert_string_equal(str(o, "current"), "86-29001");
	path = json_object_get(o, "path");
	assert_int_equal(json_array_size(path), 2);
	assert_string_equal(json_string_value(json_array_get(path, 0)), "83-28882");
	json_decref(o);
	assert_ok(ocp_reg_unit_map(f->reg, "86", &o));
	assert_string_equal(str(o, "current"), "86");
	json_decref(o);
	assert_err(ocp_reg_unit_map(f->reg, "87", &o), OCOP_ENOENT);
	/* Pointing the new province back at the old one would make the map loop. */
	assert_err(ocp_reg_set(f->reg, "unit", "86", (ocp_field[]){{"successor_code", "83"}}, 1),
	    OCOP_EINPUT);
	assert_err(ocp_reg_add(f->reg, "unit",
		       (ocp_field[]){{"code", "83"}, {"name", "Bến Tre"}, {"level", "province"}}, 3,
		       (char[37]){0}),
	    OCOP_EEXIST);
	assert_err(ocp_reg_add(f->reg, "unit",
		       (ocp_field[]){{"code", "84-123"}, {"name", "X"}, {"level", "province"}}, 3,
		       (char[37]){0}),
	    OCOP_EINPUT);
}

static void
test_a_merged_province_still_owns_its_old_codes(void **state)
{
	fx *f = *state;
	char s[37];
	ocp_field other[] = {{"name", "X"}, {"kind", "dn"}, {"unit_code", "84-00001"}};

	fx_site(f, "province", "86");
	add_unit(f, "86", "Vĩnh Long", "province", NULL);
	add_unit(f, "83", "Bến Tre", "province", "86");
	add_subject(f, "HTX Dừa sáp", "83-28882", s);
	assert_err(ocp_reg_add(f->reg, "subject", other, 3, s), OCOP_ESCOPE);
}

static void
test_units_are_written_by_province_and_national_sites_only(void **state)
{
	fx *f = *state;
	char id[37];
	ocp_field u[] = {{"code", "83"}, {"name", "Bến Tre"}, {"level", "province"}};

	fx_site(f, "commune", "83-28882");
	assert_err(ocp_reg_add(f->reg, "unit", u, 3, id), OCOP_EAUTH);
}

/* ===== Tombstones ===== */

static void
test_tombstoned_rows_vanish_from_lists_and_lookups(void **state)
{
	fx *f = *state;
	char s[37];
	char p[37];
	char t[37];
	json_t *list = NULL;
	json_t *o = NULL;

	fx_site(f, "commune", "83-28882");
	add_subject(f, "HTX Kẹo dừa", "83-28882", s);
	add_subject(f, "HTX Bánh tráng", "83-28882", t);
	add_product(f, s, "Kẹo dừa sữa", "01", p);
	/* A subject with a live product stays. */
	assert_err(ocp_reg_delete(f->reg, "subject", s), OCOP_ESTATE);
	assert_ok(ocp_reg_delete(f->reg, "product", p));
	assert_ok(ocp_reg_delete(f->reg, "subject", s));
	assert_ok(ocp_reg_list(f->reg, "subject", NULL, 0, &list));
	assert_int_equal(json_array_size(list), 1);
	assert_string_equal(str(json_array_get(list, 0), "id"), t);
	json_decref(list);
	assert_ok(ocp_reg_list(f->reg, "product", NULL, 0, &list));
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
	assert_err(ocp_reg_get(f->reg, "subject", s, &o), OCOP_ENOENT);
	assert_err(ocp_reg_delete(f->reg, "subject", s), OCOP_ENOENT);
	assert_err(ocp_reg_set(f->reg, "subject", s, (ocp_field[]){{"name", "Y"}}, 1), OCOP_ENOENT);
	assert_ok(ocp_reg_search(f->reg, "keo", &list));
	assert_int_equal(json_array_size(list), 0);
	json_decref(list);
}

static void
test_set_changes_fields_and_list_filters_by_unit_prefix(void **state)
{
	fx *f = *state;
	char s[37];
	char t[37];
	json_t *list = NULL;
	json_t *o = NULL;
	ocp_field unit83 = {"unit_code", "83"};
	ocp_field unit_one = {"unit_code", "83-28882"};

	fx_site(f, "province", "83");
	add_subject(f, "HTX Kẹo dừa", "83-28882", s);
	add_subject(f, "HTX Bưởi da xanh", "83-28900", t);
	assert_ok(ocp_reg_set(f->reg, "subject", s,
	    (ocp_field[]){{"rep_gender", "female"}, {"rep_disability", "yes"}, {"email", ""}}, 3));
	assert_ok(ocp_reg_get(f->reg, "subject", s, &o));
	assert_string_equal(str(o, "rep_gender"), "female");
	assert_int_equal(json_integer_value(json_object_get(o, "rep_disability")), 1);
	assert_true(json_is_null(json_object_get(o, "email")));
	json_decref(o);
	assert_err(ocp_reg_set(f->reg, "subject", s, (ocp_field[]){{"name", ""}}, 1), OCOP_EINPUT);
	assert_ok(ocp_reg_list(f->reg, "subject", &unit83, 1, &list));
	assert_int_equal(json_array_size(list), 2);
	json_decref(list);
	assert_ok(ocp_reg_list(f->reg, "subject", &unit_one, 1, &list));
	assert_int_equal(json_array_size(list), 1);
	json_decref(list);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_init_twice_is_refused_and_names_the_site, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_init_checks_the_scope_against_the_role, setup,
		teardown),
	    cmocka_unit_test(test_unit_codes_have_a_province_first_and_at_most_three_segments),
	    cmocka_unit_test_setup_teardown(test_bad_values_are_refused_with_the_field_named, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_documents_keep_metadata_and_check_the_hash_format,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_product_needs_a_live_subject, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_subjects_outside_the_scope_are_refused, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_dossier_defaults_come_from_the_product_set_and_the_unit, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_dossier_unit_falls_back_to_the_subject_and_the_basis_picks_the_workflow, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_commune_moves_along_the_qd26_path_once_the_commune_report_is_attached, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_a_move_from_the_wrong_state_is_refused_and_writes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_a_move_by_the_wrong_role_is_refused_and_writes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_a_province_request_for_update_needs_note_and_deadline_and_bumps_the_epoch,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_next_lists_only_the_moves_of_this_role, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_the_requirement_seam_decides_flags_the_registry_cannot_check, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_search_finds_names_without_diacritics_or_case, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_unit_map_follows_successors_to_the_current_unit,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_merged_province_still_owns_its_old_codes, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_units_are_written_by_province_and_national_sites_only,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_tombstoned_rows_vanish_from_lists_and_lookups, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_set_changes_fields_and_list_filters_by_unit_prefix,
		setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
