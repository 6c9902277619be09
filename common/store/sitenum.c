/*
 * sitenum.c: site UUIDs interned as small numbers, one table per replica.
 *
 * Every cell's version and every change of the log names its writer. Stored as
 * a 36-character UUID that was most of a clock row and a tenth of a log row;
 * as a number it is one or two bytes. Numbers are this replica's own (another
 * replica numbers the same sites differently), so nothing that leaves the
 * replica carries one, and orders between sites still compare the UUIDs.
 * Numbers are never reused or changed; a rollback may undo the ones handed
 * out in its transaction, which is why the cache is dropped on rollback.
 */
#include "common/store/db.h"

#include <stdio.h>
#include <string.h>

#include "common/store/store.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

/* FNV-1a over the UUID text. */
static uint32_t
sitenum_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s) {
		h ^= (uint8_t)*s++;
		h *= 16777619u;
	}
	return h;
}

void
sto_sitenum_reset(struct sto_db *db)
{
	sto_sitemap *m = &db->sites;

	if (m->slots != NULL) {
		memset(m->slots, 0, m->nslots * sizeof(m->slots[0]));
	}
	if (m->uuid != NULL) {
		memset(m->uuid, 0, m->cap * sizeof(m->uuid[0]));
	}
	m->count = 0;
	m->loaded = false;
	m->stale = false;
}

void
sto_sitenum_fini(struct sto_db *db)
{
	com_free(db->sites.uuid);
	com_free(db->sites.slots);
	memset(&db->sites, 0, sizeof(db->sites));
}

/* Room for number no in the by-number array. */
static int
sitenum_reserve(sto_sitemap *m, uint32_t no)
{
	uint32_t cap;
	char(*nv)[37];

	if (no < m->cap) {
		return OCOP_OK;
	}
	cap = m->cap ? m->cap : 64;
	while (cap <= no) {
		if (cap > UINT32_MAX / 2) {
			return OCOP_ENOMEM;
		}
		cap *= 2;
	}
	nv = com_realloc(m->uuid, (size_t)cap * sizeof(nv[0]));
	if (nv == NULL) {
		return OCOP_ENOMEM;
	}
	memset(nv + m->cap, 0, (size_t)(cap - m->cap) * sizeof(nv[0]));
	m->uuid = nv;
	m->cap = cap;
	return OCOP_OK;
}

/* Put no (whose UUID is set) into the hash, growing it at half full. */
static int
sitenum_hash_put(sto_sitemap *m, uint32_t no)
{
	uint32_t i;

	if ((m->count + 1) * 2 > m->nslots) {
		uint32_t n = m->nslots ? m->nslots * 2 : 128;
		uint32_t *ns = com_calloc(n, sizeof(*ns));
		uint32_t k;
		if (ns == NULL) {
			return OCOP_ENOMEM;
		}
		for (k = 0; k < m->nslots; k++) {
			if (m->slots[k] != 0) {
				for (i = sitenum_hash(m->uuid[m->slots[k]]) & (n - 1); ns[i] != 0; i = (i + 1) & (n - 1)) {
				}
				ns[i] = m->slots[k];
			}
		}
		com_free(m->slots);
		m->slots = ns;
		m->nslots = n;
	}
	for (i = sitenum_hash(m->uuid[no]) & (m->nslots - 1); m->slots[i] != 0; i = (i + 1) & (m->nslots - 1)) {
		if (m->slots[i] == no) {
			return OCOP_OK;
		}
	}
	m->slots[i] = no;
	m->count++;
	return OCOP_OK;
}

/* Remember (no, uuid). */
static int
sitenum_remember(sto_sitemap *m, uint32_t no, const char *uuid)
{
	int rv;

	if (no == 0 || strlen(uuid) > 36) {
		return OCOP_OK;
	}
	if ((rv = sitenum_reserve(m, no)) != OCOP_OK) {
		return rv;
	}
	snprintf(m->uuid[no], sizeof(m->uuid[no]), "%s", uuid);
	return sitenum_hash_put(m, no);
}

