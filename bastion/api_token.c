/*
 * api_token.c - personal API tokens (api_token.h).
 *
 * The store is a directory of small per-person files rewritten whole
 * (temporary file + rename) under an flock, so a revocation is atomic and
 * takes effect for the next request of every connection.
 */
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api_ticket.h"
#include "api_token.h"
#include "state_owner.h"
#include "names.h"

#define STORE_DIR	"api-tokens"
#define LINE_MAX_LEN	256
#define TOKENS_MAX	64

struct token_line {
	char	id[API_TOKEN_ID_MAX + 1];
	char	hash[65];
	long	created;
};

int
api_token_valid_id(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 2 || n > API_TOKEN_ID_MAX ||
	    !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' &&
		    s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_' || s[i] == '.'))
			return 0;
	return 1;
}

static int
hash_hex(const char *secret, char hex[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	int i;

	if (EVP_Digest(secret, strlen(secret), md, &n, EVP_sha256(), NULL) !=
	    1 || n != 32)
		return -1;
	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

static int
store_path(const char *state_dir, const char *person, char *path,
    size_t len)
{
	int n;

	if (!names_valid(person))
		return -EINVAL;
	n = snprintf(path, len, "%s/%s/%s", state_dir, STORE_DIR, person);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Reads a person's tokens; the count, or a negative error. */
static int
read_tokens(const char *path, struct token_line *t, size_t max)
{
	char line[LINE_MAX_LEN];
	struct stat sb;
	FILE *f;
	int fd, n = 0;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode) ||
	    (sb.st_mode & 077) != 0 || (f = fdopen(fd, "r")) == NULL) {
		close(fd);
		return -EPERM;
	}
	while (fgets(line, sizeof(line), f) != NULL && (size_t)n < max) {
		char *id = line, *hash, *created, *end;

		if ((hash = strchr(id, ' ')) == NULL)
			continue;
		*hash++ = '\0';
		if ((created = strchr(hash, ' ')) == NULL)
			continue;
		*created++ = '\0';
		if (!api_token_valid_id(id) || strlen(hash) != 64)
			continue;
		memcpy(t[n].id, id, strlen(id) + 1);
		memcpy(t[n].hash, hash, 65);
		errno = 0;
		t[n].created = strtol(created, &end, 10);
		if (errno != 0)
			t[n].created = 0;
		n++;
	}
	fclose(f);
	return n;
}

/*
 * The last store read, kept while its file is unchanged (same inode,
 * size and modification time to the nanosecond): the API monitor checks
 * a personal token on every call, and the file changes only when a token
 * is created or revoked (write_tokens() replaces it by a rename, so a new
 * inode).  It holds token ids and hashes, never a secret.
 */
static struct {
	char			path[PATH_MAX];
	dev_t			dev;
	ino_t			ino;
	off_t			size;
	struct timespec		mtim;
	int			n;
	struct token_line	t[TOKENS_MAX];
} tcache;

static int
cached_tokens(const char *path, struct token_line *t, size_t max)
{
	struct stat sb;
	int n;

	if (lstat(path, &sb) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (tcache.n >= 0 && strcmp(tcache.path, path) == 0 &&
	    tcache.dev == sb.st_dev && tcache.ino == sb.st_ino &&
	    tcache.size == sb.st_size &&
	    tcache.mtim.tv_sec == sb.st_mtim.tv_sec &&
	    tcache.mtim.tv_nsec == sb.st_mtim.tv_nsec &&
	    (size_t)tcache.n <= max) {
		memcpy(t, tcache.t, (size_t)tcache.n * sizeof(*t));
		return tcache.n;
	}
	tcache.path[0] = '\0';
	n = read_tokens(path, t, max);
	if (n >= 0 && (size_t)n <= TOKENS_MAX &&
	    strlen(path) < sizeof(tcache.path)) {
		memcpy(tcache.t, t, (size_t)n * sizeof(*t));
		tcache.n = n;
		tcache.dev = sb.st_dev;
		tcache.ino = sb.st_ino;
		tcache.size = sb.st_size;
		tcache.mtim = sb.st_mtim;
		snprintf(tcache.path, sizeof(tcache.path), "%s", path);
	}
	return n;
}

/* The store belongs to the state directory's owner (state_owner.h). */
static int
write_tokens(const char *state_dir, const char *path,
    const struct token_line *t, int n)
{
	char tmp[PATH_MAX];
	FILE *f;
	int fd, i, rc = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd >= 0)
		state_owner_match(fd, state_dir);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		if (fd >= 0)
			close(fd);
		return -errno;
	}
	for (i = 0; i < n; i++)
		fprintf(f, "%s %s %ld\n", t[i].id, t[i].hash, t[i].created);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rc = -errno;
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && rename(tmp, path) < 0)
		rc = -errno;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

