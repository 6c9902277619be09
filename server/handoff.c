/*
 * handoff.c: finding 5-star candidates, recording their hand-offs, building
 * the relay PUSH messages that carry them upstream, noting their arrival at the
 * national server, and hand-off package files (see handoff.h and
 * docs/NATIONAL.md). It never talks to the network.
 */
#include "server/handoff.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/ocop/candidate.h"
#include "common/store/filebundle.h"
#include "common/store/fileref.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "common/store/log.h"
#include "common/store/schema.h"
#include "protocol/bundle.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/files.h"
#include "protocol/session.h"
#include "protocol/wire.h"
#include "server/bundle.h"

#define HANDOFF_MAX_SCAN 20000u

static const char handoff_doc_title[] =
    "Hồ sơ đề nghị đánh giá, phân hạng sản phẩm OCOP 5 sao (Đ6.3), bàn giao cấp trung ương";

static void
col_copy(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static int
handoff_sqlerr(sto_db *db, char *err, size_t errlen, const char *what)
{
	if (err != NULL) {
		snprintf(err, errlen, "%s: %s", what, sqlite3_errmsg(sto_sqlite(db)));
	}
	return sqlite3_errcode(sto_sqlite(db)) == SQLITE_NOMEM ? OCOP_ENOMEM : OCOP_EDB;
}

static void
hex_of(const unsigned char *md, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * n] = 0;
}

/* ===== Candidates ===== */

/* A candidate found by the scan. */
typedef struct cand {
	srv_handoff_key key;   /* dossier, evaluation, version */
	char status[64];       /* the dossier's status */
	const char *send_to;   /* where the hand-off moves it (the flow's), NULL: past that step */
	bool recorded;         /* a hand-off row exists */
} cand;

/*
 * The candidates (common/ocop/candidate.h; not yet checked against the
 * scoring function), each with whether its hand-off is recorded.
 */
static int
handoff_find(sto_db *db, ocp_council *c, cand **out, size_t *n, char *err, size_t errlen)
{
	ocp_candidate *v = NULL;
	size_t m = 0;
	size_t i;
	cand *w;
	int rv;

	*out = NULL;
	*n = 0;
	if ((rv = ocp_candidates_find(c, &v, &m)) != OCOP_OK) {
		if (err != NULL) {
			snprintf(err, errlen, "%s", ocp_council_errmsg(c));
		}
		return rv;
	}
	if (m == 0) {
		return OCOP_OK;
	}
	if ((w = com_calloc(m, sizeof(*w))) == NULL) {
		com_free(v);
		return OCOP_ENOMEM;
	}
	for (i = 0; i < m && rv == OCOP_OK; i++) {
		snprintf(w[i].key.dossier_id, sizeof(w[i].key.dossier_id), "%s", v[i].dossier_id);
		snprintf(w[i].key.evaluation_id, sizeof(w[i].key.evaluation_id), "%s", v[i].evaluation_id);
		w[i].key.version = v[i].version;
		snprintf(w[i].status, sizeof(w[i].status), "%s", v[i].status);
		w[i].send_to = v[i].send_to;
		rv = sto_handoff_has(db, &w[i].key, &w[i].recorded);
	}
	com_free(v);
	if (rv != OCOP_OK) {
		com_free(w);
		return handoff_sqlerr(db, err, errlen, "finding candidates");
	}
	*out = w;
	*n = m;
	return OCOP_OK;
}

/* Does the one scoring function make this evaluation a potential 5★? */
static bool
handoff_potential(ocp_council *c, const char *evaluation_id, double *mean, int *star)
{
	ocp_council_result *r = NULL;
	bool yes;

	if (ocp_council_result_compute(c, evaluation_id, &r) != OCOP_OK) {
		return false;
	}
	yes = r->score->potential_5star;
	if (mean != NULL) {
		*mean = (double)r->score->mean_display / 100.0;
	}
	if (star != NULL) {
		*star = r->score->star;
	}
	ocp_council_result_free(r);
	return yes;
}

/* A live document of kind national_dossier on the dossier? */
static int
handoff_has_doc(sto_db *db, const char *dossier_id, bool *has)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(sto_sqlite(db),
		"SELECT 1 FROM document WHERE dossier_id = ?1 AND kind = 'national_dossier' AND deleted = 0",
		-1, &st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, dossier_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	*has = rc == SQLITE_ROW;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
}

/*
 * The province sends the dossier (Đ7.3): the national dossier document and
 * the move to sent_national, as this server's own writes through the registry.
 */
