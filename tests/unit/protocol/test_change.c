/*
 * Unit tests for protocol/change.c: change records and cell maps round-trip
 * every value type, and invalid names, UUIDs, sequences and truncated records
 * are refused (PROTOCOL.md section 5).
 */
#include "tests/lib/testutil.h"

#include <math.h>
#include <string.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "protocol/change.h"

#define SITE "0190f0f0-0000-7000-8000-000000000001"
#define ROW "0190f0f0-1111-7000-8000-000000000002"
#define VI_TEXT "Chè Shan tuyết cổ thụ Hà Giang – sản phẩm OCOP 4 sao"

static const uint8_t blob[] = {0x00, 0xff, 0x10, 0x00, 0xc1, 0x7f};

/* Write a cell map with one cell of every value type into cells. */
static void
write_cells(com_buf *cells)
{
	proto_wr w;
	proto_value v;

	proto_wr_init(&w, cells);
	proto_cells_begin(&w, 7);
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
	v.type = PROTO_V_TEXT;
	v.p = (const uint8_t *)"";
	v.len = 0;
	proto_cell_put(&w, "_empty_2", &v, 3);
	assert_ok(proto_wr_error(&w));
}

/* Fill c with a valid change whose cells live in cells. */
static void
make_change(proto_change *c, com_buf *cells)
{
	com_buf_reset(cells);
	write_cells(cells);
	memset(c, 0, sizeof(*c));
	strcpy(c->site, SITE);
	c->seq = 12345678901ull;
	strcpy(c->tbl, "score_sheet");
	strcpy(c->row, ROW);
	c->hlc = 0x0190f0f0ffff0003ull;
	strcpy(c->user, "Member 1");
	c->cells = cells->data;
	c->cells_len = cells->len;
}

/* Encode c alone into out. */
static void
encode(com_buf *out, const proto_change *c)
{
	proto_wr w;

	com_buf_reset(out);
	proto_wr_init(&w, out);
	proto_change_put(&w, c);
	assert_ok(proto_wr_error(&w));
}

/* Decode a whole buffer as one change record. */
static int
decode(const com_buf *in, proto_change *c)
{
	proto_rd r;
	int rv;

	proto_rd_init(&r, in->data, in->len);
	rv = proto_change_get(&r, c);
	if (rv == OCOP_OK) {
		rv = proto_rd_done(&r);
	}
	return rv;
}

static void
test_change_round_trips_every_value_type(void **state)
{
	com_buf cells;
	com_buf msg;
	proto_change in;
	proto_change out;
	proto_cells_it it;
	proto_cell cell;
	uint32_t count;

	(void)state;
	com_buf_init(&cells);
	com_buf_init(&msg);
	make_change(&in, &cells);
	encode(&msg, &in);
	assert_ok(decode(&msg, &out));
	assert_string_equal(out.site, SITE);
	assert_true(out.seq == 12345678901ull);
	assert_string_equal(out.tbl, "score_sheet");
	assert_string_equal(out.row, ROW);
	assert_true(out.hlc == 0x0190f0f0ffff0003ull);
	assert_string_equal(out.user, "Member 1");
	/* The cell map travels verbatim and points into the record. */
	assert_int_equal(out.cells_len, cells.len);
	assert_memory_equal(out.cells, cells.data, cells.len);
	assert_true(out.cells > msg.data && out.cells + out.cells_len == msg.data + msg.len);

	assert_ok(proto_cells_open(&it, out.cells, out.cells_len, &count));
	assert_int_equal(count, 7);
	assert_ok(proto_cells_next(&it, &cell));
	assert_string_equal(cell.col, "note");
	assert_int_equal(cell.v.type, PROTO_V_NULL);
	assert_true(cell.base_hlc == 0);
	assert_ok(proto_cells_next(&it, &cell));
	assert_int_equal(cell.v.type, PROTO_V_INT);
	assert_true(cell.v.i == INT64_MIN);
	assert_true(cell.base_hlc == 1);
	assert_ok(proto_cells_next(&it, &cell));
	assert_true(cell.v.i == INT64_MAX);
	assert_true(cell.base_hlc == UINT64_MAX);
	assert_ok(proto_cells_next(&it, &cell));
	assert_string_equal(cell.col, "score_mean");
	assert_int_equal(cell.v.type, PROTO_V_REAL);
	assert_true(cell.v.d == 89.995);
	assert_ok(proto_cells_next(&it, &cell));
	assert_string_equal(cell.col, "name");
	assert_int_equal(cell.v.type, PROTO_V_TEXT);
	assert_int_equal(cell.v.len, strlen(VI_TEXT));
	assert_memory_equal(cell.v.p, VI_TEXT, cell.v.len);
	assert_true(cell.base_hlc == 0x0190f0f000010000ull);
	assert_ok(proto_cells_next(&it, &cell));
	assert_int_equal(cell.v.type, PROTO_V_BLOB);
	assert_int_equal(cell.v.len, sizeof(blob));
	assert_memory_equal(cell.v.p, blob, sizeof(blob));
	assert_ok(proto_cells_next(&it, &cell));
	assert_string_equal(cell.col, "_empty_2");
	assert_int_equal(cell.v.type, PROTO_V_TEXT);
	assert_int_equal(cell.v.len, 0);
	assert_err(proto_cells_next(&it, &cell), OCOP_ENOENT);
	assert_err(proto_cells_next(&it, &cell), OCOP_ENOENT);
	com_buf_fini(&msg);
	com_buf_fini(&cells);
}

