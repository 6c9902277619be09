/*
 * cmd_sync.c: `ocop enrol` (take the enrolment file the server wrote),
 * `ocop remote` (where the server is, and this site's secrets, from files)
 * and `ocop sync` (one session, or --watch: keep syncing, backing off with
 * jitter while the server is away).
 *
 * Secrets never come from the command line: the credential from a file or
 * standard input, the key from a file only its owner may read. They are kept
 * in the replica, which is readable by its owner only.
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
#include "common/link/dial.h"
#include "common/link/enrol.h"
#include "common/link/pki.h"
#include "common/link/session.h"
#include "common/ocop/policy.h"
#include "common/ocop/registry.h"
#include "common/util/alloc.h"
#include "common/util/secret.h"
#include "ocop_err.h"

/* Exit codes of `ocop sync` beyond cli.h's, one per way a link fails. */
enum {
	SYNC_EXIT_REFUSED = 3,  /* connection refused: nothing listens there */
	SYNC_EXIT_HOST = 4,     /* unknown host */
	SYNC_EXIT_TLS = 5,      /* TLS handshake failed (certificate, CA, plain server) */
	SYNC_EXIT_TIMEOUT = 6,  /* timed out */
	SYNC_EXIT_REVOKED = 7,  /* the server revoked this site */
	SYNC_EXIT_INTERRUPTED = 130, /* Ctrl-C */
};

static volatile sig_atomic_t sync_stop = 0;
/* A dialer left open after a transport failure (see cmd_sync), for the exit to release. */
static lnk_dialer *sync_abandoned = NULL;

static void
sync_on_signal(int sig)
{
	(void)sig;
	sync_stop = 1;
}

/* Store the PEM texts of this site's TLS identity (any may be NULL: left as is). */
static int
remote_store_tls(cli_ctx *c, const char *ca, const char *cert, const char *key)
{
	int rv = OCOP_OK;

	if (ca != NULL && (rv = sto_meta_set(c->db, "tls_ca", ca)) != OCOP_OK) {
		return rv;
	}
	if (cert != NULL && (rv = sto_meta_set(c->db, "tls_cert", cert)) != OCOP_OK) {
		return rv;
	}
	if (key != NULL && (rv = sto_meta_set(c->db, "tls_key", key)) != OCOP_OK) {
		return rv;
	}
	return rv;
}

/* Read a public file (a certificate) into a com_malloc'd string. */
static char *
remote_read_public(cli_ctx *c, const char *path)
{
	FILE *f = fopen(path, "r");
	char *p;
	size_t n;

	if (f == NULL) {
		cli_err(c, "cannot read %s", path);
		return NULL;
	}
	p = com_malloc(256 * 1024 + 1);
	if (p == NULL) {
		fclose(f);
		return NULL;
	}
	n = fread(p, 1, 256 * 1024, f);
	fclose(f);
	p[n] = 0;
	return p;
}

/* ===== ocop enrol ===== */

static void
enrol_usage(FILE *out)
{
	fprintf(out, "usage: ocop enrol [--file FILE]\n"
		     "\nTake the enrolment file the server wrote for this site ('ocopd site add' or\n"
		     "'ocopd site rotate'): its identity, the server's address, its credential and\n"
		     "its TLS certificate and key. Without --file (or with '-'), read standard input.\n"
		     "A new replica is created with the site's identity (mode 0600); an existing one\n"
		     "must be the same site and keeps its data (new secrets after a rotation).\n"
		     "Delete the file afterwards: the replica holds what it carried.\n");
}

