/*
 * blob.c: the content-addressed file store of a node (blob.h): adding a
 * local file, receiving one in chunks from any offset, reading, checking,
 * exporting, releasing, and mirroring the store for a backup.
 */
#include "common/store/blob.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/util/alloc.h"
#include "ocop_err.h"

#define BLOB_IO (1u << 20) /* bytes per read or write when copying or hashing */
#define BLOB_PATH 1200     /* room for DIR/partial/PEER/HEX */

struct sto_blobs {
	char *dir;         /* owned: the store's directory */
	char errmsg[512];  /* last failure */
};

/* ===== Small helpers ===== */

static int blob_err(sto_blobs *b, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
blob_err(sto_blobs *b, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->errmsg, sizeof(b->errmsg), fmt, ap);
	va_end(ap);
	return code;
}

static void
blob_hex(const uint8_t sha[STO_SHA_LEN], char hex[STO_SHA_HEX])
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < STO_SHA_LEN; i++) {
		hex[2 * i] = digits[sha[i] >> 4];
		hex[2 * i + 1] = digits[sha[i] & 0x0f];
	}
	hex[2 * STO_SHA_LEN] = 0;
}

static int
blob_unhex(const char *hex, uint8_t sha[STO_SHA_LEN])
{
	size_t i;

	if (strlen(hex) != 2 * STO_SHA_LEN) {
		return OCOP_EINVAL;
	}
	for (i = 0; i < 2 * STO_SHA_LEN; i++) {
		char c = hex[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0) {
			return OCOP_EINVAL;
		}
		if (i % 2 == 0) {
			sha[i / 2] = (uint8_t)(v << 4);
		} else {
			sha[i / 2] = (uint8_t)(sha[i / 2] | v);
		}
	}
	return OCOP_OK;
}

/* A peer names a directory: a site id or "down", nothing that could climb out of the store. */
static bool
blob_peer_ok(const char *peer)
{
	size_t i;
	size_t n = peer != NULL ? strlen(peer) : 0;

	if (n == 0 || n > 64) {
		return false;
	}
	for (i = 0; i < n; i++) {
		char c = peer[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-')) {
			return false;
		}
	}
	return true;
}

static void
blob_object_path(const sto_blobs *b, const uint8_t sha[STO_SHA_LEN], char *out, size_t cap)
{
	char hex[STO_SHA_HEX];

	blob_hex(sha, hex);
	snprintf(out, cap, "%s/objects/%.2s/%s", b->dir, hex, hex);
}

static void
blob_partial_path(const sto_blobs *b, const char *peer, const uint8_t sha[STO_SHA_LEN], char *out, size_t cap)
{
	char hex[STO_SHA_HEX];

	blob_hex(sha, hex);
	snprintf(out, cap, "%s/partial/%s/%s", b->dir, peer, hex);
}

/* out = a/b; false when it does not fit (the name is then skipped). */
static bool
blob_join(char *out, size_t cap, const char *a, const char *b)
{
	int n = snprintf(out, cap, "%s/%s", a, b);

	return n > 0 && (size_t)n < cap;
}

/* mkdir that accepts an existing directory. */
static int
blob_mkdir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0) {
		return 0;
	}
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		return 0;
	}
	return -1;
}

/* Sync a directory so a rename into it survives a power cut. */
static void
blob_sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY);

	if (fd >= 0) {
		(void)fsync(fd);
		close(fd);
	}
}

/* The directory part of path into out (everything before the last '/'). */
static void
blob_parent(const char *path, char *out, size_t cap)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash != NULL ? (size_t)(slash - path) : 0;

	if (n == 0) {
		snprintf(out, cap, "%s", slash != NULL ? "/" : ".");
	} else {
		snprintf(out, cap, "%.*s", (int)n, path);
	}
}

/* Write all of buf at offset. Returns 0 or -1 (errno set). */
static int
blob_pwrite_all(int fd, const uint8_t *buf, size_t len, uint64_t offset)
{
	while (len > 0) {
		ssize_t n = pwrite(fd, buf, len, (off_t)offset);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -1;
		}
		buf += n;
		len -= (size_t)n;
		offset += (uint64_t)n;
	}
	return 0;
}

