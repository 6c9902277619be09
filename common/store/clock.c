/*
 * clock.c: the packed per-row clock (see clock.h).
 *
 * Layout of ocop_clock (varints are unsigned LEB128):
 *   byte    1, the format
 *   varint  n, the number of distinct versions (at most the table's columns)
 *   n times varint hlc, varint site number
 *   varint  aux: 0 none, else zigzag(aux) + 1 (a dossier status's epoch)
 *   then per column, in schema order, varint k: 0 no version, else version k
 *   (trailing zeros are left out; a column added by a later schema version
 *   therefore reads as having no version).
 */
#include "common/store/clock.h"

#include <stdio.h>
#include <string.h>

#include "common/store/db.h"
#include "ocop_err.h"

#define CLOCK_FORMAT 1

/* ===== Varints ===== */

static void
clock_put_varint(uint8_t *out, size_t *n, uint64_t v)
{
	while (v >= 0x80) {
		out[(*n)++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	out[(*n)++] = (uint8_t)v;
}

static bool
clock_get_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v)
{
	unsigned shift = 0;

	*v = 0;
	while (*pos < len && shift < 64) {
		uint8_t b = p[(*pos)++];
		*v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			return true;
		}
		shift += 7;
	}
	return false;
}

/* ===== Blob ===== */

int
sto_clock_encode(const sto_table *t, const sto_clock *c, com_buf *out)
{
	/* format, count, versions (10 + 5 bytes each), aux, one byte per column */
	uint8_t buf[2 + STO_ROW_MAX * 15 + 11 + STO_ROW_MAX];
	uint8_t idx[STO_ROW_MAX];
	uint64_t vh[STO_ROW_MAX];
	uint32_t vs[STO_ROW_MAX];
	size_t nver = 0;
	size_t ncols = 0;
	size_t n = 0;
	size_t i;
	size_t k;

	for (i = 0; i < t->ncols; i++) {
		idx[i] = 0;
		if (!c->have[i]) {
			continue;
		}
		for (k = 0; k < nver && !(vh[k] == c->hlc[i] && vs[k] == c->site[i]); k++) {
		}
		if (k == nver) {
			vh[nver] = c->hlc[i];
			vs[nver] = c->site[i];
			nver++;
		}
		idx[i] = (uint8_t)(k + 1);
		ncols = i + 1;
	}
	buf[n++] = CLOCK_FORMAT;
	clock_put_varint(buf, &n, nver);
	for (k = 0; k < nver; k++) {
		clock_put_varint(buf, &n, vh[k]);
		clock_put_varint(buf, &n, vs[k]);
	}
	if (c->has_aux) {
		uint64_t z = c->aux < 0 ? ((uint64_t)(-(c->aux + 1)) << 1) | 1 : (uint64_t)c->aux << 1;
		clock_put_varint(buf, &n, z + 1);
	} else {
		buf[n++] = 0;
	}
	for (i = 0; i < ncols; i++) {
		buf[n++] = idx[i];
	}
	return com_buf_append(out, buf, n);
}

int
sto_clock_decode(sto_db *db, const sto_table *t, const uint8_t *p, size_t len, sto_clock *out)
{
	uint64_t vh[STO_ROW_MAX];
	uint64_t vs[STO_ROW_MAX];
	uint64_t nver;
	uint64_t aux;
	uint64_t k;
	size_t pos = 1;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (len < 1 || p[0] != CLOCK_FORMAT || !clock_get_varint(p, len, &pos, &nver) || nver > t->ncols) {
		goto bad;
	}
	for (k = 0; k < nver; k++) {
		if (!clock_get_varint(p, len, &pos, &vh[k]) || !clock_get_varint(p, len, &pos, &vs[k]) ||
		    vs[k] > UINT32_MAX) {
			goto bad;
		}
	}
	if (!clock_get_varint(p, len, &pos, &aux)) {
		goto bad;
	}
	if (aux != 0) {
		aux--;
		out->has_aux = true;
		out->aux = (aux & 1) ? -(int64_t)(aux >> 1) - 1 : (int64_t)(aux >> 1);
	}
	for (i = 0; pos < len; i++) {
		uint8_t v = p[pos++];
		if (i >= t->ncols || v > nver) {
			goto bad;
		}
		if (v != 0) {
			out->have[i] = true;
			out->hlc[i] = vh[v - 1];
			out->site[i] = (uint32_t)vs[v - 1];
		}
	}
	return OCOP_OK;
bad:
	if (db != NULL) {
		sto_seterr(db, OCOP_ECORRUPT, "the clock of a %s row is damaged", t->name);
	}
	return OCOP_ECORRUPT;
}

