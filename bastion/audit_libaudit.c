/*
 * audit_libaudit.c - events as Linux audit user records (audit_libaudit.h).
 *
 * Record types: an authentication is USER_AUTH then USER_LOGIN, a session
 * USER_START / USER_END and USER_LOGOUT, a command USER_CMD, a lockout
 * ANOM_LOGIN_FAILURES and RESP_ACCT_LOCK_TIMED, a policy denial USER_ACCT
 * (res=failed, as pam_acct_mgmt's refusals are), a configuration reload
 * USYS_CONFIG, and channels, file transfers, API calls and TOTP enrolment
 * TRUSTED_APP.  Every value a client chose goes through
 * audit_encode_nv_string() (hex when it holds anything unsafe).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libaudit.h>

#include "audit_commit.h"
#include "audit_libaudit.h"
#include "log.h"

static int	 audit_fd = -1;
static pid_t	 audit_pid;
static int	 unsupported;

/* One socket per process: a netlink socket shared across fork() would
 * mix up the kernel's acknowledgements. */
static int
get_fd(void)
{
	if (unsupported)
		return -2;
	if (audit_fd >= 0 && audit_pid == audit_commit_self())
		return audit_fd;
	audit_fd = audit_open();
	if (audit_fd < 0) {
		if (errno == EINVAL || errno == EPROTONOSUPPORT ||
		    errno == EAFNOSUPPORT) {
			log_info("the kernel has no audit support: events go"
			    " to the spool and the journal only");
			unsupported = 1;
			return -2;
		}
		log_error("audit_open: %s: refusing", strerror(errno));
		return -1;
	}
	audit_pid = audit_commit_self();
	return audit_fd;
}

int
audit_libaudit_prepare(void)
{
	return get_fd() == -1 ? -1 : 0;
}

/* "key=value" with the value encoded by libaudit, appended to buf. */
static void
add_nv(char *buf, size_t len, const char *key, const char *value)
{
	char *nv;
	size_t o = strlen(buf);

	if (value == NULL || *value == '\0')
		return;
	if ((nv = audit_encode_nv_string(key, value, 0)) == NULL)
		return;
	snprintf(buf + o, len - o, "%s%s", o > 0 ? " " : "", nv);
	free(nv);
}

static int
send_msg(int fd, int type, const char *op, const struct audit_event *ev,
    const char *program, int ok)
{
	char msg[2048];
	int rc;

	msg[0] = '\0';
	snprintf(msg, sizeof(msg), "op=%s", op);
	add_nv(msg, sizeof(msg), "acct", ev->person);
	add_nv(msg, sizeof(msg), "role", ev->role);
	add_nv(msg, sizeof(msg), "target", ev->target);
	add_nv(msg, sizeof(msg), "login", ev->login);
	add_nv(msg, sizeof(msg), "action", ev->action);
	add_nv(msg, sizeof(msg), "rule", ev->rule);
	add_nv(msg, sizeof(msg), "session", ev->session_id);
	add_nv(msg, sizeof(msg), "detail", ev->detail);
	add_nv(msg, sizeof(msg), "exe_name", program);
	rc = audit_log_user_message(fd, type, msg, NULL, ev->source_addr,
	    "ssh", ok);
	if (rc < 0 && !(errno == EPERM && geteuid() != 0) &&
	    errno != ECONNREFUSED) {
		log_error("audit_log_user_message: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int
audit_libaudit_emit(const struct audit_event *ev, const char *program)
{
	int fd, ok, rc = 0;

	if ((fd = get_fd()) == -2)
		return 0;
	if (fd < 0)
		return -ENOMEM;
	/* res=failed for what did not happen or went wrong. */
	ok = !audit_outcome_failed(ev->outcome);
	switch (ev->kind) {
	case AUDIT_AUTH_SUCCESS:
	case AUDIT_AUTH_FAILURE:
		ok = ev->kind == AUDIT_AUTH_SUCCESS;
		rc = send_msg(fd, AUDIT_USER_AUTH, "authentication", ev,
		    program, ok);
		if (rc == 0)
			rc = send_msg(fd, AUDIT_USER_LOGIN, "login", ev,
			    program, ok);
		break;
	case AUDIT_SESSION_START:
		rc = send_msg(fd, AUDIT_USER_START, "session_open", ev, program,
		    ok);
		break;
	case AUDIT_SESSION_END:
		rc = send_msg(fd, AUDIT_USER_END, "session_close", ev, program,
		    1);
		if (rc == 0)
			rc = send_msg(fd, AUDIT_USER_LOGOUT, "logout", ev,
			    program, 1);
		break;
	case AUDIT_COMMAND:
		rc = send_msg(fd, AUDIT_USER_CMD, "command", ev, program, ok);
		break;
	case AUDIT_LOCKOUT:
		rc = send_msg(fd, AUDIT_ANOM_LOGIN_FAILURES, "login_failures",
		    ev, program, 0);
		if (rc == 0)
			rc = send_msg(fd, AUDIT_RESP_ACCT_LOCK_TIMED,
			    "lock_timed", ev, program, 1);
		break;
	case AUDIT_POLICY_DENIAL:
		rc = send_msg(fd, AUDIT_USER_ACCT, "policy", ev, program, 0);
		break;
	case AUDIT_CONFIG_RELOAD:
		rc = send_msg(fd, AUDIT_USYS_CONFIG, "config_reload", ev,
		    program, ok);
		break;
	default:
		rc = send_msg(fd, AUDIT_TRUSTED_APP, audit_kind_name(ev->kind),
		    ev, program, ok);
		break;
	}
	return rc;
}
