/*
 * test_totp_store.c - the per-user TOTP state (pam/totp_store.c): codes
 * computed independently with liboath's oath_totp_generate at chosen times,
 * the window edges, RFC 6238 5.2 replay (in a row, an earlier code after a
 * later one, two processes at once), and the refusals that pam_oath's
 * CVE-2024-47191 taught: symlinks, open modes, group-writable directories,
 * names that are paths.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include <liboath/oath.h>

#include "unit_util.h"
#include "../../pam/totp_store.h"

#define T0	1700000010	/* 10 s into a 30 s step */

static const struct totp_params P = { 6, 30, 1 };

struct fix {
	char	dir[256];
	char	b32[64];
};

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL || unit_mkdtemp(f->dir, sizeof(f->dir)) == NULL)
		return -1;
	chmod(f->dir, 0700);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	unit_rmtree(f->dir);
	free(f);
	return 0;
}

/* The code for b32 at time t, as an authenticator app would show it. */
static void
code_at(const char *b32, time_t t, unsigned digits, char *out)
{
	char *raw = NULL;
	size_t rawlen = 0;

	assert_int_equal(oath_init(), OATH_OK);
	assert_int_equal(oath_base32_decode(b32, strlen(b32), &raw, &rawlen),
	    OATH_OK);
	assert_int_equal(rawlen, TOTP_SECRET_BYTES);
	assert_int_equal(oath_totp_generate(raw, rawlen, t, 30, 0, digits,
	    out), OATH_OK);
	free(raw);
}

static void
enroll(struct fix *f, const char *user)
{
	assert_int_equal(totp_store_enroll(f->dir, user, f->b32,
	    sizeof(f->b32)), TOTP_OK);
}

static void
test_enroll_format(void **state)
{
	struct fix *f = *state;
	char path[PATH_MAX], buf[512], first[64];
	struct stat st;
	size_t i;
	FILE *fp;

	enroll(f, "alice");
	assert_int_equal(strlen(f->b32), 32);	/* 160 bits, no padding */
	for (i = 0; i < 32; i++)
		assert_true(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
		    f->b32[i]) != NULL);
	snprintf(path, sizeof(path), "%s/alice", f->dir);
	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_uid, geteuid());
	assert_non_null(fp = fopen(path, "r"));
	i = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[i] = '\0';
	fclose(fp);
	snprintf(first, sizeof(first), "secret %s\n", f->b32);
	assert_non_null(strstr(buf, first));
	assert_string_equal(strrchr(buf, 'l'), "last -1\n");

	/* Re-enrolment replaces the secret. */
	snprintf(first, sizeof(first), "%s", f->b32);
	enroll(f, "alice");
	assert_string_not_equal(first, f->b32);
	/* No temporary left behind. */
	snprintf(path, sizeof(path), "%s/.alice.new", f->dir);
	assert_int_not_equal(access(path, F_OK), 0);
}

static void
test_verify_and_replay(void **state)
{
	struct fix *f = *state;
	char c[16], later[16];

	enroll(f, "alice");
	code_at(f->b32, T0, 6, c);
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0, &P),
	    TOTP_OK);
	/* The same code again, at once and later in its window. */
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0, &P),
	    TOTP_REPLAY);
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0 + 30, &P),
	    TOTP_REPLAY);
	/* The next step's code is fresh; then the previous one is not. */
	code_at(f->b32, T0 + 60, 6, later);
	assert_int_equal(totp_store_verify(f->dir, "alice", later, T0 + 60,
	    &P), TOTP_OK);
	code_at(f->b32, T0 + 30, 6, c);
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0 + 60, &P),
	    TOTP_REPLAY);
}

static void
test_earlier_after_later(void **state)
{
	struct fix *f = *state;
	char early[16], late[16];

	enroll(f, "alice");
	/* Both within the window at T0: the later one first. */
	code_at(f->b32, T0 - 30, 6, early);
	code_at(f->b32, T0 + 30, 6, late);
	if (strcmp(early, late) == 0)
		skip();		/* one chance in a million */
	assert_int_equal(totp_store_verify(f->dir, "alice", late, T0, &P),
	    TOTP_OK);
	assert_int_equal(totp_store_verify(f->dir, "alice", early, T0, &P),
	    TOTP_REPLAY);
}

