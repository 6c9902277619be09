/*
 * Unit tests for common/ocop/authority.c: role names, the shipped authority rules
 * as a table of (role, table, column, kind) -> allowed or refused, owner-only
 * tables, and broken authority files refused with FILE:LINE.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/authority.h"
#include "common/util/alloc.h"

/* Load the shipped data/authority.conf. */
static ocp_auth *
load_shipped(void)
{
	char data[512];
	char err[512];
	ocp_auth *a = NULL;
	int rv;

	tu_src(data, sizeof(data), "data");
	rv = ocp_auth_load(&a, data, err, sizeof(err));
	if (rv != OCOP_OK) {
		print_error("loading authority.conf: %s\n", err);
	}
	assert_int_equal(rv, OCOP_OK);
	assert_non_null(a);
	return a;
}

static void
test_role_names_parse_and_print_back(void **state)
{
	static const char *const names[] = {"commune", "district", "province", "national", "member"};
	char buf[128];
	char bad[64];
	unsigned mask;
	ocp_role r;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_ok(ocp_role_parse(names[i], &r));
		assert_int_equal((int)r, (int)i);
		assert_string_equal(ocp_role_name((int)r), names[i]);
		assert_non_null(strstr(ocp_role_actor((int)r), names[i]));
	}
	r = OCP_ROLE_MEMBER;
	assert_err(ocp_role_parse("Province", &r), OCOP_EINVAL);
	assert_err(ocp_role_parse("ministry", &r), OCOP_EINVAL);
	assert_err(ocp_role_parse("", &r), OCOP_EINVAL);
	assert_err(ocp_role_parse(NULL, &r), OCOP_EINVAL);
	assert_int_equal((int)r, (int)OCP_ROLE_MEMBER); /* untouched on error */
	assert_ok(ocp_role_parse_list("province,commune", &mask, bad, sizeof(bad)));
	assert_int_equal(mask, OCP_ROLE_BIT(OCP_ROLE_COMMUNE) | OCP_ROLE_BIT(OCP_ROLE_PROVINCE));
	assert_err(ocp_role_parse_list("commune,ministry", &mask, bad, sizeof(bad)), OCOP_EINVAL);
	assert_string_equal(bad, "ministry");
	assert_int_equal(mask, 0);
	assert_err(ocp_role_parse_list("commune,,province", &mask, bad, sizeof(bad)), OCOP_EINVAL);
	assert_string_equal(bad, "");
	assert_err(ocp_role_parse_list("commune, province", &mask, NULL, 0), OCOP_EINVAL);
	assert_string_equal(ocp_role_name(99), "unknown");
	assert_string_equal(ocp_role_name(-1), "unknown");
	assert_string_equal(ocp_role_list(OCP_ROLE_BIT(OCP_ROLE_COMMUNE) |
		OCP_ROLE_BIT(OCP_ROLE_NATIONAL), buf, sizeof(buf)),
	    "commune, national");
	assert_string_equal(ocp_role_list(0, buf, sizeof(buf)), "nobody");
	assert_string_equal(ocp_role_list(OCP_ROLE_ALL, buf, 12), "commune, di");
}

/* One write and whether the shipped rules allow it. */
typedef struct auth_case {
	ocp_role role;
	const char *table;
	const char *column; /* NULL: the whole row */
	const char *kind;   /* NULL: no kind */
	bool allowed;
} auth_case;

