/*
 * integration.files: evidence files with real `ocopd` and `ocop` processes
 * on loopback, through a proxy that counts what crosses the wire and can
 * damage a message on its way (wireproxy.h).
 *
 * A commune attaches a 20 MB scan and a photo offline and syncs; the
 * provincial server is killed with SIGKILL in the middle of the transfer,
 * several times, and the transfer still completes without sending the
 * finished chunks again (the wire's bytes are counted); the provincial
 * office receives both files byte for byte; a chunk damaged in flight, up or
 * down, is refused and sent again; the same file attached to two dossiers is
 * stored and sent once; a bundle limited by size carries what fits and the
 * link brings the rest.
 */
#include "tests/lib/testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util/alloc.h"
#include "tests/integration/wireproxy.h"
#include "tests/lib/enrol.h"
#include "tests/lib/proc.h"

#define CHUNK 65536 /* the server's file_chunk_bytes in these tests */
#define BIG (20u * 1000u * 1000u)
#define PHOTO (300u * 1000u)
#define LIMIT (25u * 1000u * 1000u) /* the server's max_file_bytes in these tests */
#define TOKEN "files-test-token-0123456789abcdef" /* the operator view's token */

typedef struct site {
	const char *name;  /* file stem */
	char id[64];       /* site id */
	char cred[128];    /* credential */
} site;

typedef struct fx {
	char *dir;          /* temp dir, owned */
	char ocop[512];     /* ocop binary */
	char ocopd[512];    /* ocopd binary */
	char data[512];     /* data dir */
	char conf[600];     /* the server's config */
	int port;           /* the server's port */
	int pport;          /* the proxy's port (the sites' server URL) */
	int hport;          /* the server's operator view (/metrics) */
	pid_t server;       /* ocopd */
	wp_proxy *proxy;    /* between the sites and the server */
	site s[2];          /* tt: commune 86-28969; office: province office 86 */
} fx;

/* ===== Processes ===== */

