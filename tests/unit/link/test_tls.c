/*
 * Unit tests for common/link/tls.c, pki.c and dial.c: mutual TLS over nng
 * between a REP listener and the dialling end on 127.0.0.1, the peer's
 * certificate as the server sees it, and each way a connection is refused
 * (unknown CA, expired certificate, no certificate, plain against TLS, a
 * server certificate that names another host) with its own error code.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "common/link/dial.h"
#include "common/link/pki.h"
#include "common/link/tls.h"
#include "common/util/alloc.h"
#include "tests/lib/proc.h"

#define SITE_A "0190f0f0-0000-7000-8000-00000000000a"
#define SITE_B "0190f0f0-0000-7000-8000-00000000000b"

typedef struct fx {
	char *ca_crt, *ca_key;     /* the province's CA */
	char *srv_crt, *srv_key;   /* the server's certificate for 127.0.0.1 */
	char *a_crt, *a_key;       /* site A's certificate */
	nng_socket rep;            /* the server socket */
	bool rep_open;
	nng_thread *echo;          /* answers each request with the peer's CN */
	nng_mtx *mtx;
	char seen_cn[65];          /* the CN the pipe callback saw last */
	char url[64];
} fx;

static fx F;

/* Pipe callback: what the server learns about a connecting peer. */
static void
on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	lnk_tls_peer peer;

	(void)arg;
	if (ev == NNG_PIPE_EV_ADD_POST && lnk_tls_pipe_peer(p, &peer) == OCOP_OK) {
		nng_mtx_lock(F.mtx);
		snprintf(F.seen_cn, sizeof(F.seen_cn), "%s", peer.cn);
		nng_mtx_unlock(F.mtx);
	}
}

static void
echo_loop(void *arg)
{
	nng_msg *m;

	(void)arg;
	while (nng_recvmsg(F.rep, &m, 0) == 0) {
		lnk_tls_peer peer;
		char cn[80] = "none";
		if (lnk_tls_pipe_peer(nng_msg_get_pipe(m), &peer) == OCOP_OK) {
			snprintf(cn, sizeof(cn), "%s", peer.cn);
		}
		nng_msg_clear(m);
		nng_msg_append(m, cn, strlen(cn));
		if (nng_sendmsg(F.rep, m, 0) != 0) {
			nng_msg_free(m);
		}
	}
}

static void
start_server(bool tls)
{
	nng_listener l;
	nng_tls_config *cfg = NULL;
	char err[256];

	snprintf(F.url, sizeof(F.url), "%s://127.0.0.1:%d", tls ? "tls+tcp" : "tcp", tp_free_port());
	assert_int_equal(nng_rep0_open(&F.rep), 0);
	F.rep_open = true;
	assert_int_equal(nng_pipe_notify(F.rep, NNG_PIPE_EV_ADD_POST, on_pipe, NULL), 0);
	assert_int_equal(nng_listener_create(&l, F.rep, F.url), 0);
	if (tls) {
		assert_ok(lnk_tls_config_open(&cfg, true, F.ca_crt, F.srv_crt, F.srv_key, NULL, err, sizeof(err)));
		assert_int_equal(nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg), 0);
		nng_tls_config_free(cfg);
	}
	assert_int_equal(nng_listener_start(l, 0), 0);
	assert_int_equal(nng_thread_create(&F.echo, echo_loop, NULL), 0);
}

static int
setup(void **state)
{
	lnk_pki_req r;
	char err[256];

	(void)state;
	memset(&F, 0, sizeof(F));
	assert_ok(lnk_tls_install(NULL));
	assert_int_equal(nng_mtx_alloc(&F.mtx), 0);
	assert_ok(lnk_pki_ca_create("OCOP CA tỉnh Bến Tre", 30, &F.ca_crt, &F.ca_key, err, sizeof(err)));
	memset(&r, 0, sizeof(r));
	r.cn = "0190f0f0-0000-7000-8000-0000000000ff";
	r.server = true;
	r.hosts = "localhost,127.0.0.1,::1";
	r.days = 30;
	assert_ok(lnk_pki_issue(F.ca_crt, F.ca_key, &r, &F.srv_crt, &F.srv_key, err, sizeof(err)));
	memset(&r, 0, sizeof(r));
	r.cn = SITE_A;
	r.role = "commune";
	r.days = 30;
	assert_ok(lnk_pki_issue(F.ca_crt, F.ca_key, &r, &F.a_crt, &F.a_key, err, sizeof(err)));
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	if (F.rep_open) {
		nng_close(F.rep);
	}
	if (F.echo != NULL) {
		nng_thread_destroy(F.echo);
	}
	nng_mtx_free(F.mtx);
	com_free(F.ca_crt);
	com_free(F.ca_key);
	com_free(F.srv_crt);
	com_free(F.srv_key);
	com_free(F.a_crt);
	com_free(F.a_key);
	return 0;
}

