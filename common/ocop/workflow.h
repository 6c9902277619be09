/*
 * workflow.h: the dossier status machine of one legal basis, loaded from a
 * configuration file (data/workflow/<basis>.flow, format in data/workflow/README.md).
 *
 * It answers three questions for the replica merge and the CLI: may this role
 * move a dossier from this status to that one, what does the move require, and
 * which of two concurrent statuses wins. Requirements ("deadline", "approved")
 * are named flags reported to the caller; this module does not check them.
 */
#ifndef OCOP_OCOP_WORKFLOW_H
#define OCOP_OCOP_WORKFLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ocop/authority.h"

/* The legal basis a dossier is evaluated under when it names none (OCOP.md, Decision 2). */
#define OCP_FLOW_DEFAULT_BASIS "qd26-2026"

/* How a transition moves a dossier. */
typedef enum ocp_flow_kind {
	OCP_FLOW_FORWARD = 0, /* to a higher rank; the epoch stays */
	OCP_FLOW_REOPEN = 1,  /* back to a lower rank; needs a reason and bumps the epoch */
} ocp_flow_kind;

/* One status a dossier can have. Owned by its ocp_flow; read-only for callers. */
typedef struct ocp_state {
	char *name;    /* owned; the stable id stored in dossier.status */
	char *label;   /* owned; Vietnamese label, UTF-8 */
	int rank;      /* forward moves go to a higher rank; 0 or more */
	bool terminal; /* no move leaves this status */
	bool candidate; /* a dossier here with an approved potential-5★ result is handed to the national tier */
	int line;      /* where the state was declared in its file */
} ocp_state;

/* One allowed move. Owned by its ocp_flow; read-only for callers. */
typedef struct ocp_transition {
	const ocp_state *from; /* borrowed from the same flow */
	const ocp_state *to;   /* borrowed from the same flow */
	ocp_flow_kind kind;    /* forward or reopen */
	unsigned roles;        /* mask of OCP_ROLE_BIT() of the roles that may make it */
	char **requires;       /* owned array of nrequires flag names the caller must check */
	size_t nrequires;      /* entries in requires */
	int line;              /* where the transition was written in its file */
} ocp_transition;

/* A loaded, validated workflow. Opaque heap object. */
typedef struct ocp_flow ocp_flow;

/*
 * Load and validate one workflow file. Errors are "FILE:LINE: reason" in err.
 * Constructor of ocp_flow.
 * Returns: OCOP_OK; OCOP_ENOENT (no such file), OCOP_EIO, OCOP_EINPUT (the file
 * is malformed or inconsistent: unknown state or role, duplicate state, a forward
 * move that does not raise the rank, an unreachable state...), OCOP_ENOMEM.
 * On error *out is NULL.
 * Ownership: caller frees *out with ocp_flow_free().
 */
int ocp_flow_load_file(ocp_flow **out /* OUT */, const char *path, char *err, size_t errlen);

/*
 * Load `<data_dir>/workflow/<basis>.flow` and check that its `flow` line names
 * `basis` (NULL means OCP_FLOW_DEFAULT_BASIS). The caller resolves data_dir.
 * Returns as ocp_flow_load_file(), plus OCOP_EINVAL for a basis that is not a
 * plain name ([a-z0-9.-]). Ownership as ocp_flow_load_file().
 */
int ocp_flow_load_basis(ocp_flow **out /* OUT */, const char *data_dir, const char *basis,
    char *err, size_t errlen);

/* Release a workflow. Accepts NULL. Cannot fail. Destructor of ocp_flow. */
void ocp_flow_free(ocp_flow *flow);

/* The legal basis named on the `flow` line ("qd26-2026"). Borrowed, lives as long as flow. */
const char *ocp_flow_basis(const ocp_flow *flow);

/* The title on the `flow` line. Borrowed, lives as long as flow. */
const char *ocp_flow_title(const ocp_flow *flow);

/* Name of the status a new dossier starts in. Borrowed, lives as long as flow. */
const char *ocp_flow_initial(const ocp_flow *flow);

/* The state called `name`, or NULL when the flow has none. Borrowed. */
const ocp_state *ocp_flow_state(const ocp_flow *flow, const char *name);

/* Number of states, and the i-th in file order (NULL past the end). Borrowed. */
size_t ocp_flow_state_count(const ocp_flow *flow);
const ocp_state *ocp_flow_state_at(const ocp_flow *flow, size_t i);

/* Number of transitions, and the i-th in file order (NULL past the end). Borrowed. */
size_t ocp_flow_transition_count(const ocp_flow *flow);
const ocp_transition *ocp_flow_transition_at(const ocp_flow *flow, size_t i);

/* Rank of a status, or -1 when the name is unknown (below every known status). */
int ocp_flow_rank(const ocp_flow *flow, const char *state);

/*
 * Decide whether a site of `role` may move a dossier from status `from` to `to`.
 * On success *t (when t is not NULL) is the transition, which tells the caller
 * whether the move is a reopen (bump the epoch, demand a reason) and which flags
 * it requires; on error *t is NULL.
 * Returns: OCOP_OK; OCOP_EINVAL for an unknown status or role ("unknown state
 * 'x' in workflow qd26-2026"); OCOP_ESTATE when no transition leads from `from`
 * to `to` ("cannot move a dossier from 'X' to 'Y': allowed next states are ...");
 * OCOP_EAUTH when one does but not for this role ("a commune office cannot make
 * 'scored -> recognised'; allowed: province"). err may be NULL.
 */
int ocp_flow_check(const ocp_flow *flow, const char *from, const char *to, int role,
    const ocp_transition **t /* OUT, may be NULL */, char *err, size_t errlen);

/*
 * Order two concurrent statuses of one dossier: the higher epoch wins whatever the
 * ranks (a reopen is deliberate); with equal epochs the higher rank wins. Unknown
 * names rank -1. Returns >0 when a wins, <0 when b wins, 0 on a tie (equal epoch
 * and rank), where the caller falls back to last-writer-wins. Cannot fail.
 */
int ocp_flow_wins(const ocp_flow *flow, const char *state_a, int64_t epoch_a,
    const char *state_b, int64_t epoch_b);

/*
 * List the transitions leaving `from` that any role in `role_mask` may make
 * (OCP_ROLE_ALL for all), in file order, for a CLI's "next steps". Writes at most
 * cap pointers into out and returns how many there are in total (like snprintf),
 * 0 for an unknown or terminal status. Cannot fail.
 */
size_t ocp_flow_next(const ocp_flow *flow, const char *from, unsigned role_mask,
    const ocp_transition **out /* OUT */, size_t cap);

/* True when the transition lists `flag` among its requirements. */
bool ocp_transition_requires(const ocp_transition *t, const char *flag);

/*
 * Is status one in which a dossier with an approved potential-5★ result is a
 * national candidate (the province hands it over, or has)? The flow file
 * marks such states `candidate`. False for an unknown status.
 */
bool ocp_flow_candidate(const ocp_flow *flow, const char *status);

/*
 * The state a province moves a candidate in `status` to when it sends the
 * dossier to the national tier: the forward move out of a candidate state
 * that requires `national_dossier`. NULL when the dossier is already past
 * that step (or status is no candidate).
 */
const ocp_state *ocp_flow_handoff(const ocp_flow *flow, const char *status);

/* True when the transition bumps the dossier's epoch (every reopen does). */
bool ocp_transition_bumps_epoch(const ocp_transition *t);

/* True when the transition needs a written reason (every reopen, or `requires reason`). */
bool ocp_transition_needs_reason(const ocp_transition *t);

#endif /* OCOP_OCOP_WORKFLOW_H */
