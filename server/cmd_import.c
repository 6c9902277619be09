/*
 * cmd_import.c: `ocopd import`: serve a site's request bundle from a file
 * (sneakernet) and write the reply bundle to carry back.
 *
 * The file is authenticated first (server/bundle.h): the site's bundle key
 * must verify it and its number must be above the last one taken from the
 * site, so a forged, edited or replayed file changes nothing. Then every
 * message goes through srv_handle_from() as the bundle's site, the function
 * that serves the network, so authority, scope and duplicates are judged
 * exactly as online. The site's one PULL is repeated here with the advancing
 * cursor until the server has nothing more, and every page goes into the
 * reply, which the same key authenticates. Works on the database file whether
 * `ocopd serve` is running or not.
 */
#include "server/cmd_import.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "common/ocop/policy.h"
#include "common/ocop/rubric.h"
#include "common/store/store.h"
#include "common/util/alloc.h"
#include "common/util/log.h"
#include "ocop_err.h"
#include "protocol/bundle.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/session.h"
#include "server/bundle.h"
#include "server/config.h"
#include "server/files.h"
#include "server/service.h"

#define IMPORT_MAX_FILE ((size_t)1 << 31)   /* larger request files are refused */
#define IMPORT_MAX_REPLY ((size_t)1 << 30)  /* stop adding pages past this; the next export continues */

/* Only warnings and errors of the service reach the operator's terminal. */
static const com_log import_log = {com_log_stderr, NULL, COM_LOG_WARN};

/* What the import did, for the summary. */
typedef struct import_stats {
	uint64_t applied;    /* changes newly applied */
	uint64_t duplicates; /* changes already held */
	uint64_t rejected;   /* changes refused */
	uint64_t high_water; /* the site's high-water mark after the import */
	uint64_t last_seq;   /* highest seq the bundle carried, 0 when none */
	uint64_t pulled;     /* changes in the reply's pages */
	uint32_t pages;      /* PULL_OK pages in the reply */
	bool more;           /* the server holds more than the reply carries */
	uint64_t files_in;   /* evidence files the bundle completed here */
	uint64_t file_chunks_refused; /* of its file chunks, refused (not the site's, too big, damaged) */
	uint64_t files_out;  /* evidence files written into the reply */
	uint64_t file_bytes_out; /* their bytes */
} import_stats;

static void
import_usage(FILE *out)
{
	fprintf(out,
	    "usage: ocopd import --db PATH --in FILE --reply FILE [--config FILE] [--files-max SIZE] [--json]\n"
	    "\nServe a site's sync bundle written by 'ocop export' (carried on a USB stick):\n"
	    "apply its changes as a network sync would, and write to --reply the server's\n"
	    "answer and the changes the site should receive; the site applies it with\n"
	    "'ocop import --in FILE'. The file must be authenticated with the site's key\n"
	    "and newer than the last one imported from it: the same file twice is refused.\n"
	    "Evidence files travel too, inside the authenticated part: those the bundle\n"
	    "carries are taken as online (each chunk checked, each file kept once whole\n"
	    "and verified), and the reply carries the files of the site's scope it lacks,\n"
	    "whole, up to --files-max (bytes, or with K, M or G; default 256M; 0: none);\n"
	    "the rest follow with the next bundle or over the link.\n"
	    "A damaged, truncated or edited file is refused (exit 2) and nothing changes.\n"
	    "Works whether or not 'ocopd serve' is running on the same database.\n");
}

/* ===== Files ===== */

