/*
 * schema.c: the replicated tables (DESIGN.md section 2). Columns marked _code
 * keep administrative unit codes as issued (historical codes are never
 * rewritten, OCOP.md Decision 6); dossier and evaluation keep their legal basis.
 *
 * Sizes are generous bounds for what a clerk types (a Vietnamese letter takes
 * up to three bytes in UTF-8), small enough that no single value can pin a
 * server's memory: the largest text cell is 4 KiB.
 */
#include "common/store/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "ocop_err.h"

#define COLS(a) a, sizeof(a) / sizeof(a[0])

/* Sizes, in bytes for text kinds. */
#define NAME_MAX_B 512    /* a person's, a subject's or a product's name */
#define LINE_MAX_B 1024   /* an address, a title, an issuing body */
#define NOTE_MAX_B 4096   /* free text: a status note, a reason */
#define TOKEN_MAX_B 40    /* status, kind, role, rubric id */
#define CODE_MAX_B 32     /* unit code */
#define NUMBER_MAX_B 64   /* registration, certificate and product numbers */
#define UUID_B 36
#define DATE_B 10

#define TEXT(n, max) {n, "TEXT", STO_K_TEXT, max}
#define NAME(n) {n, "TEXT", STO_K_NAME, TOKEN_MAX_B}
#define CODE(n) {n, "TEXT", STO_K_CODE, CODE_MAX_B}
#define DATE(n) {n, "TEXT", STO_K_DATE, DATE_B}
#define UUID(n) {n, "TEXT", STO_K_UUID, UUID_B}
#define INT(n, max) {n, "INTEGER", STO_K_INT, max}
#define FLAG(n) {n, "INTEGER", STO_K_FLAG, 1}

static const sto_column unit_cols[] = {
    CODE("code"), TEXT("name", NAME_MAX_B), NAME("level"), CODE("parent_code"),
    DATE("valid_from"), DATE("valid_to"), CODE("successor_code"), FLAG("deleted"),
};

static const sto_column subject_cols[] = {
    TEXT("name", NAME_MAX_B), NAME("kind"), TEXT("reg_no", NUMBER_MAX_B), DATE("reg_date"),
    TEXT("rep_name", NAME_MAX_B), NAME("rep_gender"), TEXT("rep_ethnicity", NAME_MAX_B),
    FLAG("rep_disability"), TEXT("address", LINE_MAX_B), CODE("unit_code"),
    TEXT("phone", 32), TEXT("email", 254), FLAG("deleted"),
};

static const sto_column product_cols[] = {
    UUID("subject_id"), TEXT("name", NAME_MAX_B), NAME("product_set"),
    TEXT("product_code", NUMBER_MAX_B), CODE("unit_code"), FLAG("deleted"),
};

static const sto_column dossier_cols[] = {
    UUID("product_id"), NAME("legal_basis"), NAME("rubric_id"),
    NAME("eval_type"), INT("round_year", 9999), INT("round_no", 99),
    CODE("unit_code"), CODE("province_code"), NAME("status"),
    INT("epoch", UINT32_MAX), TEXT("status_note", NOTE_MAX_B), DATE("update_deadline"),
    DATE("filed_on"), TEXT("product_code", NUMBER_MAX_B), TEXT("issuing_body", LINE_MAX_B),
    FLAG("deleted"),
};

static const sto_column document_cols[] = {
    UUID("dossier_id"), NAME("kind"), TEXT("title", LINE_MAX_B), {"sha256", "TEXT", STO_K_HEX, 64},
    INT("size", UINT64_C(1) << 40), DATE("received_on"), FLAG("deleted"),
};

static const sto_column evaluation_cols[] = {
    UUID("dossier_id"), NAME("tier"), NAME("rubric_id"),
    NAME("legal_basis"), DATE("held_on"), INT("spread_threshold", 10000),
    FLAG("spread_rule"), FLAG("disqualified"), TEXT("disqualify_reason", NOTE_MAX_B),
    INT("version", UINT32_MAX), INT("min_members", 100), FLAG("deleted"),
};

static const sto_column member_cols[] = {
    UUID("evaluation_id"), TEXT("name", NAME_MAX_B), NAME("role"), UUID("site_id"),
    FLAG("deleted"),
};

static const sto_column score_sheet_cols[] = {
    UUID("evaluation_id"), UUID("member_id"), UUID("owner_site"),
    FLAG("submitted"), FLAG("deleted"),
};

