/*
 * ca.h: the CA a server runs for its sites, as files in a directory:
 *
 *   ca.crt      the CA certificate (sites trust it; the server verifies sites with it)
 *   ca.key      its key (0600; only `ocopd ca init` and `ocopd site add|rotate` read it)
 *   server.crt  this server's certificate, for the host names it is reached by
 *   server.key  its key (0600)
 *
 * `ocopd ca init` makes them and records the directory in the database, so
 * `site add`, `site rotate` and `serve` find it without being told. The
 * cryptography is common/link/pki.h; this file is where the files live and
 * what goes into an enrolment file.
 */
#ifndef OCOP_SERVER_CA_H
#define OCOP_SERVER_CA_H

#include <stdbool.h>
#include <stddef.h>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "common/link/enrol.h"
#include "common/link/tls.h"
#include "common/store/store.h"
#include "server/config.h"

/* What `ocopd ca init` makes. */
typedef struct srv_ca_init_opts {
	const char *dir;        /* the directory (created 0700 when missing) */
	const char *name;       /* the CA's name, e.g. "OCOP CA tỉnh Bến Tre"; NULL = from the server's scope */
	const char *hosts;      /* the server's host names and addresses, comma-separated */
	const char *public_url; /* the URL sites reach the server by (goes into enrolments); may be NULL */
	long days;              /* the CA's validity; 0 = LNK_PKI_CA_DAYS */
} srv_ca_init_opts;

/*
 * Make the CA and the server's certificate in o->dir and record the directory
 * (and public_url) in db's meta. Refuses to replace an existing CA. Returns
 * OCOP_OK, OCOP_EEXIST (a CA is there), OCOP_EINVAL, OCOP_EIO, OCOP_ENOMEM,
 * OCOP_EINTERNAL; err says why.
 */
int srv_ca_init(sto_db *db, const srv_ca_init_opts *o, char *err, size_t errlen);

/*
 * The CA directory in use: cfg->ca_dir when set (cfg may be NULL), else the
 * one recorded in db, else "". Cannot fail.
 */
void srv_ca_dir(sto_db *db, const srv_config *cfg, char *out, size_t cap);

/*
 * Issue a certificate to site and fill an enrolment for it (e is zeroed
 * first; caller finishes it with lnk_enrol_fini). dir "" means no CA: the
 * enrolment carries the credential alone (plain links). server_url NULL means
 * the public URL recorded by `ca init`. *info (may be NULL) gets the new
 * certificate's fingerprint and expiry. Returns OCOP_OK, OCOP_ENOENT (no CA
 * files in dir), OCOP_EINPUT, OCOP_ENOMEM, OCOP_EINTERNAL; err says why.
 */
int srv_ca_enrol(sto_db *db, const char *dir, const char *site, const char *role, const char *scope,
    const char *name, const char *server_url, const char *credential, long days, lnk_enrolment *e /* OUT */,
    lnk_tls_peer *info /* OUT */, char *err, size_t errlen);

/*
 * Issue a certificate without registering anything (for the site of a
 * registration that already happened): cert and key PEM, caller frees with
 * com_free(). Returns as srv_ca_enrol.
 */
int srv_ca_issue(const char *dir, const char *site, const char *role, long days, char **cert_pem /* OUT */,
    char **key_pem /* OUT */, lnk_tls_peer *info /* OUT */, char *err, size_t errlen);

/*
 * The TLS configuration of this server's listener: the CA that issued its
 * sites' certificates, its certificate and key, from cfg's tls_* files or the
 * CA directory. Installs the TLS engine. Returns OCOP_OK, OCOP_ENOENT (no
 * files), OCOP_EINPUT (a key others may read, a file that does not parse),
 * OCOP_ENOMEM; err says why. Caller frees with nng_tls_config_free().
 */
int srv_ca_listener_tls(sto_db *db, const srv_config *cfg, nng_tls_config **out /* OUT */, char *err, size_t errlen);

#endif /* OCOP_SERVER_CA_H */
