/*
 * council.h: the council side of an OCOP round over the local replica:
 * evaluations (one council sitting at one tier), their members and score
 * sheets, per-criterion scores, the evaluation's result, and decisions
 * (recognition, approval, national result, revocation).
 *
 * Every write is checked before anything is written (input, then the rows it
 * refers to, then tier authority and the workflow), so a refused write leaves
 * the replica untouched; multi-row writes run in one transaction. The result
 * of an evaluation is never stored: it is computed from the sheets by the one
 * scoring function (score.h) on every call. Rubric rules, scoring, workflow and
 * authority live in their own modules; this one only connects them to rows.
 */
#ifndef OCOP_OCOP_COUNCIL_H
#define OCOP_OCOP_COUNCIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/ocop/rubric.h"
#include "common/ocop/score.h"
#include "common/store/store.h"

/* Certificates last 36 months (OCOP.md Decision 5). */
#define OCP_CERT_MONTHS 36
/* The re-evaluation window opens 180 and closes 120 days before expiry (Decision 5). */
#define OCP_REEVAL_OPENS_DAYS 180
#define OCP_REEVAL_CLOSES_DAYS 120

/*
 * SQL conditions over decision rows (t, x, d are table aliases), shared by the
 * council and the report so both read decisions the same way. A recognition is
 * a 3★/4★ recognition or a 5★ national result. Decisions are ordered by issue
 * date, then a revocation after what it revokes on the same day, then by id:
 * a total order every replica computes alike (ids of one millisecond are not
 * time-ordered among themselves).
 */
#define OCP_SQL_RECOGNITION(t)                                                       \
	"((" t ".kind = 'recognition' AND " t ".star BETWEEN 3 AND 4) OR (" t            \
	".kind = 'national_result' AND " t ".star = 5))"
#define OCP_SQL_REVOCATION(t) "(" t ".kind IN ('revocation', 'national_revocation'))"
#define OCP_SQL_DECISION_RANK_(t) "(CASE WHEN " OCP_SQL_REVOCATION(t) " THEN 1 ELSE 0 END)"
#define OCP_SQL_DECISION_AFTER(x, d)                                                 \
	"(COALESCE(" x ".issued_on, '') > COALESCE(" d ".issued_on, '') OR (COALESCE(" x    \
	".issued_on, '') = COALESCE(" d ".issued_on, '') AND (" OCP_SQL_DECISION_RANK_(x)  \
	" > " OCP_SQL_DECISION_RANK_(d) " OR (" OCP_SQL_DECISION_RANK_(x)                   \
	" = " OCP_SQL_DECISION_RANK_(d) " AND " x ".id > " d ".id))))"

/* The council operations over one replica. Opaque heap object. */
typedef struct ocp_council ocp_council;

/* A new evaluation (ocp_council_evaluation_add). Strings are borrowed. */
/*
 * The council minimum a province applies when it sets none: a council of fewer
 * members gives points but no star ("not valid for a star"). Three, so that one
 * member cannot decide and the mean is not a pair's.
 */
#define OCP_COUNCIL_MIN_DEFAULT 3

typedef struct ocp_eval_spec {
	const char *dossier_id;   /* the dossier evaluated; required */
	const char *tier;         /* "district", "province" or "national"; required */
	const char *rubric_id;    /* NULL = the dossier's rubric */
	const char *held_on;      /* YYYY-MM-DD, or NULL */
	int64_t spread_threshold; /* centipoints; 0 = OCP_SPREAD_DEFAULT (10 points) */
	bool spread_rule;         /* apply the spread rule (on by default, Decision 3) */
	int min_members;          /* council minimum size, 1..99; 0 = OCP_COUNCIL_MIN_DEFAULT */
} ocp_eval_spec;

/* A new decision (ocp_council_decision_add). Strings are borrowed; NULL = not given. */
typedef struct ocp_decision_spec {
	const char *dossier_id;    /* required */
	const char *kind;          /* recognition, approval, national_result or revocation */
	const char *evaluation_id; /* the evaluation the decision rests on, or NULL */
	int star;                  /* 1..5, or 0 when not given */
	const char *number;        /* decision number as issued ("3981/QĐ-UBND") */
	const char *issued_on;     /* YYYY-MM-DD; NULL = today */
	const char *expires_on;    /* YYYY-MM-DD; NULL = issued + 36 months for certificates */
	const char *issuer;        /* issuing body as it was called then */
	const char *note;          /* free text; the ground of a revocation (required there) */
} ocp_decision_spec;

