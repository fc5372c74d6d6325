/*
 * test_pam_module.c - the real pam_hvbastion.so, loaded by libpam from a
 * service file in a private directory (pam_start_confdir, as hvbastiond
 * does), answered by a conversation function: a good code, a wrong one, a
 * replay, a user with no secret, a bad module argument, an unsafe state
 * directory, and pam_faillock locking after three failures even when the
 * fourth code is right.
 *
 * The module is found next to this binary's directory: build/tests/../
 * pam_hvbastion.so, or build/san/tests/../pam_hvbastion.so for SAN=1.
 */
#include <sys/stat.h>

#include <libgen.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <time.h>
#include <cmocka.h>

#include <liboath/oath.h>
#include <security/pam_appl.h>

#include "unit_util.h"
#include "../../pam/totp_store.h"

#define SERVICE		"hvbastion"
#define FAILLOCK	"/usr/lib/x86_64-linux-gnu/security/pam_faillock.so"
/* A system account: pam_faillock ignores users getpwnam() does not know. */
#define SYSUSER		"daemon"

static char module_path[PATH_MAX];

struct fix {
	char	root[256];	/* everything below is inside it */
	char	conf[300];	/* the PAM directory */
	char	state[300];	/* the TOTP state directory */
	char	tally[300];	/* pam_faillock's */
	char	b32[64];
};

/* What the conversation answers and what it saw. */
struct answer {
	const char	*code;
	int		 prompts;	/* PAM_PROMPT_ECHO_OFF asked */
	int		 echo_on;	/* PAM_PROMPT_ECHO_ON asked */
	int		 infos;		/* error and info messages shown */
	char		 last_prompt[128];
};

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *arg)
{
	struct answer *a = arg;
	struct pam_response *r;
	int i;

	if (n <= 0 || n > PAM_MAX_NUM_MSG)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
			a->prompts++;
			snprintf(a->last_prompt, sizeof(a->last_prompt), "%s",
			    msg[i]->msg);
			r[i].resp = strdup(a->code != NULL ? a->code : "");
			break;
		case PAM_PROMPT_ECHO_ON:
			a->echo_on++;
			r[i].resp = strdup("");
			break;
		default:
			a->infos++;
			break;
		}
	}
	*resp = r;
	return PAM_SUCCESS;
}

/* libpam would sleep on failures (pam_faillock asks it to): not here. */
static void
no_delay(int retval, unsigned usec, void *arg)
{
	(void)retval;
	(void)usec;
	(void)arg;
}

static void
write_service(struct fix *f, const char *text)
{
	char path[PATH_MAX];

	assert_int_equal(unit_write_file(f->conf, SERVICE, text, strlen(text),
	    0644, path, sizeof(path)), 0);
}

/* The stack shipped in pam/hvbastion with paths made private. */
static void
write_shipped_stack(struct fix *f, const char *extra)
{
	char text[16384];

	snprintf(text, sizeof(text),
	    "auth requisite %s preauth dir=%s deny=3 fail_interval=900 "
	    "unlock_time=900\n"
	    "auth [success=2 default=bad] %s dir=%s%s\n"
	    "auth [default=die] %s authfail dir=%s deny=3 fail_interval=900 "
	    "unlock_time=900\n"
	    "auth requisite pam_deny.so\n"
	    "auth required pam_permit.so\n"
	    "account required %s dir=%s\n",
	    FAILLOCK, f->tally, module_path, f->state, extra,
	    FAILLOCK, f->tally, FAILLOCK, f->tally);
	write_service(f, text);
}

static int
setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (f == NULL || unit_mkdtemp(f->root, sizeof(f->root)) == NULL)
		return -1;
	chmod(f->root, 0700);
	snprintf(f->conf, sizeof(f->conf), "%s/pam.d", f->root);
	snprintf(f->state, sizeof(f->state), "%s/totp", f->root);
	snprintf(f->tally, sizeof(f->tally), "%s/faillock", f->root);
	if (mkdir(f->conf, 0700) != 0 || mkdir(f->state, 0700) != 0 ||
	    mkdir(f->tally, 0700) != 0)
		return -1;
	*state = f;
	write_shipped_stack(f, "");
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;

	unit_rmtree(f->conf);
	unit_rmtree(f->state);
	unit_rmtree(f->tally);
	unit_rmtree(f->root);
	free(f);
	return 0;
}

static void
current_code(const char *b32, char *out)
{
	char *raw = NULL;
	size_t rawlen = 0;

	assert_int_equal(oath_init(), OATH_OK);
	assert_int_equal(oath_base32_decode(b32, strlen(b32), &raw, &rawlen),
	    OATH_OK);
	assert_int_equal(oath_totp_generate(raw, rawlen, time(NULL), 30, 0,
	    6, out), OATH_OK);
	free(raw);
}

