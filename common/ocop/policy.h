/*
 * policy.h: the OCOP rules the replica merge applies (sto_policy), built from
 * the authority and workflow configuration: which site may write what, and
 * how two concurrent dossier statuses are ordered.
 *
 * Every node judges its own writes with these rules when it captures them
 * (a laptop refuses at once what its server would refuse). A server also
 * judges every change it receives, against the row as it stores it and the
 * writer as it has registered it. A site trusts what its server sends (the
 * server has judged it, and a site does not know the roles of other sites)
 * but orders statuses the same way.
 */
#ifndef OCOP_OCOP_POLICY_H
#define OCOP_OCOP_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "common/ocop/authority.h"
#include "common/ocop/workflow.h"
#include "common/store/merge.h"

typedef struct ocp_policy ocp_policy;

/*
 * Load the rules from data_dir (authority.conf and the workflow files). With
 * check_authority set (servers), changes of other sites are judged too;
 * without it only this node's own. Constructor of ocp_policy.
 * Returns OCOP_OK, or the loaders' errors with "FILE:LINE: reason" in err.
 * Caller frees with ocp_policy_free().
 */
int ocp_policy_open(ocp_policy **out /* OUT */, const char *data_dir, bool check_authority,
    char *err, size_t errlen);
/* Release the rules. Accepts NULL. Destructor. */
void ocp_policy_free(ocp_policy *p);
/* The merge-facing callbacks (borrowed, valid until ocp_policy_free). */
const sto_policy *ocp_policy_store(const ocp_policy *p);
/*
 * The merge-facing callbacks for changes a server of role relayer_role relays
 * from other sites (docs/NATIONAL.md): a change stands when the relayer or a
 * role it vouches for may make it (a province: itself, districts, communes and
 * council members; the national server: itself and its council members),
 * whoever its writer is. NULL for an unknown role. Borrowed, valid until
 * ocp_policy_free.
 */
const sto_policy *ocp_policy_store_relay(const ocp_policy *p, const char *relayer_role);
/* The authority rules (borrowed). */
const ocp_auth *ocp_policy_auth(const ocp_policy *p);
/* The workflow of a legal basis, or the default (qd26-2026) when unknown. Borrowed. */
const ocp_flow *ocp_policy_flow(const ocp_policy *p, const char *basis);

#endif /* OCOP_OCOP_POLICY_H */