/* An evaluation's result: the scoring module's output plus who the members are. */
typedef struct ocp_council_result {
	char evaluation_id[37];   /* the evaluation */
	char dossier_id[37];      /* its dossier */
	char tier[16];            /* its tier */
	char rubric_id[64];       /* its rubric */
	const ocp_rubric *rubric; /* borrowed from the council's cache, valid until ocp_council_close */
	ocp_score *score;         /* owned; members in the same order as member_ids */
	char (*member_ids)[37];   /* owned array of score->count member ids */
} ocp_council_result;

/* ===== Lifetime ===== */

/*
 * Open the council operations on db, with rules from data_dir (the directory
 * holding rubrics/, workflow/ and authority.conf; both are borrowed and must
 * outlive the object). Rules files load lazily, when an operation needs them.
 * Returns OCOP_OK or OCOP_ENOMEM. On error *out is NULL.
 * Ownership: caller frees *out with ocp_council_close(). Constructor of ocp_council.
 */
int ocp_council_open(ocp_council **out /* OUT */, sto_db *db, const char *data_dir);

/* Release the object and its cached rules (not the replica). Accepts NULL. Destructor. */
void ocp_council_close(ocp_council *c);

/* Text of the last error (borrowed, valid until the next call on c). "" when none. */
const char *ocp_council_errmsg(const ocp_council *c);

/* The replica (borrowed). */
sto_db *ocp_council_db(ocp_council *c);

/* The rules directory the object was opened with (borrowed). Cannot fail. */
const char *ocp_council_data_dir(const ocp_council *c);

/*
 * Is a dossier of legal basis `basis` (NULL or "": the default) in `status`
 * a national candidate, once the province's result is approved, and to which
 * status does the province's hand-off move it (send_to NULL: it is past that
 * step)? Read from the workflow's `candidate` states and its move that
 * requires `national_dossier` (data/workflow/README.md), never from names
 * written in code. Returns OCOP_OK or the workflow's load error.
 */
int ocp_council_candidate(ocp_council *c, const char *basis, const char *status, bool *candidate /* OUT */,
    const char **send_to /* OUT, may be NULL; borrowed from c */);

/*
 * Use `days` (days since 1970-01-01) as today for defaults (decision dates);
 * INT64_MIN goes back to the system's local date. Tests pin the date. Cannot fail.
 */
void ocp_council_set_today(ocp_council *c, int64_t days);

/* Today as days since 1970-01-01 (the pinned date, or the local date). Cannot fail. */
int64_t ocp_council_today(const ocp_council *c);

/*
 * Load (or reuse from the cache) the rubric `id`.
 * Returns OCOP_OK; OCOP_EINVAL (malformed id), OCOP_ENOENT (unknown rubric),
 * OCOP_ERUBRIC (invalid file), OCOP_ENOMEM.
 * Ownership: *out is borrowed, valid until ocp_council_close().
 */
int ocp_council_rubric(ocp_council *c, const char *id, const ocp_rubric **out /* OUT */);

/* ===== Evaluations ===== */

/*
 * Add an evaluation of a dossier: it keeps the dossier's legal basis and the
 * rubric (the dossier's unless spec names one; it must be a full tree), the
 * spread settings and version 1. The dossier must be where the workflow of its
 * legal basis waits for a council of that tier (a status whose next move needs
 * the council's scores), and this site's role must hold that tier's councils.
 * Returns: OCOP_OK; OCOP_EINVAL (missing or malformed field); OCOP_ENOENT
 * (unknown dossier or rubric); OCOP_ERUBRIC (rubric cannot be scored);
 * OCOP_EAUTH (role); OCOP_ESTATE (dossier status); OCOP_EDB; OCOP_ENOMEM.
 */
int ocp_council_evaluation_add(ocp_council *c, const ocp_eval_spec *spec, char id_out[37] /* OUT */);

/*
 * Mark an evaluation disqualified (hồ sơ bị loại: no star whatever the points),
 * keeping the reason. Returns: OCOP_OK; OCOP_EINVAL (no reason); OCOP_ENOENT;
 * OCOP_EAUTH; OCOP_ESTATE (already disqualified); OCOP_EDB.
 */
int ocp_council_evaluation_disqualify(ocp_council *c, const char *id, const char *reason);

/*
 * One evaluation as a JSON object: id, dossier_id, tier, rubric_id, legal_basis,
 * held_on, spread_threshold (points), spread_rule, disqualified,
 * disqualify_reason, version, members (count).
 * Returns OCOP_OK, OCOP_ENOENT, OCOP_EDB or OCOP_ENOMEM.
 * Ownership: caller releases *out with json_decref().
 */
int ocp_council_evaluation_get(ocp_council *c, const char *id, json_t **out /* OUT */);

