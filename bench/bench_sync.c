/*
 * bench_sync: the replication engine end to end, in one process: a provincial
 * server replica and two commune replicas (A and B, same scope) in files of a
 * temporary directory, synced with the real session code (cli_sync_once) and
 * the real server code (srv_handle), either in process or over nng on
 * 127.0.0.1: plain TCP, or mutual TLS with certificates from a CA made for
 * the run (srv_listener + lnk_dialer). One repetition runs, in order:
 *
 *   plain      plain SQLite insert of the same rows (the baseline)
 *   capture    A inserts the rows through the capture triggers
 *   push       A's first sync: every row to the server
 *   bootstrap  B's first sync: every row from the server into a fresh replica
 *   incr push / incr pull   A edits --edits dossiers; A syncs, then B
 *   conflict   A and B edit the same dossiers; A syncs, B syncs (its push and
 *              its pull both conflict), A syncs again
 *   bytes      K dossiers with one short field edited: the bytes of A's push
 *              session and of B's pull session, per changed field
 *
 * and prints medians over --reps. Nothing asserts on time.
 *
 * usage: bench_sync [--rows N] [--edits M] [--reps R] [--sync full|normal]
 *                   [--transport inproc|tcp|tls|both|all] [--cache-kib K] [--batch-kib K]
 *                   [--no-bytes]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/harness.h"
#include "bench/link.h"
#include "client/sync.h"
#include "common/link/dial.h"
#include "common/link/pki.h"
#include "common/link/tls.h"
#include "common/ocop/policy.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/envelope.h"
#include "server/listener.h"
#include "server/registry.h"
#include "server/service.h"
#include "common/store/siteauth.h"

#define MAX_REPS 15
#define NET_TIMEOUT_MS 120000 /* long enough that nng never resends a slow request */

/* How the sessions reach the server. */
enum { TR_INPROC, TR_TCP, TR_TLS, TR_COUNT };
static const char *const tr_keys[TR_COUNT] = {"inproc", "tcp", "tls"};
static const char *const tr_names[TR_COUNT] = {
    "in process (srv_handle)", "nng tcp://127.0.0.1", "nng tls+tcp://127.0.0.1 (mutual TLS, EC P-256)"};

/* The timed phases of one repetition. */
enum {
	PH_PLAIN,
	PH_CAPTURE,
	PH_PUSH,
	PH_BOOT,
	PH_EDIT,
	PH_INC_PUSH,
	PH_INC_PULL,
	PH_CONF_A1,
	PH_CONF_B,
	PH_CONF_A2,
	PH_COUNT
};

/* Short names for the summary lines scripts/bench.sh collects. */
static const char *const phase_keys[PH_COUNT] = {
    "plain", "capture", "push", "bootstrap", "edit", "incr_push", "incr_pull",
    "conflict_a1", "conflict_b", "conflict_a2",
};

static const char *const phase_names[PH_COUNT] = {
    "plain insert (baseline)", "capture insert (A)", "push (A, first sync)",
    "bootstrap (B, first sync)", "edit (A, 1 field)", "incremental push (A)",
    "incremental pull (B)", "conflict: A syncs", "conflict: B syncs",
    "conflict: A syncs again",
};

typedef struct opts {
	size_t rows;       /* dossiers A creates */
	size_t edits;      /* dossiers edited in the incremental and conflict phases */
	int reps;          /* repetitions; medians are printed */
	bool full_sync;    /* synchronous=FULL (else NORMAL) on every replica */
	bool tr[TR_COUNT]; /* the transports to run over */
	int cache_kib;     /* page cache of every replica; 0 = SQLite's default */
	size_t batch_kib;  /* server's PUSH/PULL byte budget; 0 = its default (1 MiB) */
	bool bytes;        /* print the bytes-per-field table (once) */
	char data_dir[1024]; /* authority and workflow files */
} opts;

