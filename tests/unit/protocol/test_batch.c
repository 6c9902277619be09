/*
 * Unit tests for protocol/batch.c: the compact batch of change records
 * (PROTOCOL.md section 5). Records round-trip every field at its limits,
 * through the plain and the deflated form; the writer's budget undo keeps its
 * dictionaries right; and hostile batches are refused: bad indices, bad ids,
 * seq 0, lying sizes and counts, inflation bombs, trailing bytes, every
 * truncation.
 */
#include "tests/lib/testutil.h"

#include <string.h>
#include <zlib.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "protocol/batch.h"
#include "protocol/envelope.h"

#define SITE "0190f0f0-0000-7000-8000-000000000001"
#define SITE2 "0190f0f0-0000-7000-8000-0000000000b2"
#define ROW "0190f0f0-1111-7000-8000-000000000002"
#define VI_TEXT "Chè Shan tuyết cổ thụ Hà Giang – sản phẩm OCOP 4 sao"

static const uint8_t blob[] = {0x00, 0xff, 0x10, 0x00, 0xc1, 0x7f};

/* A cell map with one cell of every value type and bases at their limits. */
static void
write_cells(com_buf *cells)
{
	proto_wr w;
	proto_value v;

	com_buf_reset(cells);
	proto_wr_init(&w, cells);
	proto_cells_begin(&w, 6);
	memset(&v, 0, sizeof(v));
	v.type = PROTO_V_NULL;
	proto_cell_put(&w, "note", &v, 0);
	v.type = PROTO_V_INT;
	v.i = INT64_MIN;
	proto_cell_put(&w, "low", &v, 1);
	v.i = INT64_MAX;
	proto_cell_put(&w, "high", &v, UINT64_MAX);
	v.type = PROTO_V_REAL;
	v.d = 89.995;
	proto_cell_put(&w, "score_mean", &v, 42);
	v.type = PROTO_V_TEXT;
	v.p = (const uint8_t *)VI_TEXT;
	v.len = strlen(VI_TEXT);
	proto_cell_put(&w, "name", &v, 0x0190f0f000010000ull);
	v.type = PROTO_V_BLOB;
	v.p = blob;
	v.len = sizeof(blob);
	proto_cell_put(&w, "sha256", &v, 2);
	assert_ok(proto_wr_error(&w));
}

static void
make_change(proto_change *c, const com_buf *cells, const char *site, uint64_t seq, uint64_t hlc)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->site, site);
	c->seq = seq;
	strcpy(c->tbl, "score_sheet");
	strcpy(c->row, ROW);
	c->hlc = hlc;
	strcpy(c->user, "Member 1");
	c->cells = cells->data;
	c->cells_len = cells->len;
}

/* Write the batch value of changes cs[0..n) into out. */
static void
encode(com_buf *out, const proto_change *cs, size_t n)
{
	proto_body b;
	proto_wr w;
	size_t i;

	com_buf_reset(out);
	proto_body_init(&b);
	for (i = 0; i < n; i++) {
		assert_ok(proto_body_add(&b, &cs[i]));
	}
	proto_wr_init(&w, out);
	assert_ok(proto_body_put(&b, &w));
	proto_body_fini(&b);
}

/* Decode a whole buffer as one batch value and check each record against cs. */
static int
decode_check(const com_buf *in, const proto_change *cs, size_t n)
{
	proto_rd r;
	proto_changes v;
	proto_changes_it it;
	proto_change c;
	size_t i = 0;
	int rv;

	proto_rd_init(&r, in->data, in->len);
	if ((rv = proto_changes_get(&r, &v)) != OCOP_OK || (rv = proto_rd_done(&r)) != OCOP_OK) {
		return rv;
	}
	assert_int_equal(v.count, n);
	proto_changes_iter(&it, &v);
	while ((rv = proto_changes_next(&it, &c)) == OCOP_OK) {
		assert_true(i < n);
		assert_string_equal(c.site, cs[i].site);
		assert_true(c.seq == cs[i].seq);
		assert_string_equal(c.tbl, cs[i].tbl);
		assert_string_equal(c.row, cs[i].row);
		assert_true(c.hlc == cs[i].hlc);
		assert_string_equal(c.user, cs[i].user);
		/* The cell map comes back as it went: names, values, absolute bases. */
		assert_int_equal(c.cells_len, cs[i].cells_len);
		assert_memory_equal(c.cells, cs[i].cells, c.cells_len);
		i++;
	}
	proto_changes_end(&it);
	assert_int_equal(i, n);
	return rv == OCOP_ENOENT ? OCOP_OK : rv;
}

