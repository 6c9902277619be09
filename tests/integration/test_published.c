/*
 * integration.published: a province's round reproduced end to end with real
 * processes (ocopd on 127.0.0.1 and `ocop` at each site), its earlier rounds
 * imported, and the published tables checked against what was written down
 * before the run.
 *
 * Vĩnh Long (86). Sites: Thành Thới (commune 86-28969), Mỏ Cày (commune
 * 86-28903), the provincial office (86). Round 2026/1, rubric qd26-2026/01
 * except P5 (set 13). The communes file the dossiers offline and send them up;
 * the office's council sits (three members each, sheets typed from paper);
 * decisions are issued on 2026-07-01. Sheets (the same for all three members
 * unless said; totals by hand, checked against `ocop score`):
 *
 *   dossier  subject (kind, commune)                product (set)            sheets            mean    star  decision
 *   D1       HTX Bưởi da xanh Thành Thới (htx, TT)  Bưởi da xanh (01)        74 / 79 / 78      77.00   4★    recognition 4★
 *   D2       HTX Bưởi da xanh Thành Thới (htx, TT)  Bưởi da xanh ruột hồng   LOW3 = 65         65.00   3★    recognition 3★
 *   D3       Cơ sở Dừa xiêm Mỏ Cày (ho, MC)         Dừa xiêm xanh (01)       LOW2 = 44         44.00   2★    none
 *   D4       Công ty TNHH Nông sản Mỏ Cày (dn, MC)  Chuối xiêm tươi (01)     LOW1 = 19         19.00   1★    none
 *   D5       Công ty TNHH Nông sản Mỏ Cày (dn, MC)  Cà phê rang xay (13)     every maximum     100.00  5★    approval (potential 5★)
 *
 *   LOW3 = BASE (74) with 1.1=1 1.2=0 1.7=0 3.3=1 4.3=0: 65, every *** and **** minimum met.
 *   LOW2 = LOW3 with 1.4=1 2.4=0 3.2=0 4.2=0 5.1=1 5.2=0 5.3=0 6.3=0 6.4=0 7=0 11=1: 44, level 3 not met.
 *   LOW1 = LOW2 with 1.3=1 1.5=0 2.1=0 2.2=0 2.3=1 3.1=1 3.5=1 4.1=1 6.1=0 6.2=0 8=0 10=1: 19.
 *
 * Earlier rounds, imported (codes as they were, under former Bến Tre 83 and Trà Vinh 84):
 *   H1 HTX Dừa sáp Cầu Kè (htx) Dừa sáp (01) 84-845-29308, QĐ 1048, 2022/2, 78.50, 4★, expired 2025-12-15
 *   H2 the same product re-evaluated, QĐ 148, 2025/1, 81.00, 4★, valid until 2028-06-20
 *   H3 Cơ sở Đan lục bình Giồng Trôm (ho) Giỏ lục bình (21) 83-834-29000, 2023/2, 63.25, 3★, until 2026-12-20
 *   H4 Tổ hợp tác Chằm nón Tân Thành Bình (tht) Nón lá (21) 83-838-28921, 2024/1, 46.50, 2★, no decision
 *
 * The report on 2026-07-15 (every round), written down beforehand:
 *   evaluated by star: 5★ 1 (D5), 4★ 3 (D1, H1, H2), 3★ 2 (D2, H3), 2★ 2 (D3, H4), 1★ 1 (D4); 9, 4 imported
 *   recognised (valid today, latest per product): 3★ 2 (D2, H3), 4★ 2 (D1, H2), 5★ 0; potential 5★ 1 (D5)
 *   subjects by kind (of the 4 recognised): htx 2 subjects / 3 products, ho 1 / 1, dn 0, tht 0; 3 / 4
 *   by former district: 83-834 Giồng Trôm 3★ 1; 84-845 Cầu Kè 4★ 1; 86 (no district) 3★ 1, 4★ 1
 *   by current province: 86 Vĩnh Long 3★ 2, 4★ 2
 *   by group: I Thực phẩm 3★ 1, 4★ 2; IV Thủ công mỹ nghệ 3★ 1
 * With --round 2026/1: recognised 3★ 1, 4★ 1; evaluated 1★ to 5★ one each, none imported.
 */
