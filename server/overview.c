/*
 * overview.c: the operator's view of a server (see overview.h), assembled
 * from the store's inspection functions, the site registry and the hand-off
 * records. Everything is computed at the time of the call; nothing is cached,
 * so two views taken together show the same numbers.
 */
#include "server/overview.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/store/inspect.h"
#include "common/store/ledger.h"
#include "common/util/hlc.h"
#include "ocop_err.h"
#include "server/handoff.h"
#include "server/registry.h"

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static int64_t
days_from_civil(int64_t y, int64_t m, int64_t d)
{
	int64_t era;
	int64_t yoe;
	int64_t doy;
	int64_t doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int64_t
srv_overview_parse_time(const char *iso)
{
	int y;
	int mo;
	int d;
	int h;
	int mi;
	int s;
	char z = 0;

	if (iso == NULL || sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 || z != 'Z' ||
	    mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
		return -1;
	}
	return days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

int64_t
srv_overview_lag(const json_t *site, int64_t now_ms)
{
	int64_t t = srv_overview_parse_time(json_string_value(json_object_get(site, "oldest_pending")));

	return t < 0 || now_ms / 1000 <= t ? 0 : now_ms / 1000 - t;
}

/* ===== Sites ===== */

typedef struct sites_ctx {
	sto_db *db;                 /* borrowed */
	const srv_overview_opts *o; /* borrowed */
	json_t *arr;                /* the sites, borrowed */
	uint64_t silent;            /* silent sites so far */
	int rv;                     /* first error */
} sites_ctx;

static void
overview_site(void *arg, const srv_peer *p)
{
	sites_ctx *x = arg;
	uint64_t pending = 0;
	uint64_t oldest = 0;
	sto_ledger_stats ls;
	int64_t seen = srv_overview_parse_time(p->last_seen);
	int64_t now_s = x->o->now_ms / 1000;
	char oldest_iso[32] = "";
	bool silent;
	json_t *o;

	if (x->rv != OCOP_OK) {
		return;
	}
	if (sto_inspect_backlog(x->db, p->site, p->cursor, &pending, &oldest) != OCOP_OK ||
	    sto_ledger_counts(x->db, p->site, &ls) != OCOP_OK) {
		x->rv = OCOP_EDB;
		return;
	}
	if (oldest != 0) {
		time_t secs = (time_t)(com_hlc_ms(oldest) / 1000);
		struct tm tm;
		gmtime_r(&secs, &tm);
		strftime(oldest_iso, sizeof(oldest_iso), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	silent = seen < 0 || now_s - seen >= (int64_t)x->o->silent_days * 86400;
	x->silent += silent;
	o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:b, s:I, s:s, s:I}", "site_id", p->site, "name", p->name,
	    "role", p->role, "scope", p->scope, "high_water", (json_int_t)p->high_water, "cursor",
	    (json_int_t)p->cursor, "last_seen", p->last_seen, "silent", silent, "pending", (json_int_t)pending,
	    "oldest_pending", oldest_iso, "refused", (json_int_t)ls.refused_changes);
	if (o == NULL || json_array_append_new(x->arr, o) != 0) {
		x->rv = OCOP_ENOMEM;
	}
}

/* The ledger in one pass: entries, open ones, and counts by rule and state. */
typedef struct rules_ctx {
	json_t *rules;    /* [{rule, status, entries}], borrowed */
	uint64_t entries; /* every entry */
	uint64_t open;    /* entries nobody has settled */
	int rv;           /* first error */
} rules_ctx;

static int
overview_rule(void *arg, const sto_ledger_entry *e)
{
	rules_ctx *x = arg;
	const char *status = strcmp(e->status, "open") == 0 ? "open" : "settled";
	size_t i;

	x->entries++;
	x->open += strcmp(status, "open") == 0;
	for (i = 0; i < json_array_size(x->rules); i++) {
		json_t *r = json_array_get(x->rules, i);
		if (strcmp(json_string_value(json_object_get(r, "rule")), e->rule) == 0 &&
		    strcmp(json_string_value(json_object_get(r, "status")), status) == 0) {
			json_object_set_new(r, "entries", json_integer(json_integer_value(json_object_get(r, "entries")) + 1));
			return 0;
		}
	}
	if (json_array_append_new(x->rules, json_pack("{s:s, s:s, s:I}", "rule", e->rule, "status", status,
		"entries", (json_int_t)1)) != 0) {
		x->rv = OCOP_ENOMEM;
		return 1;
	}
	return 0;
}

int
srv_overview_status(sto_db *db, const srv_overview_opts *o, json_t **out)
{
	sto_totals t;
	sto_ledger_stats ls;
	sites_ctx x;
	rules_ctx rx;
	json_t *top = NULL;
	json_t *rules = NULL;
	json_t *tier = NULL;
	int rv;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.db = db;
	x.o = o;
	if ((rv = sto_inspect_totals(db, &t)) != OCOP_OK || (rv = sto_ledger_counts(db, NULL, &ls)) != OCOP_OK) {
		return rv;
	}
	rules = json_array();
	x.arr = json_array();
	if (rules == NULL || x.arr == NULL) {
		rv = OCOP_ENOMEM;
		goto fail;
	}
	memset(&rx, 0, sizeof(rx));
	rx.rules = rules;
	if ((rv = sto_ledger_each(db, 0, false, overview_rule, &rx)) != OCOP_OK || (rv = rx.rv) != OCOP_OK) {
		goto fail;
	}
	if (strcmp(sto_role(db), "national") == 0) {
		json_t *arr = NULL;
		if ((rv = srv_handoff_arrivals(db, &arr)) != OCOP_OK) {
			goto fail;
		}
		tier = json_integer((json_int_t)json_array_size(arr));
		json_decref(arr);
	} else {
		uint64_t c[4];
		if ((rv = sto_handoff_counts(db, c)) != OCOP_OK) {
			goto fail;
		}
		tier = json_pack("{s:I, s:I, s:I, s:I}", "waiting", (json_int_t)c[0], "sent", (json_int_t)c[1],
		    "acknowledged", (json_int_t)c[2], "decided", (json_int_t)c[3]);
	}
	if ((rv = srv_registry_each(db, overview_site, &x)) != OCOP_OK || (rv = x.rv) != OCOP_OK) {
		goto fail;
	}
	top = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:i, s:I, s:o}", "site_id",
	    sto_site_id(db), "role", sto_role(db), "scope", sto_scope(db), "changes",
	    (json_int_t)t.changes, "log_head", (json_int_t)t.log_head, "ledger", (json_int_t)rx.entries,
	    "ledger_open", (json_int_t)rx.open, "refused", (json_int_t)ls.refused_changes, "dossiers",
	    (json_int_t)t.dossiers, "ledger_rules", rules,
	    strcmp(sto_role(db), "national") == 0 ? "candidates_received" : "handoffs", tier, "silent_days",
	    o->silent_days, "silent_sites", (json_int_t)x.silent, "sites", x.arr);
	if (top == NULL) {
		return OCOP_ENOMEM; /* json_pack's "o" stole the references even on failure */
	}
	*out = top;
	return OCOP_OK;
fail:
	json_decref(tier);
	json_decref(rules);
	json_decref(x.arr);
	return rv;
}

