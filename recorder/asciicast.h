/*
 * asciicast.h - terminal recording in asciicast v2 (plays in stock
 * "asciinema play").
 *
 * Events are buffered and written out when the buffer fills or when
 * asciicast_tick() finds the last sync a second old: it then writes and
 * fdatasyncs the recording and its chain, so a crash (even of the machine)
 * loses about a second at most, and the files are synced at most once a
 * second.  Every write error is returned: the caller ends
 * the session rather than run it unrecorded (fail closed).
 */
#ifndef HVB_ASCIICAST_H
#define HVB_ASCIICAST_H

#include <stddef.h>
#include <time.h>

struct asciicast;

struct asciicast_header {
	int		 width, height;
	time_t		 timestamp;
	const char	*term;		/* untrusted: sanitised */
	const char	*title;		/* may be NULL */
	int		 record_input;
	/* A command without a pty: its streams, each kept up to stream_limit
	 * bytes (0: no limit); "o" stdout, "e" stderr, "i" stdin. */
	const char	*command;	/* NULL: a terminal */
	long long	 stream_limit;
	/* Compress when closed (rec_zstd.h): PATH.zst is created now, so
	 * that no file is opened once the session runs. */
	int		 compress;
};

/* Creates path (O_EXCL, mode 0600).  Returns NULL with errno set. */
struct asciicast *asciicast_open(const char *path,
		    const struct asciicast_header *);
int	asciicast_output(struct asciicast *, const void *buf, size_t len);
int	asciicast_input(struct asciicast *, const void *buf, size_t len);
/* stderr of a command without a pty ("e", not an asciicast code: stock
 * players ignore it). */
int	asciicast_errout(struct asciicast *, const void *buf, size_t len);
int	asciicast_resize(struct asciicast *, int width, int height);
int	asciicast_marker(struct asciicast *, const char *label);
/* True when events wait in the buffer or on the disk's way (the caller
 * must then tick at least every few hundred milliseconds). */
int	asciicast_pending(const struct asciicast *);
/* Writes and syncs if the last sync is a second old or more. */
int	asciicast_tick(struct asciicast *);
/* Flushes, closes and frees; returns the first error seen, or 0. */
int	asciicast_close(struct asciicast *);

#endif
