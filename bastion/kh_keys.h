/*
 * kh_keys.h - the egress private keys, as the key holder keeps them.
 *
 * A key is loaded from a credential's key-file: an unencrypted OpenSSH
 * "openssh-key-v1" ed25519 key (what ssh-keygen writes), or a PEM
 * (PKCS#1, SEC1, PKCS#8) RSA, ECDSA or Ed25519 key.  It is kept as an
 * OpenSSL EVP_PKEY with its SSH public key blob, and signs SSH
 * signatures (RFC 8709 ssh-ed25519, RFC 8332 rsa-sha2-256/512, RFC 5656
 * ecdsa-sha2-*).  libssh 0.10 has no public signing call, hence OpenSSL.
 */
#ifndef HVB_KH_KEYS_H
#define HVB_KH_KEYS_H

#include <stddef.h>
#include <stdint.h>

#define KH_BLOB_MAX	2048
#define KH_SIG_MAX	1024

struct kh_key;

/* Loads path; returns the key or NULL (why[] says why). */
struct kh_key	*kh_key_load(const char *path, char *why, size_t whylen);
void		 kh_key_free(struct kh_key *);
/* The SSH public key blob. */
const unsigned char *kh_key_blob(const struct kh_key *, size_t *len);
/*
 * Signs data; writes the SSH signature blob (string alg, string sig) to
 * sig; flags: KH_AGENT_RSA_SHA2_* for RSA.  Returns its length or -1.
 */
int		 kh_key_sign(const struct kh_key *, uint32_t flags,
		    const unsigned char *data, size_t len,
		    unsigned char *sig, size_t cap);

/* The openssh-key-v1 parser on its own (fuzz target): 0 or -1; seed and
 * pub are the 32-byte ed25519 private seed and public key. */
int		 kh_key_parse_openssh(const unsigned char *bin, size_t len,
		    unsigned char seed[32], unsigned char pub[32]);

#endif
