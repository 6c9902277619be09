/*
 * store.c: opening, migrating and identifying a replica; transactions, meta
 * values and generic row writes. Capture lives in capture.c, merge in merge.c.
 */
#include "common/store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/store/capture.h"
#include "common/store/db.h"
#include "common/store/fold.h"
#include "common/store/log.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "common/util/uuid.h"
#include "ocop_err.h"

#define STO_DEFAULT_SKEW_MS (5u * 60u * 1000u)

/* ===== Errors ===== */

int
sto_seterr(sto_db *db, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(db->errmsg, sizeof(db->errmsg), fmt, ap);
	va_end(ap);
	return code;
}

/* Translate a SQLite failure once, keeping SQLite's text. */
static int
store_sqlerr(sto_db *db, int rc, const char *what)
{
	sto_seterr(db, OCOP_EDB, "%s: %s", what, sqlite3_errmsg(db->db));
	return rc == SQLITE_NOMEM ? OCOP_ENOMEM : OCOP_EDB;
}

const char *
sto_errmsg(sto_db *db)
{
	return db->errmsg;
}

sqlite3 *
sto_sqlite(sto_db *db)
{
	return db->db;
}

com_hlc *
sto_hlc(sto_db *db)
{
	return &db->hlc;
}

const com_log *
sto_log(sto_db *db)
{
	return db->log;
}

int
sto_exec(sto_db *db, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(db->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		sto_seterr(db, OCOP_EDB, "%s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return rc == SQLITE_NOMEM ? OCOP_ENOMEM : OCOP_EDB;
	}
	return OCOP_OK;
}

int
sto_begin(sto_db *db)
{
	return sto_exec(db, "BEGIN IMMEDIATE");
}

int
sto_commit(sto_db *db)
{
	int rv = sto_exec(db, "COMMIT");

	if (rv != OCOP_OK) {
		sto_rollback(db);
	}
	return rv;
}

void
sto_rollback(sto_db *db)
{
	if (!sqlite3_get_autocommit(db->db) &&
	    sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL) != SQLITE_OK) {
		com_logf(db->log, COM_LOG_ERROR, "rollback failed: %s", sqlite3_errmsg(db->db));
	}
}

/* ===== Schema and migrations ===== */

/* Tables that are not replicated: node identity, site numbers, change log, ledger, peers. */
static const char schema_core_sql[] =
    "CREATE TABLE meta (key TEXT PRIMARY KEY NOT NULL, value TEXT);"
    /* Site UUIDs as small numbers, this replica's own (sitenum.c). */
    "CREATE TABLE site_ref (no INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE);"
    STO_SCHEMA_CHANGE_SQL
    "CREATE UNIQUE INDEX change_site ON change (site, seq);"
    "CREATE INDEX change_row ON change (tbl, row_id);"
    /* Every superseded or rejected write, with both sides and the rule. */
    "CREATE TABLE ledger ("
    " id INTEGER PRIMARY KEY,"
    " recorded_hlc INTEGER NOT NULL,"
    " tbl TEXT NOT NULL, row_id TEXT NOT NULL, col TEXT,"
    " rule TEXT NOT NULL, reason TEXT NOT NULL,"
    " kept_value, kept_hlc INTEGER, kept_site TEXT,"
    " lost_value, lost_hlc INTEGER, lost_site TEXT, lost_seq INTEGER,"
    " status TEXT NOT NULL DEFAULT 'open',"
    " refused INTEGER NOT NULL DEFAULT 0," /* 1: a change not applied (a refusal) */
    " UNIQUE (lost_site, lost_seq, col, rule));"
    /* On a server: the sites it serves. On a site: unused. */
    "CREATE TABLE peer ("
    " site TEXT PRIMARY KEY NOT NULL, role TEXT NOT NULL, scope TEXT NOT NULL,"
    " credential TEXT NOT NULL, high_water INTEGER NOT NULL DEFAULT 0,"
    " cursor INTEGER NOT NULL DEFAULT 0, last_seen TEXT, name TEXT);"
    /* On a province server: each 5-star candidate handed to the national
     * tier, once per evaluation version (docs/NATIONAL.md). */
    "CREATE TABLE handoff ("
    " dossier_id TEXT NOT NULL, evaluation_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'waiting'," /* waiting, sent, acknowledged, decided */
    " package_sha256 TEXT," /* SHA-256 of the changes last handed over */
    " changes INTEGER NOT NULL DEFAULT 0," /* changes in the last full hand-over */
    " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
    " created_lsn INTEGER NOT NULL DEFAULT 0," /* the log's end when it was recorded */
    " created TEXT NOT NULL, updated TEXT NOT NULL,"
    " PRIMARY KEY (dossier_id, evaluation_id, version));"
    /* On the national server: each candidate received from a province, once. */
    "CREATE TABLE arrival ("
    " dossier_id TEXT NOT NULL, evaluation_id TEXT NOT NULL, version INTEGER NOT NULL,"
    " province_site TEXT NOT NULL, arrived TEXT NOT NULL,"
    " PRIMARY KEY (dossier_id, evaluation_id, version));";

