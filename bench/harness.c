/*
 * harness.c: clock, medians, temporary directories, generated dossiers and the
 * insert loops shared by the benchmark programs (see harness.h).
 */
#include "bench/harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "common/util/uuid.h"
#include "ocop_err.h"
#include "protocol/change.h"
#include "protocol/wire.h"

/* ===== Time and statistics ===== */

double
bn_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
harness_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a;
	double y = *(const double *)b;

	return x < y ? -1 : x > y ? 1 : 0;
}

double
bn_median(double *v, int n)
{
	if (n <= 0) {
		return 0;
	}
	qsort(v, (size_t)n, sizeof(v[0]), harness_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ===== Temporary directories ===== */

char *
bn_dir_make(void)
{
	const char *base = getenv("TMPDIR");
	char path[512];

	snprintf(path, sizeof(path), "%s/ocop-bench-XXXXXX", base && base[0] ? base : "/tmp");
	if (mkdtemp(path) == NULL) {
		return NULL;
	}
	return com_strdup(path);
}

void
bn_dir_remove(char *dir)
{
	DIR *d;
	struct dirent *e;
	char path[1024];

	if (dir == NULL) {
		return;
	}
	if (getenv("OCOP_BENCH_KEEP") != NULL) {
		fprintf(stderr, "bench: kept %s\n", dir);
		com_free(dir);
		return;
	}
	/* The benchmarks put plain files here (databases, WAL, SHM, logs), and
	 * directories of plain files (a CA). */
	if ((d = opendir(dir)) != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
				snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
				if (unlink(path) != 0) {
					bn_dir_remove(com_strdup(path));
				}
			}
		}
		closedir(d);
	}
	rmdir(dir);
	com_free(dir);
}

uint64_t
bn_file_bytes(const char *path)
{
	struct stat st;
	char wal[1024];
	uint64_t n = 0;

	if (stat(path, &st) == 0) {
		n += (uint64_t)st.st_size;
	}
	snprintf(wal, sizeof(wal), "%s-wal", path);
	if (stat(wal, &st) == 0) {
		n += (uint64_t)st.st_size;
	}
	return n;
}

/* ===== Generated dossiers ===== */

static const char *const harness_cols[BN_DOSSIER_NCOLS] = {
    "product_id", "legal_basis", "rubric_id", "eval_type", "round_year",
    "round_no", "unit_code", "province_code", "status", "epoch",
    "status_note", "update_deadline", "filed_on", "product_code", "issuing_body",
};

static int harness_exec(sqlite3 *db, const char *sql);

/*
 * The id of the subject (which 0) or product (which 1) of family key: fixed
 * per key, from a hash of it. Returns a thread-local string (one per which,
 * valid until the next call). Cannot fail.
 */
static const char *
harness_parent_id(const char *key, int which)
{
	static _Thread_local char ids[2][37];
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	const char *p;

	for (p = key; *p != 0; p++) {
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	}
	snprintf(ids[which], sizeof(ids[which]), "0190f0f0-%04x-7000-8000-%012llx", 0xa000u + (unsigned)which,
	    (unsigned long long)(h & 0xffffffffffffULL));
	return ids[which];
}

int
bn_parents_insert(sto_db *db, const char *unit_code, const char *key)
{
	char sql[1024];
	char subject[37];
	int rv;

	if (key == NULL) {
		key = unit_code;
	}
	snprintf(subject, sizeof(subject), "%s", harness_parent_id(key, 0));
	snprintf(sql, sizeof(sql),
	    "BEGIN IMMEDIATE;"
	    "INSERT INTO subject(id, name, kind, unit_code) VALUES('%s', 'Hợp tác xã Dừa %s', 'htx', '%s');"
	    "INSERT INTO product(id, subject_id, name, product_set, unit_code)"
	    " VALUES('%s', '%s', 'Kẹo dừa sáp %s', '07', '%s');"
	    "COMMIT;",
	    subject, key, unit_code, harness_parent_id(key, 1), subject, key, unit_code);
	rv = harness_exec(sto_sqlite(db), sql);
	if (rv != OCOP_OK) {
		harness_exec(sto_sqlite(db), "ROLLBACK");
	}
	return rv;
}

void
bn_rows_set_product(bn_row *rows, size_t n, const char *key)
{
	const char *id = harness_parent_id(key, 1);
	size_t i;

	for (i = 0; i < n; i++) {
		memcpy(rows[i].text, id, 36); /* product_id is the first value, 36 characters */
	}
}