/* The encoding byte of a batch value (after the fixarray header). */
static int
encoding_of(const com_buf *b)
{
	return b->data[1];
}

static void
test_records_round_trip_with_deltas_at_their_limits(void **state)
{
	com_buf cells;
	com_buf msg;
	proto_change cs[6];

	(void)state;
	com_buf_init(&cells);
	com_buf_init(&msg);
	write_cells(&cells);
	/* Seqs and clocks that go up, down, wrap and jump by more than 2^63. */
	make_change(&cs[0], &cells, SITE, 12345678901ull, 0x0190f0f0ffff0003ull);
	make_change(&cs[1], &cells, SITE, 12345678902ull, 0x0190f0f0ffff0004ull);
	make_change(&cs[2], &cells, SITE2, 1, 1);
	make_change(&cs[3], &cells, SITE, UINT64_MAX, UINT64_MAX);
	make_change(&cs[4], &cells, SITE2, 2, 0);
	make_change(&cs[5], &cells, SITE, UINT64_MAX - 1, UINT64_C(1) << 63);
	strcpy(cs[4].tbl, "_a3456789012345678901234567890_2"); /* the longest name */
	cs[4].user[0] = 0;
	memset(cs[5].user, 'u', PROTO_USER_MAX); /* the longest user */
	cs[5].user[PROTO_USER_MAX] = 0;
	encode(&msg, cs, 6);
	assert_int_equal(encoding_of(&msg), 1); /* this much deflates */
	assert_ok(decode_check(&msg, cs, 6));
	/* One small record stays plain. */
	{
		com_buf empty;
		proto_wr w;
		com_buf_init(&empty);
		proto_wr_init(&w, &empty);
		proto_cells_begin(&w, 0);
		make_change(&cs[0], &empty, SITE, 1, 1);
		encode(&msg, cs, 1);
		assert_int_equal(encoding_of(&msg), 0);
		assert_ok(decode_check(&msg, cs, 1));
		com_buf_fini(&empty);
	}
	com_buf_fini(&msg);
	com_buf_fini(&cells);
}

static void
test_a_batch_names_each_site_table_column_and_user_once(void **state)
{
	com_buf cells;
	com_buf msg;
	proto_change cs[200];
	proto_rd r;
	uint32_t n;
	uint64_t enc;
	uint64_t size;
	const uint8_t *p;
	size_t plen;
	uint8_t *raw;
	uLongf rawlen;
	size_t i;

	(void)state;
	com_buf_init(&cells);
	com_buf_init(&msg);
	write_cells(&cells);
	for (i = 0; i < 200; i++) {
		make_change(&cs[i], &cells, i % 2 ? SITE : SITE2, i + 1, 0x0190f0f0ffff0000ull + i);
	}
	encode(&msg, cs, 200);
	assert_ok(decode_check(&msg, cs, 200));
	/* Inflate and read the dictionaries: 1 table + 6 columns + 1 user, 2 sites. */
	proto_rd_init(&r, msg.data, msg.len);
	assert_ok(proto_rd_array(&r, &n));
	assert_ok(proto_rd_uint(&r, &enc));
	assert_ok(proto_rd_uint(&r, &size));
	assert_ok(proto_rd_uint(&r, &size));
	assert_ok(proto_rd_bin(&r, &p, &plen));
	assert_true(enc == 1);
	rawlen = (uLongf)size;
	raw = com_malloc(size);
	assert_non_null(raw);
	assert_int_equal(uncompress(raw, &rawlen, p, plen), Z_OK);
	proto_rd_init(&r, raw, rawlen);
	assert_ok(proto_rd_array(&r, &n));
	assert_int_equal(n, 8);
	for (i = 0; i < n; i++) {
		assert_ok(proto_rd_skip(&r));
	}
	assert_ok(proto_rd_array(&r, &n));
	assert_int_equal(n, 2);
	com_free(raw);
	/* And it is far smaller than the records' text: under 40 bytes a record. */
	assert_true(msg.len < 200 * 40);
	com_buf_fini(&msg);
	com_buf_fini(&cells);
}

