/*
 * replica.c: exchanging changes and dumping state, for tests.
 */
#include "tests/lib/replica.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/scope.h"
#include "common/ocop/workflow.h"
#include "common/store/apply.h"
#include "common/store/clock.h"
#include "common/store/db.h"
#include "common/store/log.h"

#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

void
tr_log_free(tr_rec *recs, size_t n)
{
	size_t k;

	for (k = 0; recs != NULL && k < n; k++) {
		com_free(recs[k].cells);
	}
	com_free(recs);
}

int
tr_log_all(sto_db *src, uint64_t cursor, tr_rec **out, size_t *n)
{
	sto_log_filter f;
	sto_log_it it;
	sto_logged e;
	tr_rec *recs = NULL;
	size_t cap = 0;
	int rv;

	*out = NULL;
	*n = 0;
	memset(&f, 0, sizeof(f));
	f.after_lsn = cursor;
	if ((rv = sto_log_open(&it, src, &f)) == OCOP_OK) {
		while ((rv = sto_log_next(&it, &e)) == OCOP_OK) {
			if (*n == cap) {
				tr_rec *nr = com_realloc(recs, (cap ? cap * 2 : 64) * sizeof(*nr));
				if (nr == NULL) {
					rv = OCOP_ENOMEM;
					break;
				}
				recs = nr;
				cap = cap ? cap * 2 : 64;
			}
			recs[*n].c = e.c;
			recs[*n].lsn = e.lsn;
			recs[*n].cells = com_malloc(e.c.cells_len + 1);
			if (recs[*n].cells == NULL) {
				rv = OCOP_ENOMEM;
				break;
			}
			memcpy(recs[*n].cells, e.c.cells, e.c.cells_len);
			recs[*n].c.cells = recs[*n].cells;
			(*n)++;
		}
	}
	sto_log_close(&it);
	*out = recs;
	return rv == OCOP_ENOENT ? OCOP_OK : rv;
}

int
tr_exchange(sto_db *dst, sto_db *src, const sto_policy *pol, uint64_t *cursor, bool reverse,
    tr_counts *counts)
{
	tr_rec *recs = NULL;
	sto_verdict v;
	size_t n = 0;
	size_t k;
	int rv;

	if ((rv = tr_log_all(src, *cursor, &recs, &n)) != OCOP_OK || (rv = sto_begin(dst)) != OCOP_OK) {
		goto done;
	}
	for (k = 0; k < n; k++) {
		tr_rec *r = &recs[reverse ? n - 1 - k : k];
		/* The writer as a server knows it: here, as the source replica says of itself. */
		sto_writer w = {r->c.site, sto_role(src), sto_scope(src)};
		if ((rv = sto_merge_apply(dst, pol, pol != NULL ? &w : NULL, &r->c, false, &v)) != OCOP_OK) {
			break;
		}
		if (counts != NULL) {
			counts->applied += v.outcome == STO_APPLIED;
			counts->duplicates += v.outcome == STO_DUPLICATE;
			counts->rejected += v.outcome == STO_REJECTED;
			counts->conflicts += (int)v.conflicts;
		}
		if (r->lsn > *cursor) {
			*cursor = r->lsn;
		}
	}
	if (rv != OCOP_OK) {
		sto_rollback(dst);
	} else {
		rv = sto_commit(dst);
	}
done:
	tr_log_free(recs, n);
	return rv;
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

/* The clock lines of every row of t: 'tbl'|'row'|'col'|hlc|'site'|aux| per cell with a version. */
static int
dump_clocks(sto_db *db, com_buf *out, const sto_table *t)
{
	sqlite3_stmt *st = NULL;
	char sql[128];
	int status = sto_schema_status_col(t);

	snprintf(sql, sizeof(sql), "SELECT id FROM %s ORDER BY id", t->name);
	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		sto_clock c;
		sto_row r;
		size_t i;
		if (sto_row_load(db, t, id, &r) != OCOP_OK || sto_row_clock(db, &r, &c) != OCOP_OK) {
			sto_row_fini(&r);
			com_buf_printf(out, "'%s'|'%s'|unreadable clock\n", t->name, id);
			continue;
		}
		sto_row_fini(&r);
		for (i = 0; i < t->ncols; i++) {
			char site[37] = "";
			if (!c.have[i]) {
				continue;
			}
			sto_sitenum_uuid(db, c.site[i], site);
			com_buf_printf(out, "'%s'|'%s'|'%s'|%llu|'%s'|", t->name, id, t->cols[i].name,
			    (unsigned long long)c.hlc[i], site);
			if ((int)i == status && c.has_aux) {
				com_buf_printf(out, "%lld|\n", (long long)c.aux);
			} else {
				com_buf_puts(out, "NULL|\n");
			}
		}
	}
	sqlite3_finalize(st);
	return OCOP_OK;
}

