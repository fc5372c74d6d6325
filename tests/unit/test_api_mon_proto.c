/*
 * test_api_mon_proto.c - the API monitor's messages (api_mon_proto.h):
 * every type round-trips, any truncation or trailing byte is refused, and
 * fields out of their set or bound are refused whole, by the encoder and
 * by the decoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../bastion/api_mon_proto.h"

static void
fill(struct api_mon_msg *m, int type)
{
	memset(m, 0, sizeof(*m));
	m->type = (uint8_t)type;
	m->status = API_MON_OK;
	m->kind = API_MON_CRED_TICKET;
	m->flag = 1;
	m->token_status = API_MON_OK;
	snprintf(m->userid, sizeof(m->userid), "alice@pve");
	snprintf(m->password, sizeof(m->password), "p\xc3\xa4ss word\t!");
	snprintf(m->challenge, sizeof(m->challenge), "PVE:!tfa!alice@pve:1::AA");
	snprintf(m->credential, sizeof(m->credential), "bob@pve!ci secret");
	snprintf(m->csrf, sizeof(m->csrf), "6553F100:ABCDEF");
	snprintf(m->ticket, sizeof(m->ticket), "PVE:alice@pve:6553F100::AB");
	snprintf(m->acl_path, sizeof(m->acl_path), "/vms/101");
	snprintf(m->privilege, sizeof(m->privilege), "VM.Config.*");
	snprintf(m->pool, sizeof(m->pool), "web");
	snprintf(m->header, sizeof(m->header), "PVEAPIToken=root@pam!x=y");
	snprintf(m->why, sizeof(m->why), "invalid ticket");
	snprintf(m->node, sizeof(m->node), "pve1");
	snprintf(m->login, sizeof(m->login), "root");
	snprintf(m->basename, sizeof(m->basename), "20261122-x.jsonl");
	memset(m->chain_hex, 'a', 64);
	m->lines = 3;
	m->bytes = 1234567890123ULL;
	memset(m->mac, 0x5a, sizeof(m->mac));
	m->blob.len = 71;
	memset(m->blob.data, 0, m->blob.len);	/* binary: NULs too */
	m->blob.data[70] = 0xff;
	snprintf(m->prompt, sizeof(m->prompt), "One-time code: ");
	snprintf(m->info, sizeof(m->info), "1 failure\nlast: \xc3\xa4");
	/* The SSH child's: a person's name, a key fingerprint. */
	if (type >= API_MON_REQ_SSH_KEY && type <= API_MON_REQ_SSH_DONE) {
		snprintf(m->userid, sizeof(m->userid), "alice");
		snprintf(m->credential, sizeof(m->credential),
		    "SHA256:7upnuMoU5t0+41ohg6wpRc+icD6fNIEaz42rKjWZ0h4");
	}
}

static void
test_round_trip_and_truncations(void **state)
{
	static const int types[] = { API_MON_REQ_LOGIN, API_MON_REQ_AUTH,
	    API_MON_REQ_CONNECT, API_MON_REQ_SEAL, API_MON_REP_LOGIN,
	    API_MON_REP_AUTH, API_MON_REP_CONNECT, API_MON_REP_SEAL,
	    API_MON_REQ_SSH_KEY, API_MON_REQ_SSH_PAM, API_MON_REQ_SSH_ANSWER,
	    API_MON_REQ_SSH_DONE, API_MON_REP_SSH_KEY, API_MON_REP_SSH_PAM,
	    API_MON_SSH_PROMPT, API_MON_REP_SSH_DONE, API_MON_REQ_TLS_SIGN,
	    API_MON_REP_TLS_SIGN };
	unsigned char buf[API_MON_MSG_MAX + 1], again[API_MON_MSG_MAX];
	struct api_mon_msg m, d;
	size_t i, cut;
	int n;

	(void)state;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		fill(&m, types[i]);
		n = api_mon_encode(&m, buf, sizeof(buf));
		assert_true(n > 1);
		assert_int_equal(api_mon_decode(buf, (size_t)n, &d), 0);
		assert_int_equal(d.type, types[i]);
		assert_int_equal(api_mon_encode(&d, again, sizeof(again)), n);
		assert_memory_equal(buf, again, (size_t)n);
		for (cut = 0; cut < (size_t)n; cut++)
			assert_int_equal(api_mon_decode(buf, cut, &d), -1);
		buf[n] = 0;
		assert_int_equal(api_mon_decode(buf, (size_t)n + 1, &d), -1);
	}
	fill(&m, API_MON_REQ_LOGIN);
	n = api_mon_encode(&m, buf, sizeof(buf));
	assert_int_equal(api_mon_decode(buf, (size_t)n, &d), 0);
	assert_string_equal(d.password, m.password);
	assert_string_equal(d.userid, "alice@pve");
	fill(&m, 0x7f);
	assert_int_equal(api_mon_encode(&m, buf, sizeof(buf)), -1);
	buf[0] = 0x7f;
	assert_int_equal(api_mon_decode(buf, 1, &d), -1);
}

/*
 * A field out of shape: the encoder refuses it; and the decoder refuses
 * the bytes of a good message (the field holding good, as long as bad)
 * with bad put in its place by hand.
 */
