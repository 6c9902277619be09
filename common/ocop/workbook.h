/*
 * workbook.h: the published OCOP tables (report.h) as an XLSX workbook for a
 * spreadsheet, written with libxlsxwriter: one sheet per table, named by the
 * table's key, each with its title and date on the first row, the column keys
 * on the second and the rows below; counts and stars as numbers, council
 * means as numbers with two decimals. The report itself is not changed.
 */
#ifndef OCOP_OCOP_WORKBOOK_H
#define OCOP_OCOP_WORKBOOK_H

#include <stddef.h>

#include "common/ocop/report.h"

/*
 * Write the tables of r named in keys (every table when n is 0) to a new
 * workbook at path, replacing any file there.
 * Returns: OCOP_OK; OCOP_EINVAL (a key that is not a table); OCOP_EIO (the
 * file could not be written; err says why); OCOP_ENOMEM.
 */
int ocp_workbook_write(const ocp_report *r, const char *path, const char *const *keys, size_t n, char *err,
    size_t errlen);

#endif /* OCOP_OCOP_WORKBOOK_H */
