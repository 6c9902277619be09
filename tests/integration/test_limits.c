/*
 * integration.limits: no client can hold the server. A real `ocopd` on
 * 127.0.0.1 and hostile peers speaking nng directly: one pipelines PULLs
 * without reading a reply, one sends a PUSH far above the batch limit the
 * server advertised; honest sites sync all the while. And a site's first
 * sync after a bulk push does not page through its own history.
 */
#include "tests/lib/testutil.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "common/link/dial.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "protocol/change.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/session.h"
#include "tests/lib/enrol.h"
#include "tests/lib/proc.h"

typedef struct fx {
	char *dir;        /* temp dir, owned */
	char ocop[512];   /* programs */
	char ocopd[512];
	char data[512];
	int port;
	char url[64];     /* tcp://127.0.0.1:port */
	pid_t server;     /* ocopd serve */
	char a[37];       /* honest site a */
	char a_cred[129];
	char h[37];       /* the hostile site (registered: it passes authentication) */
	char h_cred[129];
} fx;

static int
ocop(fx *f, const char *db, char **out, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
ocop(fx *f, const char *db, char **out, const char *fmt, ...)
{
	char args[1024];
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
		if (rc != 0) {
			print_error("ocop %s: %s\n", args, o);
		}
		com_free(o);
	}
	return rc;
}

static bool
log_has(fx *f, const char *text)
{
	char path[700];
	char *s;
	bool yes;
	int i;

	snprintf(path, sizeof(path), "%s/prov.log", f->dir);
	for (i = 0; i < 150; i++) {
		s = tu_slurp(path);
		yes = s != NULL && strstr(s, text) != NULL;
		com_free(s);
		if (yes) {
			return true;
		}
		{
			struct timespec ts = {0, 20000000};
			nanosleep(&ts, NULL);
		}
	}
	return false;
}