/*
 * Version 3: how a server knows each site beyond its credential digest
 * (common/store/siteauth.h): the certificate it issued to it, the key of its
 * authenticated bundles, revocation and rotation, and the last request bundle
 * taken from it (a replayed file is refused). Applied to fresh files too.
 */
static const char schema_v3_sql[] =
    "ALTER TABLE peer ADD COLUMN cert_sha256 TEXT;"
    "ALTER TABLE peer ADD COLUMN cert_not_after TEXT;"
    "ALTER TABLE peer ADD COLUMN mac_key TEXT;"
    "ALTER TABLE peer ADD COLUMN revoked TEXT;"
    "ALTER TABLE peer ADD COLUMN revoked_reason TEXT;"
    "ALTER TABLE peer ADD COLUMN rotated TEXT;"
    "ALTER TABLE peer ADD COLUMN bundle_seq INTEGER NOT NULL DEFAULT 0;";

/*
 * The rows of every handed-off candidate's tree (subject, product, dossier,
 * documents, the provincial evaluation with its members, sheets and scores,
 * the dossier's decisions): what a province relays upstream. Created after the
 * replicated tables it reads.
 */
static const char schema_views_sql[] =
    "CREATE VIEW handoff_tree (tbl, row_id, dossier_id, evaluation_id, version) AS"
    " SELECT 'dossier', h.dossier_id, h.dossier_id, h.evaluation_id, h.version FROM handoff h"
    " UNION SELECT 'product', d.product_id, h.dossier_id, h.evaluation_id, h.version"
    "  FROM handoff h JOIN dossier d ON d.id = h.dossier_id WHERE d.product_id IS NOT NULL"
    " UNION SELECT 'subject', p.subject_id, h.dossier_id, h.evaluation_id, h.version"
    "  FROM handoff h JOIN dossier d ON d.id = h.dossier_id JOIN product p ON p.id = d.product_id"
    "  WHERE p.subject_id IS NOT NULL"
    " UNION SELECT 'document', x.id, h.dossier_id, h.evaluation_id, h.version"
    "  FROM handoff h JOIN document x ON x.dossier_id = h.dossier_id"
    " UNION SELECT 'evaluation', h.evaluation_id, h.dossier_id, h.evaluation_id, h.version FROM handoff h"
    " UNION SELECT 'member', m.id, h.dossier_id, h.evaluation_id, h.version"
    "  FROM handoff h JOIN member m ON m.evaluation_id = h.evaluation_id"
    " UNION SELECT 'score_sheet', s.id, h.dossier_id, h.evaluation_id, h.version"
    "  FROM handoff h JOIN score_sheet s ON s.evaluation_id = h.evaluation_id"
    " UNION SELECT 'score', x.id, h.dossier_id, h.evaluation_id, h.version"
    "  FROM handoff h JOIN score_sheet s ON s.evaluation_id = h.evaluation_id"
    "  JOIN score x ON x.sheet_id = s.id"
    " UNION SELECT 'decision', x.id, h.dossier_id, h.evaluation_id, h.version"
    "  FROM handoff h JOIN decision x ON x.dossier_id = h.dossier_id;";

