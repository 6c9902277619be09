/*
 * record.h: the `ocop` record commands (unit, subject, product, dossier,
 * document) built from the entity tables (common/ocop/entity.h): the options
 * of add, set and list, the usage text and the output all come from one table
 * per entity, so a field added there is a field of the command. A command
 * adds its own verbs (dossier next and move, unit import and map) beside the
 * common ones. Used by client/cmd_*.c only.
 */
#ifndef OCOP_CLIENT_RECORD_H
#define OCOP_CLIENT_RECORD_H

#include <stddef.h>
#include <stdio.h>

#include "common/ocop/entity.h"
#include "common/ocop/registry.h"

typedef struct cli_record cli_record;

/* One verb of a record command. */
typedef struct cli_verb {
	const char *name;  /* "add", "move" */
	const char *usage; /* its usage after "ocop <entity> ", NULL: generated from the entity's table */
	int (*fn)(const cli_record *r, int argc, char **argv); /* argv[0] is the verb; returns the exit code */
} cli_verb;

struct cli_ctx;

/* A record command: its entity, its verbs and what its usage adds. Static data. */
struct cli_record {
	const ocp_entity *e;   /* the entity (entity.h) */
	const cli_verb *verbs; /* its verbs, in usage order */
	size_t nverbs;         /* how many */
	const char *more;      /* paragraphs appended to the usage, or NULL */
	/* list and show: add what the row's columns do not say (a document's file
	 * state) to one row object, with the replica open in c; NULL = nothing. */
	void (*annotate)(struct cli_ctx *c, json_t *row);
	const char *extra_col; /* list: a column the annotation adds to each text line, or NULL */
};

/* The common verbs: each reads its options from the entity's fields. */
int cli_record_add(const cli_record *r, int argc, char **argv);
int cli_record_set(const cli_record *r, int argc, char **argv);
int cli_record_list(const cli_record *r, int argc, char **argv);
int cli_record_show(const cli_record *r, int argc, char **argv);
int cli_record_delete(const cli_record *r, int argc, char **argv);

/* list, with filters of the caller's own (their values borrowed) added to the options'. */
int cli_record_list_filtered(const cli_record *r, int argc, char **argv, const ocp_field *extra, size_t nextra);

/*
 * Run `ocop <entity> VERB ...` (argv[0] is the command): dispatch to the verb
 * of that name; --help, -h or help print the usage. Returns the exit code.
 */
int cli_record_main(const cli_record *r, int argc, char **argv);

/* Print the command's usage (verbs, fields, `more`) on out and return rc. */
int cli_record_usage(const cli_record *r, FILE *out, int rc);

#endif /* OCOP_CLIENT_RECORD_H */
