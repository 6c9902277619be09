/*
 * council_impl.h: what the council's files (council.c, evaluation.c, sheet.c,
 * result.c, decision.c, requirement.c) share and nobody else may use: the
 * object's fields, the rows they load, and the helpers behind every operation
 * (errors, queries, JSON, authority, loading). Internal to common/ocop/; the
 * API is council.h's.
 */
#ifndef OCOP_OCOP_COUNCIL_IMPL_H
#define OCOP_OCOP_COUNCIL_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <sqlite3.h>

#include "common/ocop/authority.h"
#include "common/ocop/council.h"
#include "common/ocop/workflow.h"
#include "common/ocop/rubric.h"
#include "common/ocop/score.h"
#include "common/util/buf.h"

/* A loaded rubric kept for the object's lifetime. */
typedef struct council_rubric {
	char *id;       /* owned rubric id */
	ocp_rubric *r;  /* owned rubric */
} council_rubric;

struct ocp_council {
	sto_db *db;               /* borrowed replica */
	const char *data_dir;     /* borrowed rules directory */
	ocp_auth *auth;           /* owned authority rules, loaded on first use */
	council_rubric *rubrics;  /* owned cache of loaded rubrics */
	size_t n_rubrics;         /* entries in rubrics */
	ocp_flow *flows[4];       /* owned workflows loaded so far, one per legal basis */
	size_t n_flows;           /* entries in flows */
	int64_t today;            /* pinned date (days), or INT64_MIN for the local date */
	char err[1024];           /* last error text */
};

/* An evaluation row. */
typedef struct council_eval {
	char id[37];              /* evaluation id */
	char dossier_id[37];      /* dossier evaluated */
	char tier[16];            /* district, province, national */
	char rubric_id[64];       /* rubric used */
	char legal_basis[64];     /* legal basis kept from the dossier */
	int64_t spread_threshold; /* centipoints */
	bool spread_rule;         /* spread rule applies */
	bool disqualified;        /* hồ sơ bị loại */
	size_t min_members;       /* council minimum size; 0 for evaluations kept before it existed */
} council_eval;

/* A dossier row (the columns this module needs). */
typedef struct council_dossier {
	char id[37];          /* dossier id */
	char legal_basis[64]; /* e.g. qd26-2026 */
	char rubric_id[64];   /* e.g. qd26-2026/01 */
	char status[64];      /* workflow status */
	char product_set[16]; /* its product's set ("07"), "" when unknown */
} council_dossier;

/* A member row with its score sheet. */
typedef struct council_member {
	char id[37];            /* member id */
	char evaluation_id[37]; /* its evaluation */
	char name[256];         /* name as entered (NFC) */
	char sheet_id[37];      /* its score sheet */
	char owner_site[37];    /* the site that may write the sheet */
	bool submitted;         /* sheet submitted */
} council_member;


/* The scores entered on a sheet; codes are copied. Caller frees with choices_free(). */
typedef struct council_choices {
	ocp_choice *v; /* owned array; each code owned */
	size_t n;      /* entries */
} council_choices;

/* ===== Shared helpers (council.c) ===== */

/* Load dossier id (the columns the council needs). OCOP_ENOENT when absent or deleted. */
int council_dossier_load(ocp_council *c, const char *id, council_dossier *d);

/* Load evaluation id. OCOP_ENOENT when absent or deleted. */
int council_eval_load(ocp_council *c, const char *id, council_eval *e);

/* Record the failure text in c and return code. */
int council_fail(ocp_council *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* May this site's role write `table` (row-level write) of a row of this kind? */
int council_may(ocp_council *c, const char *table, const char *column, const char *kind);

/* A score sheet (and its scores) is written only by its owner site. */
int council_may_write_sheet(ocp_council *c, const council_member *m);

/* Load member id with its score sheet. OCOP_ENOENT when absent or deleted. */
int council_member_load(ocp_council *c, const char *id, council_member *m);

/*
 * The members of an evaluation with their sheets, chair first then by name.
 * Caller frees *out.
 */
int council_members_load(ocp_council *c, const char *evaluation_id, council_member **out, size_t *n);

/* NFC copy of user text; NULL stays NULL. Returns OCOP_OK, OCOP_EINVAL (bad UTF-8) or OCOP_ENOMEM. */
int council_nfc(ocp_council *c, const char *what, const char *in, char **out);

/* Prepare sql on c's replica; the error keeps SQLite's text. */
int council_prepare(ocp_council *c, sqlite3_stmt **st, const char *sql);

/* A rubric that can score: loaded and a full tree. */
int council_scoring_rubric(ocp_council *c, const char *id, const ocp_rubric **out);

/* Translate a SQLite failure once, keeping SQLite's text. */
int council_sqlerr(ocp_council *c, const char *what);

/* The scores entered on sheet_id. Caller frees with council_choices_free(). */
int council_choices_load(ocp_council *c, const char *sheet_id, council_choices *ch);

/* Write one cell of a sheet: insert its row, or update it (reviving a tombstone). */
int council_score_put(ocp_council *c, const char *sheet_id, const char *criterion, int64_t points,
    bool ko, char id_out[37]);

/* True for NULL or "". */
bool council_empty(const char *s);

/* Add v to obj under key, releasing v; returns false (and drops v) on failure. */
bool council_jset(json_t *obj, const char *key, json_t *v);

/* Like jset, but when ok is already false just release v and stay false. */
bool council_jadd(bool ok, json_t *obj, const char *key, json_t *v);

/* Append v to arr, releasing v; false on failure. */
bool council_jpush(json_t *arr, json_t *v);

/* Copy column i of the current row as text ("" for NULL). */
void council_col_copy(sqlite3_stmt *st, int i, char *out, size_t cap);

/* Column i as text or JSON null. */
json_t *council_col_json(sqlite3_stmt *st, int i);

/* Centipoints as a JSON number of points (85.5), a real as `ocop score --json` writes them. */
json_t *council_points_json(int64_t centi);

/* Centipoints as "85.50". */
json_t *council_points_display_json(int64_t centi);

/* The sheet's choice for criterion code, or NULL. */
const ocp_choice *council_choices_find(const council_choices *ch, const char *code);

/* Release what council_choices_load() loaded. Accepts an empty set. */
void council_choices_free(council_choices *ch);

/*
 * Append to b the criteria a sheet still lacks: every criterion that is not
 * conditional ("applies only when ...": those may be left out). Returns the count.
 */
size_t council_missing_list(const ocp_rubric *r, const council_choices *ch, com_buf *b, json_t *arr);

/* Run sql (one text argument, may be NULL) and return its rows as an array built by row(). */
int council_list(ocp_council *c, const char *sql, const char *arg, json_t *(*row)(sqlite3_stmt *),
    json_t **out);

/* ===== Shared with the workflow requirements ===== */

/* Does the dossier hold a standing recognition (decision.c)? */
int council_recognised(ocp_council *c, const char *dossier_id, bool *yes);

/* The id of the dossier's latest provincial or district evaluation (requirement.c). */
int council_latest_eval(ocp_council *c, const char *dossier_id, char out[37]);

#endif /* OCOP_OCOP_COUNCIL_IMPL_H */
