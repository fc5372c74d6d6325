/*
 * fuzz_api_filter_stream.c - differential libFuzzer target: the streaming
 * list filter (api_filter_stream()) against the tree filter
 * (json_loadb() + api_filter_list(), what relay() in api_server.c does
 * without it), on any bytes as a node's answer, for four people of an
 * in-memory policy and several kinds of list.
 *
 * The configuration is built in memory (no files), as in
 * fuzz_api_filter.c: "g" holds VM.Audit and Pool.Audit on /vms/101 and
 * /pool/web; "h" PVEAuditor-like privileges on /nodes, /storage, /vms,
 * /pool and /sdn; "b" the bench's role (/nodes, /storage, /vms, no pool:
 * pooled guests lose their "pool" member); "x" nothing.
 *
 * Properties: when jansson refuses the answer, or it has no "data" array,
 * or the tree filter fails, the stream filter fails too; when the stream
 * filter succeeds, its output (or, when it cut nothing, the input) parses
 * with jansson and equals (json_equal) the tree filter's answer, and is
 * never longer than the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../policy/api_acl.h"
#include "../../policy/api_filter.h"
#include "../../policy/api_filter_stream.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static char *g_paths[] = { "/vms/101", "/pool/web" };
static char *g_privs[] = { "VM.Audit", "Pool.Audit" };
static char *h_paths[] = { "/nodes/*", "/storage/*", "/vms/*", "/pool/*",
	"/sdn/*" };
static char *h_privs[] = { "Sys.Audit", "VM.Audit", "Datastore.Audit",
	"Pool.Audit", "SDN.Audit" };
static char *b_paths[] = { "/nodes/*", "/storage/*", "/vms/*", "/cluster" };
static char *b_privs[] = { "Sys.Audit", "VM.Audit", "Datastore.Audit" };

static struct config_api_credential cred = { "t", "a@pve!t", "/dev/null",
	{ "fuzz", 1 } };
static struct config_role role_g, role_h, role_b;
static struct config_api_grant grant_g = { &role_g, g_paths, 2, g_privs, 2,
	NULL, 0, { "fuzz", 2 } };
static struct config_api_grant grant_h = { &role_h, h_paths, 5, h_privs, 5,
	NULL, 0, { "fuzz", 3 } };
static struct config_api_grant grant_b = { &role_b, b_paths, 4, b_privs, 3,
	NULL, 0, { "fuzz", 5 } };
static struct config_api_grant *grants_g[] = { &grant_g };
static struct config_api_grant *grants_h[] = { &grant_h };
static struct config_api_grant *grants_b[] = { &grant_b };
static struct config_role *roles_g[] = { &role_g };
static struct config_role *roles_h[] = { &role_h };
static struct config_role *roles_b[] = { &role_b };
static struct config_origin origins[] = { { "fuzz", 4 } };
static struct config_user user_g, user_h, user_b, user_x;
static struct config_user *users[] = { &user_g, &user_h, &user_b, &user_x };
static struct config conf;

static void
role(struct config_role *r, const char *name, enum role_side side,
    struct config_api_grant **grants)
{
	r->name = (char *)name;
	r->side = side;
	r->api_credential = &cred;
	r->api_grants = grants;
	r->napi_grants = 1;
}

static void
user(struct config_user *u, const char *name, struct config_role **roles)
{
	u->name = (char *)name;
	u->roles = roles;
	u->role_origins = origins;
	u->nroles = roles != NULL ? 1 : 0;
}

static void
build(void)
{
	role(&role_g, "g", ROLE_SIDE_GUEST, grants_g);
	role(&role_h, "h", ROLE_SIDE_HYPERVISOR, grants_h);
	role(&role_b, "b", ROLE_SIDE_HYPERVISOR, grants_b);
	user(&user_g, "g", roles_g);
	user(&user_h, "h", roles_h);
	user(&user_b, "b", roles_b);
	user(&user_x, "x", NULL);
	conf.users = users;
	conf.nusers = 4;
}

static const char *const lists[] = { "/cluster/resources", "/cluster/tasks",
	"/nodes/pve1/qemu", "/storage", "/pools" };
static const char *const people[] = { "g", "h", "b", "x" };

static void
check(const char *person, const struct api_acl *acl, const json_t *root,
    const uint8_t *in, size_t size)
{
	json_t *tree = NULL, *data, *got;
	char *out = NULL;
	size_t outlen = 0;
	int rc, kept = -1;

	rc = api_filter_stream(&conf, person, NULL, 1780444800, acl,
	    (const char *)in, size, &out, &outlen);
	if (rc != 0 && (out != NULL || outlen != 0))
		abort();
	if (root != NULL && (tree = json_deep_copy(root)) == NULL)
		abort();
	data = json_object_get(tree, "data");
	if (json_is_array(data))
		kept = api_filter_list(&conf, person, NULL, 1780444800, acl,
		    data);
	if (kept < 0) {
		/* The tree path answers 502: so must the stream. */
		if (rc == 0)
			abort();
		json_decref(tree);
		return;
	}
	if (rc == 0) {
		if (out != NULL && outlen > size)
			abort();
		got = out != NULL ? json_loadb(out, outlen, 0, NULL) :
		    json_loadb((const char *)in, size, 0, NULL);
		if (got == NULL || !json_equal(got, tree))
			abort();
		json_decref(got);
	}
	free(out);
	json_decref(tree);
}

int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static int built;
	struct api_acl acl;
	json_t *root;
	size_t i, j;

	if (!built) {
		build();
		built = 1;
	}
	if (size > 65536)
		return 0;
	root = json_loadb((const char *)in, size, 0, NULL);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if (api_acl_map("GET", lists[i], &acl) != 0)
			abort();
		for (j = 0; j < sizeof(people) / sizeof(people[0]); j++)
			check(people[j], &acl, root, in, size);
	}
	json_decref(root);
	return 0;
}
