/*
 * Integration: a whole OCOP round with the built `ocop` binary on fresh
 * replicas, as a commune office and a provincial office would do it offline.
 *
 * The commune site registers the subject, product, dossier and evidence and
 * sends the dossier up; the commune's changes reach the province replica
 * through the merge (the sync transport is another module's, so the test
 * merges the commune's log directly); the province site moves the dossier to
 * its council, holds the evaluation, enters three members' sheets (two from
 * a CSV typed from paper, one criterion by criterion), reads the result,
 * records the scores in the workflow, recognises the product (decision, then
 * the dossier's move) and prints the report as JSON and CSV.
 *
 * The sheets, on rubric qd26-2026/01 (OCOP.md 3.5), computed by hand:
 *   Member 1 = BASE: A 3+1+2+2+2+1+1 + 3+2+3+1 + 3+1+3+2+2 = 12+9+11 = 32,
 *              B 3+2+3 + 5+2+3 = 8+10 = 18, C 2+3+3+2 + 1+3+4+3+2+1 = 10+14 = 24: 74.
 *   Member 2 = BASE with 1.2 = 2, 4.3 = 5, 7 = 3: A 33, B 20, C 26: 79.
 *   Member 3 = BASE with 1.4 = 3, 4.2 = 3, 6.4 = 3, 12 = 2: A 33, B 19, C 26: 78.
 *   Mean (74 + 79 + 78) / 3 = 231 / 3 = 77.00: band 4★ (70 <= 77 < 90).
 *   Parts: A 98 / 3 = 32.666.. (shown 32.66), B 57 / 3 = 19.00, C 76 / 3 = 25.333.. (25.33).
 *   Minima: every *** and **** option is reached (level 4 met); the ***** option of
 *   1.3 (3 points) is not (mean 2): minima 4★. Star min(4, 4) = 4★.
 *   Spread 79 - 74 = 5 < 10: ok. Not a potential 5★ (below 90).
 * The recognition issued 2026-07-15 expires 36 months later, 2029-07-15. On
 * 2029-03-01 that is 136 days away (Mar 31 + Apr 30 + May 31 + Jun 30 + 14):
 * inside the 180-day window, which opened 2029-01-16 and closes 2029-03-17.
 */
#include "tests/lib/testutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "tests/lib/replica.h"

typedef struct pick {
	const char *code;   /* criterion */
	const char *points; /* as typed */
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

static const pick M2[] = {{"1.2", "2"}, {"4.3", "5"}, {"7", "3"}};
static const pick M3[] = {{"1.4", "3"}, {"4.2", "3"}, {"6.4", "3"}, {"12", "2"}};

typedef struct fx {
	char *dir;         /* temp dir, owned */
	char bin[512];     /* the ocop binary */
	char data[512];    /* the repository's data directory */
	char commune[600]; /* the commune office's replica */
	char province[600];/* the provincial office's replica */
} fx;

static const char *
points_of(const pick *over, size_t n, const char *code)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(over[i].code, code) == 0) {
			return over[i].points;
		}
	}
	for (i = 0; i < NBASE; i++) {
		if (strcmp(BASE[i].code, code) == 0) {
			return BASE[i].points;
		}
	}
	return "?";
}

