/*
 * inspect.h: read-only views of the store's internal tables (change log,
 * ledger) for operators: totals, the ledger by rule, what a peer has not
 * pulled yet, what was refused from it, and the ledger entries that still
 * need someone. The server's status, metrics and dashboard read the store
 * through these functions only, so the tables' shape stays the store's.
 * Nothing here writes.
 */
#ifndef OCOP_STORE_INSPECT_H
#define OCOP_STORE_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "common/store/store.h"

/* Totals over the whole replica. */
typedef struct sto_totals {
	uint64_t changes;       /* rows in the change log */
	uint64_t log_head;      /* highest log position (lsn), 0 when empty */
	uint64_t ledger;        /* ledger entries */
	uint64_t ledger_open;   /* ledger entries nobody has resolved */
	uint64_t refused;       /* distinct writes refused for lack of authority */
	uint64_t dossiers;      /* dossiers not deleted */
} sto_totals;

/* Fill *out. Returns OCOP_OK or OCOP_EDB. */
int sto_inspect_totals(sto_db *db, sto_totals *out /* OUT */);

/*
 * Call fn once per (rule, status) pair of the ledger with its number of
 * entries, ordered by rule then status. Returns OCOP_OK or OCOP_EDB.
 */
int sto_inspect_ledger_rules(sto_db *db, void (*fn)(void *arg, const char *rule, const char *status, uint64_t n),
    void *arg);

/*
 * What peer `site` has not pulled: the number of log entries after its
 * cursor that it did not write itself (before its scope filter: an upper
 * bound of what its next pull brings), and the HLC of the oldest of them
 * (0 when none). Returns OCOP_OK or OCOP_EDB.
 */
int sto_inspect_backlog(sto_db *db, const char *site, uint64_t cursor, uint64_t *pending /* OUT */,
    uint64_t *oldest_hlc /* OUT */);

/* Distinct writes of `site` refused for lack of authority. Returns OCOP_OK or OCOP_EDB. */
int sto_inspect_refused(sto_db *db, const char *site, uint64_t *n /* OUT */);

/* One ledger entry as the operator views show it. Strings borrowed for the callback. */
typedef struct sto_ledger_view {
	int64_t id;            /* ledger id (ocop conflicts show ID) */
	uint64_t recorded_hlc; /* when it was recorded (HLC) */
	const char *tbl;       /* table */
	const char *row;       /* row id */
	const char *col;       /* column, "" for a whole row */
	const char *rule;      /* authority, lww, workflow, clock, upstream ... */
	const char *reason;    /* why, in words */
	const char *lost_site; /* the site whose write lost or was refused, "" if none */
	const char *status;    /* open or resolved */
} sto_ledger_view;

/*
 * Call fn for the open ledger entries (newest first), at most limit of them.
 * Returns OCOP_OK or OCOP_EDB.
 */
int sto_inspect_ledger_open(sto_db *db, size_t limit, void (*fn)(void *arg, const sto_ledger_view *e), void *arg);

#endif /* OCOP_STORE_INSPECT_H */
