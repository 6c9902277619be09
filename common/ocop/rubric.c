/*
 * rubric.c: load, validate and look up OCOP rubrics written in the line format
 * of data/rubrics/README.md. Every rule of that format is checked here, and
 * every refusal names "FILE:LINE: reason". Scoring lives in score.c; this file
 * only knows the tree (parts, groups, criteria, options) and its sums.
 */
#include "common/ocop/rubric.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>
#include <unistd.h>

#include <utf8proc.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"

/* A rubric file larger than this is refused (the full set 1 is about 20 KiB). */
#define RUBRIC_MAX_BYTES (4u * 1024u * 1024u)
/* Fields before the ':' on one line ("option 2 *** ko" has 4). */
#define RUBRIC_MAX_TOKENS 8
/* Longest code ("6.1.1") and id ("qd26-2026/01") accepted. */
#define RUBRIC_MAX_CODE 16
#define RUBRIC_MAX_ID 64
/* Longest path the data-directory search builds. */
#define RUBRIC_PATH_MAX 4096

struct ocp_rubric {
	char *id;                      /* "<basis>/<set>"; owned */
	char *basis;                   /* legal basis text; owned */
	char *title;                   /* set title; owned */
	char *disqualify;              /* disqualification clause or NULL; owned */
	char *note;                    /* rubric-level note or NULL; owned */
	int id_line;                   /* line of the "rubric" line */
	ocp_part parts[OCP_PART_COUNT]; /* A, B, C; names owned */
	size_t n_parts;                /* parts declared so far (ends at 3) */
	ocp_group *groups;             /* owned array */
	size_t n_groups;               /* groups in use */
	size_t cap_groups;             /* groups allocated */
	ocp_criterion *crits;          /* owned array */
	size_t n_crits;                /* criteria in use */
	size_t cap_crits;              /* criteria allocated */
	ocp_depth depth;               /* computed after validation */
};

/* ===== Small helpers ===== */

/* Write a formatted message into err (if any). */
static void
rubric_msg(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
rubric_msg(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
ocp_points_parse(const char *s, size_t len, int64_t *out)
{
	int64_t whole = 0;
	int64_t frac = 0;
	size_t i = 0;
	size_t digits = 0;
	size_t fdigits = 0;

	while (i < len && s[i] >= '0' && s[i] <= '9') {
		whole = whole * 10 + (s[i] - '0');
		if (whole > OCP_POINTS_LIMIT) {
			return OCOP_EINPUT;
		}
		i++;
		digits++;
	}
	if (digits == 0) {
		return OCOP_EINPUT;
	}
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && s[i] >= '0' && s[i] <= '9' && fdigits < 3) {
			frac = frac * 10 + (s[i] - '0');
			i++;
			fdigits++;
		}
		if (fdigits == 0 || fdigits > 2) {
			return OCOP_EINPUT;
		}
		if (fdigits == 1) {
			frac *= 10;
		}
	}
	if (i != len) {
		return OCOP_EINPUT;
	}
	if (whole * 100 + frac > (int64_t)OCP_POINTS_LIMIT * 100) {
		return OCOP_EINPUT;
	}
	*out = whole * 100 + frac;
	return OCOP_OK;
}

void
ocp_points_format(char *out, size_t cap, int64_t centi)
{
	const char *sign = "";
	uint64_t a;

	if (centi < 0) {
		sign = "-";
		a = (uint64_t)(-(centi + 1)) + 1u; /* no overflow for INT64_MIN */
	} else {
		a = (uint64_t)centi;
	}
	snprintf(out, cap, "%s%" PRIu64 ".%02" PRIu64, sign, a / 100u, a % 100u);
}

/* True when s[0..len) is a criterion or group code: digits separated by single dots. */
static bool
rubric_code_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > RUBRIC_MAX_CODE || s[0] == '.' || s[len - 1] == '.') {
		return false;
	}
	for (i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (s[i + 1] == '.') {
				return false;
			}
		} else if (s[i] < '0' || s[i] > '9') {
			return false;
		}
	}
	return true;
}

/* One side of an id: [a-z0-9-]+. */
static bool
rubric_slug_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0) {
		return false;
	}
	for (i = 0; i < len; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
			return false;
		}
	}
	return true;
}

/* True when s is "<basis>/<set>" with [a-z0-9-]+ on each side. */
static bool
rubric_id_ok(const char *s, size_t len)
{
	const char *slash;

	if (len == 0 || len > RUBRIC_MAX_ID) {
		return false;
	}
	slash = memchr(s, '/', len);
	if (slash == NULL) {
		return false;
	}
	return rubric_slug_ok(s, (size_t)(slash - s)) &&
	    rubric_slug_ok(slash + 1, len - (size_t)(slash - s) - 1);
}

/* ===== Parser state ===== */

/* Where a "note" line goes: the most recently declared item. */
enum rubric_target { TARGET_RUBRIC, TARGET_PART, TARGET_GROUP, TARGET_CRITERION };

