/*
 * authority.c: site roles and the table/column/kind authority rules loaded from
 * data/authority.conf (format: data/workflow/README.md).
 *
 * Everything not allowed by a rule is refused: a table with no matching rule
 * cannot be written by anybody. Status moves are checked by workflow.c instead.
 */
#include "common/ocop/authority.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"

#define AUTH_MAX_LINE 1024 /* longest accepted line, in bytes */
#define AUTH_MAX_TOKENS 16 /* most words on one line */
#define AUTH_MAX_NAME 63   /* longest table, column, kind or role name */
#define AUTH_FILE "authority.conf"

typedef struct auth_table {
	char *name;        /* owned; the replicated table */
	bool owner_only;   /* rows are written only by their owner's site */
	bool has_kinds;    /* some rule of this table names a row kind */
	char *owner_col;   /* owned; the column naming the owner site, or NULL */
	char *owner_via;   /* owned; the column naming the row whose owner owns this one, or NULL */
	unsigned others;   /* roles that may create a row owned by another site */
	char **immutable;  /* owned array of nimmutable owned column names */
	size_t nimmutable; /* entries in immutable */
	int line;          /* where the table was declared */
} auth_table;

/* `match T.COL = P.PCOL via REF`: T.COL equals P.PCOL of the row T.REF names. */
typedef struct auth_match_rule {
	size_t table;  /* index into ocp_auth.tables */
	char *col;     /* owned */
	char *ptable;  /* owned */
	char *pcol;    /* owned */
	char *via;     /* owned */
	int line;      /* where it was written */
} auth_match_rule;

typedef struct auth_rule {
	size_t table;   /* index into ocp_auth.tables */
	char *column;   /* owned; NULL for the whole row */
	char *kind;     /* owned; NULL for rows of any kind */
	unsigned roles; /* mask of ocp_role bits allowed to write */
	int line;       /* where the rule was written */
} auth_rule;

struct ocp_auth {
	auth_table *tables; /* owned array of ntables */
	size_t ntables;     /* tables in use */
	size_t cap_tables;  /* tables allocated */
	auth_rule *rules;   /* owned array of nrules */
	size_t nrules;      /* rules in use */
	size_t cap_rules;   /* rules allocated */
	auth_match_rule *matches; /* owned array of nmatches */
	size_t nmatches;    /* matches in use */
	size_t cap_matches; /* matches allocated */
};

/* Names, in enum order; the configuration spells roles exactly like this. */
static const char *const role_names[OCP_ROLE_COUNT_] = {
    "commune", "district", "province", "national", "member"};

/* How messages name the actor; each contains the role's name. */
static const char *const role_actors[OCP_ROLE_COUNT_] = {"a commune office",
    "a district office", "a province office", "the national office",
    "a council member's site (role member)"};

/* ===== Roles ===== */

int
ocp_role_parse(const char *name, ocp_role *out)
{
	int i;

	if (name == NULL) {
		return OCOP_EINVAL;
	}
	for (i = 0; i < (int)OCP_ROLE_COUNT_; i++) {
		if (strcmp(name, role_names[i]) == 0) {
			*out = (ocp_role)i;
			return OCOP_OK;
		}
	}
	return OCOP_EINVAL;
}

int
ocp_role_parse_list(const char *list, unsigned *mask, char *bad, size_t badlen)
{
	char word[AUTH_MAX_NAME + 1];
	const char *p = list;
	ocp_role r;

	*mask = 0;
	for (;;) {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) : strlen(p);

		if (n > AUTH_MAX_NAME) {
			n = AUTH_MAX_NAME; /* too long for any role: reported truncated */
		}
		memcpy(word, p, n);
		word[n] = '\0';
		if (n == 0 || ocp_role_parse(word, &r) != OCOP_OK) {
			if (bad != NULL && badlen > 0) {
				snprintf(bad, badlen, "%s", word);
			}
			*mask = 0;
			return OCOP_EINVAL;
		}
		*mask |= OCP_ROLE_BIT(r);
		if (comma == NULL) {
			return OCOP_OK;
		}
		p = comma + 1;
	}
}

const char *
ocp_role_name(int role)
{
	if (role < 0 || role >= (int)OCP_ROLE_COUNT_) {
		return "unknown";
	}
	return role_names[role];
}

