/*
 * dial.c: the client end of a link (see dial.h).
 */
#include "common/link/dial.h"

#include <stdio.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

#include "common/link/tls.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/envelope.h"

#define DIAL_POLL_MS 50 /* how often a wait looks at the stop flag */

struct lnk_dialer {
	nng_socket sock;          /* REQ socket, owned */
	bool open;                /* sock is open */
	nng_dialer dialer;        /* owned by sock */
	nng_tls_config *tls;      /* owned hold; NULL for plain links */
	nng_aio *aio;             /* owned: one operation at a time */
	nng_mtx *mtx;             /* owned: guards done */
	nng_cv *cv;               /* owned: signalled when the aio or the first dial completes */
	bool done;                /* the operation waited on has completed */
	int dial_rv;              /* result of the first dial */
	int timeout_ms;           /* per wait */
	const volatile sig_atomic_t *stop; /* borrowed, may be NULL */
	char errmsg[512];         /* last failure */
};

int
lnk_err_from_nng(int rv)
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
	case NNG_ECANCELED:
		return OCOP_ECANCELED;
	case NNG_ECONNREFUSED:
		return OCOP_EREFUSED;
	case NNG_EADDRINVAL:
		return OCOP_EHOST;
	case NNG_ECRYPTO:
	case NNG_EPEERAUTH:
		return OCOP_ETLS;
	case NNG_EINVAL:
	case NNG_ENOTSUP:
		return OCOP_EINVAL;
	case NNG_EMSGSIZE:
		return OCOP_ETOOBIG;
	default:
		return OCOP_ENET;
	}
}

/* The host part of an nng URL into out ("" when none). */
static void
dial_host(const char *url, char *out, size_t cap)
{
	nng_url *u = NULL;

	out[0] = 0;
	if (nng_url_parse(&u, url) == 0) {
		snprintf(out, cap, "%s", u->u_hostname ? u->u_hostname : "");
		nng_url_free(u);
	}
}

bool
lnk_url_tls(const char *url)
{
	return strncmp(url, "tls+tcp://", 10) == 0 || strncmp(url, "tls+tcp4://", 11) == 0 ||
	    strncmp(url, "tls+tcp6://", 11) == 0;
}

bool
lnk_url_plain_remote(const char *url)
{
	char host[256];

	if (strncmp(url, "tcp://", 6) != 0 && strncmp(url, "tcp4://", 7) != 0 && strncmp(url, "tcp6://", 7) != 0) {
		return false;
	}
	dial_host(url, host, sizeof(host));
	return !(strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 || strcmp(host, "[::1]") == 0 ||
	    strcmp(host, "localhost") == 0);
}

static void
dial_aio_cb(void *arg)
{
	lnk_dialer *d = arg;

	nng_mtx_lock(d->mtx);
	d->done = true;
	nng_cv_wake(d->cv);
	nng_mtx_unlock(d->mtx);
}

/* The first dial, on its own thread: nng's blocking start reports why it failed. */
static void
dial_first(void *arg)
{
	lnk_dialer *d = arg;
	int rv = nng_dialer_start(d->dialer, 0);

	nng_mtx_lock(d->mtx);
	d->dial_rv = rv;
	d->done = true;
	nng_cv_wake(d->cv);
	nng_mtx_unlock(d->mtx);
}

/*
 * Wait until done, the timeout or the stop flag. Returns 0 when done,
 * NNG_ETIMEDOUT or NNG_ECANCELED otherwise (the operation is still running).
 */
static int
dial_wait(lnk_dialer *d, int timeout_ms)
{
	nng_time until = nng_clock() + (nng_time)timeout_ms;
	int rv = 0;

	nng_mtx_lock(d->mtx);
	while (!d->done) {
		nng_time now = nng_clock();
		nng_time next = now + DIAL_POLL_MS;
		if (d->stop != NULL && *d->stop) {
			rv = NNG_ECANCELED;
			break;
		}
		if (timeout_ms >= 0 && now >= until) {
			rv = NNG_ETIMEDOUT;
			break;
		}
		(void)nng_cv_until(d->cv, timeout_ms >= 0 && next > until ? until : next);
	}
	nng_mtx_unlock(d->mtx);
	return rv;
}

