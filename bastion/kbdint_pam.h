/*
 * kbdint_pam.h - the keyboard-interactive to PAM bridge, run by the SSH
 * monitor (ssh_monitor.h).
 *
 * Runs the PAM service (pam_start_confdir, so tests and the demo use their
 * own PAM directory) for a person, turning each prompt of a PAM
 * conversation into one SSH keyboard-interactive round (asked by the
 * network child), with PAM's info and error messages as the round's
 * instruction text.  Then pam_acct_mgmt, so pam_faillock's lock and
 * expiry are honoured; a lock is audited.
 */
#ifndef HVB_KBDINT_PAM_H
#define HVB_KBDINT_PAM_H

#include <stddef.h>

#include "config.h"

/*
 * One round: info (PAM's messages since the last round, maybe ""), one
 * prompt and its echo flag; *answer gets the client's answer (malloc'd,
 * wiped and freed by PAM).  0, or -1 when there is none (the client went
 * away or the round failed).
 */
typedef int (*kbdint_ask_fn)(void *arg, const char *info, const char *prompt,
	    int echo, char **answer);

/* Returns 0 when PAM says yes, -1 otherwise with the reason in why. */
int	kbdint_pam_run(const struct config *, const char *person,
	    const char *rhost, kbdint_ask_fn ask, void *arg, char *why,
	    size_t whylen);

#endif
