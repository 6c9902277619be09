/*
 * listener.c: the REP front (see listener.h): worker threads on REP contexts,
 * a table of open connections with what each says about its peer and how
 * many of its requests are in flight.
 */
#include "server/listener.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "common/link/dial.h"
#include "common/link/tls.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

#define CONN_BUCKETS 1024 /* hash buckets of the connection table */
#define LISTEN_LOG_BURST 10 /* connection refusal lines per 10 s */

/* One open connection. */
typedef struct conn {
	uint32_t pipe;          /* nng pipe id */
	char addr[64];          /* remote address, without the port */
	bool tls;               /* the connection is TLS with a verified certificate */
	char cert_site[65];     /* its certificate's common name */
	char cert_sha256[65];   /* its certificate's fingerprint */
	int inflight;           /* requests received and not yet answered */
	struct conn *next;      /* bucket chain */
} conn;

/* One worker: a thread with its REP context. */
typedef struct worker {
	struct srv_listener *l; /* back pointer, borrowed */
	nng_ctx ctx;            /* owned */
	nng_aio *aio;           /* owned, used synchronously */
	nng_thread *thr;        /* owned */
	com_buf reply;          /* scratch for the reply, owned */
} worker;

struct srv_listener {
	nng_socket sock;         /* REP socket, owned */
	bool open;               /* sock is open */
	srv_service *svc;        /* borrowed */
	nng_mtx *serial;         /* serialises srv_handle_from (one database connection), owned */
	nng_mtx *mtx;            /* guards the connection table and the counters, owned */
	conn *buckets[CONN_BUCKETS]; /* connection table, owned nodes */
	worker *workers;         /* owned array */
	int nworkers;            /* entries in workers */
	bool tls;                /* the URL is tls+tcp:// */
	int send_timeout_ms;     /* see srv_listen_opts */
	int max_inflight;        /* see srv_listen_opts */
	int max_connections;     /* see srv_listen_opts */
	const com_log *log;      /* borrowed */
	srv_listen_stats stats;  /* counters */
	uint64_t log_window;     /* start of the refusal log window, ms */
	int log_lines;           /* refusal lines in it */
};

/* ===== Bounded logging of refused connections ===== */

static bool
listen_may_log(srv_listener *l)
{
	uint64_t now = (uint64_t)nng_clock();

	if (now - l->log_window >= 10000u) {
		l->log_window = now;
		l->log_lines = 0;
	}
	return l->log_lines++ < LISTEN_LOG_BURST;
}

/* ===== Connection table ===== */

static conn **
conn_slot(srv_listener *l, uint32_t pipe)
{
	conn **pp = &l->buckets[pipe % CONN_BUCKETS];

	while (*pp != NULL && (*pp)->pipe != pipe) {
		pp = &(*pp)->next;
	}
	return pp;
}

/* The peer's address without its port, from the pipe. */
static void
conn_addr(nng_pipe p, char *out, size_t cap)
{
	nng_sockaddr sa;

	snprintf(out, cap, "?");
	if (nng_pipe_get_addr(p, NNG_OPT_REMADDR, &sa) != 0) {
		return;
	}
	if (sa.s_family == NNG_AF_INET) {
		struct in_addr a;
		a.s_addr = sa.s_in.sa_addr;
		inet_ntop(AF_INET, &a, out, (socklen_t)cap);
	} else if (sa.s_family == NNG_AF_INET6) {
		inet_ntop(AF_INET6, sa.s_in6.sa_addr, out, (socklen_t)cap);
	} else if (sa.s_family == NNG_AF_IPC) {
		snprintf(out, cap, "local");
	}
}

