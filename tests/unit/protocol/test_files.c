/*
 * Unit tests for protocol/files.c: the six file messages round-trip; the
 * key rules; a SHA-256 that is not 32 bytes, a chunk past its file or above
 * the chunk limit, an entry out of range, too many entries are refused; the
 * encoders refuse what would not decode; every truncation and every bit flip
 * of every message is refused; a chunk's digest catches a changed byte.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "protocol/bundle.h"
#include "protocol/envelope.h"
#include "protocol/files.h"
#include "protocol/session.h"
#include "tests/fuzz/fuzz_bundle.h"

#define SITE "0190f0f0-0000-7000-8000-000000000001"

static const uint8_t data[] = "Phiếu kết quả kiểm nghiệm, trang 1 của 3";

static void
fill_sha(uint8_t sha[PROTO_SHA256_LEN], uint8_t seed)
{
	size_t i;

	for (i = 0; i < PROTO_SHA256_LEN; i++) {
		sha[i] = (uint8_t)(seed + i * 7);
	}
}

/* Open a framed message and decode it by its type; returns the decoder's verdict. */
static int
decode_any(const uint8_t *p, size_t len)
{
	proto_env env;
	proto_rd body;
	union {
		proto_files f;
		proto_files_ok fo;
		proto_file_put p;
		proto_file_put_ok po;
		proto_file_get g;
		proto_file_data d;
	} u;
	int rv = proto_env_open(p, len, &env, &body);

	if (rv != OCOP_OK) {
		return rv;
	}
	switch (env.type) {
	case PROTO_MSG_FILES: return proto_files_decode(&body, &u.f);
	case PROTO_MSG_FILES_OK: return proto_files_ok_decode(&body, &u.fo);
	case PROTO_MSG_FILE_PUT: return proto_file_put_decode(&body, &u.p);
	case PROTO_MSG_FILE_PUT_OK: return proto_file_put_ok_decode(&body, &u.po);
	case PROTO_MSG_FILE_GET: return proto_file_get_decode(&body, &u.g);
	case PROTO_MSG_FILE_DATA: return proto_file_data_decode(&body, &u.d);
	default: return OCOP_EPROTO;
	}
}

/* One valid message of each type, appended to bufs[0..5]. */
static void
build_all(com_buf bufs[6])
{
	proto_file_entry e[2];
	proto_files f;
	proto_files_ok fo;
	proto_file_put p;
	proto_file_put_ok po;
	proto_file_get g;
	proto_file_data d;

	memset(e, 0, sizeof(e));
	fill_sha(e[0].sha, 1);
	e[0].size = 20000000;
	e[0].held = 3 << 20;
	fill_sha(e[1].sha, 2);
	e[1].size = 0;
	memset(&f, 0, sizeof(f));
	strcpy(f.site, SITE);
	strcpy(f.credential, "bí mật");
	assert_ok(proto_files_encode(&bufs[0], &f, e, 2));

	e[0].state = PROTO_FILE_WANT;
	e[1].state = PROTO_FILE_REFUSED;
	e[1].code = OCOP_ETOOBIG;
	memset(&fo, 0, sizeof(fo));
	fo.chunk_bytes = 1 << 20;
	fo.max_file_bytes = 256u << 20;
	fo.retention_days = 30;
	assert_ok(proto_files_ok_encode(&bufs[1], &fo, e, 2));

	memset(&p, 0, sizeof(p));
	strcpy(p.site, SITE);
	strcpy(p.credential, "s");
	fill_sha(p.sha, 3);
	p.size = 1000;
	p.offset = 10;
	p.data = data;
	p.len = sizeof(data);
	assert_ok(proto_chunk_digest(data, sizeof(data), p.digest));
	assert_ok(proto_file_put_encode(&bufs[2], &p));

	memset(&po, 0, sizeof(po));
	fill_sha(po.sha, 3);
	po.held = 10 + sizeof(data);
	assert_ok(proto_file_put_ok_encode(&bufs[3], &po));

	memset(&g, 0, sizeof(g));
	strcpy(g.site, SITE);
	fill_sha(g.sha, 4);
	g.offset = 5;
	g.max_bytes = 65536;
	assert_ok(proto_file_get_encode(&bufs[4], &g));

	memset(&d, 0, sizeof(d));
	fill_sha(d.sha, 4);
	d.size = 1000;
	d.offset = 5;
	d.data = data;
	d.len = sizeof(data);
	assert_ok(proto_chunk_digest(data, sizeof(data), d.digest));
	assert_ok(proto_file_data_encode(&bufs[5], &d));
}