/* SHA-256 of the whole content of fd (read from offset 0). Returns OCOP_OK, OCOP_EIO, OCOP_ENOMEM. */
static int
blob_hash_fd(int fd, uint8_t sha[STO_SHA_LEN], uint64_t *size)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *buf = com_malloc(BLOB_IO);
	unsigned int n = 0;
	uint64_t off = 0;
	int rv = OCOP_OK;

	if (ctx == NULL || buf == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rv = ctx == NULL || buf == NULL ? OCOP_ENOMEM : OCOP_EINTERNAL;
		goto out;
	}
	for (;;) {
		ssize_t got = pread(fd, buf, BLOB_IO, (off_t)off);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got < 0) {
			rv = OCOP_EIO;
			goto out;
		}
		if (got == 0) {
			break;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1) {
			rv = OCOP_EINTERNAL;
			goto out;
		}
		off += (uint64_t)got;
	}
	if (EVP_DigestFinal_ex(ctx, sha, &n) != 1 || n != STO_SHA_LEN) {
		rv = OCOP_EINTERNAL;
	}
	if (size != NULL) {
		*size = off;
	}
out:
	com_free(buf);
	EVP_MD_CTX_free(ctx);
	return rv;
}

/* Lock (or wait for) a whole file against other processes. */
static int
blob_lock(int fd)
{
	struct flock l;

	memset(&l, 0, sizeof(l));
	l.l_type = F_WRLCK;
	l.l_whence = SEEK_SET;
	while (fcntl(fd, F_SETLKW, &l) != 0) {
		if (errno != EINTR) {
			return -1;
		}
	}
	return 0;
}

/*
 * Move a checked, synced file at tmp into objects/ under sha. Another copy of
 * the same bytes may have arrived meanwhile: then tmp is simply dropped.
 */
static int
blob_promote(sto_blobs *b, const char *tmp, const uint8_t sha[STO_SHA_LEN], bool *existed)
{
	char path[BLOB_PATH];
	char dir[BLOB_PATH];
	struct stat st;

	blob_object_path(b, sha, path, sizeof(path));
	blob_parent(path, dir, sizeof(dir));
	if (existed != NULL) {
		*existed = false;
	}
	if (stat(path, &st) == 0) {
		unlink(tmp);
		if (existed != NULL) {
			*existed = true;
		}
		return OCOP_OK;
	}
	if (blob_mkdir(dir) != 0 || rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return blob_err(b, OCOP_EIO, "cannot store %s: %s", path, strerror(e));
	}
	blob_sync_dir(dir);
	return OCOP_OK;
}

/* ===== Opening ===== */

int
sto_blobs_dir_for(sto_db *db, char *out, size_t cap)
{
	const char *f = sqlite3_db_filename(sto_sqlite(db), "main");
	int n;

	if (f == NULL || f[0] == 0) {
		return OCOP_EINVAL;
	}
	n = snprintf(out, cap, "%s.files", f);
	return n > 0 && (size_t)n < cap ? OCOP_OK : OCOP_ERANGE;
}

int
sto_blobs_open(sto_blobs **out, const char *dir)
{
	static const char *const subs[] = {"objects", "partial", "tmp"};
	sto_blobs *b;
	char path[BLOB_PATH];
	size_t i;

	*out = NULL;
	if (dir == NULL || dir[0] == 0 || strlen(dir) > BLOB_PATH - 100) {
		return OCOP_EINVAL;
	}
	if ((b = com_calloc(1, sizeof(*b))) == NULL || (b->dir = com_strdup(dir)) == NULL) {
		com_free(b);
		return OCOP_ENOMEM;
	}
	if (blob_mkdir(dir) != 0) {
		sto_blobs_close(b);
		return OCOP_EIO;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
		if (blob_mkdir(path) != 0) {
			sto_blobs_close(b);
			return OCOP_EIO;
		}
	}
	*out = b;
	return OCOP_OK;
}

void
sto_blobs_close(sto_blobs *b)
{
	if (b != NULL) {
		com_free(b->dir);
		com_free(b);
	}
}

const char *
sto_blobs_dir(const sto_blobs *b)
{
	return b->dir;
}

const char *
sto_blobs_errmsg(const sto_blobs *b)
{
	return b->errmsg;
}

/* ===== Adding a local file ===== */

