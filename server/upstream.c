/*
 * upstream.c: the province's side of the national link (see upstream.h and
 * docs/NATIONAL.md): candidates up, national decisions down.
 */
#include "server/upstream.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/link/session.h"
#include "common/ocop/council.h"
#include "common/ocop/registry.h"
#include "common/store/filebundle.h"
#include "common/store/ledger.h"
#include "common/store/log.h"
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

/* HELLO at the national server: who it is, and the batch budget agreed. */
static int
upstream_hello(srv_upstream *u, lnk_session *ss)
{
	int rv;

	if ((rv = lnk_session_hello(ss)) != OCOP_OK) {
		return rv;
	}
	snprintf(u->server_site, sizeof(u->server_site), "%s", ss->hello.server_site);
	return sto_meta_set(u->db, "upstream_site", ss->hello.server_site);
}

/* Keep a change the national server refused in this province's ledger, once. */
static int
upstream_record_rejection(srv_upstream *u, const srv_relay_ref *ref, int code, const char *reason)
{
	char text[700];
	bool known = false;
	int rv;

	if ((rv = sto_ledger_has_rule(u->db, ref->site, ref->seq, "upstream", &known)) != OCOP_OK || known) {
		return rv;
	}
	com_logf(u->log, COM_LOG_WARN, "the national server refused %s seq %" PRIu64 " (%s %s): %s", ref->site,
	    ref->seq, ref->tbl, ref->row, reason);
	snprintf(text, sizeof(text), "refused by the national server (%s): %s", sto_rule_name(code), reason);
	return sto_ledger_put(u->db, ref->tbl, ref->row, NULL, "upstream", text, NULL, 0, NULL, NULL, 0, ref->site,
	    ref->seq);
}