/* Dial F.url with the given identity; on success do one round trip and return the CN echoed. */
static int
dial(const char *ca, const char *crt, const char *key, char *echoed, size_t cap, char *err, size_t errlen)
{
	lnk_dial_opts o;
	lnk_dialer *d = NULL;
	com_buf reply;
	int rv;

	memset(&o, 0, sizeof(o));
	o.url = F.url;
	o.timeout_ms = 10000;
	o.ca_pem = ca;
	o.cert_pem = crt;
	o.key_pem = key;
	rv = lnk_dialer_open(&d, &o, err, errlen);
	if (rv != OCOP_OK) {
		return rv;
	}
	com_buf_init(&reply);
	rv = lnk_dialer_roundtrip(d, (const uint8_t *)"hi", 2, &reply);
	if (rv == OCOP_OK) {
		snprintf(echoed, cap, "%.*s", (int)reply.len, (const char *)reply.data);
	}
	com_buf_fini(&reply);
	lnk_dialer_close(d);
	return rv;
}

/*
 * A client certificate the server refuses: the dial fails and the server never
 * takes the connection. Over TLS 1.3 the client sends its certificate after
 * the server's Finished and learns of the refusal only from the alert that
 * follows; on a loaded machine (the CI's Asan run) the alert once came after
 * the client gave up, so a timeout is as much a refusal here as ETLS. What
 * matters is that no request of it ever reached the server.
 */
static void
assert_refused_by_server(int rv, const char *err)
{
	assert_true(rv == OCOP_ETLS || rv == OCOP_ETIMEDOUT);
	if (rv == OCOP_ETLS) {
		assert_non_null(strstr(err, "TLS handshake"));
	}
	nng_mtx_lock(F.mtx);
	assert_string_equal(F.seen_cn, "");
	nng_mtx_unlock(F.mtx);
}

static void
test_mutual_tls_binds_the_connection_to_the_site_named_in_its_certificate(void **state)
{
	char echoed[80] = "";
	char err[512];

	(void)state;
	start_server(true);
	assert_ok(dial(F.ca_crt, F.a_crt, F.a_key, echoed, sizeof(echoed), err, sizeof(err)));
	assert_string_equal(echoed, SITE_A);
	nng_mtx_lock(F.mtx);
	assert_string_equal(F.seen_cn, SITE_A);
	nng_mtx_unlock(F.mtx);
}

static void
test_a_certificate_of_another_ca_is_refused_as_a_tls_failure(void **state)
{
	char *oca = NULL, *okey = NULL, *crt = NULL, *key = NULL;
	char echoed[80];
	char err[512];
	lnk_pki_req r;

	(void)state;
	start_server(true);
	assert_ok(lnk_pki_ca_create("Another CA", 30, &oca, &okey, err, sizeof(err)));
	memset(&r, 0, sizeof(r));
	r.cn = SITE_B;
	r.days = 30;
	assert_ok(lnk_pki_issue(oca, okey, &r, &crt, &key, err, sizeof(err)));
	/* The site trusts the right CA but its own certificate comes from another. */
	assert_refused_by_server(dial(F.ca_crt, crt, key, echoed, sizeof(echoed), err, sizeof(err)), err);
	/* And a site that trusts another CA refuses the server. */
	assert_err(dial(oca, crt, key, echoed, sizeof(echoed), err, sizeof(err)), OCOP_ETLS);
	assert_non_null(strstr(err, "server certificate refused"));
	com_free(oca);
	com_free(okey);
	com_free(crt);
	com_free(key);
}

static void
test_an_expired_certificate_is_refused(void **state)
{
	char *crt = NULL, *key = NULL;
	char echoed[80];
	char err[512];
	lnk_pki_req r;

	(void)state;
	start_server(true);
	memset(&r, 0, sizeof(r));
	r.cn = SITE_A;
	r.days = 1;
	r.start_offset_s = -3 * 86400;
	assert_ok(lnk_pki_issue(F.ca_crt, F.ca_key, &r, &crt, &key, err, sizeof(err)));
	assert_err(lnk_pki_check(F.ca_crt, crt, key, err, sizeof(err)), OCOP_EINPUT);
	assert_non_null(strstr(err, "expired"));
	assert_refused_by_server(dial(F.ca_crt, crt, key, echoed, sizeof(echoed), err, sizeof(err)), err);
	com_free(crt);
	com_free(key);
}