const char *
ocp_role_actor(int role)
{
	if (role < 0 || role >= (int)OCP_ROLE_COUNT_) {
		return "a site of unknown role";
	}
	return role_actors[role];
}

char *
ocp_role_list(unsigned mask, char *buf, size_t cap)
{
	size_t used = 0;
	int i;
	int n;

	if (cap == 0) {
		return buf;
	}
	buf[0] = '\0';
	for (i = 0; i < (int)OCP_ROLE_COUNT_; i++) {
		if ((mask & OCP_ROLE_BIT(i)) == 0) {
			continue;
		}
		n = snprintf(buf + used, cap - used, "%s%s", used > 0 ? ", " : "", role_names[i]);
		if (n < 0 || (size_t)n >= cap - used) {
			return buf; /* truncated, still terminated */
		}
		used += (size_t)n;
	}
	if (used == 0) {
		snprintf(buf, cap, "nobody");
	}
	return buf;
}

/* ===== Loading ===== */

/* Write "FILE:LINE: message" into err (if any) and return code. */
static int
auth_fail(char *err, size_t errlen, const char *path, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int
auth_fail(char *err, size_t errlen, const char *path, int line, int code, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (err == NULL || errlen == 0) {
		return code;
	}
	n = snprintf(err, errlen, "%s:%d: ", path, line);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Write a message without a location into err (if any) and return code. */
static int
auth_msg(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
auth_msg(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Read a whole file into b (NUL-terminated). */
static int
auth_slurp(const char *path, com_buf *b, char *err, size_t errlen)
{
	char chunk[4096];
	size_t n;
	FILE *f;
	int rv = OCOP_OK;

	f = fopen(path, "rb");
	if (f == NULL) {
		return auth_msg(err, errlen, errno == ENOENT ? OCOP_ENOENT : OCOP_EIO,
		    "%s: cannot open: %s", path, strerror(errno));
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		rv = com_buf_append(b, chunk, n);
		if (rv != OCOP_OK) {
			break;
		}
	}
	if (rv == OCOP_OK && ferror(f)) {
		rv = auth_msg(err, errlen, OCOP_EIO, "%s: read error", path);
	}
	if (rv == OCOP_OK) {
		rv = com_buf_append(b, "", 1); /* terminate; len now counts the NUL */
		b->len--;
	}
	fclose(f);
	return rv;
}

/* True when s is a lowercase identifier: [a-z][a-z0-9_]*, at most AUTH_MAX_NAME bytes. */
static bool
auth_is_name(const char *s)
{
	size_t i;

	if (s[0] < 'a' || s[0] > 'z') {
		return false;
	}
	for (i = 1; s[i] != '\0'; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_')) {
			return false;
		}
	}
	return i <= AUTH_MAX_NAME;
}

/* Find a table by name; returns its index or ntables. */
static size_t
auth_find_table(const ocp_auth *a, const char *name)
{
	size_t i;

	for (i = 0; i < a->ntables; i++) {
		if (strcmp(a->tables[i].name, name) == 0) {
			return i;
		}
	}
	return a->ntables;
}

/* NULL-tolerant string equality. */
static bool
auth_same(const char *x, const char *y)
{
	if (x == NULL || y == NULL) {
		return x == y;
	}
	return strcmp(x, y) == 0;
}

/* Find the rule with exactly this column and kind (NULL = none); NULL if absent. */
static const auth_rule *
auth_find_rule(const ocp_auth *a, size_t table, const char *column, const char *kind)
{
	size_t i;

	for (i = 0; i < a->nrules; i++) {
		const auth_rule *r = &a->rules[i];

		if (r->table == table && auth_same(r->column, column) && auth_same(r->kind, kind)) {
			return r;
		}
	}
	return NULL;
}

/* Make room for one more element in an array of `size`-byte elements. */
static int
auth_grow(void **arr, size_t *cap, size_t used, size_t size)
{
	size_t ncap;
	void *p;

	if (used < *cap) {
		return OCOP_OK;
	}
	ncap = *cap == 0 ? 16 : *cap * 2;
	if (ncap > ((size_t)-1) / size) {
		return OCOP_ENOMEM;
	}
	p = com_realloc(*arr, ncap * size);
	if (p == NULL) {
		return OCOP_ENOMEM;
	}
	*arr = p;
	*cap = ncap;
	return OCOP_OK;
}

/* Parse the role list of a rule, naming the line on error. */
static int
auth_parse_roles(const char *list, unsigned *mask, char *err, size_t errlen, const char *path,
    int line)
{
	char bad[AUTH_MAX_NAME + 1];

	if (ocp_role_parse_list(list, mask, bad, sizeof(bad)) == OCOP_OK) {
		return OCOP_OK;
	}
	if (bad[0] == '\0') {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT,
		    "bad role list '%s' (roles are separated by commas, no spaces)", list);
	}
	return auth_fail(err, errlen, path, line, OCOP_EINPUT,
	    "unknown role '%s' (roles: commune, district, province, national, member)", bad);
}

/* `table NAME [owner-only]` */
static int
auth_parse_table(ocp_auth *a, char **tok, int ntok, const char *path, int line, char *err,
    size_t errlen)
{
	auth_table *t;
	size_t dup;
	void *p;
	int rv;

	if (ntok < 2 || ntok > 3 || (ntok == 3 && strcmp(tok[2], "owner-only") != 0)) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT,
		    "expected 'table NAME [owner-only]'");
	}
	if (!auth_is_name(tok[1])) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT,
		    "bad table name '%s' (lowercase letters, digits, '_')", tok[1]);
	}
	dup = auth_find_table(a, tok[1]);
	if (dup < a->ntables) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT,
		    "duplicate table '%s' (first declared at line %d)", tok[1], a->tables[dup].line);
	}
	p = a->tables;
	rv = auth_grow(&p, &a->cap_tables, a->ntables, sizeof(*a->tables));
	a->tables = p;
	if (rv != OCOP_OK) {
		return rv;
	}
	t = &a->tables[a->ntables];
	memset(t, 0, sizeof(*t));
	t->name = com_strdup(tok[1]);
	if (t->name == NULL) {
		return OCOP_ENOMEM;
	}
	t->owner_only = ntok == 3;
	t->line = line;
	a->ntables++;
	return OCOP_OK;
}

