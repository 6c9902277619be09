/*
 * units.h: administrative units as reference data: the 34 provinces in force
 * from 2025-07-01 and the 63 former ones with their succession (shipped in
 * data/units/), and the communes and former districts a province imports as
 * replicated `unit` rows. Answers what a code names, at which level, which
 * current province took a former code over, and which unit a record rolls up
 * to in a report (as recorded, by former district, by province, or through the
 * succession to today's units).
 *
 * Codes are never rewritten (OCOP.md Decision 6): this module only maps them.
 * It does not judge scope (scope.h does) and writes nothing except through
 * ocp_units_import().
 */
#ifndef OCOP_OCOP_UNITS_H
#define OCOP_OCOP_UNITS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/store/store.h"

/* The header of a units CSV (shipped files and `ocop unit import` alike). */
#define OCP_UNITS_HEADER "code,name,level,parent_code,valid_from,valid_to,successor_code"

/* The level a report groups units at. */
typedef enum ocp_unit_level {
	OCP_LEVEL_COMMUNE = 0,  /* the unit as recorded (a commune, or whatever was recorded) */
	OCP_LEVEL_DISTRICT = 1, /* the former district (districts ended on 2025-07-01) */
	OCP_LEVEL_PROVINCE = 2, /* the province */
} ocp_unit_level;

/* One unit. Borrowed from its ocp_units. */
typedef struct ocp_unit {
	char code[32];        /* as issued: "86", "83-833", "86-28969" */
	char *name;           /* owned by the ocp_units; "Tỉnh Bến Tre" */
	char level[12];       /* "province", "district" or "commune" */
	char parent[32];      /* parent code or "" */
	char valid_from[11];  /* YYYY-MM-DD or "" */
	char valid_to[11];    /* YYYY-MM-DD or "": a unit with valid_to is a former one */
	char successor[32];   /* the unit that took it over, or "" */
	bool shipped;         /* from data/units/ (true) or a `unit` row of the replica */
} ocp_unit;

/* The units known to one program. Opaque heap object. */
typedef struct ocp_units ocp_units;

/*
 * Load the shipped units: <data_dir>/units/provinces-2025.csv (current) and
 * provinces-2004.csv (former, with successors), and check them: every
 * successor is a current province, every current province succeeds at least
 * one former one.
 * Constructor of ocp_units. On error *out is NULL and err says which file and line.
 * Returns: OCOP_OK; OCOP_ENOENT (a file is missing); OCOP_EINPUT (a bad line);
 * OCOP_ENOMEM.
 * Ownership: caller frees *out with ocp_units_free().
 */
int ocp_units_open(ocp_units **out /* OUT */, const char *data_dir, char *err, size_t errlen);

/* Release the units. Accepts NULL. Cannot fail. Destructor of ocp_units. */
void ocp_units_free(ocp_units *u);

/*
 * Add the live `unit` rows of db (communes and former districts the province
 * imported, units added by hand) to u. A row whose code is also shipped is
 * kept beside the shipped unit; lookups prefer a current unit, then a row of
 * the replica.
 * Returns: OCOP_OK; OCOP_EDB; OCOP_ENOMEM (u then holds what it held before).
 */
int ocp_units_load_db(ocp_units *u, sto_db *db);

/* Number of units, and unit i of them (sorted by code, current first). Borrowed. */
size_t ocp_units_count(const ocp_units *u);
const ocp_unit *ocp_units_at(const ocp_units *u, size_t i);

/*
 * The unit a code names: the current unit of that code if there is one, else
 * a replica row, else the shipped former unit. NULL when unknown. Borrowed.
 */
const ocp_unit *ocp_units_find(const ocp_units *u, const char *code);

/* The name of the unit a code names, or NULL. Borrowed. */
const char *ocp_units_name(const ocp_units *u, const char *code);

/* The level ("province", "district", "commune") of the unit a code names, or NULL. */
const char *ocp_units_level(const ocp_units *u, const char *code);

