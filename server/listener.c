/*
 * listener.c: nng REP contexts driving srv_handle() (the pattern of nng's
 * "reqrep with contexts" demo: one aio per context, a small state machine in
 * the callback).
 */
#include "server/listener.h"

#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "common/util/alloc.h"
#include "ocop_err.h"

typedef enum work_state { WORK_INIT, WORK_RECV, WORK_SEND } work_state;

typedef struct work {
	work_state state;      /* where this context is in its cycle */
	nng_aio *aio;          /* owned */
	nng_ctx ctx;           /* owned */
	struct srv_listener *l; /* back pointer, borrowed */
	com_buf reply;         /* scratch for the reply, owned */
} work;

struct srv_listener {
	nng_socket sock;   /* REP socket, owned */
	nng_mtx *mtx;      /* serialises srv_handle, owned */
	srv_service *svc;  /* borrowed */
	work *workers;     /* owned array */
	int nworkers;      /* entries in workers */
};

static void
work_cb(void *arg)
{
	work *w = arg;
	srv_listener *l = w->l;
	nng_msg *msg;
	int rv;

	switch (w->state) {
	case WORK_INIT:
		w->state = WORK_RECV;
		nng_ctx_recv(w->ctx, w->aio);
		break;
	case WORK_RECV:
		if ((rv = nng_aio_result(w->aio)) != 0) {
			if (rv == NNG_ECLOSED) {
				return; /* shutting down */
			}
			nng_ctx_recv(w->ctx, w->aio);
			break;
		}
		msg = nng_aio_get_msg(w->aio);
		com_buf_reset(&w->reply);
		nng_mtx_lock(l->mtx);
		rv = srv_handle(l->svc, nng_msg_body(msg), nng_msg_len(msg), &w->reply);
		nng_mtx_unlock(l->mtx);
		nng_msg_clear(msg);
		if (rv != OCOP_OK || nng_msg_append(msg, w->reply.data, w->reply.len) != 0) {
			/* Not even an error reply could be built: drop; the site resends. */
			nng_msg_free(msg);
			nng_ctx_recv(w->ctx, w->aio);
			break;
		}
		nng_aio_set_msg(w->aio, msg);
		w->state = WORK_SEND;
		nng_ctx_send(w->ctx, w->aio);
		break;
	case WORK_SEND:
		if ((rv = nng_aio_result(w->aio)) != 0) {
			nng_msg_free(nng_aio_get_msg(w->aio));
			if (rv == NNG_ECLOSED) {
				return;
			}
		}
		w->state = WORK_RECV;
		nng_ctx_recv(w->ctx, w->aio);
		break;
	}
}

int
srv_listener_open(srv_listener **out, srv_service *svc, const char *url, int workers, size_t max_msg)
{
	srv_listener *l;
	int rv;
	int i;

	*out = NULL;
	l = com_calloc(1, sizeof(*l));
	if (l == NULL) {
		return OCOP_ENOMEM;
	}
	l->svc = svc;
	l->nworkers = workers > 0 ? workers : 8;
	l->workers = com_calloc((size_t)l->nworkers, sizeof(work));
	if (l->workers == NULL || nng_mtx_alloc(&l->mtx) != 0) {
		com_free(l->workers);
		com_free(l);
		return OCOP_ENOMEM;
	}
	if ((rv = nng_rep0_open(&l->sock)) != 0 ||
	    (rv = nng_setopt_size(l->sock, NNG_OPT_RECVMAXSZ, max_msg)) != 0) {
		nng_mtx_free(l->mtx);
		com_free(l->workers);
		com_free(l);
		return rv == NNG_ENOMEM ? OCOP_ENOMEM : OCOP_ENET;
	}
	for (i = 0; i < l->nworkers; i++) {
		work *w = &l->workers[i];
		w->l = l;
		com_buf_init(&w->reply);
		if (nng_aio_alloc(&w->aio, work_cb, w) != 0 || nng_ctx_open(&w->ctx, l->sock) != 0) {
			srv_listener_close(l);
			return OCOP_ENOMEM;
		}
	}
	if ((rv = nng_listen(l->sock, url, NULL, 0)) != 0) {
		srv_listener_close(l);
		return rv == NNG_EADDRINVAL || rv == NNG_ENOTSUP ? OCOP_EINVAL : OCOP_ENET;
	}
	for (i = 0; i < l->nworkers; i++) {
		work_cb(&l->workers[i]);
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
	/* Closing the socket fails every pending operation with NNG_ECLOSED;
	 * stopping each aio then waits for its callback to finish. */
	nng_close(l->sock);
	for (i = 0; i < l->nworkers; i++) {
		if (l->workers[i].aio != NULL) {
			nng_aio_stop(l->workers[i].aio);
		}
	}
	for (i = 0; i < l->nworkers; i++) {
		work *w = &l->workers[i];
		if (w->aio != NULL) {
			nng_aio_free(w->aio);
		}
		com_buf_fini(&w->reply);
	}
	nng_mtx_free(l->mtx);
	com_free(l->workers);
	com_free(l);
}
