/*
 * db.h: the inside of sto_db, shared by the files of common/store only.
 */
#ifndef OCOP_STORE_DB_H
#define OCOP_STORE_DB_H

#include <stdbool.h>
#include <stdint.h>

#include <sqlite3.h>

#include "common/util/buf.h"
#include "common/util/hlc.h"
#include "common/util/log.h"

struct sto_policy;
struct proto_value;

/* Prepared statements cached for the capture hot path. */
typedef struct sto_stmts {
	sqlite3_stmt *clock_get;  /* SELECT hlc, site FROM clock WHERE tbl, row_id, col */
	sqlite3_stmt *clock_put;  /* INSERT OR REPLACE INTO clock */
	sqlite3_stmt *change_put; /* INSERT INTO change */
	sqlite3_stmt *seq_max;    /* SELECT MAX(seq) FROM change WHERE site */
} sto_stmts;

#define STO_STMT_CACHE 128

/* A prepared statement kept for reuse, keyed by its SQL text. */
typedef struct sto_cached {
	char *sql;         /* owned copy of the SQL text */
	sqlite3_stmt *st;  /* owned statement */
} sto_cached;

struct sto_db {
	sqlite3 *db;            /* owned connection */
	com_hlc hlc;            /* this node's clock */
	const com_log *log;     /* borrowed log hook, may be NULL */
	char site_id[37];       /* own site UUID, "" before init */
	char role[16];          /* own role, "" before init */
	char *scope;            /* owned scope text, "" before init */
	char *user;             /* owned user name for captured changes */
	uint64_t next_seq;      /* next site_seq to hand out; 0 = reload from the log */
	int applying;           /* >0 while the merge writes: capture steps aside */
	bool serving;           /* this node serves other sites (a server): moves are re-logged */
	const struct sto_policy *policy; /* borrowed rules for local status writes, may be NULL */
	sto_stmts st;           /* cached statements, owned */
	com_buf cells;          /* scratch for encoding a change's cells */
	char errmsg[512];       /* last error text */
	sto_cached cache[STO_STMT_CACHE]; /* statements by SQL text, owned */
	int ncache;             /* entries in use */
};

/*
 * A ready (reset, unbound) prepared statement for sql, from the cache or newly
 * prepared. Borrowed: valid until sto_close; do not finalize. Returns OCOP_OK
 * or OCOP_EDB (message in db->errmsg).
 */
int sto_stmt(struct sto_db *db, const char *sql, sqlite3_stmt **st /* OUT */);

/* View column i of st's current row as a protocol value (bytes borrowed until the next step). Cannot fail. */
void sto_column_value(sqlite3_stmt *st, int i, struct proto_value *v);
/* Bind a protocol value (NULL: SQL NULL) to parameter i of st. Cannot fail. */
void sto_bind_value(sqlite3_stmt *st, int i, const struct proto_value *v);

/* Register ocop_capture() and create the capture triggers (capture.c). */
int sto_capture_init(struct sto_db *db);
/* Finalize the capture statements (capture.c). Cannot fail. */
void sto_capture_fini(struct sto_db *db);
/* SQL of the CREATE TRIGGER statements for every replicated table, appended to b. */
int sto_capture_triggers_sql(com_buf *b);

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

#endif /* OCOP_STORE_DB_H */
