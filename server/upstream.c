/*
 * upstream.c: the province's side of the national link (see upstream.h and
 * docs/NATIONAL.md): candidates up, national decisions down.
 */
#include "server/upstream.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/protocol/reqrep0/req.h>
#include <openssl/evp.h>

#include "common/ocop/council.h"
#include "common/ocop/registry.h"
#include "common/store/filebundle.h"
#include "common/store/ledger.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/bundle.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/session.h"
#include "server/handoff.h"

#define UPSTREAM_SOFTWARE "ocopd " OCOP_VERSION_STRING
#define UPSTREAM_MAX_ROUNDS 100000

struct srv_upstream {
	sto_db *db;                    /* borrowed province replica */
	ocp_council *council;          /* owned: results of evaluations */
	ocp_reg *reg;                  /* owned: the dossier's move to sent_national */
	char *credential;              /* owned copy */
	const sto_policy *pull_policy; /* borrowed */
	size_t max_batch;              /* 0 = the national server's */
	const com_log *log;            /* borrowed, may be NULL */
	char server_site[37];          /* the national server's site, from HELLO_OK */
};

/* ===== Small helpers ===== */

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

/* One request and its reply; an ERROR reply's code is returned with its text in err. */
static int
upstream_call(const srv_link *link, const com_buf *req, com_buf *reply, uint32_t want, proto_rd *body,
    char *err, size_t errlen)
{
	proto_env env;
	proto_error e;
	int rv;

	com_buf_reset(reply);
	if ((rv = link->roundtrip(link->arg, req->data, req->len, reply)) != OCOP_OK) {
		snprintf(err, errlen, "no reply from the national server: %s", ocop_strerror(rv));
		return rv;
	}
	if (proto_env_open(reply->data, reply->len, &env, body) != OCOP_OK) {
		snprintf(err, errlen, "malformed reply from the national server");
		return OCOP_EPROTO;
	}
	if (env.type == PROTO_MSG_ERROR) {
		if (proto_error_decode(body, &e) != OCOP_OK) {
			snprintf(err, errlen, "malformed error reply from the national server");
			return OCOP_EPROTO;
		}
		snprintf(err, errlen, "the national server refused: %s", e.text);
		return e.code == OCOP_OK || e.code >= OCOP_ERR_COUNT_ ? OCOP_EPROTO : (int)e.code;
	}
	if (env.type != want) {
		snprintf(err, errlen, "unexpected %s reply from the national server", proto_msg_name(env.type));
		return OCOP_EPROTO;
	}
	return OCOP_OK;
}

/* ===== Lifetime ===== */

int
srv_upstream_open(srv_upstream **out, sto_db *db, const srv_upstream_opts *o, char *err, size_t errlen)
{
	srv_upstream *u;
	ocp_reg_require req;
	int rv;

	*out = NULL;
	if (strcmp(sto_role(db), "province") != 0) {
		snprintf(err, errlen, "only a province server has an upstream (this is a %s replica)", sto_role(db));
		return OCOP_EINVAL;
	}
	u = com_calloc(1, sizeof(*u));
	if (u == NULL) {
		return OCOP_ENOMEM;
	}
	u->db = db;
	u->pull_policy = o->pull_policy;
	u->max_batch = o->max_batch;
	u->log = o->log;
	u->credential = com_strdup(o->credential ? o->credential : "");
	if (u->credential == NULL || (rv = ocp_council_open(&u->council, db, o->data_dir)) != OCOP_OK) {
		srv_upstream_close(u);
		return OCOP_ENOMEM;
	}
	if ((rv = ocp_reg_open(&u->reg, db, o->data_dir, err, errlen)) != OCOP_OK) {
		srv_upstream_close(u);
		return rv;
	}
	req.fn = ocp_council_require;
	req.arg = u->council;
	ocp_reg_set_require(u->reg, &req);
	*out = u;
	return OCOP_OK;
}

