/*
 * integration.dashboard: the operator view of a running province (real
 * `ocopd serve` with http_listen, real `ocop` sites on 127.0.0.1).
 *
 * The province has four sites: two communes editing the same subject
 * offline (a conflict in the ledger), a third whose out-of-date client
 * recognises its own dossier (a refusal), and a fourth that never syncs (a
 * silent site). The cases check that the token is required everywhere but
 * /healthz, that /metrics is valid Prometheus text whose counters move as
 * sites sync, and that the dashboard, loaded in a real headless Chromium,
 * shows without console errors the numbers the JSON API and `ocopd status`
 * give. Screenshots (laptop and phone widths) are kept in the build
 * directory's test-artifacts/.
 */
#include "tests/lib/testutil.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/util/alloc.h"
#include "tests/lib/enrol.h"
#include "tests/lib/proc.h"

#define TOKEN "dashboard+test/token=0123456789"

typedef struct site {
	const char *name;  /* file stem */
	const char *scope; /* unit scope */
	const char *label; /* its name at the server */
	char id[64];       /* site id */
	char cred[128];    /* credential */
} site;

typedef struct fx {
	char *dir;          /* temp dir, owned */
	char ocop[512];     /* ocop binary */
	char ocopd[512];    /* ocopd binary */
	char raw[512];      /* ocop-rawwrite binary */
	char data[512];     /* data dir */
	char url[64];       /* sync URL */
	int http_port;      /* operator view port */
	pid_t server;       /* ocopd serve */
	site s[4];          /* a, b (83-100), m (83-200), q (83-300, silent) */
} fx;

/* ===== Running the programs ===== */

static int
ocop(fx *f, const char *db, char **out, const char *args)
{
	char *o = NULL;
	int rc = tu_run(&o, 1, "cd %s && OCOP_DB=%s/%s.db OCOP_USER=%s %s %s", f->dir, f->dir, db, db, f->ocop, args);

	if (out != NULL) {
		*out = o;
	} else {
		if (rc != 0) {
			print_error("ocop %s (%s) exited %d: %s\n", args, db, rc, o);
		}
		com_free(o);
	}
	return rc;
}

static void
ocop_id(fx *f, const char *db, char *id, size_t cap, const char *args)
{
	char *o = NULL;

	if (ocop(f, db, &o, args) != 0) {
		print_error("ocop %s: %s\n", args, o);
		fail();
	}
	snprintf(id, cap, "%.36s", o);
	com_free(o);
}

static json_t *
parse_json(const char *what, const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (j == NULL) {
		print_error("%s is not JSON (%s): %.400s\n", what, e.text, text);
		fail();
	}
	return j;
}

/* ===== A small HTTP client (loopback only) ===== */

typedef struct http_res {
	int status;   /* HTTP status, 0 when no answer */
	char *body;   /* com_malloc'd, NUL-terminated */
} http_res;

static http_res
http_get(int port, const char *path, const char *token)
{
	http_res r = {0, NULL};
	struct sockaddr_in a;
	char req[1024];
	char *buf = com_malloc(1 << 20);
	size_t n = 0;
	ssize_t got;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_non_null(buf);
	assert_true(fd >= 0);
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		buf[0] = 0;
		r.body = buf;
		return r;
	}
	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s%s%s\r\n", path,
	    token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
	assert_int_equal(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (n < (1 << 20) - 1 && (got = read(fd, buf + n, (1 << 20) - 1 - n)) > 0) {
		n += (size_t)got;
	}
	close(fd);
	buf[n] = 0;
	if (sscanf(buf, "HTTP/1.1 %d", &r.status) != 1) {
		r.status = 0;
	}
	{
		char *body = strstr(buf, "\r\n\r\n");
		r.body = com_strdup(body ? body + 4 : "");
	}
	com_free(buf);
	return r;
}

