/*
 * test_chain.c - the recordings' hash chain (recorder/chain.c) and seal
 * (recorder/seal.c): a sealed file verifies; an edited byte, a deleted
 * line, a truncated file, an appended line, a seal moved from another file
 * and a seal made with another key are each caught and named; an unsealed
 * file is "unfinished".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit_util.h"
#include "../../recorder/chain.h"
#include "../../recorder/seal.h"

struct fx {
	char		 dir[256];
	char		 a[512], b[512];
	unsigned char	 key[SEAL_KEY_LEN];
	char		 msgs[16][768];
	int		 nmsgs;
};

static void
collect(void *arg, const char *msg)
{
	struct fx *f = arg;

	if (f->nmsgs < 16)
		snprintf(f->msgs[f->nmsgs++], sizeof(f->msgs[0]), "%s", msg);
}

static int
said(const struct fx *f, const char *needle)
{
	int i;

	for (i = 0; i < f->nmsgs; i++)
		if (strstr(f->msgs[i], needle) != NULL)
			return 1;
	return 0;
}

/* Writes lines through a chain, in awkward pieces, and seals if asked. */
static void
record(const char *path, const char *text, int seal)
{
	struct chain *ch;
	size_t i, n = strlen(text);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_non_null(ch = chain_open(path));
	for (i = 0; i < n; i += 3) {
		size_t k = n - i < 3 ? n - i : 3;

		assert_int_equal(write(fd, text + i, k), (ssize_t)k);
		assert_int_equal(chain_update(ch, text + i, k), 0);
		if (i % 7 == 0)
			assert_int_equal(chain_flush(ch), 0);
	}
	close(fd);
	if (seal) {
		char desc[CHAIN_DESC_LEN];

		assert_int_equal(chain_seal(ch, desc, sizeof(desc)), 0);
		assert_non_null(strstr(desc, "lines=3 chain="));
	}
	assert_int_equal(chain_close(ch), 0);
}

static enum chain_verdict
verify(struct fx *f, const char *path, const unsigned char *key)
{
	f->nmsgs = 0;
	return chain_verify(path, key, SEAL_KEY_LEN, collect, f);
}

static void
put(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static char *
get(const char *path)
{
	static char buf[65536];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	return buf;
}

#define TEXT	"{\"version\": 2}\n[0.1, \"o\", \"hello\"]\n[0.2, \"o\", \"x\"]\n"

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	char msg[256];

	assert_non_null(f);
	assert_non_null(unit_mkdtemp(f->dir, sizeof(f->dir)));
	snprintf(f->a, sizeof(f->a), "%s/S-c1.cast", f->dir);
	snprintf(f->b, sizeof(f->b), "%s/S-c2.cast", f->dir);
	assert_int_equal(seal_key_load(f->dir, 1, f->key, msg, sizeof(msg)),
	    0);
	seal_use_key(f->key);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	unit_rmtree(f->dir);
	free(f);
	return 0;
}

