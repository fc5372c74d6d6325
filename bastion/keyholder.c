/*
 * keyholder.c - the key holder process (see keyholder.h).
 *
 * One single-threaded poll loop over: the master's control socket, one
 * SOCK_SEQPACKET socket per child, the ssh-agent sockets it handed out,
 * and the target connections still in progress.  It never blocks on a
 * child: sends are non-blocking, and a child that does not take its
 * answer loses its socket.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../policy/policy.h"
#include "../recorder/seal.h"
#include "keyholder.h"
#include "kh_keys.h"
#include "kh_proto.h"
#include "log.h"
#include "seqpacket.h"

/* Signatures an agent socket gives: one upstream authentication. */
#define KH_AGENT_SIGNS_MAX	4

enum conn_kind { CONN_CHILD, CONN_AGENT, CONN_PENDING };

struct conn {
	enum conn_kind	 kind;
	int		 fd;
	int		 dead;
	unsigned long	 id;		/* unique: fd numbers are reused */
	/* CONN_CHILD */
	pid_t		 pid;
	char		 source[KH_STR_MAX + 1];
	/* SSH: bound by the monitor's IDENTIFY; API: by the monitor's
	 * first API_AUTH (the API child never holds this socket). */
	char		 person[KH_STR_MAX + 1];
	int		 identified;	/* IDENTIFY seen: person, session */
	int		 busy;		/* a connect in progress */
	/* The API token last given to this connection (logged once, not
	 * on every call of its keep-alive connection). */
	char		 api_logged[KH_STR_MAX + 1];
	/* CONN_AGENT, CONN_PENDING: what it is bound to */
	char		 credential[KH_STR_MAX + 1];
	char		 login[KH_STR_MAX + 1];
	char		 target[KH_STR_MAX + 1];
	char		 session_id[KH_STR_MAX + 1];	/* also CONN_CHILD */
	int		 signs;
	unsigned char	*in;		/* agent input buffer */
	size_t		 inlen;
	/* CONN_PENDING: the child it answers */
	unsigned long	 child_id;
	time_t		 deadline;
};

static struct config	*kh_conf;
static struct kh_key	**kh_keys;	/* parallel to kh_conf->credentials */
static size_t		 kh_nkeys;
/* API token secrets (issue 7), parallel to kh_conf->api_credentials. */
#define KH_API_SECRET_MAX	64
static char		(*kh_api_secrets)[KH_API_SECRET_MAX];
static size_t		 kh_napi;
static unsigned char	 kh_seal_key[SEAL_KEY_LEN];
static int		 kh_have_seal;
static struct conn	**conns;
static size_t		 nconns;
static unsigned long	 conn_serial;
static volatile sig_atomic_t kh_got_hup, kh_got_term;

static void
kh_signal(int sig)
{
	if (sig == SIGHUP)
		kh_got_hup = 1;
	else
		kh_got_term = 1;
}

static void
kh_report(void *arg, const char *msg)
{
	(void)arg;
	log_error("key holder: %s", msg);
}

static const struct kh_key *
key_for(const char *credential)
{
	size_t i;

	for (i = 0; i < kh_nkeys && i < kh_conf->ncredentials; i++)
		if (strcmp(kh_conf->credentials[i]->name, credential) == 0)
			return kh_keys[i];
	return NULL;
}

static const struct kh_key *
old_key(struct kh_key **keys, size_t n, const struct config *conf,
    const char *credential, size_t *idx)
{
	size_t i;

	for (i = 0; i < n && conf != NULL && i < conf->ncredentials; i++)
		if (keys[i] != NULL &&
		    strcmp(conf->credentials[i]->name, credential) == 0) {
			*idx = i;
			return keys[i];
		}
	return NULL;
}

/*
 * Loads every credential's key.  A key that cannot be re-read on reload
 * (e.g. a file the unprivileged user may not read) keeps its old copy.
 */
