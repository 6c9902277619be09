/*
 * testutil.c: temp dirs, paths of built programs and a command runner for tests.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"

char *
tu_mkdtemp(void)
{
	char tmpl[256];
	const char *base = getenv("TMPDIR");

	snprintf(tmpl, sizeof(tmpl), "%s/ocop-test-XXXXXX", base ? base : "/tmp");
	if (mkdtemp(tmpl) == NULL) {
		return NULL;
	}
	return com_strdup(tmpl);
}

void
tu_rmtree(char *dir)
{
	char cmd[512];

	if (dir == NULL) {
		return;
	}
	/* Only ever remove what tu_mkdtemp made. */
	if (strstr(dir, "/ocop-test-") != NULL) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0) {
			fprintf(stderr, "could not remove %s\n", dir);
		}
	}
	com_free(dir);
}

void
tu_bin(char *out, size_t cap, const char *prog)
{
	const char *dir = getenv("OCOP_BIN_DIR");

	snprintf(out, cap, "%s/%s", dir ? dir : "./bin", prog);
}

void
tu_src(char *out, size_t cap, const char *rel)
{
	const char *dir = getenv("OCOP_SOURCE_DIR");

	snprintf(out, cap, "%s/%s", dir ? dir : ".", rel);
}

int
tu_run(char **out, int merge, const char *fmt, ...)
{
	com_buf cmd;
	com_buf res;
	va_list ap;
	char chunk[4096];
	size_t n;
	FILE *p;
	int st;
	int len;

	com_buf_init(&cmd);
	com_buf_init(&res);
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	com_buf_reserve(&cmd, (size_t)len + 16);
	va_start(ap, fmt);
	vsnprintf((char *)cmd.data, (size_t)len + 1, fmt, ap);
	va_end(ap);
	cmd.len = (size_t)len;
	if (merge) {
		com_buf_puts(&cmd, " 2>&1");
	}
	p = popen((char *)cmd.data, "r");
	com_buf_fini(&cmd);
	if (p == NULL) {
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		com_buf_append(&res, chunk, n);
	}
	st = pclose(p);
	com_buf_append(&res, "", 0);
	if (out != NULL) {
		*out = com_buf_detach(&res, NULL);
	} else {
		com_buf_fini(&res);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

char *
tu_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	com_buf b;
	char chunk[4096];
	size_t n;

	if (f == NULL) {
		return NULL;
	}
	com_buf_init(&b);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		com_buf_append(&b, chunk, n);
	}
	fclose(f);
	com_buf_append(&b, "", 0);
	return com_buf_detach(&b, NULL);
}
