/*
 * wire.h: the msgpack codec core (PROTOCOL.md section 2).
 *
 * proto_wr writes msgpack into a com_buf through msgpack-c's packer, with a
 * sticky error code so long encode chains are checked once at the end.
 * proto_rd is a bounds-checked cursor over received bytes. It does not use
 * msgpack-c's unpacker because that one allocates storage for every array and
 * map from the count in the header before the elements arrive, so five hostile
 * bytes could ask for a hundred gigabytes. Here a count is accepted only when
 * the remaining input could hold that many elements, every length is checked
 * before it is used, and nesting depth is capped.
 * Bytes in, values out: no sockets, files or databases.
 */
#ifndef OCOP_PROTOCOL_WIRE_H
#define OCOP_PROTOCOL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/buf.h"

#define PROTO_MAX_DEPTH 32 /* nesting limit for skipped values */

/* ===== Writer ===== */

typedef struct proto_wr {
	com_buf *buf; /* borrowed; encoded bytes are appended here */
	int rc;       /* sticky: first error, OCOP_OK while all puts succeed */
} proto_wr;

/* Start writing at the end of buf (borrowed for the writer's life). Cannot fail. */
void proto_wr_init(proto_wr *w, com_buf *buf);
/* The first error of any put so far, or OCOP_OK. */
int proto_wr_error(const proto_wr *w);

/* Each put appends one value, or does nothing once w->rc is set. */
void proto_wr_nil(proto_wr *w);
void proto_wr_bool(proto_wr *w, bool v);
void proto_wr_int(proto_wr *w, int64_t v);
void proto_wr_uint(proto_wr *w, uint64_t v);
void proto_wr_double(proto_wr *w, double v);
void proto_wr_str(proto_wr *w, const char *s, size_t len);
/* NUL-terminated string; NULL writes nil. */
void proto_wr_cstr(proto_wr *w, const char *s);
void proto_wr_bin(proto_wr *w, const void *p, size_t len);
/* Container headers: the caller then writes n values (array) or n key/value pairs (map). */
void proto_wr_array(proto_wr *w, uint32_t n);
void proto_wr_map(proto_wr *w, uint32_t n);
/* Append already-encoded msgpack bytes verbatim. */
void proto_wr_raw(proto_wr *w, const void *p, size_t len);

/* ===== Reader ===== */

typedef enum proto_type {
	PROTO_T_NIL = 1,
	PROTO_T_BOOL,
	PROTO_T_INT, /* any integer, signed or not */
	PROTO_T_FLOAT,
	PROTO_T_STR,
	PROTO_T_BIN,
	PROTO_T_ARRAY,
	PROTO_T_MAP,
	PROTO_T_EXT,
} proto_type;

typedef struct proto_rd {
	const uint8_t *p; /* borrowed input */
	size_t len;       /* input length */
	size_t pos;       /* next byte to read */
} proto_rd;

/* Read from len bytes at p (borrowed for the reader's life). Cannot fail. */
void proto_rd_init(proto_rd *r, const void *p, size_t len);
/* Bytes not yet consumed. */
size_t proto_rd_left(const proto_rd *r);
/* OCOP_OK when every byte was consumed, else OCOP_EPROTO (trailing garbage). */
int proto_rd_done(const proto_rd *r);

/*
 * Every get below reads one value of the named type and advances, or returns
 * OCOP_EPROTO (truncated, wrong type, out of range) and leaves the cursor where
 * it was. Strings and binaries are borrowed views into the input.
 */
int proto_rd_peek(const proto_rd *r, proto_type *t /* OUT */);
int proto_rd_nil(proto_rd *r);
/* True (and the nil consumed) when the next value is nil. */
bool proto_rd_try_nil(proto_rd *r);
int proto_rd_bool(proto_rd *r, bool *v /* OUT */);
int proto_rd_int(proto_rd *r, int64_t *v /* OUT */);
int proto_rd_uint(proto_rd *r, uint64_t *v /* OUT */);
int proto_rd_double(proto_rd *r, double *v /* OUT: float32 or float64 */);
int proto_rd_str(proto_rd *r, const char **s /* OUT: not NUL-terminated */, size_t *len /* OUT */);
int proto_rd_bin(proto_rd *r, const uint8_t **p /* OUT */, size_t *len /* OUT */);
/* Container headers; the count is checked against the bytes left. */
int proto_rd_array(proto_rd *r, uint32_t *n /* OUT */);
int proto_rd_map(proto_rd *r, uint32_t *n /* OUT */);
/* Skip one whole value of any type (containers recursively, to PROTO_MAX_DEPTH). */
int proto_rd_skip(proto_rd *r);
/* Copy a string value into a NUL-terminated com_malloc'd string (caller frees with com_free). */
int proto_rd_strdup(proto_rd *r, char **out /* OUT */, size_t max_len);

#endif /* OCOP_PROTOCOL_WIRE_H */
