/*
 * audit.c - the audit API (audit.h).  One call records an event in every
 * sink: the daemon log (one line, every value escaped), then, once
 * audit_configure() has run, the hash-chained local journal and the spool
 * that the shipper delivers to the log store (audit_spool.c: both on disk
 * before this returns), then libaudit (audit_libaudit.c).
 *
 * Values are encoded once here (audit_fmt_value(): no control byte, no
 * invalid UTF-8, '%' as %25) and bounded, so that the journal, the spool
 * and every message made from them carry no byte a client could use to
 * forge a field or a line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit.h"
#include "audit_commit.h"
#include "audit_fmt.h"
#include "audit_libaudit.h"
#include "audit_spool.h"
#include "config.h"
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

int
audit_outcome_failed(const char *o)
{
	return o != NULL && (strstr(o, "fail") != NULL ||
	    strstr(o, "denied") != NULL || strstr(o, "refused") != NULL ||
	    strstr(o, "locked") != NULL || strstr(o, "error") != NULL ||
	    strstr(o, "interrupted") != NULL);
}

const char *
audit_kind_name(enum audit_kind kind)
{
	if ((unsigned)kind >= sizeof(kind_names) / sizeof(kind_names[0]) ||
	    kind_names[kind] == NULL)
		return "unknown";
	return kind_names[kind];
}

/* --- the durable sinks ------------------------------------------------ */

static struct {
	int			configured;
	int			libaudit;
	char			node[256];
	char			program[32];
	struct audit_spool_conf	spool;
	unsigned long long	last_seq;
} sinks;

int
audit_configure(const struct config *conf, const char *program)
{
	int rc;

	memset(&sinks, 0, sizeof(sinks));
	if ((rc = audit_spool_init(&sinks.spool, conf->state_dir,
	    conf->audit_collector != NULL)) < 0) {
		log_error("audit: %s/%s: %s", conf->state_dir,
		    AUDIT_SPOOL_SUBDIR, strerror(-rc));
		return rc;
	}
	if (conf->audit_collector == NULL)
		sinks.spool.mode = AUDIT_SPOOL_NONE;
	else if (conf->audit_spool_full == AUDIT_SPOOL_FULL_ALLOW)
		sinks.spool.mode = AUDIT_SPOOL_ALLOW;
	else
		sinks.spool.mode = AUDIT_SPOOL_REFUSE;
	sinks.spool.max = conf->audit_spool_max;
	snprintf(sinks.node, sizeof(sinks.node), "%s",
	    conf->audit_node_name ? conf->audit_node_name : "-");
	snprintf(sinks.program, sizeof(sinks.program), "%s", program);
	sinks.libaudit = !conf->audit_libaudit_off;
	sinks.configured = 1;
	return 0;
}

int
audit_prepare_sandbox(void)
{
	int rc;

	if (!sinks.configured)
		return 0;
	if ((rc = audit_spool_hold(&sinks.spool)) < 0) {
		log_error("audit: %s: %s", sinks.spool.dir, strerror(-rc));
		return rc;
	}
	if (sinks.libaudit && audit_libaudit_prepare() < 0)
		return -1;
	return 0;
}

unsigned long long
audit_last_seq(void)
{
	return sinks.last_seq;
}

/* Ends of things already running may use the spool's reserve. */
static int
is_reserve(enum audit_kind k)
{
	return k == AUDIT_SESSION_END || k == AUDIT_LOCKOUT ||
	    k == AUDIT_CONFIG_RELOAD || k == AUDIT_AUTH_FAILURE ||
	    k == AUDIT_POLICY_DENIAL;
}

static int
set_value_n(json_t *o, const char *key, const char *s, size_t n, size_t max)
{
	char buf[AUDIT_FMT_DETAIL_MAX + 1];

	if (s == NULL || n == 0)
		return 0;
	audit_fmt_value(buf, max + 1, s, n, 0);
	return json_object_set_new(o, key, json_string(buf));
}

static int
set_value(json_t *o, const char *key, const char *s, size_t max)
{
	char buf[AUDIT_FMT_DETAIL_MAX + 1];

	if (s == NULL || *s == '\0')
		return 0;
	audit_fmt_value(buf, max + 1, s, strlen(s), 0);
	return json_object_set_new(o, key, json_string(buf));
}

static json_t *
record(const struct audit_event *ev)
{
	struct timespec ts;
	struct tm tm;
	char when[64], date[32];
	json_t *o = json_object();
	int bad = 0;

	if (o == NULL)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(when, sizeof(when), "%s.%06ldZ", date, ts.tv_nsec / 1000);
	bad |= json_object_set_new(o, "time", json_string(when));
	bad |= json_object_set_new(o, "node", json_string(sinks.node));
	bad |= json_object_set_new(o, "program", json_string(sinks.program));
	bad |= json_object_set_new(o, "pid", json_integer(audit_commit_self()));
	bad |= json_object_set_new(o, "kind",
	    json_string(audit_kind_name(ev->kind)));
	bad |= set_value(o, "person", ev->person, AUDIT_FMT_FIELD_MAX);
	bad |= set_value(o, "role", ev->role, AUDIT_FMT_FIELD_MAX);
	bad |= set_value(o, "source", ev->source_addr, AUDIT_FMT_FIELD_MAX);
	if (ev->source_port > 0)
		bad |= json_object_set_new(o, "source_port",
		    json_integer(ev->source_port));
	bad |= set_value(o, "target", ev->target, AUDIT_FMT_FIELD_MAX);
	bad |= set_value(o, "login", ev->login, AUDIT_FMT_FIELD_MAX);
	bad |= set_value(o, "action", ev->action, AUDIT_FMT_FIELD_MAX);
	bad |= set_value(o, "outcome", ev->outcome, AUDIT_FMT_FIELD_MAX);
	bad |= set_value(o, "rule", ev->rule, AUDIT_FMT_FIELD_MAX);
	bad |= set_value(o, "session", ev->session_id, AUDIT_FMT_FIELD_MAX);
	bad |= set_value(o, "digest", ev->recording_digest,
	    AUDIT_FMT_FIELD_MAX);
	bad |= set_value_n(o, "detail", ev->detail, ev->detail == NULL ? 0 :
	    ev->detail_len ? ev->detail_len : strlen(ev->detail),
	    AUDIT_FMT_DETAIL_MAX);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
durable_sinks(const struct audit_event *ev)
{
	uint64_t seq = 0;
	json_t *rec;
	int rc;

	if ((rec = record(ev)) == NULL)
		return -ENOMEM;
	rc = audit_spool_append(&sinks.spool, rec, is_reserve(ev->kind), &seq);
	json_decref(rec);
	if (rc == -ENOSPC || rc == 1)
		log_error("ALERT: the audit spool in %s is full (more than"
		    " %lld bytes not delivered to the log store): %s",
		    sinks.spool.dir, sinks.spool.max, rc == 1 ?
		    "event recorded anyway (audit-spool-full allow)" :
		    "event refused, new sessions are refused");
	else if (rc < 0)
		log_error("audit: cannot record the event in %s: %s",
		    sinks.spool.dir, strerror(-rc));
	if (rc < 0)
		return rc;
	sinks.last_seq = seq;
	if (sinks.libaudit && (rc = audit_libaudit_emit(ev,
	    sinks.program)) < 0)
		return rc;
	return 0;
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
	if (!sinks.configured)
		return 0;
	return durable_sinks(ev);
}
