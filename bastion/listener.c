/*
 * listener.c - the master process.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"
#include "session.h"

static int listen_fds[CONFIG_MAX_LISTEN];
static int nlisten_fds;
static volatile sig_atomic_t got_chld, got_hup, got_term;

static void
on_signal(int sig)
{
	/* Only flags: the loop does the work (regreSSHion's lesson). */
	if (sig == SIGCHLD)
		got_chld = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

int
listener_open(const struct config *conf)
{
	size_t i;

	for (i = 0; i < conf->nlisten; i++) {
		struct addrinfo hints, *ai = NULL;
		char port[16];
		int fd, one = 1, rc;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
		snprintf(port, sizeof(port), "%d", conf->listen[i].port);
		rc = getaddrinfo(conf->listen[i].address, port, &hints, &ai);
		if (rc != 0) {
			log_error("listen %s port %s: %s",
			    conf->listen[i].address, port, gai_strerror(rc));
			return -1;
		}
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one)) < 0 || bind(fd, ai->ai_addr,
		    ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
			log_error("listen %s port %s: %s",
			    conf->listen[i].address, port, strerror(errno));
			if (fd >= 0)
				close(fd);
			freeaddrinfo(ai);
			return -1;
		}
		freeaddrinfo(ai);
		log_info("listening on %s port %s", conf->listen[i].address,
		    port);
		listen_fds[nlisten_fds++] = fd;
	}
	return 0;
}

static void
peer_name(const struct sockaddr_storage *ss, char *addr, size_t len,
    int *port)
{
	if (getnameinfo((const struct sockaddr *)ss, sizeof(*ss), addr,
	    (socklen_t)len, NULL, 0, NI_NUMERICHOST) != 0)
		snprintf(addr, len, "unknown");
	if (ss->ss_family == AF_INET)
		*port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	else if (ss->ss_family == AF_INET6)
		*port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	else
		*port = 0;
}

static void
serve_child(const struct config *conf, ssh_key hostkey, int fd,
    const char *addr, int port)
{
	int i;

	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < nlisten_fds; i++)
		close(listen_fds[i]);
	session_serve(conf, hostkey, fd, addr, port);
	_exit(0);
}

static void
reload(struct config **confp)
{
	struct config *fresh;

	log_info("SIGHUP: re-reading %s", (*confp)->path);
	fresh = config_load((*confp)->path, NULL, NULL);
	if (fresh == NULL) {
		log_error("the new configuration has errors (check it with"
		    " hvbastiond -n); the old one stays in force");
		return;
	}
	/* Listening addresses are bound once; the rest applies to new
	 * connections, and running sessions keep what they had. */
	config_free(*confp);
	*confp = fresh;
	log_info("configuration reloaded");
}

int
listener_run(struct config **confp, ssh_key hostkey)
{
	struct pollfd pfd[CONFIG_MAX_LISTEN];
	struct sigaction sa;
	int children = 0, i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	for (i = 0; i < nlisten_fds; i++) {
		pfd[i].fd = listen_fds[i];
		pfd[i].events = POLLIN;
	}
	while (!got_term) {
		if (got_chld) {
			got_chld = 0;
			while (waitpid(-1, NULL, WNOHANG) > 0)
				children--;
		}
		if (got_hup) {
			got_hup = 0;
			reload(confp);
		}
		if (poll(pfd, (nfds_t)nlisten_fds, 1000) <= 0)
			continue;
		for (i = 0; i < nlisten_fds; i++) {
			struct sockaddr_storage ss;
			socklen_t sl = sizeof(ss);
			char addr[64];
			int fd, port;
			pid_t pid;

			if (!(pfd[i].revents & POLLIN))
				continue;
			fd = accept4(listen_fds[i], (struct sockaddr *)&ss,
			    &sl, SOCK_CLOEXEC);
			if (fd < 0)
				continue;
			peer_name(&ss, addr, sizeof(addr), &port);
			if (children >= (*confp)->max_connections) {
				log_info("refusing %s port %d: %d connections"
				    " open (max-connections)", addr, port,
				    children);
				close(fd);
				continue;
			}
			pid = fork();
			if (pid == 0)
				serve_child(*confp, hostkey, fd, addr, port);
			if (pid < 0)
				log_error("fork: %s", strerror(errno));
			else
				children++;
			close(fd);
		}
	}
	log_info("terminating on signal; running sessions continue");
	return 0;
}