typedef struct rubric_tok {
	const char *s; /* borrowed from the text */
	size_t len;    /* bytes */
} rubric_tok;

typedef struct rubric_parser {
	ocp_rubric *r;         /* the rubric being built; owned until success */
	const char *name;      /* file name for messages; borrowed */
	char *err;             /* message buffer; borrowed */
	size_t errlen;         /* its size */
	int line;              /* current line, from 1 */
	int target;            /* enum rubric_target for "note" */
	char **cond_codes;     /* per criterion: the "when=" code until resolved; owned */
	size_t cap_cond;       /* entries allocated in cond_codes */
	int basis_line;        /* line of "basis", 0 if not seen */
	int title_line;        /* line of "title", 0 if not seen */
} rubric_parser;

/* Record "NAME:LINE: reason" and return OCOP_ERUBRIC. */
static int
parser_fail(rubric_parser *p, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
parser_fail(rubric_parser *p, int line, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	rubric_msg(p->err, p->errlen, "%s:%d: %s", p->name, line, reason);
	return OCOP_ERUBRIC;
}

static int
parser_nomem(rubric_parser *p)
{
	rubric_msg(p->err, p->errlen, "%s: out of memory", p->name);
	return OCOP_ENOMEM;
}

/* Append text (as a new line) to a note-like string *dst. */
static int
parser_append(char **dst, const char *s, size_t len)
{
	size_t old = *dst ? strlen(*dst) : 0;
	char *n;

	n = com_malloc(old + len + 2);
	if (n == NULL) {
		return OCOP_ENOMEM;
	}
	if (old > 0) {
		memcpy(n, *dst, old);
		n[old++] = '\n';
	}
	memcpy(n + old, s, len);
	n[old + len] = '\0';
	com_free(*dst);
	*dst = n;
	return OCOP_OK;
}

/* Format a token for a message (tokens are not terminated). */
static const char *
tok_str(char *buf, size_t cap, const rubric_tok *t)
{
	size_t n = t->len < cap - 1 ? t->len : cap - 1;

	memcpy(buf, t->s, n);
	buf[n] = '\0';
	return buf;
}

static bool
tok_is(const rubric_tok *t, const char *word)
{
	return t->len == strlen(word) && memcmp(t->s, word, t->len) == 0;
}

/* Parse a points token; on failure record a "malformed number" error. */
static int
parser_number(rubric_parser *p, const rubric_tok *t, int64_t *out)
{
	char b[64];

	if (ocp_points_parse(t->s, t->len, out) != OCOP_OK) {
		return parser_fail(p, p->line,
		    "malformed number '%s' (digits with up to 2 decimals, at most %d)",
		    tok_str(b, sizeof(b), t), OCP_POINTS_LIMIT);
	}
	return OCOP_OK;
}

/* ===== Directives ===== */

static int
directive_rubric(rubric_parser *p, const rubric_tok *tok, size_t ntok, bool has_text)
{
	char b[80];

	if (p->r->id != NULL) {
		return parser_fail(p, p->line, "second 'rubric' line (first on line %d)",
		    p->r->id_line);
	}
	if (ntok != 2 || has_text) {
		return parser_fail(p, p->line, "expected 'rubric <basis>/<set>'");
	}
	if (!rubric_id_ok(tok[1].s, tok[1].len)) {
		return parser_fail(p, p->line,
		    "malformed rubric id '%s' (expected <basis>/<set> in a-z, 0-9 and '-')",
		    tok_str(b, sizeof(b), &tok[1]));
	}
	p->r->id = com_strndup(tok[1].s, tok[1].len);
	if (p->r->id == NULL) {
		return parser_nomem(p);
	}
	p->r->id_line = p->line;
	return OCOP_OK;
}

/* basis, title: one each, text only. */
static int
directive_once(rubric_parser *p, char **dst, int *seen, const char *kw, size_t ntok,
    const rubric_tok *text)
{
	if (*seen != 0) {
		return parser_fail(p, p->line, "second '%s' line (first on line %d)", kw, *seen);
	}
	if (ntok != 1 || text == NULL) {
		return parser_fail(p, p->line, "expected '%s : <text>'", kw);
	}
	*dst = com_strndup(text->s, text->len);
	if (*dst == NULL) {
		return parser_nomem(p);
	}
	*seen = p->line;
	return OCOP_OK;
}

static int
directive_note(rubric_parser *p, const char *kw, size_t ntok, const rubric_tok *text)
{
	ocp_rubric *r = p->r;
	char **dst;

	if (ntok != 1 || text == NULL) {
		return parser_fail(p, p->line, "expected '%s : <text>'", kw);
	}
	if (strcmp(kw, "disqualify") == 0) {
		dst = &r->disqualify;
	} else if (p->target == TARGET_CRITERION) {
		dst = &r->crits[r->n_crits - 1].note;
	} else if (p->target == TARGET_GROUP) {
		dst = &r->groups[r->n_groups - 1].note;
	} else if (p->target == TARGET_PART) {
		dst = &r->parts[r->n_parts - 1].note;
	} else {
		dst = &r->note;
	}
	if (parser_append(dst, text->s, text->len) != OCOP_OK) {
		return parser_nomem(p);
	}
	return OCOP_OK;
}

static int
directive_part(rubric_parser *p, const rubric_tok *tok, size_t ntok, const rubric_tok *text)
{
	ocp_rubric *r = p->r;
	ocp_part *part;
	char want;
	char b[64];
	int64_t max;
	int rv;

	if (ntok != 3 || text == NULL) {
		return parser_fail(p, p->line, "expected 'part <A|B|C> <max> : <name>'");
	}
	if (r->n_parts == OCP_PART_COUNT) {
		return parser_fail(p, p->line, "a rubric has exactly three parts, A, B and C");
	}
	want = (char)('A' + r->n_parts);
	if (tok[1].len != 1 || tok[1].s[0] != want) {
		return parser_fail(p, p->line, "expected part %c here, found '%s' (parts are A, B, C in order)",
		    want, tok_str(b, sizeof(b), &tok[1]));
	}
	if ((rv = parser_number(p, &tok[2], &max)) != OCOP_OK) {
		return rv;
	}
	part = &r->parts[r->n_parts];
	part->name = com_strndup(text->s, text->len);
	if (part->name == NULL) {
		return parser_nomem(p);
	}
	part->letter = want;
	part->max = max;
	part->first_group = r->n_groups;
	part->n_groups = 0;
	part->line = p->line;
	r->n_parts++;
	p->target = TARGET_PART;
	return OCOP_OK;
}

static int
directive_group(rubric_parser *p, const rubric_tok *tok, size_t ntok, const rubric_tok *text)
{
	ocp_rubric *r = p->r;
	ocp_group *g;
	char b[64];
	int64_t max;
	size_t i;
	int rv;

	if (ntok != 3 || text == NULL) {
		return parser_fail(p, p->line, "expected 'group <code> <max> : <name>'");
	}
	if (r->n_parts == 0) {
		return parser_fail(p, p->line, "group outside a part (declare 'part' first)");
	}
	if (!rubric_code_ok(tok[1].s, tok[1].len)) {
		return parser_fail(p, p->line, "malformed group code '%s' (digits and dots)",
		    tok_str(b, sizeof(b), &tok[1]));
	}
	if ((rv = parser_number(p, &tok[2], &max)) != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < r->n_groups; i++) {
		if (strlen(r->groups[i].code) == tok[1].len &&
		    memcmp(r->groups[i].code, tok[1].s, tok[1].len) == 0) {
			return parser_fail(p, p->line, "duplicate group code '%s' (first on line %d)",
			    r->groups[i].code, r->groups[i].line);
		}
	}
	if (r->n_groups == r->cap_groups) {
		size_t cap = r->cap_groups ? r->cap_groups * 2 : 16;
		ocp_group *ng = com_realloc(r->groups, cap * sizeof(*ng));
		if (ng == NULL) {
			return parser_nomem(p);
		}
		r->groups = ng;
		r->cap_groups = cap;
	}
	g = &r->groups[r->n_groups];
	memset(g, 0, sizeof(*g));
	g->code = com_strndup(tok[1].s, tok[1].len);
	g->name = com_strndup(text->s, text->len);
	if (g->code == NULL || g->name == NULL) {
		com_free(g->code);
		com_free(g->name);
		return parser_nomem(p);
	}
	g->max = max;
	g->part = r->n_parts - 1;
	g->first_criterion = r->n_crits;
	g->line = p->line;
	r->n_groups++;
	r->parts[r->n_parts - 1].n_groups++;
	p->target = TARGET_GROUP;
	return OCOP_OK;
}

/* Parse "when=CODE>N" into a pending code and threshold. */
static int
criterion_when(rubric_parser *p, const rubric_tok *t, char **code, int64_t *above)
{
	const char *s = t->s + 5; /* after "when=" */
	size_t len = t->len - 5;
	const char *gt = memchr(s, '>', len);
	char b[80];

	if (gt == NULL || !rubric_code_ok(s, (size_t)(gt - s))) {
		return parser_fail(p, p->line, "malformed condition '%s' (expected when=<code>><points>)",
		    tok_str(b, sizeof(b), t));
	}
	if (ocp_points_parse(gt + 1, len - (size_t)(gt - s) - 1, above) != OCOP_OK) {
		return parser_fail(p, p->line, "malformed number in condition '%s'",
		    tok_str(b, sizeof(b), t));
	}
	*code = com_strndup(s, (size_t)(gt - s));
	if (*code == NULL) {
		return parser_nomem(p);
	}
	return OCOP_OK;
}

static int
directive_criterion(rubric_parser *p, const rubric_tok *tok, size_t ntok, const rubric_tok *text)
{
	ocp_rubric *r = p->r;
	ocp_group *g;
	ocp_criterion *c;
	char *cond = NULL;
	int64_t above = 0;
	int64_t max;
	char b[64];
	size_t glen;
	size_t i;
	int rv;

	if (ntok < 3 || ntok > 4 || text == NULL) {
		return parser_fail(p, p->line,
		    "expected 'criterion <code> <max> [when=<code>><points>] : <name>'");
	}
	if (r->n_groups == 0 || r->groups[r->n_groups - 1].part != r->n_parts - 1) {
		return parser_fail(p, p->line, "criterion outside a group (declare 'group' first)");
	}
	g = &r->groups[r->n_groups - 1];
	if (!rubric_code_ok(tok[1].s, tok[1].len)) {
		return parser_fail(p, p->line, "malformed criterion code '%s' (digits and dots)",
		    tok_str(b, sizeof(b), &tok[1]));
	}
	/* The printed codes nest: 1.1 sits in group 1, and a group with one criterion shares its code. */
	glen = strlen(g->code);
	if (!(tok[1].len == glen && memcmp(tok[1].s, g->code, glen) == 0) &&
	    !(tok[1].len > glen + 1 && memcmp(tok[1].s, g->code, glen) == 0 && tok[1].s[glen] == '.')) {
		return parser_fail(p, p->line, "criterion '%s' does not belong to group '%s'",
		    tok_str(b, sizeof(b), &tok[1]), g->code);
	}
	if ((rv = parser_number(p, &tok[2], &max)) != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < r->n_crits; i++) {
		if (strlen(r->crits[i].code) == tok[1].len &&
		    memcmp(r->crits[i].code, tok[1].s, tok[1].len) == 0) {
			return parser_fail(p, p->line, "duplicate criterion code '%s' (first on line %d)",
			    r->crits[i].code, r->crits[i].line);
		}
	}
	if (ntok == 4) {
		if (tok[3].len <= 5 || memcmp(tok[3].s, "when=", 5) != 0) {
			return parser_fail(p, p->line, "unknown criterion flag '%s' (only when=<code>><points>)",
			    tok_str(b, sizeof(b), &tok[3]));
		}
		if ((rv = criterion_when(p, &tok[3], &cond, &above)) != OCOP_OK) {
			return rv;
		}
	}
	if (r->n_crits == r->cap_crits) {
		size_t cap = r->cap_crits ? r->cap_crits * 2 : 32;
		ocp_criterion *nc = com_realloc(r->crits, cap * sizeof(*nc));
		char **ncc;
		if (nc == NULL) {
			com_free(cond);
			return parser_nomem(p);
		}
		r->crits = nc;
		r->cap_crits = cap;
		ncc = com_realloc(p->cond_codes, cap * sizeof(*ncc));
		if (ncc == NULL) {
			com_free(cond);
			return parser_nomem(p);
		}
		p->cond_codes = ncc;
		p->cap_cond = cap;
	}
	c = &r->crits[r->n_crits];
	memset(c, 0, sizeof(*c));
	c->code = com_strndup(tok[1].s, tok[1].len);
	c->name = com_strndup(text->s, text->len);
	if (c->code == NULL || c->name == NULL) {
		com_free(c->code);
		com_free(c->name);
		com_free(cond);
		return parser_nomem(p);
	}
	c->max = max;
	c->part = g->part;
	c->group = r->n_groups - 1;
	c->cond = OCP_NONE;
	c->cond_above = above;
	c->line = p->line;
	p->cond_codes[r->n_crits] = cond;
	r->n_crits++;
	g->n_criteria++;
	p->target = TARGET_CRITERION;
	return OCOP_OK;
}

static int
directive_option(rubric_parser *p, const rubric_tok *tok, size_t ntok, const rubric_tok *text)
{
	ocp_rubric *r = p->r;
	ocp_criterion *c;
	ocp_option *o;
	ocp_option *no;
	int64_t points;
	char b[64];
	char mb[32];
	char pb[32];
	int star = 0;
	bool ko = false;
	size_t i;
	size_t k;
	int rv;

	if (ntok < 2 || text == NULL) {
		return parser_fail(p, p->line, "expected 'option <points> [***|****|*****] [ko] : <label>'");
	}
	if (p->target != TARGET_CRITERION) {
		return parser_fail(p, p->line, "option outside a criterion (declare 'criterion' first)");
	}
	c = &r->crits[r->n_crits - 1];
	if ((rv = parser_number(p, &tok[1], &points)) != OCOP_OK) {
		return rv;
	}
	for (i = 2; i < ntok; i++) {
		if (tok_is(&tok[i], "ko")) {
			if (ko) {
				return parser_fail(p, p->line, "'ko' given twice");
			}
			ko = true;
			continue;
		}
		for (k = 0; k < tok[i].len && tok[i].s[k] == '*'; k++) {
		}
		if (k == tok[i].len) {
			if (k < 3 || k > 5) {
				return parser_fail(p, p->line,
				    "bad star mark '%s' (use *** for 3, **** for 4 or ***** for 5 stars)",
				    tok_str(b, sizeof(b), &tok[i]));
			}
			if (star != 0) {
				return parser_fail(p, p->line, "more than one star mark on an option");
			}
			star = (int)k;
			continue;
		}
		return parser_fail(p, p->line, "unknown option flag '%s' (star marks or ko)",
		    tok_str(b, sizeof(b), &tok[i]));
	}
	if (points > c->max) {
		ocp_points_format(pb, sizeof(pb), points);
		ocp_points_format(mb, sizeof(mb), c->max);
		return parser_fail(p, p->line,
		    "option points %s exceed the maximum %s of criterion %s", pb, mb, c->code);
	}
	if (ko && points != 0) {
		return parser_fail(p, p->line, "a knock-out option must give 0 points");
	}
	if (ko && star != 0) {
		return parser_fail(p, p->line, "a knock-out option cannot carry a star mark");
	}
	no = com_realloc(c->options, (c->n_options + 1) * sizeof(*no));
	if (no == NULL) {
		return parser_nomem(p);
	}
	c->options = no;
	o = &c->options[c->n_options];
	o->label = com_strndup(text->s, text->len);
	if (o->label == NULL) {
		return parser_nomem(p);
	}
	o->points = points;
	o->star = star;
	o->ko = ko;
	o->line = p->line;
	c->n_options++;
	return OCOP_OK;
}

/* ===== Lines ===== */

/* Check one line's bytes: valid UTF-8 and no control characters but tab. */
static int
parser_check_text(rubric_parser *p, const char *s, size_t len)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;
	size_t i = 0;

	while (i < len) {
		n = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0) {
			return parser_fail(p, p->line, "invalid UTF-8");
		}
		if ((cp < 0x20 && cp != '\t') || cp == 0x7f) {
			return parser_fail(p, p->line, "control character U+%04X", (unsigned)cp);
		}
		i += (size_t)n;
	}
	return OCOP_OK;
}

