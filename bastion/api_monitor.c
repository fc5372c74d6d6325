/*
 * api_monitor.c - the monitor of one HTTPS connection (api_monitor.h).
 *
 *   process             holds                          parses
 *   monitor (parent)    ticket key, key holder socket,  the child's bounded
 *                       startup pipe, audit journal;    requests only
 *                       runs PAM, reads the token store
 *   network child       TLS key, its client socket,     every byte of the
 *   (sandboxed)         pooled node connections, the    client and of the
 *                       token of the call in progress   nodes
 *
 * The monitor answers one request at a time, in order; the child waits
 * for each answer (it has nothing else to do meanwhile), so no request is
 * ever queued behind another connection's.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../recorder/seal.h"
#include "api_monitor.h"
#include "api_login.h"
#include "api_server.h"
#include "api_ticket.h"
#include "api_tls_key.h"
#include "api_verdict.h"
#include "api_token.h"
#include "api_upstream.h"
#include "audit.h"
#include "keyholder.h"
#include "kh_client.h"
#include "log.h"
#include "mon_split.h"
#include "names.h"
#include "sandbox.h"

/*
 * A held token the key holder granted this connection's person for one
 * (ACL path, privilege, pool), kept for the rest of the same second and
 * only while the key holder's policy generation has not moved: the
 * policy's inputs are the person and source (fixed for the connection),
 * the request (the key), the time (whole seconds: pr.when) and the
 * configuration (the generation).  So the answer is the one the key
 * holder would give, without its round trip on every call.  Refusals are
 * not kept: they go to the key holder (and its log) every time.
 */
#define MON_GRANTS	8

struct mon_grant {
	time_t		 sec;		/* 0: empty */
	unsigned long	 gen;
	char		 acl_path[API_MON_PATH_MAX + 1];
	char		 privilege[API_MON_PRIV_MAX + 1];
	char		 pool[API_MON_POOL_MAX + 1];
	char		 header[API_MON_HEADER_MAX + 1];
};

struct mon {
	const struct config	*conf;
	int			 fd;		/* to the network child */
	int			 startup_fd;
	const char		*addr;
	int			 port;
	pid_t			 child;
	/* The person this connection proved, once it did. */
	char			 person[NAMES_MAX + 1];
	char			 userid[API_USERID_MAX];
	struct mon_grant	 grants[MON_GRANTS];
	int			 tls_signed;	/* the handshake's one */
};

static void
grants_wipe(struct mon *m)
{
	explicit_bzero(m->grants, sizeof(m->grants));
}

/* The kept grant for q at (now, gen), or NULL; stale ones are wiped. */
static struct mon_grant *
grant_find(struct mon *m, const struct api_mon_msg *q, time_t now,
    unsigned long gen)
{
	struct mon_grant *g, *hit = NULL;
	size_t i;

	for (i = 0; i < MON_GRANTS; i++) {
		g = &m->grants[i];
		if (g->sec == 0)
			continue;
		if (g->sec != now || g->gen != gen) {
			explicit_bzero(g, sizeof(*g));
			continue;
		}
		if (hit == NULL && strcmp(g->acl_path, q->acl_path) == 0 &&
		    strcmp(g->privilege, q->privilege) == 0 &&
		    strcmp(g->pool, q->pool) == 0)
			hit = g;
	}
	return hit;
}

static void
grant_keep(struct mon *m, const struct api_mon_msg *q, time_t now,
    unsigned long gen, const char *header)
{
	struct mon_grant *g = NULL;
	size_t i;

	/* Without the key holder's page there is no generation to trust. */
	if (gen == 0)
		return;
	for (i = 0; i < MON_GRANTS && g == NULL; i++)
		if (m->grants[i].sec == 0)
			g = &m->grants[i];
	if (g == NULL)
		return;		/* full for this second: ask next time */
	g->sec = now;
	g->gen = gen;
	snprintf(g->acl_path, sizeof(g->acl_path), "%s", q->acl_path);
	snprintf(g->privilege, sizeof(g->privilege), "%s", q->privilege);
	snprintf(g->pool, sizeof(g->pool), "%s", q->pool);
	snprintf(g->header, sizeof(g->header), "%s", header);
}