/* Send one relay PUSH and check that the national server processed all of it. */
static int
upstream_send(srv_upstream *u, lnk_session *ss, srv_relay_batch *b, srv_upstream_stats *st, char *err,
    size_t errlen)
{
	proto_push_ok ok;
	proto_rejections_it it;
	proto_rejection r;
	uint64_t seen;
	int rv;

	if ((rv = lnk_session_push(ss, &b->req, &ok)) != OCOP_OK) {
		return rv;
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
upstream_handoff(srv_upstream *u, lnk_session *ss, const srv_handoff_key *k, srv_upstream_stats *st, char *err,
    size_t errlen)
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
	sel.budget = ss->budget;
	srv_relay_batch_init(&b);
	do {
		if ((rv = srv_relay_build(u->db, &sel, after, &b, ctx)) != OCOP_OK) {
			snprintf(err, errlen, "cannot build a relay batch: %s", ocop_strerror(rv));
			break;
		}
		if (b.count > 0 && (rv = upstream_send(u, ss, &b, st, err, errlen)) != OCOP_OK) {
			break;
		}
		total += b.count;
		after = b.scanned_to;
		if (!b.done && !marked && total > 0) {
			/* Part of it is held upstream: the hand-off is under way. */
			marked = true;
			if ((rv = sto_handoff_set_state(u->db, k, "sent", NULL, 0, NULL)) != OCOP_OK) {
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
		sto_handoff_set_state(u->db, k, NULL, NULL, 0, err);
		return rv;
	}
	for (i = 0; i < mdlen; i++) {
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	}
	if ((rv = sto_handoff_set_state(u->db, k, "acknowledged", hex, total, NULL)) != OCOP_OK) {
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
upstream_incremental(srv_upstream *u, lnk_session *ss, srv_upstream_stats *st, char *err, size_t errlen)
{
	srv_relay_sel sel;
	srv_relay_batch b;
	uint64_t after = meta_u64(u->db, "upstream_push_cursor");
	int rounds = UPSTREAM_MAX_ROUNDS;
	int rv = OCOP_OK;

	memset(&sel, 0, sizeof(sel));
	sel.skip_via = u->server_site;
	sel.credential = u->credential;
	sel.budget = ss->budget;
	srv_relay_batch_init(&b);
	do {
		if ((rv = srv_relay_build(u->db, &sel, after, &b, NULL)) != OCOP_OK) {
			snprintf(err, errlen, "cannot build a relay batch: %s", ocop_strerror(rv));
			break;
		}
		if (b.count > 0 && (rv = upstream_send(u, ss, &b, st, err, errlen)) != OCOP_OK) {
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
	return sto_log_mark(u->db, c->site, c->seq, "via", u->server_site);
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
	proto_changes_end(&it);
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

/* What a pulled page needs (lnk_page_fn). */
typedef struct upstream_page_ctx {
	srv_upstream *u;          /* the link */
	uint64_t cursor;          /* where the page starts */
	srv_upstream_stats *st;   /* counters */
} upstream_page_ctx;

/* Merge one page of the national tier's changes with the cursor that covers it. */
static int
upstream_page(void *arg, const proto_pull_ok *ok, char *err, size_t errlen)
{
	upstream_page_ctx *p = arg;
	int rv = upstream_merge_page(p->u, ok, p->cursor, p->st, err, errlen);

	if (rv == OCOP_OK && ok->next_cursor > p->cursor) {
		p->cursor = ok->next_cursor;
	}
	return rv;
}

/* Pull the national tier's changes for this province and merge them. */
static int
upstream_pull(srv_upstream *u, lnk_session *ss, srv_upstream_stats *st)
{
	upstream_page_ctx pc;
	uint64_t cursor = meta_u64(u->db, "upstream_pull_cursor");

	pc.u = u;
	pc.cursor = cursor;
	pc.st = st;
	return lnk_session_pull(ss, &cursor, UPSTREAM_MAX_ROUNDS, upstream_page, &pc);
}

int
srv_upstream_step(srv_upstream *u, const srv_link *link, srv_upstream_stats *st, char *err, size_t errlen)
{
	lnk_session ss;
	lnk_session_opts so;
	srv_handoff_key *keys = NULL;
	size_t nkeys = 0;
	bool said_hello = false;
	size_t i;
	int rv;

	memset(st, 0, sizeof(*st));
	err[0] = 0;
	/* New candidates are recorded even while the link is down: they wait. */
	if ((rv = srv_handoff_scan(u->db, u->council, u->reg, true, &st->new_candidates, err, errlen)) != OCOP_OK) {
		return rv;
	}
	memset(&so, 0, sizeof(so));
	so.transport = link;
	so.site = sto_site_id(u->db);
	so.credential = u->credential;
	so.role = sto_role(u->db);
	so.software = UPSTREAM_SOFTWARE;
	so.schema_version = STO_SCHEMA_VERSION;
	so.peer = "the national server";
	so.peer_role = "national";
	so.max_batch = u->max_batch;
	lnk_session_init(&ss, &so, err, errlen);
	rv = upstream_hello(u, &ss);
	said_hello = rv == OCOP_OK;
	if (rv == OCOP_OK) {
		rv = sto_handoff_pending(u->db, &keys, &nkeys);
	}
	for (i = 0; i < nkeys && rv == OCOP_OK; i++) {
		rv = upstream_handoff(u, &ss, &keys[i], st, err, errlen);
	}
	if (rv != OCOP_OK) {
		/* Every later hand-off waits too; record the failure on them. */
		for (; i < nkeys; i++) {
			sto_handoff_set_state(u->db, &keys[i], NULL, NULL, 0, err);
		}
	}
	com_free(keys);
	/* Later changes only once every full hand-off is acknowledged, so the
	 * incremental cursor never passes a change a waiting tree still needs. */
	if (rv == OCOP_OK) {
		rv = upstream_incremental(u, &ss, st, err, errlen);
	}
	if (rv == OCOP_OK) {
		rv = upstream_pull(u, &ss, st);
	}
	if (rv == OCOP_OK && sto_handoff_mark_decided(u->db, false, &st->decided) != OCOP_OK) {
		snprintf(err, errlen, "cannot record decided hand-offs: %s", sqlite3_errmsg(sto_sqlite(u->db)));
		rv = OCOP_EDB;
	}
	if (rv != OCOP_OK && !said_hello) {
		/* Pending hand-offs before HELLO failed: count the attempt on each. */
		srv_handoff_key *k2 = NULL;
		size_t n2 = 0;
		if (sto_handoff_pending(u->db, &k2, &n2) == OCOP_OK) {
			for (i = 0; i < n2; i++) {
				sto_handoff_set_state(u->db, &k2[i], NULL, NULL, 0, err);
			}
		}
		com_free(k2);
	}
	lnk_session_fini(&ss);
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
	uint8_t key[PROTO_BUNDLE_KEY];
	int rv;

	memset(st, 0, sizeof(*st));
	err[0] = 0;
	/* Whose reply it claims to be first, then whether this province's key authenticates it. */
	if ((rv = proto_bundle_peek(&b.hdr, bundle, len, err, errlen)) != OCOP_OK) {
		return rv;
	}
	if (b.hdr.kind != PROTO_BUNDLE_REPLY || strcmp(b.hdr.site, sto_site_id(u->db)) != 0) {
		snprintf(err, errlen, "this is not a reply for province %s (a %s bundle for %s)", sto_site_id(u->db),
		    proto_bundle_kind_name(b.hdr.kind), b.hdr.site);
		return OCOP_EPROTO;
	}
	if (u->credential[0] == 0 || proto_bundle_key(u->credential, key) != OCOP_OK) {
		snprintf(err, errlen, "this province has no credential at the national server (upstream_enrolment)");
		return OCOP_EINVAL;
	}
	rv = proto_bundle_open(&b, bundle, len, key, err, errlen);
	OPENSSL_cleanse(key, sizeof(key));
	if (rv != OCOP_OK) {
		return rv;
	}
	/* A reply answers one package this province wrote, once, and never an older one after a newer. */
	if (b.hdr.seq > meta_u64(u->db, "handoff_bundle_seq")) {
		snprintf(err, errlen, "the reply answers package %" PRIu64 ", which this province never wrote", b.hdr.seq);
		return OCOP_ESTATE;
	}
	if (b.hdr.seq <= meta_u64(u->db, "upstream_reply_seq")) {
		snprintf(err, errlen, "the reply to package %" PRIu64 " was already applied (the last applied answers %" PRIu64
		    "): a replayed or older file", b.hdr.seq, meta_u64(u->db, "upstream_reply_seq"));
		return OCOP_ESTATE;
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
	if (sto_handoff_mark_decided(u->db, true, &st->decided) != OCOP_OK) {
		snprintf(err, errlen, "cannot record decided hand-offs: %s", sqlite3_errmsg(sto_sqlite(u->db)));
		return OCOP_EDB;
	}
	if ((rv = meta_set_u64(u->db, "upstream_reply_seq", b.hdr.seq)) != OCOP_OK) {
		snprintf(err, errlen, "cannot record the reply: %s", sto_errmsg(u->db));
		return rv;
	}
	return OCOP_OK;
}