int
cmd_enrol(int argc, char **argv)
{
	static const struct option opts[] = {{"file", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	const char *file = "-";
	lnk_enrolment e;
	lnk_tls_peer info;
	char *text = NULL;
	char err[600];
	cli_ctx c;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	memset(&info, 0, sizeof(info));
	c.cmd = "enrol";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'f': file = optarg; break;
		case 'h': enrol_usage(stdout); return CLI_OK;
		default: return cli_bad_option(&c, opt, argv);
		}
	}
	if (optind < argc) {
		cli_err(&c, "unexpected argument '%s'", argv[optind]);
		return CLI_USAGE;
	}
	if ((rv = com_secret_read(file, &text, NULL, err, sizeof(err))) != OCOP_OK) {
		cli_err(&c, "%s", strcmp(file, "-") == 0 && rv != OCOP_EINPUT ? "cannot read standard input" : err);
		return CLI_USAGE;
	}
	rv = lnk_enrol_decode(&e, text, err, sizeof(err));
	memset(text, 0, strlen(text));
	com_free(text);
	if (rv != OCOP_OK) {
		cli_err(&c, "%s: %s", strcmp(file, "-") == 0 ? "standard input" : file, err);
		return CLI_USAGE;
	}
	if (e.cert_pem != NULL) {
		if (lnk_pki_check(e.ca_pem, e.cert_pem, e.key_pem, err, sizeof(err)) != OCOP_OK ||
		    lnk_pki_cert_info(e.cert_pem, &info) != OCOP_OK || strcmp(info.cn, e.site_id) != 0) {
			cli_err(&c, "the enrolment's certificate is not usable: %s",
			    info.cn[0] && strcmp(info.cn, e.site_id) != 0 ? "it names another site" : err);
			lnk_enrol_fini(&e);
			return CLI_USAGE;
		}
	}
	if (ocp_reg_scope_check(e.role, e.scope, err, sizeof(err)) != OCOP_OK) {
		cli_err(&c, "the enrolment's role and scope do not fit: %s", err);
		lnk_enrol_fini(&e);
		return CLI_USAGE;
	}
	if ((rv = cli_open(&c, "enrol", true)) != OCOP_OK) {
		lnk_enrol_fini(&e);
		return cli_exit_code(rv);
	}
	if (sto_site_id(c.db)[0] == 0) {
		rv = ocp_reg_site_init(c.db, e.site_id, e.role, e.scope, e.name, err, sizeof(err));
		if (rv != OCOP_OK) {
			cli_err(&c, "%s", err);
			goto out;
		}
	} else if (strcmp(sto_site_id(c.db), e.site_id) != 0) {
		cli_err(&c, "%s is site %s; this enrolment is for site %s", c.db_path, sto_site_id(c.db), e.site_id);
		rv = OCOP_EINVAL;
		goto out;
	}
	if ((rv = sto_begin(c.db)) != OCOP_OK || (rv = sto_meta_set(c.db, "server_url", e.server_url)) != OCOP_OK ||
	    (rv = sto_meta_set(c.db, "credential", e.credential)) != OCOP_OK ||
	    (e.server_site[0] && (rv = sto_meta_set(c.db, "enrolled_server", e.server_site)) != OCOP_OK) ||
	    (rv = remote_store_tls(&c, e.ca_pem ? e.ca_pem : "", e.cert_pem ? e.cert_pem : "",
		 e.key_pem ? e.key_pem : "")) != OCOP_OK ||
	    (rv = sto_commit(c.db)) != OCOP_OK) {
		sto_rollback(c.db);
		cli_err(&c, "cannot save the enrolment: %s", sto_errmsg(c.db));
		goto out;
	}
	if (com_secret_protect(c.db_path) != OCOP_OK) {
		cli_err(&c, "warning: cannot make %s readable by its owner only", c.db_path);
	}
	printf("enrolled site %s (%s, scope %s) with server %s\n", e.site_id, e.role, e.scope, e.server_url);
	if (info.cn[0] != 0) {
		printf("certificate sha256 %s, valid until %s\n", info.sha256, info.not_after);
	}
	printf("delete the enrolment file now: %s holds what it carried\n", c.db_path);
out:
	lnk_enrol_fini(&e);
	cli_close(&c);
	return cli_exit_code(rv);
}

/* ===== ocop remote ===== */

static void
remote_usage(FILE *out)
{
	fprintf(out, "usage: ocop remote [--server URL] [--credential-file FILE] [--ca FILE --cert FILE --key FILE]\n"
		     "                   [--json]\n"
		     "\nRecord where this site's server is and this site's secrets ('ocop enrol' does\n"
		     "all of it from the server's enrolment file). --credential-file reads the\n"
		     "credential from FILE ('-': standard input); --ca, --cert and --key are the CA,\n"
		     "this site's certificate and its key (the key file must be readable by its owner\n"
		     "only) for a tls+tcp:// server. Secrets are never taken on the command line.\n"
		     "Without options, show what is recorded (never the secrets).\n");
}

