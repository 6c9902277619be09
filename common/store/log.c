/*
 * log.c: the change log (see log.h).
 *
 * An entry's `cells` column, when not NULL, is a msgpack array of triples
 * [column index, value, base HLC], one per column written, in column order,
 * where the value `true` (which no cell value can be) means "the value is the
 * row's: this change holds the cell". NULL means every column of `cols` is
 * the row's and every base is 0 (a change that created its row and still
 * holds it all: most of the log). An empty blob marks an entry whose values
 * are gone (the migration's mark for an entry of no replicated table). A
 * msgpack bin holds a forged entry's cells verbatim (sto_log_put_cells).
 */
#include "common/store/log.h"

#include <stdio.h>
#include <string.h>

#include "common/store/clock.h"
#include "common/store/db.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/wire.h"

#define LOG_COLS                                                                                          \
	"lsn, site, seq, tbl, row_id, hlc, cols, cells, user, scope, to_site, via"

static int log_taken(sto_db *db, const sto_table *t, const char *row, uint32_t site_no, uint64_t hlc, size_t col,
    com_buf *store, proto_value *v);

/* ===== Entry cells ===== */

/* Read a value, or the in-row mark `true` (*inrow). */
static int
log_value_get(proto_rd *r, proto_value *v, bool *inrow)
{
	proto_type t;
	bool b;

	memset(v, 0, sizeof(*v));
	*inrow = false;
	if (proto_rd_peek(r, &t) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	if (t == PROTO_T_BOOL) {
		if (proto_rd_bool(r, &b) != OCOP_OK || !b) {
			return OCOP_EPROTO;
		}
		*inrow = true;
		return OCOP_OK;
	}
	return proto_value_get(r, v);
}

/*
 * Encode lc into out: *null set when the entry's cells column is NULL (all in
 * the row, every base 0), an empty out for an entry only remembered.
 */
static int
log_cells_encode(const sto_table *t, const sto_logcells *lc, com_buf *out, bool *null)
{
	proto_wr w;
	uint32_t n = 0;
	bool zero = true;
	size_t i;

	*null = false;
	com_buf_reset(out);
	if (lc->not_kept) {
		return OCOP_OK;
	}
	if (lc->verbatim != NULL) {
		proto_wr_init(&w, out);
		proto_wr_bin(&w, lc->verbatim, lc->verbatim_len);
		return proto_wr_error(&w);
	}
	for (i = 0; i < t->ncols; i++) {
		if (lc->cols & ((uint64_t)1 << i)) {
			n++;
			zero &= lc->base[i] == 0;
		}
	}
	if (zero && lc->inrow == lc->cols) {
		*null = true;
		return OCOP_OK;
	}
	proto_wr_init(&w, out);
	proto_wr_array(&w, n * 3);
	for (i = 0; i < t->ncols; i++) {
		if (!(lc->cols & ((uint64_t)1 << i))) {
			continue;
		}
		proto_wr_uint(&w, i);
		if (lc->inrow & ((uint64_t)1 << i)) {
			proto_wr_bool(&w, true);
		} else {
			proto_value_put(&w, &lc->v[i]);
		}
		proto_wr_uint(&w, lc->base[i]);
	}
	return proto_wr_error(&w);
}

/*
 * Decode an entry's cells (cells NULL with cols: all in the row). Values are
 * borrowed from p. Returns OCOP_OK or OCOP_ECORRUPT.
 */
static int
log_cells_decode(const sto_table *t, uint64_t cols, const uint8_t *p, size_t len, bool is_null, sto_logcells *lc)
{
	proto_rd r;
	uint32_t n;
	uint32_t k;

	memset(lc, 0, sizeof(*lc));
	lc->cols = cols;
	if (is_null) {
		lc->inrow = cols;
		return OCOP_OK;
	}
	if (len == 0) {
		lc->not_kept = true;
		return OCOP_OK;
	}
	proto_rd_init(&r, p, len);
	if (p[0] >= 0xc4 && p[0] <= 0xc6) {
		/* A forged entry: nothing of it is in any row. */
		return proto_rd_bin(&r, &lc->verbatim, &lc->verbatim_len) == OCOP_OK && proto_rd_done(&r) == OCOP_OK
		    ? OCOP_OK
		    : OCOP_ECORRUPT;
	}
	if (proto_rd_array(&r, &n) != OCOP_OK || n % 3 != 0) {
		return OCOP_ECORRUPT;
	}
	for (k = 0; k < n / 3; k++) {
		uint64_t col;
		uint64_t base;
		proto_value v;
		bool inrow;
		if (proto_rd_uint(&r, &col) != OCOP_OK || col >= t->ncols || !(cols & ((uint64_t)1 << col)) ||
		    log_value_get(&r, &v, &inrow) != OCOP_OK || proto_rd_uint(&r, &base) != OCOP_OK) {
			return OCOP_ECORRUPT;
		}
		lc->base[col] = base;
		if (inrow) {
			lc->inrow |= (uint64_t)1 << col;
		} else {
			lc->v[col] = v;
		}
	}
	return proto_rd_done(&r) == OCOP_OK ? OCOP_OK : OCOP_ECORRUPT;
}

/* Encode what lc took from earlier holders: [column, site number, version, value] per column. */
static int
log_took_encode(const sto_table *t, const sto_logcells *lc, com_buf *out)
{
	proto_wr w;
	uint32_t n = 0;
	size_t i;

	com_buf_reset(out);
	for (i = 0; i < t->ncols; i++) {
		n += (uint32_t)((lc->took >> i) & 1);
	}
	proto_wr_init(&w, out);
	proto_wr_array(&w, n * 4);
	for (i = 0; i < t->ncols; i++) {
		if (lc->took & ((uint64_t)1 << i)) {
			proto_wr_uint(&w, i);
			proto_wr_uint(&w, lc->took_site[i]);
			proto_wr_uint(&w, lc->took_hlc[i]);
			proto_value_put(&w, &lc->took_v[i]);
		}
	}
	return proto_wr_error(&w);
}

/* ===== Writing ===== */

/* The INSERT of an entry under a given number. */
static const char log_put_sql[] =
    "INSERT INTO change (site, seq, tbl, row_id, hlc, cols, cells, user, took)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
/*
 * The same under the number kept in memory, inserting nothing unless it is
 * the next one: the entry it follows is still where it was logged (?10, its
 * lsn: one rowid look-up, cheaper than a probe of the (site, seq) index) with
 * the number before it; and the number is not taken (the unique
 * index on (site, seq) makes OR IGNORE skip the row). Numbers are dense, so
 * that is exactly MAX(seq) + 1, without a statement of its own.
 */
static const char log_next_sql[] =
    "INSERT OR IGNORE INTO change (site, seq, tbl, row_id, hlc, cols, cells, user, took)"
    " VALUES (?1, CASE WHEN EXISTS (SELECT 1 FROM change WHERE lsn = ?10 AND site = ?1 AND seq = ?2 - 1)"
    " THEN ?2 END, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
/* The last number of a site. */
static const char log_max_sql[] = "SELECT COALESCE(MAX(seq), 0) FROM change WHERE site = ?1";

/*
 * One of the log's own statements, prepared on first use and kept in *slot
 * (finalized by sto_log_fini): the hot path skips the cache's hash of the
 * SQL text. Borrowed, reset. Returns OCOP_OK or OCOP_EDB.
 */
static int
log_stmt(sto_db *db, sqlite3_stmt **slot, const char *sql, sqlite3_stmt **st)
{
	int rc;

	if (*slot == NULL && (rc = sqlite3_prepare_v3(db->db, sql, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL)) !=
				 SQLITE_OK) {
		*slot = NULL;
		return sto_seterr(db, rc == SQLITE_NOMEM ? OCOP_ENOMEM : OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
	}
	*st = *slot;
	return OCOP_OK;
}

void
sto_log_fini(sto_db *db)
{
	sqlite3_finalize(db->log_put);
	sqlite3_finalize(db->log_next);
	sqlite3_finalize(db->log_max);
	db->log_put = db->log_next = db->log_max = NULL;
}

static int log_insert(sto_db *db, sqlite3_stmt *st, uint32_t site_no, uint64_t seq, const sto_table *t,
    const char *row, uint64_t hlc, const sto_logcells *lc, bool null, const char *user);

int
sto_log_put(sto_db *db, uint32_t site_no, uint64_t seq, const sto_table *t, const char *row, uint64_t hlc,
    const sto_logcells *lc, const char *user, uint64_t *seq_out)
{
	sqlite3_stmt *st = NULL; /* set by log_stmt before any use; gcc -O2 cannot tell */
	bool null;
	int rv;
	int rc;

	if ((rv = log_cells_encode(t, lc, &db->scratch, &null)) != OCOP_OK ||
	    (lc->took != 0 && (rv = log_took_encode(t, lc, &db->clockbuf)) != OCOP_OK)) {
		return rv;
	}
	/* This site's own number: the next one as last seen, kept in memory, with
	 * the INSERT itself checking it (log_next_sql). A number kept may be stale:
	 * a statement rolled back by a later failure in it (a multi-row write)
	 * undoes its entries without any hook telling us, and another process
	 * (the CLI beside `ocop sync`) may have written the same file. Either way
	 * the guard inserts nothing and the number is read again from the log, so
	 * no number is skipped (a gap stops the site's pushes for good) or used
	 * twice. */
	if (seq == 0) {
		if (db->next_seq != 0 && site_no == db->site_no) {
			if ((rv = log_stmt(db, &db->log_next, log_next_sql, &st)) != OCOP_OK) {
				return rv;
			}
			seq = db->next_seq;
			sqlite3_bind_int64(st, 10, db->next_lsn);
			if ((rv = log_insert(db, st, site_no, seq, t, row, hlc, lc, null, user)) != OCOP_OK) {
				return rv;
			}
			if (sqlite3_changes(db->db) == 1) {
				goto done;
			}
		}
		if ((rv = log_stmt(db, &db->log_max, log_max_sql, &st)) != OCOP_OK) {
			return rv;
		}
		sqlite3_bind_int64(st, 1, site_no);
		rc = sqlite3_step(st);
		seq = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) + 1 : 0;
		sqlite3_reset(st);
		if (rc != SQLITE_ROW) {
			return sto_seterr(db, OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
		}
	}
	if ((rv = log_stmt(db, &db->log_put, log_put_sql, &st)) != OCOP_OK ||
	    (rv = log_insert(db, st, site_no, seq, t, row, hlc, lc, null, user)) != OCOP_OK) {
		return rv;
	}
done:
	if (site_no == db->site_no) {
		db->next_seq = seq + 1;
		db->next_lsn = sqlite3_last_insert_rowid(db->db);
	}
	if (seq_out != NULL) {
		*seq_out = seq;
	}
	return OCOP_OK;
}

/* Bind one entry's values to st (the INSERT of log_put_sql or log_next_sql) and step it. */
static int
log_insert(sto_db *db, sqlite3_stmt *st, uint32_t site_no, uint64_t seq, const sto_table *t, const char *row,
    uint64_t hlc, const sto_logcells *lc, bool null, const char *user)
{
	int rc;

	sqlite3_bind_int64(st, 1, site_no);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	sqlite3_bind_text(st, 3, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, row, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)hlc);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)lc->cols);
	if (!null) {
		sqlite3_bind_blob(st, 7, db->scratch.len ? (const void *)db->scratch.data : "", (int)db->scratch.len,
		    SQLITE_STATIC);
	}
	if (user != NULL && user[0] != 0) {
		sqlite3_bind_text(st, 8, user, -1, SQLITE_STATIC);
	}
	if (lc->took != 0) {
		sqlite3_bind_blob(st, 9, db->clockbuf.data, (int)db->clockbuf.len, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	sqlite3_clear_bindings(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
}

int
sto_log_find(sto_db *db, uint32_t site_no, uint64_t seq, bool *found, uint64_t *hlc)
{
	sqlite3_stmt *st;
	int rv = sto_stmt(db, "SELECT hlc FROM change WHERE site = ?1 AND seq = ?2", &st);
	int rc;

	*found = false;
	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_int64(st, 1, site_no);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = true;
		if (hlc != NULL) {
			*hlc = (uint64_t)sqlite3_column_int64(st, 0);
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
}

/* One entry sto_log_keep rewrites. */
typedef struct log_hit {
	int64_t lsn;     /* its position */
	uint64_t cols;   /* its columns */
	bool is_null;    /* its cells are NULL */
	uint8_t *cells;  /* owned copy of its cells */
	size_t len;      /* their length */
} log_hit;

#define LOG_HITS 4 /* entries of one version of one row: one, unless a writer lied */

int
sto_log_keep(sto_db *db, const sto_table *t, const char *row, uint32_t site_no, uint64_t hlc, uint64_t mask,
    const proto_value *vals)
{
	sqlite3_stmt *st;
	sto_logcells lc;
	log_hit hits[LOG_HITS];
	size_t nhits = 0;
	size_t h;
	int rv;
	int rc = SQLITE_DONE;

	if (mask == 0 || site_no == 0) {
		return OCOP_OK;
	}
	if ((rv = sto_stmt(db,
		 "SELECT lsn, cols, cells FROM change WHERE tbl = ?1 AND row_id = ?2 AND site = ?3 AND hlc = ?4", &st)) !=
	    OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, site_no);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)hlc);
	/* Read first, write after: two entries only when a writer gave two
	 * changes the same version (a lying site); each keeps what it still has. */
	while (nhits < LOG_HITS && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		log_hit *x = &hits[nhits];
		x->lsn = sqlite3_column_int64(st, 0);
		x->cols = (uint64_t)sqlite3_column_int64(st, 1);
		x->is_null = sqlite3_column_type(st, 2) == SQLITE_NULL;
		x->len = (size_t)sqlite3_column_bytes(st, 2);
		x->cells = NULL;
		if (x->len > 0 && (x->cells = com_malloc(x->len)) == NULL) {
			rv = OCOP_ENOMEM;
			break;
		}
		if (x->len > 0) {
			memcpy(x->cells, sqlite3_column_blob(st, 2), x->len);
		}
		nhits++;
	}
	if (rv == OCOP_OK && nhits < LOG_HITS && rc != SQLITE_DONE) {
		rv = sto_seterr(db, OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
	}
	sqlite3_reset(st);
	for (h = 0; h < nhits && rv == OCOP_OK; h++) {
		uint64_t take;
		bool null;
		size_t i;

		if (log_cells_decode(t, hits[h].cols, hits[h].cells, hits[h].len, hits[h].is_null, &lc) != OCOP_OK) {
			rv = sto_seterr(db, OCOP_ECORRUPT, "log entry %lld is damaged", (long long)hits[h].lsn);
			break;
		}
		take = lc.inrow & mask;
		if (lc.not_kept || take == 0) {
			continue;
		}
		for (i = 0; i < t->ncols; i++) {
			if (take & ((uint64_t)1 << i)) {
				lc.v[i] = vals[i];
			}
		}
		lc.inrow &= ~take;
		if ((rv = log_cells_encode(t, &lc, &db->scratch, &null)) != OCOP_OK ||
		    (rv = sto_stmt(db, "UPDATE change SET cells = ?2 WHERE lsn = ?1", &st)) != OCOP_OK) {
			break;
		}
		sqlite3_bind_int64(st, 1, hits[h].lsn);
		sqlite3_bind_blob(st, 2, db->scratch.data, (int)db->scratch.len, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			rv = sto_seterr(db, OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
		}
	}
	for (h = 0; h < nhits; h++) {
		com_free(hits[h].cells);
	}
	return rv;
}

int
sto_log_settle(sto_db *db, uint32_t site_no, uint64_t seq)
{
	sqlite3_stmt *st;
	const sto_table *t = NULL;
	sto_logcells lc;
	sto_clock clock;
	sto_row row;
	com_buf cells;
	com_buf taken[STO_ROW_MAX];
	char id[PROTO_UUID_LEN + 1] = "";
	int64_t lsn = 0;
	uint64_t hlc = 0;
	uint64_t cols = 0;
	bool is_null = false;
	bool found = false;
	bool null;
	size_t i;
	int rv;
	int rc;

	com_buf_init(&cells);
	memset(&row, 0, sizeof(row));
	for (i = 0; i < STO_ROW_MAX; i++) {
		com_buf_init(&taken[i]);
	}
	if ((rv = sto_stmt(db, "SELECT lsn, tbl, row_id, hlc, cols, cells FROM change WHERE site = ?1 AND seq = ?2", &st)) !=
	    OCOP_OK) {
		goto done;
	}
	sqlite3_bind_int64(st, 1, site_no);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW && (t = sto_schema_table((const char *)sqlite3_column_text(st, 1))) != NULL) {
		found = true;
		lsn = sqlite3_column_int64(st, 0);
		snprintf(id, sizeof(id), "%s", (const char *)sqlite3_column_text(st, 2));
		hlc = (uint64_t)sqlite3_column_int64(st, 3);
		cols = (uint64_t)sqlite3_column_int64(st, 4);
		is_null = sqlite3_column_type(st, 5) == SQLITE_NULL;
		rv = com_buf_append(&cells, sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5));
	}
	sqlite3_reset(st);
	if (rv != OCOP_OK || !found) {
		goto done;
	}
	if (log_cells_decode(t, cols, cells.data, cells.len, is_null, &lc) != OCOP_OK) {
		rv = sto_seterr(db, OCOP_ECORRUPT, "log entry %lld is damaged", (long long)lsn);
		goto done;
	}
	if (lc.inrow == 0 || (rv = sto_row_load(db, t, id, &row)) != OCOP_OK || (rv = sto_row_clock(db, &row, &clock)) != OCOP_OK) {
		goto done;
	}
	/* The cells it still holds stay in the row; the others' values come into the entry. */
	for (i = 0; i < t->ncols; i++) {
		uint64_t bit = (uint64_t)1 << i;
		if (!(lc.inrow & bit) || (row.exists && clock.have[i] && clock.hlc[i] == hlc && clock.site[i] == site_no)) {
			continue;
		}
		if ((rv = log_taken(db, t, id, site_no, hlc, i, &taken[i], &lc.v[i])) != OCOP_OK) {
			rv = rv == OCOP_ENOENT ? sto_seterr(db, OCOP_EINTERNAL, "the log's change %llu of %s %s lost its value of %s",
						     (unsigned long long)seq, t->name, id, t->cols[i].name)
					       : rv;
			goto done;
		}
		lc.inrow &= ~bit;
	}
	if ((rv = log_cells_encode(t, &lc, &db->scratch, &null)) == OCOP_OK &&
	    (rv = sto_stmt(db, "UPDATE change SET cells = ?2 WHERE lsn = ?1", &st)) == OCOP_OK) {
		sqlite3_bind_int64(st, 1, lsn);
		if (!null) {
			sqlite3_bind_blob(st, 2, db->scratch.data, (int)db->scratch.len, SQLITE_STATIC);
		}
		rv = sqlite3_step(st) == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
		sqlite3_reset(st);
	}
done:
	sto_row_fini(&row);
	for (i = 0; i < STO_ROW_MAX; i++) {
		com_buf_fini(&taken[i]);
	}
	com_buf_fini(&cells);
	return rv;
}

int
sto_log_mark(sto_db *db, const char *site, uint64_t seq, const char *mark, const char *value)
{
	sqlite3_stmt *st;
	uint32_t no;
	uint32_t vno = 0;
	bool is_site = strcmp(mark, "to_site") == 0 || strcmp(mark, "via") == 0;
	char sql[80];
	int rv;
	int rc;

	if (!is_site && strcmp(mark, "scope") != 0) {
		return sto_seterr(db, OCOP_EINVAL, "no log mark '%s'", mark);
	}
	if ((rv = sto_sitenum_get(db, site, false, &no)) != OCOP_OK ||
	    (is_site && (rv = sto_sitenum_get(db, value, true, &vno)) != OCOP_OK)) {
		return rv == OCOP_ENOENT ? OCOP_OK : rv; /* an unknown writer has nothing logged */
	}
	snprintf(sql, sizeof(sql), "UPDATE change SET %s = ?3 WHERE site = ?1 AND seq = ?2", mark);
	if ((rv = sto_stmt(db, sql, &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_int64(st, 1, no);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	if (is_site) {
		sqlite3_bind_int64(st, 3, vno);
	} else {
		sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
}

int
sto_log_own(sto_db *db, uint64_t seq, char tbl[PROTO_NAME_MAX + 1], char row[PROTO_UUID_LEN + 1], uint64_t *hlc,
    bool *found)
{
	sqlite3_stmt *st;
	int rv = sto_stmt(db, "SELECT tbl, row_id, hlc FROM change WHERE site = ?1 AND seq = ?2", &st);
	int rc;

	tbl[0] = 0;
	row[0] = 0;
	*hlc = 0;
	*found = false;
	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_int64(st, 1, db->site_no);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = true;
		snprintf(tbl, PROTO_NAME_MAX + 1, "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(row, PROTO_UUID_LEN + 1, "%s", (const char *)sqlite3_column_text(st, 1));
		*hlc = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
}

int
sto_log_last_own_hlc(sto_db *db, uint64_t *hlc)
{
	sqlite3_stmt *st;
	int rv = sto_stmt(db, "SELECT hlc FROM change WHERE site = ?1 ORDER BY seq DESC LIMIT 1", &st);
	int rc;

	*hlc = 0;
	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_int64(st, 1, db->site_no);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*hlc = (uint64_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
}

/* ===== Reading ===== */

static int
log_open_stmt(sto_log_it *it, sto_db *db, const char *sql)
{
	memset(it, 0, sizeof(*it));
	it->db = db;
	com_buf_init(&it->cells);
	com_buf_init(&it->taken);
	if (sqlite3_prepare_v2(db->db, sql, -1, &it->st, NULL) != SQLITE_OK) {
		return sto_seterr(db, OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
	}
	return OCOP_OK;
}

int
sto_log_open_own(sto_log_it *it, sto_db *db, uint64_t after)
{
	int rv = log_open_stmt(it, db, "SELECT " LOG_COLS " FROM change WHERE site = ?1 AND seq > ?2 ORDER BY seq");

	if (rv == OCOP_OK) {
		sqlite3_bind_int64(it->st, 1, db->site_no);
		sqlite3_bind_int64(it->st, 2, (sqlite3_int64)after);
	}
	return rv;
}

int
sto_log_open(sto_log_it *it, sto_db *db, const sto_log_filter *f)
{
	sqlite3_stmt *st = NULL;
	uint32_t peer = 0;
	int rv;
	int rc;

	/* A peer's own changes and its relays are skipped in SQL; its clamped
	 * changes (a ledger entry of rule 'clock' names them) are not. */
	rv = log_open_stmt(it, db,
	    "SELECT " LOG_COLS " FROM change WHERE lsn > ?1 AND lsn <= ?2"
	    " AND (?3 = 0 OR ((?5 OR site <> ?3 OR EXISTS (SELECT 1 FROM ledger WHERE lost_site = ?4"
	    " AND lost_seq = change.seq AND rule = 'clock')) AND (via IS NULL OR via <> ?3)))"
	    " ORDER BY lsn");
	if (rv != OCOP_OK) {
		return rv;
	}
	it->row_scope = f->row_scope;
	if (f->peer != NULL && (rv = sto_sitenum_get(db, f->peer, false, &peer)) != OCOP_OK && rv != OCOP_ENOENT) {
		return rv;
	}
	if (sqlite3_get_autocommit(db->db)) {
		if ((rv = sto_exec(db, "BEGIN")) != OCOP_OK) {
			return rv;
		}
		it->began = true;
	}
	if ((rv = sto_stmt(db, "SELECT COALESCE(MAX(lsn), 0) FROM change", &st)) != OCOP_OK) {
		return rv;
	}
	rc = sqlite3_step(st);
	it->end_lsn = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW) {
		return sto_seterr(db, OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
	}
	sqlite3_bind_int64(it->st, 1, (sqlite3_int64)f->after_lsn);
	sqlite3_bind_int64(it->st, 2, (sqlite3_int64)it->end_lsn);
	sqlite3_bind_int64(it->st, 3, peer);
	if (f->peer != NULL) {
		sqlite3_bind_text(it->st, 4, f->peer, -1, SQLITE_TRANSIENT);
	}
	sqlite3_bind_int(it->st, 5, f->relays_only ? 1 : 0);
	if (it->row_scope) {
		/* Records of one read share their parents (a product's dossiers):
		 * each parent's place is read once per read, which sees one
		 * snapshot and writes nothing (log.h); sto_log_close ends it. */
		it->memo = true;
		sto_judge_begin(db);
	}
	return OCOP_OK;
}

uint64_t
sto_log_end(const sto_log_it *it)
{
	return it->end_lsn;
}

void
sto_log_close(sto_log_it *it)
{
	if (it->db == NULL) {
		return;
	}
	sqlite3_finalize(it->st);
	sto_row_fini(&it->row);
	com_buf_fini(&it->cells);
	com_buf_fini(&it->taken);
	if (it->memo) {
		sto_judge_end(it->db);
	}
	if (it->began && !sqlite3_get_autocommit(it->db->db)) {
		sqlite3_exec(it->db->db, "COMMIT", NULL, NULL, NULL);
	}
	memset(it, 0, sizeof(*it));
}

/* Copy a site number's UUID, "" for NULL. */
static int
log_site_col(sto_log_it *it, int col, char out[37])
{
	out[0] = 0;
	if (sqlite3_column_type(it->st, col) == SQLITE_NULL) {
		return OCOP_OK;
	}
	return sto_sitenum_uuid(it->db, (uint32_t)sqlite3_column_int64(it->st, col), out);
}

/*
 * The value a later change of row `row` took from change (site_no, hlc) for
 * column col (its `took`), copied into *store (reset first; *v points there).
 * Returns OCOP_OK, OCOP_ENOENT (no change of the row took it), OCOP_ECORRUPT,
 * OCOP_ENOMEM, OCOP_EDB.
 */
static int
log_taken(sto_db *db, const sto_table *t, const char *row, uint32_t site_no, uint64_t hlc, size_t col,
    com_buf *store, proto_value *v)
{
	sqlite3_stmt *st;
	int rv = sto_stmt(db, "SELECT took FROM change WHERE tbl = ?1 AND row_id = ?2 AND took IS NOT NULL", &st);
	int rc;

	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row, -1, SQLITE_STATIC);
	rv = OCOP_ENOENT;
	while (rv == OCOP_ENOENT && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		proto_rd r;
		uint32_t n;
		uint32_t k;
		proto_rd_init(&r, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0));
		if (proto_rd_array(&r, &n) != OCOP_OK || n % 4 != 0) {
			rv = OCOP_ECORRUPT;
			break;
		}
		for (k = 0; k < n / 4 && rv == OCOP_ENOENT; k++) {
			uint64_t c;
			uint64_t s;
			uint64_t h;
			bool inrow;
			if (proto_rd_uint(&r, &c) != OCOP_OK || proto_rd_uint(&r, &s) != OCOP_OK ||
			    proto_rd_uint(&r, &h) != OCOP_OK || log_value_get(&r, v, &inrow) != OCOP_OK || inrow) {
				rv = OCOP_ECORRUPT;
			} else if (c == col && s == site_no && h == hlc) {
				/* Copied: the statement moves on. */
				com_buf_reset(store);
				if (v->len > 0 && (v->type == PROTO_V_TEXT || v->type == PROTO_V_BLOB)) {
					if (com_buf_append(store, v->p, v->len) != OCOP_OK) {
						rv = OCOP_ENOMEM;
						break;
					}
					v->p = store->data;
				}
				rv = OCOP_OK;
			}
		}
	}
	sqlite3_reset(st);
	return rv;
}

/* The record's cells as the wire carries them, values the change holds read from the row. */
static int
log_wire_cells(sto_log_it *it, const sto_table *t, uint32_t site_no, uint64_t hlc, const sto_logcells *lc,
    const char *row, uint64_t seq, const char *site)
{
	sto_clock clock;
	proto_value tv;
	proto_wr w;
	uint32_t n = 0;
	size_t i;
	int rv;

	com_buf_reset(&it->cells);
	if (lc->verbatim != NULL) {
		return com_buf_append(&it->cells, lc->verbatim, lc->verbatim_len);
	}
	if (lc->inrow != 0) {
		sto_row_fini(&it->row);
		if ((rv = sto_row_load(it->db, t, row, &it->row)) != OCOP_OK ||
		    (rv = sto_row_clock(it->db, &it->row, &clock)) != OCOP_OK) {
			return rv;
		}
		it->row_loaded = true;
	}
	com_buf_reset(&it->cells);
	proto_wr_init(&w, &it->cells);
	for (i = 0; i < t->ncols; i++) {
		n += (uint32_t)((lc->cols >> i) & 1);
	}
	proto_cells_begin(&w, n);
	for (i = 0; i < t->ncols; i++) {
		uint64_t bit = (uint64_t)1 << i;
		if (!(lc->cols & bit)) {
			continue;
		}
		if (!(lc->inrow & bit)) {
			proto_cell_put(&w, t->cols[i].name, &lc->v[i], lc->base[i]);
		} else if (it->row.exists && clock.have[i] && clock.hlc[i] == hlc && clock.site[i] == site_no) {
			proto_cell_put(&w, t->cols[i].name, &it->row.v[i], lc->base[i]); /* it still holds the cell */
		} else if ((rv = log_taken(it->db, t, row, site_no, hlc, i, &it->taken, &tv)) == OCOP_OK) {
			proto_cell_put(&w, t->cols[i].name, &tv, lc->base[i]); /* a later change took it */
		} else {
			return rv == OCOP_ENOENT
			    ? sto_seterr(it->db, OCOP_EINTERNAL,
				  "the log's change %s/%llu of %s %s lost its value of %s (neither the row nor a later change"
				  " holds it)",
				  site, (unsigned long long)seq, t->name, row, t->cols[i].name)
			    : rv == OCOP_ECORRUPT ? sto_seterr(it->db, rv, "a log entry of %s %s is damaged", t->name, row) : rv;
		}
	}
	return proto_wr_error(&w);
}

int
sto_log_next(sto_log_it *it, sto_logged *out)
{
	sqlite3_stmt *st = it->st;
	const sto_table *t;
	sto_logcells lc;
	uint32_t site_no;
	int rc;
	int rv;

	for (;;) {
		memset(out, 0, sizeof(*out));
		it->row_loaded = false;
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			return OCOP_ENOENT;
		}
		if (rc != SQLITE_ROW) {
			return sto_seterr(it->db, OCOP_EDB, "log: %s", sqlite3_errmsg(it->db->db));
		}
		t = sto_schema_table((const char *)sqlite3_column_text(st, 3));
		if (t == NULL) {
			return sto_seterr(it->db, OCOP_ECORRUPT, "log entry %lld names no replicated table",
			    (long long)sqlite3_column_int64(st, 0));
		}
		if (log_cells_decode(t, (uint64_t)sqlite3_column_int64(st, 6), sqlite3_column_blob(st, 7),
			(size_t)sqlite3_column_bytes(st, 7), sqlite3_column_type(st, 7) == SQLITE_NULL, &lc) != OCOP_OK) {
			return sto_seterr(it->db, OCOP_ECORRUPT, "log entry %lld is damaged",
			    (long long)sqlite3_column_int64(st, 0));
		}
		if (!lc.not_kept) {
			break;
		}
	}
	out->lsn = (uint64_t)sqlite3_column_int64(st, 0);
	site_no = (uint32_t)sqlite3_column_int64(st, 1);
	if ((rv = sto_sitenum_uuid(it->db, site_no, out->c.site)) != OCOP_OK) {
		return rv;
	}
	out->c.seq = (uint64_t)sqlite3_column_int64(st, 2);
	snprintf(out->c.tbl, sizeof(out->c.tbl), "%s", t->name);
	snprintf(out->c.row, sizeof(out->c.row), "%s", (const char *)sqlite3_column_text(st, 4));
	out->c.hlc = (uint64_t)sqlite3_column_int64(st, 5);
	if (sqlite3_column_type(st, 8) == SQLITE_TEXT) {
		snprintf(out->c.user, sizeof(out->c.user), "%s", (const char *)sqlite3_column_text(st, 8));
	}
	if (sqlite3_column_type(st, 9) == SQLITE_TEXT) {
		snprintf(it->scope, sizeof(it->scope), "%s", (const char *)sqlite3_column_text(st, 9));
		out->scope = it->scope;
	}
	if ((rv = log_site_col(it, 10, out->to_site)) != OCOP_OK || (rv = log_site_col(it, 11, out->via)) != OCOP_OK ||
	    (rv = log_wire_cells(it, t, site_no, out->c.hlc, &lc, out->c.row, out->c.seq, out->c.site)) != OCOP_OK) {
		return rv;
	}
	out->c.cells = it->cells.data;
	out->c.cells_len = it->cells.len;
	if (it->row_scope) {
		bool missing;
		if (!it->row_loaded) {
			sto_row_fini(&it->row);
			if ((rv = sto_row_load(it->db, t, out->c.row, &it->row)) != OCOP_OK) {
				return rv;
			}
		}
		if (it->row.exists &&
		    (rv = sto_row_scope_after(it->db, &it->row, NULL, out->row_scope, sizeof(out->row_scope), &missing)) !=
			OCOP_OK) {
			return rv;
		}
	}
	return OCOP_OK;
}

/* ===== Forged entries ===== */

int
sto_log_put_cells(sto_db *db, uint64_t seq, const char *tbl, const char *row, uint64_t hlc, const char *user,
    const uint8_t *cells, size_t len, uint64_t *seq_out)
{
	const sto_table *t = sto_schema_table(tbl);
	proto_cells_it it;
	proto_cell cell;
	sto_logcells lc;
	int rv;

	if (t == NULL || proto_cells_open(&it, cells, len, NULL) != OCOP_OK || proto_cells_check(cells, len) != OCOP_OK) {
		return sto_seterr(db, OCOP_EINVAL, "no table %s, or malformed cells", tbl);
	}
	memset(&lc, 0, sizeof(lc));
	while ((rv = proto_cells_next(&it, &cell)) == OCOP_OK) {
		int i = sto_schema_col_index(t, cell.col);
		if (i >= 0) {
			lc.cols |= (uint64_t)1 << i;
		}
	}
	lc.verbatim = cells;
	lc.verbatim_len = len;
	return sto_log_put(db, db->site_no, seq, t, row, hlc, &lc, user, seq_out);
}
