/*
 * audit_ship.c - the audit shipper process (audit_ship.h).
 *
 * One shipper per state directory: it holds STATE/audit/shipper.lock for
 * its whole life, so a second one (a restarted master while the old one
 * winds down) waits instead of delivering the same spool twice.  It never
 * takes the writers' lock except for the short moment when it replaces a
 * fully delivered spool (audit_spool_commit()).
 */
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <linux/sockios.h>
#include <netdb.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "audit_fmt.h"
#include "audit_relp.h"
#include "audit_ship.h"
#include "audit_spool.h"
#include "log.h"
#include "sandbox.h"
#ifdef HVB_TEST_HOOKS
#include "testhooks.h"
#endif

#define READ_MAX	(256 * 1024)
#define OUT_MAX		(64 * 1024)
#define IO_TIMEOUT_MS	10000
#define MARKS_MAX	256
/* RELP: syslog commands sent and not answered yet, at most (librelp's
 * default is 128; the answers, ~15 bytes each, always fit the socket's
 * receive buffer, so the collector never blocks on them). */
#define RELP_WINDOW	1024

static pid_t	 shipper_pid;
static time_t	 last_start;

/* --- master side ------------------------------------------------------- */

static void	shipper_main(const struct config *) __attribute__((noreturn));

int
audit_ship_start(const struct config *conf)
{
	pid_t pid;

	if (conf->audit_collector == NULL || shipper_pid > 0)
		return 0;
	last_start = time(NULL);
	if ((pid = fork()) < 0) {
		log_error("audit shipper: fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0)
		shipper_main(conf);
	shipper_pid = pid;
	log_info("audit shipper started (pid %ld) for %s port %d",
	    (long)pid, conf->audit_collector, conf->audit_port);
	return 0;
}

void
audit_ship_reaped(pid_t pid)
{
	if (pid > 0 && pid == shipper_pid) {
		log_error("audit shipper (pid %ld) ended: starting it again",
		    (long)pid);
		shipper_pid = 0;
	}
}

void
audit_ship_tick(const struct config *conf)
{
	if (shipper_pid == 0 && conf->audit_collector != NULL &&
	    time(NULL) - last_start >= 1)
		audit_ship_start(conf);
}

void
audit_ship_stop(void)
{
	if (shipper_pid > 0) {
		kill(shipper_pid, SIGTERM);
		waitpid(shipper_pid, NULL, 0);
		shipper_pid = 0;
	}
}

/* --- the shipper --------------------------------------------------------- */

struct conn {
	int	 fd;
	SSL	*ssl;
	/* RELP (audit-protocol relp): the session on this connection. */
	struct audit_relp_reader rd;
	unsigned		 next_txnr;	/* the next command's */
	unsigned		 want_txnr;	/* the next answer's */
	uint64_t		 frames_sent;	/* syslog commands */
	uint64_t		 frames_acked;	/* answered 200, in order */
};

static struct {
	const struct config	*conf;
	char			 dir[PATH_MAX - 64];
	SSL_CTX			*ctx;
	char			 error[512];
	time_t			 error_at;
	int			 connected;
	uint64_t		 delivered_seq;
	time_t			 delivered_at;
	uint64_t		 sent_total;
	uint64_t		 bad_records;
} sh;

static double
now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
iso_time(time_t t, char *buf, size_t len)
{
	struct tm tm;

	if (t == 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* STATE/audit/status for "hvbastion audit status" (not synced: a hint). */
static void
write_status(void)
{
	char path[PATH_MAX], tmp[PATH_MAX], at[40], eat[40], coll[300];
	json_t *o;
	FILE *f;

	snprintf(path, sizeof(path), "%s/status", sh.dir);
	snprintf(tmp, sizeof(tmp), "%s/status.tmp", sh.dir);
	iso_time(sh.delivered_at, at, sizeof(at));
	iso_time(sh.error_at, eat, sizeof(eat));
	snprintf(coll, sizeof(coll), "%s port %d (%s%s)",
	    sh.conf->audit_collector, sh.conf->audit_port,
	    sh.conf->audit_protocol == AUDIT_PROTOCOL_RELP ? "relp over " : "",
	    sh.conf->audit_plain_tcp ? "tcp" : "tls");
	o = json_pack("{s:i, s:s, s:b, s:I, s:s, s:s, s:s, s:I}",
	    "pid", (int)getpid(), "collector", coll,
	    "connected", sh.connected,
	    "delivered_seq", (json_int_t)sh.delivered_seq,
	    "delivered_at", at,
	    "last_error", sh.error[0] ? sh.error : "-",
	    "last_error_at", eat,
	    "bad_records", (json_int_t)sh.bad_records);
	if (o == NULL)
		return;
	if ((f = fopen(tmp, "w")) != NULL) {
		json_dumpf(o, f, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', f);
		if (fclose(f) == 0)
			rename(tmp, path);
	}
	json_decref(o);
}

static void
set_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
set_error(const char *fmt, ...)
{
	char msg[sizeof(sh.error)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* Said once per change, not once per retry. */
	if (strcmp(msg, sh.error) != 0)
		log_error("audit shipper: %s", msg);
	snprintf(sh.error, sizeof(sh.error), "%s", msg);
	sh.error_at = time(NULL);
	write_status();
}

static const char *
ssl_error(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();

	if (e == 0)
		return "unknown TLS error";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

static int
make_ctx(void)
{
	const struct config *conf = sh.conf;
	SSL_CTX *ctx;

	if (conf->audit_plain_tcp || sh.ctx != NULL)
		return 0;
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		set_error("TLS: %s", ssl_error());
		return -1;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, conf->audit_ca, NULL) != 1) {
		set_error("audit-ca %s: %s", conf->audit_ca, ssl_error());
		goto bad;
	}
	if (conf->audit_client_cert != NULL &&
	    (SSL_CTX_use_certificate_chain_file(ctx,
	    conf->audit_client_cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, conf->audit_client_key,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(ctx) != 1)) {
		set_error("audit client certificate/key: %s", ssl_error());
		goto bad;
	}
	sh.ctx = ctx;
	return 0;
bad:
	SSL_CTX_free(ctx);
	return -1;
}

static void
conn_close(struct conn *c)
{
	if (c->ssl != NULL) {
		SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->ssl = NULL;
	c->fd = -1;
	if (sh.connected) {
		sh.connected = 0;
		write_status();
	}
}

static int
wait_fd(int fd, short ev)
{
	struct pollfd p = { fd, ev, 0 };
	int r;

	while ((r = poll(&p, 1, IO_TIMEOUT_MS)) < 0 && errno == EINTR)
		;
	return r == 1 ? 0 : -1;
}

/* Non-blocking connect with a timeout; the socket stays non-blocking. */
static int
tcp_connect(const struct config *conf)
{
	struct addrinfo hints, *ai = NULL, *a;
	char port[16];
	int fd = -1, rc, err;
	socklen_t el = sizeof(err);

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", conf->audit_port);
	if ((rc = getaddrinfo(conf->audit_collector, port, &hints, &ai)) !=
	    0) {
		set_error("collector %s: %s", conf->audit_collector,
		    gai_strerror(rc));
		return -1;
	}
	for (a = ai; a != NULL; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		if (fd < 0)
			continue;
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
		    (errno == EINPROGRESS && wait_fd(fd, POLLOUT) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
		    (errno = err) == 0))
			break;
		set_error("connect to %s port %s: %s", conf->audit_collector,
		    port, errno ? strerror(errno) : "timed out");
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	return fd;
}

/* Drives a non-blocking SSL call to completion (or the timeout). */
static int
ssl_wait(SSL *ssl, int r)
{
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return wait_fd(SSL_get_fd(ssl), POLLIN);
	case SSL_ERROR_WANT_WRITE:
		return wait_fd(SSL_get_fd(ssl), POLLOUT);
	default:
		return -1;
	}
}

static int	relp_open(struct conn *);

static int
conn_open(struct conn *c)
{
	const struct config *conf = sh.conf;
	const char *name = conf->audit_collector_name ?
	    conf->audit_collector_name : conf->audit_collector;
	unsigned char ip[16];
	int r;

	c->fd = -1;
	c->ssl = NULL;
	if (make_ctx() < 0 || (c->fd = tcp_connect(conf)) < 0)
		return -1;
	if (conf->audit_plain_tcp)
		goto done;
	if ((c->ssl = SSL_new(sh.ctx)) == NULL ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		set_error("TLS: %s", ssl_error());
		goto bad;
	}
	/* The collector's certificate must name what we connect to. */
	if (inet_pton(AF_INET, name, ip) == 1 ||
	    inet_pton(AF_INET6, name, ip) == 1) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl),
		    name) != 1)
			goto bad;
	} else if (SSL_set1_host(c->ssl, name) != 1 ||
	    SSL_set_tlsext_host_name(c->ssl, name) != 1)
		goto bad;
	while ((r = SSL_connect(c->ssl)) != 1)
		if (ssl_wait(c->ssl, r) < 0) {
			long v = SSL_get_verify_result(c->ssl);

			if (v != X509_V_OK)
				set_error("TLS with %s: certificate not"
				    " trusted: %s", name,
				    X509_verify_cert_error_string(v));
			else
				set_error("TLS with %s: %s", name,
				    ssl_error());
			goto bad;
		}
done:
	if (conf->audit_protocol == AUDIT_PROTOCOL_RELP && relp_open(c) < 0)
		goto bad;
	sh.connected = 1;
	log_info("audit shipper: connected to %s port %d (%s%s)",
	    conf->audit_collector, conf->audit_port,
	    conf->audit_protocol == AUDIT_PROTOCOL_RELP ? "RELP, " : "",
	    conf->audit_plain_tcp ? "plain TCP" : SSL_get_version(c->ssl));
	write_status();
	return 0;
bad:
	conn_close(c);
	return -1;
}

static int
conn_write(struct conn *c, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w;

		if (c->ssl != NULL) {
			int r = SSL_write(c->ssl, buf, (int)len);

			if (r <= 0) {
				if (ssl_wait(c->ssl, r) < 0) {
					set_error("sending to the collector: %s",
					    ssl_error());
					return -1;
				}
				continue;
			}
			w = r;
		} else {
			w = send(c->fd, buf, len, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN &&
				    wait_fd(c->fd, POLLOUT) == 0)
					continue;
				set_error("sending to the collector: %s",
				    strerror(errno));
				return -1;
			}
		}
		buf += w;
		len -= (size_t)w;
		sh.sent_total += (uint64_t)w;
	}
	return 0;
}

