/*
 * workflow.c: loads and validates a dossier workflow file (states with ranks,
 * forward and reopen transitions with their roles and required flags) and
 * answers the merge's questions about moves and concurrent statuses.
 *
 * It checks the shape of the machine (ranks rise on forward moves, fall on
 * reopens, every state is reachable and can be left unless terminal) but not the
 * requirement flags, which are facts only the caller can see.
 */
#include "common/ocop/workflow.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"

#define FLOW_MAX_LINE 1024    /* longest accepted line, in bytes */
#define FLOW_MAX_TOKENS 32    /* most words on one line */
#define FLOW_MAX_NAME 63      /* longest state, basis or flag name */
#define FLOW_MAX_RANK 1000000 /* highest accepted rank */

/* State names of one transition, kept only while the file is being loaded. */
typedef struct flow_raw {
	char *from; /* owned until resolved */
	char *to;   /* owned until resolved */
} flow_raw;

struct ocp_flow {
	char *basis;              /* owned; the `flow` line's basis id */
	char *title;              /* owned; the `flow` line's title */
	int flow_line;            /* line of the `flow` line, 0 if missing */
	char *initial_name;       /* owned; the `initial` line's state */
	int initial_line;         /* line of the `initial` line, 0 if missing */
	const ocp_state *initial; /* borrowed from states once resolved */
	ocp_state *states;        /* owned array */
	size_t nstates;           /* states in use */
	size_t cap_states;        /* states allocated */
	ocp_transition *trans;    /* owned array */
	flow_raw *raw;            /* owned array parallel to trans, NULL once resolved */
	size_t ntrans;            /* transitions in use */
	size_t cap_trans;         /* transitions (and raw entries) allocated */
};

/* One word of a line; quoted words are labels and never keywords. */
typedef struct flow_tok {
	char *s;     /* points into the line copy */
	bool quoted; /* the word was written in double quotes */
} flow_tok;

/* ===== Messages ===== */

/* Write "FILE:LINE: message" into err (if any) and return code. */
static int
flow_fail(char *err, size_t errlen, const char *path, int line, int code, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static int
flow_fail(char *err, size_t errlen, const char *path, int line, int code, const char *fmt, ...)
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

/* Append formatted text to the message in err, truncating quietly. */
static void
flow_append(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
flow_append(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (err == NULL || errlen == 0) {
		return;
	}
	n = strlen(err);
	if (n + 1 >= errlen) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - n, fmt, ap);
	va_end(ap);
}

/* Write a message without a location into err (if any) and return code. */
static int
flow_msg(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
flow_msg(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err != NULL && errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ===== Lexing ===== */

/* Read a whole file into b; b->len excludes the terminating NUL. */
static int
flow_slurp(const char *path, com_buf *b, char *err, size_t errlen)
{
	char chunk[4096];
	size_t n;
	FILE *f;
	int rv = OCOP_OK;

	f = fopen(path, "rb");
	if (f == NULL) {
		return flow_msg(err, errlen, errno == ENOENT ? OCOP_ENOENT : OCOP_EIO,
		    "%s: cannot open: %s", path, strerror(errno));
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		rv = com_buf_append(b, chunk, n);
		if (rv != OCOP_OK) {
			break;
		}
	}
	if (rv == OCOP_OK && ferror(f)) {
		rv = flow_msg(err, errlen, OCOP_EIO, "%s: read error", path);
	}
	if (rv == OCOP_OK) {
		rv = com_buf_append(b, "", 1);
		b->len--;
	}
	fclose(f);
	return rv;
}

static bool
flow_is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/*
 * Split a line into words. A double-quoted word may hold spaces and ends at the
 * next quote; a word starting with '#' begins a comment. Returns the number of
 * words, or -1 with *why set.
 */
static int
flow_split(char *s, flow_tok *tok, int max, const char **why)
{
	int n = 0;

	for (;;) {
		while (flow_is_space(*s)) {
			s++;
		}
		if (*s == '\0' || *s == '#') {
			return n;
		}
		if (n == max) {
			*why = "too many words on one line";
			return -1;
		}
		if (*s == '"') {
			char *close = strchr(s + 1, '"');

			if (close == NULL) {
				*why = "unterminated quoted text";
				return -1;
			}
			if (close[1] != '\0' && !flow_is_space(close[1])) {
				*why = "quoted text must be followed by a space";
				return -1;
			}
			tok[n].s = s + 1;
			tok[n].quoted = true;
			n++;
			*close = '\0';
			s = close + 1;
			continue;
		}
		tok[n].s = s;
		tok[n].quoted = false;
		n++;
		while (*s != '\0' && !flow_is_space(*s)) {
			if (*s == '"') {
				*why = "a quote inside a word";
				return -1;
			}
			s++;
		}
		if (*s != '\0') {
			*s++ = '\0';
		}
	}
}

/* True when s is a state name: [a-z][a-z0-9_]*, at most FLOW_MAX_NAME bytes. */
static bool
flow_is_name(const char *s)
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
	return i <= FLOW_MAX_NAME;
}

/* True when s is a basis id: [a-z0-9][a-z0-9.-]*, so it is safe in a file name. */
static bool
flow_is_basis(const char *s)
{
	size_t i;

	if (s == NULL || !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9'))) {
		return false;
	}
	for (i = 1; s[i] != '\0'; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			s[i] == '-')) {
			return false;
		}
	}
	return i <= FLOW_MAX_NAME;
}

