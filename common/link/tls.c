/*
 * tls.c: an nng TLS engine on OpenSSL (see tls.h), modelled on nng's own
 * mbedTLS engine (src/supplemental/tls/mbedtls/tls.c in nng 1.5): nng owns
 * the TCP stream and its buffers; the engine turns bytes into TLS records
 * through nng_tls_engine_send/recv, answering NNG_EAGAIN whenever the stream
 * has to move first.
 *
 * Process-wide state, because nng's engine registration is process-wide: the
 * log hook, the rate limiter of failure lines, the last client-side failure
 * and a thread-local slot through which lnk_tls_pipe_peer() reads a
 * connection's peer (nng 1.5 exposes no peer certificate option, but it does
 * call the engine's `verified` on the asking thread).
 */
#include "common/link/tls.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <nng/supplemental/tls/engine.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ocop_err.h"

#define TLS_LOG_BURST 10      /* failure lines per window at most */
#define TLS_LOG_WINDOW_S 10   /* seconds of a log window */

/* ===== Process-wide state ===== */

static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;
static const com_log *tls_log;        /* borrowed log hook, may be NULL */
static bool tls_installed;            /* the engine is registered */
static time_t tls_window;             /* start of the current log window */
static unsigned tls_window_lines;     /* lines logged in it */
static unsigned long tls_suppressed;  /* lines dropped since the last one logged */
static char tls_last_failure[LNK_TLS_REASON_MAX]; /* last client-side failure */
static BIO_METHOD *tls_bio_method;    /* our BIO over nng's stream, owned for the process */

/* Where `verified` copies the peer when lnk_tls_pipe_peer asks on this thread. */
static _Thread_local lnk_tls_peer *tls_capture;

struct nng_tls_engine_config {
	SSL_CTX *ctx;      /* owned */
	bool server;       /* server end */
	char *server_name; /* client: the name the server's certificate must carry, owned */
};

struct nng_tls_engine_conn {
	void *tls;          /* nng's connection, for nng_tls_engine_send/recv; borrowed */
	SSL *ssl;           /* owned (owns its BIO) */
	bool server;        /* server end */
	bool saw_bytes;     /* any bytes arrived from the peer */
	unsigned char first; /* the first byte that arrived (0x16 opens a TLS handshake) */
	bool failed;        /* a failure was already reported for this connection */
	lnk_tls_peer peer;  /* the peer's certificate, filled when the handshake completes */
};

/*
 * Report a failure: one log line (rate-limited), and on a client end, the
 * reason kept for lnk_tls_last_failure().
 */
static void
tls_report(nng_tls_engine_conn *ec, const char *reason)
{
	time_t now = time(NULL);
	unsigned long dropped = 0;
	bool say = false;

	if (ec->failed) {
		return;
	}
	ec->failed = true;
	pthread_mutex_lock(&tls_lock);
	if (!ec->server) {
		snprintf(tls_last_failure, sizeof(tls_last_failure), "%s", reason);
	}
	if (now - tls_window >= TLS_LOG_WINDOW_S) {
		dropped = tls_suppressed;
		tls_suppressed = 0;
		tls_window = now;
		tls_window_lines = 0;
	}
	if (tls_window_lines < TLS_LOG_BURST) {
		tls_window_lines++;
		say = true;
	} else {
		tls_suppressed++;
	}
	pthread_mutex_unlock(&tls_lock);
	if (dropped > 0) {
		com_logf(tls_log, COM_LOG_WARN, "TLS: %lu more failed handshakes were not logged", dropped);
	}
	if (say) {
		com_logf(tls_log, COM_LOG_WARN, "TLS %s: %.*s", ec->server ? "peer refused" : "connection failed",
		    LNK_TLS_REASON_MAX, reason);
	}
}

