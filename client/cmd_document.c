/*
 * cmd_document.c: `ocop document add|set|get|list|show|delete`, the evidence
 * items of a dossier. With --file, add and set store the file's bytes in the
 * site's file store (client/files.h) and record its SHA-256 and size, which
 * they compute themselves; the bytes then travel with the sync. get writes a
 * file back out; list and show say whether each file is here, on its way, or
 * missing. The options, the usage and the output otherwise come from the
 * document's field table (common/ocop/entity.c) through client/record.c.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cli.h"
#include "client/cmdutil.h"
#include "client/files.h"
#include "client/progress.h"
#include "client/record.h"
#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/files.h"

static int doc_add(const cli_record *r, int argc, char **argv);
static int doc_set(const cli_record *r, int argc, char **argv);
static int doc_get(const cli_record *r, int argc, char **argv);
static void doc_annotate(cli_ctx *c, json_t *row);

static const cli_verb verbs[] = {
    {"add", "add --dossier ID --kind KIND --title TITLE [--file PATH | --sha256 HEX --size BYTES]\n"
	    "                    [--received DATE]",
	doc_add},
    {"set", "set ID [--file PATH] [--kind KIND] [--title TITLE] [--received DATE]", doc_set},
    {"get", "get ID --out PATH [--force] [--json]", doc_get},
    {"list", NULL, cli_record_list},
    {"show", NULL, cli_record_show},
    {"delete", NULL, cli_record_delete},
};

static const char doc_more[] =
    "commune_report (Mẫu 03) is the kind the commune's move to province_review\n"
    "requires.\n"
    "\n"
    "--file PATH stores the file (a scan, a PDF, a photo) in this site's file store\n"
    "beside the replica and records its SHA-256 and size, computed here; the same\n"
    "bytes are stored once however many documents name them. The file goes to the\n"
    "server with the next 'ocop sync' (after the rows, in chunks that resume where a\n"
    "cut link stopped) and from there to every site whose scope holds the dossier.\n"
    "Files larger than the server's limit (default 256 MiB) are refused.\n"
    "'get' writes the file back out (never over an existing file without --force);\n"
    "'list' and 'show' say whether each file is present here, in transit (part of it\n"
    "received), missing, or none (a document without a file).\n";

int
cmd_document(int argc, char **argv)
{
	const cli_record r = {ocp_entity_find("document"), verbs, sizeof(verbs) / sizeof(verbs[0]), doc_more,
	    doc_annotate, "file"};

	return cli_record_main(&r, argc, argv);
}

/* ===== add and set with --file ===== */

/* Take --file PATH (or --file=PATH) out of argv into *path; refuses it twice. Returns -1 to go on, or an exit code. */
static int
doc_take_file(cli_ctx *c, int argc, char **argv, char **out, int *outc, const char **path)
{
	int i;

	*outc = 0;
	*path = NULL;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char *v = NULL;

		if (strcmp(a, "--") == 0) {
			break;
		}
		if (strcmp(a, "--file") == 0) {
			if (i + 1 >= argc) {
				cli_err(c, "option '--file' needs a value");
				return CLI_USAGE;
			}
			v = argv[++i];
		} else if (strncmp(a, "--file=", 7) == 0) {
			v = a + 7;
		} else {
			out[(*outc)++] = argv[i];
			continue;
		}
		if (*path != NULL) {
			cli_err(c, "--file is given twice");
			return CLI_USAGE;
		}
		if (v[0] == 0) {
			cli_err(c, "--file needs a path");
			return CLI_USAGE;
		}
		*path = v;
	}
	for (; i < argc; i++) {
		out[(*outc)++] = argv[i];
	}
	return -1;
}

/* Does argv name --sha256 or --size? */
static bool
doc_names_hash(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--sha256") == 0 || strncmp(argv[i], "--sha256=", 9) == 0 ||
		    strcmp(argv[i], "--size") == 0 || strncmp(argv[i], "--size=", 7) == 0) {
			return true;
		}
	}
	return false;
}

