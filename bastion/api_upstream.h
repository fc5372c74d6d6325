/*
 * api_upstream.h - requests from the API front to a Proxmox node: TLS to
 * the node's address, its certificate checked against the pinned SHA-256
 * before a single byte of the request (and so of the held token) is
 * sent, one kept-alive connection per node per child.
 */
#ifndef HVB_API_UPSTREAM_H
#define HVB_API_UPSTREAM_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config.h"

#define API_UPSTREAM_MAX_BODY	(32 * 1024 * 1024)

struct api_upstream_request {
	const char	*method;
	const char	*path;		/* encoded, with "/api2/json" */
	const char	*query;		/* "" for none */
	const char	*content_type;	/* NULL when there is no body */
	const char	*body;
	size_t		 body_len;
	const char	*authorization;	/* the header's value */
};

struct api_upstream_response {
	int	 status;
	char	 reason[128];
	char	 content_type[128];
	char	*body;			/* NUL-terminated */
	size_t	 body_len;
};

/*
 * Returns 0 (*resp filled), -EPERM when the node's certificate does not
 * match its pin (nothing was sent), or -EIO (err says why).
 */
int	api_upstream_call(const struct config *, const struct config_api_node *,
	    const struct api_upstream_request *,
	    struct api_upstream_response *resp, char *err, size_t errlen);
/*
 * A fresh (not pooled) connection to node, its pin checked: the
 * websocket consoles.  0, or -1 (*pin_failed says if the pin failed).
 */
int	api_upstream_connect(const struct config *,
	    const struct config_api_node *, SSL **, int *fd, int *pin_failed,
	    char *err, size_t errlen);
void	api_upstream_response_clear(struct api_upstream_response *);
/*
 * Privilege separation (api_monitor.h): the TLS client context made
 * before the sandbox (0 or -1), and the function that hands over a TCP
 * connection to a node by name (the monitor's; NULL: connect here).
 */
int	api_upstream_prepare(void);
typedef int (*api_upstream_connector_fn)(const char *node, char *err,
	    size_t errlen);
void	api_upstream_set_connector(api_upstream_connector_fn);
/* A TCP connection with a timeout, blocking once connected; fd or -1. */
int	api_upstream_tcp_connect(const char *addr, int port, int timeout,
	    char *err, size_t errlen);
/* Closes every pooled connection. */
void	api_upstream_close_all(void);

#endif
