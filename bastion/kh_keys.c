/*
 * kh_keys.c - egress private keys in the key holder (see kh_keys.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "kh_keys.h"
#include "kh_proto.h"

#define KEY_FILE_MAX	(64 * 1024)

enum kh_alg { ALG_ED25519, ALG_RSA, ALG_ECDSA };

struct kh_key {
	EVP_PKEY	*pkey;
	enum kh_alg	 alg;
	const char	*ec_name;	/* "nistp256", ... */
	const EVP_MD	*ec_md;
	unsigned char	 blob[KH_BLOB_MAX];
	size_t		 bloblen;
};

struct buf {
	unsigned char	*p;
	size_t		 cap, len;
	int		 bad;
};

static void
put(struct buf *b, const void *d, size_t n)
{
	if (b->bad || b->cap - b->len < n) {
		b->bad = 1;
		return;
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void
put_u32(struct buf *b, uint32_t v)
{
	unsigned char x[4] = { v >> 24, v >> 16, v >> 8, v };

	put(b, x, 4);
}

static void
put_str(struct buf *b, const void *d, size_t n)
{
	put_u32(b, (uint32_t)n);
	put(b, d, n);
}

static void
put_mpint(struct buf *b, const BIGNUM *bn)
{
	unsigned char tmp[1024 + 1];
	int n = BN_num_bytes(bn);

	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		b->bad = 1;
		return;
	}
	tmp[0] = 0;
	BN_bn2bin(bn, tmp + 1);
	/* A leading zero keeps a number with its top bit set positive. */
	if (n > 0 && (tmp[1] & 0x80))
		put_str(b, tmp, (size_t)n + 1);
	else
		put_str(b, tmp + 1, (size_t)n);
}

/* -- openssh-key-v1 (PROTOCOL.key), unencrypted ed25519 only */

struct rd {
	const unsigned char	*p;
	size_t			 left;
};

static int
rd_u32(struct rd *r, uint32_t *v)
{
	if (r->left < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | r->p[3];
	r->p += 4;
	r->left -= 4;
	return 0;
}

static int
rd_str(struct rd *r, const unsigned char **s, size_t *n)
{
	uint32_t l;

	if (rd_u32(r, &l) < 0 || l > r->left)
		return -1;
	*s = r->p;
	*n = l;
	r->p += l;
	r->left -= l;
	return 0;
}

static int
is(const unsigned char *s, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(s, want, n) == 0;
}

int
kh_key_parse_openssh(const unsigned char *bin, size_t len,
    unsigned char seed[32], unsigned char pub[32])
{
	static const char magic[] = "openssh-key-v1";	/* with its NUL */
	struct rd r, pr;
	const unsigned char *s, *priv, *pk;
	size_t n, privlen, pklen;
	uint32_t nkeys, c1, c2;

	if (len < sizeof(magic) || memcmp(bin, magic, sizeof(magic)) != 0)
		return -1;
	r.p = bin + sizeof(magic);
	r.left = len - sizeof(magic);
	if (rd_str(&r, &s, &n) < 0 || !is(s, n, "none") ||	/* cipher */
	    rd_str(&r, &s, &n) < 0 || !is(s, n, "none") ||	/* kdf */
	    rd_str(&r, &s, &n) < 0 || n != 0 ||		/* kdf options */
	    rd_u32(&r, &nkeys) < 0 || nkeys != 1 ||
	    rd_str(&r, &s, &n) < 0 ||				/* public key */
	    rd_str(&r, &priv, &privlen) < 0 || r.left != 0)
		return -1;
	pr.p = priv;
	pr.left = privlen;
	if (rd_u32(&pr, &c1) < 0 || rd_u32(&pr, &c2) < 0 || c1 != c2 ||
	    rd_str(&pr, &s, &n) < 0 || !is(s, n, "ssh-ed25519") ||
	    rd_str(&pr, &pk, &pklen) < 0 || pklen != 32 ||
	    rd_str(&pr, &s, &n) < 0 || n != 64 ||
	    memcmp(s + 32, pk, 32) != 0)
		return -1;
	memcpy(seed, s, 32);
	memcpy(pub, pk, 32);
	/* The comment and the padding (1, 2, 3, ...) follow. */
	if (rd_str(&pr, &s, &n) < 0) {
		explicit_bzero(seed, 32);
		return -1;
	}
	for (n = 0; n < pr.left; n++)
		if (pr.p[n] != (unsigned char)(n + 1)) {
			explicit_bzero(seed, 32);
			return -1;
		}
	return 0;
}

/* The base64 body between the armour lines, decoded. */
static int
dearmour(const char *text, const char *begin, const char *end,
    unsigned char **out, size_t *outlen)
{
	const char *b = strstr(text, begin), *e;
	unsigned char *bin = NULL;
	char *clean = NULL;
	size_t i, n = 0;
	int rc = -1, dl;

	if (b == NULL || (e = strstr(b, end)) == NULL)
		return -1;
	b += strlen(begin);
	if ((clean = malloc((size_t)(e - b) + 1)) == NULL ||
	    (bin = malloc((size_t)(e - b) + 1)) == NULL)
		goto out;
	for (i = 0; b + i < e; i++)
		if (b[i] != '\n' && b[i] != '\r')
			clean[n++] = b[i];
	if (n == 0 || n % 4 != 0)
		goto out;
	if ((dl = EVP_DecodeBlock(bin, (unsigned char *)clean, (int)n)) < 0)
		goto out;
	/* EVP_DecodeBlock counts the '=' padding as zero bytes. */
	if (clean[n - 1] == '=')
		dl--;
	if (clean[n - 2] == '=')
		dl--;
	*out = bin;
	*outlen = (size_t)dl;
	bin = NULL;
	rc = 0;
out:
	if (clean != NULL) {
		explicit_bzero(clean, (size_t)(e - b) + 1);
		free(clean);
	}
	if (bin != NULL) {
		explicit_bzero(bin, (size_t)(e - b) + 1);
		free(bin);
	}
	return rc;
}

static int
read_file(const char *path, char **text, size_t *len, char *why,
    size_t whylen)
{
	struct stat sb;
	ssize_t r;
	size_t off = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (sb.st_mode & 077) != 0 || sb.st_size <= 0 ||
	    sb.st_size > KEY_FILE_MAX) {
		snprintf(why, whylen, "%s: not a regular file of mode 0600"
		    " or stricter, or of a wrong size", path);
		close(fd);
		return -1;
	}
	if ((*text = calloc(1, (size_t)sb.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	while (off < (size_t)sb.st_size &&
	    (r = read(fd, *text + off, (size_t)sb.st_size - off)) > 0)
		off += (size_t)r;
	close(fd);
	*len = (size_t)sb.st_size + 1;
	return 0;
}

static int
make_blob(struct kh_key *k)
{
	struct buf b = { k->blob, sizeof(k->blob), 0, 0 };
	unsigned char raw[133];
	size_t rawlen = sizeof(raw);
	BIGNUM *e = NULL, *n = NULL;
	char group[64];

	switch (k->alg) {
	case ALG_ED25519:
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rawlen) != 1)
			return -1;
		put_str(&b, "ssh-ed25519", 11);
		put_str(&b, raw, rawlen);
		break;
	case ALG_RSA:
		if (EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_E,
		    &e) != 1 || EVP_PKEY_get_bn_param(k->pkey,
		    OSSL_PKEY_PARAM_RSA_N, &n) != 1) {
			BN_free(e);
			return -1;
		}
		put_str(&b, "ssh-rsa", 7);
		put_mpint(&b, e);
		put_mpint(&b, n);
		BN_free(e);
		BN_free(n);
		break;
	case ALG_ECDSA:
		if (EVP_PKEY_get_utf8_string_param(k->pkey,
		    OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
		    NULL) != 1)
			return -1;
		if (strcmp(group, "prime256v1") == 0) {
			k->ec_name = "nistp256";
			k->ec_md = EVP_sha256();
		} else if (strcmp(group, "secp384r1") == 0) {
			k->ec_name = "nistp384";
			k->ec_md = EVP_sha384();
		} else if (strcmp(group, "secp521r1") == 0) {
			k->ec_name = "nistp521";
			k->ec_md = EVP_sha512();
		} else
			return -1;
		if (EVP_PKEY_get_octet_string_param(k->pkey,
		    OSSL_PKEY_PARAM_PUB_KEY, raw, sizeof(raw), &rawlen) != 1)
			return -1;
		{
			char alg[32];

			snprintf(alg, sizeof(alg), "ecdsa-sha2-%s",
			    k->ec_name);
			put_str(&b, alg, strlen(alg));
		}
		put_str(&b, k->ec_name, strlen(k->ec_name));
		put_str(&b, raw, rawlen);
		break;
	}
	if (b.bad)
		return -1;
	k->bloblen = b.len;
	return 0;
}

struct kh_key *
kh_key_load(const char *path, char *why, size_t whylen)
{
	struct kh_key *k = NULL;
	char *text = NULL;
	unsigned char *bin = NULL, seed[32], pub[32];
	size_t len = 0, binlen = 0;
	BIO *bio = NULL;

	snprintf(why, whylen, "%s: unsupported key format (an unencrypted"
	    " OpenSSH ed25519 key, or a PEM RSA/ECDSA/Ed25519 key)", path);
	if (read_file(path, &text, &len, why, whylen) < 0)
		return NULL;
	if ((k = calloc(1, sizeof(*k))) == NULL)
		goto fail;
	if (strstr(text, "-----BEGIN OPENSSH PRIVATE KEY-----") != NULL) {
		if (dearmour(text, "-----BEGIN OPENSSH PRIVATE KEY-----",
		    "-----END OPENSSH PRIVATE KEY-----", &bin, &binlen) < 0 ||
		    kh_key_parse_openssh(bin, binlen, seed, pub) < 0)
			goto fail;
		k->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
		    seed, sizeof(seed));
		explicit_bzero(seed, sizeof(seed));
		k->alg = ALG_ED25519;
	} else {
		if ((bio = BIO_new_mem_buf(text, (int)strlen(text))) == NULL)
			goto fail;
		/* No passphrase callback: an encrypted key is refused. */
		k->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
		if (k->pkey == NULL)
			goto fail;
		switch (EVP_PKEY_get_base_id(k->pkey)) {
		case EVP_PKEY_ED25519:
			k->alg = ALG_ED25519;
			break;
		case EVP_PKEY_RSA:
			k->alg = ALG_RSA;
			break;
		case EVP_PKEY_EC:
			k->alg = ALG_ECDSA;
			break;
		default:
			goto fail;
		}
	}
	if (k->pkey == NULL || make_blob(k) < 0)
		goto fail;
	goto out;
fail:
	kh_key_free(k);
	k = NULL;
out:
	BIO_free(bio);
	if (bin != NULL) {
		explicit_bzero(bin, binlen);
		free(bin);
	}
	if (text != NULL) {
		explicit_bzero(text, len);
		free(text);
	}
	return k;
}

