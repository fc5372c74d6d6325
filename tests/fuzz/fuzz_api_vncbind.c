/*
 * fuzz_api_vncbind.c - libFuzzer target for the console ticket bindings
 * (bastion/api_vncbind.c).
 *
 * The input is tried as a bound ticket, as a vncwebsocket query and as a
 * node's vncproxy answer.  Properties: only the documented errors; a
 * bound ticket is accepted only if it is exactly what api_vncbind_wrap()
 * writes for what it returned (no other spelling exists); a bound ticket
 * never checks for another person, path or port; a made one always
 * checks; an answer that binds gives a ticket that checks.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../bastion/api_vncbind.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define NOW	1800000000
#define USER	"alice@pve"
#define PATH	"/nodes/pve1"
#define PORT	5901

static void
documented(int rc)
{
	if (rc != 0 && rc != -EACCES && rc != -ETIMEDOUT)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[32] = { 7, 7, 7 };
	char in[API_VNCBIND_MAX + 64], ticket[API_VNCTICKET_MAX + 1];
	char node[API_VNCBIND_NODE_MAX], made[API_VNCBIND_MAX], q[4096];
	char *body = NULL;
	size_t n = size < sizeof(in) - 1 ? size : sizeof(in) - 1, blen = 0;
	int kind = 0, rc;

	if (api_vncbind_set_key(key, sizeof(key)) != 0)
		abort();
	memcpy(in, data, n);
	in[n] = '\0';
	rc = api_vncbind_unwrap(in, USER, PATH, PORT, NOW, ticket,
	    sizeof(ticket), node, sizeof(node), &kind);
	documented(rc);
	if (rc == 0) {
		const char *t = strrchr(in, ':');
		char hextime[17];
		const char *p = t - 1;

		while (p > in && p[-1] != ':')
			p--;
		if (t - p > 16)
			abort();
		memcpy(hextime, p, (size_t)(t - p));
		hextime[t - p] = '\0';
		if (api_vncbind_wrap(USER, PATH, PORT, node, kind,
		    (time_t)strtoll(hextime, NULL, 16), ticket, made,
		    sizeof(made)) != 0 || strcmp(made, in) != 0)
			abort();
		if (api_vncbind_unwrap(in, "bob@pve", PATH, PORT, NOW, ticket,
		    sizeof(ticket), node, sizeof(node), &kind) == 0 ||
		    api_vncbind_unwrap(in, USER, "/nodes/pve2", PORT, NOW,
		    ticket, sizeof(ticket), node, sizeof(node), &kind) == 0 ||
		    api_vncbind_unwrap(in, USER, PATH, PORT + 1, NOW, ticket,
		    sizeof(ticket), node, sizeof(node), &kind) == 0)
			abort();
	}
	rc = api_vncbind_query(in, USER, PATH, NOW, q, sizeof(q), ticket,
	    sizeof(ticket), node, sizeof(node), &kind);
	if (rc != -ENAMETOOLONG)
		documented(rc);
	rc = api_vncbind_answer(in, n, USER, PATH, "pve1",
	    API_VNCBIND_TERM, NOW, &body, &blen);
	if (rc != 0 && rc != -EINVAL && rc != -ENAMETOOLONG)
		abort();
	if (rc == 0 && (body == NULL || strlen(body) != blen))
		abort();
	free(body);
	/* A made binding checks, with what went in. */
	if (api_vncbind_wrap(USER, PATH, PORT, "pve1", API_VNCBIND_VNC, NOW,
	    "PVEVNC:6543ABCD::c2ln", made, sizeof(made)) != 0 ||
	    api_vncbind_unwrap(made, USER, PATH, PORT, NOW + 30, ticket,
	    sizeof(ticket), node, sizeof(node), &kind) != 0 ||
	    strcmp(ticket, "PVEVNC:6543ABCD::c2ln") != 0 ||
	    strcmp(node, "pve1") != 0 || kind != API_VNCBIND_VNC)
		abort();
	return 0;
}
