/*
 * sheetcsv.c: read `member,criterion,points` CSV into score sheets with libcsv,
 * checking each row against the rubric as it is read so that every error names
 * its line. The choice checks themselves are score.c's (one set of rules); this
 * file adds line numbers, the CSV syntax and the header.
 */
#include "common/ocop/sheetcsv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <csv.h>
#include <utf8proc.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"

/* A sheet file larger than this is refused (a council of 50 on 40 criteria is ~60 KiB). */
#define SHEETCSV_MAX_BYTES (16u * 1024u * 1024u)
/* Fields kept per row; a row with more is reported, not stored. */
#define SHEETCSV_FIELDS 3
/* Longest field accepted (labels and codes are short). */
#define SHEETCSV_MAX_FIELD 1024

/* One member's rows. */
typedef struct csv_member {
	char *label;         /* owned */
	ocp_choice *choices; /* owned array; each code owned (allocated here, freed here) */
	int *lines;          /* owned: CSV line of each choice */
	size_t n;            /* choices in use */
	size_t cap;          /* choices allocated */
	int first_line;      /* line of the member's first row */
} csv_member;

struct ocp_sheetcsv {
	csv_member *members; /* owned array, in order of first appearance */
	size_t n_members;    /* members in use */
	size_t cap_members;  /* members allocated */
	ocp_sheet *sheets;   /* owned array of n_members views, built at the end */
};

/* Parse state shared with the libcsv callbacks. */
typedef struct csv_ctx {
	ocp_sheetcsv *s;                  /* result being built */
	const ocp_rubric *r;              /* borrowed */
	const char *name;                 /* file name for messages; borrowed */
	char *err;                        /* message buffer; borrowed */
	size_t errlen;                    /* its size */
	int rv;                           /* first error; callbacks do nothing once set */
	int line;                         /* current physical line, from 1 */
	int row_line;                     /* line where the current row began */
	bool in_row;                      /* a row has begun and not yet ended */
	bool header_done;                 /* the header row was read */
	size_t rows;                      /* data rows read */
	size_t nfields;                   /* fields seen in the current row */
	char *fields[SHEETCSV_FIELDS];    /* owned copies of the first fields */
	size_t flen[SHEETCSV_FIELDS];     /* their lengths */
	bool bad_field;                   /* a field was too long or held a NUL byte */
} csv_ctx;

static void
csv_fail(csv_ctx *x, int rv, int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Record the first error as "NAME:LINE: reason". */
static void
csv_fail(csv_ctx *x, int rv, int line, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	if (x->rv != OCOP_OK) {
		return;
	}
	x->rv = rv;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (x->err != NULL && x->errlen > 0) {
		if (rv == OCOP_ENOMEM) {
			snprintf(x->err, x->errlen, "%s: out of memory", x->name);
		} else {
			snprintf(x->err, x->errlen, "%s:%d: %s", x->name, line, reason);
		}
	}
}

static void
ctx_clear_fields(csv_ctx *x)
{
	size_t i;

	for (i = 0; i < SHEETCSV_FIELDS; i++) {
		com_free(x->fields[i]);
		x->fields[i] = NULL;
		x->flen[i] = 0;
	}
	x->nfields = 0;
	x->bad_field = false;
}

/* Is s[0..len) valid UTF-8 (control characters aside)? */
static bool
utf8_valid(const char *s, size_t len)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;
	size_t i = 0;

	while (i < len) {
		n = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0) {
			return false;
		}
		i += (size_t)n;
	}
	return true;
}

static bool
utf8_ok(const char *s, size_t len)
{
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;
	size_t i = 0;

	while (i < len) {
		n = utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)(len - i), &cp);
		if (n <= 0 || cp < 0x20 || cp == 0x7f) {
			return false;
		}
		i += (size_t)n;
	}
	return true;
}

/* ===== Rows (libcsv callbacks) ===== */

/* libcsv field callback. */
static void
csv_on_field(void *data, size_t len, void *arg)
{
	csv_ctx *x = arg;
	size_t i = x->nfields;

	if (x->rv != OCOP_OK) {
		return;
	}
	x->nfields++;
	if (i >= SHEETCSV_FIELDS) {
		return;
	}
	if (len > SHEETCSV_MAX_FIELD || (len > 0 && memchr(data, '\0', len) != NULL)) {
		x->bad_field = true;
		return;
	}
	x->fields[i] = com_strndup(len ? (const char *)data : "", len);
	if (x->fields[i] == NULL) {
		csv_fail(x, OCOP_ENOMEM, x->row_line, "out of memory");
		return;
	}
	x->flen[i] = len;
}

