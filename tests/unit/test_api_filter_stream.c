/*
 * test_api_filter_stream.c - the streaming list filter
 * (api_filter_stream()) and its tokenizer (json_scan): items dropped at
 * every place with the commas right, the "pool" member cut at every place
 * of an item, escapes in the member names and values it reads, refusals
 * (duplicates, depth, non-object items, jansson's own refusals), and every
 * truncation of a valid answer refused.
 *
 * The policy is built in memory, as in tests/fuzz/fuzz_api_filter.c: "b"
 * is the bench's role (Sys.Audit, VM.Audit, Datastore.Audit on /nodes,
 * /storage, /vms: no pool, so pooled guests lose their "pool"); "h" also
 * holds Pool.Audit on every pool; "x" holds nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "../../policy/api_acl.h"
#include "../../policy/api_filter.h"
#include "../../policy/api_filter_stream.h"
#include "../../policy/json_scan.h"

#define NOW	((time_t)1780444800)

static char *b_paths[] = { "/nodes/*", "/storage/*", "/vms/*" };
static char *b_privs[] = { "Sys.Audit", "VM.Audit", "Datastore.Audit" };
static char *h_paths[] = { "/nodes/*", "/storage/*", "/vms/*", "/pool/*" };
static char *h_privs[] = { "Sys.Audit", "VM.Audit", "Datastore.Audit",
	"Pool.Audit" };

static struct config_api_credential cred = { "t", "a@pve!t", "/dev/null",
	{ "unit", 1 } };
static struct config_role role_b, role_h;
static struct config_api_grant grant_b = { &role_b, b_paths, 3, b_privs, 3,
	NULL, 0, { "unit", 2 } };
static struct config_api_grant grant_h = { &role_h, h_paths, 4, h_privs, 4,
	NULL, 0, { "unit", 3 } };
static struct config_api_grant *grants_b[] = { &grant_b };
static struct config_api_grant *grants_h[] = { &grant_h };
static struct config_role *roles_b[] = { &role_b };
static struct config_role *roles_h[] = { &role_h };
static struct config_origin origins[] = { { "unit", 4 } };
static struct config_user user_b, user_h, user_x;
static struct config_user *users[] = { &user_b, &user_h, &user_x };
static struct config conf;
static struct api_acl resources;

static int
setup(void **state)
{
	(void)state;
	role_b.name = "b";
	role_b.side = ROLE_SIDE_HYPERVISOR;
	role_b.api_credential = &cred;
	role_b.api_grants = grants_b;
	role_b.napi_grants = 1;
	role_h = role_b;
	role_h.name = "h";
	role_h.api_grants = grants_h;
	user_b.name = "b";
	user_b.roles = roles_b;
	user_b.role_origins = origins;
	user_b.nroles = 1;
	user_h = user_b;
	user_h.name = "h";
	user_h.roles = roles_h;
	user_x.name = "x";
	conf.users = users;
	conf.nusers = 3;
	return api_acl_map("GET", "/cluster/resources", &resources) == 0 ?
	    0 : -1;
}

/* Items as the bench's node writes them, and what "b" makes of them. */
#define GUEST	"{\"id\":\"qemu/101\",\"type\":\"qemu\",\"vmid\":101}"
#define NODE	"{\"id\":\"node/pve1\",\"type\":\"node\",\"node\":\"pve1\"}"
#define POOL	"{\"id\":\"/pool/web\",\"pool\":\"web\",\"type\":\"pool\"}"
#define SDN	"{\"id\":\"sdn/pve1/z\",\"type\":\"sdn\",\"sdn\":\"z\"}"

/* Runs the filter for PERSON; the answer (the input when nothing was
 * cut) into a NUL-terminated static buffer, or NULL with *rc < 0. */
static const char *
run(const char *person, const char *in, size_t len, int *rc)
{
	static char buf[8192];
	char *out = NULL;
	size_t outlen = 0;

	*rc = api_filter_stream(&conf, person, NULL, NOW, &resources, in,
	    len, &out, &outlen);
	if (*rc < 0) {
		assert_null(out);
		return NULL;
	}
	if (out == NULL) {
		assert_true(len < sizeof(buf));
		memcpy(buf, in, len);
		buf[len] = '\0';
		return buf;
	}
	assert_true(outlen <= len && outlen < sizeof(buf));
	memcpy(buf, out, outlen);
	buf[outlen] = '\0';
	free(out);
	return buf;
}

