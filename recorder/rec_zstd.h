/*
 * rec_zstd.h - optional zstd compression of finished recordings
 * (compress-recordings yes).
 *
 * A finished terminal recording FILE.cast becomes FILE.cast.zst (one zstd
 * frame) and FILE.cast goes.  The chain and the seal (chain.h) cover the
 * uncompressed bytes, exactly as they were recorded: compressing, or
 * decompressing with the stock "zstd -d", never changes what verify
 * checks, and a compressed file altered in any way decompresses to other
 * bytes (or not at all), which verify reports.
 */
#ifndef HVB_REC_ZSTD_H
#define HVB_REC_ZSTD_H

#include <stdio.h>

#define REC_ZSTD_SUFFIX	".zst"

/* Compresses all of in_fd (read with pread from 0) into out_fd and syncs
 * it.  0, or -1. */
int	rec_zstd_compress_fd(int in_fd, int out_fd);

/*
 * Opens a recording for reading: path itself if it exists, else
 * path.zst decompressed into an anonymous temporary file.  *damaged (may
 * be NULL) is set when the compressed file is corrupt or cut short (what
 * could be decoded is returned).  NULL with errno if neither opens.
 */
FILE	*rec_zstd_open_read(const char *path, int *damaged);

#endif
