/*
 * test_menu.c - the target menu: line editing of typed bytes (the client's
 * terminal is raw, so the bastion echoes and handles backspace), the list
 * it shows and how a typed choice is resolved against the configuration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "unit_util.h"
#include "../../bastion/config.h"
#include "../../bastion/menu.h"

/* --- menu_feed ------------------------------------------------------------ */

struct fed {
	enum menu_status st;
	size_t		 used;
	char		 echo[3 * 512 + 1];
	size_t		 echolen;
};

static void
feed(struct menu *m, const char *in, size_t len, struct fed *f)
{
	assert_true(len <= 512);
	memset(f->echo, 0, sizeof(f->echo));
	f->st = menu_feed(m, (const unsigned char *)in, len, &f->used,
	    f->echo, &f->echolen);
	assert_true(f->used <= len);
	assert_true(f->echolen <= 3 * len);
	f->echo[f->echolen] = '\0';
}

#define FEED(m, s, f)	feed((m), (s), sizeof(s) - 1, (f))

struct line_case {
	const char	*name;
	const char	*in;		/* fed in one call */
	enum menu_status st;
	size_t		 used;
	const char	*line;		/* when MENU_LINE */
	const char	*echo;
};

static const struct line_case line_cases[] = {
	{ "number and CR", "1\r", MENU_LINE, 2, "1", "1\r\n" },
	{ "name and LF", "pve1\n", MENU_LINE, 5, "pve1", "pve1\r\n" },
	{ "CR LF: stops at CR", "pve1\r\n", MENU_LINE, 5, "pve1",
	  "pve1\r\n" },
	{ "empty line", "\r", MENU_LINE, 1, "", "\r\n" },
	{ "rest left for later", "1\rls\r", MENU_LINE, 2, "1", "1\r\n" },
	{ "backspace DEL", "pvx\x7f" "e1\r", MENU_LINE, 7, "pve1",
	  "pvx\b \be1\r\n" },
	{ "backspace ^H", "pvx\be1\r", MENU_LINE, 7, "pve1",
	  "pvx\b \be1\r\n" },
	{ "backspace on empty line", "\x7f\x7f" "1\r", MENU_LINE, 4, "1",
	  "1\r\n" },
	{ "more backspaces than chars", "ab\x7f\x7f\x7f" "c\r", MENU_LINE, 7,
	  "c", "ab\b \b\b \bc\r\n" },
	{ "^C", "pv\x03" "e1\r", MENU_QUIT, 3, NULL, "pv" },
	{ "^D", "\x04", MENU_QUIT, 1, NULL, "" },
	{ "^\\", "1\x1c", MENU_QUIT, 2, NULL, "1" },
	{ "no line yet", "pve", MENU_MORE, 3, NULL, "pve" },
	{ "other control chars dropped", "p\x01v\x1a" "e\x00" "1\r",
	  MENU_LINE, 8, "pve1", "pve1\r\n" },
	{ "non-ASCII dropped", "p\xc3\xa9" "1\r", MENU_LINE, 5, "p1",
	  "p1\r\n" },
};

/*
 * Escape sequences (arrow and function keys) are ignored whole: their
 * printable tail must not end up in the line, nor be echoed.
 */
static const struct line_case escape_cases[] = {
	{ "arrow key", "1\x1b[A\r", MENU_LINE, 5, "1", "1\r\n" },
	{ "arrow key, SS3", "\x1bOB" "2\r", MENU_LINE, 5, "2", "2\r\n" },
	{ "ctrl-right", "p\x1b[1;5C" "ve1\r", MENU_LINE, 11, "pve1",
	  "pve1\r\n" },
	{ "F5", "\x1b[15~" "3\r", MENU_LINE, 7, "3", "3\r\n" },
};

