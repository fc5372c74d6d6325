/*
 * cast_read.c - reading terminal recordings back (cast_read.h).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cast_read.h"
#include "rec_zstd.h"

#define SEEK_LINEAR	(64 * 1024)	/* bisect down to this, then scan */
#define SEEK_PROBES	16		/* lines tried after a probe offset */

struct cast_reader {
	FILE		*f;
	char		*line;		/* CAST_LINE_MAX */
	json_t		*header;
	json_t		*cur;		/* the event returned last */
	off_t		 data_start;	/* after the header line */
	unsigned char	*exact;		/* decoded "x" bytes */
	size_t		 nexact;
	char		 exact_code;	/* 0: none pending */
	off_t		 exact_off;	/* where that "x" line starts */
	int		 have_peek;
	struct cast_event peek;
};

static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

ssize_t
cast_b64_decode(const char *in, size_t len, unsigned char *out)
{
	size_t i, o = 0;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		int v[4], k, pad = 0;

		for (k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && i + 4 == len && k >= 2) {
				pad++;
				v[k] = 0;
				continue;
			}
			if (pad > 0 || (v[k] = b64_value(c)) < 0)
				return -1;
		}
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 15) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 3) << 6 | v[3]);
	}
	return (ssize_t)o;
}

/*
 * Reads one line of less than CAST_LINE_MAX bytes into r->line.  Returns
 * its length, 0 at the end, -1 for an overlong line (skipped), -2 on a
 * read error.
 */
static ssize_t
read_line(struct cast_reader *r)
{
	size_t n;
	int c;

	if (fgets(r->line, CAST_LINE_MAX, r->f) == NULL)
		return ferror(r->f) ? -2 : 0;
	n = strlen(r->line);
	if (n > 0 && r->line[n - 1] == '\n')
		return (ssize_t)n;
	if (n < CAST_LINE_MAX - 1)
		return (ssize_t)n;	/* the last line, without a newline */
	while ((c = fgetc(r->f)) != EOF && c != '\n')
		;
	return -1;
}

/* Parses [t, "code", "text"]; NULL if the line is not such an event. */
static json_t *
parse_event(const char *line, size_t n, double *t, const char **code,
    const char **data, size_t *len)
{
	json_t *j = json_loadb(line, n, JSON_ALLOW_NUL, NULL), *s;

	if (j == NULL || !json_is_array(j) || json_array_size(j) != 3 ||
	    !json_is_number(json_array_get(j, 0)) ||
	    (*code = json_string_value(json_array_get(j, 1))) == NULL ||
	    !json_is_string(s = json_array_get(j, 2))) {
		json_decref(j);
		return NULL;
	}
	*t = json_number_value(json_array_get(j, 0));
	*data = json_string_value(s);
	*len = json_string_length(s);
	return j;
}

struct cast_reader *
cast_reader_fopen(FILE *f)
{
	struct cast_reader *r;
	ssize_t n;
	int saved;

	if (f == NULL)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		fclose(f);
		return NULL;
	}
	r->f = f;
	if ((r->line = malloc(CAST_LINE_MAX)) == NULL ||
	    (r->exact = malloc(CAST_LINE_MAX)) == NULL)
		goto fail;
	errno = EINVAL;
	if ((n = read_line(r)) <= 0)
		goto fail;
	r->header = json_loadb(r->line, (size_t)n, 0, NULL);
	if (r->header == NULL || !json_is_object(r->header) ||
	    json_integer_value(json_object_get(r->header, "version")) != 2)
		goto fail;
	if ((r->data_start = ftello(f)) < 0)
		goto fail;
	return r;
fail:
	saved = errno ? errno : EINVAL;
	cast_reader_close(r);
	errno = saved;
	return NULL;
}

struct cast_reader *
cast_reader_open(const char *path)
{
	/* FILE or, when compressed, FILE.zst decompressed (rec_zstd.h). */
	return cast_reader_fopen(rec_zstd_open_read(path, NULL));
}

json_t *
cast_reader_header(const struct cast_reader *r)
{
	return r->header;
}

int
cast_reader_next(struct cast_reader *r, struct cast_event *ev)
{
	const char *code, *data;
	size_t len;
	ssize_t n;
	json_t *j;
	double t;

	if (r->have_peek) {
		r->have_peek = 0;
		*ev = r->peek;
		return 1;
	}
	for (;;) {
		off_t off = ftello(r->f);

		if ((n = read_line(r)) == 0)
			return 0;
		if (n == -2)
			return -1;
		if (n < 0 || (j = parse_event(r->line, (size_t)n, &t, &code,
		    &data, &len)) == NULL) {
			r->exact_code = 0;
			continue;
		}
		json_decref(r->cur);
		r->cur = j;
		if (strcmp(code, "x") == 0) {
			ssize_t m = -1;

			/* "C:BASE64": the exact bytes of the next event. */
			r->exact_code = 0;
			if (len >= 2 && data[1] == ':' && data[0] != '\0' &&
			    (m = cast_b64_decode(data + 2, len - 2,
			    r->exact)) >= 0) {
				r->exact_code = data[0];
				r->nexact = (size_t)m;
				r->exact_off = off;
			}
			continue;
		}
		ev->t = t;
		ev->code = code[0] != '\0' && code[1] == '\0' ? code[0] : '?';
		ev->data = data;
		ev->len = len;
		ev->off = off;
		if (r->exact_code != 0 && r->exact_code == ev->code) {
			ev->data = (const char *)r->exact;
			ev->len = r->nexact;
			ev->off = r->exact_off;
		}
		r->exact_code = 0;
		return 1;
	}
}

