/*
 * bundle.c: the site's side of sneakernet (see bundle.h): the request bundle
 * is built from the same steps as an online session (client/sync.c), and a
 * reply is applied with the same steps, so the two paths cannot drift.
 */
#include "client/bundle.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/bundle.h"
#include "protocol/envelope.h"
#include "protocol/session.h"

/* A meta value as a number, 0 when absent. */
static uint64_t
bundle_meta_u64(sto_db *db, const char *key)
{
	char *v = NULL;
	uint64_t n = 0;

	if (sto_meta_get(db, key, &v) == OCOP_OK) {
		n = strtoull(v, NULL, 10);
		com_free(v);
	}
	return n;
}

/* The server this site syncs with (meta server_site), "" when unknown or not a UUID. */
static void
bundle_server_site(sto_db *db, char out[PROTO_UUID_LEN + 1])
{
	char *v = NULL;

	out[0] = 0;
	if (sto_meta_get(db, "server_site", &v) == OCOP_OK) {
		if (proto_uuid_valid(v, strlen(v))) {
			memcpy(out, v, PROTO_UUID_LEN + 1);
		}
		com_free(v);
	}
}

/* ===== Export ===== */

/* Add one encoded message to the bundle. */
static int
bundle_add_buf(proto_bundle_wr *bw, const com_buf *msg)
{
	return proto_bundle_add(bw, msg->data, msg->len);
}

/* After the rows: the file messages (common/store/filebundle.h). */
static int
bundle_export_files(sto_db *db, const cli_bundle_files *files, const char *server, proto_bundle_wr *bw,
    cli_bundle_export_stats *st, char *err, size_t errlen)
{
	sto_fileref *refs = NULL;
	size_t n = 0;
	int rv;

	if ((rv = sto_files_named(db, files->pol, sto_scope(db), sto_site_id(db), &refs, &n)) != OCOP_OK) {
		snprintf(err, errlen, "cannot list the files of this site's documents: %s", sto_errmsg(db));
		return rv;
	}
	/* No secret inside: the bundle's MAC authenticates its file messages as its rows. */
	rv = sto_filebundle_request(db, files->b, sto_site_id(db), NULL, server, refs, n, files->budget, bw,
	    &st->files);
	if (rv != OCOP_OK && rv != OCOP_ENOMEM) {
		snprintf(err, errlen, "cannot read a stored file: %s", sto_blobs_errmsg(files->b));
	}
	com_free(refs);
	return rv;
}

