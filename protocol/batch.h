/*
 * batch.h: the compact form of a batch of change records, as PUSH and
 * PULL_OK carry it (PROTOCOL.md section 5).
 *
 * Inside a process a change is a proto_change: text UUIDs and names, a cell
 * map keyed by column name (change.h). On the wire a batch names every table,
 * column, user and writing site once, in its own dictionary, and its records
 * refer to them by index; row ids are 16 bytes; sequence numbers and clocks
 * are differences from the record before; and the whole is deflated (zlib)
 * when that is smaller. This module turns one form into the other, so nothing
 * outside protocol/ sees the wire's shape.
 */
#ifndef OCOP_PROTOCOL_BATCH_H
#define OCOP_PROTOCOL_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/buf.h"
#include "protocol/change.h"
#include "protocol/wire.h"

/*
 * A received batch: the bytes of its wire value (PROTOCOL.md 5.1), borrowed
 * from the message, already checked whole by the decoder that set it. An
 * encoder copies p[0..len) verbatim (len 0 writes an empty batch), so a
 * message can be re-sent unchanged.
 */
typedef struct proto_changes {
	const uint8_t *p; /* the batch value, borrowed; NULL when len is 0 */
	size_t len;       /* its bytes */
	uint32_t count;   /* number of records */
	size_t size;      /* bytes of its record stream once inflated */
} proto_changes;

/* One dictionary entry being read: bytes borrowed from the record stream. */
typedef struct proto_span {
	const uint8_t *p;
	size_t len;
} proto_span;

/*
 * Iterator over a batch. It owns memory (the inflated stream, the
 * dictionaries, the current record's cell map): it frees it when it returns
 * anything but OCOP_OK, and proto_changes_end() frees it when the caller
 * stops earlier. A change it returns is valid until the next call.
 */
typedef struct proto_changes_it {
	proto_rd rd;         /* cursor over the record stream */
	uint32_t left;       /* records not yet read */
	int rc;              /* OCOP_OK, or the error every later call returns */
	uint8_t *inflated;   /* the stream when the batch was deflated, owned */
	proto_span *names;   /* tables, columns and users, owned */
	uint32_t nnames;
	proto_span *sites;   /* 16-byte writer site ids, owned */
	uint32_t nsites;
	uint64_t seq;        /* the previous record's seq and HLC (deltas start from 0) */
	uint64_t hlc;
	com_buf cells;       /* the current record's cell map, keyed by name */
} proto_changes_it;

/* Start iterating v. Cannot fail: an error is returned by the first next(). */
void proto_changes_iter(proto_changes_it *it, const proto_changes *v);
/*
 * Read the next record into *c (text ids and names; c->cells a cell map keyed
 * by column name, owned by the iterator). Returns OCOP_OK; OCOP_ENOENT when
 * done (the stream consumed exactly); OCOP_EPROTO; OCOP_ENOMEM.
 */
int proto_changes_next(proto_changes_it *it, proto_change *c /* OUT */);
/* Free what the iterator holds. Safe to call more than once. */
void proto_changes_end(proto_changes_it *it);

/*
 * Read a batch value at r and check every record in it (the decoders'
 * SK_CHANGES field). Returns OCOP_OK, OCOP_EPROTO or OCOP_ENOMEM; on error
 * r is where it was.
 */
int proto_changes_get(proto_rd *r, proto_changes *v /* OUT */);
/*
 * Read only a batch value's header at r: its record count and the size of its
 * stream once inflated, without inflating or checking the records (a server
 * weighs a PUSH with it before the PUSH takes the writer's turn). Returns
 * OCOP_OK or OCOP_EPROTO; r is past the value on success.
 */
int proto_changes_peek(proto_rd *r, uint32_t *count /* OUT */, uint64_t *size /* OUT */);
/* Write a view's batch value verbatim, or an empty batch when v->len is 0. */
void proto_changes_put(proto_wr *w, const proto_changes *v);

/* ===== Building a batch ===== */

/* A dictionary being written: keys in an arena, an open-addressed index. */
typedef struct proto_dict {
	com_buf keys;       /* key bytes laid end to end */
	uint32_t *off;      /* entry i: its key at keys.data + off[i] ... */
	uint8_t *klen;      /* ... of klen[i] bytes (at most 64) */
	uint32_t n;         /* entries */
	uint32_t cap;       /* room in off/klen */
	uint32_t *slot;     /* hash slots: entry index + 1, 0 empty */
	uint32_t nslot;     /* a power of two, at least 2n */
	size_t bytes;       /* encoded size of the entries */
} proto_dict;

/* The records of one batch being gathered, and their dictionaries. */
typedef struct proto_body {
	com_buf recs;      /* encoded records */
	proto_dict names;  /* tables, columns, users */
	proto_dict sites;  /* writer sites (16 bytes each) */
	uint64_t seq;      /* the last record's seq and HLC */
	uint64_t hlc;
	uint32_t count;
	int rc;            /* sticky OCOP_ENOMEM */
} proto_body;

/* What proto_body_undo() goes back to. */
typedef struct proto_body_mark {
	size_t recs;
	uint32_t names;
	uint32_t sites;
	size_t names_bytes;
	size_t sites_bytes;
	uint64_t seq;
	uint64_t hlc;
	uint32_t count;
} proto_body_mark;

void proto_body_init(proto_body *b);
void proto_body_fini(proto_body *b);
/* Remember the body as it is now. */
void proto_body_save(const proto_body *b, proto_body_mark *m /* OUT */);
/* Go back to a mark taken since the last undo. */
void proto_body_undo(proto_body *b, const proto_body_mark *m);
/*
 * Add one change. Returns OCOP_OK; OCOP_EINVAL when it would not decode (a
 * malformed id, name or cell map: nothing added); OCOP_ENOMEM (sticky).
 */
int proto_body_add(proto_body *b, const proto_change *c);
/* Bytes the batch value would take now, before deflating. */
size_t proto_body_size(const proto_body *b);
/*
 * Write the batch value: deflated when that is smaller. Returns OCOP_OK or
 * OCOP_ENOMEM (also set on w).
 */
int proto_body_put(proto_body *b, proto_wr *w);

#endif /* OCOP_PROTOCOL_BATCH_H */
