/*
 * report.c: the published OCOP tables (report.h). Recognitions are read from
 * decision rows, candidates' scores are computed through council.h (the one
 * scoring function), and every table is a plain grid that JSON and CSV render
 * the same way. Nothing here writes to the replica.
 */
#include "common/ocop/report.h"

#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"

/* ===== Static table shapes ===== */

enum {
	T_STAR,
	T_KIND,
	T_GROUP,
	T_UNIT,
	T_ROUND,
	T_TYPE,
	T_CAND,
	T_EXPIRING,
	T_EVALUATED,
	T_SUBJECTS,
	T_RECOGNISED,
	T_SUMMARY,
	T_SET,
	T_COUNT_,
};

/* Publishing order of the tables (the enum above is the build order). */
static const int table_order[T_COUNT_] = {T_SUMMARY, T_EVALUATED, T_STAR, T_SUBJECTS, T_KIND,
    T_UNIT, T_GROUP, T_SET, T_ROUND, T_TYPE, T_RECOGNISED, T_CAND, T_EXPIRING};

static const char *const star_cols[] = {"star", "label", "products"};
static const char *const kind_cols[] = {"subject_type", "label", "star3", "star4", "star5", "total"};
static const char *const group_cols[] = {"group", "label", "star3", "star4", "star5", "total"};
static const char *const set_cols[] = {"product_set", "label", "star3", "star4", "star5", "total"};
static const char *const unit_cols[] = {"unit_code", "unit_name", "star3", "star4", "star5", "total"};
static const char *const round_cols[] = {"round", "label", "star3", "star4", "star5", "total"};
static const char *const type_cols[] = {"evaluation_type", "label", "star3", "star4", "star5", "total"};
static const char *const cand_cols[] = {"dossier_id", "evaluation_id", "product", "subject",
    "unit_code", "round", "mean", "star", "potential_5star", "approved", "national_star"};
static const char *const exp_cols[] = {"product", "subject", "unit_code", "star", "number",
    "issued_on", "expires_on", "days_left", "window_opens", "window_closes", "window"};

static const char *const eval_star_cols[] = {"star", "label", "products", "imported"};
static const char *const subj_cols[] = {"subject_type", "label", "subjects", "products"};
static const char *const recog_cols[] = {"product", "subject", "subject_type", "unit_code", "unit_name",
    "province_now", "product_set", "mean", "star", "certificate", "issued_on", "expires_on", "product_code",
    "round", "imported"};
static const char *const summary_cols[] = {"text"};

#define NCOLS(a) (sizeof(a) / sizeof(a[0]))

/* Subject types (OCOP.md section 5) as the registry stores them. */
static const char *const subject_kinds[][2] = {
    {"htx", "Hợp tác xã"},
    {"tht", "Tổ hợp tác"},
    {"dn", "Doanh nghiệp"},
    {"trang_trai", "Trang trại"},
    {"ho", "Hộ sản xuất, kinh doanh"},
    {"other", "Khác"},
};

/* The 6 ngành of QĐ 26/2026 Phụ lục I (OCOP.md 4.1) and their product sets. */
static const struct {
	const char *key;  /* Roman numeral */
	const char *name; /* Vietnamese name */
	int first;        /* first product set */
	int last;         /* last product set */
} groups[] = {
    {"I", "Thực phẩm", 1, 13},
    {"II", "Đồ uống", 14, 17},
    {"III", "Dược liệu và sản phẩm từ dược liệu", 18, 20},
    {"IV", "Hàng thủ công mỹ nghệ", 21, 22},
    {"V", "Sinh vật cảnh", 23, 25},
    {"VI", "Dịch vụ du lịch cộng đồng, du lịch sinh thái và điểm du lịch", 26, 26},
};

/* Evaluation types of a dossier (Mẫu 01 item 4). */
static const char *const eval_types[][2] = {
    {"first", "Công nhận mới (đánh giá lần đầu)"},
    {"upgrade", "Nâng hạng"},
    {"reeval", "Công nhận lại (đánh giá lại khi hết hạn)"},
};

struct ocp_report {
	char today[11];                    /* the report's date */
	char round[24];                    /* "YYYY/N", or "" for every round */
	char view[160];                    /* which units by_unit shows (Vietnamese, English gloss) */
	ocp_unit_level level;              /* by_unit's level */
	bool current;                      /* by_unit through the succession */
	char place[160];                   /* the province the report speaks for ("Tỉnh Vĩnh Long"), or "" */
	const ocp_units *units;            /* borrowed while building, NULL after */
	ocp_report_table tables[T_COUNT_]; /* the tables, by the enum */
};

/* One standing recognition with what the tables group it by. */
typedef struct report_rec {
	char *dossier_id;   /* owned */
	char *product_id;   /* owned, "" when unknown */
	char *product;      /* owned product name */
	char *subject;      /* owned subject name */
	char *subject_kind; /* owned */
	char *product_set;  /* owned */
	char *eval_type;    /* owned */
	char *unit_code;    /* owned */
	char *unit_name;    /* owned */
	char *number;       /* owned decision number */
	char *issued_on;    /* owned */
	char *expires_on;   /* owned, "" when none */
	int round_year;     /* dossier round */
	int round_no;       /* dossier round number */
	int star;           /* 3, 4 or 5 */
	bool keep;          /* selected for the counts */
	bool imported;      /* a history row (ocop history import), never re-scored */
	int64_t mean;       /* council mean in centipoints, -1 when not known */
	char *evaluation_id; /* owned, "" when the decision names none */
	char *product_code; /* owned */
} report_rec;

/* A counting table under construction: rows by key, counts per star 3..5. */
typedef struct report_count {
	char **keys;      /* owned keys */
	char **labels;    /* owned labels */
	int64_t (*n)[3];  /* counts for 3★, 4★, 5★ */
	size_t len;       /* rows */
} report_count;

/* ===== Cells ===== */

static ocp_report_cell *
cell(ocp_report_table *t, size_t row, size_t col)
{
	return &t->cells[row * t->ncols + col];
}

const ocp_report_cell *
ocp_report_cell_at(const ocp_report_table *t, size_t row, size_t col)
{
	return &t->cells[row * t->ncols + col];
}

static int
cell_text(ocp_report_table *t, size_t row, size_t col, const char *s)
{
	ocp_report_cell *x = cell(t, row, col);

	if (s == NULL) {
		x->kind = OCP_CELL_NULL;
		return OCOP_OK;
	}
	x->kind = OCP_CELL_TEXT;
	x->s = com_strdup(s);
	return x->s ? OCOP_OK : OCOP_ENOMEM;
}

static void
cell_int(ocp_report_table *t, size_t row, size_t col, ocp_report_kind kind, int64_t v)
{
	ocp_report_cell *x = cell(t, row, col);

	x->kind = kind;
	x->i = v;
}