static int
handoff_send_dossier(sto_db *db, ocp_reg *reg, const cand *k, char *err, size_t errlen)
{
	ocp_field f[3];
	char id[37];
	bool has = false;
	int rv;

	if (k->send_to == NULL) {
		return OCOP_OK;
	}
	if ((rv = handoff_has_doc(db, k->key.dossier_id, &has)) != OCOP_OK) {
		return handoff_sqlerr(db, err, errlen, "reading documents");
	}
	if (!has) {
		f[0].col = "dossier_id";
		f[0].val = k->key.dossier_id;
		f[1].col = "kind";
		f[1].val = "national_dossier";
		f[2].col = "title";
		f[2].val = handoff_doc_title;
		if ((rv = ocp_reg_add(reg, "document", f, 3, id)) != OCOP_OK) {
			snprintf(err, errlen, "dossier %s: cannot add the national dossier document: %s",
			    k->key.dossier_id, ocp_reg_errmsg(reg));
			return rv;
		}
	}
	if ((rv = ocp_reg_dossier_move(reg, k->key.dossier_id, k->send_to, NULL, NULL)) != OCOP_OK) {
		snprintf(err, errlen, "dossier %s: cannot move it to %s: %s", k->key.dossier_id, k->send_to,
		    ocp_reg_errmsg(reg));
		return rv;
	}
	return OCOP_OK;
}

int
srv_handoff_scan(sto_db *db, ocp_council *c, ocp_reg *reg, bool record, uint32_t *added, char *err,
    size_t errlen)
{
	cand *v = NULL;
	size_t n = 0;
	size_t i;
	int rv;

	if (added != NULL) {
		*added = 0;
	}
	if ((rv = handoff_find(db, c, &v, &n, err, errlen)) != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		if (v[i].recorded || !record || !handoff_potential(c, v[i].key.evaluation_id, NULL, NULL)) {
			continue;
		}
		/* The registry writes first: a crash before the hand-off row leaves a
		 * dossier in sent_national with its document, which the next scan finds
		 * again (sent_national is a candidate status) and records. */
		if (reg != NULL && handoff_send_dossier(db, reg, &v[i], err, errlen) != OCOP_OK) {
			/* Not fatal: the candidate still goes; the operator sees the message. */
			com_logf(sto_log(db), COM_LOG_WARN, "%s", err);
		}
		if ((rv = sto_handoff_record(db, &v[i].key)) != OCOP_OK) {
			snprintf(err, errlen, "recording a hand-off: %s", sto_errmsg(db));
		} else if (added != NULL) {
			(*added)++;
		}
	}
	com_free(v);
	return rv;
}

/* ===== Listing ===== */

static json_t *
handoff_row_json(sto_db *db, ocp_council *c, const srv_handoff_key *k, const char *state,
    bool recorded, sqlite3_stmt *h)
{
	sqlite3_stmt *st = NULL;
	json_t *o = json_object();
	double mean = 0;
	int star = 0;
	bool potential;

	if (o == NULL) {
		return NULL;
	}
	potential = handoff_potential(c, k->evaluation_id, &mean, &star);
	json_object_set_new(o, "dossier_id", json_string(k->dossier_id));
	json_object_set_new(o, "evaluation_id", json_string(k->evaluation_id));
	json_object_set_new(o, "version", json_integer(k->version));
	json_object_set_new(o, "state", json_string(state));
	json_object_set_new(o, "recorded", json_boolean(recorded));
	if (sqlite3_prepare_v2(sto_sqlite(db),
		"SELECT p.name, d.unit_code, d.status FROM dossier d LEFT JOIN product p ON p.id = d.product_id"
		" WHERE d.id = ?1",
		-1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, k->dossier_id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			char t[256];
			col_copy(st, 0, t, sizeof(t));
			json_object_set_new(o, "product", json_string(t));
			col_copy(st, 1, t, sizeof(t));
			json_object_set_new(o, "unit_code", json_string(t));
			col_copy(st, 2, t, sizeof(t));
			json_object_set_new(o, "status", json_string(t));
		}
	}
	sqlite3_finalize(st);
	json_object_set_new(o, "mean", json_real(mean));
	json_object_set_new(o, "star", json_integer(star));
	json_object_set_new(o, "potential_5star", json_boolean(potential));
	if (h != NULL) {
		char t[700];
		json_object_set_new(o, "changes", json_integer(sqlite3_column_int64(h, 5)));
		col_copy(h, 4, t, sizeof(t));
		json_object_set_new(o, "package_sha256", t[0] ? json_string(t) : json_null());
		json_object_set_new(o, "attempts", json_integer(sqlite3_column_int64(h, 6)));
		col_copy(h, 7, t, sizeof(t));
		json_object_set_new(o, "last_error", t[0] ? json_string(t) : json_null());
		col_copy(h, 8, t, sizeof(t));
		json_object_set_new(o, "updated", json_string(t));
	} else {
		json_object_set_new(o, "changes", json_integer(0));
		json_object_set_new(o, "package_sha256", json_null());
		json_object_set_new(o, "attempts", json_integer(0));
		json_object_set_new(o, "last_error", json_null());
		json_object_set_new(o, "updated", json_null());
	}
	return o;
}

