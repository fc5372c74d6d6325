/*
 * privdrop.c - dropping root for good (see privdrop.h).
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "privdrop.h"

int
privdrop_init(struct privdrop *pd, const char *user)
{
	struct passwd *pw;

	memset(pd, 0, sizeof(*pd));
	if (user == NULL || user[0] == '\0' ||
	    strlen(user) >= sizeof(pd->user))
		return -1;
	snprintf(pd->user, sizeof(pd->user), "%s", user);
	if (geteuid() != 0) {
		/* Started unprivileged (tests, or a socket-activated unit
		 * with User=): nothing to drop. */
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_info("warning: user %s does not exist; running as root"
		    " (create it: useradd --system %s)", user, user);
		return 0;
	}
	if (pw->pw_uid == 0) {
		log_info("warning: -u %s: running as root, without privilege"
		    " separation by user", user);
		return 0;
	}
	pd->uid = pw->pw_uid;
	pd->gid = pw->pw_gid;
	pd->active = 1;
	return 0;
}

int
privdrop_own_dir(const struct privdrop *pd, const char *dir)
{
	struct stat sb;

	if (!pd->active)
		return 0;
	if (lstat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
		return -1;
	if (sb.st_uid == pd->uid)
		return 0;
	if (lchown(dir, pd->uid, pd->gid) < 0) {
		log_error("cannot give %s to user %s: %s", dir, pd->user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Started without root but with capabilities (a unit with User= and
 * AmbientCapabilities=CAP_NET_BIND_SERVICE): the listeners are bound, so
 * none is needed any more.
 */
static int
set_capabilities(int keep_audit_write)
{
	struct __user_cap_header_struct h;
	struct __user_cap_data_struct d[2];

	memset(&h, 0, sizeof(h));
	memset(d, 0, sizeof(d));
	h.version = _LINUX_CAPABILITY_VERSION_3;
	if (keep_audit_write) {
		d[CAP_TO_INDEX(CAP_AUDIT_WRITE)].permitted =
		    CAP_TO_MASK(CAP_AUDIT_WRITE);
		d[CAP_TO_INDEX(CAP_AUDIT_WRITE)].effective =
		    CAP_TO_MASK(CAP_AUDIT_WRITE);
	}
	return (int)syscall(SYS_capset, &h, d);
}

/* Everything but CAP_AUDIT_WRITE when asked (and held); else nothing. */
static int
drop_capabilities(int keep_audit_write)
{
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return -1;
	if (keep_audit_write && set_capabilities(1) == 0)
		return 0;
	if (keep_audit_write)
		log_info("warning: CAP_AUDIT_WRITE not held: the kernel audit"
		    " log gets no records from the sessions");
	return set_capabilities(0);
}

int
privdrop_apply(const struct privdrop *pd)
{
	uid_t r, e, s;

	if (!pd->active) {
		/* A unit's system call filter may forbid capset (systemd's
		 * ~@privileged): the unit's bounding set already limits what
		 * is held to what it grants, so carry on. */
		if (geteuid() != 0 &&
		    drop_capabilities(pd->keep_audit_write) < 0)
			log_info("warning: cannot drop capabilities (%s): the"
			    " unit's bounding set applies", strerror(errno));
		return 0;
	}
	/* Keep the permitted set across setresuid() only to trim it to
	 * CAP_AUDIT_WRITE right after. */
	if (pd->keep_audit_write && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) {
		log_error("PR_SET_KEEPCAPS: %s", strerror(errno));
		return -1;
	}
	if (setgroups(1, &pd->gid) < 0 ||
	    setresgid(pd->gid, pd->gid, pd->gid) < 0 ||
	    setresuid(pd->uid, pd->uid, pd->uid) < 0) {
		log_error("cannot become user %s: %s", pd->user,
		    strerror(errno));
		return -1;
	}
	if (pd->keep_audit_write) {
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
		if (drop_capabilities(1) < 0) {
			log_error("cannot trim capabilities: %s",
			    strerror(errno));
			return -1;
		}
	}
	/* A full setresuid() from root clears every capability set (but
	 * CAP_AUDIT_WRITE, kept above); check that nothing can bring root
	 * back. */
	if (getresuid(&r, &e, &s) < 0 || r != pd->uid || e != pd->uid ||
	    s != pd->uid || setuid(0) == 0 || seteuid(0) == 0) {
		log_error("privileges still recoverable after dropping to %s",
		    pd->user);
		return -1;
	}
	/* Dumpable is reset by the uid change; keep it off. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	return 0;
}
