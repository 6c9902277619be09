/*
 * integration.national: the national tier with real processes on loopback
 * (docs/NATIONAL.md, DESIGN.md invariant 6).
 *
 * Each case starts a national `ocopd` and a provincial `ocopd` whose config
 * names the national server as its upstream, with a commune site and the
 * provincial office under the province and the national OCOP office (an
 * `ocop` site of role national) under the nation. Dossiers are filed at the
 * commune and scored by the provincial council at the office with rubric
 * qd26-2026/01 sheets built here with exact totals; the national council sits
 * at the national office. Nothing sleeps to synchronise: the tests poll
 * `ocopd candidates` with a deadline.
 */
#include "tests/lib/replica.h"
#include "tests/lib/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "common/ocop/council.h"
#include "common/ocop/rubric.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "protocol/envelope.h"
#include "protocol/session.h"
#include "server/upstream.h"
#include "common/link/dial.h"
#include "tests/lib/enrol.h"
#include "tests/lib/proc.h"

#define WAIT_MS 30000

typedef struct fx {
	char *dir;          /* temp dir, owned */
	char ocop[512];     /* ocop binary */
	char ocopd[512];    /* ocopd binary */
	char data[512];     /* data dir */
	int nport;          /* national server's port */
	int pport;          /* province server's port */
	pid_t nation;       /* national ocopd */
	pid_t province;     /* provincial ocopd */
	char prov_id[40];   /* the province server's site id */
	char prov_cred[128]; /* its credential at the national server */
	int nfiles;         /* evidence files written so far (their names) */
	char prov_enrol[600]; /* its enrolment file at the national server */
} fx;

/* ===== Running the programs ===== */

