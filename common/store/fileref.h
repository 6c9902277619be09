/*
 * fileref.h: the evidence files as the replica's document rows name them
 * (document.sha256 and document.size), and this node's bookkeeping about
 * them: which peer is known to hold which file, and since when a stored
 * file has been named by no live document (its release, after a retention
 * period).
 *
 * A file follows the document rows that name it: a node needs the files of
 * the live documents its scope covers (scope follows the parent tree, as for
 * every row), and a server takes a file from a site, or gives one to it, only
 * when a live document of that site's scope names it (fileref_claim). The
 * bytes themselves live in the file store (blob.h).
 *
 * The two bookkeeping tables (file_peer, file_orphan) and the index on
 * document.sha256 are this module's, created by sto_files_prepare on the
 * node's writing connection; they are not replicated.
 */
#ifndef OCOP_STORE_FILEREF_H
#define OCOP_STORE_FILEREF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/blob.h"
#include "common/store/merge.h"
#include "common/store/store.h"

/* One file some documents name: its SHA-256 and the size they give. */
typedef struct sto_fileref {
	uint8_t sha[STO_SHA_LEN]; /* the file's SHA-256 */
	uint64_t size;            /* its size in bytes */
} sto_fileref;

/*
 * Create the bookkeeping tables and the index (idempotent; call once on the
 * connection that writes, at startup). Returns OCOP_OK or OCOP_EDB.
 */
int sto_files_prepare(sto_db *db);

/*
 * The distinct files named by live documents of this replica whose row
 * `scope` covers (pol->covers decides; scope NULL or "" = every document),
 * and, with self, those whose sha256 site self set wherever they are now (a
 * site still sends the file of a document it wrote after the province moved
 * its dossier away: it alone has the bytes). A document whose sha256 is not
 * 64 hex digits or whose size is unknown names no file. *out is com_malloc'd
 * (caller frees with com_free), *n entries. Returns OCOP_OK, OCOP_EDB,
 * OCOP_ENOMEM.
 */
int sto_files_named(sto_db *db, const sto_policy *pol, const char *scope, const char *self,
    sto_fileref **out /* OUT */, size_t *n /* OUT */);

/*
 * The distinct files named by live documents of the dossiers a province has
 * handed to the national tier (the handoff_tree view). As sto_files_named.
 */
int sto_files_of_handoffs(sto_db *db, sto_fileref **out /* OUT */, size_t *n /* OUT */);

/* The distinct files named by the live documents of one dossier. As sto_files_named. */
int sto_files_of_dossier(sto_db *db, const char *dossier, sto_fileref **out /* OUT */, size_t *n /* OUT */);

/* What a server knows of one file for one site (sto_files_claim). */
typedef struct sto_file_claim {
	bool sendable;   /* the site may send it: a live document names the file with this size, of the
			    site's scope or whose sha256 the site itself set */
	bool fetchable;  /* the site may fetch it: a live document of its scope names it, written by
			    another site, or the site itself once gave this server the file (it proved
			    it holds it) */
} sto_file_claim;

#define STO_FILE_ANY_SIZE UINT64_MAX /* sto_files_claim: whatever size the documents give */

/*
 * What site (registered with scope) may do with file sha of `size` here
 * (STO_FILE_ANY_SIZE: whatever size): send it and fetch it. A site that
 * could name any hash in a document of its own must not be able to fetch
 * another unit's file by it, hence the writer condition of fetchable; sending
 * gives nothing away (the bytes must hash to the name). Returns OCOP_OK,
 * OCOP_EDB.
 */
int sto_files_claim(sto_db *db, const sto_policy *pol, const char *site, const char *scope,
    const uint8_t sha[STO_SHA_LEN], uint64_t size, sto_file_claim *out /* OUT */);

/* Is peer known to hold sha whole? Cannot fail (an error counts as no). */
bool sto_files_peer_has(sto_db *db, const char *peer, const uint8_t sha[STO_SHA_LEN]);
/* Record that peer holds sha whole. Returns OCOP_OK or OCOP_EDB. */
int sto_files_peer_set(sto_db *db, const char *peer, const uint8_t sha[STO_SHA_LEN]);

/* Is sha named by a live document of this replica? Cannot fail (an error counts as yes: keep). */
bool sto_files_live(sto_db *db, const uint8_t sha[STO_SHA_LEN]);

/* How many files and bytes wait, one way. */
typedef struct sto_files_count {
	uint64_t files; /* files */
	uint64_t bytes; /* bytes still to move */
} sto_files_count;

/*
 * Of refs (the files a node needs): those not whole in b (to receive; bytes
 * net of the furthest partial copy, from any peer) and those whole in b
 * that peer is not known to hold (to send; peer NULL or "": all held ones).
 * Cannot fail.
 */
void sto_files_pending(sto_db *db, sto_blobs *b, const sto_fileref *refs, size_t n, const char *peer,
    sto_files_count *in /* OUT, may be NULL */, sto_files_count *out /* OUT, may be NULL */);

/* What a release pass did. */
typedef struct sto_files_gc_stats {
	uint64_t kept;      /* files named by a live document */
	uint64_t waiting;   /* files named by none, within the retention period */
	uint64_t released;  /* files removed */
	uint64_t bytes;     /* their bytes */
	uint64_t partials;  /* stale partial copies removed */
} sto_files_gc_stats;

/*
 * Release the stored files no live document has named for retention_s
 * seconds (counted from the first pass that found them unnamed, at now_s),
 * and drop partial copies untouched for partial_s seconds. A file named
 * again in the meantime (a document restored, the same bytes attached again)
 * is kept and its count starts over. Returns OCOP_OK, OCOP_EDB, OCOP_EIO.
 */
int sto_files_gc(sto_db *db, sto_blobs *b, int64_t retention_s, int64_t partial_s, int64_t now_s,
    sto_files_gc_stats *st /* OUT */);

#endif /* OCOP_STORE_FILEREF_H */
