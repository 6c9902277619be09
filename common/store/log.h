/*
 * log.h: the change log of a replica (DESIGN.md 3 and 5).
 *
 * Every change captured here, and every change merged from elsewhere, is
 * logged under its writer's site and sequence number: the log is how a node
 * recognises a resend, what a site pushes and what a server serves to PULLs.
 * It does not keep a second copy of every value. A change's entry names the
 * columns it wrote and their base versions; a value the change still holds is
 * read from the row when the change is sent (the row's clock says who holds
 * each cell); a value it lost in the merge is kept in its entry; and a value a
 * later write took from it is kept in the entry of that later write (its
 * `took`), written anyway and in log order, so no earlier page of the log is
 * rewritten. So a replay of the log gives every change exactly what it wrote,
 * superseded values included, while a row written once costs the log a few
 * dozen bytes. Every replica's log reads back whole, so any two can be
 * compared change by change.
 */
#ifndef OCOP_STORE_LOG_H
#define OCOP_STORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/merge.h"
#include "common/store/schema.h"
#include "common/store/store.h"
#include "common/util/buf.h"
#include "protocol/change.h"

/* What a change's entry keeps of its cells. */
typedef struct sto_logcells {
	uint64_t cols;              /* the columns it wrote (bit = column index) */
	uint64_t inrow;             /* of those, the ones it holds: their value is the row's */
	uint64_t base[STO_ROW_MAX]; /* base version of each column written */
	proto_value v[STO_ROW_MAX]; /* the value of each column written and not in the row (borrowed) */
	bool not_kept;              /* its values are gone (the migration's entries of no known table) */
	const uint8_t *verbatim;    /* a forged entry: its cells exactly as its change carried them (borrowed) */
	size_t verbatim_len;        /* their length */
	uint64_t took;              /* columns whose earlier holder's value this change keeps */
	uint32_t took_site[STO_ROW_MAX]; /* that holder's site number */
	uint64_t took_hlc[STO_ROW_MAX];  /* its version */
	proto_value took_v[STO_ROW_MAX]; /* its value (borrowed) */
} sto_logcells;

/*
 * Append a change to the log, inside the caller's transaction. seq 0 takes
 * the next number of this node's own site: the one kept in memory when the
 * log confirms it in the same INSERT, else read from the log (so a statement
 * rolled back, a transaction rolled back or another process's write never
 * leaves a gap or a number used twice); *seq_out (may be NULL) receives the
 * number used. user NULL or "" is stored as NULL.
 * Returns OCOP_OK, OCOP_ENOMEM, OCOP_EDB.
 */
int sto_log_put(sto_db *db, uint32_t site_no, uint64_t seq, const sto_table *t, const char *row, uint64_t hlc,
    const sto_logcells *lc, const char *user, uint64_t *seq_out /* OUT */);

/*
 * Append a change of this node's own from an encoded cell map, kept verbatim
 * in the entry (columns of no table included) whatever the rows hold: how a
 * modified client forges its log, for the tests and tools that play a lying
 * site. seq 0 takes the next number. Returns OCOP_OK, OCOP_EINVAL (malformed
 * cells), OCOP_EDB.
 */
int sto_log_put_cells(sto_db *db, uint64_t seq, const char *tbl, const char *row, uint64_t hlc, const char *user,
    const uint8_t *cells, size_t len, uint64_t *seq_out /* OUT, may be NULL */);

/* Finalize the log's own statements (sto_close). Cannot fail. */
void sto_log_fini(sto_db *db);

/* Is (site_no, seq) logged here? *hlc (may be NULL) gets its stored version. Returns OCOP_OK or OCOP_EDB. */
int sto_log_find(sto_db *db, uint32_t site_no, uint64_t seq, bool *found /* OUT */, uint64_t *hlc /* OUT */);

/*
 * The change (site_no, hlc) of row `row` of t no longer holds the columns in
 * mask: keep their values (vals, by column index) in its entry. Returns
 * OCOP_OK, OCOP_ENOMEM, OCOP_EDB.
 */
int sto_log_keep(sto_db *db, const sto_table *t, const char *row, uint32_t site_no, uint64_t hlc, uint64_t mask,
    const proto_value *vals);

