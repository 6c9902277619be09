/*
 * pull.h: reading a server's change log for one site's PULL, in log order,
 * without what that site has already: its own changes (unless the server
 * clamped one: the echo tells it the version every replica holds) and what it
 * relayed itself. The skipping happens inside SQLite, so a site whose own
 * history fills the log (a first sync after a bulk push) does not have it
 * read back, decoded and thrown away page after page. Scope is the caller's
 * business (it needs the OCOP rules). Read-only: run it inside a read
 * transaction so a page is one snapshot of the log.
 */
#ifndef OCOP_STORE_PULL_H
#define OCOP_STORE_PULL_H

#include <stdbool.h>
#include <stdint.h>

#include "common/store/store.h"
#include "protocol/change.h"

/* An open scan. Caller-owned storage: sto_pull_open / sto_pull_close. */
typedef struct sto_pull {
	sqlite3_stmt *st;  /* owned statement */
} sto_pull;

/* One change of the scan; the strings and cells are borrowed until the next call. */
typedef struct sto_pull_row {
	uint64_t lsn;             /* its position in the log */
	proto_change c;           /* the change (cells borrowed) */
	const char *left_scope;   /* the scope a row left with this change (move.c), or NULL */
	const char *to_site;      /* the site the change is addressed to (move.c), or NULL */
} sto_pull_row;

/*
 * Scan the log after cursor for site. Returns OCOP_OK or OCOP_EDB. Caller
 * closes with sto_pull_close().
 */
int sto_pull_open(sto_pull *p, sto_db *db, const char *site, uint64_t cursor);
/* The next change: OCOP_OK, OCOP_ENOENT after the last, OCOP_EDB. */
int sto_pull_next(sto_pull *p, sto_pull_row *out /* OUT */);
/* Release the scan. Accepts a closed or zeroed one. Cannot fail. */
void sto_pull_close(sto_pull *p);

/* The log's last position (0 when empty). Returns OCOP_OK or OCOP_EDB. */
int sto_pull_last_lsn(sto_db *db, uint64_t *lsn /* OUT */);

#endif /* OCOP_STORE_PULL_H */
