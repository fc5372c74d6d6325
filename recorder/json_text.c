/*
 * json_text.c - terminal bytes to JSON string text, UTF-8 aware.
 */
#include <stdlib.h>
#include <string.h>

#include "json_text.h"

static const char replacement[] = "\xef\xbf\xbd";

/*
 * Length of the valid UTF-8 sequence at s (avail bytes), 0 if invalid,
 * or -1 if it is a valid prefix that needs more bytes.
 */
static int
utf8_seq(const unsigned char *s, size_t avail)
{
	unsigned char c = s[0];
	int need, i;
	unsigned long cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4, cp = c & 0x07;
	else
		return 0;
	for (i = 1; i < need; i++) {
		if ((size_t)i >= avail)
			break;
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
		/* Reject overlongs and surrogates as soon as they show. */
		if (i == 1) {
			if (need == 3 && c == 0xe0 && s[1] < 0xa0)
				return 0;
			if (need == 3 && c == 0xed && s[1] >= 0xa0)
				return 0;
			if (need == 4 && c == 0xf0 && s[1] < 0x90)
				return 0;
			if (need == 4 && c == 0xf4 && s[1] >= 0x90)
				return 0;
		}
	}
	if ((size_t)need > avail)
		return -1;
	(void)cp;
	return need;
}

static size_t
escape_ascii(unsigned char c, char *out)
{
	static const char hex[] = "0123456789abcdef";

	switch (c) {
	case '"':  memcpy(out, "\\\"", 2); return 2;
	case '\\': memcpy(out, "\\\\", 2); return 2;
	case '\n': memcpy(out, "\\n", 2); return 2;
	case '\r': memcpy(out, "\\r", 2); return 2;
	case '\t': memcpy(out, "\\t", 2); return 2;
	case '\b': memcpy(out, "\\b", 2); return 2;
	case '\f': memcpy(out, "\\f", 2); return 2;
	default:
		if (c < 0x20 || c == 0x7f) {
			memcpy(out, "\\u00", 4);
			out[4] = hex[c >> 4];
			out[5] = hex[c & 15];
			return 6;
		}
		out[0] = (char)c;
		return 1;
	}
}

/* Escapes whole sequences of buf; returns how many bytes were consumed. */
static size_t
escape_run(struct json_text *st, const unsigned char *buf, size_t len,
    int final, char *out, size_t *o)
{
	size_t i = 0;

	while (i < len) {
		int n = utf8_seq(buf + i, len - i);

		if (n == -1 && !final)
			break;		/* keep the incomplete tail */
		if (n <= 0) {
			memcpy(out + *o, replacement, 3);
			*o += 3;
			i++;
			st->replaced = 1;
		} else if (n == 1)
			*o += escape_ascii(buf[i++], out + *o);
		else {
			memcpy(out + *o, buf + i, (size_t)n);
			*o += (size_t)n;
			i += (size_t)n;
		}
	}
	return i;
}

/*
 * Finishes the carried prefix with the first bytes of the new chunk.
 * Returns how many input bytes it took, or -1 when it needs still more
 * (all of the input was then added to the carry).
 */
static long
finish_carry(struct json_text *st, const unsigned char *in, size_t len,
    int final, char *out, size_t *o)
{
	unsigned char tmp[8];
	size_t k = st->ncarry, taken = 0, i;
	int n;

	memcpy(tmp, st->carry, k);
	for (;;) {
		n = utf8_seq(tmp, k);
		if (n != -1 || taken == len || k == sizeof(tmp))
			break;
		tmp[k++] = in[taken++];
	}
	if (n == -1 && !final) {
		memcpy(st->carry, tmp, k);
		st->ncarry = k;
		return -1;
	}
	st->ncarry = 0;
	if (n > 0) {
		memcpy(out + *o, tmp, (size_t)n);
		*o += (size_t)n;
		return (long)taken;
	}
	/*
	 * Invalid: the byte that broke the sequence goes back to the input;
	 * the carried lead byte and any continuation bytes before it become
	 * U+FFFD each.
	 */
	if (n == 0 && taken > 0) {
		taken--;
		k--;
	}
	for (i = 0; i < k; i++) {
		memcpy(out + *o, replacement, 3);
		*o += 3;
		st->replaced = 1;
	}
	return (long)taken;
}

size_t
json_text_escape(struct json_text *st, const unsigned char *in, size_t len,
    int final, char *out)
{
	size_t o = 0, used;

	st->replaced = 0;
	if (st->ncarry > 0) {
		long taken = finish_carry(st, in, len, final, out, &o);

		if (taken < 0) {
			out[o] = '\0';
			return o;
		}
		in += taken;
		len -= (size_t)taken;
	}
	used = escape_run(st, in, len, final, out, &o);
	if (used < len) {
		st->ncarry = len - used;
		memcpy(st->carry, in + used, st->ncarry);
	}
	out[o] = '\0';
	return o;
}

char *
json_text_utf8_copy(const char *in, size_t len)
{
	const unsigned char *s = (const unsigned char *)in;
	char *out;
	size_t i = 0, o = 0;

	if ((out = malloc(len * 3 + 1)) == NULL)
		return NULL;
	while (i < len) {
		int n = utf8_seq(s + i, len - i);

		if (n <= 0 || (n == 1 && s[i] == '\0')) {
			memcpy(out + o, replacement, 3);
			o += 3;
			i++;
		} else {
			memcpy(out + o, s + i, (size_t)n);
			o += (size_t)n;
			i += (size_t)n;
		}
	}
	out[o] = '\0';
	return out;
}
