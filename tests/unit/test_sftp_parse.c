/*
 * test_sftp_parse.c - the SFTP follower on hand-built packets.
 *
 * Each case is a conversation (packets from the client and the server) and
 * the events it must give.  Every case is fed whole, then split at every
 * byte boundary: the events must not change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "../../recorder/sftp_parse.h"

#define CONV_MAX	8192

struct conv {
	unsigned char	buf[2][CONV_MAX];	/* 0: client, 1: server */
	size_t		len[2];
	/* order of the packets: direction and end offset */
	int		dir[64];
	size_t		end[64];
	int		n;
};

static unsigned char pkt[CONV_MAX];
static size_t pktlen;

static void
p_u8(unsigned v)
{
	pkt[pktlen++] = (unsigned char)v;
}

static void
p_u32(uint32_t v)
{
	p_u8(v >> 24);
	p_u8((v >> 16) & 0xff);
	p_u8((v >> 8) & 0xff);
	p_u8(v & 0xff);
}

static void
p_u64(uint64_t v)
{
	p_u32((uint32_t)(v >> 32));
	p_u32((uint32_t)v);
}

static void
p_str(const void *s, size_t n)
{
	p_u32((uint32_t)n);
	memcpy(pkt + pktlen, s, n);
	pktlen += n;
}

#define P_STR(s)	p_str(s, strlen(s))

static void
begin(unsigned type)
{
	pktlen = 4;
	p_u8(type);
}

static void
end(struct conv *c, int dir)
{
	uint32_t n = (uint32_t)pktlen - 4;

	pkt[0] = n >> 24;
	pkt[1] = (n >> 16) & 0xff;
	pkt[2] = (n >> 8) & 0xff;
	pkt[3] = n & 0xff;
	memcpy(c->buf[dir] + c->len[dir], pkt, pktlen);
	c->len[dir] += pktlen;
	c->dir[c->n] = dir;
	c->end[c->n] = c->len[dir];
	c->n++;
}

static void
status(struct conv *c, uint32_t id, uint32_t code)
{
	begin(101);
	p_u32(id);
	p_u32(code);
	P_STR("msg");
	P_STR("");
	end(c, 1);
}

struct sink {
	json_t	*events;
};

static void
on_event(void *arg, json_t *ev)
{
	struct sink *s = arg;

	json_array_append_new(s->events, ev);
}

/*
 * Feeds the conversation in packet order, each packet cut into pieces of
 * at most step bytes (0: whole).  Returns the events as compact JSON.
 */