/* `allow TABLE[.COLUMN] [kind KIND] by ROLES` */
static int
auth_parse_allow(ocp_auth *a, char **tok, int ntok, const char *path, int line, char *err,
    size_t errlen)
{
	char target[2 * AUTH_MAX_NAME + 2];
	const auth_rule *dup;
	const char *column = NULL;
	const char *kind = NULL;
	char *dot;
	auth_rule *r;
	size_t table;
	unsigned roles;
	void *p;
	int by;
	int rv;

	if (ntok == 4 && strcmp(tok[2], "by") == 0) {
		by = 2;
	} else if (ntok == 6 && strcmp(tok[2], "kind") == 0 && strcmp(tok[4], "by") == 0) {
		by = 4;
		kind = tok[3];
	} else {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT,
		    "expected 'allow TABLE[.COLUMN] [kind KIND] by ROLE[,ROLE...]'");
	}
	if (strlen(tok[1]) >= sizeof(target)) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT, "name too long");
	}
	strcpy(target, tok[1]);
	dot = strchr(target, '.');
	if (dot != NULL) {
		*dot = '\0';
		column = dot + 1;
		if (!auth_is_name(column)) {
			return auth_fail(err, errlen, path, line, OCOP_EINPUT,
			    "bad column name '%s'", column);
		}
	}
	if (kind != NULL && !auth_is_name(kind)) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT, "bad kind name '%s'", kind);
	}
	table = auth_find_table(a, target);
	if (table == a->ntables) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT,
		    "unknown table '%s' (declare it with 'table %s' first)", target, target);
	}
	rv = auth_parse_roles(tok[by + 1], &roles, err, errlen, path, line);
	if (rv != OCOP_OK) {
		return rv;
	}
	dup = auth_find_rule(a, table, column, kind);
	if (dup != NULL) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT,
		    "duplicate rule for '%s' (first at line %d)", tok[1], dup->line);
	}
	p = a->rules;
	rv = auth_grow(&p, &a->cap_rules, a->nrules, sizeof(*a->rules));
	a->rules = p;
	if (rv != OCOP_OK) {
		return rv;
	}
	r = &a->rules[a->nrules];
	r->table = table;
	r->roles = roles;
	r->line = line;
	r->column = column != NULL ? com_strdup(column) : NULL;
	r->kind = kind != NULL ? com_strdup(kind) : NULL;
	if ((column != NULL && r->column == NULL) || (kind != NULL && r->kind == NULL)) {
		com_free(r->column);
		com_free(r->kind);
		return OCOP_ENOMEM;
	}
	a->nrules++;
	if (kind != NULL) {
		a->tables[table].has_kinds = true;
	}
	return OCOP_OK;
}

