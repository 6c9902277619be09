/*
 * capture.c: the ocop_capture() SQL function and the triggers that call it.
 */
#include "common/store/capture.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/store/db.h"
#include "common/store/merge.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/change.h"
#include "protocol/wire.h"

#define CAPTURE_MAX_CELLS 64

/* ===== Triggers ===== */

int
sto_capture_triggers_sql(com_buf *b)
{
	size_t n;
	size_t i;
	size_t k;
	const sto_table *t = sto_schema_tables(&n);
	int rv = OCOP_OK;
	int pass;

	for (i = 0; i < n && rv == OCOP_OK; i++) {
		const char *tn = t[i].name;

		rv = com_buf_printf(b,
		    "DROP TRIGGER IF EXISTS %s_capture_insert;"
		    "DROP TRIGGER IF EXISTS %s_capture_update;"
		    "DROP TRIGGER IF EXISTS %s_no_delete;"
		    "DROP TRIGGER IF EXISTS %s_fixed_id;"
		    "CREATE TRIGGER %s_no_delete BEFORE DELETE ON %s BEGIN"
		    " SELECT RAISE(ABORT, 'replicated rows are never deleted: set deleted = 1');"
		    " END;"
		    "CREATE TRIGGER %s_fixed_id BEFORE UPDATE OF id ON %s BEGIN"
		    " SELECT RAISE(ABORT, 'row ids never change'); END;",
		    tn, tn, tn, tn, tn, tn, tn, tn);
		/* Grow-only cells: every replica merges them by maximum, so a local
		 * write that lowers one would never converge. Refuse it here. */
		for (k = 0; k < t[i].ncols && rv == OCOP_OK; k++) {
			const char *c = t[i].cols[k].name;
			if (strcmp(c, "deleted") == 0 || strcmp(c, "epoch") == 0) {
				rv = com_buf_printf(b,
				    "DROP TRIGGER IF EXISTS %s_grow_%s;"
				    "CREATE TRIGGER %s_grow_%s BEFORE UPDATE OF %s ON %s"
				    " WHEN ocop_applying() = 0 AND COALESCE(NEW.%s, 0) < COALESCE(OLD.%s, 0) BEGIN"
				    " SELECT RAISE(ABORT, '%s never decreases (%s)'); END;",
				    tn, c, tn, c, c, tn, c, c, c,
				    strcmp(c, "deleted") == 0 ? "a deleted row stays deleted"
							      : "a reopen bumps the epoch");
			}
		}
		for (pass = 0; pass < 2 && rv == OCOP_OK; pass++) {
			/* The WHEN clause spares the merge's own writes the cost of
			 * evaluating every argument; a foreign connection fails on
			 * it as loudly as on the call itself. */
			rv = com_buf_printf(b,
			    "CREATE TRIGGER %s_capture_%s AFTER %s ON %s WHEN ocop_applying() = 0 BEGIN"
			    " SELECT ocop_capture('%s', NEW.id, %d",
			    tn, pass ? "update" : "insert", pass ? "UPDATE" : "INSERT", tn, tn, pass);
			for (k = 0; k < t[i].ncols && rv == OCOP_OK; k++) {
				const char *c = t[i].cols[k].name;
				if (pass) {
					rv = com_buf_printf(b, ", '%s', NEW.%s, OLD.%s", c, c, c);
				} else {
					rv = com_buf_printf(b, ", '%s', NEW.%s, NULL", c, c);
				}
			}
			if (rv == OCOP_OK) {
				rv = com_buf_puts(b, "); END;");
			}
		}
	}
	return rv;
}

/* ===== The capture function ===== */

/* Same type and same bytes: SQLite's IS, without its numeric cross-type equality. */
static int
capture_same(sqlite3_value *a, sqlite3_value *b)
{
	int ta = sqlite3_value_type(a);
	int n;

	if (ta != sqlite3_value_type(b)) {
		return 0;
	}
	switch (ta) {
	case SQLITE_NULL:
		return 1;
	case SQLITE_INTEGER:
		return sqlite3_value_int64(a) == sqlite3_value_int64(b);
	case SQLITE_FLOAT:
		return sqlite3_value_double(a) == sqlite3_value_double(b);
	default:
		n = sqlite3_value_bytes(a);
		return n == sqlite3_value_bytes(b) &&
		    memcmp(sqlite3_value_blob(a), sqlite3_value_blob(b), (size_t)n) == 0;
	}
}

