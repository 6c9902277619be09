/*
 * sync.c: the site side of a sync session (see sync.h).
 */
#include "client/sync.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/link/session.h"
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
		proto_batch_abandon(&b);
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
sync_push(sto_db *db, lnk_session *ss, const cli_sync_opts *o, uint64_t hw, int rounds, cli_sync_stats *s)
{
	proto_push_ok ok;
	uint32_t count;
	uint64_t last;
	int rv;

	while (rounds-- > 0) {
		count = 0;
		last = hw;
		if ((rv = cli_sync_build_push(db, o->credential, hw, ss->budget, &ss->req, &count, &last)) != OCOP_OK) {
			snprintf(ss->err, ss->errlen, "cannot build a batch: %s", ocop_strerror(rv));
			return rv;
		}
		if (count == 0) {
			return OCOP_OK;
		}
		if ((rv = lnk_session_push(ss, &ss->req, &ok)) != OCOP_OK) {
			return rv;
		}
		if (com_fault_hit(o->fault, "site.push.reply_received")) {
			snprintf(ss->err, ss->errlen, "crashed after the server's reply, before recording it");
			return OCOP_ECLOSED;
		}
		if ((rv = cli_sync_apply_push_ok(db, &ok, s)) != OCOP_OK) {
			return rv;
		}
		if (ok.high_water > hw) {
			s->pushed += ok.high_water - hw;
		}
		if (ok.high_water < last) {
			snprintf(ss->err, ss->errlen, "the server did not take the batch (high-water mark %" PRIu64 ")",
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
	proto_changes_end(&it);
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

/* What a pulled page needs: where to merge it, and the session's counters. */
typedef struct sync_page_ctx {
	sto_db *db;              /* the replica */
	const sto_policy *pol;   /* its merge policy */
	const cli_sync_opts *o;  /* the fault seam */
	cli_sync_stats *s;       /* counters */
} sync_page_ctx;

/* Merge one page with the cursor that covers it (lnk_page_fn). */
static int
sync_page(void *arg, const proto_pull_ok *ok, char *err, size_t errlen)
{
	sync_page_ctx *p = arg;
	int rv;

	/* Dying here or anywhere in the apply (one transaction) leaves nothing behind. */
	if (com_fault_hit(p->o->fault, "site.pull.reply_received")) {
		snprintf(err, errlen, "crashed before applying the server's changes");
		return OCOP_ECLOSED;
	}
	if ((rv = cli_sync_apply_pull_ok(p->db, p->pol, ok, true, p->s, err, errlen)) != OCOP_OK) {
		return rv;
	}
	p->s->cursor = ok->next_cursor;
	return OCOP_OK;
}

void
cli_sync_record(sto_db *db, int rv, const char *err)
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
	lnk_session ss;
	lnk_session_opts so;
	sync_page_ctx pc;
	int rounds = o->max_rounds > 0 ? o->max_rounds : 10000;
	int rv;

	memset(s, 0, sizeof(*s));
	memset(&so, 0, sizeof(so));
	so.transport = t;
	so.site = sto_site_id(db);
	so.credential = o->credential;
	so.role = sto_role(db);
	so.software = SYNC_SOFTWARE;
	so.schema_version = STO_SCHEMA_VERSION;
	so.peer = "the server";
	so.max_batch = o->max_batch;
	lnk_session_init(&ss, &so, err, errlen);
	rv = lnk_session_hello(&ss);
	if (rv == OCOP_OK) {
		sto_meta_set(db, "server_site", ss.hello.server_site);
		s->high_water = ss.hello.high_water;
		/* Push from what this site knows the server acknowledged, even if the
		 * server holds more: a reply lost on the way may have carried
		 * rejections, and the server reports them again for resent changes.
		 * A server restored from a backup (holding less) is caught up too. */
		{
			uint64_t known = meta_u64(db, "push_high_water");
			uint64_t from = known < ss.hello.high_water ? known : ss.hello.high_water;
			rv = sync_push(db, &ss, o, from, rounds, s);
		}
		if (rv == OCOP_OK) {
			uint64_t cursor = meta_u64(db, "pull_cursor");
			pc.db = db;
			pc.pol = pol;
			pc.o = o;
			pc.s = s;
			s->cursor = cursor;
			rv = lnk_session_pull(&ss, &cursor, rounds, sync_page, &pc);
		}
		if (rv == OCOP_OK) {
			meta_set_u64(db, "push_high_water", s->high_water);
		}
	}
	cli_sync_record(db, rv, err);
	lnk_session_fini(&ss);
	return rv;
}
