/*
 * files.c: FILES, FILES_OK, FILE_PUT, FILE_PUT_OK, FILE_GET and FILE_DATA
 * bodies (PROTOCOL.md sections 4.10 to 4.15).
 *
 * As in session.c, each body is one table of fields walked by one encoder
 * and one decoder; what a field table cannot say (a chunk inside its file, a
 * state in range) is checked once per message after the fields are read.
 */
#include "protocol/files.h"

#include <stddef.h>
#include <string.h>

#include <openssl/evp.h>

#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/text.h"

/* ===== Field tables ===== */

typedef enum files_kind {
	FK_UUID, /* char[PROTO_UUID_LEN + 1] */
	FK_STR,  /* char[max + 1]: UTF-8 without NUL */
	FK_U32,  /* uint32_t */
	FK_U64,  /* uint64_t */
	FK_BOOL, /* bool */
	FK_SHA,  /* uint8_t[PROTO_SHA256_LEN]: a bin of exactly 32 */
	FK_DATA, /* const uint8_t * at off, size_t at off2: a bin of at most PROTO_CHUNK_MAX */
	FK_LIST, /* proto_file_list: an array of entries (max: 1 for reply entries) */
} files_kind;

typedef struct files_field {
	uint32_t key;    /* map key on the wire */
	files_kind kind; /* value type and C representation */
	size_t off;      /* offset of the member */
	size_t off2;     /* FK_DATA: offset of the length member */
	size_t max;      /* FK_STR: longest length; FK_LIST: 1 for FILES_OK entries */
} files_field;

typedef struct files_schema {
	uint32_t type;             /* envelope message type */
	size_t size;               /* sizeof the message struct */
	const files_field *fields; /* in encoding order */
	uint32_t n;                /* number of fields */
	int (*check)(const void *m); /* what the fields cannot say alone; NULL = nothing */
} files_schema;

#define FF(key, kind, T, member, max) {key, kind, offsetof(T, member), 0, max}
#define FD(key, T, member, len) {key, FK_DATA, offsetof(T, member), offsetof(T, len), 0}
#define SCHEMA(type, T, fields, check) \
	{type, sizeof(T), fields, (uint32_t)(sizeof(fields) / sizeof(fields[0])), check}

static const files_field files_fields[] = {
    FF(1, FK_UUID, proto_files, site, 0),
    FF(2, FK_STR, proto_files, credential, PROTO_CREDENTIAL_MAX),
    FF(3, FK_LIST, proto_files, files, 0),
};
static const files_field files_ok_fields[] = {
    FF(1, FK_LIST, proto_files_ok, files, 1),
    FF(2, FK_U32, proto_files_ok, chunk_bytes, 0),
    FF(3, FK_U64, proto_files_ok, max_file_bytes, 0),
    FF(4, FK_U32, proto_files_ok, retention_days, 0),
};
static const files_field put_fields[] = {
    FF(1, FK_UUID, proto_file_put, site, 0),
    FF(2, FK_STR, proto_file_put, credential, PROTO_CREDENTIAL_MAX),
    FF(3, FK_SHA, proto_file_put, sha, 0),
    FF(4, FK_U64, proto_file_put, size, 0),
    FF(5, FK_U64, proto_file_put, offset, 0),
    FD(6, proto_file_put, data, len),
    FF(7, FK_SHA, proto_file_put, digest, 0),
};
static const files_field put_ok_fields[] = {
    FF(1, FK_SHA, proto_file_put_ok, sha, 0),
    FF(2, FK_U64, proto_file_put_ok, held, 0),
    FF(3, FK_BOOL, proto_file_put_ok, whole, 0),
};
static const files_field get_fields[] = {
    FF(1, FK_UUID, proto_file_get, site, 0),
    FF(2, FK_STR, proto_file_get, credential, PROTO_CREDENTIAL_MAX),
    FF(3, FK_SHA, proto_file_get, sha, 0),
    FF(4, FK_U64, proto_file_get, offset, 0),
    FF(5, FK_U32, proto_file_get, max_bytes, 0),
};
static const files_field data_fields[] = {
    FF(1, FK_SHA, proto_file_data, sha, 0),
    FF(2, FK_U64, proto_file_data, size, 0),
    FF(3, FK_U64, proto_file_data, offset, 0),
    FD(4, proto_file_data, data, len),
    FF(5, FK_SHA, proto_file_data, digest, 0),
};