static int
table_init(ocp_report_table *t, const char *key, const char *title, const char *const *cols,
    size_t ncols, size_t nrows)
{
	t->key = key;
	t->title = title;
	t->cols = cols;
	t->ncols = ncols;
	t->nrows = nrows;
	t->cells = com_calloc(nrows > 0 && ncols > 0 ? nrows * ncols : 1, sizeof(*t->cells));
	return t->cells ? OCOP_OK : OCOP_ENOMEM;
}

static void
table_fini(ocp_report_table *t)
{
	size_t i;

	for (i = 0; t->cells != NULL && i < t->nrows * t->ncols; i++) {
		com_free(t->cells[i].s);
	}
	com_free(t->cells);
	t->cells = NULL;
}

/* ===== Counting tables ===== */

static void
count_fini(report_count *k)
{
	size_t i;

	for (i = 0; i < k->len; i++) {
		com_free(k->keys[i]);
		com_free(k->labels[i]);
	}
	com_free(k->keys);
	com_free(k->labels);
	com_free(k->n);
	memset(k, 0, sizeof(*k));
}

/* The row for key (added with label when new); NULL on ENOMEM. */
static int64_t *
count_row(report_count *k, const char *key, const char *label)
{
	char **keys;
	char **labels;
	int64_t(*n)[3];
	size_t i;

	for (i = 0; i < k->len; i++) {
		if (strcmp(k->keys[i], key) == 0) {
			return k->n[i];
		}
	}
	keys = com_realloc(k->keys, (k->len + 1) * sizeof(*keys));
	if (keys == NULL) {
		return NULL;
	}
	k->keys = keys;
	labels = com_realloc(k->labels, (k->len + 1) * sizeof(*labels));
	if (labels == NULL) {
		return NULL;
	}
	k->labels = labels;
	n = com_realloc(k->n, (k->len + 1) * sizeof(*n));
	if (n == NULL) {
		return NULL;
	}
	k->n = n;
	k->keys[k->len] = com_strdup(key);
	k->labels[k->len] = com_strdup(label ? label : "");
	if (k->keys[k->len] == NULL || k->labels[k->len] == NULL) {
		com_free(k->keys[k->len]);
		com_free(k->labels[k->len]);
		return NULL;
	}
	memset(k->n[k->len], 0, sizeof(k->n[k->len]));
	return k->n[k->len++];
}

static int
count_add(report_count *k, const char *key, const char *label, int star)
{
	int64_t *row = count_row(k, key, label);

	if (row == NULL) {
		return OCOP_ENOMEM;
	}
	if (star >= 3 && star <= 5) {
		row[star - 3]++;
	}
	return OCOP_OK;
}

/* Sort a counting table's rows by key (units and rounds read best in code order). */
static void
count_sort(report_count *k)
{
	size_t i;
	size_t j;

	for (i = 1; i < k->len; i++) {
		for (j = i; j > 0 && strcmp(k->keys[j - 1], k->keys[j]) > 0; j--) {
			char *tk = k->keys[j];
			char *tl = k->labels[j];
			int64_t tn[3];

			memcpy(tn, k->n[j], sizeof(tn));
			k->keys[j] = k->keys[j - 1];
			k->labels[j] = k->labels[j - 1];
			memcpy(k->n[j], k->n[j - 1], sizeof(tn));
			k->keys[j - 1] = tk;
			k->labels[j - 1] = tl;
			memcpy(k->n[j - 1], tn, sizeof(tn));
		}
	}
}

/* Turn a counting table into a report table (key, label, star3, star4, star5, total). */
static int
count_emit(ocp_report_table *t, const char *key, const char *title, const char *const *cols,
    const report_count *k)
{
	size_t i;
	int rv = table_init(t, key, title, cols, 6, k->len);

	for (i = 0; i < k->len && rv == OCOP_OK; i++) {
		if ((rv = cell_text(t, i, 0, k->keys[i])) == OCOP_OK) {
			rv = cell_text(t, i, 1, k->labels[i]);
		}
		cell_int(t, i, 2, OCP_CELL_INT, k->n[i][0]);
		cell_int(t, i, 3, OCP_CELL_INT, k->n[i][1]);
		cell_int(t, i, 4, OCP_CELL_INT, k->n[i][2]);
		cell_int(t, i, 5, OCP_CELL_INT, k->n[i][0] + k->n[i][1] + k->n[i][2]);
	}
	return rv;
}

/* ===== Reading recognitions ===== */

const char *
ocp_report_product_group(const char *product_set, const char **key)
{
	char *end = NULL;
	long set;
	size_t i;

	*key = "?";
	if (product_set == NULL || product_set[0] == 0) {
		return NULL;
	}
	set = strtol(product_set, &end, 10);
	if (end == product_set || *end != 0) {
		return NULL;
	}
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (set >= groups[i].first && set <= groups[i].last) {
			*key = groups[i].key;
			return groups[i].name;
		}
	}
	return NULL;
}

static void
rec_fini(report_rec *r)
{
	com_free(r->dossier_id);
	com_free(r->product_id);
	com_free(r->product);
	com_free(r->subject);
	com_free(r->subject_kind);
	com_free(r->product_set);
	com_free(r->eval_type);
	com_free(r->unit_code);
	com_free(r->unit_name);
	com_free(r->number);
	com_free(r->issued_on);
	com_free(r->expires_on);
	com_free(r->evaluation_id);
	com_free(r->product_code);
}

static void
recs_free(report_rec *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		rec_fini(&v[i]);
	}
	com_free(v);
}

static char *
col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return com_strdup(t ? (const char *)t : "");
}

/*
 * Every standing recognition: no later recognition or revocation of the same
 * dossier (council.h orders decisions), oldest issue first.
 */
static const char recs_sql[] =
    "SELECT d.dossier_id, ds.product_id, p.name, s.name, s.kind, p.product_set, ds.eval_type,"
    " ds.unit_code, (SELECT u.name FROM unit u WHERE u.code = ds.unit_code AND u.deleted = 0"
    " ORDER BY u.id LIMIT 1), d.number, d.issued_on, d.expires_on, ds.round_year, ds.round_no,"
    " d.star, 0, NULL, d.evaluation_id, COALESCE(ds.product_code, p.product_code)"
    " FROM decision d JOIN dossier ds ON ds.id = d.dossier_id AND ds.deleted = 0"
    " LEFT JOIN product p ON p.id = ds.product_id"
    " LEFT JOIN subject s ON s.id = p.subject_id"
    " WHERE d.deleted = 0 AND " OCP_SQL_RECOGNITION("d")
    " AND NOT EXISTS (SELECT 1 FROM decision x WHERE x.dossier_id = d.dossier_id"
    " AND x.deleted = 0 AND x.id != d.id AND " OCP_SQL_DECISION_AFTER("x", "d")
    " AND (" OCP_SQL_RECOGNITION("x") " OR " OCP_SQL_REVOCATION("x") "))"
    /* Imported results of earlier rounds: a product is its subject and name there. */
    " UNION ALL SELECT 'history:' || h.id, 'history:' || h.subject_name || '|' || h.product_name,"
    " h.product_name, h.subject_name, h.subject_kind, h.product_set, h.eval_type, h.unit_code,"
    " (SELECT u.name FROM unit u WHERE u.code = h.unit_code AND u.deleted = 0 ORDER BY u.id"
    " LIMIT 1), h.decision_no, h.issued_on, h.expires_on, h.round_year, h.round_no, h.star, 1,"
    " h.mean, NULL, h.product_code"
    " FROM history h WHERE h.deleted = 0 AND h.star >= 3 AND h.decision_no IS NOT NULL"
    " ORDER BY 11, 1";

