/*
 * privdrop.h - running without root: the daemon starts as root only to
 * bind its listeners, read its host key and start the key holder, then the
 * master, the key holder and every per-connection child run as an
 * unprivileged user (default "hvbastion", hvbastiond -u).
 *
 * No capability is kept: listeners are bound before the drop, and audit
 * records go to the daemon log (libaudit, which would need
 * CAP_AUDIT_WRITE, is not used yet).  When the user does not exist the
 * daemon stays as it was started and logs a warning, so that a machine
 * without the account keeps working; "-u root" says so explicitly.
 */
#ifndef HVB_PRIVDROP_H
#define HVB_PRIVDROP_H

#include <sys/types.h>

#define PRIVDROP_DEFAULT_USER	"hvbastion"

struct privdrop {
	char	user[64];
	uid_t	uid;
	gid_t	gid;
	int	active;		/* 0: stay as started */
};

/*
 * Looks the user up.  Returns 0 (pd->active says whether a drop will
 * happen) or -1 when the name is invalid.
 */
int	privdrop_init(struct privdrop *pd, const char *user);
/* Gives dir to the user (chown, keeps the mode) when running as root. */
int	privdrop_own_dir(const struct privdrop *pd, const char *dir);
/*
 * Drops to the user for good (groups, gid, uid, all capabilities) and
 * checks that root cannot be regained; started as another user, drops
 * every capability it was given.  Returns 0 or -1 (logged).
 */
int	privdrop_apply(const struct privdrop *pd);

#endif
