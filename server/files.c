/*
 * files.c: a server's evidence files (files.h): FILES, FILE_PUT and
 * FILE_GET on the server's file store, judged by what its document rows say
 * and how it registered the caller; the file records of sneakernet replies;
 * releasing; the operator's counts.
 *
 * Nothing a site sends is trusted: a chunk must match its digest, a file its
 * SHA-256 before anyone can fetch it, and a site may only send or fetch the
 * files of documents of its own scope. A refusal names the reason in an
 * ERROR reply and changes nothing.
 */
#include "server/files.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sys/statvfs.h>

#include "common/util/alloc.h"
#include "common/util/log.h"
#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "server/pool.h"
#include "server/registry.h"
#include "server/service.h"

#define FILES_DAY_S 86400
#define FILES_PARTIALS_MAX 1024 /* unfinished uploads one site may leave, whatever their bytes */

struct srv_files {
	sto_blobs *blobs;        /* the file store, owned */
	srv_files_opts o;        /* limits */
	pthread_mutex_t mu;      /* serialises serving, release and counting */
	srv_files_counters n;    /* counters, under mu */
	uint8_t *chunk;          /* one chunk of scratch, owned, under mu */
};

void
srv_files_defaults(srv_files_opts *o)
{
	o->max_file_bytes = UINT64_C(256) << 20;
	o->chunk_bytes = 1u << 20;
	o->partial_quota = UINT64_C(1) << 30;
	o->min_free_bytes = UINT64_C(1) << 30;
	o->retention_days = 30;
	o->partial_days = 14;
}

int
srv_files_open(srv_files **out, sto_db *db, const char *dir, const srv_files_opts *o, char *err, size_t errlen)
{
	char def[1100];
	srv_files *f;
	int rv;

	*out = NULL;
	if (dir == NULL || dir[0] == 0) {
		if (sto_blobs_dir_for(db, def, sizeof(def)) != OCOP_OK) {
			snprintf(err, errlen, "no place for evidence files beside an in-memory database");
			return OCOP_EINVAL;
		}
		dir = def;
	}
	if ((f = com_calloc(1, sizeof(*f))) == NULL || (f->chunk = com_malloc(PROTO_CHUNK_MAX)) == NULL) {
		com_free(f);
		return OCOP_ENOMEM;
	}
	f->o = *o;
	if (f->o.chunk_bytes == 0 || f->o.chunk_bytes > PROTO_CHUNK_MAX) {
		f->o.chunk_bytes = PROTO_CHUNK_MAX;
	}
	pthread_mutex_init(&f->mu, NULL);
	if ((rv = sto_blobs_open(&f->blobs, dir)) != OCOP_OK) {
		snprintf(err, errlen, "cannot use %s for evidence files: %s", dir, strerror(errno));
		srv_files_close(f);
		return rv;
	}
	if ((rv = sto_files_prepare(db)) != OCOP_OK) {
		snprintf(err, errlen, "cannot prepare the file bookkeeping: %s", sto_errmsg(db));
		srv_files_close(f);
		return rv;
	}
	*out = f;
	return OCOP_OK;
}

void
srv_files_close(srv_files *f)
{
	if (f != NULL) {
		sto_blobs_close(f->blobs);
		pthread_mutex_destroy(&f->mu);
		com_free(f->chunk);
		com_free(f);
	}
}

sto_blobs *
srv_files_blobs(srv_files *f)
{
	return f->blobs;
}

const srv_files_opts *
srv_files_limits(const srv_files *f)
{
	return &f->o;
}

void
srv_files_counters_get(srv_files *f, srv_files_counters *out)
{
	pthread_mutex_lock(&f->mu);
	*out = f->n;
	pthread_mutex_unlock(&f->mu);
}

/* ===== Small helpers ===== */

/*
 * Record that site holds sha, in a transaction of its own on the writing
 * connection, in the writer's turn: the one write a file request makes, and
 * a short one (the bytes are already on disk), so no PUSH waits behind a file.
 */
