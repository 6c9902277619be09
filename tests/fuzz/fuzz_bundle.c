/*
 * fuzz_bundle.c: libFuzzer target for the sneakernet bundle decoder
 * (PROTOCOL.md section 6), and its oracle fz_decode_bundle(). Built as a
 * fuzzer only with -DOCOP_FUZZ=ON (scripts/fuzz.sh); the oracle is also
 * linked into unit.protocol.bundle, which replays the seeds in every build.
 */
#include "tests/fuzz/fuzz_bundle.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/util/alloc.h"
#include "common/util/buf.h"
#include "ocop_err.h"
#include "protocol/bundle.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

const uint8_t fz_bundle_key[PROTO_BUNDLE_KEY] = {0x6f, 0x63, 0x6f, 0x70, 0x20, 0x66, 0x75, 0x7a, 0x7a, 0x20, 0x6b,
    0x65, 0x79, 0x20, 0x31, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d,
    0x0e, 0x0f, 0x10};

/* Read every byte of a borrowed range, so a view past the input is a sanitizer report. */
static unsigned
fzb_touch(const uint8_t *p, size_t len)
{
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		sum += p[i];
	}
	return sum;
}

/* Write an opened bundle again and check the copy opens to the same header and messages. */
static int
fzb_rewrite(const proto_bundle *b)
{
	proto_bundle_wr bw;
	proto_bundle_it it;
	proto_bundle_it it2;
	proto_bundle again;
	const uint8_t *m;
	const uint8_t *m2;
	size_t len;
	size_t len2;
	uint32_t type;
	uint32_t type2;
	com_buf buf;
	int rv = FZ_BROKEN;

	com_buf_init(&buf);
	if (proto_bundle_begin(&bw, &buf, &b->hdr) != OCOP_OK) {
		goto done;
	}
	proto_bundle_iter(&it, b);
	while (proto_bundle_next(&it, &m, &len, &type) == OCOP_OK) {
		if (proto_bundle_add(&bw, m, len) != OCOP_OK) {
			goto done;
		}
	}
	if (proto_bundle_end(&bw, fz_bundle_key) != OCOP_OK ||
	    proto_bundle_open(&again, buf.data, buf.len, fz_bundle_key, NULL, 0) != OCOP_OK ||
	    again.count != b->count || again.hdr.kind != b->hdr.kind ||
	    strcmp(again.hdr.site, b->hdr.site) != 0 || strcmp(again.hdr.server, b->hdr.server) != 0 ||
	    again.hdr.created_ms != b->hdr.created_ms || again.hdr.pull_from != b->hdr.pull_from ||
	    again.hdr.seq != b->hdr.seq) {
		goto done;
	}
	proto_bundle_iter(&it, b);
	proto_bundle_iter(&it2, &again);
	while (proto_bundle_next(&it, &m, &len, &type) == OCOP_OK) {
		if (proto_bundle_next(&it2, &m2, &len2, &type2) != OCOP_OK || len != len2 || type != type2 ||
		    memcmp(m, m2, len) != 0) {
			goto done;
		}
	}
	rv = OCOP_OK;
done:
	com_buf_fini(&buf);
	return rv;
}

/* The oracle over one input as found in a file. */
static int
fzb_check(const uint8_t *p, size_t len)
{
	proto_bundle b;
	proto_bundle_it it;
	const uint8_t *m;
	size_t mlen;
	uint32_t type;
	uint32_t n = 0;
	char why[256];
	volatile unsigned sink = 0; /* volatile: the reads of every byte must happen */
	int rv;

	why[0] = 0;
	rv = proto_bundle_open(&b, p, len, fz_bundle_key, why, sizeof(why));
	if (rv == OCOP_EPROTO || rv == OCOP_EVERSION || rv == OCOP_ECORRUPT) {
		/* A refusal always says why. */
		return why[0] != 0 && strlen(why) < sizeof(why) ? rv : FZ_BROKEN;
	}
	if (rv != OCOP_OK || (b.count > 0 && (b.msgs < p || b.msgs + b.msgs_len > p + len))) {
		return FZ_BROKEN;
	}
	proto_bundle_iter(&it, &b);
	while ((rv = proto_bundle_next(&it, &m, &mlen, &type)) == OCOP_OK) {
		n++;
		sink += fzb_touch(m, mlen);
	}
	(void)sink;
	if (rv != OCOP_ENOENT || n != b.count || fzb_rewrite(&b) != OCOP_OK) {
		return FZ_BROKEN;
	}
	return OCOP_OK;
}

/*
 * A mutated file almost never keeps its authentication code, so mutations
 * would stop at the MAC. When p starts like a bundle, the same bytes are also
 * tried with the length field and the MAC (under the oracle's key) made
 * right, so every mutation of the body reaches the body's checks.
 */
static int
fzb_check_redigested(const uint8_t *p, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	uint8_t *q;
	size_t i;
	int rv;

	if (len < PROTO_BUNDLE_PREFIX + PROTO_BUNDLE_DIGEST || memcmp(p, PROTO_BUNDLE_MAGIC, 8) != 0) {
		return OCOP_EPROTO;
	}
	q = com_malloc(len);
	if (q == NULL) {
		return OCOP_ENOMEM;
	}
	memcpy(q, p, len);
	for (i = 0; i < 8; i++) {
		q[12 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
	}
	if (HMAC(EVP_sha256(), fz_bundle_key, PROTO_BUNDLE_KEY, q, len - PROTO_BUNDLE_DIGEST, md, &mdlen) == NULL) {
		com_free(q);
		return OCOP_ENOMEM;
	}
	memcpy(q + len - PROTO_BUNDLE_DIGEST, md, PROTO_BUNDLE_DIGEST);
	rv = fzb_check(q, len);
	com_free(q);
	return rv;
}

int
fz_decode_bundle(const uint8_t *p, size_t len)
{
	int rv = fzb_check(p, len);

	if (rv == FZ_BROKEN || fzb_check_redigested(p, len) == FZ_BROKEN) {
		return FZ_BROKEN;
	}
	return rv;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (fz_decode_bundle(data, size) == FZ_BROKEN) {
		abort(); /* a broken promise is a finding, like a crash */
	}
	return 0;
}