/* True when the code names a unit in force today (one without valid_to). */
bool ocp_units_current(const ocp_units *u, const char *code);

/*
 * For a code of a former province, or any code under one ("83", "83-833",
 * "83-28882", "83-832-28882"), write the code of the current province that
 * succeeded it ("86") into out and return true. False (out untouched) when the
 * code's province is current (86, 86-28969) or unknown, or cap is too small.
 * Cannot fail.
 */
bool ocp_units_successor(const ocp_units *u, const char *code, char *out, size_t cap);

/*
 * The unit a record filed under `code` counts under at `level`: the code as
 * recorded (COMMUNE), its former district (DISTRICT: the code's district
 * segment, or the parent of an imported commune; a commune created after the
 * reform has none and counts under its province with no district), or its
 * province (PROVINCE). With current, the unit is followed through the
 * succession first: a commune through its successor_code chain, a province to
 * the current province (a district has no current unit: the caller refuses
 * DISTRICT with current). Writes the key into key and its display name into
 * name ("" when unknown).
 * Returns: OCOP_OK; OCOP_EINVAL (DISTRICT with current, or a buffer too small).
 */
int ocp_units_rollup(const ocp_units *u, const char *code, ocp_unit_level level, bool current,
    char *key, size_t keycap, char *name, size_t namecap);

/*
 * The way from code to the unit that holds it today: path[0] is code, each
 * next entry the successor of the one before (a unit's successor_code, then
 * the current province when only the province is known), at most max entries.
 * Returns the number of entries written (at least 1 when max > 0). Cannot fail.
 */
size_t ocp_units_path(const ocp_units *u, const char *code, char (*path)[32], size_t max);

/* Parse "commune", "district" or "province" into *out. Returns false for anything else. */
bool ocp_units_level_parse(const char *s, ocp_unit_level *out /* OUT */);

/*
 * Record, as replicated `unit` rows, the succession of the shipped former
 * provinces this site's scope holds through their successor (at a Vĩnh Long
 * site, scope 86: 83 Bến Tre -> 86 and 84 Trà Vinh -> 86), where no live row
 * of that code exists yet. Every replica, the server included, then judges
 * codes filed under a former province by the same rows (scope.h's
 * ocp_scope_covers_at). Runs inside the caller's transaction when there is
 * one. *added receives the number of rows written (may be NULL).
 * Returns: OCOP_OK; OCOP_EDB (err says why); OCOP_ENOMEM.
 */
int ocp_units_record_succession(sto_db *db, const ocp_units *u, size_t *added /* OUT */, char *err,
    size_t errlen);

/*
 * Import a province's communes and former districts from a units CSV
 * (text[0..len), called `name` in messages): every line is checked first, on
 * its own, against the lines before it, against the shipped units and against
 * the rows already there; only a file with no bad line is written, as `unit`
 * rows in one transaction. A line is refused when its code is malformed or a
 * province (provinces are shipped), its province is unknown or outside the
 * site's scope (a former province counts through its successor), it repeats a
 * code of the file or of the replica, its level does not fit its code, its
 * parent or successor is unknown, a successor chain loops, or its dates are
 * bad. Only province and national sites write units. With the lines, the
 * succession of the former provinces the scope holds is recorded
 * (ocp_units_record_succession), in the same transaction.
 * Returns: OCOP_OK with *imported set (the file's lines); OCOP_EINPUT with "NAME:LINE: reason;
 * nothing was imported" in err; OCOP_EAUTH (the site's role may not write
 * units); OCOP_EDB; OCOP_ENOMEM. Nothing is written on any failure.
 */
int ocp_units_import(sto_db *db, const ocp_units *u, const char *name, const char *text, size_t len,
    size_t *imported /* OUT */, char *err, size_t errlen);

#endif /* OCOP_OCOP_UNITS_H */
