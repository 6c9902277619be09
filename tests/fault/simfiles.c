/*
 * simfiles.c: evidence files in the seeded simulations (simfiles.h).
 */
#include "tests/fault/simfiles.h"

#include "tests/lib/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/files.h"
#include "common/store/clock.h"
#include "common/store/fileref.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/files.h"
#include "server/files.h"

static unsigned
sf_rand(unsigned *rng, unsigned n)
{
	return n ? (unsigned)rand_r(rng) % n : 0;
}

int
sf_open(sf_node *n, sto_db *db)
{
	char err[256];

	memset(n, 0, sizeof(*n));
	return cli_files_open(db, &n->b, err, sizeof(err)) == OCOP_OK ? 0 : -1;
}

void
sf_close(sf_node *n)
{
	sto_blobs_close(n->b);
	n->b = NULL;
}

static bool
sf_added(const sf_node *n, const uint8_t sha[STO_SHA_LEN])
{
	int i;

	for (i = 0; i < n->nadded; i++) {
		if (memcmp(n->added[i], sha, STO_SHA_LEN) == 0) {
			return true;
		}
	}
	return false;
}

int
sf_attach(sto_db *db, sf_node *n, const char *dir, const char *dossier, unsigned *rng)
{
	const char *cols[] = {"dossier_id", "kind", "title", "sha256", "size"};
	const char *vals[5];
	uint8_t sha[STO_SHA_LEN];
	char hex[STO_SHA_HEX];
	char size_s[32];
	char path[700];
	char doc[37];
	uint64_t size = 0;
	unsigned seed;
	size_t len;
	size_t i;
	FILE *f;

	if (sf_rand(rng, 3) == 0) {
		/* One of a few contents every site has (a standard form): the same bytes on many documents. */
		unsigned k = sf_rand(rng, 4);
		seed = 0x5eed0000u + k;
		len = 100 + 300 * k;
	} else {
		seed = (unsigned)rand_r(rng);
		len = sf_rand(rng, 2049);
	}
	snprintf(path, sizeof(path), "%s/sf-attach.tmp", dir);
	if ((f = fopen(path, "wb")) == NULL) {
		return -1;
	}
	for (i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		fputc((int)(seed >> 16) & 0xff, f);
	}
	fclose(f);
	if (sto_blobs_add(n->b, path, 1 << 20, sha, &size, NULL) != OCOP_OK) {
		return -1;
	}
	if (!sf_added(n, sha) && n->nadded < SF_MAX_ADDED) {
		memcpy(n->added[n->nadded++], sha, STO_SHA_LEN);
	}
	proto_sha_hex(sha, hex);
	snprintf(size_s, sizeof(size_s), "%llu", (unsigned long long)size);
	vals[0] = dossier;
	vals[1] = "lab_test";
	vals[2] = "Phiếu kiểm nghiệm";
	vals[3] = hex;
	vals[4] = size_s;
	return sto_row_insert(db, "document", cols, vals, 5, doc) == OCOP_OK ? 0 : -1;
}

int
sf_sync(sto_db *db, const sto_policy *pol, sf_node *n, const cli_transport *t, const char *cred,
    const com_fault *fault, char *err, size_t errlen)
{
	cli_files_opts o;
	sto_xfer_stats st;

	memset(&o, 0, sizeof(o));
	o.credential = cred;
	o.send = true;
	o.fetch = true;
	o.fault = fault;
	return cli_files_sync(db, pol, n->b, t, &o, &st, err, errlen);
}

/* ===== The liar ===== */

/* Serve a request built by hand; returns the ERROR code of the reply, or OCOP_OK and *type. */
static int
sf_ask(srv_service *svc, const com_buf *req, uint32_t *type, com_buf *reply)
{
	proto_env env;
	proto_rd body;
	proto_error e;

	com_buf_reset(reply);
	if (srv_handle(svc, req->data, req->len, reply) != OCOP_OK ||
	    proto_env_open(reply->data, reply->len, &env, &body) != OCOP_OK) {
		return OCOP_EINTERNAL;
	}
	*type = env.type;
	if (env.type == PROTO_MSG_ERROR) {
		return proto_error_decode(&body, &e) == OCOP_OK ? (int)e.code : OCOP_EINTERNAL;
	}
	return OCOP_OK;
}

