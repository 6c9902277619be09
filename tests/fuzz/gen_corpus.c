/*
 * gen_corpus.c: writes the fuzzing seed corpora, small valid inputs for each
 * target: DIR/message/ (one framed message of every type, and variants) and
 * DIR/change/ (batches of change records and a bare cell map).
 *
 * Usage: fuzz_gen_corpus DIR   (the committed seeds live in tests/fuzz/corpus)
 * A tool, not a test: it prints and exits.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/util/buf.h"
#include "ocop_err.h"
#include "protocol/batch.h"
#include "protocol/change.h"
#include "protocol/envelope.h"
#include "protocol/error.h"
#include "protocol/session.h"

#define SITE "0190f0f0-0000-7000-8000-000000000001"
#define SERVER "0190f0f0-0000-7000-8000-0000000000aa"
#define ROW "0190f0f0-1111-7000-8000-000000000002"
#define HLC UINT64_C(0x0190f0f0ffff0003)

static const char *out_dir;

static void
check(int rv, const char *what)
{
	if (rv != OCOP_OK) {
		fprintf(stderr, "fuzz_gen_corpus: %s: %s\n", what, ocop_strerror(rv));
		exit(1);
	}
}

/* Write buf to out_dir/sub/name, then empty buf. */
static void
save(com_buf *buf, const char *sub, const char *name)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", out_dir, sub);
	mkdir(path, 0777);
	snprintf(path, sizeof(path), "%s/%s/%s", out_dir, sub, name);
	f = fopen(path, "wb");
	if (f == NULL || fwrite(buf->data, 1, buf->len, f) != buf->len || fclose(f) != 0) {
		fprintf(stderr, "fuzz_gen_corpus: cannot write %s\n", path);
		exit(1);
	}
	com_buf_reset(buf);
}

/* A cell map with every value type. */
static void
write_cells(com_buf *cells, int variant)
{
	static const uint8_t blob[] = {0x00, 0xff, 0xc1, 0x7f};
	static const char vi[] = "Nước mắm Phú Quốc – hợp tác xã";
	proto_wr w;
	proto_value v;

	com_buf_reset(cells);
	proto_wr_init(&w, cells);
	memset(&v, 0, sizeof(v));
	if (variant == 1) {
		proto_cells_begin(&w, 0);
		check(proto_wr_error(&w), "cells");
		return;
	}
	proto_cells_begin(&w, 5);
	v.type = PROTO_V_NULL;
	proto_cell_put(&w, "note", &v, 0);
	v.type = PROTO_V_INT;
	v.i = -70000;
	proto_cell_put(&w, "points", &v, HLC - 5);
	v.type = PROTO_V_REAL;
	v.d = 89.995;
	proto_cell_put(&w, "score_mean", &v, 1);
	v.type = PROTO_V_TEXT;
	v.p = (const uint8_t *)vi;
	v.len = strlen(vi);
	proto_cell_put(&w, "name", &v, 0);
	v.type = PROTO_V_BLOB;
	v.p = blob;
	v.len = sizeof(blob);
	proto_cell_put(&w, "sha256", &v, 2);
	check(proto_wr_error(&w), "cells");
}

static void
make_change(proto_change *c, com_buf *cells, uint64_t seq, int variant)
{
	write_cells(cells, variant);
	memset(c, 0, sizeof(*c));
	strcpy(c->site, SITE);
	c->seq = seq;
	strcpy(c->tbl, variant == 1 ? "dossier" : "score");
	strcpy(c->row, ROW);
	c->hlc = HLC + seq;
	strcpy(c->user, variant == 1 ? "" : "Member 1");
	c->cells = cells->data;
	c->cells_len = cells->len;
}

/* Write the batch value of changes cs[0..n) into buf. */
static void
put_batch(com_buf *buf, const proto_change *cs, size_t n)
{
	proto_body b;
	proto_wr w;
	size_t i;

	proto_body_init(&b);
	for (i = 0; i < n; i++) {
		check(proto_body_add(&b, &cs[i]), "batch");
	}
	proto_wr_init(&w, buf);
	check(proto_body_put(&b, &w), "batch");
	proto_body_fini(&b);
}

