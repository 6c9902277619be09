/*
 * filebundle.h: evidence files in sneakernet bundles and hand-off packages
 * (PROTOCOL.md 6.3): the file messages a node adds to its request bundle
 * after the rows (one FILES, then FILE_PUT chunks of the whole files its
 * server is not known to hold, within a byte budget), and taking in the file
 * messages of a reply (FILES_OK, FILE_PUT_OK, FILE_DATA) as the online
 * exchange would: every chunk checked against its digest, a file visible
 * only once whole and verified, a replayed file changing nothing. What does
 * not fit in a bundle follows with the next one or over the link.
 */
#ifndef OCOP_STORE_FILEBUNDLE_H
#define OCOP_STORE_FILEBUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "common/store/blob.h"
#include "common/store/fileref.h"
#include "common/store/store.h"
#include "protocol/bundle.h"

#define STO_FILEBUNDLE_CHUNK (1u << 20) /* chunk size of the file messages a node writes into a bundle */

/* What the file messages of a bundle did. */
typedef struct sto_filebundle_stats {
	uint32_t files;          /* export: files carried whole; import: files now whole here */
	uint64_t bytes;          /* their bytes (chunk payloads written or taken) */
	uint32_t left;           /* export: files the budget left for later */
	uint32_t at_server;      /* import: files the server says it holds */
	uint32_t chunks_refused; /* import: chunks whose bytes did not match their digest (not written) */
} sto_filebundle_stats;

/*
 * Append to a request bundle of site (credential may be "") the file
 * messages for refs (the files the node's documents need): one FILES with
 * what it holds of each (at most PROTO_FILES_MAX of them), then every whole
 * file here that peer (the server's site id; NULL or "" = unknown) is not
 * known to hold, as FILE_PUT chunks from its first byte, while the files'
 * bytes fit in budget (0: no FILE_PUT). Returns OCOP_OK, OCOP_EIO,
 * OCOP_ENOMEM, or proto_bundle_add's code.
 */
int sto_filebundle_request(sto_db *db, sto_blobs *b, const char *site, const char *credential, const char *peer,
    const sto_fileref *refs, size_t n, uint64_t budget, proto_bundle_wr *bw, sto_filebundle_stats *st /* IN/OUT */);

/*
 * Take in one file message (a framed FILES_OK, FILE_PUT_OK or FILE_DATA) of
 * a verified reply bundle from peer: what the server holds (recorded), and
 * each FILE_DATA chunk that continues a partial copy here. A chunk whose
 * bytes do not match its digest is not written (counted); with b NULL,
 * FILE_DATA is ignored. Other message types are ignored. Returns OCOP_OK, OCOP_EDB, OCOP_EIO.
 */
int sto_filebundle_reply(sto_db *db, sto_blobs *b, const char *peer, const uint8_t *msg, size_t len,
    sto_filebundle_stats *st /* IN/OUT */);

#endif /* OCOP_STORE_FILEBUNDLE_H */
