/*
 * decode_text.c: fuzz oracle for rubric files and CSV score sheets.
 */
#include "tests/fuzz/decode_text.h"

#include <stdio.h>
#include <string.h>

#include "common/ocop/rubric.h"
#include "common/ocop/score.h"
#include "common/ocop/sheetcsv.h"
#include "ocop_err.h"

int
fz_text_rubric(const uint8_t *data, size_t len)
{
	ocp_rubric *r = NULL;
	char err[512];
	int rv;

	err[0] = 0;
	rv = ocp_rubric_parse(&r, "fuzz.rubric", (const char *)data, len, err, sizeof(err));
	if (rv == OCOP_OK) {
		/* Walk what was built: every criterion reachable, every option within it. */
		size_t i;
		for (i = 0; i < ocp_rubric_criterion_count(r); i++) {
			if (ocp_rubric_criterion(r, i) == NULL) {
				ocp_rubric_free(r);
				return 1;
			}
		}
		ocp_rubric_free(r);
		return 0;
	}
	/* A refusal must come with a reason, and leave nothing behind. */
	return r == NULL && err[0] != 0 ? 0 : 1;
}

int
fz_text_sheetcsv(const char *rubric_path, const uint8_t *data, size_t len)
{
	static ocp_rubric *rubric;
	ocp_sheetcsv *s = NULL;
	ocp_score *res = NULL;
	ocp_score_opts o;
	const ocp_sheet *sheets;
	size_t n = 0;
	char err[512];
	int rv;

	if (rubric == NULL && ocp_rubric_load_file(&rubric, rubric_path, err, sizeof(err)) != OCOP_OK) {
		fprintf(stderr, "fuzz: cannot load %s: %s\n", rubric_path, err);
		return 1;
	}
	err[0] = 0;
	rv = ocp_sheetcsv_parse(&s, rubric, "fuzz.csv", (const char *)data, len, err, sizeof(err));
	if (rv != OCOP_OK) {
		return s == NULL && err[0] != 0 ? 0 : 1;
	}
	sheets = ocp_sheetcsv_sheets(s, &n);
	ocp_score_opts_init(&o);
	err[0] = 0;
	rv = ocp_score_compute(&res, rubric, sheets, n, &o, err, sizeof(err));
	if (rv == OCOP_OK) {
		ocp_score_free(res);
	} else if (res != NULL || err[0] == 0) {
		ocp_sheetcsv_free(s);
		return 1;
	}
	ocp_sheetcsv_free(s);
	return 0;
}
