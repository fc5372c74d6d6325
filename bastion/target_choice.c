/*
 * target_choice.c - which target, and as which login, a person asked for.
 */
#include <string.h>

#include "target_choice.h"

static int
copy_part(char *dst, const char *src, size_t len, int login)
{
	if (len == 0)
		return TARGET_CHOICE_BAD_FORM;
	if (len > NAMES_MAX)
		return TARGET_CHOICE_BAD_NAME;
	memcpy(dst, src, len);
	dst[len] = '\0';
	if (login ? !names_valid_login(dst) : !names_valid(dst))
		return TARGET_CHOICE_BAD_NAME;
	return TARGET_CHOICE_OK;
}

int
target_choice_from_user(const char *ssh_user, struct target_choice *tc)
{
	const char *p1, *p2;
	int rc;

	memset(tc, 0, sizeof(*tc));
	p1 = strchr(ssh_user, '+');
	if (p1 == NULL)
		return copy_part(tc->person, ssh_user, strlen(ssh_user), 0);
	if ((rc = copy_part(tc->person, ssh_user, (size_t)(p1 - ssh_user),
	    0)) != 0)
		return rc;
	p2 = strchr(p1 + 1, '+');
	if (p2 == NULL)
		return copy_part(tc->target, p1 + 1, strlen(p1 + 1), 0);
	if (strchr(p2 + 1, '+') != NULL)
		return TARGET_CHOICE_BAD_FORM;
	if ((rc = copy_part(tc->login, p1 + 1, (size_t)(p2 - p1 - 1), 1)) != 0)
		return rc;
	return copy_part(tc->target, p2 + 1, strlen(p2 + 1), 0);
}

int
target_choice_from_command(struct target_choice *tc, const char *command,
    const char **rest)
{
	const char *w = command, *end, *at;
	int rc;

	if (tc->target[0] != '\0') {
		*rest = command;
		return TARGET_CHOICE_OK;
	}
	while (*w == ' ' || *w == '\t')
		w++;
	end = w + strcspn(w, " \t");
	if (end == w) {
		*rest = w;
		return TARGET_CHOICE_OK;	/* no command: menu */
	}
	at = memchr(w, '@', (size_t)(end - w));
	if (at != NULL) {
		rc = copy_part(tc->login, w, (size_t)(at - w), 1);
		w = at + 1;
	} else
		rc = TARGET_CHOICE_OK;
	if (rc == TARGET_CHOICE_OK)
		rc = copy_part(tc->target, w, (size_t)(end - w), 0);
	if (rc != TARGET_CHOICE_OK) {
		/* Leave nothing of a refused name behind. */
		tc->login[0] = '\0';
		tc->target[0] = '\0';
		return rc;
	}
	while (*end == ' ' || *end == '\t')
		end++;
	*rest = end;
	return TARGET_CHOICE_OK;
}

const char *
target_choice_strerror(int err)
{
	switch (err) {
	case TARGET_CHOICE_OK:
		return "ok";
	case TARGET_CHOICE_BAD_NAME:
		return "names may hold only letters, digits, '.', '_' and '-'"
		    " (at most 64 characters)";
	default:
		return "expected person, person+target or"
		    " person+login+target";
	}
}
