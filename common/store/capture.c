/*
 * capture.c: the ocop_capture() SQL function and the triggers that call it.
 *
 * An insert is captured as one log entry naming the columns it set (their
 * values stay in the row, and the row's clock stays NULL: the entry's version
 * is every cell's, clock.h). An update is captured as one log entry, and the
 * trigger writes the row's new clock with the value ocop_capture() returns;
 * a value the update takes from an earlier change of this site (or, on a
 * server, of anyone) is first kept in that change's entry (log.h).
 */
#include "common/store/capture.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/store/apply.h"
#include "common/store/clock.h"
#include "common/store/db.h"
#include "common/store/log.h"
#include "common/store/merge.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/change.h"
#include "protocol/wire.h"

#define CAPTURE_ARGS 4 /* table index, id, op, the row's clock; then the columns */

/* ===== Triggers ===== */

static const char *const capture_trigger_names[] = {
    "capture_insert", "capture_update", "no_delete", "fixed_id", "clock_guard", "grow_deleted", "grow_epoch",
};

int
sto_capture_triggers_drop_sql(com_buf *b)
{
	size_t n;
	size_t i;
	size_t k;
	const sto_table *t = sto_schema_tables(&n);
	int rv = OCOP_OK;

	for (i = 0; i < n && rv == OCOP_OK; i++) {
		for (k = 0; k < sizeof(capture_trigger_names) / sizeof(capture_trigger_names[0]) && rv == OCOP_OK; k++) {
			rv = com_buf_printf(b, "DROP TRIGGER IF EXISTS %s_%s;", t[i].name, capture_trigger_names[k]);
		}
	}
	return rv;
}

