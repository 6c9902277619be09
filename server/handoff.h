/*
 * handoff.h: 5-star candidates handed from a province to the national tier
 * (OCOP.md 1.4 steps 3-4, Decision 4; docs/NATIONAL.md).
 *
 * On a province server: finding the candidates (the one scoring function says
 * potential 5★, the chair's approval is recorded, the dossier has reached
 * potential_5star), recording each once per evaluation version, and building
 * the relay PUSH messages that carry a candidate's tree (every logged change of
 * its rows, whatever site wrote them) upstream, over the network (upstream.h) or
 * in a hand-off package file. On the national server: noting each candidate's
 * arrival once, and importing a package. This module sends nothing itself.
 */
#ifndef OCOP_SERVER_HANDOFF_H
#define OCOP_SERVER_HANDOFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/ocop/council.h"
#include "common/ocop/registry.h"
#include "common/store/blob.h"
#include "common/store/store.h"
#include "common/util/buf.h"
#include "server/service.h"

#define SRV_HANDOFF_SHA_HEX 65 /* 64 hex digits and the NUL */

/* One hand-off: a candidate's evaluation version and where its hand-over stands. */
typedef struct srv_handoff_key {
	char dossier_id[37];    /* the dossier */
	char evaluation_id[37]; /* its provincial evaluation */
	int64_t version;        /* the evaluation's version */
} srv_handoff_key;

/*
 * Find the candidates of this province's replica: dossiers in potential_5star
 * or a later status of the national branch whose latest provincial evaluation
 * computes (ocp_council_result_compute) to potential 5★ and carries an approval
 * decision. With record set, each candidate not yet handed off gets its
 * hand-off row (state waiting) and, while the dossier is in potential_5star, a
 * national_dossier document and the move to sent_national (through reg, so the
 * workflow is checked). *added (may be NULL) receives the number of new hand-offs.
 * Returns OCOP_OK, OCOP_EDB, OCOP_ENOMEM; err says why. A candidate whose
 * result cannot be computed is skipped, not an error.
 */
int srv_handoff_scan(sto_db *db, ocp_council *c, ocp_reg *reg, bool record, uint32_t *added /* OUT */,
    char *err, size_t errlen);

/*
 * The hand-offs (recorded ones and, when scan found candidates not yet
 * recorded, those as "waiting" with recorded false) as a JSON array of
 * {dossier_id, evaluation_id, version, state, recorded, product, unit_code,
 * status, mean, star, changes, package_sha256, attempts, last_error, updated}.
 * Returns OCOP_OK, OCOP_EDB, OCOP_ENOMEM. Caller json_decref()s *out.
 */
int srv_handoff_list(sto_db *db, ocp_council *c, json_t **out /* OUT */);

/*
 * The latest hand-off recorded for a dossier (the newest evaluation version).
 * *found says whether there is one. Returns OCOP_OK or OCOP_EDB.
 */
int srv_handoff_latest(sto_db *db, const char *dossier_id, srv_handoff_key *out /* OUT */, bool *found /* OUT */);

/* The hand-offs in state waiting or sent, oldest first, as a com_malloc'd array (caller com_free()s). */
int srv_handoff_pending(sto_db *db, srv_handoff_key **keys /* OUT */, size_t *n /* OUT */);

/*
 * Record a hand-off's new state ("sent", "acknowledged"), with the content
 * hash and number of changes when given (sha NULL keeps them), or a failed
 * attempt (state NULL: attempts + 1 and error kept). Returns OCOP_OK or OCOP_EDB.
 */
int srv_handoff_set_state(sto_db *db, const srv_handoff_key *k, const char *state, const char *sha,
    uint64_t changes, const char *error);

/*
 * Mark decided every acknowledged hand-off whose dossier holds a national_result
 * decision made after its evaluation. With any_state (a reply file to a whole
 * package), waiting and sent ones too: the national result shows the national
 * tier holds the candidate. *n (may be NULL) receives how many.
 * Returns OCOP_OK or OCOP_EDB.
 */
int srv_handoff_mark_decided(sto_db *db, bool any_state, uint32_t *n /* OUT */);

/* ===== Relay PUSH messages ===== */

/* Where one record of a relay PUSH came from, to map a rejection back. */
typedef struct srv_relay_ref {
	char site[37];  /* writer */
	uint64_t seq;   /* writer's seq */
	char tbl[33];   /* table */
	char row[37];   /* row */
} srv_relay_ref;

/* One relay PUSH being built. Caller-owned storage: init/fini. */
typedef struct srv_relay_batch {
	com_buf req;          /* the framed PUSH message, owned */
	srv_relay_ref *refs;  /* owned array: the records in PUSH order */
	size_t cap;           /* slots in refs */
	uint32_t count;       /* records in the message */
	uint64_t scanned_to;  /* last log position examined */
	bool done;            /* the log holds nothing more to examine */
} srv_relay_batch;

/* Which changes go upstream. */
typedef struct srv_relay_sel {
	const srv_handoff_key *key; /* one hand-off's tree; NULL = the trees of every hand-off */
	const char *skip_via;       /* changes this peer delivered are not sent back; may be NULL */
	const char *credential;     /* this province's credential at the national server */
	size_t budget;              /* byte budget of one PUSH */
	uint64_t max_scan;          /* log rows examined per batch at most; 0 = 20000 */
} srv_relay_sel;

