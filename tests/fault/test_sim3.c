/*
 * fault.sim3: seeded simulation of three tiers in one process: two communes
 * and the provincial office under a province server, the province server's
 * upstream link to the national server, and the national office under the
 * national server (docs/NATIONAL.md, DESIGN.md invariant 6).
 *
 * Everything goes through the real code: srv_handle() at both servers,
 * cli_sync_once() at the sites, srv_upstream_step() at the province, over an
 * in-process transport that loses, duplicates, replays, truncates and corrupts
 * requests and replies, partitions a link for a while, and kills a server
 * after it committed (restarting it from its file) - on both links. Each seed
 * fixes every choice: which dossiers reach 94, exactly 90, 89.x or miss a 5★
 * minimum, who approves what (a client that does not check also "approves"
 * results that are not potential 5★), when the national council sits and
 * what it decides, and which links fail when.
 *
 * After the faults stop and everyone has synced, the oracle checks:
 *   1. exactly the candidates are handed off: every approved potential-5★
 *      evaluation of a dossier on the national branch has its hand-off, no
 *      other evaluation has one, and every hand-off is acknowledged or decided;
 *      a dossier the province re-evaluates after a central result below 90 is
 *      a new version: handed off again, its first hand-off kept;
 *   2. exactly once: the national server noted one arrival per hand-off and
 *      nothing else;
 *   3. convergence of the candidate trees: every row of every handed-off tree
 *      has the same cells and cell versions at the province and the nation;
 *   4. the national decision reaches the origin: the commune that filed the
 *      dossier holds the national result and the dossier's national status;
 *   5. convergence within scope: every site equals its server in its scope;
 *   6. nothing relayed was refused either way, and every database passes
 *      PRAGMA integrity_check.
 *
 *   7. the lying commune: every hand-made change it sent was refused and
 *      ledgered at the province, applied nowhere, and never reached the nation.
 *
 * Commune 83-200 lies in every seed: a third of its operations append
 * hand-made changes to its log (another commune's rows, a national result, a
 * dossier pushed to a status it may not reach, an unknown column, a wrong
 * type). The national office also reopens a dossier for completion, rejects
 * one, or revokes a 5★; the province may refuse recognition after a central
 * result below 90. The run prints which transitions of the QĐ 26/2026 flow the
 * servers accepted (read back from their logs) and fails when one the national
 * tier makes was never made.
 *
 * OCOP_SIM3_SEEDS=N runs seeds 1..N (default 300); OCOP_SIM3_SEED=S runs only
 * S and prints what happens. A failing seed is printed with its replay command.
 */
#include "tests/lib/testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/sync.h"
#include "common/ocop/council.h"
#include "common/ocop/policy.h"
#include "common/store/merge.h"
#include "common/store/store.h"
#include "common/store/capture.h"
#include "common/store/clock.h"
#include "common/store/log.h"
#include "common/util/alloc.h"
#include "common/util/uuid.h"
#include "server/files.h"
#include "server/registry.h"
#include "server/service.h"
#include "server/upfiles.h"
#include "server/upstream.h"
#include "tests/fault/simfiles.h"
#include "tests/lib/replica.h"

#define SIM_SITES 3   /* under the province: commune 83-100, commune 83-200, the office */
#define SIM_MAX_DOSSIERS 4
#define SIM_OFFICE 2

/* How the provincial council scores a dossier (rubric qd26-2026/01). */
typedef enum sim_kind {
	KIND_94 = 0,    /* 94 points, every minimum met: a candidate */
	KIND_90,        /* exactly 90: a candidate (the band's edge belongs to 5★) */
	KIND_BELOW,     /* 90 but one member at 89: below 90, 4★ */
	KIND_MINIMUM,   /* 94 points, 4.1 below its 5★ mark: 4★ */
	KIND_COUNT_
} sim_kind;

typedef struct node {
	sto_db *db;            /* replica, owned */
	char path[600];        /* its file */
	uint64_t clock;        /* physical clock, ms */
	const char *role;      /* role */
	const char *scope;     /* scope */
	char cred[SRV_CREDENTIAL_LEN + 1]; /* credential at its server */
	int partitioned;       /* requests left before its link heals */
	com_buf old_req;       /* a request kept to deliver late */
	sf_node files;         /* a site's evidence files (tests/fault/simfiles.h); unused by servers */
} node;

typedef struct sim_dossier {
	char id[37];      /* dossier */
	char subject[37]; /* its subject */
	int site;         /* the commune that filed it */
	sim_kind kind;    /* how the council scores it */
	int members;      /* council members */
	char eval[37];    /* the provincial evaluation, once sat */
	bool approved;    /* an approval was written */
	bool national;    /* the national council sat */
	bool reopened;    /* the national office asked for completion once */
	char first_eval[37]; /* after a re-evaluation: the evaluation handed off first */
} sim_dossier;

typedef struct sim {
	unsigned seed;          /* the seed */
	unsigned rng;           /* rand_r state */
	bool verbose;           /* print every step */
	bool faults;            /* inject faults */
	char data_dir[1024];    /* data/ */
	char *dir;              /* temp dir, owned */
	ocp_policy *server_pol; /* servers: check authority */
	ocp_policy *site_pol;   /* sites: trust their server */
	node nation;            /* the national server */
	srv_service svc_n;      /* its service */
	node prov;              /* the province server */
	srv_service svc_p;      /* its service */
	srv_upstream *up;       /* its upstream link */
	char prov_cred[SRV_CREDENTIAL_LEN + 1]; /* its credential at the nation */
	node s[SIM_SITES];      /* sites under the province */
	node noffice;           /* the national office, under the nation */
	sim_dossier d[SIM_MAX_DOSSIERS]; /* dossiers filed */
	int nd;                 /* entries in d */
	bool prov_dies;         /* the province dies once the current upstream step returns */
	int faults_injected;    /* faults so far */
	int restarts;           /* server restarts */
	int steps_ok;           /* upstream steps that completed */
	uint64_t lies[64];      /* the lying commune's hand-made changes, by seq */
	int nlies;              /* entries in lies */
	srv_files *files_n;     /* the national server's evidence files */
	srv_files *files_p;     /* the province's */
} sim;

#define SIM_LIAR 1 /* commune 83-200 lies */

static unsigned
sim_rand(sim *m, unsigned n)
{
	return n ? (unsigned)rand_r(&m->rng) % n : 0;
}

static uint64_t
sim_clock_fn(void *arg)
{
	return *(uint64_t *)arg;
}

static sto_db *
sim_open_db(const char *path, uint64_t *clock)
{
	sto_db *db = NULL;
	sto_opts o;

	memset(&o, 0, sizeof(o));
	o.create = true;
	o.user = "sim3";
	o.clock = sim_clock_fn;
	o.clock_arg = clock;
	o.max_skew_ms = 10 * 60 * 1000;
	/* One connection per file here: exclusive locking saves a lock call per statement. */
	if (sto_open(&db, path, &o) != OCOP_OK ||
	    sto_exec(db, "PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE") != OCOP_OK) {
		sto_close(db);
		return NULL;
	}
	return db;
}

/* ===== Servers and their restarts ===== */

static int
sim_start_nation(sim *m)
{
	m->nation.db = sim_open_db(m->nation.path, &m->nation.clock);
	if (m->nation.db == NULL) {
		return -1;
	}
	sto_set_policy(m->nation.db, ocp_policy_store(m->server_pol));
	srv_service_init(&m->svc_n, m->nation.db, ocp_policy_store(m->server_pol), NULL);
	m->svc_n.relay_policy = ocp_policy_store_relay(m->server_pol, "province");
	m->svc_n.max_batch = 4096 + sim_rand(m, 16384);
	m->svc_n.files = m->files_n; /* where the dead server left them (NULL before setup opens them) */
	return 0;
}