/* What one phase did in one repetition. */
typedef struct phase {
	double secs;       /* wall time */
	uint64_t rows;     /* changes (or rows) it moved */
	uint64_t requests; /* round trips */
	uint64_t bytes;    /* request + reply bytes */
	double server_s;   /* time inside srv_handle (in process) */
	uint64_t conflicts; /* ledger entries written where it merged */
	double wire_s;     /* time inside round trips */
	uint64_t deflated; /* bytes if every message were deflated (bytes table only) */
	uint64_t type_n[BN_LINK_TYPES];     /* requests per message type */
	uint64_t type_bytes[BN_LINK_TYPES]; /* bytes per request type (request + reply) */
	double type_s[BN_LINK_TYPES];       /* round-trip seconds per request type */
} phase;

/* The PEM texts of a TLS run. */
enum { PEM_CA, PEM_CA_KEY, PEM_SRV_CERT, PEM_SRV_KEY, PEM_A_CERT, PEM_A_KEY, PEM_B_CERT, PEM_B_KEY, PEM_COUNT };

/* One run's world. */
typedef struct world {
	const opts *o;
	char *dir;                  /* temporary directory, owned */
	ocp_policy *server_pol;     /* authority-checking rules, owned */
	ocp_policy *site_pol;       /* the sites' rules, owned */
	sto_db *server;             /* province replica, owned */
	sto_db *a;                  /* commune replica A, owned */
	sto_db *b;                  /* commune replica B (fresh until bootstrap), owned */
	srv_service svc;            /* the server code */
	srv_listener *listener;     /* nng REP front when over TCP, owned */
	lnk_dialer *nng_a;          /* A's REQ socket when over TCP, owned */
	lnk_dialer *nng_b;          /* B's REQ socket when over TCP, owned */
	bn_link link_a;             /* counting transport of A */
	bn_link link_b;             /* counting transport of B */
	char cred_a[SRV_CREDENTIAL_LEN + 1];
	char cred_b[SRV_CREDENTIAL_LEN + 1];
	char (*ids)[37];            /* A's dossier ids, owned */
	char *pem[PEM_COUNT];       /* TLS: the run's CA and certificates (PEM), owned */
	nng_tls_config *tls;        /* TLS: the listener's configuration, owned */
} world;

/* ===== Options ===== */

static int
parse_args(int argc, char **argv, opts *o)
{
	const char *src = getenv("OCOP_SOURCE_DIR");
	int i;

	memset(o, 0, sizeof(*o));
	o->rows = 20000;
	o->edits = 1000;
	o->reps = 3;
	o->full_sync = true;
	o->tr[TR_INPROC] = o->tr[TR_TCP] = o->tr[TR_TLS] = true;
	o->bytes = true;
	if (src != NULL && src[0] != 0) {
		snprintf(o->data_dir, sizeof(o->data_dir), "%s/data", src);
	} else {
		snprintf(o->data_dir, sizeof(o->data_dir), "%s", OCOP_BENCH_DATA_DIR);
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(a, "--no-bytes") == 0) {
			o->bytes = false;
			continue;
		}
		if (v == NULL) {
			goto usage;
		}
		i++;
		if (strcmp(a, "--rows") == 0) {
			o->rows = strtoull(v, NULL, 10);
		} else if (strcmp(a, "--edits") == 0) {
			o->edits = strtoull(v, NULL, 10);
		} else if (strcmp(a, "--reps") == 0) {
			o->reps = atoi(v);
		} else if (strcmp(a, "--sync") == 0) {
			o->full_sync = strcmp(v, "normal") != 0;
		} else if (strcmp(a, "--transport") == 0) {
			bool all = strcmp(v, "all") == 0;
			bool both = strcmp(v, "both") == 0;
			o->tr[TR_INPROC] = all || both || strcmp(v, "inproc") == 0;
			o->tr[TR_TCP] = all || both || strcmp(v, "tcp") == 0;
			o->tr[TR_TLS] = all || strcmp(v, "tls") == 0;
			if (!o->tr[TR_INPROC] && !o->tr[TR_TCP] && !o->tr[TR_TLS]) {
				goto usage;
			}
		} else if (strcmp(a, "--cache-kib") == 0) {
			o->cache_kib = atoi(v);
		} else if (strcmp(a, "--batch-kib") == 0) {
			o->batch_kib = strtoull(v, NULL, 10);
		} else {
			goto usage;
		}
	}
	if (o->rows == 0 || o->edits == 0 || o->edits > o->rows || o->reps < 1 || o->reps > MAX_REPS) {
		fprintf(stderr, "%s: need rows > 0, 0 < edits <= rows, 1 <= reps <= %d\n", argv[0], MAX_REPS);
		return -1;
	}
	return 0;
