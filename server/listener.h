/*
 * listener.h: the nng REP front of a server.
 *
 * REP contexts ("slots") receive requests and queue them; a pool of worker
 * threads takes each in turn, hands it to srv_handle_from() with what the
 * connection says about the caller (its address and, over TLS, the site named
 * in its verified certificate), and starts the reply's send, which completes
 * on its own. The database work runs on the workers, never on nng's threads,
 * and no worker ever waits on a peer, so a slow request or a slow reader
 * cannot stall the server for others; with a pool (server/pool.h) PULLs run
 * side by side while PUSHes take turns.
 *
 * No peer can hold the server: the requests of a connection beyond what a
 * REQ client ever has in flight (a peer pipelining requests without reading
 * replies) are dropped unanswered, a reply a peer does not take in time is
 * dropped with its connection, and the number of connections, in all and of
 * one site, is bounded; so a peer pins at most a few replies' worth of memory.
 * (The listener closes a connection itself only where nng 1.5.2 can do so
 * safely: at its start, or when its reply is stuck in the peer's unread
 * window; see server/netwatch.h for the defect this avoids.) A plain
 * tcp:// listener on an address other than loopback is refused unless allowed.
 */
#ifndef OCOP_SERVER_LISTENER_H
#define OCOP_SERVER_LISTENER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "server/service.h"

#define SRV_LISTEN_WORKERS 16          /* default worker threads */
#define SRV_LISTEN_INFLIGHT 2          /* unanswered requests per connection (a REQ resend makes 2) */
#define SRV_LISTEN_UNSENT 8            /* replies per connection whose send nng has not completed */
#define SRV_LISTEN_SEND_TIMEOUT 10000  /* ms a peer has to take its reply */
#define SRV_LISTEN_CONNECTIONS 4096    /* connections at once */
#define SRV_LISTEN_SITE_CONNECTIONS 4  /* TLS: connections of one site (certificate) at once */

typedef struct srv_listener srv_listener;

typedef struct srv_listen_opts {
	const char *url;          /* tcp://, tls+tcp://, ipc:// */
	int workers;              /* worker threads; 0 = SRV_LISTEN_WORKERS */
	size_t max_message;       /* largest request accepted (nng drops larger ones unread) */
	nng_tls_config *tls;      /* tls+tcp://: this server's TLS, borrowed (the listener takes a hold) */
	bool allow_plain_remote;  /* allow tcp:// on a non-loopback address */
	int send_timeout_ms;      /* 0 = SRV_LISTEN_SEND_TIMEOUT */
	int max_inflight;         /* 0 = SRV_LISTEN_INFLIGHT */
	int max_connections;      /* 0 = SRV_LISTEN_CONNECTIONS */
	const com_log *log;       /* borrowed, may be NULL */
} srv_listen_opts;

/* What the listener saw (operator metrics). */
typedef struct srv_listen_stats {
	uint64_t connections;    /* connections accepted so far */
	uint64_t refused;        /* connections closed at once: no certificate, or too many */
	uint64_t pipelined;      /* requests dropped for too many in flight on their connection */
	uint64_t unread;         /* replies dropped because the peer did not take them */
	int open;                /* connections open now */
} srv_listen_stats;

/*
 * Listen as o says, serving with svc (borrowed; the listener must be closed
 * before svc is). Constructor. Returns OCOP_OK; OCOP_EINVAL (bad URL, TLS URL
 * without a TLS configuration, plain tcp:// on a non-loopback address not
 * allowed; err says which), OCOP_ENET (cannot bind), OCOP_ENOMEM. Caller
 * closes with srv_listener_close().
 */
int srv_listener_open(srv_listener **out /* OUT */, srv_service *svc, const srv_listen_opts *o, char *err,
    size_t errlen);
/* Stop serving, wait for the requests in flight, release everything. Accepts NULL. */
/*
 * Change the limits a reload may change while serving: the reply send
 * timeout (for replies started from now) and the open connections allowed
 * (connections already open stay). 0 leaves a limit as it is.
 */
void srv_listener_set_limits(srv_listener *l, int send_timeout_ms, int max_connections);

void srv_listener_close(srv_listener *l);
/* Copy the counters. Cannot fail. */
void srv_listener_stats(srv_listener *l, srv_listen_stats *out /* OUT */);

#endif /* OCOP_SERVER_LISTENER_H */
