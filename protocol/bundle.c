/*
 * bundle.c: the sneakernet file format (PROTOCOL.md section 6): prefix, body,
 * HMAC-SHA256 trailer; verification in a fixed order so the first problem
 * found is the one reported; and a writer that reads its result back.
 */
#include "protocol/bundle.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/files.h"
#include "protocol/session.h"

/* Smallest possible body: fixarray(7), kind, 36-byte str, empty str, 0, 0, seq, fixarray(0). */
#define BUNDLE_MIN_BODY (1 + 1 + 38 + 1 + 1 + 1 + 1 + 1)
#define BUNDLE_MIN_LEN (PROTO_BUNDLE_PREFIX + BUNDLE_MIN_BODY + PROTO_BUNDLE_DIGEST)

const char *
proto_bundle_kind_name(uint32_t kind)
{
	switch (kind) {
	case PROTO_BUNDLE_REQUEST: return "request";
	case PROTO_BUNDLE_REPLY: return "reply";
	default: return "unknown";
	}
}

int
proto_bundle_key(const char *credential, uint8_t key[PROTO_BUNDLE_KEY])
{
	static const char label[] = "ocop bundle key 1";
	unsigned int n = 0;

	if (HMAC(EVP_sha256(), credential, (int)strlen(credential), (const unsigned char *)label, sizeof(label) - 1,
		key, &n) == NULL ||
	    n != PROTO_BUNDLE_DIGEST) {
		return OCOP_EINTERNAL;
	}
	return OCOP_OK;
}

/* ===== Small helpers ===== */

