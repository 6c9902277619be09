/*
 * unit.server.files: the evidence-file exchange end to end in one process:
 * sites (common/store/xfer.c through client/files.c) and a provincial server
 * (server/files.c behind srv_handle), over a transport seam that counts the
 * bytes, cuts the link mid-file, damages chunks (with a valid frame, so only
 * the chunk's digest can tell) and replays old requests. And what a hostile
 * site tries: another unit's file, a file named by a document of its own,
 * wrong bytes for a name, a file too big, more unfinished uploads than its
 * quota, an upload never finished; releasing files nothing names.
 */
#include "tests/lib/testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/files.h"
#include "client/sync.h"
#include "common/ocop/policy.h"
#include "common/store/blob.h"
#include "common/store/fileref.h"
#include "common/store/xfer.h"
#include "common/util/alloc.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/files.h"
#include "server/files.h"
#include "server/registry.h"
#include "server/service.h"

#define CHUNK 4096u
#define QUOTA (256u * 1024u) /* unfinished uploads one site may leave */

/* ===== the link between a site and the server ===== */

typedef struct flink {
	srv_service *svc;   /* the server */
	int cut_after;      /* chunk requests served before the flink fails (-1: never) */
	bool lose_reply;    /* when cut: the request was served, its reply lost (else never delivered) */
	int damage;         /* damage the chunk of the n-th chunk request (1-based; 0: none) */
	int chunk_reqs;     /* chunk requests seen */
	uint64_t put_bytes; /* FILE_PUT chunk bytes delivered to the server */
	uint64_t data_bytes; /* FILE_DATA chunk bytes delivered to the site */
	com_buf last_put;   /* the last FILE_PUT delivered, for replays */
} flink;

/* Re-encode a FILE_PUT or FILE_DATA with one byte of its chunk flipped and its digest kept. */
static void
damage(com_buf *msg)
{
	proto_env env;
	proto_rd body;
	uint8_t *copy;
	com_buf out;

	assert_ok(proto_env_open(msg->data, msg->len, &env, &body));
	com_buf_init(&out);
	if (env.type == PROTO_MSG_FILE_PUT) {
		proto_file_put p;
		assert_ok(proto_file_put_decode(&body, &p));
		copy = test_malloc(p.len);
		memcpy(copy, p.data, p.len);
		copy[p.len / 2] ^= 0x01;
		p.data = copy;
		assert_ok(proto_file_put_encode(&out, &p));
	} else {
		proto_file_data d;
		assert_int_equal(env.type, PROTO_MSG_FILE_DATA);
		assert_ok(proto_file_data_decode(&body, &d));
		copy = test_malloc(d.len);
		memcpy(copy, d.data, d.len);
		copy[d.len / 2] ^= 0x01;
		d.data = copy;
		assert_ok(proto_file_data_encode(&out, &d));
	}
	com_buf_reset(msg);
	assert_ok(com_buf_append(msg, out.data, out.len));
	com_buf_fini(&out);
	test_free(copy);
}

/* Chunk bytes of a framed FILE_PUT or FILE_DATA (0 for anything else). */
static size_t
chunk_len(const uint8_t *p, size_t len)
{
	proto_env env;
	proto_rd body;
	proto_file_put put;
	proto_file_data d;

	if (proto_env_open(p, len, &env, &body) != OCOP_OK) {
		return 0;
	}
	if (env.type == PROTO_MSG_FILE_PUT && proto_file_put_decode(&body, &put) == OCOP_OK) {
		return put.len;
	}
	if (env.type == PROTO_MSG_FILE_DATA && proto_file_data_decode(&body, &d) == OCOP_OK) {
		return d.len;
	}
	return 0;
}

static int
link_roundtrip(void *arg, const uint8_t *req, size_t len, com_buf *reply)
{
	flink *l = arg;
	proto_env env;
	proto_rd body;
	com_buf r;
	bool chunk;
	int rv;

	assert_ok(proto_env_open(req, len, &env, &body));
	chunk = env.type == PROTO_MSG_FILE_PUT || env.type == PROTO_MSG_FILE_GET;
	if (chunk) {
		l->chunk_reqs++;
		if (l->cut_after >= 0 && l->chunk_reqs > l->cut_after) {
			if (l->lose_reply) {
				com_buf_init(&r);
				srv_handle(l->svc, req, len, &r);
				if (env.type == PROTO_MSG_FILE_PUT) {
					l->put_bytes += chunk_len(req, len);
				}
				com_buf_fini(&r);
			}
			return OCOP_ETIMEDOUT;
		}
	}
	com_buf_init(&r);
	assert_ok(com_buf_append(&r, req, len));
	if (env.type == PROTO_MSG_FILE_PUT && l->damage == l->chunk_reqs) {
		damage(&r);
	}
	if (env.type == PROTO_MSG_FILE_PUT) {
		l->put_bytes += chunk_len(r.data, r.len);
		com_buf_reset(&l->last_put);
		assert_ok(com_buf_append(&l->last_put, req, len));
	}
	rv = srv_handle(l->svc, r.data, r.len, reply);
	com_buf_fini(&r);
	if (rv == OCOP_OK && env.type == PROTO_MSG_FILE_GET) {
		com_buf d;
		com_buf_init(&d);
		assert_ok(com_buf_append(&d, reply->data, reply->len));
		if (l->damage == l->chunk_reqs && chunk_len(d.data, d.len) > 0) {
			damage(&d);
		}
		l->data_bytes += chunk_len(d.data, d.len);
		com_buf_reset(reply);
		assert_ok(com_buf_append(reply, d.data, d.len));
		com_buf_fini(&d);
	}
	return rv;
}

