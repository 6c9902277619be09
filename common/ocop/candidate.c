/*
 * candidate.c: the national candidates of a province's replica (see candidate.h).
 */
#include "common/ocop/candidate.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/council_impl.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

/* Copy a text column (NULL as "") into a fixed field. */
static void
candidate_col(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

int
ocp_candidates_find(ocp_council *c, ocp_candidate **out, size_t *n)
{
	/* The latest provincial evaluation of each live dossier, when approved
	 * (an approval names its evaluation, or none for the dossier's latest). */
	static const char sql[] =
	    "SELECT d.id, e.id, COALESCE(e.version, 1), d.status, d.legal_basis"
	    " FROM dossier d JOIN evaluation e ON e.id = (SELECT x.id FROM evaluation x"
	    "  WHERE x.dossier_id = d.id AND x.deleted = 0 AND x.tier = 'province'"
	    "  ORDER BY COALESCE(x.held_on, '') DESC, x.id DESC LIMIT 1)"
	    " WHERE d.deleted = 0"
	    " AND EXISTS (SELECT 1 FROM decision a WHERE a.dossier_id = d.id AND a.kind = 'approval'"
	    "  AND a.deleted = 0 AND (a.evaluation_id = e.id OR a.evaluation_id IS NULL))"
	    " ORDER BY d.id";
	sqlite3_stmt *st = NULL;
	ocp_candidate *v = NULL;
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(sto_sqlite(c->db), sql, -1, &st, NULL) != SQLITE_OK) {
		return council_sqlerr(c, "finding candidates");
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *send_to = NULL;
		bool yes = false;

		if (ocp_council_candidate(c, (const char *)sqlite3_column_text(st, 4),
			(const char *)sqlite3_column_text(st, 3), &yes, &send_to) != OCOP_OK) {
			com_logf(sto_log(c->db), COM_LOG_WARN, "dossier %s: %s", (const char *)sqlite3_column_text(st, 0),
			    ocp_council_errmsg(c));
			continue;
		}
		if (!yes) {
			continue;
		}
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			ocp_candidate *nv = com_realloc(v, ncap * sizeof(*v));

			if (nv == NULL) {
				sqlite3_finalize(st);
				com_free(v);
				*n = 0;
				return council_fail(c, OCOP_ENOMEM, "out of memory listing candidates");
			}
			v = nv;
			cap = ncap;
		}
		memset(&v[*n], 0, sizeof(v[*n]));
		candidate_col(st, 0, v[*n].dossier_id, sizeof(v[*n].dossier_id));
		candidate_col(st, 1, v[*n].evaluation_id, sizeof(v[*n].evaluation_id));
		v[*n].version = sqlite3_column_int64(st, 2);
		candidate_col(st, 3, v[*n].status, sizeof(v[*n].status));
		v[*n].send_to = send_to;
		(*n)++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		com_free(v);
		*n = 0;
		return council_sqlerr(c, "finding candidates");
	}
	*out = v;
	return OCOP_OK;
}
