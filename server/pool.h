/*
 * pool.h: how a serving server shares its database between requests served
 * at once: PULLs and HELLOs run on read connections of their own, each in a
 * read transaction that sees one snapshot of the file (SQLite's WAL mode lets
 * readers and the writer proceed together), while PUSHes and ACKs take turns
 * on the one writing connection. A reader's connection keeps a small page
 * cache, so many readers stay cheap in memory.
 */
#ifndef OCOP_SERVER_POOL_H
#define OCOP_SERVER_POOL_H

#include <stddef.h>

#include "common/store/store.h"

#define SRV_POOL_READERS 4      /* default read connections */
#define SRV_POOL_CACHE_KIB 2048 /* page cache of one read connection */

typedef struct srv_pool srv_pool;

/*
 * Open n read connections (0 = SRV_POOL_READERS) on the replica at path, with
 * log (borrowed, may be NULL). Constructor. Returns OCOP_OK, OCOP_ENOENT,
 * OCOP_EDB, OCOP_ENOMEM. Caller closes with srv_pool_close(), after every
 * request using it has finished.
 */
int srv_pool_open(srv_pool **out /* OUT */, const char *path, int n, const com_log *log);
/* Close every read connection. Accepts NULL. Destructor. */
void srv_pool_close(srv_pool *p);

/* Take a free read connection, waiting for one. Give it back with srv_pool_give(). Threads: any. */
sto_db *srv_pool_take(srv_pool *p);
/* Give back a connection taken with srv_pool_take(). Cannot fail. */
void srv_pool_give(srv_pool *p, sto_db *db);

/* Take and release the writer's turn. Threads: any; not recursive. Cannot fail. */
void srv_pool_write_lock(srv_pool *p);
void srv_pool_write_unlock(srv_pool *p);

#endif /* OCOP_SERVER_POOL_H */