/* Split "TABLE.COLUMN" into the declared table's index and the column name (in buf). */
static int
auth_target(ocp_auth *a, const char *word, size_t *table, char *buf, size_t cap, const char *path, int line,
    char *err, size_t errlen)
{
	const char *dot = strchr(word, '.');

	if (dot == NULL || strlen(word) >= cap) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT, "expected TABLE.COLUMN, got '%s'", word);
	}
	memcpy(buf, word, (size_t)(dot - word));
	buf[dot - word] = '\0';
	*table = auth_find_table(a, buf);
	if (*table == a->ntables) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT,
		    "unknown table '%s' (declare it with 'table %s' first)", buf, buf);
	}
	snprintf(buf, cap, "%s", dot + 1);
	if (!auth_is_name(buf)) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT, "bad column name '%s'", buf);
	}
	return OCOP_OK;
}

/* `immutable TABLE.COLUMN...`: set when the row is created, never changed after. */
static int
auth_parse_immutable(ocp_auth *a, char **tok, int ntok, const char *path, int line, char *err, size_t errlen)
{
	char col[AUTH_MAX_NAME + 1];
	size_t table;
	int i;
	int rv;

	if (ntok < 2) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT, "expected 'immutable TABLE.COLUMN...'");
	}
	for (i = 1; i < ntok; i++) {
		auth_table *t;
		char **p;
		if ((rv = auth_target(a, tok[i], &table, col, sizeof(col), path, line, err, errlen)) != OCOP_OK) {
			return rv;
		}
		t = &a->tables[table];
		if (ocp_auth_immutable(a, t->name, col)) {
			return auth_fail(err, errlen, path, line, OCOP_EINPUT, "'%s' is already immutable", tok[i]);
		}
		p = com_realloc(t->immutable, (t->nimmutable + 1) * sizeof(*p));
		if (p == NULL) {
			return OCOP_ENOMEM;
		}
		t->immutable = p;
		if ((p[t->nimmutable] = com_strdup(col)) == NULL) {
			return OCOP_ENOMEM;
		}
		t->nimmutable++;
	}
	return OCOP_OK;
}

/*
 * `owner TABLE.COLUMN [others ROLES]`: an owner-only table's owner site is in
 * COLUMN; ROLES may create a row that another site owns.
 * `owner TABLE via COLUMN`: the owner is the owner of the row COLUMN names.
 */
static int
auth_parse_owner(ocp_auth *a, char **tok, int ntok, const char *path, int line, char *err, size_t errlen)
{
	char col[AUTH_MAX_NAME + 1];
	auth_table *t;
	size_t table;
	int rv;

	if (ntok == 4 && strcmp(tok[2], "via") == 0) {
		table = auth_find_table(a, tok[1]);
		if (table == a->ntables) {
			return auth_fail(err, errlen, path, line, OCOP_EINPUT, "unknown table '%s'", tok[1]);
		}
		if (!auth_is_name(tok[3])) {
			return auth_fail(err, errlen, path, line, OCOP_EINPUT, "bad column name '%s'", tok[3]);
		}
		snprintf(col, sizeof(col), "%s", tok[3]);
	} else if (ntok == 2 || (ntok == 4 && strcmp(tok[2], "others") == 0)) {
		if ((rv = auth_target(a, tok[1], &table, col, sizeof(col), path, line, err, errlen)) != OCOP_OK) {
			return rv;
		}
	} else {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT,
		    "expected 'owner TABLE.COLUMN [others ROLES]' or 'owner TABLE via COLUMN'");
	}
	t = &a->tables[table];
	if (!t->owner_only) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT, "table '%s' is not owner-only", t->name);
	}
	if (t->owner_col != NULL || t->owner_via != NULL) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT, "table '%s' has an owner already", t->name);
	}
	if (ntok == 4 && strcmp(tok[2], "others") == 0 &&
	    (rv = auth_parse_roles(tok[3], &t->others, err, errlen, path, line)) != OCOP_OK) {
		return rv;
	}
	if (ntok == 4 && strcmp(tok[2], "via") == 0) {
		t->owner_via = com_strdup(col);
	} else {
		t->owner_col = com_strdup(col);
	}
	return t->owner_col != NULL || t->owner_via != NULL ? OCOP_OK : OCOP_ENOMEM;
}

