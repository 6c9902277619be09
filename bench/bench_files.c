/*
 * bench_files.c: what moving an evidence file costs (BENCHMARKS.md section 6).
 *
 * One process: a provincial server (srv_handle behind srv_listener, its file
 * store on disk) and sites dialling it over nng on tcp://127.0.0.1, every
 * replica and file store in one fresh directory on the same disk. A file of
 * --mb megabytes (pseudo-random: incompressible) is:
 *   - copied plainly on the same disk (read, write, fsync): the baseline;
 *   - added at a commune (`ocop document add --file`: copied into the store
 *     while hashed, synced, renamed in);
 *   - sent to the server (the file phase of a sync: FILES, then FILE_PUT
 *     chunks, the server writing, checking the whole and renaming it in);
 *   - fetched by the province's office (FILE_GET chunks, the same checks).
 * The transport counts every message both ways; nng adds an 8-byte length and
 * a 4-byte request id to each, counted too. Then a cut: the reply to one
 * chunk request is lost (the server did serve it) and the next run resumes;
 * what was sent twice is counted, up and down.
 * Prints figures; asserts nothing (DESIGN.md section 8).
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/harness.h"
#include "client/files.h"
#include "client/sync.h"
#include "common/link/dial.h"
#include "common/ocop/policy.h"
#include "common/store/blob.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/files.h"
#include "server/files.h"
#include "server/listener.h"
#include "server/registry.h"
#include "server/service.h"

#define NET_TIMEOUT_MS 120000 /* so that nng never resends a request during a run */
#define NNG_FRAME 12u         /* nng's TCP length (8) and REQ/REP request id (4) per message */

/* ===== Counting transport ===== */

typedef struct flink {
	cli_transport inner;     /* nng */
	uint64_t wire_up;        /* message bytes to the server, framing included */
	uint64_t wire_down;      /* and back */
	uint64_t put_bytes;      /* FILE_PUT chunk payloads sent (every attempt) */
	uint64_t data_bytes;     /* FILE_DATA chunk payloads served (every reply, lost ones too) */
	int lose_after;          /* chunk requests after which one reply is lost (0: never) */
	int chunks;              /* chunk requests so far */
} flink;

static size_t
flink_chunk(const uint8_t *p, size_t len)
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
flink_roundtrip(void *arg, const uint8_t *req, size_t len, com_buf *reply)
{
	flink *l = arg;
	size_t mark = reply->len;
	size_t up = flink_chunk(req, len);
	bool chunk = len > 2 && (req[2] == PROTO_MSG_FILE_PUT || req[2] == PROTO_MSG_FILE_GET);
	int rv;

	l->wire_up += len + NNG_FRAME;
	l->put_bytes += up;
	rv = l->inner.roundtrip(l->inner.arg, req, len, reply);
	if (rv == OCOP_OK) {
		l->wire_down += reply->len - mark + NNG_FRAME;
		l->data_bytes += flink_chunk(reply->data + mark, reply->len - mark);
	}
	if (rv == OCOP_OK && chunk && l->lose_after > 0 && ++l->chunks == l->lose_after) {
		/* The server served it; its reply is lost on the way back. */
		reply->len = mark;
		l->lose_after = 0;
		return OCOP_ETIMEDOUT;
	}
	return rv;
}

/* ===== Set-up ===== */

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

/* Remove a directory tree of plain files and directories. */
static void
rm_tree(const char *path)
{
	char sub[2048];
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (lstat(path, &st) != 0) {
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	if ((d = opendir(path)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0 &&
			    snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name) < (int)sizeof(sub)) {
				rm_tree(sub);
			}
		}
		closedir(d);
	}
	rmdir(path);
}