/* ===== Round trips ===== */

static void
test_every_file_message_round_trips(void **state)
{
	com_buf b[6];
	proto_env env;
	proto_rd body;
	proto_files f;
	proto_files_ok fo;
	proto_file_put p;
	proto_file_put_ok po;
	proto_file_get g;
	proto_file_data d;
	proto_file_it it;
	proto_file_entry e;
	uint8_t sha[PROTO_SHA256_LEN];
	int i;

	(void)state;
	for (i = 0; i < 6; i++) {
		com_buf_init(&b[i]);
	}
	build_all(b);

	assert_ok(proto_env_open(b[0].data, b[0].len, &env, &body));
	assert_int_equal(env.type, PROTO_MSG_FILES);
	assert_ok(proto_files_decode(&body, &f));
	assert_string_equal(f.site, SITE);
	assert_string_equal(f.credential, "bí mật");
	assert_int_equal(f.files.count, 2);
	proto_file_iter(&it, &f.files, false);
	assert_ok(proto_file_next(&it, &e));
	fill_sha(sha, 1);
	assert_memory_equal(e.sha, sha, PROTO_SHA256_LEN);
	assert_int_equal(e.size, 20000000);
	assert_int_equal(e.held, 3 << 20);
	assert_ok(proto_file_next(&it, &e));
	assert_int_equal(e.size, 0);
	assert_err(proto_file_next(&it, &e), OCOP_ENOENT);

	assert_ok(proto_env_open(b[1].data, b[1].len, &env, &body));
	assert_ok(proto_files_ok_decode(&body, &fo));
	assert_int_equal(fo.chunk_bytes, 1 << 20);
	assert_int_equal(fo.max_file_bytes, 256u << 20);
	assert_int_equal(fo.retention_days, 30);
	proto_file_iter(&it, &fo.files, true);
	assert_ok(proto_file_next(&it, &e));
	assert_int_equal(e.state, PROTO_FILE_WANT);
	assert_int_equal(e.held, 3 << 20);
	assert_ok(proto_file_next(&it, &e));
	assert_int_equal(e.state, PROTO_FILE_REFUSED);
	assert_int_equal(e.code, OCOP_ETOOBIG);
	assert_err(proto_file_next(&it, &e), OCOP_ENOENT);

	assert_ok(proto_env_open(b[2].data, b[2].len, &env, &body));
	assert_ok(proto_file_put_decode(&body, &p));
	assert_int_equal(p.size, 1000);
	assert_int_equal(p.offset, 10);
	assert_int_equal(p.len, sizeof(data));
	assert_memory_equal(p.data, data, sizeof(data));
	assert_ok(proto_chunk_check(p.data, p.len, p.digest));

	assert_ok(proto_env_open(b[3].data, b[3].len, &env, &body));
	assert_ok(proto_file_put_ok_decode(&body, &po));
	assert_int_equal(po.held, 10 + sizeof(data));
	assert_false(po.whole);

	assert_ok(proto_env_open(b[4].data, b[4].len, &env, &body));
	assert_ok(proto_file_get_decode(&body, &g));
	assert_int_equal(g.offset, 5);
	assert_int_equal(g.max_bytes, 65536);
	assert_string_equal(g.credential, "");

	assert_ok(proto_env_open(b[5].data, b[5].len, &env, &body));
	assert_ok(proto_file_data_decode(&body, &d));
	assert_int_equal(d.size, 1000);
	assert_memory_equal(d.data, data, sizeof(data));
	assert_ok(proto_chunk_check(d.data, d.len, d.digest));
	for (i = 0; i < 6; i++) {
		com_buf_fini(&b[i]);
	}
}

