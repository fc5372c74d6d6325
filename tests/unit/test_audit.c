/*
 * test_audit.c - the audit trail's formatter (bastion/audit_fmt.c) and its
 * journal/spool (bastion/audit_spool.c).
 *
 * Formatter: a table of hostile values (newline, CR, NUL, ESC, DEL, C1,
 * U+2028, bidi overrides, invalid UTF-8, '%', quotes, ']' and '\') and
 * what each must become; the RFC 5424 frame's length is exact, it carries
 * no control byte, an SD value cannot end its parameter or its element,
 * values are cut at a character boundary, a too long record keeps its
 * sequence number.  Spool: numbers follow each other across "restarts",
 * the chain links each line to the one before, a torn last line is cut
 * off, a full spool refuses (or, in allow mode, records and says so), the
 * reserve lets the end of a session in.  Group commit
 * (bastion/audit_commit.c): several processes append at once and every
 * record is in the journal once, numbered without a gap, the chain whole;
 * a ticket covered by a later sync returns without one; a failed sync is
 * an error for every ticket it was to cover, and only for those.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "unit_util.h"
#include "../../bastion/audit_commit.h"
#include "../../bastion/audit_fmt.h"
#include "../../bastion/audit_spool.h"
#include "../../bastion/config.h"

struct enc_case {
	const char	*in;
	size_t		 len;
	const char	*out;
};

static const struct enc_case enc_cases[] = {
	{ "alice", 5, "alice" },
	{ "a\nb", 3, "a%0Ab" },
	{ "a\rb", 3, "a%0Db" },
	{ "a\0b", 3, "a%00b" },
	{ "\033[2J", 4, "%1B[2J" },
	{ "del\177", 4, "del%7F" },
	{ "100%", 4, "100%25" },
	{ "q\"b]s\\", 6, "q\"b]s\\" },		/* SD escaping comes later */
	{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },		/* UTF-8 kept */
	{ "\xc2\x85", 2, "%C2%85" },			/* NEL (C1) */
	{ "x\xe2\x80\xa8y", 5, "x%E2%80%A8y" },		/* U+2028 */
	{ "\xe2\x80\xae", 3, "%E2%80%AE" },		/* RLO */
	{ "\xff\xfe", 2, "%FF%FE" },			/* not UTF-8 */
	{ "\xc0\xaf", 2, "%C0%AF" },			/* overlong '/' */
	{ "\xed\xa0\x80", 3, "%ED%A0%80" },		/* surrogate */
	{ "\xe2\x82", 2, "%E2%82" },			/* cut sequence */
};

static void
test_value_encoding(void **state)
{
	char out[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(enc_cases) / sizeof(enc_cases[0]); i++) {
		size_t n = audit_fmt_value(out, sizeof(out), enc_cases[i].in,
		    enc_cases[i].len, 0);

		assert_string_equal(out, enc_cases[i].out);
		assert_int_equal(n, strlen(enc_cases[i].out));
	}
}

static void
test_sd_escaping(void **state)
{
	char out[128];

	(void)state;
	audit_fmt_sd_value(out, sizeof(out), "a\"b]c\\d", 7);
	assert_string_equal(out, "a\\\"b\\]c\\\\d");
	/* A tampered spool value: still no control byte, '%' kept. */
	audit_fmt_sd_value(out, sizeof(out), "x\ny%0A", 6);
	assert_string_equal(out, "x%0Ay%0A");
}

static void
test_value_cut(void **state)
{
	char out[16], in[64];

	(void)state;
	memset(in, 'a', sizeof(in));
	audit_fmt_value(out, sizeof(out), in, sizeof(in), 0);
	assert_true(strlen(out) < sizeof(out));
	assert_string_equal(out + strlen(out) - 3, AUDIT_FMT_CUT);
	/* Never half a %HH, never half a character. */
	audit_fmt_value(out, sizeof(out), "\n\n\n\n\n\n", 6, 0);
	assert_true(strlen(out) < sizeof(out));
	assert_int_equal((strlen(out) - 3) % 3, 0);
	audit_fmt_value(out, sizeof(out), "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9", 14, 0);
	assert_int_equal((strlen(out) - 3) % 2, 0);
}

/* Checks the frame: exact length, no control byte, one SD element. */
static void
check_frame(const char *frame, long n, unsigned long long want_seq,
    unsigned long long seq)
{
	char *end;
	unsigned long len = strtoul(frame, &end, 10);
	long i;

	assert_true(n > 0);
	assert_int_equal(*end, ' ');
	assert_int_equal(len, (unsigned long)(n - (end + 1 - frame)));
	for (i = 0; i < n; i++)
		assert_false((unsigned char)frame[i] < 0x20 ||
		    (unsigned char)frame[i] == 0x7f);
	assert_int_equal(seq, want_seq);
}

