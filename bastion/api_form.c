/*
 * api_form.c - login body fields (api_form.h).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api_form.h"

int
api_form_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
api_form_encode(const char *s, const char *keep, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr(keep, c) != NULL) {
			if (o + 1 >= outlen)
				return -ENAMETOOLONG;
			out[o++] = (char)c;
		} else {
			if (o + 3 >= outlen)
				return -ENAMETOOLONG;
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	if (o >= outlen)
		return -ENAMETOOLONG;
	out[o] = '\0';
	return 0;
}

int
api_form_decode(const char *s, size_t len, int plus, char *out,
    size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len ||
			    (hi = api_form_hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = api_form_hexval((unsigned char)s[i + 2])) < 0)
				return -EINVAL;
			c = hi << 4 | lo;
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (c == 0 || o + 1 >= outlen)
			return -EINVAL;
		out[o++] = (char)c;
	}
	if (o >= outlen)
		return -EINVAL;
	out[o] = '\0';
	return 0;
}

static int
form_get(const char *body, size_t len, const char *name, char *out,
    size_t outlen)
{
	const char *p = body, *end = body + len;
	char key[64];
	int found = 0;

	while (p < end) {
		const char *amp = memchr(p, '&', (size_t)(end - p));
		const char *pe = amp != NULL ? amp : end;
		const char *eq = memchr(p, '=', (size_t)(pe - p));
		const char *ke = eq != NULL ? eq : pe;

		if (api_form_decode(p, (size_t)(ke - p), 1, key,
		    sizeof(key)) == 0 && strcmp(key, name) == 0) {
			if (found++)
				return -EINVAL;
			if (eq == NULL)
				out[0] = '\0';
			else if (api_form_decode(eq + 1, (size_t)(pe - eq - 1),
			    1, out, outlen) < 0)
				return -EINVAL;
		}
		p = pe + 1;
	}
	return found ? 0 : -ENOENT;
}

static int
json_get(const char *body, size_t len, const char *name, char *out,
    size_t outlen)
{
	json_error_t e;
	json_t *root, *v;
	int rc = -ENOENT, n;

	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e);
	if (root == NULL || !json_is_object(root)) {
		json_decref(root);
		return -EINVAL;
	}
	v = json_object_get(root, name);
	if (v != NULL) {
		rc = 0;
		if (json_is_string(v)) {
			const char *s = json_string_value(v);
			size_t sl = json_string_length(v);

			if (sl >= outlen || strlen(s) != sl)
				rc = -EINVAL;
			else
				memcpy(out, s, sl + 1);
		} else if (json_is_integer(v)) {
			n = snprintf(out, outlen, "%lld",
			    (long long)json_integer_value(v));
			if (n < 0 || (size_t)n >= outlen)
				rc = -EINVAL;
		} else
			rc = -EINVAL;
	}
	json_decref(root);
	return rc;
}

int
api_form_get(const char *body, size_t len, int json, const char *name,
    char *out, size_t outlen)
{
	if (outlen == 0)
		return -EINVAL;
	out[0] = '\0';
	if (body == NULL)
		return -ENOENT;
	if (memchr(body, '\0', len) != NULL)
		return -EINVAL;
	return json ? json_get(body, len, name, out, outlen) :
	    form_get(body, len, name, out, outlen);
}

int
api_form_cookie(const char *cookies, const char *name, char *out,
    size_t outlen)
{
	size_t nl = strlen(name);
	const char *p = cookies;

	if (outlen == 0)
		return -EINVAL;
	out[0] = '\0';
	while (p != NULL && *p != '\0') {
		const char *end;

		while (*p == ' ' || *p == ';')
			p++;
		end = strchr(p, ';');
		if (strncmp(p, name, nl) == 0 && p[nl] == '=') {
			size_t vl = end ? (size_t)(end - p - nl - 1) :
			    strlen(p + nl + 1);

			return api_form_decode(p + nl + 1, vl, 0, out, outlen);
		}
		p = end;
	}
	return -ENOENT;
}
