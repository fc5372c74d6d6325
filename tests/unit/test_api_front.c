/*
 * test_api_front.c - the API front's pieces that need no network:
 * tickets and CSRF tokens, path normalisation, the HTTP request reader
 * under pveproxy's limits, login body fields and personal API tokens.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "../../bastion/api_form.h"
#include "../../bastion/api_http.h"
#include "../../bastion/api_path.h"
#include "../../bastion/api_ticket.h"
#include "../../bastion/api_vncbind.h"
#include "../../bastion/api_token.h"
#include "unit_util.h"

#define NOW	1800000000

static const unsigned char key[32] = { 0x42, 0x13 };

/* --- tickets ------------------------------------------------------------- */

static void
test_ticket_roundtrip(void **state)
{
	char t[API_TICKET_MAX], u[API_USERID_MAX];

	(void)state;
	assert_int_equal(api_ticket_set_key(key, sizeof(key)), 0);
	assert_int_equal(api_ticket_make("alice@pve", 0, NOW, t, sizeof(t)),
	    0);
	assert_memory_equal(t, "PVE:alice@pve:6B49D200::", 24);
	assert_int_equal(strlen(t), 24 + 64);
	assert_int_equal(api_ticket_check(t, 0, NOW + 10, 7200, u, sizeof(u)),
	    0);
	assert_string_equal(u, "alice@pve");
	/* A full ticket is not a partial one. */
	assert_int_equal(api_ticket_check(t, 1, NOW, 7200, u, sizeof(u)),
	    -EACCES);
	/* Expired, and from too far in the future. */
	assert_int_equal(api_ticket_check(t, 0, NOW + 7200, 7200, u,
	    sizeof(u)), -ETIMEDOUT);
	assert_int_equal(api_ticket_check(t, 0, NOW - API_TICKET_SKEW - 1,
	    7200, u, sizeof(u)), -ETIMEDOUT);
}

static void
test_ticket_forgeries(void **state)
{
	char t[API_TICKET_MAX], f[API_TICKET_MAX + 8], u[API_USERID_MAX];
	static const unsigned char other[32] = { 0x43 };

	(void)state;
	assert_int_equal(api_ticket_set_key(key, sizeof(key)), 0);
	assert_int_equal(api_ticket_make("alice@pve", 0, NOW, t, sizeof(t)),
	    0);
	/* Another user, another time, a flipped MAC digit, lower case. */
	snprintf(f, sizeof(f), "PVE:bobby@pve%s", t + 13);
	assert_int_equal(api_ticket_check(f, 0, NOW, 7200, u, sizeof(u)),
	    -EACCES);
	snprintf(f, sizeof(f), "%s", t);
	f[16] = f[16] == '0' ? '1' : '0';
	assert_int_equal(api_ticket_check(f, 0, NOW, 7200, u, sizeof(u)),
	    -EACCES);
	snprintf(f, sizeof(f), "%s", t);
	f[strlen(f) - 1] ^= 1;
	assert_int_equal(api_ticket_check(f, 0, NOW, 7200, u, sizeof(u)),
	    -EACCES);
	snprintf(f, sizeof(f), "%s", t);
	f[30] = (char)(f[30] >= 'A' ? f[30] + 32 : f[30]);
	if (strcmp(f, t) != 0)
		assert_int_equal(api_ticket_check(f, 0, NOW, 7200, u,
		    sizeof(u)), -EACCES);
	/* A partial ticket turned into a full one by cutting "!tfa!". */
	assert_int_equal(api_ticket_make("alice@pve", 1, NOW, t, sizeof(t)),
	    0);
	assert_memory_equal(t, "PVE:!tfa!alice@pve:", 19);
	snprintf(f, sizeof(f), "PVE:%s", t + 9);
	assert_int_equal(api_ticket_check(f, 0, NOW, 7200, u, sizeof(u)),
	    -EACCES);
	assert_int_equal(api_ticket_check(t, 1, NOW, 7200, u, sizeof(u)), 0);
	/* The partial ticket lives API_TFA_LIFETIME only. */
	assert_int_equal(api_ticket_check(t, 1, NOW + API_TFA_LIFETIME, 7200,
	    u, sizeof(u)), -ETIMEDOUT);
	/* Another key: nothing checks. */
	assert_int_equal(api_ticket_set_key(other, sizeof(other)), 0);
	assert_int_equal(api_ticket_check(t, 1, NOW, 7200, u, sizeof(u)),
	    -EACCES);
	/* Names the bastion does not know as names, realms it does not
	 * answer for. */
	assert_int_equal(api_ticket_make("root@pam!tok", 0, NOW, t,
	    sizeof(t)), -EINVAL);
	assert_int_equal(api_ticket_make("alice@9ldap", 0, NOW, t,
	    sizeof(t)), -EINVAL);
	assert_int_equal(api_ticket_make("alice@", 0, NOW, t, sizeof(t)),
	    -EINVAL);
	/* Any realm of Proxmox's form: api-realms is checked by the front. */
	assert_int_equal(api_ticket_make("alice@corp.example", 0, NOW, t,
	    sizeof(t)), 0);
	assert_int_equal(api_ticket_check(t, 0, NOW, 7200, u, sizeof(u)), 0);
	assert_string_equal(u, "alice@corp.example");
	assert_int_equal(api_ticket_make("../x@pve", 0, NOW, t, sizeof(t)),
	    -EINVAL);
	api_ticket_wipe_key();
	assert_int_not_equal(api_ticket_make("alice@pve", 0, NOW, t,
	    sizeof(t)), 0);
}

