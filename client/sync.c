/*
 * sync.c: the site side of a sync session (see sync.h).
 */
#include "client/sync.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/store/capture.h"
#include "common/store/ledger.h"
#include "common/store/log.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/session.h"

#define SYNC_SOFTWARE "ocop " OCOP_VERSION_STRING

static uint64_t
meta_u64(sto_db *db, const char *key)
{
	char *v = NULL;
	uint64_t n = 0;

	if (sto_meta_get(db, key, &v) == OCOP_OK) {
		n = strtoull(v, NULL, 10);
		com_free(v);
	}
	return n;
}

static int
meta_set_u64(sto_db *db, const char *key, uint64_t n)
{
	char v[32];

	snprintf(v, sizeof(v), "%" PRIu64, n);
	return sto_meta_set(db, key, v);
}

static void
sync_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int
cli_sync_pending(sto_db *db, uint64_t *pending)
{
	uint64_t last = 0;
	uint64_t hw = meta_u64(db, "push_high_water");
	int rv = sto_capture_last_seq(db, &last);

	*pending = last > hw ? last - hw : 0;
	return rv;
}

/*
 * One request/reply. On an ERROR reply, its code is returned and its text
 * copied to err; on success *body is positioned on the reply's body (borrowed
 * from reply) and *type is its message type.
 */
static int
sync_call(const cli_transport *t, com_buf *req, com_buf *reply, uint32_t want, proto_rd *body,
    char *err, size_t errlen)
{
	proto_env env;
	proto_error e;
	int rv;

	com_buf_reset(reply);
	rv = t->roundtrip(t->arg, req->data, req->len, reply);
	if (rv != OCOP_OK) {
		snprintf(err, errlen, "no reply from the server: %s", ocop_strerror(rv));
		return rv;
	}
	rv = proto_env_open(reply->data, reply->len, &env, body);
	if (rv != OCOP_OK) {
		snprintf(err, errlen, "malformed reply from the server");
		return OCOP_EPROTO;
	}
	if (env.type == PROTO_MSG_ERROR) {
		if (proto_error_decode(body, &e) != OCOP_OK) {
			snprintf(err, errlen, "malformed error reply from the server");
			return OCOP_EPROTO;
		}
		snprintf(err, errlen, "server refused: %s", e.text);
		return e.code == OCOP_OK || e.code >= OCOP_ERR_COUNT_ ? OCOP_EPROTO : (int)e.code;
	}
	if (env.type != want) {
		snprintf(err, errlen, "unexpected %s reply from the server", proto_msg_name(env.type));
		return OCOP_EPROTO;
	}
	return OCOP_OK;
}

int
cli_sync_build_push(sto_db *db, const char *credential, uint64_t hw, size_t budget, com_buf *req,
    uint32_t *count, uint64_t *last_seq)
{
	sto_log_it it;
	sto_logged e;
	proto_batch b;
	proto_push hdr;
	int rv;

	memset(&hdr, 0, sizeof(hdr));
	snprintf(hdr.site, sizeof(hdr.site), "%s", sto_site_id(db));
	snprintf(hdr.credential, sizeof(hdr.credential), "%s", credential ? credential : "");
	hdr.sender_hlc = sto_hlc(db)->last;
	com_buf_reset(req);
	if ((rv = proto_push_begin(&b, req, &hdr, budget)) != OCOP_OK) {
		return rv;
	}
	if ((rv = sto_log_open_own(&it, db, hw)) == OCOP_OK) {
		while ((rv = sto_log_next(&it, &e)) == OCOP_OK) {
			rv = proto_batch_add(&b, &e.c);
			if (rv != OCOP_OK) {
				break;
			}
			*last_seq = e.c.seq;
		}
	}
	sto_log_close(&it);
	if (rv != OCOP_ENOENT && rv != OCOP_ETOOBIG) {
		return rv;
	}
	*count = proto_batch_count(&b);
	return proto_push_end(&b);
}

int
cli_sync_apply_push_ok(sto_db *db, const proto_push_ok *ok, cli_sync_stats *s)
{
	proto_rejections_it it;
	proto_rejection r;
	uint64_t seen;
	int rv;

	if ((rv = sto_begin(db)) != OCOP_OK) {
		return rv;
	}
	proto_rejections_iter(&it, &ok->rejections);
	while ((rv = proto_rejections_next(&it, &r)) == OCOP_OK) {
		int code = r.code > 0 && r.code < OCOP_ERR_COUNT_ ? (int)r.code : OCOP_EAUTH;
		if ((rv = sto_refused_own(db, r.seq, code, r.reason)) != OCOP_OK) {
			break;
		}
		s->rejected++;
	}
	if (rv != OCOP_ENOENT && rv != OCOP_OK) {
		sto_rollback(db);
		return rv;
	}
	com_hlc_update(sto_hlc(db), ok->server_hlc, &seen);
	if ((rv = meta_set_u64(db, "push_high_water", ok->high_water)) != OCOP_OK ||
	    (rv = sto_meta_set_hlc(db)) != OCOP_OK || (rv = sto_commit(db)) != OCOP_OK) {
		sto_rollback(db);
		return rv;
	}
	return OCOP_OK;
}

