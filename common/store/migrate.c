/*
 * migrate.c: schema version 2 or 3 to 4, in place.
 *
 * Version 2 kept one clock row per cell (table, row and column names and a
 * 36-character site UUID each) and a second copy of every written value in
 * the log, every cell named by its column. Version 4 numbers sites
 * (site_ref), packs every row's versions into the row (ocop_clock, clock.h)
 * and logs changes by reference (log.h). The old log's entries keep their
 * values, so they read back exactly as they were written, whoever holds the
 * cells now; their positions (lsn) do not change, so every site's pull
 * cursor stays valid. Old cell maps are read here, not by the protocol
 * codec, which speaks only the current wire format.
 */
#include "common/store/db.h"

#include <stdio.h>
#include <string.h>

#include "common/store/clock.h"
#include "common/store/log.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/change.h"
#include "protocol/wire.h"

/* A version 2 cell map ({column name: [value, base]}) as an entry that keeps every value. */
static int
migrate_cells(const sto_table *t, const uint8_t *p, size_t len, sto_logcells *lc)
{
	proto_cells_it it;
	proto_cell c;
	int i;
	int rv;

	memset(lc, 0, sizeof(*lc));
	if (proto_cells_open(&it, p, len, NULL) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	while ((rv = proto_cells_next(&it, &c)) == OCOP_OK) {
		if ((i = sto_schema_col_index(t, c.col)) < 0) {
			continue; /* the merge never logged one; nothing could read it */
		}
		lc->cols |= (uint64_t)1 << i;
		lc->v[i] = c.v;
		lc->base[i] = c.base_hlc;
	}
	return rv == OCOP_ENOENT ? OCOP_OK : OCOP_EPROTO;
}

/* The number of a site, or 0 for NULL / "". */
static int
migrate_site(struct sto_db *db, sqlite3_stmt *st, int col, uint32_t *no)
{
	*no = 0;
	if (sqlite3_column_type(st, col) != SQLITE_TEXT) {
		return OCOP_OK;
	}
	return sto_sitenum_get(db, (const char *)sqlite3_column_text(st, col), true, no);
}

/* Copy the log into table change_v4, entry by entry, positions kept. */
static int
migrate_log(struct sto_db *db)
{
	sqlite3_stmt *rd = NULL;
	sqlite3_stmt *wr = NULL;
	sto_logcells lc;
	com_buf cells;
	int rv = OCOP_OK;
	int rc;

	com_buf_init(&cells);
	if (sqlite3_prepare_v2(db->db,
		"SELECT lsn, site, seq, tbl, row_id, hlc, user, cells, scope, to_site, via FROM change ORDER BY lsn", -1,
		&rd, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db->db,
		"INSERT INTO change_v4 (lsn, site, seq, tbl, row_id, hlc, cols, cells, user, scope, to_site, via)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
		-1, &wr, NULL) != SQLITE_OK) {
		rv = sto_seterr(db, OCOP_EDB, "migration: %s", sqlite3_errmsg(db->db));
		goto done;
	}
	while (rv == OCOP_OK && (rc = sqlite3_step(rd)) == SQLITE_ROW) {
		const sto_table *t = sto_schema_table((const char *)sqlite3_column_text(rd, 3));
		const char *user = (const char *)sqlite3_column_text(rd, 6);
		uint32_t site;
		uint32_t to;
		uint32_t via;
		size_t i;

		if ((rv = migrate_site(db, rd, 1, &site)) != OCOP_OK || (rv = migrate_site(db, rd, 9, &to)) != OCOP_OK ||
		    (rv = migrate_site(db, rd, 10, &via)) != OCOP_OK) {
			break;
		}
		memset(&lc, 0, sizeof(lc));
		com_buf_reset(&cells);
		if (t == NULL || migrate_cells(t, sqlite3_column_blob(rd, 7), (size_t)sqlite3_column_bytes(rd, 7), &lc) !=
				     OCOP_OK) {
			lc.not_kept = true; /* nothing could have logged it; keep its place */
		} else {
			/* Every value in the entry (inrow 0): valid whoever holds the cells now. */
			proto_wr w;
			uint32_t n = 0;
			proto_wr_init(&w, &cells);
			for (i = 0; i < t->ncols; i++) {
				n += (uint32_t)((lc.cols >> i) & 1);
			}
			proto_wr_array(&w, n * 3);
			for (i = 0; i < t->ncols; i++) {
				if (!(lc.cols & ((uint64_t)1 << i))) {
					continue;
				}
				proto_wr_uint(&w, i);
				switch (lc.v[i].type) {
				case PROTO_V_INT:
					proto_wr_int(&w, lc.v[i].i);
					break;
				case PROTO_V_REAL:
					proto_wr_double(&w, lc.v[i].d);
					break;
				case PROTO_V_TEXT:
					proto_wr_str(&w, (const char *)lc.v[i].p, lc.v[i].len);
					break;
				case PROTO_V_BLOB:
					proto_wr_bin(&w, lc.v[i].p, lc.v[i].len);
					break;
				default:
					proto_wr_nil(&w);
					break;
				}
				proto_wr_uint(&w, lc.base[i]);
			}
			if ((rv = proto_wr_error(&w)) != OCOP_OK) {
				break;
			}
		}
		sqlite3_reset(wr);
		sqlite3_clear_bindings(wr);
		sqlite3_bind_int64(wr, 1, sqlite3_column_int64(rd, 0));
		sqlite3_bind_int64(wr, 2, site);
		sqlite3_bind_int64(wr, 3, sqlite3_column_int64(rd, 2));
		sqlite3_bind_value(wr, 4, sqlite3_column_value(rd, 3));
		sqlite3_bind_value(wr, 5, sqlite3_column_value(rd, 4));
		sqlite3_bind_int64(wr, 6, sqlite3_column_int64(rd, 5));
		sqlite3_bind_int64(wr, 7, (sqlite3_int64)lc.cols);
		sqlite3_bind_blob(wr, 8, cells.len ? (const void *)cells.data : "", (int)cells.len, SQLITE_STATIC);
		if (user != NULL && user[0] != 0) {
			sqlite3_bind_text(wr, 9, user, -1, SQLITE_STATIC);
		}
		sqlite3_bind_value(wr, 10, sqlite3_column_value(rd, 8));
		if (to != 0) {
			sqlite3_bind_int64(wr, 11, to);
		}
		if (via != 0) {
			sqlite3_bind_int64(wr, 12, via);
		}
		if (sqlite3_step(wr) != SQLITE_DONE) {
			rv = sto_seterr(db, OCOP_EDB, "migration: %s", sqlite3_errmsg(db->db));
		}
	}
	if (rv == OCOP_OK && rc != SQLITE_DONE) {
		rv = sto_seterr(db, OCOP_EDB, "migration: %s", sqlite3_errmsg(db->db));
	}
done:
	sqlite3_finalize(rd);
	sqlite3_finalize(wr);
	com_buf_fini(&cells);
	return rv;
}

/* Write one row's packed clock (an empty one when it had no clock rows). */
static int
migrate_row_clock(struct sto_db *db, const sto_table *t, const char *id, const sto_clock *c)
{
	sqlite3_stmt *st = NULL;
	com_buf b;
	char sql[128];
	int rv;

	com_buf_init(&b);
	snprintf(sql, sizeof(sql), "UPDATE %s SET ocop_clock = ?1 WHERE id = ?2", t->name);
	if ((rv = sto_clock_encode(t, c, &b)) == OCOP_OK && (rv = sto_stmt(db, sql, &st)) == OCOP_OK) {
		sqlite3_bind_blob(st, 1, b.data, (int)b.len, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rv = sto_seterr(db, OCOP_EDB, "migration: %s", sqlite3_errmsg(db->db));
		}
		sqlite3_reset(st);
	}
	com_buf_fini(&b);
	return rv;
}

/* Pack the clock table into the rows, one row at a time (the clock rows come grouped). */
static int
migrate_clocks(struct sto_db *db)
{
	sqlite3_stmt *rd = NULL;
	const sto_table *t = NULL;
	char id[64] = "";
	sto_clock c;
	size_t n;
	size_t i;
	int rv = OCOP_OK;
	int rc;

	memset(&c, 0, sizeof(c));
	if (sqlite3_prepare_v2(db->db, "SELECT tbl, row_id, col, hlc, site, aux FROM clock ORDER BY tbl, row_id", -1, &rd,
		NULL) != SQLITE_OK) {
		return sto_seterr(db, OCOP_EDB, "migration: %s", sqlite3_errmsg(db->db));
	}
	while (rv == OCOP_OK && (rc = sqlite3_step(rd)) == SQLITE_ROW) {
		const sto_table *rt = sto_schema_table((const char *)sqlite3_column_text(rd, 0));
		const char *rid = (const char *)sqlite3_column_text(rd, 1);
		int col;
		uint32_t site;

		if (rt == NULL || rid == NULL) {
			continue;
		}
		if (t != NULL && (rt != t || strcmp(rid, id) != 0)) {
			if ((rv = migrate_row_clock(db, t, id, &c)) != OCOP_OK) {
				break;
			}
			memset(&c, 0, sizeof(c));
		}
		t = rt;
		snprintf(id, sizeof(id), "%s", rid);
		if ((col = sto_schema_col_index(t, (const char *)sqlite3_column_text(rd, 2))) < 0 ||
		    (rv = migrate_site(db, rd, 4, &site)) != OCOP_OK) {
			continue;
		}
		c.have[col] = true;
		c.hlc[col] = (uint64_t)sqlite3_column_int64(rd, 3);
		c.site[col] = site;
		if (col == sto_schema_status_col(t) && sqlite3_column_type(rd, 5) != SQLITE_NULL) {
			c.has_aux = true;
			c.aux = sqlite3_column_int64(rd, 5);
		}
	}
	if (rv == OCOP_OK && rc != SQLITE_DONE) {
		rv = sto_seterr(db, OCOP_EDB, "migration: %s", sqlite3_errmsg(db->db));
	}
	sqlite3_finalize(rd);
	if (rv == OCOP_OK && t != NULL) {
		rv = migrate_row_clock(db, t, id, &c);
	}
	/* A row without clock rows has no versions: an empty clock, not NULL
	 * (NULL means "the versions of the change that created it"). */
	t = sto_schema_tables(&n);
	memset(&c, 0, sizeof(c));
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		com_buf b;
		char sql[128];
		sqlite3_stmt *st = NULL;
		com_buf_init(&b);
		snprintf(sql, sizeof(sql), "UPDATE %s SET ocop_clock = ?1 WHERE ocop_clock IS NULL", t[i].name);
		if ((rv = sto_clock_encode(&t[i], &c, &b)) == OCOP_OK) {
			if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) {
				rv = sto_seterr(db, OCOP_EDB, "migration: %s", sqlite3_errmsg(db->db));
			} else {
				sqlite3_bind_blob(st, 1, b.data, (int)b.len, SQLITE_STATIC);
				if (sqlite3_step(st) != SQLITE_DONE) {
					rv = sto_seterr(db, OCOP_EDB, "migration: %s", sqlite3_errmsg(db->db));
				}
			}
			sqlite3_finalize(st);
		}
		com_buf_fini(&b);
	}
	return rv;
}