static void
test_rfc5424(void **state)
{
	static char out[AUDIT_FMT_MSG_MAX + 64];
	const char *line = "{\"seq\":42,\"time\":\"2026-01-02T03:04:05.000006Z\","
	    "\"node\":\"bastion 1\",\"pid\":7,\"kind\":\"auth-failure\","
	    "\"person\":\"ev\\\"il] x=\\\"1\\\\\",\"outcome\":\"failure\","
	    "\"source\":\"192.0.2.1\",\"source_port\":5555}";
	unsigned long long seq = 0;
	long n;

	(void)state;
	n = audit_fmt_rfc5424(line, strlen(line), out, sizeof(out), &seq);
	check_frame(out, n, 42, seq);
	assert_non_null(strstr(out, "<84>1 2026-01-02T03:04:05.000006Z "
	    "bastion_1 hvbastion 7 auth-failure [hvbastion@32473 seq=\"42\""
	    " kind=\"auth-failure\" person=\"ev\\\"il\\] x=\\\"1\\\\\""));
	assert_non_null(strstr(out, " source_port=\"5555\""));
	/* Not a record: refused, never sent half-made. */
	assert_true(audit_fmt_rfc5424("{\"seq\":0}", 9, out, sizeof(out),
	    &seq) < 0);
	assert_true(audit_fmt_rfc5424("garbage", 7, out, sizeof(out),
	    &seq) < 0);
}

static void
test_rfc5424_too_long(void **state)
{
	static char out[AUDIT_FMT_MSG_MAX + 64], line[AUDIT_FMT_LINE_MAX];
	char quotes[4200];
	unsigned long long seq = 0;
	long n;

	(void)state;
	/* Quotes double when escaped: every field full is past the bound. */
	memset(quotes, '"', sizeof(quotes) - 1);
	quotes[sizeof(quotes) - 1] = '\0';
	{
		static const char *const keys[] = { "person", "role",
		    "source", "target", "login", "action", "outcome", "rule",
		    "session", "digest" };
		json_t *o = json_pack("{s:i, s:s, s:s, s:s}", "seq", 9,
		    "time", "t", "kind", "command", "detail", quotes + 2200);
		char *t;
		size_t i;

		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			json_object_set_new(o, keys[i], json_string(quotes +
			    sizeof(quotes) - 301));
		t = json_dumps(o, JSON_COMPACT);
		assert_true(strlen(t) < sizeof(line));
		snprintf(line, sizeof(line), "%s", t);
		free(t);
		json_decref(o);
	}
	n = audit_fmt_rfc5424(line, strlen(line), out, sizeof(out), &seq);
	check_frame(out, n, 9, seq);
	assert_non_null(strstr(out, "seq=\"9\" truncated=\"1\"]"));
	assert_true(n <= AUDIT_FMT_MSG_MAX + 8);
}

/* --- spool --------------------------------------------------------------- */

struct fx {
	char			 state[256];
	struct audit_spool_conf	 c;
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL || unit_mkdtemp(f->state, sizeof(f->state)) == NULL)
		return -1;
	chmod(f->state, 0700);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	unit_rmtree(f->c.dir);
	unit_rmtree(f->state);
	free(f);
	return 0;
}

static int
append(struct fx *f, const char *person, int reserve, uint64_t *seq)
{
	json_t *o = json_pack("{s:s, s:s}", "kind", "auth-success", "person",
	    person);
	int rc = audit_spool_append(&f->c, o, reserve, seq);

	json_decref(o);
	return rc;
}

