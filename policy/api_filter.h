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

/*
 * The decision on one item, shared by api_filter_list() (a jansson item)
 * and the streaming filter (api_filter_stream.h, fields extracted from the
 * node's bytes): the members a decision reads, as jansson sees them.
 */
enum api_filter_key {
	API_FILTER_TYPE, API_FILTER_ID, API_FILTER_VMID, API_FILTER_NODE,
	API_FILTER_STORAGE, API_FILTER_POOL, API_FILTER_SDN, API_FILTER_ZONE,
	API_FILTER_UPID, API_FILTER_POOLID,
	API_FILTER_NKEYS
};

enum api_filter_kind {
	API_FILTER_ABSENT = 0,
	API_FILTER_STRING,		/* str set, NUL-free (jansson's rule) */
	API_FILTER_INTEGER,		/* integer set (json_int_t range) */
	API_FILTER_OTHER		/* real, true, false, null, [], {} */
};

struct api_filter_field {
	enum api_filter_kind	 kind;
	const char		*str;
	long long		 integer;
};

struct api_filter_item {
	struct api_filter_field	 f[API_FILTER_NKEYS];
};

enum api_filter_verdict {
	API_FILTER_DROP = 0,
	API_FILTER_KEEP,
	API_FILTER_KEEP_NOPOOL		/* kept without its "pool" member */
};

/* The person once per list: their user entry and one clock. */
struct api_filter_scope {
	const struct config_user	*user;	/* NULL: nothing visible */
	time_t				 when;
};

/* The index of a member name of interest (LEN bytes, no NUL needed), or
 * -1. */
int	api_filter_key_index(const char *name, size_t len);

/*
 * Checks the call (ACL flag) and the person, their dates and source once.
 * 0 with *scope set (scope->user NULL when no item can be visible), or
 * -EINVAL when the call is not a list call.
 */
int	api_filter_scope_init(struct api_filter_scope *, const struct config *,
	    const char *person, const char *source, time_t when,
	    const struct api_acl *acl);

/* Decides one item (an object's extracted members). */
enum api_filter_verdict
	api_filter_item_decide(const struct api_filter_scope *,
	    const struct api_filter_item *);

#endif