static void
test_window_edges(void **state)
{
	struct fix *f = *state;
	struct totp_params p0 = { 6, 30, 0 }, p2 = { 6, 30, 2 };
	time_t step = (T0 / 30) * 30;	/* start of T0's step */
	char c[16];

	/* A code for the step before: last second of the window, then out. */
	enroll(f, "bob");
	code_at(f->b32, step - 30, 6, c);
	assert_int_equal(totp_store_verify(f->dir, "bob", c, step + 29, &P),
	    TOTP_OK);
	enroll(f, "bob");
	code_at(f->b32, step - 30, 6, c);
	assert_int_equal(totp_store_verify(f->dir, "bob", c, step + 30, &P),
	    TOTP_BAD_CODE);
	/* The step after: accepted from its step - 1, refused before. */
	code_at(f->b32, step + 30, 6, c);
	assert_int_equal(totp_store_verify(f->dir, "bob", c, step - 1, &P),
	    TOTP_BAD_CODE);
	assert_int_equal(totp_store_verify(f->dir, "bob", c, step, &P),
	    TOTP_OK);
	/* window=0: only the current step; window=2: two either side. */
	enroll(f, "bob");
	code_at(f->b32, step - 30, 6, c);
	assert_int_equal(totp_store_verify(f->dir, "bob", c, step, &p0),
	    TOTP_BAD_CODE);
	code_at(f->b32, step - 60, 6, c);
	assert_int_equal(totp_store_verify(f->dir, "bob", c, step, &p2),
	    TOTP_OK);
}

static void
test_bad_codes(void **state)
{
	struct fix *f = *state;
	struct totp_params p8 = { 8, 30, 1 };
	char c[16], wrong[16];
	static const char *const junk[] = { "", "12345", "1234567",
	    "12345a", " 123456", "123456 ", "-12345", "１２３４５６" };
	size_t i;

	enroll(f, "carol");
	code_at(f->b32, T0, 6, c);
	for (i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		assert_int_equal(totp_store_verify(f->dir, "carol", junk[i],
		    T0, &P), TOTP_BAD_CODE);
	/* A valid-looking code off by one digit. */
	snprintf(wrong, sizeof(wrong), "%s", c);
	wrong[5] = wrong[5] == '9' ? '0' : wrong[5] + 1;
	assert_int_equal(totp_store_verify(f->dir, "carol", wrong, T0, &P),
	    TOTP_BAD_CODE);
	/* Failures consume nothing: the right code still works. */
	assert_int_equal(totp_store_verify(f->dir, "carol", c, T0, &P),
	    TOTP_OK);
	/* 8 digits. */
	enroll(f, "carol");
	code_at(f->b32, T0, 8, c);
	assert_int_equal(strlen(c), 8);
	assert_int_equal(totp_store_verify(f->dir, "carol", c, T0, &P),
	    TOTP_BAD_CODE);
	assert_int_equal(totp_store_verify(f->dir, "carol", c, T0, &p8),
	    TOTP_OK);
}

static void
test_no_secret(void **state)
{
	struct fix *f = *state;

	assert_int_equal(totp_store_verify(f->dir, "nobody1", "123456", T0,
	    &P), TOTP_NO_SECRET);
}

static void
test_bad_params(void **state)
{
	struct fix *f = *state;
	struct totp_params bad[] = { { 5, 30, 1 }, { 9, 30, 1 },
	    { 6, 0, 1 }, { 6, 30, -1 }, { 6, 30, 11 } };
	size_t i;

	enroll(f, "alice");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(totp_store_verify(f->dir, "alice", "123456",
		    T0, &bad[i]), TOTP_ERROR);
	assert_int_equal(totp_store_verify(f->dir, "alice", "123456", T0,
	    NULL), TOTP_ERROR);
	assert_int_equal(totp_store_verify(f->dir, "alice", "123456", -1,
	    &P), TOTP_ERROR);
}

static void
test_bad_user_names(void **state)
{
	struct fix *f = *state;
	char b32[64], long_name[80];
	static const char *const bad[] = { "", ".", "..", "../alice",
	    "a/b", ".alice", "-alice", "_alice", "alice\n", "al ice",
	    "al\xc3\xa9", "alice/", "/etc/passwd" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(totp_store_enroll(f->dir, bad[i], b32,
		    sizeof(b32)), TOTP_ERROR);
		assert_int_equal(totp_store_verify(f->dir, bad[i], "123456",
		    T0, &P), TOTP_ERROR);
	}
	assert_int_equal(totp_store_enroll(f->dir, NULL, b32, sizeof(b32)),
	    TOTP_ERROR);
	memset(long_name, 'a', 65);
	long_name[65] = '\0';
	assert_int_equal(totp_store_enroll(f->dir, long_name, b32,
	    sizeof(b32)), TOTP_ERROR);
	long_name[64] = '\0';			/* 64 is the limit */
	assert_int_equal(totp_store_enroll(f->dir, long_name, b32,
	    sizeof(b32)), TOTP_OK);
	assert_int_equal(totp_store_enroll(f->dir, "a.b_c-9", b32,
	    sizeof(b32)), TOTP_OK);
	/* A buffer too small for the secret. */
	assert_int_equal(totp_store_enroll(f->dir, "alice", b32, 16),
	    TOTP_ERROR);
}

static void
test_unsafe_files(void **state)
{
	struct fix *f = *state;
	char path[PATH_MAX], target[PATH_MAX], c[16];

	/* A symlinked state file: refused, not followed. */
	enroll(f, "alice");
	code_at(f->b32, T0, 6, c);
	snprintf(path, sizeof(path), "%s/alice", f->dir);
	snprintf(target, sizeof(target), "%s/real", f->dir);
	assert_int_equal(rename(path, target), 0);
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0, &P),
	    TOTP_UNSAFE);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rename(target, path), 0);

	/* Readable by others, then by group: refused. */
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0, &P),
	    TOTP_UNSAFE);
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0, &P),
	    TOTP_UNSAFE);
	assert_int_equal(chmod(path, 0600), 0);

	/* A second hard link (someone else's file made ours): refused. */
	assert_int_equal(link(path, target), 0);
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0, &P),
	    TOTP_UNSAFE);
	assert_int_equal(unlink(target), 0);

	/* Not a regular file. */
	snprintf(path, sizeof(path), "%s/fifo", f->dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(totp_store_verify(f->dir, "fifo", "123456", T0, &P),
	    TOTP_UNSAFE);

	/* A symlinked lock file. */
	snprintf(path, sizeof(path), "%s/.alice.lock", f->dir);
	unlink(path);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0, &P),
	    TOTP_UNSAFE);
	assert_int_equal(unlink(path), 0);

	/* All well again: the code was never consumed. */
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0, &P),
	    TOTP_OK);
}