static int
run_line_cases(const struct line_case *cases, size_t ncases)
{
	struct menu m;
	struct fed f;
	size_t i, len;
	int echo, failed = 0;

	for (i = 0; i < ncases; i++) {
		const struct line_case *c = &cases[i];

		/* One case has an embedded NUL: measure it by its end. */
		len = strlen(c->in);
		if (strcmp(c->name, "other control chars dropped") == 0)
			len = 9;
		for (echo = 0; echo <= 1; echo++) {
			menu_init(&m, echo);
			feed(&m, c->in, len, &f);
			if (f.st != c->st || f.used != c->used ||
			    (c->line != NULL && strcmp(m.line, c->line) != 0) ||
			    strcmp(f.echo, echo ? c->echo : "") != 0) {
				print_error("case \"%s\" (echo %d): status %d"
				    " used %zu line \"%s\" echo len %zu\n",
				    c->name, echo, f.st, f.used, m.line,
				    f.echolen);
				failed++;
			}
		}
	}
	return failed;
}

static void
test_feed_table(void **state)
{
	(void)state;
	assert_int_equal(run_line_cases(line_cases,
	    sizeof(line_cases) / sizeof(line_cases[0])), 0);
}

static void
test_escape_sequences(void **state)
{
	(void)state;
	assert_int_equal(run_line_cases(escape_cases,
	    sizeof(escape_cases) / sizeof(escape_cases[0])), 0);
}

static void
test_feed_in_pieces(void **state)
{
	struct menu m;
	struct fed f;

	(void)state;
	menu_init(&m, 1);
	FEED(&m, "pv", &f);
	assert_int_equal(f.st, MENU_MORE);
	assert_int_equal(f.used, 2);
	assert_string_equal(f.echo, "pv");
	FEED(&m, "e", &f);
	assert_int_equal(f.st, MENU_MORE);
	FEED(&m, "1\r", &f);
	assert_int_equal(f.st, MENU_LINE);
	assert_string_equal(m.line, "pve1");
	assert_string_equal(f.echo, "1\r\n");

	/* Nothing fed: nothing happens. */
	menu_init(&m, 1);
	feed(&m, "", 0, &f);
	assert_int_equal(f.st, MENU_MORE);
	assert_int_equal(f.used, 0);
	assert_int_equal(f.echolen, 0);
}

static void
test_escape_split(void **state)
{
	struct menu m;
	struct fed f;

	(void)state;
	/* A key's sequence split over two reads is still one key. */
	menu_init(&m, 1);
	FEED(&m, "1\x1b", &f);
	FEED(&m, "[D", &f);
	FEED(&m, "\r", &f);
	assert_int_equal(f.st, MENU_LINE);
	assert_string_equal(m.line, "1");
}

static void
test_overlong(void **state)
{
	char in[300];
	struct menu m;
	struct fed f;

	(void)state;
	memset(in, 'a', 200);
	in[200] = '\r';
	menu_init(&m, 1);
	feed(&m, in, 201, &f);
	assert_int_equal(f.st, MENU_LINE);
	assert_int_equal(strlen(m.line), MENU_LINE_MAX);
	assert_int_equal(m.len, MENU_LINE_MAX);
	/* Only what was kept is echoed. */
	assert_int_equal(f.echolen, MENU_LINE_MAX + 2);

	/* Backspace still works at the limit. */
	memset(in, 'b', 100);
	memcpy(in + 100, "\x7f" "c\r", 3);
	menu_init(&m, 1);
	feed(&m, in, 103, &f);
	assert_int_equal(f.st, MENU_LINE);
	assert_int_equal(strlen(m.line), MENU_LINE_MAX);
	assert_int_equal(m.line[MENU_LINE_MAX - 1], 'c');
	assert_int_equal(m.line[MENU_LINE_MAX - 2], 'b');

	/* The worst echo, all backspaces after a full line, fits. */
	memset(in, 'x', MENU_LINE_MAX);
	memset(in + MENU_LINE_MAX, 0x7f, 200);
	menu_init(&m, 1);
	feed(&m, in, MENU_LINE_MAX + 200, &f);
	assert_int_equal(f.st, MENU_MORE);
	assert_int_equal(m.len, 0);
	assert_int_equal(f.echolen, MENU_LINE_MAX + 3 * MENU_LINE_MAX);
}