static void
test_sequence_and_chain(void **state)
{
	struct fx *f = *state;
	char path[600], buf[4096];
	uint64_t seq = 0, last = 0;
	size_t n;
	int i;

	assert_int_equal(audit_spool_init(&f->c, f->state, 0), 0);
	for (i = 1; i <= 5; i++) {
		assert_int_equal(append(f, "alice", 0, &seq), 0);
		assert_int_equal(seq, (uint64_t)i);
	}
	/* A "restart": numbers go on from the journal. */
	memset(&f->c, 0, sizeof(f->c));
	assert_int_equal(audit_spool_init(&f->c, f->state, 0), 0);
	assert_int_equal(append(f, "bob", 0, &seq), 0);
	assert_int_equal(seq, 6);
	assert_int_equal(audit_journal_last(f->c.dir, &last), 0);
	assert_int_equal(last, 6);
	/* A torn last line (a writer killed mid-append) is cut off. */
	snprintf(path, sizeof(path), "%s/journal.jsonl", f->c.dir);
	{
		FILE *fp = fopen(path, "a");

		fputs("{\"seq\":7,\"kind\":\"to", fp);
		fclose(fp);
	}
	assert_int_equal(append(f, "carol", 0, &seq), 0);
	assert_int_equal(seq, 7);
	assert_int_equal(audit_spool_read(f->c.dir, 0, buf, sizeof(buf), &n),
	    0);
	assert_true(n > 0 && buf[n - 1] == '\n');
	buf[n] = '\0';
	assert_null(strstr(buf, "\"kind\":\"to"));
	assert_non_null(strstr(buf, "\"prev\":\""));
	/* A journal shorter than the delivered offset was replaced. */
	assert_int_equal(audit_spool_read(f->c.dir, 1 << 20, buf, sizeof(buf),
	    &n), -ERANGE);
}

static void
test_full_spool(void **state)
{
	struct fx *f = *state;
	uint64_t seq = 0, bytes, lines;
	int i, rc = 0;

	assert_int_equal(audit_spool_init(&f->c, f->state, 1), 0);
	f->c.mode = AUDIT_SPOOL_REFUSE;
	f->c.max = 4096;
	for (i = 0; i < 1000 && (rc = append(f, "alice", 0, &seq)) == 0; i++)
		;
	assert_int_equal(rc, -ENOSPC);
	assert_int_equal(audit_spool_depth(f->c.dir, &bytes, &lines), 0);
	assert_true(bytes <= 4096);
	assert_int_equal(lines, seq);
	/* The reserve: a session's end still gets in. */
	assert_int_equal(append(f, "alice", 1, &seq), 0);
	/* Delivered: room again. */
	assert_int_equal(audit_spool_commit(f->c.dir, bytes), 0);
	assert_int_equal(append(f, "alice", 0, &seq), 0);
	/* allow: recorded, but said to be over the bound. */
	f->c.max = 4096;
	f->c.mode = AUDIT_SPOOL_ALLOW;
	for (i = 0; i < 1000 && (rc = append(f, "alice", 0, &seq)) == 0; i++)
		;
	assert_int_equal(rc, 1);
}

/* --- group commit ------------------------------------------------------- */

#define WRITERS		6
#define PER_WRITER	150

static int
append_n(struct fx *f, int writer, int i, uint64_t *seq)
{
	json_t *o = json_pack("{s:s, s:s, s:i, s:i}", "kind", "api-call",
	    "person", "writer", "writer", writer, "i", i);
	int rc = audit_spool_append(&f->c, o, 0, seq);

	json_decref(o);
	return rc;
}

