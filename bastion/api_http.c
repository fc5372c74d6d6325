/*
 * api_http.c - reading one HTTP/1.1 request with http-parser under
 * pveproxy's limits (see api_http.h).
 *
 * Why a library parser: request smuggling lives in the corners of
 * HTTP/1.1 framing (duplicate Content-Length, Transfer-Encoding tricks,
 * obs-fold, bare CR); nodejs' http-parser has been fuzzed and attacked for
 * a decade and refuses them.  On top of it this file only counts and
 * refuses: it never rewrites a request, and the proxy rebuilds the
 * upstream request from scratch.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_http.h"

static void
refuse(struct api_http_reader *r, int status, const char *reason)
{
	if (r->req->status == 0) {
		r->req->status = status;
		snprintf(r->req->reason, sizeof(r->req->reason), "%s", reason);
	}
}

/* Appends to hbuf, counting against the head limit. */
static int
head_append(struct api_http_reader *r, const char *at, size_t len)
{
	struct api_http_request *q = r->req;

	r->head_bytes += len;
	if (r->head_bytes > API_HTTP_MAX_HEAD ||
	    q->hlen + len + 1 >= sizeof(q->hbuf)) {
		refuse(r, 431, "http header too large");
		return -1;
	}
	memcpy(q->hbuf + q->hlen, at, len);
	q->hlen += len;
	q->hbuf[q->hlen] = '\0';
	return 0;
}

/* Ends the current string in hbuf (a NUL is already there). */
static int
head_end(struct api_http_reader *r)
{
	struct api_http_request *q = r->req;

	if (q->hlen + 1 >= sizeof(q->hbuf)) {
		refuse(r, 431, "http header too large");
		return -1;
	}
	q->hbuf[q->hlen++] = '\0';
	return 0;
}

static int
on_url(http_parser *hp, const char *at, size_t len)
{
	struct api_http_reader *r = hp->data;

	if (!r->in_target) {
		r->in_target = 1;
		r->req->target = r->req->hbuf + r->req->hlen;
	}
	return head_append(r, at, len);
}

static int
on_header_field(http_parser *hp, const char *at, size_t len)
{
	struct api_http_reader *r = hp->data;
	struct api_http_request *q = r->req;

	if (r->in_target) {
		r->in_target = 0;
		if (head_end(r) < 0)
			return -1;
	}
	if (r->in_value || q->nheaders == 0) {
		/* A new header line (the previous value is complete). */
		if (r->in_value && head_end(r) < 0)
			return -1;
		if (q->nheaders >= API_HTTP_MAX_HEADERS) {
			refuse(r, 431, "too many http header lines");
			return -1;
		}
		r->field_start = q->hlen;
		q->headers[q->nheaders].name = q->hbuf + q->hlen;
		q->headers[q->nheaders].value = "";
		q->nheaders++;
		r->in_value = 0;
		/* A line costs its separator too, as pveproxy counts. */
		r->head_bytes += 2;
	}
	return head_append(r, at, len);
}

static int
on_header_value(http_parser *hp, const char *at, size_t len)
{
	struct api_http_reader *r = hp->data;
	struct api_http_request *q = r->req;

	if (!r->in_value) {
		if (head_end(r) < 0)
			return -1;
		r->in_value = 1;
		q->headers[q->nheaders - 1].value = q->hbuf + q->hlen;
	}
	return head_append(r, at, len);
}

static int
method_allowed(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "POST") == 0 ||
	    strcmp(m, "PUT") == 0 || strcmp(m, "DELETE") == 0;
}