int
tr_dump(sto_db *db, com_buf *out, bool with_clocks)
{
	size_t n;
	size_t i;
	size_t k;
	const sto_table *t = sto_schema_tables(&n);
	com_buf sql;

	com_buf_init(&sql);
	for (i = 0; i < n; i++) {
		com_buf_printf(out, "== %s\n", t[i].name);
		com_buf_reset(&sql);
		com_buf_puts(&sql, "SELECT id");
		for (k = 0; k < t[i].ncols; k++) {
			com_buf_printf(&sql, ", %s", t[i].cols[k].name);
		}
		com_buf_printf(&sql, " FROM %s ORDER BY id", t[i].name);
		dump_query(db, out, (const char *)sql.data);
	}
	com_buf_fini(&sql);
	if (with_clocks) {
		com_buf_puts(out, "== clock\n");
		for (i = 0; i < n; i++) {
			dump_clocks(db, out, &t[i]);
		}
	}
	return OCOP_OK;
}

int
tr_log_get(sto_db *db, const char *site, uint64_t seq, proto_change *c, com_buf *cells)
{
	sto_log_filter f;
	sto_log_it it;
	sto_logged e;
	int rv;

	memset(&f, 0, sizeof(f));
	if ((rv = sto_log_open(&it, db, &f)) == OCOP_OK) {
		while ((rv = sto_log_next(&it, &e)) == OCOP_OK) {
			if (strcmp(e.c.site, site) == 0 && e.c.seq == seq) {
				*c = e.c;
				com_buf_reset(cells);
				rv = com_buf_append(cells, e.c.cells, e.c.cells_len);
				c->cells = cells->data;
				break;
			}
		}
	}
	sto_log_close(&it);
	return rv;
}

int
tr_clock_set(sto_db *db, const char *tbl, const char *row, const char *col, uint64_t hlc, const char *site)
{
	const sto_table *t = sto_schema_table(tbl);
	int i = t != NULL ? sto_schema_col_index(t, col) : -1;
	sto_clock c;
	sto_row r;
	uint32_t no;
	int rv;

	if (i < 0) {
		return OCOP_EINVAL;
	}
	if ((rv = sto_begin(db)) != OCOP_OK) {
		return rv;
	}
	if ((rv = sto_row_load(db, t, row, &r)) == OCOP_OK && (rv = sto_row_clock(db, &r, &c)) == OCOP_OK &&
	    (rv = sto_sitenum_get(db, site, true, &no)) == OCOP_OK &&
	    (rv = sto_apply_keep(db, &r, &c, (uint64_t)1 << i)) == OCOP_OK) {
		c.have[i] = true;
		c.hlc[i] = hlc;
		c.site[i] = no;
		rv = sto_clock_put(db, t, r.rowid, &c);
	}
	sto_row_fini(&r);
	if (rv == OCOP_OK) {
		return sto_commit(db);
	}
	sto_rollback(db);
	return rv;
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
