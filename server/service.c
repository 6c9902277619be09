/*
 * service.c: HELLO, PUSH, PULL and ACK on the server's replica.
 *
 * A PUSH is applied in one transaction together with the site's new
 * high-water mark, so a crash before the commit loses the batch and the
 * site resends it, and a crash after the commit makes the resend a set of
 * duplicates: either way every change takes effect exactly once.
 */
#include "server/service.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/ocop/scope.h"
#include "common/store/capture.h"
#include "common/store/ledger.h"
#include "common/store/log.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/session.h"
#include "server/files.h"
#include "server/guard.h"
#include "server/handoff.h"
#include "server/metrics.h"
#include "server/pool.h"
#include "server/registry.h"

#define SRV_PULL_SCAN 5000 /* log rows examined per PULL at most */

void
srv_service_init(srv_service *s, sto_db *db, const sto_policy *policy, const com_log *log)
{
	memset(s, 0, sizeof(*s));
	s->db = db;
	s->policy = policy;
	s->log = log;
	s->max_batch = SRV_DEFAULT_BATCH;
	(void)sto_set_serving(db, true); /* a failure shows as a clear error at the first move */
}

size_t
srv_service_batch(const srv_service *s)
{
	int n = atomic_load(&s->links);
	size_t share;

	if (s->batch_memory == 0 || n <= 1) {
		return s->max_batch;
	}
	share = s->batch_memory / (2u * (size_t)n); /* a request and a reply per connection */
	if (share < SRV_MIN_BATCH) {
		share = SRV_MIN_BATCH;
	}
	return share < s->max_batch ? share : s->max_batch;
}

/* An ERROR reply framed in protocol `version` (a peer of another version reads it too). */
static int
service_error_v(srv_service *s, com_buf *reply, uint32_t version, int code, const char *text)
{
	s->errors++;
	com_logf(s->log, COM_LOG_WARN, "refused request: %s (%s)", text, ocop_errname(code));
	return proto_error_encode_v(reply, version, code, text);
}

static int
service_error(srv_service *s, com_buf *reply, int code, const char *text)
{
	return service_error_v(s, reply, PROTO_VERSION, code, text);
}

/* Refuse a request for its identity: one reply for every cause, the cause in the (bounded) log. */
static int
service_auth_fail(srv_service *s, const srv_caller *who, com_buf *reply, const char *detail)
{
	s->errors++;
	s->auth_failures++;
	srv_guard_fail(s->guard, who ? who->addr : NULL, detail);
	return proto_error_encode(reply, OCOP_EAUTH, "authentication failed: unknown site or wrong credential");
}

/*
 * Authenticate a request claiming to be from site (see srv_handle_from); on
 * failure the ERROR reply is already written and *ok is false.
 */
