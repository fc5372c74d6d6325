/*
 * fuzz_api_filter_stream.c - differential libFuzzer target: the streaming
 * list filter (api_filter_stream()) against the tree filter
 * (json_loadb() + api_filter_list(), what relay() in api_server.c does
 * without it), on any bytes as a node's answer, for four people of an
 * in-memory policy and several kinds of list.
 *
 * The people and their policy, in memory: fuzz_api_people.h ("b" is the
 * bench's role, whose pooled guests lose their "pool" member).
 *
 * Properties: when jansson refuses the answer, or it has no "data" array,
 * or the tree filter fails, the stream filter fails too; when the stream
 * filter succeeds, its output (or, when it cut nothing, the input) parses
 * with jansson and equals (json_equal) the tree filter's answer, and is
 * never longer than the input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../policy/api_acl.h"
#include "../../policy/api_filter.h"
#include "../../policy/api_filter_stream.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#include "fuzz_api_people.h"

static const char *const lists[] = { "/cluster/resources", "/cluster/tasks",
	"/nodes/pve1/qemu", "/storage", "/pools" };
static const char *const people[] = { "g", "h", "b", "x" };

static void
check(const char *person, const struct api_acl *acl, const json_t *root,
    const uint8_t *in, size_t size)
{
	json_t *tree = NULL, *data, *got;
	char *out = NULL;
	size_t outlen = 0;
	int rc, kept = -1;

	rc = api_filter_stream(&conf, person, NULL, 1780444800, acl,
	    (const char *)in, size, &out, &outlen);
	if (rc != 0 && (out != NULL || outlen != 0))
		abort();
	if (root != NULL && (tree = json_deep_copy(root)) == NULL)
		abort();
	data = json_object_get(tree, "data");
	if (json_is_array(data))
		kept = api_filter_list(&conf, person, NULL, 1780444800, acl,
		    data);
	if (kept < 0) {
		/* The tree path answers 502: so must the stream. */
		if (rc == 0)
			abort();
		json_decref(tree);
		return;
	}
	if (rc == 0) {
		if (out != NULL && outlen > size)
			abort();
		got = out != NULL ? json_loadb(out, outlen, 0, NULL) :
		    json_loadb((const char *)in, size, 0, NULL);
		if (got == NULL || !json_equal(got, tree))
			abort();
		json_decref(got);
	}
	free(out);
	json_decref(tree);
}

int
LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	static int built;
	struct api_acl acl;
	json_t *root;
	size_t i, j;

	if (!built) {
		people_build();
		built = 1;
	}
	if (size > 65536)
		return 0;
	root = json_loadb((const char *)in, size, 0, NULL);
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if (api_acl_map("GET", lists[i], &acl) != 0)
			abort();
		for (j = 0; j < sizeof(people) / sizeof(people[0]); j++)
			check(people[j], &acl, root, in, size);
	}
	json_decref(root);
	return 0;
}