static void
test_an_empty_file_travels_as_one_empty_chunk(void **state)
{
	proto_file_put p;
	proto_file_put out;
	com_buf b;
	proto_env env;
	proto_rd body;

	(void)state;
	com_buf_init(&b);
	memset(&p, 0, sizeof(p));
	strcpy(p.site, SITE);
	fill_sha(p.sha, 9);
	assert_ok(proto_chunk_digest(NULL, 0, p.digest));
	assert_ok(proto_file_put_encode(&b, &p));
	assert_ok(proto_env_open(b.data, b.len, &env, &body));
	assert_ok(proto_file_put_decode(&body, &out));
	assert_int_equal(out.len, 0);
	assert_ok(proto_chunk_check(out.data, out.len, out.digest));
	/* An empty chunk of a file with bytes means nothing and is refused. */
	p.size = 10;
	assert_err(proto_file_put_encode(&b, &p), OCOP_EINVAL);
	com_buf_fini(&b);
}

/* ===== Hand-built bodies ===== */

/* A FILE_GET body with the given fields written by hand (key order and extras as given). */
static void
frame(com_buf *b, uint32_t type, void (*body)(proto_wr *w, int variant), int variant)
{
	proto_wr w;
	size_t start;

	com_buf_reset(b);
	proto_wr_init(&w, b);
	start = proto_env_begin(&w, type);
	body(&w, variant);
	assert_ok(proto_env_end(&w, start));
}

static void
get_body(proto_wr *w, int v)
{
	uint8_t sha[40];

	fill_sha(sha, 1);
	proto_wr_map(w, v == 1 ? 6 : v == 2 ? 4 : 5);
	proto_wr_uint(w, 1);
	proto_wr_cstr(w, v == 5 ? "0190F0F0-0000-7000-8000-000000000001" : SITE);
	proto_wr_uint(w, 2);
	proto_wr_cstr(w, "");
	proto_wr_uint(w, 3);
	proto_wr_bin(w, sha, v == 3 ? 31 : v == 4 ? 33 : 32);
	proto_wr_uint(w, 4);
	proto_wr_uint(w, 0);
	if (v != 2) {
		proto_wr_uint(w, 5);
		proto_wr_uint(w, v == 6 ? PROTO_CHUNK_MAX + 1u : 0);
	}
	if (v == 1) {
		proto_wr_uint(w, 99); /* a key of a later version */
		proto_wr_array(w, 2);
		proto_wr_cstr(w, "x");
		proto_wr_map(w, 0);
	}
}

static void
test_keys_and_fields_of_a_file_get_are_checked(void **state)
{
	com_buf b;

	(void)state;
	com_buf_init(&b);
	frame(&b, PROTO_MSG_FILE_GET, get_body, 0);
	assert_ok(decode_any(b.data, b.len));
	frame(&b, PROTO_MSG_FILE_GET, get_body, 1);
	assert_ok(decode_any(b.data, b.len)); /* an unknown key is skipped whole */
	frame(&b, PROTO_MSG_FILE_GET, get_body, 2);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* a required key missing */
	frame(&b, PROTO_MSG_FILE_GET, get_body, 3);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* a SHA-256 of 31 bytes */
	frame(&b, PROTO_MSG_FILE_GET, get_body, 4);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* ... or of 33 */
	frame(&b, PROTO_MSG_FILE_GET, get_body, 5);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* an uppercase UUID */
	frame(&b, PROTO_MSG_FILE_GET, get_body, 6);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* a chunk above the limit asked for */
	com_buf_fini(&b);
}

static void
put_body(proto_wr *w, int v)
{
	uint8_t sha[32];
	uint8_t dig[32];
	static uint8_t *big;
	size_t len = v == 4 ? PROTO_CHUNK_MAX + 1u : sizeof(data);
	const uint8_t *p = data;

	if (v == 4) {
		big = big != NULL ? big : test_calloc(1, len);
		p = big;
	}
	fill_sha(sha, 1);
	memset(dig, 0, sizeof(dig));
	proto_wr_map(w, v == 5 ? 8 : 7);
	proto_wr_uint(w, 1);
	proto_wr_cstr(w, SITE);
	proto_wr_uint(w, 2);
	proto_wr_cstr(w, v == 6 ? "\xc0\xaf" : "secret");
	proto_wr_uint(w, 3);
	proto_wr_bin(w, sha, 32);
	proto_wr_uint(w, 4);
	proto_wr_uint(w, v == 1 ? 20 : v == 4 ? PROTO_CHUNK_MAX + 10u : 1000);
	proto_wr_uint(w, 5);
	proto_wr_uint(w, v == 2 ? 990 : v == 3 ? UINT64_MAX : 0);
	proto_wr_uint(w, 6);
	proto_wr_bin(w, p, len);
	proto_wr_uint(w, 7);
	proto_wr_bin(w, dig, 32);
	if (v == 5) {
		proto_wr_uint(w, 3); /* the file named twice */
		proto_wr_bin(w, sha, 32);
	}
	if (v == 4) {
		test_free(big);
		big = NULL;
	}
}

