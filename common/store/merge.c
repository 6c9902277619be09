/*
 * merge.c: applying changes from elsewhere (see merge.h for the rules).
 *
 * Cells are compared with the clock table, which holds for every cell the
 * (hlc, site) of the write that currently holds it. Writes here suspend
 * capture: a merged change is logged as it arrived, under its writer's site
 * and seq, not as a new local change.
 */
#include "common/store/ledger.h"
#include "common/store/merge.h"

#include <stdio.h>
#include <string.h>

#include "common/store/capture.h"
#include "common/store/db.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "ocop_err.h"


/* ===== Small helpers ===== */

void
sto_bind_value(sqlite3_stmt *st, int i, const proto_value *v)
{
	if (v == NULL) {
		sqlite3_bind_null(st, i);
		return;
	}
	switch (v->type) {
	case PROTO_V_INT:
		sqlite3_bind_int64(st, i, v->i);
		break;
	case PROTO_V_REAL:
		sqlite3_bind_double(st, i, v->d);
		break;
	case PROTO_V_TEXT:
		sqlite3_bind_text(st, i, (const char *)v->p, (int)v->len, SQLITE_TRANSIENT);
		break;
	case PROTO_V_BLOB:
		sqlite3_bind_blob(st, i, v->p, (int)v->len, SQLITE_TRANSIENT);
		break;
	default:
		sqlite3_bind_null(st, i);
		break;
	}
}

void
sto_column_value(sqlite3_stmt *st, int i, proto_value *v)
{
	memset(v, 0, sizeof(*v));
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		v->type = PROTO_V_INT;
		v->i = sqlite3_column_int64(st, i);
		break;
	case SQLITE_FLOAT:
		v->type = PROTO_V_REAL;
		v->d = sqlite3_column_double(st, i);
		break;
	case SQLITE_TEXT:
		v->type = PROTO_V_TEXT;
		v->p = sqlite3_column_text(st, i);
		v->len = (size_t)sqlite3_column_bytes(st, i);
		break;
	case SQLITE_BLOB:
		v->type = PROTO_V_BLOB;
		v->p = sqlite3_column_blob(st, i);
		v->len = (size_t)sqlite3_column_bytes(st, i);
		break;
	default:
		v->type = PROTO_V_NULL;
		break;
	}
}

static int64_t
pv_int(const proto_value *v)
{
	return v->type == PROTO_V_INT ? v->i : v->type == PROTO_V_REAL ? (int64_t)v->d : 0;
}

/* A copy of one cell's current value, owning its bytes. */
typedef struct cellval {
	proto_value v;   /* the value; v.p points into buf when text/blob */
	uint8_t *buf;    /* owned bytes */
} cellval;

static void
cellval_fini(cellval *c)
{
	com_free(c->buf);
	memset(c, 0, sizeof(*c));
}

static int
step_done(sto_db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		return sto_seterr(db, OCOP_EDB, "merge: %s", sqlite3_errmsg(db->db));
	}
	return OCOP_OK;
}

/* ===== Cells ===== */

static int
clock_get(sto_db *db, const char *tbl, const char *row, const char *col, uint64_t *hlc,
    char site[37], int64_t *aux, bool *found)
{
	sqlite3_stmt *st;
	int rv = sto_stmt(db, "SELECT hlc, site, aux FROM clock WHERE tbl = ?1 AND row_id = ?2 AND col = ?3", &st);
	int rc;

	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, col, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	*hlc = 0;
	site[0] = 0;
	if (*found) {
		*hlc = (uint64_t)sqlite3_column_int64(st, 0);
		snprintf(site, 37, "%s", (const char *)sqlite3_column_text(st, 1));
		*aux = sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCOP_OK
						    : sto_seterr(db, OCOP_EDB, "clock: %s", sqlite3_errmsg(db->db));
}

static int
clock_put(sto_db *db, const char *tbl, const char *row, const char *col, uint64_t hlc, const char *site,
    const int64_t *aux)
{
	sqlite3_stmt *st;
	int rv = sto_stmt(db,
	    "INSERT OR REPLACE INTO clock (tbl, row_id, col, hlc, site, aux) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", &st);

	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, row, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, col, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)hlc);
	sqlite3_bind_text(st, 5, site, -1, SQLITE_STATIC);
	if (aux != NULL) {
		sqlite3_bind_int64(st, 6, *aux);
	}
	return step_done(db, st);
}