static int
ocop(fx *f, const site *s, char **out, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
ocop(fx *f, const site *s, char **out, const char *fmt, ...)
{
	char args[2048];
	char *o = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = tu_run(&o, 0, "cd %s && OCOP_DB=%s/%s.db OCOP_DATA_DIR=%s %s %s 2>%s/last.err", f->dir, f->dir, s->name,
	    f->data, f->ocop, args, f->dir);
	if (rc == 6) {
		/* Timed out: what the server was doing says why (its log, the last lines). */
		tu_run(NULL, 1, "echo '--- ocopd.log:' >&2; tail -n 30 %s/ocopd.log >&2", f->dir);
	}
	if (out != NULL) {
		*out = o;
	} else {
		if (rc != 0) {
			char path[700];
			char *e;
			snprintf(path, sizeof(path), "%s/last.err", f->dir);
			e = tu_slurp(path);
			print_error("ocop %s (%s) exited %d: %s %s\n", args, s->name, rc, o, e ? e : "");
			com_free(e);
		}
		com_free(o);
	}
	return rc;
}

/* What the last ocop wrote on stderr (caller com_free()s). */
static char *
last_err(fx *f)
{
	char path[700];
	char *e;

	snprintf(path, sizeof(path), "%s/last.err", f->dir);
	e = tu_slurp(path);
	return e != NULL ? e : com_strdup("");
}

/* The first line of a successful ocop's output (an id). */
static void
ocop_id(fx *f, const site *s, char id[40], const char *args)
{
	char *o = NULL;
	int rc = ocop(f, s, &o, "%s", args);

	if (rc != 0) {
		print_error("ocop %s: %s\n", args, o);
	}
	assert_int_equal(rc, 0);
	snprintf(id, 40, "%.36s", o);
	com_free(o);
}

static json_t *
ocop_json(fx *f, const site *s, const char *args)
{
	char *o = NULL;
	json_t *j;
	int rc = ocop(f, s, &o, "%s", args);

	if (rc != 0) {
		print_error("ocop %s exited %d: %s\n", args, rc, o);
	}
	assert_int_equal(rc, 0);
	j = json_loads(o, 0, NULL);
	if (j == NULL) {
		print_error("not JSON from ocop %s: %s\n", args, o);
	}
	assert_non_null(j);
	com_free(o);
	return j;
}

static void
server_start(fx *f)
{
	char log[700];
	char *argv[] = {f->ocopd, "serve", "--config", f->conf, NULL};

	snprintf(log, sizeof(log), "%s/ocopd.log", f->dir);
	setenv("OCOP_DATA_DIR", f->data, 1);
	f->server = tp_spawn(argv, log);
	assert_true(f->server > 0);
	assert_int_equal(tp_wait_port(f->port, 5000), 0);
}

static int
setup(void **state)
{
	static const char *const names[2] = {"tt", "office"};
	static const char *const roles[2] = {"commune", "province"};
	static const char *const scopes[2] = {"86-28969", "86"};
	fx *f = com_calloc(1, sizeof(*f));
	char url[64];
	char pdb[600];
	FILE *c;
	int i;

	f->dir = tu_mkdtemp();
	tu_bin(f->ocop, sizeof(f->ocop), "ocop");
	tu_bin(f->ocopd, sizeof(f->ocopd), "ocopd");
	tu_src(f->data, sizeof(f->data), "data");
	f->port = tp_free_port();
	do {
		f->pport = tp_free_port();
	} while (f->pport == f->port);
	do {
		f->hport = tp_free_port();
	} while (f->hport == f->port || f->hport == f->pport);
	snprintf(pdb, sizeof(pdb), "%s/http-token", f->dir);
	c = fopen(pdb, "w");
	assert_non_null(c);
	fprintf(c, "%s\n", TOKEN);
	fclose(c);
	snprintf(f->conf, sizeof(f->conf), "%s/ocopd.conf", f->dir);
	c = fopen(f->conf, "w");
	assert_non_null(c);
	fprintf(c, "listen = tcp://127.0.0.1:%d\nrole = province\ndb = %s/prov.db\ndata_dir = %s\n"
		   "file_chunk_bytes = %d\nfile_min_free = 0\nmax_file_bytes = %u\nlog_level = warn\n"
		   "http_listen = http://127.0.0.1:%d\nhttp_token_file = %s/http-token\n",
	    f->port, f->dir, f->data, CHUNK, LIMIT, f->hport, f->dir);
	fclose(c);
	if (tu_run(NULL, 1, "%s init --db %s/prov.db --role province --scope 86 >/dev/null", f->ocopd, f->dir) != 0) {
		return -1;
	}
	/* Each site enrolled as an operator does, its server URL the counting proxy's. */
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", f->pport);
	snprintf(pdb, sizeof(pdb), "%s/prov.db", f->dir);
	for (i = 0; i < 2; i++) {
		site *s = &f->s[i];
		char sdb[600];
		te_site ts;

		s->name = names[i];
		snprintf(sdb, sizeof(sdb), "%s/%s.db", f->dir, s->name);
		memset(&ts, 0, sizeof(ts));
		ts.dir = f->dir;
		ts.server_db = pdb;
		ts.site_db = sdb;
		ts.role = roles[i];
		ts.scope = scopes[i];
		ts.name = s->name;
		ts.url = url;
		if (te_site_add(&ts, s->id, s->cred, sizeof(s->cred), NULL) != 0) {
			return -1;
		}
	}
	server_start(f);
	f->proxy = wp_start(f->pport, f->port);
	assert_non_null(f->proxy);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	wp_stop(f->proxy);
	assert_int_equal(tp_stop(f->server, SIGTERM), 0);
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

/* ===== Helpers ===== */

/* A gauge or counter of the server's /metrics (the operator's view), -1 when absent. */
static long long
metric(fx *f, const char *name)
{
	struct sockaddr_in a;
	char req[256];
	char *buf = com_malloc(1 << 20);
	char *line;
	size_t n = 0;
	ssize_t got;
	long long v = -1;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_non_null(buf);
	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)f->hport);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	snprintf(req, sizeof(req),
	    "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nAuthorization: Bearer %s\r\n\r\n", TOKEN);
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (n < (1 << 20) - 1 && (got = read(fd, buf + n, (1 << 20) - 1 - n)) > 0) {
		n += (size_t)got;
	}
	close(fd);
	buf[n] = 0;
	for (line = strtok(buf, "\n"); line != NULL; line = strtok(NULL, "\n")) {
		size_t k = strlen(name);
		if (strncmp(line, name, k) == 0 && line[k] == ' ') {
			v = atoll(line + k + 1);
		}
	}
	com_free(buf);
	return v;
}

