/*
 * fuzz_json_text.c - libFuzzer target for json_text_escape().
 *
 * The first byte seeds how the rest is cut into chunks.  Properties: the
 * output never passes JSON_TEXT_MAX_OUT, chunking never changes the
 * output, and the result is always the body of a valid JSON string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../recorder/json_text.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static size_t
escape_chunked(const uint8_t *in, size_t len, unsigned seed, char *out)
{
	struct json_text st;
	size_t off = 0, o = 0;

	memset(&st, 0, sizeof(st));
	do {
		size_t n;

		/* A small linear congruential generator: repeatable. */
		seed = seed * 1103515245u + 12345u;
		n = seed % 8;
		if (n > len - off)
			n = len - off;
		o += json_text_escape(&st, in + off, n, off + n == len,
		    out + o);
		off += n;
	} while (off < len);
	if (st.ncarry != 0)
		abort();
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_text st;
	char *whole, *split, *doc;
	size_t n, m;
	json_t *j;
	unsigned seed;

	if (size == 0 || size > 65536)
		return 0;
	seed = data[0];
	data++;
	size--;
	whole = malloc(JSON_TEXT_MAX_OUT(size));
	/* Chunks may each hold a carried prefix: a little more room. */
	split = malloc(JSON_TEXT_MAX_OUT(size) + 64);
	doc = malloc(JSON_TEXT_MAX_OUT(size) + 2);
	if (whole == NULL || split == NULL || doc == NULL)
		abort();
	memset(&st, 0, sizeof(st));
	n = json_text_escape(&st, data, size, 1, whole);
	if (n >= JSON_TEXT_MAX_OUT(size) || strlen(whole) != n)
		abort();
	m = escape_chunked(data, size, seed, split);
	if (m != n || memcmp(whole, split, n) != 0)
		abort();
	doc[0] = '"';
	memcpy(doc + 1, whole, n);
	doc[n + 1] = '"';
	if ((j = json_loadb(doc, n + 2, JSON_DECODE_ANY | JSON_ALLOW_NUL,
	    NULL)) == NULL ||
	    !json_is_string(j))
		abort();
	json_decref(j);
	free(whole);
	free(split);
	free(doc);
	return 0;
}
