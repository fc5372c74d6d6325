/*
 * session_log.h - the connection's event log: one JSON object a line in
 * RECDIR/<session-id>.jsonl (who, from where, which channels, the commands
 * run without a pty with their exit status and byte counts).
 *
 * Each line is written with one write(2), synced within about a second
 * (at most once a second) and at the end of each channel, so what an
 * auditor reads is never a torn line.
 */
#ifndef HVB_SESSION_LOG_H
#define HVB_SESSION_LOG_H

#include <jansson.h>

struct session_log;

struct session_log *session_log_open(const char *path, const char *session_id);
/*
 * Writes event (adds "time", UTC with microseconds, and "session"), and
 * takes the reference.  Returns 0, or -1 if it could not be written.
 */
int	session_log_write(struct session_log *, json_t *event);
int	session_log_sync(struct session_log *);
/* Lines written but not synced yet: the caller must tick then. */
int	session_log_pending(const struct session_log *);
/* Syncs when the last sync is a second old (-1 on a write error). */
int	session_log_tick(struct session_log *);
/*
 * Seals the log (chain.h, seal.h) once the last event is written; desc
 * gets "lines=N chain=HEX hmac=HEX" for the daemon log.  A log closed
 * unsealed verifies as unfinished.
 */
int	session_log_seal(struct session_log *, char *desc, size_t desclen);
int	session_log_close(struct session_log *);

/* A JSON string from bytes that may not be UTF-8 (never NULL on success). */
json_t	*session_log_string(const char *bytes, size_t len);

#endif