void
srv_upstream_close(srv_upstream *u)
{
	if (u == NULL) {
		return;
	}
	ocp_reg_close(u->reg);
	ocp_council_close(u->council);
	com_free(u->credential);
	com_free(u);
}

/* ===== Session ===== */

static int
upstream_hello(srv_upstream *u, const srv_link *link, com_buf *req, com_buf *reply, size_t *budget, char *err,
    size_t errlen)
{
	proto_hello h;
	proto_hello_ok ok;
	proto_rd body;
	int rv;

	memset(&h, 0, sizeof(h));
	snprintf(h.site, sizeof(h.site), "%s", sto_site_id(u->db));
	snprintf(h.credential, sizeof(h.credential), "%s", u->credential);
	h.protocol_version = PROTO_VERSION;
	h.schema_version = STO_SCHEMA_VERSION;
	snprintf(h.role, sizeof(h.role), "%s", sto_role(u->db));
	snprintf(h.software, sizeof(h.software), "%s", UPSTREAM_SOFTWARE);
	com_buf_reset(req);
	if ((rv = proto_hello_encode(req, &h)) != OCOP_OK ||
	    (rv = upstream_call(link, req, reply, PROTO_MSG_HELLO_OK, &body, err, errlen)) != OCOP_OK) {
		return rv;
	}
	if (proto_hello_ok_decode(&body, &ok) != OCOP_OK) {
		snprintf(err, errlen, "malformed HELLO_OK from the national server");
		return OCOP_EPROTO;
	}
	if (strcmp(ok.server_role, "national") != 0) {
		snprintf(err, errlen, "the upstream server is a %s server, not the national one", ok.server_role);
		return OCOP_EPROTO;
	}
	snprintf(u->server_site, sizeof(u->server_site), "%s", ok.server_site);
	if ((rv = sto_meta_set(u->db, "upstream_site", ok.server_site)) != OCOP_OK) {
		return rv;
	}
	*budget = u->max_batch ? u->max_batch : (size_t)ok.max_batch_bytes;
	if (*budget == 0 || *budget > PROTO_MAX_MESSAGE / 2) {
		*budget = PROTO_MAX_MESSAGE / 2;
	}
	return OCOP_OK;
}

/* Keep a change the national server refused in this province's ledger, once. */
static int
upstream_record_rejection(srv_upstream *u, const srv_relay_ref *ref, int code, const char *reason)
{
	sqlite3_stmt *st = NULL;
	char text[700];
	bool known;

	if (sqlite3_prepare_v2(sto_sqlite(u->db),
		"SELECT 1 FROM ledger WHERE lost_site = ?1 AND lost_seq = ?2 AND rule = 'upstream'", -1, &st,
		NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, ref->site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)ref->seq);
	known = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (known) {
		return OCOP_OK;
	}
	com_logf(u->log, COM_LOG_WARN, "the national server refused %s seq %" PRIu64 " (%s %s): %s", ref->site,
	    ref->seq, ref->tbl, ref->row, reason);
	snprintf(text, sizeof(text), "refused by the national server (%s): %s", sto_rule_name(code), reason);
	return sto_ledger_put(u->db, ref->tbl, ref->row, NULL, "upstream", text, NULL, 0, NULL, NULL, 0, ref->site,
	    ref->seq);
}