static void
listen_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	srv_listener *l = arg;
	uint32_t id = (uint32_t)nng_pipe_id(p);
	lnk_tls_peer peer;
	conn *c;
	conn **pp;

	if (ev == NNG_PIPE_EV_ADD_PRE) {
		c = com_calloc(1, sizeof(*c));
		if (c == NULL) {
			nng_pipe_close(p);
			return;
		}
		c->pipe = id;
		conn_addr(p, c->addr, sizeof(c->addr));
		if (l->tls) {
			/* The engine verified the chain and the dates; a connection
			 * without a verified certificate never reaches a request. */
			if (lnk_tls_pipe_peer(p, &peer) != OCOP_OK || !peer.verified) {
				nng_mtx_lock(l->mtx);
				l->stats.refused++;
				if (listen_may_log(l)) {
					com_logf(l->log, COM_LOG_WARN, "refused a TLS connection from %s: no verified certificate",
					    c->addr);
				}
				nng_mtx_unlock(l->mtx);
				com_free(c);
				nng_pipe_close(p);
				return;
			}
			c->tls = true;
			snprintf(c->cert_site, sizeof(c->cert_site), "%s", peer.cn);
			snprintf(c->cert_sha256, sizeof(c->cert_sha256), "%s", peer.sha256);
		}
		nng_mtx_lock(l->mtx);
		if (l->stats.open >= l->max_connections) {
			l->stats.refused++;
			if (listen_may_log(l)) {
				com_logf(l->log, COM_LOG_WARN, "refused a connection from %s: %d connections are open",
				    c->addr, l->stats.open);
			}
			nng_mtx_unlock(l->mtx);
			com_free(c);
			nng_pipe_close(p);
			return;
		}
		pp = conn_slot(l, id);
		if (*pp == NULL) {
			*pp = c;
			c = NULL;
			l->stats.open++;
			l->stats.connections++;
		}
		nng_mtx_unlock(l->mtx);
		com_free(c);
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		nng_mtx_lock(l->mtx);
		pp = conn_slot(l, id);
		if ((c = *pp) != NULL) {
			*pp = c->next;
			l->stats.open--;
		}
		nng_mtx_unlock(l->mtx);
		com_free(c);
	}
}

/*
 * A request arrived on pipe: count it in flight and copy what the connection
 * says about its peer into the caller's buffers. False when the connection is
 * gone or has too many requests in flight (then it is closed).
 */
static bool
conn_enter(srv_listener *l, nng_pipe p, srv_caller *who, char addr[64], char site[65], char sha[65])
{
	uint32_t id = (uint32_t)nng_pipe_id(p);
	conn *c;
	bool ok = false;
	bool close = false;

	nng_mtx_lock(l->mtx);
	c = *conn_slot(l, id);
	if (c != NULL && c->inflight >= l->max_inflight) {
		l->stats.pipelined++;
		if (listen_may_log(l)) {
			com_logf(l->log, COM_LOG_WARN,
			    "closed the connection of %s%s%s: more than %d requests in flight without reading replies",
			    c->addr, c->tls ? " site " : "", c->tls ? c->cert_site : "", l->max_inflight);
		}
		close = true;
	} else if (c != NULL) {
		c->inflight++;
		memset(who, 0, sizeof(*who));
		snprintf(addr, 64, "%s", c->addr);
		who->addr = addr;
		if (c->tls) {
			who->via = SRV_VIA_TLS;
			snprintf(site, 65, "%s", c->cert_site);
			snprintf(sha, 65, "%s", c->cert_sha256);
			who->cert_site = site;
			who->cert_sha256 = sha;
		} else {
			who->via = SRV_VIA_TCP;
		}
		ok = true;
	}
	nng_mtx_unlock(l->mtx);
	if (close) {
		nng_pipe_close(p);
	}
	return ok;
}

static void
conn_leave(srv_listener *l, nng_pipe p)
{
	conn *c;

	nng_mtx_lock(l->mtx);
	c = *conn_slot(l, (uint32_t)nng_pipe_id(p));
	if (c != NULL && c->inflight > 0) {
		c->inflight--;
	}
	nng_mtx_unlock(l->mtx);
}

/* ===== Workers ===== */