/* View an SQLite value as a protocol value (bytes borrowed from the value). */
static void
capture_value(sqlite3_value *v, proto_value *out)
{
	memset(out, 0, sizeof(*out));
	switch (sqlite3_value_type(v)) {
	case SQLITE_INTEGER:
		out->type = PROTO_V_INT;
		out->i = sqlite3_value_int64(v);
		break;
	case SQLITE_FLOAT:
		out->type = PROTO_V_REAL;
		out->d = sqlite3_value_double(v);
		break;
	case SQLITE_TEXT:
		out->type = PROTO_V_TEXT;
		out->p = sqlite3_value_text(v);
		out->len = (size_t)sqlite3_value_bytes(v);
		break;
	case SQLITE_BLOB:
		out->type = PROTO_V_BLOB;
		out->p = sqlite3_value_blob(v);
		out->len = (size_t)sqlite3_value_bytes(v);
		break;
	default:
		out->type = PROTO_V_NULL;
		break;
	}
}

static int
capture_step_done(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
}

static int capture_prepare(sto_db *db);

int
sto_capture_last_seq(sto_db *db, uint64_t *seq)
{
	sqlite3_stmt *st;
	int rc;

	if (db->st.seq_max == NULL && capture_prepare(db) != OCOP_OK) {
		return OCOP_EDB;
	}
	st = db->st.seq_max;

	sqlite3_bind_text(st, 1, db->site_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*seq = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? OCOP_OK : OCOP_EDB;
}

/*
 * A status is only meaningful with the epoch it was set in (the merge orders
 * statuses by epoch, then rank), so a captured status always carries the row's
 * epoch, changed or not.
 */
static void
capture_companions(int argc, sqlite3_value **argv, int *idx, int *ncell)
{
	int has_status = 0;
	int has_epoch = 0;
	int epoch_at = -1;
	int i;
	int k;

	for (k = 0; k < *ncell; k++) {
		const char *c = (const char *)sqlite3_value_text(argv[idx[k]]);
		has_status |= c && strcmp(c, "status") == 0;
		has_epoch |= c && strcmp(c, "epoch") == 0;
	}
	if (!has_status || has_epoch) {
		return;
	}
	for (i = 3; i < argc; i += 3) {
		const char *c = (const char *)sqlite3_value_text(argv[i]);
		if (c && strcmp(c, "epoch") == 0) {
			epoch_at = i;
		}
	}
	if (epoch_at >= 0 && *ncell < CAPTURE_MAX_CELLS) {
		idx[(*ncell)++] = epoch_at;
	}
}

/* The new epoch value among the arguments, or 0. */
static sqlite3_int64
capture_epoch(int argc, sqlite3_value **argv)
{
	int i;

	for (i = 3; i < argc; i += 3) {
		const char *c = (const char *)sqlite3_value_text(argv[i]);
		if (c && strcmp(c, "epoch") == 0) {
			return sqlite3_value_int64(argv[i + 1]);
		}
	}
	return 0;
}

/*
 * A local status write must obey the order every replica merges by: in the
 * same epoch a status may not move to a lower rank (it would win here and lose
 * everywhere else). Only checked for a policy with a rank order and no authority
 * callback: the OCOP policy checks each move as a transition of its workflow.
 */
static int
capture_status_ok(sto_db *db, const char *row, int argc, sqlite3_value **argv)
{
	const char *nv = NULL;
	const char *ov = NULL;
	sqlite3_int64 ne = 0;
	sqlite3_int64 oe = 0;
	int i;

	if (db->policy == NULL || db->policy->status_cmp == NULL) {
		return 1;
	}
	for (i = 3; i < argc; i += 3) {
		const char *c = (const char *)sqlite3_value_text(argv[i]);
		if (c && strcmp(c, "status") == 0) {
			nv = (const char *)sqlite3_value_text(argv[i + 1]);
			ov = (const char *)sqlite3_value_text(argv[i + 2]);
		} else if (c && strcmp(c, "epoch") == 0) {
			ne = sqlite3_value_int64(argv[i + 1]);
			oe = sqlite3_value_int64(argv[i + 2]);
		}
	}
	if (nv == NULL || ov == NULL || ne > oe) {
		return 1;
	}
	return db->policy->status_cmp(db->policy->arg, db, row, nv, ov) >= 0;
}

/*
 * Judge a local write as the server will judge it (DESIGN.md 4 rule 1): the
 * values against their columns' kinds and sizes, then the policy's authority
 * with this node as the writer, against the row as it was (OLD). A laptop
 * thus refuses at once what its server would refuse later. On refusal the
 * reason is written to reason.
 */
static int
capture_judge(sto_db *db, const sto_row *before, const char *row, const uint8_t *cells, size_t cells_len,
    uint64_t hlc, char *reason, size_t cap)
{
	const sto_table *t = before->t;
	sto_writer w;
	proto_change c;
	proto_cells_it it;
	proto_cell cell;
	int rv;

	if (proto_cells_open(&it, cells, cells_len, NULL) != OCOP_OK) {
		snprintf(reason, cap, "malformed cells");
		return OCOP_EINTERNAL;
	}
	while (proto_cells_next(&it, &cell) == OCOP_OK) {
		const sto_column *col = sto_schema_column(t, cell.col);
		if (col != NULL && (rv = sto_schema_check(t, col, &cell.v, reason, cap)) != OCOP_OK) {
			return rv;
		}
	}
	if (db->policy == NULL || db->policy->authorize == NULL) {
		return OCOP_OK;
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.site, sizeof(c.site), "%s", db->site_id);
	snprintf(c.tbl, sizeof(c.tbl), "%s", t->name);
	snprintf(c.row, sizeof(c.row), "%s", row);
	c.hlc = hlc;
	c.cells = cells;
	c.cells_len = cells_len;
	w.site = db->site_id;
	w.role = db->role;
	w.scope = db->scope;
	return db->policy->authorize(db->policy->arg, db, &w, before, &c, reason, cap);
}

/* The row as it was before this write (OLD), values borrowed from the arguments. */
static void
capture_before(const sto_table *t, int op, int argc, sqlite3_value **argv, sto_row *before)
{
	int i;

	memset(before, 0, sizeof(*before));
	before->t = t;
	before->exists = op == 1;
	for (i = 3; op == 1 && i < argc; i += 3) {
		const sto_column *col = sto_schema_column(t, (const char *)sqlite3_value_text(argv[i]));
		if (col != NULL) {
			capture_value(argv[i + 2], &before->v[col - t->cols]);
		}
	}
}

/*
 * On a server, a write here that places a row in another unit moves its
 * subtree's log too, exactly as a merged move does (move.c).
 */
static int
capture_moved(sto_db *db, const sto_row *before, const char *row, int ncell, const int *idx,
    sqlite3_value **argv, uint64_t seq)
{
	const sto_table *t = before->t;
	char from[64];
	char to[64];
	bool missing;
	bool places = false;
	int k;
	int rv;

	for (k = 0; k < ncell; k++) {
		const char *c = (const char *)sqlite3_value_text(argv[idx[k]]);
		places |= c != NULL && ((t->unit_col && strcmp(c, t->unit_col) == 0) ||
					   (t->parent_col && strcmp(c, t->parent_col) == 0) ||
					   (t->ref_row_col && strcmp(c, t->ref_row_col) == 0));
	}
	if (!places || !before->exists) {
		return OCOP_OK;
	}
	if ((rv = sto_row_scope_after(db, before, NULL, from, sizeof(from), &missing)) != OCOP_OK ||
	    (rv = sto_row_scope(db, t->name, row, to, sizeof(to))) != OCOP_OK) {
		return rv;
	}
	if (from[0] == 0 || strcmp(from, to) == 0) {
		return OCOP_OK;
	}
	return sto_move_relog(db, t->name, row, db->site_id, seq, from);
}

/*
 * ocop_capture(table, id, op, col1, new1, old1, col2, new2, old2, ...)
 * op 0 = insert (every non-NULL column is captured), 1 = update (only the
 * columns whose value changed). Fails the statement on any error, so the
 * write and its capture commit or roll back together.
 */
static void
capture_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	sto_db *db = sqlite3_user_data(ctx);
	const sto_table *t;
	sto_row before;
	const char *tbl;
	const char *row;
	char reason[512];
	int op;
	int idx[CAPTURE_MAX_CELLS];
	uint64_t base[CAPTURE_MAX_CELLS] = {0};
	int ncell = 0;
	uint64_t max_base = 0;
	uint64_t hlc;
	uint64_t seq;
	proto_wr w;
	proto_value v;
	int i;
	int k;

	if (db->applying > 0) {
		return;
	}
	if (db->site_id[0] == 0) {
		sqlite3_result_error(ctx, "this replica has no site identity yet: run 'ocop init'", -1);
		return;
	}
	if (argc < 3 || (argc - 3) % 3 != 0 || (argc - 3) / 3 > CAPTURE_MAX_CELLS) {
		sqlite3_result_error(ctx, "ocop_capture: bad arguments", -1);
		return;
	}
	tbl = (const char *)sqlite3_value_text(argv[0]);
	row = (const char *)sqlite3_value_text(argv[1]);
	op = sqlite3_value_int(argv[2]);
	if (tbl == NULL || row == NULL) {
		sqlite3_result_error(ctx, "ocop_capture: a replicated row needs an id", -1);
		return;
	}
	for (i = 3; i < argc; i += 3) {
		int keep = op == 0 ? sqlite3_value_type(argv[i + 1]) != SQLITE_NULL
				   : !capture_same(argv[i + 1], argv[i + 2]);
		if (keep) {
			idx[ncell++] = i;
		}
	}
	if (ncell == 0) {
		return;
	}
	capture_companions(argc, argv, idx, &ncell);
	if ((t = sto_schema_table(tbl)) == NULL) {
		sqlite3_result_error(ctx, "ocop_capture: not a replicated table", -1);
		return;
	}
	if (op == 1 && db->policy != NULL && db->policy->authorize == NULL &&
	    !capture_status_ok(db, row, argc, argv)) {
		sqlite3_result_error(ctx,
		    "a dossier's status moves back only by a reopen, which bumps its epoch", -1);
		return;
	}

	/* The base version of every cell, and an HLC newer than all of them, so
	 * this write supersedes what its writer saw on every replica. */
	for (k = 0; k < ncell && op == 1; k++) {
		/* An inserted row is new (an existing id fails before this AFTER
		 * trigger runs) and rows are never removed, so it has no versions:
		 * only an update looks them up. */
		sqlite3_stmt *st = db->st.clock_get;
		sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, row, -1, SQLITE_STATIC);
		sqlite3_bind_value(st, 3, argv[idx[k]]);
		base[k] = sqlite3_step(st) == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
		sqlite3_reset(st);
		if (base[k] > max_base) {
			max_base = base[k];
		}
	}
	if (com_hlc_now(&db->hlc, &hlc) != OCOP_OK) {
		sqlite3_result_error(ctx, "clock exhausted", -1);
		return;
	}
	if (hlc <= max_base) {
		hlc = max_base + 1; /* a full counter carries into the milliseconds */
		db->hlc.last = hlc;
	}
	if (sto_capture_last_seq(db, &seq) != OCOP_OK) {
		sqlite3_result_error(ctx, sqlite3_errmsg(db->db), -1);
		return;
	}
	seq++;

	com_buf_reset(&db->cells);
	proto_wr_init(&w, &db->cells);
	proto_cells_begin(&w, (uint32_t)ncell);
	for (k = 0; k < ncell; k++) {
		capture_value(argv[idx[k] + 1], &v);
		proto_cell_put(&w, (const char *)sqlite3_value_text(argv[idx[k]]), &v, base[k]);
	}
	if (proto_wr_error(&w) != OCOP_OK) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	capture_before(t, op, argc, argv, &before);
	if (capture_judge(db, &before, row, db->cells.data, db->cells.len, hlc, reason, sizeof(reason)) != OCOP_OK) {
		sqlite3_result_error(ctx, reason, -1);
		return;
	}

	sqlite3_bind_text(db->st.change_put, 1, db->site_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(db->st.change_put, 2, (sqlite3_int64)seq);
	sqlite3_bind_text(db->st.change_put, 3, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(db->st.change_put, 4, row, -1, SQLITE_STATIC);
	sqlite3_bind_int64(db->st.change_put, 5, (sqlite3_int64)hlc);
	sqlite3_bind_text(db->st.change_put, 6, db->user, -1, SQLITE_STATIC);
	sqlite3_bind_blob(db->st.change_put, 7, db->cells.data, (int)db->cells.len, SQLITE_STATIC);
	if (capture_step_done(db->st.change_put) != OCOP_OK) {
		sqlite3_result_error(ctx, sqlite3_errmsg(db->db), -1);
		return;
	}
	for (k = 0; k < ncell; k++) {
		sqlite3_stmt *st = db->st.clock_put;
		const char *c = (const char *)sqlite3_value_text(argv[idx[k]]);
		sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, row, -1, SQLITE_STATIC);
		sqlite3_bind_value(st, 3, argv[idx[k]]);
		sqlite3_bind_int64(st, 4, (sqlite3_int64)hlc);
		sqlite3_bind_text(st, 5, db->site_id, -1, SQLITE_STATIC);
		/* A status remembers the epoch it was set in: the merge orders by it. */
		if (c != NULL && strcmp(c, "status") == 0) {
			sqlite3_bind_int64(st, 6, capture_epoch(argc, argv));
		} else {
			sqlite3_bind_null(st, 6);
		}
		if (capture_step_done(st) != OCOP_OK) {
			sqlite3_result_error(ctx, sqlite3_errmsg(db->db), -1);
			return;
		}
	}
	if (db->serving && op == 1 && capture_moved(db, &before, row, ncell, idx, argv, seq) != OCOP_OK) {
		sqlite3_result_error(ctx, db->errmsg, -1);
		return;
	}
}