static void
test_a_site_certificate_cannot_serve_as_the_server(void **state)
{
	char echoed[80];
	char err[512];

	(void)state;
	/* A server presenting a site's (client-only) certificate is refused by the site. */
	com_free(F.srv_crt);
	com_free(F.srv_key);
	F.srv_crt = com_strdup(F.a_crt);
	F.srv_key = com_strdup(F.a_key);
	start_server(true);
	assert_err(dial(F.ca_crt, F.a_crt, F.a_key, echoed, sizeof(echoed), err, sizeof(err)), OCOP_ETLS);
}

static void
test_plain_and_tls_ends_do_not_talk(void **state)
{
	char echoed[80];
	char err[512];
	char tls_url[64];

	(void)state;
	start_server(true);
	snprintf(tls_url, sizeof(tls_url), "%s", F.url);
	/* A plain client to the TLS server. */
	memmove(F.url, F.url + 4, strlen(F.url + 4) + 1);
	assert_int_not_equal(dial(NULL, NULL, NULL, echoed, sizeof(echoed), err, sizeof(err)), OCOP_OK);
	nng_close(F.rep);
	F.rep_open = false;
	nng_thread_destroy(F.echo);
	F.echo = NULL;
	/* A TLS client to a plain server. */
	start_server(false);
	memmove(F.url + 10, F.url + 6, strlen(F.url + 6) + 1);
	memcpy(F.url, "tls+tcp://", 10);
	assert_err(dial(F.ca_crt, F.a_crt, F.a_key, echoed, sizeof(echoed), err, sizeof(err)), OCOP_ETLS);
}

static void
test_dial_failures_say_what_went_wrong(void **state)
{
	char echoed[80];
	char err[512];

	(void)state;
	snprintf(F.url, sizeof(F.url), "tcp://127.0.0.1:%d", tp_free_port());
	assert_err(dial(NULL, NULL, NULL, echoed, sizeof(echoed), err, sizeof(err)), OCOP_EREFUSED);
	assert_non_null(strstr(err, "refused"));
	snprintf(F.url, sizeof(F.url), "tcp://no-such-host.invalid:7450");
	assert_err(dial(NULL, NULL, NULL, echoed, sizeof(echoed), err, sizeof(err)), OCOP_EHOST);
	assert_non_null(strstr(err, "unknown host"));
	snprintf(F.url, sizeof(F.url), "tls+tcp://127.0.0.1:%d", tp_free_port());
	assert_err(dial(NULL, NULL, NULL, echoed, sizeof(echoed), err, sizeof(err)), OCOP_EINVAL);
	snprintf(F.url, sizeof(F.url), "nonsense");
	assert_err(dial(NULL, NULL, NULL, echoed, sizeof(echoed), err, sizeof(err)), OCOP_EINVAL);
}

static void
test_plain_remote_urls_are_recognised(void **state)
{
	(void)state;
	assert_false(lnk_url_plain_remote("tcp://127.0.0.1:7450"));
	assert_false(lnk_url_plain_remote("tcp://[::1]:7450"));
	assert_false(lnk_url_plain_remote("tcp://localhost:7450"));
	assert_false(lnk_url_plain_remote("tls+tcp://0.0.0.0:7450"));
	assert_false(lnk_url_plain_remote("ipc:///tmp/x"));
	assert_true(lnk_url_plain_remote("tcp://0.0.0.0:7450"));
	assert_true(lnk_url_plain_remote("tcp://ocop.example.gov.vn:7450"));
	assert_true(lnk_url_plain_remote("tcp://10.1.2.3:7450"));
}

static void
test_certificate_info_names_the_site(void **state)
{
	lnk_tls_peer p;
	char err[256];

	(void)state;
	assert_ok(lnk_pki_cert_info(F.a_crt, &p));
	assert_string_equal(p.cn, SITE_A);
	assert_int_equal(strlen(p.sha256), 64);
	assert_ok(lnk_pki_check(F.ca_crt, F.a_crt, F.a_key, err, sizeof(err)));
	assert_err(lnk_pki_check(F.ca_crt, F.a_crt, F.srv_key, err, sizeof(err)), OCOP_EINPUT);
	assert_err(lnk_pki_cert_info("not a certificate", &p), OCOP_EINPUT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		test_mutual_tls_binds_the_connection_to_the_site_named_in_its_certificate, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_certificate_of_another_ca_is_refused_as_a_tls_failure, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_an_expired_certificate_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_site_certificate_cannot_serve_as_the_server, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plain_and_tls_ends_do_not_talk, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_dial_failures_say_what_went_wrong, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_plain_remote_urls_are_recognised, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_certificate_info_names_the_site, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
