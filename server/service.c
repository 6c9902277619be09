/*
 * service.c: HELLO, PUSH, PULL and ACK on the server's replica.
 *
 * A PUSH is applied in one transaction together with the site's new
 * high-water mark, so a crash before the commit loses the batch and the
 * site resends it, and a crash after the commit makes the resend a set of
 * duplicates: either way every change takes effect exactly once.
 */
#include "server/service.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/ocop/scope.h"
#include "common/store/capture.h"
#include "common/store/ledger.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/session.h"
#include "server/files.h"
#include "server/handoff.h"
#include "server/metrics.h"
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

static int
service_error(srv_service *s, com_buf *reply, int code, const char *text)
{
	s->errors++;
	com_logf(s->log, COM_LOG_WARN, "refused request: %s (%s)", text, ocop_errname(code));
	return proto_error_encode(reply, code, text);
}

/* Authenticate a request; on failure the ERROR reply is already written. */
static int
service_auth(srv_service *s, const char *site, const char *cred, srv_peer *peer, com_buf *reply,
    bool *ok)
{
	int rv = srv_registry_auth(s->db, site, cred, peer);

	*ok = rv == OCOP_OK;
	if (rv == OCOP_ESITE || rv == OCOP_EAUTH) {
		return service_error(s, reply, rv, sto_errmsg(s->db));
	}
	if (rv != OCOP_OK) {
		return service_error(s, reply, OCOP_EDB, "server database error");
	}
	return OCOP_OK;
}

int
srv_service_auth(srv_service *s, const char *site, const char *credential, srv_peer *peer, com_buf *reply, bool *ok)
{
	return service_auth(s, site, credential, peer, reply, ok);
}

int
srv_service_error(srv_service *s, com_buf *reply, int code, const char *text)
{
	return service_error(s, reply, code, text);
}

/* ===== HELLO ===== */