/*
 * The evaluations (of one dossier, or all when dossier_id is NULL) as a JSON array
 * of the objects ocp_council_evaluation_get() makes, oldest first.
 * Returns OCOP_OK, OCOP_ENOENT (unknown dossier), OCOP_EDB or OCOP_ENOMEM.
 * Ownership: caller releases *out with json_decref().
 */
int ocp_council_evaluation_list(ocp_council *c, const char *dossier_id, json_t **out /* OUT */);

/* ===== Members and score sheets ===== */

/*
 * Add a council member (role "chair" or "member"; NULL = "member") and the
 * member's score sheet, owned by site_id (NULL = this site): only that site may
 * write the sheet. Names are stored NFC and must be distinct within the
 * evaluation (a CSV names members by name); an evaluation has one chair.
 * sheet_out may be NULL.
 * Returns: OCOP_OK; OCOP_EINVAL; OCOP_ENOENT (evaluation); OCOP_EEXIST (name
 * taken, or a second chair); OCOP_EAUTH; OCOP_EDB; OCOP_ENOMEM.
 */
int ocp_council_member_add(ocp_council *c, const char *evaluation_id, const char *name,
    const char *role, const char *site_id, char member_out[37] /* OUT */,
    char sheet_out[37] /* OUT, may be NULL */);

/*
 * The members of an evaluation as a JSON array of objects: id, name, role, site_id,
 * sheet_id, submitted, scored (criteria entered), missing (criteria still to enter).
 * Returns OCOP_OK, OCOP_ENOENT, OCOP_EDB or OCOP_ENOMEM. Caller json_decref()s *out.
 */
int ocp_council_member_list(ocp_council *c, const char *evaluation_id, json_t **out /* OUT */);

/*
 * The id of the score row of (sheet, criterion): the first 16 bytes of
 * SHA-256(sheet_id "\n" criterion), as a UUID of version 8 (RFC 9562 custom).
 * Two replicas entering the same cell write the same row, never two rows.
 * Returns OCOP_OK, or OCOP_ENOMEM when the digest cannot be set up (out is "").
 */
int ocp_council_score_id(const char *sheet_id, const char *criterion, char out[37] /* OUT */);

/*
 * Enter a member's choice on one criterion (points in centipoints, or the
 * knock-out option when ko). The criterion must exist in the evaluation's
 * rubric and the points must be one of its options; entering again replaces.
 * Only the sheet's owner site may write it, and not after it was submitted.
 * score_out (may be NULL) receives the score row id.
 * Returns: OCOP_OK; OCOP_EINPUT (unknown criterion or impossible points);
 * OCOP_ENOENT (member); OCOP_EAUTH (another site's sheet); OCOP_ESTATE
 * (submitted sheet, disqualified evaluation); OCOP_EDB; OCOP_ENOMEM.
 */
int ocp_council_sheet_set(ocp_council *c, const char *member_id, const char *criterion,
    int64_t points, bool ko, char score_out[37] /* OUT, may be NULL */);

/*
 * Import the `member,criterion,points` CSV text (see sheetcsv.h) into an
 * evaluation: members are named as added. The whole text is checked first
 * (every line, every member known, every sheet writable by this site); then all
 * scores are written in one transaction. `name` names the file in messages
 * ("FILE:LINE: reason"). n_out (may be NULL) receives the number of scores written.
 * Returns: OCOP_OK; OCOP_EINPUT (bad line, unknown member); OCOP_ERUBRIC;
 * OCOP_ENOENT (evaluation); OCOP_EAUTH; OCOP_ESTATE (a submitted sheet);
 * OCOP_EDB; OCOP_ENOMEM. On error nothing is written.
 */
int ocp_council_sheet_import(ocp_council *c, const char *evaluation_id, const char *name,
    const char *text, size_t len, size_t *n_out /* OUT, may be NULL */);

/*
 * Submit a member's sheet: it must be complete (every criterion that applies);
 * afterwards it no longer changes. Returns: OCOP_OK; OCOP_ENOENT; OCOP_EAUTH;
 * OCOP_ESTATE (incomplete, naming the missing criteria; or already submitted); OCOP_EDB.
 */
int ocp_council_sheet_submit(ocp_council *c, const char *member_id);

/*
 * A member's sheet as a JSON object: member_id, member, evaluation_id, sheet_id,
 * owner_site, submitted, scores (array of {criterion, points, ko} in rubric
 * order), total (points of what is entered), missing (criteria still to enter).
 * Returns OCOP_OK, OCOP_ENOENT, OCOP_EDB or OCOP_ENOMEM. Caller json_decref()s *out.
 */
int ocp_council_sheet_get(ocp_council *c, const char *member_id, json_t **out /* OUT */);

/* ===== Results ===== */