static void
test_corrupt_state(void **state)
{
	struct fix *f = *state;
	char path[PATH_MAX];
	static const char *const bad[] = {
		"",
		"hvbastion-totp 1\n",
		"hvbastion-totp 2\nsecret ABCDEFGH\nlast -1\n",
		"hvbastion-totp 1\nsecret abcdefgh\nlast -1\n",
		"hvbastion-totp 1\nsecret ABCDEFGH\nlast -2\n",
		"hvbastion-totp 1\nsecret ABCDEFGH\nlast x\n",
		"hvbastion-totp 1\nsecret ABCDEFGH\nlast 1",
		"hvbastion-totp 1\nsecret ABCDEFGH\nlast 1\nextra\n",
		"hvbastion-totp 1\nsecret \nlast 1\n",
	};
	char big[1024];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(unit_write_file(f->dir, "dave", bad[i],
		    strlen(bad[i]), 0600, path, sizeof(path)), 0);
		assert_int_equal(totp_store_verify(f->dir, "dave", "123456",
		    T0, &P), TOTP_ERROR);
	}
	memset(big, 'A', sizeof(big));
	assert_int_equal(unit_write_file(f->dir, "dave", big, sizeof(big),
	    0600, path, sizeof(path)), 0);
	assert_int_equal(totp_store_verify(f->dir, "dave", "123456", T0, &P),
	    TOTP_ERROR);
}

