/*
 * totp_store.c - per-user TOTP state for pam_hvbastion.so and
 * "hvbastion totp enroll".
 *
 * Layout.  One directory (default /var/lib/hvbastion/totp) owned by the
 * user that verifies codes (the daemon's user) or root, mode 0700, holds
 * per person:
 *
 *	NAME		the state file, mode 0600, owned by that user
 *	.NAME.lock	an empty file that flock(2) serialises verify and enroll
 *	.NAME.new	a state file being written, renamed over NAME when done
 *
 * NAME is a person name, [A-Za-z0-9][A-Za-z0-9._-]{0,63}, so it never
 * starts with a dot and cannot collide with the lock or the temporary file,
 * nor name anything outside the directory.
 *
 * The state file is three lines of ASCII text, at most STATE_MAX bytes:
 *
 *	hvbastion-totp 1
 *	secret BASE32
 *	last T
 *
 * BASE32 is the secret (RFC 4648, upper case, no padding; 32 characters
 * for the 20 random bytes we generate).  T is the Unix time at which the
 * time step of the last accepted code began (counter * step), or -1 when no
 * code has been accepted since enrolment.  Keeping a time rather than a
 * counter keeps the replay rule monotonic if a site ever changes step=.
 *
 * Every change writes .NAME.new, fsyncs it, renames it over NAME and fsyncs
 * the directory, under the lock, so that a crash leaves either the old or
 * the new state and two parallel logins with one code see one another.
 *
 * Why so careful with the files: pam_oath followed a symlink in a
 * user-writable directory (CVE-2024-47191).  Here the directory is checked
 * before use (and then used through the checked descriptor with openat),
 * every open uses O_NOFOLLOW, and a state or lock file that is not a
 * regular file with one link, owned by the euid or root, closed to group
 * and others, is refused without being read.
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <liboath/oath.h>

#include "totp_store.h"

#define USER_MAX	64		/* person names, as bastion/names.h */
#define STATE_MAX	512		/* the state file, hard limit */
#define B32_MAX		64		/* what the callers' buffers hold */
#define STATE_MAGIC	"hvbastion-totp 1"
#define WINDOW_MAX	10		/* steps either side; more is not TOTP */
#define STEP_MAX	3600

static pthread_once_t oath_once = PTHREAD_ONCE_INIT;
static int oath_init_rc = OATH_OK;

static void
oath_init_once(void)
{
	oath_init_rc = oath_init();
}

