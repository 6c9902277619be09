/*
 * integration.tls: trusted links between real processes over
 * tls+tcp://127.0.0.1. A provincial server with its own CA (`ocopd ca init`)
 * serves sites enrolled from their enrolment files; each way a link must be
 * refused is refused, with its reason in the server's log and its own exit
 * code at the site: a certificate of another CA, an expired one, another
 * site's, a revoked site, a rotated certificate, a plain client; guessing
 * credentials gets an address blocked and the log stays short. The national
 * link runs over mutual TLS too. And `ocop sync` tells connection refused,
 * unknown host, TLS failure and time-out apart, prints JSON when it fails, and
 * stops at once on Ctrl-C. A recording relay between the ends (site to
 * province, province to nation) sees no dossier text and no secret.
 */
#include "tests/lib/testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
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

#include "common/link/pki.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "tests/lib/enrol.h"
#include "tests/lib/proc.h"

typedef struct fx {
	char *dir;         /* temp dir, owned */
	char ocop[512];    /* programs */
	char ocopd[512];
	char data[512];    /* data dir */
	int port;          /* the province server's port */
	char url[64];      /* tls+tcp://127.0.0.1:port */
	pid_t server;      /* ocopd serve */
	char a[37];        /* site a (commune 83-100) */
	char b[37];        /* site b (commune 83-100) */
	char a_cred[129];  /* a's credential */
	char b_enrol[600]; /* b's enrolment file */
} fx;