/*
 * Make the entry of change (site_no, seq) keep in itself every value it no
 * longer holds, before its version changes (a later change's `took` names it
 * by its version). Returns OCOP_OK, OCOP_ENOMEM, OCOP_EINTERNAL, OCOP_EDB.
 */
int sto_log_settle(sto_db *db, uint32_t site_no, uint64_t seq);

/*
 * Set one of the marks of change (site, seq): "scope" (the scope a move left,
 * text), "to_site" or "via" (a site UUID, stored by number). Returns OCOP_OK,
 * OCOP_EINVAL, OCOP_EDB.
 */
int sto_log_mark(sto_db *db, const char *site, uint64_t seq, const char *mark, const char *value);

/* Table, row and version of this node's own change seq; *found says whether it is logged. */
int sto_log_own(sto_db *db, uint64_t seq, char tbl[PROTO_NAME_MAX + 1], char row[PROTO_UUID_LEN + 1],
    uint64_t *hlc /* OUT */, bool *found /* OUT */);

/* The highest HLC of this node's own logged changes, or 0. Returns OCOP_OK or OCOP_EDB. */
int sto_log_last_own_hlc(sto_db *db, uint64_t *hlc /* OUT */);

/* ===== Reading records ===== */

/* One change as this replica sends it. */
typedef struct sto_logged {
	uint64_t lsn;            /* its position in the log */
	proto_change c;          /* the record; c.cells borrowed until the next sto_log_next */
	const char *scope;       /* the scope a move made it leave, or NULL (borrowed likewise) */
	char to_site[37];        /* the site a re-assertion is addressed to, or "" */
	char via[37];            /* the peer that relayed it here, or "" */
	char row_scope[64];      /* with sto_log_filter.row_scope: the unit the row belongs to now */
} sto_logged;

/* Which entries a reader walks. */
typedef struct sto_log_filter {
	uint64_t after_lsn;      /* start after this position */
	const char *peer;        /* skip this site's own changes (unless its ledger entry says this
				    server clamped one: the echo tells it the version every replica
				    holds) and those it relayed here; NULL skips nothing */
	bool relays_only;        /* skip only what peer relayed here, not what it wrote */
	bool row_scope;          /* fill sto_logged.row_scope; nothing may write on the connection until close */
} sto_log_filter;

/* A reader over the log. Caller-owned storage; open/close pair. */
typedef struct sto_log_it {
	sto_db *db;          /* borrowed */
	sqlite3_stmt *st;    /* owned */
	bool began;          /* this reader opened the read transaction */
	bool row_scope;      /* fill row_scope */
	bool memo;           /* parents' scopes remembered until close (sto_judge_begin) */
	uint64_t end_lsn;    /* the log's end when the read began */
	com_buf cells;       /* the current record's cells, owned */
	com_buf taken;       /* a value a later change took, owned scratch */
	sto_row row;         /* the current record's row, owned */
	bool row_loaded;     /* row holds the current record's row */
	char scope[64];      /* the current record's move scope */
} sto_log_it;

/*
 * Walk this node's own changes after seq `after`, in seq order. Returns
 * OCOP_OK or OCOP_EDB; close with sto_log_close() either way.
 */
int sto_log_open_own(sto_log_it *it, sto_db *db, uint64_t after);
/*
 * Walk the log in order from f->after_lsn. Outside a transaction the walk runs
 * in a read transaction of its own, so what it reads and sto_log_end() are one
 * moment of the log. Returns OCOP_OK or OCOP_EDB; close with sto_log_close().
 */
int sto_log_open(sto_log_it *it, sto_db *db, const sto_log_filter *f);
/*
 * The next record. Returns OCOP_OK, OCOP_ENOENT at the end, OCOP_EDB, or
 * OCOP_EINTERNAL when an entry names a value its row no longer holds (a
 * damaged replica; the message says which).
 */
int sto_log_next(sto_log_it *it, sto_logged *out /* OUT */);
/* The position of the last entry of the log when the walk began. Cannot fail. */
uint64_t sto_log_end(const sto_log_it *it);
/* Release the reader; accepts one whose open failed. Cannot fail. */
void sto_log_close(sto_log_it *it);

#endif /* OCOP_STORE_LOG_H */
