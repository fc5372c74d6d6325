/*
 * audit.c - the audit API (audit.h).  Its first sink is the daemon log: one
 * line per event, every value escaped, so that nothing a client typed can
 * forge a field or a line.  Issue 6 adds the spool to the log store,
 * libaudit and the local journal behind the same call.
 */
#include <stdio.h>

#include "audit.h"
#include "log.h"

static const char *const kind_names[] = {
	[AUDIT_AUTH_SUCCESS] = "auth-success",
	[AUDIT_AUTH_FAILURE] = "auth-failure",
	[AUDIT_SESSION_START] = "session-start",
	[AUDIT_SESSION_END] = "session-end",
	[AUDIT_CHANNEL] = "channel",
	[AUDIT_COMMAND] = "command",
	[AUDIT_FILE_TRANSFER] = "file-transfer",
	[AUDIT_API_CALL] = "api-call",
	[AUDIT_POLICY_DENIAL] = "policy-denial",
	[AUDIT_LOCKOUT] = "lockout",
	[AUDIT_TOTP_ENROL] = "totp-enrol",
	[AUDIT_CONFIG_RELOAD] = "config-reload",
};

const char *
audit_kind_name(enum audit_kind kind)
{
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]) ||
	    kind_names[kind] == NULL)
		return "unknown";
	return kind_names[kind];
}

/* Escaped value, or "-" for a missing one. */
static const char *
esc(char *buf, size_t len, const char *s)
{
	if (s == NULL || *s == '\0')
		return "-";
	return log_escape(buf, len, s);
}

int
audit_emit(const struct audit_event *ev)
{
	char person[128], role[128], src[80], target[128], login[128];
	char action[256], outcome[64], rule[512], sid[80], digest[160];
	char detail[512];

	if (ev == NULL)
		return -1;
	log_info("audit %s person=%s role=%s source=%s:%d target=%s login=%s"
	    " action=%s outcome=%s rule=%s session=%s digest=%s detail=%s",
	    audit_kind_name(ev->kind),
	    esc(person, sizeof(person), ev->person),
	    esc(role, sizeof(role), ev->role),
	    esc(src, sizeof(src), ev->source_addr), ev->source_port,
	    esc(target, sizeof(target), ev->target),
	    esc(login, sizeof(login), ev->login),
	    esc(action, sizeof(action), ev->action),
	    esc(outcome, sizeof(outcome), ev->outcome),
	    esc(rule, sizeof(rule), ev->rule),
	    esc(sid, sizeof(sid), ev->session_id),
	    esc(digest, sizeof(digest), ev->recording_digest),
	    esc(detail, sizeof(detail), ev->detail));
	return 0;
}
