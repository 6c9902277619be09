/*
 * fault.kill: real `ocopd` and `ocop sync --watch` processes killed with
 * SIGKILL at random moments while three sites keep writing (DESIGN.md
 * section 6, invariants 1, 2, 3 and 5).
 *
 * Each cycle starts whatever is not running (the server, one watcher per
 * site), writes to the sites for a seeded random time (through the library on
 * the sites' files, in the watchers' backs, and now and then through a
 * background `ocop subject add`), then kills the server and/or some watchers.
 * Every committed write is recorded with its (site, seq). Afterwards the
 * sites sync until nothing is pending and the test checks: every database
 * passes PRAGMA integrity_check; every recorded write is in the log of the
 * server and of every site whose scope holds its row, and nowhere else; the
 * server numbers each site's changes densely, once each; own rows hold their
 * last written values and shared rows converge with every losing value
 * either seen by a later edit or in the ledger; site and server agree on
 * every row and cell version in the site's scope.
 *
 * OCOP_KILL_CYCLES (default 30) sets the number of cycles, OCOP_KILL_SEED
 * replays a run's choices (process timing still varies).
 */
#include "tests/lib/testutil.h"

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sqlite3.h>

#include "common/store/capture.h"
#include "common/store/clock.h"
#include "common/store/schema.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "protocol/change.h"
#include "tests/lib/enrol.h"
#include "tests/lib/proc.h"
#include "tests/lib/replica.h"

#define NSITES 3
#define NSHARED 2
#define UNIT_A "83-100" /* the commune of sites a and b; also in c's scope */
#define UNIT_C "83-200" /* only in the district site c's scope */

/* ===== Fixture ===== */

typedef struct ksite {
	const char *name;  /* a, b, c */
	const char *role;  /* commune or district */
	const char *scope; /* as registered */
	bool wide;         /* scope holds UNIT_C too */
	char id[64];       /* site id from ocopd site add */
	char cred[128];    /* its credential */
	char path[600];    /* its database */
	sto_db *db;        /* the test's writer connection, owned */
	pid_t watcher;     /* running `ocop sync --watch`, or 0 */
} ksite;

/* A row a site owns (only its writer writes it). */
typedef struct krow {
	char id[37];      /* subject id */
	int site;         /* index of its writer */
	const char *unit; /* UNIT_A or UNIT_C (static) */
	bool deleted;     /* tombstoned by a committed write */
} krow;

typedef enum kcol { K_NAME, K_ADDRESS, K_PHONE, K_DELETED } kcol;

static const char *const kcol_names[] = {"name", "address", "phone", "deleted"};

/* One committed write: one change in its site's log. */
typedef struct kwrite {
	int site;       /* writer */
	uint64_t seq;   /* its site_seq */
	int row;        /* index in fx.rows, or -1 - k for shared row k */
	kcol col;       /* the column written */
	char value[64]; /* the value written ("1" for a delete) */
} kwrite;

typedef struct fx {
	char *dir;              /* temp dir, owned */
	char ocop[512];         /* ocop binary */
	char ocopd[512];        /* ocopd binary */
	char data[512];         /* data dir */
	char url[64];           /* server URL */
	char prov[600];         /* the server's database */
	int port;               /* the server's port */
	pid_t server;           /* running ocopd, or 0 */
	pid_t writer;           /* running background `ocop subject add`, or 0 */
	int writer_site;        /* its site */
	const char *writer_unit; /* its unit */
	char writer_name[64];   /* the name it adds */
	ksite s[NSITES];        /* a, b (communes of UNIT_A), c (district of both units) */
	char shared[NSHARED][37]; /* rows every site edits */
	krow *rows;             /* own rows, owned */
	size_t nrows;           /* entries in rows */
	size_t caprows;         /* capacity of rows */
	kwrite *w;              /* committed writes in commit order per site, owned */
	size_t nw;              /* entries in w */
	size_t capw;            /* capacity of w */
	uint64_t rng;           /* splitmix64 state */
	unsigned counter;       /* makes every written value unique */
	int server_kills;       /* ocopd killed (statistics for the summary) */
	int watcher_kills;      /* watchers killed */
	int bursts;             /* burst transactions */
	int cli_writes;         /* rows added by a background `ocop subject add` */
	int cli_killed;         /* such writers killed mid-way */
} fx;

