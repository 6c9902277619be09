/*
 * requirement.c: the requirement flags of workflow moves that the council's
 * records answer (scores complete, star, decision...), behind the registry's
 * requirement seam (registry.h).
 */
#include "common/ocop/council.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ocop/council_impl.h"
#include "common/ocop/authority.h"
#include "common/ocop/basis.h"
#include "common/ocop/sheetcsv.h"
#include "common/ocop/workflow.h"
#include "common/store/fold.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "common/util/uuid.h"
#include "ocop_err.h"

/* ===== Workflow requirements ===== */

/* The id of the dossier's latest live evaluation (by sitting date, then id), or "". */
int
council_latest_eval(ocp_council *c, const char *dossier_id, char out[37])
{
	sqlite3_stmt *st = NULL;
	int rc;
	int rv;

	out[0] = 0;
	if ((rv = council_prepare(c, &st,
		 "SELECT id FROM evaluation WHERE dossier_id = ?1 AND deleted = 0"
		 " ORDER BY COALESCE(held_on, '') DESC, id DESC LIMIT 1")) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, dossier_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		council_col_copy(st, 0, out, 37);
	} else if (rc != SQLITE_DONE) {
		rv = council_sqlerr(c, "reading evaluations");
	}
	sqlite3_finalize(st);
	return rv;
}