static int
sync_push(sto_db *db, const cli_transport *t, const cli_sync_opts *o, uint64_t hw, size_t budget,
    int rounds, com_buf *req, com_buf *reply, cli_sync_stats *s, char *err, size_t errlen)
{
	proto_rd body;
	proto_push_ok ok;
	uint32_t count;
	uint64_t last;
	int rv;

	while (rounds-- > 0) {
		count = 0;
		last = hw;
		if ((rv = cli_sync_build_push(db, o->credential, hw, budget, req, &count, &last)) != OCOP_OK) {
			snprintf(err, errlen, "cannot build a batch: %s", ocop_strerror(rv));
			return rv;
		}
		if (count == 0) {
			return OCOP_OK;
		}
		if ((rv = sync_call(t, req, reply, PROTO_MSG_PUSH_OK, &body, err, errlen)) != OCOP_OK) {
			return rv;
		}
		if (proto_push_ok_decode(&body, &ok) != OCOP_OK) {
			snprintf(err, errlen, "malformed PUSH_OK from the server");
			return OCOP_EPROTO;
		}
		if (com_fault_hit(o->fault, "site.push.reply_received")) {
			snprintf(err, errlen, "crashed after the server's reply, before recording it");
			return OCOP_ECLOSED;
		}
		if ((rv = cli_sync_apply_push_ok(db, &ok, s)) != OCOP_OK) {
			return rv;
		}
		if (ok.high_water > hw) {
			s->pushed += ok.high_water - hw;
		}
		if (ok.high_water < last) {
			snprintf(err, errlen, "the server did not take the batch (high-water mark %" PRIu64 ")",
			    ok.high_water);
			return OCOP_EPROTO;
		}
		hw = ok.high_water;
		s->high_water = hw;
	}
	return OCOP_OK;
}

int
cli_sync_apply_pull_ok(sto_db *db, const sto_policy *pol, const proto_pull_ok *ok, bool move_cursor,
    cli_sync_stats *s, char *err, size_t errlen)
{
	proto_changes_it it;
	proto_change c;
	sto_verdict v;
	uint64_t seen;
	int rv;

	/* The changes and the cursor that covers them commit together. */
	if ((rv = sto_begin(db)) != OCOP_OK) {
		snprintf(err, errlen, "cannot apply the server's changes: %s", sto_errmsg(db));
		return rv;
	}
	proto_changes_iter(&it, &ok->changes);
	while ((rv = proto_changes_next(&it, &c)) == OCOP_OK) {
		if ((rv = sto_merge_apply(db, pol, NULL, &c, false, &v)) != OCOP_OK) {
			break;
		}
		s->pulled++;
		s->applied += v.outcome == STO_APPLIED;
		s->conflicts += v.conflicts;
	}
	if (rv != OCOP_ENOENT && rv != OCOP_OK) {
		snprintf(err, errlen, "cannot apply the server's changes: %s", sto_errmsg(db));
		sto_rollback(db);
		return rv;
	}
	com_hlc_update(sto_hlc(db), ok->server_hlc, &seen);
	if ((move_cursor && (rv = meta_set_u64(db, "pull_cursor", ok->next_cursor)) != OCOP_OK) ||
	    (rv = sto_meta_set_hlc(db)) != OCOP_OK || (rv = sto_commit(db)) != OCOP_OK) {
		snprintf(err, errlen, "cannot apply the server's changes: %s", sto_errmsg(db));
		sto_rollback(db);
		return rv;
	}
	return OCOP_OK;
}

