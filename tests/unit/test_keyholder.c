/*
 * test_keyholder.c - the key holder's message formats (kh_proto.c) and
 * keys (kh_keys.c).
 *
 * Messages: every request and reply round-trips; every truncation, a
 * trailing byte, a bad name, an over-long string and an unknown type are
 * refused.  Agent: the userauth check accepts exactly the RFC 4252 layout
 * for the right login and key.  Keys: an OpenSSH ed25519 key (libssh
 * writes it) and PEM RSA, ECDSA and Ed25519 keys (OpenSSL writes them)
 * load; their public blob equals libssh's; their signatures verify with
 * OpenSSL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "../../bastion/kh_keys.h"
#include "../../bastion/kh_proto.h"
#include "unit_util.h"

static void
fill(struct kh_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)type;
	snprintf(m->person, sizeof(m->person), "alice");
	snprintf(m->target, sizeof(m->target), "pve1");
	snprintf(m->credential, sizeof(m->credential), "pve1-admin");
	snprintf(m->session_id, sizeof(m->session_id),
	    "20261122T164320Z-eed6bf18");
	snprintf(m->basename, sizeof(m->basename), "x-c1.cast");
	memset(m->chain_hex, 'a', 64);
	snprintf(m->source, sizeof(m->source), "192.0.2.1");
	snprintf(m->message, sizeof(m->message), "connected");
	snprintf(m->acl_path, sizeof(m->acl_path), "/vms/101");
	snprintf(m->privilege, sizeof(m->privilege), "VM.PowerMgmt");
	snprintf(m->pool, sizeof(m->pool), "web");
	m->lines = 7;
	m->bytes = 1234567890123ULL;
	m->pid = 4242;
	memset(m->mac, 0x5a, sizeof(m->mac));
}

static void
test_round_trip_and_truncations(void **state)
{
	static const int types[] = { KH_REQ_CONNECT, KH_REQ_SEAL,
	    KH_REQ_API_AUTH, KH_CTL_CHILD, KH_REP_CONNECT, KH_REP_SEAL,
	    KH_REP_API_AUTH, KH_REQ_IDENTIFY, KH_REP_IDENTIFY };
	unsigned char buf[KH_MSG_MAX + 1], again[KH_MSG_MAX];
	struct kh_msg m, d;
	size_t i, cut;
	int n;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		fill(&m, types[i]);
		n = kh_msg_encode(&m, buf, sizeof(buf));
		assert_true(n > 1);
		assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), 0);
		assert_int_equal(kh_msg_encode(&d, again, sizeof(again)), n);
		assert_memory_equal(buf, again, (size_t)n);
		for (cut = 0; cut < (size_t)n; cut++)
			assert_int_equal(kh_msg_decode(buf, cut, &d), -1);
		buf[n] = 0;
		assert_int_equal(kh_msg_decode(buf, (size_t)n + 1, &d), -1);
	}
	/* Unknown types are not spoken. */
	fill(&m, 0x7f);
	assert_int_equal(kh_msg_encode(&m, buf, sizeof(buf)), -1);
	buf[0] = 0x7f;
	assert_int_equal(kh_msg_decode(buf, 1, &d), -1);
}

