/*
 * wire.c: msgpack writer (over msgpack-c) and bounds-checked reader.
 * Implements PROTOCOL.md section 2 (value encoding).
 */
#include "protocol/wire.h"

#include <string.h>

#include <msgpack.h>

#include "common/util/alloc.h"
#include "ocop_err.h"

/* ===== Writer ===== */

/* msgpack-c write callback: append to the com_buf; a failure makes the packer return -1. */
static int
wr_sink(void *data, const char *buf, size_t len)
{
	proto_wr *w = data;

	if (w->rc != OCOP_OK) {
		return -1;
	}
	w->rc = com_buf_append(w->buf, buf, len);
	return w->rc == OCOP_OK ? 0 : -1;
}

void
proto_wr_init(proto_wr *w, com_buf *buf)
{
	w->buf = buf;
	w->rc = OCOP_OK;
}

int
proto_wr_error(const proto_wr *w)
{
	return w->rc;
}

/* Run one msgpack-c pack call with the packer bound to w, keeping the sticky code. */
#define WR_PACK(w, call)                                                       \
	do {                                                                   \
		msgpack_packer pk_;                                            \
		if ((w)->rc != OCOP_OK) {                                      \
			return;                                                \
		}                                                              \
		msgpack_packer_init(&pk_, (w), wr_sink);                       \
		if ((call) != 0 && (w)->rc == OCOP_OK) {                       \
			(w)->rc = OCOP_ENOMEM;                                 \
		}                                                              \
	} while (0)

void
proto_wr_nil(proto_wr *w)
{
	WR_PACK(w, msgpack_pack_nil(&pk_));
}

void
proto_wr_bool(proto_wr *w, bool v)
{
	WR_PACK(w, v ? msgpack_pack_true(&pk_) : msgpack_pack_false(&pk_));
}

void
proto_wr_int(proto_wr *w, int64_t v)
{
	WR_PACK(w, msgpack_pack_int64(&pk_, v));
}

void
proto_wr_uint(proto_wr *w, uint64_t v)
{
	WR_PACK(w, msgpack_pack_uint64(&pk_, v));
}

void
proto_wr_double(proto_wr *w, double v)
{
	WR_PACK(w, msgpack_pack_double(&pk_, v));
}

void
proto_wr_str(proto_wr *w, const char *s, size_t len)
{
	if (len > UINT32_MAX) {
		if (w->rc == OCOP_OK) {
			w->rc = OCOP_ETOOBIG;
		}
		return;
	}
	WR_PACK(w, msgpack_pack_str_with_body(&pk_, s, len));
}

void
proto_wr_cstr(proto_wr *w, const char *s)
{
	if (s == NULL) {
		proto_wr_nil(w);
	} else {
		proto_wr_str(w, s, strlen(s));
	}
}

void
proto_wr_bin(proto_wr *w, const void *p, size_t len)
{
	if (len > UINT32_MAX) {
		if (w->rc == OCOP_OK) {
			w->rc = OCOP_ETOOBIG;
		}
		return;
	}
	WR_PACK(w, msgpack_pack_bin_with_body(&pk_, p, len));
}

void
proto_wr_array(proto_wr *w, uint32_t n)
{
	WR_PACK(w, msgpack_pack_array(&pk_, n));
}

void
proto_wr_map(proto_wr *w, uint32_t n)
{
	WR_PACK(w, msgpack_pack_map(&pk_, n));
}

void
proto_wr_raw(proto_wr *w, const void *p, size_t len)
{
	if (w->rc == OCOP_OK) {
		w->rc = com_buf_append(w->buf, p, len);
	}
}

/* ===== Reader ===== */

void
proto_rd_init(proto_rd *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
}

size_t
proto_rd_left(const proto_rd *r)
{
	return r->len - r->pos;
}

int
proto_rd_done(const proto_rd *r)
{
	return r->pos == r->len ? OCOP_OK : OCOP_EPROTO;
}

/* Big-endian unsigned of width n (1, 2, 4, 8) at q. */
static uint64_t
rd_be(const uint8_t *q, size_t n)
{
	uint64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		v = (v << 8) | q[i];
	}
	return v;
}

/*
 * Decoded header of the value at the cursor: its type, the header size, and
 * either its scalar payload or its length/count. Nothing is consumed.
 */
typedef struct rd_head {
	proto_type type; /* kind of value */
	size_t hsize;    /* header bytes, including the type byte */
	uint64_t u;      /* unsigned value, or length / element count */
	int64_t i;       /* signed value when neg is true */
	bool neg;        /* the integer is negative */
	double d;        /* float payload */
	size_t ext_extra; /* ext: the type byte that follows the length */
} rd_head;