static void
expect(const char *person, const char *in, const char *want)
{
	int rc;
	const char *got = run(person, in, strlen(in), &rc);

	assert_int_equal(rc, 0);
	assert_string_equal(got, want);
}

static void
refused(const char *person, const char *in)
{
	int rc;

	assert_null(run(person, in, strlen(in), &rc));
	assert_true(rc < 0);
}

static void
test_drop(void **state)
{
	(void)state;
	/* Nothing cut: the node's own bytes (whitespace and all). */
	expect("b", "{\"data\":[ " GUEST " , " NODE " ]}",
	    "{\"data\":[ " GUEST " , " NODE " ]}");
	expect("b", "{\"data\":[]}", "{\"data\":[]}");
	/* first, middle, last, two in a row, all */
	expect("b", "{\"data\":[" POOL "," GUEST "," NODE "]}",
	    "{\"data\":[" GUEST "," NODE "]}");
	expect("b", "{\"data\":[" GUEST "," POOL "," NODE "]}",
	    "{\"data\":[" GUEST "," NODE "]}");
	expect("b", "{\"data\":[" GUEST "," NODE "," SDN "]}",
	    "{\"data\":[" GUEST "," NODE "]}");
	expect("b", "{\"data\":[" GUEST "," POOL "," SDN "," NODE "]}",
	    "{\"data\":[" GUEST "," NODE "]}");
	expect("b", "{\"data\":[" POOL "," SDN "]}", "{\"data\":[]}");
	/* with whitespace around, and members after "data" */
	expect("b", " {\"data\" : [\n " POOL " ,\n " GUEST "\n ] ,"
	    " \"total\":3} ", " {\"data\" : [\n " GUEST "\n ] , \"total\":3} ");
	expect("b", "{\"x\":[1],\"data\":[" SDN "],\"y\":{}}",
	    "{\"x\":[1],\"data\":[],\"y\":{}}");
	/* "h" audits pools: the pool item stays; "x" sees nothing. */
	expect("h", "{\"data\":[" POOL "," SDN "]}",
	    "{\"data\":[" POOL "]}");
	expect("x", "{\"data\":[" GUEST "," NODE "]}", "{\"data\":[]}");
}

static void
test_strip_pool(void **state)
{
	(void)state;
	/* at the start, the middle, the end, alone */
	expect("b", "{\"data\":[{\"pool\":\"web\",\"id\":\"qemu/1\","
	    "\"type\":\"qemu\",\"vmid\":1}]}",
	    "{\"data\":[{\"id\":\"qemu/1\",\"type\":\"qemu\",\"vmid\":1}]}");
	expect("b", "{\"data\":[{\"id\":\"qemu/1\",\"pool\":\"web\","
	    "\"type\":\"qemu\",\"vmid\":1}]}",
	    "{\"data\":[{\"id\":\"qemu/1\",\"type\":\"qemu\",\"vmid\":1}]}");
	expect("b", "{\"data\":[{\"id\":\"qemu/1\",\"type\":\"qemu\","
	    "\"vmid\":1,\"pool\":\"web\"}]}",
	    "{\"data\":[{\"id\":\"qemu/1\",\"type\":\"qemu\",\"vmid\":1}]}");
	expect("b", "{\"data\":[{ \"pool\" : \"web\" , \"vmid\" : 7 }]}",
	    "{\"data\":[{ \"vmid\" : 7 }]}");
	expect("b", "{\"data\":[{\"vmid\":7 , \"pool\" : \"web\" }]}",
	    "{\"data\":[{\"vmid\":7 }]}");
	/* a task seen through its node keeps its members */
	expect("b", "{\"data\":[{\"upid\":\"U\",\"node\":\"pve1\","
	    "\"id\":\"5\",\"pool\":\"p\"}]}",
	    "{\"data\":[{\"upid\":\"U\",\"node\":\"pve1\",\"id\":\"5\","
	    "\"pool\":\"p\"}]}");
	/* kept with a dropped neighbour */
	expect("b", "{\"data\":[" SDN ",{\"vmid\":\"9\",\"pool\":\"a\"}," POOL
	    "]}", "{\"data\":[{\"vmid\":\"9\"}]}");
	/* "h" audits the pool: kept whole, nothing cut */
	expect("h", "{\"data\":[{\"vmid\":7,\"pool\":\"web\"}]}",
	    "{\"data\":[{\"vmid\":7,\"pool\":\"web\"}]}");
	/* a pool that is no name: the guest goes (as in the tree filter) */
	expect("b", "{\"data\":[{\"vmid\":7,\"pool\":\"../x\"}]}",
	    "{\"data\":[]}");
	expect("b", "{\"data\":[{\"vmid\":7,\"pool\":1}]}", "{\"data\":[]}");
}

