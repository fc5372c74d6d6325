/*
 * forward.c - a client's port forward (forward.h).
 *
 * The shape follows bridge.c's running state, without pty, requests or
 * exit status: two pumps with window back-pressure, a SHA-256 of each
 * direction, EOF passed on once what was read is written, and the end
 * recorded before the channel is freed.  Nothing is stored but digests and
 * counts: a forward usually carries another protocol (often TLS) that the
 * bastion cannot read anyway; what it can guarantee is who opened what, to
 * where, under which rule, and how much went each way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libssh/callbacks.h>
#include <openssl/evp.h>

#include "../policy/policy.h"
#include "../recorder/chain.h"
#include "audit.h"
#include "channel_end.h"
#include "forward.h"
#include "kh_client.h"
#include "log.h"
#include "pump.h"
#include "session.h"

#define FORWARD_HOST_MAX	255	/* a DNS name at most */

struct forward {
	struct session		*sess;
	int			 id;
	ssh_channel		 down, up;
	struct upstream		*upstream;
	const struct config_target	*target;
	const struct config_credential	*credential;
	char			 host[FORWARD_HOST_MAX + 1];
	int			 port;
	char			 rule[512];
	struct ssh_channel_callbacks_struct down_cb, up_cb;
	struct pump_end		 down_end, up_end;
	struct pump		 to_up, to_down;
	EVP_MD_CTX		*md[2];		/* to the target, to the client */
	int			 eof_sent_up, eof_sent_down, done;
	int			 record_failed;
	uint32_t		 last_win_down, last_win_up;
	struct timespec		 started;
};

/* --- taps ---------------------------------------------- */

static void
digest(struct forward *f, int which, const void *buf, size_t len)
{
	if (f->md[which] != NULL &&
	    EVP_DigestUpdate(f->md[which], buf, len) != 1) {
		EVP_MD_CTX_free(f->md[which]);
		f->md[which] = NULL;
		f->record_failed = 1;	/* a digest we cannot finish */
	}
}

static int
tap_up(void *arg, const void *buf, size_t len, enum pump_stream s)
{
	(void)s;
	digest(arg, 0, buf, len);
	return 0;
}

static int
tap_down(void *arg, const void *buf, size_t len, enum pump_stream s)
{
	(void)s;
	digest(arg, 1, buf, len);
	return 0;
}

/*
 * See bridge.c: these only tell the loop that something arrived, so it
 * passes again before it sleeps; the data stays in libssh's buffer.
 */
static int
on_data(ssh_session s, ssh_channel c, void *data, uint32_t len, int is_stderr,
    void *arg)
{
	struct forward *f = arg;

	(void)s; (void)c; (void)data; (void)len; (void)is_stderr;
	f->sess->activity++;
	return 0;
}

static void
on_eof_or_close(ssh_session s, ssh_channel c, void *arg)
{
	struct forward *f = arg;

	(void)s; (void)c;
	f->sess->activity++;
}

/* --- recording ------------------------------------------------------------ */

static void
log_event(struct forward *f, const char *what, json_t *ev)
{
	if (ev == NULL) {
		f->record_failed = 1;
		return;
	}
	json_object_set_new(ev, "event", json_string(what));
	json_object_set_new(ev, "channel", json_integer(f->id));
	if (session_log_write(f->sess->log, ev) < 0)
		f->record_failed = 1;
}

static void
destination(const char *host, int port, char *buf, size_t len)
{
	/* An IPv6 literal in brackets, as the grammar writes it. */
	if (strchr(host, ':') != NULL)
		snprintf(buf, len, "[%s]:%d", host, port);
	else
		snprintf(buf, len, "%s:%d", host, port);
}

/*
 * A forward's event in the audit trail (audit.h), from its fields: a
 * refused forward has no struct forward.  cred is NULL until the policy
 * chose one; the login asked for stands in for it then.
 */