usage:
	fprintf(stderr,
	    "usage: %s [--rows N] [--edits M] [--reps R] [--sync full|normal]\n"
	    "          [--transport inproc|tcp|tls|both|all] [--cache-kib K] [--batch-kib K] [--no-bytes]\n"
	    "  both = inproc and tcp; all (the default) adds tls\n",
	    argv[0]);
	return -1;
}

/* ===== Setting up and tearing down ===== */

/* A loopback port nobody listens on right now (the listener retries if it is taken meanwhile). */
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
world_close(world *w)
{
	lnk_dialer_close(w->nng_a);
	lnk_dialer_close(w->nng_b);
	srv_listener_close(w->listener); /* before the service's database goes */
	if (w->tls != NULL) {
		nng_tls_config_free(w->tls);
	}
	for (int i = 0; i < PEM_COUNT; i++) {
		com_free(w->pem[i]);
	}
	sto_close(w->a);
	sto_close(w->b);
	sto_close(w->server);
	ocp_policy_free(w->server_pol);
	ocp_policy_free(w->site_pol);
	com_free(w->ids);
	bn_dir_remove(w->dir);
	memset(w, 0, sizeof(*w));
}

/*
 * A TLS run's certificates, as a province's CA would issue them: a CA, the
 * server's certificate for 127.0.0.1, and one for each site bound to it in
 * the server's registry; then the listener's TLS configuration.
 */
