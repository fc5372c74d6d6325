/*
 * api_privs.h - Proxmox VE privileges and built-in roles, as
 * pve-access-control's PVE/AccessControl.pm defines them ($privgroups and
 * create_roles()), so that an api-grant can name "PVEVMAdmin" and mean
 * exactly what Proxmox means by it.
 */
#ifndef HVB_API_PRIVS_H
#define HVB_API_PRIVS_H

#include <stddef.h>

/* 1 if NAME is a Proxmox privilege ("VM.PowerMgmt"). */
int	api_priv_valid(const char *name);

/* 1 if the privilege only reads (Sys.Audit, VM.Audit, Sys.Syslog ...). */
int	api_priv_read_only(const char *name);

/*
 * The privileges of built-in role NAME: calls fn(arg, privilege) once for
 * each (in a fixed order).  Returns 0, or -1 if NAME is not a built-in
 * role.
 */
int	api_role_each_privilege(const char *name,
	    void (*fn)(void *, const char *), void *arg);

/*
 * The privileges that a pattern such as "VM.Config.*" stands for: calls
 * fn for each privilege beginning with the text before '*'.  Returns the
 * count.
 */
size_t	api_priv_each_prefixed(const char *pattern,
	    void (*fn)(void *, const char *), void *arg);

#endif