/* Does a live document of scope (as the server places it) name sha? */
static bool
sf_named_in(srv_service *svc, const char *scope, const char *hex)
{
	sqlite3_stmt *st = NULL;
	bool yes = false;

	if (sqlite3_prepare_v2(sto_sqlite(svc->db), "SELECT id FROM document WHERE deleted = 0 AND sha256 = ?1", -1, &st,
		NULL) != SQLITE_OK) {
		return true; /* unknown: not a file to lie about */
	}
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
	while (!yes && sqlite3_step(st) == SQLITE_ROW) {
		char unit[64];
		const char *id = (const char *)sqlite3_column_text(st, 0);
		yes = sto_row_scope(svc->db, "document", id, unit, sizeof(unit)) == OCOP_OK && unit[0] != 0 &&
		      svc->policy->covers(svc->policy->arg, svc->db, scope, unit);
	}
	sqlite3_finalize(st);
	return yes;
}

/*
 * A file the server holds whole, named by live documents outside scope only
 * (sha, size): the same bytes named by a document of the scope too (files are
 * shared across sites) are the site's to fetch, and no lie.
 */
static bool
sf_foreign(srv_service *svc, const char *scope, unsigned *rng, uint8_t sha[STO_SHA_LEN], uint64_t *size)
{
	sqlite3_stmt *st = NULL;
	bool found = false;

	if (sqlite3_prepare_v2(sto_sqlite(svc->db),
		"SELECT id, sha256, size FROM document WHERE deleted = 0 AND length(sha256) = 64 AND size IS NOT NULL"
		" ORDER BY random()",
		-1, &st, NULL) != SQLITE_OK) {
		return false;
	}
	(void)rng;
	while (!found && sqlite3_step(st) == SQLITE_ROW) {
		char unit[64];
		const char *id = (const char *)sqlite3_column_text(st, 0);
		if (proto_sha_parse((const char *)sqlite3_column_text(st, 1), sha) != OCOP_OK ||
		    !sto_blobs_has(srv_files_blobs(svc->files), sha, NULL) ||
		    sto_row_scope(svc->db, "document", id, unit, sizeof(unit)) != OCOP_OK || unit[0] == 0 ||
		    svc->policy->covers(svc->policy->arg, svc->db, scope, unit) ||
		    sf_named_in(svc, scope, (const char *)sqlite3_column_text(st, 1))) {
			continue;
		}
		*size = (uint64_t)sqlite3_column_int64(st, 2);
		found = true;
	}
	sqlite3_finalize(st);
	return found;
}

/* A file of the liar's own, held whole (sha, size), or false. */
static bool
sf_own(sf_node *n, unsigned *rng, uint8_t sha[STO_SHA_LEN], uint64_t *size)
{
	int k;

	if (n->nadded == 0) {
		return false;
	}
	k = (int)sf_rand(rng, (unsigned)n->nadded);
	memcpy(sha, n->added[k], STO_SHA_LEN);
	return sto_blobs_has(n->b, sha, size) && *size > 0 && *size <= 4096;
}

static void
sf_put(const sto_db *liar, const char *cred, const uint8_t sha[STO_SHA_LEN], uint64_t size, uint64_t off,
    const uint8_t *p, size_t len, bool bad_digest, com_buf *req)
{
	proto_file_put m;

	memset(&m, 0, sizeof(m));
	snprintf(m.site, sizeof(m.site), "%s", sto_site_id((sto_db *)liar));
	snprintf(m.credential, sizeof(m.credential), "%s", cred);
	memcpy(m.sha, sha, STO_SHA_LEN);
	m.size = size;
	m.offset = off;
	m.data = p;
	m.len = len;
	proto_chunk_digest(p, len, m.digest);
	if (bad_digest) {
		m.digest[0] ^= 1;
	}
	com_buf_reset(req);
	proto_file_put_encode(req, &m);
}

