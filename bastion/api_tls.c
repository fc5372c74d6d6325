/*
 * api_tls.c - OpenSSL contexts and I/O for the API front (api_tls.h).
 *
 * Sockets are blocking with SO_RCVTIMEO/SO_SNDTIMEO set by the caller, so
 * a read or write that stalls fails instead of pinning a child forever.
 *
 * Both contexts read ahead: one read() takes whatever the socket holds
 * (several records, up to the read buffer) instead of two per record
 * (the 5-byte header, then the body).  The price: bytes OpenSSL holds
 * are invisible to poll(), and SSL_pending() counts only the record
 * being returned, not those read ahead.  Whoever waits on one of these
 * sockets asks SSL_has_pending() first (api_console.c's relay,
 * api_upstream.c's check of a pooled connection); plain blocking
 * SSL_read() loops need nothing.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "api_tls.h"
#include "api_tls_key.h"

/* Mozilla "intermediate": ECDHE with AEAD for TLS 1.2; 1.3 defaults. */
#define CIPHERS_TLS12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static void
ssl_err(char *err, size_t errlen, const char *what, const char *path)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s %s: %s", what, path, e ? buf : "failed");
	ERR_clear_error();
}

SSL_CTX *
api_tls_server_ctx(const struct config *conf, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	struct stat sb;
	int fd;

	/* The private key: a regular file nobody else can read. */
	fd = open(conf->api_private_key, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &sb) < 0) {
		snprintf(err, errlen, "api-private-key %s: %s",
		    conf->api_private_key, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
		snprintf(err, errlen, "api-private-key %s: not a regular file"
		    " readable by its owner only (mode %04o); refused",
		    conf->api_private_key, (unsigned)(sb.st_mode & 07777));
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
	    SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_read_ahead(ctx, 1);
	if (SSL_CTX_set_cipher_list(ctx, CIPHERS_TLS12) != 1) {
		ssl_err(err, errlen, "cipher list", "");
		goto fail;
	}
	if (SSL_CTX_use_certificate_chain_file(ctx,
	    conf->api_certificate) != 1) {
		ssl_err(err, errlen, "api-certificate", conf->api_certificate);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, conf->api_private_key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1) {
		ssl_err(err, errlen, "api-private-key", conf->api_private_key);
		goto fail;
	}
	/* The network children leave the key's operation to their monitor
	 * (api_tls_key.h), which OpenSSL allows for these types. */
	if (!api_tls_key_supported(SSL_CTX_get0_privatekey(ctx))) {
		snprintf(err, errlen, "api-private-key %s: an ECDSA or RSA key"
		    " is required", conf->api_private_key);
		goto fail;
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
api_tls_client_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_read_ahead(ctx, 1);
	/* The node's certificate is self-signed (pve-ssl.pem): the pin,
	 * checked before any byte of a request is sent, is the trust. */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

int
api_tls_pin_ok(SSL *ssl, const unsigned char fp[32])
{
	X509 *cert = SSL_get1_peer_certificate(ssl);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	int ok;

	if (cert == NULL)
		return 0;
	ok = X509_digest(cert, EVP_sha256(), md, &n) == 1 && n == 32 &&
	    CRYPTO_memcmp(md, fp, 32) == 0;
	X509_free(cert);
	return ok;
}

int
api_tls_write_all(SSL *ssl, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		int chunk = len > 1 << 20 ? 1 << 20 : (int)len;
		int n = SSL_write(ssl, p, chunk);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

long
api_tls_read(SSL *ssl, void *buf, size_t len)
{
	int chunk = len > 1 << 20 ? 1 << 20 : (int)len;
	int n = SSL_read(ssl, buf, chunk);

	if (n > 0)
		return n;
	if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN)
		return 0;
	/* A peer that closes without close_notify: EOF too, for reads. */
	if (SSL_get_error(ssl, n) == SSL_ERROR_SYSCALL && errno == 0)
		return 0;
	return -1;
}
