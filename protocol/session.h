/*
 * session.h: the bodies of the sync session messages, HELLO to ACK_OK
 * (PROTOCOL.md sections 4.2 to 4.9).
 *
 * Every request carries the site id and credential, so a server keeps no
 * session state and a request resent by nng has the same effect as the first.
 * This module checks syntax only (types, lengths, UUID form, UTF-8, required
 * keys); whether a site, credential, cursor or change is acceptable is the
 * server's business. Arrays of changes and rejections are not copied: a
 * decoded message keeps a borrowed view into the received bytes.
 */
#ifndef OCOP_PROTOCOL_SESSION_H
#define OCOP_PROTOCOL_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/buf.h"
#include "protocol/batch.h"
#include "protocol/change.h"
#include "protocol/wire.h"

#define PROTO_CREDENTIAL_MAX 128 /* longest credential, bytes */
#define PROTO_ROLE_MAX 16        /* longest role name, bytes */
#define PROTO_SOFTWARE_MAX 64    /* longest software description, bytes */
#define PROTO_REASON_MAX 512     /* longest rejection reason, bytes */

/* ===== Borrowed arrays ===== */

/*
 * A view of `count` encoded rejections laid end to end (the elements of a
 * msgpack array, without its header). A decoder sets it to point into the
 * received message; an encoder copies p[0..len) verbatim, so a caller may also
 * point it at rejections it wrote with proto_rejection_put().
 */
typedef struct proto_rejections {
	const uint8_t *p; /* first byte of the first rejection, borrowed */
	size_t len;       /* bytes of all rejections together */
	uint32_t count;   /* number of rejections */
} proto_rejections;

/* Iterator over a proto_rejections view. */
typedef struct proto_rejections_it {
	proto_rd rd;   /* cursor over the view's bytes */
	uint32_t left; /* rejections not yet read */
} proto_rejections_it;

/* One change the server did not apply, as reported in PUSH_OK. */
typedef struct proto_rejection {
	uint64_t seq;                         /* site_seq of the refused change, >= 1 */
	uint32_t code;                        /* an ocop_err code, e.g. OCOP_EAUTH */
	char reason[PROTO_REASON_MAX + 1];    /* human-readable reason, NUL-terminated */
} proto_rejection;

/* Start walking a view (borrowed for the iterator's life). Cannot fail. */
void proto_rejections_iter(proto_rejections_it *it, const proto_rejections *v);
/*
 * Read the next rejection. Returns OCOP_OK, OCOP_ENOENT when every one has
 * been read, or OCOP_EPROTO (only for a view the caller built badly: a
 * decoder of this module has validated every rejection once).
 */
int proto_rejections_next(proto_rejections_it *it, proto_rejection *r /* OUT */);
/*
 * Append one rejection element [seq, code, reason] to w (sticky error). A
 * reason longer than PROTO_REASON_MAX is cut at a character boundary and
 * invalid UTF-8 bytes become '?', so what is written always decodes; NULL is
 * the empty reason. seq 0 sets the writer's error to OCOP_EINVAL.
 */
void proto_rejection_put(proto_wr *w, uint64_t seq, uint32_t code, const char *reason);

/* ===== Messages ===== */

/* HELLO (4.2), site -> server: who is calling and what it speaks. */
typedef struct proto_hello {
	char site[PROTO_UUID_LEN + 1];                 /* caller's site UUID */
	char credential[PROTO_CREDENTIAL_MAX + 1];     /* caller's secret; may be empty */
	uint32_t protocol_version;                     /* PROTO_VERSION of the caller */
	uint32_t schema_version;                       /* database schema version of the caller */
	char role[PROTO_ROLE_MAX + 1];                 /* caller's role ("commune", "province", ...) */
	char software[PROTO_SOFTWARE_MAX + 1];         /* program and version, optional ("" when absent) */
} proto_hello;

/* HELLO_OK (4.3), server -> site: the server's view of this site. */
typedef struct proto_hello_ok {
	char server_site[PROTO_UUID_LEN + 1]; /* server's own site UUID */
	char server_role[PROTO_ROLE_MAX + 1]; /* server's role */
	uint64_t server_hlc;                  /* server's HLC now */
	uint64_t high_water;                  /* highest site_seq of the caller the server holds */
	uint64_t max_batch_bytes;             /* largest PUSH the server wants */
	uint32_t schema_version;              /* server's database schema version */
	uint64_t cursor;                      /* server's record of the caller's pull cursor */
} proto_hello_ok;

