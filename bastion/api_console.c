/*
 * api_console.c - websocket console passthrough (api_console.h).
 *
 * The client's handshake is answered by the bastion itself (its own
 * Sec-WebSocket-Accept), the node gets a handshake of the bastion's own
 * (its own key, the held token); then the frames go through byte for
 * byte (client frames are masked and stay so, node frames unmasked), and
 * a copy of each direction is read by api_ws.c for the recording of a
 * node shell (termproxy's protocol: the first client message is
 * "AUTHID:TICKET\n", then "0:LEN:DATA" input, "1:COLS:ROWS:" resize, "2"
 * ping; the node sends raw terminal output).  A recording that cannot be
 * written, or a frame that cannot be read, ends the console: fail closed.
 */
#include <sys/random.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "../recorder/asciicast.h"
#include "../recorder/session_id.h"
#include "../recorder/session_log.h"
#include "api_console.h"
#include "api_tls.h"
#include "api_upstream.h"
#include "api_ws.h"
#include "log.h"

#define WS_GUID		"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define HEAD_MAX	8192
#define IO_CHUNK	16384

struct rec {
	struct asciicast	*cast;
	int			 authed;	/* the auth line went by */
	int			 failed;
};

/* base64(SHA-1(key GUID)): the Sec-WebSocket-Accept of key. */
static int
ws_accept(const char *key, char out[64])
{
	unsigned char md[SHA_DIGEST_LENGTH];
	char buf[128];
	int n;

	n = snprintf(buf, sizeof(buf), "%s%s", key, WS_GUID);
	if (n < 0 || (size_t)n >= sizeof(buf) ||
	    EVP_Digest(buf, (size_t)n, md, NULL, EVP_sha1(), NULL) != 1)
		return -1;
	return EVP_EncodeBlock((unsigned char *)out, md, sizeof(md)) > 0 ?
	    0 : -1;
}

/* A client key: base64 of 16 bytes (RFC 6455 4.1). */
static int
key_ok(const char *k)
{
	size_t i, n = strlen(k);

	if (n != 24 || k[22] != '=' || k[23] != '=')
		return 0;
	for (i = 0; i < 22; i++)
		if (!((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' &&
		    k[i] <= 'z') || (k[i] >= '0' && k[i] <= '9') ||
		    k[i] == '+' || k[i] == '/'))
			return 0;
	return 1;
}

/* Client to node: termproxy's messages into the recording. */
static int
client_frame(void *arg, int opcode, int fin, const unsigned char *p,
    size_t len)
{
	struct rec *r = arg;
	const unsigned char *data = NULL;
	size_t dlen = 0;
	int cols = 0, rows = 0;

	(void)fin;
	if (r->cast == NULL || (opcode != 1 && opcode != 2))
		return 0;
	if (!r->authed) {
		/* "AUTHID:TICKET\n": a credential, never recorded. */
		r->authed = 1;
		return 0;
	}
	switch (api_term_msg(p, len, &data, &dlen, &cols, &rows)) {
	case API_TERM_INPUT:
		if (asciicast_input(r->cast, data, dlen) < 0)
			r->failed = 1;
		break;
	case API_TERM_RESIZE:
		if (asciicast_resize(r->cast, cols, rows) < 0)
			r->failed = 1;
		break;
	default:
		break;
	}
	if (r->failed)
		return -1;
	return 0;
}

static int
node_frame(void *arg, int opcode, int fin, const unsigned char *p,
    size_t len)
{
	struct rec *r = arg;

	(void)fin;
	if (r->cast == NULL || (opcode != 1 && opcode != 2 && opcode != 0))
		return 0;
	if (asciicast_output(r->cast, p, len) < 0) {
		r->failed = 1;
		return -1;
	}
	return 0;
}

/* Reads the node's answer head; leftover bytes after it in *rest. */
static int
read_head(SSL *ssl, char *head, size_t cap, size_t *hlen, size_t *rest)
{
	size_t have = 0;
	char *end;

	while (have + 1 < cap) {
		long n = api_tls_read(ssl, head + have, cap - have - 1);

		if (n <= 0)
			return -1;
		have += (size_t)n;
		head[have] = '\0';
		if ((end = strstr(head, "\r\n\r\n")) != NULL) {
			*hlen = (size_t)(end - head) + 4;
			*rest = have - *hlen;
			return 0;
		}
	}
	return -1;
}

