/*
 * Integration: `ocop history import` and the report on real processes. A good
 * file of earlier rounds (QĐ 1048 and 148, old Bến Tre codes under Vĩnh Long)
 * is imported and reported alongside, marked imported; bad files (a bad field,
 * a star above its band, a non-UTF-8 sheet, a duplicate line) are refused
 * whole with the line named and change nothing; a second import changes nothing.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "common/util/alloc.h"

#define HEADER                                                                                      \
	"subject,subject_kind,product,product_set,product_code,unit_code,basis,round_year,round_no,"     \
	"eval_type,mean,star,decision_no,issued_on,expires_on,issuer\n"

typedef struct fx {
	char *dir;      /* temp dir, owned */
	char db[512];   /* replica path */
	char bin[512];  /* the ocop program */
} fx;

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	char *out = NULL;
	int rc;

	if (f == NULL || (f->dir = tu_mkdtemp()) == NULL) {
		return -1;
	}
	snprintf(f->db, sizeof(f->db), "%s/p.db", f->dir);
	tu_bin(f->bin, sizeof(f->bin), "ocop");
	rc = tu_run(&out, 1,
	    "cd '%s' && '%s' --db p.db init --site-id 01936f8e-0000-7000-8000-00000000a001 --role province"
	    " --scope 86 && '%s' --db p.db unit add --code 83 --name 'Tỉnh Bến Tre' --level province"
	    " --valid-to 2025-06-30 --successor 86 && '%s' --db p.db unit add --code 86"
	    " --name 'Tỉnh Vĩnh Long' --level province --valid-from 2025-07-01",
	    f->dir, f->bin, f->bin, f->bin);
	com_free(out);
	if (rc != 0) {
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

static void
write_file(fx *f, const char *name, const char *text)
{
	char path[1024];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static int
ocop(fx *f, char **out, const char *args)
{
	return tu_run(out, 1, "cd '%s' && '%s' --db p.db %s", f->dir, f->bin, args);
}

static const char good[] = HEADER
    "HTX Bưởi Tân Phú,htx,Bưởi da xanh,01,83-832-28882-2-2022,83-832-28882,qd1048-2019,2022,2,first,"
    "72.50,4,2951/QĐ-UBND,2022-12-20,2025-12-20,UBND tỉnh Bến Tre\n"
    "\"Hộ kinh doanh Nguyễn Văn A, Chợ Lách\",ho,Kẹo dừa sữa,07,,83-832-28900,qd148-2023,2024,1,first,"
    "45.00,2,,,,\n"
    "HTX Bưởi Tân Phú,htx,Rượu bưởi,15,,83-832-28882,qd148-2023,2024,1,first,55.00,3,1120/QĐ-UBND,"
    "2024-06-20,2027-06-20,UBND huyện Chợ Lách\n";

static void
test_a_good_file_is_imported_once_and_reported_alongside(void **state)
{
	fx *f = *state;
	char *out = NULL;
	json_t *r, *list, *ev, *row;
	json_error_t je;
	size_t i;
	int imported = 0;

	write_file(f, "h.csv", good);
	assert_int_equal(ocop(f, &out, "history import h.csv"), 0);
	assert_non_null(strstr(out, "imported 3 results"));
	com_free(out);
	/* Again: every line is already there, nothing changes. */
	assert_int_equal(ocop(f, &out, "history import h.csv"), 2);
	assert_non_null(strstr(out, "h.csv:2: already imported"));
	com_free(out);
	assert_int_equal(ocop(f, &out, "report --json --today 2024-07-01"), 0);
	r = json_loads(out, 0, &je);
	com_free(out);
	assert_non_null(r);
	list = json_object_get(r, "recognised");
	assert_int_equal(json_array_size(list), 2);
	for (i = 0; i < json_array_size(list); i++) {
		row = json_array_get(list, i);
		assert_true(json_is_true(json_object_get(row, "imported")));
		imported += json_integer_value(json_object_get(row, "star")) >= 3;
	}
	assert_int_equal(imported, 2);
	ev = json_object_get(r, "evaluated_by_star");
	for (i = 0; i < json_array_size(ev); i++) {
		const char *k = json_string_value(json_object_get(json_array_get(ev, i), "star"));
		json_int_t n = json_integer_value(json_object_get(json_array_get(ev, i), "products"));

		if (strcmp(k, "2") == 0 || strcmp(k, "3") == 0 || strcmp(k, "4") == 0) {
			assert_int_equal(n, 1);
		} else if (strcmp(k, "total") == 0) {
			assert_int_equal(n, 3);
		} else {
			assert_int_equal(n, 0);
		}
	}
	row = json_array_get(json_object_get(r, "summary"), 0);
	assert_non_null(strstr(json_string_value(json_object_get(row, "text")),
	    "Tỉnh Vĩnh Long có 2 sản phẩm OCOP của 1 chủ thể (1 hợp tác xã), trong đó 1 sản phẩm 3 sao, 1 "
	    "sản phẩm 4 sao (theo đơn vị như ghi nhận: mã 83-832-28882, Tỉnh Bến Tre 02 sản phẩm)"));
	json_decref(r);
}

static void
test_bad_files_are_refused_whole_naming_the_line(void **state)
{
	static const struct {
		const char *text;
		const char *want;
	} cases[] = {
	    {HEADER "A,htx,B,01,,86-29000,qd148-2023,2024,1,first,55,3,1/QĐ,2024-01-02,2027-01-02,\n"
		    "C,coop,D,01,,86-29000,qd148-2023,2024,1,first,55,3,2/QĐ,2024-01-02,2027-01-02,\n",
		"x.csv:3: subject_kind 'coop'"},
	    {HEADER "A,htx,B,01,,86-29000,qd148-2023,2024,1,first,65.00,4,1/QĐ,2024-01-02,2027-01-02,\n",
		"x.csv:2: star 4 is above the band of mean 65.00"},
	    {HEADER "A,htx,B,01,,86-29000,qd999-2030,2024,1,first,55,3,1/QĐ,2024-01-02,2027-01-02,\n",
		"x.csv:2: basis 'qd999-2030'"},
	    {HEADER "A,htx,B,01,,86-29000,qd148-2023,2024,1,first,55,3,1/QĐ,2024-01-02,2027-01-02,\n"
		    "A,htx,B,01,,86-29000,qd148-2023,2024,1,first,55,3,1/QĐ,2024-01-02,2027-01-02,\n",
		"x.csv:3: the same product and round as line 2"},
	    {HEADER "H\xf4 A,ho,B,01,,86-29000,qd148-2023,2024,1,first,55,3,1/QĐ,2024-01-02,2027-01-02,\n",
		"x.csv:2: not valid UTF-8 text"},
	    {HEADER "A,htx,B,01,,79-26734,qd148-2023,2024,1,first,55,3,1/QĐ,2024-01-02,2027-01-02,\n",
		"x.csv:2: unit_code '79-26734' is outside this site's scope"},
	    {"member,criterion,points\n", "x.csv:1: the header must be exactly"},
	};
	fx *f = *state;
	char *out = NULL;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc;

		write_file(f, "x.csv", cases[i].text);
		rc = ocop(f, &out, "history import x.csv");
		if (rc != 2 || strstr(out, cases[i].want) == NULL) {
			fail_msg("case %zu: exit %d, output \"%s\", want \"%s\"", i, rc, out, cases[i].want);
		}
		assert_non_null(strstr(out, "nothing was imported"));
		com_free(out);
	}
	assert_int_equal(ocop(f, &out, "history list --json"), 0);
	assert_string_equal(out, "[]\n");
	com_free(out);
	assert_int_equal(ocop(f, &out, "history import nofile.csv"), 2);
	assert_non_null(strstr(out, "nofile.csv: no such file"));
	com_free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_good_file_is_imported_once_and_reported_alongside, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(test_bad_files_are_refused_whole_naming_the_line, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