/* Run `ocop ARGS` on replica db; stdout (and stderr when merge) into *out. Returns the exit code. */
static int ocop(const fx *f, const char *db, char **out, int merge, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
ocop(const fx *f, const char *db, char **out, int merge, const char *fmt, ...)
{
	char args[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	return tu_run(out, merge, "OCOP_DATA_DIR='%s' OCOP_DB='%s' OCOP_USER=clerk '%s' %s", f->data,
	    db, f->bin, args);
}

/* Run and return the first line of stdout (a new row's id) in id; asserts exit 0. */
static void
ocop_id(const fx *f, const char *db, char id[64], const char *args)
{
	char *out = NULL;
	int rc = ocop(f, db, &out, 0, "%s", args);

	if (rc != 0) {
		print_error("ocop %s -> %d\n", args, rc);
	}
	assert_int_equal(rc, 0);
	assert_non_null(out);
	snprintf(id, 64, "%.*s", (int)strcspn(out, "\r\n"), out);
	assert_int_equal(strlen(id), 36);
	com_free(out);
}

/* Run, assert the exit code and that the merged output contains `want`. */
static void
ocop_fails(const fx *f, const char *db, int code, const char *want, const char *args)
{
	char *out = NULL;
	int rc = ocop(f, db, &out, 1, "%s", args);

	if (rc != code || strstr(out, want) == NULL) {
		print_error("ocop %s -> %d: %s\n", args, rc, out);
	}
	assert_int_equal(rc, code);
	assert_non_null(strstr(out, want));
	com_free(out);
}

/* Run with --json, assert exit 0, and parse. Caller json_decref()s. */
static json_t *
ocop_json(const fx *f, const char *db, const char *args)
{
	char *out = NULL;
	json_error_t e;
	json_t *j;
	int rc = ocop(f, db, &out, 0, "%s", args);

	assert_int_equal(rc, 0);
	j = json_loads(out, 0, &e);
	if (j == NULL) {
		print_error("not JSON (%s): %s\n", e.text, out);
	}
	assert_non_null(j);
	com_free(out);
	return j;
}

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	tu_bin(f->bin, sizeof(f->bin), "ocop");
	tu_src(f->data, sizeof(f->data), "data");
	snprintf(f->commune, sizeof(f->commune), "%s/commune.db", f->dir);
	snprintf(f->province, sizeof(f->province), "%s/province.db", f->dir);
	*state = f;
	return f->dir ? 0 : -1;
}

static int
teardown(void **state)
{
	fx *f = *state;

	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

/* The commune's changes reach the province (what sync will carry). */
static void
commune_to_province(const fx *f)
{
	sto_opts o = {.create = false};
	sto_db *c = NULL;
	sto_db *p = NULL;
	tr_counts n = {0};
	uint64_t cursor = 0;

	assert_ok(sto_open(&c, f->commune, &o));
	assert_ok(sto_open(&p, f->province, &o));
	assert_ok(tr_exchange(p, c, NULL, &cursor, false, &n));
	assert_true(n.applied > 0);
	assert_int_equal(n.rejected, 0);
	sto_close(p);
	sto_close(c);
}

static double
num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_number(v));
	return json_number_value(v);
}

static const char *
str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* The row of a report table whose first column `key` equals value. */
static json_t *
report_row(json_t *rep, const char *table, const char *key, const char *value)
{
	json_t *rows = json_object_get(rep, table);
	size_t i;

	assert_true(json_is_array(rows));
	for (i = 0; i < json_array_size(rows); i++) {
		json_t *r = json_array_get(rows, i);

		if (strcmp(str(r, key), value) == 0) {
			return r;
		}
	}
	print_error("no row %s=%s in %s\n", key, value, table);
	fail();
	return NULL;
}

static void
check_member(json_t *m, const char *name, double total, double a, double b, double c)
{
	assert_string_equal(str(m, "member"), name);
	assert_true(num(m, "total") == total);
	assert_true(num(m, "A") == a);
	assert_true(num(m, "B") == b);
	assert_true(num(m, "C") == c);
}

