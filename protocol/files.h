/*
 * files.h: the evidence-file messages (PROTOCOL.md sections 4.10 to 4.15):
 * FILES / FILES_OK (which files each end holds and wants), FILE_PUT /
 * FILE_PUT_OK (one chunk up), FILE_GET / FILE_DATA (one chunk down).
 *
 * A file is named by the SHA-256 of its bytes (32 raw bytes on the wire) and
 * moves in chunks of bounded size, each carrying the SHA-256 of its own
 * bytes, from any byte offset, so a transfer cut anywhere resumes where the
 * receiver stopped. Like session.h, this module checks syntax only (types,
 * lengths, bounds, required keys); whether a site may send or fetch a file,
 * and whether a chunk's bytes match its digest (proto_chunk_check), is the
 * receiver's business. Decoded byte fields are borrowed views into the
 * received message.
 */
#ifndef OCOP_PROTOCOL_FILES_H
#define OCOP_PROTOCOL_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/util/buf.h"
#include "protocol/change.h"
#include "protocol/session.h"
#include "protocol/wire.h"

#define PROTO_SHA256_LEN 32            /* a file's or a chunk's SHA-256, raw bytes */
#define PROTO_FILES_MAX 1024           /* entries of one FILES or FILES_OK at most */
#define PROTO_CHUNK_MAX (4u << 20)     /* largest chunk a FILE_PUT or FILE_DATA may carry */
#define PROTO_FILE_SIZE_MAX (UINT64_C(1) << 40) /* largest file size a message may name (the schema's) */

/* What a server says of one file in FILES_OK (4.11). */
typedef enum proto_file_state {
	PROTO_FILE_HAVE = 1,    /* the server holds it whole; the caller may fetch it */
	PROTO_FILE_WANT = 2,    /* the server wants it from the caller; it holds `held` bytes from it */
	PROTO_FILE_NONE = 3,    /* nothing to do between these two ends (not the caller's to send or fetch) */
	PROTO_FILE_REFUSED = 4, /* wanted, but refused now: `code` says why (too big, server full) */
} proto_file_state;

/*
 * One entry of a FILES request ([sha256, size, held]) or of its FILES_OK
 * reply ([sha256, state, held, code]); the fields of the other kind are 0.
 */
typedef struct proto_file_entry {
	uint8_t sha[PROTO_SHA256_LEN]; /* the file */
	uint64_t size;                 /* FILES: its size as the caller's document says */
	uint64_t held;                 /* bytes of it the sender of the message holds (FILES_OK: from the caller) */
	uint32_t state;                /* FILES_OK: a proto_file_state */
	uint32_t code;                 /* FILES_OK, PROTO_FILE_REFUSED: an ocop_err code; else 0 */
} proto_file_entry;

/* A borrowed view of `count` encoded entries (the array's elements, header excluded). */
typedef struct proto_file_list {
	const uint8_t *p; /* first byte of the first entry, borrowed; NULL when count is 0 */
	size_t len;       /* bytes of all entries */
	uint32_t count;   /* entries, at most PROTO_FILES_MAX */
} proto_file_list;

/* Iterator over a proto_file_list. */
typedef struct proto_file_it {
	proto_rd rd;   /* cursor over the view's bytes */
	uint32_t left; /* entries not yet read */
	bool reply;    /* FILES_OK entries (4 elements) rather than FILES entries (3) */
} proto_file_it;

/* FILES (4.10), site -> server: the files the caller's documents name, and how much of each it holds. */
typedef struct proto_files {
	char site[PROTO_UUID_LEN + 1];             /* caller's site UUID */
	char credential[PROTO_CREDENTIAL_MAX + 1]; /* caller's secret */
	proto_file_list files;                     /* [sha256, size, held] each */
} proto_files;

/* FILES_OK (4.11), server -> site: what the server holds and wants of each, in the request's order. */
typedef struct proto_files_ok {
	proto_file_list files;   /* [sha256, state, held, code] each */
	uint32_t chunk_bytes;    /* the chunk size the server sends and wants, 1 .. PROTO_CHUNK_MAX */
	uint64_t max_file_bytes; /* the largest file the server takes */
	uint32_t retention_days; /* how long the server keeps a file no live document names */
} proto_files_ok;

/* FILE_PUT (4.12), site -> server: one chunk of a file the server wants. */
typedef struct proto_file_put {
	char site[PROTO_UUID_LEN + 1];             /* caller's site UUID */
	char credential[PROTO_CREDENTIAL_MAX + 1]; /* caller's secret */
	uint8_t sha[PROTO_SHA256_LEN];             /* the file */
	uint64_t size;                             /* the whole file's size */
	uint64_t offset;                           /* where the chunk starts; offset + len <= size */
	const uint8_t *data;                       /* the chunk, borrowed; at most PROTO_CHUNK_MAX bytes */
	size_t len;                                /* its length (0 only for an empty file) */
	uint8_t digest[PROTO_SHA256_LEN];          /* SHA-256 of the chunk's bytes */
} proto_file_put;

