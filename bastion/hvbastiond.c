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

#include <openssl/ssl.h>

#include "../recorder/rec_file.h"
#include "../recorder/seal.h"
#include "api_tls.h"
#include "audit.h"
#include "config.h"
#include "keyholder.h"
#include "config_recording.h"
#include "listener.h"
#include "log.h"
#include "privdrop.h"
#include "ssh_server.h"

#define DEFAULT_CONFIG	"/etc/hvbastion/hvbastion.conf"

static void
usage(void)
{
	fprintf(stderr, "usage: hvbastiond [-dDn] [-f file] [-u user]\n"
	    "  -f file  configuration (default " DEFAULT_CONFIG ")\n"
	    "  -u user  run as this user once started (default "
	    PRIVDROP_DEFAULT_USER "; root: do not drop)\n"
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
 * The sealing key is the key holder's (keyholder.h): it creates it on
 * first start, and children ask it for seals over their socketpair.  The
 * master only checks here that it can be read or created, so that a
 * broken state directory stops the start, not the first session.
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

/* Recordings readable by the auditors' group alone (rec_file.h). */
static int
recordings_rights(const struct config *conf)
{
	size_t n = strlen(conf->state_dir);
	const char *parent = NULL;
	struct stat sb;
	char why[300];
	gid_t gid = (gid_t)-1;
	int rc;

	if ((rc = config_auditor_gid(conf, &gid, why, sizeof(why))) < 0) {
		log_error("%s", why);
		return -1;
	}
	rec_file_set_group(rc == 1 ? gid : (gid_t)-1);
	/* The default place, STATE/recordings: auditors pass through. */
	if (strncmp(conf->recordings_dir, conf->state_dir, n) == 0 &&
	    conf->recordings_dir[n] == '/' &&
	    strchr(conf->recordings_dir + n + 1, '/') == NULL)
		parent = conf->state_dir;
	if (rec_file_prepare_dir(conf->recordings_dir, parent) < 0) {
		log_error("cannot set the rights of %s: %s",
		    conf->recordings_dir, strerror(errno));
		return -1;
	}
	if (stat(conf->recordings_dir, &sb) < 0) {
		log_error("%s: %s", conf->recordings_dir, strerror(errno));
		return -1;
	}
	if (rc == 1)
		log_info("recordings readable by group %s (gid %u)",
		    conf->auditor_group != NULL ? conf->auditor_group :
		    CONFIG_AUDITOR_GROUP_DEFAULT, (unsigned)gid);
	else
		log_info("no group %s: %s keeps mode %04o, gid %u",
		    CONFIG_AUDITOR_GROUP_DEFAULT, conf->recordings_dir,
		    (unsigned)(sb.st_mode & 07777), (unsigned)sb.st_gid);
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

/*
 * -n: the API front's certificate and key, loaded as the daemon will
 * load them (mode, chain, key matching it, key type): an error here would
 * otherwise show only at start.
 */
static int
check_api_tls(const struct config *conf)
{
	char err[512];
	SSL_CTX *ctx;

	if (conf->api_listen_address == NULL)
		return 0;
	if ((ctx = api_tls_server_ctx(conf, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	SSL_CTX_free(ctx);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *path = DEFAULT_CONFIG, *user = PRIVDROP_DEFAULT_USER;
	int ch, check = 0, foreground = 0, debug = 0, kh_ctl;
	struct config *conf;
	struct privdrop pd;
	ssh_key hostkey = NULL;
	pid_t kh_pid;

	while ((ch = getopt(argc, argv, "dDf:nu:")) != -1) {
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
		case 'u':
			user = optarg;
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
	config_set_daemon_user(user);
	if ((conf = config_load(path, print_error, NULL)) == NULL)
		return 1;
	if (check) {
		if (check_api_tls(conf) < 0) {
			config_free(conf);
			return 1;
		}
		printf("configuration OK\n");
		config_free(conf);
		return 0;
	}
	listener_log_exceptions(conf);
	/* The daemon never reads the environment's SSH agent or configs. */
	unsetenv("SSH_AUTH_SOCK");
	if (privdrop_init(&pd, user) < 0) {
		log_error("-u %s: not a valid user name", user);
		config_free(conf);
		return 1;
	}
	pd.keep_audit_write = !conf->audit_libaudit_off;
	/* Root only for what follows; the sessions write as the user. */
	if (ensure_private_dir(conf->state_dir) < 0 ||
	    ensure_private_dir(conf->recordings_dir) < 0 ||
	    privdrop_own_dir(&pd, conf->state_dir) < 0 ||
	    privdrop_own_dir(&pd, conf->recordings_dir) < 0 ||
	    recordings_rights(conf) < 0 ||
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
	if ((kh_ctl = keyholder_start(conf, &pd, listener_close,
	    &kh_pid)) < 0 ||
	    privdrop_apply(&pd) < 0) {
		config_free(conf);
		return 1;
	}
	if (pd.active)
		log_info("running as user %s", pd.user);
	listener_set_keyholder(kh_ctl, kh_pid);
	listener_run(&conf, hostkey);
	ssh_key_free(hostkey);
	config_free(conf);
	return 0;
}