static int
sim_start_prov(sim *m)
{
	srv_upstream_opts uo;
	char err[256];

	m->prov.db = sim_open_db(m->prov.path, &m->prov.clock);
	if (m->prov.db == NULL) {
		return -1;
	}
	sto_set_policy(m->prov.db, ocp_policy_store(m->server_pol));
	srv_service_init(&m->svc_p, m->prov.db, ocp_policy_store(m->server_pol), NULL);
	m->svc_p.max_batch = 4096 + sim_rand(m, 16384);
	m->svc_p.files = m->files_p;
	memset(&uo, 0, sizeof(uo));
	uo.credential = m->prov_cred;
	uo.pull_policy = ocp_policy_store_relay(m->server_pol, "national");
	uo.data_dir = m->data_dir;
	uo.max_batch = sim_rand(m, 2) ? 0 : 2048 + sim_rand(m, 4096); /* small relay batches: many rounds */
	if (srv_upstream_open(&m->up, m->prov.db, &uo, err, sizeof(err)) != OCOP_OK) {
		print_error("upstream: %s\n", err);
		return -1;
	}
	return 0;
}

/* A server died after committing: reopen it from its file, as a restarted ocopd would. */
static int
sim_restart(sim *m, bool nation)
{
	m->restarts++;
	if (nation) {
		sto_close(m->nation.db);
		return sim_start_nation(m);
	}
	srv_upstream_close(m->up);
	m->up = NULL;
	sto_close(m->prov.db);
	return sim_start_prov(m);
}

/* ===== The faulty links ===== */

typedef struct sim_link {
	sim *m;       /* the simulation */
	bool nation;  /* the server is the nation (else the province) */
	node *client; /* who sends */
} sim_link;

static int
sim_serve(sim_link *l, const uint8_t *req, size_t len, com_buf *reply)
{
	return srv_handle(l->nation ? &l->m->svc_n : &l->m->svc_p, req, len, reply);
}

static int
sim_roundtrip(void *arg, const uint8_t *req, size_t len, com_buf *reply)
{
	sim_link *l = arg;
	sim *m = l->m;
	node *c = l->client;
	com_buf scratch;
	uint8_t *copy;
	unsigned f;
	int rv;

	if (!m->faults) {
		return sim_serve(l, req, len, reply);
	}
	if (c->partitioned > 0) {
		c->partitioned--;
		return OCOP_ETIMEDOUT;
	}
	f = sim_rand(m, 100);
	if (f >= 24) {
		if (sim_rand(m, 4) == 0) {
			com_buf_reset(&c->old_req);
			com_buf_append(&c->old_req, req, len);
		}
		return sim_serve(l, req, len, reply);
	}
	m->faults_injected++;
	com_buf_init(&scratch);
	switch (f) {
	case 0: case 1: case 2: /* the request is lost */
		rv = OCOP_ETIMEDOUT;
		break;
	case 3: case 4: case 5: /* the reply is lost */
		sim_serve(l, req, len, &scratch);
		rv = OCOP_ETIMEDOUT;
		break;
	case 6: case 7: /* duplicated */
		sim_serve(l, req, len, &scratch);
		rv = sim_serve(l, req, len, reply);
		break;
	case 8: case 9: case 10: /* an old request arrives late, first */
		if (c->old_req.len > 0) {
			sim_serve(l, c->old_req.data, c->old_req.len, &scratch);
		}
		rv = sim_serve(l, req, len, reply);
		break;
	case 11: case 12: /* truncated */
		copy = com_malloc(len);
		memcpy(copy, req, len);
		rv = sim_serve(l, copy, sim_rand(m, (unsigned)len), reply);
		com_free(copy);
		break;
	case 13: case 14: /* a flipped bit in the request */
		copy = com_malloc(len);
		memcpy(copy, req, len);
		copy[sim_rand(m, (unsigned)len)] ^= (uint8_t)(1u << sim_rand(m, 8));
		rv = sim_serve(l, copy, len, reply);
		com_free(copy);
		break;
	case 15: case 16: /* a flipped bit in the reply */
		rv = sim_serve(l, req, len, reply);
		if (rv == OCOP_OK && reply->len > 0) {
			reply->data[sim_rand(m, (unsigned)reply->len)] ^= (uint8_t)(1u << sim_rand(m, 8));
		}
		break;
	case 17: case 18: /* the link goes down for a while */
		c->partitioned = 1 + (int)sim_rand(m, 6);
		rv = OCOP_ETIMEDOUT;
		break;
	case 19: case 20:
		if (l->nation && c == &m->prov) {
			/* The province dies while the nation answers: the nation has
			 * committed, the province never hears it. */
			sim_serve(l, req, len, &scratch);
			m->prov_dies = true;
			rv = OCOP_ETIMEDOUT;
			break;
		}
		/* fall through */
	default: /* the server dies after committing, before replying */
		sim_serve(l, req, len, &scratch);
		rv = sim_restart(m, l->nation) == 0 ? OCOP_ETIMEDOUT : OCOP_EINTERNAL;
		break;
	}
	com_buf_fini(&scratch);
	return rv;
}

/* ===== Setup ===== */

static int
sim_site_init(sim *m, node *n, sto_db *server, const char *role, const char *scope, const char *name)
{
	char id[37];

	n->role = role;
	n->scope = scope;
	n->clock = m->prov.clock + sim_rand(m, 240000) - 120000;
	com_buf_init(&n->old_req);
	n->db = sim_open_db(n->path, &n->clock);
	if (n->db == NULL || srv_registry_add(server, NULL, role, scope, name, id, n->cred) != OCOP_OK ||
	    sto_site_init(n->db, id, role, scope) != OCOP_OK || sf_open(&n->files, n->db) != 0) {
		return -1;
	}
	sto_set_policy(n->db, ocp_policy_store(m->site_pol));
	return 0;
}

static int
sim_setup(sim *m)
{
	static const char *const roles[SIM_SITES] = {"commune", "commune", "province"};
	static const char *const scopes[SIM_SITES] = {"83-100", "83-200", "83"};
	char err[256];
	char id[37];
	int i;

	tu_src(m->data_dir, sizeof(m->data_dir), "data");
	if (ocp_policy_open(&m->server_pol, m->data_dir, true, err, sizeof(err)) != OCOP_OK ||
	    ocp_policy_open(&m->site_pol, m->data_dir, false, err, sizeof(err)) != OCOP_OK) {
		print_error("policy: %s\n", err);
		return -1;
	}
	if (getenv("TMPDIR") == NULL && access("/dev/shm", W_OK) == 0) {
		setenv("TMPDIR", "/dev/shm", 1);
		m->dir = tu_mkdtemp();
		unsetenv("TMPDIR");
	} else {
		m->dir = tu_mkdtemp();
	}
	snprintf(m->nation.path, sizeof(m->nation.path), "%s/nation.db", m->dir);
	snprintf(m->prov.path, sizeof(m->prov.path), "%s/prov.db", m->dir);
	snprintf(m->noffice.path, sizeof(m->noffice.path), "%s/noffice.db", m->dir);
	m->nation.clock = 1763800000000ULL;
	m->prov.clock = m->nation.clock + sim_rand(m, 60000);
	com_buf_init(&m->nation.old_req);
	com_buf_init(&m->prov.old_req);
	m->prov.role = "province";
	m->prov.scope = "83";
	/* The nation registers the province by the province server's own site id. */
	{
		sto_db *n = sim_open_db(m->nation.path, &m->nation.clock);
		sto_db *p = sim_open_db(m->prov.path, &m->prov.clock);
		int rv = n == NULL || p == NULL || sto_site_init(n, NULL, "national", "VN") != OCOP_OK ||
		    sto_site_init(p, NULL, "province", "83") != OCOP_OK ||
		    srv_registry_add(n, sto_site_id(p), "province", "83", "Bến Tre", id, m->prov_cred) != OCOP_OK;
		sto_close(n);
		sto_close(p);
		if (rv) {
			return -1;
		}
	}
	if (sim_start_nation(m) != 0 || sim_start_prov(m) != 0) {
		return -1;
	}
	{
		srv_files_opts fo;
		srv_files_defaults(&fo);
		fo.chunk_bytes = SF_CHUNK;
		fo.min_free_bytes = 0;
		if (srv_files_open(&m->files_n, m->nation.db, NULL, &fo, err, sizeof(err)) != OCOP_OK ||
		    srv_files_open(&m->files_p, m->prov.db, NULL, &fo, err, sizeof(err)) != OCOP_OK) {
			print_error("files: %s\n", err);
			return -1;
		}
		m->svc_n.files = m->files_n;
		m->svc_p.files = m->files_p;
	}
	for (i = 0; i < SIM_SITES; i++) {
		snprintf(m->s[i].path, sizeof(m->s[i].path), "%s/site%d.db", m->dir, i);
		if (sim_site_init(m, &m->s[i], m->prov.db, roles[i], scopes[i], "site") != 0) {
			return -1;
		}
	}
	return sim_site_init(m, &m->noffice, m->nation.db, "national", "VN", "VP OCOP TW");
}

