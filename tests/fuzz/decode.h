/*
 * decode.h: the fuzzing oracle, shared by the libFuzzer targets and the
 * fault.fuzz.corpus replay test.
 *
 * Each function feeds arbitrary bytes to the protocol decoders and checks what
 * the decoders promise beyond "no crash": only the documented return codes, a
 * decoded message's views walk without error, and a decoded message encodes
 * again and decodes to the same bytes. It never aborts; the caller decides.
 */
#ifndef OCOP_TESTS_FUZZ_DECODE_H
#define OCOP_TESTS_FUZZ_DECODE_H

#include <stddef.h>
#include <stdint.h>

#define FZ_BROKEN (-1) /* a decoder broke one of its promises */

/*
 * Open p as a framed message and decode its body by the frame's type.
 * Returns the decoders' code (OCOP_OK, OCOP_EPROTO or OCOP_EVERSION), or
 * FZ_BROKEN when a promise was broken (another code, a view that fails to
 * walk, a round trip that changes the message).
 */
int fz_decode_message(const uint8_t *p, size_t len);

/*
 * Decode p as one batch of change records (PROTOCOL.md 5.1), and separately
 * as a bare cell map. A batch that decodes is walked and written again through
 * the batch writer, and must read back record for record. Returns the batch
 * decoder's code (OCOP_OK, OCOP_EPROTO, OCOP_ENOMEM), or FZ_BROKEN as above.
 */
int fz_decode_change(const uint8_t *p, size_t len);

#endif /* OCOP_TESTS_FUZZ_DECODE_H */
