/*
 * pump.h - moves channel data one way with back-pressure.
 *
 * The pump never reads more from the source than the destination's window
 * can take right now, so bytes wait in the source's flow control (the SSH
 * window we advertise) rather than in our memory: a slow client slows the
 * target down instead of filling the bastion.  Bytes read but not written
 * (a short write) are kept and written first next time.  The I/O is behind
 * function pointers so the logic is unit tested without sockets.
 */
#ifndef HVB_PUMP_H
#define HVB_PUMP_H

#include <stddef.h>
#include <stdint.h>

#define PUMP_CHUNK		(32 * 1024)
#define PUMP_STEP_LIMIT		(1024 * 1024)	/* fairness between channels */

enum pump_stream { PUMP_STDOUT = 0, PUMP_STDERR = 1 };

struct pump_end {
	/* Reads at most len bytes of stream; returns >0, 0 (none now), <0. */
	int	(*read)(void *ctx, void *buf, size_t len, enum pump_stream);
	/* Writes at most len bytes; returns bytes taken (>=0) or <0. */
	int	(*write)(void *ctx, const void *buf, size_t len,
		    enum pump_stream);
	/* How many bytes the destination accepts now (its SSH window). */
	size_t	(*window)(void *ctx);
	void	*ctx;
};

/* Called with each chunk read, before it is written (the recorder). */
typedef int (*pump_tap_fn)(void *arg, const void *buf, size_t len,
    enum pump_stream);

struct pump {
	struct pump_end	*src, *dst;
	int		 nstreams;	/* 1: stdout only; 2: also stderr */
	pump_tap_fn	 tap;
	void		*tap_arg;
	unsigned char	 pending[PUMP_CHUNK];
	size_t		 pending_off, pending_len;
	enum pump_stream pending_stream;
	uint64_t	 bytes[2];	/* per stream, read from the source */
};

void	pump_init(struct pump *, struct pump_end *src, struct pump_end *dst,
	    int nstreams, pump_tap_fn, void *tap_arg);
/*
 * Moves what it can without blocking.  Returns the number of bytes
 * written, or -1 on an I/O or tap error.
 */
long	pump_step(struct pump *);
/* True when nothing read is still waiting to be written. */
int	pump_drained(const struct pump *);

#endif
