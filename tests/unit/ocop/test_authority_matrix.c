/*
 * unit.ocop.authority_matrix: the authority rules, generated from the data
 * files themselves (data/authority.conf and both workflow files), checked on a
 * server and on a laptop.
 *
 * For every replicated table, every row kind its rules name, every column and
 * every role, a write of a valid new value to an existing row is made twice:
 * merged at a server as that role's change, and written locally on a replica
 * of that role. It must be applied exactly when the rules say so (allow rules,
 * immutable columns, owners, matches), and refused (and ledgered) otherwise,
 * the same on both. Then the same for a new row of every table and kind, and
 * for every transition of both flows (and every pair of statuses that is no
 * transition). A rule added to the data is covered without a new test.
 */
#include "tests/lib/testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ocop/authority.h"
#include "common/ocop/policy.h"
#include "common/ocop/workflow.h"
#include "common/store/ledger.h"
#include "common/store/merge.h"
#include "common/store/schema.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "tests/lib/replica.h"

#define MEMBER_SITE "019aaaaa-0000-7000-8000-00000000aaaa" /* the members' laptop: owner of every sheet */
#define OTHER_SITE "019aaaaa-0000-7000-8000-00000000bbbb"  /* a writer of a lost value, for resolutions */
#define FRESH_UUID "019aaaaa-1111-7000-8000-000000000001"  /* a row nobody holds */

static const char *const roles[] = {"commune", "district", "province", "national", "member"};
static const char *const scopes[] = {"83-100", "83-100", "83", "VN", "83"};
#define NROLES 5

/* A fixture row: table, kind (or NULL) and id. */
typedef struct fx_row {
	const char *tbl;
	const char *kind;
	char id[37];
} fx_row;

typedef struct fx {
	char *dir;                /* temp dir, owned */
	char data[1024];          /* data/ */
	ocp_policy *pol;          /* server rules */
	ocp_policy *site_pol;     /* laptop rules */
	sto_db *server;           /* the server's replica (role national, scope VN) */
	sto_db *site[NROLES];     /* a laptop of each role */
	char site_id[NROLES][37]; /* their ids */
	fx_row rows[64];          /* one existing row of every table and kind */
	int nrows;
	char dossier[37];         /* the fixture dossier */
	uint64_t seq;             /* next seq of the hand-made server-side changes */
	int checked;              /* writes checked */
} fx;

static fx_row *
fx_add(fx *f, const char *tbl, const char *kind, const char *const *cols, const char *const *vals, size_t n)
{
	fx_row *r = &f->rows[f->nrows++];

	r->tbl = tbl;
	r->kind = kind;
	if (sto_row_insert(f->server, tbl, cols, vals, n, r->id) != OCOP_OK) {
		print_error("fixture %s: %s\n", tbl, sto_errmsg(f->server));
	}
	return r;
}

