/*
 * blob.h: the evidence files of one node, stored by content (the SHA-256 of
 * their bytes) in a directory beside the replica, each stored once however
 * many documents name it.
 *
 *   DIR/objects/ab/ab12…ef   a whole file, verified against its name; never
 *                            changed once there (write once, then renamed in)
 *   DIR/partial/PEER/ab12…ef the bytes received so far from PEER (a site id,
 *                            or "down" for what this node fetches)
 *   DIR/tmp/                 files being added, before they are renamed in
 *
 * Crash safety comes from the rename: a file reaches objects/ only once it
 * is whole, its SHA-256 checked and its bytes synced, so after a crash at any
 * point a file is either whole and verified, or absent (a partial copy stays
 * a partial copy, and is checked again when it completes). Because objects
 * never change, backing them up is copying (or hard-linking) the files that
 * are not in the backup yet.
 *
 * This module knows nothing of documents, scopes or peers' rights (see
 * fileref.h and the servers' file service); it moves and checks bytes.
 * Threads: a receive into one partial must not run in two threads of one
 * process at once (the server serialises them); between processes each
 * partial is locked while it is written.
 */
#ifndef OCOP_STORE_BLOB_H
#define OCOP_STORE_BLOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/store.h"

#define STO_SHA_LEN 32   /* raw SHA-256 */
#define STO_SHA_HEX 65   /* 64 hex digits and the NUL */
#define STO_BLOB_DOWN "down" /* the partial directory of what this node fetches */

typedef struct sto_blobs sto_blobs;

/*
 * The directory of a replica's files when nothing else is configured: the
 * database file's path with ".files" appended. Returns OCOP_OK, OCOP_EINVAL
 * (an in-memory database), OCOP_ERANGE (out too small).
 */
int sto_blobs_dir_for(sto_db *db, char *out, size_t cap);

/*
 * Open the file store at dir, creating its directories (mode 0700) when
 * missing. Constructor. Returns OCOP_OK, OCOP_EIO (cannot create or is not a
 * directory; errmsg says why), OCOP_ENOMEM. Caller closes with sto_blobs_close().
 */
int sto_blobs_open(sto_blobs **out /* OUT */, const char *dir);
/* Release. Accepts NULL. Destructor. */
void sto_blobs_close(sto_blobs *b);
/* The store's directory (borrowed). */
const char *sto_blobs_dir(const sto_blobs *b);
/* A sentence about the last failure (borrowed, valid until the next call on b). */
const char *sto_blobs_errmsg(const sto_blobs *b);

/*
 * Add the file at path: copy it into the store while hashing it, then rename
 * it in (or drop the copy when the same bytes are there already: *existed).
 * A file larger than max_bytes is refused before a byte is copied.
 * Returns OCOP_OK; OCOP_ENOENT (no such file); OCOP_EINPUT (not a regular
 * file); OCOP_ETOOBIG; OCOP_EIO. errmsg says why; nothing stays behind.
 */
int sto_blobs_add(sto_blobs *b, const char *path, uint64_t max_bytes, uint8_t sha[STO_SHA_LEN] /* OUT */,
    uint64_t *size /* OUT */, bool *existed /* OUT, may be NULL */);

/* Is the file whole here? *size (may be NULL) receives its size. Cannot fail (an error counts as absent). */
bool sto_blobs_has(sto_blobs *b, const uint8_t sha[STO_SHA_LEN], uint64_t *size /* OUT */);

/* Bytes of sha received so far from peer (0 when none). Cannot fail. */
uint64_t sto_blobs_held(sto_blobs *b, const char *peer, const uint8_t sha[STO_SHA_LEN]);
/*
 * The most bytes of sha received so far from any one peer (0 when none): how
 * far the file has come here, whichever site is sending it. Cannot fail.
 */
uint64_t sto_blobs_held_most(sto_blobs *b, const uint8_t sha[STO_SHA_LEN]);