static void
test_shipped_rules_allow_and_refuse_the_expected_writes(void **state)
{
	static const auth_case cases[] = {
	    /* The commune files: subject, product, dossier, evidence. */
	    {OCP_ROLE_COMMUNE, "subject", NULL, NULL, true},
	    {OCP_ROLE_COMMUNE, "subject", "name", NULL, true},
	    {OCP_ROLE_COMMUNE, "product", "name", NULL, true},
	    {OCP_ROLE_COMMUNE, "dossier", NULL, NULL, true},
	    {OCP_ROLE_COMMUNE, "dossier", "legal_basis", NULL, true},
	    {OCP_ROLE_COMMUNE, "dossier", "status", NULL, true},
	    {OCP_ROLE_COMMUNE, "document", "blob_hash", NULL, true},
	    /* ... but no evaluation results or recognition decisions. */
	    {OCP_ROLE_COMMUNE, "decision", NULL, "recognition", false},
	    {OCP_ROLE_COMMUNE, "decision", "number", "recognition", false},
	    {OCP_ROLE_COMMUNE, "decision", NULL, "approval", false},
	    {OCP_ROLE_COMMUNE, "evaluation", NULL, "province", false},
	    {OCP_ROLE_COMMUNE, "member", NULL, "province", false},
	    {OCP_ROLE_COMMUNE, "score_sheet", NULL, NULL, false},
	    {OCP_ROLE_COMMUNE, "score", "points", NULL, false},
	    {OCP_ROLE_COMMUNE, "unit", "name", NULL, false},
	    /* The district (QĐ 148) holds its council and recognises 3★. */
	    {OCP_ROLE_DISTRICT, "decision", NULL, "recognition", true},
	    {OCP_ROLE_DISTRICT, "decision", NULL, "approval", false},
	    {OCP_ROLE_DISTRICT, "evaluation", NULL, "district", true},
	    {OCP_ROLE_DISTRICT, "evaluation", "held_on", "province", false},
	    {OCP_ROLE_DISTRICT, "member", NULL, "district", true},
	    /* The province corrects filings, holds its council, recognises and approves. */
	    {OCP_ROLE_PROVINCE, "subject", "name", NULL, true},
	    {OCP_ROLE_PROVINCE, "product", "name", NULL, true},
	    {OCP_ROLE_PROVINCE, "dossier", "legal_basis", NULL, true},
	    {OCP_ROLE_PROVINCE, "decision", NULL, "recognition", true},
	    {OCP_ROLE_PROVINCE, "decision", "number", "approval", true},
	    {OCP_ROLE_PROVINCE, "decision", NULL, "revocation", true},
	    {OCP_ROLE_PROVINCE, "decision", NULL, "national_result", false},
	    {OCP_ROLE_PROVINCE, "decision", NULL, "national_revocation", false},
	    {OCP_ROLE_PROVINCE, "evaluation", NULL, "province", true},
	    {OCP_ROLE_PROVINCE, "evaluation", NULL, "national", false},
	    {OCP_ROLE_PROVINCE, "member", NULL, "province", true},
	    {OCP_ROLE_PROVINCE, "member", NULL, "national", false},
	    {OCP_ROLE_PROVINCE, "score_sheet", NULL, NULL, true}, /* the secretariat owns paper sheets it types */
	    {OCP_ROLE_PROVINCE, "unit", "name", NULL, true},
	    /* The national tier: its own council and results, nothing provincial. */
	    {OCP_ROLE_NATIONAL, "decision", NULL, "national_result", true},
	    {OCP_ROLE_NATIONAL, "decision", "number", "national_revocation", true},
	    {OCP_ROLE_NATIONAL, "decision", NULL, "recognition", false},
	    {OCP_ROLE_NATIONAL, "decision", NULL, "approval", false},
	    {OCP_ROLE_NATIONAL, "dossier", "status", NULL, true},
	    {OCP_ROLE_NATIONAL, "dossier", "epoch", NULL, true},
	    {OCP_ROLE_NATIONAL, "dossier", "name", NULL, false},
	    {OCP_ROLE_NATIONAL, "dossier", NULL, NULL, false},
	    {OCP_ROLE_NATIONAL, "subject", "name", NULL, false},
	    {OCP_ROLE_NATIONAL, "product", "name", NULL, false},
	    {OCP_ROLE_NATIONAL, "document", NULL, NULL, false},
	    {OCP_ROLE_NATIONAL, "evaluation", NULL, "national", true},
	    {OCP_ROLE_NATIONAL, "evaluation", NULL, "province", false},
	    /* A member's laptop writes its sheets and nothing else. */
	    {OCP_ROLE_MEMBER, "score_sheet", NULL, NULL, true},
	    {OCP_ROLE_MEMBER, "score", "points", NULL, true},
	    {OCP_ROLE_MEMBER, "dossier", "status", NULL, false},
	    {OCP_ROLE_MEMBER, "evaluation", NULL, "province", false},
	    {OCP_ROLE_MEMBER, "member", NULL, "province", false},
	    {OCP_ROLE_MEMBER, "decision", NULL, "recognition", false},
	    {OCP_ROLE_MEMBER, "subject", "name", NULL, false},
	    /* Rows with kinds need a known kind. */
	    {OCP_ROLE_PROVINCE, "decision", NULL, NULL, false},
	    {OCP_ROLE_PROVINCE, "decision", NULL, "bonus", false},
	    {OCP_ROLE_PROVINCE, "evaluation", NULL, NULL, false},
	};
	char err[512];
	ocp_auth *a;
	size_t i;

	(void)state;
	a = load_shipped();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const auth_case *c = &cases[i];
		int rv = ocp_auth_check(a, (int)c->role, c->table, c->column, c->kind, err,
		    sizeof(err));

		if (rv != (c->allowed ? OCOP_OK : OCOP_EAUTH)) {
			print_error("case %zu: %s writing %s.%s kind %s: got %s (%s)\n", i,
			    ocp_role_name((int)c->role), c->table, c->column ? c->column : "*",
			    c->kind ? c->kind : "-", ocop_errname(rv), err);
		}
		assert_int_equal(rv, c->allowed ? OCOP_OK : OCOP_EAUTH);
		assert_int_equal((ocp_auth_roles(a, c->table, c->column, c->kind) &
				     OCP_ROLE_BIT(c->role)) != 0,
		    c->allowed);
		if (!c->allowed) {
			assert_non_null(strstr(err, ocp_role_name((int)c->role)));
			assert_non_null(strstr(err, c->table));
		}
	}
	ocp_auth_free(a);
}