static void
sim_teardown(sim *m)
{
	int i;

	for (i = 0; i < SIM_SITES; i++) {
		sf_close(&m->s[i].files);
		sto_close(m->s[i].db);
		com_buf_fini(&m->s[i].old_req);
	}
	sf_close(&m->noffice.files);
	srv_files_close(m->files_p);
	srv_files_close(m->files_n);
	sto_close(m->noffice.db);
	com_buf_fini(&m->noffice.old_req);
	srv_upstream_close(m->up);
	sto_close(m->prov.db);
	sto_close(m->nation.db);
	com_buf_fini(&m->prov.old_req);
	com_buf_fini(&m->nation.old_req);
	ocp_policy_free(m->server_pol);
	ocp_policy_free(m->site_pol);
	if (m->dir != NULL && getenv("OCOP_SIM_KEEP") != NULL) {
		printf("kept %s\n", m->dir);
		com_free(m->dir);
	} else {
		tu_rmtree(m->dir);
	}
}

/* ===== Reading ===== */

static bool
sim_text(sto_db *db, const char *sql, const char *id, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	bool found = false;

	out[0] = 0;
	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK) {
		return false;
	}
	if (id != NULL) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		found = true;
		if (sqlite3_column_type(st, 0) != SQLITE_NULL) {
			snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
		}
	}
	sqlite3_finalize(st);
	return found;
}

static int64_t
sim_int(sto_db *db, const char *sql, const char *id)
{
	char v[64];

	return sim_text(db, sql, id, v, sizeof(v)) ? strtoll(v, NULL, 10) : -1;
}

static void
sim_status(sto_db *db, const char *dossier, char status[64])
{
	sim_text(db, "SELECT status FROM dossier WHERE id = ?1", dossier, status, 64);
}

static void
sim_set_status(sim *m, sto_db *db, const char *dossier, const char *to)
{
	if (sto_row_update(db, "dossier", dossier, "status", to) != OCOP_OK && m->verbose) {
		printf("  move to %s refused locally: %s\n", to, sto_errmsg(db));
	}
}

/* ===== Operations ===== */

static void
sim_insert(sto_db *db, const char *tbl, const char *const *cols, const char *const *vals, size_t n, char id[37])
{
	char scratch[37];

	if (sto_row_insert(db, tbl, cols, vals, n, id ? id : scratch) != OCOP_OK) {
		print_error("insert into %s: %s\n", tbl, sto_errmsg(db));
	}
}

/* A commune files a dossier: subject, product, dossier, documents, and sends it on. */
static void
sim_file(sim *m, int site)
{
	sim_dossier *d = &m->d[m->nd];
	node *s = &m->s[site];
	char product[37];
	char name[64];

	snprintf(name, sizeof(name), "HTX số %d", m->nd + 1);
	{
		const char *c[] = {"name", "kind", "unit_code", "phone"};
		const char *v[] = {name, "htx", s->scope, "0275 000"};
		sim_insert(s->db, "subject", c, v, 4, d->subject);
	}
	{
		const char *c[] = {"subject_id", "name", "product_set", "unit_code"};
		const char *v[] = {d->subject, "Bưởi da xanh", "01", s->scope};
		sim_insert(s->db, "product", c, v, 4, product);
	}
	{
		const char *c[] = {"product_id", "legal_basis", "rubric_id", "status", "epoch", "round_year", "round_no",
		    "unit_code", "province_code"};
		const char *v[] = {product, "qd26-2026", "qd26-2026/01", "draft", "0", "2026", "1", s->scope, "83"};
		sim_insert(s->db, "dossier", c, v, 9, d->id);
	}
	{
		const char *c[] = {"dossier_id", "kind", "title"};
		const char *v[] = {d->id, "commune_report", "Báo cáo đánh giá (Mẫu 03)"};
		sim_insert(s->db, "document", c, v, 3, NULL);
	}
	/* Its evidence: a small scan, which follows the dossier up to the nation if it is a candidate. */
	sf_attach(s->db, &s->files, m->dir, d->id, &m->rng);
	sim_set_status(m, s->db, d->id, "commune_check");
	sim_set_status(m, s->db, d->id, "province_review");
	d->site = site;
	d->kind = (sim_kind)sim_rand(m, KIND_COUNT_);
	d->members = 1 + (int)sim_rand(m, 3);
	if (d->kind == KIND_BELOW && d->members == 1) {
		d->members = 2;
	}
	m->nd++;
	if (m->verbose) {
		printf("  site %d files dossier %s (kind %d, %d members)\n", site, d->id, d->kind, d->members);
	}
}

/* The points member `k` of `n` gives on criterion c for a kind. */
static long
sim_points(const ocp_criterion *c, sim_kind kind, int k, int n)
{
	long p = (long)(c->max / 100);

	if (strcmp(c->code, "1.2") == 0) {
		return 0;
	}
	if (strcmp(c->code, "1.4") == 0) {
		return 1;
	}
	if (strcmp(c->code, "4.2") == 0) {
		return kind == KIND_94 || kind == KIND_MINIMUM ? p : 0;
	}
	if (strcmp(c->code, "4.3") == 0) {
		return kind == KIND_94 || kind == KIND_MINIMUM ? 3 : 2;
	}
	if (strcmp(c->code, "4.1") == 0 && kind == KIND_MINIMUM) {
		return 3;
	}
	if (strcmp(c->code, "6.3") == 0 && kind == KIND_BELOW && k == n - 1) {
		return 2;
	}
	return p;
}

/* A council sits at db (the office or the national office): evaluation, members, sheets, scores. */
static void
sim_council(sim *m, sto_db *db, const char *dossier, const char *tier, const char *held, sim_kind kind, int n,
    char eval[37])
{
	ocp_rubric *r = NULL;
	char err[256];
	int k;
	size_t i;

	{
		const char *c[] = {"dossier_id", "tier", "rubric_id", "legal_basis", "held_on", "spread_threshold",
		    "spread_rule", "disqualified", "version"};
		const char *v[] = {dossier, tier, "qd26-2026/01", "qd26-2026", held, "1000", "1", "0", "1"};
		sim_insert(db, "evaluation", c, v, 9, eval);
	}
	if (ocp_rubric_load_id(&r, m->data_dir, "qd26-2026/01", err, sizeof(err)) != OCOP_OK) {
		print_error("rubric: %s\n", err);
		return;
	}
	for (k = 0; k < n; k++) {
		char member[37];
		char sheet[37];
		char name[32];
		snprintf(name, sizeof(name), "Thành viên %d", k + 1);
		{
			const char *c[] = {"evaluation_id", "name", "role", "site_id"};
			const char *v[] = {eval, name, k == 0 ? "chair" : "member", sto_site_id(db)};
			sim_insert(db, "member", c, v, 4, member);
		}
		{
			const char *c[] = {"evaluation_id", "member_id", "owner_site", "submitted"};
			const char *v[] = {eval, member, sto_site_id(db), "1"};
			sim_insert(db, "score_sheet", c, v, 4, sheet);
		}
		for (i = 0; i < ocp_rubric_criterion_count(r); i++) {
			const ocp_criterion *cr = ocp_rubric_criterion(r, i);
			char pts[32];
			const char *c[] = {"sheet_id", "criterion", "points"};
			snprintf(pts, sizeof(pts), "%ld", sim_points(cr, kind, k, n) * 100);
			const char *v[] = {sheet, cr->code, pts};
			sim_insert(db, "score", c, v, 3, NULL);
		}
	}
	ocp_rubric_free(r);
}