static int
service_auth(srv_service *s, sto_db *db, const srv_caller *who, const char *site, const char *cred, srv_peer *peer,
    com_buf *reply, bool *ok)
{
	static const srv_caller local = {SRV_VIA_LOCAL, "", NULL, NULL, NULL};
	char detail[256];
	char text[320];
	uint64_t retry = 0;
	int rv;

	*ok = false;
	if (who == NULL) {
		who = &local;
	}
	if (srv_guard_blocked(s->guard, who->addr, &retry)) {
		s->errors++;
		s->auth_failures++;
		snprintf(text, sizeof(text), "too many failed attempts from %s: try again in %llu s", who->addr,
		    (unsigned long long)retry);
		return proto_error_encode(reply, OCOP_EAUTH, text);
	}
	if (who->via == SRV_VIA_TLS) {
		/* The certificate first: it was verified by the handshake, and a
		 * laptop holding a replaced one deserves to be told so. */
		if (who->cert_site == NULL || strcmp(who->cert_site, site) != 0) {
			snprintf(detail, sizeof(detail), "the certificate of site %s was presented for site %s",
			    who->cert_site ? who->cert_site : "?", site);
			return service_auth_fail(s, who, reply, detail);
		}
		rv = srv_registry_get(db, site, peer);
		if (rv == OCOP_OK && peer->auth.cert_sha256[0] != 0 &&
		    (who->cert_sha256 == NULL || strcmp(who->cert_sha256, peer->auth.cert_sha256) != 0)) {
			snprintf(detail, sizeof(detail), "site %s presented a certificate that was replaced on %s",
			    site, peer->auth.rotated[0] ? peer->auth.rotated : "rotation");
			srv_guard_fail(s->guard, who->addr, detail);
			s->errors++;
			s->auth_failures++;
			snprintf(text, sizeof(text),
			    "this certificate of site %s was replaced on %s: enrol with the new enrolment file", site,
			    peer->auth.rotated[0] ? peer->auth.rotated : "rotation");
			return proto_error_encode(reply, OCOP_EAUTH, text);
		}
	}
	if (who->via == SRV_VIA_BUNDLE) {
		if (who->site == NULL || strcmp(who->site, site) != 0) {
			snprintf(detail, sizeof(detail), "a bundle of site %s carries a request of site %s",
			    who->site ? who->site : "?", site);
			return service_auth_fail(s, who, reply, detail);
		}
		rv = srv_registry_get(db, site, peer);
	} else {
		rv = srv_registry_auth(db, site, cred, peer);
	}
	if (rv == OCOP_ESITE || rv == OCOP_EAUTH) {
		snprintf(detail, sizeof(detail), rv == OCOP_ESITE ? "unknown site %s" : "wrong credential for site %s",
		    site);
		return service_auth_fail(s, who, reply, detail);
	}
	if (rv != OCOP_OK) {
		return service_error(s, reply, OCOP_EDB, "server database error");
	}
	if (peer->auth.revoked[0] != 0) {
		snprintf(detail, sizeof(detail), "revoked site %s (%s) tried to sync", site, peer->name);
		srv_guard_fail(s->guard, who->addr, detail);
		s->errors++;
		s->auth_failures++;
		snprintf(text, sizeof(text), "site %s was revoked on %s%s%.120s%s: it can no longer sync; ask the %s office",
		    site, peer->auth.revoked, peer->auth.revoked_reason[0] ? " (" : "", peer->auth.revoked_reason,
		    peer->auth.revoked_reason[0] ? ")" : "", sto_role(db));
		return proto_error_encode(reply, OCOP_EREVOKED, text);
	}
	*ok = true;
	return OCOP_OK;
}

int
srv_service_auth(srv_service *s, sto_db *db, const srv_caller *who, const char *site, const char *credential,
    srv_peer *peer, com_buf *reply, bool *ok)
{
	return service_auth(s, db, who, site, credential, peer, reply, ok);
}

int
srv_service_error(srv_service *s, com_buf *reply, int code, const char *text)
{
	return service_error(s, reply, code, text);
}

/* ===== HELLO ===== */

/*
 * This server's clock as a reader sees it: the writer keeps it in memory
 * and in meta, so a read connection takes the larger of its own and meta's.
 */
static uint64_t
service_hlc(srv_service *s, sto_db *db)
{
	char *v = NULL;
	uint64_t hlc = sto_hlc(db)->last;

	if (db != s->db && sto_meta_get(db, "hlc", &v) == OCOP_OK) {
		uint64_t m = strtoull(v, NULL, 10);
		hlc = m > hlc ? m : hlc;
		com_free(v);
	}
	return hlc;
}

