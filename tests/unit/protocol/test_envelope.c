/* Unit tests for protocol/envelope.c: framing, version, CRC against every bit flip. */
#include "tests/lib/testutil.h"

#include <string.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "protocol/envelope.h"

static void
sample(com_buf *b, uint32_t type)
{
	proto_wr w;
	size_t start;

	proto_wr_init(&w, b);
	start = proto_env_begin(&w, type);
	proto_wr_map(&w, 2);
	proto_wr_cstr(&w, "site");
	proto_wr_cstr(&w, "0190f0f0-0000-7000-8000-000000000001");
	proto_wr_cstr(&w, "seq");
	proto_wr_uint(&w, 42);
	assert_ok(proto_env_end(&w, start));
}

static int
sample_body(proto_rd *r)
{
	uint32_t n;
	const char *s;
	size_t len;
	uint64_t seq;

	if (proto_rd_map(r, &n) || n != 2 || proto_rd_str(r, &s, &len) ||
	    proto_rd_str(r, &s, &len) || len != 36 || proto_rd_str(r, &s, &len) ||
	    proto_rd_uint(r, &seq) || seq != 42) {
		return OCOP_EPROTO;
	}
	return proto_rd_done(r);
}

static void
test_envelope_round_trips_type_and_body(void **state)
{
	com_buf b;
	proto_env env;
	proto_rd body;

	(void)state;
	com_buf_init(&b);
	sample(&b, PROTO_MSG_PUSH);
	assert_ok(proto_env_open(b.data, b.len, &env, &body));
	assert_int_equal(env.version, PROTO_VERSION);
	assert_int_equal(env.type, PROTO_MSG_PUSH);
	assert_string_equal(proto_msg_name(env.type), "PUSH");
	assert_ok(sample_body(&body));
	com_buf_fini(&b);
}

static void
test_every_truncation_is_refused(void **state)
{
	com_buf b;
	proto_env env;
	proto_rd body;
	size_t cut;
	uint8_t *copy;

	(void)state;
	com_buf_init(&b);
	sample(&b, PROTO_MSG_HELLO);
	for (cut = 0; cut < b.len; cut++) {
		copy = com_malloc(cut);
		memcpy(copy, b.data, cut);
		assert_err(proto_env_open(copy, cut, &env, &body), OCOP_EPROTO);
		com_free(copy);
	}
	com_buf_fini(&b);
}

static void
test_every_single_bit_flip_is_refused(void **state)
{
	com_buf b;
	proto_env env;
	proto_rd body;
	size_t i;
	int bit;
	int rv;
	uint8_t *copy;

	(void)state;
	com_buf_init(&b);
	sample(&b, PROTO_MSG_PUSH);
	copy = com_malloc(b.len);
	for (i = 0; i < b.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			memcpy(copy, b.data, b.len);
			copy[i] ^= (uint8_t)(1u << bit);
			rv = proto_env_open(copy, b.len, &env, &body);
			if (rv == OCOP_OK) {
				print_error("flip of byte %zu bit %d accepted\n", i, bit);
			}
			assert_true(rv == OCOP_EPROTO || rv == OCOP_EVERSION);
		}
	}
	com_free(copy);
	com_buf_fini(&b);
}

static void
test_trailing_bytes_are_refused(void **state)
{
	com_buf b;
	proto_env env;
	proto_rd body;

	(void)state;
	com_buf_init(&b);
	sample(&b, PROTO_MSG_PULL);
	com_buf_append(&b, "\xc0", 1);
	assert_err(proto_env_open(b.data, b.len, &env, &body), OCOP_EPROTO);
	com_buf_fini(&b);
}

static void
test_other_version_is_reported_as_such(void **state)
{
	com_buf b;
	proto_wr w;
	proto_env env;
	proto_rd body;
	size_t start;

	(void)state;
	com_buf_init(&b);
	proto_wr_init(&w, &b);
	/* Hand-build a frame of version 9 with a valid CRC. */
	start = proto_env_begin(&w, PROTO_MSG_HELLO);
	b.data[start + 1] = 9; /* the version fixint follows the array header */
	proto_wr_nil(&w);
	assert_ok(proto_env_end(&w, start));
	assert_err(proto_env_open(b.data, b.len, &env, &body), OCOP_EVERSION);
	assert_int_equal(env.version, 9);
	com_buf_fini(&b);
}

static void
test_unknown_message_type_is_refused(void **state)
{
	com_buf b;
	proto_env env;
	proto_rd body;

	(void)state;
	com_buf_init(&b);
	sample(&b, 77);
	assert_err(proto_env_open(b.data, b.len, &env, &body), OCOP_EPROTO);
	assert_string_equal(proto_msg_name(77), "UNKNOWN");
	com_buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_envelope_round_trips_type_and_body),
	    cmocka_unit_test(test_every_truncation_is_refused),
	    cmocka_unit_test(test_every_single_bit_flip_is_refused),
	    cmocka_unit_test(test_trailing_bytes_are_refused),
	    cmocka_unit_test(test_other_version_is_reported_as_such),
	    cmocka_unit_test(test_unknown_message_type_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
