/*
 * fuzz_api_mon_proto.c - libFuzzer target for the monitors' decoder
 * (bastion/api_mon_proto.c): what a sandboxed API or SSH child, perhaps
 * taken over, may send its monitor, and what the monitor answers.
 *
 * Properties: no crash or leak; a decoded message re-encodes to the same
 * bytes; every string of a decoded message is NUL-terminated within its
 * field and shorter than its bound.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bastion/api_mon_proto.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
bounded(const char *s, size_t size)
{
	if (memchr(s, '\0', size) == NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct api_mon_msg m;
	unsigned char buf[API_MON_MSG_MAX];
	int n;

	if (api_mon_decode(data, len, &m) < 0)
		return 0;
	bounded(m.userid, sizeof(m.userid));
	bounded(m.password, sizeof(m.password));
	bounded(m.challenge, sizeof(m.challenge));
	bounded(m.credential, sizeof(m.credential));
	bounded(m.csrf, sizeof(m.csrf));
	bounded(m.ticket, sizeof(m.ticket));
	bounded(m.acl_path, sizeof(m.acl_path));
	bounded(m.privilege, sizeof(m.privilege));
	bounded(m.pool, sizeof(m.pool));
	bounded(m.header, sizeof(m.header));
	bounded(m.why, sizeof(m.why));
	bounded(m.node, sizeof(m.node));
	bounded(m.login, sizeof(m.login));
	bounded(m.basename, sizeof(m.basename));
	bounded(m.chain_hex, sizeof(m.chain_hex));
	bounded(m.prompt, sizeof(m.prompt));
	bounded(m.info, sizeof(m.info));
	if (m.blob.len > API_MON_BLOB_MAX)
		abort();
	n = api_mon_encode(&m, buf, sizeof(buf));
	if (n < 0 || (size_t)n != len || memcmp(buf, data, len) != 0)
		abort();
	api_mon_wipe(&m);
	return 0;
}
