/*
 * api_monitor.h - privilege separation of the Proxmox API front (issues
 * 7 and 8), after OpenSSH's monitor.
 *
 * The master forks one process per HTTPS connection (listener.c).  That
 * process splits in two before any byte of the client is read:
 *
 *   the monitor (the parent, not sandboxed) parses no network byte.  It
 *   keeps the key holder's socket (keyholder.h), the startup pipe, the
 *   audit journal and the ticket key, and answers the whitelist of
 *   api_mon_proto.h on one SOCK_SEQPACKET socket: PAM login and TOTP,
 *   tickets and CSRF tokens (minted and checked with the key only it
 *   holds), personal API tokens (checked against the token store, cached
 *   by modification time), the held Proxmox token of the caller's role
 *   (asked of the key holder, which decides with policy_decide_api()),
 *   TCP connections to configured nodes only (passed by SCM_RIGHTS), and
 *   console recording seals.  It binds the connection to the first person
 *   it authenticates; requests for another person, and anything out of
 *   shape, are refused, logged and audited.
 *
 *   the network child (sandboxed, api_server.c) wipes the ticket key,
 *   closes the key holder's socket and the startup pipe, enters
 *   sandbox_enter() and only then reads the client: TLS, HTTP, policy
 *   (to answer 403 and filter lists), the node's TLS and pin check.  It
 *   keeps its client socket, the audit journal, its pooled node
 *   connections, new recording files and the socket to the monitor.
 *
 * Why the monitor, not the key holder, serves login, tickets and node
 * connections: PAM needs files, NSS and helper processes; the ticket key
 * is per daemon but its checks are per request; and a per-connection
 * monitor knows which person this connection proved, so the key holder
 * (one process for all connections) is told a person only by a process
 * that authenticated it.  Held Proxmox token secrets stay in the key
 * holder alone.
 */
#ifndef HVB_API_MONITOR_H
#define HVB_API_MONITOR_H

#include <stddef.h>

#include "api_mon_proto.h"
#include "config.h"

/*
 * Splits the connection's process.  Returns in the network child only:
 * the socket to the monitor (>= 0), with the ticket key wiped and the key
 * holder's socket and the startup pipe closed; -1 when the split failed.
 * The monitor never returns (it exits when the child is gone).
 */
int	api_monitor_split(const struct config *, int client_fd,
	    const char *addr, int port, int startup_fd);

/* --- the network child's side (api_mon_client.c) ----------------------- */

/*
 * Encodes m, wipes it, and sends it on sock with pass_fd (-1: none) as
 * SCM_RIGHTS: both monitors' answers and the SSH child's requests.  0 or
 * -1.
 */
int	api_mon_send(int sock, struct api_mon_msg *m, int pass_fd);
/*
 * Waits for one message on sock and decodes it into *m (the bytes are
 * wiped): 1, or 0 when the peer is gone, or -1 when the message is
 * malformed or unknown (*m zeroed).
 */
int	api_mon_recv(int sock, struct api_mon_msg *m);

void	api_mon_client_init(int fd);
int	api_mon_client_fd(void);
/* One request, one answer (*rep, which the caller wipes); 0 or -1. */
int	api_mon_login(const char *userid, const char *password,
	    const char *challenge, struct api_mon_msg *rep);
/* flags: API_MON_NEED_CSRF, API_MON_WANT_TOKEN. */
#define API_MON_NEED_CSRF	1
#define API_MON_WANT_TOKEN	2
/* An OK answer may come from earlier in the same second (api_verdict.h). */
int	api_mon_auth(int kind, const char *credential, const char *csrf,
	    int flags, const char *acl_path, const char *privilege,
	    const char *pool, struct api_mon_msg *rep);
/* A TCP socket connected to the configured node, or -1 (why says). */
int	api_mon_connect(const char *node, char *why, size_t whylen);
/* The TLS handshake's private-key operation (an api_tls_sign_fn). */
int	api_mon_tls_sign(int kind, const unsigned char *in, size_t inlen,
	    unsigned char *out, size_t *outlen);

#endif