static int
report_recs_load(ocp_council *c, report_rec **out, size_t *n)
{
	sqlite3 *db = sto_sqlite(ocp_council_db(c));
	sqlite3_stmt *st = NULL;
	report_rec *v = NULL;
	report_rec *grown;
	size_t len = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (sqlite3_prepare_v2(db, recs_sql, -1, &st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		report_rec *r;

		grown = com_realloc(v, (len + 1) * sizeof(*v));
		if (grown == NULL) {
			goto nomem;
		}
		v = grown;
		r = &v[len++];
		memset(r, 0, sizeof(*r));
		r->dossier_id = col_dup(st, 0);
		r->product_id = col_dup(st, 1);
		r->product = col_dup(st, 2);
		r->subject = col_dup(st, 3);
		r->subject_kind = col_dup(st, 4);
		r->product_set = col_dup(st, 5);
		r->eval_type = col_dup(st, 6);
		r->unit_code = col_dup(st, 7);
		r->unit_name = col_dup(st, 8);
		r->number = col_dup(st, 9);
		r->issued_on = col_dup(st, 10);
		r->expires_on = col_dup(st, 11);
		r->round_year = sqlite3_column_int(st, 12);
		r->round_no = sqlite3_column_int(st, 13);
		r->star = sqlite3_column_int(st, 14);
		r->imported = sqlite3_column_int(st, 15) != 0;
		r->mean = sqlite3_column_type(st, 16) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 16);
		r->evaluation_id = col_dup(st, 17);
		r->product_code = col_dup(st, 18);
		if (!r->evaluation_id || !r->product_code) {
			goto nomem;
		}
		if (!r->dossier_id || !r->product_id || !r->product || !r->subject || !r->subject_kind ||
		    !r->product_set || !r->eval_type || !r->unit_code || !r->unit_name || !r->number ||
		    !r->issued_on || !r->expires_on) {
			goto nomem;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		recs_free(v, len);
		return OCOP_EDB;
	}
	*out = v;
	*n = len;
	return OCOP_OK;
nomem:
	sqlite3_finalize(st);
	recs_free(v, len);
	return OCOP_ENOMEM;
}

/* Mark each product's latest recognition (the list is in issue order). */
static void
recs_latest_per_product(report_rec *v, size_t n, bool *latest)
{
	size_t i;
	size_t k;

	for (i = 0; i < n; i++) {
		latest[i] = true;
		for (k = i + 1; k < n && v[i].product_id[0] != 0; k++) {
			if (strcmp(v[i].product_id, v[k].product_id) == 0) {
				latest[i] = false;
				break;
			}
		}
	}
}

/* ===== Building the tables ===== */

/* The title of product set N of QĐ 26/2026 (from its rubric file), or a plain label. */
static void
set_label(ocp_council *c, int set, char *out, size_t cap)
{
	const ocp_rubric *r = NULL;
	char id[32];

	snprintf(id, sizeof(id), "qd26-2026/%02d", set);
	if (ocp_council_rubric(c, id, &r) == OCOP_OK && r != NULL) {
		snprintf(out, cap, "%s", ocp_rubric_title(r));
	} else {
		snprintf(out, cap, "Bộ sản phẩm %02d", set);
	}
}

static int
report_counts(ocp_report *rep, ocp_council *c, report_rec *v, size_t n)
{
	report_count kinds = {0};
	report_count grp = {0};
	report_count sets = {0};
	report_count units = {0};
	report_count rounds = {0};
	report_count types = {0};
	ocp_report_table *t;
	int64_t stars[3] = {0, 0, 0};
	size_t i;
	int rv = OCOP_OK;

	/* Fixed rows first, so the shape of these tables never depends on the data. */
	for (i = 0; i < NCOLS(subject_kinds) && rv == OCOP_OK; i++) {
		rv = count_add(&kinds, subject_kinds[i][0], subject_kinds[i][1], 0);
	}
	for (i = 0; i < sizeof(groups) / sizeof(groups[0]) && rv == OCOP_OK; i++) {
		rv = count_add(&grp, groups[i].key, groups[i].name, 0);
	}
	for (i = 0; i < NCOLS(eval_types) && rv == OCOP_OK; i++) {
		rv = count_add(&types, eval_types[i][0], eval_types[i][1], 0);
	}
	for (i = 1; i <= 26 && rv == OCOP_OK; i++) {
		char key[4];
		char label[256];

		snprintf(key, sizeof(key), "%02zu", i);
		set_label(c, (int)i, label, sizeof(label));
		rv = count_add(&sets, key, label, 0);
	}
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		const char *gkey;
		const char *gname;
		char rkey[24];
		char rlabel[48];
		char ukey[32];
		char uname[320];

		if (!v[i].keep) {
			continue;
		}
		stars[v[i].star - 3]++;
		gname = ocp_report_product_group(v[i].product_set, &gkey);
		if (ocp_units_rollup(rep->units, v[i].unit_code, rep->level, rep->current, ukey, sizeof(ukey), uname,
			sizeof(uname)) != OCOP_OK) {
			snprintf(ukey, sizeof(ukey), "%s", v[i].unit_code);
			uname[0] = '\0';
		}
		snprintf(rkey, sizeof(rkey), "%d/%d", v[i].round_year, v[i].round_no);
		snprintf(rlabel, sizeof(rlabel), "Đợt %d năm %d", v[i].round_no, v[i].round_year);
		if ((rv = count_add(&kinds, v[i].subject_kind[0] ? v[i].subject_kind : "other", NULL,
			 v[i].star)) != OCOP_OK ||
		    (rv = count_add(&grp, gkey, gname ? gname : "Không rõ bộ sản phẩm", v[i].star)) !=
			OCOP_OK ||
		    (rv = count_add(&units, ukey, uname, v[i].star)) != OCOP_OK ||
		    (rv = count_add(&sets, v[i].product_set[0] ? v[i].product_set : "?",
			 v[i].product_set[0] ? v[i].product_set : "Không rõ bộ sản phẩm", v[i].star)) != OCOP_OK ||
		    (rv = count_add(&rounds, rkey, rlabel, v[i].star)) != OCOP_OK ||
		    (rv = count_add(&types, v[i].eval_type, NULL, v[i].star)) != OCOP_OK) {
			break;
		}
	}
	if (rv != OCOP_OK) {
		goto out;
	}
	t = &rep->tables[T_STAR];
	if ((rv = table_init(t, "by_star", "Số sản phẩm OCOP theo hạng sao (products by star)",
		 star_cols, NCOLS(star_cols), 5)) != OCOP_OK) {
		goto out;
	}
	{
		static const char *const keys[] = {"3", "4", "5", "potential_5star", "total"};
		static const char *const labels[] = {"3 sao", "4 sao", "5 sao",
		    "Tiềm năng 5 sao (trạng thái, không phải hạng sao)",
		    "Tổng số sản phẩm OCOP từ 3 sao trở lên"};

		for (i = 0; i < 5 && rv == OCOP_OK; i++) {
			if ((rv = cell_text(t, i, 0, keys[i])) == OCOP_OK) {
				rv = cell_text(t, i, 1, labels[i]);
			}
			cell_int(t, i, 2, OCP_CELL_INT, i < 3 ? stars[i] : 0);
		}
		cell_int(t, 4, 2, OCP_CELL_INT, stars[0] + stars[1] + stars[2]);
	}
	if (rv == OCOP_OK) {
		rv = count_emit(&rep->tables[T_KIND], "by_subject_type",
		    "Theo loại hình chủ thể (by subject type)", kind_cols, &kinds);
	}
	if (rv == OCOP_OK) {
		rv = count_emit(&rep->tables[T_GROUP], "by_product_group",
		    "Theo ngành sản phẩm (by product group, QĐ 26/2026 Phụ lục I)", group_cols, &grp);
	}
	if (rv == OCOP_OK) {
		rv = count_emit(&rep->tables[T_SET], "by_product_set",
		    "Theo bộ sản phẩm (by product set, QĐ 26/2026 Phụ lục I)", set_cols, &sets);
	}
	if (rv == OCOP_OK) {
		count_sort(&units);
		rv = count_emit(&rep->tables[T_UNIT], "by_unit", rep->view, unit_cols, &units);
	}
	if (rv == OCOP_OK) {
		count_sort(&rounds);
		rv = count_emit(&rep->tables[T_ROUND], "by_round", "Theo đợt đánh giá (by round)",
		    round_cols, &rounds);
	}
	if (rv == OCOP_OK) {
		rv = count_emit(&rep->tables[T_TYPE], "by_evaluation_type",
		    "Công nhận mới, nâng hạng, công nhận lại (new, upgrade, re-evaluation)", type_cols,
		    &types);
	}
out:
	count_fini(&kinds);
	count_fini(&grp);
	count_fini(&sets);
	count_fini(&units);
	count_fini(&rounds);
	count_fini(&types);
	return rv;
}

