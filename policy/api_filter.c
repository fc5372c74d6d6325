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
 *
 * The decision reads only an item's members of interest, as jansson sees
 * them (struct api_filter_item): api_filter_list() takes them from a
 * parsed item, api_filter_stream.c from the node's bytes, and both call
 * the same api_filter_item_decide().
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../policy/policy.h"
#include "api_filter.h"

#define NAME_MAX_LEN	64

/* The member names a decision reads, in enum api_filter_key's order. */
static const char *const filter_keys[API_FILTER_NKEYS] = {
	"type", "id", "vmid", "node", "storage", "pool", "sdn", "zone",
	"upid", "poolid",
};

int
api_filter_key_index(const char *name, size_t len)
{
	size_t i;

	for (i = 0; i < API_FILTER_NKEYS; i++)
		if (strlen(filter_keys[i]) == len &&
		    memcmp(filter_keys[i], name, len) == 0)
			return (int)i;
	return -1;
}

/* 1 if the person holds priv on path (guest items: also via pool). */
static int
holds(const struct api_filter_scope *f, const char *path, const char *priv,
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

/* The member as a string (json_string_value()), or NULL. */
static const char *
str_member(const struct api_filter_item *item, enum api_filter_key key)
{
	return item->f[key].kind == API_FILTER_STRING ? item->f[key].str :
	    NULL;
}

/* json_object_get() != NULL: present, of any type. */
static int
has_member(const struct api_filter_item *item, enum api_filter_key key)
{
	return item->f[key].kind != API_FILTER_ABSENT;
}

/* A vmid as a number or a string of digits; -1 if none or odd. */
static long
vmid_member(const struct api_filter_item *item, enum api_filter_key key)
{
	const struct api_filter_field *v = &item->f[key];
	const char *s;
	long n = 0;
	size_t i;

	if (v->kind == API_FILTER_INTEGER)
		return v->integer >= 1 && v->integer <= 999999999 ?
		    (long)v->integer : -1;
	if (v->kind != API_FILTER_STRING)
		return -1;
	s = v->str;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= 9 || s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	return i > 0 && s[0] != '0' ? n : -1;
}

static int
holds_on(const struct api_filter_scope *f, const char *prefix,
    const char *name, const char *priv)
{
	char path[API_ACL_PATH_MAX];

	if (!name_ok(name))
		return 0;
	snprintf(path, sizeof(path), "%s%s", prefix, name);
	return holds(f, path, priv, NULL);
}

static enum api_filter_verdict
keep_if(int visible)
{
	return visible ? API_FILTER_KEEP : API_FILTER_DROP;
}

/* A guest: VM.Audit on /vms/N (or its pool); a pool not audited goes. */
static enum api_filter_verdict
guest_visible(const struct api_filter_scope *f,
    const struct api_filter_item *item, long vmid)
{
	char path[API_ACL_PATH_MAX];
	const char *pool = str_member(item, API_FILTER_POOL);

	if (vmid < 1)
		return API_FILTER_DROP;
	if (has_member(item, API_FILTER_POOL) && !name_ok(pool))
		return API_FILTER_DROP;
	snprintf(path, sizeof(path), "/vms/%ld", vmid);
	if (!holds(f, path, "VM.Audit", pool))
		return API_FILTER_DROP;
	if (pool != NULL && !holds_on(f, "/pool/", pool, "Pool.Audit"))
		return API_FILTER_KEEP_NOPOOL;
	return API_FILTER_KEEP;
}

static int
storage_visible(const struct api_filter_scope *f, const char *id, int any)
{
	return holds_on(f, "/storage/", id, "Datastore.Audit") ||
	    (any && holds_on(f, "/storage/", id, "Datastore.AllocateSpace"));
}

/* An item of cluster/resources (and of /nodes): by its "type". */
static enum api_filter_verdict
resource_visible(const struct api_filter_scope *f,
    const struct api_filter_item *item, const char *type)
{
	const char *zone;

	if (strcmp(type, "qemu") == 0 || strcmp(type, "lxc") == 0)
		return guest_visible(f, item, vmid_member(item,
		    API_FILTER_VMID));
	if (strcmp(type, "node") == 0)
		return keep_if(holds_on(f, "/nodes/", str_member(item,
		    API_FILTER_NODE), "Sys.Audit"));
	if (strcmp(type, "storage") == 0)
		return keep_if(storage_visible(f, str_member(item,
		    API_FILTER_STORAGE), 0));
	if (strcmp(type, "pool") == 0)
		return keep_if(holds_on(f, "/pool/", str_member(item,
		    API_FILTER_POOL), "Pool.Audit"));
	if (strcmp(type, "sdn") == 0)
		return keep_if(holds_on(f, "/sdn/zones/", str_member(item,
		    API_FILTER_SDN), "SDN.Audit"));
	if (strcmp(type, "network") == 0) {
		zone = str_member(item, API_FILTER_ZONE);
		return keep_if(holds_on(f, "/sdn/zones/", zone != NULL ?
		    zone : "localnetwork", "SDN.Audit"));
	}
	return API_FILTER_DROP;
}

static enum api_filter_verdict
task_visible(const struct api_filter_scope *f,
    const struct api_filter_item *item)
{
	const char *node = str_member(item, API_FILTER_NODE);
	long vmid = vmid_member(item, API_FILTER_ID);

	if (!name_ok(node))
		return API_FILTER_DROP;
	if (holds_on(f, "/nodes/", node, "Sys.Audit"))
		return API_FILTER_KEEP;
	return vmid > 0 ? guest_visible(f, item, vmid) : API_FILTER_DROP;
}

/* cluster/resources and /nodes items: "type" with an "id" to match. */
static const char *
resource_type(const struct api_filter_item *item)
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
	const char *type = str_member(item, API_FILTER_TYPE);
	const char *id = str_member(item, API_FILTER_ID);
	size_t i;

	if (type == NULL || id == NULL)
		return NULL;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (strcmp(type, kinds[i].type) == 0 && strncmp(id,
		    kinds[i].id_prefix, strlen(kinds[i].id_prefix)) == 0)
			return type;
	return NULL;
}

