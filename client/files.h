/*
 * files.h: a site's evidence files: its file store beside the replica, the
 * file phase of a sync (after the rows: send what the server wants, fetch
 * what the site's documents name and it lacks), what waits each way, and the
 * per-file limit the site applies when a clerk attaches a file.
 */
#ifndef OCOP_CLIENT_FILES_H
#define OCOP_CLIENT_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client/sync.h"
#include "common/store/blob.h"
#include "common/store/fileref.h"
#include "common/store/merge.h"
#include "common/store/store.h"
#include "common/store/xfer.h"
#include "common/util/fault.h"

#define CLI_FILES_MAX_DEFAULT (UINT64_C(256) << 20) /* per-file limit until the server states its own */
#define CLI_FILES_RETENTION_DEFAULT 30              /* days, until the server states its own */

typedef struct cli_files_opts {
	const char *credential;         /* this site's secret */
	bool send;                      /* send what the server wants */
	bool fetch;                     /* fetch what this site lacks */
	int64_t deadline_ms;            /* CLOCK_MONOTONIC ms after which no chunk starts; 0 = none */
	uint32_t chunk_bytes;           /* 0 = the server's */
	sto_xfer_progress_fn progress;  /* may be NULL */
	void *progress_arg;             /* passed to progress */
	const com_fault *fault;         /* crash points for tests, NULL in production */
} cli_files_opts;

/*
 * Open the site's file store (beside the replica: sto_blobs_dir_for) and its
 * bookkeeping. Returns OCOP_OK, or OCOP_EIO / OCOP_EDB / OCOP_EINVAL with a
 * sentence in err. Caller closes *out with sto_blobs_close().
 */
int cli_files_open(sto_db *db, sto_blobs **out /* OUT */, char *err, size_t errlen);

/*
 * The file phase of a sync, after the rows (cli_sync_once): exchange the
 * files of the live documents this site's scope covers, as o says, then
 * record the server's limits and release the files no live document has
 * named for the retention period. Returns as sto_xfer_run.
 */
int cli_files_sync(sto_db *db, const sto_policy *pol, sto_blobs *b, const cli_transport *t, const cli_files_opts *o,
    sto_xfer_stats *st /* OUT */, char *err, size_t errlen);

/*
 * What waits: files to receive (named by the site's documents, not here
 * whole) and to send (here, not known to be at the server). Cannot fail.
 */
void cli_files_pending(sto_db *db, const sto_policy *pol, sto_blobs *b, sto_files_count *in /* OUT */,
    sto_files_count *out /* OUT */);

/* The per-file limit: the server's (learnt at the last sync), else CLI_FILES_MAX_DEFAULT. */
uint64_t cli_files_max(sto_db *db);

/* What a document's file is here: "present", "in transit", "missing" or "none" (no file named). */
typedef struct cli_file_state {
	const char *state;  /* one of the four words */
	uint64_t held;      /* bytes held here (size when present) */
	uint64_t size;      /* the file's size as the document gives it */
	bool at_server;     /* the server is known to hold it */
} cli_file_state;

/* The state of the file a document names (sha256 hex or NULL, size or -1 when unknown). Cannot fail. */
void cli_file_state_of(sto_db *db, sto_blobs *b, const char *sha_hex, int64_t size, cli_file_state *out /* OUT */);

#endif /* OCOP_CLIENT_FILES_H */
