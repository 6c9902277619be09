/*
 * Integration: the registry commands of the built `ocop` binary on a fresh
 * replica in a temp dir: init, subject/product/dossier/document add, list and
 * show --json checked with jansson, workflow moves (a refused one exits 1,
 * says why and writes nothing), bad input exiting 2, search, unit mapping.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>
#include <sqlite3.h>

#include "common/util/alloc.h"

typedef struct fx {
	char *dir;       /* temp dir, owned */
	char db[512];    /* replica path */
	char data[512];  /* the repository's data directory */
	char bin[512];   /* the ocop program */
} fx;

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));

	if (f == NULL || (f->dir = tu_mkdtemp()) == NULL) {
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/site.db", f->dir);
	tu_src(f->data, sizeof(f->data), "data");
	tu_bin(f->bin, sizeof(f->bin), "ocop");
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

/*
 * Run `ocop ARGS` against the fixture's replica; *out gets stdout (and stderr
 * when merge is set). Returns the exit status.
 */
static int
ocop(fx *f, char **out, int merge, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
ocop(fx *f, char **out, int merge, const char *fmt, ...)
{
	char args[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return tu_run(out, merge, "OCOP_DB='%s' OCOP_DATA_DIR='%s' '%s' %s", f->db, f->data, f->bin,
	    args);
}

/* Run a write that must succeed and keep the id it prints (37 bytes). */
static void
ocop_id(fx *f, char id[37], const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
ocop_id(fx *f, char id[37], const char *fmt, ...)
{
	char args[2048];
	char *out = NULL;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	assert_int_equal(ocop(f, &out, 0, "%s", args), 0);
	assert_true(strlen(out) == 37 && out[36] == '\n');
	memcpy(id, out, 36);
	id[36] = 0;
	com_free(out);
}

/* Run a read that must succeed and parse its --json output. Caller decrefs. */
static json_t *
ocop_json(fx *f, const char *args)
{
	json_error_t e;
	char *out = NULL;
	json_t *v;

	assert_int_equal(ocop(f, &out, 0, "%s --json", args), 0);
	v = json_loads(out, 0, &e);
	if (v == NULL) {
		print_error("not JSON (%s): %s\n", e.text, out);
	}
	assert_non_null(v);
	com_free(out);
	return v;
}

/* Captured changes in the replica: what a refused command must leave alone. */
static long long
changes(fx *f)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM change", -1, &st, NULL),
	    SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "";
}

/* A commune replica with a subject, a product of set 01 and a dossier. */
static void
commune_with_dossier(fx *f, char s[37], char p[37], char d[37])
{
	char site[37];

	ocop_id(f, site, "init --role commune --scope 83-28882 --name 'UBND xã Long Thới'");
	ocop_id(f, s,
	    "subject add --name 'HTX Kẹo dừa Thanh Long' --kind htx --unit 83-28882 "
	    "--rep-name 'Thành viên 1' --rep-gender female --rep-disability no");
	ocop_id(f, p, "product add --subject %s --name 'Kẹo dừa sữa' --set 01 "
		      "--code 83-832-28882-2-2022", s);
	ocop_id(f, d, "dossier add --product %s --year 2026 --round 1", p);
}

static void
test_a_commune_registers_a_dossier_and_lists_it_as_json(void **state)
{
	fx *f = *state;
	char s[37];
	char p[37];
	char d[37];
	char doc[37];
	char args[256];
	json_t *v;
	json_t *row;

	commune_with_dossier(f, s, p, d);
	ocop_id(f, doc,
	    "document add --dossier %s --kind lab_test --title 'Phiếu kiểm nghiệm' --sha256 "
	    "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881 --size 2048 "
	    "--received 2026-03-02",
	    d);

	v = ocop_json(f, "dossier list");
	assert_int_equal(json_array_size(v), 1);
	row = json_array_get(v, 0);
	assert_string_equal(str(row, "id"), d);
	assert_string_equal(str(row, "status"), "draft");
	assert_int_equal(json_integer_value(json_object_get(row, "epoch")), 0);
	assert_string_equal(str(row, "rubric_id"), "qd26-2026/01");
	assert_string_equal(str(row, "legal_basis"), "qd26-2026");
	assert_string_equal(str(row, "province_code"), "83");
	assert_string_equal(str(row, "unit_code"), "83-28882");
	assert_string_equal(str(row, "product_code"), "83-832-28882-2-2022");
	assert_string_equal(str(row, "product_name"), "Kẹo dừa sữa");
	assert_int_equal(json_integer_value(json_object_get(row, "round_year")), 2026);
	json_decref(v);

	v = ocop_json(f, "dossier list --round 2026/2");
	assert_int_equal(json_array_size(v), 0);
	json_decref(v);

	snprintf(args, sizeof(args), "document list --dossier %s", d);
	v = ocop_json(f, args);
	assert_int_equal(json_array_size(v), 1);
	assert_string_equal(str(json_array_get(v, 0), "kind"), "lab_test");
	assert_string_equal(str(json_array_get(v, 0), "title"), "Phiếu kiểm nghiệm");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(v, 0), "size")), 2048);
	json_decref(v);

	snprintf(args, sizeof(args), "dossier show %s", d);
	v = ocop_json(f, args);
	assert_string_equal(json_string_value(json_array_get(json_object_get(v, "documents"), 0)),
	    doc);
	assert_int_equal(json_array_size(json_object_get(v, "evaluations")), 0);
	json_decref(v);

	v = ocop_json(f, "subject list --unit 83");
	assert_int_equal(json_array_size(v), 1);
	assert_string_equal(str(json_array_get(v, 0), "name"), "HTX Kẹo dừa Thanh Long");
	assert_string_equal(str(json_array_get(v, 0), "rep_gender"), "female");
	json_decref(v);

	snprintf(args, sizeof(args), "product list --subject %s", s);
	v = ocop_json(f, args);
	assert_int_equal(json_array_size(v), 1);
	assert_string_equal(str(json_array_get(v, 0), "product_set"), "01");
	json_decref(v);
}

