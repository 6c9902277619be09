/*
 * decode.c: the fuzzing oracle over the envelope, every message decoder and
 * the change record and cell map decoders (PROTOCOL.md sections 3 to 5).
 */
#include "tests/fuzz/decode.h"

#include <stdbool.h>
#include <string.h>

#include "common/util/buf.h"
#include "ocop_err.h"
#include "protocol/batch.h"
#include "protocol/change.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/files.h"
#include "protocol/session.h"

typedef union fz_msg {
	proto_error error;
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
	proto_file_get get;
	proto_file_data data;
} fz_msg;

/* The entries of a file list, copied out so the list can be encoded again; at most PROTO_FILES_MAX. */
typedef struct fz_entries {
	proto_file_entry e[PROTO_FILES_MAX]; /* the entries */
	size_t n;                            /* how many */
} fz_entries;

/* Read every byte of a borrowed value, so a view past the input is a sanitizer report. */
static unsigned
fz_touch(const uint8_t *p, size_t len)
{
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		sum += p[i];
	}
	return sum;
}

/* Walk a cell map that a decoder has accepted: every cell reads, then ENOENT. */
static int
fz_walk_cells(const uint8_t *p, size_t len, volatile unsigned *sink)
{
	proto_cells_it it;
	proto_cell cell;
	uint32_t count;
	uint32_t n = 0;
	int rv;

	if (proto_cells_open(&it, p, len, &count) != OCOP_OK) {
		return FZ_BROKEN;
	}
	while ((rv = proto_cells_next(&it, &cell)) == OCOP_OK) {
		n++;
		if (strlen(cell.col) > PROTO_NAME_MAX) {
			return FZ_BROKEN;
		}
		if (cell.v.type == PROTO_V_TEXT || cell.v.type == PROTO_V_BLOB) {
			*sink += fz_touch(cell.v.p, cell.v.len);
		}
	}
	return rv == OCOP_ENOENT && n == count ? OCOP_OK : FZ_BROKEN;
}

/* Walk a changes view set by a decoder: it must not fail. */
static int
fz_walk_changes(const proto_changes *v, volatile unsigned *sink)
{
	proto_changes_it it;
	proto_change c;
	uint32_t n = 0;
	int rv;

	proto_changes_iter(&it, v);
	while ((rv = proto_changes_next(&it, &c)) == OCOP_OK) {
		n++;
		if (c.seq == 0 || fz_walk_cells(c.cells, c.cells_len, sink) != OCOP_OK) {
			proto_changes_end(&it);
			return FZ_BROKEN;
		}
	}
	return rv == OCOP_ENOENT && n == v->count ? OCOP_OK : FZ_BROKEN;
}

/* Walk a file list set by a decoder: it must not fail, and every entry is in range. */
static int
fz_walk_files(const proto_file_list *v, bool reply, fz_entries *out)
{
	proto_file_it it;
	int rv = OCOP_ENOENT;

	out->n = 0;
	proto_file_iter(&it, v, reply);
	while (out->n < PROTO_FILES_MAX && (rv = proto_file_next(&it, &out->e[out->n])) == OCOP_OK) {
		const proto_file_entry *e = &out->e[out->n++];
		if (reply ? (e->state < PROTO_FILE_HAVE || e->state > PROTO_FILE_REFUSED) : e->held > e->size) {
			return FZ_BROKEN;
		}
	}
	if (out->n == PROTO_FILES_MAX) {
		rv = proto_file_next(&it, &out->e[0]);
	}
	return rv == OCOP_ENOENT && out->n == v->count ? OCOP_OK : FZ_BROKEN;
}

/* A decoded chunk lies inside its file and its digest check answers OK or ECORRUPT. */
static int
fz_walk_chunk(uint64_t size, uint64_t offset, const uint8_t *p, size_t len, const uint8_t *digest,
    volatile unsigned *sink)
{
	int rv;

	if (offset > size || len > size - offset || len > PROTO_CHUNK_MAX) {
		return FZ_BROKEN;
	}
	*sink += fz_touch(p, len);
	rv = proto_chunk_check(p, len, digest);
	return rv == OCOP_OK || rv == OCOP_ECORRUPT ? OCOP_OK : FZ_BROKEN;
}