/* Send one relay PUSH and check that the national server processed all of it. */
static int
upstream_send(srv_upstream *u, const srv_link *link, srv_relay_batch *b, com_buf *reply,
    srv_upstream_stats *st, char *err, size_t errlen)
{
	proto_rd body;
	proto_push_ok ok;
	proto_rejections_it it;
	proto_rejection r;
	uint64_t seen;
	int rv;

	if ((rv = upstream_call(link, &b->req, reply, PROTO_MSG_PUSH_OK, &body, err, errlen)) != OCOP_OK) {
		return rv;
	}
	if (proto_push_ok_decode(&body, &ok) != OCOP_OK) {
		snprintf(err, errlen, "malformed PUSH_OK from the national server");
		return OCOP_EPROTO;
	}
	if (ok.high_water != b->count) {
		snprintf(err, errlen, "the national server processed %" PRIu64 " of %u relayed changes",
		    ok.high_water, b->count);
		return OCOP_EPROTO;
	}
	if ((rv = sto_begin(u->db)) != OCOP_OK) {
		return rv;
	}
	proto_rejections_iter(&it, &ok.rejections);
	while ((rv = proto_rejections_next(&it, &r)) == OCOP_OK) {
		if (r.seq >= 1 && r.seq <= b->count &&
		    (rv = upstream_record_rejection(u, &b->refs[r.seq - 1], (int)r.code, r.reason)) != OCOP_OK) {
			break;
		}
		st->rejected++;
	}
	com_hlc_update(sto_hlc(u->db), ok.server_hlc, &seen);
	if ((rv != OCOP_ENOENT && rv != OCOP_OK) || (rv = sto_meta_set_hlc(u->db)) != OCOP_OK ||
	    (rv = sto_commit(u->db)) != OCOP_OK) {
		sto_rollback(u->db);
		snprintf(err, errlen, "cannot record the national server's answer: %s", sto_errmsg(u->db));
		return rv == OCOP_OK ? OCOP_EDB : rv;
	}
	st->relayed += b->count;
	return OCOP_OK;
}

/*
 * Hand one candidate over: every change of its tree, in log order, until the
 * national server has acknowledged all of it. The content hash is kept with
 * the hand-off.
 */
static int
upstream_handoff(srv_upstream *u, const srv_link *link, const srv_handoff_key *k, size_t budget,
    com_buf *reply, srv_upstream_stats *st, char *err, size_t errlen)
{
	srv_relay_sel sel;
	srv_relay_batch b;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char hex[SRV_HANDOFF_SHA_HEX];
	uint64_t after = 0;
	uint64_t total = 0;
	bool marked = false;
	int rounds = UPSTREAM_MAX_ROUNDS;
	int rv = OCOP_OK;
	unsigned i;

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return OCOP_ENOMEM;
	}
	memset(&sel, 0, sizeof(sel));
	sel.key = k;
	sel.skip_via = u->server_site;
	sel.credential = u->credential;
	sel.budget = budget;
	srv_relay_batch_init(&b);
	do {
		if ((rv = srv_relay_build(u->db, &sel, after, &b, ctx)) != OCOP_OK) {
			snprintf(err, errlen, "cannot build a relay batch: %s", ocop_strerror(rv));
			break;
		}
		if (b.count > 0 && (rv = upstream_send(u, link, &b, reply, st, err, errlen)) != OCOP_OK) {
			break;
		}
		total += b.count;
		after = b.scanned_to;
		if (!b.done && !marked && total > 0) {
			/* Part of it is held upstream: the hand-off is under way. */
			marked = true;
			if ((rv = srv_handoff_set_state(u->db, k, "sent", NULL, 0, NULL)) != OCOP_OK) {
				break;
			}
		}
	} while (!b.done && --rounds > 0);
	srv_relay_batch_fini(&b);
	if (rv == OCOP_OK && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		rv = OCOP_ENOMEM;
	}
	EVP_MD_CTX_free(ctx);
	if (rv != OCOP_OK) {
		srv_handoff_set_state(u->db, k, NULL, NULL, 0, err);
		return rv;
	}
	for (i = 0; i < mdlen; i++) {
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	}
	if ((rv = srv_handoff_set_state(u->db, k, "acknowledged", hex, total, NULL)) != OCOP_OK) {
		snprintf(err, errlen, "cannot record the hand-off: %s", sto_errmsg(u->db));
		return rv;
	}
	com_logf(u->log, COM_LOG_INFO, "hand-off of dossier %s (evaluation %s v%lld) acknowledged: %" PRIu64
	    " changes, sha256 %s", k->dossier_id, k->evaluation_id, (long long)k->version, total, hex);
	st->acknowledged++;
	return OCOP_OK;
}