/* One authentication as hvbastiond does it: start, authenticate, acct. */
static int
login(struct fix *f, const char *user, struct answer *a, int *acct)
{
	struct pam_conv c = { conv, a };
	pam_handle_t *pamh = NULL;
	int rc;

	assert_int_equal(pam_start_confdir(SERVICE, user, &c, f->conf,
	    &pamh), PAM_SUCCESS);
	assert_int_equal(pam_set_item(pamh, PAM_FAIL_DELAY,
	    (const void *)no_delay), PAM_SUCCESS);
	rc = pam_authenticate(pamh, 0);
	if (acct != NULL)
		*acct = rc == PAM_SUCCESS ? pam_acct_mgmt(pamh, 0) : -1;
	pam_end(pamh, rc);
	return rc;
}

static void
enroll(struct fix *f, const char *user)
{
	assert_int_equal(totp_store_enroll(f->state, user, f->b32,
	    sizeof(f->b32)), TOTP_OK);
}

static void
test_success_then_replay(void **state)
{
	struct fix *f = *state;
	struct answer a = { 0 };
	char code[16];
	int acct;

	enroll(f, SYSUSER);
	current_code(f->b32, code);
	a.code = code;
	assert_int_equal(login(f, SYSUSER, &a, &acct), PAM_SUCCESS);
	assert_int_equal(acct, PAM_SUCCESS);
	assert_int_equal(a.prompts, 1);
	assert_int_equal(a.echo_on, 0);
	assert_string_equal(a.last_prompt, "Verification code: ");

	/* The same code again: refused. */
	memset(&a, 0, sizeof(a));
	a.code = code;
	assert_int_equal(login(f, SYSUSER, &a, NULL), PAM_AUTH_ERR);
	assert_int_equal(a.prompts, 1);
}

static void
test_spaces_accepted(void **state)
{
	struct fix *f = *state;
	struct answer a = { 0 };
	char code[16], spaced[16];

	enroll(f, "alice");
	current_code(f->b32, code);
	snprintf(spaced, sizeof(spaced), "%.3s %.3s", code, code + 3);
	a.code = spaced;
	assert_int_equal(login(f, "alice", &a, NULL), PAM_SUCCESS);
}

static void
test_wrong_code(void **state)
{
	struct fix *f = *state;
	struct answer a = { 0 };
	char code[16];

	enroll(f, "alice");
	current_code(f->b32, code);
	code[0] = code[0] == '9' ? '0' : code[0] + 1;
	a.code = code;
	assert_int_equal(login(f, "alice", &a, NULL), PAM_AUTH_ERR);
	memset(&a, 0, sizeof(a));
	a.code = "";
	assert_int_equal(login(f, "alice", &a, NULL), PAM_AUTH_ERR);
	memset(&a, 0, sizeof(a));
	a.code = "not a code at all, and rather long for one, too long";
	assert_int_equal(login(f, "alice", &a, NULL), PAM_AUTH_ERR);
}

static void
test_missing_secret(void **state)
{
	struct fix *f = *state;
	struct answer a = { 0 };

	a.code = "123456";
	assert_int_equal(login(f, "bob", &a, NULL), PAM_AUTH_ERR);
}

static void
test_bad_user(void **state)
{
	struct fix *f = *state;
	struct answer a = { 0 };

	a.code = "123456";
	assert_int_not_equal(login(f, "../etc", &a, NULL), PAM_SUCCESS);
	assert_int_equal(a.prompts, 0);
}

static void
test_bad_argument(void **state)
{
	struct fix *f = *state;
	struct answer a = { 0 };
	char text[16384], code[16];

	enroll(f, "alice");
	current_code(f->b32, code);
	a.code = code;
	snprintf(text, sizeof(text), "auth required %s dir=%s windw=2\n",
	    module_path, f->state);
	write_service(f, text);
	assert_int_equal(login(f, "alice", &a, NULL), PAM_SERVICE_ERR);
	snprintf(text, sizeof(text), "auth required %s dir=%s digits=7\n",
	    module_path, f->state);
	write_service(f, text);
	assert_int_equal(login(f, "alice", &a, NULL), PAM_SERVICE_ERR);
	assert_int_equal(a.prompts, 0);

	/* Good arguments: a prompt of our own, window=0. */
	snprintf(text, sizeof(text), "auth required %s dir=%s window=0 "
	    "digits=6 step=30 [prompt=Your code:] debug\n", module_path, f->state);
	write_service(f, text);
	assert_int_equal(login(f, "alice", &a, NULL), PAM_SUCCESS);
	assert_string_equal(a.last_prompt, "Your code:");
}

static void
test_unsafe_dir(void **state)
{
	struct fix *f = *state;
	struct answer a = { 0 };
	char code[16];

	enroll(f, "alice");
	current_code(f->b32, code);
	a.code = code;
	assert_int_equal(chmod(f->state, 0777), 0);
	assert_int_equal(login(f, "alice", &a, NULL), PAM_AUTH_ERR);
	assert_int_equal(a.prompts, 0);		/* refused before asking */
	assert_int_equal(chmod(f->state, 0700), 0);
	assert_int_equal(login(f, "alice", &a, NULL), PAM_SUCCESS);
}

static int
tally_exists(struct fix *f, const char *user)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", f->tally, user);
	return access(path, F_OK) == 0;
}

