/*
 * kh_proto.c - the key holder's message formats (see kh_proto.h): bounded
 * encoders and decoders that refuse anything out of shape.
 */
#include <string.h>

#include "kh_proto.h"
#include "names.h"

struct rd {
	const unsigned char	*p;
	size_t			 left;
	int			 bad;
};

static uint64_t
rd_u(struct rd *r, int n)
{
	uint64_t v = 0;
	int i;

	if (r->bad || r->left < (size_t)n) {
		r->bad = 1;
		return 0;
	}
	for (i = 0; i < n; i++)
		v = (v << 8) | r->p[i];
	r->p += n;
	r->left -= (size_t)n;
	return v;
}

/* A string into dst (KH_STR_MAX + 1 bytes); no NUL allowed inside. */
static void
rd_str(struct rd *r, char *dst)
{
	size_t n = (size_t)rd_u(r, 2);

	if (r->bad || n > KH_STR_MAX || n > r->left ||
	    memchr(r->p, '\0', n) != NULL) {
		r->bad = 1;
		dst[0] = '\0';
		return;
	}
	memcpy(dst, r->p, n);
	dst[n] = '\0';
	r->p += n;
	r->left -= n;
}

static void
rd_bytes(struct rd *r, unsigned char *dst, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = 1;
		return;
	}
	memcpy(dst, r->p, n);
	r->p += n;
	r->left -= n;
}

struct wr {
	unsigned char	*p;
	size_t		 cap, len;
	int		 bad;
};

static void
wr_u(struct wr *w, uint64_t v, int n)
{
	int i;

	if (w->bad || w->cap - w->len < (size_t)n) {
		w->bad = 1;
		return;
	}
	for (i = n - 1; i >= 0; i--) {
		w->p[w->len + (size_t)i] = (unsigned char)(v & 0xff);
		v >>= 8;
	}
	w->len += (size_t)n;
}

static void
wr_bytes(struct wr *w, const void *b, size_t n)
{
	if (w->bad || w->cap - w->len < n) {
		w->bad = 1;
		return;
	}
	memcpy(w->p + w->len, b, n);
	w->len += n;
}

static void
wr_str(struct wr *w, const char *s)
{
	size_t n = strlen(s);

	if (n > KH_STR_MAX) {
		w->bad = 1;
		return;
	}
	wr_u(w, n, 2);
	wr_bytes(w, s, n);
}

int
kh_msg_encode(const struct kh_msg *m, unsigned char *buf, size_t cap)
{
	struct wr w = { buf, cap, 0, 0 };

	wr_u(&w, m->type, 1);
	switch (m->type) {
	case KH_REQ_CONNECT:
		wr_str(&w, m->person);
		wr_str(&w, m->target);
		wr_str(&w, m->credential);
		wr_str(&w, m->session_id);
		wr_str(&w, m->fwd_host);
		wr_u(&w, m->fwd_port, 2);
		break;
	case KH_REQ_SEAL:
		wr_str(&w, m->basename);
		wr_u(&w, m->lines, 8);
		wr_u(&w, m->bytes, 8);
		wr_str(&w, m->chain_hex);
		break;
	case KH_REQ_API_AUTH:
		wr_str(&w, m->person);
		wr_str(&w, m->acl_path);
		wr_str(&w, m->privilege);
		wr_str(&w, m->pool);
		break;
	case KH_REQ_IDENTIFY:
		wr_str(&w, m->person);
		wr_str(&w, m->session_id);
		break;
	case KH_REP_API_AUTH:
	case KH_REP_IDENTIFY:
		wr_u(&w, m->status, 1);
		wr_str(&w, m->message);
		break;
	case KH_CTL_CHILD:
		wr_u(&w, m->pid, 4);
		wr_str(&w, m->source);
		break;
	case KH_REP_CONNECT:
		wr_u(&w, m->status, 1);
		wr_str(&w, m->message);
		break;
	case KH_REP_SEAL:
		wr_u(&w, m->status, 1);
		wr_bytes(&w, m->mac, sizeof(m->mac));
		break;
	default:
		return -1;
	}
	return w.bad || w.len > KH_MSG_MAX ? -1 : (int)w.len;
}

/* Names are checked here so that no caller can forget. */
static int
names_ok(const struct kh_msg *m)
{
	return names_valid(m->person) && names_valid(m->target) &&
	    names_valid(m->credential) && names_valid(m->session_id);
}

static int
hex_ok(const char *s, size_t want)
{
	size_t i;

	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return i == want;
}

/* An ACL path ("/vms/101") or a privilege ("VM.PowerMgmt"): no more. */
static int
api_word_ok(const char *s, int path)
{
	size_t i;

	if (path && s[0] != '/')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
		    (!path && s[i] == '*') ||	/* "VM.Config.*" */
		    (path && (s[i] == '/' || s[i] == '-' || s[i] == '_'))))
			return 0;
	return i <= 128;
}

/* A recording's basename: no directory part, nothing to escape. */
static int
basename_ok(const char *s)
{
	size_t i;

	if (s[0] == '\0' || s[0] == '.')
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '.' || s[i] == '-' || s[i] == '_'))
			return 0;
	return 1;
}

