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

#include "common/store/store.h"
#include "protocol/change.h"

typedef enum sto_outcome {
	STO_APPLIED = 1,   /* merged (some cells may have lost: see conflicts) */
	STO_DUPLICATE = 2, /* held already: nothing changed */
	STO_REJECTED = 3,  /* refused (authority or bad content): nothing applied */
} sto_outcome;

typedef struct sto_verdict {
	sto_outcome outcome; /* what happened */
	int code;            /* for STO_REJECTED: OCOP_EAUTH, OCOP_EINPUT, ... */
	char reason[512];    /* for STO_REJECTED: why, for the sender */
	bool clamped;        /* the change's HLC was beyond the skew bound */
	uint64_t hlc;        /* the HLC the change was stored with */
	uint32_t conflicts;  /* ledger entries written for superseded values */
} sto_verdict;

/*
 * The rules that depend on the OCOP domain, supplied by common/ocop so the
 * store does not depend on it. Every callback may read db.
 */
typedef struct sto_policy {
	/*
	 * May the writer of c make it? Return OCOP_OK, or OCOP_EAUTH / OCOP_EINPUT
	 * with a reason for the sender. NULL accepts everything.
	 */
	int (*authorize)(void *arg, sto_db *db, const proto_change *c, char *reason, size_t cap);
	/* Rank order of two statuses of dossier `row`: >0 when a is higher. NULL: text order. */
	int (*status_cmp)(void *arg, sto_db *db, const char *row, const char *a, const char *b);
	void *arg; /* borrowed; passed to the callbacks */
} sto_policy;

/*
 * Give db the policy its local writes must obey too (a status may not move to
 * a lower rank without a reopen). Borrowed until sto_close. Cannot fail.
 */
void sto_set_policy(sto_db *db, const sto_policy *pol);

/*
 * Merge one change from elsewhere. Must run inside a transaction (sto_begin);
 * on an error return the caller must roll back. With clamp set (servers), an
 * HLC more than the skew bound ahead is stored clamped, recorded in the ledger.
 * Returns OCOP_OK with *v filled in, or OCOP_EDB / OCOP_ENOMEM.
 */
int sto_merge_apply(sto_db *db, const sto_policy *pol, const proto_change *c, bool clamp,
    sto_verdict *v /* OUT */);

/*
 * Record one rejected or superseded write in the ledger (also used by the
 * sync code for rejections a server reported). Values may be NULL.
 * Returns OCOP_OK or OCOP_EDB.
 */
int sto_ledger_put(sto_db *db, const char *tbl, const char *row, const char *col,
    const char *rule, const char *reason, const proto_value *kept, uint64_t kept_hlc,
    const char *kept_site, const proto_value *lost, uint64_t lost_hlc, const char *lost_site,
    uint64_t lost_seq);

/*
 * After refusing a change, make every replica converge on this node's state:
 * log a change of this node's own that re-asserts its current values of the
 * refused cells (an encoded cell map) with an HLC above `above` (pass this
 * node's clock) and above their current versions; the sender of the refused
 * change drops its versions of those cells when told of the refusal. A refused status move is undone with a fresh epoch;
 * with tombstone set (the row did not exist here) the row is tombstoned and
 * the refused cells cleared. Runs inside the caller's transaction.
 * Returns OCOP_OK, OCOP_EPROTO, OCOP_EDB.
 */
int sto_reassert(sto_db *db, const char *tbl, const char *row, const uint8_t *cells, size_t len,
    uint64_t above, bool tombstone);

/*
 * The administrative unit code a row belongs to, found through its parents
 * (score -> sheet -> evaluation -> dossier.unit_code). Writes "" when unknown.
 * Returns OCOP_OK or OCOP_EDB.
 */
int sto_row_scope(sto_db *db, const char *tbl, const char *row, char *out, size_t cap);

#endif /* OCOP_STORE_MERGE_H */