/* ===== Fixture: a province server and three sites ===== */

enum { A = 0, OFFICE = 1, OTHER = 2, NSITES = 3 };

typedef struct site {
	sto_db *db;              /* its replica */
	sto_blobs *b;            /* its files */
	char id[37];             /* site id */
	char cred[SRV_CREDENTIAL_LEN + 1];
	flink l;                  /* its flink */
} site;

typedef struct fx {
	char *dir;               /* temp dir */
	ocp_policy *spol;        /* server rules */
	ocp_policy *cpol;        /* site rules */
	sto_db *server;          /* the province */
	srv_service svc;         /* its service */
	srv_files *files;        /* its files */
	site s[NSITES];          /* A: commune 86-100; OFFICE: province office 86; OTHER: commune 86-200 */
	char dossier[37];        /* A's dossier */
} fx;

static sto_db *
open_db(const char *dir, const char *name)
{
	char path[1024];
	sto_db *db = NULL;
	sto_opts o;

	snprintf(path, sizeof(path), "%s/%s.db", dir, name);
	memset(&o, 0, sizeof(o));
	o.create = true;
	o.user = name;
	assert_ok(sto_open(&db, path, &o));
	assert_ok(sto_exec(db, "PRAGMA synchronous=OFF"));
	return db;
}

static int
setup(void **state)
{
	static const char *const names[NSITES] = {"a", "office", "other"};
	static const char *const roles[NSITES] = {"commune", "province", "commune"};
	static const char *const scopes[NSITES] = {"86-100", "86", "86-200"};
	fx *f = test_calloc(1, sizeof(*f));
	srv_files_opts fo;
	char data[512];
	char err[512];
	char dir[1100];
	int i;

	f->dir = tu_mkdtemp();
	tu_src(data, sizeof(data), "data");
	assert_ok(ocp_policy_open(&f->spol, data, true, err, sizeof(err)));
	assert_ok(ocp_policy_open(&f->cpol, data, false, err, sizeof(err)));
	f->server = open_db(f->dir, "province");
	assert_ok(sto_site_init(f->server, NULL, "province", "86"));
	sto_set_policy(f->server, ocp_policy_store(f->spol));
	srv_service_init(&f->svc, f->server, ocp_policy_store(f->spol), NULL);
	srv_files_defaults(&fo);
	fo.chunk_bytes = CHUNK;
	fo.max_file_bytes = 1 << 20;
	fo.partial_quota = QUOTA;
	fo.min_free_bytes = 0;
	assert_ok(srv_files_open(&f->files, f->server, NULL, &fo, err, sizeof(err)));
	f->svc.files = f->files;
	for (i = 0; i < NSITES; i++) {
		site *s = &f->s[i];
		assert_ok(srv_registry_add(f->server, NULL, roles[i], scopes[i], names[i], s->id, s->cred));
		s->db = open_db(f->dir, names[i]);
		assert_ok(sto_site_init(s->db, s->id, roles[i], scopes[i]));
		sto_set_policy(s->db, ocp_policy_store(f->cpol));
		assert_ok(sto_blobs_dir_for(s->db, dir, sizeof(dir)));
		assert_ok(cli_files_open(s->db, &s->b, err, sizeof(err)));
		s->l.svc = &f->svc;
		s->l.cut_after = -1;
		com_buf_init(&s->l.last_put);
	}
	{
		const char *cols[] = {"legal_basis", "status", "epoch", "round_year", "round_no", "unit_code", "province_code"};
		const char *vals[] = {"qd26-2026", "draft", "0", "2026", "1", "86-100", "86"};
		assert_ok(sto_row_insert(f->s[A].db, "dossier", cols, vals, 7, f->dossier));
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;
	int i;

	for (i = 0; i < NSITES; i++) {
		sto_blobs_close(f->s[i].b);
		sto_close(f->s[i].db);
		com_buf_fini(&f->s[i].l.last_put);
	}
	srv_files_close(f->files);
	sto_close(f->server);
	ocp_policy_free(f->spol);
	ocp_policy_free(f->cpol);
	tu_rmtree(f->dir);
	test_free(f);
	return 0;
}

/* Write n pseudo-random bytes (seeded) to a file in the fixture's directory; its path into out. */
static void
make_file(fx *f, const char *name, size_t n, unsigned seed, char *out, size_t cap)
{
	FILE *fp;
	size_t i;

	snprintf(out, cap, "%s/%s", f->dir, name);
	fp = fopen(out, "wb");
	assert_non_null(fp);
	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		fputc((int)(seed >> 16) & 0xff, fp);
	}
	fclose(fp);
}