/* True when s is a requirement flag: letters, digits and _ < > = . + -. */
static bool
flow_is_flag(const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || strchr("_<>=.+-", s[i]) != NULL)) {
			return false;
		}
	}
	return i > 0 && i <= FLOW_MAX_NAME;
}

/* True when s is valid UTF-8 with no control characters. */
static bool
flow_is_text(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_ssize_t len = (utf8proc_ssize_t)strlen(s);
	utf8proc_int32_t cp;

	while (len > 0) {
		utf8proc_ssize_t n = utf8proc_iterate(p, len, &cp);

		if (n <= 0 || cp < 0x20 || cp == 0x7f) {
			return false;
		}
		p += n;
		len -= n;
	}
	return true;
}

/* ===== Parsing ===== */

/* Index of a state by name, or nstates. */
static size_t
flow_find_state(const ocp_flow *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->nstates; i++) {
		if (strcmp(f->states[i].name, name) == 0) {
			return i;
		}
	}
	return f->nstates;
}

/* Resize *arr to n elements of `size` bytes; *arr is untouched on failure. */
static int
flow_resize(void **arr, size_t n, size_t size)
{
	void *p;

	if (n > ((size_t)-1) / size) {
		return OCOP_ENOMEM;
	}
	p = com_realloc(*arr, n * size);
	if (p == NULL) {
		return OCOP_ENOMEM;
	}
	*arr = p;
	return OCOP_OK;
}

/* Next capacity for an array that is full at `cap` elements. */
static size_t
flow_next_cap(size_t cap)
{
	return cap == 0 ? 16 : cap * 2;
}

/* `flow BASIS "TITLE"` */
static int
flow_parse_flow(ocp_flow *f, flow_tok *tok, int ntok, const char *path, int line, char *err,
    size_t errlen)
{
	if (f->flow_line != 0) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT,
		    "second 'flow' line (the first is at line %d)", f->flow_line);
	}
	if (ntok != 3 || tok[1].quoted || !tok[2].quoted) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT,
		    "expected 'flow BASIS \"TITLE\"'");
	}
	if (!flow_is_basis(tok[1].s)) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT,
		    "bad basis '%s' (lowercase letters, digits, '.' and '-')", tok[1].s);
	}
	if (!flow_is_text(tok[2].s)) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT, "title is not valid UTF-8 text");
	}
	f->basis = com_strdup(tok[1].s);
	f->title = com_strdup(tok[2].s);
	if (f->basis == NULL || f->title == NULL) {
		return OCOP_ENOMEM;
	}
	f->flow_line = line;
	return OCOP_OK;
}

/* `initial STATE` (resolved after the whole file is read) */
static int
flow_parse_initial(ocp_flow *f, flow_tok *tok, int ntok, const char *path, int line, char *err,
    size_t errlen)
{
	if (f->initial_line != 0) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT,
		    "second 'initial' line (the first is at line %d)", f->initial_line);
	}
	if (ntok != 2 || tok[1].quoted) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT, "expected 'initial STATE'");
	}
	f->initial_name = com_strdup(tok[1].s);
	if (f->initial_name == NULL) {
		return OCOP_ENOMEM;
	}
	f->initial_line = line;
	return OCOP_OK;
}

