/*
 * audit_fmt.h - the audit trail's value encoding and its RFC 5424 / RFC 5425
 * formatter.  Bounded, allocation-free, no state: every byte a client chose
 * goes through here before it reaches the spool, the journal or the log
 * store.
 *
 * Value encoding (done once, when the event is recorded):
 *   bytes 0x00-0x1f and 0x7f, the byte '%', bytes that are not part of a
 *   well-formed UTF-8 sequence, the C1 controls U+0080-U+009F, the line and
 *   paragraph separators U+2028/U+2029 and the bidirectional overrides
 *   U+202A-U+202E, U+2066-U+2069 become %HH (one per byte, upper-case hex).
 *   The result is valid UTF-8 with no control character, and decoding %HH
 *   gives the original bytes back (nothing is lost, nothing is ambiguous).
 *   A value longer than its bound is cut at a character boundary and ends
 *   with "..." (AUDIT_FMT_CUT).
 *
 * RFC 5424 message (made by the shipper from a spool line):
 *   <PRI>1 TIME NODE hvbastion PID KIND [hvbastion@32473 seq="N" ...] MSG
 *   with SD-PARAM values escaped as RFC 5424 6.3.3 says (", \ and ] get a
 *   backslash) after the value encoding above is re-applied (except to '%')
 *   so that even a spool line that was tampered with cannot carry a control
 *   byte; header fields are PRINTUSASCII only.  RFC 5425 framing: the
 *   message is prefixed by its length in octets and a space.
 */
#ifndef HVB_AUDIT_FMT_H
#define HVB_AUDIT_FMT_H

#include <stddef.h>

#define AUDIT_FMT_CUT		"..."
/* Bounds of an encoded value in the spool (bytes, NUL excluded). */
#define AUDIT_FMT_FIELD_MAX	256
#define AUDIT_FMT_DETAIL_MAX	2048
/* RFC 5425 receivers take 2048 octets, rsyslog 8 KiB by default. */
#define AUDIT_FMT_MSG_MAX	8000
/* A spool line is never longer than this (newline included). */
#define AUDIT_FMT_LINE_MAX	16384
/* The structured-data id: hvbastion under the documentation PEN 32473. */
#define AUDIT_FMT_SD_ID		"hvbastion@32473"

/* Flags of audit_fmt_value(). */
#define AUDIT_FMT_KEEP_PERCENT	0x1	/* '%' passes (already encoded) */

/*
 * Encodes src (srclen bytes, NULs included) into dst (dstlen bytes; the
 * encoded text is at most dstlen - 1 bytes and NUL-terminated).  Returns
 * the length written.
 */
size_t	audit_fmt_value(char *dst, size_t dstlen, const char *src,
	    size_t srclen, int flags);

/*
 * Escapes an (already encoded) value for an SD-PARAM: ", \ and ] get a
 * backslash, anything unsafe is encoded as %HH.  Same bounds as above.
 */
size_t	audit_fmt_sd_value(char *dst, size_t dstlen, const char *src,
	    size_t srclen);

/*
 * One spool line (a JSON object, see audit.c) -> one RFC 5425 frame
 * "LEN SP <PRI>1 ..." in out (outlen >= AUDIT_FMT_MSG_MAX + 16).  *seq gets
 * the record's sequence number.  Returns the frame's length, or -1 when
 * the line is not a record (it is then reported, not sent).
 */
long	audit_fmt_rfc5424(const char *line, size_t linelen, char *out,
	    size_t outlen, unsigned long long *seq);

#endif