static int
world_pki(world *w, const char *site_a, const char *site_b)
{
	const char *sites[2] = {site_a, site_b};
	char err[512];
	int rv;
	int i;

	if ((rv = lnk_tls_install(NULL)) != OCOP_OK ||
	    (rv = lnk_pki_ca_create("OCOP bench CA", LNK_PKI_CA_DAYS, &w->pem[PEM_CA], &w->pem[PEM_CA_KEY], err,
		 sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "bench: making the CA: %s\n", rv == OCOP_OK ? "" : err);
		return rv;
	}
	{
		lnk_pki_req r;
		memset(&r, 0, sizeof(r));
		r.cn = "bench server";
		r.server = true;
		r.hosts = "127.0.0.1";
		r.days = 30;
		if ((rv = lnk_pki_issue(w->pem[PEM_CA], w->pem[PEM_CA_KEY], &r, &w->pem[PEM_SRV_CERT],
			 &w->pem[PEM_SRV_KEY], err, sizeof(err))) != OCOP_OK) {
			fprintf(stderr, "bench: the server's certificate: %s\n", err);
			return rv;
		}
	}
	for (i = 0; i < 2; i++) {
		lnk_pki_req r;
		lnk_tls_peer info;
		memset(&r, 0, sizeof(r));
		r.cn = sites[i];
		r.role = "commune";
		r.days = 30;
		if ((rv = lnk_pki_issue(w->pem[PEM_CA], w->pem[PEM_CA_KEY], &r, &w->pem[PEM_A_CERT + 2 * i],
			 &w->pem[PEM_A_KEY + 2 * i], err, sizeof(err))) != OCOP_OK ||
		    (rv = lnk_pki_cert_info(w->pem[PEM_A_CERT + 2 * i], &info)) != OCOP_OK ||
		    (rv = sto_siteauth_set_cert(w->server, sites[i], info.sha256, info.not_after)) != OCOP_OK) {
			fprintf(stderr, "bench: a site's certificate: %s\n", err);
			return rv;
		}
	}
	if ((rv = lnk_tls_config_open(&w->tls, true, w->pem[PEM_CA], w->pem[PEM_SRV_CERT], w->pem[PEM_SRV_KEY], NULL,
		 err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "bench: the listener's TLS: %s\n", err);
	}
	return rv;
}

static int
world_open(world *w, const opts *o, int tr)
{
	bn_tuning tu = {o->full_sync, o->cache_kib};
	char err[512];
	char site_a[37];
	char site_b[37];
	char url[64];
	int tries;
	int rv;

	memset(w, 0, sizeof(*w));
	w->o = o;
	w->dir = bn_dir_make();
	w->ids = com_calloc(o->rows, sizeof(*w->ids));
	if (w->dir == NULL || w->ids == NULL) {
		fprintf(stderr, "bench: cannot make a temporary directory\n");
		return OCOP_EIO;
	}
	if ((rv = ocp_policy_open(&w->server_pol, o->data_dir, true, err, sizeof(err))) != OCOP_OK ||
	    (rv = ocp_policy_open(&w->site_pol, o->data_dir, false, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "bench: rules in %s: %s\n", o->data_dir, err);
		return rv;
	}
	if ((rv = bn_replica_open(&w->server, w->dir, "server.db", NULL, "province", "83", &tu)) != OCOP_OK) {
		return rv;
	}
	sto_set_policy(w->server, ocp_policy_store(w->server_pol));
	srv_service_init(&w->svc, w->server, ocp_policy_store(w->server_pol), NULL);
	if (o->batch_kib > 0) {
		w->svc.max_batch = o->batch_kib * 1024;
	}
	/* Two communes of the same scope: B sees everything A writes, and both edit it. */
	if ((rv = srv_registry_add(w->server, NULL, "commune", "83-100", "A", site_a, w->cred_a)) != OCOP_OK ||
	    (rv = srv_registry_add(w->server, NULL, "commune", "83-100", "B", site_b, w->cred_b)) != OCOP_OK) {
		fprintf(stderr, "bench: registering sites: %s\n", sto_errmsg(w->server));
		return rv;
	}
	if ((rv = bn_replica_open(&w->a, w->dir, "a.db", site_a, "commune", "83-100", &tu)) != OCOP_OK ||
	    (rv = bn_replica_open(&w->b, w->dir, "b.db", site_b, "commune", "83-100", &tu)) != OCOP_OK) {
		return rv;
	}
	sto_set_policy(w->a, ocp_policy_store(w->site_pol));
	sto_set_policy(w->b, ocp_policy_store(w->site_pol));
	if (tr == TR_INPROC) {
		bn_link_init_local(&w->link_a, &w->svc);
		bn_link_init_local(&w->link_b, &w->svc);
		return OCOP_OK;
	}
	if (tr == TR_TLS && (rv = world_pki(w, site_a, site_b)) != OCOP_OK) {
		return rv;
	}
	rv = OCOP_ENET;
	for (tries = 0; tries < 5 && rv != OCOP_OK; tries++) {
		srv_listen_opts lo;
		memset(&lo, 0, sizeof(lo));
		snprintf(url, sizeof(url), "%s://127.0.0.1:%d", tr == TR_TLS ? "tls+tcp" : "tcp", free_port());
		lo.url = url;
		lo.workers = 4;
		lo.max_message = PROTO_MAX_MESSAGE;
		lo.tls = w->tls;
		rv = srv_listener_open(&w->listener, &w->svc, &lo, err, sizeof(err));
	}
	if (rv != OCOP_OK) {
		fprintf(stderr, "bench: cannot listen on 127.0.0.1: %s\n", err);
		return rv;
	}
	{
		lnk_dial_opts d;
		memset(&d, 0, sizeof(d));
		d.url = url;
		d.timeout_ms = NET_TIMEOUT_MS;
		d.ca_pem = w->pem[PEM_CA];
		d.cert_pem = w->pem[PEM_A_CERT];
		d.key_pem = w->pem[PEM_A_KEY];
		if ((rv = lnk_dialer_open(&w->nng_a, &d, err, sizeof(err))) == OCOP_OK) {
			d.cert_pem = w->pem[PEM_B_CERT];
			d.key_pem = w->pem[PEM_B_KEY];
			rv = lnk_dialer_open(&w->nng_b, &d, err, sizeof(err));
		}
		if (rv != OCOP_OK) {
			fprintf(stderr, "bench: cannot dial %s: %s\n", url, err);
			return rv;
		}
	}
	bn_link_init_remote(&w->link_a, lnk_dialer_transport(w->nng_a));
	bn_link_init_remote(&w->link_b, lnk_dialer_transport(w->nng_b));
	return OCOP_OK;
}

/* ===== Sessions ===== */

static uint64_t
count_rows(sto_db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	uint64_t n = 0;

	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		n = (uint64_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return n;
}

/*
 * One sync session of A (is_a) or B, timed and counted into ph (rows: the
 * changes pushed plus pulled; conflicts: the ledger entries the session wrote
 * on the site and on the server).
 */
static int
session(world *w, bool is_a, phase *ph)
{
	sto_db *db = is_a ? w->a : w->b;
	bn_link *l = is_a ? &w->link_a : &w->link_b;
	cli_transport t = bn_link_transport(l);
	cli_sync_opts so;
	cli_sync_stats st;
	uint64_t ledger0 = count_rows(w->server, "SELECT COUNT(*) FROM ledger");
	char err[700];
	double t0;
	int rv;

	memset(&so, 0, sizeof(so));
	so.credential = is_a ? w->cred_a : w->cred_b;
	bn_link_reset(l);
	t0 = bn_now();
	rv = cli_sync_once(db, ocp_policy_store(w->site_pol), &t, &so, &st, err, sizeof(err));
	ph->secs += bn_now() - t0;
	if (rv != OCOP_OK) {
		fprintf(stderr, "bench: sync of %s failed: %s (%s)\n", is_a ? "A" : "B", err, ocop_errname(rv));
		return rv;
	}
	ph->rows += st.pushed + st.pulled;
	ph->requests += l->requests;
	ph->bytes += bn_link_bytes(l);
	ph->server_s += l->server_s;
	ph->wire_s += l->wire_s;
	ph->deflated += l->deflated_bytes;
	for (int i = 0; i < BN_LINK_TYPES; i++) {
		ph->type_n[i] += l->count[i];
		ph->type_bytes[i] += l->type_bytes[i];
		ph->type_s[i] += l->type_s[i];
	}
	ph->conflicts += st.conflicts + count_rows(w->server, "SELECT COUNT(*) FROM ledger") - ledger0;
	return OCOP_OK;
}

/* ===== One repetition ===== */

/* Bytes of one push session of A and one pull session of B after k edits of a short field. */
static int
bytes_probe(world *w, size_t first, size_t k, bool long_value, phase *push, phase *pull)
{
	double secs;
	int rv;

	memset(push, 0, sizeof(*push));
	memset(pull, 0, sizeof(*pull));
	if (k > 0 &&
	    (rv = bn_edit(w->a, (const char(*)[37])w->ids + first, k,
		 long_value ? "status_note" : "update_deadline", "probe", long_value, 1000, &secs)) !=
		OCOP_OK) {
		return rv;
	}
	if ((rv = session(w, true, push)) != OCOP_OK) {
		return rv;
	}
	return session(w, false, pull);
}

/* The bytes table (first repetition only: the bytes do not vary). */
static int
bytes_table(world *w)
{
	static const size_t ks[] = {0, 1, 10, 100, 1000};
	char sum[8][96];
	size_t nsum = 0;
	phase push;
	phase pull;
	uint64_t push0 = 0;
	uint64_t pull0 = 0;
	uint64_t zpush0 = 0;
	uint64_t zpull0 = 0;
	size_t first = 0;
	size_t i;
	int rv;

	/* Deflating every message costs time; only this table measures it. */
	w->link_a.deflate = w->link_b.deflate = true;
	printf("\n-- bytes on the wire per changed field (protocol messages, request + reply) --\n");
	printf("%-30s %5s | %8s %4s %8s %7s | %8s %4s %8s %7s\n", "edit", "K", "push B", "req",
	    "B/field", "zlib", "pull B", "req", "B/field", "zlib");
	for (i = 0; i < sizeof(ks) / sizeof(ks[0]) + 1; i++) {
		bool long_value = i == sizeof(ks) / sizeof(ks[0]);
		size_t k = long_value ? 1000 : ks[i];
		if (first + k > w->o->rows) {
			break;
		}
		if ((rv = bytes_probe(w, first, k, long_value, &push, &pull)) != OCOP_OK) {
			return rv;
		}
		first += k;
		if (k == 0) {
			push0 = push.bytes;
			pull0 = pull.bytes;
			zpush0 = push.deflated;
			zpull0 = pull.deflated;
			printf("%-30s %5s | %8" PRIu64 " %4" PRIu64 " %8s %7s | %8" PRIu64 " %4" PRIu64 " %8s %7s\n",
			    "none (empty session)", "0", push.bytes, push.requests, "-", "-", pull.bytes,
			    pull.requests, "-", "-");
			continue;
		}
		printf("%-30s %5zu | %8" PRIu64 " %4" PRIu64 " %8.1f %7.1f | %8" PRIu64 " %4" PRIu64
		       " %8.1f %7.1f\n",
		    long_value ? "status_note (~250 B value)" : "update_deadline (~10 B value)", k,
		    push.bytes, push.requests, (double)(push.bytes - push0) / (double)k,
		    (double)(push.deflated - zpush0) / (double)k, pull.bytes, pull.requests,
		    (double)(pull.bytes - pull0) / (double)k, (double)(pull.deflated - zpull0) / (double)k);
		snprintf(sum[nsum++], sizeof(sum[0]), "summary bytes %s %zu %.1f %.1f %.1f %.1f\n",
		    long_value ? "long" : "short", k, (double)(push.bytes - push0) / (double)k,
		    (double)(pull.bytes - pull0) / (double)k, (double)(push.deflated - zpush0) / (double)k,
		    (double)(pull.deflated - zpull0) / (double)k);
	}
	w->link_a.deflate = w->link_b.deflate = false;
	printf("B/field = (session bytes - empty session bytes) / K; a session is HELLO, PUSH*, PULL*, ACK;\n"
	       "zlib = the same with every whole message deflated again (level 6): what a compressing\n"
	       "transport would add on top of the batches' own deflate (PROTOCOL.md 5.1)\n");
	for (i = 0; i < nsum; i++) {
		fputs(sum[i], stdout);
	}
	return OCOP_OK;
}

static int
run_once(const opts *o, const bn_row *rows, int tr, phase ph[PH_COUNT], bool print_bytes)
{
	bn_tuning tu = {o->full_sync, o->cache_kib};
	world w;
	double secs;
	int rv;

	memset(ph, 0, sizeof(phase) * PH_COUNT);
	if ((rv = world_open(&w, o, tr)) != OCOP_OK) {
		goto done;
	}
	/* The baseline, in the same directory, on the same rows. */
	if ((rv = bn_plain_insert(w.dir, "plain.db", &tu, BN_PLAIN, rows, o->rows, 1000, &ph[PH_PLAIN].secs)) != OCOP_OK) {
		goto done;
	}
	ph[PH_PLAIN].rows = o->rows;
	if ((rv = bn_parents_insert(w.a, "83-100", NULL)) != OCOP_OK ||
	    (rv = bn_captured_insert(w.a, BN_WRITE_PREPARED, rows, o->rows, 1000, w.ids,
		 &ph[PH_CAPTURE].secs)) != OCOP_OK) {
		goto done;
	}
	ph[PH_CAPTURE].rows = o->rows;
	if ((rv = session(&w, true, &ph[PH_PUSH])) != OCOP_OK ||
	    (rv = session(&w, false, &ph[PH_BOOT])) != OCOP_OK) {
		goto done;
	}
	if (count_rows(w.b, "SELECT COUNT(*) FROM dossier") != o->rows) {
		fprintf(stderr, "bench: B holds %" PRIu64 " dossiers after bootstrap, not %zu\n",
		    count_rows(w.b, "SELECT COUNT(*) FROM dossier"), o->rows);
		rv = OCOP_EINTERNAL;
		goto done;
	}
	/* Incremental: A edits, A pushes, B pulls. */
	if ((rv = bn_edit(w.a, (const char(*)[37])w.ids, o->edits, "status_note", "A1", true, 1000,
		 &ph[PH_EDIT].secs)) != OCOP_OK) {
		goto done;
	}
	ph[PH_EDIT].rows = o->edits;
	if ((rv = session(&w, true, &ph[PH_INC_PUSH])) != OCOP_OK ||
	    (rv = session(&w, false, &ph[PH_INC_PULL])) != OCOP_OK) {
		goto done;
	}
	/* Conflict-heavy: both edit the same dossiers' note before either syncs. */
	if ((rv = bn_edit(w.a, (const char(*)[37])w.ids, o->edits, "status_note", "A2", true, 1000, &secs)) != OCOP_OK ||
	    (rv = bn_edit(w.b, (const char(*)[37])w.ids, o->edits, "status_note", "B2", true, 1000, &secs)) != OCOP_OK) {
		goto done;
	}
	if ((rv = session(&w, true, &ph[PH_CONF_A1])) != OCOP_OK ||
	    (rv = session(&w, false, &ph[PH_CONF_B])) != OCOP_OK ||
	    (rv = session(&w, true, &ph[PH_CONF_A2])) != OCOP_OK) {
		goto done;
	}
	if (print_bytes) {
		rv = bytes_table(&w);
	}
done:
	world_close(&w);
	return rv;
}

/* ===== Report ===== */

/* The repetition whose time for phase p is the median (the lower middle one for an even count). */
static int
median_rep(int reps, phase all[MAX_REPS][PH_COUNT], int p)
{
	int r;
	int k;

	for (r = 0; r < reps; r++) {
		int below = 0;
		int same = 0;
		for (k = 0; k < reps; k++) {
			below += all[k][p].secs < all[r][p].secs;
			same += all[k][p].secs == all[r][p].secs;
		}
		if (below <= (reps - 1) / 2 && (reps - 1) / 2 < below + same) {
			return r;
		}
	}
	return 0;
}

/* Where the time of the sessions went, by message type (the median repetition of each phase). */
static void
anatomy(int reps, phase all[MAX_REPS][PH_COUNT])
{
	static const int phases[] = {PH_PUSH, PH_BOOT, PH_INC_PUSH, PH_INC_PULL};
	static const unsigned types[] = {PROTO_MSG_HELLO, PROTO_MSG_PUSH, PROTO_MSG_PULL, PROTO_MSG_ACK};
	size_t i;
	size_t k;

	printf("session anatomy (median repetition): requests / seconds in round trips per type, "
	       "and time outside them (the site's own work)\n");
	printf("%-26s", "phase");
	for (k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
		printf(" %16s", proto_msg_name(types[k]));
	}
	printf(" %9s\n", "site s");
	for (i = 0; i < sizeof(phases) / sizeof(phases[0]); i++) {
		const phase *ph = &all[median_rep(reps, all, phases[i])][phases[i]];
		printf("%-26s", phase_names[phases[i]]);
		for (k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
			printf(" %5" PRIu64 " / %7.3fs", ph->type_n[types[k]], ph->type_s[types[k]]);
		}
		printf(" %8.3fs\n", ph->secs - ph->wire_s);
	}
}

static void
report(const opts *o, int tr, phase all[MAX_REPS][PH_COUNT])
{
	char line[PH_COUNT][160];
	double v[MAX_REPS];
	double lo = 0;
	double hi = 0;
	double plain_rate;
	char srvs[16];
	int p;
	int r;

	for (r = 0; r < o->reps; r++) {
		v[r] = (double)all[r][PH_PLAIN].rows / all[r][PH_PLAIN].secs;
	}
	plain_rate = bn_median(v, o->reps);
	printf("\n-- %s, synchronous=%s, %zu dossiers, %zu edited, median of %d --\n",
	    tr_names[tr], o->full_sync ? "FULL" : "NORMAL",
	    o->rows, o->edits, o->reps);
	printf("%-26s %7s %8s %9s %7s %6s %9s %7s %9s\n", "phase", "rows", "secs", "rows/s", "/plain",
	    "reqs", "MB", "server%", "conflicts");
	for (p = 0; p < PH_COUNT; p++) {
		double secs;
		double srv;
		double rate;
		for (r = 0; r < o->reps; r++) {
			v[r] = all[r][p].secs;
		}
		secs = bn_median(v, o->reps);
		for (r = 0; r < o->reps; r++) {
			v[r] = all[r][p].secs > 0 ? all[r][p].server_s / all[r][p].secs : 0;
		}
		srv = bn_median(v, o->reps);
		rate = secs > 0 ? (double)all[0][p].rows / secs : 0;
		if (tr != TR_INPROC || all[0][p].requests == 0) {
			snprintf(srvs, sizeof(srvs), "-");
		} else {
			snprintf(srvs, sizeof(srvs), "%.0f%%", srv * 100);
		}
		printf("%-26s %7" PRIu64 " %8.3f %9.0f %7.2f %6" PRIu64 " %9.2f %7s %9" PRIu64 "\n",
		    phase_names[p], all[0][p].rows, secs, rate, rate / plain_rate, all[0][p].requests,
		    (double)all[0][p].bytes / 1e6, srvs, all[0][p].conflicts);
		/* The ratio as the median of each repetition's own (its phase against
		 * its plain insert), with its range; bytes per change moved. */
		for (r = 0; r < o->reps; r++) {
			double pr = (double)all[r][PH_PLAIN].rows / all[r][PH_PLAIN].secs;
			v[r] = all[r][p].secs > 0 && pr > 0 ? ((double)all[r][p].rows / all[r][p].secs) / pr : 0;
			lo = r == 0 || v[r] < lo ? v[r] : lo;
			hi = r == 0 || v[r] > hi ? v[r] : hi;
		}
		snprintf(line[p], sizeof(line[p]), "summary sync %s %s %s %.0f %.3f %.4f %.3f %.3f %.1f\n",
		    tr_keys[tr], o->full_sync ? "FULL" : "NORMAL", phase_keys[p], rate, bn_median(v, o->reps), secs,
		    lo, hi, all[0][p].rows > 0 ? (double)all[0][p].bytes / (double)all[0][p].rows : 0.0);
	}
	printf("rows = changes moved (pushed + pulled); /plain = rows/s over the plain-insert rows/s "
	       "(target >= 0.5 for push and bootstrap); server%% = share of the time inside srv_handle\n");
	anatomy(o->reps, all);
	for (p = 0; p < PH_COUNT; p++) {
		fputs(line[p], stdout);
	}
}

int
main(int argc, char **argv)
{
	static phase all[MAX_REPS][PH_COUNT];
	opts o;
	bn_row *rows;
	int t;
	int r;
	bool bytes_done;

	if (parse_args(argc, argv, &o) != 0) {
		return 2;
	}
	bytes_done = !o.bytes;
	rows = bn_rows_make(0, o.rows, "83-100");
	if (rows == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		return 1;
	}
	printf("== sync: dossier rows of %zu bytes, server batch budget %zu KiB ==\n",
	    bn_row_bytes(&rows[0]), o.batch_kib ? o.batch_kib : (size_t)SRV_DEFAULT_BATCH / 1024);
	for (t = 0; t < TR_COUNT; t++) {
		if (!o.tr[t]) {
			continue;
		}
		for (r = 0; r < o.reps; r++) {
			if (run_once(&o, rows, t, all[r], !bytes_done && r == 0) != OCOP_OK) {
				com_free(rows);
				return 1;
			}
			bytes_done = true;
			fflush(stdout);
		}
		report(&o, t, all);
		fflush(stdout);
	}
	com_free(rows);
	return 0;
}
