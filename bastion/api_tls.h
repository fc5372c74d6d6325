/*
 * api_tls.h - OpenSSL for the API front: the server context (loaded by
 * the master before it forks, so children inherit it and the master reads
 * no network data), the client context for the nodes, and whole-buffer
 * I/O helpers with a deadline.
 *
 * Both contexts read ahead (fewer read() calls): a caller that polls a
 * TLS socket must first ask SSL_has_pending() (not SSL_pending(), which
 * does not count records read ahead and not yet decrypted).
 */
#ifndef HVB_API_TLS_H
#define HVB_API_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

#include "config.h"

/* TLS 1.2+, forward-secret AEAD suites only; key file must be 0600/0400. */
SSL_CTX	*api_tls_server_ctx(const struct config *, char *err, size_t errlen);
/* For the nodes: no CA check (the pin is checked by api_tls_pin_ok()). */
SSL_CTX	*api_tls_client_ctx(void);
/* 1 if the peer's certificate DER hashes (SHA-256) to fp. */
int	 api_tls_pin_ok(SSL *, const unsigned char fp[32]);

/* Writes all of buf; 0 or -1.  Reads at most len; bytes, 0 at EOF, -1. */
int	 api_tls_write_all(SSL *, const void *buf, size_t len);
long	 api_tls_read(SSL *, void *buf, size_t len);

#endif