int
sto_blobs_add(sto_blobs *b, const char *path, uint64_t max_bytes, uint8_t sha[STO_SHA_LEN], uint64_t *size,
    bool *existed)
{
	char tmp[BLOB_PATH];
	EVP_MD_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	struct stat st;
	uint64_t total = 0;
	unsigned int n = 0;
	int in = -1;
	int fd = -1;
	int rv = OCOP_OK;

	*size = 0;
	if ((in = open(path, O_RDONLY)) < 0) {
		return blob_err(b, errno == ENOENT ? OCOP_ENOENT : OCOP_EIO, "%s: %s", path, strerror(errno));
	}
	if (fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(in);
		return blob_err(b, OCOP_EINPUT, "%s is not a regular file", path);
	}
	if ((uint64_t)st.st_size > max_bytes) {
		close(in);
		return blob_err(b, OCOP_ETOOBIG, "%s is %llu bytes, more than the limit of %llu bytes per file", path,
		    (unsigned long long)st.st_size, (unsigned long long)max_bytes);
	}
	snprintf(tmp, sizeof(tmp), "%s/tmp/add-XXXXXX", b->dir);
	if ((fd = mkstemp(tmp)) < 0) {
		rv = blob_err(b, OCOP_EIO, "cannot write in %s/tmp: %s", b->dir, strerror(errno));
		tmp[0] = 0;
		goto out;
	}
	ctx = EVP_MD_CTX_new();
	buf = com_malloc(BLOB_IO);
	if (ctx == NULL || buf == NULL) {
		rv = OCOP_ENOMEM;
		goto out;
	}
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rv = blob_err(b, OCOP_EINTERNAL, "SHA-256 is not available");
		goto out;
	}
	for (;;) {
		ssize_t got = read(in, buf, BLOB_IO);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got < 0) {
			rv = blob_err(b, OCOP_EIO, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (got == 0) {
			break;
		}
		total += (uint64_t)got;
		if (total > max_bytes) {
			/* It grew while we read it. */
			rv = blob_err(b, OCOP_ETOOBIG, "%s is more than the limit of %llu bytes per file", path,
			    (unsigned long long)max_bytes);
			goto out;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1 ||
		    blob_pwrite_all(fd, buf, (size_t)got, total - (uint64_t)got) != 0) {
			rv = blob_err(b, OCOP_EIO, "cannot copy %s into the store: %s", path, strerror(errno));
			goto out;
		}
	}
	if (EVP_DigestFinal_ex(ctx, sha, &n) != 1 || n != STO_SHA_LEN) {
		rv = blob_err(b, OCOP_EINTERNAL, "SHA-256 is not available");
		goto out;
	}
	if (fsync(fd) != 0) {
		rv = blob_err(b, OCOP_EIO, "cannot sync %s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	*size = total;
	rv = blob_promote(b, tmp, sha, existed);
	tmp[0] = 0;
out:
	if (fd >= 0) {
		close(fd);
	}
	if (tmp[0] != 0 && rv != OCOP_OK) {
		unlink(tmp);
	}
	close(in);
	com_free(buf);
	EVP_MD_CTX_free(ctx);
	return rv;
}

/* ===== State ===== */

bool
sto_blobs_has(sto_blobs *b, const uint8_t sha[STO_SHA_LEN], uint64_t *size)
{
	char path[BLOB_PATH];
	struct stat st;

	blob_object_path(b, sha, path, sizeof(path));
	if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		return false;
	}
	if (size != NULL) {
		*size = (uint64_t)st.st_size;
	}
	return true;
}

uint64_t
sto_blobs_held(sto_blobs *b, const char *peer, const uint8_t sha[STO_SHA_LEN])
{
	char path[BLOB_PATH];
	struct stat st;

	if (!blob_peer_ok(peer)) {
		return 0;
	}
	blob_partial_path(b, peer, sha, path, sizeof(path));
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
}

uint64_t
sto_blobs_held_most(sto_blobs *b, const uint8_t sha[STO_SHA_LEN])
{
	char dir[BLOB_PATH];
	char hex[STO_SHA_HEX];
	struct dirent *e;
	uint64_t most = 0;
	DIR *d;

	blob_hex(sha, hex);
	snprintf(dir, sizeof(dir), "%s/partial", b->dir);
	if ((d = opendir(dir)) == NULL) {
		return 0;
	}
	while ((e = readdir(d)) != NULL) {
		if (blob_peer_ok(e->d_name)) {
			uint64_t held = sto_blobs_held(b, e->d_name, sha);
			most = held > most ? held : most;
		}
	}
	closedir(d);
	return most;
}

/* ===== Receiving ===== */

int
sto_blobs_receive(sto_blobs *b, const char *peer, const uint8_t sha[STO_SHA_LEN], uint64_t size, uint64_t offset,
    const uint8_t *data, size_t len, uint64_t *held, bool *whole)
{
	char path[BLOB_PATH];
	char dir[BLOB_PATH];
	uint8_t got[STO_SHA_LEN];
	struct stat st;
	uint64_t have;
	int fd;
	int rv = OCOP_OK;

	*held = 0;
	*whole = false;
	if (!blob_peer_ok(peer)) {
		return blob_err(b, OCOP_EINVAL, "bad peer name");
	}
	if (sto_blobs_has(b, sha, NULL)) {
		*held = size;
		*whole = true;
		return OCOP_OK;
	}
	snprintf(dir, sizeof(dir), "%s/partial/%s", b->dir, peer);
	if (blob_mkdir(dir) != 0) {
		return blob_err(b, OCOP_EIO, "cannot create %s: %s", dir, strerror(errno));
	}
	blob_partial_path(b, peer, sha, path, sizeof(path));
	if ((fd = open(path, O_RDWR | O_CREAT, 0600)) < 0) {
		return blob_err(b, OCOP_EIO, "cannot open %s: %s", path, strerror(errno));
	}
	if (blob_lock(fd) != 0 || fstat(fd, &st) != 0) {
		rv = blob_err(b, OCOP_EIO, "cannot lock %s: %s", path, strerror(errno));
		goto out;
	}
	have = (uint64_t)st.st_size;
	if (have > size) {
		/* Not this file after all (a size another document claimed): start again. */
		if (ftruncate(fd, 0) != 0) {
			rv = blob_err(b, OCOP_EIO, "cannot reset %s: %s", path, strerror(errno));
			goto out;
		}
		have = 0;
	}
	if (offset == have && len > 0 && len <= size - have) {
		if (blob_pwrite_all(fd, data, len, offset) != 0) {
			rv = blob_err(b, OCOP_EIO, "cannot write %s: %s", path, strerror(errno));
			goto out;
		}
		have += len;
	}
	*held = have;
	if (have == size) {
		uint64_t n = 0;
		if ((rv = blob_hash_fd(fd, got, &n)) != OCOP_OK) {
			blob_err(b, rv, "cannot read back %s", path);
			goto out;
		}
		if (n != size || memcmp(got, sha, STO_SHA_LEN) != 0) {
			/* Whoever sent it, these bytes are not the file: none of it is kept. */
			unlink(path);
			*held = 0;
			rv = blob_err(b, OCOP_ECORRUPT, "the %llu bytes received do not hash to the file's SHA-256",
			    (unsigned long long)size);
			goto out;
		}
		if (fsync(fd) != 0) {
			rv = blob_err(b, OCOP_EIO, "cannot sync %s: %s", path, strerror(errno));
			goto out;
		}
		close(fd);
		fd = -1;
		if ((rv = blob_promote(b, path, sha, NULL)) == OCOP_OK) {
			*whole = true;
		}
	}
out:
	if (fd >= 0) {
		close(fd);
	}
	return rv;
}

/* ===== Reading ===== */

int
sto_blobs_read(sto_blobs *b, const uint8_t sha[STO_SHA_LEN], uint64_t offset, uint8_t *buf, size_t cap, size_t *got)
{
	char path[BLOB_PATH];
	size_t done = 0;
	int fd;

	*got = 0;
	blob_object_path(b, sha, path, sizeof(path));
	if ((fd = open(path, O_RDONLY)) < 0) {
		return errno == ENOENT ? OCOP_ENOENT : blob_err(b, OCOP_EIO, "cannot open %s: %s", path, strerror(errno));
	}
	while (done < cap) {
		ssize_t n = pread(fd, buf + done, cap - done, (off_t)(offset + done));
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n < 0) {
			int e = errno;
			close(fd);
			return blob_err(b, OCOP_EIO, "cannot read %s: %s", path, strerror(e));
		}
		if (n == 0) {
			break;
		}
		done += (size_t)n;
	}
	close(fd);
	*got = done;
	return OCOP_OK;
}