/* CREATE TABLE (and its parent index) of one replicated table. */
static int
schema_table_sql(com_buf *b, const sto_table *t)
{
	size_t k;
	int rv = com_buf_printf(b, "CREATE TABLE %s (id TEXT PRIMARY KEY NOT NULL", t->name);

	for (k = 0; k < t->ncols && rv == OCOP_OK; k++) {
		if (strcmp(t->cols[k].name, "deleted") == 0) {
			rv = com_buf_puts(b, ", deleted INTEGER NOT NULL DEFAULT 0");
		} else {
			rv = com_buf_printf(b, ", %s %s", t->cols[k].name, t->cols[k].type);
		}
	}
	if (rv == OCOP_OK) {
		/* Every cell's version, packed (clock.h). */
		rv = com_buf_puts(b, ", ocop_clock BLOB);");
	}
	if (rv == OCOP_OK && t->parent_col != NULL) {
		rv = com_buf_printf(b, "CREATE INDEX %s_parent ON %s(%s);", t->name, t->name, t->parent_col);
	}
	if (rv == OCOP_OK && t->ref_row_col != NULL) {
		rv = com_buf_printf(b, "CREATE INDEX %s_ref ON %s(%s, %s);", t->name, t->name, t->ref_tbl_col,
		    t->ref_row_col);
	}
	return rv;
}

/* Every replicated table, as the current version has it (a fresh file). */
static int
schema_tables_sql(com_buf *b)
{
	size_t n;
	size_t i;
	const sto_table *t = sto_schema_tables(&n);
	int rv = OCOP_OK;

	for (i = 0; i < n && rv == OCOP_OK; i++) {
		rv = schema_table_sql(b, &t[i]);
	}
	return rv;
}

/*
 * Version 2 from version 1: refusals are told apart from superseded values by
 * a flag, not by their rule's name; the log can be read by row (moves re-log a
 * subtree); each evaluation has a council minimum (issue #14); and the
 * resolution and history tables (created from the schema list by the caller).
 */
static const char schema_v2_sql[] =
    "ALTER TABLE ledger ADD COLUMN refused INTEGER NOT NULL DEFAULT 0;"
    "UPDATE ledger SET refused = 1 WHERE rule = 'authority';"
    "CREATE INDEX change_row ON change (tbl, row_id);"
    "ALTER TABLE evaluation ADD COLUMN min_members INTEGER;"
    "ALTER TABLE change ADD COLUMN to_site TEXT;";

/*
 * Bring the file to STO_SCHEMA_VERSION. Each step runs in the same transaction
 * as the version bump, so a crash leaves the old or the new schema, never half.
 * A later version appends a step here (ALTER TABLE ... ADD COLUMN keeps data)
 * and the capture triggers are rebuilt from the schema table list.
 */
