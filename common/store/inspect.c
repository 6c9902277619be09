/*
 * inspect.c: read-only counts over the change log for the operator views
 * (server status, metrics, dashboard). See inspect.h.
 */
#include "common/store/inspect.h"

#include <string.h>

#include <sqlite3.h>

#include "ocop_err.h"

/* One integer from a query with an optional text and integer parameter; -1 on error. */
static int64_t
inspect_int(sto_db *db, const char *sql, const char *text, int64_t num)
{
	sqlite3_stmt *st = NULL;
	int64_t n = -1;

	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK) {
		return -1;
	}
	if (text != NULL) {
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)num);
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return n;
}

int
sto_inspect_totals(sto_db *db, sto_totals *out)
{
	static const char *const sql[] = {
	    "SELECT COUNT(*) FROM change",
	    "SELECT COALESCE(MAX(lsn), 0) FROM change",
	    "SELECT COUNT(*) FROM dossier WHERE deleted = 0",
	};
	uint64_t *slots[] = {&out->changes, &out->log_head, &out->dossiers};
	size_t i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		int64_t n = inspect_int(db, sql[i], NULL, 0);
		if (n < 0) {
			return OCOP_EDB;
		}
		*slots[i] = (uint64_t)n;
	}
	return OCOP_OK;
}

int
sto_inspect_backlog(sto_db *db, const char *site, uint64_t cursor, uint64_t *pending, uint64_t *oldest_hlc)
{
	/* The log names writers by their number in this replica (site_ref). */
	int64_t n = inspect_int(db,
	    "SELECT COUNT(*) FROM change WHERE site <> COALESCE((SELECT no FROM site_ref WHERE uuid = ?1), 0) AND lsn > ?2",
	    site, (int64_t)cursor);
	int64_t h = inspect_int(db,
	    "SELECT COALESCE((SELECT hlc FROM change WHERE site <> COALESCE((SELECT no FROM site_ref WHERE uuid = ?1), 0)"
	    " AND lsn > ?2 ORDER BY lsn LIMIT 1), 0)",
	    site, (int64_t)cursor);

	if (n < 0 || h < 0) {
		return OCOP_EDB;
	}
	*pending = (uint64_t)n;
	*oldest_hlc = (uint64_t)h;
	return OCOP_OK;
}
