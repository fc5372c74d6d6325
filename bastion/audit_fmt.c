/*
 * audit_fmt.c - value encoding and RFC 5424 formatting of audit records
 * (audit_fmt.h says what and why).
 *
 * Every writer here checks room before it writes a unit (a byte, a %HH, a
 * whole UTF-8 character or an escaped pair), so that a cut never splits
 * one, and keeps room for AUDIT_FMT_CUT and the NUL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "audit_fmt.h"

static const char hexd[] = "0123456789ABCDEF";

/*
 * Length of the well-formed UTF-8 sequence at s (RFC 3629: no overlong
 * form, no surrogate, nothing above U+10FFFF), or 0.  *cp gets the code
 * point.
 */
static size_t
utf8_len(const unsigned char *s, size_t n, unsigned long *cp)
{
	unsigned long c;
	size_t len, i;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return len;
}

/* Code points that a terminal or a log viewer may treat as a line break
 * or that reorder what is shown. */
static int
unsafe_cp(unsigned long c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||
	    c == 0x2028 || c == 0x2029 || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069);
}

struct out {
	char	*p;
	size_t	 len;	/* usable bytes: room for the cut marker and NUL kept */
	size_t	 o;
	int	 cut;
};

static int
put(struct out *w, const char *s, size_t n)
{
	if (w->cut || w->o + n > w->len) {
		w->cut = 1;
		return -1;
	}
	memcpy(w->p + w->o, s, n);
	w->o += n;
	return 0;
}

static int
put_pct(struct out *w, const unsigned char *s, size_t n)
{
	char b[12];
	size_t i;

	for (i = 0; i < n; i++) {
		b[3 * i] = '%';
		b[3 * i + 1] = hexd[s[i] >> 4];
		b[3 * i + 2] = hexd[s[i] & 15];
	}
	return put(w, b, 3 * n);
}

static size_t
finish(struct out *w, size_t dstlen)
{
	if (w->cut && dstlen > sizeof(AUDIT_FMT_CUT) - 1 + w->o) {
		memcpy(w->p + w->o, AUDIT_FMT_CUT, sizeof(AUDIT_FMT_CUT) - 1);
		w->o += sizeof(AUDIT_FMT_CUT) - 1;
	}
	w->p[w->o] = '\0';
	return w->o;
}

static size_t
encode(char *dst, size_t dstlen, const char *src, size_t srclen, int flags,
    int sd)
{
	const unsigned char *s = (const unsigned char *)src;
	struct out w;
	size_t i = 0, n;
	unsigned long cp;

	if (dstlen == 0)
		return 0;
	w.p = dst;
	w.o = 0;
	w.cut = 0;
	w.len = dstlen > sizeof(AUDIT_FMT_CUT) ? dstlen - sizeof(AUDIT_FMT_CUT)
	    : 0;
	while (i < srclen && !w.cut) {
		n = utf8_len(s + i, srclen - i, &cp);
		if (n == 0) {
			put_pct(&w, s + i, 1);	/* not UTF-8: that byte */
			n = 1;
		} else if (unsafe_cp(cp) ||
		    (cp == '%' && !(flags & AUDIT_FMT_KEEP_PERCENT)))
			put_pct(&w, s + i, n);
		else if (sd && (cp == '"' || cp == '\\' || cp == ']')) {
			char b[2] = { '\\', (char)cp };

			put(&w, b, 2);
		} else
			put(&w, (const char *)s + i, n);
		i += n;
	}
	if (i < srclen)
		w.cut = 1;
	return finish(&w, dstlen);
}

size_t
audit_fmt_value(char *dst, size_t dstlen, const char *src, size_t srclen,
    int flags)
{
	return encode(dst, dstlen, src, srclen, flags, 0);
}

size_t
audit_fmt_sd_value(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	return encode(dst, dstlen, src, srclen, AUDIT_FMT_KEEP_PERCENT, 1);
}

/* PRINTUSASCII, at most max bytes, "-" when empty (RFC 5424 6.2). */
static void
header_field(char *dst, size_t max, const char *s)
{
	size_t o = 0;

	for (; s != NULL && *s != '\0' && o < max; s++)
		dst[o++] = (*s > 32 && *s < 127) ? *s : '_';
	if (o == 0)
		dst[o++] = '-';
	dst[o] = '\0';
}

/* The record's fields, in the order the SD element carries them. */
static const char *const sd_fields[] = {
	"kind", "person", "role", "source", "source_port", "target", "login",
	"action", "outcome", "rule", "session", "digest", "detail", "pid",
};