/* n pseudo-random bytes into dir/name. */
static void
make_file(fx *f, const char *name, size_t n, unsigned seed)
{
	char path[700];
	unsigned char buf[4096];
	FILE *fp;
	size_t done = 0;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	while (done < n) {
		size_t k = n - done < sizeof(buf) ? n - done : sizeof(buf);
		size_t i;
		for (i = 0; i < k; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (unsigned char)(seed >> 16);
		}
		assert_int_equal(fwrite(buf, 1, k, fp), k);
		done += k;
	}
	fclose(fp);
}

/* A dossier of the commune's, with its subject and product. */
static void
make_dossier(fx *f, char dossier[40])
{
	char subject[40];
	char product[40];
	char args[300];

	ocop_id(f, &f->s[0], subject, "subject add --name 'HTX Bưởi da xanh' --kind htx --unit 86-28969");
	snprintf(args, sizeof(args), "product add --subject %s --name 'Bưởi da xanh' --set 01", subject);
	ocop_id(f, &f->s[0], product, args);
	snprintf(args, sizeof(args), "dossier add --product %s --year 2026 --round 1", product);
	ocop_id(f, &f->s[0], dossier, args);
}

/* Attach dir/name to dossier at the commune; the document's id and its file's SHA-256. */
static void
attach(fx *f, const char *dossier, const char *name, char doc[40], char sha[70])
{
	char args[900];
	json_t *j;

	snprintf(args, sizeof(args), "document add --dossier %s --kind lab_test --title 'Phiếu kiểm nghiệm %s' --file %s/%s",
	    dossier, name, f->dir, name);
	ocop_id(f, &f->s[0], doc, args);
	snprintf(args, sizeof(args), "document show %s --json", doc);
	j = ocop_json(f, &f->s[0], args);
	snprintf(sha, 70, "%s", json_string_value(json_object_get(j, "sha256")));
	assert_string_equal(json_string_value(json_object_get(j, "file")), "present");
	json_decref(j);
}

