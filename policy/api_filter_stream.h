/*
 * api_filter_stream.h - the list filter of api_filter.h over the node's
 * bytes: one bounded pass over an answer {"data":[...],...} that decides
 * each item with api_filter_item_decide() from the members it reads, and
 * copies the answer minus the dropped items and minus the "pool" members
 * to strip.  No tree is built.
 *
 * It only judges what it reads exactly as jansson would, and refuses
 * anything else, for the caller to fall back to api_filter_list() on a
 * jansson tree: not JSON (as json_loadb() with flags 0 reads it), nesting
 * beyond API_FILTER_STREAM_DEPTH, an answer beyond API_FILTER_STREAM_MAX,
 * no "data" array or two "data" members, an item that is not an object,
 * a member of interest (api_filter_key_index()) twice in one item (jansson
 * keeps the last one, a client may read the first), a string of interest
 * longer than the item's buffer.
 */
#ifndef HVB_API_FILTER_STREAM_H
#define HVB_API_FILTER_STREAM_H

#include <stddef.h>
#include <time.h>

#include "../bastion/config.h"
#include "api_acl.h"

#define API_FILTER_STREAM_MAX	(16u * 1024 * 1024)
#define API_FILTER_STREAM_DEPTH	32
/* The decoded strings of interest of one item, with their NULs. */
#define API_FILTER_STREAM_ITEM_STR	1024

/*
 * Filters the answer BODY (LEN bytes) of the list call ACL for PERSON (as
 * api_filter_list()).  0: *OUT is NULL when nothing was cut (the node's
 * bytes are the answer), else a malloc()ed answer of *OUTLEN bytes (not
 * NUL-terminated) to free.  Negative: -EINVAL (not a list call),
 * -EBADMSG (not JSON), -ENOTSUP (refused, see above), -E2BIG, -ENOMEM;
 * the caller then filters the tree.
 */
int	api_filter_stream(const struct config *, const char *person,
	    const char *source, time_t when, const struct api_acl *acl,
	    const char *body, size_t len, char **out, size_t *outlen);

#endif
