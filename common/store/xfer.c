/*
 * xfer.c: the node's side of the file exchange (xfer.h): FILES in batches,
 * then each wanted file up chunk by chunk from where the server stands, then
 * each missing file down chunk by chunk from where this node stands.
 *
 * Every request is idempotent (a chunk the receiver holds already changes
 * nothing), so nng's resends and a retry after any failure are harmless.
 * Chunks whose bytes do not match their digest are asked for (or sent) again
 * a few times, then the file waits for the next run; a completed file that
 * does not hash to its name is started again once.
 */
#include "common/store/xfer.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/files.h"

#define XFER_CHUNK_DEFAULT (1u << 20) /* when the server states none that fits */
#define XFER_CHUNK_RETRIES 3          /* damaged chunks in a row before a file waits */

typedef struct xfer {
	sto_db *db;                  /* the replica */
	sto_blobs *b;                /* its files */
	const sto_xfer_link *link;   /* the server */
	const sto_xfer_opts *o;      /* options */
	sto_xfer_stats *st;          /* what happened */
	sto_xfer_progress pr;        /* progress so far */
	com_buf req;                 /* request scratch */
	com_buf reply;               /* last reply */
	uint8_t *chunk;              /* chunk buffer, chunk bytes */
	uint32_t chunk_bytes;        /* chunk size in use */
	char *err;                   /* failure sentence */
	size_t errlen;               /* its room */
} xfer;

static int64_t
xfer_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
xfer_late(const xfer *x)
{
	return x->o->deadline_ms > 0 && xfer_now_ms() >= x->o->deadline_ms;
}

static void
xfer_tell(xfer *x)
{
	if (x->o->progress != NULL) {
		x->o->progress(x->o->progress_arg, &x->pr);
	}
}

/*
 * One round trip expecting `want`; an ERROR reply is returned as its code
 * with the server's text in err, *code_text set. *body is positioned on the
 * reply's body.
 */
static int
xfer_call(xfer *x, uint32_t want, proto_rd *body)
{
	proto_env env;
	proto_error e;
	int rv;

	com_buf_reset(&x->reply);
	if ((rv = x->link->roundtrip(x->link->arg, x->req.data, x->req.len, &x->reply)) != OCOP_OK) {
		snprintf(x->err, x->errlen, "no reply from the server: %s", ocop_strerror(rv));
		return rv;
	}
	rv = proto_env_open(x->reply.data, x->reply.len, &env, body);
	if (rv != OCOP_OK) {
		/* A damaged reply (a flipped bit fails the frame's CRC) is asked for again by the caller. */
		snprintf(x->err, x->errlen, "malformed reply from the server");
		return OCOP_ECORRUPT;
	}
	if (env.type == PROTO_MSG_ERROR) {
		if (proto_error_decode(body, &e) != OCOP_OK) {
			snprintf(x->err, x->errlen, "malformed error reply from the server");
			return OCOP_EPROTO;
		}
		snprintf(x->err, x->errlen, "server refused: %s", e.text);
		return e.code == OCOP_OK || e.code >= OCOP_ERR_COUNT_ ? OCOP_EPROTO : (int)e.code;
	}
	if (env.type != want) {
		snprintf(x->err, x->errlen, "unexpected %s reply from the server", proto_msg_name(env.type));
		return OCOP_EPROTO;
	}
	return OCOP_OK;
}

/* Record that the server holds sha (its word), in a short transaction of its own. */
static int
xfer_peer_has(xfer *x, const uint8_t sha[STO_SHA_LEN])
{
	int rv;

	if (x->o->peer == NULL || x->o->peer[0] == 0 || sto_files_peer_has(x->db, x->o->peer, sha)) {
		return OCOP_OK;
	}
	if ((rv = sto_begin(x->db)) != OCOP_OK) {
		return rv;
	}
	if ((rv = sto_files_peer_set(x->db, x->o->peer, sha)) != OCOP_OK || (rv = sto_commit(x->db)) != OCOP_OK) {
		sto_rollback(x->db);
	}
	return rv;
}

/* ===== Up ===== */