static void
test_a_refusal_names_the_role_the_target_and_who_may(void **state)
{
	char err[512];
	ocp_auth *a;

	(void)state;
	a = load_shipped();
	assert_err(ocp_auth_check(a, OCP_ROLE_COMMUNE, "decision", NULL, "recognition", err,
		       sizeof(err)),
	    OCOP_EAUTH);
	assert_string_equal(err, "a commune office cannot write decision rows of kind "
				 "'recognition'; allowed: district, province");
	assert_err(ocp_auth_check(a, OCP_ROLE_NATIONAL, "dossier", "name", NULL, err, sizeof(err)),
	    OCOP_EAUTH);
	assert_string_equal(err,
	    "the national office cannot write dossier.name; allowed: commune, district, province");
	assert_err(ocp_auth_check(a, OCP_ROLE_PROVINCE, "decision", "number", "national_result",
		       err, sizeof(err)),
	    OCOP_EAUTH);
	assert_non_null(strstr(err, "decision.number in rows of kind 'national_result'"));
	assert_non_null(strstr(err, "allowed: national"));
	assert_err(ocp_auth_check(a, OCP_ROLE_PROVINCE, "decision", NULL, NULL, err, sizeof(err)),
	    OCOP_EAUTH);
	assert_non_null(strstr(err, "carry a kind"));
	assert_non_null(strstr(err, "recognition"));
	assert_err(ocp_auth_check(a, OCP_ROLE_PROVINCE, "decision", NULL, "bonus", err,
		       sizeof(err)),
	    OCOP_EAUTH);
	assert_non_null(strstr(err, "no role may write that kind"));
	/* err may be omitted. */
	assert_err(ocp_auth_check(a, OCP_ROLE_MEMBER, "subject", NULL, NULL, NULL, 0), OCOP_EAUTH);
	ocp_auth_free(a);
}

static void
test_unknown_tables_and_roles_are_invalid_arguments(void **state)
{
	char err[512];
	ocp_auth *a;

	(void)state;
	a = load_shipped();
	assert_err(ocp_auth_check(a, OCP_ROLE_PROVINCE, "rubric_cache", NULL, NULL, err,
		       sizeof(err)),
	    OCOP_EINVAL);
	assert_non_null(strstr(err, "unknown table 'rubric_cache'"));
	assert_err(ocp_auth_check(a, 42, "subject", NULL, NULL, err, sizeof(err)), OCOP_EINVAL);
	assert_err(ocp_auth_check(a, -1, "subject", NULL, NULL, err, sizeof(err)), OCOP_EINVAL);
	assert_err(ocp_auth_check(a, OCP_ROLE_PROVINCE, NULL, NULL, NULL, err, sizeof(err)),
	    OCOP_EINVAL);
	assert_int_equal(ocp_auth_roles(a, "rubric_cache", NULL, NULL), 0);
	assert_false(ocp_auth_has_table(a, "rubric_cache"));
	assert_true(ocp_auth_has_table(a, "dossier"));
	ocp_auth_free(a);
}

static void
test_every_replicated_table_is_declared(void **state)
{
	static const char *const tables[] = {"unit", "subject", "product", "dossier", "document",
	    "evaluation", "member", "score_sheet", "score", "decision"};
	ocp_auth *a;
	size_t i;

	(void)state;
	a = load_shipped();
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		assert_true(ocp_auth_has_table(a, tables[i]));
	}
	ocp_auth_free(a);
}