/* Turn the state of a failed handshake or record into a sentence. */
static void
tls_reason(nng_tls_engine_conn *ec, char *out, size_t cap)
{
	unsigned long e = ERR_peek_last_error();
	long vr = SSL_get_verify_result(ec->ssl);
	const char *lib = e ? ERR_reason_error_string(e) : NULL;

	if (ec->server && ec->saw_bytes && ec->first != 0x16 && !SSL_is_init_finished(ec->ssl)) {
		snprintf(out, cap, "the peer does not speak TLS (a plain tcp:// client?)");
	} else if (vr != X509_V_OK) {
		snprintf(out, cap, "%s certificate refused: %s", ec->server ? "client" : "server",
		    X509_verify_cert_error_string(vr));
	} else if (ec->server && vr == X509_V_OK && SSL_get0_peer_certificate(ec->ssl) == NULL &&
	    lib != NULL && strstr(lib, "certificate") != NULL) {
		snprintf(out, cap, "the client presented no certificate");
	} else if (!ec->server && lib != NULL && strstr(lib, "alert") != NULL) {
		snprintf(out, cap, "the server refused this site's certificate (%s)", lib);
	} else if (ec->server && lib != NULL && strstr(lib, "alert") != NULL) {
		snprintf(out, cap, "the client refused this server's certificate (%s): does it trust this server's CA?",
		    lib);
	} else if (!ec->server && !ec->saw_bytes) {
		snprintf(out, cap, "the server closed the connection during the TLS handshake (a plain tcp:// server?)");
	} else if (!ec->server && ec->first != 0x16 && !SSL_is_init_finished(ec->ssl)) {
		snprintf(out, cap, "the server does not speak TLS (a plain tcp:// server?)");
	} else {
		snprintf(out, cap, "TLS error: %s", lib ? lib : "connection closed during the handshake");
	}
}

/* ===== BIO over nng's stream ===== */

static int
tls_bio_write(BIO *b, const char *buf, size_t len, size_t *written)
{
	size_t n = len;
	int rv;

	BIO_clear_retry_flags(b);
	rv = nng_tls_engine_send(BIO_get_data(b), (const uint8_t *)buf, &n);
	if (rv == 0) {
		*written = n;
		return 1;
	}
	if (rv == NNG_EAGAIN) {
		BIO_set_retry_write(b);
	}
	return 0;
}

static int
tls_bio_read(BIO *b, char *buf, size_t len, size_t *readbytes)
{
	nng_tls_engine_conn *ec = BIO_get_app_data(b);
	size_t n = len;
	int rv;

	BIO_clear_retry_flags(b);
	rv = nng_tls_engine_recv(BIO_get_data(b), (uint8_t *)buf, &n);
	if (rv == 0) {
		if (n > 0 && !ec->saw_bytes) {
			ec->saw_bytes = true;
			ec->first = (unsigned char)buf[0];
		}
		*readbytes = n;
		return 1;
	}
	if (rv == NNG_EAGAIN) {
		BIO_set_retry_read(b);
	}
	return 0;
}

