/*
 * secret.h: files that hold secrets (keys, credentials, enrolment files).
 *
 * A secret never travels on a command line (every user sees it in `ps` and
 * shell history), so programs read it from a file or standard input. A file
 * holding one is created readable by its owner only (0600), and one that
 * others can read is refused when read, with a message saying how to fix it.
 */
#ifndef OCOP_UTIL_SECRET_H
#define OCOP_UTIL_SECRET_H

#include <stddef.h>

#define COM_SECRET_MAX (1024 * 1024) /* bytes: no secret file is larger */

/*
 * Read a secret file whole ("-": standard input) into a com_malloc'd,
 * NUL-terminated buffer. Refuses a file that is not a regular file or that
 * its group or others may read. Returns OCOP_OK, OCOP_ENOENT (missing),
 * OCOP_EINPUT (not private, not regular, too large, contains NUL; err says
 * which and how to fix it), OCOP_EIO, OCOP_ENOMEM. Caller frees *out with
 * com_free().
 */
int com_secret_read(const char *path, char **out /* OUT */, size_t *len /* OUT, may be NULL */, char *err,
    size_t errlen);

/*
 * Write a secret file atomically ("-": standard output), mode 0600: a
 * temporary file beside it, synced, then renamed over path. Returns OCOP_OK
 * or OCOP_EIO (err says why); on error no file is left behind.
 */
int com_secret_write(const char *path, const void *data, size_t len, char *err, size_t errlen);

/*
 * Make an existing file readable by its owner only. Returns OCOP_OK or
 * OCOP_EIO. Used on databases that hold credentials or keys.
 */
int com_secret_protect(const char *path);

#endif /* OCOP_UTIL_SECRET_H */