/* Attach the file at path to document `doc` (new) of dossier at site i; sha into sha. */
static void
attach(fx *f, int i, const char *dossier, const char *path, uint8_t sha[STO_SHA_LEN], char doc[37])
{
	char hex[STO_SHA_HEX];
	char size_s[32];
	uint64_t size = 0;
	const char *cols[] = {"dossier_id", "kind", "title", "sha256", "size"};
	const char *vals[5];

	assert_ok(sto_blobs_add(f->s[i].b, path, 1 << 30, sha, &size, NULL));
	proto_sha_hex(sha, hex);
	snprintf(size_s, sizeof(size_s), "%llu", (unsigned long long)size);
	vals[0] = dossier;
	vals[1] = "lab_test";
	vals[2] = "Phiếu kiểm nghiệm";
	vals[3] = hex;
	vals[4] = size_s;
	assert_ok(sto_row_insert(f->s[i].db, "document", cols, vals, 5, doc));
}

/* Sync site i's rows. */
static void
rows(fx *f, int i)
{
	cli_transport t = {link_roundtrip, &f->s[i].l};
	cli_sync_opts o;
	cli_sync_stats st;
	char err[700];
	int saved = f->s[i].l.cut_after;

	f->s[i].l.cut_after = -1;
	memset(&o, 0, sizeof(o));
	o.credential = f->s[i].cred;
	if (cli_sync_once(f->s[i].db, ocp_policy_store(f->cpol), &t, &o, &st, err, sizeof(err)) != OCOP_OK) {
		print_error("sync: %s\n", err);
		fail();
	}
	f->s[i].l.cut_after = saved;
}

/* Site i's file phase; returns its code. */
static int
files(fx *f, int i, sto_xfer_stats *st)
{
	cli_transport t = {link_roundtrip, &f->s[i].l};
	cli_files_opts o;
	char err[700];
	int rv;

	memset(&o, 0, sizeof(o));
	o.credential = f->s[i].cred;
	o.send = true;
	o.fetch = true;
	f->s[i].l.chunk_reqs = 0;
	rv = cli_files_sync(f->s[i].db, ocp_policy_store(f->cpol), f->s[i].b, &t, &o, st, err, sizeof(err));
	if (rv != OCOP_OK && rv != OCOP_ETIMEDOUT) {
		print_error("files: %s (%s)\n", err, ocop_errname(rv));
	}
	return rv;
}

/* Does site i hold the file whose bytes are at path, whole and byte for byte? */
static bool
holds(fx *f, int i, const uint8_t sha[STO_SHA_LEN], const char *path)
{
	char out[1100];
	char *a;
	char *b;
	bool same;

	snprintf(out, sizeof(out), "%s/check-%d.out", f->dir, i);
	unlink(out);
	if (sto_blobs_export(f->s[i].b, sha, out, true) != OCOP_OK) {
		return false;
	}
	a = tu_slurp(out);
	b = tu_slurp(path);
	same = a != NULL && b != NULL && strcmp(a, b) == 0;
	com_free(a);
	com_free(b);
	return same && sto_blobs_verify(f->s[i].b, sha) == OCOP_OK;
}

/* ===== The exchange ===== */

static void
test_a_file_goes_up_and_down_to_the_sites_of_its_scope_only(void **state)
{
	fx *f = *state;
	char path[1100];
	char doc[37];
	uint8_t sha[STO_SHA_LEN];
	sto_xfer_stats st;

	make_file(f, "scan.pdf", 5 * CHUNK + 123, 1, path, sizeof(path));
	attach(f, A, f->dossier, path, sha, doc);
	rows(f, A);
	assert_ok(files(f, A, &st));
	assert_int_equal(st.files_sent, 1);
	assert_int_equal(st.bytes_sent, 5 * CHUNK + 123);
	assert_true(sto_blobs_has(srv_files_blobs(f->files), sha, NULL));
	assert_int_equal(f->s[A].l.put_bytes, 5 * CHUNK + 123);
	/* The province office's scope holds the dossier; the other commune's does not. */
	rows(f, OFFICE);
	assert_ok(files(f, OFFICE, &st));
	assert_int_equal(st.files_fetched, 1);
	assert_true(holds(f, OFFICE, sha, path));
	rows(f, OTHER);
	assert_ok(files(f, OTHER, &st));
	assert_int_equal(st.files_fetched, 0);
	assert_false(sto_blobs_has(f->s[OTHER].b, sha, NULL));
	assert_int_equal(f->s[OTHER].l.data_bytes, 0);
	/* A second run moves nothing. */
	assert_ok(files(f, A, &st));
	assert_ok(files(f, OFFICE, &st));
	assert_int_equal(st.bytes_sent + st.bytes_fetched, 0);
}

