/*
 * cmd_export.c: `ocop export`: write this site's pending changes and a request
 * for the server's changes to a bundle file, to carry to the server on a USB
 * stick where there is no network (`ocopd import` there, `ocop import` of the
 * reply here). The database is only read.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client/bundle.h"
#include "client/cli.h"
#include "client/cmdutil.h"
#include "client/files.h"
#include "client/progress.h"
#include "common/ocop/policy.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

static void
export_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocop export --out FILE [--since-last | --all] [--files-max SIZE] [--json]\n"
	    "\nWrite this site's changes that the server does not hold yet, and a request\n"
	    "for what changed at the server, to FILE (a sync bundle). Carry it to the\n"
	    "server, run 'ocopd import --db DB --in FILE --reply REPLY' there, bring\n"
	    "REPLY back and run 'ocop import --in REPLY' here.\n"
	    "  --since-last  changes above the last high-water mark the server reported\n"
	    "                (the default)\n"
	    "  --all         every change of this site (when the server lost some)\n"
	    "  --files-max SIZE  evidence files to carry at most, in bytes or with K, M\n"
	    "                or G (default 256M; 0: none): whole files the server is not\n"
	    "                known to hold; the rest follow with the next bundle or sync\n"
	    "The file is numbered and authenticated with this site's key (from its\n"
	    "credential, which never goes into the file), its evidence files included:\n"
	    "the server refuses a file that was changed, forged or imported before.\n");
}

/* Now, in Unix milliseconds. */
static uint64_t
export_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * Write p to path through a temporary file renamed into place, so a
 * half-written bundle never carries the final name. Returns 0 or an errno.
 */
static int
export_write_file(const char *path, const uint8_t *p, size_t len)
{
	char tmp[4096];
	size_t done = 0;
	int fd;
	int e = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		return ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		return errno;
	}
	while (done < len && e == 0) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno != EINTR) {
			e = errno;
		} else if (n > 0) {
			done += (size_t)n;
		}
	}
	if (e == 0 && fsync(fd) != 0) {
		e = errno;
	}
	if (close(fd) != 0 && e == 0) {
		e = errno;
	}
	if (e == 0 && rename(tmp, path) != 0) {
		e = errno;
	}
	if (e != 0) {
		unlink(tmp);
	}
	return e;
}

int
cmd_export(int argc, char **argv)
{
	static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
	    {"since-last", no_argument, NULL, 's'}, {"all", no_argument, NULL, 'a'},
	    {"credential", required_argument, NULL, 'c'}, {"files-max", required_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *out = NULL;
	char *cred = NULL;
	int all = 0;
	int since = 0;
	int json = 0;
	cli_bundle_export_stats st;
	cli_bundle_files files;
	sto_blobs *b = NULL;
	uint64_t files_max = CLI_BUNDLE_FILES_DEFAULT;
	char fsize[32];
	com_buf buf;
	char err[512];
	cli_ctx c;
	int opt;
	int rv;
	int e;

	memset(&c, 0, sizeof(c));
	c.cmd = "export";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 's': since = 1; break;
		case 'a': all = 1; break;
		case 'c':
			cli_err(&c, "secrets are not taken on the command line: the bundle is authenticated with the "
				    "credential 'ocop enrol' saved");
			return CLI_USAGE;
		case 'f':
			if (sto_blobs_parse_size(optarg, &files_max) != OCOP_OK) {
				cli_err(&c, "--files-max takes a size like 500M or 2G, not '%s'", optarg);
				return CLI_USAGE;
			}
			break;
		case 'j': json = 1; break;
		case 'h': export_usage(stdout); return CLI_OK;
		default: return cli_bad_option(&c, opt, argv);
		}
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (out == NULL || out[0] == 0) {
		cli_err(&c, "needs --out FILE");
		return CLI_USAGE;
	}
	if (all && since) {
		cli_err(&c, "--all and --since-last exclude each other");
		return CLI_USAGE;
	}
	if ((rv = cli_open(&c, "export", false)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	if (sto_meta_get(c.db, "credential", &cred) != OCOP_OK) {
		cred = NULL;
	}
	if (cred == NULL || cred[0] == 0) {
		cli_err(&c, "no credential for the server: run 'ocop enrol --file FILE' with the enrolment file "
			    "'ocopd site add' wrote");
		com_free(cred);
		cli_close(&c);
		return CLI_USAGE;
	}
	com_buf_init(&buf);
	if ((rv = cli_files_open(c.db, &b, err, sizeof(err))) == OCOP_OK) {
		files.b = b;
		files.pol = ocp_policy_store(c.pol);
		files.budget = files_max;
		rv = cli_bundle_export(c.db, cred, all != 0, export_now_ms(), &files, &buf, &st, err, sizeof(err));
	}
	if (rv != OCOP_OK) {
		cli_err(&c, "%s", err);
		rv = cli_exit_code(rv);
	} else if ((e = export_write_file(out, buf.data, buf.len)) != 0) {
		cli_err(&c, "cannot write %s: %s", out, strerror(e));
		rv = CLI_FAIL;
	} else if (json) {
		cli_json_print(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "file", out,
		    "site_id", sto_site_id(c.db), "bundle", (json_int_t)st.seq, "bytes", (json_int_t)buf.len, "changes",
		    (json_int_t)st.changes,
		    "batches", (json_int_t)st.batches, "first_seq", (json_int_t)st.first_seq, "last_seq",
		    (json_int_t)st.last_seq, "pull_cursor", (json_int_t)st.cursor, "files", (json_int_t)st.files.files,
		    "file_bytes", (json_int_t)st.files.bytes, "files_left", (json_int_t)st.files.left));
	} else {
		if (st.changes > 0) {
			printf("wrote %s: %" PRIu64 " change(s) of this site (%" PRIu64 " to %" PRIu64
			       ") in %u batch(es), and a request for the server's changes after cursor %" PRIu64 "\n",
			    out, st.changes, st.first_seq, st.last_seq, st.batches, st.cursor);
		} else {
			printf("wrote %s: no pending changes; a request for the server's changes after "
			       "cursor %" PRIu64 "\n",
			    out, st.cursor);
		}
		if (st.files.files > 0 || st.files.left > 0) {
			cli_progress_bytes(st.files.bytes, fsize, sizeof(fsize));
			printf("  and %u evidence file(s) (%s)%s\n", st.files.files, fsize,
			    st.files.left > 0 ? "; more wait for the next bundle or sync (--files-max)" : "");
		}
		printf("At the server: ocopd import --db SERVER.db --in %s --reply REPLY\n"
		       "Back here:     ocop import --in REPLY\n",
		    out);
	}
	com_buf_fini(&buf);
	if (cred != NULL) {
		memset(cred, 0, strlen(cred));
	}
	com_free(cred);
	sto_blobs_close(b);
	cli_close(&c);
	return rv;
}
