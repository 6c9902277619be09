/*
 * integration.authority: the server is the authority, with real `ocopd` and
 * `ocop` processes on loopback (issue #9's six findings, each reproduced).
 *
 * Sites: two communes (a: 83-100, b: 83-200), the provincial office (o) and
 * two council members (m1, m2). A tampered laptop is played by
 * `ocop-rawwrite --raw`, which appends hand-made changes to a site's log that
 * the next `ocop sync` pushes; what the server decides of them is what is
 * tested, and that every honest replica keeps the server's state. Rows a test
 * needs in a state that would take a whole round to reach are written on the
 * server's own database (the province's own writes).
 */
#include "tests/lib/testutil.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/link/dial.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "protocol/envelope.h"
#include "protocol/session.h"
#include "tests/lib/enrol.h"
#include "tests/lib/proc.h"

#define NSITES 5

typedef struct site {
	const char *name;  /* file stem */
	const char *role;  /* role */
	const char *scope; /* scope */
	char id[64];       /* site id from ocopd site add */
	char cred[128];    /* its credential */
} site;

typedef struct fx {
	char *dir;            /* temp dir, owned */
	char ocop[512];       /* ocop binary */
	char ocopd[512];      /* ocopd binary */
	char raw[512];        /* ocop-rawwrite binary */
	char data[512];       /* data dir */
	char url[64];         /* server URL */
	pid_t server;         /* ocopd pid */
	site s[NSITES];       /* a, b, o, m1, m2 */
} fx;

static site *
site_of(fx *f, const char *name)
{
	int i;

	for (i = 0; i < NSITES; i++) {
		if (strcmp(f->s[i].name, name) == 0) {
			return &f->s[i];
		}
	}
	fail_msg("no site %s", name);
	return NULL;
}

