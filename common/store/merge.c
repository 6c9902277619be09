/*
 * merge.c: applying changes from elsewhere (see merge.h for the rules).
 *
 * A change is decoded once, judged once, and decided cell by cell in memory
 * against the row and its clock as stored (one SELECT); the winning cells and
 * the new clock are written with one statement (an INSERT for a row the change
 * creates), and the change is logged as it arrived, under its writer's site
 * and seq. Writes here suspend capture.
 */
#include "common/store/ledger.h"
#include "common/store/merge.h"

#include <stdio.h>
#include <string.h>

#include "common/store/apply.h"
#include "common/store/capture.h"
#include "common/store/clock.h"
#include "common/store/db.h"
#include "common/store/log.h"
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
		/* Static: every caller steps the statement while the value lives. */
		sqlite3_bind_text(st, i, v->p != NULL ? (const char *)v->p : "", (int)v->len, SQLITE_STATIC);
		break;
	case PROTO_V_BLOB:
		sqlite3_bind_blob(st, i, v->p != NULL ? (const void *)v->p : "", (int)v->len, SQLITE_STATIC);
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

void
sto_set_policy(sto_db *db, const sto_policy *pol)
{
	db->policy = pol;
}

/* One incoming change, decoded once. */
typedef struct merge_in {
	const proto_change *c;       /* the change */
	const sto_table *t;          /* its table */
	uint64_t set;                /* the columns it writes */
	proto_value v[STO_ROW_MAX];  /* their values (borrowed from c->cells) */
	uint64_t base[STO_ROW_MAX];  /* their base versions */
	int64_t epoch;               /* its epoch cell, 0 without one: the epoch a status it sets was set in */
	uint32_t site;               /* its writer's number here */
	uint64_t hlc;                /* the version it is stored with (clamped on a server) */
} merge_in;

/*
 * Structural checks, decoding the cells by column: a known table, known
 * columns, each cell once, every value of its column's kind and size.
 * Returns OCOP_OK or OCOP_ETYPE (reason written).
 */