/* Walk a rejections view set by a decoder: it must not fail. */
static int
fz_walk_rejections(const proto_rejections *v)
{
	proto_rejections_it it;
	proto_rejection r;
	uint32_t n = 0;
	int rv;

	proto_rejections_iter(&it, v);
	while ((rv = proto_rejections_next(&it, &r)) == OCOP_OK) {
		n++;
		if (r.seq == 0 || strlen(r.reason) > PROTO_REASON_MAX) {
			return FZ_BROKEN;
		}
	}
	return rv == OCOP_ENOENT && n == v->count ? OCOP_OK : FZ_BROKEN;
}

static int
fz_decode_body(proto_rd *body, uint32_t type, fz_msg *m)
{
	switch (type) {
	case PROTO_MSG_ERROR: return proto_error_decode(body, &m->error);
	case PROTO_MSG_HELLO: return proto_hello_decode(body, &m->hello);
	case PROTO_MSG_HELLO_OK: return proto_hello_ok_decode(body, &m->hello_ok);
	case PROTO_MSG_PUSH: return proto_push_decode(body, &m->push);
	case PROTO_MSG_PUSH_OK: return proto_push_ok_decode(body, &m->push_ok);
	case PROTO_MSG_PULL: return proto_pull_decode(body, &m->pull);
	case PROTO_MSG_PULL_OK: return proto_pull_ok_decode(body, &m->pull_ok);
	case PROTO_MSG_ACK: return proto_ack_decode(body, &m->ack);
	case PROTO_MSG_ACK_OK: return proto_ack_ok_decode(body, &m->ack_ok);
	case PROTO_MSG_FILES: return proto_files_decode(body, &m->files);
	case PROTO_MSG_FILES_OK: return proto_files_ok_decode(body, &m->files_ok);
	case PROTO_MSG_FILE_PUT: return proto_file_put_decode(body, &m->put);
	case PROTO_MSG_FILE_PUT_OK: return proto_file_put_ok_decode(body, &m->put_ok);
	case PROTO_MSG_FILE_GET: return proto_file_get_decode(body, &m->get);
	case PROTO_MSG_FILE_DATA: return proto_file_data_decode(body, &m->data);
	default: return FZ_BROKEN; /* proto_env_open let an unknown type through */
	}
}

static int
fz_encode(com_buf *buf, uint32_t type, const fz_msg *m)
{
	static fz_entries ents; /* the fuzzer runs one input at a time */
	int rv;

	switch (type) {
	case PROTO_MSG_FILES:
		if ((rv = fz_walk_files(&m->files.files, false, &ents)) != OCOP_OK) {
			return rv;
		}
		return proto_files_encode(buf, &m->files, ents.e, ents.n);
	case PROTO_MSG_FILES_OK:
		if ((rv = fz_walk_files(&m->files_ok.files, true, &ents)) != OCOP_OK) {
			return rv;
		}
		return proto_files_ok_encode(buf, &m->files_ok, ents.e, ents.n);
	case PROTO_MSG_FILE_PUT: return proto_file_put_encode(buf, &m->put);
	case PROTO_MSG_FILE_PUT_OK: return proto_file_put_ok_encode(buf, &m->put_ok);
	case PROTO_MSG_FILE_GET: return proto_file_get_encode(buf, &m->get);
	case PROTO_MSG_FILE_DATA: return proto_file_data_encode(buf, &m->data);
	case PROTO_MSG_ERROR: return proto_error_encode(buf, (int)m->error.code, m->error.text);
	case PROTO_MSG_HELLO: return proto_hello_encode(buf, &m->hello);
	case PROTO_MSG_HELLO_OK: return proto_hello_ok_encode(buf, &m->hello_ok);
	case PROTO_MSG_PUSH: return proto_push_encode(buf, &m->push);
	case PROTO_MSG_PUSH_OK: return proto_push_ok_encode(buf, &m->push_ok);
	case PROTO_MSG_PULL: return proto_pull_encode(buf, &m->pull);
	case PROTO_MSG_PULL_OK: return proto_pull_ok_encode(buf, &m->pull_ok);
	case PROTO_MSG_ACK: return proto_ack_encode(buf, &m->ack);
	case PROTO_MSG_ACK_OK: return proto_ack_ok_encode(buf, &m->ack_ok);
	default: return FZ_BROKEN;
	}
}

