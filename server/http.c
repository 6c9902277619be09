/*
 * http.c: the operator view over nng's HTTP server (see http.h).
 *
 * nng runs each handler on its own threads; a mutex serialises the handlers'
 * use of the view's database connection, which is separate from the one the
 * sites' requests use, so a slow page never holds up a sync (SQLite's WAL
 * lets this reader run beside the writer).
 */
#include "server/http.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/util/platform.h>
#include <openssl/crypto.h>

#include "common/ocop/council.h"
#include "common/ocop/report.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"
#include "server/assets.h"
#include "server/files.h"
#include "server/handoff.h"
#include "server/overview.h"

enum route { R_HEALTHZ, R_METRICS, R_STATUS, R_LEDGER, R_HANDOFFS, R_REPORT, R_PAGE, R_INDEX, N_ROUTES };

static const char *const route_paths[N_ROUTES] = {"/healthz", "/metrics", "/api/status", "/api/ledger",
    "/api/handoffs", "/api/report", "/", "/index.html"};

#define HTTP_LEDGER_LIMIT 500 /* open ledger entries the API returns at most */

typedef struct http_route {
	struct srv_http *h; /* back pointer, borrowed */
	enum route r;       /* which endpoint */
} http_route;

struct srv_http {
	nng_http_server *server;                 /* held, owned */
	nng_url *url;                            /* owned */
	nng_mtx *mtx;                            /* guards db, council and the state, owned */
	sto_db *db;                              /* the view's own connection, owned */
	ocp_council *council;                    /* rules over db, owned */
	srv_metrics *metrics;                    /* borrowed, may be NULL */
	const com_log *log;                      /* borrowed */
	char token[SRV_HTTP_TOKEN_MAX + 1];      /* operator token */
	http_route routes[N_ROUTES];             /* handler data */
	bool listener_up;                        /* the sites' listener is serving */
	int upstream;                            /* SRV_UPSTREAM_* */
	int silent_days;                         /* overview threshold */
	struct srv_files *files;                 /* borrowed evidence files, may be NULL */
};

/* ===== Responses ===== */