static int
store_migrate(sto_db *db)
{
	sqlite3_stmt *st = NULL;
	int version = 0;
	com_buf sql;
	int rv;

	if (sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return store_sqlerr(db, SQLITE_ERROR, "reading schema version");
	}
	version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version > STO_SCHEMA_VERSION) {
		return sto_seterr(db, OCOP_EVERSION,
		    "database schema version %d is newer than this program's (%d)", version,
		    STO_SCHEMA_VERSION);
	}
	if (version == STO_SCHEMA_VERSION) {
		return OCOP_OK;
	}
	com_buf_init(&sql);
	rv = sto_begin(db);
	if (rv == OCOP_OK && version < 1) {
		rv = com_buf_puts(&sql, schema_core_sql);
		if (rv == OCOP_OK) {
			rv = schema_tables_sql(&sql);
		}
		if (rv == OCOP_OK) {
			rv = com_buf_puts(&sql, schema_views_sql);
		}
	}
	if (rv == OCOP_OK && version == 1) {
		/* Version 2 on a file of version 1 (a fresh file got all of it above). */
		rv = com_buf_puts(&sql, schema_v2_sql);
		if (rv == OCOP_OK) {
			rv = schema_table_sql(&sql, sto_schema_table("resolution"));
		}
		if (rv == OCOP_OK) {
			rv = schema_table_sql(&sql, sto_schema_table("history"));
		}
	}
	if (rv == OCOP_OK && version < 3) {
		rv = com_buf_puts(&sql, schema_v3_sql);
	}
	if (rv == OCOP_OK && sql.len > 0) {
		rv = sto_exec(db, (const char *)sql.data);
	}
	/* Version 4 on a file of version 1 to 3: data to convert, in C. */
	if (rv == OCOP_OK && version >= 1 && version < 4) {
		sto_capture_suspend(db);
		rv = sto_migrate_v4(db);
		sto_capture_resume(db);
	}
	com_buf_reset(&sql);
	if (rv == OCOP_OK) {
		rv = sto_capture_triggers_sql(&sql);
	}
	if (rv == OCOP_OK) {
		rv = com_buf_printf(&sql, "PRAGMA user_version = %d;", STO_SCHEMA_VERSION);
	}
	if (rv == OCOP_OK) {
		rv = sto_exec(db, (const char *)sql.data);
	}
	if (rv == OCOP_OK) {
		rv = sto_commit(db);
	} else {
		sto_rollback(db);
	}
	com_buf_fini(&sql);
	return rv;
}

/* ===== Identity ===== */

static int
store_load_identity(sto_db *db)
{
	char *v = NULL;
	int rv;

	db->site_id[0] = 0;
	db->role[0] = 0;
	if (sto_meta_get(db, "site_id", &v) == OCOP_OK) {
		snprintf(db->site_id, sizeof(db->site_id), "%s", v);
		com_free(v);
	}
	if (sto_meta_get(db, "role", &v) == OCOP_OK) {
		snprintf(db->role, sizeof(db->role), "%s", v);
		com_free(v);
	}
	com_free(db->scope);
	db->scope = NULL;
	rv = sto_meta_get(db, "scope", &db->scope);
	if (rv == OCOP_ENOENT) {
		db->scope = com_strdup("");
		rv = db->scope ? OCOP_OK : OCOP_ENOMEM;
	}
	/* This node's own number, given once (outside any write the capture makes). */
	db->site_no = 0;
	if (rv == OCOP_OK && db->site_id[0] != 0) {
		rv = sto_sitenum_get(db, db->site_id, false, &db->site_no);
		if (rv == OCOP_ENOENT) {
			if ((rv = sto_begin(db)) == OCOP_OK && (rv = sto_sitenum_get(db, db->site_id, true, &db->site_no)) == OCOP_OK) {
				rv = sto_commit(db);
			} else {
				sto_rollback(db);
			}
		}
	}
	return rv;
}

/* The highest HLC this node has written or merged, so a restart never goes back. */
static uint64_t
store_last_hlc(sto_db *db)
{
	uint64_t last = 0;
	uint64_t own = 0;
	char *v = NULL;

	if (sto_meta_get(db, "hlc", &v) == OCOP_OK) {
		last = strtoull(v, NULL, 10);
		com_free(v);
	}
	if (db->site_no != 0 && sto_log_last_own_hlc(db, &own) == OCOP_OK && own > last) {
		last = own;
	}
	return last;
}