static void
gen_changes(com_buf *buf, com_buf *cells)
{
	com_buf cells2;
	proto_change c[3];
	proto_wr w;

	com_buf_init(&cells2);
	/* Small: sent plain. */
	make_change(&c[0], cells, 2, 1);
	put_batch(buf, c, 1);
	save(buf, "change", "batch_plain.bin");
	/* Every value type, two sites, deltas up and down: deflated. */
	make_change(&c[0], cells, 1, 0);
	c[1] = c[0];
	c[1].seq = 2;
	c[1].hlc = c[0].hlc - 7;
	strcpy(c[1].site, SERVER);
	put_batch(buf, c, 2);
	save(buf, "change", "batch_deflated.bin");
	write_cells(cells, 0);
	check(com_buf_append(buf, cells->data, cells->len), "cells");
	save(buf, "change", "cell_map_only.bin");

	/* Names and user at their limits, so that one inserted byte crosses them. */
	make_change(&c[0], cells, UINT64_MAX, 0);
	memset(c[0].tbl, 't', PROTO_NAME_MAX);
	memset(c[0].user, 'u', PROTO_USER_MAX);
	proto_wr_init(&w, &cells2);
	proto_cells_begin(&w, 1);
	{
		proto_value v;
		memset(&v, 0, sizeof(v));
		proto_cell_put(&w, "c234567890123456789012345678901_", &v, UINT64_MAX);
	}
	check(proto_wr_error(&w), "cells");
	c[0].cells = cells2.data;
	c[0].cells_len = cells2.len;
	put_batch(buf, c, 1);
	save(buf, "change", "batch_limits.bin");
	com_buf_fini(&cells2);
}

