/*
 * authority.h: site roles and tier authority over the replicated tables, as
 * configuration (data/authority.conf, format in data/workflow/README.md).
 *
 * The replica merge asks this module whether the site that made a change had the
 * right to write that table, column and kind of row. It does not decide which
 * status moves a tier may make (that is workflow.h) and it never reads a database.
 */
#ifndef OCOP_OCOP_AUTHORITY_H
#define OCOP_OCOP_AUTHORITY_H

#include <stdbool.h>
#include <stddef.h>

/* The role of a site (a replica). The order is stable: role masks are built from it. */
typedef enum ocp_role {
	OCP_ROLE_COMMUNE = 0,  /* commune office (UBND xã): files and pre-checks dossiers */
	OCP_ROLE_DISTRICT = 1, /* district office, legacy QĐ 148/2023 dossiers only */
	OCP_ROLE_PROVINCE = 2, /* provincial OCOP office and its council */
	OCP_ROLE_NATIONAL = 3, /* national OCOP office and the central council */
	OCP_ROLE_MEMBER = 4,   /* a council member's laptop: writes only its own sheets */
	OCP_ROLE_COUNT_
} ocp_role;

/* The bit of one role in a role mask. */
#define OCP_ROLE_BIT(r) (1u << (unsigned)(r))
/* A mask holding every role. */
#define OCP_ROLE_ALL ((1u << (unsigned)OCP_ROLE_COUNT_) - 1u)

/* The authority rules loaded from one file. Opaque heap object. */
typedef struct ocp_auth ocp_auth;

/*
 * Parse a role name ("commune", "district", "province", "national", "member";
 * exact lowercase spelling).
 * Returns: OCOP_OK, or OCOP_EINVAL for NULL or an unknown name (*out untouched).
 */
int ocp_role_parse(const char *name, ocp_role *out /* OUT */);

/*
 * Parse a comma-separated role list without spaces ("commune,province") into a
 * mask of OCP_ROLE_BIT() bits.
 * Returns: OCOP_OK, or OCOP_EINVAL for an empty entry or an unknown name, in
 * which case the offending word ("" for an empty entry) is copied into bad
 * (may be NULL) and *mask is 0.
 */
int ocp_role_parse_list(const char *list, unsigned *mask /* OUT */, char *bad, size_t badlen);

/*
 * The configuration name of a role ("commune"), or "unknown" outside the enum.
 * Cannot fail. The string is a static literal.
 */
const char *ocp_role_name(int role);

/*
 * The role as a message names its actor ("a commune office", "a council member's
 * site"); every text contains the role's name. Cannot fail; static literal.
 */
const char *ocp_role_actor(int role);

/*
 * Write the names of the roles in `mask` into buf as "commune, province"
 * ("nobody" for an empty mask), truncating to cap. Returns buf. Cannot fail.
 */
char *ocp_role_list(unsigned mask, char *buf, size_t cap);

/*
 * Load and validate an authority file. Errors name "FILE:LINE: reason" in err.
 * Constructor of ocp_auth.
 * Returns: OCOP_OK; OCOP_ENOENT (no such file), OCOP_EIO, OCOP_EINPUT (the file
 * is malformed), OCOP_ENOMEM. On error *out is NULL.
 * Ownership: caller frees *out with ocp_auth_free().
 */
int ocp_auth_load_file(ocp_auth **out /* OUT */, const char *path, char *err, size_t errlen);

/*
 * Load `<data_dir>/authority.conf`. The caller resolves data_dir (the repository's
 * data/ directory or its installed copy). Returns and ownership as ocp_auth_load_file().
 */
int ocp_auth_load(ocp_auth **out /* OUT */, const char *data_dir, char *err, size_t errlen);

/* Release the rules. Accepts NULL. Cannot fail. Destructor of ocp_auth. */
void ocp_auth_free(ocp_auth *auth);

/*
 * Decide whether a site of `role` may write `table` (one cell of `column`, or the
 * whole row when column is NULL: insert or tombstone) of a row whose kind is
 * `row_kind` (decision.kind; for evaluation and member rows, the tier of the
 * council; NULL when the table has no kinds). The most specific rule applies:
 * column and kind, then column, then kind, then the table's own rule. A row-level
 * write (column NULL) only uses the kind and table rules.
 * Owner-only tables are checked again, row by row, with ocp_auth_check_owner().
 * Returns: OCOP_OK; OCOP_EAUTH with a message naming the role, the table (and
 * column or kind) and the roles that may write it; OCOP_EINVAL for an unknown
 * table or role. err may be NULL.
 */
int ocp_auth_check(const ocp_auth *auth, int role, const char *table, const char *column,
    const char *row_kind, char *err, size_t errlen);

/*
 * The mask of roles that may write the cell or row described as in ocp_auth_check()
 * (0 when nobody may, or the table is unknown). Cannot fail.
 */
unsigned ocp_auth_roles(const ocp_auth *auth, const char *table, const char *column,
    const char *row_kind);

/* True when `table` is marked owner-only (rows written only by their owner's site). */
bool ocp_auth_owner_only(const ocp_auth *auth, const char *table);

/*
 * For an owner-only table, check that the writer is the row's owner site (site
 * ids compared as text, e.g. canonical UUIDs). Tables that are not owner-only
 * always pass.
 * Returns: OCOP_OK; OCOP_EAUTH when the sites differ or the owner is unknown
 * (NULL); OCOP_EINVAL for an unknown table or a NULL writer. err may be NULL.
 */
int ocp_auth_check_owner(const ocp_auth *auth, const char *table, const char *owner_site,
    const char *writer_site, char *err, size_t errlen);

/* True when `table`.`column` is declared immutable: set when the row is created, never after. */
bool ocp_auth_immutable(const ocp_auth *auth, const char *table, const char *column);

/*
 * For an owner-only table: the column naming the owner site (*owner_col), or
 * the column naming the row whose owner owns this one (*via_col), and the
 * roles that may create a row another site owns (*others). Returns false
 * (outputs NULL, 0) when the table is not owner-only. Borrowed strings.
 */
bool ocp_auth_owner(const ocp_auth *auth, const char *table, const char **owner_col, const char **via_col,
    unsigned *others);

/* Number of `match` rules, and the i-th: table.col must equal ptable.pcol of the row table.via names. */
size_t ocp_auth_match_count(const ocp_auth *auth);
bool ocp_auth_match_at(const ocp_auth *auth, size_t i, const char **table, const char **col, const char **ptable,
    const char **pcol, const char **via);

/*
 * The row kinds the rules of `table` name (decision kinds, council tiers), each
 * once, in file order: at most cap into out; returns how many there are.
 * Borrowed strings. Cannot fail.
 */
size_t ocp_auth_kinds(const ocp_auth *auth, const char *table, const char **out, size_t cap);

/* True when `table` is named in the rules (a replicated table). */
bool ocp_auth_has_table(const ocp_auth *auth, const char *table);

#endif /* OCOP_OCOP_AUTHORITY_H */
