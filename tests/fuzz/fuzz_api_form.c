/*
 * fuzz_api_form.c - libFuzzer target for api_form_get() (the login
 * body's fields, bastion/api_form.c).
 *
 * Byte 0: bit 0 selects JSON or form-urlencoded, bits 1-2 the field
 * asked for, bit 7 the output size; bit 6 reads the rest as a Cookie
 * header instead (api_form_cookie(), the PVEAuthCookie lookup).  Properties: only 0, -ENOENT, -EINVAL;
 * a value found fits its buffer, NUL-terminated, with no NUL inside the
 * body's text; asking twice gives the same.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bastion/api_form.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const names[] = { "username", "password",
	"tfa-challenge", "realm" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[512], out2[512];
	size_t outlen;
	int json, rc, rc2;

	if (size < 1)
		return 0;
	if (data[0] & 0x40) {
		char *hdr = malloc(size);

		if (hdr == NULL)
			return 0;
		memcpy(hdr, data + 1, size - 1);
		hdr[size - 1] = '\0';
		outlen = (data[0] & 0x80) ? 8 : sizeof(out);
		rc = api_form_cookie(hdr, "PVEAuthCookie", out, outlen);
		if (rc != 0 && rc != -ENOENT && rc != -EINVAL)
			abort();
		if (rc == 0 && memchr(out, '\0', outlen) == NULL)
			abort();
		free(hdr);
		return 0;
	}
	json = data[0] & 1;
	outlen = (data[0] & 0x80) ? 8 : sizeof(out);
	memset(out, 'x', sizeof(out));
	rc = api_form_get((const char *)data + 1, size - 1, json,
	    names[(data[0] >> 1) & 3], out, outlen);
	if (rc != 0 && rc != -ENOENT && rc != -EINVAL)
		abort();
	if (rc == 0 && memchr(out, '\0', outlen) == NULL)
		abort();
	rc2 = api_form_get((const char *)data + 1, size - 1, json,
	    names[(data[0] >> 1) & 3], out2, outlen);
	if (rc2 != rc || (rc == 0 && strcmp(out, out2) != 0))
		abort();
	return 0;
}
