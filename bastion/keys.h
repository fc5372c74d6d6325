/*
 * keys.h - public keys as they are written in hvbastion.conf: the
 * "TYPE BASE64 [comment]" line of a .pub file.
 */
#ifndef HVB_KEYS_H
#define HVB_KEYS_H

#include <stddef.h>

#include <libssh/libssh.h>

/* Imports "TYPE BASE64[ comment]"; returns 0 or -1. */
int	keys_import_line(const char *line, ssh_key *key);
/* "SHA256:..." of a key, or "(unknown)". */
void	keys_fingerprint(ssh_key key, char *buf, size_t len);

#endif