int
sto_capture_triggers_sql(com_buf *b)
{
	size_t n;
	size_t i;
	size_t k;
	const sto_table *t = sto_schema_tables(&n);
	int rv = sto_capture_triggers_drop_sql(b);

	for (i = 0; i < n && rv == OCOP_OK; i++) {
		const char *tn = t[i].name;

		rv = com_buf_printf(b,
		    "CREATE TRIGGER %s_no_delete BEFORE DELETE ON %s BEGIN"
		    " SELECT RAISE(ABORT, 'replicated rows are never deleted: set deleted = 1');"
		    " END;"
		    "CREATE TRIGGER %s_fixed_id BEFORE UPDATE OF id ON %s BEGIN"
		    " SELECT RAISE(ABORT, 'row ids never change'); END;"
		    /* The clock is written by the merge and by the capture trigger
		     * only; a connection without our functions fails on it like on
		     * any other write. */
		    "CREATE TRIGGER %s_clock_guard BEFORE UPDATE OF ocop_clock ON %s WHEN ocop_applying() < 0 BEGIN"
		    " SELECT RAISE(ABORT, 'ocop_clock belongs to the replica'); END;",
		    tn, tn, tn, tn, tn, tn);
		/* Grow-only cells: every replica merges them by maximum, so a local
		 * write that lowers one would never converge. Refuse it here. */
		for (k = 0; k < t[i].ncols && rv == OCOP_OK; k++) {
			const char *c = t[i].cols[k].name;
			if (strcmp(c, "deleted") == 0 || strcmp(c, "epoch") == 0) {
				rv = com_buf_printf(b,
				    "CREATE TRIGGER %s_grow_%s BEFORE UPDATE OF %s ON %s"
				    " WHEN ocop_applying() = 0 AND COALESCE(NEW.%s, 0) < COALESCE(OLD.%s, 0) BEGIN"
				    " SELECT RAISE(ABORT, '%s never decreases (%s)'); END;",
				    tn, c, c, tn, c, c, c,
				    strcmp(c, "deleted") == 0 ? "a deleted row stays deleted" : "a reopen bumps the epoch");
			}
		}
		/* The WHEN clause spares the merge's own writes the cost of
		 * evaluating every argument; a foreign connection fails on it as
		 * loudly as on the call itself. Columns go by position. */
		if (rv == OCOP_OK) {
			rv = com_buf_printf(b,
			    "CREATE TRIGGER %s_capture_insert AFTER INSERT ON %s WHEN ocop_applying() = 0 BEGIN"
			    " SELECT ocop_capture(%zu, NEW.id, 0, NEW.ocop_clock",
			    tn, tn, i);
		}
		for (k = 0; k < t[i].ncols && rv == OCOP_OK; k++) {
			rv = com_buf_printf(b, ", NEW.%s", t[i].cols[k].name);
		}
		rv = rv == OCOP_OK ? com_buf_puts(b, "); END;") : rv;
		/* Only an update of a replicated column is captured: the trigger's
		 * own write of the clock does not fire it again. */
		if (rv == OCOP_OK) {
			rv = com_buf_printf(b, "CREATE TRIGGER %s_capture_update AFTER UPDATE OF", tn);
		}
		for (k = 0; k < t[i].ncols && rv == OCOP_OK; k++) {
			rv = com_buf_printf(b, "%s %s", k ? "," : "", t[i].cols[k].name);
		}
		if (rv == OCOP_OK) {
			rv = com_buf_printf(b,
			    " ON %s WHEN ocop_applying() = 0 BEGIN UPDATE %s SET ocop_clock ="
			    " ocop_capture(%zu, NEW.id, 1, OLD.ocop_clock",
			    tn, tn, i);
		}
		for (k = 0; k < t[i].ncols && rv == OCOP_OK; k++) {
			rv = com_buf_printf(b, ", NEW.%s, OLD.%s", t[i].cols[k].name, t[i].cols[k].name);
		}
		rv = rv == OCOP_OK ? com_buf_puts(b, ") WHERE rowid = NEW.rowid; END;") : rv;
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
		    (n == 0 || memcmp(sqlite3_value_blob(a), sqlite3_value_blob(b), (size_t)n) == 0);
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

/* One captured write, its arguments laid out by column. */
typedef struct capture_case {
	sto_db *db;                      /* the replica */
	const sto_table *t;              /* its table */
	const char *row;                 /* the row's id */
	int op;                          /* 0 insert, 1 update */
	proto_value nv[STO_ROW_MAX];     /* the row after (borrowed from the arguments) */
	sto_row before;                  /* the row before (OLD; exists for an update) */
	uint64_t mask;                   /* the columns this change writes */
	uint64_t base[STO_ROW_MAX];      /* their base versions */
	sto_clock clock;                 /* the row's versions before (update) */
} capture_case;

int
sto_capture_last_seq(sto_db *db, uint64_t *seq)
{
	sqlite3_stmt *st;
	int rv = sto_stmt(db, "SELECT COALESCE(MAX(seq), 0) FROM change WHERE site = ?1", &st);
	int rc;

	*seq = 0;
	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_int64(st, 1, db->site_no);
	rc = sqlite3_step(st);
	*seq = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? OCOP_OK : OCOP_EDB;
}

/*
 * A local status write must obey the order every replica merges by: in the
 * same epoch a status may not move to a lower rank (it would win here and lose
 * everywhere else). Only checked for a policy with a rank order and no authority
 * callback: the OCOP policy checks each move as a transition of its workflow.
 */
static int
capture_status_ok(capture_case *k)
{
	sto_db *db = k->db;
	int status = sto_schema_status_col(k->t);
	int epoch = sto_schema_col_index(k->t, "epoch");
	char nv[64];
	char ov[64];
	const proto_value *n;
	const proto_value *o;
	int64_t ne;
	int64_t oe;

	if (db->policy == NULL || db->policy->status_cmp == NULL || status < 0 || !(k->mask & ((uint64_t)1 << status))) {
		return 1;
	}
	n = &k->nv[status];
	o = &k->before.v[status];
	if (n->type != PROTO_V_TEXT || o->type != PROTO_V_TEXT) {
		return 1;
	}
	ne = epoch >= 0 && k->nv[epoch].type == PROTO_V_INT ? k->nv[epoch].i : 0;
	oe = epoch >= 0 && k->before.v[epoch].type == PROTO_V_INT ? k->before.v[epoch].i : 0;
	if (ne > oe) {
		return 1;
	}
	snprintf(nv, sizeof(nv), "%.*s", (int)n->len, (const char *)n->p);
	snprintf(ov, sizeof(ov), "%.*s", (int)o->len, (const char *)o->p);
	return db->policy->status_cmp(db->policy->arg, db, k->row, nv, ov) >= 0;
}

/*
 * Judge a local write as the server will judge it (DESIGN.md 4 rule 1): the
 * values against their columns' kinds and sizes, then the policy's authority
 * with this node as the writer, against the row as it was (OLD). A laptop
 * thus refuses at once what its server would refuse later. On refusal the
 * reason is written to reason.
 */
static int
capture_judge(capture_case *k, uint64_t hlc, char *reason, size_t cap)
{
	sto_db *db = k->db;
	const sto_table *t = k->t;
	sto_writer w;
	proto_change c;
	proto_wr wr;
	uint32_t n = 0;
	size_t i;
	int rv;

	for (i = 0; i < t->ncols; i++) {
		if ((k->mask & ((uint64_t)1 << i)) && (rv = sto_schema_check(t, &t->cols[i], &k->nv[i], reason, cap)) != OCOP_OK) {
			return rv;
		}
	}
	if (db->policy == NULL || db->policy->authorize == NULL) {
		return OCOP_OK;
	}
	/* The policy judges the change as it would travel: its cells encoded. */
	com_buf_reset(&db->cells);
	proto_wr_init(&wr, &db->cells);
	for (i = 0; i < t->ncols; i++) {
		n += (uint32_t)((k->mask >> i) & 1);
	}
	proto_cells_begin(&wr, n);
	for (i = 0; i < t->ncols; i++) {
		if (k->mask & ((uint64_t)1 << i)) {
			proto_cell_put(&wr, t->cols[i].name, &k->nv[i], k->base[i]);
		}
	}
	if (proto_wr_error(&wr) != OCOP_OK) {
		snprintf(reason, cap, "out of memory");
		return OCOP_ENOMEM;
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.site, sizeof(c.site), "%s", db->site_id);
	snprintf(c.tbl, sizeof(c.tbl), "%s", t->name);
	snprintf(c.row, sizeof(c.row), "%s", k->row);
	c.hlc = hlc;
	c.cells = db->cells.data;
	c.cells_len = db->cells.len;
	w.site = db->site_id;
	w.role = db->role;
	w.scope = db->scope;
	sto_judge_begin(db);
	rv = db->policy->authorize(db->policy->arg, db, &w, &k->before, &c, reason, cap);
	sto_judge_end(db);
	return rv;
}

/*
 * On a server, a write here that places a row in another unit moves its
 * subtree's log too, exactly as a merged move does (move.c).
 */
static int
capture_moved(capture_case *k, uint64_t seq)
{
	const sto_table *t = k->t;
	sto_db *db = k->db;
	char from[64];
	char to[64];
	bool missing;
	bool places = false;
	size_t i;
	int rv;

	for (i = 0; i < t->ncols; i++) {
		const char *c = t->cols[i].name;
		places |= (k->mask & ((uint64_t)1 << i)) &&
		    ((t->unit_col && strcmp(c, t->unit_col) == 0) || (t->parent_col && strcmp(c, t->parent_col) == 0) ||
			(t->ref_row_col && strcmp(c, t->ref_row_col) == 0));
	}
	if (!places || !k->before.exists) {
		return OCOP_OK;
	}
	if ((rv = sto_row_scope_after(db, &k->before, NULL, from, sizeof(from), &missing)) != OCOP_OK ||
	    (rv = sto_row_scope(db, t->name, k->row, to, sizeof(to))) != OCOP_OK) {
		return rv;
	}
	if (from[0] == 0 || strcmp(from, to) == 0) {
		return OCOP_OK;
	}
	return sto_move_relog(db, t->name, k->row, db->site_id, seq, from);
}

/* Fail the statement with db's error text (or the given text), so the write rolls back with it. */
static void
capture_fail(sqlite3_context *ctx, sto_db *db, int rv, const char *text)
{
	if (rv == OCOP_ENOMEM) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	sqlite3_result_error(ctx, text != NULL ? text : db->errmsg, -1);
}

/*
 * ocop_capture(table, id, op, clock, columns...): op 0 = insert (NEW of every
 * column; every non-NULL one is captured), op 1 = update (NEW and OLD of every
 * column; those whose value changed are captured). An update returns the
 * row's new clock for the trigger to store. Fails the statement on any error,
 * so the write and its capture commit or roll back together.
 */
static void
capture_sql(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	sto_db *db = sqlite3_user_data(ctx);
	capture_case k;
	sto_logcells lc;
	char reason[512];
	int status;
	int epoch;
	int per;
	uint64_t max_base = 0;
	uint64_t hlc;
	uint64_t seq = 0;
	size_t ti;
	size_t i;
	int rv;

	if (db->applying > 0) {
		if (argc > 3) {
			sqlite3_result_value(ctx, argv[3]); /* an update keeps its clock */
		}
		return;
	}
	if (db->site_id[0] == 0) {
		sqlite3_result_error(ctx, "this replica has no site identity yet: run 'ocop init'", -1);
		return;
	}
	memset(&k, 0, sizeof(k));
	k.db = db;
	if (argc < CAPTURE_ARGS || sqlite3_value_type(argv[0]) != SQLITE_INTEGER ||
	    (ti = (size_t)sqlite3_value_int64(argv[0]), (k.t = sto_schema_table_at(ti)) == NULL)) {
		sqlite3_result_error(ctx, "ocop_capture: not a replicated table", -1);
		return;
	}
	k.row = (const char *)sqlite3_value_text(argv[1]);
	k.op = sqlite3_value_int(argv[2]);
	per = k.op == 0 ? 1 : 2;
	if (k.row == NULL || argc != CAPTURE_ARGS + per * (int)k.t->ncols) {
		sqlite3_result_error(ctx, k.row == NULL ? "ocop_capture: a replicated row needs an id" : "ocop_capture: bad arguments", -1);
		return;
	}
	if (k.op == 0 && sqlite3_value_type(argv[3]) != SQLITE_NULL) {
		sqlite3_result_error(ctx, "ocop_clock belongs to the replica: an insert never sets it", -1);
		return;
	}
	status = sto_schema_status_col(k.t);
	epoch = sto_schema_col_index(k.t, "epoch");
	k.before.t = k.t;
	k.before.exists = k.op == 1;
	snprintf(k.before.id, sizeof(k.before.id), "%s", k.row);
	for (i = 0; i < k.t->ncols; i++) {
		sqlite3_value *nv = argv[CAPTURE_ARGS + per * (int)i];
		capture_value(nv, &k.nv[i]);
		if (k.op == 1) {
			capture_value(argv[CAPTURE_ARGS + 2 * (int)i + 1], &k.before.v[i]);
		}
		if (k.op == 0 ? sqlite3_value_type(nv) != SQLITE_NULL : !capture_same(nv, argv[CAPTURE_ARGS + 2 * (int)i + 1])) {
			k.mask |= (uint64_t)1 << i;
		}
	}
	if (k.mask == 0) {
		if (k.op == 1) {
			sqlite3_result_value(ctx, argv[3]);
		}
		return;
	}
	/* A status is only meaningful with the epoch it was set in (the merge
	 * orders statuses by epoch, then rank), so a captured status always
	 * carries the row's epoch, changed or not. */
	if (status >= 0 && epoch >= 0 && (k.mask & ((uint64_t)1 << status))) {
		k.mask |= (uint64_t)1 << epoch;
	}
	if (k.op == 1 && db->policy != NULL && db->policy->authorize == NULL && !capture_status_ok(&k)) {
		sqlite3_result_error(ctx, "a dossier's status moves back only by a reopen, which bumps its epoch", -1);
		return;
	}
	/* The base version of every cell, and an HLC newer than all of them, so
	 * this write supersedes what its writer saw on every replica. An
	 * inserted row is new (an existing id fails before this AFTER trigger
	 * runs) and rows are never removed, so it has no versions. */
	if (k.op == 1) {
		if (sqlite3_value_type(argv[3]) == SQLITE_BLOB) {
			k.before.clock = sqlite3_value_blob(argv[3]);
			k.before.clock_len = (size_t)sqlite3_value_bytes(argv[3]);
		}
		if ((rv = sto_row_clock(db, &k.before, &k.clock)) != OCOP_OK) {
			capture_fail(ctx, db, rv, NULL);
			return;
		}
		for (i = 0; i < k.t->ncols; i++) {
			if ((k.mask & ((uint64_t)1 << i)) && k.clock.have[i]) {
				k.base[i] = k.clock.hlc[i];
				max_base = k.base[i] > max_base ? k.base[i] : max_base;
			}
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
	if ((rv = capture_judge(&k, hlc, reason, sizeof(reason))) != OCOP_OK) {
		capture_fail(ctx, db, rv, reason);
		return;
	}
	memset(&lc, 0, sizeof(lc));
	lc.cols = k.mask;
	lc.inrow = k.mask;
	memcpy(lc.base, k.base, sizeof(lc.base));
	/* The values this update replaces stay readable for the changes that wrote them (log.h). */
	for (i = 0; k.op == 1 && i < k.t->ncols; i++) {
		if ((k.mask & ((uint64_t)1 << i)) && k.clock.have[i] && k.clock.site[i] != 0) {
			lc.took |= (uint64_t)1 << i;
			lc.took_site[i] = k.clock.site[i];
			lc.took_hlc[i] = k.clock.hlc[i];
			lc.took_v[i] = k.before.v[i];
		}
	}
	if ((rv = sto_log_put(db, db->site_no, 0, k.t, k.row, hlc, &lc, db->user, &seq)) != OCOP_OK) {
		capture_fail(ctx, db, rv, NULL);
		return;
	}
	if (db->serving && k.op == 1 && (rv = capture_moved(&k, seq)) != OCOP_OK) {
		capture_fail(ctx, db, rv, NULL);
		return;
	}
	if (k.op == 1) {
		/* The row's new clock: this change holds what it wrote, and a status
		 * remembers the epoch it was set in (the merge orders by it). */
		for (i = 0; i < k.t->ncols; i++) {
			if (k.mask & ((uint64_t)1 << i)) {
				k.clock.have[i] = true;
				k.clock.hlc[i] = hlc;
				k.clock.site[i] = db->site_no;
			}
		}
		if (status >= 0 && (k.mask & ((uint64_t)1 << status))) {
			k.clock.has_aux = true;
			k.clock.aux = epoch >= 0 && k.nv[epoch].type == PROTO_V_INT ? k.nv[epoch].i : 0;
		}
		com_buf_reset(&db->clockbuf);
		if ((rv = sto_clock_encode(k.t, &k.clock, &db->clockbuf)) != OCOP_OK) {
			capture_fail(ctx, db, rv, NULL);
			return;
		}
		sqlite3_result_blob(ctx, db->clockbuf.data, (int)db->clockbuf.len, SQLITE_TRANSIENT);
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
	int rc = sqlite3_create_function(db->db, "ocop_capture", -1, SQLITE_UTF8, db, capture_sql, NULL, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_create_function(db->db, "ocop_applying", 0, SQLITE_UTF8, db, capture_applying, NULL, NULL);
	}
	return rc == SQLITE_OK ? OCOP_OK : sto_seterr(db, OCOP_EDB, "register capture");
}

void
sto_capture_fini(sto_db *db)
{
	(void)db; /* its statements live in the statement cache */
}