int
cli_bundle_export(sto_db *db, const char *credential, bool all, uint64_t created_ms, const cli_bundle_files *files,
    com_buf *out, cli_bundle_export_stats *st, char *err, size_t errlen)
{
	proto_bundle_hdr h;
	proto_bundle_wr bw;
	proto_hello hello;
	proto_ack ack;
	proto_pull pull;
	com_buf msg;
	uint8_t key[PROTO_BUNDLE_KEY];
	char seq[32];
	size_t mark = out->len;
	uint64_t hw;
	uint64_t last;
	uint32_t count;
	int rv;

	memset(st, 0, sizeof(*st));
	err[0] = 0;
	if (!proto_uuid_valid(sto_site_id(db), strlen(sto_site_id(db)))) {
		snprintf(err, errlen, "this database has no site identity: run 'ocop enrol' first");
		return OCOP_EINVAL;
	}
	if (credential == NULL || credential[0] == 0 || proto_bundle_key(credential, key) != OCOP_OK) {
		snprintf(err, errlen, "this site has no credential to authenticate a bundle: run 'ocop enrol' first");
		return OCOP_EINVAL;
	}
	memset(&h, 0, sizeof(h));
	h.kind = PROTO_BUNDLE_REQUEST;
	snprintf(h.site, sizeof(h.site), "%s", sto_site_id(db));
	bundle_server_site(db, h.server);
	h.created_ms = created_ms;
	/* Numbered before it is written, so no two files ever carry the same number. */
	h.seq = bundle_meta_u64(db, "bundle_seq") + 1;
	snprintf(seq, sizeof(seq), "%" PRIu64, h.seq);
	if ((rv = sto_meta_set(db, "bundle_seq", seq)) != OCOP_OK) {
		snprintf(err, errlen, "cannot number the bundle: %s", sto_errmsg(db));
		OPENSSL_cleanse(key, sizeof(key));
		return rv;
	}
	st->seq = h.seq;
	hw = all ? 0 : bundle_meta_u64(db, "push_high_water");
	st->cursor = bundle_meta_u64(db, "pull_cursor");
	com_buf_init(&msg);
	if ((rv = proto_bundle_begin(&bw, out, &h)) != OCOP_OK) {
		goto done;
	}
	/* The bundle's MAC authenticates its messages: no secret goes inside. */
	cli_sync_hello(db, NULL, &hello);
	if ((rv = proto_hello_encode(&msg, &hello)) != OCOP_OK || (rv = bundle_add_buf(&bw, &msg)) != OCOP_OK) {
		goto done;
	}
	/* Every pending change, in batches an online session would send. */
	for (;;) {
		count = 0;
		last = hw;
		if ((rv = cli_sync_build_push(db, NULL, hw, CLI_BUNDLE_BATCH, &msg, &count, &last)) != OCOP_OK) {
			snprintf(err, errlen, "cannot read this site's changes: %s", sto_errmsg(db));
			goto done;
		}
		if (count == 0) {
			break;
		}
		if ((rv = bundle_add_buf(&bw, &msg)) != OCOP_OK) {
			goto done;
		}
		if (st->first_seq == 0) {
			st->first_seq = hw + 1;
		}
		st->batches++;
		st->changes += count;
		st->last_seq = last;
		hw = last;
	}
	/* The ACK tells the server what this site holds; the PULL asks for the rest. */
	memset(&ack, 0, sizeof(ack));
	snprintf(ack.site, sizeof(ack.site), "%s", sto_site_id(db));
	ack.cursor = st->cursor;
	com_buf_reset(&msg);
	if ((rv = proto_ack_encode(&msg, &ack)) != OCOP_OK || (rv = bundle_add_buf(&bw, &msg)) != OCOP_OK) {
		goto done;
	}
	memset(&pull, 0, sizeof(pull));
	memcpy(pull.site, ack.site, sizeof(pull.site));
	memcpy(pull.credential, ack.credential, sizeof(pull.credential));
	pull.cursor = st->cursor;
	pull.max_bytes = 0; /* the server's default */
	com_buf_reset(&msg);
	if ((rv = proto_pull_encode(&msg, &pull)) != OCOP_OK || (rv = bundle_add_buf(&bw, &msg)) != OCOP_OK) {
		goto done;
	}
	/* The file messages go inside the authenticated part too: a forged or
	 * altered file record is refused with the whole bundle. */
	if (files != NULL && (rv = bundle_export_files(db, files, h.server, &bw, st, err, errlen)) != OCOP_OK) {
		goto done;
	}
	rv = proto_bundle_end(&bw, key);
done:
	OPENSSL_cleanse(key, sizeof(key));
	com_buf_fini(&msg);
	if (rv != OCOP_OK) {
		out->len = mark;
		if (err[0] == 0) {
			snprintf(err, errlen, "cannot write the bundle: %s", ocop_strerror(rv));
		}
	}
	return rv;
}

/* ===== Import ===== */

/* Wipe and free a secret string. Accepts NULL. */
static void
bundle_wipe(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		com_free(s);
	}
}

/* Format Unix milliseconds like the sync code's timestamps. */
static void
bundle_iso(uint64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		snprintf(out, 32, "1970-01-01T00:00:00Z");
	}
}

/* Check that the reply is this site's and from its server, before anything is applied. */
static int
bundle_check_reply(sto_db *db, const proto_bundle *b, char *err, size_t errlen)
{
	char server[PROTO_UUID_LEN + 1];

	if (b->hdr.kind != PROTO_BUNDLE_REPLY) {
		snprintf(err, errlen,
		    "this is a %s bundle written by a site, not a server's reply: take it to the server "
		    "('ocopd import')",
		    proto_bundle_kind_name(b->hdr.kind));
		return OCOP_EINVAL;
	}
	if (strcmp(b->hdr.site, sto_site_id(db)) != 0) {
		snprintf(err, errlen, "this reply is for site %s, but this database is site %s", b->hdr.site,
		    sto_site_id(db)[0] ? sto_site_id(db) : "(none)");
		return OCOP_ESITE;
	}
	bundle_server_site(db, server);
	if (server[0] != 0 && strcmp(server, b->hdr.server) != 0) {
		snprintf(err, errlen, "this reply is from server %s, but this site syncs with %s", b->hdr.server,
		    server);
		return OCOP_ESITE;
	}
	return OCOP_OK;
}

