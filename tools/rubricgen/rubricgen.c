/*
 * rubricgen.c: generates the 26 rubric files of QĐ 26/2026 (data/rubrics/
 * qd26-2026/NN.rubric) from the decision's text (data/sources/
 * qd26-2026-full-text.txt, Phụ lục II), or checks that the files in the tree
 * are exactly what the text gives (--check), which is how CI proves the data
 * matches the source.
 *
 * It reads the table rows as printed ("| criterion or option | points |") and
 * applies a small, listed set of reading rules and slip corrections (the
 * `slips` table below); each one it applies is written into the set's file as
 * a comment, so nothing is patched silently. It does not validate sums beyond
 * the three-level codes of sets 11 and 13 (the rubric loader does the rest,
 * and the test loads every generated file). Usage: see usage() or tools/README.md.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define SETS 26

/* ===== Slips: rows of the transcription read differently from how they are printed ===== */

/*
 * A slip names the set, the criterion code, the start of the option label (or
 * NULL for the criterion row itself), what is printed and how it is read, with
 * the reason. Every entry must be used exactly once, or the generator fails:
 * a source that changes under the table cannot go unnoticed.
 */
typedef struct slip {
	int set;            /* 1..26 */
	const char *code;   /* criterion or group code ("7", "6.1.1"), or "A" for part A */
	const char *label;  /* option label prefix, NULL for the code row */
	const char *printed; /* points cell as printed (spaces kept) */
	const char *read;   /* how it is read */
	const char *why;    /* the reason, written into the file */
} slip;

static const slip slips[] = {
    {4, "7", "Có trên 2 chỉ tiêu", "13", "3",
	"the criterion's maximum is 3 and the other food sets print 3 for this option"},
    {11, "6.1.1", "Có rất ít tạp chất", "11", "1",
	"the criterion's maximum is 2 and the other food sets print 1 for this option"},
    {4, "1.2", "Không được cấp giấy chứng nhận chất lượng", "", "0",
	"the points cell is empty; every other set prints 0 for this option"},
    {7, "1.2", "Không được cấp giấy chứng nhận chất lượng", "", "0",
	"the points cell is empty; every other set prints 0 for this option"},
    {10, "1.2", "Không được cấp giấy chứng nhận chất lượng", "", "0",
	"the points cell is empty; every other set prints 0 for this option"},
    {11, "1.2", "Không được cấp giấy chứng nhận chất lượng", "", "0",
	"the points cell is empty; every other set prints 0 for this option"},
    {23, "9", NULL, "4 1", "4",
	"part C sums to 35 only with 4 (14 + 8 + 4 + 4 + 5); the stray 1 is a transcription artefact"},
    {7, "3.1", "Công ty TNHH", "1", "1",
	"kept as printed, but the other 25 sets print 2 for this option (a lower option breaks no sum); "
	"confirm against the gazette"},
    {26, "A", NULL, "(35 Điểm)", "40",
	"the heading says 35 while the points cell and the groups (14 + 12 + 14) give 40, and A + B + C = 100 needs 40"},
};
#define NSLIPS (sizeof(slips) / sizeof(slips[0]))

/* ===== Small helpers ===== */

static void
die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("rubricgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL) {
		die("out of memory");
	}
	return p;
}

static char *
xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = xmalloc(n);

	memcpy(p, s, n);
	return p;
}

/* A growable string. */
typedef struct sbuf {
	char *p;    /* owned, NUL-terminated */
	size_t len; /* bytes before the NUL */
	size_t cap; /* allocated bytes */
} sbuf;

