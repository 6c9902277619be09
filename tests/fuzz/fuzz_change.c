/*
 * fuzz_change.c: libFuzzer target for the change record and cell map decoders
 * (PROTOCOL.md section 5). Built only with -DOCOP_FUZZ=ON; run by
 * scripts/fuzz.sh. The oracle is tests/fuzz/decode.c.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "tests/fuzz/decode.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_decode_change(data, size) == FZ_BROKEN) {
		abort(); /* a broken promise is a finding, like a crash */
	}
	return 0;
}
