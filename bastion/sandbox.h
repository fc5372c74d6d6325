/*
 * sandbox.h - what a per-connection child may still do once it is set up.
 *
 * Entered by the SSH network child before the key exchange (session.c)
 * and by the HTTPS API network child before its TLS handshake
 * (api_server.c): nothing in it is SSH-specific.
 * In order:
 *   - PR_SET_NO_NEW_PRIVS and PR_SET_DUMPABLE 0;
 *   - rlimits: no new process (RLIMIT_NPROC 0), no core, a bounded
 *     number of descriptors;
 *   - Landlock where the kernel offers it (ABI probed with
 *     LANDLOCK_CREATE_RULESET_VERSION): no file may be read, executed or
 *     changed anywhere; new files may be created and written only below
 *     spec->write_dir (the recordings); from ABI 4 no TCP bind or connect;
 *     from ABI 6 no signal or abstract socket outside the process;
 *   - seccomp (libseccomp), default deny with SECCOMP_RET_KILL_PROCESS,
 *     logged by the kernel, native architecture only (any other ABI, x32
 *     included, kills): the syscalls the event loop, libssh, OpenSSL,
 *     jansson and the recorder need.  No execve, no fork, no socket,
 *     connect, bind or listen (the key holder hands over connected
 *     sockets); openat only to create a new file (O_WRONLY|O_CREAT|O_EXCL),
 *     reading opens fail with EACCES (libssh probes known_hosts files),
 *     anything else kills; no PROT_EXEC mapping.
 * Returns 0, or -1 when the sandbox could not be set up: the caller ends
 * the connection (fail closed).
 */
#ifndef HVB_SANDBOX_H
#define HVB_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

struct sandbox_spec {
	const char	*write_dir;	/* new files only below it; or NULL */
	int		 allow_syslog;	/* keep syslog(3) able to reconnect */
	int		 max_fds;	/* RLIMIT_NOFILE */
	/* compress-recordings: the plain copy of a compressed recording is
	 * removed, so removal below write_dir is allowed too. */
	int		 allow_remove;
};

int	sandbox_enter(const struct sandbox_spec *);

/*
 * A child's end, as the master and the monitors report it: a kill by a
 * signal is logged (SIGSYS: a system call the sandbox forbids), so that a
 * sandbox kill always shows.  sandbox_wait() waits for pid first and
 * returns its wait status.
 */
void	sandbox_log_end(pid_t pid, int status);
int	sandbox_wait(pid_t pid);

/*
 * Files only, for a process that keeps its network (the audit shipper):
 * PR_SET_NO_NEW_PRIVS, then Landlock with nothing reachable but paths[]
 * (read-only, or read-write below a directory), from ABI 4 TCP
 * connections to tcp_ports[] only (no bind), from ABI 6 no signal or
 * abstract socket outside the process.  A path that does not exist
 * is left out.  1 when Landlock is in force, 0 when the kernel has none
 * (said in the log by the caller), -1 on failure.
 */
struct sandbox_path {
	const char	*path;
	int		 writable;	/* a directory: files made, written,
					 * renamed and removed below it */
};
int	sandbox_confine_files(const struct sandbox_path *paths, size_t n,
	    const int *tcp_ports, size_t nports);
/* The Landlock ABI of this kernel, 0 when it has none (for the logs). */
int	sandbox_landlock_abi(void);

#endif
