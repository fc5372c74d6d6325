/*
 * seal.h - the key that seals recordings, and the seal itself.
 *
 * The key is 32 random bytes in STATE/seal.key (0600), created by the
 * master (hvbastiond) on its first start.  The seal is
 *   HMAC-SHA256(key, "hvbastion-seal v1" NUL basename NUL lines NUL
 *               bytes NUL final-chain-hex)
 * so a seal cannot be moved to another file, and a recording cannot be
 * cut or extended without the key.
 *
 * Privilege separation (issue 8): the key holder (bastion/keyholder.h)
 * holds the key; the per-connection child installs a signer
 * (bastion/kh_client.c) that sends the digest over its socketpair and
 * never holds the key.
 */
#ifndef HVB_SEAL_H
#define HVB_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_LEN	32
#define SEAL_MAC_LEN	32
#define SEAL_KEY_FILE	"seal.key"

/* Reads STATE/seal.key, creating it if absent (refuses a key others can
 * read).  Returns 0 or -1 with errno set; msg says why. */
int	seal_key_load(const char *state_dir, int create,
	    unsigned char key[SEAL_KEY_LEN], char *msg, size_t msglen);

/* Computes the seal of one recording. */
int	seal_compute(const unsigned char *key, size_t keylen,
	    const char *basename, uint64_t lines, uint64_t bytes,
	    const char *chain_hex, unsigned char mac[SEAL_MAC_LEN]);

/* The process's signer: who seals recordings when they close. */
typedef int (*seal_signer_fn)(void *arg, const char *basename,
	    uint64_t lines, uint64_t bytes, const char *chain_hex,
	    unsigned char mac[SEAL_MAC_LEN]);
void	seal_set_signer(seal_signer_fn, void *arg);
/* Installs the in-process signer with a copy of key (today's daemon). */
int	seal_use_key(const unsigned char key[SEAL_KEY_LEN]);
/* True once a signer is installed (the daemon always installs one). */
int	seal_available(void);
/* Seals with the installed signer; -1 when none is installed. */
int	seal_sign(const char *basename, uint64_t lines, uint64_t bytes,
	    const char *chain_hex, unsigned char mac[SEAL_MAC_LEN]);

/* Told of every seal written (the daemon logs it); may be NULL. */
typedef void (*seal_notify_fn)(const char *basename, const char *desc);
void	seal_set_notify(seal_notify_fn);
void	seal_notify(const char *basename, const char *desc);

#endif
