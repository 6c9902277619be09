/*
 * entity.c: the registry entities' field tables (entity.h) and the checks that
 * turn what a clerk typed into a stored value. Adding a field to an entity is
 * one line here, plus its column in common/store/schema.c.
 */
#include "common/ocop/entity.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "common/ocop/registry.h"
#include "common/store/fold.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "common/util/uuid.h"
#include "ocop_err.h"

#define NF(a) (sizeof(a) / sizeof(a[0]))

/* ===== The tables ===== */

static const ocp_entity_field unit_fields[] = {
    {"code", "code", "CODE", OCP_FK_CODE, OCP_EF_REQ | OCP_EF_ADD, NULL,
	"the code as issued: province 86, former district 83-833, commune 86-28969"},
    {"name", "name", "NAME", OCP_FK_TEXT, OCP_EF_REQ | OCP_EF_AS, NULL, "the name with its kind (Xã Thành Thới)"},
    {"level", "level", "L", OCP_FK_ENUM, OCP_EF_REQ | OCP_EF_AS, "province|district|commune",
	"province, district or commune (xã and phường alike)"},
    {"parent_code", "parent", "CODE", OCP_FK_CODE, OCP_EF_AS, NULL, "the unit above it"},
    {"valid_from", "valid-from", "DATE", OCP_FK_DATE, OCP_EF_AS, NULL, "in force from, YYYY-MM-DD"},
    {"valid_to", "valid-to", "DATE", OCP_FK_DATE, OCP_EF_AS, NULL, "in force until (a former unit), YYYY-MM-DD"},
    {"successor_code", "successor", "CODE", OCP_FK_CODE, OCP_EF_AS, NULL, "the unit that took it over"},
};

static const ocp_entity_field subject_fields[] = {
    {"name", "name", "NAME", OCP_FK_TEXT, OCP_EF_REQ | OCP_EF_AS, NULL, "name as registered (stored as typed, NFC)"},
    {"kind", "kind", "KIND", OCP_FK_ENUM, OCP_EF_REQ | OCP_EF_AS | OCP_EF_FILTER, "htx|tht|dn|trang_trai|ho|other",
	"htx, tht, dn, trang_trai, ho or other"},
    {"unit_code", "unit", "CODE", OCP_FK_CODE, OCP_EF_REQ | OCP_EF_AS | OCP_EF_FILTER, NULL,
	"administrative unit code (86-28969)"},
    {"reg_no", "reg-no", "NO", OCP_FK_TEXT, OCP_EF_AS, NULL, "business registration number"},
    {"reg_date", "reg-date", "DATE", OCP_FK_DATE, OCP_EF_AS, NULL, "registration date, YYYY-MM-DD"},
    {"rep_name", "rep-name", "NAME", OCP_FK_TEXT, OCP_EF_AS, NULL, "legal representative"},
    {"rep_gender", "rep-gender", "G", OCP_FK_ENUM, OCP_EF_AS, "female|male", "female or male"},
    {"rep_ethnicity", "rep-ethnicity", "E", OCP_FK_TEXT, OCP_EF_AS, NULL,
	"the representative's ethnicity (e.g. Kinh, Khmer)"},
    {"rep_disability", "rep-disability", "YN", OCP_FK_BOOL, OCP_EF_AS, NULL, "yes or no"},
    {"address", "address", "TEXT", OCP_FK_TEXT, OCP_EF_AS, NULL, "address"},
    {"phone", "phone", "PHONE", OCP_FK_PHONE, OCP_EF_AS, NULL, "phone number"},
    {"email", "email", "EMAIL", OCP_FK_EMAIL, OCP_EF_AS, NULL, "e-mail address"},
};

