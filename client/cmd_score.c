/*
 * cmd_score.c: `ocop score`, the standalone scorer. Loads a rubric by id (from
 * the data directory, see ocp_data_dir()) or from a file, reads the council's
 * sheets from `member,criterion,points` CSV, runs the one scoring function and
 * prints a small table or, with --json, one JSON object. It touches no database.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "client/cli.h"
#include "common/ocop/rubric.h"
#include "common/ocop/score.h"
#include "common/ocop/sheetcsv.h"
#include "ocop_err.h"

/* Parsed command line. */
typedef struct score_args {
	const char *rubric_id;   /* --rubric; borrowed from argv */
	const char *rubric_file; /* --rubric-file; borrowed from argv */
	const char *sheets;      /* --sheets; borrowed from argv */
	bool json;               /* --json */
	ocp_score_opts opts;     /* --spread, --no-spread-rule, --disqualified */
} score_args;

/* ===== Arguments ===== */

static void
score_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocop score --rubric ID --sheets FILE.csv [--json] [--spread N]\n"
	    "                  [--no-spread-rule] [--disqualified]\n"
	    "       ocop score --rubric-file PATH --sheets FILE.csv [...]\n"
	    "\n"
	    "Score one product from its council members' sheets.\n"
	    "\n"
	    "  --rubric ID        rubric id, e.g. qd26-2026/01 (read from\n"
	    "                     $OCOP_DATA_DIR/rubrics/ID.rubric; without OCOP_DATA_DIR\n"
	    "                     the data/ directory above the program is used)\n"
	    "  --rubric-file PATH a rubric file instead of an id\n"
	    "  --sheets FILE.csv  CSV with the header member,criterion,points; points are\n"
	    "                     the chosen option's points (e.g. 3 or 2.5) or KO\n"
	    "  --json             print one JSON object instead of the table\n"
	    "  --spread N         spread threshold in points (default 10): the spread rule\n"
	    "                     fails when members' totals differ by N or more\n"
	    "  --no-spread-rule   do not apply the spread rule\n"
	    "  --disqualified     the dossier is disqualified (no star)\n"
	    "\n"
	    "Exit status: 0 scored, 1 runtime failure, 2 bad usage or bad input.\n");
}

/* Take the value of an option given as "--opt VALUE" or "--opt=VALUE". */
static const char *
opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) == 0 && argv[*i][n] == '=') {
		return argv[*i] + n + 1;
	}
	if (strcmp(argv[*i], name) == 0 && *i + 1 < argc) {
		(*i)++;
		return argv[*i];
	}
	return NULL;
}

static bool
opt_is(const char *arg, const char *name)
{
	size_t n = strlen(name);

	return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

/* Returns -1 to go on, or an exit code. */
static int
score_parse_args(score_args *a, int argc, char **argv)
{
	const char *v;
	int i;

	memset(a, 0, sizeof(*a));
	ocp_score_opts_init(&a->opts);
	for (i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			score_usage(stdout);
			return CLI_OK;
		} else if (strcmp(arg, "--json") == 0) {
			a->json = true;
		} else if (strcmp(arg, "--no-spread-rule") == 0) {
			a->opts.spread_rule = false;
		} else if (strcmp(arg, "--disqualified") == 0) {
			a->opts.disqualified = true;
		} else if (opt_is(arg, "--rubric-file")) {
			if ((a->rubric_file = opt_value(argc, argv, &i, "--rubric-file")) == NULL) {
				break;
			}
		} else if (opt_is(arg, "--rubric")) {
			if ((a->rubric_id = opt_value(argc, argv, &i, "--rubric")) == NULL) {
				break;
			}
		} else if (opt_is(arg, "--sheets")) {
			if ((a->sheets = opt_value(argc, argv, &i, "--sheets")) == NULL) {
				break;
			}
		} else if (opt_is(arg, "--spread")) {
			v = opt_value(argc, argv, &i, "--spread");
			if (v == NULL) {
				break;
			}
			if (ocp_points_parse(v, strlen(v), &a->opts.spread_threshold) != OCOP_OK ||
			    a->opts.spread_threshold <= 0) {
				fprintf(stderr, "ocop score: --spread needs a number of points above 0 "
						"(up to 2 decimals), not '%s'\n", v);
				return CLI_USAGE;
			}
		} else {
			fprintf(stderr, "ocop score: unknown option '%s'. See 'ocop score --help'.\n",
			    arg);
			return CLI_USAGE;
		}
	}
	if (i < argc) {
		fprintf(stderr, "ocop score: %s needs a value. See 'ocop score --help'.\n", argv[i]);
		return CLI_USAGE;
	}
	if ((a->rubric_id == NULL) == (a->rubric_file == NULL)) {
		fprintf(stderr, "ocop score: give exactly one of --rubric ID or --rubric-file PATH. "
				"See 'ocop score --help'.\n");
		return CLI_USAGE;
	}
	if (a->sheets == NULL) {
		fprintf(stderr, "ocop score: --sheets FILE.csv is required. See 'ocop score --help'.\n");
		return CLI_USAGE;
	}
	return -1;
}

