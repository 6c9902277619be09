/*
 * fault.sim: seeded randomized simulation of a province and its sites, in one
 * process, through the real server code (srv_handle) and the real sync
 * session (cli_sync_once) over an in-process transport.
 *
 * Each seed fixes every choice: which site writes what and when, each site's
 * clock skew, which sites sync and in which order, and which writes are made
 * without authority. After a final round in which everyone syncs, the oracle
 * checks DESIGN.md section 6:
 *   1. convergence: every site holds exactly the server's rows, cells, cell
 *      versions and derived results (each sheet's total) for its scope;
 *   2. no silent loss: every change the server acknowledged is current, or in
 *      the ledger, or was overwritten by a write that had seen it; every
 *      refused change is in the server's ledger and in its writer's;
 *   3. exactly once: each site's changes are held once, densely numbered;
 *   4. authority: no refused write stands anywhere.
 *
 * The link between each site and the server is faulty (seeded): requests and
 * replies are dropped, duplicated, replayed late (reordered), truncated and
 * corrupted; a site is partitioned for a while; a session is cut mid-batch.
 * Nodes crash at named points — the server before committing a PUSH or after
 * committing it but before replying, a site after a reply arrives but before
 * recording it, or before applying a PULL — and restart from their database
 * files. One site in four seeds has a clock far beyond the skew bound, so the
 * server clamps it.
 *
 * One registered site per seed is a liar (its laptop is tampered with): a
 * third of its operations append hand-made changes to its log instead of
 * writing through the store (another unit's rows, unknown columns, wrong
 * types, immutable columns, epochs without a reopen, status jumps, decisions
 * and scores it may not write, rows under parents the server does not hold),
 * and now and then it sends a PUSH holding a change stamped with another
 * site's id. The oracle checks that every lie was refused and ledgered and
 * never applied (so the server holds what the honest writes alone make), that
 * the liar's plain honest changes still landed, and that every replica, the
 * liar's included, converged. The workload runs dossiers of both legal bases
 * (a district office for QĐ 148), moves them along every transition of both
 * flows that a commune, a district or the province makes, and the province
 * moves dossiers between communes; the run prints the transitions exercised
 * (the national ones are fault.sim3's) and fails when one was never made.
 *
 * OCOP_SIM_SEEDS=N runs seeds 1..N (default 500); OCOP_SIM_SEED=S runs only S
 * and prints what happens; OCOP_SIM_FAULTS=0 turns the faults off;
 * OCOP_SIM_KEEP=1 keeps the database files for inspection. A failing seed is
 * printed with the command that replays it.
 */
#include "tests/lib/testutil.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/sync.h"
#include "common/ocop/policy.h"
#include "common/ocop/scope.h"
#include "common/store/capture.h"
#include "common/store/clock.h"
#include "common/store/log.h"
#include "common/store/merge.h"
#include "common/store/schema.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/fault.h"
#include "common/util/uuid.h"
#include "protocol/envelope.h"
#include "protocol/session.h"
#include "server/files.h"
#include "server/registry.h"
#include "server/service.h"
#include "tests/fault/simfiles.h"
#include "tests/lib/replica.h"

#define SIM_SITES 7
#define SIM_MAX_LIES 128
#define SIM_MAX_ROWS 64

typedef struct sim_site {
	struct sim *m;           /* back pointer, for the link */
	int index;               /* which site */
	const char *role;        /* role name */
	const char *scope;       /* unit scope */
	sto_db *db;              /* replica, in memory */
	uint64_t clock;          /* physical clock, ms */
	char cred[SRV_CREDENTIAL_LEN + 1]; /* credential from the server */
	char member_id[37];      /* for member sites: their member row, once created */
	char sheet_id[37];       /* and their sheet */
	char path[600];          /* database file */
	int partitioned;         /* link down for this many more requests */
	com_buf old_req;         /* an earlier request, to replay late */
	int crashes;             /* restarts so far */
	sf_node files;           /* its evidence files (tests/fault/simfiles.h) */
} sim_site;

typedef struct sim {
	unsigned seed;              /* the seed */
	unsigned rng;               /* rand_r state */
	bool verbose;               /* print every step */
	ocp_policy *server_pol;     /* checks authority */
	ocp_policy *site_pol;       /* trusts the server */
	sto_db *server;             /* the province */
	uint64_t server_clock;      /* its clock */
	srv_service svc;            /* the server code */
	sim_site s[SIM_SITES];      /* the sites */
	char dossiers[SIM_MAX_ROWS][37]; /* dossier ids created so far */
	int ndossiers;
	char evals[SIM_MAX_ROWS][37];    /* evaluation ids */
	int nevals;
	int rejected_expected;      /* unauthorised writes attempted */
	int liar;                   /* the tampered site's index */
	uint64_t lies[SIM_MAX_LIES]; /* its hand-made changes, by seq */
	int nlies;
	uint64_t plain[SIM_MAX_LIES]; /* its honest changes that nothing may refuse, by seq */
	int nplain;
	int forged;                 /* PUSHes with another site's stamp sent */
	int moves;                  /* dossiers the province moved to another commune */
	char outside[8][37];        /* dossiers of unit 83-300, outside every commune */
	int noutside;
	char data_dir[1024];
	char *dir;                  /* temp dir for the database files, owned */
	char server_path[600];      /* the server's database file */
	bool faults;                /* inject faults */
	const char *crash_at;       /* the crash point armed for the next call, or NULL */
	com_fault fault;            /* seam handed to the service and the sessions */
	int faults_injected;        /* count, for the verbose log */
	int server_crashes;         /* server restarts */
	srv_files *files;           /* the server's evidence files */
	int file_lies;              /* the liar's moves with files */
} sim;

static uint64_t
sim_clock_fn(void *arg)
{
	return *(uint64_t *)arg;
}

static unsigned
sim_rand(sim *m, unsigned n)
{
	return n ? (unsigned)rand_r(&m->rng) % n : 0;
}

static int sim_restart_server(sim *m);

/*
 * The link of one site: the request goes into the server code, through the
 * faults the seed chooses. A lost reply or request looks to the site like a
 * timeout, as nng would report it.
 */
