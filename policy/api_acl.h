/*
 * api_acl.h - the Proxmox API paths the bastion knows, mapped to the ACL
 * path and privilege that Proxmox itself checks for them (as
 * pve-manager's API schema declares in its "permissions" entries).
 *
 * A path that is not in the table is denied: the bastion forwards only
 * calls whose meaning it knows.  The caller passes a normalised path: the
 * part after "/api2/json", percent-decoded, without the query string, with
 * no empty, "." or ".." segment (the HTTPS front refuses those).
 */
#ifndef HVB_API_ACL_H
#define HVB_API_ACL_H

#define API_ACL_PATH_MAX	256

enum api_acl_flag {
	API_ACL_LOGIN		= 1 << 0,	/* /access/ticket: no ticket needed */
	API_ACL_ANY_PERSON	= 1 << 1,	/* any authenticated person (version) */
	API_ACL_LIST_FILTER	= 1 << 2,	/* the answer is a list to filter */
	API_ACL_CONSOLE		= 1 << 3,	/* vncproxy / termproxy: a console */
	API_ACL_WEBSOCKET	= 1 << 4,	/* vncwebsocket: upgrade */
};

/*
 * The privilege of a VM configuration change (PUT/POST .../config):
 * Proxmox lets in holders of any VM.Config.* privilege and then checks
 * each parameter of the body; the bastion does not read bodies, so this
 * stands for all of them (policy_decide_api() expands it).
 */
#define API_ACL_PRIV_VM_CONFIG	"VM.Config.*"

struct api_acl {
	char		 path[API_ACL_PATH_MAX];  /* "/vms/101", "/nodes/pve1";
					    "" for calls on no ACL path
					    (version, lists, login) */
	const char	*privilege;	/* "VM.PowerMgmt"; NULL: none needed */
	char		 node[64];	/* the node in the URL; "" if none */
	long		 vmid;		/* the guest in the URL; -1 if none */
	unsigned	 flags;		/* enum api_acl_flag */
};

/*
 * Maps METHOD ("GET", "POST", "PUT", "DELETE") and PATH to *out.
 * Returns 0, -ENOENT for a path or method the table does not know (deny),
 * or -EINVAL for a malformed path.
 */
int	api_acl_map(const char *method, const char *path, struct api_acl *out);

#endif
