/*
 * bridge.c - one client session channel bridged to one target channel.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libssh/callbacks.h>
#include <openssl/evp.h>

#include "../policy/policy.h"
#include "../recorder/asciicast.h"
#include "../recorder/chain.h"
#include "../recorder/sftp_parse.h"
#include "audit.h"
#include "bridge.h"
#include "channel_end.h"
#include "log.h"
#include "menu.h"
#include "pump.h"
#include "session.h"
#include "ssh_msg.h"
#include "target_choice.h"

#define BRIDGE_MAX_ENV		16
#define BRIDGE_ENV_VALUE_MAX	1024
#define BRIDGE_TYPEAHEAD_MAX	1024
#define BRIDGE_EXIT_REFUSED	255

enum bridge_state { BRIDGE_SETUP, BRIDGE_MENU, BRIDGE_RUNNING, BRIDGE_DONE };

struct bridge_env {
	char	*name;
	char	*value;
};

struct bridge {
	struct session		*sess;
	int			 id;
	enum bridge_state	 state;
	ssh_channel		 down;		/* the client's channel */
	ssh_channel		 up;		/* the target's channel */
	struct upstream		*upstream;
	struct ssh_channel_callbacks_struct down_cb, up_cb;

	int			 pty;
	struct ssh_msg_pty	 ptyinfo;
	struct bridge_env	 env[BRIDGE_MAX_ENV];
	int			 nenv;
	struct target_choice	 choice;
	const struct config_target	*target;
	const struct config_credential	*credential;
	enum policy_channel	 kind;
	char			*command;	/* exec: the target's command */
	int			 sftp;		/* the sftp subsystem */
	struct sftp_parse	*sftp_parse;
	int			 sftp_failed;
	/* Digests of stdin, stdout, stderr of a command without a pty. */
	EVP_MD_CTX		*md[3];

	struct menu		 menu;
	time_t			 deadline;	/* SETUP and MENU end by then */

	struct pump_end		 down_end, up_end;
	struct pump		 to_up, to_down;
	int			 eof_sent_up, eof_sent_down;
	int			 have_exit_status, exit_status;
	char			 exit_signal[32];
	int			 exit_core;
	struct asciicast	*cast;
	char			 cast_name[96];	/* "" when none */
	int			 record_failed;
	struct timespec		 started;
	uint32_t		 last_win_down, last_win_up;
	const char		*role;		/* the deciding role (audit) */
};

/* --- recording ------------------------------------------------------------ */

/* Recording durability (asciicast.h): cheap, so on every pass. */
static void
recording_tick(struct bridge *b)
{
	if (b->cast != NULL && asciicast_tick(b->cast) < 0)
		b->record_failed = 1;
	if (session_log_pending(b->sess->log) &&
	    session_log_tick(b->sess->log) < 0)
		b->record_failed = 1;
}

static void
digest(struct bridge *b, int which, const void *buf, size_t len)
{
	if (b->md[which] != NULL &&
	    EVP_DigestUpdate(b->md[which], buf, len) != 1) {
		EVP_MD_CTX_free(b->md[which]);
		b->md[which] = NULL;
	}
}

/*
 * A stream the parser cannot follow ends the channel (fail closed): the
 * bastion parses exactly what the target's sftp-server parses, and both
 * OpenSSH ends give up on a packet over 256 KiB, so a client that desyncs
 * the parser is trying to move files unseen, not transferring files.
 */
static int
tap_sftp(struct bridge *b, enum sftp_dir dir, const void *buf, size_t len)
{
	if (b->sftp_parse == NULL || b->sftp_failed)
		return b->sftp_failed ? -1 : 0;
	if (sftp_parse_feed(b->sftp_parse, dir, buf, len) < 0) {
		b->sftp_failed = 1;
		return -1;
	}
	return 0;
}

static int
tap_output(void *arg, const void *buf, size_t len, enum pump_stream s)
{
	struct bridge *b = arg;

	digest(b, s == PUMP_STDERR ? 2 : 1, buf, len);
	if (b->sftp && s == PUMP_STDOUT &&
	    tap_sftp(b, SFTP_FROM_SERVER, buf, len) < 0)
		return -1;
	if (b->cast != NULL && (s == PUMP_STDERR ?
	    asciicast_errout(b->cast, buf, len) :
	    asciicast_output(b->cast, buf, len)) < 0) {
		b->record_failed = 1;
		return -1;
	}
	return 0;
}

static int
tap_input(void *arg, const void *buf, size_t len, enum pump_stream s)
{
	struct bridge *b = arg;

	(void)s;
	digest(b, 0, buf, len);
	if (b->sftp && tap_sftp(b, SFTP_FROM_CLIENT, buf, len) < 0)
		return -1;
	if (b->cast != NULL && asciicast_input(b->cast, buf, len) < 0) {
		b->record_failed = 1;
		return -1;
	}
	return 0;
}

