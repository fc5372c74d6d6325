/*
 * api_login.c - PAM for the API login (api_login.h).
 *
 * The conversation answers exactly one secret prompt with the secret the
 * client sent, and fails any further prompt: a stack that asks twice
 * (a password then a code, say) is misconfigured for this step, and the
 * secret must not be handed to a prompt it was not meant for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

#include "api_login.h"
#include "log.h"

struct api_conv {
	const char	*secret;
	int		 answered;
};

static int
conversation(int n, const struct pam_message **pm, struct pam_response **out,
    void *arg)
{
	struct api_conv *c = arg;
	struct pam_response *r;
	int i;

	*out = NULL;
	if (n <= 0 || n > 8 || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (i = 0; i < n; i++) {
		switch (pm[i]->msg_style) {
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			if (c->answered ||
			    (r[i].resp = strdup(c->secret)) == NULL)
				goto fail;
			c->answered = 1;
			break;
		case PAM_ERROR_MSG:
		case PAM_TEXT_INFO:
			break;
		default:
			goto fail;
		}
	}
	*out = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++)
		if (r[i].resp != NULL) {
			explicit_bzero(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	free(r);
	return PAM_CONV_ERR;
}

static int
run(const struct config *conf, const char *service, const char *person,
    const char *secret, const char *rhost, char *why, size_t whylen)
{
	struct api_conv c = { secret, 0 };
	struct pam_conv conv = { conversation, &c };
	pam_handle_t *pamh = NULL;
	int rc;

	rc = pam_start_confdir(service, person, &conv, conf->pam_directory,
	    &pamh);
	if (rc != PAM_SUCCESS) {
		snprintf(why, whylen, "PAM service %s: %s", service,
		    pam_strerror(pamh, rc));
		return -1;
	}
	pam_set_item(pamh, PAM_RHOST, rhost);
	pam_set_item(pamh, PAM_TTY, "api");
	rc = pam_authenticate(pamh, PAM_DISALLOW_NULL_AUTHTOK);
	if (rc == PAM_SUCCESS)
		rc = pam_acct_mgmt(pamh, PAM_DISALLOW_NULL_AUTHTOK);
	if (rc != PAM_SUCCESS)
		snprintf(why, whylen, "%s: %s", service,
		    pam_strerror(pamh, rc));
	pam_end(pamh, rc);
	return rc == PAM_SUCCESS ? 0 : -1;
}

int
api_login_password(const struct config *conf, const char *person,
    const char *password, const char *rhost, char *why, size_t whylen)
{
	return run(conf, conf->api_pam_service, person, password, rhost, why,
	    whylen);
}

int
api_login_totp(const struct config *conf, const char *person,
    const char *code, const char *rhost, char *why, size_t whylen)
{
	return run(conf, conf->pam_service, person, code, rhost, why, whylen);
}