/* Add ocop_clock to every replicated table that lacks it (a version 1 file got the new tables whole). */
static int
migrate_columns(struct sto_db *db)
{
	size_t n;
	size_t i;
	const sto_table *t = sto_schema_tables(&n);
	char sql[160];
	int rv = OCOP_OK;

	for (i = 0; i < n && rv == OCOP_OK; i++) {
		sqlite3_stmt *st = NULL;
		int have = 0;
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM pragma_table_info('%s') WHERE name = 'ocop_clock'", t[i].name);
		if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
			have = sqlite3_column_int(st, 0);
		}
		sqlite3_finalize(st);
		if (!have) {
			snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN ocop_clock BLOB;", t[i].name);
			rv = sto_exec(db, sql);
		}
	}
	return rv;
}

int
sto_migrate_v4(struct sto_db *db)
{
	com_buf sql;
	int rv;

	com_buf_init(&sql);
	rv = sto_capture_triggers_drop_sql(&sql);
	if (rv == OCOP_OK) {
		rv = com_buf_puts(&sql, "CREATE TABLE site_ref (no INTEGER PRIMARY KEY, uuid TEXT NOT NULL UNIQUE);"
					"CREATE TABLE change_v4" STO_SCHEMA_CHANGE_COLS ";");
	}
	if (rv == OCOP_OK) {
		rv = sto_exec(db, (const char *)sql.data);
	}
	com_buf_fini(&sql);
	sto_sitenum_reset(db);
	if (rv == OCOP_OK) {
		rv = migrate_columns(db);
	}
	if (rv == OCOP_OK) {
		rv = migrate_log(db);
	}
	if (rv == OCOP_OK) {
		rv = migrate_clocks(db);
	}
	if (rv == OCOP_OK) {
		/* The numbering goes on from where it was, a restored copy's gap included (backup.h). */
		rv = sto_exec(db, "INSERT INTO sqlite_sequence (name, seq) SELECT 'change_v4', 0"
				  " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'change_v4');"
				  "UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE((SELECT seq FROM sqlite_sequence"
				  " WHERE name = 'change'), 0)) WHERE name = 'change_v4';"
				  "DROP TABLE clock; DROP TABLE change; ALTER TABLE change_v4 RENAME TO change;"
				  "CREATE UNIQUE INDEX change_site ON change (site, seq);"
				  "CREATE INDEX change_row ON change (tbl, row_id);");
	}
	return rv;
}
