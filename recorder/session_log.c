/*
 * session_log.c - the connection's event log (JSON lines).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chain.h"
#include "json_text.h"
#include "rec_file.h"
#include "session_log.h"

struct session_log {
	int		 fd;
	int		 error;
	int		 sealed;
	int		 dirty;		/* written, not yet synced */
	struct timespec	 last_sync;
	struct chain	*chain;		/* <path>.chain: integrity (chain.h) */
	char		 session_id[64];
};

struct session_log *
session_log_open(const char *path, const char *session_id)
{
	struct session_log *sl;

	if ((sl = calloc(1, sizeof(*sl))) == NULL)
		return NULL;
	sl->fd = rec_file_create(path, O_APPEND);
	if (sl->fd < 0) {
		free(sl);
		return NULL;
	}
	if ((sl->chain = chain_open(path)) == NULL) {
		int saved = errno;

		close(sl->fd);
		unlink(path);
		free(sl);
		errno = saved;
		return NULL;
	}
	snprintf(sl->session_id, sizeof(sl->session_id), "%s", session_id);
	/* The first line is synced at once (login), the next within a s. */
	sl->last_sync.tv_sec = 0;
	return sl;
}

static void
utc_now(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char base[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%.20s.%06dZ", base, (int)(ts.tv_nsec / 1000));
}

int
session_log_write(struct session_log *sl, json_t *event)
{
	char when[64], *line = NULL;
	size_t len;
	ssize_t w;
	int rc = -1;

	if (sl == NULL || event == NULL || sl->error)
		goto out;
	utc_now(when, sizeof(when));
	if (json_object_set_new(event, "time", json_string(when)) < 0 ||
	    json_object_set_new(event, "session",
	    json_string(sl->session_id)) < 0)
		goto out;
	if ((line = json_dumps(event, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(9))) ==
	    NULL)
		goto out;
	len = strlen(line);
	line[len++] = '\n';	/* json_dumps leaves room: replace the NUL */
	do
		w = write(sl->fd, line, len);
	while (w < 0 && errno == EINTR);
	if (w != (ssize_t)len)
		sl->error = w < 0 ? errno : EIO;
	else if (chain_update(sl->chain, line, len) < 0 ||
	    chain_flush(sl->chain) < 0)
		sl->error = EIO;
	else {
		sl->dirty = 1;
		rc = session_log_tick(sl);
	}
out:
	free(line);
	json_decref(event);
	return rc;
}

int
session_log_pending(const struct session_log *sl)
{
	return sl != NULL && sl->dirty;
}

/* Same rule as the terminal recording (asciicast.h): synced within about
 * a second of being written, at most once a second. */
int
session_log_tick(struct session_log *sl)
{
	struct timespec now;

	if (sl == NULL || sl->error)
		return -1;
	if (!sl->dirty)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (sl->last_sync.tv_sec != 0 &&
	    (double)(now.tv_sec - sl->last_sync.tv_sec) +
	    (double)(now.tv_nsec - sl->last_sync.tv_nsec) / 1e9 < 1.0)
		return 0;
	sl->last_sync = now;
	if (fdatasync(sl->fd) < 0 || chain_sync(sl->chain) < 0) {
		sl->error = errno ? errno : EIO;
		return -1;
	}
	sl->dirty = 0;
	return 0;
}

int
session_log_sync(struct session_log *sl)
{
	if (sl == NULL || sl->error)
		return -1;
	return fsync(sl->fd);
}

int
session_log_seal(struct session_log *sl, char *desc, size_t desclen)
{
	if (sl == NULL || sl->error || sl->sealed)
		return -1;
	if (fsync(sl->fd) < 0 || chain_seal(sl->chain, desc, desclen) < 0) {
		sl->error = EIO;
		return -1;
	}
	sl->sealed = 1;
	return 0;
}

int
session_log_close(struct session_log *sl)
{
	int rc;

	if (sl == NULL)
		return 0;
	rc = sl->error ? -1 : 0;
	if (fsync(sl->fd) < 0)
		rc = -1;
	close(sl->fd);
	if (chain_close(sl->chain) < 0)
		rc = -1;
	free(sl);
	return rc;
}

json_t *
session_log_string(const char *bytes, size_t len)
{
	char *copy = json_text_utf8_copy(bytes, len);
	json_t *s;

	if (copy == NULL)
		return NULL;
	s = json_string(copy);
	free(copy);
	return s;
}