/* Later changes to rows of handed-off trees, from the upstream push cursor on. */
static int
upstream_incremental(srv_upstream *u, const srv_link *link, size_t budget, com_buf *reply,
    srv_upstream_stats *st, char *err, size_t errlen)
{
	srv_relay_sel sel;
	srv_relay_batch b;
	uint64_t after = meta_u64(u->db, "upstream_push_cursor");
	int rounds = UPSTREAM_MAX_ROUNDS;
	int rv = OCOP_OK;

	memset(&sel, 0, sizeof(sel));
	sel.skip_via = u->server_site;
	sel.credential = u->credential;
	sel.budget = budget;
	srv_relay_batch_init(&b);
	do {
		if ((rv = srv_relay_build(u->db, &sel, after, &b, NULL)) != OCOP_OK) {
			snprintf(err, errlen, "cannot build a relay batch: %s", ocop_strerror(rv));
			break;
		}
		if (b.count > 0 && (rv = upstream_send(u, link, &b, reply, st, err, errlen)) != OCOP_OK) {
			break;
		}
		if (b.scanned_to > after && (rv = meta_set_u64(u->db, "upstream_push_cursor", b.scanned_to)) != OCOP_OK) {
			break;
		}
		after = b.scanned_to;
	} while (!b.done && --rounds > 0);
	srv_relay_batch_fini(&b);
	return rv;
}

/* Remember that a change came from the national server, so it is never relayed back. */
static int
upstream_set_via(srv_upstream *u, const proto_change *c)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(sto_sqlite(u->db), "UPDATE change SET via = ?3 WHERE site = ?1 AND seq = ?2", -1,
		&st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, c->site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)c->seq);
	sqlite3_bind_text(st, 3, u->server_site, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
}

/* Merge one PULL_OK page and move the upstream pull cursor over it, in one transaction. */
static int
upstream_merge_page(srv_upstream *u, const proto_pull_ok *ok, uint64_t cursor, srv_upstream_stats *st, char *err,
    size_t errlen)
{
	proto_changes_it it;
	proto_change c;
	sto_verdict v;
	uint64_t seen;
	int rv;

	if ((rv = sto_begin(u->db)) != OCOP_OK) {
		return rv;
	}
	proto_changes_iter(&it, &ok->changes);
	while ((rv = proto_changes_next(&it, &c)) == OCOP_OK) {
		/* The national server's changes, judged as the national tier may make them. */
		sto_writer w = {c.site, "national", "VN"};
		if ((rv = sto_merge_apply(u->db, u->pull_policy, &w, &c, true, &v)) != OCOP_OK) {
			break;
		}
		st->pulled++;
		if (v.outcome == STO_APPLIED) {
			st->applied++;
			if ((rv = upstream_set_via(u, &c)) != OCOP_OK) {
				break;
			}
		} else if (v.outcome == STO_REJECTED) {
			com_logf(u->log, COM_LOG_WARN, "refused a national change %s seq %" PRIu64 " (%s %s): %s", c.site,
			    c.seq, c.tbl, c.row, v.reason);
		}
	}
	com_hlc_update(sto_hlc(u->db), ok->server_hlc, &seen);
	if ((rv != OCOP_ENOENT && rv != OCOP_OK) ||
	    (rv = meta_set_u64(u->db, "upstream_pull_cursor", ok->next_cursor > cursor ? ok->next_cursor : cursor)) !=
		OCOP_OK ||
	    (rv = sto_meta_set_hlc(u->db)) != OCOP_OK || (rv = sto_commit(u->db)) != OCOP_OK) {
		snprintf(err, errlen, "cannot apply the national server's changes: %s", sto_errmsg(u->db));
		sto_rollback(u->db);
		return rv == OCOP_OK ? OCOP_EDB : rv;
	}
	return OCOP_OK;
}

