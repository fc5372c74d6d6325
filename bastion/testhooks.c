/*
 * testhooks.c - see testhooks.h.  Test build only.
 */
#ifndef HVB_TEST_HOOKS
#error "testhooks.c belongs to the test build only"
#endif

#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "api_monitor.h"
#include "api_server.h"
#include "api_tls_key.h"
#include "api_verdict.h"
#include "keyholder.h"
#include "kh_client.h"
#include "kh_proto.h"
#include "log.h"
#include "ssh_monitor.h"
#include "testhooks.h"

/* The action for person in HVB_TEST_HOOKS, copied into act; 0 if none. */
static int
find_action(const char *person, char *act, size_t len)
{
	const char *env = getenv("HVB_TEST_HOOKS"), *p, *end;
	size_t pl = strlen(person);

	for (p = env; p != NULL && *p != '\0'; p = end + (*end == ',')) {
		end = strchr(p, ',');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)(end - p) > pl + 1 && strncmp(p, person, pl) == 0 &&
		    p[pl] == '=' && (size_t)(end - p - (long)pl - 1) < len) {
			memcpy(act, p + pl + 1, (size_t)(end - p) - pl - 1);
			act[(size_t)(end - p) - pl - 1] = '\0';
			return 1;
		}
	}
	return 0;
}

static const struct config_target *
first_target(const struct config *conf, const char *name)
{
	if (name != NULL)
		return config_find_target(conf, name);
	return conf->ntargets > 0 ? conf->targets[0] : NULL;
}

static void
try_open(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd >= 0)
		log_error("test hook: open: %s: SUCCEEDED (sandbox broken)",
		    path);
	else
		log_info("test hook: open: %s: refused: %s", path,
		    strerror(errno));
}

static void
kh_ask(const struct config *conf, const char *target, const char *tag)
{
	const struct config_target *t = first_target(conf, target);
	char why[256];
	int tcp, agent, rc;

	if (t == NULL || t->ncredentials == 0) {
		log_error("test hook: %s: no target %s", tag, target);
		return;
	}
	rc = kh_client_connect(t->name, t->credentials[0]->name, 10, &tcp,
	    &agent, why, sizeof(why));
	if (rc == 0) {
		log_info("test hook: %s: key holder GRANTED %s", tag,
		    t->name);
		close(tcp);
		close(agent);
	} else
		log_info("test hook: %s: key holder %s %s (%s)", tag,
		    rc == -2 ? "refused" : "failed", t->name, why);
}

static void
kh_sign(const struct config *conf)
{
	const struct config_target *t = first_target(conf, NULL);
	unsigned char req[64], rep[16];
	char why[256];
	int tcp, agent;
	ssize_t n;

	if (t == NULL || kh_client_connect(t->name, t->credentials[0]->name,
	    10, &tcp, &agent, why, sizeof(why)) != 0) {
		log_error("test hook: kh-sign: no agent socket (%s)", why);
		return;
	}
	/* SIGN_REQUEST: empty key blob, 8 bytes of data, flags 0. */
	memset(req, 0, sizeof(req));
	req[3] = 1 + 4 + 0 + 4 + 8 + 4;
	req[4] = KH_AGENTC_SIGN_REQUEST;
	req[12] = 8;
	memcpy(req + 13, "anything", 8);
	if (write(agent, req, 4 + req[3]) != 4 + req[3] ||
	    (n = read(agent, rep, sizeof(rep))) < 5)
		log_info("test hook: kh-sign: agent closed the socket");
	else
		log_info("test hook: kh-sign: agent answered type %u%s", rep[4],
		    rep[4] == KH_AGENT_FAILURE ? " (failure)" : " (SIGNED)");
	close(tcp);
	close(agent);
}

static void
kh_api(char *arg)
{
	char header[512], *priv = strchr(arg, ':'), *eq;

	if (priv != NULL)
		*priv++ = '\0';
	if (kh_client_api_auth(arg, priv, NULL, header, sizeof(header)) == 0) {
		/* "PVEAPIToken=ID=SECRET": the id only. */
		if ((eq = strchr(header + 12, '=')) != NULL)
			*eq = '\0';
		log_info("test hook: kh-api: %s: key holder GRANTED %s", arg,
		    header);
	} else
		log_info("test hook: kh-api: %s: key holder refused", arg);
	explicit_bzero(header, sizeof(header));
}

