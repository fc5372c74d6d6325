/*
 * sftp_parse.c - a bounded SFTP v3 follower for the session log
 * (draft-ietf-secsh-filexfer-02 and OpenSSH's extensions).
 *
 * Every byte comes from a client or a target and is hostile: each field is
 * read through rd_*() which check what is left, lengths are checked against
 * SFTP_MAX_PACKET before any buffering, and the tables are fixed in size.
 * Requests are kept in a table indexed by id modulo SFTP_MAX_PENDING:
 * clients number requests in sequence, so two requests in flight only meet
 * in a slot when more than SFTP_MAX_PENDING are outstanding, which is an
 * error (OpenSSH keeps at most 64 in flight by default).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "session_log.h"
#include "chain.h"
#include "sftp_parse.h"

/* Packet types (draft-02 section 3). */
#define FXP_INIT		1
#define FXP_VERSION		2
#define FXP_OPEN		3
#define FXP_CLOSE		4
#define FXP_READ		5
#define FXP_WRITE		6
#define FXP_SETSTAT		9
#define FXP_FSETSTAT		10
#define FXP_OPENDIR		11
#define FXP_REMOVE		13
#define FXP_MKDIR		14
#define FXP_RMDIR		15
#define FXP_RENAME		18
#define FXP_SYMLINK		20
#define FXP_STATUS		101
#define FXP_HANDLE		102
#define FXP_DATA		103
#define FXP_NAME		104
#define FXP_ATTRS		105
#define FXP_EXTENDED		200
#define FXP_EXTENDED_REPLY	201

#define FXF_READ		0x01
#define FXF_WRITE		0x02
#define FXF_APPEND		0x04
#define FXF_CREAT		0x08
#define FXF_TRUNC		0x10
#define FXF_EXCL		0x20

#define ATTR_SIZE		0x01
#define ATTR_UIDGID		0x02
#define ATTR_PERMISSIONS	0x04
#define ATTR_ACMODTIME		0x08
#define ATTR_EXTENDED		0x80000000u

#define ATTR_EXT_MAX		64

struct rd {
	const unsigned char	*p;
	size_t			 n;
};

struct blob {
	char	*p;
	size_t	 n;
};

struct attrs {
	uint32_t	flags;
	uint64_t	size;
	uint32_t	uid, gid, perm, atime, mtime;
};

struct req {
	int		used;
	uint32_t	id;
	int		type;		/* FXP_*, or FXP_EXTENDED */
	const char	*op;		/* for the path operations */
	int		handle;		/* index, or -1 */
	uint64_t	offset;
	uint32_t	flags;
	struct blob	path, path2;
	struct attrs	attrs;
	int		has_attrs;
};

struct handle {
	int		used;
	int		is_dir;
	unsigned char	h[SFTP_MAX_HANDLE_LEN];
	size_t		hlen;
	struct blob	path;
	uint32_t	flags;
	uint64_t	nbytes[2], next[2];	/* 0: read, 1: written */
	int		unordered[2];
	unsigned long	errors;
	EVP_MD_CTX	*md[2];
	int		closing;
};

struct sftp_parse {
	sftp_event_fn	 fn;
	void		*arg;
	int		 failed;
	char		 error[160];
	unsigned char	*buf[2];
	size_t		 len[2];
	unsigned long	 nevents;
	struct req	 reqs[SFTP_MAX_PENDING];
	struct handle	 handles[SFTP_MAX_HANDLES];
};

/* --- reading fields -------------------------------------------------------- */

static int
rd_u8(struct rd *r, uint8_t *v)
{
	if (r->n < 1)
		return -1;
	*v = r->p[0];
	r->p++;
	r->n--;
	return 0;
}

static int
rd_u32(struct rd *r, uint32_t *v)
{
	if (r->n < 4)
		return -1;
	*v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
	    (uint32_t)r->p[2] << 8 | (uint32_t)r->p[3];
	r->p += 4;
	r->n -= 4;
	return 0;
}