static void
test_a_chunk_must_lie_inside_its_file(void **state)
{
	com_buf b;

	(void)state;
	com_buf_init(&b);
	frame(&b, PROTO_MSG_FILE_PUT, put_body, 0);
	assert_ok(decode_any(b.data, b.len));
	frame(&b, PROTO_MSG_FILE_PUT, put_body, 1);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* longer than the file */
	frame(&b, PROTO_MSG_FILE_PUT, put_body, 2);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* past its end */
	frame(&b, PROTO_MSG_FILE_PUT, put_body, 3);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* an offset that would wrap */
	frame(&b, PROTO_MSG_FILE_PUT, put_body, 4);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* a chunk above the limit */
	frame(&b, PROTO_MSG_FILE_PUT, put_body, 5);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* a repeated key */
	frame(&b, PROTO_MSG_FILE_PUT, put_body, 6);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* an overlong UTF-8 form */
	com_buf_fini(&b);
}

static void
files_body(proto_wr *w, int v)
{
	uint8_t sha[32];
	uint32_t n = v == 1 ? PROTO_FILES_MAX + 1u : 1;
	uint32_t i;

	fill_sha(sha, 1);
	proto_wr_map(w, 3);
	proto_wr_uint(w, 1);
	proto_wr_cstr(w, SITE);
	proto_wr_uint(w, 2);
	proto_wr_cstr(w, "");
	proto_wr_uint(w, 3);
	proto_wr_array(w, n);
	for (i = 0; i < n; i++) {
		proto_wr_array(w, v == 3 ? 4 : 3);
		proto_wr_bin(w, sha, 32);
		proto_wr_uint(w, 100);
		proto_wr_uint(w, v == 2 ? 101 : 50); /* nobody holds more than the file */
		if (v == 3) {
			proto_wr_uint(w, 0);
		}
	}
}

static void
files_ok_body(proto_wr *w, int v)
{
	uint8_t sha[32];

	fill_sha(sha, 1);
	proto_wr_map(w, 4);
	proto_wr_uint(w, 1);
	proto_wr_array(w, 1);
	proto_wr_array(w, 4);
	proto_wr_bin(w, sha, 32);
	proto_wr_uint(w, v == 1 ? 5 : v == 2 ? 0 : PROTO_FILE_HAVE);
	proto_wr_uint(w, 100);
	proto_wr_uint(w, 0);
	proto_wr_uint(w, 2);
	proto_wr_uint(w, v == 3 ? 0 : 65536);
	proto_wr_uint(w, 3);
	proto_wr_uint(w, 1000);
	proto_wr_uint(w, 4);
	proto_wr_uint(w, 30);
}

static void
test_entries_are_bounded_and_in_range(void **state)
{
	com_buf b;

	(void)state;
	com_buf_init(&b);
	frame(&b, PROTO_MSG_FILES, files_body, 0);
	assert_ok(decode_any(b.data, b.len));
	frame(&b, PROTO_MSG_FILES, files_body, 1);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* too many entries */
	frame(&b, PROTO_MSG_FILES, files_body, 2);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* held > size */
	frame(&b, PROTO_MSG_FILES, files_body, 3);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* a reply's entry in a request */
	frame(&b, PROTO_MSG_FILES_OK, files_ok_body, 0);
	assert_ok(decode_any(b.data, b.len));
	frame(&b, PROTO_MSG_FILES_OK, files_ok_body, 1);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* an unknown state */
	frame(&b, PROTO_MSG_FILES_OK, files_ok_body, 2);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* state 0 */
	frame(&b, PROTO_MSG_FILES_OK, files_ok_body, 3);
	assert_err(decode_any(b.data, b.len), OCOP_EPROTO); /* a chunk size of 0 */
	com_buf_fini(&b);
}