void
bn_dossier_row(bn_row *r, unsigned i, const char *unit_code)
{
	static const char *const kinds[] = {"first", "upgrade", "reevaluation"};
	static const char *const communes[] = {"Tân Phú", "Đồng Tiến", "Thuận Lợi", "Phước Thiện"};
	char *p = r->text;
	size_t left = sizeof(r->text);
	int k = 0;
	int n;

#define PUT(...)                                                          \
	do {                                                              \
		n = snprintf(p, left, __VA_ARGS__);                       \
		r->cols[k] = harness_cols[k];                             \
		r->vals[k++] = p;                                         \
		n = n < 0 ? 0 : (size_t)n >= left ? (int)left - 1 : n;   \
		p += n + 1;                                               \
		left -= (size_t)n + 1;                                    \
	} while (0)

	PUT("%s", harness_parent_id(unit_code, 1));
	PUT("qd26-2026");
	PUT("qd26-2026/01");
	PUT("%s", kinds[i % 3]);
	PUT("2026");
	PUT("%u", 1 + i % 2);
	PUT("%s", unit_code);
	PUT("83");
	PUT("draft");
	PUT("0");
	PUT("Hồ sơ số %05u: phiếu đăng ký sản phẩm OCOP, phương án sản xuất kinh doanh, bản sao "
	    "giấy chứng nhận đăng ký kinh doanh, giấy chứng nhận cơ sở đủ điều kiện an toàn thực "
	    "phẩm, tiêu chuẩn cơ sở và phiếu kết quả kiểm nghiệm; đã kiểm tra đủ thành phần.",
	    i);
	PUT("2026-%02u-%02u", 4 + i % 6, 1 + i % 28);
	PUT("2026-03-%02u", 1 + i % 28);
	PUT("OCOP-%s-%05u", unit_code, i);
	PUT("Ủy ban nhân dân xã %s, huyện Đồng Phú, tỉnh Bình Phước (Phòng Kinh tế)",
	    communes[i % 4]);
#undef PUT
}

bn_row *
bn_rows_make(unsigned first, size_t n, const char *unit_code)
{
	bn_row *rows = com_calloc(n, sizeof(*rows));
	size_t i;

	if (rows == NULL) {
		return NULL;
	}
	for (i = 0; i < n; i++) {
		bn_dossier_row(&rows[i], first + (unsigned)i, unit_code);
	}
	return rows;
}

size_t
bn_row_bytes(const bn_row *r)
{
	size_t n = 0;
	int k;

	for (k = 0; k < BN_DOSSIER_NCOLS; k++) {
		n += strlen(r->vals[k]);
	}
	return n + COM_UUID_STRLEN; /* and the id */
}

/* ===== Insert loops ===== */

static int
harness_exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bench: %s: %s\n", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return OCOP_EDB;
	}
	return OCOP_OK;
}

/* "INSERT INTO dossier (id, cols...) VALUES (?, ...)" for the generated columns. */
static int
harness_insert_sql(com_buf *b)
{
	int rv = com_buf_puts(b, "INSERT INTO dossier (id");
	int k;

	for (k = 0; k < BN_DOSSIER_NCOLS && rv == OCOP_OK; k++) {
		rv = com_buf_printf(b, ", %s", harness_cols[k]);
	}
	rv = rv == OCOP_OK ? com_buf_puts(b, ") VALUES (?") : rv;
	for (k = 0; k < BN_DOSSIER_NCOLS && rv == OCOP_OK; k++) {
		rv = com_buf_puts(b, ", ?");
	}
	return rv == OCOP_OK ? com_buf_puts(b, ")") : rv;
}

/*
 * The dossier table as the replica creates it (store.c schema_tables_sql):
 * same columns, types, default and parent index, without capture triggers.
 */
static int
harness_plain_ddl(com_buf *b)
{
	const sto_table *t = sto_schema_table("dossier");
	int rv = com_buf_puts(b, "CREATE TABLE dossier (id TEXT PRIMARY KEY NOT NULL");
	size_t k;

	for (k = 0; k < t->ncols && rv == OCOP_OK; k++) {
		if (strcmp(t->cols[k].name, "deleted") == 0) {
			rv = com_buf_puts(b, ", deleted INTEGER NOT NULL DEFAULT 0");
		} else {
			rv = com_buf_printf(b, ", %s %s", t->cols[k].name, t->cols[k].type);
		}
	}
	rv = rv == OCOP_OK ? com_buf_puts(b, ");") : rv;
	return rv == OCOP_OK ? com_buf_printf(b, "CREATE INDEX dossier_parent ON dossier(%s);",
				   t->parent_col)
			     : rv;
}