static int
service_hello(srv_service *s, sto_db *db, const srv_caller *who, proto_rd *body, com_buf *reply)
{
	proto_hello m;
	proto_hello_ok ok;
	srv_peer peer;
	bool authed;
	int rv;

	if (proto_hello_decode(body, &m) != OCOP_OK) {
		return service_error(s, reply, OCOP_EPROTO, "malformed HELLO");
	}
	if ((rv = service_auth(s, db, who, m.site, m.credential, &peer, reply, &authed)) != OCOP_OK || !authed) {
		return rv;
	}
	if (m.schema_version != STO_SCHEMA_VERSION) {
		char text[128];
		snprintf(text, sizeof(text), "schema version %u is not this server's (%d): upgrade",
		    m.schema_version, STO_SCHEMA_VERSION);
		return service_error(s, reply, OCOP_EVERSION, text);
	}
	if (strcmp(m.role, peer.role) != 0) {
		char text[160];
		snprintf(text, sizeof(text), "site %s is registered as %s, not %s", m.site, peer.role, m.role);
		return service_error(s, reply, OCOP_EAUTH, text);
	}
	memset(&ok, 0, sizeof(ok));
	snprintf(ok.server_site, sizeof(ok.server_site), "%s", sto_site_id(s->db));
	snprintf(ok.server_role, sizeof(ok.server_role), "%s", sto_role(s->db));
	ok.server_hlc = service_hlc(s, db);
	ok.high_water = peer.high_water;
	ok.max_batch_bytes = srv_service_batch(s);
	ok.schema_version = STO_SCHEMA_VERSION;
	ok.cursor = peer.cursor;
	com_logf(s->log, COM_LOG_INFO, "HELLO from %s (%s, %s)", m.site, peer.role, peer.name);
	return proto_hello_ok_encode(reply, &ok);
}

/* ===== PUSH ===== */

/*
 * After a rejection the sender still holds its refused values. Re-assert the
 * server's values for those cells just above the refused write's HLC, as a
 * change of the server's own, so the sender's next pull overwrites them and
 * every replica converges on the server's state. A refused insert of a row
 * the server never had becomes a tombstone.
 */
static int
service_reassert(srv_service *s, const proto_change *c, const char *to_site)
{
	const sto_table *t = sto_schema_table(c->tbl);
	sto_row r;
	bool exists;
	int rv;

	if (t == NULL) {
		return OCOP_OK; /* nothing of it can stand anywhere */
	}
	if ((rv = sto_row_load(s->db, t, c->row, &r)) != OCOP_OK) {
		return rv;
	}
	exists = r.exists;
	sto_row_fini(&r);
	/* Above this server's clock, never above the refused write's own (possibly
	 * far-ahead) HLC: the sender drops its refused versions itself. Only the
	 * tombstone of a row that never existed here (it carries nothing but what
	 * the sender sent) is addressed to the sender whatever its scope: the
	 * current values of a row outside its scope are none of its business. */
	return sto_reassert(s->db, c->tbl, c->row, c->cells, c->cells_len, sto_hlc(s->db)->last, !exists,
	    exists ? NULL : to_site);
}

/* ===== Relay PUSH (a province at the national server) ===== */

/* Was (site, seq) refused here before? Then a resend is answered, not re-asserted again. */
static int
service_refused_before(srv_service *s, const proto_change *c, bool *before)
{
	return sto_refusal_find(s->db, c->site, c->seq, NULL, NULL, 0, before);
}

/* Remember which peer delivered a relayed change, so it is never sent back to it. */
static int
service_set_via(srv_service *s, const proto_change *c, const char *via)
{
	return sto_log_mark(s->db, c->site, c->seq, "via", via);
}

/*
 * Apply one relayed change, judged as the province may make it: the
 * authority the province lends (relay_policy) and the province's own scope.
 * *index is the record's position in the PUSH (its "seq" in a rejection).
 */
