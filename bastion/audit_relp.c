/*
 * audit_relp.c - RELP framing for the audit shipper (audit_relp.h).
 */
#include <stdio.h>
#include <string.h>

#include "audit_relp.h"

/* relp_version 0 is what librelp (and so rsyslog's imrelp) speaks. */
const char audit_relp_offers[] =
    "relp_version=0\nrelp_software=hvbastion\ncommands=syslog";

enum {
	RD_TXNR,		/* digits, then SP */
	RD_COMMAND,		/* letters, then SP */
	RD_DATALEN,		/* digits, then SP (data) or LF (none) */
	RD_DATA,
	RD_TRAILER		/* the LF after the data */
};

#define NUMBER_DIGITS	9

unsigned
audit_relp_next_txnr(unsigned txnr)
{
	return txnr >= AUDIT_RELP_TXNR_MAX ? 1 : txnr + 1;
}

static int
is_letter(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

long
audit_relp_frame(char *out, size_t outlen, unsigned txnr,
    const char *command, const char *data, size_t len)
{
	size_t cl = strlen(command), i;
	int h;

	if (txnr > AUDIT_RELP_TXNR_MAX || cl == 0 || cl > AUDIT_RELP_CMD_MAX ||
	    len > AUDIT_RELP_TXNR_MAX)
		return -1;
	for (i = 0; i < cl; i++)
		if (!is_letter((unsigned char)command[i]))
			return -1;
	h = snprintf(out, outlen, "%u %s %zu%s", txnr, command, len,
	    len > 0 ? " " : "");
	if (h < 0 || (size_t)h >= outlen || outlen - (size_t)h < len + 1)
		return -1;
	if (len > 0)
		memcpy(out + h, data, len);
	out[(size_t)h + len] = '\n';
	return (long)((size_t)h + len + 1);
}

void
audit_relp_reader_init(struct audit_relp_reader *r)
{
	memset(r, 0, sizeof(*r));
	r->state = RD_TXNR;
}

/* One more digit of a number field: 0, or -1 past NUMBER_DIGITS. */
static int
add_digit(struct audit_relp_reader *r, int c)
{
	if (r->digits >= NUMBER_DIGITS)
		return -1;
	r->number = r->number * 10 + (unsigned long)(c - '0');
	r->digits++;
	return 0;
}

/* The frame's data is complete: hands it out, the reader starts over. */
static int
complete(struct audit_relp_reader *r, struct audit_relp_frame *f)
{
	*f = r->frame;
	f->data = r->data;
	f->len = r->got;
	r->state = RD_TXNR;
	r->number = 0;
	r->digits = 0;
	r->cmdlen = 0;
	r->got = 0;
	memset(&r->frame, 0, sizeof(r->frame));
	return 1;
}

int
audit_relp_read(struct audit_relp_reader *r, const char *buf, size_t len,
    size_t *used, struct audit_relp_frame *f)
{
	size_t i = 0;

	while (i < len) {
		int c = (unsigned char)buf[i];

		switch (r->state) {
		case RD_TXNR:
		case RD_DATALEN:
			if (c >= '0' && c <= '9') {
				if (add_digit(r, c) < 0)
					goto bad;
				i++;
				break;
			}
			if (r->digits == 0)
				goto bad;
			if (r->state == RD_TXNR) {
				if (c != ' ')
					goto bad;
				r->frame.txnr = (unsigned)r->number;
				r->state = RD_COMMAND;
			} else {
				if (r->number > AUDIT_RELP_DATA_MAX)
					goto bad;
				r->frame.len = r->number;
				i++;
				if (c == '\n' && r->number == 0) {
					*used = i;
					return complete(r, f);
				}
				if (c != ' ' || r->number == 0)
					goto bad;
				r->state = RD_DATA;
				break;
			}
			r->number = 0;
			r->digits = 0;
			i++;
			break;
		case RD_COMMAND:
			if (is_letter(c)) {
				if (r->cmdlen >= AUDIT_RELP_CMD_MAX)
					goto bad;
				r->frame.command[r->cmdlen++] = (char)c;
				i++;
				break;
			}
			if (c != ' ' || r->cmdlen == 0)
				goto bad;
			r->state = RD_DATALEN;
			i++;
			break;
		case RD_DATA: {
			size_t n = r->frame.len - r->got;

			if (n > len - i)
				n = len - i;
			memcpy(r->data + r->got, buf + i, n);
			r->got += n;
			i += n;
			if (r->got == r->frame.len)
				r->state = RD_TRAILER;
			break;
		}
		case RD_TRAILER:
			if (c != '\n')
				goto bad;
			*used = i + 1;
			return complete(r, f);
		default:
			goto bad;
		}
	}
	*used = i;
	return 0;
bad:
	*used = i;
	return -1;
}

int
audit_relp_rsp_status(const char *data, size_t len)
{
	size_t i;

	if (len < 3)
		return -1;
	for (i = 0; i < 3; i++)
		if (data[i] < '0' || data[i] > '9')
			return -1;
	if (len > 3 && data[3] != ' ' && data[3] != '\n')
		return -1;
	return (data[0] - '0') * 100 + (data[1] - '0') * 10 + (data[2] - '0');
}

/* The value of the offer name in the offers (LF-separated lines after the
 * status line); NULL when it is not offered.  *vlen gets its length. */
static const char *
offer(const char *data, size_t len, const char *name, size_t *vlen)
{
	size_t nl = strlen(name), i = 0;

	/* the status line is not an offer */
	while (i < len && data[i] != '\n')
		i++;
	while (i < len) {
		size_t s = ++i, e = s;

		while (e < len && data[e] != '\n')
			e++;
		if (e - s >= nl && memcmp(data + s, name, nl) == 0 &&
		    (e - s == nl || data[s + nl] == '=')) {
			*vlen = e - s == nl ? 0 : e - s - nl - 1;
			return e - s == nl ? data + e : data + s + nl + 1;
		}
		i = e;
	}
	return NULL;
}

int
audit_relp_open_accepted(const char *data, size_t len)
{
	const char *v;
	size_t vl, i, s;

	if (audit_relp_rsp_status(data, len) != 200 ||
	    offer(data, len, "relp_version", &vl) == NULL ||
	    (v = offer(data, len, "commands", &vl)) == NULL)
		return -1;
	/* commands=syslog[,other...] */
	for (i = s = 0; i <= vl; i++)
		if (i == vl || v[i] == ',') {
			if (i - s == 6 && memcmp(v + s, "syslog", 6) == 0)
				return 0;
			s = i + 1;
		}
	return -1;
}