/* Send sha (size bytes, held whole here) from offset `from`, the server's position. */
static int
xfer_send(xfer *x, const uint8_t sha[STO_SHA_LEN], uint64_t size, uint64_t from)
{
	proto_file_put m;
	proto_file_put_ok ok;
	proto_rd body;
	uint64_t off = from;
	int damaged = 0;
	int restarts = 0;
	bool sent = false;
	int rv;

	memset(&m, 0, sizeof(m));
	snprintf(m.site, sizeof(m.site), "%s", x->o->site);
	snprintf(m.credential, sizeof(m.credential), "%s", x->o->credential ? x->o->credential : "");
	memcpy(m.sha, sha, STO_SHA_LEN);
	m.size = size;
	x->pr.up = true;
	for (;;) {
		size_t got = 0;
		size_t want = size - off < x->chunk_bytes ? (size_t)(size - off) : x->chunk_bytes;

		if (xfer_late(x)) {
			x->st->stopped = true;
			return OCOP_OK;
		}
		if ((rv = sto_blobs_read(x->b, sha, off, x->chunk, want, &got)) != OCOP_OK || got != want) {
			snprintf(x->err, x->errlen, "cannot read a stored file: %s", sto_blobs_errmsg(x->b));
			return rv != OCOP_OK ? rv : OCOP_EIO;
		}
		m.offset = off;
		m.data = x->chunk;
		m.len = got;
		if ((rv = proto_chunk_digest(x->chunk, got, m.digest)) != OCOP_OK) {
			return rv;
		}
		com_buf_reset(&x->req);
		if ((rv = proto_file_put_encode(&x->req, &m)) != OCOP_OK) {
			return rv;
		}
		rv = xfer_call(x, PROTO_MSG_FILE_PUT_OK, &body);
		if (rv == OCOP_ECORRUPT || rv == OCOP_EPROTO) {
			/* The chunk (or the reply) was damaged on the way: the server found a bad
			 * digest or a bad frame, or the reply did not read. Send it again. */
			x->st->chunks_refused++;
			if (++damaged > XFER_CHUNK_RETRIES) {
				x->st->files_refused++;
				return OCOP_OK;
			}
			continue;
		}
		if (rv == OCOP_ETOOBIG || rv == OCOP_EBUSY || rv == OCOP_ESCOPE) {
			x->st->files_refused++; /* the server's reason is in err; other files go on */
			return OCOP_OK;
		}
		if (rv != OCOP_OK) {
			return rv;
		}
		if (proto_file_put_ok_decode(&body, &ok) != OCOP_OK || memcmp(ok.sha, sha, STO_SHA_LEN) != 0) {
			snprintf(x->err, x->errlen, "malformed FILE_PUT_OK from the server");
			return OCOP_EPROTO;
		}
		damaged = 0;
		if (ok.held > off) {
			uint64_t moved = ok.held - off < got ? ok.held - off : got;
			x->st->bytes_sent += moved;
			x->pr.done += moved;
			sent = true;
		}
		xfer_tell(x);
		if (ok.whole) {
			x->st->files_sent += sent;
			x->pr.files_done++;
			return xfer_peer_has(x, sha);
		}
		if (ok.held == 0 && off + got == size) {
			/* The server completed the file and it did not hash to its name. */
			if (sto_blobs_verify(x->b, sha) == OCOP_ECORRUPT) {
				snprintf(x->err, x->errlen, "a stored file is damaged on this disk (%s)", sto_blobs_errmsg(x->b));
				x->st->files_refused++;
				return OCOP_OK;
			}
			if (++restarts > 1) {
				x->st->files_refused++;
				return OCOP_OK;
			}
		}
		if (com_fault_hit(x->o->fault, "xfer.chunk")) {
			snprintf(x->err, x->errlen, "crashed between two chunks");
			return OCOP_ECLOSED;
		}
		/* Go on from wherever the server stands (it may hold more than we sent, or less). */
		off = ok.held > size ? size : ok.held;
	}
}

/* ===== Down ===== */

