/*
 * merge.h: the one merge function every node runs (DESIGN.md section 4).
 *
 * sto_merge_apply() takes one change that came from elsewhere and applies it
 * cell by cell inside the caller's transaction:
 *   0. a change already applied (same site and seq) is a duplicate and changes
 *      nothing; one rejected before is rejected again with the same reason;
 *   1. authority: a change its writer may not make is rejected whole, each of
 *      its cells recorded in the ledger, and nothing applied;
 *   2. workflow lattice for a dossier's status: the higher epoch wins, then the
 *      higher rank, then the later (hlc, site); the epoch itself only grows;
 *   3. tombstones: `deleted` only goes from 0 to 1;
 *   4. last writer wins by (hlc, site_id) for every other cell.
 * Every value that loses (2-4) is kept in the ledger with both values, both
 * versions, the rule and the reason, unless the loser was the direct base of
 * the winner (a plain edit of the writer's own view). The change is then
 * logged, so servers can serve it and every node can recognise a resend.
 * The result is a function of the set of changes, not of their order.
 */
#ifndef OCOP_STORE_MERGE_H
#define OCOP_STORE_MERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/schema.h"
#include "common/store/store.h"
#include "protocol/change.h"

/* Most columns of any replicated table (schema.c). */
#define STO_ROW_MAX 24

typedef enum sto_outcome {
	STO_APPLIED = 1,   /* merged (some cells may have lost: see conflicts) */
	STO_DUPLICATE = 2, /* held already: nothing changed */
	STO_REJECTED = 3,  /* refused (authority or bad content): nothing applied */
} sto_outcome;

typedef struct sto_verdict {
	sto_outcome outcome; /* what happened */
	int code;            /* for STO_REJECTED: OCOP_EAUTH, OCOP_ESCOPE, ... (sto_rule_name) */
	char reason[512];    /* for STO_REJECTED: why, for the sender */
	bool clamped;        /* the change's HLC was beyond the skew bound */
	uint64_t hlc;        /* the HLC the change was stored with */
	uint32_t conflicts;  /* ledger entries written for superseded values */
} sto_verdict;

/*
 * Who wrote a change, as the receiving node knows it: a server takes the
 * site's registered role and scope from its own registry, never from the
 * change or from what the laptop says of itself. For a local write it is the
 * node itself. For changes a server relays (a province to the national
 * server), site is the change's own writer and role and scope are the
 * relaying server's (the relay policy decides which roles it vouches for).
 */
typedef struct sto_writer {
	const char *site;  /* writer site UUID */
	const char *role;  /* registered role name */
	const char *scope; /* registered scope: unit codes, a province code, or "VN" */
} sto_writer;

/*
 * The stored row a change lands on, one value per schema column (index as in
 * sto_table.cols). Text and blob bytes are borrowed: from the row's own
 * buffer when loaded with sto_row_load(), from SQLite while a trigger runs.
 */
typedef struct sto_row {
	const sto_table *t;          /* its table */
	bool exists;                 /* false: the change creates the row */
	proto_value v[STO_ROW_MAX];  /* values; PROTO_V_NULL when unset */
	uint8_t *buf;                /* owned copies of text bytes (sto_row_load), or NULL */
	int64_t rowid;               /* SQLite's rowid of a stored row (sto_row_load) */
	char id[64];                 /* the id it was loaded by (sto_row_load) */
	const uint8_t *clock;        /* its packed clock (clock.h), in buf; NULL when the column is NULL */
	size_t clock_len;            /* bytes of clock */
} sto_row;

/*
 * Load row `id` of table t as stored (exists = false when absent). Caller
 * releases with sto_row_fini(). Returns OCOP_OK, OCOP_EDB, OCOP_ENOMEM.
 */
int sto_row_load(sto_db *db, const sto_table *t, const char *id, sto_row *out /* OUT */);
/* Release what sto_row_load() copied. Accepts a zeroed row. Cannot fail. */
void sto_row_fini(sto_row *r);
/* The stored value of column col (NULL when the table has no such column). */
const proto_value *sto_row_get(const sto_row *r, const char *col);

/*
 * Column col of row id of table tbl as text into out ("" when NULL; integers
 * in decimal). Returns OCOP_OK, OCOP_ENOENT (no such row or table), OCOP_EDB,
 * OCOP_ENOMEM.
 */
int sto_row_text(sto_db *db, const char *tbl, const char *id, const char *col, char *out, size_t cap);

/*
 * The rules that depend on the OCOP domain, supplied by common/ocop so the
 * store does not depend on it. Every callback may read db.
 */
