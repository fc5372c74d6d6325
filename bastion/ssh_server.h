/*
 * ssh_server.h - the listener's SSH side: host key and algorithm policy.
 *
 * Algorithms (README "Cryptography"): curve25519 key exchange; AES-GCM and
 * AES-CTR; SHA-2 encrypt-then-MAC; ed25519 host key.  libssh 0.10.6 adds
 * strict key exchange (kex-strict-s-v00@openssh.com, the Terrapin fix) to
 * every server proposal and enforces it when the client offers it.
 */
#ifndef HVB_SSH_SERVER_H
#define HVB_SSH_SERVER_H

#include <libssh/libssh.h>
#include <libssh/server.h>

#define SSH_SERVER_KEX		"curve25519-sha256,curve25519-sha256@libssh.org"
#define SSH_SERVER_CIPHERS	"aes256-gcm@openssh.com,aes128-gcm@openssh.com,"\
				"aes256-ctr,aes192-ctr,aes128-ctr"
#define SSH_SERVER_MACS		"hmac-sha2-256-etm@openssh.com," \
				"hmac-sha2-512-etm@openssh.com"
#define SSH_SERVER_HOSTKEYS	"ssh-ed25519"
#define SSH_SERVER_USERKEYS	"ssh-ed25519,ecdsa-sha2-nistp256," \
				"ecdsa-sha2-nistp384,ecdsa-sha2-nistp521," \
				"rsa-sha2-512,rsa-sha2-256"

/*
 * Loads STATE/ssh_host_ed25519_key, generating it (0600, with a .pub beside
 * it) on first start.  Returns 0 and the key, or -1 (logged).
 */
int	ssh_server_host_key(const char *state_dir, ssh_key *key);
/* A bind for one connection; takes a duplicate of the host key. */
ssh_bind ssh_server_bind(ssh_key hostkey);

#endif
