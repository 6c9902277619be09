/*
 * session.c: the one session client (see session.h).
 */
#include "common/link/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/error.h"

void
lnk_session_init(lnk_session *s, const lnk_session_opts *o, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->o = *o;
	if (s->o.peer == NULL) {
		s->o.peer = "the server";
	}
	if (s->o.credential == NULL) {
		s->o.credential = "";
	}
	com_buf_init(&s->req);
	com_buf_init(&s->reply);
	s->err = err;
	s->errlen = errlen;
	if (errlen > 0) {
		err[0] = 0;
	}
}

void
lnk_session_fini(lnk_session *s)
{
	com_buf_fini(&s->req);
	com_buf_fini(&s->reply);
}

int
lnk_session_call(lnk_session *s, uint32_t want, proto_rd *body)
{
	return lnk_session_call_buf(s, &s->req, want, body);
}

int
lnk_session_call_buf(lnk_session *s, const com_buf *req, uint32_t want, proto_rd *body)
{
	proto_env env;
	proto_error e;
	int rv;

	com_buf_reset(&s->reply);
	rv = s->o.transport->roundtrip(s->o.transport->arg, req->data, req->len, &s->reply);
	if (rv != OCOP_OK) {
		snprintf(s->err, s->errlen, "no reply from %s: %s", s->o.peer, ocop_strerror(rv));
		return rv;
	}
	rv = proto_env_open(s->reply.data, s->reply.len, &env, body);
	if (rv == OCOP_EVERSION) {
		/* A peer of another protocol version: its ERROR still says why. */
		if (env.type == PROTO_MSG_ERROR && proto_error_decode(body, &e) == OCOP_OK) {
			snprintf(s->err, s->errlen, "%s speaks protocol version %u and this program %d: %s", s->o.peer,
			    env.version, PROTO_VERSION, e.text);
		} else {
			snprintf(s->err, s->errlen,
			    "%s speaks protocol version %u and this program %d: upgrade the older of the two",
			    s->o.peer, env.version, PROTO_VERSION);
		}
		return OCOP_EVERSION;
	}
	if (rv != OCOP_OK) {
		snprintf(s->err, s->errlen, "malformed reply from %s", s->o.peer);
		return OCOP_EPROTO;
	}
	if (env.type == PROTO_MSG_ERROR) {
		if (proto_error_decode(body, &e) != OCOP_OK) {
			snprintf(s->err, s->errlen, "malformed error reply from %s", s->o.peer);
			return OCOP_EPROTO;
		}
		snprintf(s->err, s->errlen, "%s refused: %s", s->o.peer, e.text);
		return e.code == OCOP_OK || e.code >= OCOP_ERR_COUNT_ ? OCOP_EPROTO : (int)e.code;
	}
	if (env.type != want) {
		snprintf(s->err, s->errlen, "unexpected %s reply from %s", proto_msg_name(env.type), s->o.peer);
		return OCOP_EPROTO;
	}
	return OCOP_OK;
}

int
lnk_session_hello(lnk_session *s)
{
	proto_hello h;
	proto_rd body;
	int rv;

	memset(&h, 0, sizeof(h));
	snprintf(h.site, sizeof(h.site), "%s", s->o.site);
	snprintf(h.credential, sizeof(h.credential), "%s", s->o.credential);
	h.protocol_version = PROTO_VERSION;
	h.schema_version = s->o.schema_version;
	snprintf(h.role, sizeof(h.role), "%s", s->o.role);
	snprintf(h.software, sizeof(h.software), "%s", s->o.software ? s->o.software : "");
	com_buf_reset(&s->req);
	if ((rv = proto_hello_encode(&s->req, &h)) != OCOP_OK) {
		return rv;
	}
	if ((rv = lnk_session_call(s, PROTO_MSG_HELLO_OK, &body)) != OCOP_OK) {
		return rv;
	}
	if (proto_hello_ok_decode(&body, &s->hello) != OCOP_OK) {
		snprintf(s->err, s->errlen, "malformed HELLO_OK from %s", s->o.peer);
		return OCOP_EPROTO;
	}
	if (s->o.peer_role != NULL && strcmp(s->hello.server_role, s->o.peer_role) != 0) {
		snprintf(s->err, s->errlen, "%s is a %s server, not a %s one", s->o.peer, s->hello.server_role,
		    s->o.peer_role);
		return OCOP_EPROTO;
	}
	/* The server's limit holds: it refuses a larger PUSH. */
	s->budget = s->o.max_batch && (s->hello.max_batch_bytes == 0 || s->o.max_batch < s->hello.max_batch_bytes)
	    ? s->o.max_batch
	    : (size_t)s->hello.max_batch_bytes;
	if (s->budget == 0 || s->budget > PROTO_MAX_MESSAGE / 2) {
		s->budget = PROTO_MAX_MESSAGE / 2;
	}
	return OCOP_OK;
}

