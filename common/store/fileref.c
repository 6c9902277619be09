/*
 * fileref.c: which files the document rows name, who may send or fetch
 * them, what waits each way, and releasing the files nothing names any
 * more (fileref.h).
 */
#include "common/store/fileref.h"

#include "common/store/clock.h"

#include <stdio.h>
#include <string.h>

#include "common/store/db.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

static const char fileref_schema_sql[] =
    /* A peer known to hold a file whole: at a site, its server (it said so);
     * at a server, a site that gave it the file (so proved it holds it). */
    "CREATE TABLE IF NOT EXISTS file_peer ("
    " peer TEXT NOT NULL, sha TEXT NOT NULL, PRIMARY KEY (peer, sha)) WITHOUT ROWID;"
    /* A stored file no live document names, and since when (Unix seconds). */
    "CREATE TABLE IF NOT EXISTS file_orphan (sha TEXT PRIMARY KEY NOT NULL, since INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS document_sha256 ON document (sha256);";

static void
fileref_hex(const uint8_t sha[STO_SHA_LEN], char hex[STO_SHA_HEX])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < STO_SHA_LEN; i++) {
		hex[2 * i] = digits[sha[i] >> 4];
		hex[2 * i + 1] = digits[sha[i] & 0x0f];
	}
	hex[2 * STO_SHA_LEN] = 0;
}

static bool
fileref_unhex(const unsigned char *hex, int len, uint8_t sha[STO_SHA_LEN])
{
	int i;

	if (hex == NULL || len != 2 * STO_SHA_LEN) {
		return false;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = hex[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0) {
			return false;
		}
		sha[i / 2] = (uint8_t)(i % 2 == 0 ? v << 4 : sha[i / 2] | v);
	}
	return true;
}

int
sto_files_prepare(sto_db *db)
{
	return sto_exec(db, fileref_schema_sql);
}

/* Does `scope` cover the unit of document row `id`? A row placed nowhere is nobody's. */
static int
fileref_covered(sto_db *db, const sto_policy *pol, const char *scope, const char *id, bool *yes)
{
	char unit[64];
	int rv;

	*yes = false;
	if (scope == NULL || scope[0] == 0) {
		*yes = true;
		return OCOP_OK;
	}
	if ((rv = sto_row_scope(db, "document", id, unit, sizeof(unit))) != OCOP_OK) {
		return rv;
	}
	if (unit[0] != 0 && pol != NULL && pol->covers != NULL) {
		*yes = pol->covers(pol->arg, db, scope, unit);
	}
	return OCOP_OK;
}

/* Append (sha, size) to a growing array unless it is there already. */
static int
fileref_add(sto_fileref **arr, size_t *n, size_t *cap, const uint8_t sha[STO_SHA_LEN], uint64_t size)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if ((*arr)[i].size == size && memcmp((*arr)[i].sha, sha, STO_SHA_LEN) == 0) {
			return OCOP_OK;
		}
	}
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 16;
		sto_fileref *p = com_realloc(*arr, ncap * sizeof(**arr));
		if (p == NULL) {
			return OCOP_ENOMEM;
		}
		*arr = p;
		*cap = ncap;
	}
	memcpy((*arr)[*n].sha, sha, STO_SHA_LEN);
	(*arr)[*n].size = size;
	(*n)++;
	return OCOP_OK;
}

/*
 * Did site set document id's sha256 (the cell's version names it)? Read from
 * the row's packed clock (clock.h); false when the cell has no version.
 */
static bool
fileref_set_by(sto_db *db, const char *id, const char *site)
{
	char writer[37] = "";
	uint64_t hlc = 0;
	int64_t aux = 0;
	bool found = false;

	if (site == NULL || site[0] == 0 || id == NULL ||
	    sto_clock_get(db, "document", id, "sha256", &hlc, writer, &aux, &found) != OCOP_OK) {
		return false;
	}
	return found && strcmp(writer, site) == 0;
}

/*
 * Collect the files of the documents a query yields (columns: id, sha256,
 * size; ?1 = arg when given): those scope covers, and those self set.
 */
static int
fileref_collect_arg(sto_db *db, const char *sql, const char *arg, const sto_policy *pol, const char *scope,
    const char *self, sto_fileref **out, size_t *n)
{
	sqlite3_stmt *st = NULL;
	sto_fileref *arr = NULL;
	size_t cap = 0;
	int rv = OCOP_OK;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK) {
		return sto_seterr(db, OCOP_EDB, "files: %s", sqlite3_errmsg(sto_sqlite(db)));
	}
	if (arg != NULL) {
		sqlite3_bind_text(st, 1, arg, -1, SQLITE_TRANSIENT);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t sha[STO_SHA_LEN];
		sqlite3_int64 size = sqlite3_column_int64(st, 2);
		bool covered;

		if (!fileref_unhex(sqlite3_column_text(st, 1), sqlite3_column_bytes(st, 1), sha) ||
		    sqlite3_column_type(st, 2) != SQLITE_INTEGER || size < 0) {
			continue;
		}
		if (self != NULL && fileref_set_by(db, (const char *)sqlite3_column_text(st, 0), self)) {
			covered = true;
		} else if ((rv = fileref_covered(db, pol, scope, (const char *)sqlite3_column_text(st, 0), &covered)) !=
			   OCOP_OK) {
			break;
		}
		if (covered && (rv = fileref_add(&arr, n, &cap, sha, (uint64_t)size)) != OCOP_OK) {
			break;
		}
	}
	if (rv == OCOP_OK && rc != SQLITE_DONE) {
		rv = sto_seterr(db, OCOP_EDB, "files: %s", sqlite3_errmsg(sto_sqlite(db)));
	}
	sqlite3_finalize(st);
	if (rv != OCOP_OK) {
		com_free(arr);
		*n = 0;
		return rv;
	}
	*out = arr;
	return OCOP_OK;
}