/* Read a whole regular file into a com_malloc'd block. Returns 0 or an errno (EFBIG: too large). */
static int
import_read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *p;
	int e;

	*out = NULL;
	*len = 0;
	if (f == NULL) {
		return errno;
	}
	if (fstat(fileno(f), &st) != 0) {
		e = errno;
		fclose(f);
		return e;
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > IMPORT_MAX_FILE) {
		fclose(f);
		return S_ISREG(st.st_mode) ? EFBIG : EINVAL;
	}
	p = com_malloc((size_t)st.st_size + 1);
	if (p == NULL) {
		fclose(f);
		return ENOMEM;
	}
	if (fread(p, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		e = ferror(f) ? EIO : EAGAIN;
		com_free(p);
		fclose(f);
		return e;
	}
	fclose(f);
	*out = p;
	*len = (size_t)st.st_size;
	return 0;
}

/* Write p to path through a temporary file renamed into place. Returns 0 or an errno. */
static int
import_write_file(const char *path, const uint8_t *p, size_t len)
{
	char tmp[4096];
	size_t done = 0;
	int fd;
	int e = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		return ENAMETOOLONG;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0) {
		return errno;
	}
	while (done < len && e == 0) {
		ssize_t n = write(fd, p + done, len - done);
		if (n < 0 && errno != EINTR) {
			e = errno;
		} else if (n > 0) {
			done += (size_t)n;
		}
	}
	if (e == 0 && fsync(fd) != 0) {
		e = errno;
	}
	if (close(fd) != 0 && e == 0) {
		e = errno;
	}
	if (e == 0 && rename(tmp, path) != 0) {
		e = errno;
	}
	if (e != 0) {
		unlink(tmp);
	}
	return e;
}

static uint64_t
import_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ===== Serving the bundle ===== */

/*
 * Hand one request to the service and check the reply's type. An ERROR reply
 * is reported with the server's text. Returns OCOP_OK with *body on the
 * reply's body, or the refusal's code.
 */
static int
import_call(srv_service *svc, const srv_caller *who, const uint8_t *req, size_t len, uint32_t want, com_buf *reply,
    proto_rd *body)
{
	proto_env env;
	proto_error e;
	int rv;

	com_buf_reset(reply);
	if ((rv = srv_handle_from(svc, who, req, len, reply)) != OCOP_OK) {
		fprintf(stderr, "ocopd import: %s\n", ocop_strerror(rv));
		return rv;
	}
	if (proto_env_open(reply->data, reply->len, &env, body) != OCOP_OK) {
		fprintf(stderr, "ocopd import: the service produced a malformed reply\n");
		return OCOP_EINTERNAL;
	}
	if (env.type == PROTO_MSG_ERROR) {
		if (proto_error_decode(body, &e) != OCOP_OK) {
			e.code = OCOP_EINTERNAL;
			snprintf(e.text, sizeof(e.text), "malformed error");
		}
		fprintf(stderr, "ocopd import: the server refused the site's %s: %s\n",
		    proto_msg_name(want - 1), e.text);
		return e.code == OCOP_OK || e.code >= OCOP_ERR_COUNT_ ? OCOP_EINTERNAL : (int)e.code;
	}
	if (env.type != want) {
		fprintf(stderr, "ocopd import: unexpected %s from the service\n", proto_msg_name(env.type));
		return OCOP_EINTERNAL;
	}
	return OCOP_OK;
}

/* The highest seq among a PUSH's records (0 when empty). */
static uint64_t
import_push_last_seq(const uint8_t *msg, size_t len)
{
	proto_env env;
	proto_rd body;
	proto_push m;
	proto_changes_it it;
	proto_change c;
	uint64_t last = 0;

	if (proto_env_open(msg, len, &env, &body) != OCOP_OK || proto_push_decode(&body, &m) != OCOP_OK) {
		return 0;
	}
	proto_changes_iter(&it, &m.changes);
	while (proto_changes_next(&it, &c) == OCOP_OK) {
		last = c.seq > last ? c.seq : last;
	}
	proto_changes_end(&it);
	return last;
}