static int
bundle_fail(char *why, size_t whylen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Describe the failure in why (when given) and return code. */
static int
bundle_fail(char *why, size_t whylen, int code, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static uint32_t
bundle_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t
bundle_be64(const uint8_t *p)
{
	return (uint64_t)bundle_be32(p) << 32 | bundle_be32(p + 4);
}

static void
bundle_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void
bundle_put_be64(uint8_t *p, uint64_t v)
{
	bundle_put_be32(p, (uint32_t)(v >> 32));
	bundle_put_be32(p + 4, (uint32_t)v);
}

/* HMAC-SHA256 of n bytes under key into md. Returns false when the crypto library fails. */
static bool
bundle_mac(const uint8_t key[PROTO_BUNDLE_KEY], const uint8_t *p, size_t n, uint8_t md[PROTO_BUNDLE_DIGEST])
{
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int outlen = 0;

	if (HMAC(EVP_sha256(), key, PROTO_BUNDLE_KEY, p, n, out, &outlen) == NULL || outlen != PROTO_BUNDLE_DIGEST) {
		return false;
	}
	memcpy(md, out, PROTO_BUNDLE_DIGEST);
	return true;
}

/* Read a UUID string (or, when empty_ok, an empty string) into out. */
static int
bundle_rd_uuid(proto_rd *r, char out[PROTO_UUID_LEN + 1], bool empty_ok)
{
	const char *s;
	size_t n;

	if (proto_rd_str(r, &s, &n) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	if (n == 0 && empty_ok) {
		out[0] = 0;
		return OCOP_OK;
	}
	if (!proto_uuid_valid(s, n)) {
		return OCOP_EPROTO;
	}
	memcpy(out, s, n);
	out[n] = 0;
	return OCOP_OK;
}

/* ===== Message checks ===== */

/* What the order and address checks need from one message. */
typedef struct bundle_msg {
	uint32_t type;                 /* proto_msg_type */
	char site[PROTO_UUID_LEN + 1]; /* requests: the caller's site; HELLO_OK: the server's */
	uint64_t next_cursor;          /* PULL_OK */
	bool more;                     /* PULL_OK */
} bundle_msg;

/* Open one framed message and decode its body by type, keeping what bundle_check needs. */
static int
bundle_decode_msg(const uint8_t *p, size_t len, bundle_msg *m, char *why, size_t whylen, uint32_t i)
{
	proto_env env;
	proto_rd body;
	union {
		proto_hello hello;
		proto_hello_ok hello_ok;
		proto_push push;
		proto_push_ok push_ok;
		proto_pull pull;
		proto_pull_ok pull_ok;
		proto_ack ack;
		proto_ack_ok ack_ok;
		proto_files files;
		proto_files_ok files_ok;
		proto_file_put put;
		proto_file_put_ok put_ok;
		proto_file_data data;
	} u;
	int rv;

	memset(m, 0, sizeof(*m));
	rv = proto_env_open(p, len, &env, &body);
	if (rv == OCOP_EVERSION) {
		return bundle_fail(why, whylen, OCOP_EVERSION,
		    "message %u speaks protocol version %u (this program speaks %d)", i + 1, env.version,
		    PROTO_VERSION);
	}
	if (rv != OCOP_OK) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "message %u is not a valid protocol message", i + 1);
	}
	m->type = env.type;
	switch (env.type) {
	case PROTO_MSG_HELLO:
		rv = proto_hello_decode(&body, &u.hello);
		memcpy(m->site, u.hello.site, sizeof(m->site));
		break;
	case PROTO_MSG_HELLO_OK:
		rv = proto_hello_ok_decode(&body, &u.hello_ok);
		memcpy(m->site, u.hello_ok.server_site, sizeof(m->site));
		break;
	case PROTO_MSG_PUSH:
		rv = proto_push_decode(&body, &u.push);
		memcpy(m->site, u.push.site, sizeof(m->site));
		break;
	case PROTO_MSG_PUSH_OK:
		rv = proto_push_ok_decode(&body, &u.push_ok);
		break;
	case PROTO_MSG_PULL:
		rv = proto_pull_decode(&body, &u.pull);
		memcpy(m->site, u.pull.site, sizeof(m->site));
		break;
	case PROTO_MSG_PULL_OK:
		rv = proto_pull_ok_decode(&body, &u.pull_ok);
		m->next_cursor = u.pull_ok.next_cursor;
		m->more = u.pull_ok.more;
		break;
	case PROTO_MSG_ACK:
		rv = proto_ack_decode(&body, &u.ack);
		memcpy(m->site, u.ack.site, sizeof(m->site));
		break;
	case PROTO_MSG_ACK_OK:
		rv = proto_ack_ok_decode(&body, &u.ack_ok);
		break;
	case PROTO_MSG_FILES:
		rv = proto_files_decode(&body, &u.files);
		memcpy(m->site, u.files.site, sizeof(m->site));
		break;
	case PROTO_MSG_FILES_OK:
		rv = proto_files_ok_decode(&body, &u.files_ok);
		break;
	case PROTO_MSG_FILE_PUT:
		rv = proto_file_put_decode(&body, &u.put);
		memcpy(m->site, u.put.site, sizeof(m->site));
		break;
	case PROTO_MSG_FILE_PUT_OK:
		rv = proto_file_put_ok_decode(&body, &u.put_ok);
		break;
	case PROTO_MSG_FILE_DATA:
		rv = proto_file_data_decode(&body, &u.data);
		break;
	default:
		return bundle_fail(why, whylen, OCOP_EPROTO, "message %u is a %s, which a bundle never holds",
		    i + 1, proto_msg_name(env.type));
	}
	if (rv == OCOP_ENOMEM) {
		return bundle_fail(why, whylen, OCOP_ENOMEM, "out of memory reading message %u (%s)", i + 1,
		    proto_msg_name(env.type));
	}
	if (rv != OCOP_OK) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "message %u (%s) is malformed", i + 1,
		    proto_msg_name(env.type));
	}
	return OCOP_OK;
}

/*
 * The order of messages, as a small state machine per kind:
 *   request: HELLO, PUSH*, ACK, PULL, [FILES, FILE_PUT*]
 *   reply:   HELLO_OK, PUSH_OK*, ACK_OK, PULL_OK+ (every page but the last
 *            says more, and the cursor never goes back),
 *            [FILES_OK], (FILE_PUT_OK | FILE_DATA)*
 * The file messages (PROTOCOL.md 6.3) come after the rows, as online.
 */
typedef struct bundle_order {
	int state;             /* 0 start, 1 after HELLO(_OK)/PUSH(_OK), 2 after ACK(_OK), 3 after PULL(_OK),
				  4 among the file messages */
	uint64_t cursor;       /* reply: cursor after the last page */
	bool more;             /* reply: the last page said more */
} bundle_order;

