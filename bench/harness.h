/*
 * harness.h: what every benchmark program shares: a monotonic clock, medians,
 * temporary directories, the generated dossier rows (~600 bytes each), and
 * the two insert loops being compared: plain SQLite and a captured replica.
 *
 * Benchmarks print figures; nothing here asserts on time.
 */
#ifndef OCOP_BENCH_HARNESS_H
#define OCOP_BENCH_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sqlite3.h>

#include "common/store/store.h"

#define BN_DOSSIER_NCOLS 15  /* columns of dossier a generated row fills (all but deleted) */
#define BN_ROW_TEXT 1024     /* bytes of text storage per generated row */

/* One generated dossier row: column names and text values (borrowed from text). */
typedef struct bn_row {
	const char *cols[BN_DOSSIER_NCOLS]; /* column names, static strings */
	const char *vals[BN_DOSSIER_NCOLS]; /* values, pointing into text */
	char text[BN_ROW_TEXT];             /* storage of the values, owned */
} bn_row;

/* Seconds on a monotonic clock. Cannot fail. */
double bn_now(void);

/* The median of n values (sorts v in place); 0 when n is 0. Cannot fail. */
double bn_median(double *v, int n);

/*
 * Make a fresh temporary directory under $TMPDIR (or /tmp). Returns a
 * com_malloc'd path, or NULL on failure. Caller removes it with bn_dir_remove().
 */
char *bn_dir_make(void);

/*
 * Remove every file in dir, then dir itself, and free the path. Accepts NULL.
 * With OCOP_BENCH_KEEP set in the environment the files stay (for inspection).
 */
void bn_dir_remove(char *dir);

/*
 * Fill r with dossier number i of unit unit_code: the same values for the same
 * (i, unit_code), so the plain and the captured side insert identical rows.
 * Cannot fail.
 */
void bn_dossier_row(bn_row *r, unsigned i, const char *unit_code);

/*
 * Write, in db and through its capture, the subject and the product of unit
 * unit_code that generated dossiers belong to (a store refuses a dossier whose
 * product it does not hold): those of family key, or with key NULL those of
 * the unit itself, which bn_dossier_row uses. Once per replica and family,
 * before the dossiers. Returns OCOP_OK or OCOP_EDB (the error printed).
 */
int bn_parents_insert(sto_db *db, const char *unit_code, const char *key);

/* Make the n rows belong to the product of family key instead. Cannot fail. */
void bn_rows_set_product(bn_row *rows, size_t n, const char *key);

/*
 * Generate n rows numbered from first (bn_dossier_row), so the timed loops
 * only write. Returns a com_malloc'd array, or NULL. Caller frees with com_free().
 */
bn_row *bn_rows_make(unsigned first, size_t n, const char *unit_code);

/* Bytes of column values in r (the row's payload). Cannot fail. */
size_t bn_row_bytes(const bn_row *r);

/* SQLite settings a run applies to both sides after opening. */
typedef struct bn_tuning {
	bool full_sync; /* synchronous=FULL (what sto_open sets), else NORMAL */
	int cache_kib;  /* PRAGMA cache_size=-cache_kib; 0 keeps SQLite's default (2000 KiB) */
} bn_tuning;

/*
 * Open (creating) the replica dir/name with a site identity (role, scope) and
 * the tuning tu. site_id NULL generates one. Returns OCOP_OK or the store's
 * error; on error *out is NULL. Caller closes with sto_close().
 */
int bn_replica_open(sto_db **out /* OUT */, const char *dir, const char *name, const char *site_id,
    const char *role, const char *scope, const bn_tuning *tu);

/*
 * What the plain side writes per row. The two extra kinds are sketches of
 * cheaper capture designs, measured as floors (plain SQL, no triggers):
 * LOG adds one change-log row (the store's change table, the row's cells
 * encoded as msgpack like capture does); LOG_ROWCLOCK also writes one clock
 * row per row holding every cell's version in a packed blob, instead of one
 * clock row per cell.
 */
typedef enum bn_plain_kind {
	BN_PLAIN = 0,              /* the row only: the baseline */
	BN_PLAIN_LOG = 1,          /* the row and one change-log row */
	BN_PLAIN_LOG_ROWCLOCK = 2, /* the row, one change-log row and one packed clock row */
} bn_plain_kind;

/*
 * Plain SQLite: create dir/name with a table of dossier's columns and index
 * (no triggers), WAL and the tuning tu, then insert the n rows in
 * transactions of batch rows with prepared INSERTs, each with a fresh UUIDv7
 * id, plus what kind adds. *secs receives the time of the insert loop.
 * Returns OCOP_OK or OCOP_EDB.
 */
int bn_plain_insert(const char *dir, const char *name, const bn_tuning *tu, bn_plain_kind kind,
    const bn_row *rows, size_t n, size_t batch, double *secs /* OUT */);

/* How the captured side writes a row. */
typedef enum bn_write {
	BN_WRITE_ROW_INSERT = 1, /* sto_row_insert (builds and prepares its INSERT per row) */
	BN_WRITE_PREPARED = 2,   /* one prepared INSERT on sto_sqlite(db), captured by the triggers */
} bn_write;

/*
 * Captured side: insert the n rows into db in transactions of batch rows.
 * ids, when not NULL, receives each new row's id (n entries). *secs receives
 * the time of the loop. Returns OCOP_OK or the store's error.
 */
int bn_captured_insert(sto_db *db, bn_write how, const bn_row *rows, size_t n, size_t batch,
    char (*ids)[37], double *secs /* OUT */);

/*
 * Set one column of each of the n dossiers in ids, in transactions of batch
 * rows, through a prepared UPDATE that the triggers capture. The new value is
 * a date (10 bytes, of a year the tag picks) or, with long_value, a note of
 * about 250 bytes containing the tag. *secs receives the time. Returns OCOP_OK or
 * OCOP_EDB.
 */
int bn_edit(sto_db *db, const char (*ids)[37], size_t n, const char *col, const char *tag,
    bool long_value, size_t batch, double *secs /* OUT */);

/* Size in bytes of the database file path plus its -wal file. Cannot fail (0 when absent). */
uint64_t bn_file_bytes(const char *path);

#endif /* OCOP_BENCH_HARNESS_H */
