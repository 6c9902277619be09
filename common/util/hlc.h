/*
 * hlc.h: hybrid logical clock, 64 bits = 48-bit Unix ms << 16 | 16-bit counter.
 *
 * Advanced on every local write (com_hlc_now) and on every received change
 * (com_hlc_update). Comparing two HLC values as integers orders events
 * consistently with causality; ties between sites are broken by site_id elsewhere.
 * The physical clock is a seam so tests and the simulation can skew it.
 */
#ifndef OCOP_UTIL_HLC_H
#define OCOP_UTIL_HLC_H

#include <stdbool.h>
#include <stdint.h>

#define COM_HLC_MS_MAX ((UINT64_C(1) << 48) - 1)
#define COM_HLC_COUNTER_MAX UINT64_C(0xffff)

typedef uint64_t (*com_clock_fn)(void *arg); /* returns Unix milliseconds */

typedef struct com_hlc {
	uint64_t last;        /* last HLC handed out or merged */
	uint64_t max_skew_ms; /* remote clocks further ahead than this are refused */
	com_clock_fn clock;   /* physical clock; NULL means the wall clock */
	void *clock_arg;      /* borrowed; passed to clock */
} com_hlc;

/* Compose an HLC from milliseconds and counter (both truncated to their widths). */
static inline uint64_t
com_hlc_make(uint64_t ms, uint64_t counter)
{
	return ((ms & COM_HLC_MS_MAX) << 16) | (counter & COM_HLC_COUNTER_MAX);
}
static inline uint64_t
com_hlc_ms(uint64_t h)
{
	return h >> 16;
}
static inline uint64_t
com_hlc_counter(uint64_t h)
{
	return h & COM_HLC_COUNTER_MAX;
}

/*
 * Initialise in place. `last` is the highest HLC this node has persisted (so a
 * restarted node never goes backwards); clock may be NULL for the wall clock.
 * Cannot fail.
 */
void com_hlc_init(com_hlc *h, uint64_t last, uint64_t max_skew_ms, com_clock_fn clock,
    void *clock_arg);

/*
 * Tick for a local event and return the new HLC in *out; strictly greater than
 * every value handed out or merged before. When the 16-bit counter is full the
 * millisecond part is advanced by one (the clock runs briefly ahead of wall time
 * rather than repeating a value). Returns OCOP_OK, or OCOP_ERANGE when the 48-bit
 * millisecond space is exhausted.
 */
int com_hlc_now(com_hlc *h, uint64_t *out /* OUT */);

/*
 * Merge a remote HLC on receipt and return the new local HLC, greater than both
 * the remote and every earlier local value. Returns OCOP_OK; OCOP_ECLOCK (clock
 * untouched) when the remote's milliseconds are more than max_skew_ms ahead of
 * the physical clock; OCOP_ERANGE on exhaustion.
 */
int com_hlc_update(com_hlc *h, uint64_t remote, uint64_t *out /* OUT */);

/*
 * The value a server stores for a remote HLC: the remote itself when within the
 * skew bound, else the bound (physical + skew, counter 0). *clamped says which.
 * Cannot fail.
 */
uint64_t com_hlc_clamp(const com_hlc *h, uint64_t remote, bool *clamped /* OUT, may be NULL */);

/* Physical time as this clock sees it (the seam or the wall clock). */
uint64_t com_hlc_physical(const com_hlc *h);

/* Write the HLC as 8 big-endian bytes. Cannot fail. */
void com_hlc_pack(uint64_t h, uint8_t out[8]);
/* Read 8 big-endian bytes. Cannot fail. */
uint64_t com_hlc_unpack(const uint8_t in[8]);

#endif /* OCOP_UTIL_HLC_H */
