/*
 * fuzz_bundle.h: the fuzzing oracle of the sneakernet bundle decoder
 * (PROTOCOL.md section 6), shared by the libFuzzer target fuzz_bundle and
 * the seed and crash replay of unit.protocol.bundle.
 */
#ifndef OCOP_TESTS_FUZZ_FUZZ_BUNDLE_H
#define OCOP_TESTS_FUZZ_FUZZ_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "tests/fuzz/decode.h"

/*
 * Open p as a bundle, and again with its length field and digest made right
 * (so mutations reach the body's checks). A bundle that opens must walk to
 * its last message, and be written again to a bundle with the same messages.
 * Returns the first decoder code (OCOP_OK, OCOP_EPROTO, OCOP_EVERSION or
 * OCOP_ECORRUPT), or FZ_BROKEN when a promise was broken.
 */
int fz_decode_bundle(const uint8_t *p, size_t len);

#endif /* OCOP_TESTS_FUZZ_FUZZ_BUNDLE_H */
