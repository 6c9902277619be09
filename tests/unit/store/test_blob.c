/*
 * Unit tests for common/store/blob.c: the content-addressed file store.
 * Adding stores a file once under its SHA-256; a file over the limit is
 * refused before a byte is copied; receiving writes only the chunk that
 * continues the partial copy, and a file becomes visible only whole and
 * verified; damage on the disk is found; export never overwrites unless
 * told; a mirror (a backup) gets every file once.
 */
#include "tests/lib/testutil.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/store/blob.h"
#include "common/util/alloc.h"

typedef struct fx {
	char *dir;       /* temp dir */
	sto_blobs *b;    /* a store in dir/store */
} fx;

static int
setup(void **state)
{
	fx *f = test_calloc(1, sizeof(*f));
	char path[1100];

	f->dir = tu_mkdtemp();
	snprintf(path, sizeof(path), "%s/store", f->dir);
	assert_ok(sto_blobs_open(&f->b, path));
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	fx *f = *state;

	sto_blobs_close(f->b);
	tu_rmtree(f->dir);
	test_free(f);
	return 0;
}

static void
write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(p, 1, n, fp), n);
	fclose(fp);
}

static void
sha_of(const uint8_t *p, size_t n, uint8_t sha[STO_SHA_LEN])
{
	unsigned int len = 0;

	assert_int_equal(EVP_Digest(p, n, sha, &len, EVP_sha256(), NULL), 1);
}

static uint8_t *
pattern(size_t n, unsigned seed)
{
	uint8_t *p = test_malloc(n);
	size_t i;

	for (i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
	return p;
}

static int
count_one(void *arg, const uint8_t sha[STO_SHA_LEN], uint64_t size)
{
	(void)sha;
	(void)size;
	(*(int *)arg)++;
	return OCOP_OK;
}

static void
test_a_file_is_stored_once_under_its_sha256(void **state)
{
	fx *f = *state;
	char path[1100];
	uint8_t want[STO_SHA_LEN];
	uint8_t sha[STO_SHA_LEN];
	uint8_t *p = pattern(300000, 1);
	uint64_t size = 0;
	bool existed = true;
	int n = 0;

	snprintf(path, sizeof(path), "%s/scan.pdf", f->dir);
	write_file(path, p, 300000);
	sha_of(p, 300000, want);
	assert_ok(sto_blobs_add(f->b, path, 1 << 20, sha, &size, &existed));
	assert_memory_equal(sha, want, STO_SHA_LEN);
	assert_int_equal(size, 300000);
	assert_false(existed);
	assert_ok(sto_blobs_add(f->b, path, 1 << 20, sha, &size, &existed));
	assert_true(existed);
	assert_ok(sto_blobs_each(f->b, count_one, &n));
	assert_int_equal(n, 1);
	assert_true(sto_blobs_has(f->b, sha, &size));
	assert_ok(sto_blobs_verify(f->b, sha));
	test_free(p);
}

static void
test_a_file_over_the_limit_is_refused_before_anything_is_copied(void **state)
{
	fx *f = *state;
	char path[1100];
	uint8_t sha[STO_SHA_LEN];
	uint8_t *p = pattern(5000, 2);
	uint64_t size = 0;
	uint64_t bytes = 0;
	uint64_t count = 0;
	int n = 0;

	snprintf(path, sizeof(path), "%s/big.bin", f->dir);
	write_file(path, p, 5000);
	assert_err(sto_blobs_add(f->b, path, 4999, sha, &size, NULL), OCOP_ETOOBIG);
	assert_non_null(strstr(sto_blobs_errmsg(f->b), "limit"));
	assert_err(sto_blobs_add(f->b, f->dir, 1 << 20, sha, &size, NULL), OCOP_EINPUT);
	snprintf(path, sizeof(path), "%s/none", f->dir);
	assert_err(sto_blobs_add(f->b, path, 1 << 20, sha, &size, NULL), OCOP_ENOENT);
	assert_ok(sto_blobs_each(f->b, count_one, &n));
	assert_int_equal(n, 0);
	sto_blobs_partials(f->b, NULL, &bytes, &count);
	assert_int_equal(count, 0);
	test_free(p);
}

static void
test_only_the_chunk_that_continues_the_copy_is_written(void **state)
{
	fx *f = *state;
	uint8_t sha[STO_SHA_LEN];
	uint8_t *p = pattern(10000, 3);
	uint8_t back[10000];
	uint64_t held = 0;
	size_t got = 0;
	bool whole = true;

	sha_of(p, 10000, sha);
	/* A gap: nothing written. */
	assert_ok(sto_blobs_receive(f->b, "site-a", sha, 10000, 4000, p + 4000, 4000, &held, &whole));
	assert_int_equal(held, 0);
	assert_false(whole);
	assert_ok(sto_blobs_receive(f->b, "site-a", sha, 10000, 0, p, 4000, &held, &whole));
	assert_int_equal(held, 4000);
	/* A resend of what is held: nothing changes. */
	assert_ok(sto_blobs_receive(f->b, "site-a", sha, 10000, 0, p, 4000, &held, &whole));
	assert_int_equal(held, 4000);
	assert_int_equal(sto_blobs_held(f->b, "site-a", sha), 4000);
	/* Another peer's copy is its own. */
	assert_int_equal(sto_blobs_held(f->b, "site-b", sha), 0);
	assert_false(sto_blobs_has(f->b, sha, NULL));
	/* How far the file has come, whoever sends it: the furthest copy (the pending-bytes metric). */
	assert_ok(sto_blobs_receive(f->b, "site-b", sha, 10000, 0, p, 1000, &held, &whole));
	assert_int_equal(sto_blobs_held_most(f->b, sha), 4000);
	assert_ok(sto_blobs_receive(f->b, "site-b", sha, 10000, 1000, p + 1000, 5000, &held, &whole));
	assert_int_equal(sto_blobs_held_most(f->b, sha), 6000);
	sto_blobs_drop_partial(f->b, "site-b", sha);
	assert_int_equal(sto_blobs_held_most(f->b, sha), 4000);
	assert_ok(sto_blobs_receive(f->b, "site-a", sha, 10000, 4000, p + 4000, 6000, &held, &whole));
	assert_true(whole);
	assert_true(sto_blobs_has(f->b, sha, NULL));
	assert_int_equal(sto_blobs_held(f->b, "site-a", sha), 0);
	assert_ok(sto_blobs_read(f->b, sha, 0, back, sizeof(back), &got));
	assert_int_equal(got, 10000);
	assert_memory_equal(back, p, 10000);
	/* A peer name that could leave the store is refused. */
	assert_err(sto_blobs_receive(f->b, "../x", sha, 10000, 0, p, 10, &held, &whole), OCOP_EINVAL);
	test_free(p);
}

static void
test_bytes_that_do_not_hash_to_the_name_are_discarded(void **state)
{
	fx *f = *state;
	uint8_t sha[STO_SHA_LEN];
	uint8_t *p = pattern(3000, 4);
	uint64_t held = 0;
	bool whole = false;

	sha_of(p, 3000, sha);
	p[100] ^= 1;
	assert_ok(sto_blobs_receive(f->b, "site-a", sha, 3000, 0, p, 2000, &held, &whole));
	assert_err(sto_blobs_receive(f->b, "site-a", sha, 3000, 2000, p + 2000, 1000, &held, &whole), OCOP_ECORRUPT);
	assert_false(whole);
	assert_int_equal(held, 0);
	assert_false(sto_blobs_has(f->b, sha, NULL));
	assert_int_equal(sto_blobs_held(f->b, "site-a", sha), 0);
	test_free(p);
}

static void
test_damage_on_the_disk_is_found_and_never_exported(void **state)
{
	fx *f = *state;
	char path[1100];
	char obj[1200];
	char hex[STO_SHA_HEX];
	uint8_t sha[STO_SHA_LEN];
	uint8_t *p = pattern(4096, 5);
	uint64_t size = 0;
	size_t i;
	int fd;

	snprintf(path, sizeof(path), "%s/photo.jpg", f->dir);
	write_file(path, p, 4096);
	assert_ok(sto_blobs_add(f->b, path, 1 << 20, sha, &size, NULL));
	snprintf(path, sizeof(path), "%s/out.jpg", f->dir);
	assert_ok(sto_blobs_export(f->b, sha, path, false));
	assert_err(sto_blobs_export(f->b, sha, path, false), OCOP_EEXIST);
	assert_ok(sto_blobs_export(f->b, sha, path, true));
	for (i = 0; i < STO_SHA_LEN; i++) {
		snprintf(hex + 2 * i, 3, "%02x", sha[i]);
	}
	snprintf(obj, sizeof(obj), "%s/store/objects/%.2s/%s", f->dir, hex, hex);
	fd = open(obj, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, "X", 1, 77), 1);
	close(fd);
	assert_err(sto_blobs_verify(f->b, sha), OCOP_ECORRUPT);
	unlink(path);
	assert_err(sto_blobs_export(f->b, sha, path, false), OCOP_ECORRUPT);
	assert_int_equal(access(path, F_OK), -1);
	test_free(p);
}