/* Run ocop at site db (a file stem in the temp dir); output (stdout+stderr) in *out when out is not NULL. */
static int
ocop(fx *f, const char *db, char **out, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
ocop(fx *f, const char *db, char **out, const char *fmt, ...)
{
	char args[2048];
	char *o = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = tu_run(&o, 1, "cd %s && OCOP_DB=%s/%s.db OCOP_DATA_DIR=%s %s %s", f->dir, f->dir, db, f->data, f->ocop,
	    args);
	if (out != NULL) {
		*out = o;
	} else {
		com_free(o);
	}
	return rc;
}

static int
ocopd(fx *f, char **out, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
ocopd(fx *f, char **out, const char *fmt, ...)
{
	char args[2048];
	char *o = NULL;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	rc = tu_run(&o, 1, "cd %s && OCOP_DATA_DIR=%s %s %s", f->dir, f->data, f->ocopd, args);
	if (out != NULL) {
		*out = o;
	} else {
		if (rc != 0) {
			print_error("ocopd %s: %s\n", args, o);
		}
		com_free(o);
	}
	return rc;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Does the file in the temp dir contain text? */
static bool
log_has(fx *f, const char *file, const char *text)
{
	char path[700];
	char *s;
	bool yes;

	snprintf(path, sizeof(path), "%s/%s", f->dir, file);
	s = tu_slurp(path);
	yes = s != NULL && strstr(s, text) != NULL;
	com_free(s);
	return yes;
}

/* How many lines of the file contain text. */
static int
log_count(fx *f, const char *file, const char *text)
{
	char path[700];
	char *s;
	char *p;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", f->dir, file);
	s = tu_slurp(path);
	for (p = s; p != NULL && (p = strstr(p, text)) != NULL; p += strlen(text)) {
		n++;
	}
	com_free(s);
	return n;
}

/*
 * Wait until the log has text (the server logs on its own threads), up to
 * 15 s: under a sanitizer on a loaded machine 3 s was once not enough, and a
 * line that comes returns at once.
 */
static bool
log_wait(fx *f, const char *file, const char *text)
{
	int i;

	for (i = 0; i < 750; i++) {
		if (log_has(f, file, text)) {
			return true;
		}
		sleep_ms(20);
	}
	return false;
}

static pid_t
serve(fx *f, const char *db, const char *role, int port, const char *listen, const char *log)
{
	char dbp[600];
	char logp[600];
	char url[128];
	pid_t pid;

	snprintf(dbp, sizeof(dbp), "%s/%s", f->dir, db);
	snprintf(logp, sizeof(logp), "%s/%s", f->dir, log);
	snprintf(url, sizeof(url), "%s", listen);
	{
		char *argv[] = {f->ocopd, "serve", "--db", dbp, "--role", (char *)role, "--listen", url, NULL};
		pid = tp_spawn(argv, logp);
	}
	if (pid < 0 || tp_wait_port(port, 5000) != 0) {
		return -1;
	}
	return pid;
}

/* Register a site at the province and enrol its replica from the enrolment file. */
static int
site(fx *f, const char *name, char id[37], char *cred, size_t credcap, char *enrol)
{
	char pdb[600];
	char sdb[600];
	te_site ts;

	snprintf(pdb, sizeof(pdb), "%s/prov.db", f->dir);
	snprintf(sdb, sizeof(sdb), "%s/%s.db", f->dir, name);
	memset(&ts, 0, sizeof(ts));
	ts.dir = f->dir;
	ts.server_db = pdb;
	ts.site_db = sdb;
	ts.role = "commune";
	ts.scope = "83-100";
	ts.name = name;
	return te_site_add(&ts, id, cred, credcap, enrol);
}

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));

	f->dir = tu_mkdtemp();
	tu_bin(f->ocop, sizeof(f->ocop), "ocop");
	tu_bin(f->ocopd, sizeof(f->ocopd), "ocopd");
	tu_src(f->data, sizeof(f->data), "data");
	setenv("OCOP_DATA_DIR", f->data, 1);
	f->port = tp_free_port();
	snprintf(f->url, sizeof(f->url), "tls+tcp://127.0.0.1:%d", f->port);
	if (ocopd(f, NULL, "init --db prov.db --role province --scope 83") != 0 ||
	    ocopd(f, NULL, "ca init --db prov.db --dir ca --host 127.0.0.1,localhost --url %s", f->url) != 0 ||
	    site(f, "a", f->a, f->a_cred, sizeof(f->a_cred), NULL) != 0 ||
	    site(f, "b", f->b, NULL, 0, f->b_enrol) != 0) {
		return -1;
	}
	f->server = serve(f, "prov.db", "province", f->port, f->url, "prov.log");
	if (f->server < 0) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	assert_int_equal(tp_stop(f->server, SIGTERM), 0);
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

/* The file's permission bits. */
static unsigned
mode_of(fx *f, const char *name)
{
	char path[700];
	struct stat sb;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	if (stat(path, &sb) != 0) {
		return 07777;
	}
	return (unsigned)(sb.st_mode & 07777);
}

/* Write text to a file in the temp dir with the given mode. */
static void
put_file(fx *f, const char *name, const char *text, mode_t mode)
{
	char path[700];
	FILE *o;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	o = fopen(path, "w");
	assert_non_null(o);
	fputs(text, o);
	fclose(o);
	assert_int_equal(chmod(path, mode), 0);
}

/* Read a member of an enrolment file (a PEM text). Caller frees with com_free. */
static char *
enrol_get(const char *path, const char *key)
{
	json_t *j = json_load_file(path, 0, NULL);
	char *v;

	assert_non_null(j);
	v = com_strdup(json_string_value(json_object_get(j, key)));
	json_decref(j);
	return v;
}

/* ===== A recording relay ===== */

#define RELAY_PAIRS 16

/*
 * A TCP relay on 127.0.0.1 in front of a server port: it forwards every
 * connection both ways and records every byte that crosses it, as anyone on
 * the path could.
 */
typedef struct relay {
	int lfd;                 /* listening socket */
	int port;                /* its port */
	int target;              /* the server's port */
	pthread_t thr;
	volatile int stop;
	pthread_mutex_t mtx;
	com_buf seen;            /* every byte, both ways (guarded by mtx) */
	int connections;         /* connections relayed */
	int fds[RELAY_PAIRS][2]; /* open pairs: client side, server side; -1 when unused */
} relay;

static void
relay_drop(relay *r, int i)
{
	close(r->fds[i][0]);
	close(r->fds[i][1]);
	r->fds[i][0] = r->fds[i][1] = -1;
}

static void *
relay_main(void *arg)
{
	relay *r = arg;

	while (!r->stop) {
		struct pollfd p[1 + 2 * RELAY_PAIRS];
		int idx[1 + 2 * RELAY_PAIRS];
		int n = 0;
		int i;

		p[n].fd = r->lfd;
		p[n].events = POLLIN;
		idx[n++] = -1;
		for (i = 0; i < RELAY_PAIRS; i++) {
			if (r->fds[i][0] >= 0) {
				p[n].fd = r->fds[i][0];
				p[n].events = POLLIN;
				idx[n++] = 2 * i;
				p[n].fd = r->fds[i][1];
				p[n].events = POLLIN;
				idx[n++] = 2 * i + 1;
			}
		}
		if (poll(p, (nfds_t)n, 50) <= 0) {
			continue;
		}
		if (p[0].revents & POLLIN) {
			int c = accept(r->lfd, NULL, NULL);
			int sfd = socket(AF_INET, SOCK_STREAM, 0);
			struct sockaddr_in a;
			memset(&a, 0, sizeof(a));
			a.sin_family = AF_INET;
			a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			a.sin_port = htons((unsigned short)r->target);
			for (i = 0; i < RELAY_PAIRS && r->fds[i][0] >= 0; i++) {
			}
			if (c >= 0 && sfd >= 0 && i < RELAY_PAIRS && connect(sfd, (struct sockaddr *)&a, sizeof(a)) == 0) {
				r->fds[i][0] = c;
				r->fds[i][1] = sfd;
				r->connections++;
			} else {
				close(c);
				close(sfd);
			}
		}
		for (i = 1; i < n; i++) {
			int pair = idx[i] / 2;
			int side = idx[i] % 2;
			char buf[16384];
			ssize_t got;
			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)) || r->fds[pair][0] < 0) {
				continue;
			}
			got = read(r->fds[pair][side], buf, sizeof(buf));
			if (got <= 0) {
				relay_drop(r, pair);
				continue;
			}
			pthread_mutex_lock(&r->mtx);
			assert_int_equal(com_buf_append(&r->seen, buf, (size_t)got), OCOP_OK);
			pthread_mutex_unlock(&r->mtx);
			if (write(r->fds[pair][1 - side], buf, (size_t)got) != got) {
				relay_drop(r, pair);
			}
		}
	}
	return NULL;
}

