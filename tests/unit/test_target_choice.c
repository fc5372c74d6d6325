/*
 * test_target_choice.c - reading "alice+root+pve1" and "root@pve1 ls":
 * tables of what people type and what the bastion must make of it.  A
 * name that is not safe must never come back as a target or a login.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../bastion/names.h"
#include "../../bastion/target_choice.h"

/* 65 characters: one more than NAMES_MAX. */
#define LONG65	"aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeeeffffffffffggggg"
#define LONG64	"aaaaaaaaaabbbbbbbbbbccccccccccddddddddddeeeeeeeeeeffffffffffgggg"

struct user_case {
	const char	*in;
	int		 rc;
	const char	*person, *login, *target;
};

static const struct user_case user_cases[] = {
	{ "alice", TARGET_CHOICE_OK, "alice", "", "" },
	{ "alice+pve1", TARGET_CHOICE_OK, "alice", "", "pve1" },
	{ "alice+root+pve1", TARGET_CHOICE_OK, "alice", "root", "pve1" },
	{ "alice+_svc+vm-101.lab", TARGET_CHOICE_OK, "alice", "_svc",
	  "vm-101.lab" },
	{ LONG64 "+" LONG64 "+" LONG64, TARGET_CHOICE_OK, LONG64, LONG64,
	  LONG64 },
	{ "a+b+c+d", TARGET_CHOICE_BAD_FORM, NULL, NULL, NULL },
	{ "alice+root+pve1+", TARGET_CHOICE_BAD_FORM, NULL, NULL, NULL },
	{ "alice+pve1;id", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ "alice;id", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ "alice+ro ot+pve1", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ "alice+root@pve1", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ "alice+../pve1", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ "alice+-pve1", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ "_alice", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ LONG65, TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ "alice+" LONG65, TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ "alice+" LONG65 "+pve1", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ "al\xc3\xaf" "ce", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ "alice+pv\xc3\xa9" "1", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ "alice+pve1\n", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ "", TARGET_CHOICE_BAD_FORM, NULL, NULL, NULL },
	/*
	 * Empty parts: target_choice.h documents them as BAD_FORM ("too
	 * many '+', empty parts"), which selects the message that shows the
	 * expected form rather than the one about allowed characters.
	 */
	{ "alice+", TARGET_CHOICE_BAD_FORM, NULL, NULL, NULL },
	{ "+pve1", TARGET_CHOICE_BAD_FORM, NULL, NULL, NULL },
	{ "alice++pve1", TARGET_CHOICE_BAD_FORM, NULL, NULL, NULL },
	{ "+", TARGET_CHOICE_BAD_FORM, NULL, NULL, NULL },
};

static int
is_error(int rc)
{
	return rc == TARGET_CHOICE_BAD_NAME || rc == TARGET_CHOICE_BAD_FORM;
}

static void
test_from_user(void **state)
{
	struct target_choice tc;
	size_t i;
	int failed = 0, rc;

	(void)state;
	for (i = 0; i < sizeof(user_cases) / sizeof(user_cases[0]); i++) {
		const struct user_case *c = &user_cases[i];

		memset(&tc, 'X', sizeof(tc));
		rc = target_choice_from_user(c->in, &tc);
		if (rc != c->rc) {
			print_error("from_user(\"%s\") = %d, wanted %d\n",
			    c->in, rc, c->rc);
			failed++;
			/* Whatever the code, an error is still an error. */
			assert_true(c->rc == TARGET_CHOICE_OK ? rc == c->rc :
			    is_error(rc));
			continue;
		}
		if (rc != TARGET_CHOICE_OK)
			continue;
		assert_string_equal(tc.person, c->person);
		assert_string_equal(tc.login, c->login);
		assert_string_equal(tc.target, c->target);
	}
	assert_int_equal(failed, 0);
}

struct cmd_case {
	const char	*preset;	/* target from the login name, or NULL */
	const char	*cmd;
	int		 rc;
	const char	*login, *target, *rest;
};

