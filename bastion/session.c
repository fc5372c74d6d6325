/*
 * session.c - one client connection, in its own child process.
 *
 * This is the network child of ssh_monitor.h: sandboxed before the key
 * exchange, which runs with authentication in blocking mode under the
 * monitor's login grace alarm (it kills this process when time runs out).
 * After that, one event loop serves the client's channels and the
 * connections to targets: libssh buffers incoming channel data, and each
 * bridge moves it on as the other side's window allows.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libssh/server.h>

#include "../recorder/chain.h"
#include "audit.h"
#include "bridge.h"
#include "forward.h"
#include "kh_client.h"
#include "log.h"
#include "sandbox.h"
#include "session.h"
#ifdef HVB_TEST_HOOKS
#include "testhooks.h"
#endif
#include "ssh_server.h"

#define SESSION_POLL_MS		1000
#define SESSION_TICK_MS		200	/* recordings to sync (asciicast.h) */

struct upstream *
session_upstream(struct session *s, const struct config_target *t,
    const struct config_credential *c, char *why, size_t whylen)
{
	struct upstream *up;

	for (up = s->upstreams; up != NULL; up = up->next)
		if (up->target == t && up->credential == c &&
		    ssh_is_connected(up->ssh)) {
			up->refs++;
			return up;
		}
#ifdef HVB_TEST_HOOKS
	/* The benchmark's separation off (testhooks.h). */
	if (testhooks_separation_off()) {
		if (testhooks_upstream_connect(s->conf, t, c, &up, why,
		    whylen) != UPSTREAM_OK)
			return NULL;
	} else
#endif
	if (upstream_connect(s->conf, t, c, &up, why, whylen) != UPSTREAM_OK)
		return NULL;
	ssh_set_blocking(up->ssh, 0);
	if (ssh_event_add_session(s->event, up->ssh) != SSH_OK) {
		snprintf(why, whylen, "internal error");
		upstream_free(up);
		return NULL;
	}
	up->in_event = 1;
	up->refs = 1;
	up->next = s->upstreams;
	s->upstreams = up;
	return up;
}

void
session_upstream_release(struct session *s, struct upstream *up)
{
	struct upstream **pp;

	if (--up->refs > 0)
		return;
	for (pp = &s->upstreams; *pp != NULL; pp = &(*pp)->next)
		if (*pp == up) {
			*pp = up->next;
			break;
		}
	if (up->in_event)
		ssh_event_remove_session(s->event, up->ssh);
	upstream_free(up);
}

static int
add_bridge(struct session *s, ssh_channel down)
{
	int i;

	for (i = 0; i < SESSION_MAX_CHANNELS; i++)
		if (s->bridges[i] == NULL) {
			s->bridges[i] = bridge_new(s, down,
			    ++s->nchannels_opened);
			return s->bridges[i] != NULL ? 0 : -1;
		}
	return -1;
}

static struct bridge *
find_bridge(struct session *s, ssh_channel ch)
{
	int i;

	for (i = 0; i < SESSION_MAX_CHANNELS; i++)
		if (s->bridges[i] != NULL &&
		    bridge_down_channel(s->bridges[i]) == ch)
			return s->bridges[i];
	return NULL;
}

static void
open_forward(struct session *s, ssh_message msg)
{
	int i;

	for (i = 0; i < SESSION_MAX_CHANNELS; i++)
		if (s->forwards[i] == NULL) {
			s->forwards[i] = forward_open(s, msg,
			    ++s->nchannels_opened);
			return;
		}
	log_info("session %s: too many forwards", s->id);
	ssh_message_reply_default(msg);
}

