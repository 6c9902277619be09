/*
 * files.h: a server's evidence files: serving FILES, FILE_PUT and FILE_GET
 * (PROTOCOL.md 4.10-4.15) for the sites it serves and, at the national
 * server, for the provinces that relay their candidates; the file records
 * of sneakernet replies; releasing files nothing names; the operator counts.
 *
 * A site sends or fetches a file only when a live document of its scope, as
 * this server places it, names the file (fileref.h), so a site receives only
 * the files of the dossiers in its scope and the national server takes only
 * the evidence of the candidates relayed to it. Every bound that a peer could
 * otherwise stretch is a setting: the largest file, the chunk, the bytes of
 * unfinished uploads one site may leave here, the free space kept on the
 * disk, and how long unfinished uploads and released files stay.
 * Threads: serving is serialised inside (one mutex); callers may call from
 * any thread.
 */
#ifndef OCOP_SERVER_FILES_H
#define OCOP_SERVER_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/blob.h"
#include "common/store/fileref.h"
#include "common/store/store.h"
#include "common/util/buf.h"
#include "protocol/bundle.h"
#include "protocol/files.h"
#include "protocol/wire.h"

struct srv_service;
struct srv_caller;

/* The limits, from ocopd.conf (server/config.h). */
typedef struct srv_files_opts {
	uint64_t max_file_bytes;  /* largest file taken (max_file_bytes; default 256 MiB) */
	uint32_t chunk_bytes;     /* chunk size sent and asked for (file_chunk_bytes; default 1 MiB) */
	uint64_t partial_quota;   /* bytes of unfinished uploads one site may leave (file_partial_quota; 1 GiB) */
	uint64_t min_free_bytes;  /* uploads wait while the disk has less free (file_min_free; 1 GiB) */
	uint32_t retention_days;  /* a file no live document names is released after (file_retention_days; 30) */
	uint32_t partial_days;    /* an upload not continued for this long is dropped (file_partial_days; 14) */
} srv_files_opts;

/* What the file service did, for the operator's metrics. */
typedef struct srv_files_counters {
	uint64_t bytes_in;        /* chunk bytes taken */
	uint64_t bytes_out;       /* chunk bytes served */
	uint64_t files_in;        /* files completed here */
	uint64_t chunks_refused;  /* chunks refused (damaged, not the site's, no room) */
} srv_files_counters;

typedef struct srv_files srv_files;

/* The defaults above. Cannot fail. */
void srv_files_defaults(srv_files_opts *o);

/*
 * Open the file service on db's files in dir (NULL: the default beside the
 * database, sto_blobs_dir_for) and prepare db's bookkeeping (fileref.h).
 * Constructor. Returns OCOP_OK, OCOP_EIO, OCOP_EDB, OCOP_ENOMEM with a
 * sentence in err. Caller closes with srv_files_close().
 */
int srv_files_open(srv_files **out /* OUT */, sto_db *db, const char *dir, const srv_files_opts *o, char *err,
    size_t errlen);
/* Release. Accepts NULL. Destructor. */
void srv_files_close(srv_files *f);
/* The file store (borrowed). */
sto_blobs *srv_files_blobs(srv_files *f);
/* The limits in force (borrowed). */
const srv_files_opts *srv_files_limits(const srv_files *f);
/* A copy of the counters. Cannot fail. */
void srv_files_counters_get(srv_files *f, srv_files_counters *out /* OUT */);

/*
 * Serve one FILES, FILE_PUT or FILE_GET request whose envelope the service
 * opened (type, body) for the caller who (as srv_handle_from authenticates
 * it; NULL = local), appending the reply (the answer or an ERROR) to reply.
 * The checks run on a read connection of the service's pool; only the note
 * that a site holds a file takes the writer's turn. Returns OCOP_OK when a reply was written, OCOP_ENOMEM.
 */
int srv_files_serve(struct srv_service *s, const struct srv_caller *who, uint32_t type, proto_rd *body,
    com_buf *reply);

/*
 * Release the files no live document has named for the retention period and
 * drop unfinished uploads older than their limit (sto_files_gc). Run from
 * the server's main loop. Returns as sto_files_gc.
 */
int srv_files_gc(srv_files *f, sto_db *db, sto_files_gc_stats *st /* OUT */);

/*
 * The files live documents name that this server does not hold whole yet
 * (waiting for a site to send them), and their bytes. Returns OCOP_OK,
 * OCOP_EDB, OCOP_ENOMEM.
 */
int srv_files_waiting(srv_files *f, sto_db *db, sto_files_count *out /* OUT */);

/*
 * Sneakernet: after the PULL_OK pages of a reply bundle for site, add the
 * files the site may fetch and is not known to hold, as FILE_DATA messages
 * (whole files from where the site stands): every file a live document of
 * its scope names that this server holds, unless the site sent it here or
 * fetched it whole online (a reply may be lost: what a bundle carried is not
 * recorded); with the request's FILES (asked, may be NULL), those
 * it says it lacks, from the bytes it holds. Files are added whole while
 * their bytes fit in budget; the rest follows over the link or with the next
 * bundle. *files and *bytes (may be NULL) count what was added.
 * Returns OCOP_OK, OCOP_EDB, OCOP_EIO, OCOP_ENOMEM.
 */
int srv_files_bundle_data(struct srv_service *s, const char *site, const proto_files *asked, uint64_t budget,
    proto_bundle_wr *bw, uint64_t *files /* OUT */, uint64_t *bytes /* OUT */);

#endif /* OCOP_SERVER_FILES_H */
