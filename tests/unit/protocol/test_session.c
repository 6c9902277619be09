/*
 * Unit tests for protocol/session.c: every session message round-trips, the
 * key rules (required, unknown, repeated), string and UUID limits, the batch
 * writer's byte budget, and every truncation and bit flip of every message.
 */
#include "tests/lib/testutil.h"

#include <string.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "protocol/change.h"
#include "protocol/envelope.h"
#include "protocol/session.h"

#define SITE "0190f0f0-0000-7000-8000-000000000001"
#define SERVER "0190f0f0-0000-7000-8000-0000000000aa"
#define ROW "0190f0f0-1111-7000-8000-000000000002"
#define BIG UINT64_C(0x123456789abcdef0)

/* ===== Fixtures ===== */

typedef union any_msg {
	proto_hello hello;
	proto_hello_ok hello_ok;
	proto_push push;
	proto_push_ok push_ok;
	proto_pull pull;
	proto_pull_ok pull_ok;
	proto_ack ack;
	proto_ack_ok ack_ok;
} any_msg;

/* Message types with their number of keys and the one optional key (0: none). */
static const struct {
	uint32_t type;
	uint64_t nkeys;
	uint64_t optional;
} kinds[] = {
    {PROTO_MSG_HELLO, 6, 6},    {PROTO_MSG_HELLO_OK, 7, 0}, {PROTO_MSG_PUSH, 4, 0},
    {PROTO_MSG_PUSH_OK, 5, 0},  {PROTO_MSG_PULL, 4, 0},     {PROTO_MSG_PULL_OK, 4, 0},
    {PROTO_MSG_ACK, 3, 0},      {PROTO_MSG_ACK_OK, 1, 0},
};
#define NKINDS (sizeof(kinds) / sizeof(kinds[0]))

/* Add one valid change record of the sample site to a batch being built. */
static void
put_change(proto_body *bd, uint64_t seq, const char *tbl)
{
	static const char name[] = "Bánh tráng phơi sương Trảng Bàng";
	com_buf cells;
	proto_wr cw;
	proto_change c;
	proto_value v;

	com_buf_init(&cells);
	proto_wr_init(&cw, &cells);
	proto_cells_begin(&cw, 3);
	memset(&v, 0, sizeof(v));
	v.type = PROTO_V_TEXT;
	v.p = (const uint8_t *)name;
	v.len = strlen(name);
	proto_cell_put(&cw, "name", &v, 0);
	v.type = PROTO_V_INT;
	v.i = 4;
	proto_cell_put(&cw, "stars", &v, BIG);
	v.type = PROTO_V_NULL;
	proto_cell_put(&cw, "note", &v, 7);
	assert_ok(proto_wr_error(&cw));

	memset(&c, 0, sizeof(c));
	strcpy(c.site, SITE);
	c.seq = seq;
	strcpy(c.tbl, tbl);
	strcpy(c.row, ROW);
	c.hlc = BIG + seq;
	strcpy(c.user, "Member 1");
	c.cells = cells.data;
	c.cells_len = cells.len;
	assert_ok(proto_body_add(bd, &c));
	com_buf_fini(&cells);
}

/* Write a batch of the sample's records (seqs first.. of tbl, n of them) as one batch value. */
static void
put_batch(proto_wr *w, uint64_t first, uint32_t n, const char *tbl, const char *tbl2)
{
	proto_body bd;
	uint32_t i;

	proto_body_init(&bd);
	for (i = 0; i < n; i++) {
		put_change(&bd, first + i, i % 2 == 1 && tbl2 != NULL ? tbl2 : tbl);
	}
	assert_ok(proto_body_put(&bd, w));
	proto_body_fini(&bd);
}

/* Fill *m with a sample of `type`, every field set; views point into recs. */
static void
fill(any_msg *m, uint32_t type, com_buf *recs)
{
	proto_wr w;

	memset(m, 0, sizeof(*m));
	com_buf_reset(recs);
	proto_wr_init(&w, recs);
	switch (type) {
	case PROTO_MSG_HELLO:
		strcpy(m->hello.site, SITE);
		strcpy(m->hello.credential, "khóa-bí-mật-xã-1");
		m->hello.protocol_version = PROTO_VERSION;
		m->hello.schema_version = 70000;
		strcpy(m->hello.role, "commune");
		strcpy(m->hello.software, "ocop 0.1.0");
		break;
	case PROTO_MSG_HELLO_OK:
		strcpy(m->hello_ok.server_site, SERVER);
		strcpy(m->hello_ok.server_role, "province");
		m->hello_ok.server_hlc = BIG;
		m->hello_ok.high_water = 300;
		m->hello_ok.max_batch_bytes = 1u << 20;
		m->hello_ok.schema_version = 3;
		m->hello_ok.cursor = UINT64_MAX;
		break;
	case PROTO_MSG_PUSH:
		strcpy(m->push.site, SITE);
		strcpy(m->push.credential, "secret");
		m->push.sender_hlc = BIG;
		put_batch(&w, 1, 3, "dossier", NULL);
		m->push.changes.p = recs->data;
		m->push.changes.len = recs->len;
		m->push.changes.count = 3;
		break;
	case PROTO_MSG_PUSH_OK:
		m->push_ok.high_water = 3;
		proto_rejection_put(&w, 2, 11, "xã không có thẩm quyền công nhận sản phẩm");
		proto_rejection_put(&w, 3, 11, "");
		m->push_ok.rejections.p = recs->data;
		m->push_ok.rejections.len = recs->len;
		m->push_ok.rejections.count = 2;
		m->push_ok.server_hlc = BIG;
		m->push_ok.applied = 1;
		m->push_ok.duplicates = 65536;
		break;
	case PROTO_MSG_PULL:
		strcpy(m->pull.site, SITE);
		strcpy(m->pull.credential, "secret");
		m->pull.cursor = 41;
		m->pull.max_bytes = 1u << 20;
		break;
	case PROTO_MSG_PULL_OK:
		put_batch(&w, 9, 2, "score", "score_sheet");
		m->pull_ok.changes.p = recs->data;
		m->pull_ok.changes.len = recs->len;
		m->pull_ok.changes.count = 2;
		m->pull_ok.next_cursor = 43;
		m->pull_ok.more = true;
		m->pull_ok.server_hlc = BIG;
		break;
	case PROTO_MSG_ACK:
		strcpy(m->ack.site, SITE);
		strcpy(m->ack.credential, "secret");
		m->ack.cursor = 43;
		break;
	case PROTO_MSG_ACK_OK:
		m->ack_ok.cursor = 43;
		break;
	default:
		fail();
	}
	assert_ok(proto_wr_error(&w));
}

