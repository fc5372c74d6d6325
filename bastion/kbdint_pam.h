/*
 * kbdint_pam.h - the keyboard-interactive to PAM bridge.
 *
 * Runs the PAM service (pam_start_confdir, so tests and the demo use their
 * own PAM directory) for a person, turning each PAM conversation call into
 * one SSH keyboard-interactive round: prompts with their echo flags, and
 * PAM's info and error messages as the round's instruction text.  Then
 * pam_acct_mgmt, so pam_faillock's lock and expiry are honoured.
 */
#ifndef HVB_KBDINT_PAM_H
#define HVB_KBDINT_PAM_H

#include <stddef.h>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "config.h"

/*
 * msg is the client's keyboard-interactive request; *last receives the
 * message to answer (the last response, or msg itself), which the caller
 * replies to and frees.  Returns 0 when PAM says yes, -1 otherwise with
 * the reason in why.
 */
int	kbdint_pam_run(ssh_session, const struct config *, const char *person,
	    const char *rhost, ssh_message msg, ssh_message *last, char *why,
	    size_t whylen);

#endif
