/*
 * buf.c: growable byte buffer.
 */
#include "common/util/buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util/alloc.h"
#include "ocop_err.h"

void
com_buf_init(com_buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
com_buf_fini(com_buf *b)
{
	com_free(b->data);
	com_buf_init(b);
}

void
com_buf_reset(com_buf *b)
{
	b->len = 0;
}

int
com_buf_reserve(com_buf *b, size_t n)
{
	size_t need;
	size_t cap;
	uint8_t *p;

	if (n > SIZE_MAX - b->len - 1) {
		return OCOP_ETOOBIG;
	}
	need = b->len + n + 1; /* one spare byte keeps text terminated */
	if (need <= b->cap) {
		return OCOP_OK;
	}
	cap = b->cap ? b->cap : 64;
	while (cap < need) {
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	}
	p = com_realloc(b->data, cap);
	if (p == NULL) {
		return OCOP_ENOMEM;
	}
	b->data = p;
	b->cap = cap;
	return OCOP_OK;
}

int
com_buf_append(com_buf *b, const void *p, size_t n)
{
	int rv = com_buf_reserve(b, n);

	if (rv != OCOP_OK) {
		return rv;
	}
	if (n > 0) {
		memcpy(b->data + b->len, p, n);
	}
	b->len += n;
	b->data[b->len] = 0;
	return OCOP_OK;
}

int
com_buf_puts(com_buf *b, const char *s)
{
	return com_buf_append(b, s, strlen(s));
}

int
com_buf_printf(com_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	int rv;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		return OCOP_EINVAL;
	}
	rv = com_buf_reserve(b, (size_t)n);
	if (rv != OCOP_OK) {
		return rv;
	}
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return OCOP_OK;
}

char *
com_buf_detach(com_buf *b, size_t *len)
{
	char *p;

	if (com_buf_reserve(b, 0) != OCOP_OK) {
		return NULL;
	}
	b->data[b->len] = 0;
	p = (char *)b->data;
	if (len != NULL) {
		*len = b->len;
	}
	com_buf_init(b);
	return p;
}
