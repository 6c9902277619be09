/*
 * Unit tests for protocol/bundle.c: request and reply bundles round-trip;
 * every truncation, every bit flip and appended bytes are refused; another
 * format version is named; a body whose digest was recomputed is still checked
 * (order of messages, their sites, their cursors); the writer never produces
 * what the reader refuses and survives running out of memory; and the fuzzing
 * seeds and saved crashes pass the fuzz_bundle oracle.
 *
 * Run with "--write-corpus DIR" it writes the seeds of tests/fuzz/corpus/bundle.
 */
#include "tests/lib/testutil.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "protocol/bundle.h"
#include "protocol/change.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/session.h"
#include "tests/fuzz/fuzz_bundle.h"

#define SITE "0190f0f0-0000-7000-8000-000000000001"
#define OTHER "0190f0f0-0000-7000-8000-000000000002"
#define SERVER "0190f0f0-0000-7000-8000-0000000000aa"
#define ROW "0190f0f0-1111-7000-8000-000000000002"
#define CRED "0123456789abcdef0123456789abcdef0123456789abcdef"
#define CREATED UINT64_C(1767225600123)

/* ===== Messages ===== */

static void
msg_hello(com_buf *b, const char *site)
{
	proto_hello m;

	memset(&m, 0, sizeof(m));
	snprintf(m.site, sizeof(m.site), "%s", site);
	snprintf(m.credential, sizeof(m.credential), "%s", CRED);
	m.protocol_version = PROTO_VERSION;
	m.schema_version = 1;
	snprintf(m.role, sizeof(m.role), "commune");
	com_buf_reset(b);
	assert_ok(proto_hello_encode(b, &m));
}

/* A PUSH of n changes of site, from seq `first`. */
static void
msg_push(com_buf *b, const char *site, uint64_t first, int n)
{
	static const char name[] = "Nước mắm Phú Quốc";
	proto_batch batch;
	proto_push hdr;
	proto_change c;
	com_buf cells;
	proto_wr w;
	proto_value v;
	int i;

	com_buf_init(&cells);
	proto_wr_init(&w, &cells);
	memset(&v, 0, sizeof(v));
	v.type = PROTO_V_TEXT;
	v.p = (const uint8_t *)name;
	v.len = strlen(name);
	proto_cells_begin(&w, 1);
	proto_cell_put(&w, "name", &v, 0);
	assert_ok(proto_wr_error(&w));
	memset(&hdr, 0, sizeof(hdr));
	snprintf(hdr.site, sizeof(hdr.site), "%s", site);
	snprintf(hdr.credential, sizeof(hdr.credential), "%s", CRED);
	hdr.sender_hlc = 42;
	com_buf_reset(b);
	assert_ok(proto_push_begin(&batch, b, &hdr, 1u << 20));
	for (i = 0; i < n; i++) {
		memset(&c, 0, sizeof(c));
		snprintf(c.site, sizeof(c.site), "%s", site);
		c.seq = first + (uint64_t)i;
		snprintf(c.tbl, sizeof(c.tbl), "subject");
		snprintf(c.row, sizeof(c.row), "%s", ROW);
		c.hlc = UINT64_C(0x0190f0f0ffff0000) + (uint64_t)i;
		snprintf(c.user, sizeof(c.user), "cán bộ xã");
		c.cells = cells.data;
		c.cells_len = cells.len;
		assert_ok(proto_batch_add(&batch, &c));
	}
	assert_ok(proto_push_end(&batch));
	com_buf_fini(&cells);
}

static void
msg_ack(com_buf *b, const char *site, uint64_t cursor)
{
	proto_ack m;

	memset(&m, 0, sizeof(m));
	snprintf(m.site, sizeof(m.site), "%s", site);
	snprintf(m.credential, sizeof(m.credential), "%s", CRED);
	m.cursor = cursor;
	com_buf_reset(b);
	assert_ok(proto_ack_encode(b, &m));
}

static void
msg_pull(com_buf *b, const char *site, uint64_t cursor)
{
	proto_pull m;

	memset(&m, 0, sizeof(m));
	snprintf(m.site, sizeof(m.site), "%s", site);
	snprintf(m.credential, sizeof(m.credential), "%s", CRED);
	m.cursor = cursor;
	com_buf_reset(b);
	assert_ok(proto_pull_encode(b, &m));
}

static void
msg_hello_ok(com_buf *b, const char *server, uint64_t hw)
{
	proto_hello_ok m;

	memset(&m, 0, sizeof(m));
	snprintf(m.server_site, sizeof(m.server_site), "%s", server);
	snprintf(m.server_role, sizeof(m.server_role), "province");
	m.server_hlc = 99;
	m.high_water = hw;
	m.max_batch_bytes = 1u << 20;
	m.schema_version = 1;
	com_buf_reset(b);
	assert_ok(proto_hello_ok_encode(b, &m));
}

