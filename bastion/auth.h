/*
 * auth.h - client authentication on libssh's message API.
 *
 * A list of required methods, satisfied in order (OpenSSH's
 * AuthenticationMethods "publickey,keyboard-interactive"): each method but
 * the last answers "partial success" and offers only the next one.  The user
 * name may not change between steps.  The list comes from "auth-methods"
 * (default publickey,keyboard-interactive); keyboard-interactive runs the
 * PAM service in the monitor (ssh_monitor.h, kbdint_pam.c), which counts
 * every step too and, at the end, gives the key holder's socket.
 */
#ifndef HVB_AUTH_H
#define HVB_AUTH_H

#include <libssh/libssh.h>

#include "config.h"
#include "target_choice.h"

struct auth_result {
	const struct config_user *user;
	struct target_choice	 choice;	/* from the login name */
	char			 key_fp[128];	/* SHA256:... of the key */
	char			 methods[64];	/* "publickey,keyboard-..." */
	int			 kh_fd;		/* the key holder's socket, bound
						   to user by the monitor */
};

/*
 * Runs the authentication dialogue (blocking; the caller's grace alarm
 * bounds it).  Returns 0 when the person is authenticated, -1 otherwise
 * (the reason is logged).
 */
int	auth_run(ssh_session, const struct config *, const char *peer,
	    const char *peer_addr, struct auth_result *);

#endif
