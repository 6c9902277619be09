/*
 * dial.h: the client end of a link (a site to its server, a province to the
 * national server): an nng REQ socket dialling tcp:// or tls+tcp://, and one
 * request/reply round trip at a time.
 *
 * The first connection is made when the dialer opens, so a failure says what
 * went wrong (connection refused, unknown host, TLS handshake, timed out);
 * after that nng redials in the background when the link drops. Every wait
 * ends early when the caller's stop flag is set (Ctrl-C on `ocop sync`).
 * nng's REQ resends a request whose reply is late, which is safe because every
 * request of the protocol is idempotent.
 */
#ifndef OCOP_LINK_DIAL_H
#define OCOP_LINK_DIAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/buf.h"

typedef struct lnk_dialer lnk_dialer;

/*
 * Send one request and receive its reply (appended to reply): the seam
 * between a session and its link, which tests replace to run both ends in
 * one process and to put faults between them.
 */
typedef struct lnk_transport {
	int (*roundtrip)(void *arg, const uint8_t *req, size_t len, com_buf *reply);
	void *arg; /* borrowed; passed to roundtrip */
} lnk_transport;

typedef struct lnk_dial_opts {
	const char *url;         /* tcp://HOST:PORT, tls+tcp://HOST:PORT, ipc://PATH */
	int timeout_ms;          /* the first connection, and each round trip, at most */
	const char *ca_pem;      /* tls+tcp://: the CA the server's certificate must come from */
	const char *cert_pem;    /* tls+tcp://: this end's certificate */
	const char *key_pem;     /* tls+tcp://: its key */
	size_t max_message;      /* largest reply accepted; 0 = PROTO_MAX_MESSAGE */
	const volatile sig_atomic_t *stop; /* nonzero: stop waiting now (may be NULL) */
} lnk_dial_opts;

/*
 * Connect to o->url (strings are copied as needed). Constructor.
 * Returns OCOP_OK, or why not, with a sentence in err: OCOP_EINVAL (bad URL,
 * or tls+tcp:// without a certificate), OCOP_EINPUT (a certificate or key
 * that does not parse), OCOP_EREFUSED (connection refused), OCOP_EHOST
 * (unknown host), OCOP_ETLS (TLS handshake failed, or the server does not
 * speak TLS), OCOP_ETIMEDOUT, OCOP_ECANCELED (stop flag), OCOP_ENET,
 * OCOP_ENOMEM. Caller closes with lnk_dialer_close().
 */
int lnk_dialer_open(lnk_dialer **out /* OUT */, const lnk_dial_opts *o, char *err, size_t errlen);
/* Close the socket and release everything. Accepts NULL. Destructor. */
void lnk_dialer_close(lnk_dialer *d);

/*
 * One round trip: send req, append the reply to reply. Returns OCOP_OK,
 * OCOP_ETIMEDOUT, OCOP_ECANCELED (stop flag), OCOP_ETOOBIG, OCOP_ENET,
 * OCOP_ENOMEM; lnk_dialer_errmsg() then says more.
 * Threads: one round trip at a time per dialer.
 */
int lnk_dialer_roundtrip(lnk_dialer *d, const uint8_t *req, size_t len, com_buf *reply);
/* The lnk_transport view of d (borrowed). Cannot fail. */
lnk_transport lnk_dialer_transport(lnk_dialer *d);

/* A sentence about the last failure (borrowed, valid until the next call on d). */
const char *lnk_dialer_errmsg(lnk_dialer *d);

/* Map an nng error code to an ocop_err. Cannot fail. */
int lnk_err_from_nng(int rv);

/*
 * Is url plain (tcp://) to an address other than loopback? Servers refuse to
 * listen so unless told to, and clients say so. Cannot fail.
 */
bool lnk_url_plain_remote(const char *url);
/* Does url use TLS (tls+tcp://)? Cannot fail. */
bool lnk_url_tls(const char *url);

#endif /* OCOP_LINK_DIAL_H */
