/*
 * test_cast_read.c - byte-exact terminal recording: hostile byte streams
 * written by asciicast.c in every kind of split come back exactly through
 * cast_read.c; strict base64; "x" events that do not pair are ignored;
 * seeking by time bisects a large file to the right event.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit_util.h"
#include "../../recorder/asciicast.h"
#include "../../recorder/cast_read.h"

struct fixture {
	char	dir[256];
	char	path[PATH_MAX];
};

static int
setup(void **state)
{
	struct fixture *fx;

	if ((fx = calloc(1, sizeof(*fx))) == NULL ||
	    unit_mkdtemp(fx->dir, sizeof(fx->dir)) == NULL)
		return -1;
	snprintf(fx->path, sizeof(fx->path), "%s/s.cast", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	unit_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* Hostile bytes: invalid UTF-8, NUL, escapes, then a pseudo-random tail. */
static size_t
hostile(unsigned char *buf, size_t cap)
{
	static const char head[] = "ok \xff\xfe \xc0\x80 \xed\xa0\x80 "
	    "\xf4\x90\x80\x80 \x80 a\0b \x1b]52;c;aGk=\x07\x1b[6n \xe2\x82\xac "
	    "\xe2\x82 \xf0\x9f\x98";
	unsigned seed = 7;
	size_t i, n = sizeof(head) - 1;

	memcpy(buf, head, n);
	for (i = n; i < cap; i++) {
		seed = seed * 1103515245u + 12345u;
		/* Many lead and continuation bytes, some ASCII. */
		buf[i] = (unsigned char)(seed >> 16);
		if (i % 7 == 0)
			buf[i] = 0xe2;
	}
	return cap;
}

/* Reads back the exact bytes of every event with the code. */
static size_t
read_stream(const char *path, char code, unsigned char *out, size_t cap)
{
	struct cast_reader *r = cast_reader_open(path);
	struct cast_event ev;
	size_t n = 0;

	assert_non_null(r);
	while (cast_reader_next(r, &ev) == 1) {
		if (ev.code != code)
			continue;
		assert_true(n + ev.len <= cap);
		memcpy(out + n, ev.data, ev.len);
		n += ev.len;
	}
	cast_reader_close(r);
	return n;
}

static void
test_round_trip_every_split(void **state)
{
	struct fixture *fx = *state;
	static unsigned char in[40000], out[50000];
	static const size_t steps[] = { 1, 2, 3, 5, 8191, 8192, 8193, 40000 };
	struct asciicast_header h = { 80, 24, 0, "xterm", NULL, 1, NULL, 0, 0 };
	size_t len = hostile(in, sizeof(in)), s;

	for (s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		struct asciicast *ac;
		size_t off;

		unlink(fx->path);
		{
			char chain[PATH_MAX + 8];

			snprintf(chain, sizeof(chain), "%s.chain", fx->path);
			unlink(chain);
		}
		ac = asciicast_open(fx->path, &h);
		assert_non_null(ac);
		for (off = 0; off < len; off += steps[s]) {
			size_t n = len - off < steps[s] ? len - off : steps[s];

			assert_int_equal(asciicast_output(ac, in + off, n), 0);
			assert_int_equal(asciicast_input(ac, in + off, n), 0);
		}
		assert_int_equal(asciicast_close(ac), 0);
		assert_int_equal(read_stream(fx->path, 'o', out, sizeof(out)),
		    len);
		assert_memory_equal(out, in, len);
		assert_int_equal(read_stream(fx->path, 'i', out, sizeof(out)),
		    len);
		assert_memory_equal(out, in, len);
	}
}

static void
test_stream_limit(void **state)
{
	struct fixture *fx = *state;
	struct asciicast_header h = { 80, 24, 0, NULL, NULL, 1, "cat", 10,
	    0 };
	static const char out[] = "0123456789\xe2\x82\xac more";
	unsigned char back[64];
	struct cast_reader *r;
	struct cast_event ev;
	struct asciicast *ac;
	int markers = 0;

	ac = asciicast_open(fx->path, &h);
	assert_non_null(ac);
	/* The cut falls inside a character: the first 10 bytes exactly. */
	assert_int_equal(asciicast_output(ac, out, 8), 0);
	assert_int_equal(asciicast_output(ac, out + 8, 3), 0);
	assert_int_equal(asciicast_output(ac, out + 11, sizeof(out) - 12), 0);
	assert_int_equal(asciicast_errout(ac, "e\xff", 2), 0);
	assert_int_equal(asciicast_close(ac), 0);
	assert_int_equal(read_stream(fx->path, 'o', back, sizeof(back)), 11 -
	    1);
	assert_memory_equal(back, out, 10);
	assert_int_equal(read_stream(fx->path, 'e', back, sizeof(back)), 2);
	assert_memory_equal(back, "e\xff", 2);
	r = cast_reader_open(fx->path);
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(
	    cast_reader_header(r), "command")), "cat");
	while (cast_reader_next(r, &ev) == 1)
		if (ev.code == 'm') {
			markers++;
			assert_non_null(memmem(ev.data, ev.len,
			    "stdout truncated", 16));
		}
	assert_int_equal(markers, 1);
	cast_reader_close(r);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void