static int
service_relay_one(srv_service *s, const srv_peer *peer, const proto_change *c, uint64_t index,
    proto_wr *rw, proto_push_ok *ok)
{
	sto_writer w = {c->site, peer->role, peer->scope};
	sto_verdict v;
	bool before = false;
	int rv;

	if ((rv = service_refused_before(s, c, &before)) != OCOP_OK) {
		return rv;
	}
	if ((rv = sto_merge_apply(s->db, s->relay_policy, &w, c, true, &v)) != OCOP_OK) {
		return rv;
	}
	if (v.outcome == STO_APPLIED) {
		if ((rv = service_set_via(s, c, peer->site)) != OCOP_OK ||
		    (rv = sto_handoff_note_arrival(s->db, c->tbl, c->row, peer->site)) != OCOP_OK) {
			return rv;
		}
		ok->applied++;
	} else if (v.outcome == STO_DUPLICATE) {
		ok->duplicates++;
	} else {
		proto_rejection_put(rw, index, (uint32_t)v.code, v.reason);
		ok->rejections.count++;
		if (!before) {
			com_logf(s->log, COM_LOG_WARN, "relay from %s: refused %s seq %llu (%s %s, %s): %s", peer->site,
			    c->site, (unsigned long long)c->seq, c->tbl, c->row, sto_rule_name(v.code), v.reason);
			if ((rv = service_reassert(s, c, peer->site)) != OCOP_OK) {
				return rv;
			}
		}
	}
	return OCOP_OK;
}

/*
 * A province relays its candidates' trees: changes of many writers, not a
 * dense run of its own. Each is applied once (duplicates by (site, seq)),
 * judged with the authority the province lends (relay_policy) and refused when
 * its row falls outside the province's scope. PUSH_OK's high_water echoes the
 * number of records processed, and a rejection's seq is the record's position
 * in the PUSH (PROTOCOL.md 4.5). The province's own high-water mark is not
 * touched: it is not a dense sender here.
 */
static int
service_relay_push(srv_service *s, const proto_push *m, const srv_peer *peer, com_buf *reply)
{
	proto_push_ok ok;
	proto_changes_it it;
	proto_change c;
	com_buf rej;
	proto_wr rw;
	uint64_t n = 0;
	int rv;

	memset(&ok, 0, sizeof(ok));
	com_buf_init(&rej);
	proto_wr_init(&rw, &rej);
	if ((rv = sto_begin(s->db)) != OCOP_OK) {
		com_buf_fini(&rej);
		return service_error(s, reply, OCOP_EDB, "server database busy");
	}
	proto_changes_iter(&it, &m->changes);
	while ((rv = proto_changes_next(&it, &c)) == OCOP_OK) {
		if ((rv = service_relay_one(s, peer, &c, ++n, &rw, &ok)) != OCOP_OK) {
			break;
		}
	}
	proto_changes_end(&it);
	if (rv != OCOP_ENOENT) {
		sto_rollback(s->db);
		com_buf_fini(&rej);
		com_logf(s->log, COM_LOG_ERROR, "relay PUSH from %s failed: %s", m->site, sto_errmsg(s->db));
		return service_error(s, reply, rv == OCOP_EPROTO ? OCOP_EPROTO : OCOP_EDB,
		    "the server could not apply this batch; resend later");
	}
	if (com_fault_hit(s->fault, "server.relay.before_commit")) {
		sto_rollback(s->db);
		com_buf_fini(&rej);
		return OCOP_ECLOSED;
	}
	if ((rv = sto_meta_set_hlc(s->db)) != OCOP_OK || (rv = sto_commit(s->db)) != OCOP_OK) {
		sto_rollback(s->db);
		com_buf_fini(&rej);
		return service_error(s, reply, OCOP_EDB, "the server could not commit this batch");
	}
	ok.high_water = n;
	ok.server_hlc = sto_hlc(s->db)->last;
	ok.rejections.p = rej.data;
	ok.rejections.len = rej.len;
	if (proto_wr_error(&rw) != OCOP_OK) {
		com_buf_fini(&rej);
		return OCOP_ENOMEM;
	}
	com_logf(s->log, COM_LOG_INFO, "relay PUSH from %s: %llu records, %llu applied, %llu duplicates, %u rejected",
	    m->site, (unsigned long long)n, (unsigned long long)ok.applied, (unsigned long long)ok.duplicates,
	    ok.rejections.count);
	rv = proto_push_ok_encode(reply, &ok);
	com_buf_fini(&rej);
	return rv;
}

