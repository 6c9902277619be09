/*
 * label.h: a row as a clerk knows it ("subject 'HTX Kẹo dừa'", "dossier of
 * 'Kẹo dừa sáp' (2026/1)"), for ledger lines, logs and messages that would
 * otherwise name only a table and a UUID.
 */
#ifndef OCOP_OCOP_LABEL_H
#define OCOP_OCOP_LABEL_H

#include <stddef.h>

#include "common/store/store.h"

/*
 * Write a short Vietnamese-friendly label of row `row` of table `tbl` into out
 * (cap bytes): the table's noun and the names that identify the row here, or
 * the noun and the first 8 characters of the id when this replica does not
 * hold it. Returns out. Cannot fail.
 */
char *ocp_row_label(sto_db *db, const char *tbl, const char *row, char *out, size_t cap);

#endif /* OCOP_OCOP_LABEL_H */
