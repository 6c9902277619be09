/*
 * dossier.c: a dossier's workflow for the registry (registry.h): the moves
 * this site's role may make from its stored status, and making one, with
 * every requirement checked inside the transaction that writes it. Which
 * moves exist is the workflow file's business (workflow.h).
 */
#include "common/ocop/registry.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/ocop/registry_impl.h"
#include "common/ocop/entity.h"
#include "common/ocop/workflow.h"
#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"

/* ===== Dossier workflow ===== */

/* Read a live dossier's status, epoch and legal basis, and its workflow. */
static int
reg_dossier_state(ocp_reg *r, const char *key, char id[37], char *v[3], const ocp_flow **flow)
{
	int rv;

	if ((rv = reg_resolve(r, "dossier", key, id)) != OCOP_OK) {
		return rv;
	}
	rv = reg_query_row(r, v, 3, "SELECT status, epoch, legal_basis FROM dossier WHERE id = ?1", 1,
	    id);
	if (rv == OCOP_ENOENT) {
		return reg_fail(r, OCOP_ENOENT, "no dossier %s (unknown or deleted)", key);
	}
	if (rv == OCOP_OK) {
		rv = reg_flow(r, v[2] ? v[2] : OCP_FLOW_DEFAULT_BASIS, flow);
	}
	if (rv != OCOP_OK) {
		vals_free(v, 3);
	}
	return rv;
}

