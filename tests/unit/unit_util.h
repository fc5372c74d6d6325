/*
 * unit_util.h - helpers shared by the cmocka unit tests: a private temporary
 * directory, files written into it, fresh SSH keys and a collector for
 * config_load() reports.
 *
 * Header-only (static functions) because the Makefile builds each
 * tests/unit/test_*.c on its own against the core objects.
 */
#ifndef HVB_UNIT_UTIL_H
#define HVB_UNIT_UTIL_H

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libssh/libssh.h>

#define UNIT_UNUSED	__attribute__((unused))
#define UNIT_MSGS_MAX	128

/* Creates a fresh directory under $TMPDIR (or /tmp); NULL on failure. */
static UNIT_UNUSED char *
unit_mkdtemp(char *buf, size_t len)
{
	const char *tmp = getenv("TMPDIR");

	if (tmp == NULL || tmp[0] == '\0')
		tmp = "/tmp";
	if ((size_t)snprintf(buf, len, "%s/hvb-unit.XXXXXX", tmp) >= len)
		return NULL;
	return mkdtemp(buf);
}

/* Removes a directory made by unit_mkdtemp and the plain files in it. */
static UNIT_UNUSED void
unit_rmtree(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* Writes len bytes to dir/name with the given mode; 0 or -1. */
static UNIT_UNUSED int
unit_write_file(const char *dir, const char *name, const void *data,
    size_t len, mode_t mode, char *path, size_t pathlen)
{
	const char *p = data;
	int fd;

	if ((size_t)snprintf(path, pathlen, "%s/%s", dir, name) >= pathlen)
		return -1;
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) < 0)
		return -1;
	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	/* The umask may have narrowed the mode; the tests need it exact. */
	if (fchmod(fd, mode) < 0) {
		close(fd);
		return -1;
	}
	return close(fd);
}

/*
 * Makes a fresh ed25519 key with libssh and writes "ssh-ed25519 BASE64" to
 * out.  libssh rather than ssh-keygen so the tests need no external program.
 */
static UNIT_UNUSED int
unit_new_pubkey(char *out, size_t len)
{
	ssh_key key = NULL;
	char *b64 = NULL;
	int rc = -1;

	if (ssh_pki_generate(SSH_KEYTYPE_ED25519, 0, &key) != SSH_OK)
		goto out;
	if (ssh_pki_export_pubkey_base64(key, &b64) != SSH_OK)
		goto out;
	if ((size_t)snprintf(out, len, "ssh-ed25519 %s", b64) < len)
		rc = 0;
out:
	ssh_string_free_char(b64);
	ssh_key_free(key);
	return rc;
}

/* Collects what config_load() reports. */
struct unit_msgs {
	char	*v[UNIT_MSGS_MAX];
	size_t	 n;
};

static UNIT_UNUSED void
unit_msgs_add(void *arg, const char *msg)
{
	struct unit_msgs *m = arg;

	if (m->n < UNIT_MSGS_MAX)
		m->v[m->n++] = strdup(msg);
}

static UNIT_UNUSED void
unit_msgs_clear(struct unit_msgs *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		free(m->v[i]);
	m->n = 0;
}

static UNIT_UNUSED void
unit_msgs_print(const struct unit_msgs *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		fprintf(stderr, "    reported: %s\n",
		    m->v[i] != NULL ? m->v[i] : "(null)");
}

/*
 * Copies tmpl to out, replacing each @KEY@ by the value of the same index.
 * Returns 0, or -1 when out is too small.
 */
static UNIT_UNUSED int
unit_subst(char *out, size_t len, const char *tmpl, const char *const *keys,
    const char *const *vals, size_t nkeys)
{
	size_t o = 0, i;

	while (*tmpl != '\0') {
		const char *rep = NULL;
		size_t klen = 0;

		for (i = 0; i < nkeys; i++) {
			klen = strlen(keys[i]);
			if (strncmp(tmpl, keys[i], klen) == 0) {
				rep = vals[i];
				break;
			}
		}
		if (rep != NULL) {
			size_t rlen = strlen(rep);

			if (o + rlen >= len)
				return -1;
			memcpy(out + o, rep, rlen);
			o += rlen;
			tmpl += klen;
		} else {
			if (o + 1 >= len)
				return -1;
			out[o++] = *tmpl++;
		}
	}
	out[o] = '\0';
	return 0;
}

#endif