static int
encode_any(com_buf *buf, uint32_t type, const any_msg *m)
{
	switch (type) {
	case PROTO_MSG_HELLO: return proto_hello_encode(buf, &m->hello);
	case PROTO_MSG_HELLO_OK: return proto_hello_ok_encode(buf, &m->hello_ok);
	case PROTO_MSG_PUSH: return proto_push_encode(buf, &m->push);
	case PROTO_MSG_PUSH_OK: return proto_push_ok_encode(buf, &m->push_ok);
	case PROTO_MSG_PULL: return proto_pull_encode(buf, &m->pull);
	case PROTO_MSG_PULL_OK: return proto_pull_ok_encode(buf, &m->pull_ok);
	case PROTO_MSG_ACK: return proto_ack_encode(buf, &m->ack);
	case PROTO_MSG_ACK_OK: return proto_ack_ok_encode(buf, &m->ack_ok);
	default: return OCOP_EINVAL;
	}
}

static int
decode_any(proto_rd *body, uint32_t type, any_msg *m)
{
	switch (type) {
	case PROTO_MSG_HELLO: return proto_hello_decode(body, &m->hello);
	case PROTO_MSG_HELLO_OK: return proto_hello_ok_decode(body, &m->hello_ok);
	case PROTO_MSG_PUSH: return proto_push_decode(body, &m->push);
	case PROTO_MSG_PUSH_OK: return proto_push_ok_decode(body, &m->push_ok);
	case PROTO_MSG_PULL: return proto_pull_decode(body, &m->pull);
	case PROTO_MSG_PULL_OK: return proto_pull_ok_decode(body, &m->pull_ok);
	case PROTO_MSG_ACK: return proto_ack_decode(body, &m->ack);
	case PROTO_MSG_ACK_OK: return proto_ack_ok_decode(body, &m->ack_ok);
	default: return OCOP_EPROTO;
	}
}

/* Open a framed message and decode its body by the type in the frame. */
static int
open_and_decode(const uint8_t *p, size_t len, any_msg *m)
{
	proto_env env;
	proto_rd body;
	int rv = proto_env_open(p, len, &env, &body);

	if (rv != OCOP_OK) {
		return rv;
	}
	return decode_any(&body, env.type, m);
}

/* Encode the sample of `type` as a framed message into msg. */
static void
sample(com_buf *msg, uint32_t type)
{
	com_buf recs;
	any_msg m;

	com_buf_init(&recs);
	fill(&m, type, &recs);
	assert_ok(encode_any(msg, type, &m));
	com_buf_fini(&recs);
}

/* ===== Body surgery: rebuild a message with one key dropped, replaced or added ===== */

typedef enum edit_mode { EDIT_DROP, EDIT_REPLACE, EDIT_ADD, EDIT_REPEAT } edit_mode;

/*
 * Re-frame msg (a valid message) with its body changed: DROP removes `key`,
 * REPLACE gives it the raw msgpack value val, ADD appends the pair key: val,
 * REPEAT appends a second copy of key's pair.
 */
static void
edit(com_buf *out, const com_buf *msg, edit_mode mode, uint64_t key, const void *val,
    size_t vlen)
{
	proto_env env;
	proto_rd body;
	proto_wr w;
	uint32_t n;
	uint32_t i;
	uint64_t k;
	size_t start;
	size_t rep0 = 0;
	size_t rep1 = 0;
	int found = 0;

	assert_ok(proto_env_open(msg->data, msg->len, &env, &body));
	assert_ok(proto_rd_map(&body, &n));
	proto_wr_init(&w, out);
	start = proto_env_begin(&w, env.type);
	proto_wr_map(&w, mode == EDIT_DROP ? n - 1 : mode == EDIT_REPLACE ? n : n + 1);
	for (i = 0; i < n; i++) {
		size_t k0 = body.pos;
		assert_ok(proto_rd_uint(&body, &k));
		assert_ok(proto_rd_skip(&body));
		if (k == key) {
			found = 1;
			rep0 = k0;
			rep1 = body.pos;
			if (mode == EDIT_DROP) {
				continue;
			}
			if (mode == EDIT_REPLACE) {
				proto_wr_uint(&w, k);
				proto_wr_raw(&w, val, vlen);
				continue;
			}
		}
		proto_wr_raw(&w, body.p + k0, body.pos - k0);
	}
	if (mode == EDIT_ADD) {
		proto_wr_uint(&w, key);
		proto_wr_raw(&w, val, vlen);
	} else {
		assert_true(found);
		if (mode == EDIT_REPEAT) {
			proto_wr_raw(&w, body.p + rep0, rep1 - rep0);
		}
	}
	assert_ok(proto_env_end(&w, start));
}

/* Make v hold one msgpack str value. */
static void
value_str(com_buf *v, const char *s, size_t len)
{
	proto_wr w;

	com_buf_reset(v);
	proto_wr_init(&w, v);
	proto_wr_str(&w, s, len);
	assert_ok(proto_wr_error(&w));
}

/* ===== Round trips ===== */

/* Decode msg and re-encode the result: the bytes must be identical. */
static void
assert_reencodes_identically(const com_buf *msg, any_msg *m)
{
	proto_env env;
	proto_rd body;
	com_buf again;

	assert_ok(proto_env_open(msg->data, msg->len, &env, &body));
	assert_ok(decode_any(&body, env.type, m));
	com_buf_init(&again);
	assert_ok(encode_any(&again, env.type, m));
	assert_int_equal(again.len, msg->len);
	assert_memory_equal(again.data, msg->data, msg->len);
	com_buf_fini(&again);
}

static void
test_hello_round_trips_with_every_field(void **state)
{
	com_buf msg;
	any_msg m;

	(void)state;
	com_buf_init(&msg);
	sample(&msg, PROTO_MSG_HELLO);
	assert_reencodes_identically(&msg, &m);
	assert_string_equal(m.hello.site, SITE);
	assert_string_equal(m.hello.credential, "khóa-bí-mật-xã-1");
	assert_int_equal(m.hello.protocol_version, PROTO_VERSION);
	assert_int_equal(m.hello.schema_version, 70000);
	assert_string_equal(m.hello.role, "commune");
	assert_string_equal(m.hello.software, "ocop 0.1.0");
	com_buf_fini(&msg);
}

