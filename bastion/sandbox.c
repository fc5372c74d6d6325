/*
 * sandbox.c - seccomp, Landlock, rlimits for a set-up child (sandbox.h).
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <linux/landlock.h>
#include <seccomp.h>

#include "log.h"
#include "sandbox.h"

/*
 * Landlock, by raw syscalls: Debian 12's headers know ABI 2 at most, so
 * the later fields and rights are spelt out here (uapi values).
 */
struct hvb_landlock_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;	/* ABI 4 */
	uint64_t	scoped;			/* ABI 6 */
};

#define HVB_LL_FS_ABI1		((1ULL << 13) - 1)	/* EXECUTE..MAKE_SYM */
#define HVB_LL_FS_REFER		(1ULL << 13)		/* ABI 2 */
#define HVB_LL_FS_TRUNCATE	(1ULL << 14)		/* ABI 3 */
#define HVB_LL_FS_IOCTL_DEV	(1ULL << 15)		/* ABI 5 */
#define HVB_LL_NET_BIND_TCP	(1ULL << 0)		/* ABI 4 */
#define HVB_LL_NET_CONNECT_TCP	(1ULL << 1)
#define HVB_LL_SCOPE_ABSTRACT	(1ULL << 0)		/* ABI 6 */
#define HVB_LL_SCOPE_SIGNAL	(1ULL << 1)
#define HVB_LL_RULE_PATH_BENEATH 1

int
sandbox_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? 0 : (int)abi;
}

/*
 * A ruleset that handles every file right this ABI knows and, from ABI 4,
 * TCP bind and connect (nothing allowed until rules say so); scoped, from
 * ABI 6, abstract sockets and signals to this process.  An fd, or -1.
 */
static int
ruleset_create(int abi, int scoped)
{
	struct hvb_landlock_ruleset_attr ra;
	size_t size = sizeof(ra.handled_access_fs);
	int rfd;

	memset(&ra, 0, sizeof(ra));
	ra.handled_access_fs = HVB_LL_FS_ABI1;
	if (abi >= 2)
		ra.handled_access_fs |= HVB_LL_FS_REFER;
	if (abi >= 3)
		ra.handled_access_fs |= HVB_LL_FS_TRUNCATE;
	if (abi >= 5)
		ra.handled_access_fs |= HVB_LL_FS_IOCTL_DEV;
	if (abi >= 4) {
		ra.handled_access_net = HVB_LL_NET_BIND_TCP |
		    HVB_LL_NET_CONNECT_TCP;
		size = offsetof(struct hvb_landlock_ruleset_attr, scoped);
	}
	if (abi >= 6 && scoped) {
		ra.scoped = HVB_LL_SCOPE_ABSTRACT | HVB_LL_SCOPE_SIGNAL;
		size = sizeof(ra);
	}
	rfd = (int)syscall(SYS_landlock_create_ruleset, &ra, size, 0);
	if (rfd < 0)
		log_error("landlock_create_ruleset: %s", strerror(errno));
	return rfd;
}

/* Puts the ruleset in force for this process, and closes it: 0 or -1. */
static int
ruleset_apply(int rfd)
{
	int rc = 0;

	if (syscall(SYS_landlock_restrict_self, rfd, 0) < 0) {
		log_error("landlock_restrict_self: %s", strerror(errno));
		rc = -1;
	}
	close(rfd);
	return rc;
}

static int
landlock_enter(const char *write_dir, int allow_remove, int abi)
{
	struct landlock_path_beneath_attr pb;
	int rfd, dfd;

	if ((rfd = ruleset_create(abi, 1)) < 0)
		return -1;
	if (write_dir != NULL) {
		dfd = open(write_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			log_error("%s: %s", write_dir, strerror(errno));
			goto out;
		}
		memset(&pb, 0, sizeof(pb));
		/* READ_FILE: a compressed recording is created read-write;
		 * seccomp lets only new files (O_CREAT|O_EXCL) be opened. */
		pb.allowed_access = LANDLOCK_ACCESS_FS_WRITE_FILE |
		    LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_MAKE_REG;
		if (allow_remove)
			pb.allowed_access |= LANDLOCK_ACCESS_FS_REMOVE_FILE;
		pb.parent_fd = dfd;
		if (syscall(SYS_landlock_add_rule, rfd,
		    HVB_LL_RULE_PATH_BENEATH, &pb, 0) < 0) {
			log_error("landlock_add_rule: %s", strerror(errno));
			close(dfd);
			goto out;
		}
		close(dfd);
	}
	return ruleset_apply(rfd);
out:
	close(rfd);
	return -1;
}

/* The rights a Landlock rule may give to a file, or to a directory. */
#define HVB_LL_FILE_RIGHTS	(LANDLOCK_ACCESS_FS_EXECUTE | \
	LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_READ_FILE)
#define HVB_LL_RULE_NET_PORT	2