static int
sim_roundtrip(void *arg, const uint8_t *req, size_t len, com_buf *reply)
{
	sim_site *s = arg;
	sim *m = s->m;
	com_buf scratch;
	uint8_t *copy;
	unsigned f;
	int rv;

	if (!m->faults) {
		return srv_handle(&m->svc, req, len, reply);
	}
	if (s->partitioned > 0) {
		s->partitioned--;
		return OCOP_ETIMEDOUT;
	}
	f = sim_rand(m, 100);
	if (f >= 24) {
		/* Keep a copy now and then, to deliver it late. */
		if (sim_rand(m, 4) == 0) {
			com_buf_reset(&s->old_req);
			com_buf_append(&s->old_req, req, len);
		}
		return srv_handle(&m->svc, req, len, reply);
	}
	m->faults_injected++;
	com_buf_init(&scratch);
	switch (f) {
	case 0: case 1: case 2: /* the request is lost */
		rv = OCOP_ETIMEDOUT;
		break;
	case 3: case 4: case 5: /* the reply is lost */
		rv = srv_handle(&m->svc, req, len, &scratch);
		rv = rv == OCOP_ECLOSED ? sim_restart_server(m), OCOP_ETIMEDOUT : OCOP_ETIMEDOUT;
		break;
	case 6: case 7: /* duplicated: the server sees it twice, the site gets the second reply */
		srv_handle(&m->svc, req, len, &scratch);
		rv = srv_handle(&m->svc, req, len, reply);
		break;
	case 8: case 9: case 10: /* an old request arrives late, before this one */
		if (s->old_req.len > 0) {
			srv_handle(&m->svc, s->old_req.data, s->old_req.len, &scratch);
		}
		rv = srv_handle(&m->svc, req, len, reply);
		break;
	case 11: case 12: /* truncated on the way */
		copy = com_malloc(len);
		memcpy(copy, req, len);
		rv = srv_handle(&m->svc, copy, sim_rand(m, (unsigned)len), reply);
		com_free(copy);
		break;
	case 13: case 14: /* a flipped bit in the request */
		copy = com_malloc(len);
		memcpy(copy, req, len);
		copy[sim_rand(m, (unsigned)len)] ^= (uint8_t)(1u << sim_rand(m, 8));
		rv = srv_handle(&m->svc, copy, len, reply);
		com_free(copy);
		break;
	case 15: case 16: /* a flipped bit in the reply */
		rv = srv_handle(&m->svc, req, len, reply);
		if (rv == OCOP_OK && reply->len > 0) {
			reply->data[sim_rand(m, (unsigned)reply->len)] ^= (uint8_t)(1u << sim_rand(m, 8));
		}
		break;
	case 17: case 18: /* the link goes down for a while */
		s->partitioned = 1 + (int)sim_rand(m, 6);
		rv = OCOP_ETIMEDOUT;
		break;
	case 19: case 20: /* the server dies before committing a PUSH (no-op for others) */
		m->crash_at = "server.push.before_commit";
		rv = srv_handle(&m->svc, req, len, reply);
		m->crash_at = NULL;
		if (rv == OCOP_ECLOSED) {
			reply->len = 0;
			rv = sim_restart_server(m) == 0 ? OCOP_ETIMEDOUT : OCOP_EINTERNAL;
		}
		break;
	default: /* the server dies after committing, before replying */
		srv_handle(&m->svc, req, len, &scratch);
		rv = sim_restart_server(m) == 0 ? OCOP_ETIMEDOUT : OCOP_EINTERNAL;
		break;
	}
	com_buf_fini(&scratch);
	return rv;
}

/*
 * Open (or reopen after a crash) a replica file. synchronous=OFF: a crash
 * here is a process dying, not the power failing, so the OS keeps every
 * committed page and fsync would only slow the seeds down.
 */
static sto_db *
sim_open_db(const char *path, uint64_t *clock)
{
	sto_db *db = NULL;
	sto_opts o;

	memset(&o, 0, sizeof(o));
	o.create = true;
	o.user = "sim";
	o.clock = sim_clock_fn;
	o.clock_arg = clock;
	o.max_skew_ms = 10 * 60 * 1000;
	if (sto_open(&db, path, &o) != OCOP_OK || sto_exec(db, "PRAGMA synchronous=OFF") != OCOP_OK) {
		sto_close(db);
		return NULL;
	}
	return db;
}

/* The crash-point seam: true once for the point armed by the link. */
static bool
sim_crash(void *arg, const char *point)
{
	sim *m = arg;

	if (m->crash_at != NULL && strcmp(m->crash_at, point) == 0) {
		m->crash_at = NULL;
		return true;
	}
	return false;
}

/* The server died: reopen it from its file, as a restarted ocopd would. */
static int
sim_restart_server(sim *m)
{
	sto_close(m->server);
	m->server = sim_open_db(m->server_path, &m->server_clock);
	if (m->server == NULL) {
		return -1;
	}
	sto_set_policy(m->server, ocp_policy_store(m->server_pol));
	{
		size_t batch = m->svc.max_batch;
		srv_service_init(&m->svc, m->server, ocp_policy_store(m->server_pol), NULL);
		m->svc.max_batch = batch;
		m->svc.fault = &m->fault;
		m->svc.files = m->files; /* its files are where the dead server left them */
	}
	m->server_crashes++;
	return 0;
}

static int
sim_restart_site(sim *m, sim_site *s)
{
	sto_close(s->db);
	s->db = sim_open_db(s->path, &s->clock);
	if (s->db == NULL) {
		return -1;
	}
	sto_set_policy(s->db, ocp_policy_store(m->site_pol));
	s->crashes++;
	return 0;
}