static int
rd_head_read(const proto_rd *r, rd_head *h)
{
	const uint8_t *q = r->p + r->pos;
	size_t left = proto_rd_left(r);
	uint8_t b;
	size_t w = 0; /* width of a following length or scalar */

	if (left < 1) {
		return OCOP_EPROTO;
	}
	b = q[0];
	memset(h, 0, sizeof(*h));
	h->hsize = 1;
	if (b <= 0x7f) {
		h->type = PROTO_T_INT;
		h->u = b;
		return OCOP_OK;
	}
	if (b >= 0xe0) {
		h->type = PROTO_T_INT;
		h->neg = true;
		h->i = (int8_t)b;
		return OCOP_OK;
	}
	if ((b & 0xf0) == 0x80) {
		h->type = PROTO_T_MAP;
		h->u = b & 0x0f;
		return OCOP_OK;
	}
	if ((b & 0xf0) == 0x90) {
		h->type = PROTO_T_ARRAY;
		h->u = b & 0x0f;
		return OCOP_OK;
	}
	if ((b & 0xe0) == 0xa0) {
		h->type = PROTO_T_STR;
		h->u = b & 0x1f;
		return OCOP_OK;
	}
	switch (b) {
	case 0xc0:
		h->type = PROTO_T_NIL;
		return OCOP_OK;
	case 0xc2:
	case 0xc3:
		h->type = PROTO_T_BOOL;
		h->u = b == 0xc3;
		return OCOP_OK;
	case 0xc4: case 0xc5: case 0xc6:
		h->type = PROTO_T_BIN;
		w = (size_t)1 << (b - 0xc4);
		break;
	case 0xc7: case 0xc8: case 0xc9:
		h->type = PROTO_T_EXT;
		w = (size_t)1 << (b - 0xc7);
		h->ext_extra = 1;
		break;
	case 0xca:
	case 0xcb:
		h->type = PROTO_T_FLOAT;
		w = b == 0xca ? 4 : 8;
		break;
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		h->type = PROTO_T_INT;
		w = (size_t)1 << (b - 0xcc);
		break;
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		h->type = PROTO_T_INT;
		h->neg = true;
		w = (size_t)1 << (b - 0xd0);
		break;
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		/* fixext: one type byte, then 1..16 data bytes */
		h->type = PROTO_T_EXT;
		h->hsize = 2;
		h->u = (uint64_t)1 << (b - 0xd4);
		return left < 2 ? OCOP_EPROTO : OCOP_OK;
	case 0xd9: case 0xda: case 0xdb:
		h->type = PROTO_T_STR;
		w = (size_t)1 << (b - 0xd9);
		break;
	case 0xdc: case 0xdd:
		h->type = PROTO_T_ARRAY;
		w = b == 0xdc ? 2 : 4;
		break;
	case 0xde: case 0xdf:
		h->type = PROTO_T_MAP;
		w = b == 0xde ? 2 : 4;
		break;
	default: /* 0xc1 is never used */
		return OCOP_EPROTO;
	}
	if (left < 1 + w + h->ext_extra) {
		return OCOP_EPROTO;
	}
	h->hsize = 1 + w + h->ext_extra;
	if (h->type == PROTO_T_FLOAT) {
		uint64_t bits = rd_be(q + 1, w);
		if (w == 4) {
			uint32_t b32 = (uint32_t)bits;
			float f;
			memcpy(&f, &b32, 4);
			h->d = f;
		} else {
			memcpy(&h->d, &bits, 8);
		}
		return OCOP_OK;
	}
	if (h->type == PROTO_T_INT && h->neg) {
		uint64_t raw = rd_be(q + 1, w);
		switch (w) {
		case 1: h->i = (int8_t)(uint8_t)raw; break;
		case 2: h->i = (int16_t)(uint16_t)raw; break;
		case 4: h->i = (int32_t)(uint32_t)raw; break;
		default: h->i = (int64_t)raw; break;
		}
		if (h->i >= 0) {
			/* A non-negative value in a signed encoding: treat as unsigned. */
			h->neg = false;
			h->u = (uint64_t)h->i;
		}
		return OCOP_OK;
	}
	h->u = rd_be(q + 1, w);
	return OCOP_OK;
}

/* Check that the payload of a str/bin/ext of length n fits in what is left. */
static int
rd_payload_fits(const proto_rd *r, const rd_head *h, uint64_t n)
{
	return n <= (uint64_t)(proto_rd_left(r) - h->hsize) ? OCOP_OK : OCOP_EPROTO;
}

int
proto_rd_peek(const proto_rd *r, proto_type *t)
{
	rd_head h;
	int rv = rd_head_read(r, &h);

	if (rv == OCOP_OK) {
		*t = h.type;
	}
	return rv;
}

int
proto_rd_nil(proto_rd *r)
{
	rd_head h;

	if (rd_head_read(r, &h) != OCOP_OK || h.type != PROTO_T_NIL) {
		return OCOP_EPROTO;
	}
	r->pos += h.hsize;
	return OCOP_OK;
}

bool
proto_rd_try_nil(proto_rd *r)
{
	return proto_rd_nil(r) == OCOP_OK;
}

