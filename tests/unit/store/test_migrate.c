/*
 * Unit tests for common/store/migrate.c: a replica of schema version 2 (one
 * clock row per cell, a log holding every value under its column's name) is
 * brought to version 4 in place, and reads back exactly as it was written; so
 * is one of version 3 (version 2 and the site identity columns of the peer
 * table), whose identities stay. The old files are built here with the DDL
 * those versions shipped.
 */
#include "tests/lib/replica.h"
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "common/store/capture.h"
#include "common/store/clock.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "protocol/change.h"
#include "protocol/wire.h"

#define OWN "0190f0f0-0000-7000-8000-0000000000a1"
#define OTHER "0190f0f0-0000-7000-8000-0000000000a2"
#define SUBJ "0190f0f0-1111-7000-8000-000000000001"
#define DOSS "0190f0f0-2222-7000-8000-000000000002"
#define H1 ((UINT64_C(1763800000000) << 16) | 1)
#define H2 ((UINT64_C(1763800001000) << 16) | 0)
#define H3 ((UINT64_C(1763800002000) << 16) | 3)
#define H4 ((UINT64_C(1763800003000) << 16) | 0)
#define GAP 5000 /* the log numbering of a copy restored from a backup */

/* Version 2's tables, as store.c created them. */
static const char v2_core[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT);"
    "CREATE TABLE change (lsn INTEGER PRIMARY KEY AUTOINCREMENT, site TEXT NOT NULL, seq INTEGER NOT NULL,"
    " tbl TEXT NOT NULL, row_id TEXT NOT NULL, hlc INTEGER NOT NULL, user TEXT NOT NULL DEFAULT '',"
    " cells BLOB NOT NULL, scope TEXT, to_site TEXT, via TEXT, UNIQUE (site, seq));"
    "CREATE TABLE clock (tbl TEXT NOT NULL, row_id TEXT NOT NULL, col TEXT NOT NULL, hlc INTEGER NOT NULL,"
    " site TEXT NOT NULL, aux INTEGER, PRIMARY KEY (tbl, row_id, col)) WITHOUT ROWID;"
    "CREATE TABLE ledger (id INTEGER PRIMARY KEY, recorded_hlc INTEGER NOT NULL, tbl TEXT NOT NULL,"
    " row_id TEXT NOT NULL, col TEXT, rule TEXT NOT NULL, reason TEXT NOT NULL, kept_value, kept_hlc INTEGER,"
    " kept_site TEXT, lost_value, lost_hlc INTEGER, lost_site TEXT, lost_seq INTEGER,"
    " status TEXT NOT NULL DEFAULT 'open', refused INTEGER NOT NULL DEFAULT 0,"
    " UNIQUE (lost_site, lost_seq, col, rule));"
    "CREATE INDEX change_row ON change (tbl, row_id);"
    "CREATE TABLE peer (site TEXT PRIMARY KEY NOT NULL, role TEXT NOT NULL, scope TEXT NOT NULL,"
    " credential TEXT NOT NULL, high_water INTEGER NOT NULL DEFAULT 0, cursor INTEGER NOT NULL DEFAULT 0,"
    " last_seen TEXT, name TEXT);"
    "CREATE TABLE handoff (dossier_id TEXT NOT NULL, evaluation_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'waiting', package_sha256 TEXT, changes INTEGER NOT NULL DEFAULT 0,"
    " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, created_lsn INTEGER NOT NULL DEFAULT 0,"
    " created TEXT NOT NULL, updated TEXT NOT NULL, PRIMARY KEY (dossier_id, evaluation_id, version));"
    "CREATE TABLE arrival (dossier_id TEXT NOT NULL, evaluation_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " province_site TEXT NOT NULL, arrived TEXT NOT NULL, PRIMARY KEY (dossier_id, evaluation_id, version));"
    /* One of version 2's capture triggers: the migration must drop it before it touches a row. */
    "CREATE TRIGGER subject_capture_update AFTER UPDATE ON subject WHEN ocop_applying() = 0 BEGIN"
    " SELECT ocop_capture('subject', NEW.id, 1, 'name', NEW.name, OLD.name); END;";

/* One cell of a version 2 change: a column name, a text or integer value, a base. */
typedef struct v2cell {
	const char *col;  /* column name */
	const char *text; /* text value, or NULL for the integer */
	int64_t i;        /* integer value */
	uint64_t base;    /* base version */
} v2cell;

