/*
 * schema.c: the replicated tables (DESIGN.md section 2). Columns marked _code
 * keep administrative unit codes as issued (historical codes are never
 * rewritten, OCOP.md Decision 6); dossier and evaluation keep their legal basis.
 */
#include "common/store/schema.h"

#include <string.h>

#define COLS(a) a, sizeof(a) / sizeof(a[0])

static const sto_column unit_cols[] = {
    {"code", "TEXT"}, {"name", "TEXT"}, {"level", "TEXT"}, {"parent_code", "TEXT"},
    {"valid_from", "TEXT"}, {"valid_to", "TEXT"}, {"successor_code", "TEXT"},
    {"deleted", "INTEGER"},
};

static const sto_column subject_cols[] = {
    {"name", "TEXT"}, {"kind", "TEXT"}, {"reg_no", "TEXT"}, {"reg_date", "TEXT"},
    {"rep_name", "TEXT"}, {"rep_gender", "TEXT"}, {"rep_ethnicity", "TEXT"},
    {"rep_disability", "INTEGER"}, {"address", "TEXT"}, {"unit_code", "TEXT"},
    {"phone", "TEXT"}, {"email", "TEXT"}, {"deleted", "INTEGER"},
};

static const sto_column product_cols[] = {
    {"subject_id", "TEXT"}, {"name", "TEXT"}, {"product_set", "TEXT"},
    {"product_code", "TEXT"}, {"unit_code", "TEXT"}, {"deleted", "INTEGER"},
};

static const sto_column dossier_cols[] = {
    {"product_id", "TEXT"}, {"legal_basis", "TEXT"}, {"rubric_id", "TEXT"},
    {"eval_type", "TEXT"}, {"round_year", "INTEGER"}, {"round_no", "INTEGER"},
    {"unit_code", "TEXT"}, {"province_code", "TEXT"}, {"status", "TEXT"},
    {"epoch", "INTEGER"}, {"status_note", "TEXT"}, {"update_deadline", "TEXT"},
    {"filed_on", "TEXT"}, {"product_code", "TEXT"}, {"issuing_body", "TEXT"},
    {"deleted", "INTEGER"},
};

static const sto_column document_cols[] = {
    {"dossier_id", "TEXT"}, {"kind", "TEXT"}, {"title", "TEXT"}, {"sha256", "TEXT"},
    {"size", "INTEGER"}, {"received_on", "TEXT"}, {"deleted", "INTEGER"},
};

static const sto_column evaluation_cols[] = {
    {"dossier_id", "TEXT"}, {"tier", "TEXT"}, {"rubric_id", "TEXT"},
    {"legal_basis", "TEXT"}, {"held_on", "TEXT"}, {"spread_threshold", "INTEGER"},
    {"spread_rule", "INTEGER"}, {"disqualified", "INTEGER"}, {"disqualify_reason", "TEXT"},
    {"version", "INTEGER"}, {"min_members", "INTEGER"}, {"deleted", "INTEGER"},
};

static const sto_column member_cols[] = {
    {"evaluation_id", "TEXT"}, {"name", "TEXT"}, {"role", "TEXT"}, {"site_id", "TEXT"},
    {"deleted", "INTEGER"},
};

static const sto_column score_sheet_cols[] = {
    {"evaluation_id", "TEXT"}, {"member_id", "TEXT"}, {"owner_site", "TEXT"},
    {"submitted", "INTEGER"}, {"deleted", "INTEGER"},
};

static const sto_column score_cols[] = {
    {"sheet_id", "TEXT"}, {"criterion", "TEXT"}, {"points", "INTEGER"}, {"ko", "INTEGER"},
    {"deleted", "INTEGER"},
};

static const sto_column decision_cols[] = {
    {"dossier_id", "TEXT"}, {"evaluation_id", "TEXT"}, {"kind", "TEXT"}, {"star", "INTEGER"},
    {"number", "TEXT"}, {"issued_on", "TEXT"}, {"expires_on", "TEXT"}, {"issuer", "TEXT"},
    {"note", "TEXT"}, {"deleted", "INTEGER"},
};

/*
 * A result of an earlier round brought in from the province's spreadsheets
 * (ocop history import): kept as recorded (mean in centipoints, star, decision)
 * with the unit codes as they were, reported with the live rounds and never
 * re-scored. `source` names the file and line it came from.
 */
static const sto_column history_cols[] = {
    {"subject_name", "TEXT"}, {"subject_kind", "TEXT"}, {"product_name", "TEXT"},
    {"product_set", "TEXT"}, {"product_code", "TEXT"}, {"unit_code", "TEXT"},
    {"province_code", "TEXT"}, {"legal_basis", "TEXT"}, {"round_year", "INTEGER"},
    {"round_no", "INTEGER"}, {"eval_type", "TEXT"}, {"mean", "INTEGER"}, {"star", "INTEGER"},
    {"decision_no", "TEXT"}, {"issued_on", "TEXT"}, {"expires_on", "TEXT"}, {"issuer", "TEXT"},
    {"source", "TEXT"}, {"deleted", "INTEGER"},
};

static const sto_table tables[] = {
    {"unit", COLS(unit_cols), NULL, NULL},
    {"subject", COLS(subject_cols), NULL, NULL},
    {"product", COLS(product_cols), "subject_id", "subject"},
    {"dossier", COLS(dossier_cols), "product_id", "product"},
    {"document", COLS(document_cols), "dossier_id", "dossier"},
    {"evaluation", COLS(evaluation_cols), "dossier_id", "dossier"},
    {"member", COLS(member_cols), "evaluation_id", "evaluation"},
    {"score_sheet", COLS(score_sheet_cols), "evaluation_id", "evaluation"},
    {"score", COLS(score_cols), "sheet_id", "score_sheet"},
    {"decision", COLS(decision_cols), "dossier_id", "dossier"},
    {"history", COLS(history_cols), NULL, NULL},
};

const sto_table *
sto_schema_tables(size_t *count)
{
	*count = sizeof(tables) / sizeof(tables[0]);
	return tables;
}

const sto_table *
sto_schema_table(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		if (strcmp(tables[i].name, name) == 0) {
			return &tables[i];
		}
	}
	return NULL;
}

const sto_column *
sto_schema_column(const sto_table *t, const char *col)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		if (strcmp(t->cols[i].name, col) == 0) {
			return &t->cols[i];
		}
	}
	return NULL;
}