static int
files_peer_set(srv_service *s, const char *site, const uint8_t sha[STO_SHA_LEN])
{
	int rv;

	if (s->pool != NULL) {
		srv_pool_write_lock(s->pool);
	}
	if (sto_files_peer_has(s->db, site, sha)) {
		rv = OCOP_OK;
	} else if ((rv = sto_begin(s->db)) == OCOP_OK &&
		   ((rv = sto_files_peer_set(s->db, site, sha)) != OCOP_OK || (rv = sto_commit(s->db)) != OCOP_OK)) {
		sto_rollback(s->db);
	}
	if (s->pool != NULL) {
		srv_pool_write_unlock(s->pool);
	}
	return rv;
}

/*
 * Is there room for `more` bytes of site's unfinished uploads, on the disk and
 * in its quota (bytes, and a number of files: a site naming a million tiny
 * files must not fill the directory either)? The partial being continued is
 * counted among the site's, which errs on the side of waiting.
 */
static bool
files_room(srv_files *f, const char *site, uint64_t more)
{
	struct statvfs vs;
	uint64_t used = 0;
	uint64_t count = 0;

	sto_blobs_partials(f->blobs, site, &used, &count);
	if (used + more > f->o.partial_quota || count >= FILES_PARTIALS_MAX) {
		return false;
	}
	if (statvfs(sto_blobs_dir(f->blobs), &vs) == 0 &&
	    (uint64_t)vs.f_bavail * (uint64_t)vs.f_frsize < f->o.min_free_bytes + more) {
		return false;
	}
	return true;
}

/*
 * The chunk size now: the configured one, but with many sites at once no
 * more than their share of batch_memory (srv_service_batch), since every
 * connection may hold a chunk going up and one coming down in the server's
 * memory. One site alone, or a few, keep the configured size.
 */
static uint32_t
files_chunk(const srv_service *s, const srv_files *f)
{
	int n = atomic_load(&s->links);
	size_t share;

	if (s->batch_memory == 0 || n <= 1) {
		return f->o.chunk_bytes;
	}
	share = s->batch_memory / (2u * (size_t)n);
	share = share < SRV_MIN_BATCH ? SRV_MIN_BATCH : share;
	return share < f->o.chunk_bytes ? (uint32_t)share : f->o.chunk_bytes;
}

/* The first 12 hex digits of a file's name, for messages. */
static void
files_short(const uint8_t sha[STO_SHA_LEN], char out[13])
{
	char hex[STO_SHA_HEX];

	proto_sha_hex(sha, hex);
	memcpy(out, hex, 12);
	out[12] = 0;
}

/* ===== FILES ===== */

static int
files_files(srv_service *s, srv_files *f, sto_db *db, const srv_caller *who, proto_rd *body, com_buf *reply)
{
	proto_files m;
	proto_files_ok ok;
	proto_file_it it;
	proto_file_entry e;
	proto_file_entry *out = NULL;
	srv_peer peer;
	uint64_t used = 0;
	uint64_t count = 0;
	bool authed;
	size_t n = 0;
	int rv;

	if (proto_files_decode(body, &m) != OCOP_OK) {
		return srv_service_error(s, reply, OCOP_EPROTO, "malformed FILES");
	}
	if ((rv = srv_service_auth(s, db, who, m.site, m.credential, &peer, reply, &authed)) != OCOP_OK || !authed) {
		return rv;
	}
	if (m.files.count > 0 && (out = com_calloc(m.files.count, sizeof(*out))) == NULL) {
		return OCOP_ENOMEM;
	}
	sto_blobs_partials(f->blobs, peer.site, &used, &count);
	proto_file_iter(&it, &m.files, false);
	while ((rv = proto_file_next(&it, &e)) == OCOP_OK) {
		proto_file_entry *r = &out[n++];
		sto_file_claim claim;
		uint64_t osize = 0;

		memcpy(r->sha, e.sha, STO_SHA_LEN);
		r->state = PROTO_FILE_NONE;
		if ((rv = sto_files_claim(db, s->policy, peer.site, peer.scope, e.sha, e.size, &claim)) != OCOP_OK) {
			break;
		}
		if (!claim.sendable && !claim.fetchable) {
			continue; /* not this site's business: nothing said of it */
		}
		if (sto_blobs_has(f->blobs, e.sha, &osize) && osize == e.size) {
			/* Held here. Say so to a site that holds it too or may fetch it. */
			if ((e.held == e.size && claim.sendable) || claim.fetchable) {
				r->state = PROTO_FILE_HAVE;
				r->held = e.size;
			}
		} else if (!claim.sendable) {
			continue; /* not here yet, and not the caller's to send: it follows its sender */
		} else if (e.size > f->o.max_file_bytes) {
			r->state = PROTO_FILE_REFUSED;
			r->code = OCOP_ETOOBIG;
		} else {
			r->held = sto_blobs_held(f->blobs, peer.site, e.sha);
			r->held = r->held <= e.size ? r->held : 0;
			r->state = PROTO_FILE_WANT;
			if (r->held == 0 && e.held == e.size && used >= f->o.partial_quota) {
				r->state = PROTO_FILE_REFUSED;
				r->code = OCOP_EBUSY;
			}
		}
	}
	if (rv != OCOP_ENOENT) {
		com_free(out);
		return rv == OCOP_ENOMEM ? rv : srv_service_error(s, reply, OCOP_EDB, "server database error");
	}
	memset(&ok, 0, sizeof(ok));
	ok.chunk_bytes = files_chunk(s, f);
	ok.max_file_bytes = f->o.max_file_bytes;
	ok.retention_days = f->o.retention_days;
	rv = proto_files_ok_encode(reply, &ok, out, n);
	com_free(out);
	return rv;
}

