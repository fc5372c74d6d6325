/*
 * rec_zstd.c - compressed recordings (rec_zstd.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>

#include "rec_zstd.h"

#define ZLEVEL	3

static int
write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
rec_zstd_compress_fd(int in_fd, int out_fd)
{
	size_t inlen = ZSTD_CStreamInSize(), outlen = ZSTD_CStreamOutSize();
	char *in = malloc(inlen), *out = malloc(outlen);
	ZSTD_CCtx *cc = ZSTD_createCCtx();
	off_t off = 0;
	int rc = -1, last = 0;

	if (in == NULL || out == NULL || cc == NULL ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel,
	    ZLEVEL)) || ZSTD_isError(ZSTD_CCtx_setParameter(cc,
	    ZSTD_c_checksumFlag, 1)))
		goto out;
	while (!last) {
		ssize_t n = pread(in_fd, in, inlen, off);
		ZSTD_inBuffer ib;
		size_t left;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		off += n;
		last = n == 0;
		ib = (ZSTD_inBuffer){ in, (size_t)n, 0 };
		do {
			ZSTD_outBuffer ob = { out, outlen, 0 };

			left = ZSTD_compressStream2(cc, &ob, &ib, last ?
			    ZSTD_e_end : ZSTD_e_continue);
			if (ZSTD_isError(left) ||
			    write_all(out_fd, out, ob.pos) < 0)
				goto out;
		} while (last ? left != 0 : ib.pos < ib.size);
	}
	rc = fsync(out_fd);
out:
	ZSTD_freeCCtx(cc);
	free(in);
	free(out);
	return rc;
}

/* Decompresses f into a temporary file; *damaged on a bad stream. */
static FILE *
decompress(FILE *f, int *damaged)
{
	size_t inlen = ZSTD_DStreamInSize(), outlen = ZSTD_DStreamOutSize();
	char *in = malloc(inlen), *out = malloc(outlen);
	ZSTD_DCtx *dc = ZSTD_createDCtx();
	FILE *t = tmpfile();
	size_t n, ret = 0;
	int bad = 0, saved;

	if (in == NULL || out == NULL || dc == NULL || t == NULL)
		goto fail;
	while (!bad && (n = fread(in, 1, inlen, f)) > 0) {
		ZSTD_inBuffer ib = { in, n, 0 };

		while (ib.pos < ib.size) {
			ZSTD_outBuffer ob = { out, outlen, 0 };

			ret = ZSTD_decompressStream(dc, &ob, &ib);
			if (ZSTD_isError(ret)) {
				bad = 1;
				break;
			}
			if (fwrite(out, 1, ob.pos, t) != ob.pos)
				goto fail;
		}
	}
	/* Data still buffered in the decoder at the end of the input. */
	for (;;) {
		ZSTD_inBuffer ib = { in, 0, 0 };
		ZSTD_outBuffer ob = { out, outlen, 0 };

		if (bad || ret == 0)
			break;
		ret = ZSTD_decompressStream(dc, &ob, &ib);
		if (ZSTD_isError(ret) || ob.pos == 0) {
			bad = 1;	/* cut short */
			break;
		}
		if (fwrite(out, 1, ob.pos, t) != ob.pos)
			goto fail;
	}
	if (ferror(f) || fflush(t) != 0 || fseeko(t, 0, SEEK_SET) < 0)
		goto fail;
	if (damaged != NULL)
		*damaged = bad;
	ZSTD_freeDCtx(dc);
	free(in);
	free(out);
	return t;
fail:
	saved = errno ? errno : EIO;
	if (t != NULL)
		fclose(t);
	ZSTD_freeDCtx(dc);
	free(in);
	free(out);
	errno = saved;
	return NULL;
}

FILE *
rec_zstd_open_read(const char *path, int *damaged)
{
	char zpath[PATH_MAX];
	FILE *f, *t;
	int saved;

	if (damaged != NULL)
		*damaged = 0;
	if ((f = fopen(path, "re")) != NULL || errno != ENOENT)
		return f;
	if (snprintf(zpath, sizeof(zpath), "%s%s", path, REC_ZSTD_SUFFIX) >=
	    (int)sizeof(zpath)) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((f = fopen(zpath, "re")) == NULL) {
		errno = ENOENT;		/* the recording's name, not .zst */
		return NULL;
	}
	t = decompress(f, damaged);
	saved = errno;
	fclose(f);
	errno = saved;
	return t;
}