/* Size of a file, or 0. */
static uint64_t
fsize(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Does site s hold the file of document doc byte for byte like dir/name? */
static bool
same_file(fx *f, const site *s, const char *doc, const char *name)
{
	char out[700];

	snprintf(out, sizeof(out), "%s/%s-%s.out", f->dir, s->name, name);
	unlink(out);
	if (ocop(f, s, NULL, "document get %s --out %s", doc, out) != 0) {
		return false;
	}
	return tu_run(NULL, 1, "cmp -s %s %s/%s", out, f->dir, name) == 0;
}

static void
sleep_us(long us)
{
	struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

	nanosleep(&ts, NULL);
}

/* Wait for a child up to ms; returns its exit status or -1 (still running). */
static int
wait_child(pid_t pid, int ms)
{
	int st = 0;
	int waited;

	for (waited = 0; waited <= ms; waited += 10) {
		if (waitpid(pid, &st, WNOHANG) == pid) {
			return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		}
		sleep_us(10000);
	}
	return -1;
}

/* ===== The cases ===== */

static void
test_a_cut_transfer_resumes_and_every_site_of_the_scope_gets_the_files(void **state)
{
	fx *f = *state;
	char dossier[40];
	char big_doc[40];
	char photo_doc[40];
	char big_sha[70];
	char photo_sha[70];
	char partial[1200];
	char obj[1200];
	char log[700];
	char db[700];
	uint64_t wire;
	json_t *j;
	int kills = 0;
	int k;

	make_dossier(f, dossier);
	make_file(f, "scan.pdf", BIG, 1);
	make_file(f, "label.jpg", PHOTO, 2);
	attach(f, dossier, "scan.pdf", big_doc, big_sha);
	attach(f, dossier, "label.jpg", photo_doc, photo_sha);
	/* Offline, the files wait: two to send. */
	j = ocop_json(f, &f->s[0], "status --json");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "files"), "to_send")), 2);
	json_decref(j);
	/* The rows first, so that the cuts fall in the files. */
	assert_int_equal(ocop(f, &f->s[0], NULL, "sync --no-files"), 0);
	/* The rows do not wait for the files: the office has the dossier's documents already. */
	j = ocop_json(f, &f->s[1], "sync --json");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "files"), "waiting")), 2);
	json_decref(j);
	j = ocop_json(f, &f->s[1], "document list --json");
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "file")), "missing");
	json_decref(j);
	wp_reset(f->proxy);
	snprintf(partial, sizeof(partial), "%s/prov.db.files/partial/%s/%s", f->dir, f->s[0].id, big_sha);
	snprintf(log, sizeof(log), "%s/sync.log", f->dir);
	snprintf(db, sizeof(db), "%s/tt.db", f->dir);
	setenv("OCOP_DB", db, 1);
	snprintf(obj, sizeof(obj), "%s/prov.db.files/objects/%.2s/%s", f->dir, big_sha, big_sha);
	{
		char *argv[] = {f->ocop, "sync", "--timeout", "5", NULL};
		pid_t pid = tp_spawn(argv, log);
		int runs = 1;
		int rc;

		/* Kill the server when it holds a quarter, a half, three quarters of the scan. */
		for (k = 1; k <= 3; k++) {
			uint64_t at = (uint64_t)k * (BIG / 4);
			uint64_t now = 0;
			int waited;

			for (waited = 0; waited < 40000 && (now = fsize(partial)) < at && fsize(obj) != BIG; waited++) {
				int st = 0;

				/* nng's REQ sends a request again over the new connection, so one
				 * run may go on past a cut; one that gave up while the server
				 * restarted (slowly, under a sanitizer) is followed by another,
				 * which resumes from what the server holds, as a site's next sync does. */
				if (pid > 0 && waitpid(pid, &st, WNOHANG) == pid) {
					pid = -1;
				}
				if (pid < 0 && runs < 8) {
					pid = tp_spawn(argv, log);
					runs++;
				}
				sleep_us(250);
			}
			if (now >= at && now < BIG) {
				assert_int_equal(tp_stop(f->server, SIGKILL), 128 + SIGKILL);
				kills++;
				server_start(f);
			}
		}
		rc = pid > 0 ? wait_child(pid, 60000) : 0;
		if (rc < 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		print_message("%d sync runs, the last exited %d, after %d cuts\n", runs, rc, kills);
	}
	unsetenv("OCOP_DB");
	/* At least two cuts landed in the middle of the scan on this machine. */
	assert_true(kills >= 2);
	j = ocop_json(f, &f->s[0], "sync --json");
	json_decref(j);
	j = ocop_json(f, &f->s[0], "status --json");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "files"), "to_send")), 0);
	json_decref(j);
	assert_int_equal(fsize(obj), BIG);
	/* Never from zero, no finished chunk twice: at most the chunk in flight per cut again, plus framing. */
	wire = wp_bytes_up(f->proxy);
	print_message("files up: %llu wire bytes for %u file bytes, %d cuts\n", (unsigned long long)wire, BIG + PHOTO,
	    kills);
	assert_true(wire >= BIG + PHOTO);
	assert_true(wire <= (uint64_t)(BIG + PHOTO) * 101 / 100 + (uint64_t)kills * CHUNK);
	/* The office's scope holds the dossier: it gets both, byte for byte. */
	assert_int_equal(ocop(f, &f->s[1], NULL, "sync"), 0);
	assert_true(same_file(f, &f->s[1], big_doc, "scan.pdf"));
	assert_true(same_file(f, &f->s[1], photo_doc, "label.jpg"));
	j = ocop_json(f, &f->s[1], "document list --json");
	assert_int_equal(json_array_size(j), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(j, 0), "file")), "present");
	json_decref(j);
}

