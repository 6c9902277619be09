/*
 * cmd_sync.c: `ocop remote` (where the server is, and this site's credential)
 * and `ocop sync` (one session, or --watch: keep syncing, backing off with
 * jitter while the server is away).
 */
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "client/files.h"
#include "client/progress.h"
#include "client/sync.h"
#include "client/transport.h"
#include "common/ocop/policy.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

static volatile sig_atomic_t sync_stop = 0;

static void
sync_on_signal(int sig)
{
	(void)sig;
	sync_stop = 1;
}

static void
remote_usage(FILE *out)
{
	fprintf(out, "usage: ocop remote [--server URL] [--credential SECRET] [--json]\n"
		     "\nRecord where this site's server is and its credential (given by\n"
		     "'ocopd site add' at the server). Without options, show them.\n");
}

int
cmd_remote(int argc, char **argv)
{
	static const struct option opts[] = {{"server", required_argument, NULL, 's'},
	    {"credential", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *server = NULL;
	const char *cred = NULL;
	char *v = NULL;
	int json = 0;
	cli_ctx c;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = "remote";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': server = optarg; break;
		case 'c': cred = optarg; break;
		case 'j': json = 1; break;
		case 'h': remote_usage(stdout); return CLI_OK;
		default: return cli_bad_option(&c, opt, argv);
		}
	}
	if (server != NULL && strncmp(server, "tcp://", 6) != 0 && strncmp(server, "tls+tcp://", 10) != 0 &&
	    strncmp(server, "ipc://", 6) != 0) {
		cli_err(&c, "--server must be an nng URL like tcp://127.0.0.1:7450, not '%s'", server);
		return CLI_USAGE;
	}
	if ((rv = cli_open(&c, "remote", false)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	if ((server && (rv = sto_meta_set(c.db, "server_url", server)) != OCOP_OK) ||
	    (cred && (rv = sto_meta_set(c.db, "credential", cred)) != OCOP_OK)) {
		cli_err(&c, "cannot save: %s", sto_errmsg(c.db));
		cli_close(&c);
		return CLI_FAIL;
	}
	if (server == NULL && cred == NULL) {
		char *k = NULL;
		bool have_cred;
		sto_meta_get(c.db, "server_url", &v);
		have_cred = sto_meta_get(c.db, "credential", &k) == OCOP_OK && k[0] != 0;
		com_free(k);
		if (json) {
			cli_json_print(json_pack("{s:s, s:b}", "server", v ? v : "", "credential_set", have_cred));
		} else {
			printf("server %s\n", v ? v : "(none: run 'ocop remote --server URL --credential SECRET')");
		}
		com_free(v);
	}
	cli_close(&c);
	return CLI_OK;
}

static void
sync_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocop sync [--server URL] [--credential SECRET] [--timeout SECONDS]\n"
	    "                 [--watch [--interval SECONDS] [--max-backoff SECONDS] [--until-synced]]\n"
	    "                 [--no-files] [--json]\n"
	    "\nPush this site's changes to its server and pull what changed in its scope.\n"
	    "Then the evidence files: send those the server lacks, fetch those this site's\n"
	    "documents name and it lacks (--no-files: rows only). On a terminal a progress\n"
	    "line shows a transfer that takes more than a couple of seconds.\n"
	    "A broken link is harmless: the next sync continues where this one stopped,\n"
	    "files included (from the last chunk the other side holds).\n"
	    "With --watch, keep syncing every --interval seconds (default 30); while the\n"
	    "server is away, retry with exponential backoff and jitter up to --max-backoff\n"
	    "(default 300). --until-synced stops after the first successful session.\n"
	    "Exit: 0 synced; 1 the server could not be reached or refused (see 'ocop status').\n");
}

#define SYNC_FILE_SLICE_MS 20000 /* --watch: files move at most this long before the rows' next turn */

static int64_t
sync_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The file phase after a successful session (client/files.h), with a progress line on a terminal. */
static int
sync_files(cli_ctx *c, ocp_policy *pol, const cli_transport *tr, const char *cred, int64_t slice_ms,
    sto_xfer_stats *st, char *err, size_t errlen)
{
	cli_files_opts fo;
	cli_progress pr;
	sto_blobs *b = NULL;
	int rv;

	if ((rv = cli_files_open(c->db, &b, err, errlen)) != OCOP_OK) {
		return rv;
	}
	memset(&fo, 0, sizeof(fo));
	fo.credential = cred ? cred : "";
	fo.send = true;
	fo.fetch = true;
	fo.deadline_ms = slice_ms > 0 ? sync_mono_ms() + slice_ms : 0;
	cli_progress_init(&pr, stderr, "ocop sync: files");
	fo.progress = cli_progress_update;
	fo.progress_arg = &pr;
	rv = cli_files_sync(c->db, ocp_policy_store(pol), b, tr, &fo, st, err, errlen);
	cli_progress_end(&pr);
	if (rv != OCOP_OK && errlen > 16) {
		/* The rows synced; the files continue from here next time. Say which part failed. */
		static const char pre[] = "files: ";
		size_t n = strnlen(err, errlen - 1);
		if (n + sizeof(pre) > errlen) {
			n = errlen - sizeof(pre);
		}
		memmove(err + sizeof(pre) - 1, err, n);
		memcpy(err, pre, sizeof(pre) - 1);
		err[sizeof(pre) - 1 + n] = 0;
	}
	sto_blobs_close(b);
	return rv;
}

