/*
 * replica.h: test helpers over replicas: copy changes from one replica's log
 * into another through the merge, and dump a replica's state as text so two
 * replicas can be compared (rows, cells and cell versions).
 */
#ifndef OCOP_TESTS_LIB_REPLICA_H
#define OCOP_TESTS_LIB_REPLICA_H

#include <stdbool.h>
#include <stdint.h>

#include "common/ocop/workflow.h"
#include "common/store/merge.h"
#include "common/store/store.h"
#include "common/util/buf.h"

/* Counts of what tr_exchange did. */
typedef struct tr_counts {
	int applied;    /* changes newly merged */
	int duplicates; /* changes already held */
	int rejected;   /* changes refused */
	int conflicts;  /* ledger entries for superseded values */
} tr_counts;

/*
 * Merge into dst every change of src's log with lsn > *cursor (in log order,
 * or reversed when reverse is set), in one transaction; *cursor moves to the
 * last lsn read. Returns OCOP_OK or the merge's error.
 */
int tr_exchange(sto_db *dst, sto_db *src, const sto_policy *pol, uint64_t *cursor, bool reverse,
    tr_counts *counts);
/*
 * Append to out a canonical text dump of every replicated table (all columns,
 * rows by id) and, when with_clocks, the cell versions. Returns OCOP_OK.
 */
int tr_dump(sto_db *db, com_buf *out, bool with_clocks);
/*
 * The dump of tr_dump (with clocks) restricted to the rows a site of `scope`
 * holds: a row's scope is what `authority` (the site's server) makes of it
 * when it holds the row, else what db makes of it. A site may hold a
 * tombstone or a partial copy of a row outside its scope (its own refused
 * write re-asserted to it) whose place only the server knows. Rows of no unit
 * go everywhere. Caller frees with com_free().
 */
char *tr_dump_scope(sto_db *db, sto_db *authority, const char *scope);
/* A record copied out of a replica's log (its cells owned). */
typedef struct tr_rec {
	proto_change c; /* the record; c.cells points at cells */
	uint8_t *cells; /* owned copy */
	uint64_t lsn;   /* its position in the log */
} tr_rec;

/*
 * Every record of db's log after position `after`, in log order, as db would
 * send them. Free with tr_log_free(). Returns OCOP_OK or the log reader's
 * error (a record whose row lost its value: EINTERNAL).
 */
int tr_log_all(sto_db *db, uint64_t after, tr_rec **out /* OUT */, size_t *n /* OUT */);
/* Free what tr_log_all returned. Cannot fail. */
void tr_log_free(tr_rec *recs, size_t n);

/*
 * Change (site, seq) of db's log as db would send it: *c, its cells copied
 * into cells (c->cells points there). Returns OCOP_OK, OCOP_ENOENT, or the
 * log reader's error.
 */
int tr_log_get(sto_db *db, const char *site, uint64_t seq, proto_change *c /* OUT */, com_buf *cells);
/*
 * Give cell (tbl, row, col) the version (hlc, site) as a merge would have
 * (the change that held it keeps its value in its log entry), in a
 * transaction of its own. Returns OCOP_OK or the store's error.
 */
int tr_clock_set(sto_db *db, const char *tbl, const char *row, const char *col, uint64_t hlc, const char *site);
/*
 * Mark in reach (indexed like the flow's states, ocp_flow_state_count entries)
 * the states a dossier can reach from the flow's initial one by the
 * transitions that the roles in `roles` (OCP_ROLE_BIT mask) make. Cannot fail.
 */
void tr_flow_reach(const ocp_flow *flow, unsigned roles, unsigned char *reach);
/* Index of a state of the flow among ocp_flow_state_at(). Cannot fail (the state is the flow's). */
size_t tr_flow_state_index(const ocp_flow *flow, const ocp_state *state);
/* Number of ledger rows with the given rule (NULL: all). */
int tr_ledger_count(sto_db *db, const char *rule);

#endif /* OCOP_TESTS_LIB_REPLICA_H */
