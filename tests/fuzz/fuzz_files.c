/*
 * fuzz_files.c: libFuzzer target for the evidence-file messages (PROTOCOL.md
 * 4.10-4.15) from their own seeds (tests/fuzz/corpus/files): the same oracle
 * as fuzz_message (tests/fuzz/decode.c), which also checks that a decoded
 * chunk lies inside its file and that its digest check answers. Built only
 * with -DOCOP_FUZZ=ON; run by scripts/fuzz.sh.
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
