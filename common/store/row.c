/*
 * row.c: reading one replicated row as stored (sto_row), and the unit a row
 * belongs to for scope.
 *
 * Scope follows the tree: a row with a parent that exists here belongs where
 * its parent belongs, so a subject's products, their dossiers and everything
 * under them go wherever the subject goes, and moving the subject moves them
 * all. Only a row without a parent (a subject; a dossier or product filed
 * without one; a unit) is placed by its own unit column. A resolution goes
 * where the row it talks about goes.
 */
#include "common/store/merge.h"

#include <stdio.h>
#include <string.h>

#include "common/store/db.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"

#define ROW_SCOPE_DEPTH 8 /* deeper than any parent chain of the schema */

/* ===== Per-table statements ===== */

int
sto_table_index(const sto_table *t)
{
	size_t n;

	return (int)(t - sto_schema_tables(&n));
}

/* Prepare sql into *slot once (persistent), then hand it out reset. */
static int
row_prepare(sto_db *db, sqlite3_stmt **slot, com_buf *sql)
{
	int rc;

	if (*slot == NULL) {
		if (sql->data == NULL) {
			return OCOP_ENOMEM;
		}
		rc = sqlite3_prepare_v3(db->db, (const char *)sql->data, -1, SQLITE_PREPARE_PERSISTENT, slot, NULL);
		if (rc != SQLITE_OK) {
			*slot = NULL;
			return sto_seterr(db, rc == SQLITE_NOMEM ? OCOP_ENOMEM : OCOP_EDB, "prepare: %s",
			    sqlite3_errmsg(db->db));
		}
	} else {
		sqlite3_reset(*slot);
		sqlite3_clear_bindings(*slot);
	}
	return OCOP_OK;
}

static sto_table_stmts *
row_stmts(sto_db *db, const sto_table *t)
{
	int i = sto_table_index(t);

	return i >= 0 && i < STO_TABLES_MAX ? &db->tst[i] : NULL;
}

int
sto_table_load_stmt(sto_db *db, const sto_table *t, sqlite3_stmt **st)
{
	sto_table_stmts *ts = row_stmts(db, t);
	com_buf sql;
	size_t i;
	int rv = OCOP_OK;

	if (ts == NULL || t->ncols > STO_ROW_MAX) {
		return sto_seterr(db, OCOP_EINTERNAL, "table %s does not fit the statement cache", t->name);
	}
	com_buf_init(&sql);
	if (ts->load == NULL) {
		rv = com_buf_puts(&sql, "SELECT rowid");
		for (i = 0; i < t->ncols && rv == OCOP_OK; i++) {
			rv = com_buf_printf(&sql, ", %s", t->cols[i].name);
		}
		if (rv == OCOP_OK) {
			rv = com_buf_printf(&sql, ", ocop_clock FROM %s WHERE id = ?1", t->name);
		}
	}
	if (rv == OCOP_OK) {
		rv = row_prepare(db, &ts->load, &sql);
	}
	com_buf_fini(&sql);
	*st = ts->load;
	return rv;
}

int
sto_table_insert_stmt(sto_db *db, const sto_table *t, sqlite3_stmt **st)
{
	sto_table_stmts *ts = row_stmts(db, t);
	com_buf sql;
	size_t i;
	int rv = OCOP_OK;

	if (ts == NULL || t->ncols > STO_ROW_MAX) {
		return sto_seterr(db, OCOP_EINTERNAL, "table %s does not fit the statement cache", t->name);
	}
	com_buf_init(&sql);
	if (ts->insert == NULL) {
		rv = com_buf_printf(&sql, "INSERT INTO %s (id", t->name);
		for (i = 0; i < t->ncols && rv == OCOP_OK; i++) {
			rv = com_buf_printf(&sql, ", %s", t->cols[i].name);
		}
		rv = rv == OCOP_OK ? com_buf_puts(&sql, ", ocop_clock) VALUES (?") : rv;
		for (i = 0; i <= t->ncols && rv == OCOP_OK; i++) {
			rv = com_buf_puts(&sql, ", ?");
		}
		rv = rv == OCOP_OK ? com_buf_puts(&sql, ")") : rv;
	}
	if (rv == OCOP_OK) {
		rv = row_prepare(db, &ts->insert, &sql);
	}
	com_buf_fini(&sql);
	*st = ts->insert;
	return rv;
}