static void
test_escapes(void **state)
{
	(void)state;
	/* member names of interest written with escapes are read as such */
	expect("b", "{\"data\":[{\"vmid\":7,\"p\\u006fol\":\"web\"}]}",
	    "{\"data\":[{\"vmid\":7}]}");
	expect("b", "{\"d\\u0061ta\":[" POOL "]}", "{\"d\\u0061ta\":[]}");
	expect("b", "{\"data\":[{\"\\u0074ype\":\"\\u0070ool\","
	    "\"id\":\"\\/pool\\/web\",\"pool\":\"web\"}]}", "{\"data\":[]}");
	expect("h", "{\"data\":[{\"\\u0074ype\":\"\\u0070ool\","
	    "\"id\":\"\\/pool\\/web\",\"pool\":\"w\\u0065b\"}]}",
	    "{\"data\":[{\"\\u0074ype\":\"\\u0070ool\","
	    "\"id\":\"\\/pool\\/web\",\"pool\":\"w\\u0065b\"}]}");
	expect("b", "{\"data\":[{\"vmid\":\"\\u0031\\u0030\"}]}",
	    "{\"data\":[{\"vmid\":\"\\u0031\\u0030\"}]}");
	/* values elsewhere: every escape, UTF-8, surrogate pairs */
	expect("b", "{\"data\":[{\"vmid\":7,\"n\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t"
	    "\\u00e9\\ud83d\\ude00 caf\xc3\xa9 \xf0\x9f\x98\x80\"}]}",
	    "{\"data\":[{\"vmid\":7,\"n\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t"
	    "\\u00e9\\ud83d\\ude00 caf\xc3\xa9 \xf0\x9f\x98\x80\"}]}");
	/* what jansson refuses, refused */
	refused("b", "{\"data\":[{\"vmid\":7,\"n\":\"\\u0000\"}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"n\":\"\\ud83d\"}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"n\":\"\\ude00\"}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"n\":\"\\ud83d\\u0041\"}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"n\":\"\\x\"}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"n\":\"\\u12g4\"}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"n\":\"\t\"}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"n\":\"\xc0\xaf\"}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"n\":\"\xed\xa0\x80\"}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"n\":\"\xf4\x90\x80\x80\"}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"n\":\"\xe2\x82\"}]}");
}

static void
test_numbers(void **state)
{
	(void)state;
	expect("b", "{\"data\":[{\"vmid\":7,\"a\":-0,\"b\":0.5e-3,"
	    "\"c\":9223372036854775807,\"d\":-9223372036854775808,"
	    "\"e\":1e-400,\"f\":1.7e308}]}",
	    "{\"data\":[{\"vmid\":7,\"a\":-0,\"b\":0.5e-3,"
	    "\"c\":9223372036854775807,\"d\":-9223372036854775808,"
	    "\"e\":1e-400,\"f\":1.7e308}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"c\":9223372036854775808}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"c\":-9223372036854775809}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"c\":1e309}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"c\":-1e309}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"c\":01}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"c\":1.}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"c\":.5}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"c\":1e}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"c\":-}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"c\":+1}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"c\":truex}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"c\":nul}]}");
	/* a vmid as jansson sees it: 101.0 is no integer, so no guest */
	expect("b", "{\"data\":[{\"vmid\":101.0}]}", "{\"data\":[]}");
}