/* Dossiers in scope with their latest provincial/district evaluation. */
static const char cand_sql[] =
    "SELECT ds.id, (SELECT e.id FROM evaluation e WHERE e.dossier_id = ds.id AND e.deleted = 0"
    " AND e.tier IN ('province', 'district') ORDER BY COALESCE(e.held_on, '') DESC, e.id DESC"
    " LIMIT 1),"
    " p.name, s.name, ds.unit_code, ds.round_year, ds.round_no,"
    " (SELECT COUNT(*) FROM decision a WHERE a.dossier_id = ds.id AND a.deleted = 0"
    " AND a.kind = 'approval'),"
    " (SELECT n.star FROM decision n WHERE n.dossier_id = ds.id AND n.deleted = 0"
    " AND n.kind = 'national_result' ORDER BY n.id DESC LIMIT 1)"
    " FROM dossier ds LEFT JOIN product p ON p.id = ds.product_id"
    " LEFT JOIN subject s ON s.id = p.subject_id"
    " WHERE ds.deleted = 0 AND (?1 = 0 OR (ds.round_year = ?1 AND ds.round_no = ?2))"
    " ORDER BY ds.id";

/* Grow a table by one row; returns the new row's index or (size_t)-1 on ENOMEM. */
static size_t
table_grow(ocp_report_table *t)
{
	ocp_report_cell *cells = com_realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof(*cells));

	if (cells == NULL) {
		return (size_t)-1;
	}
	t->cells = cells;
	memset(&cells[t->nrows * t->ncols], 0, t->ncols * sizeof(*cells));
	return t->nrows++;
}

