/*
 * fuzz_message.c: libFuzzer target for the envelope and every message decoder
 * (PROTOCOL.md sections 3 and 4). Built only with -DOCOP_FUZZ=ON; run by
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
	if (fz_decode_message(data, size) == FZ_BROKEN) {
		abort(); /* a broken promise is a finding, like a crash */
	}
	return 0;
}
