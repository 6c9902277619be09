/*
 * replica.c: exchanging changes and dumping state, for tests.
 */
#include "tests/lib/replica.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/scope.h"
#include "common/ocop/workflow.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"

#include <stdio.h>
#include <string.h>

#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

static void
row_to_change(sqlite3_stmt *st, proto_change *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->site, sizeof(c->site), "%s", (const char *)sqlite3_column_text(st, 1));
	c->seq = (uint64_t)sqlite3_column_int64(st, 2);
	snprintf(c->tbl, sizeof(c->tbl), "%s", (const char *)sqlite3_column_text(st, 3));
	snprintf(c->row, sizeof(c->row), "%s", (const char *)sqlite3_column_text(st, 4));
	c->hlc = (uint64_t)sqlite3_column_int64(st, 5);
	snprintf(c->user, sizeof(c->user), "%s", (const char *)sqlite3_column_text(st, 6));
	c->cells = sqlite3_column_blob(st, 7);
	c->cells_len = (size_t)sqlite3_column_bytes(st, 7);
}

int
tr_exchange(sto_db *dst, sto_db *src, const sto_policy *pol, uint64_t *cursor, bool reverse,
    tr_counts *counts)
{
	sqlite3_stmt *st = NULL;
	proto_change c;
	sto_verdict v;
	int rv;

	if (sqlite3_prepare_v2(sto_sqlite(src),
		reverse ? "SELECT lsn, site, seq, tbl, row_id, hlc, user, cells FROM change WHERE lsn > ?1 ORDER BY lsn DESC"
			: "SELECT lsn, site, seq, tbl, row_id, hlc, user, cells FROM change WHERE lsn > ?1 ORDER BY lsn",
		-1, &st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)*cursor);
	if ((rv = sto_begin(dst)) != OCOP_OK) {
		sqlite3_finalize(st);
		return rv;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint64_t lsn = (uint64_t)sqlite3_column_int64(st, 0);
		row_to_change(st, &c);
		/* The writer as a server knows it: here, as the source replica says of itself. */
		sto_writer w = {c.site, sto_role(src), sto_scope(src)};
		if ((rv = sto_merge_apply(dst, pol, pol != NULL ? &w : NULL, &c, false, &v)) != OCOP_OK) {
			break;
		}
		if (counts != NULL) {
			counts->applied += v.outcome == STO_APPLIED;
			counts->duplicates += v.outcome == STO_DUPLICATE;
			counts->rejected += v.outcome == STO_REJECTED;
			counts->conflicts += (int)v.conflicts;
		}
		if (lsn > *cursor) {
			*cursor = lsn;
		}
	}
	sqlite3_finalize(st);
	if (rv != OCOP_OK) {
		sto_rollback(dst);
		return rv;
	}
	return sto_commit(dst);
}

static int
dump_query(sto_db *db, com_buf *out, const char *sql)
{
	sqlite3_stmt *st = NULL;
	int i;
	int n;

	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	n = sqlite3_column_count(st);
	while (sqlite3_step(st) == SQLITE_ROW) {
		for (i = 0; i < n; i++) {
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_NULL:
				com_buf_puts(out, "NULL|");
				break;
			case SQLITE_INTEGER:
				com_buf_printf(out, "%lld|", (long long)sqlite3_column_int64(st, i));
				break;
			case SQLITE_FLOAT:
				com_buf_printf(out, "%.17g|", sqlite3_column_double(st, i));
				break;
			default:
				com_buf_printf(out, "'%s'|", (const char *)sqlite3_column_text(st, i));
				break;
			}
		}
		com_buf_puts(out, "\n");
	}
	sqlite3_finalize(st);
	return OCOP_OK;
}

