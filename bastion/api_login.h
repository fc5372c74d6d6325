/*
 * api_login.h - the two steps of an API login, through PAM.
 *
 *   password: the service api-pam-service (the site's password source:
 *             pam_unix, pam_sss, pam_pwdfile in the demo), with the
 *             conversation answering its one password prompt;
 *   TOTP:     the SSH side's service (pam-service, pam_hvbastion.so with
 *             pam_faillock), answering its code prompt, so that the TOTP
 *             store's replay protection and the lockout are the same for
 *             SSH and the API: one code works once, wherever it is typed.
 */
#ifndef HVB_API_LOGIN_H
#define HVB_API_LOGIN_H

#include <stddef.h>

#include "config.h"

/* 0 when PAM accepts; -1 with why (for the log, never the client). */
int	api_login_password(const struct config *, const char *person,
	    const char *password, const char *rhost, char *why, size_t whylen);
int	api_login_totp(const struct config *, const char *person,
	    const char *code, const char *rhost, char *why, size_t whylen);

#endif
