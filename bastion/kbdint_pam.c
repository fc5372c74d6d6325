/*
 * kbdint_pam.c - the keyboard-interactive to PAM bridge.
 *
 * The authentication phase is blocking (under the login grace alarm), so
 * the PAM conversation function can simply send an INFO_REQUEST and wait
 * for the client's INFO_RESPONSE before it returns to the module.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "audit.h"
#include "kbdint_pam.h"
#include "log.h"

#define KBDINT_MAX_PROMPTS	8
#define KBDINT_INFO_MAX		1024
#define KBDINT_ANSWER_MAX	1024

struct kbdint_conv {
	const char	*person;
	ssh_session	 ssh;
	ssh_message	 msg;		/* the message the next reply answers */
	char		 info[KBDINT_INFO_MAX];	/* text waiting for a round */
	int		 client_gone;
	char		 lock_msg[256];	/* pam_faillock: "The account is locked" */
};

static void
add_info(struct kbdint_conv *kc, const char *text)
{
	size_t len = strlen(kc->info);
	char esc[256];

	if (text == NULL)
		return;
	/* What PAM tells the person (a lock, an expiry) is worth a log line. */
	log_info("PAM message to %s: %s", kc->person,
	    log_escape(esc, sizeof(esc), text));
	/* pam_faillock says so when a lock is in force (audited below). */
	if (strstr(text, "account is locked") != NULL)
		snprintf(kc->lock_msg, sizeof(kc->lock_msg), "%s", text);
	snprintf(kc->info + len, sizeof(kc->info) - len, "%s%s", text,
	    text[0] != '\0' && text[strlen(text) - 1] != '\n' ? "\n" : "");
}

/* Waits for the client's answer to the round just sent. */
static ssh_message
wait_response(struct kbdint_conv *kc)
{
	for (;;) {
		ssh_message m = ssh_message_get(kc->ssh);

		if (m == NULL)
			return NULL;
		if (ssh_message_type(m) == SSH_REQUEST_AUTH &&
		    ssh_message_subtype(m) == SSH_AUTH_METHOD_INTERACTIVE &&
		    ssh_message_auth_kbdint_is_response(m))
			return m;
		/* Anything else abandons this round: PAM gets an error. */
		ssh_message_reply_default(m);
		ssh_message_free(m);
		return NULL;
	}
}

static void
free_responses(struct pam_response *r, int n)
{
	int i;

	if (r == NULL)
		return;
	for (i = 0; i < n; i++)
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	free(r);
}

static int
conversation(int n, const struct pam_message **pm, struct pam_response **out,
    void *arg)
{
	struct kbdint_conv *kc = arg;
	struct pam_response *r;
	const char *prompts[KBDINT_MAX_PROMPTS];
	char echo[KBDINT_MAX_PROMPTS];
	int idx[KBDINT_MAX_PROMPTS];
	int i, np = 0;
	ssh_message answer;

	*out = NULL;
	if (n <= 0 || n > KBDINT_MAX_PROMPTS || kc->client_gone)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (pm[i]->msg_style) {
		case PAM_PROMPT_ECHO_ON:
		case PAM_PROMPT_ECHO_OFF:
			prompts[np] = pm[i]->msg ? pm[i]->msg : "";
			echo[np] = pm[i]->msg_style == PAM_PROMPT_ECHO_ON;
			idx[np++] = i;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			add_info(kc, pm[i]->msg);
			break;
		default:
			free(r);
			return PAM_CONV_ERR;
		}
	}
	if (np == 0) {
		/* Only messages: they open the next round's instruction. */
		*out = r;
		return PAM_SUCCESS;
	}
	if (ssh_message_auth_interactive_request(kc->msg, "", kc->info, np,
	    prompts, echo) != SSH_OK) {
		free(r);
		return PAM_CONV_ERR;
	}
	kc->info[0] = '\0';
	if ((answer = wait_response(kc)) == NULL) {
		kc->client_gone = 1;
		free(r);
		return PAM_CONV_ERR;
	}
	if (kc->msg != NULL)
		ssh_message_free(kc->msg);
	kc->msg = answer;
	if (ssh_userauth_kbdint_getnanswers(kc->ssh) != np) {
		free(r);
		return PAM_CONV_ERR;
	}
	for (i = 0; i < np; i++) {
		const char *a = ssh_userauth_kbdint_getanswer(kc->ssh,
		    (unsigned)i);

		if (a == NULL || strlen(a) > KBDINT_ANSWER_MAX ||
		    (r[idx[i]].resp = strdup(a)) == NULL) {
			free_responses(r, n);
			return PAM_CONV_ERR;
		}
	}
	*out = r;
	return PAM_SUCCESS;
}

int
kbdint_pam_run(ssh_session ssh, const struct config *conf, const char *person,
    const char *rhost, ssh_message msg, ssh_message *last, char *why,
    size_t whylen)
{
	struct kbdint_conv kc;
	struct pam_conv conv = { conversation, &kc };
	pam_handle_t *pamh = NULL;
	int rc;

	memset(&kc, 0, sizeof(kc));
	kc.person = person;
	kc.ssh = ssh;
	kc.msg = msg;
	rc = pam_start_confdir(conf->pam_service, person, &conv,
	    conf->pam_directory, &pamh);
	if (rc != PAM_SUCCESS) {
		snprintf(why, whylen, "PAM service %s: %s", conf->pam_service,
		    pam_strerror(pamh, rc));
		*last = kc.msg;
		return -1;
	}
	pam_set_item(pamh, PAM_RHOST, rhost);
	pam_set_item(pamh, PAM_TTY, "ssh");
	rc = pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, PAM_DISALLOW_NULL_AUTHTOK);
	if (rc != PAM_SUCCESS)
		snprintf(why, whylen, "%s", kc.client_gone ?
		    "the client did not answer" : pam_strerror(pamh, rc));
	pam_end(pamh, rc);
	if (kc.lock_msg[0] != '\0') {
		struct audit_event ev;

		memset(&ev, 0, sizeof(ev));
		ev.kind = AUDIT_LOCKOUT;
		ev.person = person;
		ev.source_addr = rhost;
		ev.action = "pam_faillock";
		ev.outcome = "locked";
		ev.detail = kc.lock_msg;
		audit_emit(&ev);
	}
	*last = kc.msg;
	return rc == PAM_SUCCESS ? 0 : -1;
}
