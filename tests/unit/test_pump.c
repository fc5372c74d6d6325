/*
 * test_pump.c - the back-pressure logic of the pump, with fake ends.
 *
 * The fake destination has an SSH-like window that each write consumes, and
 * can take less than offered (a short write).  The fake source checks, on
 * every read, that it is never asked for more than the destination's window
 * at that moment: that is the property that keeps the bastion's memory flat
 * when a client is slow.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "../../bastion/pump.h"

#define OUT_MAX		(4 * 1024 * 1024)

struct fake_dst {
	size_t		 window;
	size_t		 write_max;	/* short writes: at most this per call */
	int		 write_ret;	/* when nonzero, returned as is */
	unsigned char	*out[2];	/* what was written, per stream */
	size_t		 outlen[2];
	int		 order[64];	/* stream of each of the first writes */
	size_t		 nwrites;
};

struct fake_src {
	const unsigned char *data[2];
	size_t		 len[2], off[2];
	int		 endless;	/* always has as much as asked */
	int		 read_ret;	/* when nonzero, returned as is */
	size_t		 nreads[2];
	size_t		 max_asked;
	int		 over_window;	/* asked for more than the window */
	struct fake_dst	*dst;
};

struct tap_log {
	unsigned char	*buf[2];
	size_t		 len[2];
	int		 fail;
};

static int
src_read(void *ctx, void *buf, size_t len, enum pump_stream s)
{
	struct fake_src *src = ctx;
	size_t n;

	src->nreads[s]++;
	if (len > src->max_asked)
		src->max_asked = len;
	if (len > src->dst->window)
		src->over_window = 1;
	if (src->read_ret != 0)
		return src->read_ret;
	if (src->endless) {
		memset(buf, 'e', len);
		return (int)len;
	}
	n = src->len[s] - src->off[s];
	if (n > len)
		n = len;
	memcpy(buf, src->data[s] + src->off[s], n);
	src->off[s] += n;
	return (int)n;
}

static int
dst_write(void *ctx, const void *buf, size_t len, enum pump_stream s)
{
	struct fake_dst *dst = ctx;
	size_t n = len;

	if (dst->write_ret != 0)
		return dst->write_ret;
	assert_true(len <= dst->window);	/* the pump honours it too */
	if (n > dst->write_max)
		n = dst->write_max;
	assert_true(dst->outlen[s] + n <= OUT_MAX);
	memcpy(dst->out[s] + dst->outlen[s], buf, n);
	dst->outlen[s] += n;
	dst->window -= n;
	if (dst->nwrites < 64)
		dst->order[dst->nwrites] = (int)s;
	dst->nwrites++;
	return (int)n;
}

static size_t
dst_window(void *ctx)
{
	return ((struct fake_dst *)ctx)->window;
}

static size_t
no_window(void *ctx)
{
	(void)ctx;
	return 0;
}

static int
tap(void *arg, const void *buf, size_t len, enum pump_stream s)
{
	struct tap_log *t = arg;

	if (t->fail)
		return -1;
	assert_true(t->len[s] + len <= OUT_MAX);
	memcpy(t->buf[s] + t->len[s], buf, len);
	t->len[s] += len;
	return 0;
}

struct rig {
	struct fake_src	 src;
	struct fake_dst	 dst;
	struct tap_log	 tap;
	struct pump_end	 src_end, dst_end;
	struct pump	 pump;
	unsigned char	*pattern;	/* OUT_MAX bytes of a known pattern */
};

static int
setup(void **state)
{
	struct rig *r;
	size_t i;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return -1;
	for (i = 0; i < 2; i++) {
		r->dst.out[i] = malloc(OUT_MAX);
		r->tap.buf[i] = malloc(OUT_MAX);
		if (r->dst.out[i] == NULL || r->tap.buf[i] == NULL)
			return -1;
	}
	if ((r->pattern = malloc(OUT_MAX)) == NULL)
		return -1;
	/* Not periodic in any power of two, so misplaced bytes show. */
	for (i = 0; i < OUT_MAX; i++)
		r->pattern[i] = (unsigned char)((i * 7 + i / 251) & 0xff);
	r->src.dst = &r->dst;
	r->dst.write_max = SIZE_MAX;
	r->src_end = (struct pump_end){ src_read, NULL, NULL, &r->src };
	r->dst_end = (struct pump_end){ NULL, dst_write, dst_window, &r->dst };
	*state = r;
	return 0;
}