static const ocp_entity_field product_fields[] = {
    {"subject_id", "subject", "ID", OCP_FK_UUID, OCP_EF_REQ | OCP_EF_ADD | OCP_EF_FILTER, NULL,
	"the subject that makes it"},
    {"name", "name", "NAME", OCP_FK_TEXT, OCP_EF_REQ | OCP_EF_AS, NULL, "product name (stored as typed, NFC)"},
    {"product_set", "set", "NN", OCP_FK_SET, OCP_EF_REQ | OCP_EF_AS | OCP_EF_FILTER, NULL,
	"product set of the rubric, 01 to 26 (QĐ 26/2026 Phụ lục I)"},
    {"product_code", "code", "CODE", OCP_FK_TEXT, OCP_EF_AS, NULL,
	"product code as issued, e.g. 83-832-28882-2-2022 (never rewritten)"},
    {"unit_code", "unit", "CODE", OCP_FK_CODE, OCP_EF_AS | OCP_EF_FILTER, NULL, "unit code when it differs from the subject's"},
};

static const ocp_entity_field dossier_fields[] = {
    {"product_id", "product", "ID", OCP_FK_UUID, OCP_EF_REQ | OCP_EF_ADD | OCP_EF_FILTER, NULL, "the product"},
    {"round_year", "year", "YYYY", OCP_FK_YEAR, OCP_EF_REQ | OCP_EF_ADD, NULL, "the round's year"},
    {"round_no", "round", "N", OCP_FK_ROUND, OCP_EF_REQ | OCP_EF_ADD, NULL, "the round (đợt) within the year"},
    {"eval_type", "type", "T", OCP_FK_ENUM, OCP_EF_AS | OCP_EF_FILTER, "first|upgrade|reeval",
	"first (default), upgrade or reeval"},
    {"legal_basis", "basis", "B", OCP_FK_BASIS, OCP_EF_ADD | OCP_EF_FILTER, NULL,
	"legal basis: qd26-2026 (default) or qd148-2023"},
    {"rubric_id", "rubric", "ID", OCP_FK_RUBRIC, OCP_EF_AS, NULL, "default <basis>/<product set>, e.g. qd26-2026/01"},
    {"unit_code", "unit", "CODE", OCP_FK_CODE, OCP_EF_AS | OCP_EF_FILTER, NULL, "default the product's unit, else its subject's"},
    {"province_code", "province", "CODE", OCP_FK_CODE, OCP_EF_AS, NULL, "default the first segment of the unit code"},
    {"product_code", "code", "CODE", OCP_FK_TEXT, OCP_EF_AS, NULL, "product code as issued (default the product's)"},
    {"issuing_body", "issuer", "BODY", OCP_FK_TEXT, OCP_EF_AS, NULL, "issuing body as it was named at the time"},
    {"filed_on", "filed", "DATE", OCP_FK_DATE, OCP_EF_AS, NULL, "filing date, YYYY-MM-DD (default today)"},
    {"status", "status", "S", OCP_FK_TOKEN, OCP_EF_FILTER, NULL, "workflow status (changed only by 'move')"},
};

static const ocp_entity_field document_fields[] = {
    {"dossier_id", "dossier", "ID", OCP_FK_UUID, OCP_EF_REQ | OCP_EF_ADD | OCP_EF_FILTER, NULL, "the dossier"},
    {"kind", "kind", "KIND", OCP_FK_TOKEN, OCP_EF_REQ | OCP_EF_AS | OCP_EF_FILTER, NULL,
	"a short lowercase word: mau01, mau02, commune_report (Mẫu 03), lab_test, ..."},
    {"title", "title", "TITLE", OCP_FK_TEXT, OCP_EF_REQ | OCP_EF_AS, NULL, "what the document is"},
    {"sha256", "sha256", "HEX", OCP_FK_SHA256, OCP_EF_AS, NULL, "SHA-256 of the file, 64 hexadecimal digits"},
    {"size", "size", "BYTES", OCP_FK_COUNT, OCP_EF_AS, NULL, "file size"},
    {"received_on", "received", "DATE", OCP_FK_DATE, OCP_EF_AS, NULL, "date received, YYYY-MM-DD"},
};