static void
relay_start(relay *r, int target)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int one = 1;
	int i;

	memset(r, 0, sizeof(*r));
	r->target = target;
	for (i = 0; i < RELAY_PAIRS; i++) {
		r->fds[i][0] = r->fds[i][1] = -1;
	}
	com_buf_init(&r->seen);
	pthread_mutex_init(&r->mtx, NULL);
	r->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(r->lfd >= 0);
	setsockopt(r->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(r->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(r->lfd, 16), 0);
	assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&a, &len), 0);
	r->port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&r->thr, NULL, relay_main, r), 0);
}

static void
relay_stop(relay *r)
{
	int i;

	r->stop = 1;
	pthread_join(r->thr, NULL);
	for (i = 0; i < RELAY_PAIRS; i++) {
		if (r->fds[i][0] >= 0) {
			relay_drop(r, i);
		}
	}
	close(r->lfd);
	pthread_mutex_destroy(&r->mtx);
	com_buf_fini(&r->seen);
}

/* Did the relay see these bytes anywhere? */
static bool
relay_saw(relay *r, const void *needle, size_t len)
{
	bool yes = false;
	size_t i;

	pthread_mutex_lock(&r->mtx);
	for (i = 0; len > 0 && i + len <= r->seen.len && !yes; i++) {
		yes = memcmp(r->seen.data + i, needle, len) == 0;
	}
	pthread_mutex_unlock(&r->mtx);
	return yes;
}

static size_t
relay_bytes(relay *r)
{
	size_t n;

	pthread_mutex_lock(&r->mtx);
	n = r->seen.len;
	pthread_mutex_unlock(&r->mtx);
	return n;
}

/* ===== Cases ===== */

static void
test_sites_sync_over_mutual_tls_and_keep_their_secrets_private(void **state)
{
	fx *f = *state;
	char *o = NULL;

	assert_true(log_wait(f, "prov.log", "with mutual TLS"));
	assert_int_equal(ocop(f, "a", NULL, "subject add --name 'HTX Dừa' --kind htx --unit 83-100"), 0);
	assert_int_equal(ocop(f, "a", &o, "sync"), 0);
	assert_non_null(strstr(o, "pushed 1"));
	com_free(o);
	assert_int_equal(ocop(f, "b", &o, "sync"), 0);
	assert_non_null(strstr(o, "pulled 1"));
	com_free(o);
	/* Keys, enrolment files and replicas are readable by their owner only. */
	assert_int_equal(mode_of(f, "ca/ca.key"), 0600);
	assert_int_equal(mode_of(f, "ca/server.key"), 0600);
	assert_int_equal(mode_of(f, "a.db"), 0600);
	assert_int_equal(mode_of(f, "prov.db"), 0600);
	assert_int_equal(mode_of(f, "commune-b.enrol"), 0600);
	/* `ocop remote` shows the certificate, never the secrets. */
	assert_int_equal(ocop(f, "a", &o, "remote"), 0);
	assert_non_null(strstr(o, "certificate sha256"));
	assert_null(strstr(o, f->a_cred));
	assert_null(strstr(o, "PRIVATE KEY"));
	com_free(o);
	/* A world-readable enrolment file is refused. */
	assert_int_equal(tu_run(NULL, 1, "cp %s %s/copy.enrol && chmod 644 %s/copy.enrol", f->b_enrol, f->dir, f->dir),
	    0);
	assert_int_equal(ocop(f, "c", &o, "enrol --file copy.enrol"), 2);
	assert_non_null(strstr(o, "chmod 600"));
	com_free(o);
}

