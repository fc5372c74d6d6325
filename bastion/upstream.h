/*
 * upstream.h - the bastion's own SSH connections to targets.
 *
 * One connection per (target, credential) in a child, shared by the
 * channels that use it (an OpenSSH ControlMaster brings several).  The
 * target's host key must equal the pinned one before any credential is
 * used.  The key holder connects and signs (keyholder.h): this process
 * never holds the private key.
 */
#ifndef HVB_UPSTREAM_H
#define HVB_UPSTREAM_H

#include <stddef.h>

#include <libssh/libssh.h>

#include "config.h"

enum upstream_err {
	UPSTREAM_OK = 0,
	UPSTREAM_CONNECT_FAILED = -1,
	UPSTREAM_HOSTKEY_MISMATCH = -2,
	UPSTREAM_AUTH_FAILED = -3,
	UPSTREAM_INTERNAL = -4,
};

struct upstream {
	ssh_session			 ssh;
	const struct config_target	*target;
	const struct config_credential	*credential;
	int				 refs;
	int				 in_event;
	struct upstream			*next;
};

/*
 * Connects and authenticates (blocking, bounded by the configured
 * connect-timeout).  On error, why[] says what the user may be told and
 * the details are logged.
 */
int	upstream_connect(const struct config *, const struct config_target *,
	    const struct config_credential *, struct upstream **,
	    char *why, size_t whylen);
void	upstream_free(struct upstream *);

/*
 * The options of an upstream session for t and c (host, user, algorithms,
 * the host key algorithm of the pinned key, nothing read from files).
 * Also used by the test build's separation-off path (testhooks.h).
 */
int	upstream_set_options(ssh_session, const struct config *,
	    const struct config_target *, const struct config_credential *,
	    enum ssh_keytypes_e);

#endif
