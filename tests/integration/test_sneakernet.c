/*
 * integration.sneakernet: sync by USB file between real `ocop` and `ocopd`
 * processes: `ocop export` -> `ocopd import` -> `ocop import` of the reply.
 *
 * Each case has its own provincial database and two commune sites, a and b,
 * registered with `ocopd site add`. The server does not run unless a case
 * starts it (one case imports into the database of a running server). State
 * is compared through the programs' own --json views and a dump of every
 * replica (rows, cell versions, change log and ledger sizes).
 */
#include "tests/lib/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "protocol/bundle.h"
#include "protocol/change.h"
#include "protocol/session.h"
#include "tests/lib/enrol.h"
#include "tests/lib/proc.h"
#include "tests/lib/replica.h"

typedef struct site {
	const char *name; /* file stem */
	char id[64];      /* site id from ocopd site add */
	char cred[128];   /* its credential */
} site;

typedef struct fx {
	char *dir;       /* temp dir, owned */
	char ocop[512];  /* ocop binary */
	char ocopd[512]; /* ocopd binary */
	char data[512];  /* data dir */
	char url[64];    /* where a server would listen */
	int port;        /* its port */
	pid_t server;    /* ocopd serve, or 0 when not running */
	site s[2];       /* a and b: communes of 83-100 */
} fx;

/* ===== Running the programs ===== */

