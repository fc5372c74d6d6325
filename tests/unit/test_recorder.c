/*
 * test_recorder.c - terminal bytes to JSON text (json_text) and the
 * asciicast v2 writer.  Recordings are read back with jansson, the way a
 * player would, rather than compared byte for byte with a fixed text.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "unit_util.h"
#include "../../recorder/asciicast.h"
#include "../../recorder/json_text.h"

#define FFFD	"\xef\xbf\xbd"

/* --- json_text ------------------------------------------------------------ */

struct esc_case {
	const char	*in;
	size_t		 len;		/* 0: strlen(in) */
	const char	*out;
};

static const struct esc_case esc_cases[] = {
	{ "plain text", 0, "plain text" },
	{ "say \"hi\"", 0, "say \\\"hi\\\"" },
	{ "C:\\dir\\", 0, "C:\\\\dir\\\\" },
	{ "\n\r\t\b\f", 0, "\\n\\r\\t\\b\\f" },
	{ "\x01\x1b[0m\x1f", 0, "\\u0001\\u001b[0m\\u001f" },
	{ "\x7f", 0, "\\u007f" },
	{ "a\0b", 3, "a\\u0000b" },
	{ "/ and ' stay", 0, "/ and ' stay" },
	{ "caf\xc3\xa9", 0, "caf\xc3\xa9" },
	{ "\xe2\x82\xac 5", 0, "\xe2\x82\xac 5" },
	{ "\xf0\x9f\x98\x80!", 0, "\xf0\x9f\x98\x80!" },
	{ "\xef\xbf\xbf", 0, "\xef\xbf\xbf" },		/* U+FFFF is valid */
	{ "\xf4\x8f\xbf\xbf", 0, "\xf4\x8f\xbf\xbf" },	/* U+10FFFF */
	{ "\xed\x9f\xbf", 0, "\xed\x9f\xbf" },		/* U+D7FF */
	/* Not UTF-8: one U+FFFD per byte that cannot start or continue. */
	{ "\xff", 0, FFFD },
	{ "\xfe\xff", 0, FFFD FFFD },
	{ "\x80", 0, FFFD },
	{ "a\xbf" "b", 0, "a" FFFD "b" },
	{ "\xc3(", 0, FFFD "(" },
	{ "\xc0\xaf", 0, FFFD FFFD },			/* overlong '/' */
	{ "\xc1\xbf", 0, FFFD FFFD },
	{ "\xe0\x80\xaf", 0, FFFD FFFD FFFD },		/* overlong */
	{ "\xf0\x80\x80\xaf", 0, FFFD FFFD FFFD FFFD },	/* overlong */
	{ "\xed\xa0\x80", 0, FFFD FFFD FFFD },		/* surrogate */
	{ "\xed\xbf\xbf", 0, FFFD FFFD FFFD },		/* surrogate */
	{ "\xf4\x90\x80\x80", 0, FFFD FFFD FFFD FFFD },	/* > U+10FFFF */
	{ "\xf5\x80\x80\x80", 0, FFFD FFFD FFFD FFFD },
	/* Incomplete at the end, with final set: flushed as U+FFFD. */
	{ "a\xe2\x82", 0, "a" FFFD FFFD },
	{ "\xf0\x9f\x98", 0, FFFD FFFD FFFD },
	{ "\xc3", 0, FFFD },
};

static size_t
case_len(const struct esc_case *c)
{
	return c->len != 0 ? c->len : strlen(c->in);
}

/* Escapes in as pieces cut at the given points (ascending, < len). */
static size_t
escape_split(const unsigned char *in, size_t len, const size_t *cuts,
    size_t ncuts, char *out)
{
	struct json_text st = { .ncarry = 0 };
	size_t o = 0, from = 0, i;

	for (i = 0; i <= ncuts; i++) {
		size_t to = i < ncuts ? cuts[i] : len;

		o += json_text_escape(&st, in + from, to - from, i == ncuts,
		    out + o);
		from = to;
	}
	assert_int_equal(st.ncarry, 0);
	return o;
}

