/*
 * units_impl.h: what units.c and unitfile.c share and nobody else may use:
 * the object's fields, the fields of a units line, and the sorted array's
 * helpers. Internal to common/ocop/; the API is units.h's.
 */
#ifndef OCOP_OCOP_UNITS_IMPL_H
#define OCOP_OCOP_UNITS_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "common/ocop/units.h"

#define UNITS_MAX_HOPS 16   /* successor chain length before calling it a loop */
#define UNITS_NAME_MAX 512  /* bytes of a unit's name (schema.c NAME_MAX_B) */
#define UNITS_FILE_MAX (16u << 20) /* a units file larger than this is not a units file */

enum { F_CODE, F_NAME, F_LEVEL, F_PARENT, F_FROM, F_TO, F_SUCC, F_COUNT };

struct ocp_units {
	ocp_unit *v; /* owned units, sorted (units_sort) */
	size_t n;    /* units used */
	size_t cap;  /* units allocated */
};

/* Write a message into err (may be NULL) and return OCOP_EINPUT. */
int units_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A unit without valid_to is in force. */
bool units_is_current(const ocp_unit *e);

/* Number of '-' separated segments of a code. */
int units_code_segments(const char *code);

/* The province segment of a code ("83" of "83-833-28966"). */
void units_code_province(const char *code, char out[8]);

/* Append a unit from the seven fields (checked by the caller; nothing is kept of f). */
int units_push(ocp_units *u, char *const f[F_COUNT], bool shipped);

/* Sort u's array: by code, the preferred unit of a code first. */
void units_sort(ocp_units *u);

/* The former unit of code that names a successor, or NULL. */
const ocp_unit *units_former(const ocp_units *u, const char *code);

#endif /* OCOP_OCOP_UNITS_IMPL_H */