static uint64_t
rnd(fx *f)
{
	uint64_t z = (f->rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned
rnd_below(fx *f, unsigned n)
{
	return (unsigned)(rnd(f) % n);
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* ===== Processes ===== */

/* Kill (if running) and reap one process of ours; *pid becomes 0. */
static void
proc_kill(pid_t *pid, int sig)
{
	if (*pid > 0) {
		tp_stop(*pid, sig);
	}
	*pid = 0;
}

/* Fail when a process that only we stop has exited on its own. */
static void
proc_assert_running(fx *f, pid_t *pid, const char *what, const char *log)
{
	int st = 0;

	if (*pid > 0 && waitpid(*pid, &st, WNOHANG) == *pid) {
		char *o = NULL;
		*pid = 0;
		tu_run(&o, 1, "tail -n 20 %s/%s", f->dir, log);
		print_error("%s exited on its own (status %d); %s ends with:\n%s\n", what, st, log, o);
		com_free(o);
		fail();
	}
}

static void
start_server(fx *f)
{
	char log[700];
	char *argv[] = {f->ocopd, "serve", "--db", f->prov, "--listen", f->url, NULL};
	int waited;

	snprintf(log, sizeof(log), "%s/ocopd.log", f->dir);
	f->server = tp_spawn(argv, log);
	assert_true(f->server > 0);
	for (waited = 0; tp_wait_port(f->port, 100) != 0; waited += 100) {
		proc_assert_running(f, &f->server, "ocopd", "ocopd.log");
		if (waited > 20000) {
			fail_msg("ocopd does not listen on %s", f->url);
		}
	}
}

static void
start_watcher(fx *f, int i)
{
	ksite *s = &f->s[i];
	char log[700];
	char *argv[] = {f->ocop, "--db", s->path, "sync", "--watch", "--interval", "0.05",
	    "--max-backoff", "0.5", "--timeout", "2", NULL};

	snprintf(log, sizeof(log), "%s/watch-%s.log", f->dir, s->name);
	s->watcher = tp_spawn(argv, log);
	assert_true(s->watcher > 0);
}

/* Run ocop on site i (blocking); returns the exit code, output in *out (may be NULL). */
static int
ocop(fx *f, int i, char **out, const char *args)
{
	char *o = NULL;
	int rc = tu_run(&o, 0, "%s --db %s %s 2>>%s/cli-errors.log", f->ocop, f->s[i].path, args, f->dir);

	if (out != NULL) {
		*out = o;
	} else {
		com_free(o);
	}
	return rc;
}

/* `ocop status --json` of site i. Caller releases with json_decref. */
static json_t *
site_status(fx *f, int i)
{
	char *o = NULL;
	json_t *j;

	assert_int_equal(ocop(f, i, &o, "status --json"), 0);
	j = json_loads(o, 0, NULL);
	if (j == NULL) {
		print_error("not JSON from ocop status: %s\n", o);
	}
	com_free(o);
	assert_non_null(j);
	return j;
}

static const char *
jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "";
}

/* ===== Setup and teardown ===== */

static int teardown(void **state);

static int
setup(void **state)
{
	static const char *const names[NSITES] = {"a", "b", "c"};
	static const char *const roles[NSITES] = {"commune", "commune", "district"};
	static const char *const scopes[NSITES] = {UNIT_A, UNIT_A, UNIT_A "," UNIT_C};
	fx *f = com_calloc(1, sizeof(*f));
	const char *env;
	int i;

	if (f == NULL || (f->dir = tu_mkdtemp()) == NULL) {
		return -1;
	}
	*state = f; /* from here teardown cleans up whatever setup got to */
	tu_bin(f->ocop, sizeof(f->ocop), "ocop");
	tu_bin(f->ocopd, sizeof(f->ocopd), "ocopd");
	tu_src(f->data, sizeof(f->data), "data");
	setenv("OCOP_DATA_DIR", f->data, 1);
	f->port = tp_free_port();
	snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", f->port);
	snprintf(f->prov, sizeof(f->prov), "%s/prov.db", f->dir);
	env = getenv("OCOP_KILL_SEED");
	f->rng = env != NULL ? strtoull(env, NULL, 10)
			     : ((uint64_t)time(NULL) << 20) ^ (uint64_t)getpid();
	if (tu_run(NULL, 1, "%s init --db %s --role province --scope 83 >/dev/null", f->ocopd, f->prov) != 0) {
		goto fail;
	}
	for (i = 0; i < NSITES; i++) {
		ksite *s = &f->s[i];
		sto_opts so;

		s->name = names[i];
		s->role = roles[i];
		s->scope = scopes[i];
		s->wide = i == 2;
		snprintf(s->path, sizeof(s->path), "%s/%s.db", f->dir, s->name);
		{
			te_site ts;
			memset(&ts, 0, sizeof(ts));
			ts.dir = f->dir;
			ts.server_db = f->prov;
			ts.site_db = s->path;
			ts.role = s->role;
			ts.scope = s->scope;
			ts.name = s->name;
			ts.url = f->url;
			if (te_site_add(&ts, s->id, s->cred, sizeof(s->cred), NULL) != 0) {
				goto fail;
			}
		}
		memset(&so, 0, sizeof(so));
		so.user = "killtest";
		if (sto_open(&s->db, s->path, &so) != OCOP_OK) {
			goto fail;
		}
	}
	return 0;
fail:
	teardown(state);
	*state = NULL;
	return -1;
}

static int
teardown(void **state)
{
	fx *f = *state;
	int i;

	if (f == NULL) {
		return 0;
	}
	/* Whatever happened, no process of ours outlives the test. */
	proc_kill(&f->server, SIGKILL);
	proc_kill(&f->writer, SIGKILL);
	for (i = 0; i < NSITES; i++) {
		proc_kill(&f->s[i].watcher, SIGKILL);
		sto_close(f->s[i].db);
	}
	if (getenv("OCOP_KILL_KEEP") != NULL) {
		fprintf(stderr, "fault.kill: kept %s\n", f->dir);
		com_free(f->dir);
	} else {
		tu_rmtree(f->dir);
	}
	com_free(f->rows);
	com_free(f->w);
	com_free(f);
	return 0;
}

/* ===== Writes ===== */

static void
record(fx *f, int site, int row, kcol col, const char *value)
{
	ksite *s = &f->s[site];
	kwrite *w;

	if (f->nw == f->capw) {
		f->capw = f->capw ? f->capw * 2 : 1024;
		f->w = com_realloc(f->w, f->capw * sizeof(*f->w));
		assert_non_null(f->w);
	}
	w = &f->w[f->nw++];
	memset(w, 0, sizeof(*w));
	w->site = site;
	w->row = row;
	w->col = col;
	snprintf(w->value, sizeof(w->value), "%s", value);
	assert_ok(sto_capture_last_seq(s->db, &w->seq));
}

static int
add_row(fx *f, int site, const char *id, const char *unit)
{
	krow *r;

	if (f->nrows == f->caprows) {
		f->caprows = f->caprows ? f->caprows * 2 : 1024;
		f->rows = com_realloc(f->rows, f->caprows * sizeof(*f->rows));
		assert_non_null(f->rows);
	}
	r = &f->rows[f->nrows];
	memset(r, 0, sizeof(*r));
	snprintf(r->id, sizeof(r->id), "%s", id);
	r->site = site;
	r->unit = unit;
	return (int)f->nrows++;
}

/* A live own row of site, or -1 when none was found quickly. */
static int
pick_row(fx *f, int site)
{
	int k;

	for (k = 0; k < 30 && f->nrows > 0; k++) {
		int r = (int)rnd_below(f, (unsigned)f->nrows);
		if (f->rows[r].site == site && !f->rows[r].deleted) {
			return r;
		}
	}
	return -1;
}

static const char *
pick_unit(fx *f, int site)
{
	return f->s[site].wide && rnd_below(f, 2) ? UNIT_C : UNIT_A;
}

/* Insert one own subject on site (inside the caller's transaction). */
static int
write_insert(fx *f, int site)
{
	static const char *const cols[] = {"name", "kind", "unit_code"};
	const char *unit = pick_unit(f, site);
	char name[64];
	char id[37];
	const char *vals[3];
	int rv;

	snprintf(name, sizeof(name), "HTX Rau sạch %s-%u", f->s[site].name, f->counter++);
	vals[0] = name;
	vals[1] = "htx";
	vals[2] = unit;
	if ((rv = sto_row_insert(f->s[site].db, "subject", cols, vals, 3, id)) != OCOP_OK) {
		return rv;
	}
	record(f, site, add_row(f, site, id, unit), K_NAME, name);
	return OCOP_OK;
}

/* One random write on site (inside the caller's transaction). */
static int
write_one(fx *f, int site)
{
	ksite *s = &f->s[site];
	unsigned op = rnd_below(f, 100);
	char v[64];
	int r;
	int rv;

	if (op < 55) {
		return write_insert(f, site);
	}
	if (op < 85) {
		if ((r = pick_row(f, site)) < 0) {
			return write_insert(f, site);
		}
		snprintf(v, sizeof(v), "Ấp %u, %s", f->counter++, s->name);
		if ((rv = sto_row_update(s->db, "subject", f->rows[r].id, "address", v)) == OCOP_OK) {
			record(f, site, r, K_ADDRESS, v);
		}
		return rv;
	}
	if (op < 97) {
		int k = (int)rnd_below(f, NSHARED);
		snprintf(v, sizeof(v), "0275-%s-%u", s->name, f->counter++);
		if ((rv = sto_row_update(s->db, "subject", f->shared[k], "phone", v)) == OCOP_OK) {
			record(f, site, -1 - k, K_PHONE, v);
		}
		return rv;
	}
	if ((r = pick_row(f, site)) < 0) {
		return write_insert(f, site);
	}
	if ((rv = sto_row_delete(s->db, "subject", f->rows[r].id)) == OCOP_OK) {
		record(f, site, r, K_DELETED, "1");
		f->rows[r].deleted = true;
	}
	return rv;
}

/* Forget writes of a transaction that did not commit. */
static void
write_forget(fx *f, size_t nw, size_t nrows)
{
	size_t k;

	f->nw = nw;
	f->nrows = nrows;
	for (k = 0; k < f->nrows; k++) {
		f->rows[k].deleted = false;
	}
	for (k = 0; k < f->nw; k++) {
		if (f->w[k].col == K_DELETED) {
			f->rows[f->w[k].row].deleted = true;
		}
	}
}

/*
 * One transaction of n random writes on site. Only a commit that returned makes
 * its writes count as acknowledged; a failed one (the site's file busy for
 * longer than its busy timeout) is forgotten. Returns whether it committed.
 */
static bool
write_txn(fx *f, int site, int n)
{
	sto_db *db = f->s[site].db;
	size_t nw = f->nw;
	size_t nrows = f->nrows;
	int rv;
	int k;

	if ((rv = sto_begin(db)) != OCOP_OK) {
		print_message("write on %s not started: %s\n", f->s[site].name, sto_errmsg(db));
		return false;
	}
	for (k = 0; k < n && rv == OCOP_OK; k++) {
		rv = write_one(f, site);
	}
	if (rv == OCOP_OK) {
		rv = sto_commit(db);
	} else {
		sto_rollback(db);
	}
	if (rv != OCOP_OK) {
		print_message("write on %s not committed: %s\n", f->s[site].name, sto_errmsg(db));
		write_forget(f, nw, nrows);
		return false;
	}
	return true;
}

/* Start a background `ocop subject add` on a random site (a real writer process). */
static void
cli_writer_start(fx *f)
{
	int site = (int)rnd_below(f, NSITES);
	char out[700];
	char *argv[] = {f->ocop, "--db", f->s[site].path, "subject", "add", "--name", f->writer_name,
	    "--kind", "tht", "--unit", NULL, NULL};

	f->writer_site = site;
	f->writer_unit = pick_unit(f, site);
	snprintf(f->writer_name, sizeof(f->writer_name), "Tổ hợp tác Chè %s-%u", f->s[site].name, f->counter++);
	argv[10] = (char *)f->writer_unit;
	snprintf(out, sizeof(out), "%s/cli.out", f->dir);
	unlink(out);
	f->writer = tp_spawn(argv, out);
	assert_true(f->writer > 0);
}

/* Wait for the background writer; record its row when it says it committed. */
static void
cli_writer_finish(fx *f)
{
	long long until = now_ms() + 60000;
	int st = 0;
	char path[700];
	char *o;
	uint64_t seq = 0;
	sqlite3_stmt *q = NULL;
	int site = f->writer_site;

	if (f->writer <= 0) {
		return;
	}
	while (waitpid(f->writer, &st, WNOHANG) == 0) {
		if (now_ms() > until) {
			proc_kill(&f->writer, SIGKILL);
			fail_msg("ocop subject add did not finish within 60 s");
		}
		pause_ms(5);
	}
	f->writer = 0;
	snprintf(path, sizeof(path), "%s/cli.out", f->dir);
	o = tu_slurp(path);
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL) {
		f->cli_killed++;
		com_free(o);
		return;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		print_message("ocop subject add did not commit (status %d): %s\n", st, o ? o : "");
		com_free(o);
		return;
	}
	assert_non_null(o);
	assert_true(strlen(o) >= 36);
	o[36] = 0;
	/* Its change is the row's first in the site's log. */
	assert_int_equal(sqlite3_prepare_v2(sto_sqlite(f->s[site].db),
			     "SELECT MIN(seq) FROM change WHERE site = (SELECT no FROM site_ref WHERE uuid = ?1) AND row_id = ?2", -1, &q, NULL),
	    SQLITE_OK);
	sqlite3_bind_text(q, 1, f->s[site].id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, o, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	seq = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	assert_true(seq > 0);
	{
		int row = add_row(f, site, o, f->writer_unit);
		record(f, site, row, K_NAME, f->writer_name);
		f->w[f->nw - 1].seq = seq;
	}
	f->cli_writes++;
	com_free(o);
}

/* ===== Checks ===== */

static sqlite3 *
ro_open(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);

	if (rc != SQLITE_OK) {
		print_error("cannot open %s read-only: %s\n", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
	}
	assert_int_equal(rc, SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	return db;
}

static void
assert_integrity(const char *path)
{
	sqlite3 *db = ro_open(path);
	sqlite3_stmt *st = NULL;
	int rows = 0;
	int rc;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		if (strcmp(t, "ok") != 0) {
			print_error("%s: integrity_check: %s\n", path, t);
		}
		assert_string_equal(t, "ok");
		rows++;
	}
	assert_int_equal(rc, SQLITE_DONE);
	assert_int_equal(rows, 1);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static sqlite3_stmt *
prep(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK) {
		print_error("%s: %s\n", sql, sqlite3_errmsg(db));
	}
	assert_int_equal(rc, SQLITE_OK);
	return st;
}

static long long
query_int(sqlite3 *db, const char *sql, const char *arg)
{
	sqlite3_stmt *st = prep(db, sql);
	long long n;

	if (arg != NULL) {
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	}
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* A replica opened through the store (its log and clocks read back as the store reads them). */
static sto_db *
st_open(const char *path)
{
	sto_opts o;
	sto_db *db = NULL;
	int rv;

	memset(&o, 0, sizeof(o));
	rv = sto_open(&db, path, &o);
	if (rv != OCOP_OK) {
		print_error("cannot open %s: %s\n", path, ocop_strerror(rv));
	}
	assert_int_equal(rv, OCOP_OK);
	return db;
}

/* Order records by (site, seq). */
static int
rec_cmp(const void *a, const void *b)
{
	const tr_rec *x = a;
	const tr_rec *y = b;
	int c = strcmp(x->c.site, y->c.site);

	return c != 0 ? c : x->c.seq < y->c.seq ? -1 : x->c.seq > y->c.seq;
}

/* Every record of db's log, sorted by (site, seq); reading it back whole is part of the check. */
static tr_rec *
log_sorted(sto_db *db, const char *who, size_t *n)
{
	tr_rec *recs = NULL;
	int rv = tr_log_all(db, 0, &recs, n);

	if (rv != OCOP_OK) {
		print_error("%s: the log does not read back: %s\n", who, sto_errmsg(db));
	}
	assert_int_equal(rv, OCOP_OK);
	qsort(recs, *n, sizeof(*recs), rec_cmp);
	return recs;
}

/* The record (site, seq) of a sorted log, or NULL. */
static const tr_rec *
log_find(const tr_rec *recs, size_t n, const char *site, uint64_t seq)
{
	tr_rec key;

	memset(&key, 0, sizeof(key));
	snprintf(key.c.site, sizeof(key.c.site), "%s", site);
	key.c.seq = seq;
	return bsearch(&key, recs, n, sizeof(*recs), rec_cmp);
}

static const char *
write_row_id(const fx *f, const kwrite *w)
{
	return w->row >= 0 ? f->rows[w->row].id : f->shared[-1 - w->row];
}

static const char *
write_unit(const fx *f, const kwrite *w)
{
	return w->row >= 0 ? f->rows[w->row].unit : UNIT_A;
}

static bool
in_scope(const ksite *s, const char *unit)
{
	return s->wide || strcmp(unit, UNIT_A) == 0;
}

/* Does the encoded cell map hold col = value? */
static bool
cells_hold(const uint8_t *cells, size_t len, kcol col, const char *value, uint64_t *base)
{
	proto_cells_it it;
	proto_cell c;

	if (proto_cells_open(&it, cells, len, NULL) != OCOP_OK) {
		return false;
	}
	while (proto_cells_next(&it, &c) == OCOP_OK) {
		if (strcmp(c.col, kcol_names[col]) != 0) {
			continue;
		}
		if (base != NULL) {
			*base = c.base_hlc;
		}
		if (col == K_DELETED) {
			return c.v.type == PROTO_V_INT && c.v.i == 1;
		}
		return c.v.type == PROTO_V_TEXT && c.v.len == strlen(value) && memcmp(c.v.p, value, c.v.len) == 0;
	}
	return false;
}

/*
 * Every recorded write is in the log of db (the server when site is NULL) as the
 * very change its writer logged, when db's scope holds its row, and absent
 * otherwise. *hlcs receives each write's HLC on db (0 when absent).
 */
static void
check_writes_logged(fx *f, sto_db *db, const ksite *site, uint64_t *hlcs)
{
	const char *who = site ? site->name : "server";
	size_t n = 0;
	tr_rec *recs = log_sorted(db, who, &n);
	size_t k;
	size_t bad = 0;

	for (k = 0; k < f->nw; k++) {
		const kwrite *w = &f->w[k];
		bool want = site == NULL || in_scope(site, write_unit(f, w));
		const tr_rec *r = log_find(recs, n, f->s[w->site].id, w->seq);
		bool have = r != NULL;

		hlcs[k] = 0;
		if (have && (strcmp(r->c.row, write_row_id(f, w)) != 0 ||
				!cells_hold(r->c.cells, r->c.cells_len, w->col, w->value, NULL))) {
			print_error("%s: change %s/%" PRIu64 " is not the write of %s = '%s' on %s\n", who,
			    f->s[w->site].name, w->seq, kcol_names[w->col], w->value, write_row_id(f, w));
			bad++;
		} else if (have != want) {
			if (bad++ < 10) {
				print_error("%s: write %s/%" PRIu64 " (%s = '%s') is %s\n", who, f->s[w->site].name, w->seq,
				    kcol_names[w->col], w->value, have ? "there though outside the scope" : "missing");
			}
		} else if (have) {
			hlcs[k] = r->c.hlc;
		}
	}
	tr_log_free(recs, n);
	assert_int_equal(bad, 0);
}

/* Own rows hold their last written values where the scope holds them, and exist nowhere else. */
static void
check_own_rows(fx *f, sqlite3 *db, const ksite *site)
{
	sqlite3_stmt *st = prep(db, "SELECT name, address, deleted FROM subject WHERE id = ?1");
	char (*name)[64] = com_calloc(f->nrows + 1, 64);
	char (*addr)[64] = com_calloc(f->nrows + 1, 64);
	bool *del = com_calloc(f->nrows + 1, sizeof(bool));
	size_t k;
	size_t bad = 0;

	assert_true(name != NULL && addr != NULL && del != NULL);
	for (k = 0; k < f->nw; k++) {
		const kwrite *w = &f->w[k];
		if (w->row < 0) {
			continue;
		}
		if (w->col == K_NAME) {
			snprintf(name[w->row], 64, "%s", w->value);
		} else if (w->col == K_ADDRESS) {
			snprintf(addr[w->row], 64, "%s", w->value);
		} else if (w->col == K_DELETED) {
			del[w->row] = true;
		}
	}
	for (k = 0; k < f->nrows; k++) {
		const krow *r = &f->rows[k];
		bool want = site == NULL || in_scope(site, r->unit);
		bool have;

		sqlite3_bind_text(st, 1, r->id, -1, SQLITE_STATIC);
		have = sqlite3_step(st) == SQLITE_ROW;
		if (have != want) {
			if (bad++ < 10) {
				print_error("%s: row %s of %s is %s\n", site ? site->name : "server", r->id,
				    f->s[r->site].name, have ? "there though outside the scope" : "missing");
			}
		} else if (have) {
			const char *n = (const char *)sqlite3_column_text(st, 0);
			const char *a = (const char *)sqlite3_column_text(st, 1);
			bool d = sqlite3_column_int(st, 2) != 0;
			if (n == NULL || strcmp(n, name[k]) != 0 || strcmp(a ? a : "", addr[k]) != 0 || d != del[k]) {
				if (bad++ < 10) {
					print_error("%s: row %s holds ('%s', '%s', %d), its writer %s last wrote ('%s', '%s', %d)\n",
					    site ? site->name : "server", r->id, n ? n : "(null)", a ? a : "", d,
					    f->s[r->site].name, name[k], addr[k], del[k]);
				}
			}
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	com_free(name);
	com_free(addr);
	com_free(del);
	assert_int_equal(bad, 0);
}

/*
 * Every write to a shared row that is not the row's current value was either
 * seen by a later edit (whose base version is that write's HLC) or lost a
 * conflict and is in db's ledger (DESIGN.md section 6, invariant 2).
 */
static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a;
	uint64_t y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void
check_shared_rows(fx *f, sto_db *sdb, const char *who, const uint64_t *hlcs)
{
	sqlite3 *db = sto_sqlite(sdb);
	size_t nrecs = 0;
	tr_rec *recs = log_sorted(sdb, who, &nrecs);
	sqlite3_stmt *cur = prep(db, "SELECT phone FROM subject WHERE id = ?1");
	sqlite3_stmt *led = prep(db,
	    "SELECT COUNT(*) FROM ledger WHERE tbl = 'subject' AND row_id = ?1 AND col = 'phone'"
	    " AND lost_site = ?2 AND lost_value = ?3");
	uint64_t *bases[NSHARED];
	size_t nbases[NSHARED];
	size_t k;
	size_t bad = 0;
	int seen = 0;
	int ledgered = 0;

	/* The base version of every phone edit of each shared row, sorted. */
	for (k = 0; k < NSHARED; k++) {
		size_t cap = 256;
		bases[k] = com_malloc(cap * sizeof(uint64_t));
		nbases[k] = 0;
		assert_non_null(bases[k]);
		for (size_t r = 0; r < nrecs; r++) {
			uint64_t base = 0;
			if (strcmp(recs[r].c.tbl, "subject") != 0 || strcmp(recs[r].c.row, f->shared[k]) != 0) {
				continue;
			}
			cells_hold(recs[r].c.cells, recs[r].c.cells_len, K_PHONE, "", &base);
			if (nbases[k] == cap) {
				cap *= 2;
				bases[k] = com_realloc(bases[k], cap * sizeof(uint64_t));
				assert_non_null(bases[k]);
			}
			bases[k][nbases[k]++] = base;
		}
		qsort(bases[k], nbases[k], sizeof(uint64_t), u64_cmp);
	}
	for (k = 0; k < f->nw; k++) {
		const kwrite *w = &f->w[k];
		int sh = -1 - w->row;
		const char *row;
		const char *v;
		bool ok = false;

		if (w->row >= 0) {
			continue;
		}
		row = write_row_id(f, w);
		sqlite3_bind_text(cur, 1, row, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(cur), SQLITE_ROW);
		v = (const char *)sqlite3_column_text(cur, 0);
		ok = v != NULL && strcmp(v, w->value) == 0;
		sqlite3_reset(cur);
		if (!ok) {
			ok = bsearch(&hlcs[k], bases[sh], nbases[sh], sizeof(uint64_t), u64_cmp) != NULL;
			seen += ok;
		}
		if (!ok) {
			sqlite3_bind_text(led, 1, row, -1, SQLITE_STATIC);
			sqlite3_bind_text(led, 2, f->s[w->site].id, -1, SQLITE_STATIC);
			sqlite3_bind_text(led, 3, w->value, -1, SQLITE_STATIC);
			assert_int_equal(sqlite3_step(led), SQLITE_ROW);
			ok = sqlite3_column_int(led, 0) > 0;
			sqlite3_reset(led);
			ledgered += ok;
		}
		if (!ok && bad++ < 10) {
			print_error("%s: %s's phone '%s' on shared row %s is neither current, nor seen by a later edit, "
				    "nor in the ledger\n", who, f->s[w->site].name, w->value, row);
		}
	}
	for (k = 0; k < NSHARED; k++) {
		com_free(bases[k]);
	}
	sqlite3_finalize(cur);
	sqlite3_finalize(led);
	tr_log_free(recs, nrecs);
	print_message("  %s: shared-row writes superseded by later edits %d, in the ledger %d\n", who, seen, ledgered);
	assert_int_equal(bad, 0);
}

/* The server numbers each site's changes 1..high-water, each once, and holds them all. */
static void
check_server_numbering(fx *f, sqlite3 *srv)
{
	int i;

	for (i = 0; i < NSITES; i++) {
		ksite *s = &f->s[i];
		sqlite3 *db = ro_open(s->path);
		sqlite3_stmt *st = prep(srv,
		    "SELECT COUNT(*), COUNT(DISTINCT seq), COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM change"
		    " WHERE site = (SELECT no FROM site_ref WHERE uuid = ?1)");
		long long hw = query_int(srv, "SELECT high_water FROM peer WHERE site = ?1", s->id);
		long long own = query_int(db,
		    "SELECT COALESCE(MAX(seq), 0) FROM change WHERE site = (SELECT no FROM site_ref WHERE uuid = ?1)", s->id);
		long long own_n =
		    query_int(db, "SELECT COUNT(*) FROM change WHERE site = (SELECT no FROM site_ref WHERE uuid = ?1)", s->id);

		sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		print_message("  server holds %lld changes of %s (distinct %lld, seq %lld..%lld, high-water %lld);"
			      " the site logged %lld\n",
		    sqlite3_column_int64(st, 0), s->name, sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2),
		    sqlite3_column_int64(st, 3), hw, own);
		assert_int_equal(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1));
		assert_int_equal(sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 3));
		assert_int_equal(sqlite3_column_int64(st, 2), own > 0 ? 1 : 0);
		assert_int_equal(sqlite3_column_int64(st, 3), hw);
		assert_int_equal(hw, own);
		assert_int_equal(own_n, own); /* the site's own numbering is dense too */
		sqlite3_finalize(st);
		sqlite3_close(db);
	}
}

/*
 * A site's log and the server's agree: every change the site holds is the
 * server's change with the same (site, seq), the same record byte for byte
 * as each would send it, and every server change of another writer on a row
 * in the site's scope reached the site.
 */
static void
check_logs_agree(fx *f, const ksite *s)
{
	char uri[800];
	char sql[900];
	sto_db *site = st_open(s->path);
	sto_db *srv = st_open(f->prov);
	sqlite3 *db = sto_sqlite(site);
	char *err = NULL;
	size_t nmine = 0;
	size_t ntheirs = 0;
	tr_rec *mine = log_sorted(site, s->name, &nmine);
	tr_rec *theirs = log_sorted(srv, "server", &ntheirs);
	long long n = 0;
	size_t k;

	for (k = 0; k < nmine; k++) {
		const proto_change *m = &mine[k].c;
		const tr_rec *v = log_find(theirs, ntheirs, m->site, m->seq);
		if (v == NULL || strcmp(v->c.tbl, m->tbl) != 0 || strcmp(v->c.row, m->row) != 0 || v->c.hlc != m->hlc ||
		    v->c.cells_len != m->cells_len || memcmp(v->c.cells, m->cells, m->cells_len) != 0) {
			n++;
		}
	}
	tr_log_free(mine, nmine);
	tr_log_free(theirs, ntheirs);
	sto_close(srv);
	if (n != 0) {
		print_error("%s: %lld changes differ from the server's or are not there\n", s->name, n);
	}
	assert_int_equal(n, 0);
	snprintf(uri, sizeof(uri), "ATTACH 'file:%s?mode=ro' AS srv", f->prov);
	if (sqlite3_exec(db, uri, NULL, NULL, &err) != SQLITE_OK) {
		print_error("%s: %s\n", uri, err);
		fail();
	}
	/* Writers are numbered by each replica on its own: match them by UUID. */
	snprintf(sql, sizeof(sql),
	    "SELECT COUNT(*) FROM srv.change v JOIN srv.site_ref vs ON vs.no = v.site JOIN srv.subject r ON r.id = v.row_id"
	    " WHERE vs.uuid != ?1 AND (r.unit_code = '" UNIT_A "' OR %d) AND NOT EXISTS"
	    " (SELECT 1 FROM main.change m JOIN main.site_ref ms ON ms.no = m.site WHERE ms.uuid = vs.uuid AND m.seq = v.seq)",
	    s->wide ? 1 : 0);
	n = query_int(db, sql, s->id);
	if (n != 0) {
		print_error("%s: %lld server changes in its scope never reached it\n", s->name, n);
	}
	assert_int_equal(n, 0);
	n = query_int(db, "SELECT COUNT(*) - COUNT(DISTINCT site || '/' || seq) FROM main.change", NULL);
	assert_int_equal(n, 0);
	sqlite3_exec(db, "DETACH srv", NULL, NULL, NULL);
	sto_close(site);
}

/* Rows and cell versions of the subjects in a scope, as text. */
static void
dump_scope(sto_db *sdb, bool wide, com_buf *out)
{
	sqlite3 *db = sto_sqlite(sdb);
	char sql[600];
	sqlite3_stmt *st;
	int i;

	snprintf(sql, sizeof(sql),
	    "SELECT id, name, kind, reg_no, reg_date, rep_name, rep_gender, rep_ethnicity, rep_disability, address,"
	    " unit_code, phone, email, deleted FROM subject WHERE unit_code = '" UNIT_A "' OR %d ORDER BY id", wide);
	st = prep(db, sql);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < sqlite3_column_count(st); i++) {
			const char *t = (const char *)sqlite3_column_text(st, i);
			com_buf_printf(out, "%d:%s|", sqlite3_column_type(st, i), t ? t : "");
		}
		com_buf_puts(out, "\n");
	}
	sqlite3_reset(st);
	/* Every cell's version, as the store reads it (the packed clock is each replica's own encoding). */
	while (sqlite3_step(st) == SQLITE_ROW) {
		const sto_table *t = sto_schema_table("subject");
		const char *id = (const char *)sqlite3_column_text(st, 0);
		size_t c;
		for (c = 0; c < t->ncols; c++) {
			uint64_t hlc;
			int64_t aux;
			char site[37];
			bool found;
			if (sto_clock_get(sdb, "subject", id, t->cols[c].name, &hlc, site, &aux, &found) == OCOP_OK && found) {
				com_buf_printf(out, "%s %s %llu %s %lld\n", id, t->cols[c].name, (unsigned long long)hlc, site,
				    (long long)aux);
			}
		}
	}
	sqlite3_finalize(st);
	com_buf_append(out, "", 1);
}