/* ===== FILE_PUT ===== */

static int
files_put(srv_service *s, srv_files *f, sto_db *db, const srv_caller *who, proto_rd *body, com_buf *reply)
{
	proto_file_put m;
	proto_file_put_ok ok;
	sto_file_claim claim;
	srv_peer peer;
	char name[13];
	char text[300];
	uint64_t held;
	uint64_t before;
	bool whole = false;
	bool had;
	bool writes;
	bool authed;
	int rv;

	if (proto_file_put_decode(body, &m) != OCOP_OK) {
		return srv_service_error(s, reply, OCOP_EPROTO, "malformed FILE_PUT");
	}
	if ((rv = srv_service_auth(s, db, who, m.site, m.credential, &peer, reply, &authed)) != OCOP_OK || !authed) {
		return rv;
	}
	files_short(m.sha, name);
	if (proto_chunk_check(m.data, m.len, m.digest) != OCOP_OK) {
		f->n.chunks_refused++;
		snprintf(text, sizeof(text), "the chunk at byte %" PRIu64 " of file %s arrived damaged: send it again",
		    m.offset, name);
		return srv_service_error(s, reply, OCOP_ECORRUPT, text);
	}
	if ((rv = sto_files_claim(db, s->policy, peer.site, peer.scope, m.sha, m.size, &claim)) != OCOP_OK) {
		return srv_service_error(s, reply, OCOP_EDB, "server database error");
	}
	if (!claim.sendable) {
		f->n.chunks_refused++;
		snprintf(text, sizeof(text),
		    "no live document of site %s's scope or of its own names file %s of %" PRIu64 " bytes here: not taken",
		    peer.site, name, m.size);
		return srv_service_error(s, reply, OCOP_ESCOPE, text);
	}
	if (m.size > f->o.max_file_bytes) {
		f->n.chunks_refused++;
		snprintf(text, sizeof(text), "file %s is %" PRIu64 " bytes, more than this server takes (%" PRIu64 ")",
		    name, m.size, f->o.max_file_bytes);
		return srv_service_error(s, reply, OCOP_ETOOBIG, text);
	}
	memset(&ok, 0, sizeof(ok));
	memcpy(ok.sha, m.sha, STO_SHA_LEN);
	had = sto_blobs_has(f->blobs, m.sha, NULL);
	before = sto_blobs_held(f->blobs, peer.site, m.sha);
	writes = !had && m.offset == before;
	if (writes && !files_room(f, peer.site, m.len)) {
		f->n.chunks_refused++;
		snprintf(text, sizeof(text), "no room for more of file %s now (unfinished uploads of this site, or the "
					     "server's disk): try again later", name);
		return srv_service_error(s, reply, OCOP_EBUSY, text);
	}
	rv = sto_blobs_receive(f->blobs, peer.site, m.sha, m.size, m.offset, m.data, m.len, &held, &whole);
	if (rv == OCOP_ECORRUPT) {
		/* Whatever the site sent, it was not this file: none of it stays; held 0 says start again. */
		com_logf(s->log, COM_LOG_WARN, "file %s from %s does not hash to its name: discarded", name, peer.site);
		f->n.chunks_refused++;
		return proto_file_put_ok_encode(reply, &ok);
	}
	if (rv != OCOP_OK) {
		com_logf(s->log, COM_LOG_ERROR, "cannot store file %s from %s: %s", name, peer.site,
		    sto_blobs_errmsg(f->blobs));
		return srv_service_error(s, reply, OCOP_EIO, "the server cannot store files now");
	}
	if (writes) {
		f->n.bytes_in += m.len;
	}
	if (writes && whole) {
		/* This chunk completed the file: the site holds what it sent. */
		f->n.files_in++;
		com_logf(s->log, COM_LOG_INFO, "file %s (%" PRIu64 " bytes) from %s is whole and verified", name, m.size,
		    peer.site);
		if (files_peer_set(s, peer.site, m.sha) != OCOP_OK) {
			return srv_service_error(s, reply, OCOP_EDB, "server database error");
		}
	}
	ok.held = whole ? m.size : held;
	ok.whole = whole;
	return proto_file_put_ok_encode(reply, &ok);
}