int
sto_site_init(sto_db *db, const char *site_id, const char *role, const char *scope)
{
	char id[COM_UUID_STRLEN + 1];
	com_uuid u;
	int rv;

	if (db->site_id[0] != 0) {
		return sto_seterr(db, OCOP_EEXIST, "this database is already initialised as site %s (%s)",
		    db->site_id, db->role);
	}
	if (site_id == NULL) {
		com_uuid7(&u);
		com_uuid_format(&u, id);
	} else if (!com_uuid_valid(site_id)) {
		return sto_seterr(db, OCOP_EINVAL, "site id '%s' is not a UUID", site_id);
	} else {
		snprintf(id, sizeof(id), "%s", site_id);
	}
	if (role == NULL || strlen(role) == 0 || strlen(role) >= sizeof(db->role)) {
		return sto_seterr(db, OCOP_EINVAL, "a role is required");
	}
	if ((rv = sto_begin(db)) != OCOP_OK) {
		return rv;
	}
	if ((rv = sto_meta_set(db, "site_id", id)) != OCOP_OK ||
	    (rv = sto_meta_set(db, "role", role)) != OCOP_OK ||
	    (rv = sto_meta_set(db, "scope", scope ? scope : "")) != OCOP_OK ||
	    (rv = sto_commit(db)) != OCOP_OK) {
		sto_rollback(db);
		return rv;
	}
	return store_load_identity(db);
}

const char *
sto_site_id(sto_db *db)
{
	return db->site_id;
}

const char *
sto_role(sto_db *db)
{
	return db->role;
}

const char *
sto_scope(sto_db *db)
{
	return db->scope ? db->scope : "";
}

int
sto_set_serving(sto_db *db, bool serving)
{
	db->serving = serving;
	return serving ? sto_move_prepare(db) : OCOP_OK;
}

int
sto_set_user(sto_db *db, const char *user)
{
	char *u = com_strdup(user ? user : "");

	if (u == NULL) {
		return OCOP_ENOMEM;
	}
	com_free(db->user);
	db->user = u;
	return OCOP_OK;
}

/* ===== Statement cache ===== */

int
sto_stmt(sto_db *db, const char *sql, sqlite3_stmt **st)
{
	uint32_t h = 2166136261u;
	const char *p;
	sto_cached *slot;
	size_t i;
	size_t at;
	int rc;

	for (p = sql; *p; p++) {
		h ^= (uint8_t)*p;
		h *= 16777619u;
	}
	/* Open addressing over a fixed table; a full probe run recycles a slot
	 * whose statement is not running (statements are cheap to prepare
	 * again, but one a caller is stepping must stay). */
	at = h % STO_STMT_CACHE;
	slot = NULL;
	for (i = 0; i < 8; i++) {
		sto_cached *c = &db->cache[(at + i) % STO_STMT_CACHE];
		if (c->sql == NULL) {
			slot = slot != NULL && slot->sql == NULL ? slot : c;
			break;
		}
		if (c->hash == h && strcmp(c->sql, sql) == 0) {
			sqlite3_reset(c->st);
			sqlite3_clear_bindings(c->st);
			*st = c->st;
			return OCOP_OK;
		}
		if (slot == NULL && !sqlite3_stmt_busy(c->st)) {
			slot = c;
		}
	}
	if (slot == NULL) {
		return sto_seterr(db, OCOP_EBUSY, "statement cache: every candidate slot is in use");
	}
	if (slot->sql != NULL) {
		sqlite3_finalize(slot->st);
		com_free(slot->sql);
		memset(slot, 0, sizeof(*slot));
	}
	slot->sql = com_strdup(sql);
	if (slot->sql == NULL) {
		return OCOP_ENOMEM;
	}
	rc = sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &slot->st, NULL);
	if (rc != SQLITE_OK) {
		com_free(slot->sql);
		memset(slot, 0, sizeof(*slot));
		return store_sqlerr(db, rc, "prepare");
	}
	slot->hash = h;
	*st = slot->st;
	return OCOP_OK;
}

/* ===== Meta ===== */

int
sto_meta_get(sto_db *db, const char *key, char **value)
{
	sqlite3_stmt *st = NULL;
	int rc;
	int rv;

	rc = sqlite3_prepare_v2(db->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return store_sqlerr(db, rc, "reading meta");
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *t = (const char *)sqlite3_column_text(st, 0);
		*value = com_strdup(t ? t : "");
		rv = *value ? OCOP_OK : OCOP_ENOMEM;
	} else if (rc == SQLITE_DONE) {
		rv = OCOP_ENOENT;
	} else {
		rv = store_sqlerr(db, rc, "reading meta");
	}
	sqlite3_finalize(st);
	return rv;
}

