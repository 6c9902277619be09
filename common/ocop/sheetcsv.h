/*
 * sheetcsv.h: council score sheets from a CSV file with the header
 * `member,criterion,points` (one row per member and criterion; points are a
 * number with up to 2 decimals, or KO for a knock-out option). Rows are checked
 * against a rubric while they are read, so every error names its line:
 * "FILE:LINE: reason". Parsing uses libcsv; scoring is score.h's job.
 */
#ifndef OCOP_OCOP_SHEETCSV_H
#define OCOP_OCOP_SHEETCSV_H

#include <stddef.h>

#include "common/ocop/rubric.h"
#include "common/ocop/score.h"

typedef struct ocp_sheetcsv ocp_sheetcsv;

/*
 * Parse CSV text into one sheet per member (members in order of first
 * appearance). A UTF-8 BOM and CRLF line ends are tolerated; blank lines are
 * skipped. `name` is the file name used in messages.
 * Refused, with "NAME:LINE: reason" in err: a header other than exactly
 * member,criterion,points; a malformed line (not 3 fields, empty member or
 * criterion, points neither a number nor KO, invalid UTF-8, bad quoting); an
 * unknown criterion; points that match no option; a criterion given twice for a
 * member; a member missing a criterion (reported at the member's first line); a
 * conditional criterion scored when its condition is not met; no rows at all.
 * Returns: OCOP_OK; OCOP_EINPUT (bad data); OCOP_ERUBRIC (the rubric is an
 * outline and cannot be scored); OCOP_ENOMEM.
 * Ownership: on success *out is the caller's, freed with ocp_sheetcsv_free();
 * it keeps no pointer into text or the rubric. On failure *out is NULL.
 * Constructor of ocp_sheetcsv.
 */
int ocp_sheetcsv_parse(ocp_sheetcsv **out, const ocp_rubric *r, const char *name, const char *text,
    size_t len, char *err, size_t errlen);

/*
 * Read a CSV file and parse it as ocp_sheetcsv_parse() does.
 * Returns: as ocp_sheetcsv_parse(), plus OCOP_ENOENT (no such file), OCOP_EIO
 * and OCOP_ETOOBIG (over 16 MiB). Constructor of ocp_sheetcsv.
 */
int ocp_sheetcsv_load_file(ocp_sheetcsv **out, const ocp_rubric *r, const char *path, char *err,
    size_t errlen);

/* Release the sheets and everything they own. Accepts NULL. Cannot fail. Destructor. */
void ocp_sheetcsv_free(ocp_sheetcsv *s);

/*
 * The sheets, ready for ocp_score_compute(); *n receives their number.
 * Ownership: borrowed, valid until ocp_sheetcsv_free().
 */
const ocp_sheet *ocp_sheetcsv_sheets(const ocp_sheetcsv *s, size_t *n /* OUT */);

/* The CSV line of choice `choice` on sheet `sheet` (both below their counts). */
int ocp_sheetcsv_line(const ocp_sheetcsv *s, size_t sheet, size_t choice);

#endif /* OCOP_OCOP_SHEETCSV_H */