static int
rd_u64(struct rd *r, uint64_t *v)
{
	uint32_t hi, lo;

	if (rd_u32(r, &hi) < 0 || rd_u32(r, &lo) < 0)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* A string points into the packet; its length is checked, never trusted. */
static int
rd_string(struct rd *r, const unsigned char **s, size_t *len)
{
	uint32_t n;

	if (rd_u32(r, &n) < 0 || n > r->n)
		return -1;
	*s = r->p;
	*len = n;
	r->p += n;
	r->n -= n;
	return 0;
}

static int
rd_attrs(struct rd *r, struct attrs *a)
{
	const unsigned char *s;
	size_t len;
	uint32_t i, next;

	memset(a, 0, sizeof(*a));
	if (rd_u32(r, &a->flags) < 0)
		return -1;
	if ((a->flags & ATTR_SIZE) && rd_u64(r, &a->size) < 0)
		return -1;
	if ((a->flags & ATTR_UIDGID) && (rd_u32(r, &a->uid) < 0 ||
	    rd_u32(r, &a->gid) < 0))
		return -1;
	if ((a->flags & ATTR_PERMISSIONS) && rd_u32(r, &a->perm) < 0)
		return -1;
	if ((a->flags & ATTR_ACMODTIME) && (rd_u32(r, &a->atime) < 0 ||
	    rd_u32(r, &a->mtime) < 0))
		return -1;
	if (a->flags & ATTR_EXTENDED) {
		if (rd_u32(r, &next) < 0 || next > ATTR_EXT_MAX)
			return -1;
		for (i = 0; i < next; i++)
			if (rd_string(r, &s, &len) < 0 ||
			    rd_string(r, &s, &len) < 0)
				return -1;
	}
	return 0;
}

/* --- helpers ------------------------------------------------------------- */

static int
fail(struct sftp_parse *sp, const char *why)
{
	if (!sp->failed)
		snprintf(sp->error, sizeof(sp->error), "%s", why);
	sp->failed = 1;
	return -1;
}

static int
blob_set(struct blob *b, const unsigned char *s, size_t n)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
	if ((b->p = malloc(n + 1)) == NULL)
		return -1;
	memcpy(b->p, s, n);
	b->p[n] = '\0';
	b->n = n;
	return 0;
}

static void
blob_free(struct blob *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

static json_t *
blob_json(const struct blob *b)
{
	return session_log_string(b->p != NULL ? b->p : "", b->n);
}

static void
emit(struct sftp_parse *sp, json_t *ev)
{
	if (ev == NULL)
		return;
	sp->nevents++;
	sp->fn(sp->arg, ev);
}

static const char *
status_name(uint32_t code)
{
	static const char *names[] = { "ok", "eof", "no such file",
	    "permission denied", "failure", "bad message", "no connection",
	    "connection lost", "unsupported" };

	if (code < sizeof(names) / sizeof(names[0]))
		return names[code];
	return "error";
}

static void
flags_text(uint32_t f, char *out, size_t len)
{
	static const struct {
		uint32_t	 bit;
		const char	*name;
	} bits[] = { { FXF_READ, "read" }, { FXF_WRITE, "write" },
	    { FXF_APPEND, "append" }, { FXF_CREAT, "creat" },
	    { FXF_TRUNC, "trunc" }, { FXF_EXCL, "excl" } };
	size_t i, o = 0;

	out[0] = '\0';
	for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
		if (!(f & bits[i].bit))
			continue;
		o += (size_t)snprintf(out + o, len - o, "%s%s",
		    o ? "," : "", bits[i].name);
		if (o >= len)
			break;
	}
}