int
cmd_remote(int argc, char **argv)
{
	static const struct option opts[] = {{"server", required_argument, NULL, 's'},
	    {"credential", required_argument, NULL, 'c'}, {"credential-file", required_argument, NULL, 'f'},
	    {"ca", required_argument, NULL, 'A'}, {"cert", required_argument, NULL, 'C'},
	    {"key", required_argument, NULL, 'K'}, {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *server = NULL;
	const char *cred_file = NULL;
	const char *ca_file = NULL;
	const char *cert_file = NULL;
	const char *key_file = NULL;
	char *cred = NULL;
	char *ca = NULL;
	char *cert = NULL;
	char *key = NULL;
	char err[600];
	int json = 0;
	cli_ctx c;
	int opt;
	int rv = OCOP_OK;

	memset(&c, 0, sizeof(c));
	c.cmd = "remote";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 's': server = optarg; break;
		case 'c':
			cli_err(&c, "secrets are not taken on the command line (they show in 'ps' and shell history): "
				    "use --credential-file FILE, --credential-file - (standard input) or 'ocop enrol'");
			return CLI_USAGE;
		case 'f': cred_file = optarg; break;
		case 'A': ca_file = optarg; break;
		case 'C': cert_file = optarg; break;
		case 'K': key_file = optarg; break;
		case 'j': json = 1; break;
		case 'h': remote_usage(stdout); return CLI_OK;
		default: return cli_bad_option(&c, opt, argv);
		}
	}
	if (server != NULL && strncmp(server, "tcp://", 6) != 0 && !lnk_url_tls(server) &&
	    strncmp(server, "ipc://", 6) != 0) {
		cli_err(&c, "--server must be an nng URL like tls+tcp://ocop.example.gov.vn:7450, not '%s'", server);
		return CLI_USAGE;
	}
	if ((ca_file || cert_file || key_file) && !(ca_file && cert_file && key_file)) {
		cli_err(&c, "--ca, --cert and --key go together");
		return CLI_USAGE;
	}
	if (cred_file != NULL) {
		size_t n = 0;
		if (com_secret_read(cred_file, &cred, &n, err, sizeof(err)) != OCOP_OK) {
			cli_err(&c, "%s", err);
			return CLI_USAGE;
		}
		while (n > 0 && (cred[n - 1] == '\n' || cred[n - 1] == '\r' || cred[n - 1] == ' ')) {
			cred[--n] = 0;
		}
		if (n == 0 || n > 128) {
			cli_err(&c, "the credential must be 1 to 128 characters");
			rv = OCOP_EINVAL;
			goto out;
		}
	}
	if (ca_file != NULL) {
		if ((ca = remote_read_public(&c, ca_file)) == NULL || (cert = remote_read_public(&c, cert_file)) == NULL) {
			rv = OCOP_EINVAL;
			goto out;
		}
		if (com_secret_read(key_file, &key, NULL, err, sizeof(err)) != OCOP_OK) {
			cli_err(&c, "%s", err);
			rv = OCOP_EINVAL;
			goto out;
		}
		if (lnk_pki_check(ca, cert, key, err, sizeof(err)) != OCOP_OK) {
			cli_err(&c, "%s", err);
			rv = OCOP_EINVAL;
			goto out;
		}
	}
	if ((rv = cli_open(&c, "remote", false)) != OCOP_OK) {
		goto out;
	}
	if ((server && (rv = sto_meta_set(c.db, "server_url", server)) != OCOP_OK) ||
	    (cred && (rv = sto_meta_set(c.db, "credential", cred)) != OCOP_OK) ||
	    (rv = remote_store_tls(&c, ca, cert, key)) != OCOP_OK) {
		cli_err(&c, "cannot save: %s", sto_errmsg(c.db));
		goto out;
	}
	if ((cred || key) && com_secret_protect(c.db_path) != OCOP_OK) {
		cli_err(&c, "warning: cannot make %s readable by its owner only", c.db_path);
	}
	if (server == NULL && cred == NULL && ca == NULL) {
		char *v = NULL;
		char *k = NULL;
		char *crt = NULL;
		lnk_tls_peer info;
		bool have_cred;
		memset(&info, 0, sizeof(info));
		sto_meta_get(c.db, "server_url", &v);
		have_cred = sto_meta_get(c.db, "credential", &k) == OCOP_OK && k[0] != 0;
		if (sto_meta_get(c.db, "tls_cert", &crt) == OCOP_OK && crt[0] != 0) {
			lnk_pki_cert_info(crt, &info);
		}
		if (json) {
			cli_json_print(json_pack("{s:s, s:b, s:s, s:s}", "server", v ? v : "", "credential_set", have_cred,
			    "certificate_sha256", info.sha256, "certificate_expires", info.not_after));
		} else {
			printf("server %s\n", v ? v : "(none: run 'ocop enrol --file FILE')");
			printf("credential %s\n", have_cred ? "set" : "not set");
			if (info.sha256[0]) {
				printf("certificate sha256 %s, valid until %s\n", info.sha256, info.not_after);
			}
		}
		com_free(v);
		if (k != NULL) {
			memset(k, 0, strlen(k));
		}
		com_free(k);
		com_free(crt);
	}
out:
	if (cred != NULL) {
		memset(cred, 0, strlen(cred));
	}
	com_free(cred);
	if (key != NULL) {
		memset(key, 0, strlen(key));
	}
	com_free(key);
	com_free(ca);
	com_free(cert);
	cli_close(&c);
	return rv == OCOP_OK ? CLI_OK : rv == OCOP_EINVAL ? CLI_USAGE : cli_exit_code(rv);
}

