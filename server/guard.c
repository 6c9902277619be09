/*
 * guard.c: per-address counting of failed authentication (see guard.h).
 */
#include "server/guard.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "common/util/alloc.h"
#include "ocop_err.h"

#define GUARD_KEY 64   /* bytes of an address kept */
#define GUARD_PROBE 16 /* slots looked at for one address */

typedef struct guard_peer {
	char key[GUARD_KEY];     /* the address, "" = free slot */
	uint64_t last_seen;      /* ms */
	uint64_t window_start;   /* ms */
	uint32_t failures;       /* in the window */
	uint32_t logged;         /* lines logged in the window */
	uint32_t suppressed;     /* failures not logged in the window */
	uint32_t blocks;         /* times blocked (the block doubles) */
	uint64_t blocked_until;  /* ms, 0 = not blocked */
} guard_peer;

struct srv_guard {
	nng_mtx *mtx;               /* owned */
	const com_log *log;         /* borrowed, may be NULL */
	srv_guard_clock clock;      /* NULL = monotonic */
	void *clock_arg;            /* borrowed */
	uint64_t second;            /* the second of the global log budget */
	uint32_t second_lines;      /* lines logged in it */
	uint64_t second_dropped;    /* lines dropped since the last one */
	uint64_t total;             /* failures counted */
	guard_peer peers[SRV_GUARD_PEERS]; /* the table */
};

static uint64_t
guard_now(srv_guard *g)
{
	struct timespec ts;

	if (g->clock != NULL) {
		return g->clock(g->clock_arg);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int
srv_guard_open(srv_guard **out, const com_log *log, srv_guard_clock clock, void *clock_arg)
{
	srv_guard *g;

	*out = NULL;
	g = com_calloc(1, sizeof(*g));
	if (g == NULL) {
		return OCOP_ENOMEM;
	}
	if (nng_mtx_alloc(&g->mtx) != 0) {
		com_free(g);
		return OCOP_ENOMEM;
	}
	g->log = log;
	g->clock = clock;
	g->clock_arg = clock_arg;
	*out = g;
	return OCOP_OK;
}

void
srv_guard_close(srv_guard *g)
{
	if (g == NULL) {
		return;
	}
	nng_mtx_free(g->mtx);
	com_free(g);
}

static uint32_t
guard_hash(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 16777619u;
	}
	return h;
}

/* The slot of peer, or (add) a new one, evicting the least recently seen of its probe run. */
static guard_peer *
guard_find(srv_guard *g, const char *peer, bool add, uint64_t now)
{
	uint32_t h = guard_hash(peer);
	guard_peer *free_slot = NULL;
	guard_peer *oldest = NULL;
	guard_peer *p;
	int i;

	for (i = 0; i < GUARD_PROBE; i++) {
		p = &g->peers[(h + (uint32_t)i) % SRV_GUARD_PEERS];
		if (p->key[0] == 0) {
			if (free_slot == NULL) {
				free_slot = p;
			}
		} else if (strncmp(p->key, peer, GUARD_KEY - 1) == 0) {
			return p;
		} else if (oldest == NULL || p->last_seen < oldest->last_seen) {
			oldest = p;
		}
	}
	if (!add) {
		return NULL;
	}
	p = free_slot != NULL ? free_slot : oldest;
	memset(p, 0, sizeof(*p));
	snprintf(p->key, sizeof(p->key), "%s", peer);
	p->window_start = now;
	return p;
}

/* May one more failure line be logged this second (for all peers)? Reports the dropped ones. */
static bool
guard_budget(srv_guard *g, uint64_t now)
{
	uint64_t sec = now / 1000u;

	if (sec != g->second) {
		if (g->second_dropped > 0) {
			com_logf(g->log, COM_LOG_WARN, "auth: %llu more failure lines were not logged",
			    (unsigned long long)g->second_dropped);
		}
		g->second = sec;
		g->second_lines = 0;
		g->second_dropped = 0;
	}
	if (g->second_lines < SRV_GUARD_LOG_BURST) {
		g->second_lines++;
		return true;
	}
	g->second_dropped++;
	return false;
}

bool
srv_guard_blocked(srv_guard *g, const char *peer, uint64_t *retry_s)
{
	guard_peer *p;
	uint64_t now;
	bool blocked = false;

	if (retry_s != NULL) {
		*retry_s = 0;
	}
	if (g == NULL || peer == NULL || peer[0] == 0) {
		return false;
	}
	nng_mtx_lock(g->mtx);
	now = guard_now(g);
	p = guard_find(g, peer, false, now);
	if (p != NULL && p->blocked_until > now) {
		blocked = true;
		if (retry_s != NULL) {
			*retry_s = (p->blocked_until - now + 999u) / 1000u;
		}
	}
	nng_mtx_unlock(g->mtx);
	return blocked;
}

void
srv_guard_fail(srv_guard *g, const char *peer, const char *detail)
{
	guard_peer *p;
	uint64_t now;

	if (g == NULL) {
		return;
	}
	nng_mtx_lock(g->mtx);
	g->total++;
	now = guard_now(g);
	if (peer == NULL || peer[0] == 0) {
		/* In-process callers are trusted code: log, never block. */
		if (guard_budget(g, now)) {
			com_logf(g->log, COM_LOG_WARN, "authentication failed: %.200s", detail);
		}
		nng_mtx_unlock(g->mtx);
		return;
	}
	p = guard_find(g, peer, true, now);
	p->last_seen = now;
	if (now - p->window_start >= SRV_GUARD_WINDOW_MS) {
		if (p->suppressed > 0 && guard_budget(g, now)) {
			com_logf(g->log, COM_LOG_WARN, "auth: %u more failed attempts from %s were not logged one by one",
			    p->suppressed, p->key);
		}
		p->window_start = now;
		p->failures = 0;
		p->logged = 0;
		p->suppressed = 0;
	}
	p->failures++;
	if (p->logged < SRV_GUARD_LOG_EACH && guard_budget(g, now)) {
		p->logged++;
		com_logf(g->log, COM_LOG_WARN, "authentication failed from %s: %.200s", p->key, detail);
	} else {
		p->suppressed++;
	}
	if (p->failures >= SRV_GUARD_FAILURES && p->blocked_until <= now) {
		uint64_t ms = (uint64_t)SRV_GUARD_BLOCK_MS << (p->blocks < 4 ? p->blocks : 4);
		p->blocks++;
		p->blocked_until = now + ms;
		p->failures = 0;
		if (guard_budget(g, now)) {
			com_logf(g->log, COM_LOG_WARN, "auth: %s blocked for %llu s after %d failed attempts", p->key,
			    (unsigned long long)(ms / 1000u), SRV_GUARD_FAILURES);
		}
	}
	nng_mtx_unlock(g->mtx);
}

uint64_t
srv_guard_failures(srv_guard *g)
{
	uint64_t n;

	if (g == NULL) {
		return 0;
	}
	nng_mtx_lock(g->mtx);
	n = g->total;
	nng_mtx_unlock(g->mtx);
	return n;
}