static const char *const unit_list[] = {"code", "level", "name", "valid_from", "valid_to", "successor_code"};
static const char *const subject_list[] = {"id", "kind", "unit_code", "name"};
static const char *const product_list[] = {"id", "product_set", "subject_name", "name"};
static const char *const dossier_list[] = {"id", "round_year", "round_no", "status", "epoch", "product_name"};
static const char *const document_list[] = {"id", "kind", "received_on", "sha256", "title"};

static const ocp_entity entities[] = {
    {"unit",
	"Administrative units, old and new. Codes are kept as issued; the provinces ship\n"
	"with the program (data/units/), a province adds its communes and former districts.",
	"code", unit_fields, NF(unit_fields), unit_list, NF(unit_list)},
    {"subject",
	"Subjects (chủ thể) are the cooperatives, enterprises, farms and households that\n"
	"file OCOP dossiers.",
	"id", subject_fields, NF(subject_fields), subject_list, NF(subject_list)},
    {"product", "Products of a subject.", "id", product_fields, NF(product_fields), product_list, NF(product_list)},
    {"dossier",
	"A dossier is one product's application in one round; it starts in the workflow's\n"
	"first state with epoch 0. Its product and round never change (file a new dossier).",
	"id", dossier_fields, NF(dossier_fields), dossier_list, NF(dossier_list)},
    {"document", "Evidence documents of a dossier (metadata only; blobs travel with the sync).", "id",
	document_fields, NF(document_fields), document_list, NF(document_list)},
};

const ocp_entity *
ocp_entity_find(const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < NF(entities); i++) {
		if (strcmp(entities[i].name, name) == 0) {
			return &entities[i];
		}
	}
	return NULL;
}

const ocp_entity_field *
ocp_entity_column(const ocp_entity *e, const char *col)
{
	size_t i;

	for (i = 0; e != NULL && col != NULL && i < e->nfields; i++) {
		if (strcmp(e->fields[i].col, col) == 0) {
			return &e->fields[i];
		}
	}
	return NULL;
}

const ocp_entity_field *
ocp_entity_option(const ocp_entity *e, const char *opt)
{
	size_t i;

	for (i = 0; e != NULL && opt != NULL && i < e->nfields; i++) {
		if (strcmp(e->fields[i].opt, opt) == 0) {
			return &e->fields[i];
		}
	}
	return NULL;
}

/* ===== Text checks ===== */

static int
entity_fail(char *err, size_t errlen, int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
entity_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool
is_hex(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static char
to_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

bool
ocp_entity_text_clean(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;

	while (*p != 0) {
		n = utf8proc_iterate(p, -1, &cp);
		if (n <= 0 || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			return false;
		}
		p += n;
	}
	return true;
}

/* Copy s without leading and trailing spaces. NULL on ENOMEM. */
static char *
trim_dup(const char *s)
{
	size_t n;

	while (*s == ' ') {
		s++;
	}
	n = strlen(s);
	while (n > 0 && s[n - 1] == ' ') {
		n--;
	}
	return com_strndup(s, n);
}

bool
ocp_entity_date_valid(const char *s)
{
	static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y;
	int m;
	int d;
	int i;
	int dim;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') {
		return false;
	}
	for (i = 0; i < 10; i++) {
		if (i != 4 && i != 7 && !is_digit(s[i])) {
			return false;
		}
	}
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	m = (s[5] - '0') * 10 + (s[6] - '0');
	d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1900 || y > 2200 || m < 1 || m > 12) {
		return false;
	}
	dim = mdays[m - 1];
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) {
		dim = 29;
	}
	return d >= 1 && d <= dim;
}

/* Parse 1..maxdigits decimal digits into *out. */
static bool
uint_parse(const char *s, size_t maxdigits, long long *out)
{
	long long v = 0;
	size_t n = 0;

	for (; *s != 0; s++, n++) {
		if (!is_digit(*s) || n >= maxdigits) {
			return false;
		}
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return n > 0;
}

static bool
choice_valid(const char *choices, const char *s)
{
	size_t n = strlen(s);
	const char *p = choices;

	while (p != NULL && *p != 0) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == n && strncmp(p, s, n) == 0) {
			return true;
		}
		p = bar ? bar + 1 : NULL;
	}
	return false;
}