/* `state NAME RANK [terminal] [candidate] "LABEL"` */
static int
flow_parse_state(ocp_flow *f, flow_tok *tok, int ntok, const char *path, int line, char *err,
    size_t errlen)
{
	ocp_state *st;
	size_t dup;
	char *end;
	long rank;
	int rv;

	bool terminal = false;
	bool candidate = false;
	int i;

	if (ntok < 4 || ntok > 6 || tok[1].quoted || tok[2].quoted || !tok[ntok - 1].quoted) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT,
		    "expected 'state NAME RANK [terminal] [candidate] \"LABEL\"'");
	}
	for (i = 3; i < ntok - 1; i++) {
		bool *flag = tok[i].quoted				    ? NULL
			     : strcmp(tok[i].s, "terminal") == 0  ? &terminal
			     : strcmp(tok[i].s, "candidate") == 0 ? &candidate
								  : NULL;
		if (flag == NULL || *flag) {
			return flow_fail(err, errlen, path, line, OCOP_EINPUT,
			    "expected 'state NAME RANK [terminal] [candidate] \"LABEL\"', not '%s'", tok[i].s);
		}
		*flag = true;
	}
	if (!flow_is_name(tok[1].s)) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT,
		    "bad state name '%s' (lowercase letters, digits, '_')", tok[1].s);
	}
	dup = flow_find_state(f, tok[1].s);
	if (dup < f->nstates) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT,
		    "duplicate state '%s' (first declared at line %d)", tok[1].s,
		    f->states[dup].line);
	}
	errno = 0;
	rank = strtol(tok[2].s, &end, 10);
	if (errno != 0 || *end != '\0' || end == tok[2].s || rank < 0 || rank > FLOW_MAX_RANK) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT,
		    "bad rank '%s' (an integer from 0 to %d)", tok[2].s, FLOW_MAX_RANK);
	}
	if (tok[ntok - 1].s[0] == '\0' || !flow_is_text(tok[ntok - 1].s)) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT,
		    "the label must be non-empty UTF-8 text");
	}
	if (f->nstates == f->cap_states) {
		size_t ncap = flow_next_cap(f->cap_states);
		void *p = f->states;

		rv = flow_resize(&p, ncap, sizeof(*f->states));
		if (rv != OCOP_OK) {
			return rv;
		}
		f->states = p;
		f->cap_states = ncap;
	}
	st = &f->states[f->nstates];
	memset(st, 0, sizeof(*st));
	st->name = com_strdup(tok[1].s);
	st->label = com_strdup(tok[ntok - 1].s);
	st->rank = (int)rank;
	st->terminal = terminal;
	st->candidate = candidate;
	st->line = line;
	f->nstates++; /* counted before the check so ocp_flow_free releases what was copied */
	if (st->name == NULL || st->label == NULL) {
		return OCOP_ENOMEM;
	}
	return OCOP_OK;
}

/* Parse the role list of a transition, naming the line on error. */
static int
flow_parse_roles(const char *list, unsigned *mask, const char *path, int line, char *err,
    size_t errlen)
{
	char bad[FLOW_MAX_NAME + 1];

	if (ocp_role_parse_list(list, mask, bad, sizeof(bad)) == OCOP_OK) {
		return OCOP_OK;
	}
	if (bad[0] == '\0') {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT,
		    "bad role list '%s' (roles are separated by commas, no spaces)", list);
	}
	return flow_fail(err, errlen, path, line, OCOP_EINPUT,
	    "unknown role '%s' (roles: commune, district, province, national, member)", bad);
}

