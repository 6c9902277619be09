/*
 * fuzz_bundle.h: the fuzzing oracle of the sneakernet bundle decoder
 * (PROTOCOL.md section 6), shared by the libFuzzer target fuzz_bundle and
 * the seed and crash replay of unit.protocol.bundle.
 */
#ifndef OCOP_TESTS_FUZZ_FUZZ_BUNDLE_H
#define OCOP_TESTS_FUZZ_FUZZ_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/bundle.h"
#include "tests/fuzz/decode.h"

/* The key the oracle, the seeds and the unit test authenticate bundles with. */
extern const uint8_t fz_bundle_key[PROTO_BUNDLE_KEY];

/*
 * Open p as a bundle under fz_bundle_key, and again with its length field
 * and authentication code made right (so mutations reach the body's checks). A bundle that opens must walk to
 * its last message, and be written again to a bundle with the same messages.
 * Returns the first decoder code (OCOP_OK, OCOP_EPROTO, OCOP_EVERSION or
 * OCOP_ECORRUPT), or FZ_BROKEN when a promise was broken.
 */
int fz_decode_bundle(const uint8_t *p, size_t len);

#endif /* OCOP_TESTS_FUZZ_FUZZ_BUNDLE_H */