/* Serve the site's PULL, then PULLs of its own from each page's next cursor, until done. */
static int
import_pull(srv_service *svc, const srv_caller *who, const proto_pull *first, proto_bundle_wr *bw, com_buf *reply,
    import_stats *st)
{
	proto_pull m = *first;
	proto_pull_ok ok;
	proto_rd body;
	com_buf req;
	size_t total = 0;
	int rv;

	com_buf_init(&req);
	for (;;) {
		com_buf_reset(&req);
		if ((rv = proto_pull_encode(&req, &m)) != OCOP_OK ||
		    (rv = import_call(svc, who, req.data, req.len, PROTO_MSG_PULL_OK, reply, &body)) != OCOP_OK) {
			break;
		}
		if (proto_pull_ok_decode(&body, &ok) != OCOP_OK) {
			rv = OCOP_EINTERNAL;
			break;
		}
		if (ok.more && ok.next_cursor <= m.cursor) {
			fprintf(stderr, "ocopd import: the server's log did not advance past cursor %" PRIu64 "\n",
			    m.cursor);
			rv = OCOP_EINTERNAL;
			break;
		}
		if ((rv = proto_bundle_add(bw, reply->data, reply->len)) != OCOP_OK) {
			break;
		}
		st->pages++;
		st->pulled += ok.changes.count;
		total += reply->len;
		st->more = ok.more;
		if (!ok.more || total > IMPORT_MAX_REPLY) {
			break;
		}
		m.cursor = ok.next_cursor;
	}
	com_buf_fini(&req);
	return rv;
}

/*
 * A file message of the bundle (FILES, FILE_PUT): served as online, its
 * answer into the reply; a refusal of one chunk (not the site's file, too
 * big, no room) stops nothing but that file.
 */
static int
import_file_msg(srv_service *svc, const srv_caller *who, const uint8_t *m, size_t len, uint32_t type,
    proto_bundle_wr *bw, com_buf *reply, import_stats *st)
{
	proto_env env;
	proto_rd body;
	proto_error e;
	proto_file_put_ok ok;
	proto_file_put put;
	int rv;

	com_buf_reset(reply);
	if ((rv = srv_handle_from(svc, who, m, len, reply)) != OCOP_OK) {
		return rv;
	}
	if (proto_env_open(reply->data, reply->len, &env, &body) != OCOP_OK) {
		return OCOP_EINTERNAL;
	}
	if (env.type == PROTO_MSG_ERROR) {
		if (proto_error_decode(&body, &e) == OCOP_OK && type == PROTO_MSG_FILE_PUT) {
			st->file_chunks_refused++;
			return OCOP_OK;
		}
		fprintf(stderr, "ocopd import: the server refused the site's %s: %s\n", proto_msg_name(type), e.text);
		return e.code == OCOP_OK || e.code >= OCOP_ERR_COUNT_ ? OCOP_EINTERNAL : (int)e.code;
	}
	if (env.type == PROTO_MSG_FILE_PUT_OK && proto_file_put_ok_decode(&body, &ok) == OCOP_OK && ok.whole) {
		proto_env renv;
		proto_rd rbody;
		/* Count the file once: the chunk that completed it. */
		if (proto_env_open(m, len, &renv, &rbody) == OCOP_OK && proto_file_put_decode(&rbody, &put) == OCOP_OK &&
		    put.offset + put.len == put.size) {
			st->files_in++;
		}
	}
	return proto_bundle_add(bw, reply->data, reply->len);
}

/*
 * Serve every message of a verified request bundle in order and write the
 * reply bundle into out, then the evidence files the site lacks, up to
 * files_max bytes. Stops at the first refusal (of a row message).
 */