/* ===== The province ===== */

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	static const char *const names[4] = {"a", "b", "m", "q"};
	static const char *const scopes[4] = {"83-100", "83-100", "83-200", "83-300"};
	static const char *const labels[4] = {"UBND xã Thành Thới", "UBND xã Thành Thới (máy 2)", "UBND xã Mỏ Cày",
	    "UBND xã Im Lặng"};
	char path[700];
	char log[700];
	int port = tp_free_port();
	FILE *cf;
	int i;

	f->dir = tu_mkdtemp();
	tu_bin(f->ocop, sizeof(f->ocop), "ocop");
	tu_bin(f->ocopd, sizeof(f->ocopd), "ocopd");
	tu_bin(f->raw, sizeof(f->raw), "ocop-rawwrite");
	tu_src(f->data, sizeof(f->data), "data");
	setenv("OCOP_DATA_DIR", f->data, 1);
	snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", port);
	do {
		f->http_port = tp_free_port();
	} while (f->http_port == port);
	if (tu_run(NULL, 1, "%s init --db %s/prov.db --role province --scope 83 >/dev/null", f->ocopd, f->dir) != 0) {
		return -1;
	}
	for (i = 0; i < 4; i++) {
		site *s = &f->s[i];
		char pdb[600];
		char sdb[600];
		te_site ts;
		s->name = names[i];
		s->scope = scopes[i];
		s->label = labels[i];
		snprintf(pdb, sizeof(pdb), "%s/prov.db", f->dir);
		snprintf(sdb, sizeof(sdb), "%s/%s.db", f->dir, s->name);
		memset(&ts, 0, sizeof(ts));
		ts.dir = f->dir;
		ts.server_db = pdb;
		ts.site_db = sdb;
		ts.role = "commune";
		ts.scope = s->scope;
		ts.name = s->label;
		ts.url = f->url;
		if (te_site_add(&ts, s->id, s->cred, sizeof(s->cred), NULL) != 0) {
			return -1;
		}
	}
	snprintf(path, sizeof(path), "%s/http-token", f->dir);
	cf = fopen(path, "w");
	fprintf(cf, "%s\n", TOKEN);
	fclose(cf);
	snprintf(path, sizeof(path), "%s/ocopd.conf", f->dir);
	cf = fopen(path, "w");
	fprintf(cf, "db = %s/prov.db\nlisten = %s\nhttp_listen = http://127.0.0.1:%d\nhttp_token_file = %s/http-token\n"
		    "silent_days = 3\n",
	    f->dir, f->url, f->http_port, f->dir);
	fclose(cf);
	snprintf(log, sizeof(log), "%s/ocopd.log", f->dir);
	{
		char *argv[] = {f->ocopd, "serve", "--config", path, NULL};
		f->server = tp_spawn(argv, log);
	}
	if (f->server < 0 || tp_wait_port(port, 5000) != 0 || tp_wait_port(f->http_port, 5000) != 0) {
		return -1;
	}
	/* Ready as a load balancer sees it: the sites' port accepts a moment
	 * before the server has marked its listener up. */
	for (int tries = 0; tries < 100; tries++) {
		http_res r = http_get(f->http_port, "/healthz", NULL);
		struct timespec pause = {0, 50 * 1000 * 1000};
		int status = r.status;

		com_free(r.body);
		if (status == 200) {
			break;
		}
		nanosleep(&pause, NULL);
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

/* The round: dossiers at a and m, a conflict between a and b, a refusal from m. */
static void
province_round(fx *f)
{
	char subject[40];
	char product[40];
	char dossier[40];
	char args[300];

	ocop_id(f, "a", subject, sizeof(subject), "subject add --name 'HTX Bưởi da xanh' --kind htx --unit 83-100");
	snprintf(args, sizeof(args), "product add --subject %s --name 'Bưởi da xanh' --set 01", subject);
	ocop_id(f, "a", product, sizeof(product), args);
	snprintf(args, sizeof(args), "dossier add --product %s --year 2026 --round 1", product);
	ocop_id(f, "a", dossier, sizeof(dossier), args);
	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "b", NULL, "sync"), 0);
	/* Both offline: the same field, two values. */
	snprintf(args, sizeof(args), "subject set %s --phone '0275 111'", subject);
	assert_int_equal(ocop(f, "a", NULL, args), 0);
	snprintf(args, sizeof(args), "subject set %s --phone '0275 222'", subject);
	assert_int_equal(ocop(f, "b", NULL, args), 0);
	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
	assert_int_equal(ocop(f, "b", NULL, "sync"), 0);
	/* Mỏ Cày's dossier, then an out-of-date client recognising it. */
	ocop_id(f, "m", subject, sizeof(subject), "subject add --name 'Cơ sở Kẹo dừa' --kind ho --unit 83-200");
	snprintf(args, sizeof(args), "product add --subject %s --name 'Kẹo dừa sáp' --set 07", subject);
	ocop_id(f, "m", product, sizeof(product), args);
	snprintf(args, sizeof(args), "dossier add --product %s --year 2026 --round 1", product);
	ocop_id(f, "m", dossier, sizeof(dossier), args);
	assert_int_equal(ocop(f, "m", NULL, "sync"), 0);
	assert_int_equal(tu_run(NULL, 1, "%s %s/m.db dossier %s status recognised", f->raw, f->dir, dossier), 0);
	assert_int_equal(ocop(f, "m", NULL, "sync"), 0);
	/* a has not pulled m's changes yet: it lags. */
}