/* A sentence for a failed first dial. */
static void
dial_explain(lnk_dialer *d, const char *url, int rv)
{
	char host[256];
	char tls[LNK_TLS_REASON_MAX];

	dial_host(url, host, sizeof(host));
	switch (lnk_err_from_nng(rv)) {
	case OCOP_EREFUSED:
		snprintf(d->errmsg, sizeof(d->errmsg), "connection refused by %s: is the server running?", url);
		break;
	case OCOP_EHOST:
		snprintf(d->errmsg, sizeof(d->errmsg), "unknown host '%s': check the server address", host);
		break;
	case OCOP_ETLS:
		lnk_tls_last_failure(tls, sizeof(tls));
		snprintf(d->errmsg, sizeof(d->errmsg), "TLS handshake with %s failed: %s", url,
		    tls[0] ? tls : nng_strerror(rv));
		break;
	case OCOP_ETIMEDOUT:
		snprintf(d->errmsg, sizeof(d->errmsg), "no connection to %s within %d ms", url, d->timeout_ms);
		break;
	default:
		lnk_tls_last_failure(tls, sizeof(tls));
		if (lnk_url_tls(url) && tls[0]) {
			snprintf(d->errmsg, sizeof(d->errmsg), "TLS handshake with %s failed: %s", url, tls);
		} else if (rv == NNG_ECONNSHUT || rv == NNG_ECONNRESET || rv == NNG_EPROTO || rv == NNG_ECLOSED) {
			snprintf(d->errmsg, sizeof(d->errmsg),
			    "%s closed the connection while it opened (%s): %s", url, nng_strerror(rv),
			    lnk_url_tls(url) ? "is it a plain tcp:// server?" : "does it expect tls+tcp://?");
		} else {
			snprintf(d->errmsg, sizeof(d->errmsg), "cannot connect to %s: %s", url, nng_strerror(rv));
		}
		break;
	}
}

/* Classify a first-dial failure, where a closed or garbled connection on a TLS link is a TLS failure. */
static int
dial_code(const char *url, int rv)
{
	char tls[LNK_TLS_REASON_MAX];
	int code = lnk_err_from_nng(rv);

	if (code == OCOP_ENET || code == OCOP_ECLOSED) {
		lnk_tls_last_failure(tls, sizeof(tls));
		if (lnk_url_tls(url) || tls[0]) {
			return OCOP_ETLS;
		}
		return OCOP_ENET;
	}
	return code;
}

int
lnk_dialer_open(lnk_dialer **out, const lnk_dial_opts *o, char *err, size_t errlen)
{
	lnk_dialer *d;
	nng_thread *thr = NULL;
	char host[256];
	int rv;

	*out = NULL;
	err[0] = 0;
	d = com_calloc(1, sizeof(*d));
	if (d == NULL) {
		snprintf(err, errlen, "out of memory");
		return OCOP_ENOMEM;
	}
	d->timeout_ms = o->timeout_ms > 0 ? o->timeout_ms : 10000;
	d->stop = o->stop;
	if (nng_mtx_alloc(&d->mtx) != 0 || nng_cv_alloc(&d->cv, d->mtx) != 0 ||
	    nng_aio_alloc(&d->aio, dial_aio_cb, d) != 0) {
		snprintf(err, errlen, "out of memory");
		lnk_dialer_close(d);
		return OCOP_ENOMEM;
	}
	if ((rv = nng_req0_open(&d->sock)) != 0) {
		snprintf(err, errlen, "cannot open a socket: %s", nng_strerror(rv));
		lnk_dialer_close(d);
		return lnk_err_from_nng(rv);
	}
	d->open = true;
	/* No resend while the server may still be working on a big batch (it
	 * would apply it again as duplicates, for nothing): nng still resends at
	 * once when the connection drops and comes back, and a round trip that
	 * times out fails the session, which the next one continues. */
	if ((rv = nng_socket_set_ms(d->sock, NNG_OPT_REQ_RESENDTIME, d->timeout_ms * 2)) != 0 ||
	    (rv = nng_socket_set_ms(d->sock, NNG_OPT_RECONNMINT, 100)) != 0 ||
	    (rv = nng_socket_set_ms(d->sock, NNG_OPT_RECONNMAXT, 2000)) != 0 ||
	    (rv = nng_socket_set_size(d->sock, NNG_OPT_RECVMAXSZ,
		 o->max_message ? o->max_message : PROTO_MAX_MESSAGE)) != 0) {
		snprintf(err, errlen, "cannot set socket options: %s", nng_strerror(rv));
		lnk_dialer_close(d);
		return lnk_err_from_nng(rv);
	}
	if ((rv = nng_dialer_create(&d->dialer, d->sock, o->url)) != 0) {
		snprintf(err, errlen, "'%s' is not a server URL this program can dial (tcp://HOST:PORT or "
				      "tls+tcp://HOST:PORT): %s", o->url, nng_strerror(rv));
		lnk_dialer_close(d);
		return rv == NNG_ENOMEM ? OCOP_ENOMEM : OCOP_EINVAL;
	}
	if (lnk_url_tls(o->url)) {
		char why[256];
		if (o->ca_pem == NULL || o->cert_pem == NULL || o->key_pem == NULL) {
			snprintf(err, errlen, "%s is a TLS link: this end needs the CA, its certificate and its key "
					      "(enrol with 'ocop enrol', or 'ocop remote --ca --cert --key')", o->url);
			lnk_dialer_close(d);
			return OCOP_EINVAL;
		}
		dial_host(o->url, host, sizeof(host));
		if ((rv = lnk_tls_install(NULL)) != OCOP_OK ||
		    (rv = lnk_tls_config_open(&d->tls, false, o->ca_pem, o->cert_pem, o->key_pem, host, why,
			 sizeof(why))) != OCOP_OK) {
			snprintf(err, errlen, "TLS configuration: %s", rv == OCOP_ENOMEM ? "out of memory" : why);
			lnk_dialer_close(d);
			return rv;
		}
		if ((rv = nng_dialer_set_ptr(d->dialer, NNG_OPT_TLS_CONFIG, d->tls)) != 0) {
			snprintf(err, errlen, "cannot use the TLS configuration: %s", nng_strerror(rv));
			lnk_dialer_close(d);
			return lnk_err_from_nng(rv);
		}
	}
	lnk_tls_clear_failure();
	d->done = false;
	if ((rv = nng_thread_create(&thr, dial_first, d)) != 0) {
		snprintf(err, errlen, "out of memory");
		lnk_dialer_close(d);
		return OCOP_ENOMEM;
	}
	rv = dial_wait(d, d->timeout_ms);
	if (rv != 0) {
		/* Closing the dialer ends the attempt under way; then the thread returns. */
		nng_dialer_close(d->dialer);
	}
	nng_thread_destroy(thr);
	if (rv == NNG_ECANCELED) {
		snprintf(err, errlen, "interrupted while connecting to %s", o->url);
		lnk_dialer_close(d);
		return OCOP_ECANCELED;
	}
	if (rv == NNG_ETIMEDOUT) {
		dial_explain(d, o->url, rv);
		snprintf(err, errlen, "%s", d->errmsg);
		lnk_dialer_close(d);
		return OCOP_ETIMEDOUT;
	}
	if (d->dial_rv != 0) {
		int code = dial_code(o->url, d->dial_rv);
		dial_explain(d, o->url, code == OCOP_ETLS && lnk_err_from_nng(d->dial_rv) != OCOP_ETLS ? NNG_ECRYPTO
												   : d->dial_rv);
		snprintf(err, errlen, "%s", d->errmsg);
		lnk_dialer_close(d);
		return code;
	}
	*out = d;
	return OCOP_OK;
}

