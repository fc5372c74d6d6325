/*
 * asciicast.c - terminal recording in asciicast v2.
 *
 * Format: a JSON header line, then one JSON array per event:
 * [seconds-since-start, "o"|"i"|"r"|"m", "text"].
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "asciicast.h"
#include "chain.h"
#include "json_text.h"
#include "rec_file.h"
#include "rec_zstd.h"

#define CAST_BUF_SIZE	(64 * 1024)
#define CAST_CHUNK	(8 * 1024)	/* input split so escapes stay bounded */
#define CAST_RAW_MAX	(CAST_CHUNK + 8)	/* a chunk and a carry */
#define CAST_B64_MAX	(4 * (CAST_RAW_MAX / 3 + 1) + 1)

struct asciicast {
	int		 fd;
	int		 zfd;		/* PATH.zst when compressing, or -1 */
	char		*path;
	int		 error;		/* first errno seen */
	struct chain	*chain;		/* <path>.chain: integrity (chain.h) */
	int		 record_input;
	struct timespec	 start;
	struct timespec	 last_sync;	/* the last fdatasync of both files */
	int		 dirty;		/* written, not yet synced */
	struct json_text out_state, in_state, err_state;
	long long	 limit;		/* bytes kept a stream; 0: all */
	long long	 seen[3];	/* o, i, e */
	int		 cut[3];	/* the truncation marker is written */
	char		*buf;
	size_t		 len;
	char		*esc;		/* JSON_TEXT_MAX_OUT(CAST_CHUNK) */
	unsigned char	*raw;		/* CAST_RAW_MAX: exact bytes */
	char		*b64;		/* their base64 */
};

static double
elapsed(const struct timespec *from, const struct timespec *to)
{
	return (double)(to->tv_sec - from->tv_sec) +
	    (double)(to->tv_nsec - from->tv_nsec) / 1e9;
}