/* Read the current value of one cell into out (a copy). */
static int
cell_get(sto_db *db, const char *tbl, const char *row, const char *col, cellval *out)
{
	char sql[160];
	sqlite3_stmt *st;
	int rv;

	memset(out, 0, sizeof(*out));
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE id = ?1", col, tbl);
	if ((rv = sto_stmt(db, sql, &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, row, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		sto_column_value(st, 0, &out->v);
		if ((out->v.type == PROTO_V_TEXT || out->v.type == PROTO_V_BLOB)) {
			out->buf = com_malloc(out->v.len + 1);
			if (out->buf == NULL) {
				sqlite3_reset(st);
				return OCOP_ENOMEM;
			}
			memcpy(out->buf, out->v.p, out->v.len);
			out->buf[out->v.len] = 0;
			out->v.p = out->buf;
		}
	}
	sqlite3_reset(st);
	return OCOP_OK;
}

static int
cell_set(sto_db *db, const char *tbl, const char *row, const char *col, const proto_value *v)
{
	char sql[160];
	sqlite3_stmt *st;
	int rv;

	if (snprintf(sql, sizeof(sql), "UPDATE %s SET %s = ?1 WHERE id = ?2", tbl, col) >= (int)sizeof(sql)) {
		return sto_seterr(db, OCOP_EINVAL, "name too long");
	}
	if ((rv = sto_stmt(db, sql, &st)) != OCOP_OK) {
		return rv;
	}
	sto_bind_value(st, 1, v);
	sqlite3_bind_text(st, 2, row, -1, SQLITE_STATIC);
	return step_done(db, st);
}

static int
row_ensure(sto_db *db, const char *tbl, const char *row)
{
	char sql[128];
	sqlite3_stmt *st;
	int rv;

	snprintf(sql, sizeof(sql), "INSERT OR IGNORE INTO %s (id) VALUES (?1)", tbl);
	if ((rv = sto_stmt(db, sql, &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, row, -1, SQLITE_STATIC);
	return step_done(db, st);
}

/* ===== Merge ===== */

void
sto_set_policy(sto_db *db, const sto_policy *pol)
{
	db->policy = pol;
}

/* (hlc, site) order: the total order last-writer-wins uses. */
static int
version_cmp(uint64_t ha, const char *sa, uint64_t hb, const char *sb)
{
	if (ha != hb) {
		return ha > hb ? 1 : -1;
	}
	return strcmp(sa, sb);
}

static int
change_known(sto_db *db, const proto_change *c, bool *known)
{
	sqlite3_stmt *st;
	int rv = sto_stmt(db, "SELECT 1 FROM change WHERE site = ?1 AND seq = ?2", &st);

	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, c->site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->seq);
	*known = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return OCOP_OK;
}

/* A refusal recorded before for this (site, seq): its reason, so a resend gets the same answer. */
static int
rejection_known(sto_db *db, const proto_change *c, sto_verdict *v, bool *known)
{
	int code = OCOP_EAUTH;
	int rv = sto_refusal_find(db, c->site, c->seq, &code, v->reason, sizeof(v->reason), known);

	if (rv == OCOP_OK && *known) {
		v->outcome = STO_REJECTED;
		v->code = code;
	}
	return rv;
}

static int
change_log(sto_db *db, const proto_change *c, uint64_t hlc)
{
	sqlite3_stmt *st;
	int rv = sto_stmt(db,
	    "INSERT INTO change (site, seq, tbl, row_id, hlc, user, cells) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	    &st);

	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, c->site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->seq);
	sqlite3_bind_text(st, 3, c->tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, c->row, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)hlc);
	sqlite3_bind_text(st, 6, c->user, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, c->cells, (int)c->cells_len, SQLITE_STATIC);
	return step_done(db, st);
}

/*
 * Structural checks: a known table, known columns, each cell once, every
 * value of its column's kind and size. Returns OCOP_OK or OCOP_ETYPE.
 */
static int
merge_validate(const proto_change *c, char *reason, size_t cap)
{
	const sto_table *t = sto_schema_table(c->tbl);
	proto_cells_it it;
	proto_cell cell;
	unsigned char seen[STO_ROW_MAX];
	const sto_column *col;
	int rv;

	if (t == NULL) {
		snprintf(reason, cap, "unknown table '%s'", c->tbl);
		return OCOP_ETYPE;
	}
	memset(seen, 0, sizeof(seen));
	if (proto_cells_open(&it, c->cells, c->cells_len, NULL) != OCOP_OK) {
		snprintf(reason, cap, "malformed cells");
		return OCOP_ETYPE;
	}
	while ((rv = proto_cells_next(&it, &cell)) == OCOP_OK) {
		if ((col = sto_schema_column(t, cell.col)) == NULL) {
			snprintf(reason, cap, "table %s has no column '%s'%s", c->tbl, cell.col,
			    strcmp(cell.col, "id") == 0 ? " (row ids never change)" : "");
			return OCOP_ETYPE;
		}
		if (seen[col - t->cols]++) {
			snprintf(reason, cap, "column '%s' set twice in one change", cell.col);
			return OCOP_ETYPE;
		}
		if (sto_schema_check(t, col, &cell.v, reason, cap) != OCOP_OK) {
			return OCOP_ETYPE;
		}
	}
	if (rv != OCOP_ENOENT) {
		snprintf(reason, cap, "malformed cells");
		return OCOP_ETYPE;
	}
	return OCOP_OK;
}

/* Record every cell of a refused change in the ledger, with the rule of its code. */
static int
merge_reject(sto_db *db, const proto_change *c, int code, const char *reason)
{
	proto_cells_it it;
	proto_cell cell;
	int rv;

	if (proto_cells_open(&it, c->cells, c->cells_len, NULL) != OCOP_OK) {
		return sto_ledger_refusal(db, c->tbl, c->row, NULL, code, reason, NULL, c->hlc, c->site, c->seq);
	}
	while ((rv = proto_cells_next(&it, &cell)) == OCOP_OK) {
		rv = sto_ledger_refusal(db, c->tbl, c->row, cell.col, code, reason, &cell.v, c->hlc, c->site, c->seq);
		if (rv != OCOP_OK) {
			return rv;
		}
	}
	return rv == OCOP_ENOENT ? OCOP_OK : sto_ledger_refusal(db, c->tbl, c->row, NULL, code, reason, NULL, c->hlc,
							 c->site, c->seq);
}

/* The epoch a status write was made in: the change's epoch cell, else 0. */
static int64_t
change_epoch(const proto_change *c)
{
	proto_cells_it it;
	proto_cell cell;

	if (proto_cells_open(&it, c->cells, c->cells_len, NULL) != OCOP_OK) {
		return 0;
	}
	while (proto_cells_next(&it, &cell) == OCOP_OK) {
		if (strcmp(cell.col, "epoch") == 0) {
			return pv_int(&cell.v);
		}
	}
	return 0;
}

/*
 * Decide one cell. *wins says whether the incoming value replaces the
 * current one; rule names the rule that decided.
 */
typedef struct cell_case {
	const proto_change *c; /* the incoming change */
	const proto_cell *cell; /* the incoming cell */
	uint64_t hlc;          /* the incoming change's (possibly clamped) HLC */
	bool have;             /* the cell has a current version */
	uint64_t cur_hlc;      /* its version */
	char cur_site[37];     /* its writer */
	int64_t cur_aux;       /* for a status: the epoch it was set in */
	cellval cur;           /* its value */
} cell_case;

/*
 * Order an incoming status against the current one by (the epoch each was set
 * in, rank, version): a total order, so the winner does not depend on which
 * arrived first.
 */
static int
merge_status_cmp(sto_db *db, const sto_policy *pol, cell_case *k, int *cmp, const char **rule)
{
	int64_t in_epoch = change_epoch(k->c);
	char a[64];
	char b[64];

	*rule = "workflow";
	if (in_epoch != k->cur_aux) {
		*cmp = in_epoch > k->cur_aux ? 1 : -1;
		return OCOP_OK;
	}
	if (k->cur.v.type != PROTO_V_TEXT) {
		*cmp = version_cmp(k->hlc, k->c->site, k->cur_hlc, k->cur_site);
		return OCOP_OK;
	}
	snprintf(a, sizeof(a), "%.*s", (int)k->cell->v.len, (const char *)k->cell->v.p);
	snprintf(b, sizeof(b), "%.*s", (int)k->cur.v.len, (const char *)k->cur.v.p);
	*cmp = pol && pol->status_cmp ? pol->status_cmp(pol->arg, db, k->c->row, a, b) : 0;
	if (*cmp == 0) {
		*rule = "lww";
		*cmp = version_cmp(k->hlc, k->c->site, k->cur_hlc, k->cur_site);
	}
	return OCOP_OK;
}

static int
merge_cell(sto_db *db, const sto_policy *pol, cell_case *k, sto_verdict *v)
{
	const proto_change *c = k->c;
	const char *col = k->cell->col;
	const char *rule = "lww";
	bool is_status = strcmp(col, "status") == 0 && strcmp(c->tbl, "dossier") == 0;
	int64_t in_epoch = change_epoch(c);
	bool voided;
	int cmp;
	int rv;

	if ((rv = clock_get(db, c->tbl, c->row, col, &k->cur_hlc, k->cur_site, &k->cur_aux, &k->have)) != OCOP_OK ||
	    (rv = cell_get(db, c->tbl, c->row, col, &k->cur)) != OCOP_OK) {
		return rv;
	}
	if (k->have && k->cur_hlc == k->hlc && strcmp(k->cur_site, c->site) == 0) {
		return OCOP_OK; /* this very write already holds the cell */
	}
	/* A cell whose write its server refused holds no version any more
	 * (site ""): whatever the server sends takes it, even a lower epoch or
	 * an undone tombstone, so the refused value converges away. */
	voided = k->have && k->cur_site[0] == 0;
	if (!k->have || voided) {
		cmp = 1;
	} else if (strcmp(col, "deleted") == 0 || strcmp(col, "epoch") == 0) {
		/* Grow-only registers: a tombstone is never undone by a late write,
		 * and an epoch never goes back. Ties fall to the version order. */
		int64_t in = pv_int(&k->cell->v);
		int64_t cur = pv_int(&k->cur.v);
		rule = strcmp(col, "deleted") == 0 ? "tombstone" : "workflow";
		cmp = in != cur ? (in > cur ? 1 : -1) : version_cmp(k->hlc, c->site, k->cur_hlc, k->cur_site);
	} else if (strcmp(col, "status") == 0 && strcmp(c->tbl, "dossier") == 0 &&
		   k->cell->v.type == PROTO_V_TEXT) {
		if ((rv = merge_status_cmp(db, pol, k, &cmp, &rule)) != OCOP_OK) {
			return rv;
		}
	} else {
		cmp = version_cmp(k->hlc, c->site, k->cur_hlc, k->cur_site);
	}

	if (cmp > 0) {
		/* The incoming value wins. The one it replaces is a conflict's loser
		 * unless the writer had seen it (a plain edit). */
		if (k->have && !voided && k->cell->base_hlc != k->cur_hlc) {
			char reason[160];
			snprintf(reason, sizeof(reason), "concurrent edit; %s rule kept the %s write",
			    rule, strcmp(rule, "lww") == 0 ? "later" : "higher");
			rv = sto_ledger_put(db, c->tbl, c->row, col, rule, reason, &k->cell->v, k->hlc,
			    c->site, &k->cur.v, k->cur_hlc, k->cur_site, 0);
			if (rv != OCOP_OK) {
				return rv;
			}
			v->conflicts++;
		}
		if ((rv = cell_set(db, c->tbl, c->row, col, &k->cell->v)) != OCOP_OK ||
		    (rv = clock_put(db, c->tbl, c->row, col, k->hlc, c->site, is_status ? &in_epoch : NULL)) != OCOP_OK) {
			return rv;
		}
	} else if (cmp < 0) {
		char reason[160];
		snprintf(reason, sizeof(reason), "superseded: %s rule kept the %s value", rule,
		    strcmp(rule, "lww") == 0 ? "later" : strcmp(rule, "tombstone") == 0 ? "deleted" : "higher");
		rv = sto_ledger_put(db, c->tbl, c->row, col, rule, reason, &k->cur.v, k->cur_hlc, k->cur_site,
		    &k->cell->v, k->hlc, c->site, c->seq);
		if (rv != OCOP_OK) {
			return rv;
		}
		v->conflicts++;
	}
	return OCOP_OK;
}

/*
 * A server that clamped one of this node's changes sends it back with the
 * HLC it stored. Adopt that version so every replica orders the cells alike:
 * lower the cells' clocks that this change still holds, then let any value
 * this node set aside in the ledger that now outranks it take the cell (it
 * won on the server too), recording this node's own value as the loser.
 */
static int
merge_clamp_echo(sto_db *db, const proto_change *c, sto_verdict *v)
{
	sqlite3_stmt *st;
	proto_cells_it it;
	proto_cell cell;
	uint64_t stored = 0;
	int rv;

	if ((rv = sto_stmt(db, "SELECT hlc FROM change WHERE site = ?1 AND seq = ?2", &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, c->site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->seq);
	if (sqlite3_step(st) == SQLITE_ROW) {
		stored = (uint64_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (c->hlc >= stored) {
		return OCOP_OK; /* a plain resend */
	}
	v->clamped = true;
	if (proto_cells_open(&it, c->cells, c->cells_len, NULL) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	sto_capture_suspend(db);
	while ((rv = proto_cells_next(&it, &cell)) == OCOP_OK) {
		uint64_t h;
		int64_t aux = 0;
		char site[37];
		bool have;
		sqlite3_int64 best = 0;

		if ((rv = clock_get(db, c->tbl, c->row, cell.col, &h, site, &aux, &have)) != OCOP_OK) {
			break;
		}
		if (!have || h != stored || strcmp(site, c->site) != 0) {
			continue; /* a later write holds the cell already */
		}
		if ((rv = clock_put(db, c->tbl, c->row, cell.col, c->hlc, c->site,
			 strcmp(cell.col, "status") == 0 ? &aux : NULL)) != OCOP_OK) {
			break;
		}
		rv = sto_stmt(db,
		    "SELECT id FROM ledger WHERE tbl = ?1 AND row_id = ?2 AND col = ?3 AND rule = 'lww'"
		    " AND lost_site IS NOT NULL AND (lost_hlc > ?4 OR (lost_hlc = ?4 AND lost_site > ?5))"
		    " ORDER BY lost_hlc DESC, lost_site DESC LIMIT 1",
		    &st);
		if (rv != OCOP_OK) {
			break;
		}
		sqlite3_bind_text(st, 1, c->tbl, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, c->row, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, cell.col, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)c->hlc);
		sqlite3_bind_text(st, 5, c->site, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			best = sqlite3_column_int64(st, 0);
		}
		sqlite3_reset(st);
		if (best != 0) {
			char sql[300];
			/* The set-aside value outranks ours now: it takes the cell. */
			rv = sto_ledger_put(db, c->tbl, c->row, cell.col, "lww",
			    "superseded after the server clamped this site's clock", NULL, 0, NULL, &cell.v,
			    c->hlc, c->site, c->seq);
			snprintf(sql, sizeof(sql),
			    "UPDATE %s SET %s = (SELECT lost_value FROM ledger WHERE id = ?1) WHERE id = ?2", c->tbl,
			    cell.col);
			if (rv == OCOP_OK && (rv = sto_stmt(db, sql, &st)) == OCOP_OK) {
				sqlite3_bind_int64(st, 1, best);
				sqlite3_bind_text(st, 2, c->row, -1, SQLITE_STATIC);
				rv = step_done(db, st);
			}
			if (rv == OCOP_OK && (rv = sto_stmt(db,
						  "INSERT OR REPLACE INTO clock (tbl, row_id, col, hlc, site, aux)"
						  " SELECT tbl, row_id, col, lost_hlc, lost_site, NULL FROM ledger WHERE id = ?1",
						  &st)) == OCOP_OK) {
				sqlite3_bind_int64(st, 1, best);
				rv = step_done(db, st);
			}
			if (rv == OCOP_OK && (rv = sto_stmt(db, "DELETE FROM ledger WHERE id = ?1", &st)) == OCOP_OK) {
				sqlite3_bind_int64(st, 1, best);
				rv = step_done(db, st);
			}
			if (rv != OCOP_OK) {
				break;
			}
		}
	}
	sto_capture_resume(db);
	if (rv != OCOP_ENOENT) {
		return rv == OCOP_OK ? OCOP_EINTERNAL : rv;
	}
	if ((rv = sto_stmt(db, "UPDATE change SET hlc = ?3 WHERE site = ?1 AND seq = ?2", &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, c->site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->seq);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)c->hlc);
	if ((rv = step_done(db, st)) != OCOP_OK) {
		return rv;
	}
	return sto_ledger_put(db, c->tbl, c->row, NULL, "clock",
	    "this site's clock was ahead of the server's bound; its change was stored with the bound",
	    NULL, c->hlc, NULL, NULL, stored, c->site, c->seq);
}

/* Merge each cell of c, the epoch first so the status sees the row's new epoch. */
static int
merge_cells(sto_db *db, const sto_policy *pol, const proto_change *c, sto_verdict *v)
{
	proto_cells_it it;
	proto_cell cell;
	cell_case k;
	int pass;
	int rv = OCOP_OK;

	for (pass = 0; pass < 2 && (rv == OCOP_OK || rv == OCOP_ENOENT); pass++) {
		if (proto_cells_open(&it, c->cells, c->cells_len, NULL) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		while ((rv = proto_cells_next(&it, &cell)) == OCOP_OK) {
			if ((strcmp(cell.col, "epoch") == 0) != (pass == 0)) {
				continue;
			}
			memset(&k, 0, sizeof(k));
			k.c = c;
			k.cell = &cell;
			k.hlc = v->hlc;
			rv = merge_cell(db, pol, &k, v);
			cellval_fini(&k.cur);
			if (rv != OCOP_OK) {
				return rv;
			}
		}
	}
	return rv == OCOP_ENOENT ? OCOP_OK : rv;
}

/* Does c write the column that places its row (its unit, or the row it points at)? */
static bool
merge_moves(const sto_table *t, const proto_change *c)
{
	proto_cells_it it;
	proto_cell cell;

	if (proto_cells_open(&it, c->cells, c->cells_len, NULL) != OCOP_OK) {
		return false;
	}
	while (proto_cells_next(&it, &cell) == OCOP_OK) {
		if ((t->unit_col && strcmp(cell.col, t->unit_col) == 0) ||
		    (t->parent_col && strcmp(cell.col, t->parent_col) == 0) ||
		    (t->ref_row_col && strcmp(cell.col, t->ref_row_col) == 0)) {
			return true;
		}
	}
	return false;
}

int
sto_merge_apply(sto_db *db, const sto_policy *pol, const sto_writer *w, const proto_change *c, bool clamp,
    sto_verdict *v)
{
	const sto_table *t;
	sto_row before;
	char scope_before[64] = "";
	bool missing;
	bool known = false;
	bool moves;
	uint64_t seen;
	int rv;

	memset(v, 0, sizeof(*v));
	memset(&before, 0, sizeof(before));
	v->hlc = c->hlc;
	if ((rv = change_known(db, c, &known)) != OCOP_OK) {
		return rv;
	}
	if (known) {
		v->outcome = STO_DUPLICATE;
		return merge_clamp_echo(db, c, v);
	}
	if ((rv = rejection_known(db, c, v, &known)) != OCOP_OK || known) {
		return rv;
	}

	v->code = merge_validate(c, v->reason, sizeof(v->reason));
	if (v->code != OCOP_OK) {
		v->outcome = STO_REJECTED;
		return merge_reject(db, c, v->code, v->reason);
	}
	t = sto_schema_table(c->tbl);
	moves = db->serving && merge_moves(t, c);
	if ((w != NULL && pol != NULL && pol->authorize != NULL) || moves) {
		if ((rv = sto_row_load(db, t, c->row, &before)) != OCOP_OK) {
			return rv;
		}
	}
	if (w != NULL && pol != NULL && pol->authorize != NULL) {
		v->code = pol->authorize(pol->arg, db, w, &before, c, v->reason, sizeof(v->reason));
		if (v->code != OCOP_OK) {
			sto_row_fini(&before);
			v->outcome = STO_REJECTED;
			return merge_reject(db, c, v->code, v->reason);
		}
	}
	if (moves && before.exists &&
	    (rv = sto_row_scope_after(db, &before, NULL, scope_before, sizeof(scope_before), &missing)) != OCOP_OK) {
		sto_row_fini(&before);
		return rv;
	}
	sto_row_fini(&before);

	if (clamp) {
		v->hlc = com_hlc_clamp(&db->hlc, c->hlc, &v->clamped);
		if (v->clamped && v->hlc <= db->hlc.last) {
			/* Several changes clamped to the same bound would tie on (hlc,
			 * site) and look like one write: keep them distinct and ordered. */
			v->hlc = db->hlc.last + 1;
		}
		if (v->clamped) {
			char reason[200];
			snprintf(reason, sizeof(reason),
			    "clock of site %s was %llu ms ahead of this server; change stored with the bound",
			    c->site, (unsigned long long)(com_hlc_ms(c->hlc) - com_hlc_physical(&db->hlc)));
			rv = sto_ledger_put(db, c->tbl, c->row, NULL, "clock", reason, NULL, v->hlc, NULL,
			    NULL, c->hlc, c->site, c->seq);
			if (rv != OCOP_OK) {
				return rv;
			}
		}
	}
	/* Move our clock past what we have seen (never backwards, never beyond the bound). */
	if (com_hlc_update(&db->hlc, v->hlc, &seen) != OCOP_OK && v->hlc > db->hlc.last) {
		db->hlc.last = v->hlc;
	}

	sto_capture_suspend(db);
	rv = row_ensure(db, c->tbl, c->row);
	if (rv == OCOP_OK) {
		rv = merge_cells(db, pol, c, v);
	}
	sto_capture_resume(db);
	if (rv != OCOP_OK) {
		return rv;
	}
	if ((rv = change_log(db, c, v->hlc)) != OCOP_OK) {
		return rv;
	}
	/* A row that changed scope on a server goes whole to the sites that now
	 * see it, and the sites that saw it are told it left (move.c). */
	if (moves && scope_before[0] != 0) {
		char scope_after[64];
		if ((rv = sto_row_scope(db, c->tbl, c->row, scope_after, sizeof(scope_after))) != OCOP_OK) {
			return rv;
		}
		if (strcmp(scope_before, scope_after) != 0 &&
		    (rv = sto_move_relog(db, c->tbl, c->row, c->site, c->seq, scope_before)) != OCOP_OK) {
			return rv;
		}
	}
	v->outcome = STO_APPLIED;
	return OCOP_OK;
}

/* ===== Re-assertion after a rejection ===== */

/* The value the refused change gave column col (left NULL when it gave none). */
static void
reassert_refused_value(const uint8_t *cells, size_t len, const char *col, proto_value *out)
{
	proto_cells_it it;
	proto_cell cell;

	if (proto_cells_open(&it, cells, len, NULL) != OCOP_OK) {
		return;
	}
	while (proto_cells_next(&it, &cell) == OCOP_OK) {
		if (strcmp(cell.col, col) == 0) {
			*out = cell.v; /* bytes borrowed from cells, alive for the caller */
			return;
		}
	}
}

int
sto_reassert(sto_db *db, const char *tbl, const char *row, const uint8_t *cells, size_t len,
    uint64_t above, bool tombstone, const char *to_site)
{
	const sto_table *t = sto_schema_table(tbl);
	proto_cells_it it;
	proto_cell cell;
	const char *cols[STO_ROW_MAX + 1];
	int64_t aux[STO_ROW_MAX + 1];
	bool has_aux[STO_ROW_MAX + 1];
	bool has_status = false;
	bool has_epoch = false;
	int ncol = 0;
	uint64_t hlc = above + 1;
	uint64_t seq;
	com_buf buf;
	proto_wr w;
	int rv;
	int i;

	if (t == NULL || proto_cells_open(&it, cells, len, NULL) != OCOP_OK) {
		return OCOP_OK; /* nothing of it can stand anywhere */
	}
	/* Only the refused change's known columns, each once: a refused change
	 * may name anything, and re-asserting must never fail on it. */
	while (proto_cells_next(&it, &cell) == OCOP_OK) {
		const sto_column *col = sto_schema_column(t, cell.col);
		bool dup = false;
		for (i = 0; col != NULL && i < ncol; i++) {
			dup |= cols[i] == col->name;
		}
		if (col == NULL || dup || ncol >= STO_ROW_MAX) {
			continue;
		}
		has_status |= strcmp(col->name, "status") == 0 && strcmp(tbl, "dossier") == 0;
		has_epoch |= strcmp(col->name, "epoch") == 0;
		cols[ncol++] = col->name;
	}
	/* A status stands only with the epoch it was set in: re-assert both. */
	if (has_status && !has_epoch && ncol < STO_ROW_MAX) {
		cols[ncol++] = "epoch";
	}
	if (tombstone) {
		bool have_deleted = false;
		for (i = 0; i < ncol; i++) {
			have_deleted |= strcmp(cols[i], "deleted") == 0;
		}
		if (!have_deleted && ncol < STO_ROW_MAX) {
			cols[ncol++] = "deleted";
		}
	}
	if (ncol == 0) {
		return OCOP_OK;
	}
	sto_capture_suspend(db);
	rv = row_ensure(db, tbl, row);
	/* The new version must be above every current version of these cells. */
	for (i = 0; i < ncol && rv == OCOP_OK; i++) {
		uint64_t h;
		char site[37];
		bool have;
		aux[i] = 0;
		rv = clock_get(db, tbl, row, cols[i], &h, site, &aux[i], &have);
		has_aux[i] = have && strcmp(cols[i], "status") == 0;
		if (have && h >= hlc) {
			hlc = h + 1;
		}
	}
	if (hlc <= db->hlc.last) {
		hlc = db->hlc.last + 1;
	}
	db->hlc.last = hlc;
	if (rv == OCOP_OK) {
		rv = sto_capture_last_seq(db, &seq);
	}
	com_buf_init(&buf);
	proto_wr_init(&w, &buf);
	proto_cells_begin(&w, (uint32_t)ncol);
	for (i = 0; i < ncol && rv == OCOP_OK; i++) {
		cellval cur;
		uint64_t h = 0;
		int64_t a;
		char site[37];
		bool have;
		proto_value nv;

		if ((rv = clock_get(db, tbl, row, cols[i], &h, site, &a, &have)) != OCOP_OK ||
		    (rv = cell_get(db, tbl, row, cols[i], &cur)) != OCOP_OK) {
			break;
		}
		nv = cur.v;
		if (tombstone) {
			/* A refused row that never existed here: a tombstone that keeps
			 * only what places it (its parent), so it goes where the row
			 * would have gone and nowhere else. */
			memset(&nv, 0, sizeof(nv));
			if (strcmp(cols[i], "deleted") == 0) {
				nv.type = PROTO_V_INT;
				nv.i = 1;
			} else if ((t->parent_col != NULL && strcmp(cols[i], t->parent_col) == 0) ||
				   (t->ref_tbl_col != NULL && strcmp(cols[i], t->ref_tbl_col) == 0) ||
				   (t->ref_row_col != NULL && strcmp(cols[i], t->ref_row_col) == 0)) {
				reassert_refused_value(cells, len, cols[i], &nv);
			}
		}
		proto_cell_put(&w, cols[i], &nv, h);
		if ((rv = cell_set(db, tbl, row, cols[i], &nv)) == OCOP_OK) {
			/* A status keeps the epoch it was set in: the re-assertion
			 * repeats the server's state, it does not outrank later moves. */
			rv = clock_put(db, tbl, row, cols[i], hlc, db->site_id, has_aux[i] ? &aux[i] : NULL);
		}
		cellval_fini(&cur);
	}
	sto_capture_resume(db);
	if (rv == OCOP_OK && (rv = proto_wr_error(&w)) == OCOP_OK) {
		proto_change c;
		memset(&c, 0, sizeof(c));
		snprintf(c.site, sizeof(c.site), "%s", db->site_id);
		c.seq = seq + 1;
		snprintf(c.tbl, sizeof(c.tbl), "%s", tbl);
		snprintf(c.row, sizeof(c.row), "%s", row);
		snprintf(c.user, sizeof(c.user), "%s", "server");
		c.cells = buf.data;
		c.cells_len = buf.len;
		rv = change_log(db, &c, hlc);
	}
	if (rv == OCOP_OK && to_site != NULL) {
		sqlite3_stmt *st;
		if ((rv = sto_stmt(db, "UPDATE change SET to_site = ?3 WHERE site = ?1 AND seq = ?2", &st)) == OCOP_OK) {
			sqlite3_bind_text(st, 1, db->site_id, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)(seq + 1));
			sqlite3_bind_text(st, 3, to_site, -1, SQLITE_STATIC);
			rv = step_done(db, st);
		}
	}
	com_buf_fini(&buf);
	return rv;
}