/* The provincial office moves dossier d a step along, as far as it has it. */
static void
sim_office_step(sim *m, sim_dossier *d)
{
	node *o = &m->s[SIM_OFFICE];
	char status[64];

	sim_status(o->db, d->id, status);
	if (strcmp(status, "province_review") == 0) {
		sim_set_status(m, o->db, d->id, "council_review");
	} else if (strcmp(status, "council_review") == 0 && d->eval[0] == 0) {
		sim_council(m, o->db, d->id, "province", d->first_eval[0] ? "2026-11-05" : "2026-06-10", d->kind,
		    d->members, d->eval);
		sim_set_status(m, o->db, d->id, "scored");
	} else if (strcmp(status, "scored") == 0 && !d->approved) {
		/* The chair approves a potential 5★ result; a client that does not
		 * check sometimes "approves" one that is not. */
		bool candidate = d->kind == KIND_94 || d->kind == KIND_90;
		if (candidate || sim_rand(m, 2) == 0) {
			const char *c[] = {"dossier_id", "evaluation_id", "kind", "star", "number", "issued_on"};
			const char *v[] = {d->id, d->eval, "approval", "5", "99/QĐ-UBND", "2026-06-30"};
			sim_insert(o->db, "decision", c, v, 6, NULL);
			d->approved = true;
			sim_set_status(m, o->db, d->id, "potential_5star");
		} else {
			const char *c[] = {"dossier_id", "evaluation_id", "kind", "star", "number", "issued_on"};
			const char *v[] = {d->id, d->eval, "recognition", "4", "12/QĐ-UBND", "2026-06-30"};
			sim_insert(o->db, "decision", c, v, 6, NULL);
			sim_set_status(m, o->db, d->id, "recognised");
		}
	} else if (strcmp(status, "national_below_90") == 0 && d->first_eval[0] == 0 && sim_rand(m, 2) == 0) {
		/* The province re-evaluates (a reopen: a new epoch); a new evaluation is a new hand-off. */
		char sql[200];
		snprintf(sql, sizeof(sql), "UPDATE dossier SET status = 'council_review', epoch = epoch + 1 WHERE id = '%s'",
		    d->id);
		if (sto_exec(o->db, sql) == OCOP_OK) {
			memcpy(d->first_eval, d->eval, sizeof(d->first_eval));
			d->eval[0] = 0;
			d->approved = false;
			d->national = false;
			d->kind = KIND_94;
			if (m->verbose) {
				printf("  the office re-evaluates dossier %s\n", d->id);
			}
		}
	} else if (strcmp(status, "potential_5star") == 0 && d->reopened) {
		/* Completed as asked: the province sends the dossier again. */
		sim_set_status(m, o->db, d->id, "sent_national");
	} else if (strcmp(status, "national_below_90") == 0 && sim_rand(m, 4) == 0) {
		/* The province does not recognise it from the central result. */
		sim_set_status(m, o->db, d->id, "not_recognised");
	} else if (strcmp(status, "national_below_90") == 0) {
		/* The province recognises 4★ from the central result. */
		const char *c[] = {"dossier_id", "kind", "star", "number", "issued_on"};
		const char *v[] = {d->id, "recognition", "4", "13/QĐ-UBND", "2026-10-01"};
		sim_insert(o->db, "decision", c, v, 5, NULL);
		sim_set_status(m, o->db, d->id, "recognised");
	} else if (sim_rand(m, 3) == 0) {
		/* Later edits to a candidate's tree (relayed incrementally). */
		char phone[32];
		snprintf(phone, sizeof(phone), "0275 %u", sim_rand(m, 100000));
		sto_row_update(o->db, "subject", d->subject, "phone", phone);
	}
}

static void
sim_office_op(sim *m)
{
	if (m->nd > 0) {
		sim_office_step(m, &m->d[sim_rand(m, (unsigned)m->nd)]);
	}
}

/*
 * The lying commune appends a hand-made change to its log (its next sync
 * pushes it): each kind must be refused by the province.
 */
static void
sim_lie(sim *m)
{
	node *n = &m->s[SIM_LIAR];
	proto_value v[3];
	const char *names[3];
	char row[37];
	char tbl[32] = "dossier";
	com_buf cells;
	proto_wr w;
	com_uuid u;
	uint64_t seq = 0;
	uint64_t hlc = 0;
	int k = 1;
	int i;
	sim_dossier *d;

	if (m->nd == 0) {
		return;
	}
	d = &m->d[sim_rand(m, (unsigned)m->nd)];
	/* Only rows the province holds: ids leak once they are on the server (in
	 * reports, on paper), never before (a UUIDv7 is not guessable). */
	if (sim_int(m->prov.db, "SELECT COUNT(*) FROM dossier WHERE id = ?1", d->id) != 1) {
		return;
	}
	memset(v, 0, sizeof(v));
	snprintf(row, sizeof(row), "%s", d->id);
	names[0] = "status_note";
	v[0].type = PROTO_V_TEXT;
	v[0].p = (const uint8_t *)"LIE";
	v[0].len = 3;
	switch (sim_rand(m, 5)) {
	case 0: /* another commune's dossier (or its own: then the next kinds) */
		if (d->site == SIM_LIAR) {
			names[0] = "no_such_column";
		}
		break;
	case 1: /* a national result */
		com_uuid7_at(&u, n->clock);
		com_uuid_format(&u, row);
		snprintf(tbl, sizeof(tbl), "decision");
		names[0] = "dossier_id";
		v[0].p = (const uint8_t *)d->id;
		v[0].len = 36;
		names[1] = "kind";
		v[1].type = PROTO_V_TEXT;
		v[1].p = (const uint8_t *)"national_result";
		v[1].len = strlen("national_result");
		names[2] = "star";
		v[2].type = PROTO_V_INT;
		v[2].i = 5;
		k = 3;
		break;
	case 2: /* a status it may never reach, in an epoch of its own */
		names[0] = "status";
		v[0].p = (const uint8_t *)"national_recognised";
		v[0].len = strlen("national_recognised");
		names[1] = "epoch";
		v[1].type = PROTO_V_INT;
		v[1].i = 1000 + sim_rand(m, 100);
		k = 2;
		break;
	case 3: /* a wrong type */
		names[0] = "round_year";
		v[0].type = PROTO_V_TEXT;
		break;
	default: /* the row's id */
		names[0] = "id";
		break;
	}
	com_buf_init(&cells);
	proto_wr_init(&w, &cells);
	proto_cells_begin(&w, (uint32_t)k);
	for (i = 0; i < k; i++) {
		proto_cell_put(&w, names[i], &v[i], 0);
	}
	com_hlc_now(sto_hlc(n->db), &hlc);
	/* Straight into the log, as a modified client would: nothing judged it. */
	if (proto_wr_error(&w) == OCOP_OK && m->nlies < 64 &&
	    sto_log_put_cells(n->db, 0, tbl, row, hlc, "liar", cells.data, cells.len, &seq) == OCOP_OK) {
		m->lies[m->nlies++] = seq;
	}
	com_buf_fini(&cells);
}