/* Bind one generated row (and a fresh id) to an INSERT prepared by harness_insert_sql. */
static void
harness_bind(sqlite3_stmt *st, const bn_row *r, char id[37])
{
	com_uuid u;
	int k;

	com_uuid7(&u);
	com_uuid_format(&u, id);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	for (k = 0; k < BN_DOSSIER_NCOLS; k++) {
		sqlite3_bind_text(st, k + 2, r->vals[k], -1, SQLITE_STATIC);
	}
}

/* The store's change and clock tables (store.c schema_core_sql), and the packed clock sketch. */
static const char harness_log_ddl[] =
    "CREATE TABLE change ("
    " lsn INTEGER PRIMARY KEY AUTOINCREMENT,"
    " site TEXT NOT NULL, seq INTEGER NOT NULL,"
    " tbl TEXT NOT NULL, row_id TEXT NOT NULL,"
    " hlc INTEGER NOT NULL, user TEXT NOT NULL DEFAULT '',"
    " cells BLOB NOT NULL, scope TEXT,"
    " UNIQUE (site, seq));"
    "CREATE TABLE rowclock ("
    " tbl TEXT NOT NULL, row_id TEXT NOT NULL, clocks BLOB NOT NULL,"
    " PRIMARY KEY (tbl, row_id)) WITHOUT ROWID;";

/* The extra statements of a LOG / LOG_ROWCLOCK run, and their scratch. */
typedef struct harness_extra {
	bn_plain_kind kind;   /* what to write besides the row */
	sqlite3_stmt *log;    /* INSERT INTO change, owned */
	sqlite3_stmt *clock;  /* INSERT INTO rowclock, owned */
	com_buf cells;        /* encoded cell map scratch, owned */
	uint64_t seq;         /* last site_seq handed out */
} harness_extra;

/*
 * Write what e->kind adds for the row just inserted: its change-log row (cells
 * encoded as capture encodes them, every base 0) and its packed clock row
 * (per cell: hlc as 8 bytes and a 2-byte site number).
 */