static void
check_converged(sto_db *srv, const ksite *s)
{
	sto_db *db = st_open(s->path);
	com_buf a;
	com_buf b;

	com_buf_init(&a);
	com_buf_init(&b);
	dump_scope(srv, s->wide, &a);
	dump_scope(db, s->wide, &b);
	if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
		size_t k = 0;
		while (k < a.len && k < b.len && a.data[k] == b.data[k]) {
			k++;
		}
		k = k > 200 ? k - 200 : 0;
		print_error("%s differs from the server in its scope; server:\n%.400s\nsite:\n%.400s\n", s->name,
		    (const char *)a.data + k, (const char *)b.data + k);
		fail();
	}
	com_buf_fini(&a);
	com_buf_fini(&b);
	sto_close(db);
}

/* ===== The test ===== */

/* Shared rows: made by a, synced to everyone before the kills begin. */
static void
make_shared_rows(fx *f)
{
	char *o = NULL;
	int k;
	int i;

	for (k = 0; k < NSHARED; k++) {
		char args[200];
		snprintf(args, sizeof(args), "subject add --name 'Hợp tác xã Dừa chung %d' --kind htx --unit " UNIT_A, k);
		assert_int_equal(ocop(f, 0, &o, args), 0);
		snprintf(f->shared[k], sizeof(f->shared[k]), "%.36s", o);
		com_free(o);
	}
	for (i = 0; i < NSITES; i++) {
		assert_int_equal(ocop(f, i, NULL, "sync"), 0);
	}
}