/* A commune files a dossier, or edits one of its own. */
static void
sim_commune_op(sim *m, int site)
{
	int i;
	int mine[SIM_MAX_DOSSIERS];
	int n = 0;

	for (i = 0; i < m->nd; i++) {
		if (m->d[i].site == site) {
			mine[n++] = i;
		}
	}
	if (m->nd < SIM_MAX_DOSSIERS && (n == 0 || sim_rand(m, 3) == 0)) {
		sim_file(m, site);
		return;
	}
	if (n > 0) {
		sim_dossier *d = &m->d[mine[sim_rand(m, (unsigned)n)]];
		if (sim_rand(m, 2) == 0) {
			char phone[32];
			snprintf(phone, sizeof(phone), "0275 %u", sim_rand(m, 100000));
			sto_row_update(m->s[site].db, "subject", d->subject, "phone", phone);
		} else if (sim_rand(m, 2) == 0) {
			sf_attach(m->s[site].db, &m->s[site].files, m->dir, d->id, &m->rng);
		} else {
			const char *c[] = {"dossier_id", "kind", "title"};
			const char *v[] = {d->id, "evidence", "Minh chứng bổ sung"};
			char doc[37];
			sto_row_insert(m->s[site].db, "document", c, v, 3, doc);
		}
	}
}

/* The national office moves dossier d along: review, sit, decide. */
static void
sim_noffice_step(sim *m, sim_dossier *d)
{
	node *o = &m->noffice;
	char status[64];
	char eval[37];

	sim_status(o->db, d->id, status);
	if (strcmp(status, "sent_national") == 0) {
		sim_set_status(m, o->db, d->id, "national_review");
	} else if (strcmp(status, "national_review") == 0 && !d->national && !d->reopened && sim_rand(m, 6) == 0) {
		/* The central advisory group asks for completion: a national reopen (a new epoch). */
		char sql[300];
		snprintf(sql, sizeof(sql),
		    "UPDATE dossier SET status = 'potential_5star', epoch = epoch + 1, status_note = 'Bổ sung hồ sơ',"
		    " update_deadline = '2026-10-15' WHERE id = '%s'",
		    d->id);
		if (sto_exec(o->db, sql) == OCOP_OK) {
			d->reopened = true;
		}
	} else if (strcmp(status, "national_review") == 0 && !d->national && sim_rand(m, 10) == 0) {
		/* Hồ sơ bị loại at the centre. */
		const char *c[] = {"status", "status_note"};
		const char *v[] = {"disqualified", "Hồ sơ không đạt yêu cầu"};
		sto_row_update_cells(o->db, "dossier", d->id, c, v, 2);
		d->national = true;
	} else if (strcmp(status, "national_recognised") == 0 && sim_rand(m, 8) == 0) {
		/* The Minister revokes the 5★ (Đ8). */
		const char *c[] = {"dossier_id", "kind", "number", "issued_on", "note"};
		const char *v[] = {d->id, "national_revocation", "7/QĐ-BNNMT", "2026-12-01", "vi phạm ghi nhãn (Đ8.1c)"};
		sim_insert(o->db, "decision", c, v, 5, NULL);
		sim_set_status(m, o->db, d->id, "revoked");
	} else if (strcmp(status, "national_review") == 0 && !d->national) {
		/* The central council scores 94 (5★) or just below 90 (national_below_90). */
		bool five = sim_rand(m, 3) != 0;
		char expires[16];
		sim_council(m, o->db, d->id, "national", "2026-09-10", five ? KIND_94 : KIND_BELOW, 2, eval);
		snprintf(expires, sizeof(expires), "%s", five ? "2029-09-20" : "");
		{
			const char *c[] = {"dossier_id", "evaluation_id", "kind", "star", "number", "issued_on", "expires_on"};
			const char *v[] = {d->id, eval, "national_result", five ? "5" : "4", "123/QĐ-BNNMT", "2026-09-20",
			    five ? expires : NULL};
			sim_insert(o->db, "decision", c, v, 7, NULL);
		}
		sim_set_status(m, o->db, d->id, five ? "national_recognised" : "national_below_90");
		d->national = true;
	}
}

static void
sim_noffice_op(sim *m)
{
	if (m->nd > 0) {
		sim_noffice_step(m, &m->d[sim_rand(m, (unsigned)m->nd)]);
	}
}

/* ===== Sessions ===== */

static int
sim_sync(sim *m, node *n, bool nation, bool must)
{
	sim_link l = {m, nation, n};
	cli_transport t = {sim_roundtrip, &l};
	cli_sync_opts o;
	cli_sync_stats st;
	char err[600];
	int rv;

	memset(&o, 0, sizeof(o));
	o.credential = n->cred;
	rv = cli_sync_once(n->db, ocp_policy_store(m->site_pol), &t, &o, &st, err, sizeof(err));
	if (rv == OCOP_OK) {
		/* The files after the rows, over the same faulty link. */
		rv = sf_sync(n->db, ocp_policy_store(m->site_pol), &n->files, &t, n->cred, NULL, err, sizeof(err));
	}
	if (m->verbose) {
		printf("  sync %s %s: %s pushed %" PRIu64 " pulled %" PRIu64 " %s\n", n->role, n->scope, ocop_errname(rv),
		    st.pushed, st.pulled, err);
	}
	if (rv != OCOP_OK && must) {
		print_error("seed %u: sync of %s %s failed after the network healed: %s\n", m->seed, n->role, n->scope, err);
		return rv;
	}
	return OCOP_OK;
}

static int
sim_upstream(sim *m, bool must)
{
	sim_link l = {m, true, &m->prov};
	srv_link link = {sim_roundtrip, &l};
	srv_upstream_stats st;
	char err[600];
	int rv;

	rv = srv_upstream_step(m->up, &link, &st, err, sizeof(err));
	if (rv == OCOP_OK) {
		/* The candidates' evidence after their rows. */
		sto_xfer_stats xs;
		rv = srv_upfiles_step(m->prov.db, srv_files_blobs(m->files_p), &link, m->prov_cred, 0, &xs, err,
		    sizeof(err));
	}
	if (m->verbose) {
		printf("  upstream: %s new %u acked %u decided %u relayed %" PRIu64 " pulled %" PRIu64 " %s\n",
		    ocop_errname(rv), st.new_candidates, st.acknowledged, st.decided, st.relayed, st.pulled, err);
	}
	m->steps_ok += rv == OCOP_OK;
	if (m->prov_dies) {
		m->prov_dies = false;
		if (sim_restart(m, false) != 0) {
			return OCOP_EINTERNAL;
		}
	}
	if (rv != OCOP_OK && must) {
		print_error("seed %u: upstream step failed after the network healed: %s\n", m->seed, err);
		return rv;
	}
	return OCOP_OK;
}

/* ===== Oracle ===== */

/* One row's cells and cell versions, as text (caller com_free()s). */
static char *
sim_row_dump(sto_db *db, const char *tbl, const char *id)
{
	const sto_table *t = sto_schema_table(tbl);
	sqlite3_stmt *st = NULL;
	com_buf b;
	char sql[128];
	size_t i;

	com_buf_init(&b);
	snprintf(sql, sizeof(sql), "SELECT * FROM %s WHERE id = ?1", tbl);
	if (t != NULL && sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			for (i = 0; i < (size_t)sqlite3_column_count(st); i++) {
				const unsigned char *v = sqlite3_column_text(st, (int)i);
				/* The packed clock is the replica's own encoding (its site numbers): compared below. */
				if (strcmp(sqlite3_column_name(st, (int)i), "ocop_clock") != 0) {
					com_buf_printf(&b, "%s=%s|", sqlite3_column_name(st, (int)i), v ? (const char *)v : "NULL");
				}
			}
		} else {
			com_buf_puts(&b, "(absent)");
		}
	}
	sqlite3_finalize(st);
	for (i = 0; t != NULL && i < t->ncols; i++) {
		uint64_t hlc;
		int64_t aux;
		char site[37];
		bool found;
		if (sto_clock_get(db, tbl, id, t->cols[i].name, &hlc, site, &aux, &found) == OCOP_OK && found) {
			com_buf_printf(&b, " %s@%lld/%s", t->cols[i].name, (long long)hlc, site);
		}
	}
	com_buf_append(&b, "", 1);
	return com_buf_detach(&b, NULL);
}