static int
report_candidates(ocp_report *rep, ocp_council *c, const ocp_report_opts *o, int64_t *potential,
    int64_t evaluated[6])
{
	sqlite3 *db = sto_sqlite(ocp_council_db(c));
	ocp_report_table *t = &rep->tables[T_CAND];
	sqlite3_stmt *st = NULL;
	int rc;
	int rv;

	*potential = 0;
	if ((rv = table_init(t, "candidates",
		 "Sản phẩm đạt từ 90 điểm, đề xuất cấp quốc gia (potential 5★ candidates and their scores)",
		 cand_cols, NCOLS(cand_cols), 0)) != OCOP_OK) {
		return rv;
	}
	if (sqlite3_prepare_v2(db, cand_sql, -1, &st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_int(st, 1, o->round_year);
	sqlite3_bind_int(st, 2, o->round_no);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		ocp_council_result *res = NULL;
		const unsigned char *eid = sqlite3_column_text(st, 1);
		char round[24];
		size_t row;
		bool nat;

		if (eid == NULL) {
			continue;
		}
		rv = ocp_council_result_compute(c, (const char *)eid, &res);
		if (rv == OCOP_ENOMEM || rv == OCOP_EDB) {
			break;
		}
		rv = OCOP_OK;
		if (res == NULL) {
			continue; /* incomplete sheets or no members yet: no score to report */
		}
		/* Every product the council scored counts, 1★ and 2★ (and no star) included. */
		evaluated[res->score->star >= 0 && res->score->star <= 5 ? res->score->star : 0]++;
		if (ocp_score_band(res->score->sum, res->score->count) != 5) {
			ocp_council_result_free(res);
			continue;
		}
		row = table_grow(t);
		if (row == (size_t)-1) {
			ocp_council_result_free(res);
			rv = OCOP_ENOMEM;
			break;
		}
		nat = sqlite3_column_type(st, 8) != SQLITE_NULL;
		snprintf(round, sizeof(round), "%d/%d", sqlite3_column_int(st, 5),
		    sqlite3_column_int(st, 6));
		if ((rv = cell_text(t, row, 0, (const char *)sqlite3_column_text(st, 0))) == OCOP_OK &&
		    (rv = cell_text(t, row, 1, (const char *)eid)) == OCOP_OK &&
		    (rv = cell_text(t, row, 2, (const char *)sqlite3_column_text(st, 2))) == OCOP_OK &&
		    (rv = cell_text(t, row, 3, (const char *)sqlite3_column_text(st, 3))) == OCOP_OK &&
		    (rv = cell_text(t, row, 4, (const char *)sqlite3_column_text(st, 4))) == OCOP_OK) {
			rv = cell_text(t, row, 5, round);
		}
		cell_int(t, row, 6, OCP_CELL_POINTS, res->score->mean_display);
		cell_int(t, row, 7, OCP_CELL_INT, res->score->star);
		cell_int(t, row, 8, OCP_CELL_BOOL, res->score->potential_5star);
		cell_int(t, row, 9, OCP_CELL_BOOL, sqlite3_column_int(st, 7) > 0);
		if (nat) {
			cell_int(t, row, 10, OCP_CELL_INT, sqlite3_column_int64(st, 8));
		}
		if (res->score->potential_5star && !nat) {
			(*potential)++;
		}
		ocp_council_result_free(res);
		if (rv != OCOP_OK) {
			break;
		}
	}
	if (rv == OCOP_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
		rv = OCOP_EDB;
	}
	sqlite3_finalize(st);
	return rv;
}

static int
report_expiring(ocp_report *rep, const report_rec *v, const bool *latest, size_t n, int64_t today)
{
	ocp_report_table *t = &rep->tables[T_EXPIRING];
	size_t i;
	int rv;

	if ((rv = table_init(t, "expiring",
		 "Giấy chứng nhận sắp hết hạn, trong 180 ngày (certificates expiring; re-evaluation "
		 "window opens 180 and closes 120 days before expiry)",
		 exp_cols, NCOLS(exp_cols), 0)) != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		char opens[11];
		char closes[11];
		int64_t exp;
		size_t row;

		if (!latest[i] || ocp_council_date_parse(v[i].expires_on, &exp) != OCOP_OK ||
		    exp < today || exp - today > OCP_REEVAL_OPENS_DAYS) {
			continue;
		}
		if ((row = table_grow(t)) == (size_t)-1) {
			return OCOP_ENOMEM;
		}
		ocp_council_date_format(exp - OCP_REEVAL_OPENS_DAYS, opens);
		ocp_council_date_format(exp - OCP_REEVAL_CLOSES_DAYS, closes);
		if ((rv = cell_text(t, row, 0, v[i].product)) == OCOP_OK &&
		    (rv = cell_text(t, row, 1, v[i].subject)) == OCOP_OK &&
		    (rv = cell_text(t, row, 2, v[i].unit_code)) == OCOP_OK &&
		    (rv = cell_text(t, row, 4, v[i].number)) == OCOP_OK &&
		    (rv = cell_text(t, row, 5, v[i].issued_on)) == OCOP_OK &&
		    (rv = cell_text(t, row, 6, v[i].expires_on)) == OCOP_OK &&
		    (rv = cell_text(t, row, 8, opens)) == OCOP_OK &&
		    (rv = cell_text(t, row, 9, closes)) == OCOP_OK) {
			/* Within 180 days the window has opened; past 120 days before expiry it has closed. */
			rv = cell_text(t, row, 10, exp - today >= OCP_REEVAL_CLOSES_DAYS ? "open" : "closed");
		}
		cell_int(t, row, 3, OCP_CELL_INT, v[i].star);
		cell_int(t, row, 7, OCP_CELL_INT, exp - today);
	}
	return rv;
}

/* Subject kinds as the summary names them ("72 hộ kinh doanh, 20 công ty ... và 2 tổ hợp tác"). */
static const char *const kind_words[] = {"hợp tác xã", "tổ hợp tác", "doanh nghiệp", "trang trại",
    "hộ sản xuất, kinh doanh", "chủ thể khác"};

/* The integer in a counting table's cell (0 when not an integer). */
static int64_t
table_int(const ocp_report_table *t, size_t row, size_t col)
{
	const ocp_report_cell *x = ocp_report_cell_at(t, row, col);

	return x->kind == OCP_CELL_INT ? x->i : 0;
}

/*
 * The summary paragraph: who has how many OCOP products (distinct subjects
 * by kind), the recognised ones by star and by unit at the report's level,
 * and the results by star including 1★ and 2★, in the provinces' own words.
 */
static int
report_summary(ocp_report *rep, const int64_t *subj, int64_t total_products, int64_t total_subjects,
    const int64_t by_star[6], char **text)
{
	static const char *const view_words[2][3] = {
	    {"theo đơn vị như ghi nhận", "theo huyện cũ", "theo tỉnh như ghi nhận"},
	    {"theo xã, phường hiện nay", "theo huyện cũ", "theo tỉnh hiện nay"},
	};
	const ocp_report_table *st = &rep->tables[T_STAR];
	const ocp_report_table *ut = &rep->tables[T_UNIT];
	com_buf b;
	size_t kinds = 0;
	size_t seen = 0;
	size_t i;
	bool first = true;

	*text = NULL;
	for (i = 0; i < NCOLS(subject_kinds); i++) {
		kinds += subj[i] != 0;
	}
	com_buf_init(&b);
	if (rep->round[0]) {
		int y = 0, no = 0;

		sscanf(rep->round, "%d/%d", &y, &no);
		com_buf_printf(&b, "Đợt %d năm %d, ", no, y);
	}
	com_buf_printf(&b, "%s", rep->place[0] ? rep->place : "Toàn tỉnh");
	if (total_products == 0) {
		com_buf_printf(&b, " chưa có sản phẩm OCOP nào được công nhận.");
	} else {
		com_buf_printf(&b, " có %lld sản phẩm OCOP của %lld chủ thể (", (long long)total_products,
		    (long long)total_subjects);
		for (i = 0; i < NCOLS(subject_kinds); i++) {
			if (subj[i] == 0) {
				continue;
			}
			seen++;
			com_buf_printf(&b, "%s%lld %s", first ? "" : (seen == kinds ? " và " : ", "), (long long)subj[i],
			    kind_words[i]);
			first = false;
		}
		com_buf_printf(&b, "), trong đó");
		first = true;
		for (i = 0; i < 3; i++) {
			int64_t n = table_int(st, i, 2);

			if (n == 0) {
				continue;
			}
			com_buf_printf(&b, "%s %lld sản phẩm %zu sao", first ? "" : ",", (long long)n, i + 3);
			first = false;
		}
		com_buf_printf(&b, " (%s: ", view_words[rep->current ? 1 : 0][rep->level]);
		first = true;
		for (i = 0; i < ut->nrows; i++) {
			const ocp_report_cell *k = ocp_report_cell_at(ut, i, 0);
			const ocp_report_cell *l = ocp_report_cell_at(ut, i, 1);

			com_buf_printf(&b, "%s%s %02lld sản phẩm", first ? "" : "; ",
			    l->kind == OCP_CELL_TEXT && l->s[0] ? l->s : (k->kind == OCP_CELL_TEXT ? k->s : "?"),
			    (long long)table_int(ut, i, 5));
			first = false;
		}
		com_buf_printf(&b, ").");
	}
	com_buf_printf(&b, " Kết quả đánh giá:");
	first = true;
	for (i = 1; i <= 5; i++) {
		if (by_star[i] == 0) {
			continue;
		}
		com_buf_printf(&b, "%s đạt %zu sao có %lld sản phẩm", first ? "" : ";", i, (long long)by_star[i]);
		first = false;
	}
	if (by_star[0] != 0) {
		com_buf_printf(&b, "%s %lld sản phẩm không xếp hạng (bị loại hoặc hội đồng không đủ thành viên)",
		    first ? "" : ";", (long long)by_star[0]);
		first = false;
	}
	com_buf_printf(&b, "%s.", first ? " chưa có sản phẩm nào được đánh giá" : "");
	if (b.data == NULL || (*text = com_strdup((const char *)b.data)) == NULL) {
		com_buf_fini(&b);
		return OCOP_ENOMEM;
	}
	com_buf_fini(&b);
	return OCOP_OK;
}

/*
 * The tables added for the published shape: products evaluated by star (1★ to
 * 5★ and no star, live results and imported history), distinct subjects by
 * kind with their products, the list of recognised products (also the export
 * for the national OCOP database), and the summary paragraph.
 */
static int
report_published(ocp_report *rep, ocp_council *c, const ocp_report_opts *o, const report_rec *v,
    size_t n, const int64_t evaluated[6])
{
	static const char *const star_labels[] = {"Không xếp hạng (loại, không đủ điều kiện)", "1 sao",
	    "2 sao", "3 sao", "4 sao", "5 sao"};
	sqlite3 *db = sto_sqlite(ocp_council_db(c));
	sqlite3_stmt *st = NULL;
	int64_t hist[6] = {0, 0, 0, 0, 0, 0};
	int64_t subj[NCOLS(subject_kinds)] = {0}, prod[NCOLS(subject_kinds)] = {0};
	int64_t total_products = 0, total_subjects = 0, by_star[6] = {0, 0, 0, 0, 0, 0};
	ocp_report_table *t;
	size_t i, k, row;
	int rv, rc;
	char *text = NULL;

	/* Imported results of the same rounds, every star. */
	if (sqlite3_prepare_v2(db,
		"SELECT star, COUNT(*) FROM history WHERE deleted = 0 AND star BETWEEN 0 AND 5"
		" AND (?1 = 0 OR (round_year = ?1 AND round_no = ?2)) GROUP BY star",
		-1, &st, NULL) != SQLITE_OK) {
		return OCOP_EDB;
	}
	sqlite3_bind_int(st, 1, o->round_year);
	sqlite3_bind_int(st, 2, o->round_no);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		hist[sqlite3_column_int(st, 0)] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		return OCOP_EDB;
	}
	t = &rep->tables[T_EVALUATED];
	if ((rv = table_init(t, "evaluated_by_star",
		 "Sản phẩm được đánh giá theo kết quả, kể cả 1 sao và 2 sao (products evaluated, by star)",
		 eval_star_cols, NCOLS(eval_star_cols), 7)) != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < 6 && rv == OCOP_OK; i++) {
		char key[4];

		row = 5 - i; /* 5★ first */
		snprintf(key, sizeof(key), "%zu", row);
		if ((rv = cell_text(t, i, 0, key)) == OCOP_OK) {
			rv = cell_text(t, i, 1, star_labels[row]);
		}
		cell_int(t, i, 2, OCP_CELL_INT, evaluated[row] + hist[row]);
		cell_int(t, i, 3, OCP_CELL_INT, hist[row]);
		by_star[row] = evaluated[row] + hist[row];
	}
	if (rv == OCOP_OK && (rv = cell_text(t, 6, 0, "total")) == OCOP_OK) {
		rv = cell_text(t, 6, 1, "Tổng số sản phẩm được đánh giá");
	}
	cell_int(t, 6, 2, OCP_CELL_INT,
	    by_star[0] + by_star[1] + by_star[2] + by_star[3] + by_star[4] + by_star[5]);
	cell_int(t, 6, 3, OCP_CELL_INT, hist[0] + hist[1] + hist[2] + hist[3] + hist[4] + hist[5]);
	if (rv != OCOP_OK) {
		return rv;
	}

	/* Distinct subjects (by kind and name) among the products counted. */
	for (i = 0; i < n; i++) {
		bool seen = false;

		if (!v[i].keep) {
			continue;
		}
		for (k = 0; k < NCOLS(subject_kinds) && strcmp(subject_kinds[k][0], v[i].subject_kind) != 0; k++) {
		}
		if (k == NCOLS(subject_kinds)) {
			k = NCOLS(subject_kinds) - 1; /* other */
		}
		prod[k]++;
		total_products++;
		for (row = 0; row < i && !seen; row++) {
			seen = v[row].keep && strcmp(v[row].subject, v[i].subject) == 0 &&
			    strcmp(v[row].subject_kind, v[i].subject_kind) == 0;
		}
		if (!seen) {
			subj[k]++;
			total_subjects++;
		}
	}
	t = &rep->tables[T_SUBJECTS];
	if ((rv = table_init(t, "subjects_by_type",
		 "Chủ thể có sản phẩm OCOP theo loại hình (distinct subjects by type, and their products)",
		 subj_cols, NCOLS(subj_cols), NCOLS(subject_kinds) + 1)) != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < NCOLS(subject_kinds) && rv == OCOP_OK; i++) {
		if ((rv = cell_text(t, i, 0, subject_kinds[i][0])) == OCOP_OK) {
			rv = cell_text(t, i, 1, subject_kinds[i][1]);
		}
		cell_int(t, i, 2, OCP_CELL_INT, subj[i]);
		cell_int(t, i, 3, OCP_CELL_INT, prod[i]);
	}
	if (rv == OCOP_OK && (rv = cell_text(t, i, 0, "total")) == OCOP_OK) {
		rv = cell_text(t, i, 1, "Tổng số");
	}
	cell_int(t, i, 2, OCP_CELL_INT, total_subjects);
	cell_int(t, i, 3, OCP_CELL_INT, total_products);
	if (rv != OCOP_OK) {
		return rv;
	}

	/* The recognised products, one line each: what the national database takes. */
	t = &rep->tables[T_RECOGNISED];
	if ((rv = table_init(t, "recognised",
		 "Danh sách sản phẩm OCOP được công nhận (recognised products: for the national OCOP "
		 "database and e-commerce listings)",
		 recog_cols, NCOLS(recog_cols), 0)) != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		int64_t mean = v[i].mean;
		char round[24];
		char now[8];

		if (!v[i].keep) {
			continue;
		}
		if (mean < 0 && v[i].evaluation_id[0] != '\0') {
			ocp_council_result *res = NULL;

			if (ocp_council_result_compute(c, v[i].evaluation_id, &res) == OCOP_OK && res != NULL) {
				mean = res->score->mean_display;
			}
			ocp_council_result_free(res);
		}
		if ((row = table_grow(t)) == (size_t)-1) {
			return OCOP_ENOMEM;
		}
		snprintf(round, sizeof(round), "%d/%d", v[i].round_year, v[i].round_no);
		if (!ocp_units_successor(rep->units, v[i].unit_code, now, sizeof(now))) {
			snprintf(now, sizeof(now), "%.2s", v[i].unit_code);
		}
		if ((rv = cell_text(t, row, 0, v[i].product)) == OCOP_OK &&
		    (rv = cell_text(t, row, 1, v[i].subject)) == OCOP_OK &&
		    (rv = cell_text(t, row, 2, v[i].subject_kind)) == OCOP_OK &&
		    (rv = cell_text(t, row, 3, v[i].unit_code)) == OCOP_OK &&
		    (rv = cell_text(t, row, 4, v[i].unit_name)) == OCOP_OK &&
		    (rv = cell_text(t, row, 5, now)) == OCOP_OK &&
		    (rv = cell_text(t, row, 6, v[i].product_set)) == OCOP_OK &&
		    (rv = cell_text(t, row, 9, v[i].number)) == OCOP_OK &&
		    (rv = cell_text(t, row, 10, v[i].issued_on)) == OCOP_OK &&
		    (rv = cell_text(t, row, 11, v[i].expires_on[0] ? v[i].expires_on : NULL)) == OCOP_OK &&
		    (rv = cell_text(t, row, 12, v[i].product_code[0] ? v[i].product_code : NULL)) == OCOP_OK) {
			rv = cell_text(t, row, 13, round);
		}
		if (mean >= 0) {
			cell_int(t, row, 7, OCP_CELL_POINTS, mean);
		}
		cell_int(t, row, 8, OCP_CELL_INT, v[i].star);
		cell_int(t, row, 14, OCP_CELL_BOOL, v[i].imported);
	}
	if (rv != OCOP_OK) {
		return rv;
	}

	/* The paragraph provinces publish, with the numbers filled in. */
	if ((rv = report_summary(rep, subj, total_products, total_subjects, by_star, &text)) != OCOP_OK) {
		return rv;
	}
	t = &rep->tables[T_SUMMARY];
	rv = table_init(t, "summary", "Tóm tắt (summary paragraph, as provinces publish it)", summary_cols,
	    1, 1);
	if (rv == OCOP_OK) {
		rv = cell_text(t, 0, 0, text);
	}
	com_free(text);
	return rv;
}

