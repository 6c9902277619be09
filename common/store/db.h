/*
 * db.h: the inside of sto_db, shared by the files of common/store only.
 */
#ifndef OCOP_STORE_DB_H
#define OCOP_STORE_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "common/store/schema.h"
#include "common/util/buf.h"
#include "common/util/hlc.h"
#include "common/util/log.h"

struct sto_policy;
struct proto_value;

#define STO_STMT_CACHE 256   /* statements kept by SQL text (sto_stmt) */
#define STO_TABLES_MAX 16    /* replicated tables the per-table statements have room for */
#define STO_UPDATE_SLOTS 8   /* UPDATE statements kept per table, by the set of columns written */

/* A prepared statement kept for reuse, keyed by its SQL text. */
typedef struct sto_cached {
	char *sql;         /* owned copy of the SQL text, NULL for an empty slot */
	uint32_t hash;     /* hash of sql */
	sqlite3_stmt *st;  /* owned statement */
} sto_cached;

/* One UPDATE of a replicated table that writes a given set of columns and the clock. */
typedef struct sto_update_slot {
	uint64_t mask;     /* columns written (bit = index in sto_table.cols) */
	sqlite3_stmt *st;  /* owned: UPDATE t SET <cols>, ocop_clock = ? WHERE rowid = ? */
	uint64_t used;     /* last use, for replacement */
} sto_update_slot;

/* The statements of one replicated table, prepared on first use. */
typedef struct sto_table_stmts {
	sqlite3_stmt *load;    /* owned: SELECT rowid, <cols>, ocop_clock FROM t WHERE id = ?1 */
	sqlite3_stmt *insert;  /* owned: INSERT INTO t (id, <cols>, ocop_clock) VALUES (...) */
	sqlite3_stmt *place;   /* owned: SELECT <parent, unit and reference columns> FROM t WHERE id = ?1 */
	sto_update_slot upd[STO_UPDATE_SLOTS]; /* owned UPDATEs by column set */
} sto_table_stmts;

/*
 * Site UUIDs interned as small numbers (table site_ref), cached both ways. A
 * rollback may undo numbers handed out in its transaction, so the rollback
 * hook marks the cache stale and the next lookup reloads it.
 */
typedef struct sto_sitemap {
	char (*uuid)[37];  /* owned: uuid[no], "" where unknown; index 0 is "no site" */
	uint32_t cap;      /* entries of uuid */
	uint32_t *slots;   /* owned: open-addressing hash of numbers by UUID, 0 = empty */
	uint32_t nslots;   /* slots, a power of two */
	uint32_t count;    /* numbers in the hash */
	bool loaded;       /* the whole table has been read since the last reset */
	bool stale;        /* a rollback happened: reload before the next use */
} sto_sitemap;

#define STO_SCOPE_MEMO 4 /* stored rows' scopes remembered during one judgement */

/* A stored row's scope, remembered while one change is judged (nothing is written meanwhile). */
typedef struct sto_scope_memo {
	uint64_t session;  /* the judgement it belongs to; 0: empty */
	const sto_table *t; /* the row's table */
	char id[64];       /* the row's id */
	char scope[64];    /* its scope */
	int rv;            /* what row_scope_at returned (OCOP_ENOENT: not held) */
} sto_scope_memo;

/*
 * Stored rows' scopes kept across judgements (row.c), so a batch of changes
 * under the same few parents walks each parent once. Only inside one write
 * transaction, which no other process can change under us (the commit and
 * rollback hooks empty it); filled only by the merge's judgements, which run
 * between statements, never by capture inside a statement that may still be
 * undone; emptied whole whenever a row it holds is written by any path (the
 * update hook) and never holding a row whose chain names a missing parent.
 * An entry's parents are always held too, so one write to a parent empties it.
 */
#define STO_PLACE_SLOTS 256  /* hash slots, a power of two */
#define STO_PLACE_MAX 160    /* entries held at most: beyond, it empties */
#define STO_PLACE_BLOOM 64   /* 64-bit words of the rowid filter the update hook checks first */

typedef struct sto_place {
	const sto_table *t;        /* the row's table, NULL for an empty slot */
	sqlite3_int64 rowid;       /* its rowid, what the update hook names */
	char id[40];               /* its id */
	char scope[64];            /* its scope */
} sto_place;