static int
merge_decode(const proto_change *c, merge_in *in, char *reason, size_t cap)
{
	const sto_table *t = sto_schema_table(c->tbl);
	proto_cells_it it;
	proto_cell cell;
	int epoch;
	int rv;

	memset(in, 0, sizeof(*in));
	in->c = c;
	in->t = t;
	in->hlc = c->hlc;
	if (t == NULL) {
		snprintf(reason, cap, "unknown table '%s'", c->tbl);
		return OCOP_ETYPE;
	}
	if (t->ncols > STO_ROW_MAX || proto_cells_open(&it, c->cells, c->cells_len, NULL) != OCOP_OK) {
		snprintf(reason, cap, "malformed cells");
		return OCOP_ETYPE;
	}
	while ((rv = proto_cells_next(&it, &cell)) == OCOP_OK) {
		int i = sto_schema_col_index(t, cell.col);
		if (i < 0) {
			snprintf(reason, cap, "table %s has no column '%s'%s", c->tbl, cell.col,
			    strcmp(cell.col, "id") == 0 ? " (row ids never change)" : "");
			return OCOP_ETYPE;
		}
		if (in->set & ((uint64_t)1 << i)) {
			snprintf(reason, cap, "column '%s' set twice in one change", cell.col);
			return OCOP_ETYPE;
		}
		if (sto_schema_check(t, &t->cols[i], &cell.v, reason, cap) != OCOP_OK) {
			return OCOP_ETYPE;
		}
		in->set |= (uint64_t)1 << i;
		in->v[i] = cell.v;
		in->base[i] = cell.base_hlc;
	}
	if (rv != OCOP_ENOENT) {
		snprintf(reason, cap, "malformed cells");
		return OCOP_ETYPE;
	}
	epoch = sto_schema_col_index(t, "epoch");
	if (epoch >= 0 && (in->set & ((uint64_t)1 << epoch))) {
		in->epoch = pv_int(&in->v[epoch]);
	}
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

/* ===== Deciding cells ===== */

/*
 * Order an incoming status against the current one by (the epoch each was set
 * in, rank, version): a total order, so the winner does not depend on which
 * arrived first.
 */
static int
merge_status_cmp(sto_db *db, const sto_policy *pol, const merge_in *in, const sto_row *cur, const sto_clock *ck,
    size_t i, int *cmp, const char **rule)
{
	int64_t cur_aux = ck->has_aux ? ck->aux : 0;
	const proto_value *nv = &in->v[i];
	const proto_value *cv = &cur->v[i];
	char a[64];
	char b[64];

	*rule = "workflow";
	if (in->epoch != cur_aux) {
		*cmp = in->epoch > cur_aux ? 1 : -1;
		return OCOP_OK;
	}
	if (cv->type != PROTO_V_TEXT) {
		return sto_apply_version_cmp(db, in->hlc, in->site, ck->hlc[i], ck->site[i], cmp);
	}
	snprintf(a, sizeof(a), "%.*s", (int)nv->len, (const char *)nv->p);
	snprintf(b, sizeof(b), "%.*s", (int)cv->len, (const char *)cv->p);
	*cmp = pol && pol->status_cmp ? pol->status_cmp(pol->arg, db, in->c->row, a, b) : 0;
	if (*cmp == 0) {
		*rule = "lww";
		return sto_apply_version_cmp(db, in->hlc, in->site, ck->hlc[i], ck->site[i], cmp);
	}
	return OCOP_OK;
}

/*
 * Decide cell i: *cmp > 0 when the incoming value takes it, < 0 when the
 * current one stays (a conflict's loser), 0 when this very version holds it
 * already; the loser, if any, goes to the ledger.
 */
static int
merge_decide(sto_db *db, const sto_policy *pol, const merge_in *in, const sto_row *cur, const sto_clock *ck,
    size_t i, int status, int *cmp, sto_verdict *v)
{
	const proto_change *c = in->c;
	const char *col = in->t->cols[i].name;
	const char *rule = "lww";
	char cur_site[37];
	char reason[160];
	bool voided;
	int rv;

	*cmp = 1;
	if (!ck->have[i]) {
		return OCOP_OK;
	}
	if (ck->hlc[i] == in->hlc && ck->site[i] == in->site) {
		*cmp = 0; /* this very write already holds the cell */
		return OCOP_OK;
	}
	/* A cell whose write its server refused holds no version any more
	 * (site 0): whatever the server sends takes it, even a lower epoch or
	 * an undone tombstone, so the refused value converges away. */
	voided = ck->site[i] == 0;
	if (voided) {
		return OCOP_OK;
	}
	if (strcmp(col, "deleted") == 0 || strcmp(col, "epoch") == 0) {
		/* Grow-only registers: a tombstone is never undone by a late write,
		 * and an epoch never goes back. Ties fall to the version order. */
		int64_t a = pv_int(&in->v[i]);
		int64_t b = pv_int(&cur->v[i]);
		rule = strcmp(col, "deleted") == 0 ? "tombstone" : "workflow";
		if (a != b) {
			*cmp = a > b ? 1 : -1;
		} else if ((rv = sto_apply_version_cmp(db, in->hlc, in->site, ck->hlc[i], ck->site[i], cmp)) != OCOP_OK) {
			return rv;
		}
	} else if ((int)i == status && in->v[i].type == PROTO_V_TEXT) {
		if ((rv = merge_status_cmp(db, pol, in, cur, ck, i, cmp, &rule)) != OCOP_OK) {
			return rv;
		}
	} else if ((rv = sto_apply_version_cmp(db, in->hlc, in->site, ck->hlc[i], ck->site[i], cmp)) != OCOP_OK) {
		return rv;
	}
	if (*cmp == 0) {
		return OCOP_OK;
	}
	if ((rv = sto_sitenum_uuid(db, ck->site[i], cur_site)) != OCOP_OK) {
		return rv;
	}
	if (*cmp > 0) {
		/* The incoming value wins. The one it replaces is a conflict's loser
		 * unless the writer had seen it (a plain edit). */
		if (in->base[i] == ck->hlc[i]) {
			return OCOP_OK;
		}
		snprintf(reason, sizeof(reason), "concurrent edit; %s rule kept the %s write", rule,
		    strcmp(rule, "lww") == 0 ? "later" : "higher");
		rv = sto_ledger_put(db, c->tbl, c->row, col, rule, reason, &in->v[i], in->hlc, c->site, &cur->v[i],
		    ck->hlc[i], cur_site, 0);
	} else {
		snprintf(reason, sizeof(reason), "superseded: %s rule kept the %s value", rule,
		    strcmp(rule, "lww") == 0 ? "later" : strcmp(rule, "tombstone") == 0 ? "deleted" : "higher");
		rv = sto_ledger_put(db, c->tbl, c->row, col, rule, reason, &cur->v[i], ck->hlc[i], cur_site, &in->v[i],
		    in->hlc, c->site, c->seq);
	}
	if (rv == OCOP_OK) {
		v->conflicts++;
	}
	return rv;
}

/*
 * Decide every cell of the change in memory, then write the row once and log
 * the change: what it won is read from the row when it is sent, what it lost
 * is kept in its entry (log.h).
 */
static int
merge_write(sto_db *db, const sto_policy *pol, merge_in *in, const sto_row *cur, sto_verdict *v)
{
	const sto_table *t = in->t;
	int status = sto_schema_status_col(t);
	sto_clock ck;
	sto_logcells lc;
	uint64_t won = 0;
	size_t i;
	int cmp;
	int rv;

	if ((rv = sto_row_clock(db, cur, &ck)) != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < t->ncols; i++) {
		if (!(in->set & ((uint64_t)1 << i))) {
			continue;
		}
		if ((rv = merge_decide(db, pol, in, cur, &ck, i, status, &cmp, v)) != OCOP_OK) {
			return rv;
		}
		if (cmp > 0) {
			won |= (uint64_t)1 << i;
		}
	}
	memset(&lc, 0, sizeof(lc));
	for (i = 0; i < t->ncols; i++) {
		if (won & ((uint64_t)1 << i)) {
			/* The value it replaces stays readable for the change that wrote it. */
			if (ck.have[i] && ck.site[i] != 0) {
				lc.took |= (uint64_t)1 << i;
				lc.took_site[i] = ck.site[i];
				lc.took_hlc[i] = ck.hlc[i];
				lc.took_v[i] = cur->v[i];
			}
			ck.have[i] = true;
			ck.hlc[i] = in->hlc;
			ck.site[i] = in->site;
		}
	}
	/* A status remembers the epoch it was set in: the merge orders by it. */
	if (status >= 0 && (won & ((uint64_t)1 << status))) {
		ck.has_aux = true;
		ck.aux = in->epoch;
	}
	sto_capture_suspend(db);
	rv = sto_apply_row(db, cur, won, in->v, &ck, won != 0);
	sto_capture_resume(db);
	if (rv != OCOP_OK) {
		return rv;
	}
	lc.cols = in->set;
	lc.inrow = won;
	memcpy(lc.base, in->base, sizeof(lc.base));
	for (i = 0; i < t->ncols; i++) {
		if ((in->set & ~won) & ((uint64_t)1 << i)) {
			lc.v[i] = in->v[i];
		}
	}
	return sto_log_put(db, in->site, in->c->seq, t, in->c->row, in->hlc, &lc, in->c->user, NULL);
}

/* ===== The clamp echo ===== */

/* The ledger's value of entry id, copied into *out (bytes in *buf, caller frees with com_free). */
static int
merge_ledger_value(sto_db *db, int64_t id, proto_value *out, uint8_t **buf, uint64_t *hlc, char site[37])
{
	sqlite3_stmt *st;
	int rv = sto_stmt(db, "SELECT lost_value, lost_hlc, lost_site FROM ledger WHERE id = ?1", &st);
	int rc;

	memset(out, 0, sizeof(*out));
	*buf = NULL;
	*hlc = 0;
	site[0] = 0;
	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		int type = sqlite3_column_type(st, 0);
		*hlc = (uint64_t)sqlite3_column_int64(st, 1);
		snprintf(site, 37, "%s", sqlite3_column_type(st, 2) == SQLITE_TEXT ? (const char *)sqlite3_column_text(st, 2) : "");
		if (type == SQLITE_INTEGER) {
			out->type = PROTO_V_INT;
			out->i = sqlite3_column_int64(st, 0);
		} else if (type == SQLITE_FLOAT) {
			out->type = PROTO_V_REAL;
			out->d = sqlite3_column_double(st, 0);
		} else if (type == SQLITE_TEXT || type == SQLITE_BLOB) {
			out->type = type == SQLITE_TEXT ? PROTO_V_TEXT : PROTO_V_BLOB;
			out->len = (size_t)sqlite3_column_bytes(st, 0);
			if ((*buf = com_malloc(out->len + 1)) == NULL) {
				sqlite3_reset(st);
				return OCOP_ENOMEM;
			}
			if (out->len > 0) {
				memcpy(*buf, sqlite3_column_blob(st, 0), out->len);
			}
			out->p = *buf;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "ledger: %s", sqlite3_errmsg(db->db));
}

/*
 * A server that clamped one of this node's changes sends it back with the
 * HLC it stored. Adopt that version so every replica orders the cells alike:
 * lower the cells' clocks that this change still holds, then let any value
 * this node set aside in the ledger that now outranks it take the cell (it
 * won on the server too), recording this node's own value as the loser.
 */
static int
merge_clamp_echo(sto_db *db, const proto_change *c, uint32_t site_no, sto_verdict *v)
{
	const sto_table *t = sto_schema_table(c->tbl);
	merge_in in;
	sto_row cur;
	sto_clock ck;
	sqlite3_stmt *st;
	proto_value vals[STO_ROW_MAX];
	uint8_t *owned[STO_ROW_MAX];
	uint64_t stored = 0;
	uint64_t took = 0;
	bool found;
	char why[160];
	size_t i;
	int rv;

	if ((rv = sto_log_find(db, site_no, c->seq, &found, &stored)) != OCOP_OK) {
		return rv;
	}
	if (c->hlc >= stored || t == NULL) {
		return OCOP_OK; /* a plain resend */
	}
	v->clamped = true;
	if (merge_decode(c, &in, why, sizeof(why)) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	if ((rv = sto_row_load(db, t, c->row, &cur)) != OCOP_OK) {
		return rv;
	}
	memset(owned, 0, sizeof(owned));
	if ((rv = sto_row_clock(db, &cur, &ck)) != OCOP_OK) {
		goto done;
	}
	/* The log first: the entry's version is the one its cells are found by,
	 * so what later changes took from it comes into the entry before. */
	if ((rv = sto_log_settle(db, site_no, c->seq)) != OCOP_OK ||
	    (rv = sto_stmt(db, "UPDATE change SET hlc = ?3 WHERE site = ?1 AND seq = ?2", &st)) != OCOP_OK) {
		goto done;
	}
	sqlite3_bind_int64(st, 1, site_no);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->seq);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)c->hlc);
	if (sqlite3_step(st) != SQLITE_DONE) {
		rv = sto_seterr(db, OCOP_EDB, "log: %s", sqlite3_errmsg(db->db));
	}
	sqlite3_reset(st);
	for (i = 0; i < t->ncols && rv == OCOP_OK; i++) {
		sqlite3_int64 best = 0;
		uint64_t lost_hlc;
		uint32_t lost_no;
		char lost_site[37];

		if (!(in.set & ((uint64_t)1 << i)) || !ck.have[i] || ck.hlc[i] != stored || ck.site[i] != site_no) {
			continue; /* a later write holds the cell already */
		}
		ck.hlc[i] = c->hlc;
		if ((rv = sto_stmt(db,
			 "SELECT id FROM ledger WHERE tbl = ?1 AND row_id = ?2 AND col = ?3 AND rule = 'lww'"
			 " AND lost_site IS NOT NULL AND (lost_hlc > ?4 OR (lost_hlc = ?4 AND lost_site > ?5))"
			 " ORDER BY lost_hlc DESC, lost_site DESC LIMIT 1",
			 &st)) != OCOP_OK) {
			break;
		}
		sqlite3_bind_text(st, 1, c->tbl, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, c->row, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, t->cols[i].name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)c->hlc);
		sqlite3_bind_text(st, 5, c->site, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			best = sqlite3_column_int64(st, 0);
		}
		sqlite3_reset(st);
		if (best == 0) {
			continue;
		}
		/* The set-aside value outranks ours now: it takes the cell. */
		if ((rv = merge_ledger_value(db, best, &vals[i], &owned[i], &lost_hlc, lost_site)) != OCOP_OK ||
		    (rv = sto_sitenum_get(db, lost_site, true, &lost_no)) != OCOP_OK ||
		    (rv = sto_ledger_put(db, c->tbl, c->row, t->cols[i].name, "lww",
			 "superseded after the server clamped this site's clock", NULL, 0, NULL, &in.v[i], c->hlc, c->site,
			 c->seq)) != OCOP_OK ||
		    (rv = sto_stmt(db, "DELETE FROM ledger WHERE id = ?1", &st)) != OCOP_OK) {
			break;
		}
		sqlite3_bind_int64(st, 1, best);
		if (sqlite3_step(st) != SQLITE_DONE) {
			rv = sto_seterr(db, OCOP_EDB, "ledger: %s", sqlite3_errmsg(db->db));
		}
		sqlite3_reset(st);
		/* This node's change gives up the cell: its entry keeps its value. */
		if (rv == OCOP_OK && (rv = sto_log_keep(db, t, c->row, site_no, c->hlc, (uint64_t)1 << i, cur.v)) != OCOP_OK) {
			break;
		}
		ck.hlc[i] = lost_hlc;
		ck.site[i] = lost_no;
		if ((int)i == sto_schema_status_col(t)) {
			ck.has_aux = false;
		}
		took |= (uint64_t)1 << i;
	}
	if (rv == OCOP_OK) {
		sto_capture_suspend(db);
		rv = sto_apply_row(db, &cur, took, vals, &ck, true);
		sto_capture_resume(db);
	}
	if (rv == OCOP_OK) {
		rv = sto_ledger_put(db, c->tbl, c->row, NULL, "clock",
		    "this site's clock was ahead of the server's bound; its change was stored with the bound", NULL, c->hlc,
		    NULL, NULL, stored, c->site, c->seq);
	}
