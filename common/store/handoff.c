/*
 * handoff.c: the province's record of its hand-offs to the national tier and
 * the national server's record of what arrived (see handoff.h).
 */
#include "common/store/handoff.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/store/db.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

static void
handoff_now(char out[32])
{
	time_t t = time(NULL);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Copy a text column (NULL as "") into a fixed field. */
static void
handoff_col(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static int
handoff_sqlerr(sto_db *db)
{
	return sto_seterr(db, OCOP_EDB, "hand-offs: %s", sqlite3_errmsg(db->db));
}

int
sto_handoff_record(sto_db *db, const sto_handoff_key *k)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc;

	handoff_now(now);
	if (sqlite3_prepare_v2(db->db,
		"INSERT OR IGNORE INTO handoff (dossier_id, evaluation_id, version, state, created_lsn, created, updated)"
		" VALUES (?1, ?2, ?3, 'waiting', (SELECT COALESCE(MAX(lsn), 0) FROM change), ?4, ?4)",
		-1, &st, NULL) != SQLITE_OK) {
		return handoff_sqlerr(db);
	}
	sqlite3_bind_text(st, 1, k->dossier_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k->evaluation_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, k->version);
	sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? OCOP_OK : handoff_sqlerr(db);
}

int
sto_handoff_latest(sto_db *db, const char *dossier_id, sto_handoff_key *out, bool *found)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*found = false;
	memset(out, 0, sizeof(*out));
	if (sqlite3_prepare_v2(db->db,
		"SELECT dossier_id, evaluation_id, version FROM handoff WHERE dossier_id = ?1"
		" ORDER BY created DESC, version DESC LIMIT 1",
		-1, &st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, dossier_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		handoff_col(st, 0, out->dossier_id, sizeof(out->dossier_id));
		handoff_col(st, 1, out->evaluation_id, sizeof(out->evaluation_id));
		out->version = sqlite3_column_int64(st, 2);
		*found = true;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
}

int
sto_handoff_pending(sto_db *db, sto_handoff_key **keys, size_t *n)
{
	sqlite3_stmt *st = NULL;
	sto_handoff_key *v = NULL;
	size_t cap = 0;
	int rc;

	*keys = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db->db,
		"SELECT dossier_id, evaluation_id, version FROM handoff WHERE state IN ('waiting', 'sent')"
		" ORDER BY created, dossier_id, version",
		-1, &st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			sto_handoff_key *nv = com_realloc(v, ncap * sizeof(*v));
			if (nv == NULL) {
				sqlite3_finalize(st);
				com_free(v);
				*n = 0;
				return OCOP_ENOMEM;
			}
			v = nv;
			cap = ncap;
		}
		handoff_col(st, 0, v[*n].dossier_id, sizeof(v[*n].dossier_id));
		handoff_col(st, 1, v[*n].evaluation_id, sizeof(v[*n].evaluation_id));
		v[*n].version = sqlite3_column_int64(st, 2);
		(*n)++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		com_free(v);
		*n = 0;
		return OCOP_EDB;
	}
	*keys = v;
	return OCOP_OK;
}

