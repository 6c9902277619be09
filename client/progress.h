/*
 * progress.h: one line on the terminal while files move ("files 45.2 MB of
 * 200.0 MB, 12.4 MB/s, 12 s left"), redrawn in place a few times a second
 * once a transfer has lasted a couple of seconds, and nothing at all when
 * stderr is not a terminal (a script, a log file, a cron job).
 */
#ifndef OCOP_CLIENT_PROGRESS_H
#define OCOP_CLIENT_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/store/xfer.h"

#define CLI_PROGRESS_AFTER_MS 2000 /* a transfer shorter than this shows nothing */

/* A progress line. Caller-owned storage: cli_progress_init / cli_progress_end. */
typedef struct cli_progress {
	FILE *out;         /* where it draws (stderr), borrowed */
	bool tty;          /* out is a terminal: draw; else stay silent */
	const char *label; /* what moves, e.g. "ocop sync: files" (borrowed) */
	int64_t start_ms;  /* when the transfer began (monotonic) */
	int64_t drawn_ms;  /* when the line was last drawn, 0 = never */
	int width;         /* characters drawn last time, to clear what is left */
} cli_progress;

/* Start a line labelled label on out (a terminal, or silent). Cannot fail. */
void cli_progress_init(cli_progress *p, FILE *out, const char *label);
/* The sto_xfer_progress_fn to pass with p as its argument. Cannot fail. */
void cli_progress_update(void *p, const sto_xfer_progress *x);
/* Finish the line (a newline when one was drawn). Cannot fail. */
void cli_progress_end(cli_progress *p);

/* Format n bytes as "1.5 MB" into out (SI units, as a user counts a file). Cannot fail. */
void cli_progress_bytes(uint64_t n, char *out, size_t cap);

#endif /* OCOP_CLIENT_PROGRESS_H */