/* Is this PUSH a province relaying to the national server? */
static bool
service_is_relay(const srv_service *s, const srv_peer *peer)
{
	return s->relay_policy != NULL && strcmp(sto_role(s->db), "national") == 0 &&
	    strcmp(peer->role, "province") == 0;
}

static int
service_push(srv_service *s, const srv_caller *who, proto_rd *body, com_buf *reply)
{
	proto_push m;
	proto_push_ok ok;
	proto_changes_it it;
	proto_change c;
	srv_peer peer;
	sto_writer w;
	com_buf rej;
	proto_wr rw;
	uint64_t hw;
	bool authed;
	int rv;
	sto_verdict v;

	if (proto_push_decode(body, &m) != OCOP_OK) {
		return service_error(s, reply, OCOP_EPROTO, "malformed PUSH");
	}
	if ((rv = service_auth(s, s->db, who, m.site, m.credential, &peer, reply, &authed)) != OCOP_OK || !authed) {
		return rv;
	}
	if (service_is_relay(s, &peer)) {
		return service_relay_push(s, &m, &peer, reply);
	}
	memset(&ok, 0, sizeof(ok));
	com_buf_init(&rej);
	proto_wr_init(&rw, &rej);
	if ((rv = sto_begin(s->db)) != OCOP_OK) {
		com_buf_fini(&rej);
		return service_error(s, reply, OCOP_EDB, "server database busy");
	}
	hw = peer.high_water;
	w.site = peer.site;
	w.role = peer.role;
	w.scope = peer.scope;
	proto_changes_iter(&it, &m.changes);
	while ((rv = proto_changes_next(&it, &c)) == OCOP_OK) {
		if (strcmp(c.site, m.site) != 0) {
			/* Another site's change in this site's batch: a tampered client.
			 * Refused and ledgered under the sender, never applied. */
			char why[200];
			snprintf(why, sizeof(why), "site %s may only push its own changes, not one of site %s", m.site,
			    c.site);
			com_logf(s->log, COM_LOG_WARN, "refused %s seq %llu (%s %s, identity): %s", m.site,
			    (unsigned long long)c.seq, c.tbl, c.row, why);
			if ((rv = sto_ledger_refusal(s->db, c.tbl, c.row, "site", OCOP_ESITE, why, NULL, c.hlc, m.site,
				 c.seq)) != OCOP_OK) {
				break;
			}
			proto_rejection_put(&rw, c.seq, OCOP_ESITE, why);
			ok.rejections.count++;
			continue;
		}
		if (c.seq <= hw) {
			/* A resend. Report an earlier rejection again so it is never lost. */
			sto_merge_apply(s->db, s->policy, &w, &c, true, &v);
			if (v.outcome == STO_REJECTED) {
				proto_rejection_put(&rw, c.seq, (uint32_t)v.code, v.reason);
				ok.rejections.count++;
			}
			ok.duplicates++;
			continue;
		}
		if (c.seq != hw + 1) {
			break; /* a gap: stop here; the site resends from the high-water mark */
		}
		rv = sto_merge_apply(s->db, s->policy, &w, &c, true, &v);
		if (rv != OCOP_OK) {
			break;
		}
		if (v.outcome == STO_REJECTED) {
			com_logf(s->log, COM_LOG_WARN, "refused %s seq %llu (%s %s, %s): %s", c.site,
			    (unsigned long long)c.seq, c.tbl, c.row, sto_rule_name(v.code), v.reason);
			proto_rejection_put(&rw, c.seq, (uint32_t)v.code, v.reason);
			ok.rejections.count++;
			if ((rv = service_reassert(s, &c, m.site)) != OCOP_OK) {
				break;
			}
		} else if (v.outcome == STO_APPLIED) {
			ok.applied++;
		} else {
			ok.duplicates++;
		}
		hw = c.seq;
	}
	proto_changes_end(&it);
	if (rv != OCOP_ENOENT && rv != OCOP_OK) {
		sto_rollback(s->db);
		com_buf_fini(&rej);
		com_logf(s->log, COM_LOG_ERROR, "PUSH from %s failed: %s", m.site, sto_errmsg(s->db));
		return service_error(s, reply, rv == OCOP_EPROTO ? OCOP_EPROTO : OCOP_EDB,
		    "the server could not apply this batch; resend later");
	}
	if (com_fault_hit(s->fault, "server.push.before_commit")) {
		sto_rollback(s->db);
		com_buf_fini(&rej);
		return OCOP_ECLOSED;
	}
	if ((rv = srv_registry_set_high_water(s->db, m.site, hw)) != OCOP_OK ||
	    (rv = sto_meta_set_hlc(s->db)) != OCOP_OK || (rv = sto_commit(s->db)) != OCOP_OK) {
		sto_rollback(s->db);
		com_buf_fini(&rej);
		return service_error(s, reply, OCOP_EDB, "the server could not commit this batch");
	}
	ok.high_water = hw;
	ok.server_hlc = sto_hlc(s->db)->last;
	ok.rejections.p = rej.data;
	ok.rejections.len = rej.len;
	if (proto_wr_error(&rw) != OCOP_OK) {
		com_buf_fini(&rej);
		return OCOP_ENOMEM;
	}
	com_logf(s->log, COM_LOG_INFO, "PUSH from %s: %llu applied, %llu duplicates, %u rejected, hw %llu",
	    m.site, (unsigned long long)ok.applied, (unsigned long long)ok.duplicates,
	    ok.rejections.count, (unsigned long long)hw);
	rv = proto_push_ok_encode(reply, &ok);
	com_buf_fini(&rej);
	return rv;
}

