/*
 * audit_spool.h - the audit trail on disk, in STATE/audit/:
 *
 *   lock          flock()ed by every writer (the per-connection children,
 *                 the CLI) for one append
 *   journal.jsonl every event, one JSON object a line, hash-chained:
 *                 "prev" is the hex SHA-256 of the line before (of
 *                 "hvbastion-audit-journal v1" for the first); append-only;
 *                 its last line holds the node's last sequence number, so
 *                 numbers survive restarts
 *   offset        how far (bytes) the shipper has delivered the journal:
 *                 the spool is the journal's tail after it
 *   status        the shipper's state for "hvbastion audit status"
 *   commit        group commit's shared page (audit_commit.h): how far
 *                 the journal is known durable, mapped by every writer
 *
 * Why the spool is the journal's tail and not a file of its own: one
 * append and one fdatasync() per event instead of two, and the journal
 * and what the log store receives can never disagree on a number.
 *
 * A writer takes the lock, assigns seq = last + 1, appends and lets go;
 * then it waits until an fdatasync() that began after its append has
 * returned (its own, or one that another writer made for everyone before
 * it: audit_commit.h): an event counts as written only once it is on
 * disk.  Nothing waits on the network.
 */
#ifndef HVB_AUDIT_SPOOL_H
#define HVB_AUDIT_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define AUDIT_SPOOL_SUBDIR	"audit"
#define AUDIT_JOURNAL_SEED	"hvbastion-audit-journal v1"

enum audit_spool_mode {
	AUDIT_SPOOL_NONE,	/* no collector: journal only */
	AUDIT_SPOOL_REFUSE,	/* full: the event is refused (-ENOSPC) */
	AUDIT_SPOOL_ALLOW,	/* full: recorded anyway, alert */
};

struct audit_spool_conf {
	char			dir[4096];	/* STATE/audit */
	enum audit_spool_mode	mode;
	long long		max;		/* bytes not yet delivered */
};

/*
 * Makes STATE/audit (0700) and fills c->dir; with a collector and no
 * offset yet, delivery starts at the journal's current end (what was
 * recorded before there was a log store is not sent).  0 or -errno.
 */
int	audit_spool_init(struct audit_spool_conf *c, const char *state_dir,
	    int collector);

/*
 * Records rec (an object without "seq" and "prev").  reserve: the event
 * may use 10% more than the spool's bound (ends of things already
 * running).  *seq gets its number.  Returns 0, 1 when the spool was full
 * but the mode is "allow", or -errno (-ENOSPC: full and refused).
 */
int	audit_spool_append(const struct audit_spool_conf *c, json_t *rec,
	    int reserve, uint64_t *seq);

/*
 * Opens what audit_spool_append needs and keeps it open for the life of
 * the process, so that appends still work once a sandbox forbids opening
 * files (a session process: sandbox.h).  0 or -errno.
 */
int	audit_spool_hold(const struct audit_spool_conf *c);

/* Shipper side: the delivered offset in the journal. */
int	audit_spool_position(const char *dir, uint64_t *off);
/* Reads up to len bytes of whole lines at off; *n their length (0:
 * nothing new).  0, -ERANGE when the journal is shorter than off (it was
 * replaced: start again at 0), or -errno. */
int	audit_spool_read(const char *dir, uint64_t off, char *buf, size_t len,
	    size_t *n);
/* Records off durably. */
int	audit_spool_commit(const char *dir, uint64_t off);
/* Bytes and lines not yet delivered. */
int	audit_spool_depth(const char *dir, uint64_t *bytes, uint64_t *lines);

/* A fixed-width number file of dir ("offset", "archived"): read (0 when
 * it does not exist), or written in place, durably.  0 or -errno. */
int	audit_spool_get_number(const char *dir, const char *name,
	    uint64_t *v);
int	audit_spool_put_number(const char *dir, const char *name,
	    uint64_t v);

/* fsync() of a directory, after a file in it was created or renamed. */
int	audit_spool_sync_dir(const char *dir);

/* The journal's last sequence number (0: empty); -errno. */
int	audit_journal_last(const char *dir, uint64_t *seq);

#endif
