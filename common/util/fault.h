/*
 * fault.h: named crash points, a seam for fault tests.
 *
 * Code that commits state in steps calls com_fault_hit(f, "point") between
 * them; when the test's callback says so, the code stops there as if the
 * process had died (it rolls back what is uncommitted and returns
 * OCOP_ECLOSED), and the test restarts the node from its database file.
 * With no callback installed (production) every point is a no-op.
 */
#ifndef OCOP_UTIL_FAULT_H
#define OCOP_UTIL_FAULT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct com_fault {
	bool (*crash)(void *arg, const char *point); /* true: die at this point */
	void *arg;                                    /* borrowed; passed to crash */
} com_fault;

/* True when the fault seam f (may be NULL) says to crash at point. */
static inline bool
com_fault_hit(const com_fault *f, const char *point)
{
	return f != NULL && f->crash != NULL && f->crash(f->arg, point);
}

#endif /* OCOP_UTIL_FAULT_H */