/* `match TABLE.COLUMN = PTABLE.PCOLUMN via COLUMN` */
static int
auth_parse_match(ocp_auth *a, char **tok, int ntok, const char *path, int line, char *err, size_t errlen)
{
	char col[AUTH_MAX_NAME + 1];
	char pcol[AUTH_MAX_NAME + 1];
	auth_match_rule *m;
	size_t table;
	size_t ptable;
	void *p;
	int rv;

	if (ntok != 6 || strcmp(tok[2], "=") != 0 || strcmp(tok[4], "via") != 0) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT,
		    "expected 'match TABLE.COLUMN = TABLE.COLUMN via COLUMN'");
	}
	if ((rv = auth_target(a, tok[1], &table, col, sizeof(col), path, line, err, errlen)) != OCOP_OK ||
	    (rv = auth_target(a, tok[3], &ptable, pcol, sizeof(pcol), path, line, err, errlen)) != OCOP_OK) {
		return rv;
	}
	if (!auth_is_name(tok[5])) {
		return auth_fail(err, errlen, path, line, OCOP_EINPUT, "bad column name '%s'", tok[5]);
	}
	p = a->matches;
	rv = auth_grow(&p, &a->cap_matches, a->nmatches, sizeof(*a->matches));
	a->matches = p;
	if (rv != OCOP_OK) {
		return rv;
	}
	m = &a->matches[a->nmatches];
	memset(m, 0, sizeof(*m));
	m->table = table;
	m->line = line;
	m->col = com_strdup(col);
	m->ptable = com_strdup(a->tables[ptable].name);
	m->pcol = com_strdup(pcol);
	m->via = com_strdup(tok[5]);
	a->nmatches++;
	if (m->col == NULL || m->ptable == NULL || m->pcol == NULL || m->via == NULL) {
		return OCOP_ENOMEM;
	}
	return OCOP_OK;
}

/* Split a line into words; a word starting with '#' begins a comment. */
static int
auth_split(char *s, char **tok, int max)
{
	int n = 0;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r') {
			s++;
		}
		if (*s == '\0' || *s == '#') {
			return n;
		}
		if (n == max) {
			return -1;
		}
		tok[n++] = s;
		while (*s != '\0' && *s != ' ' && *s != '\t' && *s != '\r') {
			s++;
		}
		if (*s != '\0') {
			*s++ = '\0';
		}
	}
}

