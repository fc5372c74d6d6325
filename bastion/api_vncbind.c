/*
 * api_vncbind.c - VNC tickets bound to a person and to the node that
 * issued them (api_vncbind.h).  Parsed from the right (the node's ticket
 * is opaque and may hold ':'), bounded, constant-time MAC comparison.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api_form.h"
#include "api_vncbind.h"

#define KEY_LABEL	"hvbastion api vnc binding v1"
#define MARK		":HVB1:"
#define MAC_LEN		32

static unsigned char bind_key[MAC_LEN];
static int have_key;

int
api_vncbind_set_key(const unsigned char *state_key, size_t len)
{
	unsigned int n = MAC_LEN;

	if (HMAC(EVP_sha256(), state_key, (int)len,
	    (const unsigned char *)KEY_LABEL, sizeof(KEY_LABEL) - 1,
	    bind_key, &n) == NULL || n != MAC_LEN)
		return -1;
	have_key = 1;
	return 0;
}

void
api_vncbind_wipe_key(void)
{
	explicit_bzero(bind_key, sizeof(bind_key));
	have_key = 0;
}

/* Printable ASCII, no space: what a node's ticket is made of. */
static int
ticket_ok(const char *t)
{
	size_t n = strlen(t);

	if (n == 0 || n > API_VNCTICKET_MAX)
		return 0;
	for (; *t != '\0'; t++)
		if ((unsigned char)*t <= 0x20 || (unsigned char)*t >= 0x7f)
			return 0;
	return 1;
}

/* A node name of the configuration: letters, digits, '-', '.', '_'. */
static int
node_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n >= API_VNCBIND_NODE_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '.' || s[i] == '_'))
			return 0;
	return 1;
}

static int
mac_hex(const char *userid, const char *acl_path, long port,
    const char *node, int kind, const char *t, const char *ticket,
    char hex[65])
{
	unsigned char mac[MAC_LEN], msg[API_VNCTICKET_MAX + 1024];
	unsigned int n = MAC_LEN;
	char ports[24], kinds[2] = { (char)kind, '\0' };
	const char *parts[] = { "vncbind", userid, acl_path, ports, node,
	    kinds, t, ticket };
	size_t i, o = 0;
	int rc = -1;

	if (!have_key)
		return -1;
	snprintf(ports, sizeof(ports), "%ld", port);
	/* NUL-separated: no part can run into the next. */
	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		size_t l = strlen(parts[i]) + 1;

		if (l > sizeof(msg) - o)
			goto out;
		memcpy(msg + o, parts[i], l);
		o += l;
	}
	if (HMAC(EVP_sha256(), bind_key, MAC_LEN, msg, o, mac, &n) != NULL &&
	    n == MAC_LEN) {
		for (i = 0; i < MAC_LEN; i++)
			snprintf(hex + 2 * i, 3, "%02X", mac[i]);
		rc = 0;
	}
out:
	explicit_bzero(msg, sizeof(msg));
	explicit_bzero(mac, sizeof(mac));
	return rc;
}

