/*
 * Unit tests for common/link/session.c, the one session client that the
 * site's sync and the province's upstream link share: against a scripted
 * server (a transport that answers from a list), the batch budget is agreed
 * below the server's limit, an ERROR becomes its code and the server's text,
 * a server of the wrong role is refused, PULL pages follow the cursor and end
 * with an ACK of it, a cursor that goes back is refused, and backoff stays
 * within its bounds.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/link/session.h"
#include "common/util/buf.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/session.h"

#define SITE "0190f0f0-0000-7000-8000-00000000000a"
#define SERVER "0190f0f0-0000-7000-8000-0000000000ff"

/* A scripted server: answers requests from a list of encoded replies, recording each request. */
typedef struct script {
	com_buf replies[8]; /* the answers, in order */
	int n;              /* how many */
	int next;           /* the next to give */
	uint32_t types[8];  /* the types of the requests seen */
	uint64_t last_ack;  /* the cursor of the last ACK seen */
	int fail;           /* nonzero: fail every round trip with this code */
} script;

static int
script_roundtrip(void *arg, const uint8_t *req, size_t len, com_buf *reply)
{
	script *s = arg;
	proto_env env;
	proto_rd body;
	int i;

	if (s->fail) {
		return s->fail;
	}
	assert_ok(proto_env_open(req, len, &env, &body));
	s->types[s->next < 8 ? s->next : 7] = env.type;
	if (env.type == PROTO_MSG_ACK) {
		proto_ack a;
		assert_ok(proto_ack_decode(&body, &a));
		s->last_ack = a.cursor;
	}
	assert_true(s->next < s->n);
	i = s->next++;
	return com_buf_append(reply, s->replies[i].data, s->replies[i].len);
}

static void
script_hello_ok(script *s, const char *role, uint64_t max_batch)
{
	proto_hello_ok h;

	memset(&h, 0, sizeof(h));
	snprintf(h.server_site, sizeof(h.server_site), "%s", SERVER);
	snprintf(h.server_role, sizeof(h.server_role), "%s", role);
	h.max_batch_bytes = max_batch;
	h.schema_version = 3;
	com_buf_init(&s->replies[s->n]);
	assert_ok(proto_hello_ok_encode(&s->replies[s->n++], &h));
}

static void
script_page(script *s, uint64_t next, bool more)
{
	proto_batch b;

	com_buf_init(&s->replies[s->n]);
	assert_ok(proto_pull_ok_begin(&b, &s->replies[s->n], 1 << 20));
	assert_ok(proto_pull_ok_end(&b, next, more, 7));
	s->n++;
}

static void
script_ack_ok(script *s, uint64_t cursor)
{
	proto_ack_ok a;

	a.cursor = cursor;
	com_buf_init(&s->replies[s->n]);
	assert_ok(proto_ack_ok_encode(&s->replies[s->n++], &a));
}

static void
script_error(script *s, int code, const char *text)
{
	com_buf_init(&s->replies[s->n]);
	assert_ok(proto_error_encode(&s->replies[s->n++], code, text));
}

static void
script_fini(script *s)
{
	int i;

	for (i = 0; i < s->n; i++) {
		com_buf_fini(&s->replies[i]);
	}
}

static void
open_session(lnk_session *ss, lnk_transport *t, script *sc, size_t wish, const char *peer_role, char *err,
    size_t errlen)
{
	lnk_session_opts o;

	t->roundtrip = script_roundtrip;
	t->arg = sc;
	memset(&o, 0, sizeof(o));
	o.transport = t;
	o.site = SITE;
	o.credential = "secret";
	o.role = "commune";
	o.software = "test";
	o.schema_version = 3;
	o.peer = "the server";
	o.peer_role = peer_role;
	o.max_batch = wish;
	lnk_session_init(ss, &o, err, errlen);
}

static void
test_the_budget_never_passes_the_servers_limit(void **state)
{
	script sc;
	lnk_transport t;
	lnk_session ss;
	char err[256];

	(void)state;
	memset(&sc, 0, sizeof(sc));
	script_hello_ok(&sc, "province", 4096);
	script_hello_ok(&sc, "province", 1 << 20);
	open_session(&ss, &t, &sc, 8192, NULL, err, sizeof(err));
	assert_ok(lnk_session_hello(&ss));
	assert_int_equal(ss.budget, 4096); /* the server's, smaller than the wish */
	assert_ok(lnk_session_hello(&ss));
	assert_int_equal(ss.budget, 8192); /* the wish, smaller than the server's */
	assert_string_equal(ss.hello.server_site, SERVER);
	assert_int_equal(sc.types[0], PROTO_MSG_HELLO);
	lnk_session_fini(&ss);
	script_fini(&sc);
}

static void
test_an_error_reply_becomes_its_code_and_the_servers_words(void **state)
{
	script sc;
	lnk_transport t;
	lnk_session ss;
	char err[256];

	(void)state;
	memset(&sc, 0, sizeof(sc));
	script_error(&sc, OCOP_EREVOKED, "site X was revoked");
	open_session(&ss, &t, &sc, 0, NULL, err, sizeof(err));
	assert_err(lnk_session_hello(&ss), OCOP_EREVOKED);
	assert_string_equal(err, "the server refused: site X was revoked");
	lnk_session_fini(&ss);
	/* A transport failure says there was no reply. */
	sc.fail = OCOP_ETIMEDOUT;
	open_session(&ss, &t, &sc, 0, NULL, err, sizeof(err));
	assert_err(lnk_session_hello(&ss), OCOP_ETIMEDOUT);
	assert_non_null(strstr(err, "no reply from the server"));
	lnk_session_fini(&ss);
	script_fini(&sc);
}

