/*
 * keys.c - public keys as they are written in hvbastion.conf.
 */
#include <stdio.h>
#include <string.h>

#include "keys.h"

int
keys_import_line(const char *line, ssh_key *key)
{
	char type[64], blob[8192];
	const char *sp = strchr(line, ' '), *end;
	size_t bloblen;

	*key = NULL;
	if (sp == NULL || (size_t)(sp - line) >= sizeof(type))
		return -1;
	memcpy(type, line, (size_t)(sp - line));
	type[sp - line] = '\0';
	end = strchr(sp + 1, ' ');
	bloblen = end != NULL ? (size_t)(end - sp - 1) : strlen(sp + 1);
	if (bloblen == 0 || bloblen >= sizeof(blob))
		return -1;
	memcpy(blob, sp + 1, bloblen);
	blob[bloblen] = '\0';
	if (ssh_key_type_from_name(type) == SSH_KEYTYPE_UNKNOWN ||
	    ssh_pki_import_pubkey_base64(blob, ssh_key_type_from_name(type),
	    key) != SSH_OK) {
		*key = NULL;
		return -1;
	}
	return 0;
}

void
keys_fingerprint(ssh_key key, char *buf, size_t len)
{
	unsigned char *hash = NULL;
	size_t hlen = 0;
	char *fp = NULL;

	snprintf(buf, len, "(unknown)");
	if (key != NULL && ssh_get_publickey_hash(key,
	    SSH_PUBLICKEY_HASH_SHA256, &hash, &hlen) == 0 &&
	    (fp = ssh_get_fingerprint_hash(SSH_PUBLICKEY_HASH_SHA256, hash,
	    hlen)) != NULL)
		snprintf(buf, len, "%s", fp);
	ssh_string_free_char(fp);
	ssh_clean_pubkey_hash(&hash);
}