static void
test_a_certificate_of_another_ca_is_refused_and_the_reason_logged(void **state)
{
	fx *f = *state;
	char id[37];
	char *o = NULL;
	te_site ts;
	char odb[600];
	char sdb[600];

	/* Another province's server and CA enrol a site with our server's URL. */
	assert_int_equal(ocopd(f, NULL, "init --db other.db --role province --scope 79"), 0);
	assert_int_equal(ocopd(f, NULL, "ca init --db other.db --dir otherca --host 127.0.0.1 --url %s", f->url), 0);
	snprintf(odb, sizeof(odb), "%s/other.db", f->dir);
	snprintf(sdb, sizeof(sdb), "%s/x.db", f->dir);
	memset(&ts, 0, sizeof(ts));
	ts.dir = f->dir;
	ts.server_db = odb;
	ts.site_db = sdb;
	ts.role = "commune";
	ts.scope = "79-26734";
	ts.name = "x";
	assert_int_equal(te_site_add(&ts, id, NULL, 0, NULL), 0);
	/* Trusting the other CA, the site refuses our server first. */
	assert_int_equal(ocop(f, "x", &o, "sync"), 5);
	assert_non_null(strstr(o, "server certificate refused"));
	com_free(o);
	assert_true(log_wait(f, "prov.log", "does it trust this server's CA"));
	/* Trusting ours, it presents a certificate our CA never issued. */
	{
		char path[700];
		char *ca = NULL;
		sto_db *db = NULL;
		sto_opts so;
		snprintf(path, sizeof(path), "%s/ca/ca.crt", f->dir);
		ca = tu_slurp(path);
		memset(&so, 0, sizeof(so));
		assert_ok(sto_open(&db, sdb, &so));
		assert_ok(sto_meta_set(db, "tls_ca", ca));
		sto_close(db);
		com_free(ca);
	}
	/* Under TLS 1.3 the client has finished its side of the handshake when the
	 * server checks the client's certificate: the client reads the server's
	 * alert ("refused this site's certificate") or, when the server closed
	 * first (a slower client, e.g. under a sanitizer), only a failed handshake.
	 * Exit code 5 says TLS either way; the server's log says why. */
	assert_int_equal(ocop(f, "x", &o, "sync"), 5);
	assert_true(strstr(o, "the server refused this site's certificate") != NULL ||
		    strstr(o, "TLS handshake with") != NULL);
	com_free(o);
	assert_true(log_wait(f, "prov.log", "client certificate refused"));
}

static void
test_an_expired_certificate_is_refused_and_the_reason_logged(void **state)
{
	fx *f = *state;
	char path[700];
	char *ca_crt = NULL;
	char *ca_key = NULL;
	char *crt = NULL;
	char *key = NULL;
	char err[512];
	lnk_pki_req r;
	sto_db *db = NULL;
	sto_opts so;
	char *o = NULL;

	/* The province's own CA issues a certificate for site a that expired yesterday. */
	snprintf(path, sizeof(path), "%s/ca/ca.crt", f->dir);
	ca_crt = tu_slurp(path);
	snprintf(path, sizeof(path), "%s/ca/ca.key", f->dir);
	ca_key = tu_slurp(path);
	memset(&r, 0, sizeof(r));
	r.cn = f->a;
	r.days = 1;
	r.start_offset_s = -2 * 86400;
	assert_ok(lnk_pki_issue(ca_crt, ca_key, &r, &crt, &key, err, sizeof(err)));
	/* ocop remote refuses it at once ... */
	put_file(f, "old.crt", crt, 0644);
	put_file(f, "old.key", key, 0600);
	put_file(f, "ca.pem", ca_crt, 0644);
	assert_int_equal(ocop(f, "a", &o, "remote --ca ca.pem --cert old.crt --key old.key"), 2);
	assert_non_null(strstr(o, "expired"));
	com_free(o);
	/* ... and a laptop that holds one anyway is refused by the server. */
	memset(&so, 0, sizeof(so));
	snprintf(path, sizeof(path), "%s/a.db", f->dir);
	assert_ok(sto_open(&db, path, &so));
	assert_ok(sto_meta_set(db, "tls_cert", crt));
	assert_ok(sto_meta_set(db, "tls_key", key));
	sto_close(db);
	assert_int_equal(ocop(f, "a", &o, "sync"), 5);
	com_free(o);
	assert_true(log_wait(f, "prov.log", "certificate has expired"));
	com_free(ca_crt);
	com_free(ca_key);
	com_free(crt);
	com_free(key);
}