/* Write mb megabytes of a fast pseudo-random stream to path. */
static int
make_file(const char *path, unsigned mb, unsigned seed)
{
	uint64_t x = 0x9e3779b97f4a7c15ull ^ seed;
	uint64_t *buf = com_malloc(1000000);
	FILE *f = fopen(path, "wb");
	unsigned i;
	size_t k;
	int rv = 0;

	if (f == NULL || buf == NULL) {
		rv = -1;
	}
	for (i = 0; i < mb && rv == 0; i++) {
		for (k = 0; k < 1000000 / sizeof(*buf); k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			buf[k] = x;
		}
		if (fwrite(buf, 1, 1000000, f) != 1000000) {
			rv = -1;
		}
	}
	if (f != NULL && (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0)) {
		rv = -1;
	}
	com_free(buf);
	return rv;
}

/* The baseline: a plain copy on the same disk (1 MiB reads and writes, then fsync). */
static double
plain_copy(const char *from, const char *to)
{
	uint8_t *buf = com_malloc(1u << 20);
	int in = open(from, O_RDONLY);
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	double t0 = bn_now();
	ssize_t n;

	while (buf != NULL && in >= 0 && out >= 0 && (n = read(in, buf, 1u << 20)) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			break;
		}
	}
	if (out >= 0) {
		fsync(out);
		close(out);
	}
	if (in >= 0) {
		close(in);
	}
	com_free(buf);
	return bn_now() - t0;
}

typedef struct world {
	char *dir;            /* the run's directory */
	ocp_policy *spol;     /* server rules */
	ocp_policy *cpol;     /* site rules */
	sto_db *server;       /* the province */
	srv_service svc;      /* its service */
	srv_files *files;     /* its files */
	srv_listener *lst;    /* nng */
	char url[64];         /* where it listens */
} world;

typedef struct site {
	sto_db *db;           /* replica */
	sto_blobs *b;         /* its files */
	char cred[SRV_CREDENTIAL_LEN + 1];
	lnk_dialer *nng;      /* its link (plain tcp: the figures are the protocol's, not TLS's) */
	flink l;              /* counting over nng */
} site;

