/*
 * api_path.h - the request-target of a Proxmox API call, checked and
 * normalised before anything decides on it (api_acl_map(), the policy)
 * and before the bastion rebuilds the upstream request from it.
 *
 * "/api2/json/nodes/pve1/qemu?full=1" -> path "/nodes/pve1/qemu",
 * query "full=1".  Refused: anything but an origin-form target under
 * /api2/json (absolute URIs, "*", other formats), a percent-decoded NUL
 * or control character, invalid UTF-8, empty ("//"), "." and ".."
 * segments, a backslash, and a query with characters outside RFC 3986's.
 */
#ifndef HVB_API_PATH_H
#define HVB_API_PATH_H

#include <stddef.h>

#define API_PATH_MAX	256
#define API_QUERY_MAX	4096

/*
 * Returns 0, -EINVAL (malformed: 400) or -ENOENT (not under /api2/json:
 * 501 "no such uri").  path gets the decoded path ("/" at least), query
 * the raw query (validated) or "".
 */
int	api_path_normalise(const char *target, char *path, size_t pathlen,
	    char *query, size_t querylen);

/* Percent-encodes a normalised path for the upstream request line. */
int	api_path_encode(const char *path, char *out, size_t outlen);

#endif
