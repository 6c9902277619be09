/*
 * store.h: the local replica, one SQLite file per node (site, province, nation).
 *
 * Opening a store creates or migrates the schema, registers the capture
 * function and the text-folding function, and loads the node's identity. Every
 * write to a replicated table through this connection is captured into the
 * change log in the same transaction (capture.h); writes from a connection
 * without our functions fail ("no such function: ocop_capture") instead of
 * silently never syncing.
 */
#ifndef OCOP_STORE_STORE_H
#define OCOP_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "common/util/hlc.h"
#include "common/util/log.h"

typedef struct sto_db sto_db;

typedef struct sto_opts {
	const char *user;     /* user recorded with each change; NULL = "" */
	com_clock_fn clock;   /* physical clock seam; NULL = wall clock */
	void *clock_arg;      /* borrowed; passed to clock */
	uint64_t max_skew_ms; /* HLC skew bound; 0 = default (5 minutes) */
	const com_log *log;   /* borrowed log hook, may be NULL */
	bool create;          /* create the file if missing (else OCOP_ENOENT) */
} sto_opts;

/*
 * Open (and create/migrate) the replica at path. Constructor of sto_db.
 * Returns OCOP_OK; OCOP_ENOENT when missing and !opts->create; OCOP_EDB;
 * OCOP_EVERSION when the file is from a newer schema; OCOP_ENOMEM.
 * On error *out is NULL. Caller closes with sto_close().
 */
int sto_open(sto_db **out /* OUT */, const char *path, const sto_opts *opts);
/* Close the replica; accepts NULL. Destructor of sto_db. */
void sto_close(sto_db *db);

/* The SQLite handle (borrowed, valid until sto_close). */
sqlite3 *sto_sqlite(sto_db *db);
/* Text of the last error on db (borrowed, valid until the next call on db). */
const char *sto_errmsg(sto_db *db);
/* Record an error text on db and return code. printf-style. */
int sto_seterr(sto_db *db, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The node's HLC (borrowed). */
com_hlc *sto_hlc(sto_db *db);
/* The log hook given at open, or NULL. */
const com_log *sto_log(sto_db *db);

/* Transactions (BEGIN IMMEDIATE / COMMIT / ROLLBACK). Return OCOP_OK or OCOP_EDB. */
int sto_begin(sto_db *db);
int sto_commit(sto_db *db);
/* Roll back; cannot fail (a failed rollback is logged). */
void sto_rollback(sto_db *db);
/* Run SQL with no result rows. Returns OCOP_OK or OCOP_EDB (message in sto_errmsg). */
int sto_exec(sto_db *db, const char *sql);

/* Persist the node's HLC (meta "hlc") so a restart never goes back. Inside a transaction. */
int sto_meta_set_hlc(sto_db *db);
/* Read a meta value into a com_malloc'd string (caller frees with com_free). OCOP_ENOENT when absent. */
int sto_meta_get(sto_db *db, const char *key, char **value /* OUT */);
/* Set a meta value. Returns OCOP_OK or OCOP_EDB. */
int sto_meta_set(sto_db *db, const char *key, const char *value);

/*
 * Give this replica its identity: site UUID (NULL to generate one), role and
 * unit scope (comma-separated unit codes, or a province code, or "VN").
 * Returns OCOP_OK, OCOP_EEXIST when already initialised, OCOP_EINVAL.
 */
int sto_site_init(sto_db *db, const char *site_id, const char *role, const char *scope);
/* This node's site UUID, or "" before sto_site_init (borrowed). */
const char *sto_site_id(sto_db *db);
/* This node's role ("commune", "province", ...), or "" (borrowed). */
const char *sto_role(sto_db *db);
/* This node's scope, or "" (borrowed). */
const char *sto_scope(sto_db *db);
/*
 * Mark this replica as one that serves other sites (a provincial or national
 * server): when a merged change moves a row to another unit, the row's whole
 * subtree is logged again for the sites that now see it (DESIGN.md 5), be
 * it merged or written here. Returns OCOP_OK or OCOP_EDB.
 */
int sto_set_serving(sto_db *db, bool serving);
/* Set the user recorded with later changes (copied). Returns OCOP_OK or OCOP_ENOMEM. */
int sto_set_user(sto_db *db, const char *user);

/* ===== Row writes (captured like any other write through this connection) ===== */

/*
 * Insert a row into a replicated table. cols/vals are n column names and text
 * values (NULL value = SQL NULL; SQLite's column affinity converts numbers).
 * id_out receives the new UUIDv7 (37 bytes). Returns OCOP_OK, OCOP_EINVAL
 * (unknown table or column, message in sto_errmsg), OCOP_EDB.
 */
int sto_row_insert(sto_db *db, const char *table, const char *const *cols,
    const char *const *vals, size_t n, char id_out[37]);
/*
 * Update n columns of one row in one statement: one captured change, so cells
 * that stand only together (a dossier's status and the epoch a reopen opens)
 * travel and merge together. Values as sto_row_insert. Returns OCOP_OK,
 * OCOP_EINVAL, OCOP_ENOENT when the row is absent or deleted, OCOP_EDB (a
 * refusal of the capture's checks included: the reason is in sto_errmsg).
 */
int sto_row_update_cells(sto_db *db, const char *table, const char *id, const char *const *cols,
    const char *const *vals, size_t n);
/* Update one column of one row. OCOP_ENOENT when the row is absent or deleted. */
int sto_row_update(sto_db *db, const char *table, const char *id, const char *col, const char *val);
/* Tombstone a row (deleted = 1). OCOP_ENOENT when absent or already deleted. */
int sto_row_delete(sto_db *db, const char *table, const char *id);

#endif /* OCOP_STORE_STORE_H */