static bool
rubric_id_valid(const char *s)
{
	const char *slash = strchr(s, '/');
	const char *p;

	if (slash == NULL || slash == s || slash[1] == 0 || strchr(slash + 1, '/') != NULL) {
		return false;
	}
	for (p = s; *p != 0; p++) {
		if (p != slash && !is_digit(*p) && !(*p >= 'a' && *p <= 'z') && *p != '-') {
			return false;
		}
	}
	return true;
}

/* ===== Normalising a value ===== */

int
ocp_entity_norm(const ocp_entity *e, const ocp_entity_field *s, const char *in, char **out, char *err,
    size_t errlen)
{
	const sto_column *sc = sto_schema_column(sto_schema_table(e->name), s->col);
	char *v = NULL;
	char *t;
	long long num;
	size_t i;
	size_t n;
	int rv = OCOP_OK;

	*out = NULL;
	if (in == NULL) {
		return OCOP_OK;
	}
	if (!ocp_entity_text_clean(in)) {
		return entity_fail(err, errlen, OCOP_EINPUT, "%s: not UTF-8 text, or holds control characters", s->col);
	}
	if ((t = trim_dup(in)) == NULL) {
		return entity_fail(err, errlen, OCOP_ENOMEM, "out of memory");
	}
	if (*t == 0) {
		com_free(t);
		return OCOP_OK;
	}
	n = strlen(t);
	switch (s->kind) {
	case OCP_FK_TEXT:
		if ((v = sto_nfc(t)) == NULL) {
			rv = entity_fail(err, errlen, OCOP_ENOMEM, "out of memory");
		}
		break;
	case OCP_FK_CODE:
		if (!ocp_reg_code_valid(t) || strcmp(t, "VN") == 0) {
			rv = entity_fail(err, errlen, OCOP_EINPUT,
			    "%s '%s' is not a unit code (like 83, 83-28882 or 83-832-28882)", s->col, t);
		}
		break;
	case OCP_FK_DATE:
		if (!ocp_entity_date_valid(t)) {
			rv = entity_fail(err, errlen, OCOP_EINPUT, "%s '%s' is not a date (YYYY-MM-DD)", s->col, t);
		}
		break;
	case OCP_FK_ENUM:
		if (!choice_valid(s->choices, t)) {
			rv = entity_fail(err, errlen, OCOP_EINPUT, "%s '%s' must be one of %s", s->col, t, s->choices);
		}
		break;
	case OCP_FK_BOOL:
		if (strcmp(t, "yes") == 0 || strcmp(t, "true") == 0 || strcmp(t, "1") == 0) {
			v = com_strdup("1");
		} else if (strcmp(t, "no") == 0 || strcmp(t, "false") == 0 || strcmp(t, "0") == 0) {
			v = com_strdup("0");
		} else {
			rv = entity_fail(err, errlen, OCOP_EINPUT, "%s '%s' must be yes or no", s->col, t);
			break;
		}
		rv = v ? OCOP_OK : entity_fail(err, errlen, OCOP_ENOMEM, "out of memory");
		break;
	case OCP_FK_COUNT:
		if (!uint_parse(t, 15, &num)) {
			rv = entity_fail(err, errlen, OCOP_EINPUT, "%s '%s' is not a non-negative whole number", s->col,
			    t);
		}
		break;
	case OCP_FK_SHA256:
		for (i = 0; i < n && is_hex(t[i]); i++) {
			t[i] = to_lower(t[i]);
		}
		if (n != 64 || i != n) {
			rv = entity_fail(err, errlen, OCOP_EINPUT, "%s must be 64 hexadecimal digits (SHA-256)", s->col);
		}
		break;
	case OCP_FK_UUID:
		for (i = 0; i < n; i++) {
			t[i] = to_lower(t[i]);
		}
		if (!com_uuid_valid(t)) {
			rv = entity_fail(err, errlen, OCOP_EINPUT, "%s '%s' is not an id (UUID)", s->col, t);
		}
		break;
	case OCP_FK_TOKEN:
		for (i = 0; i < n && (is_digit(t[i]) || (t[i] >= 'a' && t[i] <= 'z') || t[i] == '_');
		     i++) {
		}
		if (i != n) {
			rv = entity_fail(err, errlen, OCOP_EINPUT,
			    "%s '%s' must be a short lowercase word ([a-z0-9_], like commune_report)", s->col,
			    t);
		}
		break;
	case OCP_FK_SET:
		if (!uint_parse(t, 2, &num) || num < 1 || num > 26) {
			rv = entity_fail(err, errlen, OCOP_EINPUT, "%s '%s' must be a product set from 01 to 26", s->col,
			    t);
			break;
		}
		v = com_malloc(3);
		if (v == NULL) {
			rv = entity_fail(err, errlen, OCOP_ENOMEM, "out of memory");
			break;
		}
		snprintf(v, 3, "%02d", (int)num);
		break;
	case OCP_FK_YEAR:
		if (!uint_parse(t, 4, &num) || num < 2000 || num > 2100) {
			rv = entity_fail(err, errlen, OCOP_EINPUT, "%s '%s' must be a year (YYYY)", s->col, t);
		}
		break;
	case OCP_FK_ROUND:
		if (!uint_parse(t, 2, &num) || num < 1) {
			rv = entity_fail(err, errlen, OCOP_EINPUT, "%s '%s' must be a round number from 1 to 99", s->col,
			    t);
		}
		break;
	case OCP_FK_EMAIL:
		if (strchr(t, ' ') != NULL || strchr(t, '@') == NULL || t[0] == '@' ||
		    t[n - 1] == '@' || strchr(t, '@') != strrchr(t, '@')) {
			rv = entity_fail(err, errlen, OCOP_EINPUT, "%s '%s' is not an e-mail address", s->col, t);
		}
		break;
	case OCP_FK_PHONE:
		for (i = 0; i < n && (is_digit(t[i]) || strchr("+-.() ", t[i]) != NULL); i++) {
		}
		if (i != n || strpbrk(t, "0123456789") == NULL) {
			rv = entity_fail(err, errlen, OCOP_EINPUT, "%s '%s' is not a phone number", s->col, t);
		}
		break;
	case OCP_FK_RUBRIC:
		if (!rubric_id_valid(t)) {
			rv = entity_fail(err, errlen, OCOP_EINPUT,
			    "%s '%s' is not a rubric id (<basis>/<set>, like qd26-2026/01)", s->col, t);
		}
		break;
	case OCP_FK_BASIS:
		/* The registry checks that the basis has a workflow; here, only its shape. */
		for (i = 0; i < n && (is_digit(t[i]) || (t[i] >= 'a' && t[i] <= 'z') || t[i] == '-'); i++) {
		}
		if (i != n) {
			rv = entity_fail(err, errlen, OCOP_EINPUT, "%s '%s' is not a legal basis (like qd26-2026)", s->col, t);
		}
		break;
	}
	if (rv == OCOP_OK && sc != NULL && sc->kind != STO_K_INT && sc->kind != STO_K_FLAG &&
	    strlen(v != NULL ? v : t) > sc->max) {
		rv = entity_fail(err, errlen, OCOP_EINPUT, "%s is %zu bytes long; at most %llu", s->col,
		    strlen(v != NULL ? v : t), (unsigned long long)sc->max);
	}
	if (rv != OCOP_OK) {
		com_free(v);
		com_free(t);
		return rv;
	}
	if (v != NULL) {
		com_free(t);
		*out = v;
	} else {
		*out = t;
	}
	return OCOP_OK;
}