static void
test_key_file(void **state)
{
	struct fx *f = *state;
	unsigned char again[SEAL_KEY_LEN];
	char path[PATH_MAX], msg[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", f->dir, SEAL_KEY_FILE);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(seal_key_load(f->dir, 0, again, msg, sizeof(msg)), 0);
	assert_memory_equal(again, f->key, SEAL_KEY_LEN);
	chmod(path, 0644);
	assert_int_equal(seal_key_load(f->dir, 0, again, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "readable by others"));
}

static void
test_sealed_verifies(void **state)
{
	struct fx *f = *state;

	record(f->a, TEXT, 1);
	assert_int_equal(verify(f, f->a, f->key), CHAIN_OK);
	assert_int_equal(f->nmsgs, 0);
}

static void
test_unsealed_is_unfinished(void **state)
{
	struct fx *f = *state;

	record(f->a, TEXT, 0);
	assert_int_equal(verify(f, f->a, f->key), CHAIN_UNFINISHED);
	assert_true(said(f, "unfinished (no seal)"));
}

static void
test_edited_byte(void **state)
{
	struct fx *f = *state;
	char *t;

	record(f->a, TEXT, 1);
	t = get(f->a);
	*strstr(t, "hello") = 'j';
	put(f->a, t);
	assert_int_equal(verify(f, f->a, f->key), CHAIN_BAD);
	assert_true(said(f, "S-c1.cast: line 2: chain broken"));
}

static void
test_deleted_line(void **state)
{
	struct fx *f = *state;

	record(f->a, TEXT, 1);
	put(f->a, "{\"version\": 2}\n[0.2, \"o\", \"x\"]\n");
	assert_int_equal(verify(f, f->a, f->key), CHAIN_BAD);
	assert_true(said(f, "line 2: chain broken"));
}

static void
test_truncated(void **state)
{
	struct fx *f = *state;

	record(f->a, TEXT, 1);
	put(f->a, "{\"version\": 2}\n[0.1, \"o\", \"hello\"]\n[0.2, \"o\"");
	assert_int_equal(verify(f, f->a, f->key), CHAIN_BAD);
	assert_true(said(f, "truncated"));
	/* truncated at a line boundary, chain file cut to match */
	record(f->b, TEXT, 1);
	put(f->b, "{\"version\": 2}\n[0.1, \"o\", \"hello\"]\n");
	assert_int_equal(verify(f, f->b, f->key), CHAIN_BAD);
	assert_true(said(f, "truncated"));
}

static void
test_appended_line(void **state)
{
	struct fx *f = *state;
	char t[4096];

	record(f->a, TEXT, 1);
	snprintf(t, sizeof(t), "%s[0.3, \"o\", \"more\"]\n", get(f->a));
	put(f->a, t);
	assert_int_equal(verify(f, f->a, f->key), CHAIN_BAD);
	assert_true(said(f, "after the sealed end"));
}

static void
test_swapped_seal(void **state)
{
	struct fx *f = *state;
	char sa[PATH_MAX], sb[PATH_MAX], *t, keep[4096];

	/* the same content in two files: the seal of one does not fit the
	 * other (the name is bound into the chain and the HMAC) */
	record(f->a, TEXT, 1);
	record(f->b, TEXT, 1);
	snprintf(sa, sizeof(sa), "%s%s", f->a, CHAIN_SUFFIX);
	snprintf(sb, sizeof(sb), "%s%s", f->b, CHAIN_SUFFIX);
	snprintf(keep, sizeof(keep), "%s", get(sa));
	t = get(sb);
	put(sa, t);
	assert_int_equal(verify(f, f->a, f->key), CHAIN_BAD);
	assert_true(said(f, "line 1: chain broken"));
	/* a rewritten chain with a seal line copied over: seal mismatch */
	put(sa, keep);
	t = get(sa);
	{
		char *seal = strstr(t, "seal v1");
		char *hm = strstr(seal, "hmac=") + 5;

		hm[0] = hm[0] == '0' ? '1' : '0';
	}
	put(sa, t);
	assert_int_equal(verify(f, f->a, f->key), CHAIN_BAD);
	assert_true(said(f, "seal mismatch"));
}

static void
test_other_key(void **state)
{
	struct fx *f = *state;
	unsigned char other[SEAL_KEY_LEN];

	record(f->a, TEXT, 1);
	memset(other, 7, sizeof(other));
	assert_int_equal(verify(f, f->a, other), CHAIN_BAD);
	assert_true(said(f, "seal mismatch"));
	assert_int_equal(verify(f, f->a, NULL), CHAIN_BAD);
}

static void
test_missing_chain(void **state)
{
	struct fx *f = *state;
	char sa[PATH_MAX];

	record(f->a, TEXT, 1);
	snprintf(sa, sizeof(sa), "%s%s", f->a, CHAIN_SUFFIX);
	unlink(sa);
	assert_int_equal(verify(f, f->a, f->key), CHAIN_BAD);
	assert_true(said(f, "no chain file"));
	unlink(f->a);
	assert_int_equal(verify(f, f->a, f->key), CHAIN_BAD);
	assert_true(said(f, "missing"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_key_file),
		T(test_sealed_verifies),
		T(test_unsealed_is_unfinished),
		T(test_edited_byte),
		T(test_deleted_line),
		T(test_truncated),
		T(test_appended_line),
		T(test_swapped_seal),
		T(test_other_key),
		T(test_missing_chain),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
