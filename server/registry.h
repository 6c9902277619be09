/*
 * registry.h: the sites a server serves (the store's peer table): registering a
 * site with its role, scope and a fresh credential, authenticating a request,
 * the per-site high-water mark and pull cursor, and the site's life at the
 * server: its certificate, revocation, rotation of its secrets, its scope.
 * Credentials are stored as SHA-256 digests, never as given; the key of a
 * site's bundles is derived from its credential (protocol/bundle.h).
 */
#ifndef OCOP_SERVER_REGISTRY_H
#define OCOP_SERVER_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/siteauth.h"
#include "common/store/store.h"

#define SRV_CREDENTIAL_LEN 48 /* hex characters of a generated credential */

typedef struct srv_peer {
	char site[37];     /* site UUID */
	char role[16];     /* its role */
	char scope[256];   /* its unit scope */
	char name[128];    /* a label for operators */
	uint64_t high_water; /* highest site_seq of this site processed */
	uint64_t cursor;   /* last cursor the site acknowledged */
	char last_seen[32]; /* ISO time of its last request, "" if never */
	sto_siteauth auth;  /* certificate, bundle key, revocation, rotation */
} srv_peer;

/*
 * Register a site (site_id NULL: generate one) and write a new credential
 * (SRV_CREDENTIAL_LEN hex chars + NUL) to cred. Returns OCOP_OK, OCOP_EEXIST,
 * OCOP_EINVAL (bad UUID or role), OCOP_EDB.
 */
int srv_registry_add(sto_db *db, const char *site_id, const char *role, const char *scope,
    const char *name, char site_out[37], char cred[SRV_CREDENTIAL_LEN + 1]);
/*
 * Check a request's site and credential and load the peer. Returns OCOP_OK,
 * OCOP_ESITE (unknown site), OCOP_EAUTH (wrong credential), OCOP_EDB.
 */
int srv_registry_auth(sto_db *db, const char *site, const char *credential, srv_peer *out /* OUT */);
/*
 * May this server register a site of role with scope? A province server
 * serves communes, districts, its own province office and council members
 * within its scope; a national server serves provinces, the national office
 * and national council members. Every scope entry must lie within the
 * server's own scope. Returns OCOP_OK or OCOP_EINVAL (err says why).
 */
int srv_registry_check(sto_db *db, const char *role, const char *scope, char *err, size_t errlen);
/*
 * Give a registered site new secrets: a new credential (written to cred,
 * SRV_CREDENTIAL_LEN hex chars + NUL) with its bundle key, and the
 * fingerprint and expiry of the certificate just issued to it ("" for none).
 * rotated records the time (a rotation, not the first issue). The old
 * credential and certificate stop working at the next request.
 * Returns OCOP_OK, OCOP_ESITE, OCOP_EDB, OCOP_EINTERNAL.
 */
int srv_registry_new_secrets(sto_db *db, const char *site, const char *cert_sha256, const char *cert_not_after,
    bool rotated, char cred[SRV_CREDENTIAL_LEN + 1] /* OUT */);
/* Load a peer without authenticating. OCOP_ESITE when unknown. */
int srv_registry_get(sto_db *db, const char *site, srv_peer *out /* OUT */);
/* Record a new high-water mark (inside the caller's transaction). */
int srv_registry_set_high_water(sto_db *db, const char *site, uint64_t hw);
/* Record the cursor a site acknowledged and the time it was seen. */
int srv_registry_set_cursor(sto_db *db, const char *site, uint64_t cursor);
/* Call fn for every registered site, in registration order. */
int srv_registry_each(sto_db *db, void (*fn)(void *arg, const srv_peer *p), void *arg);

#endif /* OCOP_SERVER_REGISTRY_H */
