/*
 * api_mon_proto.h - the messages between a sandboxed network child and
 * its monitor, in kh_proto.h's style: the API child's (api_monitor.h) and,
 * with the SSH_ types below, the SSH child's (ssh_monitor.h).
 *
 * Transport: an AF_UNIX SOCK_SEQPACKET socketpair made per connection,
 * one message per datagram, at most API_MON_MSG_MAX bytes; a descriptor
 * travels as SCM_RIGHTS (an upstream connection).  Layout: one type byte,
 * then the fields of that type in a fixed order, strings as a 16-bit
 * big-endian length and the bytes (no NUL), integers big-endian.  Every
 * string has its own bound and character set; anything else (unknown
 * type, short or trailing bytes, a string over its bound or with a byte
 * outside its set) is refused whole.
 *
 * The whitelist (child -> monitor), one answer each:
 *   LOGIN    userid, password, TFA challenge (empty for the first step)
 *       -> REP_LOGIN status, partial, userid, ticket, CSRF token, why:
 *          PAM (password, then TOTP) or a renewal, run by the monitor;
 *          the ticket is minted there, with the key only it holds.
 *   AUTH     credential kind, credential, CSRF token, need-CSRF flag,
 *            ACL path, privilege, pool (path empty: no token wanted)
 *       -> REP_AUTH status, CSRF ok, token status, userid, header, why:
 *          the ticket or personal API token checked, then (one round
 *          trip: the hot path) the Authorization header of the Proxmox
 *          token that the key holder gives that person for that path.
 *   CONNECT  node name
 *       -> REP_CONNECT status, why; on success a TCP socket connected to
 *          that configured node (the child does TLS and the pin check).
 *   SEAL     basename, lines, bytes, chain hex (a console recording)
 *       -> REP_SEAL status, 32-byte MAC (from the key holder)
 *   TLS_SIGN kind, bytes: the one private-key operation of the child's
 *            TLS handshake (the child holds no TLS key: api_tls_key.h)
 *       -> REP_TLS_SIGN status, bytes
 *
 * The SSH child's whitelist (ssh_monitor.h), before authentication only:
 *   SSH_KEY     person, key fingerprint: the publickey step (the child
 *               checked the signature; the monitor checks the step is the
 *               one due and the key is that person's)
 *       -> REP_SSH_KEY status, why
 *   SSH_PAM     person (or the reserved name, for a name nobody has):
 *               the keyboard-interactive step, PAM run by the monitor,
 *       -> any number of SSH_PROMPT echo flag, prompt, info (one prompt
 *          each), each answered by the child's SSH_ANSWER status, answer
 *          (status FAILED: the client went away), then REP_SSH_PAM
 *          status, why
 *   SSH_DONE    person, target, login (from the login name, "" when it
 *               names none): every step of auth-methods done
 *       -> REP_SSH_DONE status, why; on success the login is audited (by
 *          the monitor) and the key holder's socket comes with it, bound
 *          to that person and the session (KH_REQ_IDENTIFY)
 */
#ifndef HVB_API_MON_PROTO_H
#define HVB_API_MON_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define API_MON_MSG_MAX		4096
#define API_MON_USERID_MAX	127
#define API_MON_PASSWORD_MAX	1023
#define API_MON_CHALLENGE_MAX	511
#define API_MON_CRED_MAX	511
#define API_MON_CSRF_MAX	127
#define API_MON_TICKET_MAX	255
#define API_MON_PATH_MAX	255
#define API_MON_PRIV_MAX	128
#define API_MON_POOL_MAX	63
#define API_MON_HEADER_MAX	511
#define API_MON_WHY_MAX		255
#define API_MON_NAME_MAX	64
#define API_MON_MAC_LEN		32
#define API_MON_PROMPT_MAX	255
#define API_MON_INFO_MAX	1023
#define API_MON_BLOB_MAX	1024	/* an RSA-8192 signature */