static int
harness_extra_put(harness_extra *e, const bn_row *r, const char *id)
{
	uint8_t clocks[BN_DOSSIER_NCOLS * 10];
	proto_wr w;
	proto_value v;
	uint64_t hlc = (uint64_t)1 << 40 | ++e->seq;
	int k;

	if (e->kind == BN_PLAIN) {
		return OCOP_OK;
	}
	com_buf_reset(&e->cells);
	proto_wr_init(&w, &e->cells);
	proto_cells_begin(&w, BN_DOSSIER_NCOLS);
	for (k = 0; k < BN_DOSSIER_NCOLS; k++) {
		memset(&v, 0, sizeof(v));
		v.type = PROTO_V_TEXT;
		v.p = (const uint8_t *)r->vals[k];
		v.len = strlen(r->vals[k]);
		proto_cell_put(&w, r->cols[k], &v, 0);
	}
	if (proto_wr_error(&w) != OCOP_OK) {
		return OCOP_ENOMEM;
	}
	sqlite3_bind_text(e->log, 1, "0190f0f0-0000-7000-8000-000000000001", -1, SQLITE_STATIC);
	sqlite3_bind_int64(e->log, 2, (sqlite3_int64)e->seq);
	sqlite3_bind_text(e->log, 3, "dossier", -1, SQLITE_STATIC);
	sqlite3_bind_text(e->log, 4, id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(e->log, 5, (sqlite3_int64)hlc);
	sqlite3_bind_text(e->log, 6, "bench", -1, SQLITE_STATIC);
	sqlite3_bind_blob(e->log, 7, e->cells.data, (int)e->cells.len, SQLITE_STATIC);
	if (sqlite3_step(e->log) != SQLITE_DONE) {
		sqlite3_reset(e->log);
		return OCOP_EDB;
	}
	sqlite3_reset(e->log);
	if (e->kind != BN_PLAIN_LOG_ROWCLOCK) {
		return OCOP_OK;
	}
	for (k = 0; k < BN_DOSSIER_NCOLS; k++) {
		int b;
		for (b = 0; b < 8; b++) {
			clocks[k * 10 + b] = (uint8_t)(hlc >> (56 - 8 * b));
		}
		clocks[k * 10 + 8] = 0;
		clocks[k * 10 + 9] = 1;
	}
	sqlite3_bind_text(e->clock, 1, "dossier", -1, SQLITE_STATIC);
	sqlite3_bind_text(e->clock, 2, id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(e->clock, 3, clocks, (int)sizeof(clocks), SQLITE_STATIC);
	if (sqlite3_step(e->clock) != SQLITE_DONE) {
		sqlite3_reset(e->clock);
		return OCOP_EDB;
	}
	sqlite3_reset(e->clock);
	return OCOP_OK;
}

/* The insert loop every side shares: BEGIN IMMEDIATE, batch rows, COMMIT. */
static int
harness_loop(sqlite3 *db, sqlite3_stmt *st, harness_extra *e, const bn_row *rows, size_t n,
    size_t batch, char (*ids)[37])
{
	char id[37];
	char *idp;
	size_t i;

	for (i = 0; i < n; i++) {
		if (i % batch == 0 && harness_exec(db, "BEGIN IMMEDIATE") != OCOP_OK) {
			return OCOP_EDB;
		}
		idp = ids ? ids[i] : id;
		harness_bind(st, &rows[i], idp);
		if (sqlite3_step(st) != SQLITE_DONE || (e && harness_extra_put(e, &rows[i], idp) != OCOP_OK)) {
			fprintf(stderr, "bench: insert: %s\n", sqlite3_errmsg(db));
			sqlite3_reset(st);
			harness_exec(db, "ROLLBACK");
			return OCOP_EDB;
		}
		sqlite3_reset(st);
		if ((i + 1) % batch == 0 || i + 1 == n) {
			if (harness_exec(db, "COMMIT") != OCOP_OK) {
				return OCOP_EDB;
			}
		}
	}
	return OCOP_OK;
}

/* The pragmas of tu, as SQL. */
static void
harness_tuning_sql(const bn_tuning *tu, char *out, size_t cap)
{
	int n = snprintf(out, cap, "PRAGMA synchronous=%s;", tu->full_sync ? "FULL" : "NORMAL");

	if (tu->cache_kib > 0 && n > 0 && (size_t)n < cap) {
		snprintf(out + n, cap - (size_t)n, "PRAGMA cache_size=-%d;", tu->cache_kib);
	}
}

int
bn_plain_insert(const char *dir, const char *name, const bn_tuning *tu, bn_plain_kind kind,
    const bn_row *rows, size_t n, size_t batch, double *secs)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	harness_extra e;
	char path[1024];
	char pragmas[128];
	com_buf sql;
	double t0;
	int rv = OCOP_EDB;

	*secs = 0;
	memset(&e, 0, sizeof(e));
	e.kind = kind;
	com_buf_init(&e.cells);
	com_buf_init(&sql);
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	harness_tuning_sql(tu, pragmas, sizeof(pragmas));
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		goto done;
	}
	/* The same pragmas as sto_open (store.c), then the run's. */
	if (harness_exec(db, "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=OFF; PRAGMA temp_store=MEMORY;") != OCOP_OK ||
	    harness_exec(db, pragmas) != OCOP_OK || harness_plain_ddl(&sql) != OCOP_OK ||
	    harness_exec(db, (const char *)sql.data) != OCOP_OK ||
	    (kind != BN_PLAIN && harness_exec(db, harness_log_ddl) != OCOP_OK)) {
		goto done;
	}
	com_buf_reset(&sql);
	if (harness_insert_sql(&sql) != OCOP_OK ||
	    sqlite3_prepare_v2(db, (const char *)sql.data, -1, &st, NULL) != SQLITE_OK) {
		goto done;
	}
	if (kind != BN_PLAIN &&
	    (sqlite3_prepare_v2(db,
		 "INSERT INTO change (site, seq, tbl, row_id, hlc, user, cells)"
		 " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
		 -1, &e.log, NULL) != SQLITE_OK ||
		sqlite3_prepare_v2(db, "INSERT INTO rowclock (tbl, row_id, clocks) VALUES (?1, ?2, ?3)",
		    -1, &e.clock, NULL) != SQLITE_OK)) {
		fprintf(stderr, "bench: %s\n", sqlite3_errmsg(db));
		goto done;
	}
	t0 = bn_now();
	rv = harness_loop(db, st, &e, rows, n, batch, NULL);
	*secs = bn_now() - t0;
done:
	sqlite3_finalize(e.log);
	sqlite3_finalize(e.clock);
	sqlite3_finalize(st);
	sqlite3_close(db);
	com_buf_fini(&e.cells);
	com_buf_fini(&sql);
	return rv;
}

