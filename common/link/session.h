/*
 * session.h: the one session client. A site syncing with its province
 * (client/sync.c) and a province relaying to the national server
 * (server/upstream.c) speak the same protocol through the same code: HELLO,
 * PUSH batches, PULL pages from a cursor, ACK, each request sent over a
 * transport (common/link/dial.h, or a test's in-process seam) and its reply
 * checked, an ERROR turned into its code and sentence. What the two do with
 * the answers (which changes to push, how to merge a page, where to keep the
 * cursor) stays with them, passed in as builders and callbacks. The batch
 * budget is agreed here (never above the server's limit), and so is the rule
 * that a cursor never goes back; retrying with backoff is here too.
 */
#ifndef OCOP_LINK_SESSION_H
#define OCOP_LINK_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/link/dial.h"
#include "common/util/buf.h"
#include "protocol/session.h"

/* Who is speaking, to whom. Strings are borrowed for the session's life. */
typedef struct lnk_session_opts {
	const lnk_transport *transport; /* the link */
	const char *site;               /* this end's site id */
	const char *credential;         /* its secret ("" where the link authenticates by certificate) */
	const char *role;               /* its role, as HELLO states it */
	const char *software;           /* program and version, e.g. "ocop 0.1.0" */
	uint32_t schema_version;        /* this end's database schema version */
	const char *peer;               /* how messages name the other end: "the server", "the national server" */
	const char *peer_role;          /* the role the other end must have (NULL: any) */
	size_t max_batch;               /* this end's batch budget wish; 0 = the server's */
} lnk_session_opts;

/* A session. Caller-owned storage: lnk_session_init / lnk_session_fini. */
typedef struct lnk_session {
	lnk_session_opts o;      /* copied options (strings borrowed) */
	com_buf req;             /* scratch for requests, owned */
	com_buf reply;           /* the last reply, owned */
	proto_hello_ok hello;    /* the server's HELLO_OK, after lnk_session_hello */
	size_t budget;           /* PUSH and PULL_OK byte budget, after lnk_session_hello */
	char *err;               /* where a failure's sentence goes, borrowed */
	size_t errlen;           /* its size */
} lnk_session;

/* Prepare a session; sentences about failures go to err. Cannot fail. */
void lnk_session_init(lnk_session *s, const lnk_session_opts *o, char *err, size_t errlen);
/* Release its buffers. Cannot fail. */
void lnk_session_fini(lnk_session *s);

/*
 * Send s->req and receive the reply, expecting message type want; on
 * success *body is positioned on the reply's body (borrowed from s->reply).
 * Returns OCOP_OK; a transport error (OCOP_ETIMEDOUT, OCOP_ENET,
 * OCOP_ECANCELED, ...); an ERROR reply's code (OCOP_EAUTH, OCOP_EREVOKED,
 * OCOP_ETOOBIG, ...) with the server's text in the error sentence;
 * OCOP_EPROTO for a malformed or unexpected reply.
 */
int lnk_session_call(lnk_session *s, uint32_t want, proto_rd *body /* OUT */);
/* lnk_session_call with a request in a buffer of the caller's (borrowed). */
int lnk_session_call_buf(lnk_session *s, const com_buf *req, uint32_t want, proto_rd *body /* OUT */);

/*
 * HELLO: who this end is. Fills s->hello and agrees s->budget: this end's
 * wish, never above the limit the server states (it refuses a larger PUSH),
 * never above half a message. Refuses a server of another role than
 * o->peer_role. Returns as lnk_session_call.
 */
int lnk_session_hello(lnk_session *s);

/*
 * Send the PUSH a builder wrote into req (s->req, or a buffer of the
 * caller's; borrowed) and decode its PUSH_OK. Returns as lnk_session_call.
 */
int lnk_session_push(lnk_session *s, const com_buf *req, proto_push_ok *ok /* OUT */);

/*
 * Take in one PULL_OK page: merge its changes and move the cursor over them,
 * together (one transaction), so the cursor never covers changes not kept.
 * Returns OCOP_OK or the failure (its sentence in err).
 */
typedef int (*lnk_page_fn)(void *arg, const proto_pull_ok *page, char *err, size_t errlen);

/*
 * PULL pages from *cursor until the server has no more (or max_pages), each
 * handed to page(); *cursor follows the pages taken. A page whose cursor
 * goes back is refused (OCOP_EPROTO). Then ACK the cursor reached.
 * Returns OCOP_OK, as lnk_session_call, or page()'s failure.
 */
int lnk_session_pull(lnk_session *s, uint64_t *cursor /* IN/OUT */, int max_pages, lnk_page_fn page, void *arg);

/*
 * Exponential backoff with full jitter: the wait after `failures`
 * consecutive failures, base_ms doubled per failure, at most cap_ms, then a
 * random point in its upper half. seed is the caller's rand_r state.
 * Cannot fail.
 */
long lnk_backoff_ms(int failures, long base_ms, long cap_ms, unsigned *seed);

#endif /* OCOP_LINK_SESSION_H */