int
srv_handoff_list(sto_db *db, ocp_council *c, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	cand *v = NULL;
	size_t n = 0;
	size_t i;
	int rc;
	int rv;

	*out = NULL;
	if (arr == NULL) {
		return OCOP_ENOMEM;
	}
	if (sqlite3_prepare_v2(sto_sqlite(db),
		"SELECT dossier_id, evaluation_id, version, state, package_sha256, changes, attempts,"
		" last_error, updated FROM handoff ORDER BY created, dossier_id, version",
		-1, &st, NULL) != SQLITE_OK) {
		json_decref(arr);
		return OCOP_EDB;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		srv_handoff_key k;
		char state[16];
		col_copy(st, 0, k.dossier_id, sizeof(k.dossier_id));
		col_copy(st, 1, k.evaluation_id, sizeof(k.evaluation_id));
		k.version = sqlite3_column_int64(st, 2);
		col_copy(st, 3, state, sizeof(state));
		json_array_append_new(arr, handoff_row_json(db, c, &k, state, true, st));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(arr);
		return OCOP_EDB;
	}
	/* Candidates the upstream loop has not recorded yet are waiting too. */
	if ((rv = handoff_find(db, c, &v, &n, NULL, 0)) != OCOP_OK) {
		json_decref(arr);
		return rv;
	}
	for (i = 0; i < n; i++) {
		if (!v[i].recorded && handoff_potential(c, v[i].key.evaluation_id, NULL, NULL)) {
			json_array_append_new(arr, handoff_row_json(db, c, &v[i].key, "waiting", false, NULL));
		}
	}
	com_free(v);
	*out = arr;
	return OCOP_OK;
}

/* ===== Relay PUSH messages ===== */

void
srv_relay_batch_init(srv_relay_batch *b)
{
	memset(b, 0, sizeof(*b));
	com_buf_init(&b->req);
}

void
srv_relay_batch_fini(srv_relay_batch *b)
{
	com_buf_fini(&b->req);
	com_free(b->refs);
	memset(b, 0, sizeof(*b));
}

/* Fill temp.relay_rows with the rows of the selected trees. Inside the caller's transaction. */
static int
relay_rows(sto_db *db, const srv_handoff_key *k)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sto_exec(db, "CREATE TEMP TABLE IF NOT EXISTS relay_rows (tbl TEXT NOT NULL,"
			 " row_id TEXT NOT NULL, PRIMARY KEY (tbl, row_id)) WITHOUT ROWID;"
			 "DELETE FROM temp.relay_rows") != OCOP_OK) {
		return OCOP_EDB;
	}
	rc = sqlite3_prepare_v2(sto_sqlite(db),
	    k != NULL ? "INSERT OR IGNORE INTO temp.relay_rows SELECT tbl, row_id FROM handoff_tree"
			" WHERE dossier_id = ?1 AND evaluation_id = ?2 AND version = ?3"
		      : "INSERT OR IGNORE INTO temp.relay_rows SELECT tbl, row_id FROM handoff_tree",
	    -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return OCOP_EDB;
	}
	if (k != NULL) {
		sqlite3_bind_text(st, 1, k->dossier_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, k->evaluation_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, k->version);
	}
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
}

static void
relay_digest(void *digest, const proto_change *c)
{
	char head[160];
	int n;

	if (digest == NULL) {
		return;
	}
	n = snprintf(head, sizeof(head), "%s\n%" PRIu64 "\n%s\n%s\n%" PRIu64 "\n", c->site, c->seq, c->tbl,
	    c->row, c->hlc);
	EVP_DigestUpdate(digest, head, (size_t)n);
	EVP_DigestUpdate(digest, c->cells, c->cells_len);
}