/* liboath wants oath_init() once per process before anything else. */
static int
oath_ready(void)
{
	if (pthread_once(&oath_once, oath_init_once) != 0)
		return -1;
	return oath_init_rc == OATH_OK ? 0 : -1;
}

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int
totp_store_valid_user(const char *user)
{
	size_t i;

	if (user == NULL || user[0] == '\0')
		return 0;
	for (i = 0; user[i] != '\0'; i++) {
		unsigned char c = (unsigned char)user[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9');

		if (i >= USER_MAX)
			return 0;
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
			return 0;
	}
	return 1;
}

/* Owners we trust for the directory and the files in it. */
static int
trusted_owner(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

/*
 * The ancestors of dir only need to stop others from swapping a component:
 * owned by root or the euid, and not writable by group or others unless
 * sticky (/tmp), as OpenSSH's secure path check but allowing sticky dirs.
 */
static int
check_ancestors(const char *dir, char *err, size_t errlen)
{
	char path[PATH_MAX];
	struct stat st;
	size_t i, n = strlen(dir);

	if (n >= sizeof(path)) {
		seterr(err, errlen, "%s: path too long", dir);
		return TOTP_ERROR;
	}
	memcpy(path, dir, n + 1);
	if (stat("/", &st) != 0 || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		seterr(err, errlen, "/: not owned by root or writable by "
		    "group or others");
		return TOTP_UNSAFE;
	}
	for (i = 1; i <= n; i++) {
		char saved;

		if (path[i] != '/' && path[i] != '\0')
			continue;
		if (i == n)
			break;			/* dir itself: checked by caller */
		saved = path[i];
		path[i] = '\0';
		if (stat(path, &st) != 0) {
			int e = errno;

			seterr(err, errlen, "%s: %s", path, strerror(e));
			errno = e;
			return TOTP_ERROR;
		}
		if (!trusted_owner(st.st_uid)) {
			seterr(err, errlen, "%s: owned by uid %u, not root or "
			    "uid %u", path, (unsigned)st.st_uid,
			    (unsigned)geteuid());
			return TOTP_UNSAFE;
		}
		if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0 &&
		    (st.st_mode & S_ISVTX) == 0) {
			seterr(err, errlen, "%s: writable by group or others "
			    "(mode %04o)", path, (unsigned)(st.st_mode & 07777));
			return TOTP_UNSAFE;
		}
		path[i] = saved;
	}
	return TOTP_OK;
}

/*
 * Opens dir and checks it through the descriptor that the caller will then
 * use with openat(), so that the directory checked is the one written.
 */
static int
open_dir(const char *dir, int *dfdp, char *err, size_t errlen)
{
	struct stat st;
	int dfd, rc, e;

	*dfdp = -1;
	if (dir == NULL || dir[0] != '/') {
		seterr(err, errlen, "%s: not an absolute path",
		    dir == NULL ? "(null)" : dir);
		errno = EINVAL;
		return TOTP_ERROR;
	}
	if ((rc = check_ancestors(dir, err, errlen)) != TOTP_OK)
		return rc;
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd < 0) {
		e = errno;
		if (e == ELOOP || e == ENOTDIR) {
			struct stat lst;

			if (lstat(dir, &lst) == 0 && S_ISLNK(lst.st_mode)) {
				seterr(err, errlen, "%s: is a symbolic link",
				    dir);
				return TOTP_UNSAFE;
			}
		}
		seterr(err, errlen, "%s: %s", dir, strerror(e));
		errno = e;
		return TOTP_ERROR;
	}
	if (fstat(dfd, &st) != 0) {
		e = errno;
		seterr(err, errlen, "%s: %s", dir, strerror(e));
		close(dfd);
		errno = e;
		return TOTP_ERROR;
	}
	if (!trusted_owner(st.st_uid)) {
		seterr(err, errlen, "%s: owned by uid %u, not root or uid %u",
		    dir, (unsigned)st.st_uid, (unsigned)geteuid());
		close(dfd);
		return TOTP_UNSAFE;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		seterr(err, errlen, "%s: writable by group or others "
		    "(mode %04o)", dir, (unsigned)(st.st_mode & 07777));
		close(dfd);
		return TOTP_UNSAFE;
	}
	*dfdp = dfd;
	return TOTP_OK;
}

int
totp_store_check_dir(const char *dir, char *err, size_t errlen)
{
	int dfd, rc;

	seterr(err, errlen, "ok");
	if ((rc = open_dir(dir, &dfd, err, errlen)) == TOTP_OK)
		close(dfd);
	return rc;
}

/* A file we are about to trust: what pam_oath forgot to ask. */
static int
check_file(int fd)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return TOTP_ERROR;
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    !trusted_owner(st.st_uid) ||
	    (st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
		return TOTP_UNSAFE;
	return TOTP_OK;
}

/*
 * Takes the per-user lock.  A separate lock file, because the state file
 * itself is replaced by rename() and a lock on the old inode would not
 * exclude a process that opened the new one.
 */
static int
lock_user(int dfd, const char *user, int *lfdp)
{
	char name[USER_MAX + 16];
	int lfd, rc, e;

	*lfdp = -1;
	snprintf(name, sizeof(name), ".%s.lock", user);
	lfd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC, 0600);
	if (lfd < 0)
		return errno == ELOOP ? TOTP_UNSAFE : TOTP_ERROR;
	if ((rc = check_file(lfd)) != TOTP_OK) {
		e = errno;
		close(lfd);
		errno = e;
		return rc;
	}
	while (flock(lfd, LOCK_EX) != 0) {
		if (errno != EINTR) {
			e = errno;
			close(lfd);
			errno = e;
			return TOTP_ERROR;
		}
	}
	*lfdp = lfd;
	return TOTP_OK;
}

