/*
 * fuzz_cast_read.c - libFuzzer target for the recording reader
 * (recorder/cast_read.c): a recording file from anywhere is read event by
 * event, its duration taken, and seeks made to times taken from the input.
 * Properties: no crash, no overread, each event's bytes are readable, and
 * after a seek to t the next event returned is at t or later.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../recorder/cast_read.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cast_reader *r;
	struct cast_event ev;
	volatile unsigned char sink = 0;
	double t = size > 0 ? (double)data[0] / 16.0 : 0;
	int fd = memfd_create("fuzz-cast", MFD_CLOEXEC), i;
	size_t k;
	FILE *f;

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size ||
	    lseek(fd, 0, SEEK_SET) != 0 || (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return 0;
	}
	if ((r = cast_reader_fopen(f)) == NULL)
		return 0;
	while (cast_reader_next(r, &ev) == 1)
		for (k = 0; k < ev.len; k++)
			sink ^= (unsigned char)ev.data[k];
	(void)cast_reader_duration(r);
	for (i = 0; i < 2; i++) {
		if (cast_reader_seek(r, t) < 0)
			break;
		if (cast_reader_next(r, &ev) == 1 && ev.t < t)
			abort();
		while (cast_reader_next(r, &ev) == 1)
			;
		t /= 2;
	}
	cast_reader_close(r);
	(void)sink;
	return 0;
}