static int
relay_ref_add(srv_relay_batch *b, const proto_change *c)
{
	if (b->count == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 64;
		srv_relay_ref *nv = com_realloc(b->refs, ncap * sizeof(*nv));
		if (nv == NULL) {
			return OCOP_ENOMEM;
		}
		b->refs = nv;
		b->cap = ncap;
	}
	snprintf(b->refs[b->count].site, sizeof(b->refs[0].site), "%s", c->site);
	b->refs[b->count].seq = c->seq;
	snprintf(b->refs[b->count].tbl, sizeof(b->refs[0].tbl), "%s", c->tbl);
	snprintf(b->refs[b->count].row, sizeof(b->refs[0].row), "%s", c->row);
	return OCOP_OK;
}

int
srv_relay_build(sto_db *db, const srv_relay_sel *sel, uint64_t after, srv_relay_batch *b, void *digest)
{
	sqlite3_stmt *in = NULL;
	sto_log_filter f;
	sto_log_it it;
	sto_logged e;
	proto_batch pb;
	proto_push hdr;
	uint64_t max_scan = sel->max_scan ? sel->max_scan : HANDOFF_MAX_SCAN;
	uint64_t scanned = 0;
	bool stopped = false;
	int rv;

	com_buf_reset(&b->req);
	b->count = 0;
	b->scanned_to = after;
	b->done = false;
	memset(&hdr, 0, sizeof(hdr));
	snprintf(hdr.site, sizeof(hdr.site), "%s", sto_site_id(db));
	snprintf(hdr.credential, sizeof(hdr.credential), "%s", sel->credential ? sel->credential : "");
	hdr.sender_hlc = sto_hlc(db)->last;
	if ((rv = proto_push_begin(&pb, &b->req, &hdr, sel->budget ? sel->budget : SRV_DEFAULT_BATCH)) != OCOP_OK) {
		return rv;
	}
	/* One read transaction: the tree and the log are seen at the same moment. */
	if ((rv = sto_exec(db, "BEGIN")) != OCOP_OK) {
		proto_batch_abandon(&pb);
		return rv;
	}
	if ((rv = relay_rows(db, sel->key)) != OCOP_OK ||
	    sqlite3_prepare_v2(sto_sqlite(db), "SELECT 1 FROM temp.relay_rows WHERE tbl = ?1 AND row_id = ?2", -1, &in,
		NULL) != SQLITE_OK) {
		sto_rollback(db);
		proto_batch_abandon(&pb);
		return OCOP_EDB;
	}
	/* What came from the peer (its relays) never goes back to it. */
	memset(&f, 0, sizeof(f));
	f.after_lsn = after;
	f.peer = sel->skip_via != NULL && sel->skip_via[0] != 0 ? sel->skip_via : NULL;
	f.relays_only = true;
	if ((rv = sto_log_open(&it, db, &f)) == OCOP_OK) {
		while ((rv = sto_log_next(&it, &e)) == OCOP_OK) {
			bool member;

			if (scanned++ >= max_scan) {
				stopped = true;
				break;
			}
			sqlite3_reset(in);
			sqlite3_bind_text(in, 1, e.c.tbl, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(in, 2, e.c.row, -1, SQLITE_TRANSIENT);
			member = sqlite3_step(in) == SQLITE_ROW;
			if (member) {
				rv = proto_batch_add(&pb, &e.c);
				if (rv == OCOP_ETOOBIG) {
					rv = OCOP_OK;
					stopped = true;
					break; /* it goes first in the next batch */
				}
				if (rv == OCOP_EINVAL) {
					rv = OCOP_OK; /* a record that would not decode is never sent */
				} else if (rv == OCOP_OK) {
					if ((rv = relay_ref_add(b, &e.c)) != OCOP_OK) {
						break;
					}
					b->count++;
					relay_digest(digest, &e.c);
				} else {
					break;
				}
			}
			b->scanned_to = e.lsn;
		}
		if (rv == OCOP_ENOENT) {
			rv = OCOP_OK;
			b->done = !stopped;
		}
	}
	sto_log_close(&it);
	sqlite3_finalize(in);
	sto_rollback(db); /* a read transaction: nothing to keep (the temp table is scratch) */
	if (rv != OCOP_OK) {
		proto_batch_abandon(&pb);
		return rv;
	}
	return proto_push_end(&pb);
}

int
srv_handoff_digest(sto_db *db, const srv_handoff_key *k, const char *skip_via, char hex[SRV_HANDOFF_SHA_HEX])
{
	srv_relay_sel sel;
	srv_relay_batch b;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint64_t after = 0;
	int rv = OCOP_OK;

	hex[0] = 0;
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return OCOP_ENOMEM;
	}
	memset(&sel, 0, sizeof(sel));
	sel.key = k;
	sel.skip_via = skip_via;
	sel.budget = PROTO_MAX_MESSAGE / 2;
	srv_relay_batch_init(&b);
	do {
		if ((rv = srv_relay_build(db, &sel, after, &b, ctx)) != OCOP_OK) {
			break;
		}
		after = b.scanned_to;
	} while (!b.done);
	srv_relay_batch_fini(&b);
	if (rv == OCOP_OK && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1) {
		hex_of(md, mdlen, hex);
	}
	EVP_MD_CTX_free(ctx);
	return rv;
}

