/*
 * pull.c: the log scan of a PULL (see pull.h).
 */
#include "common/store/pull.h"

#include <stdio.h>
#include <string.h>

#include "common/store/db.h"
#include "ocop_err.h"

/*
 * A site's own change comes back to it only when this server clamped its
 * clock (a 'clock' ledger entry for it; the ledger's unique key starts with
 * (lost_site, lost_seq), so the check is an index probe); a relaying peer
 * never gets what it relayed.
 */
static const char pull_sql[] =
    "SELECT lsn, site, seq, tbl, row_id, hlc, user, cells, scope, to_site FROM change"
    " WHERE lsn > ?1"
    " AND (site <> ?2 OR EXISTS (SELECT 1 FROM ledger l WHERE l.lost_site = change.site"
    "      AND l.lost_seq = change.seq AND l.rule = 'clock'))"
    " AND (via IS NULL OR via <> ?2)"
    " ORDER BY lsn";

int
sto_pull_open(sto_pull *p, sto_db *db, const char *site, uint64_t cursor)
{
	memset(p, 0, sizeof(*p));
	if (sqlite3_prepare_v2(db->db, pull_sql, -1, &p->st, NULL) != SQLITE_OK) {
		return sto_seterr(db, OCOP_EDB, "%s", sqlite3_errmsg(db->db));
	}
	sqlite3_bind_int64(p->st, 1, (sqlite3_int64)cursor);
	sqlite3_bind_text(p->st, 2, site, -1, SQLITE_TRANSIENT);
	return OCOP_OK;
}

int
sto_pull_next(sto_pull *p, sto_pull_row *out)
{
	int rc = sqlite3_step(p->st);

	if (rc == SQLITE_DONE) {
		return OCOP_ENOENT;
	}
	if (rc != SQLITE_ROW) {
		return OCOP_EDB;
	}
	memset(out, 0, sizeof(*out));
	out->lsn = (uint64_t)sqlite3_column_int64(p->st, 0);
	snprintf(out->c.site, sizeof(out->c.site), "%s", (const char *)sqlite3_column_text(p->st, 1));
	out->c.seq = (uint64_t)sqlite3_column_int64(p->st, 2);
	snprintf(out->c.tbl, sizeof(out->c.tbl), "%s", (const char *)sqlite3_column_text(p->st, 3));
	snprintf(out->c.row, sizeof(out->c.row), "%s", (const char *)sqlite3_column_text(p->st, 4));
	out->c.hlc = (uint64_t)sqlite3_column_int64(p->st, 5);
	snprintf(out->c.user, sizeof(out->c.user), "%s", (const char *)sqlite3_column_text(p->st, 6));
	out->c.cells = sqlite3_column_blob(p->st, 7);
	out->c.cells_len = (size_t)sqlite3_column_bytes(p->st, 7);
	out->left_scope = sqlite3_column_type(p->st, 8) == SQLITE_TEXT ? (const char *)sqlite3_column_text(p->st, 8) : NULL;
	out->to_site = sqlite3_column_type(p->st, 9) == SQLITE_TEXT ? (const char *)sqlite3_column_text(p->st, 9) : NULL;
	return OCOP_OK;
}

void
sto_pull_close(sto_pull *p)
{
	sqlite3_finalize(p->st);
	p->st = NULL;
}

int
sto_pull_last_lsn(sto_db *db, uint64_t *lsn)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*lsn = 0;
	if (sto_stmt(db, "SELECT COALESCE(MAX(lsn), 0) FROM change", &st) != OCOP_OK) {
		return OCOP_EDB;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*lsn = (uint64_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? OCOP_OK : sto_seterr(db, OCOP_EDB, "%s", sqlite3_errmsg(db->db));
}