/* Opens (creating) the store directory and takes its lock; fd or -err. */
static int
lock_store(const char *state_dir)
{
	char dir[PATH_MAX];
	int fd;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/%s", state_dir, STORE_DIR)
	    >= sizeof(dir))
		return -ENAMETOOLONG;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) < 0)
		return -errno;
	state_owner_match(fd, state_dir);
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int
new_uuid(char *out, size_t len)
{
	unsigned char b[16];

	if (len < API_TOKEN_SECRET_LEN + 1 ||
	    getrandom(b, sizeof(b), 0) != sizeof(b))
		return -1;
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
	    b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
	explicit_bzero(b, sizeof(b));
	return 0;
}

int
api_token_create(const char *state_dir, const char *person,
    const char *tokenid, char *secret, size_t secretlen)
{
	struct token_line t[TOKENS_MAX];
	char path[PATH_MAX];
	int lk, n, i, rc;

	if (!api_token_valid_id(tokenid) ||
	    (rc = store_path(state_dir, person, path, sizeof(path))) < 0)
		return -EINVAL;
	if ((lk = lock_store(state_dir)) < 0)
		return lk;
	n = read_tokens(path, t, TOKENS_MAX);
	rc = n;
	for (i = 0; i < n; i++)
		if (strcmp(t[i].id, tokenid) == 0)
			rc = -EEXIST;
	if (rc >= 0 && n >= TOKENS_MAX)
		rc = -ENOSPC;
	if (rc >= 0 && (new_uuid(secret, secretlen) < 0 ||
	    hash_hex(secret, t[n].hash) < 0))
		rc = -EIO;
	if (rc >= 0) {
		memcpy(t[n].id, tokenid, strlen(tokenid) + 1);
		t[n].created = (long)time(NULL);
		rc = write_tokens(state_dir, path, t, n + 1);
	}
	if (rc < 0)
		explicit_bzero(secret, secretlen);
	close(lk);
	return rc < 0 ? rc : 0;
}

int
api_token_revoke(const char *state_dir, const char *person,
    const char *tokenid)
{
	struct token_line t[TOKENS_MAX];
	char path[PATH_MAX];
	int lk, n, i, j, rc;

	if (store_path(state_dir, person, path, sizeof(path)) < 0)
		return -EINVAL;
	if ((lk = lock_store(state_dir)) < 0)
		return lk;
	n = read_tokens(path, t, TOKENS_MAX);
	rc = n < 0 ? n : -ENOENT;
	for (i = j = 0; i < n; i++)
		if (strcmp(t[i].id, tokenid) != 0)
			t[j++] = t[i];
	if (n > 0 && j < n)
		rc = write_tokens(state_dir, path, t, j);
	close(lk);
	return rc;
}

int
api_token_list(const char *state_dir, const char *person,
    void (*fn)(void *, const char *, long), void *arg)
{
	struct token_line t[TOKENS_MAX];
	char path[PATH_MAX];
	int n, i;

	if (store_path(state_dir, person, path, sizeof(path)) < 0)
		return -EINVAL;
	if ((n = read_tokens(path, t, TOKENS_MAX)) < 0)
		return n;
	for (i = 0; i < n; i++)
		fn(arg, t[i].id, t[i].created);
	return n;
}

int
api_token_check(const char *state_dir, const char *value, char *userid,
    size_t userlen, char *why, size_t whylen)
{
	struct token_line t[TOKENS_MAX];
	char user[API_USERID_MAX], name[NAMES_MAX + 1], realm[40];
	char id[API_TOKEN_ID_MAX + 1], secret[128], hex[65], path[PATH_MAX];
	const char *bang, *sep;
	size_t ul, il;
	int n, i, ok = 0;

	why[0] = '\0';
	if ((bang = strchr(value, '!')) == NULL ||
	    (ul = (size_t)(bang - value)) >= sizeof(user) ||
	    (sep = strpbrk(bang + 1, "= ")) == NULL ||
	    (il = (size_t)(sep - bang - 1)) >= sizeof(id) ||
	    strlen(sep + 1) >= sizeof(secret)) {
		snprintf(why, whylen, "malformed API token");
		return -EACCES;
	}
	memcpy(user, value, ul);
	user[ul] = '\0';
	memcpy(id, bang + 1, il);
	id[il] = '\0';
	snprintf(secret, sizeof(secret), "%s", sep + 1);
	if (api_userid_split(user, name, sizeof(name), realm,
	    sizeof(realm)) < 0 || !api_token_valid_id(id) ||
	    store_path(state_dir, name, path, sizeof(path)) < 0 ||
	    hash_hex(secret, hex) < 0) {
		explicit_bzero(secret, sizeof(secret));
		snprintf(why, whylen, "malformed API token");
		return -EACCES;
	}
	explicit_bzero(secret, sizeof(secret));
	n = cached_tokens(path, t, TOKENS_MAX);
	for (i = 0; i < n; i++)
		if (strcmp(t[i].id, id) == 0 &&
		    CRYPTO_memcmp(t[i].hash, hex, 64) == 0)
			ok = 1;
	explicit_bzero(hex, sizeof(hex));
	if (!ok) {
		snprintf(why, whylen, "unknown or revoked API token %s!%s",
		    name, id);
		return -EACCES;
	}
	if (strlen(user) >= userlen)
		return -EACCES;
	snprintf(userid, userlen, "%s", user);
	return 0;
}
