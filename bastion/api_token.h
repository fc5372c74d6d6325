/*
 * api_token.h - personal API tokens of the bastion:
 *
 *	Authorization: PVEAPIToken=alice@pve!ci=<secret>
 *	Authorization: PVEAPIToken alice@pve!ci=<secret>
 *
 * A token is bound to its person (and through them to their roles, as a
 * ticket is); only a SHA-256 of the secret is stored, in
 * STATE/api-tokens/<person> (0600, one "TOKENID HASH CREATED" line per
 * token).  "hvbastion api-token create|list|revoke" manages them.
 */
#ifndef HVB_API_TOKEN_H
#define HVB_API_TOKEN_H

#include <stddef.h>

#define API_TOKEN_ID_MAX	64
#define API_TOKEN_SECRET_LEN	36	/* a UUID */

/*
 * Checks the value after "PVEAPIToken=" / "PVEAPIToken ".  userid gets
 * "person@realm".  0, or -EACCES with why.
 */
int	api_token_check(const char *state_dir, const char *value, char *userid,
	    size_t userlen, char *why, size_t whylen);

/* Creates PERSON's token TOKENID; secret gets the new UUID.  -EEXIST... */
int	api_token_create(const char *state_dir, const char *person,
	    const char *tokenid, char *secret, size_t secretlen);
/* Removes it; -ENOENT when there was none. */
int	api_token_revoke(const char *state_dir, const char *person,
	    const char *tokenid);
/* Calls fn for each of PERSON's tokens. */
int	api_token_list(const char *state_dir, const char *person,
	    void (*fn)(void *, const char *tokenid, long created), void *arg);
/* 1 for a valid token id. */
int	api_token_valid_id(const char *);

#endif