int
sto_files_of_dossier(sto_db *db, const char *dossier, sto_fileref **out, size_t *n)
{
	return fileref_collect_arg(db,
	    "SELECT d.id, d.sha256, d.size FROM document d"
	    " WHERE d.dossier_id = ?1 AND d.deleted = 0 AND d.sha256 IS NOT NULL ORDER BY d.id",
	    dossier, NULL, NULL, NULL, out, n);
}

int
sto_files_named(sto_db *db, const sto_policy *pol, const char *scope, const char *self, sto_fileref **out, size_t *n)
{
	return fileref_collect_arg(db,
	    "SELECT d.id, d.sha256, d.size FROM document d"
	    " WHERE d.deleted = 0 AND d.sha256 IS NOT NULL ORDER BY d.id",
	    NULL, pol, scope, self, out, n);
}

int
sto_files_of_handoffs(sto_db *db, sto_fileref **out, size_t *n)
{
	return fileref_collect_arg(db,
	    "SELECT d.id, d.sha256, d.size FROM document d"
	    " WHERE d.deleted = 0 AND d.sha256 IS NOT NULL"
	    " AND d.id IN (SELECT row_id FROM handoff_tree WHERE tbl = 'document') ORDER BY d.id",
	    NULL, NULL, NULL, NULL, out, n);
}

int
sto_files_claim(sto_db *db, const sto_policy *pol, const char *site, const char *scope, const uint8_t sha[STO_SHA_LEN],
    uint64_t size, sto_file_claim *out)
{
	sqlite3_stmt *st = NULL;
	char hex[STO_SHA_HEX];
	bool in_scope = false;
	int rv = OCOP_OK;
	int rc;

	memset(out, 0, sizeof(*out));
	fileref_hex(sha, hex);
	if (size > (uint64_t)INT64_MAX && size != STO_FILE_ANY_SIZE) {
		return OCOP_OK;
	}
	if ((rv = sto_stmt(db,
		 "SELECT d.id FROM document d WHERE d.sha256 = ?1 AND (?2 < 0 OR d.size = ?2) AND d.deleted = 0",
		 &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, size == STO_FILE_ANY_SIZE ? -1 : (sqlite3_int64)size);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char id[40];
		bool covered;
		bool mine;

		snprintf(id, sizeof(id), "%s", (const char *)sqlite3_column_text(st, 0));
		mine = fileref_set_by(db, id, site);
		if ((rv = fileref_covered(db, pol, scope, id, &covered)) != OCOP_OK) {
			break;
		}
		out->sendable |= covered || mine;
		out->fetchable |= covered && !mine;
		in_scope |= covered;
	}
	sqlite3_reset(st);
	if (rv == OCOP_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rv = sto_seterr(db, OCOP_EDB, "files: %s", sqlite3_errmsg(sto_sqlite(db)));
	}
	if (rv == OCOP_OK && in_scope && !out->fetchable) {
		out->fetchable = sto_files_peer_has(db, site, sha);
	}
	return rv;
}

bool
sto_files_peer_has(sto_db *db, const char *peer, const uint8_t sha[STO_SHA_LEN])
{
	sqlite3_stmt *st = NULL;
	char hex[STO_SHA_HEX];
	bool yes;

	if (peer == NULL || peer[0] == 0 ||
	    sto_stmt(db, "SELECT 1 FROM file_peer WHERE peer = ?1 AND sha = ?2", &st) != OCOP_OK) {
		return false;
	}
	fileref_hex(sha, hex);
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, hex, -1, SQLITE_TRANSIENT);
	yes = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_reset(st);
	return yes;
}

