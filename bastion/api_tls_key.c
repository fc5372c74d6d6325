/*
 * api_tls_key.c - keyless TLS for the API network child (api_tls_key.h).
 *
 * OpenSSL 3 keeps a key whose EC_KEY or RSA has a method of its own on
 * its legacy path ("foreign" keys), calling that method for the private
 * operation: the one documented way to put a key elsewhere without an
 * engine or a provider of our own.  Those interfaces are deprecated in
 * 3.0 but not removed; this file alone uses them.
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <string.h>

#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "api_mon_proto.h"
#include "api_tls_key.h"
#include "log.h"

static api_tls_sign_fn	 remote_sign;
static EC_KEY_METHOD	*ec_method;
static RSA_METHOD	*rsa_method;

int
api_tls_key_supported(const EVP_PKEY *pkey)
{
	int id = EVP_PKEY_get_base_id(pkey);

	return id == EVP_PKEY_EC || id == EVP_PKEY_RSA;
}

/* ECDSA: the digest goes to the monitor, a DER signature comes back. */
static ECDSA_SIG *
ec_sign_sig(const unsigned char *dgst, int dlen, const BIGNUM *kinv,
    const BIGNUM *r, EC_KEY *key)
{
	unsigned char der[API_MON_BLOB_MAX];
	const unsigned char *p = der;
	size_t n = sizeof(der);

	(void)kinv;
	(void)r;
	(void)key;
	if (dlen <= 0 || remote_sign(API_MON_SIGN_ECDSA, dgst, (size_t)dlen,
	    der, &n) < 0)
		return NULL;
	return d2i_ECDSA_SIG(NULL, &p, (long)n);
}

/* RSA: the block (PSS already encoded, or PKCS#1's DigestInfo). */
static int
rsa_priv_enc(int flen, const unsigned char *from, unsigned char *to,
    RSA *rsa, int padding)
{
	size_t n = (size_t)RSA_size(rsa);
	int kind;

	if (padding == RSA_NO_PADDING)
		kind = API_MON_SIGN_RSA_RAW;
	else if (padding == RSA_PKCS1_PADDING)
		kind = API_MON_SIGN_RSA_PKCS1;
	else
		return -1;
	if (flen <= 0 || remote_sign(kind, from, (size_t)flen, to, &n) < 0 ||
	    n != (size_t)RSA_size(rsa))
		return -1;
	return (int)n;
}

static EVP_PKEY *
keyless_ec(EVP_PKEY *pub)
{
	int (*sign)(int, const unsigned char *, int, unsigned char *,
	    unsigned int *, const BIGNUM *, const BIGNUM *, EC_KEY *);
	int (*setup)(EC_KEY *, BN_CTX *, BIGNUM **, BIGNUM **);
	ECDSA_SIG *(*sig)(const unsigned char *, int, const BIGNUM *,
	    const BIGNUM *, EC_KEY *);
	EVP_PKEY *pk = NULL;
	EC_KEY *ek;

	if (ec_method == NULL) {
		if ((ec_method = EC_KEY_METHOD_new(EC_KEY_OpenSSL())) == NULL)
			return NULL;
		EC_KEY_METHOD_get_sign(ec_method, &sign, &setup, &sig);
		/* OpenSSL's sign() formats what sign_sig() returns. */
		EC_KEY_METHOD_set_sign(ec_method, sign, NULL, ec_sign_sig);
	}
	if ((ek = EVP_PKEY_get1_EC_KEY(pub)) == NULL)
		return NULL;
	if (EC_KEY_set_method(ek, ec_method) != 1 ||
	    (pk = EVP_PKEY_new()) == NULL || EVP_PKEY_assign_EC_KEY(pk, ek)
	    != 1) {
		EVP_PKEY_free(pk);
		EC_KEY_free(ek);
		return NULL;
	}
	return pk;
}