static int
count_one(void *arg, const uint8_t sha[STO_SHA_LEN], uint64_t size)
{
	(void)sha;
	(void)size;
	(*(uint64_t *)arg)++;
	return OCOP_OK;
}

static void
test_the_same_bytes_on_two_documents_are_stored_and_sent_once(void **state)
{
	fx *f = *state;
	char path[1100];
	char doc1[37];
	char doc2[37];
	char d2[37];
	uint8_t sha[STO_SHA_LEN];
	uint8_t sha2[STO_SHA_LEN];
	sto_xfer_stats st;
	uint64_t count = 0;
	uint64_t bytes = 0;
	const char *cols[] = {"legal_basis", "status", "epoch", "round_year", "round_no", "unit_code", "province_code"};
	const char *vals[] = {"qd26-2026", "draft", "0", "2026", "1", "86-100", "86"};

	assert_ok(sto_row_insert(f->s[A].db, "dossier", cols, vals, 7, d2));
	make_file(f, "giay-phep.pdf", 3 * CHUNK, 2, path, sizeof(path));
	attach(f, A, f->dossier, path, sha, doc1);
	attach(f, A, d2, path, sha2, doc2);
	assert_memory_equal(sha, sha2, STO_SHA_LEN);
	rows(f, A);
	assert_ok(files(f, A, &st));
	assert_int_equal(f->s[A].l.put_bytes, 3 * CHUNK);
	rows(f, OFFICE);
	assert_ok(files(f, OFFICE, &st));
	assert_int_equal(f->s[OFFICE].l.data_bytes, 3 * CHUNK);
	assert_true(holds(f, OFFICE, sha, path));
	/* One object, however many documents, and no partial copy left. */
	assert_ok(sto_blobs_each(f->s[OFFICE].b, count_one, &count));
	assert_int_equal(count, 1);
	sto_blobs_partials(f->s[OFFICE].b, NULL, &bytes, &count);
	assert_int_equal(count, 0);
}

static void
test_a_cut_link_resumes_from_the_last_chunk_the_other_side_holds(void **state)
{
	fx *f = *state;
	char path[1100];
	char doc[37];
	uint8_t sha[STO_SHA_LEN];
	sto_xfer_stats st;
	uint64_t size = 20 * CHUNK + 7;
	int cuts = 0;

	make_file(f, "big.bin", size, 3, path, sizeof(path));
	attach(f, A, f->dossier, path, sha, doc);
	rows(f, A);
	/* Up: the flink dies after a few chunks, sometimes with the last reply lost. */
	do {
		f->s[A].l.cut_after = 3 + cuts;
		f->s[A].l.lose_reply = cuts % 2 == 1;
		cuts++;
		assert_true(cuts < 20);
	} while (files(f, A, &st) == OCOP_ETIMEDOUT);
	assert_true(cuts >= 3);
	assert_true(sto_blobs_has(srv_files_blobs(f->files), sha, NULL));
	/* Never from zero, and no finished chunk twice: each run starts where the server stands. */
	assert_int_equal(f->s[A].l.put_bytes, size);
	/* Down, the same. */
	rows(f, OFFICE);
	cuts = 0;
	do {
		f->s[OFFICE].l.cut_after = 4 + cuts;
		f->s[OFFICE].l.lose_reply = cuts % 2 == 0;
		cuts++;
		assert_true(cuts < 20);
	} while (files(f, OFFICE, &st) == OCOP_ETIMEDOUT);
	assert_true(cuts >= 3);
	assert_true(holds(f, OFFICE, sha, path));
	/* Every chunk that arrived was kept: none came twice (a lost reply's chunk is asked for again). */
	assert_int_equal(f->s[OFFICE].l.data_bytes, size);
}