/* A refusal: the log and the audit trail both say it. */
static void
refuse(struct mon *m, const char *what, const char *who, const char *why)
{
	struct audit_event ev;

	log_info("API monitor %ld (%s port %d): refused %s%s%s: %s",
	    (long)getpid(), m->addr, m->port, what, who ? " for " : "",
	    who ? who : "", why);
	memset(&ev, 0, sizeof(ev));
	ev.kind = AUDIT_POLICY_DENIAL;
	ev.person = m->person[0] ? m->person : NULL;
	ev.source_addr = m->addr;
	ev.source_port = m->port;
	ev.action = what;
	ev.outcome = "denied";
	ev.detail = why;
	audit_emit(&ev);
}

static void
startup_done(struct mon *m)
{
	/* The master counts this connection as authenticated now. */
	if (m->startup_fd >= 0) {
		close(m->startup_fd);
		m->startup_fd = -1;
	}
}

/* The connection is bound to the first person it proves; 0 or -1. */
static int
bind_person(struct mon *m, const char *person, const char *userid,
    const char *what)
{
	if (m->person[0] != '\0' && strcmp(m->person, person) != 0) {
		refuse(m, what, person, "this connection is bound to another"
		    " person");
		return -1;
	}
	snprintf(m->person, sizeof(m->person), "%s", person);
	snprintf(m->userid, sizeof(m->userid), "%s", userid);
	startup_done(m);
	return 0;
}

static int
reply(struct mon *m, struct api_mon_msg *rep, int fd)
{
	return api_mon_send(m->fd, rep, fd);
}

/* A fresh ticket and CSRF token for userid into rep. */
static int
mint(struct api_mon_msg *rep, const char *userid, int partial)
{
	time_t now = time(NULL);

	if (api_ticket_make(userid, partial, now, rep->ticket,
	    sizeof(rep->ticket)) < 0 || api_csrf_make(userid, now, rep->csrf,
	    sizeof(rep->csrf)) < 0) {
		explicit_bzero(rep->ticket, sizeof(rep->ticket));
		return -1;
	}
	snprintf(rep->userid, sizeof(rep->userid), "%s", userid);
	rep->flag = (uint8_t)partial;
	return 0;
}

/*
 * Login, pveproxy's two steps (api_server.c's handle_login() parses the
 * form): the password through PAM (first step: a partial ticket), then
 * "totp:CODE" with that partial ticket as challenge; or a renewal with a
 * full ticket as the password.
 */
