/*
 * text.h: the text rule every str field of a request shares (PROTOCOL.md
 * section 4, "str fields"): well-formed UTF-8, no NUL. The session and file
 * messages (session.c, files.c) check their strings with it.
 */
#ifndef OCOP_PROTOCOL_TEXT_H
#define OCOP_PROTOCOL_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * True when s (len bytes) is well-formed UTF-8 without NUL: no overlong
 * forms, no surrogates, nothing above U+10FFFF. Cannot fail.
 */
bool proto_utf8_valid(const char *s, size_t len);

/*
 * Length of the well-formed UTF-8 sequence at s (len > 0 bytes), or 0 when
 * it is ill-formed (NUL counts as ill-formed). For callers that repair text
 * character by character.
 */
size_t proto_utf8_seq(const unsigned char *s, size_t len);

#endif /* OCOP_PROTOCOL_TEXT_H */