/* ===== Setup ===== */

void
sto_capture_suspend(sto_db *db)
{
	db->applying++;
}

void
sto_capture_resume(sto_db *db)
{
	if (db->applying > 0) {
		db->applying--;
	}
}

/* Prepare the hot-path statements once the tables exist (after migration). */
static int
capture_prepare(sto_db *db)
{
	static const struct {
		size_t off;
		const char *sql;
	} defs[] = {
	    {offsetof(sto_stmts, clock_get),
		"SELECT hlc, site FROM clock WHERE tbl = ?1 AND row_id = ?2 AND col = ?3"},
	    {offsetof(sto_stmts, clock_put),
		"INSERT OR REPLACE INTO clock (tbl, row_id, col, hlc, site, aux) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"},
	    {offsetof(sto_stmts, change_put),
		"INSERT INTO change (site, seq, tbl, row_id, hlc, user, cells)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"},
	    {offsetof(sto_stmts, seq_max), "SELECT COALESCE(MAX(seq), 0) FROM change WHERE site = ?1"},
	};
	size_t i;

	for (i = 0; i < sizeof(defs) / sizeof(defs[0]); i++) {
		sqlite3_stmt **slot = (sqlite3_stmt **)(void *)((char *)&db->st + defs[i].off);
		if (*slot == NULL &&
		    sqlite3_prepare_v3(db->db, defs[i].sql, -1, SQLITE_PREPARE_PERSISTENT, slot,
			NULL) != SQLITE_OK) {
			return sto_seterr(db, OCOP_EDB, "prepare: %s", sqlite3_errmsg(db->db));
		}
	}
	return OCOP_OK;
}

