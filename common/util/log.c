/*
 * log.c: formatting for the log hook. Messages longer than 1 KiB are cut.
 */
#include "common/util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

const char *
com_log_level_name(int level)
{
	switch (level) {
	case COM_LOG_DEBUG:
		return "debug";
	case COM_LOG_INFO:
		return "info";
	case COM_LOG_WARN:
		return "warn";
	default:
		return "error";
	}
}

void
com_logf(const com_log *log, int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (log == NULL || log->fn == NULL || level < log->level) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log->fn(log->arg, level, msg);
}

void
com_log_stderr(void *arg, int level, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char when[32];

	(void)arg;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "%s %-5s %s\n", when, com_log_level_name(level), msg);
}
