/*
 * simfiles.h: evidence files in the seeded simulations (fault.sim, fault.sim3):
 * small files attached to documents (some contents shared between sites, so
 * the same bytes meet on two documents), the file phase of a site's sync over
 * the simulation's faulty link, what a lying site tries with files (chunks of
 * a file no document of its scope names, wrong bytes for a name, another
 * unit's file, a file named by a document of its own, a damaged chunk), and
 * the oracle: every node holds whole and verified exactly the files its
 * scope's documents name, and nothing a liar could not have.
 */
#ifndef OCOP_TESTS_FAULT_SIMFILES_H
#define OCOP_TESTS_FAULT_SIMFILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/sync.h"
#include "common/store/blob.h"
#include "common/store/merge.h"
#include "common/store/store.h"
#include "common/store/xfer.h"
#include "common/util/fault.h"
#include "server/service.h"

#define SF_MAX_ADDED 64     /* files one node adds in a seed, at most */
#define SF_CHUNK 512u       /* the simulated server's chunk: files of a few chunks */

/* The evidence files of one simulated site. */
typedef struct sf_node {
	sto_blobs *b;                             /* its file store, owned */
	uint8_t added[SF_MAX_ADDED][STO_SHA_LEN]; /* the files it attached itself */
	int nadded;                               /* how many */
} sf_node;

/* Open the file store beside db (and its bookkeeping). Returns 0 or -1. */
int sf_open(sf_node *n, sto_db *db);
/* Close it. Cannot fail. */
void sf_close(sf_node *n);

/*
 * Attach a small file (0 to 2 KB; one time in three one of a few contents
 * every site shares) to dossier `dossier` at db, as a clerk's `document add
 * --file` would: the bytes into the store, then the row naming them. dir is
 * a scratch directory. Returns 0, or -1 when the row was refused (fine).
 */
int sf_attach(sto_db *db, sf_node *n, const char *dir, const char *dossier, unsigned *rng);

/* The file phase of a sync over transport t (with the simulation's crash points). Returns its code. */
int sf_sync(sto_db *db, const sto_policy *pol, sf_node *n, const cli_transport *t, const char *cred,
    const com_fault *fault, char *err, size_t errlen);

#define SF_LIE_KINDS 5 /* the kinds of sf_lie */

/*
 * A lying site's move with files (kind 0 to SF_LIE_KINDS - 1, or -1 for one
 * the seed picks), straight to the server (not through the faulty link), and
 * the server's answer checked at once. Returns the number of lies the server
 * took (0 when all were refused as they must be).
 */
int sf_lie(srv_service *svc, sto_db *liar, sf_node *n, const char *cred, int kind, unsigned *rng, unsigned seed);

/*
 * The oracle, after the network healed and everyone synced: the server holds
 * whole and verified every file a live document names whose writer holds it;
 * each site holds whole and verified every file the server holds that a live
 * document of its scope names (as the server places it), except a file only
 * its own document names and it never had; every file a node holds hashes to
 * its name; a site holds nothing but what it attached or what a document of
 * another site that it holds names; the server nothing no document names.
 * sites[i], nodes[i] and scopes[i] for n sites. Returns the number of failures.
 */
int sf_check(sto_db *server, sto_blobs *sb, const sto_policy *pol, sto_db *const *sites, sf_node *const *nodes,
    const char *const *scopes, int n, unsigned seed);

/*
 * The relay's oracle: every live document at the upper server (the nation)
 * that names a file the lower one (the province) holds whole has that file
 * whole at the upper one. Returns the number of failures.
 */
int sf_check_relay(sto_db *lower, sto_blobs *lb, sto_db *upper, sto_blobs *ub, unsigned seed);

#endif /* OCOP_TESTS_FAULT_SIMFILES_H */
