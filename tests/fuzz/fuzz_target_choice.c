/*
 * fuzz_target_choice.c - libFuzzer target for target_choice_from_user()
 * and target_choice_from_command().
 *
 * The input is "ssh-user NUL command".  Property: whatever comes back as
 * OK names only safe names, and *rest points into the command.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../bastion/names.h"
#include "../../bastion/target_choice.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_choice(const struct target_choice *tc)
{
	if (!names_valid(tc->person))
		abort();
	if (tc->target[0] != '\0' && !names_valid(tc->target))
		abort();
	if (tc->login[0] != '\0' && !names_valid_login(tc->login))
		abort();
	if (tc->login[0] != '\0' && tc->target[0] == '\0')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct target_choice tc;
	const char *rest;
	char *buf, *user, *cmd;
	int rc, had_target;

	if (size > TARGET_CHOICE_COMMAND_MAX)
		return 0;
	/* Two NUL-terminated strings, so the functions never see past. */
	if ((buf = malloc(size + 2)) == NULL)
		abort();
	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';
	user = buf;
	cmd = user + strlen(user) + 1;
	if (cmd > buf + size)
		cmd = buf + size + 1;

	rc = target_choice_from_user(user, &tc);
	if (rc != TARGET_CHOICE_OK) {
		if (rc != TARGET_CHOICE_BAD_NAME &&
		    rc != TARGET_CHOICE_BAD_FORM)
			abort();
		goto out;
	}
	check_choice(&tc);
	had_target = tc.target[0] != '\0';
	rest = NULL;
	rc = target_choice_from_command(&tc, cmd, &rest);
	if (rc == TARGET_CHOICE_OK) {
		check_choice(&tc);
		if (rest == NULL || rest < cmd || rest > cmd + strlen(cmd))
			abort();
		if (had_target && rest != cmd)
			abort();	/* the whole command is kept */
	} else if (rc != TARGET_CHOICE_BAD_NAME)
		abort();
	(void)target_choice_strerror(rc);
out:
	free(buf);
	return 0;
}
