/*
 * session.h - one client connection, in its own child process: key
 * exchange, authentication, then the event loop that carries its channels.
 */
#ifndef HVB_SESSION_H
#define HVB_SESSION_H

#include <libssh/libssh.h>

#include "auth.h"
#include "config.h"
#include "upstream.h"
#include "../recorder/session_id.h"
#include "../recorder/session_log.h"

#define SESSION_MAX_CHANNELS	16
/* The monitor's exit status when login-grace-time ran out (as timeout(1)):
 * the master logs it, since the alarm handler itself may only _exit. */
#define SESSION_EXIT_GRACE	124

struct bridge;
struct forward;

struct session {
	const struct config	*conf;
	ssh_session		 ssh;
	ssh_event		 event;
	char			 id[SESSION_ID_LEN + 1];
	char			 peer[80];	/* "address port N" */
	char			 peer_addr[64];
	int			 peer_port;
	struct auth_result	 auth;
	struct session_log	*log;
	struct bridge		*bridges[SESSION_MAX_CHANNELS];
	struct forward		*forwards[SESSION_MAX_CHANNELS];	/* -L, -W */
	int			 nchannels_opened;
	struct upstream		*upstreams;
	unsigned long		 activity;	/* bumped by channel events */
};

/*
 * The network child of ssh_monitor.h: serves the connection on fd with the
 * given (already loaded) host key and the session id the monitor minted,
 * then returns; the caller exits.
 */
int	session_serve(const struct config *, ssh_key hostkey, int fd,
	    const char *peer_addr, int peer_port, const char *session_id);

/* Connections to targets, shared by the connection's channels. */
struct upstream *session_upstream(struct session *,
		    const struct config_target *,
		    const struct config_credential *, char *why, size_t whylen);
void	session_upstream_release(struct session *, struct upstream *);

#endif