/*
 * The statements are prepared lazily on the first capture call so that
 * registration can happen before the migration creates the tables.
 */
static void
capture_entry(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	sto_db *db = sqlite3_user_data(ctx);

	if (db->st.change_put == NULL && capture_prepare(db) != OCOP_OK) {
		sqlite3_result_error(ctx, db->errmsg, -1);
		return;
	}
	capture_sql(ctx, argc, argv);
}

/* ocop_applying(): 1 while the merge writes (capture steps aside), else 0. */
static void
capture_applying(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	sto_db *db = sqlite3_user_data(ctx);

	(void)argc;
	(void)argv;
	sqlite3_result_int(ctx, db->applying > 0);
}

int
sto_capture_init(sto_db *db)
{
	int rc = sqlite3_create_function(db->db, "ocop_capture", -1, SQLITE_UTF8,
	    db, capture_entry, NULL, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_create_function(db->db, "ocop_applying", 0, SQLITE_UTF8, db,
		    capture_applying, NULL, NULL);
	}
	return rc == SQLITE_OK ? OCOP_OK : sto_seterr(db, OCOP_EDB, "register capture");
}

void
sto_capture_fini(sto_db *db)
{
	sqlite3_finalize(db->st.clock_get);
	sqlite3_finalize(db->st.clock_put);
	sqlite3_finalize(db->st.change_put);
	sqlite3_finalize(db->st.seq_max);
	memset(&db->st, 0, sizeof(db->st));
}