static void
test_another_sites_certificate_is_refused_and_the_reason_logged(void **state)
{
	fx *f = *state;
	char *ca = enrol_get(f->b_enrol, "ca_pem");
	char *crt = enrol_get(f->b_enrol, "cert_pem");
	char *key = enrol_get(f->b_enrol, "key_pem");
	char *o = NULL;

	/* Site a's laptop presents b's certificate (a copied key) with its own credential. */
	put_file(f, "b.crt", crt, 0644);
	put_file(f, "b.key", key, 0600);
	put_file(f, "ca.pem", ca, 0644);
	assert_int_equal(ocop(f, "a", NULL, "remote --ca ca.pem --cert b.crt --key b.key"), 0);
	assert_int_equal(ocop(f, "a", &o, "sync"), 1);
	assert_non_null(strstr(o, "authentication failed"));
	com_free(o);
	assert_true(log_wait(f, "prov.log", "was presented for site"));
	com_free(ca);
	com_free(crt);
	com_free(key);
}

static void
test_a_plain_client_to_the_tls_server_is_refused_and_the_reason_logged(void **state)
{
	fx *f = *state;
	char *o = NULL;

	assert_int_not_equal(ocop(f, "a", &o, "sync --server tcp://127.0.0.1:%d --timeout 3", f->port), 0);
	assert_non_null(strstr(o, "tls+tcp"));
	com_free(o);
	assert_true(log_wait(f, "prov.log", "does not speak TLS"));
}

static void
test_a_revoked_laptop_cannot_sync_and_is_told_so(void **state)
{
	fx *f = *state;
	char *o = NULL;

	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
	assert_int_equal(ocopd(f, &o, "site revoke --db prov.db --site %s --reason 'laptop stolen'", f->a), 0);
	com_free(o);
	/* Takes effect on the next request, without a restart. */
	assert_int_equal(ocop(f, "a", &o, "sync"), 7);
	assert_non_null(strstr(o, "revoked"));
	assert_non_null(strstr(o, "laptop stolen"));
	com_free(o);
	assert_int_equal(ocop(f, "a", &o, "sync --json"), 7);
	{
		json_t *j = json_loads(strchr(o, '{'), JSON_DISABLE_EOF_CHECK, NULL);
		assert_non_null(j);
		assert_true(json_is_false(json_object_get(j, "ok")));
		assert_string_equal(json_string_value(json_object_get(j, "error")), "EREVOKED");
		json_decref(j);
	}
	com_free(o);
	assert_true(log_wait(f, "prov.log", "revoked site"));
	/* A revoked site stays revoked. */
	assert_int_equal(ocopd(f, &o, "site rotate --db prov.db --site %s --enrol-out again.enrol", f->a), 2);
	com_free(o);
	/* The other site is not affected. */
	assert_int_equal(ocop(f, "b", NULL, "sync"), 0);
}

static void
test_a_rotated_site_needs_its_new_enrolment_and_keeps_its_data(void **state)
{
	fx *f = *state;
	char *o = NULL;

	assert_int_equal(ocop(f, "a", NULL, "subject add --name 'HTX Kẹo' --kind htx --unit 83-100"), 0);
	assert_int_equal(ocopd(f, NULL, "site rotate --db prov.db --site %s --enrol-out a2.enrol", f->a), 0);
	assert_int_equal(mode_of(f, "a2.enrol"), 0600);
	assert_int_equal(ocop(f, "a", &o, "sync"), 1);
	assert_non_null(strstr(o, "enrol with the new enrolment file"));
	com_free(o);
	assert_int_equal(ocop(f, "a", NULL, "enrol --file a2.enrol"), 0);
	assert_int_equal(ocop(f, "a", &o, "sync"), 0);
	assert_non_null(strstr(o, "pushed 1"));
	com_free(o);
	/* The old enrolment file is useless now, whoever holds it. */
	assert_int_equal(ocop(f, "c", NULL, "enrol --file commune-a.enrol"), 0);
	assert_int_equal(ocop(f, "c", &o, "sync"), 1);
	com_free(o);
}

