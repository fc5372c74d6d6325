/*
 * totp_store.h - per-user TOTP state (RFC 6238 on liboath), shared by the
 * PAM module pam_hvbastion.so and "hvbastion totp enroll".
 *
 * Library code: every function returns an enum totp_result and never exits
 * or prints; on TOTP_ERROR errno says what failed.  User names are the
 * bastion's person names, [A-Za-z0-9][A-Za-z0-9._-]{0,63}; anything else
 * is refused with TOTP_ERROR and errno EINVAL.  The layout on disk is described at the top of totp_store.c
 * and in pam_hvbastion(8).
 */
#ifndef HVB_TOTP_STORE_H
#define HVB_TOTP_STORE_H

#include <stddef.h>
#include <time.h>

/*
 * Hidden: linked into pam_hvbastion.so, these must neither be exported to
 * the application that loads the module nor be interposed by its symbols.
 */
#pragma GCC visibility push(hidden)

#define TOTP_SECRET_BYTES 20	/* RFC 4226 recommends 160 bits */

enum totp_result {
	TOTP_OK = 0,
	TOTP_BAD_CODE = -1,
	TOTP_REPLAY = -2,
	TOTP_NO_SECRET = -3,
	TOTP_UNSAFE = -4,
	TOTP_ERROR = -5
};

struct totp_params {
	unsigned	digits;		/* 6 or 8 */
	unsigned	step;		/* seconds, 30 */
	int		window;		/* steps either side, 1 */
};

/*
 * The directory must be a real directory (not a symlink) owned by root or
 * the caller's euid, not writable by group or others (pam_oath
 * CVE-2024-47191); its ancestors must be owned by root or the euid and not
 * writable by group or others unless sticky.  err (may be NULL) says why not.
 */
int	totp_store_check_dir(const char *dir, char *err, size_t errlen);

/*
 * Generates a new random secret (getrandom), stores it for user (replacing
 * any old one and resetting the replay counter) atomically, mode 0600, and
 * returns its base32 form (no padding) in b32 (size >= 64).  The file is
 * owned by the caller's euid: run it as the user that verifies (the
 * daemon's), not as root in a directory that user owns.
 */
int	totp_store_enroll(const char *dir, const char *user, char *b32,
	    size_t b32len);

/*
 * Verifies code for user at time now: accepts a code within +-window steps,
 * rejects any code whose time step is at or below the last accepted one
 * (RFC 6238 5.2 replay) and records the accepted one, all under an
 * exclusive per-user lock.  Refuses (TOTP_UNSAFE) state files that are not
 * regular, not owned by the euid or root, or open to group/others.
 */
int	totp_store_verify(const char *dir, const char *user, const char *code,
	    time_t now, const struct totp_params *);

/* A short, static description of a totp_result. */
const char *totp_store_strerror(int);

/* 1 for a bastion person name (names.h's set); anything else could be a
 * path trick. */
int	totp_store_valid_user(const char *);

#pragma GCC visibility pop

#endif