static void
test_bad_fields_refused(void **state)
{
	unsigned char buf[KH_MSG_MAX];
	struct kh_msg m, d;
	int n;

	(void)state;
	fill(&m, KH_REQ_CONNECT);
	snprintf(m.person, sizeof(m.person), "al ice");
	n = kh_msg_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), -1);
	fill(&m, KH_REQ_CONNECT);
	snprintf(m.target, sizeof(m.target), "../etc");
	n = kh_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), -1);
	fill(&m, KH_REQ_SEAL);
	snprintf(m.basename, sizeof(m.basename), "../seal.key");
	n = kh_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), -1);
	fill(&m, KH_REQ_SEAL);
	m.chain_hex[10] = 'G';
	n = kh_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), -1);
	fill(&m, KH_REQ_API_AUTH);
	snprintf(m.acl_path, sizeof(m.acl_path), "vms/101");
	n = kh_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), -1);
	fill(&m, KH_REQ_API_AUTH);
	snprintf(m.acl_path, sizeof(m.acl_path), "/vms/101?x");
	n = kh_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), -1);
	/* The monitor's IDENTIFY names a person and a session, both names. */
	fill(&m, KH_REQ_IDENTIFY);
	snprintf(m.person, sizeof(m.person), "alice\nbob");
	n = kh_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), -1);
	fill(&m, KH_REQ_IDENTIFY);
	m.session_id[0] = '\0';
	n = kh_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), -1);
	/* A string longer than its bound. */
	buf[0] = KH_REQ_CONNECT;
	buf[1] = 0x01;
	buf[2] = 0x00;
	memset(buf + 3, 'a', 256);
	assert_int_equal(kh_msg_decode(buf, 3 + 256, &d), -1);
	/* A forward destination: a valid address and a port, or neither. */
	fill(&m, KH_REQ_CONNECT);
	snprintf(m.fwd_host, sizeof(m.fwd_host), "192.0.2.7");
	m.fwd_port = 8006;
	n = kh_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), 0);
	assert_string_equal(d.fwd_host, "192.0.2.7");
	assert_int_equal(d.fwd_port, 8006);
	m.fwd_port = 0;
	n = kh_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), -1);
	m.fwd_host[0] = '\0';
	m.fwd_port = 22;
	n = kh_msg_encode(&m, buf, sizeof(buf));
	assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), -1);
	/* A NUL inside a string. */
	fill(&m, KH_REQ_CONNECT);
	n = kh_msg_encode(&m, buf, sizeof(buf));
	buf[4] = '\0';		/* inside "alice" */
	assert_int_equal(kh_msg_decode(buf, (size_t)n, &d), -1);
}

static size_t
put_str(unsigned char *p, const void *s, size_t n)
{
	p[0] = (unsigned char)(n >> 24);
	p[1] = (unsigned char)(n >> 16);
	p[2] = (unsigned char)(n >> 8);
	p[3] = (unsigned char)n;
	memcpy(p + 4, s, n);
	return 4 + n;
}

static size_t
userauth(unsigned char *p, const char *login, const char *blob, int extra)
{
	unsigned char sid[32];
	size_t o = 0;

	memset(sid, 1, sizeof(sid));
	o += put_str(p + o, sid, sizeof(sid));
	p[o++] = 50;
	o += put_str(p + o, login, strlen(login));
	o += put_str(p + o, "ssh-connection", 14);
	o += put_str(p + o, "publickey", 9);
	p[o++] = 1;
	o += put_str(p + o, "ssh-ed25519", 11);
	o += put_str(p + o, blob, strlen(blob));
	if (extra)
		p[o++] = 0;
	return o;
}

static void
test_agent_messages(void **state)
{
	unsigned char d[512], msg[600];
	const unsigned char *blob = (const unsigned char *)"BLOB";
	struct kh_agent_req r;
	size_t n, o = 0, cut;

	(void)state;
	n = userauth(d, "hvbpve", "BLOB", 0);
	assert_int_equal(kh_agent_check_userauth(d, n, "hvbpve", blob, 4), 0);
	for (cut = 0; cut < n; cut++)
		assert_int_equal(kh_agent_check_userauth(d, cut, "hvbpve",
		    blob, 4), -1);
	assert_int_equal(kh_agent_check_userauth(d, n, "root", blob, 4), -1);
	n = userauth(d, "hvbpve", "BLOX", 0);
	assert_int_equal(kh_agent_check_userauth(d, n, "hvbpve", blob, 4), -1);
	n = userauth(d, "hvbpve", "BLOB", 1);
	assert_int_equal(kh_agent_check_userauth(d, n, "hvbpve", blob, 4), -1);

	msg[o++] = KH_AGENTC_SIGN_REQUEST;
	o += put_str(msg + o, "BLOB", 4);
	n = userauth(d, "hvbpve", "BLOB", 0);
	o += put_str(msg + o, d, n);
	memset(msg + o, 0, 4);
	o += 4;
	assert_int_equal(kh_agent_parse(msg, o, &r), 0);
	assert_int_equal(r.type, KH_AGENTC_SIGN_REQUEST);
	assert_int_equal(r.key_blob_len, 4);
	assert_int_equal(r.data_len, n);
	for (cut = 0; cut < o; cut++)
		assert_int_equal(kh_agent_parse(msg, cut, &r), -1);
	msg[0] = KH_AGENTC_REQUEST_IDENTITIES;
	assert_int_equal(kh_agent_parse(msg, 1, &r), 0);
	assert_int_equal(kh_agent_parse(msg, 2, &r), -1);
	msg[0] = 17;	/* ADD_IDENTITY: never */
	assert_int_equal(kh_agent_parse(msg, 1, &r), -1);
}