static int
audit_forward(const struct session *s, const struct config_credential *cred,
    const char *host, int port, enum audit_kind kind, const char *outcome,
    const char *rule)
{
	struct audit_event ev;
	char dest[FORWARD_HOST_MAX + 16];

	destination(host, port, dest, sizeof(dest));
	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.person = s->auth.user->name;
	ev.source_addr = s->peer_addr;
	ev.source_port = s->peer_port;
	ev.target = s->auth.choice.target[0] != '\0' ?
	    s->auth.choice.target : NULL;
	ev.login = cred != NULL ? cred->login : s->auth.choice.login;
	ev.action = "port-forward";
	ev.outcome = outcome;
	ev.rule = rule;
	ev.session_id = s->id;
	ev.detail = dest;
	return audit_emit(&ev);
}

/* An open (or opening) forward's channel event. */
static int
audit_channel(const struct forward *f, const char *outcome)
{
	return audit_forward(f->sess, f->credential, f->host, f->port,
	    AUDIT_CHANNEL, outcome, f->rule);
}

static void
finish(struct forward *f)
{
	static const char *keys[2] = { "sha256_to_target", "sha256_to_client" };
	unsigned char md[EVP_MAX_MD_SIZE];
	char hx[2 * EVP_MAX_MD_SIZE + 1], dest[FORWARD_HOST_MAX + 16];
	unsigned int i, n;
	json_t *ev;
	struct timespec now;

	if (f->done)
		return;
	f->done = 1;
	if (!ssh_channel_is_closed(f->down)) {
		if (!f->eof_sent_down)
			ssh_channel_send_eof(f->down);
		ssh_channel_close(f->down);
	}
	if (f->up != NULL && !ssh_channel_is_closed(f->up))
		ssh_channel_close(f->up);
	clock_gettime(CLOCK_MONOTONIC, &now);
	destination(f->host, f->port, dest, sizeof(dest));
	ev = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:f, s:s}",
	    "kind", "port-forward", "target", f->target->name,
	    "login", f->credential->login, "destination", dest,
	    "bytes_to_target", (json_int_t)f->to_up.bytes[0],
	    "bytes_to_client", (json_int_t)f->to_down.bytes[0],
	    "duration", (double)(now.tv_sec - f->started.tv_sec) +
	    (double)(now.tv_nsec - f->started.tv_nsec) / 1e9,
	    "outcome", f->record_failed ? "recording-failed" : "completed");
	for (i = 0; i < 2 && ev != NULL; i++) {
		if (f->md[i] == NULL ||
		    EVP_DigestFinal_ex(f->md[i], md, &n) != 1)
			continue;
		chain_hex(md, n, hx);
		json_object_set_new(ev, keys[i], json_string(hx));
	}
	log_event(f, "channel_end", ev);
	session_log_sync(f->sess->log);
	log_info("session %s channel %d: forward to %s through %s ended"
	    " (%llu bytes to the target, %llu back)", f->sess->id, f->id,
	    dest, f->target->name, (unsigned long long)f->to_up.bytes[0],
	    (unsigned long long)f->to_down.bytes[0]);
	audit_channel(f, f->record_failed ? "recording-failed" : "closed");
}

/* --- opening --------------------------------------------------------------- */

static void
refuse_open(struct session *s, ssh_message msg, const char *host, int port,
    const char *why, const char *rule)
{
	audit_forward(s, NULL, host, port, AUDIT_POLICY_DENIAL, "denied",
	    rule != NULL ? rule : why);
	/* SSH2_OPEN_ADMINISTRATIVELY_PROHIBITED, as OpenSSH's sshd says. */
	ssh_message_reply_default(msg);
}

/* The host as the client sent it, if it is one we may log and match. */
static int
safe_host(const char *h)
{
	size_t n;

	if (h == NULL || (n = strlen(h)) == 0 || n > FORWARD_HOST_MAX)
		return 0;
	for (; *h != '\0'; h++)
		if (!((*h >= 'a' && *h <= 'z') || (*h >= 'A' && *h <= 'Z') ||
		    (*h >= '0' && *h <= '9') || strchr(".-_:%", *h) != NULL))
			return 0;
	return 1;
}