/* Which units by_unit shows, and the place the report speaks for (the site's province). */
static void
report_view(ocp_report *rep, const char *scope)
{
	static const char *const views[2][3] = {
	    {"Theo đơn vị hành chính như ghi nhận trong hồ sơ (by unit, codes as recorded)",
		"Theo huyện cũ, trước 1/7/2025 (by former district)",
		"Theo tỉnh như ghi nhận trong hồ sơ (by province, as recorded)"},
	    {"Theo xã, phường hiện nay, qua sắp xếp đơn vị hành chính (by unit, mapped to today's units)",
		"Theo huyện cũ, trước 1/7/2025 (by former district)",
		"Theo tỉnh hiện nay, qua sắp xếp theo NQ 202/2025/QH15 (by current province)"},
	};
	const char *nm;

	snprintf(rep->view, sizeof(rep->view), "%s", views[rep->current ? 1 : 0][rep->level]);
	rep->place[0] = '\0';
	if (scope == NULL || scope[0] == '\0' || strchr(scope, ',') != NULL) {
		return;
	}
	if (strcmp(scope, "VN") == 0) {
		snprintf(rep->place, sizeof(rep->place), "Cả nước");
	} else if ((nm = ocp_units_name(rep->units, scope)) != NULL) {
		snprintf(rep->place, sizeof(rep->place), "%s", nm);
	} else if (strchr(scope, '-') != NULL) {
		/* A commune site whose unit the replica does not name: say which one it is. */
		snprintf(rep->place, sizeof(rep->place), "Đơn vị %s", scope);
	}
}

