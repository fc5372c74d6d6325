/*
 * audit_commit.c - group commit for the audit journal (audit_commit.h).
 *
 * The shared page is plain memory in a file mapping: the counter is
 * changed with atomic operations, the leader's record with a seqlock (an
 * odd version while it is being written), the tail cache only under the
 * append lock.  A reader that catches the record mid-write does not spin:
 * it takes the leader lock and reads it there, where it cannot change.
 *
 * Followers do not queue on the leader lock (each would take it in turn,
 * one context switch after the other, only to find itself covered): they
 * sleep on a futex in the page, "unlocks", which the leader bumps and
 * wakes once it has published and let go of the lock; all of them then
 * look at the record at once.  A waiter reads "unlocks" before it tries
 * the lock, so an unlock in between is never missed (the futex returns at
 * once); the sleep is bounded, so a leader killed between its unlock and
 * its wake-up costs a few milliseconds, not a hang.
 */
#include <sys/file.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "audit_commit.h"
#include "state_owner.h"

#define COMMIT_SIZE	4096
#define FOLLOWER_SLEEP_NS 20000000L	/* at most, before looking again */

struct commit_page {
	uint64_t	appends;	/* tickets given */
	uint32_t	version;	/* seqlock: odd while written */
	uint32_t	unlocks;	/* futex: +1 at each leader unlock */
	/* the leader's record (seqlock) */
	uint64_t	dev, ino;	/* the journal file synced is about */
	uint64_t	synced;		/* tickets durable in it */
	uint64_t	bad_from;	/* tickets in (bad_from, bad_to]: */
	uint64_t	bad_to;		/* their fdatasync() failed */
	uint64_t	syncs;		/* fdatasync() calls by leaders */
	/* the tail cache (append lock) */
	uint64_t	tail_dev, tail_ino, tail_size, tail_seq;
	char		tail_prev[72];
};

_Static_assert(sizeof(struct commit_page) <= COMMIT_SIZE,
    "the commit page fits its file");

static struct {
	pid_t			 pid;
	int			 fd;
	struct commit_page	*p;
	char			 dir[PATH_MAX];
} cm = { 0, -1, NULL, "" };

static pid_t	self_pid;

static void
self_forget(void)
{
	self_pid = 0;
}

pid_t
audit_commit_self(void)
{
	static int registered;

	if (self_pid == 0) {
		if (!registered && pthread_atfork(NULL, NULL,
		    self_forget) == 0)
			registered = 1;
		/* Without the handler, no cache: a child would see its
		 * parent's id. */
		if (!registered)
			return getpid();
		self_pid = getpid();
	}
	return self_pid;
}

static void
commit_close(void)
{
	if (cm.p != NULL)
		munmap(cm.p, COMMIT_SIZE);
	if (cm.fd >= 0)
		close(cm.fd);
	cm.p = NULL;
	cm.fd = -1;
	cm.pid = 0;
	cm.dir[0] = '\0';
}

int
audit_commit_open(const char *dir)
{
	char path[PATH_MAX];
	struct stat sb;
	void *m;
	int fd, n, rc;

	if (cm.p != NULL && cm.pid == audit_commit_self() &&
	    strcmp(cm.dir, dir) == 0)
		return 0;
	/* Inherited over fork(): the mapping would do, the descriptor not
	 * (its flock() would be the parent's lock too). */
	commit_close();
	n = snprintf(path, sizeof(path), "%s/%s", dir, AUDIT_COMMIT_FILE);
	if (n < 0 || (size_t)n >= sizeof(path))
		return -ENAMETOOLONG;
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0)
		return -errno;
	state_owner_match(fd, dir);
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode)) {
		rc = S_ISREG(sb.st_mode) ? -errno : -EINVAL;
		close(fd);
		return rc;
	}
	/* All zeroes is the empty state; growing to the same size twice
	 * (two first writers at once) changes nothing. */
	if (sb.st_size < COMMIT_SIZE && ftruncate(fd, COMMIT_SIZE) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	m = mmap(NULL, COMMIT_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0);
	if (m == MAP_FAILED) {
		rc = -errno;
		close(fd);
		return rc;
	}
	cm.p = m;
	cm.fd = fd;
	cm.pid = audit_commit_self();
	snprintf(cm.dir, sizeof(cm.dir), "%s", dir);
	return 0;
}

int
audit_commit_ready(void)
{
	return cm.p != NULL && cm.pid == audit_commit_self();
}

uint64_t
audit_commit_ticket(void)
{
	if (!audit_commit_ready())
		return 0;
	return __atomic_add_fetch(&cm.p->appends, 1, __ATOMIC_SEQ_CST);
}

/* 1: t is durable in (dev, ino); -EIO: its sync failed; 0: not known. */
static int
judge(uint64_t dev, uint64_t ino, uint64_t t, uint64_t rdev, uint64_t rino,
    uint64_t synced, uint64_t bad_from, uint64_t bad_to)
{
	if (bad_to != 0 && t > bad_from && t <= bad_to)
		return -EIO;
	if (rdev == dev && rino == ino && synced >= t)
		return 1;
	return 0;
}