done:
	for (i = 0; i < STO_ROW_MAX; i++) {
		com_free(owned[i]);
	}
	sto_row_fini(&cur);
	return rv;
}

/* ===== Merge ===== */

/* Does c write the column that places its row (its unit, or the row it points at)? */
static bool
merge_moves(const merge_in *in)
{
	const sto_table *t = in->t;
	int cols[3];
	size_t k;

	cols[0] = t->unit_col ? sto_schema_col_index(t, t->unit_col) : -1;
	cols[1] = t->parent_col ? sto_schema_col_index(t, t->parent_col) : -1;
	cols[2] = t->ref_row_col ? sto_schema_col_index(t, t->ref_row_col) : -1;
	for (k = 0; k < 3; k++) {
		if (cols[k] >= 0 && (in->set & ((uint64_t)1 << cols[k]))) {
			return true;
		}
	}
	return false;
}

int
sto_merge_apply(sto_db *db, const sto_policy *pol, const sto_writer *w, const proto_change *c, bool clamp,
    sto_verdict *v)
{
	sto_row cur;
	merge_in in;
	char scope_before[64] = "";
	uint32_t site_no = 0;
	bool missing;
	bool known = false;
	bool moves;
	uint64_t seen;
	int rv;

	memset(v, 0, sizeof(*v));
	memset(&cur, 0, sizeof(cur));
	v->hlc = c->hlc;
	rv = sto_sitenum_get(db, c->site, false, &site_no);
	if (rv != OCOP_OK && rv != OCOP_ENOENT) {
		return rv;
	}
	if (site_no != 0 && (rv = sto_log_find(db, site_no, c->seq, &known, NULL)) != OCOP_OK) {
		return rv;
	}
	if (known) {
		v->outcome = STO_DUPLICATE;
		return merge_clamp_echo(db, c, site_no, v);
	}
	if ((rv = rejection_known(db, c, v, &known)) != OCOP_OK || known) {
		return rv;
	}
	v->code = merge_decode(c, &in, v->reason, sizeof(v->reason));
	if (v->code != OCOP_OK) {
		v->outcome = STO_REJECTED;
		return merge_reject(db, c, v->code, v->reason);
	}
	/* The row as stored, read once: the authority judges it, the cells are
	 * decided against it and its clock, and a move's old scope comes from it. */
	if ((rv = sto_row_load(db, in.t, c->row, &cur)) != OCOP_OK) {
		return rv;
	}
	if (w != NULL && pol != NULL && pol->authorize != NULL) {
		sto_judge_begin(db);
		/* Between statements: what this judgement reads may be kept for the
		 * next ones of the transaction (row.c). */
		sto_judge_fill(db, true);
		v->code = pol->authorize(pol->arg, db, w, &cur, c, v->reason, sizeof(v->reason));
		sto_judge_end(db);
		if (v->code != OCOP_OK) {
			sto_row_fini(&cur);
			v->outcome = STO_REJECTED;
			return merge_reject(db, c, v->code, v->reason);
		}
	}
	moves = db->serving && merge_moves(&in);
	if (moves && cur.exists &&
	    (rv = sto_row_scope_after(db, &cur, NULL, scope_before, sizeof(scope_before), &missing)) != OCOP_OK) {
		goto done;
	}
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
				goto done;
			}
		}
	}
	/* Move our clock past what we have seen (never backwards, never beyond the bound). */
	if (com_hlc_update(&db->hlc, v->hlc, &seen) != OCOP_OK && v->hlc > db->hlc.last) {
		db->hlc.last = v->hlc;
	}
	in.hlc = v->hlc;
	if ((rv = sto_sitenum_get(db, c->site, true, &in.site)) != OCOP_OK ||
	    (rv = merge_write(db, pol, &in, &cur, v)) != OCOP_OK) {
		goto done;
	}
	/* A row that changed scope on a server goes whole to the sites that now
	 * see it, and the sites that saw it are told it left (move.c). */
	if (moves && scope_before[0] != 0) {
		char scope_after[64];
		if ((rv = sto_row_scope(db, c->tbl, c->row, scope_after, sizeof(scope_after))) != OCOP_OK) {
			goto done;
		}
		if (strcmp(scope_before, scope_after) != 0 &&
		    (rv = sto_move_relog(db, c->tbl, c->row, c->site, c->seq, scope_before)) != OCOP_OK) {
			goto done;
		}
	}
	v->outcome = STO_APPLIED;
done:
	sto_row_fini(&cur);
	return rv;
}
