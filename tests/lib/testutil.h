/*
 * testutil.h: helpers shared by the cmocka tests: assertions that print the
 * error text, temporary directories, and running the built programs.
 * Include after <cmocka.h>'s prerequisites (stdarg, stddef, setjmp, stdint).
 */
#ifndef OCOP_TESTS_LIB_TESTUTIL_H
#define OCOP_TESTS_LIB_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ocop_err.h"

#define assert_ok(expr)                                                        \
	do {                                                                   \
		int rv_ = (expr);                                              \
		if (rv_ != OCOP_OK) {                                          \
			print_error("%s: %s (%s)\n", #expr, ocop_errname(rv_),  \
			    ocop_strerror(rv_));                               \
		}                                                              \
		assert_int_equal(rv_, OCOP_OK);                                \
	} while (0)

#define assert_err(expr, code)                                                 \
	do {                                                                   \
		int rv_ = (expr);                                              \
		if (rv_ != (code)) {                                           \
			print_error("%s: got %s, want %s\n", #expr,             \
			    ocop_errname(rv_), ocop_errname(code));            \
		}                                                              \
		assert_int_equal(rv_, (code));                                 \
	} while (0)

/* Make a fresh temporary directory; returns a com_malloc'd path (free with tu_rmtree). */
char *tu_mkdtemp(void);
/* Remove a directory tree made by tu_mkdtemp and free the path. Accepts NULL. */
void tu_rmtree(char *dir);
/* Path of a built program ("ocop", "ocopd") in a static buffer of the caller's. */
void tu_bin(char *out, size_t cap, const char *prog);
/* Path of a file in the source tree, e.g. "data/rubrics/qd26-2026-01.rubric". */
void tu_src(char *out, size_t cap, const char *rel);
/*
 * Run a shell command, capture stdout (and stderr when merge is set) into a
 * com_malloc'd string *out (free with com_free), and return the exit status
 * (or -1 when it did not exit normally).
 */
int tu_run(char **out, int merge, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Read a whole file into a com_malloc'd NUL-terminated string, NULL on error. */
char *tu_slurp(const char *path);

#endif /* OCOP_TESTS_LIB_TESTUTIL_H */
