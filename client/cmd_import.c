/*
 * cmd_import.c: `ocop import`: take in the reply bundle the server wrote for
 * this site's export (`ocopd import`): the server's high-water mark and
 * refusals, and the changes it had for this site. A damaged, truncated or
 * edited file, or one for another site, is refused before anything changes.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client/bundle.h"
#include "client/cli.h"
#include "client/cmdutil.h"
#include "client/files.h"
#include "client/progress.h"
#include "common/ocop/policy.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

#define IMPORT_MAX_FILE ((size_t)1 << 31) /* larger files are refused before reading */

static void
import_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocop import --in FILE [--json]\n"
	    "\nApply the reply bundle the server wrote ('ocopd import ... --reply FILE') for\n"
	    "this site's export: what the server now holds of this site, the changes it\n"
	    "refused (see 'ocop conflicts') and the changes it had for this site.\n"
	    "The reply must be authenticated with this site's key and answer one of its\n"
	    "exports; a damaged, truncated, edited or forged file, a reply for another\n"
	    "site, and a reply imported before (or older than one imported) are refused\n"
	    "(exit 2) and change nothing.\n");
}

/*
 * Read a whole file into a com_malloc'd block (caller frees with com_free).
 * Returns 0, an errno, or EFBIG for a file over IMPORT_MAX_FILE.
 */
static int
import_read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *p;
	int e;

	*out = NULL;
	*len = 0;
	if (f == NULL) {
		return errno;
	}
	if (fstat(fileno(f), &st) != 0) {
		e = errno;
		fclose(f);
		return e;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > IMPORT_MAX_FILE) {
		fclose(f);
		return S_ISREG(st.st_mode) ? EFBIG : EINVAL;
	}
	p = com_malloc((size_t)st.st_size + 1);
	if (p == NULL) {
		fclose(f);
		return ENOMEM;
	}
	if (fread(p, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		e = ferror(f) ? EIO : EAGAIN; /* EAGAIN: the file shrank while read */
		com_free(p);
		fclose(f);
		return e;
	}
	fclose(f);
	*out = p;
	*len = (size_t)st.st_size;
	return 0;
}

int
cmd_import(int argc, char **argv)
{
	static const struct option opts[] = {{"in", required_argument, NULL, 'i'},
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *in = NULL;
	int json = 0;
	ocp_policy *pol = NULL;
	cli_bundle_import_stats st;
	cli_bundle_files files;
	sto_blobs *b = NULL;
	char fsize[32];
	uint8_t *p = NULL;
	size_t len = 0;
	char err[700];
	cli_ctx c;
	int opt;
	int rv;
	int e;

	memset(&c, 0, sizeof(c));
	c.cmd = "import";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'i': in = optarg; break;
		case 'j': json = 1; break;
		case 'h': import_usage(stdout); return CLI_OK;
		default: return cli_bad_option(&c, opt, argv);
		}
	}
	if (in == NULL && optind < argc) {
		in = argv[optind++];
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if (in == NULL || in[0] == 0) {
		cli_err(&c, "needs --in FILE (the reply bundle from 'ocopd import')");
		return CLI_USAGE;
	}
	if ((e = import_read_file(in, &p, &len)) != 0) {
		cli_err(&c, "cannot read %s: %s", in, e == EFBIG ? "larger than 2 GiB" : strerror(e));
		return e == ENOENT || e == EINVAL || e == EFBIG ? CLI_USAGE : CLI_FAIL;
	}
	if ((rv = cli_open(&c, "import", false)) != OCOP_OK) {
		com_free(p);
		return cli_exit_code(rv);
	}
	if ((rv = ocp_policy_open(&pol, c.data_dir, false, err, sizeof(err))) != OCOP_OK) {
		cli_err(&c, "%s", err);
		goto out;
	}
	sto_set_policy(c.db, ocp_policy_store(pol));
	if ((rv = cli_files_open(c.db, &b, err, sizeof(err))) != OCOP_OK) {
		cli_err(&c, "%s", err);
		goto out;
	}
	memset(&files, 0, sizeof(files));
	files.b = b;
	files.pol = ocp_policy_store(pol);
	rv = cli_bundle_import(c.db, ocp_policy_store(pol), &files, p, len, &st, err, sizeof(err));
	if (rv != OCOP_OK) {
		cli_err(&c, "%s: %s", in, err);
		if (rv == OCOP_ECORRUPT || rv == OCOP_EPROTO || rv == OCOP_EVERSION || rv == OCOP_EINVAL ||
		    rv == OCOP_ESITE || rv == OCOP_ESTATE) {
			cli_err(&c, "nothing was imported");
		}
		goto out;
	}
	if (json) {
		cli_json_print(json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:I, s:I, s:I}", "file", in,
		    "server", st.server, "high_water", (json_int_t)st.sync.high_water, "rejected",
		    (json_int_t)st.sync.rejected, "pulled", (json_int_t)st.sync.pulled, "applied",
		    (json_int_t)st.sync.applied, "conflicts", (json_int_t)st.sync.conflicts, "cursor",
		    (json_int_t)st.sync.cursor, "cursor_moved", st.cursor_moved, "files", (json_int_t)st.files.files,
		    "file_bytes", (json_int_t)st.files.bytes, "chunks_refused", (json_int_t)st.files.chunks_refused));
	} else {
		printf("imported %s from server %s: the server holds this site's changes up to %" PRIu64
		       "; pulled %" PRIu64 " (%" PRIu64 " new, %" PRIu64 " conflicts); cursor %" PRIu64 "\n",
		    in, st.server, st.sync.high_water, st.sync.pulled, st.sync.applied, st.sync.conflicts,
		    st.sync.cursor);
		if (st.sync.rejected > 0) {
			printf("  %" PRIu64 " change(s) refused by the server: see 'ocop conflicts'\n",
			    st.sync.rejected);
		}
		if (st.files.files > 0 || st.files.chunks_refused > 0) {
			cli_progress_bytes(st.files.bytes, fsize, sizeof(fsize));
			printf("  %u evidence file(s) received (%s)%s\n", st.files.files, fsize,
			    st.files.chunks_refused > 0 ? "; damaged chunks were refused: those files follow later" : "");
		}
	}
out:
	sto_blobs_close(b);
	ocp_policy_free(pol);
	com_free(p);
	cli_close(&c);
	if (rv == OCOP_OK) {
		return CLI_OK;
	}
	return rv == OCOP_ECORRUPT || rv == OCOP_EPROTO || rv == OCOP_EVERSION || rv == OCOP_EINVAL ||
		   rv == OCOP_ESITE || rv == OCOP_ESTATE
	    ? CLI_USAGE
	    : CLI_FAIL;
}
