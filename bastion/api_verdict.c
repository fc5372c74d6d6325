/*
 * api_verdict.c - the API network child's kept answers of its monitor
 * (api_verdict.h).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "api_verdict.h"

struct verdict {
	time_t		sec;		/* 0: empty */
	unsigned long	gen;
	unsigned char	key[API_VERDICT_KEY_LEN];
	uint8_t		flag;
	uint8_t		token_status;
	char		userid[API_MON_USERID_MAX + 1];
	char		header[API_MON_HEADER_MAX + 1];
};

static struct verdict	kept[API_VERDICT_SLOTS];

/* Length-prefixed, so that no two requests share a byte string. */
static int
digest_field(EVP_MD_CTX *md, const void *p, size_t len)
{
	uint32_t n = (uint32_t)len;

	return EVP_DigestUpdate(md, &n, sizeof(n)) == 1 &&
	    EVP_DigestUpdate(md, p, len) == 1 ? 0 : -1;
}

int
api_verdict_key(const struct api_mon_msg *q,
    unsigned char key[API_VERDICT_KEY_LEN])
{
	const char *fields[] = { q->credential, q->csrf, q->acl_path,
	    q->privilege, q->pool };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned char head[2] = { q->kind, q->flag };
	unsigned int n = 0;
	size_t i;
	int rc = -1;

	if (md == NULL)
		return -1;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 ||
	    digest_field(md, head, sizeof(head)) < 0)
		goto out;
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
		if (digest_field(md, fields[i], strlen(fields[i])) < 0)
			goto out;
	if (EVP_DigestFinal_ex(md, key, &n) == 1 && n == API_VERDICT_KEY_LEN)
		rc = 0;
out:
	EVP_MD_CTX_free(md);
	return rc;
}

int
api_verdict_find(const unsigned char key[API_VERDICT_KEY_LEN], time_t now,
    unsigned long gen, struct api_mon_msg *rep)
{
	struct verdict *v, *hit = NULL;
	size_t i;

	for (i = 0; i < API_VERDICT_SLOTS; i++) {
		v = &kept[i];
		if (v->sec == 0)
			continue;
		if (v->sec != now || v->gen != gen || gen == 0) {
			explicit_bzero(v, sizeof(*v));
			continue;
		}
		if (hit == NULL && CRYPTO_memcmp(v->key, key,
		    API_VERDICT_KEY_LEN) == 0)
			hit = v;
	}
	if (hit == NULL)
		return 0;
	memset(rep, 0, sizeof(*rep));
	rep->type = API_MON_REP_AUTH;
	rep->status = API_MON_OK;
	rep->flag = hit->flag;
	rep->token_status = hit->token_status;
	memcpy(rep->userid, hit->userid, sizeof(rep->userid));
	memcpy(rep->header, hit->header, sizeof(rep->header));
	return 1;
}

void
api_verdict_keep(const unsigned char key[API_VERDICT_KEY_LEN], time_t now,
    unsigned long gen, const struct api_mon_msg *rep)
{
	struct verdict *v = NULL;
	size_t i;

	/* A held token refused or failed is asked again next time. */
	if (gen == 0 || now == 0 || rep->status != API_MON_OK ||
	    (rep->token_status != API_MON_OK &&
	    rep->token_status != API_MON_NONE))
		return;
	for (i = 0; i < API_VERDICT_SLOTS && v == NULL; i++)
		if (kept[i].sec == 0 || kept[i].sec != now ||
		    kept[i].gen != gen)
			v = &kept[i];
	if (v == NULL)
		return;		/* full for this second: ask next time */
	explicit_bzero(v, sizeof(*v));
	v->sec = now;
	v->gen = gen;
	memcpy(v->key, key, API_VERDICT_KEY_LEN);
	v->flag = rep->flag;
	v->token_status = rep->token_status;
	snprintf(v->userid, sizeof(v->userid), "%s", rep->userid);
	snprintf(v->header, sizeof(v->header), "%s", rep->header);
}

void
api_verdict_wipe(void)
{
	explicit_bzero(kept, sizeof(kept));
}

time_t
api_verdict_second(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
		return time(NULL);
	return ts.tv_sec;
}
