/*
 * cmd_backup.c: `ocopd backup` and `ocopd restore`: a consistent copy of the
 * server's database taken while it serves (common/store/backup.c), and
 * putting such a copy in place of the database, with the checks that keep a
 * restore from destroying anything: the copy must be sound, the server must
 * be stopped, and a database that is replaced is kept beside it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>
#include <unistd.h>

#include "common/store/backup.h"
#include "common/store/blob.h"
#include "ocop_err.h"
#include "server/cmd.h"

static const char backup_usage[] =
    "usage: ocopd backup --out FILE (--db PATH | --config FILE) [--json]\n"
    "\n"
    "Write a consistent copy of the server's database to FILE while the server\n"
    "keeps serving (SQLite's online backup: one point in time, whatever the sites\n"
    "write meanwhile). The copy is checked (integrity_check) before it gets its\n"
    "name, and is a single file: keep it off the machine. Put it back with\n"
    "'ocopd restore'. The evidence files go beside it, in FILE.files/ (hard links\n"
    "to the server's files where the disk allows: a file never changes once\n"
    "stored, so a link is as good as a copy and costs no space); copy FILE and\n"
    "FILE.files/ off the machine together (cp -a or rsync copy the bytes).\n";

static const char restore_usage[] =
    "usage: ocopd restore --in BACKUP (--db PATH | --config FILE) [--force] [--json]\n"
    "\n"
    "Put a backup made by 'ocopd backup' in place of the server's database. Stop\n"
    "the server first (systemctl stop ocopd): a database in use is refused. The\n"
    "backup is checked before anything changes. An existing database is only\n"
    "replaced with --force, and is then kept as PATH.before-restore (with its\n"
    "-wal). The evidence files in BACKUP.files/ are added to the server's (those\n"
    "it holds stay). After the restore the sites' next syncs send again what the\n"
    "backup lacks, rows and files, and receive everything new; nothing else is\n"
    "needed on the sites.\n";

static void
info_print(const char *what, const char *path, const sto_backup_info *in, bool json)
{
	if (json) {
		srv_cmd_json_print(json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", what, path, "site_id", in->site, "role",
		    in->role, "log_head", (json_int_t)in->log_head, "pages", (json_int_t)in->pages, "bytes",
		    (json_int_t)in->bytes));
	} else {
		printf("%s %s: %s server %s, log up to %llu, %llu bytes\n", what, path, in->role, in->site,
		    (unsigned long long)in->log_head, (unsigned long long)in->bytes);
	}
}

/* The server's evidence files: files_dir of the config, else beside the database at db_path. */
static void
files_dir_of(const srv_config *cfg, const char *db_path, char *out, size_t cap)
{
	if (cfg->files_dir[0] != 0) {
		snprintf(out, cap, "%s", cfg->files_dir);
	} else {
		snprintf(out, cap, "%s.files", db_path);
	}
}

/*
 * Mirror the evidence files of store dir `from` into `to` (hard links, or
 * copies across disks). A store that is not there has nothing to give.
 * Returns OCOP_OK or OCOP_EIO (printed).
 */
static int
files_mirror(const char *what, const char *from, const char *to, uint64_t *n, uint64_t *bytes)
{
	struct stat st;
	sto_blobs *b = NULL;
	int rv;

	*n = 0;
	*bytes = 0;
	if (stat(from, &st) != 0) {
		return OCOP_OK;
	}
	if ((rv = sto_blobs_open(&b, from)) != OCOP_OK) {
		fprintf(stderr, "ocopd %s: cannot open the evidence files in %s\n", what, from);
		return rv;
	}
	if ((rv = sto_blobs_mirror(b, to, n, bytes)) != OCOP_OK) {
		fprintf(stderr, "ocopd %s: evidence files: %s\n", what, sto_blobs_errmsg(b));
	}
	sto_blobs_close(b);
	return rv;
}

/* The database path from --db or the config's db. NULL (printed) when neither. */
static const char *
db_path(const srv_opts *o, srv_config *cfg, const char *what)
{
	if (srv_cmd_config(cfg, o->config, what) != OCOP_OK) {
		return NULL;
	}
	if (o->db == NULL && o->config == NULL) {
		fprintf(stderr, "ocopd %s: needs --db PATH (or --config FILE)\n", what);
		return NULL;
	}
	return o->db != NULL ? o->db : cfg->db;
}

