/*
 * entity.h: one table per registry entity (unit, subject, product, dossier,
 * document): each field's column, how its text is checked and normalised,
 * whether it is required, given when the row is added, changed afterwards or
 * used to filter a list, and how a clerk names it on the command line (option,
 * placeholder, one line of help). The registry validates writes with it and
 * the `ocop` record commands build their options, usage and output from it,
 * so the three used to be copies that drifted and are now one.
 *
 * The store's column kind and maximum size (common/store/schema.c) stay the
 * store's: values are checked against them here too, so a clerk hears "name
 * is 600 bytes, at most 512" before the capture would refuse it.
 */
#ifndef OCOP_OCOP_ENTITY_H
#define OCOP_OCOP_ENTITY_H

#include <stdbool.h>
#include <stddef.h>

/* How a field's text is checked and normalised (OCP_FK_*). */
typedef enum ocp_field_kind {
	OCP_FK_TEXT,   /* UTF-8 text without control characters, trimmed, NFC */
	OCP_FK_CODE,   /* administrative unit code (not "VN") */
	OCP_FK_DATE,   /* YYYY-MM-DD, a real calendar date */
	OCP_FK_ENUM,   /* one of the '|'-separated choices */
	OCP_FK_BOOL,   /* yes/no, true/false, 1/0 -> "1"/"0" */
	OCP_FK_COUNT,  /* non-negative integer */
	OCP_FK_SHA256, /* 64 hex digits, stored lowercase */
	OCP_FK_UUID,   /* canonical UUID, stored lowercase */
	OCP_FK_TOKEN,  /* [a-z0-9_]+ (its size: the store's) */
	OCP_FK_SET,    /* product set 1..26, stored "01".."26" */
	OCP_FK_YEAR,   /* round year 2000..2100 */
	OCP_FK_ROUND,  /* round number 1..99 */
	OCP_FK_EMAIL,  /* text with one '@', no spaces */
	OCP_FK_PHONE,  /* digits and + - . ( ) spaces */
	OCP_FK_RUBRIC, /* <basis>/<set>, [a-z0-9-] each side */
	OCP_FK_BASIS,  /* a legal basis (the registry checks it has a workflow) */
} ocp_field_kind;

#define OCP_EF_REQ 1u    /* required on add, cannot be cleared */
#define OCP_EF_ADD 2u    /* may be given on add */
#define OCP_EF_SET 4u    /* may be changed afterwards (`set`) */
#define OCP_EF_FILTER 8u /* a `list` filter (a unit code filter also matches the units below it) */
#define OCP_EF_AS (OCP_EF_ADD | OCP_EF_SET)

/* One field of an entity. Static data. */
typedef struct ocp_entity_field {
	const char *col;      /* column of the replicated table */
	const char *opt;      /* command-line option without "--" ("rep-gender") */
	const char *arg;      /* placeholder in the usage ("G") */
	ocp_field_kind kind;  /* how the text is checked */
	unsigned flags;       /* OCP_EF_* */
	const char *choices;  /* OCP_FK_ENUM choices "a|b|c", else NULL */
	const char *help;     /* one line for the usage */
} ocp_entity_field;

/* One entity. Static data. */
typedef struct ocp_entity {
	const char *name;                /* the table and the command ("subject") */
	const char *about;               /* the usage's paragraph about it */
	const char *key;                 /* how a row is addressed: "id", or "code" for units */
	const ocp_entity_field *fields;  /* its fields */
	size_t nfields;                  /* how many */
	const char *const *list_cols;    /* the columns of a plain-text list line */
	size_t nlist_cols;               /* how many */
} ocp_entity;

/* The entity named name, or NULL. Cannot fail. */
const ocp_entity *ocp_entity_find(const char *name);

/* The field of e for column col, or NULL. Cannot fail. */
const ocp_entity_field *ocp_entity_column(const ocp_entity *e, const char *col);

/* The field of e with command-line option opt (without "--"), or NULL. Cannot fail. */
const ocp_entity_field *ocp_entity_option(const ocp_entity *e, const char *opt);

/*
 * Check and normalise one value of field f of entity e into a com_malloc'd
 * string *out (caller frees with com_free), or NULL for an empty value (the
 * caller decides whether empty is allowed). Text kinds are also held to the
 * store's maximum size for the column.
 * Returns: OCOP_OK; OCOP_EINPUT (err names the field and what is wrong);
 * OCOP_ENOMEM.
 */
int ocp_entity_norm(const ocp_entity *e, const ocp_entity_field *f, const char *in, char **out /* OUT */,
    char *err, size_t errlen);

/* True when s is UTF-8 without control characters (C0, DEL, C1). Cannot fail. */
bool ocp_entity_text_clean(const char *s);

/* True when s is a real calendar date written YYYY-MM-DD (1900..2200). Cannot fail. */
bool ocp_entity_date_valid(const char *s);

#endif /* OCOP_OCOP_ENTITY_H */