/* Fetch sha (size bytes) from the server, from what this node holds of it. */
static int
xfer_fetch(xfer *x, const uint8_t sha[STO_SHA_LEN], uint64_t size)
{
	proto_file_get m;
	proto_file_data d;
	proto_rd body;
	uint64_t held = sto_blobs_held(x->b, STO_BLOB_DOWN, sha);
	int damaged = 0;
	int restarts = 0;
	bool whole = false;
	int rv;

	memset(&m, 0, sizeof(m));
	snprintf(m.site, sizeof(m.site), "%s", x->o->site);
	snprintf(m.credential, sizeof(m.credential), "%s", x->o->credential ? x->o->credential : "");
	memcpy(m.sha, sha, STO_SHA_LEN);
	m.max_bytes = x->chunk_bytes;
	x->pr.up = false;
	if (held > size) {
		held = 0;
	}
	for (;;) {
		uint64_t before;

		if (xfer_late(x)) {
			x->st->stopped = true;
			return OCOP_OK;
		}
		m.offset = held;
		com_buf_reset(&x->req);
		if ((rv = proto_file_get_encode(&x->req, &m)) != OCOP_OK) {
			return rv;
		}
		rv = xfer_call(x, PROTO_MSG_FILE_DATA, &body);
		if (rv == OCOP_OK && proto_file_data_decode(&body, &d) != OCOP_OK) {
			snprintf(x->err, x->errlen, "malformed FILE_DATA from the server");
			rv = OCOP_EPROTO;
		}
		if (rv == OCOP_OK && (memcmp(d.sha, sha, STO_SHA_LEN) != 0 || d.offset != held)) {
			snprintf(x->err, x->errlen, "the server sent another chunk than the one asked for");
			rv = OCOP_EPROTO;
		}
		if (rv == OCOP_OK && d.size != size) {
			/* The documents here and at the server disagree on the size: nothing to fetch. */
			x->st->files_refused++;
			return OCOP_OK;
		}
		if (rv == OCOP_OK && proto_chunk_check(d.data, d.len, d.digest) != OCOP_OK) {
			snprintf(x->err, x->errlen, "a chunk arrived damaged");
			rv = OCOP_ECORRUPT;
		}
		if (rv == OCOP_ECORRUPT || rv == OCOP_EPROTO) {
			/* Refused (the reply or the request arrived damaged): nothing of it is
			 * written, and it is asked for again. */
			x->st->chunks_refused++;
			if (++damaged > XFER_CHUNK_RETRIES) {
				x->st->files_refused++;
				return OCOP_OK;
			}
			continue;
		}
		if (rv == OCOP_ENOENT || rv == OCOP_ESCOPE) {
			x->st->files_waiting++;
			return OCOP_OK;
		}
		if (rv != OCOP_OK) {
			return rv;
		}
		damaged = 0;
		before = held;
		rv = sto_blobs_receive(x->b, STO_BLOB_DOWN, sha, size, d.offset, d.data, d.len, &held, &whole);
		if (rv == OCOP_ECORRUPT) {
			/* The whole did not hash to its name: it was dropped; start again once. */
			x->st->chunks_refused++;
			if (++restarts > 1) {
				snprintf(x->err, x->errlen, "a file fetched twice does not match its SHA-256");
				x->st->files_refused++;
				return OCOP_OK;
			}
			held = 0;
			continue;
		}
		if (rv != OCOP_OK) {
			snprintf(x->err, x->errlen, "cannot store a file: %s", sto_blobs_errmsg(x->b));
			return rv;
		}
		if (held > before) {
			x->st->bytes_fetched += held - before;
			x->pr.done += held - before;
		}
		xfer_tell(x);
		if (whole) {
			x->st->files_fetched++;
			x->pr.files_done++;
			return xfer_peer_has(x, sha);
		}
		if (held == before && d.len > 0) {
			snprintf(x->err, x->errlen, "a chunk could not be stored");
			return OCOP_EIO;
		}
		if (com_fault_hit(x->o->fault, "xfer.chunk")) {
			snprintf(x->err, x->errlen, "crashed between two chunks");
			return OCOP_ECLOSED;
		}
	}
}

/* ===== FILES ===== */

