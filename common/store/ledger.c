/*
 * ledger.c: the conflict ledger (DESIGN.md 4 rule 4): every value that lost a
 * merge and every change that was refused, with both sides, the rule and the
 * reason; and how an entry is settled (a replicated resolution row).
 */
#include "common/store/ledger.h"

#include <stdio.h>
#include <string.h>

#include "common/store/db.h"
#include "common/store/log.h"
#include "common/store/merge.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"

static int
step_done(sto_db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		return sto_seterr(db, OCOP_EDB, "ledger: %s", sqlite3_errmsg(db->db));
	}
	return OCOP_OK;
}

/* ===== Ledger ===== */

static const struct {
	int code;
	const char *rule;
} merge_rules[] = {
    {OCOP_EAUTH, "authority"}, {OCOP_ESCOPE, "scope"}, {OCOP_ESTATE, "workflow"},
    {OCOP_EIMMUTABLE, "immutable"}, {OCOP_ETYPE, "type"}, {OCOP_EINPUT, "type"},
    {OCOP_EPROTO, "type"}, {OCOP_ESITE, "identity"},
};

const char *
sto_rule_name(int code)
{
	size_t i;

	for (i = 0; i < sizeof(merge_rules) / sizeof(merge_rules[0]); i++) {
		if (merge_rules[i].code == code) {
			return merge_rules[i].rule;
		}
	}
	return "authority";
}

/* The refusal code a ledger rule stands for (the first code of that rule). */
static int
merge_rule_code(const char *rule)
{
	size_t i;

	for (i = 0; i < sizeof(merge_rules) / sizeof(merge_rules[0]); i++) {
		if (strcmp(merge_rules[i].rule, rule) == 0) {
			return merge_rules[i].code;
		}
	}
	return OCOP_EAUTH;
}

static int
ledger_insert(sto_db *db, const char *tbl, const char *row, const char *col, const char *rule,
    const char *reason, const proto_value *kept, uint64_t kept_hlc, const char *kept_site,
    const proto_value *lost, uint64_t lost_hlc, const char *lost_site, uint64_t lost_seq, int refused)
{
	sqlite3_stmt *st;
	int rv;

	rv = sto_stmt(db,
	    "INSERT OR IGNORE INTO ledger (recorded_hlc, tbl, row_id, col, rule, reason,"
	    " kept_value, kept_hlc, kept_site, lost_value, lost_hlc, lost_site, lost_seq, refused)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	    &st);
	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)db->hlc.last);
	sqlite3_bind_text(st, 2, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, row, -1, SQLITE_STATIC);
	if (col != NULL) {
		sqlite3_bind_text(st, 4, col, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 5, rule, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, reason, -1, SQLITE_STATIC);
	sto_bind_value(st, 7, kept);
	if (kept_site != NULL) {
		sqlite3_bind_int64(st, 8, (sqlite3_int64)kept_hlc);
		sqlite3_bind_text(st, 9, kept_site, -1, SQLITE_STATIC);
	}
	sto_bind_value(st, 10, lost);
	if (lost_site != NULL) {
		sqlite3_bind_int64(st, 11, (sqlite3_int64)lost_hlc);
		sqlite3_bind_text(st, 12, lost_site, -1, SQLITE_STATIC);
	}
	if (lost_seq > 0) {
		sqlite3_bind_int64(st, 13, (sqlite3_int64)lost_seq);
	}
	sqlite3_bind_int(st, 14, refused);
	return step_done(db, st);
}

int
sto_ledger_put(sto_db *db, const char *tbl, const char *row, const char *col, const char *rule,
    const char *reason, const proto_value *kept, uint64_t kept_hlc, const char *kept_site,
    const proto_value *lost, uint64_t lost_hlc, const char *lost_site, uint64_t lost_seq)
{
	return ledger_insert(db, tbl, row, col, rule, reason, kept, kept_hlc, kept_site, lost, lost_hlc,
	    lost_site, lost_seq, 0);
}