static int
doc_write(const cli_record *r, int argc, char **argv, bool add)
{
	char **args = NULL;
	const char *path = NULL;
	char hex[2 * PROTO_SHA256_LEN + 1];
	char size_s[32];
	char err[512];
	char cmd[64];
	uint8_t sha[PROTO_SHA256_LEN];
	uint64_t size = 0;
	sto_blobs *b = NULL;
	bool existed = true;
	cli_ctx c;
	int n = 0;
	int rv;

	memset(&c, 0, sizeof(c));
	snprintf(cmd, sizeof(cmd), "document %s", argv[0]);
	c.cmd = cmd;
	if ((args = com_calloc((size_t)argc + 5, sizeof(*args))) == NULL) {
		cli_err(&c, "out of memory");
		return CLI_FAIL;
	}
	if ((rv = doc_take_file(&c, argc, argv, args, &n, &path)) >= 0) {
		com_free(args);
		return rv;
	}
	if (path == NULL) {
		com_free(args);
		return add ? cli_record_add(r, argc, argv) : cli_record_set(r, argc, argv);
	}
	if (doc_names_hash(n, args)) {
		cli_err(&c, "--file computes the SHA-256 and size itself: give --file or --sha256/--size, not both");
		com_free(args);
		return CLI_USAGE;
	}
	if ((rv = cli_open(&c, cmd, false)) != OCOP_OK) {
		com_free(args);
		return cli_exit_code(rv);
	}
	if ((rv = cli_files_open(c.db, &b, err, sizeof(err))) != OCOP_OK) {
		cli_err(&c, "%s", err);
		goto out;
	}
	rv = sto_blobs_add(b, path, cli_files_max(c.db), sha, &size, &existed);
	if (rv != OCOP_OK) {
		cli_err(&c, "%s%s", sto_blobs_errmsg(b),
		    rv == OCOP_ETOOBIG ? " (the server's max_file_bytes; split or compress the scan)" : "");
		rv = rv == OCOP_EIO || rv == OCOP_ENOMEM ? rv : OCOP_EINPUT;
		goto out;
	}
	proto_sha_hex(sha, hex);
	snprintf(size_s, sizeof(size_s), "%" PRIu64, size);
	args[n++] = "--sha256";
	args[n++] = hex;
	args[n++] = "--size";
	args[n++] = size_s;
	args[n] = NULL;
	/* The row goes in through the generic verb, checked as any other write. */
	cli_close(&c);
	rv = add ? cli_record_add(r, n, args) : cli_record_set(r, n, args);
	if (rv != CLI_OK && !existed) {
		/* The row was refused: the bytes it would have named are not kept. */
		sto_blobs_remove(b, sha);
	}
	sto_blobs_close(b);
	com_free(args);
	return rv;
out:
	sto_blobs_close(b);
	cli_close(&c);
	com_free(args);
	return cli_exit_code(rv);
}

static int
doc_add(const cli_record *r, int argc, char **argv)
{
	return doc_write(r, argc, argv, true);
}

static int
doc_set(const cli_record *r, int argc, char **argv)
{
	return doc_write(r, argc, argv, false);
}

/* ===== get ===== */

