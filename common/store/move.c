/*
 * move.c: a row that changes scope on a server goes whole to the sites that
 * now see it, and the sites that saw it learn that it left (DESIGN.md 5).
 *
 * PULL serves the log from each site's cursor, filtered by where each row
 * belongs now. A subject moved from commune A to commune B would reach B
 * only with the changes made after the move: B's cursor is past the rest.
 * So the server moves every logged change of the row and of everything under
 * it (its subtree, by the schema's parent links) to the end of its log, in
 * their original order: each keeps its writer, sequence number and clock, so
 * B merges them as if it had always seen them, and every other site that
 * holds them already skips them as duplicates. The change that moved the row
 * is marked with the scope it left (change.scope): PULL also serves it to the
 * sites of that scope, which is how A learns the row is no longer its own.
 * Nothing else of the log changes; a change of the subtree keeps its place
 * relative to the others.
 */
#include "common/store/db.h"
#include "common/store/log.h"

#include <stdio.h>
#include <string.h>

#include "common/store/schema.h"
#include "common/store/store.h"
#include "common/util/buf.h"
#include "ocop_err.h"

/* Collect the subtree of (tbl, row) into temp table move_rows. */
static int
move_collect(struct sto_db *db, const char *tbl, const char *row)
{
	const sto_table *t;
	size_t n;
	size_t i;
	com_buf sql;
	sqlite3_stmt *st = NULL;
	int grew;
	int rv;

	/* The scratch tables exist since sto_set_serving(): no schema change
	 * here, which may run inside a capture trigger. */
	rv = sto_exec(db, "DELETE FROM move_rows;");
	if (rv != OCOP_OK) {
		return rv;
	}
	if (sqlite3_prepare_v2(db->db, "INSERT INTO move_rows VALUES (?1, ?2)", -1, &st, NULL) != SQLITE_OK) {
		return sto_seterr(db, OCOP_EDB, "move: %s", sqlite3_errmsg(db->db));
	}
	sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row, -1, SQLITE_STATIC);
	rv = sqlite3_step(st) == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "move: %s", sqlite3_errmsg(db->db));
	sqlite3_finalize(st);
	t = sto_schema_tables(&n);
	/* Children of what is collected, until nothing new: the schema's depth
	 * bounds the rounds (parents come before children in the table list). */
	com_buf_init(&sql);
	do {
		grew = 0;
		for (i = 0; i < n && rv == OCOP_OK; i++) {
			com_buf_reset(&sql);
			if (t[i].parent_col != NULL) {
				rv = com_buf_printf(&sql,
				    "INSERT OR IGNORE INTO move_rows SELECT '%s', x.id FROM %s x"
				    " JOIN move_rows m ON m.tbl = '%s' AND m.row_id = x.%s",
				    t[i].name, t[i].name, t[i].parent_table, t[i].parent_col);
			} else if (t[i].ref_tbl_col != NULL) {
				rv = com_buf_printf(&sql,
				    "INSERT OR IGNORE INTO move_rows SELECT '%s', x.id FROM %s x"
				    " JOIN move_rows m ON m.tbl = x.%s AND m.row_id = x.%s",
				    t[i].name, t[i].name, t[i].ref_tbl_col, t[i].ref_row_col);
			} else {
				continue;
			}
			if (rv == OCOP_OK && (rv = sto_exec(db, (const char *)sql.data)) == OCOP_OK) {
				grew += sqlite3_changes(db->db);
			}
		}
	} while (rv == OCOP_OK && grew > 0);
	com_buf_fini(&sql);
	return rv;
}

int
sto_move_relog(struct sto_db *db, const char *tbl, const char *row, const char *site, uint64_t seq,
    const char *left_scope)
{
	int rv;

	if ((rv = move_collect(db, tbl, row)) != OCOP_OK ||
	    (rv = sto_log_mark(db, site, seq, "scope", left_scope)) != OCOP_OK ||
	    (rv = sto_exec(db,
		 "DELETE FROM move_log;"
		 "INSERT INTO move_log SELECT c.* FROM change c JOIN move_rows m ON m.tbl = c.tbl AND m.row_id = c.row_id;")) !=
		OCOP_OK) {
		return rv;
	}
	/* Re-append in the original order; positions are never reused
	 * (AUTOINCREMENT), so the copies land above any cursor, and (site, seq)
	 * stays unique because the old entries go before the copies come in. */
	rv = sto_exec(db,
	    "DELETE FROM change WHERE lsn IN (SELECT lsn FROM move_log);"
	    "INSERT INTO change (site, seq, tbl, row_id, hlc, cols, cells, user, scope, to_site, via, took)"
	    " SELECT site, seq, tbl, row_id, hlc, cols, cells, user, scope, to_site, via, took FROM move_log ORDER BY lsn;");
	return rv != OCOP_OK ? rv : sto_exec(db, "DELETE FROM move_log; DELETE FROM move_rows;");
}

int
sto_move_prepare(struct sto_db *db)
{
	return sto_exec(db, "CREATE TEMP TABLE IF NOT EXISTS move_rows (tbl TEXT NOT NULL, row_id TEXT NOT NULL,"
			    " PRIMARY KEY (tbl, row_id)) WITHOUT ROWID;"
			    "CREATE TEMP TABLE IF NOT EXISTS move_log AS SELECT * FROM change WHERE 0;");
}