static void
test_a_damaged_chunk_is_refused_and_sent_again(void **state)
{
	fx *f = *state;
	char path[1100];
	char doc[37];
	uint8_t sha[STO_SHA_LEN];
	sto_xfer_stats st;
	srv_files_counters n;

	make_file(f, "photo.jpg", 6 * CHUNK + 11, 4, path, sizeof(path));
	attach(f, A, f->dossier, path, sha, doc);
	rows(f, A);
	f->s[A].l.damage = 3;
	assert_ok(files(f, A, &st));
	assert_int_equal(st.chunks_refused, 1);
	srv_files_counters_get(f->files, &n);
	assert_int_equal(n.chunks_refused, 1);
	assert_true(sto_blobs_has(srv_files_blobs(f->files), sha, NULL));
	assert_ok(sto_blobs_verify(srv_files_blobs(f->files), sha));
	/* Down: the damaged chunk is not written, and fetched again. */
	rows(f, OFFICE);
	f->s[OFFICE].l.damage = 2;
	assert_ok(files(f, OFFICE, &st));
	assert_int_equal(st.chunks_refused, 1);
	assert_true(holds(f, OFFICE, sha, path));
	assert_int_equal(f->s[OFFICE].l.data_bytes, 6 * CHUNK + 11 + CHUNK);
}

static void
test_a_replayed_chunk_changes_nothing(void **state)
{
	fx *f = *state;
	char path[1100];
	char doc[37];
	uint8_t sha[STO_SHA_LEN];
	sto_xfer_stats st;
	com_buf reply;
	com_buf old;
	proto_env env;
	proto_rd body;
	proto_file_put_ok ok;

	make_file(f, "mau02.pdf", 4 * CHUNK, 5, path, sizeof(path));
	attach(f, A, f->dossier, path, sha, doc);
	rows(f, A);
	f->s[A].l.cut_after = 2;
	assert_err(files(f, A, &st), OCOP_ETIMEDOUT);
	com_buf_init(&old);
	assert_ok(com_buf_append(&old, f->s[A].l.last_put.data, f->s[A].l.last_put.len));
	assert_int_equal(sto_blobs_held(srv_files_blobs(f->files), f->s[A].id, sha), 2 * CHUNK);
	/* The second chunk again, and again: the server holds what it held. */
	com_buf_init(&reply);
	assert_ok(srv_handle(&f->svc, old.data, old.len, &reply));
	assert_ok(proto_env_open(reply.data, reply.len, &env, &body));
	assert_int_equal(env.type, PROTO_MSG_FILE_PUT_OK);
	assert_ok(proto_file_put_ok_decode(&body, &ok));
	assert_int_equal(ok.held, 2 * CHUNK);
	assert_int_equal(sto_blobs_held(srv_files_blobs(f->files), f->s[A].id, sha), 2 * CHUNK);
	f->s[A].l.cut_after = -1;
	assert_ok(files(f, A, &st));
	/* After the whole: a replay of an old chunk is answered "whole", nothing written. */
	com_buf_reset(&reply);
	assert_ok(srv_handle(&f->svc, old.data, old.len, &reply));
	assert_ok(proto_env_open(reply.data, reply.len, &env, &body));
	assert_ok(proto_file_put_ok_decode(&body, &ok));
	assert_true(ok.whole);
	assert_ok(sto_blobs_verify(srv_files_blobs(f->files), sha));
	com_buf_fini(&reply);
	com_buf_fini(&old);
}

/* ===== What a hostile site tries ===== */

/* Send one request built by hand from site i; returns the reply's ERROR code, or OCOP_OK and its type. */
static int
ask(fx *f, com_buf *req, uint32_t *type, com_buf *reply)
{
	proto_env env;
	proto_rd body;
	proto_error e;

	com_buf_reset(reply);
	assert_ok(srv_handle(&f->svc, req->data, req->len, reply));
	assert_ok(proto_env_open(reply->data, reply->len, &env, &body));
	*type = env.type;
	if (env.type == PROTO_MSG_ERROR) {
		assert_ok(proto_error_decode(&body, &e));
		return (int)e.code;
	}
	return OCOP_OK;
}

static void
put_chunk(fx *f, int i, const uint8_t sha[STO_SHA_LEN], uint64_t size, uint64_t off, const uint8_t *p, size_t len,
    com_buf *req)
{
	proto_file_put m;

	memset(&m, 0, sizeof(m));
	strcpy(m.site, f->s[i].id);
	strcpy(m.credential, f->s[i].cred);
	memcpy(m.sha, sha, STO_SHA_LEN);
	m.size = size;
	m.offset = off;
	m.data = p;
	m.len = len;
	assert_ok(proto_chunk_digest(p, len, m.digest));
	com_buf_reset(req);
	assert_ok(proto_file_put_encode(req, &m));
}

static void
get_chunk(fx *f, int i, const uint8_t sha[STO_SHA_LEN], com_buf *req)
{
	proto_file_get m;

	memset(&m, 0, sizeof(m));
	strcpy(m.site, f->s[i].id);
	strcpy(m.credential, f->s[i].cred);
	memcpy(m.sha, sha, STO_SHA_LEN);
	com_buf_reset(req);
	assert_ok(proto_file_get_encode(req, &m));
}