/* `forward|reopen FROM -> TO by ROLES [requires FLAG...]` (states resolved later) */
static int
flow_parse_move(ocp_flow *f, flow_tok *tok, int ntok, ocp_flow_kind kind, const char *path,
    int line, char *err, size_t errlen)
{
	ocp_transition *t;
	flow_raw *raw;
	unsigned roles;
	int i;
	int j;
	int rv;

	for (i = 1; i < ntok; i++) {
		if (tok[i].quoted) {
			return flow_fail(err, errlen, path, line, OCOP_EINPUT,
			    "quoted text is not allowed in a transition");
		}
	}
	if (ntok < 6 || strcmp(tok[2].s, "->") != 0 || strcmp(tok[4].s, "by") != 0 ||
	    (ntok > 6 && (strcmp(tok[6].s, "requires") != 0 || ntok == 7))) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT,
		    "expected '%s FROM -> TO by ROLE[,ROLE...] [requires FLAG...]'", tok[0].s);
	}
	rv = flow_parse_roles(tok[5].s, &roles, path, line, err, errlen);
	if (rv != OCOP_OK) {
		return rv;
	}
	for (i = 7; i < ntok; i++) {
		if (!flow_is_flag(tok[i].s)) {
			return flow_fail(err, errlen, path, line, OCOP_EINPUT,
			    "bad requirement flag '%s'", tok[i].s);
		}
		for (j = 7; j < i; j++) {
			if (strcmp(tok[i].s, tok[j].s) == 0) {
				return flow_fail(err, errlen, path, line, OCOP_EINPUT,
				    "requirement '%s' listed twice", tok[i].s);
			}
		}
	}
	if (f->ntrans == f->cap_trans) {
		size_t ncap = flow_next_cap(f->cap_trans);
		void *pt = f->trans;
		void *pr = f->raw;

		/* Both arrays share one capacity; a larger trans alone is harmless. */
		rv = flow_resize(&pt, ncap, sizeof(*f->trans));
		f->trans = pt;
		if (rv == OCOP_OK) {
			rv = flow_resize(&pr, ncap, sizeof(*f->raw));
			f->raw = pr;
		}
		if (rv != OCOP_OK) {
			return rv;
		}
		f->cap_trans = ncap;
	}
	t = &f->trans[f->ntrans];
	raw = &f->raw[f->ntrans];
	memset(t, 0, sizeof(*t));
	memset(raw, 0, sizeof(*raw));
	f->ntrans++; /* counted now so ocp_flow_free releases a half-built entry */
	t->kind = kind;
	t->roles = roles;
	t->line = line;
	raw->from = com_strdup(tok[1].s);
	raw->to = com_strdup(tok[3].s);
	if (raw->from == NULL || raw->to == NULL) {
		return OCOP_ENOMEM;
	}
	if (ntok > 7) {
		t->requires = com_calloc((size_t)(ntok - 7), sizeof(char *));
		if (t->requires == NULL) {
			return OCOP_ENOMEM;
		}
		for (i = 7; i < ntok; i++) {
			t->requires[t->nrequires] = com_strdup(tok[i].s);
			if (t->requires[t->nrequires] == NULL) {
				return OCOP_ENOMEM;
			}
			t->nrequires++;
		}
	}
	return OCOP_OK;
}

/* Dispatch one non-empty line by its keyword. */
static int
flow_parse_line(ocp_flow *f, flow_tok *tok, int ntok, const char *path, int line, char *err,
    size_t errlen)
{
	const char *kw = tok[0].s;

	if (tok[0].quoted) {
		return flow_fail(err, errlen, path, line, OCOP_EINPUT,
		    "a line must start with a keyword, not quoted text");
	}
	if (strcmp(kw, "flow") == 0) {
		return flow_parse_flow(f, tok, ntok, path, line, err, errlen);
	}
	if (strcmp(kw, "initial") == 0) {
		return flow_parse_initial(f, tok, ntok, path, line, err, errlen);
	}
	if (strcmp(kw, "state") == 0) {
		return flow_parse_state(f, tok, ntok, path, line, err, errlen);
	}
	if (strcmp(kw, "forward") == 0) {
		return flow_parse_move(f, tok, ntok, OCP_FLOW_FORWARD, path, line, err, errlen);
	}
	if (strcmp(kw, "reopen") == 0) {
		return flow_parse_move(f, tok, ntok, OCP_FLOW_REOPEN, path, line, err, errlen);
	}
	return flow_fail(err, errlen, path, line, OCOP_EINPUT,
	    "unknown keyword '%s' (expected flow, initial, state, forward or reopen)", kw);
}

