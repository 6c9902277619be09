/*
 * registry.c: registered sites and their credentials (the peer table).
 */
#include "server/registry.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "common/ocop/registry.h"
#include "common/store/peer.h"
#include "common/util/uuid.h"
#include "ocop_err.h"
#include "protocol/bundle.h"

/* Hex SHA-256 of a credential: what the peer table keeps. */
static int
registry_digest(const char *cred, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	unsigned int i;

	if (EVP_Digest(cred, strlen(cred), md, &n, EVP_sha256(), NULL) != 1 || n != 32) {
		return OCOP_EINTERNAL;
	}
	for (i = 0; i < n; i++) {
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	}
	return OCOP_OK;
}

/*
 * A new credential (hex) with its digest and bundle key (hex), from the
 * system's randomness.
 */
static int
registry_secret(char cred[SRV_CREDENTIAL_LEN + 1], char digest[65], char mac[65])
{
	unsigned char raw[SRV_CREDENTIAL_LEN / 2];
	uint8_t key[PROTO_BUNDLE_DIGEST];
	size_t i;
	int rv;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		return OCOP_EINTERNAL;
	}
	for (i = 0; i < sizeof(raw); i++) {
		snprintf(cred + 2 * i, 3, "%02x", raw[i]);
	}
	OPENSSL_cleanse(raw, sizeof(raw));
	if ((rv = registry_digest(cred, digest)) != OCOP_OK || (rv = proto_bundle_key(cred, key)) != OCOP_OK) {
		return rv;
	}
	for (i = 0; i < sizeof(key); i++) {
		snprintf(mac + 2 * i, 3, "%02x", key[i]);
	}
	OPENSSL_cleanse(key, sizeof(key));
	return OCOP_OK;
}

int
srv_registry_add(sto_db *db, const char *site_id, const char *role, const char *scope,
    const char *name, char site_out[37], char cred[SRV_CREDENTIAL_LEN + 1])
{
	char digest[65];
	char mac[65];
	com_uuid u;
	int rv;

	if (site_id == NULL) {
		com_uuid7(&u);
		com_uuid_format(&u, site_out);
	} else if (!com_uuid_valid(site_id)) {
		return sto_seterr(db, OCOP_EINVAL, "site id '%s' is not a UUID", site_id);
	} else {
		snprintf(site_out, 37, "%s", site_id);
	}
	if (registry_secret(cred, digest, mac) != OCOP_OK) {
		return sto_seterr(db, OCOP_EINTERNAL, "no randomness for a credential");
	}
	rv = sto_peer_add(db, site_out, role, scope, name, digest, mac);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rv;
}

int
srv_registry_new_secrets(sto_db *db, const char *site, const char *cert_sha256, const char *cert_not_after,
    bool rotated, char cred[SRV_CREDENTIAL_LEN + 1])
{
	char digest[65];
	char mac[65];
	int rv;

	if (registry_secret(cred, digest, mac) != OCOP_OK) {
		return sto_seterr(db, OCOP_EINTERNAL, "no randomness for a credential");
	}
	rv = sto_siteauth_set_secrets(db, site, digest, mac, cert_sha256, cert_not_after, rotated);
	OPENSSL_cleanse(mac, sizeof(mac));
	return rv;
}

/* Is a role one this server (of role server_role) registers? */
static bool
registry_role_ok(const char *server_role, const char *role)
{
	static const char *const province[] = {"commune", "district", "province", "member", NULL};
	static const char *const national[] = {"province", "national", "member", NULL};
	const char *const *r = strcmp(server_role, "national") == 0 ? national : province;

	for (; *r != NULL; r++) {
		if (strcmp(*r, role) == 0) {
			return true;
		}
	}
	return false;
}

int
srv_registry_check(sto_db *db, const char *role, const char *scope, char *err, size_t errlen)
{
	int rv;

	if (role == NULL || !registry_role_ok(sto_role(db), role)) {
		snprintf(err, errlen, "a %s server registers %s, not '%s'", sto_role(db),
		    strcmp(sto_role(db), "national") == 0 ? "province, national or member sites"
							 : "commune, district, province or member sites",
		    role ? role : "");
		return OCOP_EINVAL;
	}
	if ((rv = ocp_reg_scope_check(role, scope, err, errlen)) != OCOP_OK) {
		return OCOP_EINVAL;
	}
	if ((rv = ocp_reg_scope_within(sto_scope(db), scope, err, errlen)) != OCOP_OK) {
		return OCOP_EINVAL;
	}
	return OCOP_OK;
}

static int
registry_load(sto_db *db, const char *site, srv_peer *out, char digest[65])
{
	sto_peer p;
	int rv;

	memset(out, 0, sizeof(*out));
	if ((rv = sto_peer_get(db, site, &p)) != OCOP_OK) {
		return rv;
	}
	snprintf(out->site, sizeof(out->site), "%s", p.site);
	snprintf(out->role, sizeof(out->role), "%s", p.role);
	snprintf(out->scope, sizeof(out->scope), "%s", p.scope);
	snprintf(out->name, sizeof(out->name), "%s", p.name);
	snprintf(out->last_seen, sizeof(out->last_seen), "%s", p.last_seen);
	snprintf(digest, 65, "%s", p.cred_digest);
	out->high_water = p.high_water;
	out->cursor = p.cursor;
	return sto_siteauth_get(db, site, &out->auth);
}

int
srv_registry_get(sto_db *db, const char *site, srv_peer *out)
{
	char digest[65];

	return registry_load(db, site, out, digest);
}

int
srv_registry_auth(sto_db *db, const char *site, const char *credential, srv_peer *out)
{
	char stored[65];
	char given[65];
	int rv;

	if ((rv = registry_load(db, site, out, stored)) != OCOP_OK) {
		return rv;
	}
	if ((rv = registry_digest(credential, given)) != OCOP_OK) {
		return rv;
	}
	if (CRYPTO_memcmp(stored, given, 64) != 0) {
		return sto_seterr(db, OCOP_EAUTH, "wrong credential for site %s", site);
	}
	return OCOP_OK;
}

int
srv_registry_set_high_water(sto_db *db, const char *site, uint64_t hw)
{
	return sto_peer_set_high_water(db, site, hw);
}

int
srv_registry_set_cursor(sto_db *db, const char *site, uint64_t cursor)
{
	return sto_peer_set_cursor(db, site, cursor);
}

struct registry_walk {
	sto_db *db;
	void (*fn)(void *arg, const srv_peer *p);
	void *arg;
};

static int
registry_walk_one(void *arg, const char *site)
{
	struct registry_walk *w = arg;
	char digest[65];
	srv_peer p;
	int rv = registry_load(w->db, site, &p, digest);

	if (rv == OCOP_OK) {
		w->fn(w->arg, &p);
	}
	return rv;
}

int
srv_registry_each(sto_db *db, void (*fn)(void *arg, const srv_peer *p), void *arg)
{
	struct registry_walk w = {db, fn, arg};

	return sto_peer_each(db, registry_walk_one, &w);
}
