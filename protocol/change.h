/*
 * change.h: one captured change, as stored in the change log and sent on the
 * wire (PROTOCOL.md section 5).
 *
 * A change is one write to one row by one site: the row's table and UUID, the
 * writer's HLC, and a map of the cells it set, each with the version (base HLC)
 * the writer saw. The cell map is kept encoded, keyed by column name; on the
 * wire a batch carries its records in a compact form (batch.h).
 */
#ifndef OCOP_PROTOCOL_CHANGE_H
#define OCOP_PROTOCOL_CHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "common/util/buf.h"
#include "protocol/wire.h"

#define PROTO_NAME_MAX 32 /* longest table or column name */
#define PROTO_USER_MAX 64 /* longest user name */
#define PROTO_UUID_LEN 36

typedef enum proto_vtype {
	PROTO_V_NULL = 0,
	PROTO_V_INT,
	PROTO_V_REAL,
	PROTO_V_TEXT,
	PROTO_V_BLOB,
} proto_vtype;

/* A cell value; text and blob bytes are borrowed from wherever they were read. */
typedef struct proto_value {
	proto_vtype type;  /* which member holds the value */
	int64_t i;         /* PROTO_V_INT */
	double d;          /* PROTO_V_REAL */
	const uint8_t *p;  /* PROTO_V_TEXT / PROTO_V_BLOB bytes, borrowed */
	size_t len;        /* byte length of p */
} proto_value;

typedef struct proto_cell {
	char col[PROTO_NAME_MAX + 1]; /* column name */
	proto_value v;                /* new value (borrowed bytes) */
	uint64_t base_hlc;            /* version of the cell the writer saw; 0 = none */
} proto_cell;

typedef struct proto_change {
	char site[PROTO_UUID_LEN + 1];  /* writer's site UUID */
	uint64_t seq;                   /* writer's dense per-site sequence, from 1 */
	char tbl[PROTO_NAME_MAX + 1];   /* replicated table */
	char row[PROTO_UUID_LEN + 1];   /* row UUID */
	uint64_t hlc;                   /* writer's HLC for this change */
	char user[PROTO_USER_MAX + 1];  /* user at the writer, may be empty */
	const uint8_t *cells;           /* encoded cell map, borrowed */
	size_t cells_len;               /* its length */
} proto_change;

/* ===== Values ===== */

/* Write one cell value (nil, int, float64, str or bin by its type). */
void proto_value_put(proto_wr *w, const proto_value *v);
/*
 * Read one cell value; text and blob bytes are borrowed from the reader's
 * input. Returns OCOP_OK or OCOP_EPROTO (another type, e.g. a map).
 */
int proto_value_get(proto_rd *r, proto_value *v /* OUT */);

/* ===== Cell maps ===== */

/* Begin a cell map of n cells; then call proto_cell_put n times. */
void proto_cells_begin(proto_wr *w, uint32_t n);
/* Append one cell (column, value, base HLC) to the map being written. */
void proto_cell_put(proto_wr *w, const char *col, const proto_value *v, uint64_t base_hlc);

typedef struct proto_cells_it {
	proto_rd rd;   /* cursor over the encoded map */
	uint32_t left; /* cells not yet read */
} proto_cells_it;

/* Start iterating an encoded cell map. Returns OCOP_OK or OCOP_EPROTO. */
int proto_cells_open(proto_cells_it *it, const uint8_t *p, size_t len, uint32_t *count /* OUT, may be NULL */);
/*
 * Read the next cell into *c (value bytes borrowed from the map). Returns
 * OCOP_OK, OCOP_ENOENT when done (and the map was consumed exactly), or
 * OCOP_EPROTO.
 */
int proto_cells_next(proto_cells_it *it, proto_cell *c /* OUT */);
/* Validate a whole cell map (every cell well-formed, names valid). */
int proto_cells_check(const uint8_t *p, size_t len);

/* True when s (len bytes) is a valid table or column name: [a-z_][a-z0-9_]*, at most 32. */
int proto_name_valid(const char *s, size_t len);

/*
 * True when s (len bytes) is a UUID in the canonical lowercase form of
 * PROTOCOL.md section 1: 8-4-4-4-12 lowercase hex digits and hyphens.
 * Uppercase is refused so that one row can never arrive under two keys.
 */
int proto_uuid_valid(const char *s, size_t len);

#endif /* OCOP_PROTOCOL_CHANGE_H */
