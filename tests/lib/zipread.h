/*
 * zipread.h: read one member of a ZIP file (an XLSX workbook) with zlib, so
 * tests can check what a written workbook holds without an unzip program.
 * Reads the central directory; handles stored and deflated members only.
 */
#ifndef OCOP_TESTS_LIB_ZIPREAD_H
#define OCOP_TESTS_LIB_ZIPREAD_H

#include <stddef.h>

/*
 * The member `name` of the ZIP file at path, inflated, NUL-terminated, in a
 * com_malloc'd buffer (free with com_free), its length in *len. NULL when the
 * file or the member is missing or malformed.
 */
char *tu_zip_member(const char *path, const char *name, size_t *len);

#endif /* OCOP_TESTS_LIB_ZIPREAD_H */
