/*
 * bench_load: a provincial server under load from many sites at once, over
 * mutual TLS on 127.0.0.1, with and without hostile peers (issue #10).
 *
 * The server is the real `ocopd serve` in its own process (its peak RSS is
 * read from /proc), with its own CA made by srv_ca_init as `ocopd ca init`
 * does, and every site registered and issued a certificate as `ocopd site add`
 * does. Each site is a replica in a file holding --changes new dossiers (of
 * its own product; --per-commune sites share a commune, so each also pulls
 * what the others of its commune wrote). Each site is a thread that dials the
 * server with its own certificate and runs the real session (cli_sync_once).
 *
 * One run: every site syncs at the same moment (round 1: pushes its dossiers
 * and pulls what is there), then again at the same moment (round 2: pulls
 * the rest). The time of a session is from the dial to the end of the
 * session, TLS handshake included. After round 2 every replica must hold
 * the dossiers of its whole commune. Two runs, each in a fresh world:
 *
 *   baseline  the sites alone
 *   hostile   the same while two peers holding valid certificates (the worst
 *             case: stolen laptops) attack: one pipelines PULLs on a raw
 *             socket without ever reading a reply, reconnecting as soon as
 *             the server drops it; the other sends PUSH after PUSH of about
 *             4 MB once inflated, twice the default batch limit
 *
 * and prints, per run and round, how many sessions failed, p50, p99 and the
 * slowest session time, the server's peak RSS, and what the hostile peers
 * did. --check turns the goals into the exit code (0 = met): no honest
 * session fails, every replica holds its commune's dossiers, the server's
 * peak RSS stays under 64 MiB (not checked in a sanitizer build, whose
 * shadow memory is counted), the hostile peers were refused, and the p99 of
 * the hostile run stays under --max-ratio times the baseline's (2 by
 * default; a test on a busy machine passes a looser bound).
 *
 * usage: bench_load [--sites N] [--changes M] [--per-commune K] [--runs baseline|hostile|both]
 *                   [--max-ratio R] [--batch-kib K] [--timeout-ms T] [--ocopd PATH] [--check]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "bench/harness.h"
#include "client/sync.h"
#include "common/link/dial.h"
#include "common/link/enrol.h"
#include "common/link/tls.h"
#include "common/ocop/policy.h"
#include "common/store/siteauth.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"
#include "protocol/change.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/session.h"
#include "server/ca.h"
#include "server/registry.h"

#define RSS_GOAL_KIB (64 * 1024) /* the server's peak RSS goal */
#define ROUNDS 2

#if defined(__SANITIZE_ADDRESS__)
#define LOAD_SANITIZED 1
#else
#define LOAD_SANITIZED 0
#endif

typedef struct opts {
	int sites;              /* honest sites */
	size_t changes;         /* new dossiers per site */
	int per_commune;        /* sites sharing one commune (scope) */
	bool baseline;          /* run without hostile peers */
	bool hostile;           /* run with them */
	double max_ratio;       /* --check: hostile p99 / baseline p99 at most this */
	int timeout_ms;         /* each dial and round trip of an honest site */
	size_t batch_kib;       /* the server's max_batch; 0 = its default */
	bool check;             /* exit code says whether the goals were met */
	char ocopd[PATH_MAX];   /* the server program */
	char data_dir[PATH_MAX]; /* authority and workflow files */
} opts;

struct run;

/* One site: honest (a thread syncing) or hostile. */
typedef struct site {
	struct run *run;
	int index;
	char scope[16];         /* its commune */
	lnk_enrolment e;        /* what `site add` gave it: id, credential, CA, certificate, key */
	sto_db *db;             /* its replica (honest sites), owned */
	double secs[ROUNDS];    /* session time per round */
	double start[ROUNDS];   /* when each session began (bn_now) */
	double end[ROUNDS];     /* when it ended */
	int rv[ROUNDS];         /* session result per round */
	char err[600];          /* the first failure */
	uint64_t pushed;
	uint64_t pulled;
	uint64_t dossiers;      /* dossiers held after the last round */
} site;

/* What the hostile peers did. */
typedef struct hostile_stats {
	atomic_uint_fast64_t pipelined;   /* PULLs sent without reading a reply */
	atomic_uint_fast64_t pushes;      /* oversized PUSHes sent */
	atomic_uint_fast64_t refused;     /* of those, answered with ETOOBIG */
	atomic_uint_fast64_t other;       /* of those, answered otherwise or not at all */
} hostile_stats;