/* Run ocop on a site; returns its exit code, output in *out when out is not NULL. */
static int
ocop(fx *f, const char *db, char **out, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
ocop(fx *f, const char *db, char **out, const char *fmt, ...)
{
	char args[2048];
	char *o = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = tu_run(&o, 1, "cd %s && OCOP_DB=%s/%s.db OCOP_DATA_DIR=%s %s %s", f->dir, f->dir, db, f->data, f->ocop,
	    args);
	if (out != NULL) {
		*out = o;
	} else {
		com_free(o);
	}
	return rc;
}

/* ocop that must succeed; its first line (an id) into id when id is not NULL. */
static void
ok(fx *f, const char *db, char *id, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
ok(fx *f, const char *db, char *id, const char *fmt, ...)
{
	char args[2048];
	char *o = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = ocop(f, db, &o, "%s", args);
	if (rc != 0) {
		print_error("ocop %s (%s) exited %d: %s\n", args, db, rc, o);
	}
	assert_int_equal(rc, 0);
	if (id != NULL) {
		snprintf(id, 37, "%.36s", o);
	}
	com_free(o);
}

static json_t *
ocop_json(fx *f, const char *db, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static json_t *
ocop_json(fx *f, const char *db, const char *fmt, ...)
{
	char args[2048];
	char *o = NULL;
	json_error_t e;
	va_list ap;
	json_t *j;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	assert_int_equal(ocop(f, db, &o, "%s", args), 0);
	j = json_loads(o, 0, &e);
	if (j == NULL) {
		print_error("not JSON from ocop %s: %s\n", args, o);
	}
	assert_non_null(j);
	com_free(o);
	return j;
}

/* The tampered laptop: append a hand-made change to site db's log. */
static void
tamper(fx *f, const char *db, const char *tbl, const char *row, const char *cells)
{
	char *o = NULL;
	int rc = tu_run(&o, 1, "%s --raw %s/%s.db %s %s %s", f->raw, f->dir, db, tbl, row, cells);

	if (rc != 0) {
		print_error("ocop-rawwrite --raw %s %s %s %s: %s\n", db, tbl, row, cells, o);
	}
	com_free(o);
	assert_int_equal(rc, 0);
}

static void
sync_all(fx *f)
{
	int i;

	for (i = 0; i < NSITES; i++) {
		ok(f, f->s[i].name, NULL, "sync");
	}
}

static const char *
jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "";
}

/* A value of one row on a site, as text ("" for NULL), or NULL when the row is absent. */
static char *
value_at(fx *f, const char *db, const char *tbl, const char *row, const char *col)
{
	char *o = NULL;
	int rc = tu_run(&o, 0, "sqlite3 %s/%s.db \"SELECT COALESCE(%s, '') FROM %s WHERE id = '%s'\"", f->dir, db, col, tbl,
	    row);

	assert_int_equal(rc, 0);
	if (o[0] == 0) {
		com_free(o);
		return NULL;
	}
	o[strcspn(o, "\n")] = 0;
	return o;
}

static void
assert_value(fx *f, const char *db, const char *tbl, const char *row, const char *col, const char *want)
{
	char *v = value_at(f, db, tbl, row, col);

	if (v == NULL || strcmp(v, want) != 0) {
		print_error("%s: %s.%s of %s is '%s', expected '%s'\n", db, tbl, col, row, v ? v : "(no row)", want);
	}
	assert_non_null(v);
	assert_string_equal(v, want);
	com_free(v);
}

/* Refusals of a site's own changes in its ledger with this rule. */
static int
refusals(fx *f, const char *db, const char *rule)
{
	char *o = NULL;
	int n;

	assert_int_equal(tu_run(&o, 0,
			     "sqlite3 %s/%s.db \"SELECT COUNT(*) FROM ledger WHERE refused = 1 AND rule = '%s'\"", f->dir,
			     db, rule),
	    0);
	n = atoi(o);
	com_free(o);
	return n;
}

/* Write on the server's own database, as the province's own writes: the setup shortcuts. */
static sto_db *
server_open(fx *f)
{
	char path[600];
	sto_opts o;
	sto_db *db = NULL;

	memset(&o, 0, sizeof(o));
	o.user = "setup";
	snprintf(path, sizeof(path), "%s/prov.db", f->dir);
	assert_ok(sto_open(&db, path, &o));
	return db;
}

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	static const char *const names[NSITES] = {"a", "b", "o", "m1", "m2"};
	static const char *const roles[NSITES] = {"commune", "commune", "province", "member", "member"};
	static const char *const scopes[NSITES] = {"83-100", "83-200", "83", "83", "83"};
	char log[600];
	char db[600];
	int port = tp_free_port();
	int i;

	f->dir = tu_mkdtemp();
	tu_bin(f->ocop, sizeof(f->ocop), "ocop");
	tu_bin(f->ocopd, sizeof(f->ocopd), "ocopd");
	tu_bin(f->raw, sizeof(f->raw), "ocop-rawwrite");
	tu_src(f->data, sizeof(f->data), "data");
	snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", port);
	if (tu_run(NULL, 1, "%s init --db %s/prov.db --role province --scope 83 >/dev/null", f->ocopd, f->dir) != 0) {
		return -1;
	}
	for (i = 0; i < NSITES; i++) {
		site *s = &f->s[i];
		char pdb[600];
		char sdb[600];
		te_site ts;
		s->name = names[i];
		s->role = roles[i];
		s->scope = scopes[i];
		snprintf(pdb, sizeof(pdb), "%s/prov.db", f->dir);
		snprintf(sdb, sizeof(sdb), "%s/%s.db", f->dir, s->name);
		memset(&ts, 0, sizeof(ts));
		ts.dir = f->dir;
		ts.server_db = pdb;
		ts.site_db = sdb;
		ts.role = s->role;
		ts.scope = s->scope;
		ts.name = s->name;
		ts.url = f->url;
		if (te_site_add(&ts, s->id, s->cred, sizeof(s->cred), NULL) != 0) {
			return -1;
		}
	}
	snprintf(log, sizeof(log), "%s/ocopd.log", f->dir);
	snprintf(db, sizeof(db), "%s/prov.db", f->dir);
	{
		char *argv[] = {f->ocopd, "serve", "--db", db, "--listen", f->url, NULL};
		setenv("OCOP_DATA_DIR", f->data, 1);
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

/* A subject, product and dossier of commune `db` (unit `unit`), synced. */
static void
make_tree(fx *f, const char *db, const char *unit, char subject[37], char product[37], char dossier[37])
{
	ok(f, db, subject, "subject add --name 'HTX Kẹo dừa %s' --kind htx --unit %s", unit, unit);
	ok(f, db, product, "product add --subject %s --name 'Kẹo dừa sáp %s' --set 07", subject, unit);
	ok(f, db, dossier, "dossier add --product %s --year 2026 --round 1", product);
	ok(f, db, NULL, "sync");
}

/* ===== 1. Scope is checked on every PUSH and every imported bundle ===== */

static void
test_a_commune_cannot_write_another_communes_rows(void **state)
{
	fx *f = *state;
	char bs[37], bp[37], bd[37];
	char *o = NULL;
	json_t *j;

	make_tree(f, "b", "83-200", bs, bp, bd);
	tamper(f, "a", "subject", bs, "name=Hacked");
	tamper(f, "a", "product", bp, "deleted:=1");
	tamper(f, "a", "dossier", bd, "product_code=X-1 unit_code=83-100");
	assert_int_equal(ocop(f, "a", &o, "sync"), 0);
	assert_non_null(strstr(o, "refused by the server"));
	com_free(o);
	assert_int_equal(refusals(f, "a", "scope"), 3);
	sync_all(f);
	assert_value(f, "b", "subject", bs, "name", "HTX Kẹo dừa 83-200");
	assert_value(f, "o", "subject", bs, "name", "HTX Kẹo dừa 83-200");
	assert_value(f, "b", "product", bp, "deleted", "0");
	assert_value(f, "b", "dossier", bd, "unit_code", "83-200");
	assert_value(f, "prov", "dossier", bd, "product_code", "");
	/* Refusing a's writes told a nothing of b's rows. */
	{
		char *v = value_at(f, "a", "subject", bs, "name");
		assert_true(v == NULL || v[0] == 0);
		com_free(v);
	}
	/* The same by USB: the bundle is refused change by change, nothing applied. */
	tamper(f, "a", "subject", bs, "'name=Hacked by USB'");
	ok(f, "a", NULL, "export --out a.req");
	assert_int_equal(tu_run(&o, 0, "cd %s && OCOP_DATA_DIR=%s %s import --db prov.db --in a.req --reply a.rep --json",
			     f->dir, f->data, f->ocopd),
	    0);
	j = json_loads(o, 0, NULL);
	com_free(o);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "rejected")), 1);
	json_decref(j);
	ok(f, "a", NULL, "import --in a.rep");
	assert_int_equal(refusals(f, "a", "scope"), 4);
	ok(f, "b", NULL, "sync");
	assert_value(f, "b", "subject", bs, "name", "HTX Kẹo dừa 83-200");
}

