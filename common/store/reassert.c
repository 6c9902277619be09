/*
 * reassert.c: after refusing a change, a server makes every replica converge
 * on its own state (see sto_reassert in merge.h).
 */
#include "common/store/merge.h"

#include <stdio.h>
#include <string.h>

#include "common/store/apply.h"
#include "common/store/capture.h"
#include "common/store/clock.h"
#include "common/store/db.h"
#include "common/store/log.h"
#include "common/store/schema.h"
#include "ocop_err.h"

int
sto_reassert(sto_db *db, const char *tbl, const char *row, const uint8_t *cells, size_t len, uint64_t above,
    bool tombstone, const char *to_site)
{
	const sto_table *t = sto_schema_table(tbl);
	proto_value refused[STO_ROW_MAX];
	proto_value nv[STO_ROW_MAX];
	proto_cells_it it;
	proto_cell cell;
	sto_logcells lc;
	sto_clock ck;
	sto_row cur;
	uint64_t mask = 0;
	uint64_t hlc = above + 1;
	uint64_t seq = 0;
	int status;
	int epoch;
	int deleted;
	size_t i;
	int rv;

	if (t == NULL || t->ncols > STO_ROW_MAX || proto_cells_open(&it, cells, len, NULL) != OCOP_OK) {
		return OCOP_OK; /* nothing of it can stand anywhere */
	}
	/* Only the refused change's known columns, each once: a refused change
	 * may name anything, and re-asserting must never fail on it. */
	memset(refused, 0, sizeof(refused));
	while (proto_cells_next(&it, &cell) == OCOP_OK) {
		int k = sto_schema_col_index(t, cell.col);
		if (k >= 0 && !(mask & ((uint64_t)1 << k))) {
			mask |= (uint64_t)1 << k;
			refused[k] = cell.v; /* bytes borrowed from cells, alive for the call */
		}
	}
	status = sto_schema_status_col(t);
	epoch = sto_schema_col_index(t, "epoch");
	deleted = sto_schema_col_index(t, "deleted");
	/* A status stands only with the epoch it was set in: re-assert both. */
	if (status >= 0 && epoch >= 0 && (mask & ((uint64_t)1 << status))) {
		mask |= (uint64_t)1 << epoch;
	}
	if (tombstone && deleted >= 0) {
		mask |= (uint64_t)1 << deleted;
	}
	if (mask == 0) {
		return OCOP_OK;
	}
	if ((rv = sto_row_load(db, t, row, &cur)) != OCOP_OK) {
		return rv;
	}
	if ((rv = sto_row_clock(db, &cur, &ck)) != OCOP_OK) {
		goto done;
	}
	memset(&lc, 0, sizeof(lc));
	/* The new version must be above every current version of these cells. */
	for (i = 0; i < t->ncols; i++) {
		if ((mask & ((uint64_t)1 << i)) && ck.have[i]) {
			lc.base[i] = ck.hlc[i];
			hlc = ck.hlc[i] >= hlc ? ck.hlc[i] + 1 : hlc;
		}
	}
	if (hlc <= db->hlc.last) {
		hlc = db->hlc.last + 1;
	}
	db->hlc.last = hlc;
	for (i = 0; i < t->ncols; i++) {
		nv[i] = cur.v[i];
		if (!tombstone || !(mask & ((uint64_t)1 << i))) {
			continue;
		}
		/* A refused row that never existed here: a tombstone that keeps only
		 * what places it (its parent), so it goes where the row would have
		 * gone and nowhere else. */
		memset(&nv[i], 0, sizeof(nv[i]));
		if ((int)i == deleted) {
			nv[i].type = PROTO_V_INT;
			nv[i].i = 1;
		} else if ((t->parent_col != NULL && strcmp(t->cols[i].name, t->parent_col) == 0) ||
			   (t->ref_tbl_col != NULL && strcmp(t->cols[i].name, t->ref_tbl_col) == 0) ||
			   (t->ref_row_col != NULL && strcmp(t->cols[i].name, t->ref_row_col) == 0)) {
			nv[i] = refused[i];
		}
	}
	for (i = 0; i < t->ncols; i++) {
		if (mask & ((uint64_t)1 << i)) {
			/* The re-assertion holds the cell now: what it replaces stays readable. */
			if (ck.have[i] && ck.site[i] != 0) {
				lc.took |= (uint64_t)1 << i;
				lc.took_site[i] = ck.site[i];
				lc.took_hlc[i] = ck.hlc[i];
				lc.took_v[i] = cur.v[i];
			}
			/* A status keeps the epoch it was set in: the re-assertion
			 * repeats the server's state, it does not outrank later moves. */
			if ((int)i == status && !ck.have[i]) {
				ck.has_aux = false;
			}
			ck.have[i] = true;
			ck.hlc[i] = hlc;
			ck.site[i] = db->site_no;
		}
	}
	sto_capture_suspend(db);
	rv = sto_apply_row(db, &cur, mask, nv, &ck, true);
	sto_capture_resume(db);
	if (rv != OCOP_OK) {
		goto done;
	}
	lc.cols = mask;
	lc.inrow = mask;
	if ((rv = sto_log_put(db, db->site_no, 0, t, row, hlc, &lc, "server", &seq)) == OCOP_OK && to_site != NULL) {
		rv = sto_log_mark(db, db->site_id, seq, "to_site", to_site);
	}
done:
	sto_row_fini(&cur);
	return rv;
}

int
sto_void_own(sto_db *db, const char *tbl, const char *row, uint64_t hlc)
{
	const sto_table *t = sto_schema_table(tbl);
	int status;
	uint64_t mask = 0;
	sto_clock ck;
	sto_row cur;
	size_t i;
	int rv;

	if (t == NULL) {
		return OCOP_OK;
	}
	if ((rv = sto_row_load(db, t, row, &cur)) != OCOP_OK) {
		return rv;
	}
	if (!cur.exists || (rv = sto_row_clock(db, &cur, &ck)) != OCOP_OK) {
		sto_row_fini(&cur);
		return rv;
	}
	status = sto_schema_status_col(t);
	for (i = 0; i < t->ncols; i++) {
		if (ck.have[i] && ck.site[i] == db->site_no && ck.hlc[i] == hlc) {
			mask |= (uint64_t)1 << i;
		}
	}
	/* The refused change keeps its values in its entry (a server restored
	 * from a backup may be sent it again); then its cells hold no version. */
	if (mask != 0 && (rv = sto_apply_keep(db, &cur, &ck, mask)) == OCOP_OK) {
		for (i = 0; i < t->ncols; i++) {
			if (mask & ((uint64_t)1 << i)) {
				ck.hlc[i] = 0;
				ck.site[i] = 0;
				if ((int)i == status && ck.has_aux) {
					ck.aux = -1;
				}
			}
		}
		rv = sto_clock_put(db, t, cur.rowid, &ck);
	}
	sto_row_fini(&cur);
	return rv;
}