static int
sync_pull(sto_db *db, const sto_policy *pol, const cli_transport *t, const cli_sync_opts *o,
    size_t budget, int rounds, com_buf *req, com_buf *reply, cli_sync_stats *s, char *err,
    size_t errlen)
{
	proto_rd body;
	proto_pull m;
	proto_pull_ok ok;
	proto_ack ack;
	uint64_t cursor = meta_u64(db, "pull_cursor");
	int rv;

	while (rounds-- > 0) {
		memset(&m, 0, sizeof(m));
		snprintf(m.site, sizeof(m.site), "%s", sto_site_id(db));
		snprintf(m.credential, sizeof(m.credential), "%s", o->credential ? o->credential : "");
		m.cursor = cursor;
		m.max_bytes = budget;
		com_buf_reset(req);
		if ((rv = proto_pull_encode(req, &m)) != OCOP_OK) {
			return rv;
		}
		if ((rv = sync_call(t, req, reply, PROTO_MSG_PULL_OK, &body, err, errlen)) != OCOP_OK) {
			return rv;
		}
		if (proto_pull_ok_decode(&body, &ok) != OCOP_OK) {
			snprintf(err, errlen, "malformed PULL_OK from the server");
			return OCOP_EPROTO;
		}
		if (ok.next_cursor < cursor) {
			snprintf(err, errlen, "the server's cursor went backwards");
			return OCOP_EPROTO;
		}
		/* Dying here or anywhere in the apply (one transaction) leaves nothing behind. */
		if (com_fault_hit(o->fault, "site.pull.reply_received")) {
			snprintf(err, errlen, "crashed before applying the server's changes");
			return OCOP_ECLOSED;
		}
		if ((rv = cli_sync_apply_pull_ok(db, pol, &ok, true, s, err, errlen)) != OCOP_OK) {
			return rv;
		}
		cursor = ok.next_cursor;
		s->cursor = cursor;
		if (!ok.more) {
			break;
		}
	}
	/* Tell the server how far this site got (for operators; not needed for correctness). */
	memset(&ack, 0, sizeof(ack));
	snprintf(ack.site, sizeof(ack.site), "%s", sto_site_id(db));
	snprintf(ack.credential, sizeof(ack.credential), "%s", o->credential ? o->credential : "");
	ack.cursor = cursor;
	com_buf_reset(req);
	if ((rv = proto_ack_encode(req, &ack)) != OCOP_OK) {
		return rv;
	}
	return sync_call(t, req, reply, PROTO_MSG_ACK_OK, &body, err, errlen);
}

static void
sync_record(sto_db *db, int rv, const char *err)
{
	char now[32];

	sync_now(now);
	if (rv == OCOP_OK) {
		sto_meta_set(db, "last_sync", now);
		sto_meta_set(db, "last_error", "");
	} else {
		char text[700];
		snprintf(text, sizeof(text), "%s: %s", now, err);
		sto_meta_set(db, "last_error", text);
	}
	sto_meta_set(db, "last_attempt", now);
}

void
cli_sync_hello(sto_db *db, const char *credential, proto_hello *h)
{
	memset(h, 0, sizeof(*h));
	snprintf(h->site, sizeof(h->site), "%s", sto_site_id(db));
	snprintf(h->credential, sizeof(h->credential), "%s", credential ? credential : "");
	h->protocol_version = PROTO_VERSION;
	h->schema_version = STO_SCHEMA_VERSION;
	snprintf(h->role, sizeof(h->role), "%s", sto_role(db));
	snprintf(h->software, sizeof(h->software), "%s", SYNC_SOFTWARE);
}

int
cli_sync_once(sto_db *db, const sto_policy *pol, const cli_transport *t, const cli_sync_opts *o,
    cli_sync_stats *s, char *err, size_t errlen)
{
	com_buf req;
	com_buf reply;
	proto_hello h;
	proto_hello_ok hok;
	proto_rd body;
	size_t budget;
	int rounds = o->max_rounds > 0 ? o->max_rounds : 10000;
	int rv;

	memset(s, 0, sizeof(*s));
	err[0] = 0;
	com_buf_init(&req);
	com_buf_init(&reply);
	cli_sync_hello(db, o->credential, &h);
	rv = proto_hello_encode(&req, &h);
	if (rv == OCOP_OK) {
		rv = sync_call(t, &req, &reply, PROTO_MSG_HELLO_OK, &body, err, errlen);
	}
	if (rv == OCOP_OK && proto_hello_ok_decode(&body, &hok) != OCOP_OK) {
		snprintf(err, errlen, "malformed HELLO_OK from the server");
		rv = OCOP_EPROTO;
	}
	if (rv == OCOP_OK) {
		budget = o->max_batch ? o->max_batch : (size_t)hok.max_batch_bytes;
		if (budget == 0 || budget > PROTO_MAX_MESSAGE / 2) {
			budget = PROTO_MAX_MESSAGE / 2;
		}
		sto_meta_set(db, "server_site", hok.server_site);
		s->high_water = hok.high_water;
		/* Push from what this site knows the server acknowledged, even if the
		 * server holds more: a reply lost on the way may have carried
		 * rejections, and the server reports them again for resent changes.
		 * A server restored from a backup (holding less) is caught up too. */
		{
			uint64_t known = meta_u64(db, "push_high_water");
			uint64_t from = known < hok.high_water ? known : hok.high_water;
			rv = sync_push(db, t, o, from, budget, rounds, &req, &reply, s, err, errlen);
		}
		if (rv == OCOP_OK) {
			rv = sync_pull(db, pol, t, o, budget, rounds, &req, &reply, s, err, errlen);
		}
		if (rv == OCOP_OK) {
			meta_set_u64(db, "push_high_water", s->high_water);
		}
	}
	sync_record(db, rv, err);
	com_buf_fini(&req);
	com_buf_fini(&reply);
	return rv;
}