static void
test_hello_ok_round_trips_with_every_field(void **state)
{
	com_buf msg;
	any_msg m;

	(void)state;
	com_buf_init(&msg);
	sample(&msg, PROTO_MSG_HELLO_OK);
	assert_reencodes_identically(&msg, &m);
	assert_string_equal(m.hello_ok.server_site, SERVER);
	assert_string_equal(m.hello_ok.server_role, "province");
	assert_true(m.hello_ok.server_hlc == BIG);
	assert_int_equal(m.hello_ok.high_water, 300);
	assert_int_equal(m.hello_ok.max_batch_bytes, 1u << 20);
	assert_int_equal(m.hello_ok.schema_version, 3);
	assert_true(m.hello_ok.cursor == UINT64_MAX);
	com_buf_fini(&msg);
}

static void
test_push_round_trips_and_its_changes_walk_in_order(void **state)
{
	com_buf msg;
	any_msg m;
	proto_changes_it it;
	proto_change c;
	proto_cells_it cit;
	proto_cell cell;
	uint64_t want = 1;

	(void)state;
	com_buf_init(&msg);
	sample(&msg, PROTO_MSG_PUSH);
	assert_reencodes_identically(&msg, &m);
	assert_string_equal(m.push.site, SITE);
	assert_string_equal(m.push.credential, "secret");
	assert_true(m.push.sender_hlc == BIG);
	assert_int_equal(m.push.changes.count, 3);
	/* The view is borrowed from the message, not copied. */
	assert_true(m.push.changes.p > msg.data && m.push.changes.p < msg.data + msg.len);
	proto_changes_iter(&it, &m.push.changes);
	while (proto_changes_next(&it, &c) == OCOP_OK) {
		assert_int_equal(c.seq, want);
		assert_true(c.hlc == BIG + want);
		assert_string_equal(c.tbl, "dossier");
		assert_string_equal(c.user, "Member 1");
		assert_ok(proto_cells_open(&cit, c.cells, c.cells_len, NULL));
		assert_ok(proto_cells_next(&cit, &cell));
		assert_string_equal(cell.col, "name");
		want++;
	}
	assert_int_equal(want, 4);
	assert_err(proto_changes_next(&it, &c), OCOP_ENOENT);
	com_buf_fini(&msg);
}

static void
test_push_ok_round_trips_with_its_rejections(void **state)
{
	com_buf msg;
	any_msg m;
	proto_rejections_it it;
	proto_rejection r;

	(void)state;
	com_buf_init(&msg);
	sample(&msg, PROTO_MSG_PUSH_OK);
	assert_reencodes_identically(&msg, &m);
	assert_int_equal(m.push_ok.high_water, 3);
	assert_true(m.push_ok.server_hlc == BIG);
	assert_int_equal(m.push_ok.applied, 1);
	assert_int_equal(m.push_ok.duplicates, 65536);
	assert_int_equal(m.push_ok.rejections.count, 2);
	proto_rejections_iter(&it, &m.push_ok.rejections);
	assert_ok(proto_rejections_next(&it, &r));
	assert_int_equal(r.seq, 2);
	assert_int_equal(r.code, 11);
	assert_string_equal(r.reason, "xã không có thẩm quyền công nhận sản phẩm");
	assert_ok(proto_rejections_next(&it, &r));
	assert_int_equal(r.seq, 3);
	assert_string_equal(r.reason, "");
	assert_err(proto_rejections_next(&it, &r), OCOP_ENOENT);
	assert_err(proto_rejections_next(&it, &r), OCOP_ENOENT);
	com_buf_fini(&msg);
}

static void
test_pull_round_trips_with_every_field(void **state)
{
	com_buf msg;
	any_msg m;

	(void)state;
	com_buf_init(&msg);
	sample(&msg, PROTO_MSG_PULL);
	assert_reencodes_identically(&msg, &m);
	assert_string_equal(m.pull.site, SITE);
	assert_string_equal(m.pull.credential, "secret");
	assert_int_equal(m.pull.cursor, 41);
	assert_int_equal(m.pull.max_bytes, 1u << 20);
	com_buf_fini(&msg);
}

static void
test_pull_ok_round_trips_with_its_changes(void **state)
{
	com_buf msg;
	any_msg m;
	proto_changes_it it;
	proto_change c;

	(void)state;
	com_buf_init(&msg);
	sample(&msg, PROTO_MSG_PULL_OK);
	assert_reencodes_identically(&msg, &m);
	assert_int_equal(m.pull_ok.next_cursor, 43);
	assert_true(m.pull_ok.more);
	assert_true(m.pull_ok.server_hlc == BIG);
	assert_int_equal(m.pull_ok.changes.count, 2);
	proto_changes_iter(&it, &m.pull_ok.changes);
	assert_ok(proto_changes_next(&it, &c));
	assert_string_equal(c.tbl, "score");
	assert_ok(proto_changes_next(&it, &c));
	assert_string_equal(c.tbl, "score_sheet");
	assert_int_equal(c.seq, 10);
	assert_err(proto_changes_next(&it, &c), OCOP_ENOENT);
	com_buf_fini(&msg);
}

static void
test_ack_and_ack_ok_round_trip(void **state)
{
	com_buf msg;
	any_msg m;

	(void)state;
	com_buf_init(&msg);
	sample(&msg, PROTO_MSG_ACK);
	assert_reencodes_identically(&msg, &m);
	assert_string_equal(m.ack.site, SITE);
	assert_string_equal(m.ack.credential, "secret");
	assert_int_equal(m.ack.cursor, 43);
	com_buf_reset(&msg);
	sample(&msg, PROTO_MSG_ACK_OK);
	assert_reencodes_identically(&msg, &m);
	assert_int_equal(m.ack_ok.cursor, 43);
	com_buf_fini(&msg);
}

static void
test_empty_batches_round_trip(void **state)
{
	com_buf msg;
	any_msg m;
	proto_changes_it it;
	proto_change c;

	(void)state;
	com_buf_init(&msg);
	memset(&m, 0, sizeof(m));
	strcpy(m.push.site, SITE);
	assert_ok(proto_push_encode(&msg, &m.push));
	assert_reencodes_identically(&msg, &m);
	assert_int_equal(m.push.changes.count, 0);
	assert_string_equal(m.push.credential, "");
	proto_changes_iter(&it, &m.push.changes);
	assert_err(proto_changes_next(&it, &c), OCOP_ENOENT);
	com_buf_fini(&msg);
}

/* ===== Key rules ===== */