/* ===== 2. Authority is judged against the stored row ===== */

static void
test_authority_is_judged_against_the_stored_row(void **state)
{
	fx *f = *state;
	char as[37], ap[37], ad[37];
	char bs[37], bp[37], bd[37];
	char dec[37], ev[37], mem1[37], mem2[37], sh1[37], sh2[37], sc1[37], sc2[37];
	char cells[400];
	sto_db *srv;

	make_tree(f, "a", "83-100", as, ap, ad);
	make_tree(f, "b", "83-200", bs, bp, bd);
	/* The province's own records: a national result, a council with two members. */
	srv = server_open(f);
	{
		const char *dc[] = {"dossier_id", "kind", "star"};
		const char *dv[] = {ad, "national_result", "5"};
		const char *ec[] = {"dossier_id", "tier", "rubric_id", "legal_basis"};
		const char *evv[] = {ad, "province", "qd26-2026/07", "qd26-2026"};
		assert_ok(sto_row_insert(srv, "decision", dc, dv, 3, dec));
		assert_ok(sto_row_insert(srv, "evaluation", ec, evv, 4, ev));
	}
	{
		const char *mc[] = {"evaluation_id", "name", "role", "site_id"};
		const char *m1v[] = {ev, "Thành viên 1", "member", site_of(f, "m1")->id};
		const char *m2v[] = {ev, "Thành viên 2", "member", site_of(f, "m2")->id};
		const char *sc[] = {"evaluation_id", "member_id", "owner_site"};
		const char *kc[] = {"sheet_id", "criterion", "points"};
		assert_ok(sto_row_insert(srv, "member", mc, m1v, 4, mem1));
		assert_ok(sto_row_insert(srv, "member", mc, m2v, 4, mem2));
		const char *s1v[] = {ev, mem1, site_of(f, "m1")->id};
		const char *s2v[] = {ev, mem2, site_of(f, "m2")->id};
		assert_ok(sto_row_insert(srv, "score_sheet", sc, s1v, 3, sh1));
		assert_ok(sto_row_insert(srv, "score_sheet", sc, s2v, 3, sh2));
		const char *k1[] = {sh1, "1.1", "200"};
		const char *k2[] = {sh2, "1.1", "300"};
		assert_ok(sto_row_insert(srv, "score", kc, k1, 3, sc1));
		assert_ok(sto_row_insert(srv, "score", kc, k2, 3, sc2));
	}
	/* b's dossier recognised (4★) and a's too, by the province. */
	assert_ok(sto_row_update(srv, "dossier", bd, "status", "recognised"));
	assert_ok(sto_row_update(srv, "dossier", ad, "status", "recognised"));
	sto_close(srv);
	sync_all(f);

	/* The office turns the national result into its own recognition: the kind never changes. */
	tamper(f, "o", "decision", dec, "kind=recognition");
	/* A member points its score at another member's sheet, then edits that member's score. */
	tamper(f, "m1", "score", sc1, "sheet_id=" "placeholder");
	snprintf(cells, sizeof(cells), "sheet_id=%s", sh2);
	tamper(f, "m1", "score", sc1, cells);
	tamper(f, "m1", "score", sc2, "points:=1000");
	/* A member creates a sheet of its own for another member's row. */
	snprintf(cells, sizeof(cells), "evaluation_id=%s member_id=%s owner_site=%s", ev, mem2, site_of(f, "m1")->id);
	tamper(f, "m1", "score_sheet", "019aaaaa-0000-7000-8000-000000000001", cells);
	/* A commune moves another commune's recognised dossier back to draft, and its own. */
	tamper(f, "a", "dossier", bd, "epoch:=1 status=draft");
	tamper(f, "a", "dossier", ad, "epoch:=1 status=draft");
	tamper(f, "a", "dossier", ad, "status=disqualified");
	/* A status sent as bytes. */
	tamper(f, "a", "dossier", ad, "status%=6472616674");
	sync_all(f);
	sync_all(f);
	assert_int_equal(refusals(f, "o", "immutable"), 1);
	assert_int_equal(refusals(f, "m1", "type"), 1);      /* "placeholder" is no UUID */
	assert_int_equal(refusals(f, "m1", "immutable"), 1); /* score.sheet_id */
	assert_int_equal(refusals(f, "m1", "authority"), 2); /* another's score; a sheet for another's row */
	assert_int_equal(refusals(f, "a", "scope"), 1);
	assert_int_equal(refusals(f, "a", "workflow"), 2);
	assert_int_equal(refusals(f, "a", "type"), 1);
	/* Nothing of it stands anywhere. */
	assert_value(f, "prov", "decision", dec, "kind", "national_result");
	assert_value(f, "o", "decision", dec, "kind", "national_result");
	assert_value(f, "m1", "score", sc1, "sheet_id", sh1);
	assert_value(f, "m2", "score", sc2, "points", "300");
	assert_value(f, "prov", "score", sc2, "points", "300");
	/* Re-asserted away as a tombstone. */
	assert_value(f, "prov", "score_sheet", "019aaaaa-0000-7000-8000-000000000001", "deleted", "1");
	assert_value(f, "b", "dossier", bd, "status", "recognised");
	assert_value(f, "b", "dossier", bd, "epoch", "0");
	assert_value(f, "a", "dossier", ad, "status", "recognised");
	assert_value(f, "a", "dossier", ad, "epoch", "0");
	assert_value(f, "o", "dossier", ad, "status", "recognised");
}