static void
test_a_chunk_damaged_in_flight_is_refused_and_sent_again(void **state)
{
	fx *f = *state;
	char dossier[40];
	char doc[40];
	char sha[70];
	json_t *j;
	json_t *files;

	make_dossier(f, dossier);
	make_file(f, "mau02.pdf", 2 * 1000 * 1000, 3);
	attach(f, dossier, "mau02.pdf", doc, sha);
	assert_int_equal(ocop(f, &f->s[0], NULL, "sync --no-files"), 0);
	/* Up: the fourth large message on its way to the server loses a bit. */
	wp_damage(f->proxy, true, 4, CHUNK);
	j = ocop_json(f, &f->s[0], "sync --json");
	files = json_object_get(j, "files");
	assert_int_equal(json_integer_value(json_object_get(files, "sent")), 1);
	assert_true(json_integer_value(json_object_get(files, "chunks_refused")) >= 1);
	json_decref(j);
	assert_int_equal(wp_damaged(f->proxy), 1);
	/* Down: the fifth large reply to the office loses a bit. */
	wp_damage(f->proxy, false, 5, CHUNK);
	j = ocop_json(f, &f->s[1], "sync --json");
	files = json_object_get(j, "files");
	assert_int_equal(json_integer_value(json_object_get(files, "received")), 1);
	assert_true(json_integer_value(json_object_get(files, "chunks_refused")) >= 1);
	json_decref(j);
	assert_int_equal(wp_damaged(f->proxy), 2);
	assert_true(same_file(f, &f->s[1], doc, "mau02.pdf"));
}

static int
count_objects(const char *dir)
{
	char *o = NULL;
	int n;

	assert_int_equal(tu_run(&o, 0, "find %s/objects -type f | wc -l", dir), 0);
	n = atoi(o);
	com_free(o);
	return n;
}

static void
test_one_file_on_two_dossiers_is_stored_and_sent_once(void **state)
{
	fx *f = *state;
	char d1[40];
	char d2[40];
	char doc1[40];
	char doc2[40];
	char sha1[70];
	char sha2[70];
	char args[300];
	char dir[700];
	json_t *j;

	make_dossier(f, d1);
	j = ocop_json(f, &f->s[0], "product list --json");
	snprintf(args, sizeof(args), "dossier add --product %s --year 2026 --round 2",
	    json_string_value(json_object_get(json_array_get(j, 0), "id")));
	json_decref(j);
	ocop_id(f, &f->s[0], d2, args);
	make_file(f, "dkkd.pdf", 1500 * 1000, 4);
	attach(f, d1, "dkkd.pdf", doc1, sha1);
	attach(f, d2, "dkkd.pdf", doc2, sha2);
	assert_string_equal(sha1, sha2);
	snprintf(dir, sizeof(dir), "%s/tt.db.files", f->dir);
	assert_int_equal(count_objects(dir), 1);
	assert_int_equal(ocop(f, &f->s[0], NULL, "sync --no-files"), 0);
	/* The rows are in, the file not yet: the operator sees one file (not two) and its bytes waiting. */
	assert_int_equal(metric(f, "ocop_files_pending"), 1);
	assert_int_equal(metric(f, "ocop_bytes_pending"), 1500 * 1000);
	wp_reset(f->proxy);
	j = ocop_json(f, &f->s[0], "sync --json");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "files"), "sent")), 1);
	json_decref(j);
	assert_int_equal(metric(f, "ocop_files_pending"), 0);
	assert_int_equal(metric(f, "ocop_bytes_pending"), 0);
	assert_int_equal(metric(f, "ocop_file_bytes_received_total"), 1500 * 1000);
	assert_true(wp_bytes_up(f->proxy) < 1500 * 1000 * 101 / 100);
	wp_reset(f->proxy);
	assert_int_equal(ocop(f, &f->s[1], NULL, "sync"), 0);
	assert_true(wp_bytes_down(f->proxy) < 1500 * 1000 * 102 / 100);
	snprintf(dir, sizeof(dir), "%s/office.db.files", f->dir);
	assert_int_equal(count_objects(dir), 1);
	snprintf(dir, sizeof(dir), "%s/prov.db.files", f->dir);
	assert_int_equal(count_objects(dir), 1);
	assert_true(same_file(f, &f->s[1], doc1, "dkkd.pdf"));
	assert_true(same_file(f, &f->s[1], doc2, "dkkd.pdf"));
}