/* -R asks the bastion to listen for the client: never. */
static void
refuse_global(struct session *s, ssh_message msg)
{
	struct audit_event ev;

	if (ssh_message_subtype(msg) != SSH_GLOBAL_REQUEST_TCPIP_FORWARD)
		return;
	log_info("session %s: %s asked for a remote forward (-R); refused",
	    s->id, s->auth.user->name);
	memset(&ev, 0, sizeof(ev));
	ev.kind = AUDIT_POLICY_DENIAL;
	ev.person = s->auth.user->name;
	ev.source_addr = s->peer_addr;
	ev.source_port = s->peer_port;
	ev.action = "remote-forward";
	ev.outcome = "denied";
	ev.detail = "remote forwarding is not supported";
	ev.session_id = s->id;
	audit_emit(&ev);
}

static void
handle_channel_open(struct session *s, ssh_message msg)
{
	ssh_channel ch;
	int sub = ssh_message_subtype(msg);

	if (sub == SSH_CHANNEL_DIRECT_TCPIP) {
		open_forward(s, msg);
		return;
	}
	if (sub != SSH_CHANNEL_SESSION) {
		/* x11, auth-agent, forwarded-tcpip: never asked for. */
		log_info("session %s: %s refused a channel of type %d",
		    s->id, s->auth.user->name, sub);
		ssh_message_reply_default(msg);
		return;
	}
	ch = ssh_message_channel_request_open_reply_accept(msg);
	if (ch == NULL)
		return;
	if (add_bridge(s, ch) < 0) {
		log_info("session %s: too many channels", s->id);
		ssh_channel_close(ch);
		ssh_channel_free(ch);
	}
}

static void
handle_messages(struct session *s)
{
	ssh_message msg;

	while ((msg = ssh_message_get(s->ssh)) != NULL) {
		struct bridge *b;

		switch (ssh_message_type(msg)) {
		case SSH_REQUEST_CHANNEL_OPEN:
			handle_channel_open(s, msg);
			break;
		case SSH_REQUEST_CHANNEL:
			b = find_bridge(s, ssh_message_channel_request_channel(
			    msg));
			if (b != NULL)
				bridge_request(b, msg);
			else	/* forwards take no requests */
				ssh_message_reply_default(msg);
			break;
		case SSH_REQUEST_GLOBAL:
			refuse_global(s, msg);
			ssh_message_reply_default(msg);
			break;
		default:
			/* keepalives, late auth requests. */
			ssh_message_reply_default(msg);
			break;
		}
		ssh_message_free(msg);
		s->activity++;
	}
}

/* One pass over the channels; frees the ones that are done. */
static void
step_bridges(struct session *s)
{
	int i;

	for (i = 0; i < SESSION_MAX_CHANNELS; i++) {
		if (s->forwards[i] != NULL && forward_step(s->forwards[i])) {
			forward_free(s->forwards[i]);
			s->forwards[i] = NULL;
			s->activity++;
		}
		if (s->bridges[i] == NULL)
			continue;
		if (bridge_step(s->bridges[i])) {
			bridge_free(s->bridges[i]);
			s->bridges[i] = NULL;
			s->activity++;
		}
	}
}

static int
must_pass_again(struct session *s)
{
	int i;

	for (i = 0; i < SESSION_MAX_CHANNELS; i++)
		if ((s->bridges[i] != NULL &&
		    bridge_window_grew(s->bridges[i])) ||
		    (s->forwards[i] != NULL &&
		    forward_window_grew(s->forwards[i])))
			return 1;
	return 0;
}

/*
 * How long the loop may sleep: no timer is due while no channel has a
 * recording buffer to flush or a menu deadline, so an idle session sleeps
 * until the network wakes it (a second at most otherwise).
 */
static int
poll_timeout(struct session *s, unsigned long before)
{
	int i;

	if (s->activity != before || must_pass_again(s))
		return 0;
	if (s->nchannels_opened == 0)
		return SESSION_POLL_MS;		/* first-channel deadline */
	for (i = 0; i < SESSION_MAX_CHANNELS; i++)
		if (s->bridges[i] != NULL && bridge_needs_tick(s->bridges[i]))
			return SESSION_TICK_MS;
	return -1;
}