static void
worker_main(void *arg)
{
	worker *w = arg;
	srv_listener *l = w->l;
	srv_caller who;
	char addr[64];
	char site[65];
	char sha[65];
	nng_msg *msg;
	nng_pipe p;
	int rv;

	for (;;) {
		nng_aio_set_timeout(w->aio, NNG_DURATION_INFINITE);
		nng_ctx_recv(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		if ((rv = nng_aio_result(w->aio)) != 0) {
			if (rv == NNG_ECLOSED) {
				return; /* shutting down */
			}
			continue;
		}
		msg = nng_aio_get_msg(w->aio);
		p = nng_msg_get_pipe(msg);
		if (!conn_enter(l, p, &who, addr, site, sha)) {
			nng_msg_free(msg);
			continue;
		}
		com_buf_reset(&w->reply);
		nng_mtx_lock(l->serial);
		rv = srv_handle_from(l->svc, &who, nng_msg_body(msg), nng_msg_len(msg), &w->reply);
		nng_mtx_unlock(l->serial);
		nng_msg_clear(msg);
		if (rv != OCOP_OK || nng_msg_append(msg, w->reply.data, w->reply.len) != 0) {
			/* Not even an error reply could be built: drop; the site resends. */
			nng_msg_free(msg);
			conn_leave(l, p);
			continue;
		}
		nng_aio_set_msg(w->aio, msg);
		nng_aio_set_timeout(w->aio, l->send_timeout_ms);
		nng_ctx_send(w->ctx, w->aio);
		nng_aio_wait(w->aio);
		rv = nng_aio_result(w->aio);
		conn_leave(l, p);
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(w->aio));
			nng_aio_set_msg(w->aio, NULL);
			if (rv == NNG_ECLOSED) {
				return;
			}
			if (rv == NNG_ETIMEDOUT) {
				/* The peer does not read: its connection would pin the reply. */
				nng_mtx_lock(l->mtx);
				l->stats.unread++;
				if (listen_may_log(l)) {
					com_logf(l->log, COM_LOG_WARN, "closed the connection of %s: it did not take its reply in %d ms",
					    addr, l->send_timeout_ms);
				}
				nng_mtx_unlock(l->mtx);
				nng_pipe_close(p);
			}
		}
	}
}

/* ===== Lifetime ===== */

