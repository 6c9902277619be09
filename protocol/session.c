/*
 * session.c: HELLO, HELLO_OK, PUSH, PUSH_OK, PULL, PULL_OK, ACK and ACK_OK
 * bodies (PROTOCOL.md sections 4.2 to 4.9).
 *
 * Each body is declared once as a table of fields (key, kind, place in the
 * struct), and one encoder and one decoder walk the tables, so the eight
 * messages cannot drift apart in how they treat keys, strings or arrays.
 */
#include "protocol/session.h"

#include <assert.h>
#include <stddef.h>
#include <string.h>

#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/text.h"

/* ===== Field tables ===== */

typedef enum session_kind {
	SK_UUID,       /* char[PROTO_UUID_LEN + 1]: canonical lowercase UUID */
	SK_STR,        /* char[max + 1]: UTF-8 without NUL, at most max bytes */
	SK_U32,        /* uint32_t */
	SK_U64,        /* uint64_t */
	SK_BOOL,       /* bool */
	SK_CHANGES,    /* proto_changes */
	SK_REJECTIONS, /* proto_rejections */
} session_kind;

typedef struct session_field {
	uint32_t key;      /* map key on the wire */
	session_kind kind; /* value type and its C representation */
	bool optional;     /* may be absent (the struct member is then zero) */
	size_t off;        /* offset of the member in the message struct */
	size_t max;        /* SK_STR: longest length in bytes */
} session_field;

typedef struct session_schema {
	uint32_t type;                /* envelope message type */
	size_t size;                  /* sizeof the message struct */
	const session_field *fields;  /* in the order the encoder writes them */
	uint32_t n;                   /* number of fields (at most 32) */
} session_schema;

#define SF(key, kind, opt, T, member, max) {key, kind, opt, offsetof(T, member), max}
#define SCHEMA(type, T, fields) {type, sizeof(T), fields, (uint32_t)(sizeof(fields) / sizeof(fields[0]))}

static const session_field hello_fields[] = {
    SF(1, SK_UUID, false, proto_hello, site, 0),
    SF(2, SK_STR, false, proto_hello, credential, PROTO_CREDENTIAL_MAX),
    SF(3, SK_U32, false, proto_hello, protocol_version, 0),
    SF(4, SK_U32, false, proto_hello, schema_version, 0),
    SF(5, SK_STR, false, proto_hello, role, PROTO_ROLE_MAX),
    SF(6, SK_STR, true, proto_hello, software, PROTO_SOFTWARE_MAX),
};
static const session_field hello_ok_fields[] = {
    SF(1, SK_UUID, false, proto_hello_ok, server_site, 0),
    SF(2, SK_STR, false, proto_hello_ok, server_role, PROTO_ROLE_MAX),
    SF(3, SK_U64, false, proto_hello_ok, server_hlc, 0),
    SF(4, SK_U64, false, proto_hello_ok, high_water, 0),
    SF(5, SK_U64, false, proto_hello_ok, max_batch_bytes, 0),
    SF(6, SK_U32, false, proto_hello_ok, schema_version, 0),
    SF(7, SK_U64, false, proto_hello_ok, cursor, 0),
};
/* The changes go last so that the batch writer can stream them. */
static const session_field push_fields[] = {
    SF(1, SK_UUID, false, proto_push, site, 0),
    SF(2, SK_STR, false, proto_push, credential, PROTO_CREDENTIAL_MAX),
    SF(3, SK_U64, false, proto_push, sender_hlc, 0),
    SF(4, SK_CHANGES, false, proto_push, changes, 0),
};
static const session_field push_ok_fields[] = {
    SF(1, SK_U64, false, proto_push_ok, high_water, 0),
    SF(2, SK_REJECTIONS, false, proto_push_ok, rejections, 0),
    SF(3, SK_U64, false, proto_push_ok, server_hlc, 0),
    SF(4, SK_U64, false, proto_push_ok, applied, 0),
    SF(5, SK_U64, false, proto_push_ok, duplicates, 0),
};
static const session_field pull_fields[] = {
    SF(1, SK_UUID, false, proto_pull, site, 0),
    SF(2, SK_STR, false, proto_pull, credential, PROTO_CREDENTIAL_MAX),
    SF(3, SK_U64, false, proto_pull, cursor, 0),
    SF(4, SK_U64, false, proto_pull, max_bytes, 0),
};
/* The changes go first: the fields after them depend on how many fitted. */
static const session_field pull_ok_fields[] = {
    SF(1, SK_CHANGES, false, proto_pull_ok, changes, 0),
    SF(2, SK_U64, false, proto_pull_ok, next_cursor, 0),
    SF(3, SK_BOOL, false, proto_pull_ok, more, 0),
    SF(4, SK_U64, false, proto_pull_ok, server_hlc, 0),
};
static const session_field ack_fields[] = {
    SF(1, SK_UUID, false, proto_ack, site, 0),
    SF(2, SK_STR, false, proto_ack, credential, PROTO_CREDENTIAL_MAX),
    SF(3, SK_U64, false, proto_ack, cursor, 0),
};
static const session_field ack_ok_fields[] = {
    SF(1, SK_U64, false, proto_ack_ok, cursor, 0),
};

