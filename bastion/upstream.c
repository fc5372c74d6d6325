/*
 * upstream.c - the bastion's own SSH connections to targets.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unistd.h>

#include "keys.h"
#include "kh_client.h"
#include "log.h"
#include "upstream.h"

/* Same hardened set as the listener, client side. */
#define UP_KEX		"curve25519-sha256,curve25519-sha256@libssh.org"
#define UP_CIPHERS	"aes256-gcm@openssh.com,aes128-gcm@openssh.com," \
			"aes256-ctr,aes192-ctr,aes128-ctr"
#define UP_MACS		"hmac-sha2-256-etm@openssh.com," \
			"hmac-sha2-512-etm@openssh.com"

/* The host key algorithms that can present the pinned key. */
static const char *
hostkey_algorithms(enum ssh_keytypes_e type)
{
	switch (type) {
	case SSH_KEYTYPE_ED25519:
		return "ssh-ed25519";
	case SSH_KEYTYPE_ECDSA_P256:
		return "ecdsa-sha2-nistp256";
	case SSH_KEYTYPE_ECDSA_P384:
		return "ecdsa-sha2-nistp384";
	case SSH_KEYTYPE_ECDSA_P521:
		return "ecdsa-sha2-nistp521";
	case SSH_KEYTYPE_RSA:
		return "rsa-sha2-512,rsa-sha2-256";
	default:
		return NULL;
	}
}

int
upstream_set_options(ssh_session ssh, const struct config *conf,
    const struct config_target *t, const struct config_credential *c,
    enum ssh_keytypes_e pin_type)
{
	bool no = false;
	long timeout = conf->connect_timeout;
	unsigned int port = (unsigned int)t->port;
	const char *hk = hostkey_algorithms(pin_type);

	/* Nothing from ~/.ssh or /etc/ssh: the inventory is the truth. */
	if (ssh_options_set(ssh, SSH_OPTIONS_PROCESS_CONFIG, &no) < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_HOST, t->address) < 0 ||
	    /* Set, so that libssh looks up no home directory (the
	     * sandbox, sandbox.h, lets it read nothing). */
	    ssh_options_set(ssh, SSH_OPTIONS_SSH_DIR, "/nonexistent") < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_PORT, &port) < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_USER, c->login) < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_TIMEOUT, &timeout) < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_KNOWNHOSTS, "/dev/null") < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_GLOBAL_KNOWNHOSTS,
	    "/dev/null") < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_KEY_EXCHANGE, UP_KEX) < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_CIPHERS_C_S, UP_CIPHERS) < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_CIPHERS_S_C, UP_CIPHERS) < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_HMAC_C_S, UP_MACS) < 0 ||
	    ssh_options_set(ssh, SSH_OPTIONS_HMAC_S_C, UP_MACS) < 0 ||
	    hk == NULL ||
	    ssh_options_set(ssh, SSH_OPTIONS_HOSTKEYS, hk) < 0)
		return -1;
	return 0;
}

int
upstream_connect(const struct config *conf, const struct config_target *t,
    const struct config_credential *c, struct upstream **out, char *why,
    size_t whylen)
{
	struct upstream *up = NULL;
	ssh_key pin = NULL, seen = NULL;
	char fp_seen[128], fp_pin[128];
	int rc = UPSTREAM_INTERNAL, tcp = -1, agent = -1, kr;

	*out = NULL;
	snprintf(why, whylen, "internal error");
	if (keys_import_line(t->host_key, &pin) < 0 ||
	    (up = calloc(1, sizeof(*up))) == NULL ||
	    (up->ssh = ssh_new()) == NULL)
		goto out;
	up->target = t;
	up->credential = c;
	if (upstream_set_options(up->ssh, conf, t, c, ssh_key_type(pin)) <
	    0) {
		log_error("target %s: cannot set SSH options: %s", t->name,
		    ssh_get_error(up->ssh));
		goto out;
	}
	/*
	 * The key holder decides, connects and holds the key: this process
	 * gets a connected socket and an agent socket for this one
	 * credential (keyholder.h), and never a private key.
	 */
	kr = kh_client_connect(t->name, c->name, conf->connect_timeout, &tcp,
	    &agent, why, whylen);
	if (kr < 0) {
		rc = kr == -2 ? UPSTREAM_AUTH_FAILED : UPSTREAM_CONNECT_FAILED;
		goto out;
	}
	if (ssh_options_set(up->ssh, SSH_OPTIONS_FD, &tcp) < 0)
		goto out;
	tcp = -1;	/* the session owns it now */
	if (ssh_connect(up->ssh) != SSH_OK) {
		log_info("target %s (%s port %d): connection failed: %s",
		    t->name, t->address, t->port, ssh_get_error(up->ssh));
		snprintf(why, whylen, "cannot connect to target %s", t->name);
		rc = UPSTREAM_CONNECT_FAILED;
		goto out;
	}
	if (ssh_get_server_publickey(up->ssh, &seen) != SSH_OK ||
	    ssh_key_cmp(seen, pin, SSH_KEY_CMP_PUBLIC) != 0) {
		/* Nothing has been sent but the key exchange. */
		if (seen != NULL)
			keys_fingerprint(seen, fp_seen, sizeof(fp_seen));
		else
			snprintf(fp_seen, sizeof(fp_seen), "(none)");
		keys_fingerprint(pin, fp_pin, sizeof(fp_pin));
		log_error("host key mismatch for target %s (%s port %d):"
		    " presented %s, pinned %s (%s:%d); credential not sent",
		    t->name, t->address, t->port, fp_seen, fp_pin,
		    t->origin.file, t->origin.line);
		snprintf(why, whylen, "the host key of target %s does not"
		    " match the pinned key (possible man-in-the-middle);"
		    " nothing was sent", t->name);
		rc = UPSTREAM_HOSTKEY_MISMATCH;
		goto out;
	}
	if (ssh_set_agent_socket(up->ssh, agent) != SSH_OK)
		goto out;
	agent = -1;	/* likewise */
	if (ssh_userauth_agent(up->ssh, NULL) != SSH_AUTH_SUCCESS) {
		log_error("target %s refused credential %s (login %s): %s",
		    t->name, c->name, c->login, ssh_get_error(up->ssh));
		snprintf(why, whylen, "target %s refused the bastion's"
		    " credential", t->name);
		rc = UPSTREAM_AUTH_FAILED;
		goto out;
	}
	rc = UPSTREAM_OK;
	*out = up;
	up = NULL;
out:
	if (tcp >= 0)
		close(tcp);
	if (agent >= 0)
		close(agent);
	ssh_key_free(seen);
	ssh_key_free(pin);
	upstream_free(up);
	return rc;
}

void
upstream_free(struct upstream *up)
{
	if (up == NULL)
		return;
	if (up->ssh != NULL) {
		ssh_disconnect(up->ssh);
		ssh_free(up->ssh);
	}
	free(up);
}
