/*
 * test_api_acl.c - api_acl_map(), table-driven: every family of calls the
 * bastion forwards, with the ACL path and privilege Proxmox checks for it,
 * the flags (login, list, console, websocket), unknown calls (-ENOENT)
 * and malformed paths (-EINVAL); and the Proxmox built-in roles of
 * api_privs.c against pve-access-control's definitions.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "../../policy/api_acl.h"
#include "../../policy/api_privs.h"

#define UPID_VM	"UPID:pve1:00001234:00005678:6543ABCD:qmstart:101:" \
		"root@pam!hvb-hv:"
#define UPID_NODE "UPID:pve1:00001234:00005678:6543ABCD:vncshell::" \
		"root@pam:"

struct acl_case {
	const char	*method;
	const char	*path;
	int		 rc;
	const char	*acl_path;	/* when rc == 0 */
	const char	*privilege;	/* NULL: none */
	unsigned	 flags;
	const char	*node;		/* "" none */
	long		 vmid;
};

#define LIST	(API_ACL_LIST_FILTER | API_ACL_ANY_PERSON)
#define CONS	API_ACL_CONSOLE
#define WS	API_ACL_WEBSOCKET

static const struct acl_case cases[] = {
	/* No ACL path. */
	{ "GET", "/version", 0, "", NULL, API_ACL_ANY_PERSON, "", -1 },
	{ "POST", "/access/ticket", 0, "", NULL, API_ACL_LOGIN, "", -1 },
	{ "GET", "/cluster/resources", 0, "", NULL, LIST, "", -1 },
	{ "GET", "/cluster/tasks", 0, "", NULL, LIST, "", -1 },
	{ "GET", "/nodes", 0, "", NULL, LIST, "", -1 },
	{ "GET", "/nodes/pve1/qemu", 0, "", NULL, LIST, "pve1", -1 },
	{ "GET", "/nodes/pve1/lxc", 0, "", NULL, LIST, "pve1", -1 },
	{ "GET", "/nodes/pve1/tasks", 0, "", NULL, LIST, "pve1", -1 },
	{ "GET", "/nodes/pve-2/storage", 0, "", NULL, LIST, "pve-2", -1 },
	{ "GET", "/storage", 0, "", NULL, LIST, "", -1 },
	{ "GET", "/pools", 0, "", NULL, LIST, "", -1 },
	/* Nodes. */
	{ "GET", "/nodes/pve1/status", 0, "/nodes/pve1", "Sys.Audit", 0,
	    "pve1", -1 },
	{ "POST", "/nodes/pve1/status", 0, "/nodes/pve1", "Sys.PowerMgmt",
	    0, "pve1", -1 },
	{ "GET", "/nodes/pve1", 0, "/nodes/pve1", "Sys.Audit", 0, "pve1",
	    -1 },
	{ "GET", "/nodes/pve1/syslog", 0, "/nodes/pve1", "Sys.Syslog", 0,
	    "pve1", -1 },
	{ "POST", "/nodes/pve1/termproxy", 0, "/nodes/pve1", "Sys.Console",
	    CONS, "pve1", -1 },
	{ "POST", "/nodes/pve1/vncshell", 0, "/nodes/pve1", "Sys.Console",
	    CONS, "pve1", -1 },
	{ "GET", "/nodes/pve1/vncwebsocket", 0, "/nodes/pve1", "Sys.Console",
	    WS, "pve1", -1 },
	/* Guests. */
	{ "GET", "/nodes/pve1/qemu/101/status/current", 0, "/vms/101",
	    "VM.Audit", 0, "pve1", 101 },
	{ "GET", "/nodes/pve1/lxc/105/status/current", 0, "/vms/105",
	    "VM.Audit", 0, "pve1", 105 },
	{ "POST", "/nodes/pve1/qemu/101/status/start", 0, "/vms/101",
	    "VM.PowerMgmt", 0, "pve1", 101 },
	{ "POST", "/nodes/pve1/qemu/101/status/stop", 0, "/vms/101",
	    "VM.PowerMgmt", 0, "pve1", 101 },
	{ "POST", "/nodes/pve1/qemu/101/status/shutdown", 0, "/vms/101",
	    "VM.PowerMgmt", 0, "pve1", 101 },
	{ "POST", "/nodes/pve1/qemu/101/status/reboot", 0, "/vms/101",
	    "VM.PowerMgmt", 0, "pve1", 101 },
	{ "POST", "/nodes/pve1/qemu/101/status/suspend", 0, "/vms/101",
	    "VM.PowerMgmt", 0, "pve1", 101 },
	{ "POST", "/nodes/pve1/lxc/105/status/resume", 0, "/vms/105",
	    "VM.PowerMgmt", 0, "pve1", 105 },
	{ "POST", "/nodes/pve1/qemu/101/status/reset", 0, "/vms/101",
	    "VM.PowerMgmt", 0, "pve1", 101 },
	{ "POST", "/nodes/pve1/lxc/105/status/reset", -ENOENT, NULL, NULL, 0,
	    "", -1 },
	{ "GET", "/nodes/pve1/qemu/101/config", 0, "/vms/101", "VM.Audit", 0,
	    "pve1", 101 },
	{ "PUT", "/nodes/pve1/qemu/101/config", 0, "/vms/101",
	    API_ACL_PRIV_VM_CONFIG, 0, "pve1", 101 },
	{ "POST", "/nodes/pve1/qemu/101/config", 0, "/vms/101",
	    API_ACL_PRIV_VM_CONFIG, 0, "pve1", 101 },
	{ "PUT", "/nodes/pve1/lxc/105/config", 0, "/vms/105",
	    API_ACL_PRIV_VM_CONFIG, 0, "pve1", 105 },
	{ "POST", "/nodes/pve1/lxc/105/config", -ENOENT, NULL, NULL, 0, "",
	    -1 },
	{ "POST", "/nodes/pve1/qemu/101/vncproxy", 0, "/vms/101",
	    "VM.Console", CONS, "pve1", 101 },
	{ "POST", "/nodes/pve1/lxc/105/termproxy", 0, "/vms/105",
	    "VM.Console", CONS, "pve1", 105 },
	{ "GET", "/nodes/pve1/qemu/101/vncwebsocket", 0, "/vms/101",
	    "VM.Console", WS, "pve1", 101 },
	{ "DELETE", "/nodes/pve1/qemu/101", 0, "/vms/101", "VM.Allocate", 0,
	    "pve1", 101 },
	{ "POST", "/nodes/pve1/qemu/101/snapshot", 0, "/vms/101",
	    "VM.Snapshot", 0, "pve1", 101 },
	/* Tasks: a guest's task on the guest, others on the node. */
	{ "GET", "/nodes/pve1/tasks/" UPID_VM "/status", 0, "/vms/101",
	    "VM.Audit", 0, "pve1", 101 },
	{ "GET", "/nodes/pve1/tasks/" UPID_VM "/log", 0, "/vms/101",
	    "VM.Audit", 0, "pve1", 101 },
	{ "GET", "/nodes/pve1/tasks/" UPID_NODE "/status", 0, "/nodes/pve1",
	    "Sys.Audit", 0, "pve1", -1 },
	{ "DELETE", "/nodes/pve1/tasks/" UPID_VM, 0, "/nodes/pve1",
	    "Sys.Modify", 0, "pve1", -1 },
	/* Storage and pools. */
	{ "GET", "/storage/local", 0, "/storage/local", "Datastore.Allocate",
	    0, "", -1 },
	{ "GET", "/nodes/pve1/storage/local-lvm/status", 0,
	    "/storage/local-lvm", "Datastore.Audit", 0, "pve1", -1 },
	{ "GET", "/pools/guests", 0, "/pool/guests", "Pool.Audit", 0, "",
	    -1 },
	{ "PUT", "/pools/guests", 0, "/pool/guests", "Pool.Allocate", 0, "",
	    -1 },
	{ "POST", "/pools", 0, "/pool", "Pool.Allocate", 0, "", -1 },
	/* /access: explicit paths only. */
	{ "GET", "/access/users", 0, "/access/groups", "Sys.Audit", 0, "",
	    -1 },
	{ "PUT", "/access/users/alice@pve", 0, "/access/groups",
	    "User.Modify", 0, "", -1 },
	{ "GET", "/access/acl", 0, "/access", "Sys.Audit", 0, "", -1 },
	{ "PUT", "/access/acl", 0, "/access", "Permissions.Modify", 0, "",
	    -1 },
	{ "GET", "/cluster/status", 0, "/", "Sys.Audit", 0, "", -1 },
	/* The rest of the table, one each, so that no pattern is dead. */
	{ "GET", "/access/ticket", 0, "", NULL, API_ACL_LOGIN, "", -1 },
	{ "POST", "/access/users", 0, "/access/groups", "User.Modify", 0, "",
	    -1 },
	{ "GET", "/access/users/bob@pve", 0, "/access/groups", "Sys.Audit", 0,
	    "", -1 },
	{ "DELETE", "/access/users/bob@pve", 0, "/access/groups",
	    "User.Modify", 0, "", -1 },
	{ "GET", "/access/groups", 0, "/access/groups", "Sys.Audit", 0, "",
	    -1 },
	{ "POST", "/access/groups", 0, "/access/groups", "Group.Allocate", 0,
	    "", -1 },
	{ "GET", "/access/groups/ops", 0, "/access/groups", "Sys.Audit", 0,
	    "", -1 },
	{ "PUT", "/access/groups/ops", 0, "/access/groups", "Group.Allocate",
	    0, "", -1 },
	{ "DELETE", "/access/groups/ops", 0, "/access/groups",
	    "Group.Allocate", 0, "", -1 },
	{ "GET", "/access/roles", 0, "/access", "Sys.Audit", 0, "", -1 },
	{ "GET", "/access/domains", 0, "/access/realm", "Sys.Audit", 0, "",
	    -1 },
	{ "GET", "/cluster", 0, "", NULL, API_ACL_ANY_PERSON, "", -1 },
	{ "GET", "/cluster/options", 0, "/", "Sys.Audit", 0, "", -1 },
	{ "GET", "/cluster/nextid", 0, "", NULL, API_ACL_ANY_PERSON, "", -1 },
	{ "GET", "/nodes/pve1/version", 0, "/nodes/pve1", "Sys.Audit", 0,
	    "pve1", -1 },
	{ "GET", "/nodes/pve1/rrddata", 0, "/nodes/pve1", "Sys.Audit", 0,
	    "pve1", -1 },
	{ "GET", "/nodes/pve1/netstat", 0, "/nodes/pve1", "Sys.Audit", 0,
	    "pve1", -1 },
	{ "GET", "/nodes/pve1/journal", 0, "/nodes/pve1", "Sys.Syslog", 0,
	    "pve1", -1 },
	{ "POST", "/nodes/pve1/spiceshell", 0, "/nodes/pve1", "Sys.Console",
	    CONS, "pve1", -1 },
	{ "GET", "/nodes/pve1/tasks/" UPID_VM, 0, "/vms/101", "VM.Audit", 0,
	    "pve1", 101 },
	{ "GET", "/nodes/pve1/lxc/105", 0, "/vms/105", "VM.Audit", 0, "pve1",
	    105 },
	{ "GET", "/nodes/pve1/qemu/101/status", 0, "/vms/101", "VM.Audit", 0,
	    "pve1", 101 },
	{ "POST", "/nodes/pve1/lxc/105/status/start", 0, "/vms/105",
	    "VM.PowerMgmt", 0, "pve1", 105 },
	{ "POST", "/nodes/pve1/lxc/105/status/shutdown", 0, "/vms/105",
	    "VM.PowerMgmt", 0, "pve1", 105 },
	{ "POST", "/nodes/pve1/lxc/105/status/reboot", 0, "/vms/105",
	    "VM.PowerMgmt", 0, "pve1", 105 },
	{ "POST", "/nodes/pve1/qemu/101/status/resume", 0, "/vms/101",
	    "VM.PowerMgmt", 0, "pve1", 101 },
	{ "GET", "/nodes/pve1/lxc/105/config", 0, "/vms/105", "VM.Audit", 0,
	    "pve1", 105 },
	{ "GET", "/nodes/pve1/qemu/101/pending", 0, "/vms/101", "VM.Audit", 0,
	    "pve1", 101 },
	{ "GET", "/nodes/pve1/qemu/101/rrddata", 0, "/vms/101", "VM.Audit", 0,
	    "pve1", 101 },
	{ "PUT", "/nodes/pve1/qemu/101/resize", 0, "/vms/101",
	    "VM.Config.Disk", 0, "pve1", 101 },
	{ "GET", "/nodes/pve1/lxc/105/snapshot", 0, "/vms/105", "VM.Audit", 0,
	    "pve1", 105 },
	{ "POST", "/nodes/pve1/qemu/101/migrate", 0, "/vms/101", "VM.Migrate",
	    0, "pve1", 101 },
	{ "POST", "/nodes/pve1/lxc/105/vncproxy", 0, "/vms/105", "VM.Console",
	    CONS, "pve1", 105 },
	{ "POST", "/nodes/pve1/qemu/101/termproxy", 0, "/vms/101",
	    "VM.Console", CONS, "pve1", 101 },
	{ "POST", "/nodes/pve1/qemu/101/spiceproxy", 0, "/vms/101",
	    "VM.Console", CONS, "pve1", 101 },
	{ "GET", "/nodes/pve1/lxc/105/vncwebsocket", 0, "/vms/105",
	    "VM.Console", WS, "pve1", 105 },
	{ "PUT", "/nodes/pve1/qemu/101/sendkey", 0, "/vms/101", "VM.Console",
	    0, "pve1", 101 },
	{ "PUT", "/nodes/pve1/lxc/105/sendkey", -ENOENT, NULL, NULL, 0, "",
	    -1 },
	{ "GET", "/nodes/pve1/storage/local", 0, "/storage/local",
	    "Datastore.Audit", 0, "pve1", -1 },
	{ "POST", "/storage", 0, "/storage", "Datastore.Allocate", 0, "",
	    -1 },
	/* Changing a storage definition is Allocate on /storage itself. */
	{ "PUT", "/storage/local", 0, "/storage", "Datastore.Allocate", 0, "",
	    -1 },
	{ "DELETE", "/storage/local", 0, "/storage", "Datastore.Allocate", 0,
	    "", -1 },
	{ "DELETE", "/pools/guests", 0, "/pool/guests", "Pool.Allocate", 0,
	    "", -1 },
	/* Unknown: denied. */
	{ "POST", "/nodes/pve1/execute", -ENOENT, NULL, NULL, 0, "", -1 },
	{ "POST", "/nodes/pve1/qemu", -ENOENT, NULL, NULL, 0, "", -1 },
	{ "GET", "/access/permissions", -ENOENT, NULL, NULL, 0, "", -1 },
	{ "PUT", "/access/password", -ENOENT, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/pve1/foo", -ENOENT, NULL, NULL, 0, "", -1 },
	{ "PATCH", "/version", -ENOENT, NULL, NULL, 0, "", -1 },
	{ "DELETE", "/version", -ENOENT, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/pve1/openvz/101/status/current", -ENOENT, NULL,
	    NULL, 0, "", -1 },
	{ "GET", "/", -ENOENT, NULL, NULL, 0, "", -1 },
	{ "GET", "/a/b/c/d/e/f/g/h/i/j", -ENOENT, NULL, NULL, 0, "", -1 },
	/* Malformed. */
	{ "GET", "", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "version", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes//status", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/pve1/status/", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/../version", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/./pve1/status", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/pv_e1/status", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/-pve1/status", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/pve1.lan/status", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/pve\x1b/status", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/pve%31/status", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/pv\xc3\xa9/status", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/pve1/qemu/99/status/current", -EINVAL, NULL, NULL,
	    0, "", -1 },
	{ "GET", "/nodes/pve1/qemu/0101/status/current", -EINVAL, NULL, NULL,
	    0, "", -1 },
	{ "GET", "/nodes/pve1/qemu/1000000000/status/current", -EINVAL, NULL,
	    NULL, 0, "", -1 },
	{ "GET", "/nodes/pve1/qemu/+101/status/current", -EINVAL, NULL, NULL,
	    0, "", -1 },
	{ "GET", "/nodes/pve1/qemu/101x/config", -EINVAL, NULL, NULL, 0, "",
	    -1 },
	{ "GET", "/storage/1local", -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/pools/gu:ests", -EINVAL, NULL, NULL, 0, "", -1 },
	/* A UPID of another node, or not a UPID. */
	{ "GET", "/nodes/pve2/tasks/" UPID_VM "/status", -EINVAL, NULL, NULL,
	    0, "", -1 },
	{ "GET", "/nodes/pve1/tasks/UPID:pve1:1:2:3:x:101:root@pam:/status",
	    -EINVAL, NULL, NULL, 0, "", -1 },
	{ "GET", "/nodes/pve1/tasks/" UPID_VM "x/status", -EINVAL, NULL, NULL,
	    0, "", -1 },
};

static void
test_map_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct acl_case *c = &cases[i];
		struct api_acl acl;
		int rc;

		memset(&acl, 0xa5, sizeof(acl));
		rc = api_acl_map(c->method, c->path, &acl);
		if (rc != c->rc)
			fail_msg("case %zu: %s %s: rc %d, want %d", i,
			    c->method, c->path, rc, c->rc);
		if (rc != 0) {
			/* Nothing usable is left behind on failure. */
			assert_string_equal(acl.path, "");
			assert_null(acl.privilege);
			continue;
		}
		if (strcmp(acl.path, c->acl_path) != 0)
			fail_msg("case %zu: %s %s: ACL path \"%s\", want"
			    " \"%s\"", i, c->method, c->path, acl.path,
			    c->acl_path);
		if ((acl.privilege == NULL) != (c->privilege == NULL) ||
		    (acl.privilege != NULL &&
		    strcmp(acl.privilege, c->privilege) != 0))
			fail_msg("case %zu: %s %s: privilege %s, want %s", i,
			    c->method, c->path, acl.privilege != NULL ?
			    acl.privilege : "NULL", c->privilege != NULL ?
			    c->privilege : "NULL");
		if (acl.flags != c->flags)
			fail_msg("case %zu: %s %s: flags %#x, want %#x", i,
			    c->method, c->path, acl.flags, c->flags);
		if (strcmp(acl.node, c->node) != 0 || acl.vmid != c->vmid)
			fail_msg("case %zu: %s %s: node \"%s\" vmid %ld", i,
			    c->method, c->path, acl.node, acl.vmid);
	}
}

