/*
 * pki.c: the province's CA (see pki.h), on OpenSSL 3.
 */
#include "common/link/pki.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "common/util/alloc.h"
#include "ocop_err.h"

/* Put OpenSSL's last reason after what into err; returns code. */
static int
pki_fail(int code, const char *what, char *err, size_t errlen)
{
	unsigned long e = ERR_peek_last_error();
	const char *r = e ? ERR_reason_error_string(e) : NULL;

	snprintf(err, errlen, "%s%s%s", what, r ? ": " : "", r ? r : "");
	ERR_clear_error();
	return code;
}

/* A com_malloc'd copy of a memory BIO's bytes, NUL-terminated. */
static char *
pki_bio_text(BIO *b)
{
	char *p = NULL;
	long n = BIO_get_mem_data(b, &p);
	char *out;

	if (n < 0 || p == NULL) {
		return NULL;
	}
	out = com_malloc((size_t)n + 1);
	if (out != NULL) {
		memcpy(out, p, (size_t)n);
		out[n] = 0;
	}
	return out;
}

static char *
pki_cert_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;

	if (b != NULL && PEM_write_bio_X509(b, x) == 1) {
		out = pki_bio_text(b);
	}
	BIO_free(b);
	return out;
}

static char *
pki_key_pem(EVP_PKEY *k)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *out = NULL;

	if (b != NULL && PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) == 1) {
		out = pki_bio_text(b);
	}
	BIO_free(b);
	return out;
}

static X509 *
pki_read_cert(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return x;
}

static EVP_PKEY *
pki_read_key(const char *pem)
{
	BIO *b = BIO_new_mem_buf(pem, -1);
	EVP_PKEY *k = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;

	BIO_free(b);
	return k;
}

/* Add one X.509v3 extension by its configuration text. */
static int
pki_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (e == NULL) {
		return 0;
	}
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok;
}

/* A fresh certificate for key k: random serial, validity, subject. Not yet signed. */
static X509 *
pki_new_cert(EVP_PKEY *k, const char *cn, const char *org, const char *ou, long days, long start_offset_s)
{
	X509 *x = X509_new();
	X509_NAME *name;
	unsigned char serial[16];
	BIGNUM *bn = NULL;
	time_t now = time(NULL);

	if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1) {
		X509_free(x);
		return NULL;
	}
	serial[0] &= 0x7f; /* a positive serial */
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	name = X509_get_subject_name(x);
	if (bn == NULL || X509_set_version(x, 2) != 1 || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    X509_time_adj_ex(X509_getm_notBefore(x), 0, start_offset_s, &now) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), (int)days, start_offset_s, &now) == NULL ||
	    X509_set_pubkey(x, k) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    (org != NULL && org[0] != 0 &&
		X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, (const unsigned char *)org, -1, -1, 0) != 1) ||
	    (ou != NULL && ou[0] != 0 &&
		X509_NAME_add_entry_by_txt(name, "OU", MBSTRING_UTF8, (const unsigned char *)ou, -1, -1, 0) != 1)) {
		BN_free(bn);
		X509_free(x);
		return NULL;
	}
	BN_free(bn);
	return x;
}