int
sto_meta_set(sto_db *db, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(db->db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?1, ?2)",
	    -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return store_sqlerr(db, rc, "writing meta");
	}
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? OCOP_OK : store_sqlerr(db, rc, "writing meta");
}

int
sto_meta_set_hlc(sto_db *db)
{
	char v[32];

	snprintf(v, sizeof(v), "%llu", (unsigned long long)db->hlc.last);
	return sto_meta_set(db, "hlc", v);
}

/* ===== Open / close ===== */

static void
store_on_rollback(void *arg)
{
	sto_db *db = arg;

	db->sites.stale = true;
	db->next_seq = 0; /* not needed (log.c checks it), but spares a wasted INSERT */
	sto_places_clear(db);
}

/* Scopes are kept only within one write transaction (db.h: sto_places). */
static int
store_on_commit(void *arg)
{
	sto_places_clear(arg);
	return 0;
}

/*
 * A savepoint's ROLLBACK TO undoes writes without any hook telling us, so a
 * connection that prepares any savepoint statement keeps no scopes across
 * judgements from then on (the store itself uses none; some tests do).
 */
static int
store_on_authorize(void *arg, int action, const char *a, const char *b, const char *c, const char *d)
{
	sto_db *db = arg;

	(void)a;
	(void)b;
	(void)c;
	(void)d;
	if (action == SQLITE_SAVEPOINT) {
		sto_places_clear(db);
		db->places.off = true;
	}
	return SQLITE_OK;
}

/* Any write to a row whose scope is kept, by any path, empties the kept scopes. */
static void
store_on_update(void *arg, int op, const char *dbname, const char *tbl, sqlite3_int64 rowid)
{
	(void)op;
	(void)dbname;
	sto_places_written(arg, tbl, rowid);
}

/*
 * May this file become or stay a replica? Reads only. It must be a replica
 * already (it has our meta table), or, when creating, an empty database: a
 * file another program made is never turned into one.
 */
static int
store_check_file(sto_db *db, bool create)
{
	sqlite3_stmt *st = NULL;
	int meta = 0;
	int tables = 0;
	int rc = sqlite3_prepare_v2(db->db,
	    "SELECT COALESCE(SUM(name = 'meta'), 0), COUNT(*) FROM sqlite_master WHERE type = 'table'", -1, &st,
	    NULL);

	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		meta = sqlite3_column_int(st, 0);
		tables = sqlite3_column_int(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		return sto_seterr(db, (rc & 0xff) == SQLITE_NOTADB ? OCOP_ENOTREPLICA : OCOP_EDB, "%s",
		    sqlite3_errmsg(db->db));
	}
	if (meta == 0 && (!create || tables > 0)) {
		return sto_seterr(db, OCOP_ENOTREPLICA, "not an OCOP replica (%d tables, no meta table)", tables);
	}
	return OCOP_OK;
}