/* Points are kept in hundredths (centipoints): no option is worth more than 100 points. */
static const sto_column score_cols[] = {
    UUID("sheet_id"), NAME("criterion"), INT("points", 10000), FLAG("ko"),
    FLAG("deleted"),
};

static const sto_column decision_cols[] = {
    UUID("dossier_id"), UUID("evaluation_id"), NAME("kind"), INT("star", 5),
    TEXT("number", NUMBER_MAX_B), DATE("issued_on"), DATE("expires_on"), TEXT("issuer", LINE_MAX_B),
    TEXT("note", NOTE_MAX_B), FLAG("deleted"),
};

/*
 * A resolution of a ledger entry (DESIGN.md 4 rule 4): which losing or refused
 * write it settles (table, row, column and the lost version), and how. It is a
 * replicated row, so every replica holding the entry sees it settled; its
 * scope is the scope of the row it talks about.
 */
static const sto_column resolution_cols[] = {
    NAME("ref_tbl"), UUID("ref_row"), NAME("ref_col"), INT("lost_hlc", INT64_MAX),
    UUID("lost_site"), NAME("action"), TEXT("note", NOTE_MAX_B), FLAG("deleted"),
};

/*
 * A result of an earlier round brought in from the province's spreadsheets
 * (ocop history import): kept as recorded (mean in centipoints, star, decision)
 * with the unit codes as they were, reported with the live rounds and never
 * re-scored. `source` names the file and line it came from.
 */
static const sto_column history_cols[] = {
    TEXT("subject_name", NAME_MAX_B), NAME("subject_kind"), TEXT("product_name", NAME_MAX_B),
    NAME("product_set"), TEXT("product_code", NUMBER_MAX_B), CODE("unit_code"),
    CODE("province_code"), NAME("legal_basis"), INT("round_year", 9999),
    INT("round_no", 99), NAME("eval_type"), INT("mean", 10000), INT("star", 5),
    TEXT("decision_no", NUMBER_MAX_B), DATE("issued_on"), DATE("expires_on"), TEXT("issuer", LINE_MAX_B),
    TEXT("source", LINE_MAX_B), FLAG("deleted"),
};

static const sto_table tables[] = {
    {"unit", COLS(unit_cols), NULL, NULL, "code", NULL, NULL},
    {"subject", COLS(subject_cols), NULL, NULL, "unit_code", NULL, NULL},
    {"product", COLS(product_cols), "subject_id", "subject", "unit_code", NULL, NULL},
    {"dossier", COLS(dossier_cols), "product_id", "product", "unit_code", NULL, NULL},
    {"document", COLS(document_cols), "dossier_id", "dossier", NULL, NULL, NULL},
    {"evaluation", COLS(evaluation_cols), "dossier_id", "dossier", NULL, NULL, NULL},
    {"member", COLS(member_cols), "evaluation_id", "evaluation", NULL, NULL, NULL},
    {"score_sheet", COLS(score_sheet_cols), "evaluation_id", "evaluation", NULL, NULL, NULL},
    {"score", COLS(score_cols), "sheet_id", "score_sheet", NULL, NULL, NULL},
    {"decision", COLS(decision_cols), "dossier_id", "dossier", NULL, NULL, NULL},
    {"history", COLS(history_cols), NULL, NULL, "unit_code", NULL, NULL},
    {"resolution", COLS(resolution_cols), NULL, NULL, NULL, "ref_tbl", "ref_row"},
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

	for (i = 0; name != NULL && i < sizeof(tables) / sizeof(tables[0]); i++) {
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

	for (i = 0; col != NULL && i < t->ncols; i++) {
		if (strcmp(t->cols[i].name, col) == 0) {
			return &t->cols[i];
		}
	}
	return NULL;
}

int
sto_schema_col_index(const sto_table *t, const char *col)
{
	const sto_column *c = sto_schema_column(t, col);

	return c != NULL ? (int)(c - t->cols) : -1;
}

int
sto_schema_status_col(const sto_table *t)
{
	/* Only a dossier's status moves along a workflow (merge.h rule 2). */
	return strcmp(t->name, "dossier") == 0 ? sto_schema_col_index(t, "status") : -1;
}

const sto_table *
sto_schema_table_at(size_t i)
{
	return i < sizeof(tables) / sizeof(tables[0]) ? &tables[i] : NULL;
}

/* ===== Value checks ===== */

/*
 * Code points that are in NFC whatever surrounds them: none decomposes under
 * NFC, none has a combining class, and none composes with a character before
 * it (every character that can is a combining mark or a vowel sign, all
 * outside these ranges). Latin up to the spacing modifiers, the Latin
 * Extended Additional block of Vietnamese letters with their tone marks, and
 * the dashes, quotes and bullets of General Punctuation: all of Vietnamese
 * as typed, so nearly every value skips the full normalisation.
 */
static bool
schema_nfc_safe(utf8proc_int32_t cp)
{
	return cp < 0x300 || (cp >= 0x1e00 && cp <= 0x1eff) || (cp >= 0x2010 && cp <= 0x2027);
}

bool
sto_text_clean(const uint8_t *s, size_t len)
{
	utf8proc_uint8_t *nfc;
	size_t off = 0;
	bool safe = true;
	bool same;

	while (off < len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t n;
		if (s[off] >= 0x20 && s[off] < 0x7f) {
			off++; /* printable ASCII */
			continue;
		}
		n = utf8proc_iterate(s + off, (utf8proc_ssize_t)(len - off), &cp);
		if (n <= 0 || cp == 0 || (cp < 0x20 && cp != '\t' && cp != '\n') || cp == 0x7f) {
			return false;
		}
		safe &= schema_nfc_safe(cp);
		off += (size_t)n;
	}
	if (safe) {
		return true;
	}
	/* Text is stored as the capture normalises it: NFC, so one name never
	 * exists under two byte sequences on different replicas. */
	if (utf8proc_map(s, (utf8proc_ssize_t)len, &nfc, UTF8PROC_STABLE | UTF8PROC_COMPOSE) < 0) {
		return false;
	}
	same = strlen((const char *)nfc) == len && memcmp(nfc, s, len) == 0;
	free(nfc);
	return same;
}

static bool
schema_chars(const uint8_t *s, size_t len, const char *extra, bool upper)
{
	size_t i;

	for (i = 0; i < len; i++) {
		uint8_t ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			(upper && ch >= 'A' && ch <= 'Z') || (ch != 0 && strchr(extra, ch) != NULL))) {
			return false;
		}
	}
	return len > 0;
}

