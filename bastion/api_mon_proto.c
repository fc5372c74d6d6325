/*
 * api_mon_proto.c - the API monitor's message formats (api_mon_proto.h).
 *
 * One table per message type says its fields, in order, each with its
 * bound and character set, so that the encoder and the decoder cannot
 * disagree: a message decodes only if it re-encodes to the same bytes.
 */
#include <stddef.h>
#include <string.h>

#include "api_mon_proto.h"
#include "names.h"

enum fkind { F_U8, F_U64, F_STR, F_MAC, F_BLOB, F_END };

enum charset {
	CS_ANY,		/* any byte but NUL (a password) */
	CS_PRINT,	/* printable ASCII and space */
	CS_WORD,	/* printable ASCII, no space */
	CS_ACL,		/* "" or an ACL path: "/" then [A-Za-z0-9./_-] */
	CS_PRIV,	/* "" or a privilege: [A-Za-z0-9.*] */
	CS_NAME,	/* names_valid() */
	CS_NAME0,	/* "" or names_valid() */
	CS_BASE,	/* a recording's basename */
	CS_HEX64,	/* 64 lowercase hex digits */
};

struct field {
	enum fkind	kind;
	size_t		off;
	size_t		max;	/* string: longest; u8: largest value */
	enum charset	cs;
};

#define U8(f, mx)	{ F_U8, offsetof(struct api_mon_msg, f), mx, CS_ANY }
#define U64(f)		{ F_U64, offsetof(struct api_mon_msg, f), 0, CS_ANY }
#define STR(f, mx, c)	{ F_STR, offsetof(struct api_mon_msg, f), mx, c }
#define MAC(f)		{ F_MAC, offsetof(struct api_mon_msg, f), 0, CS_ANY }
#define BLOB(f)		{ F_BLOB, offsetof(struct api_mon_msg, f), \
			  API_MON_BLOB_MAX, CS_ANY }
#define END		{ F_END, 0, 0, CS_ANY }

static const struct field f_login[] = {
	STR(userid, API_MON_USERID_MAX, CS_WORD),
	STR(password, API_MON_PASSWORD_MAX, CS_ANY),
	STR(challenge, API_MON_CHALLENGE_MAX, CS_WORD),
	END
};
static const struct field f_rep_login[] = {
	U8(status, API_MON_FAILED), U8(flag, 1),
	STR(userid, API_MON_USERID_MAX, CS_WORD),
	STR(ticket, API_MON_TICKET_MAX, CS_WORD),
	STR(csrf, API_MON_CSRF_MAX, CS_WORD),
	STR(why, API_MON_WHY_MAX, CS_PRINT),
	END
};
static const struct field f_auth[] = {
	U8(kind, API_MON_CRED_TOKEN),
	STR(credential, API_MON_CRED_MAX, CS_PRINT),
	STR(csrf, API_MON_CSRF_MAX, CS_WORD),
	U8(flag, 3),		/* API_MON_NEED_CSRF | API_MON_WANT_TOKEN */
	STR(acl_path, API_MON_PATH_MAX, CS_ACL),
	STR(privilege, API_MON_PRIV_MAX, CS_PRIV),
	STR(pool, API_MON_POOL_MAX, CS_NAME0),
	END
};
static const struct field f_rep_auth[] = {
	U8(status, API_MON_FAILED), U8(flag, 1),
	U8(token_status, API_MON_NONE),
	STR(userid, API_MON_USERID_MAX, CS_WORD),
	STR(header, API_MON_HEADER_MAX, CS_WORD),
	STR(why, API_MON_WHY_MAX, CS_PRINT),
	END
};
static const struct field f_connect[] = {
	STR(node, API_MON_NAME_MAX, CS_NAME),
	END
};
static const struct field f_rep_connect[] = {
	U8(status, API_MON_FAILED),
	STR(why, API_MON_WHY_MAX, CS_PRINT),
	END
};
static const struct field f_seal[] = {
	STR(basename, API_MON_WHY_MAX, CS_BASE),
	U64(lines), U64(bytes),
	STR(chain_hex, 64, CS_HEX64),
	END
};
static const struct field f_rep_seal[] = {
	U8(status, API_MON_FAILED),
	MAC(mac),
	END
};