/* A chunk lies inside its file, and is empty only as the whole of an empty file. */
static int
files_chunk_fits(uint64_t size, uint64_t offset, size_t len)
{
	if (size > PROTO_FILE_SIZE_MAX || offset > size || len > size - offset) {
		return OCOP_EPROTO;
	}
	if (len == 0 && !(size == 0 && offset == 0)) {
		return OCOP_EPROTO;
	}
	return OCOP_OK;
}

static int
files_put_check(const void *m)
{
	const proto_file_put *p = m;
	return files_chunk_fits(p->size, p->offset, p->len);
}

static int
files_data_check(const void *m)
{
	const proto_file_data *p = m;
	return files_chunk_fits(p->size, p->offset, p->len);
}

static int
files_ok_check(const void *m)
{
	const proto_files_ok *p = m;
	return p->chunk_bytes >= 1 && p->chunk_bytes <= PROTO_CHUNK_MAX ? OCOP_OK : OCOP_EPROTO;
}

static int
files_get_check(const void *m)
{
	const proto_file_get *p = m;
	return p->offset <= PROTO_FILE_SIZE_MAX && p->max_bytes <= PROTO_CHUNK_MAX ? OCOP_OK : OCOP_EPROTO;
}

static int
files_put_ok_check(const void *m)
{
	const proto_file_put_ok *p = m;
	return p->held <= PROTO_FILE_SIZE_MAX ? OCOP_OK : OCOP_EPROTO;
}

static const files_schema files_schema_ = SCHEMA(PROTO_MSG_FILES, proto_files, files_fields, NULL);
static const files_schema files_ok_schema = SCHEMA(PROTO_MSG_FILES_OK, proto_files_ok, files_ok_fields, files_ok_check);
static const files_schema put_schema = SCHEMA(PROTO_MSG_FILE_PUT, proto_file_put, put_fields, files_put_check);
static const files_schema put_ok_schema =
    SCHEMA(PROTO_MSG_FILE_PUT_OK, proto_file_put_ok, put_ok_fields, files_put_ok_check);
static const files_schema get_schema = SCHEMA(PROTO_MSG_FILE_GET, proto_file_get, get_fields, files_get_check);
static const files_schema data_schema = SCHEMA(PROTO_MSG_FILE_DATA, proto_file_data, data_fields, files_data_check);

/* ===== Entries ===== */

/* Read one entry; the cursor is restored on error. */
static int
files_entry_get(proto_rd *r, bool reply, proto_file_entry *e)
{
	size_t save = r->pos;
	const uint8_t *sha;
	size_t len;
	uint32_t n;
	uint64_t a;
	uint64_t b;
	uint64_t c = 0;

	memset(e, 0, sizeof(*e));
	if (proto_rd_array(r, &n) != OCOP_OK || n != (reply ? 4u : 3u) || proto_rd_bin(r, &sha, &len) != OCOP_OK ||
	    len != PROTO_SHA256_LEN || proto_rd_uint(r, &a) != OCOP_OK || proto_rd_uint(r, &b) != OCOP_OK ||
	    (reply && proto_rd_uint(r, &c) != OCOP_OK)) {
		r->pos = save;
		return OCOP_EPROTO;
	}
	memcpy(e->sha, sha, PROTO_SHA256_LEN);
	if (reply) {
		/* [sha, state, held, code] */
		if (a < PROTO_FILE_HAVE || a > PROTO_FILE_REFUSED || b > PROTO_FILE_SIZE_MAX || c > UINT32_MAX) {
			r->pos = save;
			return OCOP_EPROTO;
		}
		e->state = (uint32_t)a;
		e->held = b;
		e->code = (uint32_t)c;
	} else {
		/* [sha, size, held]: nobody holds more of a file than it has */
		if (a > PROTO_FILE_SIZE_MAX || b > a) {
			r->pos = save;
			return OCOP_EPROTO;
		}
		e->size = a;
		e->held = b;
	}
	return OCOP_OK;
}