/* Closing the descriptor drops the flock. */
static void
unlock_user(int lfd)
{
	int e = errno;

	if (lfd >= 0)
		close(lfd);
	errno = e;
}

struct totp_state {
	char	b32[B32_MAX];
	int64_t	last;		/* start of the last accepted step, or -1 */
};

static int
read_all(int fd, char *buf, size_t len, size_t *got)
{
	size_t off = 0;

	for (;;) {
		ssize_t r;

		if (off == len)
			return -1;	/* larger than any valid state */
		r = read(fd, buf + off, len - off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		off += (size_t)r;
	}
	*got = off;
	return 0;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

/* Strict: exactly the three lines, in order; nothing is guessed. */
static int
parse_state(char *buf, size_t len, struct totp_state *s)
{
	char *line, *next, *end;
	size_t i, n;
	long long v;

	if (len == 0 || buf[len - 1] != '\n' || memchr(buf, '\0', len) != NULL)
		return -1;
	buf[len - 1] = '\0';

	line = buf;
	if ((next = strchr(line, '\n')) == NULL)
		return -1;
	*next++ = '\0';
	if (strcmp(line, STATE_MAGIC) != 0)
		return -1;

	line = next;
	if ((next = strchr(line, '\n')) == NULL)
		return -1;
	*next++ = '\0';
	if (strncmp(line, "secret ", 7) != 0)
		return -1;
	line += 7;
	n = strlen(line);
	if (n == 0 || n >= sizeof(s->b32))
		return -1;
	for (i = 0; i < n; i++)
		if (!((line[i] >= 'A' && line[i] <= 'Z') ||
		    (line[i] >= '2' && line[i] <= '7')))
			return -1;
	memcpy(s->b32, line, n + 1);

	line = next;
	if (strchr(line, '\n') != NULL || strncmp(line, "last ", 5) != 0)
		return -1;
	line += 5;
	if (line[0] == '\0' || line[0] == '+' || line[0] == ' ')
		return -1;
	errno = 0;
	v = strtoll(line, &end, 10);
	if (errno != 0 || *end != '\0' || v < -1)
		return -1;
	s->last = (int64_t)v;
	return 0;
}

/* TOTP_OK with *s filled, or an error; the buffer is wiped either way. */
static int
read_state(int dfd, const char *user, struct totp_state *s)
{
	char buf[STATE_MAX];
	size_t len = 0;
	int fd, rc, e;

	fd = openat(dfd, user, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return TOTP_NO_SECRET;
		/* O_NOFOLLOW on a symlink: refused, nothing followed. */
		return errno == ELOOP ? TOTP_UNSAFE : TOTP_ERROR;
	}
	if ((rc = check_file(fd)) != TOTP_OK) {
		e = errno;
		close(fd);
		errno = e;
		return rc;
	}
	rc = TOTP_ERROR;
	errno = 0;
	if (read_all(fd, buf, sizeof(buf), &len) != 0) {
		if (errno == 0)
			errno = EFBIG;
		goto out;
	}
	if (parse_state(buf, len, s) != 0) {
		errno = EBADMSG;
		goto out;
	}
	rc = TOTP_OK;
out:
	e = errno;
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	errno = e;
	return rc;
}

/* Replaces user's state atomically (see the top of the file). */
static int
write_state(int dfd, const char *user, const struct totp_state *s)
{
	char tmp[USER_MAX + 16], buf[STATE_MAX];
	int fd = -1, rc = TOTP_ERROR, e, n;

	snprintf(tmp, sizeof(tmp), ".%s.new", user);
	n = snprintf(buf, sizeof(buf), STATE_MAGIC "\nsecret %s\nlast %" PRId64
	    "\n", s->b32, s->last);
	if (n < 0 || (size_t)n >= sizeof(buf)) {
		errno = EOVERFLOW;
		goto out;
	}
	/* A leftover from a crash; we hold the lock, so it is not live. */
	if (unlinkat(dfd, tmp, 0) != 0 && errno != ENOENT)
		goto out;
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd < 0)
		goto out;
	/* The umask cannot widen 0600, but be explicit about the result. */
	if (fchmod(fd, 0600) != 0 || write_all(fd, buf, (size_t)n) != 0 ||
	    fsync(fd) != 0)
		goto out;
	if (close(fd) != 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (renameat(dfd, tmp, dfd, user) != 0)
		goto out;
	/* The rename is durable only once the directory is synced. */
	if (fsync(dfd) != 0)
		goto out;
	rc = TOTP_OK;
out:
	e = errno;
	explicit_bzero(buf, sizeof(buf));
	if (fd >= 0)
		close(fd);
	if (rc != TOTP_OK)
		unlinkat(dfd, tmp, 0);
	errno = e;
	return rc;
}

/* oath_base32_encode allocates; copy out without padding and wipe. */
static int
encode_secret(const unsigned char *raw, size_t rawlen, char *b32,
    size_t b32len)
{
	char *out = NULL;
	size_t outlen = 0, n;

	if (oath_base32_encode((const char *)raw, rawlen, &out, &outlen) !=
	    OATH_OK || out == NULL)
		return -1;
	for (n = 0; n < outlen && out[n] != '='; n++)
		;
	if (n + 1 > b32len) {
		explicit_bzero(out, outlen);
		free(out);
		return -1;
	}
	memcpy(b32, out, n);
	b32[n] = '\0';
	explicit_bzero(out, outlen);
	free(out);
	return 0;
}

/*
 * Every operation on a person's state: liboath ready, the directory
 * checked and opened, the person's lock taken, in that order.  On error
 * whatever was opened is left in *dfd / *lfd for close_user().
 */
static int
open_user(const char *dir, const char *user, int *dfd, int *lfd)
{
	int rc;

	if (oath_ready() != 0) {
		errno = ENOSYS;
		return TOTP_ERROR;
	}
	if ((rc = open_dir(dir, dfd, NULL, 0)) != TOTP_OK)
		return rc;
	return lock_user(*dfd, user, lfd);
}

static void
close_user(int dfd, int lfd)
{
	unlock_user(lfd);
	if (dfd >= 0)
		close(dfd);
}

int
totp_store_enroll(const char *dir, const char *user, char *b32, size_t b32len)
{
	unsigned char raw[TOTP_SECRET_BYTES];
	struct totp_state s;
	size_t got = 0;
	int dfd = -1, lfd = -1, rc, e;

	memset(&s, 0, sizeof(s));
	if (b32 != NULL && b32len > 0)
		b32[0] = '\0';
	if (!totp_store_valid_user(user) || b32 == NULL || b32len < B32_MAX) {
		errno = EINVAL;
		return TOTP_ERROR;
	}
	if ((rc = open_user(dir, user, &dfd, &lfd)) != TOTP_OK)
		goto out;
	rc = TOTP_ERROR;
	while (got < sizeof(raw)) {
		ssize_t r = getrandom(raw + got, sizeof(raw) - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto out;
		got += (size_t)r;
	}
	if (encode_secret(raw, sizeof(raw), s.b32, sizeof(s.b32)) != 0) {
		errno = EOVERFLOW;
		goto out;
	}
	s.last = -1;
	if ((rc = write_state(dfd, user, &s)) != TOTP_OK)
		goto out;
	memcpy(b32, s.b32, strlen(s.b32) + 1);
	rc = TOTP_OK;
out:
	e = errno;
	explicit_bzero(raw, sizeof(raw));
	explicit_bzero(&s, sizeof(s));
	close_user(dfd, lfd);
	errno = e;
	return rc;
}

/* Compares without an early exit, so timing says nothing about the code. */
static int
codes_equal(const char *a, const char *b, size_t n)
{
	unsigned char d = 0;
	size_t i;

	for (i = 0; i < n; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return d == 0;
}

static int
params_valid(const struct totp_params *p)
{
	return p != NULL && p->digits >= 6 && p->digits <= 8 &&
	    p->step >= 1 && p->step <= STEP_MAX &&
	    p->window >= 0 && p->window <= WINDOW_MAX;
}

/*
 * Tries every step in the window (no early exit) and returns the start
 * time of the step accepted, or why none was.  A code that matches only
 * steps at or before s->last is a replay.
 */
static int
match_code(const struct totp_state *s, const char *code,
    const struct totp_params *p, time_t now, int64_t *accepted)
{
	char *raw = NULL, otp[16];
	size_t rawlen = 0;
	int64_t base = (int64_t)now / p->step, c, t;
	int d, matched = 0, fresh = 0, rc = TOTP_ERROR;

	if (oath_base32_decode(s->b32, strlen(s->b32), &raw, &rawlen) !=
	    OATH_OK || raw == NULL || rawlen == 0) {
		errno = EBADMSG;
		goto out;
	}
	for (d = -p->window; d <= p->window; d++) {
		c = base + d;
		if (c < 0)
			continue;
		t = c * (int64_t)p->step;
		if (oath_totp_generate(raw, rawlen, (time_t)t, p->step, 0,
		    p->digits, otp) != OATH_OK) {
			errno = EINVAL;
			goto out;
		}
		if (codes_equal(otp, code, p->digits)) {
			matched = 1;
			/* The earliest fresh step: burns no more than needed. */
			if (t > s->last && !fresh) {
				fresh = 1;
				*accepted = t;
			}
		}
	}
	rc = fresh ? TOTP_OK : matched ? TOTP_REPLAY : TOTP_BAD_CODE;
out:
	explicit_bzero(otp, sizeof(otp));
	if (raw != NULL) {
		explicit_bzero(raw, rawlen);
		free(raw);
	}
	return rc;
}

int
totp_store_verify(const char *dir, const char *user, const char *code,
    time_t now, const struct totp_params *p)
{
	struct totp_state s;
	int64_t accepted = -1;
	size_t i, n;
	int dfd = -1, lfd = -1, rc, e;

	memset(&s, 0, sizeof(s));
	if (!totp_store_valid_user(user) || code == NULL || !params_valid(p) ||
	    now < 0) {
		errno = EINVAL;
		return TOTP_ERROR;
	}
	if ((rc = open_user(dir, user, &dfd, &lfd)) != TOTP_OK)
		goto out;
	if ((rc = read_state(dfd, user, &s)) != TOTP_OK)
		goto out;
	/* Checked after the state so that the log names the real cause. */
	n = strnlen(code, 16);
	rc = TOTP_BAD_CODE;
	if (n != p->digits)
		goto out;
	for (i = 0; i < n; i++)
		if (code[i] < '0' || code[i] > '9')
			goto out;
	if ((rc = match_code(&s, code, p, now, &accepted)) != TOTP_OK)
		goto out;
	/* Recorded before we answer OK: a crash cannot allow a replay. */
	s.last = accepted;
	rc = write_state(dfd, user, &s);
out:
	e = errno;
	explicit_bzero(&s, sizeof(s));
	close_user(dfd, lfd);
	errno = e;
	return rc;
}

const char *
totp_store_strerror(int rc)
{
	switch (rc) {
	case TOTP_OK:
		return "code accepted";
	case TOTP_BAD_CODE:
		return "wrong code";
	case TOTP_REPLAY:
		return "code already used (replay)";
	case TOTP_NO_SECRET:
		return "no TOTP secret enrolled";
	case TOTP_UNSAFE:
		return "unsafe TOTP state file or directory";
	case TOTP_ERROR:
		return "TOTP state error";
	default:
		return "unknown TOTP result";
	}
}
