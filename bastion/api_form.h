/*
 * api_form.h - one field of a request body, form-urlencoded or JSON (the
 * two body types pveproxy takes), for the login call.  Bounded; a field
 * given twice is refused (which one a node would take is not the
 * bastion's guess to make).
 */
#ifndef HVB_API_FORM_H
#define HVB_API_FORM_H

#include <stddef.h>

/* 0, -ENOENT (absent), -EINVAL (malformed, duplicate, too long, NUL). */
int	api_form_get(const char *body, size_t len, int json, const char *name,
	    char *out, size_t outlen);
/* The value of a hex digit of a %XX escape, or -1 (also api_path.c). */
int	api_form_hexval(int c);
/* Percent-decoding ('+' as space when plus); 0 or -EINVAL. */
int	api_form_decode(const char *s, size_t len, int plus, char *out,
	    size_t outlen);
/* Percent-encoding of s: letters, digits and the characters of keep as
 * they are, every other byte as %XX; 0 or -ENAMETOOLONG (api_path.c,
 * api_vncbind.c). */
int	api_form_encode(const char *s, const char *keep, char *out,
	    size_t outlen);
/* The first cookie NAME of a Cookie header, percent-decoded; 0, -ENOENT
 * or -EINVAL. */
int	api_form_cookie(const char *cookies, const char *name, char *out,
	    size_t outlen);

#endif
