/*
 * label.c: rows as a clerk knows them (see label.h).
 */
#include "common/ocop/label.h"

#include <stdio.h>
#include <string.h>

#include "common/store/merge.h"
#include "common/store/schema.h"
#include "ocop_err.h"

#define LABEL_DEPTH 4

/* Text of one column of a stored row ("" when absent). */
static void
label_col(sto_db *db, const char *tbl, const char *row, const char *col, char *out, size_t cap)
{
	(void)sto_row_text(db, tbl, row, col, out, cap);
}

static char *
label_at(sto_db *db, const char *tbl, const char *row, char *out, size_t cap, int depth)
{
	char a[160];
	char b[160];
	char c[40];
	char parent[400];

	if (depth > LABEL_DEPTH || sto_schema_table(tbl) == NULL) {
		snprintf(out, cap, "%s %.8s", tbl, row);
		return out;
	}
	if (strcmp(tbl, "subject") == 0 || strcmp(tbl, "product") == 0 || strcmp(tbl, "unit") == 0) {
		label_col(db, tbl, row, "name", a, sizeof(a));
		if (a[0] == 0) {
			snprintf(out, cap, "%s %.8s", tbl, row);
		} else {
			snprintf(out, cap, "%s '%s'", tbl, a);
		}
	} else if (strcmp(tbl, "dossier") == 0) {
		label_col(db, tbl, row, "product_id", a, sizeof(a));
		label_col(db, "product", a, "name", b, sizeof(b));
		label_col(db, tbl, row, "round_year", a, sizeof(a));
		label_col(db, tbl, row, "round_no", c, sizeof(c));
		if (b[0] == 0) {
			snprintf(out, cap, "dossier %.8s", row);
		} else {
			snprintf(out, cap, "dossier of '%s'%s%s%s%s%s", b, a[0] ? " (" : "", a, c[0] ? "/" : "", c,
			    a[0] ? ")" : "");
		}
	} else if (strcmp(tbl, "member") == 0) {
		label_col(db, tbl, row, "name", a, sizeof(a));
		snprintf(out, cap, "council member '%s'", a[0] ? a : "?");
	} else if (strcmp(tbl, "score_sheet") == 0 || strcmp(tbl, "score") == 0) {
		if (strcmp(tbl, "score") == 0) {
			label_col(db, tbl, row, "criterion", c, sizeof(c));
			label_col(db, tbl, row, "sheet_id", a, sizeof(a));
		} else {
			c[0] = 0;
			snprintf(a, sizeof(a), "%s", row);
		}
		label_col(db, "score_sheet", a, "member_id", b, sizeof(b));
		label_col(db, "member", b, "name", parent, sizeof(parent));
		snprintf(out, cap, "%s%s%ssheet of '%s'", c[0] ? "criterion " : "", c, c[0] ? " on the " : "",
		    parent[0] ? parent : "?");
	} else if (strcmp(tbl, "resolution") == 0) {
		label_col(db, tbl, row, "ref_tbl", c, sizeof(c));
		label_col(db, tbl, row, "ref_row", a, sizeof(a));
		label_at(db, c, a, parent, sizeof(parent), depth + 1);
		snprintf(out, cap, "settlement about %s", parent);
	} else {
		/* document, evaluation, decision, history: what it is, of which dossier */
		const sto_table *t = sto_schema_table(tbl);
		label_col(db, tbl, row, strcmp(tbl, "decision") == 0 ? "kind" : strcmp(tbl, "document") == 0 ? "title"
			: strcmp(tbl, "history") == 0 ? "product_name" : "tier",
		    a, sizeof(a));
		if (t->parent_col != NULL) {
			label_col(db, tbl, row, t->parent_col, b, sizeof(b));
			label_at(db, t->parent_table, b, parent, sizeof(parent), depth + 1);
			snprintf(out, cap, "%s%s%s%s of the %s", tbl, a[0] ? " '" : "", a, a[0] ? "'" : "", parent);
		} else {
			snprintf(out, cap, "%s '%s'", tbl, a[0] ? a : row);
		}
	}
	return out;
}

char *
ocp_row_label(sto_db *db, const char *tbl, const char *row, char *out, size_t cap)
{
	if (cap > 0) {
		out[0] = 0;
	}
	return tbl && row ? label_at(db, tbl, row, out, cap, 0) : out;
}
