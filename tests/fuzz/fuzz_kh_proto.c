/*
 * fuzz_kh_proto.c - libFuzzer target for the key holder's parsers
 * (bastion/kh_proto.c, bastion/kh_keys.c): what a child, the master or a
 * key file may feed it.
 *
 * Byte 0 chooses the parser, the rest is its input:
 *   0  kh_msg_decode (a child's or the master's datagram)
 *   1  kh_agent_parse (an ssh-agent message on an agent socket)
 *   2  kh_agent_check_userauth (the data a child asks to be signed),
 *      against login "hvbpve" and the 4-byte key blob "blob"
 *   3  kh_key_parse_openssh (a key file's decoded body)
 * Properties: no crash or leak; a decoded message re-encodes to the same
 * bytes; pointers of an agent request stay inside the input; a userauth
 * check passes only with login and blob inside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bastion/kh_keys.h"
#include "../../bastion/kh_proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
inside(const unsigned char *p, size_t n, const uint8_t *in, size_t len)
{
	return n == 0 || (p >= in && p + n <= in + len);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct kh_msg m;
	struct kh_agent_req r;
	unsigned char buf[KH_MSG_MAX], seed[32], pub[32];
	int n;

	if (len == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		if (kh_msg_decode(data + 1, len - 1, &m) == 0) {
			n = kh_msg_encode(&m, buf, sizeof(buf));
			if (n < 0 || (size_t)n != len - 1 ||
			    memcmp(buf, data + 1, len - 1) != 0)
				abort();
		}
		break;
	case 1:
		if (kh_agent_parse(data + 1, len - 1, &r) == 0 &&
		    (!inside(r.key_blob, r.key_blob_len, data, len) ||
		    !inside(r.data, r.data_len, data, len)))
			abort();
		break;
	case 2:
		if (kh_agent_check_userauth(data + 1, len - 1, "hvbpve",
		    (const unsigned char *)"blob", 4) == 0 &&
		    (memmem(data, len, "hvbpve", 6) == NULL ||
		    memmem(data, len, "blob", 4) == NULL))
			abort();
		break;
	case 3:
		if (kh_key_parse_openssh(data + 1, len - 1, seed, pub) == 0 &&
		    memmem(data, len, pub, sizeof(pub)) == NULL)
			abort();
		break;
	}
	return 0;
}
