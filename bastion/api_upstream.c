/*
 * api_upstream.c - the API front's client side (api_upstream.h).
 *
 * The upstream request is written by this file from the fields the
 * proxy decided on; no byte of the client's request is copied through.
 * The response is read with http-parser (response mode), bounded, and
 * handed back whole: the proxy re-frames it for the client (and filters
 * lists), so a node cannot smuggle a second response either.
 */
#include <sys/socket.h>
#include <sys/time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <http_parser.h>
#include <openssl/err.h>

#include "api_tls.h"
#include "api_upstream.h"

#define POOL_MAX	16
#define IO_TIMEOUT	120	/* seconds: vzdump answers slowly */

struct pooled {
	const struct config_api_node	*node;
	int				 fd;
	SSL				*ssl;
};

static struct pooled pool[POOL_MAX];
static SSL_CTX *client_ctx;

static void
drop(struct pooled *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
	c->node = NULL;
}

void
api_upstream_close_all(void)
{
	int i;

	for (i = 0; i < POOL_MAX; i++)
		if (pool[i].node != NULL)
			drop(&pool[i]);
}

/* Who opens the TCP connection: the API monitor, for a sandboxed child. */
static api_upstream_connector_fn connector;

void
api_upstream_set_connector(api_upstream_connector_fn fn)
{
	connector = fn;
}

int
api_upstream_prepare(void)
{
	if (client_ctx == NULL && (client_ctx = api_tls_client_ctx()) == NULL)
		return -1;
	return 0;
}