enum api_filter_verdict
api_filter_item_decide(const struct api_filter_scope *f,
    const struct api_filter_item *item)
{
	const char *type;

	if (f->user == NULL)
		return API_FILTER_DROP;
	if (has_member(item, API_FILTER_UPID))
		return task_visible(f, item);
	if ((type = resource_type(item)) != NULL)
		return resource_visible(f, item, type);
	/* A resource whose "id" and "type" disagree: not placed. */
	if (str_member(item, API_FILTER_ID) != NULL &&
	    str_member(item, API_FILTER_TYPE) != NULL)
		return API_FILTER_DROP;
	if (has_member(item, API_FILTER_STORAGE))
		return keep_if(storage_visible(f, str_member(item,
		    API_FILTER_STORAGE), 1));
	if (has_member(item, API_FILTER_VMID))
		return guest_visible(f, item, vmid_member(item,
		    API_FILTER_VMID));
	if (has_member(item, API_FILTER_POOLID))
		return keep_if(holds_on(f, "/pool/", str_member(item,
		    API_FILTER_POOLID), "Pool.Audit"));
	return API_FILTER_DROP;
}

int
api_filter_scope_init(struct api_filter_scope *f, const struct config *conf,
    const char *person, const char *source, time_t when,
    const struct api_acl *acl)
{
	struct policy_api_request req;
	struct policy_decision d;

	if (f == NULL || conf == NULL || person == NULL || acl == NULL ||
	    !(acl->flags & API_ACL_LIST_FILTER))
		return -EINVAL;
	/* One clock for the whole list. */
	f->when = when != 0 ? when : time(NULL);
	/*
	 * The person, their dates and source once: the call on no ACL path
	 * is allowed exactly when they are, and some api-grant of theirs is
	 * in force now; without one, no item can be visible.
	 */
	memset(&req, 0, sizeof(req));
	req.person = person;
	req.source = source;
	req.when = f->when;
	f->user = NULL;
	if (policy_decide_api(conf, &req, &d))
		f->user = config_find_user(conf, person);
	return 0;
}

/* The members a decision reads, from a jansson object (as borrowed
 * pointers into it). */
static void
item_from_json(json_t *obj, struct api_filter_item *item)
{
	json_t *v;
	size_t i;

	memset(item, 0, sizeof(*item));
	for (i = 0; i < API_FILTER_NKEYS; i++) {
		if ((v = json_object_get(obj, filter_keys[i])) == NULL)
			continue;
		if (json_is_string(v)) {
			item->f[i].kind = API_FILTER_STRING;
			item->f[i].str = json_string_value(v);
		} else if (json_is_integer(v)) {
			item->f[i].kind = API_FILTER_INTEGER;
			item->f[i].integer = json_integer_value(v);
		} else
			item->f[i].kind = API_FILTER_OTHER;
	}
}

static int
item_visible(const struct api_filter_scope *f, json_t *obj)
{
	struct api_filter_item item;

	if (!json_is_object(obj))
		return 0;
	item_from_json(obj, &item);
	switch (api_filter_item_decide(f, &item)) {
	case API_FILTER_KEEP:
		return 1;
	case API_FILTER_KEEP_NOPOOL:
		json_object_del(obj, "pool");
		return 1;
	default:
		return 0;
	}
}

int
api_filter_list(const struct config *conf, const char *person,
    const char *source, time_t when, const struct api_acl *acl,
    json_t *data)
{
	struct api_filter_scope f;
	json_t *keep, *item;
	size_t i;
	int rc;

	if (!json_is_array(data) ||
	    api_filter_scope_init(&f, conf, person, source, when, acl) < 0)
		return -EINVAL;
	if (f.user == NULL) {
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