static int
write_all(struct asciicast *ac, const char *p, size_t n)
{
	const char *start = p;
	size_t total = n;

	while (n > 0) {
		ssize_t w = write(ac->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (ac->error == 0)
				ac->error = w < 0 ? errno : EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	ac->dirty = 1;
	/* The chain follows the data: a crash between the two leaves lines
	 * that verify reports as not covered, never a false chain. */
	if (chain_update(ac->chain, start, total) < 0 ||
	    chain_flush(ac->chain) < 0) {
		if (ac->error == 0)
			ac->error = EIO;
		return -1;
	}
	return 0;
}

static int
flush(struct asciicast *ac)
{
	if (ac->len == 0)
		return ac->error ? -1 : 0;
	if (write_all(ac, ac->buf, ac->len) < 0)
		return -1;
	ac->len = 0;
	return 0;
}

static int
append(struct asciicast *ac, const char *p, size_t n)
{
	if (ac->error)
		return -1;
	if (ac->len + n > CAST_BUF_SIZE && flush(ac) < 0)
		return -1;
	if (n > CAST_BUF_SIZE)
		return write_all(ac, p, n);
	memcpy(ac->buf + ac->len, p, n);
	ac->len += n;
	return 0;
}

/* Appends [t, "code", "escaped"] for one bounded chunk. */
static int
event2(struct asciicast *ac, const char *code, const char *pre, size_t npre,
    const char *escaped, size_t n)
{
	struct timespec now;
	char head[64];
	int hl;

	clock_gettime(CLOCK_MONOTONIC, &now);
	hl = snprintf(head, sizeof(head), "[%.6f, \"%s\", \"",
	    elapsed(&ac->start, &now), code);
	if (append(ac, head, (size_t)hl) < 0 || append(ac, pre, npre) < 0 ||
	    append(ac, escaped, n) < 0 || append(ac, "\"]\n", 3) < 0)
		return -1;
	return 0;
}

static int
event(struct asciicast *ac, const char *code, const char *escaped, size_t n)
{
	return event2(ac, code, "", 0, escaped, n);
}

/*
 * Byte-exact recording: an event's text is the UTF-8 of the bytes it
 * stands for unless they were not valid UTF-8 (json_text.h).  Then the
 * event is preceded by [t, "x", "CODE:BASE64"] that carries those exact
 * bytes: stock players ignore the unknown code and show the U+FFFD text,
 * "hvbastion replay" and --cat write the exact bytes instead.
 */
static int
exact_event(struct asciicast *ac, const char *code, const unsigned char *held,
    size_t nheld, const unsigned char *p, size_t n)
{
	char head[8];
	int hl, bl;

	if (nheld + n > CAST_RAW_MAX)
		return -1;
	memcpy(ac->raw, held, nheld);
	if (n > 0)
		memcpy(ac->raw + nheld, p, n);
	bl = EVP_EncodeBlock((unsigned char *)ac->b64, ac->raw,
	    (int)(nheld + n));
	hl = snprintf(head, sizeof(head), "%s:", code);
	if (bl < 0 || hl < 0 || (size_t)hl >= sizeof(head))
		return -1;
	return event2(ac, "x", head, (size_t)hl, ac->b64, (size_t)bl);
}

/* One chunk through the escaper: the exact event if needed, then the
 * event itself. */
static int
escaped_chunk(struct asciicast *ac, struct json_text *st, const char *code,
    const unsigned char *p, size_t chunk, int final)
{
	unsigned char held[sizeof(st->carry)];
	size_t nheld = st->ncarry, n, covered;

	memcpy(held, st->carry, nheld);
	n = json_text_escape(st, p, chunk, final, ac->esc);
	if (n == 0)
		return ac->error ? -1 : 0;
	if (st->replaced) {
		/* The bytes this event stands for: the old carry and the
		 * chunk, less the new carry (json_text.h). */
		covered = nheld + chunk - st->ncarry;
		if (covered <= nheld) {
			if (exact_event(ac, code, held, covered, NULL, 0) < 0)
				return -1;
		} else if (exact_event(ac, code, held, nheld, p,
		    covered - nheld) < 0)
			return -1;
	}
	return event(ac, code, ac->esc, n);
}

static int
stream_event(struct asciicast *ac, struct json_text *st, const char *code,
    const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len > 0) {
		size_t chunk = len > CAST_CHUNK ? CAST_CHUNK : len;

		if (escaped_chunk(ac, st, code, p, chunk, 0) < 0)
			return -1;
		p += chunk;
		len -= chunk;
	}
	return ac->error ? -1 : 0;
}

/* Removes path+suffix. */
static void
zap(const char *path, const char *suffix)
{
	char p[PATH_MAX];

	if (snprintf(p, sizeof(p), "%s%s", path, suffix) < (int)sizeof(p))
		unlink(p);
}

/* TERM comes from the client: keep a conservative character set. */
static void
safe_term(char *dst, size_t dstlen, const char *term)
{
	size_t i;

	snprintf(dst, dstlen, "%s", term != NULL && term[0] ? term : "unknown");
	for (i = 0; dst[i] != '\0'; i++)
		if (!isalnum((unsigned char)dst[i]) &&
		    strchr("._+-", dst[i]) == NULL)
			dst[i] = '_';
}

struct asciicast *
asciicast_open(const char *path, const struct asciicast_header *h)
{
	struct asciicast *ac;
	json_t *hdr = NULL;
	char term[64], *line = NULL;
	int saved;

	if ((ac = calloc(1, sizeof(*ac))) == NULL)
		return NULL;
	ac->fd = -1;
	ac->zfd = -1;
	if ((ac->path = strdup(path)) == NULL ||
	    (ac->buf = malloc(CAST_BUF_SIZE)) == NULL ||
	    (ac->esc = malloc(JSON_TEXT_MAX_OUT(CAST_CHUNK))) == NULL ||
	    (ac->raw = malloc(CAST_RAW_MAX)) == NULL ||
	    (ac->b64 = malloc(CAST_B64_MAX)) == NULL)
		goto fail;
	ac->fd = rec_file_create(path, h->compress ? O_RDWR : 0);
	if (ac->fd < 0)
		goto fail;
	if (h->compress) {
		char zpath[PATH_MAX];

		if (snprintf(zpath, sizeof(zpath), "%s%s", path,
		    REC_ZSTD_SUFFIX) >= (int)sizeof(zpath) ||
		    (ac->zfd = rec_file_create(zpath, 0)) < 0) {
			saved = errno ? errno : ENAMETOOLONG;
			close(ac->fd);
			ac->fd = -1;
			unlink(path);
			errno = saved;
			goto fail;
		}
	}
	if ((ac->chain = chain_open(path)) == NULL) {
		saved = errno;
		close(ac->fd);
		ac->fd = -1;
		unlink(path);
		errno = saved;
		goto fail;
	}
	ac->record_input = h->record_input;
	ac->limit = h->stream_limit > 0 ? h->stream_limit : 0;
	clock_gettime(CLOCK_MONOTONIC, &ac->start);
	ac->last_sync = ac->start;
	safe_term(term, sizeof(term), h->term);
	hdr = json_pack("{s:i, s:i, s:i, s:I, s:{s:s}}", "version", 2,
	    "width", h->width > 0 ? h->width : 80,
	    "height", h->height > 0 ? h->height : 24,
	    "timestamp", (json_int_t)h->timestamp, "env", "TERM", term);
	if (hdr == NULL)
		goto fail;
	if (h->command != NULL) {
		char *cmd = json_text_utf8_copy(h->command,
		    strlen(h->command));

		if (cmd == NULL || json_object_set_new(hdr, "command",
		    json_string(cmd)) < 0 || json_object_set_new(hdr,
		    "stream_limit", json_integer(ac->limit)) < 0) {
			free(cmd);
			goto fail;
		}
		free(cmd);
	}
	if (h->title != NULL) {
		char *title = json_text_utf8_copy(h->title, strlen(h->title));

		if (title == NULL ||
		    json_object_set_new(hdr, "title", json_string(title)) < 0) {
			free(title);
			goto fail;
		}
		free(title);
	}
	if ((line = json_dumps(hdr, JSON_COMPACT)) == NULL ||
	    append(ac, line, strlen(line)) < 0 || append(ac, "\n", 1) < 0 ||
	    flush(ac) < 0)
		goto fail;
	free(line);
	json_decref(hdr);
	return ac;
fail:
	saved = errno ? errno : ENOMEM;
	free(line);
	json_decref(hdr);
	if (ac->fd >= 0)
		close(ac->fd);
	if (ac->zfd >= 0) {
		close(ac->zfd);
		zap(path, REC_ZSTD_SUFFIX);
	}
	chain_close(ac->chain);
	free(ac->path);
	free(ac->buf);
	free(ac->esc);
	free(ac->raw);
	free(ac->b64);
	free(ac);
	errno = saved;
	return NULL;
}

/*
 * The streams of a command are kept up to the limit; past it, a marker
 * says where the recording of that stream stops (the session log has the
 * size and SHA-256 of the whole stream).
 */
static int
limited(struct asciicast *ac, int which, const char *code,
    struct json_text *st, const void *buf, size_t len)
{
	static const char *const names[3] = { "stdout", "stdin", "stderr" };
	long long room;
	char note[160];

	if (ac->limit == 0)
		return stream_event(ac, st, code, buf, len);
	room = ac->limit - ac->seen[which];
	ac->seen[which] += (long long)len;
	if (room >= (long long)len)
		return stream_event(ac, st, code, buf, len);
	if (room > 0 && stream_event(ac, st, code, buf, (size_t)room) < 0)
		return -1;
	if (ac->cut[which])
		return ac->error ? -1 : 0;
	ac->cut[which] = 1;
	/* Finish a character the cut split, then say so. */
	if (st->ncarry > 0 && escaped_chunk(ac, st, code, NULL, 0, 1) < 0)
		return -1;
	snprintf(note, sizeof(note), "%s truncated: only its first %lld"
	    " bytes are kept (record-exec-streams)", names[which], ac->limit);
	return asciicast_marker(ac, note);
}

int
asciicast_output(struct asciicast *ac, const void *buf, size_t len)
{
	return limited(ac, 0, "o", &ac->out_state, buf, len);
}

int
asciicast_input(struct asciicast *ac, const void *buf, size_t len)
{
	if (!ac->record_input)
		return ac->error ? -1 : 0;
	return limited(ac, 1, "i", &ac->in_state, buf, len);
}

int
asciicast_errout(struct asciicast *ac, const void *buf, size_t len)
{
	return limited(ac, 2, "e", &ac->err_state, buf, len);
}

int
asciicast_resize(struct asciicast *ac, int width, int height)
{
	char size[32];
	int n;

	n = snprintf(size, sizeof(size), "%dx%d", width, height);
	return event(ac, "r", size, (size_t)n);
}

int
asciicast_marker(struct asciicast *ac, const char *label)
{
	struct json_text st = { .ncarry = 0 };
	size_t len = strlen(label) > 256 ? 256 : strlen(label);
	size_t n = json_text_escape(&st, (const unsigned char *)label, len, 1,
	    ac->esc);

	return event(ac, "m", ac->esc, n);
}

int
asciicast_pending(const struct asciicast *ac)
{
	return ac->len > 0 || ac->dirty;
}

/*
 * Durability: what was recorded reaches the disk within about a second,
 * and the files are synced at most once a second however fast data flows
 * (a sync per buffer would cost the throughput a bulk transfer needs).
 * The chain is synced after the data it covers, so that a crash leaves
 * lines the chain does not cover rather than chain values without data.
 */
int
asciicast_tick(struct asciicast *ac)
{
	struct timespec now;

	if (ac->error)
		return -1;
	if (!asciicast_pending(ac))
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (elapsed(&ac->last_sync, &now) < 1.0)
		return 0;
	ac->last_sync = now;
	if (flush(ac) < 0)
		return -1;
	if (fdatasync(ac->fd) < 0 || chain_sync(ac->chain) < 0) {
		if (ac->error == 0)
			ac->error = errno ? errno : EIO;
		return -1;
	}
	ac->dirty = 0;
	return 0;
}

int
asciicast_close(struct asciicast *ac)
{
	int rc = 0;

	if (ac == NULL)
		return 0;
	/* Flush what a split UTF-8 sequence may still hold. */
	if (ac->out_state.ncarry > 0)
		escaped_chunk(ac, &ac->out_state, "o", NULL, 0, 1);
	if (ac->in_state.ncarry > 0 && ac->record_input)
		escaped_chunk(ac, &ac->in_state, "i", NULL, 0, 1);
	if (ac->err_state.ncarry > 0)
		escaped_chunk(ac, &ac->err_state, "e", NULL, 0, 1);
	if (flush(ac) < 0 || fsync(ac->fd) < 0)
		rc = -1;
	if (ac->error)
		rc = -1;
	/* Only a whole recording is sealed; otherwise verify says why. */
	if (rc == 0 && chain_seal(ac->chain, NULL, 0) < 0)
		rc = -1;
	if (chain_close(ac->chain) < 0)
		rc = -1;
	/* Compressed once sealed: the seal covers the bytes recorded, which
	 * the .zst gives back (rec_zstd.h).  An unfinished recording, or a
	 * compression that failed, stays as it is. */
	if (ac->zfd >= 0) {
		int zok = rc == 0 &&
		    rec_zstd_compress_fd(ac->fd, ac->zfd) == 0;

		if (close(ac->zfd) < 0)
			zok = 0;
		zap(ac->path, zok ? "" : REC_ZSTD_SUFFIX);
	}
	if (close(ac->fd) < 0)
		rc = -1;
	free(ac->path);
	free(ac->buf);
	free(ac->esc);
	free(ac->raw);
	free(ac->b64);
	free(ac);
	return rc;
}