static int
ocop(fx *f, const char *db, char **out, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
ocop(fx *f, const char *db, char **out, const char *fmt, ...)
{
	char args[4096];
	char *o = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = tu_run(&o, 1, "cd %s && OCOP_DB=%s/%s.db OCOP_USER=%s OCOP_DATA_DIR=%s %s %s", f->dir, f->dir, db, db,
	    f->data, f->ocop, args);
	if (out != NULL) {
		*out = o;
	} else {
		if (rc != 0) {
			print_error("ocop %s (%s) exited %d: %s\n", args, db, rc, o);
		}
		com_free(o);
	}
	return rc;
}

/* Run ocop and return the first line of its output (an id) in id (37 bytes). */
static void
ocop_id(fx *f, const char *db, char *id, const char *args)
{
	char *o = NULL;
	int rc = ocop(f, db, &o, "%s", args);

	if (rc != 0) {
		print_error("ocop %s: %s\n", args, o);
	}
	assert_int_equal(rc, 0);
	snprintf(id, 37, "%.36s", o);
	com_free(o);
}

static json_t *
run_json(const char *what, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static json_t *
run_json(const char *what, const char *fmt, ...)
{
	char cmd[4096];
	char *o = NULL;
	json_t *j;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = tu_run(&o, 0, "%s", cmd);
	if (rc != 0) {
		print_error("%s exited %d: %s\n", what, rc, o);
	}
	assert_int_equal(rc, 0);
	j = json_loads(o, 0, NULL);
	if (j == NULL) {
		print_error("not JSON from %s: %s\n", what, o);
	}
	assert_non_null(j);
	com_free(o);
	return j;
}

static const char *
jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "";
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ===== Fixture ===== */

static pid_t
start_server(fx *f, const char *args, const char *log, int port)
{
	char cmd[2048];
	char *argv[] = {"/bin/sh", "-c", cmd, NULL};
	pid_t pid;

	/* exec, so the pid is ocopd's own and SIGTERM reaches it. */
	snprintf(cmd, sizeof(cmd), "cd %s && exec %s serve %s", f->dir, f->ocopd, args);
	pid = tp_spawn(argv, log);
	if (pid < 0 || tp_wait_port(port, 5000) != 0) {
		return -1;
	}
	return pid;
}

static pid_t
start_nation(fx *f)
{
	char args[512];
	char log[600];

	snprintf(args, sizeof(args), "--db %s/nation.db --role national --listen tcp://127.0.0.1:%d", f->dir, f->nport);
	snprintf(log, sizeof(log), "%s/nation.log", f->dir);
	return start_server(f, args, log, f->nport);
}

/* Register a site at a server and enrol its replica. */
static int
add_site(fx *f, const char *server_db, int port, const char *name, const char *role, const char *scope)
{
	char sdb[600];
	char db[600];
	char url[64];
	char id[37];
	te_site ts;

	snprintf(db, sizeof(db), "%s/%s.db", f->dir, server_db);
	snprintf(sdb, sizeof(sdb), "%s/%s.db", f->dir, name);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	memset(&ts, 0, sizeof(ts));
	ts.dir = f->dir;
	ts.server_db = db;
	ts.site_db = sdb;
	ts.role = role;
	ts.scope = scope;
	ts.name = name;
	ts.url = url;
	return te_site_add(&ts, id, NULL, 0, NULL);
}

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	char *o = NULL;
	char path[600];
	char log[600];
	char args[700];
	char enrol[600];
	FILE *cf;

	f->dir = tu_mkdtemp();
	tu_bin(f->ocop, sizeof(f->ocop), "ocop");
	tu_bin(f->ocopd, sizeof(f->ocopd), "ocopd");
	tu_src(f->data, sizeof(f->data), "data");
	setenv("OCOP_DATA_DIR", f->data, 1);
	f->nport = tp_free_port();
	f->pport = tp_free_port();
	if (f->pport == f->nport) {
		f->pport = tp_free_port();
	}
	if (tu_run(NULL, 1, "%s init --db %s/nation.db --role national --scope VN >/dev/null", f->ocopd, f->dir) != 0 ||
	    tu_run(&o, 0, "%s init --db %s/prov.db --role province --scope 83", f->ocopd, f->dir) != 0) {
		return -1;
	}
	snprintf(f->prov_id, sizeof(f->prov_id), "%.36s", o);
	com_free(o);
	/* The national server knows the province by the province server's own site id. */
	{
		char ndb[600];
		char url[64];
		char extra[80];
		char id[37];
		te_site ts;
		snprintf(ndb, sizeof(ndb), "%s/nation.db", f->dir);
		snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", f->nport);
		snprintf(extra, sizeof(extra), "--site-id %s", f->prov_id);
		memset(&ts, 0, sizeof(ts));
		ts.dir = f->dir;
		ts.server_db = ndb;
		ts.role = "province";
		ts.scope = "83";
		ts.name = "Bến Tre";
		ts.url = url;
		ts.extra = extra;
		if (te_site_add(&ts, id, f->prov_cred, sizeof(f->prov_cred), enrol) != 0) {
			return -1;
		}
		snprintf(f->prov_enrol, sizeof(f->prov_enrol), "%s", enrol);
	}
	if (add_site(f, "nation", f->nport, "noffice", "national", "VN") != 0 ||
	    add_site(f, "prov", f->pport, "commune", "commune", "83-28882") != 0 ||
	    add_site(f, "prov", f->pport, "office", "province", "83") != 0) {
		return -1;
	}
	snprintf(path, sizeof(path), "%s/prov.conf", f->dir);
	cf = fopen(path, "w");
	if (cf == NULL) {
		return -1;
	}
	fprintf(cf, "listen = tcp://127.0.0.1:%d\nrole = province\ndb = %s/prov.db\n"
		    "upstream_enrolment = %s\nupstream_interval_ms = 200\nupstream_timeout_ms = 1000\n",
	    f->pport, f->dir, enrol);
	fclose(cf);
	f->nation = start_nation(f);
	snprintf(args, sizeof(args), "--config %s", path);
	snprintf(log, sizeof(log), "%s/prov.log", f->dir);
	f->province = start_server(f, args, log, f->pport);
	if (f->nation < 0 || f->province < 0) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	/* A clean stop on SIGTERM is part of the contract, upstream link included. */
	assert_int_equal(tp_stop(f->province, SIGTERM), 0);
	if (f->nation > 0) {
		assert_int_equal(tp_stop(f->nation, SIGTERM), 0);
	}
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

/* ===== Sheets with exact totals (rubric qd26-2026/01) ===== */

typedef enum sheet_kind {
	SHEET_94,       /* 94 points, every 5★ minimum met */
	SHEET_90,       /* 90 points, every 5★ minimum met */
	SHEET_MINIMUM,  /* 94 points, but 4.1 on its 4★ option: the 5★ minimum missed */
} sheet_kind;

/*
 * Write a CSV of n members named "Member 1".."Member n": every criterion at
 * its maximum, then the changes of the kind; with one_less, the last member
 * takes 6.3 from 3 to 2 (one point less).
 */
static void
write_sheets(fx *f, const char *name, sheet_kind kind, int n, bool one_less)
{
	ocp_rubric *r = NULL;
	char err[512];
	char path[700];
	FILE *out;
	size_t k;
	int m;

	assert_ok(ocp_rubric_load_id(&r, f->data, "qd26-2026/01", err, sizeof(err)));
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	out = fopen(path, "w");
	assert_non_null(out);
	fprintf(out, "member,criterion,points\n");
	for (m = 1; m <= n; m++) {
		for (k = 0; k < ocp_rubric_criterion_count(r); k++) {
			const ocp_criterion *c = ocp_rubric_criterion(r, k);
			long p = (long)(c->max / 100);
			if (strcmp(c->code, "1.2") == 0) {
				p = 0; /* -2 */
			} else if (strcmp(c->code, "1.4") == 0) {
				p = 1; /* -2 */
			} else if (strcmp(c->code, "4.2") == 0) {
				p = kind == SHEET_94 ? 1 : kind == SHEET_90 ? 0 : p; /* -2 or -3 */
			} else if (strcmp(c->code, "4.3") == 0 && kind == SHEET_90) {
				p = 2; /* -3 */
			} else if (strcmp(c->code, "4.1") == 0 && kind == SHEET_MINIMUM) {
				p = 3; /* -2, and below the 5★ mark */
			} else if (strcmp(c->code, "6.3") == 0 && one_less && m == n) {
				p = 2; /* -1 */
			}
			fprintf(out, "Member %d,%s,%ld\n", m, c->code, p);
		}
	}
	fclose(out);
	ocp_rubric_free(r);
}

/* ===== A round ===== */

/* A commune dossier sent to the province; returns the dossier id. */
static void
file_dossier(fx *f, const char *product, char dossier[37])
{
	char subject[37];
	char prod[37];
	char args[512];
	char doc[37];

	snprintf(args, sizeof(args), "subject add --name 'HTX %s' --kind htx --unit 83-28882", product);
	ocop_id(f, "commune", subject, args);
	snprintf(args, sizeof(args), "product add --subject %s --name '%s' --set 01", subject, product);
	ocop_id(f, "commune", prod, args);
	snprintf(args, sizeof(args), "dossier add --product %s --year 2026 --round 1", prod);
	ocop_id(f, "commune", dossier, args);
	/* The commune's report as a scan: its bytes follow the dossier to the province and, for a
	 * candidate, to the nation. Each dossier's scan is different (mau03-N.pdf). */
	assert_int_equal(tu_run(NULL, 1, "cd %s && head -c %d /dev/urandom > mau03-%d.pdf", f->dir, 150000 + f->nfiles,
			     f->nfiles),
	    0);
	snprintf(args, sizeof(args),
	    "document add --dossier %s --kind commune_report --title 'Báo cáo (Mẫu 03)' --file %s/mau03-%d.pdf", dossier,
	    f->dir, f->nfiles);
	f->nfiles++;
	ocop_id(f, "commune", doc, args);
	assert_int_equal(ocop(f, "commune", NULL, "dossier move %s --to commune_check", dossier), 0);
	assert_int_equal(ocop(f, "commune", NULL, "dossier move %s --to province_review", dossier), 0);
	assert_int_equal(ocop(f, "commune", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "office", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "office", NULL, "dossier move %s --to council_review", dossier), 0);
}

/* The provincial council sits with n members and the sheets of csv; returns the evaluation. */
static void
council(fx *f, const char *site, const char *dossier, const char *tier, const char *csv, int n, char eval[37])
{
	char args[700];
	char id[37];
	int m;

	snprintf(args, sizeof(args), "evaluation add --dossier %s --tier %s --held 2026-06-10", dossier, tier);
	ocop_id(f, site, eval, args);
	for (m = 1; m <= n; m++) {
		snprintf(args, sizeof(args), "member add --evaluation %s --name 'Member %d'%s", eval, m,
		    m == 1 ? " --role chair" : "");
		ocop_id(f, site, id, args);
	}
	assert_int_equal(ocop(f, site, NULL, "sheet import --evaluation %s --csv %s/%s", eval, f->dir, csv), 0);
}

/* A genuine candidate: 94 points, the chair's approval, potential_5star, synced to the province. */
static void
candidate(fx *f, const char *product, char dossier[37], char eval[37])
{
	char id[37];
	char args[300];

	file_dossier(f, product, dossier);
	council(f, "office", dossier, "province", "s94.csv", 3, eval);
	assert_int_equal(ocop(f, "office", NULL, "dossier move %s --to scored", dossier), 0);
	snprintf(args, sizeof(args),
	    "decision add --dossier %s --kind approval --evaluation %s --number 99/QĐ-UBND --issued 2026-06-30", dossier,
	    eval);
	ocop_id(f, "office", id, args);
	assert_int_equal(ocop(f, "office", NULL, "dossier move %s --to potential_5star", dossier), 0);
	assert_int_equal(ocop(f, "office", NULL, "sync"), 0);
}

/* The candidates a server lists (ocopd candidates --json). */
static json_t *
candidates(fx *f, const char *db)
{
	return run_json("ocopd candidates", "%s candidates --db %s/%s.db --json", f->ocopd, f->dir, db);
}

/* The entry of dossier in the list, or NULL (borrowed from list). */
static json_t *
entry(json_t *list, const char *dossier)
{
	size_t i;

	for (i = 0; i < json_array_size(list); i++) {
		if (strcmp(jstr(json_array_get(list, i), "dossier_id"), dossier) == 0) {
			return json_array_get(list, i);
		}
	}
	return NULL;
}

/* Poll the province's candidates until dossier is in `state` (or fail after WAIT_MS). */
static json_t *
wait_state(fx *f, const char *dossier, const char *state)
{
	int waited;

	for (waited = 0; waited < WAIT_MS; waited += 100) {
		json_t *l = candidates(f, "prov");
		json_t *e = entry(l, dossier);
		if (e != NULL && strcmp(jstr(e, "state"), state) == 0) {
			json_incref(e);
			json_decref(l);
			return e;
		}
		json_decref(l);
		sleep_ms(100);
	}
	fail_msg("dossier %s never reached hand-off state %s", dossier, state);
	return NULL;
}

/* Evidence files a server holds whole (its objects). */
static int
files_at(fx *f, const char *db)
{
	char *o = NULL;
	int n;

	assert_int_equal(tu_run(&o, 0, "find %s/%s.db.files/objects -type f 2>/dev/null | wc -l", f->dir, db), 0);
	n = atoi(o);
	com_free(o);
	return n;
}

/* Wait until server db holds the file mau03-n.pdf, byte for byte (or fail after WAIT_MS). */
static void
wait_file(fx *f, const char *db, int n)
{
	char cmd[900];
	int waited;

	snprintf(cmd, sizeof(cmd),
	    "cd %s && h=$(sha256sum mau03-%d.pdf | cut -c1-64) && cmp -s mau03-%d.pdf %s.db.files/objects/$(echo $h | cut -c1-2)/$h",
	    f->dir, n, n, db);
	for (waited = 0; waited < WAIT_MS; waited += 100) {
		if (tu_run(NULL, 1, "%s", cmd) == 0) {
			return;
		}
		sleep_ms(100);
	}
	fail_msg("%s never received mau03-%d.pdf", db, n);
}

/* Count rows of a query on a server's database. */
static long long
count(fx *f, const char *db, const char *sql)
{
	char path[600];
	sto_opts o;
	sto_db *d = NULL;
	sqlite3_stmt *st = NULL;
	long long n = -1;

	memset(&o, 0, sizeof(o));
	snprintf(path, sizeof(path), "%s/%s.db", f->dir, db);
	assert_ok(sto_open(&d, path, &o));
	assert_int_equal(sqlite3_prepare_v2(sto_sqlite(d), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	sto_close(d);
	return n;
}

static long long
changes_at(fx *f, const char *db)
{
	return count(f, db, "SELECT COUNT(*) FROM change");
}

/* ===== Cases ===== */

static void
test_an_approved_candidate_reaches_the_nation_once_and_its_decision_reaches_the_commune(void **state)
{
	fx *f = *state;
	char dossier[37];
	char eval[37];
	char neval[37];
	char id[37];
	char args[400];
	char sql[300];
	char *out = NULL;
	json_t *e;
	json_t *l;
	long long before;
	size_t i;
	int found = 0;

	write_sheets(f, "s94.csv", SHEET_94, 3, false);
	candidate(f, "Bưởi da xanh", dossier, eval);
	e = wait_state(f, dossier, "acknowledged");
	assert_true(json_integer_value(json_object_get(e, "changes")) > 100);
	assert_int_equal(strlen(jstr(e, "package_sha256")), 64);
	assert_string_equal(jstr(e, "status"), "sent_national"); /* the province sent it (Đ7.3) */
	json_decref(e);

	/* Once at the national server, with its whole record. */
	l = candidates(f, "nation");
	assert_int_equal(json_array_size(l), 1);
	assert_string_equal(jstr(json_array_get(l, 0), "dossier_id"), dossier);
	assert_string_equal(jstr(json_array_get(l, 0), "province_site"), f->prov_id);
	json_decref(l);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM dossier WHERE id = '%s' AND status = 'sent_national'", dossier);
	assert_int_equal(count(f, "nation", sql), 1);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM score s JOIN score_sheet h ON h.id = s.sheet_id"
				   " WHERE h.evaluation_id = '%s'", eval);
	assert_int_equal(count(f, "nation", sql), 3 * 32);
	assert_int_equal(count(f, "nation", "SELECT COUNT(*) FROM member"), 3);
	assert_int_equal(count(f, "nation", "SELECT COUNT(*) FROM decision WHERE kind = 'approval'"), 1);
	assert_int_equal(count(f, "nation", "SELECT COUNT(*) FROM document WHERE kind = 'national_dossier'"), 1);
	assert_int_equal(count(f, "nation", "SELECT COUNT(*) FROM ledger WHERE rule = 'authority'"), 0);
	/* Its evidence follows its rows: the commune's scan, byte for byte, at the province and the nation. */
	wait_file(f, "prov", 0);
	wait_file(f, "nation", 0);
	assert_int_equal(files_at(f, "nation"), 1);

	/* The same hand-off as a package changes nothing; the same package twice is refused. */
	before = changes_at(f, "nation");
	assert_int_equal(tu_run(&out, 1, "%s handoff export --db %s/prov.db --dossier %s --out %s/c.hoff --config %s/prov.conf",
			     f->ocopd, f->dir, dossier, f->dir, f->dir), 0);
	assert_non_null(strstr(out, "content sha256"));
	com_free(out);
	for (i = 0; i < 2; i++) {
		int rc = tu_run(&out, 1, "%s handoff import --db %s/nation.db --in %s/c.hoff", f->ocopd, f->dir, f->dir);
		if (rc != (i == 0 ? 0 : 2)) {
			print_error("handoff import exited %d: %s\n", rc, out);
		}
		assert_int_equal(rc, i == 0 ? 0 : 2);
		assert_non_null(strstr(out, i == 0 ? " 0 changes applied" : "already imported"));
		com_free(out);
	}
	assert_int_equal(changes_at(f, "nation"), before);
	/* A damaged or truncated package is refused whole (exit 2). */
	assert_int_equal(tu_run(NULL, 1, "cd %s && cp c.hoff bad.hoff && printf 'X' | dd of=bad.hoff bs=1 seek=200"
				   " conv=notrunc 2>/dev/null", f->dir), 0);
	assert_int_equal(tu_run(&out, 1, "%s handoff import --db %s/nation.db --in %s/bad.hoff", f->ocopd, f->dir, f->dir), 2);
	assert_non_null(strstr(out, "authentication failed"));
	com_free(out);
	/* A package written without the province's secret is a forgery. */
	assert_int_equal(tu_run(NULL, 1, "cd %s && sed 's/\"credential\": \"[0-9a-f]*\"/\"credential\": \"0000\"/' "
				   "'%s' > forged.enrol && chmod 600 forged.enrol && "
				   "sed 's|^upstream_enrolment = .*|upstream_enrolment = %s/forged.enrol|' prov.conf > forged.conf",
				   f->dir, f->prov_enrol, f->dir), 0);
	assert_int_equal(tu_run(&out, 1, "%s handoff export --db %s/prov.db --dossier %s --out %s/forged.hoff --config %s/forged.conf",
			     f->ocopd, f->dir, dossier, f->dir, f->dir), 0);
	com_free(out);
	assert_int_equal(tu_run(&out, 1, "%s handoff import --db %s/nation.db --in %s/forged.hoff", f->ocopd, f->dir, f->dir), 2);
	assert_non_null(strstr(out, "forgery"));
	com_free(out);
	assert_int_equal(tu_run(NULL, 1, "cd %s && head -c 500 c.hoff > short.hoff", f->dir), 0);
	assert_int_equal(tu_run(&out, 1, "%s handoff import --db %s/nation.db --in %s/short.hoff", f->ocopd, f->dir, f->dir), 2);
	com_free(out);
	assert_int_equal(changes_at(f, "nation"), before);

	/* The national council sits at the national office and recognises 5★. */
	assert_int_equal(ocop(f, "noffice", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "noffice", NULL, "dossier move %s --to national_review", dossier), 0);
	council(f, "noffice", dossier, "national", "s94.csv", 3, neval);
	snprintf(args, sizeof(args),
	    "decision add --dossier %s --kind national_result --evaluation %s --number 123/QĐ-BNNMT --issued 2026-09-20",
	    dossier, neval);
	ocop_id(f, "noffice", id, args);
	assert_int_equal(ocop(f, "noffice", NULL, "dossier move %s --to national_recognised", dossier), 0);
	assert_int_equal(ocop(f, "noffice", NULL, "sync"), 0);

	/* It comes down: the province shows it decided, and the commune that filed it sees it. */
	e = wait_state(f, dossier, "decided");
	assert_string_equal(jstr(e, "status"), "national_recognised");
	json_decref(e);
	assert_int_equal(ocop(f, "commune", NULL, "sync"), 0);
	snprintf(args, sizeof(args), "decision list --dossier %s --json", dossier);
	l = run_json("decision list", "cd %s && OCOP_DB=%s/commune.db %s %s", f->dir, f->dir, f->ocop, args);
	for (i = 0; i < json_array_size(l); i++) {
		json_t *d = json_array_get(l, i);
		if (strcmp(jstr(d, "kind"), "national_result") == 0) {
			found = 1;
			assert_int_equal(json_integer_value(json_object_get(d, "star")), 5);
			assert_string_equal(jstr(d, "number"), "123/QĐ-BNNMT");
			assert_string_equal(jstr(d, "expires_on"), "2029-09-20");
		}
	}
	json_decref(l);
	assert_true(found);
	snprintf(args, sizeof(args), "dossier show %s --json", dossier);
	l = run_json("dossier show", "cd %s && OCOP_DB=%s/commune.db %s %s", f->dir, f->dir, f->ocop, args);
	assert_string_equal(jstr(l, "status"), "national_recognised");
	json_decref(l);
	/* Nothing relayed came back to the nation twice, and the province refused nothing. */
	assert_int_equal(count(f, "nation", "SELECT COUNT(*) FROM arrival"), 1);
	assert_int_equal(count(f, "prov", "SELECT COUNT(*) FROM ledger WHERE rule IN ('authority', 'upstream')"), 0);
}

/* Approve and promote a dossier as a client that does not check would (the server's authority allows it). */
static void
raw_approve(fx *f, const char *dossier, const char *eval)
{
	char path[600];
	sto_opts o;
	sto_db *db = NULL;
	char id[37];
	const char *cols[] = {"dossier_id", "evaluation_id", "kind", "star", "number", "issued_on"};
	const char *vals[] = {dossier, eval, "approval", "5", "1/QĐ-UBND", "2026-06-30"};

	memset(&o, 0, sizeof(o));
	o.user = "tampered";
	snprintf(path, sizeof(path), "%s/office.db", f->dir);
	assert_ok(sto_open(&db, path, &o));
	assert_ok(sto_row_insert(db, "decision", cols, vals, 6, id));
	assert_ok(sto_row_update(db, "dossier", dossier, "status", "potential_5star"));
	sto_close(db);
}

static void
test_below_90_and_a_missed_five_star_minimum_are_not_handed_off(void **state)
{
	fx *f = *state;
	char below[37];
	char minimum[37];
	char good[37];
	char eval[37];
	char path[600];
	char err[256];
	sto_opts o;
	sto_db *db = NULL;
	ocp_council *c = NULL;
	json_t *l;
	json_t *e;
	int m;

	write_sheets(f, "s94.csv", SHEET_94, 3, false);
	write_sheets(f, "smin.csv", SHEET_MINIMUM, 3, false);
	write_sheets(f, "s8999.csv", SHEET_90, 100, true);

	/* 100 members: 99 at 90 and one at 89, an exact mean of 89.99 (4★). */
	file_dossier(f, "Chôm chôm", below);
	memset(&o, 0, sizeof(o));
	snprintf(path, sizeof(path), "%s/office.db", f->dir);
	assert_ok(sto_open(&db, path, &o));
	assert_ok(ocp_council_open(&c, db, f->data));
	{
		ocp_eval_spec spec;
		memset(&spec, 0, sizeof(spec));
		spec.dossier_id = below;
		spec.tier = "province";
		spec.held_on = "2026-06-10";
		spec.spread_rule = true;
		assert_ok(ocp_council_evaluation_add(c, &spec, eval));
	}
	for (m = 1; m <= 100; m++) {
		char name[32];
		char mid[37];
		snprintf(name, sizeof(name), "Member %d", m);
		assert_ok(ocp_council_member_add(c, eval, name, m == 1 ? "chair" : "member", NULL, mid, NULL));
	}
	ocp_council_close(c);
	sto_close(db);
	assert_int_equal(ocop(f, "office", NULL, "sheet import --evaluation %s --csv %s/s8999.csv", eval, f->dir), 0);
	{
		char *out = NULL;
		assert_int_equal(ocop(f, "office", &out, "result %s --json", eval), 0);
		e = json_loads(out, 0, NULL);
		com_free(out);
		assert_string_equal(jstr(e, "mean_display"), "89.99");
		assert_int_equal(json_integer_value(json_object_get(e, "star")), 4);
		json_decref(e);
	}
	raw_approve(f, below, eval);

	/* 94 points, but 4.1 is below its 5★ mark: 4★. */
	file_dossier(f, "Dừa xiêm", minimum);
	council(f, "office", minimum, "province", "smin.csv", 3, eval);
	raw_approve(f, minimum, eval);
	assert_int_equal(ocop(f, "office", NULL, "sync"), 0);

	/* A genuine candidate synced after them: once it is handed off, they were looked at. */
	candidate(f, "Bưởi da xanh", good, eval);
	json_decref(wait_state(f, good, "acknowledged"));
	l = candidates(f, "prov");
	assert_null(entry(l, below));
	assert_null(entry(l, minimum));
	json_decref(l);
	l = candidates(f, "nation");
	assert_int_equal(json_array_size(l), 1);
	assert_non_null(entry(l, good));
	json_decref(l);
	snprintf(path, sizeof(path), "SELECT COUNT(*) FROM dossier WHERE id IN ('%s', '%s')", below, minimum);
	assert_int_equal(count(f, "nation", path), 0);
	/* The nation receives the candidate's evidence and nothing else (the province holds all three). */
	wait_file(f, "nation", 2);
	assert_int_equal(files_at(f, "nation"), 1);
	assert_int_equal(files_at(f, "prov"), 3);
	/* The export refuses them too. */
	assert_int_equal(tu_run(NULL, 1, "%s handoff export --db %s/prov.db --dossier %s --out %s/x.hoff >/dev/null 2>&1",
			     f->ocopd, f->dir, below, f->dir), 1);
	(void)err;
}

static void
test_the_hand_off_waits_while_the_national_link_is_down_and_completes_later(void **state)
{
	fx *f = *state;
	char dossier[37];
	char eval[37];
	char sql[200];
	json_t *e = NULL;
	int waited;

	write_sheets(f, "s94.csv", SHEET_94, 3, false);
	assert_int_equal(tp_stop(f->nation, SIGTERM), 0);
	f->nation = -1;
	candidate(f, "Bưởi da xanh", dossier, eval);
	/* It is recorded and waits; the province keeps trying. */
	for (waited = 0; waited < WAIT_MS; waited += 100) {
		json_t *l = candidates(f, "prov");
		json_t *x = entry(l, dossier);
		if (x != NULL && json_integer_value(json_object_get(x, "attempts")) >= 2) {
			e = json_incref(x);
		}
		json_decref(l);
		if (e != NULL) {
			break;
		}
		sleep_ms(100);
	}
	assert_non_null(e);
	assert_string_equal(jstr(e, "state"), "waiting");
	assert_true(json_is_true(json_object_get(e, "recorded")));
	assert_true(strlen(jstr(e, "last_error")) > 0);
	json_decref(e);
	/* The national server comes back: the hand-off completes, once. */
	f->nation = start_nation(f);
	assert_true(f->nation > 0);
	json_decref(wait_state(f, dossier, "acknowledged"));
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM arrival WHERE dossier_id = '%s'", dossier);
	assert_int_equal(count(f, "nation", sql), 1);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM dossier WHERE id = '%s'", dossier);
	assert_int_equal(count(f, "nation", sql), 1);
}

/* Send one request to the national server over nng; the reply is appended to reply. */
static void
to_nation(fx *f, const com_buf *req, com_buf *reply)
{
	lnk_dialer *d = NULL;
	lnk_dial_opts o;
	lnk_transport t;
	char url[64];
	char err[512];

	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", f->nport);
	memset(&o, 0, sizeof(o));
	o.url = url;
	o.timeout_ms = 5000;
	assert_ok(lnk_dialer_open(&d, &o, err, sizeof(err)));
	t = lnk_dialer_transport(d);
	com_buf_reset(reply);
	assert_ok(t.roundtrip(t.arg, req->data, req->len, reply));
	lnk_dialer_close(d);
}

static void
test_a_relayed_change_outside_the_province_or_its_authority_is_refused(void **state)
{
	fx *f = *state;
	sto_opts so;
	sto_db *w = NULL;
	proto_push hdr;
	proto_batch b;
	proto_change c;
	proto_push_ok ok;
	proto_rejections_it it;
	proto_rejection r;
	proto_env env;
	proto_rd body;
	com_buf req;
	com_buf reply;
	char id[37];
	char dossier[37];
	long long before;
	int k;

	/* Three changes of a commune the national server has never heard of, relayed by the province. */
	memset(&so, 0, sizeof(so));
	so.create = true;
	assert_ok(sto_open(&w, ":memory:", &so));
	assert_ok(sto_site_init(w, NULL, "commune", "83-28882"));
	{
		const char *cols[] = {"name", "kind", "unit_code"};
		const char *other[] = {"HTX tỉnh khác", "htx", "79-26734"};
		const char *mine[] = {"HTX Thành Thới", "htx", "83-28882"};
		assert_ok(sto_row_insert(w, "subject", cols, other, 3, id)); /* another province's unit */
		assert_ok(sto_row_insert(w, "subject", cols, mine, 3, id));  /* in scope: stands */
	}
	{
		const char *cols[] = {"dossier_id", "kind", "star", "number"};
		const char *vals[] = {id, "national_result", "5", "1/QĐ-GIẢ"}; /* only the national tier may */
		assert_ok(sto_row_insert(w, "decision", cols, vals, 4, dossier));
	}
	memset(&hdr, 0, sizeof(hdr));
	snprintf(hdr.site, sizeof(hdr.site), "%.36s", f->prov_id);
	snprintf(hdr.credential, sizeof(hdr.credential), "%.127s", f->prov_cred);
	com_buf_init(&req);
	com_buf_init(&reply);
	assert_ok(proto_push_begin(&b, &req, &hdr, 1 << 20));
	{
		tr_rec *recs = NULL;
		size_t n = 0;
		size_t i;
		assert_ok(tr_log_all(w, 0, &recs, &n));
		for (i = 0; i < n; i++) {
			c = recs[i].c;
			c.user[0] = 0;
			assert_ok(proto_batch_add(&b, &c));
		}
		tr_log_free(recs, n);
	}
	assert_ok(proto_push_end(&b));
	sto_close(w);

	for (k = 0; k < 2; k++) {
		before = changes_at(f, "nation");
		to_nation(f, &req, &reply);
		assert_ok(proto_env_open(reply.data, reply.len, &env, &body));
		assert_int_equal(env.type, PROTO_MSG_PUSH_OK);
		assert_ok(proto_push_ok_decode(&body, &ok));
		assert_int_equal(ok.high_water, 3);          /* records processed */
		assert_int_equal(ok.applied, k == 0 ? 1 : 0); /* the in-scope subject, once */
		assert_int_equal(ok.duplicates, k == 0 ? 0 : 1);
		assert_int_equal(ok.rejections.count, 2);    /* reported again on a replay */
		proto_rejections_iter(&it, &ok.rejections);
		assert_ok(proto_rejections_next(&it, &r));
		assert_int_equal(r.seq, 1); /* positions in the PUSH */
		assert_non_null(strstr(r.reason, "outside this site's scope"));
		assert_ok(proto_rejections_next(&it, &r));
		assert_int_equal(r.seq, 3);
		assert_non_null(strstr(r.reason, "national_result"));
		if (k == 1) {
			assert_int_equal(changes_at(f, "nation"), before); /* a replay changes nothing */
		}
	}
	/* The refused decision is re-asserted away (a tombstone), the other province's row never stood. */
	{
		char sql[200];
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM decision WHERE id = '%s' AND deleted = 1", dossier);
		assert_int_equal(count(f, "nation", sql), 1);
	}
	assert_int_equal(count(f, "nation", "SELECT COUNT(*) FROM subject WHERE unit_code = '79-26734'"), 0);
	assert_int_equal(count(f, "nation", "SELECT COUNT(*) FROM subject WHERE unit_code = '83-28882'"), 1);
	assert_int_equal(count(f, "nation", "SELECT COUNT(DISTINCT lost_seq) FROM ledger WHERE refused = 1"), 2);
	com_buf_fini(&req);
	com_buf_fini(&reply);
}

/* Run a command in the test's directory; fail with its output when it exits otherwise than want. */
static void
run_ok(fx *f, int want, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
run_ok(fx *f, int want, const char *fmt, ...)
{
	char cmd[4096];
	char *out = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = tu_run(&out, 1, "cd %s && %s", f->dir, cmd);
	if (rc != want) {
		print_error("%s exited %d: %s\n", cmd, rc, out);
	}
	com_free(out);
	assert_int_equal(rc, want);
}

static void
test_a_hand_off_travels_by_file_and_the_decision_comes_back_by_file(void **state)
{
	fx *f = *state;
	char dossier[37];
	char eval[37];
	char neval[37];
	char id[37];
	char sql[300];
	char args[400];
	json_t *l;
	json_t *e = NULL;
	long long before;
	int waited;
	int m;

	write_sheets(f, "s94.csv", SHEET_94, 3, false);
	/* The national link is down for long: the national server is not running. */
	assert_int_equal(tp_stop(f->nation, SIGTERM), 0);
	f->nation = -1;
	candidate(f, "Bưởi da xanh", dossier, eval);
	for (waited = 0; waited < WAIT_MS && e == NULL; waited += 100) {
		l = candidates(f, "prov");
		if (entry(l, dossier) != NULL && json_is_true(json_object_get(entry(l, dossier), "recorded"))) {
			e = json_incref(entry(l, dossier));
		}
		json_decref(l);
		if (e == NULL) {
			sleep_ms(100);
		}
	}
	assert_non_null(e);
	json_decref(e);
	/* The province writes the package; the national office imports it. */
	run_ok(f, 0, "%s handoff export --db prov.db --dossier %s --out c.hoff --config prov.conf", f->ocopd, dossier);
	run_ok(f, 0, "%s handoff import --db nation.db --in c.hoff --reply r1.bundle", f->ocopd);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM arrival WHERE dossier_id = '%s'", dossier);
	assert_int_equal(count(f, "nation", sql), 1);
	/* The package carried the candidate's evidence. */
	wait_file(f, "nation", 0);
	/* The central council works on the national server's own replica. */
	assert_int_equal(ocop(f, "nation", NULL, "dossier move %s --to national_review", dossier), 0);
	snprintf(args, sizeof(args), "evaluation add --dossier %s --tier national --held 2026-09-10", dossier);
	ocop_id(f, "nation", neval, args);
	for (m = 1; m <= 3; m++) {
		snprintf(args, sizeof(args), "member add --evaluation %s --name 'Member %d'", neval, m);
		ocop_id(f, "nation", id, args);
	}
	assert_int_equal(ocop(f, "nation", NULL, "sheet import --evaluation %s --csv %s/s94.csv", neval, f->dir), 0);
	snprintf(args, sizeof(args),
	    "decision add --dossier %s --kind national_result --evaluation %s --number 77/QĐ-BNNMT --issued 2026-09-20",
	    dossier, neval);
	ocop_id(f, "nation", id, args);
	assert_int_equal(ocop(f, "nation", NULL, "dossier move %s --to national_recognised", dossier), 0);
	/* The same package again is refused; a new one changes nothing and answers with the decision. */
	before = changes_at(f, "nation");
	run_ok(f, 2, "%s handoff import --db nation.db --in c.hoff --reply r2.bundle", f->ocopd);
	run_ok(f, 0, "%s handoff export --db prov.db --dossier %s --out c2.hoff --config prov.conf", f->ocopd, dossier);
	run_ok(f, 0, "%s handoff import --db nation.db --in c2.hoff --reply r2.bundle", f->ocopd);
	assert_int_equal(changes_at(f, "nation"), before);
	assert_int_equal(count(f, "nation", sql), 1);
	/* The province applies the reply: the hand-off is decided, and the commune sees it. */
	run_ok(f, 0, "%s handoff apply --db prov.db --in r2.bundle --config prov.conf", f->ocopd);
	e = wait_state(f, dossier, "decided");
	assert_string_equal(jstr(e, "status"), "national_recognised");
	json_decref(e);
	/* The same reply again, and the older one, are refused and change nothing. */
	before = changes_at(f, "prov");
	run_ok(f, 2, "%s handoff apply --db prov.db --in r2.bundle --config prov.conf", f->ocopd);
	run_ok(f, 2, "%s handoff apply --db prov.db --in r1.bundle --config prov.conf", f->ocopd);
	assert_int_equal(changes_at(f, "prov"), before);
	run_ok(f, 2, "printf 'X' | dd of=r2.bundle bs=1 seek=100 conv=notrunc 2>/dev/null; %s handoff apply --db prov.db --in r2.bundle --config prov.conf",
	    f->ocopd);
	assert_int_equal(ocop(f, "commune", NULL, "sync"), 0);
	snprintf(args, sizeof(args), "dossier show %s --json", dossier);
	l = run_json("dossier show", "cd %s && OCOP_DB=%s/commune.db %s %s", f->dir, f->dir, f->ocop, args);
	assert_string_equal(jstr(l, "status"), "national_recognised");
	json_decref(l);
	/* When the link comes back, nothing arrives twice. */
	f->nation = start_nation(f);
	assert_true(f->nation > 0);
	snprintf(args, sizeof(args), "SELECT COUNT(*) FROM dossier WHERE id = '%s'", dossier);
	assert_int_equal(count(f, "nation", args), 1);
	assert_int_equal(count(f, "nation", sql), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_an_approved_candidate_reaches_the_nation_once_and_its_decision_reaches_the_commune, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_below_90_and_a_missed_five_star_minimum_are_not_handed_off, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_the_hand_off_waits_while_the_national_link_is_down_and_completes_later, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_a_hand_off_travels_by_file_and_the_decision_comes_back_by_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		test_a_relayed_change_outside_the_province_or_its_authority_is_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