typedef struct sto_policy {
	/*
	 * May writer w make change c on the row as stored (before) and as it
	 * would be after the change? Return OCOP_OK, or a refusal code
	 * (OCOP_EAUTH, OCOP_ESCOPE, OCOP_ESTATE, OCOP_EIMMUTABLE, OCOP_ETYPE,
	 * OCOP_ESITE: see sto_rule_name) with a reason for the sender. NULL
	 * accepts everything.
	 */
	int (*authorize)(void *arg, sto_db *db, const sto_writer *w, const sto_row *before,
	    const proto_change *c, char *reason, size_t cap);
	/* Rank order of two statuses of dossier `row`: >0 when a is higher. NULL: text order. */
	int (*status_cmp)(void *arg, sto_db *db, const char *row, const char *a, const char *b);
	/*
	 * Does a site of `scope` see rows of unit `code` (never "")? The one
	 * scope matcher, with the succession of units; a server filters PULL
	 * with it. NULL: code must lie under one of the scope's codes.
	 */
	bool (*covers)(void *arg, sto_db *db, const char *scope, const char *code);
	void *arg; /* borrowed; passed to the callbacks */
} sto_policy;

/*
 * Give db the policy its local writes must obey too: every captured write is
 * judged by authorize() with this node as the writer, against the row as it
 * was, so a laptop refuses locally what its server would refuse. Borrowed
 * until sto_close. Cannot fail.
 */
void sto_set_policy(sto_db *db, const sto_policy *pol);

/*
 * Merge one change from elsewhere. Must run inside a transaction (sto_begin);
 * on an error return the caller must roll back. w is the writer as this node
 * knows it (see sto_writer); NULL when the change comes from this node's own
 * server, which has judged it already (a site pulling). With clamp set
 * (servers), an HLC more than the skew bound ahead is stored clamped,
 * recorded in the ledger. A refused change changes nothing but the ledger.
 * Returns OCOP_OK with *v filled in, or OCOP_EDB / OCOP_ENOMEM.
 */
int sto_merge_apply(sto_db *db, const sto_policy *pol, const sto_writer *w, const proto_change *c,
    bool clamp, sto_verdict *v /* OUT */);

/*
 * After refusing a change, make every replica converge on this node's state:
 * log a change of this node's own that re-asserts its current values of the
 * refused cells (an encoded cell map) with an HLC above `above` (pass this
 * node's clock) and above their current versions; the sender of the refused
 * change drops its versions of those cells when told of the refusal. A refused status move is undone with a fresh epoch;
 * with tombstone set (the row did not exist here) the row is tombstoned and
 * the refused cells cleared. to_site (the refused writer) is served the
 * re-assertion whatever its scope. Runs inside the caller's transaction.
 * Returns OCOP_OK, OCOP_EPROTO, OCOP_EDB.
 */
int sto_reassert(sto_db *db, const char *tbl, const char *row, const uint8_t *cells, size_t len,
    uint64_t above, bool tombstone, const char *to_site);

/*
 * This node's own change of row `row` of tbl, of version hlc, was refused by
 * its server: the cells it still holds lose their version (a status also the
 * epoch it was set in), so the server's re-assertion takes them back whatever
 * this node's clock said; the change's log entry keeps their values first.
 * Inside the caller's transaction. Returns OCOP_OK, OCOP_ENOMEM, OCOP_EDB.
 */
int sto_void_own(sto_db *db, const char *tbl, const char *row, uint64_t hlc);

/*
 * The administrative unit a row belongs to for scope (row.c): the unit of its
 * parent when it has one this node holds (a subject's products, dossiers and
 * everything under them go where the subject goes), else its own unit column
 * (unit_col); a resolution goes where the row it talks about goes. Writes ""
 * when none is known. Returns OCOP_OK or OCOP_EDB.
 */
int sto_row_scope(sto_db *db, const char *tbl, const char *row, char *out, size_t cap);

/*
 * The same for a row as it would be after change c (NULL: as stored), given
 * the row as stored. *parent_missing is set when the row would name a parent
 * or target row this node does not hold. Returns OCOP_OK or OCOP_EDB.
 */
int sto_row_scope_after(sto_db *db, const sto_row *before, const proto_change *c, char *out, size_t cap,
    bool *parent_missing /* OUT */);

/*
 * The unit that succeeded unit `code` (its successor_code), from the unit rows
 * this replica holds. Returns OCOP_OK, OCOP_ENOENT (none recorded), OCOP_EDB.
 */
int sto_unit_successor(sto_db *db, const char *code, char *out, size_t cap);

#endif /* OCOP_STORE_MERGE_H */