#include "tests/lib/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/ocop/rubric.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "tests/lib/enrol.h"
#include "tests/lib/proc.h"
#include "tests/lib/zipread.h"

enum { TT, MC, OFFICE, NSITES };

typedef struct fx {
	char *dir;        /* temp dir, owned */
	char ocop[512];   /* ocop binary */
	char ocopd[512];  /* ocopd binary */
	char data[512];   /* data dir */
	char url[64];     /* server URL */
	pid_t server;     /* ocopd pid */
} fx;

static const char *const site_name[NSITES] = {"tt", "mc", "office"};
static const char *const site_role[NSITES] = {"commune", "commune", "province"};
static const char *const site_scope[NSITES] = {"86-28969", "86-28903", "86"};

/* ===== Running the programs ===== */

static int ocop(fx *f, int site, char **out, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Run ocop at a site in the fixture's directory; stdout and stderr into *out (may be NULL). */
static int
ocop(fx *f, int site, char **out, const char *fmt, ...)
{
	char args[4096];
	char *o = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = tu_run(&o, 1, "cd '%s' && OCOP_DATA_DIR='%s' OCOP_USER=clerk '%s' --db %s.db %s", f->dir, f->data,
	    f->ocop, site_name[site], args);
	if (out != NULL) {
		*out = o;
	} else {
		if (rc != 0) {
			print_error("ocop %s at %s exited %d: %s\n", args, site_name[site], rc, o);
		}
		com_free(o);
	}
	return rc;
}

static void ok(fx *f, int site, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Run and assert success. */
static void
ok(fx *f, int site, const char *fmt, ...)
{
	char args[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	assert_int_equal(ocop(f, site, NULL, "%s", args), 0);
}

static void id_of(fx *f, int site, char id[40], const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Run, assert success, and keep the first line (a new row's id). */
static void
id_of(fx *f, int site, char id[40], const char *fmt, ...)
{
	char args[4096];
	char *o = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = ocop(f, site, &o, "%s", args);
	if (rc != 0) {
		print_error("ocop %s: %s\n", args, o);
	}
	assert_int_equal(rc, 0);
	snprintf(id, 40, "%.36s", o);
	com_free(o);
}

static json_t *json_of(fx *f, int site, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static json_t *
json_of(fx *f, int site, const char *fmt, ...)
{
	char args[4096];
	char *o = NULL;
	json_error_t e;
	json_t *j;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	assert_int_equal(tu_run(&o, 0, "cd '%s' && OCOP_DATA_DIR='%s' '%s' --db %s.db %s", f->dir, f->data, f->ocop,
			     site_name[site], args),
	    0);
	j = json_loads(o, 0, &e);
	if (j == NULL) {
		print_error("not JSON from ocop %s: %s\n", args, o);
	}
	assert_non_null(j);
	com_free(o);
	return j;
}

/* Sync a site; the server must refuse nothing. */
static void
sync_site(fx *f, int site)
{
	char *o = NULL;

	assert_int_equal(ocop(f, site, &o, "sync"), 0);
	if (strstr(o, "(rejected 0)") == NULL) {
		fail_msg("sync at %s refused something: %s", site_name[site], o);
	}
	com_free(o);
}

static void
write_file(fx *f, const char *name, const char *text, size_t len)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	fclose(fp);
}

/* ===== The sheets ===== */

typedef struct pick {
	const char *code;   /* criterion */
	const char *points; /* as typed */
} pick;

static const pick BASE[] = {
    {"1.1", "3"}, {"1.2", "1"}, {"1.3", "2"}, {"1.4", "2"}, {"1.5", "2"}, {"1.6", "1"}, {"1.7", "1"},
    {"2.1", "3"}, {"2.2", "2"}, {"2.3", "3"}, {"2.4", "1"}, {"3.1", "3"}, {"3.2", "1"}, {"3.3", "3"},
    {"3.4", "2"}, {"3.5", "2"}, {"4.1", "3"}, {"4.2", "2"}, {"4.3", "3"}, {"5.1", "5"}, {"5.2", "2"},
    {"5.3", "3"}, {"6.1", "2"}, {"6.2", "3"}, {"6.3", "3"}, {"6.4", "2"}, {"7", "1"}, {"8", "3"},
    {"9", "4"}, {"10", "3"}, {"11", "2"}, {"12", "1"},
};
#define NBASE (sizeof(BASE) / sizeof(BASE[0]))

static const pick M2[] = {{"1.2", "2"}, {"4.3", "5"}, {"7", "3"}, {NULL, NULL}};
static const pick M3[] = {{"1.4", "3"}, {"4.2", "3"}, {"6.4", "3"}, {"12", "2"}, {NULL, NULL}};
static const pick L3[] = {{"1.1", "1"}, {"1.2", "0"}, {"1.7", "0"}, {"3.3", "1"}, {"4.3", "0"}, {NULL, NULL}};
static const pick L2[] = {{"1.4", "1"}, {"2.4", "0"}, {"3.2", "0"}, {"4.2", "0"}, {"5.1", "1"}, {"5.2", "0"},
    {"5.3", "0"}, {"6.3", "0"}, {"6.4", "0"}, {"7", "0"}, {"11", "1"}, {NULL, NULL}};
static const pick L1[] = {{"1.3", "1"}, {"1.5", "0"}, {"2.1", "0"}, {"2.2", "0"}, {"2.3", "1"}, {"3.1", "1"},
    {"3.5", "1"}, {"4.1", "1"}, {"6.1", "0"}, {"6.2", "0"}, {"8", "0"}, {"10", "1"}, {NULL, NULL}};

static const char *const MEMBERS[3] = {"Chủ tịch hội đồng", "Thành viên 2", "Thành viên 3"};

/* The points of code on a sheet: the first override list that names it, else BASE. */
static const char *
points_of(const pick *const *overs, const char *code)
{
	size_t i;
	size_t k;

	for (k = 0; overs[k] != NULL; k++) {
		for (i = 0; overs[k][i].code != NULL; i++) {
			if (strcmp(overs[k][i].code, code) == 0) {
				return overs[k][i].points;
			}
		}
	}
	for (i = 0; i < NBASE; i++) {
		if (strcmp(BASE[i].code, code) == 0) {
			return BASE[i].points;
		}
	}
	return "?";
}

/* A sheets file for rubric 01: member m gets BASE with overs[m] (a NULL-ended list of lists). */
static void
write_sheets(fx *f, const char *name, const pick *const *const overs[3])
{
	com_buf b;
	size_t m;
	size_t i;

	com_buf_init(&b);
	com_buf_puts(&b, "\xEF\xBB\xBFmember,criterion,points\r\n");
	for (m = 0; m < 3; m++) {
		for (i = 0; i < NBASE; i++) {
			com_buf_printf(&b, "%s,%s,%s\r\n", MEMBERS[m], BASE[i].code, points_of(overs[m], BASE[i].code));
		}
	}
	write_file(f, name, (const char *)b.data, b.len);
	com_buf_fini(&b);
}

/* Every member picks every criterion's best option of a rubric. */
static void
write_best_sheets(fx *f, const char *name, const char *rubric_id)
{
	ocp_rubric *r = NULL;
	char err[512];
	com_buf b;
	size_t m;
	size_t i;

	assert_ok(ocp_rubric_load_id(&r, f->data, rubric_id, err, sizeof(err)));
	com_buf_init(&b);
	com_buf_puts(&b, "member,criterion,points\n");
	for (m = 0; m < 3; m++) {
		for (i = 0; i < ocp_rubric_criterion_count(r); i++) {
			const ocp_criterion *c = ocp_rubric_criterion(r, i);
			char pts[32];

			ocp_points_format(pts, sizeof(pts), c->max);
			com_buf_printf(&b, "%s,%s,%s\n", MEMBERS[m], c->code, pts);
		}
	}
	write_file(f, name, (const char *)b.data, b.len);
	com_buf_fini(&b);
	ocp_rubric_free(r);
}

/* ===== Fixture: the server and three sites ===== */

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	int port = tp_free_port();
	char log[600];
	char db[600];
	int i;

	f->dir = tu_mkdtemp();
	tu_bin(f->ocop, sizeof(f->ocop), "ocop");
	tu_bin(f->ocopd, sizeof(f->ocopd), "ocopd");
	tu_src(f->data, sizeof(f->data), "data");
	snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", port);
	setenv("OCOP_DATA_DIR", f->data, 1);
	if (tu_run(NULL, 1, "'%s' init --db '%s/province.db' --role province --scope 86 >/dev/null", f->ocopd,
		f->dir) != 0) {
		return -1;
	}
	for (i = 0; i < NSITES; i++) {
		/* Registered and enrolled as an operator does (tests/lib/enrol.h). */
		char pdb[600];
		char sdb[600];
		char id[37];
		te_site ts;

		snprintf(pdb, sizeof(pdb), "%s/province.db", f->dir);
		snprintf(sdb, sizeof(sdb), "%s/%s.db", f->dir, site_name[i]);
		memset(&ts, 0, sizeof(ts));
		ts.dir = f->dir;
		ts.server_db = pdb;
		ts.site_db = sdb;
		ts.role = site_role[i];
		ts.scope = site_scope[i];
		ts.name = site_name[i];
		ts.url = f->url;
		if (te_site_add(&ts, id, NULL, 0, NULL) != 0) {
			return -1;
		}
	}
	snprintf(log, sizeof(log), "%s/ocopd.log", f->dir);
	snprintf(db, sizeof(db), "%s/province.db", f->dir);
	{
		char *argv[] = {f->ocopd, (char *)"serve", (char *)"--db", db, (char *)"--listen", f->url, NULL};

		f->server = tp_spawn(argv, log);
	}
	if (f->server < 0 || tp_wait_port(port, 5000) != 0) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	assert_int_equal(tp_stop(f->server, SIGTERM), 0);
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

/* ===== The round ===== */

/* A dossier filed offline at a commune and sent up: subject given, product made here. */
static void
file_dossier(fx *f, int site, const char *subject, const char *product_name, const char *set, char dossier[40])
{
	char product[40];
	char doc[40];

	id_of(f, site, product, "product add --subject %s --name '%s' --set %s", subject, product_name, set);
	id_of(f, site, dossier, "dossier add --product %s --year 2026 --round 1", product);
	id_of(f, site, doc, "document add --dossier %s --kind mau01 --title 'Phiếu đăng ký (Mẫu 01)'", dossier);
	id_of(f, site, doc, "document add --dossier %s --kind commune_report --title 'Báo cáo đánh giá (Mẫu 03)'",
	    dossier);
	ok(f, site, "dossier move %s --to commune_check", dossier);
	ok(f, site, "dossier move %s --to province_review", dossier);
}

/* The office's council sits on a dossier with a sheets file; returns the evaluation id. */
static void
council(fx *f, const char *dossier, const char *sheets, const char *want_star, char eval[40])
{
	char member[40];
	char *o = NULL;
	size_t m;

	ok(f, OFFICE, "dossier move %s --to council_review", dossier);
	id_of(f, OFFICE, eval, "evaluation add --dossier %s --tier province --held 2026-06-10", dossier);
	for (m = 0; m < 3; m++) {
		id_of(f, OFFICE, member, "member add --evaluation %s --name '%s'%s", eval, MEMBERS[m],
		    m == 0 ? " --role chair" : "");
	}
	ok(f, OFFICE, "sheet import --evaluation %s --csv %s", eval, sheets);
	assert_int_equal(ocop(f, OFFICE, &o, "result %s", eval), 0);
	if (strstr(o, want_star) == NULL) {
		fail_msg("evaluation of %s: want \"%s\" in %s", dossier, want_star, o);
	}
	com_free(o);
	ok(f, OFFICE, "dossier move %s --to scored", dossier);
}

static const char history[] =
    "subject,subject_kind,product,product_set,product_code,unit_code,basis,round_year,round_no,eval_type,"
    "mean,star,decision_no,issued_on,expires_on,issuer\n"
    "HTX Dừa sáp Cầu Kè,htx,Dừa sáp,01,84-845-29308-1-2022,84-845-29308,qd1048-2019,2022,2,first,78.50,4,"
    "2215/QĐ-UBND,2022-12-15,2025-12-15,UBND tỉnh Trà Vinh\n"
    "HTX Dừa sáp Cầu Kè,htx,Dừa sáp,01,84-845-29308-1-2022,84-845-29308,qd148-2023,2025,1,reeval,81.00,4,"
    "1105/QĐ-UBND,2025-06-20,2028-06-20,UBND tỉnh Trà Vinh\n"
    "Cơ sở Đan lục bình Giồng Trôm,ho,Giỏ lục bình,21,,83-834-29000,qd148-2023,2023,2,first,63.25,3,"
    "3120/QĐ-UBND,2023-12-20,2026-12-20,UBND huyện Giồng Trôm\n"
    "Tổ hợp tác Chằm nón Tân Thành Bình,tht,Nón lá,21,,83-838-28921,qd148-2023,2024,1,first,46.50,2,,,,\n";

/* A report row: the row of table whose first column is key. */
static json_t *
row_of(json_t *rep, const char *table, const char *col, const char *key)
{
	json_t *rows = json_object_get(rep, table);
	size_t i;

	for (i = 0; i < json_array_size(rows); i++) {
		json_t *r = json_array_get(rows, i);

		if (json_is_string(json_object_get(r, col)) && strcmp(json_string_value(json_object_get(r, col)), key) == 0) {
			return r;
		}
	}
	fail_msg("no row %s = %s in %s", col, key, table);
	return NULL;
}

static json_int_t
n_of(json_t *rep, const char *table, const char *col, const char *key, const char *what)
{
	return json_integer_value(json_object_get(row_of(rep, table, col, key), what));
}

/* A counting table holds exactly these non-zero rows: key, star3, star4, star5. */
static void
expect_counts(json_t *rep, const char *table, const char *col, const char *const (*want)[4], size_t n)
{
	json_t *rows = json_object_get(rep, table);
	size_t nonzero = 0;
	size_t i;

	for (i = 0; i < json_array_size(rows); i++) {
		nonzero += json_integer_value(json_object_get(json_array_get(rows, i), "total")) != 0;
	}
	assert_int_equal(nonzero, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(n_of(rep, table, col, want[i][0], "star3"), atoi(want[i][1]));
		assert_int_equal(n_of(rep, table, col, want[i][0], "star4"), atoi(want[i][2]));
		assert_int_equal(n_of(rep, table, col, want[i][0], "star5"), atoi(want[i][3]));
	}
}

static void
test_a_round_and_its_history_report_as_written_down(void **state)
{
	static const pick *const none[] = {NULL};
	static const pick *const m2[] = {M2, NULL};
	static const pick *const m3[] = {M3, NULL};
	static const pick *const low3[] = {L3, NULL};
	static const pick *const low2[] = {L2, L3, NULL};
	static const pick *const low1[] = {L1, L2, L3, NULL};
	static const pick *const *const s4[3] = {none, m2, m3};
	static const pick *const *const s3[3] = {low3, low3, low3};
	static const pick *const *const s2[3] = {low2, low2, low2};
	static const pick *const *const s1[3] = {low1, low1, low1};
	static const char *const by_district[][4] = {{"83-834", "1", "0", "0"}, {"84-845", "0", "1", "0"},
	    {"86", "1", "1", "0"}};
	static const char *const by_province[][4] = {{"86", "2", "2", "0"}};
	static const char *const by_group[][4] = {{"I", "1", "2", "0"}, {"IV", "1", "0", "0"}};
	static const char *const stars[][2] = {{"5", "1"}, {"4", "3"}, {"3", "2"}, {"2", "2"}, {"1", "1"},
	    {"0", "0"}, {"total", "9"}};
	fx *f = *state;
	char s1id[40], s2id[40], s3id[40];
	char d[6][40];
	char e[6][40];
	char dec[40];
	char path[700];
	char *o = NULL;
	char *xml;
	json_t *rep;
	size_t len = 0;
	size_t i;

	write_sheets(f, "s4.csv", s4);
	write_sheets(f, "s3.csv", s3);
	write_sheets(f, "s2.csv", s2);
	write_sheets(f, "s1.csv", s1);
	write_best_sheets(f, "s5.csv", "qd26-2026/13");
	write_file(f, "history.csv", history, strlen(history));

	/* ----- The communes file their dossiers offline and send them up ----- */
	id_of(f, TT, s1id, "subject add --name 'HTX Bưởi da xanh Thành Thới' --kind htx --unit 86-28969");
	file_dossier(f, TT, s1id, "Bưởi da xanh", "01", d[1]);
	file_dossier(f, TT, s1id, "Bưởi da xanh ruột hồng", "01", d[2]);
	id_of(f, MC, s2id, "subject add --name 'Cơ sở Dừa xiêm Mỏ Cày' --kind ho --unit 86-28903");
	id_of(f, MC, s3id, "subject add --name 'Công ty TNHH Nông sản Mỏ Cày' --kind dn --unit 86-28903");
	file_dossier(f, MC, s2id, "Dừa xiêm xanh", "01", d[3]);
	file_dossier(f, MC, s3id, "Chuối xiêm tươi", "01", d[4]);
	file_dossier(f, MC, s3id, "Cà phê rang xay", "13", d[5]);
	sync_site(f, TT);
	sync_site(f, MC);
	sync_site(f, OFFICE);

	/* ----- The provincial council sits ----- */
	ok(f, OFFICE, "dossier move %s --to council_review", d[1]);
	id_of(f, OFFICE, e[1], "evaluation add --dossier %s --tier province --held 2026-06-10", d[1]);
	/* A sheet a spreadsheet saved in Windows-1258 is refused, with what to do, and writes nothing. */
	{
		static const char cp1258[] = "member,criterion,points\r\nCh\xf9 t\xe7" "ch h\xf4i \xf0\xf2" "ng,1.1,3\r\n";

		write_file(f, "cp1258.csv", cp1258, strlen(cp1258));
	}
	assert_int_equal(ocop(f, OFFICE, &o, "sheet import --evaluation %s --csv cp1258.csv", e[1]), 2);
	assert_non_null(strstr(o, "cp1258.csv:2: not valid UTF-8 text"));
	assert_non_null(strstr(o, "save the file again as \"CSV UTF-8 (Comma delimited)\""));
	com_free(o);
	for (i = 0; i < 3; i++) {
		char member[40];

		id_of(f, OFFICE, member, "member add --evaluation %s --name '%s'%s", e[1], MEMBERS[i],
		    i == 0 ? " --role chair" : "");
	}
	ok(f, OFFICE, "sheet import --evaluation %s --csv s4.csv", e[1]);
	assert_int_equal(ocop(f, OFFICE, &o, "result %s", e[1]), 0);
	assert_non_null(strstr(o, "Star: 4★"));
	com_free(o);
	ok(f, OFFICE, "dossier move %s --to scored", d[1]);
	council(f, d[2], "s3.csv", "Star: 3★", e[2]);
	council(f, d[3], "s2.csv", "Star: 2★", e[3]);
	council(f, d[4], "s1.csv", "Star: 1★", e[4]);
	council(f, d[5], "s5.csv", "Star: 5★", e[5]);

	/* ----- Decisions, issued 2026-07-01 in Vĩnh Long's name ----- */
	id_of(f, OFFICE, dec,
	    "decision add --dossier %s --kind recognition --evaluation %s --number 1501/QĐ-UBND --issued 2026-07-01"
	    " --issuer 'UBND tỉnh Vĩnh Long'",
	    d[1], e[1]);
	ok(f, OFFICE, "dossier move %s --to recognised", d[1]);
	id_of(f, OFFICE, dec,
	    "decision add --dossier %s --kind recognition --evaluation %s --number 1502/QĐ-UBND --issued 2026-07-01"
	    " --issuer 'UBND tỉnh Vĩnh Long'",
	    d[2], e[2]);
	ok(f, OFFICE, "dossier move %s --to recognised", d[2]);
	/* 1★ and 2★ get no decision (QĐ 26/2026 Đ4.1a). */
	assert_int_not_equal(ocop(f, OFFICE, &o,
				 "decision add --dossier %s --kind recognition --evaluation %s --issued 2026-07-01", d[3], e[3]),
	    0);
	com_free(o);
	id_of(f, OFFICE, dec,
	    "decision add --dossier %s --kind approval --evaluation %s --number 1503/QĐ-UBND --issued 2026-07-01"
	    " --issuer 'UBND tỉnh Vĩnh Long'",
	    d[5], e[5]);
	ok(f, OFFICE, "dossier move %s --to potential_5star", d[5]);

	/* ----- Units and earlier rounds ----- */
	/* A bad units file is refused whole, naming the line; nothing of it is written. */
	write_file(f, "bad-units.csv",
	    "code,name,level,parent_code,valid_from,valid_to,successor_code\n"
	    "83-833,Huyện Mỏ Cày Nam,district,83,,2025-06-30,\n"
	    "83-28966,Xã Thành Thới B,commune,83-833,,2025-06-30,86-99999\n",
	    strlen("code,name,level,parent_code,valid_from,valid_to,successor_code\n"
		   "83-833,Huyện Mỏ Cày Nam,district,83,,2025-06-30,\n"
		   "83-28966,Xã Thành Thới B,commune,83-833,,2025-06-30,86-99999\n"));
	assert_int_equal(ocop(f, OFFICE, &o, "unit import bad-units.csv"), 2);
	assert_non_null(strstr(o, "ocop unit import: bad-units.csv:3: successor_code 86-99999 of unit 83-28966"));
	assert_non_null(strstr(o, "nothing was imported"));
	com_free(o);
	rep = json_of(f, OFFICE, "unit list --under 83 --json");
	assert_int_equal(json_array_size(rep), 1); /* the shipped former province only */
	json_decref(rep);
	snprintf(path, sizeof(path), "%s/units/import/86-vinh-long.csv", f->data);
	assert_int_equal(ocop(f, OFFICE, &o, "unit import '%s'", path), 0);
	assert_non_null(strstr(o, "imported 150 units"));
	com_free(o);
	assert_int_equal(ocop(f, OFFICE, &o, "history import history.csv"), 0);
	assert_non_null(strstr(o, "imported 4 results"));
	com_free(o);
	sync_site(f, OFFICE);
	sync_site(f, TT);
	sync_site(f, MC);
	sync_site(f, OFFICE);

	/* The communes see the decisions on their dossiers. */
	rep = json_of(f, TT, "dossier show %s --json", d[1]);
	assert_string_equal(json_string_value(json_object_get(rep, "status")), "recognised");
	json_decref(rep);

	/* ----- The published tables, as written down above ----- */
	rep = json_of(f, OFFICE, "report --json --today 2026-07-15 --level district");
	for (i = 0; i < sizeof(stars) / sizeof(stars[0]); i++) {
		assert_int_equal(n_of(rep, "evaluated_by_star", "star", stars[i][0], "products"), atoi(stars[i][1]));
	}
	assert_int_equal(n_of(rep, "evaluated_by_star", "star", "total", "imported"), 4);
	assert_int_equal(n_of(rep, "by_star", "star", "3", "products"), 2);
	assert_int_equal(n_of(rep, "by_star", "star", "4", "products"), 2);
	assert_int_equal(n_of(rep, "by_star", "star", "5", "products"), 0);
	assert_int_equal(n_of(rep, "by_star", "star", "potential_5star", "products"), 1);
	assert_int_equal(n_of(rep, "subjects_by_type", "subject_type", "htx", "subjects"), 2);
	assert_int_equal(n_of(rep, "subjects_by_type", "subject_type", "htx", "products"), 3);
	assert_int_equal(n_of(rep, "subjects_by_type", "subject_type", "ho", "subjects"), 1);
	assert_int_equal(n_of(rep, "subjects_by_type", "subject_type", "dn", "subjects"), 0);
	assert_int_equal(n_of(rep, "subjects_by_type", "subject_type", "tht", "subjects"), 0);
	assert_int_equal(n_of(rep, "subjects_by_type", "subject_type", "total", "subjects"), 3);
	assert_int_equal(n_of(rep, "subjects_by_type", "subject_type", "total", "products"), 4);
	expect_counts(rep, "by_unit", "unit_code", by_district, 3);
	assert_string_equal(json_string_value(json_object_get(row_of(rep, "by_unit", "unit_code", "84-845"), "unit_name")),
	    "Huyện Cầu Kè");
	assert_string_equal(json_string_value(json_object_get(json_object_get(rep, "unit_view"), "level")), "district");
	expect_counts(rep, "by_product_group", "group", by_group, 2);
	assert_int_equal(json_array_size(json_object_get(rep, "candidates")), 1);
	assert_true(json_is_true(json_object_get(row_of(rep, "candidates", "dossier_id", d[5]), "approved")));
	assert_int_equal(json_array_size(json_object_get(rep, "recognised")), 4);
	assert_true(json_is_true(json_object_get(row_of(rep, "recognised", "product", "Giỏ lục bình"), "imported")));
	assert_string_equal(
	    json_string_value(json_object_get(row_of(rep, "recognised", "product", "Giỏ lục bình"), "province_now")), "86");
	assert_non_null(strstr(json_string_value(json_object_get(json_array_get(json_object_get(rep, "summary"), 0), "text")),
	    "Tỉnh Vĩnh Long có 4 sản phẩm OCOP của 3 chủ thể (2 hợp tác xã và 1 hộ sản xuất, kinh doanh), trong đó 2 sản "
	    "phẩm 3 sao, 2 sản phẩm 4 sao (theo huyện cũ: Huyện Giồng Trôm 01 sản phẩm; Huyện Cầu Kè 01 sản phẩm;"));
	json_decref(rep);

	rep = json_of(f, OFFICE, "report --json --today 2026-07-15 --level province --current --table by_unit");
	expect_counts(rep, "by_unit", "unit_code", by_province, 1);
	assert_null(json_object_get(rep, "recognised")); /* only the table asked for */
	json_decref(rep);

	rep = json_of(f, OFFICE, "report --json --today 2026-07-15 --round 2026/1");
	assert_int_equal(n_of(rep, "by_star", "star", "3", "products"), 1);
	assert_int_equal(n_of(rep, "by_star", "star", "4", "products"), 1);
	for (i = 1; i <= 5; i++) {
		char k[4];

		snprintf(k, sizeof(k), "%zu", i);
		assert_int_equal(n_of(rep, "evaluated_by_star", "star", k, "products"), 1);
	}
	assert_int_equal(n_of(rep, "evaluated_by_star", "star", "total", "imported"), 0);
	json_decref(rep);

	/* The workbook: one sheet per table, the list of recognised products in it. */
	assert_int_equal(ocop(f, OFFICE, &o, "report --today 2026-07-15 --xlsx published.xlsx"), 0);
	com_free(o);
	snprintf(path, sizeof(path), "%s/published.xlsx", f->dir);
	xml = tu_zip_member(path, "xl/workbook.xml", &len);
	assert_non_null(xml);
	assert_non_null(strstr(xml, "<sheet name=\"evaluated_by_star\""));
	assert_non_null(strstr(xml, "<sheet name=\"recognised\""));
	com_free(xml);
	xml = tu_zip_member(path, "xl/sharedStrings.xml", &len);
	assert_non_null(xml);
	assert_non_null(strstr(xml, "Bưởi da xanh ruột hồng"));
	assert_non_null(strstr(xml, "1502/QĐ-UBND"));
	com_free(xml);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_round_and_its_history_report_as_written_down, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
