/*
 * ssh_monitor.h - privilege separation of an SSH connection before
 * authentication, after OpenSSH's monitor.
 *
 * The master forks one process per SSH connection (listener.c).  That
 * process splits in two before any byte of the client is read:
 *
 *   the monitor (the parent, not sandboxed) parses no network byte.  It
 *   keeps the key holder's socket (keyholder.h), the startup pipe and the
 *   login grace alarm, mints the session id, and answers the SSH_
 *   whitelist of api_mon_proto.h on one SOCK_SEQPACKET socket: the
 *   publickey step (the key must be the person's, and due), the
 *   keyboard-interactive step (PAM runs here: pam_unix's helper, the
 *   TOTP state, pam_faillock's tallies are the monitor's, never the
 *   child's), and "done": only when every step of auth-methods passed,
 *   in order, for one person, does it bind the key holder's socket to
 *   that person and session (KH_REQ_IDENTIFY) and pass it to the child.
 *   Anything out of turn, for another person, or out of shape is refused
 *   and ends the connection; past max-auth-tries failed steps, too.
 *
 *   the network child closes the startup pipe, enters sandbox_enter()
 *   before the key exchange (session.c), and only then reads the client:
 *   key exchange, the authentication dialogue (auth.c), the session.
 *   It keeps its client socket, the host key, the audit journal and new
 *   recording files; it gets the key holder's socket once authenticated.
 *
 * What a child taken over before authentication gets: the host key, and
 * the publickey step of a person whose public key it names (the monitor
 * cannot check the signature, which libssh verified in the child); not
 * the keyboard-interactive step, so not a person, a target or a key
 * where auth-methods asks for PAM (the default asks for both).
 */
#ifndef HVB_SSH_MONITOR_H
#define HVB_SSH_MONITOR_H

#include <stddef.h>

#include <libssh/libssh.h>
#include <libssh/server.h>

#include "config.h"

/*
 * Splits the connection's process.  Returns in the network child only:
 * the socket to the monitor (>= 0), with the key holder's socket and the
 * startup pipe closed, and session_id (at least SESSION_ID_LEN + 1
 * bytes) the session's id; -1 when the split failed.  The monitor never
 * returns (it exits when the child is gone, with the status that the
 * master reads: SESSION_EXIT_GRACE when the login grace time ran out).
 */
int	ssh_monitor_split(const struct config *, const char *addr, int port,
	    int startup_fd, char *session_id, size_t len);

/* --- the network child's side (ssh_mon_client.c) ----------------------- */

void	ssh_mon_client_init(int fd);
/* The publickey step for person with the key of fingerprint fp: 0 when
 * the monitor counts it, -1 with why. */
int	ssh_mon_key(const char *person, const char *fp, char *why,
	    size_t whylen);
/*
 * The keyboard-interactive step: the monitor runs PAM for person, each
 * prompt one round with the client (ssh, the request msg; *last ends as
 * the message to answer, which the caller replies to and frees).  0 when
 * PAM said yes, -1 with why.
 */
int	ssh_mon_pam(ssh_session ssh, const char *person, ssh_message msg,
	    ssh_message *last, char *why, size_t whylen);
/* Every step done: the monitor audits the login (target and login from
 * the login name, "" for none) and gives the key holder's socket bound
 * to person (>= 0), or -1 with why. */
int	ssh_mon_done(const char *person, const char *target,
	    const char *login, char *why, size_t whylen);

#endif
