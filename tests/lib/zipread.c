/*
 * zipread.c: one ZIP member, read through the central directory (zipread.h).
 */
#include "tests/lib/zipread.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <zlib.h>

#include "common/util/alloc.h"

static uint32_t
rd16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t
rd32(const unsigned char *p)
{
	return rd16(p) | rd16(p + 2) << 16;
}

/* The whole file in a com_malloc'd buffer. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;

	if (f == NULL) {
		return NULL;
	}
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = com_malloc((size_t)n)) != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		com_free(buf);
		buf = NULL;
	}
	if (buf != NULL) {
		*len = (size_t)n;
	}
	fclose(f);
	return buf;
}

static char *
member_data(const unsigned char *z, size_t zlen, size_t local, uint32_t method, size_t csize, size_t usize,
    size_t *len)
{
	size_t data;
	char *out;
	z_stream s;

	if (local + 30 > zlen || rd32(z + local) != 0x04034b50) {
		return NULL;
	}
	data = local + 30 + rd16(z + local + 26) + rd16(z + local + 28);
	if (data + csize > zlen || (out = com_malloc(usize + 1)) == NULL) {
		return NULL;
	}
	if (method == 0 && csize == usize) {
		memcpy(out, z + data, usize);
	} else if (method == 8) {
		memset(&s, 0, sizeof(s));
		if (inflateInit2(&s, -MAX_WBITS) != Z_OK) {
			com_free(out);
			return NULL;
		}
		s.next_in = (Bytef *)(z + data);
		s.avail_in = (uInt)csize;
		s.next_out = (Bytef *)out;
		s.avail_out = (uInt)usize;
		if (inflate(&s, Z_FINISH) != Z_STREAM_END || s.total_out != usize) {
			inflateEnd(&s);
			com_free(out);
			return NULL;
		}
		inflateEnd(&s);
	} else {
		com_free(out);
		return NULL;
	}
	out[usize] = '\0';
	*len = usize;
	return out;
}

char *
tu_zip_member(const char *path, const char *name, size_t *len)
{
	size_t zlen = 0;
	unsigned char *z = slurp(path, &zlen);
	char *out = NULL;
	size_t eocd;
	size_t p;
	uint32_t i;
	uint32_t count;

	if (z == NULL || zlen < 22) {
		com_free(z);
		return NULL;
	}
	for (eocd = zlen - 22; eocd > 0 && rd32(z + eocd) != 0x06054b50; eocd--) {
	}
	if (rd32(z + eocd) != 0x06054b50) {
		com_free(z);
		return NULL;
	}
	count = rd16(z + eocd + 10);
	p = rd32(z + eocd + 16);
	for (i = 0; i < count && p + 46 <= zlen && rd32(z + p) == 0x02014b50; i++) {
		size_t nlen = rd16(z + p + 28);

		if (p + 46 + nlen <= zlen && nlen == strlen(name) && memcmp(z + p + 46, name, nlen) == 0) {
			out = member_data(z, zlen, rd32(z + p + 42), rd16(z + p + 10), rd32(z + p + 20), rd32(z + p + 24), len);
			break;
		}
		p += 46 + nlen + rd16(z + p + 30) + rd16(z + p + 32);
	}
	com_free(z);
	return out;
}
