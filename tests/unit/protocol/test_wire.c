/* Unit tests for protocol/wire.c: round trips of every type and width, hostile input. */
#include "tests/lib/testutil.h"

#include <math.h>
#include <string.h>

#include <msgpack.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "protocol/wire.h"

static const int64_t ints[] = {0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295LL,
    4294967296LL, INT64_MAX, -1, -32, -33, -128, -129, -32768, -32769, -2147483648LL,
    -2147483649LL, INT64_MIN};

static void
test_integers_of_every_width_round_trip(void **state)
{
	com_buf b;
	proto_wr w;
	proto_rd r;
	size_t i;
	int64_t v;
	uint64_t u;

	(void)state;
	com_buf_init(&b);
	proto_wr_init(&w, &b);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		proto_wr_int(&w, ints[i]);
	}
	proto_wr_uint(&w, UINT64_MAX);
	assert_ok(proto_wr_error(&w));
	proto_rd_init(&r, b.data, b.len);
	for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		assert_ok(proto_rd_int(&r, &v));
		assert_true(v == ints[i]);
	}
	/* UINT64_MAX does not fit a signed read, but does fit an unsigned one. */
	assert_err(proto_rd_int(&r, &v), OCOP_EPROTO);
	assert_ok(proto_rd_uint(&r, &u));
	assert_true(u == UINT64_MAX);
	assert_ok(proto_rd_done(&r));
	com_buf_fini(&b);
}

static void
test_negative_integer_is_refused_as_unsigned(void **state)
{
	com_buf b;
	proto_wr w;
	proto_rd r;
	uint64_t u;

	(void)state;
	com_buf_init(&b);
	proto_wr_init(&w, &b);
	proto_wr_int(&w, -5);
	proto_rd_init(&r, b.data, b.len);
	assert_err(proto_rd_uint(&r, &u), OCOP_EPROTO);
	assert_int_equal(r.pos, 0); /* cursor unmoved on error */
	com_buf_fini(&b);
}

static void
test_scalars_strings_and_binaries_round_trip(void **state)
{
	static const size_t lens[] = {0, 1, 31, 32, 255, 256, 65535, 65536, 70000};
	com_buf b;
	proto_wr w;
	proto_rd r;
	char *text = com_malloc(70000);
	const char *s;
	const uint8_t *p;
	size_t len;
	size_t i;
	bool bv;
	double d;

	(void)state;
	assert_non_null(text);
	for (i = 0; i < 70000; i++) {
		text[i] = (char)('a' + i % 26);
	}
	com_buf_init(&b);
	proto_wr_init(&w, &b);
	proto_wr_nil(&w);
	proto_wr_bool(&w, true);
	proto_wr_bool(&w, false);
	proto_wr_double(&w, 89.995);
	proto_wr_double(&w, -0.0);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		proto_wr_str(&w, text, lens[i]);
		proto_wr_bin(&w, text, lens[i]);
	}
	proto_wr_cstr(&w, "Kẹo dừa Bến Tre");
	proto_wr_cstr(&w, NULL);
	assert_ok(proto_wr_error(&w));

	proto_rd_init(&r, b.data, b.len);
	assert_ok(proto_rd_nil(&r));
	assert_ok(proto_rd_bool(&r, &bv));
	assert_true(bv);
	assert_ok(proto_rd_bool(&r, &bv));
	assert_false(bv);
	assert_ok(proto_rd_double(&r, &d));
	assert_true(d == 89.995);
	assert_ok(proto_rd_double(&r, &d));
	assert_true(d == 0.0 && signbit(d));
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_ok(proto_rd_str(&r, &s, &len));
		assert_int_equal(len, lens[i]);
		assert_memory_equal(s, text, len);
		assert_ok(proto_rd_bin(&r, &p, &len));
		assert_int_equal(len, lens[i]);
		assert_memory_equal(p, text, len);
	}
	assert_ok(proto_rd_str(&r, &s, &len));
	assert_int_equal(len, strlen("Kẹo dừa Bến Tre"));
	assert_true(proto_rd_try_nil(&r));
	assert_ok(proto_rd_done(&r));
	com_buf_fini(&b);
	com_free(text);
}

