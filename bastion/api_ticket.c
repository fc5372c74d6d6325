/*
 * api_ticket.c - tickets and CSRF tokens of the API front (see
 * api_ticket.h).  Constant-time comparisons; the key never leaves this
 * file and is wiped on exit paths that own it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "api_ticket.h"
#include "names.h"

#define KEY_LABEL	"hvbastion api ticket v1"
#define MAC_LEN		32

static unsigned char ticket_key[MAC_LEN];
static int have_key;

int
api_ticket_set_key(const unsigned char *state_key, size_t len)
{
	unsigned int n = MAC_LEN;

	if (HMAC(EVP_sha256(), state_key, (int)len,
	    (const unsigned char *)KEY_LABEL, sizeof(KEY_LABEL) - 1,
	    ticket_key, &n) == NULL || n != MAC_LEN)
		return -1;
	have_key = 1;
	return 0;
}

void
api_ticket_wipe_key(void)
{
	explicit_bzero(ticket_key, sizeof(ticket_key));
	have_key = 0;
}

int
api_userid_split(const char *userid, char *name, size_t namelen,
    char *realm, size_t realmlen)
{
	const char *at = strrchr(userid, '@');
	size_t nl;

	if (at == NULL || strlen(userid) >= API_USERID_MAX)
		return -EINVAL;
	nl = (size_t)(at - userid);
	if (nl == 0 || nl >= namelen || strlen(at + 1) >= realmlen)
		return -EINVAL;
	memcpy(name, userid, nl);
	name[nl] = '\0';
	snprintf(realm, realmlen, "%s", at + 1);
	/* Whether the realm is accepted is the configuration's (api-realms,
	 * checked by the API front); here only its form. */
	if (!names_valid(name) || !names_valid_realm(realm))
		return -EINVAL;
	return 0;
}

/* Hex HMAC of the NUL-separated parts under the ticket key. */
static int
mac_hex(const char *kind, const char *a, const char *b, char hex[65])
{
	unsigned char mac[MAC_LEN], msg[3 * (API_USERID_MAX + 32)];
	unsigned int n = MAC_LEN;
	size_t kl = strlen(kind) + 1, al = strlen(a) + 1, bl = strlen(b) + 1;
	int i, rc = -1;

	if (!have_key || kl + al + bl > sizeof(msg))
		return -1;
	memcpy(msg, kind, kl);
	memcpy(msg + kl, a, al);
	memcpy(msg + kl + al, b, bl);
	if (HMAC(EVP_sha256(), ticket_key, MAC_LEN, msg, kl + al + bl, mac,
	    &n) != NULL && n == MAC_LEN) {
		for (i = 0; i < MAC_LEN; i++)
			snprintf(hex + 2 * i, 3, "%02X", mac[i]);
		rc = 0;
	}
	explicit_bzero(mac, sizeof(mac));
	return rc;
}

int
api_ticket_make(const char *userid, int partial, time_t now, char *out,
    size_t outlen)
{
	char t[16], hex[65], name[NAMES_MAX + 1], realm[40];
	int n;

	if (api_userid_split(userid, name, sizeof(name), realm,
	    sizeof(realm)) < 0)
		return -EINVAL;
	snprintf(t, sizeof(t), "%08llX", (unsigned long long)now);
	if (mac_hex(partial ? "tfa" : "ticket", userid, t, hex) < 0)
		return -EIO;
	n = snprintf(out, outlen, "PVE:%s%s:%s::%s", partial ? "!tfa!" : "",
	    userid, t, hex);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

/* Strict hex time of 8 to 16 digits. */
static int
parse_hextime(const char *s, size_t len, time_t *out)
{
	unsigned long long v = 0;
	size_t i;

	if (len < 8 || len > 16)
		return -1;
	for (i = 0; i < len; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9' ? c - '0' :
		    c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (d < 0)
			return -1;
		v = v << 4 | (unsigned)d;
	}
	if (v > (unsigned long long)0x7fffffffffffLL)
		return -1;
	*out = (time_t)v;
	return 0;
}

static int
fresh(time_t t, time_t now, int lifetime)
{
	if (t > now + API_TICKET_SKEW)
		return 0;
	return now - t < lifetime;
}

int
api_ticket_check(const char *ticket, int partial, time_t now, int lifetime,
    char *userid, size_t userlen)
{
	char user[API_USERID_MAX], t[17], hex[65], name[NAMES_MAX + 1],
	    realm[40];
	const char *p, *colon, *sig;
	time_t when;
	size_t ul;

	if (strncmp(ticket, "PVE:", 4) != 0)
		return -EACCES;
	p = ticket + 4;
	if (strncmp(p, "!tfa!", 5) == 0) {
		if (!partial)
			return -EACCES;
		p += 5;
	} else if (partial)
		return -EACCES;
	if ((colon = strchr(p, ':')) == NULL)
		return -EACCES;
	ul = (size_t)(colon - p);
	if (ul == 0 || ul >= sizeof(user))
		return -EACCES;
	memcpy(user, p, ul);
	user[ul] = '\0';
	if (api_userid_split(user, name, sizeof(name), realm,
	    sizeof(realm)) < 0)
		return -EACCES;
	p = colon + 1;
	if ((sig = strstr(p, "::")) == NULL || (size_t)(sig - p) >= sizeof(t))
		return -EACCES;
	memcpy(t, p, (size_t)(sig - p));
	t[sig - p] = '\0';
	sig += 2;
	if (parse_hextime(t, strlen(t), &when) < 0 || strlen(sig) != 64 ||
	    mac_hex(partial ? "tfa" : "ticket", user, t, hex) < 0)
		return -EACCES;
	if (CRYPTO_memcmp(hex, sig, 64) != 0)
		return -EACCES;
	if (!fresh(when, now, partial ? API_TFA_LIFETIME : lifetime))
		return -ETIMEDOUT;
	if (strlen(user) >= userlen)
		return -EACCES;
	snprintf(userid, userlen, "%s", user);
	return 0;
}

int
api_csrf_make(const char *userid, time_t now, char *out, size_t outlen)
{
	char t[16], hex[65];
	int n;

	snprintf(t, sizeof(t), "%08llX", (unsigned long long)now);
	if (mac_hex("csrf", userid, t, hex) < 0)
		return -EIO;
	n = snprintf(out, outlen, "%s:%s", t, hex);
	return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
}

int
api_csrf_check(const char *token, const char *userid, time_t now,
    int lifetime)
{
	const char *colon = strchr(token, ':');
	char t[17], hex[65];
	time_t when;

	if (colon == NULL || (size_t)(colon - token) >= sizeof(t))
		return -EACCES;
	memcpy(t, token, (size_t)(colon - token));
	t[colon - token] = '\0';
	if (parse_hextime(t, strlen(t), &when) < 0 ||
	    strlen(colon + 1) != 64 || mac_hex("csrf", userid, t, hex) < 0 ||
	    CRYPTO_memcmp(hex, colon + 1, 64) != 0)
		return -EACCES;
	return fresh(when, now, lifetime) ? 0 : -ETIMEDOUT;
}