static void
event_loop(struct session *s)
{
	time_t first_channel_deadline = time(NULL) + s->conf->stage_timeout;
	time_t last_tick = time(NULL);
	int i;

	for (;;) {
		unsigned long before = s->activity;
		int timeout;

		handle_messages(s);
		step_bridges(s);
		if (!ssh_is_connected(s->ssh))
			break;
		/* A login that names a target may wait for its first
		 * forward (ssh -N -L): the person is authenticated. */
		if (s->nchannels_opened == 0 &&
		    s->auth.choice.target[0] == '\0' &&
		    time(NULL) > first_channel_deadline) {
			log_info("session %s: no channel opened within %d s",
			    s->id, s->conf->stage_timeout);
			break;
		}
		if (time(NULL) != last_tick) {
			last_tick = time(NULL);
			for (i = 0; i < SESSION_MAX_CHANNELS; i++)
				if (s->bridges[i] != NULL)
					bridge_tick(s->bridges[i]);
		}
		timeout = poll_timeout(s, before);
		if (ssh_event_dopoll(s->event, timeout) == SSH_ERROR &&
		    !ssh_is_connected(s->ssh))
			break;
	}
	for (i = 0; i < SESSION_MAX_CHANNELS; i++) {
		if (s->bridges[i] != NULL) {
			bridge_abort(s->bridges[i], "connection closed");
			bridge_free(s->bridges[i]);
			s->bridges[i] = NULL;
		}
		forward_free(s->forwards[i]);
		s->forwards[i] = NULL;
	}
}

/* Session start and end in the audit trail (audit.h). */
static int
session_audit(struct session *s, enum audit_kind kind, const char *digest)
{
	struct audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.person = s->auth.user->name;
	ev.source_addr = s->peer_addr;
	ev.source_port = s->peer_port;
	ev.target = s->auth.choice.target[0] ? s->auth.choice.target : NULL;
	ev.action = s->auth.methods;
	ev.outcome = "success";
	ev.session_id = s->id;
	ev.recording_digest = digest;
	ev.detail = kind == AUDIT_SESSION_START ? s->auth.key_fp : NULL;
	return audit_emit(&ev);
}

static int
open_session_log(struct session *s)
{
	char path[PATH_MAX];
	json_t *ev;

	snprintf(path, sizeof(path), "%s/%s.jsonl", s->conf->recordings_dir,
	    s->id);
	if ((s->log = session_log_open(path, s->id)) == NULL) {
		log_error("session %s: cannot create %s: %s", s->id, path,
		    strerror(errno));
		return -1;
	}
	ev = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "event", "login",
	    "user", s->auth.user->name, "source", s->peer_addr,
	    "source_port", s->peer_port, "methods", s->auth.methods,
	    "key", s->auth.key_fp);
	return session_log_write(s->log, ev);
}

/*
 * Before the key exchange: from here the child parses the client's bytes,
 * so it may only carry them, record them, and (once the monitor says the
 * person is authenticated) ask the key holder for targets (sandbox.h).
 */
static int
enter_sandbox(struct session *s)
{
	struct sandbox_spec sp;

	/* Events still flow once no file may be opened. */
	if (audit_prepare_sandbox() < 0) {
		log_error("session %s: the audit trail cannot be kept open;"
		    " disconnecting", s->id);
		return -1;
	}
	memset(&sp, 0, sizeof(sp));
	sp.write_dir = s->conf->recordings_dir;
	sp.allow_syslog = log_is_syslog();
	sp.allow_remove = s->conf->compress_recordings;
	/* Per channel: a recording, its chain, an upstream and its agent. */
	sp.max_fds = 64 + 8 * SESSION_MAX_CHANNELS;
#ifdef HVB_TEST_HOOKS
	if (testhooks_sandbox_off())
		return 0;	/* the benchmark's separation off */
#endif
	if (sandbox_enter(&sp) < 0) {
		log_error("session %s: the sandbox could not be set up;"
		    " disconnecting", s->id);
		return -1;
	}
	return 0;
}