/* The output must be the body of a JSON string that decodes. */
static void
assert_json_body(const char *out)
{
	json_error_t err;
	size_t n = strlen(out);
	char *doc;
	json_t *j;

	doc = malloc(n + 3);
	assert_non_null(doc);
	doc[0] = '"';
	memcpy(doc + 1, out, n);
	doc[n + 1] = '"';
	doc[n + 2] = '\0';
	j = json_loads(doc, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
	if (j == NULL)
		fail_msg("not a JSON string: %s (%s)", doc, err.text);
	assert_true(json_is_string(j));
	json_decref(j);
	free(doc);
}

static void
test_escape_table(void **state)
{
	char out[JSON_TEXT_MAX_OUT(64)];
	struct json_text st;
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *c = &esc_cases[i];

		memset(&st, 0, sizeof(st));
		n = json_text_escape(&st, (const unsigned char *)c->in,
		    case_len(c), 1, out);
		if (n != strlen(c->out) || strcmp(out, c->out) != 0)
			fail_msg("case %zu: got \"%s\", wanted \"%s\"", i, out,
			    c->out);
		assert_int_equal(st.ncarry, 0);
		assert_json_body(out);
	}
}

/* Cut every case at every one and every pair of points: same output. */
static void
test_escape_chunked(void **state)
{
	char whole[JSON_TEXT_MAX_OUT(64)], split[JSON_TEXT_MAX_OUT(64) * 3];
	size_t i, a, b, cuts[2];

	(void)state;
	for (i = 0; i < sizeof(esc_cases) / sizeof(esc_cases[0]); i++) {
		const struct esc_case *c = &esc_cases[i];
		const unsigned char *in = (const unsigned char *)c->in;
		size_t len = case_len(c);

		escape_split(in, len, NULL, 0, whole);
		for (a = 0; a <= len; a++) {
			cuts[0] = a;
			escape_split(in, len, cuts, 1, split);
			if (strcmp(split, whole) != 0)
				fail_msg("case %zu cut at %zu: \"%s\"", i, a,
				    split);
			for (b = a; b <= len; b++) {
				cuts[1] = b;
				escape_split(in, len, cuts, 2, split);
				if (strcmp(split, whole) != 0)
					fail_msg("case %zu cut at %zu,%zu",
					    i, a, b);
			}
		}
	}
}

static void
test_escape_carry(void **state)
{
	char out[JSON_TEXT_MAX_OUT(8)];
	struct json_text st = { .ncarry = 0 };
	size_t n;

	(void)state;
	/* "€" one byte at a time: nothing until the last byte. */
	n = json_text_escape(&st, (const unsigned char *)"\xe2", 1, 0, out);
	assert_int_equal(n, 0);
	assert_string_equal(out, "");
	n = json_text_escape(&st, (const unsigned char *)"\x82", 1, 0, out);
	assert_int_equal(n, 0);
	n = json_text_escape(&st, (const unsigned char *)"\xac" "x", 2, 0,
	    out);
	assert_string_equal(out, "\xe2\x82\xac" "x");
	assert_int_equal(n, 4);

	/* A carried prefix broken by the next chunk: that byte survives. */
	n = json_text_escape(&st, (const unsigned char *)"\xf0\x9f", 2, 0,
	    out);
	assert_int_equal(n, 0);
	n = json_text_escape(&st, (const unsigned char *)"\"", 1, 0, out);
	assert_string_equal(out, FFFD FFFD "\\\"");

	/* The final flush of an incomplete tail, with no more input. */
	n = json_text_escape(&st, (const unsigned char *)"ok\xe2\x82", 4, 0,
	    out);
	assert_string_equal(out, "ok");
	n = json_text_escape(&st, NULL, 0, 1, out);
	assert_string_equal(out, FFFD FFFD);
	assert_int_equal(n, 6);
	assert_int_equal(st.ncarry, 0);
	/* And then the state is clean. */
	n = json_text_escape(&st, NULL, 0, 1, out);
	assert_int_equal(n, 0);
}

static void
test_escape_worst_case(void **state)
{
	unsigned char in[256];
	char *out;
	size_t i, n;
	struct json_text st = { .ncarry = 0 };

	(void)state;
	/* Every control byte is six bytes out; the bound must hold. */
	memset(in, 0x01, sizeof(in));
	out = malloc(JSON_TEXT_MAX_OUT(sizeof(in)));
	assert_non_null(out);
	json_text_escape(&st, (const unsigned char *)"\xf0\x9f\x98", 3, 0,
	    out);
	n = json_text_escape(&st, in, sizeof(in), 1, out);
	assert_true(n < JSON_TEXT_MAX_OUT(sizeof(in)));
	assert_int_equal(n, 9 + 6 * sizeof(in));
	/* Every byte value, once. */
	for (i = 0; i < sizeof(in); i++)
		in[i] = (unsigned char)i;
	memset(&st, 0, sizeof(st));
	n = json_text_escape(&st, in, sizeof(in), 1, out);
	assert_true(n < JSON_TEXT_MAX_OUT(sizeof(in)));
	assert_json_body(out);
	free(out);
}