int
sto_open(sto_db **out, const char *path, const sto_opts *opts)
{
	sto_db *db;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
	int rc;
	int rv;

	*out = NULL;
	if (!opts->create && access(path, F_OK) != 0) {
		return OCOP_ENOENT;
	}
	if (opts->create) {
		flags |= SQLITE_OPEN_CREATE;
		/* A replica holds credentials and keys: create it readable by its
		 * owner only (SQLite gives its -wal and -shm files the same mode). */
		if (access(path, F_OK) != 0) {
			int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd >= 0) {
				close(fd);
			}
		}
	}
	db = com_calloc(1, sizeof(*db));
	if (db == NULL) {
		return OCOP_ENOMEM;
	}
	com_buf_init(&db->cells);
	com_buf_init(&db->scratch);
	com_buf_init(&db->clockbuf);
	db->log = opts->log;
	db->user = com_strdup(opts->user ? opts->user : "");
	if (db->user == NULL) {
		com_free(db);
		return OCOP_ENOMEM;
	}
	rc = sqlite3_open_v2(path, &db->db, flags, NULL);
	if (rc != SQLITE_OK) {
		rv = rc == SQLITE_NOMEM ? OCOP_ENOMEM : OCOP_EDB;
		com_logf(opts->log, COM_LOG_ERROR, "cannot open %s: %s", path,
		    db->db ? sqlite3_errmsg(db->db) : sqlite3_errstr(rc));
		goto fail;
	}
	/* A sync applying a page and a clerk's write share the file: wait for the
	 * other rather than failing with "database is locked". */
	sqlite3_busy_timeout(db->db, 30000);
	sqlite3_extended_result_codes(db->db, 1);
	/* A rollback may undo site numbers handed out in its transaction, and
	 * scopes kept across judgements last one write transaction at most. */
	sqlite3_rollback_hook(db->db, store_on_rollback, db);
	sqlite3_commit_hook(db->db, store_on_commit, db);
	sqlite3_update_hook(db->db, store_on_update, db);
	sqlite3_set_authorizer(db->db, store_on_authorize, db);
	/* Opening a file must not turn someone else's database into a replica:
	 * checked before WAL and the schema, which would both change the file. */
	if ((rv = store_check_file(db, opts->create)) != OCOP_OK) {
		com_logf(opts->log, COM_LOG_DEBUG, "%s: %s", path, db->errmsg);
		goto fail;
	}
	/* WAL: readers do not block the writer; synchronous=FULL so a commit that
	 * returned is on disk before we acknowledge anything built on it.
	 * temp_store=MEMORY: every write to a replicated table runs a capture
	 * trigger, so SQLite keeps a statement journal for it; on a temporary
	 * file that journal tripled the cost of a captured insert. */
	if ((rv = sto_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
			       "PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;")) != OCOP_OK ||
	    (rv = sto_fold_register(db->db)) != OCOP_OK ||
	    (rv = sto_capture_init(db)) != OCOP_OK || (rv = store_migrate(db)) != OCOP_OK ||
	    (rv = store_load_identity(db)) != OCOP_OK) {
		com_logf(opts->log, COM_LOG_ERROR, "cannot open %s: %s", path, db->errmsg);
		goto fail;
	}
	com_hlc_init(&db->hlc, store_last_hlc(db),
	    opts->max_skew_ms ? opts->max_skew_ms : STO_DEFAULT_SKEW_MS, opts->clock,
	    opts->clock_arg);
	*out = db;
	return OCOP_OK;
fail:
	sto_close(db);
	return rv;
}

void
sto_close(sto_db *db)
{
	size_t i;

	if (db == NULL) {
		return;
	}
	sto_capture_fini(db);
	sto_log_fini(db);
	sto_table_stmts_fini(db);
	for (i = 0; i < STO_STMT_CACHE; i++) {
		sqlite3_finalize(db->cache[i].st);
		com_free(db->cache[i].sql);
	}
	if (db->db != NULL && sqlite3_close(db->db) != SQLITE_OK) {
		com_logf(db->log, COM_LOG_ERROR, "close: %s", sqlite3_errmsg(db->db));
	}
	sto_sitenum_fini(db);
	com_buf_fini(&db->cells);
	com_buf_fini(&db->scratch);
	com_buf_fini(&db->clockbuf);
	com_free(db->scope);
	com_free(db->user);
	com_free(db);
}

/* ===== Row writes ===== */

