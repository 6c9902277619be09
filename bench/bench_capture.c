/*
 * bench_capture: the cost of change capture. Inserts the same generated
 * dossiers (~600 bytes each) into a plain SQLite table with dossier's columns
 * and into a replica whose triggers capture every row (change log + per-cell
 * clocks), with the same pragmas and transaction sizes, in files of a
 * temporary directory, and prints rows/s and the ratio (median of --reps).
 *
 * usage: bench_capture [--rows N] [--reps R] [--batches 1,100,1000]
 *                      [--sync full|normal|both] [--cache-kib K]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/harness.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

#define MAX_REPS 15
#define MAX_BATCHES 8

typedef struct opts {
	size_t rows;                 /* rows per run (batch 1 runs a tenth) */
	int reps;                    /* repetitions; the median is printed */
	size_t batches[MAX_BATCHES]; /* transaction sizes */
	int nbatches;                /* entries in batches */
	bool sync_full;              /* run synchronous=FULL */
	bool sync_normal;            /* run synchronous=NORMAL */
	int cache_kib;               /* SQLite page cache of both sides; 0 = default */
} opts;

/* The figures of one (sync mode, batch size) configuration, per repetition. */
typedef struct result {
	double plain[MAX_REPS];    /* plain insert seconds */
	double prepared[MAX_REPS]; /* captured, prepared INSERT seconds */
	double row_api[MAX_REPS];  /* captured, sto_row_insert seconds */
	double log[MAX_REPS];      /* sketch: plain + change-log row, seconds */
	double rowclock[MAX_REPS]; /* sketch: plain + change-log row + packed clock row, seconds */
	uint64_t plain_bytes;      /* plain file size after the run (db + WAL) */
	uint64_t captured_bytes;   /* replica file size after the run */
	double log_bytes;          /* change-log cell bytes per row */
	double clock_rows;         /* clock bytes per row (0 for a row whose insert set its clock) */
} result;

static int
parse_args(int argc, char **argv, opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->rows = 20000;
	o->reps = 3;
	o->batches[0] = 1;
	o->batches[1] = 100;
	o->batches[2] = 1000;
	o->nbatches = 3;
	o->sync_full = o->sync_normal = true;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
			o->rows = strtoull(argv[++i], NULL, 10);
		} else if (strcmp(argv[i], "--reps") == 0 && i + 1 < argc) {
			o->reps = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--batches") == 0 && i + 1 < argc) {
			char *p = argv[++i];
			o->nbatches = 0;
			while (*p && o->nbatches < MAX_BATCHES) {
				o->batches[o->nbatches++] = strtoull(p, &p, 10);
				p += *p == ',';
			}
		} else if (strcmp(argv[i], "--cache-kib") == 0 && i + 1 < argc) {
			o->cache_kib = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--sync") == 0 && i + 1 < argc) {
			i++;
			o->sync_full = strcmp(argv[i], "normal") != 0;
			o->sync_normal = strcmp(argv[i], "full") != 0;
		} else {
			fprintf(stderr,
			    "usage: %s [--rows N] [--reps R] [--batches 1,100,1000] [--sync full|normal|both] [--cache-kib K]\n",
			    argv[0]);
			return -1;
		}
	}
	if (o->rows == 0 || o->reps < 1 || o->reps > MAX_REPS || o->nbatches == 0) {
		fprintf(stderr, "%s: rows, reps (1..%d) and batches must be positive\n", argv[0], MAX_REPS);
		return -1;
	}
	for (i = 0; i < o->nbatches; i++) {
		if (o->batches[i] == 0) {
			fprintf(stderr, "%s: a batch size must be positive\n", argv[0]);
			return -1;
		}
	}
	return 0;
}

static double
query_double(sto_db *db, const char *sql)
{
	sqlite3_stmt *st = NULL;
	double v = 0;

	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		v = sqlite3_column_double(st, 0);
	}
	sqlite3_finalize(st);
	return v;
}

/* One repetition of one configuration: plain, captured (prepared), captured (row API). */
static int
run_once(const bn_row *rows, size_t n, size_t batch, const bn_tuning *tu, int rep, result *r)
{
	char *dir = bn_dir_make();
	char path[1024];
	sto_db *db = NULL;
	int rv;

	if (dir == NULL) {
		fprintf(stderr, "bench: cannot make a temporary directory\n");
		return OCOP_EIO;
	}
	rv = bn_plain_insert(dir, "plain.db", tu, BN_PLAIN, rows, n, batch, &r->plain[rep]);
	if (rv == OCOP_OK) {
		snprintf(path, sizeof(path), "%s/plain.db", dir);
		r->plain_bytes = bn_file_bytes(path);
		rv = bn_replica_open(&db, dir, "prepared.db", NULL, "commune", "83-100", tu);
	}
	if (rv == OCOP_OK && (rv = bn_parents_insert(db, "83-100", NULL)) != OCOP_OK) {
		sto_close(db);
	}
	if (rv == OCOP_OK) {
		rv = bn_captured_insert(db, BN_WRITE_PREPARED, rows, n, batch, NULL, &r->prepared[rep]);
		r->log_bytes = query_double(db, "SELECT AVG(COALESCE(length(cells), 0)) FROM change");
		r->clock_rows = query_double(db, "SELECT AVG(COALESCE(length(ocop_clock), 0)) FROM dossier");
		sto_close(db);
		db = NULL;
		snprintf(path, sizeof(path), "%s/prepared.db", dir);
		r->captured_bytes = bn_file_bytes(path);
	}
	if (rv == OCOP_OK) {
		rv = bn_plain_insert(dir, "log.db", tu, BN_PLAIN_LOG, rows, n, batch, &r->log[rep]);
	}
	if (rv == OCOP_OK) {
		rv = bn_plain_insert(dir, "rowclock.db", tu, BN_PLAIN_LOG_ROWCLOCK, rows, n, batch,
		    &r->rowclock[rep]);
	}
	if (rv == OCOP_OK) {
		rv = bn_replica_open(&db, dir, "rowapi.db", NULL, "commune", "83-100", tu);
	}
	if (rv == OCOP_OK && (rv = bn_parents_insert(db, "83-100", NULL)) != OCOP_OK) {
		sto_close(db);
	}
	if (rv == OCOP_OK) {
		rv = bn_captured_insert(db, BN_WRITE_ROW_INSERT, rows, n, batch, NULL, &r->row_api[rep]);
		sto_close(db);
	}
	bn_dir_remove(dir);
	return rv;
}