static int
do_login(struct mon *m, struct api_mon_msg *q)
{
	struct api_mon_msg rep;
	char name[NAMES_MAX + 1], realm[40], tuser[API_USERID_MAX];
	char uid[API_USERID_MAX];
	const char *person, *stage;
	int rc, known, partial = 0;
	time_t now = time(NULL);

	memset(&rep, 0, sizeof(rep));
	rep.type = API_MON_REP_LOGIN;
	rep.status = API_MON_REFUSED;
	if (strlen(q->userid) >= sizeof(uid) || api_userid_split(q->userid,
	    name, sizeof(name), realm, sizeof(realm)) < 0) {
		api_mon_wipe(q);
		snprintf(rep.why, sizeof(rep.why), "invalid user name");
		return reply(m, &rep, -1);
	}
	snprintf(uid, sizeof(uid), "%s", q->userid);
	if (!config_api_realm_ok(m->conf, realm)) {
		api_mon_wipe(q);
		snprintf(rep.why, sizeof(rep.why), "realm not accepted"
		    " (api-realms)");
		return reply(m, &rep, -1);
	}
	known = config_find_user(m->conf, name) != NULL;
	/* An unknown name runs PAM too, under the reserved name, so that
	 * the answer (and its time) does not say who exists. */
	person = known ? name : CONFIG_RESERVED_PERSON;
	if (q->challenge[0] != '\0') {
		stage = "login (TOTP step)";
		rc = api_ticket_check(q->challenge, 1, now, 0, tuser,
		    sizeof(tuser));
		if (rc < 0 || strcmp(tuser, q->userid) != 0 || !known ||
		    strncmp(q->password, "totp:", 5) != 0) {
			snprintf(rep.why, sizeof(rep.why), "invalid TFA"
			    " challenge or second factor");
			goto refused;
		}
		if (api_login_totp(m->conf, person, q->password + 5, m->addr,
		    rep.why, sizeof(rep.why)) < 0)
			goto refused;
	} else if (strncmp(q->password, "PVE:", 4) == 0) {
		stage = "login (renewal)";
		rc = api_ticket_check(q->password, 0, now,
		    m->conf->api_ticket_lifetime, tuser, sizeof(tuser));
		if (rc < 0 || strcmp(tuser, q->userid) != 0 || !known) {
			snprintf(rep.why, sizeof(rep.why), "invalid ticket for"
			    " renewal");
			goto refused;
		}
	} else {
		stage = "login (password step)";
		rc = api_login_password(m->conf, person, q->password, m->addr,
		    rep.why, sizeof(rep.why));
		if (rc < 0 || !known) {
			if (rc >= 0)
				snprintf(rep.why, sizeof(rep.why),
				    "unknown person");
			goto refused;
		}
		/* Every API login has a second factor: the bastion's TOTP. */
		partial = 1;
	}
	api_mon_wipe(q);
	if (!partial && bind_person(m, name, uid, stage) < 0) {
		snprintf(rep.why, sizeof(rep.why), "this connection is bound"
		    " to another person");
		return reply(m, &rep, -1);
	}
	if (mint(&rep, uid, partial) < 0) {
		rep.status = API_MON_FAILED;
		snprintf(rep.why, sizeof(rep.why), "internal error");
		return reply(m, &rep, -1);
	}
	rep.status = API_MON_OK;
	rep.why[0] = '\0';
	return reply(m, &rep, -1);
refused:
	api_mon_wipe(q);
	log_info("API monitor %ld (%s port %d): %s refused for %s: %s",
	    (long)getpid(), m->addr, m->port, stage, name, rep.why);
	return reply(m, &rep, -1);
}

/*
 * One call's authentication, CSRF check and held token, in one round trip
 * (the hot path): the ticket or personal token proves the person; the
 * token is the key holder's answer for that person, never the child's.
 */
