/*
 * filebundle.c: evidence files in bundles (filebundle.h).
 */
#include "common/store/filebundle.h"

#include <stdio.h>
#include <string.h>

#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/files.h"

/* Record that peer holds sha, in a transaction of its own. */
static int
filebundle_peer_has(sto_db *db, const char *peer, const uint8_t sha[STO_SHA_LEN])
{
	int rv;

	if (peer == NULL || peer[0] == 0 || sto_files_peer_has(db, peer, sha)) {
		return OCOP_OK;
	}
	if ((rv = sto_begin(db)) != OCOP_OK) {
		return rv;
	}
	if ((rv = sto_files_peer_set(db, peer, sha)) != OCOP_OK || (rv = sto_commit(db)) != OCOP_OK) {
		sto_rollback(db);
	}
	return rv;
}

/* FILE_PUT chunks carrying the whole of sha. */
static int
filebundle_put(sto_blobs *b, const char *site, const char *credential, const uint8_t sha[STO_SHA_LEN],
    uint64_t size, uint8_t *chunk, proto_bundle_wr *bw)
{
	proto_file_put m;
	com_buf msg;
	uint64_t off = 0;
	int rv = OCOP_OK;

	memset(&m, 0, sizeof(m));
	snprintf(m.site, sizeof(m.site), "%s", site);
	snprintf(m.credential, sizeof(m.credential), "%s", credential ? credential : "");
	memcpy(m.sha, sha, STO_SHA_LEN);
	m.size = size;
	com_buf_init(&msg);
	do {
		size_t want = size - off < STO_FILEBUNDLE_CHUNK ? (size_t)(size - off) : STO_FILEBUNDLE_CHUNK;
		size_t got = 0;

		if ((rv = sto_blobs_read(b, sha, off, chunk, want, &got)) != OCOP_OK || got != want) {
			rv = rv != OCOP_OK ? rv : OCOP_EIO;
			break;
		}
		m.offset = off;
		m.data = chunk;
		m.len = got;
		com_buf_reset(&msg);
		if ((rv = proto_chunk_digest(chunk, got, m.digest)) != OCOP_OK ||
		    (rv = proto_file_put_encode(&msg, &m)) != OCOP_OK ||
		    (rv = proto_bundle_add(bw, msg.data, msg.len)) != OCOP_OK) {
			break;
		}
		off += got;
	} while (off < size);
	com_buf_fini(&msg);
	return rv;
}

int
sto_filebundle_request(sto_db *db, sto_blobs *b, const char *site, const char *credential, const char *peer,
    const sto_fileref *refs, size_t n, uint64_t budget, proto_bundle_wr *bw, sto_filebundle_stats *st)
{
	proto_file_entry *e = NULL;
	proto_files m;
	uint8_t *chunk = NULL;
	uint64_t used = 0;
	com_buf msg;
	size_t i;
	int rv;

	if (n == 0) {
		return OCOP_OK;
	}
	if (n > PROTO_FILES_MAX) {
		n = PROTO_FILES_MAX; /* the rest with the next bundle */
	}
	if ((e = com_calloc(n, sizeof(*e))) == NULL || (chunk = com_malloc(STO_FILEBUNDLE_CHUNK)) == NULL) {
		com_free(e);
		return OCOP_ENOMEM;
	}
	memset(&m, 0, sizeof(m));
	snprintf(m.site, sizeof(m.site), "%s", site);
	snprintf(m.credential, sizeof(m.credential), "%s", credential ? credential : "");
	for (i = 0; i < n; i++) {
		memcpy(e[i].sha, refs[i].sha, STO_SHA_LEN);
		e[i].size = refs[i].size;
		if (sto_blobs_has(b, refs[i].sha, NULL)) {
			e[i].held = refs[i].size;
		} else {
			e[i].held = sto_blobs_held(b, STO_BLOB_DOWN, refs[i].sha);
			e[i].held = e[i].held <= refs[i].size ? e[i].held : 0;
		}
	}
	com_buf_init(&msg);
	if ((rv = proto_files_encode(&msg, &m, e, n)) == OCOP_OK) {
		rv = proto_bundle_add(bw, msg.data, msg.len);
	}
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		if (e[i].held != refs[i].size || !sto_blobs_has(b, refs[i].sha, NULL) ||
		    (peer != NULL && peer[0] != 0 && sto_files_peer_has(db, peer, refs[i].sha))) {
			continue;
		}
		if (refs[i].size > budget - used) {
			st->left++;
			continue;
		}
		if ((rv = filebundle_put(b, site, credential, refs[i].sha, refs[i].size, chunk, bw)) == OCOP_OK) {
			used += refs[i].size;
			st->files++;
			st->bytes += refs[i].size;
		}
	}
	com_buf_fini(&msg);
	com_free(chunk);
	com_free(e);
	return rv;
}

int
sto_filebundle_reply(sto_db *db, sto_blobs *b, const char *peer, const uint8_t *msg, size_t len,
    sto_filebundle_stats *st)
{
	proto_env env;
	proto_rd body;
	int rv;

	if (proto_env_open(msg, len, &env, &body) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	if (env.type == PROTO_MSG_FILES_OK) {
		proto_files_ok ok;
		proto_file_it it;
		proto_file_entry r;
		if (proto_files_ok_decode(&body, &ok) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		proto_file_iter(&it, &ok.files, true);
		while ((rv = proto_file_next(&it, &r)) == OCOP_OK) {
			if (r.state == PROTO_FILE_HAVE) {
				st->at_server++;
				if ((rv = filebundle_peer_has(db, peer, r.sha)) != OCOP_OK) {
					return rv;
				}
			}
		}
		return rv == OCOP_ENOENT ? OCOP_OK : rv;
	}
	if (env.type == PROTO_MSG_FILE_PUT_OK) {
		proto_file_put_ok ok;
		if (proto_file_put_ok_decode(&body, &ok) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		return ok.whole ? filebundle_peer_has(db, peer, ok.sha) : OCOP_OK;
	}
	if (env.type == PROTO_MSG_FILE_DATA) {
		proto_file_data d;
		uint64_t held = 0;
		uint64_t before;
		bool whole = false;
		if (proto_file_data_decode(&body, &d) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		if (b == NULL) {
			return OCOP_OK; /* a node that takes no files from this reply */
		}
		if (proto_chunk_check(d.data, d.len, d.digest) != OCOP_OK) {
			st->chunks_refused++;
			return OCOP_OK;
		}
		if (sto_blobs_has(b, d.sha, NULL)) {
			return filebundle_peer_has(db, peer, d.sha); /* a file taken before: nothing to write */
		}
		before = sto_blobs_held(b, STO_BLOB_DOWN, d.sha);
		rv = sto_blobs_receive(b, STO_BLOB_DOWN, d.sha, d.size, d.offset, d.data, d.len, &held, &whole);
		if (rv == OCOP_ECORRUPT) {
			st->chunks_refused++; /* the whole did not hash to its name: dropped, fetched again later */
			return OCOP_OK;
		}
		if (rv != OCOP_OK) {
			return rv;
		}
		if (held > before) {
			st->bytes += held - before;
		} else if (whole && d.offset == before) {
			st->bytes += d.len;
		}
		if (whole) {
			st->files++;
			return filebundle_peer_has(db, peer, d.sha);
		}
		return OCOP_OK;
	}
	return OCOP_OK;
}
