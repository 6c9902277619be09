/*
 * transport.c: nng REQ round trips.
 */
#include "client/transport.h"

#include <string.h>

#include <nng/protocol/reqrep0/req.h>

#include "ocop_err.h"
#include "protocol/envelope.h"

int
cli_err_from_nng(int rv)
{
	switch (rv) {
	case 0:
		return OCOP_OK;
	case NNG_ENOMEM:
		return OCOP_ENOMEM;
	case NNG_ETIMEDOUT:
		return OCOP_ETIMEDOUT;
	case NNG_ECLOSED:
		return OCOP_ECLOSED;
	case NNG_EADDRINVAL:
	case NNG_EINVAL:
	case NNG_ENOTSUP:
		return OCOP_EINVAL;
	case NNG_EMSGSIZE:
		return OCOP_ETOOBIG;
	default:
		return OCOP_ENET;
	}
}

int
cli_nng_open(cli_nng *t, const char *url, int timeout_ms)
{
	int rv;

	memset(t, 0, sizeof(*t));
	t->timeout_ms = timeout_ms;
	if ((rv = nng_req0_open(&t->sock)) != 0) {
		t->last_nng = rv;
		return cli_err_from_nng(rv);
	}
	t->open = true;
	/* No resend while the server may still be working on a big batch (it
	 * would apply it again as duplicates, for nothing): nng still resends at
	 * once when the connection drops and comes back, and a round trip that
	 * times out fails the session, which the next sync continues. */
	if ((rv = nng_setopt_ms(t->sock, NNG_OPT_REQ_RESENDTIME, timeout_ms * 2)) != 0 ||
	    (rv = nng_setopt_ms(t->sock, NNG_OPT_RECVTIMEO, timeout_ms)) != 0 ||
	    (rv = nng_setopt_ms(t->sock, NNG_OPT_SENDTIMEO, timeout_ms)) != 0 ||
	    (rv = nng_setopt_ms(t->sock, NNG_OPT_RECONNMINT, 100)) != 0 ||
	    (rv = nng_setopt_ms(t->sock, NNG_OPT_RECONNMAXT, 2000)) != 0 ||
	    (rv = nng_setopt_size(t->sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_MESSAGE)) != 0 ||
	    (rv = nng_dial(t->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		t->last_nng = rv;
		cli_nng_close(t);
		return cli_err_from_nng(rv);
	}
	return OCOP_OK;
}

void
cli_nng_close(cli_nng *t)
{
	if (t->open) {
		nng_close(t->sock);
		t->open = false;
	}
}

static int
nng_roundtrip(void *arg, const uint8_t *req, size_t len, com_buf *reply)
{
	cli_nng *t = arg;
	nng_msg *msg = NULL;
	int rv;

	if ((rv = nng_msg_alloc(&msg, 0)) != 0 || (rv = nng_msg_append(msg, req, len)) != 0) {
		nng_msg_free(msg);
		return cli_err_from_nng(rv);
	}
	if ((rv = nng_sendmsg(t->sock, msg, 0)) != 0) {
		nng_msg_free(msg); /* ownership moves only on success */
		t->last_nng = rv;
		return cli_err_from_nng(rv);
	}
	if ((rv = nng_recvmsg(t->sock, &msg, 0)) != 0) {
		t->last_nng = rv;
		return cli_err_from_nng(rv);
	}
	rv = com_buf_append(reply, nng_msg_body(msg), nng_msg_len(msg));
	nng_msg_free(msg);
	return rv;
}

cli_transport
cli_nng_transport(cli_nng *t)
{
	cli_transport tr = {nng_roundtrip, t};

	return tr;
}