/* Apply one message of a verified reply. *from is where the next PULL_OK page starts. */
static int
bundle_apply(sto_db *db, const sto_policy *pol, const cli_bundle_files *files, const char *server, const uint8_t *m,
    size_t len, uint32_t type, uint64_t *from, cli_bundle_import_stats *st, char *err, size_t errlen)
{
	proto_env env;
	proto_rd body;
	proto_hello_ok hok;
	proto_push_ok pok;
	proto_pull_ok lok;
	uint64_t cur;
	uint64_t seen;
	bool move;
	int rv = OCOP_OK;

	/* The bundle was verified whole, so these decodes cannot fail; check anyway. */
	if (proto_env_open(m, len, &env, &body) != OCOP_OK) {
		snprintf(err, errlen, "malformed message in a verified bundle");
		return OCOP_EPROTO;
	}
	switch (type) {
	case PROTO_MSG_HELLO_OK:
		if (proto_hello_ok_decode(&body, &hok) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		com_hlc_update(sto_hlc(db), hok.server_hlc, &seen);
		st->sync.high_water = hok.high_water;
		if ((rv = sto_meta_set(db, "server_site", hok.server_site)) != OCOP_OK) {
			snprintf(err, errlen, "%s", sto_errmsg(db));
		}
		return rv;
	case PROTO_MSG_PUSH_OK:
		if (proto_push_ok_decode(&body, &pok) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		if ((rv = cli_sync_apply_push_ok(db, &pok, &st->sync)) != OCOP_OK) {
			snprintf(err, errlen, "cannot record the server's answer: %s", sto_errmsg(db));
			return rv;
		}
		if (pok.high_water > st->sync.high_water) {
			st->sync.pushed += pok.high_water - st->sync.high_water;
		}
		st->sync.high_water = pok.high_water;
		return OCOP_OK;
	case PROTO_MSG_PULL_OK:
		if (proto_pull_ok_decode(&body, &lok) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		/*
		 * A page covers (from, next_cursor]. The cursor may move over it only
		 * when this site already holds everything up to from; a reply older
		 * than what this site holds is merged (harmless duplicates) but never
		 * moves the cursor back.
		 */
		cur = bundle_meta_u64(db, "pull_cursor");
		move = *from <= cur && lok.next_cursor > cur;
		if ((rv = cli_sync_apply_pull_ok(db, pol, &lok, move, &st->sync, err, errlen)) != OCOP_OK) {
			return rv;
		}
		st->cursor_moved |= move;
		st->sync.cursor = move ? lok.next_cursor : cur;
		*from = lok.next_cursor;
		return OCOP_OK;
	case PROTO_MSG_FILES_OK:
	case PROTO_MSG_FILE_PUT_OK:
	case PROTO_MSG_FILE_DATA:
		if (files == NULL) {
			return OCOP_OK;
		}
		if ((rv = sto_filebundle_reply(db, files->b, server, m, len, &st->files)) != OCOP_OK) {
			snprintf(err, errlen, "cannot keep a file of the reply: %s", rv == OCOP_EDB ? sto_errmsg(db)
												  : sto_blobs_errmsg(files->b));
		}
		return rv;
	default:
		return OCOP_OK; /* ACK_OK: nothing to keep */
	}
}

int
cli_bundle_import(sto_db *db, const sto_policy *pol, const cli_bundle_files *files, const uint8_t *p, size_t len,
    cli_bundle_import_stats *st, char *err, size_t errlen)
{
	proto_bundle b;
	proto_bundle_it it;
	const uint8_t *m;
	size_t mlen;
	uint32_t type;
	uint64_t from;
	char *last = NULL;
	char *attempt = NULL;
	char *cred = NULL;
	uint8_t key[PROTO_BUNDLE_KEY];
	char when[32];
	char hw[32];
	char seq[32];
	int rv;

	memset(st, 0, sizeof(*st));
	err[0] = 0;
	/* This site's own key authenticates every byte before anything is read from the file. */
	if (sto_meta_get(db, "credential", &cred) != OCOP_OK || cred[0] == 0 || proto_bundle_key(cred, key) != OCOP_OK) {
		snprintf(err, errlen, "this site has no credential to check the reply with: run 'ocop enrol' first");
		bundle_wipe(cred);
		return OCOP_EINVAL;
	}
	bundle_wipe(cred);
	rv = proto_bundle_open(&b, p, len, key, err, errlen);
	OPENSSL_cleanse(key, sizeof(key));
	if (rv == OCOP_ECORRUPT) {
		/* Not this site's: say so when the (unauthenticated) header says why. */
		proto_bundle_hdr h;
		char why[64];
		if (proto_bundle_peek(&h, p, len, why, sizeof(why)) == OCOP_OK) {
			b.hdr = h;
			if (bundle_check_reply(db, &b, err, errlen) != OCOP_OK) {
				return h.kind != PROTO_BUNDLE_REPLY ? OCOP_EINVAL : OCOP_ESITE;
			}
		}
		return rv;
	}
	if (rv != OCOP_OK) {
		return rv;
	}
	if ((rv = bundle_check_reply(db, &b, err, errlen)) != OCOP_OK) {
		return rv;
	}
	/* A reply answers one request of this site, once, and never an older one after a newer. */
	if (b.hdr.seq > bundle_meta_u64(db, "bundle_seq")) {
		snprintf(err, errlen, "the reply answers request %" PRIu64 ", which this site never exported", b.hdr.seq);
		return OCOP_ESTATE;
	}
	if (b.hdr.seq <= bundle_meta_u64(db, "reply_seq")) {
		snprintf(err, errlen,
		    "the reply to request %" PRIu64 " was already imported (the last imported answers %" PRIu64
		    "): a replayed or older file changes nothing",
		    b.hdr.seq, bundle_meta_u64(db, "reply_seq"));
		return OCOP_ESTATE;
	}
	snprintf(st->server, sizeof(st->server), "%s", b.hdr.server);
	st->created_ms = b.hdr.created_ms;
	st->sync.cursor = bundle_meta_u64(db, "pull_cursor");
	from = b.hdr.pull_from;
	proto_bundle_iter(&it, &b);
	while ((rv = proto_bundle_next(&it, &m, &mlen, &type)) == OCOP_OK) {
		if ((rv = bundle_apply(db, pol, files, b.hdr.server, m, mlen, type, &from, st, err, errlen)) != OCOP_OK) {
			if (err[0] == 0) {
				snprintf(err, errlen, "cannot apply the reply: %s", ocop_strerror(rv));
			}
			return rv;
		}
	}
	if (rv != OCOP_ENOENT) {
		snprintf(err, errlen, "malformed message in a verified bundle");
		return rv;
	}
	/*
	 * As after an online session: the server's high-water mark is the truth
	 * about what it holds. The sync time is the reply's, so importing the same
	 * file again writes the same values, and a later online sync is kept.
	 */
	bundle_iso(b.hdr.created_ms, when);
	if ((rv = sto_begin(db)) != OCOP_OK) {
		snprintf(err, errlen, "%s", sto_errmsg(db));
		return rv;
	}
	snprintf(hw, sizeof(hw), "%" PRIu64, st->sync.high_water);
	snprintf(seq, sizeof(seq), "%" PRIu64, b.hdr.seq);
	rv = sto_meta_set(db, "push_high_water", hw);
	if (rv == OCOP_OK) {
		rv = sto_meta_set(db, "reply_seq", seq);
	}
	if (rv == OCOP_OK && sto_meta_get(db, "last_sync", &last) == OCOP_OK && strcmp(last, when) >= 0) {
		when[0] = 0; /* a later sync is already recorded */
	}
	if (rv == OCOP_OK && when[0] != 0) {
		rv = sto_meta_set(db, "last_sync", when);
	}
	/* An error of an online attempt made before the server wrote this reply is over. */
	if (rv == OCOP_OK && when[0] != 0 && sto_meta_get(db, "last_attempt", &attempt) == OCOP_OK &&
	    strcmp(attempt, when) <= 0) {
		rv = sto_meta_set(db, "last_error", "");
	}
	if (rv == OCOP_OK) {
		rv = sto_meta_set_hlc(db);
	}
	if (rv == OCOP_OK) {
		rv = sto_commit(db);
	}
	if (rv != OCOP_OK) {
		snprintf(err, errlen, "%s", sto_errmsg(db));
		sto_rollback(db);
	}
	com_free(last);
	com_free(attempt);
	return rv;
}