/* PUSH (4.4), site -> server: a batch of the site's own changes. */
typedef struct proto_push {
	char site[PROTO_UUID_LEN + 1];             /* caller's site UUID */
	char credential[PROTO_CREDENTIAL_MAX + 1]; /* caller's secret */
	uint64_t sender_hlc;                       /* caller's HLC when sending */
	proto_changes changes;                     /* the records, borrowed view */
} proto_push;

/* PUSH_OK (4.5), server -> site: what became of a PUSH. */
typedef struct proto_push_ok {
	uint64_t high_water;         /* highest site_seq of the caller now held */
	proto_rejections rejections; /* changes refused, borrowed view */
	uint64_t server_hlc;         /* server's HLC now */
	uint64_t applied;            /* records newly applied by this PUSH */
	uint64_t duplicates;         /* records already held (resends) */
} proto_push_ok;

/* PULL (4.6), site -> server: changes after a cursor. */
typedef struct proto_pull {
	char site[PROTO_UUID_LEN + 1];             /* caller's site UUID */
	char credential[PROTO_CREDENTIAL_MAX + 1]; /* caller's secret */
	uint64_t cursor;                           /* position in the server's log already held */
	uint64_t max_bytes;                        /* largest PULL_OK the caller wants */
} proto_pull;

/* PULL_OK (4.7), server -> site: a batch of changes from the server's log. */
typedef struct proto_pull_ok {
	proto_changes changes; /* the records, borrowed view */
	uint64_t next_cursor;  /* cursor after the last record sent */
	bool more;             /* true when the server holds more after next_cursor */
	uint64_t server_hlc;   /* server's HLC now */
} proto_pull_ok;

/* ACK (4.8), site -> server: the caller has applied everything up to cursor. */
typedef struct proto_ack {
	char site[PROTO_UUID_LEN + 1];             /* caller's site UUID */
	char credential[PROTO_CREDENTIAL_MAX + 1]; /* caller's secret */
	uint64_t cursor;                           /* cursor now held by the caller */
} proto_ack;

/* ACK_OK (4.9), server -> site: the cursor the server has recorded. */
typedef struct proto_ack_ok {
	uint64_t cursor; /* recorded cursor */
} proto_ack_ok;

/*
 * Encoders: append one whole framed message (envelope included) to buf.
 * Strings must be NUL-terminated within their arrays, valid UTF-8 and, for
 * UUID fields, canonical lowercase UUIDs; views must hold records as written
 * by proto_change_put()/proto_rejection_put() or set by a decoder (their
 * bytes are copied, not re-checked; only a view whose count exceeds its
 * length, or with bytes but a NULL pointer, is refused).
 * Returns: OCOP_OK; OCOP_EINVAL for a field that would not decode (nothing
 * written); OCOP_ENOMEM (buf back to its length before the call).
 */
int proto_hello_encode(com_buf *buf, const proto_hello *m);
int proto_hello_ok_encode(com_buf *buf, const proto_hello_ok *m);
int proto_push_encode(com_buf *buf, const proto_push *m);
int proto_push_ok_encode(com_buf *buf, const proto_push_ok *m);
int proto_pull_encode(com_buf *buf, const proto_pull *m);
int proto_pull_ok_encode(com_buf *buf, const proto_pull_ok *m);
int proto_ack_encode(com_buf *buf, const proto_ack *m);
int proto_ack_ok_encode(com_buf *buf, const proto_ack_ok *m);

/*
 * Decoders: read the body positioned by proto_env_open() (the caller has
 * checked that the envelope's type is this message's) and consume it exactly.
 * Unknown keys are skipped; a missing required key, a repeated known key, a
 * value of the wrong type or size, an over-long or non-UTF-8 string, a bad
 * UUID or an invalid array element is refused. Views point into the body's
 * bytes: borrowed, valid while the received message is. A batch of changes
 * is inflated and every record checked here (that memory is freed before
 * the call returns; an iterator inflates it again).
 * Returns: OCOP_OK, OCOP_EPROTO, or OCOP_ENOMEM (a PUSH or PULL_OK whose
 * batch could not be inflated for want of memory); *out then unspecified.
 */