static const struct cmd_case cmd_cases[] = {
	{ NULL, "pve1 uname -a", TARGET_CHOICE_OK, "", "pve1", "uname -a" },
	{ NULL, "root@pve1 ls", TARGET_CHOICE_OK, "root", "pve1", "ls" },
	{ NULL, "  pve1", TARGET_CHOICE_OK, "", "pve1", "" },
	{ NULL, "\tpve1 \t ls  -l ", TARGET_CHOICE_OK, "", "pve1",
	  "ls  -l " },
	{ NULL, "pve1", TARGET_CHOICE_OK, "", "pve1", "" },
	{ NULL, "", TARGET_CHOICE_OK, "", "", "" },
	{ NULL, "   ", TARGET_CHOICE_OK, "", "", "" },
	{ NULL, "pve1;id", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ NULL, "pve1;id ls", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ NULL, "../x", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ NULL, "pve1\nid", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ NULL, "$(id)", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ NULL, "@pve1", TARGET_CHOICE_BAD_FORM, NULL, NULL, NULL },
	{ NULL, "root@", TARGET_CHOICE_BAD_FORM, NULL, NULL, NULL },
	{ NULL, "a@b@c", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ NULL, "ro;ot@pve1 ls", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ NULL, LONG65 " ls", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	{ NULL, "pv\xc3\xa9 ls", TARGET_CHOICE_BAD_NAME, NULL, NULL, NULL },
	/* A target named in the login name keeps the whole command. */
	{ "pve1", "vm101 uname -a", TARGET_CHOICE_OK, "", "pve1",
	  "vm101 uname -a" },
	{ "pve1", "root@vm101 ls", TARGET_CHOICE_OK, "", "pve1",
	  "root@vm101 ls" },
	{ "pve1", "  ls;id", TARGET_CHOICE_OK, "", "pve1", "  ls;id" },
	{ "pve1", "", TARGET_CHOICE_OK, "", "pve1", "" },
};

static void
test_from_command(void **state)
{
	struct target_choice tc;
	const char *rest;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(cmd_cases) / sizeof(cmd_cases[0]); i++) {
		const struct cmd_case *c = &cmd_cases[i];
		char user[200];

		snprintf(user, sizeof(user), "alice%s%s",
		    c->preset != NULL ? "+" : "",
		    c->preset != NULL ? c->preset : "");
		assert_int_equal(target_choice_from_user(user, &tc),
		    TARGET_CHOICE_OK);
		rest = NULL;
		rc = target_choice_from_command(&tc, c->cmd, &rest);
		if (rc != c->rc)
			fail_msg("from_command(\"%s\") = %d, wanted %d",
			    c->cmd, rc, c->rc);
		if (rc != TARGET_CHOICE_OK)
			continue;
		assert_string_equal(tc.person, "alice");
		assert_string_equal(tc.login, c->login);
		assert_string_equal(tc.target, c->target);
		assert_non_null(rest);
		assert_string_equal(rest, c->rest);
		if (c->preset != NULL)
			assert_ptr_equal(rest, c->cmd);	/* not a copy */
	}
}

/* Login from the name, target from the command ("alice+root" is a target
 * named "root", so a login alone cannot come from the name). */
static void
test_login_name_without_target(void **state)
{
	struct target_choice tc;
	const char *rest;

	(void)state;
	assert_int_equal(target_choice_from_user("alice+root", &tc),
	    TARGET_CHOICE_OK);
	assert_string_equal(tc.target, "root");
	assert_string_equal(tc.login, "");
	assert_int_equal(target_choice_from_command(&tc, "pve1 ls", &rest),
	    TARGET_CHOICE_OK);
	assert_string_equal(tc.target, "root");
	assert_string_equal(rest, "pve1 ls");
}

static void
test_names(void **state)
{
	static const struct {
		const char	*s;
		int		 name, login, address;
	} cases[] = {
		{ "pve1", 1, 1, 1 },
		{ "vm-101.lab", 1, 1, 1 },
		{ "_svc", 0, 1, 0 },
		{ "-x", 0, 0, 0 },
		{ ".x", 0, 0, 1 },
		{ "10.0.0.1", 1, 1, 1 },
		{ "fe80::1", 0, 0, 1 },
		{ "a b", 0, 0, 0 },
		{ "a;b", 0, 0, 0 },
		{ "a+b", 0, 0, 0 },
		{ "a@b", 0, 0, 0 },
		{ "a/b", 0, 0, 0 },
		{ "caf\xc3\xa9", 0, 0, 0 },
		{ "", 0, 0, 0 },
		{ LONG64, 1, 1, 1 },
		{ LONG65, 0, 0, 1 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (names_valid(cases[i].s) != cases[i].name ||
		    names_valid_login(cases[i].s) != cases[i].login ||
		    names_valid_address(cases[i].s) != cases[i].address)
			fail_msg("names of \"%s\": %d %d %d", cases[i].s,
			    names_valid(cases[i].s),
			    names_valid_login(cases[i].s),
			    names_valid_address(cases[i].s));
	}
}

static void
test_strerror(void **state)
{
	(void)state;
	assert_string_equal(target_choice_strerror(TARGET_CHOICE_OK), "ok");
	assert_non_null(strstr(target_choice_strerror(TARGET_CHOICE_BAD_NAME),
	    "letters, digits"));
	assert_non_null(strstr(target_choice_strerror(TARGET_CHOICE_BAD_FORM),
	    "person+login+target"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_user),
		cmocka_unit_test(test_from_command),
		cmocka_unit_test(test_login_name_without_target),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_strerror),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
