/*
 * rec_file.c - modes and group of recordings (rec_file.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "rec_file.h"

static gid_t rec_group = (gid_t)-1;

void
rec_file_set_group(gid_t gid)
{
	rec_group = gid;
}

int
rec_file_create(const char *path, int flags)
{
	mode_t mode = rec_group != (gid_t)-1 ? 0640 : 0600;
	int fd, saved;

	fd = open(path, ((flags & O_RDWR) ? 0 : O_WRONLY) | O_CREAT | O_EXCL |
	    O_NOFOLLOW | O_CLOEXEC | flags, 0600);
	if (fd < 0)
		return -1;
	/* Group first, then the mode: never readable by a wrong group. */
	if ((rec_group != (gid_t)-1 && fchown(fd, (uid_t)-1, rec_group) < 0) ||
	    fchmod(fd, mode) < 0) {
		saved = errno;
		close(fd);
		unlink(path);
		errno = saved;
		return -1;
	}
	return fd;
}

static int
set_dir(const char *dir, mode_t with_group, mode_t without)
{
	struct stat sb;

	if (lstat(dir, &sb) < 0)
		return -1;
	if (!S_ISDIR(sb.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	if (rec_group == (gid_t)-1)
		return chmod(dir, without);
	if (chown(dir, (uid_t)-1, rec_group) < 0)
		return -1;
	return chmod(dir, with_group);
}

int
rec_file_prepare_dir(const char *dir, const char *parent)
{
	if (parent != NULL && set_dir(parent, 0710, 0700) < 0)
		return -1;
	return set_dir(dir, 0750, 0700);
}