static bool
is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static int
parser_line(rubric_parser *p, const char *s, size_t len)
{
	rubric_tok tok[RUBRIC_MAX_TOKENS];
	rubric_tok text = {NULL, 0};
	const rubric_tok *tp;
	const char *colon;
	size_t head;
	size_t ntok = 0;
	size_t i = 0;
	char b[64];
	int rv;

	if ((rv = parser_check_text(p, s, len)) != OCOP_OK) {
		return rv;
	}
	while (len > 0 && is_blank(s[0])) {
		s++;
		len--;
	}
	while (len > 0 && is_blank(s[len - 1])) {
		len--;
	}
	if (len == 0 || s[0] == '#') {
		return OCOP_OK;
	}
	colon = memchr(s, ':', len);
	head = colon ? (size_t)(colon - s) : len;
	if (colon != NULL) {
		text.s = colon + 1;
		text.len = len - head - 1;
		while (text.len > 0 && is_blank(text.s[0])) {
			text.s++;
			text.len--;
		}
	}
	while (i < head) {
		while (i < head && is_blank(s[i])) {
			i++;
		}
		if (i == head) {
			break;
		}
		if (ntok == RUBRIC_MAX_TOKENS) {
			return parser_fail(p, p->line, "too many fields before ':'");
		}
		tok[ntok].s = s + i;
		while (i < head && !is_blank(s[i])) {
			i++;
		}
		tok[ntok].len = (size_t)(s + i - tok[ntok].s);
		ntok++;
	}
	if (ntok == 0) {
		return parser_fail(p, p->line, "line starts with ':' (expected a keyword)");
	}
	/* A present but empty text counts as missing: every name and label is required. */
	tp = (colon != NULL && text.len > 0) ? &text : NULL;

	if (tok_is(&tok[0], "rubric")) {
		return directive_rubric(p, tok, ntok, colon != NULL);
	}
	if (p->r->id == NULL) {
		return parser_fail(p, p->line, "a rubric file starts with 'rubric <basis>/<set>'");
	}
	if (tok_is(&tok[0], "basis")) {
		return directive_once(p, &p->r->basis, &p->basis_line, "basis", ntok, tp);
	}
	if (tok_is(&tok[0], "title")) {
		return directive_once(p, &p->r->title, &p->title_line, "title", ntok, tp);
	}
	if (tok_is(&tok[0], "note")) {
		return directive_note(p, "note", ntok, tp);
	}
	if (tok_is(&tok[0], "disqualify")) {
		return directive_note(p, "disqualify", ntok, tp);
	}
	if (tok_is(&tok[0], "part")) {
		return directive_part(p, tok, ntok, tp);
	}
	if (tok_is(&tok[0], "group")) {
		return directive_group(p, tok, ntok, tp);
	}
	if (tok_is(&tok[0], "criterion")) {
		return directive_criterion(p, tok, ntok, tp);
	}
	if (tok_is(&tok[0], "option")) {
		return directive_option(p, tok, ntok, tp);
	}
	return parser_fail(p, p->line, "unknown keyword '%s'", tok_str(b, sizeof(b), &tok[0]));
}

