/*
 * forward.h - a client's port forward (direct-tcpip: ssh -L, -W), policed
 * and recorded, carried through the target's own SSH connection.
 *
 * The login names the target ("alice+pve1"), and the destination is as the
 * target sees it: `ssh -L 8006:127.0.0.1:8006 alice+pve1@bastion` reaches
 * port 8006 of pve1 itself.  The policy decides on (person, target, login,
 * port-forward, "host:port" exactly as the client wrote it); a denied
 * forward is refused ("administratively prohibited"), logged with its rule
 * and audited.  Each forward is recorded in the session log: destination,
 * originator, bytes and SHA-256 of each direction.
 *
 * Remote forwards (-R) and forwards that name no target (ProxyJump, -J,
 * which the bastion cannot record without terminating the inner SSH
 * connection) are refused.
 */
#ifndef HVB_FORWARD_H
#define HVB_FORWARD_H

#include <libssh/libssh.h>
#include <libssh/server.h>

struct session;
struct forward;

/*
 * Decides on a direct-tcpip open request and answers it: accepted (the
 * target's channel is open) or refused.  Returns the forward, or NULL when
 * it was refused.
 */
struct forward	*forward_open(struct session *, ssh_message, int id);
/* Moves data; returns 1 once both sides are closed (then free it). */
int		 forward_step(struct forward *);
/* True when a window grew since the last step (see bridge.h). */
int		 forward_window_grew(const struct forward *);
ssh_channel	 forward_down_channel(const struct forward *);
void		 forward_free(struct forward *);

#endif