/* Read every line of text (len bytes) into f. */
static int
flow_parse(ocp_flow *f, const char *text, size_t len, const char *path, int *last_line,
    char *err, size_t errlen)
{
	char line[FLOW_MAX_LINE + 1];
	flow_tok tok[FLOW_MAX_TOKENS];
	const char *p = text;
	const char *end = text + len;
	const char *why = NULL;
	int lineno = 0;
	int ntok;
	int rv;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		lineno++;
		if (n > FLOW_MAX_LINE) {
			return flow_fail(err, errlen, path, lineno, OCOP_EINPUT,
			    "line longer than %d bytes", FLOW_MAX_LINE);
		}
		if (memchr(p, '\0', n) != NULL) {
			return flow_fail(err, errlen, path, lineno, OCOP_EINPUT, "NUL byte in line");
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl != NULL ? nl + 1 : end;
		ntok = flow_split(line, tok, FLOW_MAX_TOKENS, &why);
		if (ntok < 0) {
			return flow_fail(err, errlen, path, lineno, OCOP_EINPUT, "%s", why);
		}
		if (ntok == 0) {
			continue;
		}
		rv = flow_parse_line(f, tok, ntok, path, lineno, err, errlen);
		if (rv != OCOP_OK) {
			return rv;
		}
	}
	*last_line = lineno > 0 ? lineno : 1;
	return OCOP_OK;
}

/* ===== Validation ===== */

/* Turn the raw state names of each transition into pointers and check each move. */
static int
flow_resolve_moves(ocp_flow *f, const char *path, char *err, size_t errlen)
{
	size_t i;
	size_t k;

	for (i = 0; i < f->ntrans; i++) {
		ocp_transition *t = &f->trans[i];
		const flow_raw *raw = &f->raw[i];
		size_t a = flow_find_state(f, raw->from);
		size_t b = flow_find_state(f, raw->to);

		if (a == f->nstates || b == f->nstates) {
			return flow_fail(err, errlen, path, t->line, OCOP_EINPUT,
			    "unknown state '%s' in transition '%s -> %s'",
			    a == f->nstates ? raw->from : raw->to, raw->from, raw->to);
		}
		t->from = &f->states[a];
		t->to = &f->states[b];
		if (a == b) {
			return flow_fail(err, errlen, path, t->line, OCOP_EINPUT,
			    "transition '%s -> %s' does not change the state", raw->from, raw->to);
		}
		if (t->from->terminal) {
			return flow_fail(err, errlen, path, t->line, OCOP_EINPUT,
			    "transition leaves terminal state '%s'", raw->from);
		}
		if (t->kind == OCP_FLOW_FORWARD && t->to->rank <= t->from->rank) {
			return flow_fail(err, errlen, path, t->line, OCOP_EINPUT,
			    "forward transition '%s -> %s' must go to a higher rank (%s is %d, %s "
			    "is %d); a move back is a 'reopen'",
			    raw->from, raw->to, raw->from, t->from->rank, raw->to, t->to->rank);
		}
		if (t->kind == OCP_FLOW_REOPEN && t->to->rank >= t->from->rank) {
			return flow_fail(err, errlen, path, t->line, OCOP_EINPUT,
			    "reopen transition '%s -> %s' must go to a lower rank (%s is %d, %s is "
			    "%d)",
			    raw->from, raw->to, raw->from, t->from->rank, raw->to, t->to->rank);
		}
		for (k = 0; k < i; k++) {
			if (f->trans[k].from == t->from && f->trans[k].to == t->to) {
				return flow_fail(err, errlen, path, t->line, OCOP_EINPUT,
				    "duplicate transition '%s -> %s' (first at line %d)", raw->from,
				    raw->to, f->trans[k].line);
			}
		}
	}
	return OCOP_OK;
}

