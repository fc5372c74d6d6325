/*
 * api_filter.c - list answers of the Proxmox API cut down to the caller's
 * scope.
 *
 * The upstream call is made with a role's token, which sees more than the
 * person may: every item of a list is placed on its ACL path and kept only
 * if the person holds there what Proxmox's own list handler asks for:
 *
 *   guests (cluster/resources qemu/lxc, nodes/N/qemu, nodes/N/lxc):
 *       VM.Audit on /vms/VMID, or on /pool/POOL when the item names its
 *       pool (Cluster.pm resources, Qemu.pm / LXC.pm vmlist);
 *   nodes (cluster/resources node, /nodes): Sys.Audit on /nodes/NODE.
 *       Proxmox lists every node and only strips the figures of the
 *       others; the bastion drops them, so that a guest-side person does
 *       not even learn the node names;
 *   storage (cluster/resources storage): Datastore.Audit on /storage/ID;
 *       (/storage, nodes/N/storage): Datastore.Audit or
 *       Datastore.AllocateSpace on /storage/ID (pve-storage's index);
 *   pools (cluster/resources pool, /pools): Pool.Audit on /pool/ID;
 *   sdn (cluster/resources sdn, network): SDN.Audit on /sdn/zones/ZONE;
 *   tasks (cluster/tasks, nodes/N/tasks): Sys.Audit on /nodes/NODE (what
 *       Proxmox asks of anyone not the task's owner), or, for a guest's
 *       task, VM.Audit on /vms/ID.  Behind the bastion every task is
 *       owned by a role's token, so "the caller's own tasks" cannot be
 *       told apart; the tasks of the guests they may audit stand in.
 *
 * A guest item whose pool the person may not audit loses its "pool"
 * member, as in Proxmox.  Items of no known shape, or naming an ACL path
 * in a form Proxmox would not write, are removed: fail closed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../policy/policy.h"
#include "api_filter.h"

#define NAME_MAX_LEN	64

struct filter_ctx {
	/* Found, with dates and source checked. */
	const struct config_user	*user;
	time_t				 when;
};

/* 1 if the person holds priv on path (guest items: also via pool). */
static int
holds(const struct filter_ctx *f, const char *path, const char *priv,
    const char *pool)
{
	struct policy_api_request req;
	struct policy_decision d;

	memset(&req, 0, sizeof(req));
	req.acl_path = path;
	req.privilege = priv;
	req.pool = pool;
	return policy_decide_api_user(f->user, &req, f->when, &d);
}

/* Names as Proxmox writes node, storage, pool and zone ids. */
static int
name_ok(const char *s)
{
	size_t i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= NAME_MAX_LEN || !((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		    s[i] == '_' || s[i] == '.'))
			return 0;
	return strcmp(s, ".") != 0 && strcmp(s, "..") != 0;
}