static double
seconds_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) +
	    (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
log_event(struct bridge *b, const char *what, json_t *ev)
{
	if (ev == NULL)
		return;
	json_object_set_new(ev, "event", json_string(what));
	json_object_set_new(ev, "channel", json_integer(b->id));
	if (session_log_write(b->sess->log, ev) < 0)
		b->record_failed = 1;
}

/* --- ending ---------------------------------------------------------------- */

static void
send_line(struct bridge *b, const char *msg)
{
	char line[1024];
	int n;

	n = snprintf(line, sizeof(line), "%s%s", msg, b->pty ? "\r\n" : "\n");
	if (n > 0 && !ssh_channel_is_closed(b->down))
		ssh_channel_write_stderr(b->down, line, (uint32_t)strlen(line));
}

static void
add_digests(struct bridge *b, json_t *ev)
{
	static const char *keys[3] = { "sha256_in", "sha256_out",
	    "sha256_err" };
	unsigned char md[EVP_MAX_MD_SIZE];
	char hx[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int i, n;

	for (i = 0; i < 3; i++) {
		if (b->md[i] == NULL ||
		    EVP_DigestFinal_ex(b->md[i], md, &n) != 1)
			continue;
		chain_hex(md, n, hx);
		json_object_set_new(ev, keys[i], json_string(hx));
		EVP_MD_CTX_free(b->md[i]);
		b->md[i] = NULL;
	}
}

static int	bridge_audit(struct bridge *, enum audit_kind, const char *,
		    const char *, const char *, const char *, size_t);

/*
 * Passes back the exit status, EOF and close, in the client's order.
 *
 * The client may have closed its side already: the channel is ours to
 * close until we send CLOSE ourselves (RFC 4254 5.3), and finish() is the
 * one place that does, once.  So the exit status still goes out after the
 * client's CLOSE, as sshd sends it; only a connection that is gone takes
 * nothing more.
 */
static void
finish(struct bridge *b)
{
	json_t *ev;

	if (b->state == BRIDGE_DONE)
		return;
	if (ssh_is_connected(b->sess->ssh)) {
		if (b->exit_signal[0] != '\0')
			ssh_channel_request_send_exit_signal(b->down,
			    b->exit_signal, b->exit_core, "", "");
		else
			ssh_channel_request_send_exit_status(b->down,
			    b->have_exit_status ? b->exit_status :
			    BRIDGE_EXIT_REFUSED);
		if (!b->eof_sent_down)
			ssh_channel_send_eof(b->down);
		ssh_channel_close(b->down);
	}
	if (b->up != NULL) {
		if (!ssh_channel_is_closed(b->up))
			ssh_channel_close(b->up);
		if (b->sftp_parse != NULL)
			sftp_parse_finish(b->sftp_parse);
		ev = json_pack("{s:s, s:s, s:s, s:s?, s:b, s:I, s:I, s:I,"
		    " s:f}", "kind", policy_channel_name(b->kind),
		    "target", b->target->name, "login", b->credential->login,
		    "command", NULL, "pty", b->pty,
		    "bytes_in", (json_int_t)b->to_up.bytes[0],
		    "bytes_out", (json_int_t)b->to_down.bytes[0],
		    "bytes_err", (json_int_t)b->to_down.bytes[1],
		    "duration", seconds_since(&b->started));
		if (ev != NULL && b->command != NULL)
			json_object_set_new(ev, "command", session_log_string(
			    b->command, strlen(b->command)));
		if (ev != NULL && b->exit_signal[0] != '\0')
			json_object_set_new(ev, "exit_signal",
			    json_string(b->exit_signal));
		else if (ev != NULL && b->have_exit_status)
			json_object_set_new(ev, "exit_status",
			    json_integer(b->exit_status));
		if (ev != NULL)
			add_digests(b, ev);
		if (ev != NULL && b->sftp_parse != NULL)
			json_object_set_new(ev, "sftp_events", json_integer(
			    (json_int_t)sftp_parse_nevents(b->sftp_parse)));
		if (ev != NULL && b->sftp_failed)
			json_object_set_new(ev, "sftp_error", json_string(
			    sftp_parse_error(b->sftp_parse)));
		if (ev != NULL)
			json_object_set_new(ev, "outcome", json_string(
			    b->record_failed ? "recording-failed" :
			    b->sftp_failed ? "sftp-parse-error" :
			    b->have_exit_status || b->exit_signal[0] ?
			    "completed" : "interrupted"));
		{
			char st[48];

			if (b->exit_signal[0] != '\0')
				snprintf(st, sizeof(st), "signal %s",
				    b->exit_signal);
			else if (b->have_exit_status)
				snprintf(st, sizeof(st), "exit-status %d",
				    b->exit_status);
			else
				snprintf(st, sizeof(st), "interrupted");
			bridge_audit(b, AUDIT_CHANNEL,
			    policy_channel_name(b->kind), "closed", NULL, st,
			    0);
		}
		log_event(b, "channel_end", ev);
		session_log_sync(b->sess->log);
		log_info("session %s channel %d to %s ended (%s %d)",
		    b->sess->id, b->id, b->target->name,
		    b->exit_signal[0] ? "signal" : "status",
		    b->exit_signal[0] ? 0 : b->exit_status);
	}
	if (b->cast != NULL && asciicast_close(b->cast) < 0)
		log_error("session %s channel %d: recording incomplete",
		    b->sess->id, b->id);
	b->cast = NULL;
	b->state = BRIDGE_DONE;
}

static void
refuse(struct bridge *b, const char *msg)
{
	char line[600];

	snprintf(line, sizeof(line), "hvbastion: %s", msg);
	send_line(b, line);
	b->have_exit_status = 1;
	b->exit_status = BRIDGE_EXIT_REFUSED;
	finish(b);
}

void
bridge_abort(struct bridge *b, const char *why)
{
	if (b->state == BRIDGE_DONE)
		return;
	refuse(b, why);
}

/* --- channel callbacks ---------------------------------------------------- */

/*
 * libssh may read a packet for one channel while serving another (any read
 * handles the whole socket), after which poll() no longer sees it.  These
 * callbacks only note that something arrived, so that the event loop makes
 * another pass before it sleeps; the data itself stays in libssh's buffer
 * (returning 0 consumes nothing) and flow control is unchanged.
 */
static int
on_data(ssh_session s, ssh_channel c, void *data, uint32_t len, int is_stderr,
    void *arg)
{
	struct bridge *b = arg;

	(void)s;
	(void)c;
	(void)data;
	(void)len;
	(void)is_stderr;
	b->sess->activity++;
	return 0;
}

static void
on_eof_or_close(ssh_session s, ssh_channel c, void *arg)
{
	struct bridge *b = arg;

	(void)s;
	(void)c;
	b->sess->activity++;
}

static void
on_exit_status(ssh_session s, ssh_channel c, int status, void *arg)
{
	struct bridge *b = arg;

	(void)s;
	(void)c;
	b->have_exit_status = 1;
	b->exit_status = status;
	b->sess->activity++;
}

static void
on_exit_signal(ssh_session s, ssh_channel c, const char *sig, int core,
    const char *errmsg, const char *lang, void *arg)
{
	struct bridge *b = arg;
	size_t i;

	(void)s;
	(void)c;
	(void)errmsg;
	(void)lang;
	snprintf(b->exit_signal, sizeof(b->exit_signal), "%s", sig);
	for (i = 0; b->exit_signal[i] != '\0'; i++)
		if (!isalnum((unsigned char)b->exit_signal[i]))
			b->exit_signal[i] = '_';
	b->exit_core = core;
	b->sess->activity++;
}

static void
on_client_signal(ssh_session s, ssh_channel c, const char *sig, void *arg)
{
	struct bridge *b = arg;
	size_t i, n = strlen(sig);

	(void)s;
	(void)c;
	if (n == 0 || n > 16)
		return;
	for (i = 0; i < n; i++)
		if (!isupper((unsigned char)sig[i]) &&
		    !isdigit((unsigned char)sig[i]))
			return;
	if (b->state == BRIDGE_RUNNING && b->up != NULL)
		ssh_channel_request_send_signal(b->up, sig);
}

/* --- starting ---------------------------------------------------------- */

/*
 * A terminal is recorded whole; a command without a pty has its streams
 * kept up to record-exec-streams bytes each (0: only their digests, in
 * the session log).  sftp is parsed into file operations instead.  The
 * file is created here, before any data moves.
 */
static int
open_recording(struct bridge *b)
{
	const struct config *conf = b->sess->conf;
	struct asciicast_header h;
	char path[PATH_MAX], title[256];

	if (b->sftp || (!b->pty && conf->record_exec_streams == 0))
		return 0;
	snprintf(b->cast_name, sizeof(b->cast_name), "%s-c%d.cast",
	    b->sess->id, b->id);
	snprintf(path, sizeof(path), "%s/%s", conf->recordings_dir,
	    b->cast_name);
	snprintf(title, sizeof(title), "%s -> %s@%s", b->sess->auth.user->name,
	    b->credential->login, b->target->name);
	memset(&h, 0, sizeof(h));
	h.width = b->pty ? b->ptyinfo.cols : 80;
	h.height = b->pty ? b->ptyinfo.rows : 24;
	h.timestamp = time(NULL);
	h.term = b->pty ? b->ptyinfo.term : NULL;
	h.title = title;
	h.record_input = conf->record_input;
	h.compress = conf->compress_recordings;
	if (!b->pty) {
		h.command = b->command != NULL ? b->command : "";
		h.stream_limit = conf->record_exec_streams;
	}
	if ((b->cast = asciicast_open(path, &h)) == NULL) {
		log_error("session %s: cannot create recording %s: %m",
		    b->sess->id, path);
		b->cast_name[0] = '\0';
		return -1;
	}
	return 0;
}

/* Opens the target's channel with the client's pty, env and request. */
static int
open_upstream_channel(struct bridge *b)
{
	ssh_session up = b->upstream->ssh;
	int i, rc = -1;

	ssh_set_blocking(up, 1);
	if ((b->up = ssh_channel_new(up)) == NULL ||
	    ssh_channel_open_session(b->up) != SSH_OK)
		goto out;
	if (b->pty && ssh_channel_request_pty_size(b->up, b->ptyinfo.term,
	    b->ptyinfo.cols, b->ptyinfo.rows) != SSH_OK)
		goto out;
	for (i = 0; i < b->nenv; i++)	/* refusals are not fatal */
		ssh_channel_request_env(b->up, b->env[i].name,
		    b->env[i].value);
	memset(&b->up_cb, 0, sizeof(b->up_cb));
	b->up_cb.userdata = b;
	b->up_cb.channel_exit_status_function = on_exit_status;
	b->up_cb.channel_exit_signal_function = on_exit_signal;
	b->up_cb.channel_data_function = on_data;
	b->up_cb.channel_eof_function = on_eof_or_close;
	b->up_cb.channel_close_function = on_eof_or_close;
	ssh_callbacks_init(&b->up_cb);
	ssh_set_channel_callbacks(b->up, &b->up_cb);
	if (b->sftp)
		rc = ssh_channel_request_subsystem(b->up, "sftp");
	else if (b->command != NULL)
		rc = ssh_channel_request_exec(b->up, b->command);
	else
		rc = ssh_channel_request_shell(b->up);
	rc = rc == SSH_OK ? 0 : -1;
out:
	if (rc < 0)
		log_info("session %s: target %s: cannot open a channel: %s",
		    b->sess->id, b->target->name, ssh_get_error(up));
	ssh_set_blocking(up, 0);
	return rc;
}

/*
 * scp runs as a command ("scp -t DIR" on the target's side): a grant tells
 * it apart from other commands, so the first word decides.
 */
static enum policy_channel
channel_kind(const char *command, int sftp)
{
	size_t n;

	if (sftp)
		return POLICY_CHANNEL_SFTP;
	if (command == NULL)
		return POLICY_CHANNEL_SHELL;
	n = strcspn(command, " \t");
	if (n == 3 && strncmp(command, "scp", 3) == 0)
		return POLICY_CHANNEL_SCP;
	return POLICY_CHANNEL_EXEC;
}

/* A channel's event in the audit trail (audit.h). */
static int
bridge_audit(struct bridge *b, enum audit_kind kind, const char *action,
    const char *outcome, const char *rule, const char *detail,
    size_t detail_len)
{
	struct audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.person = b->sess->auth.user->name;
	ev.role = b->role;
	ev.source_addr = b->sess->peer_addr;
	ev.source_port = b->sess->peer_port;
	ev.target = b->target != NULL ? b->target->name : b->choice.target;
	ev.login = b->credential != NULL ? b->credential->login :
	    b->choice.login[0] ? b->choice.login : NULL;
	ev.action = action;
	ev.outcome = outcome;
	ev.rule = rule;
	ev.session_id = b->sess->id;
	ev.detail = detail;
	ev.detail_len = detail_len;
	return audit_emit(&ev);
}

static void
sftp_event(void *arg, json_t *ev)
{
	struct bridge *b = arg;
	json_t *path = json_object_get(ev, "path");
	char action[64], *dump = NULL;
	const char *st = json_string_value(json_object_get(ev, "status"));

	if (path == NULL)
		path = json_object_get(ev, "name");
	snprintf(action, sizeof(action), "sftp-%s",
	    json_string_value(json_object_get(ev, "op")) ?
	    json_string_value(json_object_get(ev, "op")) : "?");
	if (path != NULL && !json_is_string(path))
		dump = json_dumps(path, JSON_COMPACT);
	bridge_audit(b, AUDIT_FILE_TRANSFER, action, st != NULL &&
	    strcmp(st, "ok") == 0 ? "success" : st, NULL, dump != NULL ? dump :
	    json_string_value(path), dump != NULL || path == NULL ? 0 :
	    json_string_length(path));
	free(dump);
	log_event(arg, "sftp", ev);
}

static int
open_digests(struct bridge *b)
{
	int i;

	for (i = 0; i < 3; i++)
		if ((b->md[i] = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestInit_ex(b->md[i], EVP_sha256(), NULL) != 1)
			return -1;
	return 0;
}

static void
connect_target(struct bridge *b)
{
	struct policy_request req;
	struct policy_decision d;
	char why[512];
	json_t *ev;

	b->kind = channel_kind(b->command, b->sftp);
	memset(&req, 0, sizeof(req));
	req.person = b->sess->auth.user->name;
	req.target = b->choice.target;
	req.login = b->choice.login;
	req.channel = b->kind;
	req.source = b->sess->peer_addr;
	policy_decide(b->sess->conf, &req, &d);
	/* The rule (file:line) goes to the log and the session record; the
	 * person only learns that access is not granted. */
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "target",
	    b->choice.target,
	    "login", b->choice.login[0] ? b->choice.login : "(default)",
	    "kind", policy_channel_name(b->kind), "source", b->sess->peer_addr,
	    "decision", d.allow ? "allow" : "deny", "rule", d.rule);
	log_event(b, "decision", ev);
	log_info("session %s channel %d: %s %s %s@%s (%s) from %s: %s",
	    b->sess->id, b->id, d.allow ? "allow" : "deny",
	    b->sess->auth.user->name,
	    b->choice.login[0] ? b->choice.login : "(default)",
	    b->choice.target, policy_channel_name(b->kind),
	    b->sess->peer_addr, d.rule);
	if (!d.allow) {
		bridge_audit(b, AUDIT_POLICY_DENIAL,
		    policy_channel_name(b->kind), "denied", d.rule, b->command,
		    0);
		snprintf(why, sizeof(why), "access to target %s is not"
		    " granted to %s", b->choice.target,
		    b->sess->auth.user->name);
		refuse(b, why);
		return;
	}
	/* Fail closed before the target is even reached. */
	if (b->record_failed) {
		refuse(b, "the session cannot be recorded; refused");
		return;
	}
	b->target = d.target;
	b->credential = d.credential;
	b->role = d.role != NULL ? d.role->name : NULL;
	b->upstream = session_upstream(b->sess, d.target, d.credential, why,
	    sizeof(why));
	if (b->upstream == NULL) {
		refuse(b, why);
		return;
	}
	/* Fail closed: no recording, no session. */
	if (open_recording(b) < 0 || b->record_failed) {
		refuse(b, "the session cannot be recorded; refused");
		return;
	}
	if (open_upstream_channel(b) < 0) {
		snprintf(why, sizeof(why), "target %s refused the session",
		    b->target->name);
		refuse(b, why);
		return;
	}
	if (b->sftp && (b->sftp_parse = sftp_parse_new(sftp_event,
	    b)) == NULL) {
		refuse(b, "out of memory");
		return;
	}
	if (!b->pty && open_digests(b) < 0) {
		refuse(b, "the session cannot be recorded; refused");
		return;
	}
	/* Fail closed: a channel (a command) that cannot be audited does not
	 * run. */
	if (bridge_audit(b, AUDIT_CHANNEL, policy_channel_name(b->kind),
	    "opened", d.rule, NULL, 0) < 0 || (b->command != NULL &&
	    bridge_audit(b, AUDIT_COMMAND, policy_channel_name(b->kind),
	    "started", d.rule, b->command, 0) < 0)) {
		refuse(b, "the session cannot be audited; refused");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &b->started);
	channel_end_init(&b->up_end, b->up);
	channel_end_init(&b->down_end, b->down);
	pump_init(&b->to_down, &b->up_end, &b->down_end, 2, tap_output, b);
	pump_init(&b->to_up, &b->down_end, &b->up_end, 1, tap_input, b);
	b->state = BRIDGE_RUNNING;
	ev = json_pack("{s:s, s:s, s:s, s:b}", "kind",
	    policy_channel_name(b->kind), "target", b->target->name, "login",
	    b->credential->login, "pty", b->pty);
	if (ev != NULL && b->command != NULL)
		json_object_set_new(ev, "command", session_log_string(
		    b->command, strlen(b->command)));
	if (ev != NULL && b->cast_name[0] != '\0')
		json_object_set_new(ev, "recording", json_string(b->cast_name));
	log_event(b, "channel_start", ev);
}

static void
show_menu(struct bridge *b)
{
	char buf[8192];
	int n, count;

	n = menu_render(b->sess->conf, b->sess->auth.user->name,
	    b->sess->peer_addr, b->pty ? "\r\n" : "\n", buf, sizeof(buf),
	    &count);
	if (n < 0) {
		refuse(b, "too many targets to list; name one");
		return;
	}
	ssh_channel_write(b->down, buf, (uint32_t)n);
	if (count == 0) {
		refuse(b, "no target is granted to you");
		return;
	}
	ssh_channel_write(b->down, MENU_PROMPT, sizeof(MENU_PROMPT) - 1);
	menu_init(&b->menu, b->pty);
	b->deadline = time(NULL) + b->sess->conf->stage_timeout;
	b->state = BRIDGE_MENU;
}

/* A line typed at the menu. */
static void
menu_line(struct bridge *b)
{
	const struct config_target *t;
	struct target_choice tc;
	const char *rest;
	char msg[200];
	int quit;

	t = menu_choose(b->sess->conf, b->sess->auth.user->name,
	    b->sess->peer_addr, b->menu.line, &quit);
	if (quit) {
		b->have_exit_status = 1;
		b->exit_status = 0;
		finish(b);
		return;
	}
	memset(&tc, 0, sizeof(tc));
	if (t == NULL && b->menu.line[0] != '\0' &&
	    !isdigit((unsigned char)b->menu.line[0]) &&
	    target_choice_from_command(&tc, b->menu.line, &rest) ==
	    TARGET_CHOICE_OK && rest[0] == '\0')
		t = menu_choose(b->sess->conf, b->sess->auth.user->name,
		    b->sess->peer_addr, tc.target, &quit);
	if (t == NULL) {
		if (b->menu.line[0] != '\0') {
			snprintf(msg, sizeof(msg), "hvbastion: no such"
			    " target in the list%s", b->pty ? "\r\n" : "\n");
			ssh_channel_write(b->down, msg, (uint32_t)strlen(msg));
		}
		ssh_channel_write(b->down, MENU_PROMPT,
		    sizeof(MENU_PROMPT) - 1);
		menu_init(&b->menu, b->pty);
		return;
	}
	snprintf(b->choice.target, sizeof(b->choice.target), "%s", t->name);
	snprintf(b->choice.login, sizeof(b->choice.login), "%s", tc.login);
	connect_target(b);
}

static void
menu_step(struct bridge *b)
{
	unsigned char in[256];
	char echo[3 * sizeof(in)];
	size_t used, echolen, off = 0;
	int n;

	n = ssh_channel_read_nonblocking(b->down, in, sizeof(in), 0);
	if (n == SSH_EOF || n < 0 || ssh_channel_is_closed(b->down)) {
		if (n == SSH_EOF || ssh_channel_is_eof(b->down)) {
			b->have_exit_status = 1;
			b->exit_status = 0;
		}
		finish(b);
		return;
	}
	while (off < (size_t)n && b->state == BRIDGE_MENU) {
		enum menu_status st = menu_feed(&b->menu, in + off,
		    (size_t)n - off, &used, echo, &echolen);

		if (echolen > 0)
			ssh_channel_write(b->down, echo, (uint32_t)echolen);
		off += used;
		if (st == MENU_QUIT) {
			b->have_exit_status = 1;
			b->exit_status = 130;
			finish(b);
		} else if (st == MENU_LINE)
			menu_line(b);
	}
	/* Keys typed after the choice go to the target's shell. */
	if (off < (size_t)n && b->state == BRIDGE_RUNNING) {
		size_t left = (size_t)n - off;

		if (left > BRIDGE_TYPEAHEAD_MAX)
			left = BRIDGE_TYPEAHEAD_MAX;
		tap_input(b, in + off, left, PUMP_STDOUT);
		ssh_channel_write(b->up, in + off, (uint32_t)left);
	}
}

static void
start(struct bridge *b, const char *command)
{
	const char *rest = "";
	char msg[300];
	int rc;

	b->choice = b->sess->auth.choice;
	if (command != NULL) {
		rc = target_choice_from_command(&b->choice, command, &rest);
		if (rc != TARGET_CHOICE_OK) {
			char esc[100];

			log_escape(esc, sizeof(esc), command);
			log_info("session %s: refusing command %s: %s",
			    b->sess->id, esc, target_choice_strerror(rc));
			snprintf(msg, sizeof(msg), "invalid target name: %s",
			    target_choice_strerror(rc));
			refuse(b, msg);
			return;
		}
	}
	if (b->choice.target[0] == '\0') {
		show_menu(b);
		return;
	}
	if (rest[0] != '\0' && (b->command = strdup(rest)) == NULL) {
		refuse(b, "out of memory");
		return;
	}
	connect_target(b);
}

/*
 * sftp has no command to name the target: the login name does
 * (alice+pve1, alice+root+pve1).  Its channel is neither a terminal nor
 * asciicast: the file operations go to the session log.
 */
static void
start_sftp(struct bridge *b)
{
	b->choice = b->sess->auth.choice;
	b->sftp = 1;
	b->pty = 0;
	if (b->choice.target[0] == '\0') {
		refuse(b, "sftp needs the target in the login name, e.g."
		    " sftp PERSON+TARGET@bastion");
		return;
	}
	connect_target(b);
}

/* --- requests -------------------------------------------------------------- */

static int
env_allowed(const struct config *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->naccept_env; i++)
		if (fnmatch(conf->accept_env[i], name, 0) == 0)
			return 1;
	return 0;
}

static void
request_env(struct bridge *b, ssh_message msg)
{
	const char *name = ssh_message_channel_request_env_name(msg);
	const char *value = ssh_message_channel_request_env_value(msg);
	size_t i;

	if (b->state != BRIDGE_SETUP || name == NULL || value == NULL ||
	    b->nenv >= BRIDGE_MAX_ENV || strlen(name) > 64 ||
	    strlen(value) > BRIDGE_ENV_VALUE_MAX ||
	    !env_allowed(b->sess->conf, name)) {
		ssh_message_reply_default(msg);
		return;
	}
	for (i = 0; name[i] != '\0'; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '_') {
			ssh_message_reply_default(msg);
			return;
		}
	b->env[b->nenv].name = strdup(name);
	b->env[b->nenv].value = strdup(value);
	if (b->env[b->nenv].name == NULL || b->env[b->nenv].value == NULL) {
		free(b->env[b->nenv].name);
		free(b->env[b->nenv].value);
		ssh_message_reply_default(msg);
		return;
	}
	b->nenv++;
	ssh_message_channel_request_reply_success(msg);
}

static void
request_window_change(struct bridge *b, ssh_message msg)
{
	struct ssh_msg_pty size;

	ssh_msg_pty(msg, &size);
	if (!b->pty || size.cols <= 0 || size.rows <= 0 || size.cols > 10000 ||
	    size.rows > 10000) {
		ssh_message_reply_default(msg);
		return;
	}
	b->ptyinfo.cols = size.cols;
	b->ptyinfo.rows = size.rows;
	if (b->state == BRIDGE_RUNNING) {
		ssh_channel_change_pty_size(b->up, size.cols, size.rows);
		if (b->cast != NULL && asciicast_resize(b->cast, size.cols,
		    size.rows) < 0)
			b->record_failed = 1;
	}
	ssh_message_channel_request_reply_success(msg);
}

void
bridge_request(struct bridge *b, ssh_message msg)
{
	int type = ssh_message_subtype(msg);
	char esc[80];

	switch (type) {
	case SSH_CHANNEL_REQUEST_PTY:
		if (b->state != BRIDGE_SETUP || b->pty) {
			ssh_message_reply_default(msg);
			break;
		}
		ssh_msg_pty(msg, &b->ptyinfo);
		if (b->ptyinfo.cols <= 0 || b->ptyinfo.cols > 10000)
			b->ptyinfo.cols = 80;
		if (b->ptyinfo.rows <= 0 || b->ptyinfo.rows > 10000)
			b->ptyinfo.rows = 24;
		b->pty = 1;
		ssh_message_channel_request_reply_success(msg);
		break;
	case SSH_CHANNEL_REQUEST_ENV:
		request_env(b, msg);
		break;
	case SSH_CHANNEL_REQUEST_WINDOW_CHANGE:
		request_window_change(b, msg);
		break;
	case SSH_CHANNEL_REQUEST_SHELL:
	case SSH_CHANNEL_REQUEST_EXEC:
		if (b->state != BRIDGE_SETUP) {
			ssh_message_reply_default(msg);
			break;
		}
		/* Answer first: the client waits for it before data. */
		ssh_message_channel_request_reply_success(msg);
		start(b, type == SSH_CHANNEL_REQUEST_EXEC ?
		    ssh_message_channel_request_command(msg) : NULL);
		break;
	case SSH_CHANNEL_REQUEST_SUBSYSTEM:
		if (b->state == BRIDGE_SETUP &&
		    ssh_message_channel_request_subsystem(msg) != NULL &&
		    strcmp(ssh_message_channel_request_subsystem(msg),
		    "sftp") == 0) {
			ssh_message_channel_request_reply_success(msg);
			start_sftp(b);
			break;
		}
		log_info("session %s channel %d: subsystem %s refused",
		    b->sess->id, b->id, log_escape(esc, sizeof(esc),
		    ssh_message_channel_request_subsystem(msg)));
		/* Accept it so that the client shows the reason, then end. */
		ssh_message_channel_request_reply_success(msg);
		refuse(b, "only the sftp subsystem is available through this"
		    " bastion");
		break;
	default:
		/* x11, agent forwarding and unknown requests. */
		ssh_message_reply_default(msg);
		break;
	}
}

/* --- the running bridge ---------------------------------------------------- */

static void
running_step(struct bridge *b)
{
	int down_closed = ssh_channel_is_closed(b->down);
	long r1 = 0, r2 = 0;

	if (!down_closed)
		r1 = pump_step(&b->to_down);
	if (!ssh_channel_is_closed(b->up) && !b->eof_sent_up)
		r2 = pump_step(&b->to_up);
	if (r1 > 0 || r2 > 0)
		b->sess->activity++;
	recording_tick(b);
	b->last_win_down = ssh_channel_window_size(b->down);
	b->last_win_up = ssh_channel_window_size(b->up);
	if (b->sftp_failed) {
		json_t *ev = json_pack("{s:s}", "error",
		    sftp_parse_error(b->sftp_parse));

		log_event(b, "sftp_parse_error", ev);
		log_error("session %s channel %d: sftp stream not followed"
		    " (%s); ending the channel", b->sess->id, b->id,
		    sftp_parse_error(b->sftp_parse));
		refuse(b, "the sftp stream could not be recorded; the channel"
		    " is closed");
		return;
	}
	if (b->record_failed) {
		log_error("session %s channel %d: recording failed; ending the"
		    " session", b->sess->id, b->id);
		refuse(b, "recording failed; the session is closed");
		return;
	}
	if (r1 < 0 || r2 < 0) {
		finish(b);
		return;
	}
	/*
	 * Once the target's EOF went down, the client's CLOSE may be only
	 * its answer to it: an OpenSSH ControlMaster closes a multiplexed
	 * session as soon as both directions have ended, before the exit
	 * status, which the target sends after its EOF (under load, on a
	 * later read).  Ending here would lose that status and the client
	 * would exit 255, so wait for the target to close.  A CLOSE before
	 * the target's EOF is a client that went away: end now, which
	 * closes the target's channel.
	 */
	if (down_closed && !b->eof_sent_down) {
		finish(b);
		return;
	}
	if (!b->eof_sent_up && ssh_channel_is_eof(b->down) &&
	    pump_drained(&b->to_up)) {
		ssh_channel_send_eof(b->up);
		b->eof_sent_up = 1;
	}
	if (!b->eof_sent_down && ssh_channel_is_eof(b->up) &&
	    pump_drained(&b->to_down)) {
		ssh_channel_send_eof(b->down);
		b->eof_sent_down = 1;
	}
	if (ssh_channel_is_closed(b->up) && pump_drained(&b->to_down) &&
	    ssh_channel_poll(b->up, 0) <= 0 && ssh_channel_poll(b->up, 1) <= 0)
		finish(b);
	else if (!ssh_is_connected(b->upstream->ssh)) {
		send_line(b, "hvbastion: connection to the target was lost");
		finish(b);
	}
}

int
bridge_step(struct bridge *b)
{
	switch (b->state) {
	case BRIDGE_SETUP:
		if (ssh_channel_is_closed(b->down))
			finish(b);
		break;
	case BRIDGE_MENU:
		menu_step(b);
		break;
	case BRIDGE_RUNNING:
		running_step(b);
		break;
	case BRIDGE_DONE:
		break;
	}
	return b->state == BRIDGE_DONE;
}

int
bridge_window_grew(const struct bridge *b)
{
	if (b->state != BRIDGE_RUNNING)
		return 0;
	return ssh_channel_window_size(b->down) > b->last_win_down ||
	    ssh_channel_window_size(b->up) > b->last_win_up;
}

int
bridge_needs_tick(const struct bridge *b)
{
	return b->state == BRIDGE_SETUP || b->state == BRIDGE_MENU ||
	    (b->cast != NULL && asciicast_pending(b->cast)) ||
	    session_log_pending(b->sess->log);
}

void
bridge_tick(struct bridge *b)
{
	if (b->state == BRIDGE_SETUP && time(NULL) > b->deadline) {
		refuse(b, "no shell or command requested in time");
		return;
	}
	if (b->state == BRIDGE_MENU && time(NULL) > b->deadline) {
		refuse(b, "no target chosen in time");
		return;
	}
	recording_tick(b);
}

struct bridge *
bridge_new(struct session *sess, ssh_channel down, int id)
{
	struct bridge *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	b->sess = sess;
	b->down = down;
	b->id = id;
	b->state = BRIDGE_SETUP;
	b->deadline = time(NULL) + sess->conf->stage_timeout;
	b->down_cb.userdata = b;
	b->down_cb.channel_signal_function = on_client_signal;
	b->down_cb.channel_data_function = on_data;
	b->down_cb.channel_eof_function = on_eof_or_close;
	b->down_cb.channel_close_function = on_eof_or_close;
	ssh_callbacks_init(&b->down_cb);
	ssh_set_channel_callbacks(down, &b->down_cb);
	clock_gettime(CLOCK_MONOTONIC, &b->started);
	return b;
}

ssh_channel
bridge_down_channel(const struct bridge *b)
{
	return b->down;
}

void
bridge_free(struct bridge *b)
{
	int i;

	if (b == NULL)
		return;
	if (b->state != BRIDGE_DONE)
		finish(b);
	/*
	 * libssh keeps a channel until both sides closed it, and may still
	 * fire its callbacks after ssh_channel_free(): detach them first.
	 */
	ssh_remove_channel_callbacks(b->down, &b->down_cb);
	if (b->up != NULL) {
		ssh_remove_channel_callbacks(b->up, &b->up_cb);
		ssh_channel_free(b->up);
	}
	if (b->upstream != NULL)
		session_upstream_release(b->sess, b->upstream);
	ssh_channel_free(b->down);
	for (i = 0; i < b->nenv; i++) {
		free(b->env[i].name);
		free(b->env[i].value);
	}
	free(b->command);
	sftp_parse_free(b->sftp_parse);
	for (i = 0; i < 3; i++)
		EVP_MD_CTX_free(b->md[i]);
	free(b);
}