int
main(int argc, char **argv)
{
	char sum[2 * MAX_BATCHES][192];
	int nsum = 0;
	opts o;
	bn_row *rows;
	int s;
	int b;
	int rep;

	if (parse_args(argc, argv, &o) != 0) {
		return 2;
	}
	rows = bn_rows_make(0, o.rows, "83-100");
	if (rows == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		return 1;
	}
	printf("== capture overhead: dossier rows of %zu bytes (id + 15 columns), median of %d, "
	       "page cache %s ==\n",
	    bn_row_bytes(&rows[0]), o.reps, o.cache_kib > 0 ? "set" : "default (2000 KiB)");
	printf("%-6s %5s %5s | %9s | %9s %5s | %9s %5s | %5s %5s | %5s %5s | %6s %6s\n", "sync",
	    "batch", "rows", "plain r/s", "trig r/s", "x", "api r/s", "x", "log x", "+rc x",
	    "log B", "clk B", "pl MB", "rep MB");
	for (s = 0; s < 2; s++) {
		bool full = s == 0;
		if ((full && !o.sync_full) || (!full && !o.sync_normal)) {
			continue;
		}
		for (b = 0; b < o.nbatches; b++) {
			size_t batch = o.batches[b];
			/* One commit per row is fsync-bound: a tenth of the rows says as much. */
			size_t n = batch == 1 ? (o.rows + 9) / 10 : o.rows;
			bn_tuning tu = {full, o.cache_kib};
			result r;
			double tp;
			double tc;
			double ta;
			double tl;
			double tr;
			double ratio[MAX_REPS];
			double lo = 0;
			double hi = 0;

			memset(&r, 0, sizeof(r));
			for (rep = 0; rep < o.reps; rep++) {
				if (run_once(rows, n, batch, &tu, rep, &r) != OCOP_OK) {
					fprintf(stderr, "bench: run failed\n");
					com_free(rows);
					return 1;
				}
			}
			tp = bn_median(r.plain, o.reps);
			tc = bn_median(r.prepared, o.reps);
			ta = bn_median(r.row_api, o.reps);
			tl = bn_median(r.log, o.reps);
			tr = bn_median(r.rowclock, o.reps);
			printf("%-6s %5zu %5zu | %9.0f | %9.0f %5.2f | %9.0f %5.2f | %5.2f %5.2f | %5.0f %5.1f | %6.1f %6.1f\n",
			    full ? "FULL" : "NORMAL", batch, n, (double)n / tp, (double)n / tc, tc / tp,
			    (double)n / ta, ta / tp, tl / tp, tr / tp, r.log_bytes, r.clock_rows,
			    (double)r.plain_bytes / 1e6, (double)r.captured_bytes / 1e6);
			/* The overhead as the median of each repetition's own ratio (both
			 * sides ran back to back), with its range, and the file sizes. */
			for (rep = 0; rep < o.reps; rep++) {
				ratio[rep] = r.prepared[rep] / r.plain[rep];
				lo = rep == 0 || ratio[rep] < lo ? ratio[rep] : lo;
				hi = rep == 0 || ratio[rep] > hi ? ratio[rep] : hi;
			}
			snprintf(sum[nsum++], sizeof(sum[0]),
			    "summary capture %s %zu %.0f %.0f %.2f %.0f %.2f %.2f %.2f %.2f %.2f %" PRIu64 " %" PRIu64 "\n",
			    full ? "FULL" : "NORMAL", batch, (double)n / tp, (double)n / tc, bn_median(ratio, o.reps),
			    (double)n / ta, ta / tp, tl / tp, tr / tp, lo, hi, r.plain_bytes, r.captured_bytes);
			fflush(stdout);
		}
	}
	printf("trig = captured replica, one prepared INSERT per row (the triggers capture it); api = "
	       "sto_row_insert per row\n"
	       "x = captured time / plain time (capture overhead; target <= 1.5)\n"
	       "log x, +rc x = design floors in plain SQL, no triggers: the row + its change-log row; "
	       "and + one packed clock row per row\n"
	       "log B = change-log cell bytes per row; clk B = packed clock bytes per row; pl/rep MB = file "
	       "sizes of the plain table and the replica\n");
	for (b = 0; b < nsum; b++) {
		fputs(sum[b], stdout);
	}
	com_free(rows);
	return 0;
}