/* ===== FILE_GET ===== */

static int
files_get(srv_service *s, srv_files *f, sto_db *db, const srv_caller *who, proto_rd *body, com_buf *reply)
{
	proto_file_get m;
	proto_file_data d;
	sto_file_claim claim;
	srv_peer peer;
	char name[13];
	char text[300];
	uint64_t size = 0;
	size_t want;
	size_t got = 0;
	bool authed;
	int rv;

	if (proto_file_get_decode(body, &m) != OCOP_OK) {
		return srv_service_error(s, reply, OCOP_EPROTO, "malformed FILE_GET");
	}
	if ((rv = srv_service_auth(s, db, who, m.site, m.credential, &peer, reply, &authed)) != OCOP_OK || !authed) {
		return rv;
	}
	files_short(m.sha, name);
	if ((rv = sto_files_claim(db, s->policy, peer.site, peer.scope, m.sha, STO_FILE_ANY_SIZE, &claim)) !=
	    OCOP_OK) {
		return srv_service_error(s, reply, OCOP_EDB, "server database error");
	}
	/* Not named in the site's scope and not fetchable get the same answer: nothing to learn. */
	if (!claim.fetchable) {
		snprintf(text, sizeof(text), "file %s is not site %s's to fetch", name, peer.site);
		return srv_service_error(s, reply, OCOP_ESCOPE, text);
	}
	if (!sto_blobs_has(f->blobs, m.sha, &size)) {
		snprintf(text, sizeof(text), "this server does not hold file %s yet", name);
		return srv_service_error(s, reply, OCOP_ENOENT, text);
	}
	if (m.offset > size || (m.offset == size && size > 0)) {
		snprintf(text, sizeof(text), "file %s has %" PRIu64 " bytes: nothing at byte %" PRIu64, name, size,
		    m.offset);
		return srv_service_error(s, reply, OCOP_ERANGE, text);
	}
	want = files_chunk(s, f);
	want = m.max_bytes > 0 && m.max_bytes < want ? m.max_bytes : want;
	if (size - m.offset < want) {
		want = (size_t)(size - m.offset);
	}
	if ((rv = sto_blobs_read(f->blobs, m.sha, m.offset, f->chunk, want, &got)) != OCOP_OK || got != want) {
		com_logf(s->log, COM_LOG_ERROR, "cannot read file %s: %s", name, sto_blobs_errmsg(f->blobs));
		return srv_service_error(s, reply, OCOP_EIO, "the server cannot read this file now");
	}
	memset(&d, 0, sizeof(d));
	memcpy(d.sha, m.sha, STO_SHA_LEN);
	d.size = size;
	d.offset = m.offset;
	d.data = f->chunk;
	d.len = got;
	if ((rv = proto_chunk_digest(f->chunk, got, d.digest)) != OCOP_OK) {
		return srv_service_error(s, reply, rv, "SHA-256 is not available");
	}
	f->n.bytes_out += got;
	if (m.offset + got == size && files_peer_set(s, peer.site, m.sha) != OCOP_OK) {
		return srv_service_error(s, reply, OCOP_EDB, "server database error");
	}
	return proto_file_data_encode(reply, &d);
}