static void
attrs_json(json_t *ev, const struct attrs *a)
{
	char mode[16];

	if (a->flags & ATTR_SIZE)
		json_object_set_new(ev, "size", json_integer(
		    (json_int_t)(a->size > INT64_MAX ? INT64_MAX : a->size)));
	if (a->flags & ATTR_UIDGID) {
		json_object_set_new(ev, "uid", json_integer(a->uid));
		json_object_set_new(ev, "gid", json_integer(a->gid));
	}
	if (a->flags & ATTR_PERMISSIONS) {
		snprintf(mode, sizeof(mode), "%04o", a->perm & 07777);
		json_object_set_new(ev, "mode", json_string(mode));
	}
	if (a->flags & ATTR_ACMODTIME)
		json_object_set_new(ev, "mtime", json_integer(a->mtime));
}

/* --- requests and handles ------------------------------------------------- */

static void
req_clear(struct req *q)
{
	blob_free(&q->path);
	blob_free(&q->path2);
	memset(q, 0, sizeof(*q));
}

static struct req *
req_new(struct sftp_parse *sp, uint32_t id, int type)
{
	struct req *q = &sp->reqs[id % SFTP_MAX_PENDING];

	if (q->used && q->id != id) {
		fail(sp, "too many sftp requests in flight");
		return NULL;
	}
	req_clear(q);	/* an id reused while in flight: the newer wins */
	q->used = 1;
	q->id = id;
	q->type = type;
	q->handle = -1;
	return q;
}

static struct req *
req_find(struct sftp_parse *sp, uint32_t id)
{
	struct req *q = &sp->reqs[id % SFTP_MAX_PENDING];

	return q->used && q->id == id ? q : NULL;
}

static int
handle_find(struct sftp_parse *sp, const unsigned char *h, size_t n)
{
	int i;

	if (n > SFTP_MAX_HANDLE_LEN)
		return -1;
	for (i = 0; i < SFTP_MAX_HANDLES; i++)
		if (sp->handles[i].used && sp->handles[i].hlen == n &&
		    memcmp(sp->handles[i].h, h, n) == 0)
			return i;
	return -1;
}

static void
handle_free(struct handle *h)
{
	int i;

	for (i = 0; i < 2; i++)
		EVP_MD_CTX_free(h->md[i]);
	blob_free(&h->path);
	memset(h, 0, sizeof(*h));
}

/*
 * One event per file: op "write" (an upload), "read" (a download) or
 * "close" (opened, nothing moved), with both directions' counts.
 */
static void
handle_report(struct sftp_parse *sp, struct handle *h, const char *status)
{
	static const char *dirs[2] = { "read", "written" };
	unsigned char md[EVP_MAX_MD_SIZE];
	char flags[64], key[32], hx[2 * EVP_MAX_MD_SIZE + 1];
	unsigned int mdlen;
	json_t *ev;
	int i, main;

	main = h->nbytes[1] > 0 ? 1 : h->nbytes[0] > 0 ? 0 : -1;
	flags_text(h->flags, flags, sizeof(flags));
	ev = json_pack("{s:s, s:o, s:s, s:s, s:s}", "op",
	    main == 1 ? "write" : main == 0 ? "read" : "close",
	    "path", blob_json(&h->path), "flags", flags,
	    "direction", main == 1 ? "upload" : main == 0 ? "download" :
	    "none", "status", status);
	if (ev == NULL)
		return;
	for (i = 0; i < 2; i++) {
		snprintf(key, sizeof(key), "bytes_%s", dirs[i]);
		json_object_set_new(ev, key, json_integer(
		    (json_int_t)h->nbytes[i]));
		if (h->nbytes[i] == 0)
			continue;
		if (h->unordered[i] || h->md[i] == NULL ||
		    EVP_DigestFinal_ex(h->md[i], md, &mdlen) != 1) {
			hx[0] = '\0';
		} else
			chain_hex(md, mdlen, hx);
		snprintf(key, sizeof(key), "sha256_%s", dirs[i]);
		json_object_set_new(ev, key, hx[0] ? json_string(hx) :
		    json_null());
		if (i == main) {
			json_object_set_new(ev, "bytes", json_integer(
			    (json_int_t)h->nbytes[i]));
			json_object_set_new(ev, "sha256", hx[0] ?
			    json_string(hx) : json_null());
			json_object_set_new(ev, "sequential",
			    json_boolean(!h->unordered[i]));
		}
	}
	if (h->errors > 0)
		json_object_set_new(ev, "io_errors", json_integer(
		    (json_int_t)h->errors));
	emit(sp, ev);
}

