/*
 * api_acl.c - which Proxmox ACL path and privilege guard each API call.
 *
 * The table below is written from the "permissions" entries of the
 * Proxmox API schema (pve-manager PVE/API2/{Cluster,Nodes,Tasks,Pool}.pm,
 * qemu-server PVE/API2/Qemu.pm, pve-container PVE/API2/LXC.pm,
 * pve-storage PVE/API2/Storage/{Config,Status}.pm, pve-access-control
 * PVE/API2/{User,Group,ACL,Role,Domains}.pm).  Where Proxmox checks
 * nothing but filters the answer (user => 'all' on a list), the entry says
 * API_ACL_LIST_FILTER and api_filter.c does the filtering.  Where Proxmox
 * lets any user in on a plain index (user => 'all' on "/nodes/{node}",
 * ".../{vmid}", ".../status"), the bastion asks for the audit privilege of
 * the object instead: a guest-side person has no business walking a
 * node's index, and an index names what lies below it.
 *
 * Calls the bastion cannot authorise are left out, so that they are
 * denied: POST /nodes/{node}/execute (a batch of inner calls, root only in
 * Proxmox, which would all run with the bastion's token), the creation of
 * guests (the vmid and the pool are in the body), /access/permissions,
 * /access/password and /access/tfa (they speak of the upstream token, not
 * of the person; the bastion keeps its own passwords and TOTP).
 *
 * Paths are matched segment by segment: a pattern's literal segments must
 * be equal, its {variables} are checked for their Proxmox format (pve-node,
 * pve-vmid, pve-storage-id, pve-poolid, a UPID) once the shape matches, so
 * that a call of a known shape with a malformed name is -EINVAL and a call
 * of an unknown shape -ENOENT.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "api_acl.h"

#define PATH_IN_MAX	1024	/* longer inputs are malformed */
#define SEGS_MAX	8	/* deeper than any entry: unknown */

/* Every privilege Proxmox may check on a VM configuration change. */
#define PRIV_VM_CONFIG	API_ACL_PRIV_VM_CONFIG

#define F_ANY	API_ACL_ANY_PERSON
#define F_LIST	(API_ACL_LIST_FILTER | API_ACL_ANY_PERSON)

struct acl_entry {
	const char	*method;
	const char	*pattern;	/* segments; {node}, {vmid}, ... */
	const char	*acl;		/* template ("": none) */
	const char	*privilege;
	unsigned	 flags;
};

/*
 * {guest} is "qemu" or "lxc": the two share most of their API and all of
 * its privileges.  Kept in the order of the API tree.
 */