static void
test_refusals(void **state)
{
	int rc;
	char *out = (char *)1;
	size_t outlen = 1;
	struct api_acl version;

	(void)state;
	/* a member of interest twice in an item; "data" twice */
	refused("b", "{\"data\":[{\"vmid\":7,\"vmid\":8}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"pool\":\"a\",\"pool\":\"b\"}]}");
	refused("b", "{\"data\":[{\"vmid\":7,\"p\\u006fol\":\"a\","
	    "\"pool\":\"b\"}]}");
	refused("b", "{\"data\":[],\"data\":[" GUEST "]}");
	/* other members twice: jansson's reading is the client's */
	expect("b", "{\"data\":[{\"vmid\":7,\"n\":1,\"n\":2}]}",
	    "{\"data\":[{\"vmid\":7,\"n\":1,\"n\":2}]}");
	/* no list, items that are no objects, trailing bytes */
	refused("b", "{\"data\":{}}");
	refused("b", "{\"dat\":[]}");
	refused("b", "[{\"data\":[]}]");
	refused("b", "{\"data\":[1," GUEST "]}");
	refused("b", "{\"data\":[" GUEST ",null]}");
	refused("b", "{\"data\":[]}x");
	refused("b", "{\"data\":[]} {}");
	refused("b", "{\"data\":[" GUEST ",]}");
	refused("b", "{\"data\":[{\"vmid\":7,}]}");
	refused("b", "{\"data\":[],}");
	refused("b", "");
	refused("b", "\xef\xbb\xbf{\"data\":[]}");
	/* a NUL byte is no JSON anywhere */
	assert_null(run("b", "{\"data\":[]}\0", 12, &rc));
	/* not a list call */
	assert_int_equal(api_acl_map("GET", "/version", &version), 0);
	assert_int_equal(api_filter_stream(&conf, "b", NULL, NOW, &version,
	    "{\"data\":[]}", 11, &out, &outlen), -EINVAL);
	assert_null(out);
	assert_int_equal(outlen, 0);
}

static void
nest(char *buf, size_t cap, int levels)
{
	size_t n = 0;
	int i;

	n += (size_t)snprintf(buf + n, cap - n, "{\"data\":[{\"vmid\":7,"
	    "\"x\":");
	for (i = 0; i < levels; i++)
		buf[n++] = '[';
	for (i = 0; i < levels; i++)
		buf[n++] = ']';
	snprintf(buf + n, cap - n, "}]}");
}

static void
test_depth(void **state)
{
	char buf[512];
	int rc;

	(void)state;
	/* root, data, item: three open; the limit counts them all */
	nest(buf, sizeof(buf), API_FILTER_STREAM_DEPTH - 3);
	assert_non_null(run("b", buf, strlen(buf), &rc));
	assert_int_equal(rc, 0);
	nest(buf, sizeof(buf), API_FILTER_STREAM_DEPTH - 2);
	assert_null(run("b", buf, strlen(buf), &rc));
	assert_int_equal(rc, -ENOTSUP);
	nest(buf, sizeof(buf), 200);
	assert_null(run("b", buf, strlen(buf), &rc));
}

static void
test_truncations(void **state)
{
	static const char answer[] = "{\"data\":[" POOL ", {\"id\":\"qemu/100\","
	    "\"type\":\"qemu\",\"vmid\":100,\"pool\":\"bench\","
	    "\"name\":\"g\\u00e9 \\ud83d\\ude00\",\"cpu\":0.0123,"
	    "\"tags\":[\"a\",true,false,null,{}]}," GUEST "," NODE "],"
	    "\"total\":-12e-1}";
	size_t len = sizeof(answer) - 1, i;
	json_t *whole;
	int rc;

	(void)state;
	assert_non_null(run("b", answer, len, &rc));
	assert_int_equal(rc, 0);
	/* jansson agrees on the whole and on every cut */
	assert_non_null(whole = json_loadb(answer, len, 0, NULL));
	json_decref(whole);
	for (i = 0; i < len; i++) {
		assert_null(run("b", answer, i, &rc));
		assert_true(rc < 0);
		assert_null(json_loadb(answer, i, 0, NULL));
	}
}

/* The tokenizer alone: decoded strings and their bounds. */
static void
test_scan(void **state)
{
	struct json_scan s;
	char buf[8];
	size_t len;

	(void)state;
	json_scan_init(&s, "\"a\\u00e9\\n\"", 11, 4);
	assert_int_equal(json_scan_string(&s, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 4);
	assert_string_equal(buf, "a\xc3\xa9\n");
	assert_int_equal(s.pos, 11);
	/* longer than the buffer: counted whole, not handed out */
	json_scan_init(&s, "\"abcdefghij\"", 12, 4);
	assert_int_equal(json_scan_string(&s, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 10);
	assert_string_equal(buf, "");
	json_scan_init(&s, "\"abc", 4, 4);
	assert_int_equal(json_scan_string(&s, buf, sizeof(buf), &len),
	    -EBADMSG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drop),
		cmocka_unit_test(test_strip_pool),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_depth),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_scan),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
