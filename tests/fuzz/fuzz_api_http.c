/*
 * fuzz_api_http.c - libFuzzer target for the API front's HTTP request
 * reader (bastion/api_http.c, on http-parser).
 *
 * Byte 0 seeds how the rest is cut into chunks; the rest is a stream of
 * (possibly pipelined) requests.  Properties: only the three results;
 * a refused request has a status and a reason; a complete one has an
 * allowed method, a target, at most 64 headers with names and values, a
 * body only for POST/PUT within 512 KiB and NUL-terminated; the reader
 * never takes more bytes than it was given.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bastion/api_http.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_request(const struct api_http_request *q)
{
	size_t i;

	if (strcmp(q->method, "GET") != 0 && strcmp(q->method, "POST") != 0 &&
	    strcmp(q->method, "PUT") != 0 && strcmp(q->method, "DELETE") != 0)
		abort();
	if (q->target == NULL || q->nheaders > API_HTTP_MAX_HEADERS)
		abort();
	for (i = 0; i < q->nheaders; i++)
		if (q->headers[i].name == NULL || q->headers[i].value == NULL)
			abort();
	if (q->body_len > API_HTTP_MAX_BODY)
		abort();
	if (q->body_len > 0 && (q->body == NULL || q->body[q->body_len] != 0 ||
	    (strcmp(q->method, "POST") != 0 && strcmp(q->method, "PUT") != 0)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct api_http_request req;
	struct api_http_reader rd;
	unsigned seed;
	size_t off = 1, used;
	int rc, requests = 0;

	if (size < 1)
		return 0;
	seed = data[0];
	api_http_begin(&rd, &req);
	while (off < size && requests < 16) {
		size_t n;

		seed = seed * 1103515245u + 12345u;
		n = 1 + seed % 64;
		if (n > size - off)
			n = size - off;
		rc = api_http_feed(&rd, (const char *)data + off, n, &used);
		if (used > n)
			abort();
		if (rc == API_HTTP_ERROR) {
			if (req.status < 400 || req.status > 599 ||
			    req.reason[0] == '\0')
				abort();
			break;
		}
		if (rc == API_HTTP_DONE) {
			check_request(&req);
			requests++;
			api_http_begin(&rd, &req);
		} else if (rc != API_HTTP_MORE)
			abort();
		/* What was not taken is fed again (the next request's). */
		off += used > 0 || rc == API_HTTP_DONE ? used : n;
	}
	api_http_request_clear(&req);
	return 0;
}