/* ===== Whole-tree validation ===== */

static int
parser_finish(rubric_parser *p)
{
	ocp_rubric *r = p->r;
	char a[32];
	char b[32];
	int64_t sum;
	size_t i;
	size_t k;

	if (r->id == NULL) {
		return parser_fail(p, p->line > 0 ? p->line : 1, "no 'rubric <basis>/<set>' line");
	}
	if (r->basis == NULL) {
		return parser_fail(p, r->id_line, "missing 'basis : <legal basis>'");
	}
	if (r->title == NULL) {
		return parser_fail(p, r->id_line, "missing 'title : <set title>'");
	}
	if (r->n_parts != OCP_PART_COUNT) {
		return parser_fail(p, r->n_parts ? r->parts[r->n_parts - 1].line : r->id_line,
		    "part %c is missing (a rubric has parts A, B and C)", (char)('A' + r->n_parts));
	}
	/* Leaves first, so the most specific problem is the one reported. */
	for (i = 0; i < r->n_crits; i++) {
		ocp_criterion *c = &r->crits[i];
		bool reaches = false;
		if (c->n_options == 0) {
			return parser_fail(p, c->line, "criterion %s has no options", c->code);
		}
		for (k = 0; k < c->n_options; k++) {
			if (!c->options[k].ko && c->options[k].points == c->max) {
				reaches = true;
			}
		}
		if (!reaches) {
			ocp_points_format(a, sizeof(a), c->max);
			return parser_fail(p, c->line, "no option of criterion %s reaches its maximum %s",
			    c->code, a);
		}
	}
	for (i = 0; i < r->n_groups; i++) {
		ocp_group *g = &r->groups[i];
		if (g->n_criteria == 0) {
			continue;
		}
		sum = 0;
		for (k = 0; k < g->n_criteria; k++) {
			sum += r->crits[g->first_criterion + k].max;
		}
		if (sum != g->max) {
			ocp_points_format(a, sizeof(a), g->max);
			ocp_points_format(b, sizeof(b), sum);
			return parser_fail(p, g->line,
			    "group %s has maximum %s but its criteria sum to %s", g->code, a, b);
		}
	}
	sum = 0;
	for (i = 0; i < OCP_PART_COUNT; i++) {
		ocp_part *pt = &r->parts[i];
		int64_t gs = 0;
		sum += pt->max;
		if (pt->n_groups == 0) {
			continue;
		}
		for (k = 0; k < pt->n_groups; k++) {
			gs += r->groups[pt->first_group + k].max;
		}
		if (gs != pt->max) {
			ocp_points_format(a, sizeof(a), pt->max);
			ocp_points_format(b, sizeof(b), gs);
			return parser_fail(p, pt->line, "part %c has maximum %s but its groups sum to %s",
			    pt->letter, a, b);
		}
	}
	if (sum != 100 * 100) {
		ocp_points_format(a, sizeof(a), sum);
		return parser_fail(p, r->parts[OCP_PART_COUNT - 1].line,
		    "parts A + B + C sum to %s, must be 100", a);
	}
	for (i = 0; i < r->n_crits; i++) {
		ocp_criterion *c = &r->crits[i];
		const ocp_criterion *d;
		size_t di;
		if (p->cond_codes[i] == NULL) {
			continue;
		}
		d = ocp_rubric_find(r, p->cond_codes[i], &di);
		if (d == NULL) {
			return parser_fail(p, c->line, "criterion %s depends on unknown criterion %s",
			    c->code, p->cond_codes[i]);
		}
		if (di == i) {
			return parser_fail(p, c->line, "criterion %s depends on itself", c->code);
		}
		if (p->cond_codes[di] != NULL) {
			return parser_fail(p, c->line,
			    "criterion %s depends on %s, which is itself conditional", c->code, d->code);
		}
		if (c->cond_above >= d->max) {
			return parser_fail(p, c->line,
			    "criterion %s can never apply: %s cannot score above its maximum", c->code,
			    d->code);
		}
		c->cond = di;
	}
	/* Scorable only when the whole tree is there; an outline may leave a part bare. */
	r->depth = r->n_groups == 0 ? OCP_DEPTH_PARTS : OCP_DEPTH_CRITERIA;
	for (i = 0; i < OCP_PART_COUNT && r->depth == OCP_DEPTH_CRITERIA; i++) {
		if (r->parts[i].n_groups == 0) {
			r->depth = OCP_DEPTH_GROUPS;
		}
	}
	for (i = 0; i < r->n_groups && r->depth == OCP_DEPTH_CRITERIA; i++) {
		if (r->groups[i].n_criteria == 0) {
			r->depth = OCP_DEPTH_GROUPS;
		}
	}
	return OCOP_OK;
}