/* `ocopd status --json` of the running province. */
static json_t *
status_json(fx *f)
{
	char *o = NULL;
	json_t *j;

	assert_int_equal(tu_run(&o, 0, "%s status --db %s/prov.db --json", f->ocopd, f->dir), 0);
	j = parse_json("ocopd status --json", o);
	com_free(o);
	return j;
}

static json_t *
api_json(fx *f, const char *path)
{
	http_res r = http_get(f->http_port, path, TOKEN);
	json_t *j;

	if (r.status != 200) {
		print_error("GET %s: %d %s\n", path, r.status, r.body);
	}
	assert_int_equal(r.status, 200);
	j = parse_json(path, r.body);
	com_free(r.body);
	return j;
}

static json_int_t
jint(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	if (!json_is_integer(v)) {
		print_error("no integer '%s'\n", k);
		fail();
	}
	return json_integer_value(v);
}

/* ===== Cases ===== */

static void
test_the_token_is_required_everywhere_but_healthz(void **state)
{
	fx *f = *state;
	static const char *const guarded[] = {"/", "/index.html", "/metrics", "/api/status", "/api/ledger",
	    "/api/handoffs", "/api/report"};
	http_res r;
	char path[128];
	size_t i;

	r = http_get(f->http_port, "/healthz", NULL);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"database\":\"ok\""));
	assert_non_null(strstr(r.body, "\"listener\":\"up\""));
	assert_non_null(strstr(r.body, "\"upstream\":\"none\""));
	com_free(r.body);
	for (i = 0; i < sizeof(guarded) / sizeof(guarded[0]); i++) {
		r = http_get(f->http_port, guarded[i], NULL);
		if (r.status != 401) {
			print_error("GET %s without a token: %d\n", guarded[i], r.status);
		}
		assert_int_equal(r.status, 401);
		assert_null(strstr(r.body, f->s[0].id)); /* nothing of the province leaks */
		com_free(r.body);
		r = http_get(f->http_port, guarded[i], "dashboard-test-token-0123456780");
		assert_int_equal(r.status, 401);
		com_free(r.body);
		snprintf(path, sizeof(path), "%s?token=%s", guarded[i], "dashboard-test-token-01234567");
		r = http_get(f->http_port, path, NULL);
		assert_int_equal(r.status, 401);
		com_free(r.body);
		r = http_get(f->http_port, guarded[i], TOKEN);
		assert_int_equal(r.status, 200);
		com_free(r.body);
		snprintf(path, sizeof(path), "%s?token=%s", guarded[i], TOKEN);
		r = http_get(f->http_port, path, NULL);
		assert_int_equal(r.status, 200);
		com_free(r.body);
	}
	r = http_get(f->http_port, "/api/nothing", TOKEN);
	assert_int_equal(r.status, 404);
	com_free(r.body);
}

/* ===== Prometheus text ===== */

/* One sample of a scrape. */
typedef struct sample {
	char name[128];   /* metric name */
	char labels[512]; /* the label set as written, "" when none */
	double value;     /* value */
} sample;

typedef struct scrape {
	sample *s;  /* samples, com_malloc'd */
	size_t n;   /* count */
} scrape;

static bool
metric_name_ok(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || !(isalpha((unsigned char)p[0]) || p[0] == '_' || p[0] == ':')) {
		return false;
	}
	for (i = 1; i < n; i++) {
		if (!(isalnum((unsigned char)p[i]) || p[i] == '_' || p[i] == ':')) {
			return false;
		}
	}
	return true;
}