/* Counts and hashes bytes moved through a handle at offset. */
static void
handle_io(struct handle *h, int dir, uint64_t offset, const unsigned char *p,
    size_t n)
{
	if (n == 0)
		return;
	if (offset != h->next[dir])
		h->unordered[dir] = 1;
	if (!h->unordered[dir]) {
		if (h->md[dir] == NULL &&
		    (h->md[dir] = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestInit_ex(h->md[dir], EVP_sha256(), NULL) != 1) {
			EVP_MD_CTX_free(h->md[dir]);
			h->md[dir] = NULL;
		}
		if (h->md[dir] == NULL ||
		    EVP_DigestUpdate(h->md[dir], p, n) != 1)
			h->unordered[dir] = 1;	/* no digest then */
	}
	h->nbytes[dir] += n;
	h->next[dir] = offset + n;
}

/* --- client packets ------------------------------------------------------- */

static int
client_path_op(struct sftp_parse *sp, struct rd *r, uint32_t id, int type,
    const char *op, int npaths, int attrs)
{
	const unsigned char *s, *s2 = NULL;
	size_t n, n2 = 0;
	struct attrs a;
	struct req *q;

	if (rd_string(r, &s, &n) < 0)
		return fail(sp, "truncated sftp request");
	if (npaths == 2 && rd_string(r, &s2, &n2) < 0)
		return fail(sp, "truncated sftp request");
	if (attrs && rd_attrs(r, &a) < 0)
		return fail(sp, "bad sftp attributes");
	if ((q = req_new(sp, id, type)) == NULL)
		return -1;
	q->op = op;
	if (blob_set(&q->path, s, n) < 0 ||
	    (npaths == 2 && blob_set(&q->path2, s2, n2) < 0))
		return fail(sp, "out of memory");
	if (attrs) {
		q->attrs = a;
		q->has_attrs = 1;
	}
	return 0;
}

static int
client_handle_op(struct sftp_parse *sp, struct rd *r, uint32_t id, int type)
{
	const unsigned char *h, *data;
	size_t hn, dn;
	uint64_t off = 0;
	uint32_t len;
	struct attrs a;
	struct req *q;
	int hi;

	memset(&a, 0, sizeof(a));

	if (rd_string(r, &h, &hn) < 0)
		return fail(sp, "truncated sftp request");
	hi = handle_find(sp, h, hn);
	switch (type) {
	case FXP_READ:
		if (rd_u64(r, &off) < 0 || rd_u32(r, &len) < 0)
			return fail(sp, "truncated sftp read");
		break;
	case FXP_WRITE:
		if (rd_u64(r, &off) < 0 || rd_string(r, &data, &dn) < 0)
			return fail(sp, "truncated sftp write");
		if (hi >= 0)
			handle_io(&sp->handles[hi], 1, off, data, dn);
		break;
	case FXP_FSETSTAT:
		if (rd_attrs(r, &a) < 0)
			return fail(sp, "bad sftp attributes");
		break;
	default:
		break;
	}
	if (hi < 0)
		return 0;	/* not ours to follow: the server answers */
	if ((q = req_new(sp, id, type)) == NULL)
		return -1;
	q->handle = hi;
	if (type == FXP_READ)
		q->offset = off;
	if (type == FXP_FSETSTAT) {
		q->op = "setstat";
		q->attrs = a;
		q->has_attrs = 1;
		if (blob_set(&q->path, (const unsigned char *)
		    sp->handles[hi].path.p, sp->handles[hi].path.n) < 0)
			return fail(sp, "out of memory");
	}
	if (type == FXP_CLOSE)
		sp->handles[hi].closing = 1;
	return 0;
}

/* Extended requests that only ask: not worth an event. */
static int
extended_is_query(const unsigned char *name, size_t n)
{
	static const char *queries[] = { "statvfs@openssh.com",
	    "fstatvfs@openssh.com", "limits@openssh.com",
	    "expand-path@openssh.com", "home-directory",
	    "users-groups-by-id@openssh.com", "fsync@openssh.com" };
	size_t i;

	for (i = 0; i < sizeof(queries) / sizeof(queries[0]); i++)
		if (strlen(queries[i]) == n && memcmp(queries[i], name, n) == 0)
			return 1;
	return 0;
}

static int
client_extended(struct sftp_parse *sp, struct rd *r, uint32_t id)
{
	const unsigned char *name;
	size_t n;
	struct req *q;

	if (rd_string(r, &name, &n) < 0)
		return fail(sp, "truncated sftp request");
#define IS(s)	(n == sizeof(s) - 1 && memcmp(name, s, n) == 0)
	if (IS("posix-rename@openssh.com"))
		return client_path_op(sp, r, id, FXP_EXTENDED, "rename", 2, 0);
	if (IS("hardlink@openssh.com"))
		return client_path_op(sp, r, id, FXP_EXTENDED, "hardlink", 2,
		    0);
	if (IS("lsetstat@openssh.com"))
		return client_path_op(sp, r, id, FXP_EXTENDED, "setstat", 1,
		    1);
#undef IS
	if (extended_is_query(name, n))
		return 0;
	if ((q = req_new(sp, id, FXP_EXTENDED)) == NULL)
		return -1;
	q->op = "extended";
	if (blob_set(&q->path2, name, n) < 0)
		return fail(sp, "out of memory");
	return 0;
}

static int
client_packet(struct sftp_parse *sp, struct rd *r, uint8_t type)
{
	const unsigned char *s;
	size_t n;
	uint32_t id, pflags;
	struct attrs a;
	struct req *q;

	if (type == FXP_INIT)
		return 0;
	if (rd_u32(r, &id) < 0)
		return fail(sp, "truncated sftp request");
	switch (type) {
	case FXP_OPEN:
		if (rd_string(r, &s, &n) < 0 || rd_u32(r, &pflags) < 0 ||
		    rd_attrs(r, &a) < 0)
			return fail(sp, "bad sftp open");
		if ((q = req_new(sp, id, type)) == NULL)
			return -1;
		q->flags = pflags;
		if (blob_set(&q->path, s, n) < 0)
			return fail(sp, "out of memory");
		return 0;
	case FXP_OPENDIR:
		return client_path_op(sp, r, id, type, "opendir", 1, 0);
	case FXP_CLOSE:
	case FXP_READ:
	case FXP_WRITE:
	case FXP_FSETSTAT:
		return client_handle_op(sp, r, id, type);
	case FXP_SETSTAT:
		return client_path_op(sp, r, id, type, "setstat", 1, 1);
	case FXP_REMOVE:
		return client_path_op(sp, r, id, type, "remove", 1, 0);
	case FXP_MKDIR:
		return client_path_op(sp, r, id, type, "mkdir", 1, 1);
	case FXP_RMDIR:
		return client_path_op(sp, r, id, type, "rmdir", 1, 0);
	case FXP_RENAME:
		return client_path_op(sp, r, id, type, "rename", 2, 0);
	case FXP_SYMLINK:
		/* OpenSSH sends (target, link), the draft (link, target). */
		return client_path_op(sp, r, id, type, "symlink", 2, 0);
	case FXP_EXTENDED:
		return client_extended(sp, r, id);
	default:
		return 0;	/* stat, readdir, realpath...: queries */
	}
}

/* --- server packets ------------------------------------------------------- */

static void
report_path_op(struct sftp_parse *sp, struct req *q, const char *status)
{
	json_t *ev;

	ev = json_pack("{s:s, s:o, s:s}", "op", q->op,
	    "path", blob_json(&q->path), "status", status);
	if (ev == NULL)
		return;
	if (q->op != NULL && strcmp(q->op, "extended") == 0) {
		json_object_set_new(ev, "name", blob_json(&q->path2));
		json_object_del(ev, "path");
	} else if (q->path2.p != NULL)
		json_object_set_new(ev, "new_path", blob_json(&q->path2));
	if (q->has_attrs)
		attrs_json(ev, &q->attrs);
	emit(sp, ev);
}

static void
report_open_failure(struct sftp_parse *sp, struct req *q, const char *status)
{
	char flags[64];
	json_t *ev;

	flags_text(q->flags, flags, sizeof(flags));
	ev = json_pack("{s:s, s:o, s:s}", "op", q->type == FXP_OPEN ? "open" :
	    "opendir", "path", blob_json(&q->path), "status", status);
	if (ev != NULL && q->type == FXP_OPEN)
		json_object_set_new(ev, "flags", json_string(flags));
	emit(sp, ev);
}

static int
server_status(struct sftp_parse *sp, struct req *q, uint32_t code)
{
	const char *status = status_name(code);
	struct handle *h = q->handle >= 0 ? &sp->handles[q->handle] : NULL;

	switch (q->type) {
	case FXP_OPEN:
	case FXP_OPENDIR:
		report_open_failure(sp, q, status);
		break;
	case FXP_CLOSE:
		if (h != NULL && h->used) {
			if (!h->is_dir)
				handle_report(sp, h, status);
			handle_free(h);
		}
		break;
	case FXP_READ:
		if (h != NULL && h->used && code != 0 && code != 1)
			h->errors++;
		break;
	case FXP_WRITE:
		if (h != NULL && h->used && code != 0)
			h->errors++;
		break;
	default:
		if (q->op != NULL)
			report_path_op(sp, q, status);
		break;
	}
	return 0;
}

static int
server_handle(struct sftp_parse *sp, struct req *q, struct rd *r)
{
	const unsigned char *s;
	size_t n;
	struct handle *h = NULL;
	int i;

	if (rd_string(r, &s, &n) < 0 || n > SFTP_MAX_HANDLE_LEN)
		return fail(sp, "bad sftp handle");
	if (q->type != FXP_OPEN && q->type != FXP_OPENDIR)
		return 0;
	/* A handle the server gives again replaces the old one. */
	if ((i = handle_find(sp, s, n)) >= 0) {
		if (!sp->handles[i].is_dir)
			handle_report(sp, &sp->handles[i], "replaced");
		handle_free(&sp->handles[i]);
	}
	for (i = 0; i < SFTP_MAX_HANDLES && h == NULL; i++)
		if (!sp->handles[i].used)
			h = &sp->handles[i];
	if (h == NULL)
		return fail(sp, "too many sftp handles open");
	h->used = 1;
	h->is_dir = q->type == FXP_OPENDIR;
	memcpy(h->h, s, n);
	h->hlen = n;
	h->flags = q->flags;
	h->path = q->path;	/* moved */
	q->path.p = NULL;
	q->path.n = 0;
	if (h->is_dir)
		emit(sp, json_pack("{s:s, s:o, s:s}", "op", "opendir", "path",
		    blob_json(&h->path), "status", "ok"));
	return 0;
}

static int
server_packet(struct sftp_parse *sp, struct rd *r, uint8_t type)
{
	const unsigned char *s;
	size_t n;
	uint32_t id, code;
	struct req *q;
	int rc = 0;

	if (type == FXP_VERSION)
		return 0;
	if (rd_u32(r, &id) < 0)
		return fail(sp, "truncated sftp reply");
	if ((q = req_find(sp, id)) == NULL)
		return 0;	/* a reply to a request we do not follow */
	switch (type) {
	case FXP_STATUS:
		/* Message and language are optional in practice. */
		if (rd_u32(r, &code) < 0)
			return fail(sp, "truncated sftp status");
		rc = server_status(sp, q, code);
		break;
	case FXP_HANDLE:
		rc = server_handle(sp, q, r);
		break;
	case FXP_DATA:
		if (rd_string(r, &s, &n) < 0)
			return fail(sp, "truncated sftp data");
		if (q->type == FXP_READ && q->handle >= 0 &&
		    sp->handles[q->handle].used)
			handle_io(&sp->handles[q->handle], 0, q->offset, s, n);
		break;
	default:
		break;	/* name, attrs, extended reply */
	}
	req_clear(q);
	return rc;
}

/* --- framing --------------------------------------------------------------- */

static int
packet(struct sftp_parse *sp, enum sftp_dir dir, const unsigned char *p,
    size_t n)
{
	struct rd r = { p, n };
	uint8_t type;

	if (rd_u8(&r, &type) < 0)
		return fail(sp, "empty sftp packet");
	return dir == SFTP_FROM_CLIENT ? client_packet(sp, &r, type) :
	    server_packet(sp, &r, type);
}

static uint32_t
be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

int
sftp_parse_feed(struct sftp_parse *sp, enum sftp_dir dir, const void *data,
    size_t len)
{
	const unsigned char *in = data;
	int d = dir == SFTP_FROM_SERVER;
	size_t need, take, plen;

	if (sp->failed)
		return -1;
	while (len > 0) {
		/* The header first; its length is checked before the body. */
		need = sp->len[d] < 4 ? 4 - sp->len[d] :
		    4 + (size_t)be32(sp->buf[d]) - sp->len[d];
		take = need < len ? need : len;
		memcpy(sp->buf[d] + sp->len[d], in, take);
		sp->len[d] += take;
		in += take;
		len -= take;
		if (sp->len[d] < 4)
			continue;
		plen = be32(sp->buf[d]);
		if (plen == 0)
			return fail(sp, "empty sftp packet");
		if (plen > SFTP_MAX_PACKET)
			return fail(sp, "sftp packet too long");
		if (sp->len[d] < 4 + plen)
			continue;
		sp->len[d] = 0;
		if (packet(sp, dir, sp->buf[d] + 4, plen) < 0)
			return -1;
	}
	return 0;
}

const char *
sftp_parse_error(const struct sftp_parse *sp)
{
	return sp->error;
}

unsigned long
sftp_parse_nevents(const struct sftp_parse *sp)
{
	return sp->nevents;
}

struct sftp_parse *
sftp_parse_new(sftp_event_fn fn, void *arg)
{
	struct sftp_parse *sp;

	if ((sp = calloc(1, sizeof(*sp))) == NULL)
		return NULL;
	sp->fn = fn;
	sp->arg = arg;
	if ((sp->buf[0] = malloc(4 + SFTP_MAX_PACKET)) == NULL ||
	    (sp->buf[1] = malloc(4 + SFTP_MAX_PACKET)) == NULL) {
		sftp_parse_free(sp);
		return NULL;
	}
	return sp;
}

void
sftp_parse_finish(struct sftp_parse *sp)
{
	int i;

	for (i = 0; i < SFTP_MAX_HANDLES; i++) {
		if (!sp->handles[i].used)
			continue;
		if (!sp->handles[i].is_dir)
			handle_report(sp, &sp->handles[i], "unfinished");
		handle_free(&sp->handles[i]);
	}
}

void
sftp_parse_free(struct sftp_parse *sp)
{
	int i;

	if (sp == NULL)
		return;
	for (i = 0; i < SFTP_MAX_HANDLES; i++)
		if (sp->handles[i].used)
			handle_free(&sp->handles[i]);
	for (i = 0; i < SFTP_MAX_PENDING; i++)
		if (sp->reqs[i].used)
			req_clear(&sp->reqs[i]);
	free(sp->buf[0]);
	free(sp->buf[1]);
	free(sp);
}