/* Check the views of a decoded message. */
static int
fz_walk(uint32_t type, const fz_msg *m, volatile unsigned *sink)
{
	switch (type) {
	case PROTO_MSG_PUSH: return fz_walk_changes(&m->push.changes, sink);
	case PROTO_MSG_PULL_OK: return fz_walk_changes(&m->pull_ok.changes, sink);
	case PROTO_MSG_PUSH_OK: return fz_walk_rejections(&m->push_ok.rejections);
	case PROTO_MSG_FILE_PUT:
		return fz_walk_chunk(m->put.size, m->put.offset, m->put.data, m->put.len, m->put.digest, sink);
	case PROTO_MSG_FILE_DATA:
		return fz_walk_chunk(m->data.size, m->data.offset, m->data.data, m->data.len, m->data.digest, sink);
	default: return OCOP_OK;
	}
}

/*
 * Encode a decoded message, decode that, and encode again: both encodings
 * must succeed and be identical (the encoding of a message is canonical).
 */
static int
fz_round_trip(uint32_t type, const fz_msg *m)
{
	com_buf a;
	com_buf b;
	fz_msg again;
	proto_env env;
	proto_rd body;
	int rv = FZ_BROKEN;

	com_buf_init(&a);
	com_buf_init(&b);
	if (fz_encode(&a, type, m) != OCOP_OK ||
	    proto_env_open(a.data, a.len, &env, &body) != OCOP_OK || env.type != type ||
	    fz_decode_body(&body, type, &again) != OCOP_OK || fz_encode(&b, type, &again) != OCOP_OK) {
		goto done;
	}
	if (type == PROTO_MSG_ERROR) {
		/*
		 * ERROR is not canonical: its name field follows the code passed to
		 * the encoder, which maps codes past INT_MAX to EINTERNAL. Compare
		 * what a reader uses instead: the code and the text.
		 */
		uint32_t want = m->error.code <= INT32_MAX ? m->error.code : (uint32_t)OCOP_EINTERNAL;
		if (again.error.code == want && strcmp(again.error.text, m->error.text) == 0) {
			rv = OCOP_OK;
		}
	} else if (a.len == b.len && memcmp(a.data, b.data, a.len) == 0) {
		rv = OCOP_OK;
	}
done:
	com_buf_fini(&b);
	com_buf_fini(&a);
	return rv;
}

/* The oracle over one framed message, as received. */
static int
fz_frame(const uint8_t *p, size_t len)
{
	proto_env env;
	proto_rd body;
	fz_msg m;
	volatile unsigned sink = 0; /* volatile: the reads of every byte must happen */
	int rv;

	rv = proto_env_open(p, len, &env, &body);
	if (rv == OCOP_EPROTO || rv == OCOP_EVERSION) {
		return rv;
	}
	if (rv != OCOP_OK || body.p < p || body.p + body.len > p + len) {
		return FZ_BROKEN;
	}
	rv = fz_decode_body(&body, env.type, &m);
	if (rv == OCOP_EPROTO) {
		return rv;
	}
	if (rv != OCOP_OK || fz_walk(env.type, &m, &sink) != OCOP_OK ||
	    fz_round_trip(env.type, &m) != OCOP_OK) {
		return FZ_BROKEN;
	}
	return OCOP_OK;
}

/*
 * A mutated message almost never keeps a valid CRC, so mutations would stop
 * at the envelope. When p still has the shape [version, type, body, ...], the
 * same bytes are therefore also tried with the right CRC behind the body,
 * which lets every mutation of the body reach its decoder.
 */