static void
gen_messages(com_buf *buf, com_buf *cells)
{
	com_buf recs;
	proto_wr w;
	proto_change c;
	proto_batch b;
	proto_hello hello;
	proto_hello_ok hello_ok;
	proto_push push;
	proto_push_ok push_ok;
	proto_pull pull;
	proto_pull_ok pull_ok;
	proto_ack ack;
	proto_ack_ok ack_ok;
	char reason[PROTO_REASON_MAX + 1];
	size_t start;

	com_buf_init(&recs);
	check(proto_error_encode(buf, OCOP_EAUTH, "no authority for this write"), "error");
	save(buf, "message", "error.bin");

	memset(&hello, 0, sizeof(hello));
	strcpy(hello.site, SITE);
	strcpy(hello.credential, "khóa-xã-1");
	hello.protocol_version = PROTO_VERSION;
	hello.schema_version = 1;
	strcpy(hello.role, "commune");
	strcpy(hello.software, "ocop 0.1.0");
	check(proto_hello_encode(buf, &hello), "hello");
	save(buf, "message", "hello.bin");

	/* Every string at its limit, so that one inserted byte crosses it. */
	memset(hello.credential, 'c', PROTO_CREDENTIAL_MAX);
	memset(hello.role, 'r', PROTO_ROLE_MAX);
	memset(hello.software, 's', PROTO_SOFTWARE_MAX);
	check(proto_hello_encode(buf, &hello), "hello");
	save(buf, "message", "hello_limits.bin");

	memset(&hello_ok, 0, sizeof(hello_ok));
	strcpy(hello_ok.server_site, SERVER);
	strcpy(hello_ok.server_role, "province");
	hello_ok.server_hlc = HLC;
	hello_ok.high_water = 300;
	hello_ok.max_batch_bytes = 1u << 20;
	hello_ok.schema_version = 1;
	hello_ok.cursor = 41;
	check(proto_hello_ok_encode(buf, &hello_ok), "hello_ok");
	save(buf, "message", "hello_ok.bin");

	memset(&push, 0, sizeof(push));
	strcpy(push.site, SITE);
	strcpy(push.credential, "secret");
	push.sender_hlc = HLC;
	{
		proto_change two[2];
		com_buf cells1;
		com_buf_init(&cells1);
		make_change(&two[0], cells, 1, 0);
		make_change(&two[1], &cells1, 2, 1);
		put_batch(&recs, two, 2);
		com_buf_fini(&cells1);
	}
	push.changes.p = recs.data;
	push.changes.len = recs.len;
	push.changes.count = 2;
	check(proto_push_encode(buf, &push), "push");
	save(buf, "message", "push.bin");
	push.changes.count = 0;
	push.changes.len = 0;
	check(proto_push_encode(buf, &push), "push");
	save(buf, "message", "push_empty.bin");

	/* The batch writer's output. */
	check(proto_push_begin(&b, buf, &push, 1u << 20), "push batch");
	make_change(&c, cells, 3, 0);
	check(proto_batch_add(&b, &c), "push batch");
	check(proto_push_end(&b), "push batch");
	save(buf, "message", "push_batch.bin");

	memset(&push_ok, 0, sizeof(push_ok));
	com_buf_reset(&recs);
	proto_wr_init(&w, &recs);
	proto_rejection_put(&w, 2, OCOP_EAUTH, "xã không có thẩm quyền công nhận");
	check(proto_wr_error(&w), "rejection");
	push_ok.high_water = 3;
	push_ok.rejections.p = recs.data;
	push_ok.rejections.len = recs.len;
	push_ok.rejections.count = 1;
	push_ok.server_hlc = HLC;
	push_ok.applied = 1;
	push_ok.duplicates = 1;
	check(proto_push_ok_encode(buf, &push_ok), "push_ok");
	save(buf, "message", "push_ok.bin");
	memset(reason, 'x', PROTO_REASON_MAX);
	reason[PROTO_REASON_MAX] = 0;
	proto_rejection_put(&w, 3, OCOP_EPROTO, reason);
	check(proto_wr_error(&w), "rejection");
	push_ok.rejections.p = recs.data;
	push_ok.rejections.len = recs.len;
	push_ok.rejections.count = 2;
	check(proto_push_ok_encode(buf, &push_ok), "push_ok");
	save(buf, "message", "push_ok_long_reason.bin");

	memset(&pull, 0, sizeof(pull));
	strcpy(pull.site, SITE);
	strcpy(pull.credential, "secret");
	pull.cursor = 41;
	pull.max_bytes = 1u << 20;
	check(proto_pull_encode(buf, &pull), "pull");
	save(buf, "message", "pull.bin");

	check(proto_pull_ok_begin(&b, buf, 1u << 20), "pull_ok batch");
	make_change(&c, cells, 9, 0);
	check(proto_batch_add(&b, &c), "pull_ok batch");
	check(proto_pull_ok_end(&b, 42, true, HLC), "pull_ok batch");
	save(buf, "message", "pull_ok_batch.bin");
	memset(&pull_ok, 0, sizeof(pull_ok));
	pull_ok.next_cursor = 42;
	pull_ok.server_hlc = HLC;
	check(proto_pull_ok_encode(buf, &pull_ok), "pull_ok");
	save(buf, "message", "pull_ok_empty.bin");

	memset(&ack, 0, sizeof(ack));
	strcpy(ack.site, SITE);
	strcpy(ack.credential, "secret");
	ack.cursor = 42;
	check(proto_ack_encode(buf, &ack), "ack");
	save(buf, "message", "ack.bin");
	ack_ok.cursor = 42;
	check(proto_ack_ok_encode(buf, &ack_ok), "ack_ok");
	save(buf, "message", "ack_ok.bin");

	/* An intact frame of the first protocol version (decoders answer EVERSION). */
	proto_wr_init(&w, buf);
	start = proto_env_begin(&w, PROTO_MSG_HELLO);
	buf->data[start + 1] = 1;
	proto_wr_map(&w, 0);
	check(proto_env_end(&w, start), "version 1");
	save(buf, "message", "version_1.bin");
	com_buf_fini(&recs);
}

int
main(int argc, char **argv)
{
	com_buf buf;
	com_buf cells;

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_gen_corpus DIR\n");
		return 2;
	}
	out_dir = argv[1];
	mkdir(out_dir, 0777);
	com_buf_init(&buf);
	com_buf_init(&cells);
	gen_messages(&buf, &cells);
	gen_changes(&buf, &cells);
	com_buf_fini(&cells);
	com_buf_fini(&buf);
	return 0;
}