int
sto_blobs_verify(sto_blobs *b, const uint8_t sha[STO_SHA_LEN])
{
	char path[BLOB_PATH];
	uint8_t got[STO_SHA_LEN];
	int fd;
	int rv;

	blob_object_path(b, sha, path, sizeof(path));
	if ((fd = open(path, O_RDONLY)) < 0) {
		return errno == ENOENT ? OCOP_ENOENT : blob_err(b, OCOP_EIO, "cannot open %s: %s", path, strerror(errno));
	}
	rv = blob_hash_fd(fd, got, NULL);
	close(fd);
	if (rv != OCOP_OK) {
		return blob_err(b, rv, "cannot read %s", path);
	}
	return memcmp(got, sha, STO_SHA_LEN) == 0 ? OCOP_OK
						   : blob_err(b, OCOP_ECORRUPT, "%s no longer hashes to its name", path);
}

int
sto_blobs_export(sto_blobs *b, const uint8_t sha[STO_SHA_LEN], const char *path, bool force)
{
	char src[BLOB_PATH];
	char tmp[BLOB_PATH + 16];
	uint8_t got[STO_SHA_LEN];
	EVP_MD_CTX *ctx = NULL;
	uint8_t *buf = NULL;
	struct stat st;
	unsigned int n = 0;
	uint64_t off = 0;
	int in = -1;
	int fd = -1;
	int rv = OCOP_OK;

	blob_object_path(b, sha, src, sizeof(src));
	if ((in = open(src, O_RDONLY)) < 0) {
		return errno == ENOENT ? blob_err(b, OCOP_ENOENT, "the file is not here")
				       : blob_err(b, OCOP_EIO, "cannot open %s: %s", src, strerror(errno));
	}
	if (!force && lstat(path, &st) == 0) {
		close(in);
		return blob_err(b, OCOP_EEXIST, "%s exists (add --force to replace it)", path);
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0) {
		rv = blob_err(b, OCOP_EIO, "cannot write %s: %s", tmp, strerror(errno));
		close(in);
		return rv;
	}
	ctx = EVP_MD_CTX_new();
	buf = com_malloc(BLOB_IO);
	if (ctx == NULL || buf == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		rv = OCOP_ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = pread(in, buf, BLOB_IO, (off_t)off);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			rv = blob_err(b, OCOP_EIO, "cannot read %s: %s", src, strerror(errno));
			goto out;
		}
		if (r == 0) {
			break;
		}
		if (EVP_DigestUpdate(ctx, buf, (size_t)r) != 1 || blob_pwrite_all(fd, buf, (size_t)r, off) != 0) {
			rv = blob_err(b, OCOP_EIO, "cannot write %s: %s", tmp, strerror(errno));
			goto out;
		}
		off += (uint64_t)r;
	}
	if (EVP_DigestFinal_ex(ctx, got, &n) != 1 || memcmp(got, sha, STO_SHA_LEN) != 0) {
		rv = blob_err(b, OCOP_ECORRUPT, "the stored copy is damaged (it no longer hashes to its SHA-256)");
		goto out;
	}
	if (fsync(fd) != 0) {
		rv = blob_err(b, OCOP_EIO, "cannot sync %s: %s", tmp, strerror(errno));
		goto out;
	}
	close(fd);
	fd = -1;
	if (force) {
		if (rename(tmp, path) != 0) {
			rv = blob_err(b, OCOP_EIO, "cannot write %s: %s", path, strerror(errno));
		}
	} else if (link(tmp, path) != 0) {
		/* link() refuses an existing name: a file that appeared meanwhile is kept. */
		rv = errno == EEXIST ? blob_err(b, OCOP_EEXIST, "%s exists (add --force to replace it)", path)
				     : blob_err(b, OCOP_EIO, "cannot write %s: %s", path, strerror(errno));
	}
