/*
 * Unit tests of the shared batch budget (server/service.c,
 * srv_service_batch): with many sites connected at once each is told a share
 * of batch_memory at HELLO, so the server's memory for batches in flight stays
 * bounded whatever the number of connections; one site alone gets max_batch.
 */
#include "tests/lib/testutil.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/util/buf.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/session.h"
#include "server/registry.h"
#include "server/service.h"

typedef struct fx {
	char *dir;
	sto_db *db;
	srv_service svc;
	char site[37];
	char cred[SRV_CREDENTIAL_LEN + 1];
} fx;

static int
setup(void **state)
{
	fx *f = calloc(1, sizeof(*f));
	char path[1024];
	sto_opts o;

	assert_non_null(f);
	f->dir = tu_mkdtemp();
	assert_non_null(f->dir);
	snprintf(path, sizeof(path), "%s/prov.db", f->dir);
	memset(&o, 0, sizeof(o));
	o.create = true;
	o.user = "test";
	assert_int_equal(sto_open(&f->db, path, &o), OCOP_OK);
	assert_int_equal(sto_site_init(f->db, NULL, "province", "83"), OCOP_OK);
	assert_int_equal(srv_registry_add(f->db, NULL, "commune", "83-28882", "Phú Sơn", f->site, f->cred), OCOP_OK);
	srv_service_init(&f->svc, f->db, NULL, NULL);
	f->svc.max_batch = 512u * 1024u;
	f->svc.batch_memory = 32u * 1024u * 1024u;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	sto_close(f->db);
	tu_rmtree(f->dir);
	free(f);
	return 0;
}

/* The budget the server gives the site in HELLO_OK with `links` connections open. */
static uint64_t
hello_budget(fx *f, int links)
{
	proto_hello h;
	proto_hello_ok ok;
	proto_env env;
	proto_rd body;
	com_buf req;
	com_buf reply;

	atomic_store(&f->svc.links, links);
	memset(&h, 0, sizeof(h));
	snprintf(h.site, sizeof(h.site), "%s", f->site);
	snprintf(h.credential, sizeof(h.credential), "%s", f->cred);
	snprintf(h.role, sizeof(h.role), "commune");
	h.protocol_version = PROTO_VERSION;
	h.schema_version = STO_SCHEMA_VERSION;
	com_buf_init(&req);
	com_buf_init(&reply);
	assert_int_equal(proto_hello_encode(&req, &h), OCOP_OK);
	assert_int_equal(srv_handle(&f->svc, req.data, req.len, &reply), OCOP_OK);
	assert_int_equal(proto_env_open(reply.data, reply.len, &env, &body), OCOP_OK);
	assert_int_equal(env.type, PROTO_MSG_HELLO_OK);
	assert_int_equal(proto_hello_ok_decode(&body, &ok), OCOP_OK);
	com_buf_fini(&req);
	com_buf_fini(&reply);
	return ok.max_batch_bytes;
}

static void
test_one_site_alone_gets_the_whole_batch(void **state)
{
	fx *f = *state;

	assert_int_equal(hello_budget(f, 0), 512u * 1024u);
	assert_int_equal(hello_budget(f, 1), 512u * 1024u);
	/* 32 MiB over 32 connections, a request and a reply each, is exactly max_batch. */
	assert_int_equal(hello_budget(f, 32), 512u * 1024u);
	assert_true(hello_budget(f, 33) < 512u * 1024u);
}

static void
test_many_sites_at_once_share_the_batch_memory(void **state)
{
	fx *f = *state;

	assert_int_equal(hello_budget(f, 200), 32u * 1024u * 1024u / 400u);
	assert_true(hello_budget(f, 200) * 2u * 200u <= f->svc.batch_memory);
	/* Never below the floor, however many connect. */
	assert_int_equal(hello_budget(f, 4000), SRV_MIN_BATCH);
	/* And back up when they have gone. */
	assert_int_equal(hello_budget(f, 2), 512u * 1024u);
}

static void
test_sharing_off_gives_every_site_max_batch(void **state)
{
	fx *f = *state;

	f->svc.batch_memory = 0;
	assert_int_equal(hello_budget(f, 4000), 512u * 1024u);
	/* A max_batch below the share stays the bound. */
	f->svc.batch_memory = 32u * 1024u * 1024u;
	f->svc.max_batch = 100u * 1024u;
	assert_int_equal(hello_budget(f, 100), 100u * 1024u);
	assert_int_equal(srv_service_batch(&f->svc), 100u * 1024u);
}

/* Send a HELLO framed as protocol `version`; return the reply's framing version and its ERROR. */
static uint32_t
hello_of_version(fx *f, uint32_t version, proto_error *e)
{
	proto_wr w;
	proto_env env;
	proto_rd body;
	com_buf req;
	com_buf reply;
	size_t start;

	com_buf_init(&req);
	com_buf_init(&reply);
	proto_wr_init(&w, &req);
	start = proto_env_begin_v(&w, PROTO_MSG_HELLO, version);
	proto_wr_map(&w, 0);
	assert_ok(proto_env_end(&w, start));
	assert_ok(srv_handle(&f->svc, req.data, req.len, &reply));
	assert_err(proto_env_open(reply.data, reply.len, &env, &body), version < PROTO_VERSION ? OCOP_EVERSION : OCOP_OK);
	assert_int_equal(env.type, PROTO_MSG_ERROR);
	assert_ok(proto_error_decode(&body, e));
	com_buf_fini(&req);
	com_buf_fini(&reply);
	return env.version;
}

static void
test_a_peer_of_another_protocol_version_is_told_why_in_its_framing(void **state)
{
	fx *f = *state;
	proto_error e;

	/* A first-version site reads the refusal: it is framed as version 1. */
	assert_int_equal(hello_of_version(f, 1, &e), 1);
	assert_int_equal(e.code, OCOP_EVERSION);
	assert_string_equal(e.text, "protocol version 1 is not supported (this server speaks 2): upgrade ocop");
	/* A newer one gets this server's framing, and is told to upgrade the server. */
	assert_int_equal(hello_of_version(f, 3, &e), PROTO_VERSION);
	assert_int_equal(e.code, OCOP_EVERSION);
	assert_non_null(strstr(e.text, "upgrade this server"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_one_site_alone_gets_the_whole_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_many_sites_at_once_share_the_batch_memory, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sharing_off_gives_every_site_max_batch, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_peer_of_another_protocol_version_is_told_why_in_its_framing, setup,
		teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
