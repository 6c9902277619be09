/*
 * metrics.c: in-memory request counters and histograms (see metrics.h).
 *
 * Only the envelope's type is read from a request (no checksum, no body),
 * except for HELLO and ACK, which are small and are opened to learn the site:
 * a site's sync is timed from its HELLO to its ACK. Labels come from fixed
 * tables, never from message text, so a hostile site cannot add series.
 */
#include "server/metrics.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>

#include "common/util/alloc.h"
#include "ocop_err.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/session.h"

enum { KIND_HELLO, KIND_PUSH, KIND_PULL, KIND_ACK, KIND_OTHER, N_KINDS };
enum { OUT_OK, OUT_ERROR, OUT_DROPPED, N_OUTCOMES };

static const char *const kind_names[N_KINDS] = {"hello", "push", "pull", "ack", "malformed"};
static const char *const outcome_names[N_OUTCOMES] = {"ok", "error", "dropped"};

/* Upper bounds of the histogram buckets, in seconds (+Inf is implied). */
static const double request_bounds[] = {0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30};
static const double sync_bounds[] = {0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300};
#define N_BOUNDS 10

#define METRICS_MAX_SESSIONS 4096 /* sites with a HELLO not yet ACKed that we remember */
#define METRICS_SESSION_TTL_NS (UINT64_C(3600) * 1000000000u) /* a sync longer than this is not timed */

typedef struct histogram {
	uint64_t buckets[N_BOUNDS + 1]; /* per bucket (not cumulative); the last is +Inf */
	uint64_t count;                 /* observations */
	double sum;                     /* seconds */
} histogram;

typedef struct session {
	char site[PROTO_UUID_LEN + 1]; /* a site that sent HELLO */
	uint64_t hello_ns;             /* when (monotonic) */
} session;

struct srv_metrics {
	nng_mtx *mtx;                              /* guards everything below, owned */
	uint64_t requests[N_KINDS][N_OUTCOMES];    /* requests by kind and outcome */
	uint64_t errors[OCOP_ERR_COUNT_ + 1];      /* ERROR replies by code (last: unknown) */
	uint64_t bytes_in[N_KINDS];                /* request bytes */
	uint64_t bytes_out[N_KINDS];               /* reply bytes */
	histogram durations[N_KINDS];              /* serving time per kind */
	histogram syncs;                           /* HELLO .. ACK per site */
	uint64_t syncs_started;                    /* HELLOs accepted */
	session *sessions;                         /* open HELLOs, owned */
	size_t nsessions;                          /* entries in use */
};

int
srv_metrics_alloc(srv_metrics **out)
{
	srv_metrics *m = com_calloc(1, sizeof(*m));

	*out = NULL;
	if (m == NULL) {
		return OCOP_ENOMEM;
	}
	m->sessions = com_calloc(METRICS_MAX_SESSIONS, sizeof(session));
	if (m->sessions == NULL || nng_mtx_alloc(&m->mtx) != 0) {
		com_free(m->sessions);
		com_free(m);
		return OCOP_ENOMEM;
	}
	*out = m;
	return OCOP_OK;
}

void
srv_metrics_free(srv_metrics *m)
{
	if (m == NULL) {
		return;
	}
	nng_mtx_free(m->mtx);
	com_free(m->sessions);
	com_free(m);
}

/* The type in a frame's header, without checking the frame: 0 when unreadable. */
static uint32_t
metrics_peek_type(const uint8_t *msg, size_t len)
{
	proto_rd r;
	uint32_t n;
	uint64_t version;
	uint64_t type;

	proto_rd_init(&r, msg, len);
	if (proto_rd_array(&r, &n) != OCOP_OK || n != 4 || proto_rd_uint(&r, &version) != OCOP_OK ||
	    proto_rd_uint(&r, &type) != OCOP_OK || type > UINT32_MAX) {
		return 0;
	}
	return (uint32_t)type;
}

static void
histogram_add(histogram *h, const double *bounds, double secs)
{
	size_t i = 0;

	while (i < N_BOUNDS && secs > bounds[i]) {
		i++;
	}
	h->buckets[i]++;
	h->count++;
	h->sum += secs;
}