static void
load_keys(struct config *conf)
{
	struct kh_key **keys;
	size_t i, idx;
	char why[512];

	keys = calloc(conf->ncredentials + 1, sizeof(*keys));
	if (keys == NULL)
		return;
	for (i = 0; i < conf->ncredentials; i++) {
		const struct config_credential *c = conf->credentials[i];

		keys[i] = kh_key_load(c->key_file, why, sizeof(why));
		if (keys[i] != NULL)
			continue;
		if (old_key(kh_keys, kh_nkeys, kh_conf, c->name, &idx)) {
			log_error("key holder: credential %s: %s; keeping the"
			    " key loaded before", c->name, why);
			keys[i] = kh_keys[idx];
			kh_keys[idx] = NULL;
		} else
			log_error("key holder: credential %s: %s", c->name,
			    why);
	}
	for (i = 0; i < kh_nkeys; i++)
		kh_key_free(kh_keys[i]);
	free(kh_keys);
	kh_keys = keys;
	kh_nkeys = conf->ncredentials;
}

/* One UUID in a file (config_api_policy.c checked its shape). */
static int
read_secret(const char *path, char *out)
{
	char buf[KH_API_SECRET_MAX + 8];
	ssize_t n;
	int fd;

	out[0] = '\0';
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return -1;
	do
		n = read(fd, buf, sizeof(buf) - 1);
	while (n < 0 && errno == EINTR);
	close(fd);
	if (n <= 0) {
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (strlen(buf) == 0 || strlen(buf) >= KH_API_SECRET_MAX) {
		explicit_bzero(buf, sizeof(buf));
		return -1;
	}
	memcpy(out, buf, strlen(buf) + 1);
	explicit_bzero(buf, sizeof(buf));
	return 0;
}

static void
load_api_secrets(struct config *conf)
{
	char (*s)[KH_API_SECRET_MAX];
	size_t i, j;

	s = calloc(conf->napi_credentials + 1, sizeof(*s));
	if (s == NULL)
		return;
	for (i = 0; i < conf->napi_credentials; i++) {
		const struct config_api_credential *c =
		    conf->api_credentials[i];

		if (read_secret(c->secret_file, s[i]) == 0)
			continue;
		/* Keep what was read before, as for the keys. */
		for (j = 0; kh_conf != NULL && j < kh_napi &&
		    j < kh_conf->napi_credentials; j++)
			if (strcmp(kh_conf->api_credentials[j]->name,
			    c->name) == 0)
				memcpy(s[i], kh_api_secrets[j], sizeof(s[i]));
		log_error("key holder: api-credential %s: cannot read %s%s",
		    c->name, c->secret_file, s[i][0] != '\0' ?
		    "; keeping the secret read before" : "");
	}
	if (kh_api_secrets != NULL) {
		explicit_bzero(kh_api_secrets, kh_napi * sizeof(*s));
		free(kh_api_secrets);
	}
	kh_api_secrets = s;
	kh_napi = conf->napi_credentials;
}

/*
 * keyholder_generation(): written by the key holder only.  The page is a
 * sealed memfd: the key holder keeps the writable mapping it inherits,
 * every other process maps it again read-only after F_SEAL_FUTURE_WRITE,
 * and such a mapping cannot be made writable with mprotect() (the
 * kernel drops VM_MAYWRITE), so a compromised child cannot hold the
 * counter still to keep an answer a reload took back.
 */
static unsigned long	*kh_gen_page = MAP_FAILED;
static const size_t	 kh_gen_len = 4096;

unsigned long
keyholder_generation(void)
{
	if (kh_gen_page == MAP_FAILED)
		return 0;
	return __atomic_load_n(kh_gen_page, __ATOMIC_ACQUIRE);
}

void
keyholder_generation_forget(void)
{
	if (kh_gen_page != MAP_FAILED)
		munmap(kh_gen_page, kh_gen_len);
	kh_gen_page = MAP_FAILED;
}

const void *
keyholder_generation_page(void)
{
	return kh_gen_page == MAP_FAILED ? NULL : (const void *)kh_gen_page;
}

/* The page, writable here (for the key holder to inherit); its fd or -1. */
static int
generation_page_create(void)
{
	int fd = memfd_create("hvbastion-policy-generation", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)kh_gen_len) < 0 ||
	    (kh_gen_page = mmap(NULL, kh_gen_len, PROT_READ | PROT_WRITE,
	    MAP_SHARED, fd, 0)) == MAP_FAILED) {
		log_error("key holder: policy generation page: %s",
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		kh_gen_page = MAP_FAILED;
		return -1;
	}
	*kh_gen_page = 1;
	return fd;
}