static csv_member *
csv_member_get(csv_ctx *x, const char *label)
{
	ocp_sheetcsv *s = x->s;
	csv_member *m;
	size_t i;

	for (i = 0; i < s->n_members; i++) {
		if (strcmp(s->members[i].label, label) == 0) {
			return &s->members[i];
		}
	}
	if (s->n_members == s->cap_members) {
		size_t cap = s->cap_members ? s->cap_members * 2 : 8;
		csv_member *nm = com_realloc(s->members, cap * sizeof(*nm));
		if (nm == NULL) {
			return NULL;
		}
		s->members = nm;
		s->cap_members = cap;
	}
	m = &s->members[s->n_members];
	memset(m, 0, sizeof(*m));
	m->label = com_strdup(label);
	if (m->label == NULL) {
		return NULL;
	}
	m->first_line = x->row_line;
	s->n_members++;
	return m;
}

/* Append a checked choice to a member; the code is copied. */
static int
csv_member_add(csv_member *m, const ocp_choice *ch, int line)
{
	char *code;

	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 32;
		ocp_choice *nc = com_realloc(m->choices, cap * sizeof(*nc));
		int *nl;
		if (nc == NULL) {
			return OCOP_ENOMEM;
		}
		m->choices = nc;
		nl = com_realloc(m->lines, cap * sizeof(*nl));
		if (nl == NULL) {
			return OCOP_ENOMEM; /* choices grew, lines did not: cap stays, both still valid */
		}
		m->lines = nl;
		m->cap = cap;
	}
	code = com_strdup(ch->code);
	if (code == NULL) {
		return OCOP_ENOMEM;
	}
	m->choices[m->n] = *ch;
	m->choices[m->n].code = code;
	m->lines[m->n] = line;
	m->n++;
	return OCOP_OK;
}

static bool
is_ko(const char *s)
{
	return (s[0] == 'K' || s[0] == 'k') && (s[1] == 'O' || s[1] == 'o') && s[2] == '\0';
}

/* One data row: member, criterion, points. */
static void
csv_data_row(csv_ctx *x)
{
	char reason[400];
	ocp_choice ch;
	csv_member *m;
	const char *member = x->fields[0];
	const char *code = x->fields[1];
	const char *pts = x->fields[2];
	size_t i;

	if (x->nfields != SHEETCSV_FIELDS) {
		csv_fail(x, OCOP_EINPUT, x->row_line,
		    "malformed line: expected 3 fields (member,criterion,points), found %zu",
		    x->nfields);
		return;
	}
	if (!x->bad_field && (!utf8_valid(member, x->flen[0]) || !utf8_valid(code, x->flen[1]) ||
				 !utf8_valid(pts, x->flen[2]))) {
		csv_fail(x, OCOP_EINPUT, x->row_line,
		    "not valid UTF-8 text (a spreadsheet saved it in another encoding, such as "
		    "Windows-1258); save the file again as \"CSV UTF-8 (Comma delimited)\"");
		return;
	}
	if (x->bad_field || !utf8_ok(member, x->flen[0]) || !utf8_ok(code, x->flen[1]) ||
	    !utf8_ok(pts, x->flen[2])) {
		csv_fail(x, OCOP_EINPUT, x->row_line,
		    "malformed line: a field is not valid UTF-8 text, holds a control "
		    "character or is too long");
		return;
	}
	if (member[0] == '\0') {
		csv_fail(x, OCOP_EINPUT, x->row_line, "malformed line: the member is empty");
		return;
	}
	if (code[0] == '\0') {
		csv_fail(x, OCOP_EINPUT, x->row_line, "malformed line: the criterion is empty");
		return;
	}
	memset(&ch, 0, sizeof(ch));
	ch.code = code;
	if (is_ko(pts)) {
		ch.ko = true;
	} else if (ocp_points_parse(pts, x->flen[2], &ch.points) != OCOP_OK) {
		csv_fail(x, OCOP_EINPUT, x->row_line,
		    "malformed line: points '%s' is neither a number (up to 2 decimals) nor KO", pts);
		return;
	}
	if (ocp_score_check_choice(x->r, member, &ch, NULL, reason, sizeof(reason)) != OCOP_OK) {
		csv_fail(x, OCOP_EINPUT, x->row_line, "%s", reason);
		return;
	}
	m = csv_member_get(x, member);
	if (m == NULL) {
		csv_fail(x, OCOP_ENOMEM, x->row_line, "out of memory");
		return;
	}
	for (i = 0; i < m->n; i++) {
		if (strcmp(m->choices[i].code, code) == 0) {
			csv_fail(x, OCOP_EINPUT, x->row_line,
			    "member '%s', criterion '%s': duplicate row (first on line %d)", member,
			    code, m->lines[i]);
			return;
		}
	}
	if (csv_member_add(m, &ch, x->row_line) != OCOP_OK) {
		csv_fail(x, OCOP_ENOMEM, x->row_line, "out of memory");
		return;
	}
	x->rows++;
}