/*
 * Compute an evaluation's result: load its members' sheets and run the one
 * scoring function (ocp_score_compute) with the evaluation's rubric, spread
 * settings and disqualification.
 * Returns: OCOP_OK; OCOP_ENOENT (evaluation, rubric); OCOP_ESTATE (no members,
 * or incomplete sheets: the message names each member and the missing
 * criteria; or stored scores the rubric does not allow); OCOP_ERUBRIC; OCOP_EDB;
 * OCOP_ENOMEM. On error *out is NULL.
 * Ownership: caller frees *out with ocp_council_result_free(). Constructor.
 */
int ocp_council_result_compute(ocp_council *c, const char *evaluation_id,
    ocp_council_result **out /* OUT */);

/* Release a result. Accepts NULL. Cannot fail. Destructor of ocp_council_result. */
void ocp_council_result_free(ocp_council_result *r);

/*
 * The result as JSON, with the keys of `ocop score --json`: members (member,
 * member_id, total, A, B, C), mean, mean_display, parts, parts_display,
 * band_star, minima_star, minima_missed, star, spread, spread_threshold,
 * spread_rule, spread_ok, potential_5star, disqualified, knockout (list of
 * member and criterion), plus evaluation_id, dossier_id, tier and rubric_id.
 * Points are JSON numbers in points (85.5), *_display are strings with 2 decimals.
 * Returns NULL on ENOMEM. Caller json_decref()s it.
 */
json_t *ocp_council_result_json(const ocp_council_result *r);

/* ===== Decisions ===== */

/*
 * Record a decision about a dossier. Except for a revocation, the evaluation
 * defaults to the dossier's latest one (by sitting date) when it has any.
 * Recognition: star 3 or 4 only (1★ and 2★ get no decision or certificate, 5★
 * is the national tier's), taken from the evaluation's result when no star is
 * given and checked against it when both are; expiry defaults to issued + 36 months. Approval: the evaluation's result
 * must be potential 5★. National result: star from the national evaluation or
 * as given; a 5★ result gets a 36-month expiry. Revocation: a note with the
 * ground is required and the dossier must hold a recognition.
 * Returns: OCOP_OK; OCOP_EINVAL (missing or malformed field); OCOP_ENOENT
 * (dossier, evaluation); OCOP_EAUTH (this role may not make this kind);
 * OCOP_ESTATE (the rules refuse it: star below 3, result not complete, ...);
 * OCOP_EDB; OCOP_ENOMEM.
 */
int ocp_council_decision_add(ocp_council *c, const ocp_decision_spec *spec,
    char id_out[37] /* OUT */);

/*
 * The decisions (of one dossier, or all when dossier_id is NULL) as a JSON array of
 * {id, dossier_id, evaluation_id, kind, star, number, issued_on, expires_on,
 * issuer, note}, in issue order. Returns OCOP_OK, OCOP_ENOENT (unknown dossier),
 * OCOP_EDB or OCOP_ENOMEM. Caller json_decref()s *out.
 */
int ocp_council_decision_list(ocp_council *c, const char *dossier_id, json_t **out /* OUT */);

/* ===== Workflow requirements ===== */

/*
 * Check one requirement flag of a dossier move against the council's records,
 * with the signature of registry.h's requirement seam (ocp_reg_require_fn; arg
 * is the ocp_council*, db must be its replica). Flags about the result use the
 * dossier's latest evaluation: scores_complete (every sheet complete),
 * spread_ok, minima5, star<=N / star>=N / star=N, score>=N / score<N (the exact
 * mean). approved: an approval decision on that evaluation; decision: a
 * decision on that evaluation, or a revocation with its ground that left no
 * standing recognition; ground: the latter only; national_dossier: a document
 * of that kind. Unknown flags are refused.
 * Returns: OCOP_OK when met; OCOP_ESTATE with the reason in err when not; or
 * OCOP_EDB, OCOP_ENOMEM. err may be NULL.
 */
int ocp_council_require(void *arg, sto_db *db, const char *dossier_id, const char *flag,
    char *err, size_t errlen);

/* ===== Calendar dates (YYYY-MM-DD, proleptic Gregorian) ===== */

/* Parse a date into days since 1970-01-01. Returns OCOP_OK or OCOP_EINVAL (not a real date). */
int ocp_council_date_parse(const char *s, int64_t *days /* OUT */);
/* Format days since 1970-01-01 as YYYY-MM-DD (11 bytes with the NUL). Cannot fail. */
void ocp_council_date_format(int64_t days, char out[11] /* OUT */);
/* Add months to a date; a day past the new month's end becomes its last day. Cannot fail. */
int64_t ocp_council_date_add_months(int64_t days, int months);

#endif /* OCOP_OCOP_COUNCIL_H */