static void
test_every_missing_required_key_is_refused(void **state)
{
	com_buf msg;
	com_buf cut;
	any_msg m;
	size_t t;
	uint64_t key;

	(void)state;
	com_buf_init(&msg);
	com_buf_init(&cut);
	for (t = 0; t < NKINDS; t++) {
		com_buf_reset(&msg);
		sample(&msg, kinds[t].type);
		for (key = 1; key <= kinds[t].nkeys; key++) {
			com_buf_reset(&cut);
			edit(&cut, &msg, EDIT_DROP, key, NULL, 0);
			if (key == kinds[t].optional) {
				assert_ok(open_and_decode(cut.data, cut.len, &m));
			} else {
				if (open_and_decode(cut.data, cut.len, &m) != OCOP_EPROTO) {
					print_error("%s without key %u accepted\n",
					    proto_msg_name(kinds[t].type), (unsigned)key);
				}
				assert_err(open_and_decode(cut.data, cut.len, &m), OCOP_EPROTO);
			}
		}
	}
	com_buf_fini(&cut);
	com_buf_fini(&msg);
}

static void
test_hello_without_software_decodes_with_it_empty(void **state)
{
	com_buf msg;
	com_buf cut;
	any_msg m;

	(void)state;
	com_buf_init(&msg);
	com_buf_init(&cut);
	sample(&msg, PROTO_MSG_HELLO);
	edit(&cut, &msg, EDIT_DROP, 6, NULL, 0);
	assert_ok(open_and_decode(cut.data, cut.len, &m));
	assert_string_equal(m.hello.software, "");
	assert_string_equal(m.hello.role, "commune");
	com_buf_fini(&cut);
	com_buf_fini(&msg);
}

static void
test_unknown_keys_are_skipped_in_every_message(void **state)
{
	/* key 99: {"x": [1, -2.5, nil, true, bin "\0\1", ext 5 "ab"]} */
	static const uint8_t nested[] = {0x81, 0xa1, 'x', 0x96, 0x01, 0xcb, 0xc0, 0x04, 0, 0, 0, 0,
	    0, 0, 0xc0, 0xc3, 0xc4, 0x02, 0x00, 0x01, 0xd5, 0x05, 'a', 'b'};
	com_buf msg;
	com_buf more;
	com_buf again;
	any_msg m;
	size_t t;

	(void)state;
	com_buf_init(&msg);
	com_buf_init(&more);
	com_buf_init(&again);
	for (t = 0; t < NKINDS; t++) {
		com_buf_reset(&msg);
		com_buf_reset(&more);
		sample(&msg, kinds[t].type);
		edit(&more, &msg, EDIT_ADD, 99, nested, sizeof(nested));
		assert_ok(open_and_decode(more.data, more.len, &m));
		/* The decoded message (views into `more`) equals the one without the extra key. */
		com_buf_reset(&again);
		assert_ok(encode_any(&again, kinds[t].type, &m));
		assert_int_equal(again.len, msg.len);
		assert_memory_equal(again.data, msg.data, msg.len);
	}
	com_buf_fini(&again);
	com_buf_fini(&more);
	com_buf_fini(&msg);
}

static void
test_a_repeated_key_is_refused(void **state)
{
	com_buf msg;
	com_buf rep;
	any_msg m;
	size_t t;

	(void)state;
	com_buf_init(&msg);
	com_buf_init(&rep);
	for (t = 0; t < NKINDS; t++) {
		com_buf_reset(&msg);
		com_buf_reset(&rep);
		sample(&msg, kinds[t].type);
		edit(&rep, &msg, EDIT_REPEAT, 1, NULL, 0);
		assert_err(open_and_decode(rep.data, rep.len, &m), OCOP_EPROTO);
	}
	com_buf_fini(&rep);
	com_buf_fini(&msg);
}

static void
test_a_body_that_is_not_a_map_or_has_a_text_key_is_refused(void **state)
{
	static const uint8_t not_map[] = {0x91, 0x01};
	static const uint8_t text_key[] = {0x81, 0xa1, '1', 0x05};
	proto_rd r;
	proto_ack_ok ok;

	(void)state;
	proto_rd_init(&r, not_map, sizeof(not_map));
	assert_err(proto_ack_ok_decode(&r, &ok), OCOP_EPROTO);
	proto_rd_init(&r, text_key, sizeof(text_key));
	assert_err(proto_ack_ok_decode(&r, &ok), OCOP_EPROTO);
}

/* ===== Field values ===== */

/* Replace key's value in the sample of type by the raw value and decode. */
static int
decode_with(uint32_t type, uint64_t key, const com_buf *val)
{
	com_buf msg;
	com_buf out;
	any_msg m;
	int rv;

	com_buf_init(&msg);
	com_buf_init(&out);
	sample(&msg, type);
	edit(&out, &msg, EDIT_REPLACE, key, val->data, val->len);
	rv = open_and_decode(out.data, out.len, &m);
	com_buf_fini(&out);
	com_buf_fini(&msg);
	return rv;
}

static void
test_strings_at_their_limit_pass_and_one_byte_more_is_refused(void **state)
{
	static const struct {
		uint32_t type;
		uint64_t key;
		size_t max;
	} limits[] = {
	    {PROTO_MSG_HELLO, 2, PROTO_CREDENTIAL_MAX}, {PROTO_MSG_HELLO, 5, PROTO_ROLE_MAX},
	    {PROTO_MSG_HELLO, 6, PROTO_SOFTWARE_MAX},  {PROTO_MSG_HELLO_OK, 2, PROTO_ROLE_MAX},
	    {PROTO_MSG_PUSH, 2, PROTO_CREDENTIAL_MAX},  {PROTO_MSG_PULL, 2, PROTO_CREDENTIAL_MAX},
	    {PROTO_MSG_ACK, 2, PROTO_CREDENTIAL_MAX},
	};
	char text[PROTO_CREDENTIAL_MAX + 2];
	com_buf v;
	size_t i;

	(void)state;
	memset(text, 'k', sizeof(text));
	com_buf_init(&v);
	for (i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		value_str(&v, text, limits[i].max);
		assert_ok(decode_with(limits[i].type, limits[i].key, &v));
		value_str(&v, text, limits[i].max + 1);
		assert_err(decode_with(limits[i].type, limits[i].key, &v), OCOP_EPROTO);
	}
	com_buf_fini(&v);
}