int proto_hello_decode(proto_rd *body, proto_hello *out /* OUT */);
int proto_hello_ok_decode(proto_rd *body, proto_hello_ok *out /* OUT */);
int proto_push_decode(proto_rd *body, proto_push *out /* OUT */);
/*
 * Weigh a PUSH body without decoding it: its batch's record count and
 * inflated size (proto_changes_peek). Returns OCOP_OK or OCOP_EPROTO.
 */
int proto_push_peek(const proto_rd *body, uint32_t *count /* OUT */, uint64_t *size /* OUT */);
int proto_push_ok_decode(proto_rd *body, proto_push_ok *out /* OUT */);
int proto_pull_decode(proto_rd *body, proto_pull *out /* OUT */);
int proto_pull_ok_decode(proto_rd *body, proto_pull_ok *out /* OUT */);
int proto_ack_decode(proto_rd *body, proto_ack *out /* OUT */);
int proto_ack_ok_decode(proto_rd *body, proto_ack_ok *out /* OUT */);

/* ===== Incremental batch writer (PUSH and PULL_OK) ===== */

/*
 * Writes a PUSH or PULL_OK whose changes come one at a time (from a database),
 * stopping at a byte budget counted before deflating (so the receiver's
 * inflated batch stays within it too). The records gather in the batch's own
 * memory and go into the caller's buffer, compact and deflated (batch.h), at
 * the end call, which frees that memory; proto_batch_abandon() frees it when
 * the caller gives up before. The buffer is borrowed from begin to end.
 */
typedef struct proto_batch {
	proto_wr w;       /* writer over the caller's buffer */
	size_t start;     /* offset of the frame in the buffer */
	size_t max_bytes; /* budget for the whole framed message */
	size_t tail;      /* bytes reserved for what the end call appends */
	uint32_t type;    /* PROTO_MSG_PUSH or PROTO_MSG_PULL_OK */
	proto_body body;  /* the records gathered so far (owned until the end call) */
} proto_batch;

/*
 * Begin a PUSH in buf with hdr's site, credential and sender_hlc (hdr->changes
 * is ignored). max_bytes bounds the whole framed message (see proto_batch_add).
 * Returns: OCOP_OK; OCOP_EINVAL for a bad site or credential; OCOP_ENOMEM.
 * On error buf is back to its length before the call.
 */
int proto_push_begin(proto_batch *b, com_buf *buf, const proto_push *hdr, size_t max_bytes);
/*
 * Finish the PUSH begun with proto_push_begin(): patch the record count and
 * append the CRC. Returns: OCOP_OK, or the batch's sticky error (OCOP_ENOMEM),
 * in which case buf is back to its length before the begin call.
 */
int proto_push_end(proto_batch *b);

/* Begin a PULL_OK in buf; max_bytes as for proto_push_begin(). Returns OCOP_OK or OCOP_ENOMEM. */
int proto_pull_ok_begin(proto_batch *b, com_buf *buf, size_t max_bytes);
/*
 * Finish the PULL_OK begun with proto_pull_ok_begin(), writing the fields that
 * depend on which changes fitted. Returns as proto_push_end().
 */
int proto_pull_ok_end(proto_batch *b, uint64_t next_cursor, bool more, uint64_t server_hlc);

/*
 * Add one change record. A record that would take the message past the
 * budget is not added when the batch already holds one: the caller ends the
 * batch and sends that record first in the next. A record alone in its batch
 * is added even when over the budget (a change is never split, and refusing it
 * would stall the sync), unless the message would exceed PROTO_MAX_MESSAGE.
 * Returns: OCOP_OK; OCOP_ETOOBIG (not added, batch unchanged and still
 * usable); OCOP_EINVAL when the record would not decode (not added, batch
 * usable); OCOP_ENOMEM (sticky: the batch is dead, its end call fails too).
 */
int proto_batch_add(proto_batch *b, const proto_change *c);
/* Free a batch begun but never ended (an end call frees it itself). Safe to call twice. */
void proto_batch_abandon(proto_batch *b);
/* Records added so far. Cannot fail. */
uint32_t proto_batch_count(const proto_batch *b);
/* Bytes the finished message would have now, end fields and CRC included. Cannot fail. */
size_t proto_batch_size(const proto_batch *b);
#endif /* OCOP_PROTOCOL_SESSION_H */
