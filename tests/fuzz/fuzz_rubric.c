/*
 * fuzz_rubric.c: libFuzzer target for the rubric file parser. Built only with
 * -DOCOP_FUZZ=ON; run by scripts/fuzz.sh. The oracle is tests/fuzz/decode_text.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/decode_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_text_rubric(data, size) != 0) {
		abort(); /* a broken promise is a finding, like a crash */
	}
	return 0;
}