void
kh_key_free(struct kh_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);		/* OpenSSL clears private parts */
	explicit_bzero(k, sizeof(*k));
	free(k);
}

const unsigned char *
kh_key_blob(const struct kh_key *k, size_t *len)
{
	*len = k->bloblen;
	return k->blob;
}

/* ECDSA: the DER signature as "mpint r, mpint s" (RFC 5656 3.1.2). */
static int
ecdsa_blob(struct buf *out, const char *alg, const unsigned char *der,
    size_t derlen)
{
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
	unsigned char inner[300];
	struct buf in = { inner, sizeof(inner), 0, 0 };

	if (es == NULL)
		return -1;
	put_mpint(&in, ECDSA_SIG_get0_r(es));
	put_mpint(&in, ECDSA_SIG_get0_s(es));
	ECDSA_SIG_free(es);
	if (in.bad)
		return -1;
	put_str(out, alg, strlen(alg));
	put_str(out, inner, in.len);
	return 0;
}

int
kh_key_sign(const struct kh_key *k, uint32_t flags,
    const unsigned char *data, size_t len, unsigned char *sig, size_t cap)
{
	struct buf out = { sig, cap, 0, 0 };
	unsigned char raw[KH_SIG_MAX];
	size_t rawlen = sizeof(raw);
	const EVP_MD *md = NULL;
	const char *alg = "ssh-ed25519";
	char ecalg[32];
	EVP_MD_CTX *ctx;
	int rc = -1;

	switch (k->alg) {
	case ALG_ED25519:
		break;
	case ALG_RSA:
		/* SHA-1 "ssh-rsa" signatures are not made. */
		if (flags & KH_AGENT_RSA_SHA2_512) {
			md = EVP_sha512();
			alg = "rsa-sha2-512";
		} else if (flags & KH_AGENT_RSA_SHA2_256) {
			md = EVP_sha256();
			alg = "rsa-sha2-256";
		} else
			return -1;
		break;
	case ALG_ECDSA:
		md = k->ec_md;
		snprintf(ecalg, sizeof(ecalg), "ecdsa-sha2-%s", k->ec_name);
		alg = ecalg;
		break;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestSignInit(ctx, NULL, md, NULL, k->pkey) != 1 ||
	    EVP_DigestSign(ctx, raw, &rawlen, data, len) != 1)
		goto out;
	if (k->alg == ALG_ECDSA) {
		if (ecdsa_blob(&out, alg, raw, rawlen) < 0)
			goto out;
	} else {
		put_str(&out, alg, strlen(alg));
		put_str(&out, raw, rawlen);
	}
	rc = out.bad ? -1 : (int)out.len;
out:
	EVP_MD_CTX_free(ctx);
	return rc;
}