/* ===== Dispatch ===== */

/*
 * Which connection a file request uses: the checks (who the caller is, which
 * documents name the file) only read, so they run on a read connection of
 * the pool in a read transaction, beside the PULLs; the bytes go to and come
 * from the file store, outside the database; only the note that a site now
 * holds a file takes the writer's turn (files_peer_set). A slow upload thus
 * neither queues behind PUSHes nor holds the writer: a chunk is written
 * whole before its request is served, and serving it is a bounded disk write.
 */
int
srv_files_serve(srv_service *s, const srv_caller *who, uint32_t type, proto_rd *body, com_buf *reply)
{
	srv_files *f = s->files;
	sto_db *db;
	bool txn;
	int rv;

	if (f == NULL) {
		/* The answer an older server gives: a site keeps its files for later. */
		return srv_service_error(s, reply, OCOP_EPROTO, "this server does not take evidence files");
	}
	db = s->pool != NULL ? srv_pool_take(s->pool) : s->db;
	/* Without a pool db is the writer's own connection: no read transaction
	 * around a request that may write on it. */
	txn = s->pool != NULL && sto_exec(db, "BEGIN") == OCOP_OK;
	pthread_mutex_lock(&f->mu);
	switch (type) {
	case PROTO_MSG_FILES:
		rv = files_files(s, f, db, who, body, reply);
		break;
	case PROTO_MSG_FILE_PUT:
		rv = files_put(s, f, db, who, body, reply);
		break;
	case PROTO_MSG_FILE_GET:
		rv = files_get(s, f, db, who, body, reply);
		break;
	default:
		rv = srv_service_error(s, reply, OCOP_EPROTO, "not a file request");
		break;
	}
	pthread_mutex_unlock(&f->mu);
	if (txn) {
		sto_exec(db, "COMMIT");
	}
	if (s->pool != NULL) {
		srv_pool_give(s->pool, db);
	}
	return rv;
}

/* ===== Release and counts ===== */

int
srv_files_gc(srv_files *f, sto_db *db, sto_files_gc_stats *st)
{
	int rv;

	pthread_mutex_lock(&f->mu);
	rv = sto_files_gc(db, f->blobs, (int64_t)f->o.retention_days * FILES_DAY_S,
	    (int64_t)f->o.partial_days * FILES_DAY_S, (int64_t)time(NULL), st);
	pthread_mutex_unlock(&f->mu);
	return rv;
}

int
srv_files_waiting(srv_files *f, sto_db *db, sto_files_count *out)
{
	sto_fileref *refs = NULL;
	size_t n = 0;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = sto_files_named(db, NULL, NULL, NULL, &refs, &n)) != OCOP_OK) {
		return rv;
	}
	pthread_mutex_lock(&f->mu);
	sto_files_pending(db, f->blobs, refs, n, NULL, out, NULL);
	pthread_mutex_unlock(&f->mu);
	com_free(refs);
	return OCOP_OK;
}

/* ===== Sneakernet ===== */

/* What the request's FILES says the site holds of sha: its held, or -1 when it did not ask. */
static int64_t
files_asked_held(const proto_files *asked, const uint8_t sha[STO_SHA_LEN], uint64_t size)
{
	proto_file_it it;
	proto_file_entry e;

	if (asked == NULL) {
		return -1;
	}
	proto_file_iter(&it, &asked->files, false);
	while (proto_file_next(&it, &e) == OCOP_OK) {
		if (memcmp(e.sha, sha, STO_SHA_LEN) == 0 && e.size == size) {
			return (int64_t)e.held;
		}
	}
	return -1;
}