typedef struct sto_places {
	sto_place slot[STO_PLACE_SLOTS];      /* open addressing by id, never a tombstone (emptied whole) */
	uint64_t bloom[STO_PLACE_BLOOM];      /* bit rowid % (64 * STO_PLACE_BLOOM) of every entry */
	uint32_t count;                       /* entries held */
	bool filling;                         /* the judgement under way may add entries (the merge's) */
	bool stopped;                         /* emptied while filling: add nothing until the next judgement */
	bool off;                             /* a savepoint was prepared here: keep nothing, ever (store.c) */
	uint64_t hits;                        /* look-ups answered, for tests and profiles */
	uint64_t empties;                     /* times emptied with entries in it, for tests */
} sto_places;

struct sto_db {
	sqlite3 *db;            /* owned connection */
	com_hlc hlc;            /* this node's clock */
	const com_log *log;     /* borrowed log hook, may be NULL */
	char site_id[37];       /* own site UUID, "" before init */
	uint32_t site_no;       /* own site's number in site_ref, 0 before init */
	char role[16];          /* own role, "" before init */
	char *scope;            /* owned scope text, "" before init */
	char *user;             /* owned user name for captured changes */
	int applying;           /* >0 while the merge writes: capture steps aside */
	bool serving;           /* this node serves other sites (a server): moves are re-logged */
	const struct sto_policy *policy; /* borrowed rules for local status writes, may be NULL */
	com_buf cells;          /* scratch for encoding a change's cells (capture) */
	com_buf scratch;        /* scratch for encoding log cells (log.c) */
	com_buf clockbuf;       /* scratch for encoding clocks */
	sto_sitemap sites;      /* site numbers, owned */
	sto_table_stmts tst[STO_TABLES_MAX]; /* per-table statements, owned */
	uint64_t next_seq;      /* own site's next change number as last logged here, 0: read it (log.c) */
	sqlite3_int64 next_lsn; /* the log position of the number before it (log.c) */
	sqlite3_stmt *log_put;  /* owned: the log's INSERT under a given number (log.c) */
	sqlite3_stmt *log_next; /* owned: the same under next_seq, checked (log.c) */
	sqlite3_stmt *log_max;  /* owned: a site's last number (log.c) */
	uint64_t uses;          /* counter for the statement caches' replacement */
	uint64_t judging;       /* the judgement under way (sto_judge_begin), 0 outside one */
	uint64_t judgements;    /* judgements so far */
	sto_scope_memo memo[STO_SCOPE_MEMO]; /* scopes read during the current judgement */
	sto_places places;      /* scopes kept across judgements (row.c) */
	char errmsg[512];       /* last error text */
	sto_cached cache[STO_STMT_CACHE]; /* statements by SQL text (hash slots), owned */
};

/*
 * The change log's table (log.h), created fresh with STO_SCHEMA_CHANGE_SQL and
 * by the migration to schema version 4 under another name.
 */
#define STO_SCHEMA_CHANGE_COLS                                                                             \
	" (lsn INTEGER PRIMARY KEY AUTOINCREMENT,"        /* the log's order, for PULL cursors: never reused */ \
	" site INTEGER NOT NULL, seq INTEGER NOT NULL,"   /* the writer (site_ref) and its number */        \
	" tbl TEXT NOT NULL, row_id TEXT NOT NULL,"                                                       \
	" hlc INTEGER NOT NULL,"                                                                          \
	" cols INTEGER NOT NULL,"                         /* the columns written, a bit per index */        \
	" cells BLOB,"                                    /* what the entry keeps of them (log.c) */        \
	" user TEXT,"                                                                                     \
	" scope TEXT,"                                    /* a move: the scope the row left (move.c) */     \
	" to_site INTEGER,"                               /* a re-assertion: the refused site */            \
	" via INTEGER,"                                   /* the peer that relayed it here */               \
	" took BLOB)"                                     /* the values it took from earlier changes */
#define STO_SCHEMA_CHANGE_SQL "CREATE TABLE change" STO_SCHEMA_CHANGE_COLS ";"

/*
 * Bring a replica of schema version 2 or 3 to 4 (migrate.c): site numbers, the
 * packed per-row clocks instead of the clock table, and the log of references.
 * Runs inside the caller's transaction, capture suspended. Returns OCOP_OK,
 * OCOP_ENOMEM, OCOP_EDB.
 */
int sto_migrate_v4(struct sto_db *db);

/*
 * A ready (reset, unbound) prepared statement for sql, from the cache or newly
 * prepared. Borrowed: valid until sto_close; do not finalize. Returns OCOP_OK
 * or OCOP_EDB (message in db->errmsg).
 */
int sto_stmt(struct sto_db *db, const char *sql, sqlite3_stmt **st);

