/*
 * kh_proto.h - the messages between the key holder and the other processes.
 *
 * Transport: AF_UNIX SOCK_SEQPACKET socketpairs, one message per datagram,
 * at most KH_MSG_MAX bytes; descriptors travel as SCM_RIGHTS.  Layout:
 * one type byte, then the fields of that type in a fixed order, strings as
 * a 16-bit big-endian length and the bytes (no NUL), integers big-endian.
 * Anything else (unknown type, short or trailing bytes, a string over its
 * bound, a name that names_valid() refuses) is refused whole.
 *
 * The whitelist (a connection's monitor -> key holder), first:
 *   KH_REQ_IDENTIFY person, session id: the person the SSH monitor
 *                   authenticated (ssh_monitor.h), once per socket, before
 *                   the socket is handed to the network child.
 *       -> KH_REP_IDENTIFY status, message
 * then (child -> key holder):
 *   KH_REQ_CONNECT  person, target, credential, session id, forward
 *                   host and port (empty and 0 unless the connection is
 *                   for a port forward, which the policy decides by
 *                   destination); refused on a socket that no IDENTIFY
 *                   bound, or for another person or session
 *       -> KH_REP_CONNECT status, message; on success two descriptors:
 *          a TCP socket connected to the target, and an ssh-agent socket
 *          that holds only that credential's key (kh_agent_* below).
 *   KH_REQ_SEAL     basename, lines, bytes, chain hex
 *       -> KH_REP_SEAL status, 32-byte MAC (recorder/seal.h)
 *   KH_REQ_TEST     (test builds only: a request that is not allowed, to
 *                   prove it is refused and logged)
 * master -> key holder:
 *   KH_CTL_CHILD    pid, source address, + the key holder's end of a new
 *                   child's socketpair.
 *
 *   KH_REQ_API_AUTH person, ACL path (empty: a call on none, such as
 *                   version or a list), privilege (empty: none needed),
 *                   the guest's pool (empty: unknown; learnt by the API
 *                   child from the node, so it widens nothing a role's
 *                   own token could not reach)
 *       -> KH_REP_API_AUTH status, message: on success the value of the
 *          Authorization header ("PVEAPIToken=USER@REALM!ID=SECRET") of
 *          the API token held for the role that policy_decide_api()
 *          allows, for the API child to send to the Proxmox node.
 */
#ifndef HVB_KH_PROTO_H
#define HVB_KH_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define KH_MSG_MAX		1024
#define KH_STR_MAX		255
#define KH_MAC_LEN		32

enum kh_type {
	KH_REQ_CONNECT = 1,
	KH_REQ_SEAL = 2,
	KH_REQ_API_AUTH = 3,
	KH_REQ_IDENTIFY = 4,
	KH_CTL_CHILD = 16,
	KH_REP_CONNECT = 129,
	KH_REP_SEAL = 130,
	KH_REP_API_AUTH = 131,
	KH_REP_IDENTIFY = 132,
};

enum kh_status { KH_OK = 0, KH_REFUSED = 1, KH_FAILED = 2 };

struct kh_msg {
	uint8_t		type;
	uint8_t		status;			/* replies */
	char		person[KH_STR_MAX + 1];
	char		target[KH_STR_MAX + 1];
	char		credential[KH_STR_MAX + 1];
	char		session_id[KH_STR_MAX + 1];
	char		basename[KH_STR_MAX + 1];	/* seal */
	char		chain_hex[KH_STR_MAX + 1];	/* seal */
	char		source[KH_STR_MAX + 1];		/* ctl */
	char		message[KH_STR_MAX + 1];	/* replies */
	char		fwd_host[KH_STR_MAX + 1];	/* connect: forward */
	char		acl_path[KH_STR_MAX + 1];	/* api */
	char		privilege[KH_STR_MAX + 1];	/* api; "": listing */
	char		pool[KH_STR_MAX + 1];		/* api; "": none */
	uint16_t	fwd_port;
	uint64_t	lines, bytes;			/* seal */
	uint32_t	pid;				/* ctl */
	unsigned char	mac[KH_MAC_LEN];		/* seal reply */
};

/* Encodes m into buf; returns the length, or -1 if it does not fit. */
int	kh_msg_encode(const struct kh_msg *m, unsigned char *buf, size_t cap);
/* Decodes one datagram; returns 0, or -1 (m is then zeroed). */
int	kh_msg_decode(const unsigned char *buf, size_t len, struct kh_msg *m);

/*
 * The ssh-agent protocol subset the key holder speaks on an agent socket
 * (draft-miller-ssh-agent): a 32-bit length then the message.
 */
#define KH_AGENT_MSG_MAX	(16 * 1024)
#define KH_AGENT_FAILURE		5
#define KH_AGENTC_REQUEST_IDENTITIES	11
#define KH_AGENT_IDENTITIES_ANSWER	12
#define KH_AGENTC_SIGN_REQUEST		13
#define KH_AGENT_SIGN_RESPONSE		14
#define KH_AGENT_RSA_SHA2_256		2
#define KH_AGENT_RSA_SHA2_512		4

struct kh_agent_req {
	uint8_t			 type;
	const unsigned char	*key_blob;	/* SIGN: points into the input */
	size_t			 key_blob_len;
	const unsigned char	*data;
	size_t			 data_len;
	uint32_t		 flags;
};

/* Parses one agent message (without its length prefix); 0 or -1. */
int	kh_agent_parse(const unsigned char *msg, size_t len,
	    struct kh_agent_req *r);

/*
 * Checks that data is an SSH publickey USERAUTH_REQUEST (RFC 4252 7) for
 * login with key_blob, which is all the key holder ever signs: it is no
 * signing oracle for anything else.  Returns 0 or -1.
 */
int	kh_agent_check_userauth(const unsigned char *data, size_t len,
	    const char *login, const unsigned char *key_blob,
	    size_t key_blob_len);

#endif