int
proto_rd_bool(proto_rd *r, bool *v)
{
	rd_head h;

	if (rd_head_read(r, &h) != OCOP_OK || h.type != PROTO_T_BOOL) {
		return OCOP_EPROTO;
	}
	*v = h.u != 0;
	r->pos += h.hsize;
	return OCOP_OK;
}

int
proto_rd_int(proto_rd *r, int64_t *v)
{
	rd_head h;

	if (rd_head_read(r, &h) != OCOP_OK || h.type != PROTO_T_INT) {
		return OCOP_EPROTO;
	}
	if (h.neg) {
		*v = h.i;
	} else if (h.u > (uint64_t)INT64_MAX) {
		return OCOP_EPROTO;
	} else {
		*v = (int64_t)h.u;
	}
	r->pos += h.hsize;
	return OCOP_OK;
}

int
proto_rd_uint(proto_rd *r, uint64_t *v)
{
	rd_head h;

	if (rd_head_read(r, &h) != OCOP_OK || h.type != PROTO_T_INT || h.neg) {
		return OCOP_EPROTO;
	}
	*v = h.u;
	r->pos += h.hsize;
	return OCOP_OK;
}

int
proto_rd_double(proto_rd *r, double *v)
{
	rd_head h;

	if (rd_head_read(r, &h) != OCOP_OK || h.type != PROTO_T_FLOAT) {
		return OCOP_EPROTO;
	}
	*v = h.d;
	r->pos += h.hsize;
	return OCOP_OK;
}

static int
rd_bytes(proto_rd *r, proto_type want, const uint8_t **p, size_t *len)
{
	rd_head h;

	if (rd_head_read(r, &h) != OCOP_OK || h.type != want ||
	    rd_payload_fits(r, &h, h.u) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	*p = r->p + r->pos + h.hsize;
	*len = (size_t)h.u;
	r->pos += h.hsize + (size_t)h.u;
	return OCOP_OK;
}

int
proto_rd_str(proto_rd *r, const char **s, size_t *len)
{
	const uint8_t *p;
	int rv = rd_bytes(r, PROTO_T_STR, &p, len);

	if (rv == OCOP_OK) {
		*s = (const char *)p;
	}
	return rv;
}

int
proto_rd_bin(proto_rd *r, const uint8_t **p, size_t *len)
{
	return rd_bytes(r, PROTO_T_BIN, p, len);
}

int
proto_rd_strdup(proto_rd *r, char **out, size_t max_len)
{
	const char *s;
	size_t len;
	size_t save = r->pos;
	char *d;

	if (proto_rd_str(r, &s, &len) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	if (len > max_len || memchr(s, 0, len) != NULL) {
		r->pos = save;
		return OCOP_EPROTO;
	}
	d = com_strndup(s, len);
	if (d == NULL) {
		r->pos = save;
		return OCOP_ENOMEM;
	}
	*out = d;
	return OCOP_OK;
}

/* A container of n elements needs at least n bytes (per) more input. */
static int
rd_container(proto_rd *r, proto_type want, uint64_t per, uint32_t *n)
{
	rd_head h;

	if (rd_head_read(r, &h) != OCOP_OK || h.type != want) {
		return OCOP_EPROTO;
	}
	if (h.u > UINT32_MAX || h.u * per > (uint64_t)(proto_rd_left(r) - h.hsize)) {
		return OCOP_EPROTO;
	}
	*n = (uint32_t)h.u;
	r->pos += h.hsize;
	return OCOP_OK;
}

int
proto_rd_array(proto_rd *r, uint32_t *n)
{
	return rd_container(r, PROTO_T_ARRAY, 1, n);
}

int
proto_rd_map(proto_rd *r, uint32_t *n)
{
	return rd_container(r, PROTO_T_MAP, 2, n);
}

static int
rd_skip_depth(proto_rd *r, int depth)
{
	rd_head h;
	uint64_t count;
	uint64_t k;
	size_t save = r->pos;

	if (depth > PROTO_MAX_DEPTH || rd_head_read(r, &h) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	switch (h.type) {
	case PROTO_T_STR:
	case PROTO_T_BIN:
	case PROTO_T_EXT:
		if (rd_payload_fits(r, &h, h.u) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		r->pos += h.hsize + (size_t)h.u;
		return OCOP_OK;
	case PROTO_T_ARRAY:
	case PROTO_T_MAP:
		count = h.type == PROTO_T_MAP ? h.u * 2 : h.u;
		if (count > (uint64_t)(proto_rd_left(r) - h.hsize)) {
			return OCOP_EPROTO;
		}
		r->pos += h.hsize;
		for (k = 0; k < count; k++) {
			if (rd_skip_depth(r, depth + 1) != OCOP_OK) {
				r->pos = save;
				return OCOP_EPROTO;
			}
		}
		return OCOP_OK;
	default:
		r->pos += h.hsize;
		return OCOP_OK;
	}
}

int
proto_rd_skip(proto_rd *r)
{
	return rd_skip_depth(r, 0);
}