static void
test_invalid_uuids_are_refused(void **state)
{
	static const char *const bad[] = {
	    "0190F0F0-0000-7000-8000-000000000001",  /* uppercase */
	    "0190f0f0-0000-7000-8000-00000000001",   /* short */
	    "0190f0f0-0000-7000-8000-0000000000011", /* long */
	    "0190f0f0x0000-7000-8000-000000000001",  /* no hyphen */
	    "0190f0f0-0000-7000-8000-00000000000g",  /* not hex */
	    "",
	};
	static const struct {
		uint32_t type;
		uint64_t key;
	} fields[] = {
	    {PROTO_MSG_HELLO, 1}, {PROTO_MSG_HELLO_OK, 1}, {PROTO_MSG_PUSH, 1},
	    {PROTO_MSG_PULL, 1},  {PROTO_MSG_ACK, 1},
	};
	com_buf v;
	size_t i;
	size_t f;

	(void)state;
	com_buf_init(&v);
	for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			value_str(&v, bad[i], strlen(bad[i]));
			assert_err(decode_with(fields[f].type, fields[f].key, &v), OCOP_EPROTO);
		}
		value_str(&v, SERVER, strlen(SERVER));
		assert_ok(decode_with(fields[f].type, fields[f].key, &v));
	}
	com_buf_fini(&v);
}

static void
test_ill_formed_utf8_and_nul_in_strings_are_refused(void **state)
{
	static const char *const bad[] = {
	    "a\xff", "\xc0\x80", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "caf\xc3",
	};
	com_buf v;
	size_t i;

	(void)state;
	com_buf_init(&v);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		value_str(&v, bad[i], strlen(bad[i]));
		assert_err(decode_with(PROTO_MSG_HELLO, 2, &v), OCOP_EPROTO);
	}
	value_str(&v, "a\0b", 3);
	assert_err(decode_with(PROTO_MSG_HELLO, 5, &v), OCOP_EPROTO);
	value_str(&v, "\xf0\x9f\x8c\xbe", 4); /* a four-byte character is fine */
	assert_ok(decode_with(PROTO_MSG_HELLO, 2, &v));
	com_buf_fini(&v);
}

static void
test_values_of_the_wrong_type_or_range_are_refused(void **state)
{
	com_buf v;
	proto_wr w;

	(void)state;
	com_buf_init(&v);
	proto_wr_init(&w, &v);
	proto_wr_uint(&w, UINT64_C(1) << 32); /* does not fit protocol_version */
	assert_err(decode_with(PROTO_MSG_HELLO, 3, &v), OCOP_EPROTO);
	com_buf_reset(&v);
	proto_wr_int(&w, -1);
	assert_err(decode_with(PROTO_MSG_PULL, 3, &v), OCOP_EPROTO);
	com_buf_reset(&v);
	proto_wr_uint(&w, 1);
	assert_err(decode_with(PROTO_MSG_PULL_OK, 3, &v), OCOP_EPROTO); /* more is a bool */
	assert_err(decode_with(PROTO_MSG_HELLO, 1, &v), OCOP_EPROTO);
	assert_err(decode_with(PROTO_MSG_PUSH, 4, &v), OCOP_EPROTO);
	com_buf_reset(&v);
	proto_wr_cstr(&w, "7");
	assert_err(decode_with(PROTO_MSG_ACK_OK, 1, &v), OCOP_EPROTO);
	com_buf_reset(&v);
	proto_wr_nil(&w);
	assert_err(decode_with(PROTO_MSG_PUSH_OK, 2, &v), OCOP_EPROTO);
	com_buf_reset(&v);
	proto_wr_uint(&w, UINT32_MAX); /* the widest u32 is fine */
	assert_ok(decode_with(PROTO_MSG_HELLO, 4, &v));
	com_buf_fini(&v);
}

static void
test_an_invalid_element_spoils_the_whole_array(void **state)
{
	com_buf v;
	proto_wr w;

	(void)state;
	com_buf_init(&v);
	proto_wr_init(&w, &v);
	/* (A batch with one bad record: unit.protocol.batch.) */
	/* A rejection with seq 0, one with a code past 32 bits, one with four elements. */
	com_buf_reset(&v);
	proto_wr_array(&w, 1);
	proto_wr_array(&w, 3);
	proto_wr_uint(&w, 0);
	proto_wr_uint(&w, 3);
	proto_wr_cstr(&w, "x");
	assert_err(decode_with(PROTO_MSG_PUSH_OK, 2, &v), OCOP_EPROTO);
	com_buf_reset(&v);
	proto_wr_array(&w, 1);
	proto_wr_array(&w, 3);
	proto_wr_uint(&w, 1);
	proto_wr_uint(&w, UINT64_C(1) << 32);
	proto_wr_cstr(&w, "x");
	assert_err(decode_with(PROTO_MSG_PUSH_OK, 2, &v), OCOP_EPROTO);
	com_buf_reset(&v);
	proto_wr_array(&w, 1);
	proto_wr_array(&w, 4);
	proto_wr_uint(&w, 1);
	proto_wr_uint(&w, 3);
	proto_wr_cstr(&w, "x");
	proto_wr_nil(&w);
	assert_err(decode_with(PROTO_MSG_PUSH_OK, 2, &v), OCOP_EPROTO);
	/* An array that claims more elements than it holds. */
	com_buf_reset(&v);
	proto_wr_array(&w, 2);
	proto_rejection_put(&w, 1, 3, "x");
	assert_err(decode_with(PROTO_MSG_PUSH_OK, 2, &v), OCOP_EPROTO);
	com_buf_fini(&v);
}

/* ===== Hostile bytes ===== */

static void
test_every_truncation_of_every_message_is_refused(void **state)
{
	com_buf msg;
	any_msg m;
	uint8_t *copy;
	size_t t;
	size_t cut;

	(void)state;
	com_buf_init(&msg);
	for (t = 0; t < NKINDS; t++) {
		com_buf_reset(&msg);
		sample(&msg, kinds[t].type);
		for (cut = 0; cut < msg.len; cut++) {
			/* An exact-size copy, so a read past the end is a sanitizer report. */
			copy = com_malloc(cut);
			assert_non_null(copy);
			memcpy(copy, msg.data, cut);
			assert_err(open_and_decode(copy, cut, &m), OCOP_EPROTO);
			com_free(copy);
		}
	}
	com_buf_fini(&msg);
}