static void
test_guessing_credentials_gets_the_address_blocked_and_the_log_stays_short(void **state)
{
	fx *f = *state;
	char *o = NULL;
	int i;
	int blocked = 0;

	put_file(f, "wrong.cred", "guess\n", 0600);
	assert_int_equal(ocop(f, "a", NULL, "remote --credential-file wrong.cred"), 0);
	for (i = 0; i < 14; i++) {
		assert_int_equal(ocop(f, "a", &o, "sync --timeout 3"), 1);
		if (strstr(o, "too many failed attempts") != NULL) {
			blocked++;
		} else {
			assert_non_null(strstr(o, "authentication failed: unknown site or wrong credential"));
		}
		com_free(o);
	}
	assert_true(blocked >= 4);
	assert_true(log_wait(f, "prov.log", "blocked for"));
	/* Three failures of the address are logged one by one, the rest are counted. */
	assert_int_equal(log_count(f, "prov.log", "authentication failed from"), 3);
	/* Even the right credential waits out the block: the address is blocked, not the secret. */
	put_file(f, "right.cred", f->a_cred, 0600);
	assert_int_equal(ocop(f, "a", NULL, "remote --credential-file right.cred"), 0);
	assert_int_equal(ocop(f, "a", &o, "sync"), 1);
	assert_non_null(strstr(o, "too many failed attempts"));
	com_free(o);
}

static void
test_site_add_checks_role_and_scope_against_the_server(void **state)
{
	fx *f = *state;
	char *o = NULL;

	assert_int_equal(ocopd(f, &o, "site add --db prov.db --role commune --scope 79-26734 --enrol-out z.enrol"), 2);
	assert_non_null(strstr(o, "outside this server's scope"));
	com_free(o);
	assert_int_equal(ocopd(f, &o, "site add --db prov.db --role national --scope VN --enrol-out z.enrol"), 2);
	assert_non_null(strstr(o, "registers"));
	com_free(o);
	assert_int_equal(ocopd(f, &o, "site add --db prov.db --role commune --scope 83 --enrol-out z.enrol"), 2);
	com_free(o);
	assert_int_equal(ocopd(f, &o, "site add --db prov.db --role commune --scope 83-100 --enrol-out z.enrol "
				      "--credential x"), 2);
	assert_non_null(strstr(o, "command line"));
	com_free(o);
	/* A duplicate name in the same units is allowed with a warning. */
	assert_int_equal(ocopd(f, &o, "site add --db prov.db --role commune --scope 83-100 --name a --enrol-out z.enrol"),
	    0);
	assert_non_null(strstr(o, "warning"));
	assert_null(strstr(o, "credential"));
	com_free(o);
	/* set-scope is checked the same way, and takes effect at once. */
	assert_int_equal(ocopd(f, &o, "site set-scope --db prov.db --site %s --scope 79-26734", f->b), 2);
	com_free(o);
	assert_int_equal(ocopd(f, NULL, "site set-scope --db prov.db --site %s --scope 83-200", f->b), 0);
	assert_int_equal(ocop(f, "a", NULL, "subject add --name 'HTX Tôm' --kind htx --unit 83-100"), 0);
	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "b", &o, "sync"), 0);
	assert_non_null(strstr(o, "pulled 0"));
	com_free(o);
}

