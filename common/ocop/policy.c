/*
 * policy.c: authority and workflow order for the merge (see policy.h).
 */
#include "common/ocop/policy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ocop/scope.h"
#include "common/ocop/units.h"
#include "common/store/schema.h"
#include "common/util/alloc.h"
#include "ocop_err.h"

static const char *const policy_bases[] = {"qd26-2026", "qd148-2023"};
#define POLICY_NBASES (sizeof(policy_bases) / sizeof(policy_bases[0]))

/*
 * The authority a relaying server lends the changes it forwards: a province
 * vouches for itself and the sites it serves, the national server for itself
 * and its council members. The writer's own registration does not count (a
 * province cannot pass off a national office's change as its own).
 */
typedef struct policy_relay {
	struct ocp_policy *p; /* back pointer, borrowed */
	ocp_role relayer;     /* the relaying server's role, tried first */
	unsigned roles;       /* every role the relayer vouches for */
	sto_policy sp;        /* callbacks bound to this relay */
} policy_relay;

struct ocp_policy {
	ocp_auth *auth;                     /* owned */
	ocp_units *units;                   /* owned: the shipped units and their succession */
	ocp_flow *flows[POLICY_NBASES];     /* owned, one per legal basis */
	bool check_authority;               /* servers check; sites trust their server */
	sto_policy sp;                      /* callbacks bound to this policy */
	policy_relay relay[OCP_ROLE_COUNT_]; /* relay policies, by the relayer's role */
};

const ocp_flow *
ocp_policy_flow(const ocp_policy *p, const char *basis)
{
	size_t i;

	for (i = 0; basis != NULL && i < POLICY_NBASES; i++) {
		if (strcmp(basis, policy_bases[i]) == 0) {
			return p->flows[i];
		}
	}
	return p->flows[0];
}

const ocp_auth *
ocp_policy_auth(const ocp_policy *p)
{
	return p->auth;
}

const sto_policy *
ocp_policy_store(const ocp_policy *p)
{
	return &p->sp;
}

/* ===== Reading what the merge needs ===== */

/* Text of column col of row id in tbl into out ("" when absent or NULL). */
static void
policy_row_text(sto_db *db, const char *tbl, const char *id, const char *col, char *out, size_t cap)
{
	(void)sto_row_text(db, tbl, id, col, out, cap);
}

static bool
policy_row_exists(sto_db *db, const char *tbl, const char *id)
{
	const sto_table *t = sto_schema_table(tbl);
	sto_row r;
	bool found;

	if (t == NULL || sto_row_load(db, t, id, &r) != OCOP_OK) {
		return false;
	}
	found = r.exists;
	sto_row_fini(&r);
	return found;
}

/* A value as text ("" for NULL; integers in decimal). */
static void
pv_text(const proto_value *v, char *out, size_t cap)
{
	out[0] = 0;
	if (v == NULL) {
		return;
	}
	if (v->type == PROTO_V_TEXT || v->type == PROTO_V_BLOB) {
		snprintf(out, cap, "%.*s", (int)v->len, (const char *)v->p);
	} else if (v->type == PROTO_V_INT) {
		snprintf(out, cap, "%lld", (long long)v->i);
	}
}

/* Same type and same bytes (NULL equals NULL). */
static bool
pv_same(const proto_value *a, const proto_value *b)
{
	proto_vtype ta = a ? a->type : PROTO_V_NULL;
	proto_vtype tb = b ? b->type : PROTO_V_NULL;

	if (ta != tb) {
		return false;
	}
	switch (ta) {
	case PROTO_V_NULL:
		return true;
	case PROTO_V_INT:
		return a->i == b->i;
	case PROTO_V_REAL:
		return a->d == b->d;
	default:
		return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
	}
}