static int
do_auth(struct mon *m, struct api_mon_msg *q)
{
	struct api_mon_msg rep;
	char userid[API_USERID_MAX], name[NAMES_MAX + 1], realm[40];
	time_t now = time(NULL);
	int rc;

	memset(&rep, 0, sizeof(rep));
	rep.type = API_MON_REP_AUTH;
	rep.status = API_MON_REFUSED;
	rep.token_status = API_MON_NONE;
	userid[0] = '\0';
	switch (q->kind) {
	case API_MON_CRED_SAME:
		if (m->person[0] == '\0') {
			refuse(m, "held token", NULL, "no person"
			    " authenticated on this connection yet");
			snprintf(rep.why, sizeof(rep.why), "not authenticated");
			goto out;
		}
		snprintf(userid, sizeof(userid), "%s", m->userid);
		break;
	case API_MON_CRED_TICKET:
		rc = api_ticket_check(q->credential, 0, now,
		    m->conf->api_ticket_lifetime, userid, sizeof(userid));
		if (rc < 0) {
			snprintf(rep.why, sizeof(rep.why), "%s",
			    rc == -ETIMEDOUT ? "expired ticket" :
			    "invalid ticket");
			goto out;
		}
		break;
	case API_MON_CRED_TOKEN:
		if (api_token_check(m->conf->state_dir, q->credential, userid,
		    sizeof(userid), rep.why, sizeof(rep.why)) < 0) {
			if (rep.why[0] == '\0')
				snprintf(rep.why, sizeof(rep.why),
				    "invalid API token");
			goto out;
		}
		break;
	default:
		goto out;
	}
	explicit_bzero(q->credential, sizeof(q->credential));
	if (api_userid_split(userid, name, sizeof(name), realm,
	    sizeof(realm)) < 0 || !config_api_realm_ok(m->conf, realm) ||
	    config_find_user(m->conf, name) == NULL) {
		snprintf(rep.why, sizeof(rep.why), "invalid ticket");
		goto out;
	}
	if (bind_person(m, name, userid, "API call") < 0) {
		snprintf(rep.why, sizeof(rep.why), "this connection is bound"
		    " to another person");
		goto out;
	}
	rep.status = API_MON_OK;
	snprintf(rep.userid, sizeof(rep.userid), "%s", userid);
	/* The CSRF token is tied to the ticket's person (pveproxy's). */
	rep.flag = 1;
	if ((q->flag & API_MON_NEED_CSRF) && (q->kind !=
	    API_MON_CRED_TICKET || api_csrf_check(q->csrf, userid, now,
	    m->conf->api_ticket_lifetime) < 0))
		rep.flag = 0;
	if (rep.flag && (q->flag & API_MON_WANT_TOKEN)) {
		struct mon_grant *g;
		/* Read before asking: a reload after this makes the kept
		 * grant stale at once, whichever policy answered. */
		unsigned long gen = keyholder_generation();
		time_t sec = api_verdict_second();

		if ((g = grant_find(m, q, sec, gen)) != NULL) {
			snprintf(rep.header, sizeof(rep.header), "%s",
			    g->header);
			rep.token_status = API_MON_OK;
			goto out;
		}
		kh_client_identity(name, "api");
		rc = kh_client_api_auth(q->acl_path, q->privilege[0] ?
		    q->privilege : NULL, q->pool[0] ? q->pool : NULL,
		    rep.header, sizeof(rep.header));
		if (rc == 0)
			grant_keep(m, q, sec, gen, rep.header);
		rep.token_status = rc == 0 ? API_MON_OK : rc == -2 ?
		    API_MON_REFUSED : API_MON_FAILED;
		/* Logged (and by the key holder) but not audited here: the
		 * child's 403 is the audit event of a call the policy
		 * denies, and a guest's first ask without its pool is
		 * refused as a matter of course. */
		if (rc != 0) {
			explicit_bzero(rep.header, sizeof(rep.header));
			log_info("API monitor %ld (%s port %d): no held token"
			    " for %s on \"%s\" (%s): %s", (long)getpid(),
			    m->addr, m->port, name, q->acl_path,
			    q->privilege, rc == -2 ? "the key holder refused"
			    " it" : "the key holder did not give it");
		}
	}
out:
	explicit_bzero(userid, sizeof(userid));
	api_mon_wipe(q);
	return reply(m, &rep, -1);
}

/* A TCP connection to a configured node, for a proven person only. */
static int
do_connect(struct mon *m, struct api_mon_msg *q)
{
	const struct config_api_node *node;
	struct api_mon_msg rep;
	int fd = -1, rc;

	memset(&rep, 0, sizeof(rep));
	rep.type = API_MON_REP_CONNECT;
	rep.status = API_MON_REFUSED;
	if (m->person[0] == '\0') {
		refuse(m, "node connection", q->node, "no person"
		    " authenticated on this connection yet");
		snprintf(rep.why, sizeof(rep.why), "not authenticated");
	} else if ((node = config_find_api_node(m->conf, q->node)) == NULL) {
		refuse(m, "node connection", q->node, "not a configured node");
		snprintf(rep.why, sizeof(rep.why), "unknown node");
	} else if ((fd = api_upstream_tcp_connect(node->address, node->port,
	    m->conf->connect_timeout, rep.why, sizeof(rep.why))) < 0)
		rep.status = API_MON_FAILED;
	else
		rep.status = API_MON_OK;
	rc = reply(m, &rep, fd);
	if (fd >= 0)
		close(fd);
	return rc;
}

