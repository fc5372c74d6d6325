/*
 * fuzz_api_acl.c - libFuzzer target for api_acl_map(): byte 0 picks the
 * method, the rest (up to a NUL) is the path.
 *
 * Properties: the answer is 0, -ENOENT or -EINVAL; a failure leaves no
 * ACL path or privilege behind; a success names an ACL path of plain
 * characters (or none, for calls on no path) with a privilege, a node
 * that fits, a vmid in Proxmox's range, and is the same when asked again;
 * a path with an empty, "." or ".." segment or an escape never maps.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/api_acl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const methods[] = { "GET", "POST", "PUT", "DELETE",
	"PATCH", "get", "" };

static int
plain(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '/' || *s == '.' ||
		    *s == '-' || *s == '_'))
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_acl a, b;
	const char *method;
	char *path;
	int rc;

	if (size == 0 || size > 4096)
		return 0;
	method = methods[data[0] % (sizeof(methods) / sizeof(methods[0]))];
	if ((path = malloc(size)) == NULL)
		abort();
	memcpy(path, data + 1, size - 1);
	path[size - 1] = '\0';
	rc = api_acl_map(method, path, &a);
	if (rc != 0 && rc != -ENOENT && rc != -EINVAL)
		abort();
	if (rc != 0) {
		if (a.path[0] != '\0' || a.privilege != NULL || a.vmid != -1)
			abort();
		free(path);
		return 0;
	}
	if (strstr(path, "//") != NULL || strstr(path, "/../") != NULL ||
	    strstr(path, "/./") != NULL || strchr(path, '%') != NULL ||
	    path[strlen(path) - 1] == '/')
		abort();
	if (memchr(a.path, '\0', sizeof(a.path)) == NULL ||
	    memchr(a.node, '\0', sizeof(a.node)) == NULL)
		abort();
	if (a.path[0] != '\0' && (a.path[0] != '/' || !plain(a.path) ||
	    a.privilege == NULL || strstr(a.path, "..") != NULL))
		abort();
	if ((a.flags & API_ACL_LOGIN) && a.path[0] != '\0')
		abort();
	if (a.vmid != -1 && (a.vmid < 100 || a.vmid > 999999999))
		abort();
	if (!plain(a.node) || strchr(a.node, '/') != NULL)
		abort();
	if (api_acl_map(method, path, &b) != 0 || memcmp(&a, &b,
	    sizeof(a)) != 0)
		abort();
	free(path);
	return 0;
}
