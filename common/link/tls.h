/*
 * tls.h: mutual TLS for nng's tls+tcp:// transport, on OpenSSL.
 *
 * nng 1.5 lets a program register its own TLS engine. Ours does what the
 * mbedTLS engine Debian builds nng with cannot: it tells the program which
 * certificate a verified peer presented (so a server binds a connection to
 * the site named in its certificate), and it says why a handshake failed
 * (unknown CA, expired, not TLS at all) in the log and to the dialling side.
 * It does not decide who may do what: the server's registry does that.
 *
 * The engine is process-wide because nng's engine registration is: install
 * it once, before any TLS socket is opened, with lnk_tls_install().
 */
#ifndef OCOP_LINK_TLS_H
#define OCOP_LINK_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "common/util/log.h"

#define LNK_TLS_REASON_MAX 256 /* bytes of a handshake failure's reason */

/* The identity of a TLS peer, as its verified certificate says. */
typedef struct lnk_tls_peer {
	bool verified;         /* the chain verified to the configured CA, dates included */
	char cn[65];           /* the certificate's common name (a site id for a site) */
	char sha256[65];       /* hex SHA-256 of the certificate (DER) */
	char not_after[32];    /* expiry, ISO 8601 UTC */
} lnk_tls_peer;

/*
 * Register the OpenSSL engine with nng (idempotent; a later call with a log
 * hook replaces the hook). log (borrowed, must outlive every TLS connection;
 * NULL keeps the current one) receives one line per failed handshake, rate-limited so a flood of
 * bad connections cannot flood the log.
 * Returns OCOP_OK, OCOP_ENOMEM, OCOP_EINTERNAL (nng refused the engine).
 * Threads: call from one thread before any TLS socket exists.
 */
int lnk_tls_install(const com_log *log);

/*
 * Build an nng TLS configuration for one end of a link: verify the peer
 * against ca_pem (both ends always require a certificate: mutual TLS), and
 * present cert_pem with key_pem. server_name (client end, may be NULL) is the
 * name the server's certificate must carry (host name or IP address).
 * PEM texts are borrowed. Returns OCOP_OK, OCOP_EINPUT (a PEM that does not
 * parse or a key that does not match its certificate; err says which),
 * OCOP_ENOMEM, OCOP_ESTATE (engine not installed).
 * Caller frees with nng_tls_config_free().
 */
int lnk_tls_config_open(nng_tls_config **out /* OUT */, bool server, const char *ca_pem,
    const char *cert_pem, const char *key_pem, const char *server_name, char *err, size_t errlen);

/*
 * The certificate identity of the peer at the other end of pipe p (a TLS
 * pipe of a socket whose TLS came from this engine). Returns OCOP_OK,
 * OCOP_ENOENT (not a TLS pipe, or no certificate).
 * Threads: any; the answer is read on the calling thread.
 */
int lnk_tls_pipe_peer(nng_pipe p, lnk_tls_peer *out /* OUT */);

/*
 * The reason the last client-side handshake of this process failed, or ""
 * (copied into out). A dialler uses it to say more than nng's error code.
 * Cannot fail.
 */
void lnk_tls_last_failure(char *out, size_t cap);

/* Forget the last client-side failure (before a new dial). Cannot fail. */
void lnk_tls_clear_failure(void);

#endif /* OCOP_LINK_TLS_H */
