/*
 * integration.product_qr: `ocop product qr` writes a label's QR code that a
 * real decoder (zbarimg, from zbar-tools) reads back as the product's public
 * link: PNG directly, SVG after headless Chromium renders it. Bad requests
 * exit 2 naming the problem and write nothing.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/util/alloc.h"

typedef struct fx {
	char *dir;       /* temp dir, owned */
	char ocop[512];  /* ocop binary */
	char data[512];  /* data dir */
	char product[40]; /* a product with a code */
	char bare[40];   /* a product without one */
} fx;

static int
run(fx *f, char **out, const char *args)
{
	return tu_run(out, 1, "cd %s && OCOP_DB=%s/site.db OCOP_DATA_DIR=%s %s %s", f->dir, f->dir, f->data, f->ocop, args);
}

static void
run_id(fx *f, char *id, size_t cap, const char *args)
{
	char *o = NULL;

	assert_int_equal(run(f, &o, args), 0);
	snprintf(id, cap, "%.36s", o);
	com_free(o);
}

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	char subject[40];
	char args[300];

	f->dir = tu_mkdtemp();
	tu_bin(f->ocop, sizeof(f->ocop), "ocop");
	tu_src(f->data, sizeof(f->data), "data");
	unsetenv("OCOP_PUBLIC_URL");
	if (run(f, NULL, "init --site-id 01a24b16-3090-7f91-9fbe-e59041a728dc --role commune --scope 83-28882") != 0) {
		return -1;
	}
	run_id(f, subject, sizeof(subject), "subject add --name 'HTX Bưởi' --kind htx --unit 83-28882");
	snprintf(args, sizeof(args), "product add --subject %s --name 'Bưởi da xanh' --set 01 --code 83-28882-2-2026",
	    subject);
	run_id(f, f->product, sizeof(f->product), args);
	snprintf(args, sizeof(args), "product add --subject %s --name 'Bưởi mới' --set 01", subject);
	run_id(f, f->bare, sizeof(f->bare), args);
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

/* What zbarimg reads from an image, without its trailing newline. */
static char *
decode(const char *png)
{
	char *o = NULL;

	if (tu_run(NULL, 1, "command -v zbarimg >/dev/null") != 0) {
		print_error("zbarimg is not installed: run scripts/setup.sh (zbar-tools)\n");
		fail();
	}
	assert_int_equal(tu_run(&o, 0, "zbarimg --raw -q '%s' 2>/dev/null", png), 0);
	o[strcspn(o, "\n")] = 0;
	return o;
}

static void
test_the_png_reads_back_as_the_products_public_link(void **state)
{
	fx *f = *state;
	char args[400];
	char path[600];
	char want[200];
	char *o = NULL;

	snprintf(args, sizeof(args), "product qr %s --out label.png --url 'https://ocop.example.gov.vn/sp/{code}?id={id}'",
	    f->product);
	assert_int_equal(run(f, &o, args), 0);
	com_free(o);
	snprintf(path, sizeof(path), "%s/label.png", f->dir);
	o = decode(path);
	snprintf(want, sizeof(want), "https://ocop.example.gov.vn/sp/83-28882-2-2026?id=%s", f->product);
	assert_string_equal(o, want);
	com_free(o);
	/* The province's template from the environment. */
	snprintf(args, sizeof(args), "product qr %s --out env.png", f->product);
	assert_int_equal(tu_run(&o, 1, "cd %s && OCOP_PUBLIC_URL='http://ocop.local/{code}' OCOP_DB=%s/site.db %s %s",
			     f->dir, f->dir, f->ocop, args),
	    0);
	com_free(o);
	snprintf(path, sizeof(path), "%s/env.png", f->dir);
	o = decode(path);
	assert_string_equal(o, "http://ocop.local/83-28882-2-2026");
	com_free(o);
}

static void
test_the_svg_reads_back_once_a_browser_draws_it(void **state)
{
	fx *f = *state;
	char args[400];
	char path[600];
	char *o = NULL;

	snprintf(args, sizeof(args), "product qr %s --out label.svg --json", f->product);
	assert_int_equal(run(f, &o, args), 0);
	assert_non_null(strstr(o, "\"text\": \"83-28882-2-2026\"")); /* no template: the code alone */
	com_free(o);
	assert_int_equal(tu_run(&o, 1,
			     "chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
			     " --disable-background-networking --disable-component-update --disable-sync"
			     " --user-data-dir=%s/chromium --hide-scrollbars --window-size=400,400"
			     " --screenshot=%s/svg.png file://%s/label.svg >/dev/null 2>&1",
			     f->dir, f->dir, f->dir),
	    0);
	com_free(o);
	snprintf(path, sizeof(path), "%s/svg.png", f->dir);
	o = decode(path);
	assert_string_equal(o, "83-28882-2-2026");
	com_free(o);
}

static void
test_bad_requests_exit_2_and_write_nothing(void **state)
{
	fx *f = *state;
	static const char unknown[] = "01a24b16-0000-7000-8000-000000000000";
	static const struct {
		const char *tail; /* arguments after the product id */
		const char *says; /* in the message */
		int which;        /* 0: the product, 1: the one without a code, 2: an unknown id */
	} cases[] = {
	    {"", "--out", 0},
	    {" --out bad.jpg", ".png or .svg", 0},
	    {" --out bad.png", "no such product", 2},
	    {" --out bad.png", "no product code", 1},
	    {" --out bad.png --url 'ftp://x/{code}'", "https://", 0},
	    {" --out bad.png --url 'https://x/sp/'", "{code}", 0},
	    {" --out bad.png --bogus", "bogus", 0},
	};
	char args[400];
	char path[600];
	char *o = NULL;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(args, sizeof(args), "product qr %s%s",
		    cases[i].which == 0 ? f->product : cases[i].which == 1 ? f->bare : unknown, cases[i].tail);
		assert_int_equal(run(f, &o, args), 2);
		if (strstr(o, cases[i].says) == NULL) {
			print_error("ocop %s said: %s\n", args, o);
		}
		assert_non_null(strstr(o, cases[i].says));
		com_free(o);
	}
	snprintf(path, sizeof(path), "%s/bad.png", f->dir);
	assert_int_not_equal(access(path, F_OK), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_the_png_reads_back_as_the_products_public_link, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_the_svg_reads_back_once_a_browser_draws_it, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_requests_exit_2_and_write_nothing, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