/* A TCP listener that never answers: connections complete, nothing comes back. */
static int
black_hole(int *port)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
test_sync_tells_refused_unknown_host_and_timeout_apart(void **state)
{
	fx *f = *state;
	char *o = NULL;
	int hole_port = 0;
	int hole = black_hole(&hole_port);
	json_t *j;

	assert_true(hole >= 0);
	assert_int_equal(ocop(f, "a", &o, "sync --server tls+tcp://127.0.0.1:%d", tp_free_port()), 3);
	assert_non_null(strstr(o, "connection refused"));
	com_free(o);
	assert_int_equal(ocop(f, "a", &o, "sync --server tls+tcp://no-such-host.invalid:7450"), 4);
	assert_non_null(strstr(o, "unknown host"));
	com_free(o);
	assert_int_equal(ocop(f, "a", &o, "sync --server tls+tcp://127.0.0.1:%d --timeout 1", hole_port), 6);
	assert_non_null(strstr(o, "within 1000 ms"));
	com_free(o);
	/* --json prints one object also when it fails. */
	assert_int_equal(tu_run(&o, 0, "cd %s && OCOP_DB=%s/a.db OCOP_DATA_DIR=%s %s sync --json --server tls+tcp://127.0.0.1:%d "
				       "2>/dev/null", f->dir, f->dir, f->data, f->ocop, tp_free_port()), 3);
	j = json_loads(o, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_string_equal(json_string_value(json_object_get(j, "error")), "EREFUSED");
	assert_int_equal(json_integer_value(json_object_get(j, "exit")), 3);
	json_decref(j);
	com_free(o);
	close(hole);
}

static void
test_ctrl_c_stops_a_waiting_sync_at_once(void **state)
{
	fx *f = *state;
	int hole_port = 0;
	int hole = black_hole(&hole_port);
	char db[600];
	char url[64];
	char log[600];
	double t0;
	double took;
	pid_t pid;
	int st = 0;

	assert_true(hole >= 0);
	snprintf(db, sizeof(db), "%s/a.db", f->dir);
	snprintf(url, sizeof(url), "tls+tcp://127.0.0.1:%d", hole_port);
	snprintf(log, sizeof(log), "%s/ctrlc.log", f->dir);
	setenv("OCOP_DB", db, 1);
	{
		char *argv[] = {f->ocop, "sync", "--server", url, "--timeout", "60", NULL};
		pid = tp_spawn(argv, log);
	}
	unsetenv("OCOP_DB");
	assert_true(pid > 0);
	sleep_ms(500); /* it is waiting for the server now */
	t0 = now_s();
	kill(pid, SIGINT);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	took = now_s() - t0;
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 130);
	assert_true(took < 1.0);
	assert_true(log_has(f, "ctrlc.log", "interrupted"));
	close(hole);
}

static void
test_a_recording_relay_between_site_and_province_sees_no_text_and_no_secret(void **state)
{
	fx *f = *state;
	static const char marker[] = "Zq7Marker";
	static const char vn[] = "Hợp tác xã Kẹo dừa Thành Thới";
	char *b_cred = enrol_get(f->b_enrol, "credential");
	char *o = NULL;
	relay r;

	relay_start(&r, f->port);
	assert_int_equal(ocop(f, "a", NULL, "subject add --name '%s %s' --kind htx --unit 83-100", vn, marker), 0);
	assert_int_equal(ocop(f, "a", &o, "sync --server tls+tcp://127.0.0.1:%d", r.port), 0);
	assert_non_null(strstr(o, "pushed 1"));
	com_free(o);
	assert_int_equal(ocop(f, "b", &o, "sync --server tls+tcp://127.0.0.1:%d", r.port), 0);
	assert_non_null(strstr(o, "pulled 1"));
	com_free(o);
	/* The text went through the relay: b holds it. */
	assert_int_equal(ocop(f, "b", &o, "search %s", marker), 0);
	assert_non_null(strstr(o, marker));
	com_free(o);
	assert_true(r.connections >= 2);
	assert_true(relay_bytes(&r) > 2000);
	/* Neither the text nor a secret is in the bytes. */
	assert_false(relay_saw(&r, marker, strlen(marker)));
	assert_false(relay_saw(&r, vn, strlen(vn)));
	assert_false(relay_saw(&r, "Thành Thới", strlen("Thành Thới")));
	assert_false(relay_saw(&r, f->a_cred, strlen(f->a_cred)));
	assert_false(relay_saw(&r, b_cred, strlen(b_cred)));
	assert_false(relay_saw(&r, "PRIVATE KEY", 11));
	relay_stop(&r);
	com_free(b_cred);
}

