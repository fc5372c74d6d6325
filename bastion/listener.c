/*
 * listener.c - the master process.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_server.h"
#include "audit.h"
#include "audit_ship.h"
#include "keyholder.h"
#include "kh_client.h"
#include "ssh_monitor.h"
#include "listener.h"
#include "log.h"
#include "sandbox.h"
#include "session.h"

static int listen_fds[CONFIG_MAX_LISTEN + 1];
static int nlisten_fds;
/* The key holder (keyholder.h): its control socket and pid. */
static int kh_ctl = -1;
static pid_t kh_pid = -1;

void
listener_close(void)
{
	int i;

	for (i = 0; i < nlisten_fds; i++)
		close(listen_fds[i]);
	nlisten_fds = 0;
}

void
listener_set_keyholder(int ctl, pid_t pid)
{
	kh_ctl = ctl;
	kh_pid = pid;
}
/* The api-listen socket (issue 7), also in listen_fds; -1: none. */
static int api_fd = -1;

/*
 * Children, and for the ones still before authentication the read end of
 * a pipe that the child closes once the person is authenticated
 * (OpenSSH's startup pipe): that is how the master counts unauthenticated
 * connections for max-startups without reading any network data.
 */
struct child {
	pid_t	pid;
	int	startup_fd;	/* -1 once authenticated */
	char	source[64];
	int	port;
};
static struct child *children;
static int nchildren, children_cap, startups;
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

