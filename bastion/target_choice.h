/*
 * target_choice.h - which target, and as which login, a person asked for.
 *
 * In the order users expect (README "Choosing a target"):
 *  1. the SSH login name "alice+pve1" or "alice+root+pve1";
 *  2. the first word of the command, "pve1" or "root@pve1" (only when the
 *     login name named no target: then the whole command is the target's);
 *  3. neither: a menu.
 */
#ifndef HVB_TARGET_CHOICE_H
#define HVB_TARGET_CHOICE_H

#include <stddef.h>

#include "names.h"

#define TARGET_CHOICE_COMMAND_MAX	(64 * 1024)

struct target_choice {
	char	person[NAMES_MAX + 1];
	char	target[NAMES_MAX + 1];	/* "" when not named */
	char	login[NAMES_MAX + 1];	/* "" for the target's default */
};

enum target_choice_err {
	TARGET_CHOICE_OK = 0,
	TARGET_CHOICE_BAD_NAME = -1,	/* a part is not a safe name */
	TARGET_CHOICE_BAD_FORM = -2,	/* too many '+', empty parts */
};

/* Splits an SSH login name "person[+[login+]target]". */
int	target_choice_from_user(const char *ssh_user, struct target_choice *);

/*
 * When tc names no target yet, takes it from the first word of command
 * ("target" or "login@target") and sets *rest to the remaining command
 * (after blanks; may be "").  When tc already names one, *rest = command.
 * A first word that is not a safe name is an error: the caller tells the
 * user, and nothing is run.
 */
int	target_choice_from_command(struct target_choice *, const char *command,
	    const char **rest);

const char *target_choice_strerror(int err);

#endif