/* ===== Constructors and destructor ===== */

void
ocp_rubric_free(ocp_rubric *r)
{
	size_t i;
	size_t k;

	if (r == NULL) {
		return;
	}
	for (i = 0; i < r->n_crits; i++) {
		for (k = 0; k < r->crits[i].n_options; k++) {
			com_free(r->crits[i].options[k].label);
		}
		com_free(r->crits[i].options);
		com_free(r->crits[i].note);
		com_free(r->crits[i].name);
		com_free(r->crits[i].code);
	}
	com_free(r->crits);
	for (i = 0; i < r->n_groups; i++) {
		com_free(r->groups[i].note);
		com_free(r->groups[i].name);
		com_free(r->groups[i].code);
	}
	com_free(r->groups);
	for (i = 0; i < r->n_parts; i++) {
		com_free(r->parts[i].note);
		com_free(r->parts[i].name);
	}
	com_free(r->note);
	com_free(r->disqualify);
	com_free(r->title);
	com_free(r->basis);
	com_free(r->id);
	com_free(r);
}

int
ocp_rubric_parse(ocp_rubric **out, const char *name, const char *text, size_t len, char *err,
    size_t errlen)
{
	rubric_parser p;
	size_t pos = 0;
	size_t i;
	int rv = OCOP_OK;

	*out = NULL;
	memset(&p, 0, sizeof(p));
	p.name = name ? name : "<rubric>";
	p.err = err;
	p.errlen = errlen;
	p.target = TARGET_RUBRIC;
	p.r = com_calloc(1, sizeof(*p.r));
	if (p.r == NULL) {
		return parser_nomem(&p);
	}
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		pos = 3; /* a UTF-8 byte-order mark is tolerated at the start only */
	}
	while (pos < len && rv == OCOP_OK) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;
		size_t l = end - pos;
		p.line++;
		if (l > 0 && text[pos + l - 1] == '\r') {
			l--;
		}
		rv = parser_line(&p, text + pos, l);
		pos = end + 1;
	}
	if (rv == OCOP_OK) {
		rv = parser_finish(&p);
	}
	for (i = 0; i < p.r->n_crits; i++) {
		com_free(p.cond_codes[i]);
	}
	com_free(p.cond_codes);
	if (rv != OCOP_OK) {
		ocp_rubric_free(p.r);
		return rv;
	}
	*out = p.r;
	return OCOP_OK;
}