static int
sim_setup(sim *m)
{
	static const char *const roles[SIM_SITES] = {"commune", "commune", "commune", "member", "member", "member",
	    "district"};
	/* Two sites share commune 83-100, so they edit the same rows concurrently;
	 * the district office of 83-200 handles the QĐ 148 dossiers there. */
	static const char *const scopes[SIM_SITES] = {"83-100", "83-100", "83-200", "83", "83", "83", "83-200"};
	char err[256];
	char site[37];
	int i;

	tu_src(m->data_dir, sizeof(m->data_dir), "data");
	if (ocp_policy_open(&m->server_pol, m->data_dir, true, err, sizeof(err)) != OCOP_OK ||
	    ocp_policy_open(&m->site_pol, m->data_dir, false, err, sizeof(err)) != OCOP_OK) {
		print_error("policy: %s\n", err);
		return -1;
	}
	m->fault.crash = sim_crash;
	m->fault.arg = m;
	/* Memory-backed files when the system has them: the seeds restart nodes
	 * from their files, and fsync would only slow them down. */
	if (getenv("TMPDIR") == NULL && access("/dev/shm", W_OK) == 0) {
		setenv("TMPDIR", "/dev/shm", 1);
		m->dir = tu_mkdtemp();
		unsetenv("TMPDIR");
	} else {
		m->dir = tu_mkdtemp();
	}
	snprintf(m->server_path, sizeof(m->server_path), "%s/server.db", m->dir);
	m->server_clock = 1763800000000ULL;
	m->server = sim_open_db(m->server_path, &m->server_clock);
	if (m->server == NULL || sto_site_init(m->server, NULL, "province", "83") != OCOP_OK) {
		return -1;
	}
	sto_set_policy(m->server, ocp_policy_store(m->server_pol));
	srv_service_init(&m->svc, m->server, ocp_policy_store(m->server_pol), NULL);
	m->svc.max_batch = 2048 + sim_rand(m, 8192); /* small batches: many rounds */
	m->svc.fault = &m->fault;
	{
		srv_files_opts fo;
		srv_files_defaults(&fo);
		fo.chunk_bytes = SF_CHUNK; /* small files of a few chunks each */
		fo.min_free_bytes = 0;
		if (srv_files_open(&m->files, m->server, NULL, &fo, err, sizeof(err)) != OCOP_OK) {
			print_error("files: %s\n", err);
			return -1;
		}
		m->svc.files = m->files;
	}
	for (i = 0; i < SIM_SITES; i++) {
		sim_site *s = &m->s[i];
		s->m = m;
		s->index = i;
		s->role = roles[i];
		s->scope = scopes[i];
		com_buf_init(&s->old_req);
		snprintf(s->path, sizeof(s->path), "%s/site%d.db", m->dir, i);
		/* Each site's clock is skewed by up to +-2 minutes; in one seed of
		 * four, site 1 is 20 minutes ahead, beyond the 10-minute bound. */
		s->clock = m->server_clock + sim_rand(m, 240000) - 120000;
		if (i == 1 && sim_rand(m, 4) == 0) {
			s->clock += 20 * 60 * 1000;
		}
		s->db = sim_open_db(s->path, &s->clock);
		if (s->db == NULL ||
		    srv_registry_add(m->server, NULL, s->role, s->scope, "sim", site, s->cred) != OCOP_OK ||
		    sto_site_init(s->db, site, s->role, s->scope) != OCOP_OK || sf_open(&s->files, s->db) != 0) {
			return -1;
		}
		sto_set_policy(s->db, ocp_policy_store(m->site_pol));
	}
	return 0;
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
	srv_files_close(m->files);
	sto_close(m->server);
	ocp_policy_free(m->server_pol);
	ocp_policy_free(m->site_pol);
	if (getenv("OCOP_SIM_KEEP") != NULL) {
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

/* A random live dossier this replica holds, or NULL. */
static const char *
sim_pick_dossier(sim *m, sto_db *db)
{
	int tries;

	for (tries = 0; tries < 8 && m->ndossiers > 0; tries++) {
		const char *id = m->dossiers[sim_rand(m, (unsigned)m->ndossiers)];
		if (sim_int(db, "SELECT COUNT(*) FROM dossier WHERE deleted = 0 AND id = ?1", id) == 1) {
			return id;
		}
	}
	return NULL;
}

/* ===== Operations ===== */

/* Transitions of each flow made somewhere, over every seed of the run. */
static const char *const sim_bases[2] = {"qd26-2026", "qd148-2023"};
static unsigned char sim_covered[2][128];

static int
sim_basis_index(const char *basis)
{
	return strcmp(basis, sim_bases[1]) == 0 ? 1 : 0;
}

/* Move a dossier along its workflow as role may, if any move is possible. */
static void
sim_move(sim *m, sto_db *db, const char *role_name, const char *id)
{
	const ocp_flow *flow;
	const ocp_transition *next[16];
	ocp_role role;
	char status[64];
	char basis[32];
	char sql[256];
	size_t n;
	size_t i;
	const ocp_transition *t;

	ocp_role_parse(role_name, &role);
	sim_text(db, "SELECT status FROM dossier WHERE id = ?1", id, status, sizeof(status));
	sim_text(db, "SELECT legal_basis FROM dossier WHERE id = ?1", id, basis, sizeof(basis));
	flow = ocp_policy_flow(m->site_pol, basis);
	n = ocp_flow_next(flow, status, OCP_ROLE_BIT(role), next, 16);
	if (n == 0) {
		return;
	}
	t = next[sim_rand(m, (unsigned)(n > 16 ? 16 : n))];
	snprintf(sql, sizeof(sql), "UPDATE dossier SET status = '%s'%s WHERE id = '%s'", t->to->name,
	    ocp_transition_bumps_epoch(t) ? ", epoch = epoch + 1" : "", id);
	if (sto_exec(db, sql) != OCOP_OK) {
		if (m->verbose) {
			printf("  move refused locally: %s\n", sto_errmsg(db));
		}
		return;
	}
	for (i = 0; i < ocp_flow_transition_count(flow) && i < 128; i++) {
		if (ocp_flow_transition_at(flow, i) == t) {
			sim_covered[sim_basis_index(ocp_flow_basis(flow))][i] = 1;
		}
	}
}

/* Make transition t of dossier id at db, as role, if db holds the dossier at t's from state. */
static void
sim_move_to(sim *m, sto_db *db, const char *role_name, const char *id, const ocp_transition *t)
{
	const ocp_flow *flow;
	char status[64];
	char basis[32];
	char sql[256];
	size_t i;

	(void)role_name;
	if (!sim_text(db, "SELECT status FROM dossier WHERE id = ?1", id, status, sizeof(status)) ||
	    strcmp(status, t->from->name) != 0) {
		return;
	}
	sim_text(db, "SELECT legal_basis FROM dossier WHERE id = ?1", id, basis, sizeof(basis));
	flow = ocp_policy_flow(m->site_pol, basis);
	snprintf(sql, sizeof(sql), "UPDATE dossier SET status = '%s'%s WHERE id = '%s'", t->to->name,
	    ocp_transition_bumps_epoch(t) ? ", epoch = epoch + 1" : "", id);
	if (sto_exec(db, sql) != OCOP_OK) {
		if (m->verbose) {
			printf("  tour move refused locally: %s\n", sto_errmsg(db));
		}
		return;
	}
	for (i = 0; i < ocp_flow_transition_count(flow) && i < 128; i++) {
		if (ocp_flow_transition_at(flow, i) == t) {
			sim_covered[sim_basis_index(ocp_flow_basis(flow))][i] = 1;
		}
	}
}

/* A new dossier of site db in unit `unit`, under the legal basis the seed picks. */
static void
sim_new_dossier(sim *m, sto_db *db, const char *unit, const char *basis)
{
	const char *cols[] = {"legal_basis", "status", "epoch", "round_year", "round_no", "unit_code", "province_code"};
	const char *vals[] = {basis, "draft", "0", "2026", "1", unit, "83"};

	if (m->ndossiers < SIM_MAX_ROWS && sto_row_insert(db, "dossier", cols, vals, 7, m->dossiers[m->ndossiers]) == OCOP_OK) {
		m->ndossiers++;
	}
}

static uint64_t
sim_last_seq(sto_db *db)
{
	uint64_t seq = 0;

	sto_capture_last_seq(db, &seq);
	return seq;
}

/* The liar's honest plain write: a note on a dossier it holds, or a score on its own sheet. */
static void
sim_plain(sim *m, sim_site *s)
{
	uint64_t before = sim_last_seq(s->db);
	char val[64];
	const char *id;

	if (strcmp(s->role, "member") == 0) {
		char sheet[37];
		char sql[300];
		snprintf(sql, sizeof(sql),
		    "SELECT id FROM score_sheet WHERE deleted = 0 AND owner_site = '%s' ORDER BY random() LIMIT 1",
		    sto_site_id(s->db));
		if (sim_text(s->db, sql, NULL, sheet, sizeof(sheet))) {
			const char *cols[] = {"sheet_id", "criterion", "points"};
			const char *vals[] = {sheet, "9.9", "100"};
			char score[37];
			sto_row_insert(s->db, "score", cols, vals, 3, score);
		}
	} else if ((id = sim_pick_dossier(m, s->db)) != NULL) {
		snprintf(val, sizeof(val), "ghi chú thật %u", sim_rand(m, 1000));
		sto_row_update(s->db, "dossier", id, "status_note", val);
	}
	if (sim_last_seq(s->db) > before && m->nplain < SIM_MAX_LIES) {
		m->plain[m->nplain++] = sim_last_seq(s->db);
	}
}

/*
 * The tampered laptop: append one hand-made change to the liar's log, which
 * its next sync pushes. Every kind here must be refused by the server.
 */
static void
sim_lie(sim *m, sim_site *s)
{
	static const char *const cols[] = {"status_note", "name", "title"};
	com_buf cells;
	proto_wr w;
	proto_value v[3];
	const char *names[3];
	char row[37];
	char tbl[32];
	char text[64];
	char big[5000];
	uint8_t bad[4] = {'K', 'o', 0xc3, 0x28};
	com_uuid u;
	int n = 1;
	unsigned kind = sim_rand(m, 10);
	const char *id = sim_pick_dossier(m, s->db);
	uint64_t seq = sim_last_seq(s->db) + 1;
	uint64_t hlc;
	int i;

	memset(v, 0, sizeof(v));
	com_uuid7_at(&u, s->clock);
	com_uuid_format(&u, row);
	snprintf(tbl, sizeof(tbl), "dossier");
	v[0].type = PROTO_V_TEXT;
	v[0].p = (const uint8_t *)"LIE";
	v[0].len = 3;
	names[0] = "status_note";
	switch (kind) {
	case 0: /* another unit's dossier */
		if (m->noutside == 0) {
			return;
		}
		snprintf(row, sizeof(row), "%s", m->outside[sim_rand(m, (unsigned)m->noutside)]);
		break;
	case 1: /* an unknown column, or the id */
		names[0] = sim_rand(m, 2) ? "id" : "no_such_column";
		if (id != NULL) {
			snprintf(row, sizeof(row), "%s", id);
		}
		break;
	case 2: /* a wrong type: a status as a number, bytes that are not UTF-8, or too much text */
		if (id == NULL) {
			return;
		}
		snprintf(row, sizeof(row), "%s", id);
		switch (sim_rand(m, 3)) {
		case 0:
			names[0] = "status";
			v[0].type = PROTO_V_INT;
			v[0].i = 80;
			break;
		case 1:
			v[0].p = bad;
			v[0].len = sizeof(bad);
			break;
		default:
			memset(big, 'x', sizeof(big));
			v[0].p = (const uint8_t *)big;
			v[0].len = sizeof(big);
			break;
		}
		break;
	case 3: /* an immutable column */
		if (id == NULL) {
			return;
		}
		snprintf(row, sizeof(row), "%s", id);
		names[0] = "legal_basis";
		v[0].p = (const uint8_t *)"qd148-2023";
		sim_text(s->db, "SELECT legal_basis FROM dossier WHERE id = ?1", id, text, sizeof(text));
		if (strcmp(text, "qd148-2023") == 0) {
			v[0].p = (const uint8_t *)"qd26-2026";
		}
		v[0].len = strlen((const char *)v[0].p);
		break;
	case 4: /* an epoch without a reopen */
	case 5: /* a status it may not reach from where the dossier is */
		if (id == NULL) {
			return;
		}
		snprintf(row, sizeof(row), "%s", id);
		names[0] = "epoch";
		v[0].type = PROTO_V_INT;
		/* Far above any epoch the dossier can have reached: never the stored one. */
		v[0].i = sim_int(s->db, "SELECT epoch FROM dossier WHERE id = ?1", id) + 1000 + (int64_t)sim_rand(m, 3);
		if (kind == 5) {
			names[1] = "status";
			v[1].type = PROTO_V_TEXT;
			v[1].p = (const uint8_t *)"national_recognised";
			v[1].len = strlen("national_recognised");
			n = 2;
		}
		break;
	case 6: /* a national decision */
		if (id == NULL) {
			return;
		}
		snprintf(tbl, sizeof(tbl), "decision");
		names[0] = "dossier_id";
		v[0].p = (const uint8_t *)id;
		v[0].len = 36;
		names[1] = "kind";
		v[1].type = PROTO_V_TEXT;
		v[1].p = (const uint8_t *)"national_result";
		v[1].len = strlen("national_result");
		names[2] = "star";
		v[2].type = PROTO_V_INT;
		v[2].i = 5;
		n = 3;
		break;
	case 7: { /* another site's score */
		char sql[300];
		snprintf(sql, sizeof(sql),
		    "SELECT sc.id FROM score sc JOIN score_sheet sh ON sh.id = sc.sheet_id WHERE sh.owner_site <> '%s'"
		    " ORDER BY random() LIMIT 1",
		    sto_site_id(s->db));
		if (!sim_text(s->db, sql, NULL, row, sizeof(row))) {
			return;
		}
		snprintf(tbl, sizeof(tbl), "score");
		names[0] = "points";
		v[0].type = PROTO_V_INT;
		v[0].i = 900;
		break;
	}
	case 8: /* a document under another unit's dossier */
	case 9: /* a document under a dossier nobody holds */
		if (kind == 8 && m->noutside == 0) {
			return;
		}
		snprintf(tbl, sizeof(tbl), "document");
		names[0] = "dossier_id";
		if (kind == 8) {
			snprintf(text, sizeof(text), "%s", m->outside[sim_rand(m, (unsigned)m->noutside)]);
		} else {
			com_uuid7_at(&u, s->clock + 1);
			com_uuid_format(&u, text);
		}
		v[0].p = (const uint8_t *)text;
		v[0].len = 36;
		names[1] = "title";
		v[1].type = PROTO_V_TEXT;
		v[1].p = (const uint8_t *)"LIE";
		v[1].len = 3;
		n = 2;
		break;
	default:
		return;
	}
	(void)cols;
	com_buf_init(&cells);
	proto_wr_init(&w, &cells);
	proto_cells_begin(&w, (uint32_t)n);
	for (i = 0; i < n; i++) {
		proto_cell_put(&w, names[i], &v[i], 0);
	}
	com_hlc_now(sto_hlc(s->db), &hlc);
	/* Straight into the log, as a modified client would: nothing judged it. */
	if (proto_wr_error(&w) == OCOP_OK &&
	    sto_log_put_cells(s->db, seq, tbl, row, hlc, "liar", cells.data, cells.len, NULL) == OCOP_OK &&
	    m->nlies < SIM_MAX_LIES) {
		m->lies[m->nlies++] = seq;
		if (m->verbose) {
			printf("  lie %u by site %d: seq %llu %s %s\n", kind, s->index, (unsigned long long)seq, tbl, row);
		}
	}
	com_buf_fini(&cells);
}

static void
sim_commune_op(sim *m, sim_site *s)
{
	unsigned op = sim_rand(m, 10);
	const char *id = sim_pick_dossier(m, s->db);
	char val[64];

	if (id == NULL || op == 0) {
		sim_new_dossier(m, s->db, s->scope, sim_rand(m, 4) == 0 ? "qd148-2023" : "qd26-2026");
		return;
	}
	switch (op) {
	case 1: case 2: case 3:
		snprintf(val, sizeof(val), "ghi chú %u", sim_rand(m, 1000));
		sto_row_update(s->db, "dossier", id, "status_note", val);
		break;
	case 4: case 5:
		sim_move(m, s->db, s->role, id);
		break;
	case 6: {
		const char *cols[] = {"dossier_id", "kind", "title"};
		const char *vals[] = {id, "mau02", "Báo cáo tự đánh giá"};
		char doc[37];
		if (sim_rand(m, 4) != 0) {
			sf_attach(s->db, &s->files, m->dir, id, &m->rng); /* with a small scanned file */
		} else {
			sto_row_insert(s->db, "document", cols, vals, 3, doc);
		}
		break;
	}
	case 7:
		if (sim_rand(m, 4) == 0) {
			sto_row_delete(s->db, "dossier", id);
		}
		break;
	case 8: {
		/* Without authority: a commune writes a recognition decision (refused at once here). */
		const char *cols[] = {"dossier_id", "kind", "star"};
		const char *vals[] = {id, "recognition", "4"};
		char dec[37];
		if (sto_row_insert(s->db, "decision", cols, vals, 3, dec) == OCOP_OK) {
			m->rejected_expected++;
		}
		break;
	}
	default:
		/* Without authority: a commune jumps a dossier to recognised (refused at once here). */
		snprintf(val, sizeof(val), "UPDATE dossier SET status = 'recognised' WHERE id = '%s'", id);
		if (sim_int(s->db, "SELECT COUNT(*) FROM dossier WHERE status = 'scored' AND id = ?1", id) == 1 &&
		    sto_exec(s->db, val) == OCOP_OK) {
			m->rejected_expected++;
		}
		break;
	}
}

/* The district office (QĐ 148/2023): files, notes and moves the dossiers of its district. */
static void
sim_district_op(sim *m, sim_site *s)
{
	unsigned op = sim_rand(m, 6);
	const char *id = sim_pick_dossier(m, s->db);
	char val[64];

	if (id == NULL || op == 0) {
		sim_new_dossier(m, s->db, s->scope, "qd148-2023");
	} else if (op < 4) {
		sim_move(m, s->db, s->role, id);
	} else {
		snprintf(val, sizeof(val), "huyện ghi chú %u", sim_rand(m, 1000));
		sto_row_update(s->db, "dossier", id, "status_note", val);
	}
}

/* The province: moves dossiers, opens evaluations with a sheet per member site. */
static void
sim_province_op(sim *m)
{
	const char *id = sim_pick_dossier(m, m->server);
	unsigned op = sim_rand(m, 6);
	char unit[64];
	int i;

	if (m->noutside < 8 && (id == NULL || sim_rand(m, 10) == 0)) {
		/* A dossier of commune 83-300, which no site in the simulation serves. */
		int before = m->ndossiers;
		sim_new_dossier(m, m->server, "83-300", "qd26-2026");
		if (m->ndossiers > before) {
			memcpy(m->outside[m->noutside++], m->dossiers[before], 37);
		}
		return;
	}
	if (id == NULL) {
		return;
	}
	if (op < 3) {
		/* The province works a dossier through several steps at once. */
		unsigned k = 1 + sim_rand(m, 5);
		while (k-- > 0) {
			sim_move(m, m->server, "province", id);
		}
		return;
	}
	if (op == 3) {
		/* The province moves a dossier (and all under it) to the other commune. */
		sim_text(m->server, "SELECT unit_code FROM dossier WHERE id = ?1", id, unit, sizeof(unit));
		if (strcmp(unit, "83-100") == 0 || strcmp(unit, "83-200") == 0) {
			m->moves += sto_row_update(m->server, "dossier", id, "unit_code",
					strcmp(unit, "83-100") == 0 ? "83-200" : "83-100") == OCOP_OK;
		}
		return;
	}
	if (m->nevals < SIM_MAX_ROWS) {
		const char *cols[] = {"dossier_id", "tier", "rubric_id", "legal_basis"};
		const char *vals[] = {id, "province", "qd26-2026/01", "qd26-2026"};
		char *ev = m->evals[m->nevals];
		if (sto_row_insert(m->server, "evaluation", cols, vals, 4, ev) != OCOP_OK) {
			return;
		}
		m->nevals++;
		for (i = 0; i < SIM_SITES; i++) {
			sim_site *s = &m->s[i];
			const char *mc[] = {"evaluation_id", "name", "role", "site_id"};
			const char *sc[] = {"evaluation_id", "member_id", "owner_site"};
			char member[37];
			char sheet[37];
			if (strcmp(s->role, "member") != 0) {
				continue;
			}
			const char *mv[] = {ev, "Thành viên", "member", sto_site_id(s->db)};
			sto_row_insert(m->server, "member", mc, mv, 4, member);
			const char *sv[] = {ev, member, sto_site_id(s->db)};
			sto_row_insert(m->server, "score_sheet", sc, sv, 3, sheet);
		}
	}
}

/* A member scores a criterion on one of its own sheets; sometimes on someone else's. */
static void
sim_member_op(sim *m, sim_site *s)
{
	static const char *const crit[] = {"1.1", "1.2", "1.3", "2.2", "4.1"};
	char sheet[37];
	char sql[400];
	char points[8];
	bool other = sim_rand(m, 8) == 0;

	snprintf(sql, sizeof(sql),
	    "SELECT id FROM score_sheet WHERE deleted = 0 AND owner_site %s '%s' ORDER BY random() LIMIT 1",
	    other ? "<>" : "=", sto_site_id(s->db));
	if (!sim_text(s->db, sql, NULL, sheet, sizeof(sheet))) {
		return;
	}
	const char *c = crit[sim_rand(m, 5)];
	snprintf(points, sizeof(points), "%u", sim_rand(m, 4) * 100);
	/* One row per (sheet, criterion): update it if present, else create it. */
	snprintf(sql, sizeof(sql), "SELECT id FROM score WHERE sheet_id = ?1 AND criterion = '%s'", c);
	char score[37];
	if (sim_text(s->db, sql, sheet, score, sizeof(score))) {
		if (sto_row_update(s->db, "score", score, "points", points) == OCOP_OK && other) {
			m->rejected_expected++;
		}
	} else {
		const char *cols[] = {"sheet_id", "criterion", "points"};
		const char *vals[] = {sheet, c, points};
		if (sto_row_insert(s->db, "score", cols, vals, 3, score) == OCOP_OK && other) {
			m->rejected_expected++;
		}
	}
}

/*
 * The liar sends a PUSH of its own holding a change stamped with another
 * site's id: the server must refuse it (identity) and apply nothing of it.
 */
static int
sim_forge(sim *m, sim_site *s)
{
	sim_site *victim = &m->s[(s->index + 1 + (int)sim_rand(m, SIM_SITES - 1)) % SIM_SITES];
	proto_value v = {.type = PROTO_V_TEXT, .p = (const uint8_t *)"FORGED", .len = 6};
	proto_push hdr;
	proto_batch b;
	proto_change c;
	proto_push_ok ok;
	proto_env env;
	proto_rd body;
	com_buf req;
	com_buf reply;
	com_buf cells;
	proto_wr w;
	const char *id = sim_pick_dossier(m, m->server);
	int rv;

	if (id == NULL) {
		return OCOP_OK;
	}
	memset(&hdr, 0, sizeof(hdr));
	snprintf(hdr.site, sizeof(hdr.site), "%s", sto_site_id(s->db));
	snprintf(hdr.credential, sizeof(hdr.credential), "%s", s->cred);
	com_buf_init(&req);
	com_buf_init(&reply);
	com_buf_init(&cells);
	proto_wr_init(&w, &cells);
	proto_cells_begin(&w, 1);
	proto_cell_put(&w, "status_note", &v, 0);
	memset(&c, 0, sizeof(c));
	snprintf(c.site, sizeof(c.site), "%s", sto_site_id(victim->db));
	c.seq = 1 + sim_rand(m, 1000);
	snprintf(c.tbl, sizeof(c.tbl), "dossier");
	snprintf(c.row, sizeof(c.row), "%s", id);
	c.hlc = m->server_clock << 16;
	c.cells = cells.data;
	c.cells_len = cells.len;
	rv = proto_push_begin(&b, &req, &hdr, 1 << 20);
	if (rv == OCOP_OK) {
		rv = proto_batch_add(&b, &c);
	}
	if (rv == OCOP_OK) {
		rv = proto_push_end(&b);
	}
	if (rv == OCOP_OK) {
		rv = srv_handle(&m->svc, req.data, req.len, &reply);
	}
	if (rv == OCOP_OK && (proto_env_open(reply.data, reply.len, &env, &body) != OCOP_OK ||
				 env.type != PROTO_MSG_PUSH_OK || proto_push_ok_decode(&body, &ok) != OCOP_OK ||
				 ok.rejections.count != 1 || ok.applied != 0)) {
		print_error("seed %u: a change stamped with another site's id was not refused\n", m->seed);
		rv = OCOP_EINTERNAL;
	}
	m->forged++;
	com_buf_fini(&req);
	com_buf_fini(&reply);
	com_buf_fini(&cells);
	return rv;
}

/*
 * One sync session of site i. With faults on, a session may fail (the link
 * or a crash point); that is expected and only its effects are checked, at
 * the end. must_succeed: the network has healed, so a failure is a bug.
 */
static int
sim_sync(sim *m, int i, bool must_succeed)
{
	cli_transport t = {sim_roundtrip, &m->s[i]};
	cli_sync_opts o;
	cli_sync_stats st;
	char err[600];
	int rv;

	memset(&o, 0, sizeof(o));
	o.credential = m->s[i].cred;
	o.fault = &m->fault;
	if (i == m->liar && !must_succeed && sim_rand(m, 3) == 0 && sim_forge(m, &m->s[i]) != OCOP_OK) {
		return OCOP_EINTERNAL;
	}
	if (m->faults && !must_succeed) {
		unsigned c = sim_rand(m, 20);
		m->crash_at = c == 0 ? "site.push.reply_received" : c == 1 ? "site.pull.reply_received" : NULL;
	}
	rv = cli_sync_once(m->s[i].db, ocp_policy_store(m->site_pol), &t, &o, &st, err, sizeof(err));
	m->crash_at = NULL;
	if (rv == OCOP_OK) {
		/* The files after the rows, over the same faulty link, now and then dying between two chunks. */
		m->crash_at = m->faults && !must_succeed && sim_rand(m, 8) == 0 ? "xfer.chunk" : NULL;
		rv = sf_sync(m->s[i].db, ocp_policy_store(m->site_pol), &m->s[i].files, &t, m->s[i].cred, &m->fault, err,
		    sizeof(err));
		m->crash_at = NULL;
	}
	if (m->verbose) {
		printf("  sync site %d: %s pushed %" PRIu64 " (rejected %" PRIu64 ") pulled %" PRIu64 " %s\n", i,
		    ocop_errname(rv), st.pushed, st.rejected, st.pulled, err);
	}
	if (rv == OCOP_ECLOSED && sim_restart_site(m, &m->s[i]) != 0) {
		print_error("seed %u: site %d could not restart\n", m->seed, i);
		return OCOP_EINTERNAL;
	}
	if (rv != OCOP_OK && must_succeed) {
		print_error("seed %u: sync of site %d failed after the network healed: %s\n", m->seed, i, err);
		return rv;
	}
	return OCOP_OK;
}

/*
 * A tour of one dossier through its flow: each step takes a move the current
 * status allows to a commune, the district or the province, makes it at a
 * site of that role (or at the server for the province) and syncs, so every
 * transition these roles make is walked over the seeds, reopens included,
 * under the same faults.
 */
static void
sim_tour(sim *m)
{
	static const unsigned roles = OCP_ROLE_BIT(OCP_ROLE_COMMUNE) | OCP_ROLE_BIT(OCP_ROLE_DISTRICT) |
	    OCP_ROLE_BIT(OCP_ROLE_PROVINCE);
	bool legacy = sim_rand(m, 2) == 0;
	sim_site *filer = legacy ? &m->s[6] : &m->s[0];
	const ocp_transition *next[16];
	const ocp_flow *flow = ocp_policy_flow(m->site_pol, legacy ? "qd148-2023" : "qd26-2026");
	char id[37];
	char status[64];
	char unit[64];
	int before = m->ndossiers;
	int step;

	sim_new_dossier(m, filer->db, filer->scope, legacy ? "qd148-2023" : "qd26-2026");
	if (m->ndossiers == before) {
		return;
	}
	snprintf(id, sizeof(id), "%s", m->dossiers[before]);
	sim_sync(m, filer->index, false);
	for (step = 0; step < 20; step++) {
		const ocp_transition *t;
		ocp_role role;
		size_t n;
		int who = -1;
		int i;
		if (!sim_text(m->server, "SELECT status FROM dossier WHERE id = ?1", id, status, sizeof(status))) {
			return;
		}
		sim_text(m->server, "SELECT unit_code FROM dossier WHERE id = ?1", id, unit, sizeof(unit));
		n = ocp_flow_next(flow, status, roles, next, 16);
		if (n == 0) {
			return;
		}
		if (n > 16) {
			n = 16;
		}
		t = next[sim_rand(m, (unsigned)n)];
		if (sim_rand(m, 3) != 0) {
			/* Mostly onwards, so the deep states are reached too. */
			const ocp_transition *on[16];
			size_t k = 0;
			size_t j;
			for (j = 0; j < n; j++) {
				if (next[j]->kind == OCP_FLOW_FORWARD && !next[j]->to->terminal) {
					on[k++] = next[j];
				}
			}
			if (k > 0) {
				t = on[sim_rand(m, (unsigned)k)];
			}
		}
		/* Who makes it: the province at the server, else a site of that role for the unit. */
		for (role = OCP_ROLE_COMMUNE; role < OCP_ROLE_COUNT_; role++) {
			if (t->roles & OCP_ROLE_BIT(role) && role != OCP_ROLE_PROVINCE) {
				for (i = 0; i < SIM_SITES && who < 0; i++) {
					if (strcmp(m->s[i].role, ocp_role_name((int)role)) == 0 &&
					    ocp_scope_covers(m->s[i].scope, unit) && i != m->liar) {
						who = i;
					}
				}
			}
		}
		if (who < 0 && (t->roles & OCP_ROLE_BIT(OCP_ROLE_PROVINCE))) {
			sim_move_to(m, m->server, "province", id, t);
			continue;
		}
		if (who < 0) {
			return;
		}
		sim_sync(m, who, false);
		sim_move_to(m, m->s[who].db, m->s[who].role, id, t);
		sim_sync(m, who, false);
	}
}

/* ===== Oracle ===== */

/* Rows of no unit go everywhere; the rest by the one scope matcher. */
static bool
sim_in_scope(const char *scope, const char *code)
{
	return code[0] == 0 || ocp_scope_covers(scope, code);
}

/*
 * Rows (all columns) and cell versions of every row in scope, as text (the
 * server's view of where a row belongs decides: tr_dump_scope), with the
 * derived results of the sheets in scope.
 */
static char *
sim_dump(sto_db *db, sto_db *authority, const char *scope)
{
	com_buf b;
	char *rows = tr_dump_scope(db, authority, scope);

	com_buf_init(&b);
	com_buf_puts(&b, rows);
	com_free(rows);
	/* Derived results (never replicated, computed from the rows on each node):
	 * each live sheet's total, for the evaluations in scope. */
	{
		sqlite3_stmt *st = NULL;
		com_buf_puts(&b, "== derived\n");
		sqlite3_prepare_v2(sto_sqlite(db),
		    "SELECT sh.id, COALESCE(SUM(sc.points), 0), COUNT(sc.id) FROM score_sheet sh"
		    " LEFT JOIN score sc ON sc.sheet_id = sh.id AND sc.deleted = 0"
		    " WHERE sh.deleted = 0 GROUP BY sh.id ORDER BY sh.id",
		    -1, &st, NULL);
		while (sqlite3_step(st) == SQLITE_ROW) {
			char unit[64];
			const char *id = (const char *)sqlite3_column_text(st, 0);
			if (sto_row_scope(authority, "score_sheet", id, unit, sizeof(unit)) == OCOP_OK &&
			    sim_in_scope(scope, unit)) {
				com_buf_printf(&b, "%s total %lld over %d criteria\n", id, (long long)sqlite3_column_int64(st, 1),
				    sqlite3_column_int(st, 2));
			}
		}
		sqlite3_finalize(st);
	}
	return com_buf_detach(&b, NULL);
}

static int
sim_check_convergence(sim *m)
{
	int i;
	int bad = 0;

	for (i = 0; i < SIM_SITES; i++) {
		char *a = sim_dump(m->server, m->server, m->s[i].scope);
		char *b = sim_dump(m->s[i].db, m->server, m->s[i].scope);
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
			print_error("seed %u: site %d (%s %s) differs from the server:\n server: %.200s\n site:   %.200s\n",
			    m->seed, i, m->s[i].role, m->s[i].scope, pa, pb);
			bad++;
		}
		com_free(a);
		com_free(b);
	}
	return bad;
}

/*
 * Every accepted change's cells: current, or in the ledger, or overwritten by
 * a change whose base was this one. Every refused change: in the ledger of
 * the server and of its writer.
 */
static int
sim_check_no_loss(sim *m)
{
	tr_rec *recs = NULL;
	size_t n = 0;
	size_t r;
	int bad = 0;
	int i;

	/* Reading the log back is a check in itself: an entry whose value its
	 * row no longer holds, and that did not keep it, fails the reader. */
	if (tr_log_all(m->server, 0, &recs, &n) != OCOP_OK) {
		print_error("seed %u: the server's log does not read back: %s\n", m->seed, sto_errmsg(m->server));
		bad++;
	}
	for (r = 0; r < n; r++) {
		const proto_change *ch = &recs[r].c;
		proto_cells_it it;
		proto_cell c;

		proto_cells_open(&it, ch->cells, ch->cells_len, NULL);
		while (proto_cells_next(&it, &c) == OCOP_OK) {
			sqlite3_stmt *q = NULL;
			uint64_t h;
			int64_t aux;
			char holder[37];
			bool found;
			int ok = 0;
			size_t k;

			if (sto_clock_get(m->server, ch->tbl, ch->row, c.col, &h, holder, &aux, &found) == OCOP_OK && found &&
			    h == ch->hlc && strcmp(holder, ch->site) == 0) {
				ok = 1;
			}
			sqlite3_prepare_v2(sto_sqlite(m->server),
			    "SELECT COUNT(*) FROM ledger WHERE tbl = ?1 AND row_id = ?2 AND col = ?3 AND lost_hlc = ?4 AND lost_site = ?5",
			    -1, &q, NULL);
			sqlite3_bind_text(q, 1, ch->tbl, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, ch->row, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 3, c.col, -1, SQLITE_STATIC);
			sqlite3_bind_int64(q, 4, (sqlite3_int64)ch->hlc);
			sqlite3_bind_text(q, 5, ch->site, -1, SQLITE_STATIC);
			if (!ok && sqlite3_step(q) == SQLITE_ROW) {
				ok = sqlite3_column_int(q, 0) > 0;
			}
			sqlite3_finalize(q);
			/* Overwritten by a later write that had seen it (its base). */
			for (k = 0; !ok && k < n; k++) {
				const proto_change *w = &recs[k].c;
				proto_cells_it it2;
				proto_cell c2;
				if (w->hlc <= ch->hlc || strcmp(w->tbl, ch->tbl) != 0 || strcmp(w->row, ch->row) != 0) {
					continue;
				}
				proto_cells_open(&it2, w->cells, w->cells_len, NULL);
				while (proto_cells_next(&it2, &c2) == OCOP_OK) {
					if (strcmp(c2.col, c.col) == 0 && c2.base_hlc == ch->hlc) {
						ok = 1;
					}
				}
			}
			if (!ok) {
				print_error("seed %u: accepted write %s.%s of %s by %s (hlc %" PRIu64 ") is neither current nor in the ledger\n",
				    m->seed, ch->tbl, c.col, ch->row, ch->site, ch->hlc);
				bad++;
			}
		}
	}
	tr_log_free(recs, n);
	/* Refusals: as many refused changes on the server as writers recorded, and each writer knows. */
	for (i = 0; i < SIM_SITES; i++) {
		char sql[300];
		int64_t at_server;
		int64_t at_site;
		snprintf(sql, sizeof(sql),
		    "SELECT COUNT(DISTINCT lost_seq) FROM ledger WHERE refused = 1 AND rule <> 'identity' AND lost_site = ?1");
		at_server = sim_int(m->server, sql, sto_site_id(m->s[i].db));
		at_site = sim_int(m->s[i].db, sql, sto_site_id(m->s[i].db));
		if (at_server != at_site) {
			print_error("seed %u: site %d has %" PRId64 " refusals recorded, the server %" PRId64 "\n",
			    m->seed, i, at_site, at_server);
			bad++;
		}
	}
	return bad;
}

/*
 * The liar: every lie refused, ledgered and never applied (so the server's
 * state is what the honest writes alone make); its plain honest changes
 * landed (or were refused only because the province had moved their dossier
 * out of its scope first); the forged stamps ledgered as identity refusals.
 */
static int
sim_check_liar(sim *m)
{
	const char *site = sto_site_id(m->s[m->liar].db);
	char sql[300];
	int bad = 0;
	int i;

	for (i = 0; i < m->nlies; i++) {
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM change WHERE site = (SELECT no FROM site_ref WHERE uuid = ?1) AND seq = %llu",
		    (unsigned long long)m->lies[i]);
		if (sim_int(m->server, sql, site) != 0) {
			print_error("seed %u: the liar's change %llu was applied\n", m->seed, (unsigned long long)m->lies[i]);
			bad++;
		}
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM ledger WHERE refused = 1 AND rule <> 'identity' AND lost_site = ?1 AND lost_seq = %llu",
		    (unsigned long long)m->lies[i]);
		if (sim_int(m->server, sql, site) == 0 || sim_int(m->s[m->liar].db, sql, site) == 0) {
			print_error("seed %u: the liar's change %llu is not in the ledgers as refused\n", m->seed,
			    (unsigned long long)m->lies[i]);
			bad++;
		}
	}
	for (i = 0; i < m->nplain; i++) {
		snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM change WHERE site = (SELECT no FROM site_ref WHERE uuid = ?1) AND seq = %llu",
		    (unsigned long long)m->plain[i]);
		if (sim_int(m->server, sql, site) == 1) {
			continue;
		}
		snprintf(sql, sizeof(sql),
		    "SELECT COUNT(*) FROM ledger l WHERE l.refused = 1 AND l.rule = 'scope' AND l.lost_site = ?1"
		    " AND l.lost_seq = %llu AND EXISTS (SELECT 1 FROM change c WHERE c.row_id = l.row_id AND c.scope IS NOT NULL)",
		    (unsigned long long)m->plain[i]);
		if (sim_int(m->server, sql, site) == 0) {
			print_error("seed %u: the liar's honest change %llu did not land\n", m->seed,
			    (unsigned long long)m->plain[i]);
			bad++;
		}
	}
	if (m->forged > 0 &&
	    sim_int(m->server, "SELECT COUNT(*) FROM ledger WHERE refused = 1 AND rule = 'identity' AND lost_site = ?1",
		site) < 1) {
		print_error("seed %u: no identity refusal was ledgered for %d forged pushes\n", m->seed, m->forged);
		bad++;
	}
	return bad;
}

