/*
 * api_path.c - request-target normalisation for the Proxmox API front
 * (see api_path.h).
 *
 * The decoded path is what the ACL map and the policy see, and what the
 * upstream request is rebuilt from (re-encoded), so that the node cannot
 * read a different path than the one the bastion decided on: an encoded
 * "%2e%2e" or "%2F" is decoded once here, and checked after decoding.
 */
#include <errno.h>
#include <string.h>

#include "api_form.h"
#include "api_path.h"

#define PREFIX		"/api2/json"
#define PREFIX_LEN	(sizeof(PREFIX) - 1)

/* 1 if s[0..len) is well-formed UTF-8 (no overlongs, no surrogates). */
static int
utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], need, cp, min;

		if (c < 0x80) {
			i++;
			continue;
		}
		if ((c & 0xe0) == 0xc0)
			need = 1, cp = c & 0x1f, min = 0x80;
		else if ((c & 0xf0) == 0xe0)
			need = 2, cp = c & 0x0f, min = 0x800;
		else if ((c & 0xf8) == 0xf0)
			need = 3, cp = c & 0x07, min = 0x10000;
		else
			return 0;
		if (len - i <= need)
			return 0;
		for (i++; need > 0; need--, i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 &&
		    cp <= 0xdfff))
			return 0;
	}
	return 1;
}

static int
query_char_ok(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return strchr("-._~%!$&'()*+,;=:@/?", c) != NULL && c != '\0';
}

int
api_path_normalise(const char *target, char *path, size_t pathlen,
    char *query, size_t querylen)
{
	const char *q, *p;
	size_t rawlen, i, o = 0, seg;

	if (pathlen < 2 || querylen < 1)
		return -EINVAL;
	path[0] = '\0';
	query[0] = '\0';
	/* Origin form only: no "http://host/...", no "*". */
	if (target[0] != '/')
		return -EINVAL;
	if (strncmp(target, PREFIX, PREFIX_LEN) != 0 ||
	    (target[PREFIX_LEN] != '/' && target[PREFIX_LEN] != '\0' &&
	    target[PREFIX_LEN] != '?'))
		return -ENOENT;
	p = target + PREFIX_LEN;
	q = strchr(p, '?');
	rawlen = q != NULL ? (size_t)(q - p) : strlen(p);
	if (q != NULL) {
		size_t ql = strlen(q + 1);

		if (ql >= querylen || ql >= API_QUERY_MAX)
			return -EINVAL;
		for (i = 0; i < ql; i++)
			if (!query_char_ok((unsigned char)q[1 + i]))
				return -EINVAL;
		/* A "%" must start a valid escape. */
		for (i = 0; i < ql; i++)
			if (q[1 + i] == '%' &&
			    (api_form_hexval((unsigned char)q[2 + i]) < 0 ||
			    api_form_hexval((unsigned char)q[3 + i]) < 0))
				return -EINVAL;
		memcpy(query, q + 1, ql);
		query[ql] = '\0';
	}
	/* Decode. */
	for (i = 0; i < rawlen; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= rawlen)
				return -EINVAL;
			if ((hi = api_form_hexval((unsigned char)p[i + 1])) < 0 ||
			    (lo = api_form_hexval((unsigned char)p[i + 2])) < 0)
				return -EINVAL;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || c == '\\')
			return -EINVAL;
		if (o + 2 >= pathlen || o + 1 >= API_PATH_MAX)
			return -EINVAL;
		path[o++] = (char)c;
	}
	path[o] = '\0';
	if (!utf8_valid((const unsigned char *)path, o))
		return -EINVAL;
	if (o == 0) {
		path[0] = '/';
		path[1] = '\0';
		return 0;
	}
	/* One trailing slash is tolerated, as the Proxmox router does. */
	if (o > 2 && path[o - 1] == '/' && path[o - 2] != '/')
		path[--o] = '\0';
	if (o == 1)
		return 0;
	/* Segments: none empty, none "." or "..". */
	for (i = 1, seg = 1; i <= o; i++) {
		if (path[i] == '/' || path[i] == '\0') {
			size_t sl = i - seg;

			if (sl == 0 || (sl == 1 && path[seg] == '.') ||
			    (sl == 2 && path[seg] == '.' &&
			    path[seg + 1] == '.'))
				return -EINVAL;
			seg = i + 1;
		}
	}
	return 0;
}

int
api_path_encode(const char *path, char *out, size_t outlen)
{
	return api_form_encode(path, "/-._~:@!$&'()*+,;=", out, outlen);
}
