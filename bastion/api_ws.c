/*
 * api_ws.c - RFC 6455 frame reader (api_ws.h).  Incremental: any split
 * of the stream gives the same frames.
 */
#include <stdlib.h>
#include <string.h>

#include "api_ws.h"

int
api_ws_reader_init(struct api_ws_reader *r, int from_client)
{
	memset(r, 0, sizeof(*r));
	r->from_client = from_client;
	r->hneed = 2;
	r->payload = malloc(API_WS_MAX_PAYLOAD);
	return r->payload != NULL ? 0 : -1;
}

void
api_ws_reader_free(struct api_ws_reader *r)
{
	if (r->payload != NULL) {
		explicit_bzero(r->payload, r->high);
		free(r->payload);
	}
	r->payload = NULL;
}

/* The header is whole: checks it and sets plen.  0 or -1. */
static int
header_done(struct api_ws_reader *r)
{
	int masked = (r->hdr[1] & 0x80) != 0, opcode = r->hdr[0] & 0x0f;
	size_t n = r->hdr[1] & 0x7f;
	size_t i;

	if ((r->hdr[0] & 0x70) != 0 || masked != r->from_client)
		return -1;
	if (n == 126)
		r->plen = (uint64_t)r->hdr[2] << 8 | r->hdr[3];
	else if (n == 127) {
		r->plen = 0;
		for (i = 0; i < 8; i++)
			r->plen = r->plen << 8 | r->hdr[2 + i];
	} else
		r->plen = n;
	if (r->plen > API_WS_MAX_PAYLOAD)
		return -1;
	/* Control frames: short and whole (RFC 6455 5.5). */
	if ((opcode & 0x08) && (r->plen > 125 || !(r->hdr[0] & 0x80)))
		return -1;
	return 0;
}

int
api_ws_feed(struct api_ws_reader *r, const unsigned char *buf, size_t len,
    api_ws_frame_fn fn, void *arg)
{
	while (len > 0 && !r->error) {
		if (r->hlen < r->hneed) {
			r->hdr[r->hlen++] = *buf++;
			len--;
			if (r->hlen == 2) {
				size_t n = r->hdr[1] & 0x7f;

				r->hneed = 2 + (n == 126 ? 2 : n == 127 ? 8 :
				    0) + ((r->hdr[1] & 0x80) ? 4 : 0);
			}
			if (r->hlen == r->hneed) {
				if (header_done(r) < 0) {
					r->error = 1;
					break;
				}
				r->got = 0;
			} else
				continue;
		} else {
			size_t take = (size_t)(r->plen - r->got);

			if (take > len)
				take = len;
			memcpy(r->payload + r->got, buf, take);
			r->got += take;
			if (r->got > r->high)
				r->high = r->got;
			buf += take;
			len -= take;
		}
		if (r->hlen == r->hneed && r->got == r->plen) {
			size_t i;

			if (r->hdr[1] & 0x80) {
				const unsigned char *m = r->hdr + r->hneed - 4;

				for (i = 0; i < r->got; i++)
					r->payload[i] ^= m[i & 3];
			}
			if (fn(arg, r->hdr[0] & 0x0f, (r->hdr[0] & 0x80) != 0,
			    r->payload, r->got) != 0)
				r->error = 1;
			r->hlen = 0;
			r->hneed = 2;
			r->got = 0;
			r->plen = 0;
		}
	}
	return r->error ? -1 : 0;
}

/* A decimal of 1 to 6 digits at p[*i], then ':'; -1 if not. */
static long
number(const unsigned char *p, size_t len, size_t *i)
{
	long v = 0;
	size_t start = *i;

	while (*i < len && p[*i] >= '0' && p[*i] <= '9' && *i - start < 7)
		v = v * 10 + (p[(*i)++] - '0');
	if (*i == start || *i - start > 6 || *i >= len || p[*i] != ':')
		return -1;
	(*i)++;
	return v;
}

int
api_term_msg(const unsigned char *p, size_t len, const unsigned char **data,
    size_t *dlen, int *cols, int *rows)
{
	size_t i = 2;
	long a, b;

	if (len == 1 && p[0] == '2')
		return API_TERM_PING;
	if (len < 2 || p[1] != ':')
		return API_TERM_OTHER;
	if (p[0] == '0') {
		if ((a = number(p, len, &i)) < 0 || (size_t)a > len - i)
			return API_TERM_OTHER;
		*data = p + i;
		*dlen = (size_t)a;
		return API_TERM_INPUT;
	}
	if (p[0] == '1') {
		if ((a = number(p, len, &i)) <= 0 || (b = number(p, len, &i)) <=
		    0 || a > 9999 || b > 9999)
			return API_TERM_OTHER;
		*cols = (int)a;
		*rows = (int)b;
		return API_TERM_RESIZE;
	}
	return API_TERM_OTHER;
}