/* Each site's changes are held once, numbered 1..high-water without gaps. */
static int
sim_check_exactly_once(sim *m)
{
	int i;
	int bad = 0;

	for (i = 0; i < SIM_SITES; i++) {
		const char *site = sto_site_id(m->s[i].db);
		uint64_t last = 0;
		int64_t held = sim_int(m->server, "SELECT COUNT(*) FROM change WHERE site = (SELECT no FROM site_ref WHERE uuid = ?1)", site);
		int64_t refused = sim_int(m->server,
		    "SELECT COUNT(DISTINCT lost_seq) FROM ledger WHERE refused = 1 AND rule <> 'identity' AND lost_site = ?1", site);
		int64_t hw = sim_int(m->server, "SELECT high_water FROM peer WHERE site = ?1", site);
		sto_capture_last_seq(m->s[i].db, &last);
		if (hw != (int64_t)last || held + refused != hw) {
			print_error("seed %u: site %d wrote %" PRIu64 " changes; server high-water %" PRId64
			    ", held %" PRId64 ", refused %" PRId64 "\n", m->seed, i, last, hw, held, refused);
			bad++;
		}
	}
	return bad;
}

/* Every site holds exactly the files of its scope, whole and verified (tests/fault/simfiles.h). */
static int
sim_check_files(sim *m)
{
	sto_db *dbs[SIM_SITES];
	sf_node *nodes[SIM_SITES];
	const char *scopes[SIM_SITES];
	int i;

	for (i = 0; i < SIM_SITES; i++) {
		dbs[i] = m->s[i].db;
		nodes[i] = &m->s[i].files;
		scopes[i] = m->s[i].scope;
	}
	return sf_check(m->server, srv_files_blobs(m->files), ocp_policy_store(m->server_pol), dbs, nodes, scopes,
	    SIM_SITES, m->seed);
}