/* View column i of st's current row as a protocol value (bytes borrowed until the next step). Cannot fail. */
void sto_column_value(sqlite3_stmt *st, int i, struct proto_value *v);
/*
 * Bind a protocol value (NULL: SQL NULL) to parameter i of st, without a
 * copy: the value's bytes must live until st is stepped. Cannot fail.
 */
void sto_bind_value(sqlite3_stmt *st, int i, const struct proto_value *v);

/* Index of t in the schema's table list. Cannot fail. */
int sto_table_index(const sto_table *t);

/* Register ocop_capture() and create the capture triggers (capture.c). */
int sto_capture_init(struct sto_db *db);
/* Finalize the capture statements (capture.c). Cannot fail. */
void sto_capture_fini(struct sto_db *db);
/* SQL of the CREATE TRIGGER statements for every replicated table, appended to b. */
int sto_capture_triggers_sql(com_buf *b);
/* SQL dropping every trigger sto_capture_triggers_sql makes, of any schema version, appended to b. */
int sto_capture_triggers_drop_sql(com_buf *b);

/*
 * A row of tbl changed scope on a server (move.c): append the whole subtree's
 * log again, so the sites that now see the row pull all of it, and mark the
 * change (site, seq) that moved it with the scope it left, so the sites that
 * saw it are told. Runs inside the caller's transaction. Returns OCOP_OK or
 * OCOP_EDB.
 */
int sto_move_relog(struct sto_db *db, const char *tbl, const char *row, const char *site, uint64_t seq,
    const char *left_scope);

/* Create move.c's scratch tables (temporary, per connection). Returns OCOP_OK or OCOP_EDB. */
int sto_move_prepare(struct sto_db *db);

/*
 * Around one policy judgement (which reads and never writes): stored rows'
 * scopes read during it are remembered until sto_judge_end (row.c). Cannot fail.
 */
void sto_judge_begin(struct sto_db *db);
void sto_judge_end(struct sto_db *db);

/*
 * The merge's judgement under way may add to the scopes kept across
 * judgements (row.c): it runs between statements, so nothing it reads can be
 * undone by a statement rolled back later. Cannot fail.
 */
void sto_judge_fill(struct sto_db *db, bool fill);
/* Empty the scopes kept across judgements (a transaction ended, a held row was written). Cannot fail. */
void sto_places_clear(struct sto_db *db);
/* The update hook's part: row rowid of table tbl was written. Cannot fail. */
void sto_places_written(struct sto_db *db, const char *tbl, sqlite3_int64 rowid);

/* ===== Site numbers (sitenum.c) ===== */

/*
 * The number of site uuid in this replica. With add, an unknown site gets the
 * next number (inside the caller's transaction). Returns OCOP_OK, OCOP_ENOENT
 * (unknown and !add), OCOP_EDB, OCOP_ENOMEM.
 */
int sto_sitenum_get(struct sto_db *db, const char *uuid, bool add, uint32_t *no /* OUT */);
/*
 * The UUID of site number no into out ("" for 0, the number of no site).
 * Returns OCOP_OK, OCOP_ENOENT (no such number), OCOP_EDB, OCOP_ENOMEM.
 */
int sto_sitenum_uuid(struct sto_db *db, uint32_t no, char out[37]);
/* Forget the cached numbers (after a rollback). Cannot fail. */
void sto_sitenum_reset(struct sto_db *db);
/* Release the cache. Cannot fail. */
void sto_sitenum_fini(struct sto_db *db);

/* ===== Per-table statements (row.c) ===== */

/* The SELECT of a row with its rowid and clock (borrowed, reset). Returns OCOP_OK or OCOP_EDB. */
int sto_table_load_stmt(struct sto_db *db, const sto_table *t, sqlite3_stmt **st);
/* The INSERT of a whole row with its clock (borrowed, reset). Returns OCOP_OK or OCOP_EDB. */
int sto_table_insert_stmt(struct sto_db *db, const sto_table *t, sqlite3_stmt **st);
/*
 * The UPDATE of the columns in mask and the clock, by rowid: parameters 1..k
 * are the columns in index order, k+1 the clock, k+2 the rowid (borrowed,
 * reset). Returns OCOP_OK or OCOP_EDB.
 */
int sto_table_update_stmt(struct sto_db *db, const sto_table *t, uint64_t mask, sqlite3_stmt **st);
/* Finalize every per-table statement. Cannot fail. */
void sto_table_stmts_fini(struct sto_db *db);

#endif /* OCOP_STORE_DB_H */