static void
files_entry_put(proto_wr *w, bool reply, const proto_file_entry *e)
{
	proto_wr_array(w, reply ? 4 : 3);
	proto_wr_bin(w, e->sha, PROTO_SHA256_LEN);
	if (reply) {
		proto_wr_uint(w, e->state);
		proto_wr_uint(w, e->held);
		proto_wr_uint(w, e->code);
	} else {
		proto_wr_uint(w, e->size);
		proto_wr_uint(w, e->held);
	}
}

static bool
files_entry_ok(bool reply, const proto_file_entry *e)
{
	if (reply) {
		return e->state >= PROTO_FILE_HAVE && e->state <= PROTO_FILE_REFUSED && e->held <= PROTO_FILE_SIZE_MAX;
	}
	return e->size <= PROTO_FILE_SIZE_MAX && e->held <= e->size;
}

void
proto_file_iter(proto_file_it *it, const proto_file_list *v, bool reply)
{
	proto_rd_init(&it->rd, v->p, v->len);
	it->left = v->count;
	it->reply = reply;
}

int
proto_file_next(proto_file_it *it, proto_file_entry *e)
{
	if (it->left == 0) {
		return proto_rd_done(&it->rd) == OCOP_OK ? OCOP_ENOENT : OCOP_EPROTO;
	}
	if (files_entry_get(&it->rd, it->reply, e) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	it->left--;
	return OCOP_OK;
}

/* ===== Chunks ===== */

int
proto_chunk_digest(const uint8_t *data, size_t len, uint8_t digest[PROTO_SHA256_LEN])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	static const uint8_t none = 0;

	if (EVP_Digest(len > 0 ? data : &none, len, md, &n, EVP_sha256(), NULL) != 1 || n != PROTO_SHA256_LEN) {
		return OCOP_EINTERNAL;
	}
	memcpy(digest, md, PROTO_SHA256_LEN);
	return OCOP_OK;
}

int
proto_chunk_check(const uint8_t *data, size_t len, const uint8_t digest[PROTO_SHA256_LEN])
{
	uint8_t md[PROTO_SHA256_LEN];
	int rv = proto_chunk_digest(data, len, md);

	if (rv != OCOP_OK) {
		return rv;
	}
	return memcmp(md, digest, PROTO_SHA256_LEN) == 0 ? OCOP_OK : OCOP_ECORRUPT;
}

/* ===== Generic decoder ===== */

static int
files_field_get(proto_rd *r, const files_field *f, void *base)
{
	char *dst = (char *)base + f->off;
	const char *s;
	const uint8_t *b;
	size_t len;
	uint64_t u;
	uint32_t n;
	uint32_t k;
	size_t start;
	proto_file_entry e;

	switch (f->kind) {
	case FK_UUID:
		if (proto_rd_str(r, &s, &len) != OCOP_OK || !proto_uuid_valid(s, len)) {
			return OCOP_EPROTO;
		}
		memcpy(dst, s, len);
		dst[len] = 0;
		return OCOP_OK;
	case FK_STR:
		if (proto_rd_str(r, &s, &len) != OCOP_OK || len > f->max || !proto_utf8_valid(s, len)) {
			return OCOP_EPROTO;
		}
		memcpy(dst, s, len);
		dst[len] = 0;
		return OCOP_OK;
	case FK_U32:
		if (proto_rd_uint(r, &u) != OCOP_OK || u > UINT32_MAX) {
			return OCOP_EPROTO;
		}
		*(uint32_t *)(void *)dst = (uint32_t)u;
		return OCOP_OK;
	case FK_U64:
		return proto_rd_uint(r, (uint64_t *)(void *)dst);
	case FK_BOOL:
		return proto_rd_bool(r, (bool *)(void *)dst);
	case FK_SHA:
		if (proto_rd_bin(r, &b, &len) != OCOP_OK || len != PROTO_SHA256_LEN) {
			return OCOP_EPROTO;
		}
		memcpy(dst, b, PROTO_SHA256_LEN);
		return OCOP_OK;
	case FK_DATA:
		if (proto_rd_bin(r, &b, &len) != OCOP_OK || len > PROTO_CHUNK_MAX) {
			return OCOP_EPROTO;
		}
		*(const uint8_t **)(void *)dst = b;
		*(size_t *)(void *)((char *)base + f->off2) = len;
		return OCOP_OK;
	case FK_LIST: {
		proto_file_list *v = (proto_file_list *)(void *)dst;
		if (proto_rd_array(r, &n) != OCOP_OK || n > PROTO_FILES_MAX) {
			return OCOP_EPROTO;
		}
		start = r->pos;
		for (k = 0; k < n; k++) {
			if (files_entry_get(r, f->max == 1, &e) != OCOP_OK) {
				return OCOP_EPROTO;
			}
		}
		v->p = n > 0 ? r->p + start : NULL;
		v->len = r->pos - start;
		v->count = n;
		return OCOP_OK;
	}
	}
	return OCOP_EPROTO;
}

