/*
 * audit_spool.c - the journal, whose undelivered tail is the spool, and the
 * delivery offset on disk (audit_spool.h describes the files).
 *
 * Writers are the forked per-connection children and the CLI: one flock()
 * on STATE/audit/lock orders them, and each holds it only for one append
 * (the fdatasync() after it is shared: audit_commit.c), never across
 * anything that waits on the network, so a log store that is down cannot
 * stall a login.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "../recorder/chain.h"
#include "audit_commit.h"
#include "audit_fmt.h"
#include "audit_spool.h"
#include "state_owner.h"


static int
path_of(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return (n < 0 || (size_t)n >= len) ? -ENAMETOOLONG : 0;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

int
audit_spool_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

static int	lock_dir(const char *);
static void	unlock_dir(int);
static int	read_offset(const char *, uint64_t *, int *);
static int	write_offset(const char *, uint64_t);

/*
 * What a process keeps open for its appends: the lock, the journal (and
 * its device and inode, which group commit compares: audit_commit.h) and
 * the commit page, opened at its first append (or by audit_spool_hold)
 * and kept, so that an append opens nothing.  pid says whose they are: a
 * forked child opens its own (a flock() on an inherited descriptor would
 * be its parent's lock too).
 *
 * A sandboxed session process (sandbox.h) may open no file: it holds the
 * offset open as well (sandboxed), and never creates or removes the
 * "full" mark (the ALERT line says it).  One that is not sandboxed checks
 * on each append that the journal it holds is still the one in the
 * directory (a stat()), and opens the offset when it needs it.
 */
static struct {
	pid_t		pid;
	int		sandboxed;
	int		lock, journal, offset;
	uint64_t	dev, ino;
	char		dir[PATH_MAX];
} held = { 0, 0, -1, -1, -1, 0, 0, "" };

static void
held_close(void)
{
	if (held.journal >= 0)
		close(held.journal);
	if (held.lock >= 0)
		close(held.lock);
	if (held.offset >= 0)
		close(held.offset);
	held.lock = held.journal = held.offset = -1;
	held.sandboxed = 0;
	held.pid = 0;
	held.dir[0] = '\0';
}