static void
test_the_writer_refuses_what_would_not_decode_and_keeps_the_rest(void **state)
{
	static const char *const bad_uuid[] = {"0190F0F0-0000-7000-8000-000000000001",
	    "0190f0f0-0000-7000-8000-00000000000", "0190f0f000000-7000-8000-000000000001", ""};
	com_buf cells;
	com_buf msg;
	proto_change cs[2];
	proto_change c;
	proto_body b;
	proto_wr w;
	size_t i;

	(void)state;
	com_buf_init(&cells);
	com_buf_init(&msg);
	write_cells(&cells);
	proto_body_init(&b);
	make_change(&cs[0], &cells, SITE, 1, 10);
	assert_ok(proto_body_add(&b, &cs[0]));
	for (i = 0; i < sizeof(bad_uuid) / sizeof(bad_uuid[0]); i++) {
		make_change(&c, &cells, SITE, 2, 11);
		strcpy(c.site, bad_uuid[i]);
		assert_err(proto_body_add(&b, &c), OCOP_EINVAL);
		make_change(&c, &cells, SITE, 2, 11);
		strcpy(c.row, bad_uuid[i]);
		assert_err(proto_body_add(&b, &c), OCOP_EINVAL);
	}
	make_change(&c, &cells, SITE, 0, 11);
	assert_err(proto_body_add(&b, &c), OCOP_EINVAL);
	make_change(&c, &cells, SITE, 2, 11);
	strcpy(c.tbl, "Dossier");
	assert_err(proto_body_add(&b, &c), OCOP_EINVAL);
	/* Undo after an add: the dictionaries forget the new names, the deltas go back. */
	{
		proto_body_mark m;
		make_change(&c, &cells, SITE2, 900, 5);
		strcpy(c.tbl, "product");
		strcpy(c.user, "Thành viên hội đồng");
		proto_body_save(&b, &m);
		assert_ok(proto_body_add(&b, &c));
		proto_body_undo(&b, &m);
	}
	make_change(&cs[1], &cells, SITE, 2, 11);
	assert_ok(proto_body_add(&b, &cs[1]));
	proto_wr_init(&w, &msg);
	assert_ok(proto_body_put(&b, &w));
	proto_body_fini(&b);
	assert_ok(decode_check(&msg, cs, 2));
	com_buf_fini(&msg);
	com_buf_fini(&cells);
}

/* ===== Hostile batches, written by hand ===== */

/* Write a record stream's dictionaries: names, then sites (16 bytes each). */
static void
raw_dicts(proto_wr *w, const char *const *names, uint32_t nn, uint32_t nsites, size_t site_len)
{
	uint8_t site[17] = {0x01, 0x90, 0xf0, 0xf0};
	uint32_t i;

	proto_wr_array(w, nn);
	for (i = 0; i < nn; i++) {
		proto_wr_cstr(w, names[i]);
	}
	proto_wr_array(w, nsites);
	for (i = 0; i < nsites; i++) {
		site[15] = (uint8_t)i;
		proto_wr_bin(w, site, site_len);
	}
}

/* A record: [site, seq delta, table, row, hlc delta, user, {col: ["x", base]}]. */
static void
raw_record(proto_wr *w, uint64_t site, int64_t dseq, uint64_t tbl, size_t row_len, uint64_t user, uint64_t col)
{
	static const uint8_t row[17] = {0x01, 0x90, 0xf0, 0xf0, 0x11, 0x11};

	proto_wr_array(w, 7);
	proto_wr_uint(w, site);
	proto_wr_int(w, dseq);
	proto_wr_uint(w, tbl);
	proto_wr_bin(w, row, row_len);
	proto_wr_int(w, 7);
	proto_wr_uint(w, user);
	proto_wr_map(w, 1);
	proto_wr_uint(w, col);
	proto_wr_array(w, 2);
	proto_wr_cstr(w, "x");
	proto_wr_nil(w);
}