static void
test_unsafe_dir(void **state)
{
	struct fix *f = *state;
	char sub[PATH_MAX], link_[PATH_MAX], err[256], b32[64], c[16];

	enroll(f, "alice");
	code_at(f->b32, T0, 6, c);
	assert_int_equal(totp_store_check_dir(f->dir, err, sizeof(err)),
	    TOTP_OK);

	/* Group-writable, then others-writable, directory. */
	assert_int_equal(chmod(f->dir, 0770), 0);
	assert_int_equal(totp_store_check_dir(f->dir, err, sizeof(err)),
	    TOTP_UNSAFE);
	assert_non_null(strstr(err, "writable"));
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0, &P),
	    TOTP_UNSAFE);
	assert_int_equal(totp_store_enroll(f->dir, "alice", b32, sizeof(b32)),
	    TOTP_UNSAFE);
	assert_int_equal(chmod(f->dir, 0703), 0);
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0, &P),
	    TOTP_UNSAFE);
	/* Sticky does not make the state directory itself safe. */
	assert_int_equal(chmod(f->dir, 01777), 0);
	assert_int_equal(totp_store_check_dir(f->dir, err, sizeof(err)),
	    TOTP_UNSAFE);
	assert_int_equal(chmod(f->dir, 0700), 0);

	/* A symlink to a good directory is still refused. */
	snprintf(link_, sizeof(link_), "%s.link", f->dir);
	unlink(link_);
	assert_int_equal(symlink(f->dir, link_), 0);
	assert_int_equal(totp_store_check_dir(link_, err, sizeof(err)),
	    TOTP_UNSAFE);
	assert_non_null(strstr(err, "symbolic link"));
	assert_int_equal(totp_store_verify(link_, "alice", c, T0, &P),
	    TOTP_UNSAFE);
	unlink(link_);

	/* A good directory under a group-writable, non-sticky parent. */
	snprintf(sub, sizeof(sub), "%s/sub", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(chmod(f->dir, 0770), 0);
	assert_int_equal(totp_store_check_dir(sub, err, sizeof(err)),
	    TOTP_UNSAFE);
	assert_int_equal(chmod(f->dir, 0700), 0);
	assert_int_equal(totp_store_check_dir(sub, err, sizeof(err)),
	    TOTP_OK);
	rmdir(sub);

	/* Relative, missing, not a directory. */
	assert_int_equal(totp_store_check_dir("relative/dir", err,
	    sizeof(err)), TOTP_ERROR);
	snprintf(sub, sizeof(sub), "%s/missing", f->dir);
	assert_int_equal(totp_store_check_dir(sub, err, sizeof(err)),
	    TOTP_ERROR);
	snprintf(sub, sizeof(sub), "%s/alice", f->dir);
	assert_int_not_equal(totp_store_check_dir(sub, err, sizeof(err)),
	    TOTP_OK);

	/* The code was not consumed by any refusal. */
	assert_int_equal(totp_store_verify(f->dir, "alice", c, T0, &P),
	    TOTP_OK);
}

/*
 * Two processes, released together, verify one code: the lock must make
 * exactly one of them win.  Repeated, since a race lost once proves little.
 */
static void
test_parallel_replay(void **state)
{
	struct fix *f = *state;
	int round, i;

	for (round = 0; round < 20; round++) {
		int go[2], ok = 0, replay = 0;
		pid_t pid[2];
		char c[16];

		enroll(f, "erin");
		code_at(f->b32, T0, 6, c);
		assert_int_equal(pipe(go), 0);
		for (i = 0; i < 2; i++) {
			pid[i] = fork();
			assert_true(pid[i] >= 0);
			if (pid[i] == 0) {
				char b;
				int rc;

				close(go[1]);
				if (read(go[0], &b, 1) != 0)
					_exit(99);
				rc = totp_store_verify(f->dir, "erin", c, T0,
				    &P);
				_exit(rc == TOTP_OK ? 0 :
				    rc == TOTP_REPLAY ? 1 : 2);
			}
		}
		close(go[0]);
		close(go[1]);		/* EOF releases both at once */
		for (i = 0; i < 2; i++) {
			int st;

			assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
			assert_true(WIFEXITED(st));
			if (WEXITSTATUS(st) == 0)
				ok++;
			else if (WEXITSTATUS(st) == 1)
				replay++;
		}
		assert_int_equal(ok, 1);
		assert_int_equal(replay, 1);
	}
}

static void
test_strerror(void **state)
{
	(void)state;
	assert_string_equal(totp_store_strerror(TOTP_REPLAY),
	    "code already used (replay)");
	assert_non_null(totp_store_strerror(12345));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_enroll_format, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_verify_and_replay, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_earlier_after_later,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_window_edges, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_codes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_no_secret, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_params, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_user_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_files, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_state, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_parallel_replay, setup,
		    teardown),
		cmocka_unit_test(test_strerror),
	};

	umask(077);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