static struct session_log *
open_log(struct api_console *c, struct asciicast **cast)
{
	struct asciicast_header h;
	struct session_log *log;
	char path[PATH_MAX], title[256];
	json_t *ev;

	if (session_id_new(c->session_id, sizeof(c->session_id)) < 0)
		return NULL;
	snprintf(path, sizeof(path), "%s/%s.jsonl", c->conf->recordings_dir,
	    c->session_id);
	if ((log = session_log_open(path, c->session_id)) == NULL)
		return NULL;
	ev = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "event", "login",
	    "user", c->person, "source", c->addr, "source_port", c->port,
	    "methods", "api", "key", c->userid);
	session_log_write(log, ev);
	ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "event",
	    "decision", "target", c->node->name, "login", "termproxy", "kind",
	    "shell", "source", c->addr, "decision", "allow", "channel", 0);
	if (ev != NULL && c->rule != NULL)
		json_object_set_new(ev, "rule", json_string(c->rule));
	session_log_write(log, ev);
	snprintf(path, sizeof(path), "%s/%s-c0.cast", c->conf->recordings_dir,
	    c->session_id);
	snprintf(title, sizeof(title), "%s -> termproxy@%s (API)", c->person,
	    c->node->name);
	memset(&h, 0, sizeof(h));
	h.width = 80;
	h.height = 24;
	h.timestamp = time(NULL);
	h.term = "xterm-256color";
	h.title = title;
	h.record_input = c->conf->record_input;
	if ((*cast = asciicast_open(path, &h)) == NULL) {
		session_log_close(log);
		return NULL;
	}
	ev = json_pack("{s:s, s:i, s:s, s:s, s:s, s:b}", "event",
	    "channel_start", "channel", 0, "kind", "shell", "target",
	    c->node->name, "login", "termproxy", "pty", 1);
	if (session_log_write(log, ev) < 0) {
		asciicast_close(*cast);
		*cast = NULL;
		session_log_close(log);
		return NULL;
	}
	return log;
}

static void
close_log(struct api_console *c, struct session_log *log,
    struct asciicast *cast, const char *outcome)
{
	char seal[256];
	int bad = 0;

	if (cast != NULL && asciicast_close(cast) < 0)
		bad = 1;
	session_log_write(log, json_pack("{s:s, s:i, s:s}", "event",
	    "channel_end", "channel", 0, "outcome", bad ? "recording-failed" :
	    outcome));
	session_log_write(log, json_pack("{s:s}", "event", "logout"));
	if (session_log_seal(log, seal, sizeof(seal)) < 0)
		snprintf(seal, sizeof(seal), "none");
	session_log_close(log);
	log_info("API console %s ended: %s on %s from %s; log sealed %s",
	    c->session_id, c->person, c->node->name, c->addr, seal);
}

/* --- the termproxy auth line (api_vncbind.h) ----------------------------- */

struct first_msg {
	int		 got;
	int		 opcode;
	int		 fin;
	unsigned char	*p;
	size_t		 len;
};

static int
first_frame(void *arg, int opcode, int fin, const unsigned char *p,
    size_t len)
{
	struct first_msg *f = arg;

	if (f->got)
		return -1;
	f->got = 1;
	f->opcode = opcode;
	f->fin = fin;
	if ((f->p = malloc(len + 1)) == NULL)
		return -1;
	memcpy(f->p, p, len);
	f->len = len;
	return 0;
}

/*
 * "AUTHID:BOUND\n" -> a masked frame of "AUTHID:TICKET\n" in out (malloc'd);
 * 0, or -1 when the line does not carry the ticket the bastion bound.
 */
static int
swap_line(const struct api_console *c, const struct first_msg *f,
    unsigned char **out, size_t *outlen)
{
	size_t bl = strlen(c->vnc_bound), tl = strlen(c->vnc_ticket);
	size_t al, nl, plen, hl, i;
	const unsigned char *colon;
	unsigned char mask[4], *fr;

	*out = NULL;
	if ((f->opcode != 1 && f->opcode != 2) || !f->fin || f->len == 0 ||
	    (colon = memchr(f->p, ':', f->len)) == NULL)
		return -1;
	al = (size_t)(colon - f->p);
	nl = f->p[f->len - 1] == '\n' ? 1 : 0;
	if (f->len - al - 1 - nl != bl || CRYPTO_memcmp(colon + 1,
	    c->vnc_bound, bl) != 0)
		return -1;
	plen = al + 1 + tl + nl;
	hl = plen < 126 ? 6 : 8;
	if (plen > 0xffff || getrandom(mask, sizeof(mask), 0) !=
	    sizeof(mask) || (fr = malloc(hl + plen)) == NULL)
		return -1;
	fr[0] = (unsigned char)(0x80 | f->opcode);
	if (plen < 126)
		fr[1] = (unsigned char)(0x80 | plen);
	else {
		fr[1] = 0x80 | 126;
		fr[2] = (unsigned char)(plen >> 8);
		fr[3] = (unsigned char)plen;
	}
	memcpy(fr + hl - 4, mask, 4);
	memcpy(fr + hl, f->p, al + 1);
	memcpy(fr + hl + al + 1, c->vnc_ticket, tl);
	if (nl)
		fr[hl + plen - 1] = '\n';
	for (i = 0; i < plen; i++)
		fr[hl + i] ^= mask[i & 3];
	*out = fr;
	*outlen = hl + plen;
	return 0;
}