static void
test_csrf(void **state)
{
	char c[128];

	(void)state;
	assert_int_equal(api_ticket_set_key(key, sizeof(key)), 0);
	assert_int_equal(api_csrf_make("alice@pve", NOW, c, sizeof(c)), 0);
	assert_int_equal(strlen(c), 8 + 1 + 64);
	assert_int_equal(api_csrf_check(c, "alice@pve", NOW + 60, 7200), 0);
	/* Bound to the person. */
	assert_int_equal(api_csrf_check(c, "bob@pve", NOW, 7200), -EACCES);
	assert_int_equal(api_csrf_check(c, "alice@pve", NOW + 7200, 7200),
	    -ETIMEDOUT);
	assert_int_equal(api_csrf_check("", "alice@pve", NOW, 7200),
	    -EACCES);
	c[20] = c[20] == 'A' ? 'B' : 'A';
	assert_int_equal(api_csrf_check(c, "alice@pve", NOW, 7200), -EACCES);
}

/* --- paths --------------------------------------------------------------- */

static void
test_paths(void **state)
{
	static const struct {
		const char	*target;
		int		 rc;
		const char	*path;
		const char	*query;
	} cases[] = {
		{ "/api2/json", 0, "/", "" },
		{ "/api2/json/", 0, "/", "" },
		{ "/api2/json/version", 0, "/version", "" },
		{ "/api2/json/nodes/pve1/qemu/", 0, "/nodes/pve1/qemu", "" },
		{ "/api2/json/cluster/resources?type=vm", 0,
		    "/cluster/resources", "type=vm" },
		{ "/api2/json/nodes/p%76e1", 0, "/nodes/pve1", "" },
		{ "/api2/json/nodes/pve1%2Fqemu", 0, "/nodes/pve1/qemu", "" },
		{ "/api2/json/x/%C3%A9", 0, "/x/\xc3\xa9", "" },
		{ "/api2/json/nodes/../access", -EINVAL, "", "" },
		{ "/api2/json/nodes/%2e%2e/access", -EINVAL, "", "" },
		{ "/api2/json/nodes/%2E/x", -EINVAL, "", "" },
		{ "/api2/json//nodes", -EINVAL, "", "" },
		{ "/api2/json/nodes//", -EINVAL, "", "" },
		{ "/api2/json/nodes%2F%2Fx", -EINVAL, "", "" },
		{ "/api2/json/a%00b", -EINVAL, "", "" },
		{ "/api2/json/a%0d%0aX: y", -EINVAL, "", "" },
		{ "/api2/json/a%5cb", -EINVAL, "", "" },
		{ "/api2/json/a%ff", -EINVAL, "", "" },
		{ "/api2/json/a%C0%AF", -EINVAL, "", "" },	/* overlong */
		{ "/api2/json/a%ED%A0%80", -EINVAL, "", "" },	/* surrogate */
		{ "/api2/json/a%2", -EINVAL, "", "" },
		{ "/api2/json/a?b=%zz", -EINVAL, "", "" },
		{ "/api2/json/a?b=<x>", -EINVAL, "", "" },
		{ "/api2/json/a?b c", -EINVAL, "", "" },
		{ "http://evil/api2/json/version", -EINVAL, "", "" },
		{ "*", -EINVAL, "", "" },
		{ "/api2/extjs/version", -ENOENT, "", "" },
		{ "/api2/jsonx", -ENOENT, "", "" },
		{ "/", -ENOENT, "", "" },
	};
	char path[API_PATH_MAX], query[API_QUERY_MAX], enc[API_PATH_MAX * 3];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = api_path_normalise(cases[i].target, path,
		    sizeof(path), query, sizeof(query));

		if (rc != cases[i].rc)
			fail_msg("%s: %d, expected %d", cases[i].target, rc,
			    cases[i].rc);
		if (rc == 0) {
			assert_string_equal(path, cases[i].path);
			assert_string_equal(query, cases[i].query);
		}
	}
	assert_int_equal(api_path_encode("/x/\xc3\xa9 y", enc, sizeof(enc)),
	    0);
	assert_string_equal(enc, "/x/%C3%A9%20y");
	assert_int_equal(api_path_encode("/abc", enc, 4), -ENAMETOOLONG);
}