int
srv_cmd_backup(int argc, char **argv)
{
	srv_opts o;
	srv_config cfg;
	sto_backup_info info;
	sto_db *db = NULL;
	const char *path;
	char from[1100];
	char to[1100];
	uint64_t nfiles = 0;
	uint64_t nbytes = 0;
	int rv;

	rv = srv_opts_parse(&o, argc, argv, SRV_OPT_DB | SRV_OPT_CONFIG | SRV_OPT_OUT | SRV_OPT_JSON, "backup",
	    backup_usage);
	if (rv != SRV_CMD_OK) {
		return rv == SRV_CMD_HELP ? SRV_CMD_OK : rv;
	}
	if ((path = db_path(&o, &cfg, "backup")) == NULL) {
		return SRV_CMD_USAGE;
	}
	if (o.out == NULL) {
		fprintf(stderr, "ocopd backup: needs --out FILE\n");
		return SRV_CMD_USAGE;
	}
	if (strcmp(o.out, path) == 0) {
		fprintf(stderr, "ocopd backup: --out must not be the database itself\n");
		return SRV_CMD_USAGE;
	}
	if (srv_cmd_open_db(path, false, &db) != OCOP_OK) {
		return SRV_CMD_FAIL;
	}
	if ((rv = sto_backup(db, o.out, &info)) != OCOP_OK) {
		fprintf(stderr, "ocopd backup: %s\n", sto_errmsg(db));
		sto_close(db);
		return SRV_CMD_FAIL;
	}
	sto_close(db);
	/* After the database: every file its documents name was stored before it was named. */
	files_dir_of(&cfg, path, from, sizeof(from));
	snprintf(to, sizeof(to), "%s.files", o.out);
	if (files_mirror("backup", from, to, &nfiles, &nbytes) != OCOP_OK) {
		return SRV_CMD_FAIL;
	}
	info_print("backup", o.out, &info, o.json);
	if (!o.json) {
		printf("evidence files in %s: %llu added (%llu bytes)\n", to, (unsigned long long)nfiles,
		    (unsigned long long)nbytes);
	}
	return SRV_CMD_OK;
}

/* ===== restore ===== */

/*
 * Whether another process has the database open: SQLite's unix VFS holds a
 * shared lock on the "DMS" byte (offset 128) of the -shm file for as long as
 * a connection to a WAL database is open.
 */
static bool
restore_in_use(const char *path)
{
	char shm[1100];
	struct flock fl;
	bool used = false;
	int fd;

	snprintf(shm, sizeof(shm), "%s-shm", path);
	if ((fd = open(shm, O_RDWR)) < 0) {
		return false;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = 128;
	fl.l_len = 1;
	if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK) {
		used = true;
	}
	close(fd);
	return used;
}

/* Copy src to dst (created, synced). 0 or an errno. */
static int
restore_copy(const char *src, const char *dst)
{
	char buf[65536];
	int in = open(src, O_RDONLY);
	int out;
	ssize_t n;
	int e = 0;

	if (in < 0) {
		return errno;
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0640);
	if (out < 0) {
		e = errno;
		close(in);
		return e;
	}
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)n) != n) {
			e = errno ? errno : EIO;
			break;
		}
	}
	if (n < 0) {
		e = errno;
	}
	if (e == 0 && fsync(out) != 0) {
		e = errno;
	}
	close(in);
	if (close(out) != 0 && e == 0) {
		e = errno;
	}
	if (e != 0) {
		remove(dst);
	}
	return e;
}

