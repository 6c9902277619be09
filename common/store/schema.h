/*
 * schema.h: the replicated tables and their columns, in one place.
 *
 * The DDL, the capture triggers, the merge and the value checks all derive
 * from this table list, so a column added here is created by a migration,
 * captured, type-checked and merged with no other change. Every replicated row
 * has a UUIDv7 `id` and a `deleted` tombstone flag; `id` is not listed among
 * the columns.
 *
 * Every column has a kind and a maximum size (DESIGN.md 4 rule 1): a value of
 * another type, too large, or text that is not NFC UTF-8 without control
 * characters is refused at capture and at merge, on every node, with the same
 * reason.
 */
#ifndef OCOP_STORE_SCHEMA_H
#define OCOP_STORE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/change.h"

#define STO_SCHEMA_VERSION 4

/* What values a column takes. NULL is accepted by every kind (an unset cell). */
typedef enum sto_kind {
	STO_K_TEXT = 0, /* UTF-8 text in NFC, no NUL or control characters but tab and newline */
	STO_K_NAME,     /* a token: [a-z0-9_./-], e.g. a status, a kind, a rubric id */
	STO_K_CODE,     /* an administrative unit code: [A-Za-z0-9-] */
	STO_K_DATE,     /* a calendar date, YYYY-MM-DD */
	STO_K_UUID,     /* a canonical lowercase UUID: a row or a site */
	STO_K_HEX,      /* lowercase hexadecimal digits (a SHA-256) */
	STO_K_INT,      /* an integer from 0 to max */
	STO_K_FLAG,     /* 0 or 1 */
} sto_kind;

typedef struct sto_column {
	const char *name; /* column name */
	const char *type; /* SQLite declared type: TEXT or INTEGER */
	sto_kind kind;    /* what values it takes */
	uint64_t max;     /* text kinds: most bytes; STO_K_INT: largest value */
} sto_column;

typedef struct sto_table {
	const char *name;          /* table name */
	const sto_column *cols;    /* replicated columns, ending with "deleted" */
	size_t ncols;              /* number of entries in cols */
	const char *parent_col;    /* column naming the parent row, or NULL */
	const char *parent_table;  /* table of the parent row, or NULL */
	const char *unit_col;      /* column holding the row's own unit code, or NULL */
	const char *ref_tbl_col;   /* for a row that points at a row of any table: the column
				      naming that table (its scope is the target's), or NULL */
	const char *ref_row_col;   /* and the column naming the target row, or NULL */
} sto_table;

/* All replicated tables, parents before children. Borrowed, static. */
const sto_table *sto_schema_tables(size_t *count /* OUT */);
/* The table named `name`, or NULL. */
const sto_table *sto_schema_table(const char *name);
/* The column named `col` of t, or NULL ("id" is not a column here). */
const sto_column *sto_schema_column(const sto_table *t, const char *col);

/* Index of column col in t (as in sto_table.cols), or -1. */
int sto_schema_col_index(const sto_table *t, const char *col);
/* Index of the column whose versions carry an epoch (dossier.status), or -1 for other tables. */
int sto_schema_status_col(const sto_table *t);
/* The table at index i of the list, or NULL. */
const sto_table *sto_schema_table_at(size_t i);

/*
 * Check one value against its column's kind and size. On refusal, writes a
 * reason naming the column into reason ("table.col: ...").
 * Returns: OCOP_OK, or OCOP_ETYPE.
 */
int sto_schema_check(const sto_table *t, const sto_column *c, const proto_value *v, char *reason,
    size_t cap);

/* True when s (len bytes) is valid UTF-8 in NFC with no NUL and no control character
 * other than tab and newline. */
bool sto_text_clean(const uint8_t *s, size_t len);

#endif /* OCOP_STORE_SCHEMA_H */
