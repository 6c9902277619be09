/*
 * alloc.h: the allocation seam. Every project allocation goes through these, so
 * fault tests can fail the k-th allocation and check that each failure is a clean
 * OCOP_ENOMEM. SQLite and msgpack memory is released with their own functions.
 */
#ifndef OCOP_UTIL_ALLOC_H
#define OCOP_UTIL_ALLOC_H

#include <stddef.h>

/* Allocate n bytes. Returns NULL on failure. Caller frees with com_free(). */
void *com_malloc(size_t n);
/* Allocate n*size zeroed bytes, NULL on overflow or failure. Caller frees with com_free(). */
void *com_calloc(size_t n, size_t size);
/* Resize p to n bytes; on failure returns NULL and p is untouched. */
void *com_realloc(void *p, size_t n);
/* Release memory from the functions above. Accepts NULL. Cannot fail. */
void com_free(void *p);
/* Duplicate a NUL-terminated string. Caller frees with com_free(). */
char *com_strdup(const char *s);
/* Duplicate n bytes of s and terminate them. Caller frees with com_free(). */
char *com_strndup(const char *s, size_t n);

/*
 * Test seam: after `countdown` more successful allocations, every allocation fails
 * until com_alloc_fail_after(-1) switches failures off. The only mutable global of
 * the libraries, deliberately: it exists for fault tests and is off by default.
 * Threads: not thread-safe; set it only while one thread allocates.
 */
void com_alloc_fail_after(long countdown);
/* Number of allocations made by the seam so far (tests use it for budgets). */
unsigned long com_alloc_count(void);

#endif /* OCOP_UTIL_ALLOC_H */
