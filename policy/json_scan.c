/*
 * json_scan.c - a bounded, validating JSON tokenizer (json_scan.h).
 *
 * Every rule below is jansson's (load.c, utf.c, strconv.c of jansson
 * 2.14, flags 0), so that what this scanner accepts jansson accepts with
 * the same meaning: tests/fuzz/fuzz_api_filter_stream.c checks it
 * against jansson itself.  Recursion is bounded by max_depth.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "json_scan.h"

void
json_scan_init(struct json_scan *s, const char *buf, size_t len,
    unsigned max_depth)
{
	s->buf = (const unsigned char *)buf;
	s->len = buf != NULL ? len : 0;
	s->pos = 0;
	s->max_depth = max_depth;
}

int
json_scan_peek(struct json_scan *s)
{
	while (s->pos < s->len && (s->buf[s->pos] == ' ' ||
	    s->buf[s->pos] == '\t' || s->buf[s->pos] == '\n' ||
	    s->buf[s->pos] == '\r'))
		s->pos++;
	return s->pos < s->len ? s->buf[s->pos] : -1;
}

int
json_scan_expect(struct json_scan *s, int c)
{
	if (json_scan_peek(s) != c)
		return -EBADMSG;
	s->pos++;
	return 0;
}

/* The length of a well-formed UTF-8 sequence at p (lead byte >= 0x80),
 * or 0: no overlong form, no surrogate, nothing above U+10FFFF. */
static size_t
utf8_len(const unsigned char *p, size_t avail)
{
	unsigned c = p[0];
	size_t n, i;
	unsigned long cp;

	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
	} else
		return 0;
	if (avail < n)
		return 0;
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static int
hex4(const unsigned char *p, unsigned long *v)
{
	size_t i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		unsigned c = p[i], d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		*v = (*v << 4) | d;
	}
	return 0;
}

/* Appends bytes to the decoded text while it fits with its NUL; counts
 * them all (once one does not fit, none after it does either). */
static void
put(char *str, size_t cap, size_t *len, const void *b, size_t n)
{
	if (str != NULL && *len < cap && n < cap - *len)
		memcpy(str + *len, b, n);
	*len += n;
}

static size_t
utf8_encode(unsigned long cp, unsigned char *o)
{
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (unsigned char)(0xf0 | (cp >> 18));
	o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (unsigned char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One escape after its backslash, at p; advances p. */
static int
escape(struct json_scan *s, char *str, size_t cap, size_t *len)
{
	const unsigned char *b = s->buf;
	unsigned char o[4];
	unsigned long cp, lo;
	char c;

	if (s->pos >= s->len)
		return -EBADMSG;
	switch (b[s->pos++]) {
	case '"':	c = '"';	break;
	case '\\':	c = '\\';	break;
	case '/':	c = '/';	break;
	case 'b':	c = '\b';	break;
	case 'f':	c = '\f';	break;
	case 'n':	c = '\n';	break;
	case 'r':	c = '\r';	break;
	case 't':	c = '\t';	break;
	case 'u':
		if (s->len - s->pos < 4 || hex4(b + s->pos, &cp) < 0)
			return -EBADMSG;
		s->pos += 4;
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return -EBADMSG;	/* a lone low surrogate */
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (s->len - s->pos < 6 || b[s->pos] != '\\' ||
			    b[s->pos + 1] != 'u' ||
			    hex4(b + s->pos + 2, &lo) < 0 ||
			    lo < 0xdc00 || lo > 0xdfff)
				return -EBADMSG;
			s->pos += 6;
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		}
		if (cp == 0)		/* jansson: no NUL without a flag */
			return -EBADMSG;
		put(str, cap, len, o, utf8_encode(cp, o));
		return 0;
	default:
		return -EBADMSG;
	}
	put(str, cap, len, &c, 1);
	return 0;
}

int
json_scan_string(struct json_scan *s, char *str, size_t cap, size_t *len)
{
	const unsigned char *b = s->buf;
	size_t n, run;
	int rc;

	*len = 0;
	if (str != NULL && cap == 0)
		str = NULL;
	if (s->pos >= s->len || b[s->pos] != '"')
		return -EBADMSG;
	s->pos++;
	for (;;) {
		/* A run of plain ASCII, copied at once. */
		run = s->pos;
		while (s->pos < s->len && b[s->pos] >= 0x20 &&
		    b[s->pos] < 0x80 && b[s->pos] != '"' &&
		    b[s->pos] != '\\')
			s->pos++;
		if (s->pos > run)
			put(str, cap, len, b + run, s->pos - run);
		if (s->pos >= s->len)
			return -EBADMSG;
		if (b[s->pos] == '"') {
			s->pos++;
			break;
		}
		if (b[s->pos] == '\\') {
			s->pos++;
			if ((rc = escape(s, str, cap, len)) < 0)
				return rc;
			continue;
		}
		if (b[s->pos] < 0x20)
			return -EBADMSG;	/* control byte */
		if ((n = utf8_len(b + s->pos, s->len - s->pos)) == 0)
			return -EBADMSG;
		put(str, cap, len, b + s->pos, n);
		s->pos += n;
	}
	if (str != NULL)
		str[*len < cap ? *len : 0] = '\0';
	return 0;
}

static int
is_digit(const unsigned char *b, size_t pos, size_t len)
{
	return pos < len && b[pos] >= '0' && b[pos] <= '9';
}

/*
 * A number as jansson lexes it: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?
 * [0-9]+)?; an integer (no fraction, no exponent) must fit a long long
 * (strtoll), a real must not overflow a double (strtod; underflow is
 * accepted, as by jansson).
 */
static int
number(struct json_scan *s, struct json_scan_value *v)
{
	const unsigned char *b = s->buf;
	size_t start = s->pos, intdigits = 0;
	unsigned long long u = 0;
	int neg = 0, real = 0, over = 0;
	char tmp[JSON_SCAN_NUM_MAX + 1], *end;
	double d;

	if (s->pos < s->len && b[s->pos] == '-') {
		neg = 1;
		s->pos++;
	}
	if (!is_digit(b, s->pos, s->len))
		return -EBADMSG;
	if (b[s->pos] == '0')
		s->pos++, intdigits = 1;
	else
		while (is_digit(b, s->pos, s->len)) {
			unsigned dg = b[s->pos++] - '0';

			if (u > (ULLONG_MAX - dg) / 10)
				over = 1;
			else
				u = u * 10 + dg;
			intdigits++;
		}
	if (s->pos < s->len && b[s->pos] == '.') {
		s->pos++;
		if (!is_digit(b, s->pos, s->len))
			return -EBADMSG;
		while (is_digit(b, s->pos, s->len))
			s->pos++;
		real = 1;
	}
	if (s->pos < s->len && (b[s->pos] == 'e' || b[s->pos] == 'E')) {
		s->pos++;
		if (s->pos < s->len && (b[s->pos] == '+' || b[s->pos] == '-'))
			s->pos++;
		if (!is_digit(b, s->pos, s->len))
			return -EBADMSG;
		while (is_digit(b, s->pos, s->len))
			s->pos++;
		real = 2;
	}
	if (!real) {
		v->type = JSON_SCAN_INTEGER;
		if (over || (!neg && u > (unsigned long long)LLONG_MAX) ||
		    (neg && u > (unsigned long long)LLONG_MAX + 1))
			return -EBADMSG;	/* "too big integer" */
		v->integer = neg ? (u == 0 ? 0 : -(long long)(u - 1) - 1) :
		    (long long)u;
		return 0;
	}
	v->type = JSON_SCAN_REAL;
	/* Without an exponent, fewer than 300 digits cannot overflow. */
	if (real == 1 && intdigits < 300)
		return 0;
	if (s->pos - start > JSON_SCAN_NUM_MAX)
		return -ENOTSUP;
	memcpy(tmp, b + start, s->pos - start);
	tmp[s->pos - start] = '\0';
	errno = 0;
	d = strtod(tmp, &end);
	if (end != tmp + (s->pos - start))
		return -ENOTSUP;	/* another locale's decimal point */
	if ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE)
		return -EBADMSG;	/* "real number overflow" */
	return 0;
}