static void
test_real_values_keep_their_sign_and_specials(void **state)
{
	const double vals[] = {-0.0, 1e308, -4.9e-324, INFINITY};
	com_buf cells;
	proto_wr w;
	proto_value v;
	proto_cells_it it;
	proto_cell cell;
	size_t i;

	(void)state;
	com_buf_init(&cells);
	proto_wr_init(&w, &cells);
	proto_cells_begin(&w, 4);
	memset(&v, 0, sizeof(v));
	v.type = PROTO_V_REAL;
	for (i = 0; i < 4; i++) {
		v.d = vals[i];
		proto_cell_put(&w, "x", &v, 0);
	}
	assert_ok(proto_wr_error(&w));
	assert_ok(proto_cells_open(&it, cells.data, cells.len, NULL));
	for (i = 0; i < 4; i++) {
		assert_ok(proto_cells_next(&it, &cell));
		assert_memory_equal(&cell.v.d, &vals[i], sizeof(double));
	}
	assert_err(proto_cells_next(&it, &cell), OCOP_ENOENT);
	com_buf_fini(&cells);
}

static void
test_empty_cell_map_and_empty_user_are_accepted(void **state)
{
	com_buf cells;
	com_buf msg;
	proto_change c;
	proto_cells_it it;
	proto_cell cell;
	proto_wr w;

	(void)state;
	com_buf_init(&cells);
	com_buf_init(&msg);
	make_change(&c, &cells);
	com_buf_reset(&cells);
	proto_wr_init(&w, &cells);
	proto_cells_begin(&w, 0);
	c.cells = cells.data;
	c.cells_len = cells.len;
	c.user[0] = 0;
	encode(&msg, &c);
	assert_ok(decode(&msg, &c));
	assert_string_equal(c.user, "");
	assert_ok(proto_cells_open(&it, c.cells, c.cells_len, NULL));
	assert_err(proto_cells_next(&it, &cell), OCOP_ENOENT);
	com_buf_fini(&msg);
	com_buf_fini(&cells);
}

static void
test_invalid_table_names_are_refused(void **state)
{
	static const char *const bad[] = {"Dossier", "1dossier", "dossier-x", "hồ_sơ", "",
	    "a23456789012345678901234567890123"};
	com_buf cells;
	com_buf msg;
	proto_change c;
	size_t i;

	(void)state;
	com_buf_init(&cells);
	com_buf_init(&msg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_change(&c, &cells);
		/* Write the bad name straight into the encoding, past the struct's bound. */
		com_buf_reset(&msg);
		{
			proto_wr w;
			proto_wr_init(&w, &msg);
			proto_wr_array(&w, 7);
			proto_wr_cstr(&w, c.site);
			proto_wr_uint(&w, c.seq);
			proto_wr_cstr(&w, bad[i]);
			proto_wr_cstr(&w, c.row);
			proto_wr_uint(&w, c.hlc);
			proto_wr_cstr(&w, c.user);
			proto_wr_raw(&w, c.cells, c.cells_len);
			assert_ok(proto_wr_error(&w));
		}
		assert_err(decode(&msg, &c), OCOP_EPROTO);
	}
	/* 32 characters, digits after the first, underscores: the longest valid name. */
	make_change(&c, &cells);
	strcpy(c.tbl, "_a3456789012345678901234567890_2");
	encode(&msg, &c);
	assert_ok(decode(&msg, &c));
	com_buf_fini(&msg);
	com_buf_fini(&cells);
}

static void
test_invalid_column_names_are_refused(void **state)
{
	static const char *const bad[] = {"Name", "9x", "", "tên"};
	com_buf cells;
	proto_wr w;
	proto_value v;
	size_t i;

	(void)state;
	com_buf_init(&cells);
	memset(&v, 0, sizeof(v));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		com_buf_reset(&cells);
		proto_wr_init(&w, &cells);
		proto_cells_begin(&w, 1);
		proto_cell_put(&w, bad[i], &v, 0);
		assert_ok(proto_wr_error(&w));
		assert_err(proto_cells_check(cells.data, cells.len), OCOP_EPROTO);
	}
	com_buf_fini(&cells);
}