/*
 * Until the first client message is whole, client bytes are held; then
 * it goes to the node with the node's ticket.  *used: bytes of buf taken
 * (the rest is ordinary traffic).  0 (more may be needed: *done says),
 * or -1 (refused: the console ends).
 */
static int
auth_line(struct api_console *c, struct api_ws_reader *rd,
    struct first_msg *f, const unsigned char *buf, size_t n, size_t *used,
    SSL *up, struct api_ws_reader *from_client, struct rec *rec, int *done)
{
	unsigned char *fr = NULL;
	size_t i, flen = 0;
	int rc = 0;

	*done = 0;
	/* Byte by byte: where the first frame ends is where it swaps. */
	for (i = 0; i < n && !f->got; i++)
		if (api_ws_feed(rd, buf + i, 1, first_frame, f) < 0)
			return -1;
	*used = i;
	if (!f->got)
		return 0;
	*done = 1;
	if (swap_line(c, f, &fr, &flen) < 0 ||
	    api_ws_feed(from_client, fr, flen, client_frame, rec) < 0 ||
	    api_tls_write_all(up, fr, flen) < 0)
		rc = -1;
	if (fr != NULL) {
		explicit_bzero(fr, flen);
		free(fr);
	}
	return rc;
}

/* The relay's state: both directions' frame readers, the auth line swap. */
struct relay {
	struct api_console	*c;
	SSL			*up;
	struct rec		*rec;
	struct api_ws_reader	 from_client;
	struct api_ws_reader	 from_node;
	struct api_ws_reader	 first;
	struct first_msg	 fm;
	int			 swapping;
};

/*
 * Client bytes (read, or held by the HTTP reader from before the 101):
 * the termproxy auth line swapped while it is incomplete, then read into
 * the recording and sent to the node.  NULL, or why the console ends.
 */
static const char *
client_bytes(struct relay *r, const unsigned char *p, size_t n)
{
	size_t used = 0;
	int done = 0;

	if (r->swapping) {
		if (auth_line(r->c, &r->first, &r->fm, p, n, &used, r->up,
		    &r->from_client, r->rec, &done) < 0)
			return "bad console ticket line";
		r->swapping = !done;
		p += used;
		n -= used;
	}
	if (n > 0 && api_ws_feed(&r->from_client, p, n, client_frame,
	    r->rec) < 0)
		return r->rec->failed ? "recording-failed" :
		    "bad frame from the client";
	if (n > 0 && api_tls_write_all(r->up, p, n) < 0)
		return "node gone";
	return NULL;
}

/* Node bytes: into the recording, then to the client. */
static const char *
node_bytes(struct relay *r, const unsigned char *p, size_t n)
{
	if (api_ws_feed(&r->from_node, p, n, node_frame, r->rec) < 0)
		return r->rec->failed ? "recording-failed" :
		    "bad frame from the node";
	if (api_tls_write_all(r->c->client, p, n) < 0)
		return "client gone";
	return NULL;
}

/*
 * Relays until a side closes; "completed" or why it ended.  Both TLS
 * connections read ahead (api_tls.h): what OpenSSL already holds is
 * served before any poll(), which sees only the sockets.
 */