static void
test_containers_of_every_width_round_trip_and_skip(void **state)
{
	static const uint32_t counts[] = {0, 15, 16, 65535, 65536};
	com_buf b;
	proto_wr w;
	proto_rd r;
	proto_rd r2;
	uint32_t n;
	uint32_t k;
	size_t i;
	int64_t v;

	(void)state;
	com_buf_init(&b);
	proto_wr_init(&w, &b);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		proto_wr_array(&w, counts[i]);
		for (k = 0; k < counts[i]; k++) {
			proto_wr_int(&w, k);
		}
		proto_wr_map(&w, counts[i]);
		for (k = 0; k < counts[i]; k++) {
			proto_wr_uint(&w, k);
			proto_wr_cstr(&w, "v");
		}
	}
	assert_ok(proto_wr_error(&w));
	proto_rd_init(&r, b.data, b.len);
	proto_rd_init(&r2, b.data, b.len);
	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		assert_ok(proto_rd_array(&r, &n));
		assert_int_equal(n, counts[i]);
		for (k = 0; k < n; k++) {
			assert_ok(proto_rd_int(&r, &v));
			assert_int_equal(v, k);
		}
		assert_ok(proto_rd_map(&r, &n));
		assert_int_equal(n, counts[i]);
		for (k = 0; k < 2 * n; k++) {
			assert_ok(proto_rd_skip(&r));
		}
		assert_ok(proto_rd_skip(&r2));
		assert_ok(proto_rd_skip(&r2));
	}
	assert_ok(proto_rd_done(&r));
	assert_ok(proto_rd_done(&r2));
	com_buf_fini(&b);
}