static void
test_invalid_uuids_and_seq_zero_are_refused(void **state)
{
	static const char *const bad[] = {
	    "0190F0F0-0000-7000-8000-000000000001", /* uppercase is not canonical */
	    "0190f0f0-0000-7000-8000-00000000000",
	    "0190f0f000000-7000-8000-000000000001",
	    "0190f0f0-0000-7000-8000-00000000000z",
	    "",
	};
	com_buf cells;
	com_buf msg;
	proto_change c;
	size_t i;

	(void)state;
	com_buf_init(&cells);
	com_buf_init(&msg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_change(&c, &cells);
		strcpy(c.site, bad[i]);
		encode(&msg, &c);
		assert_err(decode(&msg, &c), OCOP_EPROTO);
		make_change(&c, &cells);
		strcpy(c.row, bad[i]);
		encode(&msg, &c);
		assert_err(decode(&msg, &c), OCOP_EPROTO);
	}
	make_change(&c, &cells);
	c.seq = 0;
	encode(&msg, &c);
	assert_err(decode(&msg, &c), OCOP_EPROTO);
	com_buf_fini(&msg);
	com_buf_fini(&cells);
}

static void
test_uuid_check_accepts_only_the_canonical_lowercase_form(void **state)
{
	(void)state;
	assert_true(proto_uuid_valid(SITE, 36));
	assert_false(proto_uuid_valid("0190f0f0-0000-7000-8000-00000000000A", 36));
	assert_false(proto_uuid_valid(SITE, 35));
	assert_false(proto_uuid_valid("0190f0f0-0000-7000-8000_000000000001", 36));
}

static void
test_user_longer_than_its_limit_is_refused(void **state)
{
	char user[PROTO_USER_MAX + 2];
	com_buf cells;
	com_buf msg;
	proto_change c;
	proto_wr w;

	(void)state;
	com_buf_init(&cells);
	com_buf_init(&msg);
	memset(user, 'u', sizeof(user));
	user[PROTO_USER_MAX] = 0;
	make_change(&c, &cells);
	strcpy(c.user, user);
	encode(&msg, &c);
	assert_ok(decode(&msg, &c));
	assert_int_equal(strlen(c.user), PROTO_USER_MAX);

	make_change(&c, &cells);
	com_buf_reset(&msg);
	proto_wr_init(&w, &msg);
	proto_wr_array(&w, 7);
	proto_wr_cstr(&w, c.site);
	proto_wr_uint(&w, c.seq);
	proto_wr_cstr(&w, c.tbl);
	proto_wr_cstr(&w, c.row);
	proto_wr_uint(&w, c.hlc);
	proto_wr_str(&w, user, PROTO_USER_MAX + 1);
	proto_wr_raw(&w, c.cells, c.cells_len);
	assert_ok(proto_wr_error(&w));
	assert_err(decode(&msg, &c), OCOP_EPROTO);
	com_buf_fini(&msg);
	com_buf_fini(&cells);
}

static void
test_a_record_of_the_wrong_shape_is_refused_and_the_cursor_kept(void **state)
{
	com_buf cells;
	com_buf msg;
	proto_change c;
	proto_wr w;
	proto_rd r;

	(void)state;
	com_buf_init(&cells);
	com_buf_init(&msg);
	make_change(&c, &cells);
	/* Eight elements instead of seven. */
	proto_wr_init(&w, &msg);
	proto_wr_array(&w, 8);
	proto_wr_cstr(&w, c.site);
	proto_wr_uint(&w, c.seq);
	proto_wr_cstr(&w, c.tbl);
	proto_wr_cstr(&w, c.row);
	proto_wr_uint(&w, c.hlc);
	proto_wr_cstr(&w, c.user);
	proto_wr_raw(&w, c.cells, c.cells_len);
	proto_wr_nil(&w);
	assert_ok(proto_wr_error(&w));
	proto_rd_init(&r, msg.data, msg.len);
	assert_err(proto_change_get(&r, &c), OCOP_EPROTO);
	assert_int_equal(r.pos, 0);
	/* Cells that are not a map. */
	make_change(&c, &cells);
	com_buf_reset(&cells);
	proto_wr_init(&w, &cells);
	proto_wr_array(&w, 0);
	c.cells = cells.data;
	c.cells_len = cells.len;
	encode(&msg, &c);
	proto_rd_init(&r, msg.data, msg.len);
	assert_err(proto_change_get(&r, &c), OCOP_EPROTO);
	assert_int_equal(r.pos, 0);
	com_buf_fini(&msg);
	com_buf_fini(&cells);
}