/* ===== 3. Sending a dossier back, and resubmitting it, converge ===== */

static void
test_a_dossier_sent_back_and_resubmitted_converges(void **state)
{
	fx *f = *state;
	char s[37], p[37], d[37];
	const char *sites[] = {"a", "o", "prov"};
	sto_db *srv;
	size_t i;

	make_tree(f, "a", "83-100", s, p, d);
	srv = server_open(f);
	assert_ok(sto_row_update(srv, "dossier", d, "status", "province_review"));
	sto_close(srv);
	sync_all(f);
	ok(f, "o", NULL, "dossier move %s --to update_requested --note 'Bổ sung kết quả kiểm nghiệm' --deadline 2026-12-31", d);
	ok(f, "o", NULL, "sync");
	ok(f, "a", NULL, "sync");
	ok(f, "o", NULL, "sync");
	for (i = 0; i < 3; i++) {
		assert_value(f, sites[i], "dossier", d, "status", "update_requested");
		assert_value(f, sites[i], "dossier", d, "epoch", "1");
		assert_value(f, sites[i], "dossier", d, "update_deadline", "2026-12-31");
	}
	/* The commune completes it and sends it again. */
	ok(f, "a", NULL, "dossier move %s --to province_review", d);
	sync_all(f);
	for (i = 0; i < 3; i++) {
		assert_value(f, sites[i], "dossier", d, "status", "province_review");
		assert_value(f, sites[i], "dossier", d, "epoch", "1");
	}
	/* A commune returning its own dossier to draft (a reopen of its own). */
	{
		char s2[37], p2[37], d2[37];
		ok(f, "a", s2, "subject add --name 'HTX Dừa xiêm' --kind htx --unit 83-100");
		ok(f, "a", p2, "product add --subject %s --name 'Dừa xiêm' --set 07", s2);
		ok(f, "a", d2, "dossier add --product %s --year 2026 --round 1", p2);
		ok(f, "a", NULL, "dossier move %s --to commune_check", d2);
		ok(f, "a", NULL, "sync");
		ok(f, "a", NULL, "dossier move %s --to draft --note 'Thiếu Mẫu 02' --deadline 2026-11-30", d2);
		sync_all(f);
		for (i = 0; i < 3; i++) {
			assert_value(f, sites[i], "dossier", d2, "status", "draft");
			assert_value(f, sites[i], "dossier", d2, "epoch", "1");
		}
	}
	assert_int_equal(refusals(f, "a", "workflow"), 0);
	assert_int_equal(refusals(f, "o", "workflow"), 0);
}