static void
test_map_bounds(void **state)
{
	char path[1200];
	struct api_acl acl;
	size_t i;

	(void)state;
	assert_int_equal(api_acl_map(NULL, "/version", &acl), -EINVAL);
	assert_int_equal(api_acl_map("GET", NULL, &acl), -EINVAL);
	assert_int_equal(api_acl_map("GET", "/version", NULL), -EINVAL);
	/* A path longer than any the bastion accepts. */
	path[0] = '/';
	for (i = 1; i < sizeof(path) - 1; i++)
		path[i] = 'a';
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(api_acl_map("GET", path, &acl), -EINVAL);
	/* A node name one byte too long for struct api_acl. */
	memcpy(path, "/nodes/", 7);
	for (i = 7; i < 7 + 64; i++)
		path[i] = 'n';
	snprintf(path + 7 + 64, sizeof(path) - 7 - 64, "/status");
	assert_int_equal(api_acl_map("GET", path, &acl), -EINVAL);
	path[7 + 63] = '\0';
	memmove(path + 7 + 63, "/status", 8);
	assert_int_equal(api_acl_map("GET", path, &acl), 0);
	assert_int_equal(strlen(acl.node), 63);
}

/* Collects a role's privileges into one space-separated string. */
struct collect {
	char	buf[2048];
};

