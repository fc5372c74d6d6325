/*
 * ssh_server.c - the listener's SSH side: host key and algorithm policy.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "ssh_server.h"

static int
write_public(ssh_key key, const char *path)
{
	char *b64 = NULL, line[1024];
	int fd, n, rc = -1;

	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		return -1;
	n = snprintf(line, sizeof(line), "ssh-ed25519 %s hvbastion\n", b64);
	ssh_string_free_char(b64);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0644);
	if (fd >= 0 && n > 0 && write(fd, line, (size_t)n) == n)
		rc = 0;
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
generate(const char *path, const char *pubpath)
{
	ssh_key key = NULL;
	mode_t old;
	int rc = -1;

	log_info("generating the host key %s", path);
	old = umask(077);
	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) == SSH_OK &&
	    ssh_pki_export_privkey_file(key, NULL, NULL, NULL, path) ==
	    SSH_OK && chmod(path, 0600) == 0 && write_public(key, pubpath) == 0)
		rc = 0;
	umask(old);
	ssh_key_free(key);
	if (rc < 0)
		log_error("cannot write the host key %s", path);
	return rc;
}

int
ssh_server_host_key(const char *state_dir, ssh_key *key)
{
	char path[PATH_MAX], pubpath[PATH_MAX];
	struct stat sb;

	*key = NULL;
	if ((size_t)snprintf(path, sizeof(path), "%s/ssh_host_ed25519_key",
	    state_dir) >= sizeof(path) - 4) {
		log_error("state directory path too long");
		return -1;
	}
	snprintf(pubpath, sizeof(pubpath), "%s/ssh_host_ed25519_key.pub",
	    state_dir);
	if (lstat(path, &sb) < 0) {
		if (errno != ENOENT || generate(path, pubpath) < 0)
			return -1;
		if (lstat(path, &sb) < 0)
			return -1;
	}
	if (!S_ISREG(sb.st_mode) || (sb.st_mode & 077) != 0) {
		log_error("host key %s must be a regular file of mode 0600",
		    path);
		return -1;
	}
	if (ssh_pki_import_privkey_file(path, NULL, NULL, NULL, key) !=
	    SSH_OK || ssh_key_type(*key) != SSH_KEYTYPE_ED25519) {
		log_error("cannot load the ed25519 host key %s", path);
		ssh_key_free(*key);
		*key = NULL;
		return -1;
	}
	return 0;
}

ssh_bind
ssh_server_bind(ssh_key hostkey)
{
	ssh_bind bind;
	ssh_key copy = NULL;
	bool no = false;
	char *b64 = NULL;

	if ((bind = ssh_bind_new()) == NULL)
		return NULL;
	/*
	 * libssh 0.10 has no key duplication call; the bind frees what it
	 * imports, so give it its own copy through a private export.
	 */
	if (ssh_pki_export_privkey_base64(hostkey, NULL, NULL, NULL, &b64) !=
	    SSH_OK || ssh_pki_import_privkey_base64(b64, NULL, NULL, NULL,
	    &copy) != SSH_OK)
		goto fail;
	if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_PROCESS_CONFIG,
	    &no) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_IMPORT_KEY, copy) < 0)
		goto fail;
	copy = NULL;	/* owned by the bind now */
	if (ssh_bind_options_set(bind, SSH_BIND_OPTIONS_KEY_EXCHANGE,
	    SSH_SERVER_KEX) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_CIPHERS_C_S,
	    SSH_SERVER_CIPHERS) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_CIPHERS_S_C,
	    SSH_SERVER_CIPHERS) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_HMAC_C_S,
	    SSH_SERVER_MACS) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_HMAC_S_C,
	    SSH_SERVER_MACS) < 0 ||
	    ssh_bind_options_set(bind, SSH_BIND_OPTIONS_HOSTKEY_ALGORITHMS,
	    SSH_SERVER_HOSTKEYS) < 0 ||
	    ssh_bind_options_set(bind,
	    SSH_BIND_OPTIONS_PUBKEY_ACCEPTED_KEY_TYPES,
	    SSH_SERVER_USERKEYS) < 0)
		goto fail;
	if (b64 != NULL) {
		explicit_bzero(b64, strlen(b64));
		ssh_string_free_char(b64);
	}
	return bind;
fail:
	log_error("cannot set up the SSH server: %s", ssh_get_error(bind));
	if (b64 != NULL) {
		explicit_bzero(b64, strlen(b64));
		ssh_string_free_char(b64);
	}
	ssh_key_free(copy);
	ssh_bind_free(bind);
	return NULL;
}