/* --- the HTTP reader ----------------------------------------------------- */

static struct api_http_request req;

/* Feeds all of s (in pieces of step bytes); the result. */
static int
feed(const char *s, size_t len, size_t step, size_t *left)
{
	struct api_http_reader rd;
	size_t off = 0, used;
	int rc = API_HTTP_MORE;

	api_http_begin(&rd, &req);
	while (off < len && rc == API_HTTP_MORE) {
		size_t n = len - off < step ? len - off : step;

		rc = api_http_feed(&rd, s + off, n, &used);
		off += used;
	}
	if (left != NULL)
		*left = len - off;
	return rc;
}

static int
feed_str(const char *s)
{
	return feed(s, strlen(s), 7, NULL);
}

static void
test_http_request(void **state)
{
	static const char two[] = "POST /api2/json/access/ticket HTTP/1.1\r\n"
	    "Host: x\r\nContent-Type: application/json\r\n"
	    "Content-Length: 2\r\n\r\n{}GET / HTTP/1.1\r\n\r\n";
	size_t left;
	int c;

	(void)state;
	assert_int_equal(feed(two, sizeof(two) - 1, 5, &left), API_HTTP_DONE);
	assert_string_equal(req.method, "POST");
	assert_string_equal(req.target, "/api2/json/access/ticket");
	assert_int_equal(req.body_len, 2);
	assert_string_equal(req.body, "{}");
	assert_string_equal(api_http_header(&req, "content-type", &c),
	    "application/json");
	assert_int_equal(c, 1);
	assert_true(req.keep_alive);
	/* The pipelined request is left for the next round. */
	assert_int_equal(left, strlen("GET / HTTP/1.1\r\n\r\n"));
	api_http_request_clear(&req);
}

static void
test_http_limits(void **state)
{
	char *buf = malloc(API_HTTP_MAX_BODY + 16384);
	size_t i, o;

	(void)state;
	assert_non_null(buf);
	/* 64 header lines pass, 65 do not (the connection is dropped). */
	for (i = 64; i <= 65; i++) {
		size_t j;

		o = (size_t)snprintf(buf, 64, "GET /x HTTP/1.1\r\n");
		for (j = 0; j < i; j++)
			o += (size_t)snprintf(buf + o, 32, "X-%zu: v\r\n", j);
		o += (size_t)snprintf(buf + o, 4, "\r\n");
		assert_int_equal(feed(buf, o, 100, NULL), i == 64 ?
		    API_HTTP_DONE : API_HTTP_ERROR);
		if (i == 65)
			assert_int_equal(req.status, 431);
	}
	/* 8 KiB of header. */
	o = (size_t)snprintf(buf, 64, "GET /x HTTP/1.1\r\nX-Big: ");
	memset(buf + o, 'a', 8200);
	o += 8200;
	memcpy(buf + o, "\r\n\r\n", 4);
	assert_int_equal(feed(buf, o + 4, 512, NULL), API_HTTP_ERROR);
	assert_int_equal(req.status, 431);
	/* Bodies: 512 KiB pass, one more byte does not. */
	o = (size_t)snprintf(buf, 128, "PUT /x HTTP/1.1\r\nContent-Length:"
	    " %d\r\n\r\n", API_HTTP_MAX_BODY);
	memset(buf + o, 'b', API_HTTP_MAX_BODY);
	assert_int_equal(feed(buf, o + API_HTTP_MAX_BODY, 65536, NULL),
	    API_HTTP_DONE);
	assert_int_equal(req.body_len, API_HTTP_MAX_BODY);
	assert_int_equal(feed_str("PUT /x HTTP/1.1\r\nContent-Length:"
	    " 524289\r\n\r\n"), API_HTTP_ERROR);
	assert_int_equal(req.status, 501);
	assert_string_equal(req.reason, "for data too large");
	free(buf);
	api_http_request_clear(&req);
}