/* ===== ocop sync ===== */

static void
sync_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocop sync [--server URL] [--timeout SECONDS]\n"
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
	    "Ctrl-C stops at once, also while waiting for the server.\n"
	    "With --json, print one JSON object per session, also when it fails.\n"
	    "Exit: 0 synced; 1 refused by the server or another failure (see 'ocop status');\n"
	    "2 bad usage; 3 connection refused; 4 unknown host; 5 TLS handshake failed;\n"
	    "6 timed out; 7 this site was revoked; 130 interrupted.\n");
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

/* The exit code for a failed session's code. */
static int
sync_exit(int rv)
{
	switch (rv) {
	case OCOP_OK: return CLI_OK;
	case OCOP_EREFUSED: return SYNC_EXIT_REFUSED;
	case OCOP_EHOST: return SYNC_EXIT_HOST;
	case OCOP_ETLS: return SYNC_EXIT_TLS;
	case OCOP_ETIMEDOUT: return SYNC_EXIT_TIMEOUT;
	case OCOP_EREVOKED: return SYNC_EXIT_REVOKED;
	case OCOP_ECANCELED: return SYNC_EXIT_INTERRUPTED;
	case OCOP_EINVAL: return CLI_USAGE;
	default: return CLI_FAIL;
	}
}

/* Read a meta value as a com_malloc'd string, NULL when absent or empty. */
static char *
sync_meta(sto_db *db, const char *key)
{
	char *v = NULL;

	if (sto_meta_get(db, key, &v) != OCOP_OK) {
		return NULL;
	}
	if (v[0] == 0) {
		com_free(v);
		return NULL;
	}
	return v;
}

