/*
 * workbook.c: the report as XLSX (workbook.h). libxlsxwriter builds the whole
 * file in workbook_close(), so a write error surfaces there and the caller
 * learns it before claiming success.
 */
#include "common/ocop/workbook.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <xlsxwriter.h>

#include "ocop_err.h"

#define WB_MAX_WIDTH 60.0 /* widest column, in characters; long texts wrap in the cell */

/* The formats of a workbook; owned by the workbook. */
typedef struct wb_formats {
	lxw_format *title;  /* bold, larger: the table's title row */
	lxw_format *header; /* bold with a bottom border: the column keys */
	lxw_format *points; /* 0.00: council means */
	lxw_format *wrap;   /* text that wraps: the summary paragraph */
} wb_formats;

static bool
selected(const ocp_report_table *t, const char *const *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(keys[i], t->key) == 0) {
			return true;
		}
	}
	return n == 0;
}

/* Width of a UTF-8 text in code points. */
static double
text_width(const char *s)
{
	double w = 0;

	for (; *s; s++) {
		w += ((unsigned char)*s & 0xC0) != 0x80;
	}
	return w;
}

/* Write one cell; returns the width it needs. */
static double
wb_cell(lxw_worksheet *ws, lxw_row_t row, lxw_col_t col, const ocp_report_cell *x, const wb_formats *f,
    bool wrap, lxw_error *e)
{
	char buf[32];

	switch (x->kind) {
	case OCP_CELL_TEXT:
		*e = worksheet_write_string(ws, row, col, x->s, wrap ? f->wrap : NULL);
		return text_width(x->s);
	case OCP_CELL_INT:
		*e = worksheet_write_number(ws, row, col, (double)x->i, NULL);
		return (double)snprintf(buf, sizeof(buf), "%lld", (long long)x->i);
	case OCP_CELL_POINTS:
		*e = worksheet_write_number(ws, row, col, (double)x->i / 100.0, f->points);
		return 7;
	case OCP_CELL_BOOL:
		*e = worksheet_write_boolean(ws, row, col, x->i != 0, NULL);
		return 6;
	default:
		*e = LXW_NO_ERROR;
		return 0;
	}
}

/* One table on its own sheet. */
static lxw_error
wb_sheet(lxw_workbook *wb, const ocp_report *r, const ocp_report_table *t, const wb_formats *f)
{
	lxw_worksheet *ws = workbook_add_worksheet(wb, t->key);
	char when[64];
	char title[600];
	double width[64];
	bool wrap = strcmp(t->key, "summary") == 0;
	lxw_error e = LXW_NO_ERROR;
	size_t ncols = t->ncols < 64 ? t->ncols : 64;
	size_t row;
	size_t col;

	if (ws == NULL) {
		return LXW_ERROR_MEMORY_MALLOC_FAILED;
	}
	ocp_report_heading(r, when, sizeof(when));
	snprintf(title, sizeof(title), "%s (%s)", t->title, when);
	if ((e = worksheet_write_string(ws, 0, 0, title, f->title)) != LXW_NO_ERROR) {
		return e;
	}
	for (col = 0; col < ncols; col++) {
		width[col] = text_width(t->cols[col]) + 2;
		if ((e = worksheet_write_string(ws, 1, (lxw_col_t)col, t->cols[col], f->header)) != LXW_NO_ERROR) {
			return e;
		}
	}
	for (row = 0; row < t->nrows; row++) {
		for (col = 0; col < ncols; col++) {
			double w = wb_cell(ws, (lxw_row_t)(row + 2), (lxw_col_t)col, ocp_report_cell_at(t, row, col), f,
			    wrap, &e) + 2;

			if (e != LXW_NO_ERROR) {
				return e;
			}
			width[col] = w > width[col] ? w : width[col];
		}
	}
	for (col = 0; col < ncols; col++) {
		double w = wrap ? 120.0 : (width[col] < WB_MAX_WIDTH ? width[col] : WB_MAX_WIDTH);

		if ((e = worksheet_set_column(ws, (lxw_col_t)col, (lxw_col_t)col, w, NULL)) != LXW_NO_ERROR) {
			return e;
		}
	}
	worksheet_freeze_panes(ws, 2, 0);
	return LXW_NO_ERROR;
}

int
ocp_workbook_write(const ocp_report *r, const char *path, const char *const *keys, size_t n, char *err,
    size_t errlen)
{
	lxw_doc_properties props;
	FILE *probe;
	lxw_workbook *wb;
	wb_formats f;
	lxw_error e = LXW_NO_ERROR;
	lxw_error ce;
	size_t bad = 0;
	size_t i;

	if (!ocp_report_keys_valid(r, keys, n, &bad)) {
		snprintf(err, errlen, "'%s' is not a table of the report", keys[bad]);
		return OCOP_EINVAL;
	}
	/* Open it ourselves first: the library would print its own message to stderr. */
	probe = fopen(path, "wb");
	if (probe == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return OCOP_EIO;
	}
	fclose(probe);
	wb = workbook_new(path);
	if (wb == NULL) {
		snprintf(err, errlen, "%s: cannot start the workbook (out of memory)", path);
		return OCOP_ENOMEM;
	}
	memset(&props, 0, sizeof(props));
	props.title = (char *)"Kết quả OCOP (published OCOP tables)";
	props.subject = (char *)ocp_report_today(r);
	workbook_set_properties(wb, &props);
	f.title = workbook_add_format(wb);
	f.header = workbook_add_format(wb);
	f.points = workbook_add_format(wb);
	f.wrap = workbook_add_format(wb);
	if (f.title == NULL || f.header == NULL || f.points == NULL || f.wrap == NULL) {
		e = LXW_ERROR_MEMORY_MALLOC_FAILED;
	} else {
		format_set_bold(f.title);
		format_set_font_size(f.title, 12);
		format_set_bold(f.header);
		format_set_bottom(f.header, LXW_BORDER_THIN);
		format_set_num_format(f.points, "0.00");
		format_set_text_wrap(f.wrap);
		format_set_align(f.wrap, LXW_ALIGN_VERTICAL_TOP);
	}
	for (i = 0; e == LXW_NO_ERROR && i < ocp_report_table_count(r); i++) {
		const ocp_report_table *t = ocp_report_table_at(r, i);

		if (selected(t, keys, n)) {
			e = wb_sheet(wb, r, t, &f);
		}
	}
	/* workbook_close writes the file and frees the workbook, whatever happened before. */
	ce = workbook_close(wb);
	if (e == LXW_NO_ERROR) {
		e = ce;
	}
	if (e != LXW_NO_ERROR) {
		snprintf(err, errlen, "%s: %s", path, lxw_strerror(e));
		if (e != LXW_ERROR_CREATING_XLSX_FILE && e != LXW_ERROR_CREATING_TMPFILE) {
			remove(path);
		}
		return e == LXW_ERROR_MEMORY_MALLOC_FAILED ? OCOP_ENOMEM : OCOP_EIO;
	}
	return OCOP_OK;
}