static uint64_t
metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A site's HELLO or ACK (with the mutex held): open or close its sync. */
static void
metrics_session(srv_metrics *m, uint32_t type, const char *site, uint64_t now)
{
	size_t i;
	size_t oldest = 0;

	for (i = 0; i < m->nsessions; i++) {
		if (strcmp(m->sessions[i].site, site) == 0) {
			break;
		}
	}
	if (type == PROTO_MSG_HELLO) {
		if (i == m->nsessions) {
			if (m->nsessions < METRICS_MAX_SESSIONS) {
				m->nsessions++;
			} else {
				for (i = 1, oldest = 0; i < m->nsessions; i++) {
					if (m->sessions[i].hello_ns < m->sessions[oldest].hello_ns) {
						oldest = i;
					}
				}
				i = oldest;
			}
			snprintf(m->sessions[i].site, sizeof(m->sessions[i].site), "%s", site);
		}
		m->sessions[i].hello_ns = now;
		m->syncs_started++;
		return;
	}
	if (i < m->nsessions) {
		uint64_t took = now - m->sessions[i].hello_ns;
		if (took < METRICS_SESSION_TTL_NS) {
			histogram_add(&m->syncs, sync_bounds, (double)took / 1e9);
		}
		m->sessions[i] = m->sessions[--m->nsessions];
	}
}

void
srv_metrics_request(srv_metrics *m, const uint8_t *req, size_t len, const uint8_t *rep, size_t rlen, uint64_t ns)
{
	uint32_t type = metrics_peek_type(req, len);
	uint32_t rtype = rep != NULL ? metrics_peek_type(rep, rlen) : 0;
	int kind = type == PROTO_MSG_HELLO ? KIND_HELLO
	    : type == PROTO_MSG_PUSH	   ? KIND_PUSH
	    : type == PROTO_MSG_PULL	   ? KIND_PULL
	    : type == PROTO_MSG_ACK	   ? KIND_ACK
					   : KIND_OTHER;
	int outcome = rep == NULL ? OUT_DROPPED : rtype == PROTO_MSG_ERROR ? OUT_ERROR : OUT_OK;
	size_t code = OCOP_ERR_COUNT_;
	char site[PROTO_UUID_LEN + 1] = "";
	proto_env env;
	proto_rd body;

	if (outcome == OUT_ERROR && proto_env_open(rep, rlen, &env, &body) == OCOP_OK) {
		proto_error e;
		if (proto_error_decode(&body, &e) == OCOP_OK && e.code < OCOP_ERR_COUNT_) {
			code = e.code;
		}
	}
	if (outcome == OUT_OK && (kind == KIND_HELLO || kind == KIND_ACK) &&
	    proto_env_open(req, len, &env, &body) == OCOP_OK) {
		if (kind == KIND_HELLO) {
			proto_hello h;
			if (proto_hello_decode(&body, &h) == OCOP_OK) {
				memcpy(site, h.site, sizeof(site));
			}
		} else {
			proto_ack a;
			if (proto_ack_decode(&body, &a) == OCOP_OK) {
				memcpy(site, a.site, sizeof(site));
			}
		}
	}
	nng_mtx_lock(m->mtx);
	m->requests[kind][outcome]++;
	m->bytes_in[kind] += len;
	m->bytes_out[kind] += rep != NULL ? rlen : 0;
	histogram_add(&m->durations[kind], request_bounds, (double)ns / 1e9);
	if (outcome == OUT_ERROR) {
		m->errors[code]++;
	}
	if (site[0] != 0) {
		metrics_session(m, type, site, metrics_now_ns());
	}
	nng_mtx_unlock(m->mtx);
}

/* ===== Exposition ===== */

static int
write_histogram(com_buf *out, const char *name, const char *labels, const histogram *h, const double *bounds)
{
	uint64_t cum = 0;
	size_t i;
	int rv = OCOP_OK;

	for (i = 0; i <= N_BOUNDS && rv == OCOP_OK; i++) {
		cum += h->buckets[i];
		if (i < N_BOUNDS) {
			rv = com_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, labels[0] ? "," : "",
			    bounds[i], (unsigned long long)cum);
		} else {
			rv = com_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, labels[0] ? "," : "",
			    (unsigned long long)cum);
		}
	}
	if (rv == OCOP_OK) {
		const char *open = labels[0] ? "{" : "";
		const char *close = labels[0] ? "}" : "";
		rv = com_buf_printf(out, "%s_sum%s%s%s %.9f\n%s_count%s%s%s %llu\n", name, open, labels, close, h->sum,
		    name, open, labels, close, (unsigned long long)h->count);
	}
	return rv;
}