void
testhooks_after_sandbox(const struct config *conf, const char *person)
{
	char act[256], *arg;

	if (!find_action(person, act, sizeof(act)))
		return;
	log_info("test hook: %s: %s", person, act);
	arg = strchr(act, ':');
	if (arg != NULL)
		*arg++ = '\0';
	if (strcmp(act, "open-key") == 0 && conf->ncredentials > 0)
		try_open(conf->credentials[0]->key_file);
	else if (strcmp(act, "open-file") == 0 && arg != NULL)
		try_open(arg);
	else if (strcmp(act, "exec") == 0) {
		char *argv[] = { (char *)"/bin/true", NULL };

		execv(argv[0], argv);
		log_error("test hook: exec: returned: %s", strerror(errno));
	} else if (strcmp(act, "socket") == 0) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);

		log_error("test hook: socket: returned %d (%s)", fd,
		    fd < 0 ? strerror(errno) : "SUCCEEDED");
	} else if (strcmp(act, "kh-target") == 0 && arg != NULL)
		kh_ask(conf, arg, "kh-target");
	else if (strcmp(act, "kh-person") == 0 && arg != NULL) {
		char *target = strchr(arg, ':');

		if (target == NULL)
			return;
		*target++ = '\0';
		kh_ask(conf, NULL, "kh-person (own)");
		kh_client_identity(arg, "hook-session");
		kh_ask(conf, target, "kh-person (other)");
	} else if (strcmp(act, "kh-garbage") == 0) {
		unsigned char junk[3] = { 0x7f, 0, 1 };
		char c;

		if (send(kh_client_fd(), junk, sizeof(junk), 0) < 0 ||
		    recv(kh_client_fd(), &c, 1, 0) <= 0)
			log_info("test hook: kh-garbage: key holder closed"
			    " the socket");
		else
			log_error("test hook: kh-garbage: key holder"
			    " ANSWERED");
	} else if (strcmp(act, "kh-api") == 0 && arg != NULL)
		kh_api(arg);
	else if (strcmp(act, "kh-sign") == 0)
		kh_sign(conf);
	else
		log_error("test hook: unknown action %s", act);
	_exit(3);
}

/* Opens each of several paths, ';' between them. */
static void
try_open_list(char *list)
{
	char *p, *next;

	for (p = list; p != NULL; p = next) {
		if ((next = strchr(p, ';')) != NULL)
			*next++ = '\0';
		try_open(p);
	}
}

void
testhooks_shipper(void)
{
	char act[1024];

	if (!find_action("shipper", act, sizeof(act)) ||
	    strncmp(act, "open-file:", 10) != 0)
		return;
	try_open_list(act + 10);
}

/* A child taken over before authentication says it is person. */
static void
preauth_claim(const struct config *conf, const char *person)
{
	const struct config_user *u = config_find_user(conf, person);
	char fp[128] = "none", why[256];
	ssh_key k = NULL;
	int fd;

	/* Its first public key (in the configuration the child holds):
	 * the monitor cannot check a signature libssh checked. */
	if (u != NULL && u->npublic_keys > 0 &&
	    keys_import_line(u->public_keys[0], &k) == 0) {
		keys_fingerprint(k, fp, sizeof(fp));
		ssh_key_free(k);
	}
	if (ssh_mon_key(person, fp, why, sizeof(why)) == 0)
		log_info("test hook: preauth-claim: key step for %s:"
		    " accepted", person);
	else
		log_info("test hook: preauth-claim: key step for %s:"
		    " refused: %s", person, why);
	if ((fd = ssh_mon_done(person, "", "", why, sizeof(why))) >= 0)
		log_error("test hook: preauth-claim: end of authentication"
		    " for %s: GRANTED", person);
	else
		log_info("test hook: preauth-claim: end of authentication"
		    " for %s: refused: %s", person, why);
	log_info("test hook: preauth-claim: key holder socket: %s",
	    kh_client_fd() >= 0 || fd >= 0 ? "HELD" : "none");
}