/* Add FILE_DATA messages carrying sha from `from` to its end. */
static int
files_bundle_one(srv_files *f, const uint8_t sha[STO_SHA_LEN], uint64_t size, uint64_t from, proto_bundle_wr *bw)
{
	proto_file_data d;
	com_buf msg;
	uint64_t off = from;
	int rv = OCOP_OK;

	com_buf_init(&msg);
	memset(&d, 0, sizeof(d));
	memcpy(d.sha, sha, STO_SHA_LEN);
	d.size = size;
	do {
		size_t want = size - off < f->o.chunk_bytes ? (size_t)(size - off) : f->o.chunk_bytes;
		size_t got = 0;

		if ((rv = sto_blobs_read(f->blobs, sha, off, f->chunk, want, &got)) != OCOP_OK || got != want) {
			rv = rv != OCOP_OK ? rv : OCOP_EIO;
			break;
		}
		d.offset = off;
		d.data = f->chunk;
		d.len = got;
		com_buf_reset(&msg);
		if ((rv = proto_chunk_digest(f->chunk, got, d.digest)) != OCOP_OK ||
		    (rv = proto_file_data_encode(&msg, &d)) != OCOP_OK ||
		    (rv = proto_bundle_add(bw, msg.data, msg.len)) != OCOP_OK) {
			break;
		}
		f->n.bytes_out += got;
		off += got;
	} while (off < size);
	com_buf_fini(&msg);
	return rv;
}

int
srv_files_bundle_data(srv_service *s, const char *site, const proto_files *asked, uint64_t budget,
    proto_bundle_wr *bw, uint64_t *files, uint64_t *bytes)
{
	srv_files *f = s->files;
	sto_fileref *refs = NULL;
	srv_peer peer;
	uint64_t nfiles = 0;
	uint64_t nbytes = 0;
	size_t n = 0;
	size_t i;
	int rv;

	if (files != NULL) {
		*files = 0;
	}
	if (bytes != NULL) {
		*bytes = 0;
	}
	if (f == NULL || budget == 0) {
		return OCOP_OK;
	}
	if ((rv = srv_registry_get(s->db, site, &peer)) != OCOP_OK) {
		return rv;
	}
	if ((rv = sto_files_named(s->db, s->policy, peer.scope, NULL, &refs, &n)) != OCOP_OK) {
		return rv;
	}
	pthread_mutex_lock(&f->mu);
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		sto_file_claim claim;
		uint64_t osize = 0;
		int64_t held = files_asked_held(asked, refs[i].sha, refs[i].size);
		uint64_t from;

		if (!sto_blobs_has(f->blobs, refs[i].sha, &osize) || osize != refs[i].size) {
			continue;
		}
		if (held < 0 && sto_files_peer_has(s->db, site, refs[i].sha)) {
			continue; /* it sent it here, or fetched it whole online */
		}
		from = held > 0 && (uint64_t)held <= refs[i].size ? (uint64_t)held : 0;
		if ((held >= 0 && (uint64_t)held == refs[i].size && refs[i].size > 0) || refs[i].size - from > budget - nbytes) {
			continue;
		}
		if ((rv = sto_files_claim(s->db, s->policy, site, peer.scope, refs[i].sha, refs[i].size, &claim)) !=
			OCOP_OK) {
			break;
		}
		if (!claim.fetchable) {
			continue;
		}
		/* Not recorded as given: a reply can be lost on its way; the site's next FILES says what it holds. */
		if ((rv = files_bundle_one(f, refs[i].sha, refs[i].size, from, bw)) == OCOP_OK) {
			nfiles++;
			nbytes += refs[i].size - from;
		}
	}
	pthread_mutex_unlock(&f->mu);
	com_free(refs);
	if (files != NULL) {
		*files = nfiles;
	}
	if (bytes != NULL) {
		*bytes = nbytes;
	}
	return rv;
}