/* ===== National side ===== */

/* ===== Package files ===== */

/* Read a meta value as an unsigned number (0 when absent). */
static uint64_t
handoff_meta_u64(sto_db *db, const char *key)
{
	char *v = NULL;
	uint64_t n = 0;

	if (sto_meta_get(db, key, &v) == OCOP_OK) {
		n = strtoull(v, NULL, 10);
		com_free(v);
	}
	return n;
}

/* The candidate's evidence files after its rows (common/store/filebundle.h). */
static int
handoff_export_files(sto_db *db, const srv_handoff_key *k, const char *credential, sto_blobs *files,
    const char *server, proto_bundle_wr *bw)
{
	sto_filebundle_stats fst;
	sto_fileref *refs = NULL;
	size_t n = 0;
	int rv;

	memset(&fst, 0, sizeof(fst));
	if ((rv = sto_files_of_dossier(db, k->dossier_id, &refs, &n)) != OCOP_OK) {
		return rv;
	}
	rv = sto_filebundle_request(db, files, sto_site_id(db), credential, server, refs, n, UINT64_MAX, bw, &fst);
	com_free(refs);
	return rv;
}

int
srv_handoff_export(sto_db *db, const srv_handoff_key *k, const char *credential, sto_blobs *files, com_buf *out,
    char sha[SRV_HANDOFF_SHA_HEX], uint64_t *changes)
{
	srv_relay_sel sel;
	srv_relay_batch b;
	proto_bundle_hdr hdr;
	proto_bundle_wr bw;
	proto_hello h;
	proto_ack ack;
	proto_pull pull;
	com_buf msg;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *server = NULL;
	uint64_t after = 0;
	uint64_t total = 0;
	uint64_t cursor = handoff_meta_u64(db, "upstream_pull_cursor");
	uint64_t seq = handoff_meta_u64(db, "handoff_bundle_seq") + 1;
	uint8_t key[PROTO_BUNDLE_KEY];
	char seqtext[32];
	size_t start;
	int rv;

	if (credential == NULL || credential[0] == 0 || proto_bundle_key(credential, key) != OCOP_OK) {
		EVP_MD_CTX_free(ctx);
		return OCOP_EINVAL;
	}
	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return OCOP_ENOMEM;
	}
	/* Numbered before it is written: a number is never used for two packages. */
	snprintf(seqtext, sizeof(seqtext), "%" PRIu64, seq);
	if ((rv = sto_meta_set(db, "handoff_bundle_seq", seqtext)) != OCOP_OK) {
		EVP_MD_CTX_free(ctx);
		return rv;
	}
	memset(&hdr, 0, sizeof(hdr));
	hdr.kind = PROTO_BUNDLE_REQUEST;
	snprintf(hdr.site, sizeof(hdr.site), "%s", sto_site_id(db));
	if (sto_meta_get(db, "upstream_site", &server) == OCOP_OK) {
		snprintf(hdr.server, sizeof(hdr.server), "%s", server);
		com_free(server);
	}
	hdr.created_ms = (uint64_t)time(NULL) * 1000u;
	hdr.seq = seq;
	start = out->len;
	com_buf_init(&msg);
	srv_relay_batch_init(&b);
	if ((rv = proto_bundle_begin(&bw, out, &hdr)) != OCOP_OK) {
		EVP_MD_CTX_free(ctx);
		com_buf_fini(&msg);
		return rv;
	}
	/* The session a province would run online: HELLO, the relay PUSHes, ACK, PULL. */
	memset(&h, 0, sizeof(h));
	snprintf(h.site, sizeof(h.site), "%s", sto_site_id(db));
	h.credential[0] = 0; /* the package's MAC authenticates it: no secret inside */
	h.protocol_version = PROTO_VERSION;
	h.schema_version = STO_SCHEMA_VERSION;
	snprintf(h.role, sizeof(h.role), "%s", sto_role(db));
	snprintf(h.software, sizeof(h.software), "ocopd %s", OCOP_VERSION_STRING);
	if ((rv = proto_hello_encode(&msg, &h)) == OCOP_OK) {
		rv = proto_bundle_add(&bw, msg.data, msg.len);
	}
	memset(&sel, 0, sizeof(sel));
	sel.key = k;
	sel.credential = "";
	sel.budget = SRV_DEFAULT_BATCH;
	while (rv == OCOP_OK) {
		if ((rv = srv_relay_build(db, &sel, after, &b, ctx)) != OCOP_OK) {
			break;
		}
		after = b.scanned_to;
		if (b.count > 0) {
			total += b.count;
			rv = proto_bundle_add(&bw, b.req.data, b.req.len);
		}
		if (b.done) {
			break;
		}
	}
	if (rv == OCOP_OK) {
		memset(&ack, 0, sizeof(ack));
		snprintf(ack.site, sizeof(ack.site), "%s", h.site);
		snprintf(ack.credential, sizeof(ack.credential), "%s", h.credential);
		ack.cursor = cursor;
		com_buf_reset(&msg);
		if ((rv = proto_ack_encode(&msg, &ack)) == OCOP_OK) {
			rv = proto_bundle_add(&bw, msg.data, msg.len);
		}
	}
	if (rv == OCOP_OK) {
		memset(&pull, 0, sizeof(pull));
		snprintf(pull.site, sizeof(pull.site), "%s", h.site);
		snprintf(pull.credential, sizeof(pull.credential), "%s", h.credential);
		pull.cursor = cursor;
		pull.max_bytes = SRV_DEFAULT_BATCH;
		com_buf_reset(&msg);
		if ((rv = proto_pull_encode(&msg, &pull)) == OCOP_OK) {
			rv = proto_bundle_add(&bw, msg.data, msg.len);
		}
	}
	if (rv == OCOP_OK && files != NULL) {
		rv = handoff_export_files(db, k, h.credential, files, hdr.server, &bw);
	}
	if (rv == OCOP_OK) {
		rv = proto_bundle_end(&bw, key); /* rewinds out itself on error */
	} else {
		out->len = start; /* drop what was begun */
	}
	srv_relay_batch_fini(&b);
	com_buf_fini(&msg);
	OPENSSL_cleanse(key, sizeof(key));
	if (rv == OCOP_OK && EVP_DigestFinal_ex(ctx, md, &mdlen) != 1) {
		rv = OCOP_ENOMEM;
	}
	EVP_MD_CTX_free(ctx);
	if (rv == OCOP_OK) {
		if (sha != NULL) {
			hex_of(md, mdlen, sha);
		}
		if (changes != NULL) {
			*changes = total;
		}
	}
	return rv;
}