/* Connects with a timeout; the fd, or -1. */
int
api_upstream_tcp_connect(const char *addr, int port, int timeout, char *err,
    size_t errlen)
{
	struct addrinfo hints, *ai = NULL;
	struct timeval tv = { IO_TIMEOUT, 0 };
	struct pollfd pfd;
	char ports[16];
	int fd, rc, soerr = 0, one = 1;
	socklen_t sl = sizeof(soerr);

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(ports, sizeof(ports), "%d", port);
	if ((rc = getaddrinfo(addr, ports, &hints, &ai)) != 0) {
		snprintf(err, errlen, "%s: %s", addr, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0) {
		freeaddrinfo(ai);
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	if (rc < 0 && errno == EINPROGRESS) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (poll(&pfd, 1, timeout * 1000) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 ||
		    soerr != 0) {
			snprintf(err, errlen, "connect %s port %d: %s", addr,
			    port, soerr ? strerror(soerr) : "timed out");
			close(fd);
			return -1;
		}
	} else if (rc < 0) {
		snprintf(err, errlen, "connect %s port %d: %s", addr, port,
		    strerror(errno));
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/*
 * A pooled connection still usable: nothing to read, not closed.  What
 * the node sent after its last answer may already sit in OpenSSL's read
 * buffer (read ahead, api_tls.h) where poll() cannot see it: a stray
 * answer or an alert there makes the connection unusable too.
 */
static int
still_open(const struct pooled *c)
{
	struct pollfd pfd = { c->fd, POLLIN, 0 };

	if (SSL_has_pending(c->ssl))
		return 0;
	return poll(&pfd, 1, 0) == 0;
}

int
api_upstream_connect(const struct config *conf,
    const struct config_api_node *node, SSL **sslp, int *fdp,
    int *pin_failed, char *err, size_t errlen)
{
	SSL *ssl = NULL;
	int fd;

	*pin_failed = 0;
	if (client_ctx == NULL && (client_ctx = api_tls_client_ctx()) == NULL) {
		snprintf(err, errlen, "TLS client context");
		return -1;
	}
	fd = connector != NULL ? connector(node->name, err, errlen) :
	    api_upstream_tcp_connect(node->address, node->port,
	    conf->connect_timeout, err, errlen);
	if (fd < 0)
		return -1;
	if ((ssl = SSL_new(client_ctx)) == NULL ||
	    SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, node->name) != 1 ||
	    SSL_connect(ssl) != 1) {
		snprintf(err, errlen, "TLS handshake with %s failed",
		    node->name);
		ERR_clear_error();
		SSL_free(ssl);
		close(fd);
		return -1;
	}
	if (!api_tls_pin_ok(ssl, node->fingerprint)) {
		snprintf(err, errlen, "the certificate of %s does not match"
		    " its pinned fingerprint; nothing sent", node->name);
		*pin_failed = 1;
		SSL_free(ssl);
		close(fd);
		return -1;
	}
	*sslp = ssl;
	*fdp = fd;
	return 0;
}

static struct pooled *
get_conn(const struct config *conf, const struct config_api_node *node,
    int *reused, char *err, size_t errlen, int *pin_failed)
{
	struct pooled *c = NULL;
	int i;

	*reused = 0;
	*pin_failed = 0;
	for (i = 0; i < POOL_MAX; i++)
		if (pool[i].node == node) {
			if (still_open(&pool[i])) {
				*reused = 1;
				return &pool[i];
			}
			drop(&pool[i]);
		}
	for (i = 0; i < POOL_MAX && c == NULL; i++)
		if (pool[i].node == NULL)
			c = &pool[i];
	if (c == NULL) {
		c = &pool[0];
		drop(c);
	}
	if (api_upstream_connect(conf, node, &c->ssl, &c->fd, pin_failed, err,
	    errlen) < 0) {
		c->ssl = NULL;
		c->fd = -1;
		return NULL;
	}
	c->node = node;
	return c;
}

struct resp_state {
	struct api_upstream_response	*r;
	size_t				 cap;
	char				 field[32];
	size_t				 flen;
	int				 field_is_ct;
	int				 in_value;
	int				 done;
	int				 too_big;
};

static int
r_status(http_parser *hp, const char *at, size_t len)
{
	struct resp_state *s = hp->data;
	size_t have = strlen(s->r->reason);

	if (have + len < sizeof(s->r->reason)) {
		memcpy(s->r->reason + have, at, len);
		s->r->reason[have + len] = '\0';
	}
	return 0;
}

static int
r_field(http_parser *hp, const char *at, size_t len)
{
	struct resp_state *s = hp->data;

	if (s->in_value) {
		s->flen = 0;
		s->in_value = 0;
	}
	if (s->flen + len < sizeof(s->field)) {
		memcpy(s->field + s->flen, at, len);
		s->flen += len;
	} else
		s->flen = sizeof(s->field) - 1;	/* not one we want */
	s->field[s->flen] = '\0';
	return 0;
}

static int
r_value(http_parser *hp, const char *at, size_t len)
{
	struct resp_state *s = hp->data;
	char *ct = s->r->content_type;
	size_t have;

	if (!s->in_value) {
		s->in_value = 1;
		s->field_is_ct = strcasecmp(s->field, "Content-Type") == 0;
		if (s->field_is_ct)
			ct[0] = '\0';
	}
	if (s->field_is_ct) {
		have = strlen(ct);
		if (have + len < sizeof(s->r->content_type)) {
			memcpy(ct + have, at, len);
			ct[have + len] = '\0';
		}
	}
	return 0;
}

static int
r_body(http_parser *hp, const char *at, size_t len)
{
	struct resp_state *s = hp->data;
	struct api_upstream_response *r = s->r;

	if (r->body_len + len + 1 > API_UPSTREAM_MAX_BODY) {
		s->too_big = 1;
		return -1;
	}
	if (r->body_len + len + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 16384;
		char *b;

		while (cap < r->body_len + len + 1)
			cap *= 2;
		if ((b = realloc(r->body, cap)) == NULL)
			return -1;
		r->body = b;
		s->cap = cap;
	}
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return 0;
}

static int
r_complete(http_parser *hp)
{
	struct resp_state *s = hp->data;

	s->done = 1;
	http_parser_pause(hp, 1);
	return 0;
}

void
api_upstream_response_clear(struct api_upstream_response *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* 0, -1 (I/O before any response byte: may retry), -2 (later error). */
static int
exchange(struct pooled *c, const char *head, size_t headlen,
    const struct api_upstream_request *rq, struct api_upstream_response *r,
    int *keep)
{
	http_parser hp;
	http_parser_settings st;
	struct resp_state s;
	char buf[16384];
	size_t used = 0;
	long n = 0;
	int got = 0;

	if (api_tls_write_all(c->ssl, head, headlen) < 0 ||
	    (rq->body_len > 0 && api_tls_write_all(c->ssl, rq->body,
	    rq->body_len) < 0))
		return -1;
	memset(&s, 0, sizeof(s));
	s.r = r;
	memset(&st, 0, sizeof(st));
	st.on_status = r_status;
	st.on_header_field = r_field;
	st.on_header_value = r_value;
	st.on_body = r_body;
	st.on_message_complete = r_complete;
	http_parser_init(&hp, HTTP_RESPONSE);
	hp.data = &s;
	while (!s.done) {
		n = api_tls_read(c->ssl, buf, sizeof(buf));
		if (n < 0)
			return got ? -2 : -1;
		if (n == 0) {
			/* EOF ends a response without a length. */
			http_parser_execute(&hp, &st, buf, 0);
			if (!s.done)
				return got ? -2 : -1;
			break;
		}
		got = 1;
		used = http_parser_execute(&hp, &st, buf, (size_t)n);
		if (!s.done && HTTP_PARSER_ERRNO(&hp) != HPE_OK)
			return -2;
	}
	r->status = hp.status_code;
	/* Bytes after the answer (the parser counts the one it paused on):
	 * the node said more than was asked; its connection is not kept. */
	*keep = http_should_keep_alive(&hp) && n > 0 && used == (size_t)n;
	return 0;
}

int
api_upstream_call(const struct config *conf,
    const struct config_api_node *node, const struct api_upstream_request *rq,
    struct api_upstream_response *r, char *err, size_t errlen)
{
	char head[8192];
	struct pooled *c;
	int n, reused, pin_failed, rc, keep = 0, attempt;

	memset(r, 0, sizeof(*r));
	n = snprintf(head, sizeof(head), "%s %s%s%s HTTP/1.1\r\n"
	    "Host: %s:%d\r\n"
	    "Authorization: %s\r\n"
	    "Accept: application/json\r\n"
	    "User-Agent: hvbastion\r\n"
	    "Connection: keep-alive\r\n",
	    rq->method, rq->path, rq->query[0] ? "?" : "", rq->query,
	    node->address, node->port, rq->authorization);
	if (n < 0 || (size_t)n >= sizeof(head) - 200) {
		explicit_bzero(head, sizeof(head));
		snprintf(err, errlen, "request too long");
		return -EIO;
	}
	if (rq->content_type != NULL)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Content-Type: %s\r\nContent-Length: %zu\r\n",
		    rq->content_type, rq->body_len);
	else if (strcmp(rq->method, "POST") == 0 ||
	    strcmp(rq->method, "PUT") == 0)
		n += snprintf(head + n, sizeof(head) - (size_t)n,
		    "Content-Length: 0\r\n");
	if ((size_t)n + 3 >= sizeof(head)) {
		explicit_bzero(head, sizeof(head));
		snprintf(err, errlen, "request too long");
		return -EIO;
	}
	memcpy(head + n, "\r\n", 3);
	n += 2;
	for (attempt = 0; attempt < 2; attempt++) {
		c = get_conn(conf, node, &reused, err, errlen, &pin_failed);
		if (c == NULL) {
			explicit_bzero(head, sizeof(head));
			return pin_failed ? -EPERM : -EIO;
		}
		api_upstream_response_clear(r);
		rc = exchange(c, head, (size_t)n, rq, r, &keep);
		if (rc == 0)
			break;
		drop(c);
		/* A kept-alive connection the node closed meanwhile: only
		 * a request that changes nothing is sent again. */
		if (rc == -1 && reused && strcmp(rq->method, "GET") == 0)
			continue;
		explicit_bzero(head, sizeof(head));
		snprintf(err, errlen, "no answer from %s", node->name);
		api_upstream_response_clear(r);
		return -EIO;
	}
	explicit_bzero(head, sizeof(head));
	if (attempt == 2) {
		snprintf(err, errlen, "no answer from %s", node->name);
		return -EIO;
	}
	if (!keep)
		drop(c);
	return 0;
}