/* Pull the national tier's changes for this province and merge them. */
static int
upstream_pull(srv_upstream *u, const srv_link *link, size_t budget, com_buf *req, com_buf *reply,
    srv_upstream_stats *st, char *err, size_t errlen)
{
	proto_rd body;
	proto_pull m;
	proto_pull_ok ok;
	proto_ack ack;
	uint64_t cursor = meta_u64(u->db, "upstream_pull_cursor");
	int rounds = UPSTREAM_MAX_ROUNDS;
	int rv;

	while (rounds-- > 0) {
		memset(&m, 0, sizeof(m));
		snprintf(m.site, sizeof(m.site), "%s", sto_site_id(u->db));
		snprintf(m.credential, sizeof(m.credential), "%s", u->credential);
		m.cursor = cursor;
		m.max_bytes = budget;
		com_buf_reset(req);
		if ((rv = proto_pull_encode(req, &m)) != OCOP_OK ||
		    (rv = upstream_call(link, req, reply, PROTO_MSG_PULL_OK, &body, err, errlen)) != OCOP_OK) {
			return rv;
		}
		if (proto_pull_ok_decode(&body, &ok) != OCOP_OK) {
			snprintf(err, errlen, "malformed PULL_OK from the national server");
			return OCOP_EPROTO;
		}
		if (ok.next_cursor < cursor) {
			snprintf(err, errlen, "the national server's cursor went backwards");
			return OCOP_EPROTO;
		}
		/* The changes and the cursor that covers them commit together. */
		if ((rv = upstream_merge_page(u, &ok, cursor, st, err, errlen)) != OCOP_OK) {
			return rv;
		}
		cursor = ok.next_cursor;
		if (!ok.more) {
			break;
		}
	}
	memset(&ack, 0, sizeof(ack));
	snprintf(ack.site, sizeof(ack.site), "%s", sto_site_id(u->db));
	snprintf(ack.credential, sizeof(ack.credential), "%s", u->credential);
	ack.cursor = cursor;
	com_buf_reset(req);
	if ((rv = proto_ack_encode(req, &ack)) != OCOP_OK) {
		return rv;
	}
	return upstream_call(link, req, reply, PROTO_MSG_ACK_OK, &body, err, errlen);
}

int
srv_upstream_step(srv_upstream *u, const srv_link *link, srv_upstream_stats *st, char *err, size_t errlen)
{
	com_buf req;
	com_buf reply;
	srv_handoff_key *keys = NULL;
	size_t nkeys = 0;
	size_t budget = 0;
	size_t i;
	int rv;

	memset(st, 0, sizeof(*st));
	err[0] = 0;
	/* New candidates are recorded even while the link is down: they wait. */
	if ((rv = srv_handoff_scan(u->db, u->council, u->reg, true, &st->new_candidates, err, errlen)) != OCOP_OK) {
		return rv;
	}
	com_buf_init(&req);
	com_buf_init(&reply);
	rv = upstream_hello(u, link, &req, &reply, &budget, err, errlen);
	if (rv == OCOP_OK) {
		rv = srv_handoff_pending(u->db, &keys, &nkeys);
	}
	for (i = 0; i < nkeys && rv == OCOP_OK; i++) {
		rv = upstream_handoff(u, link, &keys[i], budget, &reply, st, err, errlen);
	}
	if (rv != OCOP_OK) {
		/* Every later hand-off waits too; record the failure on them. */
		for (; i < nkeys; i++) {
			srv_handoff_set_state(u->db, &keys[i], NULL, NULL, 0, err);
		}
	}
	com_free(keys);
	/* Later changes only once every full hand-off is acknowledged, so the
	 * incremental cursor never passes a change a waiting tree still needs. */
	if (rv == OCOP_OK) {
		rv = upstream_incremental(u, link, budget, &reply, st, err, errlen);
	}
	if (rv == OCOP_OK) {
		rv = upstream_pull(u, link, budget, &req, &reply, st, err, errlen);
	}
	if (rv == OCOP_OK && srv_handoff_mark_decided(u->db, false, &st->decided) != OCOP_OK) {
		snprintf(err, errlen, "cannot record decided hand-offs: %s", sqlite3_errmsg(sto_sqlite(u->db)));
		rv = OCOP_EDB;
	}
	if (rv != OCOP_OK) {
		/* Pending hand-offs before HELLO failed: count the attempt on each. */
		srv_handoff_key *k2 = NULL;
		size_t n2 = 0;
		if (budget == 0 && srv_handoff_pending(u->db, &k2, &n2) == OCOP_OK) {
			for (i = 0; i < n2; i++) {
				srv_handoff_set_state(u->db, &k2[i], NULL, NULL, 0, err);
			}
		}
		com_free(k2);
	}
	com_buf_fini(&req);
	com_buf_fini(&reply);
	return rv;
}

