/*
 * hlc.c: hybrid logical clock (Kulkarni et al., "Logical Physical Clocks", 2014)
 * packed into 64 bits. The skew bound protects every replica from one laptop
 * whose clock is set years ahead: without it, that laptop would win every
 * last-writer-wins race until real time caught up.
 */
#include "common/util/hlc.h"

#include <stddef.h>

#include "common/util/uuid.h"
#include "ocop_err.h"

void
com_hlc_init(com_hlc *h, uint64_t last, uint64_t max_skew_ms, com_clock_fn clock,
    void *clock_arg)
{
	h->last = last;
	h->max_skew_ms = max_skew_ms;
	h->clock = clock;
	h->clock_arg = clock_arg;
}

uint64_t
com_hlc_physical(const com_hlc *h)
{
	uint64_t ms = h->clock ? h->clock(h->clock_arg) : com_time_ms();

	return ms > COM_HLC_MS_MAX ? COM_HLC_MS_MAX : ms;
}

/* The smallest HLC strictly greater than v, or 0 when none exists. */
static uint64_t
hlc_succ(uint64_t v)
{
	if (com_hlc_counter(v) < COM_HLC_COUNTER_MAX) {
		return v + 1;
	}
	if (com_hlc_ms(v) >= COM_HLC_MS_MAX) {
		return 0;
	}
	return com_hlc_make(com_hlc_ms(v) + 1, 0);
}

int
com_hlc_now(com_hlc *h, uint64_t *out)
{
	uint64_t pt = com_hlc_make(com_hlc_physical(h), 0);
	uint64_t next;

	if (pt > h->last) {
		next = pt;
	} else {
		next = hlc_succ(h->last);
		if (next == 0) {
			return OCOP_ERANGE;
		}
	}
	h->last = next;
	*out = next;
	return OCOP_OK;
}

int
com_hlc_update(com_hlc *h, uint64_t remote, uint64_t *out)
{
	uint64_t phys = com_hlc_physical(h);
	uint64_t pt = com_hlc_make(phys, 0);
	uint64_t top;
	uint64_t next;

	if (com_hlc_ms(remote) > phys + h->max_skew_ms) {
		return OCOP_ECLOCK;
	}
	/* The new value must exceed both the local and the remote history. */
	top = h->last > remote ? h->last : remote;
	if (pt > top) {
		next = pt;
	} else {
		next = hlc_succ(top);
		if (next == 0) {
			return OCOP_ERANGE;
		}
	}
	h->last = next;
	*out = next;
	return OCOP_OK;
}

uint64_t
com_hlc_clamp(const com_hlc *h, uint64_t remote, bool *clamped)
{
	uint64_t bound_ms = com_hlc_physical(h) + h->max_skew_ms;
	bool c = com_hlc_ms(remote) > bound_ms;

	if (clamped != NULL) {
		*clamped = c;
	}
	return c ? com_hlc_make(bound_ms, 0) : remote;
}

void
com_hlc_pack(uint64_t h, uint8_t out[8])
{
	int i;

	for (i = 0; i < 8; i++) {
		out[i] = (uint8_t)(h >> (8 * (7 - i)));
	}
}

uint64_t
com_hlc_unpack(const uint8_t in[8])
{
	uint64_t h = 0;
	int i;

	for (i = 0; i < 8; i++) {
		h = (h << 8) | in[i];
	}
	return h;
}