/* Every non-terminal state can be left, and every state can be reached from the initial one. */
static int
flow_check_graph(ocp_flow *f, const char *path, char *err, size_t errlen)
{
	bool *seen;
	size_t *queue;
	size_t head = 0;
	size_t tail = 0;
	size_t i;
	size_t k;
	int rv = OCOP_OK;

	for (i = 0; i < f->nstates; i++) {
		const ocp_state *st = &f->states[i];

		if (st->terminal) {
			continue;
		}
		for (k = 0; k < f->ntrans; k++) {
			if (f->trans[k].from == st) {
				break;
			}
		}
		if (k == f->ntrans) {
			return flow_fail(err, errlen, path, st->line, OCOP_EINPUT,
			    "state '%s' is not terminal but no transition leaves it", st->name);
		}
	}
	seen = com_calloc(f->nstates, sizeof(*seen));
	queue = com_calloc(f->nstates, sizeof(*queue));
	if (seen == NULL || queue == NULL) {
		rv = OCOP_ENOMEM;
		goto done;
	}
	i = (size_t)(f->initial - f->states);
	seen[i] = true;
	queue[tail++] = i;
	while (head < tail) {
		const ocp_state *st = &f->states[queue[head++]];

		for (k = 0; k < f->ntrans; k++) {
			size_t to = (size_t)(f->trans[k].to - f->states);

			if (f->trans[k].from == st && !seen[to]) {
				seen[to] = true;
				queue[tail++] = to;
			}
		}
	}
	for (i = 0; i < f->nstates; i++) {
		if (!seen[i]) {
			rv = flow_fail(err, errlen, path, f->states[i].line, OCOP_EINPUT,
			    "state '%s' cannot be reached from the initial state '%s'",
			    f->states[i].name, f->initial->name);
			break;
		}
	}
done:
	com_free(queue);
	com_free(seen);
	return rv;
}

/* Whole-file checks, after every line has been read. */
static int
flow_validate(ocp_flow *f, const char *path, int last_line, char *err, size_t errlen)
{
	size_t i;
	int rv;

	if (f->flow_line == 0) {
		return flow_fail(err, errlen, path, last_line, OCOP_EINPUT,
		    "no 'flow BASIS \"TITLE\"' line in the file");
	}
	if (f->nstates == 0) {
		return flow_fail(err, errlen, path, last_line, OCOP_EINPUT, "no 'state' line in the file");
	}
	if (f->initial_line == 0) {
		return flow_fail(err, errlen, path, last_line, OCOP_EINPUT,
		    "no 'initial STATE' line in the file");
	}
	i = flow_find_state(f, f->initial_name);
	if (i == f->nstates) {
		return flow_fail(err, errlen, path, f->initial_line, OCOP_EINPUT,
		    "unknown initial state '%s'", f->initial_name);
	}
	f->initial = &f->states[i];
	if (f->initial->terminal) {
		return flow_fail(err, errlen, path, f->initial_line, OCOP_EINPUT,
		    "the initial state '%s' is terminal", f->initial_name);
	}
	rv = flow_resolve_moves(f, path, err, errlen);
	if (rv != OCOP_OK) {
		return rv;
	}
	return flow_check_graph(f, path, err, errlen);
}

/* Release the raw names kept only while loading. */
static void
flow_drop_raw(ocp_flow *f)
{
	size_t i;

	if (f->raw == NULL) {
		return;
	}
	for (i = 0; i < f->ntrans; i++) {
		com_free(f->raw[i].from);
		com_free(f->raw[i].to);
	}
	com_free(f->raw);
	f->raw = NULL;
}

/* ===== Loading ===== */

int
ocp_flow_load_file(ocp_flow **out, const char *path, char *err, size_t errlen)
{
	ocp_flow *f;
	com_buf b;
	int last_line = 1;
	int rv;

	*out = NULL;
	if (err != NULL && errlen > 0) {
		err[0] = '\0';
	}
	if (path == NULL) {
		return flow_msg(err, errlen, OCOP_EINVAL, "no workflow file given");
	}
	com_buf_init(&b);
	f = com_calloc(1, sizeof(*f));
	if (f == NULL) {
		return flow_msg(err, errlen, OCOP_ENOMEM, "%s: out of memory", path);
	}
	rv = flow_slurp(path, &b, err, errlen);
	if (rv != OCOP_OK) {
		goto fail;
	}
	rv = flow_parse(f, (const char *)b.data, b.len, path, &last_line, err, errlen);
	if (rv != OCOP_OK) {
		goto fail;
	}
	rv = flow_validate(f, path, last_line, err, errlen);
	if (rv != OCOP_OK) {
		goto fail;
	}
	flow_drop_raw(f);
	com_buf_fini(&b);
	*out = f;
	return OCOP_OK;
fail:
	if (rv == OCOP_ENOMEM) {
		flow_msg(err, errlen, rv, "%s: out of memory", path);
	}
	com_buf_fini(&b);
	ocp_flow_free(f);
	return rv;
}