/* ===== A reply bundle from the national office ===== */

int
srv_upstream_apply_reply(srv_upstream *u, const uint8_t *bundle, size_t len, srv_upstream_stats *st, char *err,
    size_t errlen)
{
	proto_bundle b;
	proto_bundle_it it;
	const uint8_t *m;
	size_t mlen;
	uint32_t type;
	uint64_t cursor = meta_u64(u->db, "upstream_pull_cursor");
	int rv;

	memset(st, 0, sizeof(*st));
	err[0] = 0;
	if ((rv = proto_bundle_open(&b, bundle, len, err, errlen)) != OCOP_OK) {
		return rv;
	}
	if (b.hdr.kind != PROTO_BUNDLE_REPLY || strcmp(b.hdr.site, sto_site_id(u->db)) != 0) {
		snprintf(err, errlen, "this is not a reply for province %s (a %s bundle for %s)", sto_site_id(u->db),
		    proto_bundle_kind_name(b.hdr.kind), b.hdr.site);
		return OCOP_EPROTO;
	}
	if (b.hdr.pull_from > cursor) {
		snprintf(err, errlen, "the reply continues from the national server's position %" PRIu64
		    " but this province has only reached %" PRIu64 ": import the replies in order",
		    b.hdr.pull_from, cursor);
		return OCOP_ESTATE;
	}
	proto_bundle_iter(&it, &b);
	while ((rv = proto_bundle_next(&it, &m, &mlen, &type)) == OCOP_OK) {
		proto_env env;
		proto_rd body;

		if (proto_env_open(m, mlen, &env, &body) != OCOP_OK) {
			return OCOP_EPROTO; /* verified above; cannot happen */
		}
		if (type == PROTO_MSG_HELLO_OK) {
			proto_hello_ok h;
			if (proto_hello_ok_decode(&body, &h) != OCOP_OK || strcmp(h.server_role, "national") != 0) {
				snprintf(err, errlen, "the reply is not from a national server");
				return OCOP_EPROTO;
			}
			snprintf(u->server_site, sizeof(u->server_site), "%s", h.server_site);
			if ((rv = sto_meta_set(u->db, "upstream_site", h.server_site)) != OCOP_OK) {
				return rv;
			}
		} else if (type == PROTO_MSG_FILES_OK || type == PROTO_MSG_FILE_PUT_OK) {
			/* What the national server now holds of the candidate's files. */
			sto_filebundle_stats fst;
			memset(&fst, 0, sizeof(fst));
			if ((rv = sto_filebundle_reply(u->db, NULL, b.hdr.server, m, mlen, &fst)) != OCOP_OK) {
				snprintf(err, errlen, "cannot record the national server's files: %s", sto_errmsg(u->db));
				return rv;
			}
		} else if (type == PROTO_MSG_PULL_OK) {
			proto_pull_ok ok;
			if (proto_pull_ok_decode(&body, &ok) != OCOP_OK) {
				return OCOP_EPROTO;
			}
			if ((rv = upstream_merge_page(u, &ok, cursor, st, err, errlen)) != OCOP_OK) {
				return rv;
			}
			if (ok.next_cursor > cursor) {
				cursor = ok.next_cursor;
			}
		}
	}
	if (rv != OCOP_ENOENT) {
		return rv;
	}
	if (srv_handoff_mark_decided(u->db, true, &st->decided) != OCOP_OK) {
		snprintf(err, errlen, "cannot record decided hand-offs: %s", sqlite3_errmsg(sto_sqlite(u->db)));
		return OCOP_EDB;
	}
	return OCOP_OK;
}

