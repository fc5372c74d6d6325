/*
 * chain.c - the hash chain over a recording's lines, its sidecar file and
 * its verification (format in chain.h).
 *
 * Why a sidecar rather than hashes inside the recording: a .cast must keep
 * playing in stock asciinema 2.2, which rejects unknown event lines, and
 * the .jsonl stays one plain event a line for the auditors' own tools.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "chain.h"
#include "rec_file.h"
#include "rec_zstd.h"
#include "seal.h"

#define CHAIN_MAGIC	"hvbastion-chain v1"
#define SIDE_LINE_MAX	256

struct chain {
	int		 fd;
	int		 error;
	EVP_MD_CTX	*ctx;		/* the current line, seeded with h */
	unsigned char	 h[CHAIN_HASH_LEN];
	uint64_t	 lines, bytes;
	char		*pend;		/* hex lines not yet written */
	size_t		 npend, cappend;
	char		 base[NAME_MAX + 1];
};

void
chain_hex(const unsigned char *bin, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[bin[i] >> 4];
		hex[2 * i + 1] = digits[bin[i] & 15];
	}
	hex[2 * len] = '\0';
}

void
chain_seed(const char *basename, unsigned char h[CHAIN_HASH_LEN])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	memset(h, 0, CHAIN_HASH_LEN);
	if (c == NULL)
		return;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	    EVP_DigestUpdate(c, CHAIN_MAGIC, sizeof(CHAIN_MAGIC)) == 1 &&
	    EVP_DigestUpdate(c, basename, strlen(basename)) == 1)
		EVP_DigestFinal_ex(c, h, NULL);
	EVP_MD_CTX_free(c);
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s != NULL ? s + 1 : path;
}

/* Starts hashing a new line on top of h. */
static int
line_start(EVP_MD_CTX *c, const unsigned char h[CHAIN_HASH_LEN])
{
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, h, CHAIN_HASH_LEN) != 1)
		return -1;
	return 0;
}