void
testhooks_preauth(const struct config *conf, const char *login)
{
	char act[1024];

	if (!find_action(login, act, sizeof(act)) ||
	    strncmp(act, "preauth-", 8) != 0)
		return;
	log_info("test hook: %s: %s", login, act);
	if (strncmp(act, "preauth-open:", 13) == 0)
		try_open_list(act + 13);
	else if (strncmp(act, "preauth-claim:", 14) == 0)
		preauth_claim(conf, act + 14);
	else
		log_error("test hook: unknown action %s", act);
	_exit(3);
}

int
testhooks_separation_off(void)
{
	const char *v = getenv("HVB_TEST_SEPARATION");

	return v != NULL && strcmp(v, "off") == 0;
}

int
testhooks_sandbox_off(void)
{
	const char *v = getenv("HVB_TEST_SEPARATION");

	return testhooks_separation_off() ||
	    (v != NULL && strcmp(v, "sandbox-off") == 0);
}

/*
 * upstream_connect() as it was before the key holder (34744d7): libssh
 * connects to the target itself, the pinned host key is checked, then
 * the child reads the private key file and signs the authentication.
 */
int
testhooks_upstream_connect(const struct config *conf,
    const struct config_target *t, const struct config_credential *c,
    struct upstream **out, char *why, size_t whylen)
{
	struct upstream *up = NULL;
	ssh_key pin = NULL, seen = NULL, priv = NULL;
	int rc = UPSTREAM_INTERNAL;

	*out = NULL;
	snprintf(why, whylen, "internal error");
	if (keys_import_line(t->host_key, &pin) < 0 ||
	    (up = calloc(1, sizeof(*up))) == NULL ||
	    (up->ssh = ssh_new()) == NULL ||
	    upstream_set_options(up->ssh, conf, t, c, ssh_key_type(pin)) < 0)
		goto out;
	up->target = t;
	up->credential = c;
	if (ssh_connect(up->ssh) != SSH_OK) {
		snprintf(why, whylen, "cannot connect to target %s", t->name);
		rc = UPSTREAM_CONNECT_FAILED;
		goto out;
	}
	if (ssh_get_server_publickey(up->ssh, &seen) != SSH_OK ||
	    ssh_key_cmp(seen, pin, SSH_KEY_CMP_PUBLIC) != 0) {
		snprintf(why, whylen, "host key mismatch for %s", t->name);
		rc = UPSTREAM_HOSTKEY_MISMATCH;
		goto out;
	}
	if (ssh_pki_import_privkey_file(c->key_file, NULL, NULL, NULL,
	    &priv) != SSH_OK ||
	    ssh_userauth_publickey(up->ssh, NULL, priv) != SSH_AUTH_SUCCESS) {
		log_error("test hook: separation off: %s: cannot authenticate"
		    " with %s: %s", t->name, c->key_file,
		    ssh_get_error(up->ssh));
		snprintf(why, whylen, "target %s refused the bastion's"
		    " credential", t->name);
		rc = UPSTREAM_AUTH_FAILED;
		goto out;
	}
	rc = UPSTREAM_OK;
	*out = up;
	up = NULL;
out:
	ssh_key_free(priv);	/* ssh_key_free wipes the private parts */
	ssh_key_free(seen);
	ssh_key_free(pin);
	upstream_free(up);
	return rc;
}

static void
mon_token(char *arg)
{
	struct api_mon_msg rep;
	char *priv = strchr(arg, ':'), *eq;

	if (priv != NULL)
		*priv++ = '\0';
	if (api_mon_auth(API_MON_CRED_SAME, "", NULL, API_MON_WANT_TOKEN, arg,
	    priv, NULL, &rep) == 0 && rep.token_status == API_MON_OK) {
		/* "PVEAPIToken=ID=SECRET": the id only. */
		if ((eq = strchr(rep.header + 12, '=')) != NULL)
			*eq = '\0';
		log_info("test hook: mon-token: %s: monitor GRANTED %s", arg,
		    rep.header);
	} else
		log_info("test hook: mon-token: %s: monitor refused", arg);
	api_mon_wipe(&rep);
}

