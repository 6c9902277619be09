/*
 * inspect.h: read-only views of the change log for operators: totals and
 * what a peer has not pulled yet. The server's status, metrics and dashboard
 * read the store through these functions (and ledger.h for the ledger), so
 * the tables' shape stays the store's. Nothing here writes.
 */
#ifndef OCOP_STORE_INSPECT_H
#define OCOP_STORE_INSPECT_H

#include <stddef.h>
#include <stdint.h>

#include "common/store/store.h"

/* Totals of the change log and the dossiers (the ledger's: common/store/ledger.h). */
typedef struct sto_totals {
	uint64_t changes;       /* rows in the change log */
	uint64_t log_head;      /* highest log position (lsn), 0 when empty */
	uint64_t dossiers;      /* dossiers not deleted */
} sto_totals;

/* Fill *out. Returns OCOP_OK or OCOP_EDB. */
int sto_inspect_totals(sto_db *db, sto_totals *out /* OUT */);

/*
 * What peer `site` has not pulled: the number of log entries after its
 * cursor that it did not write itself (before its scope filter: an upper
 * bound of what its next pull brings), and the HLC of the oldest of them
 * (0 when none). Returns OCOP_OK or OCOP_EDB.
 */
int sto_inspect_backlog(sto_db *db, const char *site, uint64_t cursor, uint64_t *pending /* OUT */,
    uint64_t *oldest_hlc /* OUT */);

#endif /* OCOP_STORE_INSPECT_H */
