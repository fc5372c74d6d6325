/*
 * kh_client.c - the child's side of the key holder (see kh_client.h).
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../recorder/seal.h"
#include "kh_client.h"
#include "kh_proto.h"
#include "log.h"
#include "seqpacket.h"

/* A seal or an identify answer comes at once; a connect within the
 * connect timeout. */
#define KH_SEAL_TIMEOUT_MS	10000

static int	kh_fd = -1;
static char	kh_person[KH_STR_MAX + 1];
static char	kh_session[KH_STR_MAX + 1];
static char	kh_fwd_host[KH_STR_MAX + 1];
static int	kh_fwd_port;

static int
request(const struct kh_msg *req, struct kh_msg *rep, int timeout_ms,
    int *fds, int nfds)
{
	unsigned char buf[KH_MSG_MAX + 1];
	int len, got, i;
	ssize_t n;

	for (i = 0; i < nfds; i++)
		fds[i] = -1;
	if (kh_fd < 0 || (len = kh_msg_encode(req, buf, sizeof(buf))) < 0)
		return -1;
	if ((n = seqpacket_call(kh_fd, buf, (size_t)len, sizeof(buf),
	    timeout_ms, fds, nfds, &got)) < 0)
		return -1;
	if (kh_msg_decode(buf, (size_t)n, rep) < 0 ||
	    rep->type != req->type + 128) {
		for (i = 0; i < got; i++) {
			close(fds[i]);
			fds[i] = -1;
		}
		return -1;
	}
	return got;
}

static int
seal_by_keyholder(void *arg, const char *basename, uint64_t lines,
    uint64_t bytes, const char *chain_hex, unsigned char mac[SEAL_MAC_LEN])
{
	struct kh_msg req, rep;
	int rc = -1;

	(void)arg;
	memset(&req, 0, sizeof(req));
	req.type = KH_REQ_SEAL;
	snprintf(req.basename, sizeof(req.basename), "%s", basename);
	snprintf(req.chain_hex, sizeof(req.chain_hex), "%s", chain_hex);
	req.lines = lines;
	req.bytes = bytes;
	if (request(&req, &rep, KH_SEAL_TIMEOUT_MS, NULL, 0) == 0 &&
	    rep.status == KH_OK) {
		memcpy(mac, rep.mac, SEAL_MAC_LEN);
		rc = 0;
	}
	explicit_bzero(&rep, sizeof(rep));
	return rc;
}

void
kh_client_init(int fd)
{
	kh_fd = fd;
	seal_set_signer(seal_by_keyholder, NULL);
}

void
kh_client_identity(const char *person, const char *session_id)
{
	snprintf(kh_person, sizeof(kh_person), "%s", person);
	snprintf(kh_session, sizeof(kh_session), "%s", session_id);
}

int
kh_client_bind(const char *person, const char *session_id)
{
	struct kh_msg req, rep;

	memset(&req, 0, sizeof(req));
	req.type = KH_REQ_IDENTIFY;
	snprintf(req.person, sizeof(req.person), "%s", person);
	snprintf(req.session_id, sizeof(req.session_id), "%s", session_id);
	if (request(&req, &rep, KH_SEAL_TIMEOUT_MS, NULL, 0) != 0 ||
	    rep.status != KH_OK)
		return -1;
	kh_client_identity(person, session_id);
	return 0;
}

int
kh_client_api_auth(const char *acl_path, const char *privilege,
    const char *pool, char *header, size_t len)
{
	struct kh_msg req, rep;
	int rc = -1;

	header[0] = '\0';
	memset(&req, 0, sizeof(req));
	req.type = KH_REQ_API_AUTH;
	snprintf(req.person, sizeof(req.person), "%s", kh_person);
	snprintf(req.acl_path, sizeof(req.acl_path), "%s", acl_path);
	snprintf(req.privilege, sizeof(req.privilege), "%s",
	    privilege != NULL ? privilege : "");
	snprintf(req.pool, sizeof(req.pool), "%s", pool != NULL ? pool : "");
	if (request(&req, &rep, KH_SEAL_TIMEOUT_MS, NULL, 0) == 0) {
		if (rep.status == KH_OK && strlen(rep.message) < len) {
			snprintf(header, len, "%s", rep.message);
			rc = 0;
		} else if (rep.status == KH_REFUSED)
			rc = -2;
	}
	explicit_bzero(&rep, sizeof(rep));
	return rc;
}

void
kh_client_forward(const char *host, int port)
{
	snprintf(kh_fwd_host, sizeof(kh_fwd_host), "%s",
	    host != NULL ? host : "");
	kh_fwd_port = host != NULL ? port : 0;
}

int
kh_client_fd(void)
{
	return kh_fd;
}

int
kh_client_connect(const char *target, const char *credential, int timeout_s,
    int *tcp, int *agent, char *why, size_t whylen)
{
	struct kh_msg req, rep;
	int fds[2], got;

	*tcp = *agent = -1;
	memset(&req, 0, sizeof(req));
	req.type = KH_REQ_CONNECT;
	snprintf(req.person, sizeof(req.person), "%s", kh_person);
	snprintf(req.target, sizeof(req.target), "%s", target);
	snprintf(req.credential, sizeof(req.credential), "%s", credential);
	snprintf(req.session_id, sizeof(req.session_id), "%s", kh_session);
	snprintf(req.fwd_host, sizeof(req.fwd_host), "%s", kh_fwd_host);
	req.fwd_port = (uint16_t)kh_fwd_port;
	got = request(&req, &rep, (timeout_s + 5) * 1000, fds, 2);
	if (got < 0) {
		log_error("no answer from the key holder for target %s",
		    target);
		snprintf(why, whylen, "internal error");
		return -1;
	}
	if (rep.status != KH_OK || got != 2) {
		if (got > 0)
			close(fds[0]);
		if (got > 1)
			close(fds[1]);
		if (rep.status == KH_REFUSED) {
			snprintf(why, whylen, "the key holder refused target"
			    " %s", target);
			return -2;
		}
		snprintf(why, whylen, "cannot connect to target %s", target);
		return -1;
	}
	*tcp = fds[0];
	*agent = fds[1];
	return 0;
}
