/*
 * pam_hvbastion.c - the PAM module pam_hvbastion.so: a TOTP code (RFC 6238)
 * asked through the PAM conversation and checked against the per-user state
 * of totp_store.c.  Arguments and files: pam_hvbastion(8).
 *
 * Fails closed: a user with no secret, an unsafe state directory or file,
 * a conversation that breaks, any argument we do not know, all end in a
 * failure and a log line that says which.  Lockout is not done here but by
 * pam_faillock around this module in the service file (pam/hvbastion), so
 * that it also counts failures of whatever else a site stacks there.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#define PAM_SM_AUTH
#include <security/pam_modules.h>
#include <security/pam_ext.h>

#include "totp_store.h"

#define DEFAULT_DIR	"/var/lib/hvbastion/totp"
#define DEFAULT_PROMPT	"Verification code: "
#define PROMPT_MAX	128
#define RESPONSE_MAX	64	/* longer is not a code; do not copy it */

struct args {
	const char		*dir;
	const char		*prompt;
	struct totp_params	 p;
	int			 debug;
};

/* A decimal in [lo, hi], the whole string; nothing else. */
static int
parse_uint(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

/* Every argument understood or the module refuses to run: a typo in a
 * security setting must not silently fall back to a default. */
static int
parse_args(pam_handle_t *pamh, int argc, const char **argv, struct args *a)
{
	long v;
	int i, bad = 0;

	a->dir = DEFAULT_DIR;
	a->prompt = DEFAULT_PROMPT;
	a->p.digits = 6;
	a->p.step = 30;
	a->p.window = 1;
	a->debug = 0;
	for (i = 0; i < argc; i++) {
		const char *s = argv[i];

		if (strncmp(s, "dir=", 4) == 0 && s[4] == '/' &&
		    strlen(s + 4) < PATH_MAX)
			a->dir = s + 4;
		else if (strncmp(s, "window=", 7) == 0 &&
		    parse_uint(s + 7, 0, 10, &v) == 0)
			a->p.window = (int)v;
		else if (strncmp(s, "digits=", 7) == 0 &&
		    (strcmp(s + 7, "6") == 0 || strcmp(s + 7, "8") == 0))
			a->p.digits = (unsigned)(s[7] - '0');
		else if (strncmp(s, "step=", 5) == 0 &&
		    parse_uint(s + 5, 1, 3600, &v) == 0)
			a->p.step = (unsigned)v;
		else if (strncmp(s, "prompt=", 7) == 0 && s[7] != '\0' &&
		    strlen(s + 7) < PROMPT_MAX)
			a->prompt = s + 7;
		else if (strcmp(s, "debug") == 0)
			a->debug = 1;
		else {
			pam_syslog(pamh, LOG_ERR, "unknown or invalid module "
			    "argument: %s", s);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/* Authenticator apps show "123 456"; people type what they see. */
static void
strip_spaces(char *s)
{
	char *w = s;

	for (; *s != '\0'; s++)
		if (*s != ' ')
			*w++ = *s;
	*w = '\0';
}

static int
result_to_pam(int rc)
{
	switch (rc) {
	case TOTP_OK:
		return PAM_SUCCESS;
	case TOTP_BAD_CODE:
	case TOTP_REPLAY:
	case TOTP_NO_SECRET:
	case TOTP_UNSAFE:
		return PAM_AUTH_ERR;
	default:
		return PAM_AUTHINFO_UNAVAIL;
	}
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc,
    const char **argv)
{
	struct args a;
	const char *user = NULL;
	char *resp = NULL, code[RESPONSE_MAX + 1], err[PATH_MAX + 128];
	size_t n;
	int rc, trc, e;

	(void)flags;
	code[0] = '\0';
	if (parse_args(pamh, argc, argv, &a) != 0)
		return PAM_SERVICE_ERR;
	if ((rc = pam_get_user(pamh, &user, NULL)) != PAM_SUCCESS) {
		pam_syslog(pamh, LOG_ERR, "cannot get the user name: %s",
		    pam_strerror(pamh, rc));
		return rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : rc;
	}
	/* Not logged as given: it may carry control bytes or a path. */
	/* Checked first, so that an invalid name never reaches the log. */
	if (!totp_store_valid_user(user)) {
		pam_syslog(pamh, LOG_NOTICE, "refused: invalid user name");
		return PAM_USER_UNKNOWN;
	}
	/*
	 * The directory is checked before anyone is asked for a code, so
	 * that a broken installation says so at once rather than after
	 * each user typed a code.
	 */
	if ((trc = totp_store_check_dir(a.dir, err, sizeof(err))) !=
	    TOTP_OK) {
		pam_syslog(pamh, LOG_ERR, "user %s: refused: %s: %s", user,
		    totp_store_strerror(trc), err);
		return result_to_pam(trc);
	}

	rc = pam_prompt(pamh, PAM_PROMPT_ECHO_OFF, &resp, "%s", a.prompt);
	if (rc != PAM_SUCCESS || resp == NULL) {
		pam_syslog(pamh, LOG_NOTICE, "user %s: no code: conversation "
		    "failed: %s", user, pam_strerror(pamh, rc));
		rc = rc == PAM_CONV_AGAIN ? PAM_INCOMPLETE : PAM_CONV_ERR;
		goto out;
	}
	n = strnlen(resp, RESPONSE_MAX + 1);
	if (n > RESPONSE_MAX)
		n = 0;		/* not a code: checked as the empty one */
	memcpy(code, resp, n);
	code[n] = '\0';
	strip_spaces(code);

	trc = totp_store_verify(a.dir, user, code, time(NULL), &a.p);
	e = errno;
	rc = result_to_pam(trc);
	switch (trc) {
	case TOTP_OK:
		if (a.debug)
			pam_syslog(pamh, LOG_DEBUG, "user %s: code accepted",
			    user);
		break;
	case TOTP_NO_SECRET:
		pam_syslog(pamh, LOG_NOTICE, "user %s: refused: no TOTP "
		    "secret enrolled in %s (hvbastion totp enroll %s)", user,
		    a.dir, user);
		break;
	case TOTP_UNSAFE:
		pam_syslog(pamh, LOG_ERR, "user %s: refused: unsafe state "
		    "file %s/%s or its lock (symlink, links, owner or mode); "
		    "not read", user, a.dir, user);
		break;
	case TOTP_ERROR:
		pam_syslog(pamh, LOG_ERR, "user %s: refused: TOTP state "
		    "%s/%s: %s", user, a.dir, user, strerror(e));
		break;
	default:
		pam_syslog(pamh, LOG_NOTICE, "user %s: refused: %s", user,
		    totp_store_strerror(trc));
		break;
	}
out:
	explicit_bzero(code, sizeof(code));
	if (resp != NULL) {
		explicit_bzero(resp, strlen(resp));
		free(resp);
	}
	return rc;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