static void
hex(const unsigned char *h, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

/*
 * What "hvbastion verify --audit" checks (audit_admin.c), over the whole
 * journal: each line's "prev" is the SHA-256 of the line before, numbers
 * follow each other from 1.  Counts each writer's records in seen[].
 */
static size_t
verify_journal(const char *dir, int seen[WRITERS + 1][PER_WRITER])
{
	char path[600], prev[65], *line = NULL;
	unsigned char h[32];
	unsigned int hl;
	size_t cap = 0, lines = 0;
	ssize_t n;
	FILE *fp;

	snprintf(path, sizeof(path), "%s/journal.jsonl", dir);
	assert_non_null(fp = fopen(path, "r"));
	EVP_Digest(AUDIT_JOURNAL_SEED, strlen(AUDIT_JOURNAL_SEED), h, &hl,
	    EVP_sha256(), NULL);
	hex(h, sizeof(h), prev);
	while ((n = getline(&line, &cap, fp)) > 0) {
		json_t *o;
		json_int_t w, i;

		assert_int_equal(line[n - 1], '\n');
		assert_non_null(o = json_loadb(line, (size_t)n - 1, 0, NULL));
		lines++;
		assert_int_equal(json_integer_value(json_object_get(o, "seq")),
		    (json_int_t)lines);
		assert_string_equal(json_string_value(json_object_get(o,
		    "prev")), prev);
		w = json_integer_value(json_object_get(o, "writer"));
		i = json_integer_value(json_object_get(o, "i"));
		assert_true(w >= 0 && w <= WRITERS && i >= 0 &&
		    i < PER_WRITER);
		seen[w][i]++;
		json_decref(o);
		EVP_Digest(line, (size_t)n, h, &hl, EVP_sha256(), NULL);
		hex(h, sizeof(h), prev);
	}
	free(line);
	fclose(fp);
	return lines;
}

static void
test_group_commit_writers(void **state)
{
	struct fx *f = *state;
	static int seen[WRITERS + 1][PER_WRITER];
	pid_t pids[WRITERS];
	uint64_t seq = 0, appends, syncs;
	int w, i, st;

	assert_int_equal(audit_spool_init(&f->c, f->state, 0), 0);
	/* The parent appends first: the children inherit its descriptors
	 * and must open their own (a shared flock() is no lock). */
	assert_int_equal(append_n(f, WRITERS, 0, &seq), 0);
	assert_int_equal(seq, 1);
	for (w = 0; w < WRITERS; w++) {
		assert_true((pids[w] = fork()) >= 0);
		if (pids[w] == 0) {
			uint64_t last = 1;

			for (i = 0; i < PER_WRITER; i++)
				if (append_n(f, w, i, &seq) != 0 ||
				    seq <= last)
					_exit(1);
				else
					last = seq;
			_exit(0);
		}
	}
	for (w = 0; w < WRITERS; w++) {
		assert_int_equal(waitpid(pids[w], &st, 0), pids[w]);
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
	memset(seen, 0, sizeof(seen));
	assert_int_equal(verify_journal(f->c.dir, seen),
	    1 + WRITERS * PER_WRITER);
	for (w = 0; w < WRITERS; w++)
		for (i = 0; i < PER_WRITER; i++)
			assert_int_equal(seen[w][i], 1);
	assert_int_equal(seen[WRITERS][0], 1);
	/* Every append took a ticket; never more syncs than appends. */
	assert_int_equal(audit_commit_stats(&appends, &syncs), 0);
	assert_int_equal(appends, 1 + WRITERS * PER_WRITER);
	assert_true(syncs >= 1 && syncs <= appends);
	print_message("group commit: %llu appends by %d processes, %llu"
	    " fdatasync()\n", (unsigned long long)appends, WRITERS + 1,
	    (unsigned long long)syncs);
	/* The parent goes on after them, on the cached tail. */
	assert_int_equal(append_n(f, WRITERS, 1, &seq), 0);
	assert_int_equal(seq, 2 + WRITERS * PER_WRITER);
}

static void
test_group_commit_rules(void **state)
{
	struct fx *f = *state;
	char path[600], other[600];
	struct stat sb, so;
	uint64_t t1, t2, t3, t4, a, s0, s1;
	int fd, ofd, p[2];

	assert_int_equal(audit_spool_init(&f->c, f->state, 0), 0);
	assert_int_equal(audit_commit_open(f->c.dir), 0);
	snprintf(path, sizeof(path), "%s/journal.jsonl", f->c.dir);
	snprintf(other, sizeof(other), "%s/other", f->state);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600)) >=
	    0);
	assert_true((ofd = open(other, O_WRONLY | O_CREAT | O_APPEND,
	    0600)) >= 0);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_int_equal(fstat(ofd, &so), 0);
	assert_int_equal(write(fd, "a\n", 2), 2);
	assert_true((t1 = audit_commit_ticket()) > 0);
	assert_int_equal(write(fd, "b\n", 2), 2);
	t2 = audit_commit_ticket();
	assert_true(t2 > t1);
	/* The later ticket's sync covers the earlier one: no second. */
	assert_int_equal(audit_commit_stats(&a, &s0), 0);
	assert_int_equal(audit_commit_wait(fd, sb.st_dev, sb.st_ino, t2), 0);
	assert_int_equal(audit_commit_wait(fd, sb.st_dev, sb.st_ino, t1), 0);
	assert_int_equal(audit_commit_stats(&a, &s1), 0);
	assert_int_equal(s1, s0 + 1);
	/* Not for another file: that one is synced for itself. */
	assert_int_equal(audit_commit_wait(ofd, so.st_dev, so.st_ino, t1), 0);
	assert_int_equal(audit_commit_stats(&a, &s0), 0);
	assert_int_equal(s0, s1 + 1);
	/* Back on the journal (the record is about one file at a time). */
	assert_int_equal(audit_commit_wait(fd, sb.st_dev, sb.st_ino,
	    audit_commit_ticket()), 0);
	/* A failed sync (a pipe cannot be synced): an error for its
	 * caller, and for a ticket it was to cover even when that one
	 * asks later with a descriptor that would sync. */
	t3 = audit_commit_ticket();
	assert_int_equal(pipe(p), 0);
	assert_true(audit_commit_wait(p[1], sb.st_dev, sb.st_ino, t3) < 0);
	assert_int_equal(audit_commit_wait(fd, sb.st_dev, sb.st_ino, t3),
	    -EIO);
	close(p[0]);
	close(p[1]);
	/* Tickets after it are not concerned; nor those before it. */
	t4 = audit_commit_ticket();
	assert_int_equal(audit_commit_wait(fd, sb.st_dev, sb.st_ino, t4), 0);
	assert_int_equal(audit_commit_wait(fd, sb.st_dev, sb.st_ino, t2), 0);
	/* Without a ticket: a plain fdatasync(). */
	assert_int_equal(audit_commit_wait(fd, sb.st_dev, sb.st_ino, 0), 0);
	close(fd);
	close(ofd);
}

