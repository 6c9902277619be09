/*
 * service.h: what a server does with one request, independent of transport.
 *
 * srv_handle() takes the bytes of one request (HELLO, PUSH, PULL, ACK) and
 * produces the bytes of its reply, always: a malformed, oversized,
 * wrong-version or unauthenticated request gets an ERROR reply naming the
 * problem, and the database is untouched by it. The nng listener (listener.c),
 * the in-process simulation and the sneakernet import all call this one
 * function, so there is one server behaviour.
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

#define SRV_DEFAULT_BATCH (512u * 1024u) /* PUSH/PULL_OK byte budget: a few seconds of work at most */

typedef struct srv_service {
	sto_db *db;               /* borrowed replica of this server */
	const sto_policy *policy; /* borrowed merge policy (authority, workflow) */
	const sto_policy *relay_policy; /* borrowed; at a national server, the policy for what
					   a province relays (docs/NATIONAL.md); NULL = no relay */
	const com_log *log;       /* borrowed log hook, may be NULL */
	size_t max_batch;         /* byte budget for PULL_OK and the PUSH size servers ask for */
	uint64_t requests;        /* requests served (operator metrics) */
	uint64_t errors;          /* ERROR replies sent */
	const com_fault *fault;   /* borrowed crash-point seam for tests, NULL in production */
	struct srv_metrics *metrics; /* borrowed request counters (server/metrics.h), NULL = none */
	struct srv_files *files;  /* borrowed evidence-file service (server/files.h); NULL: file
				     requests are refused as by a server without files */
} srv_service;

/* Initialise in place (borrowing db, policy and log). Cannot fail. */
void srv_service_init(srv_service *s, sto_db *db, const sto_policy *policy, const com_log *log);

/*
 * Serve one request: append the reply message to reply. Returns OCOP_OK when a
 * reply (normal or ERROR) was produced, OCOP_ENOMEM when not even an ERROR
 * could be built, OCOP_ECLOSED when a test's crash point stopped it (nothing
 * committed, no reply).
 */
int srv_handle(srv_service *s, const uint8_t *req, size_t len, com_buf *reply);

/*
 * Authenticate a request of another module (the file service) claiming to
 * be from site with credential, exactly as the session's requests are; on
 * failure the ERROR reply is appended to reply and *ok is false.
 * Returns OCOP_OK (reply or not) or OCOP_ENOMEM.
 */
int srv_service_auth(srv_service *s, const char *site, const char *credential, srv_peer *peer /* OUT */,
    com_buf *reply, bool *ok /* OUT */);

/* Append an ERROR reply (code, text), counted and logged as the service's own. Returns as proto_error_encode. */
int srv_service_error(srv_service *s, com_buf *reply, int code, const char *text);

#endif /* OCOP_SERVER_SERVICE_H */