int
ocp_flow_load_basis(ocp_flow **out, const char *data_dir, const char *basis, char *err,
    size_t errlen)
{
	com_buf path;
	ocp_flow *f = NULL;
	int rv;

	*out = NULL;
	if (basis == NULL) {
		basis = OCP_FLOW_DEFAULT_BASIS;
	}
	if (data_dir == NULL) {
		return flow_msg(err, errlen, OCOP_EINVAL, "no data directory given");
	}
	if (!flow_is_basis(basis)) {
		return flow_msg(err, errlen, OCOP_EINVAL,
		    "bad legal basis '%s' (expected a name such as '%s')", basis,
		    OCP_FLOW_DEFAULT_BASIS);
	}
	com_buf_init(&path);
	rv = com_buf_printf(&path, "%s/workflow/%s.flow", data_dir, basis);
	if (rv != OCOP_OK) {
		com_buf_fini(&path);
		return flow_msg(err, errlen, rv, "out of memory");
	}
	rv = ocp_flow_load_file(&f, (const char *)path.data, err, errlen);
	if (rv == OCOP_OK && strcmp(f->basis, basis) != 0) {
		rv = flow_fail(err, errlen, (const char *)path.data, f->flow_line, OCOP_EINPUT,
		    "the file declares basis '%s' but was loaded as '%s'", f->basis, basis);
		ocp_flow_free(f);
		f = NULL;
	}
	com_buf_fini(&path);
	*out = f;
	return rv;
}

void
ocp_flow_free(ocp_flow *flow)
{
	size_t i;
	size_t k;

	if (flow == NULL) {
		return;
	}
	flow_drop_raw(flow);
	for (i = 0; i < flow->ntrans; i++) {
		for (k = 0; k < flow->trans[i].nrequires; k++) {
			com_free(flow->trans[i].requires[k]);
		}
		com_free(flow->trans[i].requires);
	}
	com_free(flow->trans);
	for (i = 0; i < flow->nstates; i++) {
		com_free(flow->states[i].name);
		com_free(flow->states[i].label);
	}
	com_free(flow->states);
	com_free(flow->initial_name);
	com_free(flow->title);
	com_free(flow->basis);
	com_free(flow);
}

/* ===== Queries ===== */

const char *
ocp_flow_basis(const ocp_flow *flow)
{
	return flow->basis;
}

const char *
ocp_flow_title(const ocp_flow *flow)
{
	return flow->title;
}

const char *
ocp_flow_initial(const ocp_flow *flow)
{
	return flow->initial->name;
}

const ocp_state *
ocp_flow_state(const ocp_flow *flow, const char *name)
{
	size_t i;

	if (name == NULL) {
		return NULL;
	}
	i = flow_find_state(flow, name);
	return i < flow->nstates ? &flow->states[i] : NULL;
}

size_t
ocp_flow_state_count(const ocp_flow *flow)
{
	return flow->nstates;
}

const ocp_state *
ocp_flow_state_at(const ocp_flow *flow, size_t i)
{
	return i < flow->nstates ? &flow->states[i] : NULL;
}

size_t
ocp_flow_transition_count(const ocp_flow *flow)
{
	return flow->ntrans;
}

const ocp_transition *
ocp_flow_transition_at(const ocp_flow *flow, size_t i)
{
	return i < flow->ntrans ? &flow->trans[i] : NULL;
}

int
ocp_flow_rank(const ocp_flow *flow, const char *state)
{
	const ocp_state *st = ocp_flow_state(flow, state);

	return st != NULL ? st->rank : -1;
}