static int
open_upstream(struct forward *f, const char *orig, int orig_port)
{
	ssh_session up = f->upstream->ssh;
	int rc;

	ssh_set_blocking(up, 1);
	rc = (f->up = ssh_channel_new(up)) != NULL &&
	    ssh_channel_open_forward(f->up, f->host, f->port,
	    orig != NULL ? orig : "127.0.0.1", orig_port) == SSH_OK ? 0 : -1;
	if (rc < 0)
		log_info("session %s: target %s refused the forward to %s"
		    " port %d: %s", f->sess->id, f->target->name, f->host,
		    f->port, ssh_get_error(up));
	ssh_set_blocking(up, 0);
	return rc;
}

static int
start_pumps(struct forward *f)
{
	int i;

	for (i = 0; i < 2; i++)
		if ((f->md[i] = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(f->md[i], EVP_sha256(), NULL) != 1)
			return -1;
	channel_end_init(&f->down_end, f->down);
	channel_end_init(&f->up_end, f->up);
	pump_init(&f->to_up, &f->down_end, &f->up_end, 1, tap_up, f);
	pump_init(&f->to_down, &f->up_end, &f->down_end, 1, tap_down, f);
	memset(&f->down_cb, 0, sizeof(f->down_cb));
	f->down_cb.userdata = f;
	f->down_cb.channel_data_function = on_data;
	f->down_cb.channel_eof_function = on_eof_or_close;
	f->down_cb.channel_close_function = on_eof_or_close;
	ssh_callbacks_init(&f->down_cb);
	ssh_set_channel_callbacks(f->down, &f->down_cb);
	f->up_cb = f->down_cb;
	ssh_callbacks_init(&f->up_cb);
	ssh_set_channel_callbacks(f->up, &f->up_cb);
	return 0;
}

struct forward *
forward_open(struct session *s, ssh_message msg, int id)
{
	const char *host = ssh_message_channel_request_open_destination(msg);
	int port = ssh_message_channel_request_open_destination_port(msg);
	const char *orig = ssh_message_channel_request_open_originator(msg);
	int orig_port = ssh_message_channel_request_open_originator_port(msg);
	struct policy_request req;
	struct policy_decision d;
	struct forward *f;
	char esc[FORWARD_HOST_MAX * 4 + 1], why[512];
	json_t *ev;

	if (!safe_host(host) || port <= 0 || port > 65535) {
		log_info("session %s: %s asked to forward to a malformed"
		    " destination %s port %d; refused", s->id,
		    s->auth.user->name, log_escape(esc, sizeof(esc),
		    host != NULL ? host : ""), port);
		refuse_open(s, msg, "?", port, "malformed destination", NULL);
		return NULL;
	}
	if (s->auth.choice.target[0] == '\0') {
		/* ProxyJump (-J) lands here: the inner SSH connection would
		 * pass unrecorded, so it is refused. */
		log_info("session %s: %s asked to forward to %s port %d"
		    " without naming a target in the login; refused (use"
		    " %s+TARGET@bastion; ProxyJump is not supported)", s->id,
		    s->auth.user->name, host, port, s->auth.user->name);
		refuse_open(s, msg, host, port, "no target named in the login"
		    " (ProxyJump is not supported)", NULL);
		return NULL;
	}
	memset(&req, 0, sizeof(req));
	req.person = s->auth.user->name;
	req.target = s->auth.choice.target;
	req.login = s->auth.choice.login;
	req.channel = POLICY_CHANNEL_FORWARD;
	req.forward_host = host;
	req.forward_port = port;
	req.source = s->peer_addr;
	policy_decide(s->conf, &req, &d);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:s}",
	    "target", s->auth.choice.target, "login",
	    s->auth.choice.login[0] ? s->auth.choice.login : "(default)",
	    "kind", "port-forward", "destination_host", host,
	    "destination_port", port, "originator", orig != NULL ? orig : "",
	    "source", s->peer_addr, "decision", d.allow ? "allow" : "deny",
	    "rule", d.rule);
	if (ev != NULL) {
		json_object_set_new(ev, "event", json_string("decision"));
		json_object_set_new(ev, "channel", json_integer(id));
	}
	/* Fail closed: a decision that cannot be recorded opens nothing. */
	if (session_log_write(s->log, ev) < 0) {
		log_error("session %s: forward decision not recorded; refused",
		    s->id);
		refuse_open(s, msg, host, port, "recording failed", d.rule);
		return NULL;
	}
	log_info("session %s channel %d: %s %s port-forward to %s port %d"
	    " through %s from %s: %s", s->id, id, d.allow ? "allow" : "deny",
	    s->auth.user->name, host, port, s->auth.choice.target,
	    s->peer_addr, d.rule);
	if (!d.allow) {
		refuse_open(s, msg, host, port, "not granted", d.rule);
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		ssh_message_reply_default(msg);
		return NULL;
	}
	f->sess = s;
	f->id = id;
	f->target = d.target;
	f->credential = d.credential;
	snprintf(f->host, sizeof(f->host), "%s", host);
	f->port = port;
	snprintf(f->rule, sizeof(f->rule), "%s", d.rule);
	clock_gettime(CLOCK_MONOTONIC, &f->started);
	kh_client_forward(host, port);	/* the key holder decides on it */
	f->upstream = session_upstream(s, d.target, d.credential, why,
	    sizeof(why));
	kh_client_forward(NULL, 0);
	if (f->upstream == NULL || open_upstream(f, orig, orig_port) < 0) {
		audit_channel(f, "target-refused");
		ssh_message_reply_default(msg);
		forward_free(f);
		return NULL;
	}
	/* Fail closed: a forward the audit trail cannot record is refused. */
	if (audit_channel(f, "opened") < 0) {
		ssh_message_reply_default(msg);
		forward_free(f);
		return NULL;
	}
	if ((f->down = ssh_message_channel_request_open_reply_accept(msg)) ==
	    NULL || start_pumps(f) < 0) {
		forward_free(f);
		return NULL;
	}
	return f;
}

