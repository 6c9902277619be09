/*
 * files.c: a site's evidence files (files.h).
 */
#include "client/files.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/files.h"

#define FILES_DAY_S 86400
#define FILES_PARTIAL_DAYS 30 /* a fetch not continued this long starts again */

static uint64_t
files_meta_u64(sto_db *db, const char *key, uint64_t dflt)
{
	char *v = NULL;
	uint64_t n = dflt;

	if (sto_meta_get(db, key, &v) == OCOP_OK) {
		n = v[0] ? strtoull(v, NULL, 10) : dflt;
		com_free(v);
	}
	return n;
}

int
cli_files_open(sto_db *db, sto_blobs **out, char *err, size_t errlen)
{
	char dir[1100];
	int rv;

	*out = NULL;
	if ((rv = sto_blobs_dir_for(db, dir, sizeof(dir))) != OCOP_OK) {
		snprintf(err, errlen, "no place for evidence files beside this replica");
		return rv;
	}
	if ((rv = sto_blobs_open(out, dir)) != OCOP_OK) {
		snprintf(err, errlen, "cannot use %s for evidence files", dir);
		return rv;
	}
	if ((rv = sto_files_prepare(db)) != OCOP_OK) {
		snprintf(err, errlen, "cannot prepare the file bookkeeping: %s", sto_errmsg(db));
		sto_blobs_close(*out);
		*out = NULL;
	}
	return rv;
}

uint64_t
cli_files_max(sto_db *db)
{
	uint64_t n = files_meta_u64(db, "file_max_bytes", CLI_FILES_MAX_DEFAULT);

	return n > 0 ? n : CLI_FILES_MAX_DEFAULT;
}

int
cli_files_sync(sto_db *db, const sto_policy *pol, sto_blobs *b, const cli_transport *t, const cli_files_opts *o,
    sto_xfer_stats *st, char *err, size_t errlen)
{
	sto_xfer_link link = {t->roundtrip, t->arg};
	sto_xfer_opts xo;
	sto_fileref *refs = NULL;
	sto_files_gc_stats gs;
	char *peer = NULL;
	size_t n = 0;
	uint64_t days;
	int rv;

	memset(st, 0, sizeof(*st));
	err[0] = 0;
	if ((rv = sto_files_named(db, pol, sto_scope(db), sto_site_id(db), &refs, &n)) != OCOP_OK) {
		snprintf(err, errlen, "cannot list the files of this site's documents: %s", sto_errmsg(db));
		return rv;
	}
	sto_meta_get(db, "server_site", &peer);
	memset(&xo, 0, sizeof(xo));
	xo.site = sto_site_id(db);
	xo.credential = o->credential;
	xo.peer = peer;
	xo.send = o->send;
	xo.fetch = o->fetch;
	xo.chunk_bytes = o->chunk_bytes;
	xo.deadline_ms = o->deadline_ms;
	xo.progress = o->progress;
	xo.progress_arg = o->progress_arg;
	xo.fault = o->fault;
	rv = sto_xfer_run(db, b, &link, &xo, refs, n, st, err, errlen);
	com_free(refs);
	com_free(peer);
	if (st->server_max_file > 0) {
		char v[32];
		snprintf(v, sizeof(v), "%" PRIu64, st->server_max_file);
		sto_meta_set(db, "file_max_bytes", v);
		snprintf(v, sizeof(v), "%u", st->server_retention_days);
		sto_meta_set(db, "file_retention_days", v);
	}
	if (rv == OCOP_OK) {
		/* A file the server refused (too big, no room) or that failed its check: say which, for 'ocop status'. */
		sto_meta_set(db, "file_refusal", st->files_refused > 0 ? err : "");
		err[0] = 0;
		/* The province sets how long a file nothing names is kept; the site follows it. */
		days = files_meta_u64(db, "file_retention_days", CLI_FILES_RETENTION_DEFAULT);
		if (sto_files_gc(db, b, (int64_t)days * FILES_DAY_S, (int64_t)FILES_PARTIAL_DAYS * FILES_DAY_S,
			(int64_t)time(NULL), &gs) != OCOP_OK) {
			snprintf(err, errlen, "cannot release unnamed files: %s", sto_errmsg(db));
			return OCOP_EDB;
		}
	}
	return rv;
}

void
cli_files_pending(sto_db *db, const sto_policy *pol, sto_blobs *b, sto_files_count *in, sto_files_count *out)
{
	sto_fileref *refs = NULL;
	char *peer = NULL;
	size_t n = 0;

	memset(in, 0, sizeof(*in));
	memset(out, 0, sizeof(*out));
	if (sto_files_named(db, pol, sto_scope(db), sto_site_id(db), &refs, &n) != OCOP_OK) {
		return;
	}
	sto_meta_get(db, "server_site", &peer);
	sto_files_pending(db, b, refs, n, peer, in, out);
	com_free(peer);
	com_free(refs);
}

void
cli_file_state_of(sto_db *db, sto_blobs *b, const char *sha_hex, int64_t size, cli_file_state *out)
{
	uint8_t sha[PROTO_SHA256_LEN];
	char *peer = NULL;
	uint64_t have = 0;

	memset(out, 0, sizeof(*out));
	out->state = "none";
	if (sha_hex == NULL || proto_sha_parse(sha_hex, sha) != OCOP_OK || size < 0) {
		return;
	}
	out->size = (uint64_t)size;
	sto_meta_get(db, "server_site", &peer);
	out->at_server = peer != NULL && sto_files_peer_has(db, peer, sha);
	com_free(peer);
	if (sto_blobs_has(b, sha, &have)) {
		out->state = "present";
		out->held = have;
		return;
	}
	out->held = sto_blobs_held(b, STO_BLOB_DOWN, sha);
	out->state = out->held > 0 ? "in transit" : "missing";
}

