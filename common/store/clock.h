/*
 * clock.h: the version of every cell of a row, packed into the row itself.
 *
 * DESIGN.md 3: per cell, each replica stores the winning (hlc, site) of the
 * write that holds it. They live in one column of the row, ocop_clock, so the
 * merge reads a row and its versions with one SELECT and writes both with one
 * statement. The blob holds the distinct versions once and, per column, which
 * of them holds it (PROTOCOL.md does not see it: it never leaves the replica,
 * and its site numbers are this replica's own).
 *
 * A row a local write created and nothing changed since keeps ocop_clock NULL:
 * every cell that write set holds the version of the change that created the
 * row (the row's first change of this site in the log), so capturing an
 * insert writes no clock at all.
 */
#ifndef OCOP_STORE_CLOCK_H
#define OCOP_STORE_CLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/merge.h"
#include "common/store/schema.h"
#include "common/store/store.h"
#include "common/util/buf.h"

/* Every cell's version, by column index. */
typedef struct sto_clock {
	bool have[STO_ROW_MAX];      /* the cell has a version */
	uint64_t hlc[STO_ROW_MAX];   /* its HLC (0 with site 0: voided, see sto_clock_void) */
	uint32_t site[STO_ROW_MAX];  /* its writer's site number, 0 when voided */
	bool has_aux;                /* aux holds a value */
	int64_t aux;                 /* a dossier status: the epoch it was set in (-1: voided) */
} sto_clock;

/*
 * Decode the ocop_clock blob of a row of t. Returns OCOP_OK or OCOP_ECORRUPT
 * (message in db's errmsg when db is given).
 */
int sto_clock_decode(sto_db *db, const sto_table *t, const uint8_t *p, size_t len, sto_clock *out /* OUT */);
/* Append the blob of c for a row of t to out. Returns OCOP_OK or OCOP_ENOMEM. */
int sto_clock_encode(const sto_table *t, const sto_clock *c, com_buf *out);

/*
 * The versions of row r as loaded by sto_row_load (r->exists): decoded from
 * its clock, or, for a NULL clock, those of the change that created it.
 * Returns OCOP_OK, OCOP_ECORRUPT, OCOP_EDB.
 */
int sto_row_clock(sto_db *db, const sto_row *r, sto_clock *out /* OUT */);

/*
 * The version of one cell as this replica holds it: *found false when the
 * cell has none; site is the writer's UUID ("" for a voided cell) and *aux the
 * epoch of a dossier status (0 otherwise). For tests and tools.
 * Returns OCOP_OK, OCOP_EINVAL (unknown table or column), OCOP_EDB.
 */
int sto_clock_get(sto_db *db, const char *tbl, const char *row, const char *col, uint64_t *hlc /* OUT */,
    char site[37], int64_t *aux /* OUT */, bool *found /* OUT */);

/*
 * Write the clock of row rowid of t alone (the cells' values stay). Inside the
 * caller's transaction. Returns OCOP_OK, OCOP_ENOMEM, OCOP_EDB.
 */
int sto_clock_put(sto_db *db, const sto_table *t, int64_t rowid, const sto_clock *c);

#endif /* OCOP_STORE_CLOCK_H */