static void
test_faillock(void **state)
{
	struct fix *f = *state;
	struct answer a = { 0 };
	char code[16];
	int i;

	enroll(f, SYSUSER);
	for (i = 0; i < 3; i++) {
		memset(&a, 0, sizeof(a));
		a.code = "000000";	/* wrong, bar one chance in 10^6 */
		current_code(f->b32, code);
		if (strcmp(code, "000000") == 0)
			a.code = "111111";
		assert_int_equal(login(f, SYSUSER, &a, NULL), PAM_AUTH_ERR);
		assert_int_equal(a.prompts, 1);
	}
	assert_true(tally_exists(f, SYSUSER));
	/* Locked: the right code is not even asked for, and fails. */
	memset(&a, 0, sizeof(a));
	current_code(f->b32, code);
	a.code = code;
	assert_int_equal(login(f, SYSUSER, &a, NULL), PAM_AUTH_ERR);
	assert_int_equal(a.prompts, 0);
	/* Not consumed: the code still works once the tally is cleared. */
	unit_rmtree(f->tally);
	assert_int_equal(mkdir(f->tally, 0700), 0);
	memset(&a, 0, sizeof(a));
	a.code = code;
	assert_int_equal(login(f, SYSUSER, &a, NULL), PAM_SUCCESS);
}

/* pam_acct_mgmt after a success resets the tally: only consecutive
 * failures lock. */
static void
test_faillock_reset_by_success(void **state)
{
	struct fix *f = *state;
	struct answer a = { 0 };
	char code[16];
	int i, acct;

	enroll(f, SYSUSER);
	for (i = 0; i < 2; i++) {
		memset(&a, 0, sizeof(a));
		a.code = "not-a-code";
		assert_int_equal(login(f, SYSUSER, &a, NULL), PAM_AUTH_ERR);
	}
	memset(&a, 0, sizeof(a));
	current_code(f->b32, code);
	a.code = code;
	assert_int_equal(login(f, SYSUSER, &a, &acct), PAM_SUCCESS);
	assert_int_equal(acct, PAM_SUCCESS);
	for (i = 0; i < 2; i++) {
		memset(&a, 0, sizeof(a));
		a.code = "not-a-code";
		assert_int_equal(login(f, SYSUSER, &a, NULL), PAM_AUTH_ERR);
		assert_int_equal(a.prompts, 1);		/* not locked */
	}
}

/*
 * The password + TOTP stack of pam/README.md, with pam_permit and pam_deny
 * standing for a right and a wrong password: the code is asked only after
 * a right one, and a wrong password counts towards the lock.
 */
static void
write_password_stack(struct fix *f, const char *password_module)
{
	char text[16384];

	snprintf(text, sizeof(text),
	    "auth requisite %s preauth dir=%s\n"
	    "auth [success=ok default=1] %s\n"
	    "auth [success=2 default=bad] %s dir=%s\n"
	    "auth [default=die] %s authfail dir=%s\n"
	    "auth requisite pam_deny.so\n"
	    "auth required pam_permit.so\n"
	    "account required %s dir=%s\n",
	    FAILLOCK, f->tally, password_module, module_path, f->state,
	    FAILLOCK, f->tally, FAILLOCK, f->tally);
	write_service(f, text);
}

static void
test_password_stack(void **state)
{
	struct fix *f = *state;
	struct answer a = { 0 };
	char code[16];
	int i;

	enroll(f, SYSUSER);
	current_code(f->b32, code);
	write_password_stack(f, "pam_permit.so");
	a.code = code;
	assert_int_equal(login(f, SYSUSER, &a, NULL), PAM_SUCCESS);
	assert_int_equal(a.prompts, 1);
	memset(&a, 0, sizeof(a));
	a.code = code;				/* replayed */
	assert_int_equal(login(f, SYSUSER, &a, NULL), PAM_AUTH_ERR);

	write_password_stack(f, "pam_deny.so");
	for (i = 0; i < 2; i++) {
		memset(&a, 0, sizeof(a));
		a.code = code;
		assert_int_not_equal(login(f, SYSUSER, &a, NULL),
		    PAM_SUCCESS);
		assert_int_equal(a.prompts, 0);	/* no code asked */
	}
	/* Three failures in all (one replay, two passwords): locked. */
	write_password_stack(f, "pam_permit.so");
	enroll(f, SYSUSER);
	current_code(f->b32, code);
	memset(&a, 0, sizeof(a));
	a.code = code;
	assert_int_not_equal(login(f, SYSUSER, &a, NULL), PAM_SUCCESS);
	assert_int_equal(a.prompts, 0);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_success_then_replay,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_spaces_accepted, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_wrong_code, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_missing_secret, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_user, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_bad_argument, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_unsafe_dir, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_faillock, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_faillock_reset_by_success,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_password_stack, setup,
		    teardown),
	};
	char self[PATH_MAX], guess[PATH_MAX];

	(void)argc;
	/* dirname() may modify its argument: work on a copy. */
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(guess, sizeof(guess), "%s/../pam_hvbastion.so",
	    dirname(self));
	if (realpath(guess, module_path) == NULL) {
		fprintf(stderr, "%s: %s: not built (make)\n", argv[0], guess);
		return 1;
	}
	umask(077);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