int
session_serve(const struct config *conf, ssh_key hostkey, int fd,
    const char *peer_addr, int peer_port, const char *session_id)
{
	struct session s;
	char seal[CHAIN_DESC_LEN];
	ssh_bind bind = NULL;
	long grace = conf->login_grace_time;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	s.conf = conf;
	snprintf(s.peer_addr, sizeof(s.peer_addr), "%s", peer_addr);
	s.peer_port = peer_port;
	snprintf(s.peer, sizeof(s.peer), "%s port %d", peer_addr, peer_port);
	snprintf(s.id, sizeof(s.id), "%s", session_id);
	s.auth.kh_fd = -1;

	if ((bind = ssh_server_bind(hostkey)) == NULL ||
	    (s.ssh = ssh_new()) == NULL)
		goto out;
	if (ssh_bind_accept_fd(bind, s.ssh, fd) != SSH_OK) {
		log_error("accept from %s: %s", s.peer, ssh_get_error(bind));
		goto out;
	}
	ssh_options_set(s.ssh, SSH_OPTIONS_TIMEOUT, &grace);
	if (enter_sandbox(&s) < 0)
		goto out;
	if (ssh_handle_key_exchange(s.ssh) != SSH_OK) {
		log_info("key exchange with %s failed: %s", s.peer,
		    ssh_get_error(s.ssh));
		goto out;
	}
	if (auth_run(s.ssh, conf, s.peer, s.peer_addr, &s.auth) < 0)
		goto out;
	/* The key holder's socket, which the monitor bound to the person. */
	kh_client_init(s.auth.kh_fd);
	kh_client_identity(s.auth.user->name, s.id);
#ifdef HVB_TEST_HOOKS
	testhooks_after_sandbox(s.conf, s.auth.user->name);
#endif
	log_info("session %s started: %s from %s (key %s)", s.id,
	    s.auth.user->name, s.peer, s.auth.key_fp);
	/* Fail closed: a session that cannot be recorded runs nothing; its
	 * channels are refused with a message (bridge.c), so the person
	 * learns why rather than seeing the connection drop. */
	if (open_session_log(&s) < 0)
		log_error("session %s: recording unavailable; every channel"
		    " will be refused", s.id);
	/* Fail closed: nor does one that cannot be audited. */
	if (session_audit(&s, AUDIT_SESSION_START, NULL) < 0) {
		log_error("session %s: the audit trail cannot record it;"
		    " disconnecting", s.id);
		goto out;
	}
	if ((s.event = ssh_event_new()) == NULL ||
	    ssh_event_add_session(s.event, s.ssh) != SSH_OK)
		goto out;
	ssh_set_blocking(s.ssh, 0);
	event_loop(&s);
	session_log_write(s.log, json_pack("{s:s}", "event", "logout"));
	if (session_log_seal(s.log, seal, sizeof(seal)) < 0) {
		log_error("session %s: the session log could not be sealed",
		    s.id);
		snprintf(seal, sizeof(seal), "none");
	}
	/* The seal in the daemon log: a recording edited or removed later
	 * no longer matches what was logged here. */
	log_info("session %s ended: %s from %s; log sealed %s", s.id,
	    s.auth.user->name, s.peer, seal);
	session_audit(&s, AUDIT_SESSION_END, seal);
	rc = 0;
out:
	while (s.upstreams != NULL) {
		struct upstream *up = s.upstreams;

		s.upstreams = up->next;
		if (up->in_event)
			ssh_event_remove_session(s.event, up->ssh);
		upstream_free(up);
	}
	if (s.event != NULL) {
		ssh_event_remove_session(s.event, s.ssh);
		ssh_event_free(s.event);
	}
	if (s.log != NULL && session_log_close(s.log) < 0)
		log_error("session %s: the session log is incomplete", s.id);
	if (s.ssh != NULL) {
		ssh_disconnect(s.ssh);
		ssh_free(s.ssh);
	}
	if (bind != NULL)
		ssh_bind_free(bind);
	return rc;
}
