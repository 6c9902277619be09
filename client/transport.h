/*
 * transport.h: the nng REQ transport for sync sessions (a cli_transport).
 *
 * The socket dials in the background and redials after a drop; each round
 * trip waits at most the given time. nng's REQ resends a request whose
 * reply is late, which is safe because every request is idempotent.
 */
#ifndef OCOP_CLIENT_TRANSPORT_H
#define OCOP_CLIENT_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <nng/nng.h>

#include "client/sync.h"

typedef struct cli_nng {
	nng_socket sock; /* REQ socket, owned */
	bool open;       /* sock is open */
	int timeout_ms;  /* per round trip */
	int last_nng;    /* last nng error, for messages */
} cli_nng;

/*
 * Open a REQ socket dialling url. Returns OCOP_OK, OCOP_EINVAL (bad URL) or
 * OCOP_ENET. The dial happens in the background, so an absent server is not
 * an error here: round trips time out until it appears.
 */
int cli_nng_open(cli_nng *t, const char *url, int timeout_ms);
/* Close the socket. Accepts an unopened transport. Cannot fail. */
void cli_nng_close(cli_nng *t);
/* The cli_transport view of t (borrowed). */
cli_transport cli_nng_transport(cli_nng *t);
/* Map an nng error to an ocop_err. */
int cli_err_from_nng(int rv);

#endif /* OCOP_CLIENT_TRANSPORT_H */