static const session_schema hello_schema = SCHEMA(PROTO_MSG_HELLO, proto_hello, hello_fields);
static const session_schema hello_ok_schema =
    SCHEMA(PROTO_MSG_HELLO_OK, proto_hello_ok, hello_ok_fields);
static const session_schema push_schema = SCHEMA(PROTO_MSG_PUSH, proto_push, push_fields);
static const session_schema push_ok_schema =
    SCHEMA(PROTO_MSG_PUSH_OK, proto_push_ok, push_ok_fields);
static const session_schema pull_schema = SCHEMA(PROTO_MSG_PULL, proto_pull, pull_fields);
static const session_schema pull_ok_schema =
    SCHEMA(PROTO_MSG_PULL_OK, proto_pull_ok, pull_ok_fields);
static const session_schema ack_schema = SCHEMA(PROTO_MSG_ACK, proto_ack, ack_fields);
static const session_schema ack_ok_schema = SCHEMA(PROTO_MSG_ACK_OK, proto_ack_ok, ack_ok_fields);

/* ===== Rejections ===== */

/* Read one rejection [seq >= 1, code <= UINT32_MAX, reason]; the cursor is restored on error. */
static int
session_rejection_get(proto_rd *r, proto_rejection *out)
{
	size_t save = r->pos;
	uint32_t n;
	uint64_t code;
	const char *s;
	size_t len;

	if (proto_rd_array(r, &n) != OCOP_OK || n != 3 ||
	    proto_rd_uint(r, &out->seq) != OCOP_OK || out->seq == 0 ||
	    proto_rd_uint(r, &code) != OCOP_OK || code > UINT32_MAX ||
	    proto_rd_str(r, &s, &len) != OCOP_OK || len > PROTO_REASON_MAX ||
	    !proto_utf8_valid(s, len)) {
		r->pos = save;
		return OCOP_EPROTO;
	}
	out->code = (uint32_t)code;
	memcpy(out->reason, s, len);
	out->reason[len] = 0;
	return OCOP_OK;
}

void
proto_rejection_put(proto_wr *w, uint64_t seq, uint32_t code, const char *reason)
{
	char clean[PROTO_REASON_MAX];
	const uint8_t *p = (const uint8_t *)(reason != NULL ? reason : "");
	size_t len = strlen((const char *)p);
	size_t i = 0;
	size_t o = 0;
	size_t n;

	if (seq == 0) {
		if (w->rc == OCOP_OK) {
			w->rc = OCOP_EINVAL;
		}
		return;
	}
	/* Copy whole characters while they fit; an ill-formed byte becomes '?'. */
	while (i < len) {
		n = proto_utf8_seq(p + i, len - i);
		if (n == 0) {
			if (o + 1 > sizeof(clean)) {
				break;
			}
			clean[o++] = '?';
			i++;
			continue;
		}
		if (o + n > sizeof(clean)) {
			break;
		}
		memcpy(clean + o, p + i, n);
		o += n;
		i += n;
	}
	proto_wr_array(w, 3);
	proto_wr_uint(w, seq);
	proto_wr_uint(w, code);
	proto_wr_str(w, clean, o);
}

