/*
 * ledger.h: the conflict ledger of a replica (DESIGN.md 4 rule 4): every value
 * that lost a merge (superseded) and every change that was refused, with both
 * values, both versions, the rule and the reason. A refusal has refused = 1.
 * An entry is settled by a replicated resolution row, so every replica that
 * holds the entry sees it settled; settling it with the lost value writes that
 * value again as a new change of this site, judged like any other write.
 */
#ifndef OCOP_STORE_LEDGER_H
#define OCOP_STORE_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/store.h"
#include "protocol/change.h"

/*
 * The ledger rule of a refusal code: "authority" (OCOP_EAUTH), "scope"
 * (OCOP_ESCOPE), "workflow" (OCOP_ESTATE), "immutable" (OCOP_EIMMUTABLE),
 * "type" (OCOP_ETYPE, OCOP_EINPUT, OCOP_EPROTO) or "identity" (OCOP_ESITE);
 * "authority" for anything else. Static literal. Cannot fail.
 */
const char *sto_rule_name(int code);

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
 * Record a refusal (refused = 1) in the ledger, with the rule of code
 * (sto_rule_name). Values may be NULL. Returns OCOP_OK or OCOP_EDB.
 */
int sto_ledger_refusal(sto_db *db, const char *tbl, const char *row, const char *col, int code,
    const char *reason, const proto_value *lost, uint64_t lost_hlc, const char *lost_site, uint64_t lost_seq);

/*
 * Has change (site, seq) been refused here? *found says; *code (may be NULL)
 * and reason (may be NULL) receive the refusal. Returns OCOP_OK or OCOP_EDB.
 */
int sto_refusal_find(sto_db *db, const char *site, uint64_t seq, int *code /* OUT */, char *reason, size_t cap,
    bool *found /* OUT */);

/*
 * Is there a ledger entry about change (site, seq) under rule (e.g. the
 * province's "upstream" record of a refusal by the national server)? *found
 * says. Returns OCOP_OK or OCOP_EDB.
 */
int sto_ledger_has_rule(sto_db *db, const char *site, uint64_t seq, const char *rule, bool *found /* OUT */);

typedef struct sto_ledger_stats {
	uint64_t entries;         /* every ledger entry */
	uint64_t open;            /* entries nobody has settled */
	uint64_t refused_changes; /* distinct changes refused (of `site`, or of anyone) */
} sto_ledger_stats;

/* Count the ledger; site NULL counts refused changes of every writer. Returns OCOP_OK or OCOP_EDB. */
int sto_ledger_counts(sto_db *db, const char *site, sto_ledger_stats *out /* OUT */);

/*
 * This node's server refused its change seq: record the refusal in the
 * ledger and drop the change's versions of the cells it still holds, so the
 * server's re-assertion takes them back on the next pull. Inside the
 * caller's transaction. Returns OCOP_OK or OCOP_EDB.
 */
int sto_refused_own(sto_db *db, uint64_t seq, int code, const char *reason);

/* ===== Reading and settling entries ===== */

/* One ledger entry, as read (strings and values borrowed for the callback's duration). */
typedef struct sto_ledger_entry {
	int64_t id;           /* entry number on this replica */
	const char *tbl;      /* table */
	const char *row;      /* row UUID */
	const char *col;      /* column, "" for a whole change */
	const char *rule;     /* lww, tombstone, workflow, clock, or a refusal's rule */
	const char *reason;   /* why */
	bool refused;         /* a refusal: the change was not applied */
	proto_value kept;     /* the value that stands (may be NULL) */
	uint64_t kept_hlc;    /* its version, 0 when unknown */
	const char *kept_site; /* its writer, "" when unknown */
	proto_value lost;     /* the value that lost or was refused (may be NULL) */
	uint64_t lost_hlc;    /* its version */
	const char *lost_site; /* its writer */
	uint64_t lost_seq;    /* its change's sequence number, 0 when unknown */
	const char *status;   /* "open", or how it was settled (here or on another replica) */
} sto_ledger_entry;

/*
 * Call fn for each entry (id 0: every entry, else that one only), open ones
 * only when open_only, in id order. fn returns nonzero to stop. An entry is
 * settled when this replica settled it or a resolution row for it (from any
 * replica) is held here. Returns OCOP_OK, OCOP_ENOENT (id given, not found),
 * OCOP_EDB.
 */
int sto_ledger_each(sto_db *db, int64_t id, bool open_only, int (*fn)(void *arg, const sto_ledger_entry *e),
    void *arg);

/*
 * Settle entry id: with keep_lost, write its lost value back as a new change
 * of this site (judged by the policy like any write, so a value this site may
 * not write is refused again here), then record a replicated resolution row
 * (action "restored" or "kept", with note) and mark the entry. One
 * transaction: a refusal changes nothing. Returns OCOP_OK; OCOP_ENOENT;
 * OCOP_ESTATE (already settled, or a refused change or clock entry asked to
 * be restored: it has no value that may stand); OCOP_EDB with the reason in
 * sto_errmsg (a refusal by the policy included).
 */
int sto_ledger_resolve(sto_db *db, int64_t id, bool keep_lost, const char *note);

#endif /* OCOP_STORE_LEDGER_H */