static void
test_http_refusals(void **state)
{
	static const struct {
		const char	*req;
		int		 status;
		const char	*reason;
	} cases[] = {
		{ "PATCH /x HTTP/1.1\r\n\r\n", 501,
		    "method 'PATCH' not available" },
		{ "CONNECT a:443 HTTP/1.1\r\n\r\n", 501,
		    "method 'CONNECT' not available" },
		{ "OPTIONS * HTTP/1.1\r\n\r\n", 501,
		    "method 'OPTIONS' not available" },
		{ "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		    501, "chunked transfer encoding not supported" },
		{ "POST /x HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
		    501, "Unknown transfer encoding 'gzip'" },
		{ "GET /x HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 501,
		    "Unexpected content for method 'GET'" },
		{ "DELETE /x HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 501,
		    "Unexpected content for method 'DELETE'" },
		{ "POST /x HTTP/1.1\r\nContent-Length: 1\r\n"
		    "Content-Length: 2\r\n\r\nxx", 400, "bad request" },
		{ "GET /x HTTP/2.0\r\n\r\n", 506,
		    "http protocol version 2.0 not supported" },
		{ "GET /x\r\n\r\n", 400, "bad request" },
		{ "GET /x HTTP/1.1\r\nBad Header\r\n\r\n", 506,
		    "unable to parse request header" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (feed_str(cases[i].req) != API_HTTP_ERROR)
			fail_msg("accepted: %s", cases[i].req);
		if (req.status != cases[i].status ||
		    strcmp(req.reason, cases[i].reason) != 0)
			fail_msg("%s: %d %s", cases[i].req, req.status,
			    req.reason);
	}
	api_http_request_clear(&req);
}

/* --- login fields -------------------------------------------------------- */

static void
test_form(void **state)
{
	static const char form[] = "username=alice%40pve&password=a+b%26c"
	    "&realm=&x";
	static const char json[] = "{\"username\":\"alice@pve\","
	    "\"password\":\"p\\u00e9\",\"n\":5}";
	char out[64];

	(void)state;
	assert_int_equal(api_form_get(form, strlen(form), 0, "username", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "alice@pve");
	assert_int_equal(api_form_get(form, strlen(form), 0, "password", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "a b&c");
	assert_int_equal(api_form_get(form, strlen(form), 0, "realm", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(api_form_get(form, strlen(form), 0, "otp", out,
	    sizeof(out)), -ENOENT);
	assert_int_equal(api_form_get("a=1&a=2", 7, 0, "a", out, sizeof(out)),
	    -EINVAL);
	assert_int_equal(api_form_get("a=%00", 5, 0, "a", out, sizeof(out)),
	    -EINVAL);
	assert_int_equal(api_form_get("a=12345678", 10, 0, "a", out, 4),
	    -EINVAL);
	assert_int_equal(api_form_get(json, strlen(json), 1, "password", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "p\xc3\xa9");
	assert_int_equal(api_form_get(json, strlen(json), 1, "n", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "5");
	assert_int_equal(api_form_get("{\"a\":1,\"a\":2}", 13, 1, "a", out,
	    sizeof(out)), -EINVAL);
	assert_int_equal(api_form_get("{\"a\":\"x\\u0000y\"}", 16, 1, "a",
	    out, sizeof(out)), -EINVAL);
	assert_int_equal(api_form_get("[1]", 3, 1, "a", out, sizeof(out)),
	    -EINVAL);
}

/* --- personal API tokens ------------------------------------------------- */

/* The store is one level deep: DIR/api-tokens/<person>. */
static void
cleanup(const char *dir)
{
	static const char *const files[] = { "alice", "alice.tmp" };
	char p[512];
	size_t i;

	for (i = 0; i < 2; i++) {
		snprintf(p, sizeof(p), "%.200s/api-tokens/%s", dir, files[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%.200s/api-tokens", dir);
	rmdir(p);
	rmdir(dir);
}

static void
test_tokens(void **state)
{
	char dir[256], secret[64], value[256], user[API_USERID_MAX];
	char why[200];

	(void)state;
	assert_non_null(unit_mkdtemp(dir, sizeof(dir)));
	assert_int_equal(api_token_create(dir, "alice", "ci", secret,
	    sizeof(secret)), 0);
	assert_int_equal(strlen(secret), API_TOKEN_SECRET_LEN);
	assert_int_equal(api_token_create(dir, "alice", "ci", secret,
	    sizeof(secret)), -EEXIST);
	assert_int_equal(api_token_create(dir, "alice", "9bad", secret,
	    sizeof(secret)), -EINVAL);
	assert_int_equal(api_token_create(dir, "../x", "ci", secret,
	    sizeof(secret)), -EINVAL);
	assert_int_equal(api_token_create(dir, "alice", "ci", secret,
	    sizeof(secret)), -EEXIST);
	assert_int_equal(api_token_create(dir, "alice", "ops", value,
	    sizeof(value)), 0);
	assert_int_equal(api_token_create(dir, "alice", "ci2", secret,
	    sizeof(secret)), 0);
	snprintf(value, sizeof(value), "alice@pve!ci2=%s", secret);
	assert_int_equal(api_token_check(dir, value, user, sizeof(user), why,
	    sizeof(why)), 0);
	assert_string_equal(user, "alice@pve");
	snprintf(value, sizeof(value), "alice@pve!ci2 %s", secret);
	assert_int_equal(api_token_check(dir, value, user, sizeof(user), why,
	    sizeof(why)), 0);
	/* Bound to the person and the id. */
	snprintf(value, sizeof(value), "bob@pve!ci2=%s", secret);
	assert_int_equal(api_token_check(dir, value, user, sizeof(user), why,
	    sizeof(why)), -EACCES);
	snprintf(value, sizeof(value), "alice@pve!ci=%s", secret);
	assert_int_equal(api_token_check(dir, value, user, sizeof(user), why,
	    sizeof(why)), -EACCES);
	assert_int_equal(api_token_revoke(dir, "alice", "ci2"), 0);
	assert_int_equal(api_token_revoke(dir, "alice", "ci2"), -ENOENT);
	snprintf(value, sizeof(value), "alice@pve!ci2=%s", secret);
	assert_int_equal(api_token_check(dir, value, user, sizeof(user), why,
	    sizeof(why)), -EACCES);
	cleanup(dir);
}

/* Console tickets bound to a person, path, port and node (api_vncbind). */
static void
test_vncbind(void **state)
{
	static const unsigned char vkey[32] = { 9 };
	static const char node_ticket[] = "PVEVNC:6B8E4A20::aGVs+bG8/=";
	static const char answer[] = "{\"data\":{\"ticket\":"
	    "\"PVEVNC:1::x/+=\",\"port\":5905,\"user\":\"u@pve!t\"}}";
	char b[API_VNCBIND_MAX], t[API_VNCTICKET_MAX + 1], n[64], q[4096];
	char *body = NULL;
	size_t blen = 0;
	int kind = 0;

	(void)state;
	assert_int_equal(api_vncbind_set_key(vkey, sizeof(vkey)), 0);
	assert_int_equal(api_vncbind_wrap("alice@pve", "/nodes/pve2", 5901,
	    "pve1", API_VNCBIND_TERM, NOW, node_ticket, b, sizeof(b)), 0);
	/* The node's ticket stays first (a qemu VNC password is 8 long). */
	assert_int_equal(strncmp(b, node_ticket, strlen(node_ticket)), 0);
	assert_int_equal(api_vncbind_unwrap(b, "alice@pve", "/nodes/pve2",
	    5901, NOW + 59, t, sizeof(t), n, sizeof(n), &kind), 0);
	assert_string_equal(t, node_ticket);
	assert_string_equal(n, "pve1");
	assert_int_equal(kind, API_VNCBIND_TERM);
	/* Another person, path, port; too late; from the future. */
	assert_int_equal(api_vncbind_unwrap(b, "bob@pve", "/nodes/pve2",
	    5901, NOW, t, sizeof(t), n, sizeof(n), &kind), -EACCES);
	assert_int_equal(api_vncbind_unwrap(b, "alice@pam", "/nodes/pve2",
	    5901, NOW, t, sizeof(t), n, sizeof(n), &kind), -EACCES);
	assert_int_equal(api_vncbind_unwrap(b, "alice@pve", "/nodes/pve1",
	    5901, NOW, t, sizeof(t), n, sizeof(n), &kind), -EACCES);
	assert_int_equal(api_vncbind_unwrap(b, "alice@pve", "/nodes/pve2",
	    5902, NOW, t, sizeof(t), n, sizeof(n), &kind), -EACCES);
	assert_int_equal(api_vncbind_unwrap(b, "alice@pve", "/nodes/pve2",
	    5901, NOW + API_VNCBIND_LIFETIME + 1, t, sizeof(t), n, sizeof(n),
	    &kind), -ETIMEDOUT);
	assert_int_equal(api_vncbind_unwrap(b, "alice@pve", "/nodes/pve2",
	    5901, NOW - API_VNCBIND_SKEW - 1, t, sizeof(t), n, sizeof(n),
	    &kind), -ETIMEDOUT);
	/* The node's ticket alone, or any byte changed: refused. */
	assert_int_equal(api_vncbind_unwrap(node_ticket, "alice@pve",
	    "/nodes/pve2", 5901, NOW, t, sizeof(t), n, sizeof(n), &kind),
	    -EACCES);
	b[3] ^= 1;
	assert_int_equal(api_vncbind_unwrap(b, "alice@pve", "/nodes/pve2",
	    5901, NOW, t, sizeof(t), n, sizeof(n), &kind), -EACCES);
	b[3] ^= 1;
	b[strlen(b) - 70] = 'v';	/* the kind */
	assert_int_equal(api_vncbind_unwrap(b, "alice@pve", "/nodes/pve2",
	    5901, NOW, t, sizeof(t), n, sizeof(n), &kind), -EACCES);
	/* Nothing bound without a node's ticket or a sane node name. */
	assert_int_equal(api_vncbind_wrap("alice@pve", "/vms/101", 5901,
	    "pve:1", API_VNCBIND_VNC, NOW, node_ticket, b, sizeof(b)),
	    -EINVAL);
	assert_int_equal(api_vncbind_wrap("alice@pve", "/vms/101", 5901,
	    "pve1", API_VNCBIND_VNC, NOW, "", b, sizeof(b)), -EINVAL);

	/* A node's answer, then the websocket's query. */
	assert_int_equal(api_vncbind_answer(answer, strlen(answer),
	    "alice@pve", "/vms/101", "pve2", API_VNCBIND_VNC, NOW, &body,
	    &blen), 0);
	assert_non_null(strstr(body, "\"ticket\":\"PVEVNC:1::x/+=:HVB1:pve2:v:"));
	assert_non_null(strstr(body, "\"user\":\"u@pve!t\""));
	{
		json_t *root = json_loads(body, 0, NULL);
		const char *bt = json_string_value(json_object_get(
		    json_object_get(root, "data"), "ticket"));
		char qin[4096];
		size_t i, o;

		assert_non_null(bt);
		o = (size_t)snprintf(qin, sizeof(qin), "vncticket=");
		for (i = 0; bt[i] != '\0'; i++)
			o += (size_t)snprintf(qin + o, sizeof(qin) - o, "%%%02X",
			    (unsigned char)bt[i]);
		snprintf(qin + o, sizeof(qin) - o, "&port=5905");
		assert_int_equal(api_vncbind_query(qin, "alice@pve",
		    "/vms/101", NOW + 5, q, sizeof(q), t, sizeof(t), n,
		    sizeof(n), &kind), 0);
		assert_string_equal(q, "port=5905&vncticket=PVEVNC%3A1%3A%3Ax"
		    "%2F%2B%3D");
		assert_string_equal(n, "pve2");
		assert_int_equal(kind, API_VNCBIND_VNC);
		assert_int_equal(api_vncbind_query(qin, "alice@pve",
		    "/vms/102", NOW + 5, q, sizeof(q), t, sizeof(t), n,
		    sizeof(n), &kind), -EACCES);
		json_decref(root);
	}
	free(body);
	assert_int_equal(api_vncbind_query("port=5905", "alice@pve",
	    "/vms/101", NOW, q, sizeof(q), t, sizeof(t), n, sizeof(n),
	    &kind), -EACCES);
	assert_int_equal(api_vncbind_answer("{\"data\":{\"port\":1}}", 19,
	    "alice@pve", "/vms/101", "pve2", API_VNCBIND_VNC, NOW, &body,
	    &blen), -EINVAL);
	api_vncbind_wipe_key();
	assert_int_not_equal(api_vncbind_wrap("alice@pve", "/vms/101", 5901,
	    "pve1", API_VNCBIND_VNC, NOW, node_ticket, b, sizeof(b)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ticket_roundtrip),
		cmocka_unit_test(test_ticket_forgeries),
		cmocka_unit_test(test_csrf),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_http_request),
		cmocka_unit_test(test_http_limits),
		cmocka_unit_test(test_http_refusals),
		cmocka_unit_test(test_form),
		cmocka_unit_test(test_tokens),
		cmocka_unit_test(test_vncbind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