/* ===== Ledger ===== */

typedef struct ledger_ctx {
	sto_db *db;  /* borrowed */
	json_t *arr; /* borrowed */
	int rv;      /* first error */
} ledger_ctx;

static int
overview_entry(void *arg, const sto_ledger_entry *e)
{
	ledger_ctx *x = arg;
	srv_peer p;
	char when[32] = "";
	json_t *o;

	memset(&p, 0, sizeof(p));
	if (e->lost_site[0] != 0) {
		(void)srv_registry_get(x->db, e->lost_site, &p); /* a name when it is one of ours */
	}
	if (e->lost_hlc != 0) {
		time_t secs = (time_t)(com_hlc_ms(e->lost_hlc) / 1000);
		struct tm tm;
		gmtime_r(&secs, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "id", (json_int_t)e->id, "written", when,
	    "tbl", e->tbl, "row_id", e->row, "col", e->col, "rule", e->rule, "reason", e->reason, "refused",
	    e->refused, "lost_site", e->lost_site, "site_name", p.name);
	if (o == NULL || json_array_append_new(x->arr, o) != 0) {
		x->rv = OCOP_ENOMEM;
		return 1;
	}
	return 0;
}

int
srv_overview_ledger(sto_db *db, size_t limit, json_t **out)
{
	ledger_ctx x;
	json_t *newest;
	size_t n;
	size_t i;
	int rv;

	x.db = db;
	x.rv = OCOP_OK;
	x.arr = json_array();
	*out = NULL;
	if (x.arr == NULL) {
		return OCOP_ENOMEM;
	}
	if ((rv = sto_ledger_each(db, 0, true, overview_entry, &x)) != OCOP_OK || (rv = x.rv) != OCOP_OK) {
		json_decref(x.arr);
		return rv;
	}
	/* Newest first, at most limit. */
	if ((newest = json_array()) == NULL) {
		json_decref(x.arr);
		return OCOP_ENOMEM;
	}
	n = json_array_size(x.arr);
	for (i = 0; i < n && i < limit; i++) {
		json_array_append(newest, json_array_get(x.arr, n - 1 - i));
	}
	json_decref(x.arr);
	*out = newest;
	return OCOP_OK;
}