/* libcsv row callback. */
static void
csv_on_row(int c, void *arg)
{
	csv_ctx *x = arg;

	(void)c;
	x->in_row = false;
	if (x->rv != OCOP_OK) {
		ctx_clear_fields(x);
		return;
	}
	if (x->nfields == 1 && x->flen[0] == 0 && !x->bad_field) {
		ctx_clear_fields(x); /* a line of blanks */
		return;
	}
	if (!x->header_done) {
		if (x->nfields != SHEETCSV_FIELDS || x->bad_field ||
		    strcmp(x->fields[0], "member") != 0 || strcmp(x->fields[1], "criterion") != 0 ||
		    strcmp(x->fields[2], "points") != 0) {
			csv_fail(x, OCOP_EINPUT, x->row_line,
			    "the header must be exactly member,criterion,points");
		}
		x->header_done = true;
	} else {
		csv_data_row(x);
	}
	ctx_clear_fields(x);
}

/* After all rows: build the sheet views and run the whole-sheet checks. */
static void
csv_finish(csv_ctx *x)
{
	ocp_sheetcsv *s = x->s;
	ocp_score_fault where;
	char reason[400];
	size_t i;
	int rv;
	int line;

	if (!x->header_done) {
		csv_fail(x, OCOP_EINPUT, 1, "empty file: expected the header member,criterion,points");
		return;
	}
	if (x->rows == 0) {
		csv_fail(x, OCOP_EINPUT, x->line, "no score rows after the header");
		return;
	}
	s->sheets = com_calloc(s->n_members, sizeof(*s->sheets));
	if (s->sheets == NULL) {
		csv_fail(x, OCOP_ENOMEM, 0, "out of memory");
		return;
	}
	for (i = 0; i < s->n_members; i++) {
		s->sheets[i].member = s->members[i].label;
		s->sheets[i].choices = s->members[i].choices;
		s->sheets[i].n_choices = s->members[i].n;
	}
	rv = ocp_score_check(x->r, s->sheets, s->n_members, &where, reason, sizeof(reason));
	if (rv != OCOP_OK) {
		line = 1;
		if (where.sheet != OCP_NONE) {
			const csv_member *m = &s->members[where.sheet];
			line = where.choice != OCP_NONE ? m->lines[where.choice] : m->first_line;
		}
		csv_fail(x, rv, line, "%s", reason);
	}
}

/* ===== Constructors, destructor, accessors ===== */

void
ocp_sheetcsv_free(ocp_sheetcsv *s)
{
	size_t i;
	size_t k;

	if (s == NULL) {
		return;
	}
	com_free(s->sheets);
	for (i = 0; i < s->n_members; i++) {
		csv_member *m = &s->members[i];
		for (k = 0; k < m->n; k++) {
			com_free((void *)(uintptr_t)m->choices[k].code); /* allocated in csv_member_add */
		}
		com_free(m->lines);
		com_free(m->choices);
		com_free(m->label);
	}
	com_free(s->members);
	com_free(s);
}

