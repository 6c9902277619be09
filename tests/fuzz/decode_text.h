/*
 * decode_text.h: the oracle for the text inputs a clerk or an operator hands
 * us (rubric files and council CSV sheets), shared by the libFuzzer targets
 * and the corpus replay test. Each function parses the bytes and, when they
 * parse, uses the result (scoring the sheets) so the whole path is exercised.
 * Returns 0 when the parser kept its promise: success, or a clean refusal
 * with a message.
 */
#ifndef OCOP_TESTS_FUZZ_DECODE_TEXT_H
#define OCOP_TESTS_FUZZ_DECODE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Parse data as a rubric file. */
int fz_text_rubric(const uint8_t *data, size_t len);
/*
 * Parse data as a `member,criterion,points` CSV against the rubric at
 * rubric_path (loaded once), and score it when it parses.
 */
int fz_text_sheetcsv(const char *rubric_path, const uint8_t *data, size_t len);

#endif /* OCOP_TESTS_FUZZ_DECODE_TEXT_H */