/*
 * Parse a scrape in the text exposition format, failing the test on any
 * malformed line: every sample belongs to a family declared by # TYPE before
 * it, labels are name="value" with escapes, values are numbers.
 */
static scrape
prom_parse(const char *text)
{
	scrape sc = {com_calloc(20000, sizeof(sample)), 0};
	char types[400][128];
	size_t ntypes = 0;
	const char *line = text;
	int lineno = 0;

	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		char buf[2048];
		lineno++;
		assert_true(len < sizeof(buf));
		memcpy(buf, line, len);
		buf[len] = 0;
		line = nl ? nl + 1 : line + len;
		if (len == 0) {
			continue;
		}
		if (strncmp(buf, "# TYPE ", 7) == 0) {
			char name[128];
			char type[32];
			assert_int_equal(sscanf(buf + 7, "%127s %31s", name, type), 2);
			assert_true(metric_name_ok(name, strlen(name)));
			assert_true(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
			    strcmp(type, "histogram") == 0 || strcmp(type, "summary") == 0 || strcmp(type, "untyped") == 0);
			assert_true(ntypes < 400);
			snprintf(types[ntypes++], sizeof(types[0]), "%s", name);
			continue;
		}
		if (buf[0] == '#') {
			assert_true(strncmp(buf, "# HELP ", 7) == 0);
			continue;
		}
		{
			sample *s = &sc.s[sc.n];
			const char *p = buf;
			size_t nlen = strcspn(p, "{ ");
			char *end;
			size_t t;
			bool typed = false;
			assert_true(sc.n < 20000);
			if (!metric_name_ok(p, nlen)) {
				print_error("line %d: bad metric name: %s\n", lineno, buf);
				fail();
			}
			memcpy(s->name, p, nlen);
			s->name[nlen] = 0;
			p += nlen;
			if (*p == '{') {
				const char *q = p + 1;
				while (*q != '}') {
					size_t ln = strcspn(q, "=");
					assert_true(metric_name_ok(q, ln));
					q += ln;
					assert_true(q[0] == '=' && q[1] == '"');
					q += 2;
					while (*q != '"') {
						assert_true(*q != 0);
						if (*q == '\\') {
							assert_true(q[1] == '\\' || q[1] == '"' || q[1] == 'n');
							q++;
						}
						q++;
					}
					q++;
					assert_true(*q == ',' || *q == '}');
					if (*q == ',') {
						q++;
					}
				}
				assert_true((size_t)(q - p + 1) < sizeof(s->labels));
				memcpy(s->labels, p, (size_t)(q - p + 1));
				s->labels[q - p + 1] = 0;
				p = q + 1;
			}
			assert_true(*p == ' ');
			s->value = strtod(p + 1, &end);
			if (end == p + 1 || (*end != 0 && *end != ' ')) {
				print_error("line %d: bad value: %s\n", lineno, buf);
				fail();
			}
			for (t = 0; t < ntypes && !typed; t++) {
				size_t tl = strlen(types[t]);
				typed = strncmp(s->name, types[t], tl) == 0 &&
				    (s->name[tl] == 0 || strcmp(s->name + tl, "_bucket") == 0 ||
					strcmp(s->name + tl, "_sum") == 0 || strcmp(s->name + tl, "_count") == 0);
			}
			if (!typed) {
				print_error("line %d: sample of an undeclared family: %s\n", lineno, buf);
				fail();
			}
			sc.n++;
		}
	}
	return sc;
}

/* The value of the first name{...} whose label set contains labels ("" matches any); NAN when absent. */
static double
prom_get(const scrape *sc, const char *name, const char *labels)
{
	size_t i;

	for (i = 0; i < sc->n; i++) {
		if (strcmp(sc->s[i].name, name) == 0 && strstr(sc->s[i].labels, labels) != NULL) {
			return sc->s[i].value;
		}
	}
	return NAN;
}

/* The sum of every name{...} whose label set contains labels. */
static double
prom_sum(const scrape *sc, const char *name, const char *labels)
{
	double sum = 0;
	size_t i;

	for (i = 0; i < sc->n; i++) {
		if (strcmp(sc->s[i].name, name) == 0 && strstr(sc->s[i].labels, labels) != NULL) {
			sum += sc->s[i].value;
		}
	}
	return sum;
}