struct hvb_landlock_net_port_attr {
	uint64_t	allowed_access;
	uint64_t	port;
} __attribute__((packed));

static int
add_path_rule(int rfd, const struct sandbox_path *p, int abi)
{
	struct landlock_path_beneath_attr pb;
	struct stat sb;
	int fd, rc;

	if ((fd = open(p->path, O_PATH | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -1;
	memset(&pb, 0, sizeof(pb));
	pb.parent_fd = fd;
	pb.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE;
	if (fstat(fd, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		pb.allowed_access |= LANDLOCK_ACCESS_FS_READ_DIR;
		if (p->writable) {
			pb.allowed_access |= LANDLOCK_ACCESS_FS_WRITE_FILE |
			    LANDLOCK_ACCESS_FS_MAKE_REG |
			    LANDLOCK_ACCESS_FS_REMOVE_FILE;
			if (abi >= 3)
				pb.allowed_access |= HVB_LL_FS_TRUNCATE;
		}
	} else
		pb.allowed_access &= HVB_LL_FILE_RIGHTS;
	rc = (int)syscall(SYS_landlock_add_rule, rfd,
	    HVB_LL_RULE_PATH_BENEATH, &pb, 0);
	if (rc < 0)
		log_error("landlock_add_rule %s: %s", p->path, strerror(errno));
	close(fd);
	return rc < 0 ? -1 : 0;
}

int
sandbox_confine_files(const struct sandbox_path *paths, size_t n,
    const int *tcp_ports, size_t nports)
{
	struct hvb_landlock_net_port_attr np;
	int abi = sandbox_landlock_abi(), rfd;
	size_t i;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		log_error("sandbox: prctl: %s", strerror(errno));
		return -1;
	}
	if (abi <= 0)
		return 0;
	/* Scoped too: it signals nobody and uses no abstract socket (the
	 * master's SIGTERM still reaches it: scoping limits what it sends). */
	if ((rfd = ruleset_create(abi, 1)) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (add_path_rule(rfd, &paths[i], abi) < 0)
			goto out;
	for (i = 0; abi >= 4 && i < nports; i++) {
		memset(&np, 0, sizeof(np));
		np.allowed_access = HVB_LL_NET_CONNECT_TCP;
		np.port = (uint64_t)tcp_ports[i];
		if (syscall(SYS_landlock_add_rule, rfd, HVB_LL_RULE_NET_PORT,
		    &np, 0) < 0) {
			log_error("landlock_add_rule port %d: %s",
			    tcp_ports[i], strerror(errno));
			goto out;
		}
	}
	return ruleset_apply(rfd) < 0 ? -1 : 1;
out:
	close(rfd);
	return -1;
}

/* What every set-up child does, whatever it carries. */
static const int allowed[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64),
	SCMP_SYS(close), SCMP_SYS(fstat), SCMP_SYS(newfstatat),
	SCMP_SYS(lseek), SCMP_SYS(fsync), SCMP_SYS(fdatasync),
	/* The audit journal held open (audit_prepare_sandbox): its lock,
	 * and cutting a torn last line. */
	SCMP_SYS(flock), SCMP_SYS(ftruncate),
	/* libaudit asks whether it may write to the kernel (capget only
	 * reads: capset stays forbidden). */
	SCMP_SYS(capget),
	/* A new recording gets its mode and the auditors' group on its own
	 * descriptor (rec_file.c). */
	SCMP_SYS(fchmod), SCMP_SYS(fchown),
	SCMP_SYS(fcntl), SCMP_SYS(dup),
	SCMP_SYS(poll), SCMP_SYS(ppoll), SCMP_SYS(select),
	SCMP_SYS(pselect6),
	/* Sockets already open (client, targets, key holder). */
	SCMP_SYS(recvfrom), SCMP_SYS(recvmsg), SCMP_SYS(sendto),
	SCMP_SYS(sendmsg), SCMP_SYS(shutdown), SCMP_SYS(getsockopt),
	SCMP_SYS(setsockopt), SCMP_SYS(getsockname), SCMP_SYS(getpeername),
	/* Memory: malloc, OpenSSL, jansson (PROT_EXEC refused below). */
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(mremap), SCMP_SYS(madvise),
	/* Time, randomness, identity, signals, the end. */
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday), SCMP_SYS(time), SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(alarm), SCMP_SYS(getrandom),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getgid), SCMP_SYS(getegid),
	SCMP_SYS(getppid), SCMP_SYS(uname),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack), SCMP_SYS(futex),
	SCMP_SYS(sched_yield), SCMP_SYS(getrlimit),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
};

