/*
 * audit_commit.h - group commit for the audit journal (audit_spool.h):
 * one fdatasync() makes durable the events that every writer (the forked
 * per-connection children, SSH and API, and the CLI) appended before it
 * began, instead of one fdatasync() per event.
 *
 * STATE/audit/commit is a small file that every writer maps MAP_SHARED
 * (opened before a sandbox forbids opening files).  It holds:
 *
 *   appends  a counter; a writer takes the next value (its ticket) right
 *            after its write() to the journal returned, still under the
 *            append lock (STATE/audit/lock)
 *   synced   the highest ticket known durable, and the journal file
 *            (device, inode) it is about; written by the leader only,
 *            under a seqlock, so that a reader never takes half of one
 *            update with half of another
 *   bad      tickets whose fdatasync() failed: (from, to]
 *   tail     the journal's last sequence number and chain value, and the
 *            size and file they are about (a cache: the append lock)
 *
 * Waiting for a ticket t: if synced covers t in the same journal file, t
 * is durable and the caller returns without a system call.  Else it takes
 * the leader lock (flock() on the commit file, a lock of its own: appends
 * never wait for a sync), looks again, and if t is still not covered it
 * reads the counter (every append up to it had completed its write()),
 * calls fdatasync() on the journal, and publishes that value.  The rule
 * that makes it safe: the counter is read BEFORE the fdatasync() starts,
 * so nothing is ever said to be durable that was written after the sync
 * began; and a caller returns only when its own ticket is covered.  A
 * failed fdatasync() is an error for the leader and for every ticket it
 * covered (Linux reports a write-back error once: the others must not
 * take a later successful sync for theirs).
 *
 * The commit file is never needed for the journal to be right: nothing in
 * it survives as a claim about the disk (a crash loses page cache and
 * processes alike), and a writer that cannot map it syncs on its own as
 * before.
 */
#ifndef HVB_AUDIT_COMMIT_H
#define HVB_AUDIT_COMMIT_H

#include <sys/types.h>

#include <stdint.h>

#define AUDIT_COMMIT_FILE	"commit"

/*
 * Maps STATE/audit/commit for this process (dir: STATE/audit) and opens
 * its own descriptor for the leader lock (a descriptor inherited over
 * fork() is not used: flock() locks belong to the open file).  0, or
 * -errno: the caller then syncs every append itself.
 */
int	audit_commit_open(const char *dir);
/* 1 if audit_commit_open() succeeded in this process. */
int	audit_commit_ready(void);

/* The next ticket; called right after a complete append, under the
 * append lock.  0 when the commit file is not mapped. */
uint64_t audit_commit_ticket(void);

/*
 * Returns once ticket t, appended to the journal open as jfd (its device
 * and inode: dev, ino), is durable: 0, or -errno when the fdatasync() that
 * covered it failed.  Without a ticket (0), fdatasync(jfd) itself.
 */
int	audit_commit_wait(int jfd, uint64_t dev, uint64_t ino, uint64_t t);

/* The cached tail of the journal: 1 and *seq / prev (65 bytes) when it
 * is about this file at this size, else 0.  Under the append lock. */
int	audit_commit_tail_get(uint64_t dev, uint64_t ino, uint64_t size,
	    uint64_t *seq, char prev[65]);
void	audit_commit_tail_set(uint64_t dev, uint64_t ino, uint64_t size,
	    uint64_t seq, const char prev[65]);

/* This process's id without a system call per use (the audit path asks
 * it several times an event): cached, forgotten in a fork()ed child. */
pid_t	audit_commit_self(void);

/* Counters for tests and benchmarks: tickets given, fdatasync() calls. */
int	audit_commit_stats(uint64_t *appends, uint64_t *syncs);

#endif
