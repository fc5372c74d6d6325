/*
 * api_mon_client.c - the sandboxed API child's side of its monitor
 * (api_monitor.h): one datagram out, one back, in order.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../recorder/seal.h"
#include "api_monitor.h"
#include "api_verdict.h"
#include "keyholder.h"
#include "log.h"
#include "seqpacket.h"

/* PAM may be slow (a directory server); a node connect is bounded by
 * connect-timeout, which the monitor applies. */
#define MON_TIMEOUT_MS	120000

static int	mon_fd = -1;

int
api_mon_send(int sock, struct api_mon_msg *m, int pass_fd)
{
	unsigned char buf[API_MON_MSG_MAX];
	int len, rc;

	len = api_mon_encode(m, buf, sizeof(buf));
	api_mon_wipe(m);
	if (len < 0 || sock < 0)
		return -1;
	rc = seqpacket_send(sock, buf, (size_t)len, &pass_fd,
	    pass_fd >= 0 ? 1 : 0, 0);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

int
api_mon_recv(int sock, struct api_mon_msg *m)
{
	unsigned char buf[API_MON_MSG_MAX + 1];
	ssize_t n;
	int rc;

	memset(m, 0, sizeof(*m));
	do
		n = recv(sock, buf, sizeof(buf), 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return 0;
	rc = api_mon_decode(buf, (size_t)n, m);
	explicit_bzero(buf, (size_t)n);
	return rc < 0 ? -1 : 1;
}

static int
request(struct api_mon_msg *req, struct api_mon_msg *rep, int *fdp)
{
	unsigned char buf[API_MON_MSG_MAX + 1];
	int len, rc, fds[1], nfds;
	uint8_t want = (uint8_t)(req->type + 128);
	ssize_t n;

	if (fdp != NULL)
		*fdp = -1;
	memset(rep, 0, sizeof(*rep));
	len = mon_fd < 0 ? -1 : api_mon_encode(req, buf, sizeof(buf));
	api_mon_wipe(req);
	if (len < 0)
		return -1;
	n = seqpacket_call(mon_fd, buf, (size_t)len, sizeof(buf),
	    MON_TIMEOUT_MS, fds, 1, &nfds);
	if (n < 0)
		return -1;
	rc = api_mon_decode(buf, (size_t)n, rep);
	explicit_bzero(buf, sizeof(buf));
	if (rc < 0 || rep->type != want || (nfds > 0 && fdp == NULL)) {
		if (nfds > 0)
			close(fds[0]);
		api_mon_wipe(rep);
		return -1;
	}
	if (fdp != NULL && nfds > 0)
		*fdp = fds[0];
	return 0;
}

static int
seal_by_monitor(void *arg, const char *basename, uint64_t lines,
    uint64_t bytes, const char *chain_hex, unsigned char mac[SEAL_MAC_LEN])
{
	struct api_mon_msg req, rep;
	int rc = -1;

	(void)arg;
	memset(&req, 0, sizeof(req));
	req.type = API_MON_REQ_SEAL;
	snprintf(req.basename, sizeof(req.basename), "%s", basename);
	snprintf(req.chain_hex, sizeof(req.chain_hex), "%s", chain_hex);
	req.lines = lines;
	req.bytes = bytes;
	if (request(&req, &rep, NULL) == 0 && rep.status == API_MON_OK) {
		memcpy(mac, rep.mac, SEAL_MAC_LEN);
		rc = 0;
	}
	api_mon_wipe(&rep);
	return rc;
}

void
api_mon_client_init(int fd)
{
	mon_fd = fd;
	seal_set_signer(seal_by_monitor, NULL);
}

int
api_mon_client_fd(void)
{
	return mon_fd;
}

int
api_mon_login(const char *userid, const char *password,
    const char *challenge, struct api_mon_msg *rep)
{
	struct api_mon_msg req;

	memset(&req, 0, sizeof(req));
	req.type = API_MON_REQ_LOGIN;
	if (strlen(userid) >= sizeof(req.userid) ||
	    strlen(password) >= sizeof(req.password) ||
	    strlen(challenge) >= sizeof(req.challenge)) {
		memset(rep, 0, sizeof(*rep));
		return -1;
	}
	snprintf(req.userid, sizeof(req.userid), "%s", userid);
	snprintf(req.password, sizeof(req.password), "%s", password);
	snprintf(req.challenge, sizeof(req.challenge), "%s", challenge);
	return request(&req, rep, NULL);
}

int
api_mon_auth(int kind, const char *credential, const char *csrf, int flags,
    const char *acl_path, const char *privilege, const char *pool,
    struct api_mon_msg *rep)
{
	unsigned char key[API_VERDICT_KEY_LEN];
	struct api_mon_msg req;
	unsigned long gen;
	time_t now;
	int keyed, rc;

	memset(&req, 0, sizeof(req));
	req.type = API_MON_REQ_AUTH;
	req.kind = (uint8_t)kind;
	req.flag = (uint8_t)flags;
	if (strlen(credential) >= sizeof(req.credential) ||
	    (csrf != NULL && strlen(csrf) >= sizeof(req.csrf))) {
		memset(rep, 0, sizeof(*rep));
		return -1;
	}
	snprintf(req.credential, sizeof(req.credential), "%s", credential);
	snprintf(req.csrf, sizeof(req.csrf), "%s", csrf ? csrf : "");
	snprintf(req.acl_path, sizeof(req.acl_path), "%s",
	    acl_path ? acl_path : "");
	snprintf(req.privilege, sizeof(req.privilege), "%s",
	    privilege ? privilege : "");
	snprintf(req.pool, sizeof(req.pool), "%s", pool ? pool : "");
	/* An answer kept from earlier in this second (api_verdict.h). */
	gen = keyholder_generation();
	now = api_verdict_second();
	if ((keyed = api_verdict_key(&req, key) == 0) &&
	    api_verdict_find(key, now, gen, rep)) {
		api_mon_wipe(&req);
		return 0;
	}
	rc = request(&req, rep, NULL);
	if (rc == 0 && keyed)
		api_verdict_keep(key, now, gen, rep);
	explicit_bzero(key, sizeof(key));
	return rc;
}

int
api_mon_connect(const char *node, char *why, size_t whylen)
{
	struct api_mon_msg req, rep;
	int fd;

	memset(&req, 0, sizeof(req));
	req.type = API_MON_REQ_CONNECT;
	snprintf(req.node, sizeof(req.node), "%s", node);
	if (request(&req, &rep, &fd) < 0) {
		snprintf(why, whylen, "no answer from the API monitor");
		return -1;
	}
	if (rep.status != API_MON_OK || fd < 0) {
		snprintf(why, whylen, "connect %s: %s", node, rep.why[0] ?
		    rep.why : "refused");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

int
api_mon_tls_sign(int kind, const unsigned char *in, size_t inlen,
    unsigned char *out, size_t *outlen)
{
	struct api_mon_msg req, rep;
	int rc = -1;

	if (inlen > API_MON_BLOB_MAX)
		return -1;
	memset(&req, 0, sizeof(req));
	req.type = API_MON_REQ_TLS_SIGN;
	req.kind = (uint8_t)kind;
	req.blob.len = (uint16_t)inlen;
	memcpy(req.blob.data, in, inlen);
	if (request(&req, &rep, NULL) == 0 && rep.status == API_MON_OK &&
	    rep.blob.len <= *outlen) {
		memcpy(out, rep.blob.data, rep.blob.len);
		*outlen = rep.blob.len;
		rc = 0;
	}
	api_mon_wipe(&rep);
	return rc;
}
