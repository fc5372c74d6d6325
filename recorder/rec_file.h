/*
 * rec_file.h - who may read recordings: every recording file is created
 * mode 0640 with the auditors' group (0600 when there is none), and the
 * recordings directory is 0750 with that group (0700).  Nobody but root
 * may write there: an auditor reads, no one else reads, nobody deletes.
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
 * Gives dir the group and mode 0750 (0700 without a group); parent, when
 * not NULL, is a directory above it (the state directory) that gets the
 * group and 0710 so that auditors can pass through it without listing it.
 * 0, or -1 with errno.
 */
int	rec_file_prepare_dir(const char *dir, const char *parent);

#endif