static void
sync_wipe(char *s)
{
	if (s != NULL) {
		memset(s, 0, strlen(s));
		com_free(s);
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
	char *ca = NULL;
	char *cert = NULL;
	char *key = NULL;
	const char *server_opt = NULL;
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
	struct sigaction sa;
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
		case 'c':
			cli_err(&c, "secrets are not taken on the command line: the credential comes from 'ocop enrol' "
				    "or 'ocop remote --credential-file FILE'");
			return CLI_USAGE;
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
	server = server_opt ? com_strdup(server_opt) : sync_meta(c.db, "server_url");
	cred = sync_meta(c.db, "credential");
	ca = sync_meta(c.db, "tls_ca");
	cert = sync_meta(c.db, "tls_cert");
	key = sync_meta(c.db, "tls_key");
	if (server == NULL) {
		cli_err(&c, "no server known: run 'ocop enrol --file FILE' with the file your server gave you");
		rv = OCOP_EINVAL;
		goto out;
	}
	if (lnk_url_plain_remote(server)) {
		fprintf(stderr, "ocop sync: warning: %s is a plain connection: everything crosses the network in "
				"clear (use tls+tcp://)\n", server);
	}
	if ((rv = ocp_policy_open(&pol, c.data_dir, false, err, sizeof(err))) != OCOP_OK) {
		cli_err(&c, "%s", err);
		goto out;
	}
	sto_set_policy(c.db, ocp_policy_store(pol));
	/* No SA_RESTART: a signal ends a blocking wait at once. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sync_on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	jitter_seed = (unsigned)time(NULL) ^ (unsigned)strlen(sto_site_id(c.db)) * 2654435761u;
	memset(&so, 0, sizeof(so));
	so.credential = cred ? cred : "";
	do {
		lnk_dialer *d = NULL;
		lnk_dial_opts dopts;
		cli_transport tr;

		memset(&dopts, 0, sizeof(dopts));
		dopts.url = server;
		dopts.timeout_ms = (int)(timeout_s * 1000);
		dopts.ca_pem = ca;
		dopts.cert_pem = cert;
		dopts.key_pem = key;
		dopts.stop = &sync_stop;
		err[0] = 0;
		rv = lnk_dialer_open(&d, &dopts, err, sizeof(err));
		if (rv == OCOP_EINVAL || rv == OCOP_EINPUT) {
			cli_err(&c, "%s", err);
			rv = OCOP_EINVAL;
			break;
		}
		memset(&fst, 0, sizeof(fst));
		if (rv == OCOP_OK) {
			tr = lnk_dialer_transport(d);
			rv = cli_sync_once(c.db, ocp_policy_store(pol), &tr, &so, &st, err, sizeof(err));
			if (rv == OCOP_OK && !no_files) {
				/* The rows are in; now the files over the same authenticated
				 * link, which may take long: in --watch a slice at a time, so
				 * new rows never wait behind a large file. */
				rv = sync_files(&c, pol, &tr, cred, watch ? SYNC_FILE_SLICE_MS : 0, &fst, err, sizeof(err));
			}
			/* A transport failure: the dialer says more than the session can. */
			if ((rv == OCOP_ETIMEDOUT || rv == OCOP_ENET || rv == OCOP_ECANCELED || rv == OCOP_ECLOSED) &&
			    lnk_dialer_errmsg(d)[0] != 0) {
				snprintf(err, sizeof(err), "%s", lnk_dialer_errmsg(d));
			}
			/* After a transport failure a reply may be half received, and closing
			 * then can wait forever in nng 1.5.2 (server/netwatch.h): a single sync
			 * ends now and lets the exit release the socket. */
			if (watch || rv == OCOP_OK ||
			    !(rv == OCOP_ETIMEDOUT || rv == OCOP_ENET || rv == OCOP_ECANCELED || rv == OCOP_ECLOSED)) {
				lnk_dialer_close(d);
			} else {
				sync_abandoned = d; /* still referenced: not a leak, only left to the exit */
			}
		} else {
			/* The session never started: record the failure for `ocop status` as a session would. */
			cli_sync_record(c.db, rv, err);
		}
		if (sync_stop && rv != OCOP_OK) {
			rv = OCOP_ECANCELED;
			snprintf(err, sizeof(err), "interrupted");
		}
		if (rv == OCOP_OK) {
			failures = 0;
			if (json) {
				cli_json_print(json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "ok", 1, "pushed",
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
			if (json) {
				cli_json_print(json_pack("{s:b, s:s, s:s, s:i}", "ok", 0, "error", ocop_errname(rv), "message",
				    err[0] ? err : ocop_strerror(rv), "exit", sync_exit(rv)));
				fflush(stdout);
			}
			if (!watch || rv == OCOP_ECANCELED || rv == OCOP_EREVOKED) {
				break;
			}
			/* Exponential backoff with full jitter, capped (common/link/session.h). */
			backoff_ms = lnk_backoff_ms(failures, (long)(base * 1000.0), (long)(max_backoff_s * 1000), &jitter_seed);
			fprintf(stderr, "ocop sync: retrying in %.1f s\n", (double)backoff_ms / 1000.0);
			sync_sleep_ms(backoff_ms);
		}
	} while (watch && !sync_stop && !(until && rv == OCOP_OK));
out:
	ocp_policy_free(pol);
	com_free(server);
	sync_wipe(cred);
	com_free(ca);
	com_free(cert);
	sync_wipe(key);
	cli_close(&c);
	return sync_exit(rv);
}