int
lnk_pki_ca_create(const char *cn, long days, char **cert_pem, char **key_pem, char *err, size_t errlen)
{
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	int rv = OCOP_EINTERNAL;

	*cert_pem = NULL;
	*key_pem = NULL;
	if (cn == NULL || cn[0] == 0 || days <= 0 || days > 36500) {
		snprintf(err, errlen, "a CA needs a name and a validity of 1 to 36500 days");
		return OCOP_EINVAL;
	}
	if ((k = EVP_EC_gen("P-256")) == NULL) {
		rv = pki_fail(OCOP_EINTERNAL, "cannot make a key", err, errlen);
		goto out;
	}
	if ((x = pki_new_cert(k, cn, NULL, NULL, days, 0)) == NULL ||
	    X509_set_issuer_name(x, X509_get_subject_name(x)) != 1 ||
	    !pki_ext(x, x, NID_basic_constraints, "critical,CA:TRUE,pathlen:0") ||
	    !pki_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign") ||
	    !pki_ext(x, x, NID_subject_key_identifier, "hash") || X509_sign(x, k, EVP_sha256()) == 0) {
		rv = pki_fail(OCOP_EINTERNAL, "cannot make the CA certificate", err, errlen);
		goto out;
	}
	*cert_pem = pki_cert_pem(x);
	*key_pem = pki_key_pem(k);
	if (*cert_pem == NULL || *key_pem == NULL) {
		com_free(*cert_pem);
		com_free(*key_pem);
		*cert_pem = NULL;
		*key_pem = NULL;
		snprintf(err, errlen, "out of memory");
		rv = OCOP_ENOMEM;
		goto out;
	}
	rv = OCOP_OK;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	return rv;
}

/* subjectAltName text for a comma-separated host list: "DNS:a,IP:127.0.0.1". */
static int
pki_san(const char *hosts, char *out, size_t cap)
{
	char list[512];
	char *save = NULL;
	char *h;
	size_t used = 0;

	if (snprintf(list, sizeof(list), "%s", hosts) >= (int)sizeof(list)) {
		return 0;
	}
	out[0] = 0;
	for (h = strtok_r(list, ",", &save); h != NULL; h = strtok_r(NULL, ",", &save)) {
		bool ip = true;
		const char *p;
		int n;

		while (*h == ' ') {
			h++;
		}
		if (*h == 0) {
			continue;
		}
		for (p = h; *p; p++) {
			if (!((*p >= '0' && *p <= '9') || *p == '.' || *p == ':' || (*p >= 'a' && *p <= 'f') ||
				(*p >= 'A' && *p <= 'F'))) {
				ip = false;
			}
			if (*p == ' ' || *p == '\t') {
				return 0;
			}
		}
		/* A name of hex letters alone ("cafe") is a DNS name: an address has a '.' or ':'. */
		if (strchr(h, '.') == NULL && strchr(h, ':') == NULL) {
			ip = false;
		}
		if (ip && strchr(h, ':') == NULL) {
			for (p = h; *p; p++) {
				if (!((*p >= '0' && *p <= '9') || *p == '.')) {
					ip = false;
				}
			}
		}
		n = snprintf(out + used, cap - used, "%s%s:%s", used ? "," : "", ip ? "IP" : "DNS", h);
		if (n < 0 || (size_t)n >= cap - used) {
			return 0;
		}
		used += (size_t)n;
	}
	return used > 0;
}