/* Is this evaluation's result a potential 5★ by the one scoring function? */
static bool
sim_potential(ocp_council *c, const char *eval)
{
	ocp_council_result *r = NULL;
	bool yes;

	if (ocp_council_result_compute(c, eval, &r) != OCOP_OK) {
		return false;
	}
	yes = r->score->potential_5star;
	ocp_council_result_free(r);
	return yes;
}

/* 1 and 2: exactly the candidates are handed off, once each. */
static int
sim_check_handoffs(sim *m)
{
	ocp_council *c = NULL;
	sqlite3_stmt *st = NULL;
	int bad = 0;
	int i;

	if (ocp_council_open(&c, m->prov.db, m->data_dir) != OCOP_OK) {
		return 1;
	}
	for (i = 0; i < m->nd; i++) {
		sim_dossier *d = &m->d[i];
		char status[64];
		int64_t handoffs;
		bool potential;
		bool approved;
		bool branch;

		if (d->eval[0] == 0) {
			continue;
		}
		sim_status(m->prov.db, d->id, status);
		potential = sim_potential(c, d->eval);
		approved = sim_int(m->prov.db, "SELECT COUNT(*) FROM decision WHERE kind = 'approval' AND deleted = 0"
					       " AND evaluation_id = ?1", d->eval) > 0;
		branch = strcmp(status, "potential_5star") == 0 || strncmp(status, "sent_national", 13) == 0 ||
		    strncmp(status, "national_", 9) == 0;
		handoffs = sim_int(m->prov.db, "SELECT COUNT(*) FROM handoff WHERE evaluation_id = ?1", d->eval);
		if (potential != (d->kind == KIND_94 || d->kind == KIND_90)) {
			print_error("seed %u: dossier %s of kind %d scores %s potential 5★\n", m->seed, d->id, d->kind,
			    potential ? "as" : "not as");
			bad++;
		}
		if (potential && approved && branch && handoffs != 1) {
			print_error("seed %u: candidate %s (%s) has %" PRId64 " hand-offs\n", m->seed, d->id, status, handoffs);
			bad++;
		}
		if (d->first_eval[0] != 0 &&
		    sim_int(m->prov.db, "SELECT COUNT(*) FROM handoff WHERE evaluation_id = ?1", d->first_eval) != 1) {
			print_error("seed %u: the first evaluation of re-evaluated dossier %s lost its hand-off\n", m->seed,
			    d->id);
			bad++;
		}
		if ((!potential || !approved) && handoffs != 0) {
			print_error("seed %u: dossier %s (kind %d, approved %d) was handed off\n", m->seed, d->id, d->kind,
			    approved);
			bad++;
		}
	}
	ocp_council_close(c);
	/* Every hand-off complete, and noted once at the nation; nothing else arrived. */
	bad += sim_int(m->prov.db, "SELECT COUNT(*) FROM handoff WHERE state NOT IN ('acknowledged', 'decided')", NULL) != 0;
	sqlite3_prepare_v2(sto_sqlite(m->prov.db), "SELECT dossier_id, evaluation_id, version, state FROM handoff", -1, &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW) {
		char sql[300];
		snprintf(sql, sizeof(sql),
		    "SELECT COUNT(*) FROM arrival WHERE dossier_id = '%s' AND evaluation_id = '%s' AND version = %lld",
		    (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
		    (long long)sqlite3_column_int64(st, 2));
		if (sim_int(m->nation.db, sql, NULL) != 1) {
			print_error("seed %u: hand-off of %s (%s) arrived %" PRId64 " times\n", m->seed,
			    (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 3),
			    sim_int(m->nation.db, sql, NULL));
			bad++;
		}
	}
	sqlite3_finalize(st);
	if (sim_int(m->nation.db, "SELECT COUNT(*) FROM arrival", NULL) !=
	    sim_int(m->prov.db, "SELECT COUNT(*) FROM handoff", NULL)) {
		print_error("seed %u: %" PRId64 " arrivals for %" PRId64 " hand-offs\n", m->seed,
		    sim_int(m->nation.db, "SELECT COUNT(*) FROM arrival", NULL),
		    sim_int(m->prov.db, "SELECT COUNT(*) FROM handoff", NULL));
		bad++;
	}
	if (bad == 0 && sim_int(m->prov.db, "SELECT COUNT(*) FROM handoff WHERE state NOT IN ('acknowledged', 'decided')",
			    NULL) != 0) {
		print_error("seed %u: a hand-off is still pending after the network healed\n", m->seed);
		bad++;
	}
	return bad;
}

/* 3: every row of every handed-off tree is the same at the province and the nation. */
static int
sim_check_trees(sim *m)
{
	sqlite3_stmt *st = NULL;
	int bad = 0;

	sqlite3_prepare_v2(sto_sqlite(m->prov.db), "SELECT DISTINCT tbl, row_id FROM handoff_tree ORDER BY tbl, row_id", -1,
	    &st, NULL);
	while (sqlite3_step(st) == SQLITE_ROW && bad < 3) {
		const char *tbl = (const char *)sqlite3_column_text(st, 0);
		const char *id = (const char *)sqlite3_column_text(st, 1);
		char *a = sim_row_dump(m->prov.db, tbl, id);
		char *b = sim_row_dump(m->nation.db, tbl, id);
		if (strcmp(a, b) != 0) {
			print_error("seed %u: %s %s differs:\n province: %.400s\n nation:   %.400s\n", m->seed, tbl, id, a, b);
			bad++;
		}
		com_free(a);
		com_free(b);
	}
	sqlite3_finalize(st);
	return bad;
}

/* 4: the national decision reaches the commune that filed the dossier. */
static int
sim_check_decisions(sim *m)
{
	int bad = 0;
	int i;

	for (i = 0; i < m->nd; i++) {
		sim_dossier *d = &m->d[i];
		node *origin = &m->s[d->site];
		char sn[64];
		char so[64];
		char star_n[16];
		char star_o[16];
		const char *q = "SELECT star FROM decision WHERE dossier_id = ?1 AND kind = 'national_result' AND deleted = 0";

		if (!sim_text(m->nation.db, q, d->id, star_n, sizeof(star_n))) {
			continue;
		}
		sim_status(m->nation.db, d->id, sn);
		sim_status(origin->db, d->id, so);
		if (!sim_text(origin->db, q, d->id, star_o, sizeof(star_o)) || strcmp(star_n, star_o) != 0) {
			print_error("seed %u: the national result of %s (%s★) did not reach site %d\n", m->seed, d->id, star_n,
			    d->site);
			bad++;
		}
		/* The province may have moved on from national_below_90 (recognised). */
		sim_status(m->prov.db, d->id, sn);
		if (strcmp(sn, so) != 0) {
			print_error("seed %u: dossier %s is %s at the province but %s at site %d\n", m->seed, d->id, sn, so,
			    d->site);
			bad++;
		}
	}
	return bad;
}

/* 7: every lie refused and ledgered at the province, applied nowhere, unknown to the nation. */
static int
sim_check_lies(sim *m)
{
	const char *site = sto_site_id(m->s[SIM_LIAR].db);
	char sql[300];
	int bad = 0;
	int i;

	for (i = 0; i < m->nlies; i++) {
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM change WHERE site = (SELECT no FROM site_ref WHERE uuid = ?1) AND seq = %llu",
		    (unsigned long long)m->lies[i]);
		if (sim_int(m->prov.db, sql, site) != 0 || sim_int(m->nation.db, sql, site) != 0) {
			print_error("seed %u: the lying commune's change %llu was applied\n", m->seed,
			    (unsigned long long)m->lies[i]);
			bad++;
		}
		snprintf(sql, sizeof(sql),
		    "SELECT COUNT(*) FROM ledger WHERE refused = 1 AND lost_site = ?1 AND lost_seq = %llu",
		    (unsigned long long)m->lies[i]);
		if (sim_int(m->prov.db, sql, site) == 0 || sim_int(m->s[SIM_LIAR].db, sql, site) == 0) {
			print_error("seed %u: the lying commune's change %llu is not ledgered as refused\n", m->seed,
			    (unsigned long long)m->lies[i]);
			bad++;
		}
	}
	return bad;
}

