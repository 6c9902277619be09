/*
 * service.h: what a server does with one request, independent of transport.
 *
 * srv_handle() takes the bytes of one request (HELLO, PUSH, PULL, ACK) and
 * produces the bytes of its reply, always: a malformed, oversized,
 * wrong-version or unauthenticated request gets an ERROR reply naming the
 * problem, and the database is untouched by it. The nng listener (listener.c),
 * the in-process simulation and the sneakernet import all call this one
 * function, so there is one server behaviour.
 *
 * With a pool (server/pool.h) many threads may call it at once: HELLO and
 * PULL run on read connections, each in a read transaction (one snapshot),
 * while PUSH and ACK take the writer's turn on db. Without one, one caller at
 * a time.
 */
#ifndef OCOP_SERVER_SERVICE_H
#define OCOP_SERVER_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/merge.h"
#include "common/store/store.h"
#include "common/util/buf.h"
#include "common/util/fault.h"
#include "common/util/log.h"
#include "server/registry.h"

#define SRV_DEFAULT_BATCH (2048u * 1024u) /* PUSH/PULL_OK byte budget (before deflating): well under a second of the writer's turn */
#define SRV_MIN_BATCH (32u * 1024u)      /* the smallest budget a shared batch_memory gives a site */

struct srv_guard;

/* How a request reached the server; srv_handle_from() authenticates by it. */
typedef enum srv_via {
	SRV_VIA_LOCAL = 0, /* in process (tests, simulations): the credential alone */
	SRV_VIA_TCP,       /* a plain connection (loopback): the credential alone */
	SRV_VIA_TLS,       /* a verified TLS connection: the certificate's site and the credential */
	SRV_VIA_BUNDLE,    /* a bundle file whose MAC the caller verified for `site` */
} srv_via;

/* Who sent a request, as the transport knows it. Strings are borrowed for the call. */
typedef struct srv_caller {
	srv_via via;             /* how it arrived */
	const char *addr;        /* remote address for limits and logs, "" in process */
	const char *cert_site;   /* SRV_VIA_TLS: the common name of the peer's verified certificate */
	const char *cert_sha256; /* SRV_VIA_TLS: its fingerprint */
	const char *site;        /* SRV_VIA_BUNDLE: the site the bundle is authenticated for */
} srv_caller;

typedef struct srv_service {
	sto_db *db;               /* borrowed replica of this server */
	const sto_policy *policy; /* borrowed merge policy (authority, workflow) */
	const sto_policy *relay_policy; /* borrowed; at a national server, the policy for what
					   a province relays (docs/NATIONAL.md); NULL = no relay */
	const com_log *log;       /* borrowed log hook, may be NULL */
	_Atomic size_t max_batch; /* byte budget for PULL_OK and the largest PUSH taken (a reload may change it) */
	_Atomic size_t batch_memory;      /* bytes of batches in flight the server allows for all sites at once,
				     shared among the open connections (srv_service_batch); 0 = no sharing */
	_Atomic int links;        /* connections open now (the listener keeps it) */
	_Atomic uint64_t requests; /* requests served (operator metrics) */
	_Atomic uint64_t errors;  /* ERROR replies sent */
	const com_fault *fault;   /* borrowed crash-point seam for tests, NULL in production */
	struct srv_guard *guard;  /* borrowed limiter of failed authentication, may be NULL */
	struct srv_pool *pool;    /* borrowed read connections and writer's turn (server/pool.h); NULL:
				     one caller at a time, everything on db */
	_Atomic uint64_t auth_failures; /* requests refused for their identity (operator metrics) */
	_Atomic uint64_t too_big; /* PUSHes refused for their size */
	struct srv_metrics *metrics; /* borrowed request counters (server/metrics.h), NULL = none */
	struct srv_files *files;  /* borrowed evidence-file service (server/files.h); NULL: file
				     requests are refused as by a server without files */
} srv_service;

/* Initialise in place (borrowing db, policy and log). Cannot fail. */
void srv_service_init(srv_service *s, sto_db *db, const sto_policy *policy, const com_log *log);

/*
 * The batch budget a site is given now (HELLO_OK, and a PULL_OK page at
 * most): max_batch, or batch_memory shared among the open connections when
 * that is less (half a share each for a request and a reply), but never under
 * SRV_MIN_BATCH. Every connection can hold a request and a reply of about
 * this size in the server's memory, so with
 * hundreds of sites at once the share, not max_batch, bounds it. A PUSH is
 * refused only above max_batch: a site keeps the budget it agreed at HELLO.
 */
size_t srv_service_batch(const srv_service *s);

/*
 * Serve one request: append the reply message to reply. Returns OCOP_OK when a
 * reply (normal or ERROR) was produced, OCOP_ENOMEM when not even an ERROR
 * could be built, OCOP_ECLOSED when a test's crash point stopped it (nothing
 * committed, no reply).
 */
int srv_handle(srv_service *s, const uint8_t *req, size_t len, com_buf *reply);

/*
 * srv_handle for a request that arrived as `who` says (NULL = SRV_VIA_LOCAL).
 * Authentication: an address the guard has blocked is refused at once; over
 * TLS the certificate must name the site the request claims and be the one
 * the server issued to it last; in a bundle the request must be the bundle's
 * site's; otherwise (and also over TLS) the credential must match. Every such
 * failure gets the same ERROR (EAUTH "authentication failed") whether the
 * site is unknown or the secret wrong; the log says which, within the guard's
 * bounds. A revoked site gets EREVOKED, once it has proven who it is.
 */
int srv_handle_from(srv_service *s, const srv_caller *who, const uint8_t *req, size_t len, com_buf *reply);

/*
 * Authenticate a request of another module (the file service) that arrived
 * as `who` says, claiming to be from site with credential, exactly as the
 * session's requests are (srv_handle_from), reading the registry on db (the
 * caller's connection); on failure the ERROR reply is appended to reply and
 * *ok is false. Returns OCOP_OK (reply or not) or OCOP_ENOMEM.
 */
int srv_service_auth(srv_service *s, sto_db *db, const srv_caller *who, const char *site, const char *credential,
    srv_peer *peer /* OUT */, com_buf *reply, bool *ok /* OUT */);

/* Append an ERROR reply (code, text), counted and logged as the service's own. Returns as proto_error_encode. */
int srv_service_error(srv_service *s, com_buf *reply, int code, const char *text);

#endif /* OCOP_SERVER_SERVICE_H */