static int
files_decode(proto_rd *body, const files_schema *s, void *out)
{
	uint32_t n;
	uint32_t i;
	uint32_t k;
	uint32_t seen = 0;
	uint64_t key;

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
			/* A key of a later minor version: skip its value whole. */
			if (proto_rd_skip(body) != OCOP_OK) {
				return OCOP_EPROTO;
			}
			continue;
		}
		if ((seen & (1u << k)) != 0 || files_field_get(body, &s->fields[k], out) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		seen |= 1u << k;
	}
	/* Every field of these messages is required. */
	if (seen != (1u << s->n) - 1) {
		return OCOP_EPROTO;
	}
	if (s->check != NULL && s->check(out) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	return proto_rd_done(body);
}

/* ===== Generic encoder ===== */

static int
files_field_check(const files_field *f, const void *base)
{
	const char *src = (const char *)base + f->off;
	size_t len;

	switch (f->kind) {
	case FK_UUID:
		len = strnlen(src, PROTO_UUID_LEN + 1);
		return proto_uuid_valid(src, len) ? OCOP_OK : OCOP_EINVAL;
	case FK_STR:
		len = strnlen(src, f->max + 1);
		return len <= f->max && proto_utf8_valid(src, len) ? OCOP_OK : OCOP_EINVAL;
	case FK_DATA: {
		const uint8_t *p = *(const uint8_t *const *)(const void *)src;
		len = *(const size_t *)(const void *)((const char *)base + f->off2);
		return len <= PROTO_CHUNK_MAX && (p != NULL || len == 0) ? OCOP_OK : OCOP_EINVAL;
	}
	default:
		return OCOP_OK;
	}
}

static void
files_field_put(proto_wr *w, const files_field *f, const void *base, const proto_file_entry *e, size_t n)
{
	const char *src = (const char *)base + f->off;
	size_t i;

	switch (f->kind) {
	case FK_UUID:
	case FK_STR:
		proto_wr_cstr(w, src);
		break;
	case FK_U32:
		proto_wr_uint(w, *(const uint32_t *)(const void *)src);
		break;
	case FK_U64:
		proto_wr_uint(w, *(const uint64_t *)(const void *)src);
		break;
	case FK_BOOL:
		proto_wr_bool(w, *(const bool *)(const void *)src);
		break;
	case FK_SHA:
		proto_wr_bin(w, src, PROTO_SHA256_LEN);
		break;
	case FK_DATA: {
		const uint8_t *p = *(const uint8_t *const *)(const void *)src;
		size_t len = *(const size_t *)(const void *)((const char *)base + f->off2);
		static const uint8_t none = 0;
		proto_wr_bin(w, len > 0 ? p : &none, len);
		break;
	}
	case FK_LIST:
		proto_wr_array(w, (uint32_t)n);
		for (i = 0; i < n; i++) {
			files_entry_put(w, f->max == 1, &e[i]);
		}
		break;
	}
}