/* After the fork: this process's mapping replaced by a read-only one. */
static void
generation_page_seal(int fd)
{
	keyholder_generation_forget();
	if (fd < 0)
		return;
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_FUTURE_WRITE | F_SEAL_SEAL) < 0 ||
	    (kh_gen_page = mmap(NULL, kh_gen_len, PROT_READ, MAP_SHARED, fd,
	    0)) == MAP_FAILED) {
		log_error("key holder: policy generation page: %s",
		    strerror(errno));
		kh_gen_page = MAP_FAILED;
	}
	close(fd);
}

static void
reload(void)
{
	struct config *fresh;

	fresh = config_load(kh_conf->path, kh_report, NULL);
	if (fresh == NULL) {
		log_error("key holder: new configuration refused; keeping"
		    " the one loaded before");
		return;
	}
	load_keys(fresh);
	load_api_secrets(fresh);
	config_free(kh_conf);
	kh_conf = fresh;
	/* After the new policy is in place: a monitor that sees the new
	 * value asks again, and is answered by the new policy. */
	if (kh_gen_page != MAP_FAILED)
		__atomic_add_fetch(kh_gen_page, 1, __ATOMIC_RELEASE);
	log_info("key holder: keys and policy re-read");
}

static struct conn *
conn_add(enum conn_kind kind, int fd)
{
	struct conn **tmp, *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	tmp = realloc(conns, (nconns + 1) * sizeof(*conns));
	if (tmp == NULL) {
		free(c);
		return NULL;
	}
	conns = tmp;
	c->kind = kind;
	c->fd = fd;
	c->id = ++conn_serial;
	conns[nconns++] = c;
	return c;
}

static void
conn_free(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	if (c->in != NULL) {
		explicit_bzero(c->in, KH_AGENT_MSG_MAX + 4);
		free(c->in);
	}
	free(c);
}

static void
sweep(void)
{
	size_t i, j = 0;

	for (i = 0; i < nconns; i++)
		if (conns[i]->dead)
			conn_free(conns[i]);
		else
			conns[j++] = conns[i];
	nconns = j;
}

static struct conn *
child_by_id(unsigned long id)
{
	size_t i;

	for (i = 0; i < nconns; i++)
		if (conns[i]->kind == CONN_CHILD && conns[i]->id == id &&
		    !conns[i]->dead)
			return conns[i];
	return NULL;
}