int
ocp_rubric_load_file(ocp_rubric **out, const char *path, char *err, size_t errlen)
{
	com_buf b;
	char chunk[8192];
	FILE *f;
	size_t n;
	int rv;

	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL) {
		int e = errno;
		rubric_msg(err, errlen, "%s: cannot open: %s", path, strerror(e));
		return e == ENOENT || e == ENOTDIR ? OCOP_ENOENT : OCOP_EIO;
	}
	com_buf_init(&b);
	rv = OCOP_OK;
	while (rv == OCOP_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > RUBRIC_MAX_BYTES) {
			rubric_msg(err, errlen, "%s: larger than %u bytes", path, RUBRIC_MAX_BYTES);
			rv = OCOP_ETOOBIG;
		} else if (com_buf_append(&b, chunk, n) != OCOP_OK) {
			rubric_msg(err, errlen, "%s: out of memory", path);
			rv = OCOP_ENOMEM;
		}
	}
	if (rv == OCOP_OK && ferror(f)) {
		rubric_msg(err, errlen, "%s: read error", path);
		rv = OCOP_EIO;
	}
	fclose(f);
	if (rv == OCOP_OK) {
		rv = ocp_rubric_parse(out, path, b.len ? (const char *)b.data : "", b.len, err, errlen);
	}
	com_buf_fini(&b);
	return rv;
}