static void
collect(void *arg, const char *priv)
{
	struct collect *c = arg;
	size_t n = strlen(c->buf);

	snprintf(c->buf + n, sizeof(c->buf) - n, "%s%s", n ? " " : "",
	    priv);
}

static const struct {
	const char	*role;
	const char	*privs;		/* NULL: not a role */
} roles[] = {
	{ "NoAccess", "" },
	{ "PVEAuditor", "VM.Audit VM.GuestAgent.Audit Sys.Audit"
	    " Datastore.Audit SDN.Audit Pool.Audit Mapping.Audit" },
	{ "PVEVMUser", "VM.Config.CDROM VM.Config.Cloudinit VM.Console"
	    " VM.Backup VM.GuestAgent.FileRead VM.GuestAgent.FileSystemMgmt"
	    " VM.GuestAgent.FileWrite VM.PowerMgmt VM.Audit"
	    " VM.GuestAgent.Audit" },
	{ "PVESysAdmin", "Sys.Console Sys.Syslog Sys.Audit" },
	{ "PVEDatastoreUser", "Datastore.AllocateSpace Datastore.Audit" },
	{ "PVEPoolUser", "Pool.Audit" },
	{ "PVEPoolAdmin", "Pool.Allocate Pool.Audit" },
	{ "PVESDNAdmin", "SDN.Allocate SDN.Audit SDN.Use" },
	{ "PVEUserAdmin", "User.Modify Group.Allocate Realm.AllocateUser" },
	{ "PVETemplateUser", "VM.Clone VM.Audit" },
	{ "PVESysUser", NULL },
	{ "PVEUserUser", NULL },
	{ "PVE", NULL },
	{ "Admin", NULL },
	{ "pveauditor", NULL },
};