static void
test_score_sheets_are_written_only_by_their_owner_site(void **state)
{
	static const char *const site_a = "01890a5d-ac96-774b-bcce-b302099a8057";
	static const char *const site_b = "01890a5d-ac96-774b-bcce-b302099a8058";
	char err[512];
	ocp_auth *a;

	(void)state;
	a = load_shipped();
	assert_true(ocp_auth_owner_only(a, "score_sheet"));
	assert_true(ocp_auth_owner_only(a, "score"));
	assert_false(ocp_auth_owner_only(a, "dossier"));
	assert_false(ocp_auth_owner_only(a, "no_such_table"));
	assert_false(ocp_auth_owner_only(a, NULL));

	assert_ok(ocp_auth_check_owner(a, "score_sheet", site_a, site_a, err, sizeof(err)));
	assert_err(ocp_auth_check_owner(a, "score_sheet", site_a, site_b, err, sizeof(err)),
	    OCOP_EAUTH);
	assert_non_null(strstr(err, "score_sheet"));
	assert_non_null(strstr(err, site_a));
	assert_non_null(strstr(err, site_b));
	assert_err(ocp_auth_check_owner(a, "score", site_a, site_b, err, sizeof(err)), OCOP_EAUTH);
	assert_err(ocp_auth_check_owner(a, "score", NULL, site_b, err, sizeof(err)), OCOP_EAUTH);
	/* Other tables are not checked by owner. */
	assert_ok(ocp_auth_check_owner(a, "dossier", site_a, site_b, err, sizeof(err)));
	assert_err(ocp_auth_check_owner(a, "no_such_table", site_a, site_a, err, sizeof(err)),
	    OCOP_EINVAL);
	assert_err(ocp_auth_check_owner(a, "score", site_a, NULL, err, sizeof(err)), OCOP_EINVAL);
	ocp_auth_free(a);
}

/* A broken fixture, the line its error must name and a piece of the reason. */
typedef struct bad_case {
	const char *file;
	int line;
	const char *reason;
} bad_case;

static void
test_broken_authority_files_are_refused_with_file_and_line(void **state)
{
	static const bad_case cases[] = {
	    {"authority-unknown-role.conf", 3, "unknown role 'ministry'"},
	    {"authority-unknown-table.conf", 4, "unknown table 'products'"},
	    {"authority-table-without-rule.conf", 3, "table 'product' has no 'allow' rule"},
	    {"authority-duplicate-rule.conf", 4, "duplicate rule for 'decision' (first at line 3)"},
	    {"authority-unknown-keyword.conf", 3, "unknown keyword 'deny'"},
	};
	char path[512];
	char rel[256];
	char where[600];
	char err[1024];
	ocp_auth *a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(rel, sizeof(rel), "tests/data/workflow-bad/%s", cases[i].file);
		tu_src(path, sizeof(path), rel);
		assert_err(ocp_auth_load_file(&a, path, err, sizeof(err)), OCOP_EINPUT);
		assert_null(a);
		snprintf(where, sizeof(where), "%s:%d: ", path, cases[i].line);
		if (strncmp(err, where, strlen(where)) != 0 || strstr(err, cases[i].reason) == NULL) {
			print_error("%s: got \"%s\", want \"%s...%s\"\n", cases[i].file, err, where,
			    cases[i].reason);
		}
		assert_memory_equal(err, where, strlen(where));
		assert_non_null(strstr(err, cases[i].reason));
	}
}

static void
test_a_missing_authority_file_is_not_found(void **state)
{
	char err[512];
	ocp_auth *a;
	char *dir;

	(void)state;
	dir = tu_mkdtemp(); /* an empty data directory */
	assert_non_null(dir);
	assert_err(ocp_auth_load(&a, dir, err, sizeof(err)), OCOP_ENOENT);
	assert_null(a);
	assert_non_null(strstr(err, "authority.conf"));
	tu_rmtree(dir);
	assert_err(ocp_auth_load(&a, NULL, err, sizeof(err)), OCOP_EINVAL);
	assert_null(a);
}

static void
test_running_out_of_memory_while_loading_fails_cleanly(void **state)
{
	char data[512];
	char err[512];
	ocp_auth *a = NULL;
	long k;
	int rv = OCOP_ENOMEM;

	(void)state;
	tu_src(data, sizeof(data), "data");
	for (k = 0; rv == OCOP_ENOMEM; k++) {
		com_alloc_fail_after(k);
		rv = ocp_auth_load(&a, data, err, sizeof(err));
		com_alloc_fail_after(-1);
		if (rv == OCOP_ENOMEM) {
			assert_null(a);
		}
		assert_true(k < 100000);
	}
	assert_ok(rv);
	assert_true(k > 1);
	assert_true(ocp_auth_owner_only(a, "score_sheet"));
	ocp_auth_free(a);
	ocp_auth_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_role_names_parse_and_print_back),
	    cmocka_unit_test(test_shipped_rules_allow_and_refuse_the_expected_writes),
	    cmocka_unit_test(test_a_refusal_names_the_role_the_target_and_who_may),
	    cmocka_unit_test(test_unknown_tables_and_roles_are_invalid_arguments),
	    cmocka_unit_test(test_every_replicated_table_is_declared),
	    cmocka_unit_test(test_score_sheets_are_written_only_by_their_owner_site),
	    cmocka_unit_test(test_broken_authority_files_are_refused_with_file_and_line),
	    cmocka_unit_test(test_a_missing_authority_file_is_not_found),
	    cmocka_unit_test(test_running_out_of_memory_while_loading_fails_cleanly),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