/* Read the whole table into the cache (servers know a few thousand sites at most). */
static int
sitenum_load(struct sto_db *db)
{
	sqlite3_stmt *st;
	int rv;
	int rc;

	if (db->sites.stale) {
		sto_sitenum_reset(db);
	}
	if (db->sites.loaded) {
		return OCOP_OK;
	}
	if ((rv = sto_stmt(db, "SELECT no, uuid FROM site_ref", &st)) != OCOP_OK) {
		return rv;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *u = (const char *)sqlite3_column_text(st, 1);
		if ((rv = sitenum_remember(&db->sites, (uint32_t)sqlite3_column_int64(st, 0), u ? u : "")) != OCOP_OK) {
			sqlite3_reset(st);
			return rv;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		return sto_seterr(db, OCOP_EDB, "site numbers: %s", sqlite3_errmsg(db->db));
	}
	db->sites.loaded = true;
	return OCOP_OK;
}

/* The cached number of uuid, or 0. */
static uint32_t
sitenum_cached(const sto_sitemap *m, const char *uuid)
{
	uint32_t i;

	if (m->nslots == 0) {
		return 0;
	}
	for (i = sitenum_hash(uuid) & (m->nslots - 1); m->slots[i] != 0; i = (i + 1) & (m->nslots - 1)) {
		if (strcmp(m->uuid[m->slots[i]], uuid) == 0) {
			return m->slots[i];
		}
	}
	return 0;
}

int
sto_sitenum_get(struct sto_db *db, const char *uuid, bool add, uint32_t *no)
{
	sqlite3_stmt *st;
	int rv;
	int rc;

	*no = 0;
	if (uuid == NULL || uuid[0] == 0) {
		return OCOP_OK; /* no site: number 0 */
	}
	if ((rv = sitenum_load(db)) != OCOP_OK) {
		return rv;
	}
	if ((*no = sitenum_cached(&db->sites, uuid)) != 0) {
		return OCOP_OK;
	}
	/* Another connection may have numbered it since the cache was loaded. */
	if ((rv = sto_stmt(db, "SELECT no FROM site_ref WHERE uuid = ?1", &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*no = (uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		return sto_seterr(db, OCOP_EDB, "site numbers: %s", sqlite3_errmsg(db->db));
	}
	if (*no == 0 && !add) {
		return OCOP_ENOENT;
	}
	if (*no == 0) {
		if ((rv = sto_stmt(db, "INSERT INTO site_ref (uuid) VALUES (?1)", &st)) != OCOP_OK) {
			return rv;
		}
		sqlite3_bind_text(st, 1, uuid, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE) {
			return sto_seterr(db, OCOP_EDB, "site numbers: %s", sqlite3_errmsg(db->db));
		}
		*no = (uint32_t)sqlite3_last_insert_rowid(db->db);
	}
	return sitenum_remember(&db->sites, *no, uuid);
}

int
sto_sitenum_uuid(struct sto_db *db, uint32_t no, char out[37])
{
	sqlite3_stmt *st;
	int rv;
	int rc;

	out[0] = 0;
	if (no == 0) {
		return OCOP_OK;
	}
	if ((rv = sitenum_load(db)) != OCOP_OK) {
		return rv;
	}
	if (no < db->sites.cap && db->sites.uuid[no][0] != 0) {
		memcpy(out, db->sites.uuid[no], 37);
		return OCOP_OK;
	}
	if ((rv = sto_stmt(db, "SELECT uuid FROM site_ref WHERE no = ?1", &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_int64(st, 1, no);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out, 37, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE) {
		return sto_seterr(db, OCOP_ENOENT, "no site number %u in this replica", (unsigned)no);
	}
	if (rc != SQLITE_ROW) {
		return sto_seterr(db, OCOP_EDB, "site numbers: %s", sqlite3_errmsg(db->db));
	}
	return sitenum_remember(&db->sites, no, out);
}
