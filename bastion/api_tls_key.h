/*
 * api_tls_key.h - the API front's TLS private key stays in the monitor.
 *
 * The master loads the certificate and key (api_tls.c) twice: the
 * monitors' context keeps the key, the network children's gets a
 * "keyless" one: the certificate's public key with an OpenSSL method
 * whose one private operation asks the monitor (api_monitor.h, TLS_SIGN)
 * and waits for the answer.  A network child frees its copy of the
 * monitors' context at the split (OpenSSL clears the key).  The monitor signs with the
 * key it inherited, once per connection: a TLS 1.2 or 1.3 handshake
 * makes exactly one signature (ServerKeyExchange or CertificateVerify),
 * and renegotiation is off.
 *
 * What a network child taken over still gets: one operation with the key
 * on bytes of its choice per connection (an ECDSA signature of a digest,
 * or the RSA private operation on a block: what keyless TLS offers), so
 * it can finish one handshake it did not make, but not take the key
 * away.  Keys: ECDSA and RSA (the ones OpenSSL lets a method stand in
 * for); api_tls.c refuses any other type.
 */
#ifndef HVB_API_TLS_KEY_H
#define HVB_API_TLS_KEY_H

#include <stddef.h>

#include <openssl/ssl.h>

/*
 * The private-key operation, done elsewhere: kind an api_mon_sign, in the
 * bytes; out receives at most *outlen bytes, *outlen how many.  0 or -1.
 */
typedef int (*api_tls_sign_fn)(int kind, const unsigned char *in,
	    size_t inlen, unsigned char *out, size_t *outlen);

/* 1 when OpenSSL can sign with key type of pkey through a method. */
int	api_tls_key_supported(const EVP_PKEY *pkey);

/* Replaces ctx's key by a keyless one whose operation sign() does (the
 * network child's api_mon_tls_sign()); 0 or -1. */
int	api_tls_key_keyless(SSL_CTX *ctx, api_tls_sign_fn sign);

/* The monitor: the operation with ctx's real key; 0 or -1. */
int	api_tls_key_sign(SSL_CTX *ctx, int kind, const unsigned char *in,
	    size_t inlen, unsigned char *out, size_t *outlen);

/*
 * The master, once it loaded ctx: one operation with the key, so that
 * OpenSSL's algorithm fetches are done once, before the forks, rather
 * than in every monitor.  0 or -1.
 */
int	api_tls_key_warm(SSL_CTX *ctx);

/* 1 when ctx's key has its private part here (the tests ask). */
int	api_tls_key_private_here(SSL_CTX *ctx);

#endif