/* Parse the whole text (len bytes, may hold stray NULs); fills a. */
static int
auth_parse(ocp_auth *a, const char *text, size_t len, const char *path, char *err, size_t errlen)
{
	char line[AUTH_MAX_LINE + 1];
	char *tok[AUTH_MAX_TOKENS];
	const char *p = text;
	const char *end = text + len;
	int lineno = 0;
	size_t i;
	int ntok;
	int rv;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		lineno++;
		if (n > AUTH_MAX_LINE) {
			return auth_fail(err, errlen, path, lineno, OCOP_EINPUT,
			    "line longer than %d bytes", AUTH_MAX_LINE);
		}
		if (memchr(p, '\0', n) != NULL) {
			return auth_fail(err, errlen, path, lineno, OCOP_EINPUT, "NUL byte in line");
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl != NULL ? nl + 1 : end;
		ntok = auth_split(line, tok, AUTH_MAX_TOKENS);
		if (ntok < 0) {
			return auth_fail(err, errlen, path, lineno, OCOP_EINPUT, "too many words");
		}
		if (ntok == 0) {
			continue;
		}
		if (strcmp(tok[0], "table") == 0) {
			rv = auth_parse_table(a, tok, ntok, path, lineno, err, errlen);
		} else if (strcmp(tok[0], "allow") == 0) {
			rv = auth_parse_allow(a, tok, ntok, path, lineno, err, errlen);
		} else if (strcmp(tok[0], "immutable") == 0) {
			rv = auth_parse_immutable(a, tok, ntok, path, lineno, err, errlen);
		} else if (strcmp(tok[0], "owner") == 0) {
			rv = auth_parse_owner(a, tok, ntok, path, lineno, err, errlen);
		} else if (strcmp(tok[0], "match") == 0) {
			rv = auth_parse_match(a, tok, ntok, path, lineno, err, errlen);
		} else {
			rv = auth_fail(err, errlen, path, lineno, OCOP_EINPUT,
			    "unknown keyword '%s' (expected table, allow, immutable, owner or match)", tok[0]);
		}
		if (rv != OCOP_OK) {
			return rv;
		}
	}
	if (a->ntables == 0) {
		return auth_fail(err, errlen, path, lineno > 0 ? lineno : 1, OCOP_EINPUT,
		    "no 'table' line: the file declares no replicated table");
	}
	/* A declared table that nobody may write is a forgotten rule, not a policy. */
	for (i = 0; i < a->ntables; i++) {
		size_t j;

		for (j = 0; j < a->nrules; j++) {
			if (a->rules[j].table == i) {
				break;
			}
		}
		if (j == a->nrules) {
			return auth_fail(err, errlen, path, a->tables[i].line, OCOP_EINPUT,
			    "table '%s' has no 'allow' rule, so nobody could write it",
			    a->tables[i].name);
		}
	}
	return OCOP_OK;
}

int
ocp_auth_load_file(ocp_auth **out, const char *path, char *err, size_t errlen)
{
	ocp_auth *a;
	com_buf b;
	int rv;

	*out = NULL;
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	com_buf_init(&b);
	a = com_calloc(1, sizeof(*a));
	if (a == NULL) {
		return OCOP_ENOMEM;
	}
	rv = auth_slurp(path, &b, err, errlen);
	if (rv != OCOP_OK) {
		goto fail;
	}
	rv = auth_parse(a, (const char *)b.data, b.len, path, err, errlen);
	if (rv != OCOP_OK) {
		goto fail;
	}
	com_buf_fini(&b);
	*out = a;
	return OCOP_OK;
fail:
	if (rv == OCOP_ENOMEM) {
		auth_msg(err, errlen, rv, "%s: out of memory", path);
	}
	com_buf_fini(&b);
	ocp_auth_free(a);
	return rv;
}

int
ocp_auth_load(ocp_auth **out, const char *data_dir, char *err, size_t errlen)
{
	com_buf path;
	int rv;

	*out = NULL;
	if (data_dir == NULL) {
		return auth_msg(err, errlen, OCOP_EINVAL, "no data directory given");
	}
	com_buf_init(&path);
	rv = com_buf_printf(&path, "%s/%s", data_dir, AUTH_FILE);
	if (rv == OCOP_OK) {
		rv = ocp_auth_load_file(out, (const char *)path.data, err, errlen);
	}
	com_buf_fini(&path);
	return rv;
}

void
ocp_auth_free(ocp_auth *auth)
{
	size_t i;

	if (auth == NULL) {
		return;
	}
	for (i = 0; i < auth->nrules; i++) {
		com_free(auth->rules[i].column);
		com_free(auth->rules[i].kind);
	}
	com_free(auth->rules);
	for (i = 0; i < auth->ntables; i++) {
		size_t k;
		for (k = 0; k < auth->tables[i].nimmutable; k++) {
			com_free(auth->tables[i].immutable[k]);
		}
		com_free(auth->tables[i].immutable);
		com_free(auth->tables[i].owner_col);
		com_free(auth->tables[i].owner_via);
		com_free(auth->tables[i].name);
	}
	com_free(auth->tables);
	for (i = 0; i < auth->nmatches; i++) {
		com_free(auth->matches[i].col);
		com_free(auth->matches[i].ptable);
		com_free(auth->matches[i].pcol);
		com_free(auth->matches[i].via);
	}
	com_free(auth->matches);
	com_free(auth);
}