/* ===== nng REQ link ===== */

static int
upstream_err_from_nng(int rv)
{
	switch (rv) {
	case 0:
		return OCOP_OK;
	case NNG_ENOMEM:
		return OCOP_ENOMEM;
	case NNG_ETIMEDOUT:
		return OCOP_ETIMEDOUT;
	case NNG_ECLOSED:
		return OCOP_ECLOSED;
	case NNG_EADDRINVAL:
	case NNG_EINVAL:
	case NNG_ENOTSUP:
		return OCOP_EINVAL;
	case NNG_EMSGSIZE:
		return OCOP_ETOOBIG;
	default:
		return OCOP_ENET;
	}
}

int
srv_upstream_nng_open(srv_upstream_nng *t, const char *url, int timeout_ms)
{
	int rv;

	memset(t, 0, sizeof(*t));
	if ((rv = nng_req0_open(&t->sock)) != 0) {
		return upstream_err_from_nng(rv);
	}
	t->open = true;
	/* No resend while the national server may still be applying a big relay
	 * batch (as client/transport.c): nng resends at once when the connection
	 * comes back, and a round trip that times out fails the step, which the
	 * next step continues. */
	if ((rv = nng_setopt_ms(t->sock, NNG_OPT_REQ_RESENDTIME, timeout_ms * 2)) != 0 ||
	    (rv = nng_setopt_ms(t->sock, NNG_OPT_RECVTIMEO, timeout_ms)) != 0 ||
	    (rv = nng_setopt_ms(t->sock, NNG_OPT_SENDTIMEO, timeout_ms)) != 0 ||
	    (rv = nng_setopt_ms(t->sock, NNG_OPT_RECONNMINT, 100)) != 0 ||
	    (rv = nng_setopt_ms(t->sock, NNG_OPT_RECONNMAXT, 2000)) != 0 ||
	    (rv = nng_setopt_size(t->sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_MESSAGE)) != 0 ||
	    (rv = nng_dial(t->sock, url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
		srv_upstream_nng_close(t);
		return upstream_err_from_nng(rv);
	}
	return OCOP_OK;
}

void
srv_upstream_nng_close(srv_upstream_nng *t)
{
	if (t->open) {
		nng_close(t->sock);
		t->open = false;
	}
}

static int
upstream_nng_roundtrip(void *arg, const uint8_t *req, size_t len, com_buf *reply)
{
	srv_upstream_nng *t = arg;
	nng_msg *msg = NULL;
	int rv;

	if ((rv = nng_msg_alloc(&msg, 0)) != 0 || (rv = nng_msg_append(msg, req, len)) != 0) {
		nng_msg_free(msg);
		return upstream_err_from_nng(rv);
	}
	if ((rv = nng_sendmsg(t->sock, msg, 0)) != 0) {
		nng_msg_free(msg); /* ownership moves only on success */
		return upstream_err_from_nng(rv);
	}
	if ((rv = nng_recvmsg(t->sock, &msg, 0)) != 0) {
		return upstream_err_from_nng(rv);
	}
	rv = com_buf_append(reply, nng_msg_body(msg), nng_msg_len(msg));
	nng_msg_free(msg);
	return rv;
}

srv_link
srv_upstream_nng_link(srv_upstream_nng *t)
{
	srv_link l = {upstream_nng_roundtrip, t};

	return l;
}
