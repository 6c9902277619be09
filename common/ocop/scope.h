/*
 * scope.h: the one scope matcher: does a site's scope cover an administrative
 * unit? A scope is a comma-separated list of unit codes ("83-28882,83-28885"),
 * a province code ("83"), or "VN" for the nation. A unit is covered by an
 * entry equal to it or to one of its ancestors (codes nest by '-' segments:
 * 83 > 83-28882). Every check of scope (the server's PULL filter, the merge's
 * authority, a laptop's own refusals, the tests' oracles) uses these.
 */
#ifndef OCOP_OCOP_SCOPE_H
#define OCOP_OCOP_SCOPE_H

#include <stdbool.h>

#include "common/ocop/units.h"
#include "common/store/store.h"

/* True when `scope` covers unit `code`; false for an empty code (a row of no unit). */
bool ocp_scope_covers(const char *scope, const char *code);

/*
 * True when `code` is covered by `scope` or is an ancestor of one of its
 * entries (a commune of 83 may name province 83 as its province).
 */
bool ocp_scope_touches(const char *scope, const char *code);

/*
 * ocp_scope_covers(), also through the succession of units (NQ 202/2025): a
 * code of a former unit, or of a unit under one, is covered when the unit
 * that succeeded it is (83-28882 under former province 83 is covered by 86).
 * The succession comes from the unit rows of db (a province's imported
 * communes and districts) and, for the provinces, from the shipped reference
 * data u (may be NULL). Cannot fail (a database error counts as not covered).
 */
bool ocp_scope_covers_at(sto_db *db, const ocp_units *u, const char *scope, const char *code);

#endif /* OCOP_OCOP_SCOPE_H */
