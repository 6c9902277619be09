/*
 * handoff.h: what a province's store records of the 5-star candidates it hands
 * to the national tier (table handoff: one row per candidate's evaluation
 * version, with where its hand-over stands) and what a national store records
 * of the candidates that arrived (table arrival). server/handoff.c decides
 * which dossiers are candidates and builds the packages; these functions are
 * the only readers and writers of the two tables (docs/NATIONAL.md).
 */
#ifndef OCOP_STORE_HANDOFF_H
#define OCOP_STORE_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/store.h"

/* One hand-off: a candidate's evaluation version. */
typedef struct sto_handoff_key {
	char dossier_id[37];    /* the dossier */
	char evaluation_id[37]; /* its provincial evaluation */
	int64_t version;        /* the evaluation's version */
} sto_handoff_key;

/*
 * Record a candidate's hand-off as waiting, once (a second record of the same
 * key changes nothing), with the log position it was recorded at.
 * Returns OCOP_OK or OCOP_EDB.
 */
int sto_handoff_record(sto_db *db, const sto_handoff_key *k);

/* Is a hand-off of this key recorded? *found says. Returns OCOP_OK or OCOP_EDB. */
int sto_handoff_has(sto_db *db, const sto_handoff_key *k, bool *found /* OUT */);

/*
 * The latest hand-off recorded for a dossier (the newest evaluation version).
 * *found says whether there is one. Returns OCOP_OK or OCOP_EDB.
 */
int sto_handoff_latest(sto_db *db, const char *dossier_id, sto_handoff_key *out /* OUT */, bool *found /* OUT */);

/* The hand-offs in state waiting or sent, oldest first, as a com_malloc'd array (caller com_free()s). */
int sto_handoff_pending(sto_db *db, sto_handoff_key **keys /* OUT */, size_t *n /* OUT */);

/*
 * Record a hand-off's new state ("sent", "acknowledged"), with the content
 * hash and number of changes when given (sha NULL keeps them), or a failed
 * attempt (state NULL: attempts + 1 and error kept). Returns OCOP_OK or OCOP_EDB.
 */
int sto_handoff_set_state(sto_db *db, const sto_handoff_key *k, const char *state, const char *sha,
    uint64_t changes, const char *error);

/*
 * Mark decided every acknowledged hand-off whose dossier holds a national_result
 * decision made after its evaluation. With any_state (a reply file to a whole
 * package), waiting and sent ones too: the national result shows the national
 * tier holds the candidate. *n (may be NULL) receives how many.
 * Returns OCOP_OK or OCOP_EDB.
 */
int sto_handoff_mark_decided(sto_db *db, bool any_state, uint32_t *n /* OUT */);

/*
 * After a relayed change to decision or evaluation row `row` was applied at
 * the national server, record the candidate's arrival once, when the row
 * completes an approved provincial evaluation. Inside the PUSH's transaction.
 * Returns OCOP_OK or OCOP_EDB.
 */
int sto_handoff_note_arrival(sto_db *db, const char *tbl, const char *row, const char *province_site);

/*
 * At a province server: how many recorded hand-offs are in each state,
 * counts[0..3] = waiting, sent, acknowledged, decided. Returns OCOP_OK or OCOP_EDB.
 */
int sto_handoff_counts(sto_db *db, uint64_t counts[4] /* OUT */);

#endif /* OCOP_STORE_HANDOFF_H */