static void
test_a_server_of_another_protocol_version_is_named(void **state)
{
	script sc;
	lnk_transport t;
	lnk_session ss;
	char err[256];
	proto_wr w;
	size_t start;

	(void)state;
	memset(&sc, 0, sizeof(sc));
	/* A first-version server refusing us in its own framing: its words come through. */
	com_buf_init(&sc.replies[sc.n]);
	assert_ok(proto_error_encode_v(&sc.replies[sc.n++], 1, OCOP_EVERSION,
	    "protocol version 2 is not supported (this server speaks 1)"));
	/* Any other message of another version: both versions are named. */
	com_buf_init(&sc.replies[sc.n]);
	proto_wr_init(&w, &sc.replies[sc.n]);
	start = proto_env_begin_v(&w, PROTO_MSG_HELLO_OK, 1);
	proto_wr_map(&w, 0);
	assert_ok(proto_env_end(&w, start));
	sc.n++;
	open_session(&ss, &t, &sc, 0, NULL, err, sizeof(err));
	assert_err(lnk_session_hello(&ss), OCOP_EVERSION);
	assert_non_null(strstr(err, "speaks protocol version 1 and this program 2"));
	assert_non_null(strstr(err, "(this server speaks 1)"));
	lnk_session_fini(&ss);
	open_session(&ss, &t, &sc, 0, NULL, err, sizeof(err));
	assert_err(lnk_session_hello(&ss), OCOP_EVERSION);
	assert_non_null(strstr(err, "speaks protocol version 1 and this program 2: upgrade"));
	lnk_session_fini(&ss);
	script_fini(&sc);
}

static void
test_a_server_of_another_role_is_refused(void **state)
{
	script sc;
	lnk_transport t;
	lnk_session ss;
	char err[256];

	(void)state;
	memset(&sc, 0, sizeof(sc));
	script_hello_ok(&sc, "province", 4096);
	open_session(&ss, &t, &sc, 0, "national", err, sizeof(err));
	assert_err(lnk_session_hello(&ss), OCOP_EPROTO);
	assert_non_null(strstr(err, "is a province server, not a national one"));
	lnk_session_fini(&ss);
	script_fini(&sc);
}

typedef struct pages {
	int n;           /* pages taken */
	uint64_t last;   /* the last page's next cursor */
} pages;

static int
take_page(void *arg, const proto_pull_ok *ok, char *err, size_t errlen)
{
	pages *p = arg;

	(void)err;
	(void)errlen;
	p->n++;
	p->last = ok->next_cursor;
	return OCOP_OK;
}

static void
test_pages_follow_the_cursor_and_end_with_its_ack(void **state)
{
	script sc;
	lnk_transport t;
	lnk_session ss;
	pages p = {0, 0};
	uint64_t cursor = 5;
	char err[256];

	(void)state;
	memset(&sc, 0, sizeof(sc));
	script_page(&sc, 10, true);
	script_page(&sc, 20, true);
	script_page(&sc, 30, false);
	script_ack_ok(&sc, 30);
	open_session(&ss, &t, &sc, 0, NULL, err, sizeof(err));
	ss.budget = 4096;
	assert_ok(lnk_session_pull(&ss, &cursor, 100, take_page, &p));
	assert_int_equal(p.n, 3);
	assert_int_equal(cursor, 30);
	assert_int_equal(sc.last_ack, 30);
	assert_int_equal(sc.types[3], PROTO_MSG_ACK);
	lnk_session_fini(&ss);
	script_fini(&sc);
}

static void
test_a_cursor_that_goes_back_is_refused_before_the_page_is_taken(void **state)
{
	script sc;
	lnk_transport t;
	lnk_session ss;
	pages p = {0, 0};
	uint64_t cursor = 50;
	char err[256];

	(void)state;
	memset(&sc, 0, sizeof(sc));
	script_page(&sc, 40, false);
	open_session(&ss, &t, &sc, 0, NULL, err, sizeof(err));
	assert_err(lnk_session_pull(&ss, &cursor, 100, take_page, &p), OCOP_EPROTO);
	assert_int_equal(p.n, 0);
	assert_int_equal(cursor, 50);
	assert_non_null(strstr(err, "went backwards"));
	lnk_session_fini(&ss);
	script_fini(&sc);
}

static void
test_backoff_doubles_with_jitter_and_stays_capped(void **state)
{
	unsigned seed = 42;
	int f;
	int i;

	(void)state;
	for (f = 0; f < 40; f++) {
		for (i = 0; i < 20; i++) {
			long ms = lnk_backoff_ms(f, 1000, 300000, &seed);
			long full = 1000;
			int k;
			for (k = 0; k < f && full < 300000; k++) {
				full *= 2;
			}
			full = full > 300000 ? 300000 : full;
			assert_true(ms >= full / 2);
			assert_true(ms <= full);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_the_budget_never_passes_the_servers_limit),
	    cmocka_unit_test(test_an_error_reply_becomes_its_code_and_the_servers_words),
	    cmocka_unit_test(test_a_server_of_another_protocol_version_is_named),
	    cmocka_unit_test(test_a_server_of_another_role_is_refused),
	    cmocka_unit_test(test_pages_follow_the_cursor_and_end_with_its_ack),
	    cmocka_unit_test(test_a_cursor_that_goes_back_is_refused_before_the_page_is_taken),
	    cmocka_unit_test(test_backoff_doubles_with_jitter_and_stays_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