int
sto_handoff_set_state(sto_db *db, const sto_handoff_key *k, const char *state, const char *sha,
    uint64_t changes, const char *error)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc;

	handoff_now(now);
	rc = sqlite3_prepare_v2(db->db,
	    state != NULL
		? "UPDATE handoff SET state = ?4, updated = ?5, last_error = NULL,"
		  " package_sha256 = COALESCE(?6, package_sha256),"
		  " changes = CASE WHEN ?6 IS NULL THEN changes ELSE ?7 END"
		  " WHERE dossier_id = ?1 AND evaluation_id = ?2 AND version = ?3"
		: "UPDATE handoff SET attempts = attempts + 1, last_error = ?8, updated = ?5"
		  " WHERE dossier_id = ?1 AND evaluation_id = ?2 AND version = ?3",
	    -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, k->dossier_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k->evaluation_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, k->version);
	if (state != NULL) {
		sqlite3_bind_text(st, 4, state, -1, SQLITE_STATIC);
		if (sha != NULL) {
			sqlite3_bind_text(st, 6, sha, -1, SQLITE_STATIC);
		}
		sqlite3_bind_int64(st, 7, (sqlite3_int64)changes);
	} else {
		sqlite3_bind_text(st, 8, error ? error : "", -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
}

int
sto_handoff_mark_decided(sto_db *db, bool any_state, uint32_t *n)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc;

	if (n != NULL) {
		*n = 0;
	}
	handoff_now(now);
	/* A national result about this version reached this replica after the
	 * hand-off was recorded (the nation could not decide on it before); one
	 * about an earlier version arrived before. Clocks are not compared. */
	if (sqlite3_prepare_v2(db->db,
		"UPDATE handoff SET state = 'decided', updated = ?1"
		" WHERE (state = 'acknowledged' OR (?2 AND state IN ('waiting', 'sent')))"
		" AND EXISTS (SELECT 1 FROM decision x WHERE x.dossier_id = handoff.dossier_id"
		" AND x.kind = 'national_result' AND x.deleted = 0"
		" AND EXISTS (SELECT 1 FROM change c WHERE c.lsn > handoff.created_lsn AND c.tbl = 'decision'"
		" AND c.row_id = x.id))",
		-1, &st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, any_state ? 1 : 0);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		return OCOP_EDB;
	}
	if (n != NULL) {
		*n = (uint32_t)sqlite3_changes(db->db);
	}
	return OCOP_OK;
}

int
sto_handoff_note_arrival(sto_db *db, const char *tbl, const char *row, const char *province_site)
{
	sqlite3_stmt *st = NULL;
	char now[32];
	int rc;

	if (strcmp(tbl, "decision") != 0 && strcmp(tbl, "evaluation") != 0) {
		return OCOP_OK;
	}
	handoff_now(now);
	rc = sqlite3_prepare_v2(db->db,
	    "INSERT OR IGNORE INTO arrival (dossier_id, evaluation_id, version, province_site, arrived)"
	    " SELECT e.dossier_id, e.id, COALESCE(e.version, 1), ?2, ?3 FROM decision a"
	    " JOIN evaluation e ON e.id = a.evaluation_id"
	    " WHERE (a.id = ?1 OR e.id = ?1) AND a.kind = 'approval' AND a.deleted = 0 AND e.deleted = 0"
	    " AND e.tier = 'province' AND a.dossier_id = e.dossier_id",
	    -1, &st, NULL);
	if (rc != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, row, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, province_site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
}

int
sto_handoff_counts(sto_db *db, uint64_t counts[4])
{
	static const char *const states[4] = {"waiting", "sent", "acknowledged", "decided"};
	sqlite3_stmt *st = NULL;
	int rc;
	int i;

	memset(counts, 0, 4 * sizeof(counts[0]));
	if (sqlite3_prepare_v2(db->db, "SELECT state, COUNT(*) FROM handoff GROUP BY state", -1, &st, NULL) !=
	    SQLITE_OK) {
		return OCOP_EDB;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 0);
		for (i = 0; i < 4; i++) {
			if (state != NULL && strcmp(state, states[i]) == 0) {
				counts[i] = (uint64_t)sqlite3_column_int64(st, 1);
			}
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
}

int
sto_handoff_has(sto_db *db, const sto_handoff_key *k, bool *found)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*found = false;
	if (sto_stmt(db, "SELECT 1 FROM handoff WHERE dossier_id = ?1 AND evaluation_id = ?2 AND version = ?3", &st) !=
	    OCOP_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_text(st, 1, k->dossier_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, k->evaluation_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, k->version);
	rc = sqlite3_step(st);
	*found = rc == SQLITE_ROW;
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? OCOP_OK : handoff_sqlerr(db);
}