static void
test_writer_output_is_valid_msgpack_for_msgpack_c(void **state)
{
	com_buf b;
	proto_wr w;
	msgpack_unpacked up;
	size_t off = 0;

	(void)state;
	com_buf_init(&b);
	proto_wr_init(&w, &b);
	proto_wr_map(&w, 2);
	proto_wr_cstr(&w, "mean");
	proto_wr_double(&w, 91.25);
	proto_wr_cstr(&w, "stars");
	proto_wr_array(&w, 2);
	proto_wr_int(&w, 5);
	proto_wr_int(&w, -1);
	assert_ok(proto_wr_error(&w));
	msgpack_unpacked_init(&up);
	assert_int_equal(msgpack_unpack_next(&up, (const char *)b.data, b.len, &off),
	    MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(off, b.len);
	assert_int_equal(up.data.type, MSGPACK_OBJECT_MAP);
	assert_int_equal(up.data.via.map.size, 2);
	assert_true(up.data.via.map.ptr[0].val.via.f64 == 91.25);
	msgpack_unpacked_destroy(&up);
	com_buf_fini(&b);
}

static void
test_float32_from_other_encoders_is_read(void **state)
{
	static const uint8_t f32[] = {0xca, 0x3f, 0xc0, 0x00, 0x00}; /* 1.5f */
	proto_rd r;
	double d;

	(void)state;
	proto_rd_init(&r, f32, sizeof(f32));
	assert_ok(proto_rd_double(&r, &d));
	assert_true(d == 1.5);
}

/* The sample: a map as a PUSH body might look. Decoding needs every byte. */
static void
sample_write(proto_wr *w)
{
	proto_wr_map(w, 3);
	proto_wr_uint(w, 1);
	proto_wr_cstr(w, "0190f0f0-0000-7000-8000-000000000001");
	proto_wr_uint(w, 2);
	proto_wr_array(w, 2);
	proto_wr_uint(w, UINT64_C(0x0190f0f000000005));
	proto_wr_int(w, -300);
	proto_wr_uint(w, 3);
	proto_wr_bin(w, "\x01\x02\x03", 3);
}

static int
sample_read(proto_rd *r)
{
	uint32_t n;
	uint64_t key;
	uint64_t u;
	int64_t i;
	const char *s;
	const uint8_t *p;
	size_t len;

	if (proto_rd_map(r, &n) || n != 3 || proto_rd_uint(r, &key) || key != 1 ||
	    proto_rd_str(r, &s, &len) || proto_rd_uint(r, &key) || key != 2 ||
	    proto_rd_array(r, &n) || n != 2 || proto_rd_uint(r, &u) || proto_rd_int(r, &i) ||
	    proto_rd_uint(r, &key) || key != 3 || proto_rd_bin(r, &p, &len) || len != 3) {
		return OCOP_EPROTO;
	}
	return proto_rd_done(r);
}

static void
test_every_truncation_of_a_sample_is_refused(void **state)
{
	com_buf b;
	proto_wr w;
	proto_rd r;
	size_t cut;
	uint8_t *copy;

	(void)state;
	com_buf_init(&b);
	proto_wr_init(&w, &b);
	sample_write(&w);
	assert_ok(proto_wr_error(&w));
	proto_rd_init(&r, b.data, b.len);
	assert_ok(sample_read(&r));
	for (cut = 0; cut < b.len; cut++) {
		/* An exact-size heap copy lets the sanitizer catch any overread. */
		copy = com_malloc(cut);
		memcpy(copy, b.data, cut);
		proto_rd_init(&r, copy, cut);
		assert_err(sample_read(&r), OCOP_EPROTO);
		proto_rd_init(&r, copy, cut);
		assert_err(proto_rd_skip(&r) == OCOP_OK && proto_rd_done(&r) == OCOP_OK
		    ? OCOP_OK : OCOP_EPROTO, OCOP_EPROTO);
		com_free(copy);
	}
	com_buf_fini(&b);
}

static void
test_hostile_counts_and_lengths_are_refused_without_allocation(void **state)
{
	static const uint8_t arr32[] = {0xdd, 0xff, 0xff, 0xff, 0xff, 0x01};
	static const uint8_t map32[] = {0xdf, 0x7f, 0xff, 0xff, 0xff, 0x01, 0x02};
	static const uint8_t str32[] = {0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'};
	static const uint8_t bin16[] = {0xc5, 0x01, 0x00, 'a'};
	static const uint8_t never[] = {0xc1};
	proto_rd r;
	uint32_t n;
	const char *s;
	size_t len;
	unsigned long before = com_alloc_count();

	(void)state;
	proto_rd_init(&r, arr32, sizeof(arr32));
	assert_err(proto_rd_array(&r, &n), OCOP_EPROTO);
	assert_err(proto_rd_skip(&r), OCOP_EPROTO);
	proto_rd_init(&r, map32, sizeof(map32));
	assert_err(proto_rd_map(&r, &n), OCOP_EPROTO);
	assert_err(proto_rd_skip(&r), OCOP_EPROTO);
	proto_rd_init(&r, str32, sizeof(str32));
	assert_err(proto_rd_str(&r, &s, &len), OCOP_EPROTO);
	proto_rd_init(&r, bin16, sizeof(bin16));
	assert_err(proto_rd_skip(&r), OCOP_EPROTO);
	proto_rd_init(&r, never, sizeof(never));
	assert_err(proto_rd_skip(&r), OCOP_EPROTO);
	assert_int_equal(com_alloc_count(), before);
}

static void
test_nesting_deeper_than_the_limit_is_refused(void **state)
{
	uint8_t deep[200];
	proto_rd r;

	(void)state;
	memset(deep, 0x91, sizeof(deep)); /* [[[[...]]]] */
	deep[sizeof(deep) - 1] = 0xc0;
	proto_rd_init(&r, deep, sizeof(deep));
	assert_err(proto_rd_skip(&r), OCOP_EPROTO);
	proto_rd_init(&r, deep + sizeof(deep) - 10, 10);
	assert_ok(proto_rd_skip(&r));
}

static void
test_strdup_refuses_embedded_nul_and_overlong_strings(void **state)
{
	com_buf b;
	proto_wr w;
	proto_rd r;
	char *s = NULL;

	(void)state;
	com_buf_init(&b);
	proto_wr_init(&w, &b);
	proto_wr_str(&w, "a\0b", 3);
	proto_wr_cstr(&w, "toolong");
	proto_wr_cstr(&w, "ok");
	proto_rd_init(&r, b.data, b.len);
	assert_err(proto_rd_strdup(&r, &s, 100), OCOP_EPROTO);
	assert_ok(proto_rd_skip(&r));
	assert_err(proto_rd_strdup(&r, &s, 3), OCOP_EPROTO);
	assert_ok(proto_rd_skip(&r));
	assert_ok(proto_rd_strdup(&r, &s, 3));
	assert_string_equal(s, "ok");
	com_free(s);
	com_buf_fini(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_integers_of_every_width_round_trip),
	    cmocka_unit_test(test_negative_integer_is_refused_as_unsigned),
	    cmocka_unit_test(test_scalars_strings_and_binaries_round_trip),
	    cmocka_unit_test(test_containers_of_every_width_round_trip_and_skip),
	    cmocka_unit_test(test_writer_output_is_valid_msgpack_for_msgpack_c),
	    cmocka_unit_test(test_float32_from_other_encoders_is_read),
	    cmocka_unit_test(test_every_truncation_of_a_sample_is_refused),
	    cmocka_unit_test(test_hostile_counts_and_lengths_are_refused_without_allocation),
	    cmocka_unit_test(test_nesting_deeper_than_the_limit_is_refused),
	    cmocka_unit_test(test_strdup_refuses_embedded_nul_and_overlong_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