/*
 * Take one chunk of sha (whole size `size`) from peer. Only a chunk that
 * starts where the partial copy ends is written; one that starts before (a
 * resend, a replay) or after (a gap) changes nothing, and *held says where
 * the next must start. When the copy reaches `size` it is checked against
 * sha, synced and renamed in (*whole). The caller has checked the chunk's own
 * digest. A file already whole here is *whole at once.
 * Returns OCOP_OK; OCOP_ECORRUPT (the completed copy does not hash to sha: it
 * was discarded, *held is 0); OCOP_EINVAL (bad peer name); OCOP_EIO.
 */
int sto_blobs_receive(sto_blobs *b, const char *peer, const uint8_t sha[STO_SHA_LEN], uint64_t size,
    uint64_t offset, const uint8_t *data, size_t len, uint64_t *held /* OUT */, bool *whole /* OUT */);

/*
 * Read up to cap bytes of a whole file from offset into buf (*got: how many;
 * 0 at the end). Returns OCOP_OK, OCOP_ENOENT (not here), OCOP_EIO.
 */
int sto_blobs_read(sto_blobs *b, const uint8_t sha[STO_SHA_LEN], uint64_t offset, uint8_t *buf, size_t cap,
    size_t *got /* OUT */);

/*
 * Hash a whole file again. Returns OCOP_OK (sound), OCOP_ENOENT, OCOP_ECORRUPT
 * (its bytes no longer hash to its name: the disk damaged it), OCOP_EIO.
 */
int sto_blobs_verify(sto_blobs *b, const uint8_t sha[STO_SHA_LEN]);

/*
 * Write a whole file out to path, checking its hash on the way: through
 * path.tmp, renamed in only when sound. An existing path is replaced only with
 * force. Returns OCOP_OK; OCOP_ENOENT (not here); OCOP_EEXIST (path exists,
 * no force); OCOP_ECORRUPT (the stored copy is damaged; nothing written);
 * OCOP_EIO.
 */
int sto_blobs_export(sto_blobs *b, const uint8_t sha[STO_SHA_LEN], const char *path, bool force);

/* Remove a whole file (a release). Returns OCOP_OK, OCOP_ENOENT, OCOP_EIO. */
int sto_blobs_remove(sto_blobs *b, const uint8_t sha[STO_SHA_LEN]);
/* Drop a partial copy. Cannot fail. */
void sto_blobs_drop_partial(sto_blobs *b, const char *peer, const uint8_t sha[STO_SHA_LEN]);

/* Called for each whole file: return OCOP_OK to go on, anything else stops the walk with that code. */
typedef int (*sto_blobs_fn)(void *arg, const uint8_t sha[STO_SHA_LEN], uint64_t size);

/* Walk the whole files (in no order). Returns OCOP_OK, fn's code, OCOP_EIO. */
int sto_blobs_each(sto_blobs *b, sto_blobs_fn fn, void *arg);

/* Bytes held in peer's partial copies (NULL: every peer's) and how many copies. Cannot fail. */
void sto_blobs_partials(sto_blobs *b, const char *peer, uint64_t *bytes /* OUT */, uint64_t *count /* OUT */);

/*
 * Remove partial copies not written for max_age_s seconds (any peer's), and
 * leftovers of interrupted adds. *removed (may be NULL) counts them.
 * Cannot fail (what cannot be removed stays).
 */
void sto_blobs_expire_partials(sto_blobs *b, int64_t max_age_s, uint64_t *removed /* OUT */);

/*
 * Hard-link (or copy, across file systems) every whole file of b that dst_dir
 * lacks into the store at dst_dir (created). Files already there are kept:
 * a whole file's name is its content. *copied counts the files added and
 * *bytes their size (may be NULL). Returns OCOP_OK or OCOP_EIO (errmsg on b).
 */
int sto_blobs_mirror(sto_blobs *b, const char *dst_dir, uint64_t *copied /* OUT */, uint64_t *bytes /* OUT */);

/*
 * Parse a size as a user types it: bytes, or a number with K, M or G (KiB,
 * MiB, GiB: "256M"). Returns OCOP_OK or OCOP_EINVAL.
 */
int sto_blobs_parse_size(const char *s, uint64_t *out /* OUT */);

#endif /* OCOP_STORE_BLOB_H */