int
sto_ledger_refusal(sto_db *db, const char *tbl, const char *row, const char *col, int code,
    const char *reason, const proto_value *lost, uint64_t lost_hlc, const char *lost_site, uint64_t lost_seq)
{
	return ledger_insert(db, tbl, row, col, sto_rule_name(code), reason, NULL, 0, NULL, lost, lost_hlc,
	    lost_site, lost_seq, 1);
}

/*
 * An identity refusal (a change stamped with another site's id) is recorded
 * under the sender and the sequence number it forged: it must never make a
 * real change of that number look refused already.
 */
int
sto_refusal_find(sto_db *db, const char *site, uint64_t seq, int *code, char *reason, size_t cap, bool *found)
{
	sqlite3_stmt *st;
	int rv = sto_stmt(db,
	    "SELECT rule, reason FROM ledger WHERE lost_site = ?1 AND lost_seq = ?2 AND refused = 1"
	    " AND rule <> 'identity' LIMIT 1",
	    &st);
	int rc;

	*found = false;
	if (rv != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*found = true;
		if (code != NULL) {
			*code = merge_rule_code((const char *)sqlite3_column_text(st, 0));
		}
		if (reason != NULL) {
			snprintf(reason, cap, "%s", (const char *)sqlite3_column_text(st, 1));
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "ledger: %s", sqlite3_errmsg(db->db));
}

int
sto_ledger_has_rule(sto_db *db, const char *site, uint64_t seq, const char *rule, bool *found)
{
	sqlite3_stmt *st;
	int rc;

	*found = false;
	if (sto_stmt(db, "SELECT 1 FROM ledger WHERE lost_site = ?1 AND lost_seq = ?2 AND rule = ?3 LIMIT 1", &st) !=
	    OCOP_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	sqlite3_bind_text(st, 3, rule, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "ledger: %s", sqlite3_errmsg(db->db));
}

int
sto_ledger_counts(sto_db *db, const char *site, sto_ledger_stats *out)
{
	sqlite3_stmt *st;
	int rv;
	int rc;

	memset(out, 0, sizeof(*out));
	rv = sto_stmt(db,
	    "SELECT COUNT(*), COALESCE(SUM(status = 'open'), 0),"
	    " (SELECT COUNT(*) FROM (SELECT DISTINCT lost_site, lost_seq FROM ledger"
	    "   WHERE refused = 1 AND (?1 IS NULL OR lost_site = ?1)))"
	    " FROM ledger",
	    &st);
	if (rv != OCOP_OK) {
		return rv;
	}
	if (site != NULL) {
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->entries = (uint64_t)sqlite3_column_int64(st, 0);
		out->open = (uint64_t)sqlite3_column_int64(st, 1);
		out->refused_changes = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? OCOP_OK : sto_seterr(db, OCOP_EDB, "ledger: %s", sqlite3_errmsg(db->db));
}

/* ===== This node's own refused changes ===== */

int
sto_refused_own(sto_db *db, uint64_t seq, int code, const char *reason)
{
	char tbl[PROTO_NAME_MAX + 1];
	char row[PROTO_UUID_LEN + 1];
	uint64_t hlc = 0;
	bool found;
	int rv;

	if ((rv = sto_log_own(db, seq, tbl, row, &hlc, &found)) != OCOP_OK) {
		return rv;
	}
	if ((rv = sto_ledger_refusal(db, tbl, row, NULL, code, reason, NULL, hlc, db->site_id, seq)) != OCOP_OK) {
		return rv;
	}
	/* A refused write has no standing anywhere: its cells that still hold it
	 * here lose their version (and a status the epoch it was set in), so the
	 * server's re-assertion takes them back whatever this site's clock said,
	 * even to a lower epoch or an undone tombstone. */
	return found ? sto_void_own(db, tbl, row, hlc) : OCOP_OK;
}

/* ===== Reading and settling entries ===== */

/* The entry's status: settled here, or by a resolution row held here. */
#define LEDGER_SELECT                                                                                      \
	"SELECT l.id, l.tbl, l.row_id, COALESCE(l.col, ''), l.rule, l.reason, l.refused,"                   \
	" l.kept_value, COALESCE(l.kept_hlc, 0), COALESCE(l.kept_site, ''),"                                  \
	" l.lost_value, COALESCE(l.lost_hlc, 0), COALESCE(l.lost_site, ''), COALESCE(l.lost_seq, 0),"         \
	" CASE WHEN l.status <> 'open' THEN l.status ELSE COALESCE((SELECT 'resolved: ' || r.action"          \
	"   FROM resolution r WHERE r.deleted = 0 AND r.ref_tbl = l.tbl AND r.ref_row = l.row_id"             \
	"   AND (r.ref_col IS NULL OR l.col IS NULL OR r.ref_col = l.col)"                                     \
	"   AND r.lost_site = l.lost_site AND r.lost_hlc = l.lost_hlc LIMIT 1), 'open') END AS st"             \
	" FROM ledger l"

int
sto_ledger_each(sto_db *db, int64_t id, bool open_only, int (*fn)(void *arg, const sto_ledger_entry *e), void *arg)
{
	sqlite3_stmt *st = NULL;
	sto_ledger_entry e;
	bool any = false;
	int rc;

	rc = sqlite3_prepare_v2(db->db,
	    id > 0 ? "SELECT * FROM (" LEDGER_SELECT ") WHERE id = ?1"
		   : open_only ? "SELECT * FROM (" LEDGER_SELECT ") WHERE st = 'open' ORDER BY id"
			       : LEDGER_SELECT " ORDER BY l.id",
	    -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return sto_seterr(db, OCOP_EDB, "ledger: %s", sqlite3_errmsg(db->db));
	}
	if (id > 0) {
		sqlite3_bind_int64(st, 1, id);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&e, 0, sizeof(e));
		any = true;
		e.id = sqlite3_column_int64(st, 0);
		e.tbl = (const char *)sqlite3_column_text(st, 1);
		e.row = (const char *)sqlite3_column_text(st, 2);
		e.col = (const char *)sqlite3_column_text(st, 3);
		e.rule = (const char *)sqlite3_column_text(st, 4);
		e.reason = (const char *)sqlite3_column_text(st, 5);
		e.refused = sqlite3_column_int(st, 6) != 0;
		sto_column_value(st, 7, &e.kept);
		e.kept_hlc = (uint64_t)sqlite3_column_int64(st, 8);
		e.kept_site = (const char *)sqlite3_column_text(st, 9);
		sto_column_value(st, 10, &e.lost);
		e.lost_hlc = (uint64_t)sqlite3_column_int64(st, 11);
		e.lost_site = (const char *)sqlite3_column_text(st, 12);
		e.lost_seq = (uint64_t)sqlite3_column_int64(st, 13);
		e.status = (const char *)sqlite3_column_text(st, 14);
		if (fn(arg, &e) != 0) {
			break;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		return sto_seterr(db, OCOP_EDB, "ledger: %s", sqlite3_errmsg(db->db));
	}
	return id > 0 && !any ? OCOP_ENOENT : OCOP_OK;
}

/* What sto_ledger_resolve needs of an entry, copied. */
typedef struct ledger_pick {
	char tbl[PROTO_NAME_MAX + 1];
	char row[PROTO_UUID_LEN + 1];
	char col[PROTO_NAME_MAX + 1];
	char rule[32];
	char lost_site[PROTO_UUID_LEN + 1];
	char lost_hlc[24];
	char status[64];
	bool refused;
	bool has_lost;
} ledger_pick;

static int
ledger_pick_fn(void *arg, const sto_ledger_entry *e)
{
	ledger_pick *p = arg;

	snprintf(p->tbl, sizeof(p->tbl), "%s", e->tbl);
	snprintf(p->row, sizeof(p->row), "%s", e->row);
	snprintf(p->col, sizeof(p->col), "%s", e->col);
	snprintf(p->rule, sizeof(p->rule), "%s", e->rule);
	snprintf(p->lost_site, sizeof(p->lost_site), "%s", e->lost_site);
	snprintf(p->lost_hlc, sizeof(p->lost_hlc), "%llu", (unsigned long long)e->lost_hlc);
	snprintf(p->status, sizeof(p->status), "%s", e->status);
	p->refused = e->refused;
	p->has_lost = e->lost_site[0] != 0;
	return 1;
}

int
sto_ledger_resolve(sto_db *db, int64_t id, bool keep_lost, const char *note)
{
	ledger_pick p;
	sqlite3_stmt *st = NULL;
	const sto_table *t;
	char rid[37];
	int rv;

	memset(&p, 0, sizeof(p));
	if ((rv = sto_ledger_each(db, id, false, ledger_pick_fn, &p)) != OCOP_OK) {
		return rv == OCOP_ENOENT ? sto_seterr(db, rv, "no ledger entry %lld", (long long)id) : rv;
	}
	if (strcmp(p.status, "open") != 0) {
		return sto_seterr(db, OCOP_ESTATE, "entry %lld is settled already (%s)", (long long)id, p.status);
	}
	t = sto_schema_table(p.tbl);
	if (keep_lost && (p.refused || strcmp(p.rule, "clock") == 0 || t == NULL || p.col[0] == 0 ||
			     sto_schema_column(t, p.col) == NULL)) {
		return sto_seterr(db, OCOP_ESTATE,
		    "entry %lld (%s) has no value that may stand: %s", (long long)id, p.rule,
		    p.refused ? "the change was refused, and nobody with the authority for it made it" : "nothing was lost");
	}
	if ((rv = sto_begin(db)) != OCOP_OK) {
		return rv;
	}
	if (keep_lost) {
		/* The lost value again, as a new write of this site: captured and
		 * judged like any other, so it replicates and wins by being later. */
		com_buf sql;
		com_buf_init(&sql);
		rv = com_buf_printf(&sql,
		    "UPDATE %s SET %s = (SELECT lost_value FROM ledger WHERE id = ?1) WHERE id = ?2 AND deleted = 0",
		    p.tbl, p.col);
		if (rv == OCOP_OK && sqlite3_prepare_v2(db->db, (const char *)sql.data, -1, &st, NULL) != SQLITE_OK) {
			rv = sto_seterr(db, OCOP_EDB, "%s", sqlite3_errmsg(db->db));
		}
		com_buf_fini(&sql);
		if (rv == OCOP_OK) {
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, p.row, -1, SQLITE_STATIC);
			if (sqlite3_step(st) != SQLITE_DONE) {
				rv = sto_seterr(db, OCOP_EDB, "cannot restore: %s", sqlite3_errmsg(db->db));
			} else if (sqlite3_changes(db->db) == 0) {
				rv = sto_seterr(db, OCOP_ESTATE, "cannot restore: the %s is deleted", p.tbl);
			}
		}
		sqlite3_finalize(st);
	}
	if (rv == OCOP_OK && p.has_lost) {
		const char *cols[] = {"ref_tbl", "ref_row", "ref_col", "lost_hlc", "lost_site", "action", "note"};
		const char *vals[] = {p.tbl, p.row, p.col[0] ? p.col : NULL, p.lost_hlc, p.lost_site,
		    keep_lost ? "restored" : "kept", note};
		rv = sto_row_insert(db, "resolution", cols, vals, 7, rid);
	}
	if (rv == OCOP_OK) {
		rv = sto_stmt(db, "UPDATE ledger SET status = ?2 WHERE id = ?1", &st);
		if (rv == OCOP_OK) {
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_text(st, 2, keep_lost ? "resolved: restored" : "resolved: kept", -1, SQLITE_STATIC);
			rv = step_done(db, st);
		}
	}
	if (rv == OCOP_OK && (rv = sto_commit(db)) == OCOP_OK) {
		return OCOP_OK;
	}
	sto_rollback(db);
	return rv;
}
