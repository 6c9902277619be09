/*
 * text.c: the UTF-8 rule of str fields (text.h).
 */
#include "protocol/text.h"

#include <stdint.h>

size_t
proto_utf8_seq(const unsigned char *s, size_t len)
{
	uint8_t c = s[0];
	uint32_t cp;
	size_t n;
	size_t i;

	if (c == 0) {
		return 0;
	}
	if (c < 0x80) {
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1fu;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0fu;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07u;
	} else {
		return 0;
	}
	if (len < n) {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80) {
			return 0;
		}
		cp = (cp << 6) | (s[i] & 0x3fu);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff)) {
		return 0;
	}
	return n;
}

bool
proto_utf8_valid(const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	size_t n;

	while (i < len) {
		n = proto_utf8_seq(p + i, len - i);
		if (n == 0) {
			return false;
		}
		i += n;
	}
	return true;
}