/* One version 2 change, also what its record must read back as. */
typedef struct v2change {
	const char *site;   /* writer */
	uint64_t seq;       /* its number */
	const char *tbl;    /* table */
	const char *row;    /* row */
	uint64_t hlc;       /* version */
	const char *user;   /* user */
	v2cell cells[6];    /* cells, col NULL after the last */
} v2change;

static const v2change changes[] = {
    {OWN, 1, "subject", SUBJ, H1, "clerk",
	{{"name", "Kẹo", 0, 0}, {"kind", "htx", 0, 0}, {"unit_code", "83-100", 0, 0}, {"deleted", NULL, 0, 0}}},
    {OTHER, 7, "dossier", DOSS, H3, "",
	{{"status", "draft", 0, 0}, {"epoch", NULL, 0, 0}, {"unit_code", "83-100", 0, 0}, {"deleted", NULL, 0, 0}}},
    {OWN, 2, "subject", SUBJ, H2, "clerk", {{"name", "HTX Kẹo dừa", 0, H1}}},
    {OTHER, 8, "dossier", DOSS, H4, "officer", {{"status", "submitted", 0, H3}, {"epoch", NULL, 1, H3}}},
};

/* Encode a change's cells as version 2 did: {name: [value, base]}. */
static void
v2_cells(const v2change *c, com_buf *out)
{
	proto_wr w;
	uint32_t n = 0;
	int k;

	while (n < 6 && c->cells[n].col != NULL) {
		n++;
	}
	com_buf_reset(out);
	proto_wr_init(&w, out);
	proto_wr_map(&w, n);
	for (k = 0; k < (int)n; k++) {
		proto_wr_cstr(&w, c->cells[k].col);
		proto_wr_array(&w, 2);
		if (c->cells[k].text != NULL) {
			proto_wr_cstr(&w, c->cells[k].text);
		} else {
			proto_wr_int(&w, c->cells[k].i);
		}
		proto_wr_uint(&w, c->cells[k].base);
	}
	assert_ok(proto_wr_error(&w));
}

static void
exec_ok(sqlite3 *db, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
		print_error("%s: %s\n", sql, err);
	}
	assert_null(err);
}