int
sf_lie(srv_service *svc, sto_db *liar, sf_node *n, const char *cred, int kind_in, unsigned *rng, unsigned seed)
{
	uint8_t sha[STO_SHA_LEN];
	uint8_t buf[4096];
	uint64_t size = 0;
	size_t got = 0;
	uint32_t type = 0;
	com_buf req;
	com_buf reply;
	unsigned kind = kind_in >= 0 ? (unsigned)kind_in : sf_rand(rng, SF_LIE_KINDS);
	int taken = 0;
	int rv;
	size_t i;

	if (svc->files == NULL) {
		return 0;
	}
	com_buf_init(&req);
	com_buf_init(&reply);
	switch (kind) {
	case 0: /* chunks of a file no document of its scope names */
		for (i = 0; i < STO_SHA_LEN; i++) {
			sha[i] = (uint8_t)rand_r(rng);
		}
		memset(buf, 'L', 64);
		sf_put(liar, cred, sha, 64, 0, buf, 64, false, &req);
		if ((rv = sf_ask(svc, &req, &type, &reply)) != OCOP_ESCOPE) {
			print_error("seed %u: a chunk of a file no document names was answered %s\n", seed, ocop_errname(rv));
			taken++;
		}
		break;
	case 1: /* other bytes under the name of one of its own files */
		if (!sf_own(n, rng, sha, &size) || sto_blobs_read(n->b, sha, 0, buf, (size_t)size, &got) != OCOP_OK) {
			break;
		}
		for (i = 0; i < got; i++) {
			buf[i] ^= 0x5a;
		}
		sf_put(liar, cred, sha, size, 0, buf, got, false, &req);
		rv = sf_ask(svc, &req, &type, &reply);
		if (rv != OCOP_OK && rv != OCOP_ESCOPE && rv != OCOP_EBUSY) {
			print_error("seed %u: forged bytes for a name were answered %s\n", seed, ocop_errname(rv));
			taken++;
		}
		/* Whatever the answer, the server holds no file that does not hash to its name (sf_check). */
		if (sto_blobs_has(srv_files_blobs(svc->files), sha, NULL) &&
		    sto_blobs_verify(srv_files_blobs(svc->files), sha) != OCOP_OK) {
			print_error("seed %u: forged bytes became a file at the server\n", seed);
			taken++;
		}
		break;
	case 2: /* another unit's file */
	case 3: /* ... named by a document of its own first */
		if (!sf_foreign(svc, sto_scope(liar), rng, sha, &size)) {
			break;
		}
		if (kind == 3) {
			sqlite3_stmt *st = NULL;
			if (sqlite3_prepare_v2(sto_sqlite(liar),
				"SELECT id FROM dossier WHERE deleted = 0 ORDER BY random() LIMIT 1", -1, &st, NULL) ==
			    SQLITE_OK &&
			    sqlite3_step(st) == SQLITE_ROW) {
				const char *cols[] = {"dossier_id", "kind", "title", "sha256", "size"};
				const char *vals[5];
				char dossier[37];
				char hex[STO_SHA_HEX];
				char size_s[32];
				char doc[37];
				snprintf(dossier, sizeof(dossier), "%s", (const char *)sqlite3_column_text(st, 0));
				proto_sha_hex(sha, hex);
				snprintf(size_s, sizeof(size_s), "%llu", (unsigned long long)size);
				vals[0] = dossier;
				vals[1] = "lab_test";
				vals[2] = "copy";
				vals[3] = hex;
				vals[4] = size_s;
				sqlite3_finalize(st);
				st = NULL;
				sto_row_insert(liar, "document", cols, vals, 5, doc); /* fine if refused */
			}
			sqlite3_finalize(st);
		}
		{
			proto_file_get g;
			memset(&g, 0, sizeof(g));
			snprintf(g.site, sizeof(g.site), "%s", sto_site_id(liar));
			snprintf(g.credential, sizeof(g.credential), "%s", cred);
			memcpy(g.sha, sha, STO_SHA_LEN);
			com_buf_reset(&req);
			proto_file_get_encode(&req, &g);
		}
		if ((rv = sf_ask(svc, &req, &type, &reply)) != OCOP_ESCOPE) {
			print_error("seed %u: another unit's file was answered %s\n", seed, ocop_errname(rv));
			taken++;
		}
		break;
	default: /* a chunk whose digest does not match */
		if (!sf_own(n, rng, sha, &size) || sto_blobs_read(n->b, sha, 0, buf, (size_t)size, &got) != OCOP_OK) {
			break;
		}
		sf_put(liar, cred, sha, size, 0, buf, got, true, &req);
		if ((rv = sf_ask(svc, &req, &type, &reply)) != OCOP_ECORRUPT) {
			print_error("seed %u: a chunk with a wrong digest was answered %s\n", seed, ocop_errname(rv));
			taken++;
		}
		break;
	}
	com_buf_fini(&req);
	com_buf_fini(&reply);
	return taken;
}