/* One run's world. */
typedef struct run {
	const opts *o;
	bool with_hostile;
	char *dir;                /* temporary directory, owned */
	char url[64];             /* tls+tcp://127.0.0.1:PORT */
	site *sites;              /* o->sites honest sites, owned */
	site bad[2];              /* the hostile peers' registrations */
	ocp_policy *pol;          /* the sites' rules, owned */
	pid_t server;             /* ocopd serve */
	pthread_barrier_t go;     /* every honest site starts a round together */
	atomic_bool stop;         /* the hostile peers stop */
	hostile_stats hs;
	long peak_rss_kib;        /* the server's VmHWM */
	long log_pipelining;      /* server log lines about requests dropped for pipelining */
	long log_unread;          /* server log lines about connections closed for unread replies */
	long log_toobig;          /* server log lines about oversized PUSHes */
} run;

/* ===== Options ===== */

static int
parse_args(int argc, char **argv, opts *o)
{
	const char *src = getenv("OCOP_SOURCE_DIR");
	char self[PATH_MAX];
	ssize_t n;
	int i;

	memset(o, 0, sizeof(*o));
	o->sites = 200;
	o->changes = 300;
	o->per_commune = 2;
	o->baseline = o->hostile = true;
	o->max_ratio = 2.0;
	o->timeout_ms = 120000;
	if (src != NULL && src[0] != 0) {
		snprintf(o->data_dir, sizeof(o->data_dir), "%s/data", src);
	} else {
		snprintf(o->data_dir, sizeof(o->data_dir), "%s", OCOP_BENCH_DATA_DIR);
	}
	/* ocopd is built next to this program. */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	self[n > 0 ? n : 0] = 0;
	if (strrchr(self, '/') != NULL) {
		*strrchr(self, '/') = 0;
	}
	snprintf(o->ocopd, sizeof(o->ocopd), "%.*s/ocopd", (int)sizeof(o->ocopd) - 8, self);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--check") == 0) {
			o->check = true;
			continue;
		}
		if (v == NULL) {
			goto usage;
		}
		i++;
		if (strcmp(a, "--sites") == 0) {
			o->sites = atoi(v);
		} else if (strcmp(a, "--changes") == 0) {
			o->changes = strtoull(v, NULL, 10);
		} else if (strcmp(a, "--per-commune") == 0) {
			o->per_commune = atoi(v);
		} else if (strcmp(a, "--runs") == 0) {
			o->baseline = strcmp(v, "hostile") != 0;
			o->hostile = strcmp(v, "baseline") != 0;
		} else if (strcmp(a, "--max-ratio") == 0) {
			o->max_ratio = strtod(v, NULL);
		} else if (strcmp(a, "--batch-kib") == 0) {
			o->batch_kib = strtoull(v, NULL, 10);
		} else if (strcmp(a, "--timeout-ms") == 0) {
			o->timeout_ms = atoi(v);
		} else if (strcmp(a, "--ocopd") == 0) {
			snprintf(o->ocopd, sizeof(o->ocopd), "%s", v);
		} else {
			goto usage;
		}
	}
	if (o->sites < 1 || o->sites > 2000 || o->changes < 1 || o->per_commune < 1 || o->per_commune > o->sites ||
	    o->timeout_ms < 100 || o->max_ratio <= 0) {
		fprintf(stderr, "%s: need 1 <= sites <= 2000, changes >= 1, 1 <= per-commune <= sites\n", argv[0]);
		return -1;
	}
	return 0;
usage:
	fprintf(stderr,
	    "usage: %s [--sites N] [--changes M] [--per-commune K] [--runs baseline|hostile|both]\n"
	    "          [--max-ratio R] [--batch-kib K] [--timeout-ms T] [--ocopd PATH] [--check]\n",
	    argv[0]);
	return -1;
}

/* ===== The server process ===== */

/* A loopback port nobody listens on right now. */
static int
free_port(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	int port = -1;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0) {
		port = ntohs(a.sin_port);
	}
	if (fd >= 0) {
		close(fd);
	}
	return port;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* How many lines of the server's log contain text. */
static long
log_count(const run *r, const char *text)
{
	char path[PATH_MAX];
	char line[4096];
	FILE *f;
	long n = 0;

	snprintf(path, sizeof(path), "%s/server.log", r->dir);
	if ((f = fopen(path, "r")) == NULL) {
		return 0;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		n += strstr(line, text) != NULL;
	}
	fclose(f);
	return n;
}

