/*
 * report.h: the tables provincial OCOP offices publish (OCOP.md section 7 and
 * Decision 7), built from the local replica: recognised products by star, by
 * subject type, by product group (the 6 ngành of OCOP.md 4.1), by unit, by
 * round and by evaluation type (new / upgrade / re-evaluation); potential 5★
 * candidates with their scores; certificates entering the re-evaluation window.
 *
 * Results are derived, never stored: candidates' scores come from the one
 * scoring function through council.h. This module only counts and formats; it
 * prints nothing itself (the caller hands it a FILE for CSV).
 */
#ifndef OCOP_OCOP_REPORT_H
#define OCOP_OCOP_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "common/ocop/council.h"
#include "common/ocop/units.h"

/* What a report covers. */
typedef struct ocp_report_opts {
	int round_year;            /* only dossiers of this round (with round_no); 0 = every round */
	int round_no;              /* round number within the year (đợt), with round_year */
	int64_t today;             /* days since 1970-01-01: validity and the expiry window are relative to it */
	ocp_unit_level unit_level; /* by_unit: as recorded (COMMUNE), by former district, by province */
	bool unit_current;         /* by_unit through the succession to today's units (not with DISTRICT) */
	const ocp_units *units;    /* borrowed; NULL: the shipped units and the replica's unit rows */
} ocp_report_opts;

/* The kind of value a cell holds. */
typedef enum ocp_report_kind {
	OCP_CELL_NULL = 0,   /* no value */
	OCP_CELL_TEXT = 1,   /* UTF-8 text */
	OCP_CELL_INT = 2,    /* an integer (a count, a star, days) */
	OCP_CELL_POINTS = 3, /* centipoints, shown with 2 decimals */
	OCP_CELL_BOOL = 4,   /* yes / no */
} ocp_report_kind;

/* One cell. */
typedef struct ocp_report_cell {
	ocp_report_kind kind; /* which field holds the value */
	int64_t i;            /* INT, POINTS (centipoints) and BOOL (0/1) values */
	char *s;              /* TEXT value; owned by the report */
} ocp_report_cell;

/* One table: a title, stable column keys and rows. Owned by its ocp_report. */
typedef struct ocp_report_table {
	const char *key;          /* stable snake_case name ("by_star"); static */
	const char *title;        /* Vietnamese title with an English gloss; static */
	const char *const *cols;  /* ncols stable column keys; static */
	size_t ncols;             /* columns */
	size_t nrows;             /* rows */
	ocp_report_cell *cells;   /* owned, nrows * ncols, row by row */
} ocp_report_table;

/* A built report. Opaque heap object. */
typedef struct ocp_report ocp_report;

/*
 * Build the report from the council's replica. Without a round, the counts are
 * of products holding a valid certificate on opts->today (issued on or before,
 * expiring on or after it; one per product, its latest); with a round, they are
 * the recognitions of that round's dossiers. A recognition is a recognition
 * decision (3★, 4★) or a 5★ national result not revoked since. Candidates are the
 * dossiers whose latest provincial or district evaluation scores 90 or more;
 * expiring certificates are those expiring within OCP_REEVAL_OPENS_DAYS of
 * opts->today, whatever the round. by_unit groups at opts->unit_level, through
 * the succession when opts->unit_current, and its title says which view it is.
 * Returns: OCOP_OK; OCOP_EINVAL (a round number without a year, or the reverse;
 * DISTRICT with unit_current: districts have no current units); OCOP_ENOENT
 * (opts->units is NULL and data/units/ cannot be read); OCOP_EINPUT (a broken
 * shipped units file); OCOP_EDB; OCOP_ENOMEM.
 * Ownership: caller frees *out with ocp_report_free(). Constructor of ocp_report.
 */
int ocp_report_build(ocp_report **out /* OUT */, ocp_council *c, const ocp_report_opts *opts);

/* Release a report. Accepts NULL. Cannot fail. Destructor of ocp_report. */
void ocp_report_free(ocp_report *r);

/* Number of tables. Cannot fail. */
size_t ocp_report_table_count(const ocp_report *r);
/* Table i (below the count), in publishing order; borrowed, valid until ocp_report_free(). */
const ocp_report_table *ocp_report_table_at(const ocp_report *r, size_t i);
/* The report's date (YYYY-MM-DD), round ("YYYY/N" or "") and unit view (title of by_unit). Borrowed. */
const char *ocp_report_today(const ocp_report *r);
const char *ocp_report_round(const ocp_report *r);
const char *ocp_report_view(const ocp_report *r);
/*
 * The line that heads each table in a file: "date; đợt YYYY/N" (or the date
 * alone). Writes into out. Cannot fail.
 */
void ocp_report_heading(const ocp_report *r, char *out, size_t cap);
/* The table with this key, or NULL. Borrowed. */
const ocp_report_table *ocp_report_table_find(const ocp_report *r, const char *key);
/* The cell at (row, col) of t; both below their counts. Borrowed. */
const ocp_report_cell *ocp_report_cell_at(const ocp_report_table *t, size_t row, size_t col);

/*
 * The report as a JSON object: today, round (null or "YYYY/N"), unit_view
 * {level, current, label}, then one key per table holding an array of row
 * objects keyed by the column keys. Points are numbers in points; booleans
 * are JSON booleans.
 * Returns NULL on ENOMEM. Caller json_decref()s it.
 */
json_t *ocp_report_json(const ocp_report *r);

/*
 * Is every one of the n comma-free keys a table of r? Writes the first unknown
 * key's index into *bad when not. Cannot fail.
 */
bool ocp_report_keys_valid(const ocp_report *r, const char *const *keys, size_t n, size_t *bad /* OUT */);

/* As ocp_report_json(), with only the tables named in keys (all when n is 0). */
json_t *ocp_report_json_tables(const ocp_report *r, const char *const *keys, size_t n);

/*
 * Write the report as CSV for a spreadsheet: UTF-8 with a byte-order mark (so
 * Vietnamese text opens correctly), CRLF line ends, text fields quoted by
 * libcsv, one table after another, each as a title row, a header row of column
 * keys and its rows, with a blank line between tables.
 * Returns OCOP_OK or OCOP_EIO (a write failed).
 */
int ocp_report_write_csv(const ocp_report *r, FILE *f);

/* As ocp_report_write_csv(), with only the tables named in keys (all when n is 0). */
int ocp_report_write_csv_tables(const ocp_report *r, FILE *f, const char *const *keys, size_t n);

/*
 * The product group (ngành, OCOP.md 4.1) of a product set ("01".."26"): writes
 * the Roman numeral key ("I".."VI") and returns its Vietnamese name, or returns
 * NULL (key "?") for an unknown set. Cannot fail.
 */
const char *ocp_report_product_group(const char *product_set, const char **key /* OUT */);

#endif /* OCOP_OCOP_REPORT_H */