out:
	if (fd >= 0) {
		close(fd);
	}
	unlink(tmp);
	close(in);
	com_free(buf);
	EVP_MD_CTX_free(ctx);
	return rv;
}

/* ===== Releasing ===== */

int
sto_blobs_remove(sto_blobs *b, const uint8_t sha[STO_SHA_LEN])
{
	char path[BLOB_PATH];

	blob_object_path(b, sha, path, sizeof(path));
	if (unlink(path) != 0) {
		return errno == ENOENT ? OCOP_ENOENT : blob_err(b, OCOP_EIO, "cannot remove %s: %s", path, strerror(errno));
	}
	return OCOP_OK;
}

void
sto_blobs_drop_partial(sto_blobs *b, const char *peer, const uint8_t sha[STO_SHA_LEN])
{
	char path[BLOB_PATH];

	if (blob_peer_ok(peer)) {
		blob_partial_path(b, peer, sha, path, sizeof(path));
		unlink(path);
	}
}

/* ===== Walking ===== */

int
sto_blobs_each(sto_blobs *b, sto_blobs_fn fn, void *arg)
{
	char path[BLOB_PATH];
	char sub[BLOB_PATH];
	DIR *top;
	DIR *d;
	struct dirent *e;
	struct dirent *f;
	struct stat st;
	uint8_t sha[STO_SHA_LEN];
	int rv = OCOP_OK;

	snprintf(path, sizeof(path), "%s/objects", b->dir);
	if ((top = opendir(path)) == NULL) {
		return blob_err(b, OCOP_EIO, "cannot list %s: %s", path, strerror(errno));
	}
	while (rv == OCOP_OK && (e = readdir(top)) != NULL) {
		if (strlen(e->d_name) != 2 || e->d_name[0] == '.') {
			continue;
		}
		if (!blob_join(sub, sizeof(sub), path, e->d_name) || (d = opendir(sub)) == NULL) {
			continue;
		}
		while (rv == OCOP_OK && (f = readdir(d)) != NULL) {
			char file[BLOB_PATH + 80];
			if (blob_unhex(f->d_name, sha) != OCOP_OK || strncmp(f->d_name, e->d_name, 2) != 0) {
				continue;
			}
			if (!blob_join(file, sizeof(file), sub, f->d_name) || stat(file, &st) != 0 ||
			    !S_ISREG(st.st_mode)) {
				continue;
			}
			rv = fn(arg, sha, (uint64_t)st.st_size);
		}
		closedir(d);
	}
	closedir(top);
	return rv;
}