int
ocp_rubric_load_id(ocp_rubric **out, const char *data_dir, const char *id, char *err, size_t errlen)
{
	ocp_rubric *r = NULL;
	com_buf path;
	int rv;

	*out = NULL;
	if (data_dir == NULL || data_dir[0] == '\0') {
		rubric_msg(err, errlen, "no data directory to load rubric '%s' from", id ? id : "");
		return OCOP_EINVAL;
	}
	if (id == NULL || !rubric_id_ok(id, strlen(id))) {
		rubric_msg(err, errlen,
		    "malformed rubric id '%s' (expected <basis>/<set>, e.g. qd26-2026/01)",
		    id ? id : "");
		return OCOP_EINVAL;
	}
	com_buf_init(&path);
	if (com_buf_printf(&path, "%s/rubrics/%s.rubric", data_dir, id) != OCOP_OK) {
		rubric_msg(err, errlen, "out of memory");
		return OCOP_ENOMEM;
	}
	rv = ocp_rubric_load_file(&r, (const char *)path.data, err, errlen);
	if (rv == OCOP_ENOENT) {
		rubric_msg(err, errlen, "unknown rubric '%s' (no file %s)", id,
		    (const char *)path.data);
	} else if (rv == OCOP_OK && strcmp(r->id, id) != 0) {
		rubric_msg(err, errlen, "%s:%d: the file declares rubric '%s', expected '%s'",
		    (const char *)path.data, r->id_line, r->id, id);
		ocp_rubric_free(r);
		r = NULL;
		rv = OCOP_ERUBRIC;
	}
	com_buf_fini(&path);
	*out = r;
	return rv;
}