/* ===== Queries ===== */

/* The most specific rule for the write, or NULL. See ocp_auth_check() for the order. */
static const auth_rule *
auth_match(const ocp_auth *a, size_t table, const char *column, const char *kind)
{
	const auth_rule *r = NULL;

	if (column != NULL && kind != NULL) {
		r = auth_find_rule(a, table, column, kind);
	}
	if (r == NULL && column != NULL) {
		r = auth_find_rule(a, table, column, NULL);
	}
	if (r == NULL && kind != NULL) {
		r = auth_find_rule(a, table, NULL, kind);
	}
	if (r == NULL) {
		r = auth_find_rule(a, table, NULL, NULL);
	}
	return r;
}

/* List the kinds named by the rules of a table into buf. */
static void
auth_kinds(const ocp_auth *a, size_t table, char *buf, size_t cap)
{
	size_t used = 0;
	size_t i;
	int n;

	buf[0] = '\0';
	for (i = 0; i < a->nrules; i++) {
		const auth_rule *r = &a->rules[i];
		size_t j;

		if (r->table != table || r->kind == NULL) {
			continue;
		}
		for (j = 0; j < i; j++) { /* each kind once */
			if (a->rules[j].table == table && auth_same(a->rules[j].kind, r->kind)) {
				break;
			}
		}
		if (j < i) {
			continue;
		}
		n = snprintf(buf + used, cap - used, "%s%s", used > 0 ? ", " : "", r->kind);
		if (n < 0 || (size_t)n >= cap - used) {
			return;
		}
		used += (size_t)n;
	}
}

int
ocp_auth_check(const ocp_auth *auth, int role, const char *table, const char *column,
    const char *row_kind, char *err, size_t errlen)
{
	char what[3 * AUTH_MAX_NAME + 32];
	char who[96];
	char kinds[256];
	const auth_rule *r;
	size_t t;

	if (table == NULL) {
		return auth_msg(err, errlen, OCOP_EINVAL, "no table given");
	}
	t = auth_find_table(auth, table);
	if (t == auth->ntables) {
		return auth_msg(err, errlen, OCOP_EINVAL, "unknown table '%s'", table);
	}
	if (role < 0 || role >= (int)OCP_ROLE_COUNT_) {
		return auth_msg(err, errlen, OCOP_EINVAL, "unknown role %d", role);
	}
	r = auth_match(auth, t, column, row_kind);
	if (r != NULL && (r->roles & OCP_ROLE_BIT(role)) != 0) {
		return OCOP_OK; /* the merge asks for every column of every change: no message to build */
	}
	if (column != NULL) {
		snprintf(what, sizeof(what), "%s.%s", table, column);
	} else {
		snprintf(what, sizeof(what), "%s rows", table);
	}
	if (row_kind != NULL && auth->tables[t].has_kinds) {
		size_t n = strlen(what);

		snprintf(what + n, sizeof(what) - n, "%s of kind '%s'", column != NULL ? " in rows" : "",
		    row_kind);
	}
	if (r == NULL) {
		auth_kinds(auth, t, kinds, sizeof(kinds));
		if (auth->tables[t].has_kinds && row_kind == NULL) {
			return auth_msg(err, errlen, OCOP_EAUTH,
			    "%s cannot write %s: %s rows carry a kind and none was given (kinds: %s)",
			    ocp_role_actor(role), what, table, kinds);
		}
		if (auth->tables[t].has_kinds) {
			return auth_msg(err, errlen, OCOP_EAUTH,
			    "%s cannot write %s: no role may write that kind (kinds: %s)",
			    ocp_role_actor(role), what, kinds);
		}
		return auth_msg(err, errlen, OCOP_EAUTH, "%s cannot write %s: no role may write it",
		    ocp_role_actor(role), what);
	}
	if ((r->roles & OCP_ROLE_BIT(role)) == 0) {
		return auth_msg(err, errlen, OCOP_EAUTH, "%s cannot write %s; allowed: %s",
		    ocp_role_actor(role), what, ocp_role_list(r->roles, who, sizeof(who)));
	}
	return OCOP_OK;
}

