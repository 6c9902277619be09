/*
 * cells.h: a sample cell map for the protocol's tests: one cell of every
 * value type, with base versions at their limits.
 */
#ifndef OCOP_TESTS_CELLS_H
#define OCOP_TESTS_CELLS_H

#include <stdint.h>

#include "common/util/buf.h"

#define TU_CELLS_TEXT "Chè Shan tuyết cổ thụ Hà Giang – sản phẩm OCOP 4 sao"
#define TU_CELLS_COUNT 7

extern const uint8_t tu_cells_blob[6];

/*
 * Replace cells' contents with a map of TU_CELLS_COUNT cells, in this order:
 * note NULL (base 0), low INT64_MIN (1), high INT64_MAX (UINT64_MAX),
 * score_mean 89.995 (42), name TU_CELLS_TEXT (0x0190f0f000010000),
 * sha256 tu_cells_blob (2), _empty_2 "" (3).
 */
void tu_cells_every_type(com_buf *cells);

#endif /* OCOP_TESTS_CELLS_H */