static scrape
scrape_now(fx *f)
{
	http_res r = http_get(f->http_port, "/metrics", TOKEN);
	scrape sc;

	assert_int_equal(r.status, 200);
	sc = prom_parse(r.body);
	com_free(r.body);
	return sc;
}

/* Histogram buckets are cumulative and +Inf equals _count. */
static void
check_histogram(const scrape *sc, const char *name, const char *labels)
{
	char bucket[160];
	char count[160];
	double prev = 0;
	double inf = NAN;
	size_t i;

	snprintf(bucket, sizeof(bucket), "%s_bucket", name);
	snprintf(count, sizeof(count), "%s_count", name);
	for (i = 0; i < sc->n; i++) {
		if (strcmp(sc->s[i].name, bucket) == 0 && strstr(sc->s[i].labels, labels) != NULL) {
			assert_true(sc->s[i].value >= prev);
			prev = sc->s[i].value;
			if (strstr(sc->s[i].labels, "le=\"+Inf\"") != NULL) {
				inf = sc->s[i].value;
			}
		}
	}
	assert_false(isnan(inf));
	assert_true(inf == prom_get(sc, count, labels));
}

static void
test_metrics_parse_and_their_counters_move_as_sites_sync(void **state)
{
	fx *f = *state;
	scrape before;
	scrape after;
	char label[128];

	before = scrape_now(f);
	assert_true(prom_get(&before, "ocop_build_info", "version=") == 1);
	assert_true(prom_get(&before, "ocop_sites", "") == 4);
	assert_true(prom_get(&before, "ocop_requests_total", "kind=\"push\",outcome=\"ok\"") == 0);
	check_histogram(&before, "ocop_sync_duration_seconds", "");
	province_round(f);
	/* A bad request, so an error reply is counted too. */
	assert_int_equal(tu_run(NULL, 1, "cd %s && umask 077 && echo 0000 > wrong.cred && "
					 "OCOP_DB=%s/q.db %s remote --server %s --credential-file wrong.cred >/dev/null && "
					 "OCOP_DB=%s/q.db %s sync >/dev/null 2>&1; true",
			     f->dir, f->dir, f->ocop, f->url, f->dir, f->ocop),
	    0);
	after = scrape_now(f);
	assert_true(prom_get(&after, "ocop_requests_total", "kind=\"push\",outcome=\"ok\"") >= 4);
	assert_true(prom_get(&after, "ocop_requests_total", "kind=\"hello\",outcome=\"ok\"") >= 6);
	assert_true(prom_get(&after, "ocop_requests_total", "kind=\"hello\",outcome=\"error\"") >= 1);
	assert_true(prom_get(&after, "ocop_request_errors_total", "code=\"EAUTH\"") >= 1);
	assert_true(prom_get(&after, "ocop_received_bytes_total", "kind=\"push\"") >
	    prom_get(&before, "ocop_received_bytes_total", "kind=\"push\""));
	assert_true(prom_get(&after, "ocop_sent_bytes_total", "kind=\"pull\"") >
	    prom_get(&before, "ocop_sent_bytes_total", "kind=\"pull\""));
	assert_true(prom_get(&after, "ocop_syncs_started_total", "") >= 6);
	assert_true(prom_get(&after, "ocop_sync_duration_seconds_count", "") >= 6);
	check_histogram(&after, "ocop_sync_duration_seconds", "");
	check_histogram(&after, "ocop_request_duration_seconds", "kind=\"push\"");
	assert_true(prom_get(&after, "ocop_log_changes", "") > 0);
	assert_true(prom_get(&after, "ocop_refused_writes", "") == 1);
	assert_true(prom_get(&after, "ocop_ledger_entries", "rule=\"lww\"") >= 1);
	assert_true(prom_sum(&after, "ocop_ledger_entries", "status=\"open\"") >= 2); /* the conflict, the refusal */
	assert_true(prom_get(&after, "ocop_handoffs", "state=\"waiting\"") == 0);
	snprintf(label, sizeof(label), "site=\"%s\"", f->s[2].id);
	assert_true(prom_get(&after, "ocop_site_refused_changes", label) == 1);
	assert_true(prom_get(&after, "ocop_site_high_water", label) >= 3);
	assert_true(prom_get(&after, "ocop_site_last_contact_timestamp_seconds", label) > 1.7e9);
	snprintf(label, sizeof(label), "site=\"%s\"", f->s[0].id);
	assert_true(prom_get(&after, "ocop_site_pending_changes", label) > 0); /* m wrote after a's last pull */
	snprintf(label, sizeof(label), "site=\"%s\"", f->s[3].id);
	assert_true(prom_get(&after, "ocop_site_silent", label) == 1);
	assert_true(prom_get(&after, "ocop_site_last_contact_timestamp_seconds", label) == 0);
	assert_true(prom_get(&after, "ocop_sites_silent", "") == 1);
	com_free(before.s);
	com_free(after.s);
}