static int
on_headers_complete(http_parser *hp)
{
	struct api_http_reader *r = hp->data;
	struct api_http_request *q = r->req;
	const char *te;
	char msg[128];

	if (r->in_target && head_end(r) < 0)
		return -1;
	r->in_target = 0;
	if (r->in_value && head_end(r) < 0)
		return -1;
	r->in_value = 0;
	snprintf(q->method, sizeof(q->method), "%s",
	    http_method_str((enum http_method)hp->method));
	q->http_major = hp->http_major;
	q->http_minor = hp->http_minor;
	q->keep_alive = http_should_keep_alive(hp);
	q->upgrade = hp->upgrade;
	if (q->target == NULL) {
		refuse(r, 400, "bad request");
		return -1;
	}
	/* "GET /x" alone (HTTP/0.9) is no request line for pveproxy. */
	if (hp->http_major == 0) {
		refuse(r, 400, "bad request");
		return -1;
	}
	if (hp->http_major != 1) {
		snprintf(msg, sizeof(msg), "http protocol version %u.%u not"
		    " supported", hp->http_major, hp->http_minor);
		refuse(r, 506, msg);
		return -1;
	}
	if (!method_allowed(q->method)) {
		snprintf(msg, sizeof(msg), "method '%s' not available",
		    q->method);
		refuse(r, 501, msg);
		return -1;
	}
	if ((te = api_http_header(q, "Transfer-Encoding", NULL)) != NULL ||
	    hp->uses_transfer_encoding || (hp->flags & F_CHUNKED)) {
		if (te != NULL && strcasecmp(te, "chunked") != 0) {
			snprintf(msg, sizeof(msg), "Unknown transfer encoding"
			    " '%.64s'", te);
			refuse(r, 501, msg);
		} else
			refuse(r, 501, "chunked transfer encoding not"
			    " supported");
		return -1;
	}
	if (hp->content_length > 0 && hp->content_length != ULLONG_MAX) {
		if (strcmp(q->method, "POST") != 0 &&
		    strcmp(q->method, "PUT") != 0) {
			snprintf(msg, sizeof(msg), "Unexpected content for"
			    " method '%s'", q->method);
			refuse(r, 501, msg);
			return -1;
		}
		if (hp->content_length > API_HTTP_MAX_BODY) {
			refuse(r, 501, "for data too large");
			return -1;
		}
		r->body_cap = (size_t)hp->content_length + 1;
		if ((q->body = malloc(r->body_cap)) == NULL) {
			refuse(r, 500, "out of memory");
			return -1;
		}
		q->body[0] = '\0';
	}
	return 0;
}

static int
on_body(http_parser *hp, const char *at, size_t len)
{
	struct api_http_reader *r = hp->data;
	struct api_http_request *q = r->req;

	/* Content-Length bounds the body; anything else is a bug. */
	if (q->body == NULL || q->body_len + len >= r->body_cap) {
		refuse(r, 400, "bad request");
		return -1;
	}
	memcpy(q->body + q->body_len, at, len);
	q->body_len += len;
	q->body[q->body_len] = '\0';
	return 0;
}

static int
on_message_complete(http_parser *hp)
{
	struct api_http_reader *r = hp->data;

	r->done = 1;
	/* Stop here: a pipelined request is the next one's. */
	http_parser_pause(hp, 1);
	return 0;
}

void
api_http_request_clear(struct api_http_request *q)
{
	if (q->body != NULL) {
		explicit_bzero(q->body, q->body_len);
		free(q->body);
	}
	explicit_bzero(q->hbuf, q->hlen);
	memset(q, 0, sizeof(*q) - sizeof(q->hbuf));
	q->hlen = 0;
	q->hbuf[0] = '\0';
}

void
api_http_begin(struct api_http_reader *r, struct api_http_request *q)
{
	api_http_request_clear(q);
	memset(r, 0, sizeof(*r));
	http_parser_init(&r->hp, HTTP_REQUEST);
	r->hp.data = r;
	r->req = q;
	r->settings.on_url = on_url;
	r->settings.on_header_field = on_header_field;
	r->settings.on_header_value = on_header_value;
	r->settings.on_headers_complete = on_headers_complete;
	r->settings.on_body = on_body;
	r->settings.on_message_complete = on_message_complete;
}

int
api_http_feed(struct api_http_reader *r, const char *buf, size_t len,
    size_t *used)
{
	enum http_errno e;
	size_t n;

	*used = 0;
	if (r->done)
		return API_HTTP_DONE;
	n = http_parser_execute(&r->hp, &r->settings, buf, len);
	*used = n;
	e = HTTP_PARSER_ERRNO(&r->hp);
	if (r->req->status != 0)
		return API_HTTP_ERROR;
	if (r->done) {
		/* The parser counts the byte it paused on as read. */
		return API_HTTP_DONE;
	}
	if (e != HPE_OK) {
		if (e == HPE_INVALID_METHOD)
			refuse(r, 501, "method not available");
		else if (e == HPE_HEADER_OVERFLOW)
			refuse(r, 431, "http header too large");
		else if (e == HPE_INVALID_HEADER_TOKEN)
			refuse(r, 506, "unable to parse request header");
		else
			refuse(r, 400, "bad request");
		return API_HTTP_ERROR;
	}
	if (len > 0 && n == 0) {
		refuse(r, 400, "bad request");
		return API_HTTP_ERROR;
	}
	return API_HTTP_MORE;
}

const char *
api_http_header(const struct api_http_request *q, const char *name,
    int *count)
{
	const char *v = NULL;
	size_t i;
	int n = 0;

	for (i = 0; i < q->nheaders; i++)
		if (strcasecmp(q->headers[i].name, name) == 0) {
			if (v == NULL)
				v = q->headers[i].value;
			n++;
		}
	if (count != NULL)
		*count = n;
	return v;
}
