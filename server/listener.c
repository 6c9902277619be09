/*
 * listener.c: the REP front (see listener.h): worker threads on REP contexts,
 * a table of open connections with what each says about its peer and how
 * many of its requests are in flight.
 */
#include "server/listener.h"

#include <arpa/inet.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "common/link/dial.h"
#include "common/link/tls.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/envelope.h"

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
	int unsent;             /* replies handed to nng whose send has not completed */
	struct conn *next;      /* bucket chain */
} conn;

/*
 * One slot: a REP context with its aio, cycling receive -> (queued for a
 * worker) -> send -> receive. Slots outnumber workers, so a reply a slow peer
 * does not take holds a slot until its send times out, never a worker.
 */
typedef enum slot_state { SLOT_RECV, SLOT_QUEUED, SLOT_SEND } slot_state;

typedef struct slot {
	struct srv_listener *l; /* back pointer, borrowed */
	nng_ctx ctx;            /* owned */
	nng_aio *aio;           /* owned, with slot_cb */
	slot_state state;       /* where it is in its cycle */
	nng_msg *msg;           /* the request while queued, owned then */
	nng_pipe pipe;          /* the connection the request came on */
	srv_caller who;         /* what the connection says about its peer (points into the buffers below) */
	char addr[64];          /* the peer's address */
	char site[65];          /* TLS: its certificate's site */
	char sha[65];           /* TLS: its certificate's fingerprint */
	bool close_pipe;        /* queued only to close pipe (nng forbids it from the callback) */
	bool write;             /* the request takes the writer's turn (PUSH, ACK) */
	struct slot *next;      /* work queue link */
} slot;

/* A queue of slots waiting for a worker. */
typedef struct slot_fifo {
	slot *head;
	slot *tail;
} slot_fifo;

/*
 * One worker thread: takes queued requests, runs them, starts their replies.
 * With a pool, most workers serve only reads (HELLO, PULL), so reads never
 * wait behind PUSHes queued for the writer's turn; the few writers take
 * writes first and reads when no write waits.
 */
typedef struct worker {
	struct srv_listener *l; /* back pointer, borrowed */
	bool writer;            /* takes writes (and reads when none wait) */
	nng_thread *thr;        /* owned */
	com_buf reply;          /* scratch for the reply, owned */
} worker;