/* Wrap a stream as a batch value: [encoding, count, size, payload]. */
static void
raw_batch(com_buf *out, uint32_t count, const com_buf *stream, bool deflate, uint64_t size)
{
	proto_wr w;

	com_buf_reset(out);
	proto_wr_init(&w, out);
	proto_wr_array(&w, 4);
	proto_wr_uint(&w, deflate ? 1 : 0);
	proto_wr_uint(&w, count);
	proto_wr_uint(&w, size);
	if (deflate) {
		uLongf n = compressBound(stream->len);
		uint8_t *z = com_malloc(n);
		assert_non_null(z);
		assert_int_equal(compress(z, &n, stream->data, stream->len), Z_OK);
		proto_wr_bin(&w, z, n);
		com_free(z);
	} else {
		proto_wr_bin(&w, stream->data, stream->len);
	}
	assert_ok(proto_wr_error(&w));
}

static int
decode_raw(const com_buf *b)
{
	proto_rd r;
	proto_changes v;
	int rv;

	proto_rd_init(&r, b->data, b->len);
	rv = proto_changes_get(&r, &v);
	if (rv == OCOP_OK) {
		rv = proto_rd_done(&r);
	} else {
		assert_int_equal(r.pos, 0); /* the cursor is kept on error */
	}
	return rv;
}

static const char *const names[] = {"dossier", "Dossier", "name", "Member 1", "tên", ""};

/* One stream of `n` records made by rec(i), with the usual dictionaries. */
static void
stream_of(com_buf *s, uint32_t n, void (*rec)(proto_wr *, uint32_t))
{
	proto_wr w;
	uint32_t i;

	com_buf_reset(s);
	proto_wr_init(&w, s);
	raw_dicts(&w, names, 6, 2, 16);
	for (i = 0; i < n; i++) {
		rec(&w, i);
	}
	assert_ok(proto_wr_error(&w));
}

static void rec_good(proto_wr *w, uint32_t i) { raw_record(w, i % 2, 1, 0, 16, 3, 2); }
static void rec_bad_table(proto_wr *w, uint32_t i) { raw_record(w, 0, 1, i == 1 ? 1 : 0, 16, 3, 2); }
static void rec_table_past_end(proto_wr *w, uint32_t i) { raw_record(w, 0, 1, i == 1 ? 6 : 0, 16, 3, 2); }
static void rec_site_past_end(proto_wr *w, uint32_t i) { raw_record(w, i == 1 ? 2 : 0, 1, 0, 16, 3, 2); }
static void rec_user_past_end(proto_wr *w, uint32_t i) { raw_record(w, 0, 1, 0, 16, i == 1 ? 6 : 3, 2); }
static void rec_bad_column(proto_wr *w, uint32_t i) { raw_record(w, 0, 1, 0, 16, 3, i == 1 ? 4 : 2); }
static void rec_empty_column(proto_wr *w, uint32_t i) { raw_record(w, 0, 1, 0, 16, 3, i == 1 ? 5 : 2); }
static void rec_short_row(proto_wr *w, uint32_t i) { raw_record(w, 0, 1, 0, i == 1 ? 15 : 16, 3, 2); }
static void rec_seq_zero(proto_wr *w, uint32_t i) { raw_record(w, 0, i == 1 ? -1 : 1, 0, 16, 3, 2); }
/* The second record has eight fields: an unknown one at its end. */
static void
rec_eight_fields(proto_wr *w, uint32_t i)
{
	size_t at = w->buf->len;

	raw_record(w, 0, 1, 0, 16, 3, 2);
	if (i == 1) {
		assert_int_equal(w->buf->data[at], 0x97);
		w->buf->data[at] = 0x98;
		proto_wr_nil(w);
	}
}