static void
test_utf8_copy(void **state)
{
	char *s;

	(void)state;
	s = json_text_utf8_copy("caf\xc3\xa9 \xff", 7);
	assert_non_null(s);
	assert_string_equal(s, "caf\xc3\xa9 " FFFD);
	free(s);
	s = json_text_utf8_copy("a\0b", 3);
	assert_string_equal(s, "a" FFFD "b");
	free(s);
	s = json_text_utf8_copy("", 0);
	assert_string_equal(s, "");
	free(s);
}

/* --- asciicast ------------------------------------------------------------ */

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
	snprintf(fx->path, sizeof(fx->path), "%s/session.cast", fx->dir);
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

struct cast {
	json_t	*header;
	json_t	*events[4096];
	size_t	 nevents;
};

/* Reads a recording back: one JSON value a line, as players do. */
static void
cast_read(const char *path, struct cast *c)
{
	json_error_t err;
	char *line = NULL;
	size_t cap = 0, i;
	ssize_t n;
	FILE *f;

	memset(c, 0, sizeof(*c));
	f = fopen(path, "r");
	assert_non_null(f);
	for (i = 0; (n = getline(&line, &cap, f)) > 0; i++) {
		json_t *j;

		assert_int_equal(line[n - 1], '\n');
		j = json_loadb(line, (size_t)n, JSON_ALLOW_NUL, &err);
		if (j == NULL)
			fail_msg("line %zu: %s: %s", i + 1, err.text, line);
		if (i == 0) {
			assert_true(json_is_object(j));
			c->header = j;
			continue;
		}
		assert_true(json_is_array(j));
		assert_int_equal(json_array_size(j), 3);
		assert_true(json_is_number(json_array_get(j, 0)));
		assert_true(json_is_string(json_array_get(j, 1)));
		assert_true(json_is_string(json_array_get(j, 2)));
		assert_true(c->nevents < 4096);
		c->events[c->nevents++] = j;
	}
	free(line);
	fclose(f);
	assert_non_null(c->header);
}

static void
cast_free(struct cast *c)
{
	size_t i;

	json_decref(c->header);
	for (i = 0; i < c->nevents; i++)
		json_decref(c->events[i]);
}

static const char *
ev_code(const struct cast *c, size_t i)
{
	return json_string_value(json_array_get(c->events[i], 1));
}

static const char *
ev_text(const struct cast *c, size_t i)
{
	return json_string_value(json_array_get(c->events[i], 2));
}

/* Concatenates the text of every event with the code. */
static char *
cast_stream(const struct cast *c, const char *code, size_t *len)
{
	size_t i, n = 0;
	char *s = NULL;

	for (i = 0; i < c->nevents; i++) {
		json_t *t = json_array_get(c->events[i], 2);
		size_t tl = json_string_length(t);

		if (strcmp(ev_code(c, i), code) != 0)
			continue;
		s = realloc(s, n + tl + 1);
		assert_non_null(s);
		memcpy(s + n, json_string_value(t), tl);
		n += tl;
	}
	if (s == NULL)
		s = calloc(1, 1);
	else
		s[n] = '\0';
	*len = n;
	return s;
}

