/*
 * api_token_cli.c - personal API tokens from the command line (see
 * api_token.h).  The secret is shown once, at creation; only its hash is
 * kept.  Run it as the daemon's user: the store is in its state directory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api_token.h"
#include "api_token_cli.h"

static void
print_token(void *arg, const char *id, long created)
{
	FILE *out = arg;
	char when[32] = "-";
	time_t t = (time_t)created;
	struct tm tm;

	if (created > 0 && gmtime_r(&t, &tm) != NULL)
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(out, "%s\t%s\n", id, when);
}

int
api_token_cli_main(const struct config *conf, int argc, char **argv,
    FILE *out)
{
	char secret[API_TOKEN_SECRET_LEN + 1];
	const char *realm;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: hvbastion api-token create|revoke"
		    " PERSON TOKENID\n       hvbastion api-token list"
		    " PERSON\n");
		return 2;
	}
	if (config_find_user(conf, argv[1]) == NULL) {
		fprintf(stderr, "hvbastion: no user \"%s\" in %s\n", argv[1],
		    conf->path);
		return 1;
	}
	if (strcmp(argv[0], "list") == 0 && argc == 2) {
		rc = api_token_list(conf->state_dir, argv[1], print_token, out);
		if (rc < 0) {
			fprintf(stderr, "hvbastion: %s\n", strerror(-rc));
			return 1;
		}
		return 0;
	}
	if (argc != 3) {
		fprintf(stderr, "hvbastion: api-token %s PERSON TOKENID\n",
		    argv[0]);
		return 2;
	}
	/* The user id shown: "pve" when api-realms accepts it (any accepted
	 * realm works with the token), else the first realm listed. */
	realm = config_api_realm_ok(conf, "pve") || conf->napi_realms == 0 ?
	    "pve" : conf->api_realms[0];
	if (strcmp(argv[0], "create") == 0) {
		rc = api_token_create(conf->state_dir, argv[1], argv[2],
		    secret, sizeof(secret));
		if (rc < 0) {
			fprintf(stderr, "hvbastion: api-token create: %s\n",
			    rc == -EEXIST ? "this token exists already" :
			    rc == -EINVAL ? "invalid token id (a letter, then"
			    " letters, digits, '.', '_', '-')" :
			    strerror(-rc));
			return 1;
		}
		fprintf(out, "token %s@%s!%s created; its secret is shown"
		    " only now:\n", argv[1], realm, argv[2]);
		fprintf(out, "Authorization: PVEAPIToken=%s@%s!%s=%s\n",
		    argv[1], realm, argv[2], secret);
		fprintf(out, "secret %s\n", secret);
		explicit_bzero(secret, sizeof(secret));
		return 0;
	}
	if (strcmp(argv[0], "revoke") == 0) {
		rc = api_token_revoke(conf->state_dir, argv[1], argv[2]);
		if (rc < 0) {
			fprintf(stderr, "hvbastion: api-token revoke: %s\n",
			    rc == -ENOENT ? "no such token" : strerror(-rc));
			return 1;
		}
		fprintf(out, "token %s@%s!%s revoked\n", argv[1], realm,
		    argv[2]);
		return 0;
	}
	fprintf(stderr, "hvbastion: api-token: unknown command \"%s\"\n",
	    argv[0]);
	return 2;
}