/* Sends one message (and up to two descriptors) without ever blocking. */
static int
send_msg(int fd, const struct kh_msg *m, const int *fds, int nfds)
{
	unsigned char buf[KH_MSG_MAX];
	int len = kh_msg_encode(m, buf, sizeof(buf)), rc;

	if (len < 0)
		return -1;
	rc = seqpacket_send(fd, buf, (size_t)len, fds, nfds, MSG_DONTWAIT);
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

static void
reply_connect(struct conn *child, int status, const char *msg,
    const int *fds, int nfds)
{
	struct kh_msg m;

	memset(&m, 0, sizeof(m));
	m.type = KH_REP_CONNECT;
	m.status = (uint8_t)status;
	snprintf(m.message, sizeof(m.message), "%s", msg);
	if (send_msg(child->fd, &m, fds, nfds) < 0)
		child->dead = 1;
	child->busy = 0;
}

/* May person reach target with credential's login, over any channel? */
static int
allowed(const struct conn *child, const struct kh_msg *req,
    const struct config_target **tp, const struct config_credential **cp,
    char *rule, size_t rulelen)
{
	static const enum policy_channel kinds[] = { POLICY_CHANNEL_SHELL,
	    POLICY_CHANNEL_EXEC, POLICY_CHANNEL_SFTP, POLICY_CHANNEL_SCP };
	const struct config_target *t;
	const struct config_credential *c = NULL;
	struct policy_decision d;
	size_t i;

	snprintf(rule, rulelen, "unknown target or credential");
	if ((t = config_find_target(kh_conf, req->target)) == NULL)
		return 0;
	for (i = 0; i < t->ncredentials; i++)
		if (strcmp(t->credentials[i]->name, req->credential) == 0)
			c = t->credentials[i];
	if (c == NULL)
		return 0;
	for (i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct policy_request pr;

		memset(&pr, 0, sizeof(pr));
		pr.person = req->person;
		pr.target = req->target;
		pr.login = c->login;
		pr.channel = kinds[i];
		if (req->fwd_host[0] != '\0') {
			/* A port forward: decided on its destination. */
			if (i > 0)
				break;
			pr.channel = POLICY_CHANNEL_FORWARD;
			pr.forward_host = req->fwd_host;
			pr.forward_port = req->fwd_port;
		}
		pr.source = child->source[0] != '\0' ? child->source : NULL;
		if (policy_decide(kh_conf, &pr, &d) && d.credential != NULL &&
		    strcmp(d.credential->login, c->login) == 0) {
			*tp = t;
			*cp = c;
			snprintf(rule, rulelen, "%s", d.rule);
			return 1;
		}
	}
	snprintf(rule, rulelen, "%s", d.rule);
	return 0;
}

static void
refuse(struct conn *child, const struct kh_msg *req, const char *why)
{
	char p[96], t[96], c[96];

	log_info("key holder: refused child %ld (%s): %s may not use %s on"
	    " %s: %s", (long)child->pid, child->source,
	    log_escape(p, sizeof(p), req->person),
	    log_escape(c, sizeof(c), req->credential),
	    log_escape(t, sizeof(t), req->target), why);
	reply_connect(child, KH_REFUSED, "not allowed", NULL, 0);
}

static void
start_connect(struct conn *child, const struct kh_msg *req)
{
	const struct config_target *t = NULL;
	const struct config_credential *c = NULL;
	struct addrinfo hints, *ai = NULL;
	struct conn *pc;
	char rule[512], port[16];
	int fd = -1, rc;

	/*
	 * Only the person the connection's monitor authenticated, for the
	 * session it named: the network child that sends this parsed the
	 * client's bytes before authentication and is trusted for nothing.
	 */
	if (!child->identified) {
		refuse(child, req, "no monitor identified this connection");
		return;
	}
	if (strcmp(child->person, req->person) != 0 ||
	    strcmp(child->session_id, req->session_id) != 0) {
		refuse(child, req, "this connection is bound to another"
		    " person");
		return;
	}
	if (!allowed(child, req, &t, &c, rule, sizeof(rule))) {
		refuse(child, req, rule);
		return;
	}
	if (key_for(c->name) == NULL) {
		log_error("key holder: credential %s has no usable key",
		    c->name);
		reply_connect(child, KH_FAILED, "credential unavailable",
		    NULL, 0);
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%d", t->port);
	if ((rc = getaddrinfo(t->address, port, &hints, &ai)) != 0) {
		log_info("key holder: target %s: %s", t->name,
		    gai_strerror(rc));
		reply_connect(child, KH_FAILED, "cannot resolve target",
		    NULL, 0);
		return;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 &&
	    errno != EINPROGRESS) || (pc = conn_add(CONN_PENDING, fd)) ==
	    NULL) {
		log_info("key holder: target %s (%s port %d): %s", t->name,
		    t->address, t->port, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		reply_connect(child, KH_FAILED, "cannot connect", NULL, 0);
		return;
	}
	freeaddrinfo(ai);
	snprintf(pc->credential, sizeof(pc->credential), "%s", c->name);
	snprintf(pc->login, sizeof(pc->login), "%s", c->login);
	snprintf(pc->target, sizeof(pc->target), "%s", t->name);
	snprintf(pc->session_id, sizeof(pc->session_id), "%s",
	    req->session_id);
	pc->child_id = child->id;
	pc->deadline = time(NULL) + kh_conf->connect_timeout;
	child->busy = 1;
	log_info("key holder: session %s: %s may use %s on %s (%s)",
	    req->session_id, req->person, c->name, t->name, rule);
}

/* A target connection finished (or failed): answer the child. */
static void
finish_connect(struct conn *pc, int ok)
{
	struct conn *child = child_by_id(pc->child_id), *ag;
	int sv[2], fds[2];

	pc->dead = 1;
	if (child == NULL)
		return;
	if (!ok) {
		reply_connect(child, KH_FAILED, "cannot connect", NULL, 0);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		reply_connect(child, KH_FAILED, "internal error", NULL, 0);
		return;
	}
	if ((ag = conn_add(CONN_AGENT, sv[0])) == NULL ||
	    (ag->in = malloc(KH_AGENT_MSG_MAX + 4)) == NULL) {
		if (ag != NULL)
			ag->dead = 1;
		else
			close(sv[0]);
		close(sv[1]);
		reply_connect(child, KH_FAILED, "internal error", NULL, 0);
		return;
	}
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	memcpy(ag->credential, pc->credential, sizeof(ag->credential));
	memcpy(ag->login, pc->login, sizeof(ag->login));
	memcpy(ag->target, pc->target, sizeof(ag->target));
	memcpy(ag->session_id, pc->session_id, sizeof(ag->session_id));
	memcpy(ag->person, child->person, sizeof(ag->person));
	/* The socket goes back blocking: libssh reads it so. */
	fcntl(pc->fd, F_SETFL, 0);
	fds[0] = pc->fd;
	fds[1] = sv[1];
	reply_connect(child, KH_OK, "connected", fds, 2);
	close(sv[1]);
}

static void
do_seal(struct conn *child, const struct kh_msg *req)
{
	struct kh_msg m;

	memset(&m, 0, sizeof(m));
	m.type = KH_REP_SEAL;
	if (!kh_have_seal || seal_compute(kh_seal_key, sizeof(kh_seal_key),
	    req->basename, req->lines, req->bytes, req->chain_hex,
	    m.mac) < 0)
		m.status = KH_FAILED;
	if (send_msg(child->fd, &m, NULL, 0) < 0)
		child->dead = 1;
	explicit_bzero(&m, sizeof(m));
}

/*
 * The SSH monitor names the person it authenticated (ssh_monitor.h),
 * once, before it hands the socket to the network child: a second
 * IDENTIFY (the child's) is refused and ends the connection.
 */
static void
do_identify(struct conn *child, const struct kh_msg *req)
{
	struct kh_msg m;

	memset(&m, 0, sizeof(m));
	m.type = KH_REP_IDENTIFY;
	if (child->person[0] != '\0') {	/* identified, or an API one */
		log_error("key holder: child %ld (%s) asked to be %s, but is"
		    " bound to %s already; closing", (long)child->pid,
		    child->source, req->person, child->person);
		child->dead = 1;
		return;
	}
	snprintf(child->person, sizeof(child->person), "%s", req->person);
	snprintf(child->session_id, sizeof(child->session_id), "%s",
	    req->session_id);
	child->identified = 1;
	m.status = KH_OK;
	if (send_msg(child->fd, &m, NULL, 0) < 0)
		child->dead = 1;
}

/*
 * The API side: the token of the role that policy_decide_api() allows,
 * as the Authorization header value.
 */
static void
do_api_auth(struct conn *child, const struct kh_msg *req)
{
	struct policy_api_request pr;
	struct policy_decision d;
	struct kh_msg m;
	size_t i;
	int n;

	memset(&m, 0, sizeof(m));
	m.type = KH_REP_API_AUTH;
	m.status = KH_REFUSED;
	snprintf(m.message, sizeof(m.message), "not allowed");
	if (child->person[0] != '\0' &&
	    strcmp(child->person, req->person) != 0) {
		log_info("key holder: refused child %ld (%s): API token for"
		    " %s: this connection is bound to another person",
		    (long)child->pid, child->source, req->person);
		goto send;
	}
	memset(&pr, 0, sizeof(pr));
	pr.person = req->person;
	pr.acl_path = req->acl_path;
	pr.privilege = req->privilege[0] != '\0' ? req->privilege : NULL;
	pr.source = child->source[0] != '\0' ? child->source : NULL;
	pr.pool = req->pool[0] != '\0' ? req->pool : NULL;
	pr.when = time(NULL);
	if (!policy_decide_api(kh_conf, &pr, &d) || d.api_credential == NULL) {
		log_info("key holder: refused child %ld (%s): API token for"
		    " %s on %s (%s): %s", (long)child->pid, child->source,
		    req->person, req->acl_path, req->privilege, d.rule);
		goto send;
	}
	for (i = 0; i < kh_napi && i < kh_conf->napi_credentials; i++)
		if (kh_conf->api_credentials[i] == d.api_credential)
			break;
	m.status = KH_FAILED;
	snprintf(m.message, sizeof(m.message), "token unavailable");
	if (i == kh_napi || kh_api_secrets[i][0] == '\0')
		goto send;
	n = snprintf(m.message, sizeof(m.message), "PVEAPIToken=%s=%s",
	    d.api_credential->token_id, kh_api_secrets[i]);
	if (n < 0 || (size_t)n >= sizeof(m.message))
		goto send;
	m.status = KH_OK;
	snprintf(child->person, sizeof(child->person), "%s", req->person);
	/* Every call is an audit event of the API child already; here the
	 * first token of a connection (or a change of token) is enough. */
	if (strcmp(child->api_logged, d.api_credential->name) != 0)
		log_info("key holder: API token %s for %s on %s (%s): %s",
		    d.api_credential->name, req->person, req->acl_path,
		    req->privilege, d.rule);
	snprintf(child->api_logged, sizeof(child->api_logged), "%s",
	    d.api_credential->name);
send:
	if (m.status != KH_OK && m.status != KH_REFUSED)
		snprintf(m.message, sizeof(m.message), "token unavailable");
	if (send_msg(child->fd, &m, NULL, 0) < 0)
		child->dead = 1;
	explicit_bzero(&m, sizeof(m));
}

static void
child_readable(struct conn *child)
{
	unsigned char buf[KH_MSG_MAX + 1];
	struct kh_msg req;
	ssize_t n;

	n = recv(child->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		child->dead = 1;
		return;
	}
	if (kh_msg_decode(buf, (size_t)n, &req) < 0) {
		log_error("key holder: child %ld (%s) sent a malformed or"
		    " unknown request (%zd bytes, type %u); closing",
		    (long)child->pid, child->source, n, buf[0]);
		child->dead = 1;
		return;
	}
	switch (req.type) {
	case KH_REQ_CONNECT:
		start_connect(child, &req);
		break;
	case KH_REQ_SEAL:
		do_seal(child, &req);
		break;
	case KH_REQ_API_AUTH:
		do_api_auth(child, &req);
		break;
	case KH_REQ_IDENTIFY:
		do_identify(child, &req);
		break;
	default:
		log_error("key holder: child %ld (%s) sent request type %u,"
		    " which a child may not send; closing", (long)child->pid,
		    child->source, req.type);
		child->dead = 1;
		break;
	}
}

static int
master_readable(int ctl)
{
	unsigned char buf[KH_MSG_MAX + 1];
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} cm;
	struct msghdr mh;
	struct iovec iov;
	struct cmsghdr *ch;
	struct kh_msg m;
	struct conn *c;
	ssize_t n;
	int fd = -1;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = buf;
	iov.iov_len = sizeof(buf);
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	n = recvmsg(ctl, &mh, MSG_CMSG_CLOEXEC);
	if (n < 0 && errno == EINTR)
		return 0;
	if (n <= 0)
		return -1;
	for (ch = CMSG_FIRSTHDR(&mh); ch != NULL; ch = CMSG_NXTHDR(&mh, ch))
		if (ch->cmsg_level == SOL_SOCKET &&
		    ch->cmsg_type == SCM_RIGHTS &&
		    ch->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&fd, CMSG_DATA(ch), sizeof(int));
	if (kh_msg_decode(buf, (size_t)n, &m) < 0 || m.type != KH_CTL_CHILD ||
	    fd < 0 || (mh.msg_flags & MSG_CTRUNC)) {
		if (fd >= 0)
			close(fd);
		log_error("key holder: bad message from the master");
		return 0;
	}
	if ((c = conn_add(CONN_CHILD, fd)) == NULL) {
		close(fd);
		return 0;
	}
	c->pid = (pid_t)m.pid;
	snprintf(c->source, sizeof(c->source), "%s", m.source);
	return 0;
}

static void
agent_reply(struct conn *ag, const unsigned char *msg, size_t len)
{
	unsigned char hdr[4] = { len >> 24, len >> 16, len >> 8, len };
	struct iovec iov[2] = { { hdr, 4 }, { (void *)msg, len } };
	struct msghdr mh;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	if (sendmsg(ag->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL) !=
	    (ssize_t)len + 4)
		ag->dead = 1;
}

static void
put32(unsigned char *p, size_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
agent_message(struct conn *ag, const unsigned char *msg, size_t len)
{
	static const unsigned char failure[1] = { KH_AGENT_FAILURE };
	unsigned char out[KH_BLOB_MAX + KH_SIG_MAX + 64];
	const unsigned char *blob;
	const struct kh_key *k = key_for(ag->credential);
	struct kh_agent_req r;
	size_t bloblen, o = 0;
	int siglen;

	if (k == NULL || kh_agent_parse(msg, len, &r) < 0) {
		log_info("key holder: session %s: agent request refused"
		    " (malformed, or credential %s gone)", ag->session_id,
		    ag->credential);
		agent_reply(ag, failure, 1);
		return;
	}
	blob = kh_key_blob(k, &bloblen);
	if (r.type == KH_AGENTC_REQUEST_IDENTITIES) {
		size_t cl = strlen(ag->credential);

		out[o++] = KH_AGENT_IDENTITIES_ANSWER;
		put32(out + o, 1);
		o += 4;
		put32(out + o, bloblen);
		memcpy(out + o + 4, blob, bloblen);
		o += 4 + bloblen;
		put32(out + o, cl);
		memcpy(out + o + 4, ag->credential, cl);
		o += 4 + cl;
		agent_reply(ag, out, o);
		return;
	}
	if (r.key_blob_len != bloblen || memcmp(r.key_blob, blob,
	    bloblen) != 0 || kh_agent_check_userauth(r.data, r.data_len,
	    ag->login, blob, bloblen) < 0 ||
	    ++ag->signs > KH_AGENT_SIGNS_MAX) {
		log_info("key holder: session %s: refused to sign for %s on"
		    " %s: not a publickey authentication as %s with that key,"
		    " or too many", ag->session_id, ag->credential,
		    ag->target, ag->login);
		agent_reply(ag, failure, 1);
		return;
	}
	out[o++] = KH_AGENT_SIGN_RESPONSE;
	siglen = kh_key_sign(k, r.flags, r.data, r.data_len, out + o + 4,
	    sizeof(out) - o - 4);
	if (siglen < 0) {
		agent_reply(ag, failure, 1);
		return;
	}
	put32(out + o, (size_t)siglen);
	o += 4 + (size_t)siglen;
	log_info("key holder: session %s: signed the authentication of %s"
	    " to %s as %s", ag->session_id, ag->person, ag->target,
	    ag->login);
	agent_reply(ag, out, o);
}

static void
agent_readable(struct conn *ag)
{
	ssize_t n;
	size_t need;

	n = read(ag->fd, ag->in + ag->inlen, KH_AGENT_MSG_MAX + 4 -
	    ag->inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		ag->dead = 1;
		return;
	}
	ag->inlen += (size_t)n;
	while (!ag->dead && ag->inlen >= 4) {
		need = (size_t)ag->in[0] << 24 | (size_t)ag->in[1] << 16 |
		    (size_t)ag->in[2] << 8 | ag->in[3];
		if (need == 0 || need > KH_AGENT_MSG_MAX) {
			log_info("key holder: session %s: agent message of %zu"
			    " bytes refused", ag->session_id, need);
			ag->dead = 1;
			return;
		}
		if (ag->inlen < need + 4)
			return;
		agent_message(ag, ag->in + 4, need);
		memmove(ag->in, ag->in + 4 + need, ag->inlen - 4 - need);
		ag->inlen -= 4 + need;
	}
}

static void
pending_ready(struct conn *pc)
{
	int err = 0;
	socklen_t sl = sizeof(err);

	if (getsockopt(pc->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0 ||
	    err != 0) {
		log_info("key holder: target %s: %s", pc->target,
		    strerror(err != 0 ? err : errno));
		finish_connect(pc, 0);
		return;
	}
	finish_connect(pc, 1);
}

static void
run(int ctl)
{
	struct pollfd *pfd = NULL;
	int master_open = 1;

	while (!kh_got_term && (master_open || nconns > 0)) {
		struct pollfd *tmp;
		size_t i, n = 0;
		time_t now = time(NULL);

		if (kh_got_hup) {
			kh_got_hup = 0;
			reload();
		}
		tmp = realloc(pfd, (nconns + 1) * sizeof(*pfd));
		if (tmp == NULL) {
			sleep(1);
			continue;
		}
		pfd = tmp;
		pfd[n].fd = master_open ? ctl : -1;
		pfd[n++].events = POLLIN;
		for (i = 0; i < nconns; i++) {
			struct conn *c = conns[i];

			pfd[n].fd = c->busy ? -1 : c->fd;
			pfd[n++].events = c->kind == CONN_PENDING ? POLLOUT :
			    POLLIN;
		}
		if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents != 0 && master_readable(ctl) < 0) {
			/* The master is gone: serve the children left. */
			master_open = 0;
			close(ctl);
		}
		for (i = 0; i < nconns && i + 1 < n; i++) {
			struct conn *c = conns[i];
			short re = pfd[i + 1].revents;

			if (c->dead)
				continue;
			if (c->kind == CONN_PENDING) {
				if (re != 0)
					pending_ready(c);
				else if (now > c->deadline) {
					log_info("key holder: target %s: no"
					    " answer within %d s", c->target,
					    kh_conf->connect_timeout);
					finish_connect(c, 0);
				}
			} else if (re != 0) {
				if (c->kind == CONN_CHILD)
					child_readable(c);
				else
					agent_readable(c);
			}
		}
		/* A child gone takes its agent sockets' purpose with it,
		 * but libssh closes those itself; nothing to cascade. */
		sweep();
	}
	free(pfd);
}

static void
kh_main(int ctl, const struct privdrop *pd)
{
	struct sigaction sa;
	char msg[512];

	prctl(PR_SET_NAME, "hvb-keyholder", 0, 0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kh_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGINT, SIG_IGN);	/* a ^C to the daemon: the master's */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	load_keys(kh_conf);
	load_api_secrets(kh_conf);
	if (seal_key_load(kh_conf->state_dir, 1, kh_seal_key, msg,
	    sizeof(msg)) < 0)
		log_error("key holder: %s; recordings will not be sealed",
		    msg);
	else
		kh_have_seal = 1;
	if (pd != NULL && privdrop_apply(pd) < 0)
		_exit(1);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	log_info("key holder ready: %zu credential(s)", kh_nkeys);
	run(ctl);
	explicit_bzero(kh_seal_key, sizeof(kh_seal_key));
	_exit(0);
}

int
keyholder_start(const struct config *conf, const struct privdrop *pd,
    void (*close_inherited)(void), pid_t *pidp)
{
	int sv[2], gen_fd;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		log_error("key holder: socketpair: %s", strerror(errno));
		return -1;
	}
	/* Without the page, keyholder_generation() stays 0 and the API
	 * processes keep no answer between calls (they ask every time). */
	gen_fd = generation_page_create();
	if ((pid = fork()) < 0) {
		log_error("key holder: fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		if (gen_fd >= 0)
			close(gen_fd);
		keyholder_generation_forget();
		return -1;
	}
	if (pid == 0) {
		close(sv[0]);
		if (gen_fd >= 0)
			close(gen_fd);
		/* No listening socket here: a daemon restarted while this
		 * process still serves old sessions must be able to bind. */
		if (close_inherited != NULL)
			close_inherited();
		/* Its own copy, re-read on SIGHUP like the master's. */
		if ((kh_conf = config_load(conf->path, kh_report, NULL)) ==
		    NULL)
			_exit(1);
		kh_main(sv[1], pd);
	}
	close(sv[1]);
	/* Every other process only reads it, and cannot make it writable. */
	generation_page_seal(gen_fd);
	*pidp = pid;
	return sv[0];
}

int
keyholder_child_socket(int *kh_end)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	*kh_end = sv[0];
	return sv[1];
}

int
keyholder_announce(int ctl, pid_t child, const char *source, int kh_end)
{
	struct kh_msg m;
	int rc;

	memset(&m, 0, sizeof(m));
	m.type = KH_CTL_CHILD;
	m.pid = (uint32_t)child;
	snprintf(m.source, sizeof(m.source), "%s", source);
	rc = send_msg(ctl, &m, &kh_end, 1);
	close(kh_end);
	return rc;
}

void
keyholder_reload(pid_t pid)
{
	if (pid > 0)
		kill(pid, SIGHUP);
}