/* ===== 4. A row that moves to another unit replicates whole ===== */

static void
test_a_subject_moved_to_another_commune_arrives_whole_and_leaves_cleanly(void **state)
{
	fx *f = *state;
	char s[37], p[37], d[37], doc[37];
	char *o = NULL;

	make_tree(f, "a", "83-100", s, p, d);
	ok(f, "a", doc, "document add --dossier %s --kind mau02 --title 'Báo cáo tự đánh giá'", d);
	ok(f, "a", NULL, "subject set %s --phone '0275 3861 000'", s);
	ok(f, "a", NULL, "sync");
	ok(f, "b", NULL, "sync"); /* b has synced before the move: its cursor is past a's rows */
	assert_null(value_at(f, "b", "subject", s, "name"));
	ok(f, "o", NULL, "sync");
	ok(f, "o", NULL, "subject set %s --unit 83-200", s);
	ok(f, "o", NULL, "sync");
	ok(f, "b", NULL, "sync");
	assert_value(f, "b", "subject", s, "name", "HTX Kẹo dừa 83-100");
	assert_value(f, "b", "subject", s, "phone", "0275 3861 000");
	assert_value(f, "b", "subject", s, "unit_code", "83-200");
	assert_value(f, "b", "product", p, "name", "Kẹo dừa sáp 83-100");
	assert_value(f, "b", "dossier", d, "status", "draft");
	assert_value(f, "b", "document", doc, "title", "Báo cáo tự đánh giá");
	/* a learns that the subject left: it holds the move, and may no longer edit it. */
	ok(f, "a", NULL, "sync");
	assert_value(f, "a", "subject", s, "unit_code", "83-200");
	assert_int_equal(ocop(f, "a", &o, "subject set %s --phone '0275 0000 000'", s), 1);
	assert_non_null(strstr(o, "outside this site's scope"));
	com_free(o);
	/* b may, and the office sees it. */
	ok(f, "b", NULL, "subject set %s --phone '0275 3862 222'", s);
	ok(f, "b", NULL, "sync");
	ok(f, "o", NULL, "sync");
	assert_value(f, "o", "subject", s, "phone", "0275 3862 222");
	/* A commune may not move a row out of its scope: refused locally, and at the server. */
	assert_int_equal(ocop(f, "b", &o, "subject set %s --unit 83-100", s), 1);
	com_free(o);
	tamper(f, "b", "subject", s, "unit_code=83-100");
	ok(f, "b", NULL, "sync");
	assert_int_equal(refusals(f, "b", "scope"), 1);
	assert_value(f, "prov", "subject", s, "unit_code", "83-200");
}

/* ===== 5. One bad change never blocks the outbox ===== */

