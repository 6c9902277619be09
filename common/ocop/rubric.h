/*
 * rubric.h: OCOP rubrics as data. Loads a rubric file (the line format of
 * data/rubrics/README.md), validates it (children sum to their parent, A+B+C =
 * 100, option points within the criterion maximum, star marks 3/4/5, no
 * duplicate codes, no unknown keywords) and answers lookups by criterion code.
 *
 * Points are integer hundredths ("centipoints": 2.5 points is 250), so every sum
 * and comparison is exact. This module does not score; see score.h.
 */
#ifndef OCOP_OCOP_RUBRIC_H
#define OCOP_OCOP_RUBRIC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every rubric has exactly these three parts, in this order: A, B, C. */
#define OCP_PART_COUNT 3

/* "No index" marker for optional indices (a criterion without a condition...). */
#define OCP_NONE ((size_t)-1)

/* Largest number a rubric or a sheet may carry, in points (keeps sums far from overflow). */
#define OCP_POINTS_LIMIT 100000

/* How deep a rubric goes. Only OCP_DEPTH_CRITERIA rubrics can be used for scoring. */
typedef enum ocp_depth {
	OCP_DEPTH_PARTS = 1,   /* no groups at all: part maxima only */
	OCP_DEPTH_GROUPS = 2,  /* groups, but some part or group stops there: an outline */
	OCP_DEPTH_CRITERIA = 3 /* every part has groups, every group criteria: the full tree */
} ocp_depth;

typedef struct ocp_rubric ocp_rubric;

/* One option of a criterion: what a member may choose. */
typedef struct ocp_option {
	int64_t points; /* centipoints, 0 <= points <= criterion max */
	int star;       /* minimum-requirement mark: 0 (none), 3, 4 or 5 */
	bool ko;        /* knock-out: choosing it stops the evaluation (always 0 points) */
	char *label;    /* owned by the rubric */
	int line;       /* line in the rubric file */
} ocp_option;

/* A leaf criterion ("1.1", "7"): the unit a member scores. */
typedef struct ocp_criterion {
	char *code;          /* as printed on the sheet; owned by the rubric */
	char *name;          /* owned by the rubric */
	char *note;          /* requirement or knock-out note, NULL if none; owned */
	int64_t max;         /* centipoints */
	size_t part;         /* index of its part (0 = A, 1 = B, 2 = C) */
	size_t group;        /* index of its group */
	size_t cond;         /* criterion it depends on ("applies only when"), or OCP_NONE */
	int64_t cond_above;  /* applies only when that criterion's points exceed this */
	ocp_option *options; /* owned array of n_options */
	size_t n_options;    /* at least 1 */
	int line;            /* line in the rubric file */
} ocp_criterion;

/* A group of criteria ("1 TỔ CHỨC SẢN XUẤT [18]"). */
typedef struct ocp_group {
	char *code;             /* owned by the rubric */
	char *name;             /* owned by the rubric */
	char *note;             /* NULL if none; owned */
	int64_t max;            /* centipoints */
	size_t part;            /* index of its part */
	size_t first_criterion; /* index of its first criterion */
	size_t n_criteria;      /* 0 in an outline */
	int line;               /* line in the rubric file */
} ocp_group;

/* A part (A, B or C). */
typedef struct ocp_part {
	char letter;        /* 'A', 'B' or 'C' */
	char *name;         /* owned by the rubric */
	char *note;         /* NULL if none; owned */
	int64_t max;        /* centipoints */
	size_t first_group; /* index of its first group */
	size_t n_groups;    /* 0 in a part-level rubric */
	int line;           /* line in the rubric file */
} ocp_part;

/* ===== Loading ===== */

/*
 * Parse and validate rubric text (UTF-8, with or without a BOM, LF or CRLF).
 * `name` is the file name used in error messages ("FILE:LINE: reason").
 * Returns: OCOP_OK; OCOP_ERUBRIC with the reason in err; OCOP_ENOMEM.
 * Ownership: on success *out is the caller's, freed with ocp_rubric_free();
 * on failure *out is NULL. err may be NULL (errlen 0).
 * Constructor of ocp_rubric.
 */
int ocp_rubric_parse(ocp_rubric **out, const char *name, const char *text, size_t len, char *err,
    size_t errlen);

/*
 * Read a rubric file and parse it as ocp_rubric_parse() does.
 * Returns: as ocp_rubric_parse(), plus OCOP_ENOENT (no such file), OCOP_EIO
 * (unreadable) and OCOP_ETOOBIG (over 4 MiB). Constructor of ocp_rubric.
 */
int ocp_rubric_load_file(ocp_rubric **out, const char *path, char *err, size_t errlen);