/* --- running ---------------------------------------------------------------- */

int
forward_step(struct forward *f)
{
	long r1, r2 = 0;

	if (f->done)
		return 1;
	r1 = ssh_channel_is_closed(f->down) ? 0 : pump_step(&f->to_down);
	if (!ssh_channel_is_closed(f->up) && !f->eof_sent_up)
		r2 = pump_step(&f->to_up);
	if (r1 > 0 || r2 > 0)
		f->sess->activity++;
	f->last_win_down = ssh_channel_window_size(f->down);
	f->last_win_up = ssh_channel_window_size(f->up);
	if (r1 < 0 || r2 < 0 || f->record_failed ||
	    ssh_channel_is_closed(f->down)) {
		finish(f);
		return 1;
	}
	if (!f->eof_sent_up && ssh_channel_is_eof(f->down) &&
	    pump_drained(&f->to_up)) {
		ssh_channel_send_eof(f->up);
		f->eof_sent_up = 1;
	}
	if (!f->eof_sent_down && ssh_channel_is_eof(f->up) &&
	    pump_drained(&f->to_down)) {
		ssh_channel_send_eof(f->down);
		f->eof_sent_down = 1;
	}
	if ((ssh_channel_is_closed(f->up) && pump_drained(&f->to_down) &&
	    ssh_channel_poll(f->up, 0) <= 0) ||
	    !ssh_is_connected(f->upstream->ssh)) {
		finish(f);
		return 1;
	}
	return 0;
}

int
forward_window_grew(const struct forward *f)
{
	if (f->done || f->down == NULL || f->up == NULL)
		return 0;
	return ssh_channel_window_size(f->down) > f->last_win_down ||
	    ssh_channel_window_size(f->up) > f->last_win_up;
}

ssh_channel
forward_down_channel(const struct forward *f)
{
	return f->down;
}

void
forward_free(struct forward *f)
{
	int i;

	if (f == NULL)
		return;
	if (f->down != NULL && f->up != NULL)
		finish(f);
	if (f->down != NULL) {
		ssh_remove_channel_callbacks(f->down, &f->down_cb);
		ssh_channel_free(f->down);
	}
	if (f->up != NULL) {
		ssh_remove_channel_callbacks(f->up, &f->up_cb);
		ssh_channel_free(f->up);
	}
	if (f->upstream != NULL)
		session_upstream_release(f->sess, f->upstream);
	for (i = 0; i < 2; i++)
		EVP_MD_CTX_free(f->md[i]);
	free(f);
}