/* ===== JSON output ===== */

/* Centipoints as a JSON number (exact to 2 decimals). */
static json_t *
jpts(int64_t centi)
{
	return json_real((double)centi / 100.0);
}

static json_t *
jdisplay(int64_t centi)
{
	char b[32];

	ocp_points_format(b, sizeof(b), centi);
	return json_string(b);
}

static int
score_print_json(const ocp_rubric *r, const ocp_score *s)
{
	json_t *root = json_object();
	json_t *members = json_array();
	json_t *parts = json_object();
	json_t *parts_display = json_object();
	json_t *ko_list = json_array();
	json_t *ko = json_object();
	json_t *misses = json_array();
	char *text;
	size_t i;
	int k;

	if (root == NULL || members == NULL || parts == NULL || parts_display == NULL ||
	    ko_list == NULL || ko == NULL || misses == NULL) {
		goto nomem;
	}
	json_object_set_new(root, "rubric", json_string(ocp_rubric_id(r)));
	json_object_set_new(root, "basis", json_string(ocp_rubric_basis(r)));
	json_object_set_new(root, "title", json_string(ocp_rubric_title(r)));
	for (i = 0; i < s->count; i++) {
		json_t *m = json_object();
		char key[2] = {0, 0};
		if (m == NULL) {
			goto nomem;
		}
		json_object_set_new(m, "member", json_string(s->members[i].member));
		json_object_set_new(m, "total", jpts(s->members[i].total));
		for (k = 0; k < OCP_PART_COUNT; k++) {
			key[0] = ocp_rubric_part(r, (size_t)k)->letter;
			json_object_set_new(m, key, jpts(s->members[i].part[k]));
		}
		json_array_append_new(members, m);
	}
	json_object_set_new(root, "members", members);
	members = NULL;
	json_object_set_new(root, "mean", json_real(s->mean));
	json_object_set_new(root, "mean_display", jdisplay(s->mean_display));
	for (k = 0; k < OCP_PART_COUNT; k++) {
		char key[2] = {ocp_rubric_part(r, (size_t)k)->letter, 0};
		json_object_set_new(parts, key, json_real(s->part_mean[k]));
		json_object_set_new(parts_display, key, jdisplay(s->part_display[k]));
	}
	json_object_set_new(root, "parts", parts);
	json_object_set_new(root, "parts_display", parts_display);
	parts = parts_display = NULL;
	json_object_set_new(root, "band_star", json_integer(s->band_star));
	json_object_set_new(root, "minima_star", json_integer(s->minima_star));
	for (k = 0; k < 3; k++) {
		const ocp_score_miss *m = &s->miss[k];
		json_t *o;
		if (m->criterion == OCP_NONE) {
			continue;
		}
		o = json_object();
		if (o == NULL) {
			goto nomem;
		}
		json_object_set_new(o, "level", json_integer(k + 3));
		json_object_set_new(o, "criterion",
		    json_string(ocp_rubric_criterion(r, m->criterion)->code));
		json_object_set_new(o, "needed", jpts(m->need));
		json_object_set_new(o, "mean", json_real((double)m->sum / (double)s->count / 100.0));
		json_array_append_new(misses, o);
	}
	json_object_set_new(root, "minima_misses", misses);
	misses = NULL;
	json_object_set_new(root, "star", json_integer(s->star));
	json_object_set_new(root, "disqualified", json_boolean(s->disqualified));
	for (i = 0; i < s->n_ko; i++) {
		const ocp_criterion *c = ocp_rubric_criterion(r, s->ko[i].criterion);
		const ocp_option *o = ocp_criterion_option(c, 0, true);
		json_t *e = json_object();
		if (e == NULL) {
			goto nomem;
		}
		json_object_set_new(e, "member", json_string(s->members[s->ko[i].member].member));
		json_object_set_new(e, "criterion", json_string(c->code));
		json_object_set_new(e, "option", json_string(o ? o->label : ""));
		json_array_append_new(ko_list, e);
	}
	json_object_set_new(ko, "applies", json_boolean(s->knockout));
	json_object_set_new(ko, "choices", ko_list);
	ko_list = NULL;
	json_object_set_new(root, "knockout", ko);
	ko = NULL;
	json_object_set_new(root, "spread", jpts(s->spread));
	json_object_set_new(root, "spread_threshold", jpts(s->spread_threshold));
	json_object_set_new(root, "spread_rule", json_boolean(s->spread_rule));
	json_object_set_new(root, "spread_ok", json_boolean(s->spread_ok));
	json_object_set_new(root, "potential_5star", json_boolean(s->potential_5star));
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));
	json_decref(root);
	if (text == NULL) {
		goto nomem_text;
	}
	printf("%s\n", text);
	free(text);
	return CLI_OK;