/* Encode a whole framed message; e/n are the entries of its FK_LIST field (if any). */
static int
files_encode(com_buf *buf, const files_schema *s, const void *m, const proto_file_entry *e, size_t n)
{
	proto_wr w;
	size_t start;
	uint32_t k;
	size_t i;
	int rv;

	if (n > PROTO_FILES_MAX || (n > 0 && e == NULL)) {
		return OCOP_EINVAL;
	}
	for (k = 0; k < s->n; k++) {
		if (files_field_check(&s->fields[k], m) != OCOP_OK) {
			return OCOP_EINVAL;
		}
		if (s->fields[k].kind == FK_LIST) {
			for (i = 0; i < n; i++) {
				if (!files_entry_ok(s->fields[k].max == 1, &e[i])) {
					return OCOP_EINVAL;
				}
			}
		}
	}
	if (s->check != NULL && s->check(m) != OCOP_OK) {
		return OCOP_EINVAL;
	}
	proto_wr_init(&w, buf);
	start = proto_env_begin(&w, s->type);
	proto_wr_map(&w, s->n);
	for (k = 0; k < s->n; k++) {
		proto_wr_uint(&w, s->fields[k].key);
		files_field_put(&w, &s->fields[k], m, e, n);
	}
	rv = proto_env_end(&w, start);
	if (rv != OCOP_OK) {
		buf->len = start;
	}
	return rv;
}

/* ===== Public encoders and decoders ===== */

int
proto_files_encode(com_buf *buf, const proto_files *m, const proto_file_entry *e, size_t n)
{
	return files_encode(buf, &files_schema_, m, e, n);
}

int
proto_files_decode(proto_rd *body, proto_files *out)
{
	return files_decode(body, &files_schema_, out);
}

int
proto_files_ok_encode(com_buf *buf, const proto_files_ok *m, const proto_file_entry *e, size_t n)
{
	return files_encode(buf, &files_ok_schema, m, e, n);
}

int
proto_files_ok_decode(proto_rd *body, proto_files_ok *out)
{
	return files_decode(body, &files_ok_schema, out);
}

int
proto_file_put_encode(com_buf *buf, const proto_file_put *m)
{
	return files_encode(buf, &put_schema, m, NULL, 0);
}

int
proto_file_put_decode(proto_rd *body, proto_file_put *out)
{
	return files_decode(body, &put_schema, out);
}

int
proto_file_put_ok_encode(com_buf *buf, const proto_file_put_ok *m)
{
	return files_encode(buf, &put_ok_schema, m, NULL, 0);
}

int
proto_file_put_ok_decode(proto_rd *body, proto_file_put_ok *out)
{
	return files_decode(body, &put_ok_schema, out);
}

int
proto_file_get_encode(com_buf *buf, const proto_file_get *m)
{
	return files_encode(buf, &get_schema, m, NULL, 0);
}

int
proto_file_get_decode(proto_rd *body, proto_file_get *out)
{
	return files_decode(body, &get_schema, out);
}

int
proto_file_data_encode(com_buf *buf, const proto_file_data *m)
{
	return files_encode(buf, &data_schema, m, NULL, 0);
}

int
proto_file_data_decode(proto_rd *body, proto_file_data *out)
{
	return files_decode(body, &data_schema, out);
}

/* ===== Names ===== */

void
proto_sha_hex(const uint8_t sha[PROTO_SHA256_LEN], char hex[2 * PROTO_SHA256_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < PROTO_SHA256_LEN; i++) {
		hex[2 * i] = digits[sha[i] >> 4];
		hex[2 * i + 1] = digits[sha[i] & 0x0f];
	}
	hex[2 * PROTO_SHA256_LEN] = 0;
}

static int
files_hexval(char c)
{
	if (c >= '0' && c <= '9') {
		return c - '0';
	}
	if (c >= 'a' && c <= 'f') {
		return c - 'a' + 10;
	}
	if (c >= 'A' && c <= 'F') {
		return c - 'A' + 10;
	}
	return -1;
}

int
proto_sha_parse(const char *hex, uint8_t sha[PROTO_SHA256_LEN])
{
	size_t i;

	if (hex == NULL || strlen(hex) != 2 * PROTO_SHA256_LEN) {
		return OCOP_EINVAL;
	}
	for (i = 0; i < PROTO_SHA256_LEN; i++) {
		int hi = files_hexval(hex[2 * i]);
		int lo = files_hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			return OCOP_EINVAL;
		}
		sha[i] = (uint8_t)(hi << 4 | lo);
	}
	return OCOP_OK;
}