/* One change being judged: the writer, the row before and the change. */
typedef struct policy_case {
	ocp_policy *p;             /* the rules */
	sto_db *db;                /* the replica judging */
	const sto_writer *w;       /* who wrote it, as this node knows */
	ocp_role role;             /* the role it is judged as */
	const sto_row *before;     /* the row as stored */
	const proto_change *c;     /* the change */
	const sto_table *t;        /* its table */
	proto_value cells[STO_ROW_MAX]; /* the change's values by column index (borrowed) */
	bool set[STO_ROW_MAX];     /* which columns the change sets */
	char *reason;              /* OUT: why not */
	size_t cap;                /* its size */
} policy_case;

/* Index the change's cells by column (merge_validate has checked them). */
static int
policy_case_init(policy_case *k)
{
	proto_cells_it it;
	proto_cell cell;
	int rv;

	if (proto_cells_open(&it, k->c->cells, k->c->cells_len, NULL) != OCOP_OK) {
		snprintf(k->reason, k->cap, "malformed cells");
		return OCOP_ETYPE;
	}
	while ((rv = proto_cells_next(&it, &cell)) == OCOP_OK) {
		const sto_column *col = sto_schema_column(k->t, cell.col);
		if (col == NULL) {
			snprintf(k->reason, k->cap, "table %s has no column '%s'", k->t->name, cell.col);
			return OCOP_ETYPE;
		}
		k->cells[col - k->t->cols] = cell.v;
		k->set[col - k->t->cols] = true;
	}
	if (rv != OCOP_ENOENT) {
		snprintf(k->reason, k->cap, "malformed cells");
		return OCOP_ETYPE;
	}
	return OCOP_OK;
}

/* The value of col before the change (NULL when the table has no such column). */
static const proto_value *
policy_before(const policy_case *k, const char *col)
{
	return sto_row_get(k->before, col);
}

/* The value of col after the change. */
static const proto_value *
policy_after(const policy_case *k, const char *col)
{
	const sto_column *c = sto_schema_column(k->t, col);

	if (c == NULL) {
		return NULL;
	}
	return k->set[c - k->t->cols] ? &k->cells[c - k->t->cols] : &k->before->v[c - k->t->cols];
}

static bool
policy_sets(const policy_case *k, const char *col)
{
	const sto_column *c = sto_schema_column(k->t, col);

	return c != NULL && k->set[c - k->t->cols];
}

/* The kind that selects authority rules for a row: decision.kind, or the council tier. */
static void
policy_kind(const policy_case *k, char *out, size_t cap)
{
	char eval[PROTO_UUID_LEN + 1];

	out[0] = 0;
	if (strcmp(k->t->name, "decision") == 0) {
		pv_text(policy_after(k, "kind"), out, cap);
	} else if (strcmp(k->t->name, "evaluation") == 0) {
		pv_text(policy_after(k, "tier"), out, cap);
	} else if (strcmp(k->t->name, "member") == 0) {
		pv_text(policy_after(k, "evaluation_id"), eval, sizeof(eval));
		policy_row_text(k->db, "evaluation", eval, "tier", out, cap);
	}
}

/* ===== The checks, in the order a refusal names them ===== */

/* Table, column and kind rules (authority.conf `allow`). */
static int
policy_check_allow(policy_case *k, const char *kind)
{
	size_t i;
	int rv;

	if (!k->before->exists &&
	    (rv = ocp_auth_check(ocp_policy_auth(k->p), (int)k->role, k->t->name, NULL, kind[0] ? kind : NULL,
		 k->reason, k->cap)) != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < k->t->ncols; i++) {
		if (k->set[i] && (rv = ocp_auth_check(ocp_policy_auth(k->p), (int)k->role, k->t->name,
				      k->t->cols[i].name, kind[0] ? kind : NULL, k->reason, k->cap)) != OCOP_OK) {
			return rv;
		}
	}
	return OCOP_OK;
}

/* Columns set when the row is created, never after (authority.conf `immutable`). */
static int
policy_check_immutable(policy_case *k)
{
	char was[80];
	size_t i;

	if (!k->before->exists) {
		return OCOP_OK;
	}
	for (i = 0; i < k->t->ncols; i++) {
		const char *col = k->t->cols[i].name;
		if (k->set[i] && ocp_auth_immutable(ocp_policy_auth(k->p), k->t->name, col) &&
		    !pv_same(&k->cells[i], &k->before->v[i])) {
			pv_text(&k->before->v[i], was, sizeof(was));
			snprintf(k->reason, k->cap, "%s.%s never changes once the row exists (it is '%s')", k->t->name,
			    col, was);
			return OCOP_EIMMUTABLE;
		}
	}
	return OCOP_OK;
}