static void
test_every_single_bit_flip_of_every_message_is_refused(void **state)
{
	com_buf msg;
	any_msg m;
	uint8_t *copy;
	size_t t;
	size_t i;
	int bit;
	int rv;

	(void)state;
	com_buf_init(&msg);
	for (t = 0; t < NKINDS; t++) {
		com_buf_reset(&msg);
		sample(&msg, kinds[t].type);
		copy = com_malloc(msg.len);
		assert_non_null(copy);
		for (i = 0; i < msg.len; i++) {
			for (bit = 0; bit < 8; bit++) {
				memcpy(copy, msg.data, msg.len);
				copy[i] ^= (uint8_t)(1u << bit);
				rv = open_and_decode(copy, msg.len, &m);
				if (rv == OCOP_OK) {
					print_error("%s: flip of byte %zu bit %d accepted\n",
					    proto_msg_name(kinds[t].type), i, bit);
				}
				assert_true(rv == OCOP_EPROTO || rv == OCOP_EVERSION);
			}
		}
		com_free(copy);
	}
	com_buf_fini(&msg);
}

/*
 * The CRC hides decoder bugs from the two tests above, so the decoders are
 * also fed every truncated body directly, without a frame.
 */
static void
test_every_truncated_body_is_refused_by_its_decoder(void **state)
{
	com_buf msg;
	any_msg m;
	proto_env env;
	proto_rd body;
	proto_rd part;
	uint8_t *copy;
	size_t t;
	size_t cut;

	(void)state;
	com_buf_init(&msg);
	for (t = 0; t < NKINDS; t++) {
		com_buf_reset(&msg);
		sample(&msg, kinds[t].type);
		assert_ok(proto_env_open(msg.data, msg.len, &env, &body));
		for (cut = 0; cut < body.len; cut++) {
			copy = com_malloc(cut);
			assert_non_null(copy);
			memcpy(copy, body.p, cut);
			proto_rd_init(&part, copy, cut);
			assert_err(decode_any(&part, env.type, &m), OCOP_EPROTO);
			com_free(copy);
		}
	}
	com_buf_fini(&msg);
}

/* Bit flips in a bare body may yield another valid body, but never a crash or another code. */
static void
test_bit_flips_in_a_bare_body_give_ok_or_eproto(void **state)
{
	com_buf msg;
	any_msg m;
	proto_env env;
	proto_rd body;
	proto_rd part;
	uint8_t *copy;
	size_t t;
	size_t i;
	int bit;
	int rv;

	(void)state;
	com_buf_init(&msg);
	for (t = 0; t < NKINDS; t++) {
		com_buf_reset(&msg);
		sample(&msg, kinds[t].type);
		assert_ok(proto_env_open(msg.data, msg.len, &env, &body));
		copy = com_malloc(body.len);
		assert_non_null(copy);
		for (i = 0; i < body.len; i++) {
			for (bit = 0; bit < 8; bit++) {
				memcpy(copy, body.p, body.len);
				copy[i] ^= (uint8_t)(1u << bit);
				proto_rd_init(&part, copy, body.len);
				rv = decode_any(&part, env.type, &m);
				assert_true(rv == OCOP_OK || rv == OCOP_EPROTO);
			}
		}
		com_free(copy);
	}
	com_buf_fini(&msg);
}

/* ===== Encoders ===== */

static void
test_encoders_refuse_fields_that_would_not_decode(void **state)
{
	com_buf msg;
	com_buf recs;
	any_msg m;

	(void)state;
	com_buf_init(&msg);
	com_buf_init(&recs);
	assert_ok(com_buf_append(&msg, "x", 1));

	fill(&m, PROTO_MSG_HELLO, &recs);
	m.hello.site[0] = 'A';
	assert_err(proto_hello_encode(&msg, &m.hello), OCOP_EINVAL);
	fill(&m, PROTO_MSG_HELLO, &recs);
	memset(m.hello.role, 'r', sizeof(m.hello.role)); /* not terminated in its array */
	assert_err(proto_hello_encode(&msg, &m.hello), OCOP_EINVAL);
	fill(&m, PROTO_MSG_PULL, &recs);
	strcpy(m.pull.credential, "bad\xff");
	assert_err(proto_pull_encode(&msg, &m.pull), OCOP_EINVAL);
	fill(&m, PROTO_MSG_PUSH, &recs);
	m.push.changes.p = NULL; /* bytes claimed but none given */
	assert_err(proto_push_encode(&msg, &m.push), OCOP_EINVAL);
	fill(&m, PROTO_MSG_PUSH_OK, &recs);
	m.push_ok.rejections.count = (uint32_t)m.push_ok.rejections.len + 1; /* more than bytes */
	assert_err(proto_push_ok_encode(&msg, &m.push_ok), OCOP_EINVAL);
	/* Nothing was written. */
	assert_int_equal(msg.len, 1);
	com_buf_fini(&recs);
	com_buf_fini(&msg);
}

static void
test_encoders_fail_cleanly_when_memory_runs_out(void **state)
{
	com_buf msg;
	com_buf recs;
	any_msg m;
	size_t t;
	long k;
	int rv;

	(void)state;
	com_buf_init(&recs);
	for (t = 0; t < NKINDS; t++) {
		fill(&m, kinds[t].type, &recs);
		for (k = 0;; k++) {
			com_buf_init(&msg);
			com_alloc_fail_after(k);
			rv = encode_any(&msg, kinds[t].type, &m);
			com_alloc_fail_after(-1);
			if (rv == OCOP_OK) {
				com_buf_fini(&msg);
				break;
			}
			assert_err(rv, OCOP_ENOMEM);
			assert_int_equal(msg.len, 0);
			com_buf_fini(&msg);
		}
		assert_true(k > 0); /* at least one failure was exercised */
	}
	com_buf_fini(&recs);
}

static void
test_rejection_reasons_are_cut_at_a_character_and_cleaned(void **state)
{
	char reason[PROTO_REASON_MAX + 10];
	com_buf b;
	proto_wr w;
	proto_rejections v;
	proto_rejections_it it;
	proto_rejection r;
	size_t i;

	(void)state;
	/* 'a' then 'ấ' (3 bytes) repeated past the limit: cut to the limit, whole characters. */
	for (i = 0; i + 3 < sizeof(reason); i += 4) {
		memcpy(reason + i, "a\xe1\xba\xa5", 4);
	}
	reason[i] = 0;
	com_buf_init(&b);
	proto_wr_init(&w, &b);
	proto_rejection_put(&w, 5, 11, reason);
	proto_rejection_put(&w, 6, 11, "bad \xff byte");
	proto_rejection_put(&w, 7, 11, NULL);
	assert_ok(proto_wr_error(&w));
	v.p = b.data;
	v.len = b.len;
	v.count = 3;
	proto_rejections_iter(&it, &v);
	assert_ok(proto_rejections_next(&it, &r));
	assert_int_equal(strlen(r.reason), PROTO_REASON_MAX); /* 128 whole 4-byte groups */
	assert_memory_equal(r.reason, reason, PROTO_REASON_MAX);
	assert_ok(proto_rejections_next(&it, &r));
	assert_string_equal(r.reason, "bad ? byte");
	assert_ok(proto_rejections_next(&it, &r));
	assert_string_equal(r.reason, "");
	assert_err(proto_rejections_next(&it, &r), OCOP_ENOENT);
	proto_rejection_put(&w, 0, 1, "x");
	assert_err(proto_wr_error(&w), OCOP_EINVAL);
	com_buf_fini(&b);
}