int
tr_dump(sto_db *db, com_buf *out, bool with_clocks)
{
	size_t n;
	size_t i;
	const sto_table *t = sto_schema_tables(&n);
	char sql[128];

	for (i = 0; i < n; i++) {
		com_buf_printf(out, "== %s\n", t[i].name);
		snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY id", t[i].name);
		dump_query(db, out, sql);
	}
	if (with_clocks) {
		com_buf_puts(out, "== clock\n");
		dump_query(db, out, "SELECT tbl, row_id, col, hlc, site, aux FROM clock ORDER BY tbl, row_id, col");
	}
	return OCOP_OK;
}

int
tr_ledger_count(sto_db *db, const char *rule)
{
	sqlite3_stmt *st = NULL;
	int n = -1;

	sqlite3_prepare_v2(sto_sqlite(db),
	    rule ? "SELECT COUNT(*) FROM ledger WHERE rule = ?1" : "SELECT COUNT(*) FROM ledger", -1, &st,
	    NULL);
	if (rule) {
		sqlite3_bind_text(st, 1, rule, -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		n = sqlite3_column_int(st, 0);
	}
	sqlite3_finalize(st);
	return n;
}

/* The scope of a row: the authority's view when it holds the row, else db's own. */
static int
replica_row_scope(sto_db *db, sto_db *authority, const char *tbl, const char *id, char *out, size_t cap)
{
	const sto_table *t = sto_schema_table(tbl);
	sto_row r;
	bool held = false;

	if (t != NULL && sto_row_load(authority, t, id, &r) == OCOP_OK) {
		held = r.exists;
		sto_row_fini(&r);
	}
	return sto_row_scope(held ? authority : db, tbl, id, out, cap);
}

char *
tr_dump_scope(sto_db *db, sto_db *authority, const char *scope)
{
	com_buf b;
	com_buf all;
	char *text;
	char *line;
	char *save = NULL;
	char cur_tbl[40] = "";

	com_buf_init(&all);
	tr_dump(db, &all, true);
	text = com_buf_detach(&all, NULL);
	com_buf_init(&b);
	/* Keep table headers, and lines whose row (first or second field) is in scope. */
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char tbl[40] = "";
		char id[40] = "";
		char unit[64];
		if (strncmp(line, "== ", 3) == 0) {
			snprintf(cur_tbl, sizeof(cur_tbl), "%s", line + 3);
			com_buf_printf(&b, "%s\n", line);
			continue;
		}
		if (strcmp(cur_tbl, "clock") == 0) {
			sscanf(line, "'%39[^']'|'%39[^']'", tbl, id);
		} else {
			snprintf(tbl, sizeof(tbl), "%s", cur_tbl);
			sscanf(line, "'%39[^']'", id);
		}
		if (replica_row_scope(db, authority, tbl, id, unit, sizeof(unit)) == OCOP_OK &&
		    (unit[0] == 0 || ocp_scope_covers(scope, unit))) {
			com_buf_printf(&b, "%s\n", line);
		}
	}
	com_free(text);
	return com_buf_detach(&b, NULL);
}

size_t
tr_flow_state_index(const ocp_flow *flow, const ocp_state *state)
{
	size_t i = 0;

	while (i < ocp_flow_state_count(flow) && ocp_flow_state_at(flow, i) != state) {
		i++;
	}
	return i;
}

void
tr_flow_reach(const ocp_flow *flow, unsigned roles, unsigned char *reach)
{
	bool grew = true;
	size_t i;

	for (i = 0; i < ocp_flow_state_count(flow); i++) {
		reach[i] = strcmp(ocp_flow_state_at(flow, i)->name, ocp_flow_initial(flow)) == 0;
	}
	while (grew) {
		grew = false;
		for (i = 0; i < ocp_flow_transition_count(flow); i++) {
			const ocp_transition *t = ocp_flow_transition_at(flow, i);
			size_t f = tr_flow_state_index(flow, t->from);
			size_t to = tr_flow_state_index(flow, t->to);
			if (reach[f] && (t->roles & roles) && !reach[to]) {
				reach[to] = 1;
				grew = true;
			}
		}
	}
}