int
ocp_report_build(ocp_report **out, ocp_council *c, const ocp_report_opts *opts)
{
	ocp_report *rep = NULL;
	ocp_units *owned = NULL;
	report_rec *v = NULL;
	bool *latest = NULL;
	int64_t potential = 0;
	int64_t evaluated[6] = {0, 0, 0, 0, 0, 0};
	size_t n = 0;
	size_t i;
	int rv;

	*out = NULL;
	if ((opts->round_year == 0) != (opts->round_no == 0) || opts->round_year < 0 ||
	    opts->round_no < 0 || (unsigned)opts->unit_level > OCP_LEVEL_PROVINCE ||
	    (opts->unit_level == OCP_LEVEL_DISTRICT && opts->unit_current)) {
		return OCOP_EINVAL;
	}
	rep = com_calloc(1, sizeof(*rep));
	if (rep == NULL) {
		return OCOP_ENOMEM;
	}
	ocp_council_date_format(opts->today, rep->today);
	if (opts->round_year != 0) {
		snprintf(rep->round, sizeof(rep->round), "%d/%d", opts->round_year, opts->round_no);
	}
	rep->level = opts->unit_level;
	rep->current = opts->unit_current;
	rep->units = opts->units;
	if (rep->units == NULL) {
		char err[256];

		if ((rv = ocp_units_open(&owned, ocp_council_data_dir(c), err, sizeof(err))) != OCOP_OK ||
		    (rv = ocp_units_load_db(owned, ocp_council_db(c))) != OCOP_OK) {
			goto fail;
		}
		rep->units = owned;
	}
	report_view(rep, sto_scope(ocp_council_db(c)));
	if ((rv = report_recs_load(c, &v, &n)) != OCOP_OK) {
		goto fail;
	}
	for (i = 0; i < n; i++) {
		char key[32];
		char nm[320];

		if (v[i].unit_name[0] == '\0' &&
		    ocp_units_rollup(rep->units, v[i].unit_code, OCP_LEVEL_COMMUNE, false, key, sizeof(key), nm,
			sizeof(nm)) == OCOP_OK &&
		    nm[0] != '\0') {
			char *dup = com_strdup(nm);

			if (dup == NULL) {
				rv = OCOP_ENOMEM;
				goto fail;
			}
			com_free(v[i].unit_name);
			v[i].unit_name = dup;
		}
	}
	latest = com_calloc(n ? n : 1, sizeof(*latest));
	if (latest == NULL) {
		rv = OCOP_ENOMEM;
		goto fail;
	}
	recs_latest_per_product(v, n, latest);
	for (i = 0; i < n; i++) {
		int64_t issued = 0;
		int64_t exp = 0;
		bool valid = ocp_council_date_parse(v[i].issued_on, &issued) == OCOP_OK &&
		    issued <= opts->today &&
		    (v[i].expires_on[0] == 0 ||
			(ocp_council_date_parse(v[i].expires_on, &exp) == OCOP_OK && exp >= opts->today));

		if (opts->round_year != 0) {
			v[i].keep = v[i].round_year == opts->round_year && v[i].round_no == opts->round_no;
		} else {
			v[i].keep = latest[i] && valid;
		}
	}
	if ((rv = report_counts(rep, c, v, n)) != OCOP_OK ||
	    (rv = report_candidates(rep, c, opts, &potential, evaluated)) != OCOP_OK ||
	    (rv = report_expiring(rep, v, latest, n, opts->today)) != OCOP_OK ||
	    (rv = report_published(rep, c, opts, v, n, evaluated)) != OCOP_OK) {
		goto fail;
	}
	cell_int(&rep->tables[T_STAR], 3, 2, OCP_CELL_INT, potential);
	com_free(latest);
	recs_free(v, n);
	rep->units = NULL;
	ocp_units_free(owned);
	*out = rep;
	return OCOP_OK;
fail:
	com_free(latest);
	recs_free(v, n);
	ocp_units_free(owned);
	ocp_report_free(rep);
	return rv;
}