/* Sync every site (blocking) until nothing is pending, then once more so all have pulled. */
static void
sync_to_quiet(fx *f)
{
	int round;
	int quiet_rounds = 0;
	int i;

	for (round = 0; round < 20 && quiet_rounds < 2; round++) {
		bool quiet = true;
		for (i = 0; i < NSITES; i++) {
			char *o = NULL;
			json_t *j;
			if (ocop(f, i, &o, "sync") != 0) {
				print_message("sync of %s failed: %s\n", f->s[i].name, o);
			}
			com_free(o);
			j = site_status(f, i);
			quiet &= json_integer_value(json_object_get(j, "pending_changes")) == 0;
			json_decref(j);
		}
		quiet_rounds = quiet ? quiet_rounds + 1 : 0;
	}
	assert_int_equal(quiet_rounds, 2);
	for (i = 0; i < NSITES; i++) {
		json_t *j = site_status(f, i);
		assert_int_equal(json_integer_value(json_object_get(j, "pending_changes")), 0);
		assert_string_equal(jstr(j, "last_error"), "");
		json_decref(j);
	}
}

/*
 * With the server away, the watchers keep retrying with backoff and `ocop
 * status` says why the last attempt failed. Starts from everything running.
 */
static void
check_status_names_the_failure(fx *f)
{
	long long until = now_ms() + 120000;
	char log[32];
	int i;
	bool done = false;

	/* First every watcher has caught up (its last attempt succeeded)... */
	while (!done) {
		done = true;
		for (i = 0; i < NSITES && done; i++) {
			json_t *j = site_status(f, i);
			done = jstr(j, "last_error")[0] == 0 && json_integer_value(json_object_get(j, "pending_changes")) == 0;
			json_decref(j);
		}
		if (now_ms() > until) {
			fail_msg("the watchers did not catch up within 120 s");
		}
		if (!done) {
			pause_ms(100);
		}
	}
	/* ...then the server goes away and every site's status says so. */
	proc_kill(&f->server, SIGKILL);
	f->server_kills++;
	until = now_ms() + 30000;
	for (i = 0; i < NSITES; i++) {
		for (;;) {
			json_t *j = site_status(f, i);
			bool failed = jstr(j, "last_error")[0] != 0;
			if (failed) {
				print_message("  %s: status says: %s\n", f->s[i].name, jstr(j, "last_error"));
			}
			json_decref(j);
			if (failed) {
				break;
			}
			if (now_ms() > until) {
				fail_msg("%s's status does not name the failure within 30 s", f->s[i].name);
			}
			pause_ms(100);
		}
		snprintf(log, sizeof(log), "watch-%s.log", f->s[i].name);
		proc_assert_running(f, &f->s[i].watcher, "ocop sync --watch", log);
	}
}