static const struct acl_entry acl_table[] = {
	/* Version.pm: user => 'all'. */
	{ "GET", "/version", "", NULL, F_ANY },
	/* AccessControl.pm: user => 'world'. */
	{ "POST", "/access/ticket", "", NULL, API_ACL_LOGIN },
	{ "GET", "/access/ticket", "", NULL, API_ACL_LOGIN },
	/*
	 * User.pm, Group.pm: 'userid-group' checks on /access/groups; the
	 * bastion does not filter these lists, so it asks for the
	 * privilege on /access/groups itself.
	 */
	{ "GET", "/access/users", "/access/groups", "Sys.Audit", 0 },
	{ "POST", "/access/users", "/access/groups", "User.Modify", 0 },
	{ "GET", "/access/users/{userid}", "/access/groups", "Sys.Audit", 0 },
	{ "PUT", "/access/users/{userid}", "/access/groups", "User.Modify",
	    0 },
	{ "DELETE", "/access/users/{userid}", "/access/groups", "User.Modify",
	    0 },
	{ "GET", "/access/groups", "/access/groups", "Sys.Audit", 0 },
	{ "POST", "/access/groups", "/access/groups", "Group.Allocate", 0 },
	{ "GET", "/access/groups/{groupid}", "/access/groups", "Sys.Audit",
	    0 },
	{ "PUT", "/access/groups/{groupid}", "/access/groups",
	    "Group.Allocate", 0 },
	{ "DELETE", "/access/groups/{groupid}", "/access/groups",
	    "Group.Allocate", 0 },
	/* Role.pm lists for everyone; the bastion keeps /access closed. */
	{ "GET", "/access/roles", "/access", "Sys.Audit", 0 },
	/* ACL.pm: Sys.Audit or Permissions.Modify on /access to read all;
	 * 'perm-modify' on the body's path to change: asked on /access. */
	{ "GET", "/access/acl", "/access", "Sys.Audit", 0 },
	{ "PUT", "/access/acl", "/access", "Permissions.Modify", 0 },
	/* Domains.pm: realms live at /access/realm. */
	{ "GET", "/access/domains", "/access/realm", "Sys.Audit", 0 },

	/* Cluster.pm */
	{ "GET", "/cluster", "", NULL, F_ANY },
	{ "GET", "/cluster/resources", "", NULL, F_LIST },
	{ "GET", "/cluster/tasks", "", NULL, F_LIST },
	{ "GET", "/cluster/status", "/", "Sys.Audit", 0 },
	{ "GET", "/cluster/options", "/", "Sys.Audit", 0 },
	{ "GET", "/cluster/nextid", "", NULL, F_ANY },

	/* Nodes.pm: the node list strips stats without Sys.Audit; the
	 * bastion drops those nodes from the list altogether. */
	{ "GET", "/nodes", "", NULL, F_LIST },
	{ "GET", "/nodes/{node}", "/nodes/{node}", "Sys.Audit", 0 },
	{ "GET", "/nodes/{node}/status", "/nodes/{node}", "Sys.Audit", 0 },
	{ "POST", "/nodes/{node}/status", "/nodes/{node}", "Sys.PowerMgmt",
	    0 },
	{ "GET", "/nodes/{node}/version", "/nodes/{node}", "Sys.Audit", 0 },
	{ "GET", "/nodes/{node}/rrddata", "/nodes/{node}", "Sys.Audit", 0 },
	{ "GET", "/nodes/{node}/netstat", "/nodes/{node}", "Sys.Audit", 0 },
	{ "GET", "/nodes/{node}/syslog", "/nodes/{node}", "Sys.Syslog", 0 },
	{ "GET", "/nodes/{node}/journal", "/nodes/{node}", "Sys.Syslog", 0 },
	{ "POST", "/nodes/{node}/termproxy", "/nodes/{node}", "Sys.Console",
	    API_ACL_CONSOLE },
	{ "POST", "/nodes/{node}/vncshell", "/nodes/{node}", "Sys.Console",
	    API_ACL_CONSOLE },
	{ "POST", "/nodes/{node}/spiceshell", "/nodes/{node}", "Sys.Console",
	    API_ACL_CONSOLE },
	{ "GET", "/nodes/{node}/vncwebsocket", "/nodes/{node}", "Sys.Console",
	    API_ACL_WEBSOCKET },

	/* Tasks.pm: lists filtered; one task by its UPID (see upid_acl). */
	{ "GET", "/nodes/{node}/tasks", "", NULL, F_LIST },
	{ "GET", "/nodes/{node}/tasks/{upid}", "{upid}", "Sys.Audit", 0 },
	{ "GET", "/nodes/{node}/tasks/{upid}/status", "{upid}", "Sys.Audit",
	    0 },
	{ "GET", "/nodes/{node}/tasks/{upid}/log", "{upid}", "Sys.Audit", 0 },
	{ "DELETE", "/nodes/{node}/tasks/{upid}", "/nodes/{node}",
	    "Sys.Modify", 0 },

	/* Qemu.pm and LXC.pm */
	{ "GET", "/nodes/{node}/{guest}", "", NULL, F_LIST },
	{ "GET", "/nodes/{node}/{guest}/{vmid}", "/vms/{vmid}", "VM.Audit",
	    0 },
	{ "DELETE", "/nodes/{node}/{guest}/{vmid}", "/vms/{vmid}",
	    "VM.Allocate", 0 },
	{ "GET", "/nodes/{node}/{guest}/{vmid}/status", "/vms/{vmid}",
	    "VM.Audit", 0 },
	{ "GET", "/nodes/{node}/{guest}/{vmid}/status/current", "/vms/{vmid}",
	    "VM.Audit", 0 },
	{ "POST", "/nodes/{node}/{guest}/{vmid}/status/start", "/vms/{vmid}",
	    "VM.PowerMgmt", 0 },
	{ "POST", "/nodes/{node}/{guest}/{vmid}/status/stop", "/vms/{vmid}",
	    "VM.PowerMgmt", 0 },
	{ "POST", "/nodes/{node}/{guest}/{vmid}/status/shutdown",
	    "/vms/{vmid}", "VM.PowerMgmt", 0 },
	{ "POST", "/nodes/{node}/{guest}/{vmid}/status/reboot", "/vms/{vmid}",
	    "VM.PowerMgmt", 0 },
	{ "POST", "/nodes/{node}/{guest}/{vmid}/status/suspend",
	    "/vms/{vmid}", "VM.PowerMgmt", 0 },
	{ "POST", "/nodes/{node}/{guest}/{vmid}/status/resume", "/vms/{vmid}",
	    "VM.PowerMgmt", 0 },
	{ "POST", "/nodes/{node}/qemu/{vmid}/status/reset", "/vms/{vmid}",
	    "VM.PowerMgmt", 0 },
	{ "GET", "/nodes/{node}/{guest}/{vmid}/config", "/vms/{vmid}",
	    "VM.Audit", 0 },
	{ "GET", "/nodes/{node}/{guest}/{vmid}/pending", "/vms/{vmid}",
	    "VM.Audit", 0 },
	{ "GET", "/nodes/{node}/{guest}/{vmid}/rrddata", "/vms/{vmid}",
	    "VM.Audit", 0 },
	/*
	 * Config changes: Proxmox lets in anyone holding one of
	 * $vm_config_perm_list (any => 1), then checks each parameter of
	 * the body against its own privilege (check_vm_modify_config_perm,
	 * check_ct_modify_config_perm).  The bastion does not read bodies,
	 * so it asks for every one of them: PRIV_VM_CONFIG, which
	 * policy_decide_api() expands.  Fail closed: a role holding only
	 * VM.Config.CDROM cannot change a configuration through the
	 * bastion.  Storage and bridge privileges that Proxmox also checks
	 * for new disks and NICs are the token's, not re-checked here.
	 */
	{ "PUT", "/nodes/{node}/{guest}/{vmid}/config", "/vms/{vmid}",
	    PRIV_VM_CONFIG, 0 },
	{ "POST", "/nodes/{node}/qemu/{vmid}/config", "/vms/{vmid}",
	    PRIV_VM_CONFIG, 0 },
	{ "PUT", "/nodes/{node}/{guest}/{vmid}/resize", "/vms/{vmid}",
	    "VM.Config.Disk", 0 },
	{ "GET", "/nodes/{node}/{guest}/{vmid}/snapshot", "/vms/{vmid}",
	    "VM.Audit", 0 },
	{ "POST", "/nodes/{node}/{guest}/{vmid}/snapshot", "/vms/{vmid}",
	    "VM.Snapshot", 0 },
	{ "POST", "/nodes/{node}/{guest}/{vmid}/migrate", "/vms/{vmid}",
	    "VM.Migrate", 0 },
	{ "POST", "/nodes/{node}/{guest}/{vmid}/vncproxy", "/vms/{vmid}",
	    "VM.Console", API_ACL_CONSOLE },
	{ "POST", "/nodes/{node}/{guest}/{vmid}/termproxy", "/vms/{vmid}",
	    "VM.Console", API_ACL_CONSOLE },
	{ "POST", "/nodes/{node}/{guest}/{vmid}/spiceproxy", "/vms/{vmid}",
	    "VM.Console", API_ACL_CONSOLE },
	{ "GET", "/nodes/{node}/{guest}/{vmid}/vncwebsocket", "/vms/{vmid}",
	    "VM.Console", API_ACL_WEBSOCKET },
	{ "PUT", "/nodes/{node}/qemu/{vmid}/sendkey", "/vms/{vmid}",
	    "VM.Console", 0 },

	/* pve-storage Status.pm: lists filtered on Datastore.Audit or
	 * Datastore.AllocateSpace; one storage with either (any => 1). */
	{ "GET", "/nodes/{node}/storage", "", NULL, F_LIST },
	{ "GET", "/nodes/{node}/storage/{storage}", "/storage/{storage}",
	    "Datastore.Audit", 0 },
	{ "GET", "/nodes/{node}/storage/{storage}/status",
	    "/storage/{storage}", "Datastore.Audit", 0 },
	/*
	 * pve-storage Config.pm: reading a definition is Allocate on it;
	 * creating, changing and removing one are Allocate on /storage
	 * itself, not on the storage's own path.
	 */
	{ "GET", "/storage", "", NULL, F_LIST },
	{ "POST", "/storage", "/storage", "Datastore.Allocate", 0 },
	{ "GET", "/storage/{storage}", "/storage/{storage}",
	    "Datastore.Allocate", 0 },
	{ "PUT", "/storage/{storage}", "/storage", "Datastore.Allocate", 0 },
	{ "DELETE", "/storage/{storage}", "/storage", "Datastore.Allocate",
	    0 },

	/* Pool.pm: the pool to create is in the body: asked on /pool. */
	{ "GET", "/pools", "", NULL, F_LIST },
	{ "POST", "/pools", "/pool", "Pool.Allocate", 0 },
	{ "GET", "/pools/{poolid}", "/pool/{poolid}", "Pool.Audit", 0 },
	{ "PUT", "/pools/{poolid}", "/pool/{poolid}", "Pool.Allocate", 0 },
	{ "DELETE", "/pools/{poolid}", "/pool/{poolid}", "Pool.Allocate", 0 },
};

