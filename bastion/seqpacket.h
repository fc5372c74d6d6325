/*
 * seqpacket.h - one request datagram out, one reply datagram back, on an
 * AF_UNIX SOCK_SEQPACKET socket, with descriptors in the reply
 * (SCM_RIGHTS).  The key holder's and the API monitor's clients share it.
 */
#ifndef HVB_SEQPACKET_H
#define HVB_SEQPACKET_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Sends the len bytes of buf on fd, wipes them, waits up to timeout_ms
 * for the reply and receives it into buf (bufsize bytes).  Up to maxfds
 * descriptors of the reply go to fds (*nfds says how many), any more are
 * closed.  Returns the reply's length, or -1 (no descriptor left open).
 */
ssize_t	seqpacket_call(int fd, unsigned char *buf, size_t len, size_t bufsize,
	    int timeout_ms, int *fds, int maxfds, int *nfds);

#endif