/* Serve one message; an ERROR reply becomes its code with the text in err. */
static int
import_call(srv_service *svc, const srv_caller *who, const uint8_t *m, size_t mlen, uint32_t type, uint32_t i,
    com_buf *reply, proto_rd *body, char *err, size_t errlen)
{
	proto_env env;
	proto_error e;
	int rv;

	com_buf_reset(reply);
	if ((rv = srv_handle_from(svc, who, m, mlen, reply)) != OCOP_OK) {
		return rv;
	}
	if (proto_env_open(reply->data, reply->len, &env, body) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	if (env.type == PROTO_MSG_ERROR) {
		rv = proto_error_decode(body, &e) == OCOP_OK && e.code > 0 && e.code < OCOP_ERR_COUNT_ ? (int)e.code
												 : OCOP_EPROTO;
		snprintf(err, errlen, "the server refused message %u (%s): %s", i, proto_msg_name(type),
		    rv == OCOP_EPROTO ? "malformed error" : e.text);
		return rv;
	}
	return env.type == type + 1 ? OCOP_OK : OCOP_EPROTO; /* HELLO -> HELLO_OK, ... */
}

/*
 * A file message of the package (FILES, FILE_PUT), served as online with its
 * answer into the reply (bw may be NULL); a refused chunk stops only its file.
 */
static int
import_file_msg(srv_service *svc, const srv_caller *who, const uint8_t *m, size_t mlen, uint32_t type,
    proto_bundle_wr *bw, com_buf *reply, srv_handoff_import_stats *st)
{
	proto_env env;
	proto_rd body;
	proto_file_put_ok ok;
	proto_file_put put;
	int rv;

	com_buf_reset(reply);
	if ((rv = srv_handle_from(svc, who, m, mlen, reply)) != OCOP_OK) {
		return rv;
	}
	if (proto_env_open(reply->data, reply->len, &env, &body) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	if (env.type == PROTO_MSG_ERROR) {
		st->file_chunks_refused += type == PROTO_MSG_FILE_PUT;
		return OCOP_OK;
	}
	if (env.type == PROTO_MSG_FILE_PUT_OK && proto_file_put_ok_decode(&body, &ok) == OCOP_OK && ok.whole) {
		proto_env renv;
		proto_rd rbody;
		if (proto_env_open(m, mlen, &renv, &rbody) == OCOP_OK && proto_file_put_decode(&rbody, &put) == OCOP_OK &&
		    put.offset + put.len == put.size) {
			st->files++;
		}
	}
	return bw != NULL ? proto_bundle_add(bw, reply->data, reply->len) : OCOP_OK;
}

/* The package's dossier: the first dossier row a PUSH carries. */
static void
import_dossier(const uint8_t *m, size_t mlen, char out[37])
{
	proto_env env;
	proto_rd pb;
	proto_push push;
	proto_changes_it cit;
	proto_change c;

	if (out[0] != 0 || proto_env_open(m, mlen, &env, &pb) != OCOP_OK || proto_push_decode(&pb, &push) != OCOP_OK) {
		return;
	}
	proto_changes_iter(&cit, &push.changes);
	while (proto_changes_next(&cit, &c) == OCOP_OK) {
		if (strcmp(c.tbl, "dossier") == 0) {
			snprintf(out, 37, "%s", c.row);
			proto_changes_end(&cit);
			return;
		}
	}
	proto_changes_end(&cit);
}

/* Serve the package's PULL, then PULLs from each page's next cursor until done, every page into bw. */
static int
import_pull(srv_service *svc, const srv_caller *who, const proto_pull *first, proto_bundle_wr *bw, com_buf *reply,
    uint32_t i, char *err, size_t errlen)
{
	proto_pull m = *first;
	proto_pull_ok ok;
	proto_rd body;
	com_buf req;
	int pages = 0;
	int rv;

	com_buf_init(&req);
	for (;;) {
		com_buf_reset(&req);
		if ((rv = proto_pull_encode(&req, &m)) != OCOP_OK ||
		    (rv = import_call(svc, who, req.data, req.len, PROTO_MSG_PULL, i, reply, &body, err, errlen)) != OCOP_OK) {
			break;
		}
		if (proto_pull_ok_decode(&body, &ok) != OCOP_OK) {
			rv = OCOP_EPROTO;
			break;
		}
		if (bw != NULL && (rv = proto_bundle_add(bw, reply->data, reply->len)) != OCOP_OK) {
			break;
		}
		/* Without a reply file one page is enough; with one, bounded. */
		if (bw == NULL || !ok.more || ok.next_cursor <= m.cursor || ++pages >= 4096) {
			break;
		}
		m.cursor = ok.next_cursor;
	}
	com_buf_fini(&req);
	return rv;
}

int
srv_handoff_import(srv_service *svc, const uint8_t *pkg, size_t len, com_buf *reply_out,
    srv_handoff_import_stats *st, char *err, size_t errlen)
{
	proto_bundle bundle;
	proto_bundle_it it;
	proto_bundle_hdr h;
	proto_bundle_wr bw;
	proto_pull pull;
	com_buf reply;
	srv_peer peer;
	srv_caller who;
	uint8_t key[PROTO_BUNDLE_KEY];
	const uint8_t *m;
	size_t mlen;
	uint32_t type;
	uint32_t i = 0;
	int rv;

	memset(st, 0, sizeof(*st));
	err[0] = 0;
	/* The whole file is authenticated and verified (the province's key, its
	 * number, every message, their order) before anything is served. */
	if ((rv = srv_bundle_verify(svc->db, pkg, len, &bundle, &peer, key, err, errlen)) != OCOP_OK) {
		return rv;
	}
	memset(&who, 0, sizeof(who));
	who.via = SRV_VIA_BUNDLE;
	who.addr = "";
	who.site = bundle.hdr.site;
	snprintf(st->province, sizeof(st->province), "%s", bundle.hdr.site);
	st->seq = bundle.hdr.seq;
	/* The reply's header needs the PULL's cursor, and the PULL comes last. */
	memset(&pull, 0, sizeof(pull));
	proto_bundle_iter(&it, &bundle);
	while (proto_bundle_next(&it, &m, &mlen, &type) == OCOP_OK) {
		proto_env env;
		proto_rd body;
		if (type == PROTO_MSG_PULL && proto_env_open(m, mlen, &env, &body) == OCOP_OK) {
			proto_pull_decode(&body, &pull);
		}
	}
	if (reply_out != NULL) {
		memset(&h, 0, sizeof(h));
		h.kind = PROTO_BUNDLE_REPLY;
		snprintf(h.site, sizeof(h.site), "%s", bundle.hdr.site);
		snprintf(h.server, sizeof(h.server), "%s", sto_site_id(svc->db));
		h.created_ms = (uint64_t)time(NULL) * 1000u;
		h.pull_from = pull.cursor;
		h.seq = bundle.hdr.seq; /* the package this reply answers */
		if ((rv = proto_bundle_begin(&bw, reply_out, &h)) != OCOP_OK) {
			OPENSSL_cleanse(key, sizeof(key));
			return rv;
		}
	}
	com_buf_init(&reply);
	proto_bundle_iter(&it, &bundle);
	while ((rv = proto_bundle_next(&it, &m, &mlen, &type)) == OCOP_OK) {
		proto_rd body;

		i++;
		if (type == PROTO_MSG_PULL) {
			rv = import_pull(svc, &who, &pull, reply_out ? &bw : NULL, &reply, i, err, errlen);
		} else if (type == PROTO_MSG_FILES || type == PROTO_MSG_FILE_PUT) {
			rv = import_file_msg(svc, &who, m, mlen, type, reply_out ? &bw : NULL, &reply, st);
		} else if ((rv = import_call(svc, &who, m, mlen, type, i, &reply, &body, err, errlen)) == OCOP_OK) {
			if (type == PROTO_MSG_PUSH) {
				proto_push_ok ok;
				if (proto_push_ok_decode(&body, &ok) != OCOP_OK) {
					rv = OCOP_EPROTO;
					break;
				}
				st->messages++;
				st->applied += ok.applied;
				st->duplicates += ok.duplicates;
				st->rejected += ok.rejections.count;
				import_dossier(m, mlen, st->dossier_id);
			}
			if (reply_out != NULL) {
				rv = proto_bundle_add(&bw, reply.data, reply.len);
			}
		}
		if (rv != OCOP_OK) {
			break;
		}
	}
	com_buf_fini(&reply);
	if (rv != OCOP_ENOENT) {
		if (reply_out != NULL) {
			reply_out->len = bw.start;
		}
		OPENSSL_cleanse(key, sizeof(key));
		return rv == OCOP_OK ? OCOP_EINTERNAL : rv;
	}
	rv = reply_out != NULL ? proto_bundle_end(&bw, key) : OCOP_OK;
	OPENSSL_cleanse(key, sizeof(key));
	return rv;
}

/* ===== Arrivals at the national server ===== */

int
srv_handoff_arrivals(sto_db *db, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();

	if (sqlite3_prepare_v2(sto_sqlite(db),
		"SELECT a.dossier_id, a.evaluation_id, a.version, a.province_site, a.arrived, d.status,"
		" (SELECT p.name FROM product p WHERE p.id = d.product_id), d.unit_code,"
		" (SELECT x.star FROM decision x WHERE x.dossier_id = a.dossier_id AND x.kind = 'national_result'"
		"  AND x.deleted = 0 ORDER BY x.id DESC LIMIT 1)"
		" FROM arrival a LEFT JOIN dossier d ON d.id = a.dossier_id ORDER BY a.arrived, a.dossier_id",
		-1, &st, NULL) != SQLITE_OK) {
		json_decref(arr);
		*out = NULL;
		return OCOP_EDB;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		json_t *o = json_object();
		static const char *const keys[] = {"dossier_id", "evaluation_id", NULL, "province_site", "arrived",
		    "status", "product", "unit_code"};
		int i;
		for (i = 0; i < 8; i++) {
			if (keys[i] != NULL) {
				const unsigned char *t = sqlite3_column_text(st, i);
				json_object_set_new(o, keys[i], json_string(t ? (const char *)t : ""));
			}
		}
		json_object_set_new(o, "version", json_integer(sqlite3_column_int64(st, 2)));
		json_object_set_new(o, "state", json_string(sqlite3_column_type(st, 8) == SQLITE_NULL ? "received"
												: "decided"));
		json_object_set_new(o, "national_star", sqlite3_column_type(st, 8) == SQLITE_NULL
							    ? json_null()
							    : json_integer(sqlite3_column_int64(st, 8)));
		json_array_append_new(arr, o);
	}
	sqlite3_finalize(st);
	*out = arr;
	return arr != NULL ? OCOP_OK : OCOP_ENOMEM;
}