test_unpaired_exact_ignored(void **state)
{
	struct fixture *fx = *state;
	struct cast_reader *r;
	struct cast_event ev;

	/* "x" for "i" before an "o"; bad base64; an "x" then a bad line. */
	write_file(fx->path, "{\"version\": 2}\n"
	    "[0.1, \"x\", \"i:/w==\"]\n[0.1, \"o\", \"one\"]\n"
	    "[0.2, \"x\", \"o:/w=\"]\n[0.2, \"o\", \"two\"]\n"
	    "[0.3, \"x\", \"o:/w==\"]\nnot json\n[0.3, \"o\", \"three\"]\n"
	    "[0.4, \"x\", \"o:/w==\"]\n[0.4, \"o\", \"\xef\xbf\xbd\"]\n");
	r = cast_reader_open(fx->path);
	assert_non_null(r);
	assert_int_equal(cast_reader_next(r, &ev), 1);
	assert_int_equal(ev.len, 3);
	assert_memory_equal(ev.data, "one", 3);
	assert_int_equal(cast_reader_next(r, &ev), 1);
	assert_memory_equal(ev.data, "two", 3);
	assert_int_equal(cast_reader_next(r, &ev), 1);
	assert_memory_equal(ev.data, "three", 5);
	assert_int_equal(cast_reader_next(r, &ev), 1);
	assert_int_equal(ev.len, 1);
	assert_int_equal((unsigned char)ev.data[0], 0xff);
	assert_int_equal(cast_reader_next(r, &ev), 0);
	cast_reader_close(r);
	/* Not asciicast v2. */
	write_file(fx->path, "{\"version\": 1}\n");
	assert_null(cast_reader_open(fx->path));
}

static void
test_base64_strict(void **state)
{
	unsigned char out[16];

	(void)state;
	assert_int_equal(cast_b64_decode("", 0, out), 0);
	assert_int_equal(cast_b64_decode("YQ==", 4, out), 1);
	assert_int_equal(out[0], 'a');
	assert_int_equal(cast_b64_decode("YWI=", 4, out), 2);
	assert_int_equal(cast_b64_decode("YWJj", 4, out), 3);
	assert_memory_equal(out, "abc", 3);
	assert_int_equal(cast_b64_decode("YWJ", 3, out), -1);
	assert_int_equal(cast_b64_decode("Y===", 4, out), -1);
	assert_int_equal(cast_b64_decode("YQ==YWJj", 8, out), -1);
	assert_int_equal(cast_b64_decode("Y=Jj", 4, out), -1);
	assert_int_equal(cast_b64_decode("YW\nj", 4, out), -1);
}

static void
test_seek_bisects(void **state)
{
	struct fixture *fx = *state;
	struct cast_reader *r;
	struct cast_event ev;
	FILE *f = NULL;
	int i;

	/* 20000 events 0.01 s apart, about 3 MB: bisection, then a scan. */
	f = fopen(fx->path, "w");
	assert_non_null(f);
	fputs("{\"version\": 2, \"width\": 80, \"height\": 24}\n", f);
	for (i = 0; i < 20000; i++)
		fprintf(f, "[%.6f, \"o\", \"event %05d %0120d\"]\n",
		    i * 0.01, i, 0);
	assert_int_equal(fclose(f), 0);
	r = cast_reader_open(fx->path);
	assert_non_null(r);
	assert_true(cast_reader_duration(r) > 199.98 &&
	    cast_reader_duration(r) < 199.999);
	assert_int_equal(cast_reader_seek(r, 123.455), 0);
	assert_int_equal(cast_reader_next(r, &ev), 1);
	assert_memory_equal(ev.data, "event 12346", 11);
	assert_int_equal(cast_reader_next(r, &ev), 1);
	assert_memory_equal(ev.data, "event 12347", 11);
	/* Back, to the start, and past the end. */
	assert_int_equal(cast_reader_seek(r, 1.0), 0);
	assert_int_equal(cast_reader_next(r, &ev), 1);
	assert_memory_equal(ev.data, "event 00100", 11);
	assert_int_equal(cast_reader_seek(r, 0), 0);
	assert_int_equal(cast_reader_next(r, &ev), 1);
	assert_memory_equal(ev.data, "event 00000", 11);
	assert_int_equal(cast_reader_seek(r, 500), 0);
	assert_int_equal(cast_reader_next(r, &ev), 0);
	cast_reader_close(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip_every_split,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_unpaired_exact_ignored,
		    setup, teardown),
		cmocka_unit_test(test_base64_strict),
		cmocka_unit_test_setup_teardown(test_stream_limit, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_seek_bisects, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
