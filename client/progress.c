/*
 * progress.c: the progress line of file transfers (progress.h).
 */
#include "client/progress.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include <unistd.h>

#define PROGRESS_EVERY_MS 250 /* redraw at most four times a second */

static int64_t
progress_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
cli_progress_bytes(uint64_t n, char *out, size_t cap)
{
	if (n < 1000) {
		snprintf(out, cap, "%" PRIu64 " B", n);
	} else if (n < 1000000) {
		snprintf(out, cap, "%.1f kB", (double)n / 1e3);
	} else if (n < UINT64_C(1000000000)) {
		snprintf(out, cap, "%.1f MB", (double)n / 1e6);
	} else {
		snprintf(out, cap, "%.2f GB", (double)n / 1e9);
	}
}

void
cli_progress_init(cli_progress *p, FILE *out, const char *label)
{
	memset(p, 0, sizeof(*p));
	p->out = out;
	p->tty = out != NULL && isatty(fileno(out));
	p->label = label;
	p->start_ms = progress_now_ms();
}

void
cli_progress_update(void *arg, const sto_xfer_progress *x)
{
	cli_progress *p = arg;
	int64_t now = progress_now_ms();
	int64_t spent = now - p->start_ms;
	char done[32];
	char total[32];
	char rate[32];
	char left[32];
	double per_s;
	int n;

	if (!p->tty || spent < CLI_PROGRESS_AFTER_MS || (p->drawn_ms != 0 && now - p->drawn_ms < PROGRESS_EVERY_MS &&
							     x->done < x->total)) {
		return;
	}
	per_s = spent > 0 ? (double)x->done * 1000.0 / (double)spent : 0;
	cli_progress_bytes(x->done, done, sizeof(done));
	cli_progress_bytes(x->total, total, sizeof(total));
	cli_progress_bytes((uint64_t)per_s, rate, sizeof(rate));
	if (per_s > 0 && x->total > x->done) {
		snprintf(left, sizeof(left), ", %.0f s left", (double)(x->total - x->done) / per_s);
	} else {
		left[0] = 0;
	}
	n = fprintf(p->out, "\r%s %s %s of %s (%u of %u files), %s/s%s", p->label, x->up ? "up" : "down", done, total,
	    x->files_done, x->files_total, rate, left);
	if (n > 0 && n < p->width) {
		fprintf(p->out, "%*s", p->width - n, "");
	}
	p->width = n > 0 ? n : p->width;
	fflush(p->out);
	p->drawn_ms = now;
}

void
cli_progress_end(cli_progress *p)
{
	if (p->tty && p->drawn_ms != 0) {
		fputc('\n', p->out);
		fflush(p->out);
	}
	p->drawn_ms = 0;
}