int
api_vncbind_wrap(const char *userid, const char *acl_path, long port,
    const char *node, int kind, time_t now, const char *ticket, char *out,
    size_t outlen)
{
	char t[24], hex[65];
	int n;

	if (!ticket_ok(ticket) || !node_ok(node, strlen(node)) ||
	    (kind != API_VNCBIND_TERM && kind != API_VNCBIND_VNC) ||
	    port <= 0 || port > 65535)
		return -EINVAL;
	snprintf(t, sizeof(t), "%08llX", (unsigned long long)now);
	if (mac_hex(userid, acl_path, port, node, kind, t, ticket, hex) < 0)
		return -EIO;
	n = snprintf(out, outlen, "%s" MARK "%s:%c:%s:%s", ticket, node, kind,
	    t, hex);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* The field before *end (exclusive) back to the previous ':'. */
static const char *
field_back(const char *start, const char *end)
{
	const char *p = end;

	while (p > start && p[-1] != ':')
		p--;
	return p > start ? p : NULL;	/* NULL: no ':' before it */
}

int
api_vncbind_unwrap(const char *bound, const char *userid,
    const char *acl_path, long port, time_t now, char *ticket,
    size_t ticketlen, char *node, size_t nodelen, int *kind)
{
	const char *end, *macp, *tp, *kp, *np, *mark;
	char t[17], hex[65], nodebuf[API_VNCBIND_NODE_MAX],
	    tick[API_VNCTICKET_MAX + 1];
	unsigned long long v = 0;
	size_t len = strlen(bound), i, tl;
	time_t when;

	if (len > API_VNCBIND_MAX || port <= 0 || port > 65535)
		return -EACCES;
	end = bound + len;
	/* MAC, time, kind, node, from the right. */
	if ((macp = field_back(bound, end)) == NULL || end - macp != 64 ||
	    (tp = field_back(bound, macp - 1)) == NULL ||
	    (kp = field_back(bound, tp - 1)) == NULL || tp - 1 - kp != 1 ||
	    (np = field_back(bound, kp - 1)) == NULL ||
	    !node_ok(np, (size_t)(kp - 1 - np)))
		return -EACCES;
	tl = (size_t)(macp - 1 - tp);
	if (tl < 8 || tl > 16)
		return -EACCES;
	memcpy(t, tp, tl);
	t[tl] = '\0';
	for (i = 0; i < tl; i++) {
		int d = api_form_hexval((unsigned char)t[i]);

		if (d < 0 || (t[i] >= 'a' && t[i] <= 'f'))
			return -EACCES;
		v = v << 4 | (unsigned)d;
	}
	if (v > 0x7fffffffffffULL)
		return -EACCES;
	when = (time_t)v;
	*kind = kp[0];
	if (*kind != API_VNCBIND_TERM && *kind != API_VNCBIND_VNC)
		return -EACCES;
	/* The mark ends right before the node. */
	if ((size_t)(np - bound) < sizeof(MARK) - 1)
		return -EACCES;
	mark = np - (sizeof(MARK) - 1);
	if (memcmp(mark, MARK, sizeof(MARK) - 1) != 0 || mark == bound ||
	    (size_t)(mark - bound) > API_VNCTICKET_MAX)
		return -EACCES;
	memcpy(tick, bound, (size_t)(mark - bound));
	tick[mark - bound] = '\0';
	memcpy(nodebuf, np, (size_t)(kp - 1 - np));
	nodebuf[kp - 1 - np] = '\0';
	if (!ticket_ok(tick) || mac_hex(userid, acl_path, port, nodebuf,
	    *kind, t, tick, hex) < 0 || CRYPTO_memcmp(hex, macp, 64) != 0) {
		explicit_bzero(tick, sizeof(tick));
		return -EACCES;
	}
	if (when > now + API_VNCBIND_SKEW || now - when > API_VNCBIND_LIFETIME) {
		explicit_bzero(tick, sizeof(tick));
		return -ETIMEDOUT;
	}
	if (strlen(tick) >= ticketlen || strlen(nodebuf) >= nodelen) {
		explicit_bzero(tick, sizeof(tick));
		return -EACCES;
	}
	snprintf(ticket, ticketlen, "%s", tick);
	snprintf(node, nodelen, "%s", nodebuf);
	explicit_bzero(tick, sizeof(tick));
	return 0;
}

int
api_vncbind_answer(const char *body, size_t len, const char *userid,
    const char *acl_path, const char *node, int kind, time_t now,
    char **out, size_t *outlen)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	json_t *data = json_object_get(root, "data");
	json_t *jt = json_object_get(data, "ticket");
	json_t *jp = json_object_get(data, "port");
	char bound[API_VNCBIND_MAX];
	long port = -1;
	int rc = -EINVAL;

	*out = NULL;
	if (json_is_integer(jp))
		port = (long)json_integer_value(jp);
	else if (json_is_string(jp)) {
		const char *s = json_string_value(jp);
		char *e;

		port = strtol(s, &e, 10);
		if (*s == '\0' || *e != '\0')
			port = -1;
	}
	if (json_is_string(jt) && port > 0 && (rc = api_vncbind_wrap(userid,
	    acl_path, port, node, kind, now, json_string_value(jt), bound,
	    sizeof(bound))) == 0) {
		json_object_set_new(data, "ticket", json_string(bound));
		*out = json_dumps(root, JSON_COMPACT);
		rc = *out != NULL ? 0 : -ENOMEM;
		if (*out != NULL)
			*outlen = strlen(*out);
	}
	explicit_bzero(bound, sizeof(bound));
	json_decref(root);
	return rc;
}

/* Percent-encodes all but RFC 3986's unreserved characters. */
static int
encode_value(const char *s, char *out, size_t outlen)
{
	return api_form_encode(s, "-._~", out, outlen);
}

int
api_vncbind_query(const char *query, const char *userid,
    const char *acl_path, time_t now, char *query_out, size_t qlen,
    char *ticket, size_t ticketlen, char *node, size_t nodelen, int *kind)
{
	char ports[16], bound[API_VNCBIND_MAX], enc[3 * API_VNCTICKET_MAX + 1];
	char *e;
	long port;
	int rc, n;

	if (api_form_get(query, strlen(query), 0, "port", ports,
	    sizeof(ports)) < 0 || api_form_get(query, strlen(query), 0,
	    "vncticket", bound, sizeof(bound)) < 0)
		return -EACCES;
	port = strtol(ports, &e, 10);
	if (ports[0] < '0' || ports[0] > '9' || *e != '\0')
		return -EACCES;
	rc = api_vncbind_unwrap(bound, userid, acl_path, port, now, ticket,
	    ticketlen, node, nodelen, kind);
	explicit_bzero(bound, sizeof(bound));
	if (rc < 0)
		return rc;
	if (encode_value(ticket, enc, sizeof(enc)) < 0)
		return -ENAMETOOLONG;
	n = snprintf(query_out, qlen, "port=%ld&vncticket=%s", port, enc);
	explicit_bzero(enc, sizeof(enc));
	return n < 0 || (size_t)n >= qlen ? -ENAMETOOLONG : 0;
}