int
srv_metrics_write(srv_metrics *m, com_buf *out)
{
	char labels[64];
	int rv;
	int k;
	int o;
	size_t c;

	nng_mtx_lock(m->mtx);
	rv = com_buf_printf(out, "# HELP ocop_requests_total Sync requests served, by kind and outcome.\n"
				 "# TYPE ocop_requests_total counter\n");
	for (k = 0; k < N_KINDS && rv == OCOP_OK; k++) {
		for (o = 0; o < N_OUTCOMES && rv == OCOP_OK; o++) {
			rv = com_buf_printf(out, "ocop_requests_total{kind=\"%s\",outcome=\"%s\"} %llu\n", kind_names[k],
			    outcome_names[o], (unsigned long long)m->requests[k][o]);
		}
	}
	if (rv == OCOP_OK) {
		rv = com_buf_printf(out, "# HELP ocop_request_errors_total Error replies, by error code.\n"
					 "# TYPE ocop_request_errors_total counter\n");
	}
	for (c = 1; c <= OCOP_ERR_COUNT_ && rv == OCOP_OK; c++) {
		rv = com_buf_printf(out, "ocop_request_errors_total{code=\"%s\"} %llu\n",
		    c < OCOP_ERR_COUNT_ ? ocop_errname((int)c) : "unknown", (unsigned long long)m->errors[c]);
	}
	if (rv == OCOP_OK) {
		rv = com_buf_printf(out, "# HELP ocop_received_bytes_total Request bytes received, by kind.\n"
					 "# TYPE ocop_received_bytes_total counter\n");
	}
	for (k = 0; k < N_KINDS && rv == OCOP_OK; k++) {
		rv = com_buf_printf(out, "ocop_received_bytes_total{kind=\"%s\"} %llu\n", kind_names[k],
		    (unsigned long long)m->bytes_in[k]);
	}
	if (rv == OCOP_OK) {
		rv = com_buf_printf(out, "# HELP ocop_sent_bytes_total Reply bytes sent, by kind of request.\n"
					 "# TYPE ocop_sent_bytes_total counter\n");
	}
	for (k = 0; k < N_KINDS && rv == OCOP_OK; k++) {
		rv = com_buf_printf(out, "ocop_sent_bytes_total{kind=\"%s\"} %llu\n", kind_names[k],
		    (unsigned long long)m->bytes_out[k]);
	}
	if (rv == OCOP_OK) {
		rv = com_buf_printf(out, "# HELP ocop_request_duration_seconds Time to serve one request, by kind.\n"
					 "# TYPE ocop_request_duration_seconds histogram\n");
	}
	for (k = 0; k < N_KINDS && rv == OCOP_OK; k++) {
		snprintf(labels, sizeof(labels), "kind=\"%s\"", kind_names[k]);
		rv = write_histogram(out, "ocop_request_duration_seconds", labels, &m->durations[k], request_bounds);
	}
	if (rv == OCOP_OK) {
		rv = com_buf_printf(out,
		    "# HELP ocop_sync_duration_seconds Whole syncs, from a site's HELLO to its ACK.\n"
		    "# TYPE ocop_sync_duration_seconds histogram\n");
	}
	if (rv == OCOP_OK) {
		rv = write_histogram(out, "ocop_sync_duration_seconds", "", &m->syncs, sync_bounds);
	}
	if (rv == OCOP_OK) {
		rv = com_buf_printf(out, "# HELP ocop_syncs_started_total Syncs begun (HELLOs accepted).\n"
					 "# TYPE ocop_syncs_started_total counter\nocop_syncs_started_total %llu\n",
		    (unsigned long long)m->syncs_started);
	}
	nng_mtx_unlock(m->mtx);
	return rv;
}
