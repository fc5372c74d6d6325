/*
 * fuzz_api_ws.c - libFuzzer target for the websocket frame reader of the
 * API consoles (bastion/api_ws.c).
 *
 * Byte 0: bit 0 says client (masked) or node frames, the rest seeds the
 * chunking.  Properties: only 0 or -1; every frame reported fits the
 * payload bound, control frames are short and whole; an error sticks;
 * the frames seen do not depend on how the stream was cut; each
 * payload read as a termproxy message gives input inside the payload
 * and sizes in range.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bastion/api_ws.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct seen {
	unsigned long	 frames;
	unsigned long	 bytes;
	unsigned	 sum;
};

static int
frame(void *arg, int opcode, int fin, const unsigned char *p, size_t len)
{
	struct seen *s = arg;
	size_t i;

	if (len > API_WS_MAX_PAYLOAD || opcode < 0 || opcode > 15 ||
	    ((opcode & 8) && (len > 125 || !fin)))
		abort();
	{
		const unsigned char *d = NULL;
		size_t dl = 0;
		int cols = 0, rows = 0;

		switch (api_term_msg(p, len, &d, &dl, &cols, &rows)) {
		case API_TERM_INPUT:
			if (d < p || d + dl > p + len)
				abort();
			break;
		case API_TERM_RESIZE:
			if (cols < 1 || cols > 9999 || rows < 1 ||
			    rows > 9999)
				abort();
			break;
		case API_TERM_PING:
		case API_TERM_OTHER:
			break;
		default:
			abort();
		}
	}
	s->frames++;
	s->bytes += len;
	for (i = 0; i < len; i++)
		s->sum = s->sum * 31 + p[i];
	return 0;
}

static int
run(const uint8_t *data, size_t size, int client, unsigned seed,
    struct seen *s)
{
	struct api_ws_reader r;
	size_t off = 0;
	int rc = 0;

	memset(s, 0, sizeof(*s));
	if (api_ws_reader_init(&r, client) < 0)
		abort();
	while (off < size) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = seed == 0 ? size - off : 1 + seed % 300;
		if (n > size - off)
			n = size - off;
		rc = api_ws_feed(&r, data + off, n, frame, s);
		if (rc != 0 && rc != -1)
			abort();
		if (rc < 0) {
			/* Sticks. */
			if (api_ws_feed(&r, (const unsigned char *)"\x82\0",
			    2, frame, s) != -1)
				abort();
			break;
		}
		off += n;
	}
	api_ws_reader_free(&r);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen a, b;
	int ra, rb;

	if (size < 1)
		return 0;
	ra = run(data + 1, size - 1, data[0] & 1, 0, &a);
	rb = run(data + 1, size - 1, data[0] & 1, data[0] | 1u, &b);
	if (ra != rb || (ra == 0 && (a.frames != b.frames ||
	    a.bytes != b.bytes || a.sum != b.sum)))
		abort();
	return 0;
}