static int
has_word(const char *list, const char *w)
{
	size_t n = strlen(w);
	const char *p = list;

	while ((p = strstr(p, w)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == ' ' ||
		    p[n] == '\0'))
			return 1;
		p++;
	}
	return 0;
}

static void
test_builtin_roles(void **state)
{
	struct collect c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(roles) / sizeof(roles[0]); i++) {
		memset(&c, 0, sizeof(c));
		if (roles[i].privs == NULL) {
			assert_int_equal(api_role_each_privilege(
			    roles[i].role, collect, &c), -1);
			continue;
		}
		assert_int_equal(api_role_each_privilege(roles[i].role,
		    collect, &c), 0);
		assert_string_equal(c.buf, roles[i].privs);
	}
	/* Administrator: everything, Permissions.Modify included. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(api_role_each_privilege("Administrator", collect,
	    &c), 0);
	assert_true(has_word(c.buf, "Permissions.Modify"));
	assert_true(has_word(c.buf, "Sys.PowerMgmt"));
	assert_true(has_word(c.buf, "Mapping.Modify"));
	/* PVEAdmin: no root privileges, no Mapping.Modify. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(api_role_each_privilege("PVEAdmin", collect, &c), 0);
	assert_true(has_word(c.buf, "VM.Allocate"));
	assert_true(has_word(c.buf, "Sys.Console"));
	assert_true(has_word(c.buf, "Mapping.Use"));
	assert_false(has_word(c.buf, "Sys.PowerMgmt"));
	assert_false(has_word(c.buf, "Sys.Modify"));
	assert_false(has_word(c.buf, "Realm.Allocate"));
	assert_false(has_word(c.buf, "Permissions.Modify"));
	assert_false(has_word(c.buf, "Mapping.Modify"));
	/* SDN.Audit is listed twice in Proxmox; emitted once. */
	memset(&c, 0, sizeof(c));
	api_role_each_privilege("PVESDNAdmin", collect, &c);
	assert_non_null(strstr(c.buf, "SDN.Audit"));
	assert_null(strstr(strstr(c.buf, "SDN.Audit") + 1, "SDN.Audit"));
	/* Privileges and the VM.Config family. */
	assert_true(api_priv_valid("VM.PowerMgmt"));
	assert_true(api_priv_valid("Permissions.Modify"));
	assert_false(api_priv_valid("VM.Monitor"));
	assert_false(api_priv_valid("vm.powermgmt"));
	assert_true(api_priv_read_only("Sys.Audit"));
	assert_false(api_priv_read_only("Sys.Console"));
	memset(&c, 0, sizeof(c));
	assert_int_equal(api_priv_each_prefixed(API_ACL_PRIV_VM_CONFIG,
	    collect, &c), 8);
	assert_string_equal(c.buf, "VM.Config.Disk VM.Config.CPU"
	    " VM.Config.Memory VM.Config.Network VM.Config.HWType"
	    " VM.Config.Options VM.Config.CDROM VM.Config.Cloudinit");
	assert_int_equal(api_priv_each_prefixed("VM.Config.", NULL, NULL), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_map_table),
		cmocka_unit_test(test_map_bounds),
		cmocka_unit_test(test_builtin_roles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