/* ===== PULL ===== */

/*
 * Does a site of `scope` see a row of unit `code`? A row of no unit
 * (reference data) goes everywhere; otherwise the one scope matcher decides.
 */
static bool
service_in_scope(srv_service *s, sto_db *db, const char *scope, const char *code)
{
	if (code[0] == 0) {
		return true;
	}
	return s->policy != NULL && s->policy->covers != NULL ? s->policy->covers(s->policy->arg, db, scope, code)
							     : ocp_scope_covers(scope, code);
}

/*
 * One page of the log for a site: what it may see after its cursor, in log
 * order, up to the byte budget. Its own changes and what it relayed are
 * skipped inside the store (sto_log_open); the rest is judged by scope here. When
 * the log is read to its end the cursor moves to the end, past the site's own
 * history, so the next PULL does not read it again.
 */
static int
service_pull(srv_service *s, sto_db *db, const srv_caller *who, proto_rd *body, com_buf *reply)
{
	proto_pull m;
	proto_batch b;
	srv_peer peer;
	sto_log_filter f;
	sto_log_it it;
	sto_logged e;
	uint64_t next;
	uint64_t max;
	bool authed;
	bool more = false;
	int scanned = 0;
	int rv;

	if (proto_pull_decode(body, &m) != OCOP_OK) {
		return service_error(s, reply, OCOP_EPROTO, "malformed PULL");
	}
	if ((rv = service_auth(s, db, who, m.site, m.credential, &peer, reply, &authed)) != OCOP_OK || !authed) {
		return rv;
	}
	max = srv_service_batch(s);
	max = m.max_bytes && m.max_bytes < max ? m.max_bytes : max;
	next = m.cursor;
	if ((rv = proto_pull_ok_begin(&b, reply, max)) != OCOP_OK) {
		return rv;
	}
	/* A site has its own changes already (unless this server clamped one:
	 * the echo tells it the version every replica holds), and a relaying
	 * peer what it relayed: the log skips them in SQL. */
	memset(&f, 0, sizeof(f));
	f.after_lsn = m.cursor;
	f.peer = m.site;
	f.row_scope = true;
	if ((rv = sto_log_open(&it, db, &f)) == OCOP_OK) {
		while ((rv = sto_log_next(&it, &e)) == OCOP_OK) {
			if (++scanned > SRV_PULL_SCAN) {
				more = true;
				break;
			}
			/* The change that moved a row out of this site's scope goes to it
			 * too, so the site learns that the row left (move.c), and so does
			 * the change addressed to it (to_site). */
			if (service_in_scope(s, db, peer.scope, e.row_scope) || strcmp(e.to_site, m.site) == 0 ||
			    (e.scope != NULL && service_in_scope(s, db, peer.scope, e.scope))) {
				rv = proto_batch_add(&b, &e.c);
				if (rv == OCOP_ETOOBIG) {
					more = true;
					rv = OCOP_OK;
					break;
				}
				if (rv != OCOP_OK) {
					break;
				}
			}
			next = e.lsn;
		}
		if (rv == OCOP_ENOENT) {
			/* Read to the end of this snapshot: nothing more for this site up to its end. */
			rv = OCOP_OK;
			next = sto_log_end(&it) > next ? sto_log_end(&it) : next;
		}
	}
	if (rv != OCOP_OK) {
		com_logf(s->log, COM_LOG_ERROR, "PULL from %s: %s", m.site, sto_errmsg(db));
	}
	sto_log_close(&it);
	if (rv != OCOP_OK) {
		proto_batch_abandon(&b);
		reply->len = b.start; /* no half-written PULL_OK before the error */
		return rv == OCOP_ENOMEM ? rv : service_error(s, reply, OCOP_EDB, "server database error");
	}
	return proto_pull_ok_end(&b, next, more, service_hlc(s, db));
}

