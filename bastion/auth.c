/*
 * auth.c - client authentication on libssh's message API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libssh/server.h>

#include "audit.h"
#include "auth.h"
#include "keys.h"
#include "log.h"
#include "ssh_monitor.h"
#include "ssh_msg.h"
#ifdef HVB_TEST_HOOKS
#include "testhooks.h"
#endif

struct auth_ctx {
	ssh_session		 ssh;
	const struct config	*conf;
	const char		*peer;
	const char		*peer_addr;
	int			 peer_port;
	char			 first_user[256];	/* as sent, escaped */
	int			 have_user;
	int			 user_parse_error;
	const struct config_user *user;
	struct target_choice	 choice;
	const enum config_auth_method *steps;	/* from the configuration */
	int			 nsteps, next;
	int			 failures;
	char			 key_fp[128];
	char			 raw_user[256];	/* as sent, for the audit */
	int			 kh_fd;		/* from the monitor, at the end */
};

/* The audit event of an authentication step (audit.h). */
static int
auth_audit(struct auth_ctx *a, enum audit_kind kind, const char *method,
    const char *reason)
{
	struct audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = kind;
	ev.person = a->user != NULL ? a->user->name : a->raw_user;
	ev.source_addr = a->peer_addr;
	ev.source_port = a->peer_port;
	ev.target = a->choice.target[0] ? a->choice.target : NULL;
	ev.login = a->choice.login[0] ? a->choice.login : NULL;
	ev.action = method;
	ev.outcome = kind == AUDIT_AUTH_SUCCESS ? "success" : "failure";
	ev.detail = reason;
	return audit_emit(&ev);
}

static int
step_method(enum config_auth_method m)
{
	return m == AUTH_PUBLICKEY ? SSH_AUTH_METHOD_PUBLICKEY :
	    SSH_AUTH_METHOD_INTERACTIVE;
}

static int
key_is_users(const struct config_user *u, ssh_key offered)
{
	size_t i;

	for (i = 0; i < u->npublic_keys; i++) {
		ssh_key k = NULL;
		int same;

		if (keys_import_line(u->public_keys[i], &k) < 0)
			continue;
		same = ssh_key_cmp(k, offered, SSH_KEY_CMP_PUBLIC) == 0;
		ssh_key_free(k);
		if (same)
			return 1;
	}
	return 0;
}

/* Answers a failed request, offering the method still required. */
static void
reply_failure(struct auth_ctx *a, ssh_message msg, const char *method,
    const char *reason)
{
	a->failures++;
	log_info("authentication failed for %s from %s: method %s: %s"
	    " (attempt %d of %d)", a->first_user, a->peer, method, reason,
	    a->failures, a->conf->max_auth_tries);
	auth_audit(a, AUDIT_AUTH_FAILURE, method, reason);
	ssh_message_auth_set_methods(msg, step_method(a->steps[a->next]));
	ssh_message_reply_default(msg);
}

/* A required step succeeded: finish, or ask for the next one. */
static int
step_done(struct auth_ctx *a, ssh_message msg)
{
	char why[256];

	a->next++;
	if (a->next < a->nsteps) {
		ssh_message_auth_set_methods(msg,
		    step_method(a->steps[a->next]));
		ssh_message_auth_reply_success(msg, 1);
		return 0;
	}
	/*
	 * The monitor, which counted every step, audits the login (fail
	 * closed: one that cannot be audited is refused) and binds the key
	 * holder's socket to the person (ssh_monitor.h); without it, no
	 * session.
	 */
	if ((a->kh_fd = ssh_mon_done(a->user->name, a->choice.target,
	    a->choice.login, why, sizeof(why))) < 0) {
		log_error("refusing %s from %s: %s", a->first_user, a->peer,
		    why);
		ssh_message_reply_default(msg);
		a->failures = a->conf->max_auth_tries;	/* ends the dialogue */
		return 0;
	}
	ssh_message_auth_reply_success(msg, 0);
	return 1;
}