/* The chunk size FILES_OK states to site 0 now. */
static uint32_t
chunk_told(fx *f)
{
	proto_files m;
	proto_files_ok ok;
	proto_env env;
	proto_rd body;
	com_buf req;
	com_buf reply;

	com_buf_init(&req);
	com_buf_init(&reply);
	memset(&m, 0, sizeof(m));
	strcpy(m.site, f->s[0].id);
	strcpy(m.credential, f->s[0].cred);
	assert_ok(proto_files_encode(&req, &m, NULL, 0));
	assert_ok(srv_handle(&f->svc, req.data, req.len, &reply));
	assert_ok(proto_env_open(reply.data, reply.len, &env, &body));
	assert_int_equal(env.type, PROTO_MSG_FILES_OK);
	assert_ok(proto_files_ok_decode(&body, &ok));
	com_buf_fini(&req);
	com_buf_fini(&reply);
	return ok.chunk_bytes;
}

/*
 * Files keep to the server's memory bound for batches: with many sites at
 * once each is told a chunk no larger than its share of batch_memory (never
 * under SRV_MIN_BATCH); one site alone keeps the configured size.
 */
static void
test_many_sites_at_once_are_told_smaller_chunks(void **state)
{
	fx *f = *state;
	srv_files *big = NULL;
	srv_files_opts fo;
	char dir[700];
	char err[256];

	snprintf(dir, sizeof(dir), "%s/big.files", f->dir);
	srv_files_defaults(&fo);
	fo.chunk_bytes = 1u << 20;
	fo.min_free_bytes = 0;
	assert_ok(srv_files_open(&big, f->server, dir, &fo, err, sizeof(err)));
	f->svc.files = big;
	f->svc.batch_memory = 32u << 20;
	f->svc.links = 1;
	assert_int_equal(chunk_told(f), 1u << 20);
	f->svc.links = 8; /* 2 MiB each: the configured size fits */
	assert_int_equal(chunk_told(f), 1u << 20);
	f->svc.links = 200; /* 32 MiB / 400 */
	assert_int_equal(chunk_told(f), (32u << 20) / 400u);
	f->svc.links = 4000; /* the floor */
	assert_int_equal(chunk_told(f), SRV_MIN_BATCH);
	f->svc.batch_memory = 0; /* no sharing */
	assert_int_equal(chunk_told(f), 1u << 20);
	f->svc.links = 0;
	f->svc.files = f->files;
	srv_files_close(big);
}

static void
test_a_site_neither_sends_nor_fetches_another_units_file(void **state)
{
	fx *f = *state;
	char path[1100];
	char doc[37];
	char mine[37];
	char hex[STO_SHA_HEX];
	uint8_t sha[STO_SHA_LEN];
	uint8_t buf[CHUNK];
	sto_xfer_stats st;
	com_buf req;
	com_buf reply;
	uint32_t type;
	const char *cols[] = {"legal_basis", "status", "epoch", "round_year", "round_no", "unit_code", "province_code"};
	const char *vals[] = {"qd26-2026", "draft", "0", "2026", "1", "86-200", "86"};
	const char *dcols[] = {"dossier_id", "kind", "title", "sha256", "size"};
	const char *dvals[5];
	char size_s[32];
	size_t got = 0;

	make_file(f, "private.pdf", 2 * CHUNK, 6, path, sizeof(path));
	attach(f, A, f->dossier, path, sha, doc);
	rows(f, A);
	assert_ok(files(f, A, &st));
	com_buf_init(&req);
	com_buf_init(&reply);
	/* The other commune asks for it: not its to fetch. */
	get_chunk(f, OTHER, sha, &req);
	assert_err(ask(f, &req, &type, &reply), OCOP_ESCOPE);
	/* It learns the hash somehow and names it in a document of its own: still not its to fetch. */
	{
		char d[37];
		assert_ok(sto_row_insert(f->s[OTHER].db, "dossier", cols, vals, 7, d));
		proto_sha_hex(sha, hex);
		snprintf(size_s, sizeof(size_s), "%d", 2 * (int)CHUNK);
		dvals[0] = d;
		dvals[1] = "lab_test";
		dvals[2] = "copy";
		dvals[3] = hex;
		dvals[4] = size_s;
		assert_ok(sto_row_insert(f->s[OTHER].db, "document", dcols, dvals, 5, mine));
	}
	rows(f, OTHER);
	assert_err(ask(f, &req, &type, &reply), OCOP_ESCOPE);
	assert_ok(files(f, OTHER, &st));
	assert_false(sto_blobs_has(f->s[OTHER].b, sha, NULL));
	assert_int_equal(f->s[OTHER].l.data_bytes, 0);
	/* Nor does it send chunks of a file no document of its scope names. */
	memset(buf, 7, sizeof(buf));
	{
		uint8_t other[STO_SHA_LEN];
		memset(other, 0x5a, sizeof(other));
		put_chunk(f, OTHER, other, CHUNK, 0, buf, CHUNK, &req);
		assert_err(ask(f, &req, &type, &reply), OCOP_ESCOPE);
		assert_int_equal(sto_blobs_held(srv_files_blobs(f->files), f->s[OTHER].id, other), 0);
	}
	/* A's own file stays as it was. */
	assert_ok(sto_blobs_read(srv_files_blobs(f->files), sha, 0, buf, sizeof(buf), &got));
	assert_ok(sto_blobs_verify(srv_files_blobs(f->files), sha));
	com_buf_fini(&req);
	com_buf_fini(&reply);
}