static int
fz_frame_recrc(const uint8_t *p, size_t len)
{
	proto_rd r;
	proto_wr w;
	com_buf buf;
	uint32_t n;
	uint64_t u;
	int rv;

	proto_rd_init(&r, p, len);
	if (proto_rd_array(&r, &n) != OCOP_OK || n != 4 || proto_rd_uint(&r, &u) != OCOP_OK ||
	    proto_rd_uint(&r, &u) != OCOP_OK || proto_rd_skip(&r) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	com_buf_init(&buf);
	proto_wr_init(&w, &buf);
	proto_wr_raw(&w, p, r.pos);
	if (proto_env_end(&w, 0) != OCOP_OK) {
		com_buf_fini(&buf);
		return OCOP_ENOMEM;
	}
	rv = fz_frame(buf.data, buf.len);
	com_buf_fini(&buf);
	return rv;
}

int
fz_decode_message(const uint8_t *p, size_t len)
{
	int rv = fz_frame(p, len);

	if (rv == FZ_BROKEN || fz_frame_recrc(p, len) == FZ_BROKEN) {
		return FZ_BROKEN;
	}
	return rv;
}

/* Do two records read from two batches say the same? */
static bool
fz_same_change(const proto_change *a, const proto_change *b)
{
	return a->seq == b->seq && a->hlc == b->hlc && strcmp(a->site, b->site) == 0 && strcmp(a->tbl, b->tbl) == 0 &&
	    strcmp(a->row, b->row) == 0 && strcmp(a->user, b->user) == 0 && a->cells_len == b->cells_len &&
	    memcmp(a->cells, b->cells, a->cells_len) == 0;
}

/* Write a decoded batch again through the writer; it must read back the same, record for record. */
static int
fz_rewrite_batch(const proto_changes *v, volatile unsigned *sink)
{
	proto_changes_it it;
	proto_changes_it it2;
	proto_changes v2;
	proto_change c;
	proto_change c2;
	proto_body body;
	com_buf buf;
	proto_wr w;
	proto_rd r;
	uint32_t n = 0;
	int rv;
	int out = OCOP_OK;

	proto_body_init(&body);
	com_buf_init(&buf);
	proto_changes_iter(&it, v);
	while ((rv = proto_changes_next(&it, &c)) == OCOP_OK) {
		n++;
		if (c.seq == 0 || fz_walk_cells(c.cells, c.cells_len, sink) != OCOP_OK ||
		    proto_body_add(&body, &c) != OCOP_OK) {
			out = FZ_BROKEN;
			break;
		}
	}
	proto_changes_end(&it);
	if (out == OCOP_OK && (rv != OCOP_ENOENT || n != v->count)) {
		out = FZ_BROKEN;
	}
	if (out == OCOP_OK) {
		proto_wr_init(&w, &buf);
		if (proto_body_put(&body, &w) != OCOP_OK) {
			out = FZ_BROKEN;
		} else {
			proto_rd_init(&r, buf.data, buf.len);
			if (proto_changes_get(&r, &v2) != OCOP_OK || proto_rd_done(&r) != OCOP_OK || v2.count != v->count) {
				out = FZ_BROKEN;
			}
		}
	}
	if (out == OCOP_OK) {
		proto_changes_iter(&it, v);
		proto_changes_iter(&it2, &v2);
		while ((rv = proto_changes_next(&it, &c)) == OCOP_OK) {
			if (proto_changes_next(&it2, &c2) != OCOP_OK || !fz_same_change(&c, &c2)) {
				out = FZ_BROKEN;
				break;
			}
		}
		if (out == OCOP_OK && proto_changes_next(&it2, &c2) != OCOP_ENOENT) {
			out = FZ_BROKEN;
		}
		proto_changes_end(&it);
		proto_changes_end(&it2);
	}
	proto_body_fini(&body);
	com_buf_fini(&buf);
	return out;
}

int
fz_decode_change(const uint8_t *p, size_t len)
{
	proto_rd r;
	proto_changes v;
	volatile unsigned sink = 0; /* volatile: the reads of every byte must happen */
	int rv;
	int cells_rv;

	proto_rd_init(&r, p, len);
	rv = proto_changes_get(&r, &v);
	if (rv != OCOP_OK && rv != OCOP_EPROTO && rv != OCOP_ENOMEM) {
		return FZ_BROKEN;
	}
	if (rv == OCOP_OK) {
		if (v.p != p || v.len > len || fz_rewrite_batch(&v, &sink) != OCOP_OK) {
			return FZ_BROKEN;
		}
	}
	/* The same bytes as a bare cell map. */
	cells_rv = proto_cells_check(p, len);
	if (cells_rv == OCOP_OK) {
		if (fz_walk_cells(p, len, &sink) != OCOP_OK) {
			return FZ_BROKEN;
		}
	} else if (cells_rv != OCOP_EPROTO) {
		return FZ_BROKEN;
	}
	return rv;
}