int
sto_table_update_stmt(sto_db *db, const sto_table *t, uint64_t mask, sqlite3_stmt **st)
{
	sto_table_stmts *ts = row_stmts(db, t);
	sto_update_slot *slot = NULL;
	com_buf sql;
	size_t i;
	int rv = OCOP_OK;

	if (ts == NULL) {
		return sto_seterr(db, OCOP_EINTERNAL, "table %s does not fit the statement cache", t->name);
	}
	db->uses++;
	/* A few column sets cover nearly every change of a table (a note, a
	 * status with its epoch, a whole row); the least recently used goes. */
	for (i = 0; i < STO_UPDATE_SLOTS; i++) {
		sto_update_slot *u = &ts->upd[i];
		if (u->st != NULL && u->mask == mask) {
			slot = u;
			break;
		}
		/* The victim: an empty slot, else the least recently used. */
		if (slot == NULL || (slot->st != NULL && (u->st == NULL || u->used < slot->used))) {
			slot = u;
		}
	}
	com_buf_init(&sql);
	if (slot->st == NULL || slot->mask != mask) {
		sqlite3_finalize(slot->st);
		slot->st = NULL;
		slot->mask = mask;
		rv = com_buf_printf(&sql, "UPDATE %s SET", t->name);
		for (i = 0; i < t->ncols && rv == OCOP_OK; i++) {
			if (mask & ((uint64_t)1 << i)) {
				rv = com_buf_printf(&sql, " %s = ?,", t->cols[i].name);
			}
		}
		rv = rv == OCOP_OK ? com_buf_puts(&sql, " ocop_clock = ? WHERE rowid = ?") : rv;
	}
	if (rv == OCOP_OK) {
		rv = row_prepare(db, &slot->st, &sql);
	}
	com_buf_fini(&sql);
	slot->used = db->uses;
	*st = slot->st;
	return rv;
}

void
sto_table_stmts_fini(sto_db *db)
{
	size_t i;
	size_t k;

	for (i = 0; i < STO_TABLES_MAX; i++) {
		sqlite3_finalize(db->tst[i].load);
		sqlite3_finalize(db->tst[i].insert);
		sqlite3_finalize(db->tst[i].place);
		for (k = 0; k < STO_UPDATE_SLOTS; k++) {
			sqlite3_finalize(db->tst[i].upd[k].st);
		}
	}
	memset(db->tst, 0, sizeof(db->tst));
}

/* ===== Stored rows ===== */

