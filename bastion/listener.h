/*
 * listener.h - the master process: listening sockets, one child per
 * connection, reaping, reload on SIGHUP.  It parses no network data: the
 * child does the key exchange and everything after.
 */
#ifndef HVB_LISTENER_H
#define HVB_LISTENER_H

#include <sys/types.h>

#include <libssh/libssh.h>

#include "config.h"

/* Closes the listening sockets (in a process forked from the master). */
void	listener_close(void);
/* The key holder's control socket and pid (keyholder_start()). */
void	listener_set_keyholder(int ctl, pid_t pid);
/* Binds every "listen" address; returns 0 or -1 (logged). */
int	listener_open(const struct config *);
/*
 * Accepts and forks until SIGTERM or SIGINT.  *confp may be replaced on
 * SIGHUP by a configuration re-read from the same path that checks OK.
 */
int	listener_run(struct config **confp, ssh_key hostkey);
/*
 * Logs every separation exception (person, reason, file:line): a person
 * who holds both sides must show in the logs at every load.
 */
void	listener_log_exceptions(const struct config *);

#endif