static int
bind_one(const char *address, int port)
{
	struct addrinfo hints, *ai = NULL;
	char ports[16];
	int fd, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	snprintf(ports, sizeof(ports), "%d", port);
	rc = getaddrinfo(address, ports, &hints, &ai);
	if (rc != 0) {
		log_error("listen %s port %s: %s", address, ports,
		    gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
	    sizeof(one)) < 0 || bind(fd, ai->ai_addr,
	    ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		log_error("listen %s port %s: %s", address, ports,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return -1;
	}
	freeaddrinfo(ai);
	return fd;
}

int
listener_open(const struct config *conf)
{
	size_t i;
	int fd;

	for (i = 0; i < conf->nlisten; i++) {
		if ((fd = bind_one(conf->listen[i].address,
		    conf->listen[i].port)) < 0)
			return -1;
		log_info("listening on %s port %d", conf->listen[i].address,
		    conf->listen[i].port);
		listen_fds[nlisten_fds++] = fd;
	}
	if (conf->api_listen_address != NULL) {
		if (api_server_prepare(conf) < 0 ||
		    (fd = bind_one(conf->api_listen_address,
		    conf->api_listen_port)) < 0)
			return -1;
		log_info("Proxmox API listening on %s port %d (HTTPS)",
		    conf->api_listen_address, conf->api_listen_port);
		api_fd = listen_fds[nlisten_fds++] = fd;
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
    const char *addr, int port, int startup_fd, int kh_fd, int api)
{
	char session_id[SESSION_ID_LEN + 1];
	int i;

	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < nlisten_fds; i++)
		close(listen_fds[i]);
	for (i = 0; i < nchildren; i++)
		if (children[i].startup_fd >= 0)
			close(children[i].startup_fd);
	if (kh_ctl >= 0)
		close(kh_ctl);
	kh_client_init(kh_fd);
	if (api) {
		/* The HTTPS side has no use for the SSH host key. */
		ssh_key_free(hostkey);
		api_server_serve(conf, fd, addr, port, startup_fd);
	}
	/* Only the API processes read the policy generation. */
	keyholder_generation_forget();
	if (ssh_monitor_split(conf, addr, port, startup_fd, session_id,
	    sizeof(session_id)) < 0)
		_exit(1);
	/* The network child (ssh_monitor.h); the monitor never returns. */
	session_serve(conf, hostkey, fd, addr, port, session_id);
	_exit(0);
}

static void
startup_done(struct child *c)
{
	if (c->startup_fd >= 0) {
		close(c->startup_fd);
		c->startup_fd = -1;
		startups--;
	}
}

static void
reap_children(void)
{
	pid_t pid;
	int i, status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		audit_ship_reaped(pid);
		/* A sandbox kill (sandbox.h) must show in the log. */
		sandbox_log_end(pid, status);
		if (pid == kh_pid) {
			/* Fail closed: no new session without it. */
			log_error("the key holder exited; stopping (running"
			    " sessions end when they need it)");
			kh_pid = -1;
			got_term = 1;
		}
		for (i = 0; i < nchildren; i++)
			if (children[i].pid == pid) {
				/* As sshd says it (the child's alarm handler
				 * can only _exit; session.h). */
				if (WIFEXITED(status) && WEXITSTATUS(status) ==
				    SESSION_EXIT_GRACE)
					log_info("timeout before authentication"
					    " for %s port %d"
					    " (login-grace-time)",
					    children[i].source,
					    children[i].port);
				startup_done(&children[i]);
				children[i] = children[--nchildren];
				break;
			}
	}
}

/*
 * OpenSSH's MaxStartups: past BEGIN unauthenticated connections, drop a
 * new one with a probability that grows from RATE% to 100% at FULL, so a
 * flood of connections that never authenticate cannot lock people out.
 */
static int
drop_startup(const struct config *conf)
{
	unsigned int r;
	int p;

	if (startups < conf->startups_begin)
		return 0;
	if (startups >= conf->startups_full)
		return 1;
	p = 100 - conf->startups_rate;
	p *= startups - conf->startups_begin;
	p /= conf->startups_full - conf->startups_begin;
	p += conf->startups_rate;
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		return 1;
	return (int)(r % 100) < p;
}

static int
source_startups(const char *addr)
{
	int i, n = 0;

	for (i = 0; i < nchildren; i++)
		if (children[i].startup_fd >= 0 &&
		    strcmp(children[i].source, addr) == 0)
			n++;
	return n;
}

static void
accept_one(int lfd, const struct config *conf, ssh_key hostkey)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char addr[64];
	int fd, port, pipefd[2], from_source, kh_fd, kh_end = -1;
	pid_t pid;

	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	peer_name(&ss, addr, sizeof(addr), &port);
	if (nchildren >= conf->max_connections) {
		log_info("refusing %s port %d: %d connections open"
		    " (max-connections)", addr, port, nchildren);
		close(fd);
		return;
	}
	from_source = source_startups(addr);
	if (from_source >= conf->startups_per_source) {
		log_info("dropping %s port %d: too many connections from this"
		    " address not yet authenticated"
		    " (max-startups-per-source)", addr, port);
		close(fd);
		return;
	}
	/*
	 * Early drop hits only addresses that already have a connection in
	 * authentication: a person opening one connection gets in while a
	 * flood from elsewhere is being thinned (until max-startups is full).
	 */
	if (startups >= conf->startups_full ||
	    (from_source > 0 && drop_startup(conf))) {
		log_info("dropping %s port %d: %d connections not yet"
		    " authenticated (max-startups)", addr, port, startups);
		close(fd);
		return;
	}
	if (nchildren >= children_cap) {
		int cap = children_cap ? children_cap * 2 : 64;
		struct child *tmp = realloc(children, (size_t)cap *
		    sizeof(*children));

		if (tmp == NULL) {
			close(fd);
			return;
		}
		children = tmp;
		children_cap = cap;
	}
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		log_error("pipe: %s", strerror(errno));
		close(fd);
		return;
	}
	if ((kh_fd = keyholder_child_socket(&kh_end)) < 0) {
		log_error("socketpair: %s", strerror(errno));
		close(pipefd[0]);
		close(pipefd[1]);
		close(fd);
		return;
	}
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		close(kh_end);
		serve_child(conf, hostkey, fd, addr, port, pipefd[1], kh_fd,
		    lfd == api_fd);
	}
	close(pipefd[1]);
	close(fd);
	close(kh_fd);
	if (pid < 0) {
		log_error("fork: %s", strerror(errno));
		close(pipefd[0]);
		close(kh_end);
		return;
	}
	if (keyholder_announce(kh_ctl, pid, addr, kh_end) < 0)
		log_error("cannot hand connection %ld to the key holder",
		    (long)pid);
	children[nchildren].pid = pid;
	children[nchildren].startup_fd = pipefd[0];
	snprintf(children[nchildren].source, sizeof(children[nchildren].source),
	    "%s", addr);
	children[nchildren].port = port;
	nchildren++;
	startups++;
}

