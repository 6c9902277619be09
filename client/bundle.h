/*
 * bundle.h: a site's side of sneakernet: writing the request bundle that
 * `ocop export` puts on a USB stick, and taking in the reply bundle the server
 * wrote (`ocop import`). The file format is protocol/bundle.h; the server's
 * side is `ocopd import`.
 *
 * A bundle carries the same messages as an online session, so the same rules
 * hold: the server skips changes it already has, a reply's changes go through
 * the one merge, and the pull cursor commits with the changes it covers, so
 * importing a file twice, or a file and then syncing online, changes nothing
 * the second time. Reading and writing files is the caller's business.
 */
#ifndef OCOP_CLIENT_BUNDLE_H
#define OCOP_CLIENT_BUNDLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/sync.h"
#include "common/store/blob.h"
#include "common/store/filebundle.h"
#include "common/store/merge.h"
#include "common/store/store.h"
#include "common/util/buf.h"

#define CLI_BUNDLE_BATCH (1024u * 1024u) /* bytes per PUSH in a bundle */
#define CLI_BUNDLE_FILES_DEFAULT (UINT64_C(256) << 20) /* file bytes a bundle carries unless told */

/* The evidence files side of a bundle (PROTOCOL.md 6.3); NULL: rows only. */
typedef struct cli_bundle_files {
	sto_blobs *b;          /* the site's file store (borrowed) */
	const sto_policy *pol; /* its rules: which documents its scope covers (borrowed) */
	uint64_t budget;       /* export: file bytes to carry at most (whole files; 0 = none) */
} cli_bundle_files;

/* What cli_bundle_export put in the file. */
typedef struct cli_bundle_export_stats {
	uint32_t batches;   /* PUSH messages */
	uint64_t changes;   /* change records in them */
	uint64_t first_seq; /* lowest site_seq exported, 0 when none */
	uint64_t last_seq;  /* highest site_seq exported, 0 when none */
	uint64_t cursor;    /* pull cursor the server is asked to continue from */
	sto_filebundle_stats files; /* evidence files carried (and left for later) */
	uint64_t seq;       /* the bundle's number */
} cli_bundle_export_stats;

/* What cli_bundle_import did. */
typedef struct cli_bundle_import_stats {
	cli_sync_stats sync;             /* rejected, pulled, applied, conflicts, high_water, cursor */
	char server[37];                 /* the server that wrote the reply */
	uint64_t created_ms;             /* when the server wrote it */
	bool cursor_moved;               /* the pull cursor advanced */
	sto_filebundle_stats files;      /* evidence files taken in */
} cli_bundle_import_stats;

/*
 * Write this site's request bundle into out: HELLO, PUSH batches of its own
 * changes above its last known high-water mark (meta push_high_water; from
 * the first change when all is set), an ACK and a PULL of its pull cursor,
 * stamped with created_ms; with files, then what it holds and lacks of the
 * files its documents name and the whole files the server is not known to
 * hold, within files->budget, all inside the authenticated part. It is
 * numbered with the next bundle number (meta bundle_seq, the only thing
 * written) and authenticated with the key derived from credential; the
 * credential itself never goes into the file.
 * Returns OCOP_OK; OCOP_EINVAL when the replica has no site identity or no
 * credential (message in err); OCOP_EDB; OCOP_ENOMEM. On error out is back to
 * its length.
 */
int cli_bundle_export(sto_db *db, const char *credential, bool all, uint64_t created_ms,
    const cli_bundle_files *files, com_buf *out, cli_bundle_export_stats *st /* OUT */, char *err, size_t errlen);

/*
 * Verify a reply bundle (p, len) with this site's key (from its credential)
 * and apply it: the server's high-water mark and rejections (into the ledger)
 * as a PUSH_OK online, then each PULL_OK page merged in one transaction with
 * the cursor, then (with files) the file messages: every chunk checked, each
 * file kept once whole and verified. The cursor moves only when a page
 * continues from where this site is, and never backwards. meta last_sync
 * becomes the reply's creation time unless a later sync is recorded. A reply
 * is taken once: it must answer a request this site exported, newer than the
 * last reply imported.
 * pol is the local merge policy (workflow order).
 * Returns: OCOP_OK; with nothing applied and a reason in err: OCOP_ECORRUPT
 * (damaged, edited or forged), OCOP_EPROTO, OCOP_EVERSION (the file),
 * OCOP_EINVAL (a request bundle, not a reply; no credential), OCOP_ESITE (a
 * reply for another site or from another server), OCOP_ESTATE (a replayed or
 * older reply); after partial application (what committed stays, importing
 * again finishes it): OCOP_EDB, OCOP_ENOMEM.
 */
int cli_bundle_import(sto_db *db, const sto_policy *pol, const cli_bundle_files *files, const uint8_t *p,
    size_t len, cli_bundle_import_stats *st /* OUT */, char *err, size_t errlen);

#endif /* OCOP_CLIENT_BUNDLE_H */