/* The SSH child's (ssh_monitor.h); the answers reuse f_rep_connect. */
static const struct field f_ssh_key[] = {
	STR(userid, NAMES_MAX, CS_NAME),
	STR(credential, API_MON_CRED_MAX, CS_WORD),
	END
};
static const struct field f_ssh_person[] = {
	STR(userid, NAMES_MAX, CS_NAME),
	END
};
static const struct field f_ssh_done[] = {
	STR(userid, NAMES_MAX, CS_NAME),
	STR(node, API_MON_NAME_MAX, CS_NAME0),
	STR(login, API_MON_NAME_MAX, CS_NAME0),
	END
};
static const struct field f_ssh_prompt[] = {
	U8(flag, 1),
	STR(prompt, API_MON_PROMPT_MAX, CS_ANY),
	STR(info, API_MON_INFO_MAX, CS_ANY),
	END
};
static const struct field f_ssh_answer[] = {
	U8(status, API_MON_FAILED),
	STR(password, API_MON_PASSWORD_MAX, CS_ANY),
	END
};

/* The API child's TLS handshake signature (api_tls_key.h). */
static const struct field f_tls_sign[] = {
	U8(kind, API_MON_SIGN_RSA_RAW),
	BLOB(blob),
	END
};
static const struct field f_rep_tls_sign[] = {
	U8(status, API_MON_FAILED),
	BLOB(blob),
	END
};

static const struct field *
fields_of(uint8_t type)
{
	switch (type) {
	case API_MON_REQ_LOGIN:		return f_login;
	case API_MON_REP_LOGIN:		return f_rep_login;
	case API_MON_REQ_AUTH:		return f_auth;
	case API_MON_REP_AUTH:		return f_rep_auth;
	case API_MON_REQ_CONNECT:	return f_connect;
	case API_MON_REP_CONNECT:	return f_rep_connect;
	case API_MON_REQ_SEAL:		return f_seal;
	case API_MON_REP_SEAL:		return f_rep_seal;
	case API_MON_REQ_SSH_KEY:	return f_ssh_key;
	case API_MON_REQ_SSH_PAM:	return f_ssh_person;
	case API_MON_REQ_SSH_DONE:	return f_ssh_done;
	case API_MON_REQ_SSH_ANSWER:	return f_ssh_answer;
	case API_MON_SSH_PROMPT:	return f_ssh_prompt;
	case API_MON_REP_SSH_KEY:
	case API_MON_REP_SSH_PAM:
	case API_MON_REP_SSH_DONE:	return f_rep_connect;
	case API_MON_REQ_TLS_SIGN:	return f_tls_sign;
	case API_MON_REP_TLS_SIGN:	return f_rep_tls_sign;
	default:			return NULL;
	}
}

static int
char_ok(enum charset cs, unsigned char ch)
{
	switch (cs) {
	case CS_ANY:
		return ch != '\0';
	case CS_PRINT:
		return ch >= 0x20 && ch <= 0x7e;
	case CS_WORD:
		return ch > 0x20 && ch <= 0x7e;
	case CS_ACL:
		return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '/' ||
		    ch == '_' || ch == '-';
	case CS_PRIV:	/* "VM.Config.*": any of a family */
		return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '*';
	case CS_BASE:
		return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' ||
		    ch == '-';
	case CS_HEX64:
		return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
	default:
		return 1;	/* names: checked whole below */
	}
}

/* A string of n bytes (not NUL-terminated) in its set and bound. */
static int
str_ok(const struct field *f, const unsigned char *s, size_t n)
{
	char name[NAMES_MAX + 1];
	size_t i;

	if (n > f->max)
		return 0;
	for (i = 0; i < n; i++)
		if (!char_ok(f->cs, s[i]))
			return 0;
	switch (f->cs) {
	case CS_ACL:
		return n == 0 || s[0] == '/';
	case CS_BASE:
		return n > 0 && s[0] != '.';
	case CS_HEX64:
		return n == 64;
	case CS_NAME0:
		if (n == 0)
			return 1;
		/* FALLTHROUGH */
	case CS_NAME:
		if (n == 0 || n > NAMES_MAX || memchr(s, '\0', n) != NULL)
			return 0;
		memcpy(name, s, n);
		name[n] = '\0';
		return names_valid(name);
	default:
		return 1;
	}
}

