/*
 * peer.c: the peer table of a server's store (see peer.h).
 */
#include "common/store/peer.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/store/db.h"
#include "ocop_err.h"

static void
peer_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
peer_sqlerr(sto_db *db)
{
	return sto_seterr(db, OCOP_EDB, "%s", sqlite3_errmsg(db->db));
}

/* Copy a text column (NULL as "") into a fixed field. */
static void
peer_col(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

int
sto_peer_add(sto_db *db, const char *site, const char *role, const char *scope, const char *name,
    const char *cred_digest, const char *mac_key)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sto_stmt(db,
		"INSERT INTO peer (site, role, scope, credential, name, mac_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
		&st) != OCOP_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, scope ? scope : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, cred_digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, name ? name : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, mac_key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st); /* the key must not stay bound after the call */
	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		return sto_seterr(db, OCOP_EEXIST, "site %s is already registered", site);
	}
	return rc == SQLITE_DONE ? OCOP_OK : peer_sqlerr(db);
}

int
sto_peer_get(sto_db *db, const char *site, sto_peer *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sto_stmt(db,
		"SELECT role, scope, credential, high_water, cursor, last_seen, name FROM peer WHERE site = ?1",
		&st) != OCOP_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return rc == SQLITE_DONE ? sto_seterr(db, OCOP_ESITE, "site %s is not registered here", site)
					 : peer_sqlerr(db);
	}
	snprintf(out->site, sizeof(out->site), "%s", site);
	peer_col(st, 0, out->role, sizeof(out->role));
	peer_col(st, 1, out->scope, sizeof(out->scope));
	peer_col(st, 2, out->cred_digest, sizeof(out->cred_digest));
	out->high_water = (uint64_t)sqlite3_column_int64(st, 3);
	out->cursor = (uint64_t)sqlite3_column_int64(st, 4);
	peer_col(st, 5, out->last_seen, sizeof(out->last_seen));
	peer_col(st, 6, out->name, sizeof(out->name));
	sqlite3_reset(st);
	return OCOP_OK;
}

/* Set one number of a site's row with the time it was seen. */
static int
peer_touch(sto_db *db, const char *sql, const char *site, uint64_t v)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc;

	if (sto_stmt(db, sql, &st) != OCOP_OK) {
		return OCOP_EDB;
	}
	peer_now(now);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)v);
	sqlite3_bind_text(st, 2, site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? OCOP_OK : peer_sqlerr(db);
}

int
sto_peer_set_high_water(sto_db *db, const char *site, uint64_t hw)
{
	return peer_touch(db, "UPDATE peer SET high_water = ?1, last_seen = ?3 WHERE site = ?2", site, hw);
}

int
sto_peer_set_cursor(sto_db *db, const char *site, uint64_t cursor)
{
	return peer_touch(db, "UPDATE peer SET cursor = MAX(cursor, ?1), last_seen = ?3 WHERE site = ?2", site,
	    cursor);
}

int
sto_peer_each(sto_db *db, int (*fn)(void *arg, const char *site), void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc = SQLITE_DONE;
	int rv = OCOP_OK;

	/* Its own statement: fn may read the peer table through the cached ones. */
	if (sqlite3_prepare_v2(db->db, "SELECT site FROM peer ORDER BY rowid", -1, &st, NULL) != SQLITE_OK) {
		return peer_sqlerr(db);
	}
	while (rv == OCOP_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		char site[37];

		peer_col(st, 0, site, sizeof(site));
		rv = fn(arg, site);
	}
	if (rv == OCOP_OK && rc != SQLITE_DONE) {
		rv = peer_sqlerr(db);
	}
	sqlite3_finalize(st);
	return rv;
}
