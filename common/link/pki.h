/*
 * pki.h: the small certificate authority a province (or the nation) runs for
 * its links: creating the CA, issuing a site's or a server's certificate, and
 * reading what a certificate says. EC P-256 keys, SHA-256 signatures, PEM
 * text in and out (OpenSSL does the cryptography).
 *
 * A site certificate's common name is the site id, so a server can bind a TLS
 * connection to the site it claims to be; it is for client authentication
 * only. A server certificate names its host names and addresses and is for
 * server authentication only, so no site can pose as the server.
 */
#ifndef OCOP_LINK_PKI_H
#define OCOP_LINK_PKI_H

#include <stdbool.h>
#include <stddef.h>

#include "common/link/tls.h"

#define LNK_PKI_SITE_DAYS 730    /* default validity of a site certificate: two years */
#define LNK_PKI_CA_DAYS 3650     /* default validity of a CA: ten years */

/* What to put in a certificate. */
typedef struct lnk_pki_req {
	const char *cn;       /* subject common name: a site id (required) */
	const char *org;      /* subject organisation, e.g. the province; may be NULL */
	const char *role;     /* subject organisational unit: the site's role; may be NULL */
	bool server;          /* a server certificate (serverAuth, names from hosts) */
	const char *hosts;    /* server: comma-separated DNS names and IP addresses */
	long days;            /* validity in days (> 0) */
	long start_offset_s;  /* notBefore = now + this; tests make expired certificates with it */
} lnk_pki_req;

/*
 * Create a CA: a new key and a self-signed certificate named cn, valid for
 * days. *cert_pem and *key_pem: caller frees with com_free().
 * Returns OCOP_OK, OCOP_EINVAL (empty name, bad days), OCOP_ENOMEM,
 * OCOP_EINTERNAL (err says what OpenSSL refused).
 */
int lnk_pki_ca_create(const char *cn, long days, char **cert_pem /* OUT */, char **key_pem /* OUT */,
    char *err, size_t errlen);

/*
 * Issue a certificate for a new key, signed by the CA (its certificate and
 * key as PEM). *cert_pem and *key_pem: caller frees with com_free().
 * Returns OCOP_OK, OCOP_EINVAL (bad request), OCOP_EINPUT (the CA does not
 * parse or its key does not match), OCOP_ENOMEM, OCOP_EINTERNAL.
 */
int lnk_pki_issue(const char *ca_cert_pem, const char *ca_key_pem, const lnk_pki_req *r,
    char **cert_pem /* OUT */, char **key_pem /* OUT */, char *err, size_t errlen);

/*
 * What a certificate says: common name, SHA-256 fingerprint and expiry
 * (out->verified is left false). Returns OCOP_OK or OCOP_EINPUT.
 */
int lnk_pki_cert_info(const char *cert_pem, lnk_tls_peer *out /* OUT */);

/*
 * Check that cert_pem was issued by ca_pem and is valid now, and (key_pem
 * not NULL) that key_pem is its key. Returns OCOP_OK, or OCOP_EINPUT with the
 * reason in err.
 */
int lnk_pki_check(const char *ca_pem, const char *cert_pem, const char *key_pem, char *err, size_t errlen);

#endif /* OCOP_LINK_PKI_H */