static void
test_a_bad_record_spoils_the_whole_batch(void **state)
{
	static void (*const bad[])(proto_wr *, uint32_t) = {rec_bad_table, rec_table_past_end, rec_site_past_end,
	    rec_user_past_end, rec_bad_column, rec_empty_column, rec_short_row, rec_seq_zero, rec_eight_fields};
	com_buf s;
	com_buf b;
	size_t k;

	(void)state;
	com_buf_init(&s);
	com_buf_init(&b);
	stream_of(&s, 3, rec_good);
	raw_batch(&b, 3, &s, false, s.len);
	assert_ok(decode_raw(&b));
	raw_batch(&b, 3, &s, true, s.len);
	assert_ok(decode_raw(&b));
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		stream_of(&s, 3, bad[k]);
		raw_batch(&b, 3, &s, false, s.len);
		assert_err(decode_raw(&b), OCOP_EPROTO);
		raw_batch(&b, 3, &s, true, s.len);
		assert_err(decode_raw(&b), OCOP_EPROTO);
	}
	com_buf_fini(&s);
	com_buf_fini(&b);
}

static void
test_lying_counts_and_sizes_are_refused(void **state)
{
	com_buf s;
	com_buf b;
	proto_wr w;

	(void)state;
	com_buf_init(&s);
	com_buf_init(&b);
	stream_of(&s, 3, rec_good);
	raw_batch(&b, 2, &s, false, s.len); /* a record more than it says */
	assert_err(decode_raw(&b), OCOP_EPROTO);
	raw_batch(&b, 4, &s, false, s.len); /* a record fewer */
	assert_err(decode_raw(&b), OCOP_EPROTO);
	raw_batch(&b, 3, &s, false, s.len - 1); /* plain: size must be the payload's */
	assert_err(decode_raw(&b), OCOP_EPROTO);
	raw_batch(&b, 3, &s, true, s.len - 1); /* inflates to more than declared */
	assert_err(decode_raw(&b), OCOP_EPROTO);
	raw_batch(&b, 3, &s, true, s.len + 1); /* to less */
	assert_err(decode_raw(&b), OCOP_EPROTO);
	raw_batch(&b, 3, &s, true, (uint64_t)PROTO_MAX_MESSAGE + 1); /* past any message */
	assert_err(decode_raw(&b), OCOP_EPROTO);
	raw_batch(&b, UINT32_MAX, &s, false, s.len); /* more records than bytes */
	assert_err(decode_raw(&b), OCOP_EPROTO);
	/* A trailing byte after the last record. */
	proto_wr_init(&w, &s);
	proto_wr_nil(&w);
	raw_batch(&b, 3, &s, false, s.len);
	assert_err(decode_raw(&b), OCOP_EPROTO);
	raw_batch(&b, 3, &s, true, s.len);
	assert_err(decode_raw(&b), OCOP_EPROTO);
	/* Another encoding, and a payload that is not zlib. */
	stream_of(&s, 1, rec_good);
	raw_batch(&b, 1, &s, false, s.len);
	b.data[1] = 2;
	assert_err(decode_raw(&b), OCOP_EPROTO);
	b.data[1] = 1;
	assert_err(decode_raw(&b), OCOP_EPROTO);
	com_buf_fini(&s);
	com_buf_fini(&b);
}

static void
test_an_inflation_bomb_stops_at_the_declared_size(void **state)
{
	com_buf s;
	com_buf b;
	proto_wr w;
	uint32_t i;

	(void)state;
	com_buf_init(&s);
	com_buf_init(&b);
	/* 8 MiB of empty names deflate to a few kilobytes; the batch claims 4 KiB. */
	proto_wr_init(&w, &s);
	proto_wr_array(&w, 8u << 20);
	for (i = 0; i < (8u << 20); i++) {
		proto_wr_cstr(&w, "");
	}
	assert_ok(proto_wr_error(&w));
	raw_batch(&b, 0, &s, true, 4096);
	assert_true(b.len < 64 * 1024);
	assert_err(decode_raw(&b), OCOP_EPROTO);
	/* Declared whole, the dictionary is past what a batch may name. */
	raw_batch(&b, 0, &s, true, s.len);
	assert_err(decode_raw(&b), OCOP_EPROTO);
	com_buf_fini(&s);
	com_buf_fini(&b);
}