static void
test_the_national_link_runs_over_mutual_tls(void **state)
{
	fx *f = *state;
	char prov_id[64];
	char enrol[600];
	char conf[700];
	char nurl[64];
	char id[37];
	char *o = NULL;
	int nport = tp_free_port();
	pid_t nation;
	pid_t province;
	te_site ts;
	char ndb[600];
	char *prov_cred;
	FILE *cf;
	int i;
	bool seen = false;
	relay r;

	/* The province server's own id, as the nation registers it. */
	assert_int_equal(ocopd(f, &o, "status --db prov.db --json"), 0);
	{
		json_t *j = json_loads(o, 0, NULL);
		snprintf(prov_id, sizeof(prov_id), "%s", json_string_value(json_object_get(j, "site_id")));
		json_decref(j);
	}
	com_free(o);
	snprintf(nurl, sizeof(nurl), "tls+tcp://127.0.0.1:%d", nport);
	assert_int_equal(ocopd(f, NULL, "init --db nation.db --role national --scope VN"), 0);
	assert_int_equal(ocopd(f, NULL, "ca init --db nation.db --dir nca --host 127.0.0.1 --url %s", nurl), 0);
	snprintf(ndb, sizeof(ndb), "%s/nation.db", f->dir);
	memset(&ts, 0, sizeof(ts));
	ts.dir = f->dir;
	ts.server_db = ndb;
	ts.role = "province";
	ts.scope = "83";
	ts.name = "Ben Tre";
	{
		char extra[80];
		snprintf(extra, sizeof(extra), "--site-id %s", prov_id);
		ts.extra = extra;
		assert_int_equal(te_site_add(&ts, id, NULL, 0, enrol), 0);
	}
	nation = serve(f, "nation.db", "national", nport, nurl, "nation.log");
	assert_true(nation > 0);
	/* The province reaches the nation through a recording relay. */
	relay_start(&r, nport);
	prov_cred = enrol_get(enrol, "credential");
	/* The province restarts with the national server as its upstream. */
	assert_int_equal(tp_stop(f->server, SIGTERM), 0);
	snprintf(conf, sizeof(conf), "%s/prov.conf", f->dir);
	cf = fopen(conf, "w");
	assert_non_null(cf);
	fprintf(cf,
	    "listen = %s\nrole = province\ndb = %s/prov.db\nupstream_enrolment = %s\nupstream = tls+tcp://127.0.0.1:%d\n"
	    "upstream_interval_ms = 200\n",
	    f->url, f->dir, enrol, r.port);
	fclose(cf);
	{
		char *argv[] = {f->ocopd, "serve", "--config", conf, NULL};
		char log[600];
		snprintf(log, sizeof(log), "%s/prov2.log", f->dir);
		province = tp_spawn(argv, log);
	}
	assert_int_equal(tp_wait_port(f->port, 5000), 0);
	f->server = province;
	/* The province's upstream step reaches the nation: it is seen there. */
	for (i = 0; i < 100 && !seen; i++) {
		json_t *j;
		assert_int_equal(ocopd(f, &o, "site list --db nation.db --json"), 0);
		j = json_loads(o, 0, NULL);
		seen = j != NULL && json_array_size(j) == 1 &&
		    strlen(json_string_value(json_object_get(json_array_get(j, 0), "last_seen"))) > 0;
		json_decref(j);
		com_free(o);
		if (!seen) {
			sleep_ms(50);
		}
	}
	assert_true(seen);
	assert_false(log_has(f, "prov2.log", "upstream: TLS"));
	/* Through the relay, and nothing secret in its bytes. */
	assert_true(r.connections >= 1);
	assert_true(relay_bytes(&r) > 1000);
	assert_false(relay_saw(&r, prov_cred, strlen(prov_cred)));
	assert_false(relay_saw(&r, "PRIVATE KEY", 11));
	relay_stop(&r);
	com_free(prov_cred);
	assert_true(log_wait(f, "nation.log", "with mutual TLS"));
	/* The sites still sync with the restarted province. */
	assert_int_equal(ocop(f, "b", NULL, "sync"), 0);
	assert_int_equal(tp_stop(nation, SIGTERM), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_sites_sync_over_mutual_tls_and_keep_their_secrets_private, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_a_certificate_of_another_ca_is_refused_and_the_reason_logged, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_an_expired_certificate_is_refused_and_the_reason_logged, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_another_sites_certificate_is_refused_and_the_reason_logged, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_a_plain_client_to_the_tls_server_is_refused_and_the_reason_logged,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_revoked_laptop_cannot_sync_and_is_told_so, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_rotated_site_needs_its_new_enrolment_and_keeps_its_data, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_guessing_credentials_gets_the_address_blocked_and_the_log_stays_short,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_site_add_checks_role_and_scope_against_the_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sync_tells_refused_unknown_host_and_timeout_apart, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ctrl_c_stops_a_waiting_sync_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_recording_relay_between_site_and_province_sees_no_text_and_no_secret,
		setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_national_link_runs_over_mutual_tls, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
