/*
 * registry.h: the registry of a replica: site identity, administrative units
 * (old and new codes, successor mapping), subjects, products, dossiers with their
 * workflow moves, evidence documents, and diacritic-free search.
 *
 * Every write is validated, checked against this site's role with the authority
 * module and, for status moves, with the workflow of the dossier's legal basis,
 * BEFORE anything is written; a refused write leaves the database untouched.
 * Rows are handed out as jansson objects whose keys are the column names. This
 * module does not score, evaluate or decide (that is score.h and the council).
 */
#ifndef OCOP_OCOP_REGISTRY_H
#define OCOP_OCOP_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "common/store/store.h"

/* The registry of one open replica. Opaque heap object. */
typedef struct ocp_reg ocp_reg;

/* One column value of a write or one filter of a list: column name and text. */
typedef struct ocp_field {
	const char *col; /* column name ("name", "unit_code"); borrowed */
	const char *val; /* text value; NULL or "" clears an optional column; borrowed */
} ocp_field;

/*
 * Check one requirement flag of a workflow move ("decision", "scores_complete")
 * that the registry cannot check itself. Returns OCOP_OK when the dossier meets
 * it, OCOP_ESTATE with a message in err when it does not, or another ocop_err.
 */
typedef int (*ocp_reg_require_fn)(void *arg, sto_db *db, const char *dossier_id,
    const char *flag, char *err, size_t errlen);

/* The requirement seam: the council module (or a test) plugs its checks in here. */
typedef struct ocp_reg_require {
	ocp_reg_require_fn fn; /* NULL: flags the registry does not know refuse the move */
	void *arg;             /* borrowed; passed to fn */
} ocp_reg_require;

/* ===== Site identity ===== */

/*
 * True when code is an administrative unit code: "VN", a province "83", or
 * dash-separated digit segments after a 2-digit province ("83-28882", the old
 * district form "83-832", "83-832-28882"); at most 3 segments of 1-6 digits.
 */
bool ocp_reg_code_valid(const char *code);

/*
 * Check a comma-separated scope against a role name: national serves "VN", a
 * province its province codes, a district or commune site unit codes below a
 * province, a member's laptop any unit codes. Spaces around commas are allowed.
 * Returns: OCOP_OK; OCOP_EINVAL for an unknown role or a scope that does not fit
 * it, with the reason in err (err may be NULL).
 */
int ocp_reg_scope_check(const char *role, const char *scope, char *err, size_t errlen);

/*
 * Does every entry of scope lie within outer (a server's scope: "VN", a
 * province code, unit codes)? Returns OCOP_OK, or OCOP_ESCOPE naming the
 * first entry outside it in err.
 */
int ocp_reg_scope_within(const char *outer, const char *scope, char *err, size_t errlen);

/*
 * Give an uninitialised replica its identity: role, scope (checked as above and
 * stored without spaces), optional site UUID (NULL: a new UUIDv7) and optional
 * site name (stored NFC in meta "site_name").
 * Returns: OCOP_OK; OCOP_EEXIST when already initialised (err names the site and
 * its role); OCOP_EINVAL for a bad role, scope or site id; OCOP_EINPUT for a
 * name that is not UTF-8 text; OCOP_EDB; OCOP_ENOMEM.
 */
int ocp_reg_site_init(sto_db *db, const char *site_id, const char *role, const char *scope,
    const char *name, char *err, size_t errlen);

/* ===== The registry object ===== */

/*
 * Open the registry of db: loads `<data_dir>/authority.conf` and reads this
 * site's role. Workflows are loaded on first use, per legal basis.
 * Constructor of ocp_reg. On error *out is NULL and err says why.
 * Returns: OCOP_OK; what ocp_auth_load() returns; OCOP_ENOMEM.
 * Ownership: db and data_dir are borrowed (db must outlive the registry; data_dir
 * is copied). Caller closes *out with ocp_reg_close().
 */
int ocp_reg_open(ocp_reg **out /* OUT */, sto_db *db, const char *data_dir, char *err,
    size_t errlen);

/* Release the registry (not the database). Accepts NULL. Destructor of ocp_reg. */
void ocp_reg_close(ocp_reg *r);

/* Text of the last failure on r (borrowed, valid until the next call on r). */
const char *ocp_reg_errmsg(const ocp_reg *r);

/* Install the requirement seam for ocp_reg_dossier_move() (copied). Cannot fail. */
void ocp_reg_set_require(ocp_reg *r, const ocp_reg_require *req);

/* ===== Rows: unit, subject, product, dossier, document ===== */

/*
 * Add a row to table ("unit", "subject", "product", "dossier", "document") from
 * n column values, validated and stored NFC. Required: unit code, name, level;
 * subject name, kind, unit_code; product subject_id, name, product_set ("01".."26",
 * "1" is accepted); dossier product_id, round_year, round_no; document dossier_id,
 * kind, title. A dossier gets its defaults here: legal_basis qd26-2026, eval_type
 * first, rubric_id <basis>/<product set>, unit_code from its product then its
 * subject, province_code the unit's first segment, product_code from the product,
 * filed_on today, status the workflow's initial state, epoch 0.
 * id_out receives the new row's UUID (unit rows too; units are addressed by code).
 * Returns: OCOP_OK; OCOP_EINPUT (bad or missing value; message says which);
 * OCOP_EINVAL (unknown table or column); OCOP_ENOENT (the parent subject, product
 * or dossier does not exist or is deleted); OCOP_EEXIST (a live unit with that
 * code; a live dossier of that product in that round); OCOP_EAUTH (this site's
 * role may not write the table); OCOP_ESCOPE (the unit is outside the site's
 * scope); OCOP_ESITE (replica not initialised); OCOP_EDB; OCOP_ENOMEM.
 */
