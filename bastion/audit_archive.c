/*
 * audit_archive.c - the journal's old part moved out of it
 * (audit_archive.h).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "../recorder/rec_zstd.h"
#include "audit_archive.h"
#include "audit_fmt.h"
#include "audit_spool.h"
#include "state_owner.h"

#define COPY_CHUNK	(1 << 20)

static int
path_of(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

int
audit_archive_position(const char *dir, uint64_t *off)
{
	return audit_spool_get_number(dir, "archived", off);
}

int
audit_archive_lock(const char *dir, int exclusive)
{
	char path[PATH_MAX];
	int fd;

	if (path_of(path, sizeof(path), dir, "archive.lock") < 0)
		return -ENAMETOOLONG;
	fd = open(path, (exclusive ? O_RDWR | O_CREAT : O_RDONLY) |
	    O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	if (exclusive)
		state_owner_match(fd, dir);
	if (flock(fd, exclusive ? LOCK_EX : LOCK_SH) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* Where the journal's last complete line starts (size: none). */
static int
last_line_start(int fd, uint64_t size, uint64_t *start)
{
	size_t window = AUDIT_FMT_LINE_MAX + 1, end, i;
	uint64_t from = size > window ? size - window : 0;
	char *buf = malloc(window);
	ssize_t r;

	*start = size;
	if (buf == NULL)
		return -ENOMEM;
	if ((r = pread(fd, buf, (size_t)(size - from), (off_t)from)) < 0) {
		free(buf);
		return -errno;
	}
	end = (size_t)r;
	while (end > 0 && buf[end - 1] != '\n')
		end--;		/* a torn line: not a line */
	if (end > 0) {
		for (i = end - 1; i > 0 && buf[i - 1] != '\n'; i--)
			;
		if (i > 0 || from == 0)
			*start = from + i;
		else {
			free(buf);
			return -EBADMSG;	/* a line longer than any */
		}
	}
	free(buf);
	return 0;
}

/* The "seq" of the line at off in fd: 0 when it has none. */
static uint64_t
seq_at(int fd, uint64_t off)
{
	char *buf = malloc(AUDIT_FMT_LINE_MAX + 1);
	json_t *o, *v;
	uint64_t seq = 0;
	ssize_t r;
	char *nl;

	if (buf == NULL)
		return 0;
	r = pread(fd, buf, AUDIT_FMT_LINE_MAX + 1, (off_t)off);
	if (r > 0 && (nl = memchr(buf, '\n', (size_t)r)) != NULL &&
	    (o = json_loadb(buf, (size_t)(nl - buf), 0, NULL)) != NULL) {
		if (json_is_integer(v = json_object_get(o, "seq")) &&
		    json_integer_value(v) > 0)
			seq = (uint64_t)json_integer_value(v);
		json_decref(o);
	}
	free(buf);
	return seq;
}