void
proto_rejections_iter(proto_rejections_it *it, const proto_rejections *v)
{
	proto_rd_init(&it->rd, v->p, v->len);
	it->left = v->count;
}

int
proto_rejections_next(proto_rejections_it *it, proto_rejection *r)
{
	if (it->left == 0) {
		return proto_rd_done(&it->rd) == OCOP_OK ? OCOP_ENOENT : OCOP_EPROTO;
	}
	if (session_rejection_get(&it->rd, r) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	it->left--;
	return OCOP_OK;
}

/* ===== Generic decoder ===== */

/*
 * Read an array whose every element `get` accepts, and describe it as a view
 * (elements only, header excluded). Each element is validated here, once, so
 * that walking the view later cannot fail.
 */
static int
session_array_get(proto_rd *r, const uint8_t **p, size_t *len, uint32_t *count)
{
	proto_rejection rej;
	uint32_t n;
	uint32_t k;
	size_t start;

	if (proto_rd_array(r, &n) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	start = r->pos;
	for (k = 0; k < n; k++) {
		if (session_rejection_get(r, &rej) != OCOP_OK) {
			return OCOP_EPROTO;
		}
	}
	*p = r->p + start;
	*len = r->pos - start;
	*count = n;
	return OCOP_OK;
}

/* Read one field's value into its struct member at dst. */
static int
session_field_get(proto_rd *r, const session_field *f, void *dst)
{
	const char *s;
	size_t len;
	uint64_t u;

	switch (f->kind) {
	case SK_UUID:
		if (proto_rd_str(r, &s, &len) != OCOP_OK || !proto_uuid_valid(s, len)) {
			return OCOP_EPROTO;
		}
		memcpy(dst, s, len);
		((char *)dst)[len] = 0;
		return OCOP_OK;
	case SK_STR:
		if (proto_rd_str(r, &s, &len) != OCOP_OK || len > f->max ||
		    !proto_utf8_valid(s, len)) {
			return OCOP_EPROTO;
		}
		memcpy(dst, s, len);
		((char *)dst)[len] = 0;
		return OCOP_OK;
	case SK_U32:
		if (proto_rd_uint(r, &u) != OCOP_OK || u > UINT32_MAX) {
			return OCOP_EPROTO;
		}
		*(uint32_t *)dst = (uint32_t)u;
		return OCOP_OK;
	case SK_U64:
		return proto_rd_uint(r, (uint64_t *)dst);
	case SK_BOOL:
		return proto_rd_bool(r, (bool *)dst);
	case SK_CHANGES:
		return proto_changes_get(r, dst);
	case SK_REJECTIONS: {
		proto_rejections *v = dst;
		return session_array_get(r, &v->p, &v->len, &v->count);
	}
	}
	return OCOP_EPROTO;
}

/* Decode a body map by its schema into out (a struct of s->size bytes). */
static int
session_decode(proto_rd *body, const session_schema *s, void *out)
{
	uint32_t n;
	uint32_t i;
	uint32_t k;
	uint32_t seen = 0;
	uint64_t key;
	int rv;

	memset(out, 0, s->size);
	if (proto_rd_map(body, &n) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	for (i = 0; i < n; i++) {
		if (proto_rd_uint(body, &key) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		for (k = 0; k < s->n && s->fields[k].key != key; k++) {
		}
		if (k == s->n) {
			/* A key from a later minor version: skip its value whole. */
			if (proto_rd_skip(body) != OCOP_OK) {
				return OCOP_EPROTO;
			}
			continue;
		}
		/* A repeated key would make the message mean two things. */
		if ((seen & (1u << k)) != 0) {
			return OCOP_EPROTO;
		}
		if ((rv = session_field_get(body, &s->fields[k], (char *)out + s->fields[k].off)) != OCOP_OK) {
			return rv == OCOP_ENOMEM ? rv : OCOP_EPROTO;
		}
		seen |= 1u << k;
	}
	for (k = 0; k < s->n; k++) {
		if (!s->fields[k].optional && (seen & (1u << k)) == 0) {
			return OCOP_EPROTO;
		}
	}
	return proto_rd_done(body);
}

/* ===== Generic encoder ===== */

/*
 * The cheap part of a view's check: bytes where it claims some, and at least
 * one byte per element. The elements themselves are trusted (see session.h).
 */
static int
session_view_check(const uint8_t *p, size_t len, uint32_t count)
{
	return (p != NULL || len == 0) && count <= len ? OCOP_OK : OCOP_EINVAL;
}

/* Check that a struct member would decode (views only roughly, see above). */
static int
session_field_check(const session_field *f, const void *src)
{
	const char *s = src;
	size_t len;

	switch (f->kind) {
	case SK_UUID:
		len = strnlen(s, PROTO_UUID_LEN + 1);
		return proto_uuid_valid(s, len) ? OCOP_OK : OCOP_EINVAL;
	case SK_STR:
		len = strnlen(s, f->max + 1);
		return len <= f->max && proto_utf8_valid(s, len) ? OCOP_OK : OCOP_EINVAL;
	case SK_CHANGES: {
		const proto_changes *v = src;
		return v->len > 0 ? session_view_check(v->p, v->len, v->count) : v->count == 0 ? OCOP_OK : OCOP_EINVAL;
	}
	case SK_REJECTIONS: {
		const proto_rejections *v = src;
		return session_view_check(v->p, v->len, v->count);
	}
	default:
		return OCOP_OK;
	}
}

/* Append an array header and a view's bytes. */
static void
session_view_put(proto_wr *w, const uint8_t *p, size_t len, uint32_t count)
{
	proto_wr_array(w, count);
	if (len > 0) {
		proto_wr_raw(w, p, len);
	}
}

/* Write one field's value from its struct member at src. */
static void
session_field_put(proto_wr *w, const session_field *f, const void *src)
{
	switch (f->kind) {
	case SK_UUID:
	case SK_STR:
		proto_wr_cstr(w, src);
		break;
	case SK_U32:
		proto_wr_uint(w, *(const uint32_t *)src);
		break;
	case SK_U64:
		proto_wr_uint(w, *(const uint64_t *)src);
		break;
	case SK_BOOL:
		proto_wr_bool(w, *(const bool *)src);
		break;
	case SK_CHANGES:
		proto_changes_put(w, src);
		break;
	case SK_REJECTIONS: {
		const proto_rejections *v = src;
		session_view_put(w, v->p, v->len, v->count);
		break;
	}
	}
}

/* Check fields [0, n) of m; OCOP_EINVAL names a field that would not decode. */
static int
session_check(const session_schema *s, uint32_t n, const void *m)
{
	uint32_t k;

	for (k = 0; k < n; k++) {
		if (session_field_check(&s->fields[k], (const char *)m + s->fields[k].off) != OCOP_OK) {
			return OCOP_EINVAL;
		}
	}
	return OCOP_OK;
}

/* Encode a whole framed message by its schema; buf is restored on error. */
static int
session_encode(com_buf *buf, const session_schema *s, const void *m)
{
	proto_wr w;
	size_t start;
	uint32_t k;
	int rv;

	if (session_check(s, s->n, m) != OCOP_OK) {
		return OCOP_EINVAL;
	}
	proto_wr_init(&w, buf);
	start = proto_env_begin(&w, s->type);
	proto_wr_map(&w, s->n);
	for (k = 0; k < s->n; k++) {
		proto_wr_uint(&w, s->fields[k].key);
		session_field_put(&w, &s->fields[k], (const char *)m + s->fields[k].off);
	}
	rv = proto_env_end(&w, start);
	if (rv != OCOP_OK) {
		buf->len = start;
	}
	return rv;
}

/* ===== Public encoders and decoders ===== */

int
proto_hello_encode(com_buf *buf, const proto_hello *m)
{
	return session_encode(buf, &hello_schema, m);
}

int
proto_hello_decode(proto_rd *body, proto_hello *out)
{
	return session_decode(body, &hello_schema, out);
}

int
proto_hello_ok_encode(com_buf *buf, const proto_hello_ok *m)
{
	return session_encode(buf, &hello_ok_schema, m);
}

int
proto_hello_ok_decode(proto_rd *body, proto_hello_ok *out)
{
	return session_decode(body, &hello_ok_schema, out);
}

int
proto_push_encode(com_buf *buf, const proto_push *m)
{
	return session_encode(buf, &push_schema, m);
}

int
proto_push_decode(proto_rd *body, proto_push *out)
{
	return session_decode(body, &push_schema, out);
}

int
proto_push_peek(const proto_rd *body, uint32_t *count, uint64_t *size)
{
	proto_rd r = *body;
	uint32_t n;
	uint32_t i;
	uint64_t key;
	const uint32_t want = push_fields[push_schema.n - 1].key;

	if (proto_rd_map(&r, &n) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	for (i = 0; i < n; i++) {
		if (proto_rd_uint(&r, &key) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		if (key == want) {
			return proto_changes_peek(&r, count, size);
		}
		if (proto_rd_skip(&r) != OCOP_OK) {
			return OCOP_EPROTO;
		}
	}
	return OCOP_EPROTO;
}

int
proto_push_ok_encode(com_buf *buf, const proto_push_ok *m)
{
	return session_encode(buf, &push_ok_schema, m);
}

int
proto_push_ok_decode(proto_rd *body, proto_push_ok *out)
{
	return session_decode(body, &push_ok_schema, out);
}

int
proto_pull_encode(com_buf *buf, const proto_pull *m)
{
	return session_encode(buf, &pull_schema, m);
}

int
proto_pull_decode(proto_rd *body, proto_pull *out)
{
	return session_decode(body, &pull_schema, out);
}

int
proto_pull_ok_encode(com_buf *buf, const proto_pull_ok *m)
{
	return session_encode(buf, &pull_ok_schema, m);
}

int
proto_pull_ok_decode(proto_rd *body, proto_pull_ok *out)
{
	return session_decode(body, &pull_ok_schema, out);
}

int
proto_ack_encode(com_buf *buf, const proto_ack *m)
{
	return session_encode(buf, &ack_schema, m);
}

int
proto_ack_decode(proto_rd *body, proto_ack *out)
{
	return session_decode(body, &ack_schema, out);
}

int
proto_ack_ok_encode(com_buf *buf, const proto_ack_ok *m)
{
	return session_encode(buf, &ack_ok_schema, m);
}

int
proto_ack_ok_decode(proto_rd *body, proto_ack_ok *out)
{
	return session_decode(body, &ack_ok_schema, out);
}

/* ===== Batch writer ===== */

#define BATCH_CRC_MAX 5     /* the CRC as a msgpack uint32 */
/* PULL_OK's tail: three keys, two uint64 and a bool. */
#define BATCH_PULL_OK_TAIL (3 + 9 + 1 + 9)

/* Common end of begin calls: on error give the buffer back. */
static int
batch_begun(proto_batch *b)
{
	int rv = proto_wr_error(&b->w);

	if (rv != OCOP_OK) {
		b->w.buf->len = b->start;
		proto_body_fini(&b->body);
	}
	return rv;
}

int
proto_push_begin(proto_batch *b, com_buf *buf, const proto_push *hdr, size_t max_bytes)
{
	uint32_t k;

	/* Every field but the changes, which the batch supplies. */
	if (session_check(&push_schema, push_schema.n - 1, hdr) != OCOP_OK) {
		return OCOP_EINVAL;
	}
	memset(b, 0, sizeof(*b));
	proto_body_init(&b->body);
	proto_wr_init(&b->w, buf);
	b->type = PROTO_MSG_PUSH;
	b->max_bytes = max_bytes;
	b->tail = BATCH_CRC_MAX;
	b->start = proto_env_begin(&b->w, PROTO_MSG_PUSH);
	proto_wr_map(&b->w, push_schema.n);
	for (k = 0; k + 1 < push_schema.n; k++) {
		proto_wr_uint(&b->w, push_fields[k].key);
		session_field_put(&b->w, &push_fields[k], (const char *)hdr + push_fields[k].off);
	}
	proto_wr_uint(&b->w, push_fields[push_schema.n - 1].key);
	return batch_begun(b);
}

int
proto_pull_ok_begin(proto_batch *b, com_buf *buf, size_t max_bytes)
{
	memset(b, 0, sizeof(*b));
	proto_body_init(&b->body);
	proto_wr_init(&b->w, buf);
	b->type = PROTO_MSG_PULL_OK;
	b->max_bytes = max_bytes;
	b->tail = BATCH_PULL_OK_TAIL + BATCH_CRC_MAX;
	b->start = proto_env_begin(&b->w, PROTO_MSG_PULL_OK);
	proto_wr_map(&b->w, pull_ok_schema.n);
	proto_wr_uint(&b->w, pull_ok_fields[0].key);
	return batch_begun(b);
}

size_t
proto_batch_size(const proto_batch *b)
{
	return b->w.buf->len - b->start + proto_body_size(&b->body) + b->tail;
}

int
proto_batch_add(proto_batch *b, const proto_change *c)
{
	proto_body_mark m;
	size_t size;
	int rv;

	if (b->w.rc != OCOP_OK) {
		return b->w.rc;
	}
	proto_body_save(&b->body, &m);
	if ((rv = proto_body_add(&b->body, c)) != OCOP_OK) {
		if (rv == OCOP_ENOMEM) {
			b->w.rc = rv;
		}
		return rv;
	}
	size = proto_batch_size(b);
	if ((size > b->max_bytes && b->body.count > 1) || size > PROTO_MAX_MESSAGE) {
		proto_body_undo(&b->body, &m);
		return OCOP_ETOOBIG;
	}
	return OCOP_OK;
}

uint32_t
proto_batch_count(const proto_batch *b)
{
	return b->body.count;
}

void
proto_batch_abandon(proto_batch *b)
{
	proto_body_fini(&b->body);
}

/* Write the records; on error give the buffer back. */
static void
batch_put_body(proto_batch *b)
{
	if (b->w.rc == OCOP_OK) {
		proto_body_put(&b->body, &b->w);
	}
	proto_body_fini(&b->body);
}

/* Close the frame; on error give the buffer back. */
static int
batch_close(proto_batch *b)
{
	int rv = proto_env_end(&b->w, b->start);

	if (rv != OCOP_OK) {
		b->w.buf->len = b->start;
	}
	return rv;
}

int
proto_push_end(proto_batch *b)
{
	assert(b->type == PROTO_MSG_PUSH);
	batch_put_body(b);
	return batch_close(b);
}

int
proto_pull_ok_end(proto_batch *b, uint64_t next_cursor, bool more, uint64_t server_hlc)
{
	assert(b->type == PROTO_MSG_PULL_OK);
	batch_put_body(b);
	if (b->w.rc == OCOP_OK) {
		proto_wr_uint(&b->w, pull_ok_fields[1].key);
		proto_wr_uint(&b->w, next_cursor);
		proto_wr_uint(&b->w, pull_ok_fields[2].key);
		proto_wr_bool(&b->w, more);
		proto_wr_uint(&b->w, pull_ok_fields[3].key);
		proto_wr_uint(&b->w, server_hlc);
	}
	return batch_close(b);
}
