/*
 * fuzz_api_path.c - libFuzzer target for api_path_normalise() and
 * api_path_encode() (bastion/api_path.c).
 *
 * The input (up to a NUL) is a request-target.  Properties: only 0,
 * -EINVAL, -ENOENT; an accepted path starts with '/', has no empty, "."
 * or ".." segment, no control character or backslash; encoding it and
 * normalising again under /api2/json gives the same path and query
 * (the node reads exactly what the bastion decided on).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../bastion/api_path.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char target[8192], path[API_PATH_MAX], query[API_QUERY_MAX];
	char enc[API_PATH_MAX * 3 + 16], again[sizeof(enc) + API_QUERY_MAX + 16];
	char path2[API_PATH_MAX], query2[API_QUERY_MAX];
	size_t i, n = size < sizeof(target) - 1 ? size : sizeof(target) - 1;
	int rc;

	memcpy(target, data, n);
	target[n] = '\0';
	rc = api_path_normalise(target, path, sizeof(path), query,
	    sizeof(query));
	if (rc != 0 && rc != -EINVAL && rc != -ENOENT)
		abort();
	if (rc != 0)
		return 0;
	if (path[0] != '/' || strstr(path, "//") != NULL ||
	    strstr(path, "/./") != NULL || strstr(path, "/../") != NULL ||
	    (strlen(path) >= 2 && strcmp(path + strlen(path) - 2, "/.") ==
	    0) || (strlen(path) >= 3 && strcmp(path + strlen(path) - 3,
	    "/..") == 0) || strchr(path, '\\') != NULL)
		abort();
	for (i = 0; path[i] != '\0'; i++)
		if ((unsigned char)path[i] < 0x20 || path[i] == 0x7f)
			abort();
	if (api_path_encode(path, enc, sizeof(enc)) != 0)
		abort();
	snprintf(again, sizeof(again), "/api2/json%s%s%s",
	    strcmp(enc, "/") == 0 ? "" : enc, query[0] ? "?" : "", query);
	if (api_path_normalise(again, path2, sizeof(path2), query2,
	    sizeof(query2)) != 0 || strcmp(path, path2) != 0 ||
	    strcmp(query, query2) != 0)
		abort();
	return 0;
}
