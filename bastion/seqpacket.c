/*
 * seqpacket.c - a request and its reply on a SOCK_SEQPACKET socketpair
 * (see seqpacket.h).
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "seqpacket.h"

/* A reply carries at most two descriptors (kh_proto.h, api_mon_proto.h);
 * room for a few more so that an excess is seen and closed. */
#define SEQPACKET_FDS_MAX	4

static void
close_all(int *fds, int n)
{
	int i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

int
seqpacket_send(int fd, const void *buf, size_t len, const int *fds, int nfds,
    int flags)
{
	union {
		char		buf[CMSG_SPACE(2 * sizeof(int))];
		struct cmsghdr	align;
	} cm;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *ch;

	if (nfds < 0 || nfds > 2)
		return -1;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = len;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		ch = CMSG_FIRSTHDR(&mh);
		ch->cmsg_level = SOL_SOCKET;
		ch->cmsg_type = SCM_RIGHTS;
		ch->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		memcpy(CMSG_DATA(ch), fds, (size_t)nfds * sizeof(int));
	}
	return sendmsg(fd, &mh, flags | MSG_NOSIGNAL) == (ssize_t)len ? 0 :
	    -1;
}

ssize_t
seqpacket_call(int fd, unsigned char *buf, size_t len, size_t bufsize,
    int timeout_ms, int *fds, int maxfds, int *nfds)
{
	ssize_t n;

	*nfds = 0;
	if (fd < 0 || len > bufsize)
		return -1;
	n = send(fd, buf, len, MSG_NOSIGNAL);
	explicit_bzero(buf, len);
	if (n < 0 || (size_t)n != len)
		return -1;
	return seqpacket_recv(fd, buf, bufsize, timeout_ms, fds, maxfds, nfds);
}

ssize_t
seqpacket_recv(int fd, unsigned char *buf, size_t bufsize, int timeout_ms,
    int *fds, int maxfds, int *nfds)
{
	union {
		char		buf[CMSG_SPACE(SEQPACKET_FDS_MAX * sizeof(int))];
		struct cmsghdr	align;
	} cm;
	struct pollfd pfd;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *ch;
	ssize_t n;
	int rc, got = 0, i;

	*nfds = 0;
	if (fd < 0)
		return -1;
	pfd.fd = fd;
	pfd.events = POLLIN;
	do
		rc = poll(&pfd, 1, timeout_ms);
	while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		return -1;
	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = bufsize;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	if ((n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC)) <= 0)
		return -1;
	for (ch = CMSG_FIRSTHDR(&mh); ch != NULL; ch = CMSG_NXTHDR(&mh, ch)) {
		int k;

		if (ch->cmsg_level != SOL_SOCKET ||
		    ch->cmsg_type != SCM_RIGHTS)
			continue;
		k = (int)((ch->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (i = 0; i < k; i++) {
			int one;

			memcpy(&one, CMSG_DATA(ch) + (size_t)i * sizeof(int),
			    sizeof(int));
			if (got < maxfds)
				fds[got++] = one;
			else
				close(one);
		}
	}
	if (mh.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) {
		close_all(fds, got);
		explicit_bzero(buf, bufsize);
		return -1;
	}
	*nfds = got;
	return n;
}