/* ===== ACK ===== */

static int
service_ack(srv_service *s, const srv_caller *who, proto_rd *body, com_buf *reply)
{
	proto_ack m;
	proto_ack_ok ok;
	srv_peer peer;
	bool authed;
	int rv;

	if (proto_ack_decode(body, &m) != OCOP_OK) {
		return service_error(s, reply, OCOP_EPROTO, "malformed ACK");
	}
	if ((rv = service_auth(s, s->db, who, m.site, m.credential, &peer, reply, &authed)) != OCOP_OK || !authed) {
		return rv;
	}
	if (srv_registry_set_cursor(s->db, m.site, m.cursor) != OCOP_OK) {
		return service_error(s, reply, OCOP_EDB, "server database error");
	}
	ok.cursor = m.cursor > peer.cursor ? m.cursor : peer.cursor;
	return proto_ack_ok_encode(reply, &ok);
}

/* ===== Dispatch ===== */

/*
 * Is this PUSH past the limit the server advertised, on the wire or once
 * inflated? A batch of one record may be (a change is never split); a body
 * that does not even weigh is left for the decoder to refuse.
 */
static bool
service_push_too_big(const srv_service *s, const proto_rd *body, size_t len, uint64_t *size)
{
	uint32_t count = 0;

	*size = 0;
	if (proto_push_peek(body, &count, size) != OCOP_OK) {
		return false;
	}
	return count > 1 && (len > s->max_batch || *size > s->max_batch);
}

/*
 * HELLO or PULL on a read connection of the pool (or db without one), in a
 * read transaction, so a page and the scope lookups that filter it see one
 * snapshot while the writer goes on.
 */
static int
service_read(srv_service *s, const srv_caller *who, uint32_t type, proto_rd *body, com_buf *reply)
{
	sto_db *db = s->pool != NULL ? srv_pool_take(s->pool) : s->db;
	bool txn = sto_exec(db, "BEGIN") == OCOP_OK;
	int rv;

	rv = type == PROTO_MSG_HELLO ? service_hello(s, db, who, body, reply) : service_pull(s, db, who, body, reply);
	if (txn) {
		sto_exec(db, "COMMIT");
	}
	if (s->pool != NULL) {
		srv_pool_give(s->pool, db);
	}
	return rv;
}

