/*
 * envelope.c: message frame with version, type and CRC (PROTOCOL.md section 3).
 */
#include "protocol/envelope.h"

#include <zlib.h>

#include "ocop_err.h"

static const char *const msg_names[] = {
    [PROTO_MSG_ERROR] = "ERROR",
    [PROTO_MSG_HELLO] = "HELLO",
    [PROTO_MSG_HELLO_OK] = "HELLO_OK",
    [PROTO_MSG_PUSH] = "PUSH",
    [PROTO_MSG_PUSH_OK] = "PUSH_OK",
    [PROTO_MSG_PULL] = "PULL",
    [PROTO_MSG_PULL_OK] = "PULL_OK",
    [PROTO_MSG_ACK] = "ACK",
    [PROTO_MSG_ACK_OK] = "ACK_OK",
    [PROTO_MSG_FILES] = "FILES",
    [PROTO_MSG_FILES_OK] = "FILES_OK",
    [PROTO_MSG_FILE_PUT] = "FILE_PUT",
    [PROTO_MSG_FILE_PUT_OK] = "FILE_PUT_OK",
    [PROTO_MSG_FILE_GET] = "FILE_GET",
    [PROTO_MSG_FILE_DATA] = "FILE_DATA",
};

const char *
proto_msg_name(uint32_t type)
{
	if (type == 0 || type > PROTO_MSG_TYPE_MAX_) {
		return "UNKNOWN";
	}
	return msg_names[type];
}

/* CRC-32 of n bytes; zlib takes uInt lengths, so feed large inputs in pieces. */
static uint32_t
env_crc(const uint8_t *p, size_t n)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	while (n > 0) {
		uInt chunk = n > 0x40000000u ? 0x40000000u : (uInt)n;
		crc = crc32(crc, p, chunk);
		p += chunk;
		n -= chunk;
	}
	return (uint32_t)crc;
}

size_t
proto_env_begin(proto_wr *w, uint32_t type)
{
	return proto_env_begin_v(w, type, PROTO_VERSION);
}

size_t
proto_env_begin_v(proto_wr *w, uint32_t type, uint32_t version)
{
	size_t start = w->buf->len;

	proto_wr_array(w, 4);
	proto_wr_uint(w, version);
	proto_wr_uint(w, type);
	return start;
}

int
proto_env_end(proto_wr *w, size_t start)
{
	if (w->rc == OCOP_OK) {
		proto_wr_uint(w, env_crc(w->buf->data + start, w->buf->len - start));
	}
	return proto_wr_error(w);
}

int
proto_env_open(const void *msg, size_t len, proto_env *env, proto_rd *body)
{
	proto_rd r;
	uint32_t n;
	uint64_t version;
	uint64_t type;
	uint64_t crc;
	size_t body_start;
	size_t body_end;

	proto_rd_init(&r, msg, len);
	if (proto_rd_array(&r, &n) != OCOP_OK || n != 4 ||
	    proto_rd_uint(&r, &version) != OCOP_OK || version > UINT32_MAX ||
	    proto_rd_uint(&r, &type) != OCOP_OK || type > UINT32_MAX) {
		return OCOP_EPROTO;
	}
	body_start = r.pos;
	if (proto_rd_skip(&r) != OCOP_OK) {
		return OCOP_EPROTO;
	}
	body_end = r.pos;
	if (proto_rd_uint(&r, &crc) != OCOP_OK || proto_rd_done(&r) != OCOP_OK ||
	    crc != env_crc(msg, body_end)) {
		return OCOP_EPROTO;
	}
	env->version = (uint32_t)version;
	env->type = (uint32_t)type;
	/* Set even for another version: an ERROR reads the same in every version. */
	proto_rd_init(body, (const uint8_t *)msg + body_start, body_end - body_start);
	if (version != PROTO_VERSION) {
		return OCOP_EVERSION;
	}
	if (type == 0 || type > PROTO_MSG_TYPE_MAX_) {
		return OCOP_EPROTO;
	}
	return OCOP_OK;
}
