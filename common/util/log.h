/*
 * log.h: the log hook. Library code never prints; it calls the callback the
 * embedder installed (ocopd writes to stderr, tests capture or silence it).
 */
#ifndef OCOP_UTIL_LOG_H
#define OCOP_UTIL_LOG_H

enum com_log_level {
	COM_LOG_DEBUG = 0,
	COM_LOG_INFO = 1,
	COM_LOG_WARN = 2,
	COM_LOG_ERROR = 3,
};

typedef void (*com_log_fn)(void *arg, int level, const char *msg);

typedef struct com_log {
	com_log_fn fn; /* callback, NULL to drop every message */
	void *arg;     /* borrowed; passed to fn */
	int level;     /* messages below this level are dropped */
} com_log;

/* Format a message and hand it to the hook if its level passes. Cannot fail. */
void com_logf(const com_log *log, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A ready-made hook that writes "LEVEL message" lines to stderr (arg unused). */
void com_log_stderr(void *arg, int level, const char *msg);

/* Name of a level ("debug", "info", "warn", "error"). Cannot fail. */
const char *com_log_level_name(int level);

#endif /* OCOP_UTIL_LOG_H */
