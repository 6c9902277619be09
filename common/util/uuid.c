/*
 * uuid.c: UUIDv7 generation and text form.
 *
 * Layout (RFC 9562 section 5.7): bytes 0-5 unix_ts_ms big-endian, byte 6 high
 * nibble = 7, byte 8 top two bits = 0b10, all other bits random. Random bits come
 * from uuid_generate_random(), which reads the kernel's entropy source.
 */
#include "common/util/uuid.h"

#include <string.h>
#include <time.h>

#include <uuid/uuid.h>

#include "ocop_err.h"

uint64_t
com_time_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
com_uuid7_at(com_uuid *out, uint64_t unix_ms)
{
	uuid_t r;
	int i;

	uuid_generate_random(r);
	memcpy(out->b, r, 16);
	for (i = 0; i < 6; i++) {
		out->b[i] = (uint8_t)(unix_ms >> (8 * (5 - i)));
	}
	out->b[6] = (uint8_t)(0x70 | (out->b[6] & 0x0f));
	out->b[8] = (uint8_t)(0x80 | (out->b[8] & 0x3f));
}

void
com_uuid7(com_uuid *out)
{
	com_uuid7_at(out, com_time_ms());
}

uint64_t
com_uuid7_ms(const com_uuid *u)
{
	uint64_t ms = 0;
	int i;

	for (i = 0; i < 6; i++) {
		ms = (ms << 8) | u->b[i];
	}
	return ms;
}

int
com_uuid_version(const com_uuid *u)
{
	return u->b[6] >> 4;
}

void
com_uuid_format(const com_uuid *u, char out[COM_UUID_STRLEN + 1])
{
	uuid_unparse_lower(u->b, out);
}

bool
com_uuid_valid(const char *s)
{
	uuid_t tmp;

	return s != NULL && strlen(s) == COM_UUID_STRLEN && uuid_parse(s, tmp) == 0;
}

int
com_uuid_parse(com_uuid *out, const char *text)
{
	uuid_t tmp;

	if (!com_uuid_valid(text) || uuid_parse(text, tmp) != 0) {
		return OCOP_EINVAL;
	}
	memcpy(out->b, tmp, 16);
	return OCOP_OK;
}

int
com_uuid_cmp(const com_uuid *a, const com_uuid *b)
{
	return memcmp(a->b, b->b, 16);
}