static int
bundle_step(bundle_order *o, const proto_bundle_hdr *h, const bundle_msg *m, char *why,
    size_t whylen, uint32_t i)
{
	bool req = h->kind == PROTO_BUNDLE_REQUEST;
	uint32_t first = req ? PROTO_MSG_HELLO : PROTO_MSG_HELLO_OK;
	uint32_t push = req ? PROTO_MSG_PUSH : PROTO_MSG_PUSH_OK;
	uint32_t ack = req ? PROTO_MSG_ACK : PROTO_MSG_ACK_OK;
	uint32_t pull = req ? PROTO_MSG_PULL : PROTO_MSG_PULL_OK;
	int next;

	if (o->state == 0 && m->type == first) {
		next = 1;
	} else if (o->state == 1 && m->type == push) {
		next = 1;
	} else if (o->state == 1 && m->type == ack) {
		next = 2;
	} else if ((o->state == 2 || (o->state == 3 && !req)) && m->type == pull) {
		next = 3;
	} else if (o->state == 3 && m->type == (req ? PROTO_MSG_FILES : PROTO_MSG_FILES_OK)) {
		next = 4;
	} else if (o->state == 4 && req && m->type == PROTO_MSG_FILE_PUT) {
		next = 4;
	} else if ((o->state == 3 || o->state == 4) && !req &&
		   (m->type == PROTO_MSG_FILE_PUT_OK || m->type == PROTO_MSG_FILE_DATA)) {
		next = 4;
	} else {
		return bundle_fail(why, whylen, OCOP_EPROTO,
		    "message %u: a %s does not belong there in a %s bundle", i + 1,
		    proto_msg_name(m->type), proto_bundle_kind_name(h->kind));
	}
	/* Every request speaks for the header's site; a reply comes from the header's server. */
	if (req && strcmp(m->site, h->site) != 0) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "message %u (%s) is from site %s, not %s", i + 1,
		    proto_msg_name(m->type), m->site, h->site);
	}
	if (!req && m->type == first && strcmp(m->site, h->server) != 0) {
		return bundle_fail(why, whylen, OCOP_EPROTO,
		    "the HELLO_OK is from server %s but the bundle says %s", m->site, h->server);
	}
	/* Reply pages: each continues the previous one, the first continues pull_from. */
	if (!req && m->type == pull) {
		if (o->state == 2 && m->next_cursor < h->pull_from) {
			return bundle_fail(why, whylen, OCOP_EPROTO,
			    "the first PULL_OK ends before the cursor it continues from");
		}
		if (o->state == 3 && (!o->more || m->next_cursor < o->cursor)) {
			return bundle_fail(why, whylen, OCOP_EPROTO, "message %u: PULL_OK pages out of order",
			    i + 1);
		}
		o->cursor = m->next_cursor;
		o->more = m->more;
	}
	o->state = next;
	return OCOP_OK;
}

/* ===== Reader ===== */

/* Read the body's header fields. */
static int
bundle_read_hdr(proto_rd *r, proto_bundle_hdr *h, char *why, size_t whylen)
{
	uint32_t n;
	uint64_t kind;

	if (proto_rd_array(r, &n) != OCOP_OK || n != 7) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "the body is not an array of 7");
	}
	if (proto_rd_uint(r, &kind) != OCOP_OK ||
	    (kind != PROTO_BUNDLE_REQUEST && kind != PROTO_BUNDLE_REPLY)) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "unknown bundle kind");
	}
	h->kind = (uint32_t)kind;
	if (bundle_rd_uuid(r, h->site, false) != OCOP_OK) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "the site id is not a UUID");
	}
	if (bundle_rd_uuid(r, h->server, h->kind == PROTO_BUNDLE_REQUEST) != OCOP_OK) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "the server id is not a UUID");
	}
	if (proto_rd_uint(r, &h->created_ms) != OCOP_OK || proto_rd_uint(r, &h->pull_from) != OCOP_OK) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "the creation time or cursor is not a uint");
	}
	if (h->kind == PROTO_BUNDLE_REQUEST && h->pull_from != 0) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "a request bundle has a pull cursor");
	}
	if (proto_rd_uint(r, &h->seq) != OCOP_OK || h->seq == 0) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "the bundle number is not a uint of at least 1");
	}
	return OCOP_OK;
}

