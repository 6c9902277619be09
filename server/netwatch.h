/*
 * netwatch.h: a watchdog for the network library, so a server whose network
 * layer has wedged exits (and its service manager starts it again) instead
 * of staying up deaf.
 *
 * Why: nng 1.5.2 (Debian 12's) can deadlock its single "reaper" thread when a
 * TLS connection is closed while one of its messages is half sent or half
 * received (the transport resubmits the rest on an operation the close has
 * already stopped, and the reaper then waits forever for it; fixed upstream
 * in nng 1.9.0, "fix deadlock on socket close"). From then on no closed
 * connection is ever released: file descriptors run out and every close of
 * an nng socket hangs, shutdown included. A peer holding a valid certificate
 * can provoke it by dropping its connection in the middle of a reply.
 *
 * The watchdog keeps a pair of in-process sockets and, every few seconds,
 * closes the connection between them and waits for the reaper to report it
 * gone. When the reaper does not within stuck_ms, it logs why and ends the
 * process with SRV_NETWATCH_EXIT (systemd's Restart=on-failure starts the
 * server again; the database is safe, every write being a committed
 * transaction). It also bounds shutdown: after srv_netwatch_deadline, the
 * process ends if it has not finished within the given time.
 *
 * Threads: one thread of its own; the functions are called from one thread.
 */
#ifndef OCOP_SERVER_NETWATCH_H
#define OCOP_SERVER_NETWATCH_H

#include <stddef.h>

#include "common/util/log.h"

#define SRV_NETWATCH_EXIT 70           /* exit status when the network layer is stuck (EX_SOFTWARE) */
#define SRV_NETWATCH_STUCK_MS 60000    /* default: the reaper is stuck after this long */
#define SRV_NETWATCH_PROBE_MS 5000     /* one probe this often */

typedef struct srv_netwatch srv_netwatch;

/*
 * Start watching: the probe sockets and the thread. stuck_ms <= 0 means
 * SRV_NETWATCH_STUCK_MS, probe_ms <= 0 SRV_NETWATCH_PROBE_MS (tests probe
 * faster). log is borrowed (must outlive the watchdog).
 * Returns OCOP_OK, OCOP_ENOMEM or OCOP_ENET (err says why). Constructor;
 * caller stops it with srv_netwatch_stop().
 */
int srv_netwatch_start(srv_netwatch **out /* OUT */, const com_log *log, int stuck_ms, int probe_ms, char *err,
    size_t errlen);

/*
 * The process is shutting down: end it (status 1) if srv_netwatch_stop has
 * not been called within ms. Accepts NULL. Cannot fail.
 */
void srv_netwatch_deadline(srv_netwatch *w, int ms);

/*
 * Stop the thread and release the probe. Accepts NULL. Destructor. (Closing
 * the probe sockets needs the reaper; a stuck reaper has ended the process
 * before this can be reached, or the deadline ends it.)
 */
void srv_netwatch_stop(srv_netwatch *w);

/* Probes that completed so far (for tests). Cannot fail. */
unsigned long srv_netwatch_probes(const srv_netwatch *w);

#endif /* OCOP_SERVER_NETWATCH_H */