static int
teardown(void **state)
{
	struct rig *r = *state;
	size_t i;

	for (i = 0; i < 2; i++) {
		free(r->dst.out[i]);
		free(r->tap.buf[i]);
	}
	free(r->pattern);
	free(r);
	return 0;
}

static void
rig_start(struct rig *r, int nstreams, size_t len0, size_t len1)
{
	r->src.data[0] = r->pattern;
	r->src.len[0] = len0;
	r->src.data[1] = r->pattern + 1000;
	r->src.len[1] = len1;
	pump_init(&r->pump, &r->src_end, &r->dst_end, nstreams, tap, &r->tap);
}

/* --- the window ----------------------------------------------------------- */

static void
test_never_reads_past_window(void **state)
{
	struct rig *r = *state;
	static const size_t windows[] = { 1, 7, 1000, PUMP_CHUNK - 1,
	    PUMP_CHUNK, PUMP_CHUNK + 1, 3 * PUMP_CHUNK + 5, 200000 };
	size_t total = 300000, i, steps = 0;

	rig_start(r, 1, total, 0);
	for (i = 0; r->dst.outlen[0] < total; i++) {
		size_t before = r->dst.outlen[0];
		long n;

		r->dst.window = windows[i % 8];
		n = pump_step(&r->pump);
		assert_true(n >= 0);
		assert_int_equal((size_t)n, r->dst.outlen[0] - before);
		/* Everything the window allowed was used (data is there). */
		assert_int_equal(n, windows[i % 8] < total - before ?
		    windows[i % 8] : total - before);
		assert_int_equal(r->dst.window, windows[i % 8] - (size_t)n);
		assert_false(r->src.over_window);
		assert_true(r->src.max_asked <= PUMP_CHUNK);
		assert_true(pump_drained(&r->pump));
		assert_true(++steps < 10000);
	}
	assert_int_equal(r->dst.outlen[0], total);
	assert_memory_equal(r->dst.out[0], r->pattern, total);
	assert_int_equal(r->pump.bytes[0], total);
	assert_int_equal(r->pump.bytes[1], 0);
}

static void
test_window_zero_reads_nothing(void **state)
{
	struct rig *r = *state;

	rig_start(r, 2, 5000, 5000);
	r->dst.window = 0;
	assert_int_equal(pump_step(&r->pump), 0);
	assert_int_equal(r->src.nreads[0] + r->src.nreads[1], 0);
	assert_int_equal(r->tap.len[0] + r->tap.len[1], 0);
	assert_true(pump_drained(&r->pump));

	/* A destination whose window never opens. */
	r->dst_end.window = no_window;
	assert_int_equal(pump_step(&r->pump), 0);
	assert_int_equal(r->src.nreads[0] + r->src.nreads[1], 0);
}

/* --- short writes --------------------------------------------------------- */

static void
test_short_write_keeps_rest(void **state)
{
	struct rig *r = *state;
	size_t reads;
	long n;

	rig_start(r, 1, 100, 0);
	r->dst.window = 1000;
	r->dst.write_max = 30;
	n = pump_step(&r->pump);
	assert_int_equal(n, 30);
	assert_int_equal(r->src.nreads[0], 1);
	assert_int_equal(r->pump.bytes[0], 100);	/* read, not written */
	assert_false(pump_drained(&r->pump));
	assert_int_equal(r->tap.len[0], 100);

	/* Next step: the pending rest first, before any new read. */
	reads = r->src.nreads[0];
	r->dst.write_max = 50;
	n = pump_step(&r->pump);
	assert_int_equal(n, 50);
	assert_int_equal(r->src.nreads[0], reads);	/* stopped: still full */
	assert_int_equal(r->dst.outlen[0], 80);
	assert_memory_equal(r->dst.out[0], r->pattern, 80);

	r->dst.write_max = SIZE_MAX;
	n = pump_step(&r->pump);
	assert_int_equal(n, 20);
	assert_true(pump_drained(&r->pump));
	assert_int_equal(r->dst.outlen[0], 100);
	assert_memory_equal(r->dst.out[0], r->pattern, 100);
}