/* FILE_PUT_OK (4.13), server -> site: how much of the file the server now holds from the caller. */
typedef struct proto_file_put_ok {
	uint8_t sha[PROTO_SHA256_LEN]; /* the file */
	uint64_t held;                 /* bytes held; the next chunk starts here */
	bool whole;                    /* the file is whole and verified at the server */
} proto_file_put_ok;

/* FILE_GET (4.14), site -> server: one chunk of a file, from an offset. */
typedef struct proto_file_get {
	char site[PROTO_UUID_LEN + 1];             /* caller's site UUID */
	char credential[PROTO_CREDENTIAL_MAX + 1]; /* caller's secret */
	uint8_t sha[PROTO_SHA256_LEN];             /* the file */
	uint64_t offset;                           /* first byte wanted */
	uint32_t max_bytes;                        /* largest chunk wanted; 0 = the server's chunk size */
} proto_file_get;

/* FILE_DATA (4.15), server -> site: one chunk of a file. */
typedef struct proto_file_data {
	uint8_t sha[PROTO_SHA256_LEN];    /* the file */
	uint64_t size;                    /* the whole file's size */
	uint64_t offset;                  /* where the chunk starts; offset + len <= size */
	const uint8_t *data;              /* the chunk, borrowed */
	size_t len;                       /* its length (0 only for an empty file) */
	uint8_t digest[PROTO_SHA256_LEN]; /* SHA-256 of the chunk's bytes */
} proto_file_data;

/* ===== Entries ===== */

/* Start walking a view (borrowed for the iterator's life); reply selects FILES_OK entries. Cannot fail. */
void proto_file_iter(proto_file_it *it, const proto_file_list *v, bool reply);
/*
 * Read the next entry. Returns OCOP_OK, OCOP_ENOENT after the last one, or
 * OCOP_EPROTO, which cannot happen for a view set by a decoder of this
 * module (it validated every entry) and means the caller built a bad view.
 */
int proto_file_next(proto_file_it *it, proto_file_entry *e /* OUT */);

/* ===== Chunks ===== */

/* SHA-256 of a chunk's bytes into digest. Returns OCOP_OK or OCOP_EINTERNAL (no SHA-256). */
int proto_chunk_digest(const uint8_t *data, size_t len, uint8_t digest[PROTO_SHA256_LEN] /* OUT */);
/*
 * Do a chunk's bytes match its digest? Returns OCOP_OK, OCOP_ECORRUPT (they
 * do not: the chunk was damaged on its way), OCOP_EINTERNAL.
 */
int proto_chunk_check(const uint8_t *data, size_t len, const uint8_t digest[PROTO_SHA256_LEN]);

/* ===== Messages ===== */

/*
 * Encoders: append one whole framed message to buf. FILES and FILES_OK take
 * their entries as an array of n (at most PROTO_FILES_MAX). Returns OCOP_OK;
 * OCOP_EINVAL for a field that would not decode (a bad UUID, an offset past
 * the size, a chunk too long, a state out of range; nothing written);
 * OCOP_ENOMEM (buf back to its length before the call).
 */
int proto_files_encode(com_buf *buf, const proto_files *m, const proto_file_entry *e, size_t n);
int proto_files_ok_encode(com_buf *buf, const proto_files_ok *m, const proto_file_entry *e, size_t n);
int proto_file_put_encode(com_buf *buf, const proto_file_put *m);
int proto_file_put_ok_encode(com_buf *buf, const proto_file_put_ok *m);
int proto_file_get_encode(com_buf *buf, const proto_file_get *m);
int proto_file_data_encode(com_buf *buf, const proto_file_data *m);

/*
 * Decoders: read the body positioned by proto_env_open() (the caller has
 * checked the envelope's type) and consume it exactly. Unknown keys are
 * skipped; a missing required key, a repeated known key, a value of the wrong
 * type or size, a SHA-256 that is not 32 bytes, a chunk past the file's size
 * or longer than PROTO_CHUNK_MAX, more than PROTO_FILES_MAX entries or a
 * malformed entry is refused. Views point into the body's bytes.
 * Returns OCOP_OK or OCOP_EPROTO (*out then unspecified).
 */
int proto_files_decode(proto_rd *body, proto_files *out /* OUT */);
int proto_files_ok_decode(proto_rd *body, proto_files_ok *out /* OUT */);
int proto_file_put_decode(proto_rd *body, proto_file_put *out /* OUT */);
int proto_file_put_ok_decode(proto_rd *body, proto_file_put_ok *out /* OUT */);
int proto_file_get_decode(proto_rd *body, proto_file_get *out /* OUT */);
int proto_file_data_decode(proto_rd *body, proto_file_data *out /* OUT */);

/* ===== Names ===== */

/* 64 lowercase hex digits of a SHA-256 into hex (65 bytes with the NUL). Cannot fail. */
void proto_sha_hex(const uint8_t sha[PROTO_SHA256_LEN], char hex[2 * PROTO_SHA256_LEN + 1] /* OUT */);
/* Parse 64 hex digits (either case) into sha. Returns OCOP_OK or OCOP_EINVAL. */
int proto_sha_parse(const char *hex, uint8_t sha[PROTO_SHA256_LEN] /* OUT */);

#endif /* OCOP_PROTOCOL_FILES_H */
