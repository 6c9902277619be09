/*
 * unit.server.config_example: the example ocopd.conf (packaging/ocopd.conf,
 * installed as /etc/ocop/ocopd.conf) explains every key ocopd accepts, and
 * every setting it shows, commented or not, is one ocopd accepts.
 */
#include "tests/lib/testutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "common/util/alloc.h"
#include "server/config.h"

/* The example with every "# key = value" line uncommented, written to path. */
static void
write_uncommented(const char *example, const char *path)
{
	FILE *f = fopen(path, "w");
	const char *line = example;

	assert_non_null(f);
	while (*line) {
		const char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);
		const char *p = line;
		/* "# key = value": a word of [a-z_] right after "# ", then " = ". */
		if (n > 2 && p[0] == '#' && p[1] == ' ' && islower((unsigned char)p[2])) {
			size_t k = 2;
			while (k < n && (islower((unsigned char)p[k]) || p[k] == '_')) {
				k++;
			}
			if (k + 2 < n && strncmp(p + k, " = ", 3) == 0) {
				p += 2;
				n -= 2;
			}
		}
		fprintf(f, "%.*s\n", (int)n, p);
		line = nl ? nl + 1 : line + n;
	}
	fclose(f);
}

static void
test_every_setting_in_the_example_is_accepted(void **state)
{
	char path[1024];
	char *example;
	char *dir = tu_mkdtemp();
	char tmp[1200];
	char err[512] = "";
	srv_config c;

	(void)state;
	tu_src(path, sizeof(path), "packaging/ocopd.conf");
	example = tu_slurp(path);
	assert_non_null(example);
	srv_config_defaults(&c);
	if (srv_config_load(&c, path, err, sizeof(err)) != OCOP_OK) {
		print_error("%s\n", err);
		fail();
	}
	snprintf(tmp, sizeof(tmp), "%s/all.conf", dir);
	write_uncommented(example, tmp);
	srv_config_defaults(&c);
	if (srv_config_load(&c, tmp, err, sizeof(err)) != OCOP_OK) {
		print_error("%s\n", err);
		fail();
	}
	com_free(example);
	tu_rmtree(dir);
}

static void
test_every_key_ocopd_accepts_is_explained_in_the_example(void **state)
{
	char path[1024];
	char *example;
	char *code;
	const char *p;
	int keys = 0;

	(void)state;
	tu_src(path, sizeof(path), "packaging/ocopd.conf");
	example = tu_slurp(path);
	tu_src(path, sizeof(path), "server/config.c");
	code = tu_slurp(path);
	assert_non_null(example);
	assert_non_null(code);
	/* The keys are the literals config.c compares k with: strcmp(k, "key"). */
	for (p = code; (p = strstr(p, "strcmp(k, \"")) != NULL;) {
		char key[64];
		char want[80];
		size_t n;
		p += strlen("strcmp(k, \"");
		n = strcspn(p, "\"");
		assert_true(n < sizeof(key));
		memcpy(key, p, n);
		key[n] = 0;
		snprintf(want, sizeof(want), "\n%s = ", key);
		if (strstr(example, want) == NULL) {
			snprintf(want, sizeof(want), "\n# %s = ", key);
		}
		if (strstr(example, want) == NULL) {
			print_error("key '%s' is not explained in packaging/ocopd.conf\n", key);
			fail();
		}
		keys++;
	}
	assert_true(keys >= 12);
	com_free(example);
	com_free(code);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_setting_in_the_example_is_accepted),
	    cmocka_unit_test(test_every_key_ocopd_accepts_is_explained_in_the_example),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
