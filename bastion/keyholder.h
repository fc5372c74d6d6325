/*
 * keyholder.h - the key holder: the one process that holds the egress
 * private keys (credential key-files) and the recordings' sealing key.
 *
 * The master forks it at start, before any connection and before dropping
 * privileges.  Each connection's process gets a SOCK_SEQPACKET socketpair
 * to it (the master passes the key holder's end over its control socket
 * with the process's pid and source address).  Its monitor keeps that
 * socket; for SSH it first sends IDENTIFY person session, once the person
 * is authenticated (ssh_monitor.h), and then hands the socket to the
 * network child, which may only ask (kh_proto.h):
 *   - CONNECT person target credential session: the key holder re-runs
 *     policy_decide() with its own copy of the configuration (re-read on
 *     SIGHUP like the master's), and only when the person may reach that
 *     target with that credential's login, connects to the target and
 *     returns the TCP socket plus an ssh-agent socket bound to that one
 *     credential, on which it signs only an SSH publickey
 *     USERAUTH_REQUEST for that login (at most a few per socket);
 *   - SEAL basename lines bytes chain: the HMAC seal of a recording.
 * A CONNECT on a socket no IDENTIFY bound, or for another person or
 * session, is refused; the API monitor's first API_AUTH binds its socket
 * (the API child never holds it).  Everything else is refused and logged, and the key holder never reads from a child more
 * than one bounded message at a time.  So a child taken over by a hostile
 * client can reach at most what the person its monitor authenticated may
 * reach, and can never read a private key.
 */
#ifndef HVB_KEYHOLDER_H
#define HVB_KEYHOLDER_H

#include <sys/types.h>

#include "config.h"
#include "privdrop.h"

/*
 * Forks the key holder (it calls close_inherited, loads the keys, then
 * drops to pd's user when pd is not NULL) and returns the master's
 * control socket, or -1.
 */
int	keyholder_start(const struct config *, const struct privdrop *pd,
	    void (*close_inherited)(void), pid_t *pid);
/*
 * Master: a new child.  Creates its socketpair, passes one end to the key
 * holder with pid and source, and returns the child's end (or -1).  Call
 * before fork with pid 0, then keyholder_announce() once the pid is known.
 */
int	keyholder_child_socket(int *kh_end);
int	keyholder_announce(int ctl, pid_t child, const char *source,
	    int kh_end);
/* Master: SIGHUP forwarded, so both re-read the same file. */
void	keyholder_reload(pid_t);
/*
 * The key holder's policy generation: a counter in a shared page that the
 * key holder alone writes, bumped once it has installed a re-read
 * configuration (0 before keyholder_start() or without the page).  An API
 * monitor keeps a granted held token only while this has not moved
 * (api_monitor.c), so a reload takes effect on its next call.
 */
unsigned long	keyholder_generation(void);
/* A process that has no use for the page unmaps it. */
void		keyholder_generation_forget(void);
/* Its address here (NULL without it): the test build's check that the
 * mapping cannot be made writable. */
const void	*keyholder_generation_page(void);

#endif