static void
test_moves_follow_the_workflow_and_a_refused_move_writes_nothing(void **state)
{
	fx *f = *state;
	char s[37];
	char p[37];
	char d[37];
	char doc[37];
	char args[256];
	char *out = NULL;
	long long before;
	json_t *v;

	commune_with_dossier(f, s, p, d);
	before = changes(f);
	assert_int_equal(ocop(f, &out, 1, "dossier move %s --to scored", d), 1);
	assert_non_null(strstr(out, "ocop dossier move: cannot move a dossier from 'draft'"));
	com_free(out);
	assert_int_equal(changes(f), before);

	assert_int_equal(ocop(f, &out, 0, "dossier move %s --to commune_check", d), 0);
	com_free(out);
	before = changes(f);
	assert_int_equal(ocop(f, &out, 1, "dossier move %s --to province_review", d), 1);
	assert_non_null(strstr(out, "commune_report"));
	com_free(out);
	assert_int_equal(changes(f), before);

	/* A request for update is a reopen: it needs a note and a deadline. */
	assert_int_equal(ocop(f, &out, 1, "dossier move %s --to draft --deadline 2026-04-30", d), 2);
	assert_non_null(strstr(out, "note"));
	com_free(out);
	assert_int_equal(ocop(f, &out, 0,
			     "dossier move %s --to draft --note 'Thiếu phiếu kiểm nghiệm' "
			     "--deadline 2026-04-30",
			     d),
	    0);
	com_free(out);
	assert_int_equal(ocop(f, &out, 0, "dossier move %s --to commune_check", d), 0);
	com_free(out);
	ocop_id(f, doc, "document add --dossier %s --kind commune_report --title 'Mẫu 03'", d);
	assert_int_equal(ocop(f, &out, 0, "dossier move %s --to province_review", d), 0);
	com_free(out);

	/* The council is the province's: a commune site is refused. */
	before = changes(f);
	assert_int_equal(ocop(f, &out, 1, "dossier move %s --to council_review", d), 1);
	assert_non_null(strstr(out, "commune office cannot"));
	com_free(out);
	assert_int_equal(changes(f), before);

	snprintf(args, sizeof(args), "dossier show %s", d);
	v = ocop_json(f, args);
	assert_string_equal(str(v, "status"), "province_review");
	assert_int_equal(json_integer_value(json_object_get(v, "epoch")), 1);
	assert_string_equal(str(v, "update_deadline"), "2026-04-30");
	assert_string_equal(str(v, "status_note"), "Thiếu phiếu kiểm nghiệm");
	json_decref(v);

	snprintf(args, sizeof(args), "dossier next %s", d);
	v = ocop_json(f, args);
	assert_int_equal(json_array_size(json_object_get(v, "next")), 0);
	json_decref(v);
}