/* --- menu_render and menu_choose on a real configuration ------------------ */

struct fixture {
	char		 dir[256];
	struct config	*conf;
};

static const char menu_conf[] =
    "credential \"c1\" {\n"
    "\tlogin \"root\"\n"
    "\tkey-file \"@KEY@\"\n"
    "}\n"
    "target \"pve1\" {\n"
    "\taddress \"10.0.0.11\"\n"
    "\thost-key \"@HOSTKEY@\"\n"
    "\tkind hypervisor\n"
    "\tcredential \"c1\"\n"
    "}\n"
    "target \"vm101\" {\n"
    "\taddress \"10.0.0.12\"\n"
    "\thost-key \"@HOSTKEY@\"\n"
    "\tkind guest\n"
    "\tcredential \"c1\"\n"
    "}\n"
    "role \"hv\" {\n"
    "\tside hypervisor\n"
    "}\n"
    "role \"guests\" {\n"
    "\tside guest\n"
    "}\n"
    "grant \"hv\" {\n"
    "\ttargets \"pve1\"\n"
    "}\n"
    "grant \"guests\" {\n"
    "\ttargets kind guest\n"
    "}\n"
    "user \"alice\" {\n"
    "\tpublic-key \"@USERKEY@\"\n"
    "\trole \"hv\"\n"
    "\trole \"guests\"\n"
    "}\n"
    "separation-exception \"alice\" \"the menu lists both sides\"\n"
    "user \"bob\" {\n"
    "\tpublic-key \"@USERKEY@\"\n"
    "}\n"
    "user \"carol\" {\n"
    "\tpublic-key \"@USERKEY@\"\n"
    "\trole \"guests\"\n"
    "}\n";