static const char *
str_member(json_t *item, const char *key)
{
	json_t *v = json_object_get(item, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* A vmid as a number or a string of digits; -1 if none or odd. */
static long
vmid_member(json_t *item, const char *key)
{
	json_t *v = json_object_get(item, key);
	const char *s;
	long n = 0;
	size_t i;

	if (json_is_integer(v)) {
		json_int_t x = json_integer_value(v);

		return x >= 1 && x <= 999999999 ? (long)x : -1;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 9 || s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	return i > 0 && s[0] != '0' ? n : -1;
}

static int
holds_on(const struct filter_ctx *f, const char *prefix, const char *name,
    const char *priv)
{
	char path[API_ACL_PATH_MAX];

	if (!name_ok(name))
		return 0;
	snprintf(path, sizeof(path), "%s%s", prefix, name);
	return holds(f, path, priv, NULL);
}

/* A guest: VM.Audit on /vms/N (or its pool); strips a pool not audited. */
static int
guest_visible(const struct filter_ctx *f, json_t *item, long vmid)
{
	char path[API_ACL_PATH_MAX];
	const char *pool = str_member(item, "pool");

	if (vmid < 1)
		return 0;
	if (json_object_get(item, "pool") != NULL && !name_ok(pool))
		return 0;
	snprintf(path, sizeof(path), "/vms/%ld", vmid);
	if (!holds(f, path, "VM.Audit", pool))
		return 0;
	if (pool != NULL && !holds_on(f, "/pool/", pool, "Pool.Audit"))
		json_object_del(item, "pool");
	return 1;
}

static int
storage_visible(const struct filter_ctx *f, const char *id, int any)
{
	return holds_on(f, "/storage/", id, "Datastore.Audit") ||
	    (any && holds_on(f, "/storage/", id, "Datastore.AllocateSpace"));
}

/* An item of cluster/resources (and of /nodes): by its "type". */
static int
resource_visible(const struct filter_ctx *f, json_t *item, const char *type)
{
	if (strcmp(type, "qemu") == 0 || strcmp(type, "lxc") == 0)
		return guest_visible(f, item, vmid_member(item, "vmid"));
	if (strcmp(type, "node") == 0)
		return holds_on(f, "/nodes/", str_member(item, "node"),
		    "Sys.Audit");
	if (strcmp(type, "storage") == 0)
		return storage_visible(f, str_member(item, "storage"), 0);
	if (strcmp(type, "pool") == 0)
		return holds_on(f, "/pool/", str_member(item, "pool"),
		    "Pool.Audit");
	if (strcmp(type, "sdn") == 0)
		return holds_on(f, "/sdn/zones/", str_member(item, "sdn"),
		    "SDN.Audit");
	if (strcmp(type, "network") == 0)
		return holds_on(f, "/sdn/zones/", str_member(item, "zone") !=
		    NULL ? str_member(item, "zone") : "localnetwork",
		    "SDN.Audit");
	return 0;
}

static int
task_visible(const struct filter_ctx *f, json_t *item)
{
	const char *node = str_member(item, "node");
	long vmid = vmid_member(item, "id");

	if (!name_ok(node))
		return 0;
	if (holds_on(f, "/nodes/", node, "Sys.Audit"))
		return 1;
	return vmid > 0 && guest_visible(f, item, vmid);
}

/* cluster/resources and /nodes items: "type" with an "id" to match. */
static const char *
resource_type(json_t *item)
{
	static const struct {
		const char	*type;
		const char	*id_prefix;
	} kinds[] = {
		{ "qemu", "qemu/" }, { "lxc", "lxc/" }, { "node", "node/" },
		{ "storage", "storage/" }, { "pool", "/pool/" },
		{ "pool", "pool/" }, { "sdn", "sdn/" },
		{ "network", "network/" },
	};
	const char *type = str_member(item, "type");
	const char *id = str_member(item, "id");
	size_t i;

	if (type == NULL || id == NULL)
		return NULL;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(type, kinds[i].type) == 0 && strncmp(id,
		    kinds[i].id_prefix, strlen(kinds[i].id_prefix)) == 0)
			return type;
	return NULL;
}

static int
item_visible(const struct filter_ctx *f, json_t *item)
{
	const char *type;

	if (!json_is_object(item))
		return 0;
	if (json_object_get(item, "upid") != NULL)
		return task_visible(f, item);
	if ((type = resource_type(item)) != NULL)
		return resource_visible(f, item, type);
	/* A resource whose "id" and "type" disagree: not placed. */
	if (str_member(item, "id") != NULL && str_member(item, "type") != NULL)
		return 0;
	if (json_object_get(item, "storage") != NULL)
		return storage_visible(f, str_member(item, "storage"), 1);
	if (json_object_get(item, "vmid") != NULL)
		return guest_visible(f, item, vmid_member(item, "vmid"));
	if (json_object_get(item, "poolid") != NULL)
		return holds_on(f, "/pool/", str_member(item, "poolid"),
		    "Pool.Audit");
	return 0;
}

int
api_filter_list(const struct config *conf, const char *person,
    const char *source, time_t when, const struct api_acl *acl,
    json_t *data)
{
	struct policy_api_request req;
	struct policy_decision d;
	struct filter_ctx f;
	json_t *keep, *item;
	size_t i;
	int rc;

	if (conf == NULL || person == NULL || acl == NULL ||
	    !(acl->flags & API_ACL_LIST_FILTER) || !json_is_array(data))
		return -EINVAL;
	/* One clock for the whole list. */
	f.when = when != 0 ? when : time(NULL);
	/*
	 * The person, their dates and source once: the call on no ACL path
	 * is allowed exactly when they are, and some api-grant of theirs is
	 * in force now; without one, no item can be visible.
	 */
	memset(&req, 0, sizeof(req));
	req.person = person;
	req.source = source;
	req.when = f.when;
	if (!policy_decide_api(conf, &req, &d) ||
	    (f.user = config_find_user(conf, person)) == NULL) {
		json_array_clear(data);
		return 0;
	}
	/* Kept items into a new array, then back: linear in the list. */
	if ((keep = json_array()) == NULL)
		return -ENOMEM;
	json_array_foreach(data, i, item)
		if (item_visible(&f, item) &&
		    json_array_append(keep, item) < 0) {
			json_decref(keep);
			json_array_clear(data);
			return -ENOMEM;
		}
	rc = (int)json_array_size(keep);
	if (json_array_clear(data) < 0 || json_array_extend(data, keep) < 0)
		rc = -ENOMEM;
	json_decref(keep);
	if (rc < 0)
		json_array_clear(data);	/* fail closed: nothing shown */
	return rc;
}