static void
http_reply(nng_aio *aio, uint16_t status, const char *type, const void *body, size_t len)
{
	nng_http_res *res = NULL;

	if (nng_http_res_alloc(&res) != 0) {
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	if (nng_http_res_set_status(res, status) != 0 || nng_http_res_set_header(res, "Content-Type", type) != 0 ||
	    nng_http_res_set_header(res, "Cache-Control", "no-store") != 0 ||
	    nng_http_res_set_header(res, "X-Content-Type-Options", "nosniff") != 0 ||
	    nng_http_res_set_header(res, "Referrer-Policy", "no-referrer") != 0 ||
	    (len > 0 && nng_http_res_copy_data(res, body, len) != 0)) {
		nng_http_res_free(res);
		nng_aio_finish(aio, NNG_ENOMEM);
		return;
	}
	if (status == 401) {
		nng_http_res_set_header(res, "WWW-Authenticate", "Bearer realm=\"ocopd\"");
	}
	nng_aio_set_output(aio, 0, res);
	nng_aio_finish(aio, 0);
}

static void
http_json(nng_aio *aio, uint16_t status, json_t *v)
{
	char *s = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

	json_decref(v);
	if (s == NULL) {
		static const char oom[] = "{\"error\":\"out of memory\"}";
		http_reply(aio, 500, "application/json", oom, sizeof(oom) - 1);
		return;
	}
	http_reply(aio, status, "application/json; charset=utf-8", s, strlen(s));
	free(s);
}

static void
http_error(nng_aio *aio, uint16_t status, const char *why)
{
	http_json(aio, status, json_pack("{s:s}", "error", why));
}

/* ===== The token ===== */

/* The value of query parameter `name` in uri, copied into out; false when absent. */
static bool
http_query(const char *uri, const char *name, char *out, size_t cap)
{
	const char *q = strchr(uri, '?');
	size_t nlen = strlen(name);

	while (q != NULL) {
		q++;
		if (strncmp(q, name, nlen) == 0 && q[nlen] == '=') {
			const char *v = q + nlen + 1;
			size_t n = strcspn(v, "&#");
			if (n >= cap) {
				return false;
			}
			/* Percent-decoded ('+' stays '+': a token may be base64). */
			size_t i = 0;
			size_t o = 0;
			while (i < n) {
				if (v[i] == '%' && i + 2 < n && isxdigit((unsigned char)v[i + 1]) &&
				    isxdigit((unsigned char)v[i + 2])) {
					char hex[3] = {v[i + 1], v[i + 2], 0};
					out[o++] = (char)strtol(hex, NULL, 16);
					i += 3;
				} else {
					out[o++] = v[i++];
				}
			}
			out[o] = 0;
			return true;
		}
		q = strchr(q, '&');
	}
	return false;
}

static bool
http_authorised(srv_http *h, nng_http_req *req)
{
	const char *auth = nng_http_req_get_header(req, "Authorization");
	char given[SRV_HTTP_TOKEN_MAX + 1];
	size_t n;

	given[0] = 0;
	if (auth != NULL && strncmp(auth, "Bearer ", 7) == 0 && strlen(auth + 7) <= SRV_HTTP_TOKEN_MAX) {
		snprintf(given, sizeof(given), "%s", auth + 7);
	} else if (!http_query(nng_http_req_get_uri(req), "token", given, sizeof(given))) {
		return false;
	}
	n = strlen(h->token);
	/* Same length, then a comparison whose time does not depend on where they differ. */
	return strlen(given) == n && CRYPTO_memcmp(given, h->token, n) == 0;
}

/* ===== Endpoints ===== */

static void
http_healthz(srv_http *h, nng_aio *aio)
{
	static const char *const up_names[] = {"none", "reachable", "unreachable"};
	bool db_ok;
	bool ok;

	nng_mtx_lock(h->mtx);
	db_ok = sto_exec(h->db, "SELECT COUNT(*) FROM meta") == OCOP_OK;
	ok = db_ok && h->listener_up;
	http_json(aio, ok ? 200 : 503,
	    json_pack("{s:s, s:s, s:s, s:s}", "status", ok ? "ok" : "failing", "database", db_ok ? "ok" : "error",
		"listener", h->listener_up ? "up" : "down", "upstream", up_names[h->upstream]));
	nng_mtx_unlock(h->mtx);
}

static int64_t
http_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Escape a label value for the Prometheus text format. */
static int
metrics_label(com_buf *out, const char *s)
{
	int rv = OCOP_OK;

	for (; *s && rv == OCOP_OK; s++) {
		if (*s == '\\' || *s == '"') {
			rv = com_buf_printf(out, "\\%c", *s);
		} else if (*s == '\n') {
			rv = com_buf_printf(out, "\\n");
		} else {
			rv = com_buf_append(out, s, 1);
		}
	}
	return rv;
}

static const char *
jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static json_int_t
jint(const json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

/* The database's numbers as Prometheus gauges, from the overview. */
static int
metrics_database(com_buf *out, const json_t *v, int64_t now_ms)
{
	const json_t *sites = json_object_get(v, "sites");
	const json_t *rules = json_object_get(v, "ledger_rules");
	const json_t *hand = json_object_get(v, "handoffs");
	static const char *const states[] = {"waiting", "sent", "acknowledged", "decided"};
	static const struct {
		const char *name; /* metric name */
		const char *key;  /* per-site key in the overview */
		const char *help; /* HELP text */
	} per_site[] = {
	    {"ocop_site_last_contact_timestamp_seconds", NULL, "A site's last request that changed its state (0: never)."},
	    {"ocop_site_lag_seconds", "oldest_pending", "Age of the oldest server change a site has not pulled."},
	    {"ocop_site_pending_changes", "pending", "Server changes a site has not pulled (before its scope filter)."},
	    {"ocop_site_refused_changes", "refused", "A site's writes refused for lack of authority."},
	    {"ocop_site_high_water", "high_water", "Highest change of a site the server holds."},
	    {"ocop_site_silent", "silent", "1 when a site has had no contact for silent_days or more."},
	};
	size_t i;
	size_t k;
	int rv;

	rv = com_buf_printf(out,
	    "# HELP ocop_log_changes Changes in the server's log.\n# TYPE ocop_log_changes gauge\nocop_log_changes %lld\n"
	    "# HELP ocop_dossiers Dossiers held (not deleted).\n# TYPE ocop_dossiers gauge\nocop_dossiers %lld\n"
	    "# HELP ocop_refused_writes Distinct writes refused for lack of authority.\n"
	    "# TYPE ocop_refused_writes gauge\nocop_refused_writes %lld\n"
	    "# HELP ocop_sites Registered sites.\n# TYPE ocop_sites gauge\nocop_sites %zu\n"
	    "# HELP ocop_sites_silent Sites without contact for silent_days or more.\n"
	    "# TYPE ocop_sites_silent gauge\nocop_sites_silent %lld\n"
	    "# HELP ocop_ledger_entries Conflict ledger entries, by rule and status (open needs someone).\n"
	    "# TYPE ocop_ledger_entries gauge\n",
	    (long long)jint(v, "changes"), (long long)jint(v, "dossiers"), (long long)jint(v, "refused"),
	    json_array_size(sites), (long long)jint(v, "silent_sites"));
	for (i = 0; i < json_array_size(rules) && rv == OCOP_OK; i++) {
		const json_t *r = json_array_get(rules, i);
		rv = com_buf_printf(out, "ocop_ledger_entries{rule=\"");
		rv = rv ? rv : metrics_label(out, jstr(r, "rule"));
		rv = rv ? rv : com_buf_printf(out, "\",status=\"");
		rv = rv ? rv : metrics_label(out, jstr(r, "status"));
		rv = rv ? rv : com_buf_printf(out, "\"} %lld\n", (long long)jint(r, "entries"));
	}
	if (rv == OCOP_OK && hand != NULL) {
		rv = com_buf_printf(out, "# HELP ocop_handoffs 5-star hand-offs to the national tier, by state.\n"
					 "# TYPE ocop_handoffs gauge\n");
		for (i = 0; i < 4 && rv == OCOP_OK; i++) {
			rv = com_buf_printf(out, "ocop_handoffs{state=\"%s\"} %lld\n", states[i], (long long)jint(hand, states[i]));
		}
	} else if (rv == OCOP_OK) {
		rv = com_buf_printf(out, "# HELP ocop_candidates_received 5-star candidates received from provinces.\n"
					 "# TYPE ocop_candidates_received gauge\nocop_candidates_received %lld\n",
		    (long long)jint(v, "candidates_received"));
	}
	for (k = 0; k < sizeof(per_site) / sizeof(per_site[0]) && rv == OCOP_OK; k++) {
		rv = com_buf_printf(out, "# HELP %s %s\n# TYPE %s gauge\n", per_site[k].name, per_site[k].help,
		    per_site[k].name);
		for (i = 0; i < json_array_size(sites) && rv == OCOP_OK; i++) {
			const json_t *s = json_array_get(sites, i);
			long long val;
			if (per_site[k].key == NULL) {
				int64_t t = srv_overview_parse_time(jstr(s, "last_seen"));
				val = t < 0 ? 0 : (long long)t;
			} else if (strcmp(per_site[k].key, "oldest_pending") == 0) {
				val = (long long)srv_overview_lag(s, now_ms);
			} else if (strcmp(per_site[k].key, "silent") == 0) {
				val = json_is_true(json_object_get(s, "silent"));
			} else {
				val = (long long)jint(s, per_site[k].key);
			}
			rv = com_buf_printf(out, "%s{site=\"", per_site[k].name);
			rv = rv ? rv : metrics_label(out, jstr(s, "site_id"));
			rv = rv ? rv : com_buf_printf(out, "\",name=\"");
			rv = rv ? rv : metrics_label(out, jstr(s, "name"));
			rv = rv ? rv : com_buf_printf(out, "\",role=\"%s\"} %lld\n", jstr(s, "role"), val);
		}
	}
	if (rv == OCOP_OK) {
		rv = com_buf_printf(out,
		    "# HELP ocop_files_pending Evidence files live documents name that the server does not hold whole yet.\n"
		    "# TYPE ocop_files_pending gauge\nocop_files_pending %lld\n"
		    "# HELP ocop_bytes_pending Bytes of those files still to arrive.\n"
		    "# TYPE ocop_bytes_pending gauge\nocop_bytes_pending %lld\n"
		    "# HELP ocop_file_bytes_received_total Evidence file bytes taken from sites (chunks written).\n"
		    "# TYPE ocop_file_bytes_received_total counter\nocop_file_bytes_received_total %lld\n"
		    "# HELP ocop_file_bytes_sent_total Evidence file bytes served to sites.\n"
		    "# TYPE ocop_file_bytes_sent_total counter\nocop_file_bytes_sent_total %lld\n"
		    "# HELP ocop_file_chunks_refused_total File chunks refused (damaged, not the site's, no room).\n"
		    "# TYPE ocop_file_chunks_refused_total counter\nocop_file_chunks_refused_total %lld\n",
		    (long long)jint(v, "files_pending"), (long long)jint(v, "bytes_pending"),
		    (long long)jint(v, "file_bytes_in"), (long long)jint(v, "file_bytes_out"),
		    (long long)jint(v, "file_chunks_refused"));
	}
	return rv;
}

/* The evidence files' numbers into the overview v (metrics and /api/status), with the mutex held. */
static int
http_files(srv_http *h, json_t *v)
{
	sto_files_count c = {0, 0};
	srv_files_counters n;
	int rv;

	memset(&n, 0, sizeof(n));
	if (h->files != NULL) {
		if ((rv = srv_files_waiting(h->files, h->db, &c)) != OCOP_OK) {
			return rv;
		}
		srv_files_counters_get(h->files, &n);
	}
	json_object_set_new(v, "files_pending", json_integer((json_int_t)c.files));
	json_object_set_new(v, "bytes_pending", json_integer((json_int_t)c.bytes));
	json_object_set_new(v, "file_bytes_in", json_integer((json_int_t)n.bytes_in));
	json_object_set_new(v, "file_bytes_out", json_integer((json_int_t)n.bytes_out));
	json_object_set_new(v, "file_chunks_refused", json_integer((json_int_t)n.chunks_refused));
	return OCOP_OK;
}

/* Build one data endpoint's JSON with the mutex held. */
static int
http_data(srv_http *h, enum route r, json_t **out)
{
	srv_overview_opts o;
	int rv;

	switch (r) {
	case R_STATUS:
		o.now_ms = http_now_ms();
		o.silent_days = h->silent_days;
		if ((rv = srv_overview_status(h->db, &o, out)) == OCOP_OK && (rv = http_files(h, *out)) != OCOP_OK) {
			json_decref(*out);
			*out = NULL;
		}
		return rv;
	case R_LEDGER:
		return srv_overview_ledger(h->db, HTTP_LEDGER_LIMIT, out);
	case R_HANDOFFS:
		if (strcmp(sto_role(h->db), "national") == 0) {
			return srv_handoff_arrivals(h->db, out);
		}
		return srv_handoff_list(h->db, h->council, out);
	case R_REPORT: {
		ocp_report_opts ro;
		ocp_report *rep = NULL;
		memset(&ro, 0, sizeof(ro));
		ro.today = ocp_council_today(h->council);
		if ((rv = ocp_report_build(&rep, h->council, &ro)) != OCOP_OK) {
			return rv;
		}
		*out = ocp_report_json(rep);
		ocp_report_free(rep);
		return *out != NULL ? OCOP_OK : OCOP_ENOMEM;
	}
	default:
		return OCOP_EINTERNAL;
	}
}

static void
http_metrics(srv_http *h, nng_aio *aio)
{
	srv_overview_opts o;
	json_t *v = NULL;
	com_buf out;
	int rv;

	com_buf_init(&out);
	rv = com_buf_printf(&out, "# HELP ocop_build_info The ocopd version.\n# TYPE ocop_build_info gauge\n"
				  "ocop_build_info{version=\"%s\"} 1\n",
	    OCOP_VERSION_STRING);
	if (rv == OCOP_OK && h->metrics != NULL) {
		rv = srv_metrics_write(h->metrics, &out);
	}
	nng_mtx_lock(h->mtx);
	if (rv == OCOP_OK) {
		o.now_ms = http_now_ms();
		o.silent_days = h->silent_days;
		rv = srv_overview_status(h->db, &o, &v);
	}
	if (rv == OCOP_OK) {
		rv = http_files(h, v);
	}
	if (rv == OCOP_OK) {
		rv = com_buf_printf(&out, "# HELP ocop_upstream_up 1 when the national server answered the last step"
					  " (absent without an upstream).\n# TYPE ocop_upstream_up gauge\n");
		if (rv == OCOP_OK && h->upstream != SRV_UPSTREAM_NONE) {
			rv = com_buf_printf(&out, "ocop_upstream_up %d\n", h->upstream == SRV_UPSTREAM_UP);
		}
	}
	nng_mtx_unlock(h->mtx);
	if (rv == OCOP_OK) {
		rv = metrics_database(&out, v, o.now_ms);
	}
	json_decref(v);
	if (rv != OCOP_OK) {
		http_error(aio, 500, ocop_strerror(rv));
	} else {
		http_reply(aio, 200, "text/plain; version=0.0.4; charset=utf-8", out.data, out.len);
	}
	com_buf_fini(&out);
}

static void
http_cb(nng_aio *aio)
{
	nng_http_req *req = nng_aio_get_input(aio, 0);
	nng_http_handler *hd = nng_aio_get_input(aio, 1);
	http_route *route = nng_http_handler_get_data(hd);
	srv_http *h = route->h;
	json_t *v = NULL;
	int rv;

	if (route->r == R_HEALTHZ) {
		http_healthz(h, aio);
		return;
	}
	if (!http_authorised(h, req)) {
		if (route->r == R_PAGE || route->r == R_INDEX) {
			static const char page[] =
			    "<!doctype html><html lang=\"vi\"><meta charset=\"utf-8\"><title>OCOP</title>"
			    "<p>Cần mã truy cập của máy chủ: mở <code>/?token=MÃ</code> "
			    "(http_token_file trong ocopd.conf).</p><p>The operator token is required: open "
			    "<code>/?token=TOKEN</code>.</p></html>";
			http_reply(aio, 401, "text/html; charset=utf-8", page, sizeof(page) - 1);
		} else {
			http_error(aio, 401, "the operator token is required (Authorization: Bearer TOKEN)");
		}
		return;
	}
	switch (route->r) {
	case R_METRICS:
		http_metrics(h, aio);
		return;
	case R_PAGE:
	case R_INDEX:
		http_reply(aio, 200, "text/html; charset=utf-8", srv_asset_dashboard_html, srv_asset_dashboard_html_len);
		return;
	default:
		break;
	}
	nng_mtx_lock(h->mtx);
	rv = http_data(h, route->r, &v);
	nng_mtx_unlock(h->mtx);
	if (rv != OCOP_OK) {
		com_logf(h->log, COM_LOG_WARN, "http: %s: %s", route_paths[route->r], ocop_strerror(rv));
		http_error(aio, 500, ocop_strerror(rv));
		return;
	}
	http_json(aio, 200, v);
}

/* ===== Life cycle ===== */

static const char *
http_listen_error(int rv)
{
	switch (rv) {
	case NNG_EADDRINUSE: return "the address is already in use (another program listens there)";
	case NNG_EPERM: return "permission denied (ports below 1024 need privileges)";
	case NNG_EADDRINVAL: return "the address is not one of this machine's";
	default: return nng_strerror(rv);
	}
}

int
srv_http_open(srv_http **out, const srv_http_opts *o, char *err, size_t errlen)
{
	srv_http *h;
	sto_opts so;
	int rv;
	int i;

	*out = NULL;
	if (o->token == NULL || strlen(o->token) < SRV_HTTP_TOKEN_MIN || strlen(o->token) > SRV_HTTP_TOKEN_MAX ||
	    strspn(o->token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_.~") !=
		strlen(o->token)) {
		snprintf(err, errlen, "the operator token must be %d to %d characters of letters, digits and +/=-_.~",
		    SRV_HTTP_TOKEN_MIN, SRV_HTTP_TOKEN_MAX);
		return OCOP_EINVAL;
	}
	if ((h = com_calloc(1, sizeof(*h))) == NULL) {
		return OCOP_ENOMEM;
	}
	snprintf(h->token, sizeof(h->token), "%s", o->token);
	h->metrics = o->metrics;
	h->log = o->log;
	h->silent_days = o->silent_days;
	h->files = o->files;
	if (nng_mtx_alloc(&h->mtx) != 0) {
		com_free(h);
		return OCOP_ENOMEM;
	}
	memset(&so, 0, sizeof(so));
	so.user = "ocopd-http";
	so.log = o->log;
	if ((rv = sto_open(&h->db, o->db_path, &so)) != OCOP_OK) {
		snprintf(err, errlen, "cannot open %s for the HTTP view: %s", o->db_path, ocop_strerror(rv));
		goto fail;
	}
	if ((rv = ocp_council_open(&h->council, h->db, o->data_dir)) != OCOP_OK) {
		snprintf(err, errlen, "%s", ocop_strerror(rv));
		goto fail;
	}
	if (strncmp(o->url, "http://", 7) != 0 || nng_url_parse(&h->url, o->url) != 0) {
		snprintf(err, errlen, "'%s' is not an http://HOST:PORT address", o->url);
		rv = OCOP_EINVAL;
		goto fail;
	}
	if ((rv = nng_http_server_hold(&h->server, h->url)) != 0) {
		snprintf(err, errlen, "cannot serve HTTP on %s: %s", o->url, nng_strerror(rv));
		rv = rv == NNG_ENOMEM ? OCOP_ENOMEM : OCOP_ENET;
		goto fail;
	}
	for (i = 0; i < N_ROUTES; i++) {
		nng_http_handler *hd = NULL;
		h->routes[i].h = h;
		h->routes[i].r = (enum route)i;
		if ((rv = nng_http_handler_alloc(&hd, route_paths[i], http_cb)) != 0 ||
		    (rv = nng_http_handler_set_data(hd, &h->routes[i], NULL)) != 0 ||
		    (rv = nng_http_server_add_handler(h->server, hd)) != 0) {
			if (hd != NULL) {
				nng_http_handler_free(hd);
			}
			snprintf(err, errlen, "cannot set up %s: %s", route_paths[i], nng_strerror(rv));
			rv = OCOP_ENOMEM;
			goto fail;
		}
	}
	if ((rv = nng_http_server_start(h->server)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", o->url, http_listen_error(rv));
		rv = OCOP_ENET;
		goto fail;
	}
	*out = h;
	return OCOP_OK;
fail:
	srv_http_close(h);
	return rv;
}

void
srv_http_close(srv_http *h)
{
	if (h == NULL) {
		return;
	}
	if (h->server != NULL) {
		/* Stopping waits for handlers in flight; releasing frees the handlers. */
		nng_http_server_stop(h->server);
		nng_http_server_release(h->server);
	}
	nng_url_free(h->url);
	ocp_council_close(h->council);
	sto_close(h->db);
	nng_mtx_free(h->mtx);
	com_free(h);
}

void
srv_http_set_state(srv_http *h, bool listener_up, int upstream)
{
	nng_mtx_lock(h->mtx);
	h->listener_up = listener_up;
	h->upstream = upstream;
	nng_mtx_unlock(h->mtx);
}

void
srv_http_set_silent_days(srv_http *h, int days)
{
	nng_mtx_lock(h->mtx);
	h->silent_days = days;
	nng_mtx_unlock(h->mtx);
}