/*
 * Does the writer's scope cover unit `code`, directly or through the
 * succession of units? A unit row of a former unit also belongs to whoever
 * serves its successor (successor: the row's own successor_code, or NULL).
 */
static bool
policy_covers(policy_case *k, const char *code, const proto_value *successor)
{
	char next[64];

	if (ocp_scope_covers_at(k->db, k->p->units, k->w->scope, code)) {
		return true;
	}
	pv_text(successor, next, sizeof(next));
	return strcmp(k->t->name, "unit") == 0 && next[0] != 0 &&
	    ocp_scope_covers_at(k->db, k->p->units, k->w->scope, next);
}

/*
 * The row, where it is and where it would be, lies in the writer's scope;
 * and any unit it records is one the writer serves. A row that names a
 * parent this node does not hold belongs nowhere yet and is refused.
 */
static int
policy_check_scope(policy_case *k)
{
	char before[64] = "";
	char after[64] = "";
	char code[64];
	bool missing = false;
	int rv;

	if (k->before->exists) {
		if ((rv = sto_row_scope_after(k->db, k->before, NULL, before, sizeof(before), &missing)) != OCOP_OK) {
			snprintf(k->reason, k->cap, "cannot read the row's scope");
			return rv;
		}
		if (!policy_covers(k, before, policy_before(k, "successor_code"))) {
			snprintf(k->reason, k->cap, "the %s belongs to unit %s, outside this site's scope %s", k->t->name,
			    before[0] ? before : "(none)", k->w->scope);
			return OCOP_ESCOPE;
		}
	}
	if ((rv = sto_row_scope_after(k->db, k->before, k->c, after, sizeof(after), &missing)) != OCOP_OK) {
		snprintf(k->reason, k->cap, "cannot read the row's scope");
		return rv;
	}
	if (missing) {
		snprintf(k->reason, k->cap, "the %s names a row this server does not hold", k->t->name);
		return OCOP_ESCOPE;
	}
	if (!policy_covers(k, after, policy_after(k, "successor_code"))) {
		snprintf(k->reason, k->cap, "the %s would belong to unit %s, outside this site's scope %s", k->t->name,
		    after[0] ? after : "(none)", k->w->scope);
		return OCOP_ESCOPE;
	}
	if (policy_sets(k, "unit_code")) {
		pv_text(policy_after(k, "unit_code"), code, sizeof(code));
		if (code[0] != 0 && !policy_covers(k, code, NULL)) {
			snprintf(k->reason, k->cap, "%s.unit_code %s is outside this site's scope %s", k->t->name, code,
			    k->w->scope);
			return OCOP_ESCOPE;
		}
	}
	if (policy_sets(k, "province_code")) {
		pv_text(policy_after(k, "province_code"), code, sizeof(code));
		if (code[0] != 0 && !ocp_scope_touches(k->w->scope, code) && !policy_covers(k, code, NULL)) {
			snprintf(k->reason, k->cap, "%s.province_code %s is not this site's province (scope %s)",
			    k->t->name, code, k->w->scope);
			return OCOP_ESCOPE;
		}
	}
	return OCOP_OK;
}

/*
 * Owner-only rows (authority.conf `owner`): written only by the site that
 * owns them, as stored; created for another site only by the roles allowed to.
 */