int
ocp_flow_check(const ocp_flow *flow, const char *from, const char *to, int role,
    const ocp_transition **t, char *err, size_t errlen)
{
	const ocp_state *a = ocp_flow_state(flow, from);
	const ocp_state *b = ocp_flow_state(flow, to);
	char who[96];
	size_t listed = 0;
	size_t i;

	if (t != NULL) {
		*t = NULL;
	}
	if (a == NULL || b == NULL) {
		return flow_msg(err, errlen, OCOP_EINVAL, "unknown state '%s' in workflow %s",
		    a == NULL ? (from != NULL ? from : "(null)") : to != NULL ? to : "(null)",
		    flow->basis);
	}
	if (role < 0 || role >= (int)OCP_ROLE_COUNT_) {
		return flow_msg(err, errlen, OCOP_EINVAL, "unknown role %d", role);
	}
	for (i = 0; i < flow->ntrans; i++) {
		const ocp_transition *m = &flow->trans[i];

		if (m->from != a || m->to != b) {
			continue;
		}
		if ((m->roles & OCP_ROLE_BIT(role)) == 0) {
			return flow_msg(err, errlen, OCOP_EAUTH,
			    "%s cannot make '%s -> %s' in workflow %s; allowed: %s",
			    ocp_role_actor(role), a->name, b->name, flow->basis,
			    ocp_role_list(m->roles, who, sizeof(who)));
		}
		if (t != NULL) {
			*t = m;
		}
		return OCOP_OK;
	}
	if (a->terminal) {
		return flow_msg(err, errlen, OCOP_ESTATE,
		    "cannot move a dossier from '%s' to '%s': '%s' is terminal, no move leaves it",
		    a->name, b->name, a->name);
	}
	flow_msg(err, errlen, OCOP_ESTATE,
	    "cannot move a dossier from '%s' to '%s': allowed next states are ", a->name, b->name);
	for (i = 0; i < flow->ntrans; i++) {
		if (flow->trans[i].from == a) {
			flow_append(err, errlen, "%s'%s'", listed > 0 ? ", " : "",
			    flow->trans[i].to->name);
			listed++;
		}
	}
	return OCOP_ESTATE;
}

int
ocp_flow_wins(const ocp_flow *flow, const char *state_a, int64_t epoch_a, const char *state_b,
    int64_t epoch_b)
{
	int ra;
	int rb;

	/* A reopen is a deliberate act by an authorised tier, so it beats any
	 * forward progress made on the older epoch, however far it got. */
	if (epoch_a != epoch_b) {
		return epoch_a > epoch_b ? 1 : -1;
	}
	ra = ocp_flow_rank(flow, state_a);
	rb = ocp_flow_rank(flow, state_b);
	return (ra > rb) - (ra < rb);
}

size_t
ocp_flow_next(const ocp_flow *flow, const char *from, unsigned role_mask,
    const ocp_transition **out, size_t cap)
{
	const ocp_state *a = ocp_flow_state(flow, from);
	size_t n = 0;
	size_t i;

	if (a == NULL) {
		return 0;
	}
	for (i = 0; i < flow->ntrans; i++) {
		const ocp_transition *m = &flow->trans[i];

		if (m->from != a || (m->roles & role_mask) == 0) {
			continue;
		}
		if (n < cap) {
			out[n] = m;
		}
		n++;
	}
	return n;
}

bool
ocp_transition_requires(const ocp_transition *t, const char *flag)
{
	size_t i;

	if (flag == NULL) {
		return false;
	}
	for (i = 0; i < t->nrequires; i++) {
		if (strcmp(t->requires[i], flag) == 0) {
			return true;
		}
	}
	return false;
}

bool
ocp_transition_bumps_epoch(const ocp_transition *t)
{
	return t->kind == OCP_FLOW_REOPEN;
}

bool
ocp_transition_needs_reason(const ocp_transition *t)
{
	return t->kind == OCP_FLOW_REOPEN || ocp_transition_requires(t, "reason");
}

bool
ocp_flow_candidate(const ocp_flow *flow, const char *status)
{
	const ocp_state *st = status ? ocp_flow_state(flow, status) : NULL;

	return st != NULL && st->candidate;
}

const ocp_state *
ocp_flow_handoff(const ocp_flow *flow, const char *status)
{
	size_t i;

	if (!ocp_flow_candidate(flow, status)) {
		return NULL;
	}
	for (i = 0; i < flow->ntrans; i++) {
		const ocp_transition *t = &flow->trans[i];

		if (t->kind == OCP_FLOW_FORWARD && strcmp(t->from->name, status) == 0 &&
		    ocp_transition_requires(t, "national_dossier")) {
			return t->to;
		}
	}
	return NULL;
}