/* The lock, the journal and the commit page, for this process. */
static int
held_open(const char *dir)
{
	char path[PATH_MAX];
	struct stat sb;
	int rc;

	if (held.pid == audit_commit_self() && held.lock >= 0 &&
	    held.journal >= 0 && strcmp(held.dir, dir) == 0)
		return 0;
	held_close();	/* (a parent's, inherited) */
	if (path_of(path, sizeof(path), dir, "lock") < 0)
		return -ENAMETOOLONG;
	if ((held.lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0)
		return -errno;
	state_owner_match(held.lock, dir);
	if (path_of(path, sizeof(path), dir, "journal.jsonl") < 0)
		rc = -ENAMETOOLONG;
	else if ((held.journal = open(path, O_RDWR | O_CREAT | O_APPEND |
	    O_CLOEXEC | O_NOFOLLOW, 0600)) < 0 || fstat(held.journal,
	    &sb) < 0)
		rc = -errno;
	else
		rc = 0;
	if (rc < 0) {
		held_close();
		return rc;
	}
	state_owner_match(held.journal, dir);
	held.dev = (uint64_t)sb.st_dev;
	held.ino = (uint64_t)sb.st_ino;
	held.pid = audit_commit_self();
	snprintf(held.dir, sizeof(held.dir), "%s", dir);
	/* Without it, every append syncs for itself (as before). */
	(void)audit_commit_open(dir);
	return 0;
}

/* A process that is not sandboxed follows a journal that was replaced. */
static int
held_current(const char *dir)
{
	char path[PATH_MAX];
	struct stat sb;

	if (held.pid != audit_commit_self() || held.journal < 0 ||
	    strcmp(held.dir, dir) != 0)
		return held_open(dir);
	if (held.sandboxed)
		return 0;
	if (path_of(path, sizeof(path), dir, "journal.jsonl") < 0)
		return -ENAMETOOLONG;
	if (stat(path, &sb) == 0 && (uint64_t)sb.st_ino == held.ino &&
	    (uint64_t)sb.st_dev == held.dev)
		return 0;
	held_close();
	return held_open(dir);
}

int
audit_spool_hold(const struct audit_spool_conf *c)
{
	char path[PATH_MAX];
	int rc = 0;

	if (held.pid == audit_commit_self() && held.sandboxed &&
	    strcmp(held.dir, c->dir) == 0)
		return 0;
	if ((rc = held_open(c->dir)) < 0)
		return rc;
	if (!audit_commit_ready())
		(void)audit_commit_open(c->dir);
	if (c->mode != AUDIT_SPOOL_NONE) {
		/* Written in place by the shipper (write_offset), so this
		 * descriptor keeps seeing it. */
		if (path_of(path, sizeof(path), c->dir, "offset") < 0)
			rc = -ENAMETOOLONG;
		else if (held.offset < 0 && (held.offset = open(path,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 &&
		    errno != ENOENT)
			rc = -errno;
	}
	if (rc < 0) {
		held_close();
		return rc;
	}
	held.sandboxed = 1;
	return 0;
}

int
audit_spool_init(struct audit_spool_conf *c, const char *state_dir,
    int collector)
{
	char path[PATH_MAX];
	struct stat sb;
	uint64_t off;
	int n, lk, exists, rc = 0;

	n = snprintf(c->dir, sizeof(c->dir), "%s/%s", state_dir,
	    AUDIT_SPOOL_SUBDIR);
	if (n < 0 || (size_t)n >= sizeof(c->dir))
		return -ENAMETOOLONG;
	if (mkdir(c->dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if (lstat(c->dir, &sb) < 0)
		return -errno;
	if (!S_ISDIR(sb.st_mode))
		return -ENOTDIR;
	if ((sb.st_mode & 077) != 0)
		return -EPERM;
	if ((n = open(c->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		static const char *const files[] = { "lock", "journal.jsonl",
		    "offset", "status", "full", AUDIT_COMMIT_FILE };
		size_t i;
		int fd;

		state_owner_match(n, state_dir);
		close(n);
		/* What a root CLI wrote before the daemon gave the state
		 * directory to its user. */
		for (i = 0; geteuid() == 0 && i < sizeof(files) /
		    sizeof(files[0]); i++) {
			if (path_of(path, sizeof(path), c->dir, files[i]) < 0 ||
			    (fd = open(path, O_RDONLY | O_CLOEXEC |
			    O_NOFOLLOW)) < 0)
				continue;
			state_owner_match(fd, c->dir);
			close(fd);
		}
	}
	if (!collector)
		return 0;
	if ((lk = lock_dir(c->dir)) < 0)
		return lk;
	if ((rc = read_offset(c->dir, &off, &exists)) == 0 && !exists) {
		if (path_of(path, sizeof(path), c->dir, "journal.jsonl") < 0)
			rc = -ENAMETOOLONG;
		else
			rc = write_offset(c->dir, stat(path, &sb) == 0 ?
			    (uint64_t)sb.st_size : 0);
	}
	unlock_dir(lk);
	return rc;
}

static int
lock_dir(const char *dir)
{
	char path[PATH_MAX];
	int fd;

	if (held.pid == audit_commit_self() && held.lock >= 0 &&
	    strcmp(held.dir, dir) == 0)
		fd = held.lock;
	else if (path_of(path, sizeof(path), dir, "lock") < 0)
		return -ENAMETOOLONG;
	else if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0)
		return -errno;
	else
		state_owner_match(fd, dir);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR) {
			int e = -errno;

			unlock_dir(fd);
			return e;
		}
	return fd;
}

static void
unlock_dir(int fd)
{
	if (fd == held.lock && held.pid == audit_commit_self())
		flock(fd, LOCK_UN);
	else
		close(fd);	/* releases the lock */
}

/*
 * The last complete line of fd into buf (len bytes at least
 * AUDIT_FMT_LINE_MAX + 1); *n its length, newline included (0: empty
 * file).  A torn last line (a writer that died before its fdatasync, so
 * an event nobody was told was written) is cut off when fix is set.
 */
static int
last_line(int fd, char *buf, size_t len, size_t *n, int fix)
{
	struct stat sb;
	off_t size, from;
	ssize_t r;
	size_t got, end, start;

	*n = 0;
	if (fstat(fd, &sb) < 0)
		return -errno;
	size = sb.st_size;
	if (size == 0)
		return 0;
	from = size > (off_t)len ? size - (off_t)len : 0;
	if ((r = pread(fd, buf, (size_t)(size - from), from)) < 0)
		return -errno;
	got = (size_t)r;
	end = got;
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	if (end == 0) {
		if (from > 0)
			return -EBADMSG;
		if (fix && ftruncate(fd, 0) < 0)
			return -errno;
		return 0;
	}
	if (end != got && fix && ftruncate(fd, from + (off_t)end) < 0)
		return -errno;
	start = end - 1;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	if (start == 0 && from > 0)
		return -EBADMSG;
	memmove(buf, buf + start, end - start);
	*n = end - start;
	return 0;
}

static void
sha256_hex(const char *s, size_t n, char hex[CHAIN_HEX_LEN + 1])
{
	unsigned char h[CHAIN_HASH_LEN];
	unsigned int hl = 0;

	memset(h, 0, sizeof(h));
	static EVP_MD *md;

	/* Fetched once: an implicit fetch per digest costs more than the
	 * digest of a line. */
	if (md == NULL)
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_Digest(s, n, h, &hl, md != NULL ? md : EVP_sha256(), NULL);
	chain_hex(h, sizeof(h), hex);
}

/* seq and chain value of the journal's last line. */
static int
journal_tail(int fd, uint64_t *seq, char prev[CHAIN_HEX_LEN + 1], int fix)
{
	char *buf = malloc(AUDIT_FMT_LINE_MAX + 1);
	json_t *o = NULL, *v;
	size_t n;
	int rc;

	if (buf == NULL)
		return -ENOMEM;
	if ((rc = last_line(fd, buf, AUDIT_FMT_LINE_MAX + 1, &n, fix)) < 0)
		goto out;
	if (n == 0) {
		*seq = 0;
		sha256_hex(AUDIT_JOURNAL_SEED, strlen(AUDIT_JOURNAL_SEED), prev);
		goto out;
	}
	o = json_loadb(buf, n - 1, 0, NULL);
	if (o == NULL || !json_is_integer(v = json_object_get(o, "seq")) ||
	    json_integer_value(v) <= 0) {
		rc = -EBADMSG;
		goto out;
	}
	*seq = (uint64_t)json_integer_value(v);
	sha256_hex(buf, n, prev);
out:
	json_decref(o);
	free(buf);
	return rc;
}

int
audit_journal_last(const char *dir, uint64_t *seq)
{
	char path[PATH_MAX], prev[CHAIN_HEX_LEN + 1];
	int fd, rc;

	if (path_of(path, sizeof(path), dir, "journal.jsonl") < 0)
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		*seq = 0;
		return errno == ENOENT ? 0 : -errno;
	}
	rc = journal_tail(fd, seq, prev, 0);
	close(fd);
	return rc;
}

static int
read_offset(const char *dir, uint64_t *off, int *exists)
{
	char path[PATH_MAX], buf[64];
	ssize_t r;
	int fd;

	*off = 0;
	*exists = 0;
	if (held.offset >= 0 && held.pid == audit_commit_self())
		r = pread(held.offset, buf, sizeof(buf) - 1, 0);
	else if (held.sandboxed && held.pid == audit_commit_self())
		return 0;	/* no offset file when it was held */
	else {
		if (path_of(path, sizeof(path), dir, "offset") < 0)
			return -ENAMETOOLONG;
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			return errno == ENOENT ? 0 : -errno;
		r = read(fd, buf, sizeof(buf) - 1);
		close(fd);
	}
	*exists = 1;
	if (r <= 0)
		return 0;
	buf[r] = '\0';
	*off = strtoull(buf, NULL, 10);
	return 0;
}

/*
 * In place, one fixed-width record (20 digits and a newline, one write in
 * one sector), so that a reader holding the file open (audit_spool_hold)
 * sees every update; created the first time, and then its directory
 * synced.
 */
static int
write_offset(const char *dir, uint64_t off)
{
	return audit_spool_put_number(dir, "offset", off);
}

int
audit_spool_get_number(const char *dir, const char *name, uint64_t *v)
{
	char path[PATH_MAX], buf[64];
	ssize_t r;
	int fd;

	*v = 0;
	if (path_of(path, sizeof(path), dir, name) < 0)
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return errno == ENOENT ? 0 : -errno;
	r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r < 0)
		return -errno;
	buf[r] = '\0';
	*v = strtoull(buf, NULL, 10);
	return 0;
}

int
audit_spool_put_number(const char *dir, const char *name, uint64_t v)
{
	char path[PATH_MAX], buf[32];
	struct stat sb;
	int fd, n, rc = 0, created;

	if (path_of(path, sizeof(path), dir, name) < 0)
		return -ENAMETOOLONG;
	n = snprintf(buf, sizeof(buf), "%020" PRIu64 "\n", v);
	created = lstat(path, &sb) < 0;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0)
		return -errno;
	state_owner_match(fd, dir);
	errno = 0;
	if (pwrite(fd, buf, (size_t)n, 0) != n)
		rc = errno != 0 ? -errno : -EIO;
	if (rc == 0 && fdatasync(fd) < 0)
		rc = -errno;
	close(fd);
	if (rc == 0 && created)
		rc = audit_spool_sync_dir(dir);
	return rc;
}

/*
 * Appends under the lock, then waits for the record to be durable
 * outside it (audit_commit.h: one fdatasync() covers the records of every
 * writer appended before it began), so that writers queue for the disk
 * together instead of one after the other.
 */
int
audit_spool_append(const struct audit_spool_conf *c, json_t *rec,
    int reserve, uint64_t *seq)
{
	char mark[PATH_MAX], prev[CHAIN_HEX_LEN + 1];
	char *line = NULL, *body;
	struct stat sb;
	int lk = -1, jfd, rc, full = 0, w;
	uint64_t last, ticket, dev, ino;
	size_t len, blen;

	/* The record is encoded before the lock is taken; only its number
	 * and chain value, known under the lock, are put around it:
	 * {"seq":N,<rec's members>,"prev":"..."}. */
	if (json_object_get(rec, "seq") != NULL ||
	    json_object_get(rec, "prev") != NULL)
		return -EINVAL;
	if ((body = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
	    NULL)
		return -ENOMEM;
	blen = strlen(body);
	if (blen < 2 || body[0] != '{' || body[blen - 1] != '}' ||
	    (line = malloc(blen + 128)) == NULL) {
		free(body);
		return -ENOMEM;
	}
	if ((rc = held_current(c->dir)) < 0)
		goto out;
	jfd = held.journal;
	dev = held.dev;
	ino = held.ino;
	if ((lk = lock_dir(c->dir)) < 0) {
		rc = lk;
		lk = -1;
		goto out;
	}
	if (fstat(jfd, &sb) < 0) {
		rc = -errno;
		goto out;
	}
	/* The last writer left the tail it wrote: no need to read it back
	 * while the journal is the size it left it at. */
	if (!audit_commit_tail_get(dev, ino, (uint64_t)sb.st_size, &last,
	    prev) && ((rc = journal_tail(jfd, &last, prev, 1)) < 0 ||
	    (rc = fstat(jfd, &sb) < 0 ? -errno : 0) < 0))
		goto out;
	w = snprintf(line, blen + 128, "{\"seq\":%" PRIu64 "%s%.*s,\"prev\":"
	    "\"%s\"}", last + 1, blen > 2 ? "," : "", (int)(blen - 2),
	    body + 1, prev);
	if (w < 0 || (size_t)w >= blen + 128) {
		rc = -ENOMEM;
		goto out;
	}
	len = (size_t)w;
	if (len + 1 > AUDIT_FMT_LINE_MAX) {
		rc = -E2BIG;
		goto out;
	}
	line[len] = '\n';	/* snprintf's NUL: no longer needed */
	if (c->mode != AUDIT_SPOOL_NONE) {
		long long limit = c->max + (reserve ? c->max / 10 : 0);
		uint64_t off, depth;
		int exists;

		if ((rc = read_offset(c->dir, &off, &exists)) < 0)
			goto out;
		depth = (uint64_t)sb.st_size - (off <= (uint64_t)sb.st_size ?
		    off : 0);
		/* STATE/audit/full tells "audit status" (and people). */
		if (path_of(mark, sizeof(mark), c->dir, "full") < 0) {
			rc = -ENAMETOOLONG;
			goto out;
		}
		if ((long long)(depth + len + 1) > limit) {
			int mfd = held.sandboxed ? -1 : open(mark, O_WRONLY |
			    O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

			if (mfd >= 0)
				close(mfd);
			full = 1;
			if (c->mode == AUDIT_SPOOL_REFUSE) {
				rc = -ENOSPC;
				goto out;
			}
		} else if (!held.sandboxed)
			unlink(mark);
	}
	if ((rc = write_all(jfd, line, len + 1)) < 0)
		goto out;
	/* Taken once the write() returned: a sync that reads the counter
	 * after this covers these bytes. */
	ticket = audit_commit_ticket();
	sha256_hex(line, len + 1, prev);
	audit_commit_tail_set(dev, ino, (uint64_t)sb.st_size + len + 1,
	    last + 1, prev);
	unlock_dir(lk);
	lk = -1;
	/* An event counts as written only once it is on disk. */
	if ((rc = audit_commit_wait(jfd, dev, ino, ticket)) < 0)
		goto out;
	*seq = last + 1;
	rc = full;
out:
	if (lk >= 0)
		unlock_dir(lk);
	free(line);
	free(body);
	return rc;
}

int
audit_spool_position(const char *dir, uint64_t *off)
{
	int exists;

	return read_offset(dir, off, &exists);
}

int
audit_spool_read(const char *dir, uint64_t off, char *buf, size_t len,
    size_t *n)
{
	char path[PATH_MAX];
	struct stat sb;
	size_t end;
	ssize_t r;
	int fd;

	*n = 0;
	if (path_of(path, sizeof(path), dir, "journal.jsonl") < 0)
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Shorter than what was delivered: the journal was replaced. */
	if (fstat(fd, &sb) == 0 && (uint64_t)sb.st_size < off) {
		close(fd);
		return -ERANGE;
	}
	r = pread(fd, buf, len, (off_t)off);
	close(fd);
	if (r < 0)
		return -errno;
	end = (size_t)r;
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	/* A line longer than the buffer cannot be a record: hand it over
	 * whole so that the caller reports it and moves on. */
	*n = (end == 0 && (size_t)r == len) ? len : end;
	return 0;
}

int
audit_spool_commit(const char *dir, uint64_t off)
{
	return write_offset(dir, off);
}

int
audit_spool_depth(const char *dir, uint64_t *bytes, uint64_t *lines)
{
	uint64_t off;
	char *buf;
	size_t n, i;
	int rc, exists;

	*bytes = *lines = 0;
	if ((rc = read_offset(dir, &off, &exists)) < 0)
		return rc;
	if ((buf = malloc(1 << 16)) == NULL)
		return -ENOMEM;
	while ((rc = audit_spool_read(dir, off, buf, 1 << 16, &n)) == 0 &&
	    n > 0) {
		for (i = 0; i < n; i++)
			if (buf[i] == '\n')
				(*lines)++;
		*bytes += n;
		off += n;
	}
	free(buf);
	return rc;
}