nomem:
	json_decref(root);
	json_decref(members);
	json_decref(parts);
	json_decref(parts_display);
	json_decref(ko_list);
	json_decref(ko);
	json_decref(misses);
nomem_text:
	fprintf(stderr, "ocop score: out of memory\n");
	return CLI_FAIL;
}

/* ===== Text output ===== */

/* Display width of a UTF-8 label, counted in code points (good enough for a table). */
static int
label_width(const char *s)
{
	int w = 0;

	for (; *s; s++) {
		if (((unsigned char)*s & 0xC0) != 0x80) {
			w++;
		}
	}
	return w;
}

static void
print_label(const char *s, int width)
{
	int pad = width - label_width(s);

	fputs(s, stdout);
	while (pad-- > 0) {
		putchar(' ');
	}
}

static void
print_row(const char *label, int width, int64_t total, const int64_t part[OCP_PART_COUNT])
{
	char b[32];
	int k;

	print_label(label, width);
	ocp_points_format(b, sizeof(b), total);
	printf("  %7s", b);
	for (k = 0; k < OCP_PART_COUNT; k++) {
		ocp_points_format(b, sizeof(b), part[k]);
		printf("  %6s", b);
	}
	putchar('\n');
}

static void
score_print_text(const ocp_rubric *r, const ocp_score *s)
{
	char a[32];
	char b[32];
	int width = 6;
	size_t i;
	int k;

	for (i = 0; i < s->count; i++) {
		int w = label_width(s->members[i].member);
		width = w > width ? w : width;
	}
	printf("Rubric %s: %s (%s)\n\n", ocp_rubric_id(r), ocp_rubric_title(r), ocp_rubric_basis(r));
	print_label("Member", width);
	printf("  %7s", "Total");
	for (k = 0; k < OCP_PART_COUNT; k++) {
		printf("  %6c", ocp_rubric_part(r, (size_t)k)->letter);
	}
	putchar('\n');
	for (i = 0; i < s->count; i++) {
		print_row(s->members[i].member, width, s->members[i].total, s->members[i].part);
	}
	print_row("Mean", width, s->mean_display, s->part_display);
	putchar('\n');
	ocp_points_format(a, sizeof(a), s->spread);
	ocp_points_format(b, sizeof(b), s->spread_threshold);
	if (s->spread_rule) {
		printf("Spread: %s (threshold %s): %s\n", a, b,
		    s->spread_ok ? "ok" : "too wide, the council must discuss and re-score");
	} else {
		printf("Spread: %s (spread rule off)\n", a);
	}
	printf("Band: %d★   Minima: %d★", s->band_star, s->minima_star);
	if (s->minima_star < 5) {
		/* The level just above the one reached names the criterion that holds it back. */
		const ocp_score_miss *m = &s->miss[s->minima_star + 1 - 3];
		ocp_points_format(a, sizeof(a), m->sum / (int64_t)s->count);
		ocp_points_format(b, sizeof(b), m->need);
		printf(" (%d★ not met on %s: mean %s < %s)", s->minima_star + 1,
		    ocp_rubric_criterion(r, m->criterion)->code, a, b);
	}
	putchar('\n');
	for (i = 0; i < s->n_ko; i++) {
		printf("Knock-out: %s chose the knock-out option of %s\n",
		    s->members[s->ko[i].member].member,
		    ocp_rubric_criterion(r, s->ko[i].criterion)->code);
	}
	if (s->star == 0) {
		printf("Star: none (%s)\n", s->knockout ? "knock-out" : "dossier disqualified");
	} else {
		printf("Star: %d★\n", s->star);
	}
	printf("Potential 5★: %s\n", s->potential_5star ? "yes" : "no");
}