/* Initialise in place. Cannot fail. */
void srv_relay_batch_init(srv_relay_batch *b);
/* Release what the batch holds. Cannot fail. */
void srv_relay_batch_fini(srv_relay_batch *b);

/*
 * Build the next relay PUSH (this node's site id as the sender) of the
 * selected trees' changes after log position `after`, in log order, up to the
 * byte budget. The tree is read in the same transaction as the log, so a row
 * that joined the tree and its changes are seen together; so the caller must
 * not be inside a transaction on db. With digest (a
 * SHA-256 context, may be NULL) every record added is hashed into it.
 * Returns OCOP_OK (b->count may be 0 with b->done), OCOP_EDB, OCOP_ENOMEM.
 */
int srv_relay_build(sto_db *db, const srv_relay_sel *sel, uint64_t after, srv_relay_batch *b,
    void *digest /* EVP_MD_CTX *, may be NULL */);

/*
 * Hash every change of one hand-off's tree (as srv_relay_build selects them)
 * into hex (SHA-256). Returns OCOP_OK, OCOP_EDB, OCOP_ENOMEM.
 */
int srv_handoff_digest(sto_db *db, const srv_handoff_key *k, const char *skip_via,
    char hex[SRV_HANDOFF_SHA_HEX] /* OUT */);

/* ===== National side ===== */

/*
 * After a relayed change to decision or evaluation row `row` was applied at
 * the national server, record the candidate's arrival once, when the row
 * completes an approved provincial evaluation. Inside the PUSH's transaction.
 * Returns OCOP_OK or OCOP_EDB.
 */
int srv_handoff_note_arrival(sto_db *db, const char *tbl, const char *row, const char *province_site);

/* ===== Hand-off package files ===== */

/*
 * Write one hand-off's package to out: a sneakernet request bundle
 * (protocol/bundle.h, PROTOCOL.md section 6) from this province holding the
 * session it would run online: HELLO, the relay PUSH messages that carry the
 * tree, ACK and PULL at its upstream pull cursor, then (with files, the
 * province's file store) the evidence files of the dossier's live documents
 * that the national server is not known to hold (FILES, FILE_PUT: the
 * candidate's whole evidence, PROTOCOL.md 6.3). The bundle ends with an
 * HMAC-SHA256 of its bytes, file messages included, under the key of
 * credential (which never goes into the file). sha (may be NULL) receives the hand-off's content hash
 * (of its records, as srv_handoff_digest) and *changes (may be NULL) the number
 * of changes. Returns OCOP_OK, OCOP_EDB, OCOP_ENOMEM.
 */
int srv_handoff_export(sto_db *db, const srv_handoff_key *k, const char *credential, sto_blobs *files, com_buf *out,
    char sha[SRV_HANDOFF_SHA_HEX] /* OUT */, uint64_t *changes /* OUT */);

/* What importing a package did. */
typedef struct srv_handoff_import_stats {
	char dossier_id[37];  /* the package's dossier ("" when it carries none) */
	char province[37];    /* the province that wrote it */
	uint32_t messages;    /* PUSH messages served */
	uint64_t applied;     /* changes newly applied */
	uint64_t duplicates;  /* changes already held */
	uint64_t rejected;    /* changes refused */
	uint32_t files;       /* evidence files the package completed here */
	uint32_t file_chunks_refused; /* of its file chunks, refused (not the candidate's, too big, damaged) */
	uint64_t seq;         /* the package's number: record it taken (srv_bundle_taken) once its reply is out */
} srv_handoff_import_stats;

/*
 * Verify a whole package (srv_bundle_verify: the province's key, a number not
 * taken before, every message, their order) before acting on any of it; then
 * serve each message with srv_handle_from() as the province (relay mode for
 * its PUSHes). The reply is authenticated with the province's key. The
 * caller records the package taken (st->seq) once it has written the reply,
 * so the same package is refused afterwards. With reply_out (may be NULL) the reply
 * bundle is appended to it: HELLO_OK, PUSH_OK..., ACK_OK and the PULL_OK pages
 * with the national tier's changes for the province from the package's cursor,
 * for `ocopd handoff apply` at the province.
 * Returns OCOP_OK; OCOP_ECORRUPT (truncated, damaged, edited or forged),
 * OCOP_EPROTO, OCOP_EVERSION, OCOP_EINVAL (not a request), OCOP_ESITE,
 * OCOP_EREVOKED, OCOP_ESTATE (a replay): nothing done; an ERROR reply's code
 * (err has its text; what was served before stays); OCOP_ENOMEM.
 */
int srv_handoff_import(srv_service *svc, const uint8_t *pkg, size_t len, com_buf *reply_out /* OUT, may be NULL */,
    srv_handoff_import_stats *st /* OUT */, char *err, size_t errlen);

/*
 * At a national server: the candidates received from provinces as a JSON array
 * of {dossier_id, evaluation_id, version, province_site, arrived, status,
 * product, unit_code, state ("received" or "decided"), national_star}.
 * Returns OCOP_OK, OCOP_EDB, OCOP_ENOMEM. Caller json_decref()s *out.
 */
int srv_handoff_arrivals(sto_db *db, json_t **out /* OUT */);

/*
 * At a province server: how many recorded hand-offs are in each state,
 * counts[0..3] = waiting, sent, acknowledged, decided. Returns OCOP_OK or OCOP_EDB.
 */
int srv_handoff_counts(sto_db *db, uint64_t counts[4] /* OUT */);

#endif /* OCOP_SERVER_HANDOFF_H */