static void
test_cast_header_and_events(void **state)
{
	struct fixture *fx = *state;
	struct asciicast_header h = { 132, 43, 1700000000,
	    "xterm-256color;rm -rf /\x1b", "alice \xff on pve1", 1, NULL, 0, 0 };
	struct asciicast *ac;
	struct stat sb;
	struct cast c;
	json_t *env;
	double t, last = -1;
	size_t i, len;
	char *s;

	ac = asciicast_open(fx->path, &h);
	assert_non_null(ac);
	assert_int_equal(asciicast_output(ac, "hello \"you\"\r\n", 13), 0);
	assert_int_equal(asciicast_input(ac, "ls\r", 3), 0);
	assert_int_equal(asciicast_resize(ac, 80, 24), 0);
	assert_int_equal(asciicast_marker(ac, "policy: \"allowed\""), 0);
	/* A character split between two writes comes out whole. */
	assert_int_equal(asciicast_output(ac, "price \xe2\x82", 8), 0);
	assert_int_equal(asciicast_output(ac, "\xac\x1b[0m", 5), 0);
	assert_int_equal(asciicast_tick(ac), 0);
	assert_int_equal(asciicast_close(ac), 0);

	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);

	cast_read(fx->path, &c);
	assert_int_equal(json_integer_value(json_object_get(c.header,
	    "version")), 2);
	assert_int_equal(json_integer_value(json_object_get(c.header,
	    "width")), 132);
	assert_int_equal(json_integer_value(json_object_get(c.header,
	    "height")), 43);
	assert_int_equal(json_integer_value(json_object_get(c.header,
	    "timestamp")), 1700000000);
	env = json_object_get(c.header, "env");
	assert_true(json_is_object(env));
	assert_string_equal(json_string_value(json_object_get(env, "TERM")),
	    "xterm-256color_rm_-rf___");
	assert_string_equal(json_string_value(json_object_get(c.header,
	    "title")), "alice " FFFD " on pve1");

	assert_int_equal(c.nevents, 6);
	assert_string_equal(ev_code(&c, 0), "o");
	assert_string_equal(ev_text(&c, 0), "hello \"you\"\r\n");
	assert_string_equal(ev_code(&c, 1), "i");
	assert_string_equal(ev_text(&c, 1), "ls\r");
	assert_string_equal(ev_code(&c, 2), "r");
	assert_string_equal(ev_text(&c, 2), "80x24");
	assert_string_equal(ev_code(&c, 3), "m");
	assert_string_equal(ev_text(&c, 3), "policy: \"allowed\"");
	s = cast_stream(&c, "o", &len);
	assert_string_equal(s, "hello \"you\"\r\nprice \xe2\x82\xac\x1b[0m");
	free(s);
	for (i = 0; i < c.nevents; i++) {
		t = json_number_value(json_array_get(c.events[i], 0));
		assert_true(t >= 0 && t >= last && t < 60);
		last = t;
	}
	cast_free(&c);
}

static void
test_cast_defaults_and_no_input(void **state)
{
	struct fixture *fx = *state;
	struct asciicast_header h = { 0, -5, 0, NULL, NULL, 0, NULL, 0, 0 };
	struct asciicast *ac;
	struct cast c;
	size_t i;

	ac = asciicast_open(fx->path, &h);
	assert_non_null(ac);
	assert_int_equal(asciicast_input(ac, "secret\r", 7), 0);
	assert_int_equal(asciicast_output(ac, "$ ", 2), 0);
	assert_int_equal(asciicast_input(ac, "password\r", 9), 0);
	assert_int_equal(asciicast_close(ac), 0);

	cast_read(fx->path, &c);
	assert_int_equal(json_integer_value(json_object_get(c.header,
	    "width")), 80);
	assert_int_equal(json_integer_value(json_object_get(c.header,
	    "height")), 24);
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    c.header, "env"), "TERM")), "unknown");
	assert_null(json_object_get(c.header, "title"));
	for (i = 0; i < c.nevents; i++)
		assert_string_not_equal(ev_code(&c, i), "i");
	assert_int_equal(c.nevents, 1);
	cast_free(&c);
}

static void
test_cast_refuses_existing(void **state)
{
	struct fixture *fx = *state;
	struct asciicast_header h = { 80, 24, 0, "xterm", NULL, 1, NULL, 0, 0 };
	char target[PATH_MAX], link[PATH_MAX];
	struct stat sb;

	/* An existing file is never truncated or appended to. */
	assert_int_equal(unit_write_file(fx->dir, "session.cast", "old", 3,
	    0600, fx->path, sizeof(fx->path)), 0);
	errno = 0;
	assert_null(asciicast_open(fx->path, &h));
	assert_int_equal(errno, EEXIST);
	assert_int_equal(stat(fx->path, &sb), 0);
	assert_int_equal(sb.st_size, 3);

	/* Nor is a symlink followed, to a file or to nowhere. */
	assert_int_equal(unit_write_file(fx->dir, "victim", "keep", 4, 0644,
	    target, sizeof(target)), 0);
	snprintf(link, sizeof(link), "%s/link.cast", fx->dir);
	assert_int_equal(symlink(target, link), 0);
	assert_null(asciicast_open(link, &h));
	assert_int_equal(stat(target, &sb), 0);
	assert_int_equal(sb.st_size, 4);
	unlink(link);
	snprintf(target, sizeof(target), "%s/not-there", fx->dir);
	assert_int_equal(symlink(target, link), 0);
	assert_null(asciicast_open(link, &h));
	assert_int_equal(lstat(target, &sb), -1);
	unlink(link);

	/* A directory that does not exist: NULL with errno, no crash. */
	snprintf(link, sizeof(link), "%s/no/such.cast", fx->dir);
	errno = 0;
	assert_null(asciicast_open(link, &h));
	assert_int_equal(errno, ENOENT);
}

