/*
 * secret.c: reading and writing secret files (see secret.h).
 */
#include "common/util/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/util/alloc.h"
#include "ocop_err.h"

int
com_secret_read(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	char *buf = NULL;
	size_t n = 0;
	int fd;
	int rv = OCOP_OK;

	*out = NULL;
	if (strcmp(path, "-") == 0) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return errno == ENOENT ? OCOP_ENOENT : OCOP_EIO;
		}
		if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
			snprintf(err, errlen, "%s: not a regular file", path);
			close(fd);
			return OCOP_EINPUT;
		}
		if ((sb.st_mode & 077) != 0) {
			snprintf(err, errlen, "%s holds a secret but others may read it (mode %04o): run 'chmod 600 %s'",
			    path, (unsigned)(sb.st_mode & 07777), path);
			close(fd);
			return OCOP_EINPUT;
		}
	}
	buf = com_malloc(COM_SECRET_MAX + 1);
	if (buf == NULL) {
		rv = OCOP_ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t got = read(fd, buf + n, COM_SECRET_MAX + 1 - n);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			rv = OCOP_EIO;
			goto out;
		}
		if (got == 0) {
			break;
		}
		n += (size_t)got;
		if (n > COM_SECRET_MAX) {
			snprintf(err, errlen, "%s: larger than %d bytes: not a secret file", path, COM_SECRET_MAX);
			rv = OCOP_EINPUT;
			goto out;
		}
	}
	if (memchr(buf, 0, n) != NULL) {
		snprintf(err, errlen, "%s: contains a NUL byte: not a text file", path);
		rv = OCOP_EINPUT;
		goto out;
	}
	buf[n] = 0;
	*out = buf;
	buf = NULL;
	if (len != NULL) {
		*len = n;
	}
out:
	if (buf != NULL) {
		memset(buf, 0, n);
		com_free(buf);
	}
	if (fd != STDIN_FILENO) {
		close(fd);
	}
	return rv;
}

static int
secret_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR) {
			continue;
		}
		if (n <= 0) {
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
com_secret_write(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
	char tmp[4096];
	int fd;

	if (strcmp(path, "-") == 0) {
		if (secret_write_all(STDOUT_FILENO, data, len) != 0) {
			snprintf(err, errlen, "cannot write to standard output: %s", strerror(errno));
			return OCOP_EIO;
		}
		return OCOP_OK;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "path too long: %s", path);
		return OCOP_EIO;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		return OCOP_EIO;
	}
	/* The mode given to open is filtered by the umask; make it exact. */
	if (fchmod(fd, 0600) != 0 || secret_write_all(fd, data, len) != 0 || fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return OCOP_EIO;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return OCOP_EIO;
	}
	return OCOP_OK;
}

int
com_secret_protect(const char *path)
{
	return chmod(path, 0600) == 0 ? OCOP_OK : OCOP_EIO;
}
