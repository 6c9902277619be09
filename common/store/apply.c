/*
 * apply.c: the one write of a merge (see apply.h).
 */
#include "common/store/apply.h"

#include <string.h>

#include "common/store/db.h"
#include "common/store/log.h"
#include "ocop_err.h"

int
sto_apply_row(sto_db *db, const sto_row *cur, uint64_t mask, const proto_value *vals, const sto_clock *ck,
    bool write_clock)
{
	const sto_table *t = cur->t;
	int deleted = sto_schema_col_index(t, "deleted");
	sqlite3_stmt *st;
	int p = 1;
	size_t i;
	int rv;
	int rc;

	if (cur->exists && mask == 0 && !write_clock) {
		return OCOP_OK;
	}
	com_buf_reset(&db->clockbuf);
	if ((rv = sto_clock_encode(t, ck, &db->clockbuf)) != OCOP_OK) {
		return rv;
	}
	if (cur->exists) {
		if ((rv = sto_table_update_stmt(db, t, mask, &st)) != OCOP_OK) {
			return rv;
		}
		for (i = 0; i < t->ncols; i++) {
			if (mask & ((uint64_t)1 << i)) {
				sto_bind_value(st, p++, &vals[i]);
			}
		}
		sqlite3_bind_blob(st, p++, db->clockbuf.data, (int)db->clockbuf.len, SQLITE_STATIC);
		sqlite3_bind_int64(st, p, cur->rowid);
	} else {
		if ((rv = sto_table_insert_stmt(db, t, &st)) != OCOP_OK) {
			return rv;
		}
		sqlite3_bind_text(st, p++, cur->id, -1, SQLITE_STATIC);
		for (i = 0; i < t->ncols; i++, p++) {
			if (mask & ((uint64_t)1 << i)) {
				sto_bind_value(st, p, &vals[i]);
			} else if ((int)i == deleted) {
				sqlite3_bind_int(st, p, 0);
			}
		}
		sqlite3_bind_blob(st, p, db->clockbuf.data, (int)db->clockbuf.len, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		return sto_seterr(db, rc == SQLITE_NOMEM ? OCOP_ENOMEM : OCOP_EDB, "merge: %s", sqlite3_errmsg(db->db));
	}
	return OCOP_OK;
}

int
sto_apply_keep(sto_db *db, const sto_row *cur, const sto_clock *ck, uint64_t mask)
{
	const sto_table *t = cur->t;
	uint64_t left = mask;
	size_t i;
	size_t j;
	int rv;

	for (i = 0; i < t->ncols; i++) {
		uint64_t group = 0;
		if (!(left & ((uint64_t)1 << i)) || !ck->have[i] || ck->site[i] == 0) {
			continue; /* no holder: a new cell, or one whose change was refused */
		}
		for (j = i; j < t->ncols; j++) {
			if ((left & ((uint64_t)1 << j)) && ck->have[j] && ck->hlc[j] == ck->hlc[i] && ck->site[j] == ck->site[i]) {
				group |= (uint64_t)1 << j;
			}
		}
		left &= ~group;
		if ((rv = sto_log_keep(db, t, cur->id, ck->site[i], ck->hlc[i], group, cur->v)) != OCOP_OK) {
			return rv;
		}
	}
	return OCOP_OK;
}

int
sto_apply_version_cmp(sto_db *db, uint64_t ha, uint32_t sa, uint64_t hb, uint32_t sb, int *cmp)
{
	char a[37];
	char b[37];
	int rv;

	if (ha != hb) {
		*cmp = ha > hb ? 1 : -1;
		return OCOP_OK;
	}
	if (sa == sb) {
		*cmp = 0;
		return OCOP_OK;
	}
	if ((rv = sto_sitenum_uuid(db, sa, a)) != OCOP_OK || (rv = sto_sitenum_uuid(db, sb, b)) != OCOP_OK) {
		return rv;
	}
	*cmp = strcmp(a, b);
	return OCOP_OK;
}