static char *
run(const struct conv *c, size_t step, int *rc)
{
	struct sink s = { json_array() };
	struct sftp_parse *sp = sftp_parse_new(on_event, &s);
	size_t off[2] = { 0, 0 }, n;
	char *out;
	int i;

	assert_non_null(sp);
	*rc = 0;
	for (i = 0; i < c->n && *rc == 0; i++) {
		int d = c->dir[i];

		while (off[d] < c->end[i] && *rc == 0) {
			n = c->end[i] - off[d];
			if (step > 0 && n > step)
				n = step;
			*rc = sftp_parse_feed(sp, d, c->buf[d] + off[d], n);
			off[d] += n;
		}
	}
	sftp_parse_finish(sp);
	sftp_parse_free(sp);
	out = json_dumps(s.events, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(s.events);
	return out;
}

static void
sha256_hex(const void *p, size_t n, char *out)
{
	unsigned char md[32];
	unsigned int len, i;

	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	for (i = 0; i < len; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* --- conversations --------------------------------------------------------- */

static void
conv_upload(struct conv *c)
{
	begin(1); p_u32(3); end(c, 0);		/* INIT */
	begin(2); p_u32(3); end(c, 1);		/* VERSION */
	begin(3); p_u32(1); P_STR("/tmp/up.bin"); p_u32(0x1a); p_u32(0);
	end(c, 0);				/* OPEN write|creat|trunc */
	begin(102); p_u32(1); P_STR("h0"); end(c, 1);
	begin(6); p_u32(2); P_STR("h0"); p_u64(0); P_STR("hello "); end(c, 0);
	begin(6); p_u32(3); P_STR("h0"); p_u64(6); P_STR("world"); end(c, 0);
	status(c, 2, 0);
	status(c, 3, 0);
	begin(4); p_u32(4); P_STR("h0"); end(c, 0);	/* CLOSE */
	status(c, 4, 0);
}

static void
conv_download_and_ops(struct conv *c)
{
	begin(3); p_u32(10); P_STR("/etc/motd"); p_u32(1); p_u32(0);
	end(c, 0);
	begin(102); p_u32(10); P_STR("H"); end(c, 1);
	begin(5); p_u32(11); P_STR("H"); p_u64(0); p_u32(4); end(c, 0);
	begin(5); p_u32(12); P_STR("H"); p_u64(4); p_u32(4); end(c, 0);
	begin(103); p_u32(11); P_STR("abcd"); end(c, 1);
	begin(103); p_u32(12); P_STR("ef"); end(c, 1);
	begin(4); p_u32(13); P_STR("H"); end(c, 0);
	status(c, 13, 0);
	begin(18); p_u32(14); P_STR("/a"); P_STR("/b"); end(c, 0);
	status(c, 14, 0);
	begin(200); p_u32(15); P_STR("posix-rename@openssh.com");
	P_STR("/b"); P_STR("/c"); end(c, 0);
	status(c, 15, 3);
	begin(13); p_u32(16); P_STR("/c"); end(c, 0);
	status(c, 16, 2);
	begin(14); p_u32(17); P_STR("/d"); p_u32(4); p_u32(0755); end(c, 0);
	status(c, 17, 0);
	begin(9); p_u32(18); P_STR("/d"); p_u32(4); p_u32(0600); end(c, 0);
	status(c, 18, 0);
	begin(15); p_u32(19); P_STR("/d"); end(c, 0);
	status(c, 19, 0);
	begin(17); p_u32(20); P_STR("/x"); end(c, 0);	/* STAT: a query */
	status(c, 20, 2);
	begin(3); p_u32(21); P_STR("/nope"); p_u32(1); p_u32(0); end(c, 0);
	status(c, 21, 2);
}

/* Out of order writes; a file left open at the end; hostile path bytes. */
static void
conv_unordered(struct conv *c)
{
	begin(3); p_u32(1); p_str("/t\x1b[2J\xff", 7); p_u32(0x2a); p_u32(0);
	end(c, 0);
	begin(102); p_u32(1); P_STR("h"); end(c, 1);
	begin(6); p_u32(2); P_STR("h"); p_u64(100); P_STR("late"); end(c, 0);
	begin(6); p_u32(3); P_STR("h"); p_u64(0); P_STR("early"); end(c, 0);
	status(c, 2, 0);
	status(c, 3, 4);
}

static void
conv_too_long(struct conv *c)
{
	pktlen = 0;
	p_u32(SFTP_MAX_PACKET + 1);
	p_u8(3);
	memcpy(c->buf[0], pkt, pktlen);
	c->len[0] = pktlen;
	c->dir[0] = 0;
	c->end[0] = pktlen;
	c->n = 1;
}

static void
conv_bad_string(struct conv *c)
{
	begin(3); p_u32(1); p_u32(1000); p_u8('x'); end(c, 0);
}

static void
conv_empty(struct conv *c)
{
	pktlen = 0;
	p_u32(0);
	memcpy(c->buf[1], pkt, pktlen);
	c->len[1] = pktlen;
	c->dir[0] = 1;
	c->end[0] = pktlen;
	c->n = 1;
}

struct sftp_case {
	const char	*name;
	void		(*build)(struct conv *);
	int		 fails;
	const char	*expect[8];	/* substrings of the events' JSON */
};

static char up_sha[65], down_sha[65];

static const struct sftp_case cases[] = {
	{ "upload", conv_upload, 0, {
	    "\"bytes\":11,", "\"bytes_read\":0,", "\"bytes_written\":11,",
	    "\"direction\":\"upload\"", "\"flags\":\"write,creat,trunc\"",
	    "\"op\":\"write\"", "\"path\":\"/tmp/up.bin\"", NULL } },
	{ "download and path operations", conv_download_and_ops, 0, {
	    "\"direction\":\"download\"",
	    "{\"new_path\":\"/b\",\"op\":\"rename\",\"path\":\"/a\","
	    "\"status\":\"ok\"}",
	    "{\"new_path\":\"/c\",\"op\":\"rename\",\"path\":\"/b\","
	    "\"status\":\"permission denied\"}",
	    "{\"op\":\"remove\",\"path\":\"/c\",\"status\":\"no such file\"}",
	    "{\"mode\":\"0755\",\"op\":\"mkdir\",\"path\":\"/d\"",
	    "{\"mode\":\"0600\",\"op\":\"setstat\",\"path\":\"/d\"",
	    "{\"flags\":\"read\",\"op\":\"open\",\"path\":\"/nope\","
	    "\"status\":\"no such file\"}", NULL } },
	{ "unordered, unfinished", conv_unordered, 0, {
	    "\"sequential\":false", "\"sha256\":null", "\"io_errors\":1",
	    "\"status\":\"unfinished\"", "\"bytes\":9,",
	    "\"path\":\"/t\\u001B[2J\xef\xbf\xbd\"", NULL } },
	{ "packet too long", conv_too_long, 1, { NULL } },
	{ "string past the end", conv_bad_string, 1, { NULL } },
	{ "empty packet", conv_empty, 1, { NULL } },
};

static void
test_cases(void **state)
{
	size_t i, step, total;
	(void)state;

	sha256_hex("hello world", 11, up_sha);
	sha256_hex("abcdef", 6, down_sha);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct conv *c = calloc(1, sizeof(*c));
		char *whole, *cut;
		int rc, rc2, j;

		assert_non_null(c);
		cases[i].build(c);
		whole = run(c, 0, &rc);
		if (rc != (cases[i].fails ? -1 : 0))
			fail_msg("%s: rc %d: %s", cases[i].name, rc, whole);
		for (j = 0; cases[i].expect[j] != NULL; j++)
			if (strstr(whole, cases[i].expect[j]) == NULL)
				fail_msg("%s: no %s in %s", cases[i].name,
				    cases[i].expect[j], whole);
		if (cases[i].build == conv_upload &&
		    strstr(whole, up_sha) == NULL)
			fail_msg("upload: no digest %s in %s", up_sha, whole);
		if (cases[i].build == conv_download_and_ops &&
		    strstr(whole, down_sha) == NULL)
			fail_msg("download: no digest %s in %s", down_sha,
			    whole);
		total = c->len[0] > c->len[1] ? c->len[0] : c->len[1];
		for (step = 1; step <= total; step++) {
			cut = run(c, step, &rc2);
			assert_int_equal(rc, rc2);
			if (strcmp(whole, cut) != 0)
				fail_msg("%s: cut at %zu: %s != %s",
				    cases[i].name, step, cut, whole);
			free(cut);
		}
		free(whole);
		free(c);
	}
}

/* Every split point of one stream, two pieces: same events. */
static void
test_every_boundary(void **state)
{
	struct conv *c = calloc(1, sizeof(*c));
	char *whole, *cut;
	size_t k;
	int rc;

	(void)state;
	assert_non_null(c);
	conv_upload(c);
	whole = run(c, 0, &rc);
	for (k = 1; k < c->len[0]; k++) {
		struct sink s = { json_array() };
		struct sftp_parse *sp = sftp_parse_new(on_event, &s);
		size_t so = 0, co = 0;
		int i;

		/* client bytes in two pieces at k, server replies as built */
		for (i = 0; i < c->n; i++) {
			if (c->dir[i] == 1) {
				sftp_parse_feed(sp, 1, c->buf[1] + so,
				    c->end[i] - so);
				so = c->end[i];
				continue;
			}
			while (co < c->end[i]) {
				size_t n = c->end[i] - co;

				if (co < k && co + n > k)
					n = k - co;
				assert_int_equal(sftp_parse_feed(sp, 0,
				    c->buf[0] + co, n), 0);
				co += n;
			}
		}
		sftp_parse_finish(sp);
		sftp_parse_free(sp);
		cut = json_dumps(s.events, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(s.events);
		assert_string_equal(whole, cut);
		free(cut);
	}
	free(whole);
	free(c);
}

/* A failed parser stays failed and says why. */
static void
test_error_sticks(void **state)
{
	struct sink s = { json_array() };
	struct sftp_parse *sp = sftp_parse_new(on_event, &s);
	unsigned char bad[5] = { 0xff, 0xff, 0xff, 0xff, 3 };

	(void)state;
	assert_string_equal(sftp_parse_error(sp), "");
	assert_int_equal(sftp_parse_feed(sp, SFTP_FROM_CLIENT, bad, 5), -1);
	assert_string_equal(sftp_parse_error(sp), "sftp packet too long");
	assert_int_equal(sftp_parse_feed(sp, SFTP_FROM_SERVER, "", 0), -1);
	sftp_parse_free(sp);
	json_decref(s.events);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_every_boundary),
		cmocka_unit_test(test_error_sticks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
