/*
 * fuzz_audit_relp.c - libFuzzer target for the RELP reader (audit_relp.h),
 * which reads what a log store sends back to the shipper.
 *
 * The first byte seeds how the rest is cut into chunks.  Properties: a
 * frame never carries more than AUDIT_RELP_DATA_MAX bytes, a command of
 * 1..32 letters and a txnr of at most 9 digits; how the bytes are cut
 * never changes the frames read nor where the reader gives up; the rsp
 * and open-answer checks stay within the frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bastion/audit_relp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FRAMES_MAX	64

struct seen {
	unsigned	txnr;
	char		command[AUDIT_RELP_CMD_MAX + 1];
	size_t		len;
	uint32_t	sum;
};

static void
check(const struct audit_relp_frame *f)
{
	size_t cl = strlen(f->command), i;

	if (f->len > AUDIT_RELP_DATA_MAX || cl == 0 ||
	    cl > AUDIT_RELP_CMD_MAX || f->txnr > AUDIT_RELP_TXNR_MAX)
		abort();
	for (i = 0; i < cl; i++)
		if (!((f->command[i] >= 'a' && f->command[i] <= 'z') ||
		    (f->command[i] >= 'A' && f->command[i] <= 'Z')))
			abort();
	(void)audit_relp_rsp_status(f->data, f->len);
	(void)audit_relp_open_accepted(f->data, f->len);
}

/* Frames read from in, chunk sizes drawn from seed (0: all at once);
 * *end gets how the reading ended (0 wants more, -1 refused). */
static size_t
read_all(const uint8_t *in, size_t len, unsigned seed, struct seen *out,
    int *end)
{
	static struct audit_relp_reader r;
	struct audit_relp_frame f;
	size_t off = 0, n = 0;

	audit_relp_reader_init(&r);
	*end = 0;
	while (off < len && n < FRAMES_MAX) {
		size_t chunk = len - off, used = 0;
		int rc;

		if (seed != 0) {
			seed = seed * 1103515245u + 12345u;
			chunk = 1 + seed % 16;
			if (chunk > len - off)
				chunk = len - off;
		}
		rc = audit_relp_read(&r, (const char *)in + off, chunk, &used,
		    &f);
		if (used > chunk)
			abort();
		off += used;
		if (rc < 0) {
			*end = -1;
			break;
		}
		if (rc == 1) {
			size_t i;

			check(&f);
			out[n].txnr = f.txnr;
			memcpy(out[n].command, f.command,
			    sizeof(out[n].command));
			out[n].len = f.len;
			out[n].sum = 0;
			for (i = 0; i < f.len; i++)
				out[n].sum = out[n].sum * 31 +
				    (unsigned char)f.data[i];
			n++;
		} else if (used != chunk)
			abort();	/* wants more, yet left bytes */
	}
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct seen a[FRAMES_MAX], b[FRAMES_MAX];
	size_t na, nb;
	int ea, eb;
	char frame[AUDIT_RELP_DATA_MAX + 64];

	if (size < 1)
		return 0;
	na = read_all(data + 1, size - 1, 0, a, &ea);
	nb = read_all(data + 1, size - 1, data[0] | 1u, b, &eb);
	if (na != nb || ea != eb || memcmp(a, b, na * sizeof(*a)) != 0)
		abort();
	/* what the shipper writes, the reader reads back */
	if (size - 1 <= AUDIT_RELP_DATA_MAX) {
		long fl = audit_relp_frame(frame, sizeof(frame), data[0] + 1u,
		    "rsp", (const char *)data + 1, size - 1);

		if (fl <= 0)
			abort();
		na = read_all((const uint8_t *)frame, (size_t)fl, 0, a, &ea);
		if (na != 1 || ea != 0 || a[0].txnr != data[0] + 1u ||
		    a[0].len != size - 1 || strcmp(a[0].command, "rsp") != 0)
			abort();
	}
	return 0;
}