/* --- configuration ------------------------------------------------------- */

static struct config *
load(struct fx *f, const char *text, struct unit_msgs *m)
{
	char path[600];

	if (unit_write_file(f->state, "c.conf", text, strlen(text), 0644, path,
	    sizeof(path)) < 0)
		return NULL;
	return config_load(path, unit_msgs_add, m);
}

static int
said(const struct unit_msgs *m, const char *needle)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (strstr(m->v[i], needle) != NULL)
			return 1;
	return 0;
}

static void
test_config(void **state)
{
	struct fx *f = *state;
	struct unit_msgs m;
	struct config *c;
	char text[2048], path[600];

	memset(&m, 0, sizeof(m));
	unit_write_file(f->state, "ca.pem", "x", 1, 0644, path, sizeof(path));
	unit_write_file(f->state, "k.pem", "x", 1, 0644, path, sizeof(path));
	unit_write_file(f->state, "c.pem", "x", 1, 0644, path, sizeof(path));
	/* defaults */
	c = load(f, "state-directory \"/tmp\"\n", &m);
	assert_non_null(c);
	assert_null(c->audit_collector);
	assert_int_equal(c->audit_spool_max, AUDIT_SPOOL_MAX_DEFAULT);
	assert_int_equal(c->audit_spool_full, AUDIT_SPOOL_FULL_REFUSE);
	assert_non_null(c->audit_node_name);
	config_free(c);
	/* a full block */
	snprintf(text, sizeof(text), "audit-collector \"192.0.2.9\" port 6514"
	    " tls yes\naudit-ca \"%s/ca.pem\"\naudit-node-name \"b-1\"\n"
	    "audit-spool-max 2m\naudit-spool-full allow\naudit-libaudit no\n"
	    "audit-protocol relp\n", f->state);
	c = load(f, text, &m);
	unit_msgs_print(&m);
	assert_non_null(c);
	assert_string_equal(c->audit_collector, "192.0.2.9");
	assert_int_equal(c->audit_port, 6514);
	assert_int_equal(c->audit_plain_tcp, 0);
	assert_int_equal(c->audit_spool_max, 2 * 1024 * 1024);
	assert_int_equal(c->audit_spool_full, AUDIT_SPOOL_FULL_ALLOW);
	assert_int_equal(c->audit_libaudit_off, 1);
	assert_int_equal(c->audit_protocol, AUDIT_PROTOCOL_RELP);
	assert_string_equal(c->audit_node_name, "b-1");
	config_free(c);
	/* refused: TLS without a CA, a key others can read, bad values */
	unit_msgs_clear(&m);
	snprintf(text, sizeof(text), "audit-collector \"192.0.2.9\" port 6514"
	    "\naudit-client-certificate \"%s/c.pem\"\n"
	    "audit-client-key \"%s/k.pem\"\naudit-node-name \"a b\"\n"
	    "audit-spool-max 12\naudit-spool-full maybe\n"
	    "audit-protocol syslog\n", f->state, f->state);
	assert_null(load(f, text, &m));
	assert_true(said(&m, "needs audit-ca"));
	assert_true(said(&m, "readable or writable by group or others"));
	assert_true(said(&m, "audit-node-name"));
	assert_true(said(&m, "audit-spool-max"));
	assert_true(said(&m, "audit-spool-full"));
	assert_true(said(&m, "audit-protocol: rfc5425 or relp"));
	unit_msgs_clear(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_encoding),
		cmocka_unit_test(test_sd_escaping),
		cmocka_unit_test(test_value_cut),
		cmocka_unit_test(test_rfc5424),
		cmocka_unit_test(test_rfc5424_too_long),
		cmocka_unit_test_setup_teardown(test_sequence_and_chain, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_full_spool, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_writers,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_commit_rules,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