static int
service_dispatch(srv_service *s, const srv_caller *who, const uint8_t *req, size_t len, com_buf *reply)
{
	proto_env env;
	proto_rd body;
	char text[160];
	size_t mark = reply->len;
	uint64_t inflated;
	int rv;

	s->requests++;
	rv = proto_env_open(req, len, &env, &body);
	if (rv == OCOP_EVERSION) {
		/* Answered in the caller's framing when this server knows it, so an
		 * older ocop can read the reason instead of a "malformed reply". */
		snprintf(text, sizeof(text), "protocol version %u is not supported (this server speaks %d): %s",
		    env.version, PROTO_VERSION, env.version < PROTO_VERSION ? "upgrade ocop" : "upgrade this server");
		return service_error_v(s, reply, env.version, OCOP_EVERSION, text);
	}
	if (rv != OCOP_OK) {
		return service_error(s, reply, OCOP_EPROTO, "malformed message (bad frame or checksum)");
	}
	switch (env.type) {
	case PROTO_MSG_HELLO:
	case PROTO_MSG_PULL:
		rv = service_read(s, who, env.type, &body, reply);
		break;
	case PROTO_MSG_PUSH:
		if (service_push_too_big(s, &body, len, &inflated)) {
			/* A batch past the limit the server advertised: refused before it
			 * takes the writer's turn, so it holds nobody up. */
			s->too_big++;
			snprintf(text, sizeof(text), "a PUSH of %zu bytes (%llu inflated) is larger than this server takes (%zu): "
						     "send smaller batches",
			    len, (unsigned long long)inflated, s->max_batch);
			rv = service_error(s, reply, OCOP_ETOOBIG, text);
			break;
		}
		if (s->pool != NULL) {
			srv_pool_write_lock(s->pool);
		}
		rv = service_push(s, who, &body, reply);
		if (s->pool != NULL) {
			srv_pool_write_unlock(s->pool);
		}
		break;
	case PROTO_MSG_ACK:
		if (s->pool != NULL) {
			srv_pool_write_lock(s->pool);
		}
		rv = service_ack(s, who, &body, reply);
		if (s->pool != NULL) {
			srv_pool_write_unlock(s->pool);
		}
		break;
	case PROTO_MSG_FILES:
	case PROTO_MSG_FILE_PUT:
	case PROTO_MSG_FILE_GET:
		/* Neither a read nor a write of the rows: the file service takes a
		 * read connection for its checks and the writer's turn only for the
		 * short record that a site holds a file (server/files.c), so a slow
		 * upload never blocks PULLs nor holds the writer. */
		rv = srv_files_serve(s, who, env.type, &body, reply);
		break;
	default:
		snprintf(text, sizeof(text), "%s is not a request", proto_msg_name(env.type));
		rv = service_error(s, reply, OCOP_EPROTO, text);
		break;
	}
	if (rv == OCOP_ECLOSED) {
		reply->len = mark; /* a crash point: the "process" died, no reply */
		return rv;
	}
	if (rv != OCOP_OK) {
		reply->len = mark;
		rv = proto_error_encode(reply, rv, ocop_strerror(rv));
	}
	return rv;
}

int
srv_handle(srv_service *s, const uint8_t *req, size_t len, com_buf *reply)
{
	return srv_handle_from(s, NULL, req, len, reply);
}

/* The one entry point: dispatch, and count the request when metrics are kept. */
int
srv_handle_from(srv_service *s, const srv_caller *who, const uint8_t *req, size_t len, com_buf *reply)
{
	struct timespec t0;
	struct timespec t1;
	size_t mark = reply->len;
	int rv;

	if (s->metrics == NULL) {
		return service_dispatch(s, who, req, len, reply);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rv = service_dispatch(s, who, req, len, reply);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	srv_metrics_request(s->metrics, req, len, rv == OCOP_OK ? reply->data + mark : NULL,
	    rv == OCOP_OK ? reply->len - mark : 0,
	    (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec)));
	return rv;
}
