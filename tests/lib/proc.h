/*
 * proc.h: running real programs in tests: start one in the background with
 * its stderr in a file, stop it with a signal and wait, and find a free
 * loopback TCP port.
 */
#ifndef OCOP_TESTS_LIB_PROC_H
#define OCOP_TESTS_LIB_PROC_H

#include <sys/types.h>

/*
 * Start argv[0] with argv (NULL-terminated) in the background, stdout and
 * stderr appended to log_path. Returns the pid, or -1.
 */
pid_t tp_spawn(char *const argv[], const char *log_path);
/* Send sig to pid and wait for it; returns its exit status (or 128+signal). */
int tp_stop(pid_t pid, int sig);
/* A TCP port on 127.0.0.1 that was free a moment ago. */
int tp_free_port(void);
/* Wait until a TCP connect to 127.0.0.1:port succeeds, up to ms. Returns 0 when it did. */
int tp_wait_port(int port, int ms);

#endif /* OCOP_TESTS_LIB_PROC_H */