int
sto_files_peer_set(sto_db *db, const char *peer, const uint8_t sha[STO_SHA_LEN])
{
	sqlite3_stmt *st = NULL;
	char hex[STO_SHA_HEX];
	int rc;
	int rv;

	if (peer == NULL || peer[0] == 0) {
		return OCOP_OK;
	}
	/* A replica that never opened its files (an older one, a command that does not) gets the table now. */
	if (sto_stmt(db, "INSERT OR IGNORE INTO file_peer (peer, sha) VALUES (?1, ?2)", &st) != OCOP_OK &&
	    ((rv = sto_files_prepare(db)) != OCOP_OK ||
		(rv = sto_stmt(db, "INSERT OR IGNORE INTO file_peer (peer, sha) VALUES (?1, ?2)", &st)) != OCOP_OK)) {
		return rv;
	}
	fileref_hex(sha, hex);
	sqlite3_bind_text(st, 1, peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, hex, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? OCOP_OK : sto_seterr(db, OCOP_EDB, "files: %s", sqlite3_errmsg(sto_sqlite(db)));
}

bool
sto_files_live(sto_db *db, const uint8_t sha[STO_SHA_LEN])
{
	sqlite3_stmt *st = NULL;
	char hex[STO_SHA_HEX];
	int rc;

	if (sto_stmt(db, "SELECT 1 FROM document WHERE sha256 = ?1 AND deleted = 0 LIMIT 1", &st) != OCOP_OK) {
		return true;
	}
	fileref_hex(sha, hex);
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc != SQLITE_DONE;
}

void
sto_files_pending(sto_db *db, sto_blobs *b, const sto_fileref *refs, size_t n, const char *peer, sto_files_count *in,
    sto_files_count *out)
{
	sto_files_count i0 = {0, 0};
	sto_files_count o0 = {0, 0};
	size_t k;

	for (k = 0; k < n; k++) {
		if (sto_blobs_has(b, refs[k].sha, NULL)) {
			if (peer == NULL || peer[0] == 0 || !sto_files_peer_has(db, peer, refs[k].sha)) {
				o0.files++;
				o0.bytes += refs[k].size;
			}
		} else {
			/* Whoever sends it (a server receives from each site apart): what is still to come. */
			uint64_t held = sto_blobs_held_most(b, refs[k].sha);
			i0.files++;
			i0.bytes += held < refs[k].size ? refs[k].size - held : 0;
		}
	}
	if (in != NULL) {
		*in = i0;
	}
	if (out != NULL) {
		*out = o0;
	}
}

/* ===== Release ===== */

typedef struct fileref_gc {
	sto_db *db;              /* the replica */
	sto_blobs *b;            /* its files */
	int64_t retention_s;     /* how long an unnamed file is kept */
	int64_t now_s;           /* now */
	sto_files_gc_stats *st;  /* counts */
} fileref_gc;

static int
fileref_gc_one(void *arg, const uint8_t sha[STO_SHA_LEN], uint64_t size)
{
	fileref_gc *g = arg;
	sqlite3_stmt *st = NULL;
	char hex[STO_SHA_HEX];
	int64_t since = -1;
	int rv;

	fileref_hex(sha, hex);
	if (sto_files_live(g->db, sha)) {
		g->st->kept++;
		if ((rv = sto_stmt(g->db, "DELETE FROM file_orphan WHERE sha = ?1", &st)) != OCOP_OK) {
			return rv;
		}
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
		rv = sqlite3_step(st) == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
		sqlite3_reset(st);
		return rv;
	}
	if ((rv = sto_stmt(g->db, "SELECT since FROM file_orphan WHERE sha = ?1", &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) == SQLITE_ROW) {
		since = sqlite3_column_int64(st, 0);
	}
	sqlite3_reset(st);
	if (since < 0) {
		if ((rv = sto_stmt(g->db, "INSERT INTO file_orphan (sha, since) VALUES (?1, ?2)", &st)) != OCOP_OK) {
			return rv;
		}
		sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, g->now_s);
		rv = sqlite3_step(st) == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
		sqlite3_reset(st);
		g->st->waiting++;
		return rv;
	}
	if (g->now_s - since < g->retention_s) {
		g->st->waiting++;
		return OCOP_OK;
	}
	/* The row goes in the same transaction; a crash after it leaves an unnamed
	 * file that the next pass counts from zero again: late, never lost early. */
	if ((rv = sto_stmt(g->db, "DELETE FROM file_orphan WHERE sha = ?1", &st)) != OCOP_OK) {
		return rv;
	}
	sqlite3_bind_text(st, 1, hex, -1, SQLITE_TRANSIENT);
	rv = sqlite3_step(st) == SQLITE_DONE ? OCOP_OK : OCOP_EDB;
	sqlite3_reset(st);
	if (rv != OCOP_OK) {
		return rv;
	}
	rv = sto_blobs_remove(g->b, sha);
	if (rv == OCOP_OK) {
		g->st->released++;
		g->st->bytes += size;
	}
	return rv == OCOP_ENOENT ? OCOP_OK : rv;
}

int
sto_files_gc(sto_db *db, sto_blobs *b, int64_t retention_s, int64_t partial_s, int64_t now_s, sto_files_gc_stats *st)
{
	fileref_gc g;
	int rv;

	memset(st, 0, sizeof(*st));
	g.db = db;
	g.b = b;
	g.retention_s = retention_s;
	g.now_s = now_s;
	g.st = st;
	if ((rv = sto_begin(db)) != OCOP_OK) {
		return rv;
	}
	rv = sto_blobs_each(b, fileref_gc_one, &g);
	if (rv != OCOP_OK) {
		sto_rollback(db);
		return rv;
	}
	if ((rv = sto_commit(db)) != OCOP_OK) {
		return rv;
	}
	if (partial_s > 0) {
		sto_blobs_expire_partials(b, partial_s, &st->partials);
	}
	return OCOP_OK;
}