static int
literal(struct json_scan *s, const char *word)
{
	size_t n = strlen(word);

	if (s->len - s->pos < n || memcmp(s->buf + s->pos, word, n) != 0)
		return -EBADMSG;
	s->pos += n;
	/* jansson lexes a run of letters as one token ("truex"). */
	if (s->pos < s->len && ((s->buf[s->pos] >= 'a' &&
	    s->buf[s->pos] <= 'z') || (s->buf[s->pos] >= 'A' &&
	    s->buf[s->pos] <= 'Z')))
		return -EBADMSG;
	return 0;
}

static int
container(struct json_scan *s, unsigned depth, int object)
{
	struct json_scan_value inner;
	size_t klen;
	int rc, c;

	if (depth + 1 > s->max_depth)
		return -ENOTSUP;
	s->pos++;			/* '{' or '[' */
	c = json_scan_peek(s);
	if (c == (object ? '}' : ']')) {
		s->pos++;
		return 0;
	}
	for (;;) {
		if (object) {
			if (json_scan_peek(s) != '"')
				return -EBADMSG;
			if ((rc = json_scan_string(s, NULL, 0, &klen)) < 0)
				return rc;
			if ((rc = json_scan_expect(s, ':')) < 0)
				return rc;
		}
		if (json_scan_peek(s) < 0)
			return -EBADMSG;
		memset(&inner, 0, sizeof(inner));
		if ((rc = json_scan_value(s, depth + 1, &inner)) < 0)
			return rc;
		c = json_scan_peek(s);
		if (c == ',') {
			s->pos++;
			continue;
		}
		if (c != (object ? '}' : ']'))
			return -EBADMSG;
		s->pos++;
		return 0;
	}
}

int
json_scan_value(struct json_scan *s, unsigned depth,
    struct json_scan_value *v)
{
	if (s->pos >= s->len)
		return -EBADMSG;
	switch (s->buf[s->pos]) {
	case '"':
		v->type = JSON_SCAN_STRING;
		return json_scan_string(s, v->str, v->cap, &v->len);
	case '{':
		v->type = JSON_SCAN_OBJECT;
		return container(s, depth, 1);
	case '[':
		v->type = JSON_SCAN_ARRAY;
		return container(s, depth, 0);
	case 't':
		v->type = JSON_SCAN_LITERAL;
		return literal(s, "true");
	case 'f':
		v->type = JSON_SCAN_LITERAL;
		return literal(s, "false");
	case 'n':
		v->type = JSON_SCAN_LITERAL;
		return literal(s, "null");
	default:
		return number(s, v);
	}
}
