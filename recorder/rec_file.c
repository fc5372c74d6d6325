/*
 * rec_file.c - modes and group of recordings (rec_file.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "rec_file.h"

static gid_t rec_group = (gid_t)-1;
static int rec_share;		/* files 0640 (group reads) or 0600 */

void
rec_file_set_group(gid_t gid)
{
	rec_group = gid;
	rec_share = gid != (gid_t)-1;
}

int
rec_file_create(const char *path, int flags)
{
	mode_t mode = rec_share ? 0640 : 0600;
	struct stat sb;
	int fd, saved;

	fd = open(path, ((flags & O_RDWR) ? 0 : O_WRONLY) | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC | flags, 0600);
	if (fd < 0)
		return -1;
	/* Group first, then the mode: never readable by a wrong group.  A
	 * setgid directory gave it the group already (a daemon that is not
	 * root, and not in the group, could not give it). */
	if (fstat(fd, &sb) < 0 || (rec_group != (gid_t)-1 &&
	    sb.st_gid != rec_group && fchown(fd, (uid_t)-1, rec_group) < 0) ||
	    fchmod(fd, mode) < 0) {
		saved = errno;
		close(fd);
		unlink(path);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * Only when it differs: a chmod by a user outside the directory's group
 * (the daemon's user, with the package's setgid directory) would clear
 * the setgid bit.
 */
static int
change_mode(const char *path, const struct stat *sb, mode_t mode)
{
	if ((sb->st_mode & 07777) == mode)
		return 0;
	return chmod(path, mode);
}

/* Gives path the group (when it has another) and the mode. */
static int
set_dir(const char *path, mode_t mode)
{
	struct stat sb;

	if (lstat(path, &sb) < 0)
		return -1;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (sb.st_gid != rec_group && chown(path, (uid_t)-1, rec_group) < 0)
		return -1;
	return change_mode(path, &sb, mode);
}

int
rec_file_prepare_dir(const char *dir, const char *parent)
{
	struct stat sb;

	if (rec_group != (gid_t)-1) {
		if (parent != NULL && set_dir(parent, 0710) < 0)
			return -1;
		/* setgid: what is created there keeps the group. */
		return set_dir(dir, 02750);
	}
	if (lstat(dir, &sb) < 0)
		return -1;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	/* No group known here, but the directory's owner gave it one
	 * (setgid, as the package's tmpfiles.d entry does): keep that
	 * delegation, closed to others.  Otherwise root (the owner) alone. */
	if ((sb.st_mode & S_ISGID) != 0) {
		rec_share = (sb.st_mode & S_IRGRP) != 0;
		return change_mode(dir, &sb, sb.st_mode & 02750);
	}
	return change_mode(dir, &sb, 0700);
}
