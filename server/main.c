/*
 * main.c: the `ocopd` server daemon. Parses options, installs the log hook and
 * signal handlers, and runs the nng service until SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

#include "common/util/buf.h"
#include "common/util/log.h"
#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/error.h"

static volatile sig_atomic_t stop_requested = 0;

static void
on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: ocopd [--role province|national] [--listen URL] [--version] [--help]\n"
	    "\n"
	    "ocopd is the OCOP provincial or national server: it receives changes from\n"
	    "sites over nng, merges them and serves them back.\n"
	    "\n"
	    "  --role R      province (default) or national\n"
	    "  --listen URL  nng listen URL (default tcp://127.0.0.1:7450)\n"
	    "  --version     print the version and exit\n"
	    "  --help        print this help and exit\n"
	    "\n"
	    "Stops cleanly on SIGTERM or SIGINT.\n");
}

int
main(int argc, char **argv)
{
	const char *listen = "tcp://127.0.0.1:7450";
	const char *role = "province";
	com_log log = {com_log_stderr, NULL, COM_LOG_INFO};
	struct sigaction sa;
	nng_socket sock;
	int rv;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--version") == 0) {
			printf("ocopd %s (protocol %d)\n", OCOP_VERSION_STRING, PROTO_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--listen") == 0 && i + 1 < argc) {
			listen = argv[++i];
		} else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
			role = argv[++i];
			if (strcmp(role, "province") != 0 && strcmp(role, "national") != 0) {
				fprintf(stderr, "ocopd: --role must be province or national, not '%s'\n", role);
				return 2;
			}
		} else {
			fprintf(stderr, "ocopd: unknown option '%s'. See 'ocopd --help'.\n", argv[i]);
			return 2;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	if ((rv = nng_rep0_open(&sock)) != 0 ||
	    (rv = nng_setopt_size(sock, NNG_OPT_RECVMAXSZ, PROTO_MAX_MESSAGE)) != 0 ||
	    (rv = nng_setopt_ms(sock, NNG_OPT_RECVTIMEO, 200)) != 0) {
		fprintf(stderr, "ocopd: cannot open socket: %s\n", nng_strerror(rv));
		return 1;
	}
	if ((rv = nng_listen(sock, listen, NULL, 0)) != 0) {
		fprintf(stderr, "ocopd: cannot listen on %s: %s\n", listen, nng_strerror(rv));
		nng_close(sock);
		return 1;
	}
	com_logf(&log, COM_LOG_INFO, "ocopd %s role=%s listening on %s", OCOP_VERSION_STRING,
	    role, listen);
	while (!stop_requested) {
		nng_msg *msg;
		proto_env env;
		proto_rd body;
		com_buf reply;

		rv = nng_recvmsg(sock, &msg, 0);
		if (rv == NNG_ETIMEDOUT) {
			continue;
		}
		if (rv != 0) {
			com_logf(&log, COM_LOG_WARN, "receive failed: %s", nng_strerror(rv));
			continue;
		}
		com_buf_init(&reply);
		rv = proto_env_open(nng_msg_body(msg), nng_msg_len(msg), &env, &body);
		if (rv == OCOP_OK) {
			com_logf(&log, COM_LOG_WARN, "%s not served by this version", proto_msg_name(env.type));
			rv = proto_error_encode(&reply, OCOP_EPROTO, "message type not served by this server version");
		} else {
			com_logf(&log, COM_LOG_WARN, "refused message: %s", ocop_strerror(rv));
			rv = proto_error_encode(&reply, rv, ocop_strerror(rv));
		}
		nng_msg_clear(msg);
		if (rv == OCOP_OK && nng_msg_append(msg, reply.data, reply.len) == 0 &&
		    nng_sendmsg(sock, msg, 0) == 0) {
			msg = NULL;
		}
		nng_msg_free(msg);
		com_buf_fini(&reply);
	}
	com_logf(&log, COM_LOG_INFO, "shutting down");
	nng_close(sock);
	return 0;
}
