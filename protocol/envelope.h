/*
 * envelope.h: the frame around every message (PROTOCOL.md section 3).
 *
 * A message is a msgpack array of four: [version, type, body, crc]. crc is the
 * CRC-32 (zlib) of every byte before it, so a flipped bit anywhere, including in
 * the version or type, is refused rather than read as another valid message.
 * The body's own schema is per message type (later sections).
 */
#ifndef OCOP_PROTOCOL_ENVELOPE_H
#define OCOP_PROTOCOL_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/wire.h"

#define PROTO_VERSION 2     /* 2: compact batches (PROTOCOL.md change history) */
#define PROTO_VERSION_MIN 1 /* the oldest version whose ERROR this program writes and reads */
#define PROTO_MAX_MESSAGE (16u * 1024u * 1024u) /* default size cap on every socket */

typedef enum proto_msg_type {
	PROTO_MSG_ERROR = 1,      /* error reply: code and text */
	PROTO_MSG_HELLO = 2,      /* site -> server: identity, credentials, versions */
	PROTO_MSG_HELLO_OK = 3,   /* server -> site: session accepted */
	PROTO_MSG_PUSH = 4,       /* site -> server: a batch of changes */
	PROTO_MSG_PUSH_OK = 5,    /* server -> site: high-water mark and rejections */
	PROTO_MSG_PULL = 6,       /* site -> server: changes after a cursor */
	PROTO_MSG_PULL_OK = 7,    /* server -> site: a batch of changes and the next cursor */
	PROTO_MSG_ACK = 8,        /* site -> server: cursor applied */
	PROTO_MSG_ACK_OK = 9,     /* server -> site: cursor recorded */
	PROTO_MSG_FILES = 10,       /* site -> server: the files it names and holds (files.h) */
	PROTO_MSG_FILES_OK = 11,    /* server -> site: what the server holds and wants of each */
	PROTO_MSG_FILE_PUT = 12,    /* site -> server: one chunk of a file */
	PROTO_MSG_FILE_PUT_OK = 13, /* server -> site: how much of it the server holds */
	PROTO_MSG_FILE_GET = 14,    /* site -> server: one chunk of a file, please */
	PROTO_MSG_FILE_DATA = 15,   /* server -> site: the chunk */
	PROTO_MSG_TYPE_MAX_ = 15,
} proto_msg_type;

typedef struct proto_env {
	uint32_t version; /* protocol version found in the frame */
	uint32_t type;    /* a proto_msg_type */
} proto_env;

/* Name of a message type ("PUSH"), or "UNKNOWN". Cannot fail. */
const char *proto_msg_name(uint32_t type);

/*
 * Begin a message of `type`: writes the array header, version and type. The
 * caller then writes exactly one body value and calls proto_env_end(). Returns
 * the frame's start offset in the writer's buffer, to pass to proto_env_end().
 */
size_t proto_env_begin(proto_wr *w, uint32_t type);
/*
 * The same, framed as protocol `version` says: only for an ERROR answering a
 * peer of another version (its body is the same in every version), so that
 * an older program can read why it is refused.
 */
size_t proto_env_begin_v(proto_wr *w, uint32_t type, uint32_t version);
/* Close the frame begun at `start` by appending its CRC. Returns proto_wr_error(w). */
int proto_env_end(proto_wr *w, size_t start);

/*
 * Check a received frame and position *body on its body value (a sub-range
 * that the body decoder must consume exactly). Borrowed: body points into msg.
 * Returns OCOP_OK; OCOP_EPROTO for a malformed frame, bad CRC, unknown type or
 * trailing bytes; OCOP_EVERSION when the frame is intact but of another version
 * (env->version then says which).
 */
int proto_env_open(const void *msg, size_t len, proto_env *env /* OUT */, proto_rd *body /* OUT */);

#endif /* OCOP_PROTOCOL_ENVELOPE_H */