static int
setup(void **state)
{
	static const char *const keys[] = { "@KEY@", "@HOSTKEY@",
	    "@USERKEY@" };
	char key[PATH_MAX], hostkey[256], userkey[256], conf[PATH_MAX];
	const char *vals[] = { key, hostkey, userkey };
	struct unit_msgs msgs = { .n = 0 };
	struct fixture *fx;
	char text[8192];

	if ((fx = calloc(1, sizeof(*fx))) == NULL ||
	    unit_mkdtemp(fx->dir, sizeof(fx->dir)) == NULL)
		return -1;
	if (unit_write_file(fx->dir, "key", "x", 1, 0600, key,
	    sizeof(key)) < 0 ||
	    unit_new_pubkey(hostkey, sizeof(hostkey)) < 0 ||
	    unit_new_pubkey(userkey, sizeof(userkey)) < 0 ||
	    unit_subst(text, sizeof(text), menu_conf, keys, vals, 3) < 0 ||
	    unit_write_file(fx->dir, "hvbastion.conf", text, strlen(text),
	    0600, conf, sizeof(conf)) < 0)
		return -1;
	fx->conf = config_load(conf, unit_msgs_add, &msgs);
	unit_msgs_print(&msgs);
	unit_msgs_clear(&msgs);
	if (fx->conf == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	config_free(fx->conf);
	unit_rmtree(fx->dir);
	free(fx);
	return 0;
}

static void
test_render(void **state)
{
	static const char want_alice[] =
	    "Targets available to alice:\r\n"
	    "   1) pve1                 hypervisor 10.0.0.11\r\n"
	    "   2) vm101                guest      10.0.0.12\r\n";
	struct fixture *fx = *state;
	char buf[1024];
	int n, count;

	n = menu_render(fx->conf, "alice", NULL, "\r\n", buf, sizeof(buf),
	    &count);
	assert_int_equal(n, (int)strlen(want_alice));
	assert_string_equal(buf, want_alice);
	assert_int_equal(count, 2);

	n = menu_render(fx->conf, "bob", NULL, "\n", buf, sizeof(buf),
	    &count);
	assert_string_equal(buf, "Targets available to bob:\n  (none)\n");
	assert_int_equal(n, (int)strlen(buf));
	assert_int_equal(count, 0);

	n = menu_render(fx->conf, "mallory", NULL, "\n", buf, sizeof(buf),
	    &count);
	assert_true(n > 0);
	assert_int_equal(count, 0);
	assert_non_null(strstr(buf, "(none)"));

	/* Exactly big enough, then one byte short. */
	n = menu_render(fx->conf, "alice", NULL, "\r\n", buf, sizeof(want_alice),
	    &count);
	assert_int_equal(n, (int)strlen(want_alice));
	n = menu_render(fx->conf, "alice", NULL, "\r\n", buf,
	    sizeof(want_alice) - 1, &count);
	assert_int_equal(n, -1);
	n = menu_render(fx->conf, "alice", NULL, "\r\n", buf, 10, &count);
	assert_int_equal(n, -1);
	n = menu_render(fx->conf, "bob", NULL, "\n", buf, 30, &count);
	assert_int_equal(n, -1);
}

struct choose_case {
	const char	*person, *line;
	const char	*target;	/* NULL: none */
	int		 quit;
};

static const struct choose_case choose_cases[] = {
	{ "alice", "1", "pve1", 0 },
	{ "alice", "2", "vm101", 0 },
	{ "alice", "01", "pve1", 0 },
	{ "alice", "3", NULL, 0 },
	{ "alice", "0", NULL, 0 },
	{ "alice", "-1", NULL, 0 },
	{ "alice", "1x", NULL, 0 },
	{ "alice", "1 ", NULL, 0 },
	{ "alice", "99999999999999999999999", NULL, 0 },
	{ "alice", "pve1", "pve1", 0 },
	{ "alice", "vm101", "vm101", 0 },
	{ "alice", "root@pve1", "pve1", 0 },
	{ "alice", "PVE1", NULL, 0 },
	{ "alice", "pve", NULL, 0 },
	{ "alice", "", NULL, 0 },
	{ "alice", "q", NULL, 1 },
	{ "alice", "quit", NULL, 1 },
	{ "alice", "exit", NULL, 1 },
	{ "alice", "Q", NULL, 0 },
	{ "carol", "1", "vm101", 0 },
	{ "carol", "2", NULL, 0 },
	{ "carol", "pve1", NULL, 0 },	/* exists, but not granted */
	{ "bob", "1", NULL, 0 },
	{ "bob", "q", NULL, 1 },
	{ "mallory", "1", NULL, 0 },
	{ "mallory", "pve1", NULL, 0 },
};

static void
test_choose(void **state)
{
	struct fixture *fx = *state;
	const struct config_target *t;
	size_t i;
	int quit;

	for (i = 0; i < sizeof(choose_cases) / sizeof(choose_cases[0]); i++) {
		const struct choose_case *c = &choose_cases[i];

		quit = -1;
		t = menu_choose(fx->conf, c->person, NULL, c->line, &quit);
		if (quit != c->quit || (c->target == NULL ? t != NULL :
		    t == NULL || strcmp(t->name, c->target) != 0))
			fail_msg("menu_choose(%s, \"%s\") = %s, quit %d",
			    c->person, c->line, t != NULL ? t->name : "NULL",
			    quit);
	}
}

/* What is typed goes through menu_feed, then menu_choose. */
static void
test_typed_choice(void **state)
{
	struct fixture *fx = *state;
	const struct config_target *t;
	struct menu m;
	struct fed f;
	int quit;

	menu_init(&m, 1);
	FEED(&m, "3\x7f" "2\r", &f);
	assert_int_equal(f.st, MENU_LINE);
	t = menu_choose(fx->conf, "alice", NULL, m.line, &quit);
	assert_non_null(t);
	assert_string_equal(t->name, "vm101");
	assert_int_equal(quit, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_feed_table),
		cmocka_unit_test(test_escape_sequences),
		cmocka_unit_test(test_feed_in_pieces),
		cmocka_unit_test(test_escape_split),
		cmocka_unit_test(test_overlong),
		cmocka_unit_test_setup_teardown(test_render, setup, teardown),
		cmocka_unit_test_setup_teardown(test_choose, setup, teardown),
		cmocka_unit_test_setup_teardown(test_typed_choice, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