/* Count rows of a query bound to (a, b). */
static int
council_count(ocp_council *c, const char *sql, const char *a, const char *b, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int rv;

	*n = 0;
	if ((rv = council_prepare(c, &st, sql)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, a, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, b ? b : "", -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		*n = sqlite3_column_int64(st, 0);
	} else {
		rv = council_sqlerr(c, "counting");
	}
	sqlite3_finalize(st);
	return rv;
}

/* Compare a with b by op ("<", "<=", "=", ">=", ">"). */
static bool
cmp_op(const char *op, int64_t a, int64_t b)
{
	if (strcmp(op, ">=") == 0) {
		return a >= b;
	}
	if (strcmp(op, "<=") == 0) {
		return a <= b;
	}
	if (strcmp(op, "=") == 0) {
		return a == b;
	}
	if (strcmp(op, ">") == 0) {
		return a > b;
	}
	return strcmp(op, "<") == 0 && a < b;
}

/* Split "star>=3" into name "star", op ">=" and value 3. */
static bool
flag_split(const char *flag, char *name, size_t cap, char *op, int64_t *value)
{
	size_t n = strcspn(flag, "<>=");
	size_t k = n;
	char *end;

	if (n == 0 || n >= cap || flag[n] == 0) {
		return false;
	}
	memcpy(name, flag, n);
	name[n] = 0;
	while (flag[k] == '<' || flag[k] == '>' || flag[k] == '=') {
		k++;
	}
	if (k - n > 2) {
		return false;
	}
	memcpy(op, flag + n, k - n);
	op[k - n] = 0;
	*value = strtoll(flag + k, &end, 10);
	return end != flag + k && *end == 0;
}

int
ocp_council_require(void *arg, sto_db *db, const char *dossier_id, const char *flag, char *err,
    size_t errlen)
{
	ocp_council *c = arg;
	ocp_council_result *res = NULL;
	char eval[37];
	char name[16] = "";
	char op[3];
	int64_t value = 0;
	int64_t n = 0;
	bool met = false;
	bool scored;
	int rv;

	(void)db; /* the council's own replica: the one the registry was opened on */
	c->err[0] = 0;
	if ((rv = council_latest_eval(c, dossier_id, eval)) != OCOP_OK) {
		goto out;
	}
	/* Flags about the result need the latest evaluation's result. */
	scored = strcmp(flag, "scores_complete") == 0 || strcmp(flag, "spread_ok") == 0 ||
	    strcmp(flag, "minima5") == 0 ||
	    (flag_split(flag, name, sizeof(name), op, &value) &&
		(strcmp(name, "star") == 0 || strcmp(name, "score") == 0));
	if (scored) {
		if (eval[0] == 0) {
			rv = council_fail(c, OCOP_ESTATE, "dossier %s has no evaluation yet", dossier_id);
			goto out;
		}
		if ((rv = ocp_council_result_compute(c, eval, &res)) != OCOP_OK) {
			goto out; /* incomplete sheets: the message names who misses what */
		}
	}
	if (strcmp(flag, "scores_complete") == 0) {
		met = true;
	} else if (strcmp(flag, "spread_ok") == 0) {
		met = res->score->spread_ok;
		if (!met) {
			rv = council_fail(c, OCOP_ESTATE,
			    "members' totals differ by %.2f points (threshold %.2f): the council must discuss and re-score",
			    (double)res->score->spread / 100.0, (double)res->score->spread_threshold / 100.0);
			goto out;
		}
	} else if (strcmp(flag, "minima5") == 0) {
		met = res->score->minima_star >= 5 && res->score->star == 5;
	} else if (scored && strcmp(name, "star") == 0) {
		met = cmp_op(op, res->score->star, value);
	} else if (scored && strcmp(name, "score") == 0) {
		/* Exact: mean (sum / count centipoints) against value points, in integers. */
		int64_t lhs = res->score->sum;
		int64_t rhs = value * 100 * (int64_t)res->score->count;

		met = cmp_op(op, lhs > rhs ? 1 : lhs < rhs ? -1 : 0, 0);
	} else if (strcmp(flag, "approved") == 0) {
		rv = council_count(c,
		    "SELECT COUNT(*) FROM decision WHERE dossier_id = ?1 AND deleted = 0"
		    " AND kind = 'approval' AND evaluation_id = ?2",
		    dossier_id, eval, &n);
		met = n > 0;
	} else if (strcmp(flag, "decision") == 0 || strcmp(flag, "ground") == 0) {
		/* A decision on the latest evaluation, or a revocation (with its ground) of
		 * the dossier's recognition. */
		bool recognised = false;

		if (strcmp(flag, "decision") == 0) {
			rv = council_count(c,
			    "SELECT COUNT(*) FROM decision WHERE dossier_id = ?1 AND deleted = 0"
			    " AND evaluation_id = ?2",
			    dossier_id, eval, &n);
			met = n > 0;
		}
		if (rv == OCOP_OK && !met &&
		    (rv = council_recognised(c, dossier_id, &recognised)) == OCOP_OK && !recognised) {
			rv = council_count(c,
			    "SELECT COUNT(*) FROM decision r WHERE r.dossier_id = ?1 AND r.deleted = 0"
			    " AND " OCP_SQL_REVOCATION("r") " AND r.note IS NOT NULL AND r.note != ''",
			    dossier_id, eval, &n);
			met = n > 0;
		}
	} else if (strcmp(flag, "national_dossier") == 0) {
		rv = council_count(c,
		    "SELECT COUNT(*) FROM document WHERE dossier_id = ?1 AND deleted = 0"
		    " AND kind = 'national_dossier'",
		    dossier_id, NULL, &n);
		met = n > 0;
	} else {
		rv = council_fail(c, OCOP_ESTATE, "the council rules do not know the requirement '%s'",
		    flag);
		goto out;
	}
	if (rv == OCOP_OK && !met) {
		rv = council_fail(c, OCOP_ESTATE, "dossier %s does not meet '%s'", dossier_id, flag);
		if (res != NULL) {
			snprintf(c->err + strlen(c->err), sizeof(c->err) - strlen(c->err),
			    " (evaluation %s: mean %.2f, %d★)", eval,
			    (double)res->score->mean_display / 100.0, res->score->star);
		}
	}
out:
	ocp_council_result_free(res);
	if (rv != OCOP_OK && err != NULL && errlen > 0) {
		snprintf(err, errlen, "%s", c->err);
	}
	return rv;
}
