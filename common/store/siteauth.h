/*
 * siteauth.h: what a server keeps to authenticate each registered site
 * beyond its credential digest (the peer table's identity columns): the
 * certificate it issued to the site, the key that authenticates the site's
 * bundle files, whether the site was revoked, when its secrets were last
 * rotated, and the last request bundle taken from it. The server's registry
 * (server/registry.c) decides with these; this file only stores them.
 */
#ifndef OCOP_STORE_SITEAUTH_H
#define OCOP_STORE_SITEAUTH_H

#include <stdbool.h>
#include <stdint.h>

#include "common/store/store.h"

typedef struct sto_siteauth {
	char cert_sha256[65];     /* hex SHA-256 of the certificate issued to the site, "" = none */
	char cert_not_after[32];  /* its expiry, ISO 8601, "" = none */
	char mac_key[65];         /* hex key of the site's bundle MACs, "" = none */
	char revoked[32];         /* when the site was revoked, "" = active */
	char revoked_reason[160]; /* why, as the operator wrote it */
	char rotated[32];         /* when its secrets were last replaced, "" = never */
	uint64_t bundle_seq;      /* the highest request bundle number taken from it */
} sto_siteauth;

/* Load a site's identity columns. Returns OCOP_OK, OCOP_ESITE (not registered), OCOP_EDB. */
int sto_siteauth_get(sto_db *db, const char *site, sto_siteauth *out /* OUT */);

/*
 * Replace a site's secrets: its credential digest and bundle key, and its
 * certificate fingerprint and expiry ("" for none). rotated stamps the time.
 * Returns OCOP_OK, OCOP_ESITE, OCOP_EDB.
 */
int sto_siteauth_set_secrets(sto_db *db, const char *site, const char *cred_digest, const char *mac_key,
    const char *cert_sha256, const char *cert_not_after, bool rotated);

/* Record the certificate just issued to a site (fingerprint, expiry). Returns OCOP_OK, OCOP_ESITE, OCOP_EDB. */
int sto_siteauth_set_cert(sto_db *db, const char *site, const char *cert_sha256, const char *cert_not_after);

/* Mark a site revoked now, with a reason. Returns OCOP_OK, OCOP_ESITE, OCOP_EDB. */
int sto_siteauth_revoke(sto_db *db, const char *site, const char *reason);

/* Change a site's registered scope. Returns OCOP_OK, OCOP_ESITE, OCOP_EDB. */
int sto_siteauth_set_scope(sto_db *db, const char *site, const char *scope);

/*
 * Take request bundle number seq from site: recorded when it is above the
 * last one taken. Returns OCOP_OK, OCOP_ESTATE (not above: a replay or an
 * older file), OCOP_ESITE, OCOP_EDB.
 */
int sto_siteauth_take_bundle(sto_db *db, const char *site, uint64_t seq);

/*
 * Count the other active sites registered with this name whose scope shares
 * an entry with scope (a duplicate an operator should hear about).
 */
int sto_siteauth_same_name(sto_db *db, const char *name, const char *scope, const char *except_site,
    int *count /* OUT */);

#endif /* OCOP_STORE_SITEAUTH_H */