static void
test_a_bad_change_is_refused_alone_and_the_outbox_moves_on(void **state)
{
	fx *f = *state;
	char s[37], p[37], d[37];
	char *o = NULL;
	json_t *j;

	make_tree(f, "a", "83-100", s, p, d);
	tamper(f, "a", "subject", s, "id=019aaaaa-0000-7000-8000-00000000dead");
	tamper(f, "a", "subject", s, "no_such_column=1");
	ok(f, "a", NULL, "subject set %s --phone '0275 1111 111'", s);
	ok(f, "a", NULL, "sync");
	j = ocop_json(f, "a", "status --json");
	assert_int_equal(json_integer_value(json_object_get(j, "pending_changes")), 0);
	assert_int_equal(json_integer_value(json_object_get(j, "refused_changes")), 2);
	json_decref(j);
	assert_value(f, "prov", "subject", s, "phone", "0275 1111 111");
	assert_int_equal(refusals(f, "a", "type"), 2);
	/* By USB: the honest change lands, the bad one is refused, nothing half applied. */
	tamper(f, "a", "subject", s, "no_such_column=2");
	ok(f, "a", NULL, "subject set %s --phone '0275 2222 222'", s);
	ok(f, "a", NULL, "export --out a.req");
	assert_int_equal(tu_run(&o, 0, "cd %s && OCOP_DATA_DIR=%s %s import --db prov.db --in a.req --reply a.rep --json",
			     f->dir, f->data, f->ocopd),
	    0);
	j = json_loads(o, 0, NULL);
	com_free(o);
	assert_int_equal(json_integer_value(json_object_get(j, "rejected")), 1);
	json_decref(j);
	ok(f, "a", NULL, "import --in a.rep");
	assert_value(f, "prov", "subject", s, "phone", "0275 2222 222");
	j = ocop_json(f, "a", "status --json");
	assert_int_equal(json_integer_value(json_object_get(j, "pending_changes")), 0);
	json_decref(j);
}

/* ===== 6. Resolutions, identities, bytes ===== */

/* Send a hand-made PUSH for site `as` holding a change stamped with site `stamp`. */
static void
push_stamped(fx *f, const site *as, const char *stamp, const char *subject, proto_push_ok *ok_out, com_buf *reply)
{
	lnk_dialer *n = NULL;
	lnk_dial_opts dopts;
	lnk_transport t;
	char derr[512];
	proto_batch b;
	proto_push hdr;
	proto_change c;
	proto_env env;
	proto_rd body;
	com_buf req;
	com_buf cells;
	proto_wr w;
	proto_value v = {.type = PROTO_V_TEXT, .p = (const uint8_t *)"Forged", .len = 6};

	memset(&hdr, 0, sizeof(hdr));
	snprintf(hdr.site, sizeof(hdr.site), "%.36s", as->id);
	snprintf(hdr.credential, sizeof(hdr.credential), "%.127s", as->cred);
	com_buf_init(&req);
	com_buf_init(&cells);
	proto_wr_init(&w, &cells);
	proto_cells_begin(&w, 1);
	proto_cell_put(&w, "name", &v, 0);
	memset(&c, 0, sizeof(c));
	snprintf(c.site, sizeof(c.site), "%.36s", stamp);
	c.seq = 9999;
	snprintf(c.tbl, sizeof(c.tbl), "subject");
	snprintf(c.row, sizeof(c.row), "%.36s", subject);
	c.hlc = 1;
	c.cells = cells.data;
	c.cells_len = cells.len;
	assert_ok(proto_push_begin(&b, &req, &hdr, 1 << 20));
	assert_ok(proto_batch_add(&b, &c));
	assert_ok(proto_push_end(&b));
	memset(&dopts, 0, sizeof(dopts));
	dopts.url = f->url;
	dopts.timeout_ms = 5000;
	assert_ok(lnk_dialer_open(&n, &dopts, derr, sizeof(derr)));
	t = lnk_dialer_transport(n);
	assert_ok(t.roundtrip(t.arg, req.data, req.len, reply));
	lnk_dialer_close(n);
	assert_ok(proto_env_open(reply->data, reply->len, &env, &body));
	assert_int_equal(env.type, PROTO_MSG_PUSH_OK);
	assert_ok(proto_push_ok_decode(&body, ok_out));
	com_buf_fini(&req);
	com_buf_fini(&cells);
}