/* Visit the regular files of dir (not recursively). */
static void
blob_files(const char *dir, void (*fn)(void *arg, const char *path, const struct stat *st), void *arg)
{
	char path[BLOB_PATH + 80];
	struct dirent *e;
	struct stat st;
	DIR *d = opendir(dir);

	if (d == NULL) {
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.') {
			continue;
		}
		if (blob_join(path, sizeof(path), dir, e->d_name) && lstat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			fn(arg, path, &st);
		}
	}
	closedir(d);
}

typedef struct blob_tally {
	uint64_t bytes;   /* sizes summed */
	uint64_t count;   /* files seen (or removed) */
	time_t before;    /* expire: files last written before this */
} blob_tally;

static void
blob_tally_one(void *arg, const char *path, const struct stat *st)
{
	blob_tally *t = arg;

	(void)path;
	t->bytes += (uint64_t)st->st_size;
	t->count++;
}

static void
blob_expire_one(void *arg, const char *path, const struct stat *st)
{
	blob_tally *t = arg;

	if (st->st_mtime < t->before && unlink(path) == 0) {
		t->count++;
	}
}

/* Visit the peer directories under partial/ (or only peer's). */
static void
blob_peers(sto_blobs *b, const char *peer, void (*fn)(void *arg, const char *path, const struct stat *st),
    void *arg)
{
	char path[BLOB_PATH];
	char sub[BLOB_PATH + 80];
	struct dirent *e;
	DIR *d;

	if (peer != NULL) {
		if (blob_peer_ok(peer)) {
			snprintf(path, sizeof(path), "%s/partial/%s", b->dir, peer);
			blob_files(path, fn, arg);
		}
		return;
	}
	snprintf(path, sizeof(path), "%s/partial", b->dir);
	if ((d = opendir(path)) == NULL) {
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (blob_peer_ok(e->d_name)) {
			if (blob_join(sub, sizeof(sub), path, e->d_name)) {
				blob_files(sub, fn, arg);
			}
		}
	}
	closedir(d);
}

void
sto_blobs_partials(sto_blobs *b, const char *peer, uint64_t *bytes, uint64_t *count)
{
	blob_tally t = {0, 0, 0};

	blob_peers(b, peer, blob_tally_one, &t);
	*bytes = t.bytes;
	*count = t.count;
}

void
sto_blobs_expire_partials(sto_blobs *b, int64_t max_age_s, uint64_t *removed)
{
	char path[BLOB_PATH];
	blob_tally t = {0, 0, time(NULL) - (time_t)max_age_s};

	blob_peers(b, NULL, blob_expire_one, &t);
	/* An add interrupted by a crash leaves its copy in tmp/; an hour is plenty for any add. */
	snprintf(path, sizeof(path), "%s/tmp", b->dir);
	t.before = time(NULL) - 3600;
	blob_files(path, blob_expire_one, &t);
	if (removed != NULL) {
		*removed = t.count;
	}
}