static long
tls_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b;
	(void)num;
	(void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

/* ===== Connections ===== */

static void
conn_fini(nng_tls_engine_conn *ec)
{
	SSL_free(ec->ssl);
	ec->ssl = NULL;
}

static int
conn_init(nng_tls_engine_conn *ec, void *tls, nng_tls_engine_config *cfg)
{
	BIO *bio;
	unsigned char ip[16];

	ec->tls = tls;
	ec->server = cfg->server;
	if ((ec->ssl = SSL_new(cfg->ctx)) == NULL) {
		return NNG_ENOMEM;
	}
	if ((bio = BIO_new(tls_bio_method)) == NULL) {
		SSL_free(ec->ssl);
		ec->ssl = NULL;
		return NNG_ENOMEM;
	}
	BIO_set_data(bio, tls);
	BIO_set_app_data(bio, ec);
	BIO_set_init(bio, 1);
	SSL_set_bio(ec->ssl, bio, bio);
	/* Buffers go back while a connection is idle: a server holds many. */
	SSL_set_mode(ec->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	if (cfg->server) {
		SSL_set_accept_state(ec->ssl);
	} else {
		SSL_set_connect_state(ec->ssl);
		if (cfg->server_name != NULL) {
			X509_VERIFY_PARAM *vp = SSL_get0_param(ec->ssl);
			bool is_ip = inet_pton(AF_INET, cfg->server_name, ip) == 1 ||
			    inet_pton(AF_INET6, cfg->server_name, ip) == 1;
			if (is_ip ? X509_VERIFY_PARAM_set1_ip_asc(vp, cfg->server_name) != 1
				  : (SSL_set_tlsext_host_name(ec->ssl, cfg->server_name) != 1 ||
					SSL_set1_host(ec->ssl, cfg->server_name) != 1)) {
				SSL_free(ec->ssl);
				ec->ssl = NULL;
				return NNG_ENOMEM;
			}
		}
	}
	return 0;
}

static void
conn_close(nng_tls_engine_conn *ec)
{
	/* Best effort, as nng's own engines: close-notify means nothing to us. */
	(void)SSL_shutdown(ec->ssl);
}

/* Fill ec->peer from the verified handshake. */
static void
conn_note_peer(nng_tls_engine_conn *ec)
{
	X509 *crt = SSL_get0_peer_certificate(ec->ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const ASN1_TIME *na;
	struct tm tm;
	unsigned i;

	memset(&ec->peer, 0, sizeof(ec->peer));
	if (crt == NULL) {
		return;
	}
	ec->peer.verified = SSL_get_verify_result(ec->ssl) == X509_V_OK;
	X509_NAME_get_text_by_NID(X509_get_subject_name(crt), NID_commonName, ec->peer.cn, sizeof(ec->peer.cn));
	if (X509_digest(crt, EVP_sha256(), md, &mdlen) == 1) {
		for (i = 0; i < mdlen && 2 * i + 2 < sizeof(ec->peer.sha256); i++) {
			snprintf(ec->peer.sha256 + 2 * i, 3, "%02x", md[i]);
		}
	}
	na = X509_get0_notAfter(crt);
	if (na != NULL && ASN1_TIME_to_tm(na, &tm) == 1) {
		strftime(ec->peer.not_after, sizeof(ec->peer.not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
}

/* A failed SSL call: NNG_EAGAIN when the stream must move first, else the failure. */
static int
conn_error(nng_tls_engine_conn *ec, int ret)
{
	char reason[LNK_TLS_REASON_MAX];
	int e = SSL_get_error(ec->ssl, ret);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		return NNG_EAGAIN;
	}
	if (e == SSL_ERROR_ZERO_RETURN) {
		return NNG_ECLOSED;
	}
	if (ec->server && !ec->saw_bytes) {
		/* Closed before a byte arrived (a port probe): not a TLS failure. */
		ERR_clear_error();
		return NNG_ECLOSED;
	}
	tls_reason(ec, reason, sizeof(reason));
	tls_report(ec, reason);
	ERR_clear_error();
	return SSL_get_verify_result(ec->ssl) != X509_V_OK ? NNG_EPEERAUTH : NNG_ECRYPTO;
}

static int
conn_handshake(nng_tls_engine_conn *ec)
{
	int ret;

	ERR_clear_error();
	ret = SSL_do_handshake(ec->ssl);
	if (ret == 1) {
		conn_note_peer(ec);
		return 0;
	}
	return conn_error(ec, ret);
}

static int
conn_recv(nng_tls_engine_conn *ec, uint8_t *buf, size_t *szp)
{
	size_t n = 0;
	int ret;

	ERR_clear_error();
	ret = SSL_read_ex(ec->ssl, buf, *szp, &n);
	if (ret == 1) {
		*szp = n;
		return 0;
	}
	return conn_error(ec, ret);
}

static int
conn_send(nng_tls_engine_conn *ec, const uint8_t *buf, size_t *szp)
{
	size_t n = 0;
	int ret;

	ERR_clear_error();
	ret = SSL_write_ex(ec->ssl, buf, *szp, &n);
	if (ret == 1) {
		*szp = n;
		return 0;
	}
	return conn_error(ec, ret);
}

static bool
conn_verified(nng_tls_engine_conn *ec)
{
	if (tls_capture != NULL) {
		*tls_capture = ec->peer;
	}
	return ec->peer.verified;
}

/* ===== Configurations ===== */

static void
config_fini(nng_tls_engine_config *cfg)
{
	SSL_CTX_free(cfg->ctx);
	cfg->ctx = NULL;
	OPENSSL_free(cfg->server_name);
	cfg->server_name = NULL;
}

static int
config_init(nng_tls_engine_config *cfg, nng_tls_mode mode)
{
	cfg->server = mode == NNG_TLS_MODE_SERVER;
	cfg->ctx = SSL_CTX_new(cfg->server ? TLS_server_method() : TLS_client_method());
	if (cfg->ctx == NULL) {
		return NNG_ENOMEM;
	}
	/* TLS 1.2 or newer; peers are verified unless a mode says otherwise. */
	SSL_CTX_set_min_proto_version(cfg->ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(cfg->ctx, cfg->server ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
	/* A link is one connection per session and is never resumed: no session
	 * cache and no tickets, which a server with hundreds of sites would
	 * otherwise hold in memory. */
	SSL_CTX_set_session_cache_mode(cfg->ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(cfg->ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(cfg->ctx, 0);
	return 0;
}

static int
config_server(nng_tls_engine_config *cfg, const char *name)
{
	char *dup = OPENSSL_strdup(name);

	if (dup == NULL) {
		return NNG_ENOMEM;
	}
	OPENSSL_free(cfg->server_name);
	cfg->server_name = dup;
	return 0;
}

static int
config_auth(nng_tls_engine_config *cfg, nng_tls_auth_mode mode)
{
	switch (mode) {
	case NNG_TLS_AUTH_MODE_NONE:
		SSL_CTX_set_verify(cfg->ctx, SSL_VERIFY_NONE, NULL);
		return 0;
	case NNG_TLS_AUTH_MODE_OPTIONAL:
		SSL_CTX_set_verify(cfg->ctx, SSL_VERIFY_PEER, NULL);
		return 0;
	case NNG_TLS_AUTH_MODE_REQUIRED:
		SSL_CTX_set_verify(cfg->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
		return 0;
	}
	return NNG_EINVAL;
}

static int
config_ca_chain(nng_tls_engine_config *cfg, const char *certs, const char *crl)
{
	X509_STORE *store = SSL_CTX_get_cert_store(cfg->ctx);
	BIO *bio = BIO_new_mem_buf(certs, -1);
	X509 *x;
	int n = 0;

	if (bio == NULL) {
		return NNG_ENOMEM;
	}
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(store, x) != 1) {
			X509_free(x);
			BIO_free(bio);
			return NNG_ECRYPTO;
		}
		X509_free(x);
		n++;
	}
	BIO_free(bio);
	ERR_clear_error();
	if (n == 0) {
		return NNG_EINVAL;
	}
	if (crl != NULL) {
		X509_CRL *c;
		bio = BIO_new_mem_buf(crl, -1);
		if (bio == NULL) {
			return NNG_ENOMEM;
		}
		while ((c = PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL)) != NULL) {
			X509_STORE_add_crl(store, c);
			X509_CRL_free(c);
		}
		BIO_free(bio);
		ERR_clear_error();
		X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
	}
	return 0;
}

static int
config_own_cert(nng_tls_engine_config *cfg, const char *cert, const char *key, const char *pass)
{
	BIO *cb = BIO_new_mem_buf(cert, -1);
	BIO *kb = BIO_new_mem_buf(key, -1);
	X509 *x = NULL;
	EVP_PKEY *k = NULL;
	int rv = NNG_EINVAL;

	if (cb == NULL || kb == NULL) {
		rv = NNG_ENOMEM;
		goto out;
	}
	if ((x = PEM_read_bio_X509(cb, NULL, NULL, NULL)) == NULL ||
	    (k = PEM_read_bio_PrivateKey(kb, NULL, NULL, (void *)pass)) == NULL) {
		goto out;
	}
	if (SSL_CTX_use_certificate(cfg->ctx, x) != 1 || SSL_CTX_use_PrivateKey(cfg->ctx, k) != 1 ||
	    SSL_CTX_check_private_key(cfg->ctx) != 1) {
		goto out;
	}
	/* Any further certificates in the PEM are the chain to present. */
	for (;;) {
		X509 *extra = PEM_read_bio_X509(cb, NULL, NULL, NULL);
		if (extra == NULL) {
			break;
		}
		if (SSL_CTX_add_extra_chain_cert(cfg->ctx, extra) != 1) {
			X509_free(extra);
			goto out;
		}
	}
	rv = 0;
out:
	ERR_clear_error();
	X509_free(x);
	EVP_PKEY_free(k);
	BIO_free(cb);
	BIO_free(kb);
	return rv;
}

static int
config_version(nng_tls_engine_config *cfg, nng_tls_version min, nng_tls_version max)
{
	int lo = min <= NNG_TLS_1_2 ? TLS1_2_VERSION : TLS1_3_VERSION;
	int hi = max >= NNG_TLS_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;

	if (max < NNG_TLS_1_2 || lo > hi) {
		return NNG_ENOTSUP;
	}
	SSL_CTX_set_min_proto_version(cfg->ctx, lo);
	SSL_CTX_set_max_proto_version(cfg->ctx, hi);
	return 0;
}

/* ===== The engine ===== */

static nng_tls_engine_conn_ops tls_conn_ops = {
    .size = sizeof(nng_tls_engine_conn),
    .init = conn_init,
    .fini = conn_fini,
    .close = conn_close,
    .recv = conn_recv,
    .send = conn_send,
    .handshake = conn_handshake,
    .verified = conn_verified,
};

static nng_tls_engine_config_ops tls_config_ops = {
    .size = sizeof(nng_tls_engine_config),
    .init = config_init,
    .fini = config_fini,
    .server = config_server,
    .auth = config_auth,
    .ca_chain = config_ca_chain,
    .own_cert = config_own_cert,
    .version = config_version,
};

static nng_tls_engine tls_engine = {
    .version = NNG_TLS_ENGINE_VERSION,
    .config_ops = &tls_config_ops,
    .conn_ops = &tls_conn_ops,
    .name = "ocop-openssl",
    .description = "OpenSSL, with peer identity for the OCOP links",
    .fips_mode = false,
};

int
lnk_tls_install(const com_log *log)
{
	nng_tls_config *probe = NULL;
	BIO_METHOD *m;
	int rv;

	pthread_mutex_lock(&tls_lock);
	if (log != NULL) {
		tls_log = log;
	}
	if (tls_installed) {
		pthread_mutex_unlock(&tls_lock);
		return OCOP_OK;
	}
	pthread_mutex_unlock(&tls_lock);
	/* nng registers its built-in engine when it initialises itself, which
	 * the first TLS call does: make that happen before replacing it. */
	if ((rv = nng_tls_config_alloc(&probe, NNG_TLS_MODE_CLIENT)) == 0) {
		nng_tls_config_free(probe);
	} else if (rv != NNG_ENOTSUP) {
		return OCOP_ENOMEM;
	}
	m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "ocop-nng-stream");
	if (m == NULL || BIO_meth_set_write_ex(m, tls_bio_write) != 1 ||
	    BIO_meth_set_read_ex(m, tls_bio_read) != 1 || BIO_meth_set_ctrl(m, tls_bio_ctrl) != 1) {
		BIO_meth_free(m);
		return OCOP_ENOMEM;
	}
	pthread_mutex_lock(&tls_lock);
	if (tls_installed) {
		pthread_mutex_unlock(&tls_lock);
		BIO_meth_free(m);
		return OCOP_OK;
	}
	tls_bio_method = m;
	if (nng_tls_engine_register(&tls_engine) != 0) {
		tls_bio_method = NULL;
		pthread_mutex_unlock(&tls_lock);
		BIO_meth_free(m);
		return OCOP_EINTERNAL;
	}
	tls_installed = true;
	pthread_mutex_unlock(&tls_lock);
	return OCOP_OK;
}

int
lnk_tls_config_open(nng_tls_config **out, bool server, const char *ca_pem, const char *cert_pem,
    const char *key_pem, const char *server_name, char *err, size_t errlen)
{
	nng_tls_config *cfg = NULL;
	int rv;

	*out = NULL;
	pthread_mutex_lock(&tls_lock);
	rv = tls_installed;
	pthread_mutex_unlock(&tls_lock);
	if (!rv) {
		snprintf(err, errlen, "the TLS engine is not installed");
		return OCOP_ESTATE;
	}
	if (nng_tls_config_alloc(&cfg, server ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT) != 0) {
		snprintf(err, errlen, "out of memory");
		return OCOP_ENOMEM;
	}
	if (nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED) != 0) {
		snprintf(err, errlen, "cannot require peer certificates");
		rv = OCOP_EINTERNAL;
		goto fail;
	}
	if (nng_tls_config_ca_chain(cfg, ca_pem, NULL) != 0) {
		snprintf(err, errlen, "the CA certificate does not parse (PEM expected)");
		rv = OCOP_EINPUT;
		goto fail;
	}
	if (nng_tls_config_own_cert(cfg, cert_pem, key_pem, NULL) != 0) {
		snprintf(err, errlen, "the certificate or its key does not parse, or they do not match");
		rv = OCOP_EINPUT;
		goto fail;
	}
	if (!server && server_name != NULL && server_name[0] != 0 &&
	    nng_tls_config_server_name(cfg, server_name) != 0) {
		snprintf(err, errlen, "out of memory");
		rv = OCOP_ENOMEM;
		goto fail;
	}
	*out = cfg;
	return OCOP_OK;
fail:
	nng_tls_config_free(cfg);
	return rv;
}

int
lnk_tls_pipe_peer(nng_pipe p, lnk_tls_peer *out)
{
	bool v = false;
	int rv;

	memset(out, 0, sizeof(*out));
	tls_capture = out;
	rv = nng_pipe_get_bool(p, NNG_OPT_TLS_VERIFIED, &v);
	tls_capture = NULL;
	if (rv != 0 || out->cn[0] == 0) {
		memset(out, 0, sizeof(*out));
		return OCOP_ENOENT;
	}
	return OCOP_OK;
}

void
lnk_tls_last_failure(char *out, size_t cap)
{
	pthread_mutex_lock(&tls_lock);
	snprintf(out, cap, "%s", tls_last_failure);
	pthread_mutex_unlock(&tls_lock);
}

void
lnk_tls_clear_failure(void)
{
	pthread_mutex_lock(&tls_lock);
	tls_last_failure[0] = 0;
	pthread_mutex_unlock(&tls_lock);
}
