/*
 * link.h: the transport the sync benchmarks run a session over. It carries
 * requests either straight into srv_handle() (in process) or through another
 * transport (nng over loopback TCP), and counts what goes by: round trips,
 * request and reply bytes per message type, and the time spent in the
 * server code. Bytes are the protocol's messages; nng adds its own framing.
 */
#ifndef OCOP_BENCH_LINK_H
#define OCOP_BENCH_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/sync.h"
#include "server/service.h"

#define BN_LINK_TYPES 10 /* message types 0..9 (protocol/envelope.h) */

typedef struct bn_link {
	srv_service *svc;                    /* borrowed in-process server, or NULL */
	cli_transport inner;                 /* the transport used when svc is NULL */
	uint64_t requests;                   /* round trips */
	uint64_t req_bytes;                  /* bytes of every request */
	uint64_t reply_bytes;                /* bytes of every reply */
	uint64_t count[BN_LINK_TYPES];       /* requests per message type */
	uint64_t type_bytes[BN_LINK_TYPES];  /* request + reply bytes per request type */
	double type_s[BN_LINK_TYPES];        /* seconds inside round trips per request type */
	double server_s;                     /* seconds inside srv_handle (in process only) */
	double wire_s;                       /* seconds inside round trips */
	bool deflate;                        /* also measure each message deflated (slow) */
	uint64_t deflated_bytes;             /* request + reply bytes after zlib level 6, when deflate */
} bn_link;

/* Carry requests into svc (borrowed) in this thread. Cannot fail. */
void bn_link_init_local(bn_link *l, srv_service *svc);

/* Carry requests through inner (borrowed). Cannot fail. */
void bn_link_init_remote(bn_link *l, cli_transport inner);

/* Zero the counters (deflate stays as set). Cannot fail. */
void bn_link_reset(bn_link *l);

/* The cli_transport view of l (borrowed, valid while l is). Cannot fail. */
cli_transport bn_link_transport(bn_link *l);

/* Total bytes both ways. Cannot fail. */
uint64_t bn_link_bytes(const bn_link *l);

#endif /* OCOP_BENCH_LINK_H */