int
ocp_sheetcsv_parse(ocp_sheetcsv **out, const ocp_rubric *r, const char *name, const char *text,
    size_t len, char *err, size_t errlen)
{
	struct csv_parser p;
	csv_ctx x;
	size_t pos = 0;
	int rc;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.r = r;
	x.name = name ? name : "<sheets>";
	x.err = err;
	x.errlen = errlen;
	x.line = 1;
	x.row_line = 1;
	if (ocp_rubric_depth(r) != OCP_DEPTH_CRITERIA) {
		ocp_score_check(r, NULL, 0, NULL, err, errlen); /* words the refusal */
		return OCOP_ERUBRIC;
	}
	x.s = com_calloc(1, sizeof(*x.s));
	if (x.s == NULL) {
		csv_fail(&x, OCOP_ENOMEM, 0, "out of memory");
		return OCOP_ENOMEM;
	}
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0) {
		ocp_sheetcsv_free(x.s);
		csv_fail(&x, OCOP_ENOMEM, 0, "out of memory");
		return OCOP_ENOMEM;
	}
	csv_set_realloc_func(&p, com_realloc);
	csv_set_free_func(&p, com_free);
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		pos = 3;
	}
	/*
	 * One byte at a time, so the line where each row begins is known when its
	 * callback runs (libcsv reports rows, not lines; quoted fields may hold
	 * newlines, and blank lines produce no row).
	 */
	for (; pos < len && x.rv == OCOP_OK; pos++) {
		char b = text[pos];
		if (!x.in_row && b != ' ' && b != '\t' && b != '\r' && b != '\n') {
			x.in_row = true;
			x.row_line = x.line;
		}
		if (csv_parse(&p, &b, 1, csv_on_field, csv_on_row, &x) != 1) {
			rc = csv_error(&p);
			if (rc == CSV_ENOMEM) {
				csv_fail(&x, OCOP_ENOMEM, x.line, "out of memory");
			} else {
				csv_fail(&x, OCOP_EINPUT, x.line, "malformed line: %s", csv_strerror(rc));
			}
		}
		if (b == '\n') {
			x.line++;
		}
	}
	if (x.rv == OCOP_OK && csv_fini(&p, csv_on_field, csv_on_row, &x) != 0) {
		csv_fail(&x, OCOP_EINPUT, x.row_line, "malformed line: a quoted field is not closed");
	}
	csv_free(&p);
	if (x.rv == OCOP_OK) {
		/* The line count of a file that ends with a newline is one past its last line. */
		if (len > 0 && text[len - 1] == '\n') {
			x.line--;
		}
		csv_finish(&x);
	}
	ctx_clear_fields(&x);
	if (x.rv != OCOP_OK) {
		ocp_sheetcsv_free(x.s);
		return x.rv;
	}
	*out = x.s;
	return OCOP_OK;
}

int
ocp_sheetcsv_load_file(ocp_sheetcsv **out, const ocp_rubric *r, const char *path, char *err,
    size_t errlen)
{
	com_buf b;
	char chunk[8192];
	FILE *f;
	size_t n;
	int rv = OCOP_OK;

	*out = NULL;
	f = fopen(path, "rb");
	if (f == NULL) {
		int e = errno;
		if (err != NULL && errlen > 0) {
			snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
		}
		return e == ENOENT || e == ENOTDIR ? OCOP_ENOENT : OCOP_EIO;
	}
	com_buf_init(&b);
	while (rv == OCOP_OK && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > SHEETCSV_MAX_BYTES) {
			rv = OCOP_ETOOBIG;
		} else if (com_buf_append(&b, chunk, n) != OCOP_OK) {
			rv = OCOP_ENOMEM;
		}
	}
	if (rv == OCOP_OK && ferror(f)) {
		rv = OCOP_EIO;
	}
	fclose(f);
	if (rv != OCOP_OK && err != NULL && errlen > 0) {
		snprintf(err, errlen, "%s: %s", path,
		    rv == OCOP_ETOOBIG ? "larger than 16 MiB" : ocop_strerror(rv));
	}
	if (rv == OCOP_OK) {
		rv = ocp_sheetcsv_parse(out, r, path, b.len ? (const char *)b.data : "", b.len, err,
		    errlen);
	}
	com_buf_fini(&b);
	return rv;
}

const ocp_sheet *
ocp_sheetcsv_sheets(const ocp_sheetcsv *s, size_t *n)
{
	*n = s->n_members;
	return s->sheets;
}

int
ocp_sheetcsv_line(const ocp_sheetcsv *s, size_t sheet, size_t choice)
{
	return s->members[sheet].lines[choice];
}