static void
sb_addn(sbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;
		char *np;

		while (cap < b->len + n + 1) {
			cap *= 2;
		}
		np = realloc(b->p, cap);
		if (np == NULL) {
			die("out of memory");
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
sb_add(sbuf *b, const char *s)
{
	sb_addn(b, s, strlen(s));
}

static void
sb_printf(sbuf *b, const char *fmt, ...)
{
	char tmp[8192];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		die("line too long while writing");
	}
	sb_addn(b, tmp, (size_t)n);
}

static bool
starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/*
 * Is the token s[0..n) a piece of a syllable the transcription split off? Lone
 * ASCII letters are (Vietnamese has no one-consonant words, and the lone vowels
 * of these tables are all split-off pieces: "hó a", "ĐÁ O"), and so are the
 * few accented pieces found ("tu ệ", "tr ị", "TH Ị", "ch í", "gi á", "K Ỳ").
 * Real one-letter words ("ở", "ý", "Á" in "Nam Á") are not in the list.
 */
static bool
piece(const char *s, size_t n)
{
	static const char *accented[] = {"ệ", "ị", "Ị", "í", "á", "Ỳ"};
	size_t i;

	if (n == 1) {
		return (s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z');
	}
	for (i = 0; i < sizeof(accented) / sizeof(accented[0]); i++) {
		if (strlen(accented[i]) == n && memcmp(accented[i], s, n) == 0) {
			return true;
		}
	}
	return false;
}

/* A lone ASCII consonant: the start of a syllable when a piece follows it ("K Ỳ"). */
static bool
consonant(const char *s, size_t n)
{
	return n == 1 && strchr("bcdghklmnpqrstvxBCDGHKLMNPQRSTVX", s[0]) != NULL;
}

/*
 * Collapse runs of blanks to one space, trim, and rejoin syllables the
 * transcription split ("SẢN PHẨ M" -> "SẢN PHẨM", "ĐỊNH K Ỳ" -> "ĐỊNH KỲ"): a
 * piece (see piece()) is glued to the word before it, or a lone consonant to
 * the piece after it; never the part letter after "Phần"/"PHẦN", a case letter
 * ("a.") or the option bullet "o" at the start. Returns a new string; *joins
 * counts the syllables rejoined.
 */
static char *
normalise(const char *in, int *joins)
{
	sbuf out = {0};
	const char *tok[1024];
	size_t len[1024];
	size_t nt = 0, i;
	const char *p = in;

	while (*p) {
		while (*p == ' ' || *p == '\t') {
			p++;
		}
		if (!*p) {
			break;
		}
		if (nt == sizeof(tok) / sizeof(tok[0])) {
			die("a row with more than %zu words", nt);
		}
		tok[nt] = p;
		while (*p && *p != ' ' && *p != '\t') {
			p++;
		}
		len[nt] = (size_t)(p - tok[nt]);
		nt++;
	}
	for (i = 0; i < nt; i++) {
		bool glue = false;

		if (i > 0 && piece(tok[i], len[i])) {
			bool after_part = (len[i - 1] == strlen("Phần") && memcmp(tok[i - 1], "Phần", len[i - 1]) == 0) ||
			    (len[i - 1] == strlen("PHẦN") && memcmp(tok[i - 1], "PHẦN", len[i - 1]) == 0);
			bool case_letter = i + 1 < nt && tok[i + 1][0] == '.';
			bool prev_lone = len[i - 1] == 1 && !consonant(tok[i - 1], len[i - 1]);
			bool prev_digit = tok[i - 1][0] >= '0' && tok[i - 1][0] <= '9';

			glue = !after_part && !case_letter && !prev_lone && !prev_digit;
			if (glue && consonant(tok[i - 1], len[i - 1]) == false && i + 1 < nt && consonant(tok[i], len[i]) &&
			    piece(tok[i + 1], len[i + 1]) && !consonant(tok[i + 1], len[i + 1])) {
				glue = false; /* "ĐỊNH K Ỳ": K starts the next syllable */
			}
		}
		if (glue) {
			if (joins) {
				(*joins)++;
			}
		} else if (out.len > 0) {
			sb_add(&out, " ");
		}
		sb_addn(&out, tok[i], len[i]);
	}
	if (out.p == NULL) {
		sb_add(&out, "");
	}
	return out.p;
}

/* ===== Rows ===== */

typedef enum row_kind {
	ROW_PART,
	ROW_CODE,
	ROW_OPTION,
	ROW_NOTE,
	ROW_CASE,
	ROW_CONT,
	ROW_TOTAL,
	ROW_SKIP
} row_kind;

/* One classified table row of a set. */
typedef struct row {
	row_kind kind;  /* what the row is */
	int line;       /* line in the source */
	char *text;     /* normalised text: name, label or note (owned) */
	char *code;     /* ROW_CODE: "1", "1.1", "6.1.1"; ROW_PART: "A" (owned) */
	int depth;      /* ROW_CODE: number of code levels */
	char *points;   /* the points cell as printed, trimmed (owned, may be "") */
	int stars;      /* ROW_OPTION: 0, 3, 4 or 5 */
	char *heading;  /* ROW_PART: "(NN Điểm)" as printed, or NULL */
} row;

/* One product set as read from the source. */
typedef struct set {
	int no;             /* 1..26 */
	char *title;        /* from the Phụ lục II index table */
	char *kind;         /* "(Sản phẩm: ... Nhóm: ...)" without the brackets */
	char *disqualify;   /* "Hồ sơ bị loại khi ..." or NULL */
	int first, last;    /* source lines */
	row *rows;          /* owned array */
	size_t n_rows;      /* rows used */
	int joins;          /* syllables rejoined */
} set;

/* Split a table line into its first and last cells (the text and the points). */
static bool
split_cells(const char *line, char **text, char **points)
{
	const char *a, *b, *end;
	size_t n = strlen(line);

	if (n < 2 || line[0] != '|') {
		return false;
	}
	end = line + n;
	while (end > line && (end[-1] == ' ' || end[-1] == '\r')) {
		end--;
	}
	if (end[-1] != '|') {
		return false;
	}
	end--; /* at the closing '|' */
	a = line + 1;
	b = end;
	/* The last cell is after the last '|' before `end`, if any. */
	{
		const char *q = end;
		const char *sep = NULL;

		while (q > a) {
			q--;
			if (*q == '|') {
				sep = q;
				break;
			}
		}
		if (sep == NULL) { /* a one-cell row */
			char *t = xmalloc((size_t)(b - a) + 1);

			memcpy(t, a, (size_t)(b - a));
			t[b - a] = '\0';
			*text = t;
			*points = xstrdup("");
			return true;
		}
		{
			char *t = xmalloc((size_t)(sep - a) + 1);
			char *pp = xmalloc((size_t)(end - sep));
			const char *s = sep + 1;
			size_t k = 0;

			memcpy(t, a, (size_t)(sep - a));
			t[sep - a] = '\0';
			while (s < end && *s == ' ') {
				s++;
			}
			while (s < end) {
				pp[k++] = *s++;
			}
			while (k > 0 && pp[k - 1] == ' ') {
				k--;
			}
			pp[k] = '\0';
			*text = t;
			*points = pp;
		}
	}
	return true;
}

/*
 * Parse a leading code ("1.", "1.1.", "6.2 ", "1 . ") from s. On success
 * returns the text after it and fills code (dots only) and depth.
 */
static const char *
parse_code(const char *s, char *code, size_t cap, int *depth)
{
	const char *p = s;
	size_t k = 0;
	int d = 0;

	for (;;) {
		const char *q;

		if (*p < '0' || *p > '9') {
			return NULL;
		}
		if (d > 0) {
			if (k + 1 >= cap) {
				return NULL;
			}
			code[k++] = '.';
		}
		while (*p >= '0' && *p <= '9') {
			if (k + 1 >= cap) {
				return NULL;
			}
			code[k++] = *p++;
		}
		d++;
		q = p;
		while (*q == ' ') {
			q++;
		}
		if (*q == '.') {
			q++;
			while (*q == ' ') {
				q++;
			}
			p = q;
			if (*q >= '0' && *q <= '9') {
				continue; /* "1.1": another level */
			}
			break; /* "1.1. Name", "1 . NAME" */
		}
		if (q > p && *q != '\0') {
			p = q; /* "6.2 Nước pha": no final dot */
			break;
		}
		return NULL;
	}
	code[k] = '\0';
	*depth = d;
	return p;
}

/* Count and strip a trailing star mark ("***", "* * * *") from s in place. */
static int
strip_stars(char *s)
{
	size_t n = strlen(s);
	int stars = 0;
	size_t cut = n;

	while (cut > 0 && (s[cut - 1] == '*' || s[cut - 1] == ' ')) {
		if (s[cut - 1] == '*') {
			stars++;
		}
		cut--;
	}
	s[cut] = '\0';
	return stars;
}

/* Classify one table row. */
static void
classify(row *r, const char *rawtext, const char *points, int line, int *joins)
{
	char code[32];
	int depth = 0;
	const char *rest;
	char *t = normalise(rawtext, joins);

	memset(r, 0, sizeof(*r));
	r->line = line;
	r->points = xstrdup(points);
	if (t[0] == '\0') {
		r->kind = ROW_SKIP;
		r->text = t;
		return;
	}
	if (starts(t, "Các tiêu chí") || starts(t, "Các tiêu ch")) {
		r->kind = ROW_SKIP;
		r->text = t;
		return;
	}
	if (starts(t, "TỔNG CỘNG")) {
		r->kind = ROW_TOTAL;
		r->text = t;
		return;
	}
	if (starts(t, "Phần ") || starts(t, "PHẦN ")) {
		const char *p = t + strlen("Phần ");
		const char *h, *he;
		char *name;

		r->kind = ROW_PART;
		r->code = xmalloc(2);
		r->code[0] = *p;
		r->code[1] = '\0';
		p++;
		while (*p == ' ' || *p == ':') {
			p++;
		}
		name = xstrdup(p);
		h = strstr(name, " (");
		if (h != NULL && (he = strstr(h, "Điểm)")) != NULL) {
			r->heading = xmalloc((size_t)(he + strlen("Điểm)") - h));
			memcpy(r->heading, h + 1, (size_t)(he + strlen("Điểm)") - h - 1));
			r->heading[he + strlen("Điểm)") - h - 1] = '\0';
			name[h - name] = '\0';
		}
		r->text = name;
		free(t);
		return;
	}
	if (starts(t, "□ ") || starts(t, "o ")) {
		const char *gc;

		r->kind = ROW_OPTION;
		r->text = xstrdup(t + (t[0] == 'o' ? 2 : strlen("□ ")));
		free(t);
		/* A note printed in the option's cell ("...***** Ghi chú: ...") stays with the label for now. */
		gc = strstr(r->text, " Ghi chú:");
		if (gc == NULL) {
			r->stars = strip_stars(r->text);
		}
		return;
	}
	if ((rest = parse_code(t, code, sizeof(code), &depth)) != NULL && r->points[0] != '\0') {
		r->kind = ROW_CODE;
		r->code = xstrdup(code);
		r->depth = depth;
		r->text = xstrdup(rest);
		free(t);
		return;
	}
	if (starts(t, "Lựa chọn một trong") || starts(t, "a. Trường hợp") || starts(t, "b. Trường hợp")) {
		r->kind = ROW_CASE;
		r->text = t;
		return;
	}
	if (starts(t, "Ghi chú") || starts(t, "Chú ý") || starts(t, "Yêu cầu") || starts(t, "Chỉ áp dụng")) {
		r->kind = ROW_NOTE;
		r->text = t;
		return;
	}
	if (t[0] == '(' && r->points[0] == '\0') {
		r->kind = ROW_CONT;
		r->text = t;
		return;
	}
	die("line %d: a row the generator cannot read: %s", line, t);
}

/* ===== Reading the source ===== */

static char **
read_lines(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	char **lines = NULL;
	size_t cap = 0, k = 0;
	char *buf = NULL;
	size_t bcap = 0;
	ssize_t got;

	if (f == NULL) {
		die("%s: %s", path, strerror(errno));
	}
	while ((got = getline(&buf, &bcap, f)) >= 0) {
		while (got > 0 && (buf[got - 1] == '\n' || buf[got - 1] == '\r')) {
			buf[--got] = '\0';
		}
		if (k == cap) {
			cap = cap ? cap * 2 : 1024;
			lines = realloc(lines, cap * sizeof(*lines));
			if (lines == NULL) {
				die("out of memory");
			}
		}
		lines[k++] = xstrdup(buf);
	}
	free(buf);
	fclose(f);
	*n = k;
	return lines;
}

/* Is this line the heading of set `no` ("N. Bộ sản phẩm: ..." or "N. Sản phẩm ...")? */
static bool
set_heading(const char *line, int no)
{
	char want[16];

	snprintf(want, sizeof(want), "%d. ", no);
	return starts(line, want) &&
	    (starts(line + strlen(want), "Bộ sản phẩm") || starts(line + strlen(want), "Sản phẩm"));
}

static void
read_sets(char **lines, size_t n, set *sets)
{
	size_t i, annex2 = 0, annex3 = 0;
	int no;

	for (i = 0; i < n; i++) {
		if (strcmp(lines[i], "PHỤ LỤC II") == 0) {
			annex2 = i;
		} else if (strcmp(lines[i], "PHỤ LỤC III") == 0) {
			annex3 = i;
		}
	}
	if (annex2 == 0 || annex3 <= annex2) {
		die("the source has no PHỤ LỤC II followed by PHỤ LỤC III");
	}
	/* Titles from the index table at the top of Phụ lục II. */
	for (i = annex2; i < annex3; i++) {
		char *text, *pts;

		if (!split_cells(lines[i], &text, &pts)) {
			continue;
		}
		no = atoi(text);
		if (no >= 1 && no <= SETS && strstr(pts, "Bộ sản phẩm: ") == pts && sets[no - 1].title == NULL) {
			sets[no - 1].title = normalise(pts + strlen("Bộ sản phẩm: "), NULL);
		}
		free(text);
		free(pts);
	}
	/* Set boundaries: each heading in order. */
	no = 1;
	for (i = annex2; i < annex3 && no <= SETS; i++) {
		if (set_heading(lines[i], no)) {
			sets[no - 1].no = no;
			sets[no - 1].first = (int)i + 1;
			if (no > 1) {
				sets[no - 2].last = (int)i;
			}
			no++;
		}
	}
	if (no != SETS + 1) {
		die("found the headings of %d sets, not %d", no - 1, SETS);
	}
	sets[SETS - 1].last = (int)annex3;
	for (no = 0; no < SETS; no++) {
		set *s = &sets[no];
		size_t cap = 0;
		bool ended = false;

		if (s->title == NULL) {
			die("set %d has no title in the Phụ lục II index", no + 1);
		}
		for (i = (size_t)s->first; i < (size_t)s->last; i++) {
			const char *l = lines[i];
			char *text, *pts;

			if (starts(l, "(Sản phẩm:") && s->kind == NULL) {
				s->kind = normalise(l + 1, NULL);
				if (s->kind[0] && s->kind[strlen(s->kind) - 1] == ')') {
					s->kind[strlen(s->kind) - 1] = '\0';
				}
				continue;
			}
			if (starts(l, "Hồ sơ bị loại khi")) {
				char *d = normalise(l, NULL);

				if (s->disqualify == NULL) {
					s->disqualify = d;
				} else if (strcmp(s->disqualify, d) != 0) {
					die("line %zu: set %d has two different disqualification clauses", i + 1, no + 1);
				} else {
					free(d); /* set 1 prints the clause twice */
				}
				continue;
			}
			if (ended || !split_cells(l, &text, &pts)) {
				continue;
			}
			if (s->n_rows == cap) {
				cap = cap ? cap * 2 : 256;
				s->rows = realloc(s->rows, cap * sizeof(*s->rows));
				if (s->rows == NULL) {
					die("out of memory");
				}
			}
			classify(&s->rows[s->n_rows], text, pts, (int)i + 1, &s->joins);
			free(text);
			free(pts);
			if (s->rows[s->n_rows].kind == ROW_TOTAL) {
				ended = true;
			}
			s->n_rows++;
		}
		if (!ended) {
			die("set %d (lines %d-%d) has no TỔNG CỘNG row", no + 1, s->first, s->last);
		}
	}
}

/* ===== Building and writing one rubric ===== */

static bool slip_used[NSLIPS];

/* Points as the file writes them, after any slip for this row. */
static const char *
read_points(const set *s, const char *code, const char *label, const char *printed, int line,
    sbuf *report)
{
	size_t i;
	static char digits[32];
	size_t k = 0;
	const char *p;

	for (i = 0; i < NSLIPS; i++) {
		const slip *sl = &slips[i];

		if (sl->set != s->no || strcmp(sl->code, code) != 0 || strcmp(sl->printed, printed) != 0) {
			continue;
		}
		if ((sl->label == NULL) != (label == NULL) || (label && !starts(label, sl->label))) {
			continue;
		}
		if (slip_used[i]) {
			die("set %d: slip for %s matches twice", s->no, code);
		}
		slip_used[i] = true;
		sb_printf(report, "#   line %d, %s%s%s%s%s: printed \"%s\", read as %s: %s.\n", line,
		    code[0] >= 'A' && code[0] <= 'C' ? "part " : "criterion ", code,
		    label ? ", option \"" : "", label ? sl->label : "", label ? "\"" : "", printed, sl->read,
		    sl->why);
		return sl->read;
	}
	for (p = printed; *p; p++) {
		if (*p == ' ') {
			continue; /* "1 7": digits split by the transcription */
		}
		if ((*p < '0' || *p > '9') || k + 1 >= sizeof(digits)) {
			die("line %d: set %d, %s: points \"%s\" are not a number and no slip reads them", line,
			    s->no, code, printed);
		}
		digits[k++] = *p;
	}
	if (k == 0) {
		die("line %d: set %d, %s%s%s: empty points cell and no slip reads it", line, s->no, code,
		    label ? " option " : "", label ? label : "");
	}
	digits[k] = '\0';
	if (strchr(printed, ' ') != NULL) {
		sb_printf(report, "#   line %d, %s%s: points printed \"%s\", read as %s (digits split by a space).\n",
		    line, code[0] >= 'A' && code[0] <= 'C' ? "part " : code[0] >= '0' && code[0] <= '9' ? "row " : "",
		    code, printed, digits);
	}
	return digits;
}

/* Does a note stop the evaluation (a knock-out)? */
static bool
knockout_note(const char *t)
{
	if (strstr(t, "Nếu được 0 điểm") != NULL) {
		return false; /* a rule over several criteria' points, not an option a member picks */
	}
	return strstr(t, "Bị loại") || strstr(t, "bị loại") || strstr(t, "không đánh giá các bước") ||
	    strstr(t, "Không đánh giá các bước") || strstr(t, "Không xem xét") ||
	    strstr(t, "Không đánh giá những");
}

/* Strip "Ghi chú: " / "Chú ý: " / "Ghi chú:" from a note to make a knock-out label. */
static const char *
note_body(const char *t)
{
	static const char *heads[] = {"Ghi chú: ", "Chú ý: ", "Ghi chú:", "Chú ý:"};
	size_t i;

	for (i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		if (starts(t, heads[i])) {
			return t + strlen(heads[i]);
		}
	}
	return t;
}

/* A criterion being assembled. */
typedef struct crit {
	char code[32];  /* its code */
	char *name;     /* borrowed from the row, or owned when continued */
	char max[32];   /* points as written */
	sbuf opts;      /* "option ..." lines */
	sbuf notes;     /* "note : ..." lines */
	sbuf kos;       /* knock-out option lines */
	char when[64];  /* " when=5.1>0" or "" */
	int n_opts;     /* options written */
	int line;       /* source line of the code row */
	bool open;      /* in use */
} crit;

static void
flush_crit(crit *c, sbuf *out, sbuf *report)
{
	if (!c->open) {
		return;
	}
	sb_printf(out, "criterion %s %s%s : %s\n", c->code, c->max, c->when, c->name);
	if (c->notes.p) {
		sb_add(out, c->notes.p);
	}
	if (c->n_opts == 0) {
		/* The sheet prints a yes/no criterion without its boxes (e.g. 2.4 song ngữ). */
		sb_printf(out, "option %s : Có\noption 0 : Không\n", c->max);
		sb_printf(report, "#   line %d, criterion %s: printed without options; read as Có (%s) / Không (0).\n",
		    c->line, c->code, c->max);
	} else {
		sb_add(out, c->opts.p);
	}
	if (c->kos.p) {
		sb_add(out, c->kos.p);
	}
	free(c->opts.p);
	free(c->notes.p);
	free(c->kos.p);
	free(c->name);
	memset(c, 0, sizeof(*c));
}

/* The next row after i that is not a note, a case line or a continuation. */
static const row *
next_struct(const set *s, size_t i)
{
	for (i++; i < s->n_rows; i++) {
		row_kind k = s->rows[i].kind;

		if (k != ROW_NOTE && k != ROW_CASE && k != ROW_CONT && k != ROW_SKIP) {
			return &s->rows[i];
		}
	}
	return NULL;
}

static char *
render_set(set *s, const char *source_name)
{
	sbuf out = {0}, body = {0}, report = {0};
	crit c = {0};
	char group_code[32] = "", sub_code[32] = "", sub_max[32] = "", sub_name[512] = "";
	long sub_sum = 0, sub_line = 0;
	char case_prefix[256] = "";
	row *last_code = NULL;
	size_t i;

	/* A subgroup (6.1 Ngoại hình) is checked against its children here: the loader knows no subgroups. */
#define CLOSE_SUB()                                                                                    \
	do {                                                                                           \
		if (sub_code[0]) {                                                                     \
			if (sub_sum != atol(sub_max) * 100) {                                          \
				die("set %d, line %ld: %s %s is %s but its criteria sum to %ld.%02ld", \
				    s->no, sub_line, sub_code, sub_name, sub_max, sub_sum / 100,       \
				    sub_sum % 100);                                                    \
			}                                                                              \
			sub_code[0] = '\0';                                                            \
		}                                                                                      \
	} while (0)

	for (i = 0; i < s->n_rows; i++) {
		row *r = &s->rows[i];

		switch (r->kind) {
		case ROW_SKIP:
			break;
		case ROW_TOTAL:
			flush_crit(&c, &body, &report);
			CLOSE_SUB();
			if (strcmp(read_points(s, "TỔNG CỘNG", NULL, r->points, r->line, &report), "100") != 0) {
				die("set %d, line %d: TỔNG CỘNG is not 100", s->no, r->line);
			}
			break;
		case ROW_PART: {
			const char *max;

			flush_crit(&c, &body, &report);
			CLOSE_SUB();
			max = read_points(s, r->code, NULL, r->points, r->line, &report);
			if (r->heading != NULL) {
				char hd[32];

				snprintf(hd, sizeof(hd), "(%s Điểm)", max);
				if (strcmp(hd, r->heading) != 0) {
					size_t k;
					bool found = false;

					for (k = 0; k < NSLIPS; k++) {
						if (slips[k].set == s->no && strcmp(slips[k].code, r->code) == 0 &&
						    slips[k].label == NULL && strcmp(slips[k].printed, r->heading) == 0) {
							slip_used[k] = true;
							found = true;
							sb_printf(&report,
							    "#   line %d, part %s: heading printed \"%s\", read as %s: %s.\n",
							    r->line, r->code, r->heading, slips[k].read, slips[k].why);
						}
					}
					if (!found) {
						die("set %d, line %d: part %s heading says %s but the cell says %s", s->no,
						    r->line, r->code, r->heading, max);
					}
				}
			}
			sb_printf(&body, "\npart %s %s : %s\n", r->code, max, r->text);
			last_code = NULL;
			break;
		}
		case ROW_CODE: {
			const row *nx = next_struct(s, i);
			char max[32];

			flush_crit(&c, &body, &report);
			case_prefix[0] = '\0';
			snprintf(max, sizeof(max), "%s", read_points(s, r->code, NULL, r->points, r->line, &report));
			last_code = r;
			if (r->depth == 1) {
				CLOSE_SUB();
				snprintf(group_code, sizeof(group_code), "%s", r->code);
				sb_printf(&body, "\ngroup %s %s : %s\n", r->code, max, r->text);
				if (nx != NULL && nx->kind == ROW_OPTION) {
					/* A group that is one criterion ("7. DINH DƯỠNG"). */
					c.open = true;
					snprintf(c.code, sizeof(c.code), "%s", r->code);
					snprintf(c.max, sizeof(c.max), "%s", max);
					c.name = xstrdup(r->text);
					c.line = r->line;
				}
				break;
			}
			if (r->depth == 2 && nx != NULL && nx->kind == ROW_CODE && nx->depth == 3 &&
			    starts(nx->code, r->code) && nx->code[strlen(r->code)] == '.') {
				CLOSE_SUB();
				snprintf(sub_code, sizeof(sub_code), "%s", r->code);
				snprintf(sub_max, sizeof(sub_max), "%s", max);
				snprintf(sub_name, sizeof(sub_name), "%s", r->text);
				sub_sum = 0;
				sub_line = r->line;
				sb_printf(&body, "# %s %s (%s): the criteria %s.x below sum to it\n", r->code, r->text, max,
				    r->code);
				break;
			}
			if (r->depth == 3) {
				if (!sub_code[0] || !starts(r->code, sub_code)) {
					die("set %d, line %d: criterion %s outside a subgroup", s->no, r->line, r->code);
				}
				sub_sum += atol(max) * 100;
			} else {
				CLOSE_SUB();
			}
			c.open = true;
			snprintf(c.code, sizeof(c.code), "%s", r->code);
			snprintf(c.max, sizeof(c.max), "%s", max);
			c.name = xstrdup(r->text);
			c.line = r->line;
			break;
		}
		case ROW_OPTION: {
			char *label = xstrdup(r->text);
			char *gc;
			const char *pts;
			int stars = r->stars;

			if (!c.open) {
				die("set %d, line %d: an option outside a criterion", s->no, r->line);
			}
			gc = strstr(label, " Ghi chú:");
			if (gc != NULL) {
				/* "...***** Ghi chú: Nếu ... sẽ bị loại bỏ": the note belongs to the criterion. */
				sb_printf(&c.notes, "note : %s\n", gc + 1);
				if (knockout_note(gc + 1)) {
					sb_printf(&c.kos, "option 0 ko : %s\n", note_body(gc + 1));
				}
				*gc = '\0';
				stars = strip_stars(label);
			}
			pts = read_points(s, c.code, label, r->points, r->line, &report);
			if (stars != 0 && (stars < 3 || stars > 5)) {
				die("set %d, line %d: a star mark of %d stars", s->no, r->line, stars);
			}
			sb_printf(&c.opts, "option %s", pts);
			if (stars) {
				sb_printf(&c.opts, " %.*s", stars, "*****");
			}
			sb_printf(&c.opts, " : %s%s\n", case_prefix, label);
			c.n_opts++;
			free(label);
			last_code = NULL;
			break;
		}
		case ROW_NOTE:
			if (!c.open) {
				die("set %d, line %d: a note outside a criterion: %s", s->no, r->line, r->text);
			}
			if (starts(r->text, "Chỉ áp dụng khi có câu chuyện")) {
				/* 5.2 applies only when the story criterion (the group's first, 5.1) scores. */
				snprintf(c.when, sizeof(c.when), " when=%s.1>0", group_code);
			}
			sb_printf(&c.notes, "note : %s\n", r->text);
			if (knockout_note(r->text)) {
				sb_printf(&c.kos, "option 0 ko : %s\n", note_body(r->text));
			}
			break;
		case ROW_CASE:
			if (!c.open) {
				die("set %d, line %d: a case line outside a criterion", s->no, r->line);
			}
			if (starts(r->text, "Lựa chọn")) {
				sb_printf(&c.notes, "note : %s (a member picks an option of the case that applies)\n",
				    r->text);
			} else {
				/* "a. Trường hợp 1: X" -> options labelled "Trường hợp 1 (X): ..." */
				const char *p = r->text + 3;
				const char *colon = strstr(p, ": ");

				if (colon == NULL) {
					die("set %d, line %d: a case line without a colon", s->no, r->line);
				}
				snprintf(case_prefix, sizeof(case_prefix), "%.*s (%s): ", (int)(colon - p), p, colon + 2);
			}
			break;
		case ROW_CONT:
			if (last_code == NULL || !c.open) {
				die("set %d, line %d: a continued label with nothing to continue", s->no, r->line);
			}
			{
				size_t nl = strlen(c.name) + strlen(r->text) + 2;
				char *nn = xmalloc(nl);

				snprintf(nn, nl, "%s %s", c.name, r->text);
				free(c.name);
				c.name = nn;
			}
			break;
		}
	}
#undef CLOSE_SUB

	sb_printf(&out,
	    "# QĐ 26/2026/QĐ-TTg (22/5/2026), Phụ lục II, bộ sản phẩm số %d: %s.\n"
	    "# Generated by tools/rubricgen from %s, lines %d-%d.\n"
	    "# Do not edit by hand: change the source text or the generator's reading rules\n"
	    "# and regenerate (tools/README.md). Format: ../README.md.\n",
	    s->no, s->title, source_name, s->first, s->last);
	if (s->joins > 0) {
		sb_printf(&out,
		    "# The transcription splits %d syllable%s with a space (\"PHẨ M\"); they are rejoined.\n",
		    s->joins, s->joins == 1 ? "" : "s");
	}
	if (report.p) {
		sb_add(&out, "# Read differently from the printed text (check against the official gazette):\n");
		sb_add(&out, report.p);
	}
	sb_printf(&out, "rubric qd26-2026/%02d\n", s->no);
	sb_add(&out, "basis : QĐ 26/2026/QĐ-TTg (22/5/2026), Phụ lục II\n");
	sb_printf(&out, "title : %s\n", s->title);
	if (s->kind) {
		sb_printf(&out, "note : %s\n", s->kind);
	}
	if (s->disqualify) {
		sb_printf(&out, "disqualify : %s\n", s->disqualify);
	}
	sb_add(&out, body.p);
	free(body.p);
	free(report.p);
	return out.p;
}

/* Release what read_lines() and read_sets() allocated. */
static void
free_all(char **lines, size_t n_lines, set *sets)
{
	size_t i, k;

	for (i = 0; i < n_lines; i++) {
		free(lines[i]);
	}
	free(lines);
	for (i = 0; i < SETS; i++) {
		for (k = 0; k < sets[i].n_rows; k++) {
			free(sets[i].rows[k].text);
			free(sets[i].rows[k].code);
			free(sets[i].rows[k].points);
			free(sets[i].rows[k].heading);
		}
		free(sets[i].rows);
		free(sets[i].title);
		free(sets[i].kind);
		free(sets[i].disqualify);
	}
}

/* ===== Main ===== */

static void
usage(void)
{
	fputs("usage: rubricgen SOURCE.txt OUTDIR           write OUTDIR/01.rubric ... 26.rubric\n"
	      "       rubricgen --check SOURCE.txt DIR      compare DIR's files with what SOURCE gives\n"
	      "       rubricgen --stdout SOURCE.txt N       print set N\n",
	    stderr);
	exit(2);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	sbuf b = {0};
	char buf[65536];
	size_t n;

	if (f == NULL) {
		return NULL;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		sb_addn(&b, buf, n);
	}
	fclose(f);
	if (b.p == NULL) {
		sb_add(&b, "");
	}
	return b.p;
}

/* First differing line of two texts, 0 when equal. */
static int
first_diff(const char *a, const char *b)
{
	int line = 1;

	while (*a && *a == *b) {
		if (*a == '\n') {
			line++;
		}
		a++;
		b++;
	}
	return *a == *b ? 0 : line;
}

int
main(int argc, char **argv)
{
	set sets[SETS];
	char **lines;
	size_t n_lines, i;
	int mode = 0; /* 0 write, 1 check, 2 stdout */
	const char *src, *dst;
	const char *source_name = "data/sources/qd26-2026-full-text.txt";
	int failures = 0, only = 0;

	if (argc == 4 && strcmp(argv[1], "--check") == 0) {
		mode = 1;
	} else if (argc == 4 && strcmp(argv[1], "--stdout") == 0) {
		mode = 2;
		only = atoi(argv[3]);
	} else if (argc != 3) {
		usage();
	}
	src = argv[argc - 2];
	dst = argv[argc - 1];
	memset(sets, 0, sizeof(sets));
	lines = read_lines(src, &n_lines);
	read_sets(lines, n_lines, sets);
	for (i = 0; i < SETS; i++) {
		char *text = render_set(&sets[i], source_name);
		char path[4096];

		if (mode == 2) {
			if ((int)i + 1 == only) {
				fputs(text, stdout);
			}
		} else {
			snprintf(path, sizeof(path), "%s/%02zu.rubric", dst, i + 1);
			if (mode == 1) {
				char *have = slurp(path);
				int d;

				if (have == NULL) {
					fprintf(stderr, "rubricgen: %s: %s\n", path, strerror(errno));
					failures++;
				} else if ((d = first_diff(text, have)) != 0) {
					fprintf(stderr, "rubricgen: %s differs from the source at line %d; regenerate it\n",
					    path, d);
					failures++;
				}
				free(have);
			} else {
				FILE *f = fopen(path, "wb");

				if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
					die("%s: %s", path, strerror(errno));
				}
			}
		}
		free(text);
	}
	if (mode != 2) {
		for (i = 0; i < NSLIPS; i++) {
			if (!slip_used[i]) {
				fprintf(stderr, "rubricgen: slip for set %d, %s (printed \"%s\") was not found in the source\n",
				    slips[i].set, slips[i].code, slips[i].printed);
				failures++;
			}
		}
	}
	free_all(lines, n_lines, sets);
	if (mode == 1 && failures == 0) {
		printf("rubricgen: the %d rubric files match %s\n", SETS, src);
	}
	return failures ? 1 : 0;
}
