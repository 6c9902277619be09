/*
 * cmdutil.c: shared plumbing of the ocop subcommands.
 */
#include "client/cmdutil.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <getopt.h>

#include "client/cli.h"
#include "common/ocop/policy.h"
#include "common/ocop/rubric.h"
#include "common/ocop/units.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

void
cli_err(const cli_ctx *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ocop %s: ", c && c->cmd ? c->cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int
cli_exit_code(int err)
{
	switch (err) {
	case OCOP_OK:
		return CLI_OK;
	case OCOP_EINVAL:
	case OCOP_EINPUT:
	case OCOP_ERUBRIC:
		return CLI_USAGE;
	default:
		return CLI_FAIL;
	}
}

void
cli_json_print(json_t *v)
{
	char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	if (s != NULL) {
		puts(s);
		free(s);
	}
	json_decref(v);
}

int
cli_ctx_nodb(cli_ctx *c, const char *cmd)
{
	const char *sub = c->cmd;
	const char *dd;

	memset(c, 0, sizeof(*c));
	/* Keep the subcommand's name ("member add") the dispatcher set: one prefix style for every error. */
	c->cmd = sub != NULL && strncmp(sub, cmd, strlen(cmd)) == 0 && sub[strlen(cmd)] == ' ' ? sub : cmd;
	c->log.fn = com_log_stderr;
	c->log.level = COM_LOG_WARN;
	dd = ocp_data_dir();
	if (dd == NULL) {
		cli_err(c, "cannot find the data directory (rubrics, workflow): set OCOP_DATA_DIR");
		return OCOP_ENOENT;
	}
	snprintf(c->data_dir, sizeof(c->data_dir), "%s", dd);
	return OCOP_OK;
}

int
cli_open(cli_ctx *c, const char *cmd, bool create)
{
	const char *path = getenv("OCOP_DB");
	const char *user = getenv("OCOP_USER");
	sto_opts o;
	int rv;

	if ((rv = cli_ctx_nodb(c, cmd)) != OCOP_OK) {
		return rv;
	}
	snprintf(c->db_path, sizeof(c->db_path), "%s", path && *path ? path : CLI_DEFAULT_DB);
	memset(&o, 0, sizeof(o));
	o.user = user ? user : getenv("USER");
	o.log = &c->log;
	o.create = create;
	rv = sto_open(&c->db, c->db_path, &o);
	if (rv == OCOP_ENOENT) {
		cli_err(c, "no replica at %s: run 'ocop init' first (or pass --db PATH)", c->db_path);
	} else if (rv == OCOP_ENOTREPLICA) {
		cli_err(c, "%s is not an OCOP replica (a file of another program, or an empty database); "
			   "nothing was changed: give the path of a replica, or a new path to 'ocop init'",
		    c->db_path);
	} else if (rv != OCOP_OK) {
		cli_err(c, "cannot open %s: %s", c->db_path, ocop_strerror(rv));
	} else if (!create && sto_site_id(c->db)[0] == 0) {
		cli_err(c, "%s has no site identity yet: run 'ocop init'", c->db_path);
		sto_close(c->db);
		c->db = NULL;
		rv = OCOP_ESTATE;
	} else {
		char err[512];
		rv = ocp_policy_open(&c->pol, c->data_dir, false, err, sizeof(err));
		if (rv != OCOP_OK) {
			cli_err(c, "cannot load the rules: %s", err);
			sto_close(c->db);
			c->db = NULL;
		} else {
			sto_set_policy(c->db, ocp_policy_store(c->pol));
		}
	}
	return rv;
}

void
cli_close(cli_ctx *c)
{
	sto_close(c->db);
	c->db = NULL;
	ocp_policy_free(c->pol);
	c->pol = NULL;
}

/* ===== Options and plain-text output ===== */

int
cli_bad_option(const cli_ctx *c, int opt, char **argv)
{
	/* getopt_long has moved optind past the option it complains about. */
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (opt == ':') {
		cli_err(c, "option '%s' needs a value", arg);
	} else {
		cli_err(c, "unknown option '%s'", arg);
	}
	return CLI_USAGE;
}

int
cli_exit_input(int err)
{
	return err == OCOP_ENOENT ? CLI_USAGE : cli_exit_code(err);
}

void
cli_print_value(const json_t *v)
{
	size_t i;

	if (json_is_string(v)) {
		fputs(json_string_value(v), stdout);
	} else if (json_is_integer(v)) {
		printf("%" JSON_INTEGER_FORMAT, json_integer_value(v));
	} else if (json_is_real(v)) {
		printf("%.2f", json_real_value(v));
	} else if (json_is_boolean(v)) {
		fputs(json_is_true(v) ? "yes" : "no", stdout);
	} else if (json_is_array(v) && json_array_size(v) > 0) {
		for (i = 0; i < json_array_size(v); i++) {
			fputs(i > 0 ? ", " : "", stdout);
			cli_print_value(json_array_get(v, i));
		}
	} else {
		fputs("-", stdout);
	}
}

void
cli_print_row(const json_t *o, const char *const *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		fputs(i > 0 ? "\t" : "", stdout);
		cli_print_value(json_object_get(o, keys[i]));
	}
	fputc('\n', stdout);
}

void
cli_print_object(const json_t *o)
{
	const char *key;
	json_t *v;

	json_object_foreach((json_t *)o, key, v) {
		size_t n = strlen(key);

		printf("%s:%*s", key, n < 16 ? (int)(16 - n) : 1, "");
		cli_print_value(v);
		fputc('\n', stdout);
	}
}

/* ===== Files and reference data ===== */

#define CLI_FILE_MAX (128u * 1024 * 1024)

int
cli_read_file(const cli_ctx *c, const char *path, char **text, size_t *len)
{
	FILE *f = fopen(path, "rb");
	size_t cap = 65536;
	size_t n = 0;
	size_t got;
	char *buf;

	*text = NULL;
	*len = 0;
	if (f == NULL) {
		int e = errno;

		cli_err(c, "%s: %s", path, e == ENOENT ? "no such file" : strerror(e));
		return e == ENOENT ? OCOP_ENOENT : OCOP_EIO;
	}
	buf = com_malloc(cap + 1);
	while (buf != NULL && (got = fread(buf + n, 1, cap - n, f)) > 0) {
		n += got;
		if (n == cap) {
			char *g = cap >= CLI_FILE_MAX ? NULL : com_realloc(buf, cap * 2 + 1);

			if (g == NULL) {
				com_free(buf);
				buf = NULL;
				break;
			}
			buf = g;
			cap *= 2;
		}
	}
	if (buf == NULL || ferror(f)) {
		int e = errno;

		cli_err(c, "%s: %s", path,
		    buf == NULL ? "too big (over 128 MiB) or out of memory"
				: (e == EISDIR ? "is a directory, not a file" : strerror(e)));
		com_free(buf);
		fclose(f);
		return OCOP_EIO;
	}
	fclose(f);
	buf[n] = '\0';
	*text = buf;
	*len = n;
	return OCOP_OK;
}

int
cli_units_open(const cli_ctx *c, struct ocp_units **out)
{
	char err[512];
	int rv = ocp_units_open(out, c->data_dir, err, sizeof(err));

	if (rv != OCOP_OK) {
		cli_err(c, "%s", err);
		return rv;
	}
	if (c->db != NULL && (rv = ocp_units_load_db(*out, c->db)) != OCOP_OK) {
		cli_err(c, "reading the units of %s: %s", c->db_path, ocop_strerror(rv));
		ocp_units_free(*out);
		*out = NULL;
	}
	return rv;
}