/* Without the leader lock: the seqlock read, 0 when it is being written. */
static int
covered_unlocked(uint64_t dev, uint64_t ino, uint64_t t)
{
	struct commit_page *p = cm.p;
	uint64_t rdev, rino, synced, bad_from, bad_to;
	uint32_t v;

	v = __atomic_load_n(&p->version, __ATOMIC_ACQUIRE);
	if (v & 1)
		return 0;
	rdev = __atomic_load_n(&p->dev, __ATOMIC_RELAXED);
	rino = __atomic_load_n(&p->ino, __ATOMIC_RELAXED);
	synced = __atomic_load_n(&p->synced, __ATOMIC_RELAXED);
	bad_from = __atomic_load_n(&p->bad_from, __ATOMIC_RELAXED);
	bad_to = __atomic_load_n(&p->bad_to, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	if (__atomic_load_n(&p->version, __ATOMIC_RELAXED) != v)
		return 0;
	return judge(dev, ino, t, rdev, rino, synced, bad_from, bad_to);
}

static void
write_begin(struct commit_page *p)
{
	__atomic_store_n(&p->version, p->version + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
}

static void
write_end(struct commit_page *p)
{
	__atomic_store_n(&p->version, p->version + 1, __ATOMIC_RELEASE);
}

static void
set64(uint64_t *f, uint64_t v)
{
	__atomic_store_n(f, v, __ATOMIC_RELAXED);
}

/* Under the leader lock: publishes the outcome of one fdatasync(). */
static void
publish(struct commit_page *p, uint64_t dev, uint64_t ino, uint64_t upto,
    int failed)
{
	write_begin(p);
	set64(&p->syncs, p->syncs + 1);
	if (!failed) {
		if (p->dev != dev || p->ino != ino) {
			set64(&p->dev, dev);
			set64(&p->ino, ino);
			set64(&p->synced, upto);
		} else if (upto > p->synced)
			set64(&p->synced, upto);
	} else {
		/* Every ticket this sync was to cover and no earlier one
		 * did (in this file; for another file, all of them). */
		uint64_t from = p->dev == dev && p->ino == ino ? p->synced : 0;

		if (p->bad_to == 0 || from < p->bad_from)
			set64(&p->bad_from, from);
		if (upto > p->bad_to)
			set64(&p->bad_to, upto);
	}
	write_end(p);
}

/* Sleeps while *word is still seen, at most FOLLOWER_SLEEP_NS.  A shared
 * (not private) futex: the page is mapped by other processes. */
static void
follower_sleep(uint32_t *word, uint32_t seen)
{
	struct timespec ts = { 0, FOLLOWER_SLEEP_NS };

	(void)syscall(SYS_futex, word, FUTEX_WAIT, seen, &ts, NULL, 0);
}

static void
followers_wake(uint32_t *word)
{
	__atomic_add_fetch(word, 1, __ATOMIC_SEQ_CST);
	(void)syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

/* Holding the leader lock: is t covered now, else sync for everyone. */
static int
lead(int jfd, uint64_t dev, uint64_t ino, uint64_t t)
{
	struct commit_page *p = cm.p;
	uint64_t upto;
	int rc, e;

	if (p->version & 1) {
		/* A leader died while writing its record: forget it (every
		 * waiter then syncs for itself). */
		write_begin(p);
		set64(&p->dev, 0);
		set64(&p->ino, 0);
		set64(&p->synced, 0);
		write_end(p);
	}
	rc = judge(dev, ino, t, p->dev, p->ino, p->synced, p->bad_from,
	    p->bad_to);
	if (rc != 0)
		return rc;
	/* Every ticket up to here belongs to a write() that has returned:
	 * this fdatasync() covers them all. */
	upto = __atomic_load_n(&p->appends, __ATOMIC_SEQ_CST);
	e = fdatasync(jfd) < 0 ? errno : 0;
	publish(p, dev, ino, upto, e != 0);
	return e != 0 ? -e : 1;
}

int
audit_commit_wait(int jfd, uint64_t dev, uint64_t ino, uint64_t t)
{
	struct commit_page *p = cm.p;
	uint32_t seen;
	int rc;

	if (t == 0 || !audit_commit_ready())
		return fdatasync(jfd) < 0 ? -errno : 0;
	for (;;) {
		seen = __atomic_load_n(&p->unlocks, __ATOMIC_SEQ_CST);
		/* Covered by a sync that began after this append? */
		if ((rc = covered_unlocked(dev, ino, t)) != 0)
			return rc > 0 ? 0 : rc;
		if (flock(cm.fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return fdatasync(jfd) < 0 ? -errno : 0;
		/* A leader is at work: wait for its unlock. */
		follower_sleep(&p->unlocks, seen);
	}
	rc = lead(jfd, dev, ino, t);
	flock(cm.fd, LOCK_UN);
	followers_wake(&p->unlocks);
	return rc > 0 ? 0 : rc;
}

int
audit_commit_tail_get(uint64_t dev, uint64_t ino, uint64_t size,
    uint64_t *seq, char prev[65])
{
	struct commit_page *p = cm.p;

	if (!audit_commit_ready() || p->tail_seq == 0 || p->tail_dev != dev ||
	    p->tail_ino != ino || p->tail_size != size ||
	    strnlen(p->tail_prev, sizeof(p->tail_prev)) != 64)
		return 0;
	*seq = p->tail_seq;
	memcpy(prev, p->tail_prev, 65);
	return 1;
}

void
audit_commit_tail_set(uint64_t dev, uint64_t ino, uint64_t size,
    uint64_t seq, const char prev[65])
{
	struct commit_page *p = cm.p;

	if (!audit_commit_ready())
		return;
	/* Invalid while it changes: a writer killed half-way leaves no
	 * tail that looks right. */
	p->tail_seq = 0;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	p->tail_dev = dev;
	p->tail_ino = ino;
	p->tail_size = size;
	memset(p->tail_prev, 0, sizeof(p->tail_prev));
	memcpy(p->tail_prev, prev, 64);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	p->tail_seq = seq;
}

int
audit_commit_stats(uint64_t *appends, uint64_t *syncs)
{
	if (!audit_commit_ready())
		return -ENOENT;
	*appends = __atomic_load_n(&cm.p->appends, __ATOMIC_SEQ_CST);
	*syncs = __atomic_load_n(&cm.p->syncs, __ATOMIC_SEQ_CST);
	return 0;
}