static void
test_bad_input_exits_2_with_the_command_named(void **state)
{
	fx *f = *state;
	char s[37];
	char p[37];
	char d[37];
	char *out = NULL;
	long long before;
	size_t i;
	static const struct {
		const char *args;
		const char *says;
	} bad[] = {
	    {"subject add --bogus 1", "ocop subject add: unknown option '--bogus'"},
	    {"subject add --name X --kind htx", "ocop subject add: unit_code is required"},
	    {"subject add --name X --kind coop --unit 83-28882", "kind 'coop' must be one of"},
	    {"subject add --name X --kind ho --unit 83-28882 --reg-date 2026-13-01", "reg_date"},
	    {"subject show 01a20000-0000-7000-8000-000000000000", "ocop subject show: no subject"},
	    {"subject show not-an-id", "not a subject id"},
	    {"subject frobnicate", "ocop subject: 'frobnicate' is not a subject command (add, set, list"},
	    {"product add --subject 01a20000-0000-7000-8000-000000000000 --name Y --set 01",
		"no subject"},
	    {"dossier list --round 2026", "--round must be YYYY/N"},
	    {"dossier move 01a20000-0000-7000-8000-000000000000 --to commune_check", "no dossier"},
	    {"dossier add --year 2026 --round 1", "product_id is required"},
	    {"document add --dossier 01a20000-0000-7000-8000-000000000000 --kind x --title T "
	     "--sha256 1234",
		"sha256"},
	    {"document list --kind", "ocop document list: option '--kind' needs a value"},
	    {"dossier set 01a20000-0000-7000-8000-000000000000", "nothing to change"},
	    {"dossier set 01a20000-0000-7000-8000-000000000000 --year 2027", "unknown option '--year'"},
	    {"unit map 83-", "not a unit code"},
	    {"search", "what should I search for"},
	    {"init --role commune", "--role and --scope are required"},
	};

	commune_with_dossier(f, s, p, d);
	before = changes(f);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = ocop(f, &out, 1, "%s", bad[i].args);

		if (rc != 2 || strstr(out, bad[i].says) == NULL) {
			print_error("ocop %s: exit %d, said: %s\n", bad[i].args, rc, out);
		}
		assert_int_equal(rc, 2);
		assert_non_null(strstr(out, bad[i].says));
		com_free(out);
	}
	assert_int_equal(ocop(f, &out, 1, "dossier move %s --to nowhere", d), 2);
	assert_non_null(strstr(out, "unknown state 'nowhere'"));
	com_free(out);
	assert_int_equal(changes(f), before);
}

static void
test_init_twice_exits_1_and_names_the_site(void **state)
{
	fx *f = *state;
	char site[37];
	char *out = NULL;

	assert_int_equal(ocop(f, &out, 1, "init --role province --scope 83-28882"), 2);
	assert_non_null(strstr(out, "province codes"));
	com_free(out);
	ocop_id(f, site, "init --role province --scope 83 --name 'Văn phòng OCOP tỉnh'");
	assert_int_equal(ocop(f, &out, 1, "init --role commune --scope 83-28882"), 1);
	assert_non_null(strstr(out, "ocop init: this replica is already initialised as site"));
	assert_non_null(strstr(out, site));
	com_free(out);
}

static void
test_search_finds_subjects_and_products_without_diacritics(void **state)
{
	fx *f = *state;
	char s[37];
	char p[37];
	char d[37];
	char *out = NULL;
	json_t *v;

	commune_with_dossier(f, s, p, d);
	v = ocop_json(f, "search keo dua");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(str(json_array_get(v, 0), "type"), "subject");
	assert_string_equal(str(json_array_get(v, 0), "id"), s);
	assert_string_equal(str(json_array_get(v, 1), "type"), "product");
	assert_string_equal(str(json_array_get(v, 1), "id"), p);
	json_decref(v);
	assert_int_equal(ocop(f, &out, 0, "search 'KẸO DỪA SỮA'"), 0);
	assert_non_null(strstr(out, p));
	assert_null(strstr(out, s));
	com_free(out);
	v = ocop_json(f, "search 'bánh tráng'");
	assert_int_equal(json_array_size(v), 0);
	json_decref(v);
}

static void
test_a_province_maps_old_units_to_new_ones(void **state)
{
	fx *f = *state;
	char id[37];
	char *out = NULL;
	json_t *v;

	ocop_id(f, id, "init --role province --scope 86");
	ocop_id(f, id, "unit add --code 86 --name 'Vĩnh Long' --level province --valid-from 2025-07-01");
	ocop_id(f, id, "unit add --code 83 --name 'Bến Tre' --level province --valid-to 2025-06-30 "
		       "--successor 86");
	ocop_id(f, id, "unit add --code 83-832 --name 'Chợ Lách' --level district --parent 83 "
		       "--valid-to 2025-06-30 --successor 86");
	v = ocop_json(f, "unit map 83-832");
	assert_string_equal(str(v, "current"), "86");
	assert_string_equal(str(v, "name"), "Vĩnh Long");
	assert_int_equal(json_array_size(json_object_get(v, "path")), 2);
	json_decref(v);
	/* The province's own row stands for the shipped former Bến Tre it repeats (data/units). */
	v = ocop_json(f, "unit list --under 83");
	assert_int_equal(json_array_size(v), 2);
	assert_string_equal(str(json_array_get(v, 0), "code"), "83");
	assert_string_equal(str(json_array_get(v, 0), "successor_code"), "86");
	assert_string_equal(str(json_array_get(v, 0), "source"), "imported");
	assert_string_equal(str(json_array_get(v, 1), "code"), "83-832");
	json_decref(v);
	v = ocop_json(f, "unit list --under 84");
	assert_int_equal(json_array_size(v), 1);
	assert_string_equal(str(json_array_get(v, 0), "name"), "Tỉnh Trà Vinh");
	assert_string_equal(str(json_array_get(v, 0), "source"), "shipped");
	json_decref(v);
	v = ocop_json(f, "unit list --level province --current");
	assert_int_equal(json_array_size(v), 34); /* the province's own row 86 stands for the shipped one */
	json_decref(v);
	assert_int_equal(ocop(f, &out, 0, "unit map 83"), 0);
	assert_int_equal(strncmp(out, "86\tVĩnh Long", strlen("86\tVĩnh Long")), 0);
	com_free(out);
	/* The old province's communes are still this province's. */
	ocop_id(f, id, "subject add --name 'HTX Bưởi da xanh' --kind htx --unit 83-28882");
	assert_int_equal(ocop(f, &out, 1, "subject add --name X --kind dn --unit 84-00001"), 1);
	assert_non_null(strstr(out, "outside this site's scope"));
	com_free(out);
}