/* ===== One seed ===== */

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
	m->liar = (int)sim_rand(m, SIM_SITES);
	steps = 60 + (int)sim_rand(m, 120);
	for (step = 0; step < steps; step++) {
		unsigned who = sim_rand(m, SIM_SITES + 2);
		/* Time passes unevenly. */
		m->server_clock += sim_rand(m, 3000);
		for (i = 0; i < SIM_SITES; i++) {
			m->s[i].clock += sim_rand(m, 3000);
		}
		if (who == SIM_SITES) {
			sim_province_op(m);
		} else if (who == SIM_SITES + 1) {
			/* A random subset syncs, in random order. */
			int k = (int)sim_rand(m, SIM_SITES);
			for (i = 0; i < k; i++) {
				bad += sim_sync(m, (int)sim_rand(m, SIM_SITES), false) != OCOP_OK;
			}
		} else if ((int)who == m->liar && sim_rand(m, 3) != 0) {
			unsigned k = sim_rand(m, 5);
			if (k < 2) {
				sim_lie(m, &m->s[who]);
			} else if (k == 2) {
				/* It lies about files too, straight to the server; each lie must be refused. */
				bad += sf_lie(&m->svc, m->s[who].db, &m->s[who].files, m->s[who].cred, -1, &m->rng, m->seed);
				m->file_lies++;
			} else {
				sim_plain(m, &m->s[who]);
			}
		} else if (strcmp(m->s[who].role, "commune") == 0) {
			sim_commune_op(m, &m->s[who]);
		} else if (strcmp(m->s[who].role, "district") == 0) {
			sim_district_op(m, &m->s[who]);
		} else {
			sim_member_op(m, &m->s[who]);
		}
	}
	sim_tour(m);
	/* Once the files are about: the liar tries each of its moves with them. */
	for (i = 0; i < SIM_SITES; i++) {
		sim_sync(m, i, false);
	}
	for (i = 0; i < SF_LIE_KINDS; i++) {
		bad += sf_lie(&m->svc, m->s[m->liar].db, &m->s[m->liar].files, m->s[m->liar].cred, i, &m->rng, m->seed);
		m->file_lies++;
	}
	/* Heal: the faults stop; everyone pushes, then everyone pulls what the others pushed. */
	m->faults = false;
	for (step = 0; step < 2; step++) {
		for (i = 0; i < SIM_SITES; i++) {
			bad += sim_sync(m, i, true) != OCOP_OK;
		}
	}
	if (verbose) {
		printf("  %d faults injected, %d server restarts, liar site %d: %d lies, %d plain, %d forged, %d with files;"
		       " %d moves\n",
		    m->faults_injected, m->server_crashes, m->liar, m->nlies, m->nplain, m->forged, m->file_lies, m->moves);
	}
	if (bad == 0) {
		bad += sim_check_convergence(m);
		bad += sim_check_no_loss(m);
		bad += sim_check_exactly_once(m);
		bad += sim_check_liar(m);
		bad += sim_check_files(m);
	}
	if (bad != 0) {
		print_error("seed %u FAILED; replay: OCOP_SIM_SEED=%u ctest -R fault.sim -V\n", seed, seed);
	}
	sim_teardown(m);
	com_free(m);
	return bad;
}