int
lnk_session_push(lnk_session *s, const com_buf *req, proto_push_ok *ok)
{
	proto_rd body;
	int rv;

	if ((rv = lnk_session_call_buf(s, req, PROTO_MSG_PUSH_OK, &body)) != OCOP_OK) {
		return rv;
	}
	if (proto_push_ok_decode(&body, ok) != OCOP_OK) {
		snprintf(s->err, s->errlen, "malformed PUSH_OK from %s", s->o.peer);
		return OCOP_EPROTO;
	}
	return OCOP_OK;
}

int
lnk_session_pull(lnk_session *s, uint64_t *cursor, int max_pages, lnk_page_fn page, void *arg)
{
	proto_rd body;
	proto_pull m;
	proto_pull_ok ok;
	proto_ack ack;
	int rv;

	while (max_pages-- > 0) {
		memset(&m, 0, sizeof(m));
		snprintf(m.site, sizeof(m.site), "%s", s->o.site);
		snprintf(m.credential, sizeof(m.credential), "%s", s->o.credential);
		m.cursor = *cursor;
		m.max_bytes = s->budget;
		com_buf_reset(&s->req);
		if ((rv = proto_pull_encode(&s->req, &m)) != OCOP_OK ||
		    (rv = lnk_session_call(s, PROTO_MSG_PULL_OK, &body)) != OCOP_OK) {
			return rv;
		}
		if (proto_pull_ok_decode(&body, &ok) != OCOP_OK) {
			snprintf(s->err, s->errlen, "malformed PULL_OK from %s", s->o.peer);
			return OCOP_EPROTO;
		}
		if (ok.next_cursor < *cursor) {
			snprintf(s->err, s->errlen, "%s's cursor went backwards", s->o.peer);
			return OCOP_EPROTO;
		}
		if ((rv = page(arg, &ok, s->err, s->errlen)) != OCOP_OK) {
			return rv;
		}
		*cursor = ok.next_cursor;
		if (!ok.more) {
			break;
		}
	}
	/* Tell the server how far this end got (for operators; not needed for correctness). */
	memset(&ack, 0, sizeof(ack));
	snprintf(ack.site, sizeof(ack.site), "%s", s->o.site);
	snprintf(ack.credential, sizeof(ack.credential), "%s", s->o.credential);
	ack.cursor = *cursor;
	com_buf_reset(&s->req);
	if ((rv = proto_ack_encode(&s->req, &ack)) != OCOP_OK) {
		return rv;
	}
	return lnk_session_call(s, PROTO_MSG_ACK_OK, &body);
}

long
lnk_backoff_ms(int failures, long base_ms, long cap_ms, unsigned *seed)
{
	long ms = base_ms;
	int i;

	for (i = 0; i < failures && i < 30 && ms < cap_ms; i++) {
		ms *= 2;
	}
	if (ms > cap_ms) {
		ms = cap_ms;
	}
	return ms / 2 + (long)((unsigned long)rand_r(seed) % (unsigned long)(ms / 2 + 1));
}