int
kh_msg_decode(const unsigned char *buf, size_t len, struct kh_msg *m)
{
	struct rd r = { buf, len, 0 };
	int ok = 0;

	memset(m, 0, sizeof(*m));
	if (len > KH_MSG_MAX)
		return -1;
	m->type = (uint8_t)rd_u(&r, 1);
	switch (r.bad ? 0 : m->type) {
	case KH_REQ_CONNECT:
		rd_str(&r, m->person);
		rd_str(&r, m->target);
		rd_str(&r, m->credential);
		rd_str(&r, m->session_id);
		rd_str(&r, m->fwd_host);
		m->fwd_port = (uint16_t)rd_u(&r, 2);
		ok = !r.bad && names_ok(m) && (m->fwd_host[0] == '\0' ?
		    m->fwd_port == 0 : names_valid_address(m->fwd_host) &&
		    m->fwd_port != 0);
		break;
	case KH_REQ_SEAL:
		rd_str(&r, m->basename);
		m->lines = rd_u(&r, 8);
		m->bytes = rd_u(&r, 8);
		rd_str(&r, m->chain_hex);
		ok = !r.bad && basename_ok(m->basename) &&
		    hex_ok(m->chain_hex, 64);
		break;
	case KH_REQ_API_AUTH:
		rd_str(&r, m->person);
		rd_str(&r, m->acl_path);
		rd_str(&r, m->privilege);
		rd_str(&r, m->pool);
		/* An empty ACL path: a call on none (version, lists). */
		ok = !r.bad && names_valid(m->person) &&
		    (m->acl_path[0] == '\0' || api_word_ok(m->acl_path, 1)) &&
		    api_word_ok(m->privilege, 0) &&
		    (m->pool[0] == '\0' || names_valid(m->pool));
		break;
	case KH_REQ_IDENTIFY:
		rd_str(&r, m->person);
		rd_str(&r, m->session_id);
		ok = !r.bad && names_valid(m->person) &&
		    names_valid(m->session_id);
		break;
	case KH_REP_API_AUTH:
	case KH_REP_IDENTIFY:
		m->status = (uint8_t)rd_u(&r, 1);
		rd_str(&r, m->message);
		ok = !r.bad && m->status <= KH_FAILED;
		break;
	case KH_CTL_CHILD:
		m->pid = (uint32_t)rd_u(&r, 4);
		rd_str(&r, m->source);
		ok = !r.bad;
		break;
	case KH_REP_CONNECT:
		m->status = (uint8_t)rd_u(&r, 1);
		rd_str(&r, m->message);
		ok = !r.bad && m->status <= KH_FAILED;
		break;
	case KH_REP_SEAL:
		m->status = (uint8_t)rd_u(&r, 1);
		rd_bytes(&r, m->mac, sizeof(m->mac));
		ok = !r.bad && m->status <= KH_FAILED;
		break;
	default:
		break;
	}
	if (!ok || r.left != 0) {
		memset(m, 0, sizeof(*m));
		return -1;
	}
	return 0;
}

/* An SSH "string": 32-bit length then bytes, inside [p, p + left). */
static int
ssh_string(struct rd *r, const unsigned char **s, size_t *n)
{
	size_t l = (size_t)rd_u(r, 4);

	if (r->bad || l > r->left) {
		r->bad = 1;
		return -1;
	}
	*s = r->p;
	*n = l;
	r->p += l;
	r->left -= l;
	return 0;
}

int
kh_agent_parse(const unsigned char *msg, size_t len, struct kh_agent_req *r)
{
	struct rd rd = { msg, len, 0 };

	memset(r, 0, sizeof(*r));
	if (len == 0 || len > KH_AGENT_MSG_MAX)
		return -1;
	r->type = (uint8_t)rd_u(&rd, 1);
	switch (r->type) {
	case KH_AGENTC_REQUEST_IDENTITIES:
		break;
	case KH_AGENTC_SIGN_REQUEST:
		if (ssh_string(&rd, &r->key_blob, &r->key_blob_len) < 0 ||
		    ssh_string(&rd, &r->data, &r->data_len) < 0)
			return -1;
		r->flags = (uint32_t)rd_u(&rd, 4);
		break;
	default:
		return -1;
	}
	return rd.bad || rd.left != 0 ? -1 : 0;
}

static int
str_is(const unsigned char *s, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(s, want, n) == 0;
}

int
kh_agent_check_userauth(const unsigned char *data, size_t len,
    const char *login, const unsigned char *key_blob, size_t key_blob_len)
{
	struct rd r = { data, len, 0 };
	const unsigned char *s;
	size_t n;

	/* Session identifier: the exchange hash (SHA-256 or SHA-512). */
	if (ssh_string(&r, &s, &n) < 0 || (n != 32 && n != 48 && n != 64))
		return -1;
	if (rd_u(&r, 1) != 50)			/* SSH_MSG_USERAUTH_REQUEST */
		return -1;
	if (ssh_string(&r, &s, &n) < 0 || !str_is(s, n, login))
		return -1;
	if (ssh_string(&r, &s, &n) < 0 || !str_is(s, n, "ssh-connection"))
		return -1;
	if (ssh_string(&r, &s, &n) < 0 || !str_is(s, n, "publickey"))
		return -1;
	if (rd_u(&r, 1) != 1)
		return -1;
	if (ssh_string(&r, &s, &n) < 0 || n == 0 || n > 64)
		return -1;
	if (ssh_string(&r, &s, &n) < 0 || n != key_blob_len ||
	    memcmp(s, key_blob, n) != 0)
		return -1;
	return r.bad || r.left != 0 ? -1 : 0;
}