static json_t *
sync_files_json(const sto_xfer_stats *st, int no_files)
{
	return json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b}", "skipped", no_files != 0, "sent",
	    (json_int_t)st->files_sent, "bytes_sent", (json_int_t)st->bytes_sent, "received",
	    (json_int_t)st->files_fetched, "bytes_received", (json_int_t)st->bytes_fetched, "chunks_refused",
	    (json_int_t)st->chunks_refused, "refused", (json_int_t)st->files_refused, "waiting",
	    (json_int_t)st->files_waiting, "more", st->stopped, "server_without_files", st->unsupported);
}

static void
sync_files_print(const sto_xfer_stats *st)
{
	char up[32];
	char down[32];

	if (st->unsupported) {
		printf("  files: the server does not take evidence files (an older ocopd): they stay here\n");
		return;
	}
	if (st->files_sent + st->files_fetched + st->files_refused + st->files_waiting + st->chunks_refused == 0 &&
	    st->bytes_sent + st->bytes_fetched == 0) {
		return;
	}
	cli_progress_bytes(st->bytes_sent, up, sizeof(up));
	cli_progress_bytes(st->bytes_fetched, down, sizeof(down));
	printf("  files: sent %u (%s), received %u (%s)", st->files_sent, up, st->files_fetched, down);
	if (st->chunks_refused > 0) {
		printf(", %u damaged chunk(s) refused and sent again", st->chunks_refused);
	}
	if (st->files_waiting > 0) {
		printf(", %u not at the server yet", st->files_waiting);
	}
	if (st->files_refused > 0) {
		printf(", %u refused (see 'ocop status')", st->files_refused);
	}
	printf("%s\n", st->stopped ? ", more to come" : "");
}

/* Sleep up to ms, waking early when a stop signal arrives. */
static void
sync_sleep_ms(long ms)
{
	while (ms > 0 && !sync_stop) {
		long step = ms > 100 ? 100 : ms;
		struct timespec ts = {0, step * 1000000L};
		nanosleep(&ts, NULL);
		ms -= step;
	}
}