static void
msg_push_ok(com_buf *b, uint64_t hw)
{
	proto_push_ok m;
	com_buf rej;
	proto_wr w;

	com_buf_init(&rej);
	proto_wr_init(&w, &rej);
	proto_rejection_put(&w, hw, OCOP_EAUTH, "a commune may not recognise a product");
	assert_ok(proto_wr_error(&w));
	memset(&m, 0, sizeof(m));
	m.high_water = hw;
	m.rejections.p = rej.data;
	m.rejections.len = rej.len;
	m.rejections.count = 1;
	m.server_hlc = 100;
	m.applied = hw - 1;
	com_buf_reset(b);
	assert_ok(proto_push_ok_encode(b, &m));
	com_buf_fini(&rej);
}

static void
msg_ack_ok(com_buf *b, uint64_t cursor)
{
	proto_ack_ok m = {cursor};

	com_buf_reset(b);
	assert_ok(proto_ack_ok_encode(b, &m));
}

/* A PULL_OK page of n changes of another site. */
static void
msg_pull_ok(com_buf *b, uint64_t next, bool more, int n)
{
	proto_batch batch;
	com_buf push;
	proto_env env;
	proto_rd body;
	proto_push p;
	proto_changes_it it;
	proto_change c;

	com_buf_init(&push);
	msg_push(&push, OTHER, 1, n);
	assert_ok(proto_env_open(push.data, push.len, &env, &body));
	assert_ok(proto_push_decode(&body, &p));
	com_buf_reset(b);
	assert_ok(proto_pull_ok_begin(&batch, b, 1u << 20));
	proto_changes_iter(&it, &p.changes);
	while (proto_changes_next(&it, &c) == OCOP_OK) {
		assert_ok(proto_batch_add(&batch, &c));
	}
	assert_ok(proto_pull_ok_end(&batch, next, more, 101));
	com_buf_fini(&push);
}

/* ===== Bundles ===== */

static proto_bundle_hdr
hdr_of(uint32_t kind)
{
	proto_bundle_hdr h;

	memset(&h, 0, sizeof(h));
	h.kind = kind;
	snprintf(h.site, sizeof(h.site), "%s", SITE);
	snprintf(h.server, sizeof(h.server), "%s", SERVER);
	h.created_ms = CREATED;
	h.pull_from = kind == PROTO_BUNDLE_REPLY ? 7 : 0;
	h.seq = 5;
	return h;
}

/* Add the message in m to the bundle. */
static void
add(proto_bundle_wr *bw, const com_buf *m)
{
	assert_ok(proto_bundle_add(bw, m->data, m->len));
}

/* A request: HELLO, `pushes` PUSH batches of 3 changes, ACK, PULL. */
static void
make_request(com_buf *out, int pushes)
{
	proto_bundle_hdr h = hdr_of(PROTO_BUNDLE_REQUEST);
	proto_bundle_wr bw;
	com_buf m;
	int i;

	com_buf_init(&m);
	assert_ok(proto_bundle_begin(&bw, out, &h));
	msg_hello(&m, SITE);
	add(&bw, &m);
	for (i = 0; i < pushes; i++) {
		msg_push(&m, SITE, 1 + 3 * (uint64_t)i, 3);
		add(&bw, &m);
	}
	msg_ack(&m, SITE, 7);
	add(&bw, &m);
	msg_pull(&m, SITE, 7);
	add(&bw, &m);
	assert_ok(proto_bundle_end(&bw, fz_bundle_key));
	com_buf_fini(&m);
}

/* A reply: HELLO_OK, PUSH_OK, ACK_OK, `pages` PULL_OK pages. */
static void
make_reply(com_buf *out, int pages)
{
	proto_bundle_hdr h = hdr_of(PROTO_BUNDLE_REPLY);
	proto_bundle_wr bw;
	com_buf m;
	int i;

	com_buf_init(&m);
	assert_ok(proto_bundle_begin(&bw, out, &h));
	msg_hello_ok(&m, SERVER, 0);
	add(&bw, &m);
	msg_push_ok(&m, 3);
	add(&bw, &m);
	msg_ack_ok(&m, 7);
	add(&bw, &m);
	for (i = 0; i < pages; i++) {
		msg_pull_ok(&m, 10 + 10 * (uint64_t)i, i + 1 < pages, 2);
		add(&bw, &m);
	}
	assert_ok(proto_bundle_end(&bw, fz_bundle_key));
	com_buf_fini(&m);
}

/*
 * Finish a bundle the way proto_bundle_end does but without reading it back,
 * so the reader's checks of the body can be tested on a file whose length and
 * digest are right.
 */