static void
test_encoders_refuse_what_would_not_decode(void **state)
{
	proto_file_entry e[1];
	proto_files f;
	proto_files_ok fo;
	proto_file_data d;
	proto_file_get g;
	com_buf b;

	(void)state;
	com_buf_init(&b);
	memset(e, 0, sizeof(e));
	memset(&f, 0, sizeof(f));
	strcpy(f.site, "not-a-uuid");
	assert_err(proto_files_encode(&b, &f, e, 1), OCOP_EINVAL);
	strcpy(f.site, SITE);
	e[0].size = 5;
	e[0].held = 6;
	assert_err(proto_files_encode(&b, &f, e, 1), OCOP_EINVAL);
	assert_err(proto_files_encode(&b, &f, e, PROTO_FILES_MAX + 1), OCOP_EINVAL);
	memset(&fo, 0, sizeof(fo));
	fo.chunk_bytes = 1024;
	e[0].state = 9;
	assert_err(proto_files_ok_encode(&b, &fo, e, 1), OCOP_EINVAL);
	memset(&d, 0, sizeof(d));
	d.size = 10;
	d.offset = 8;
	d.data = data;
	d.len = 3;
	assert_err(proto_file_data_encode(&b, &d), OCOP_EINVAL);
	memset(&g, 0, sizeof(g));
	strcpy(g.site, SITE);
	g.max_bytes = PROTO_CHUNK_MAX + 1u;
	assert_err(proto_file_get_encode(&b, &g), OCOP_EINVAL);
	assert_int_equal(b.len, 0);
	com_buf_fini(&b);
}

/* ===== Damage ===== */

static void
test_every_truncation_and_bit_flip_is_refused(void **state)
{
	com_buf b[6];
	size_t i;
	size_t k;
	int bit;

	(void)state;
	for (i = 0; i < 6; i++) {
		com_buf_init(&b[i]);
	}
	build_all(b);
	for (i = 0; i < 6; i++) {
		uint8_t *copy = test_malloc(b[i].len);
		for (k = 0; k < b[i].len; k++) {
			assert_int_not_equal(decode_any(b[i].data, k), OCOP_OK);
		}
		for (k = 0; k < b[i].len; k++) {
			for (bit = 0; bit < 8; bit++) {
				memcpy(copy, b[i].data, b[i].len);
				copy[k] ^= (uint8_t)(1u << bit);
				assert_int_not_equal(decode_any(copy, b[i].len), OCOP_OK);
			}
		}
		test_free(copy);
		com_buf_fini(&b[i]);
	}
}

static void
test_a_changed_byte_fails_the_chunk_digest(void **state)
{
	uint8_t dig[PROTO_SHA256_LEN];
	uint8_t copy[sizeof(data)];

	(void)state;
	assert_ok(proto_chunk_digest(data, sizeof(data), dig));
	assert_ok(proto_chunk_check(data, sizeof(data), dig));
	memcpy(copy, data, sizeof(data));
	copy[7] ^= 0x20;
	assert_err(proto_chunk_check(copy, sizeof(copy), dig), OCOP_ECORRUPT);
}

static void
test_hex_names_round_trip(void **state)
{
	uint8_t sha[PROTO_SHA256_LEN];
	uint8_t back[PROTO_SHA256_LEN];
	char hex[2 * PROTO_SHA256_LEN + 1];

	(void)state;
	fill_sha(sha, 200);
	proto_sha_hex(sha, hex);
	assert_int_equal(strlen(hex), 64);
	assert_ok(proto_sha_parse(hex, back));
	assert_memory_equal(sha, back, sizeof(sha));
	hex[3] = 'g';
	assert_err(proto_sha_parse(hex, back), OCOP_EINVAL);
	assert_err(proto_sha_parse("abc", back), OCOP_EINVAL);
}

/* ===== In bundles (PROTOCOL.md 6.3) ===== */

#define SERVER "0190f0f0-0000-7000-8000-0000000000aa"

