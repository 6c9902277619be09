/*
 * bundle.h: how a server takes a request bundle it did not receive over the
 * network (a site's USB bundle at `ocopd import`, a province's hand-off
 * package at `ocopd handoff import`): whose it is, whether that site's key
 * authenticates it, whether it was taken before. Nothing in the file is
 * acted on before these checks pass; the messages are then served with
 * srv_handle_from() as the bundle's site (SRV_VIA_BUNDLE), and the reply
 * bundle is authenticated with the same key.
 */
#ifndef OCOP_SERVER_BUNDLE_H
#define OCOP_SERVER_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/store/store.h"
#include "protocol/bundle.h"
#include "server/registry.h"

/*
 * Verify the request bundle p (len bytes) for db's server: a request, for this
 * server (or one that did not know it), from a registered, active site whose
 * bundle key authenticates it, numbered above the last one taken from that
 * site. Fills *out (views into p), *peer and key. Returns OCOP_OK; with err
 * saying why and nothing changed: OCOP_EPROTO, OCOP_EVERSION (the file),
 * OCOP_ECORRUPT (damaged, edited or forged), OCOP_EINVAL (a reply, not a
 * request), OCOP_ESITE (for another server, or from a site not registered
 * here), OCOP_EREVOKED, OCOP_ESTATE (taken before: a replay), OCOP_EDB.
 */
int srv_bundle_verify(sto_db *db, const uint8_t *p, size_t len, proto_bundle *out /* OUT */,
    srv_peer *peer /* OUT */, uint8_t key[PROTO_BUNDLE_KEY] /* OUT */, char *err, size_t errlen);

/*
 * Record that request bundle seq of site was taken, so the same file (or an
 * older one) is refused from now on. Returns OCOP_OK, OCOP_ESTATE, OCOP_EDB.
 */
int srv_bundle_taken(sto_db *db, const char *site, uint64_t seq);

#endif /* OCOP_SERVER_BUNDLE_H */
