/*
 * names.h - the safe character sets for names that people type.
 *
 * Person, target and credential names: a letter or digit, then letters,
 * digits, '.', '_' or '-', at most NAMES_MAX characters.  '+' and '@' are
 * separators in "alice+root+pve1" and "root@pve1", so never part of a name.
 */
#ifndef HVB_NAMES_H
#define HVB_NAMES_H

#define NAMES_MAX	64

int	names_valid(const char *);
/* A login on a target: like a POSIX user name (may start with '_'). */
int	names_valid_login(const char *);
/* A host name or an IPv4/IPv6 literal. */
int	names_valid_address(const char *);
/*
 * A Proxmox realm id (pve-access-control src/PVE/Auth/Plugin.pm:
 * $realm_regex [A-Za-z][A-Za-z0-9\.\-_]+, maxLength 32).
 */
int	names_valid_realm(const char *);

#endif