enum api_mon_type {
	API_MON_REQ_LOGIN = 1,
	API_MON_REQ_AUTH = 2,
	API_MON_REQ_CONNECT = 3,
	API_MON_REQ_SEAL = 4,
	API_MON_REQ_SSH_KEY = 5,
	API_MON_REQ_SSH_PAM = 6,
	API_MON_REQ_SSH_ANSWER = 7,
	API_MON_REQ_SSH_DONE = 8,
	API_MON_REQ_TLS_SIGN = 9,
	API_MON_REP_LOGIN = 129,
	API_MON_REP_AUTH = 130,
	API_MON_REP_CONNECT = 131,
	API_MON_REP_SEAL = 132,
	API_MON_REP_SSH_KEY = 133,
	API_MON_REP_SSH_PAM = 134,
	API_MON_SSH_PROMPT = 135,
	API_MON_REP_SSH_DONE = 136,
	API_MON_REP_TLS_SIGN = 137,
};

enum api_mon_status {
	API_MON_OK = 0,
	API_MON_REFUSED = 1,	/* authentication or policy said no */
	API_MON_FAILED = 2,	/* could not be done */
	API_MON_NONE = 3,	/* token status: none was asked for */
};

/* AUTH credential kinds. */
enum api_mon_cred {
	API_MON_CRED_SAME = 0,	/* the person this connection proved */
	API_MON_CRED_TICKET = 1,
	API_MON_CRED_TOKEN = 2,	/* "USER@REALM!ID=SECRET" (or a space) */
};

/* TLS_SIGN kinds: what the monitor does with the bytes (api_tls_key.h). */
enum api_mon_sign {
	API_MON_SIGN_ECDSA = 0,		/* a digest, signed: DER */
	API_MON_SIGN_RSA_PKCS1 = 1,	/* RSA_PKCS1_PADDING */
	API_MON_SIGN_RSA_RAW = 2,	/* RSA_NO_PADDING (PSS, encoded) */
};

struct api_mon_blob {
	uint16_t	len;
	unsigned char	data[API_MON_BLOB_MAX];
};

struct api_mon_msg {
	uint8_t		type;
	uint8_t		status;
	uint8_t		kind;		/* AUTH: api_mon_cred */
	uint8_t		flag;		/* LOGIN rep: partial; AUTH: need CSRF;
					   AUTH rep: CSRF ok */
	uint8_t		token_status;	/* AUTH rep */
	char		userid[API_MON_USERID_MAX + 1];
	char		password[API_MON_PASSWORD_MAX + 1];
	char		challenge[API_MON_CHALLENGE_MAX + 1];
	char		credential[API_MON_CRED_MAX + 1];
	char		csrf[API_MON_CSRF_MAX + 1];
	char		ticket[API_MON_TICKET_MAX + 1];
	char		acl_path[API_MON_PATH_MAX + 1];
	char		privilege[API_MON_PRIV_MAX + 1];
	char		pool[API_MON_POOL_MAX + 1];
	char		header[API_MON_HEADER_MAX + 1];
	char		why[API_MON_WHY_MAX + 1];
	char		node[API_MON_NAME_MAX + 1];	/* also SSH_DONE's target */
	char		login[API_MON_NAME_MAX + 1];	/* SSH_DONE */
	char		basename[API_MON_WHY_MAX + 1];	/* SEAL */
	char		chain_hex[65];			/* SEAL */
	uint64_t	lines, bytes;			/* SEAL */
	unsigned char	mac[API_MON_MAC_LEN];		/* SEAL rep */
	char		prompt[API_MON_PROMPT_MAX + 1];	/* SSH_PROMPT */
	char		info[API_MON_INFO_MAX + 1];	/* SSH_PROMPT */
	struct api_mon_blob blob;			/* TLS_SIGN */
};

/* Encodes m into buf; returns the length, or -1 if it is out of shape. */
int	api_mon_encode(const struct api_mon_msg *m, unsigned char *buf,
	    size_t cap);
/* Decodes one datagram; returns 0, or -1 (m is then zeroed). */
int	api_mon_decode(const unsigned char *buf, size_t len,
	    struct api_mon_msg *m);
/* Wipes a message that may hold a password, a ticket or a token. */
void	api_mon_wipe(struct api_mon_msg *m);

#endif