static void
test_bytes_that_do_not_hash_to_the_name_never_become_visible(void **state)
{
	fx *f = *state;
	char path[1100];
	char hex[STO_SHA_HEX];
	char size_s[32];
	char doc[37];
	uint8_t sha[STO_SHA_LEN];
	uint8_t buf[CHUNK];
	com_buf req;
	com_buf reply;
	uint32_t type;
	proto_env env;
	proto_rd body;
	proto_file_put_ok ok;
	const char *cols[] = {"dossier_id", "kind", "title", "sha256", "size"};
	const char *vals[5];

	/* A lying site names a file by a hash, then sends other bytes for it. */
	make_file(f, "real.pdf", CHUNK, 7, path, sizeof(path));
	{
		uint64_t size = 0;
		sto_blobs *tmp = NULL;
		char d[1100];
		snprintf(d, sizeof(d), "%s/scratch", f->dir);
		assert_ok(sto_blobs_open(&tmp, d));
		assert_ok(sto_blobs_add(tmp, path, 1 << 20, sha, &size, NULL));
		sto_blobs_close(tmp);
	}
	proto_sha_hex(sha, hex);
	snprintf(size_s, sizeof(size_s), "%u", CHUNK);
	vals[0] = f->dossier;
	vals[1] = "lab_test";
	vals[2] = "forged";
	vals[3] = hex;
	vals[4] = size_s;
	assert_ok(sto_row_insert(f->s[A].db, "document", cols, vals, 5, doc));
	rows(f, A);
	com_buf_init(&req);
	com_buf_init(&reply);
	memset(buf, 0x42, sizeof(buf));
	put_chunk(f, A, sha, CHUNK, 0, buf, CHUNK, &req);
	assert_ok(ask(f, &req, &type, &reply));
	assert_int_equal(type, PROTO_MSG_FILE_PUT_OK);
	assert_ok(proto_env_open(reply.data, reply.len, &env, &body));
	assert_ok(proto_file_put_ok_decode(&body, &ok));
	assert_false(ok.whole);
	assert_int_equal(ok.held, 0);
	assert_false(sto_blobs_has(srv_files_blobs(f->files), sha, NULL));
	assert_int_equal(sto_blobs_held(srv_files_blobs(f->files), f->s[A].id, sha), 0);
	/* The office cannot fetch what never became visible. */
	rows(f, OFFICE);
	get_chunk(f, OFFICE, sha, &req);
	assert_err(ask(f, &req, &type, &reply), OCOP_ENOENT);
	com_buf_fini(&req);
	com_buf_fini(&reply);
}

