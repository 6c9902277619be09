/*
 * guard.h: what a server does about failed authentication, per peer address.
 *
 * Each failure counts against the address it came from. Past a few failures
 * in a window the address is blocked for a while and its requests are
 * answered without a look at the registry, so guessing credentials online is
 * slow and a flood of bad requests costs little. Log lines about failures are
 * bounded too: a peer's first failures are logged one by one, the rest as a
 * count when its window ends, and all peers together get at most a few lines
 * a second. The table of peers is bounded (the least recently seen peer is
 * forgotten first), so a flood from many addresses cannot grow it.
 * Thread-safe.
 */
#ifndef OCOP_SERVER_GUARD_H
#define OCOP_SERVER_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/log.h"

#define SRV_GUARD_FAILURES 10     /* failures per window before an address is blocked */
#define SRV_GUARD_WINDOW_MS 60000 /* the counting window */
#define SRV_GUARD_BLOCK_MS 60000  /* how long a block lasts (doubles per repeat, up to 16x) */
#define SRV_GUARD_PEERS 1024      /* addresses tracked at once */
#define SRV_GUARD_LOG_EACH 3      /* failures of a peer logged one by one per window */
#define SRV_GUARD_LOG_BURST 20    /* failure lines per second for all peers together */

typedef struct srv_guard srv_guard;

/* A clock in milliseconds (monotonic); tests replace it. */
typedef uint64_t (*srv_guard_clock)(void *arg);

/*
 * Make a guard logging through log (borrowed, may be NULL). clock may be NULL
 * (the monotonic clock). Constructor. Returns OCOP_OK or OCOP_ENOMEM. Caller
 * closes with srv_guard_close().
 */
int srv_guard_open(srv_guard **out /* OUT */, const com_log *log, srv_guard_clock clock, void *clock_arg);
/* Release. Accepts NULL. Destructor. */
void srv_guard_close(srv_guard *g);

/*
 * Is peer blocked now? *retry_s (may be NULL) says for how many more seconds.
 * A NULL or empty peer (an in-process caller) is never blocked.
 */
bool srv_guard_blocked(srv_guard *g, const char *peer, uint64_t *retry_s /* OUT */);

/*
 * Count one failed authentication from peer and log it within the bounds
 * (what is the operator's detail: which site, why). Cannot fail.
 */
void srv_guard_fail(srv_guard *g, const char *peer, const char *detail);

/* Number of failures counted so far (operator metrics). Cannot fail. */
uint64_t srv_guard_failures(srv_guard *g);

#endif /* OCOP_SERVER_GUARD_H */
