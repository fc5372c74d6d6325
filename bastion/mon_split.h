/*
 * mon_split.h - a connection's process splits into a monitor and a
 * network child (api_monitor.h, ssh_monitor.h): the socketpair between
 * them and the fork, done the same way for both fronts.
 */
#ifndef HVB_MON_SPLIT_H
#define HVB_MON_SPLIT_H

#include <sys/types.h>

/*
 * Makes an AF_UNIX SOCK_SEQPACKET socketpair and forks.  In the network
 * child: returns 0, *sock is its end, and the monitor's things are gone
 * (the key holder's socket closed and forgotten, startup_fd closed).  In
 * the monitor: returns the child's pid, *sock is the monitor's end.  -1
 * when it could not (logged, front names which: "API", "SSH").
 */
pid_t	mon_split(const char *front, int startup_fd, int *sock);

#endif