/* The checks of the prefix: magic, format version, length. */
static int
bundle_prefix(const uint8_t *p, size_t len, char *why, size_t whylen)
{
	uint32_t version;
	uint64_t declared;

	if (len < 8 || memcmp(p, PROTO_BUNDLE_MAGIC, 8) != 0) {
		if (len < 8 && len > 0 && memcmp(p, PROTO_BUNDLE_MAGIC, len) == 0) {
			return bundle_fail(why, whylen, OCOP_ECORRUPT, "truncated: only %zu bytes", len);
		}
		return bundle_fail(why, whylen, OCOP_EPROTO,
		    "not an OCOP sync bundle (it does not start with %s)", PROTO_BUNDLE_MAGIC);
	}
	if (len < PROTO_BUNDLE_PREFIX) {
		return bundle_fail(why, whylen, OCOP_ECORRUPT, "truncated: only %zu bytes", len);
	}
	version = bundle_be32(p + 8);
	if (version != PROTO_BUNDLE_VERSION) {
		return bundle_fail(why, whylen, OCOP_EVERSION,
		    version == 1 ? "bundle format version 1 is not authenticated and no longer read: export the bundle "
				   "again with this version"
				 : "bundle format version %u is not supported (this program reads version %d)",
		    version, PROTO_BUNDLE_VERSION);
	}
	declared = bundle_be64(p + 12);
	if (declared != len) {
		return bundle_fail(why, whylen, OCOP_ECORRUPT,
		    declared > len ? "truncated: the file has %zu bytes but should have %llu"
				   : "the file has %zu bytes but should have %llu: damaged or appended to",
		    len, (unsigned long long)declared);
	}
	if (len < BUNDLE_MIN_LEN) {
		return bundle_fail(why, whylen, OCOP_ECORRUPT, "truncated: only %zu bytes", len);
	}
	return OCOP_OK;
}

int
proto_bundle_peek(proto_bundle_hdr *out, const uint8_t *p, size_t len, char *why, size_t whylen)
{
	proto_rd r;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = bundle_prefix(p, len, why, whylen)) != OCOP_OK) {
		return rv;
	}
	proto_rd_init(&r, p + PROTO_BUNDLE_PREFIX, len - PROTO_BUNDLE_PREFIX - PROTO_BUNDLE_DIGEST);
	return bundle_read_hdr(&r, out, why, whylen);
}

int
proto_bundle_open(proto_bundle *out, const uint8_t *p, size_t len, const uint8_t key[PROTO_BUNDLE_KEY], char *why,
    size_t whylen)
{
	uint8_t md[PROTO_BUNDLE_DIGEST];
	proto_rd r;
	bundle_order order;
	bundle_msg m;
	const uint8_t *msg;
	size_t mlen;
	size_t msgs_at;
	uint32_t i;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = bundle_prefix(p, len, why, whylen)) != OCOP_OK) {
		return rv;
	}
	if (!bundle_mac(key, p, len - PROTO_BUNDLE_DIGEST, md)) {
		return bundle_fail(why, whylen, OCOP_EINTERNAL, "HMAC-SHA256 is not available");
	}
	if (CRYPTO_memcmp(md, p + len - PROTO_BUNDLE_DIGEST, PROTO_BUNDLE_DIGEST) != 0) {
		return bundle_fail(why, whylen, OCOP_ECORRUPT,
		    "authentication failed: the file is damaged, was changed after it was written, or was not "
		    "written with this site's key (a forgery)");
	}
	proto_rd_init(&r, p + PROTO_BUNDLE_PREFIX, len - PROTO_BUNDLE_PREFIX - PROTO_BUNDLE_DIGEST);
	if ((rv = bundle_read_hdr(&r, &out->hdr, why, whylen)) != OCOP_OK) {
		return rv;
	}
	if (proto_rd_array(&r, &out->count) != OCOP_OK) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "the messages are not an array");
	}
	msgs_at = r.pos;
	memset(&order, 0, sizeof(order));
	for (i = 0; i < out->count; i++) {
		if (proto_rd_bin(&r, &msg, &mlen) != OCOP_OK || mlen == 0 || mlen > PROTO_MAX_MESSAGE) {
			return bundle_fail(why, whylen, OCOP_EPROTO, "message %u is not a bin of 1 to %u bytes",
			    i + 1, PROTO_MAX_MESSAGE);
		}
		if ((rv = bundle_decode_msg(msg, mlen, &m, why, whylen, i)) != OCOP_OK ||
		    (rv = bundle_step(&order, &out->hdr, &m, why, whylen, i)) != OCOP_OK) {
			return rv;
		}
	}
	if (proto_rd_done(&r) != OCOP_OK) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "bytes left after the last message");
	}
	if (order.state != 3 && order.state != 4) {
		return bundle_fail(why, whylen, OCOP_EPROTO, "the %s bundle is incomplete: it ends after %u messages",
		    proto_bundle_kind_name(out->hdr.kind), out->count);
	}
	out->msgs = r.p + msgs_at;
	out->msgs_len = r.pos - msgs_at;
	return OCOP_OK;
}

void
proto_bundle_iter(proto_bundle_it *it, const proto_bundle *b)
{
	proto_rd_init(&it->rd, b->msgs, b->msgs_len);
	it->left = b->count;
}