unsigned
ocp_auth_roles(const ocp_auth *auth, const char *table, const char *column, const char *row_kind)
{
	const auth_rule *r;
	size_t t;

	if (table == NULL) {
		return 0;
	}
	t = auth_find_table(auth, table);
	if (t == auth->ntables) {
		return 0;
	}
	r = auth_match(auth, t, column, row_kind);
	return r != NULL ? r->roles : 0;
}

bool
ocp_auth_owner_only(const ocp_auth *auth, const char *table)
{
	size_t t;

	if (table == NULL) {
		return false;
	}
	t = auth_find_table(auth, table);
	return t < auth->ntables && auth->tables[t].owner_only;
}

bool
ocp_auth_has_table(const ocp_auth *auth, const char *table)
{
	return table != NULL && auth_find_table(auth, table) < auth->ntables;
}

int
ocp_auth_check_owner(const ocp_auth *auth, const char *table, const char *owner_site,
    const char *writer_site, char *err, size_t errlen)
{
	size_t t;

	if (table == NULL || writer_site == NULL) {
		return auth_msg(err, errlen, OCOP_EINVAL, "no table or writer site given");
	}
	t = auth_find_table(auth, table);
	if (t == auth->ntables) {
		return auth_msg(err, errlen, OCOP_EINVAL, "unknown table '%s'", table);
	}
	if (!auth->tables[t].owner_only) {
		return OCOP_OK;
	}
	if (owner_site == NULL) {
		return auth_msg(err, errlen, OCOP_EAUTH,
		    "%s rows are written only by their owner's site, and this row has no owner",
		    table);
	}
	if (strcmp(owner_site, writer_site) != 0) {
		return auth_msg(err, errlen, OCOP_EAUTH,
		    "%s rows are written only by their owner's site: owner %s, writer %s", table,
		    owner_site, writer_site);
	}
	return OCOP_OK;
}

bool
ocp_auth_immutable(const ocp_auth *auth, const char *table, const char *column)
{
	size_t t;
	size_t i;

	if (table == NULL || column == NULL || (t = auth_find_table(auth, table)) == auth->ntables) {
		return false;
	}
	for (i = 0; i < auth->tables[t].nimmutable; i++) {
		if (strcmp(auth->tables[t].immutable[i], column) == 0) {
			return true;
		}
	}
	return false;
}

bool
ocp_auth_owner(const ocp_auth *auth, const char *table, const char **owner_col, const char **via_col,
    unsigned *others)
{
	size_t t;

	*owner_col = NULL;
	*via_col = NULL;
	*others = 0;
	if (table == NULL || (t = auth_find_table(auth, table)) == auth->ntables || !auth->tables[t].owner_only) {
		return false;
	}
	*owner_col = auth->tables[t].owner_col;
	*via_col = auth->tables[t].owner_via;
	*others = auth->tables[t].others;
	return true;
}

size_t
ocp_auth_match_count(const ocp_auth *auth)
{
	return auth->nmatches;
}

bool
ocp_auth_match_at(const ocp_auth *auth, size_t i, const char **table, const char **col, const char **ptable,
    const char **pcol, const char **via)
{
	const auth_match_rule *m;

	if (i >= auth->nmatches) {
		return false;
	}
	m = &auth->matches[i];
	*table = auth->tables[m->table].name;
	*col = m->col;
	*ptable = m->ptable;
	*pcol = m->pcol;
	*via = m->via;
	return true;
}

size_t
ocp_auth_kinds(const ocp_auth *auth, const char *table, const char **out, size_t cap)
{
	size_t t;
	size_t n = 0;
	size_t i;
	size_t j;

	if (table == NULL || (t = auth_find_table(auth, table)) == auth->ntables) {
		return 0;
	}
	for (i = 0; i < auth->nrules; i++) {
		const auth_rule *r = &auth->rules[i];
		bool seen = false;
		if (r->table != t || r->kind == NULL) {
			continue;
		}
		for (j = 0; j < i; j++) {
			seen |= auth->rules[j].table == t && auth_same(auth->rules[j].kind, r->kind);
		}
		if (!seen) {
			if (n < cap) {
				out[n] = r->kind;
			}
			n++;
		}
	}
	return n;
}
