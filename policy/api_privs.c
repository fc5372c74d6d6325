/*
 * api_privs.c - the Proxmox VE privilege groups and built-in roles.
 *
 * Written from pve-access-control src/PVE/AccessControl.pm ($privgroups,
 * $valid_privs, $special_roles and create_roles(), the PVE 9 version with
 * the VM.GuestAgent.* privileges and without VM.Monitor):
 *
 *   Administrator     every privilege (Permissions.Modify included)
 *   NoAccess          none
 *   PVE<Cat>Admin     the group's admin, user and audit privileges
 *   PVEAdmin          every group's admin, user and audit privileges but
 *                     Mapping.Modify (so no Sys.PowerMgmt, Sys.Modify,
 *                     Realm.Allocate, Permissions.Modify ...)
 *   PVE<Cat>User      user and audit, for groups whose user list is not
 *                     empty (no PVESysUser, no PVEUserUser)
 *   PVEAuditor        every group's audit privileges
 *   PVETemplateUser   VM.Clone, VM.Audit
 */
#include <string.h>

#include "api_privs.h"

enum { LVL_ROOT, LVL_ADMIN, LVL_USER, LVL_AUDIT, LVL_N };

#define GROUP_PRIVS_MAX	16

struct priv_group {
	const char	*name;
	/* By level, each list NULL-ended. */
	const char	*privs[LVL_N][GROUP_PRIVS_MAX];
};

static const struct priv_group groups[] = {
	{ "VM", {
	    { NULL },
	    { "VM.Config.Disk", "VM.Config.CPU", "VM.Config.Memory",
	      "VM.Config.Network", "VM.Config.HWType", "VM.Config.Options",
	      "VM.Allocate", "VM.Clone", "VM.GuestAgent.Unrestricted",
	      "VM.Migrate", "VM.Replicate", "VM.Snapshot",
	      "VM.Snapshot.Rollback", NULL },
	    { "VM.Config.CDROM", "VM.Config.Cloudinit", "VM.Console",
	      "VM.Backup", "VM.GuestAgent.FileRead",
	      "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
	      "VM.PowerMgmt", NULL },
	    { "VM.Audit", "VM.GuestAgent.Audit", NULL } } },
	{ "Sys", {
	    { "Sys.PowerMgmt", "Sys.Modify", "Sys.Incoming",
	      "Sys.AccessNetwork", NULL },
	    { "Sys.Console", "Sys.Syslog", NULL },
	    { NULL },
	    { "Sys.Audit", NULL } } },
	{ "Datastore", {
	    { NULL },
	    { "Datastore.Allocate", "Datastore.AllocateTemplate", NULL },
	    { "Datastore.AllocateSpace", NULL },
	    { "Datastore.Audit", NULL } } },
	{ "SDN", {
	    { NULL },
	    { "SDN.Allocate", "SDN.Audit", NULL },
	    { "SDN.Use", NULL },
	    { "SDN.Audit", NULL } } },
	{ "User", {
	    { "Realm.Allocate", NULL },
	    { "User.Modify", "Group.Allocate", "Realm.AllocateUser", NULL },
	    { NULL },
	    { NULL } } },
	{ "Pool", {
	    { NULL },
	    { "Pool.Allocate", NULL },
	    { "Pool.Audit", NULL },
	    { "Pool.Audit", NULL } } },
	{ "Mapping", {
	    { NULL },
	    { "Mapping.Modify", NULL },
	    { "Mapping.Use", NULL },
	    { "Mapping.Audit", NULL } } },
};
#define NGROUPS	(sizeof(groups) / sizeof(groups[0]))

/* Not in a group ($valid_privs). */
static const char *const extra_privs[] = { "Permissions.Modify" };

/* Privileges that only read: an audit-side role may hold these only. */
static const char *const read_only_privs[] = { "VM.Audit",
	"VM.GuestAgent.Audit", "Sys.Audit", "Sys.Syslog", "Datastore.Audit",
	"SDN.Audit", "Pool.Audit", "Mapping.Audit" };

int
api_priv_valid(const char *name)
{
	size_t g, l, i;

	for (i = 0; i < sizeof(extra_privs) / sizeof(extra_privs[0]); i++)
		if (strcmp(name, extra_privs[i]) == 0)
			return 1;
	for (g = 0; g < NGROUPS; g++)
		for (l = 0; l < LVL_N; l++)
			for (i = 0; groups[g].privs[l][i] != NULL; i++)
				if (strcmp(name, groups[g].privs[l][i]) == 0)
					return 1;
	return 0;
}