void
ocp_report_free(ocp_report *r)
{
	size_t i;

	if (r == NULL) {
		return;
	}
	for (i = 0; i < T_COUNT_; i++) {
		table_fini(&r->tables[i]);
	}
	com_free(r);
}

size_t
ocp_report_table_count(const ocp_report *r)
{
	(void)r;
	return T_COUNT_;
}

const ocp_report_table *
ocp_report_table_at(const ocp_report *r, size_t i)
{
	return &r->tables[table_order[i]];
}

const char *
ocp_report_today(const ocp_report *r)
{
	return r->today;
}

const char *
ocp_report_round(const ocp_report *r)
{
	return r->round;
}

const char *
ocp_report_view(const ocp_report *r)
{
	return r->view;
}

void
ocp_report_heading(const ocp_report *r, char *out, size_t cap)
{
	if (r->round[0]) {
		snprintf(out, cap, "%s; đợt %s", r->today, r->round);
	} else {
		snprintf(out, cap, "%s", r->today);
	}
}

/* Is table t selected by keys (every table when n is 0)? */
static bool
table_selected(const ocp_report_table *t, const char *const *keys, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(keys[i], t->key) == 0) {
			return true;
		}
	}
	return n == 0;
}

bool
ocp_report_keys_valid(const ocp_report *r, const char *const *keys, size_t n, size_t *bad)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (ocp_report_table_find(r, keys[i]) == NULL) {
			*bad = i;
			return false;
		}
	}
	return true;
}

const ocp_report_table *
ocp_report_table_find(const ocp_report *r, const char *key)
{
	size_t i;

	for (i = 0; i < T_COUNT_; i++) {
		if (r->tables[i].key != NULL && strcmp(r->tables[i].key, key) == 0) {
			return &r->tables[i];
		}
	}
	return NULL;
}

/* ===== Rendering ===== */

static json_t *
cell_json(const ocp_report_cell *x)
{
	switch (x->kind) {
	case OCP_CELL_TEXT:
		return json_string(x->s);
	case OCP_CELL_INT:
		return json_integer(x->i);
	case OCP_CELL_POINTS:
		return json_real((double)x->i / 100.0);
	case OCP_CELL_BOOL:
		return json_boolean(x->i != 0);
	default:
		return json_null();
	}
}

json_t *
ocp_report_json(const ocp_report *r)
{
	return ocp_report_json_tables(r, NULL, 0);
}

json_t *
ocp_report_json_tables(const ocp_report *r, const char *const *keys, size_t nkeys)
{
	static const char *const levels[] = {"commune", "district", "province"};
	json_t *root = json_object();
	json_t *view = json_object();
	size_t i;
	size_t row;
	size_t col;

	if (root == NULL || view == NULL || json_object_set_new(root, "today", json_string(r->today)) != 0 ||
	    json_object_set_new(root, "round", r->round[0] ? json_string(r->round) : json_null()) != 0 ||
	    json_object_set_new(view, "level", json_string(levels[r->level])) != 0 ||
	    json_object_set_new(view, "current", json_boolean(r->current)) != 0 ||
	    json_object_set_new(view, "label", json_string(r->view)) != 0 ||
	    json_object_set_new(root, "unit_view", json_incref(view)) != 0) {
		json_decref(view);
		json_decref(root);
		return NULL;
	}
	json_decref(view);
	for (i = 0; i < T_COUNT_; i++) {
		const ocp_report_table *t = ocp_report_table_at(r, i);
		json_t *arr;

		if (!table_selected(t, keys, nkeys)) {
			continue;
		}
		arr = json_array();

		if (arr == NULL || json_object_set_new(root, t->key, arr) != 0) {
			json_decref(root);
			return NULL;
		}
		for (row = 0; row < t->nrows; row++) {
			json_t *o = json_object();

			if (o == NULL || json_array_append_new(arr, o) != 0) {
				json_decref(root);
				return NULL;
			}
			for (col = 0; col < t->ncols; col++) {
				if (json_object_set_new(o, t->cols[col],
					cell_json(ocp_report_cell_at(t, row, col))) != 0) {
					json_decref(root);
					return NULL;
				}
			}
		}
	}
	return root;
}

/* Write one field: text through libcsv (quoted, quotes doubled), the rest plain. */
static bool
csv_field(FILE *f, const ocp_report_cell *x, bool first)
{
	char buf[32];

	if (!first && fputc(',', f) == EOF) {
		return false;
	}
	switch (x->kind) {
	case OCP_CELL_TEXT:
		return csv_fwrite(f, x->s, strlen(x->s)) == 0;
	case OCP_CELL_INT:
		return fprintf(f, "%lld", (long long)x->i) >= 0;
	case OCP_CELL_POINTS:
		ocp_points_format(buf, sizeof(buf), x->i);
		return fputs(buf, f) != EOF;
	case OCP_CELL_BOOL:
		return fputs(x->i ? "yes" : "no", f) != EOF;
	default:
		return true;
	}
}

static bool
csv_text_row(FILE *f, const char *const *texts, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if ((i > 0 && fputc(',', f) == EOF) || csv_fwrite(f, texts[i], strlen(texts[i])) != 0) {
			return false;
		}
	}
	return fputs("\r\n", f) != EOF;
}

int
ocp_report_write_csv(const ocp_report *r, FILE *f)
{
	return ocp_report_write_csv_tables(r, f, NULL, 0);
}

int
ocp_report_write_csv_tables(const ocp_report *r, FILE *f, const char *const *keys, size_t nkeys)
{
	static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
	size_t i;
	size_t row;
	size_t col;
	size_t written = 0;
	bool ok = fwrite(bom, 1, sizeof(bom), f) == sizeof(bom);

	for (i = 0; ok && i < T_COUNT_; i++) {
		const ocp_report_table *t = ocp_report_table_at(r, i);
		char when[64];
		char heading[600];
		const char *h = heading;

		if (!table_selected(t, keys, nkeys)) {
			continue;
		}
		ocp_report_heading(r, when, sizeof(when));
		snprintf(heading, sizeof(heading), "%s (%s)", t->title, when);
		ok = (written++ == 0 || fputs("\r\n", f) != EOF) && csv_text_row(f, &h, 1) &&
		    csv_text_row(f, t->cols, t->ncols);
		for (row = 0; ok && row < t->nrows; row++) {
			for (col = 0; ok && col < t->ncols; col++) {
				ok = csv_field(f, ocp_report_cell_at(t, row, col), col == 0);
			}
			ok = ok && fputs("\r\n", f) != EOF;
		}
	}
	if (!ok || fflush(f) != 0 || ferror(f)) {
		return OCOP_EIO;
	}
	return OCOP_OK;
}