static int
handle_publickey(struct auth_ctx *a, ssh_message msg)
{
	ssh_key key = ssh_msg_auth_key(msg);
	char fp[128], why[256];

	if (a->steps[a->next] != AUTH_PUBLICKEY || key == NULL) {
		reply_failure(a, msg, "publickey", "method not expected now");
		return 0;
	}
	keys_fingerprint(key, fp, sizeof(fp));
	if (a->user == NULL || !key_is_users(a->user, key)) {
		reply_failure(a, msg, "publickey", a->user == NULL ?
		    "unknown user" : "key not registered for this user");
		return 0;
	}
	if (ssh_msg_auth_is_probe(msg)) {
		/* "Would this key do?" - yes; no failure counted. */
		ssh_message_auth_reply_pk_ok_simple(msg);
		return 0;
	}
	/* Require the signature ourselves: libssh passes WRONG states on. */
	if (!ssh_msg_auth_signature_valid(msg)) {
		reply_failure(a, msg, "publickey", "invalid signature");
		return 0;
	}
	if (ssh_mon_key(a->user->name, fp, why, sizeof(why)) < 0) {
		reply_failure(a, msg, "publickey", why);
		return 0;
	}
	snprintf(a->key_fp, sizeof(a->key_fp), "%s", fp);
	log_info("accepted publickey %s for %s from %s", fp, a->first_user,
	    a->peer);
	return step_done(a, msg);
}

/*
 * Keyboard-interactive through PAM.  The conversation may exchange several
 * messages with the client; *msgp ends as the one to answer.
 */
static int
handle_kbdint(struct auth_ctx *a, ssh_message *msgp)
{
	char why[256];
	ssh_message last = NULL;

	if (a->steps[a->next] != AUTH_KBDINT) {
		reply_failure(a, *msgp, "keyboard-interactive",
		    "method not expected now");
		return 0;
	}
	/*
	 * A name we do not know still gets the same conversation, so that
	 * the prompts do not tell which names exist (this matters when
	 * keyboard-interactive comes first).  PAM runs for a reserved name,
	 * never for the name sent: that could be a local account whose
	 * password PAM would then check for the client.  It always fails.
	 * PAM itself runs in the monitor (ssh_monitor.h).
	 */
	if (ssh_mon_pam(a->ssh, a->user != NULL ? a->user->name :
	    CONFIG_RESERVED_PERSON, *msgp, &last, why, sizeof(why)) < 0 ||
	    a->user == NULL) {
		if (a->user == NULL)
			snprintf(why, sizeof(why), "unknown user");
		*msgp = last;
		if (last != NULL)
			reply_failure(a, last, "keyboard-interactive", why);
		else {
			a->failures++;
			log_info("authentication failed for %s from %s:"
			    " keyboard-interactive: %s", a->first_user,
			    a->peer, why);
			auth_audit(a, AUDIT_AUTH_FAILURE,
			    "keyboard-interactive", why);
		}
		return 0;
	}
	*msgp = last;
	log_info("accepted keyboard-interactive (PAM service %s) for %s from"
	    " %s", a->conf->pam_service, a->first_user, a->peer);
	return step_done(a, last);
}

/* The first request fixes the user name; later ones must repeat it. */
static int
check_user(struct auth_ctx *a, const char *user)
{
	char esc[256];

	log_escape(esc, sizeof(esc), user ? user : "");
	if (!a->have_user) {
		int rc;

		a->have_user = 1;
		snprintf(a->first_user, sizeof(a->first_user), "%s", esc);
		snprintf(a->raw_user, sizeof(a->raw_user), "%s",
		    user ? user : "");
#ifdef HVB_TEST_HOOKS
		testhooks_preauth(a->conf, a->raw_user);
#endif
		rc = target_choice_from_user(user ? user : "", &a->choice);
		if (rc != TARGET_CHOICE_OK) {
			a->user_parse_error = 1;
			log_info("refusing login name %s from %s: %s", esc,
			    a->peer, target_choice_strerror(rc));
			auth_audit(a, AUDIT_AUTH_FAILURE, "none",
			    target_choice_strerror(rc));
		} else
			a->user = config_find_user(a->conf, a->choice.person);
		return 0;
	}
	if (strcmp(esc, a->first_user) != 0) {
		log_info("authentication failed for %s from %s: user name"
		    " changed to %s during authentication", a->first_user,
		    a->peer, esc);
		return -1;
	}
	return 0;
}