static void
raw_end(proto_bundle_wr *bw)
{
	com_buf *b = bw->w.buf;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	uint64_t total = b->len - bw->start + PROTO_BUNDLE_DIGEST;
	int i;

	for (i = 0; i < 4; i++) {
		b->data[bw->count_at + 1 + (size_t)i] = (uint8_t)(bw->count >> (24 - 8 * i));
	}
	for (i = 0; i < 8; i++) {
		b->data[bw->start + 12 + (size_t)i] = (uint8_t)(total >> (56 - 8 * i));
	}
	assert_non_null(HMAC(EVP_sha256(), fz_bundle_key, PROTO_BUNDLE_KEY, b->data + bw->start, b->len - bw->start, md, &n));
	assert_ok(com_buf_append(b, md, PROTO_BUNDLE_DIGEST));
}

/* Recompute the length field and digest of a whole bundle in b after an edit. */
static void
redigest(com_buf *b)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int i;

	for (i = 0; i < 8; i++) {
		b->data[12 + i] = (uint8_t)((uint64_t)b->len >> (56 - 8 * i));
	}
	assert_non_null(HMAC(EVP_sha256(), fz_bundle_key, PROTO_BUNDLE_KEY, b->data, b->len - PROTO_BUNDLE_DIGEST, md, &n));
	memcpy(b->data + b->len - PROTO_BUNDLE_DIGEST, md, PROTO_BUNDLE_DIGEST);
}

/* Open and expect code, with a reason given. */
static void
expect_refused(const com_buf *b, int code, const char *why_part)
{
	proto_bundle out;
	char why[256] = "";

	assert_err(proto_bundle_open(&out, b->data, b->len, fz_bundle_key, why, sizeof(why)), code);
	assert_true(why[0] != 0);
	if (why_part != NULL && strstr(why, why_part) == NULL) {
		print_error("reason '%s' does not mention '%s'\n", why, why_part);
		fail();
	}
}

/* ===== Round trips ===== */

static void
test_request_bundle_round_trips(void **state)
{
	com_buf b;
	com_buf m;
	proto_bundle out;
	proto_bundle_it it;
	const uint8_t *p;
	size_t len;
	uint32_t type;
	static const uint32_t want[] = {PROTO_MSG_HELLO, PROTO_MSG_PUSH, PROTO_MSG_PUSH, PROTO_MSG_ACK,
	    PROTO_MSG_PULL};
	int i = 0;

	(void)state;
	com_buf_init(&b);
	com_buf_init(&m);
	make_request(&b, 2);
	assert_memory_equal(b.data, PROTO_BUNDLE_MAGIC, 8);
	assert_ok(proto_bundle_open(&out, b.data, b.len, fz_bundle_key, NULL, 0));
	assert_int_equal(out.hdr.kind, PROTO_BUNDLE_REQUEST);
	assert_string_equal(out.hdr.site, SITE);
	assert_string_equal(out.hdr.server, SERVER);
	assert_int_equal(out.hdr.created_ms, CREATED);
	assert_int_equal(out.hdr.pull_from, 0);
	assert_int_equal(out.count, 5);
	proto_bundle_iter(&it, &out);
	while (proto_bundle_next(&it, &p, &len, &type) == OCOP_OK) {
		assert_int_equal(type, want[i]);
		/* Each message is carried byte for byte. */
		if (type == PROTO_MSG_PUSH) {
			msg_push(&m, SITE, i == 1 ? 1 : 4, 3);
			assert_int_equal(len, m.len);
			assert_memory_equal(p, m.data, len);
		}
		i++;
	}
	assert_int_equal(i, 5);
	assert_err(proto_bundle_next(&it, &p, &len, &type), OCOP_ENOENT);
	com_buf_fini(&m);
	com_buf_fini(&b);
}

static void
test_reply_bundle_with_pages_round_trips(void **state)
{
	com_buf b;
	proto_bundle out;
	proto_bundle_it it;
	const uint8_t *p;
	size_t len;
	uint32_t type;
	int pages = 0;

	(void)state;
	com_buf_init(&b);
	make_reply(&b, 3);
	assert_ok(proto_bundle_open(&out, b.data, b.len, fz_bundle_key, NULL, 0));
	assert_int_equal(out.hdr.kind, PROTO_BUNDLE_REPLY);
	assert_int_equal(out.hdr.pull_from, 7);
	assert_int_equal(out.count, 6);
	proto_bundle_iter(&it, &out);
	while (proto_bundle_next(&it, &p, &len, &type) == OCOP_OK) {
		pages += type == PROTO_MSG_PULL_OK;
	}
	assert_int_equal(pages, 3);
	com_buf_fini(&b);
}

static void
test_request_without_server_or_changes_opens(void **state)
{
	proto_bundle_hdr h = hdr_of(PROTO_BUNDLE_REQUEST);
	proto_bundle_wr bw;
	proto_bundle out;
	com_buf b;
	com_buf m;

	(void)state;
	com_buf_init(&b);
	com_buf_init(&m);
	h.server[0] = 0; /* a site that never synced does not know its server */
	assert_ok(proto_bundle_begin(&bw, &b, &h));
	msg_hello(&m, SITE);
	add(&bw, &m);
	msg_ack(&m, SITE, 0);
	add(&bw, &m);
	msg_pull(&m, SITE, 0);
	add(&bw, &m);
	assert_ok(proto_bundle_end(&bw, fz_bundle_key));
	assert_ok(proto_bundle_open(&out, b.data, b.len, fz_bundle_key, NULL, 0));
	assert_string_equal(out.hdr.server, "");
	assert_int_equal(out.count, 3);
	com_buf_fini(&m);
	com_buf_fini(&b);
}

