/*
 * batch.c: the compact batch of change records (PROTOCOL.md section 5).
 *
 * A batch value is [encoding, count, size, payload]; the payload, inflated
 * when encoding is 1, is the record stream: the names array, the sites array,
 * then `count` records, each
 *   [site index, seq delta, table index, row (bin 16), hlc delta, user index, cells]
 * with cells a map {column index: [value, base]}, base nil (none) or the
 * record's HLC minus the base. Deltas are signed differences modulo 2^64 from
 * the previous record (the first from 0), so any uint64 survives the trip.
 *
 * Why a dictionary per batch rather than indices into the schema's table
 * list: a batch then decodes without the schema (the fuzzers, a bundle read by
 * an older program, a relay), and a column a newer schema adds can never be
 * read as another column; the cost is each name once per batch, a few hundred
 * bytes, which deflate halves again.
 */
#include "protocol/batch.h"

#include <string.h>
#include <zlib.h>

#include "common/util/alloc.h"
#include "common/util/uuid.h"
#include "ocop_err.h"
#include "protocol/envelope.h"

#define BATCH_PLAIN 0
#define BATCH_DEFLATE 1
#define BATCH_RECORD_FIELDS 7
#define BATCH_NAME_MAX 64         /* longest dictionary name: a user (PROTO_USER_MAX) */
#define BATCH_DICT_MAX 65536u     /* entries per dictionary: bounds what a reader allocates */
#define BATCH_DEFLATE_FROM 128    /* shorter streams are sent as they are */
/* The value's fixed part at its widest: array, encoding, count, size, bin header, two array headers. */
#define BATCH_OVERHEAD (1 + 1 + 5 + 5 + 5 + 5 + 5)

/* Signed difference x - prev modulo 2^64, and back. */
static int64_t
delta_of(uint64_t x, uint64_t prev)
{
	uint64_t d = x - prev;
	int64_t out;

	memcpy(&out, &d, sizeof(out));
	return out;
}

static uint64_t
delta_apply(uint64_t prev, int64_t d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return prev + u;
}

/* The base whose difference from hlc is d: hlc - d modulo 2^64. */
static uint64_t
delta_undo(uint64_t hlc, int64_t d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return hlc - u;
}

/* Bytes msgpack takes for a str of n bytes (n <= 64). */
static size_t
str_size(size_t n)
{
	return (n < 32 ? 1 : 2) + n;
}

/* ===== Reading ===== */

