/*
 * chain.h - a running SHA-256 chain over the lines of a recording, kept in
 * a sidecar file <recording>.chain, and its verification.
 *
 * h[0] = SHA-256("hvbastion-chain v1" NUL basename)
 * h[i] = SHA-256(h[i-1] || line i, newline included)
 *
 * The sidecar holds one hex h[i] a line, written out together with the
 * recording's own buffer, and when the session ends a seal line
 *   seal v1 lines=N bytes=B chain=<hex h[N]> hmac=<hex>
 * whose HMAC (seal.h) binds the file name, N, B and h[N] under a key the
 * recording tools never hand out.  The recording itself is left as it is,
 * so a .cast still plays in stock asciinema.
 */
#ifndef HVB_CHAIN_H
#define HVB_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#define CHAIN_HASH_LEN	32
#define CHAIN_HEX_LEN	(2 * CHAIN_HASH_LEN)
#define CHAIN_SUFFIX	".chain"

struct chain;

/* Creates <datapath>.chain (O_EXCL, 0600).  NULL with errno set. */
struct chain	*chain_open(const char *datapath);
/* Feeds bytes that were (or are about to be) written to the recording. */
int	chain_update(struct chain *, const void *buf, size_t len);
/* Writes the chain values of the complete lines fed so far. */
int	chain_flush(struct chain *);
/* Flushes, then fdatasyncs the sidecar. */
int	chain_sync(struct chain *);
/*
 * Flushes and appends the seal line (seal.h signs it).  On success desc
 * (at least CHAIN_DESC_LEN bytes) says "lines=N chain=HEX hmac=HEX" for
 * the daemon log.
 */
#define CHAIN_DESC_LEN	192
int	chain_seal(struct chain *, char *desc, size_t desclen);
/* Closes and frees (no seal: the recording then verifies "unfinished"). */
int	chain_close(struct chain *);

/* The seed h[0] for a recording named basename. */
void	chain_seed(const char *basename, unsigned char h[CHAIN_HASH_LEN]);
void	chain_hex(const unsigned char *bin, size_t len, char *hex);

enum chain_verdict {
	CHAIN_OK = 0,		/* whole, sealed, seal good */
	CHAIN_UNFINISHED,	/* chain good so far, no seal */
	CHAIN_BAD,		/* altered, truncated, seal mismatch ... */
};

/*
 * Verifies datapath against its sidecar.  key may be NULL (then a seal is
 * reported as not checked, which is CHAIN_BAD).  report() gets one
 * human-readable line per finding ("line 12: chain broken ..."); the
 * caller escapes nothing: messages carry no recorded bytes.
 */
enum chain_verdict chain_verify(const char *datapath,
	    const unsigned char *key, size_t keylen,
	    void (*report)(void *, const char *), void *arg);

#endif
