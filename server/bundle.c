/*
 * bundle.c: checking a request bundle before a server acts on it (see bundle.h).
 */
#include "server/bundle.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "common/store/siteauth.h"
#include "ocop_err.h"

/* Hex to bytes; false unless hex is exactly 2 * n hex digits. */
static bool
bundle_unhex(const char *hex, uint8_t *out, size_t n)
{
	size_t i;

	if (strlen(hex) != 2 * n) {
		return false;
	}
	for (i = 0; i < 2 * n; i++) {
		char c = hex[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
		if (v < 0) {
			return false;
		}
		out[i / 2] = (uint8_t)(i % 2 ? (out[i / 2] | v) : (v << 4));
	}
	return true;
}

int
srv_bundle_verify(sto_db *db, const uint8_t *p, size_t len, proto_bundle *out, srv_peer *peer,
    uint8_t key[PROTO_BUNDLE_KEY], char *err, size_t errlen)
{
	proto_bundle_hdr h;
	int rv;

	err[0] = 0;
	memset(out, 0, sizeof(*out));
	if ((rv = proto_bundle_peek(&h, p, len, err, errlen)) != OCOP_OK) {
		return rv;
	}
	if (h.kind != PROTO_BUNDLE_REQUEST) {
		snprintf(err, errlen, "this is a server's reply for site %s, not a request: apply it at that site", h.site);
		return OCOP_EINVAL;
	}
	if (h.server[0] != 0 && strcmp(h.server, sto_site_id(db)) != 0) {
		snprintf(err, errlen, "the file was written for server %s; this is server %s", h.server, sto_site_id(db));
		return OCOP_ESITE;
	}
	rv = srv_registry_get(db, h.site, peer);
	if (rv == OCOP_ESITE) {
		snprintf(err, errlen, "site %s is not registered here", h.site);
		return OCOP_ESITE;
	}
	if (rv != OCOP_OK) {
		snprintf(err, errlen, "%s", sto_errmsg(db));
		return OCOP_EDB;
	}
	if (!bundle_unhex(peer->auth.mac_key, key, PROTO_BUNDLE_KEY)) {
		snprintf(err, errlen, "site %s has no bundle key here: give it new secrets ('ocopd site rotate')", h.site);
		return OCOP_ESITE;
	}
	rv = proto_bundle_open(out, p, len, key, err, errlen);
	if (rv != OCOP_OK) {
		OPENSSL_cleanse(key, PROTO_BUNDLE_KEY);
		return rv;
	}
	if (peer->auth.revoked[0] != 0) {
		snprintf(err, errlen, "site %s was revoked on %s: its files are refused", h.site, peer->auth.revoked);
		OPENSSL_cleanse(key, PROTO_BUNDLE_KEY);
		return OCOP_EREVOKED;
	}
	if (out->hdr.seq <= peer->auth.bundle_seq) {
		snprintf(err, errlen,
		    "bundle %llu of site %s was already imported (the last taken is %llu): a replayed or older file; "
		    "the site should export again",
		    (unsigned long long)out->hdr.seq, h.site, (unsigned long long)peer->auth.bundle_seq);
		OPENSSL_cleanse(key, PROTO_BUNDLE_KEY);
		return OCOP_ESTATE;
	}
	return OCOP_OK;
}

int
srv_bundle_taken(sto_db *db, const char *site, uint64_t seq)
{
	return sto_siteauth_take_bundle(db, site, seq);
}
