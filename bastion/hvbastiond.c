/*
 * hvbastiond.c - the daemon's entry point: options, configuration, state
 * directory, host key, then the listener.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>

#include "../recorder/seal.h"
#include "audit.h"
#include "config.h"
#include "listener.h"
#include "log.h"
#include "ssh_server.h"

#define DEFAULT_CONFIG	"/etc/hvbastion/hvbastion.conf"

static void
usage(void)
{
	fprintf(stderr, "usage: hvbastiond [-dDn] [-f file]\n"
	    "  -f file  configuration (default " DEFAULT_CONFIG ")\n"
	    "  -n       check the configuration and exit\n"
	    "  -D       stay in the foreground, log to stderr\n"
	    "  -d       debug logging (implies -D)\n");
	exit(2);
}

static void
print_error(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s\n", msg);
}

/* Creates dir (mode 0700) if missing; refuses one others can write. */
static void
log_seal(const char *basename, const char *desc)
{
	log_info("recording %s sealed: %s", basename, desc);
}

/*
 * The master creates the sealing key on first start.  Today the children
 * inherit it and seal in process (everything runs as root); with privilege
 * separation (issue 8) the key stays here and children ask for seals over
 * their socketpair (seal_set_signer()).
 */
static int
init_seal(const char *state_dir)
{
	unsigned char key[SEAL_KEY_LEN];
	char msg[512];

	if (seal_key_load(state_dir, 1, key, msg, sizeof(msg)) < 0) {
		log_error("%s", msg);
		return -1;
	}
	seal_use_key(key);
	explicit_bzero(key, sizeof(key));
	seal_set_notify(log_seal);
	return 0;
}

static int
ensure_private_dir(const char *dir)
{
	struct stat sb;

	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		log_error("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	if (lstat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		log_error("%s is not a directory", dir);
		return -1;
	}
	if ((sb.st_mode & 022) != 0) {
		log_error("%s is writable by others (mode %04o)", dir,
		    (unsigned)(sb.st_mode & 07777));
		return -1;
	}
	return 0;
}

static int
daemonize(void)
{
	pid_t pid = fork();
	int fd;

	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	return chdir("/");
}

int
main(int argc, char *argv[])
{
	const char *path = DEFAULT_CONFIG;
	int ch, check = 0, foreground = 0, debug = 0;
	struct config *conf;
	ssh_key hostkey = NULL;

	while ((ch = getopt(argc, argv, "dDf:n")) != -1) {
		switch (ch) {
		case 'd':
			debug = foreground = 1;
			break;
		case 'D':
			foreground = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'n':
			check = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("hvbastiond", foreground || check,
	    debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	umask(077);
	if ((conf = config_load(path, print_error, NULL)) == NULL)
		return 1;
	if (check) {
		printf("configuration OK\n");
		config_free(conf);
		return 0;
	}
	listener_log_exceptions(conf);
	/* The daemon never reads the environment's SSH agent or configs. */
	unsetenv("SSH_AUTH_SOCK");
	if (ensure_private_dir(conf->state_dir) < 0 ||
	    ensure_private_dir(conf->recordings_dir) < 0 ||
	    ssh_server_host_key(conf->state_dir, &hostkey) < 0 ||
	    init_seal(conf->state_dir) < 0 ||
	    audit_configure(conf, "hvbastiond") < 0 ||
	    listener_open(conf) < 0) {
		config_free(conf);
		return 1;
	}
	if (!foreground && daemonize() < 0) {
		log_error("cannot become a daemon: %s", strerror(errno));
		return 1;
	}
	listener_run(&conf, hostkey);
	ssh_key_free(hostkey);
	config_free(conf);
	return 0;
}