/* Ask about refs[0..n) (n <= PROTO_FILES_MAX) and move what the answers allow. */
static int
xfer_batch(xfer *x, const sto_fileref *refs, size_t n)
{
	proto_file_entry *e = com_calloc(n, sizeof(*e));
	proto_files m;
	proto_files_ok ok;
	proto_file_it it;
	proto_file_entry r;
	proto_rd body;
	uint8_t *todo = com_calloc(n, 1); /* 1 send, 2 fetch */
	uint64_t *from = com_calloc(n, sizeof(*from));
	size_t i;
	int rv;

	if (n > 0 && (e == NULL || todo == NULL || from == NULL)) {
		rv = OCOP_ENOMEM;
		goto out;
	}
	memset(&m, 0, sizeof(m));
	snprintf(m.site, sizeof(m.site), "%s", x->o->site);
	snprintf(m.credential, sizeof(m.credential), "%s", x->o->credential ? x->o->credential : "");
	for (i = 0; i < n; i++) {
		memcpy(e[i].sha, refs[i].sha, STO_SHA_LEN);
		e[i].size = refs[i].size;
		if (sto_blobs_has(x->b, refs[i].sha, NULL)) {
			e[i].held = refs[i].size;
		} else {
			e[i].held = sto_blobs_held(x->b, STO_BLOB_DOWN, refs[i].sha);
			e[i].held = e[i].held <= refs[i].size ? e[i].held : 0;
		}
	}
	com_buf_reset(&x->req);
	if ((rv = proto_files_encode(&x->req, &m, e, n)) != OCOP_OK) {
		goto out;
	}
	rv = xfer_call(x, PROTO_MSG_FILES_OK, &body);
	if (rv == OCOP_EPROTO && x->st->server_max_file == 0) {
		/* An older server does not know FILES: the rows synced, the files stay here. */
		x->st->unsupported = true;
		rv = OCOP_OK;
		goto out;
	}
	if (rv != OCOP_OK) {
		goto out;
	}
	if (proto_files_ok_decode(&body, &ok) != OCOP_OK || ok.files.count != n) {
		snprintf(x->err, x->errlen, "malformed FILES_OK from the server");
		rv = OCOP_EPROTO;
		goto out;
	}
	x->st->server_max_file = ok.max_file_bytes;
	x->st->server_retention_days = ok.retention_days;
	x->chunk_bytes = x->o->chunk_bytes > 0 && x->o->chunk_bytes < ok.chunk_bytes ? x->o->chunk_bytes : ok.chunk_bytes;
	proto_file_iter(&it, &ok.files, true);
	for (i = 0; i < n && (rv = proto_file_next(&it, &r)) == OCOP_OK; i++) {
		bool whole_here = e[i].held == refs[i].size && sto_blobs_has(x->b, refs[i].sha, NULL);
		if (memcmp(r.sha, refs[i].sha, STO_SHA_LEN) != 0) {
			snprintf(x->err, x->errlen, "FILES_OK does not answer the files asked about");
			rv = OCOP_EPROTO;
			goto out;
		}
		if (r.state == PROTO_FILE_HAVE) {
			if ((rv = xfer_peer_has(x, refs[i].sha)) != OCOP_OK) {
				goto out;
			}
			if (!whole_here && x->o->fetch) {
				todo[i] = 2;
				x->pr.total += refs[i].size - e[i].held;
				x->pr.files_total++;
			}
		} else if (r.state == PROTO_FILE_WANT) {
			if (whole_here && x->o->send) {
				todo[i] = 1;
				from[i] = r.held <= refs[i].size ? r.held : 0;
				x->pr.total += refs[i].size - from[i];
				x->pr.files_total++;
			} else if (!whole_here) {
				x->st->files_waiting++; /* neither end has it yet: it follows its sender */
			}
		} else if (r.state == PROTO_FILE_REFUSED) {
			char hex[2 * PROTO_SHA256_LEN + 1];
			proto_sha_hex(r.sha, hex);
			x->st->files_refused++;
			snprintf(x->err, x->errlen, "the server refused file %.12s (%" PRIu64 " bytes): %s", hex,
			    refs[i].size,
			    r.code == OCOP_ETOOBIG ? "larger than the server takes"
			    : r.code == OCOP_EBUSY ? "no room at the server now; it is sent again later"
						   : ocop_strerror((int)r.code));
		}
	}
	rv = OCOP_OK;
	for (i = 0; i < n && rv == OCOP_OK && !x->st->stopped; i++) {
		if (todo[i] == 1) {
			rv = xfer_send(x, refs[i].sha, refs[i].size, from[i]);
		}
	}
	for (i = 0; i < n && rv == OCOP_OK && !x->st->stopped; i++) {
		if (todo[i] == 2) {
			rv = xfer_fetch(x, refs[i].sha, refs[i].size);
		}
	}
out:
	com_free(e);
	com_free(todo);
	com_free(from);
	return rv;
}

int
sto_xfer_run(sto_db *db, sto_blobs *b, const sto_xfer_link *link, const sto_xfer_opts *o, const sto_fileref *refs,
    size_t n, sto_xfer_stats *st, char *err, size_t errlen)
{
	xfer x;
	size_t i;
	int rv = OCOP_OK;

	memset(st, 0, sizeof(*st));
	err[0] = 0;
	memset(&x, 0, sizeof(x));
	x.db = db;
	x.b = b;
	x.link = link;
	x.o = o;
	x.st = st;
	x.err = err;
	x.errlen = errlen;
	com_buf_init(&x.req);
	com_buf_init(&x.reply);
	if ((x.chunk = com_malloc(PROTO_CHUNK_MAX)) == NULL) {
		return OCOP_ENOMEM;
	}
	x.chunk_bytes = XFER_CHUNK_DEFAULT;
	/* With nothing to move, one empty FILES still tells this node the server's limits. */
	for (i = 0; (i < n || i == 0) && rv == OCOP_OK && !st->stopped && !st->unsupported; i += PROTO_FILES_MAX) {
		rv = xfer_batch(&x, refs + i, n - i < PROTO_FILES_MAX ? n - i : PROTO_FILES_MAX);
		if (n == 0) {
			break;
		}
	}
	com_free(x.chunk);
	com_buf_fini(&x.req);
	com_buf_fini(&x.reply);
	return rv;
}