int
srv_cmd_restore(int argc, char **argv)
{
	srv_opts o;
	srv_config cfg;
	sto_backup_info info;
	struct stat st;
	char why[512];
	char tmp[1100];
	char aside[1100];
	char side[1100];
	char from[1100];
	char to[1100];
	uint64_t nfiles = 0;
	uint64_t nbytes = 0;
	const char *path;
	sto_db *db = NULL;
	int e;
	int rv;

	rv = srv_opts_parse(&o, argc, argv, SRV_OPT_DB | SRV_OPT_CONFIG | SRV_OPT_IN | SRV_OPT_FORCE | SRV_OPT_JSON,
	    "restore", restore_usage);
	if (rv != SRV_CMD_OK) {
		return rv == SRV_CMD_HELP ? SRV_CMD_OK : rv;
	}
	if ((path = db_path(&o, &cfg, "restore")) == NULL) {
		return SRV_CMD_USAGE;
	}
	if (o.in == NULL) {
		fprintf(stderr, "ocopd restore: needs --in BACKUP\n");
		return SRV_CMD_USAGE;
	}
	/* 1. The backup, whole, before anything changes. */
	if ((rv = sto_backup_verify(o.in, &info, why, sizeof(why))) != OCOP_OK) {
		fprintf(stderr, "ocopd restore: %s: %s\nocopd restore: nothing was changed\n", o.in, why);
		return SRV_CMD_USAGE;
	}
	if (!srv_cmd_valid_role(info.role, true)) {
		fprintf(stderr, "ocopd restore: %s is a %s site's replica, not a server's; nothing was changed\n", o.in,
		    info.role);
		return SRV_CMD_USAGE;
	}
	/* 2. The place: not in use, and not overwritten without --force. */
	if (restore_in_use(path)) {
		fprintf(stderr, "ocopd restore: %s is in use (is ocopd running? systemctl stop ocopd); nothing was"
				" changed\n",
		    path);
		return SRV_CMD_FAIL;
	}
	if (stat(path, &st) == 0 && !o.force) {
		fprintf(stderr, "ocopd restore: %s exists; add --force to replace it (it is kept as"
				" %s.before-restore); nothing was changed\n",
		    path, path);
		return SRV_CMD_USAGE;
	}
	snprintf(tmp, sizeof(tmp), "%s.restore-tmp", path);
	if ((e = restore_copy(o.in, tmp)) != 0) {
		fprintf(stderr, "ocopd restore: cannot write %s: %s; nothing was changed\n", tmp, strerror(e));
		return SRV_CMD_FAIL;
	}
	/* 3. Keep what is replaced (a killed server's -wal may hold its last writes), then swap. */
	if (stat(path, &st) == 0) {
		snprintf(aside, sizeof(aside), "%s.before-restore", path);
		snprintf(side, sizeof(side), "%s-wal", path);
		if (rename(path, aside) != 0) {
			fprintf(stderr, "ocopd restore: cannot move %s aside: %s; nothing was changed\n", path,
			    strerror(errno));
			remove(tmp);
			return SRV_CMD_FAIL;
		}
		if (stat(side, &st) == 0) {
			snprintf(aside, sizeof(aside), "%s.before-restore-wal", path);
			rename(side, aside);
		}
	}
	/* A stale -wal or -shm must never be applied to the restored file. */
	snprintf(side, sizeof(side), "%s-wal", path);
	remove(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	remove(side);
	if (rename(tmp, path) != 0) {
		fprintf(stderr, "ocopd restore: cannot put the backup at %s: %s\n", path, strerror(errno));
		remove(tmp);
		return SRV_CMD_FAIL;
	}
	/* 4. It opens as a server's database. */
	if (srv_cmd_open_db(path, false, &db) != OCOP_OK) {
		return SRV_CMD_FAIL;
	}
	sto_close(db);
	/* 5. The evidence files beside the backup join the server's. */
	snprintf(from, sizeof(from), "%s.files", o.in);
	files_dir_of(&cfg, path, to, sizeof(to));
	if (files_mirror("restore", from, to, &nfiles, &nbytes) != OCOP_OK) {
		return SRV_CMD_FAIL;
	}
	info_print("restored", path, &info, o.json);
	if (!o.json) {
		printf("evidence files: %llu restored into %s (%llu bytes)\n", (unsigned long long)nfiles, to,
		    (unsigned long long)nbytes);
	}
	if (!o.json) {
		printf("start the server (systemctl start ocopd); each site's next sync sends again what the backup"
		       " lacks\n");
	}
	return SRV_CMD_OK;
}