static void
test_a_full_round_from_commune_dossier_to_recognition_and_report(void **state)
{
	fx *f = *state;
	char subject[64];
	char product[64];
	char dossier[64];
	char doc[64];
	char eval[64];
	char m[3][64];
	char decision[64];
	char args[1024];
	char csv_path[700];
	char report_path[700];
	json_t *j;
	json_t *r;
	json_t *x;
	com_buf csv;
	FILE *fp;
	char *text;
	size_t i;

	/* ----- The two offices' replicas ----- */
	ocop_id(f, f->commune, doc, "init --role commune --scope 83-28882");
	ocop_id(f, f->province, doc, "init --role province --scope 83");

	/* ----- Commune: register, file, pre-check, send up (QĐ 26/2026 Đ7.1-7.2) ----- */
	ocop_id(f, f->commune, subject,
	    "subject add --name 'HTX Kẹo dừa, Thành Thới' --kind htx --unit 83-28882 --rep-gender female");
	snprintf(args, sizeof(args), "product add --subject %s --name 'Bưởi da xanh' --set 01", subject);
	ocop_id(f, f->commune, product, args);
	snprintf(args, sizeof(args), "dossier add --product %s --year 2026 --round 1 --type first", product);
	ocop_id(f, f->commune, dossier, args);
	snprintf(args, sizeof(args), "document add --dossier %s --kind mau01 --title 'Phiếu đăng ký'", dossier);
	ocop_id(f, f->commune, doc, args);
	snprintf(args, sizeof(args),
	    "document add --dossier %s --kind mau02 --title 'Báo cáo tự đánh giá' --size 20480", dossier);
	ocop_id(f, f->commune, doc, args);
	snprintf(args, sizeof(args),
	    "document add --dossier %s --kind commune_report --title 'Báo cáo đánh giá (Mẫu 03)'", dossier);
	ocop_id(f, f->commune, doc, args);
	snprintf(args, sizeof(args), "dossier move %s --to commune_check", dossier);
	ocop_id(f, f->commune, doc, args);
	snprintf(args, sizeof(args), "dossier move %s --to province_review", dossier);
	ocop_id(f, f->commune, doc, args);
	/* A commune office holds no provincial council and recognises nothing. */
	snprintf(args, sizeof(args), "evaluation add --dossier %s --tier province", dossier);
	ocop_fails(f, f->commune, 1, "ocop evaluation add: ", args);
	snprintf(args, sizeof(args), "decision add --dossier %s --kind recognition --star 4", dossier);
	ocop_fails(f, f->commune, 1, "commune", args);

	commune_to_province(f);

	/* ----- Province: the council sits (Đ7.3) ----- */
	snprintf(args, sizeof(args), "evaluation add --dossier %s --tier province", dossier);
	ocop_fails(f, f->province, 1, "council_review", args); /* not yet at the council */
	snprintf(args, sizeof(args), "dossier move %s --to council_review", dossier);
	ocop_id(f, f->province, doc, args);
	snprintf(args, sizeof(args), "evaluation add --dossier %s --tier province --held 2026-06-20",
	    dossier);
	ocop_id(f, f->province, eval, args);
	snprintf(args, sizeof(args), "evaluation show %s --json", eval);
	j = ocop_json(f, f->province, args);
	assert_string_equal(str(j, "legal_basis"), "qd26-2026");
	assert_string_equal(str(j, "rubric_id"), "qd26-2026/01");
	assert_string_equal(str(j, "held_on"), "2026-06-20");
	assert_true(num(j, "spread_threshold") == 10.0);
	json_decref(j);

	for (i = 0; i < 3; i++) {
		snprintf(args, sizeof(args), "member add --evaluation %s --name 'Member %zu' --role %s", eval,
		    i + 1, i == 0 ? "chair" : "member");
		ocop_id(f, f->province, m[i], args);
	}

	/* Members 1 and 2 from the clerk's spreadsheet (BOM, CRLF); first with a typo. */
	snprintf(csv_path, sizeof(csv_path), "%s/sheets.csv", f->dir);
	com_buf_init(&csv);
	com_buf_puts(&csv, "\xEF\xBB\xBFmember,criterion,points\r\n");
	for (i = 0; i < NBASE; i++) {
		com_buf_printf(&csv, "Member 1,%s,%s\r\n", BASE[i].code, points_of(NULL, 0, BASE[i].code));
	}
	for (i = 0; i < NBASE; i++) {
		/* Line 1 + 32 + 17: 4.1 typed as 4, which is no option (1, 2, 3 or 5). */
		com_buf_printf(&csv, "Member 2,%s,%s\r\n", BASE[i].code,
		    strcmp(BASE[i].code, "4.1") == 0 ? "4" : points_of(M2, 3, BASE[i].code));
	}
	fp = fopen(csv_path, "wb");
	assert_non_null(fp);
	fwrite(csv.data, 1, csv.len, fp);
	fclose(fp);
	snprintf(args, sizeof(args), "sheet import --evaluation %s --csv '%s'", eval, csv_path);
	ocop_fails(f, f->province, 2, "sheets.csv:50", args);
	snprintf(args, sizeof(args), "sheet show --member %s --json", m[0]);
	j = ocop_json(f, f->province, args);
	assert_int_equal(json_array_size(json_object_get(j, "scores")), 0); /* nothing written */
	json_decref(j);
	com_buf_reset(&csv);
	com_buf_puts(&csv, "\xEF\xBB\xBFmember,criterion,points\r\n");
	for (i = 0; i < NBASE; i++) {
		com_buf_printf(&csv, "Member 1,%s,%s\r\n", BASE[i].code, points_of(NULL, 0, BASE[i].code));
	}
	for (i = 0; i < NBASE; i++) {
		com_buf_printf(&csv, "Member 2,%s,%s\r\n", BASE[i].code, points_of(M2, 3, BASE[i].code));
	}
	fp = fopen(csv_path, "wb");
	assert_non_null(fp);
	fwrite(csv.data, 1, csv.len, fp);
	fclose(fp);
	com_buf_fini(&csv);
	snprintf(args, sizeof(args), "sheet import --evaluation %s --csv '%s'", eval, csv_path);
	assert_int_equal(ocop(f, f->province, NULL, 0, "%s", args), 0);

	/* Member 3 criterion by criterion; an impossible value is refused. */
	snprintf(args, sizeof(args), "sheet set --member %s --criterion 1.1 --points 2.5", m[2]);
	ocop_fails(f, f->province, 2, "1.1", args);
	for (i = 0; i + 1 < NBASE; i++) {
		snprintf(args, sizeof(args), "sheet set --member %s --criterion %s --points %s", m[2],
		    BASE[i].code, points_of(M3, 4, BASE[i].code));
		ocop_id(f, f->province, doc, args);
	}
	/* One criterion (12) still missing: no result yet, and it says whose and which;
	 * the workflow will not record the council's scores either. */
	snprintf(args, sizeof(args), "result %s", eval);
	ocop_fails(f, f->province, 1, "Member 3 misses 12", args);
	snprintf(args, sizeof(args), "dossier move %s --to scored", dossier);
	ocop_fails(f, f->province, 1, "Member 3 misses 12", args);
	snprintf(args, sizeof(args), "sheet set --member %s --criterion 12 --points %s", m[2],
	    points_of(M3, 4, "12"));
	ocop_id(f, f->province, doc, args);
	snprintf(args, sizeof(args), "sheet submit --member %s", m[2]);
	assert_int_equal(ocop(f, f->province, NULL, 0, "%s", args), 0);
	snprintf(args, sizeof(args), "sheet set --member %s --criterion 12 --points 3", m[2]);
	ocop_fails(f, f->province, 1, "submitted", args);

	/* ----- The result, field by field against the hand computation ----- */
	snprintf(args, sizeof(args), "result %s --json", eval);
	j = ocop_json(f, f->province, args);
	x = json_object_get(j, "members");
	assert_int_equal(json_array_size(x), 3);
	check_member(json_array_get(x, 0), "Member 1", 74.0, 32.0, 18.0, 24.0);
	check_member(json_array_get(x, 1), "Member 2", 79.0, 33.0, 20.0, 26.0);
	check_member(json_array_get(x, 2), "Member 3", 78.0, 33.0, 19.0, 26.0);
	assert_true(num(j, "mean") == 77.0);
	assert_string_equal(str(j, "mean_display"), "77.00");
	assert_true(num(json_object_get(j, "parts"), "A") > 32.666 &&
		    num(json_object_get(j, "parts"), "A") < 32.667);
	assert_true(num(json_object_get(j, "parts"), "B") == 19.0);
	assert_string_equal(str(json_object_get(j, "parts_display"), "A"), "32.66");
	assert_string_equal(str(json_object_get(j, "parts_display"), "C"), "25.33");
	assert_int_equal(json_integer_value(json_object_get(j, "band_star")), 4);
	assert_int_equal(json_integer_value(json_object_get(j, "minima_star")), 4);
	x = json_array_get(json_object_get(j, "minima_misses"), 0);
	assert_int_equal(json_integer_value(json_object_get(x, "level")), 5);
	assert_string_equal(str(x, "criterion"), "1.3");
	assert_int_equal(json_integer_value(json_object_get(j, "star")), 4);
	assert_true(num(j, "spread") == 5.0);
	assert_true(json_is_true(json_object_get(j, "spread_ok")));
	assert_true(json_is_false(json_object_get(j, "potential_5star")));
	assert_true(json_is_false(json_object_get(json_object_get(j, "knockout"), "applies")));
	json_decref(j);

	snprintf(args, sizeof(args), "dossier move %s --to scored", dossier);
	ocop_id(f, f->province, doc, args);

	/* ----- Recognition by UBND tỉnh (Đ7.3đ-e) ----- */
	snprintf(args, sizeof(args), "dossier move %s --to recognised", dossier);
	ocop_fails(f, f->province, 1, "decision", args); /* no decision yet */
	snprintf(args, sizeof(args), "decision add --dossier %s --kind recognition --star 2", dossier);
	ocop_fails(f, f->province, 1, "no recognition decision", args);
	snprintf(args, sizeof(args),
	    "decision add --dossier %s --kind recognition --evaluation %s --number '123/QĐ-UBND'"
	    " --issued 2026-07-15 --issuer 'UBND tỉnh'",
	    dossier, eval);
	ocop_id(f, f->province, decision, args);
	snprintf(args, sizeof(args), "dossier move %s --to recognised", dossier);
	ocop_id(f, f->province, doc, args);
	snprintf(args, sizeof(args), "dossier show %s --json", dossier);
	j = ocop_json(f, f->province, args);
	assert_string_equal(str(j, "status"), "recognised");
	json_decref(j);
	snprintf(args, sizeof(args), "decision list --dossier %s --json", dossier);
	j = ocop_json(f, f->province, args);
	assert_int_equal(json_array_size(j), 1);
	x = json_array_get(j, 0);
	assert_string_equal(str(x, "id"), decision);
	assert_int_equal(json_integer_value(json_object_get(x, "star")), 4);
	assert_string_equal(str(x, "expires_on"), "2029-07-15");
	assert_string_equal(str(x, "number"), "123/QĐ-UBND");
	json_decref(j);

	/* ----- The published tables ----- */
	j = ocop_json(f, f->province, "report --json --today 2029-03-01");
	r = report_row(j, "by_star", "star", "4");
	assert_int_equal(json_integer_value(json_object_get(r, "products")), 1);
	r = report_row(j, "by_star", "star", "total");
	assert_int_equal(json_integer_value(json_object_get(r, "products")), 1);
	r = report_row(j, "by_subject_type", "subject_type", "htx");
	assert_int_equal(json_integer_value(json_object_get(r, "star4")), 1);
	r = report_row(j, "by_product_group", "group", "I");
	assert_int_equal(json_integer_value(json_object_get(r, "star4")), 1);
	r = report_row(j, "by_unit", "unit_code", "83-28882");
	assert_int_equal(json_integer_value(json_object_get(r, "total")), 1);
	r = report_row(j, "by_round", "round", "2026/1");
	assert_int_equal(json_integer_value(json_object_get(r, "total")), 1);
	r = report_row(j, "by_evaluation_type", "evaluation_type", "first");
	assert_int_equal(json_integer_value(json_object_get(r, "star4")), 1);
	assert_int_equal(json_array_size(json_object_get(j, "candidates")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "expiring")), 1);
	r = json_array_get(json_object_get(j, "expiring"), 0);
	assert_string_equal(str(r, "product"), "Bưởi da xanh");
	assert_int_equal(json_integer_value(json_object_get(r, "days_left")), 136);
	assert_string_equal(str(r, "window_opens"), "2029-01-16");
	assert_string_equal(str(r, "window_closes"), "2029-03-17");
	assert_string_equal(str(r, "window"), "open");
	json_decref(j);

	snprintf(report_path, sizeof(report_path), "%s/report.csv", f->dir);
	snprintf(args, sizeof(args), "report --csv '%s' --today 2029-03-01", report_path);
	assert_int_equal(ocop(f, f->province, NULL, 0, "%s", args), 0);
	text = tu_slurp(report_path);
	assert_non_null(text);
	assert_memory_equal(text, "\xEF\xBB\xBF", 3);
	assert_non_null(strstr(text, "\"Bưởi da xanh\",\"HTX Kẹo dừa, Thành Thới\",\"83-28882\",4,"));
	assert_non_null(strstr(text, ",136,\"2029-01-16\",\"2029-03-17\",\"open\"\r\n"));
	for (i = 0; text[i] != 0; i++) {
		if (text[i] == '\n') {
			assert_true(i > 0 && text[i - 1] == '\r');
		}
	}
	com_free(text);
}