static int
setup(void **state)
{
	fx *f = com_calloc(1, sizeof(*f));
	sto_opts o = {.create = true, .user = "matrix"};
	char path[700];
	char err[256];
	const char *kinds[16];
	size_t nk;
	size_t i;
	int k;

	f->dir = tu_mkdtemp();
	tu_src(f->data, sizeof(f->data), "data");
	if (ocp_policy_open(&f->pol, f->data, true, err, sizeof(err)) != OCOP_OK ||
	    ocp_policy_open(&f->site_pol, f->data, false, err, sizeof(err)) != OCOP_OK) {
		print_error("%s\n", err);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/server.db", f->dir);
	if (sto_open(&f->server, path, &o) != OCOP_OK || sto_site_init(f->server, NULL, "national", "VN") != OCOP_OK) {
		return -1;
	}
	/* The fixture rows, written with no rules loaded. */
	{
		const char *uc[] = {"code", "name", "level"};
		const char *uv[] = {"83-100", "Xã Thành Thới", "commune"};
		const char *sc[] = {"name", "kind", "unit_code"};
		const char *sv[] = {"HTX Kẹo dừa", "htx", "83-100"};
		fx_row *u = fx_add(f, "unit", NULL, uc, uv, 3);
		fx_row *s = fx_add(f, "subject", NULL, sc, sv, 3);
		const char *pc[] = {"subject_id", "name", "product_set", "unit_code"};
		const char *pv[] = {s->id, "Kẹo dừa sáp", "07", "83-100"};
		fx_row *p = fx_add(f, "product", NULL, pc, pv, 4);
		const char *dc[] = {"product_id", "legal_basis", "status", "epoch", "round_year", "round_no", "unit_code"};
		const char *dv[] = {p->id, "qd26-2026", "draft", "0", "2026", "1", "83-100"};
		fx_row *d = fx_add(f, "dossier", NULL, dc, dv, 7);
		const char *oc[] = {"dossier_id", "kind", "title"};
		const char *ov[] = {d->id, "mau02", "Báo cáo tự đánh giá"};
		const char *hc[] = {"subject_name", "product_name", "unit_code", "round_year", "star"};
		const char *hv[] = {"HTX cũ", "Sản phẩm cũ", "83-100", "2024", "3"};
		const char *rc[] = {"ref_tbl", "ref_row", "ref_col", "lost_hlc", "lost_site", "action"};
		const char *rv[] = {"subject", s->id, "name", "12345", OTHER_SITE, "kept"};
		(void)u;
		snprintf(f->dossier, sizeof(f->dossier), "%s", d->id);
		fx_add(f, "document", NULL, oc, ov, 3);
		fx_add(f, "history", NULL, hc, hv, 5);
		fx_add(f, "resolution", NULL, rc, rv, 6);
	}
	nk = ocp_auth_kinds(ocp_policy_auth(f->pol), "evaluation", kinds, 16);
	for (i = 0; i < nk && i < 16; i++) {
		const char *ec[] = {"dossier_id", "tier", "rubric_id", "legal_basis"};
		const char *ev[] = {f->dossier, kinds[i], "qd26-2026/07", "qd26-2026"};
		fx_row *e = fx_add(f, "evaluation", kinds[i], ec, ev, 4);
		const char *mc[] = {"evaluation_id", "name", "role", "site_id"};
		const char *mv[] = {e->id, "Thành viên", "member", MEMBER_SITE};
		fx_row *m = fx_add(f, "member", kinds[i], mc, mv, 4);
		const char *hc[] = {"evaluation_id", "member_id", "owner_site"};
		const char *hv[] = {e->id, m->id, MEMBER_SITE};
		fx_row *sh = fx_add(f, "score_sheet", kinds[i], hc, hv, 3);
		const char *kc[] = {"sheet_id", "criterion", "points"};
		const char *kv[] = {sh->id, "1.1", "100"};
		fx_add(f, "score", kinds[i], kc, kv, 3);
	}
	nk = ocp_auth_kinds(ocp_policy_auth(f->pol), "decision", kinds, 16);
	for (i = 0; i < nk && i < 16; i++) {
		const char *cc[] = {"dossier_id", "kind", "star"};
		const char *cv[] = {f->dossier, kinds[i], "4"};
		fx_add(f, "decision", kinds[i], cc, cv, 3);
	}
	sto_set_policy(f->server, ocp_policy_store(f->pol));
	/* A laptop of each role, holding every fixture row (from its server, trusted). */
	for (k = 0; k < NROLES; k++) {
		uint64_t cursor = 0;
		snprintf(path, sizeof(path), "%s/%s.db", f->dir, roles[k]);
		if (sto_open(&f->site[k], path, &o) != OCOP_OK ||
		    sto_site_init(f->site[k], strcmp(roles[k], "member") == 0 ? MEMBER_SITE : NULL, roles[k], scopes[k]) !=
			OCOP_OK ||
		    tr_exchange(f->site[k], f->server, NULL, &cursor, false, NULL) != OCOP_OK) {
			return -1;
		}
		snprintf(f->site_id[k], sizeof(f->site_id[k]), "%s", sto_site_id(f->site[k]));
		sto_set_policy(f->site[k], ocp_policy_store(f->site_pol));
	}
	f->seq = 1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;
	int k;

	printf("authority matrix: %d writes checked, each on a server and on a laptop\n", f->checked);
	for (k = 0; k < NROLES; k++) {
		sto_close(f->site[k]);
	}
	sto_close(f->server);
	ocp_policy_free(f->pol);
	ocp_policy_free(f->site_pol);
	tu_rmtree(f->dir);
	com_free(f);
	return 0;
}

/* A valid value for column c that differs from the stored one, as text and as a protocol value. */
static void
fresh_value(const sto_column *c, const proto_value *stored, char *text, size_t cap, proto_value *v)
{
	memset(v, 0, sizeof(*v));
	switch (c->kind) {
	case STO_K_INT:
	case STO_K_FLAG:
		v->type = PROTO_V_INT;
		v->i = stored && stored->type == PROTO_V_INT && stored->i == 1 ? (c->kind == STO_K_FLAG ? 0 : 2) : 1;
		snprintf(text, cap, "%lld", (long long)v->i);
		return;
	case STO_K_NAME:
		snprintf(text, cap, "x_new");
		break;
	case STO_K_CODE:
		snprintf(text, cap, "83-100-9");
		break;
	case STO_K_DATE:
		snprintf(text, cap, "2026-12-01");
		break;
	case STO_K_UUID:
		snprintf(text, cap, "%s", FRESH_UUID);
		break;
	case STO_K_HEX:
		snprintf(text, cap, "%s", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
		break;
	default:
		snprintf(text, cap, "Giá trị mới");
		break;
	}
	v->type = PROTO_V_TEXT;
	v->p = (const uint8_t *)text;
	v->len = strlen(text);
}

/*
 * Merge a hand-made change of n cells at the server as role k's, and write
 * the same on laptop k: both inside a savepoint rolled back after. Returns
 * the server's verdict (true: applied) in *srv and the laptop's in *lap.
 */
static void
judge(fx *f, int k, const char *tbl, const char *row, bool create, const char *const *cols, const proto_value *vals,
    const char *const *texts, size_t n, bool *srv, bool *lap)
{
	const char *site = strcmp(roles[k], "member") == 0 ? MEMBER_SITE : f->site_id[k];
	sto_writer w = {site, roles[k], scopes[k]};
	proto_change c;
	sto_verdict v;
	com_buf cells;
	proto_wr wr;
	size_t i;
	int rv;

	com_buf_init(&cells);
	proto_wr_init(&wr, &cells);
	proto_cells_begin(&wr, (uint32_t)n);
	for (i = 0; i < n; i++) {
		proto_cell_put(&wr, cols[i], &vals[i], 0);
	}
	memset(&c, 0, sizeof(c));
	snprintf(c.site, sizeof(c.site), "%.36s", site);
	c.seq = f->seq++;
	snprintf(c.tbl, sizeof(c.tbl), "%.32s", tbl);
	snprintf(c.row, sizeof(c.row), "%.36s", row);
	c.hlc = (uint64_t)f->seq << 20;
	c.cells = cells.data;
	c.cells_len = cells.len;
	assert_ok(sto_exec(f->server, "SAVEPOINT m"));
	assert_ok(sto_merge_apply(f->server, ocp_policy_store(f->pol), &w, &c, false, &v));
	assert_ok(sto_exec(f->server, "ROLLBACK TO m; RELEASE m"));
	*srv = v.outcome == STO_APPLIED;
	com_buf_fini(&cells);
	/* The laptop: the same write, through its own capture. */
	assert_ok(sto_exec(f->site[k], "SAVEPOINT m"));
	if (create) {
		char id[37];
		rv = sto_row_insert(f->site[k], tbl, cols, texts, n, id);
	} else {
		rv = sto_row_update_cells(f->site[k], tbl, row, cols, texts, n);
	}
	assert_ok(sto_exec(f->site[k], "ROLLBACK TO m; RELEASE m"));
	*lap = rv == OCOP_OK;
	f->checked++;
}

/* What the rules say of role k writing column col of row r (an existing row). */
static bool
expect_cell(fx *f, int k, const fx_row *r, const char *col)
{
	const ocp_auth *a = ocp_policy_auth(f->pol);
	const char *owner_col;
	const char *via;
	unsigned others;
	bool ok = (ocp_auth_roles(a, r->tbl, col, r->kind) & OCP_ROLE_BIT(k)) != 0 && !ocp_auth_immutable(a, r->tbl, col);

	if (ocp_auth_owner(a, r->tbl, &owner_col, &via, &others)) {
		ok = ok && strcmp(roles[k], "member") == 0; /* only the members' laptop owns the sheets */
	}
	if (strcmp(r->tbl, "resolution") == 0) {
		/* Settling an entry about subject.name needs the authority over it too. */
		ok = ok && (ocp_auth_roles(a, "subject", "name", NULL) & OCP_ROLE_BIT(k)) != 0;
	}
	return ok;
}

static void
test_every_role_table_kind_and_column_on_an_existing_row(void **state)
{
	fx *f = *state;
	int i;
	int k;
	size_t c;

	for (i = 0; i < f->nrows; i++) {
		const fx_row *r = &f->rows[i];
		const sto_table *t = sto_schema_table(r->tbl);
		sto_row stored;
		assert_ok(sto_row_load(f->server, t, r->id, &stored));
		for (c = 0; c < t->ncols; c++) {
			const char *col = t->cols[c].name;
			char text[80];
			proto_value v;
			const char *texts[1];
			if (strcmp(r->tbl, "dossier") == 0 && (strcmp(col, "status") == 0 || strcmp(col, "epoch") == 0)) {
				continue; /* the flows' business: below */
			}
			fresh_value(&t->cols[c], &stored.v[c], text, sizeof(text), &v);
			texts[0] = text;
			for (k = 0; k < NROLES; k++) {
				bool srv;
				bool lap;
				bool want = expect_cell(f, k, r, col);
				judge(f, k, r->tbl, r->id, false, &col, &v, texts, 1, &srv, &lap);
				if (srv != want || lap != want) {
					print_error("%s %s (kind %s).%s by %s: rules say %s, server %s, laptop %s\n", r->tbl, r->id,
					    r->kind ? r->kind : "-", col, roles[k], want ? "allowed" : "refused",
					    srv ? "applied" : "refused", lap ? "wrote" : "refused");
				}
				assert_true(srv == want);
				assert_true(lap == want);
			}
		}
		sto_row_fini(&stored);
	}
}

static void
test_every_role_creates_a_row_of_every_table_and_kind_as_the_rules_say(void **state)
{
	fx *f = *state;
	const ocp_auth *a = ocp_policy_auth(f->pol);
	int i;
	int k;

	for (i = 0; i < f->nrows; i++) {
		const fx_row *r = &f->rows[i];
		const sto_table *t = sto_schema_table(r->tbl);
		const char *cols[4];
		const char *texts[4];
		proto_value vals[4];
		const char *kind_col = strcmp(r->tbl, "decision") == 0 ? "kind" : strcmp(r->tbl, "evaluation") == 0 ? "tier"
												      : NULL;
		size_t n = 0;
		sto_row stored;
		size_t j;
		if (strcmp(r->tbl, "resolution") == 0 || strcmp(r->tbl, "unit") == 0) {
			continue; /* resolutions are settled through the ledger; a unit's code is its identity */
		}
		/* The new row copies the fixture row's placing and identifying cells. */
		assert_ok(sto_row_load(f->server, t, r->id, &stored));
		for (j = 0; j < t->ncols && n < 4; j++) {
			const char *col = t->cols[j].name;
			bool place = (t->parent_col && strcmp(col, t->parent_col) == 0) ||
			    (t->unit_col && strcmp(col, t->unit_col) == 0) || (kind_col && strcmp(col, kind_col) == 0) ||
			    strcmp(col, "owner_site") == 0 || strcmp(col, "member_id") == 0 || strcmp(col, "site_id") == 0;
			if (place && stored.v[j].type == PROTO_V_TEXT) {
				cols[n] = col;
				vals[n] = stored.v[j];
				texts[n] = (const char *)stored.v[j].p;
				n++;
			}
		}
		for (k = 0; k < NROLES; k++) {
			char row[40];
			bool srv;
			bool lap;
			bool want = (ocp_auth_roles(a, r->tbl, NULL, r->kind) & OCP_ROLE_BIT(k)) != 0;
			const char *owner_col;
			const char *via;
			unsigned others;
			for (j = 0; j < n; j++) {
				want = want && (ocp_auth_roles(a, r->tbl, cols[j], r->kind) & OCP_ROLE_BIT(k)) != 0;
			}
			if (ocp_auth_owner(a, r->tbl, &owner_col, &via, &others)) {
				/* A sheet: its owner (the members' laptop) or the tiers that create for others;
				 * a score: only its sheet's owner. */
				want = want && (strcmp(roles[k], "member") == 0 || (owner_col != NULL && (others & OCP_ROLE_BIT(k))));
			}
			snprintf(row, sizeof(row), "019aaaaa-2222-7000-8000-%012d", i * 10 + k);
			judge(f, k, r->tbl, row, true, cols, vals, texts, n, &srv, &lap);
			if (srv != want || lap != want) {
				print_error("new %s (kind %s) by %s: rules say %s, server %s, laptop %s\n", r->tbl,
				    r->kind ? r->kind : "-", roles[k], want ? "allowed" : "refused", srv ? "applied" : "refused",
				    lap ? "wrote" : "refused");
			}
			assert_true(srv == want);
			assert_true(lap == want);
		}
		sto_row_fini(&stored);
	}
}

/* Put the fixture dossier at (status, epoch) on the server and on laptop k, with no rules in the way. */
static void
place_dossier(fx *f, int k, const char *status, int epoch)
{
	char sql[300];
	sto_db *dbs[2] = {f->server, f->site[k]};
	const sto_policy *keep[2] = {ocp_policy_store(f->pol), ocp_policy_store(f->site_pol)};
	int i;

	snprintf(sql, sizeof(sql), "UPDATE dossier SET status = '%s', epoch = %d WHERE id = '%s'", status, epoch, f->dossier);
	for (i = 0; i < 2; i++) {
		sto_set_policy(dbs[i], NULL);
		assert_ok(sto_exec(dbs[i], sql));
		sto_set_policy(dbs[i], keep[i]);
	}
}

/* One status move by role k, from `from` (epoch 5) to `to`, with the epoch given. */
static void
judge_move(fx *f, int k, const char *basis, const char *from, const char *to, int epoch, bool *srv, bool *lap)
{
	const char *cols[] = {"status", "epoch"};
	const char *texts[2];
	proto_value v[2];
	char e[16];

	(void)basis;
	assert_ok(sto_exec(f->server, "SAVEPOINT place"));
	assert_ok(sto_exec(f->site[k], "SAVEPOINT place"));
	place_dossier(f, k, from, 5);
	snprintf(e, sizeof(e), "%d", epoch);
	texts[0] = to;
	texts[1] = e;
	memset(v, 0, sizeof(v));
	v[0].type = PROTO_V_TEXT;
	v[0].p = (const uint8_t *)to;
	v[0].len = strlen(to);
	v[1].type = PROTO_V_INT;
	v[1].i = epoch;
	judge(f, k, "dossier", f->dossier, false, cols, v, texts, 2, srv, lap);
	assert_ok(sto_exec(f->server, "ROLLBACK TO place; RELEASE place"));
	assert_ok(sto_exec(f->site[k], "ROLLBACK TO place; RELEASE place"));
}

static void
test_every_transition_of_both_flows_by_every_role(void **state)
{
	static const char *const bases[] = {"qd26-2026", "qd148-2023"};
	fx *f = *state;
	size_t b;
	size_t i;
	size_t j;
	int k;

	for (b = 0; b < 2; b++) {
		const ocp_flow *flow = ocp_policy_flow(f->pol, bases[b]);
		char sql[200];
		/* The fixture dossier under this basis (immutable once set: written with no rules). */
		snprintf(sql, sizeof(sql), "UPDATE dossier SET legal_basis = '%s' WHERE id = '%s'", bases[b], f->dossier);
		sto_set_policy(f->server, NULL);
		assert_ok(sto_exec(f->server, sql));
		sto_set_policy(f->server, ocp_policy_store(f->pol));
		for (k = 0; k < NROLES; k++) {
			sto_set_policy(f->site[k], NULL);
			assert_ok(sto_exec(f->site[k], sql));
			sto_set_policy(f->site[k], ocp_policy_store(f->site_pol));
		}
		for (i = 0; i < ocp_flow_state_count(flow); i++) {
			for (j = 0; j < ocp_flow_state_count(flow); j++) {
				const ocp_state *from = ocp_flow_state_at(flow, i);
				const ocp_state *to = ocp_flow_state_at(flow, j);
				const ocp_transition *t = NULL;
				size_t x;
				if (i == j) {
					continue;
				}
				for (x = 0; x < ocp_flow_transition_count(flow); x++) {
					if (ocp_flow_transition_at(flow, x)->from == from && ocp_flow_transition_at(flow, x)->to == to) {
						t = ocp_flow_transition_at(flow, x);
					}
				}
				for (k = 0; k < NROLES; k++) {
					bool srv;
					bool lap;
					bool want = t != NULL && (t->roles & OCP_ROLE_BIT(k)) != 0;
					int epoch = t != NULL && ocp_transition_bumps_epoch(t) ? 6 : 5;
					judge_move(f, k, bases[b], from->name, to->name, epoch, &srv, &lap);
					if (srv != want || lap != want) {
						print_error("%s: %s -> %s by %s: flow says %s, server %s, laptop %s\n", bases[b],
						    from->name, to->name, roles[k], want ? "allowed" : "refused",
						    srv ? "applied" : "refused", lap ? "wrote" : "refused");
					}
					assert_true(srv == want);
					assert_true(lap == want);
					if (t != NULL && want) {
						/* The same move in the wrong epoch is refused everywhere. */
						judge_move(f, k, bases[b], from->name, to->name, epoch == 6 ? 5 : 6, &srv, &lap);
						assert_false(srv);
						assert_false(lap);
					}
				}
			}
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_role_table_kind_and_column_on_an_existing_row),
	    cmocka_unit_test(test_every_role_creates_a_row_of_every_table_and_kind_as_the_rules_say),
	    cmocka_unit_test(test_every_transition_of_both_flows_by_every_role),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
