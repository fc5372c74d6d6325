/*
 * api_http.h - one HTTP/1.1 request of the Proxmox API front, read with
 * Debian's http-parser (nodejs http-parser 2.9) under pveproxy's limits.
 *
 * The reader is fed bytes as they come off the TLS connection; it stops
 * at the end of one request, so a pipelined next request stays in the
 * caller's buffer.  Everything the request holds is bounded: 64 header
 * lines, 8 KiB of request target and headers, 512 KiB of body, and only
 * GET, POST, PUT and DELETE (pve-http-server's limits, BEHAVIOUR.md of
 * the simulator).  A request outside them gets the status and reason
 * pveproxy answers with, in req->status / req->reason.
 */
#ifndef HVB_API_HTTP_H
#define HVB_API_HTTP_H

#include <stddef.h>

#include <http_parser.h>

#define API_HTTP_MAX_HEADERS	64
#define API_HTTP_MAX_HEAD	(8 * 1024)	/* target + header lines */
#define API_HTTP_MAX_BODY	(512 * 1024)

struct api_http_header {
	const char	*name;		/* into hbuf, NUL-terminated */
	const char	*value;
};

struct api_http_request {
	char			 method[8];	/* "GET", ... */
	int			 http_major, http_minor;
	const char		*target;	/* the request-target, raw */
	struct api_http_header	 headers[API_HTTP_MAX_HEADERS];
	size_t			 nheaders;
	char			*body;		/* NUL-terminated; may be NULL */
	size_t			 body_len;
	int			 keep_alive;
	int			 upgrade;	/* Upgrade: websocket asked */
	/* When the request is refused: status and reason phrase. */
	int			 status;
	char			 reason[160];
	/* Storage: target and header names and values, NUL-separated. */
	char			 hbuf[API_HTTP_MAX_HEAD + 2 *
				     API_HTTP_MAX_HEADERS + 8];
	size_t			 hlen;
};

struct api_http_reader {
	http_parser		 hp;
	http_parser_settings	 settings;
	struct api_http_request	*req;
	size_t			 body_cap;
	size_t			 head_bytes;	/* against API_HTTP_MAX_HEAD */
	size_t			 field_start;	/* offset of the field */
	int			 in_value;	/* last callback was a value */
	int			 in_target;
	int			 done;
};

enum api_http_result {
	API_HTTP_MORE = 0,	/* give more bytes */
	API_HTTP_DONE = 1,	/* one whole request in req */
	API_HTTP_ERROR = -1,	/* refused: answer req->status, close */
};

/* Starts a new request (frees the old body). */
void	api_http_begin(struct api_http_reader *, struct api_http_request *);
/*
 * Feeds len bytes; *used says how many were taken (the rest belongs to the
 * next request).  Returns an enum api_http_result.
 */
int	api_http_feed(struct api_http_reader *, const char *buf, size_t len,
	    size_t *used);
/* Frees the body (wiped: it may hold a password). */
void	api_http_request_clear(struct api_http_request *);

/* The value of header NAME (case-insensitive), or NULL; *count (may be
 * NULL) says how many times it was given. */
const char *api_http_header(const struct api_http_request *,
	    const char *name, int *count);

#endif