/* Start `ocopd serve` on r->url and wait until it says it listens. */
static int
server_start(run *r, const char *db)
{
	char log[PATH_MAX];
	char conf[PATH_MAX];
	FILE *f;
	int i;

	snprintf(log, sizeof(log), "%s/server.log", r->dir);
	snprintf(conf, sizeof(conf), "%s/ocopd.conf", r->dir);
	if ((f = fopen(conf, "w")) == NULL) {
		return OCOP_EIO;
	}
	fprintf(f, "listen = %s\nrole = province\ndb = %s\ndata_dir = %s\n", r->url, db, r->o->data_dir);
	if (r->o->batch_kib > 0) {
		fprintf(f, "max_batch = %zu\n", r->o->batch_kib * 1024);
	}
	fclose(f);
	r->server = fork();
	if (r->server < 0) {
		return OCOP_EIO;
	}
	if (r->server == 0) {
		char *argv[] = {(char *)r->o->ocopd, "serve", "--config", conf, NULL};
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		prctl(PR_SET_PDEATHSIG, SIGTERM); /* the server does not outlive the benchmark */
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		setenv("OCOP_DATA_DIR", r->o->data_dir, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	for (i = 0; i < 500; i++) {
		int st;
		if (log_count(r, "listening on") > 0) {
			return OCOP_OK;
		}
		if (waitpid(r->server, &st, WNOHANG) == r->server) {
			r->server = -1;
			break;
		}
		sleep_ms(20);
	}
	fprintf(stderr, "bench: %s serve did not start (its log: %s)\n", r->o->ocopd, log);
	return OCOP_EIO;
}

/* The server's peak resident set (VmHWM) in KiB, or -1. */
static long
server_peak_rss(const run *r)
{
	char path[64];
	char line[256];
	FILE *f;
	long kib = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)r->server);
	if ((f = fopen(path, "r")) == NULL) {
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, "VmHWM:", 6) == 0) {
			kib = strtol(line + 6, NULL, 10);
		}
	}
	fclose(f);
	return kib;
}

static void
server_stop(run *r)
{
	int st;

	if (r->server > 0) {
		kill(r->server, SIGTERM);
		waitpid(r->server, &st, 0);
		r->server = -1;
	}
}

/* ===== Setting up a world ===== */

/* Register one site at the server and issue its certificate, as `ocopd site add` does. */
static int
register_site(sto_db *srv, const char *ca_dir, site *s, const char *name)
{
	char id[37];
	char cred[SRV_CREDENTIAL_LEN + 1];
	char err[512];
	lnk_tls_peer info;
	int rv;

	memset(&info, 0, sizeof(info));
	if ((rv = sto_begin(srv)) != OCOP_OK) {
		return rv;
	}
	rv = srv_registry_add(srv, NULL, "commune", s->scope, name, id, cred);
	if (rv == OCOP_OK) {
		rv = srv_ca_enrol(srv, ca_dir, id, "commune", s->scope, name, NULL, cred, 0, &s->e, &info, err,
		    sizeof(err));
		if (rv != OCOP_OK) {
			fprintf(stderr, "bench: enrolling %s: %s\n", name, err);
		}
	}
	if (rv == OCOP_OK) {
		rv = sto_siteauth_set_cert(srv, id, info.sha256, info.not_after);
	}
	if (rv == OCOP_OK) {
		rv = sto_commit(srv);
	} else {
		sto_rollback(srv);
	}
	memset(cred, 0, sizeof(cred));
	return rv;
}

static void
run_close(run *r)
{
	int i;

	server_stop(r);
	for (i = 0; r->sites != NULL && i < r->o->sites; i++) {
		sto_close(r->sites[i].db);
		lnk_enrol_fini(&r->sites[i].e);
	}
	lnk_enrol_fini(&r->bad[0].e);
	lnk_enrol_fini(&r->bad[1].e);
	com_free(r->sites);
	ocp_policy_free(r->pol);
	bn_dir_remove(r->dir);
	r->sites = NULL;
	r->pol = NULL;
	r->dir = NULL;
}