int ocp_reg_add(ocp_reg *r, const char *table, const ocp_field *f, size_t n, char id_out[37]);

/*
 * Change n columns of the live row id of table, in one transaction. Only
 * descriptive columns may be set (not ids, parents, dossier status, epoch or
 * legal basis); units are addressed by code here. Returns as ocp_reg_add(), and
 * OCOP_ENOENT for an unknown or deleted id.
 */
int ocp_reg_set(ocp_reg *r, const char *table, const char *id, const ocp_field *f, size_t n);

/*
 * Tombstone the live row id of table (units: by code). Refused with OCOP_ESTATE
 * while live child rows point at it (a subject's products, a product's dossiers,
 * a dossier's documents...). Returns as ocp_reg_set().
 */
int ocp_reg_delete(ocp_reg *r, const char *table, const char *id);

/*
 * One live row as an object keyed by column name, plus "id" and one array of
 * live child ids per child table ("products", "dossiers", "documents",
 * "evaluations", "decisions"). Units are addressed by code.
 * Returns: OCOP_OK; OCOP_ENOENT; OCOP_EINVAL; OCOP_EDB; OCOP_ENOMEM.
 * Ownership: caller releases *out with json_decref().
 */
int ocp_reg_get(ocp_reg *r, const char *table, const char *id, json_t **out /* OUT */);

/*
 * Live rows of table as an array of objects, oldest first (units by code),
 * filtered by n equality filters on columns; a unit_code filter also matches the
 * units below it ("83" matches "83-28882"). Products carry "subject_name",
 * dossiers "product_name".
 * Returns: OCOP_OK; OCOP_EINVAL (unknown table or column); OCOP_EINPUT (a
 * malformed filter value); OCOP_EDB; OCOP_ENOMEM.
 * Ownership: caller releases *out with json_decref().
 */
int ocp_reg_list(ocp_reg *r, const char *table, const ocp_field *filter, size_t n,
    json_t **out /* OUT */);

/*
 * Follow successor codes from unit `code` to the current unit (OCOP.md 8: old
 * provinces to merged ones, abolished districts and merged communes to their
 * successors). *out is {"code", "current", "name" (null when the current code is
 * not registered), "path": [codes from code to current]}.
 * Returns: OCOP_OK; OCOP_EINPUT (malformed code); OCOP_ENOENT (code not
 * registered); OCOP_ECORRUPT (a successor cycle); OCOP_EDB; OCOP_ENOMEM.
 * Ownership: caller releases *out with json_decref().
 */
int ocp_reg_unit_map(ocp_reg *r, const char *code, json_t **out /* OUT */);

/* ===== Dossier workflow ===== */

/*
 * The moves this site's role may make on dossier id: {"dossier", "legal_basis",
 * "status", "epoch", "next": [{"to", "label", "kind" ("forward"|"reopen"),
 * "needs_note", "requires": [flags]}]}.
 * Returns: OCOP_OK; OCOP_ENOENT; OCOP_ESITE; OCOP_EINPUT (the dossier's legal
 * basis has no workflow file); OCOP_EDB; OCOP_ENOMEM.
 * Ownership: caller releases *out with json_decref().
 */
int ocp_reg_dossier_next(ocp_reg *r, const char *id, json_t **out /* OUT */);

/*
 * Move dossier id to status `to`, as the workflow of its legal basis allows for
 * this site's role. A move that needs a reason (every reopen) needs note; a move
 * requiring "deadline" needs deadline (YYYY-MM-DD, stored in update_deadline); a
 * reopen bumps epoch. "commune_report" is met by a live document of kind
 * commune_report (Mẫu 03); other flags go to the requirement seam, and without
 * one they refuse the move. Everything is checked inside one transaction before
 * the first write, so a refused move writes nothing.
 * Returns: OCOP_OK; OCOP_ENOENT; OCOP_EINVAL (unknown status name); OCOP_EINPUT
 * (missing or malformed note or deadline); OCOP_ESTATE (no such move from the
 * current status, or a requirement not met); OCOP_EAUTH (not for this role);
 * OCOP_ESITE; OCOP_EDB; OCOP_ENOMEM.
 */
int ocp_reg_dossier_move(ocp_reg *r, const char *id, const char *to, const char *note,
    const char *deadline);

/* ===== Search ===== */

/*
 * Live subjects and products whose folded name (no diacritics, no case, đ as d)
 * contains every word of the folded text (words split by any run of spaces or
 * tabs, in any order, at most 8): an array of {"type" ("subject"|"product"),
 * "id", "name", "unit_code"}, subjects first.
 * Returns: OCOP_OK; OCOP_EINPUT (empty or not UTF-8 text); OCOP_EDB; OCOP_ENOMEM.
 * Ownership: caller releases *out with json_decref().
 */
int ocp_reg_search(ocp_reg *r, const char *text, json_t **out /* OUT */);

#endif /* OCOP_OCOP_REGISTRY_H */