/* The plain temporary file, zstd-compressed into path, synced. */
static int
compress_into(const char *plain, const char *path, const char *adir)
{
	char tmp[PATH_MAX];
	int in, out, rc = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	if ((in = open(plain, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return -errno;
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0) {
		rc = -errno;
		close(in);
		return rc;
	}
	state_owner_match(out, adir);
	if (rec_zstd_compress_fd(in, out) < 0)
		rc = errno != 0 ? -errno : -EIO;
	close(in);
	if (close(out) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* [from, to) of fd into dir/name (name ends in ".zst": compressed),
 * synced, by a temporary file and a rename; *lines gets the number of
 * lines copied. */
static int
write_segment(int fd, uint64_t from, uint64_t to, const char *adir,
    const char *name, uint64_t *lines)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	char *buf = malloc(COPY_CHUNK);
	int out = -1, rc = 0;
	uint64_t off;

	*lines = 0;
	if (buf == NULL)
		return -ENOMEM;
	if (path_of(path, sizeof(path), adir, name) < 0 ||
	    snprintf(tmp, sizeof(tmp), "%s.plain.tmp", path) >=
	    (int)sizeof(tmp)) {
		rc = -ENAMETOOLONG;
		goto out;
	}
	if ((out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) < 0) {
		rc = -errno;
		goto out;
	}
	state_owner_match(out, adir);
	for (off = from; off < to && rc == 0; ) {
		size_t want = to - off > COPY_CHUNK ? COPY_CHUNK :
		    (size_t)(to - off), i;
		ssize_t r = pread(fd, buf, want, (off_t)off), w;

		if (r <= 0) {
			rc = r < 0 ? -errno : -EIO;
			break;
		}
		for (i = 0; i < (size_t)r; i++)
			if (buf[i] == '\n')
				(*lines)++;
		for (i = 0; i < (size_t)r; i += (size_t)w)
			if ((w = write(out, buf + i, (size_t)r - i)) <= 0) {
				rc = w < 0 ? -errno : -EIO;
				break;
			}
		off += (uint64_t)r;
	}
	if (close(out) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0)
		rc = compress_into(tmp, path, adir);
	unlink(tmp);
	if (rc == 0)
		rc = audit_spool_sync_dir(adir);
out:
	free(buf);
	return rc;
}

int
audit_archive_run(const char *dir, int collector, uint64_t *events,
    char *name, size_t len)
{
	char path[PATH_MAX], adir[PATH_MAX];
	uint64_t from, to, last, delivered, first;
	struct stat sb;
	int lk, fd = -1, rc;

	*events = 0;
	name[0] = '\0';
	if (path_of(adir, sizeof(adir), dir, AUDIT_ARCHIVE_SUBDIR) < 0 ||
	    path_of(path, sizeof(path), dir, "journal.jsonl") < 0)
		return -ENAMETOOLONG;
	if (mkdir(adir, 0700) == 0) {
		int dfd = open(adir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		if (dfd >= 0) {
			state_owner_match(dfd, dir);
			close(dfd);
		}
		audit_spool_sync_dir(dir);
	} else if (errno != EEXIST)
		return -errno;
	if ((lk = audit_archive_lock(dir, 1)) < 0)
		return lk;
	if ((rc = audit_archive_position(dir, &from)) < 0)
		goto out;
	if ((fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		rc = errno == ENOENT ? 0 : -errno;
		goto out;
	}
	if (fstat(fd, &sb) < 0) {
		rc = -errno;
		goto out;
	}
	/* Never the last line; with a log store, nothing undelivered. */
	if ((rc = last_line_start(fd, (uint64_t)sb.st_size, &last)) < 0)
		goto out;
	to = last;
	if (collector) {
		if ((rc = audit_spool_get_number(dir, "offset", &delivered)) <
		    0)
			goto out;
		if (delivered < to)
			to = delivered;
	}
	if (to > from) {
		if ((first = seq_at(fd, from)) == 0) {
			rc = -EBADMSG;	/* "archived" is not a line's start */
			goto out;
		}
		snprintf(name, len, "%s%020" PRIu64 "%s%s", AUDIT_ARCHIVE_PREFIX,
		    first, AUDIT_ARCHIVE_SUFFIX, REC_ZSTD_SUFFIX);
		if ((rc = write_segment(fd, from, to, adir, name, events)) < 0 ||
		    (rc = audit_spool_put_number(dir, "archived", to)) < 0)
			goto out;
		/* Without a log store, a delivery offset left from when
		 * there was one must not point into the hole: a log store
		 * configured again starts after what is archived, as it
		 * starts after what was recorded before it (audit_spool.h). */
		if (!collector && audit_spool_get_number(dir, "offset",
		    &delivered) == 0 && delivered > 0 && delivered < to &&
		    (rc = audit_spool_put_number(dir, "offset", to)) < 0)
			goto out;
	} else
		to = from;
	/* The archived range out of the journal, whole blocks only, and
	 * never the newline that ends the last archived line: the next
	 * event's chain is read from the line after it. */
	if (to > 0) {
		uint64_t blk = sb.st_blksize > 0 ? (uint64_t)sb.st_blksize :
		    4096, end = (to - 1) / blk * blk;

		if (end > 0 && fallocate(fd, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, 0, (off_t)end) < 0 &&
		    errno != EOPNOTSUPP)
			rc = -errno;
	}
out:
	if (fd >= 0)
		close(fd);
	close(lk);
	return rc;
}
