/*
 * error.c: ERROR message body: {1: code, 2: name, 3: text} (PROTOCOL.md 4.1).
 */
#include "protocol/error.h"

#include <string.h>

#include "ocop_err.h"
#include "protocol/envelope.h"

int
proto_error_encode(com_buf *buf, int code, const char *text)
{
	return proto_error_encode_v(buf, PROTO_VERSION, code, text);
}

int
proto_error_encode_v(com_buf *buf, uint32_t version, int code, const char *text)
{
	proto_wr w;
	size_t start;

	if (version < PROTO_VERSION_MIN || version > PROTO_VERSION) {
		version = PROTO_VERSION;
	}
	proto_wr_init(&w, buf);
	start = proto_env_begin_v(&w, PROTO_MSG_ERROR, version);
	proto_wr_map(&w, 3);
	proto_wr_uint(&w, 1);
	proto_wr_uint(&w, (uint64_t)(code < 0 ? OCOP_EINTERNAL : code));
	proto_wr_uint(&w, 2);
	proto_wr_cstr(&w, ocop_errname(code));
	proto_wr_uint(&w, 3);
	proto_wr_str(&w, text, strnlen(text, PROTO_ERROR_TEXT_MAX));
	return proto_env_end(&w, start);
}

int
proto_error_decode(proto_rd *body, proto_error *out)
{
	uint32_t n;
	uint32_t i;
	uint64_t key;
	uint64_t code = OCOP_EINTERNAL;
	const char *s;
	size_t len;

	out->text[0] = 0;
	if (proto_rd_map(body, &n) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	for (i = 0; i < n; i++) {
		if (proto_rd_uint(body, &key) != OCOP_OK) {
			return OCOP_EPROTO;
		}
		if (key == 1) {
			if (proto_rd_uint(body, &code) != OCOP_OK || code > UINT32_MAX) {
				return OCOP_EPROTO;
			}
		} else if (key == 3) {
			if (proto_rd_str(body, &s, &len) != OCOP_OK) {
				return OCOP_EPROTO;
			}
			len = len > PROTO_ERROR_TEXT_MAX ? PROTO_ERROR_TEXT_MAX : len;
			memcpy(out->text, s, len);
			out->text[len] = 0;
		} else if (proto_rd_skip(body) != OCOP_OK) { /* unknown keys are skipped */
			return OCOP_EPROTO;
		}
	}
	out->code = (uint32_t)code;
	return proto_rd_done(body);
}