/* Run ocop on a site's database; exit code, merged output in *out (may be NULL). */
static int
ocop(fx *f, const char *db, char **out, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
ocop(fx *f, const char *db, char **out, const char *fmt, ...)
{
	char args[1024];
	char *o = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	/* JSON goes to stdout; warnings on stderr would spoil it. */
	rc = tu_run(&o, strstr(args, "--json") == NULL, "cd %s && OCOP_DB=%s/%s.db OCOP_DATA_DIR=%s %s %s",
	    f->dir, f->dir, db, f->data, f->ocop, args);
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

/* Run ocopd in the test's directory; exit code, merged output in *out (may be NULL). */
static int
ocopd(fx *f, char **out, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
ocopd(fx *f, char **out, const char *fmt, ...)
{
	char args[1024];
	char *o = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = tu_run(&o, strstr(args, "--json") == NULL, "cd %s && OCOP_DATA_DIR=%s %s %s", f->dir, f->data,
	    f->ocopd, args);
	if (out != NULL) {
		*out = o;
	} else {
		if (rc != 0) {
			print_error("ocopd %s exited %d: %s\n", args, rc, o);
		}
		com_free(o);
	}
	return rc;
}

/* The first line of ocop's output (an id), asserting success. */
static void
ocop_id(fx *f, const char *db, char *id, size_t cap, const char *args)
{
	char *o = NULL;
	int rc = ocop(f, db, &o, "%s", args);

	if (rc != 0) {
		print_error("ocop %s: %s\n", args, o);
	}
	assert_int_equal(rc, 0);
	snprintf(id, cap, "%.36s", o);
	com_free(o);
}

static json_t *
parse_json(const char *what, char *o)
{
	json_t *j = json_loads(o, 0, NULL);

	if (j == NULL) {
		print_error("not JSON from %s: %s\n", what, o);
	}
	assert_non_null(j);
	com_free(o);
	return j;
}

static json_t *
ocop_json(fx *f, const char *db, const char *args)
{
	char *o = NULL;

	assert_int_equal(ocop(f, db, &o, "%s", args), 0);
	return parse_json(args, o);
}

static const char *
jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : "";
}

static long long
jint(const json_t *o, const char *k)
{
	return (long long)json_integer_value(json_object_get(o, k));
}

/* One USB round of a site with the server's database: export, import there, import the reply. */
static void
usb_round(fx *f, const char *name)
{
	assert_int_equal(ocop(f, name, NULL, "export --out %s.req", name), 0);
	assert_int_equal(ocopd(f, NULL, "import --db prov.db --in %s.req --reply %s.rep", name, name), 0);
	assert_int_equal(ocop(f, name, NULL, "import --in %s.rep", name), 0);
}

/* ===== Fixture ===== */

static int
setup(void **state)
{
	static const char *const names[2] = {"a", "b"};
	fx *f = com_calloc(1, sizeof(*f));
	int i;

	f->dir = tu_mkdtemp();
	tu_bin(f->ocop, sizeof(f->ocop), "ocop");
	tu_bin(f->ocopd, sizeof(f->ocopd), "ocopd");
	tu_src(f->data, sizeof(f->data), "data");
	f->port = tp_free_port();
	snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", f->port);
	if (ocopd(f, NULL, "init --db prov.db --role province --scope 83") != 0) {
		return -1;
	}
	for (i = 0; i < 2; i++) {
		site *s = &f->s[i];
		char pdb[600];
		char sdb[600];
		char id[37];
		te_site ts;

		s->name = names[i];
		snprintf(pdb, sizeof(pdb), "%s/prov.db", f->dir);
		snprintf(sdb, sizeof(sdb), "%s/%s.db", f->dir, s->name);
		memset(&ts, 0, sizeof(ts));
		ts.dir = f->dir;
		ts.server_db = pdb;
		ts.site_db = sdb;
		ts.role = "commune";
		ts.scope = "83-100";
		ts.name = s->name;
		ts.url = f->url;
		if (te_site_add(&ts, id, s->cred, sizeof(s->cred), NULL) != 0) {
			return -1;
		}
		snprintf(s->id, sizeof(s->id), "%s", id);
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	if (f->server > 0) {
		assert_int_equal(tp_stop(f->server, SIGTERM), 0);
	}
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

static void
start_server(fx *f)
{
	char db[600];
	char log[600];
	char *argv[] = {f->ocopd, "serve", "--db", db, "--listen", f->url, NULL};

	snprintf(db, sizeof(db), "%s/prov.db", f->dir);
	snprintf(log, sizeof(log), "%s/ocopd.log", f->dir);
	setenv("OCOP_DATA_DIR", f->data, 1);
	f->server = tp_spawn(argv, log);
	assert_true(f->server > 0);
	assert_int_equal(tp_wait_port(f->port, 5000), 0);
}

/* ===== State of everything, to compare ===== */

/* Append a replica's rows and cell versions, and its log and ledger sizes. */
static void
dump_db(fx *f, const char *name, bool times, com_buf *out)
{
	char path[600];
	sqlite3_stmt *st = NULL;
	sto_opts o;
	sto_db *db = NULL;

	memset(&o, 0, sizeof(o));
	snprintf(path, sizeof(path), "%s/%s.db", f->dir, name);
	assert_ok(sto_open(&db, path, &o));
	assert_ok(com_buf_printf(out, "== %s\n", name));
	assert_ok(tr_dump(db, out, true));
	assert_int_equal(sqlite3_prepare_v2(sto_sqlite(db),
			     "SELECT (SELECT COUNT(*) FROM change), (SELECT COUNT(*) FROM ledger),"
			     " (SELECT group_concat(key || '=' || value, ';') FROM (SELECT * FROM meta"
			     "   WHERE key IN ('push_high_water', 'pull_cursor', 'last_sync', 'server_site')"
			     "   AND (?1 OR key <> 'last_sync') ORDER BY key))",
			     -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int(st, 1, times);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_ok(com_buf_printf(out, "changes %lld ledger %lld meta %s\n", sqlite3_column_int64(st, 0),
	    sqlite3_column_int64(st, 1), sqlite3_column_text(st, 2) ? (const char *)sqlite3_column_text(st, 2) : ""));
	sqlite3_finalize(st);
	sto_close(db);
}

/*
 * Everything a second import could change: each replica's dump, `ocopd status
 * --json` (without last_seen, the time of the last request, which an import is
 * one of) and each site's `ocop status --json`. Without times, a site's
 * last_sync is left out too: importing a newer reply moves it forward.
 */
static char *
snapshot(fx *f, bool times)
{
	com_buf b;
	char *o = NULL;
	json_t *j;
	json_t *entry;
	size_t i;
	char *s;

	com_buf_init(&b);
	dump_db(f, "prov", times, &b);
	dump_db(f, "a", times, &b);
	dump_db(f, "b", times, &b);
	assert_int_equal(ocopd(f, &o, "status --db prov.db --json"), 0);
	j = parse_json("ocopd status", o);
	json_array_foreach(json_object_get(j, "sites"), i, entry) {
		json_object_del(entry, "last_seen");
	}
	s = json_dumps(j, JSON_SORT_KEYS);
	assert_ok(com_buf_printf(&b, "%s\n", s));
	free(s);
	json_decref(j);
	for (i = 0; i < 2; i++) {
		j = ocop_json(f, f->s[i].name, "status --json");
		if (!times) {
			json_object_del(j, "last_sync");
		}
		s = json_dumps(j, JSON_SORT_KEYS);
		assert_ok(com_buf_printf(&b, "%s\n", s));
		free(s);
		json_decref(j);
	}
	return com_buf_detach(&b, NULL);
}

/* Only the replicas' contents (rows, versions, log and ledger sizes, sync marks). */
static char *
dumps(fx *f)
{
	com_buf b;

	com_buf_init(&b);
	dump_db(f, "prov", false, &b);
	dump_db(f, "a", false, &b);
	dump_db(f, "b", false, &b);
	return com_buf_detach(&b, NULL);
}

static void
assert_same_state(const char *before, const char *after)
{
	size_t i = 0;
	size_t line = 0;

	if (strcmp(before, after) == 0) {
		return;
	}
	/* Show where they part, not the whole dump (cmocka cuts long messages). */
	while (before[i] != 0 && before[i] == after[i]) {
		if (before[i] == '\n') {
			line = i + 1;
		}
		i++;
	}
	print_error("state changed at:\n--- before\n%.300s\n--- after\n%.300s\n", before + line, after + line);
	fail();
}

/* ===== Files ===== */

static uint8_t *
read_bytes(fx *f, const char *name, size_t *len)
{
	char path[600];
	struct stat st;
	uint8_t *p;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "rb");
	assert_non_null(fp);
	assert_int_equal(fstat(fileno(fp), &st), 0);
	*len = (size_t)st.st_size;
	p = com_malloc(*len + 1);
	assert_non_null(p);
	assert_int_equal(fread(p, 1, *len, fp), *len);
	fclose(fp);
	return p;
}

static void
write_bytes(fx *f, const char *name, const uint8_t *p, size_t len)
{
	char path[600];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static bool
file_exists(fx *f, const char *name)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	return access(path, F_OK) == 0;
}

/* Write damaged copies of a bundle: truncated by half, cut by one byte, one bit flipped, a byte appended. */
static void
damage(fx *f, const char *name)
{
	char out[128];
	size_t len;
	uint8_t *p = read_bytes(f, name, &len);

	snprintf(out, sizeof(out), "%s.half", name);
	write_bytes(f, out, p, len / 2);
	snprintf(out, sizeof(out), "%s.short", name);
	write_bytes(f, out, p, len - 1);
	p[len / 3] ^= 0x08;
	snprintf(out, sizeof(out), "%s.flip", name);
	write_bytes(f, out, p, len);
	p[len / 3] ^= 0x08;
	p[len] = '\n';
	snprintf(out, sizeof(out), "%s.long", name);
	write_bytes(f, out, p, len + 1);
	com_free(p);
}

/* A subject, product and dossier written at a site. */
static void
make_dossier(fx *f, const char *name, char subject[40], char dossier[40])
{
	char product[40];
	char args[300];

	ocop_id(f, name, subject, 40, "subject add --name 'HTX Kẹo dừa' --kind htx --unit 83-100");
	snprintf(args, sizeof(args), "product add --subject %s --name 'Kẹo dừa sáp' --set 07", subject);
	ocop_id(f, name, product, sizeof(product), args);
	snprintf(args, sizeof(args), "dossier add --product %s --year 2026 --round 1", product);
	ocop_id(f, name, dossier, 40, args);
}

/* Rows of table with this id on the server. */
static int
server_has(fx *f, const char *table, const char *id)
{
	char path[600];
	char sql[200];
	sqlite3_stmt *st = NULL;
	sto_opts o;
	sto_db *db = NULL;
	int n;

	memset(&o, 0, sizeof(o));
	snprintf(path, sizeof(path), "%s/prov.db", f->dir);
	snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s WHERE id = ?1", table);
	assert_ok(sto_open(&db, path, &o));
	assert_int_equal(sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sto_close(db);
	return n;
}

/* ===== Cases ===== */

static void
test_a_usb_round_moves_changes_both_ways(void **state)
{
	fx *f = *state;
	char subj_a[40];
	char dossier_a[40];
	char subj_b[40];
	char args[120];
	json_t *j;

	/* b's subject reaches the server by its own USB round. */
	ocop_id(f, "b", subj_b, sizeof(subj_b), "subject add --name 'Hộ Bánh tráng Mỹ Lồng' --kind ho --unit 83-100");
	usb_round(f, "b");
	/* a works offline, then does a round. */
	make_dossier(f, "a", subj_a, dossier_a);
	j = ocop_json(f, "a", "status --json");
	assert_int_equal(jint(j, "pending_changes"), 3);
	json_decref(j);
	usb_round(f, "a");
	/* The server has a's rows... */
	assert_int_equal(server_has(f, "subject", subj_a), 1);
	assert_int_equal(server_has(f, "dossier", dossier_a), 1);
	/* ...and a has b's, from the reply. */
	snprintf(args, sizeof(args), "subject show %s --json", subj_b);
	j = ocop_json(f, "a", args);
	assert_string_equal(jstr(j, "name"), "Hộ Bánh tráng Mỹ Lồng");
	json_decref(j);
	/* `ocop status` is right after the round. */
	j = ocop_json(f, "a", "status --json");
	assert_int_equal(jint(j, "pending_changes"), 0);
	assert_int_equal(jint(j, "server_high_water"), 3);
	assert_true(jint(j, "pull_cursor") > 0);
	assert_string_equal(jstr(j, "last_error"), "");
	assert_true(strlen(jstr(j, "last_sync")) == 20);
	json_decref(j);
	/* b's next round brings a's rows to b. */
	usb_round(f, "b");
	snprintf(args, sizeof(args), "dossier show %s --json", dossier_a);
	j = ocop_json(f, "b", args);
	assert_string_equal(jstr(j, "status"), "draft");
	json_decref(j);
}

static void
test_replayed_and_older_files_are_refused_and_change_nothing(void **state)
{
	fx *f = *state;
	char subj[40];
	char dossier[40];
	char subj_b[40];
	char *before;
	char *after;
	char *o = NULL;
	json_t *j;

	ocop_id(f, "b", subj_b, sizeof(subj_b), "subject add --name 'HTX Mật ong' --kind htx --unit 83-100");
	usb_round(f, "b");
	make_dossier(f, "a", subj, dossier);
	usb_round(f, "a");
	before = snapshot(f, true);
	/* The same request again: refused before anything is served, no reply written. */
	assert_int_equal(ocopd(f, &o, "import --db prov.db --in a.req --reply a.rep2"), 2);
	assert_non_null(strstr(o, "already imported"));
	assert_non_null(strstr(o, "nothing was imported"));
	com_free(o);
	assert_false(file_exists(f, "a.rep2"));
	/* The same reply again: refused; nothing at all changes, not even the sync time. */
	assert_int_equal(ocop(f, "a", &o, "import --in a.rep"), 2);
	assert_non_null(strstr(o, "already imported"));
	com_free(o);
	after = snapshot(f, true);
	assert_same_state(before, after);
	com_free(after);
	com_free(before);
	/*
	 * Everything again in a new export, with --all: no data changes anywhere.
	 * (The server does learn the site's newer pull cursor from this export's ACK.)
	 */
	before = dumps(f);
	assert_int_equal(ocop(f, "a", &o, "export --all --out a.all --json"), 0);
	j = parse_json("ocop export", o);
	assert_int_equal(jint(j, "changes"), 3);
	assert_int_equal(jint(j, "bundle"), 2);
	json_decref(j);
	assert_int_equal(ocopd(f, &o, "import --db prov.db --in a.all --reply a.all.rep --json"), 0);
	j = parse_json("ocopd import", o);
	assert_int_equal(jint(j, "applied"), 0);
	assert_int_equal(jint(j, "duplicates"), 3);
	json_decref(j);
	assert_int_equal(ocop(f, "a", NULL, "import --in a.all.rep"), 0);
	/* The first export, and b's reply, once more: refused, older than what was taken. */
	assert_int_equal(ocopd(f, &o, "import --db prov.db --in a.req --reply a.rep3"), 2);
	com_free(o);
	assert_int_equal(ocop(f, "b", &o, "import --in b.rep"), 2);
	com_free(o);
	after = dumps(f);
	assert_same_state(before, after);
	com_free(after);
	com_free(before);
}

static void
test_damaged_files_are_refused_and_change_nothing(void **state)
{
	static const char *const kinds[] = {"half", "short", "flip", "long"};
	static const char *const words[] = {"truncated", "truncated", "authentication failed", "should have"};
	fx *f = *state;
	char subj[40];
	char dossier[40];
	char *before;
	char *after;
	char *o = NULL;
	size_t i;

	make_dossier(f, "a", subj, dossier);
	assert_int_equal(ocop(f, "a", NULL, "export --out a.req"), 0);
	damage(f, "a.req");
	before = snapshot(f, true);
	for (i = 0; i < 4; i++) {
		assert_int_equal(ocopd(f, &o, "import --db prov.db --in a.req.%s --reply out.rep", kinds[i]), 2);
		if (strstr(o, words[i]) == NULL || strstr(o, "nothing was imported") == NULL) {
			print_error("ocopd import of a.req.%s said: %s\n", kinds[i], o);
			fail();
		}
		com_free(o);
		assert_false(file_exists(f, "out.rep"));
	}
	after = snapshot(f, true);
	assert_same_state(before, after);
	com_free(after);
	com_free(before);
	/* The intact file is then served, and its reply damaged on the way back. */
	assert_int_equal(ocopd(f, NULL, "import --db prov.db --in a.req --reply a.rep"), 0);
	damage(f, "a.rep");
	before = snapshot(f, true);
	for (i = 0; i < 4; i++) {
		assert_int_equal(ocop(f, "a", &o, "import --in a.rep.%s", kinds[i]), 2);
		if (strstr(o, words[i]) == NULL) {
			print_error("ocop import of a.rep.%s said: %s\n", kinds[i], o);
			fail();
		}
		com_free(o);
	}
	after = snapshot(f, true);
	assert_same_state(before, after);
	com_free(after);
	com_free(before);
	assert_int_equal(ocop(f, "a", NULL, "import --in a.rep"), 0);
}

static void
test_a_file_for_another_site_or_end_is_refused(void **state)
{
	fx *f = *state;
	char subj[40];
	char *before;
	char *after;
	char *o = NULL;

	ocop_id(f, "b", subj, sizeof(subj), "subject add --name 'HTX Bưởi da xanh' --kind htx --unit 83-100");
	usb_round(f, "b");
	/* Now that b knows its server, its exports are addressed to it. */
	assert_int_equal(ocop(f, "b", NULL, "export --out b2.req"), 0);
	assert_int_equal(ocopd(f, NULL, "init --db other.db --role province --scope 84"), 0);
	before = snapshot(f, true);
	assert_int_equal(ocopd(f, &o, "import --db other.db --in b2.req --reply x.rep"), 2);
	assert_non_null(strstr(o, "was written for server"));
	com_free(o);
	assert_false(file_exists(f, "x.rep"));
	/* b's reply at a. */
	assert_int_equal(ocop(f, "a", &o, "import --in b.rep"), 2);
	assert_non_null(strstr(o, "is for site"));
	assert_non_null(strstr(o, f->s[1].id));
	com_free(o);
	/* A request where a reply belongs, and the other way round. */
	assert_int_equal(ocop(f, "b", &o, "import --in b.req"), 2);
	assert_non_null(strstr(o, "not a server's reply"));
	com_free(o);
	assert_int_equal(ocopd(f, &o, "import --db prov.db --in b.rep --reply x.rep"), 2);
	assert_non_null(strstr(o, "reply for site"));
	com_free(o);
	/* A file that is no bundle at all. */
	write_bytes(f, "notes.txt", (const uint8_t *)"hồ sơ OCOP\n", 12);
	assert_int_equal(ocop(f, "a", &o, "import --in notes.txt"), 2);
	assert_non_null(strstr(o, "not an OCOP sync bundle"));
	com_free(o);
	after = snapshot(f, true);
	assert_same_state(before, after);
	com_free(after);
	com_free(before);
}

/* The server's own site id (the prov.db identity). */
static void
server_id(fx *f, char out[37])
{
	char *o = NULL;
	json_t *j;

	assert_int_equal(ocopd(f, &o, "status --db prov.db --json"), 0);
	j = parse_json("ocopd status", o);
	snprintf(out, 37, "%s", jstr(j, "site_id"));
	json_decref(j);
}

/*
 * A reply bundle for site `site` as an attacker would forge it: the server's
 * HELLO_OK, then one page that deletes `row` (a subject) and moves the
 * site's cursor far ahead, authenticated with the key derived from `secret`.
 */
static void
forge_reply(fx *f, const char *for_site, const char *server, const char *row, const char *secret, const char *file)
{
	proto_bundle_hdr h;
	proto_bundle_wr bw;
	proto_hello_ok hok;
	proto_ack_ok aok;
	proto_batch batch;
	proto_change c;
	proto_value v;
	proto_wr w;
	com_buf cells;
	com_buf m;
	com_buf b;
	uint8_t key[PROTO_BUNDLE_KEY];
	char path[700];
	FILE *out;

	com_buf_init(&cells);
	com_buf_init(&m);
	com_buf_init(&b);
	proto_wr_init(&w, &cells);
	memset(&v, 0, sizeof(v));
	v.type = PROTO_V_INT;
	v.i = 1;
	proto_cells_begin(&w, 1);
	proto_cell_put(&w, "deleted", &v, 0);
	assert_ok(proto_wr_error(&w));
	memset(&h, 0, sizeof(h));
	h.kind = PROTO_BUNDLE_REPLY;
	snprintf(h.site, sizeof(h.site), "%s", for_site);
	snprintf(h.server, sizeof(h.server), "%s", server);
	h.created_ms = UINT64_C(1767225600000);
	h.seq = 2; /* it would answer the forged request above: only the key stops it */
	assert_ok(proto_bundle_begin(&bw, &b, &h));
	memset(&hok, 0, sizeof(hok));
	snprintf(hok.server_site, sizeof(hok.server_site), "%s", server);
	snprintf(hok.server_role, sizeof(hok.server_role), "province");
	hok.max_batch_bytes = 1 << 19;
	hok.schema_version = 2;
	assert_ok(proto_hello_ok_encode(&m, &hok));
	assert_ok(proto_bundle_add(&bw, m.data, m.len));
	memset(&aok, 0, sizeof(aok));
	com_buf_reset(&m);
	assert_ok(proto_ack_ok_encode(&m, &aok));
	assert_ok(proto_bundle_add(&bw, m.data, m.len));
	com_buf_reset(&m);
	assert_ok(proto_pull_ok_begin(&batch, &m, 1 << 20));
	memset(&c, 0, sizeof(c));
	snprintf(c.site, sizeof(c.site), "%s", server);
	c.seq = 999;
	snprintf(c.tbl, sizeof(c.tbl), "subject");
	snprintf(c.row, sizeof(c.row), "%s", row);
	c.hlc = UINT64_C(0x7fff000000000000);
	c.cells = cells.data;
	c.cells_len = cells.len;
	assert_ok(proto_batch_add(&batch, &c));
	assert_ok(proto_pull_ok_end(&batch, 1000000, false, UINT64_C(0x7fff000000000000)));
	assert_ok(proto_bundle_add(&bw, m.data, m.len));
	assert_ok(proto_bundle_key(secret, key));
	assert_ok(proto_bundle_end(&bw, key));
	snprintf(path, sizeof(path), "%s/%s", f->dir, file);
	out = fopen(path, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(b.data, 1, b.len, out), b.len);
	fclose(out);
	com_buf_fini(&b);
	com_buf_fini(&m);
	com_buf_fini(&cells);
}

static void
test_forged_files_are_refused_and_change_nothing(void **state)
{
	fx *f = *state;
	char subj[40];
	char server[37];
	char path[700];
	char *before;
	char *after;
	char *o = NULL;
	FILE *cf;

	ocop_id(f, "a", subj, sizeof(subj), "subject add --name 'HTX Nem chua' --kind htx --unit 83-100");
	usb_round(f, "a");
	server_id(f, server);
	before = snapshot(f, true);
	/* A request written without a's secret (a laptop that guessed it). */
	snprintf(path, sizeof(path), "%s/guess.cred", f->dir);
	cf = fopen(path, "w");
	assert_non_null(cf);
	fputs("0000\n", cf);
	fclose(cf);
	chmod(path, 0600);
	assert_int_equal(ocop(f, "a", NULL, "remote --credential-file guess.cred"), 0);
	assert_int_equal(ocop(f, "a", NULL, "export --out forged.req"), 0);
	assert_int_equal(ocopd(f, &o, "import --db prov.db --in forged.req --reply forged.rep"), 2);
	assert_non_null(strstr(o, "forgery"));
	assert_non_null(strstr(o, "nothing was imported"));
	com_free(o);
	assert_false(file_exists(f, "forged.rep"));
	snprintf(path, sizeof(path), "%s/right.cred", f->dir);
	cf = fopen(path, "w");
	assert_non_null(cf);
	fprintf(cf, "%s\n", f->s[0].cred);
	fclose(cf);
	chmod(path, 0600);
	assert_int_equal(ocop(f, "a", NULL, "remote --credential-file right.cred"), 0);
	/* A reply forged without any secret: it would delete a's subject and move its cursor. */
	forge_reply(f, f->s[0].id, server, subj, "0000", "forged.rep");
	assert_int_equal(ocop(f, "a", &o, "import --in forged.rep"), 2);
	assert_non_null(strstr(o, "forgery"));
	com_free(o);
	/* ... and one under b's genuine key: another site's key is no better. */
	forge_reply(f, f->s[0].id, server, subj, f->s[1].cred, "forged2.rep");
	assert_int_equal(ocop(f, "a", &o, "import --in forged2.rep"), 2);
	assert_non_null(strstr(o, "forgery"));
	com_free(o);
	after = snapshot(f, true);
	assert_same_state(before, after);
	com_free(after);
	com_free(before);
	/* The genuine key works: a forged-looking file under it would be taken, so the key is the boundary. */
	usb_round(f, "a");
}

static void
test_a_refused_change_comes_back_in_the_reply(void **state)
{
	fx *f = *state;
	char subj[40];
	char dossier[40];
	char path[600];
	char args[120];
	char *o = NULL;
	sto_opts so;
	sto_db *db = NULL;
	json_t *j;

	make_dossier(f, "a", subj, dossier);
	/* A client that does not check writes what a commune may not: a recognition. */
	memset(&so, 0, sizeof(so));
	so.user = "tampered";
	snprintf(path, sizeof(path), "%s/a.db", f->dir);
	assert_ok(sto_open(&db, path, &so));
	assert_ok(sto_row_update(db, "dossier", dossier, "status", "recognised"));
	sto_close(db);
	assert_int_equal(ocop(f, "a", NULL, "export --out a.req"), 0);
	assert_int_equal(ocopd(f, &o, "import --db prov.db --in a.req --reply a.rep --json"), 0);
	j = parse_json("ocopd import", o);
	assert_int_equal(jint(j, "rejected"), 1);
	assert_int_equal(jint(j, "high_water"), 4);
	json_decref(j);
	assert_int_equal(ocop(f, "a", &o, "import --in a.rep"), 0);
	assert_non_null(strstr(o, "refused by the server"));
	com_free(o);
	j = ocop_json(f, "a", "status --json");
	assert_int_equal(jint(j, "refused_changes"), 1);
	assert_int_equal(jint(j, "pending_changes"), 0);
	json_decref(j);
	j = ocop_json(f, "a", "conflicts --json");
	assert_true(json_array_size(j) >= 1);
	assert_string_equal(jstr(json_array_get(j, 0), "rule"), "workflow");
	json_decref(j);
	/* The server's re-assertion came back in the same reply: the site is back in line. */
	snprintf(args, sizeof(args), "dossier show %s --json", dossier);
	j = ocop_json(f, "a", args);
	assert_string_equal(jstr(j, "status"), "draft");
	json_decref(j);
}

static void
test_a_usb_round_with_the_server_running_agrees_with_online_sync(void **state)
{
	fx *f = *state;
	char subj_a[40];
	char dossier_a[40];
	char subj_b[40];
	char args[120];
	char *o = NULL;
	json_t *j;

	start_server(f);
	ocop_id(f, "b", subj_b, sizeof(subj_b), "subject add --name 'HTX Dừa sáp' --kind htx --unit 83-100");
	assert_int_equal(ocop(f, "b", NULL, "sync"), 0);
	make_dossier(f, "a", subj_a, dossier_a);
	/* The import works on the database file while ocopd serves it. */
	usb_round(f, "a");
	snprintf(args, sizeof(args), "subject show %s --json", subj_b);
	j = ocop_json(f, "a", args);
	assert_string_equal(jstr(j, "name"), "HTX Dừa sáp");
	json_decref(j);
	/* Online, a has nothing left to push or pull. */
	assert_int_equal(ocop(f, "a", &o, "sync --json"), 0);
	j = parse_json("ocop sync", o);
	assert_int_equal(jint(j, "pushed"), 0);
	assert_int_equal(jint(j, "applied"), 0);
	assert_int_equal(jint(j, "high_water"), 3);
	json_decref(j);
	/* b gets a's rows online. */
	assert_int_equal(ocop(f, "b", NULL, "sync"), 0);
	snprintf(args, sizeof(args), "dossier show %s --json", dossier_a);
	j = ocop_json(f, "b", args);
	assert_string_equal(jstr(j, "status"), "draft");
	json_decref(j);
	/* An old reply imported again after the online sync is refused and moves nothing back. */
	j = ocop_json(f, "a", "status --json");
	{
		long long cursor = jint(j, "pull_cursor");
		json_decref(j);
		assert_int_equal(ocop(f, "a", NULL, "import --in a.rep"), 2);
		j = ocop_json(f, "a", "status --json");
		assert_int_equal(jint(j, "pull_cursor"), cursor);
		assert_int_equal(jint(j, "pending_changes"), 0);
		json_decref(j);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_usb_round_moves_changes_both_ways, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_replayed_and_older_files_are_refused_and_change_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_files_are_refused_and_change_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_file_for_another_site_or_end_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_forged_files_are_refused_and_change_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_refused_change_comes_back_in_the_reply, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_usb_round_with_the_server_running_agrees_with_online_sync,
		setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