static int
doc_get(const cli_record *r, int argc, char **argv)
{
	static const struct option opts[] = {{"out", required_argument, NULL, 'o'}, {"force", no_argument, NULL, 'f'},
	    {"json", no_argument, NULL, 'j'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	const char *out = NULL;
	const char *id = NULL;
	const char *sha_hex;
	uint8_t sha[PROTO_SHA256_LEN];
	char held[32];
	char total[32];
	char err[512];
	sto_blobs *b = NULL;
	ocp_reg *reg = NULL;
	json_t *v = NULL;
	cli_file_state fs;
	bool force = false;
	bool json = false;
	cli_ctx c;
	int opt;
	int rv;

	memset(&c, 0, sizeof(c));
	c.cmd = "document get";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (opt) {
		case 'o': out = optarg; break;
		case 'f': force = true; break;
		case 'j': json = true; break;
		case 'h': return cli_record_usage(r, stdout, CLI_OK);
		default: return cli_bad_option(&c, opt, argv);
		}
	}
	if (optind < argc) {
		id = argv[optind++];
	}
	if (id == NULL || out == NULL || optind < argc) {
		cli_err(&c, id == NULL ? "which document? give its id" : out == NULL ? "needs --out PATH" : "unexpected argument '%s'",
		    optind < argc ? argv[optind] : "");
		return CLI_USAGE;
	}
	if ((rv = cli_open(&c, "document get", false)) != OCOP_OK) {
		return cli_exit_code(rv);
	}
	if ((rv = ocp_reg_open(&reg, c.db, c.data_dir, err, sizeof(err))) != OCOP_OK) {
		cli_err(&c, "%s", err);
		goto out;
	}
	if ((rv = ocp_reg_get(reg, "document", id, &v)) != OCOP_OK) {
		cli_err(&c, "%s", ocp_reg_errmsg(reg));
		goto out;
	}
	sha_hex = json_string_value(json_object_get(v, "sha256"));
	if (sha_hex == NULL || proto_sha_parse(sha_hex, sha) != OCOP_OK || !json_is_integer(json_object_get(v, "size"))) {
		cli_err(&c, "document %s names no file (its SHA-256 and size are not recorded)", id);
		rv = OCOP_ENOENT;
		goto out;
	}
	if ((rv = cli_files_open(c.db, &b, err, sizeof(err))) != OCOP_OK) {
		cli_err(&c, "%s", err);
		goto out;
	}
	rv = sto_blobs_export(b, sha, out, force);
	if (rv == OCOP_ENOENT) {
		cli_file_state_of(c.db, b, sha_hex, (int64_t)json_integer_value(json_object_get(v, "size")), &fs);
		cli_progress_bytes(fs.held, held, sizeof(held));
		cli_progress_bytes(fs.size, total, sizeof(total));
		if (strcmp(fs.state, "in transit") == 0) {
			cli_err(&c, "the file of document %s is still on its way (%s of %s here): run 'ocop sync'", id, held,
			    total);
		} else {
			cli_err(&c, "the file of document %s is not on this site yet: run 'ocop sync'", id);
		}
		rv = OCOP_ESTATE;
	} else if (rv == OCOP_EEXIST) {
		cli_err(&c, "%s exists: add --force to replace it", out);
		rv = OCOP_EINPUT;
	} else if (rv != OCOP_OK) {
		cli_err(&c, "%s", sto_blobs_errmsg(b));
	} else if (json) {
		cli_json_print(json_pack("{s:s, s:s, s:s, s:I}", "id", id, "out", out, "sha256", sha_hex, "size",
		    json_integer_value(json_object_get(v, "size"))));
	} else {
		printf("%s\n", out);
	}
out:
	json_decref(v);
	sto_blobs_close(b);
	ocp_reg_close(reg);
	cli_close(&c);
	return rv == OCOP_ENOENT || rv == OCOP_EINPUT ? CLI_USAGE : cli_exit_code(rv);
}

/* ===== list and show: the file's state ===== */

static void
doc_annotate(cli_ctx *c, json_t *row)
{
	const json_t *size = json_object_get(row, "size");
	sto_blobs *b = NULL;
	cli_file_state fs;
	char err[256];

	if (c->db == NULL || cli_files_open(c->db, &b, err, sizeof(err)) != OCOP_OK) {
		return;
	}
	cli_file_state_of(c->db, b, json_string_value(json_object_get(row, "sha256")),
	    json_is_integer(size) ? (int64_t)json_integer_value(size) : -1, &fs);
	json_object_set_new(row, "file", json_string(fs.state));
	if (strcmp(fs.state, "none") != 0) {
		json_object_set_new(row, "file_held", json_integer((json_int_t)fs.held));
		json_object_set_new(row, "file_at_server", json_boolean(fs.at_server));
	}
	sto_blobs_close(b);
}