int
ocp_reg_dossier_next(ocp_reg *r, const char *key, json_t **out)
{
	const ocp_transition *t[REG_MAX_NEXT];
	const ocp_flow *flow = NULL;
	char *v[3] = {NULL, NULL, NULL};
	char id[37];
	json_t *o = NULL;
	json_t *next = NULL;
	size_t n;
	size_t i;
	size_t k;
	int rv;

	*out = NULL;
	r->err[0] = 0;
	if ((rv = reg_need_role(r)) != OCOP_OK) {
		return rv;
	}
	if ((rv = reg_dossier_state(r, key, id, v, &flow)) != OCOP_OK) {
		return rv;
	}
	n = ocp_flow_next(flow, v[0] ? v[0] : "", OCP_ROLE_BIT(r->role), t, REG_MAX_NEXT);
	if (n > REG_MAX_NEXT) {
		n = REG_MAX_NEXT;
	}
	o = json_object();
	next = json_array();
	if (o == NULL || next == NULL || json_object_set_new(o, "dossier", json_string(id)) != 0 ||
	    json_object_set_new(o, "legal_basis", json_string(ocp_flow_basis(flow))) != 0 ||
	    json_object_set_new(o, "status", v[0] ? json_string(v[0]) : json_null()) != 0 ||
	    json_object_set_new(o, "epoch", json_integer(v[1] ? atoll(v[1]) : 0)) != 0 ||
	    json_object_set(o, "next", next) != 0) {
		rv = reg_fail(r, OCOP_ENOMEM, "out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		json_t *m = json_object();
		json_t *req;

		/* The _new calls take their value even when they fail, so nothing leaks. */
		if (json_array_append_new(next, m) != 0 ||
		    json_object_set_new(m, "to", json_string(t[i]->to->name)) != 0 ||
		    json_object_set_new(m, "label", json_string(t[i]->to->label)) != 0 ||
		    json_object_set_new(m, "kind",
			json_string(t[i]->kind == OCP_FLOW_REOPEN ? "reopen" : "forward")) != 0 ||
		    json_object_set_new(m, "needs_note",
			json_boolean(ocp_transition_needs_reason(t[i]))) != 0 ||
		    (req = json_array()) == NULL || json_object_set_new(m, "requires", req) != 0) {
			rv = reg_fail(r, OCOP_ENOMEM, "out of memory");
			goto fail;
		}
		for (k = 0; k < t[i]->nrequires; k++) {
			if (json_array_append_new(req, json_string(t[i]->requires[k])) != 0) {
				rv = reg_fail(r, OCOP_ENOMEM, "out of memory");
				goto fail;
			}
		}
	}
	vals_free(v, 3);
	json_decref(next);
	*out = o;
	return OCOP_OK;
fail:
	vals_free(v, 3);
	json_decref(next);
	json_decref(o);
	return rv;
}

/* Check one requirement flag of transition t for dossier id. */
static int
reg_require(ocp_reg *r, const ocp_transition *t, const char *flag, const char *id,
    const char *note, const char *deadline)
{
	char err[384];
	long long n = 0;
	int rv;

	if (strcmp(flag, "reason") == 0) {
		return note != NULL ? OCOP_OK
				    : reg_fail(r, OCOP_EINPUT,
					  "moving a dossier from '%s' to '%s' needs a reason (a note)",
					  t->from->name, t->to->name);
	}
	if (strcmp(flag, "deadline") == 0) {
		return deadline != NULL
			   ? OCOP_OK
			   : reg_fail(r, OCOP_EINPUT,
				 "moving a dossier from '%s' to '%s' needs an update deadline (YYYY-MM-DD)",
				 t->from->name, t->to->name);
	}
	if (strcmp(flag, "commune_report") == 0) {
		rv = reg_query_int(r, &n,
		    "SELECT COUNT(*) FROM document WHERE dossier_id = ?1 AND kind = 'commune_report' "
		    "AND deleted = 0",
		    1, id);
		if (rv == OCOP_OK && n == 0) {
			rv = reg_fail(r, OCOP_ESTATE,
			    "moving a dossier from '%s' to '%s' needs the commune report (Mẫu 03): "
			    "add a document of kind commune_report first",
			    t->from->name, t->to->name);
		}
		return rv;
	}
	if (r->req.fn == NULL) {
		return reg_fail(r, OCOP_ESTATE,
		    "moving a dossier from '%s' to '%s' requires '%s', which the registry cannot "
		    "confirm: the council's commands make this move",
		    t->from->name, t->to->name, flag);
	}
	err[0] = 0;
	rv = r->req.fn(r->req.arg, r->db, id, flag, err, sizeof(err));
	if (rv != OCOP_OK) {
		return reg_fail(r, rv, "%s", err[0] ? err : "a requirement of the move is not met");
	}
	return OCOP_OK;
}

int
ocp_reg_dossier_move(ocp_reg *r, const char *key, const char *to, const char *note,
    const char *deadline)
{
	/* The move's reason and deadline, checked as the columns that keep them. */
	static const ocp_entity_field note_spec = {"status_note", "note", "TEXT", OCP_FK_TEXT, 0, NULL, NULL};
	static const ocp_entity_field deadline_spec = {"update_deadline", "deadline", "DATE", OCP_FK_DATE, 0, NULL, NULL};
	const ocp_entity *dossier = ocp_entity_find("dossier");
	const ocp_transition *t = NULL;
	const ocp_flow *flow = NULL;
	char *v[3] = {NULL, NULL, NULL};
	char *nnote = NULL;
	char *ndeadline = NULL;
	char err[384];
	char epoch[24];
	char id[37];
	size_t i;
	int rv;

	r->err[0] = 0;
	if ((rv = reg_need_role(r)) != OCOP_OK) {
		return rv;
	}
	if (to == NULL || *to == 0) {
		return reg_fail(r, OCOP_EINPUT, "no target status given");
	}
	if ((rv = reg_norm(r, dossier, &note_spec, note, &nnote)) != OCOP_OK ||
	    (rv = reg_norm(r, dossier, &deadline_spec, deadline, &ndeadline)) != OCOP_OK) {
		goto done;
	}
	/* Read, check and write in one immediate transaction, so the status we
	 * checked is the status we move from and a refusal writes nothing. */
	if ((rv = sto_begin(r->db)) != OCOP_OK) {
		rv = reg_dberr(r, rv);
		goto done;
	}
	rv = reg_dossier_state(r, key, id, v, &flow);
	if (rv == OCOP_OK) {
		rv = ocp_flow_check(flow, v[0] ? v[0] : "", to, r->role, &t, err, sizeof(err));
		if (rv != OCOP_OK) {
			rv = reg_fail(r, rv, "%s", err);
		}
	}
	if (rv == OCOP_OK && ocp_transition_needs_reason(t) && nnote == NULL) {
		rv = reg_fail(r, OCOP_EINPUT,
		    "moving a dossier from '%s' to '%s' %s: give the reason as a note", t->from->name,
		    t->to->name, t->kind == OCP_FLOW_REOPEN ? "reopens it" : "needs a reason");
	}
	if (rv == OCOP_OK && ndeadline != NULL && !ocp_transition_requires(t, "deadline")) {
		rv = reg_fail(r, OCOP_EINPUT, "moving a dossier from '%s' to '%s' takes no deadline",
		    t->from->name, t->to->name);
	}
	for (i = 0; rv == OCOP_OK && i < t->nrequires; i++) {
		rv = reg_require(r, t, t->requires[i], id, nnote, ndeadline);
	}
	if (rv == OCOP_OK) {
		rv = reg_auth(r, "dossier", "status");
	}
	if (rv == OCOP_OK && ocp_transition_bumps_epoch(t)) {
		rv = reg_auth(r, "dossier", "epoch");
	}
	if (rv == OCOP_OK && nnote != NULL) {
		rv = reg_auth(r, "dossier", "status_note");
	}
	if (rv == OCOP_OK && ndeadline != NULL) {
		rv = reg_auth(r, "dossier", "update_deadline");
	}
	/* Every check has passed: only now write, as one change, so the move
	 * (with the epoch a reopen opens, its note and deadline) replicates and
	 * merges as one event on every replica. */
	if (rv == OCOP_OK) {
		const char *cols[4];
		const char *vals[4];
		size_t n = 0;
		cols[n] = "status";
		vals[n++] = t->to->name;
		if (ocp_transition_bumps_epoch(t)) {
			snprintf(epoch, sizeof(epoch), "%lld", (v[1] ? atoll(v[1]) : 0) + 1);
			cols[n] = "epoch";
			vals[n++] = epoch;
		}
		if (nnote != NULL) {
			cols[n] = "status_note";
			vals[n++] = nnote;
		}
		if (ndeadline != NULL) {
			cols[n] = "update_deadline";
			vals[n++] = ndeadline;
		}
		if ((rv = sto_row_update_cells(r->db, "dossier", id, cols, vals, n)) != OCOP_OK) {
			rv = reg_dberr(r, rv);
		}
	}
	if (rv == OCOP_OK && (rv = sto_commit(r->db)) != OCOP_OK) {
		rv = reg_dberr(r, rv);
	}
	if (rv != OCOP_OK) {
		sto_rollback(r->db);
	}
done:
	vals_free(v, 3);
	com_free(nnote);
	com_free(ndeadline);
	return rv;
}