static const char *
relay(struct api_console *c, SSL *up, int upfd, struct rec *rec,
    const char *early, size_t nearly)
{
	struct relay r;
	unsigned char *buf = malloc(IO_CHUNK);
	const char *why = NULL;

	memset(&r, 0, sizeof(r));
	r.c = c;
	r.up = up;
	r.rec = rec;
	r.swapping = c->vnc_bound != NULL;
	if (buf == NULL || api_ws_reader_init(&r.from_client, 1) < 0 ||
	    api_ws_reader_init(&r.from_node, 0) < 0 ||
	    (r.swapping && api_ws_reader_init(&r.first, 1) < 0)) {
		free(buf);
		api_ws_reader_free(&r.from_client);
		api_ws_reader_free(&r.from_node);
		api_ws_reader_free(&r.first);
		return "out of memory";
	}
	/* The node's bytes after its 101, then the client's sent before
	 * ours (a client that did not wait), in the order they came. */
	if (nearly > 0)
		why = node_bytes(&r, (const unsigned char *)early, nearly);
	if (why == NULL && c->client_nearly > 0)
		why = client_bytes(&r, (const unsigned char *)c->client_early,
		    c->client_nearly);
	while (why == NULL) {
		struct pollfd pfd[2] = { { c->client_fd, POLLIN, 0 },
			{ upfd, POLLIN, 0 } };
		long n;
		int ready = 0;

		/* Bytes OpenSSL already holds are not seen by poll, and
		 * SSL_pending() does not count records read ahead. */
		if (SSL_has_pending(c->client) || SSL_has_pending(up)) {
			pfd[0].revents = SSL_has_pending(c->client) ?
			    POLLIN : 0;
			pfd[1].revents = SSL_has_pending(up) ? POLLIN : 0;
			ready = 1;
		} else if ((ready = poll(pfd, 2, 1000)) < 0 &&
		    errno != EINTR) {
			why = "poll failed";
			break;
		}
		if (rec->cast != NULL && asciicast_tick(rec->cast) < 0) {
			why = "recording-failed";
			break;
		}
		if (ready <= 0)
			continue;
		if (pfd[0].revents != 0) {
			if ((n = api_tls_read(c->client, buf, IO_CHUNK)) <= 0)
				break;
			if ((why = client_bytes(&r, buf, (size_t)n)) != NULL)
				break;
		}
		if (pfd[1].revents != 0) {
			if ((n = api_tls_read(up, buf, IO_CHUNK)) <= 0)
				break;
			why = node_bytes(&r, buf, (size_t)n);
		}
	}
	/* A side that closed (or a write that failed) ends it normally. */
	if (why == NULL || strcmp(why, "node gone") == 0 ||
	    strcmp(why, "client gone") == 0)
		why = "completed";
	api_ws_reader_free(&r.from_client);
	api_ws_reader_free(&r.from_node);
	api_ws_reader_free(&r.first);
	if (r.fm.p != NULL) {
		explicit_bzero(r.fm.p, r.fm.len);
		free(r.fm.p);
	}
	free(buf);
	return why;
}

int
api_console_run(struct api_console *c, char *err, size_t errlen)
{
	char head[HEAD_MAX], accept[64], key[32], reply[512];
	unsigned char raw[16];
	struct rec rec;
	struct session_log *log = NULL;
	SSL *up = NULL;
	size_t hlen = 0, rest = 0;
	int upfd = -1, pin_failed = 0, n, rc = -EIO;
	const char *why;

	memset(&rec, 0, sizeof(rec));
	if (c->ws_key == NULL || !key_ok(c->ws_key) ||
	    ws_accept(c->ws_key, accept) < 0) {
		snprintf(err, errlen, "bad websocket handshake");
		return -EINVAL;
	}
	if (getrandom(raw, sizeof(raw), 0) != sizeof(raw) ||
	    EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw)) <= 0) {
		snprintf(err, errlen, "no randomness");
		return -EIO;
	}
	if (api_upstream_connect(c->conf, c->node, &up, &upfd, &pin_failed,
	    err, errlen) < 0)
		return pin_failed ? -EPERM : -EIO;
	n = snprintf(head, sizeof(head), "GET %s HTTP/1.1\r\n"
	    "Host: %s:%d\r\n"
	    "Authorization: %s\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "%s"
	    "User-Agent: hvbastion\r\n\r\n", c->target, c->node->address,
	    c->node->port, c->authorization, key, c->ws_binary ?
	    "Sec-WebSocket-Protocol: binary\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(head) ||
	    api_tls_write_all(up, head, (size_t)n) < 0) {
		explicit_bzero(head, sizeof(head));
		snprintf(err, errlen, "cannot send the upgrade to %s",
		    c->node->name);
		goto out;
	}
	explicit_bzero(head, sizeof(head));
	if (read_head(up, head, sizeof(head), &hlen, &rest) < 0 ||
	    strncmp(head, "HTTP/1.1 101 ", 13) != 0) {
		char *eol = strstr(head, "\r\n");

		if (eol != NULL)
			*eol = '\0';
		snprintf(err, errlen, "%s refused the websocket: %.120s",
		    c->node->name, head);
		goto out;
	}
	if (c->record && (log = open_log(c, &rec.cast)) == NULL) {
		snprintf(err, errlen, "the console cannot be recorded;"
		    " refused");
		goto out;
	}
	n = snprintf(reply, sizeof(reply), "HTTP/1.1 101 Switching Protocols"
	    "\r\nUpgrade: websocket\r\nConnection: upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n%s\r\n", accept, c->ws_binary ?
	    "Sec-WebSocket-Protocol: binary\r\n" : "");
	rc = 0;
	if (n > 0 && (size_t)n < sizeof(reply) &&
	    api_tls_write_all(c->client, reply, (size_t)n) == 0)
		why = relay(c, up, upfd, &rec, head + hlen, rest);
	else
		why = "client gone";
	if (log != NULL)
		close_log(c, log, rec.cast, why);
	else if (rec.cast != NULL)
		asciicast_close(rec.cast);
	snprintf(err, errlen, "%s", why);
out:
	SSL_shutdown(up);
	SSL_free(up);
	close(upfd);
	return rc;
}