/*
 * The collector never talks: anything readable is its close (or TLS
 * housekeeping such as session tickets, read and dropped).  -1: closed.
 */
static int
conn_alive(struct conn *c, int timeout_ms)
{
	struct pollfd p = { c->fd, POLLIN, 0 };
	char buf[512];
	int r;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	if (c->ssl != NULL) {
		while ((r = SSL_read(c->ssl, buf, sizeof(buf))) > 0)
			;
		r = SSL_get_error(c->ssl, r);
		if (r == SSL_ERROR_WANT_READ || r == SSL_ERROR_WANT_WRITE)
			return 0;
	} else {
		ssize_t n;

		while ((n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
			;
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
	}
	set_error("the collector closed the connection");
	return -1;
}

/* --- RELP (audit_relp.h) -------------------------------------------------- */

/* One frame from the collector: the answer to the oldest command not
 * answered yet, or its notice that it closes.  0, or -1: the session is
 * over (the caller closes the connection and sends again what was not
 * answered). */
static int
relp_answer(struct conn *c, const struct audit_relp_frame *f)
{
	char text[200];
	int status;

	if (f->txnr == 0 && strcmp(f->command, "serverclose") == 0) {
		set_error("the collector closed the RELP session");
		return -1;
	}
	if (strcmp(f->command, "rsp") != 0 || c->want_txnr == c->next_txnr ||
	    f->txnr != c->want_txnr) {
		audit_fmt_value(text, sizeof(text), f->command,
		    strlen(f->command), 0);
		set_error("the collector answered out of turn (RELP %s %u,"
		    " %u expected)", text, f->txnr, c->want_txnr);
		return -1;
	}
	status = audit_relp_rsp_status(f->data, f->len);
	audit_fmt_value(text, sizeof(text), f->data, f->len > 120 ? 120 :
	    f->len, 0);
	if (c->want_txnr == 1 && c->frames_sent == 0) {
		/* the answer to "open" */
		if (audit_relp_open_accepted(f->data, f->len) < 0) {
			set_error("the collector refused the RELP session: %s",
			    text);
			return -1;
		}
	} else if (status != 200) {
		set_error("the collector refused an event: %s", text);
		return -1;
	} else
		c->frames_acked++;
	c->want_txnr = audit_relp_next_txnr(c->want_txnr);
	return 0;
}

/*
 * Takes what the collector sent, waiting up to timeout_ms for it; its
 * answers move frames_acked.  0, -1 when the session is over (said), or
 * -2 when the collector closed the connection (the caller says it).
 */
static int
relp_pump(struct conn *c, int timeout_ms)
{
	struct pollfd p = { c->fd, POLLIN, 0 };
	struct audit_relp_frame f;
	char buf[4096];

	for (;;) {
		size_t off = 0, used;
		ssize_t n;

		if ((c->ssl == NULL || SSL_has_pending(c->ssl) == 0) &&
		    poll(&p, 1, timeout_ms) <= 0)
			return 0;
		timeout_ms = 0;
		if (c->ssl != NULL) {
			int r = SSL_read(c->ssl, buf, sizeof(buf));

			if (r <= 0) {
				r = SSL_get_error(c->ssl, r);
				if (r == SSL_ERROR_WANT_READ ||
				    r == SSL_ERROR_WANT_WRITE)
					return 0;
				break;
			}
			n = r;
		} else {
			n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return 0;
			if (n <= 0)
				break;
		}
		while (off < (size_t)n) {
			int r = audit_relp_read(&c->rd, buf + off, (size_t)n -
			    off, &used, &f);

			off += used;
			if (r < 0) {
				set_error("the collector does not speak RELP");
				return -1;
			}
			if (r == 1 && relp_answer(c, &f) < 0)
				return -1;
		}
	}
	return -2;
}

static int
conn_write(struct conn *, const char *, size_t);

/* "open", and its answer: the session may carry syslog commands. */
static int
relp_open(struct conn *c)
{
	char frame[256];
	double deadline = now_mono() + IO_TIMEOUT_MS / 1000.0;
	long fl;

	audit_relp_reader_init(&c->rd);
	c->next_txnr = c->want_txnr = 1;
	c->frames_sent = c->frames_acked = 0;
	fl = audit_relp_frame(frame, sizeof(frame), c->next_txnr, "open",
	    audit_relp_offers, strlen(audit_relp_offers));
	if (fl < 0)
		return -1;
	if (conn_write(c, frame, (size_t)fl) < 0) {
		set_error("the collector ended the session before the RELP"
		    " open (a collector that wants a client certificate does"
		    " so)");
		return -1;
	}
	c->next_txnr = audit_relp_next_txnr(c->next_txnr);
	while (c->want_txnr == 1) {
		double left = deadline - now_mono();

		if (left <= 0) {
			set_error("the collector did not answer the RELP open");
			return -1;
		}
		switch (relp_pump(c, (int)(left * 1000) + 1)) {
		case -2:
			set_error("the collector closed the connection before"
			    " it answered the RELP open (a collector that"
			    " wants a client certificate does so)");
			return -1;
		case -1:
			return -1;
		}
	}
	return 0;
}

/* The connection is still up (the collector's answers taken): 0 or -1. */
static int
conn_check(struct conn *c, int timeout_ms)
{
	if (sh.conf->audit_protocol != AUDIT_PROTOCOL_RELP)
		return conn_alive(c, timeout_ms);
	switch (relp_pump(c, timeout_ms)) {
	case 0:
		return 0;
	case -2:
		set_error("the collector closed the connection");
		break;
	}
	return -1;
}

/* Bytes the collector's TCP has not acknowledged yet. */
static int
unacked(const struct conn *c)
{
	int outq = 0;

	if (ioctl(c->fd, SIOCOUTQ, &outq) < 0)
		return 0;
	return outq;
}

struct mark {
	uint64_t		off;
	uint64_t		seq;
	double			t;
	uint64_t		frames;	/* RELP: syslog commands sent by then */
};

/*
 * How many marks are delivered.  RFC 5425: sent AUDIT_SHIP_SETTLE ago on
 * a connection still up, and acknowledged by the collector's TCP.  RELP:
 * every syslog command up to the mark answered 200.
 */
static size_t
delivered_marks(struct conn *c, const struct mark *marks, size_t nmarks)
{
	size_t k = 0;

	if (sh.conf->audit_protocol == AUDIT_PROTOCOL_RELP) {
		while (k < nmarks && marks[k].frames <= c->frames_acked)
			k++;
		return k;
	}
	if (nmarks == 0 || now_mono() - marks[0].t < AUDIT_SHIP_SETTLE ||
	    unacked(c) != 0 || conn_alive(c, 0) != 0)
		return 0;
	while (k < nmarks && now_mono() - marks[k].t >= AUDIT_SHIP_SETTLE)
		k++;
	return k;
}

/*
 * One RFC 5425 frame ("LEN SP MSG") as the wire wants it: itself, or for
 * RELP a syslog command carrying MSG.  The length written, or -1.
 */
static long
wire_frame(struct conn *c, const char *frame, long fl, char *out,
    size_t outlen)
{
	const char *sp;
	long rl;

	if (sh.conf->audit_protocol != AUDIT_PROTOCOL_RELP) {
		if ((size_t)fl > outlen)
			return -1;
		memcpy(out, frame, (size_t)fl);
		return fl;
	}
	if ((sp = memchr(frame, ' ', (size_t)fl)) == NULL)
		return -1;
	sp++;
	rl = audit_relp_frame(out, outlen, c->next_txnr, "syslog", sp,
	    (size_t)(frame + fl - sp));
	if (rl >= 0) {
		c->next_txnr = audit_relp_next_txnr(c->next_txnr);
		c->frames_sent++;
	}
	return rl;
}

static void
shipper_loop(void)
{
	uint64_t sent, committed;
	struct mark marks[MARKS_MAX];
	struct conn c = { .fd = -1 };
	size_t outlen = OUT_MAX + AUDIT_FMT_MSG_MAX + 64;
	char *in = malloc(READ_MAX), *out = malloc(outlen),
	    frame[AUDIT_FMT_MSG_MAX + 32];
	double backoff = AUDIT_SHIP_BACKOFF_MIN, next_try = 0;
	size_t nmarks = 0;
	int relp = sh.conf->audit_protocol == AUDIT_PROTOCOL_RELP;

	if (in == NULL || out == NULL) {
		log_error("audit shipper: out of memory");
		_exit(1);
	}
	audit_spool_position(sh.dir, &committed);
	sent = committed;
	for (;;) {
		size_t n = 0, i, o = 0, start, k;
		uint64_t seq = 0, room = UINT64_MAX;
		double t = now_mono();
		int rc;

		if (c.fd < 0) {
			if (t < next_try) {
				poll(NULL, 0, (int)((next_try - t) * 1000) + 1);
				continue;
			}
			if (conn_open(&c) < 0) {
				next_try = now_mono() + backoff;
				backoff *= 2;
				if (backoff > AUDIT_SHIP_BACKOFF_MAX)
					backoff = AUDIT_SHIP_BACKOFF_MAX;
				continue;
			}
			backoff = AUDIT_SHIP_BACKOFF_MIN;
			/* Anything not known delivered goes again. */
			sent = committed;
			nmarks = 0;
		}
		if (conn_check(&c, 0) < 0)
			goto broken;
		if (relp)
			room = RELP_WINDOW - (c.frames_sent - c.frames_acked);
		if (nmarks < MARKS_MAX && room > 0) {
			rc = audit_spool_read(sh.dir, sent, in, READ_MAX, &n);
			if (rc == -ERANGE) {
				set_error("the journal is shorter than the"
				    " delivered offset %" PRIu64 ": it was"
				    " replaced; delivering it from its start",
				    committed);
				committed = sent = 0;
				nmarks = 0;
				audit_spool_commit(sh.dir, 0);
				continue;
			} else if (rc < 0)
				set_error("reading the spool: %s",
				    strerror(-rc));
		}
		for (i = 0, start = 0; i < n; i++) {
			long fl;
			unsigned long long s = 0;

			if (in[i] != '\n' && i + 1 < n)
				continue;
			fl = audit_fmt_rfc5424(in + start, i - start, frame,
			    sizeof(frame), &s);
			if (fl >= 0)
				fl = wire_frame(&c, frame, fl, out + o,
				    outlen - o);
			if (fl < 0) {
				sh.bad_records++;
				set_error("journal offset %" PRIu64
				    ": not a record, skipped", sent + start);
			} else {
				o += (size_t)fl;
				seq = s;
				room--;
			}
			start = i + 1;
			if (o >= OUT_MAX || start == n || room == 0) {
				if (o > 0 && conn_write(&c, out, o) < 0)
					goto broken;
				o = 0;
			}
			/* RELP: the window is full; the rest waits. */
			if (room == 0)
				n = start;
		}
		if (n > 0) {
			sent += n;
			marks[nmarks].off = sent;
			marks[nmarks].seq = seq;
			marks[nmarks].t = now_mono();
			marks[nmarks].frames = c.frames_sent;
			nmarks++;
		}
		if ((k = delivered_marks(&c, marks, nmarks)) > 0) {
			if ((rc = audit_spool_commit(sh.dir,
			    marks[k - 1].off)) < 0)
				set_error("recording the delivery offset: %s",
				    strerror(-rc));
			else {
				uint64_t lastseq = 0;

				for (i = 0; i < k; i++)
					if (marks[i].seq > 0)
						lastseq = marks[i].seq;
				if (lastseq > 0)
					sh.delivered_seq = lastseq;
				sh.delivered_at = time(NULL);
				committed = marks[k - 1].off;
				memmove(marks, marks + k, (nmarks - k) *
				    sizeof(*marks));
				nmarks -= k;
				write_status();
			}
		}
		/* Nothing new, or a full window: wait for the collector. */
		if ((n == 0 || room == 0) && conn_check(&c, 100) < 0)
			goto broken;
		continue;
broken:
		conn_close(&c);
		sent = committed;
		nmarks = 0;
		next_try = now_mono() + backoff;
	}
}

/*
 * What the shipper may still reach once it runs: its spool directory, the
 * TLS files, what name resolution reads, and TCP to the collector's port
 * (and 53).  Not the rest of the state directory (TOTP secrets, the seal
 * key, the host key, API tokens) nor the credentials: a collector that
 * took it over through TLS or RELP bytes finds none of them.
 */
static void
confine(const struct config *conf)
{
	const struct sandbox_path paths[] = {
		{ sh.dir, 1 },
		{ conf->audit_ca, 0 }, { conf->audit_client_cert, 0 },
		{ conf->audit_client_key, 0 },
		{ "/etc/resolv.conf", 0 }, { "/etc/hosts", 0 },
		{ "/etc/nsswitch.conf", 0 }, { "/etc/gai.conf", 0 },
		{ "/etc/host.conf", 0 }, { "/etc/ld.so.cache", 0 },
		{ "/usr/lib", 0 },
	};
	struct sandbox_path use[sizeof(paths) / sizeof(paths[0])];
	const int ports[] = { conf->audit_port, 53 };
	size_t i, n = 0;
	int rc;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		if (paths[i].path != NULL)
			use[n++] = paths[i];
	rc = sandbox_confine_files(use, n, ports, 2);
	if (rc > 0)
		log_info("audit shipper: confined to %s (Landlock ABI %d)",
		    sh.dir, sandbox_landlock_abi());
	else if (rc == 0)
		log_info("audit shipper: the kernel has no Landlock: not"
		    " confined to %s", sh.dir);
	else
		log_error("audit shipper: could not be confined to %s;"
		    " delivering anyway", sh.dir);
#ifdef HVB_TEST_HOOKS
	testhooks_shipper();
#endif
}

static void
shipper_main(const struct config *conf)
{
	char path[PATH_MAX];
	int lk;

	/* Nothing of the master's: listening sockets, children's pipes. */
	closefrom(3);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	prctl(PR_SET_NAME, "hvb-shipper");
	memset(&sh, 0, sizeof(sh));
	sh.conf = conf;
	snprintf(sh.dir, sizeof(sh.dir), "%s/%s", conf->state_dir,
	    AUDIT_SPOOL_SUBDIR);
	snprintf(path, sizeof(path), "%s/shipper.lock", sh.dir);
	if ((lk = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) < 0) {
		log_error("audit shipper: %s: %s", path, strerror(errno));
		_exit(1);
	}
	while (flock(lk, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EWOULDBLOCK && errno != EINTR) {
			log_error("audit shipper: lock %s: %s", path,
			    strerror(errno));
			_exit(1);
		}
		sleep(1);	/* another shipper winds down */
	}
	/* The TLS files are read now; again only if they fail. */
	make_ctx();
	confine(conf);
	write_status();
	shipper_loop();
	_exit(0);
}
