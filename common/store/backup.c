/*
 * backup.c: online backup of a replica and the check of a copy (backup.h).
 */
#include "common/store/backup.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "ocop_err.h"

#define BACKUP_TRIES 600 /* 100 ms apart: a minute of a locked source at most */

/* Run a statement on a raw connection; SQLITE_OK or its error. */
static int
backup_exec(sqlite3 *c, const char *sql)
{
	return sqlite3_exec(c, sql, NULL, NULL, NULL);
}

/* integrity_check on an open copy: OCOP_OK or OCOP_ECORRUPT with the first problem in why. */
static int
backup_check(sqlite3 *c, char *why, size_t whylen)
{
	sqlite3_stmt *st = NULL;
	int rv = OCOP_ECORRUPT;

	if (sqlite3_prepare_v2(c, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "not a database: %s", sqlite3_errmsg(c));
		return OCOP_ECORRUPT;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);
		if (r != NULL && strcmp(r, "ok") == 0) {
			rv = OCOP_OK;
		} else {
			snprintf(why, whylen, "integrity check: %s", r ? r : "?");
		}
	} else {
		snprintf(why, whylen, "not a database: %s", sqlite3_errmsg(c));
	}
	sqlite3_finalize(st);
	return rv;
}

/* The identity and log head of an open copy. OCOP_OK or OCOP_ECORRUPT. */
static int
backup_identity(sqlite3 *c, sto_backup_info *info, char *why, size_t whylen)
{
	sqlite3_stmt *st = NULL;
	int found = 0;

	if (sqlite3_prepare_v2(c,
		"SELECT (SELECT value FROM meta WHERE key = 'site_id'), (SELECT value FROM meta WHERE key = 'role'),"
		" (SELECT COALESCE(MAX(lsn), 0) FROM change), (SELECT page_count FROM pragma_page_count())",
		-1, &st, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "not an OCOP replica: %s", sqlite3_errmsg(c));
		return OCOP_ECORRUPT;
	}
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT &&
	    sqlite3_column_type(st, 1) == SQLITE_TEXT) {
		snprintf(info->site, sizeof(info->site), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(info->role, sizeof(info->role), "%s", (const char *)sqlite3_column_text(st, 1));
		info->log_head = (uint64_t)sqlite3_column_int64(st, 2);
		info->pages = (uint64_t)sqlite3_column_int64(st, 3);
		found = 1;
	}
	sqlite3_finalize(st);
	if (!found) {
		snprintf(why, whylen, "the replica has no identity (site id and role)");
		return OCOP_ECORRUPT;
	}
	return OCOP_OK;
}

int
sto_backup(sto_db *db, const char *path, sto_backup_info *info)
{
	char tmp[4200];
	char why[256] = "";
	char sql[400];
	sqlite3 *dst = NULL;
	sqlite3_backup *b;
	struct stat st;
	int tries = 0;
	int rc;
	int rv;

	memset(info, 0, sizeof(*info));
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		return sto_seterr(db, OCOP_EIO, "%s: path too long", path);
	}
	remove(tmp);
	if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK) {
		rv = sto_seterr(db, OCOP_EIO, "cannot create %s: %s", tmp, dst ? sqlite3_errmsg(dst) : "out of memory");
		goto fail;
	}
	b = sqlite3_backup_init(dst, "main", sto_sqlite(db), "main");
	if (b == NULL) {
		rv = sto_seterr(db, OCOP_EIO, "cannot start the backup: %s", sqlite3_errmsg(dst));
		goto fail;
	}
	/* All pages in one step: one read transaction, so one point in time. */
	while ((rc = sqlite3_backup_step(b, -1)) == SQLITE_BUSY || rc == SQLITE_LOCKED) {
		struct timespec ts = {0, 100 * 1000 * 1000};
		if (++tries > BACKUP_TRIES) {
			break;
		}
		nanosleep(&ts, NULL);
	}
	sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE) {
		rv = rc == SQLITE_BUSY || rc == SQLITE_LOCKED
		    ? sto_seterr(db, OCOP_EBUSY, "the database stayed locked; try again")
		    : sto_seterr(db, OCOP_EIO, "backup to %s failed: %s", tmp, sqlite3_errstr(rc));
		goto fail;
	}
	/* A self-contained file, with the log numbering moved past the original's. */
	snprintf(sql, sizeof(sql),
	    "PRAGMA journal_mode=DELETE; INSERT INTO sqlite_sequence (name, seq) SELECT 'change', 0"
	    " WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'change');"
	    " UPDATE sqlite_sequence SET seq = seq + %llu WHERE name = 'change';",
	    (unsigned long long)STO_BACKUP_LSN_GAP);
	if (backup_exec(dst, sql) != SQLITE_OK) {
		rv = sto_seterr(db, OCOP_EIO, "cannot finish %s: %s", tmp, sqlite3_errmsg(dst));
		goto fail;
	}
	if ((rv = backup_check(dst, why, sizeof(why))) != OCOP_OK ||
	    (rv = backup_identity(dst, info, why, sizeof(why))) != OCOP_OK) {
		rv = sto_seterr(db, rv, "the copy failed its check: %s", why);
		goto fail;
	}
	if (sqlite3_close(dst) != SQLITE_OK) {
		dst = NULL;
		rv = sto_seterr(db, OCOP_EIO, "cannot close %s", tmp);
		goto fail;
	}
	dst = NULL;
	if (stat(tmp, &st) == 0) {
		info->bytes = (uint64_t)st.st_size;
	}
	if (rename(tmp, path) != 0) {
		rv = sto_seterr(db, OCOP_EIO, "cannot name the copy %s: %s", path, strerror(errno));
		goto fail;
	}
	return OCOP_OK;
fail:
	if (dst != NULL) {
		sqlite3_close(dst);
	}
	remove(tmp);
	return rv;
}

int
sto_backup_verify(const char *path, sto_backup_info *info, char *why, size_t whylen)
{
	sqlite3 *c = NULL;
	struct stat st;
	int rv;

	memset(info, 0, sizeof(*info));
	if (stat(path, &st) != 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return OCOP_ENOENT;
	}
	if (sqlite3_open_v2(path, &c, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "not a database: %s", c ? sqlite3_errmsg(c) : "out of memory");
		sqlite3_close(c);
		return OCOP_ECORRUPT;
	}
	rv = backup_check(c, why, whylen);
	if (rv == OCOP_OK) {
		rv = backup_identity(c, info, why, whylen);
	}
	sqlite3_close(c);
	info->bytes = (uint64_t)st.st_size;
	return rv;
}