static void
test_a_bundle_carries_what_fits_and_the_link_brings_the_rest(void **state)
{
	fx *f = *state;
	char dossier[40];
	char doc1[40];
	char doc2[40];
	char sha1[70];
	char sha2[70];
	json_t *j;

	make_dossier(f, dossier);
	make_file(f, "small.pdf", 200 * 1000, 5);
	make_file(f, "large.pdf", 3 * 1000 * 1000, 6);
	attach(f, dossier, "small.pdf", doc1, sha1);
	attach(f, dossier, "large.pdf", doc2, sha2);
	j = ocop_json(f, &f->s[0], "export --out tt.req --files-max 1M --json");
	assert_int_equal(json_integer_value(json_object_get(j, "files")), 1);
	assert_int_equal(json_integer_value(json_object_get(j, "files_left")), 1);
	json_decref(j);
	/* A byte of the scan changed on the stick: the file records are authenticated with the rows, so the
	 * whole file is refused and nothing is written. */
	{
		char path[700];
		char bad[700];
		FILE *fp;
		long size;
		int ch;
		snprintf(path, sizeof(path), "%s/tt.req", f->dir);
		snprintf(bad, sizeof(bad), "%s/bad.req", f->dir);
		assert_int_equal(tu_run(NULL, 1, "cp %s %s", path, bad), 0);
		fp = fopen(bad, "r+b");
		assert_non_null(fp);
		assert_int_equal(fseek(fp, 0, SEEK_END), 0);
		size = ftell(fp);
		assert_true(size > 100000);
		assert_int_equal(fseek(fp, size - 1000, SEEK_SET), 0); /* inside the last chunk, before the MAC */
		ch = fgetc(fp);
		assert_int_equal(fseek(fp, size - 1000, SEEK_SET), 0);
		fputc(ch ^ 0x01, fp);
		fclose(fp);
		assert_int_equal(tu_run(NULL, 1, "cd %s && %s import --config %s --in bad.req --reply bad.rep >/dev/null 2>&1",
				     f->dir, f->ocopd, f->conf),
		    2);
		snprintf(bad, sizeof(bad), "%s/bad.rep", f->dir);
		assert_int_equal(access(bad, F_OK), -1);
	}
	assert_int_equal(tu_run(NULL, 1, "cd %s && %s import --config %s --in tt.req --reply tt.rep >/dev/null", f->dir,
			     f->ocopd, f->conf),
	    0);
	assert_int_equal(ocop(f, &f->s[0], NULL, "import --in tt.rep"), 0);
	j = ocop_json(f, &f->s[0], "status --json");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "files"), "to_send")), 1);
	json_decref(j);
	/* The link brings the rest. */
	j = ocop_json(f, &f->s[0], "sync --json");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "files"), "sent")), 1);
	json_decref(j);
	/* The office by USB: its reply carries both. */
	assert_int_equal(ocop(f, &f->s[1], NULL, "export --out of.req"), 0);
	assert_int_equal(tu_run(NULL, 1, "cd %s && %s import --config %s --in of.req --reply of.rep >/dev/null", f->dir,
			     f->ocopd, f->conf),
	    0);
	j = ocop_json(f, &f->s[1], "import --in of.rep --json");
	assert_int_equal(json_integer_value(json_object_get(j, "files")), 2);
	json_decref(j);
	assert_true(same_file(f, &f->s[1], doc1, "small.pdf"));
	assert_true(same_file(f, &f->s[1], doc2, "large.pdf"));
}