void
listener_log_exceptions(const struct config *conf)
{
	size_t i;

	for (i = 0; i < conf->nexceptions; i++)
		log_info("separation exception: %s may hold both hypervisor-side"
		    " and guest-side roles: \"%s\" (%s:%d)",
		    conf->exceptions[i]->person, conf->exceptions[i]->reason,
		    conf->exceptions[i]->origin.file,
		    conf->exceptions[i]->origin.line);
}

static void
reload_error(void *arg, const char *msg)
{
	(void)arg;
	log_error("%s", msg);
}

static void
reload(struct config **confp)
{
	struct config *fresh;
	struct audit_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.kind = AUDIT_CONFIG_RELOAD;
	ev.action = "reload";
	ev.detail = (*confp)->path;
	log_info("SIGHUP: re-reading %s", (*confp)->path);
	keyholder_reload(kh_pid);
	fresh = config_load((*confp)->path, reload_error, NULL);
	if (fresh == NULL) {
		log_error("the new configuration has errors (check it with"
		    " hvbastiond -n); the old one stays in force");
		ev.outcome = "failure";
		audit_emit(&ev);
		return;
	}
	/* The new audit settings (collector, spool bound) apply now; the
	 * shipper starts again with them on the next tick. */
	if (audit_configure(fresh, "hvbastiond") < 0) {
		log_error("the new audit settings cannot be applied; the old"
		    " configuration stays in force");
		audit_configure(*confp, "hvbastiond");
		config_free(fresh);
		ev.outcome = "failure";
		audit_emit(&ev);
		return;
	}
	audit_ship_stop();
	ev.outcome = "success";
	audit_emit(&ev);
	listener_log_exceptions(fresh);
	/* Listening addresses are bound once; the rest applies to new
	 * connections, and running sessions keep what they had. */
	config_free(*confp);
	*confp = fresh;
	log_info("configuration reloaded");
}

int
listener_run(struct config **confp, ssh_key hostkey)
{
	struct pollfd *pfd = NULL;
	struct sigaction sa;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	audit_ship_start(*confp);

	while (!got_term) {
		struct pollfd *tmp;
		int n = 0;

		if (got_chld) {
			got_chld = 0;
			reap_children();
		}
		if (got_hup) {
			got_hup = 0;
			reload(confp);
			/* Whether the configuration reloaded or not: a
			 * renewed certificate must not wait for it. */
			api_server_reload_tls(*confp);
		}
		audit_ship_tick(*confp);
		tmp = realloc(pfd, (size_t)(nlisten_fds + nchildren) *
		    sizeof(*pfd));
		if (tmp == NULL) {
			sleep(1);
			continue;
		}
		pfd = tmp;
		for (i = 0; i < nlisten_fds; i++) {
			pfd[n].fd = listen_fds[i];
			pfd[n++].events = POLLIN;
		}
		for (i = 0; i < nchildren; i++) {
			pfd[n].fd = children[i].startup_fd;	/* -1: ignored */
			pfd[n++].events = POLLIN;
		}
		if (poll(pfd, (nfds_t)n, 1000) <= 0)
			continue;
		/* Children that authenticated (or died) close their pipe. */
		for (i = 0; i < nchildren; i++)
			if (pfd[nlisten_fds + i].fd >= 0 &&
			    pfd[nlisten_fds + i].revents != 0)
				startup_done(&children[i]);
		for (i = 0; i < nlisten_fds; i++)
			if (pfd[i].revents & POLLIN)
				accept_one(listen_fds[i], *confp, hostkey);
	}
	free(pfd);
	audit_ship_stop();
	log_info("terminating on signal; running sessions continue");
	return 0;
}
