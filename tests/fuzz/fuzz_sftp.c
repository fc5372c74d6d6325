/*
 * fuzz_sftp.c - libFuzzer target for the SFTP follower (sftp_parse.c).
 *
 * Input: a sequence of records, each one byte (low bit: direction, the
 * rest: a length up to 127) then that many bytes, fed to the parser as
 * one chunk.  Properties: no crash, no leak, every event is a JSON object
 * that serialises, and an error sticks.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../recorder/sftp_parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
on_event(void *arg, json_t *ev)
{
	char *s;

	(void)arg;
	if (!json_is_object(ev))
		abort();
	if ((s = json_dumps(ev, JSON_COMPACT)) == NULL)
		abort();
	free(s);
	json_decref(ev);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct sftp_parse *sp;
	size_t off = 0, n;
	int failed = 0, rc;

	if ((sp = sftp_parse_new(on_event, NULL)) == NULL)
		return 0;
	while (off < len) {
		int dir = data[off] & 1;

		n = data[off] >> 1;
		off++;
		if (n > len - off)
			n = len - off;
		rc = sftp_parse_feed(sp, dir ? SFTP_FROM_SERVER :
		    SFTP_FROM_CLIENT, data + off, n);
		if (failed && rc == 0)
			abort();
		if (rc < 0)
			failed = 1;
		off += n;
	}
	sftp_parse_finish(sp);
	sftp_parse_free(sp);
	return 0;
}