static void
test_a_clerk_corrects_a_dossier_with_set(void **state)
{
	fx *f = *state;
	char s[37];
	char p[37];
	char d[37];
	char *out = NULL;
	long long before;
	json_t *v;

	commune_with_dossier(f, s, p, d);
	assert_int_equal(ocop(f, &out, 0, "dossier set %s --type upgrade --issuer 'UBND xã Long Thới' --filed 2026-03-02", d), 0);
	com_free(out);
	{
		char args[128];

		snprintf(args, sizeof(args), "dossier show %s", d);
		v = ocop_json(f, args);
	}
	assert_string_equal(str(v, "eval_type"), "upgrade");
	assert_string_equal(str(v, "issuing_body"), "UBND xã Long Thới");
	assert_string_equal(str(v, "filed_on"), "2026-03-02");
	assert_string_equal(str(v, "rubric_id"), "qd26-2026/01");
	json_decref(v);
	/* Refused, naming the problem, and changing nothing. */
	before = changes(f);
	assert_int_equal(ocop(f, &out, 1, "dossier set %s --rubric qd26-2026/07", d), 2);
	assert_non_null(strstr(out, "ocop dossier set: "));
	com_free(out);
	assert_int_equal(ocop(f, &out, 1, "dossier set %s --type renewal", d), 2);
	assert_non_null(strstr(out, "eval_type 'renewal' must be one of first|upgrade|reeval"));
	com_free(out);
	assert_int_equal(ocop(f, &out, 1, "dossier set %s --status recognised", d), 2);
	assert_non_null(strstr(out, "unknown option '--status'"));
	com_free(out);
	{
		char issuer[1300] = "";
		size_t k;

		/* 13 x 87 bytes: over the store's 1024 for an issuing body. */
		for (k = 0; k < 13; k++) {
			strcat(issuer, "Ủy ban nhân dân xã Long Thới, huyện Chợ Lách, tỉnh Bến Tre (2021-2026) ");
		}
		assert_true(strlen(issuer) > 1024);
		assert_int_equal(ocop(f, &out, 1, "dossier set %s --issuer '%s'", d, issuer), 2);
	}
	assert_non_null(strstr(out, "issuing_body is"));
	assert_non_null(strstr(out, "at most 1024"));
	com_free(out);
	assert_int_equal(changes(f), before);
}

static void
test_every_command_and_subcommand_has_help(void **state)
{
	fx *f = *state;
	static const char *const cmds[] = {
	    "init", "unit", "unit add", "unit set", "unit import", "unit list", "unit map", "subject",
	    "subject add", "subject list", "subject show", "subject set", "subject delete", "product",
	    "product add", "product list", "product set", "dossier", "dossier add", "dossier set",
	    "dossier list", "dossier show", "dossier next", "dossier move", "document", "document add",
	    "document set", "document list", "document show", "search",
	};
	char *out = NULL;
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		int rc = ocop(f, &out, 0, "%s --help", cmds[i]);

		if (rc != 0 || strstr(out, "usage: ocop") == NULL) {
			print_error("ocop %s --help: exit %d, said: %s\n", cmds[i], rc, out);
		}
		assert_int_equal(rc, 0);
		assert_non_null(strstr(out, "usage: ocop"));
		com_free(out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_commune_registers_a_dossier_and_lists_it_as_json,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_moves_follow_the_workflow_and_a_refused_move_writes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_input_exits_2_with_the_command_named, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_init_twice_exits_1_and_names_the_site, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		test_search_finds_subjects_and_products_without_diacritics, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_province_maps_old_units_to_new_ones, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_a_clerk_corrects_a_dossier_with_set, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_command_and_subcommand_has_help, setup,
		teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