/* Read [encoding, count, size, payload]; check what can be checked without inflating. */
static int
batch_header(proto_rd *r, uint64_t *enc, uint32_t *count, uint64_t *size, const uint8_t **payload, size_t *plen)
{
	uint32_t n;
	uint64_t cnt;

	if (proto_rd_array(r, &n) != OCOP_OK || n != 4 || proto_rd_uint(r, enc) != OCOP_OK ||
	    (*enc != BATCH_PLAIN && *enc != BATCH_DEFLATE) || proto_rd_uint(r, &cnt) != OCOP_OK ||
	    cnt > UINT32_MAX || proto_rd_uint(r, size) != OCOP_OK || *size > PROTO_MAX_MESSAGE ||
	    proto_rd_bin(r, payload, plen) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	if (*enc == BATCH_PLAIN && *size != *plen) {
		return OCOP_EPROTO;
	}
	/* Every record takes at least eight bytes: a count the stream cannot hold is a lie. */
	if (cnt > *size / 8) {
		return OCOP_EPROTO;
	}
	*count = (uint32_t)cnt;
	return OCOP_OK;
}

/* Read a dictionary: an array of str (names) or of bin 16 (sites). */
static int
read_dict(proto_rd *r, bool sites, proto_span **out, uint32_t *n)
{
	uint32_t k;
	uint32_t cnt;
	const char *s;

	if (proto_rd_array(r, &cnt) != OCOP_OK || cnt > BATCH_DICT_MAX) {
		return OCOP_EPROTO;
	}
	*n = cnt;
	if (cnt == 0) {
		return OCOP_OK;
	}
	if ((*out = com_calloc(cnt, sizeof(**out))) == NULL) {
		return OCOP_ENOMEM;
	}
	for (k = 0; k < cnt; k++) {
		proto_span *e = &(*out)[k];
		if (sites) {
			if (proto_rd_bin(r, &e->p, &e->len) != OCOP_OK || e->len != 16) {
				return OCOP_EPROTO;
			}
		} else {
			if (proto_rd_str(r, &s, &e->len) != OCOP_OK || e->len > BATCH_NAME_MAX ||
			    memchr(s, 0, e->len) != NULL) {
				return OCOP_EPROTO;
			}
			e->p = (const uint8_t *)s;
		}
	}
	return OCOP_OK;
}

/* Open the stream of the batch whose header was read; fills the iterator. */
static int
batch_open(proto_changes_it *it, uint64_t enc, uint32_t count, uint64_t size, const uint8_t *payload, size_t plen)
{
	const uint8_t *stream = payload;
	int rv;

	if (enc == BATCH_DEFLATE) {
		uLongf out = (uLongf)size;
		uLong in = (uLong)plen;
		/* The declared size bounds the output: a bomb stops there and is refused. */
		if ((it->inflated = com_malloc(size > 0 ? size : 1)) == NULL) {
			return OCOP_ENOMEM;
		}
		if (uncompress2(it->inflated, &out, payload, &in) != Z_OK || out != size || in != plen) {
			return OCOP_EPROTO;
		}
		stream = it->inflated;
	}
	proto_rd_init(&it->rd, stream, size);
	it->left = count;
	if ((rv = read_dict(&it->rd, false, &it->names, &it->nnames)) != OCOP_OK ||
	    (rv = read_dict(&it->rd, true, &it->sites, &it->nsites)) != OCOP_OK) {
		return rv;
	}
	return OCOP_OK;
}

void
proto_changes_end(proto_changes_it *it)
{
	com_free(it->inflated);
	com_free(it->names);
	com_free(it->sites);
	com_buf_fini(&it->cells);
	it->inflated = NULL;
	it->names = NULL;
	it->sites = NULL;
	it->nnames = it->nsites = 0;
	it->left = 0;
	if (it->rc == OCOP_OK) {
		it->rc = OCOP_ENOENT; /* stopped: nothing more to read */
	}
}

void
proto_changes_iter(proto_changes_it *it, const proto_changes *v)
{
	proto_rd r;
	uint64_t enc;
	uint64_t size;
	const uint8_t *payload;
	size_t plen;

	memset(it, 0, sizeof(*it));
	com_buf_init(&it->cells);
	if (v->len == 0) {
		/* An empty view: an empty batch. */
		it->rc = v->count == 0 ? OCOP_OK : OCOP_EPROTO;
		return;
	}
	proto_rd_init(&r, v->p, v->len);
	it->rc = batch_header(&r, &enc, &it->left, &size, &payload, &plen);
	if (it->rc == OCOP_OK) {
		it->rc = proto_rd_done(&r) == OCOP_OK ? batch_open(it, enc, it->left, size, payload, plen) : OCOP_EPROTO;
	}
	if (it->rc != OCOP_OK) {
		proto_changes_end(it);
	}
}

/* A dictionary name as a NUL-terminated string, if it is a valid table or column name. */
static int
dict_name(const proto_changes_it *it, uint64_t ix, char out[PROTO_NAME_MAX + 1])
{
	const proto_span *e;

	if (ix >= it->nnames) {
		return OCOP_EPROTO;
	}
	e = &it->names[ix];
	if (!proto_name_valid((const char *)e->p, e->len)) {
		return OCOP_EPROTO;
	}
	memcpy(out, e->p, e->len);
	out[e->len] = 0;
	return OCOP_OK;
}

/* Read a record's cell map into it->cells, keyed by name, with absolute bases. */
static int
read_cells(proto_changes_it *it, uint64_t hlc)
{
	proto_wr w;
	uint32_t n;
	uint32_t k;
	uint32_t two;
	uint64_t ix;
	int64_t d;
	uint64_t base;
	proto_value v;
	char col[PROTO_NAME_MAX + 1];

	if (proto_rd_map(&it->rd, &n) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	com_buf_reset(&it->cells);
	proto_wr_init(&w, &it->cells);
	proto_cells_begin(&w, n);
	for (k = 0; k < n; k++) {
		if (proto_rd_uint(&it->rd, &ix) != OCOP_OK || dict_name(it, ix, col) != OCOP_OK ||
		    proto_rd_array(&it->rd, &two) != OCOP_OK || two != 2 || proto_value_get(&it->rd, &v) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		base = 0;
		if (!proto_rd_try_nil(&it->rd)) {
			if (proto_rd_int(&it->rd, &d) != OCOP_OK) {
				return OCOP_EPROTO;
			}
			base = delta_undo(hlc, d);
		}
		proto_cell_put(&w, col, &v, base);
	}
	return proto_wr_error(&w);
}

/* Read one record at it->rd into *c. */
static int
read_record(proto_changes_it *it, proto_change *c)
{
	uint32_t n;
	uint64_t ix;
	int64_t d;
	const uint8_t *row;
	size_t len;
	com_uuid u;
	const proto_span *e;
	int rv;

	if (proto_rd_array(&it->rd, &n) != OCOP_OK || n != BATCH_RECORD_FIELDS ||
	    proto_rd_uint(&it->rd, &ix) != OCOP_OK || ix >= it->nsites) {
		return OCOP_EPROTO;
	}
	memcpy(u.b, it->sites[ix].p, 16);
	com_uuid_format(&u, c->site);
	if (proto_rd_int(&it->rd, &d) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	c->seq = it->seq = delta_apply(it->seq, d);
	if (c->seq == 0 || proto_rd_uint(&it->rd, &ix) != OCOP_OK || dict_name(it, ix, c->tbl) != OCOP_OK ||
	    proto_rd_bin(&it->rd, &row, &len) != OCOP_OK || len != 16) {
		return OCOP_EPROTO;
	}
	memcpy(u.b, row, 16);
	com_uuid_format(&u, c->row);
	if (proto_rd_int(&it->rd, &d) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	c->hlc = it->hlc = delta_apply(it->hlc, d);
	if (proto_rd_uint(&it->rd, &ix) != OCOP_OK || ix >= it->nnames) {
		return OCOP_EPROTO;
	}
	e = &it->names[ix];
	memcpy(c->user, e->p, e->len);
	c->user[e->len] = 0;
	if ((rv = read_cells(it, c->hlc)) != OCOP_OK) {
		return rv;
	}
	c->cells = it->cells.data;
	c->cells_len = it->cells.len;
	return OCOP_OK;
}

int
proto_changes_next(proto_changes_it *it, proto_change *c)
{
	int rv = it->rc;

	if (rv == OCOP_OK && it->left == 0) {
		rv = proto_rd_done(&it->rd) == OCOP_OK ? OCOP_ENOENT : OCOP_EPROTO;
	} else if (rv == OCOP_OK) {
		rv = read_record(it, c);
		if (rv == OCOP_OK) {
			it->left--;
			return OCOP_OK;
		}
	}
	it->rc = rv;
	proto_changes_end(it);
	return rv;
}

int
proto_changes_get(proto_rd *r, proto_changes *v)
{
	size_t save = r->pos;
	proto_changes_it it;
	proto_change c;
	uint64_t enc;
	uint64_t size;
	const uint8_t *payload;
	size_t plen;
	uint32_t count;
	int rv;

	if (batch_header(r, &enc, &count, &size, &payload, &plen) != OCOP_OK) {
		r->pos = save;
		return OCOP_EPROTO;
	}
	v->p = r->p + save;
	v->len = r->pos - save;
	v->count = count;
	v->size = (size_t)size;
	/* Every record is checked here, once, so that walking the view later cannot fail. */
	proto_changes_iter(&it, v);
	while ((rv = proto_changes_next(&it, &c)) == OCOP_OK) {
	}
	proto_changes_end(&it);
	if (rv != OCOP_ENOENT) {
		r->pos = save;
		memset(v, 0, sizeof(*v));
		return rv == OCOP_ENOMEM ? OCOP_ENOMEM : OCOP_EPROTO;
	}
	return OCOP_OK;
}

int
proto_changes_peek(proto_rd *r, uint32_t *count, uint64_t *size)
{
	uint64_t enc;
	const uint8_t *payload;
	size_t plen;

	return batch_header(r, &enc, count, size, &payload, &plen);
}

void
proto_changes_put(proto_wr *w, const proto_changes *v)
{
	static const uint8_t empty[2] = {0x90, 0x90}; /* no names, no sites */

	if (v->len > 0) {
		proto_wr_raw(w, v->p, v->len);
		return;
	}
	proto_wr_array(w, 4);
	proto_wr_uint(w, BATCH_PLAIN);
	proto_wr_uint(w, 0);
	proto_wr_uint(w, sizeof(empty));
	proto_wr_bin(w, empty, sizeof(empty));
}

/* ===== Dictionaries being written ===== */

static uint32_t
dict_hash(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	size_t i;

	for (i = 0; i < n; i++) {
		h = (h ^ p[i]) * 16777619u;
	}
	return h;
}

static void
dict_init(proto_dict *d)
{
	memset(d, 0, sizeof(*d));
	com_buf_init(&d->keys);
}

static void
dict_fini(proto_dict *d)
{
	com_buf_fini(&d->keys);
	com_free(d->off);
	com_free(d->klen);
	com_free(d->slot);
	dict_init(d);
}

/* Put entry i into the hash slots (there is room). */
static void
dict_slot_put(proto_dict *d, uint32_t i)
{
	uint32_t h = dict_hash(d->keys.data + d->off[i], d->klen[i]) & (d->nslot - 1);

	while (d->slot[h] != 0) {
		h = (h + 1) & (d->nslot - 1);
	}
	d->slot[h] = i + 1;
}

/* Rebuild the slots for the entries there are, in nslot slots. */
static int
dict_rehash(proto_dict *d, uint32_t nslot)
{
	uint32_t *slot = com_calloc(nslot, sizeof(*slot));
	uint32_t i;

	if (slot == NULL) {
		return OCOP_ENOMEM;
	}
	com_free(d->slot);
	d->slot = slot;
	d->nslot = nslot;
	for (i = 0; i < d->n; i++) {
		dict_slot_put(d, i);
	}
	return OCOP_OK;
}

/* Find key k (n bytes) or add it; *ix its index. Returns OCOP_OK, OCOP_ETOOBIG (full) or OCOP_ENOMEM. */
static int
dict_get(proto_dict *d, const void *k, size_t n, size_t enc_size, uint32_t *ix)
{
	uint32_t h;
	uint32_t e;

	if (d->nslot > 0) {
		h = dict_hash(k, n) & (d->nslot - 1);
		while ((e = d->slot[h]) != 0) {
			if (d->klen[e - 1] == n && memcmp(d->keys.data + d->off[e - 1], k, n) == 0) {
				*ix = e - 1;
				return OCOP_OK;
			}
			h = (h + 1) & (d->nslot - 1);
		}
	}
	if (d->n >= BATCH_DICT_MAX) {
		return OCOP_ETOOBIG;
	}
	if (d->n == d->cap) {
		uint32_t cap = d->cap ? d->cap * 2 : 64;
		uint32_t *off = com_realloc(d->off, cap * sizeof(*off));
		uint8_t *klen;
		if (off == NULL) {
			return OCOP_ENOMEM;
		}
		d->off = off;
		if ((klen = com_realloc(d->klen, cap)) == NULL) {
			return OCOP_ENOMEM;
		}
		d->klen = klen;
		d->cap = cap;
	}
	if ((d->n + 1) * 2 > d->nslot && dict_rehash(d, d->nslot ? d->nslot * 2 : 128) != OCOP_OK) {
		return OCOP_ENOMEM;
	}
	if (com_buf_append(&d->keys, k, n) != OCOP_OK) {
		return OCOP_ENOMEM;
	}
	d->off[d->n] = (uint32_t)(d->keys.len - n);
	d->klen[d->n] = (uint8_t)n;
	dict_slot_put(d, d->n);
	d->bytes += enc_size;
	*ix = d->n++;
	return OCOP_OK;
}

/* Forget the entries from index n on. */
static void
dict_truncate(proto_dict *d, uint32_t n, size_t bytes)
{
	if (n >= d->n) {
		return;
	}
	d->keys.len = d->off[n];
	d->n = n;
	d->bytes = bytes;
	memset(d->slot, 0, d->nslot * sizeof(*d->slot));
	for (n = 0; n < d->n; n++) {
		dict_slot_put(d, n);
	}
}

/* ===== Building ===== */

void
proto_body_init(proto_body *b)
{
	memset(b, 0, sizeof(*b));
	com_buf_init(&b->recs);
	dict_init(&b->names);
	dict_init(&b->sites);
}

void
proto_body_fini(proto_body *b)
{
	com_buf_fini(&b->recs);
	dict_fini(&b->names);
	dict_fini(&b->sites);
}

void
proto_body_save(const proto_body *b, proto_body_mark *m)
{
	m->recs = b->recs.len;
	m->names = b->names.n;
	m->sites = b->sites.n;
	m->names_bytes = b->names.bytes;
	m->sites_bytes = b->sites.bytes;
	m->seq = b->seq;
	m->hlc = b->hlc;
	m->count = b->count;
}

void
proto_body_undo(proto_body *b, const proto_body_mark *m)
{
	b->recs.len = m->recs;
	dict_truncate(&b->names, m->names, m->names_bytes);
	dict_truncate(&b->sites, m->sites, m->sites_bytes);
	b->seq = m->seq;
	b->hlc = m->hlc;
	b->count = m->count;
}

/* Would c decode on the other side? The same checks the reader makes. */
static bool
change_valid(const proto_change *c)
{
	size_t ulen = strnlen(c->user, PROTO_USER_MAX + 1);

	return c->seq != 0 && proto_uuid_valid(c->site, strnlen(c->site, PROTO_UUID_LEN + 1)) &&
	    proto_uuid_valid(c->row, strnlen(c->row, PROTO_UUID_LEN + 1)) &&
	    proto_name_valid(c->tbl, strnlen(c->tbl, PROTO_NAME_MAX + 1)) && ulen <= PROTO_USER_MAX &&
	    c->cells != NULL && proto_cells_check(c->cells, c->cells_len) == OCOP_OK;
}

/* Index of a name in the names dictionary. */
static int
name_ix(proto_body *b, const char *s, uint32_t *ix)
{
	size_t n = strlen(s);

	return dict_get(&b->names, s, n, str_size(n), ix);
}

/* Write c's record; the caller undoes on error. */
static int
body_record(proto_body *b, const proto_change *c, proto_wr *w)
{
	com_uuid u;
	uint32_t site;
	uint32_t tbl;
	uint32_t user;
	uint32_t col;
	uint32_t n;
	proto_cells_it it;
	proto_cell cell;
	int rv;

	if (com_uuid_parse(&u, c->site) != OCOP_OK) {
		return OCOP_EINVAL;
	}
	if ((rv = dict_get(&b->sites, u.b, 16, 18, &site)) != OCOP_OK || (rv = name_ix(b, c->tbl, &tbl)) != OCOP_OK ||
	    (rv = name_ix(b, c->user, &user)) != OCOP_OK) {
		return rv;
	}
	if (com_uuid_parse(&u, c->row) != OCOP_OK) {
		return OCOP_EINVAL;
	}
	proto_wr_array(w, BATCH_RECORD_FIELDS);
	proto_wr_uint(w, site);
	proto_wr_int(w, delta_of(c->seq, b->seq));
	proto_wr_uint(w, tbl);
	proto_wr_bin(w, u.b, 16);
	proto_wr_int(w, delta_of(c->hlc, b->hlc));
	proto_wr_uint(w, user);
	if (proto_cells_open(&it, c->cells, c->cells_len, &n) != OCOP_OK) {
		return OCOP_EINVAL;
	}
	proto_wr_map(w, n);
	while ((rv = proto_cells_next(&it, &cell)) == OCOP_OK) {
		if ((rv = name_ix(b, cell.col, &col)) != OCOP_OK) {
			return rv;
		}
		proto_wr_uint(w, col);
		proto_wr_array(w, 2);
		proto_value_put(w, &cell.v);
		if (cell.base_hlc == 0) {
			proto_wr_nil(w);
		} else {
			proto_wr_int(w, delta_of(c->hlc, cell.base_hlc));
		}
	}
	if (rv != OCOP_ENOENT) {
		return OCOP_EINVAL;
	}
	b->seq = c->seq;
	b->hlc = c->hlc;
	return proto_wr_error(w);
}

int
proto_body_add(proto_body *b, const proto_change *c)
{
	proto_body_mark m;
	proto_wr w;
	int rv;

	if (b->rc != OCOP_OK) {
		return b->rc;
	}
	if (!change_valid(c)) {
		return OCOP_EINVAL;
	}
	if (b->count == UINT32_MAX) {
		return OCOP_ETOOBIG;
	}
	proto_body_save(b, &m);
	proto_wr_init(&w, &b->recs);
	rv = body_record(b, c, &w);
	if (rv != OCOP_OK) {
		proto_body_undo(b, &m);
		if (rv == OCOP_ENOMEM) {
			b->rc = rv;
		}
		return rv;
	}
	b->count++;
	return OCOP_OK;
}

size_t
proto_body_size(const proto_body *b)
{
	return BATCH_OVERHEAD + b->names.bytes + b->sites.bytes + b->recs.len;
}

/* The record stream: names, sites, records. */
static int
body_stream(const proto_body *b, com_buf *out)
{
	proto_wr w;
	uint32_t i;

	proto_wr_init(&w, out);
	proto_wr_array(&w, b->names.n);
	for (i = 0; i < b->names.n; i++) {
		proto_wr_str(&w, (const char *)b->names.keys.data + b->names.off[i], b->names.klen[i]);
	}
	proto_wr_array(&w, b->sites.n);
	for (i = 0; i < b->sites.n; i++) {
		proto_wr_bin(&w, b->sites.keys.data + b->sites.off[i], 16);
	}
	proto_wr_raw(&w, b->recs.data, b->recs.len);
	return proto_wr_error(&w);
}

int
proto_body_put(proto_body *b, proto_wr *w)
{
	com_buf stream;
	uint8_t *packed = NULL;
	uLongf plen = 0;
	int rv;

	if (b->rc != OCOP_OK) {
		w->rc = w->rc != OCOP_OK ? w->rc : b->rc;
		return b->rc;
	}
	com_buf_init(&stream);
	if ((rv = body_stream(b, &stream)) != OCOP_OK) {
		com_buf_fini(&stream);
		w->rc = w->rc != OCOP_OK ? w->rc : rv;
		return rv;
	}
	/* Deflate when it pays; a failure to (no memory) just sends the stream as it is. */
	if (stream.len >= BATCH_DEFLATE_FROM) {
		plen = compressBound((uLong)stream.len);
		packed = com_malloc(plen);
		if (packed != NULL &&
		    (compress2(packed, &plen, stream.data, (uLong)stream.len, Z_DEFAULT_COMPRESSION) != Z_OK ||
			plen >= stream.len)) {
			com_free(packed);
			packed = NULL;
		}
	}
	proto_wr_array(w, 4);
	proto_wr_uint(w, packed != NULL ? BATCH_DEFLATE : BATCH_PLAIN);
	proto_wr_uint(w, b->count);
	proto_wr_uint(w, stream.len);
	if (packed != NULL) {
		proto_wr_bin(w, packed, plen);
	} else {
		proto_wr_bin(w, stream.data, stream.len);
	}
	com_free(packed);
	com_buf_fini(&stream);
	return proto_wr_error(w);
}
