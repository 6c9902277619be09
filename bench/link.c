/*
 * link.c: the counting transport of the sync benchmarks (see link.h).
 */
#include "bench/link.h"

#include <string.h>

#include <zlib.h>

#include "bench/harness.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

void
bn_link_init_local(bn_link *l, srv_service *svc)
{
	memset(l, 0, sizeof(*l));
	l->svc = svc;
}

void
bn_link_init_remote(bn_link *l, cli_transport inner)
{
	memset(l, 0, sizeof(*l));
	l->inner = inner;
}

void
bn_link_reset(bn_link *l)
{
	srv_service *svc = l->svc;
	cli_transport inner = l->inner;
	bool deflate = l->deflate;

	memset(l, 0, sizeof(*l));
	l->svc = svc;
	l->inner = inner;
	l->deflate = deflate;
}

uint64_t
bn_link_bytes(const bn_link *l)
{
	return l->req_bytes + l->reply_bytes;
}

/*
 * The message type without decoding the frame: a message is a msgpack array
 * of four [version, type, body, crc] whose version and type are small
 * positive fixints (PROTOCOL.md section 3), so the type is byte 2.
 */
static unsigned
link_type(const uint8_t *req, size_t len)
{
	if (len < 3 || req[0] != 0x94 || req[2] >= BN_LINK_TYPES) {
		return 0;
	}
	return req[2];
}

/*
 * Bytes of p deflated with zlib at level 6: what compressing each whole
 * message would save on top of the batches' own deflate (PROTOCOL.md 5.1).
 * Falls back to len on failure.
 */
static uint64_t
link_deflated(const uint8_t *p, size_t len)
{
	uLongf cap = compressBound((uLong)len);
	Bytef *out = com_malloc(cap);
	uint64_t n = len;

	if (out != NULL && compress2(out, &cap, p, (uLong)len, 6) == Z_OK) {
		n = cap;
	}
	com_free(out);
	return n;
}

static int
link_roundtrip(void *arg, const uint8_t *req, size_t len, com_buf *reply)
{
	bn_link *l = arg;
	size_t mark = reply->len;
	unsigned type = link_type(req, len);
	double t0 = bn_now();
	double dt;
	int rv;

	if (l->svc != NULL) {
		rv = srv_handle(l->svc, req, len, reply);
		dt = bn_now() - t0;
		l->server_s += dt;
	} else {
		rv = l->inner.roundtrip(l->inner.arg, req, len, reply);
		dt = bn_now() - t0;
	}
	l->wire_s += dt;
	l->type_s[type] += dt;
	l->requests++;
	l->count[type]++;
	l->req_bytes += len;
	l->type_bytes[type] += len;
	if (rv == OCOP_OK && reply->len >= mark) {
		l->reply_bytes += reply->len - mark;
		l->type_bytes[type] += reply->len - mark;
	}
	if (l->deflate) {
		l->deflated_bytes += link_deflated(req, len);
		if (rv == OCOP_OK && reply->len >= mark) {
			l->deflated_bytes += link_deflated(reply->data + mark, reply->len - mark);
		}
	}
	return rv;
}

cli_transport
bn_link_transport(bn_link *l)
{
	cli_transport t = {link_roundtrip, l};

	return t;
}