static void
test_resolutions_go_through_authority_and_replicate(void **state)
{
	fx *f = *state;
	char s[37], p[37], d[37];
	char cells[300];
	char *o = NULL;
	json_t *j;
	json_t *e;
	long long id = 0;
	size_t i;

	make_tree(f, "a", "83-100", s, p, d);
	ok(f, "o", NULL, "sync");
	/* A 5★ result the commune may not write, refused by the server; restoring it is refused here too. */
	snprintf(cells, sizeof(cells), "dossier_id=%s kind=national_result star:=5", d);
	tamper(f, "a", "decision", "019aaaaa-0000-7000-8000-0000000005aa", cells);
	ok(f, "a", NULL, "sync");
	j = ocop_json(f, "a", "conflicts --json");
	assert_true(json_array_size(j) >= 1);
	id = (long long)json_integer_value(json_object_get(json_array_get(j, 0), "id"));
	assert_non_null(strstr(jstr(json_array_get(j, 0), "label"), "Kẹo dừa sáp"));
	json_decref(j);
	assert_int_equal(ocop(f, "a", &o, "conflicts resolve %lld --keep lost", id), 1);
	assert_non_null(strstr(o, "no value that may stand"));
	com_free(o);
	ok(f, "a", NULL, "conflicts resolve %lld --keep current --note 'Đã rõ'", id);
	/* A concurrent edit: a and the office both change the phone; the loser is settled at a. */
	ok(f, "a", NULL, "subject set %s --phone '0275 3000 001'", s);
	ok(f, "o", NULL, "subject set %s --phone '0275 3000 002'", s);
	ok(f, "a", NULL, "sync");
	ok(f, "o", NULL, "sync");
	ok(f, "a", NULL, "sync");
	j = ocop_json(f, "a", "conflicts --json");
	for (i = 0, id = 0; i < json_array_size(j); i++) {
		e = json_array_get(j, i);
		if (strcmp(jstr(e, "rule"), "lww") == 0) {
			id = (long long)json_integer_value(json_object_get(e, "id"));
		}
	}
	json_decref(j);
	assert_true(id > 0);
	ok(f, "a", NULL, "conflicts resolve %lld --keep current", id);
	ok(f, "a", NULL, "sync");
	ok(f, "o", NULL, "sync");
	/* The office's entry for the same lost write shows settled too. */
	j = ocop_json(f, "o", "conflicts --all --json");
	for (i = 0; i < json_array_size(j); i++) {
		e = json_array_get(j, i);
		if (strcmp(jstr(e, "rule"), "lww") == 0) {
			assert_string_equal(jstr(e, "status"), "resolved: kept");
		}
	}
	json_decref(j);
	/* A change stamped with another site's id: refused, ledgered under the sender. */
	{
		proto_push_ok pok;
		com_buf reply;
		proto_rejections_it it;
		proto_rejection r;
		com_buf_init(&reply);
		push_stamped(f, site_of(f, "a"), site_of(f, "b")->id, s, &pok, &reply);
		assert_int_equal(pok.rejections.count, 1);
		proto_rejections_iter(&it, &pok.rejections);
		assert_ok(proto_rejections_next(&it, &r));
		assert_int_equal(r.code, OCOP_ESITE);
		com_buf_fini(&reply);
		assert_int_equal(tu_run(&o, 0,
				     "sqlite3 %s/prov.db \"SELECT COUNT(*) FROM ledger WHERE rule = 'identity' AND lost_site = '%s'\"",
				     f->dir, site_of(f, "a")->id),
		    0);
		assert_int_equal(atoi(o), 1);
		com_free(o);
	}
	/* Bytes that are not text: invalid UTF-8, a NUL, 100 KB where 512 bytes fit. */
	tamper(f, "a", "subject", s, "name%=4b6fc328");
	tamper(f, "a", "subject", s, "name%=4b6f0064");
	tamper(f, "a", "subject", s, "name@=100000");
	ok(f, "a", NULL, "sync");
	assert_int_equal(refusals(f, "a", "type"), 3);
	assert_value(f, "prov", "subject", s, "name", "HTX Kẹo dừa 83-100");
	assert_value(f, "a", "subject", s, "name", "HTX Kẹo dừa 83-100");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_commune_cannot_write_another_communes_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_authority_is_judged_against_the_stored_row, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_dossier_sent_back_and_resubmitted_converges, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_subject_moved_to_another_commune_arrives_whole_and_leaves_cleanly,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_bad_change_is_refused_alone_and_the_outbox_moves_on, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_resolutions_go_through_authority_and_replicate, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