/*
 * The time of the first event that starts at or after off, and in *start
 * where its line starts.  1 found, 0 none (end of file), -1 read error.
 */
static int
probe(struct cast_reader *r, off_t off, double *t, off_t *start)
{
	const char *code, *data;
	size_t len;
	ssize_t n;
	json_t *j;
	int c, i;

	if (fseeko(r->f, off - 1, SEEK_SET) < 0)
		return -1;
	while ((c = fgetc(r->f)) != EOF && c != '\n')
		;
	if (c == EOF)
		return ferror(r->f) ? -1 : 0;
	for (i = 0; i < SEEK_PROBES; i++) {
		if ((*start = ftello(r->f)) < 0)
			return -1;
		if ((n = read_line(r)) == 0)
			return 0;
		if (n == -2)
			return -1;
		if (n > 0 && (j = parse_event(r->line, (size_t)n, t, &code,
		    &data, &len)) != NULL) {
			json_decref(j);
			return 1;
		}
	}
	return 0;
}

int
cast_reader_seek(struct cast_reader *r, double target)
{
	struct stat sb;
	off_t lo = r->data_start, hi, start;
	struct cast_event ev;
	double t;
	int rc;

	r->have_peek = 0;
	r->exact_code = 0;
	if (fstat(fileno(r->f), &sb) < 0)
		return -1;
	hi = sb.st_size;
	while (hi - lo > SEEK_LINEAR) {
		off_t mid = lo + (hi - lo) / 2;

		if ((rc = probe(r, mid, &t, &start)) < 0)
			return -1;
		if (rc == 1 && t < target && start < hi)
			lo = start;
		else
			hi = mid;
	}
	if (fseeko(r->f, lo, SEEK_SET) < 0)
		return -1;
	while ((rc = cast_reader_next(r, &ev)) == 1)
		if (ev.t >= target) {
			r->peek = ev;
			r->have_peek = 1;
			return 0;
		}
	return rc;
}

int
cast_reader_seek_offset(struct cast_reader *r, off_t off)
{
	int c;

	r->have_peek = 0;
	r->exact_code = 0;
	if (off <= r->data_start)
		return fseeko(r->f, r->data_start, SEEK_SET);
	if (fseeko(r->f, off - 1, SEEK_SET) < 0)
		return -1;
	while ((c = fgetc(r->f)) != EOF && c != '\n')
		;
	return ferror(r->f) ? -1 : 0;
}

off_t
cast_reader_size(struct cast_reader *r)
{
	struct stat sb;

	return fstat(fileno(r->f), &sb) == 0 ? sb.st_size : 0;
}

double
cast_reader_duration(struct cast_reader *r)
{
	static const off_t windows[] = { 64 * 1024, CAST_LINE_MAX + 64 * 1024 };
	const char *code, *data;
	struct stat sb;
	double t, last = 0;
	size_t i, len;
	ssize_t n;
	json_t *j;
	off_t here = ftello(r->f);
	int found = 0;

	if (here < 0 || fstat(fileno(r->f), &sb) < 0)
		return 0;
	for (i = 0; i < sizeof(windows) / sizeof(windows[0]) && !found; i++) {
		off_t from = sb.st_size - windows[i];
		int c;

		if (from <= r->data_start)
			from = r->data_start;
		if (fseeko(r->f, from, SEEK_SET) < 0)
			break;
		if (from > r->data_start)
			while ((c = fgetc(r->f)) != EOF && c != '\n')
				;
		while ((n = read_line(r)) != 0 && n != -2) {
			if (n < 0 || (j = parse_event(r->line, (size_t)n, &t,
			    &code, &data, &len)) == NULL)
				continue;
			if (t > last)
				last = t;
			found = 1;
			json_decref(j);
		}
		if (from == r->data_start)
			break;
	}
	clearerr(r->f);
	fseeko(r->f, here, SEEK_SET);
	return last;
}

void
cast_reader_close(struct cast_reader *r)
{
	if (r == NULL)
		return;
	if (r->f != NULL)
		fclose(r->f);
	json_decref(r->header);
	json_decref(r->cur);
	free(r->line);
	free(r->exact);
	free(r);
}
