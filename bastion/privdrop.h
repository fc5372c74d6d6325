/*
 * privdrop.h - running without root: the daemon starts as root only to
 * bind its listeners, read its host key and start the key holder, then the
 * master, the key holder and every per-connection child run as an
 * unprivileged user (default "hvbastion", hvbastiond -u).
 *
 * One capability may be kept: CAP_AUDIT_WRITE, when libaudit is on
 * (audit-libaudit), so that the session processes can send their records
 * to the kernel (USER_LOGIN, USER_CMD, ...), as OpenSSH's sshd does; it
 * lets a process write audit records and nothing else.  Listeners are
 * bound before the drop.  When the user does not exist the
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
	int	keep_audit_write;	/* keep CAP_AUDIT_WRITE (libaudit) */
};

/*
 * Looks the user up.  Returns 0 (pd->active says whether a drop will
 * happen) or -1 when the name is invalid.
 */
int	privdrop_init(struct privdrop *pd, const char *user);
/* Gives dir to the user (chown, keeps the mode) when running as root. */
int	privdrop_own_dir(const struct privdrop *pd, const char *dir);
/*
 * Drops to the user for good (groups, gid, uid, every capability but
 * CAP_AUDIT_WRITE when asked) and checks that root cannot be regained;
 * started as another user, drops the capabilities it was given the same
 * way.  Returns 0 or -1 (logged).
 */
int	privdrop_apply(const struct privdrop *pd);

#endif