/* The variables of the path, once checked. */
struct acl_vars {
	const char	*node;
	size_t		 node_len;
	long		 vmid;
	const char	*storage;
	size_t		 storage_len;
	const char	*pool;
	size_t		 pool_len;
	long		 upid_vmid;	/* the UPID's id if a vmid */
};

struct seg {
	const char	*s;
	size_t		 len;
};

static int
seg_is(const struct seg *g, const char *lit)
{
	return strlen(lit) == g->len && memcmp(g->s, lit, g->len) == 0;
}

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* pve-node: a host name label (letters, digits, inner '-'). */
static int
valid_node(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len >= sizeof(((struct api_acl *)0)->node) ||
	    !is_alnum((unsigned char)s[0]) ||
	    !is_alnum((unsigned char)s[len - 1]))
		return 0;
	for (i = 0; i < len; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-')
			return 0;
	return 1;
}

/* pve-vmid: 100 to 999999999, no sign, no leading zero; -1 if not. */
static long
parse_vmid(const char *s, size_t len)
{
	long v = 0;
	size_t i;

	if (len == 0 || len > 9 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v >= 100 ? v : -1;
}

/* pve-storage-id: [a-z][a-z0-9\-\_\.]*[a-z0-9], case-insensitive. */
static int
valid_storage(const char *s, size_t len)
{
	size_t i;

	if (len < 2 || len > 64 || !isalpha((unsigned char)s[0]) ||
	    !is_alnum((unsigned char)s[len - 1]))
		return 0;
	for (i = 0; i < len; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

/* pve-poolid: [A-Za-z0-9\-_]+ (and short). */
static int
valid_pool(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 64)
		return 0;
	for (i = 0; i < len; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '-' &&
		    s[i] != '_')
			return 0;
	return 1;
}

/* user@realm or group names: printable, no '/', bounded. */
static int
valid_access_name(const char *s, size_t len, int need_realm)
{
	size_t i;

	if (len == 0 || len > 128)
		return 0;
	for (i = 0; i < len; i++)
		if (!is_alnum((unsigned char)s[i]) && strchr("-_.@!",
		    s[i]) == NULL)
			return 0;
	return !need_realm || memchr(s, '@', len) != NULL;
}

static int
hex_field(const char *s, size_t len, size_t min, size_t max)
{
	size_t i;

	if (len < min || len > max)
		return 0;
	for (i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * UPID:NODE:PID:PSTART:STARTTIME:TYPE:ID:USER: as PVE::Tools::upid_decode
 * reads it (PID 8 hex digits, PSTART 8 or 9, STARTTIME 8; TYPE and USER
 * non-empty, ID may be empty; every field closed by ':').  Its node must
 * be the URL's, since that is the node the ACL path names.  Sets *vmid
 * when ID is a vmid.
 */
static int
valid_upid(const struct seg *g, const struct acl_vars *v, long *vmid)
{
	struct seg f[8];
	const char *p = g->s, *end = g->s + g->len, *c;
	int n = 0;

	*vmid = -1;
	while (p < end && n < 8) {
		if ((c = memchr(p, ':', (size_t)(end - p))) == NULL)
			return 0;
		f[n].s = p;
		f[n].len = (size_t)(c - p);
		n++;
		p = c + 1;
	}
	/* Eight fields, each closed by ':', the last one USER. */
	if (n != 8 || p != end || !seg_is(&f[0], "UPID") ||
	    v->node == NULL || f[1].len != v->node_len ||
	    memcmp(f[1].s, v->node, v->node_len) != 0 ||
	    !hex_field(f[2].s, f[2].len, 8, 8) ||
	    !hex_field(f[3].s, f[3].len, 8, 9) ||
	    !hex_field(f[4].s, f[4].len, 8, 8) || f[5].len == 0 ||
	    f[7].len == 0 || !valid_access_name(f[7].s, f[7].len, 1))
		return 0;
	if (f[6].len > 0)
		*vmid = parse_vmid(f[6].s, f[6].len);
	return 1;
}

/* Splits the path; -EINVAL if it is not a normalised one. */
static int
split_path(const char *path, struct seg *segs, size_t *nsegs)
{
	const char *p = path, *q;
	size_t n = 0, len = strnlen(path, PATH_IN_MAX + 1);

	if (len == 0 || len > PATH_IN_MAX || path[0] != '/')
		return -EINVAL;
	if (len == 1) {
		*nsegs = 0;
		return 0;
	}
	while (*p == '/') {
		p++;
		for (q = p; *q != '\0' && *q != '/'; q++)
			if ((unsigned char)*q <= 0x20 ||
			    (unsigned char)*q >= 0x7f || *q == '%' ||
			    *q == '?' || *q == '#' || *q == '\\')
				return -EINVAL;
		if (q == p || (q - p == 1 && p[0] == '.') ||
		    (q - p == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		if (n == SEGS_MAX)
			return -ENOENT;	/* deeper than any known call */
		segs[n].s = p;
		segs[n].len = (size_t)(q - p);
		n++;
		p = q;
	}
	*nsegs = n;
	return 0;
}

/* Splits a table pattern (trusted text). */
static size_t
split_pattern(const char *pat, struct seg *segs)
{
	size_t n = 0;

	if (split_path(pat, segs, &n) < 0)
		return (size_t)-1;
	return n;
}

/* Whether the path has the pattern's shape (variables unchecked). */
static int
shape_matches(const struct seg *pat, const struct seg *in, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (seg_is(&pat[i], "{guest}")) {
			if (!seg_is(&in[i], "qemu") && !seg_is(&in[i], "lxc"))
				return 0;
		} else if (pat[i].s[0] != '{') {
			if (pat[i].len != in[i].len ||
			    memcmp(pat[i].s, in[i].s, in[i].len) != 0)
				return 0;
		}
	}
	return 1;
}

/* Checks the variables of a path of the right shape; 0 or -EINVAL. */
static int
check_vars(const struct seg *pat, const struct seg *in, size_t n,
    struct acl_vars *v)
{
	size_t i;

	memset(v, 0, sizeof(*v));
	v->vmid = -1;
	v->upid_vmid = -1;
	for (i = 0; i < n; i++) {
		if (seg_is(&pat[i], "{node}")) {
			if (!valid_node(in[i].s, in[i].len))
				return -EINVAL;
			v->node = in[i].s;
			v->node_len = in[i].len;
		} else if (seg_is(&pat[i], "{vmid}")) {
			if ((v->vmid = parse_vmid(in[i].s, in[i].len)) < 0)
				return -EINVAL;
		} else if (seg_is(&pat[i], "{storage}")) {
			if (!valid_storage(in[i].s, in[i].len))
				return -EINVAL;
			v->storage = in[i].s;
			v->storage_len = in[i].len;
		} else if (seg_is(&pat[i], "{poolid}")) {
			if (!valid_pool(in[i].s, in[i].len))
				return -EINVAL;
			v->pool = in[i].s;
			v->pool_len = in[i].len;
		} else if (seg_is(&pat[i], "{userid}")) {
			if (!valid_access_name(in[i].s, in[i].len, 1))
				return -EINVAL;
		} else if (seg_is(&pat[i], "{groupid}")) {
			if (!valid_access_name(in[i].s, in[i].len, 0))
				return -EINVAL;
		} else if (seg_is(&pat[i], "{upid}")) {
			/* {node} comes first in every UPID pattern. */
			if (!valid_upid(&in[i], v, &v->upid_vmid))
				return -EINVAL;
		}
	}
	return 0;
}

/* Expands the ACL template into out->path. */
static int
fill_acl(const struct acl_entry *e, const struct acl_vars *v,
    struct api_acl *out)
{
	const char *t = e->acl;
	int n = 0;

	memset(out, 0, sizeof(*out));
	out->vmid = v->vmid;
	out->flags = e->flags;
	out->privilege = e->privilege;
	if (v->node != NULL)
		snprintf(out->node, sizeof(out->node), "%.*s",
		    (int)v->node_len, v->node);
	if (strcmp(t, "{upid}") == 0) {
		/*
		 * Proxmox asks Sys.Audit on the task's node of anyone but
		 * the task's owner.  Behind the bastion every task belongs
		 * to a role's token, so "owner" means nothing; a guest's
		 * task (its ID a vmid) is asked on the guest with
		 * VM.Audit instead, so that a guest admin can follow the
		 * tasks of the guests they may audit.
		 */
		if (v->upid_vmid > 0) {
			out->vmid = v->upid_vmid;
			out->privilege = "VM.Audit";
			n = snprintf(out->path, sizeof(out->path), "/vms/%ld",
			    v->upid_vmid);
		} else
			n = snprintf(out->path, sizeof(out->path),
			    "/nodes/%.*s", (int)v->node_len, v->node);
	} else if (strstr(t, "{vmid}") != NULL)
		n = snprintf(out->path, sizeof(out->path), "/vms/%ld",
		    v->vmid);
	else if (strstr(t, "{node}") != NULL)
		n = snprintf(out->path, sizeof(out->path), "/nodes/%.*s",
		    (int)v->node_len, v->node);
	else if (strstr(t, "{storage}") != NULL)
		n = snprintf(out->path, sizeof(out->path), "/storage/%.*s",
		    (int)v->storage_len, v->storage);
	else if (strstr(t, "{poolid}") != NULL)
		n = snprintf(out->path, sizeof(out->path), "/pool/%.*s",
		    (int)v->pool_len, v->pool);
	else
		n = snprintf(out->path, sizeof(out->path), "%s", t);
	if (n < 0 || (size_t)n >= sizeof(out->path))
		return -EINVAL;
	return 0;
}

int
api_acl_map(const char *method, const char *path, struct api_acl *out)
{
	struct seg in[SEGS_MAX], pat[SEGS_MAX];
	struct acl_vars v;
	size_t nin, npat, i;
	int rc;

	if (out != NULL) {
		memset(out, 0, sizeof(*out));
		out->vmid = -1;
	}
	if (method == NULL || path == NULL || out == NULL)
		return -EINVAL;
	if ((rc = split_path(path, in, &nin)) < 0)
		return rc;
	for (i = 0; i < sizeof(acl_table) / sizeof(acl_table[0]); i++) {
		const struct acl_entry *e = &acl_table[i];

		if (strcmp(e->method, method) != 0)
			continue;
		npat = split_pattern(e->pattern, pat);
		if (npat != nin || !shape_matches(pat, in, nin))
			continue;
		if ((rc = check_vars(pat, in, nin, &v)) < 0 ||
		    (rc = fill_acl(e, &v, out)) < 0) {
			memset(out, 0, sizeof(*out));
			out->vmid = -1;
			return rc;
		}
		return 0;
	}
	return -ENOENT;
}
