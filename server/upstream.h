/*
 * upstream.h: a province server's link to the national server (docs/NATIONAL.md).
 *
 * One step, run from ocopd's main loop every upstream_interval_ms: record new
 * 5-star candidates (handoff.h), relay each waiting candidate's tree to the
 * national server until it is acknowledged, then relay later changes to the
 * rows of handed-off trees, then pull what the national tier decided and merge
 * it with the authority the national server lends (so the province's sites get
 * it through their normal pulls). The database is touched only in short
 * transactions, never across a round trip; every request is idempotent, so a
 * step cut anywhere resumes in the next one without loss or duplicates.
 */
#ifndef OCOP_SERVER_UPSTREAM_H
#define OCOP_SERVER_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/link/dial.h"
#include "common/store/merge.h"
#include "common/store/store.h"
#include "common/util/buf.h"
#include "common/util/log.h"

/*
 * Send one request to the national server and append its reply: the link's
 * transport (common/link/dial.h: lnk_dialer_transport over tls+tcp://, or a
 * test's in-process seam).
 */
typedef lnk_transport srv_link;

typedef struct srv_upstream_opts {
	const char *credential;        /* this province's credential at the national server */
	const sto_policy *pull_policy; /* borrowed: the merge policy for the national tier's changes */
	const char *data_dir;          /* rules for computing results and moving dossiers; borrowed */
	size_t max_batch;              /* PUSH byte budget; 0 = the national server's */
	const com_log *log;            /* borrowed, may be NULL */
} srv_upstream_opts;

/* What one step did. */
typedef struct srv_upstream_stats {
	uint32_t new_candidates; /* hand-offs recorded */
	uint32_t acknowledged;   /* hand-offs whose tree the national server now holds */
	uint32_t decided;        /* hand-offs whose national result arrived */
	uint64_t relayed;        /* changes pushed (full and incremental) */
	uint64_t rejected;       /* of those, refused by the national server */
	uint64_t pulled;         /* changes pulled */
	uint64_t applied;        /* of those, newly merged */
} srv_upstream_stats;

/* The upstream link of one province replica. Opaque heap object. */
typedef struct srv_upstream srv_upstream;

/*
 * Prepare the upstream work on db (borrowed; a province's replica, used by
 * nothing else while a step runs). Copies the credential. Constructor.
 * Returns OCOP_OK, OCOP_EINVAL (not a province replica), OCOP_ENOMEM; err says
 * why. Caller closes with srv_upstream_close().
 */
int srv_upstream_open(srv_upstream **out /* OUT */, sto_db *db, const srv_upstream_opts *o, char *err,
    size_t errlen);
/* Release. Accepts NULL. Destructor. */
void srv_upstream_close(srv_upstream *u);

/*
 * One step (see the file comment). Returns OCOP_OK, or the first failure: a
 * transport error (OCOP_ENET, OCOP_ETIMEDOUT), an ERROR reply's code, OCOP_EPROTO,
 * OCOP_EDB; err says why. What was committed before a failure stays, and a
 * hand-off not yet acknowledged stays waiting for the next step.
 */
int srv_upstream_step(srv_upstream *u, const srv_link *link, srv_upstream_stats *st /* OUT */, char *err,
    size_t errlen);

/*
 * Apply a reply bundle that the national server wrote (`ocopd import` at the
 * national office) for this province's hand-off package: merge its PULL_OK
 * pages as a pull would (same policy, cursor and `via`), then mark decided
 * hand-offs. The file is verified whole first. Importing the same reply again
 * changes nothing. Returns OCOP_OK; OCOP_ECORRUPT, OCOP_EPROTO, OCOP_EVERSION
 * (damaged or not a reply for this province: nothing done); OCOP_ESTATE (the
 * reply continues from a position this province has not reached); OCOP_EDB.
 */
int srv_upstream_apply_reply(srv_upstream *u, const uint8_t *bundle, size_t len, srv_upstream_stats *st /* OUT */,
    char *err, size_t errlen);

#endif /* OCOP_SERVER_UPSTREAM_H */
