/*
 * registry_impl.h: what the registry's files (registry.c, site.c, dossier.c,
 * search.c) share and nobody else may use: the object's fields, the row buffer
 * of one write, and the helpers behind every operation (errors, queries,
 * workflows, authority, values). Internal to common/ocop/; the API is
 * registry.h's.
 */
#ifndef OCOP_OCOP_REGISTRY_IMPL_H
#define OCOP_OCOP_REGISTRY_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>
#include <sqlite3.h>

#include "common/ocop/authority.h"
#include "common/ocop/entity.h"
#include "common/ocop/registry.h"
#include "common/ocop/workflow.h"

#define REG_MAX_FLOWS 8    /* legal bases loaded at once (two exist today) */
#define REG_MAX_COLS 24    /* columns of one row write */
#define REG_MAX_HOPS 64    /* successor chain length before calling it a cycle */
#define REG_MAX_NEXT 64    /* transitions listed by dossier_next */
#define REG_CODE_MAX 32    /* longest unit code kept in a stack buffer */

struct ocp_reg {
	sto_db *db;                     /* borrowed replica */
	char data_dir[1024];            /* copied data directory */
	ocp_auth *auth;                 /* owned authority rules */
	ocp_flow *flows[REG_MAX_FLOWS]; /* owned workflows loaded so far */
	size_t nflows;                  /* entries used in flows */
	int role;                       /* this site's ocp_role, -1 before init */
	ocp_reg_require req;            /* requirement seam, copied */
	char err[512];                  /* last failure text */
};


/* The normalised columns of one write. */
typedef struct reg_row {
	const char *cols[REG_MAX_COLS]; /* column names, static strings */
	char *vals[REG_MAX_COLS];       /* owned values, NULL = SQL NULL */
	size_t n;                       /* entries used */
} reg_row;

/* ===== Errors (registry.c) ===== */

/* Record the failure text in r and return code. */
int reg_fail(ocp_reg *r, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Keep the store's text for a failed sto_* call; returns rv. */
int reg_dberr(ocp_reg *r, int rv);
/* Write a message into err (may be NULL). */
void reg_msg(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ===== Small text helpers (registry.c) ===== */

/* ASCII lower case of c. */
char reg_to_lower(char c);
/* Number of '-' separated segments of a unit code. */
int reg_code_segments(const char *code);

/* ===== Queries (registry.c) ===== */

/* Prepare sql on r's replica; the error names the database's reason. */
int reg_prepare(ocp_reg *r, const char *sql, sqlite3_stmt **st);
/* One integer from a query with nargs text arguments. */
int reg_query_int(ocp_reg *r, long long *out, const char *sql, int nargs, ...);
/* One row of ncols text columns (com_malloc'd, NULL for SQL NULL; free with vals_free). */
int reg_query_row(ocp_reg *r, char **vals, int ncols, const char *sql, int nargs, ...);
/* Free n values of reg_query_row. */
void vals_free(char **vals, int n);
/* Append the rows of st to arr as objects (one: only the first). */
int reg_json_rows(ocp_reg *r, sqlite3_stmt *st, json_t *arr, bool one);

/* ===== Rules (registry.c) ===== */

/* The workflow of a legal basis, loaded once (borrowed from r). */
int reg_flow(ocp_reg *r, const char *basis, const ocp_flow **out);
/* OCOP_ESITE unless the replica has a role. */
int reg_need_role(ocp_reg *r);
/* May this site's role write table (and column, when not NULL)? */
int reg_auth(ocp_reg *r, const char *table, const char *col);
/* The live row id of table addressed by key (a UUID; a unit code for units). */
int reg_resolve(ocp_reg *r, const char *table, const char *key, char id[37]);
/* Check and normalise one value of field f of entity e (entity.h). */
int reg_norm(ocp_reg *r, const ocp_entity *e, const ocp_entity_field *f, const char *in, char **out);

#endif /* OCOP_OCOP_REGISTRY_IMPL_H */