/* ===== Entry point ===== */

int
cmd_score(int argc, char **argv)
{
	char err[1024];
	score_args a;
	ocp_rubric *r = NULL;
	ocp_sheetcsv *csv = NULL;
	ocp_score *s = NULL;
	const ocp_sheet *sheets;
	size_t n;
	int code;
	int rv;

	code = score_parse_args(&a, argc, argv);
	if (code >= 0) {
		return code;
	}
	err[0] = '\0';
	if (a.rubric_id != NULL) {
		const char *dir = ocp_data_dir();
		if (dir == NULL) {
			fprintf(stderr, "ocop score: cannot find the rubric data directory; set "
					"OCOP_DATA_DIR to the data/ directory of the source tree\n");
			return CLI_FAIL;
		}
		rv = ocp_rubric_load_id(&r, dir, a.rubric_id, err, sizeof(err));
		/* An unknown id is the user's mistake; a broken shipped file is not. */
		code = rv == OCOP_ENOENT || rv == OCOP_EINVAL ? CLI_USAGE : CLI_FAIL;
	} else {
		rv = ocp_rubric_load_file(&r, a.rubric_file, err, sizeof(err));
		code = rv == OCOP_ENOMEM || rv == OCOP_EIO ? CLI_FAIL : CLI_USAGE;
	}
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocop score: %s\n", err);
		return code;
	}
	rv = ocp_sheetcsv_load_file(&csv, r, a.sheets, err, sizeof(err));
	if (rv == OCOP_OK) {
		sheets = ocp_sheetcsv_sheets(csv, &n);
		rv = ocp_score_compute(&s, r, sheets, n, &a.opts, err, sizeof(err));
	}
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocop score: %s\n", err);
		code = rv == OCOP_ENOMEM || rv == OCOP_EIO ? CLI_FAIL : CLI_USAGE;
	} else if (a.json) {
		code = score_print_json(r, s);
	} else {
		score_print_text(r, s);
		code = CLI_OK;
	}
	ocp_score_free(s);
	ocp_sheetcsv_free(csv);
	ocp_rubric_free(r);
	return code;
}