static void
test_pending_waits_for_window(void **state)
{
	struct rig *r = *state;

	rig_start(r, 1, 500, 0);
	r->dst.window = 300;
	r->dst.write_max = 100;
	assert_int_equal(pump_step(&r->pump), 100);
	/* The window closes with 200 bytes pending: nothing moves. */
	r->dst.window = 0;
	assert_int_equal(pump_step(&r->pump), 0);
	assert_int_equal(r->src.nreads[0], 1);
	assert_false(pump_drained(&r->pump));
	/* It opens a little: only that much of the pending bytes goes. */
	r->dst.window = 50;
	r->dst.write_max = SIZE_MAX;
	assert_int_equal(pump_step(&r->pump), 50);
	assert_int_equal(r->src.nreads[0], 1);
	r->dst.window = 10000;
	assert_int_equal(pump_step(&r->pump), 350);
	assert_int_equal(r->dst.outlen[0], 500);
	assert_memory_equal(r->dst.out[0], r->pattern, 500);
	assert_false(r->src.over_window);
}

/* A write that takes nothing is not an error: the bytes wait. */
static void
test_zero_write(void **state)
{
	struct rig *r = *state;

	rig_start(r, 1, 10, 0);
	r->dst.window = 100;
	r->dst.write_max = 0;
	assert_int_equal(pump_step(&r->pump), 0);
	assert_false(pump_drained(&r->pump));
	r->dst.write_max = SIZE_MAX;
	assert_int_equal(pump_step(&r->pump), 10);
	assert_memory_equal(r->dst.out[0], r->pattern, 10);
}

/* --- streams -------------------------------------------------------------- */

static void
test_stderr_alternation(void **state)
{
	struct rig *r = *state;
	long n;

	/* Only stderr has data: it is found after stdout says "none". */
	rig_start(r, 2, 0, 40);
	r->dst.window = 1000;
	n = pump_step(&r->pump);
	assert_int_equal(n, 40);
	assert_int_equal(r->dst.outlen[1], 40);
	assert_int_equal(r->dst.outlen[0], 0);
	assert_memory_equal(r->dst.out[1], r->pattern + 1000, 40);
	assert_int_equal(r->pump.bytes[1], 40);
	assert_int_equal(r->pump.bytes[0], 0);
	assert_int_equal(r->tap.len[1], 40);

	/* Both have data: each byte goes out on its own stream. */
	memset(&r->dst.outlen, 0, sizeof(r->dst.outlen));
	memset(&r->tap.len, 0, sizeof(r->tap.len));
	r->src.off[0] = r->src.off[1] = 0;
	r->dst.nwrites = 0;
	rig_start(r, 2, 70000, 50000);
	r->dst.window = SIZE_MAX / 2;
	n = pump_step(&r->pump);
	assert_int_equal(n, 120000);
	assert_int_equal(r->dst.outlen[0], 70000);
	assert_int_equal(r->dst.outlen[1], 50000);
	assert_memory_equal(r->dst.out[0], r->pattern, 70000);
	assert_memory_equal(r->dst.out[1], r->pattern + 1000, 50000);
	assert_int_equal(r->pump.bytes[0], 70000);
	assert_int_equal(r->pump.bytes[1], 50000);
	assert_true(pump_drained(&r->pump));
}

static void
test_stderr_short_write(void **state)
{
	struct rig *r = *state;

	/* Bytes read from stderr and left pending stay stderr bytes. */
	rig_start(r, 2, 0, 100);
	r->dst.window = 1000;
	r->dst.write_max = 60;
	assert_int_equal(pump_step(&r->pump), 60);
	r->src.len[0] = 100;		/* now stdout has data too */
	r->dst.write_max = SIZE_MAX;
	assert_int_equal(pump_step(&r->pump), 140);
	assert_int_equal(r->dst.outlen[1], 100);
	assert_int_equal(r->dst.outlen[0], 100);
	assert_memory_equal(r->dst.out[1], r->pattern + 1000, 100);
	assert_int_equal(r->dst.order[0], PUMP_STDERR);
	assert_int_equal(r->dst.order[1], PUMP_STDERR);
	assert_int_equal(r->dst.order[2], PUMP_STDOUT);
}

static void
test_one_stream_never_reads_stderr(void **state)
{
	struct rig *r = *state;

	rig_start(r, 1, 10, 10);
	r->dst.window = 1000;
	assert_int_equal(pump_step(&r->pump), 10);
	assert_int_equal(r->src.nreads[1], 0);
	assert_int_equal(r->dst.outlen[1], 0);
	assert_int_equal(r->pump.bytes[1], 0);
}

/* --- the tap -------------------------------------------------------------- */