/* A large stream, written in odd chunks: complete after close. */
static void
test_cast_complete_after_close(void **state)
{
	struct fixture *fx = *state;
	struct asciicast_header h = { 80, 24, 0, "xterm", NULL, 1, NULL, 0, 0 };
	const size_t total = 300000;
	struct asciicast *ac;
	unsigned char *data;
	struct cast c;
	size_t i, off, len;
	char *s, *want;

	/* Text with multibyte characters and escapes, cut anywhere. */
	data = malloc(total);
	assert_non_null(data);
	for (i = 0; i < total; i++) {
		static const char pat[] = "ab\xc3\xa9\"\\\r\n\xe2\x82\xac"
		    "\xf0\x9f\x98\x80\x1b[m";
		data[i] = (unsigned char)pat[i % (sizeof(pat) - 1)];
	}
	ac = asciicast_open(fx->path, &h);
	assert_non_null(ac);
	for (off = 0, i = 1; off < total; i = i * 7 % 9001 + 1) {
		size_t n = total - off < i ? total - off : i;

		assert_int_equal(asciicast_output(ac, data + off, n), 0);
		off += n;
	}
	assert_int_equal(asciicast_close(ac), 0);

	cast_read(fx->path, &c);
	s = cast_stream(&c, "o", &len);
	/* The pattern's cycle ends where total cuts it: the tail may be a
	 * cut character, flushed as U+FFFD, so compare the whole part. */
	want = json_text_utf8_copy((const char *)data, total);
	assert_non_null(want);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(s, want, len);
	free(want);
	free(s);
	free(data);
	cast_free(&c);
}

static void
test_cast_output_tail_flushed(void **state)
{
	struct fixture *fx = *state;
	struct asciicast_header h = { 80, 24, 0, "xterm", NULL, 1, NULL, 0, 0 };
	struct asciicast *ac;
	struct cast c;
	size_t len;
	char *s;

	ac = asciicast_open(fx->path, &h);
	assert_non_null(ac);
	assert_int_equal(asciicast_output(ac, "end\xe2\x82", 5), 0);
	assert_int_equal(asciicast_close(ac), 0);
	cast_read(fx->path, &c);
	s = cast_stream(&c, "o", &len);
	assert_string_equal(s, "end" FFFD FFFD);
	free(s);
	cast_free(&c);
}

/* The same for input: the last keystroke bytes must not vanish. */
static void
test_cast_input_tail_flushed(void **state)
{
	struct fixture *fx = *state;
	struct asciicast_header h = { 80, 24, 0, "xterm", NULL, 1, NULL, 0, 0 };
	struct asciicast *ac;
	struct cast c;
	size_t len;
	char *s;
	int ok;

	ac = asciicast_open(fx->path, &h);
	assert_non_null(ac);
	assert_int_equal(asciicast_input(ac, "rm \xc3", 4), 0);
	assert_int_equal(asciicast_close(ac), 0);
	cast_read(fx->path, &c);
	s = cast_stream(&c, "i", &len);
	ok = strcmp(s, "rm " FFFD) == 0;
	if (!ok)
		print_error("input recorded: \"%s\"\n", s);
	/* Freed before asserting, so a failure does not also leak. */
	free(s);
	cast_free(&c);
	assert_true(ok);
}

static void
test_cast_marker_bounded(void **state)
{
	struct fixture *fx = *state;
	struct asciicast_header h = { 80, 24, 0, "xterm", NULL, 1, NULL, 0, 0 };
	struct asciicast *ac;
	char label[1000];
	struct cast c;

	memset(label, '\x01', sizeof(label) - 1);
	label[sizeof(label) - 1] = '\0';
	ac = asciicast_open(fx->path, &h);
	assert_non_null(ac);
	assert_int_equal(asciicast_marker(ac, label), 0);
	assert_int_equal(asciicast_close(ac), 0);
	cast_read(fx->path, &c);
	assert_int_equal(c.nevents, 1);
	assert_int_equal(strlen(ev_text(&c, 0)), 256);
	cast_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_chunked),
		cmocka_unit_test(test_escape_carry),
		cmocka_unit_test(test_escape_worst_case),
		cmocka_unit_test(test_utf8_copy),
#define T(f)	cmocka_unit_test_setup_teardown(f, setup, teardown)
		T(test_cast_header_and_events),
		T(test_cast_defaults_and_no_input),
		T(test_cast_refuses_existing),
		T(test_cast_complete_after_close),
		T(test_cast_output_tail_flushed),
		T(test_cast_input_tail_flushed),
		T(test_cast_marker_bounded),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
