/*
 * api_console.h - the websocket consoles of the Proxmox API
 * (GET .../vncwebsocket with Upgrade: websocket), passed through to the
 * node with the held token, and for a node's shell (termproxy) recorded
 * as a terminal session like an SSH one (asciicast + session log, so that
 * "hvbastion sessions" and "replay" show it).
 */
#ifndef HVB_API_CONSOLE_H
#define HVB_API_CONSOLE_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config.h"

struct api_console {
	const struct config		*conf;
	SSL				*client;
	int				 client_fd;
	const char			*person;
	const char			*userid;
	const char			*role;
	const char			*addr;
	int				 port;
	const char			*rule;
	const struct config_api_node	*node;
	const char			*target;	/* encoded path?query */
	const char			*authorization;	/* held token */
	const char			*ws_key;	/* the client's */
	int				 ws_binary;	/* "binary" asked */
	int				 record;	/* a node shell */
	/*
	 * termproxy: the first client message "AUTHID:TICKET\n" must carry
	 * vnc_bound (the ticket as the bastion gave it, api_vncbind.h) and
	 * goes to the node with vnc_ticket (the node's own) instead.  NULL:
	 * a VNC server, the bytes go through as they are.
	 */
	const char			*vnc_bound;
	const char			*vnc_ticket;
	/*
	 * Client bytes the HTTP reader already took past the upgrade
	 * request (a client that sent frames before the 101): relayed
	 * first, as if just read.
	 */
	const char			*client_early;
	size_t				 client_nearly;
	char				 session_id[64];	/* out */
};

/*
 * Runs the console until either side closes.  Returns 0 (it ran), or
 * before anything was sent to the client: -EPERM (the node's pin did
 * not match: nothing was sent to it), -EIO (no upgrade: err says why),
 * -EINVAL (a bad client handshake).
 */
int	api_console_run(struct api_console *, char *err, size_t errlen);

#endif