static void
refused(struct api_mon_msg *m, size_t off, const char *good, const char *bad)
{
	unsigned char buf[API_MON_MSG_MAX];
	struct api_mon_msg d;
	unsigned char *at;
	int n;

	assert_int_equal(strlen(good), strlen(bad));
	snprintf((char *)m + off, strlen(bad) + 1, "%s", bad);
	assert_int_equal(api_mon_encode(m, buf, sizeof(buf)), -1);
	snprintf((char *)m + off, strlen(good) + 1, "%s", good);
	n = api_mon_encode(m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(api_mon_decode(buf, (size_t)n, &d), 0);
	at = memmem(buf, (size_t)n, good, strlen(good));
	assert_non_null(at);
	memcpy(at, bad, strlen(bad));
	assert_int_equal(api_mon_decode(buf, (size_t)n, &d), -1);
}

static void
test_bad_fields_refused(void **state)
{
	unsigned char buf[API_MON_MSG_MAX];
	struct api_mon_msg m, d;
	int n;

	(void)state;
	fill(&m, API_MON_REQ_AUTH);
	refused(&m, offsetof(struct api_mon_msg, acl_path), "/vms/10",
	    "vms/101");
	fill(&m, API_MON_REQ_AUTH);
	refused(&m, offsetof(struct api_mon_msg, pool), "webx", "../x");
	fill(&m, API_MON_REQ_AUTH);
	refused(&m, offsetof(struct api_mon_msg, privilege), "VM.Audit",
	    "VM Audit");
	fill(&m, API_MON_REQ_AUTH);
	m.flag = 4;
	assert_int_equal(api_mon_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, API_MON_REQ_AUTH);
	m.kind = 3;
	assert_int_equal(api_mon_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, API_MON_REQ_LOGIN);
	refused(&m, offsetof(struct api_mon_msg, userid), "alxice@pve",
	    "al ice@pve");
	fill(&m, API_MON_REQ_CONNECT);
	refused(&m, offsetof(struct api_mon_msg, node), "pve1-node-xx",
	    "127.0.0.1:22");
	fill(&m, API_MON_REQ_SEAL);
	snprintf(m.basename, sizeof(m.basename), "../seal.key");
	assert_int_equal(api_mon_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, API_MON_REQ_SEAL);
	m.chain_hex[3] = 'G';
	assert_int_equal(api_mon_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, API_MON_REP_AUTH);
	snprintf(m.header, sizeof(m.header), "PVEAPIToken=a=b\r\nX-Evil: 1");
	assert_int_equal(api_mon_encode(&m, buf, sizeof(buf)), -1);
	/* The SSH child names a person (names_valid), never a realm or a
	 * path; a fingerprint has no space; an answer is at most a flag. */
	fill(&m, API_MON_REQ_SSH_PAM);
	refused(&m, offsetof(struct api_mon_msg, userid), "alice",
	    "a/../");
	fill(&m, API_MON_REQ_SSH_DONE);
	refused(&m, offsetof(struct api_mon_msg, userid), "alice-pv",
	    "alice pv");
	fill(&m, API_MON_REQ_SSH_KEY);
	refused(&m, offsetof(struct api_mon_msg, credential), "SHA256:ab",
	    "SHA256 ab");
	fill(&m, API_MON_SSH_PROMPT);
	m.flag = 2;
	assert_int_equal(api_mon_encode(&m, buf, sizeof(buf)), -1);
	/* A signature request: a kind it knows, bytes within their bound. */
	fill(&m, API_MON_REQ_TLS_SIGN);
	m.kind = API_MON_SIGN_RSA_RAW + 1;
	assert_int_equal(api_mon_encode(&m, buf, sizeof(buf)), -1);
	fill(&m, API_MON_REQ_TLS_SIGN);
	m.blob.len = API_MON_BLOB_MAX + 1;
	assert_int_equal(api_mon_encode(&m, buf, sizeof(buf)), -1);
	buf[0] = API_MON_REQ_TLS_SIGN;
	buf[1] = API_MON_SIGN_ECDSA;
	buf[2] = (API_MON_BLOB_MAX + 1) >> 8;
	buf[3] = (API_MON_BLOB_MAX + 1) & 0xff;
	memset(buf + 4, 1, API_MON_BLOB_MAX + 1);
	assert_int_equal(api_mon_decode(buf, 4 + API_MON_BLOB_MAX + 1, &d),
	    -1);
	/* By hand: a CONNECT whose node has a space; a string over its
	 * bound; a password with a NUL. */
	memcpy(buf, "\x03\x00\x04pv 1", 7);
	assert_int_equal(api_mon_decode(buf, 7, &d), -1);
	buf[0] = API_MON_REQ_CONNECT;
	buf[1] = 0;
	buf[2] = API_MON_NAME_MAX + 1;
	memset(buf + 3, 'a', API_MON_NAME_MAX + 1);
	assert_int_equal(api_mon_decode(buf, 3 + API_MON_NAME_MAX + 1, &d),
	    -1);
	memcpy(buf, "\x01\x00\x09" "alice@pve" "\x00\x03" "a\0b" "\x00\x00",
	    1 + 2 + 9 + 2 + 3 + 2);
	assert_int_equal(api_mon_decode(buf, 19, &d), -1);
	memcpy(buf, "\x01\x00\x09" "alice@pve" "\x00\x03" "a-b" "\x00\x00",
	    19);
	assert_int_equal(api_mon_decode(buf, 19, &d), 0);
	/* A reply type with a status out of range. */
	memcpy(buf, "\x83\x04\x00\x00", 4);
	assert_int_equal(api_mon_decode(buf, 4, &d), -1);
	/* A failed decode leaves nothing behind. */
	fill(&m, API_MON_REQ_LOGIN);
	n = api_mon_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(api_mon_decode(buf, (size_t)n - 1, &d), -1);
	assert_int_equal(d.password[0], 0);
	assert_int_equal(d.type, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_and_truncations),
		cmocka_unit_test(test_bad_fields_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