static void
test_a_backup_holds_the_files_and_a_restore_puts_them_back(void **state)
{
	fx *f = *state;
	char dossier[40];
	char doc[40];
	char sha[70];
	char dir[700];

	make_dossier(f, dossier);
	make_file(f, "giay-chung-nhan.pdf", 700 * 1000, 7);
	attach(f, dossier, "giay-chung-nhan.pdf", doc, sha);
	assert_int_equal(ocop(f, &f->s[0], NULL, "sync"), 0);
	/* Taken while the server runs: the database copy, and its files beside it. */
	assert_int_equal(tu_run(NULL, 1, "cd %s && %s backup --config %s --out bk.db >/dev/null", f->dir, f->ocopd,
			     f->conf),
	    0);
	snprintf(dir, sizeof(dir), "%s/bk.db.files", f->dir);
	assert_int_equal(count_objects(dir), 1);
	/* The disk dies: the database and the files are gone; the backup comes back. */
	assert_int_equal(tp_stop(f->server, SIGTERM), 0);
	assert_int_equal(tu_run(NULL, 1, "cd %s && rm -rf prov.db prov.db-wal prov.db-shm prov.db.files", f->dir), 0);
	assert_int_equal(tu_run(NULL, 1, "cd %s && %s restore --config %s --in bk.db >/dev/null", f->dir, f->ocopd,
			     f->conf),
	    0);
	snprintf(dir, sizeof(dir), "%s/prov.db.files", f->dir);
	assert_int_equal(count_objects(dir), 1);
	server_start(f);
	assert_int_equal(ocop(f, &f->s[1], NULL, "sync"), 0);
	assert_true(same_file(f, &f->s[1], doc, "giay-chung-nhan.pdf"));
}

static void
test_a_file_above_the_limit_is_refused_and_get_never_overwrites(void **state)
{
	fx *f = *state;
	char dossier[40];
	char doc[40];
	char sha[70];
	char *out = NULL;
	char path[700];
	json_t *j;

	make_dossier(f, dossier);
	/* The first sync tells the site the server's limit. */
	assert_int_equal(ocop(f, &f->s[0], NULL, "sync"), 0);
	make_file(f, "too-big.pdf", LIMIT + 1, 8);
	assert_int_equal(ocop(f, &f->s[0], &out, "document add --dossier %s --kind scan --title 'Bản scan' --file %s/too-big.pdf",
			     dossier, f->dir),
	    2);
	com_free(out);
	out = last_err(f);
	assert_non_null(strstr(out, "more than the limit of 25000000 bytes per file"));
	com_free(out);
	j = ocop_json(f, &f->s[0], "document list --json");
	assert_int_equal(json_array_size(j), 0);
	json_decref(j);
	snprintf(path, sizeof(path), "%s/tt.db.files", f->dir);
	assert_int_equal(count_objects(path), 0);
	/* A file that fits, written back out: never over an existing file without --force. */
	make_file(f, "ok.pdf", 1000, 9);
	attach(f, dossier, "ok.pdf", doc, sha);
	assert_int_equal(ocop(f, &f->s[0], NULL, "document get %s --out %s/back.pdf", doc, f->dir), 0);
	assert_int_equal(ocop(f, &f->s[0], &out, "document get %s --out %s/back.pdf", doc, f->dir), 2);
	com_free(out);
	out = last_err(f);
	assert_non_null(strstr(out, "exists: add --force"));
	com_free(out);
	assert_int_equal(ocop(f, &f->s[0], NULL, "document get %s --out %s/back.pdf --force", doc, f->dir), 0);
	assert_int_equal(tu_run(NULL, 1, "cmp -s %s/ok.pdf %s/back.pdf", f->dir, f->dir), 0);
	/* A document without a file says so. */
	snprintf(path, sizeof(path), "document add --dossier %s --kind mau01 --title 'Phiếu đăng ký'", dossier);
	ocop_id(f, &f->s[0], doc, path);
	assert_int_equal(ocop(f, &f->s[0], &out, "document get %s --out %s/none.pdf", doc, f->dir), 2);
	com_free(out);
	out = last_err(f);
	assert_non_null(strstr(out, "names no file"));
	com_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_cut_transfer_resumes_and_every_site_of_the_scope_gets_the_files, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_a_chunk_damaged_in_flight_is_refused_and_sent_again, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_one_file_on_two_dossiers_is_stored_and_sent_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_bundle_carries_what_fits_and_the_link_brings_the_rest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_backup_holds_the_files_and_a_restore_puts_them_back, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_file_above_the_limit_is_refused_and_get_never_overwrites, setup,
		teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
