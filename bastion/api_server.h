/*
 * api_server.h - the Proxmox API front: one forked child per HTTPS
 * connection, as for SSH (see "The Proxmox API through the bastion" in
 * README.md for the whole design).
 */
#ifndef HVB_API_SERVER_H
#define HVB_API_SERVER_H

#include <openssl/ssl.h>

#include "config.h"

/*
 * In the master, before any fork: loads the TLS certificate and key
 * (refusing a key others can read) and the ticket key.  0 or -1 (logged).
 * A configuration without api-listen needs nothing: returns 0.
 */
int	api_server_prepare(const struct config *);
/*
 * In the master, on SIGHUP: loads the certificate and key named by conf
 * again; new connections get them.  When they do not load, the old ones
 * stay in use: -1 (logged).  0 when reloaded or without an API listener.
 */
int	api_server_reload_tls(const struct config *);
/* In the child: serves one connection until it closes; never returns. */
void	api_server_serve(const struct config *, int fd, const char *addr,
	    int port, int startup_fd) __attribute__((noreturn));

/* The network children's TLS context (keyless: api_tls_key.h). */
SSL_CTX	*api_server_tls_ctx(void);
/* The monitors' context, with the real key (NULL once forgotten). */
SSL_CTX	*api_server_signing_ctx(void);
/* The network child, at the split: frees it (OpenSSL clears the key). */
void	api_server_forget_signing(void);

#endif