static int
policy_check_owner(policy_case *k)
{
	const char *owner_col;
	const char *via;
	unsigned others;
	char owner[PROTO_UUID_LEN + 1];
	char parent[PROTO_UUID_LEN + 1];

	if (!ocp_auth_owner(ocp_policy_auth(k->p), k->t->name, &owner_col, &via, &others)) {
		return OCOP_OK;
	}
	if (owner_col != NULL) {
		pv_text(k->before->exists ? policy_before(k, owner_col) : policy_after(k, owner_col), owner,
		    sizeof(owner));
		if (!k->before->exists && (others & OCP_ROLE_BIT(k->role)) != 0 && owner[0] != 0) {
			return OCOP_OK; /* the council's tier creates a sheet for its owner */
		}
	} else if (via != NULL && k->t->parent_col != NULL && strcmp(via, k->t->parent_col) == 0) {
		const char *pcol;
		const char *pvia;
		unsigned pothers;
		pv_text(policy_after(k, via), parent, sizeof(parent));
		if (!ocp_auth_owner(ocp_policy_auth(k->p), k->t->parent_table, &pcol, &pvia, &pothers) || pcol == NULL) {
			snprintf(k->reason, k->cap, "%s: the owner of its %s is not declared", k->t->name, k->t->parent_table);
			return OCOP_EAUTH;
		}
		policy_row_text(k->db, k->t->parent_table, parent, pcol, owner, sizeof(owner));
	} else {
		snprintf(k->reason, k->cap, "%s rows are owner-only but their owner is not declared", k->t->name);
		return OCOP_EAUTH;
	}
	return ocp_auth_check_owner(ocp_policy_auth(k->p), k->t->name, owner[0] ? owner : NULL, k->w->site, k->reason,
	    k->cap);
}

/* `match` rules: a value that must equal a value of the row another column names. */
static int
policy_check_match(policy_case *k)
{
	const ocp_auth *a = ocp_policy_auth(k->p);
	const char *tbl;
	const char *col;
	const char *ptable;
	const char *pcol;
	const char *via;
	char mine[80];
	char theirs[80];
	char ref[PROTO_UUID_LEN + 1];
	size_t i;

	for (i = 0; ocp_auth_match_at(a, i, &tbl, &col, &ptable, &pcol, &via); i++) {
		if (strcmp(tbl, k->t->name) != 0 || (k->before->exists && !policy_sets(k, col) && !policy_sets(k, via))) {
			continue;
		}
		pv_text(policy_after(k, via), ref, sizeof(ref));
		pv_text(policy_after(k, col), mine, sizeof(mine));
		if (ref[0] == 0 || !policy_row_exists(k->db, ptable, ref)) {
			snprintf(k->reason, k->cap, "%s.%s names %s %s, which this server does not hold", tbl, via, ptable,
			    ref[0] ? ref : "(none)");
			return OCOP_ESCOPE;
		}
		policy_row_text(k->db, ptable, ref, pcol, theirs, sizeof(theirs));
		if (strcmp(mine, theirs) != 0) {
			snprintf(k->reason, k->cap, "%s.%s must be the %s's %s ('%s'), not '%s'", tbl, col, ptable, pcol,
			    theirs, mine);
			return OCOP_EAUTH;
		}
	}
	return OCOP_OK;
}

/*
 * A dossier's status and epoch: a status change is a transition from the
 * stored status that the flow allows this role; a reopen carries the next
 * epoch with it, a forward move keeps the epoch; the epoch changes with
 * nothing else. A new dossier starts in the flow's initial status.
 */
