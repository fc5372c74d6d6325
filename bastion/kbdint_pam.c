/*
 * kbdint_pam.c - the keyboard-interactive to PAM bridge, monitor side.
 *
 * It runs in the SSH monitor (ssh_monitor.h), which reads no byte of the
 * client: each prompt goes to the network child through the caller's ask
 * function and the answer comes back the same way.  The dialogue is
 * blocking (under the monitor's login grace alarm), so the conversation
 * function simply waits for each answer before it returns to the module.
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
	kbdint_ask_fn	 ask;
	void		*arg;
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

/*
 * One round per prompt (a module that asks two things at once gets two
 * rounds): the child shows one question at a time, and PAM's messages
 * so far as the first round's instruction.
 */
static int
conversation(int n, const struct pam_message **pm, struct pam_response **out,
    void *arg)
{
	struct kbdint_conv *kc = arg;
	struct pam_response *r;
	char *answer;
	int i;

	*out = NULL;
	if (n <= 0 || n > KBDINT_MAX_PROMPTS || kc->client_gone)
		return PAM_CONV_ERR;
	if ((r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_BUF_ERR;
	for (i = 0; i < n; i++) {
		switch (pm[i]->msg_style) {
		case PAM_PROMPT_ECHO_ON:
		case PAM_PROMPT_ECHO_OFF:
			answer = NULL;
			if (kc->ask(kc->arg, kc->info, pm[i]->msg ?
			    pm[i]->msg : "", pm[i]->msg_style ==
			    PAM_PROMPT_ECHO_ON, &answer) < 0) {
				kc->client_gone = 1;
				free_responses(r, n);
				return PAM_CONV_ERR;
			}
			kc->info[0] = '\0';
			if (strlen(answer) > KBDINT_ANSWER_MAX) {
				explicit_bzero(answer, strlen(answer));
				free(answer);
				free_responses(r, n);
				return PAM_CONV_ERR;
			}
			r[i].resp = answer;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			add_info(kc, pm[i]->msg);
			break;
		default:
			free_responses(r, n);
			return PAM_CONV_ERR;
		}
	}
	*out = r;
	return PAM_SUCCESS;
}

int
kbdint_pam_run(const struct config *conf, const char *person,
    const char *rhost, kbdint_ask_fn ask, void *arg, char *why, size_t whylen)
{
	struct kbdint_conv kc;
	struct pam_conv conv = { conversation, &kc };
	pam_handle_t *pamh = NULL;
	int rc;

	memset(&kc, 0, sizeof(kc));
	kc.person = person;
	kc.ask = ask;
	kc.arg = arg;
	rc = pam_start_confdir(conf->pam_service, person, &conv,
	    conf->pam_directory, &pamh);
	if (rc != PAM_SUCCESS) {
		snprintf(why, whylen, "PAM service %s: %s", conf->pam_service,
		    pam_strerror(pamh, rc));
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
	return rc == PAM_SUCCESS ? 0 : -1;
}
