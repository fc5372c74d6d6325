/*
 * bridge.h - one client session channel bridged to one target channel.
 *
 * Life of a bridge: SETUP (pty-req, env) -> shell/exec names the target,
 * or MENU asks for it -> policy decision -> RUNNING (two pumps, recorder)
 * -> DONE once the target's exit status, EOF and close have been passed
 * back to the client in that order.
 */
#ifndef HVB_BRIDGE_H
#define HVB_BRIDGE_H

#include <libssh/libssh.h>
#include <libssh/server.h>

struct session;
struct bridge;

struct bridge	*bridge_new(struct session *, ssh_channel down, int id);
/* Handles a channel request (pty-req, env, shell, exec, ...); replies. */
void	 bridge_request(struct bridge *, ssh_message);
/* Moves data and advances the state; returns 1 once the bridge is done. */
int	 bridge_step(struct bridge *);
/*
 * True when a window grew since the bridge last stepped (a WINDOW_ADJUST
 * read while serving another channel): the loop must not sleep then.
 */
int	 bridge_window_grew(const struct bridge *);
/* True when the bridge needs bridge_tick() within a second. */
int	 bridge_needs_tick(const struct bridge *);
/* Once a second: recorder flush, menu deadline. */
void	 bridge_tick(struct bridge *);
ssh_channel bridge_down_channel(const struct bridge *);
/* Ends the bridge with a message to the client (e.g. shutdown). */
void	 bridge_abort(struct bridge *, const char *why);
void	 bridge_free(struct bridge *);

#endif
