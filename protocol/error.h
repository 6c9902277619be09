/*
 * error.h: the ERROR reply body (PROTOCOL.md section 4.1).
 * Sent instead of the normal reply when a request cannot be served.
 */
#ifndef OCOP_PROTOCOL_ERROR_H
#define OCOP_PROTOCOL_ERROR_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/buf.h"
#include "protocol/wire.h"

#define PROTO_ERROR_TEXT_MAX 1024

typedef struct proto_error {
	uint32_t code;                       /* an ocop_err code */
	char text[PROTO_ERROR_TEXT_MAX + 1]; /* human-readable reason, NUL-terminated */
} proto_error;

/* Encode a whole ERROR message (envelope included) into buf. Returns OCOP_OK or OCOP_ENOMEM. */
int proto_error_encode(com_buf *buf, int code, const char *text);
/*
 * The same, framed in protocol `version` when this program knows it (from
 * PROTO_VERSION_MIN to PROTO_VERSION; otherwise its own): the answer to a
 * peer of another version, which can then read why it is refused.
 */
int proto_error_encode_v(com_buf *buf, uint32_t version, int code, const char *text);
/* Decode an ERROR body. Returns OCOP_OK or OCOP_EPROTO. */
int proto_error_decode(proto_rd *body, proto_error *out /* OUT */);

#endif /* OCOP_PROTOCOL_ERROR_H */
