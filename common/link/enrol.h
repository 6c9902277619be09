/*
 * enrol.h: the enrolment file that carries a site's identity and secrets from
 * its server to the site (a commune's laptop, or a province server enrolled at
 * the national server): site id, role, scope, the server's URL, the site's
 * credential, the CA to trust, and the site's certificate and key.
 *
 * `ocopd site add` and `ocopd site rotate` write one (mode 0600); `ocop enrol`
 * and a province's `upstream_enrolment` read one. It is JSON so an operator
 * can see what it holds; it holds secrets, so it never goes on a command line,
 * into a bundle or a log.
 */
#ifndef OCOP_LINK_ENROL_H
#define OCOP_LINK_ENROL_H

#include <stddef.h>

#include "common/util/buf.h"

#define LNK_ENROL_FORMAT "ocop-enrolment/1" /* the file's "format" value */

/* An enrolment. Caller-owned storage; the PEM texts and the credential are owned. */
typedef struct lnk_enrolment {
	char site_id[37];      /* the site's UUID */
	char role[16];         /* its role at the server */
	char scope[256];       /* its scope at the server */
	char name[128];        /* a label, may be empty */
	char server_url[256];  /* where the server listens (tls+tcp:// outside a test) */
	char server_site[37];  /* the server's own site id, "" when not known */
	char issued[32];       /* when the file was made, ISO 8601 UTC */
	char *credential;      /* the site's secret, owned */
	char *ca_pem;          /* the CA that issued the server's and the site's certificates, owned; may be NULL */
	char *cert_pem;        /* the site's certificate, owned; may be NULL (plain links only) */
	char *key_pem;         /* its private key, owned; may be NULL */
} lnk_enrolment;

/* Release what e owns and zero it (the secrets are wiped first). Accepts a zeroed e. Cannot fail. */
void lnk_enrol_fini(lnk_enrolment *e);

/* Append e as JSON text to out. Returns OCOP_OK, OCOP_EINVAL (no site id or credential), OCOP_ENOMEM. */
int lnk_enrol_encode(const lnk_enrolment *e, com_buf *out);

/*
 * Parse an enrolment file's text into e (which is first zeroed). Checks the
 * format, the site id, and that the certificate, key and CA are all present
 * or all absent. Returns OCOP_OK, OCOP_EINPUT (err names the problem),
 * OCOP_ENOMEM. On error e holds nothing.
 */
int lnk_enrol_decode(lnk_enrolment *e, const char *text, char *err, size_t errlen);

#endif /* OCOP_LINK_ENROL_H */
