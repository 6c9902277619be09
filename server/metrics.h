/*
 * metrics.h: the server's own counters for /metrics: requests by kind and
 * outcome, error replies by code, bytes in and out, request durations and
 * whole sync durations (a site's HELLO to its ACK) as histograms. The
 * database's numbers (sites, ledger, hand-offs) are not kept here: they are
 * read at scrape time through server/overview.c. Counters live in memory and
 * start again at zero when ocopd starts, as Prometheus expects.
 */
#ifndef OCOP_SERVER_METRICS_H
#define OCOP_SERVER_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/buf.h"

typedef struct srv_metrics srv_metrics;

/*
 * Create an empty set of counters. Returns OCOP_OK or OCOP_ENOMEM.
 * Constructor; caller frees with srv_metrics_free().
 */
int srv_metrics_alloc(srv_metrics **out /* OUT */);
/* Release. Accepts NULL. Cannot fail. Destructor. */
void srv_metrics_free(srv_metrics *m);

/*
 * Count one request: its bytes, the reply's bytes (rep NULL when no reply
 * was sent) and the time it took to serve (ns). The kind, the outcome and
 * the site of a HELLO or ACK are read from the messages themselves.
 * Cannot fail (a counter that cannot be kept is dropped). Threads: safe.
 */
void srv_metrics_request(srv_metrics *m, const uint8_t *req, size_t len, const uint8_t *rep, size_t rlen,
    uint64_t ns);

/*
 * Append the counters in the Prometheus text exposition format (version
 * 0.0.4) to out. Returns OCOP_OK or OCOP_ENOMEM. Threads: safe.
 */
int srv_metrics_write(srv_metrics *m, com_buf *out);

#endif /* OCOP_SERVER_METRICS_H */