static int
policy_check_workflow(policy_case *k)
{
	const ocp_transition *tr = NULL;
	const ocp_flow *flow;
	char basis[40];
	char from[64];
	char to[64];
	char e[32];
	long long e_before = 0;
	long long e_after;
	int rv;

	if (strcmp(k->t->name, "dossier") != 0 || (!policy_sets(k, "status") && !policy_sets(k, "epoch"))) {
		return OCOP_OK;
	}
	pv_text(k->before->exists ? policy_before(k, "legal_basis") : policy_after(k, "legal_basis"), basis,
	    sizeof(basis));
	flow = ocp_policy_flow(k->p, basis);
	pv_text(policy_before(k, "status"), from, sizeof(from));
	pv_text(policy_after(k, "status"), to, sizeof(to));
	pv_text(policy_before(k, "epoch"), e, sizeof(e));
	e_before = k->before->exists && e[0] ? atoll(e) : 0;
	pv_text(policy_after(k, "epoch"), e, sizeof(e));
	e_after = e[0] ? atoll(e) : 0;
	if (!k->before->exists || from[0] == 0) {
		if (to[0] != 0 && strcmp(to, ocp_flow_initial(flow)) != 0) {
			snprintf(k->reason, k->cap, "a new dossier starts in '%s', not '%s'", ocp_flow_initial(flow), to);
			return OCOP_ESTATE;
		}
		if (e_after != e_before) {
			snprintf(k->reason, k->cap, "a new dossier starts in epoch %lld, not %lld", e_before, e_after);
			return OCOP_ESTATE;
		}
		return OCOP_OK;
	}
	if (strcmp(from, to) == 0) {
		if (e_after != e_before) {
			snprintf(k->reason, k->cap,
			    "the epoch changes only with a reopen that moves the status back (epoch %lld, not %lld)",
			    e_before, e_after);
			return OCOP_ESTATE;
		}
		return OCOP_OK;
	}
	if ((rv = ocp_flow_check(flow, from, to, (int)k->role, &tr, k->reason, k->cap)) != OCOP_OK) {
		if (rv == OCOP_EINVAL) {
			snprintf(k->reason, k->cap, "unknown dossier status '%s' in workflow %s", to, ocp_flow_basis(flow));
			return OCOP_ESTATE;
		}
		return rv == OCOP_EAUTH ? OCOP_EAUTH : OCOP_ESTATE;
	}
	if (ocp_transition_bumps_epoch(tr) && e_after != e_before + 1) {
		snprintf(k->reason, k->cap, "moving a dossier back from '%s' to '%s' opens epoch %lld, not %lld", from, to,
		    e_before + 1, e_after);
		return OCOP_ESTATE;
	}
	if (!ocp_transition_bumps_epoch(tr) && e_after != e_before) {
		snprintf(k->reason, k->cap, "moving a dossier forward from '%s' to '%s' keeps epoch %lld, not %lld", from,
		    to, e_before, e_after);
		return OCOP_ESTATE;
	}
	return OCOP_OK;
}

/* A resolution settles an entry about a cell the writer may write, of a row it holds. */
static int
policy_check_resolution(policy_case *k)
{
	char tbl[PROTO_NAME_MAX + 1];
	char col[PROTO_NAME_MAX + 1];
	char row[PROTO_UUID_LEN + 1];
	char lost[PROTO_UUID_LEN + 1];
	char kind[32] = "";
	const sto_table *rt;

	if (strcmp(k->t->name, "resolution") != 0) {
		return OCOP_OK;
	}
	pv_text(policy_after(k, "ref_tbl"), tbl, sizeof(tbl));
	pv_text(policy_after(k, "ref_col"), col, sizeof(col));
	pv_text(policy_after(k, "ref_row"), row, sizeof(row));
	if ((rt = sto_schema_table(tbl)) == NULL || (col[0] != 0 && sto_schema_column(rt, col) == NULL)) {
		snprintf(k->reason, k->cap, "a resolution names no replicated cell ('%s.%s')", tbl, col);
		return OCOP_ETYPE;
	}
	/* A site may always settle an entry about its own lost or refused write:
	 * that only acknowledges it (a restore is judged as the write it is). */
	pv_text(policy_after(k, "lost_site"), lost, sizeof(lost));
	if (strcmp(lost, k->w->site) == 0) {
		return OCOP_OK;
	}
	if (strcmp(tbl, "decision") == 0) {
		policy_row_text(k->db, "decision", row, "kind", kind, sizeof(kind));
	} else if (strcmp(tbl, "evaluation") == 0) {
		policy_row_text(k->db, "evaluation", row, "tier", kind, sizeof(kind));
	}
	return ocp_auth_check(ocp_policy_auth(k->p), (int)k->role, tbl, col[0] ? col : NULL, kind[0] ? kind : NULL,
	    k->reason, k->cap);
}

/*
 * A row born dead: created by a change that sets only deleted = 1 and what
 * places it (its parent or target), all else NULL. A server's re-assertion of
 * a refused row that never existed has this shape, and a province relays it
 * in a candidate's tree; it carries no value, so only where it lies matters.
 */
