/*
 * seqpacket.h - one request datagram out, one reply datagram back, on an
 * AF_UNIX SOCK_SEQPACKET socket, with descriptors in the reply
 * (SCM_RIGHTS).  The key holder's and the monitors' clients share it, and
 * the key holder and the monitors send their replies with
 * seqpacket_send().
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

/* The receiving half of seqpacket_call(): one datagram, as it says. */
ssize_t	seqpacket_recv(int fd, unsigned char *buf, size_t bufsize,
	    int timeout_ms, int *fds, int maxfds, int *nfds);
/*
 * Sends one datagram of len bytes with up to 2 descriptors (SCM_RIGHTS),
 * MSG_NOSIGNAL; flags adds MSG_DONTWAIT for a sender that must never
 * block (the key holder).  0, or -1.
 */
int	seqpacket_send(int fd, const void *buf, size_t len, const int *fds,
	    int nfds, int flags);

#endif