/* ===== Data directory ===== */

static bool
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Copy path to out when it holds a rubrics/ directory. */
static int
data_dir_try(const char *path, char *out, size_t cap)
{
	char probe[RUBRIC_PATH_MAX + 32];

	if (snprintf(probe, sizeof(probe), "%s/rubrics", path) >= (int)sizeof(probe) || !is_dir(probe)) {
		return OCOP_ENOENT;
	}
	if (strlen(path) >= cap) {
		return OCOP_ERANGE;
	}
	memcpy(out, path, strlen(path) + 1);
	return OCOP_OK;
}

/*
 * Where the build put the data, relative to the programs' directory and as an
 * absolute path (CMake sets both from the install prefix; the build tree
 * mirrors the same layout with a bin/ and a share/ocop link to data/).
 */
#ifndef OCOP_DATA_DIR_FROM_BIN
#define OCOP_DATA_DIR_FROM_BIN "../share/ocop"
#endif
#ifndef OCOP_DATA_DIR_INSTALLED
#define OCOP_DATA_DIR_INSTALLED "/usr/local/share/ocop"
#endif

int
ocp_data_dir_find(char *out, size_t cap)
{
	const char *env = getenv("OCOP_DATA_DIR");
	char dir[RUBRIC_PATH_MAX];
	char path[RUBRIC_PATH_MAX + 64];
	ssize_t n;
	char *slash;
	int rv;

	if (env != NULL && env[0] != '\0') {
		if (strlen(env) >= cap) {
			return OCOP_ERANGE;
		}
		memcpy(out, env, strlen(env) + 1);
		return OCOP_OK;
	}
	/* Beside the program first, so a relocated install (or a build tree) uses its own data. */
	n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
	if (n > 0) {
		dir[n] = '\0';
		if ((slash = strrchr(dir, '/')) != NULL) {
			*slash = '\0';
			if (snprintf(path, sizeof(path), "%s/%s", dir, OCOP_DATA_DIR_FROM_BIN) < (int)sizeof(path) &&
			    (rv = data_dir_try(path, out, cap)) != OCOP_ENOENT) {
				return rv;
			}
		}
	}
	return data_dir_try(OCOP_DATA_DIR_INSTALLED, out, cap);
}

const char *
ocp_data_dir(void)
{
	static _Thread_local char buf[RUBRIC_PATH_MAX];

	return ocp_data_dir_find(buf, sizeof(buf)) == OCOP_OK ? buf : NULL;
}

/* ===== Lookup ===== */

const char *
ocp_rubric_id(const ocp_rubric *r)
{
	return r->id;
}

const char *
ocp_rubric_basis(const ocp_rubric *r)
{
	return r->basis;
}

const char *
ocp_rubric_title(const ocp_rubric *r)
{
	return r->title;
}

const char *
ocp_rubric_disqualify(const ocp_rubric *r)
{
	return r->disqualify;
}

ocp_depth
ocp_rubric_depth(const ocp_rubric *r)
{
	return r->depth;
}

size_t
ocp_rubric_part_count(const ocp_rubric *r)
{
	return r->n_parts;
}

const ocp_part *
ocp_rubric_part(const ocp_rubric *r, size_t i)
{
	return &r->parts[i];
}

size_t
ocp_rubric_group_count(const ocp_rubric *r)
{
	return r->n_groups;
}

const ocp_group *
ocp_rubric_group(const ocp_rubric *r, size_t i)
{
	return &r->groups[i];
}

size_t
ocp_rubric_criterion_count(const ocp_rubric *r)
{
	return r->n_crits;
}

const ocp_criterion *
ocp_rubric_criterion(const ocp_rubric *r, size_t i)
{
	return &r->crits[i];
}

const ocp_criterion *
ocp_rubric_find(const ocp_rubric *r, const char *code, size_t *index)
{
	size_t i;

	for (i = 0; i < r->n_crits; i++) {
		if (strcmp(r->crits[i].code, code) == 0) {
			if (index != NULL) {
				*index = i;
			}
			return &r->crits[i];
		}
	}
	return NULL;
}

const ocp_option *
ocp_criterion_option(const ocp_criterion *c, int64_t points, bool ko)
{
	size_t i;

	for (i = 0; i < c->n_options; i++) {
		if (ko ? c->options[i].ko : (!c->options[i].ko && c->options[i].points == points)) {
			return &c->options[i];
		}
	}
	return NULL;
}

int64_t
ocp_criterion_need(const ocp_criterion *c, int level)
{
	int64_t need = 0;
	size_t i;

	for (i = 0; i < c->n_options; i++) {
		const ocp_option *o = &c->options[i];
		if (o->star != 0 && o->star <= level && o->points > need) {
			need = o->points;
		}
	}
	return need;
}
