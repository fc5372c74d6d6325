/*
 * json_scan.h - a bounded, validating JSON tokenizer over a byte buffer
 * (RFC 8259), for filters that read a few members of a large answer
 * without building a tree (api_filter_stream.c).
 *
 * It accepts exactly what jansson's json_loadb() with flags 0 accepts,
 * value by value, or refuses (never the other way round): UTF-8 checked,
 * no control byte in a string, every escape including \uXXXX surrogate
 * pairs decoded exactly, no \u0000 (jansson refuses it without
 * JSON_ALLOW_NUL), integers within long long and reals within double
 * (jansson's "too big integer" and "real number overflow"), and a hard
 * nesting limit of its own.  Errors: -EBADMSG (not JSON as jansson reads
 * it), -ENOTSUP (maybe JSON, beyond this scanner's bounds: depth, number
 * length).
 */
#ifndef HVB_JSON_SCAN_H
#define HVB_JSON_SCAN_H

#include <stddef.h>

/* The longest number token checked with strtod(). */
#define JSON_SCAN_NUM_MAX	256

enum json_scan_type {
	JSON_SCAN_STRING = 1,
	JSON_SCAN_INTEGER,
	JSON_SCAN_REAL,
	JSON_SCAN_LITERAL,		/* true, false, null */
	JSON_SCAN_OBJECT,
	JSON_SCAN_ARRAY
};

struct json_scan {
	const unsigned char	*buf;
	size_t			 len;
	size_t			 pos;		/* the next byte to read */
	unsigned		 max_depth;	/* containers open at most */
};

/* What json_scan_value() found; str/cap given by the caller (or NULL). */
struct json_scan_value {
	enum json_scan_type	 type;
	char			*str;		/* decoded, NUL-terminated */
	size_t			 cap;
	size_t			 len;		/* full decoded length */
	long long		 integer;
};

void	json_scan_init(struct json_scan *, const char *buf, size_t len,
	    unsigned max_depth);
/* Skips JSON whitespace; then the next byte, or -1 at the end. */
int	json_scan_peek(struct json_scan *);
/* Skips whitespace, then C or -EBADMSG. */
int	json_scan_expect(struct json_scan *, int c);
/*
 * A string at pos (its '"'): validated and, when STR is not NULL, decoded
 * into STR (at most CAP - 1 bytes, NUL-terminated); *LEN is the whole
 * decoded length (more than CAP - 1: STR is left empty, not to be used).
 */
int	json_scan_string(struct json_scan *, char *str, size_t cap,
	    size_t *len);
/*
 * One value at pos (no whitespace before it), validated whole, inside
 * DEPTH open containers.  V->str (when not NULL) receives a string's
 * decoded text as json_scan_string() does; V->integer an integer's value.
 */
int	json_scan_value(struct json_scan *, unsigned depth,
	    struct json_scan_value *v);

#endif
