/*
 * policy.c: authority and workflow order for the merge (see policy.h).
 */
#include "common/ocop/policy.h"

#include <stdio.h>
#include <string.h>

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
	char sql[160];
	sqlite3_stmt *st = NULL;

	out[0] = 0;
	snprintf(sql, sizeof(sql), "SELECT %s FROM %s WHERE id = ?1", col, tbl);
	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) != SQLITE_OK) {
		return;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		snprintf(out, cap, "%s", (const char *)sqlite3_column_text(st, 0));
	}
	sqlite3_finalize(st);
}

static bool
policy_row_exists(sto_db *db, const char *tbl, const char *id)
{
	char sql[128];
	sqlite3_stmt *st = NULL;
	bool found = false;

	snprintf(sql, sizeof(sql), "SELECT 1 FROM %s WHERE id = ?1", tbl);
	if (sqlite3_prepare_v2(sto_sqlite(db), sql, -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
		found = sqlite3_step(st) == SQLITE_ROW;
	}
	sqlite3_finalize(st);
	return found;
}

/* The value of col in the change's cells, else in the stored row. */
static void
policy_value(sto_db *db, const proto_change *c, const char *col, char *out, size_t cap)
{
	proto_cells_it it;
	proto_cell cell;

	if (proto_cells_open(&it, c->cells, c->cells_len, NULL) == OCOP_OK) {
		while (proto_cells_next(&it, &cell) == OCOP_OK) {
			if (strcmp(cell.col, col) != 0) {
				continue;
			}
			if (cell.v.type == PROTO_V_TEXT) {
				snprintf(out, cap, "%.*s", (int)cell.v.len, (const char *)cell.v.p);
			} else if (cell.v.type == PROTO_V_INT) {
				snprintf(out, cap, "%lld", (long long)cell.v.i);
			} else {
				out[0] = 0;
			}
			return;
		}
	}
	policy_row_text(db, c->tbl, c->row, col, out, cap);
}

/* The writer's role: this node's own, or the registered peer's. */
static int
policy_writer_role(sto_db *db, const char *site, ocp_role *role)
{
	char name[32];
	sqlite3_stmt *st = NULL;

	name[0] = 0;
	if (strcmp(site, sto_site_id(db)) == 0) {
		snprintf(name, sizeof(name), "%s", sto_role(db));
	} else if (sqlite3_prepare_v2(sto_sqlite(db), "SELECT role FROM peer WHERE site = ?1", -1, &st,
		       NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			snprintf(name, sizeof(name), "%s", (const char *)sqlite3_column_text(st, 0));
		}
		sqlite3_finalize(st);
	}
	return name[0] ? ocp_role_parse(name, role) : OCOP_ESITE;
}

/* The kind that selects authority rules for a row: decision.kind, or the council tier. */
static void
policy_kind(sto_db *db, const proto_change *c, char *out, size_t cap)
{
	char eval[40];

	out[0] = 0;
	if (strcmp(c->tbl, "decision") == 0) {
		policy_value(db, c, "kind", out, cap);
	} else if (strcmp(c->tbl, "evaluation") == 0) {
		policy_value(db, c, "tier", out, cap);
	} else if (strcmp(c->tbl, "member") == 0) {
		policy_value(db, c, "evaluation_id", eval, sizeof(eval));
		policy_row_text(db, "evaluation", eval, "tier", out, cap);
	}
}

/* May `role` move a dossier into status `to` at all (from some status)? */
static int
policy_status(const ocp_flow *flow, const char *from, const char *to, ocp_role role, char *reason,
    size_t cap)
{
	size_t i;
	size_t n = ocp_flow_transition_count(flow);
	unsigned any = 0;
	char roles[128];

	if (ocp_flow_state(flow, to) == NULL) {
		snprintf(reason, cap, "unknown dossier status '%s' in workflow %s", to, ocp_flow_basis(flow));
		return OCOP_EINPUT;
	}
	if (from[0] == 0 && strcmp(to, ocp_flow_initial(flow)) == 0) {
		return OCOP_OK;
	}
	if (from[0] != 0 && ocp_flow_check(flow, from, to, role, NULL, NULL, 0) == OCOP_OK) {
		return OCOP_OK;
	}
	/* Not a direct move from what this node holds: the writer may have seen
	 * another status (a concurrent move); the lattice orders the two. Only
	 * the role's right to reach this status matters here. */
	for (i = 0; i < n; i++) {
		const ocp_transition *t = ocp_flow_transition_at(flow, i);
		if (strcmp(t->to->name, to) == 0) {
			any |= t->roles;
			if (t->roles & OCP_ROLE_BIT(role)) {
				return OCOP_OK;
			}
		}
	}
	snprintf(reason, cap, "%s cannot move a dossier to '%s'; allowed: %s", ocp_role_actor(role), to,
	    ocp_role_list(any, roles, sizeof(roles)));
	return OCOP_EAUTH;
}

/* The owner site of a sheet-owned row: score_sheet.owner_site, via score.sheet_id. */
static void
policy_owner(sto_db *db, const proto_change *c, char *out, size_t cap)
{
	char sheet[40];

	out[0] = 0;
	if (strcmp(c->tbl, "score_sheet") == 0) {
		policy_row_text(db, "score_sheet", c->row, "owner_site", out, cap);
	} else if (strcmp(c->tbl, "score") == 0) {
		policy_value(db, c, "sheet_id", sheet, sizeof(sheet));
		policy_row_text(db, "score_sheet", sheet, "owner_site", out, cap);
	}
}

/* May a writer of `role` make change c? The rules behind every authorize callback. */
static int
policy_authorize_as(ocp_policy *p, sto_db *db, const proto_change *c, ocp_role role, char *reason,
    size_t cap)
{
	proto_cells_it it;
	proto_cell cell;
	char kind[32];
	char basis[32];
	char from[64];
	char owner[40];
	bool exists;
	int rv;

	policy_kind(db, c, kind, sizeof(kind));
	exists = policy_row_exists(db, c->tbl, c->row);
	if (!exists && (rv = ocp_auth_check(p->auth, (int)role, c->tbl, NULL, kind[0] ? kind : NULL,
			    reason, cap)) != OCOP_OK) {
		return rv;
	}
	if (proto_cells_open(&it, c->cells, c->cells_len, NULL) != OCOP_OK) {
		snprintf(reason, cap, "malformed cells");
		return OCOP_EPROTO;
	}
	while ((rv = proto_cells_next(&it, &cell)) == OCOP_OK) {
		if (strcmp(c->tbl, "dossier") == 0 && strcmp(cell.col, "status") == 0 &&
		    cell.v.type == PROTO_V_TEXT) {
			char to[64];
			snprintf(to, sizeof(to), "%.*s", (int)cell.v.len, (const char *)cell.v.p);
			policy_value(db, c, "legal_basis", basis, sizeof(basis));
			policy_row_text(db, "dossier", c->row, "status", from, sizeof(from));
			rv = policy_status(ocp_policy_flow(p, basis), from, to, role, reason, cap);
		} else {
			rv = ocp_auth_check(p->auth, (int)role, c->tbl, cell.col, kind[0] ? kind : NULL, reason, cap);
		}
		if (rv != OCOP_OK) {
			return rv;
		}
	}
	if (rv != OCOP_ENOENT) {
		snprintf(reason, cap, "malformed cells");
		return OCOP_EPROTO;
	}
	/* A sheet is created by the council's tier with its owner; after that only
	 * the owner site writes it or its scores. */
	if (ocp_auth_owner_only(p->auth, c->tbl) && (exists || strcmp(c->tbl, "score") == 0)) {
		policy_owner(db, c, owner, sizeof(owner));
		return ocp_auth_check_owner(p->auth, c->tbl, owner[0] ? owner : NULL, c->site, reason, cap);
	}
	return OCOP_OK;
}

static int
policy_authorize(void *arg, sto_db *db, const proto_change *c, char *reason, size_t cap)
{
	ocp_policy *p = arg;
	ocp_role role;

	if (!p->check_authority) {
		return OCOP_OK;
	}
	if (policy_writer_role(db, c->site, &role) != OCOP_OK) {
		snprintf(reason, cap, "site %s is not registered with this server", c->site);
		return OCOP_EAUTH;
	}
	return policy_authorize_as(p, db, c, role, reason, cap);
}

/*
 * A relayed change stands when one of the roles the relayer vouches for may
 * make it; the refusal names the relayer's own role.
 */
static int
policy_authorize_relay(void *arg, sto_db *db, const proto_change *c, char *reason, size_t cap)
{
	policy_relay *r = arg;
	char other[256];
	int first;
	int rv;
	int k;

	if (!r->p->check_authority) {
		return OCOP_OK;
	}
	first = policy_authorize_as(r->p, db, c, r->relayer, reason, cap);
	if (first == OCOP_OK || first != OCOP_EAUTH) {
		return first;
	}
	for (k = 0; k < OCP_ROLE_COUNT_; k++) {
		if (k == (int)r->relayer || !(r->roles & OCP_ROLE_BIT(k))) {
			continue;
		}
		rv = policy_authorize_as(r->p, db, c, (ocp_role)k, other, sizeof(other));
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
	p->sp.authorize = policy_authorize;
	p->sp.status_cmp = policy_status_cmp;
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
	com_free(p);
}
