/*
 * fuzz_audit_fmt.c - libFuzzer target for the audit trail's formatter
 * (bastion/audit_fmt.c).
 *
 * The input is used three ways: as a value for audit_fmt_value() and
 * audit_fmt_sd_value() (byte 0 picks the output size), as a spool line for
 * audit_fmt_rfc5424(), and as the person of a well-formed record.
 * Properties: outputs stay within their bounds and are NUL-terminated;
 * an encoded value is valid UTF-8 with no control byte and decodes back to
 * the input when it was not cut; an SD value has no unescaped '"', '\' or
 * ']'; a frame's length prefix is exact, it holds no control byte, its SD
 * element ends where the formatter put it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../bastion/audit_fmt.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
no_controls(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
			abort();
}

static int
hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ?
	    c - 'A' + 10 : -1;
}

static void
check_value(const uint8_t *data, size_t size, size_t outlen)
{
	char *out = malloc(outlen), *dec;
	size_t n, i, o = 0;

	if (out == NULL)
		abort();
	n = audit_fmt_value(out, outlen, (const char *)data, size, 0);
	if (n >= outlen || strlen(out) != n)
		abort();
	no_controls(out, n);
	/* Valid UTF-8: jansson takes it as a string. */
	if (n > 0) {
		json_t *j = json_stringn(out, n);

		if (j == NULL)
			abort();
		json_decref(j);
	}
	/* Not cut: decoding %HH gives the input back. */
	if ((dec = malloc(n + 1)) == NULL)
		abort();
	for (i = 0; i < n; i++) {
		if (out[i] == '%' && i + 2 < n + 1 && hexval(out[i + 1]) >= 0 &&
		    hexval(out[i + 2]) >= 0) {
			dec[o++] = (char)(hexval(out[i + 1]) * 16 +
			    hexval(out[i + 2]));
			i += 2;
		} else
			dec[o++] = out[i];
	}
	if (n + 3 * 4 + sizeof(AUDIT_FMT_CUT) < outlen &&
	    (o != size || memcmp(dec, data, size) != 0))
		abort();
	free(dec);
	/* SD: every '"', '\' and ']' is escaped. */
	n = audit_fmt_sd_value(out, outlen, (const char *)data, size);
	if (n >= outlen || strlen(out) != n)
		abort();
	no_controls(out, n);
	for (i = 0; i < n; i++) {
		if (out[i] == '\\') {
			if (i + 1 >= n || (out[i + 1] != '"' &&
			    out[i + 1] != '\\' && out[i + 1] != ']'))
				abort();
			i++;
		} else if (out[i] == '"' || out[i] == ']')
			abort();
	}
	free(out);
}

static void
check_frame(const char *line, size_t len)
{
	static char out[AUDIT_FMT_MSG_MAX + 64];
	unsigned long long seq;
	unsigned long flen;
	char *end;
	long n;

	n = audit_fmt_rfc5424(line, len, out, sizeof(out), &seq);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out))
		abort();
	no_controls(out, (size_t)n);
	flen = strtoul(out, &end, 10);
	if (*end != ' ' || flen != (unsigned long)(n - (end + 1 - out)) ||
	    flen > AUDIT_FMT_MSG_MAX || seq == 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *o;
	char *line;

	if (size == 0 || size > 65536)
		return 0;
	check_value(data + 1, size - 1, 1 + data[0] * 16);
	check_frame((const char *)data, size);
	/* A well-formed record with a hostile person (encoded first, as
	 * audit.c does). */
	{
		char enc[AUDIT_FMT_FIELD_MAX + 1];

		audit_fmt_value(enc, sizeof(enc), (const char *)data, size, 0);
		o = json_pack("{s:i, s:s, s:s, s:s, s:s}", "seq", 1, "time",
		    "2026-01-01T00:00:00.000000Z", "node", "n", "kind",
		    "command", "person", enc);
	}
	if (o == NULL)
		abort();
	if ((line = json_dumps(o, JSON_COMPACT)) == NULL)
		abort();
	check_frame(line, strlen(line));
	free(line);
	json_decref(o);
	return 0;
}
