/*
 * seal.c - the recordings' sealing key and HMAC-SHA256 seal.
 *
 * See seal.h for the separation that issue 8 brings: the signer hook is
 * where the child stops holding the key.
 */
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "seal.h"

static seal_signer_fn	 signer;
static void		*signer_arg;
static unsigned char	 own_key[SEAL_KEY_LEN];
static seal_notify_fn	 notify;

static int
read_key(int fd, unsigned char key[SEAL_KEY_LEN])
{
	size_t got = 0;
	unsigned char extra;

	while (got < SEAL_KEY_LEN) {
		ssize_t r = read(fd, key + got, SEAL_KEY_LEN - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	if (read(fd, &extra, 1) != 0)
		return -1;	/* not a key of ours */
	return 0;
}

static int
create_key(const char *path, unsigned char key[SEAL_KEY_LEN])
{
	int fd;
	ssize_t w;

	if (getrandom(key, SEAL_KEY_LEN, 0) != SEAL_KEY_LEN)
		return -1;
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0)
		return -1;
	w = write(fd, key, SEAL_KEY_LEN);
	if (w != SEAL_KEY_LEN || fsync(fd) < 0) {
		close(fd);
		unlink(path);
		if (errno == 0)
			errno = EIO;
		return -1;
	}
	return close(fd);
}

int
seal_key_load(const char *state_dir, int create,
    unsigned char key[SEAL_KEY_LEN], char *msg, size_t msglen)
{
	char path[PATH_MAX];
	struct stat st;
	int fd, rc = -1;

	snprintf(path, sizeof(path), "%s/%s", state_dir, SEAL_KEY_FILE);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT && create) {
		if (create_key(path, key) == 0)
			return 0;
		snprintf(msg, msglen, "%s: cannot create: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fd < 0) {
		snprintf(msg, msglen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, msglen, "%s: not a regular file", path);
		errno = EINVAL;
	} else if ((st.st_mode & 077) != 0) {
		snprintf(msg, msglen, "%s: readable by others (mode %03o);"
		    " refused", path, (unsigned)(st.st_mode & 0777));
		errno = EPERM;
	} else if (read_key(fd, key) < 0) {
		snprintf(msg, msglen, "%s: not a %d-byte key", path,
		    SEAL_KEY_LEN);
		errno = EINVAL;
	} else
		rc = 0;
	close(fd);
	return rc;
}

int
seal_compute(const unsigned char *key, size_t keylen, const char *basename,
    uint64_t lines, uint64_t bytes, const char *chain_hex,
    unsigned char mac[SEAL_MAC_LEN])
{
	char msg[PATH_MAX + 256];
	unsigned int maclen = SEAL_MAC_LEN;
	int n;

	n = snprintf(msg, sizeof(msg), "hvbastion-seal v1%c%s%c%llu%c%llu%c%s",
	    0, basename, 0, (unsigned long long)lines, 0,
	    (unsigned long long)bytes, 0, chain_hex);
	if (n < 0 || (size_t)n >= sizeof(msg) || keylen > INT_MAX)
		return -1;
	if (HMAC(EVP_sha256(), key, (int)keylen, (unsigned char *)msg,
	    (size_t)n, mac, &maclen) == NULL || maclen != SEAL_MAC_LEN)
		return -1;
	return 0;
}

void
seal_set_signer(seal_signer_fn fn, void *arg)
{
	signer = fn;
	signer_arg = arg;
}

static int
own_signer(void *arg, const char *basename, uint64_t lines, uint64_t bytes,
    const char *chain_hex, unsigned char mac[SEAL_MAC_LEN])
{
	(void)arg;
	return seal_compute(own_key, sizeof(own_key), basename, lines, bytes,
	    chain_hex, mac);
}

int
seal_use_key(const unsigned char key[SEAL_KEY_LEN])
{
	memcpy(own_key, key, SEAL_KEY_LEN);
	seal_set_signer(own_signer, NULL);
	return 0;
}

int
seal_available(void)
{
	return signer != NULL;
}

int
seal_sign(const char *basename, uint64_t lines, uint64_t bytes,
    const char *chain_hex, unsigned char mac[SEAL_MAC_LEN])
{
	if (signer == NULL)
		return -1;
	return signer(signer_arg, basename, lines, bytes, chain_hex, mac);
}

void
seal_set_notify(seal_notify_fn fn)
{
	notify = fn;
}

void
seal_notify(const char *basename, const char *desc)
{
	if (notify != NULL)
		notify(basename, desc);
}
