/*
 * json_text.h - terminal bytes to JSON string text, UTF-8 aware.
 *
 * A terminal stream arrives in arbitrary chunks, so a multi-byte UTF-8
 * character may be split between two chunks: the escaper keeps the
 * incomplete tail (at most 3 bytes) and finishes it with the next chunk.
 * Bytes that are not valid UTF-8 become U+FFFD.
 */
#ifndef HVB_JSON_TEXT_H
#define HVB_JSON_TEXT_H

#include <stddef.h>

struct json_text {
	unsigned char	carry[4];
	size_t		ncarry;
	int		replaced;	/* the last call wrote a U+FFFD */
};

/* Worst-case output size for len input bytes, including the carry. */
#define JSON_TEXT_MAX_OUT(len)	(((len) + 4) * 6 + 1)

/*
 * Escapes in[0..len) for use between the quotes of a JSON string; out must
 * hold JSON_TEXT_MAX_OUT(len) bytes.  With final set, a pending incomplete
 * sequence is flushed as U+FFFD.  Returns the output length (NUL-terminated).
 * The bytes the output stands for are the carry held before the call and
 * in[], less the carry held after it; they are exactly the output's UTF-8
 * (unescaped) unless st->replaced is set.
 */
size_t	json_text_escape(struct json_text *, const unsigned char *in,
	    size_t len, int final, char *out);

/* Returns a malloc'd, NUL-terminated, valid UTF-8 copy (not escaped). */
char	*json_text_utf8_copy(const char *in, size_t len);

#endif