static void
test_a_reason_that_splits_a_character_at_the_limit_is_shortened(void **state)
{
	char reason[PROTO_REASON_MAX + 3];
	com_buf b;
	proto_wr w;
	proto_rejections v;
	proto_rejections_it it;
	proto_rejection r;

	(void)state;
	memset(reason, 'x', PROTO_REASON_MAX - 1);
	memcpy(reason + PROTO_REASON_MAX - 1, "\xe1\xba\xa5", 4); /* straddles byte 512 */
	com_buf_init(&b);
	proto_wr_init(&w, &b);
	proto_rejection_put(&w, 1, 11, reason);
	assert_ok(proto_wr_error(&w));
	v.p = b.data;
	v.len = b.len;
	v.count = 1;
	proto_rejections_iter(&it, &v);
	assert_ok(proto_rejections_next(&it, &r));
	assert_int_equal(strlen(r.reason), PROTO_REASON_MAX - 1);
	com_buf_fini(&b);
}

/* ===== Batch writer ===== */

/* Fill *c with a valid change whose cell map lives in cells. */
static void
make_change(proto_change *c, com_buf *cells, uint64_t seq, size_t text_len)
{
	proto_wr w;
	proto_value v;
	static char text[4096];

	assert_true(text_len <= sizeof(text));
	memset(text, 't', sizeof(text));
	com_buf_reset(cells);
	proto_wr_init(&w, cells);
	proto_cells_begin(&w, 1);
	memset(&v, 0, sizeof(v));
	v.type = PROTO_V_TEXT;
	v.p = (const uint8_t *)text;
	v.len = text_len;
	proto_cell_put(&w, "name", &v, 0);
	assert_ok(proto_wr_error(&w));
	memset(c, 0, sizeof(*c));
	strcpy(c->site, SITE);
	c->seq = seq;
	strcpy(c->tbl, "product");
	strcpy(c->row, ROW);
	c->hlc = BIG;
	c->cells = cells->data;
	c->cells_len = cells->len;
}

static void
test_batch_push_stops_at_the_byte_budget(void **state)
{
	enum { BUDGET = 2000 };
	com_buf msg;
	com_buf cells;
	proto_batch b;
	proto_push hdr;
	proto_change c;
	any_msg m;
	proto_changes_it it;
	uint64_t seq = 1;
	size_t before;
	int rv;

	(void)state;
	com_buf_init(&msg);
	com_buf_init(&cells);
	memset(&hdr, 0, sizeof(hdr));
	strcpy(hdr.site, SITE);
	strcpy(hdr.credential, "secret");
	hdr.sender_hlc = BIG;
	assert_ok(proto_push_begin(&b, &msg, &hdr, BUDGET));
	for (;;) {
		make_change(&c, &cells, seq, 300);
		before = msg.len;
		rv = proto_batch_add(&b, &c);
		if (rv == OCOP_ETOOBIG) {
			assert_int_equal(msg.len, before); /* the batch is unchanged */
			break;
		}
		assert_ok(rv);
		assert_true(proto_batch_size(&b) <= BUDGET);
		seq++;
	}
	assert_true(proto_batch_count(&b) >= 4);
	assert_int_equal(proto_batch_count(&b), seq - 1);
	assert_ok(proto_push_end(&b));
	assert_true(msg.len <= BUDGET);
	assert_true(msg.len <= proto_batch_size(&b));

	assert_ok(open_and_decode(msg.data, msg.len, &m));
	assert_string_equal(m.push.site, SITE);
	assert_true(m.push.sender_hlc == BIG);
	assert_int_equal(m.push.changes.count, seq - 1);
	proto_changes_iter(&it, &m.push.changes);
	for (uint64_t k = 1; k < seq; k++) {
		assert_ok(proto_changes_next(&it, &c));
		assert_int_equal(c.seq, k);
	}
	assert_err(proto_changes_next(&it, &c), OCOP_ENOENT);
	com_buf_fini(&cells);
	com_buf_fini(&msg);
}

static void
test_batch_admits_an_oversized_change_when_it_is_alone(void **state)
{
	com_buf msg;
	com_buf cells;
	proto_batch b;
	proto_push hdr;
	proto_change c;
	any_msg m;

	(void)state;
	com_buf_init(&msg);
	com_buf_init(&cells);
	memset(&hdr, 0, sizeof(hdr));
	strcpy(hdr.site, SITE);
	assert_ok(proto_push_begin(&b, &msg, &hdr, 100));
	make_change(&c, &cells, 1, 1000);
	assert_ok(proto_batch_add(&b, &c));
	make_change(&c, &cells, 2, 1);
	assert_err(proto_batch_add(&b, &c), OCOP_ETOOBIG);
	assert_ok(proto_push_end(&b));
	assert_ok(open_and_decode(msg.data, msg.len, &m));
	assert_int_equal(m.push.changes.count, 1);
	com_buf_fini(&cells);
	com_buf_fini(&msg);
}

