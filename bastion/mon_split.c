/*
 * mon_split.c - see mon_split.h.
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "kh_client.h"
#include "log.h"
#include "mon_split.h"

pid_t
mon_split(const char *front, int startup_fd, int *sock)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("%s: socketpair: %s", front, strerror(errno));
		return -1;
	}
	if ((pid = fork()) < 0) {
		log_error("%s: fork: %s", front, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		if (startup_fd >= 0)
			close(startup_fd);
		if (kh_client_fd() >= 0)
			close(kh_client_fd());
		kh_client_init(-1);
		*sock = sv[1];
		return 0;
	}
	close(sv[1]);
	*sock = sv[0];
	return pid;
}
