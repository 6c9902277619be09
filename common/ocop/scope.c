/*
 * scope.c: scope matching (see scope.h).
 */
#include "common/ocop/scope.h"

#include <string.h>

/* Does `code` lie under the unit `entry` (n bytes): equal, or entry followed by '-'? */
static bool
scope_under(const char *code, const char *entry, size_t n)
{
	return n > 0 && strncmp(code, entry, n) == 0 && (code[n] == 0 || code[n] == '-');
}

/* Call fn on each entry of the list, trimmed; true as soon as fn is. */
static bool
scope_any(const char *scope, const char *code, bool (*fn)(const char *code, const char *entry, size_t n))
{
	const char *p = scope;

	if (scope == NULL || code == NULL || code[0] == 0) {
		return false;
	}
	while (*p) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n > 0 && *p == ' ') {
			p++;
			n--;
		}
		while (n > 0 && p[n - 1] == ' ') {
			n--;
		}
		if (fn(code, p, n)) {
			return true;
		}
		if (!end) {
			break;
		}
		p = end + 1;
	}
	return false;
}

static bool
scope_covers_one(const char *code, const char *entry, size_t n)
{
	return (n == 2 && strncmp(entry, "VN", 2) == 0) || scope_under(code, entry, n);
}

static bool
scope_touches_one(const char *code, const char *entry, size_t n)
{
	size_t m = strlen(code);
	/* code is an ancestor of the entry: the entry lies under the code */
	return scope_covers_one(code, entry, n) ||
	    (m > 0 && m <= n && strncmp(entry, code, m) == 0 && (m == n || entry[m] == '-'));
}

bool
ocp_scope_covers(const char *scope, const char *code)
{
	return scope_any(scope, code, scope_covers_one);
}

bool
ocp_scope_touches(const char *scope, const char *code)
{
	return scope_any(scope, code, scope_touches_one);
}