/* ===== Damage ===== */

static void
test_every_truncation_is_refused(void **state)
{
	com_buf b;
	proto_bundle out;
	char why[256];
	size_t n;
	int rv;

	(void)state;
	com_buf_init(&b);
	make_request(&b, 1);
	for (n = 0; n < b.len; n++) {
		why[0] = 0;
		rv = proto_bundle_open(&out, b.data, n, fz_bundle_key, why, sizeof(why));
		if (rv != OCOP_ECORRUPT && !(n == 0 && rv == OCOP_EPROTO)) {
			print_error("truncated to %zu bytes: %s (%s)\n", n, ocop_errname(rv), why);
			fail();
		}
		assert_true(why[0] != 0);
	}
	com_buf_fini(&b);
}

static void
test_every_bit_flip_is_refused(void **state)
{
	com_buf b;
	proto_bundle out;
	char why[256];
	size_t i;
	int bit;
	int rv;

	(void)state;
	com_buf_init(&b);
	make_reply(&b, 2);
	for (i = 0; i < b.len; i++) {
		for (bit = 0; bit < 8; bit++) {
			b.data[i] ^= (uint8_t)(1u << bit);
			why[0] = 0;
			rv = proto_bundle_open(&out, b.data, b.len, fz_bundle_key, why, sizeof(why));
			if (rv != OCOP_ECORRUPT && rv != OCOP_EPROTO && rv != OCOP_EVERSION) {
				print_error("bit %d of byte %zu: %s\n", bit, i, ocop_errname(rv));
				fail();
			}
			assert_true(why[0] != 0);
			b.data[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_ok(proto_bundle_open(&out, b.data, b.len, fz_bundle_key, NULL, 0));
	com_buf_fini(&b);
}

static void
test_appended_bytes_are_refused(void **state)
{
	com_buf b;

	(void)state;
	com_buf_init(&b);
	make_request(&b, 1);
	assert_ok(com_buf_append(&b, "\n", 1));
	expect_refused(&b, OCOP_ECORRUPT, "should have");
	com_buf_fini(&b);
}

static void
test_flipped_body_byte_is_a_checksum_mismatch(void **state)
{
	com_buf b;

	(void)state;
	com_buf_init(&b);
	make_request(&b, 1);
	b.data[b.len / 2] ^= 0x20;
	expect_refused(&b, OCOP_ECORRUPT, "authentication failed");
	com_buf_fini(&b);
}

static void
test_a_bundle_under_another_key_is_a_forgery(void **state)
{
	uint8_t other[PROTO_BUNDLE_KEY];
	proto_bundle out;
	proto_bundle_hdr h;
	char why[256] = "";
	com_buf b;

	(void)state;
	com_buf_init(&b);
	make_reply(&b, 1);
	memcpy(other, fz_bundle_key, sizeof(other));
	other[0] ^= 1;
	assert_err(proto_bundle_open(&out, b.data, b.len, other, why, sizeof(why)), OCOP_ECORRUPT);
	assert_non_null(strstr(why, "forgery"));
	/* Peeking tells whose it claims to be, without any key. */
	assert_ok(proto_bundle_peek(&h, b.data, b.len, NULL, 0));
	assert_int_equal(h.kind, PROTO_BUNDLE_REPLY);
	assert_string_equal(h.site, SITE);
	assert_int_equal(h.seq, 5);
	com_buf_fini(&b);
}

static void
test_another_format_version_is_named(void **state)
{
	com_buf b;

	(void)state;
	com_buf_init(&b);
	make_request(&b, 1);
	b.data[11] = 3;
	redigest(&b);
	expect_refused(&b, OCOP_EVERSION, "version 3");
	b.data[11] = 1; /* the unauthenticated format of before */
	redigest(&b);
	expect_refused(&b, OCOP_EVERSION, "not authenticated");
	com_buf_fini(&b);
}

static void
test_a_file_that_is_not_a_bundle_is_refused(void **state)
{
	com_buf b;

	(void)state;
	com_buf_init(&b);
	assert_ok(com_buf_puts(&b, "site_id,seq\n0190f0f0,1\n"));
	expect_refused(&b, OCOP_EPROTO, "OCOPBNDL");
	com_buf_reset(&b);
	assert_ok(com_buf_puts(&b, "OCOP"));
	expect_refused(&b, OCOP_ECORRUPT, "truncated");
	com_buf_fini(&b);
}

/* ===== The body is checked even when the digest is right ===== */

/* Build a bundle of kind from the messages given (type per element) without the writer's check. */
typedef enum { M_HELLO, M_HELLO_OTHER, M_PUSH, M_PUSH_OTHER, M_ACK, M_PULL, M_HELLO_OK,
	M_HELLO_OK_OTHER, M_PUSH_OK, M_ACK_OK, M_PAGE_MORE, M_PAGE_LAST, M_PAGE_BACK, M_JUNK,
	M_VERSION1, M_ERROR } mk;

static void
raw_bundle(com_buf *b, uint32_t kind, const mk *ms, size_t n)
{
	proto_bundle_hdr h = hdr_of(kind);
	proto_bundle_wr bw;
	com_buf m;
	proto_wr w;
	size_t start;
	size_t i;

	com_buf_init(&m);
	com_buf_reset(b);
	assert_ok(proto_bundle_begin(&bw, b, &h));
	for (i = 0; i < n; i++) {
		switch (ms[i]) {
		case M_HELLO: msg_hello(&m, SITE); break;
		case M_HELLO_OTHER: msg_hello(&m, OTHER); break;
		case M_PUSH: msg_push(&m, SITE, 1, 2); break;
		case M_PUSH_OTHER: msg_push(&m, OTHER, 1, 2); break;
		case M_ACK: msg_ack(&m, SITE, 7); break;
		case M_PULL: msg_pull(&m, SITE, 7); break;
		case M_HELLO_OK: msg_hello_ok(&m, SERVER, 0); break;
		case M_HELLO_OK_OTHER: msg_hello_ok(&m, OTHER, 0); break;
		case M_PUSH_OK: msg_push_ok(&m, 2); break;
		case M_ACK_OK: msg_ack_ok(&m, 7); break;
		case M_PAGE_MORE: msg_pull_ok(&m, 20, true, 1); break;
		case M_PAGE_LAST: msg_pull_ok(&m, 30, false, 1); break;
		case M_PAGE_BACK: msg_pull_ok(&m, 3, false, 1); break;
		case M_JUNK:
			com_buf_reset(&m);
			assert_ok(com_buf_puts(&m, "not msgpack"));
			break;
		case M_VERSION1:
			com_buf_reset(&m);
			proto_wr_init(&w, &m);
			start = m.len;
			proto_wr_array(&w, 4);
			proto_wr_uint(&w, 1); /* a program of the first protocol version */
			proto_wr_uint(&w, PROTO_MSG_HELLO);
			proto_wr_map(&w, 0);
			assert_ok(proto_env_end(&w, start));
			break;
		case M_ERROR:
			com_buf_reset(&m);
			assert_ok(proto_error_encode(&m, OCOP_EAUTH, "wrong credential"));
			break;
		}
		add(&bw, &m);
	}
	raw_end(&bw);
	com_buf_fini(&m);
}

static void
expect_raw(uint32_t kind, const mk *ms, size_t n, int code, const char *why_part)
{
	com_buf b;

	com_buf_init(&b);
	raw_bundle(&b, kind, ms, n);
	expect_refused(&b, code, why_part);
	com_buf_fini(&b);
}

#define EXPECT_RAW(kind, code, why, ...)                                                          \
	do {                                                                                       \
		static const mk ms_[] = {__VA_ARGS__};                                             \
		expect_raw(kind, ms_, sizeof(ms_) / sizeof(ms_[0]), code, why);                    \
	} while (0)

static void
test_raw_builder_makes_valid_bundles(void **state)
{
	static const mk req[] = {M_HELLO, M_PUSH, M_ACK, M_PULL};
	static const mk rep[] = {M_HELLO_OK, M_PUSH_OK, M_ACK_OK, M_PAGE_MORE, M_PAGE_LAST};
	proto_bundle out;
	com_buf b;

	(void)state;
	/* The checks below fail for the reason they name, not for the builder. */
	com_buf_init(&b);
	raw_bundle(&b, PROTO_BUNDLE_REQUEST, req, 4);
	assert_ok(proto_bundle_open(&out, b.data, b.len, fz_bundle_key, NULL, 0));
	raw_bundle(&b, PROTO_BUNDLE_REPLY, rep, 5);
	assert_ok(proto_bundle_open(&out, b.data, b.len, fz_bundle_key, NULL, 0));
	com_buf_fini(&b);
}

static void
test_messages_out_of_order_are_refused(void **state)
{
	(void)state;
	EXPECT_RAW(PROTO_BUNDLE_REQUEST, OCOP_EPROTO, "does not belong", M_PUSH, M_HELLO, M_ACK, M_PULL);
	EXPECT_RAW(PROTO_BUNDLE_REQUEST, OCOP_EPROTO, "does not belong", M_HELLO, M_ACK, M_PUSH, M_PULL);
	EXPECT_RAW(PROTO_BUNDLE_REQUEST, OCOP_EPROTO, "does not belong", M_HELLO, M_ACK, M_PULL, M_PULL);
	EXPECT_RAW(PROTO_BUNDLE_REQUEST, OCOP_EPROTO, "incomplete", M_HELLO, M_PUSH, M_ACK);
	expect_raw(PROTO_BUNDLE_REQUEST, NULL, 0, OCOP_EPROTO, "incomplete");
	EXPECT_RAW(PROTO_BUNDLE_REPLY, OCOP_EPROTO, "does not belong", M_HELLO_OK, M_PUSH_OK, M_PAGE_LAST);
	EXPECT_RAW(PROTO_BUNDLE_REPLY, OCOP_EPROTO, "incomplete", M_HELLO_OK, M_ACK_OK);
}

static void
test_messages_of_the_wrong_kind_are_refused(void **state)
{
	(void)state;
	/* A request holding a reply's messages, and the other way round. */
	EXPECT_RAW(PROTO_BUNDLE_REQUEST, OCOP_EPROTO, "does not belong", M_HELLO, M_PUSH_OK, M_ACK, M_PULL);
	EXPECT_RAW(PROTO_BUNDLE_REPLY, OCOP_EPROTO, "does not belong", M_HELLO, M_ACK_OK, M_PAGE_LAST);
	EXPECT_RAW(PROTO_BUNDLE_REPLY, OCOP_EPROTO, "never holds", M_ERROR);
}

static void
test_a_message_of_another_site_is_refused(void **state)
{
	(void)state;
	EXPECT_RAW(PROTO_BUNDLE_REQUEST, OCOP_EPROTO, OTHER, M_HELLO_OTHER, M_ACK, M_PULL);
	EXPECT_RAW(PROTO_BUNDLE_REQUEST, OCOP_EPROTO, OTHER, M_HELLO, M_PUSH_OTHER, M_ACK, M_PULL);
	EXPECT_RAW(PROTO_BUNDLE_REPLY, OCOP_EPROTO, "HELLO_OK", M_HELLO_OK_OTHER, M_ACK_OK, M_PAGE_LAST);
}

static void
test_pull_pages_must_continue_each_other(void **state)
{
	(void)state;
	/* A page after the last one, and a page that goes back before the reply's cursor. */
	EXPECT_RAW(PROTO_BUNDLE_REPLY, OCOP_EPROTO, "out of order", M_HELLO_OK, M_ACK_OK, M_PAGE_LAST,
	    M_PAGE_LAST);
	EXPECT_RAW(PROTO_BUNDLE_REPLY, OCOP_EPROTO, "cursor", M_HELLO_OK, M_ACK_OK, M_PAGE_BACK);
}

static void
test_a_message_that_is_not_a_protocol_message_is_refused(void **state)
{
	(void)state;
	EXPECT_RAW(PROTO_BUNDLE_REQUEST, OCOP_EPROTO, "message 2", M_HELLO, M_JUNK, M_ACK, M_PULL);
	EXPECT_RAW(PROTO_BUNDLE_REQUEST, OCOP_EVERSION, "protocol version 1", M_VERSION1, M_ACK, M_PULL);
}

static void
test_edited_header_fields_are_refused(void **state)
{
	com_buf b;
	size_t kind_at = PROTO_BUNDLE_PREFIX + 1;
	size_t site_at = kind_at + 1 + 2; /* after the kind, the str8 header */

	(void)state;
	com_buf_init(&b);
	make_request(&b, 1);
	assert_int_equal(b.data[kind_at], PROTO_BUNDLE_REQUEST);
	b.data[kind_at] = 7;
	redigest(&b);
	expect_refused(&b, OCOP_EPROTO, "kind");
	com_buf_reset(&b);
	make_request(&b, 1);
	assert_int_equal(b.data[site_at], '0');
	b.data[site_at] = 'G'; /* not lowercase hex */
	redigest(&b);
	expect_refused(&b, OCOP_EPROTO, "site id");
	com_buf_fini(&b);
}

/* ===== Writer ===== */

static void
test_writer_refuses_a_bad_header(void **state)
{
	proto_bundle_hdr h = hdr_of(PROTO_BUNDLE_REPLY);
	proto_bundle_wr bw;
	com_buf b;

	(void)state;
	com_buf_init(&b);
	h.server[0] = 0; /* a reply always names its server */
	assert_err(proto_bundle_begin(&bw, &b, &h), OCOP_EINVAL);
	h = hdr_of(PROTO_BUNDLE_REQUEST);
	h.pull_from = 3;
	assert_err(proto_bundle_begin(&bw, &b, &h), OCOP_EINVAL);
	h = hdr_of(9);
	assert_err(proto_bundle_begin(&bw, &b, &h), OCOP_EINVAL);
	h = hdr_of(PROTO_BUNDLE_REQUEST);
	snprintf(h.site, sizeof(h.site), "not-a-uuid");
	assert_err(proto_bundle_begin(&bw, &b, &h), OCOP_EINVAL);
	h = hdr_of(PROTO_BUNDLE_REQUEST);
	h.seq = 0; /* every bundle has a number */
	assert_err(proto_bundle_begin(&bw, &b, &h), OCOP_EINVAL);
	assert_int_equal(b.len, 0);
	com_buf_fini(&b);
}

static void
test_writer_never_produces_what_the_reader_refuses(void **state)
{
	proto_bundle_hdr h = hdr_of(PROTO_BUNDLE_REQUEST);
	proto_bundle_wr bw;
	com_buf b;
	com_buf m;

	(void)state;
	com_buf_init(&b);
	com_buf_init(&m);
	assert_ok(com_buf_puts(&b, "kept"));
	assert_ok(proto_bundle_begin(&bw, &b, &h));
	msg_hello(&m, SITE);
	add(&bw, &m); /* and no PULL */
	assert_err(proto_bundle_end(&bw, fz_bundle_key), OCOP_EINVAL);
	assert_int_equal(b.len, 4);
	assert_err(proto_bundle_add(&bw, m.data, 0), OCOP_EINVAL);
	com_buf_fini(&m);
	com_buf_fini(&b);
}

static void
test_writer_out_of_memory_is_clean(void **state)
{
	com_buf b;
	long k;
	int done = 0;

	(void)state;
	/* Fail the k-th allocation for k = 0, 1, ... until a whole bundle is written. */
	for (k = 0; !done && k < 10000; k++) {
		proto_bundle_hdr h = hdr_of(PROTO_BUNDLE_REPLY);
		proto_bundle_wr bw;
		com_buf m;
		int rv;

		com_buf_init(&m);
		msg_hello_ok(&m, SERVER, 0);
		com_buf_init(&b);
		com_alloc_fail_after(k);
		rv = proto_bundle_begin(&bw, &b, &h);
		if (rv == OCOP_OK) {
			rv = proto_bundle_add(&bw, m.data, m.len);
			if (rv == OCOP_OK) {
				com_alloc_fail_after(-1);
				msg_ack_ok(&m, 7);
				com_alloc_fail_after(k);
				rv = proto_bundle_add(&bw, m.data, m.len);
			}
			if (rv == OCOP_OK) {
				com_alloc_fail_after(-1);
				msg_pull_ok(&m, 9, false, 1);
				com_alloc_fail_after(k);
				rv = proto_bundle_add(&bw, m.data, m.len);
			}
			{
				int end = proto_bundle_end(&bw, fz_bundle_key);
				rv = rv == OCOP_OK ? end : rv;
				if (end != OCOP_OK) {
					assert_int_equal(b.len, 0);
				}
			}
		}
		com_alloc_fail_after(-1);
		if (rv == OCOP_OK) {
			proto_bundle out;
			assert_ok(proto_bundle_open(&out, b.data, b.len, fz_bundle_key, NULL, 0));
			done = 1;
		} else {
			assert_err(rv, OCOP_ENOMEM);
			assert_int_equal(b.len, 0);
		}
		com_buf_fini(&b);
		com_buf_fini(&m);
	}
	assert_true(done);
	assert_true(k > 1);
}

/* ===== Fuzzing seeds ===== */

static void
test_the_oracle_accepts_valid_and_refuses_damaged_bundles(void **state)
{
	com_buf b;

	(void)state;
	com_buf_init(&b);
	make_reply(&b, 2);
	assert_ok(fz_decode_bundle(b.data, b.len));
	b.data[b.len - 1] ^= 1;
	assert_err(fz_decode_bundle(b.data, b.len), OCOP_ECORRUPT);
	assert_err(fz_decode_bundle(b.data, 3), OCOP_ECORRUPT); /* "OCO": a bundle cut short */
	assert_err(fz_decode_bundle((const uint8_t *)"PK\3\4", 4), OCOP_EPROTO);
	com_buf_fini(&b);
}

/* Replay every input file of a source directory; returns how many, *ok counts OCOP_OK. */
static size_t
replay(const char *rel, size_t *ok)
{
	char dir[1024];
	char path[2048];
	struct dirent *e;
	size_t count = 0;
	DIR *d;

	tu_src(dir, sizeof(dir), rel);
	*ok = 0;
	d = opendir(dir);
	if (d == NULL) {
		/* A folder that is not there replays nothing: a broken checkout, never a pass. */
		print_error("%s: cannot open the folder to replay\n", dir);
	}
	assert_non_null(d);
	while ((e = readdir(d)) != NULL) {
		FILE *f;
		struct stat st;
		uint8_t *p;
		int rv;

		if (e->d_name[0] == '.' || strstr(e->d_name, ".md") != NULL) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
			continue; /* the text parsers' crash folders live below */
		}
		f = fopen(path, "rb");
		assert_non_null(f);
		assert_int_equal(fstat(fileno(f), &st), 0);
		p = com_malloc((size_t)st.st_size + 1); /* +1: a 0-byte file still gets a block */
		assert_non_null(p);
		assert_int_equal(fread(p, 1, (size_t)st.st_size, f), (size_t)st.st_size);
		fclose(f);
		rv = fz_decode_bundle(p, (size_t)st.st_size);
		if (rv == FZ_BROKEN) {
			print_error("%s: the bundle decoder broke its promises\n", path);
		}
		assert_true(rv == OCOP_OK || rv == OCOP_EPROTO || rv == OCOP_EVERSION || rv == OCOP_ECORRUPT);
		*ok += rv == OCOP_OK;
		com_free(p);
		count++;
	}
	closedir(d);
	return count;
}

static void
test_every_seed_and_saved_crash_passes_the_oracle(void **state)
{
	size_t ok;
	size_t n;

	(void)state;
	n = replay("tests/fuzz/corpus/bundle", &ok);
	/* The valid seeds open; version_3.bin is a refusal to start mutating from. */
	assert_true(n >= 5);
	assert_true(ok >= 4);
	replay("tests/fuzz/crashes", &ok); /* may be empty */
}

/* ===== Seed writer ===== */

static int
write_seed(const char *dir, const char *name, const com_buf *b)
{
	char path[2048];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len || fclose(f) != 0) {
		fprintf(stderr, "cannot write %s\n", path);
		return 1;
	}
	return 0;
}

/* Small valid bundles (under the fuzzer's 4096-byte input limit) as seeds. */
static int
write_corpus(const char *dir)
{
	static const mk bare[] = {M_HELLO, M_ACK, M_PULL};
	proto_bundle_hdr h = hdr_of(PROTO_BUNDLE_REQUEST);
	proto_bundle_wr bw;
	com_buf b;
	com_buf m;
	int bad = 0;

	mkdir(dir, 0777);
	com_buf_init(&b);
	com_buf_init(&m);
	make_request(&b, 1);
	bad |= write_seed(dir, "request.bin", &b);
	com_buf_reset(&b);
	make_request(&b, 2);
	bad |= write_seed(dir, "request_two_batches.bin", &b);
	com_buf_reset(&b);
	make_reply(&b, 1);
	bad |= write_seed(dir, "reply.bin", &b);
	com_buf_reset(&b);
	make_reply(&b, 2);
	bad |= write_seed(dir, "reply_pages.bin", &b);
	com_buf_reset(&b);
	h.server[0] = 0;
	if (proto_bundle_begin(&bw, &b, &h) != OCOP_OK) {
		return 1;
	}
	msg_hello(&m, SITE);
	proto_bundle_add(&bw, m.data, m.len);
	msg_ack(&m, SITE, 0);
	proto_bundle_add(&bw, m.data, m.len);
	msg_pull(&m, SITE, 0);
	proto_bundle_add(&bw, m.data, m.len);
	bad |= proto_bundle_end(&bw, fz_bundle_key) != OCOP_OK;
	bad |= write_seed(dir, "request_first.bin", &b);
	raw_bundle(&b, PROTO_BUNDLE_REQUEST, bare, 3);
	b.data[11] = 3; /* format version 3: a refusal the fuzzer can start from */
	redigest(&b);
	bad |= write_seed(dir, "version_3.bin", &b);
	com_buf_fini(&m);
	com_buf_fini(&b);
	return bad;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_request_bundle_round_trips),
	    cmocka_unit_test(test_reply_bundle_with_pages_round_trips),
	    cmocka_unit_test(test_request_without_server_or_changes_opens),
	    cmocka_unit_test(test_every_truncation_is_refused),
	    cmocka_unit_test(test_every_bit_flip_is_refused),
	    cmocka_unit_test(test_appended_bytes_are_refused),
	    cmocka_unit_test(test_flipped_body_byte_is_a_checksum_mismatch),
	    cmocka_unit_test(test_a_bundle_under_another_key_is_a_forgery),
	    cmocka_unit_test(test_another_format_version_is_named),
	    cmocka_unit_test(test_a_file_that_is_not_a_bundle_is_refused),
	    cmocka_unit_test(test_raw_builder_makes_valid_bundles),
	    cmocka_unit_test(test_messages_out_of_order_are_refused),
	    cmocka_unit_test(test_messages_of_the_wrong_kind_are_refused),
	    cmocka_unit_test(test_a_message_of_another_site_is_refused),
	    cmocka_unit_test(test_pull_pages_must_continue_each_other),
	    cmocka_unit_test(test_a_message_that_is_not_a_protocol_message_is_refused),
	    cmocka_unit_test(test_edited_header_fields_are_refused),
	    cmocka_unit_test(test_writer_refuses_a_bad_header),
	    cmocka_unit_test(test_writer_never_produces_what_the_reader_refuses),
	    cmocka_unit_test(test_writer_out_of_memory_is_clean),
	    cmocka_unit_test(test_the_oracle_accepts_valid_and_refuses_damaged_bundles),
	    cmocka_unit_test(test_every_seed_and_saved_crash_passes_the_oracle),
	};

	if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0) {
		return write_corpus(argv[2]);
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
