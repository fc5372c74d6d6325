/*
 * hvbastion.c - the command line for admins, auditors and security teams.
 *
 * Today: "config check" (same as hvbastiond -n), "policy check" and
 * "policy explain" (policy_cli.c), "recordings" (list the recordings
 * directory), "totp enroll", and the auditors' "sessions", "replay" and
 * "verify" (audit_cli.c).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "audit_admin.h"
#include "audit_cli.h"
#include "config.h"
#include "api_token_cli.h"
#include "log.h"
#include "policy_cli.h"
#include "totp_enroll.h"

#define DEFAULT_CONFIG	"/etc/hvbastion/hvbastion.conf"

static void
usage(void)
{
	fprintf(stderr, "usage: hvbastion [-f file] config check\n"
	    "       hvbastion [-f file] policy check\n"
	    "       hvbastion [-f file] policy explain PERSON [LOGIN@]TARGET"
	    " [--channel KIND]\n"
	    "           [--forward HOST:PORT] [--from ADDRESS]"
	    " [--at \"YYYY-MM-DD HH:MM\"] [--json]\n"
	    "       hvbastion [-f file] recordings\n"
	    "       hvbastion [-f file] sessions [--person P] [--target T]"
	    " [--since DATE]\n"
	    "           [--until DATE] [--grep TEXT] [--json]\n"
	    "       hvbastion [-f file] replay ID [--speed X] [--idle-cap S]"
	    " [--cat]\n"
	    "       hvbastion [-f file] verify ID|--all|--audit\n"
	    "       hvbastion [-f file] audit status [--json]\n"
	    "       hvbastion [-f file] audit test [--sessions N]"
	    " [--pause-every K]\n"
	    "       hvbastion [-f file] audit archive\n"
	    "       hvbastion [-f file] totp enroll [--json] [--dir DIR]"
	    " PERSON\n"
	    "       hvbastion [-f file] api-token create|revoke PERSON"
	    " TOKENID\n"
	    "       hvbastion [-f file] api-token list PERSON\n");
	exit(2);
}

static void
print_error(void *arg, const char *msg)
{
	(void)arg;
	fprintf(stderr, "%s\n", msg);
}

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
list_recordings(const struct config *conf)
{
	DIR *d = opendir(conf->recordings_dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;

	if (d == NULL) {
		perror(conf->recordings_dir);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		char **tmp;

		if (de->d_name[0] == '.')
			continue;
		if ((tmp = realloc(names, (n + 1) * sizeof(*names))) == NULL)
			break;
		names = tmp;
		if ((names[n] = strdup(de->d_name)) != NULL)
			n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp);
	for (i = 0; i < n; i++) {
		printf("%s/%s\n", conf->recordings_dir, names[i]);
		free(names[i]);
	}
	free(names);
	return 0;
}

int
main(int argc, char *argv[])
{
	const char *path = DEFAULT_CONFIG;
	struct config *conf;
	int i = 1, rc;

	if (argc > 2 && strcmp(argv[1], "-f") == 0) {
		path = argv[2];
		i = 3;
	}
	if (i >= argc)
		usage();
	/* policy loads the file itself: its exit statuses differ. */
	if (strcmp(argv[i], "policy") == 0)
		return policy_cli_main(path, argc - i - 1, argv + i + 1,
		    stdout);
	if (strcmp(argv[i], "sessions") == 0 ||
	    strcmp(argv[i], "replay") == 0 || strcmp(argv[i], "verify") == 0)
		config_readers_mode();
	if ((conf = config_load(path, print_error, NULL)) == NULL)
		return 1;
	if (strcmp(argv[i], "config") == 0 && i + 1 < argc &&
	    strcmp(argv[i + 1], "check") == 0) {
		printf("configuration OK\n");
		rc = 0;
	} else if (strcmp(argv[i], "recordings") == 0)
		rc = list_recordings(conf);
	else if (strcmp(argv[i], "sessions") == 0)
		rc = audit_cli_sessions(conf, argc - i - 1, argv + i + 1,
		    stdout);
	else if (strcmp(argv[i], "replay") == 0)
		rc = audit_cli_replay(conf, argc - i - 1, argv + i + 1, stdout);
	else if (strcmp(argv[i], "verify") == 0 && i + 2 == argc &&
	    strcmp(argv[i + 1], "--audit") == 0)
		rc = audit_admin_verify(conf, stdout);
	else if (strcmp(argv[i], "audit") == 0)
		rc = audit_admin_main(conf, argc - i - 1, argv + i + 1, stdout);
	else if (strcmp(argv[i], "verify") == 0)
		rc = audit_cli_verify(conf, argc - i - 1, argv + i + 1, stdout);
	else if (strcmp(argv[i], "totp") == 0 && i + 1 < argc &&
	    strcmp(argv[i + 1], "enroll") == 0) {
		/* The enrolment is audited (the journal, the log store);
		 * only errors on stderr, next to the secret. */
		log_init("hvbastion", 1, LOG_LEVEL_ERROR);
		rc = audit_configure(conf, "hvbastion") < 0 ? 1 :
		    totp_enroll_main(conf, argc - i - 2, argv + i + 2, stdout);
	}
	else if (strcmp(argv[i], "api-token") == 0)
		rc = api_token_cli_main(conf, argc - i - 1, argv + i + 1,
		    stdout);
	else {
		config_free(conf);
		usage();
		return 2;
	}
	config_free(conf);
	return rc;
}
