/*
 * alloc.c: malloc wrappers with a fault-injection countdown for tests.
 */
#include "common/util/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static long alloc_countdown = -1;     /* -1: never fail; else successes left */
static unsigned long alloc_total = 0; /* allocations attempted through the seam */

static int
alloc_should_fail(void)
{
	alloc_total++;
	if (alloc_countdown < 0) {
		return 0;
	}
	if (alloc_countdown == 0) {
		return 1;
	}
	alloc_countdown--;
	return 0;
}

void
com_alloc_fail_after(long countdown)
{
	alloc_countdown = countdown;
}

unsigned long
com_alloc_count(void)
{
	return alloc_total;
}

void *
com_malloc(size_t n)
{
	if (alloc_should_fail()) {
		return NULL;
	}
	return malloc(n == 0 ? 1 : n);
}

void *
com_calloc(size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size) {
		return NULL;
	}
	if (alloc_should_fail()) {
		return NULL;
	}
	return calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
}

void *
com_realloc(void *p, size_t n)
{
	if (alloc_should_fail()) {
		return NULL;
	}
	return realloc(p, n == 0 ? 1 : n);
}

void
com_free(void *p)
{
	free(p);
}

char *
com_strndup(const char *s, size_t n)
{
	char *d;

	if (n == SIZE_MAX) {
		return NULL;
	}
	d = com_malloc(n + 1);
	if (d == NULL) {
		return NULL;
	}
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

char *
com_strdup(const char *s)
{
	return com_strndup(s, strlen(s));
}