static int
site(fx *f, const char *name, char id[37], char *cred, size_t credcap)
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
	ts.url = f->url;
	return te_site_add(&ts, id, cred, credcap, NULL);
}

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	char db[600];
	char log[600];
	char conf[600];

	f->dir = tu_mkdtemp();
	tu_bin(f->ocop, sizeof(f->ocop), "ocop");
	tu_bin(f->ocopd, sizeof(f->ocopd), "ocopd");
	tu_src(f->data, sizeof(f->data), "data");
	setenv("OCOP_DATA_DIR", f->data, 1);
	f->port = tp_free_port();
	snprintf(f->url, sizeof(f->url), "tcp://127.0.0.1:%d", f->port);
	if (tu_run(NULL, 1, "%s init --db %s/prov.db --role province --scope 83 >/dev/null", f->ocopd, f->dir) != 0 ||
	    site(f, "a", f->a, f->a_cred, sizeof(f->a_cred)) != 0 || site(f, "h", f->h, f->h_cred, sizeof(f->h_cred)) != 0) {
		return -1;
	}
	snprintf(db, sizeof(db), "%s/prov.db", f->dir);
	snprintf(log, sizeof(log), "%s/prov.log", f->dir);
	snprintf(conf, sizeof(conf), "%s/ocopd.conf", f->dir);
	{
		/* A limit of 512 KiB (the default is 2 MiB), so the oversized PUSHes stay small. */
		FILE *c = fopen(conf, "w");
		char *argv[] = {f->ocopd, "serve", "--config", conf, "--db", db, "--listen", f->url, NULL};
		if (c == NULL || fputs("max_batch = 524288\n", c) < 0 || fclose(c) != 0) {
			return -1;
		}
		f->server = tp_spawn(argv, log);
	}
	if (f->server < 0 || tp_wait_port(f->port, 5000) != 0) {
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

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Write n subjects at site name's replica in one transaction (as the CLI would, faster). */
static void
bulk(fx *f, const char *name, int n)
{
	static const char *const cols[] = {"name", "kind", "unit_code"};
	char path[600];
	char id[37];
	char label[64];
	sto_opts o;
	sto_db *db = NULL;
	int i;

	memset(&o, 0, sizeof(o));
	o.user = "bulk";
	snprintf(path, sizeof(path), "%s/%s.db", f->dir, name);
	assert_ok(sto_open(&db, path, &o));
	assert_ok(sto_begin(db));
	for (i = 0; i < n; i++) {
		const char *vals[3];
		snprintf(label, sizeof(label), "Hợp tác xã số %d", i);
		vals[0] = label;
		vals[1] = "htx";
		vals[2] = "83-100";
		assert_ok(sto_row_insert(db, "subject", cols, vals, 3, id));
	}
	assert_ok(sto_commit(db));
	sto_close(db);
}

/* A PULL of site h from cursor, encoded. */
static void
pull_of(fx *f, uint64_t cursor, uint64_t max_bytes, com_buf *out)
{
	proto_pull m;

	memset(&m, 0, sizeof(m));
	snprintf(m.site, sizeof(m.site), "%s", f->h);
	snprintf(m.credential, sizeof(m.credential), "%s", f->h_cred);
	m.cursor = cursor;
	m.max_bytes = max_bytes;
	com_buf_reset(out);
	assert_ok(proto_pull_encode(out, &m));
}

static void
test_a_peer_pipelining_pulls_without_reading_holds_nobody_up(void **state)
{
	fx *f = *state;
	nng_socket raw;
	com_buf req;
	double t0;
	char *o = NULL;
	int i;

	/* Something to pull, so the unread replies are real pages. */
	bulk(f, "a", 3000);
	assert_int_equal(ocop(f, "a", NULL, "sync"), 0);
	/* A raw REQ socket sends request after request and never reads a reply. */
	assert_int_equal(nng_req0_open_raw(&raw), 0);
	assert_int_equal(nng_dial(raw, f->url, NULL, 0), 0);
	com_buf_init(&req);
	pull_of(f, 0, 0, &req);
	for (i = 0; i < 16; i++) {
		nng_msg *m = NULL;
		assert_int_equal(nng_msg_alloc(&m, 0), 0);
		assert_int_equal(nng_msg_header_append_u32(m, 0x80000000u | (uint32_t)(i + 1)), 0);
		assert_int_equal(nng_msg_append(m, req.data, req.len), 0);
		if (nng_sendmsg(raw, m, 0) != 0) {
			nng_msg_free(m);
			break;
		}
	}
	/* Honest sites are served at once all the same. */
	t0 = now_s();
	for (i = 0; i < 3; i++) {
		assert_int_equal(ocop(f, "a", NULL, "subject add --name 'HTX %d' --kind htx --unit 83-100", i), 0);
		assert_int_equal(ocop(f, "a", &o, "sync --timeout 5"), 0);
		com_free(o);
	}
	assert_true(now_s() - t0 < 10.0);
	assert_true(log_has(f, "requests in flight without reading replies"));
	nng_close(raw);
	com_buf_fini(&req);
}

/*
 * Build a PUSH of 4,000 changes of about 300 text bytes, some 1.3 MB of
 * records, three times the advertised 512 KiB. `same`: every change carries
 * the same text, so the batch deflates to a few kilobytes on the wire and is
 * too big only once inflated; otherwise the texts differ (and do not deflate).
 */
static void
big_push(fx *f, com_buf *req, bool same)
{
	proto_push hdr;
	proto_batch b;
	proto_change c;
	proto_value v;
	proto_wr w;
	com_buf cells;
	char text[300];
	uint64_t rnd = 0x9e3779b97f4a7c15ull;
	int i;
	int k;

	memset(&hdr, 0, sizeof(hdr));
	snprintf(hdr.site, sizeof(hdr.site), "%s", f->h);
	snprintf(hdr.credential, sizeof(hdr.credential), "%s", f->h_cred);
	com_buf_init(&cells);
	assert_ok(proto_push_begin(&b, req, &hdr, 8u << 20));
	for (i = 0; i < 4000; i++) {
		memset(text, 'x', sizeof(text) - 1);
		text[sizeof(text) - 1] = 0;
		for (k = 0; !same && k + 1 < (int)sizeof(text); k++) {
			rnd ^= rnd << 13; /* xorshift: text deflate cannot shrink much */
			rnd ^= rnd >> 7;
			rnd ^= rnd << 17;
			text[k] = (char)('a' + rnd % 26);
		}
		com_buf_reset(&cells);
		proto_wr_init(&w, &cells);
		memset(&v, 0, sizeof(v));
		v.type = PROTO_V_TEXT;
		v.p = (const uint8_t *)text;
		v.len = strlen(text);
		proto_cells_begin(&w, 1);
		proto_cell_put(&w, "name", &v, 0);
		assert_ok(proto_wr_error(&w));
		memset(&c, 0, sizeof(c));
		snprintf(c.site, sizeof(c.site), "%s", f->h);
		c.seq = (uint64_t)i + 1;
		snprintf(c.tbl, sizeof(c.tbl), "subject");
		snprintf(c.row, sizeof(c.row), "0190f0f0-1111-7000-8000-%012x", i);
		c.hlc = 1;
		c.cells = cells.data;
		c.cells_len = cells.len;
		assert_ok(proto_batch_add(&b, &c));
	}
	assert_ok(proto_push_end(&b));
	com_buf_fini(&cells);
}

/* Send a raw request and expect the server's ETOOBIG. */
static void
expect_too_big(fx *f, const com_buf *req)
{
	lnk_dialer *d = NULL;
	lnk_dial_opts o;
	lnk_transport t;
	proto_env env;
	proto_rd body;
	proto_error e;
	com_buf reply;
	char err[512];

	memset(&o, 0, sizeof(o));
	o.url = f->url;
	o.timeout_ms = 5000;
	assert_ok(lnk_dialer_open(&d, &o, err, sizeof(err)));
	t = lnk_dialer_transport(d);
	com_buf_init(&reply);
	assert_ok(t.roundtrip(t.arg, req->data, req->len, &reply));
	assert_ok(proto_env_open(reply.data, reply.len, &env, &body));
	assert_int_equal(env.type, PROTO_MSG_ERROR);
	assert_ok(proto_error_decode(&body, &e));
	assert_int_equal(e.code, OCOP_ETOOBIG);
	assert_non_null(strstr(e.text, "larger than this server takes"));
	lnk_dialer_close(d);
	com_buf_fini(&reply);
}

static void
test_a_push_above_the_batch_limit_is_refused_with_a_clear_error(void **state)
{
	fx *f = *state;
	com_buf req;
	char *out = NULL;

	com_buf_init(&req);
	/* Past the limit on the wire (deflated, still over 512 KiB). */
	big_push(f, &req, false);
	assert_true(req.len > 600 * 1024);
	expect_too_big(f, &req);
	/* Small on the wire, past the limit once inflated: weighed by what it inflates to. */
	com_buf_reset(&req);
	big_push(f, &req, true);
	assert_true(req.len < 512 * 1024);
	expect_too_big(f, &req);
	/* Nothing of either was applied, and honest sites sync as usual. */
	assert_int_equal(ocop(f, "a", NULL, "subject add --name 'HTX Dừa' --kind htx --unit 83-100"), 0);
	assert_int_equal(ocop(f, "a", &out, "sync --json"), 0);
	assert_non_null(strstr(out, "\"pushed\": 1"));
	com_free(out);
	assert_int_equal(ocop(f, "h", &out, "sync --json"), 0);
	assert_non_null(strstr(out, "\"pulled\": 1"));
	com_free(out);
	com_buf_fini(&req);
}

static void
test_the_first_sync_after_a_bulk_push_does_not_page_through_its_own_history(void **state)
{
	fx *f = *state;
	lnk_dialer *d = NULL;
	lnk_dial_opts o;
	lnk_transport t;
	proto_env env;
	proto_rd body;
	proto_pull_ok ok;
	com_buf req;
	com_buf reply;
	char err[512];
	char *out = NULL;

	/* More of a's own changes than one PULL examines (5,000). */
	bulk(f, "a", 6000);
	assert_int_equal(ocop(f, "a", &out, "sync --json"), 0);
	assert_non_null(strstr(out, "\"pushed\": 6000"));
	assert_non_null(strstr(out, "\"pulled\": 0"));
	com_free(out);
	/* As a's first PULL from the start: one page, nothing in it, the cursor at the log's end. */
	memset(&o, 0, sizeof(o));
	o.url = f->url;
	o.timeout_ms = 5000;
	assert_ok(lnk_dialer_open(&d, &o, err, sizeof(err)));
	t = lnk_dialer_transport(d);
	com_buf_init(&req);
	com_buf_init(&reply);
	{
		proto_pull m;
		memset(&m, 0, sizeof(m));
		snprintf(m.site, sizeof(m.site), "%s", f->a);
		snprintf(m.credential, sizeof(m.credential), "%s", f->a_cred);
		assert_ok(proto_pull_encode(&req, &m));
	}
	assert_ok(t.roundtrip(t.arg, req.data, req.len, &reply));
	assert_ok(proto_env_open(reply.data, reply.len, &env, &body));
	assert_int_equal(env.type, PROTO_MSG_PULL_OK);
	assert_ok(proto_pull_ok_decode(&body, &ok));
	assert_int_equal(ok.changes.count, 0);
	assert_false(ok.more);
	assert_int_equal(ok.next_cursor, 6000);
	lnk_dialer_close(d);
	com_buf_fini(&req);
	com_buf_fini(&reply);
	/* Another site of the same units gets all of it, page by page. */
	assert_int_equal(ocop(f, "h", &out, "sync --json"), 0);
	assert_non_null(strstr(out, "\"pulled\": 6000"));
	com_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_peer_pipelining_pulls_without_reading_holds_nobody_up, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_push_above_the_batch_limit_is_refused_with_a_clear_error, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_the_first_sync_after_a_bulk_push_does_not_page_through_its_own_history,
		setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