static int
site_open(world *w, site *s, const char *name, const char *role, const char *scope)
{
	char id[37];
	char err[256];
	bn_tuning tu = {true, 0};
	int rv;

	memset(s, 0, sizeof(*s));
	if ((rv = srv_registry_add(w->server, NULL, role, scope, name, id, s->cred)) != OCOP_OK ||
	    (rv = bn_replica_open(&s->db, w->dir, name, id, role, scope, &tu)) != OCOP_OK) {
		return rv;
	}
	sto_set_policy(s->db, ocp_policy_store(w->cpol));
	if ((rv = cli_files_open(s->db, &s->b, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "bench: %s: %s\n", name, err);
		return rv;
	}
	{
		lnk_dial_opts d;
		memset(&d, 0, sizeof(d));
		d.url = w->url;
		d.timeout_ms = NET_TIMEOUT_MS;
		if ((rv = lnk_dialer_open(&s->nng, &d, err, sizeof(err))) != OCOP_OK) {
			fprintf(stderr, "bench: %s: cannot dial %s: %s\n", name, w->url, err);
			return rv;
		}
	}
	s->l.inner = lnk_dialer_transport(s->nng);
	return OCOP_OK;
}

static void
site_close(site *s)
{
	lnk_dialer_close(s->nng);
	sto_blobs_close(s->b);
	sto_close(s->db);
}

/* The rows first (a plain sync), as `ocop sync` does before the files. */
static int
site_rows(site *s, const world *w)
{
	cli_transport t = lnk_dialer_transport(s->nng);
	cli_sync_opts o;
	cli_sync_stats st;
	char err[700];
	int rv;

	memset(&o, 0, sizeof(o));
	o.credential = s->cred;
	if ((rv = cli_sync_once(s->db, ocp_policy_store(w->cpol), &t, &o, &st, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "bench: sync: %s\n", err);
	}
	return rv;
}

/* The file phase, timed, over the counting link. */
static int
site_files(site *s, const world *w, double *secs)
{
	cli_transport t = {flink_roundtrip, &s->l};
	cli_files_opts o;
	sto_xfer_stats st;
	char err[700];
	double t0 = bn_now();
	int rv;

	memset(&o, 0, sizeof(o));
	o.credential = s->cred;
	o.send = true;
	o.fetch = true;
	rv = cli_files_sync(s->db, ocp_policy_store(w->cpol), s->b, &t, &o, &st, err, sizeof(err));
	*secs = bn_now() - t0;
	if (rv != OCOP_OK && rv != OCOP_ETIMEDOUT) {
		fprintf(stderr, "bench: files: %s\n", err);
	}
	return rv;
}

/* A dossier of unit 86-100 with a document naming the file at path, added to the site's store. */
static int
attach(site *s, const char *path, double *secs)
{
	const char *dc[] = {"legal_basis", "status", "epoch", "round_year", "round_no", "unit_code", "province_code"};
	const char *dv[] = {"qd26-2026", "draft", "0", "2026", "1", "86-100", "86"};
	const char *cols[] = {"dossier_id", "kind", "title", "sha256", "size"};
	const char *vals[5];
	uint8_t sha[STO_SHA_LEN];
	char hex[STO_SHA_HEX];
	char size_s[32];
	char dossier[37];
	char doc[37];
	uint64_t size = 0;
	double t0 = bn_now();
	int rv;

	if ((rv = sto_blobs_add(s->b, path, UINT64_C(1) << 40, sha, &size, NULL)) != OCOP_OK) {
		fprintf(stderr, "bench: add: %s\n", sto_blobs_errmsg(s->b));
		return rv;
	}
	*secs = bn_now() - t0;
	proto_sha_hex(sha, hex);
	snprintf(size_s, sizeof(size_s), "%llu", (unsigned long long)size);
	vals[1] = "scan";
	vals[2] = "Hồ sơ scan";
	vals[3] = hex;
	vals[4] = size_s;
	if ((rv = sto_row_insert(s->db, "dossier", dc, dv, 7, dossier)) != OCOP_OK) {
		return rv;
	}
	vals[0] = dossier;
	return sto_row_insert(s->db, "document", cols, vals, 5, doc);
}

static int
world_open(world *w, unsigned chunk_kib)
{
	srv_files_opts fo;
	char err[512];
	bn_tuning tu = {true, 0};
	int tries;
	int rv;

	memset(w, 0, sizeof(*w));
	if ((w->dir = bn_dir_make()) == NULL) {
		return OCOP_EIO;
	}
	if ((rv = ocp_policy_open(&w->spol, OCOP_BENCH_DATA_DIR, true, err, sizeof(err))) != OCOP_OK ||
	    (rv = ocp_policy_open(&w->cpol, OCOP_BENCH_DATA_DIR, false, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "bench: %s\n", err);
		return rv;
	}
	if ((rv = bn_replica_open(&w->server, w->dir, "server.db", NULL, "province", "86", &tu)) != OCOP_OK) {
		return rv;
	}
	sto_set_policy(w->server, ocp_policy_store(w->spol));
	srv_service_init(&w->svc, w->server, ocp_policy_store(w->spol), NULL);
	srv_files_defaults(&fo);
	fo.chunk_bytes = chunk_kib * 1024u;
	fo.max_file_bytes = UINT64_C(1) << 40;
	fo.min_free_bytes = 0;
	fo.partial_quota = UINT64_C(1) << 40;
	if ((rv = srv_files_open(&w->files, w->server, NULL, &fo, err, sizeof(err))) != OCOP_OK) {
		fprintf(stderr, "bench: %s\n", err);
		return rv;
	}
	w->svc.files = w->files;
	rv = OCOP_ENET;
	for (tries = 0; tries < 5 && rv != OCOP_OK; tries++) {
		snprintf(w->url, sizeof(w->url), "tcp://127.0.0.1:%d", free_port());
		srv_listen_opts lo;
		memset(&lo, 0, sizeof(lo));
		lo.url = w->url;
		lo.workers = 4;
		lo.max_message = PROTO_MAX_MESSAGE;
		rv = srv_listener_open(&w->lst, &w->svc, &lo, err, sizeof(err));
	}
	return rv;
}

static void
world_close(world *w)
{
	srv_listener_close(w->lst);
	srv_files_close(w->files);
	sto_close(w->server);
	ocp_policy_free(w->spol);
	ocp_policy_free(w->cpol);
	if (w->dir != NULL && getenv("OCOP_BENCH_KEEP") == NULL) {
		rm_tree(w->dir);
	}
	com_free(w->dir);
}

/* ===== One repetition ===== */

typedef struct figures {
	double copy_s, add_s, up_s, down_s; /* seconds */
	double up_ratio, down_ratio;        /* wire bytes / file bytes */
	int64_t resent_down, resent_up;     /* chunk bytes sent twice after a lost reply */
} figures;

static int
run_once(unsigned mb, unsigned chunk_kib, figures *fg)
{
	world w;
	site a;
	site b;
	site c;
	site d;
	char scan[1200];
	char scan2[1200];
	char copy[1200];
	uint64_t bytes = (uint64_t)mb * 1000000u;
	double secs = 0;
	int rv;

	memset(fg, 0, sizeof(*fg));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	memset(&c, 0, sizeof(c));
	memset(&d, 0, sizeof(d));
	if ((rv = world_open(&w, chunk_kib)) != OCOP_OK) {
		world_close(&w);
		return rv;
	}
	snprintf(scan, sizeof(scan), "%s/scan.bin", w.dir);
	snprintf(scan2, sizeof(scan2), "%s/scan2.bin", w.dir);
	snprintf(copy, sizeof(copy), "%s/copy.bin", w.dir);
	if (make_file(scan, mb, 1) != 0 || make_file(scan2, mb / 4 > 0 ? mb / 4 : 1, 2) != 0) {
		fprintf(stderr, "bench: cannot write %s\n", scan);
		rv = OCOP_EIO;
		goto out;
	}
	fg->copy_s = plain_copy(scan, copy);
	unlink(copy);
	if ((rv = site_open(&w, &a, "a.db", "commune", "86-100")) != OCOP_OK ||
	    (rv = site_open(&w, &b, "b.db", "province", "86")) != OCOP_OK ||
	    (rv = site_open(&w, &c, "c.db", "province", "86")) != OCOP_OK ||
	    (rv = site_open(&w, &d, "d.db", "commune", "86-100")) != OCOP_OK) {
		goto out;
	}
	/* The commune attaches the scan and sends it (rows first, untimed). */
	if ((rv = attach(&a, scan, &fg->add_s)) != OCOP_OK || (rv = site_rows(&a, &w)) != OCOP_OK ||
	    (rv = site_files(&a, &w, &fg->up_s)) != OCOP_OK) {
		goto out;
	}
	fg->up_ratio = (double)(a.l.wire_up + a.l.wire_down) / (double)bytes;
	/* The office fetches it. */
	if ((rv = site_rows(&b, &w)) != OCOP_OK || (rv = site_files(&b, &w, &fg->down_s)) != OCOP_OK) {
		goto out;
	}
	fg->down_ratio = (double)(b.l.wire_up + b.l.wire_down) / (double)bytes;
	/* A cut down: the reply to a chunk in the middle is lost; the next run resumes. */
	c.l.lose_after = (int)(bytes / (chunk_kib * 1024u) / 2) + 1;
	if ((rv = site_rows(&c, &w)) != OCOP_OK || site_files(&c, &w, &secs) != OCOP_ETIMEDOUT ||
	    (rv = site_files(&c, &w, &secs)) != OCOP_OK) {
		fprintf(stderr, "bench: the cut download did not resume\n");
		rv = rv != OCOP_OK ? rv : OCOP_EINTERNAL;
		goto out;
	}
	fg->resent_down = (int64_t)c.l.data_bytes - (int64_t)bytes;
	/* A cut up: another commune sends a second scan; one FILE_PUT's reply is lost. */
	d.l.lose_after = (int)((bytes / 4) / (chunk_kib * 1024u) / 2) + 1;
	if ((rv = attach(&d, scan2, &secs)) != OCOP_OK || (rv = site_rows(&d, &w)) != OCOP_OK ||
	    site_files(&d, &w, &secs) != OCOP_ETIMEDOUT || (rv = site_files(&d, &w, &secs)) != OCOP_OK) {
		fprintf(stderr, "bench: the cut upload did not resume\n");
		rv = rv != OCOP_OK ? rv : OCOP_EINTERNAL;
		goto out;
	}
	fg->resent_up = (int64_t)d.l.put_bytes - (int64_t)((mb / 4 > 0 ? mb / 4 : 1) * 1000000u);
out:
	site_close(&d);
	site_close(&c);
	site_close(&b);
	site_close(&a);
	world_close(&w);
	return rv;
}

static int
cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x;
	double b = *(const double *)y;

	return (a > b) - (a < b);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n == 0 ? 0 : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {{"mb", required_argument, NULL, 'm'},
	    {"chunk-kib", required_argument, NULL, 'c'}, {"reps", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	unsigned mb = 200;
	unsigned chunk_kib = 1024;
	int reps = 3;
	double copy[16], add[16], up[16], down[16], rup[16], rdown[16], sup[16], sdown[16];
	figures fg;
	int opt;
	int i;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (opt) {
		case 'm': mb = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'c': chunk_kib = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'r': reps = atoi(optarg); break;
		default:
			printf("usage: bench_files [--mb N] [--chunk-kib K] [--reps R]\n"
			       "  a file of N megabytes (default 200) in chunks of K KiB (default 1024, the\n"
			       "  server's default), R repetitions (default 3, medians printed)\n");
			return opt == 'h' ? 0 : 2;
		}
	}
	if (mb == 0 || chunk_kib == 0 || chunk_kib > PROTO_CHUNK_MAX / 1024 || reps < 1 || reps > 16) {
		fprintf(stderr, "bench_files: --mb > 0, --chunk-kib 1..4096, --reps 1..16\n");
		return 2;
	}
	for (i = 0; i < reps; i++) {
		if (run_once(mb, chunk_kib, &fg) != OCOP_OK) {
			fprintf(stderr, "bench_files: repetition %d failed\n", i + 1);
			return 1;
		}
		copy[i] = (double)mb / fg.copy_s;
		add[i] = (double)mb / fg.add_s;
		up[i] = (double)mb / fg.up_s;
		down[i] = (double)mb / fg.down_s;
		rup[i] = fg.up_ratio;
		rdown[i] = fg.down_ratio;
		sup[i] = (double)fg.resent_up;
		sdown[i] = (double)fg.resent_down;
	}
	{
		double c = median(copy, reps);
		printf("== evidence files: a %u MB file, %u KiB chunks, nng on tcp://127.0.0.1, median of %d ==\n", mb,
		    chunk_kib, reps);
		printf("%-44s %9.1f MB/s\n", "plain copy on the same disk (+fsync)", c);
		printf("%-44s %9.1f MB/s   %5.2f of the copy\n", "add: ocop document add --file", median(add, reps),
		    median(add, reps) / c);
		printf("%-44s %9.1f MB/s   %5.2f of the copy\n", "upload: site -> server (file phase)", median(up, reps),
		    median(up, reps) / c);
		printf("%-44s %9.1f MB/s   %5.2f of the copy\n", "download: server -> site (file phase)",
		    median(down, reps), median(down, reps) / c);
		printf("%-44s %9.4f          (goal <= 1.01)\n", "wire bytes / file bytes, upload", median(rup, reps));
		printf("%-44s %9.4f          (goal <= 1.01)\n", "wire bytes / file bytes, download", median(rdown, reps));
		printf("%-44s %9.0f bytes    (goal <= one chunk: %u)\n", "re-sent after a cut, download",
		    median(sdown, reps), chunk_kib * 1024u);
		printf("%-44s %9.0f bytes    (goal <= one chunk: %u)\n", "re-sent after a cut, upload", median(sup, reps),
		    chunk_kib * 1024u);
		printf("summary files: copy %.1f MB/s; up %.2f; down %.2f of the copy; wire %.4f/%.4f; resent %.0f/%.0f\n",
		    c, median(up, reps) / c, median(down, reps) / c, median(rup, reps), median(rdown, reps),
		    median(sup, reps), median(sdown, reps));
	}
	return 0;
}
