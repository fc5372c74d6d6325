/*
 * kh_client.h - the per-connection child's side of the key holder
 * (keyholder.h): the only way a child reaches a target or seals a
 * recording.  The child never opens a private key or the sealing key.
 */
#ifndef HVB_KH_CLIENT_H
#define HVB_KH_CLIENT_H

#include <stddef.h>

/* The child's end of its socketpair (from the master, at fork); installs
 * the recordings' seal signer. */
void	kh_client_init(int fd);
/* The authenticated person and the session, named in every request. */
void	kh_client_identity(const char *person, const char *session_id);
/*
 * The SSH monitor (ssh_monitor.h): binds the socket to the person it
 * authenticated and the session, before the network child gets it.
 * 0, or -1 (refused or failed).
 */
int	kh_client_bind(const char *person, const char *session_id);
/*
 * Asks for target with credential: on success (0) *tcp is a socket
 * connected to the target and *agent an ssh-agent socket holding that
 * credential's key only.  -1: refused or failed, why[] says what the user
 * may be told.  -2: refused by the policy of the key holder.
 */
int	kh_client_connect(const char *target, const char *credential,
	    int timeout_s, int *tcp, int *agent, char *why, size_t whylen);
/*
 * The next connects are for a port forward to host:port (the key holder
 * decides a forward by its destination); NULL: not a forward.
 */
void	kh_client_forward(const char *host, int port);
/*
 * The API monitor (api_monitor.h): the Authorization header value of the API
 * token the policy gives the identified person for acl_path and privilege
 * (NULL: none needed), pool the guest's pool or NULL.  0, -2 (refused)
 * or -1; the caller wipes header.
 */
int	kh_client_api_auth(const char *acl_path, const char *privilege,
	    const char *pool, char *header, size_t len);
/* The descriptor (the sandbox keeps it); -1 when none. */
int	kh_client_fd(void);

#endif