struct srv_listener {
	nng_socket sock;         /* REP socket, owned */
	bool open;               /* sock is open */
	srv_service *svc;        /* borrowed */
	nng_mtx *serial;         /* serialises srv_handle_from when the service has no pool, owned */
	nng_mtx *mtx;            /* guards the connection table and the counters, owned */
	conn *buckets[CONN_BUCKETS]; /* connection table, owned nodes */
	worker *workers;         /* owned array */
	int nworkers;            /* entries in workers */
	slot *slots;             /* owned array */
	int nslots;              /* entries in slots */
	slot_fifo reads;         /* reads waiting for a worker (guarded by mtx) */
	slot_fifo writes;        /* writes waiting for a writer (guarded by mtx) */
	nng_cv *read_cv;         /* a read was queued, or closing; owned */
	nng_cv *write_cv;        /* a write (or a read) was queued, or closing; owned */
	bool closing;            /* workers return */
	bool tls;                /* the URL is tls+tcp:// */
	_Atomic int send_timeout_ms; /* see srv_listen_opts; a reload may change it */
	int max_inflight;        /* see srv_listen_opts */
	int max_connections;     /* see srv_listen_opts; guarded by mtx (a reload may change it) */
	int max_site_connections; /* TLS: connections of one site at once */
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

/* Connections open for a site (its certificate). Called with mtx held. */
static int
conn_count_site(srv_listener *l, const char *site)
{
	int n = 0;
	int i;

	for (i = 0; i < CONN_BUCKETS; i++) {
		const conn *c;
		for (c = l->buckets[i]; c != NULL; c = c->next) {
			n += c->tls && strcmp(c->cert_site, site) == 0;
		}
	}
	return n;
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
		if (l->stats.open >= l->max_connections ||
		    (c->tls && conn_count_site(l, c->cert_site) >= l->max_site_connections)) {
			l->stats.refused++;
			if (listen_may_log(l)) {
				if (l->stats.open >= l->max_connections) {
					com_logf(l->log, COM_LOG_WARN, "refused a connection from %s: %d connections are open",
					    c->addr, l->stats.open);
				} else {
					com_logf(l->log, COM_LOG_WARN,
					    "refused a connection from %s: site %s has %d connections open already",
					    c->addr, c->cert_site, l->max_site_connections);
				}
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
			atomic_store(&l->svc->links, l->stats.open);
		}
		nng_mtx_unlock(l->mtx);
		com_free(c);
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		nng_mtx_lock(l->mtx);
		pp = conn_slot(l, id);
		if ((c = *pp) != NULL) {
			*pp = c->next;
			l->stats.open--;
			atomic_store(&l->svc->links, l->stats.open);
		}
		nng_mtx_unlock(l->mtx);
		com_free(c);
	}
}

/* What conn_enter found. */
typedef enum conn_verdict { CONN_OK, CONN_GONE, CONN_OVER } conn_verdict;

/*
 * A request arrived on pipe: count it in flight and copy what the connection
 * says about its peer into the caller's buffers. CONN_GONE when the
 * connection is gone, CONN_OVER when it has too many requests in flight (the
 * caller drops the request unanswered: closing the connection while its
 * replies are on the wire could wedge nng 1.5.2, server/netwatch.h).
 */
static conn_verdict
conn_enter(srv_listener *l, nng_pipe p, srv_caller *who, char addr[64], char site[65], char sha[65])
{
	uint32_t id = (uint32_t)nng_pipe_id(p);
	conn_verdict v = CONN_GONE;
	conn *c;

	nng_mtx_lock(l->mtx);
	c = *conn_slot(l, id);
	/*
	 * Two bounds. Unanswered requests: a REQ peer waits for each reply, so
	 * more than max_inflight (a resend makes 2) is pipelining. Replies not
	 * yet sent: nng reports a send done on its own threads, which under load
	 * lag behind a peer that has already read the reply and asked again (a
	 * strict peer fetching a file chunk by chunk was seen with 4), so those
	 * get a looser bound, still small enough that a peer that never reads
	 * holds only a few slots until its send times out.
	 */
	if (c != NULL && (c->inflight >= l->max_inflight || c->unsent >= SRV_LISTEN_UNSENT)) {
		l->stats.pipelined++;
		if (listen_may_log(l)) {
			com_logf(l->log, COM_LOG_WARN,
			    "dropped a request of %s%s%s unanswered: more than %d requests in flight without reading "
			    "replies",
			    c->addr, c->tls ? " site " : "", c->tls ? c->cert_site : "", l->max_inflight);
		}
		v = CONN_OVER;
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
		v = CONN_OK;
	}
	nng_mtx_unlock(l->mtx);
	return v;
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

/* The request on pipe is answered: its reply goes to nng (counted until its send completes). */
static void
conn_answered(srv_listener *l, nng_pipe p)
{
	conn *c;

	nng_mtx_lock(l->mtx);
	c = *conn_slot(l, (uint32_t)nng_pipe_id(p));
	if (c != NULL && c->inflight > 0) {
		c->inflight--;
		c->unsent++;
	}
	nng_mtx_unlock(l->mtx);
}

/* A reply's send on pipe completed (or failed). */
static void
conn_sent(srv_listener *l, nng_pipe p)
{
	conn *c;

	nng_mtx_lock(l->mtx);
	c = *conn_slot(l, (uint32_t)nng_pipe_id(p));
	if (c != NULL && c->unsent > 0) {
		c->unsent--;
	}
	nng_mtx_unlock(l->mtx);
}

/* ===== Slots and workers ===== */

/* Does the request take the writer's turn? Peeks at its type only (the service checks the rest). */
static bool
request_writes(nng_msg *msg)
{
	proto_env env;
	proto_rd body;

	if (proto_env_open(nng_msg_body(msg), nng_msg_len(msg), &env, &body) != OCOP_OK) {
		return false; /* refused at once, by a reader */
	}
	return env.type == PROTO_MSG_PUSH || env.type == PROTO_MSG_ACK;
}

/* Queue a slot for a worker. Called with mtx not held. */
static void
slot_queue(srv_listener *l, slot *sl)
{
	slot_fifo *q = sl->write ? &l->writes : &l->reads;

	sl->state = SLOT_QUEUED;
	nng_mtx_lock(l->mtx);
	sl->next = NULL;
	if (q->tail != NULL) {
		q->tail->next = sl;
	} else {
		q->head = sl;
	}
	q->tail = sl;
	if (!sl->write) {
		nng_cv_wake1(l->read_cv);
	}
	nng_cv_wake1(l->write_cv);
	nng_mtx_unlock(l->mtx);
}

/* The first slot of q, taken off it, or NULL. Called with mtx held. */
static slot *
slot_dequeue(slot_fifo *q)
{
	slot *sl = q->head;

	if (sl != NULL) {
		q->head = sl->next;
		if (q->head == NULL) {
			q->tail = NULL;
		}
	}
	return sl;
}

/*
 * The slot callback: nng's thread, so nothing here blocks. A received request
 * is checked against its connection's bounds and queued for a worker; a send
 * that ended starts the next receive (and a reply the peer did not take in
 * time closes its connection).
 */
static void
slot_cb(void *arg)
{
	slot *sl = arg;
	srv_listener *l = sl->l;
	int rv = nng_aio_result(sl->aio);

	switch (sl->state) {
	case SLOT_RECV:
		if (rv != 0) {
			if (rv == NNG_ECLOSED) {
				return; /* shutting down */
			}
			nng_ctx_recv(sl->ctx, sl->aio);
			return;
		}
		sl->msg = nng_aio_get_msg(sl->aio);
		nng_aio_set_msg(sl->aio, NULL);
		sl->pipe = nng_msg_get_pipe(sl->msg);
		sl->write = request_writes(sl->msg);
		/* Bounds first, here: a peer pipelining requests never fills the queue. */
		switch (conn_enter(l, sl->pipe, &sl->who, sl->addr, sl->site, sl->sha)) {
		case CONN_OK:
			break;
		case CONN_OVER:
		case CONN_GONE:
			nng_msg_free(sl->msg);
			sl->msg = NULL;
			nng_ctx_recv(sl->ctx, sl->aio);
			return;
		}
		slot_queue(l, sl);
		return;
	case SLOT_SEND:
		conn_sent(l, sl->pipe);
		if (rv != 0) {
			nng_msg_free(nng_aio_get_msg(sl->aio));
			nng_aio_set_msg(sl->aio, NULL);
			if (rv == NNG_ECLOSED) {
				return;
			}
			if (rv == NNG_ETIMEDOUT) {
				/* The peer does not read: its connection would pin the reply. */
				nng_mtx_lock(l->mtx);
				l->stats.unread++;
				if (listen_may_log(l)) {
					com_logf(l->log, COM_LOG_WARN, "closed a connection that did not take its reply in %d ms",
					    atomic_load(&l->send_timeout_ms));
				}
				nng_mtx_unlock(l->mtx);
				sl->close_pipe = true;
				sl->write = false;
				slot_queue(l, sl);
				return;
			}
		}
		sl->state = SLOT_RECV;
		nng_aio_set_timeout(sl->aio, NNG_DURATION_INFINITE);
		nng_ctx_recv(sl->ctx, sl->aio);
		return;
	case SLOT_QUEUED:
		return; /* cannot happen: no operation is pending while queued */
	}
}

/* Run one queued request on this worker's thread and start its reply. */
static void
worker_serve(worker *w, slot *sl)
{
	srv_listener *l = w->l;
	nng_msg *msg = sl->msg;
	int rv;

	sl->msg = NULL;
	if (sl->close_pipe) {
		sl->close_pipe = false;
		nng_pipe_close(sl->pipe);
		sl->state = SLOT_RECV;
		nng_aio_set_timeout(sl->aio, NNG_DURATION_INFINITE);
		nng_ctx_recv(sl->ctx, sl->aio);
		return;
	}
	com_buf_reset(&w->reply);
	/* A service with a pool serves many at once; one without serves one at a time. */
	if (l->svc->pool == NULL) {
		nng_mtx_lock(l->serial);
	}
	rv = srv_handle_from(l->svc, &sl->who, nng_msg_body(msg), nng_msg_len(msg), &w->reply);
	if (l->svc->pool == NULL) {
		nng_mtx_unlock(l->serial);
	}
	nng_msg_clear(msg);
	if (rv != OCOP_OK || nng_msg_append(msg, w->reply.data, w->reply.len) != 0) {
		/* Not even an error reply could be built: drop; the site resends. */
		nng_msg_free(msg);
		conn_leave(l, sl->pipe);
		sl->state = SLOT_RECV;
		nng_aio_set_timeout(sl->aio, NNG_DURATION_INFINITE);
		nng_ctx_recv(sl->ctx, sl->aio);
		return;
	}
	conn_answered(l, sl->pipe);
	sl->state = SLOT_SEND;
	nng_aio_set_msg(sl->aio, msg);
	nng_aio_set_timeout(sl->aio, atomic_load(&l->send_timeout_ms));
	nng_ctx_send(sl->ctx, sl->aio);
}

static void
worker_main(void *arg)
{
	worker *w = arg;
	srv_listener *l = w->l;
	slot *sl;

	for (;;) {
		nng_mtx_lock(l->mtx);
		for (;;) {
			if (l->closing) {
				nng_mtx_unlock(l->mtx);
				return;
			}
			sl = w->writer ? slot_dequeue(&l->writes) : NULL;
			if (sl == NULL) {
				sl = slot_dequeue(&l->reads);
			}
			if (sl != NULL) {
				break;
			}
			nng_cv_wait(w->writer ? l->write_cv : l->read_cv);
		}
		nng_mtx_unlock(l->mtx);
		worker_serve(w, sl);
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
	l->max_site_connections = SRV_LISTEN_SITE_CONNECTIONS;
	/* Slots hold requests waiting for the writer's turn too: enough that
	 * hundreds of sites pushing at once still leave slots for reads. */
	l->nslots = l->nworkers * 4 > 256 ? l->nworkers * 4 : 256;
	l->workers = com_calloc((size_t)l->nworkers, sizeof(worker));
	l->slots = com_calloc((size_t)l->nslots, sizeof(slot));
	if (l->workers == NULL || l->slots == NULL || nng_mtx_alloc(&l->serial) != 0 || nng_mtx_alloc(&l->mtx) != 0 ||
	    nng_cv_alloc(&l->read_cv, l->mtx) != 0 || nng_cv_alloc(&l->write_cv, l->mtx) != 0) {
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
		l->workers[i].l = l;
		/* With a pool, two writers (one holds the turn, the other refuses what
		 * need not wait for it); without one, every worker takes everything. */
		l->workers[i].writer = svc->pool == NULL || l->nworkers < 4 || i < 2;
		com_buf_init(&l->workers[i].reply);
	}
	for (i = 0; i < l->nslots; i++) {
		slot *sl = &l->slots[i];
		sl->l = l;
		if (nng_aio_alloc(&sl->aio, slot_cb, sl) != 0 || nng_ctx_open(&sl->ctx, l->sock) != 0) {
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
	for (i = 0; i < l->nslots; i++) {
		l->slots[i].state = SLOT_RECV;
		nng_ctx_recv(l->slots[i].ctx, l->slots[i].aio);
	}
	*out = l;
	return OCOP_OK;
}

void
srv_listener_set_limits(srv_listener *l, int send_timeout_ms, int max_connections)
{
	if (send_timeout_ms > 0) {
		atomic_store(&l->send_timeout_ms, send_timeout_ms);
	}
	if (max_connections > 0) {
		nng_mtx_lock(l->mtx);
		l->max_connections = max_connections;
		nng_mtx_unlock(l->mtx);
	}
}

void
srv_listener_close(srv_listener *l)
{
	int i;

	if (l == NULL) {
		return;
	}
	/* Closing the socket fails every pending operation with NNG_ECLOSED; each
	 * worker finishes the request it holds, if any (its reply's send fails at
	 * once), and returns when it finds the listener closing. */
	if (l->open) {
		nng_close(l->sock);
	}
	if (l->mtx != NULL && l->read_cv != NULL && l->write_cv != NULL) {
		nng_mtx_lock(l->mtx);
		l->closing = true;
		nng_cv_wake(l->read_cv);
		nng_cv_wake(l->write_cv);
		nng_mtx_unlock(l->mtx);
	}
	for (i = 0; l->workers != NULL && i < l->nworkers; i++) {
		worker *w = &l->workers[i];
		if (w->thr != NULL) {
			nng_thread_destroy(w->thr);
		}
		com_buf_fini(&w->reply);
	}
	for (i = 0; l->slots != NULL && i < l->nslots; i++) {
		if (l->slots[i].aio != NULL) {
			nng_aio_stop(l->slots[i].aio);
		}
	}
	for (i = 0; l->slots != NULL && i < l->nslots; i++) {
		slot *sl = &l->slots[i];
		if (sl->msg != NULL) {
			nng_msg_free(sl->msg); /* queued, never served */
		}
		if (sl->aio != NULL) {
			nng_aio_free(sl->aio);
		}
	}
	for (i = 0; i < CONN_BUCKETS; i++) {
		while (l->buckets[i] != NULL) {
			conn *c = l->buckets[i];
			l->buckets[i] = c->next;
			com_free(c);
		}
	}
	if (l->read_cv != NULL) {
		nng_cv_free(l->read_cv);
	}
	if (l->write_cv != NULL) {
		nng_cv_free(l->write_cv);
	}
	if (l->mtx != NULL) {
		nng_mtx_free(l->mtx);
	}
	if (l->serial != NULL) {
		nng_mtx_free(l->serial);
	}
	com_free(l->slots);
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
