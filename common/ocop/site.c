/*
 * site.c: a replica's identity (site id, role, scope) and the checks of unit
 * codes and scopes, for the registry (registry.h). Setting the identity is
 * done once, by `ocop init` and `ocopd init`.
 */
#include "common/ocop/registry.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "common/ocop/registry_impl.h"
#include "common/ocop/authority.h"
#include "common/ocop/entity.h"
#include "common/ocop/scope.h"
#include "common/store/fold.h"
#include "common/util/alloc.h"
#include "common/util/uuid.h"
#include "ocop_err.h"

/* ===== Unit codes ===== */

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
ocp_reg_code_valid(const char *code)
{
	size_t len = 0;
	int segs = 0;

	if (code == NULL || *code == 0) {
		return false;
	}
	if (strcmp(code, "VN") == 0) {
		return true;
	}
	for (; *code != 0; code++) {
		if (is_digit(*code)) {
			if (++len > 6) {
				return false;
			}
		} else if (*code == '-') {
			if (len == 0 || (segs == 0 && len != 2)) {
				return false;
			}
			segs++;
			len = 0;
		} else {
			return false;
		}
	}
	if (len == 0 || (segs == 0 && len != 2)) {
		return false;
	}
	return segs + 1 <= 3;
}

/* ===== Site identity ===== */

/* Take the next comma-separated entry of *p, trimmed, into buf. False at the end. */
static bool
scope_next(const char **p, char *buf, size_t cap, bool *toolong)
{
	const char *s = *p;
	const char *end;
	size_t n;

	*toolong = false;
	if (s == NULL) {
		return false;
	}
	end = strchr(s, ',');
	n = end ? (size_t)(end - s) : strlen(s);
	*p = end ? end + 1 : NULL;
	while (n > 0 && *s == ' ') {
		s++;
		n--;
	}
	while (n > 0 && s[n - 1] == ' ') {
		n--;
	}
	if (n >= cap) {
		*toolong = true;
		n = cap - 1;
	}
	memcpy(buf, s, n);
	buf[n] = 0;
	return true;
}

/* Check scope for role and, when norm is not NULL, write it without spaces. */
static int
scope_check(const char *role, const char *scope, char *norm, size_t normcap, char *err,
    size_t errlen)
{
	char e[REG_CODE_MAX];
	const char *p = scope;
	ocp_role ro;
	size_t used = 0;
	size_t count = 0;
	bool toolong;
	int segs;

	if (ocp_role_parse(role, &ro) != OCOP_OK) {
		reg_msg(err, errlen,
		    "unknown role '%s': use commune, district, province, national or member",
		    role ? role : "");
		return OCOP_EINVAL;
	}
	if (scope == NULL || strspn(scope, " ,") == strlen(scope)) {
		reg_msg(err, errlen, "a scope is required: unit codes, a province code, or VN");
		return OCOP_EINVAL;
	}
	while (scope_next(&p, e, sizeof(e), &toolong)) {
		if (e[0] == 0) {
			reg_msg(err, errlen, "empty entry in scope '%s'", scope);
			return OCOP_EINVAL;
		}
		if (toolong || !ocp_reg_code_valid(e)) {
			reg_msg(err, errlen,
			    "scope entry '%s' is not a unit code (like 83-28882, 83 or VN)", e);
			return OCOP_EINVAL;
		}
		segs = strcmp(e, "VN") == 0 ? 0 : reg_code_segments(e);
		if (ro == OCP_ROLE_NATIONAL && segs != 0) {
			reg_msg(err, errlen, "a national site serves the whole country: its scope is VN");
			return OCOP_EINVAL;
		}
		if (ro == OCP_ROLE_PROVINCE && segs != 1) {
			reg_msg(err, errlen,
			    "a province site's scope is province codes (like 83), not '%s'", e);
			return OCOP_EINVAL;
		}
		if ((ro == OCP_ROLE_COMMUNE || ro == OCP_ROLE_DISTRICT) && segs < 2) {
			reg_msg(err, errlen,
			    "a %s site's scope is the codes of its units (like 83-28882), not '%s'",
			    ocp_role_name((int)ro), e);
			return OCOP_EINVAL;
		}
		if (norm != NULL) {
			int k = snprintf(norm + used, normcap - used, "%s%s", count ? "," : "", e);

			if (k < 0 || (size_t)k >= normcap - used) {
				reg_msg(err, errlen, "scope too long");
				return OCOP_EINVAL;
			}
			used += (size_t)k;
		}
		count++;
	}
	if (ro == OCP_ROLE_NATIONAL && count != 1) {
		reg_msg(err, errlen, "a national site's scope is VN alone");
		return OCOP_EINVAL;
	}
	return OCOP_OK;
}

int
ocp_reg_scope_check(const char *role, const char *scope, char *err, size_t errlen)
{
	return scope_check(role, scope, NULL, 0, err, errlen);
}

int
ocp_reg_scope_within(const char *outer, const char *scope, char *err, size_t errlen)
{
	char e[REG_CODE_MAX];
	const char *p = scope;
	bool toolong;

	while (scope_next(&p, e, sizeof(e), &toolong)) {
		if (e[0] == 0) {
			continue;
		}
		if (toolong || !ocp_scope_covers(outer, e)) {
			reg_msg(err, errlen, "scope entry '%s' lies outside this server's scope (%s)", e, outer);
			return OCOP_ESCOPE;
		}
	}
	return OCOP_OK;
}

int
ocp_reg_site_init(sto_db *db, const char *site_id, const char *role, const char *scope,
    const char *name, char *err, size_t errlen)
{
	char norm[1024];
	char id[COM_UUID_STRLEN + 1];
	char *nfc = NULL;
	size_t i;
	int rv;

	if (sto_site_id(db)[0] != 0) {
		reg_msg(err, errlen, "this replica is already initialised as site %s (role %s, scope %s)",
		    sto_site_id(db), sto_role(db), sto_scope(db));
		return OCOP_EEXIST;
	}
	if ((rv = scope_check(role, scope, norm, sizeof(norm), err, errlen)) != OCOP_OK) {
		return rv;
	}
	if (site_id != NULL && *site_id != 0) {
		if (!com_uuid_valid(site_id)) {
			reg_msg(err, errlen, "site id '%s' is not a UUID", site_id);
			return OCOP_EINVAL;
		}
		for (i = 0; site_id[i] != 0 && i < COM_UUID_STRLEN; i++) {
			id[i] = reg_to_lower(site_id[i]);
		}
		id[i] = 0;
		site_id = id;
	} else {
		site_id = NULL;
	}
	if (name != NULL && *name != 0) {
		if (!ocp_entity_text_clean(name)) {
			reg_msg(err, errlen, "the site name is not UTF-8 text, or holds control characters");
			return OCOP_EINPUT;
		}
		if ((nfc = sto_nfc(name)) == NULL) {
			reg_msg(err, errlen, "out of memory");
			return OCOP_ENOMEM;
		}
		/* Set before the identity: a failure later leaves only a name that the
		 * next successful init overwrites. */
		rv = sto_meta_set(db, "site_name", nfc);
		com_free(nfc);
		if (rv != OCOP_OK) {
			reg_msg(err, errlen, "%s", sto_errmsg(db));
			return rv;
		}
	}
	rv = sto_site_init(db, site_id, role, norm);
	if (rv != OCOP_OK) {
		reg_msg(err, errlen, "%s", sto_errmsg(db));
	}
	return rv;
}

