/*
 * capture.h: change capture (DESIGN.md section 3).
 *
 * Each replicated table carries AFTER INSERT / AFTER UPDATE triggers that call
 * the SQL function ocop_capture(), which this node registers on its own
 * connections only. In the same transaction as the write it: advances the HLC
 * past the cells' current versions, takes the next dense site_seq, logs one
 * change row (table, row, changed cells with their base versions, hlc, user)
 * and moves the cells' clocks. A connection without the function (a foreign
 * tool) cannot write at all: the trigger fails with "no such function".
 * Hard DELETE and changing an id are refused by triggers too.
 */
#ifndef OCOP_STORE_CAPTURE_H
#define OCOP_STORE_CAPTURE_H

#include "common/store/store.h"

/*
 * Make capture step aside while the merge writes rows it got from elsewhere
 * (the merge logs and clocks those itself). Calls nest. Cannot fail.
 */
void sto_capture_suspend(sto_db *db);
/* Undo one sto_capture_suspend. Cannot fail. */
void sto_capture_resume(sto_db *db);

/* Number of changes this site has captured (its highest site_seq), or 0. */
int sto_capture_last_seq(sto_db *db, uint64_t *seq /* OUT */);

#endif /* OCOP_STORE_CAPTURE_H */