/* The server with its CA and registry, every site's replica with its dossiers, the server started. */
static int
run_open(run *r, const opts *o, bool with_hostile)
{
	bn_tuning tu = {true, 0};
	char path[PATH_MAX];
	char ca_dir[PATH_MAX];
	char name[64];
	char err[512];
	sto_db *srv = NULL;
	bn_row *rows = NULL;
	int rv;
	int i;

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->with_hostile = with_hostile;
	r->server = -1;
	r->dir = bn_dir_make();
	r->sites = com_calloc((size_t)o->sites, sizeof(*r->sites));
	rows = bn_rows_make(0, o->changes, "83-100");
	if (r->dir == NULL || r->sites == NULL || rows == NULL) {
		fprintf(stderr, "bench: out of memory or no temporary directory\n");
		com_free(rows);
		return OCOP_ENOMEM;
	}
	if ((rv = ocp_policy_open(&r->pol, o->data_dir, false, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "bench: rules in %s: %s\n", o->data_dir, err);
		com_free(rows);
		return rv;
	}
	snprintf(r->url, sizeof(r->url), "tls+tcp://127.0.0.1:%d", free_port());
	/* The province's server, its CA (as `ocopd ca init`), its sites (as `ocopd site add`). */
	if ((rv = bn_replica_open(&srv, r->dir, "server.db", NULL, "province", "83", &tu)) != OCOP_OK) {
		com_free(rows);
		return rv;
	}
	snprintf(ca_dir, sizeof(ca_dir), "%s/ca", r->dir);
	{
		srv_ca_init_opts io;
		memset(&io, 0, sizeof(io));
		io.dir = ca_dir;
		io.hosts = "127.0.0.1";
		io.public_url = r->url;
		if ((rv = srv_ca_init(srv, &io, err, sizeof(err))) != OCOP_OK) {
			fprintf(stderr, "bench: ca init: %s\n", err);
		}
	}
	for (i = 0; rv == OCOP_OK && i < o->sites; i++) {
		site *s = &r->sites[i];
		s->run = r;
		s->index = i;
		snprintf(s->scope, sizeof(s->scope), "83-%03d", 100 + i / o->per_commune);
		snprintf(name, sizeof(name), "site %d", i);
		rv = register_site(srv, ca_dir, s, name);
	}
	for (i = 0; rv == OCOP_OK && i < 2; i++) {
		/* In the first commune: what the pipelining peer asks for is real pages. */
		snprintf(r->bad[i].scope, sizeof(r->bad[i].scope), "83-100");
		snprintf(name, sizeof(name), "stolen laptop %d", i);
		rv = register_site(srv, ca_dir, &r->bad[i], name);
	}
	sto_close(srv);
	/* Each site's replica: its own product and its dossiers, not yet synced. */
	for (i = 0; rv == OCOP_OK && i < o->sites; i++) {
		site *s = &r->sites[i];
		char key[48];
		size_t k;
		snprintf(path, sizeof(path), "s%04d.db", i);
		snprintf(key, sizeof(key), "site %d", i);
		for (k = 0; k < o->changes; k++) {
			bn_dossier_row(&rows[k], (unsigned)((size_t)i * o->changes + k), s->scope);
		}
		bn_rows_set_product(rows, o->changes, key);
		if ((rv = bn_replica_open(&s->db, r->dir, path, s->e.site_id, "commune", s->scope, &tu)) == OCOP_OK) {
			double secs;
			sto_set_policy(s->db, ocp_policy_store(r->pol));
			if ((rv = bn_parents_insert(s->db, s->scope, key)) == OCOP_OK) {
				rv = bn_captured_insert(s->db, BN_WRITE_PREPARED, rows, o->changes, 1000, NULL, &secs);
			}
		}
	}
	com_free(rows);
	if (rv == OCOP_OK) {
		snprintf(path, sizeof(path), "%s/server.db", r->dir);
		rv = server_start(r, path);
	}
	return rv;
}

/* ===== Honest sites ===== */

static uint64_t
count_dossiers(sto_db *db)
{
	sqlite3_stmt *st = NULL;
	uint64_t n = 0;

	if (sqlite3_prepare_v2(sto_sqlite(db), "SELECT COUNT(*) FROM dossier", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		n = (uint64_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return n;
}

/* One session of s: dial with its certificate, sync, hang up. */
static int
honest_session(site *s, double *secs, double *start, double *end)
{
	const run *r = s->run;
	lnk_dialer *d = NULL;
	lnk_dial_opts o;
	cli_sync_opts so;
	cli_sync_stats st;
	char err[512] = "";
	double t0 = bn_now();
	int rv;

	*secs = 0;
	memset(&o, 0, sizeof(o));
	o.url = r->url;
	o.timeout_ms = r->o->timeout_ms;
	o.ca_pem = s->e.ca_pem;
	o.cert_pem = s->e.cert_pem;
	o.key_pem = s->e.key_pem;
	memset(&st, 0, sizeof(st));
	rv = lnk_dialer_open(&d, &o, err, sizeof(err));
	if (rv == OCOP_OK) {
		cli_transport t = lnk_dialer_transport(d);
		memset(&so, 0, sizeof(so));
		so.credential = s->e.credential;
		rv = cli_sync_once(s->db, ocp_policy_store(r->pol), &t, &so, &st, err, sizeof(err));
	}
	lnk_dialer_close(d);
	*start = t0;
	*end = bn_now();
	*secs = *end - t0;
	if (rv != OCOP_OK && s->err[0] == 0) {
		snprintf(s->err, sizeof(s->err), "%s (%s)", err, ocop_errname(rv));
	}
	s->pushed += st.pushed;
	s->pulled += st.pulled;
	return rv;
}

static void *
honest_main(void *arg)
{
	site *s = arg;
	run *r = s->run;
	int k;

	for (k = 0; k < ROUNDS; k++) {
		pthread_barrier_wait(&r->go);
		s->rv[k] = honest_session(s, &s->secs[k], &s->start[k], &s->end[k]);
	}
	s->dossiers = count_dossiers(s->db);
	return NULL;
}

/* ===== Hostile peers ===== */

/* Pipeline PULLs over a raw REQ socket and never read a reply, until stopped. */
static void *
pipeliner_main(void *arg)
{
	run *r = arg;
	const site *s = &r->bad[0];
	nng_socket raw;
	nng_dialer d;
	nng_tls_config *cfg = NULL;
	proto_pull m;
	com_buf req;
	char err[256];
	uint32_t id = 1;

	com_buf_init(&req);
	memset(&m, 0, sizeof(m));
	snprintf(m.site, sizeof(m.site), "%s", s->e.site_id);
	snprintf(m.credential, sizeof(m.credential), "%s", s->e.credential);
	if (proto_pull_encode(&req, &m) != OCOP_OK || nng_req0_open_raw(&raw) != 0) {
		com_buf_fini(&req);
		return NULL;
	}
	if (lnk_tls_config_open(&cfg, false, s->e.ca_pem, s->e.cert_pem, s->e.key_pem, "127.0.0.1", err,
		sizeof(err)) != OCOP_OK ||
	    nng_dialer_create(&d, raw, r->url) != 0 || nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg) != 0 ||
	    nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, 10) != 0 || nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, 100) != 0 ||
	    nng_dialer_start(d, NNG_FLAG_NONBLOCK) != 0) {
		fprintf(stderr, "bench: the pipelining peer cannot dial\n");
		goto out;
	}
	while (!atomic_load(&r->stop)) {
		int i;
		for (i = 0; i < 32; i++) {
			nng_msg *msg = NULL;
			if (nng_msg_alloc(&msg, 0) != 0) {
				break;
			}
			if (nng_msg_header_append_u32(msg, 0x80000000u | (id++ & 0x7fffffffu)) != 0 ||
			    nng_msg_append(msg, req.data, req.len) != 0 || nng_sendmsg(raw, msg, NNG_FLAG_NONBLOCK) != 0) {
				nng_msg_free(msg);
				break;
			}
			atomic_fetch_add(&r->hs.pipelined, 1);
		}
		sleep_ms(5);
	}
out:
	nng_close(raw);
	if (cfg != NULL) {
		nng_tls_config_free(cfg);
	}
	com_buf_fini(&req);
	return NULL;
}

/*
 * A PUSH of 12,000 changes of ~300 bytes from site s: some 4 MB once
 * inflated, twice the default max_batch (its text repeats, so the wire
 * carries far less: the server weighs it by what it inflates to).
 */
static int
oversized_push(const site *s, com_buf *req)
{
	proto_push hdr;
	proto_batch b;
	proto_change c;
	proto_value v;
	proto_wr w;
	com_buf cells;
	char text[300];
	int rv;
	int i;

	memset(text, 'x', sizeof(text) - 1);
	text[sizeof(text) - 1] = 0;
	com_buf_init(&cells);
	proto_wr_init(&w, &cells);
	memset(&v, 0, sizeof(v));
	v.type = PROTO_V_TEXT;
	v.p = (const uint8_t *)text;
	v.len = strlen(text);
	proto_cells_begin(&w, 1);
	proto_cell_put(&w, "name", &v, 0);
	memset(&hdr, 0, sizeof(hdr));
	snprintf(hdr.site, sizeof(hdr.site), "%s", s->e.site_id);
	snprintf(hdr.credential, sizeof(hdr.credential), "%s", s->e.credential);
	rv = proto_wr_error(&w);
	if (rv == OCOP_OK) {
		rv = proto_push_begin(&b, req, &hdr, 8u << 20);
	}
	for (i = 0; rv == OCOP_OK && i < 12000; i++) {
		memset(&c, 0, sizeof(c));
		snprintf(c.site, sizeof(c.site), "%s", s->e.site_id);
		c.seq = (uint64_t)i + 1;
		snprintf(c.tbl, sizeof(c.tbl), "subject");
		snprintf(c.row, sizeof(c.row), "0190f0f0-1111-7000-8000-%012x", i);
		c.hlc = 1;
		c.cells = cells.data;
		c.cells_len = cells.len;
		rv = proto_batch_add(&b, &c);
	}
	if (rv == OCOP_OK) {
		rv = proto_push_end(&b);
	}
	com_buf_fini(&cells);
	return rv;
}

/* Send oversized PUSHes one after the other (reading each answer), until stopped. */
static void *
pusher_main(void *arg)
{
	run *r = arg;
	const site *s = &r->bad[1];
	lnk_dialer *d = NULL;
	com_buf req;
	com_buf reply;
	char err[512];

	com_buf_init(&req);
	com_buf_init(&reply);
	if (oversized_push(s, &req) != OCOP_OK) {
		fprintf(stderr, "bench: cannot build the oversized PUSH\n");
		goto out;
	}
	while (!atomic_load(&r->stop)) {
		lnk_transport t;
		proto_env env;
		proto_rd body;
		proto_error e;
		int rv;
		if (d == NULL) {
			lnk_dial_opts o;
			memset(&o, 0, sizeof(o));
			o.url = r->url;
			o.timeout_ms = 10000;
			o.ca_pem = s->e.ca_pem;
			o.cert_pem = s->e.cert_pem;
			o.key_pem = s->e.key_pem;
			if (lnk_dialer_open(&d, &o, err, sizeof(err)) != OCOP_OK) {
				d = NULL;
				sleep_ms(50);
				continue;
			}
		}
		t = lnk_dialer_transport(d);
		com_buf_reset(&reply);
		atomic_fetch_add(&r->hs.pushes, 1);
		rv = t.roundtrip(t.arg, req.data, req.len, &reply);
		if (rv == OCOP_OK && proto_env_open(reply.data, reply.len, &env, &body) == OCOP_OK &&
		    env.type == PROTO_MSG_ERROR && proto_error_decode(&body, &e) == OCOP_OK && e.code == OCOP_ETOOBIG) {
			atomic_fetch_add(&r->hs.refused, 1);
		} else {
			atomic_fetch_add(&r->hs.other, 1);
			lnk_dialer_close(d);
			d = NULL;
		}
	}
out:
	lnk_dialer_close(d);
	com_buf_fini(&reply);
	com_buf_fini(&req);
	return NULL;
}

/* ===== One run ===== */

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The q-quantile (0..1) of n values, nearest rank (sorts v). */
static double
quantile(double *v, int n, double q)
{
	int k;

	if (n == 0) {
		return 0;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	k = (int)(q * n + 0.999999) - 1;
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

/* Figures of one run, for the report and the check. */
typedef struct figures {
	int failed[ROUNDS];
	double p50[ROUNDS];
	double p99[ROUNDS];
	double max[ROUNDS];
	double wall[ROUNDS];       /* first session's start to last session's end */
	double all_p50;            /* over the sessions of both rounds */
	double all_p99;
	int short_replicas;        /* replicas without their commune's dossiers after the run */
	uint64_t pushed;
	uint64_t pulled;
	long peak_rss_kib;
} figures;

static int
run_once(const opts *o, bool with_hostile, figures *f)
{
	run *r = com_calloc(1, sizeof(*r));
	pthread_t *th = NULL;
	pthread_t bad[2];
	double *v = NULL;
	double t0;
	int started = 0;
	int rv;
	int i;
	int k;

	memset(f, 0, sizeof(*f));
	if (r == NULL) {
		return OCOP_ENOMEM;
	}
	printf("\n-- %s: %d sites over mutual TLS, %zu new dossiers each, %d per commune --\n",
	    with_hostile ? "with hostile peers" : "baseline", o->sites, o->changes, o->per_commune);
	fflush(stdout);
	t0 = bn_now();
	if ((rv = run_open(r, o, with_hostile)) != OCOP_OK) {
		goto out;
	}
	printf("world ready in %.1f s (server, CA, %d certificates, replicas); server pid %d\n", bn_now() - t0,
	    o->sites + 2, (int)r->server);
	th = com_calloc((size_t)o->sites, sizeof(*th));
	v = com_calloc((size_t)o->sites * ROUNDS, sizeof(*v));
	if (th == NULL || v == NULL || pthread_barrier_init(&r->go, NULL, (unsigned)o->sites + 1) != 0) {
		rv = OCOP_ENOMEM;
		goto out;
	}
	if (with_hostile) {
		pthread_create(&bad[0], NULL, pipeliner_main, r);
		pthread_create(&bad[1], NULL, pusher_main, r);
		sleep_ms(500); /* the attack is under way before the first honest site dials */
	}
	for (started = 0; started < o->sites; started++) {
		if (pthread_create(&th[started], NULL, honest_main, &r->sites[started]) != 0) {
			fprintf(stderr, "bench: cannot start thread %d\n", started);
			break;
		}
	}
	if (started < o->sites) {
		/* The barrier can never fill: stop here (the threads stay blocked until exit). */
		fprintf(stderr, "bench: only %d of %d site threads started\n", started, o->sites);
		exit(1);
	}
	/* Round k starts when every site (and this thread) is at the barrier, so
	 * round k + 1 starts once every site has finished round k. */
	for (k = 0; k < ROUNDS; k++) {
		pthread_barrier_wait(&r->go);
	}
	for (i = 0; i < o->sites; i++) {
		pthread_join(th[i], NULL);
	}
	r->peak_rss_kib = server_peak_rss(r);
	if (with_hostile) {
		atomic_store(&r->stop, true);
		pthread_join(bad[0], NULL);
		pthread_join(bad[1], NULL);
	}
	pthread_barrier_destroy(&r->go);
	server_stop(r);
	r->log_pipelining = log_count(r, "requests in flight without reading replies");
	r->log_toobig = log_count(r, "larger than this server takes");
	r->log_unread = log_count(r, "did not take its reply");
	/* Figures. */
	for (k = 0; k < ROUNDS; k++) {
		double first = 0;
		double last = 0;
		for (i = 0; i < o->sites; i++) {
			const site *s = &r->sites[i];
			v[i] = s->secs[k];
			f->failed[k] += s->rv[k] != OCOP_OK;
			first = i == 0 || s->start[k] < first ? s->start[k] : first;
			last = s->end[k] > last ? s->end[k] : last;
		}
		f->wall[k] = last - first;
		f->max[k] = quantile(v, o->sites, 1.0);
		f->p50[k] = quantile(v, o->sites, 0.50);
		f->p99[k] = quantile(v, o->sites, 0.99);
	}
	for (i = 0; i < o->sites; i++) {
		const site *s = &r->sites[i];
		int first = i / o->per_commune * o->per_commune; /* the commune's first site */
		int members = o->sites - first < o->per_commune ? o->sites - first : o->per_commune;
		uint64_t want = (uint64_t)o->changes * (uint64_t)members;
		v[2 * i] = s->secs[0];
		v[2 * i + 1] = s->secs[1];
		f->short_replicas += s->dossiers != want;
		f->pushed += s->pushed;
		f->pulled += s->pulled;
		if (s->err[0] != 0 && f->failed[0] + f->failed[1] <= 10) {
			printf("site %d failed: %s\n", i, s->err);
		}
	}
	f->all_p50 = quantile(v, o->sites * ROUNDS, 0.50);
	f->all_p99 = quantile(v, o->sites * ROUNDS, 0.99);
	f->peak_rss_kib = r->peak_rss_kib;
	printf("%-28s %9s %9s %9s %9s %9s\n", "round", "failed", "p50 s", "p99 s", "max s", "wall s");
	for (k = 0; k < ROUNDS; k++) {
		printf("%-28s %9d %9.3f %9.3f %9.3f %9.3f\n", k == 0 ? "1 (push and pull)" : "2 (pull the rest)",
		    f->failed[k], f->p50[k], f->p99[k], f->max[k], f->wall[k]);
	}
	printf("%-28s %9d %9.3f %9.3f\n", "both rounds", f->failed[0] + f->failed[1], f->all_p50, f->all_p99);
	printf("changes pushed %" PRIu64 ", pulled %" PRIu64 "; replicas without their commune's dossiers: %d\n",
	    f->pushed, f->pulled, f->short_replicas);
	printf("server peak RSS (VmHWM): %.1f MiB%s\n", (double)r->peak_rss_kib / 1024.0,
	    LOAD_SANITIZED ? " (sanitizer build: shadow memory included)" : "");
	if (with_hostile) {
		printf("hostile: %" PRIuFAST64 " PULLs pipelined without reading (server log: %ld lines about requests "
		       "dropped unanswered, %ld connections closed for unread replies); %" PRIuFAST64
		       " oversized PUSHes sent, %" PRIuFAST64 " refused with ETOOBIG, %" PRIuFAST64 " otherwise\n",
		    atomic_load(&r->hs.pipelined), r->log_pipelining, r->log_unread, atomic_load(&r->hs.pushes),
		    atomic_load(&r->hs.refused), atomic_load(&r->hs.other));
	}
	printf("summary load %s failed=%d short=%d p50=%.3f p99=%.3f rss_mib=%.1f\n",
	    with_hostile ? "hostile" : "baseline", f->failed[0] + f->failed[1], f->short_replicas, f->all_p50,
	    f->all_p99, (double)r->peak_rss_kib / 1024.0);
	fflush(stdout);
	if (with_hostile && (atomic_load(&r->hs.refused) == 0 || r->log_pipelining == 0)) {
		printf("the hostile peers were not refused as they should be\n");
		rv = OCOP_EINTERNAL;
	}
out:
	com_free(th);
	com_free(v);
	run_close(r);
	com_free(r);
	return rv;
}

int
main(int argc, char **argv)
{
	opts o;
	figures base;
	figures bad;
	bool ok = true;
	int rv;

	if (parse_args(argc, argv, &o) != 0) {
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (lnk_tls_install(NULL) != OCOP_OK) {
		fprintf(stderr, "bench: cannot install the TLS engine\n");
		return 1;
	}
	printf("== load: %d sites, %zu dossiers each (%zu changes), %d sites per commune, ocopd %s ==\n", o.sites,
	    o.changes, (size_t)o.sites * o.changes, o.per_commune, o.ocopd);
	memset(&base, 0, sizeof(base));
	memset(&bad, 0, sizeof(bad));
	if (o.baseline) {
		rv = run_once(&o, false, &base);
		ok = ok && rv == OCOP_OK;
	}
	if (o.hostile) {
		rv = run_once(&o, true, &bad);
		ok = ok && rv == OCOP_OK;
	}
	printf("\n");
	if (o.baseline && o.hostile && base.all_p99 > 0) {
		printf("p99 with hostile peers / without: %.2f (goal < 2)\n", bad.all_p99 / base.all_p99);
	}
	if (o.check) {
		const figures *fs[2] = {o.baseline ? &base : NULL, o.hostile ? &bad : NULL};
		for (int i = 0; i < 2; i++) {
			if (fs[i] == NULL) {
				continue;
			}
			if (fs[i]->failed[0] + fs[i]->failed[1] > 0 || fs[i]->short_replicas > 0) {
				printf("check: honest sessions failed or replicas are short\n");
				ok = false;
			}
			if (!LOAD_SANITIZED && (fs[i]->peak_rss_kib < 0 || fs[i]->peak_rss_kib >= RSS_GOAL_KIB)) {
				printf("check: server peak RSS %.1f MiB, goal under 64 MiB\n", (double)fs[i]->peak_rss_kib / 1024.0);
				ok = false;
			}
		}
		if (o.baseline && o.hostile && bad.all_p99 > o.max_ratio * base.all_p99) {
			printf("check: p99 with hostile peers %.3f s is over %.1f x the baseline's %.3f s\n", bad.all_p99,
			    o.max_ratio, base.all_p99);
			ok = false;
		}
		printf("check: %s\n", ok ? "goals met" : "FAILED");
	}
	return ok ? 0 : 1;
}