/* libssh's public blob of the key in path. */
static size_t
libssh_blob(const char *path, unsigned char *out, size_t cap)
{
	ssh_key priv = NULL, pub = NULL;
	char *b64 = NULL;
	int n;

	assert_int_equal(ssh_pki_import_privkey_file(path, NULL, NULL, NULL,
	    &priv), SSH_OK);
	assert_int_equal(ssh_pki_export_privkey_to_pubkey(priv, &pub), SSH_OK);
	assert_int_equal(ssh_pki_export_pubkey_base64(pub, &b64), SSH_OK);
	n = EVP_DecodeBlock(out, (unsigned char *)b64, (int)strlen(b64));
	assert_true(n > 0 && (size_t)n <= cap);
	while (strlen(b64) > 0 && b64[strlen(b64) - 1] == '=') {
		b64[strlen(b64) - 1] = '\0';
		n--;
	}
	ssh_string_free_char(b64);
	ssh_key_free(pub);
	ssh_key_free(priv);
	return (size_t)n;
}

static size_t
get_str(const unsigned char *p, const unsigned char **s)
{
	size_t n = (size_t)p[0] << 24 | (size_t)p[1] << 16 |
	    (size_t)p[2] << 8 | p[3];

	*s = p + 4;
	return n;
}

/* Verifies an SSH signature blob over data with the public key pkey. */
static void
verify(EVP_PKEY *pkey, const char *want_alg, const EVP_MD *md,
    const unsigned char *sig, size_t siglen, const unsigned char *data,
    size_t len)
{
	const unsigned char *alg, *raw, *r, *s;
	size_t alen, rawlen, rl, sl;
	unsigned char der[256], *dp = der;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ECDSA_SIG *es;
	int derlen;

	alen = get_str(sig, &alg);
	assert_int_equal(alen, strlen(want_alg));
	assert_memory_equal(alg, want_alg, alen);
	rawlen = get_str(alg + alen, &raw);
	assert_int_equal(4 + alen + 4 + rawlen, siglen);
	if (strncmp(want_alg, "ecdsa", 5) == 0) {
		rl = get_str(raw, &r);
		sl = get_str(r + rl, &s);
		es = ECDSA_SIG_new();
		ECDSA_SIG_set0(es, BN_bin2bn(r, (int)rl, NULL),
		    BN_bin2bn(s, (int)sl, NULL));
		derlen = i2d_ECDSA_SIG(es, &dp);
		ECDSA_SIG_free(es);
		raw = der;
		rawlen = (size_t)derlen;
	}
	assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, md, NULL, pkey), 1);
	assert_int_equal(EVP_DigestVerify(ctx, raw, rawlen, data, len), 1);
	EVP_MD_CTX_free(ctx);
}

static void
check_key(const char *path, EVP_PKEY *pkey, const char *alg,
    const EVP_MD *md, uint32_t flags)
{
	unsigned char want[KH_BLOB_MAX], sig[KH_SIG_MAX];
	const unsigned char *blob;
	struct kh_key *k;
	char why[256];
	size_t wantlen, bloblen;
	int n;

	k = kh_key_load(path, why, sizeof(why));
	if (k == NULL)
		fail_msg("%s", why);
	if (EVP_PKEY_get_base_id(pkey) == EVP_PKEY_ED25519) {
		/* libssh 0.10 reads no PEM ed25519: the blob by hand. */
		unsigned char rawpub[32];
		size_t rl = sizeof(rawpub);

		assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, rawpub,
		    &rl), 1);
		wantlen = put_str(want, "ssh-ed25519", 11);
		wantlen += put_str(want + wantlen, rawpub, rl);
	} else
		wantlen = libssh_blob(path, want, sizeof(want));
	blob = kh_key_blob(k, &bloblen);
	assert_int_equal(bloblen, wantlen);
	assert_memory_equal(blob, want, wantlen);
	n = kh_key_sign(k, flags, (const unsigned char *)"to be signed", 12,
	    sig, sizeof(sig));
	assert_true(n > 0);
	verify(pkey, alg, md, sig, (size_t)n,
	    (const unsigned char *)"to be signed", 12);
	kh_key_free(k);
}

