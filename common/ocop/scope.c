/*
 * scope.c: scope matching (see scope.h).
 */
#include "common/ocop/scope.h"

#include <stdio.h>
#include <string.h>

#include "common/store/merge.h"
#include "ocop_err.h"

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

#define SCOPE_HOPS 8 /* successions followed at most (a loop in the unit rows stops here) */

bool
ocp_scope_covers_at(sto_db *db, const ocp_units *u, const char *scope, const char *code)
{
	char cur[128];
	char prefix[128];
	char next[128];
	int hops;

	if (code == NULL || code[0] == 0 || strlen(code) >= sizeof(cur)) {
		return false;
	}
	snprintf(cur, sizeof(cur), "%s", code);
	for (hops = 0; hops < SCOPE_HOPS; hops++) {
		size_t n;
		bool moved = false;
		if (ocp_scope_covers(scope, cur)) {
			return true;
		}
		/* The nearest unit at or above cur that has a successor: replace it. */
		snprintf(prefix, sizeof(prefix), "%s", cur);
		for (n = strlen(prefix); n > 0 && !moved;) {
			char *dash;
			prefix[n] = 0;
			if (sto_unit_successor(db, prefix, next, sizeof(next)) == OCOP_OK && next[0] != 0 &&
			    strlen(next) + strlen(cur + n) < sizeof(cur)) {
				size_t a = strlen(next);
				memmove(cur + a, cur + n, strlen(cur + n) + 1);
				memcpy(cur, next, a);
				moved = true;
				break;
			}
			dash = strrchr(prefix, '-');
			n = dash != NULL ? (size_t)(dash - prefix) : 0;
		}
		if (!moved && u != NULL && ocp_units_successor(u, cur, next, sizeof(next)) &&
		    strcmp(next, cur) != 0 && strlen(next) < sizeof(cur)) {
			/* A former province: the shipped succession (83-28882 -> 86-28882). */
			size_t seg = strcspn(cur, "-");
			if (strlen(next) + strlen(cur + seg) < sizeof(cur)) {
				memmove(cur + strlen(next), cur + seg, strlen(cur + seg) + 1);
				memcpy(cur, next, strlen(next));
				moved = true;
			}
		}
		if (!moved) {
			return false;
		}
	}
	return false;
}