static bool
schema_hex(const uint8_t *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
			return false;
		}
	}
	return len > 0;
}

static bool
schema_date(const uint8_t *s, size_t len)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int m;
	int d;
	size_t i;

	if (len != 10 || s[4] != '-' || s[7] != '-') {
		return false;
	}
	for (i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9')) {
			return false;
		}
	}
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	return m >= 1 && m <= 12 && d >= 1 && d <= mdays[m - 1];
}

int
sto_schema_check(const sto_table *t, const sto_column *c, const proto_value *v, char *reason, size_t cap)
{
	const char *why = NULL;
	bool text = c->kind != STO_K_INT && c->kind != STO_K_FLAG;

	if (v->type == PROTO_V_NULL) {
		return OCOP_OK;
	}
	if (text && v->type != PROTO_V_TEXT) {
		why = "must be text";
	} else if (!text && v->type != PROTO_V_INT) {
		why = "must be an integer";
	} else if (text && v->len > c->max) {
		snprintf(reason, cap, "%s.%s: %zu bytes, more than the %llu allowed", t->name, c->name, v->len,
		    (unsigned long long)c->max);
		return OCOP_ETYPE;
	} else if (!text && (v->i < 0 || (uint64_t)v->i > c->max)) {
		snprintf(reason, cap, "%s.%s: %lld is outside 0..%llu", t->name, c->name, (long long)v->i,
		    (unsigned long long)c->max);
		return OCOP_ETYPE;
	} else {
		switch (c->kind) {
		case STO_K_TEXT:
			why = sto_text_clean(v->p, v->len) ? NULL
							  : "is not NFC UTF-8 text without control characters";
			break;
		case STO_K_NAME:
			why = schema_chars(v->p, v->len, "_./-", false) ? NULL : "is not a name ([a-z0-9_./-])";
			break;
		case STO_K_CODE:
			why = schema_chars(v->p, v->len, "-", true) ? NULL : "is not a unit code";
			break;
		case STO_K_DATE:
			why = schema_date(v->p, v->len) ? NULL : "is not a date (YYYY-MM-DD)";
			break;
		case STO_K_UUID:
			why = proto_uuid_valid((const char *)v->p, v->len) ? NULL : "is not a canonical UUID";
			break;
		case STO_K_HEX:
			why = schema_hex(v->p, v->len) ? NULL : "is not lowercase hexadecimal";
			break;
		default:
			break;
		}
	}
	if (why != NULL) {
		snprintf(reason, cap, "%s.%s %s", t->name, c->name, why);
		return OCOP_ETYPE;
	}
	return OCOP_OK;
}
