/*
 * siteauth.c: the identity columns of the peer table (see siteauth.h).
 */
#include "common/store/siteauth.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/store/db.h"
#include "ocop_err.h"

static void
siteauth_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
siteauth_sqlerr(sto_db *db)
{
	return sto_seterr(db, OCOP_EDB, "%s", sqlite3_errmsg(db->db));
}

/* Copy a text column (NULL as "") into a fixed field. */
static void
siteauth_col(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

int
sto_siteauth_get(sto_db *db, const char *site, sto_siteauth *out)
{
	sqlite3_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (sto_stmt(db,
		"SELECT cert_sha256, cert_not_after, mac_key, revoked, revoked_reason, rotated, bundle_seq"
		" FROM peer WHERE site = ?1",
		&st) != OCOP_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return sto_seterr(db, OCOP_ESITE, "site %s is not registered here", site);
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(st);
		return siteauth_sqlerr(db);
	}
	siteauth_col(st, 0, out->cert_sha256, sizeof(out->cert_sha256));
	siteauth_col(st, 1, out->cert_not_after, sizeof(out->cert_not_after));
	siteauth_col(st, 2, out->mac_key, sizeof(out->mac_key));
	siteauth_col(st, 3, out->revoked, sizeof(out->revoked));
	siteauth_col(st, 4, out->revoked_reason, sizeof(out->revoked_reason));
	siteauth_col(st, 5, out->rotated, sizeof(out->rotated));
	out->bundle_seq = (uint64_t)sqlite3_column_int64(st, 6);
	sqlite3_reset(st);
	return OCOP_OK;
}

/* Run an UPDATE of one peer row; OCOP_ESITE when no row matched. */
static int
siteauth_update(sto_db *db, sqlite3_stmt *st, const char *site)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		return siteauth_sqlerr(db);
	}
	if (sqlite3_changes(db->db) == 0) {
		return sto_seterr(db, OCOP_ESITE, "site %s is not registered here", site);
	}
	return OCOP_OK;
}

int
sto_siteauth_set_secrets(sto_db *db, const char *site, const char *cred_digest, const char *mac_key,
    const char *cert_sha256, const char *cert_not_after, bool rotated)
{
	sqlite3_stmt *st = NULL;
	char now[32];

	if (sto_stmt(db,
		"UPDATE peer SET credential = ?2, mac_key = ?3, cert_sha256 = NULLIF(?4, ''),"
		" cert_not_after = NULLIF(?5, ''), rotated = CASE WHEN ?6 THEN ?7 ELSE rotated END WHERE site = ?1",
		&st) != OCOP_OK) {
		return OCOP_EDB;
	}
	siteauth_now(now);
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cred_digest, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, mac_key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, cert_sha256 ? cert_sha256 : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, cert_not_after ? cert_not_after : "", -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, rotated ? 1 : 0);
	sqlite3_bind_text(st, 7, now, -1, SQLITE_TRANSIENT);
	return siteauth_update(db, st, site);
}

int
sto_siteauth_set_cert(sto_db *db, const char *site, const char *cert_sha256, const char *cert_not_after)
{
	sqlite3_stmt *st = NULL;

	if (sto_stmt(db, "UPDATE peer SET cert_sha256 = NULLIF(?2, ''), cert_not_after = NULLIF(?3, '') WHERE site = ?1",
		&st) != OCOP_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cert_sha256 ? cert_sha256 : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, cert_not_after ? cert_not_after : "", -1, SQLITE_STATIC);
	return siteauth_update(db, st, site);
}

int
sto_siteauth_revoke(sto_db *db, const char *site, const char *reason)
{
	sqlite3_stmt *st = NULL;
	char now[32];

	if (sto_stmt(db, "UPDATE peer SET revoked = COALESCE(revoked, ?2), revoked_reason = ?3 WHERE site = ?1",
		&st) != OCOP_OK) {
		return OCOP_EDB;
	}
	siteauth_now(now);
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, now, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, reason ? reason : "", -1, SQLITE_STATIC);
	return siteauth_update(db, st, site);
}

int
sto_siteauth_set_scope(sto_db *db, const char *site, const char *scope)
{
	sqlite3_stmt *st = NULL;

	if (sto_stmt(db, "UPDATE peer SET scope = ?2 WHERE site = ?1", &st) != OCOP_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, scope, -1, SQLITE_STATIC);
	return siteauth_update(db, st, site);
}

int
sto_siteauth_take_bundle(sto_db *db, const char *site, uint64_t seq)
{
	sqlite3_stmt *st = NULL;
	sto_siteauth a;
	int rv;

	if ((rv = sto_siteauth_get(db, site, &a)) != OCOP_OK) {
		return rv;
	}
	if (seq <= a.bundle_seq) {
		return sto_seterr(db, OCOP_ESTATE,
		    "bundle number %llu of site %s was already taken (the last was %llu): a replayed or older file",
		    (unsigned long long)seq, site, (unsigned long long)a.bundle_seq);
	}
	if (sto_stmt(db, "UPDATE peer SET bundle_seq = ?2 WHERE site = ?1 AND bundle_seq < ?2", &st) != OCOP_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)seq);
	return siteauth_update(db, st, site);
}

/* Do two comma-separated scopes share an entry? */
static bool
siteauth_overlap(const char *a, const char *b)
{
	const char *p = a;

	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *q = b;
		while (*q) {
			const char *qe = strchr(q, ',');
			size_t m = qe ? (size_t)(qe - q) : strlen(q);
			if (n == m && n > 0 && strncmp(p, q, n) == 0) {
				return true;
			}
			if (!qe) {
				break;
			}
			q = qe + 1;
		}
		if (!end) {
			break;
		}
		p = end + 1;
	}
	return false;
}

int
sto_siteauth_same_name(sto_db *db, const char *name, const char *scope, const char *except_site, int *count)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*count = 0;
	if (name == NULL || name[0] == 0) {
		return OCOP_OK;
	}
	if (sto_stmt(db, "SELECT scope FROM peer WHERE name = ?1 AND site <> ?2 AND revoked IS NULL", &st) != OCOP_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, except_site ? except_site : "", -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const unsigned char *s = sqlite3_column_text(st, 0);
		if (s != NULL && siteauth_overlap((const char *)s, scope)) {
			(*count)++;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? OCOP_OK : siteauth_sqlerr(db);
}
