/*
 * fuzz_sheetcsv.c: libFuzzer target for the council CSV sheet parser and the
 * scoring it feeds, against rubric qd26-2026/01 from the source tree. Built
 * only with -DOCOP_FUZZ=ON; run by scripts/fuzz.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/decode_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_text_sheetcsv(OCOP_FUZZ_RUBRIC, data, size) != 0) {
		abort();
	}
	return 0;
}
