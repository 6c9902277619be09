/*
 * sync.h: one sync session of a site with its server: HELLO, then PUSH its own
 * changes above the server's high-water mark in site_seq order, then PULL from
 * its cursor and merge, then ACK.
 *
 * Resumable by construction: the server's high-water mark says where to push
 * from, and the pull cursor is committed in the same transaction as the
 * changes it covers, so a session cut at any point continues where it
 * stopped, with no change lost or applied twice.
 * The transport is a seam (cli_transport) so tests can run it in process and
 * put faults between the two ends.
 */
#ifndef OCOP_CLIENT_SYNC_H
#define OCOP_CLIENT_SYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/link/dial.h"
#include "common/store/merge.h"
#include "common/store/store.h"
#include "common/util/buf.h"
#include "common/util/fault.h"
#include "protocol/session.h"

/* Send one request and receive its reply (appended to reply): common/link's seam. */
typedef lnk_transport cli_transport;

typedef struct cli_sync_opts {
	const char *credential; /* this site's secret for the server */
	size_t max_batch;       /* PUSH byte budget; 0 = the server's */
	int max_rounds;         /* PUSH/PULL round limit per session; 0 = 10000 */
	const com_fault *fault; /* crash-point seam for tests, NULL in production */
} cli_sync_opts;

typedef struct cli_sync_stats {
	uint64_t pushed;     /* changes sent and now held by the server */
	uint64_t rejected;   /* of those, refused by the server */
	uint64_t pulled;     /* changes received */
	uint64_t applied;    /* of those, newly merged here */
	uint64_t conflicts;  /* ledger entries written while merging */
	uint64_t high_water; /* the server's high-water mark for this site after the session */
	uint64_t cursor;     /* this site's pull cursor after the session */
} cli_sync_stats;

/*
 * Run one session. pol orders statuses (the server checks authority).
 * Returns OCOP_OK, or the failure: a transport error (OCOP_ENET,
 * OCOP_ETIMEDOUT), an ERROR reply's code (its text in err), OCOP_EPROTO for a
 * malformed reply, OCOP_EDB. Whatever was committed before a failure stays.
 * The outcome is recorded in meta (last_sync, last_error) for `ocop status`.
 */
int cli_sync_once(sto_db *db, const sto_policy *pol, const cli_transport *t,
    const cli_sync_opts *opts, cli_sync_stats *stats /* OUT */, char *err, size_t errlen);

/*
 * Record a session's outcome in meta (last_sync, or last_error with the
 * time) and the attempt's time, for `ocop status`. Cannot fail (a failed
 * write only loses the note).
 */
void cli_sync_record(sto_db *db, int rv, const char *err);

/* Number of this site's changes the server has not acknowledged yet. */
int cli_sync_pending(sto_db *db, uint64_t *pending /* OUT */);

/* ===== Session steps, shared with the sneakernet bundles (client/bundle.c) ===== */

/* Fill the HELLO this site sends (credential may be NULL). Cannot fail. */
void cli_sync_hello(sto_db *db, const char *credential, proto_hello *h /* OUT */);

/*
 * Build one PUSH of this site's own changes above hw into req (reset first),
 * in site_seq order, up to budget bytes (a single change may exceed it).
 * *count is how many went in and *last_seq the last one's seq (untouched
 * when none). Returns OCOP_OK, OCOP_EDB, OCOP_ENOMEM.
 */
int cli_sync_build_push(sto_db *db, const char *credential, uint64_t hw, size_t budget,
    com_buf *req, uint32_t *count /* OUT */, uint64_t *last_seq /* IN/OUT */);

/*
 * Take in a server's PUSH_OK, in one transaction: each rejection once into
 * the ledger (counted in s->rejected), the server's HLC into this node's
 * clock, and push_high_water set to the server's high-water mark (the
 * server's word, also when lower: it then holds less than this site thought).
 * Returns OCOP_OK or OCOP_EDB (nothing committed).
 */
int cli_sync_apply_push_ok(sto_db *db, const proto_push_ok *ok, cli_sync_stats *s /* IN/OUT */);

/*
 * Take in a PULL_OK page, in one transaction: merge its changes (counted in
 * s->pulled, s->applied, s->conflicts), the server's HLC into the clock, and,
 * when move_cursor, pull_cursor set to ok->next_cursor, so the cursor never
 * covers changes that are not committed. Returns OCOP_OK, or OCOP_EDB /
 * OCOP_ENOMEM with a message in err (nothing committed).
 */
int cli_sync_apply_pull_ok(sto_db *db, const sto_policy *pol, const proto_pull_ok *ok,
    bool move_cursor, cli_sync_stats *s /* IN/OUT */, char *err, size_t errlen);

#endif /* OCOP_CLIENT_SYNC_H */
