/*
 * netwatch.c: the network library's watchdog (see netwatch.h).
 */
#include "server/netwatch.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/pair0/pair.h>
#include <nng/supplemental/util/platform.h>

#include "common/util/alloc.h"
#include "ocop_err.h"

struct srv_netwatch {
	const com_log *log;       /* borrowed */
	int stuck_ms;             /* the reaper is stuck after this long */
	int probe_ms;             /* one probe this often */
	nng_socket a;             /* listening end of the probe, owned */
	nng_socket b;             /* dialling end, owned */
	bool a_open;
	bool b_open;
	nng_mtx *mtx;             /* guards what follows, owned */
	nng_cv *cv;               /* signalled on pipe events and stop, owned */
	nng_thread *thr;          /* owned */
	nng_pipe pipe;            /* the probe connection at a, or id 0 */
	unsigned long removed;    /* connections of a the reaper reported gone */
	bool stopping;            /* the thread returns */
	nng_time deadline;        /* end the process at this time; 0 = none */
	atomic_ulong probes;      /* probes completed */
};

/* On nng's threads: note the probe connection coming and going. Never blocks. */
static void
watch_pipe_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	srv_netwatch *w = arg;

	nng_mtx_lock(w->mtx);
	if (ev == NNG_PIPE_EV_ADD_POST) {
		w->pipe = p;
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		/* Called by the reaper as it releases the connection. */
		if (nng_pipe_id(w->pipe) == nng_pipe_id(p)) {
			w->pipe = (nng_pipe)NNG_PIPE_INITIALIZER;
		}
		w->removed++;
	}
	nng_cv_wake(w->cv);
	nng_mtx_unlock(w->mtx);
}

/* End the process now, saying why. Called with mtx held. */
static void
watch_die(srv_netwatch *w, int status, const char *why)
{
	com_logf(w->log, COM_LOG_ERROR, "%s", why);
	fflush(NULL);
	_exit(status);
}

/* Wait on the cv until t (or stop); end the process at the shutdown deadline. Called with mtx held. */
static void
watch_wait_until(srv_netwatch *w, nng_time t)
{
	if (w->deadline != 0 && t > w->deadline) {
		t = w->deadline;
	}
	(void)nng_cv_until(w->cv, t);
	if (w->deadline != 0 && nng_clock() >= w->deadline && !w->stopping) {
		watch_die(w, 1,
		    "shutdown did not finish in time: the network library is stuck (a defect of nng before 1.9.0); "
		    "ending the process (the database is safe)");
	}
}

static void
watch_main(void *arg)
{
	srv_netwatch *w = arg;

	nng_mtx_lock(w->mtx);
	while (!w->stopping) {
		nng_time until = nng_clock() + (nng_time)w->probe_ms;
		nng_time give_up;
		unsigned long before;
		nng_pipe p;

		while (!w->stopping && nng_clock() < until) {
			watch_wait_until(w, until);
		}
		/* A connection to close: the dialler makes a new one after each probe. */
		give_up = nng_clock() + (nng_time)w->stuck_ms;
		while (!w->stopping && nng_pipe_id(w->pipe) <= 0 && nng_clock() < give_up) {
			watch_wait_until(w, give_up);
		}
		if (w->stopping) {
			break;
		}
		if (nng_pipe_id(w->pipe) <= 0) {
			watch_die(w, SRV_NETWATCH_EXIT,
			    "the network library is stuck (its probe connection was not made again): ending the process "
			    "so the service manager restarts it");
		}
		p = w->pipe;
		before = w->removed;
		nng_mtx_unlock(w->mtx);
		nng_pipe_close(p);
		nng_mtx_lock(w->mtx);
		give_up = nng_clock() + (nng_time)w->stuck_ms;
		while (!w->stopping && w->removed == before && nng_clock() < give_up) {
			watch_wait_until(w, give_up);
		}
		if (w->stopping) {
			break;
		}
		if (w->removed == before) {
			watch_die(w, SRV_NETWATCH_EXIT,
			    "the network library is stuck: a closed connection was not released in time (a defect of nng "
			    "before 1.9.0, provoked by a connection dropped in the middle of a message); no connection "
			    "would be released any more, so the process ends and the service manager restarts it");
		}
		atomic_fetch_add(&w->probes, 1);
	}
	nng_mtx_unlock(w->mtx);
}

