/*
 * api_filter.h - list answers of the Proxmox API cut down to what the
 * caller's roles may see (cluster/resources, the qemu and lxc lists of a
 * node, task lists, storage lists, pools), so that a list never leaks a
 * guest, node or storage outside the caller's scope.
 */
#ifndef HVB_API_FILTER_H
#define HVB_API_FILTER_H

#include <jansson.h>
#include <time.h>

#include "../bastion/config.h"
#include "api_acl.h"

/*
 * ACL is what api_acl_map() returned for the request (flag
 * API_ACL_LIST_FILTER set); DATA is the "data" member of the upstream
 * answer, filtered in place.  Items the filter cannot place are removed
 * (fail closed).  Returns the number of items kept, or a negative error
 * (-EINVAL: not a list call or not an array; the caller then answers
 * nothing of it).
 *
 * A guest item is visible through its pool when it names one ("pool"):
 * cluster/resources items do, the qemu and lxc lists of a node do not, so
 * the caller may set "pool" on those from what it learnt of
 * cluster/resources before calling.  Which privilege each kind of item
 * needs is written at the top of api_filter.c.
 */
int	api_filter_list(const struct config *, const char *person,
	    const char *source, time_t when, const struct api_acl *acl,
	    json_t *data);

#endif