static bool
policy_dead_born(const policy_case *k)
{
	size_t i;

	if (k->before->exists) {
		return false;
	}
	for (i = 0; i < k->t->ncols; i++) {
		const char *col = k->t->cols[i].name;
		if (!k->set[i] || k->cells[i].type == PROTO_V_NULL) {
			continue;
		}
		if (strcmp(col, "deleted") == 0 && k->cells[i].type == PROTO_V_INT && k->cells[i].i == 1) {
			continue;
		}
		if ((k->t->parent_col && strcmp(col, k->t->parent_col) == 0) ||
		    (k->t->ref_tbl_col && strcmp(col, k->t->ref_tbl_col) == 0) ||
		    (k->t->ref_row_col && strcmp(col, k->t->ref_row_col) == 0)) {
			continue;
		}
		return false;
	}
	return k->set[sto_schema_column(k->t, "deleted") - k->t->cols];
}

/* May a writer of `role` make change c? The rules behind every authorize callback. */
static int
policy_authorize_as(ocp_policy *p, sto_db *db, const sto_writer *w, ocp_role role, const sto_row *before,
    const proto_change *c, char *reason, size_t cap)
{
	policy_case k;
	char kind[32];
	int rv;

	memset(&k, 0, sizeof(k));
	k.p = p;
	k.db = db;
	k.w = w;
	k.role = role;
	k.before = before;
	k.c = c;
	k.t = before->t;
	k.reason = reason;
	k.cap = cap;
	if (k.t == NULL || (rv = policy_case_init(&k)) != OCOP_OK) {
		if (k.t == NULL) {
			snprintf(reason, cap, "unknown table '%s'", c->tbl);
		}
		return OCOP_ETYPE;
	}
	policy_kind(&k, kind, sizeof(kind));
	if (policy_dead_born(&k)) {
		return policy_check_scope(&k);
	}
	if ((rv = policy_check_allow(&k, kind)) != OCOP_OK || (rv = policy_check_immutable(&k)) != OCOP_OK ||
	    (rv = policy_check_scope(&k)) != OCOP_OK || (rv = policy_check_owner(&k)) != OCOP_OK ||
	    (rv = policy_check_match(&k)) != OCOP_OK || (rv = policy_check_workflow(&k)) != OCOP_OK ||
	    (rv = policy_check_resolution(&k)) != OCOP_OK) {
		return rv;
	}
	return OCOP_OK;
}

static int
policy_authorize(void *arg, sto_db *db, const sto_writer *w, const sto_row *before, const proto_change *c,
    char *reason, size_t cap)
{
	ocp_policy *p = arg;
	ocp_role role;

	if (w == NULL || w->role == NULL || ocp_role_parse(w->role, &role) != OCOP_OK) {
		snprintf(reason, cap, "site %s is not registered with this server", c->site);
		return OCOP_ESITE;
	}
	if (!p->check_authority && strcmp(w->site, sto_site_id(db)) != 0) {
		return OCOP_OK; /* a site trusts what its server has judged */
	}
	return policy_authorize_as(p, db, w, role, before, c, reason, cap);
}

/*
 * A relayed change stands when one of the roles the relayer vouches for may
 * make it; the refusal names the relayer's own role.
 */
static int
policy_authorize_relay(void *arg, sto_db *db, const sto_writer *w, const sto_row *before, const proto_change *c,
    char *reason, size_t cap)
{
	policy_relay *r = arg;
	char other[256];
	int first;
	int rv;
	int k;

	if (!r->p->check_authority) {
		return OCOP_OK;
	}
	first = policy_authorize_as(r->p, db, w, r->relayer, before, c, reason, cap);
	if (first == OCOP_OK || first == OCOP_ETYPE || first == OCOP_ESCOPE || first == OCOP_EIMMUTABLE) {
		return first;
	}
	for (k = 0; k < OCP_ROLE_COUNT_; k++) {
		if (k == (int)r->relayer || !(r->roles & OCP_ROLE_BIT(k))) {
			continue;
		}
		rv = policy_authorize_as(r->p, db, w, (ocp_role)k, before, c, other, sizeof(other));
		if (rv == OCOP_OK) {
			return OCOP_OK;
		}
	}
	return first;
}

