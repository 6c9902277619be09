/*
 * registry.h: the sites a server serves (the store's peer table): registering a
 * site with its role, scope and a fresh credential, authenticating a request,
 * and the per-site high-water mark and pull cursor.
 * Credentials are stored as SHA-256 digests, never as given.
 */
#ifndef OCOP_SERVER_REGISTRY_H
#define OCOP_SERVER_REGISTRY_H

#include <stddef.h>
#include <stdint.h>

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
/* Load a peer without authenticating. OCOP_ESITE when unknown. */
int srv_registry_get(sto_db *db, const char *site, srv_peer *out /* OUT */);
/* Record a new high-water mark (inside the caller's transaction). */
int srv_registry_set_high_water(sto_db *db, const char *site, uint64_t hw);
/* Record the cursor a site acknowledged and the time it was seen. */
int srv_registry_set_cursor(sto_db *db, const char *site, uint64_t cursor);
/* Call fn for every registered site, in registration order. */
int srv_registry_each(sto_db *db, void (*fn)(void *arg, const srv_peer *p), void *arg);

#endif /* OCOP_SERVER_REGISTRY_H */