int
srv_netwatch_start(srv_netwatch **out, const com_log *log, int stuck_ms, int probe_ms, char *err, size_t errlen)
{
	srv_netwatch *w;
	char url[96];
	int rv;

	*out = NULL;
	if ((w = com_calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return OCOP_ENOMEM;
	}
	w->log = log;
	w->stuck_ms = stuck_ms > 0 ? stuck_ms : SRV_NETWATCH_STUCK_MS;
	w->probe_ms = probe_ms > 0 ? probe_ms : SRV_NETWATCH_PROBE_MS;
	snprintf(url, sizeof(url), "inproc://ocopd-netwatch-%ld-%p", (long)getpid(), (void *)w);
	if (nng_mtx_alloc(&w->mtx) != 0 || nng_cv_alloc(&w->cv, w->mtx) != 0) {
		snprintf(err, errlen, "out of memory");
		srv_netwatch_stop(w);
		return OCOP_ENOMEM;
	}
	if ((rv = nng_pair0_open(&w->a)) == 0) {
		w->a_open = true;
		rv = nng_pair0_open(&w->b);
		w->b_open = rv == 0;
	}
	if (rv == 0) {
		rv = nng_pipe_notify(w->a, NNG_PIPE_EV_ADD_POST, watch_pipe_cb, w);
	}
	if (rv == 0) {
		rv = nng_pipe_notify(w->a, NNG_PIPE_EV_REM_POST, watch_pipe_cb, w);
	}
	if (rv == 0) {
		rv = nng_listen(w->a, url, NULL, 0);
	}
	if (rv == 0) {
		/* Come back quickly after each probe closes the connection. */
		nng_dialer d;
		rv = nng_dialer_create(&d, w->b, url);
		if (rv == 0) {
			(void)nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, 10);
			(void)nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, 100);
			rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK);
		}
	}
	if (rv != 0) {
		snprintf(err, errlen, "cannot set up the network watchdog: %s", nng_strerror(rv));
		srv_netwatch_stop(w);
		return rv == NNG_ENOMEM ? OCOP_ENOMEM : OCOP_ENET;
	}
	if (nng_thread_create(&w->thr, watch_main, w) != 0) {
		snprintf(err, errlen, "cannot start the network watchdog");
		srv_netwatch_stop(w);
		return OCOP_ENOMEM;
	}
	*out = w;
	return OCOP_OK;
}

void
srv_netwatch_deadline(srv_netwatch *w, int ms)
{
	if (w == NULL) {
		return;
	}
	nng_mtx_lock(w->mtx);
	w->deadline = nng_clock() + (nng_time)(ms > 0 ? ms : 1);
	nng_cv_wake(w->cv);
	nng_mtx_unlock(w->mtx);
}

void
srv_netwatch_stop(srv_netwatch *w)
{
	if (w == NULL) {
		return;
	}
	/* The probe's sockets first, while the thread still enforces a shutdown deadline. */
	if (w->b_open) {
		nng_close(w->b);
	}
	if (w->a_open) {
		nng_close(w->a);
	}
	if (w->thr != NULL) {
		nng_mtx_lock(w->mtx);
		w->stopping = true;
		nng_cv_wake(w->cv);
		nng_mtx_unlock(w->mtx);
		nng_thread_destroy(w->thr);
	}
	if (w->cv != NULL) {
		nng_cv_free(w->cv);
	}
	if (w->mtx != NULL) {
		nng_mtx_free(w->mtx);
	}
	com_free(w);
}

unsigned long
srv_netwatch_probes(const srv_netwatch *w)
{
	return w != NULL ? atomic_load(&((srv_netwatch *)w)->probes) : 0;
}