static void
test_every_seed_converges_without_loss_or_duplicates(void **state)
{
	const char *one = getenv("OCOP_SIM_SEED");
	const char *many = getenv("OCOP_SIM_SEEDS");
	unsigned n = many ? (unsigned)strtoul(many, NULL, 10) : 500;
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
	printf("fault.sim: %u seeds, %u failed\n", seed > n ? n : seed, failed);
	assert_int_equal(failed, 0);
	/* Every transition a commune, a district or the province makes, in both flows. */
	{
		const unsigned sim_roles = OCP_ROLE_BIT(OCP_ROLE_COMMUNE) | OCP_ROLE_BIT(OCP_ROLE_DISTRICT) |
		    OCP_ROLE_BIT(OCP_ROLE_PROVINCE);
		char dd[1024];
		char err[256];
		ocp_policy *pol = NULL;
		size_t missing = 0;
		size_t b;
		size_t i;
		tu_src(dd, sizeof(dd), "data");
		assert_ok(ocp_policy_open(&pol, dd, false, err, sizeof(err)));
		for (b = 0; b < 2; b++) {
			const ocp_flow *flow = ocp_policy_flow(pol, sim_bases[b]);
			size_t total = ocp_flow_transition_count(flow);
			size_t ours = 0;
			size_t made = 0;
			size_t made_ours = 0;
			unsigned char reach[128] = {0};
			/* The states these roles can reach from the initial one. */
			tr_flow_reach(flow, sim_roles, reach);
			for (i = 0; i < total && i < 128; i++) {
				const ocp_transition *t = ocp_flow_transition_at(flow, i);
				bool mine = (t->roles & sim_roles) != 0 && reach[tr_flow_state_index(flow, t->from)];
				ours += mine;
				made += sim_covered[b][i];
				made_ours += mine && sim_covered[b][i];
				if (mine && !sim_covered[b][i] && n >= 500) {
					print_error("fault.sim: transition %s -> %s of %s was never made\n", t->from->name,
					    t->to->name, sim_bases[b]);
					missing++;
				}
			}
			printf("fault.sim: %s: %zu of %zu transitions made (%zu of the %zu a commune, district or province"
			       " can make without the national tier; the rest are fault.sim3's)\n",
			    sim_bases[b], made, total, made_ours, ours);
		}
		ocp_policy_free(pol);
		assert_int_equal(missing, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_seed_converges_without_loss_or_duplicates),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