static int
policy_status_cmp(void *arg, sto_db *db, const char *row, const char *a, const char *b)
{
	ocp_policy *p = arg;
	char basis[32];
	const ocp_flow *flow;

	policy_row_text(db, "dossier", row, "legal_basis", basis, sizeof(basis));
	flow = ocp_policy_flow(p, basis);
	return ocp_flow_rank(flow, a) - ocp_flow_rank(flow, b);
}

static bool
policy_covers_cb(void *arg, sto_db *db, const char *scope, const char *code)
{
	ocp_policy *p = arg;

	return ocp_scope_covers_at(db, p->units, scope, code);
}

static bool
policy_covers_relay(void *arg, sto_db *db, const char *scope, const char *code)
{
	policy_relay *r = arg;

	return ocp_scope_covers_at(db, r->p->units, scope, code);
}

static int
policy_status_cmp_relay(void *arg, sto_db *db, const char *row, const char *a, const char *b)
{
	policy_relay *r = arg;

	return policy_status_cmp(r->p, db, row, a, b);
}

int
ocp_policy_open(ocp_policy **out, const char *data_dir, bool check_authority, char *err, size_t errlen)
{
	ocp_policy *p;
	size_t i;
	int rv;

	*out = NULL;
	p = com_calloc(1, sizeof(*p));
	if (p == NULL) {
		return OCOP_ENOMEM;
	}
	p->check_authority = check_authority;
	if ((rv = ocp_auth_load(&p->auth, data_dir, err, errlen)) != OCOP_OK) {
		ocp_policy_free(p);
		return rv;
	}
	for (i = 0; i < POLICY_NBASES; i++) {
		if ((rv = ocp_flow_load_basis(&p->flows[i], data_dir, policy_bases[i], err, errlen)) != OCOP_OK) {
			ocp_policy_free(p);
			return rv;
		}
	}
	if ((rv = ocp_units_open(&p->units, data_dir, err, errlen)) != OCOP_OK) {
		ocp_policy_free(p);
		return rv;
	}
	p->sp.authorize = policy_authorize;
	p->sp.status_cmp = policy_status_cmp;
	p->sp.covers = policy_covers_cb;
	p->sp.arg = p;
	for (i = 0; i < OCP_ROLE_COUNT_; i++) {
		policy_relay *r = &p->relay[i];
		r->p = p;
		r->relayer = (ocp_role)i;
		r->roles = OCP_ROLE_BIT(i);
		if (i == OCP_ROLE_PROVINCE) {
			r->roles |= OCP_ROLE_BIT(OCP_ROLE_COMMUNE) | OCP_ROLE_BIT(OCP_ROLE_DISTRICT) |
			    OCP_ROLE_BIT(OCP_ROLE_MEMBER);
		} else if (i == OCP_ROLE_NATIONAL) {
			r->roles |= OCP_ROLE_BIT(OCP_ROLE_MEMBER);
		}
		r->sp.authorize = policy_authorize_relay;
		r->sp.status_cmp = policy_status_cmp_relay;
		r->sp.covers = policy_covers_relay;
		r->sp.arg = r;
	}
	*out = p;
	return OCOP_OK;
}

const sto_policy *
ocp_policy_store_relay(const ocp_policy *p, const char *relayer_role)
{
	ocp_role role;

	if (ocp_role_parse(relayer_role, &role) != OCOP_OK) {
		return NULL;
	}
	return &p->relay[role].sp;
}

void
ocp_policy_free(ocp_policy *p)
{
	size_t i;

	if (p == NULL) {
		return;
	}
	for (i = 0; i < POLICY_NBASES; i++) {
		ocp_flow_free(p->flows[i]);
	}
	ocp_auth_free(p->auth);
	ocp_units_free(p->units);
	com_free(p);
}