static void
test_tap_sees_bytes_read(void **state)
{
	struct rig *r = *state;
	size_t i;

	rig_start(r, 2, 100000, 33333);
	r->dst.write_max = 777;	/* short writes throughout */
	for (i = 0; i < 100000 && !(r->dst.outlen[0] == 100000 &&
	    r->dst.outlen[1] == 33333); i++) {
		r->dst.window = 5000;
		assert_true(pump_step(&r->pump) >= 0);
		/* The tap has seen exactly what was read, and never less
		 * than what was written. */
		assert_int_equal(r->tap.len[0], r->pump.bytes[0]);
		assert_int_equal(r->tap.len[1], r->pump.bytes[1]);
		assert_true(r->tap.len[0] >= r->dst.outlen[0]);
		assert_true(r->tap.len[1] >= r->dst.outlen[1]);
	}
	assert_memory_equal(r->tap.buf[0], r->pattern, 100000);
	assert_memory_equal(r->tap.buf[1], r->pattern + 1000, 33333);
	assert_memory_equal(r->dst.out[0], r->pattern, 100000);
	assert_memory_equal(r->dst.out[1], r->pattern + 1000, 33333);
}

static void
test_tap_failure(void **state)
{
	struct rig *r = *state;

	/* The recorder failed: fail closed, nothing written. */
	rig_start(r, 1, 100, 0);
	r->dst.window = 1000;
	r->tap.fail = 1;
	assert_int_equal(pump_step(&r->pump), -1);
	assert_int_equal(r->dst.outlen[0], 0);

	/* No tap at all is allowed. */
	pump_init(&r->pump, &r->src_end, &r->dst_end, 1, NULL, NULL);
	r->src.off[0] = 0;
	assert_int_equal(pump_step(&r->pump), 100);
}

/* --- fairness ------------------------------------------------------------- */

static void
test_step_limit(void **state)
{
	struct rig *r = *state;
	long n;

	rig_start(r, 1, 0, 0);
	r->src.endless = 1;
	r->dst.window = SIZE_MAX / 2;
	r->dst.write_max = SIZE_MAX;
	n = pump_step(&r->pump);
	assert_true(n >= PUMP_STEP_LIMIT);
	assert_true(n < PUMP_STEP_LIMIT + PUMP_CHUNK);
	assert_true(r->pump.bytes[0] <= (uint64_t)n + PUMP_CHUNK);
	/* It returns, and the next step goes on from there. */
	n = pump_step(&r->pump);
	assert_true(n >= PUMP_STEP_LIMIT);
	assert_true(n < PUMP_STEP_LIMIT + PUMP_CHUNK);
}

/* --- broken ends and errors ----------------------------------------------- */

static void
test_broken_ends(void **state)
{
	struct rig *r = *state;

	/* A source that claims more than it was asked for. */
	rig_start(r, 1, 100, 0);
	r->dst.window = 10;
	r->src.read_ret = 11;
	assert_int_equal(pump_step(&r->pump), -1);
	assert_int_equal(r->dst.outlen[0], 0);
	assert_int_equal(r->tap.len[0], 0);

	/* A source error. */
	rig_start(r, 1, 100, 0);
	r->src.read_ret = -1;
	assert_int_equal(pump_step(&r->pump), -1);

	/* A destination that claims more than it was given. */
	rig_start(r, 1, 100, 0);
	r->src.read_ret = 0;
	r->src.off[0] = 0;
	r->dst.window = 1000;
	r->dst.write_ret = 101;
	assert_int_equal(pump_step(&r->pump), -1);

	/* A destination error. */
	rig_start(r, 1, 100, 0);
	r->src.off[0] = 0;
	r->dst.write_ret = -1;
	assert_int_equal(pump_step(&r->pump), -1);
}

static void
test_empty_source(void **state)
{
	struct rig *r = *state;

	rig_start(r, 2, 0, 0);
	r->dst.window = 1000;
	assert_int_equal(pump_step(&r->pump), 0);
	assert_int_equal(r->src.nreads[0], 1);
	assert_int_equal(r->src.nreads[1], 1);
	assert_true(pump_drained(&r->pump));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_never_reads_past_window),
		T(test_window_zero_reads_nothing),
		T(test_short_write_keeps_rest),
		T(test_pending_waits_for_window),
		T(test_zero_write),
		T(test_stderr_alternation),
		T(test_stderr_short_write),
		T(test_one_stream_never_reads_stderr),
		T(test_tap_sees_bytes_read),
		T(test_tap_failure),
		T(test_step_limit),
		T(test_broken_ends),
		T(test_empty_source),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