static void
test_cell_values_of_other_types_are_refused(void **state)
{
	com_buf cells;
	proto_wr w;
	int kind;

	(void)state;
	com_buf_init(&cells);
	for (kind = 0; kind < 5; kind++) {
		com_buf_reset(&cells);
		proto_wr_init(&w, &cells);
		proto_wr_map(&w, 1);
		proto_wr_cstr(&w, "x");
		proto_wr_array(&w, 2);
		switch (kind) {
		case 0: proto_wr_bool(&w, true); break;
		case 1: proto_wr_array(&w, 0); break;
		case 2: proto_wr_map(&w, 0); break;
		case 3: proto_wr_raw(&w, "\xd4\x01\x00", 3); break; /* ext */
		default: proto_wr_uint(&w, UINT64_MAX); break;     /* beyond int64 */
		}
		proto_wr_uint(&w, 0);
		assert_ok(proto_wr_error(&w));
		assert_err(proto_cells_check(cells.data, cells.len), OCOP_EPROTO);
	}
	/* A cell that is not [value, base_hlc], and a negative base_hlc. */
	com_buf_reset(&cells);
	proto_wr_init(&w, &cells);
	proto_wr_map(&w, 1);
	proto_wr_cstr(&w, "x");
	proto_wr_array(&w, 3);
	proto_wr_nil(&w);
	proto_wr_uint(&w, 0);
	proto_wr_uint(&w, 0);
	assert_err(proto_cells_check(cells.data, cells.len), OCOP_EPROTO);
	com_buf_reset(&cells);
	proto_wr_init(&w, &cells);
	proto_wr_map(&w, 1);
	proto_wr_cstr(&w, "x");
	proto_wr_array(&w, 2);
	proto_wr_nil(&w);
	proto_wr_int(&w, -1);
	assert_err(proto_cells_check(cells.data, cells.len), OCOP_EPROTO);
	com_buf_fini(&cells);
}

static void
test_cell_map_with_trailing_bytes_is_refused(void **state)
{
	com_buf cells;
	proto_cells_it it;
	proto_cell cell;
	uint32_t n = 0;

	(void)state;
	com_buf_init(&cells);
	write_cells(&cells);
	assert_ok(proto_cells_check(cells.data, cells.len));
	assert_ok(com_buf_append(&cells, "\xc0", 1));
	assert_err(proto_cells_check(cells.data, cells.len), OCOP_EPROTO);
	/* The iterator reads every cell, then reports the stray byte instead of the end. */
	assert_ok(proto_cells_open(&it, cells.data, cells.len, NULL));
	while (proto_cells_next(&it, &cell) == OCOP_OK) {
		n++;
	}
	assert_int_equal(n, 7);
	assert_err(proto_cells_next(&it, &cell), OCOP_EPROTO);
	com_buf_fini(&cells);
}

static void
test_every_truncation_of_a_change_is_refused(void **state)
{
	com_buf cells;
	com_buf msg;
	proto_change c;
	proto_rd r;
	uint8_t *copy;
	size_t cut;

	(void)state;
	com_buf_init(&cells);
	com_buf_init(&msg);
	make_change(&c, &cells);
	encode(&msg, &c);
	for (cut = 0; cut < msg.len; cut++) {
		copy = com_malloc(cut);
		assert_non_null(copy);
		memcpy(copy, msg.data, cut);
		proto_rd_init(&r, copy, cut);
		assert_err(proto_change_get(&r, &c), OCOP_EPROTO);
		com_free(copy);
	}
	/* And every truncation of the cell map alone. */
	for (cut = 0; cut < cells.len; cut++) {
		copy = com_malloc(cut);
		assert_non_null(copy);
		memcpy(copy, cells.data, cut);
		assert_err(proto_cells_check(copy, cut), OCOP_EPROTO);
		com_free(copy);
	}
	com_buf_fini(&msg);
	com_buf_fini(&cells);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_change_round_trips_every_value_type),
	    cmocka_unit_test(test_real_values_keep_their_sign_and_specials),
	    cmocka_unit_test(test_empty_cell_map_and_empty_user_are_accepted),
	    cmocka_unit_test(test_invalid_table_names_are_refused),
	    cmocka_unit_test(test_invalid_column_names_are_refused),
	    cmocka_unit_test(test_invalid_uuids_and_seq_zero_are_refused),
	    cmocka_unit_test(test_uuid_check_accepts_only_the_canonical_lowercase_form),
	    cmocka_unit_test(test_user_longer_than_its_limit_is_refused),
	    cmocka_unit_test(test_a_record_of_the_wrong_shape_is_refused_and_the_cursor_kept),
	    cmocka_unit_test(test_cell_values_of_other_types_are_refused),
	    cmocka_unit_test(test_cell_map_with_trailing_bytes_is_refused),
	    cmocka_unit_test(test_every_truncation_of_a_change_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