static int
service_hello(srv_service *s, proto_rd *body, com_buf *reply)
{
	proto_hello m;
	proto_hello_ok ok;
	srv_peer peer;
	bool authed;
	int rv;

	if (proto_hello_decode(body, &m) != OCOP_OK) {
		return service_error(s, reply, OCOP_EPROTO, "malformed HELLO");
	}
	if ((rv = service_auth(s, m.site, m.credential, &peer, reply, &authed)) != OCOP_OK || !authed) {
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
	ok.server_hlc = sto_hlc(s->db)->last;
	ok.high_water = peer.high_water;
	ok.max_batch_bytes = s->max_batch;
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
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(sto_sqlite(s->db), "UPDATE change SET via = ?3 WHERE site = ?1 AND seq = ?2", -1,
		&st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, c->site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->seq);
	sqlite3_bind_text(st, 3, via, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
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
		    (rv = srv_handoff_note_arrival(s->db, c->tbl, c->row, peer->site)) != OCOP_OK) {
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
service_push(srv_service *s, proto_rd *body, com_buf *reply)
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
	if ((rv = service_auth(s, m.site, m.credential, &peer, reply, &authed)) != OCOP_OK || !authed) {
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
service_in_scope(srv_service *s, const char *scope, const char *code)
{
	if (code[0] == 0) {
		return true;
	}
	return s->policy != NULL && s->policy->covers != NULL ? s->policy->covers(s->policy->arg, s->db, scope, code)
							     : ocp_scope_covers(scope, code);
}

static bool
service_was_clamped(srv_service *s, const proto_change *c)
{
	sqlite3_stmt *st = NULL;
	bool yes = false;

	if (sqlite3_prepare_v2(sto_sqlite(s->db),
		"SELECT 1 FROM ledger WHERE lost_site = ?1 AND lost_seq = ?2 AND rule = 'clock' LIMIT 1", -1, &st,
		NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, c->site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)c->seq);
		yes = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return yes;
}

static int
service_pull(srv_service *s, proto_rd *body, com_buf *reply)
{
	proto_pull m;
	proto_batch b;
	proto_change c;
	srv_peer peer;
	sqlite3_stmt *st = NULL;
	uint64_t next;
	uint64_t max;
	bool authed;
	bool more = false;
	int scanned = 0;
	int rv;
	int rc;

	if (proto_pull_decode(body, &m) != OCOP_OK) {
		return service_error(s, reply, OCOP_EPROTO, "malformed PULL");
	}
	if ((rv = service_auth(s, m.site, m.credential, &peer, reply, &authed)) != OCOP_OK || !authed) {
		return rv;
	}
	max = m.max_bytes && m.max_bytes < s->max_batch ? m.max_bytes : s->max_batch;
	next = m.cursor;
	rc = sqlite3_prepare_v2(sto_sqlite(s->db),
	    "SELECT lsn, site, seq, tbl, row_id, hlc, user, cells, via, scope, to_site FROM change WHERE lsn > ?1 ORDER BY lsn",
	    -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return service_error(s, reply, OCOP_EDB, "server database error");
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)m.cursor);
	if ((rv = proto_pull_ok_begin(&b, reply, max)) != OCOP_OK) {
		sqlite3_finalize(st);
		return rv;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char scope[64];
		uint64_t lsn = (uint64_t)sqlite3_column_int64(st, 0);

		if (++scanned > SRV_PULL_SCAN) {
			more = true;
			break;
		}
		memset(&c, 0, sizeof(c));
		snprintf(c.site, sizeof(c.site), "%s", (const char *)sqlite3_column_text(st, 1));
		c.seq = (uint64_t)sqlite3_column_int64(st, 2);
		snprintf(c.tbl, sizeof(c.tbl), "%s", (const char *)sqlite3_column_text(st, 3));
		snprintf(c.row, sizeof(c.row), "%s", (const char *)sqlite3_column_text(st, 4));
		c.hlc = (uint64_t)sqlite3_column_int64(st, 5);
		snprintf(c.user, sizeof(c.user), "%s", (const char *)sqlite3_column_text(st, 6));
		c.cells = sqlite3_column_blob(st, 7);
		c.cells_len = (size_t)sqlite3_column_bytes(st, 7);
		/* A site has its own changes already (unless this server clamped one:
		 * the echo tells it the version every replica holds), and a relaying
		 * peer what it relayed; skip them and what is outside its scope. */
		if ((strcmp(c.site, m.site) != 0 || service_was_clamped(s, &c)) &&
		    (sqlite3_column_type(st, 8) == SQLITE_NULL ||
			strcmp((const char *)sqlite3_column_text(st, 8), m.site) != 0)) {
			if ((rv = sto_row_scope(s->db, c.tbl, c.row, scope, sizeof(scope))) != OCOP_OK) {
				break;
			}
			/* The change that moved a row out of this site's scope goes to it
			 * too, so the site learns that the row left (move.c). */
			if (service_in_scope(s, peer.scope, scope) ||
			    (sqlite3_column_type(st, 10) == SQLITE_TEXT &&
				strcmp((const char *)sqlite3_column_text(st, 10), m.site) == 0) ||
			    (sqlite3_column_type(st, 9) == SQLITE_TEXT &&
				service_in_scope(s, peer.scope, (const char *)sqlite3_column_text(st, 9)))) {
				rv = proto_batch_add(&b, &c);
				if (rv == OCOP_ETOOBIG) {
					more = true;
					rv = OCOP_OK;
					break;
				}
				if (rv != OCOP_OK) {
					break;
				}
			}
		}
		next = lsn;
	}
	if (rc == SQLITE_ROW && !more) {
		more = true;
	}
	sqlite3_finalize(st);
	if (rv != OCOP_OK) {
		return rv == OCOP_ENOMEM ? rv : service_error(s, reply, OCOP_EDB, "server database error");
	}
	return proto_pull_ok_end(&b, next, more, sto_hlc(s->db)->last);
}

/* ===== ACK ===== */

static int
service_ack(srv_service *s, proto_rd *body, com_buf *reply)
{
	proto_ack m;
	proto_ack_ok ok;
	srv_peer peer;
	bool authed;
	int rv;

	if (proto_ack_decode(body, &m) != OCOP_OK) {
		return service_error(s, reply, OCOP_EPROTO, "malformed ACK");
	}
	if ((rv = service_auth(s, m.site, m.credential, &peer, reply, &authed)) != OCOP_OK || !authed) {
		return rv;
	}
	if (srv_registry_set_cursor(s->db, m.site, m.cursor) != OCOP_OK) {
		return service_error(s, reply, OCOP_EDB, "server database error");
	}
	ok.cursor = m.cursor > peer.cursor ? m.cursor : peer.cursor;
	return proto_ack_ok_encode(reply, &ok);
}

/* ===== Dispatch ===== */

static int
service_dispatch(srv_service *s, const uint8_t *req, size_t len, com_buf *reply)
{
	proto_env env;
	proto_rd body;
	char text[128];
	size_t mark = reply->len;
	int rv;

	s->requests++;
	rv = proto_env_open(req, len, &env, &body);
	if (rv == OCOP_EVERSION) {
		snprintf(text, sizeof(text), "protocol version %u is not supported (this server speaks %d)",
		    env.version, PROTO_VERSION);
		return service_error(s, reply, OCOP_EVERSION, text);
	}
	if (rv != OCOP_OK) {
		return service_error(s, reply, OCOP_EPROTO, "malformed message (bad frame or checksum)");
	}
	switch (env.type) {
	case PROTO_MSG_HELLO:
		rv = service_hello(s, &body, reply);
		break;
	case PROTO_MSG_PUSH:
		rv = service_push(s, &body, reply);
		break;
	case PROTO_MSG_PULL:
		rv = service_pull(s, &body, reply);
		break;
	case PROTO_MSG_ACK:
		rv = service_ack(s, &body, reply);
		break;
	case PROTO_MSG_FILES:
	case PROTO_MSG_FILE_PUT:
	case PROTO_MSG_FILE_GET:
		rv = srv_files_serve(s, env.type, &body, reply);
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

/* The one entry point: dispatch, and count the request when metrics are kept. */
int
srv_handle(srv_service *s, const uint8_t *req, size_t len, com_buf *reply)
{
	struct timespec t0;
	struct timespec t1;
	size_t mark = reply->len;
	int rv;

	if (s->metrics == NULL) {
		return service_dispatch(s, req, len, reply);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rv = service_dispatch(s, req, len, reply);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	srv_metrics_request(s->metrics, req, len, rv == OCOP_OK ? reply->data + mark : NULL,
	    rv == OCOP_OK ? reply->len - mark : 0,
	    (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec)));
	return rv;
}