static int
seccomp_enter(int allow_syslog, int allow_remove)
{
	scmp_filter_ctx ctx;
	size_t i;
	int rc = -1;
	const uint64_t omask = O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC |
	    O_PATH;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return -1;
	/* Only this architecture's syscalls; another ABI (i386, x32) kills. */
	/* The kernel logs every kill (audit type SECCOMP); the EACCES of
	 * libssh's known_hosts probes would only be noise there. */
	if (seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
	    SCMP_ACT_KILL_PROCESS) < 0)
		goto out;
	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, allowed[i], 0) < 0)
			goto out;
	/* New recordings only: create, write-only, never an existing file. */
	/* ... read-write for a compressed one (rec_zstd.c reads back what
	 * it wrote), still only a file it creates. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, omask,
	    O_RDWR | O_CREAT | O_EXCL)) < 0)
		goto out;
	/* Removing the plain copy of a compressed recording (only with
	 * compress-recordings; Landlock, where the kernel has it, keeps it
	 * below the recordings directory): SECURITY.md. */
	if (allow_remove &&
	    (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unlink), 0) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(unlinkat), 0) < 0))
		goto out;
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(openat), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, omask,
	    O_WRONLY | O_CREAT | O_EXCL)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(openat), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, O_ACCMODE, O_RDONLY)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2),
	    0) < 0)
		goto out;
	/* libaudit names the executable from /proc/self/exe when a record
	 * is written after set-up (the API child's logins): refused, it
	 * writes "exe=?" and nothing is read. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES), SCMP_SYS(readlink),
	    0) < 0 || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EACCES),
	    SCMP_SYS(readlinkat), 0) < 0)
		goto out;
	/* Mappings, never executable. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)) < 0)
		goto out;
	/* abort() signals itself; nobody else. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (uint64_t)getpid())) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(kill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (uint64_t)getpid())) < 0)
		goto out;
	/* libaudit (libcap-ng) reads the bounding and ambient sets when the
	 * kernel refuses a record: reads only. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_EQ, PR_CAPBSET_READ)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 2,
	    SCMP_A0(SCMP_CMP_EQ, PR_CAP_AMBIENT),
	    SCMP_A1(SCMP_CMP_EQ, PR_CAP_AMBIENT_IS_SET)) < 0)
		goto out;
	/* prlimit64 to read limits only. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
	    SCMP_A2(SCMP_CMP_EQ, 0)) < 0)
		goto out;
	/*
	 * syslog(3) reconnects to /dev/log when its socket broke: a local
	 * datagram socket, no network (the daemon runs with -D under systemd
	 * and logs to stderr, where this is not needed).
	 */
	if (allow_syslog &&
	    (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
	    SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
	    SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM)) < 0 ||
	    seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(connect), 0) < 0))
		goto out;
	if (seccomp_load(ctx) < 0)
		goto out;
	rc = 0;
out:
	seccomp_release(ctx);
	return rc;
}

/* The architecture this binary was built for, as libseccomp names it. */
static uint32_t
built_arch(void)
{
#if defined(__x86_64__) && !defined(__ILP32__)
	return SCMP_ARCH_X86_64;
#elif defined(__aarch64__)
	return SCMP_ARCH_AARCH64;
#elif defined(__i386__)
	return SCMP_ARCH_X86;
#else
	return 0;
#endif
}

int
sandbox_enter(const struct sandbox_spec *spec)
{
	struct rlimit rl;
	int abi;

	if (built_arch() == 0 || seccomp_arch_native() != built_arch()) {
		log_error("sandbox: unexpected architecture; refusing to run"
		    " unconfined");
		return -1;
	}
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
	    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
		log_error("sandbox: prctl: %s", strerror(errno));
		return -1;
	}
	rl.rlim_cur = rl.rlim_max = 0;
	if (setrlimit(RLIMIT_NPROC, &rl) < 0 ||
	    setrlimit(RLIMIT_CORE, &rl) < 0) {
		log_error("sandbox: setrlimit: %s", strerror(errno));
		return -1;
	}
	rl.rlim_cur = rl.rlim_max = (rlim_t)spec->max_fds;
	if (spec->max_fds > 0 && setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		log_error("sandbox: RLIMIT_NOFILE: %s", strerror(errno));
		return -1;
	}
	if ((abi = sandbox_landlock_abi()) > 0 &&
	    landlock_enter(spec->write_dir, spec->allow_remove, abi) < 0)
		return -1;
	if (seccomp_enter(spec->allow_syslog, spec->allow_remove) < 0) {
		log_error("sandbox: seccomp filter could not be loaded");
		return -1;
	}
	return 0;
}

void
sandbox_log_end(pid_t pid, int status)
{
	if (WIFSIGNALED(status))
		log_error("process %ld killed by signal %d%s", (long)pid,
		    WTERMSIG(status), WTERMSIG(status) == SIGSYS ?
		    " (SIGSYS: a system call the sandbox forbids)" : "");
}

int
sandbox_wait(pid_t pid)
{
	int status = 0;

	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	sandbox_log_end(pid, status);
	return status;
}