static int
import_serve(srv_service *svc, const proto_bundle *b, const uint8_t key[PROTO_BUNDLE_KEY], uint64_t files_max,
    com_buf *out, import_stats *st)
{
	srv_caller who = {SRV_VIA_BUNDLE, "", NULL, NULL, b->hdr.site};
	proto_files asked;
	bool have_asked = false;
	proto_bundle_it it;
	proto_bundle_hdr h;
	proto_bundle_wr bw;
	proto_env env;
	proto_rd body;
	proto_pull pull;
	proto_hello_ok hok;
	proto_push_ok pok;
	const uint8_t *m;
	size_t len;
	uint32_t type;
	com_buf reply;
	int rv;

	/* The reply's header needs the PULL's cursor, and the PULL comes last: find it first. */
	memset(&pull, 0, sizeof(pull));
	proto_bundle_iter(&it, b);
	while (proto_bundle_next(&it, &m, &len, &type) == OCOP_OK) {
		if (type == PROTO_MSG_PULL && proto_env_open(m, len, &env, &body) == OCOP_OK) {
			proto_pull_decode(&body, &pull);
		}
		if (type == PROTO_MSG_FILES && proto_env_open(m, len, &env, &body) == OCOP_OK &&
		    proto_files_decode(&body, &asked) == OCOP_OK) {
			have_asked = true; /* views into the bundle's bytes, alive until the end */
		}
	}
	memset(&h, 0, sizeof(h));
	h.kind = PROTO_BUNDLE_REPLY;
	snprintf(h.site, sizeof(h.site), "%s", b->hdr.site);
	snprintf(h.server, sizeof(h.server), "%s", sto_site_id(svc->db));
	h.created_ms = import_now_ms();
	h.pull_from = pull.cursor;
	h.seq = b->hdr.seq; /* the request this reply answers */
	if ((rv = proto_bundle_begin(&bw, out, &h)) != OCOP_OK) {
		return rv;
	}
	com_buf_init(&reply);
	proto_bundle_iter(&it, b);
	while ((rv = proto_bundle_next(&it, &m, &len, &type)) == OCOP_OK) {
		if (type == PROTO_MSG_PULL) {
			rv = import_pull(svc, &who, &pull, &bw, &reply, st);
		} else if (type == PROTO_MSG_FILES || type == PROTO_MSG_FILE_PUT) {
			rv = import_file_msg(svc, &who, m, len, type, &bw, &reply, st);
		} else {
			/* Each request type's reply is the next type (HELLO -> HELLO_OK, ...). */
			rv = import_call(svc, &who, m, len, type + 1, &reply, &body);
			if (rv == OCOP_OK && type == PROTO_MSG_HELLO) {
				rv = proto_hello_ok_decode(&body, &hok) == OCOP_OK ? OCOP_OK : OCOP_EINTERNAL;
				st->high_water = hok.high_water;
			}
			if (rv == OCOP_OK && type == PROTO_MSG_PUSH) {
				rv = proto_push_ok_decode(&body, &pok) == OCOP_OK ? OCOP_OK : OCOP_EINTERNAL;
				st->applied += pok.applied;
				st->duplicates += pok.duplicates;
				st->rejected += pok.rejections.count;
				st->high_water = pok.high_water;
				if (import_push_last_seq(m, len) > st->last_seq) {
					st->last_seq = import_push_last_seq(m, len);
				}
			}
			if (rv == OCOP_OK) {
				rv = proto_bundle_add(&bw, reply.data, reply.len);
			}
		}
		if (rv != OCOP_OK) {
			break;
		}
	}
	com_buf_fini(&reply);
	if (rv != OCOP_ENOENT) {
		out->len = bw.start;
		return rv == OCOP_OK ? OCOP_EINTERNAL : rv;
	}
	/* After the rows: the files of the site's scope it lacks. */
	rv = srv_files_bundle_data(svc, b->hdr.site, have_asked ? &asked : NULL, files_max, &bw, &st->files_out,
	    &st->file_bytes_out);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd import: cannot add the site's files to the reply: %s\n", ocop_strerror(rv));
		out->len = bw.start;
		return rv;
	}
	return proto_bundle_end(&bw, key);
}

/* ===== The command ===== */