int
lnk_pki_issue(const char *ca_cert_pem, const char *ca_key_pem, const lnk_pki_req *r, char **cert_pem,
    char **key_pem, char *err, size_t errlen)
{
	X509 *ca = NULL;
	EVP_PKEY *cakey = NULL;
	EVP_PKEY *k = NULL;
	X509 *x = NULL;
	char san[1024];
	int rv = OCOP_EINTERNAL;

	*cert_pem = NULL;
	*key_pem = NULL;
	if (r->cn == NULL || r->cn[0] == 0 || r->days <= 0 || r->days > 36500) {
		snprintf(err, errlen, "a certificate needs a name and a validity of 1 to 36500 days");
		return OCOP_EINVAL;
	}
	if (r->server && (r->hosts == NULL || !pki_san(r->hosts, san, sizeof(san)))) {
		snprintf(err, errlen, "a server certificate needs its host names or addresses, comma-separated");
		return OCOP_EINVAL;
	}
	if ((ca = pki_read_cert(ca_cert_pem)) == NULL || (cakey = pki_read_key(ca_key_pem)) == NULL ||
	    X509_check_private_key(ca, cakey) != 1) {
		rv = pki_fail(OCOP_EINPUT, "the CA certificate or key does not parse, or they do not match", err,
		    errlen);
		goto out;
	}
	if ((k = EVP_EC_gen("P-256")) == NULL) {
		rv = pki_fail(OCOP_EINTERNAL, "cannot make a key", err, errlen);
		goto out;
	}
	if ((x = pki_new_cert(k, r->cn, r->org, r->role, r->days, r->start_offset_s)) == NULL ||
	    X509_set_issuer_name(x, X509_get_subject_name(ca)) != 1 ||
	    !pki_ext(x, ca, NID_basic_constraints, "critical,CA:FALSE") ||
	    !pki_ext(x, ca, NID_key_usage, "critical,digitalSignature,keyAgreement") ||
	    !pki_ext(x, ca, NID_ext_key_usage, r->server ? "serverAuth" : "clientAuth") ||
	    !pki_ext(x, ca, NID_authority_key_identifier, "keyid:always") ||
	    (r->server && !pki_ext(x, ca, NID_subject_alt_name, san)) || X509_sign(x, cakey, EVP_sha256()) == 0) {
		rv = pki_fail(OCOP_EINTERNAL, "cannot make the certificate", err, errlen);
		goto out;
	}
	*cert_pem = pki_cert_pem(x);
	*key_pem = pki_key_pem(k);
	if (*cert_pem == NULL || *key_pem == NULL) {
		com_free(*cert_pem);
		com_free(*key_pem);
		*cert_pem = NULL;
		*key_pem = NULL;
		snprintf(err, errlen, "out of memory");
		rv = OCOP_ENOMEM;
		goto out;
	}
	rv = OCOP_OK;
out:
	X509_free(x);
	EVP_PKEY_free(k);
	EVP_PKEY_free(cakey);
	X509_free(ca);
	return rv;
}

int
lnk_pki_cert_info(const char *cert_pem, lnk_tls_peer *out)
{
	X509 *x = pki_read_cert(cert_pem);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	struct tm tm;
	unsigned i;

	memset(out, 0, sizeof(*out));
	if (x == NULL) {
		ERR_clear_error();
		return OCOP_EINPUT;
	}
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName, out->cn, sizeof(out->cn));
	if (X509_digest(x, EVP_sha256(), md, &mdlen) == 1) {
		for (i = 0; i < mdlen && 2 * i + 2 < sizeof(out->sha256); i++) {
			snprintf(out->sha256 + 2 * i, 3, "%02x", md[i]);
		}
	}
	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
		strftime(out->not_after, sizeof(out->not_after), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	X509_free(x);
	return OCOP_OK;
}

int
lnk_pki_check(const char *ca_pem, const char *cert_pem, const char *key_pem, char *err, size_t errlen)
{
	X509 *ca = pki_read_cert(ca_pem);
	X509 *x = pki_read_cert(cert_pem);
	EVP_PKEY *k = key_pem ? pki_read_key(key_pem) : NULL;
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	int rv = OCOP_EINPUT;

	if (ca == NULL) {
		snprintf(err, errlen, "the CA certificate does not parse (PEM expected)");
	} else if (x == NULL) {
		snprintf(err, errlen, "the certificate does not parse (PEM expected)");
	} else if (key_pem != NULL && (k == NULL || X509_check_private_key(x, k) != 1)) {
		snprintf(err, errlen, "the key does not parse or is not the certificate's key");
	} else if (store == NULL || ctx == NULL || X509_STORE_add_cert(store, ca) != 1 ||
	    X509_STORE_CTX_init(ctx, store, x, NULL) != 1) {
		snprintf(err, errlen, "out of memory");
		rv = OCOP_ENOMEM;
	} else if (X509_verify_cert(ctx) != 1) {
		snprintf(err, errlen, "the certificate is not valid under this CA: %s",
		    X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
	} else {
		rv = OCOP_OK;
	}
	ERR_clear_error();
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	EVP_PKEY_free(k);
	X509_free(x);
	X509_free(ca);
	return rv;
}