static void
test_pem_keys_sign(void **state)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct { const char *type; const char *param; const char *alg;
	    const EVP_MD *(*md)(void); uint32_t flags; } cases[] = {
		{ "ED25519", NULL, "ssh-ed25519", NULL, 0 },
		{ "RSA", NULL, "rsa-sha2-512", EVP_sha512,
		    KH_AGENT_RSA_SHA2_512 },
		{ "RSA", NULL, "rsa-sha2-256", EVP_sha256,
		    KH_AGENT_RSA_SHA2_256 },
		{ "EC", "P-256", "ecdsa-sha2-nistp256", EVP_sha256, 0 },
		{ "EC", "P-384", "ecdsa-sha2-nistp384", EVP_sha384, 0 },
	};
	size_t i;

	(void)state;
	assert_non_null(unit_mkdtemp(dir, sizeof(dir)));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		EVP_PKEY *pkey;
		BIO *bio = BIO_new(BIO_s_mem());
		char *pem;
		long len;

		if (strcmp(cases[i].type, "RSA") == 0)
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA",
			    (size_t)2048);
		else if (cases[i].param != NULL)
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
			    cases[i].param);
		else
			pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		assert_non_null(pkey);
		assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL,
		    NULL, 0, NULL, NULL), 1);
		len = BIO_get_mem_data(bio, &pem);
		assert_int_equal(unit_write_file(dir, "key", pem, (size_t)len,
		    0600, path, sizeof(path)), 0);
		check_key(path, pkey, cases[i].alg,
		    cases[i].md != NULL ? cases[i].md() : NULL,
		    cases[i].flags);
		if (strcmp(cases[i].type, "RSA") == 0) {
			/* SHA-1 "ssh-rsa" signatures are never made. */
			unsigned char sig[KH_SIG_MAX];
			struct kh_key *k;
			char why[256];

			assert_non_null(k = kh_key_load(path, why,
			    sizeof(why)));
			assert_int_equal(kh_key_sign(k, 0,
			    (const unsigned char *)"x", 1, sig, sizeof(sig)),
			    -1);
			kh_key_free(k);
		}
		BIO_free(bio);
		EVP_PKEY_free(pkey);
	}
	unit_rmtree(dir);
}

static void
test_openssh_ed25519_key(void **state)
{
	char dir[PATH_MAX - 8], path[PATH_MAX];
	unsigned char raw[32], want[KH_BLOB_MAX];
	ssh_key key = NULL;
	EVP_PKEY *pub;
	char why[256];
	struct kh_key *k;
	size_t n;

	(void)state;
	assert_non_null(unit_mkdtemp(dir, sizeof(dir)));
	assert_true((size_t)snprintf(path, sizeof(path), "%s/id", dir) <
	    sizeof(path));
	assert_int_equal(ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key),
	    SSH_OK);
	assert_int_equal(ssh_pki_export_privkey_file(key, NULL, NULL, NULL,
	    path), SSH_OK);
	ssh_key_free(key);
	assert_int_equal(chmod(path, 0600), 0);
	n = libssh_blob(path, want, sizeof(want));
	memcpy(raw, want + n - 32, 32);
	assert_non_null(pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519,
	    NULL, raw, 32));
	check_key(path, pub, "ssh-ed25519", NULL, 0);
	EVP_PKEY_free(pub);
	/* Readable by others: refused. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_null(k = kh_key_load(path, why, sizeof(why)));
	assert_non_null(strstr(why, "0600"));
	unit_rmtree(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_truncations),
		cmocka_unit_test(test_bad_fields_refused),
		cmocka_unit_test(test_agent_messages),
		cmocka_unit_test(test_pem_keys_sign),
		cmocka_unit_test(test_openssh_ed25519_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