int
srv_cmd_import(int argc, char **argv)
{
	static const struct option longs[] = {{"db", required_argument, NULL, 'd'},
	    {"in", required_argument, NULL, 'i'}, {"reply", required_argument, NULL, 'r'},
	    {"config", required_argument, NULL, 'c'}, {"json", no_argument, NULL, 'j'},
	    {"files-max", required_argument, NULL, 'f'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	uint64_t files_max = UINT64_C(256) << 20;
	srv_files *files = NULL;
	const char *db_path = NULL;
	const char *in = NULL;
	const char *out = NULL;
	const char *config = NULL;
	const char *dd;
	int json = 0;
	srv_config cfg;
	proto_bundle b;
	srv_peer peer;
	uint8_t key[PROTO_BUNDLE_KEY] = {0};
	sto_db *db = NULL;
	ocp_policy *pol = NULL;
	srv_service svc;
	import_stats st;
	sto_opts o;
	com_buf reply;
	uint8_t *p = NULL;
	size_t len = 0;
	char why[512];
	int code = 0;
	int ch;
	int rv;
	int e;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'd': db_path = optarg; break;
		case 'i': in = optarg; break;
		case 'r': out = optarg; break;
		case 'c': config = optarg; break;
		case 'j': json = 1; break;
		case 'f':
			if (sto_blobs_parse_size(optarg, &files_max) != OCOP_OK) {
				fprintf(stderr, "ocopd import: --files-max takes a size like 500M or 2G, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 'h': import_usage(stdout); return 0;
		default:
			fprintf(stderr, "ocopd import: unknown or incomplete option '%s'. See 'ocopd import --help'.\n",
			    argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "ocopd import: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	srv_config_defaults(&cfg);
	if (config != NULL && srv_config_load(&cfg, config, why, sizeof(why)) != OCOP_OK) {
		fprintf(stderr, "ocopd import: %s\n", why);
		return 2;
	}
	if (db_path == NULL && config != NULL) {
		db_path = cfg.db;
	}
	if (db_path == NULL || in == NULL || out == NULL) {
		fprintf(stderr, "ocopd import: needs --db PATH (or --config FILE), --in FILE and --reply FILE\n");
		return 2;
	}
	if (strcmp(in, out) == 0) {
		fprintf(stderr, "ocopd import: --reply must not be the --in file\n");
		return 2;
	}

	/* 1. The file, whole, and the database; nothing is written before the file is authenticated. */
	if ((e = import_read_file(in, &p, &len)) != 0) {
		fprintf(stderr, "ocopd import: cannot read %s: %s\n", in,
		    e == EFBIG ? "larger than 2 GiB" : strerror(e));
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.user = "ocopd";
	o.log = &import_log;
	rv = sto_open(&db, db_path, &o);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd import: %s %s\n",
		    rv == OCOP_ENOENT ? "no database at" : "cannot open", db_path);
		com_free(p);
		return rv == OCOP_ENOENT ? 2 : 1;
	}
	if (strcmp(sto_role(db), "province") != 0 && strcmp(sto_role(db), "national") != 0) {
		fprintf(stderr, "ocopd import: %s is not a server's database (role '%s')\n", db_path, sto_role(db));
		code = 2;
		goto out;
	}
	/* 2. Whose file it is, and whether that site's key authenticates it. */
	rv = srv_bundle_verify(db, p, len, &b, &peer, key, why, sizeof(why));
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd import: %s: %s\nocopd import: nothing was imported\n", in, why);
		code = rv == OCOP_EREVOKED || rv == OCOP_EDB ? 1 : 2;
		goto out;
	}
	sto_hlc(db)->max_skew_ms = cfg.skew_ms;
	dd = cfg.data_dir[0] ? cfg.data_dir : ocp_data_dir();
	if (dd == NULL) {
		fprintf(stderr, "ocopd import: cannot find the data directory: set data_dir or OCOP_DATA_DIR\n");
		code = 2;
		goto out;
	}
	if (ocp_policy_open(&pol, dd, true, why, sizeof(why)) != OCOP_OK) {
		fprintf(stderr, "ocopd import: %s\n", why);
		code = 2;
		goto out;
	}
	sto_set_policy(db, ocp_policy_store(pol));
	srv_service_init(&svc, db, ocp_policy_store(pol), &import_log);
	/* Serve a file exactly as `ocopd serve` would serve the same requests:
	 * a national server takes a province's relayed hand-off records. */
	if (strcmp(sto_role(db), "national") == 0) {
		svc.relay_policy = ocp_policy_store_relay(pol, "province");
	}

	if (srv_files_open(&files, db, cfg.files_dir, &cfg.files, why, sizeof(why)) != OCOP_OK) {
		fprintf(stderr, "ocopd import: evidence files: %s\n", why);
		code = 1;
		goto out;
	}
	svc.files = files;

	/* 3. Serve it and write the reply. */
	memset(&st, 0, sizeof(st));
	com_buf_init(&reply);
	rv = import_serve(&svc, &b, key, files_max, &reply, &st);
	if (rv != OCOP_OK) {
		fprintf(stderr, "ocopd import: no reply written; what was applied stays, and importing %s "
				"again continues\n",
		    in);
		code = 1;
	} else if ((e = import_write_file(out, reply.data, reply.len)) != 0) {
		fprintf(stderr, "ocopd import: cannot write %s: %s (the changes are applied; import again "
				"to write the reply)\n",
		    out, strerror(e));
		code = 1;
	} else if (srv_bundle_taken(db, b.hdr.site, b.hdr.seq) != OCOP_OK) {
		fprintf(stderr, "ocopd import: cannot record that bundle %" PRIu64 " of site %s was taken: %s\n",
		    b.hdr.seq, b.hdr.site, sto_errmsg(db));
		code = 1;
	} else {
		if (st.last_seq > st.high_water) {
			fprintf(stderr,
			    "ocopd import: warning: this server holds site %s's changes only up to %" PRIu64
			    " and the file does not continue from there: the site should run 'ocop export --all'\n",
			    b.hdr.site, st.high_water);
		}
		if (json) {
			json_t *j = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:s, s:I, s:I, s:I, s:I, s:I}",
			    "site_id", b.hdr.site, "server", sto_site_id(db), "applied", (json_int_t)st.applied,
			    "duplicates", (json_int_t)st.duplicates, "rejected", (json_int_t)st.rejected, "high_water",
			    (json_int_t)st.high_water, "pulled", (json_int_t)st.pulled, "pages", (json_int_t)st.pages, "more",
			    st.more, "reply", out, "bytes", (json_int_t)reply.len, "files_in", (json_int_t)st.files_in,
			    "file_chunks_refused", (json_int_t)st.file_chunks_refused, "files_out",
			    (json_int_t)st.files_out, "file_bytes_out", (json_int_t)st.file_bytes_out);
			char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			puts(s);
			free(s);
			json_decref(j);
		} else {
			printf("imported %s from site %s: %" PRIu64 " applied, %" PRIu64 " already held, %" PRIu64
			       " refused; high-water mark %" PRIu64 "\n",
			    in, b.hdr.site, st.applied, st.duplicates, st.rejected, st.high_water);
			printf("wrote %s: %" PRIu64 " change(s) for the site in %u page(s)%s\n", out, st.pulled,
			    st.pages, st.more ? " (more remain: the site's next export continues)" : "");
			if (st.files_in + st.file_chunks_refused + st.files_out > 0) {
				printf("evidence files: %" PRIu64 " received whole from the site%s, %" PRIu64
				       " (%" PRIu64 " bytes) in the reply\n",
				    st.files_in, st.file_chunks_refused > 0 ? " (some chunks refused: see the log)" : "",
				    st.files_out, st.file_bytes_out);
			}
		}
	}
	com_buf_fini(&reply);
out:
	srv_files_close(files);
	OPENSSL_cleanse(key, sizeof(key));
	ocp_policy_free(pol);
	sto_close(db);
	com_free(p);
	return code;
}