static void
test_batch_pull_ok_carries_the_end_fields(void **state)
{
	com_buf msg;
	com_buf cells;
	proto_batch b;
	proto_change c;
	any_msg m;
	proto_changes_it it;

	(void)state;
	com_buf_init(&msg);
	assert_ok(com_buf_append(&msg, "prefix", 6)); /* the frame need not start at 0 */
	com_buf_init(&cells);
	assert_ok(proto_pull_ok_begin(&b, &msg, 1u << 20));
	make_change(&c, &cells, 7, 10);
	assert_ok(proto_batch_add(&b, &c));
	make_change(&c, &cells, 8, 10);
	assert_ok(proto_batch_add(&b, &c));
	assert_ok(proto_pull_ok_end(&b, UINT64_MAX, true, BIG));
	assert_memory_equal(msg.data, "prefix", 6);
	assert_ok(open_and_decode(msg.data + 6, msg.len - 6, &m));
	assert_int_equal(m.pull_ok.changes.count, 2);
	assert_true(m.pull_ok.next_cursor == UINT64_MAX);
	assert_true(m.pull_ok.more);
	assert_true(m.pull_ok.server_hlc == BIG);
	proto_changes_iter(&it, &m.pull_ok.changes);
	assert_ok(proto_changes_next(&it, &c));
	assert_int_equal(c.seq, 7);
	assert_ok(proto_changes_next(&it, &c));
	assert_int_equal(c.seq, 8);
	assert_err(proto_changes_next(&it, &c), OCOP_ENOENT);
	com_buf_fini(&cells);
	com_buf_fini(&msg);
}

static void
test_batch_refuses_a_change_that_would_not_decode(void **state)
{
	com_buf msg;
	com_buf cells;
	proto_batch b;
	proto_change c;
	any_msg m;
	size_t before;

	(void)state;
	com_buf_init(&msg);
	com_buf_init(&cells);
	assert_ok(proto_pull_ok_begin(&b, &msg, 1u << 20));
	make_change(&c, &cells, 1, 10);
	c.seq = 0;
	before = msg.len;
	assert_err(proto_batch_add(&b, &c), OCOP_EINVAL);
	assert_int_equal(msg.len, before);
	make_change(&c, &cells, 1, 10);
	strcpy(c.row, "not-a-uuid");
	assert_err(proto_batch_add(&b, &c), OCOP_EINVAL);
	make_change(&c, &cells, 1, 10);
	assert_ok(proto_batch_add(&b, &c));
	assert_ok(proto_pull_ok_end(&b, 1, false, 2));
	assert_ok(open_and_decode(msg.data, msg.len, &m));
	assert_int_equal(m.pull_ok.changes.count, 1);
	assert_false(m.pull_ok.more);
	com_buf_fini(&cells);
	com_buf_fini(&msg);
}

static void
test_batch_begin_refuses_a_bad_header(void **state)
{
	com_buf msg;
	proto_batch b;
	proto_push hdr;

	(void)state;
	com_buf_init(&msg);
	memset(&hdr, 0, sizeof(hdr));
	strcpy(hdr.site, "0190F0F0-0000-7000-8000-000000000001");
	assert_err(proto_push_begin(&b, &msg, &hdr, 1000), OCOP_EINVAL);
	assert_int_equal(msg.len, 0);
	com_buf_fini(&msg);
}

static void
test_batch_fails_cleanly_when_memory_runs_out(void **state)
{
	com_buf msg;
	com_buf cells;
	proto_batch b;
	proto_change c;
	long k;
	int rv;

	(void)state;
	com_buf_init(&cells);
	make_change(&c, &cells, 1, 500);
	for (k = 0;; k++) {
		com_buf_init(&msg);
		com_alloc_fail_after(k);
		rv = proto_pull_ok_begin(&b, &msg, 1u << 20);
		if (rv == OCOP_OK) {
			rv = proto_batch_add(&b, &c);
			/* After a failed add the batch is dead, and its end says so. */
			if (rv != OCOP_OK) {
				assert_err(rv, OCOP_ENOMEM);
				assert_err(proto_batch_add(&b, &c), OCOP_ENOMEM);
			}
			rv = proto_pull_ok_end(&b, 1, false, 1);
		}
		com_alloc_fail_after(-1);
		if (rv == OCOP_OK) {
			com_buf_fini(&msg);
			break;
		}
		assert_err(rv, OCOP_ENOMEM);
		assert_int_equal(msg.len, 0);
		com_buf_fini(&msg);
	}
	assert_true(k > 0);
	com_buf_fini(&cells);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hello_round_trips_with_every_field),
	    cmocka_unit_test(test_hello_ok_round_trips_with_every_field),
	    cmocka_unit_test(test_push_round_trips_and_its_changes_walk_in_order),
	    cmocka_unit_test(test_push_ok_round_trips_with_its_rejections),
	    cmocka_unit_test(test_pull_round_trips_with_every_field),
	    cmocka_unit_test(test_pull_ok_round_trips_with_its_changes),
	    cmocka_unit_test(test_ack_and_ack_ok_round_trip),
	    cmocka_unit_test(test_empty_batches_round_trip),
	    cmocka_unit_test(test_every_missing_required_key_is_refused),
	    cmocka_unit_test(test_hello_without_software_decodes_with_it_empty),
	    cmocka_unit_test(test_unknown_keys_are_skipped_in_every_message),
	    cmocka_unit_test(test_a_repeated_key_is_refused),
	    cmocka_unit_test(test_a_body_that_is_not_a_map_or_has_a_text_key_is_refused),
	    cmocka_unit_test(test_strings_at_their_limit_pass_and_one_byte_more_is_refused),
	    cmocka_unit_test(test_invalid_uuids_are_refused),
	    cmocka_unit_test(test_ill_formed_utf8_and_nul_in_strings_are_refused),
	    cmocka_unit_test(test_values_of_the_wrong_type_or_range_are_refused),
	    cmocka_unit_test(test_an_invalid_element_spoils_the_whole_array),
	    cmocka_unit_test(test_every_truncation_of_every_message_is_refused),
	    cmocka_unit_test(test_every_single_bit_flip_of_every_message_is_refused),
	    cmocka_unit_test(test_every_truncated_body_is_refused_by_its_decoder),
	    cmocka_unit_test(test_bit_flips_in_a_bare_body_give_ok_or_eproto),
	    cmocka_unit_test(test_encoders_refuse_fields_that_would_not_decode),
	    cmocka_unit_test(test_encoders_fail_cleanly_when_memory_runs_out),
	    cmocka_unit_test(test_rejection_reasons_are_cut_at_a_character_and_cleaned),
	    cmocka_unit_test(test_a_reason_that_splits_a_character_at_the_limit_is_shortened),
	    cmocka_unit_test(test_batch_push_stops_at_the_byte_budget),
	    cmocka_unit_test(test_batch_admits_an_oversized_change_when_it_is_alone),
	    cmocka_unit_test(test_batch_pull_ok_carries_the_end_fields),
	    cmocka_unit_test(test_batch_refuses_a_change_that_would_not_decode),
	    cmocka_unit_test(test_batch_begin_refuses_a_bad_header),
	    cmocka_unit_test(test_batch_fails_cleanly_when_memory_runs_out),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