/* ===== Rows ===== */

/*
 * The clock of a row no write has touched since a local insert created it:
 * the creating change (the row's first of this site in the log) holds every cell it set,
 * and a status it set holds the row's epoch (unchanged since, or the clock
 * would have been written).
 */
static int
clock_from_creation(sto_db *db, const sto_row *r, const char *id, sto_clock *out)
{
	const sto_table *t = r->t;
	sqlite3_stmt *st;
	int status = sto_schema_status_col(t);
	int epoch = sto_schema_col_index(t, "epoch");
	uint64_t cols = 0;
	uint64_t hlc = 0;
	uint32_t site = 0;
	size_t i;
	int rv;
	int rc;

	memset(out, 0, sizeof(*out));
	/* Only a capture here leaves the clock NULL: the row's first change of this site. */
	if ((rv = sto_stmt(db,
		 "SELECT site, hlc, cols FROM change WHERE tbl = ?1 AND row_id = ?2 AND site = ?3 ORDER BY lsn LIMIT 1",
		 &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, db->site_no);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		site = (uint32_t)sqlite3_column_int64(st, 0);
		hlc = (uint64_t)sqlite3_column_int64(st, 1);
		cols = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		return sto_seterr(db, OCOP_EDB, "clock: %s", sqlite3_errmsg(db->db));
	}
	for (i = 0; i < t->ncols; i++) {
		if (cols & ((uint64_t)1 << i)) {
			out->have[i] = true;
			out->hlc[i] = hlc;
			out->site[i] = site;
		}
	}
	if (status >= 0 && out->have[status]) {
		out->has_aux = true;
		out->aux = epoch >= 0 && r->v[epoch].type == PROTO_V_INT ? r->v[epoch].i : 0;
	}
	return OCOP_OK;
}

int
sto_row_clock(sto_db *db, const sto_row *r, sto_clock *out)
{
	memset(out, 0, sizeof(*out));
	if (!r->exists) {
		return OCOP_OK;
	}
	if (r->clock == NULL) {
		return clock_from_creation(db, r, r->id, out);
	}
	return sto_clock_decode(db, r->t, r->clock, r->clock_len, out);
}

int
sto_clock_put(sto_db *db, const sto_table *t, int64_t rowid, const sto_clock *c)
{
	sqlite3_stmt *st;
	int rv;
	int rc;

	com_buf_reset(&db->clockbuf);
	if ((rv = sto_clock_encode(t, c, &db->clockbuf)) != OCOP_OK ||
	    (rv = sto_table_update_stmt(db, t, 0, &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_blob(st, 1, db->clockbuf.data, (int)db->clockbuf.len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, rowid);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "clock: %s", sqlite3_errmsg(db->db));
}

int
sto_clock_get(sto_db *db, const char *tbl, const char *row, const char *col, uint64_t *hlc, char site[37],
    int64_t *aux, bool *found)
{
	const sto_table *t = sto_schema_table(tbl);
	int i = t != NULL ? sto_schema_col_index(t, col) : -1;
	sto_clock c;
	sto_row r;
	int rv;

	*hlc = 0;
	*aux = 0;
	*found = false;
	site[0] = 0;
	if (i < 0) {
		return sto_seterr(db, OCOP_EINVAL, "no column %s.%s", tbl, col ? col : "");
	}
	if ((rv = sto_row_load(db, t, row, &r)) != OCOP_OK) {
		return rv;
	}
	rv = sto_row_clock(db, &r, &c);
	sto_row_fini(&r);
	if (rv != OCOP_OK || !c.have[i]) {
		return rv;
	}
	*found = true;
	*hlc = c.hlc[i];
	if (i == sto_schema_status_col(t) && c.has_aux) {
		*aux = c.aux;
	}
	return sto_sitenum_uuid(db, c.site[i], site);
}
