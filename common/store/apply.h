/*
 * apply.h: writing decided cells to a row, shared by the merge, the server's
 * re-assertion and the clamp echo (store-internal).
 *
 * Whoever changes which change holds a cell does three things: writes the
 * row's new values and clock in one statement, and lets each change that held
 * a replaced cell keep its value in its log entry (log.h), since the row will
 * not have it any more.
 */
#ifndef OCOP_STORE_APPLY_H
#define OCOP_STORE_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "common/store/clock.h"
#include "common/store/merge.h"
#include "common/store/store.h"

/*
 * Write row cur (as loaded by sto_row_load): the columns in mask take
 * vals[i], and the row takes clock ck. An existing row is updated by rowid
 * (nothing is written when mask is 0 and write_clock is false); a new row is
 * inserted whole, its other columns NULL and `deleted` 0. Capture must be
 * suspended. Returns OCOP_OK, OCOP_ENOMEM, OCOP_EDB.
 */
int sto_apply_row(sto_db *db, const sto_row *cur, uint64_t mask, const proto_value *vals, const sto_clock *ck,
    bool write_clock);

/*
 * The cells in mask are about to leave the changes that hold them now (ck):
 * each such change keeps its value (cur's) in its log entry. Returns OCOP_OK,
 * OCOP_ENOMEM, OCOP_EDB.
 */
int sto_apply_keep(sto_db *db, const sto_row *cur, const sto_clock *ck, uint64_t mask);

/*
 * The order last-writer-wins uses: (hlc, site UUID), site numbers resolved
 * to their UUIDs (numbers differ between replicas, the order may not).
 * *cmp > 0 when a is later. Returns OCOP_OK or OCOP_EDB.
 */
int sto_apply_version_cmp(sto_db *db, uint64_t ha, uint32_t sa, uint64_t hb, uint32_t sb, int *cmp /* OUT */);

#endif /* OCOP_STORE_APPLY_H */