static void
test_killed_servers_and_watchers_lose_nothing_and_converge(void **state)
{
	fx *f = *state;
	const char *env = getenv("OCOP_KILL_CYCLES");
	int cycles = env != NULL && atoi(env) > 0 ? atoi(env) : 30;
	uint64_t seed = f->rng;
	int down_for = 0;
	long long t0 = now_ms();
	uint64_t *hlcs;
	sto_db *srv;
	int cycle;
	int i;

	print_message("fault.kill: seed %" PRIu64 ", %d cycles (replay the choices with OCOP_KILL_SEED=%" PRIu64
		      " OCOP_KILL_CYCLES=%d; OCOP_KILL_KEEP=1 keeps the files)\n",
	    seed, cycles, seed, cycles);
	start_server(f);
	make_shared_rows(f);

	for (cycle = 0; cycle < cycles; cycle++) {
		long long deadline;
		long long cli_at;
		unsigned what;
		unsigned victims;
		bool killed[NSITES] = {false};
		bool server_killed = false;

		/* Start what is not running; the server may stay away for a cycle. */
		if (f->server == 0 && down_for == 0) {
			start_server(f);
		} else if (down_for > 0) {
			down_for--;
		}
		for (i = 0; i < NSITES; i++) {
			if (f->s[i].watcher == 0) {
				start_watcher(f, i);
			}
		}
		/* The kill comes at a random moment: soon after the restarts (start-up,
		 * recovery, the first HELLO) or once syncing is under way. */
		deadline = now_ms() + (rnd_below(f, 10) < 3 ? 20 + rnd_below(f, 381) : 400 + rnd_below(f, 1601));
		/* Half the cycles also run a writer process, started shortly before the kill. */
		cli_at = rnd_below(f, 2) == 0 ? deadline - (long long)rnd_below(f, 150) : 0;
		/* Now and then a burst of one transaction: now and then more than a
		 * PUSH batch (about 5000 changes), so sessions span several batches. */
		if (rnd_below(f, 5) == 0) {
			write_txn(f, (int)rnd_below(f, NSITES), 300 + (int)rnd_below(f, 1700));
			f->bursts++;
		} else if (rnd_below(f, 15) == 0) {
			write_txn(f, (int)rnd_below(f, NSITES), 6000 + (int)rnd_below(f, 1000));
			f->bursts++;
		}
		while (now_ms() < deadline) {
			if (cli_at > 0 && now_ms() >= cli_at) {
				cli_writer_start(f);
				cli_at = 0;
			}
			write_txn(f, (int)rnd_below(f, NSITES), 1 + (int)(rnd_below(f, 8) == 0 ? rnd_below(f, 5) : 0));
			pause_ms(2 + (long)rnd_below(f, 14));
		}

		/* Nothing of ours died on its own... */
		proc_assert_running(f, &f->server, "ocopd", "ocopd.log");
		for (i = 0; i < NSITES; i++) {
			char log[32];
			snprintf(log, sizeof(log), "watch-%s.log", f->s[i].name);
			proc_assert_running(f, &f->s[i].watcher, "ocop sync --watch", log);
		}
		/* ...and now the server, some watchers, or both die. */
		what = rnd_below(f, 4);
		if (what != 1 && f->server > 0) {
			proc_kill(&f->server, SIGKILL);
			f->server_kills++;
			server_killed = true;
			down_for = what == 3;
		}
		victims = what != 0 ? 1 + rnd_below(f, (1u << NSITES) - 1) : 0; /* a non-empty set */
		for (i = 0; i < NSITES; i++) {
			if (victims & (1u << i)) {
				proc_kill(&f->s[i].watcher, SIGKILL);
				f->watcher_kills++;
				killed[i] = true;
			}
		}
		/* A writer process killed mid-write acknowledged nothing; whatever it
		 * committed must still converge like any other row. */
		if (f->writer > 0 && rnd_below(f, 4) == 0) {
			kill(f->writer, SIGKILL);
		}
		cli_writer_finish(f);
		/* A database whose processes all died must be sound as they left it. */
		if (server_killed) {
			assert_integrity(f->prov);
		}
		for (i = 0; i < NSITES; i++) {
			if (killed[i]) {
				assert_integrity(f->s[i].path);
			}
		}
	}
	print_message("  %d cycles in %lld ms: %zu writes (%d through ocop, %d bursts), %d server kills, "
		      "%d watcher kills, %d writer kills\n",
	    cycles, now_ms() - t0, f->nw, f->cli_writes, f->bursts, f->server_kills, f->watcher_kills,
	    f->cli_killed);
	{
		char *o = NULL;
		tu_run(&o, 0, "printf '%%s sessions completed, %%s PUSHes served, %%s of them with resent changes'"
			      " $(cat %s/watch-*.log | grep -c '^synced') $(grep -c 'PUSH from' %s/ocopd.log)"
			      " $(grep 'PUSH from' %s/ocopd.log | grep -vc ' 0 duplicates')",
		    f->dir, f->dir, f->dir);
		print_message("  %s\n", o);
		com_free(o);
	}

	/* Everything back up; then the status names a failure while the server is away. */
	if (f->server == 0) {
		start_server(f);
	}
	for (i = 0; i < NSITES; i++) {
		if (f->s[i].watcher == 0) {
			start_watcher(f, i);
		}
	}
	check_status_names_the_failure(f);
	/* A watcher stops cleanly on SIGTERM, not a crash (a signal's death is 128 + its
	 * number): exit 3 (its last attempt found the connection refused), 1 (the server,
	 * stopping under it, closed the connection while it opened: seen once in CI) or
	 * 130 (stopped while it waited for the server). */
	for (i = 0; i < NSITES; i++) {
		int rc = tp_stop(f->s[i].watcher, SIGTERM);
		if (rc != 1 && rc != 3 && rc != 130) {
			print_error("watcher %d exited %d\n", i, rc);
		}
		assert_true(rc == 1 || rc == 3 || rc == 130);
		f->s[i].watcher = 0;
	}
	assert_int_equal(tu_run(NULL, 0, "grep -q 'retrying in' %s/watch-*.log", f->dir), 0);

	/* A clean finish: every site syncs until nothing is pending and all have pulled. */
	start_server(f);
	sync_to_quiet(f);
	print_message("  everyone synced after %lld ms\n", now_ms() - t0);
	assert_int_equal(tp_stop(f->server, SIGTERM), 0);
	f->server = 0;

	/* The checks. */
	print_message("  everything stopped after %lld ms\n", now_ms() - t0);
	assert_integrity(f->prov);
	for (i = 0; i < NSITES; i++) {
		assert_integrity(f->s[i].path);
	}
	hlcs = com_calloc(f->nw + 1, sizeof(*hlcs));
	assert_non_null(hlcs);
	srv = st_open(f->prov);
	print_message("  integrity checked after %lld ms\n", now_ms() - t0);
	check_server_numbering(f, sto_sqlite(srv));
	check_writes_logged(f, srv, NULL, hlcs);
	check_own_rows(f, sto_sqlite(srv), NULL);
	check_shared_rows(f, srv, "server", hlcs);
	for (i = 0; i < NSITES; i++) {
		sto_db *db = st_open(f->s[i].path);
		check_writes_logged(f, db, &f->s[i], hlcs);
		check_own_rows(f, sto_sqlite(db), &f->s[i]);
		check_shared_rows(f, db, f->s[i].name, hlcs);
		sto_close(db);
		check_logs_agree(f, &f->s[i]);
		check_converged(srv, &f->s[i]);
	}
	sto_close(srv);
	com_free(hlcs);
	print_message("  all checks passed after %lld ms\n", now_ms() - t0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_killed_servers_and_watchers_lose_nothing_and_converge, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