/* Transitions of the QD 26/2026 flow the servers accepted, over every seed. */
static unsigned char sim3_covered[128];

/* Read each dossier's statuses back from a server's log, in order, and mark the moves. */
static void
sim_cover(sim *m, sto_db *db)
{
	const ocp_flow *flow = ocp_policy_flow(m->site_pol, "qd26-2026");
	tr_rec *recs = NULL;
	size_t n = 0;
	size_t *order;
	size_t r;
	char row[37] = "";
	char from[64] = "";

	if (tr_log_all(db, 0, &recs, &n) != OCOP_OK || (order = com_calloc(n + 1, sizeof(*order))) == NULL) {
		tr_log_free(recs, n);
		return;
	}
	/* Each dossier's records in log order (a stable sort by row). */
	for (r = 0; r < n; r++) {
		size_t k = r;
		order[r] = r;
		while (k > 0 && strcmp(recs[order[k - 1]].c.row, recs[r].c.row) > 0) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = r;
	}
	for (r = 0; r < n; r++) {
		const proto_change *ch = &recs[order[r]].c;
		proto_cells_it it;
		proto_cell c;
		if (strcmp(ch->tbl, "dossier") != 0) {
			continue;
		}
		if (strcmp(row, ch->row) != 0) {
			snprintf(row, sizeof(row), "%s", ch->row);
			from[0] = 0;
		}
		proto_cells_open(&it, ch->cells, ch->cells_len, NULL);
		while (proto_cells_next(&it, &c) == OCOP_OK) {
			char to[64];
			size_t i;
			if (strcmp(c.col, "status") != 0 || c.v.type != PROTO_V_TEXT) {
				continue;
			}
			snprintf(to, sizeof(to), "%.*s", (int)c.v.len, (const char *)c.v.p);
			for (i = 0; from[0] != 0 && i < ocp_flow_transition_count(flow) && i < 128; i++) {
				const ocp_transition *t = ocp_flow_transition_at(flow, i);
				if (strcmp(t->from->name, from) == 0 && strcmp(t->to->name, to) == 0) {
					sim3_covered[i] = 1;
				}
			}
			snprintf(from, sizeof(from), "%s", to);
		}
	}
	com_free(order);
	tr_log_free(recs, n);
}


/* Rows and cell versions of every replicated row in scope, as text. */
static int
sim_compare(sim *m, sto_db *server, node *n, const char *what)
{
	char *a = tr_dump_scope(server, server, n->scope);
	char *b = tr_dump_scope(n->db, server, n->scope);
	int bad = 0;

	if (strcmp(a, b) != 0) {
		char *pa = a;
		char *pb = b;
		while (*pa && *pa == *pb) {
			pa++;
			pb++;
		}
		while (pa > a && pa[-1] != '\n') {
			pa--;
			pb--;
		}
		print_error("seed %u: %s (%s %s) differs from its server:\n server: %.300s\n site:   %.300s\n", m->seed, what,
		    n->role, n->scope, pa, pb);
		bad = 1;
	}
	com_free(a);
	com_free(b);
	return bad;
}

/* 5 and 6. */
static int
sim_check_rest(sim *m)
{
	sto_db *dbs[SIM_SITES + 3];
	int bad = 0;
	int i;

	for (i = 0; i < SIM_SITES; i++) {
		bad += sim_compare(m, m->prov.db, &m->s[i], "site");
	}
	bad += sim_compare(m, m->nation.db, &m->noffice, "the national office");
	/* Nothing honest was refused either way, but a status move made on a view
	 * the dossier had left (workflow: a tier moved it meanwhile, and the move
	 * was judged against the status the server holds): the other refusals are
	 * the liar's. */
	{
		const char *liar = sto_site_id(m->s[SIM_LIAR].db);
		const char *q_n = "SELECT COUNT(*) FROM ledger WHERE ((refused = 1 AND rule <> 'workflow') OR"
				  " (rule = 'upstream' AND reason NOT LIKE '%(workflow)%')) AND lost_site <> ?1";
		if (sim_int(m->nation.db, q_n, liar) != 0 || sim_int(m->prov.db, q_n, liar) != 0) {
			char r[300];
			sim_text(m->nation.db, "SELECT reason FROM ledger WHERE refused = 1 AND rule <> 'workflow' AND lost_site <> ?1",
			    liar, r, sizeof(r));
			if (r[0] == 0) {
				sim_text(m->prov.db,
				    "SELECT reason FROM ledger WHERE refused = 1 AND rule <> 'workflow' AND lost_site <> ?1", liar, r,
				    sizeof(r));
			}
			print_error("seed %u: refusals of honest writes: nation %" PRId64 ", province %" PRId64 " (%s)\n",
			    m->seed, sim_int(m->nation.db, q_n, liar), sim_int(m->prov.db, q_n, liar), r);
			bad++;
		}
	}
	dbs[0] = m->nation.db;
	dbs[1] = m->prov.db;
	dbs[2] = m->noffice.db;
	for (i = 0; i < SIM_SITES; i++) {
		dbs[3 + i] = m->s[i].db;
	}
	for (i = 0; i < SIM_SITES + 3; i++) {
		char r[64];
		sim_text(dbs[i], "PRAGMA integrity_check", NULL, r, sizeof(r));
		if (strcmp(r, "ok") != 0) {
			print_error("seed %u: database %d fails integrity_check: %s\n", m->seed, i, r);
			bad++;
		}
	}
	return bad;
}

/* ===== One seed ===== */

/* What the seeds covered, printed at the end (a simulation that never hands off proves nothing). */
static struct {
	int64_t handoffs;  /* hand-offs made */
	int64_t decided;   /* of those, decided by the national council */
	int64_t refused;   /* approved dossiers that were not candidates, never handed off */
	int64_t reevaluated; /* dossiers handed off again after a re-evaluation */
} totals;

/*
 * The files: each site under the province holds exactly its scope's, the
 * national office the candidates', and the national server holds every file
 * of a relayed document the province holds, and no other.
 */
static int
sim_check_files(sim *m)
{
	sto_db *dbs[SIM_SITES];
	sf_node *nodes[SIM_SITES];
	const char *scopes[SIM_SITES];
	sto_db *ndb = m->noffice.db;
	sf_node *nn = &m->noffice.files;
	const char *ns = m->noffice.scope;
	int bad;
	int i;

	for (i = 0; i < SIM_SITES; i++) {
		dbs[i] = m->s[i].db;
		nodes[i] = &m->s[i].files;
		scopes[i] = m->s[i].scope;
	}
	bad = sf_check(m->prov.db, srv_files_blobs(m->files_p), ocp_policy_store(m->server_pol), dbs, nodes, scopes,
	    SIM_SITES, m->seed);
	bad += sf_check(m->nation.db, srv_files_blobs(m->files_n), ocp_policy_store(m->server_pol), &ndb, &nn, &ns, 1,
	    m->seed);
	bad += sf_check_relay(m->prov.db, srv_files_blobs(m->files_p), m->nation.db, srv_files_blobs(m->files_n),
	    m->seed);
	return bad;
}

