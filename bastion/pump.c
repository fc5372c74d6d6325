/*
 * pump.c - moves channel data one way with back-pressure.
 */
#include <string.h>

#include "pump.h"

void
pump_init(struct pump *p, struct pump_end *src, struct pump_end *dst,
    int nstreams, pump_tap_fn tap, void *tap_arg)
{
	memset(p, 0, sizeof(*p));
	p->src = src;
	p->dst = dst;
	p->nstreams = nstreams;
	p->tap = tap;
	p->tap_arg = tap_arg;
}

int
pump_drained(const struct pump *p)
{
	return p->pending_len == 0;
}

/* Writes pending bytes within the window; returns bytes written or -1. */
static long
write_pending(struct pump *p)
{
	size_t win = p->dst->window(p->dst->ctx), n;
	int w;

	n = p->pending_len < win ? p->pending_len : win;
	if (n == 0)
		return 0;
	w = p->dst->write(p->dst->ctx, p->pending + p->pending_off, n,
	    p->pending_stream);
	if (w < 0)
		return -1;
	if ((size_t)w > n)
		return -1;	/* a broken end: never trust it past n */
	p->pending_off += (size_t)w;
	p->pending_len -= (size_t)w;
	if (p->pending_len == 0)
		p->pending_off = 0;
	return w;
}

long
pump_step(struct pump *p)
{
	long total = 0;
	int idle_streams = 0;
	enum pump_stream s = PUMP_STDOUT;

	while (total < PUMP_STEP_LIMIT) {
		size_t win, want;
		long w;
		int r;

		if (p->pending_len > 0) {
			if ((w = write_pending(p)) < 0)
				return -1;
			total += w;
			if (p->pending_len > 0)
				break;	/* the window is full: wait */
		}
		win = p->dst->window(p->dst->ctx);
		if (win == 0)
			break;
		want = win < PUMP_CHUNK ? win : PUMP_CHUNK;
		r = p->src->read(p->src->ctx, p->pending, want, s);
		if (r < 0)
			return -1;
		if ((size_t)r > want)
			return -1;
		if (r == 0) {
			/* Try the other stream before giving up. */
			if (++idle_streams >= p->nstreams)
				break;
			s = s == PUMP_STDOUT && p->nstreams > 1 ?
			    PUMP_STDERR : PUMP_STDOUT;
			continue;
		}
		idle_streams = 0;
		p->bytes[s] += (uint64_t)r;
		p->pending_len = (size_t)r;
		p->pending_off = 0;
		p->pending_stream = s;
		if (p->tap != NULL && p->tap(p->tap_arg, p->pending,
		    (size_t)r, s) < 0)
			return -1;
	}
	return total;
}
