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
	uint64_t refused = 0;
	int64_t seen = srv_overview_parse_time(p->last_seen);
	int64_t now_s = x->o->now_ms / 1000;
	char oldest_iso[32] = "";
	bool silent;
	json_t *o;

	if (x->rv != OCOP_OK) {
		return;
	}
	if (sto_inspect_backlog(x->db, p->site, p->cursor, &pending, &oldest) != OCOP_OK ||
	    sto_inspect_refused(x->db, p->site, &refused) != OCOP_OK) {
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
	    "oldest_pending", oldest_iso, "refused", (json_int_t)refused);
	if (o == NULL || json_array_append_new(x->arr, o) != 0) {
		x->rv = OCOP_ENOMEM;
	}
}

static void
overview_rule(void *arg, const char *rule, const char *status, uint64_t n)
{
	json_t *arr = arg;

	json_array_append_new(arr, json_pack("{s:s, s:s, s:I}", "rule", rule ? rule : "", "status",
	    status ? status : "", "entries", (json_int_t)n));
}

int
srv_overview_status(sto_db *db, const srv_overview_opts *o, json_t **out)
{
	sto_totals t;
	sites_ctx x;
	json_t *top = NULL;
	json_t *rules = NULL;
	json_t *tier = NULL;
	int rv;

	*out = NULL;
	memset(&x, 0, sizeof(x));
	x.db = db;
	x.o = o;
	if ((rv = sto_inspect_totals(db, &t)) != OCOP_OK) {
		return rv;
	}
	rules = json_array();
	x.arr = json_array();
	if (rules == NULL || x.arr == NULL) {
		rv = OCOP_ENOMEM;
		goto fail;
	}
	if ((rv = sto_inspect_ledger_rules(db, overview_rule, rules)) != OCOP_OK) {
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
		if ((rv = srv_handoff_counts(db, c)) != OCOP_OK) {
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
	    (json_int_t)t.changes, "log_head", (json_int_t)t.log_head, "ledger", (json_int_t)t.ledger,
	    "ledger_open", (json_int_t)t.ledger_open, "refused", (json_int_t)t.refused, "dossiers",
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
} ledger_ctx;

static void
overview_entry(void *arg, const sto_ledger_view *e)
{
	ledger_ctx *x = arg;
	srv_peer p;
	char when[32];
	time_t secs = (time_t)(com_hlc_ms(e->recorded_hlc) / 1000);
	struct tm tm;

	memset(&p, 0, sizeof(p));
	if (e->lost_site[0] != 0) {
		(void)srv_registry_get(x->db, e->lost_site, &p); /* a name when it is one of ours */
	}
	gmtime_r(&secs, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_array_append_new(x->arr, json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
	    (json_int_t)e->id, "recorded", when, "tbl", e->tbl, "row_id", e->row, "col", e->col, "rule", e->rule,
	    "reason", e->reason, "lost_site", e->lost_site, "site_name", p.name));
}

int
srv_overview_ledger(sto_db *db, size_t limit, json_t **out)
{
	ledger_ctx x;
	int rv;

	x.db = db;
	x.arr = json_array();
	*out = NULL;
	if (x.arr == NULL) {
		return OCOP_ENOMEM;
	}
	if ((rv = sto_inspect_ledger_open(db, limit, overview_entry, &x)) != OCOP_OK) {
		json_decref(x.arr);
		return rv;
	}
	*out = x.arr;
	return OCOP_OK;
}
