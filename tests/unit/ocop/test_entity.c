/*
 * Unit tests for common/ocop/entity.c: every entity's field table agrees with
 * the store's schema (each column exists, each check fits the column's kind),
 * options are unique and required fields can be given on add, and values are
 * normalised as the registry stores them, held to the store's sizes.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/entity.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"

static const char *const names[] = {"unit", "subject", "product", "dossier", "document"};

/* The store kind a field check must sit on. */
static sto_kind
kind_in_store(ocp_field_kind k)
{
	switch (k) {
	case OCP_FK_TEXT:
	case OCP_FK_EMAIL:
	case OCP_FK_PHONE:
		return STO_K_TEXT;
	case OCP_FK_CODE:
		return STO_K_CODE;
	case OCP_FK_DATE:
		return STO_K_DATE;
	case OCP_FK_UUID:
		return STO_K_UUID;
	case OCP_FK_SHA256:
		return STO_K_HEX;
	case OCP_FK_BOOL:
		return STO_K_FLAG;
	case OCP_FK_COUNT:
	case OCP_FK_YEAR:
	case OCP_FK_ROUND:
		return STO_K_INT;
	default:
		return STO_K_NAME;
	}
}

static void
test_every_field_is_a_column_of_the_right_kind(void **state)
{
	size_t i;
	size_t k;
	size_t j;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		const ocp_entity *e = ocp_entity_find(names[i]);
		const sto_table *t = sto_schema_table(names[i]);

		assert_non_null(e);
		assert_non_null(t);
		for (k = 0; k < e->nfields; k++) {
			const ocp_entity_field *f = &e->fields[k];
			const sto_column *c = sto_schema_column(t, f->col);

			if (c == NULL || c->kind != kind_in_store(f->kind)) {
				fail_msg("%s.%s: no such column, or its kind does not fit the check", e->name, f->col);
			}
			if ((f->flags & OCP_EF_REQ) != 0 && (f->flags & OCP_EF_ADD) == 0) {
				fail_msg("%s.%s is required but cannot be given on add", e->name, f->col);
			}
			assert_true((f->kind == OCP_FK_ENUM) == (f->choices != NULL));
			assert_non_null(f->help);
			for (j = 0; j < k; j++) {
				if (strcmp(e->fields[j].opt, f->opt) == 0 || strcmp(e->fields[j].col, f->col) == 0) {
					fail_msg("%s: --%s or %s twice", e->name, f->opt, f->col);
				}
			}
			assert_ptr_equal(ocp_entity_option(e, f->opt), f);
			assert_ptr_equal(ocp_entity_column(e, f->col), f);
		}
	}
	assert_null(ocp_entity_find("score"));
	assert_null(ocp_entity_column(ocp_entity_find("subject"), "deleted"));
}

/* Normalise `in` as field col of entity name; returns the code, the value in out (owned). */
static int
norm(const char *name, const char *col, const char *in, char **out, char *err, size_t errlen)
{
	const ocp_entity *e = ocp_entity_find(name);

	return ocp_entity_norm(e, ocp_entity_column(e, col), in, out, err, errlen);
}

static void
test_values_are_stored_as_the_registry_keeps_them(void **state)
{
	static const char *const cases[][4] = {
	    {"product", "product_set", " 7 ", "07"},
	    {"subject", "rep_disability", "yes", "1"},
	    {"subject", "rep_disability", "false", "0"},
	    {"document", "sha256", "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
		"abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789"},
	    {"subject", "name", "  HTX Ke\xcc\xa3o du\xcc\x9b\xcc\x80" "a  ", "HTX Kẹo dừa"}, /* NFD in, NFC out */
	    {"dossier", "eval_type", "upgrade", "upgrade"},
	};
	char err[256];
	char *out = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_ok(norm(cases[i][0], cases[i][1], cases[i][2], &out, err, sizeof(err)));
		assert_non_null(out);
		assert_string_equal(out, cases[i][3]);
		com_free(out);
	}
	/* Empty is NULL: the caller decides whether it may be. */
	assert_ok(norm("subject", "phone", "   ", &out, err, sizeof(err)));
	assert_null(out);
}

static void
test_bad_values_are_named(void **state)
{
	static const char *const cases[][4] = {
	    {"product", "product_set", "27", "product_set '27' must be a product set from 01 to 26"},
	    {"subject", "kind", "coop", "kind 'coop' must be one of htx|tht|dn|trang_trai|ho|other"},
	    {"subject", "unit_code", "VN", "unit_code 'VN' is not a unit code"},
	    {"dossier", "filed_on", "2026-02-30", "filed_on '2026-02-30' is not a date"},
	    {"dossier", "legal_basis", "QĐ 26", "legal_basis 'QĐ 26' is not a legal basis"},
	    {"document", "kind", "Mẫu 01", "must be a short lowercase word"},
	    {"subject", "email", "a@b@c", "is not an e-mail address"},
	    {"subject", "name", "a\x01" "b", "not UTF-8 text, or holds control characters"},
	};
	char err[256];
	char big[700];
	char *out = NULL;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		if (norm(cases[i][0], cases[i][1], cases[i][2], &out, err, sizeof(err)) != OCOP_EINPUT ||
		    strstr(err, cases[i][3]) == NULL) {
			fail_msg("%s.%s '%s': \"%s\", want \"%s\"", cases[i][0], cases[i][1], cases[i][2], err, cases[i][3]);
		}
		assert_null(out);
	}
	/* The store's size for a name (512 bytes) is the limit, said in bytes. */
	memset(big, 'a', 600);
	big[600] = '\0';
	assert_err(norm("subject", "name", big, &out, err, sizeof(err)), OCOP_EINPUT);
	assert_non_null(strstr(err, "name is 600 bytes long; at most 512"));
	/* A token's size is the store's too (40). */
	memset(big, 'a', 41);
	big[41] = '\0';
	assert_err(norm("document", "kind", big, &out, err, sizeof(err)), OCOP_EINPUT);
	assert_non_null(strstr(err, "at most 40"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_field_is_a_column_of_the_right_kind),
	    cmocka_unit_test(test_values_are_stored_as_the_registry_keeps_them),
	    cmocka_unit_test(test_bad_values_are_named),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