/* Build a version 2 replica of site OWN at path. */
static void
make_v2(const char *path)
{
	size_t n;
	size_t i;
	size_t k;
	const sto_table *t = sto_schema_tables(&n);
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	com_buf sql;
	com_buf cells;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	com_buf_init(&sql);
	com_buf_init(&cells);
	/* The replicated tables had the same columns, and no clock column. */
	for (i = 0; i < n; i++) {
		com_buf_printf(&sql, "CREATE TABLE %s (id TEXT PRIMARY KEY NOT NULL", t[i].name);
		for (k = 0; k < t[i].ncols; k++) {
			if (strcmp(t[i].cols[k].name, "deleted") == 0) {
				com_buf_puts(&sql, ", deleted INTEGER NOT NULL DEFAULT 0");
			} else {
				com_buf_printf(&sql, ", %s %s", t[i].cols[k].name, t[i].cols[k].type);
			}
		}
		com_buf_puts(&sql, ");");
	}
	com_buf_puts(&sql, v2_core);
	com_buf_puts(&sql,
	    "INSERT INTO meta VALUES ('site_id', '" OWN "'), ('role', 'commune'), ('scope', '83-100');"
	    "INSERT INTO subject (id, name, kind, unit_code) VALUES ('" SUBJ "', 'HTX Kẹo dừa', 'htx', '83-100');"
	    "INSERT INTO dossier (id, status, epoch, unit_code) VALUES ('" DOSS "', 'submitted', 1, '83-100');"
	    "PRAGMA user_version = 2;");
	exec_ok(db, (const char *)sql.data);
	assert_int_equal(sqlite3_prepare_v2(db,
			     "INSERT INTO change (site, seq, tbl, row_id, hlc, user, cells) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
			     -1, &st, NULL),
	    SQLITE_OK);
	for (i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		v2_cells(&changes[i], &cells);
		sqlite3_bind_text(st, 1, changes[i].site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)changes[i].seq);
		sqlite3_bind_text(st, 3, changes[i].tbl, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, changes[i].row, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, (sqlite3_int64)changes[i].hlc);
		sqlite3_bind_text(st, 6, changes[i].user, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 7, cells.data, (int)cells.len, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	com_buf_reset(&sql);
	com_buf_printf(&sql,
	    "INSERT INTO clock VALUES ('subject', '" SUBJ "', 'name', %llu, '" OWN "', NULL),"
	    " ('subject', '" SUBJ "', 'kind', %llu, '" OWN "', NULL), ('subject', '" SUBJ "', 'unit_code', %llu, '" OWN
	    "', NULL), ('subject', '" SUBJ "', 'deleted', %llu, '" OWN "', NULL),"
	    " ('dossier', '" DOSS "', 'status', %llu, '" OTHER "', 1), ('dossier', '" DOSS "', 'epoch', %llu, '" OTHER
	    "', NULL), ('dossier', '" DOSS "', 'unit_code', %llu, '" OTHER "', NULL), ('dossier', '" DOSS
	    "', 'deleted', %llu, '" OTHER "', NULL);"
	    "UPDATE sqlite_sequence SET seq = %d WHERE name = 'change';",
	    (unsigned long long)H2, (unsigned long long)H1, (unsigned long long)H1, (unsigned long long)H1,
	    (unsigned long long)H4, (unsigned long long)H4, (unsigned long long)H3, (unsigned long long)H3, GAP);
	exec_ok(db, (const char *)sql.data);
	com_buf_fini(&sql);
	com_buf_fini(&cells);
	sqlite3_close(db);
}

/* Version 3's step on a version 2 file: the site identity columns, one peer enrolled. */
static const char v3_step[] =
    "ALTER TABLE peer ADD COLUMN cert_sha256 TEXT;"
    "ALTER TABLE peer ADD COLUMN cert_not_after TEXT;"
    "ALTER TABLE peer ADD COLUMN mac_key TEXT;"
    "ALTER TABLE peer ADD COLUMN revoked TEXT;"
    "ALTER TABLE peer ADD COLUMN revoked_reason TEXT;"
    "ALTER TABLE peer ADD COLUMN rotated TEXT;"
    "ALTER TABLE peer ADD COLUMN bundle_seq INTEGER NOT NULL DEFAULT 0;"
    "INSERT INTO peer (site, role, scope, credential, cert_sha256, bundle_seq)"
    " VALUES ('" OTHER "', 'commune', '83-101', 'x', 'ab12', 7);"
    "PRAGMA user_version = 3;";

typedef struct fx {
	char *dir;      /* temp dir, owned */
	char path[512]; /* the old file */
	int version;    /* its schema version */
} fx;

static int
setup_at(void **state, int version)
{
	fx *f = com_calloc(1, sizeof(*f));
	sqlite3 *db = NULL;

	f->dir = tu_mkdtemp();
	f->version = version;
	snprintf(f->path, sizeof(f->path), "%s/v%d.db", f->dir, version);
	make_v2(f->path);
	if (version == 3) {
		assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
		exec_ok(db, v3_step);
		sqlite3_close(db);
	}
	*state = f;
	return 0;
}

static int
setup(void **state)
{
	return setup_at(state, 2);
}

static int
setup_v3(void **state)
{
	return setup_at(state, 3);
}

static int
teardown(void **state)
{
	fx *f = *state;

	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

static int64_t
one_int(sto_db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	assert_int_equal(sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW) {
		v = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return v;
}

static void
assert_version(sto_db *db, const char *tbl, const char *row, const char *col, uint64_t hlc, const char *site,
    int64_t aux)
{
	uint64_t h;
	int64_t a;
	char s[37];
	bool found;

	assert_ok(sto_clock_get(db, tbl, row, col, &h, s, &a, &found));
	assert_true(found);
	assert_int_equal(h, hlc);
	assert_string_equal(s, site);
	assert_int_equal(a, aux);
}

static void
test_every_cell_keeps_its_version(void **state)
{
	fx *f = *state;
	sto_opts o = {.create = false};
	sto_db *db = NULL;

	assert_ok(sto_open(&db, f->path, &o));
	assert_int_equal(one_int(db, "PRAGMA user_version"), STO_SCHEMA_VERSION);
	assert_int_equal(STO_SCHEMA_VERSION, 4);
	assert_int_equal(one_int(db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'clock'"), 0);
	/* Version 3's identity columns: added to a version 2 file, kept in a version 3 one. */
	assert_int_equal(one_int(db, "SELECT COUNT(*) FROM peer WHERE cert_sha256 IS NULL AND bundle_seq = 0"), 0);
	assert_int_equal(one_int(db, "SELECT COUNT(*) FROM peer WHERE cert_sha256 = 'ab12' AND bundle_seq = 7"),
	    f->version == 3 ? 1 : 0);
	assert_version(db, "subject", SUBJ, "name", H2, OWN, 0);
	assert_version(db, "subject", SUBJ, "kind", H1, OWN, 0);
	assert_version(db, "subject", SUBJ, "deleted", H1, OWN, 0);
	assert_version(db, "dossier", DOSS, "status", H4, OTHER, 1); /* with the epoch it was set in */
	assert_version(db, "dossier", DOSS, "epoch", H4, OTHER, 0);
	assert_version(db, "dossier", DOSS, "unit_code", H3, OTHER, 0);
	sto_close(db);
}

static void
test_every_change_reads_back_as_it_was_written(void **state)
{
	fx *f = *state;
	sto_opts o = {.create = false};
	sto_db *db = NULL;
	tr_rec *recs = NULL;
	size_t n = 0;
	size_t i;

	assert_ok(sto_open(&db, f->path, &o));
	assert_ok(tr_log_all(db, 0, &recs, &n));
	assert_int_equal(n, sizeof(changes) / sizeof(changes[0]));
	for (i = 0; i < n; i++) {
		const v2change *w = &changes[i];
		proto_cells_it it;
		proto_cell c;
		int k = 0;

		assert_string_equal(recs[i].c.site, w->site);
		assert_int_equal(recs[i].c.seq, w->seq);
		assert_string_equal(recs[i].c.tbl, w->tbl);
		assert_string_equal(recs[i].c.row, w->row);
		assert_int_equal(recs[i].c.hlc, w->hlc);
		assert_string_equal(recs[i].c.user, w->user);
		assert_int_equal(recs[i].lsn, i + 1); /* positions kept: the sites' cursors stay valid */
		assert_ok(proto_cells_open(&it, recs[i].c.cells, recs[i].c.cells_len, NULL));
		/* Every cell once, in column order, the superseded first name included. */
		while (proto_cells_next(&it, &c) == OCOP_OK) {
			const v2cell *e = NULL;
			int j;
			for (j = 0; j < 6 && w->cells[j].col != NULL; j++) {
				if (strcmp(w->cells[j].col, c.col) == 0) {
					e = &w->cells[j];
				}
			}
			assert_non_null(e);
			assert_int_equal(c.base_hlc, e->base);
			if (e->text != NULL) {
				assert_int_equal(c.v.type, PROTO_V_TEXT);
				assert_int_equal(c.v.len, strlen(e->text));
				assert_memory_equal(c.v.p, e->text, c.v.len);
			} else {
				assert_int_equal(c.v.type, PROTO_V_INT);
				assert_int_equal(c.v.i, e->i);
			}
			k++;
		}
		assert_true(k > 0 && k < 6 && w->cells[k].col == NULL);
	}
	tr_log_free(recs, n);
	sto_close(db);
}

static void
test_writes_go_on_from_where_the_file_was(void **state)
{
	fx *f = *state;
	sto_opts o = {.create = false, .user = "clerk"};
	sto_db *db = NULL;
	com_buf cells;
	proto_change c;
	proto_cells_it it;
	proto_cell cell;
	uint64_t last;

	assert_ok(sto_open(&db, f->path, &o));
	assert_ok(sto_row_update(db, "subject", SUBJ, "name", "HTX Kẹo dừa Tân Phú"));
	assert_ok(sto_capture_last_seq(db, &last));
	assert_int_equal(last, 3); /* the site's numbering continues */
	com_buf_init(&cells);
	assert_ok(tr_log_get(db, OWN, 3, &c, &cells));
	assert_ok(proto_cells_open(&it, c.cells, c.cells_len, NULL));
	assert_ok(proto_cells_next(&it, &cell));
	assert_string_equal(cell.col, "name");
	assert_int_equal(cell.base_hlc, H2); /* it saw the migrated version */
	assert_true(c.hlc > H2);
	com_buf_fini(&cells);
	/* Above the numbering a restored copy skipped: no pull cursor can be past it. */
	assert_true(one_int(db, "SELECT MAX(lsn) FROM change") > GAP);
	sto_close(db);
	/* Opened again, nothing is migrated twice. */
	assert_ok(sto_open(&db, f->path, &o));
	assert_int_equal(one_int(db, "SELECT COUNT(*) FROM change"), 5);
	assert_version(db, "subject", SUBJ, "kind", H1, OWN, 0);
	sto_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_cell_keeps_its_version, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_change_reads_back_as_it_was_written, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_writes_go_on_from_where_the_file_was, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_every_cell_keeps_its_version, setup_v3, teardown),
	    cmocka_unit_test_setup_teardown(test_every_change_reads_back_as_it_was_written, setup_v3, teardown),
	    cmocka_unit_test_setup_teardown(test_writes_go_on_from_where_the_file_was, setup_v3, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