/* ===== Mirroring (backups) ===== */

typedef struct blob_mirror {
	sto_blobs *src;    /* the store copied from */
	sto_blobs *dst;    /* the store copied into */
	uint64_t copied;   /* files added */
	uint64_t bytes;    /* their bytes */
} blob_mirror;

/* Copy src to dst.tmp, synced, then into place. */
static int
blob_copy_file(const char *src, const char *dst)
{
	char tmp[BLOB_PATH + 16];
	uint8_t *buf = com_malloc(BLOB_IO);
	uint64_t off = 0;
	int in = -1;
	int out = -1;
	int rv = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	if (buf == NULL || (in = open(src, O_RDONLY)) < 0 || (out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0) {
		goto out;
	}
	for (;;) {
		ssize_t r = pread(in, buf, BLOB_IO, (off_t)off);
		if (r < 0 && errno == EINTR) {
			continue;
		}
		if (r < 0) {
			goto out;
		}
		if (r == 0) {
			break;
		}
		if (blob_pwrite_all(out, buf, (size_t)r, off) != 0) {
			goto out;
		}
		off += (uint64_t)r;
	}
	if (fsync(out) != 0) {
		goto out;
	}
	close(out);
	out = -1;
	rv = rename(tmp, dst);
out:
	if (out >= 0) {
		close(out);
	}
	if (in >= 0) {
		close(in);
	}
	if (rv != 0) {
		unlink(tmp);
	}
	com_free(buf);
	return rv;
}

static int
blob_mirror_one(void *arg, const uint8_t sha[STO_SHA_LEN], uint64_t size)
{
	blob_mirror *m = arg;
	char from[BLOB_PATH];
	char to[BLOB_PATH];
	char dir[BLOB_PATH];

	if (sto_blobs_has(m->dst, sha, NULL)) {
		return OCOP_OK;
	}
	blob_object_path(m->src, sha, from, sizeof(from));
	blob_object_path(m->dst, sha, to, sizeof(to));
	blob_parent(to, dir, sizeof(dir));
	if (blob_mkdir(dir) != 0) {
		return blob_err(m->src, OCOP_EIO, "cannot create %s: %s", dir, strerror(errno));
	}
	/* An object never changes, so a hard link is as good as a copy and costs nothing. */
	if (link(from, to) != 0 && errno != EEXIST && blob_copy_file(from, to) != 0) {
		return blob_err(m->src, OCOP_EIO, "cannot copy %s to %s: %s", from, to, strerror(errno));
	}
	m->copied++;
	m->bytes += size;
	return OCOP_OK;
}

int
sto_blobs_mirror(sto_blobs *b, const char *dst_dir, uint64_t *copied, uint64_t *bytes)
{
	blob_mirror m;
	char dir[BLOB_PATH];
	int rv;

	memset(&m, 0, sizeof(m));
	m.src = b;
	if ((rv = sto_blobs_open(&m.dst, dst_dir)) != OCOP_OK) {
		return blob_err(b, rv, "cannot create the file store %s: %s", dst_dir, strerror(errno));
	}
	rv = sto_blobs_each(b, blob_mirror_one, &m);
	if (rv == OCOP_OK) {
		snprintf(dir, sizeof(dir), "%s/objects", dst_dir);
		blob_sync_dir(dir);
	}
	sto_blobs_close(m.dst);
	if (copied != NULL) {
		*copied = m.copied;
	}
	if (bytes != NULL) {
		*bytes = m.bytes;
	}
	return rv;
}

/* ===== Sizes ===== */

int
sto_blobs_parse_size(const char *s, uint64_t *out)
{
	char *end = NULL;
	unsigned long long n;
	unsigned shift = 0;

	if (s == NULL || s[0] < '0' || s[0] > '9') {
		return OCOP_EINVAL;
	}
	n = strtoull(s, &end, 10);
	if (end[0] == 'K' || end[0] == 'k') {
		shift = 10;
	} else if (end[0] == 'M' || end[0] == 'm') {
		shift = 20;
	} else if (end[0] == 'G' || end[0] == 'g') {
		shift = 30;
	} else if (end[0] != 0) {
		return OCOP_EINVAL;
	}
	if ((shift > 0 && end[1] != 0) || n > (UINT64_MAX >> shift)) {
		return OCOP_EINVAL;
	}
	*out = (uint64_t)n << shift;
	return OCOP_OK;
}