/* ===== The dashboard in Chromium ===== */

/* The value of attribute data-v of the element with this id in the DOM dump; -1 when absent. */
static long long
dom_value(const char *dom, const char *id)
{
	char key[96];
	const char *p;
	const char *v;

	snprintf(key, sizeof(key), "id=\"%s\"", id);
	p = strstr(dom, key);
	if (p == NULL) {
		return -1;
	}
	v = strstr(p, "data-v=\"");
	if (v == NULL || v - p > 200) {
		return -1;
	}
	return atoll(v + 8);
}

/* A site row's data-v for key k ("pending", "refused"); -1 when absent. */
static long long
dom_site_value(const char *dom, const char *site_id, const char *k)
{
	char key[128];
	const char *row;
	const char *end;
	const char *p;

	snprintf(key, sizeof(key), "data-site=\"%s\"", site_id);
	row = strstr(dom, key);
	if (row == NULL) {
		return -1;
	}
	end = strstr(row, "</tr>");
	snprintf(key, sizeof(key), "data-k=\"%s\" data-v=\"", k);
	p = strstr(row, key);
	if (p == NULL || (end != NULL && p > end)) {
		return -1;
	}
	return atoll(p + strlen(key));
}

static size_t
count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/*
 * Run headless Chromium on the dashboard; returns its exit code, its stdout in
 * *out (com_free it), its stderr in <dir>/chromium-<tag>.log.
 */
static int
chromium(fx *f, const char *tag, const char *what, char **out)
{
	return tu_run(out, 0,
	    "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
	    " --disable-background-networking --disable-component-update --disable-sync"
	    " --user-data-dir=%s/chromium-%s --enable-logging=stderr --v=0 --virtual-time-budget=10000 %s"
	    " 'http://127.0.0.1:%d/?token=%s' 2>%s/chromium-%s.log",
	    f->dir, tag, what, f->http_port, TOKEN, f->dir, tag);
}

/* Fail when Chromium logged any console message (errors, exceptions, failed loads). */
static void
no_console_messages(fx *f, const char *tag)
{
	char path[700];
	char *log;

	snprintf(path, sizeof(path), "%s/chromium-%s.log", f->dir, tag);
	log = tu_slurp(path);
	assert_non_null(log);
	if (strstr(log, ":CONSOLE") != NULL) {
		print_error("the dashboard logged to the console:\n%s\n", log);
		fail();
	}
	com_free(log);
}

/* Keep a screenshot in the build directory's test-artifacts/ (and check it is a PNG). */
static void
screenshot(fx *f, const char *file, const char *size)
{
	char dir[600];
	char what[1400];
	char path[800];
	char *png;
	struct stat st;

	snprintf(dir, sizeof(dir), "%s/test-artifacts", getenv("OCOP_BUILD_DIR") ? getenv("OCOP_BUILD_DIR") : ".");
	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	remove(path);
	snprintf(what, sizeof(what), "--hide-scrollbars --window-size=%s --screenshot=%s", size, path);
	assert_int_equal(chromium(f, file, what, &png), 0);
	com_free(png);
	no_console_messages(f, file);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 10000);
	png = tu_slurp(path);
	assert_non_null(png);
	assert_memory_equal(png, "\x89PNG", 4);
	com_free(png);
}