void
lnk_dialer_close(lnk_dialer *d)
{
	if (d == NULL) {
		return;
	}
	if (d->aio != NULL) {
		nng_aio_stop(d->aio);
	}
	if (d->open) {
		nng_close(d->sock);
	}
	if (d->aio != NULL) {
		nng_aio_free(d->aio);
	}
	if (d->tls != NULL) {
		nng_tls_config_free(d->tls);
	}
	if (d->cv != NULL) {
		nng_cv_free(d->cv);
	}
	if (d->mtx != NULL) {
		nng_mtx_free(d->mtx);
	}
	com_free(d);
}

/* Run the aio operation started by start() to its end: done, timed out or stopped. */
static int
dial_run(lnk_dialer *d, void (*start)(nng_socket, nng_aio *))
{
	int rv;

	nng_mtx_lock(d->mtx);
	d->done = false;
	nng_mtx_unlock(d->mtx);
	nng_aio_set_timeout(d->aio, d->timeout_ms);
	start(d->sock, d->aio);
	/* nng enforces the timeout itself; only the stop flag needs us. */
	if (dial_wait(d, -1) == NNG_ECANCELED) {
		nng_aio_cancel(d->aio);
		nng_aio_wait(d->aio);
		return NNG_ECANCELED;
	}
	nng_aio_wait(d->aio);
	rv = nng_aio_result(d->aio);
	return rv;
}

int
lnk_dialer_roundtrip(lnk_dialer *d, const uint8_t *req, size_t len, com_buf *reply)
{
	nng_msg *msg = NULL;
	int rv;

	d->errmsg[0] = 0;
	if ((rv = nng_msg_alloc(&msg, 0)) != 0 || (rv = nng_msg_append(msg, req, len)) != 0) {
		nng_msg_free(msg);
		snprintf(d->errmsg, sizeof(d->errmsg), "out of memory");
		return OCOP_ENOMEM;
	}
	nng_aio_set_msg(d->aio, msg);
	if ((rv = dial_run(d, nng_send_aio)) != 0) {
		nng_msg_free(nng_aio_get_msg(d->aio)); /* ownership moves only on success */
		nng_aio_set_msg(d->aio, NULL);
		snprintf(d->errmsg, sizeof(d->errmsg), "cannot send: %s",
		    rv == NNG_ETIMEDOUT ? "no connection to the server" : nng_strerror(rv));
		return lnk_err_from_nng(rv);
	}
	if ((rv = dial_run(d, nng_recv_aio)) != 0) {
		snprintf(d->errmsg, sizeof(d->errmsg), "%s",
		    rv == NNG_ETIMEDOUT ? "the server did not answer in time" : nng_strerror(rv));
		return lnk_err_from_nng(rv);
	}
	msg = nng_aio_get_msg(d->aio);
	nng_aio_set_msg(d->aio, NULL);
	rv = com_buf_append(reply, nng_msg_body(msg), nng_msg_len(msg));
	nng_msg_free(msg);
	return rv;
}

const char *
lnk_dialer_errmsg(lnk_dialer *d)
{
	return d->errmsg;
}

static int
dial_roundtrip(void *arg, const uint8_t *req, size_t len, com_buf *reply)
{
	return lnk_dialer_roundtrip(arg, req, len, reply);
}

lnk_transport
lnk_dialer_transport(lnk_dialer *d)
{
	lnk_transport t = {dial_roundtrip, d};

	return t;
}