int
api_priv_read_only(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(read_only_privs) / sizeof(read_only_privs[0]);
	    i++)
		if (strcmp(name, read_only_privs[i]) == 0)
			return 1;
	return 0;
}

/* Each privilege once, even if two levels list it (SDN.Audit). */
struct each_once {
	const char	*seen[128];
	size_t		 nseen;
	void		(*fn)(void *, const char *);
	void		*arg;
	size_t		 count;
};

static void
emit(struct each_once *e, const char *priv)
{
	size_t i;

	for (i = 0; i < e->nseen; i++)
		if (strcmp(e->seen[i], priv) == 0)
			return;
	if (e->nseen < sizeof(e->seen) / sizeof(e->seen[0]))
		e->seen[e->nseen++] = priv;
	e->count++;
	if (e->fn != NULL)
		e->fn(e->arg, priv);
}

static void
emit_levels(struct each_once *e, const struct priv_group *g, int from,
    int to)
{
	int l;
	size_t i;

	for (l = from; l <= to; l++)
		for (i = 0; g->privs[l][i] != NULL; i++)
			emit(e, g->privs[l][i]);
}

int
api_role_each_privilege(const char *name, void (*fn)(void *, const char *),
    void *arg)
{
	struct each_once e;
	size_t g, n;

	memset(&e, 0, sizeof(e));
	e.fn = fn;
	e.arg = arg;
	if (strcmp(name, "NoAccess") == 0)
		return 0;
	if (strcmp(name, "Administrator") == 0) {
		for (g = 0; g < NGROUPS; g++)
			emit_levels(&e, &groups[g], LVL_ROOT, LVL_AUDIT);
		for (g = 0; g < sizeof(extra_privs) / sizeof(extra_privs[0]);
		    g++)
			emit(&e, extra_privs[g]);
		return 0;
	}
	if (strcmp(name, "PVEAdmin") == 0) {
		for (g = 0; g < NGROUPS; g++) {
			size_t l, i;

			for (l = LVL_ADMIN; l <= LVL_AUDIT; l++)
				for (i = 0; groups[g].privs[l][i] != NULL;
				    i++)
					if (strcmp(groups[g].privs[l][i],
					    "Mapping.Modify") != 0)
						emit(&e,
						    groups[g].privs[l][i]);
		}
		return 0;
	}
	if (strcmp(name, "PVEAuditor") == 0) {
		for (g = 0; g < NGROUPS; g++)
			emit_levels(&e, &groups[g], LVL_AUDIT, LVL_AUDIT);
		return 0;
	}
	if (strcmp(name, "PVETemplateUser") == 0) {
		emit(&e, "VM.Clone");
		emit(&e, "VM.Audit");
		return 0;
	}
	if (strncmp(name, "PVE", 3) != 0)
		return -1;
	for (g = 0; g < NGROUPS; g++) {
		n = strlen(groups[g].name);
		if (strncmp(name + 3, groups[g].name, n) != 0)
			continue;
		if (strcmp(name + 3 + n, "Admin") == 0) {
			emit_levels(&e, &groups[g], LVL_ADMIN, LVL_AUDIT);
			return 0;
		}
		if (strcmp(name + 3 + n, "User") == 0 &&
		    groups[g].privs[LVL_USER][0] != NULL) {
			emit_levels(&e, &groups[g], LVL_USER, LVL_AUDIT);
			return 0;
		}
	}
	return -1;
}

size_t
api_priv_each_prefixed(const char *pattern,
    void (*fn)(void *, const char *), void *arg)
{
	struct each_once e;
	const char *star = strchr(pattern, '*');
	size_t g, l, i, n;

	memset(&e, 0, sizeof(e));
	e.fn = fn;
	e.arg = arg;
	if (star == NULL || star[1] != '\0')
		return 0;
	n = (size_t)(star - pattern);
	for (g = 0; g < NGROUPS; g++)
		for (l = 0; l < LVL_N; l++)
			for (i = 0; groups[g].privs[l][i] != NULL; i++)
				if (strncmp(groups[g].privs[l][i], pattern,
				    n) == 0)
					emit(&e, groups[g].privs[l][i]);
	return e.count;
}
