/*
 * backup.h: a consistent copy of a live replica (SQLite's online backup
 * API) and the check a copy passes before it is put back.
 *
 * A copy is one point in time: the backup reads inside one transaction, so
 * writers carry on and nothing they commit meanwhile is half in it. The copy
 * is a single self-contained file (rollback journal mode, no -wal), checked
 * with integrity_check before it is given its name. Its change log numbering
 * jumps ahead by STO_BACKUP_LSN_GAP, so once it is put back, every change the
 * server logs gets a number above any pull cursor a site may hold from the
 * server it replaces: the sites' next pulls miss nothing (docs: README,
 * "Backup and restore"). Evidence files are not in the database and not
 * copied here.
 */
#ifndef OCOP_STORE_BACKUP_H
#define OCOP_STORE_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "common/store/store.h"

#define STO_BACKUP_LSN_GAP (UINT64_C(1) << 40) /* log numbers skipped by a restored copy */

/* What a backup holds. */
typedef struct sto_backup_info {
	char site[37];      /* the replica's site id */
	char role[16];      /* its role */
	uint64_t log_head;  /* the last log position copied */
	uint64_t pages;     /* database pages copied */
	uint64_t bytes;     /* size of the copy */
} sto_backup_info;

/*
 * Copy db into a new file at path (written as path.tmp, checked, then
 * renamed; an existing file at path is replaced only when the copy is good).
 * Returns OCOP_OK; OCOP_EIO (cannot write; errmsg on db says why); OCOP_EBUSY
 * (the database stayed locked); OCOP_ECORRUPT (the copy failed its check);
 * OCOP_EDB. On error nothing is left at path.tmp.
 */
int sto_backup(sto_db *db, const char *path, sto_backup_info *info /* OUT */);

/*
 * Check that the file at path is a sound replica: it opens, passes
 * integrity_check, and has an identity. Fills info (pages and bytes too).
 * Returns OCOP_OK; OCOP_ENOENT (no such file); OCOP_ECORRUPT (not a
 * database, damaged, or without an identity; why says which).
 */
int sto_backup_verify(const char *path, sto_backup_info *info /* OUT */, char *why, size_t whylen);

#endif /* OCOP_STORE_BACKUP_H */
