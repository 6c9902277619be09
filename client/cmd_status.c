/*
 * cmd_status.c: `ocop status`: this site's identity and sync state: changes
 * not yet acknowledged by the server, the last successful sync, the last
 * failure and why, the server's high-water mark and this site's cursor.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "client/files.h"
#include "client/progress.h"
#include "client/sync.h"
#include "common/ocop/policy.h"
#include "common/store/ledger.h"
#include "common/store/merge.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

static void
status_usage(FILE *out)
{
	fprintf(out, "usage: ocop status [--json]\n"
		     "\nShow this site's identity, pending changes, last sync and last error.\n");
}

/* A meta value as a string owned by the caller ("" when absent). */
static char *
status_meta(sto_db *db, const char *key)
{
	char *v = NULL;

	if (sto_meta_get(db, key, &v) != OCOP_OK) {
		v = com_strdup("");
	}
	return v;
}

int
cmd_status(int argc, char **argv)
{
	static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	static const char *const keys[] = {"server_url", "last_sync", "last_attempt", "last_error",
	    "push_high_water", "pull_cursor", "server_site", "file_refusal"};
	char *vals[sizeof(keys) / sizeof(keys[0])];
	uint64_t pending = 0;
	sto_files_count fin = {0, 0};
	sto_files_count fout = {0, 0};
	sto_blobs *b = NULL;
	char ferr[256];
	char in_b[32];
	char out_b[32];
	sto_ledger_stats ls;
	long long open_conflicts;
	long long refused;
	int json = 0;
	cli_ctx c;
	size_t i;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = "status";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'j': json = 1; break;
		case 'h': status_usage(stdout); return CLI_OK;
		default: return cli_bad_option(&c, opt, argv);
		}
	}
	if ((rv = cli_open(&c, "status", false)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	cli_sync_pending(c.db, &pending);
	if (cli_files_open(c.db, &b, ferr, sizeof(ferr)) == OCOP_OK) {
		cli_files_pending(c.db, ocp_policy_store(c.pol), b, &fin, &fout);
		sto_blobs_close(b);
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		vals[i] = status_meta(c.db, keys[i]);
	}
	sto_ledger_counts(c.db, sto_site_id(c.db), &ls);
	open_conflicts = (long long)ls.open;
	refused = (long long)ls.refused_changes;
	if (json) {
		cli_json_print(json_pack("{s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:{s:I, s:I, s:I, s:I, "
					 "s:s}}",
		    "site_id", sto_site_id(c.db), "role", sto_role(c.db), "scope", sto_scope(c.db), "server",
		    vals[0], "pending_changes", (json_int_t)pending, "last_sync", vals[1], "last_attempt",
		    vals[2], "last_error", vals[3], "server_high_water", (json_int_t)strtoll(vals[4], NULL, 10),
		    "pull_cursor", (json_int_t)strtoll(vals[5], NULL, 10), "open_conflicts",
		    (json_int_t)open_conflicts, "refused_changes", (json_int_t)refused, "files", "to_send",
		    (json_int_t)fout.files, "bytes_to_send", (json_int_t)fout.bytes, "to_receive", (json_int_t)fin.files,
		    "bytes_to_receive", (json_int_t)fin.bytes, "last_refusal", vals[7]));
	} else {
		printf("site            %s (%s, scope %s)\n", sto_site_id(c.db), sto_role(c.db), sto_scope(c.db));
		printf("server          %s\n", vals[0][0] ? vals[0] : "(none)");
		printf("pending changes %" PRIu64 "\n", pending);
		printf("last sync       %s\n", vals[1][0] ? vals[1] : "never");
		printf("last attempt    %s\n", vals[2][0] ? vals[2] : "never");
		printf("last error      %s\n", vals[3][0] ? vals[3] : "none");
		printf("server holds    up to change %s of this site\n", vals[4][0] ? vals[4] : "0");
		printf("pull cursor     %s\n", vals[5][0] ? vals[5] : "0");
		printf("conflicts       %lld open (%lld of this site's changes refused)\n", open_conflicts, refused);
		cli_progress_bytes(fout.bytes, out_b, sizeof(out_b));
		cli_progress_bytes(fin.bytes, in_b, sizeof(in_b));
		printf("files to send   %" PRIu64 " (%s)\n", fout.files, out_b);
		printf("files to fetch  %" PRIu64 " (%s)\n", fin.files, in_b);
		if (vals[7][0]) {
			printf("file refused    %s\n", vals[7]);
		}
	}
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		com_free(vals[i]);
	}
	cli_close(&c);
	return CLI_OK;
}