/* A request bundle: HELLO, ACK, PULL, then (files) FILES and a FILE_PUT; early: the FILE_PUT before the PULL. */
static int
request_bundle(com_buf *out, bool files, bool early)
{
	com_buf b[6];
	com_buf msg;
	proto_bundle_hdr h;
	proto_bundle_wr bw;
	proto_hello hello;
	proto_ack ack;
	proto_pull pull;
	int i;
	int rv;

	for (i = 0; i < 6; i++) {
		com_buf_init(&b[i]);
	}
	build_all(b);
	com_buf_init(&msg);
	memset(&h, 0, sizeof(h));
	h.kind = PROTO_BUNDLE_REQUEST;
	strcpy(h.site, SITE);
	h.created_ms = 1760000000000ull;
	h.seq = 1;
	assert_ok(proto_bundle_begin(&bw, out, &h));
	memset(&hello, 0, sizeof(hello));
	strcpy(hello.site, SITE);
	hello.protocol_version = PROTO_VERSION;
	hello.schema_version = 2;
	strcpy(hello.role, "commune");
	assert_ok(proto_hello_encode(&msg, &hello));
	assert_ok(proto_bundle_add(&bw, msg.data, msg.len));
	memset(&ack, 0, sizeof(ack));
	strcpy(ack.site, SITE);
	com_buf_reset(&msg);
	assert_ok(proto_ack_encode(&msg, &ack));
	assert_ok(proto_bundle_add(&bw, msg.data, msg.len));
	if (early) {
		assert_ok(proto_bundle_add(&bw, b[2].data, b[2].len));
	}
	memset(&pull, 0, sizeof(pull));
	strcpy(pull.site, SITE);
	com_buf_reset(&msg);
	assert_ok(proto_pull_encode(&msg, &pull));
	assert_ok(proto_bundle_add(&bw, msg.data, msg.len));
	if (files) {
		assert_ok(proto_bundle_add(&bw, b[0].data, b[0].len));
		assert_ok(proto_bundle_add(&bw, b[2].data, b[2].len));
	}
	rv = proto_bundle_end(&bw, fz_bundle_key);
	com_buf_fini(&msg);
	for (i = 0; i < 6; i++) {
		com_buf_fini(&b[i]);
	}
	return rv;
}

/* A reply bundle: HELLO_OK, ACK_OK, PULL_OK, FILES_OK, FILE_PUT_OK, FILE_DATA. */
static int
reply_bundle(com_buf *out)
{
	com_buf b[6];
	com_buf msg;
	proto_bundle_hdr h;
	proto_bundle_wr bw;
	proto_hello_ok ok;
	proto_ack_ok aok;
	proto_pull_ok pok;
	int i;
	int rv;

	for (i = 0; i < 6; i++) {
		com_buf_init(&b[i]);
	}
	build_all(b);
	com_buf_init(&msg);
	memset(&h, 0, sizeof(h));
	h.kind = PROTO_BUNDLE_REPLY;
	strcpy(h.site, SITE);
	strcpy(h.server, SERVER);
	h.created_ms = 1760000000000ull;
	h.seq = 1;
	assert_ok(proto_bundle_begin(&bw, out, &h));
	memset(&ok, 0, sizeof(ok));
	strcpy(ok.server_site, SERVER);
	strcpy(ok.server_role, "province");
	assert_ok(proto_hello_ok_encode(&msg, &ok));
	assert_ok(proto_bundle_add(&bw, msg.data, msg.len));
	memset(&aok, 0, sizeof(aok));
	com_buf_reset(&msg);
	assert_ok(proto_ack_ok_encode(&msg, &aok));
	assert_ok(proto_bundle_add(&bw, msg.data, msg.len));
	memset(&pok, 0, sizeof(pok));
	com_buf_reset(&msg);
	assert_ok(proto_pull_ok_encode(&msg, &pok));
	assert_ok(proto_bundle_add(&bw, msg.data, msg.len));
	assert_ok(proto_bundle_add(&bw, b[1].data, b[1].len));
	assert_ok(proto_bundle_add(&bw, b[3].data, b[3].len));
	assert_ok(proto_bundle_add(&bw, b[5].data, b[5].len));
	rv = proto_bundle_end(&bw, fz_bundle_key);
	com_buf_fini(&msg);
	for (i = 0; i < 6; i++) {
		com_buf_fini(&b[i]);
	}
	return rv;
}

static void
test_bundles_carry_file_messages_after_the_rows_only(void **state)
{
	com_buf out;
	proto_bundle b;
	char why[256];

	(void)state;
	com_buf_init(&out);
	assert_ok(request_bundle(&out, true, false));
	assert_ok(proto_bundle_open(&b, out.data, out.len, fz_bundle_key, why, sizeof(why)));
	assert_int_equal(b.count, 5);
	com_buf_reset(&out);
	assert_ok(reply_bundle(&out));
	assert_ok(proto_bundle_open(&b, out.data, out.len, fz_bundle_key, why, sizeof(why)));
	assert_int_equal(b.count, 6);
	/* A chunk before the rows is out of place: the writer refuses to seal it. */
	com_buf_reset(&out);
	assert_err(request_bundle(&out, false, true), OCOP_EINVAL);
	com_buf_fini(&out);
}

