/*
 * buf.h: a growable byte buffer (caller-owned storage, init/fini).
 * Used for encoded messages, batch files and SQL text; it never shrinks.
 */
#ifndef OCOP_UTIL_BUF_H
#define OCOP_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct com_buf {
	uint8_t *data; /* owned; NULL until the first append */
	size_t len;    /* bytes in use */
	size_t cap;    /* bytes allocated */
} com_buf;

/* Initialise an empty buffer in place. Cannot fail. */
void com_buf_init(com_buf *b);
/* Release the buffer's memory; the buffer is empty and reusable after. Cannot fail. */
void com_buf_fini(com_buf *b);
/* Forget the contents, keep the memory. Cannot fail. */
void com_buf_reset(com_buf *b);
/* Make room for n more bytes. Returns OCOP_OK, OCOP_ENOMEM or OCOP_ETOOBIG on overflow. */
int com_buf_reserve(com_buf *b, size_t n);
/* Append n bytes. Returns OCOP_OK or OCOP_ENOMEM; on error the buffer is unchanged. */
int com_buf_append(com_buf *b, const void *p, size_t n);
/* Append a NUL-terminated string without its NUL. Returns as com_buf_append. */
int com_buf_puts(com_buf *b, const char *s);
/* Append printf-formatted text (no NUL kept in len, but data stays terminated). */
int com_buf_printf(com_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Take the buffer's memory (terminated with a NUL past len) and leave b empty.
 * Returns NULL on ENOMEM. Ownership: caller frees with com_free().
 */
char *com_buf_detach(com_buf *b, size_t *len /* OUT, may be NULL */);

#endif /* OCOP_UTIL_BUF_H */
