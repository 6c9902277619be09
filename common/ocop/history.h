/*
 * history.h: bringing a province's earlier rounds in (QĐ 1048/2019, QĐ
 * 148/2023, QĐ 26/2026) from its spreadsheets, as `history` rows: subject and
 * kind, product and set, unit codes as they were, round, regime, council mean,
 * star, decision number and dates. They replicate and report like any other
 * row, are marked as imported (the table itself says so, and `source` names the
 * file and line), and are never re-scored. A file with one bad line changes
 * nothing. The CSV format is data/history/README.md's.
 */
#ifndef OCOP_OCOP_HISTORY_H
#define OCOP_OCOP_HISTORY_H

#include <stddef.h>

#include "common/ocop/units.h"
#include "common/store/store.h"

/* The header line a history CSV must start with (after an optional BOM). */
#define OCP_HISTORY_HEADER                                                                         \
	"subject,subject_kind,product,product_set,product_code,unit_code,basis,round_year,round_no,"     \
	"eval_type,mean,star,decision_no,issued_on,expires_on,issuer"

/*
 * Validate every line of a history CSV (text[0..len), named `name` in errors)
 * and, only when all are good, insert one history row per line in one
 * transaction. A line already imported (same subject, product, basis and round)
 * is refused too, so importing a file twice changes nothing the second time.
 * Unit codes must lie in the site's scope, or be codes of a former province
 * whose successor does (units: shipped and imported; NULL accepts only codes
 * the scope covers as they are).
 * Returns: OCOP_OK with *imported set; OCOP_EINPUT with "NAME:LINE: reason" in
 * err; OCOP_EDB or OCOP_ENOMEM (nothing written in every failure case).
 */
int ocp_history_import(sto_db *db, const ocp_units *units, const char *name, const char *text,
    size_t len, size_t *imported /* OUT */, char *err, size_t errlen);

#endif /* OCOP_OCOP_HISTORY_H */