int
sto_row_load(sto_db *db, const sto_table *t, const char *id, sto_row *out)
{
	size_t off[STO_ROW_MAX + 1];
	size_t total = 0;
	sqlite3_stmt *st;
	int nc = (int)t->ncols;
	size_t i;
	int rv;
	int rc;

	memset(out, 0, sizeof(*out));
	out->t = t;
	rv = (int)strnlen(id, sizeof(out->id) - 1);
	memcpy(out->id, id, (size_t)rv);
	out->id[rv] = 0;
	if ((rv = sto_table_load_stmt(db, t, &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "row: %s", sqlite3_errmsg(db->db));
	}
	out->exists = true;
	out->rowid = sqlite3_column_int64(st, 0);
	/* Copy text, blobs and the clock into one buffer: the statement is reused by others. */
	for (i = 0; i <= t->ncols; i++) {
		int ct = sqlite3_column_type(st, (int)i + 1);
		off[i] = total;
		if (ct == SQLITE_TEXT || ct == SQLITE_BLOB) {
			total += (size_t)sqlite3_column_bytes(st, (int)i + 1) + 1;
		}
	}
	if (total > 0 && (out->buf = com_malloc(total)) == NULL) {
		sqlite3_reset(st);
		return OCOP_ENOMEM;
	}
	for (i = 0; i < t->ncols; i++) {
		int col = (int)i + 1;
		proto_value *v = &out->v[i];
		switch (sqlite3_column_type(st, col)) {
		case SQLITE_INTEGER:
			v->type = PROTO_V_INT;
			v->i = sqlite3_column_int64(st, col);
			break;
		case SQLITE_FLOAT:
			v->type = PROTO_V_REAL;
			v->d = sqlite3_column_double(st, col);
			break;
		case SQLITE_TEXT:
		case SQLITE_BLOB:
			v->type = sqlite3_column_type(st, col) == SQLITE_TEXT ? PROTO_V_TEXT : PROTO_V_BLOB;
			v->len = (size_t)sqlite3_column_bytes(st, col);
			if (v->len > 0) {
				memcpy(out->buf + off[i], sqlite3_column_blob(st, col), v->len);
			}
			out->buf[off[i] + v->len] = 0;
			v->p = out->buf + off[i];
			break;
		default:
			v->type = PROTO_V_NULL;
			break;
		}
	}
	if (sqlite3_column_type(st, nc + 1) == SQLITE_BLOB) {
		out->clock_len = (size_t)sqlite3_column_bytes(st, nc + 1);
		if (out->clock_len > 0) {
			memcpy(out->buf + off[t->ncols], sqlite3_column_blob(st, nc + 1), out->clock_len);
		}
		out->clock = out->buf + off[t->ncols];
	}
	sqlite3_reset(st);
	return OCOP_OK;
}

void
sto_row_fini(sto_row *r)
{
	com_free(r->buf);
	r->buf = NULL;
}

const proto_value *
sto_row_get(const sto_row *r, const char *col)
{
	size_t i;

	for (i = 0; r->t != NULL && i < r->t->ncols; i++) {
		if (strcmp(r->t->cols[i].name, col) == 0) {
			return &r->v[i];
		}
	}
	return NULL;
}

int
sto_row_text(sto_db *db, const char *tbl, const char *id, const char *col, char *out, size_t cap)
{
	const sto_table *t = sto_schema_table(tbl);
	const proto_value *v;
	sto_row r;
	int rv;

	out[0] = 0;
	if (t == NULL || id == NULL || id[0] == 0) {
		return OCOP_ENOENT;
	}
	if ((rv = sto_row_load(db, t, id, &r)) != OCOP_OK) {
		return rv;
	}
	v = sto_row_get(&r, col);
	rv = r.exists ? OCOP_OK : OCOP_ENOENT;
	if (r.exists && v != NULL && (v->type == PROTO_V_TEXT || v->type == PROTO_V_BLOB)) {
		snprintf(out, cap, "%.*s", (int)v->len, (const char *)v->p);
	} else if (r.exists && v != NULL && v->type == PROTO_V_INT) {
		snprintf(out, cap, "%lld", (long long)v->i);
	}
	sto_row_fini(&r);
	return rv;
}

/* ===== Scope ===== */

/* Copy a text value into out (cap bytes); "" for anything else. */
static void
row_text(const proto_value *v, char *out, size_t cap)
{
	out[0] = 0;
	if (v != NULL && v->type == PROTO_V_TEXT && v->len < cap) {
		memcpy(out, v->p, v->len);
		out[v->len] = 0;
	}
}

static int row_scope_at(sto_db *db, const sto_table *t, const char *id, char *out, size_t cap, int depth,
    bool *complete);

/*
 * The scope of a row of t whose own parent, unit and reference cells are the
 * given values (any may be NULL). *parent_missing tells that the row names a
 * parent (or target) that this node does not hold; *complete (may be NULL)
 * is cleared when the answer rests on a parent missing anywhere up the chain
 * or on the walk's depth limit (such an answer changes when the parent comes,
 * so it is never kept across judgements).
 */
static int
row_scope_vals(sto_db *db, const sto_table *t, const proto_value *parent, const proto_value *unit,
    const proto_value *ref_tbl, const proto_value *ref_row, char *out, size_t cap, bool *parent_missing,
    int depth, bool *complete)
{
	char id[PROTO_UUID_LEN + 1];
	char name[PROTO_NAME_MAX + 1];
	const sto_table *pt = NULL;
	bool found = false;
	int rv;

	out[0] = 0;
	*parent_missing = false;
	id[0] = 0;
	if (t->ref_tbl_col != NULL) {
		row_text(ref_tbl, name, sizeof(name));
		row_text(ref_row, id, sizeof(id));
		pt = name[0] ? sto_schema_table(name) : NULL;
	} else if (t->parent_col != NULL) {
		row_text(parent, id, sizeof(id));
		pt = sto_schema_table(t->parent_table);
	}
	if (pt != NULL && id[0] != 0) {
		char sub[64];
		if (depth >= ROW_SCOPE_DEPTH) {
			if (complete != NULL) {
				*complete = false;
			}
			return OCOP_OK;
		}
		rv = row_scope_at(db, pt, id, sub, sizeof(sub), depth + 1, complete);
		if (rv == OCOP_ENOENT) {
			*parent_missing = true;
		} else if (rv != OCOP_OK) {
			return rv;
		} else {
			found = true;
			snprintf(out, cap, "%s", sub);
		}
	} else if (t->ref_tbl_col != NULL && (id[0] != 0 || name[0] != 0)) {
		*parent_missing = true;
	}
	if (*parent_missing && complete != NULL) {
		*complete = false;
	}
	if (!found && t->unit_col != NULL) {
		row_text(unit, out, cap);
	}
	return OCOP_OK;
}

/*
 * The statement reading only what places a row of t (its parent, unit and
 * reference columns, NULL where t has none, then its rowid): walking a parent
 * chain for scope reads a few short columns, not whole rows.
 */
static int
row_place_stmt(sto_db *db, const sto_table *t, sqlite3_stmt **st)
{
	sto_table_stmts *ts = row_stmts(db, t);
	const char *cols[4];
	com_buf sql;
	size_t k;
	int rv = OCOP_OK;

	if (ts == NULL) {
		return sto_seterr(db, OCOP_EINTERNAL, "table %s does not fit the statement cache", t->name);
	}
	cols[0] = t->parent_col;
	cols[1] = t->unit_col;
	cols[2] = t->ref_tbl_col;
	cols[3] = t->ref_row_col;
	com_buf_init(&sql);
	if (ts->place == NULL) {
		rv = com_buf_puts(&sql, "SELECT ");
		for (k = 0; k < 4 && rv == OCOP_OK; k++) {
			rv = com_buf_printf(&sql, "%s%s", k ? ", " : "", cols[k] != NULL ? cols[k] : "NULL");
		}
		rv = rv == OCOP_OK ? com_buf_printf(&sql, ", rowid FROM %s WHERE id = ?1", t->name) : rv;
	}
	if (rv == OCOP_OK) {
		rv = row_prepare(db, &ts->place, &sql);
	}
	com_buf_fini(&sql);
	*st = ts->place;
	return rv;
}

void
sto_judge_begin(sto_db *db)
{
	db->judging = ++db->judgements;
	db->places.stopped = false;
}

void
sto_judge_end(sto_db *db)
{
	db->judging = 0;
	db->places.filling = false;
}

void
sto_judge_fill(sto_db *db, bool fill)
{
	db->places.filling = fill;
}

/* The remembered scope of stored row id of t during this judgement, or NULL. */
static sto_scope_memo *
row_memo_find(sto_db *db, const sto_table *t, const char *id)
{
	size_t i;

	for (i = 0; db->judging != 0 && i < STO_SCOPE_MEMO; i++) {
		sto_scope_memo *m = &db->memo[i];
		if (m->session == db->judging && m->t == t && strcmp(m->id, id) == 0) {
			return m;
		}
	}
	return NULL;
}

static void
row_memo_put(sto_db *db, const sto_table *t, const char *id, const char *scope, int rv)
{
	sto_scope_memo *m = &db->memo[0];
	size_t i;

	if (db->judging == 0 || strlen(id) >= sizeof(m->id)) {
		return;
	}
	for (i = 0; i < STO_SCOPE_MEMO && db->memo[i].session == db->judging; i++) {
	}
	m = &db->memo[i < STO_SCOPE_MEMO ? i : 0];
	m->session = db->judging;
	m->t = t;
	snprintf(m->id, sizeof(m->id), "%s", id);
	snprintf(m->scope, sizeof(m->scope), "%s", scope);
	m->rv = rv;
}

/* ===== Scopes kept across judgements (db.h: sto_places) ===== */

/*
 * Only inside a write transaction: no other process writes the file
 * meanwhile. Asked first whether there is anything to read or to keep, so a
 * judgement with nothing kept (capture's, a laptop's) pays for nothing.
 */
static bool
row_places_live(sto_db *db)
{
	return db->judging != 0 && (db->places.filling || db->places.count > 0) && !db->places.off &&
	    sqlite3_txn_state(db->db, "main") == SQLITE_TXN_WRITE;
}

static uint32_t
row_places_hash(const sto_table *t, const char *id)
{
	uint32_t h = 2166136261u ^ (uint32_t)sto_table_index(t);

	for (; *id; id++) {
		h = (h ^ (uint8_t)*id) * 16777619u;
	}
	return h;
}

static sto_place *
row_places_find(sto_db *db, const sto_table *t, const char *id)
{
	uint32_t i = row_places_hash(t, id) & (STO_PLACE_SLOTS - 1);
	uint32_t n;

	for (n = 0; n < STO_PLACE_SLOTS && db->places.slot[i].t != NULL; n++) {
		sto_place *e = &db->places.slot[i];
		if (e->t == t && strcmp(e->id, id) == 0) {
			return e;
		}
		i = (i + 1) & (STO_PLACE_SLOTS - 1);
	}
	return NULL;
}

void
sto_places_clear(sto_db *db)
{
	sto_places *p = &db->places;

	if (p->count == 0) {
		return;
	}
	memset(p->slot, 0, sizeof(p->slot));
	memset(p->bloom, 0, sizeof(p->bloom));
	p->count = 0;
	p->empties++;
	if (p->filling) {
		p->stopped = true; /* a walk under way: its parents are gone, so add none of its rows */
	}
}

void
sto_places_written(sto_db *db, const char *tbl, sqlite3_int64 rowid)
{
	sto_places *p = &db->places;
	uint64_t bit = (uint64_t)rowid % (64u * STO_PLACE_BLOOM);
	size_t i;

	if (p->count == 0 || !(p->bloom[bit / 64] & ((uint64_t)1 << (bit % 64)))) {
		return;
	}
	for (i = 0; i < STO_PLACE_SLOTS; i++) {
		if (p->slot[i].t != NULL && p->slot[i].rowid == rowid && strcmp(p->slot[i].t->name, tbl) == 0) {
			sto_places_clear(db);
			return;
		}
	}
}

/* Keep the scope of row id (rowid) of t, whose parents, if any, are kept already. */
static void
row_places_put(sto_db *db, const sto_table *t, const char *id, sqlite3_int64 rowid, const char *scope)
{
	sto_places *p = &db->places;
	uint64_t bit = (uint64_t)rowid % (64u * STO_PLACE_BLOOM);
	uint32_t i;

	if (!p->filling || p->stopped || strlen(id) >= sizeof(p->slot[0].id) ||
	    strlen(scope) >= sizeof(p->slot[0].scope) || row_places_find(db, t, id) != NULL) {
		return;
	}
	if (p->count >= STO_PLACE_MAX) {
		sto_places_clear(db); /* and stopped: this row's parents went with it */
		return;
	}
	i = row_places_hash(t, id) & (STO_PLACE_SLOTS - 1);
	while (p->slot[i].t != NULL) {
		i = (i + 1) & (STO_PLACE_SLOTS - 1);
	}
	p->slot[i].t = t;
	p->slot[i].rowid = rowid;
	memcpy(p->slot[i].id, id, strlen(id) + 1);
	memcpy(p->slot[i].scope, scope, strlen(scope) + 1);
	p->bloom[bit / 64] |= (uint64_t)1 << (bit % 64);
	p->count++;
}

static int row_scope_read(sto_db *db, const sto_table *t, const char *id, char *out, size_t cap, int depth,
    bool *complete);

/*
 * The scope of stored row id of t; OCOP_ENOENT when this node does not hold
 * it. A judgement asks for the same parents several times (the row's scope
 * before and after a change): within one, each is read once; and within one
 * write transaction the merge's judgements share what they read (sto_places).
 */
static int
row_scope_at(sto_db *db, const sto_table *t, const char *id, char *out, size_t cap, int depth, bool *complete)
{
	sto_scope_memo *m = row_memo_find(db, t, id);
	bool live = row_places_live(db);
	bool whole = true;
	sto_place *e;
	int rv;

	if (m != NULL) {
		snprintf(out, cap, "%s", m->scope);
		rv = m->rv;
	} else if (live && (e = row_places_find(db, t, id)) != NULL) {
		db->places.hits++;
		snprintf(out, cap, "%s", e->scope);
		rv = OCOP_OK;
		row_memo_put(db, t, id, out, rv);
	} else {
		rv = row_scope_read(db, t, id, out, cap, depth, &whole);
		if (rv == OCOP_OK || rv == OCOP_ENOENT) {
			row_memo_put(db, t, id, out, rv);
		}
	}
	/* A row's scope may be kept only while every row up its chain is. */
	if (complete != NULL && (rv != OCOP_OK || !whole || !live || row_places_find(db, t, id) == NULL)) {
		*complete = false;
	}
	return rv;
}

/* row_scope_at without the memo: reads the row's place, and keeps what it found when it may. */
static int
row_scope_read(sto_db *db, const sto_table *t, const char *id, char *out, size_t cap, int depth, bool *complete)
{
	char text[4][PROTO_UUID_LEN + PROTO_NAME_MAX + 1];
	proto_value v[4];
	sqlite3_stmt *st = NULL;
	sqlite3_int64 rowid;
	bool missing;
	int rv;
	int rc;
	int k;

	out[0] = 0;
	if ((rv = row_place_stmt(db, t, &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? OCOP_ENOENT : sto_seterr(db, OCOP_EDB, "row: %s", sqlite3_errmsg(db->db));
	}
	/* Copied out: the walk goes on to the parent, whose table may be this one. */
	for (k = 0; k < 4; k++) {
		memset(&v[k], 0, sizeof(v[k]));
		text[k][0] = 0;
		if (sqlite3_column_type(st, k) == SQLITE_TEXT) {
			size_t len = (size_t)sqlite3_column_bytes(st, k);
			if (len >= sizeof(text[k])) {
				len = 0; /* no unit code or row id is that long: places nothing */
			}
			memcpy(text[k], sqlite3_column_text(st, k), len);
			text[k][len] = 0;
			v[k].type = PROTO_V_TEXT;
			v[k].p = (const uint8_t *)text[k];
			v[k].len = len;
		}
	}
	rowid = sqlite3_column_int64(st, 4);
	sqlite3_reset(st);
	if ((rv = row_scope_vals(db, t, &v[0], &v[1], &v[2], &v[3], out, cap, &missing, depth, complete)) ==
		OCOP_OK &&
	    *complete && row_places_live(db)) {
		row_places_put(db, t, id, rowid, out);
	}
	return rv;
}

int
sto_row_scope(sto_db *db, const char *tbl, const char *row, char *out, size_t cap)
{
	const sto_table *t = sto_schema_table(tbl);
	int rv;

	out[0] = 0;
	if (t == NULL) {
		return OCOP_OK;
	}
	rv = row_scope_at(db, t, row, out, cap, 0, NULL);
	return rv == OCOP_ENOENT ? OCOP_OK : rv;
}

int
sto_row_scope_after(sto_db *db, const sto_row *before, const proto_change *c, char *out, size_t cap,
    bool *parent_missing)
{
	const sto_table *t = before->t;
	const proto_value *vals[4] = {NULL, NULL, NULL, NULL};
	const char *cols[4];
	proto_cells_it it;
	proto_cell cell;
	proto_value in[4];
	int k;

	cols[0] = t->parent_col;
	cols[1] = t->unit_col;
	cols[2] = t->ref_tbl_col;
	cols[3] = t->ref_row_col;
	for (k = 0; k < 4; k++) {
		vals[k] = cols[k] != NULL ? sto_row_get(before, cols[k]) : NULL;
	}
	if (c != NULL && proto_cells_open(&it, c->cells, c->cells_len, NULL) == OCOP_OK) {
		while (proto_cells_next(&it, &cell) == OCOP_OK) {
			for (k = 0; k < 4; k++) {
				if (cols[k] != NULL && strcmp(cols[k], cell.col) == 0) {
					in[k] = cell.v; /* bytes borrowed from c->cells, alive for the call */
					vals[k] = &in[k];
				}
			}
		}
	}
	return row_scope_vals(db, t, vals[0], vals[1], vals[2], vals[3], out, cap, parent_missing, 0, NULL);
}

/* ===== Units ===== */

int
sto_unit_successor(sto_db *db, const char *code, char *out, size_t cap)
{
	sqlite3_stmt *st;
	int rv;
	int rc;

	out[0] = 0;
	rv = sto_stmt(db,
	    "SELECT successor_code FROM unit WHERE code = ?1 AND deleted = 0 AND successor_code IS NOT NULL"
	    " AND successor_code <> code ORDER BY id LIMIT 1",
	    &st);
	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, code, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? OCOP_OK : rc == SQLITE_DONE ? OCOP_ENOENT
							 : sto_seterr(db, OCOP_EDB, "unit: %s", sqlite3_errmsg(db->db));
}
