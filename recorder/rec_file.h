/*
 * rec_file.h - who may read recordings: every recording file is created
 * mode 0640 with the auditors' group (0600 when there is none), and the
 * recordings directory is 02750 with that group (0700).  Only the daemon's
 * user may write there: an auditor reads, no one else reads, no one else
 * deletes.
 */
#ifndef HVB_REC_FILE_H
#define HVB_REC_FILE_H

#include <sys/types.h>

/* The group recordings get from now on; (gid_t)-1: none. */
void	rec_file_set_group(gid_t);
/*
 * Creates path (O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC and
 * extra flags) with the mode and group above.  The fd, or -1 with errno
 * (and nothing left behind).
 */
int	rec_file_create(const char *path, int flags);
/*
 * With a group: gives dir that group and mode 02750 (setgid, so files
 * created there inherit the group), and parent, when not NULL (the state
 * directory above it), the group and 0710 so that auditors pass through it
 * without listing it.  Without one: a setgid directory keeps its group
 * (the owner's delegation, e.g. the package's tmpfiles.d entry; files are
 * then 0640 if that group may read it), closed to others; any other
 * directory becomes 0700.  0, or -1 with errno.
 */
int	rec_file_prepare_dir(const char *dir, const char *parent);

#endif
