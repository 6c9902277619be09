/*
 * peer.h: the sites a server serves, as its store keeps them (the peer
 * table): role, scope, a label, the digest of the site's credential, the
 * highest change of the site processed and the pull cursor it acknowledged.
 * The server's registry (server/registry.c) decides with these; this file
 * only stores them. The identity columns are siteauth.h's.
 */
#ifndef OCOP_STORE_PEER_H
#define OCOP_STORE_PEER_H

#include <stdint.h>

#include "common/store/store.h"

typedef struct sto_peer {
	char site[37];       /* site UUID */
	char role[16];       /* its registered role */
	char scope[256];     /* its registered unit scope */
	char name[128];      /* a label for operators */
	char cred_digest[65]; /* hex SHA-256 of its credential */
	uint64_t high_water; /* highest seq of this site processed */
	uint64_t cursor;     /* last cursor the site acknowledged */
	char last_seen[32];  /* ISO time of its last request, "" if never */
} sto_peer;

/*
 * Register a site with its credential digest and bundle key (hex).
 * Returns OCOP_OK, OCOP_EEXIST (already registered), OCOP_EDB.
 */
int sto_peer_add(sto_db *db, const char *site, const char *role, const char *scope, const char *name,
    const char *cred_digest, const char *mac_key);

/* Load one site. Returns OCOP_OK, OCOP_ESITE (not registered), OCOP_EDB. */
int sto_peer_get(sto_db *db, const char *site, sto_peer *out /* OUT */);

/* Record the highest change processed and the time (inside the caller's transaction). */
int sto_peer_set_high_water(sto_db *db, const char *site, uint64_t hw);

/* Record the cursor a site acknowledged (never moving it back) and the time. */
int sto_peer_set_cursor(sto_db *db, const char *site, uint64_t cursor);

/*
 * Call fn for every registered site id, in registration order; a non-OK
 * return from fn stops the walk and is returned.
 */
int sto_peer_each(sto_db *db, int (*fn)(void *arg, const char *site), void *arg);

#endif /* OCOP_STORE_PEER_H */