int
proto_bundle_next(proto_bundle_it *it, const uint8_t **msg, size_t *len, uint32_t *type)
{
	proto_env env;
	proto_rd body;

	if (it->left == 0) {
		return OCOP_ENOENT;
	}
	if (proto_rd_bin(&it->rd, msg, len) != OCOP_OK ||
	    proto_env_open(*msg, *len, &env, &body) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	*type = env.type;
	it->left--;
	return OCOP_OK;
}

/* ===== Writer ===== */

int
proto_bundle_begin(proto_bundle_wr *bw, com_buf *buf, const proto_bundle_hdr *h)
{
	static const uint8_t count32[5] = {0xdd, 0, 0, 0, 0};
	uint8_t prefix[PROTO_BUNDLE_PREFIX];
	size_t server_len = strlen(h->server);

	if ((h->kind != PROTO_BUNDLE_REQUEST && h->kind != PROTO_BUNDLE_REPLY) ||
	    !proto_uuid_valid(h->site, strlen(h->site)) ||
	    (server_len != 0 && !proto_uuid_valid(h->server, server_len)) ||
	    (h->kind == PROTO_BUNDLE_REPLY && server_len == 0) ||
	    (h->kind == PROTO_BUNDLE_REQUEST && h->pull_from != 0) || h->seq == 0) {
		return OCOP_EINVAL;
	}
	memset(bw, 0, sizeof(*bw));
	bw->start = buf->len;
	memcpy(prefix, PROTO_BUNDLE_MAGIC, 8);
	bundle_put_be32(prefix + 8, PROTO_BUNDLE_VERSION);
	bundle_put_be64(prefix + 12, 0); /* patched by proto_bundle_end */
	proto_wr_init(&bw->w, buf);
	proto_wr_raw(&bw->w, prefix, sizeof(prefix));
	proto_wr_array(&bw->w, 7);
	proto_wr_uint(&bw->w, h->kind);
	proto_wr_str(&bw->w, h->site, strlen(h->site));
	proto_wr_str(&bw->w, h->server, server_len);
	proto_wr_uint(&bw->w, h->created_ms);
	proto_wr_uint(&bw->w, h->pull_from);
	proto_wr_uint(&bw->w, h->seq);
	bw->count_at = buf->len;
	/* The count is not known yet: a fixed-width header, patched at the end. */
	proto_wr_raw(&bw->w, count32, sizeof(count32));
	if (proto_wr_error(&bw->w) != OCOP_OK) {
		buf->len = bw->start;
		return OCOP_ENOMEM;
	}
	return OCOP_OK;
}

int
proto_bundle_add(proto_bundle_wr *bw, const uint8_t *msg, size_t len)
{
	if (len == 0 || len > PROTO_MAX_MESSAGE) {
		return OCOP_EINVAL;
	}
	if (bw->count == UINT32_MAX) {
		return OCOP_EINVAL;
	}
	proto_wr_bin(&bw->w, msg, len);
	if (proto_wr_error(&bw->w) != OCOP_OK) {
		return OCOP_ENOMEM;
	}
	bw->count++;
	return OCOP_OK;
}

int
proto_bundle_end(proto_bundle_wr *bw, const uint8_t key[PROTO_BUNDLE_KEY])
{
	com_buf *buf = bw->w.buf;
	uint8_t md[PROTO_BUNDLE_DIGEST];
	proto_bundle check;
	size_t total;
	int rv;

	if (proto_wr_error(&bw->w) != OCOP_OK) {
		buf->len = bw->start;
		return OCOP_ENOMEM;
	}
	bundle_put_be32(buf->data + bw->count_at + 1, bw->count);
	total = buf->len - bw->start + PROTO_BUNDLE_DIGEST;
	bundle_put_be64(buf->data + bw->start + 12, (uint64_t)total);
	if (!bundle_mac(key, buf->data + bw->start, buf->len - bw->start, md)) {
		buf->len = bw->start;
		return OCOP_EINTERNAL;
	}
	if (com_buf_append(buf, md, sizeof(md)) != OCOP_OK) {
		buf->len = bw->start;
		return OCOP_ENOMEM;
	}
	/* Read it back: a writer never produces a bundle its reader refuses. */
	rv = proto_bundle_open(&check, buf->data + bw->start, total, key, NULL, 0);
	if (rv != OCOP_OK) {
		buf->len = bw->start;
		return rv == OCOP_ENOMEM ? OCOP_ENOMEM : OCOP_EINVAL;
	}
	return OCOP_OK;
}