static void
test_a_mirror_gets_every_file_once(void **state)
{
	fx *f = *state;
	char path[1100];
	char dst[1100];
	uint8_t sha[STO_SHA_LEN];
	uint8_t *p = pattern(2000, 6);
	uint64_t size = 0;
	uint64_t copied = 0;
	uint64_t bytes = 0;
	sto_blobs *m = NULL;

	snprintf(path, sizeof(path), "%s/a.pdf", f->dir);
	write_file(path, p, 1000);
	assert_ok(sto_blobs_add(f->b, path, 1 << 20, sha, &size, NULL));
	write_file(path, p + 1000, 1000);
	assert_ok(sto_blobs_add(f->b, path, 1 << 20, sha, &size, NULL));
	snprintf(dst, sizeof(dst), "%s/backup.files", f->dir);
	assert_ok(sto_blobs_mirror(f->b, dst, &copied, &bytes));
	assert_int_equal(copied, 2);
	assert_int_equal(bytes, 2000);
	assert_ok(sto_blobs_mirror(f->b, dst, &copied, &bytes));
	assert_int_equal(copied, 0);
	assert_ok(sto_blobs_open(&m, dst));
	assert_true(sto_blobs_has(m, sha, NULL));
	assert_ok(sto_blobs_verify(m, sha));
	sto_blobs_close(m);
	test_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_a_file_is_stored_once_under_its_sha256, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_file_over_the_limit_is_refused_before_anything_is_copied, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_the_chunk_that_continues_the_copy_is_written, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bytes_that_do_not_hash_to_the_name_are_discarded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_damage_on_the_disk_is_found_and_never_exported, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_mirror_gets_every_file_once, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
