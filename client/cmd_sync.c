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
	    "                 [--json]\n"
	    "\nPush this site's changes to its server and pull what changed in its scope.\n"
	    "A broken link is harmless: the next sync continues where this one stopped.\n"
	    "With --watch, keep syncing every --interval seconds (default 30); while the\n"
	    "server is away, retry with exponential backoff and jitter up to --max-backoff\n"
	    "(default 300). --until-synced stops after the first successful session.\n"
	    "Exit: 0 synced; 1 the server could not be reached or refused (see 'ocop status').\n");
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
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
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
	int failures = 0;
	unsigned jitter_seed;
	ocp_policy *pol = NULL;
	cli_sync_opts so;
	cli_sync_stats st;
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
		cli_nng_close(&t);
		if (rv == OCOP_OK) {
			failures = 0;
			if (json) {
				cli_json_print(json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "pushed",
				    (json_int_t)st.pushed, "rejected", (json_int_t)st.rejected, "pulled",
				    (json_int_t)st.pulled, "applied", (json_int_t)st.applied, "conflicts",
				    (json_int_t)st.conflicts, "high_water", (json_int_t)st.high_water, "cursor",
				    (json_int_t)st.cursor));
			} else {
				printf("synced with %s: pushed %" PRIu64 " (rejected %" PRIu64 "), pulled %" PRIu64
				       " (%" PRIu64 " new, %" PRIu64 " conflicts)\n",
				    server, st.pushed, st.rejected, st.pulled, st.applied, st.conflicts);
				if (st.rejected > 0) {
					printf("  %" PRIu64 " change(s) refused by the server: see 'ocop conflicts'\n",
					    st.rejected);
				}
			}
			fflush(stdout);
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
