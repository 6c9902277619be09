/*
 * upfiles.h: the evidence files of a province's 5-star candidates, sent to
 * the national server after their rows (docs/NATIONAL.md): the files named by
 * the live documents of every handed-off dossier that the national server
 * does not hold yet, in chunks that resume, through the same exchange a site
 * uses with its province (common/store/xfer.h). Nothing else goes up: the
 * national server takes only files its relayed documents name.
 */
#ifndef OCOP_SERVER_UPFILES_H
#define OCOP_SERVER_UPFILES_H

#include <stddef.h>
#include <stdint.h>

#include "common/store/blob.h"
#include "common/store/store.h"
#include "common/store/xfer.h"
#include "server/upstream.h"

/*
 * One step, after the upstream step that relays the candidates' rows: send
 * what the national server wants of the candidates' files, starting no chunk
 * after deadline_ms (CLOCK_MONOTONIC; 0 = none). db is the upstream's own
 * connection (not inside a transaction), b the province's file store.
 * Returns as sto_xfer_run.
 */
int srv_upfiles_step(sto_db *db, sto_blobs *b, const srv_link *link, const char *credential, int64_t deadline_ms,
    sto_xfer_stats *st /* OUT */, char *err, size_t errlen);

#endif /* OCOP_SERVER_UPFILES_H */
