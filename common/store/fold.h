/*
 * fold.h: text normalisation for storage and search. Vietnamese names are
 * stored as typed but in NFC, and searched without diacritics or case:
 * "keo dua" finds "Kẹo dừa" (đ/Đ fold to d, which Unicode does not decompose).
 */
#ifndef OCOP_STORE_FOLD_H
#define OCOP_STORE_FOLD_H

#include <sqlite3.h>

/*
 * Fold s for search: NFD, drop combining marks, case-fold, đ -> d.
 * Returns a com_malloc'd string (caller frees with com_free), NULL on
 * ENOMEM or invalid UTF-8.
 */
char *sto_fold(const char *s);
/* Normalise s to NFC. Same ownership and failures as sto_fold. */
char *sto_nfc(const char *s);
/* Register the SQL function ocop_fold(text) on db. Returns OCOP_OK or OCOP_EDB. */
int sto_fold_register(sqlite3 *db);

#endif /* OCOP_STORE_FOLD_H */
