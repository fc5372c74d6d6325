/*
 * names.c - the safe character sets for names that people type.
 */
#include <ctype.h>
#include <string.h>

#include "names.h"

static int
valid_charset(const char *s, int first_underscore)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > NAMES_MAX)
		return 0;
	if (!isalnum((unsigned char)s[0]) && !(first_underscore && s[0] == '_'))
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(c < 0x80 && (isalnum(c) || c == '.' || c == '_' ||
		    c == '-')))
			return 0;
	}
	return 1;
}

int
names_valid(const char *s)
{
	return valid_charset(s, 0);
}

int
names_valid_login(const char *s)
{
	return valid_charset(s, 1);
}

int
names_valid_address(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(c < 0x80 && (isalnum(c) || c == '.' || c == '-' ||
		    c == ':')))
			return 0;
	}
	return s[0] != '-';
}

int
names_valid_realm(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 2 || n > 32 || !isalpha((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '-' && s[i] != '_')
			return 0;
	return 1;
}