/*
 * The file records are inside the authenticated part: a bundle whose file
 * message was altered (one bit anywhere in it), or sealed with another key,
 * is refused whole, exactly like one whose rows were.
 */
static void
test_an_altered_or_forged_file_record_is_refused(void **state)
{
	com_buf out;
	proto_bundle b;
	proto_bundle_it it;
	const uint8_t *m;
	size_t len;
	uint32_t type;
	size_t from = 0;
	size_t to = 0;
	size_t i;
	uint8_t other[PROTO_BUNDLE_KEY];
	char why[256];

	(void)state;
	com_buf_init(&out);
	assert_ok(request_bundle(&out, true, false));
	assert_ok(proto_bundle_open(&b, out.data, out.len, fz_bundle_key, why, sizeof(why)));
	proto_bundle_iter(&it, &b);
	while (proto_bundle_next(&it, &m, &len, &type) == OCOP_OK) {
		if (type == PROTO_MSG_FILE_PUT) {
			from = (size_t)(m - out.data);
			to = from + len;
		}
	}
	assert_true(to > from);
	for (i = from; i < to; i += 7) {
		out.data[i] ^= 0x10;
		assert_err(proto_bundle_open(&b, out.data, out.len, fz_bundle_key, why, sizeof(why)), OCOP_ECORRUPT);
		out.data[i] ^= 0x10;
	}
	assert_ok(proto_bundle_open(&b, out.data, out.len, fz_bundle_key, why, sizeof(why)));
	memcpy(other, fz_bundle_key, sizeof(other));
	other[0] ^= 1;
	assert_err(proto_bundle_open(&b, out.data, out.len, other, why, sizeof(why)), OCOP_ECORRUPT);
	com_buf_fini(&out);
}

/* ===== Seeds for the fuzzers (--write-corpus DIR) ===== */

static int
write_seed(const char *dir, const char *sub, const char *name, const com_buf *b)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, sub, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		return 1;
	}
	return 0;
}

/* The file messages (DIR/files/) and bundles holding them (DIR/bundle/), each under 4096 bytes. */
static int
write_corpus(const char *dir)
{
	static const char *const names[6] = {"files.bin", "files_ok.bin", "file_put.bin", "file_put_ok.bin",
	    "file_get.bin", "file_data.bin"};
	com_buf b[6];
	com_buf out;
	int bad = 0;
	int i;

	for (i = 0; i < 6; i++) {
		com_buf_init(&b[i]);
	}
	build_all(b);
	for (i = 0; i < 6; i++) {
		bad |= write_seed(dir, "files", names[i], &b[i]);
		com_buf_fini(&b[i]);
	}
	com_buf_init(&out);
	bad |= request_bundle(&out, true, false) != OCOP_OK;
	bad |= write_seed(dir, "bundle", "request_files.bin", &out);
	com_buf_reset(&out);
	bad |= reply_bundle(&out) != OCOP_OK;
	bad |= write_seed(dir, "bundle", "reply_files.bin", &out);
	com_buf_fini(&out);
	return bad;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_file_message_round_trips),
	    cmocka_unit_test(test_an_empty_file_travels_as_one_empty_chunk),
	    cmocka_unit_test(test_keys_and_fields_of_a_file_get_are_checked),
	    cmocka_unit_test(test_a_chunk_must_lie_inside_its_file),
	    cmocka_unit_test(test_entries_are_bounded_and_in_range),
	    cmocka_unit_test(test_encoders_refuse_what_would_not_decode),
	    cmocka_unit_test(test_every_truncation_and_bit_flip_is_refused),
	    cmocka_unit_test(test_a_changed_byte_fails_the_chunk_digest),
	    cmocka_unit_test(test_hex_names_round_trip),
	    cmocka_unit_test(test_bundles_carry_file_messages_after_the_rows_only),
	    cmocka_unit_test(test_an_altered_or_forged_file_record_is_refused),
	};

	if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) {
		return write_corpus(argv[2]);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