struct chain *
chain_open(const char *datapath)
{
	struct chain *ch;
	char path[PATH_MAX];
	int saved;

	if (snprintf(path, sizeof(path), "%s%s", datapath, CHAIN_SUFFIX) >=
	    (int)sizeof(path) || strlen(base_name(datapath)) > NAME_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((ch = calloc(1, sizeof(*ch))) == NULL)
		return NULL;
	ch->fd = -1;
	snprintf(ch->base, sizeof(ch->base), "%s", base_name(datapath));
	chain_seed(ch->base, ch->h);
	if ((ch->ctx = EVP_MD_CTX_new()) == NULL ||
	    line_start(ch->ctx, ch->h) < 0) {
		errno = ENOMEM;
		goto fail;
	}
	ch->fd = rec_file_create(path, O_APPEND);
	if (ch->fd < 0)
		goto fail;
	return ch;
fail:
	saved = errno;
	EVP_MD_CTX_free(ch->ctx);
	free(ch);
	errno = saved;
	return NULL;
}

static int
pend_add(struct chain *ch, const char *s, size_t n)
{
	if (ch->npend + n > ch->cappend) {
		size_t cap = ch->cappend ? ch->cappend : 4096;
		char *p;

		while (cap < ch->npend + n)
			cap *= 2;
		if ((p = realloc(ch->pend, cap)) == NULL)
			return -1;
		ch->pend = p;
		ch->cappend = cap;
	}
	memcpy(ch->pend + ch->npend, s, n);
	ch->npend += n;
	return 0;
}

int
chain_update(struct chain *ch, const void *buf, size_t len)
{
	const char *p = buf;

	if (ch == NULL || ch->error)
		return -1;
	ch->bytes += len;
	while (len > 0) {
		const char *nl = memchr(p, '\n', len);
		size_t n = nl != NULL ? (size_t)(nl - p) + 1 : len;
		char hex[CHAIN_HEX_LEN + 2];

		if (EVP_DigestUpdate(ch->ctx, p, n) != 1)
			goto fail;
		p += n;
		len -= n;
		if (nl == NULL)
			break;
		if (EVP_DigestFinal_ex(ch->ctx, ch->h, NULL) != 1 ||
		    line_start(ch->ctx, ch->h) < 0)
			goto fail;
		ch->lines++;
		chain_hex(ch->h, CHAIN_HASH_LEN, hex);
		hex[CHAIN_HEX_LEN] = '\n';
		if (pend_add(ch, hex, CHAIN_HEX_LEN + 1) < 0)
			goto fail;
	}
	return 0;
fail:
	ch->error = ENOMEM;
	return -1;
}

static int
write_all(struct chain *ch, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(ch->fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			ch->error = w < 0 ? errno : EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
chain_flush(struct chain *ch)
{
	if (ch == NULL || ch->error)
		return -1;
	if (ch->npend > 0 && write_all(ch, ch->pend, ch->npend) < 0)
		return -1;
	ch->npend = 0;
	return 0;
}

int
chain_sync(struct chain *ch)
{
	if (chain_flush(ch) < 0)
		return -1;
	if (fdatasync(ch->fd) < 0) {
		ch->error = errno;
		return -1;
	}
	return 0;
}

int
chain_seal(struct chain *ch, char *desc, size_t desclen)
{
	unsigned char mac[SEAL_MAC_LEN];
	char hex[CHAIN_HEX_LEN + 1], machex[2 * SEAL_MAC_LEN + 1];
	char line[SIDE_LINE_MAX];
	int n;

	if (chain_flush(ch) < 0)
		return -1;
	/* A tool without a signer (tests, converters) leaves the file
	 * unsealed: verify then says "unfinished", never "OK". */
	if (!seal_available()) {
		if (desc != NULL)
			snprintf(desc, desclen, "none (no sealing key)");
		return 0;
	}
	chain_hex(ch->h, CHAIN_HASH_LEN, hex);
	if (seal_sign(ch->base, ch->lines, ch->bytes, hex, mac) < 0)
		return -1;
	chain_hex(mac, sizeof(mac), machex);
	n = snprintf(line, sizeof(line), "seal v1 lines=%llu bytes=%llu"
	    " chain=%s hmac=%s\n", (unsigned long long)ch->lines,
	    (unsigned long long)ch->bytes, hex, machex);
	if (n < 0 || (size_t)n >= sizeof(line) ||
	    write_all(ch, line, (size_t)n) < 0 || fsync(ch->fd) < 0)
		return -1;
	n = snprintf(line, sizeof(line), "lines=%llu chain=%s hmac=%s",
	    (unsigned long long)ch->lines, hex, machex);
	if (desc != NULL)
		snprintf(desc, desclen, "%s", line);
	seal_notify(ch->base, line);
	return 0;
}

int
chain_close(struct chain *ch)
{
	int rc;

	if (ch == NULL)
		return 0;
	rc = ch->error ? -1 : 0;
	if (chain_flush(ch) < 0)
		rc = -1;
	if (fsync(ch->fd) < 0)
		rc = -1;
	if (close(ch->fd) < 0)
		rc = -1;
	EVP_MD_CTX_free(ch->ctx);
	free(ch->pend);
	free(ch);
	return rc;
}

/* --- verification --------------------------------------------------------- */

struct verify {
	void	(*report)(void *, const char *);
	void	 *arg;
	const char *name;
};

static void
say(struct verify *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(struct verify *v, const char *fmt, ...)
{
	char msg[512], line[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	snprintf(line, sizeof(line), "%s: %s", v->name, msg);
	v->report(v->arg, line);
}

/*
 * Reads one sidecar line (bounded).  Returns 1 with a line, 0 at EOF, -1
 * for an overlong or NUL-bearing line.
 */
static int
side_line(FILE *f, char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, f) == NULL)
		return 0;
	n = strlen(buf);
	if (n == 0 || buf[n - 1] != '\n')
		return -1;
	buf[n - 1] = '\0';
	return 1;
}

static int
is_hex_hash(const char *s)
{
	size_t i;

	for (i = 0; i < CHAIN_HEX_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[CHAIN_HEX_LEN] == '\0';
}

/* Parses "seal v1 lines=N bytes=B chain=HEX hmac=HEX" without sscanf. */
static int
parse_seal(const char *s, uint64_t *lines, uint64_t *bytes, char *chain,
    char *hmac)
{
	char *end;

	if (strncmp(s, "seal v1 lines=", 14) != 0)
		return -1;
	s += 14;
	errno = 0;
	*lines = strtoull(s, &end, 10);
	if (errno || end == s || strncmp(end, " bytes=", 7) != 0)
		return -1;
	s = end + 7;
	*bytes = strtoull(s, &end, 10);
	if (errno || end == s || strncmp(end, " chain=", 7) != 0)
		return -1;
	s = end + 7;
	if (strlen(s) != CHAIN_HEX_LEN + 6 + 2 * SEAL_MAC_LEN)
		return -1;
	memcpy(chain, s, CHAIN_HEX_LEN);
	chain[CHAIN_HEX_LEN] = '\0';
	s += CHAIN_HEX_LEN;
	if (strncmp(s, " hmac=", 6) != 0)
		return -1;
	memcpy(hmac, s + 6, 2 * SEAL_MAC_LEN + 1);
	if (!is_hex_hash(chain) || !is_hex_hash(hmac))
		return -1;
	return 0;
}

enum chain_verdict
chain_verify(const char *datapath, const unsigned char *key, size_t keylen,
    void (*report)(void *, const char *), void *arg)
{
	struct verify v = { report, arg, base_name(datapath) };
	char sidepath[PATH_MAX], side[SIDE_LINE_MAX], hex[CHAIN_HEX_LEN + 1];
	char schain[CHAIN_HEX_LEN + 1], shmac[2 * SEAL_MAC_LEN + 1];
	unsigned char h[CHAIN_HASH_LEN], buf[65536], mac[SEAL_MAC_LEN];
	char machex[2 * SEAL_MAC_LEN + 1];
	EVP_MD_CTX *c = NULL;
	FILE *sf = NULL;
	uint64_t lines = 0, bytes = 0, partial = 0, slines, sbytes;
	enum chain_verdict rc = CHAIN_BAD;
	int r, have_seal = 0, sidedone = 0, damaged = 0;
	FILE *df = NULL;
	ssize_t got;

	snprintf(sidepath, sizeof(sidepath), "%s%s", datapath, CHAIN_SUFFIX);
	/* A compressed recording is checked on its uncompressed bytes. */
	if ((df = rec_zstd_open_read(datapath, &damaged)) == NULL) {
		say(&v, "missing or unreadable: %s", strerror(errno));
		goto out;
	}
	if ((sf = fopen(sidepath, "re")) == NULL) {
		say(&v, "no chain file (%s%s): %s", v.name, CHAIN_SUFFIX,
		    strerror(errno));
		goto out;
	}
	chain_seed(v.name, h);
	if ((c = EVP_MD_CTX_new()) == NULL || line_start(c, h) < 0)
		goto out;
	if (damaged)
		say(&v, "the compressed file (%s%s) is corrupt or cut short",
		    v.name, REC_ZSTD_SUFFIX);
	while ((got = (ssize_t)fread(buf, 1, sizeof(buf), df)) != 0) {
		size_t off = 0, len;

		len = (size_t)got;
		bytes += len;
		while (off < len) {
			unsigned char *nl = memchr(buf + off, '\n', len - off);
			size_t n = nl ? (size_t)(nl - (buf + off)) + 1 :
			    len - off;

			EVP_DigestUpdate(c, buf + off, n);
			off += n;
			if (nl == NULL) {
				partial += n;
				break;
			}
			partial = 0;
			EVP_DigestFinal_ex(c, h, NULL);
			line_start(c, h);
			lines++;
			chain_hex(h, CHAIN_HASH_LEN, hex);
			if (sidedone)
				continue;
			r = side_line(sf, side, sizeof(side));
			if (r < 0) {
				say(&v, "chain file malformed at line %llu",
				    (unsigned long long)lines);
				goto out;
			}
			if (r == 0 || strncmp(side, "seal ", 5) == 0) {
				/* Lines the chain does not cover. */
				sidedone = 1;
				have_seal = r > 0;
				if (have_seal) {
					say(&v, "line %llu: data after the"
					    " sealed end (appended lines)",
					    (unsigned long long)lines);
					goto out;
				}
				continue;
			}
			if (strcmp(side, hex) != 0) {
				say(&v, "line %llu: chain broken (a line"
				    " altered, inserted or deleted here)",
				    (unsigned long long)lines);
				goto out;
			}
		}
	}
	if (ferror(df)) {
		say(&v, "read error");
		goto out;
	}
	if (sidedone) {
		/* Unsealed with lines past the chain: a crash between the
		 * recording's write and the chain's. */
		say(&v, "unfinished (no seal); lines from %llu on are not"
		    " covered by the chain",
		    (unsigned long long)(lines));
		rc = CHAIN_UNFINISHED;
		goto out;
	}
	r = side_line(sf, side, sizeof(side));
	if (r < 0) {
		say(&v, "chain file malformed after line %llu",
		    (unsigned long long)lines);
		goto out;
	}
	if (r > 0 && strncmp(side, "seal ", 5) != 0) {
		say(&v, "truncated: the file ends at line %llu%s, the chain"
		    " goes on", (unsigned long long)lines,
		    partial ? " (a partial line follows)" : "");
		goto out;
	}
	if (r == 0) {
		if (partial)
			say(&v, "unfinished (no seal); %llu bytes of a partial"
			    " last line", (unsigned long long)partial);
		else
			say(&v, "unfinished (no seal)");
		rc = CHAIN_UNFINISHED;
		goto out;
	}
	if (parse_seal(side, &slines, &sbytes, schain, shmac) < 0) {
		say(&v, "seal line malformed");
		goto out;
	}
	if (side_line(sf, side, sizeof(side)) != 0) {
		say(&v, "chain file has data after the seal");
		goto out;
	}
	if (partial) {
		say(&v, "line %llu: data after the sealed end (partial line"
		    " appended)", (unsigned long long)lines + 1);
		goto out;
	}
	chain_hex(h, CHAIN_HASH_LEN, hex);
	if (slines != lines || sbytes != bytes || strcmp(schain, hex) != 0) {
		say(&v, "seal mismatch: sealed %llu lines, %llu bytes; the"
		    " file has %llu lines, %llu bytes",
		    (unsigned long long)slines, (unsigned long long)sbytes,
		    (unsigned long long)lines, (unsigned long long)bytes);
		goto out;
	}
	if (key == NULL) {
		say(&v, "seal not checked: no key");
		goto out;
	}
	if (seal_compute(key, keylen, v.name, lines, bytes, hex, mac) < 0)
		goto out;
	chain_hex(mac, sizeof(mac), machex);
	if (CRYPTO_memcmp(machex, shmac, sizeof(machex)) != 0) {
		say(&v, "seal mismatch: the HMAC is not this bastion's seal"
		    " of this file");
		goto out;
	}
	rc = damaged ? CHAIN_BAD : CHAIN_OK;
out:
	EVP_MD_CTX_free(c);
	if (sf != NULL)
		fclose(sf);
	if (df != NULL)
		fclose(df);
	return rc;
}
