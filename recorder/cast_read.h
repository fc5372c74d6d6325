/*
 * cast_read.h - reading a terminal recording (asciicast v2 as written by
 * asciicast.c) back, byte-exact, with seeking by time.
 *
 * Everything read is untrusted: lines are bounded (CAST_LINE_MAX, longer
 * ones skipped), events that do not parse are skipped, and an "x" event
 * (the exact bytes of the event that follows it, base64) is used only when
 * it is well formed and the very next line is an event of the code it
 * names; otherwise that event's text is used as it is.
 *
 * Seeking needs no index file: event times only grow, and a raw newline
 * only ends a line (JSON escapes it in strings), so any byte offset leads
 * to the next event by scanning to the next newline.  cast_reader_seek()
 * bisects the file on the times of the events it finds: about 30 small
 * reads in a 1 GiB recording, and nothing stored beside the recording that
 * would have to be trusted or verified.
 */
#ifndef HVB_CAST_READ_H
#define HVB_CAST_READ_H

#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#define CAST_LINE_MAX	(1024 * 1024)

struct cast_event {
	double		 t;
	char		 code;	/* 'o', 'i', 'e', 'r', 'm'; '?' otherwise */
	const char	*data;	/* exact bytes; valid until the next call */
	size_t		 len;
	off_t		 off;	/* where its line (or its "x" line) starts */
};

struct cast_reader;

/* Opens and reads the header (asciicast v2 only).  NULL with errno. */
struct cast_reader *cast_reader_open(const char *path);
/* Same on an open stream (taken over; closed by cast_reader_close). */
struct cast_reader *cast_reader_fopen(FILE *);
/* The header object (borrowed). */
json_t	*cast_reader_header(const struct cast_reader *);
/* 1 with the next event, 0 at the end, -1 on a read error. */
int	cast_reader_next(struct cast_reader *, struct cast_event *);
/*
 * Goes to the first event at t seconds or later: the next call to
 * cast_reader_next() returns it.  0, or -1 on a read error.
 */
int	cast_reader_seek(struct cast_reader *, double t);
/*
 * Goes to the first line that starts at off or later (a line start is
 * the byte after a newline): for context before a seek's event.
 */
int	cast_reader_seek_offset(struct cast_reader *, off_t off);
/* The file's size (0 if unknown). */
off_t	cast_reader_size(struct cast_reader *);
/* The time of the last event (0 for none), from the file's tail. */
double	cast_reader_duration(struct cast_reader *);
void	cast_reader_close(struct cast_reader *);

/* Strict base64 (RFC 4648, padded) into out (at least 3 * len / 4);
 * returns the decoded length or -1. */
ssize_t	cast_b64_decode(const char *in, size_t len, unsigned char *out);

#endif