/* A console recording's seal, by the key holder. */
static int
do_seal(struct mon *m, struct api_mon_msg *q)
{
	struct api_mon_msg rep;

	memset(&rep, 0, sizeof(rep));
	rep.type = API_MON_REP_SEAL;
	rep.status = API_MON_FAILED;
	if (m->person[0] == '\0')
		refuse(m, "recording seal", NULL, "no person authenticated"
		    " on this connection yet");
	else if (seal_sign(q->basename, q->lines, q->bytes, q->chain_hex,
	    rep.mac) == 0)
		rep.status = API_MON_OK;
	return reply(m, &rep, -1);
}

/*
 * The private-key operation of the child's TLS handshake (api_tls_key.h):
 * one per connection, which is what one handshake needs.
 */
static int
do_tls_sign(struct mon *m, struct api_mon_msg *q)
{
	struct api_mon_msg rep;
	size_t n = sizeof(rep.blob.data);

	memset(&rep, 0, sizeof(rep));
	rep.type = API_MON_REP_TLS_SIGN;
	rep.status = API_MON_FAILED;
	if (m->tls_signed)
		refuse(m, "TLS signature", NULL, "this connection's handshake"
		    " has had its signature");
	else if (api_tls_key_sign(api_server_signing_ctx(), q->kind,
	    q->blob.data, q->blob.len, rep.blob.data, &n) == 0) {
		rep.blob.len = (uint16_t)n;
		rep.status = API_MON_OK;
	} else
		log_error("API: %s port %d: the TLS key operation failed",
		    m->addr, m->port);
	m->tls_signed = 1;
	return reply(m, &rep, -1);
}

static void
serve(struct mon *m)
{
	struct api_mon_msg q;
	int rc;

	for (;;) {
		if ((rc = api_mon_recv(m->fd, &q)) == 0)
			return;		/* the child is gone */
		if (rc < 0) {
			refuse(m, "request", NULL, "malformed or unknown"
			    " request; closing");
			return;
		}
		switch (q.type) {
		case API_MON_REQ_LOGIN:
			rc = do_login(m, &q);
			break;
		case API_MON_REQ_AUTH:
			rc = do_auth(m, &q);
			break;
		case API_MON_REQ_CONNECT:
			rc = do_connect(m, &q);
			break;
		case API_MON_REQ_SEAL:
			rc = do_seal(m, &q);
			break;
		case API_MON_REQ_TLS_SIGN:
			rc = do_tls_sign(m, &q);
			break;
		default:
			refuse(m, "request", NULL, "a type the API child may"
			    " not send; closing");
			rc = -1;
			break;
		}
		api_mon_wipe(&q);
		if (rc < 0)
			return;
	}
}

int
api_monitor_split(const struct config *conf, int client_fd, const char *addr,
    int port, int startup_fd)
{
	struct mon m;
	int sock;
	pid_t pid;

	if ((pid = mon_split("API", startup_fd, &sock)) < 0)
		return -1;
	if (pid == 0) {
		/* The network child: nothing of the monitor's.  The policy
		 * generation page stays: read-only, and its answers kept for
		 * a second are keyed to it (api_verdict.h). */
		api_ticket_wipe_key();
		api_server_forget_signing();
		api_mon_client_init(sock);
		return sock;
	}
	/* The monitor: never a byte of the client. */
	close(client_fd);
	/* While the child sets up its sandbox: the signing code's first
	 * run in this process (page faults of a fresh fork, about 1.5 ms
	 * here) before the handshake waits for it (api_tls_key.h). */
	api_tls_key_warm(api_server_signing_ctx());
	memset(&m, 0, sizeof(m));
	m.conf = conf;
	m.fd = sock;
	m.startup_fd = startup_fd;
	m.addr = addr;
	m.port = port;
	m.child = pid;
	serve(&m);
	close(m.fd);
	grants_wipe(&m);
	api_ticket_wipe_key();
	sandbox_wait(pid);
	startup_done(&m);
	_exit(0);
}
