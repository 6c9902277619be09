/*
 * overview.h: the operator's view of a server as JSON: its identity and
 * totals, the ledger by rule, hand-offs by state, and every site with its
 * last contact, how far behind it is, and what was refused from it. The one
 * source of `ocopd status --json`, the HTTP API, /metrics and the dashboard,
 * so they always show the same numbers. Reads only; prints nothing.
 */
#ifndef OCOP_SERVER_OVERVIEW_H
#define OCOP_SERVER_OVERVIEW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/store/store.h"

#define SRV_SILENT_DAYS 7 /* default: a site not heard from for this long stands out */

/* What the overview is relative to. */
typedef struct srv_overview_opts {
	int64_t now_ms;  /* wall-clock time of the view (ms since 1970) */
	int silent_days; /* a site without contact for this many days (or never) is "silent" */
} srv_overview_opts;

/*
 * The server's state: {site_id, role, scope, changes, log_head, ledger,
 * ledger_open, refused, dossiers, ledger_rules: [{rule, status, entries}],
 * handoffs: {waiting, sent, acknowledged, decided} (province) or
 * candidates_received (national), silent_days, silent_sites, sites: [{site_id,
 * name, role, scope, high_water, cursor, last_seen ("" when never), silent,
 * pending, oldest_pending, refused}]}. A site's pending is the number of
 * server log entries after its cursor written by others (an upper bound of
 * its next pull, before its scope filter), and oldest_pending the time of the
 * oldest of them ("" when it is up to date): its lag is now minus that. The
 * view holds no clock reading but silent, so the same state gives the same
 * JSON. Times are ISO UTC.
 * Returns OCOP_OK, OCOP_EDB or OCOP_ENOMEM. Caller json_decref()s *out.
 */
int srv_overview_status(sto_db *db, const srv_overview_opts *o, json_t **out /* OUT */);

/*
 * The ledger entries that need someone (status open), newest first, at most
 * limit: [{id, written (when the lost write was made), tbl, row_id, col, rule,
 * reason, refused, lost_site, site_name}].
 * Returns OCOP_OK, OCOP_EDB or OCOP_ENOMEM. Caller json_decref()s *out.
 */
int srv_overview_ledger(sto_db *db, size_t limit, json_t **out /* OUT */);

/* Seconds since 1970 of an ISO UTC time "YYYY-MM-DDTHH:MM:SSZ"; -1 when malformed. Cannot fail. */
int64_t srv_overview_parse_time(const char *iso);

/* A site's lag in seconds at now_ms from its overview object (0 when up to date). Cannot fail. */
int64_t srv_overview_lag(const json_t *site, int64_t now_ms);

#endif /* OCOP_SERVER_OVERVIEW_H */