static void
test_bad_dictionaries_are_refused(void **state)
{
	static const char *const long_name[] = {
	    "uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu"}; /* 65 bytes */
	com_buf s;
	com_buf b;
	proto_wr w;

	(void)state;
	com_buf_init(&s);
	com_buf_init(&b);
	proto_wr_init(&w, &s);
	raw_dicts(&w, long_name, 1, 1, 16);
	raw_batch(&b, 0, &s, false, s.len);
	assert_err(decode_raw(&b), OCOP_EPROTO);
	com_buf_reset(&s);
	proto_wr_init(&w, &s);
	raw_dicts(&w, names, 6, 1, 17); /* a site of 17 bytes */
	raw_batch(&b, 0, &s, false, s.len);
	assert_err(decode_raw(&b), OCOP_EPROTO);
	com_buf_reset(&s);
	proto_wr_init(&w, &s);
	proto_wr_array(&w, 1);
	proto_wr_str(&w, "a\0b", 3); /* a NUL inside a name */
	proto_wr_array(&w, 0);
	raw_batch(&b, 0, &s, false, s.len);
	assert_err(decode_raw(&b), OCOP_EPROTO);
	com_buf_fini(&s);
	com_buf_fini(&b);
}

static void
test_every_truncation_of_a_batch_is_refused(void **state)
{
	com_buf cells;
	com_buf msg;
	proto_change cs[3];
	proto_rd r;
	proto_changes v;
	uint8_t *copy;
	size_t cut;
	int deflate;

	(void)state;
	com_buf_init(&cells);
	com_buf_init(&msg);
	for (deflate = 0; deflate < 2; deflate++) {
		if (deflate) {
			write_cells(&cells);
		} else {
			proto_wr w;
			com_buf_reset(&cells);
			proto_wr_init(&w, &cells);
			proto_cells_begin(&w, 0);
		}
		make_change(&cs[0], &cells, SITE, 1, 10);
		encode(&msg, cs, 1);
		assert_int_equal(encoding_of(&msg), deflate);
		for (cut = 0; cut < msg.len; cut++) {
			/* An exact-size copy, so a read past the end is a sanitizer report. */
			copy = com_malloc(cut);
			assert_true(copy != NULL || cut == 0);
			memcpy(copy, msg.data, cut);
			proto_rd_init(&r, copy, cut);
			assert_err(proto_changes_get(&r, &v), OCOP_EPROTO);
			com_free(copy);
		}
	}
	com_buf_fini(&msg);
	com_buf_fini(&cells);
}

static void
test_an_iterator_stopped_early_frees_what_it_holds(void **state)
{
	com_buf cells;
	com_buf msg;
	proto_change cs[3];
	proto_rd r;
	proto_changes v;
	proto_changes_it it;
	proto_change c;

	(void)state;
	com_buf_init(&cells);
	com_buf_init(&msg);
	write_cells(&cells);
	make_change(&cs[0], &cells, SITE, 1, 10);
	make_change(&cs[1], &cells, SITE, 2, 11);
	make_change(&cs[2], &cells, SITE, 3, 12);
	encode(&msg, cs, 3);
	proto_rd_init(&r, msg.data, msg.len);
	assert_ok(proto_changes_get(&r, &v));
	proto_changes_iter(&it, &v);
	assert_ok(proto_changes_next(&it, &c));
	assert_true(c.seq == 1);
	proto_changes_end(&it); /* the sanitizer build reports a leak otherwise */
	proto_changes_end(&it);
	assert_err(proto_changes_next(&it, &c), OCOP_ENOENT);
	com_buf_fini(&msg);
	com_buf_fini(&cells);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_records_round_trip_with_deltas_at_their_limits),
	    cmocka_unit_test(test_a_batch_names_each_site_table_column_and_user_once),
	    cmocka_unit_test(test_the_writer_refuses_what_would_not_decode_and_keeps_the_rest),
	    cmocka_unit_test(test_a_bad_record_spoils_the_whole_batch),
	    cmocka_unit_test(test_lying_counts_and_sizes_are_refused),
	    cmocka_unit_test(test_an_inflation_bomb_stops_at_the_declared_size),
	    cmocka_unit_test(test_bad_dictionaries_are_refused),
	    cmocka_unit_test(test_every_truncation_of_a_batch_is_refused),
	    cmocka_unit_test(test_an_iterator_stopped_early_frees_what_it_holds),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