/* ===== Oracle ===== */

/* The site that set a document's sha256 (its clock), into out ("" when unknown). */
static void
sf_writer(sto_db *db, const char *doc, char out[40])
{
	char site[37] = "";
	uint64_t hlc = 0;
	int64_t aux = 0;
	bool found = false;

	out[0] = 0;
	if (sto_clock_get(db, "document", doc, "sha256", &hlc, site, &aux, &found) == OCOP_OK && found) {
		snprintf(out, 40, "%s", site);
	}
}

typedef struct sf_walk {
	sto_db *db;          /* the node's replica */
	sto_blobs *b;        /* its files */
	sf_node *n;          /* what a site attached, or NULL for the server */
	const char *site;    /* its site id */
	const char *what;    /* "site 3" or "the server", for messages */
	unsigned seed;       /* the seed */
	int bad;             /* failures */
} sf_walk;

/* Every file a node holds hashes to its name and may be there. */
static int
sf_walk_one(void *arg, const uint8_t sha[STO_SHA_LEN], uint64_t size)
{
	sf_walk *w = arg;
	sqlite3_stmt *st = NULL;
	char hex[STO_SHA_HEX];
	bool may = false;

	(void)size;
	proto_sha_hex(sha, hex);
	if (sto_blobs_verify(w->b, sha) != OCOP_OK) {
		print_error("seed %u: %s holds file %.12s that does not hash to its name\n", w->seed, w->what, hex);
		w->bad++;
	}
	if (w->n != NULL && sf_added(w->n, sha)) {
		return OCOP_OK;
	}
	/* Named by a document this node holds, set by another site than itself. */
	if (sqlite3_prepare_v2(sto_sqlite(w->db), "SELECT id FROM document WHERE sha256 = ?1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_STATIC);
		while (!may && sqlite3_step(st) == SQLITE_ROW) {
			char writer[40];
			sf_writer(w->db, (const char *)sqlite3_column_text(st, 0), writer);
			may = w->n == NULL || strcmp(writer, w->site) != 0;
		}
	}
	sqlite3_finalize(st);
	if (!may) {
		print_error("seed %u: %s holds file %.12s that no document of another site it holds names\n", w->seed,
		    w->what, hex);
		w->bad++;
	}
	return OCOP_OK;
}

int
sf_check(sto_db *server, sto_blobs *sb, const sto_policy *pol, sto_db *const *sites, sf_node *const *nodes,
    const char *const *scopes, int n, unsigned seed)
{
	sqlite3_stmt *st = NULL;
	sf_walk w;
	int bad = 0;
	int i;

	if (sqlite3_prepare_v2(sto_sqlite(server),
		"SELECT id, sha256, size FROM document WHERE deleted = 0 AND length(sha256) = 64 AND size IS NOT NULL",
		-1, &st, NULL) != SQLITE_OK) {
		return 1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);
		const char *hex = (const char *)sqlite3_column_text(st, 1);
		uint64_t size = (uint64_t)sqlite3_column_int64(st, 2);
		uint64_t have = 0;
		uint8_t sha[STO_SHA_LEN];
		char writer[40];
		char unit[64];
		bool at_server;

		if (proto_sha_parse(hex, sha) != OCOP_OK) {
			continue;
		}
		sf_writer(server, id, writer);
		at_server = sto_blobs_has(sb, sha, &have) && have == size;
		/* Its writer had the bytes: the server must have them now. */
		for (i = 0; i < n && !at_server; i++) {
			if (strcmp(sto_site_id(sites[i]), writer) == 0 && sf_added(nodes[i], sha) &&
			    sto_blobs_has(nodes[i]->b, sha, &have) && have == size) {
				print_error("seed %u: file %.12s of document %s never reached the server from site %d\n", seed,
				    hex, id, i);
				bad++;
			}
		}
		if (!at_server) {
			continue;
		}
		sto_row_scope(server, "document", id, unit, sizeof(unit));
		for (i = 0; i < n; i++) {
			bool covered = unit[0] != 0 && pol->covers(pol->arg, server, scopes[i], unit);
			bool own_name = strcmp(sto_site_id(sites[i]), writer) == 0 && !sf_added(nodes[i], sha);
			if (covered && !own_name && !(sto_blobs_has(nodes[i]->b, sha, &have) && have == size)) {
				print_error("seed %u: site %d (%s) lacks file %.12s of document %s of its scope\n", seed, i,
				    scopes[i], hex, id);
				bad++;
			}
		}
	}
	sqlite3_finalize(st);
	for (i = 0; i < n; i++) {
		char what[32];
		snprintf(what, sizeof(what), "site %d", i);
		memset(&w, 0, sizeof(w));
		w.db = sites[i];
		w.b = nodes[i]->b;
		w.n = nodes[i];
		w.site = sto_site_id(sites[i]);
		w.what = what;
		w.seed = seed;
		sto_blobs_each(nodes[i]->b, sf_walk_one, &w);
		bad += w.bad;
	}
	/* The server: no file that does not hash to its name, none no document names. */
	memset(&w, 0, sizeof(w));
	w.db = server;
	w.b = sb;
	w.site = sto_site_id(server);
	w.what = "the server";
	w.seed = seed;
	sto_blobs_each(sb, sf_walk_one, &w);
	bad += w.bad;
	return bad;
}