static void
test_every_council_command_has_help_and_refuses_bad_usage(void **state)
{
	static const char *const cmds[] = {"evaluation", "member", "sheet", "result", "decision",
	    "report"};
	fx *f = *state;
	char *out = NULL;
	char id[64];
	size_t i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		assert_int_equal(ocop(f, f->province, &out, 0, "%s --help", cmds[i]), 0);
		assert_non_null(strstr(out, "usage: ocop"));
		com_free(out);
	}
	assert_int_equal(ocop(f, f->province, &out, 0, "sheet import --help"), 0);
	assert_non_null(strstr(out, "member,criterion,points"));
	com_free(out);
	ocop_id(f, f->province, id, "init --role province --scope 83");
	ocop_fails(f, f->province, 2, "ocop evaluation list: unknown option --bogus",
	    "evaluation list --bogus");
	ocop_fails(f, f->province, 2, "ocop evaluation add: needs --dossier and --tier",
	    "evaluation add --tier province");
	ocop_fails(f, f->province, 2, "ocop result: no evaluation with id",
	    "result 01a203b5-0000-7000-8000-000000000000");
	ocop_fails(f, f->province, 2, "ocop sheet set: --points must be", "sheet set --member x --criterion 1.1 --points lots");
	ocop_fails(f, f->province, 2, "ocop report: --round must", "report --round 2026");
	ocop_fails(f, f->province, 2, "ocop decision add: the kind must be",
	    "decision add --dossier 01a203b5-0000-7000-8000-000000000000 --kind certificate");
	ocop_fails(f, f->province, 2, "ocop member add: no evaluation with id",
	    "member add --evaluation 01a203b5-0000-7000-8000-000000000000 --name 'Member 1'");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_a_full_round_from_commune_dossier_to_recognition_and_report, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_council_command_has_help_and_refuses_bad_usage,
		setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
