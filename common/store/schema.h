/*
 * schema.h: the replicated tables and their columns, in one place.
 *
 * The DDL, the capture triggers and the merge all derive from this table list,
 * so a column added here is created by a migration, captured, and merged with
 * no other change. Every replicated row has a UUIDv7 `id` and a `deleted`
 * tombstone flag; `id` is not listed among the columns.
 */
#ifndef OCOP_STORE_SCHEMA_H
#define OCOP_STORE_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#define STO_SCHEMA_VERSION 2

typedef struct sto_column {
	const char *name; /* column name */
	const char *type; /* SQLite declared type: TEXT, INTEGER, REAL */
} sto_column;

typedef struct sto_table {
	const char *name;          /* table name */
	const sto_column *cols;    /* replicated columns, ending with "deleted" */
	size_t ncols;              /* number of entries in cols */
	const char *parent_col;    /* column naming the parent row, or NULL */
	const char *parent_table;  /* table of the parent row, or NULL */
} sto_table;

/* All replicated tables, parents before children. Borrowed, static. */
const sto_table *sto_schema_tables(size_t *count /* OUT */);
/* The table named `name`, or NULL. */
const sto_table *sto_schema_table(const char *name);
/* The column named `col` of t, or NULL ("id" is not a column here). */
const sto_column *sto_schema_column(const sto_table *t, const char *col);

#endif /* OCOP_STORE_SCHEMA_H */
