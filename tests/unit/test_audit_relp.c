/*
 * test_audit_relp.c - the shipper's RELP framing (audit_relp.h): frames
 * as librelp writes and reads them, the answers of a real imrelp session
 * read whole or byte by byte, and every malformed frame refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../../bastion/audit_relp.h"

/* What rsyslog 8.2302 with librelp 1.11 answered in a session. */
static const char session[] =
    "1 rsp 93 200 OK\nrelp_version=0\n"
    "relp_software=librelp,1.11.0,http://librelp.adiscon.com\n"
    "commands=syslog\n"
    "2 rsp 6 200 OK\n"
    "3 rsp 0\n"
    "0 serverclose 0\n";

static void
test_frame(void **state)
{
	char out[128];
	long n;

	(void)state;
	n = audit_relp_frame(out, sizeof(out), 2, "syslog", "<13>1 - x", 9);
	assert_int_equal(n, 21);
	assert_memory_equal(out, "2 syslog 9 <13>1 - x\n", 21);
	n = audit_relp_frame(out, sizeof(out), 3, "close", NULL, 0);
	assert_int_equal(n, 10);
	assert_memory_equal(out, "3 close 0\n", 10);
	/* no room, no command, not letters, txnr too big */
	assert_int_equal(audit_relp_frame(out, 12, 2, "syslog", "<13>1 - x",
	    9), -1);
	assert_int_equal(audit_relp_frame(out, sizeof(out), 2, "", "x", 1),
	    -1);
	assert_int_equal(audit_relp_frame(out, sizeof(out), 2, "sys log",
	    "x", 1), -1);
	assert_int_equal(audit_relp_frame(out, sizeof(out), 1000000000u,
	    "syslog", "x", 1), -1);
	assert_int_equal(audit_relp_next_txnr(1), 2);
	assert_int_equal(audit_relp_next_txnr(AUDIT_RELP_TXNR_MAX), 1);
}

/* Reads text in chunks of step bytes; the frames' txnr and commands. */
static int
read_in_steps(const char *text, size_t len, size_t step, unsigned *txnr,
    char cmds[][AUDIT_RELP_CMD_MAX + 1], int max, int is_session)
{
	struct audit_relp_reader r;
	struct audit_relp_frame f;
	size_t off = 0;
	int n = 0;

	audit_relp_reader_init(&r);
	while (off < len) {
		size_t chunk = len - off < step ? len - off : step, used;
		int rc = audit_relp_read(&r, text + off, chunk, &used, &f);

		if (rc < 0)
			return -1;
		off += used;
		if (rc == 1 && n < max) {
			txnr[n] = f.txnr;
			memcpy(cmds[n], f.command, sizeof(cmds[n]));
			if (is_session && n == 0)
				assert_int_equal(audit_relp_open_accepted(
				    f.data, f.len), 0);
			if (is_session && n == 1) {
				assert_int_equal(f.len, 6);
				assert_int_equal(audit_relp_rsp_status(f.data,
				    f.len), 200);
			}
			n++;
		}
	}
	return n;
}

static void
test_session_whole_and_byte_by_byte(void **state)
{
	char cmds[8][AUDIT_RELP_CMD_MAX + 1];
	unsigned txnr[8];
	size_t step;

	(void)state;
	for (step = 1; step <= sizeof(session); step++) {
		assert_int_equal(read_in_steps(session, sizeof(session) - 1,
		    step, txnr, cmds, 8, 1), 4);
		assert_int_equal(txnr[0], 1);
		assert_int_equal(txnr[2], 3);
		assert_string_equal(cmds[2], "rsp");
		assert_int_equal(txnr[3], 0);
		assert_string_equal(cmds[3], "serverclose");
	}
}

static int
refused(const char *text)
{
	char cmds[4][AUDIT_RELP_CMD_MAX + 1];
	unsigned txnr[4];

	return read_in_steps(text, strlen(text), 1, txnr, cmds, 4, 0) < 0;
}

static void
test_malformed_refused(void **state)
{
	char big[64];

	(void)state;
	assert_true(refused("1234567890 rsp 0\n"));	/* txnr: 10 digits */
	assert_true(refused("1 rsp 6 200 OKX"));	/* no trailer */
	assert_true(refused("1  rsp 0\n"));
	assert_true(refused(" 1 rsp 0\n"));
	assert_true(refused("1 rsp\n"));
	assert_true(refused("1 r5p 0\n"));
	assert_true(refused("1 rsp 0 \n"));		/* 0 but a SP */
	assert_true(refused("1 rsp 3\nabc\n"));		/* LF for SP */
	assert_true(refused("1 rsp -1\n"));
	assert_true(refused("1 abcdefghijklmnopqrstuvwxyzabcdefg 0\n"));
	snprintf(big, sizeof(big), "1 rsp %d x", AUDIT_RELP_DATA_MAX + 1);
	assert_true(refused(big));
	/* what is fine */
	assert_false(refused("1 abcdefghijklmnopqrstuvwxyzabcdef 0\n"));
	assert_false(refused("999999999 rsp 3 500\n"));
}

/* A string and its length. */
#define S(text)	text, strlen(text)

static void
test_answers(void **state)
{
	(void)state;
	assert_int_equal(audit_relp_rsp_status(S("200 OK")), 200);
	assert_int_equal(audit_relp_rsp_status(S("500 queue full")), 500);
	assert_int_equal(audit_relp_rsp_status(S("200")), 200);
	assert_int_equal(audit_relp_rsp_status(S("20")), -1);
	assert_int_equal(audit_relp_rsp_status(S("2000")), -1);
	assert_int_equal(audit_relp_rsp_status(S("OK 200")), -1);
	/* an open answer must accept a version and offer syslog */
	assert_int_equal(audit_relp_open_accepted(
	    S("200 OK\nrelp_version=0\ncommands=eventlog,syslog")), 0);
	assert_int_equal(audit_relp_open_accepted(
	    S("200 OK\ncommands=syslog")), -1);
	assert_int_equal(audit_relp_open_accepted(
	    S("200 OK\nrelp_version=0\ncommands=syslogx")), -1);
	assert_int_equal(audit_relp_open_accepted(
	    S("500 no\nrelp_version=0\ncommands=syslog")), -1);
	/* "commands" named on the status line is not an offer */
	assert_int_equal(audit_relp_open_accepted(
	    S("200 commands=syslog\nrelp_version=0")), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_session_whole_and_byte_by_byte),
		cmocka_unit_test(test_malformed_refused),
		cmocka_unit_test(test_answers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