/* The key holder's policy generation page, made writable? */
static void
gen_write(void)
{
	void *page = (void *)(uintptr_t)keyholder_generation_page();

	if (page == NULL)
		log_error("test hook: gen-write: NO PAGE");
	else if (mprotect(page, 4096, PROT_READ | PROT_WRITE) == 0)
		log_error("test hook: gen-write: WRITABLE");
	else
		log_info("test hook: gen-write: mprotect refused: %s",
		    strerror(errno));
}

static void
mon_login(const char *tag, const char *userid, const char *password,
    const char *challenge)
{
	struct api_mon_msg rep;

	if (api_mon_login(userid, password, challenge, &rep) == 0 &&
	    rep.status == API_MON_OK)
		log_error("test hook: %s: monitor MINTED a ticket for %s", tag,
		    rep.userid);
	else
		log_info("test hook: %s: monitor refused a ticket for %s", tag,
		    userid);
	api_mon_wipe(&rep);
}

void
testhooks_api(const struct config *conf, const char *person,
    const char *userid, const char *action, const char *ticket)
{
	char act[256], *arg, why[256];
	int fd;

	snprintf(act, sizeof(act), "%s", action);
	log_info("test hook: api %s (%s): %s", person, userid, act);
	arg = strchr(act, ':');
	if (arg != NULL)
		*arg++ = '\0';
	if (strcmp(act, "open-file") == 0 && arg != NULL)
		try_open(arg);
	else if (strcmp(act, "open-secret") == 0 &&
	    conf->napi_credentials > 0)
		try_open(conf->api_credentials[0]->secret_file);
	else if (strcmp(act, "exec") == 0) {
		char *argv[] = { (char *)"/bin/true", NULL };

		execv(argv[0], argv);
		log_error("test hook: exec: returned: %s", strerror(errno));
	} else if (strcmp(act, "socket") == 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		log_error("test hook: socket: returned %d (%s)", fd,
		    fd < 0 ? strerror(errno) : "SUCCEEDED");
	} else if (strcmp(act, "mon-token") == 0 && arg != NULL) {
		/* The monitor itself, not an answer kept from this call. */
		api_verdict_wipe();
		mon_token(arg);
	} else if (strcmp(act, "gen-write") == 0)
		gen_write();
	else if (strcmp(act, "mon-renew") == 0 && arg != NULL)
		mon_login("mon-renew", arg, ticket, "");
	else if (strcmp(act, "mon-tfa") == 0 && arg != NULL) {
		char forged[160];

		/* A partial ticket's shape, its MAC made up. */
		snprintf(forged, sizeof(forged), "PVE:!tfa!%s:6553F100::%064d",
		    arg, 0);
		mon_login("mon-tfa", arg, "totp:123456", forged);
	} else if (strcmp(act, "mon-connect") == 0 && arg != NULL) {
		fd = api_mon_connect(arg, why, sizeof(why));
		if (fd >= 0) {
			log_error("test hook: mon-connect: %s: CONNECTED", arg);
			close(fd);
		} else
			log_info("test hook: mon-connect: %s: monitor refused"
			    " (%s)", arg, why);
	} else if (strcmp(act, "tls-key") == 0) {
		/* The handshake is done: did the child have the key? And
		 * will the monitor make a second signature? */
		unsigned char dgst[32], sig[API_MON_BLOB_MAX];
		size_t n = sizeof(sig);

		log_info("test hook: tls-key: private key here: %s",
		    api_tls_key_private_here(api_server_tls_ctx()) ||
		    api_server_signing_ctx() != NULL ? "YES" : "no");
		memset(dgst, 0x5a, sizeof(dgst));
		if (api_mon_tls_sign(API_MON_SIGN_ECDSA, dgst, sizeof(dgst),
		    sig, &n) == 0)
			log_error("test hook: tls-key: second signature: MADE");
		else
			log_info("test hook: tls-key: second signature:"
			    " refused");
	} else if (strcmp(act, "mon-garbage") == 0) {
		unsigned char junk[3] = { 0x7f, 0, 1 };
		char c;

		if (send(api_mon_client_fd(), junk, sizeof(junk), 0) < 0 ||
		    recv(api_mon_client_fd(), &c, 1, 0) <= 0)
			log_info("test hook: mon-garbage: monitor closed the"
			    " socket");
		else
			log_error("test hook: mon-garbage: monitor ANSWERED");
	} else
		log_error("test hook: unknown action %s", act);
	_exit(3);
}
