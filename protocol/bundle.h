/*
 * bundle.h: the sneakernet file (PROTOCOL.md section 6): sync messages carried
 * on a USB stick instead of over nng.
 *
 * A request bundle holds what a site would send in one session (HELLO, PUSH
 * batches, ACK, PULL); a reply bundle holds what the server answered (HELLO_OK,
 * PUSH_OK, ACK_OK, PULL_OK pages). The file is a fixed prefix (magic, format
 * version, length), a MessagePack body and an HMAC-SHA256 of everything
 * before it, keyed by the site's bundle key (known to the site and its server
 * only), so a truncated, damaged, edited or forged file is refused before a
 * byte of it is acted on; each bundle carries a number so a replayed one can
 * be told apart. Bytes in, structs out: reading and writing the file, keys,
 * and what the messages mean to a database, belong to the client and the server.
 */
#ifndef OCOP_PROTOCOL_BUNDLE_H
#define OCOP_PROTOCOL_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/buf.h"
#include "protocol/change.h"
#include "protocol/wire.h"

#define PROTO_BUNDLE_MAGIC "OCOPBNDL" /* first 8 bytes of every bundle */
#define PROTO_BUNDLE_VERSION 2        /* format version this code reads and writes */
#define PROTO_BUNDLE_PREFIX 20        /* magic, version and length */
#define PROTO_BUNDLE_DIGEST 32        /* HMAC-SHA256 at the end */
#define PROTO_BUNDLE_KEY 32           /* bytes of a bundle key */

typedef enum proto_bundle_kind {
	PROTO_BUNDLE_REQUEST = 1, /* site -> server: HELLO, PUSH..., ACK, PULL */
	PROTO_BUNDLE_REPLY = 2,   /* server -> site: HELLO_OK, PUSH_OK..., ACK_OK, PULL_OK... */
} proto_bundle_kind;

/* What a bundle says about itself (the body's fields before the messages). */
typedef struct proto_bundle_hdr {
	uint32_t kind;                   /* a proto_bundle_kind */
	char site[PROTO_UUID_LEN + 1];   /* the site it comes from (request) or is for (reply) */
	char server[PROTO_UUID_LEN + 1]; /* the server's site UUID, "" when the site does not know it */
	uint64_t created_ms;             /* when it was written, Unix milliseconds */
	uint64_t pull_from;              /* reply: cursor the first PULL_OK continues from; request: 0 */
	uint64_t seq;                    /* request: the site's bundle number (1, 2, ...); reply: the
					    number of the request it answers */
} proto_bundle_hdr;

/* A verified bundle: its header and a borrowed view of its messages. */
typedef struct proto_bundle {
	proto_bundle_hdr hdr; /* header fields */
	uint32_t count;       /* number of messages */
	const uint8_t *msgs;  /* first message element (a msgpack bin), borrowed from the input */
	size_t msgs_len;      /* bytes of all message elements together */
} proto_bundle;

/* Iterator over the messages of a verified bundle. */
typedef struct proto_bundle_it {
	proto_rd rd;   /* cursor over the message elements */
	uint32_t left; /* messages not yet read */
} proto_bundle_it;

/*
 * Read a bundle's header without verifying its authentication code, to learn
 * whose key verifies it (the site a request is from, a reply is for). Checks
 * the magic, the format version, the length and the header fields only; the
 * header is not to be trusted until proto_bundle_open succeeds.
 * Returns as proto_bundle_open.
 */
int proto_bundle_peek(proto_bundle_hdr *out /* OUT */, const uint8_t *p, size_t len, char *why, size_t whylen);

/*
 * Verify a whole bundle with key and fill *out. Checks, in this order: the
 * magic, the format version, the length recorded in the prefix against len,
 * the HMAC-SHA256 under key, then the body: header fields, every message a
 * valid frame of this protocol version whose body decodes, the order of
 * message types for the kind, and (requests) every message naming the
 * header's site. A short description of the first problem found goes to why
 * (may be NULL).
 * Returns: OCOP_OK; OCOP_EPROTO (not a bundle, or a malformed body);
 * OCOP_EVERSION (another format or protocol version); OCOP_ECORRUPT (length or
 * authentication code wrong: truncated, damaged, edited or forged). out->msgs
 * points into p.
 */
int proto_bundle_open(proto_bundle *out /* OUT */, const uint8_t *p, size_t len, const uint8_t key[PROTO_BUNDLE_KEY],
    char *why, size_t whylen);

/* Start walking the messages of a bundle opened by proto_bundle_open. Cannot fail. */
void proto_bundle_iter(proto_bundle_it *it, const proto_bundle *b);
/*
 * The next message: *msg and *len are one whole framed message (borrowed from
 * the bundle's bytes) and *type its proto_msg_type. Returns OCOP_OK, or
 * OCOP_ENOENT after the last one (never OCOP_EPROTO for a verified bundle).
 */
int proto_bundle_next(proto_bundle_it *it, const uint8_t **msg /* OUT */, size_t *len /* OUT */,
    uint32_t *type /* OUT */);

/* ===== Writer ===== */

/*
 * Writes a bundle into a caller's buffer one message at a time. Caller-owned
 * storage; the buffer is borrowed from begin to end.
 */
typedef struct proto_bundle_wr {
	proto_wr w;      /* writer over the caller's buffer */
	size_t start;    /* offset of the bundle in the buffer */
	size_t count_at; /* offset of the messages array's 32-bit count to patch */
	uint32_t count;  /* messages added so far */
} proto_bundle_wr;

/*
 * Begin a bundle in buf with the fields of h. Returns OCOP_OK, OCOP_EINVAL (bad
 * kind, site or server UUID, seq 0; nothing written) or OCOP_ENOMEM (buf back
 * to its length before the call).
 */
int proto_bundle_begin(proto_bundle_wr *bw, com_buf *buf, const proto_bundle_hdr *h);
/*
 * Add one framed message (copied). Returns OCOP_OK; OCOP_EINVAL for an empty
 * or oversized message (nothing added, still usable); OCOP_ENOMEM (sticky: the
 * end call fails too).
 */
int proto_bundle_add(proto_bundle_wr *bw, const uint8_t *msg, size_t len);
/*
 * Finish: patch the count and length and append the HMAC-SHA256 under key.
 * The result is then read back with proto_bundle_open, so a bundle this
 * writer produced is one a reader accepts. Returns OCOP_OK; OCOP_EINVAL when
 * the messages do not make a valid bundle (wrong order, another site's
 * message); OCOP_ENOMEM; on error buf is back to its length before the begin
 * call.
 */
int proto_bundle_end(proto_bundle_wr *bw, const uint8_t key[PROTO_BUNDLE_KEY]);

/*
 * The key that authenticates a site's bundles, derived from its credential:
 * HMAC-SHA256(key = credential, "ocop bundle key 1"). Both ends derive it;
 * the server keeps only the key, never the credential. Returns OCOP_OK or
 * OCOP_EINTERNAL.
 */
int proto_bundle_key(const char *credential, uint8_t key[PROTO_BUNDLE_KEY] /* OUT */);

/* Name of a bundle kind ("request", "reply"), or "unknown". Cannot fail. */
const char *proto_bundle_kind_name(uint32_t kind);

#endif /* OCOP_PROTOCOL_BUNDLE_H */
