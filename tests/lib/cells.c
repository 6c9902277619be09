/*
 * cells.c: the protocol tests' sample cell map (cells.h).
 */
#include "tests/lib/cells.h"

#include <string.h>

#include "tests/lib/testutil.h"
#include "protocol/change.h"

const uint8_t tu_cells_blob[6] = {0x00, 0xff, 0x10, 0x00, 0xc1, 0x7f};

void
tu_cells_every_type(com_buf *cells)
{
	proto_wr w;
	proto_value v;

	com_buf_reset(cells);
	proto_wr_init(&w, cells);
	proto_cells_begin(&w, TU_CELLS_COUNT);
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
	v.p = (const uint8_t *)TU_CELLS_TEXT;
	v.len = strlen(TU_CELLS_TEXT);
	proto_cell_put(&w, "name", &v, 0x0190f0f000010000ull);
	v.type = PROTO_V_BLOB;
	v.p = tu_cells_blob;
	v.len = sizeof(tu_cells_blob);
	proto_cell_put(&w, "sha256", &v, 2);
	v.type = PROTO_V_TEXT;
	v.p = (const uint8_t *)"";
	v.len = 0;
	proto_cell_put(&w, "_empty_2", &v, 3);
	assert_int_equal(proto_wr_error(&w), 0);
}