static void
test_the_dashboard_shows_the_numbers_of_the_api_and_ocopd_status(void **state)
{
	fx *f = *state;
	json_t *api;
	json_t *st;
	json_t *report;
	char *dom = NULL;
	size_t i;

	if (tu_run(NULL, 1, "command -v chromium >/dev/null") != 0) {
		print_error("chromium is not installed: run scripts/setup.sh\n");
		fail();
	}
	province_round(f);
	api = api_json(f, "/api/status");
	st = status_json(f);
	/* The API and `ocopd status` agree, field by field. */
	for (i = 0; i < 7; i++) {
		static const char *const keys[] = {"changes", "log_head", "ledger", "ledger_open", "refused", "dossiers",
		    "silent_sites"};
		assert_int_equal(jint(api, keys[i]), jint(st, keys[i]));
	}
	assert_int_equal(json_array_size(json_object_get(api, "sites")), 4);
	assert_int_equal(json_array_size(json_object_get(st, "sites")), 4);
	for (i = 0; i < 4; i++) {
		json_t *a = json_array_get(json_object_get(api, "sites"), i);
		json_t *b = json_array_get(json_object_get(st, "sites"), i);
		assert_string_equal(json_string_value(json_object_get(a, "site_id")),
		    json_string_value(json_object_get(b, "site_id")));
		assert_int_equal(jint(a, "pending"), jint(b, "pending"));
		assert_int_equal(jint(a, "refused"), jint(b, "refused"));
		assert_int_equal(jint(a, "high_water"), jint(b, "high_water"));
		assert_true(json_equal(json_object_get(a, "silent"), json_object_get(b, "silent")));
	}
	assert_int_equal(jint(api, "refused"), 1);
	assert_true(jint(api, "ledger_open") >= 2); /* the conflict and the refusal */
	assert_int_equal(jint(api, "silent_sites"), 1);

	/* The page, rendered by a real browser after its scripts ran. */
	assert_int_equal(chromium(f, "dom", "--dump-dom", &dom), 0);
	no_console_messages(f, "dom");
	assert_non_null(strstr(dom, "data-loaded=\"yes\""));
	assert_int_equal(dom_value(dom, "n-sites"), 4);
	assert_int_equal(dom_value(dom, "n-changes"), jint(api, "changes"));
	assert_int_equal(dom_value(dom, "n-open"), jint(api, "ledger_open"));
	assert_int_equal(dom_value(dom, "n-refused"), jint(api, "refused"));
	assert_int_equal(dom_value(dom, "n-dossiers"), jint(api, "dossiers"));
	assert_int_equal(dom_value(dom, "n-silent"), 1);
	for (i = 0; i < 4; i++) {
		json_t *a = json_array_get(json_object_get(api, "sites"), i);
		const char *id = json_string_value(json_object_get(a, "site_id"));
		assert_int_equal(dom_site_value(dom, id, "pending"), jint(a, "pending"));
		assert_int_equal(dom_site_value(dom, id, "refused"), jint(a, "refused"));
		assert_non_null(strstr(dom, json_string_value(json_object_get(a, "name"))));
	}
	/* The silent site stands out; the others do not. */
	{
		char key[128];
		snprintf(key, sizeof(key), "<tr class=\"silent\" data-site=\"%s\"", f->s[3].id);
		assert_non_null(strstr(dom, key));
		snprintf(key, sizeof(key), "<tr class=\"silent\" data-site=\"%s\"", f->s[0].id);
		assert_null(strstr(dom, key));
	}
	/* The conflict and the refusal are listed for someone to look at, in Vietnamese. */
	assert_true(count_of(dom, "data-ledger=\"") == (size_t)jint(api, "ledger_open"));
	assert_non_null(strstr(dom, "Ghi đồng thời (bản sau thắng)"));
	assert_non_null(strstr(dom, "UBND xã Mỏ Cày"));
	/* The statistics of the report, as tables and charts. */
	report = api_json(f, "/api/report");
	assert_non_null(strstr(dom, "data-table=\"by_star\""));
	assert_non_null(strstr(dom, "data-table=\"by_unit\""));
	assert_non_null(strstr(dom, "class=\"chart\""));
	assert_non_null(strstr(dom, "Sản phẩm OCOP còn hiệu lực theo hạng sao"));
	json_decref(report);
	com_free(dom);
	screenshot(f, "dashboard-laptop.png", "1280,1800");
	screenshot(f, "dashboard-phone.png", "390,2400");
	json_decref(api);
	json_decref(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_the_token_is_required_everywhere_but_healthz, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_metrics_parse_and_their_counters_move_as_sites_sync, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_dashboard_shows_the_numbers_of_the_api_and_ocopd_status, setup,
		teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