int
srv_listener_open(srv_listener **out, srv_service *svc, const srv_listen_opts *o, char *err, size_t errlen)
{
	srv_listener *l;
	nng_listener nl;
	int rv;
	int i;

	*out = NULL;
	err[0] = 0;
	if (lnk_url_plain_remote(o->url) && !o->allow_plain_remote) {
		snprintf(err, errlen, "refusing to listen in clear on %s, which is not a loopback address: use "
				      "tls+tcp:// with certificates (ocopd ca init), or set allow_plain = yes", o->url);
		return OCOP_EINVAL;
	}
	if (lnk_url_tls(o->url) && o->tls == NULL) {
		snprintf(err, errlen, "%s is a TLS address: the server needs its CA, certificate and key "
				      "(ocopd ca init; config keys ca_dir or tls_ca, tls_cert, tls_key)", o->url);
		return OCOP_EINVAL;
	}
	l = com_calloc(1, sizeof(*l));
	if (l == NULL) {
		snprintf(err, errlen, "out of memory");
		return OCOP_ENOMEM;
	}
	l->svc = svc;
	l->log = o->log;
	l->tls = lnk_url_tls(o->url);
	l->nworkers = o->workers > 0 ? o->workers : SRV_LISTEN_WORKERS;
	l->send_timeout_ms = o->send_timeout_ms > 0 ? o->send_timeout_ms : SRV_LISTEN_SEND_TIMEOUT;
	l->max_inflight = o->max_inflight > 0 ? o->max_inflight : SRV_LISTEN_INFLIGHT;
	l->max_connections = o->max_connections > 0 ? o->max_connections : SRV_LISTEN_CONNECTIONS;
	l->workers = com_calloc((size_t)l->nworkers, sizeof(worker));
	if (l->workers == NULL || nng_mtx_alloc(&l->serial) != 0 || nng_mtx_alloc(&l->mtx) != 0) {
		snprintf(err, errlen, "out of memory");
		srv_listener_close(l);
		return OCOP_ENOMEM;
	}
	if ((rv = nng_rep0_open(&l->sock)) != 0) {
		snprintf(err, errlen, "cannot open a socket: %s", nng_strerror(rv));
		srv_listener_close(l);
		return rv == NNG_ENOMEM ? OCOP_ENOMEM : OCOP_ENET;
	}
	l->open = true;
	if ((rv = nng_socket_set_size(l->sock, NNG_OPT_RECVMAXSZ, o->max_message)) != 0 ||
	    (rv = nng_pipe_notify(l->sock, NNG_PIPE_EV_ADD_PRE, listen_pipe_cb, l)) != 0 ||
	    (rv = nng_pipe_notify(l->sock, NNG_PIPE_EV_REM_POST, listen_pipe_cb, l)) != 0) {
		snprintf(err, errlen, "cannot set socket options: %s", nng_strerror(rv));
		srv_listener_close(l);
		return OCOP_ENET;
	}
	for (i = 0; i < l->nworkers; i++) {
		worker *w = &l->workers[i];
		w->l = l;
		com_buf_init(&w->reply);
		if (nng_aio_alloc(&w->aio, NULL, NULL) != 0 || nng_ctx_open(&w->ctx, l->sock) != 0) {
			snprintf(err, errlen, "out of memory");
			srv_listener_close(l);
			return OCOP_ENOMEM;
		}
	}
	if ((rv = nng_listener_create(&nl, l->sock, o->url)) != 0) {
		snprintf(err, errlen, "'%s' is not a URL this server can listen on: %s", o->url, nng_strerror(rv));
		srv_listener_close(l);
		return rv == NNG_ENOMEM ? OCOP_ENOMEM : OCOP_EINVAL;
	}
	if (l->tls && (rv = nng_listener_set_ptr(nl, NNG_OPT_TLS_CONFIG, o->tls)) != 0) {
		snprintf(err, errlen, "cannot use the TLS configuration: %s", nng_strerror(rv));
		srv_listener_close(l);
		return OCOP_EINVAL;
	}
	if ((rv = nng_listener_start(nl, 0)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", o->url, nng_strerror(rv));
		srv_listener_close(l);
		return rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP ? OCOP_EINVAL : OCOP_ENET;
	}
	for (i = 0; i < l->nworkers; i++) {
		if (nng_thread_create(&l->workers[i].thr, worker_main, &l->workers[i]) != 0) {
			snprintf(err, errlen, "cannot start worker threads");
			srv_listener_close(l);
			return OCOP_ENOMEM;
		}
	}
	*out = l;
	return OCOP_OK;
}

void
srv_listener_close(srv_listener *l)
{
	int i;

	if (l == NULL) {
		return;
	}
	/* Closing the socket fails every pending operation with NNG_ECLOSED, so
	 * each worker finishes the request it holds, if any, and returns. */
	if (l->open) {
		nng_close(l->sock);
	}
	for (i = 0; l->workers != NULL && i < l->nworkers; i++) {
		worker *w = &l->workers[i];
		if (w->thr != NULL) {
			nng_thread_destroy(w->thr);
		}
		if (w->aio != NULL) {
			nng_aio_free(w->aio);
		}
		com_buf_fini(&w->reply);
	}
	for (i = 0; i < CONN_BUCKETS; i++) {
		while (l->buckets[i] != NULL) {
			conn *c = l->buckets[i];
			l->buckets[i] = c->next;
			com_free(c);
		}
	}
	if (l->mtx != NULL) {
		nng_mtx_free(l->mtx);
	}
	if (l->serial != NULL) {
		nng_mtx_free(l->serial);
	}
	com_free(l->workers);
	com_free(l);
}

void
srv_listener_stats(srv_listener *l, srv_listen_stats *out)
{
	nng_mtx_lock(l->mtx);
	*out = l->stats;
	nng_mtx_unlock(l->mtx);
}