int
bn_replica_open(sto_db **out, const char *dir, const char *name, const char *site_id,
    const char *role, const char *scope, const bn_tuning *tu)
{
	sto_opts o;
	char path[1024];
	char pragmas[128];
	int rv;

	memset(&o, 0, sizeof(o));
	o.create = true;
	o.user = "bench";
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((rv = sto_open(out, path, &o)) != OCOP_OK) {
		return rv;
	}
	harness_tuning_sql(tu, pragmas, sizeof(pragmas));
	if ((rv = sto_site_init(*out, site_id, role, scope)) != OCOP_OK ||
	    (rv = sto_exec(*out, pragmas)) != OCOP_OK) {
		fprintf(stderr, "bench: %s: %s\n", path, sto_errmsg(*out));
		sto_close(*out);
		*out = NULL;
	}
	return rv;
}

int
bn_captured_insert(sto_db *db, bn_write how, const bn_row *rows, size_t n, size_t batch,
    char (*ids)[37], double *secs)
{
	sqlite3_stmt *st = NULL;
	com_buf sql;
	char id[37];
	double t0;
	size_t i;
	int rv = OCOP_OK;

	*secs = 0;
	if (how == BN_WRITE_PREPARED) {
		com_buf_init(&sql);
		rv = harness_insert_sql(&sql);
		if (rv == OCOP_OK && sqlite3_prepare_v2(sto_sqlite(db), (const char *)sql.data, -1, &st,
				     NULL) != SQLITE_OK) {
			rv = OCOP_EDB;
		}
		com_buf_fini(&sql);
		if (rv == OCOP_OK) {
			t0 = bn_now();
			rv = harness_loop(sto_sqlite(db), st, NULL, rows, n, batch, ids);
			*secs = bn_now() - t0;
		}
		sqlite3_finalize(st);
		return rv;
	}
	t0 = bn_now();
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		if (i % batch == 0 && (rv = sto_begin(db)) != OCOP_OK) {
			break;
		}
		rv = sto_row_insert(db, "dossier", rows[i].cols, rows[i].vals, BN_DOSSIER_NCOLS,
		    ids ? ids[i] : id);
		if (rv == OCOP_OK && ((i + 1) % batch == 0 || i + 1 == n)) {
			rv = sto_commit(db);
		}
	}
	if (rv != OCOP_OK) {
		fprintf(stderr, "bench: captured insert: %s\n", sto_errmsg(db));
		sto_rollback(db);
	}
	*secs = bn_now() - t0;
	return rv;
}

/* ===== Edits ===== */

int
bn_edit(sto_db *db, const char (*ids)[37], size_t n, const char *col, const char *tag,
    bool long_value, size_t batch, double *secs)
{
	sqlite3_stmt *st = NULL;
	char sql[160];
	char val[512];
	double t0;
	size_t i;
	int rv = OCOP_OK;

	*secs = 0;
	snprintf(sql, sizeof(sql), "UPDATE dossier SET %s = ?1 WHERE id = ?2", col);
	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "bench: %s: %s\n", sql, sqlite3_errmsg(sto_sqlite(db)));
		return OCOP_EDB;
	}
	t0 = bn_now();
	for (i = 0; i < n && rv == OCOP_OK; i++) {
		if (i % batch == 0 && (rv = sto_begin(db)) != OCOP_OK) {
			break;
		}
		if (long_value) {
			snprintf(val, sizeof(val),
			    "Bổ sung (%s, lần %zu): chủ thể đã nộp lại phiếu kết quả kiểm nghiệm chỉ "
			    "tiêu an toàn thực phẩm còn hiệu lực và bản thuyết minh quy trình sản xuất; "
			    "hội đồng cấp huyện đề nghị xem xét ở kỳ đánh giá tới.",
			    tag, i);
		} else {
			/* A date (update_deadline is one), different from the generated ones (2026). */
			snprintf(val, sizeof(val), "%04d-%02zu-%02zu", 2027 + (unsigned char)tag[0] % 50, 1 + i % 12,
			    1 + i % 28);
		}
		sqlite3_bind_text(st, 1, val, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ids[i], -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "bench: edit: %s\n", sqlite3_errmsg(sto_sqlite(db)));
			rv = OCOP_EDB;
		}
		sqlite3_reset(st);
		if (rv == OCOP_OK && ((i + 1) % batch == 0 || i + 1 == n)) {
			rv = sto_commit(db);
		}
	}
	if (rv != OCOP_OK) {
		sto_rollback(db);
	}
	*secs = bn_now() - t0;
	sqlite3_finalize(st);
	return rv;
}
