/*
 * xfer.h: moving evidence files between a node and the server it syncs with
 * (a site and its province, a province and the national server), over the
 * session's request/reply link: FILES to learn what each end holds and wants,
 * then FILE_PUT chunks up and FILE_GET chunks down (PROTOCOL.md 4.10-4.15).
 *
 * Each chunk carries the SHA-256 of its bytes and is refused, and asked for
 * again, when they do not match; the receiver keeps what it got, so a
 * transfer cut anywhere (the link, either process) continues from the last
 * byte the receiver holds, never from zero; a file becomes visible only once
 * whole and verified against its name (blob.h). Files move after the
 * session's rows: a dossier's rows never wait for its files.
 */
#ifndef OCOP_STORE_XFER_H
#define OCOP_STORE_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/store/blob.h"
#include "common/store/fileref.h"
#include "common/store/store.h"
#include "common/util/buf.h"
#include "common/util/fault.h"

/* One request/reply round trip to the server (the same seam as the sync session's transports). */
typedef struct sto_xfer_link {
	int (*roundtrip)(void *arg, const uint8_t *req, size_t len, com_buf *reply);
	void *arg; /* borrowed; passed to roundtrip */
} sto_xfer_link;

/* Where a run stands, for a progress line. */
typedef struct sto_xfer_progress {
	uint64_t done;        /* file bytes moved so far in this run */
	uint64_t total;       /* file bytes this run means to move (grows as it learns) */
	uint32_t files_done;  /* files completed */
	uint32_t files_total; /* files this run means to move */
	bool up;              /* the file moving now goes to the server */
} sto_xfer_progress;

/* Told after every chunk. Must not fail. */
typedef void (*sto_xfer_progress_fn)(void *arg, const sto_xfer_progress *p);

typedef struct sto_xfer_opts {
	const char *site;          /* this node's site id, as the server registered it */
	const char *credential;    /* its secret ("" where the link authenticates) */
	const char *peer;          /* the server's site id, for what it is known to hold; NULL/"" = unknown */
	bool send;                 /* send the files the server wants from this node */
	bool fetch;                /* fetch the files this node lacks */
	uint32_t chunk_bytes;      /* largest chunk to ask for or send; 0 = the server's size */
	int64_t deadline_ms;       /* CLOCK_MONOTONIC time (ms) after which no chunk starts; 0 = none */
	sto_xfer_progress_fn progress; /* may be NULL */
	void *progress_arg;        /* borrowed; passed to progress */
	const com_fault *fault;    /* crash points for tests ("xfer.chunk"), NULL in production */
} sto_xfer_opts;

typedef struct sto_xfer_stats {
	uint32_t files_sent;       /* files now whole at the server that this run sent bytes of */
	uint32_t files_fetched;    /* files now whole here that this run fetched bytes of */
	uint64_t bytes_sent;       /* file bytes carried up (chunk payloads) */
	uint64_t bytes_fetched;    /* file bytes carried down */
	uint32_t chunks_refused;   /* chunks refused for damage, either way, and sent or asked for again */
	uint32_t files_refused;    /* files refused by the server (too big, no room) or that failed their check */
	uint32_t files_waiting;    /* files neither end holds whole yet (they follow later) */
	bool stopped;              /* the deadline stopped the run before the end */
	bool unsupported;          /* the server does not take files (an older ocopd): nothing moved */
	uint64_t server_max_file;  /* the server's per-file limit (0: not heard) */
	uint32_t server_retention_days; /* the server's retention of released files (0: not heard) */
} sto_xfer_stats;

/*
 * Exchange the files refs names (the files this node's documents need: the
 * caller chooses, e.g. sto_files_named for its own scope) with the server:
 * send what it wants from this node, fetch what this node lacks, as o says.
 * Returns OCOP_OK (some files may still wait: see st); a transport error
 * (OCOP_ENET, OCOP_ETIMEDOUT, ...) or an ERROR reply's code with err set:
 * what arrived before stays and the next run continues from there; OCOP_EDB,
 * OCOP_EIO, OCOP_ENOMEM.
 */
int sto_xfer_run(sto_db *db, sto_blobs *b, const sto_xfer_link *link, const sto_xfer_opts *o, const sto_fileref *refs,
    size_t n, sto_xfer_stats *st /* OUT */, char *err, size_t errlen);

#endif /* OCOP_STORE_XFER_H */