int
sf_check_relay(sto_db *lower, sto_blobs *lb, sto_db *upper, sto_blobs *ub, unsigned seed)
{
	sqlite3_stmt *st = NULL;
	int bad = 0;

	(void)lower;
	if (sqlite3_prepare_v2(sto_sqlite(upper),
		"SELECT id, sha256, size FROM document WHERE deleted = 0 AND length(sha256) = 64 AND size IS NOT NULL",
		-1, &st, NULL) != SQLITE_OK) {
		return 1;
	}
	while (sqlite3_step(st) == SQLITE_ROW) {
		uint8_t sha[STO_SHA_LEN];
		uint64_t size = (uint64_t)sqlite3_column_int64(st, 2);
		uint64_t have = 0;
		if (proto_sha_parse((const char *)sqlite3_column_text(st, 1), sha) != OCOP_OK) {
			continue;
		}
		if (sto_blobs_has(lb, sha, &have) && have == size && !(sto_blobs_has(ub, sha, &have) && have == size)) {
			print_error("seed %u: file %.12s of relayed document %s never reached the upper server\n", seed,
			    (const char *)sqlite3_column_text(st, 1), (const char *)sqlite3_column_text(st, 0));
			bad++;
		}
	}
	sqlite3_finalize(st);
	return bad;
}
