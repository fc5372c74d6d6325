/*
 * audit_archive.h - the journal's old part moved out of it ("hvbastion
 * audit archive", run daily by hvbastion-audit-archive.timer), so that the
 * journal's disk use stays bounded while its chain and its numbering go
 * on, in STATE/audit/:
 *
 *   archive/journal-<FIRST SEQ, 20 digits>.jsonl.zst
 *                 one segment of the journal, byte for byte once
 *                 decompressed (one zstd frame with its checksum; the
 *                 stock "zstd -d" gives the lines back): the chain runs
 *                 through the segments in name order and on into the
 *                 journal ("hvbastion verify --audit" checks all of it,
 *                 and reads a segment a site decompressed just as well)
 *   archived      where the journal's live part starts (a byte offset,
 *                 fixed width, written in place like "offset")
 *   archive.lock  flock()ed by the archiver (exclusive) and by verify
 *                 (shared)
 *
 * The journal file keeps its size and every offset: the archived range is
 * punched out of it (fallocate PUNCH_HOLE, KEEP_SIZE), so the writers that
 * hold it open in their sandbox, the shipper's delivered offset and the
 * spool's reads are untouched.  Only what is delivered (with a log store)
 * is archived, and never the journal's last line (the next event's number
 * and chain come from it).  A crash at any step leaves a state the next
 * run completes: the segment is written and synced before "archived"
 * moves, and the hole is punched only after that.
 *
 * What happens to the segments afterwards (compression, another disk,
 * retention) is the site's; the bastion only adds to the directory.
 */
#ifndef HVB_AUDIT_ARCHIVE_H
#define HVB_AUDIT_ARCHIVE_H

#include <stdint.h>
#include <stdio.h>

#define AUDIT_ARCHIVE_SUBDIR	"archive"
#define AUDIT_ARCHIVE_PREFIX	"journal-"
#define AUDIT_ARCHIVE_SUFFIX	".jsonl"

/*
 * Archives the journal of dir (STATE/audit) up to the delivered offset
 * (collector set) or up to its last line (none).  *events gets how many
 * events moved (0: nothing to do), name (len bytes) the segment's file
 * name.  0 or -errno.
 */
int	audit_archive_run(const char *dir, int collector, uint64_t *events,
	    char *name, size_t len);

/* Where the journal's live part starts (0: nothing archived). */
int	audit_archive_position(const char *dir, uint64_t *off);

/* The archive lock, shared (verify) or exclusive: an fd, or -errno
 * (-ENOENT: never archived, nothing to lock). */
int	audit_archive_lock(const char *dir, int exclusive);

#endif