/*
 * Load the rubric `id` ("qd26-2026/01") from <data_dir>/rubrics/<id>.rubric and
 * check that the file declares that id.
 * Returns: as ocp_rubric_load_file(); OCOP_EINVAL when data_dir is NULL or empty
 * or the id is not of the form <basis>/<set> with [a-z0-9-] on each side;
 * OCOP_ENOENT for an unknown id.
 * Constructor of ocp_rubric.
 */
int ocp_rubric_load_id(ocp_rubric **out, const char *data_dir, const char *id, char *err,
    size_t errlen);

/* Release a rubric and everything it owns. Accepts NULL. Cannot fail. Destructor of ocp_rubric. */
void ocp_rubric_free(ocp_rubric *r);

/*
 * The data directory (the one holding rubrics/): $OCOP_DATA_DIR when set and not
 * empty; else share/ocop beside the running program's directory (../share/ocop
 * from bin/, found through /proc/self/exe, so a relocated install works, and a
 * build directory links its share/ocop to the source tree's data/); else the
 * directory compiled in from the install prefix (/usr/share/ocop for the
 * .deb). Returns NULL when none holds a rubrics/ directory.
 * Ownership: borrowed, a per-thread buffer valid until this thread calls again.
 * Threads: safe (the buffer is thread-local).
 */
const char *ocp_data_dir(void);

/*
 * The same search as ocp_data_dir() into caller storage.
 * Returns: OCOP_OK; OCOP_ENOENT when no data directory is found; OCOP_ERANGE
 * when the path does not fit in cap bytes.
 */
int ocp_data_dir_find(char *out, size_t cap);

/* ===== Lookup and iteration (all pointers borrowed, valid until ocp_rubric_free) ===== */

/* The id, e.g. "qd26-2026/01". Cannot fail. */
const char *ocp_rubric_id(const ocp_rubric *r);
/* The legal basis text, e.g. "QĐ 26/2026/QĐ-TTg". Cannot fail. */
const char *ocp_rubric_basis(const ocp_rubric *r);
/* The set title. Cannot fail. */
const char *ocp_rubric_title(const ocp_rubric *r);
/* The disqualification clause ("Hồ sơ bị loại khi ..."), NULL if the file has none. */
const char *ocp_rubric_disqualify(const ocp_rubric *r);
/* How deep the rubric goes; only OCP_DEPTH_CRITERIA can be scored. Cannot fail. */
ocp_depth ocp_rubric_depth(const ocp_rubric *r);

/* Number of parts (always OCP_PART_COUNT). Cannot fail. */
size_t ocp_rubric_part_count(const ocp_rubric *r);
/* Part i (0 = A, 1 = B, 2 = C); i must be below the count. */
const ocp_part *ocp_rubric_part(const ocp_rubric *r, size_t i);
/* Number of groups, in file order. Cannot fail. */
size_t ocp_rubric_group_count(const ocp_rubric *r);
/* Group i; i must be below the count. */
const ocp_group *ocp_rubric_group(const ocp_rubric *r, size_t i);
/* Number of leaf criteria, in file order. Cannot fail. */
size_t ocp_rubric_criterion_count(const ocp_rubric *r);
/* Criterion i; i must be below the count. */
const ocp_criterion *ocp_rubric_criterion(const ocp_rubric *r, size_t i);

/*
 * Find a criterion by its code ("4.1"). Returns it, or NULL when the rubric has
 * no such criterion. When found and index is not NULL, *index is its position.
 */
const ocp_criterion *ocp_rubric_find(const ocp_rubric *r, const char *code,
    size_t *index /* OUT, may be NULL */);

/*
 * The option a choice designates: with ko set, the criterion's first knock-out
 * option; otherwise the first non-knock-out option with exactly these points.
 * Returns NULL when there is none.
 */
const ocp_option *ocp_criterion_option(const ocp_criterion *c, int64_t points, bool ko);

/*
 * The points (centipoints) the council's mean must reach on this criterion for
 * star level `level` (3, 4 or 5): the highest points among options marked for
 * that level or a lower one; 0 when no such option exists. Cannot fail.
 */
int64_t ocp_criterion_need(const ocp_criterion *c, int level);

/* ===== Points ===== */

/*
 * Parse a points number: digits with up to 2 decimals ("3", "2.5", "0.25"), no
 * sign, at most OCP_POINTS_LIMIT. Returns OCOP_OK with *out in centipoints, or
 * OCOP_EINPUT when s[0..len) is not such a number.
 */
int ocp_points_parse(const char *s, size_t len, int64_t *out /* OUT */);

/* Format centipoints with exactly 2 decimals ("89.99", "-1.50"). Cannot fail (truncates to cap). */
void ocp_points_format(char *out, size_t cap, int64_t centi);

#endif /* OCOP_OCOP_RUBRIC_H */
