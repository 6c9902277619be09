/*
 * Unit tests for protocol/change.c: cell maps round-trip every value type,
 * and invalid names, values and truncated maps are refused (PROTOCOL.md
 * section 5; whole records and batches: test_batch.c).
 */
#include "tests/lib/testutil.h"

#include <math.h>
#include <string.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "protocol/change.h"

#define SITE "0190f0f0-0000-7000-8000-000000000001"
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
test_uuid_check_accepts_only_the_canonical_lowercase_form(void **state)
{
	(void)state;
	assert_true(proto_uuid_valid(SITE, 36));
	assert_false(proto_uuid_valid("0190f0f0-0000-7000-8000-00000000000A", 36));
	assert_false(proto_uuid_valid(SITE, 35));
	assert_false(proto_uuid_valid("0190f0f0-0000-7000-8000_000000000001", 36));
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
test_every_truncation_of_a_cell_map_is_refused(void **state)
{
	com_buf cells;
	uint8_t *copy;
	size_t cut;

	(void)state;
	com_buf_init(&cells);
	write_cells(&cells);
	for (cut = 0; cut < cells.len; cut++) {
		/* An exact-size copy, so a read past the end is a sanitizer report. */
		copy = com_malloc(cut);
		assert_true(copy != NULL || cut == 0);
		memcpy(copy, cells.data, cut);
		assert_err(proto_cells_check(copy, cut), OCOP_EPROTO);
		com_free(copy);
	}
	com_buf_fini(&cells);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_real_values_keep_their_sign_and_specials),
	    cmocka_unit_test(test_invalid_column_names_are_refused),
	    cmocka_unit_test(test_uuid_check_accepts_only_the_canonical_lowercase_form),
	    cmocka_unit_test(test_cell_values_of_other_types_are_refused),
	    cmocka_unit_test(test_cell_map_with_trailing_bytes_is_refused),
	    cmocka_unit_test(test_every_truncation_of_a_cell_map_is_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