static EVP_PKEY *
keyless_rsa(EVP_PKEY *pub)
{
	EVP_PKEY *pk = NULL;
	RSA *rk;

	if (rsa_method == NULL) {
		if ((rsa_method = RSA_meth_dup(RSA_PKCS1_OpenSSL())) == NULL)
			return NULL;
		RSA_meth_set1_name(rsa_method, "hvbastion keyless");
		RSA_meth_set_priv_enc(rsa_method, rsa_priv_enc);
	}
	if ((rk = EVP_PKEY_get1_RSA(pub)) == NULL)
		return NULL;
	if (RSA_set_method(rk, rsa_method) != 1 ||
	    (pk = EVP_PKEY_new()) == NULL || EVP_PKEY_assign_RSA(pk, rk) !=
	    1) {
		EVP_PKEY_free(pk);
		RSA_free(rk);
		return NULL;
	}
	return pk;
}

int
api_tls_key_keyless(SSL_CTX *ctx, api_tls_sign_fn sign)
{
	X509 *cert = SSL_CTX_get0_certificate(ctx);
	EVP_PKEY *pub, *pk = NULL;
	int rc = -1;

	remote_sign = sign;
	if (cert == NULL || (pub = X509_get0_pubkey(cert)) == NULL)
		return -1;
	if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC)
		pk = keyless_ec(pub);
	else if (EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA)
		pk = keyless_rsa(pub);
	/* Replaces (and frees: OpenSSL clears it) the inherited key; the
	 * call checks it matches the certificate. */
	if (pk != NULL && SSL_CTX_use_PrivateKey(ctx, pk) == 1)
		rc = 0;
	EVP_PKEY_free(pk);
	if (rc < 0)
		log_error("API: the TLS key cannot be left to the monitor");
	return rc;
}

int
api_tls_key_sign(SSL_CTX *ctx, int kind, const unsigned char *in,
    size_t inlen, unsigned char *out, size_t *outlen)
{
	EVP_PKEY *key = ctx != NULL ? SSL_CTX_get0_privatekey(ctx) : NULL;
	EVP_PKEY_CTX *pc;
	int id, pad = 0, rc = -1;

	if (key == NULL)
		return -1;
	id = EVP_PKEY_get_base_id(key);
	if (kind == API_MON_SIGN_ECDSA && id == EVP_PKEY_EC)
		pad = 0;
	else if (kind == API_MON_SIGN_RSA_PKCS1 && id == EVP_PKEY_RSA)
		pad = RSA_PKCS1_PADDING;
	else if (kind == API_MON_SIGN_RSA_RAW && id == EVP_PKEY_RSA &&
	    inlen == (size_t)EVP_PKEY_get_size(key))
		pad = RSA_NO_PADDING;
	else
		return -1;
	if ((pc = EVP_PKEY_CTX_new(key, NULL)) == NULL)
		return -1;
	if (EVP_PKEY_sign_init(pc) == 1 && (pad == 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(pc, pad) == 1) &&
	    EVP_PKEY_sign(pc, out, outlen, in, inlen) == 1)
		rc = 0;
	EVP_PKEY_CTX_free(pc);
	return rc;
}

int
api_tls_key_warm(SSL_CTX *ctx)
{
	EVP_PKEY *key = SSL_CTX_get0_privatekey(ctx);
	unsigned char in[64], out[API_MON_BLOB_MAX];
	size_t n = sizeof(out);

	if (key == NULL)
		return -1;
	memset(in, 0x5a, sizeof(in));
	return api_tls_key_sign(ctx, EVP_PKEY_get_base_id(key) == EVP_PKEY_EC ?
	    API_MON_SIGN_ECDSA : API_MON_SIGN_RSA_PKCS1, in, 32, out, &n);
}

int
api_tls_key_private_here(SSL_CTX *ctx)
{
	EVP_PKEY *key = SSL_CTX_get0_privatekey(ctx);
	const EC_KEY *ek;
	const RSA *rk;
	const BIGNUM *d = NULL;

	if (key == NULL)
		return 0;
	if ((ek = EVP_PKEY_get0_EC_KEY(key)) != NULL)
		return EC_KEY_get0_private_key(ek) != NULL;
	if ((rk = EVP_PKEY_get0_RSA(key)) != NULL) {
		RSA_get0_key(rk, NULL, NULL, &d);
		return d != NULL;
	}
	return 1;	/* another type: assume the worst */
}