int
api_mon_encode(const struct api_mon_msg *m, unsigned char *buf, size_t cap)
{
	const struct field *f = fields_of(m->type);
	const unsigned char *base = (const unsigned char *)m;
	size_t len = 0, n;
	uint64_t v;
	int i;

	if (f == NULL || cap < 1)
		return -1;
	buf[len++] = m->type;
	for (; f->kind != F_END; f++) {
		switch (f->kind) {
		case F_U8:
			if (base[f->off] > f->max || cap - len < 1)
				return -1;
			buf[len++] = base[f->off];
			break;
		case F_U64:
			if (cap - len < 8)
				return -1;
			memcpy(&v, base + f->off, sizeof(v));
			for (i = 7; i >= 0; i--) {
				buf[len + (size_t)i] = (unsigned char)(v & 0xff);
				v >>= 8;
			}
			len += 8;
			break;
		case F_MAC:
			if (cap - len < API_MON_MAC_LEN)
				return -1;
			memcpy(buf + len, base + f->off, API_MON_MAC_LEN);
			len += API_MON_MAC_LEN;
			break;
		case F_BLOB: {
			const struct api_mon_blob *b = (const void *)(base +
			    f->off);

			if (b->len > f->max || cap - len < 2 + (size_t)b->len)
				return -1;
			buf[len++] = (unsigned char)(b->len >> 8);
			buf[len++] = (unsigned char)(b->len & 0xff);
			memcpy(buf + len, b->data, b->len);
			len += b->len;
			break;
		}
		case F_STR:
			n = strnlen((const char *)base + f->off, f->max + 1);
			if (!str_ok(f, base + f->off, n) || cap - len < 2 + n)
				return -1;
			buf[len++] = (unsigned char)(n >> 8);
			buf[len++] = (unsigned char)(n & 0xff);
			memcpy(buf + len, base + f->off, n);
			len += n;
			break;
		default:
			return -1;
		}
	}
	return len > API_MON_MSG_MAX ? -1 : (int)len;
}

int
api_mon_decode(const unsigned char *buf, size_t len, struct api_mon_msg *m)
{
	const struct field *f;
	unsigned char *base = (unsigned char *)m;
	size_t pos = 1, n;
	uint64_t v;
	int i;

	memset(m, 0, sizeof(*m));
	if (len < 1 || len > API_MON_MSG_MAX ||
	    (f = fields_of(buf[0])) == NULL)
		return -1;
	m->type = buf[0];
	for (; f->kind != F_END; f++) {
		switch (f->kind) {
		case F_U8:
			if (len - pos < 1 || buf[pos] > f->max)
				goto bad;
			base[f->off] = buf[pos++];
			break;
		case F_U64:
			if (len - pos < 8)
				goto bad;
			for (v = 0, i = 0; i < 8; i++)
				v = (v << 8) | buf[pos + (size_t)i];
			memcpy(base + f->off, &v, sizeof(v));
			pos += 8;
			break;
		case F_MAC:
			if (len - pos < API_MON_MAC_LEN)
				goto bad;
			memcpy(base + f->off, buf + pos, API_MON_MAC_LEN);
			pos += API_MON_MAC_LEN;
			break;
		case F_BLOB: {
			struct api_mon_blob *b = (void *)(base + f->off);

			if (len - pos < 2)
				goto bad;
			n = ((size_t)buf[pos] << 8) | buf[pos + 1];
			pos += 2;
			if (n > len - pos || n > f->max)
				goto bad;
			b->len = (uint16_t)n;
			memcpy(b->data, buf + pos, n);
			pos += n;
			break;
		}
		case F_STR:
			if (len - pos < 2)
				goto bad;
			n = ((size_t)buf[pos] << 8) | buf[pos + 1];
			pos += 2;
			if (n > len - pos || !str_ok(f, buf + pos, n))
				goto bad;
			memcpy(base + f->off, buf + pos, n);
			base[f->off + n] = '\0';
			pos += n;
			break;
		default:
			goto bad;
		}
	}
	if (pos == len)
		return 0;
bad:
	api_mon_wipe(m);
	return -1;
}

void
api_mon_wipe(struct api_mon_msg *m)
{
	explicit_bzero(m, sizeof(*m));
}
