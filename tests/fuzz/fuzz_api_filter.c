/*
 * fuzz_api_filter.c - libFuzzer target for api_filter_list(): the input is
 * an upstream answer's "data" (any JSON; a non-array is refused, then
 * wrapped in one), filtered as each kind of list for a guest-side person,
 * a hypervisor-side one and a stranger.
 *
 * The people and their policy, in memory: fuzz_api_people.h ("g" on the
 * guest side, "h" on the hypervisor side, "x" nobody).
 *
 * Properties: a non-array is -EINVAL; otherwise the count is the array's
 * new size; every kept item is an object; the stranger keeps nothing; what
 * "g" keeps is kept again when filtered a second time (its grants cover
 * the pools it sees through), and never holds a node, storage or sdn item.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "../../policy/api_acl.h"
#include "../../policy/api_filter.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#include "fuzz_api_people.h"

static const char *const lists[] = { "/cluster/resources", "/cluster/tasks",
	"/nodes", "/nodes/pve1/qemu", "/nodes/pve1/lxc", "/nodes/pve1/tasks",
	"/nodes/pve1/storage", "/storage", "/pools" };

static void
check(const char *person, const struct api_acl *acl, json_t *orig,
    int again)
{
	json_t *data = json_deep_copy(orig), *item;
	size_t i;
	int rc;

	if (data == NULL)
		return;
	rc = api_filter_list(&conf, person, NULL, 1780444800, acl, data);
	if (rc < 0 || (size_t)rc != json_array_size(data))
		abort();
	if (strcmp(person, "x") == 0 && rc != 0)
		abort();
	json_array_foreach(data, i, item) {
		const char *type = json_string_value(json_object_get(item,
		    "type"));

		if (!json_is_object(item))
			abort();
		if (strcmp(person, "g") == 0 && type != NULL &&
		    json_object_get(item, "id") != NULL &&
		    json_object_get(item, "upid") == NULL &&
		    (strcmp(type, "node") == 0 ||
		    strcmp(type, "storage") == 0 || strcmp(type, "sdn") == 0))
			abort();
	}
	if (again && api_filter_list(&conf, person, NULL, 1780444800, acl,
	    data) != rc)
		abort();
	json_decref(data);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int built;
	struct api_acl acl;
	json_t *j, *arr;
	size_t i;

	if (!built) {
		people_build();
		built = 1;
	}
	if (size > 65536)
		return 0;
	if ((j = json_loadb((const char *)data, size, JSON_DECODE_ANY,
	    NULL)) == NULL)
		return 0;
	if (api_acl_map("GET", "/cluster/resources", &acl) != 0)
		abort();
	if (!json_is_array(j)) {
		if (api_filter_list(&conf, "h", NULL, 0, &acl, j) != -EINVAL)
			abort();
		if ((arr = json_array()) == NULL ||
		    json_array_append_new(arr, j) < 0)
			abort();
		j = arr;
	}
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if (api_acl_map("GET", lists[i], &acl) != 0)
			abort();
		check("g", &acl, j, 1);
		check("h", &acl, j, 1);
		check("x", &acl, j, 0);
	}
	json_decref(j);
	return 0;
}