/* authpriv (10); warning for what failed or was refused (audit.h),
 * alert for a lockout, notice for the rest. */
static int
priority(const char *kind, const char *outcome)
{
	int sev = 5;

	if (kind != NULL && strcmp(kind, "lockout") == 0)
		sev = 1;
	else if (audit_outcome_failed(outcome))
		sev = 4;
	return 10 * 8 + sev;
}

static const char *
str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

long
audit_fmt_rfc5424(const char *line, size_t linelen, char *out,
    size_t outlen, unsigned long long *seq)
{
	char node[256], kind[33], time[40], num[32];
	char val[AUDIT_FMT_DETAIL_MAX * 2 + 8];
	char *msg;
	struct out w;
	json_t *o, *v;
	json_int_t sq;
	size_t i, hdr;
	const char *t;
	int n;

	if (outlen < AUDIT_FMT_MSG_MAX + 16 || linelen > AUDIT_FMT_LINE_MAX)
		return -1;
	o = json_loadb(line, linelen, JSON_REJECT_DUPLICATES, NULL);
	if (o == NULL || !json_is_object(o) ||
	    !json_is_integer(v = json_object_get(o, "seq")) ||
	    (sq = json_integer_value(v)) <= 0 ||
	    (t = str(o, "time")) == NULL) {
		json_decref(o);
		return -1;
	}
	*seq = (unsigned long long)sq;
	header_field(node, 255, str(o, "node"));
	header_field(kind, 32, str(o, "kind"));
	header_field(time, 32, t);
	/* The frame's length goes in front once the message is known. */
	msg = out + 12;
	w.p = msg;
	w.o = 0;
	w.cut = 0;
	w.len = AUDIT_FMT_MSG_MAX;
	n = snprintf(num, sizeof(num), "<%d>1 ", priority(str(o, "kind"),
	    str(o, "outcome")));
	put(&w, num, (size_t)n);
	put(&w, time, strlen(time));
	put(&w, " ", 1);
	put(&w, node, strlen(node));
	put(&w, " hvbastion ", 11);
	if (json_is_integer(v = json_object_get(o, "pid")))
		n = snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(v));
	else
		n = snprintf(num, sizeof(num), "-");
	put(&w, num, (size_t)n);
	put(&w, " ", 1);
	put(&w, kind, strlen(kind));
	put(&w, " [" AUDIT_FMT_SD_ID " seq=\"", 2 + sizeof(AUDIT_FMT_SD_ID) -
	    1 + 6);
	n = snprintf(num, sizeof(num), "%lld", (long long)sq);
	put(&w, num, (size_t)n);
	put(&w, "\"", 1);
	hdr = w.o;
	for (i = 0; i < sizeof(sd_fields) / sizeof(sd_fields[0]); i++) {
		size_t max = strcmp(sd_fields[i], "detail") == 0 ?
		    AUDIT_FMT_DETAIL_MAX : AUDIT_FMT_FIELD_MAX;
		size_t vl;

		v = json_object_get(o, sd_fields[i]);
		if (json_is_integer(v)) {
			n = snprintf(val, sizeof(val), "%lld",
			    (long long)json_integer_value(v));
			vl = (size_t)n;
		} else if (json_is_string(v))
			vl = audit_fmt_sd_value(val, max * 2 + 1,
			    json_string_value(v), json_string_length(v));
		else
			continue;
		put(&w, " ", 1);
		put(&w, sd_fields[i], strlen(sd_fields[i]));
		put(&w, "=\"", 2);
		put(&w, val, vl);
		put(&w, "\"", 1);
	}
	if (w.cut) {
		/* Too long: keep the header and the sequence number, say so. */
		w.cut = 0;
		w.o = hdr;
		put(&w, " truncated=\"1\"", 14);
	}
	put(&w, "] ", 2);
	/* MSG: a short summary for people who read the plain text. */
	put(&w, kind, strlen(kind));
	if ((t = str(o, "outcome")) != NULL) {
		put(&w, " ", 1);
		{
			size_t vl = audit_fmt_value(val, 64, t, strlen(t),
			    AUDIT_FMT_KEEP_PERCENT);

			put(&w, val, vl);
		}
	}
	json_decref(o);
	if (w.cut)
		return -1;
	/* "LEN SP MSG" */
	n = snprintf(num, sizeof(num), "%zu ", w.o);
	memmove(out + n, msg, w.o);
	memcpy(out, num, (size_t)n);
	out[n + w.o] = '\0';
	return (long)(n + w.o);
}