static int
sim_run(unsigned seed, bool verbose)
{
	sim *m = com_calloc(1, sizeof(*m));
	int steps;
	int step;
	int i;
	int bad = 0;

	m->seed = seed;
	m->rng = seed;
	m->verbose = verbose;
	m->faults = getenv("OCOP_SIM_FAULTS") == NULL || strcmp(getenv("OCOP_SIM_FAULTS"), "0") != 0;
	if (sim_setup(m) != 0) {
		print_error("seed %u: setup failed\n", seed);
		sim_teardown(m);
		com_free(m);
		return 1;
	}
	steps = 60 + (int)sim_rand(m, 90);
	for (step = 0; step < steps && bad == 0; step++) {
		unsigned who = sim_rand(m, 10);
		node *all[] = {&m->nation, &m->prov, &m->s[0], &m->s[1], &m->s[2], &m->noffice};
		for (i = 0; i < 6; i++) {
			all[i]->clock += sim_rand(m, 3000);
		}
		switch (who) {
		case 0: case 1: {
			int site = (int)sim_rand(m, 2);
			if (site == SIM_LIAR && sim_rand(m, 3) == 0) {
				if (sim_rand(m, 4) == 0) {
					/* With files too, straight to the province: each must be refused. */
					bad += sf_lie(&m->svc_p, m->s[SIM_LIAR].db, &m->s[SIM_LIAR].files, m->s[SIM_LIAR].cred,
					    -1, &m->rng, m->seed);
				} else {
					sim_lie(m);
				}
			} else {
				sim_commune_op(m, site);
			}
			break;
		}
		case 2: case 3:
			sim_office_op(m);
			break;
		case 4:
			sim_noffice_op(m);
			break;
		case 5: case 6:
			bad += sim_sync(m, &m->s[sim_rand(m, SIM_SITES)], false, false) != OCOP_OK;
			break;
		case 7:
			bad += sim_sync(m, &m->noffice, true, false) != OCOP_OK;
			break;
		default:
			bad += sim_upstream(m, false) != OCOP_OK;
			break;
		}
	}
	/* Heal: the faults stop; the offices carry on with every dossier they hold
	 * while every tier syncs, until everything has flowed both ways. */
	m->faults = false;
	for (step = 0; step < 8 && bad == 0; step++) {
		for (i = 0; i < SIM_SITES; i++) {
			bad += sim_sync(m, &m->s[i], false, true) != OCOP_OK;
		}
		if (step < 6) {
			for (i = 0; i < m->nd; i++) {
				sim_office_step(m, &m->d[i]);
			}
			bad += sim_sync(m, &m->s[SIM_OFFICE], false, true) != OCOP_OK;
		}
		bad += sim_upstream(m, true) != OCOP_OK;
		bad += sim_sync(m, &m->noffice, true, true) != OCOP_OK;
		if (step < 6) {
			for (i = 0; i < m->nd; i++) {
				sim_noffice_step(m, &m->d[i]);
			}
			bad += sim_sync(m, &m->noffice, true, true) != OCOP_OK;
		}
		bad += sim_upstream(m, true) != OCOP_OK;
	}
	for (i = 0; i < SIM_SITES && bad == 0; i++) {
		bad += sim_sync(m, &m->s[i], false, true) != OCOP_OK;
	}
	if (verbose) {
		printf("  %d dossiers, %d faults injected, %d server restarts, %d upstream steps completed\n", m->nd,
		    m->faults_injected, m->restarts, m->steps_ok);
	}
	totals.handoffs += sim_int(m->prov.db, "SELECT COUNT(*) FROM handoff", NULL);
	totals.decided += sim_int(m->prov.db, "SELECT COUNT(*) FROM handoff WHERE state = 'decided'", NULL);
	for (i = 0; i < m->nd; i++) {
		totals.refused += m->d[i].approved && (m->d[i].kind == KIND_BELOW || m->d[i].kind == KIND_MINIMUM);
		totals.reevaluated += m->d[i].first_eval[0] != 0 &&
		    sim_int(m->prov.db, "SELECT COUNT(*) FROM handoff WHERE dossier_id = ?1", m->d[i].id) == 2;
	}
	if (bad == 0) {
		bad += sim_check_handoffs(m);
		bad += sim_check_trees(m);
		bad += sim_check_decisions(m);
		bad += sim_check_rest(m);
		bad += sim_check_lies(m);
		bad += sim_check_files(m);
	}
	sim_cover(m, m->prov.db);
	sim_cover(m, m->nation.db);
	if (bad != 0) {
		print_error("seed %u FAILED; replay: OCOP_SIM3_SEED=%u ctest -R fault.sim3 -V\n", seed, seed);
	}
	sim_teardown(m);
	com_free(m);
	return bad;
}

static void
test_three_tiers_hand_off_exactly_once_and_converge_under_faults(void **state)
{
	const char *one = getenv("OCOP_SIM3_SEED");
	const char *many = getenv("OCOP_SIM3_SEEDS");
	unsigned n = many ? (unsigned)strtoul(many, NULL, 10) : 300;
	unsigned seed;
	unsigned failed = 0;

	(void)state;
	if (one != NULL) {
		assert_int_equal(sim_run((unsigned)strtoul(one, NULL, 10), true), 0);
		return;
	}
	for (seed = 1; seed <= n; seed++) {
		failed += sim_run(seed, false) != 0;
		if (failed >= 3) {
			break;
		}
	}
	printf("fault.sim3: %u seeds, %u failed; %" PRId64 " hand-offs, %" PRId64 " decided, %" PRId64
	       " approved non-candidates kept back, %" PRId64 " handed off again after a re-evaluation\n",
	    seed > n ? n : seed, failed, totals.handoffs, totals.decided, totals.refused, totals.reevaluated);
	assert_int_equal(failed, 0);
	/* Every transition the national tier makes, accepted by a server. (Those of
	 * QD 148/2023 cannot arise: no rubric scores such a dossier now, so none is a
	 * candidate; the authority matrix test covers them.) */
	{
		char dd[1024];
		char err[256];
		ocp_policy *pol = NULL;
		const ocp_flow *flow;
		size_t made = 0;
		size_t missing = 0;
		size_t i;
		tu_src(dd, sizeof(dd), "data");
		assert_ok(ocp_policy_open(&pol, dd, false, err, sizeof(err)));
		unsigned char reach[128] = {0};
		const unsigned below = OCP_ROLE_BIT(OCP_ROLE_COMMUNE) | OCP_ROLE_BIT(OCP_ROLE_DISTRICT) |
		    OCP_ROLE_BIT(OCP_ROLE_PROVINCE);
		flow = ocp_policy_flow(pol, "qd26-2026");
		/* What the tiers below the nation reach alone is fault.sim's; the
		 * rest (the national moves and what follows them) is this run's. */
		tr_flow_reach(flow, below, reach);
		for (i = 0; i < ocp_flow_transition_count(flow) && i < 128; i++) {
			const ocp_transition *t = ocp_flow_transition_at(flow, i);
			size_t f = tr_flow_state_index(flow, t->from);
			made += sim3_covered[i];
			if (((t->roles & OCP_ROLE_BIT(OCP_ROLE_NATIONAL)) || !reach[f]) && !sim3_covered[i] && n >= 200) {
				print_error("fault.sim3: transition %s -> %s was never accepted\n", t->from->name, t->to->name);
				missing++;
			}
		}
		printf("fault.sim3: qd26-2026: %zu of %zu transitions accepted by the servers\n", made,
		    ocp_flow_transition_count(flow));
		ocp_policy_free(pol);
		assert_int_equal(missing, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_three_tiers_hand_off_exactly_once_and_converge_under_faults),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
