/*
 * candidate.h: which dossiers of a province's replica are national (5★)
 * candidates (OCOP.md 1.4 step 7, Decision 4): the latest provincial
 * evaluation of the dossier has the chair's approval, and the dossier's
 * status is one its workflow marks `candidate` (data/workflow/README.md).
 * Whether the one scoring function makes the evaluation a potential 5★ is
 * the council's result (ocp_council_result_compute); the province's server
 * asks both before it hands a dossier over (server/handoff.c).
 */
#ifndef OCOP_OCOP_CANDIDATE_H
#define OCOP_OCOP_CANDIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "common/ocop/council.h"

/* One candidate. */
typedef struct ocp_candidate {
	char dossier_id[37];    /* the dossier */
	char evaluation_id[37]; /* its latest provincial evaluation, the approved one */
	int64_t version;        /* that evaluation's version */
	char status[64];        /* the dossier's status */
	const char *send_to;    /* the status the province's hand-off moves it to, NULL: past that step
				   (borrowed from the council) */
} ocp_candidate;

/*
 * The candidates of c's replica, by dossier id, as a com_malloc'd array
 * (caller com_free()s; *out NULL when none). A dossier of a legal basis with
 * no workflow here is no candidate (logged). Returns OCOP_OK, OCOP_EDB,
 * OCOP_ENOMEM (message in ocp_council_errmsg).
 */
int ocp_candidates_find(ocp_council *c, ocp_candidate **out /* OUT */, size_t *n /* OUT */);

#endif /* OCOP_OCOP_CANDIDATE_H */