int
cmd_sync(int argc, char **argv)
{
	static const struct option opts[] = {{"server", required_argument, NULL, 's'},
	    {"credential", required_argument, NULL, 'c'}, {"timeout", required_argument, NULL, 't'},
	    {"watch", no_argument, NULL, 'w'}, {"interval", required_argument, NULL, 'i'},
	    {"max-backoff", required_argument, NULL, 'b'}, {"until-synced", no_argument, NULL, 'u'},
	    {"no-files", no_argument, NULL, 'n'}, {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	char *server = NULL;
	char *cred = NULL;
	const char *server_opt = NULL;
	const char *cred_opt = NULL;
	double timeout_s = 10;
	double interval_s = 30;
	double max_backoff_s = 300;
	int watch = 0;
	int until = 0;
	int json = 0;
	int no_files = 0;
	int failures = 0;
	unsigned jitter_seed;
	ocp_policy *pol = NULL;
	cli_sync_opts so;
	cli_sync_stats st;
	sto_xfer_stats fst;
	char err[700];
	cli_ctx c;
	int opt;
	int rv = OCOP_OK;

	memset(&c, 0, sizeof(c));
	c.cmd = "sync";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': server_opt = optarg; break;
		case 'c': cred_opt = optarg; break;
		case 't': timeout_s = atof(optarg); break;
		case 'w': watch = 1; break;
		case 'i': interval_s = atof(optarg); break;
		case 'b': max_backoff_s = atof(optarg); break;
		case 'u': until = 1; break;
		case 'n': no_files = 1; break;
		case 'j': json = 1; break;
		case 'h': sync_usage(stdout); return CLI_OK;
		default: return cli_bad_option(&c, opt, argv);
		}
	}
	if (timeout_s <= 0 || interval_s <= 0 || max_backoff_s <= 0) {
		cli_err(&c, "--timeout, --interval and --max-backoff take positive numbers of seconds");
		return CLI_USAGE;
	}
	if ((rv = cli_open(&c, "sync", false)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	if (server_opt) {
		server = com_strdup(server_opt);
	} else {
		sto_meta_get(c.db, "server_url", &server);
	}
	if (cred_opt) {
		cred = com_strdup(cred_opt);
	} else {
		sto_meta_get(c.db, "credential", &cred);
	}
	if (server == NULL || server[0] == 0) {
		cli_err(&c, "no server known: run 'ocop remote --server URL --credential SECRET'");
		rv = OCOP_EINVAL;
		goto out;
	}
	if ((rv = ocp_policy_open(&pol, c.data_dir, false, err, sizeof(err))) != OCOP_OK) {
		cli_err(&c, "%s", err);
		goto out;
	}
	sto_set_policy(c.db, ocp_policy_store(pol));
	signal(SIGTERM, sync_on_signal);
	signal(SIGINT, sync_on_signal);
	jitter_seed = (unsigned)time(NULL) ^ (unsigned)strlen(sto_site_id(c.db)) * 2654435761u;
	memset(&so, 0, sizeof(so));
	so.credential = cred ? cred : "";
	do {
		cli_nng t;
		cli_transport tr;

		rv = cli_nng_open(&t, server, (int)(timeout_s * 1000));
		if (rv != OCOP_OK) {
			cli_err(&c, "cannot use server URL %s: %s", server, ocop_strerror(rv));
			rv = OCOP_EINVAL;
			break;
		}
		tr = cli_nng_transport(&t);
		rv = cli_sync_once(c.db, ocp_policy_store(pol), &tr, &so, &st, err, sizeof(err));
		memset(&fst, 0, sizeof(fst));
		if (rv == OCOP_OK && !no_files) {
			/* The rows are in; now the files, which may take long: in --watch a
			 * slice at a time, so new rows never wait behind a large file. */
			rv = sync_files(&c, pol, &tr, cred, watch ? SYNC_FILE_SLICE_MS : 0, &fst, err, sizeof(err));
		}
		cli_nng_close(&t);
		if (rv == OCOP_OK) {
			failures = 0;
			if (json) {
				cli_json_print(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "pushed",
				    (json_int_t)st.pushed, "rejected", (json_int_t)st.rejected, "pulled",
				    (json_int_t)st.pulled, "applied", (json_int_t)st.applied, "conflicts",
				    (json_int_t)st.conflicts, "high_water", (json_int_t)st.high_water, "cursor",
				    (json_int_t)st.cursor, "files", sync_files_json(&fst, no_files)));
			} else {
				printf("synced with %s: pushed %" PRIu64 " (rejected %" PRIu64 "), pulled %" PRIu64
				       " (%" PRIu64 " new, %" PRIu64 " conflicts)\n",
				    server, st.pushed, st.rejected, st.pulled, st.applied, st.conflicts);
				if (st.rejected > 0) {
					printf("  %" PRIu64 " change(s) refused by the server: see 'ocop conflicts'\n",
					    st.rejected);
				}
				if (!no_files) {
					sync_files_print(&fst);
				}
			}
			fflush(stdout);
			if (fst.stopped && watch) {
				continue; /* more files to move: no pause */
			}
			if (watch && !until) {
				sync_sleep_ms((long)(interval_s * 1000));
			}
		} else {
			long backoff_ms;
			double base = interval_s < 1 ? interval_s : 1;
			failures++;
			cli_err(&c, "%s", err[0] ? err : ocop_strerror(rv));
			if (!watch) {
				break;
			}
			/* Exponential backoff with full jitter, capped. */
			backoff_ms = (long)(base * 1000.0 * (double)(1L << (failures < 16 ? failures : 16)));
			if (backoff_ms > (long)(max_backoff_s * 1000)) {
				backoff_ms = (long)(max_backoff_s * 1000);
			}
			backoff_ms = backoff_ms / 2 + (long)((unsigned long)rand_r(&jitter_seed) % (unsigned long)(backoff_ms / 2 + 1));
			fprintf(stderr, "ocop sync: retrying in %.1f s\n", (double)backoff_ms / 1000.0);
			sync_sleep_ms(backoff_ms);
		}
	} while (watch && !sync_stop && !(until && rv == OCOP_OK));
out:
	ocp_policy_free(pol);
	com_free(server);
	com_free(cred);
	cli_close(&c);
	if (rv == OCOP_OK) {
		return CLI_OK;
	}
	return rv == OCOP_EINVAL ? CLI_USAGE : CLI_FAIL;
}