int
auth_run(ssh_session ssh, const struct config *conf, const char *peer,
    const char *peer_addr, struct auth_result *out)
{
	struct auth_ctx a;
	int done = 0;

	memset(&a, 0, sizeof(a));
	memset(out, 0, sizeof(*out));
	a.ssh = ssh;
	a.conf = conf;
	a.peer = peer;
	a.peer_addr = peer_addr;
	/* peer is "ADDRESS port N" (session.c). */
	if (strrchr(peer, ' ') != NULL)
		a.peer_port = (int)strtol(strrchr(peer, ' ') + 1, NULL, 10);
	a.steps = conf->auth_methods;
	a.nsteps = conf->nauth_methods;
	a.kh_fd = -1;
	out->kh_fd = -1;
	snprintf(a.first_user, sizeof(a.first_user), "(none)");

	while (!done) {
		ssh_message msg = ssh_message_get(ssh);

		if (msg == NULL) {
			log_info("authentication failed for %s from %s:"
			    " connection ended before authentication (%s)",
			    a.first_user, peer, ssh_get_error(ssh));
			return -1;
		}
		if (ssh_message_type(msg) == SSH_REQUEST_SERVICE &&
		    strcmp(ssh_message_service_service(msg),
		    "ssh-userauth") == 0) {
			ssh_message_service_reply_success(msg);
			ssh_message_free(msg);
			continue;
		}
		if (ssh_message_type(msg) != SSH_REQUEST_AUTH) {
			/* Anything else before authentication ends it. */
			log_info("authentication failed for %s from %s:"
			    " request of type %d before authentication",
			    a.first_user, peer, ssh_message_type(msg));
			ssh_message_reply_default(msg);
			ssh_message_free(msg);
			return -1;
		}
		if (check_user(&a, ssh_message_auth_user(msg)) < 0) {
			ssh_message_free(msg);
			return -1;
		}
		switch (ssh_message_subtype(msg)) {
		case SSH_AUTH_METHOD_NONE:
			/* The client asks which methods exist: not a try. */
			ssh_message_auth_set_methods(msg,
			    step_method(a.steps[a.next]));
			ssh_message_reply_default(msg);
			break;
		case SSH_AUTH_METHOD_PUBLICKEY:
			done = handle_publickey(&a, msg);
			break;
		case SSH_AUTH_METHOD_PASSWORD:
			reply_failure(&a, msg, "password", "not enabled");
			break;
		case SSH_AUTH_METHOD_INTERACTIVE:
			done = handle_kbdint(&a, &msg);
			break;
		default:
			reply_failure(&a, msg, "other", "not enabled");
			break;
		}
		if (msg != NULL)
			ssh_message_free(msg);
		if (!done && a.failures >= conf->max_auth_tries) {
			log_info("authentication failed for %s from %s: too"
			    " many attempts", a.first_user, peer);
			return -1;
		}
	}
	if (a.user == NULL || a.user_parse_error)
		return -1;	/* unreachable: a key matched a known user */
	out->user = a.user;
	out->choice = a.choice;
	out->kh_fd = a.kh_fd;
	snprintf(out->key_fp, sizeof(out->key_fp), "%s", a.key_fp);
	config_auth_methods_name(conf, out->methods, sizeof(out->methods));
	return 0;
}