int
sto_row_insert(sto_db *db, const char *table, const char *const *cols, const char *const *vals,
    size_t n, char id_out[37])
{
	const sto_table *t = sto_schema_table(table);
	com_buf sql;
	sqlite3_stmt *st = NULL;
	com_uuid u;
	size_t i;
	int rc;
	int rv;

	if (t == NULL) {
		return sto_seterr(db, OCOP_EINVAL, "unknown table '%s'", table);
	}
	for (i = 0; i < n; i++) {
		if (sto_schema_column(t, cols[i]) == NULL) {
			return sto_seterr(db, OCOP_EINVAL, "table %s has no column '%s'", table, cols[i]);
		}
	}
	com_uuid7_at(&u, com_hlc_physical(&db->hlc));
	com_uuid_format(&u, id_out);
	com_buf_init(&sql);
	rv = com_buf_puts(&sql, "INSERT INTO ");
	rv = rv == OCOP_OK ? com_buf_puts(&sql, table) : rv;
	rv = rv == OCOP_OK ? com_buf_puts(&sql, " (id") : rv;
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		rv = com_buf_puts(&sql, ", ");
		rv = rv == OCOP_OK ? com_buf_puts(&sql, cols[i]) : rv;
	}
	if (rv == OCOP_OK) {
		rv = com_buf_puts(&sql, ") VALUES (?");
	}
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		rv = com_buf_puts(&sql, ", ?");
	}
	if (rv == OCOP_OK) {
		rv = com_buf_puts(&sql, ")");
	}
	if (rv != OCOP_OK) {
		com_buf_fini(&sql);
		return rv;
	}
	/* Cached by its text: the same columns cost one prepare per connection. */
	rv = sto_stmt(db, (const char *)sql.data, &st);
	com_buf_fini(&sql);
	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, id_out, -1, SQLITE_STATIC);
	for (i = 0; i < n; i++) {
		if (vals[i] == NULL) {
			sqlite3_bind_null(st, (int)i + 2);
		} else {
			sqlite3_bind_text(st, (int)i + 2, vals[i], -1, SQLITE_STATIC);
		}
	}
	rc = sqlite3_step(st);
	rv = rc == SQLITE_DONE ? OCOP_OK : store_sqlerr(db, rc, "insert");
	sqlite3_reset(st);
	return rv;
}

int
sto_row_update_cells(sto_db *db, const char *table, const char *id, const char *const *cols,
    const char *const *vals, size_t n)
{
	const sto_table *t = sto_schema_table(table);
	sqlite3_stmt *st = NULL;
	com_buf sql;
	size_t i;
	int rc;
	int rv;

	if (t == NULL) {
		return sto_seterr(db, OCOP_EINVAL, "unknown table '%s'", table);
	}
	if (n == 0) {
		return sto_seterr(db, OCOP_EINVAL, "no column to update");
	}
	for (i = 0; i < n; i++) {
		if (sto_schema_column(t, cols[i]) == NULL) {
			return sto_seterr(db, OCOP_EINVAL, "table %s has no column '%s'", table, cols[i]);
		}
	}
	/* One statement, so the capture records one change: a status and the
	 * epoch it opens travel and merge together. */
	com_buf_init(&sql);
	rv = com_buf_printf(&sql, "UPDATE %s SET ", table);
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		rv = com_buf_printf(&sql, "%s%s = ?%zu", i ? ", " : "", cols[i], i + 1);
	}
	if (rv == OCOP_OK) {
		rv = com_buf_printf(&sql, " WHERE id = ?%zu AND deleted = 0", n + 1);
	}
	if (rv != OCOP_OK) {
		com_buf_fini(&sql);
		return rv;
	}
	rv = sto_stmt(db, (const char *)sql.data, &st);
	com_buf_fini(&sql);
	if (rv != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < n; i++) {
		if (vals[i] == NULL) {
			sqlite3_bind_null(st, (int)i + 1);
		} else {
			sqlite3_bind_text(st, (int)i + 1, vals[i], -1, SQLITE_STATIC);
		}
	}
	sqlite3_bind_text(st, (int)n + 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		rv = store_sqlerr(db, rc, "update");
	} else if (sqlite3_changes(db->db) == 0) {
		rv = sto_seterr(db, OCOP_ENOENT, "no %s with id %s", table, id);
	} else {
		rv = OCOP_OK;
	}
	sqlite3_reset(st);
	return rv;
}

int
sto_row_update(sto_db *db, const char *table, const char *id, const char *col, const char *val)
{
	return sto_row_update_cells(db, table, id, &col, &val, 1);
}

int
sto_row_delete(sto_db *db, const char *table, const char *id)
{
	return sto_row_update(db, table, id, "deleted", "1");
}