static void
test_limits_hold_against_a_site_that_never_finishes(void **state)
{
	fx *f = *state;
	char hex[STO_SHA_HEX];
	char size_s[32];
	char doc[37];
	uint8_t sha[STO_SHA_LEN];
	uint8_t buf[CHUNK];
	com_buf req;
	com_buf reply;
	uint32_t type;
	uint64_t bytes = 0;
	uint64_t count = 0;
	sto_files_gc_stats gs;
	const char *cols[] = {"dossier_id", "kind", "title", "sha256", "size"};
	const char *vals[5];
	int k;

	com_buf_init(&req);
	com_buf_init(&reply);
	memset(buf, 1, sizeof(buf));
	/* Too big for the server: refused at the first chunk. */
	memset(sha, 0x11, sizeof(sha));
	proto_sha_hex(sha, hex);
	snprintf(size_s, sizeof(size_s), "%d", (2 << 20));
	vals[0] = f->dossier;
	vals[1] = "scan";
	vals[2] = "too big";
	vals[3] = hex;
	vals[4] = size_s;
	assert_ok(sto_row_insert(f->s[A].db, "document", cols, vals, 5, doc));
	/* A file of 300 KiB that the site only ever starts: the quota (256 KiB) stops it. */
	memset(sha, 0x22, sizeof(sha));
	proto_sha_hex(sha, hex);
	snprintf(size_s, sizeof(size_s), "%d", 300 * 1024);
	vals[2] = "never finished";
	assert_ok(sto_row_insert(f->s[A].db, "document", cols, vals, 5, doc));
	rows(f, A);
	memset(sha, 0x11, sizeof(sha));
	put_chunk(f, A, sha, 2 << 20, 0, buf, CHUNK, &req);
	assert_err(ask(f, &req, &type, &reply), OCOP_ETOOBIG);
	memset(sha, 0x22, sizeof(sha));
	for (k = 0; k < (int)(QUOTA / CHUNK); k++) {
		put_chunk(f, A, sha, 300 * 1024, (uint64_t)k * CHUNK, buf, CHUNK, &req);
		assert_ok(ask(f, &req, &type, &reply));
	}
	put_chunk(f, A, sha, 300 * 1024, QUOTA, buf, CHUNK, &req);
	assert_err(ask(f, &req, &type, &reply), OCOP_EBUSY);
	sto_blobs_partials(srv_files_blobs(f->files), f->s[A].id, &bytes, &count);
	assert_int_equal(bytes, QUOTA);
	/* An upload not continued for the partial period is dropped. */
	{
		char p[1200];
		struct timespec old[2];
		snprintf(p, sizeof(p), "%s/partial/%s/%s", sto_blobs_dir(srv_files_blobs(f->files)), f->s[A].id, hex);
		old[0].tv_sec = time(NULL) - 15 * 86400;
		old[0].tv_nsec = 0;
		old[1] = old[0];
		assert_int_equal(utimensat(AT_FDCWD, p, old, 0), 0);
	}
	assert_ok(srv_files_gc(f->files, f->server, &gs));
	assert_int_equal(gs.partials, 1);
	sto_blobs_partials(srv_files_blobs(f->files), f->s[A].id, &bytes, &count);
	assert_int_equal(bytes, 0);
	com_buf_fini(&req);
	com_buf_fini(&reply);
}

/* ===== Release ===== */

static void
test_a_deleted_documents_file_is_released_after_the_retention_period(void **state)
{
	fx *f = *state;
	char path[1100];
	char doc[37];
	char doc2[37];
	uint8_t sha[STO_SHA_LEN];
	uint8_t sha2[STO_SHA_LEN];
	sto_xfer_stats st;
	sto_files_gc_stats gs;

	make_file(f, "old.pdf", CHUNK, 8, path, sizeof(path));
	attach(f, A, f->dossier, path, sha, doc);
	make_file(f, "kept.pdf", CHUNK, 9, path, sizeof(path));
	attach(f, A, f->dossier, path, sha2, doc2);
	rows(f, A);
	assert_ok(files(f, A, &st));
	assert_ok(sto_row_delete(f->s[A].db, "document", doc));
	rows(f, A);
	/* Within the retention period (30 days here) the bytes stay everywhere. */
	assert_ok(srv_files_gc(f->files, f->server, &gs));
	assert_int_equal(gs.waiting, 1);
	assert_int_equal(gs.kept, 1);
	assert_true(sto_blobs_has(srv_files_blobs(f->files), sha, NULL));
	/* 31 days later they go, at the server and at the site; the live one stays. */
	assert_ok(sto_files_gc(f->server, srv_files_blobs(f->files), 30 * 86400, 0, (int64_t)time(NULL) + 31 * 86400, &gs));
	assert_int_equal(gs.released, 1);
	assert_false(sto_blobs_has(srv_files_blobs(f->files), sha, NULL));
	assert_true(sto_blobs_has(srv_files_blobs(f->files), sha2, NULL));
	assert_ok(sto_files_gc(f->s[A].db, f->s[A].b, 30 * 86400, 0, (int64_t)time(NULL), &gs));
	assert_ok(sto_files_gc(f->s[A].db, f->s[A].b, 30 * 86400, 0, (int64_t)time(NULL) + 31 * 86400, &gs));
	assert_int_equal(gs.released, 1);
	assert_false(sto_blobs_has(f->s[A].b, sha, NULL));
	assert_true(sto_blobs_has(f->s[A].b, sha2, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_file_goes_up_and_down_to_the_sites_of_its_scope_only, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_same_bytes_on_two_documents_are_stored_and_sent_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_cut_link_resumes_from_the_last_chunk_the_other_side_holds, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_damaged_chunk_is_refused_and_sent_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_replayed_chunk_changes_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_sites_at_once_are_told_smaller_chunks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_site_neither_sends_nor_fetches_another_units_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bytes_that_do_not_hash_to_the_name_never_become_visible, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_limits_hold_against_a_site_that_never_finishes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_deleted_documents_file_is_released_after_the_retention_period, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
